/* libFuzzer target: solver/matchspec.c (a conda MatchSpec and a version).
 * A spec that reads is written back (matchspec_str), the text read again
 * and matched against a record, none of it failing under the sanitizers.
 * That the text reads back is not asserted: conda's str, which
 * matchspec_str follows, does not promise it (a version glob such as
 * "}1*." reads where "}1" does not; a value with both quote characters has
 * no bracket form); the cases it can write readably it now does (a build
 * with a space or a control character, a version with '=' past its
 * operator, one that ends like a package file: see the corpus). */
#include "core/ctx.h"
#include "solver/matchspec.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct matchspec m, back;
	struct condaver v;
	char *s = fuzz_cstr(data, size);

	pkgimg_ctx_init(&ctx);
	if (matchspec_parse(&ctx, s, &m) == 0) {
		struct matchspec_record rec = {
			.name = "numpy", .version = "1.26.4", .build = "py312heda63a1_0",
			.build_number = 0, .channel = "conda-forge", .subdir = "linux-64",
			.fn = "numpy-1.26.4-py312heda63a1_0.conda",
		};
		char *a = matchspec_str(&m);

		if (matchspec_parse(&ctx, a, &back) == 0) {
			char *b = matchspec_str(&back);

			(void)matchspec_matches(&back, &rec);
			free(b);
			matchspec_free(&back);
		}
		(void)matchspec_matches(&m, &rec);
		(void)matchspec_version_matches(&m, "1.26.4");
		free(a);
		matchspec_free(&m);
	}
	if (condaver_parse(&ctx, s, &v) == 0) {
		char *r = condaver_repr(&v);

		free(r);
		condaver_free(&v);
	}
	free(s);
	return 0;
}
