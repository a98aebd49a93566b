/* image/build.c without the binary: a spec on scratch with no package step
 * is locked (nothing to solve) and built step by step: an add of a file
 * and of a directory (busybox-static as /bin/sh, so the run step has a
 * shell), env, workdir, a run step that writes a file, entrypoint and cmd.
 * Checks the layers' trees, the image config, that a second build finds
 * every layer (nothing built), that an edited step rebuilds it and every
 * step after it, and that a failing run step commits nothing. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "image/build.h"
#include "tests/unit/check.h"

#define BUSYBOX "/bin/busybox"

struct run {
	int r;
	char snapshot[STORE_KEY_MAX];
	int built[16];
	int nsteps;
	char err[8192];
};

static void on_step(void *arg, size_t k, size_t n, const char *text, const char *key, bool built,
		    int64_t ms)
{
	struct run *rr = arg;

	(void)n; (void)text; (void)key; (void)ms;
	if (k < 16)
		rr->built[k] = built;
	rr->nsteps = (int)k + 1;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* builds the spec in dir/pkgimg.yaml into st */
static void build(struct pkgimg_ctx *ctx, struct store *st, const char *dir, struct run *rr)
{
	struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct lockfile lf = { 0 };
	struct spec s = { 0 };
	char *path = xasprintf("%s/pkgimg.yaml", dir);

	memset(rr, 0, sizeof *rr);
	ctx->errmsg[0] = 0;
	rr->r = spec_parse(ctx, path, &s);
	if (rr->r == 0)
		rr->r = image_spec_lock(ctx, st, &s, NULL, NULL, NULL, &lf);
	if (rr->r == 0) {
		struct image_build_opts o = {
			.spec = &s, .lf = &lf, .lock_name = path, .io = &io,
			.on_step = on_step, .arg = rr,
		};

		rr->r = image_build_spec(ctx, st, &o, rr->snapshot, &res);
	}
	snprintf(rr->err, sizeof rr->err, "%s", ctx->errmsg);
	install_result_free(&res);
	lockfile_free(&lf);
	spec_free(&s);
	free(path);
}

/* the file at path in the image's top layer tree holding it, or NULL */
static char *image_file(struct store *st, const char *snapshot, const char *path)
{
	struct pkgimg_ctx ctx;
	char **chain = NULL, *found = NULL;
	int n = 0;

	pkgimg_ctx_init(&ctx);
	if (store_layer_chain(&ctx, st, snapshot, &chain, &n) < 0)
		return NULL;
	for (int i = 0; i < n && !found; i++) {
		char *tree = store_layer_tree(st, chain[i]), *p = xasprintf("%s%s", tree, path);
		struct stat sb;

		if (lstat(p, &sb) == 0)
			found = p;
		else
			free(p);
		free(tree);
	}
	strv_free_null(chain);
	return found;
}

/* the content of path (freed), or NULL */
static char *slurp(char *path)
{
	struct pkgimg_ctx ctx;
	struct sbuf s = SBUF_INIT;
	int r;

	pkgimg_ctx_init(&ctx);
	r = path ? fs_read_file(&ctx, AT_FDCWD, path, &s) : -1;
	free(path);
	if (r < 0) {
		sbuf_free(&s);
		return NULL;
	}
	return sbuf_detach(&s);
}

