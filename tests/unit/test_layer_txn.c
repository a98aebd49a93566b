/* cache/layer.c: one layer transaction.  begin/commit makes the layer
 * visible only at commit, with its times zeroed; abort leaves nothing in
 * ROOT/tmp and releases the key's lock; a key in the store is skipped
 * (begin returns 1) unless forced; a second begin on a key another process
 * holds waits, then finds the layer; store_chain_trees.  And the build's
 * config (env) and add steps build under the key's lock: a build that
 * meets a key another process is building waits for it and then finds the
 * layer, instead of building it a second time. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/layer.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "image/build.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-layer-txn-XXXXXX";

static const char *mkkey(char buf[STORE_KEY_MAX], char c)
{
	memcpy(buf, "sha256:", 7);
	memset(buf + 7, c, 64);
	buf[71] = 0;
	return buf;
}

static int count_entries(const char *dir)
{
	char *cmd = xasprintf("ls -A '%s' | wc -l", dir);
	FILE *p = popen(cmd, "r");
	int n = -1;

	if (p) {
		if (fscanf(p, "%d", &n) != 1)
			n = -1;
		pclose(p);
	}
	free(cmd);
	return n;
}

static int tmp_entries(struct store *st)
{
	char *d = xasprintf("%s/tmp", st->root);
	int n = count_entries(d);

	free(d);
	return n;
}

/* Whether the key's lock is free (taken and dropped at once). */
static bool lock_free(struct store *st, const char *key)
{
	char *p = xasprintf("%s/locks/%s", st->root, key + 7);
	int fd = open(p, O_RDWR | O_CLOEXEC);
	bool ok = fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0;

	if (fd >= 0)
		close(fd);
	free(p);
	return ok;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void test_begin_commit(struct pkgimg_ctx *ctx, struct store *st)
{
	struct layer_txn t;
	struct layer_meta m = { 0 }, back = { 0 };
	char key[STORE_KEY_MAX], *f;
	struct stat sb;
	int r;

	mkkey(key, 'a');
	r = layer_txn_begin(ctx, st, key, "test", false, &t);
	check(r == 0 && t.tmp && t.tree && t.rootfd >= 0 && t.lockfd >= 0, "txn: begin",
	      "r=%d %s", r, ctx->errmsg);
	if (r != 0)
		return;
	check(!lock_free(st, key), "txn: begin holds the key's lock", "the lock was free");
	check(lstat(t.tree, &sb) == 0 && S_ISDIR(sb.st_mode) && tmp_entries(st) == 1,
	      "txn: begin makes tmp/…/tree", "tree %s, %d entries in tmp/", t.tree,
	      tmp_entries(st));
	f = xasprintf("%s/hello", t.tree);
	fs_write_file(NULL, AT_FDCWD, f, "hi\n", 3, 0644);
	check(!store_has_layer(st, key), "txn: the layer is not visible before commit",
	      "store_has_layer is true");
	snprintf(m.parent, sizeof m.parent, "%s", "");
	m.step = (char *)"test: a";
	m.lock = (char *)"";
	r = layer_txn_commit(ctx, &t, LAYER_TIMES_ZERO, &m);
	check(r == 0 && store_has_layer(st, key), "txn: commit makes the layer visible",
	      "r=%d %s", r, ctx->errmsg);
	check(!t.tmp && t.lockfd < 0 && t.rootfd < 0 && tmp_entries(st) == 0 &&
	      lock_free(st, key), "txn: commit leaves nothing held, nothing in tmp/",
	      "tmp %s lockfd %d rootfd %d, %d in tmp/", t.tmp ? t.tmp : "-", t.lockfd,
	      t.rootfd, tmp_entries(st));
	free(f);
	{
		char *tree = store_layer_tree(st, key);

		f = xasprintf("%s/hello", tree);
		check(lstat(f, &sb) == 0 && sb.st_mtime == 0 && lstat(tree, &sb) == 0 &&
		      sb.st_mtime == 0, "txn: commit zeroes the tree's times",
		      "%s mtime %lld", f, (long long)sb.st_mtime);
		free(tree);
		free(f);
	}
	r = store_layer_read(ctx, st, key, &back);
	check(r == 0 && !strcmp(back.key, key) && back.step && !strcmp(back.step, "test: a"),
	      "txn: commit writes layer.yaml with the txn's key", "r=%d key %s", r, back.key);
	layer_meta_free(&back);
	layer_txn_abort(&t);	/* after commit: nothing to do */
	check(store_has_layer(st, key), "txn: abort after commit keeps the layer", "gone");

	r = layer_txn_begin(ctx, st, key, "test", false, &t);
	check(r == 1 && !t.tmp && t.lockfd < 0 && tmp_entries(st) == 0,
	      "txn: begin on a key in the store returns 1, holding nothing", "r=%d", r);
	layer_txn_abort(&t);
	r = layer_txn_begin(ctx, st, key, "test", true, &t);
	check(r == 0 && t.tmp, "txn: forced, begin on a key in the store builds", "r=%d", r);
	layer_txn_abort(&t);
	check(tmp_entries(st) == 0 && lock_free(st, key) && store_has_layer(st, key),
	      "txn: abort of a forced rebuild keeps the old layer", "%d in tmp/",
	      tmp_entries(st));
}

static void test_abort_renew(struct pkgimg_ctx *ctx, struct store *st)
{
	struct layer_txn t;
	char key[STORE_KEY_MAX], *old;
	int r;

	mkkey(key, 'b');
	r = layer_txn_begin(ctx, st, key, "test", false, &t);
	if (r != 0) {
		check(false, "txn: begin for abort", "r=%d %s", r, ctx->errmsg);
		return;
	}
	old = xstrdup(t.tmp);
	r = layer_txn_renew(ctx, &t);
	check(r == 0 && t.tmp && strcmp(old, t.tmp) && access(old, F_OK) < 0 &&
	      tmp_entries(st) == 1 && !lock_free(st, key),
	      "txn: renew gives a fresh work dir, the lock kept", "r=%d old %s new %s", r, old,
	      t.tmp ? t.tmp : "-");
	layer_txn_abort(&t);
	check(tmp_entries(st) == 0 && !store_has_layer(st, key) && lock_free(st, key) && !t.tmp,
	      "txn: abort leaves nothing in tmp/, no layer, the lock free", "%d in tmp/",
	      tmp_entries(st));
	layer_txn_abort(&t);	/* twice: nothing */
	free(old);
	{
		struct layer_txn z = LAYER_TXN_INIT;

		layer_txn_abort(&z);
		check(z.lockfd < 0 && !z.tmp, "txn: abort of an initialized txn", "held");
	}
}

/* A child's begin on a key the parent holds blocks until the parent commits,
 * then returns 1 (the layer is there). */
static void test_wait(struct pkgimg_ctx *ctx, struct store *st)
{
	struct layer_txn t;
	struct layer_meta m = { 0 };
	char key[STORE_KEY_MAX];
	int r, status = -1;
	pid_t pid, w;

	mkkey(key, 'c');
	r = layer_txn_begin(ctx, st, key, "test", false, &t);
	if (r != 0) {
		check(false, "txn: begin for wait", "r=%d %s", r, ctx->errmsg);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct pkgimg_ctx c;
		struct layer_txn u;

		close(t.lockfd);	/* the parent's: a copy of it would hold its lock */
		pkgimg_ctx_init(&c);
		r = layer_txn_begin(&c, st, key, "test", false, &u);
		layer_txn_abort(&u);
		_exit(r == 1 ? 0 : 10 + (r < 0 ? 1 : r));
	}
	sleep_ms(400);
	w = waitpid(pid, &status, WNOHANG);
	check(w == 0, "txn: a second begin on a held key waits", "the child ended (status %d)",
	      status);
	m.step = (char *)"test: c";
	m.lock = (char *)"";
	r = layer_txn_commit(ctx, &t, LAYER_TIMES_KEEP, &m);
	if (w == 0)
		w = waitpid(pid, &status, 0);
	check(r == 0 && w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "txn: ... and then finds the layer the first committed (returns 1)",
	      "r=%d status %d", r, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	layer_txn_abort(&t);
}

static void test_chain_trees(struct store *st)
{
	char a[STORE_KEY_MAX], b[STORE_KEY_MAX];
	char *chain[3] = { a, b, NULL };
	char **v, *ta;
	char *tb;

	mkkey(a, 'd');
	mkkey(b, 'e');
	v = store_chain_trees(st, NULL, chain, 2);
	ta = store_layer_tree(st, a);
	tb = store_layer_tree(st, b);

	check(v && v[0] && v[1] && !v[2] && !strcmp(v[0], ta) && !strcmp(v[1], tb),
	      "store_chain_trees: the chain's trees, top first, NULL-terminated", "%s",
	      v && v[0] ? v[0] : "-");
	strv_free_null(v);
	v = store_chain_trees(st, NULL, NULL, 0);
	check(v && !v[0], "store_chain_trees: an empty chain", "%s", v ? "not empty" : "NULL");
	strv_free_null(v);
	v = store_chain_trees(st, "/work/tree", chain, 2);
	check(v && v[0] && v[1] && v[2] && !v[3] && !strcmp(v[0], "/work/tree") &&
	      !strcmp(v[1], ta) && !strcmp(v[2], tb),
	      "store_chain_trees: a tree being built first, then the chain", "%s",
	      v && v[0] ? v[0] : "-");
	strv_free_null(v);
	free(ta);
	free(tb);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

struct built {
	int n, built;
	char key[STORE_KEY_MAX];
};

static void on_step(void *arg, size_t k, size_t n, const char *text, const char *key, bool built,
		    int64_t ms)
{
	struct built *b = arg;

	(void)k; (void)n; (void)text; (void)ms;
	b->n++;
	b->built = built;
	snprintf(b->key, sizeof b->key, "%s", key);
}

/* Builds dir/pkgimg.yaml (one step) into st: 0 or a negative code. */
static int build(struct pkgimg_ctx *ctx, struct store *st, const char *dir, struct built *b)
{
	struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct lockfile lf = { 0 };
	struct spec s = { 0 };
	char *path = xasprintf("%s/pkgimg.yaml", dir), snap[STORE_KEY_MAX];
	int r;

	memset(b, 0, sizeof *b);
	r = spec_parse(ctx, path, &s);
	if (r == 0)
		r = image_spec_lock(ctx, st, &s, NULL, NULL, NULL, &lf);
	if (r == 0) {
		struct image_build_opts o = {
			.spec = &s, .lf = &lf, .lock_name = path, .io = &io,
			.on_step = on_step, .arg = b,
		};

		r = image_build_spec(ctx, st, &o, snap, &res);
	}
	install_result_free(&res);
	lockfile_free(&lf);
	spec_free(&s);
	free(path);
	return r;
}

/* The step's layer is built in store one to learn its key (keys do not
 * depend on the store); in store two the parent holds that key (a build
 * under way) while a child builds the spec: the child must wait, then find
 * the layer the parent committed and build nothing. */
static void test_build_waits(struct pkgimg_ctx *ctx, const char *name, const char *spec)
{
	char *dir = xasprintf("%s/%s", work, name), *p, *r1, *r2;
	struct store one = { 0 }, two = { 0 };
	struct built b;
	struct layer_txn t;
	int r, status = -1;
	pid_t pid, w = -1;

	mkdir(dir, 0755);
	p = xasprintf("%s/pkgimg.yaml", dir);
	write_file(p, spec);
	free(p);
	p = xasprintf("%s/file.txt", dir);
	write_file(p, "content\n");
	free(p);
	r1 = xasprintf("%s/store-%s-1", work, name);
	r2 = xasprintf("%s/store-%s-2", work, name);
	r = store_open(ctx, r1, &one);
	if (r == 0)
		r = store_open(ctx, r2, &two);
	if (r == 0)
		r = build(ctx, &one, dir, &b);
	if (r < 0 || b.n != 1 || !b.built) {
		check(false, name, "setup: r=%d steps %d built %d: %s", r, b.n, b.built,
		      ctx->errmsg);
		goto out;
	}
	r = layer_txn_begin(ctx, &two, b.key, "test", false, &t);
	if (r != 0) {
		check(false, name, "begin: r=%d %s", r, ctx->errmsg);
		goto out;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct pkgimg_ctx c;
		struct built cb;

		close(t.lockfd);	/* the parent's */
		pkgimg_ctx_init(&c);
		r = build(&c, &two, dir, &cb);
		/* 0: the layer was found (the parent's), not built again */
		_exit(r < 0 ? 11 : cb.n != 1 ? 12 : cb.built ? 13 : 0);
	}
	sleep_ms(600);
	w = waitpid(pid, &status, WNOHANG);
	{
		char *msg = xasprintf("%s: a build waits for the key another process holds", name);

		check(w == 0, msg, "the build did not wait (exit %d)",
		      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(msg);
	}
	{
		struct layer_meta m = { 0 };

		m.step = (char *)"committed by the parent";
		m.lock = (char *)"";
		r = layer_txn_commit(ctx, &t, LAYER_TIMES_ZERO, &m);
		layer_txn_abort(&t);
	}
	if (w == 0)
		w = waitpid(pid, &status, 0);
	{
		char *msg = xasprintf("%s: ... then finds the layer and builds nothing", name);

		check(r == 0 && w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, msg,
		      "r=%d exit %d", r, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		free(msg);
	}
out:
	store_close(&one);
	store_close(&two);
	free(r1);
	free(r2);
	free(dir);
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st = { 0 };
	char *root;
	int r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(work)) {
		printf("not ok - setup\n# mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	pkgimg_ctx_init(&ctx);
	root = xasprintf("%s/store", work);
	r = store_open(&ctx, root, &st);
	check(r == 0, "store_open", "%s", ctx.errmsg);
	if (r == 0) {
		test_begin_commit(&ctx, &st);
		test_abort_renew(&ctx, &st);
		test_wait(&ctx, &st);
		test_chain_trees(&st);
		store_close(&st);
	}
	test_build_waits(&ctx, "env-step", "base: scratch\nsteps:\n  - env: {A: b}\n");
	test_build_waits(&ctx, "add-step",
			 "base: scratch\nsteps:\n  - add: {src: ./file.txt, dst: /file.txt}\n");
	free(root);
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
