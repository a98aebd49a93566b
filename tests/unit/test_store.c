/* cache/store.c: layout and locks, atomic layer commit, layer.yaml, tags,
 * name resolution, chains, materialize with overlay whiteouts, listing, gc.
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"); exits non-zero on a
 * failure.  Needs root for mknod (whiteouts), chown and trusted.* xattrs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-store-XXXXXX";

/* "sha256:" + 64 hex made from a short hex prefix, padded with c. */
static const char *mkkey(char buf[STORE_KEY_MAX], const char *prefix, char c)
{
	size_t n = strlen(prefix);

	memcpy(buf, "sha256:", 7);
	memcpy(buf + 7, prefix, n);
	memset(buf + 7 + n, c, 64 - n);
	buf[71] = 0;
	return buf;
}

static void put(const char *dir, const char *rel, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, rel), *slash = strrchr(p, '/');

	*slash = 0;
	fs_mkdirs(NULL, AT_FDCWD, p, 0755);
	*slash = '/';
	fs_write_file(NULL, AT_FDCWD, p, content, strlen(content), mode);
	free(p);
}

static bool file_is(const char *dir, const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct sbuf sb = SBUF_INIT;
	bool ok = fs_read_file(NULL, AT_FDCWD, p, &sb) == 0 && sb.len == strlen(content) &&
		  !memcmp(sb.buf, content, sb.len);

	sbuf_free(&sb);
	free(p);
	return ok;
}

static bool path_exists(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat sb;
	bool ok = lstat(p, &sb) == 0;

	free(p);
	return ok;
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

typedef void (*fill_fn)(const char *tree, void *arg);

/* Builds a layer under ROOT/tmp and commits it; returns commit's result. */
static int mk_layer(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		    const char *parent, const char *step, const char *lock, fill_fn fill,
		    void *arg)
{
	struct layer_meta m = { 0 };
	char *tmp = NULL, *tree;
	int r;

	r = store_mktemp_dir(ctx, st, "layer", &tmp);
	if (r < 0)
		return r;
	tree = xasprintf("%s/tree", tmp);
	mkdir(tree, 0755);
	if (fill)
		fill(tree, arg);
	snprintf(m.key, sizeof m.key, "%s", key);
	snprintf(m.parent, sizeof m.parent, "%s", parent ? parent : "");
	m.step = (char *)step;
	m.lock = (char *)lock;
	r = store_layer_commit(ctx, st, tmp, &m);
	free(tree);
	free(tmp);
	return r;
}

static void fill_one(const char *tree, void *arg)
{
	put(tree, "file", arg ? arg : "x", 0644);
}

static char *new_root(const char *name)
{
	return xasprintf("%s/%s", work, name);
}

/* ---- tests ------------------------------------------------------------ */

static void test_open_and_lock(struct pkgimg_ctx *ctx)
{
	static const char *const dirs[] = { "blobs/sha256", "index", "unpacked", "layers", "tags",
					    "tmp", "locks", "lock" };
	char *root = new_root("s-lock");
	struct store st;
	int r, missing = 0, sync1[2], sync2[2], status = -1;
	pid_t pid;
	char c;

	r = store_open(ctx, root, &st);
	for (size_t i = 0; r == 0 && i < sizeof dirs / sizeof *dirs; i++)
		missing += !path_exists(root, dirs[i]);
	check(r == 0 && missing == 0 && st.rootfd >= 0 && st.root[0] == '/',
	      "open: creates the layout", "r=%d missing=%d msg=%s", r, missing, ctx->errmsg);
	if (r < 0)
		goto out;

	/* a second process opens the same store while we hold it: shared lock */
	if (pipe(sync1) < 0 || pipe(sync2) < 0)
		goto out;
	pid = fork();
	if (pid == 0) {
		struct pkgimg_ctx c2;
		struct store s2;

		pkgimg_ctx_init(&c2);
		alarm(5);
		if (store_open(&c2, root, &s2) < 0)
			_exit(3);
		if (write(sync1[1], "o", 1) != 1)
			_exit(4);
		if (read(sync2[0], &c, 1) != 1)	/* hold it until told */
			_exit(5);
		store_close(&s2);
		_exit(0);
	}
	r = read(sync1[0], &c, 1) == 1 ? 0 : -1;
	check(r == 0, "open: two processes share the store lock", "the child could not open it");
	if (r == 0) {
		struct store_gc_stats gs;

		r = store_gc(ctx, &st, &gs);
		check(r == -EBUSY && strstr(ctx->errmsg, "in use by another pkgimg process") &&
		      strstr(ctx->errmsg, "retry"), "gc: refuses while another process uses the store",
		      "r=%d msg=%s", r, ctx->errmsg);
	}
	if (write(sync2[1], "x", 1) != 1)
		goto out;
	waitpid(pid, &status, 0);
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "open: second process ran to the end",
	      "child status %d", status);
	{
		struct store_gc_stats gs;
		int fd;

		r = store_gc(ctx, &st, &gs);
		check(r == 0, "gc: runs once the other process is gone", "r=%d msg=%s", r, ctx->errmsg);
		/* afterwards we hold the shared lock again: exclusive by another fd fails,
		 * shared succeeds */
		fd = open(st.root, O_RDONLY | O_DIRECTORY);
		fd = openat(fd, "lock", O_RDWR);
		check(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK &&
		      flock(fd, LOCK_SH | LOCK_NB) == 0, "gc: downgrades back to the shared lock",
		      "fd=%d errno=%d", fd, errno);
		if (fd >= 0)
			close(fd);
	}
	close(sync1[0]);
	close(sync1[1]);
	close(sync2[0]);
	close(sync2[1]);
	store_close(&st);
out:
	free(root);
}

