/* libFuzzer target: pyspec/pymeta.c (a wheel's METADATA, core metadata
 * headers with Requires-Dist and Requires-Python), and the dependencies it
 * gives on Linux with and without an extra. */
#include "core/ctx.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct pymeta m;

	pkgimg_ctx_init(&ctx);
	if (pymeta_parse(&ctx, "METADATA", (const char *)data, size, &m) == 0) {
		const char *const extras[] = { "test", NULL };
		const struct pep508_req **deps = NULL;
		struct pep508_env env;

		pep508_env_init(&env);
		pep508_env_linux(&env, "3.11.2", "x86_64", NULL, NULL);
		FUZZ_ASSERT(pymeta_deps_for(&m, &env, extras, &deps) >= 0, "deps_for");
		free(deps);
		pep508_env_free(&env);
		pymeta_free(&m);
	}
	return 0;
}
