/* libFuzzer target: core/toml.c (pyproject.toml, pylock.toml, uv.lock).
 * Invariants: an accepted document's tree is well-formed (tables have a key
 * for every item, strings are there), a refused one leaves a
 * "toml:LINE:COL: [parse] " message. */
#include <string.h>

#include "core/ctx.h"
#include "core/toml.h"
#include "tests/fuzz/fuzz.h"

static void walk(const struct toml_value *v, unsigned depth)
{
	size_t i;

	FUZZ_ASSERT(depth <= TOML_MAX_DEPTH + 1, "depth %u", depth);
	switch (v->type) {
	case TOML_TABLE:
		for (i = 0; i < v->n; i++) {
			FUZZ_ASSERT(v->keys && v->keys[i], "table item %zu has no key", i);
			FUZZ_ASSERT(toml_get(v, v->keys[i]) == &v->items[i],
				    "key %zu is not unique", i);
			walk(&v->items[i], depth + 1);
		}
		break;
	case TOML_ARRAY:
		for (i = 0; i < v->n; i++)
			walk(&v->items[i], depth + 1);
		break;
	case TOML_STRING:
	case TOML_DATETIME:
		FUZZ_ASSERT(v->s != NULL, "%s without text", toml_type_name(v->type));
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct toml_value root;
	int rc;

	pkgimg_ctx_init(&ctx);
	rc = toml_parse(&ctx, "toml", (const char *)data, size, &root);
	if (rc == 0) {
		FUZZ_ASSERT(root.type == TOML_TABLE, "root is a %s", toml_type_name(root.type));
		walk(&root, 0);
		toml_free(&root);
	} else {
		FUZZ_ASSERT(strncmp(ctx.errmsg, "toml:", 5) == 0 && strstr(ctx.errmsg, ": [parse] "),
			    "message: %s", ctx.errmsg);
	}
	return 0;
}