static void fill_many(const char *tree, void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++) {
		char rel[64];

		snprintf(rel, sizeof rel, "d%d/f%03d", i % 7, i);
		put(tree, rel, "some content of a file in a layer\n", 0644);
	}
}

static void test_commit(struct pkgimg_ctx *ctx)
{
	char *root = new_root("s-commit"), key[STORE_KEY_MAX], parent[STORE_KEY_MAX];
	const char *lock = "packages:\n  - name: foo\n    version: '1.0'\n    sha256: "
			   "ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12ab12\n";
	struct layer_meta m = { 0 }, in = { 0 };
	char *env[] = { "PATH=/usr/bin:/bin", "A=b: c", NULL };
	char *ldir, *tmp = NULL, *tree;
	struct store st;
	int r, pfd[2], status = -1;
	pid_t pid;

	if (store_open(ctx, root, &st) < 0) {
		check(false, "commit: open", "%s", ctx->errmsg);
		goto out;
	}
	mkkey(parent, "aaaa", '0');
	mkkey(key, "bbbb", '1');
	r = mk_layer(ctx, &st, parent, NULL, "base: scratch", NULL, fill_one, "p");
	check(r == 0 && store_has_layer(&st, parent), "commit: bottom layer", "r=%d msg=%s", r,
	      ctx->errmsg);

	/* full metadata round trip through layer.yaml */
	store_mktemp_dir(ctx, &st, "layer", &tmp);
	tree = xasprintf("%s/tree", tmp);
	mkdir(tree, 0755);
	fill_many(tree, NULL);
	snprintf(in.key, sizeof in.key, "%s", key);
	snprintf(in.parent, sizeof in.parent, "%s", parent);
	in.step = "apt: [python3, \"git\"]";
	in.lock = (char *)lock;
	in.env = env;
	in.workdir = "/app";
	ldir = xasprintf("%s/layers/%s", st.root, key + 7);

	/* a watcher polls for the layer dir: whenever it sees it, it must be whole */
	if (pipe(pfd) < 0)
		goto out;
	pid = fork();
	if (pid == 0) {
		char *yaml = xasprintf("%s/layer.yaml", ldir), *last = xasprintf("%s/tree/d5/f299", ldir);
		struct timespec t0, t;
		char c;

		close(pfd[1]);
		if (read(pfd[0], &c, 1) != 1)
			_exit(4);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct stat sb;

			if (stat(ldir, &sb) == 0)
				_exit(access(yaml, F_OK) == 0 && access(last, F_OK) == 0 ? 0 : 1);
			clock_gettime(CLOCK_MONOTONIC, &t);
			if (t.tv_sec - t0.tv_sec > 10)
				_exit(2);
		}
	}
	close(pfd[0]);
	check(!store_has_layer(&st, key) && !path_exists(st.root, "layers/bbbb"),
	      "commit: nothing visible before the commit", "layer visible too early");
	if (write(pfd[1], "g", 1) != 1)
		goto out;
	close(pfd[1]);
	usleep(20 * 1000);
	r = store_layer_commit(ctx, &st, tmp, &in);
	waitpid(pid, &status, 0);
	check(r == 0 && store_has_layer(&st, key) && !path_exists(tmp, "") &&
	      WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "commit: the layer appears whole (rename), tmp dir consumed",
	      "r=%d watcher=%d msg=%s", r, WIFEXITED(status) ? WEXITSTATUS(status) : -1, ctx->errmsg);
	check(in.size == 300 * strlen("some content of a file in a layer\n"),
	      "commit: size computed", "size=%llu", (unsigned long long)in.size);

	r = store_layer_read(ctx, &st, key, &m);
	check(r == 0 && !strcmp(m.key, key) && !strcmp(m.parent, parent) &&
	      m.step && !strcmp(m.step, in.step) && m.lock && !strcmp(m.lock, lock) &&
	      m.size == in.size && m.workdir && !strcmp(m.workdir, "/app") && m.env &&
	      m.env[0] && !strcmp(m.env[0], env[0]) && m.env[1] && !strcmp(m.env[1], env[1]) &&
	      !m.env[2], "layer.yaml: round trip", "r=%d step=%s lock=%s msg=%s", r,
	      m.step ? m.step : "-", m.lock ? m.lock : "-", ctx->errmsg);
	layer_meta_free(&m);
	{
		char *yp = xasprintf("%s/layer.yaml", ldir);
		struct sbuf y = SBUF_INIT;

		fs_read_file(NULL, AT_FDCWD, yp, &y);
		check(y.buf && strstr(y.buf, "lock: |") && strstr(y.buf, "\n  packages:\n"),
		      "layer.yaml: lock is a literal block", "%s", y.buf ? y.buf : "(none)");
		sbuf_free(&y);
		free(yp);
	}

	/* the same key committed again (a concurrent builder won): 0, tmp removed */
	free(tmp);
	tmp = NULL;
	store_mktemp_dir(ctx, &st, "layer", &tmp);
	put(tmp, "tree/other", "y", 0644);
	in.step = "something else";
	r = store_layer_commit(ctx, &st, tmp, &in);
	r = r == 0 ? store_layer_read(ctx, &st, key, &m) : r;
	check(r == 0 && !path_exists(tmp, "") && m.step && !strcmp(m.step, "apt: [python3, \"git\"]"),
	      "commit: an existing layer wins, tmp removed", "r=%d step=%s msg=%s", r,
	      m.step ? m.step : "-", ctx->errmsg);
	layer_meta_free(&m);

	r = store_layer_read(ctx, &st, mkkey((char[STORE_KEY_MAX]){ 0 }, "cccc", '2'), &m);
	check(r == -PKGIMG_E_NOTFOUND, "layer read: missing layer is NOTFOUND", "r=%d", r);
	free(tree);
	free(ldir);
	store_close(&st);
