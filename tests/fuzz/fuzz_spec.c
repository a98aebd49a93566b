/* libFuzzer target: core/spec.c's reader (spec_parse_text), and the
 * canonical text of every step of a spec that reads. */
#include "core/ctx.h"
#include "core/spec.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct spec s = { 0 };

	pkgimg_ctx_init(&ctx);
	if (spec_parse_text(&ctx, "/fuzz/pkgimg.yaml", (const char *)data, size, &s) == 0) {
		for (size_t i = 0; i < s.nsteps; i++) {
			char *t = spec_step_text(&s, &s.steps[i]);

			FUZZ_ASSERT(t && *t, "step %zu has no text", i);
			free(t);
		}
		spec_free(&s);
	}
	return 0;
}
