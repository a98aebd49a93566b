/* image/run.c without the binary: an image of busybox-static as /bin/sh
 * with env, workdir, entrypoint [/bin/sh, -c] and cmd, built by
 * image_build_spec, run by image_run with commit so that what the command
 * wrote can be read from the new layer.  Checks Docker's merge (the image's
 * cmd after its entrypoint; CMD... in its place; --entrypoint replaces the
 * entrypoint and drops the cmd; -e over the image's env; -w over its
 * workdir), that the same commit again has the same key and runs nothing,
 * that another env gives another key, and a plain run's exit status. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "image/build.h"
#include "image/run.h"
#include "tests/unit/check.h"

#define BUSYBOX "/bin/busybox"

static const char *spec_text =
	"base: scratch\n"
	"steps:\n"
	"  - add: {src: ./busybox, dst: /bin/sh}\n"
	"  - env: {A: img, B: img, PATH: /bin}\n"
	"  - workdir: /srv\n"
	"  - entrypoint: [/bin/sh, -c]\n"
	"  - cmd: [\"echo from-cmd > /o.txt\"]\n";

/* builds dir/pkgimg.yaml into st; snapshot gets the image's key */
static int build(struct pkgimg_ctx *ctx, struct store *st, const char *dir,
		 char snapshot[STORE_KEY_MAX])
{
	struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct lockfile lf = { 0 };
	struct spec s = { 0 };
	char *path = xasprintf("%s/pkgimg.yaml", dir);
	int r;

	r = spec_parse(ctx, path, &s);
	if (r == 0)
		r = image_spec_lock(ctx, st, &s, NULL, NULL, NULL, &lf);
	if (r == 0) {
		struct image_build_opts o = { .spec = &s, .lf = &lf, .lock_name = path, .io = &io };

		r = image_build_spec(ctx, st, &o, snapshot, &res);
	}
	install_result_free(&res);
	lockfile_free(&lf);
	spec_free(&s);
	free(path);
	return r;
}

/* the content of path in layer key's own tree (freed), or NULL */
static char *layer_file(struct store *st, const char *key, const char *path)
{
	struct pkgimg_ctx ctx;
	struct sbuf s = SBUF_INIT;
	char *tree = store_layer_tree(st, key), *p = xasprintf("%s%s", tree, path);
	int r;

	pkgimg_ctx_init(&ctx);
	r = fs_read_file(&ctx, AT_FDCWD, p, &s);
	free(p);
	free(tree);
	if (r < 0) {
		sbuf_free(&s);
		return NULL;
	}
	return sbuf_detach(&s);
}

struct result {
	int r, status;
	bool built;
	char key[STORE_KEY_MAX];
	char *out;		/* /o.txt in the new layer */
	char err[8192];
};

static void run(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
		struct result *res)
{
	memset(res, 0, sizeof *res);
	ctx->errmsg[0] = 0;
	res->r = image_run(ctx, st, o, &res->status, res->key, &res->built);
	snprintf(res->err, sizeof res->err, "%s", ctx->errmsg);
	if (res->r == 0 && o->commit && res->status == 0)
		res->out = layer_file(st, res->key, "/o.txt");
}