out:
	free(tmp);
	free(root);
}

static void test_tags_resolve_chain(struct pkgimg_ctx *ctx)
{
	char *root = new_root("s-tags"), a[STORE_KEY_MAX], b[STORE_KEY_MAX], c[STORE_KEY_MAX];
	char k1[STORE_KEY_MAX], k2[STORE_KEY_MAX], got[STORE_KEY_MAX];
	static const char *const bad[] = { "", "../x", "a/b", ".hidden", "a b", "-x", "..", "x%y" };
	char **keys = NULL;
	struct store st;
	int r, n = 0, nbad = 0;

	if (store_open(ctx, root, &st) < 0) {
		check(false, "tags: open", "%s", ctx->errmsg);
		goto out;
	}
	mkkey(a, "0a0a", '0');
	mkkey(b, "0b0b", '1');
	mkkey(c, "0c0c", '2');
	mkkey(k1, "abcd1", '3');
	mkkey(k2, "abcd2", '4');
	r = mk_layer(ctx, &st, a, NULL, "base", NULL, fill_one, "a");
	r = r ? r : mk_layer(ctx, &st, b, a, "apt: [x]", NULL, fill_one, "b");
	r = r ? r : mk_layer(ctx, &st, c, b, "pip: [y]", NULL, fill_one, "c");
	r = r ? r : mk_layer(ctx, &st, k1, NULL, "k1", NULL, NULL, NULL);
	r = r ? r : mk_layer(ctx, &st, k2, NULL, "k2", NULL, NULL, NULL);
	check(r == 0, "tags: layers committed", "r=%d msg=%s", r, ctx->errmsg);

	r = store_tag_set(ctx, &st, "py:3.11", b);
	r = r ? r : store_resolve(ctx, &st, "py:3.11", got);
	check(r == 0 && !strcmp(got, b) && path_exists(st.root, "tags/py%3A3.11"),
	      "tags: set and resolve (':' encoded in the file name)", "r=%d got=%s msg=%s", r, got,
	      ctx->errmsg);
	r = store_tag_set(ctx, &st, "py:3.11", c);
	r = r ? r : store_resolve(ctx, &st, "py:3.11", got);
	{
		char *tags = xasprintf("%s/tags", st.root);

		check(r == 0 && !strcmp(got, c) && count_entries(tags) == 1,
		      "tags: moving a tag replaces it", "r=%d got=%s entries=%d", r, got,
		      count_entries(tags));
		free(tags);
	}
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		nbad += store_tag_set(ctx, &st, bad[i], a) == -PKGIMG_E_USAGE;
	check(nbad == (int)(sizeof bad / sizeof *bad), "tags: invalid names are USAGE errors",
	      "%d of %zu refused", nbad, sizeof bad / sizeof *bad);
	r = store_tag_set(ctx, &st, "ghost", mkkey((char[STORE_KEY_MAX]){ 0 }, "dead", '9'));
	check(r == -PKGIMG_E_NOTFOUND, "tags: tagging a missing layer is NOTFOUND", "r=%d", r);

	r = store_resolve(ctx, &st, "abcd", got);
	check(r == -PKGIMG_E_AMBIGUOUS && strstr(ctx->errmsg, k1) && strstr(ctx->errmsg, k2) &&
	      strstr(ctx->errmsg, "abcd: [resolve]"), "resolve: ambiguous prefix lists candidates",
	      "r=%d msg=%s", r, ctx->errmsg);
	r = store_resolve(ctx, &st, "abcd1", got);
	check(r == 0 && !strcmp(got, k1), "resolve: unique prefix", "r=%d got=%s", r, got);
	r = store_resolve(ctx, &st, "sha256:abcd2", got);
	check(r == 0 && !strcmp(got, k2), "resolve: sha256: prefix", "r=%d got=%s", r, got);
	r = store_resolve(ctx, &st, "ABCD2", got);
	check(r == 0 && !strcmp(got, k2), "resolve: upper-case prefix", "r=%d got=%s", r, got);
	r = store_resolve(ctx, &st, a, got);
	check(r == 0 && !strcmp(got, a), "resolve: full key", "r=%d got=%s", r, got);
	r = store_resolve(ctx, &st, a + 7, got);
	check(r == 0 && !strcmp(got, a), "resolve: full hex", "r=%d got=%s", r, got);
	r = store_resolve(ctx, &st, "no-such-tag", got);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "no-such-tag: [resolve] no such image") &&
	      strstr(ctx->errmsg, "pkgimg images"), "resolve: unknown name is NOTFOUND with a hint",
	      "r=%d msg=%s", r, ctx->errmsg);
	r = store_resolve(ctx, &st, "ffff", got);
	check(r == -PKGIMG_E_NOTFOUND, "resolve: unknown prefix is NOTFOUND", "r=%d", r);
	r = store_resolve(ctx, &st, "abc", got);
	check(r == -PKGIMG_E_NOTFOUND, "resolve: 3 hex digits are too few", "r=%d", r);

	r = store_layer_chain(ctx, &st, c, &keys, &n);
	check(r == 0 && n == 3 && !strcmp(keys[0], c) && !strcmp(keys[1], b) &&
	      !strcmp(keys[2], a) && !keys[3], "chain: top first down to the bottom",
	      "r=%d n=%d msg=%s", r, n, ctx->errmsg);
	if (keys) {
		for (int i = 0; i < n; i++)
			free(keys[i]);
		free(keys);
		keys = NULL;
	}
	{
		char orphan[STORE_KEY_MAX], missing[STORE_KEY_MAX];

		mkkey(orphan, "0d0d", '5');
		mkkey(missing, "0e0e", '6');
		mk_layer(ctx, &st, orphan, missing, "orphan", NULL, NULL, NULL);
		r = store_layer_chain(ctx, &st, orphan, &keys, &n);
		check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, missing) && !keys,
		      "chain: a missing parent is reported", "r=%d msg=%s", r, ctx->errmsg);
	}

	/* listing: c (top of a chain, tagged), k1, k2, orphan; not a or b */
	{
		struct store_image *imgs = NULL;
		int ni = 0, found_c = 0, found_a = 0, found_b = 0;

		store_tag_set(ctx, &st, "base", a);
		r = store_list_images(ctx, &st, &imgs, &ni);
		for (int i = 0; r == 0 && i < ni; i++) {
			if (!strcmp(imgs[i].key, c))
				found_c = imgs[i].nlayers == 3 && imgs[i].size == 3 && imgs[i].tags[0] &&
					  !strcmp(imgs[i].tags[0], "py:3.11") && !imgs[i].tags[1] &&
					  !strcmp(imgs[i].step, "pip: [y]") && imgs[i].created > 0;
			if (!strcmp(imgs[i].key, a))
				found_a = imgs[i].tags[0] && !strcmp(imgs[i].tags[0], "base");
			if (!strcmp(imgs[i].key, b))
				found_b = 1;
		}
		check(r == 0 && ni == 5 && found_c && found_a && !found_b,
		      "images: tops of chains and tagged layers", "r=%d n=%d c=%d a=%d b=%d", r, ni,
		      found_c, found_a, found_b);
		store_images_free(imgs, ni);
	}
	store_close(&st);
