/* libFuzzer target: solver/reqfile.c (a requirements file, written to a
 * private temporary directory: the reader takes a path, and -r/-c names
 * other files relative to it, which do not exist there). */
#include <unistd.h>

#include "core/ctx.h"
#include "solver/reqfile.h"
#include "tests/fuzz/fuzz.h"

static char *req_path(void)
{
	static char path[64];

	if (!path[0]) {
		char dir[] = "/tmp/pkgimg-fuzz-reqfile-XXXXXX";

		if (!mkdtemp(dir))
			abort();
		snprintf(path, sizeof path, "%s/requirements.txt", dir);
	}
	return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkgimg_ctx ctx;
	struct reqfile rf = { 0 };
	const char *path = req_path();
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		abort();
	pkgimg_ctx_init(&ctx);
	if (reqfile_parse(&ctx, path, &rf) == 0)
		reqfile_free(&rf);
	return 0;
}
