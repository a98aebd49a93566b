/* libFuzzer target: pyspec/pep508.c (a requirement and a marker).  A
 * requirement that reads must write back (pep508_req_str) to one that reads
 * to the same text; a marker that reads must evaluate on Linux. */
#include "core/ctx.h"
#include "pyspec/pep508.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct pep508_req req, back;
	struct pep508_marker *m = NULL;
	char *s = fuzz_cstr(data, size);

	pkgimg_ctx_init(&ctx);
	if (pep508_req_parse(&ctx, s, &req) == 0) {
		char *a = pep508_req_str(&req), *b;

		FUZZ_ASSERT(pep508_req_parse(&ctx, a, &back) == 0, "[%s] -> [%s]: %s", s, a,
			    ctx.errmsg);
		b = pep508_req_str(&back);
		FUZZ_ASSERT(!strcmp(a, b), "[%s] -> [%s] -> [%s]", s, a, b);
		free(a);
		free(b);
		pep508_req_free(&back);
		pep508_req_free(&req);
	}
	if (pep508_marker_parse(&ctx, s, &m) == 0) {
		struct pep508_env env;
		int v;

		pep508_env_init(&env);
		pep508_env_linux(&env, "3.11.2", "x86_64", NULL, NULL);
		v = pep508_marker_eval(m, &env, "test");
		FUZZ_ASSERT(v == 0 || v == 1, "eval gave %d", v);
		pep508_env_free(&env);
		pep508_marker_free(m);
	}
	free(s);
	return 0;
}