out:
	free(root);
}

/* Bottom layer for materialize. */
static void fill_lower(const char *tree, void *arg)
{
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char *p;

	(void)arg;
	put(tree, "etc/a", "A1", 0644);
	put(tree, "etc/b", "B1", 0644);
	put(tree, "dir/x", "x", 0644);
	put(tree, "dir/sub/y", "y", 0644);
	put(tree, "gone/deep/file", "g", 0644);
	put(tree, "swap", "was a file", 0644);
	put(tree, "bin/tool", "#!/bin/sh\n", 0755);
	p = xasprintf("%s/bin/tool", tree);
	if (chown(p, 1234, 5678) < 0)
		perror("chown");
	chmod(p, 04755);
	utimensat(AT_FDCWD, p, ts, 0);
	free(p);
	p = xasprintf("%s/lnk", tree);
	if (symlink("etc/a", p) < 0)
		perror("symlink");
	free(p);
}

static void whiteout(const char *tree, const char *rel)
{
	char *p = xasprintf("%s/%s", tree, rel);

	mknod(p, S_IFCHR | 0, makedev(0, 0));
	free(p);
}

static void fill_upper(const char *tree, void *arg)
{
	char *p;

	(void)arg;
	put(tree, "etc/a", "A2", 0644);
	put(tree, "etc/c", "C2", 0600);
	whiteout(tree, "etc/b");
	whiteout(tree, "gone");
	put(tree, "dir/z", "z", 0644);
	p = xasprintf("%s/dir", tree);
	setxattr(p, "trusted.overlay.opaque", "y", 1, 0);
	free(p);
	put(tree, "swap/f", "now a dir", 0644);
}