static const char *str(const char *s)
{
	return s ? s : "(missing)";
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	struct result a, b;
	char tmpl[] = "/var/tmp/pkgimg-test-run-XXXXXX", *dir, *p, image[STORE_KEY_MAX];
	char *show[] = { "echo \"$A $B $PWD\" > /o.txt", NULL };
	char *env_b[] = { "B=cli", NULL }, *env_c[] = { "B=other", NULL };
	char *ep_args[] = { "-c", "echo from-ep > /o.txt", NULL };
	char *exit3[] = { "exit 3", NULL };
	int r;

	if (access(BUSYBOX, X_OK) < 0) {
		printf("skip - image_run: %s missing (apt-get install busybox-static)\n", BUSYBOX);
		return 0;
	}
	if (geteuid() != 0) {
		printf("skip - image_run: running a command needs root or user namespaces here\n");
		return 0;
	}
	pkgimg_ctx_init(&ctx);
	dir = mkdtemp(tmpl);
	if (!dir)
		return 1;
	p = xasprintf("cp %s %s/busybox && printf '%%s' '%s' > %s/pkgimg.yaml", BUSYBOX, dir,
		      spec_text, dir);
	r = system(p);
	free(p);
	p = xasprintf("%s/store", dir);
	r = r == 0 ? store_open(&ctx, p, &st) : -1;
	free(p);
	if (r == 0)
		r = build(&ctx, &st, dir, image);
	if (r < 0) {
		printf("not ok - a one-layer busybox image\n# %s\n", ctx.errmsg);
		return 1;
	}

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .network = 0, .commit = true }, &a);
	check(a.r == 0 && a.status == 0 && a.built && a.out && !strcmp(a.out, "from-cmd\n"),
	      "no CMD: the image's cmd runs after its entrypoint", "r=%d status=%d out=%s: %s",
	      a.r, a.status, str(a.out), a.err);
	free(a.out);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = show, .env = env_b,
		.network = 0, .commit = true }, &a);
	check(a.r == 0 && a.status == 0 && a.out && !strcmp(a.out, "img cli /srv\n"),
	      "CMD... after the entrypoint in place of the cmd; -e over the image's env; its workdir",
	      "r=%d status=%d out=%s: %s", a.r, a.status, str(a.out), a.err);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = show, .env = env_b,
		.network = 0, .commit = true }, &b);
	check(b.r == 0 && !strcmp(a.key, b.key) && a.built && !b.built,
	      "the same commit again: the same key, nothing ran", "%s vs %s built %d %d: %s",
	      a.key, b.key, a.built, b.built, b.err);
	free(a.out);
	free(b.out);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = show, .env = env_c,
		.network = 0, .commit = true }, &b);
	check(b.r == 0 && strcmp(a.key, b.key) && b.built && b.out &&
	      !strcmp(b.out, "img other /srv\n"), "another env: another key",
	      "%s vs %s out=%s: %s", a.key, b.key, str(b.out), b.err);
	free(b.out);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = show, .workdir = "/bin",
		.network = 0, .commit = true }, &a);
	check(a.r == 0 && a.out && !strcmp(a.out, "img img /bin\n"),
	      "-w over the image's workdir", "r=%d out=%s: %s", a.r, str(a.out), a.err);
	free(a.out);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = ep_args,
		.entrypoint = "/bin/sh", .network = 0, .commit = true }, &a);
	check(a.r == 0 && a.status == 0 && a.out && !strcmp(a.out, "from-ep\n"),
	      "--entrypoint replaces the image's entrypoint", "r=%d status=%d out=%s: %s", a.r,
	      a.status, str(a.out), a.err);
	free(a.out);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .entrypoint = "",
		.network = 0, .commit = true }, &a);
	check(a.r == -PKGIMG_E_USAGE && strstr(a.err, "no command given"),
	      "--entrypoint \"\" without CMD: the image's cmd is dropped, nothing to run",
	      "r=%d: %s", a.r, a.err);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = exit3, .network = 0 }, &a);
	check(a.r == 0 && a.status == 3 && !strcmp(a.key, image),
	      "a plain run: the command's exit status, the image's key", "r=%d status=%d: %s",
	      a.r, a.status, a.err);

	run(&ctx, &st, &(struct image_run_opts){ .image = image, .argv = exit3, .network = 0,
		.commit = true, .tag = "never" }, &a);
	check(a.r == 0 && a.status == 3 && store_resolve(&ctx, &st, "never", b.key) < 0,
	      "a commit whose command fails: its status, no tag", "r=%d status=%d: %s", a.r,
	      a.status, a.err);

	store_close(&st);
	p = xasprintf("rm -rf %s", dir);
	if (system(p) != 0)
		printf("# left %s\n", dir);
	free(p);
	printf("# test_run: %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
