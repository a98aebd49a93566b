/* libFuzzer target: core/lockfile.c's reader (lockfile_parse and a
 * layer.yaml's section, lockfile_parse_layer).  A lockfile that reads must
 * write back (lockfile_emit) to text that reads again and writes the same. */
#include "core/ctx.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct lockfile lf = { 0 }, back = { 0 };
	struct lock_layer l = { 0 };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;

	pkgimg_ctx_init(&ctx);
	if (lockfile_parse(&ctx, "fuzz.lock", (const char *)data, size, &lf) == 0) {
		FUZZ_ASSERT(lockfile_emit(&ctx, &lf, &a) == 0, "emit: %s", ctx.errmsg);
		FUZZ_ASSERT(lockfile_parse(&ctx, "again", a.buf, a.len, &back) == 0,
			    "%s\n%s", ctx.errmsg, a.buf);
		FUZZ_ASSERT(lockfile_emit(&ctx, &back, &b) == 0, "emit: %s", ctx.errmsg);
		FUZZ_ASSERT(a.len == b.len && !memcmp(a.buf, b.buf, a.len), "\n%s\n%s", a.buf,
			    b.buf);
		lockfile_free(&back);
		lockfile_free(&lf);
	}
	if (lockfile_is_layer_section((const char *)data, size) &&
	    lockfile_parse_layer(&ctx, "layer.yaml", (const char *)data, size, &l) == 0)
		lock_layer_free(&l);
	sbuf_free(&a);
	sbuf_free(&b);
	return 0;
}