static void test_materialize(struct pkgimg_ctx *ctx)
{
	char *root = new_root("s-mat"), lo[STORE_KEY_MAX], up[STORE_KEY_MAX];
	char *out = xasprintf("%s/out", work), *p, *keys[3];
	struct store st;
	struct stat sb;
	char v[8];
	int r;

	if (store_open(ctx, root, &st) < 0) {
		check(false, "materialize: open", "%s", ctx->errmsg);
		goto out;
	}
	mkkey(lo, "1111", 'a');
	mkkey(up, "2222", 'b');
	r = mk_layer(ctx, &st, lo, NULL, "lower", NULL, fill_lower, NULL);
	r = r ? r : mk_layer(ctx, &st, up, lo, "upper", NULL, fill_upper, NULL);
	keys[0] = up;
	keys[1] = lo;
	keys[2] = NULL;
	r = r ? r : store_materialize(ctx, &st, keys, 2, out);
	check(r == 0, "materialize: runs", "r=%d msg=%s", r, ctx->errmsg);
	check(file_is(out, "etc/a", "A2") && file_is(out, "etc/c", "C2"),
	      "materialize: upper files override lower ones", "etc/a or etc/c wrong");
	check(!path_exists(out, "etc/b") && !path_exists(out, "gone"),
	      "materialize: whiteouts delete files and directories", "etc/b or gone still there");
	check(file_is(out, "dir/z", "z") && !path_exists(out, "dir/x") && !path_exists(out, "dir/sub"),
	      "materialize: an opaque directory hides what is below", "dir content wrong");
	p = xasprintf("%s/dir", out);
	check(getxattr(p, "trusted.overlay.opaque", v, sizeof v) < 0,
	      "materialize: no overlay xattrs in the result", "opaque xattr copied");
	free(p);
	check(file_is(out, "swap/f", "now a dir"), "materialize: a directory replaces a file",
	      "swap/f wrong");
	p = xasprintf("%s/bin/tool", out);
	check(lstat(p, &sb) == 0 && (sb.st_mode & 07777) == 04755 && sb.st_uid == 1234 &&
	      sb.st_gid == 5678 && sb.st_mtime == 1000000000,
	      "materialize: mode, owner and mtime kept", "mode=%o uid=%d gid=%d mtime=%ld",
	      sb.st_mode & 07777, (int)sb.st_uid, (int)sb.st_gid, (long)sb.st_mtime);
	free(p);
	p = xasprintf("%s/lnk", out);
	{
		char t[64];
		ssize_t n = readlink(p, t, sizeof t - 1);

		check(n == 5 && !memcmp(t, "etc/a", 5), "materialize: symlinks kept", "n=%zd", n);
	}
	free(p);
	p = xasprintf("%s/etc/c", out);
	check(lstat(p, &sb) == 0 && (sb.st_mode & 0777) == 0600, "materialize: upper mode",
	      "mode=%o", sb.st_mode & 0777);
	free(p);
	r = store_materialize(ctx, &st, keys, 2, out);
	check(r == -ENOTEMPTY && strstr(ctx->errmsg, "not empty"),
	      "materialize: refuses a non-empty directory", "r=%d msg=%s", r, ctx->errmsg);
	store_close(&st);
out:
	free(out);
	free(root);
}

