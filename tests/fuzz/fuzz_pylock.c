/* libFuzzer target: pyspec/pylock.c on hostile pylock.toml / uv.lock text
 * (TOML accepted by core/toml.c, then read as a lock and selected for
 * CPython 3.11 on x86-64 Linux).  Invariants: a refused lock leaves a
 * "pylock:LINE: [lock] " or TOML message; an accepted one has names and,
 * for index packages, versions; every wheel and sdist has a file name that
 * is one path component; a selection's indexes are in range and increasing. */
#include <string.h>

#include "core/ctx.h"
#include "core/toml.h"
#include "pyspec/pep508.h"
#include "pyspec/pylock.h"
#include "tests/fuzz/fuzz.h"

static void check_file(const struct pylock_file *f)
{
	FUZZ_ASSERT(f->name && *f->name && !strchr(f->name, '/'), "file name '%s'",
		    f->name ? f->name : "(null)");
	FUZZ_ASSERT(f->url || f->path, "file %s has neither url nor path", f->name);
	FUZZ_ASSERT(!f->sha256 || strlen(f->sha256) == 64, "sha256 %s", f->sha256);
}

static void check_lock(const struct pylock *lk)
{
	for (size_t i = 0; i < lk->npkgs; i++) {
		const struct pylock_pkg *p = &lk->pkgs[i];

		FUZZ_ASSERT(p->name && *p->name, "package %zu has no name", i);
		FUZZ_ASSERT(p->version || p->src != PYLOCK_SRC_INDEX, "%s: index without version",
			    p->name);
		for (size_t k = 0; k < p->nwheels; k++)
			check_file(&p->wheels[k]);
		if (p->sdist)
			check_file(p->sdist);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const extras[] = { "fast" }, *const groups[] = { "dev" };
	struct pylock_want want = { extras, 1, groups, 1, false };
	struct pkgimg_ctx ctx;
	struct toml_value root;
	struct pep508_env env;
	struct pylock lk;
	size_t *sel = NULL, n = 0;
	int rc;

	pkgimg_ctx_init(&ctx);
	if (toml_parse(&ctx, "pylock", (const char *)data, size, &root) < 0)
		return 0;
	rc = pylock_from_toml(&ctx, "pylock", &root, &lk);
	toml_free(&root);
	if (rc < 0) {
		FUZZ_ASSERT(strncmp(ctx.errmsg, "pylock:", 7) == 0, "message: %s", ctx.errmsg);
		return 0;
	}
	check_lock(&lk);
	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.2", "x86_64", NULL, NULL);
	want.nextras = size & 1;	/* with and without the extra */
	if (pylock_select(&ctx, &lk, &env, &want, &sel, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(sel[i] < lk.npkgs && (i == 0 || sel[i] > sel[i - 1]),
				    "selection %zu: %zu of %zu", i, sel[i], lk.npkgs);
		free(sel);
	}
	pep508_env_free(&env);
	pylock_free(&lk);
	return 0;
}