static const char *spec_text =
	"base: scratch\n"
	"steps:\n"
	"  - add: {src: ./busybox, dst: /bin/sh}\n"
	"  - add: {src: ./data, dst: /data}\n"
	"  - env: {GREETING: hello, PATH: /bin}\n"
	"  - workdir: /srv/app\n"
	"  - run: [\"echo $GREETING > /srv/app/out.txt\", \"pwd >> /srv/app/out.txt\"]\n"
	"  - entrypoint: [/bin/sh, -c]\n"
	"  - cmd: [\"echo hi\"]\n";

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	struct run a, b;
	char tmpl[] = "/var/tmp/pkgimg-test-build-XXXXXX", *dir, *p, *text;
	struct image_config cfg = { 0 };
	int r;

	if (access(BUSYBOX, X_OK) < 0) {
		printf("skip - the build steps: %s missing (apt-get install busybox-static)\n", BUSYBOX);
		return 0;
	}
	if (geteuid() != 0) {
		printf("skip - the build steps: a run step needs root or user namespaces here\n");
		return 0;
	}
	pkgimg_ctx_init(&ctx);
	dir = mkdtemp(tmpl);
	if (!dir)
		return 1;
	p = xasprintf("cp %s %s/busybox && mkdir -p %s/data/sub && echo a > %s/data/a.txt && "
		      "echo b > %s/data/sub/b.txt", BUSYBOX, dir, dir, dir, dir);
	r = system(p);
	free(p);
	p = xasprintf("%s/pkgimg.yaml", dir);
	write_file(p, spec_text);
	free(p);
	p = xasprintf("%s/store", dir);
	r = r == 0 ? store_open(&ctx, p, &st) : -1;
	free(p);
	if (r < 0) {
		printf("not ok - open a store\n# %s\n", ctx.errmsg);
		return 1;
	}

	build(&ctx, &st, dir, &a);
	check(a.r == 0 && a.nsteps == 7, "a spec of add, env, workdir, run, entrypoint and cmd "
	      "builds without the binary", "r=%d steps=%d: %s", a.r, a.nsteps, a.err);
	text = slurp(image_file(&st, a.snapshot, "/data/sub/b.txt"));
	check(text && !strcmp(text, "b\n"), "add: a directory lands with its content", "%s",
	      text ? text : "(missing)");
	free(text);
	text = slurp(image_file(&st, a.snapshot, "/srv/app/out.txt"));
	check(text && !strcmp(text, "hello\n/srv/app\n"),
	      "run: the command ran in the image with its env and workdir, its write is a layer",
	      "%s", text ? text : "(missing)");
	free(text);
	r = store_image_config(&ctx, &st, a.snapshot, &cfg);
	check(r == 0 && cfg.workdir && !strcmp(cfg.workdir, "/srv/app") && cfg.env &&
	      cfg.entrypoint && !strcmp(cfg.entrypoint[0], "/bin/sh") && cfg.cmd &&
	      !strcmp(cfg.cmd[0], "echo hi"), "config: env, workdir, entrypoint and cmd",
	      "r=%d workdir=%s", r, cfg.workdir ? cfg.workdir : "(none)");
	image_config_free(&cfg);

	build(&ctx, &st, dir, &b);
	check(b.r == 0 && !strcmp(a.snapshot, b.snapshot) && b.nsteps == 7 &&
	      !b.built[0] && !b.built[4] && !b.built[6],
	      "the same spec again: the same id, every step cached", "r=%d %s vs %s: %s", b.r,
	      a.snapshot, b.snapshot, b.err);

	/* an edited env step: it and every later step rebuild, not those before */
	p = xasprintf("%s/pkgimg.yaml", dir);
	{
		char *edited = xstrdup(spec_text), *h = strstr(edited, "hello");

		memcpy(h, "howdy", 5);
		write_file(p, edited);
		free(edited);
	}
	build(&ctx, &st, dir, &b);
	check(b.r == 0 && strcmp(a.snapshot, b.snapshot) && !b.built[0] && !b.built[1] &&
	      b.built[2] && b.built[4] && b.built[6],
	      "an edited step rebuilds itself and every step after it", "r=%d built %d%d%d%d%d%d%d",
	      b.r, b.built[0], b.built[1], b.built[2], b.built[3], b.built[4], b.built[5],
	      b.built[6]);
	text = slurp(image_file(&st, b.snapshot, "/srv/app/out.txt"));
	check(text && !strncmp(text, "howdy\n", 6), "the rebuilt run step saw the new env", "%s",
	      text ? text : "(missing)");
	free(text);

	/* a failing run step: an error naming the step, nothing committed */
	write_file(p, "base: scratch\nsteps:\n  - add: {src: ./busybox, dst: /bin/sh}\n"
		   "  - run: [\"false\"]\n");
	build(&ctx, &st, dir, &b);
	check(b.r < 0 && strstr(b.err, "pkgimg.yaml:4:5: step 2") && strstr(b.err, "status 1"),
	      "a failing run step: an error with the spec's line and the status", "r=%d: %s", b.r,
	      b.err);
	free(p);

	/* an add from outside the context is refused */
	p = xasprintf("%s/pkgimg.yaml", dir);
	write_file(p, "base: scratch\nsteps:\n  - add: {src: /etc/passwd, dst: /x}\n");
	build(&ctx, &st, dir, &b);
	check(b.r < 0 && strstr(b.err, "outside the build context") && !strstr(b.err, "root:"),
	      "an add from outside the build context is refused, the file's content not shown",
	      "r=%d: %s", b.r, b.err);
	free(p);

	store_close(&st);
	p = xasprintf("rm -rf %s", dir);
	if (system(p) != 0)
		printf("# left %s\n", dir);
	free(p);
	printf("# test_build: %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