static void test_gc(struct pkgimg_ctx *ctx)
{
	char *root = new_root("s-gc"), a[STORE_KEY_MAX], b[STORE_KEY_MAX], u[STORE_KEY_MAX];
	char h1[65], h2[65], h3[65], *lock_a, *lock_b, *lock_u;
	struct store_gc_stats gs = { -1, -1, 0 };
	struct store st;
	char *tmpdir;
	int r;

	if (store_open(ctx, root, &st) < 0) {
		check(false, "gc: open", "%s", ctx->errmsg);
		goto out;
	}
	memset(h1, '1', 64);
	memset(h2, '2', 64);
	memset(h3, '3', 64);
	h1[64] = h2[64] = h3[64] = 0;
	lock_a = xasprintf("packages:\n- name: a\n  sha256: %s\n", h2);
	lock_b = xasprintf("packages:\n- name: b\n  url: https://x/b_%s.deb\n  sha256: %s\n", h3 + 60, h1);
	lock_u = xasprintf("packages:\n- name: u\n  sha256: %s\n", h3);
	mkkey(a, "aaaa", 'a');
	mkkey(b, "bbbb", 'b');
	mkkey(u, "cccc", 'c');
	r = mk_layer(ctx, &st, a, NULL, "a", lock_a, fill_one, "a");
	r = r ? r : mk_layer(ctx, &st, b, a, "b", lock_b, fill_one, "b");
	r = r ? r : mk_layer(ctx, &st, u, a, "u", lock_u, fill_one, "u");
	r = r ? r : store_tag_set(ctx, &st, "keep", b);
	check(r == 0, "gc: setup", "r=%d msg=%s", r, ctx->errmsg);
	for (int i = 0; i < 3; i++) {
		const char *h = i == 0 ? h1 : i == 1 ? h2 : h3;
		char *rel = xasprintf("blobs/sha256/%s", h), *un = xasprintf("unpacked/%s/f", h);

		put(st.root, rel, "blob bytes", 0444);
		put(st.root, un, "unpacked", 0644);
		free(rel);
		free(un);
	}
	put(st.root, "tmp/layer-XXXX/tree/f", "junk", 0644);
	put(st.root, "tmp/fetch.1.2.3", "junk", 0644);

	r = store_gc(ctx, &st, &gs);
	check(r == 0, "gc: runs", "r=%d msg=%s", r, ctx->errmsg);
	check(store_has_layer(&st, a) && store_has_layer(&st, b) && !store_has_layer(&st, u) &&
	      !path_exists(st.root, "layers/cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"),
	      "gc: keeps the tagged chain, removes the untagged layer", "a=%d b=%d u=%d",
	      store_has_layer(&st, a), store_has_layer(&st, b), store_has_layer(&st, u));
	check(store_has_blob(&st, h1) && store_has_blob(&st, h2) && !store_has_blob(&st, h3),
	      "gc: keeps blobs named in kept locks, removes the rest", "h1=%d h2=%d h3=%d",
	      store_has_blob(&st, h1), store_has_blob(&st, h2), store_has_blob(&st, h3));
	{
		char *r1 = xasprintf("unpacked/%s", h1), *r3 = xasprintf("unpacked/%s", h3);

		check(path_exists(st.root, r1) && !path_exists(st.root, r3),
		      "gc: unpacked dirs follow the blobs", "unpacked h1=%d h3=%d",
		      path_exists(st.root, r1), path_exists(st.root, r3));
		free(r1);
		free(r3);
	}
	tmpdir = xasprintf("%s/tmp", st.root);
	check(count_entries(tmpdir) == 0, "gc: empties tmp/", "%d left", count_entries(tmpdir));
	check(gs.layers == 1 && gs.blobs == 1 && gs.bytes > 0, "gc: reports what it freed",
	      "layers=%d blobs=%d bytes=%llu", gs.layers, gs.blobs, (unsigned long long)gs.bytes);
	{
		char got[STORE_KEY_MAX];

		r = store_resolve(ctx, &st, "keep", got);
		check(r == 0 && !strcmp(got, b), "gc: tags survive", "r=%d", r);
	}
	free(tmpdir);
	free(lock_a);
	free(lock_b);
	free(lock_u);
	store_close(&st);
out:
	free(root);
}

int main(void)
{
	struct pkgimg_ctx ctx;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!mkdtemp(work)) {
		printf("not ok - setup\n# mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	pkgimg_ctx_init(&ctx);
	test_open_and_lock(&ctx);
	test_commit(&ctx);
	test_tags_resolve_chain(&ctx);
	if (geteuid() == 0)
		test_materialize(&ctx);
	else
		printf("skip - materialize: needs root (mknod whiteouts, trusted.* xattrs)\n");
	test_gc(&ctx);
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
