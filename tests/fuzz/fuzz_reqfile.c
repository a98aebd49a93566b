/* libFuzzer target: pyspec/reqfile.c (a requirements file, written to a
 * private temporary directory: the reader takes a path, and -r/-c names
 * other files relative to it, which do not exist there). */
#include <unistd.h>

#include "core/ctx.h"
#include "pyspec/reqfile.h"
#include "tests/fuzz/fuzz.h"

static char req_dir[] = "/tmp/pkgimg-fuzz-reqfile-XXXXXX", req_file[64];

static void req_cleanup(void)
{
	unlink(req_file);
	rmdir(req_dir);
}

/* The file the input is written to, in a directory made on first use and
 * removed at exit. */
static const char *req_path(void)
{
	if (!req_file[0]) {
		if (!mkdtemp(req_dir))
			abort();
		snprintf(req_file, sizeof req_file, "%s/requirements.txt", req_dir);
		atexit(req_cleanup);
	}
	return req_file;
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
