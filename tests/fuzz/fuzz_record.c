/* libFuzzer target: installers/wheel.c's RECORD reader.  RECORD text that
 * reads must write back (as pip writes it) to text that reads to as many
 * rows and writes the same. */
#include "core/ctx.h"
#include "core/str.h"
#include "installers/wheel.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	int n, m;

	pkgimg_ctx_init(&ctx);
	n = wheel_record_normalize(&ctx, "RECORD", (const char *)data, size, &a);
	if (n >= 0) {
		m = wheel_record_normalize(&ctx, "RECORD", a.buf, a.len, &b);
		FUZZ_ASSERT(m == n, "%d rows, then %d: %s", n, m, ctx.errmsg);
		FUZZ_ASSERT(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "\n%s\n%s", a.buf,
			    b.buf);
	}
	sbuf_free(&a);
	sbuf_free(&b);
	return 0;
}
