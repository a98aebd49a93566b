/* cache/view.c: resolving a path in an image's merged view, read from its
 * layer trees as overlayfs stacks them.  Needs root for mknod (whiteouts).
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache/view.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "tests/unit/check.h"

static char work[] = "/var/tmp/pkgimg-test-view-XXXXXX";

static char *P(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", work, rel);
	return buf[i];
}

static void must(int r, const char *what)
{
	if (r < 0) {
		perror(what);
		exit(2);
	}
}

static void md(const char *rel)
{
	must(mkdir(P(rel), 0755), P(rel));
}

static void put(const char *rel)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, 0644);

	must(fd, P(rel));
	close(fd);
}

static void ln(const char *target, const char *rel)
{
	must(symlink(target, P(rel)), P(rel));
}

/* Resolves path over the layers "top" and "bottom" (or just "bottom"). */
static int res(const char *path, bool with_top, char **out, struct stat *sb, struct pkgimg_ctx *ctx)
{
	char *top = xstrdup(P("top")), *bottom = xstrdup(P("bottom"));
	char *trees[] = { top, bottom };
	int r;

	r = with_top ? view_resolve(ctx, "add", "build", trees, 2, path, out, sb)
		     : view_resolve(ctx, "add", "build", trees + 1, 1, path, out, sb);
	free(top);
	free(bottom);
	return r;
}

static void expect(const char *path, bool with_top, const char *want, mode_t type)
{
	struct pkgimg_ctx ctx;
	struct stat sb;
	char *out = NULL, name[256];
	int r;

	pkgimg_ctx_init(&ctx);
	r = res(path, with_top, &out, &sb, &ctx);
	snprintf(name, sizeof name, "%s%s is %s (%s)", path, with_top ? " (two layers)" : "", want,
		 type == 0 ? "absent" : S_ISDIR(type) ? "a dir" : S_ISLNK(type) ? "a link" : "a file");
	check(r == 0 && !strcmp(out, want) && (sb.st_mode & S_IFMT) == type, name,
	      "r=%d out=%s mode=%o %s", r, out ? out : "-", sb.st_mode, ctx.errmsg);
	free(out);
}

static void expect_err(const char *path, int err, const char *msg)
{
	struct pkgimg_ctx ctx;
	struct stat sb;
	char *out = NULL, name[256];
	int r;

	pkgimg_ctx_init(&ctx);
	r = res(path, true, &out, &sb, &ctx);
	snprintf(name, sizeof name, "%s: error %s naming '%s'", path, strerror(err), msg);
	check(r == -err && !out && strstr(ctx.errmsg, msg) && strstr(ctx.errmsg, "add: [build]"),
	      name, "r=%d out=%s %s", r, out ? out : "-", ctx.errmsg);
	free(out);
}

/* view_list and view_layer_of: a directory's names over both layers, a
 * whiteout removing one, an opaque directory hiding what is below. */
static void t_list(void)
{
	char *trees[] = { xstrdup(P("top")), xstrdup(P("bottom")) };
	struct pkgimg_ctx ctx;
	struct strv v = { 0 };
	struct sbuf got = SBUF_INIT;
	int r;

	pkgimg_ctx_init(&ctx);
	md("top/usr/bin");
	put("top/usr/bin/new");
	must(mknod(P("top/usr/bin/sh2"), S_IFCHR | 0, makedev(0, 0)), "mknod");
	r = view_list(&ctx, trees, 2, "/usr/bin", &v);
	for (size_t i = 0; i < v.n; i++)
		sbuf_addf(&got, "%s ", v.v[i]);
	check(r == 0 && got.buf && !strcmp(got.buf, "new sh "),
	      "view_list /usr/bin: both layers' names, the whited-out one gone", "r=%d got '%s' %s",
	      r, got.buf ? got.buf : "", ctx.errmsg);
	r = view_list(&ctx, trees, 2, "/opt", &v);
	check(r == 0 && v.n == 0, "view_list /opt: the opaque top directory hides bottom's",
	      "r=%d n=%zu", r, v.n);
	r = view_list(&ctx, trees, 2, "/srv", &v);
	check(r == 0 && v.n == 0, "view_list /srv: a whited-out directory has no names",
	      "r=%d n=%zu", r, v.n);
	check(view_layer_of(trees, 2, "/usr/bin/new", NULL) == 0 &&
	      view_layer_of(trees, 2, "/usr/bin/sh", NULL) == 1 &&
	      view_layer_of(trees, 2, "/usr/bin/sh2", NULL) == -1 &&
	      view_layer_of(trees, 2, "/srv/old", NULL) == -1 &&
	      view_layer_of(trees, 2, "/opt/a", NULL) == -1,
	      "view_layer_of: the top-most layer that has a path; -1 under a whiteout or an opaque dir",
	      "new=%d sh=%d sh2=%d srv/old=%d opt/a=%d", view_layer_of(trees, 2, "/usr/bin/new", NULL),
	      view_layer_of(trees, 2, "/usr/bin/sh", NULL), view_layer_of(trees, 2, "/usr/bin/sh2", NULL),
	      view_layer_of(trees, 2, "/srv/old", NULL), view_layer_of(trees, 2, "/opt/a", NULL));
	strv_free(&v);
	sbuf_free(&got);
	free(trees[0]);
	free(trees[1]);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip - view tests need root (mknod whiteouts)\n");
		return 0;
	}
	if (!mkdtemp(work)) {
		perror(work);
		return 2;
	}
	/* the bottom layer: a usrmerged Debian */
	md("bottom");
	md("bottom/usr");
	md("bottom/usr/bin");
	md("bottom/usr/lib");
	md("bottom/etc");
	md("bottom/opt");
	md("bottom/opt/a");
	md("bottom/srv");
	md("bottom/srv/old");
	put("bottom/usr/bin/sh");
	put("bottom/etc/passwd");
	ln("usr/bin", "bottom/bin");
	ln("/usr/lib", "bottom/lib");
	ln("../bin", "bottom/usr/sbin2");
	ln("../../../../../etc", "bottom/usr/lib/up");
	ln("loop2", "bottom/loop1");
	ln("/loop1", "bottom/loop2");
	ln("/bin", "bottom/abs");
	ln("sh", "bottom/usr/bin/sh2");
	/* the top layer: a whiteout, a directory over a link, an opaque
	 * directory, a directory merged with the one below */
	md("top");
	md("top/usr");
	md("top/opt");
	must(setxattr(P("top/opt"), "user.overlay.opaque", "y", 1, 0), "setxattr");
	md("top/lib");
	must(mknod(P("top/srv"), S_IFCHR | 0, makedev(0, 0)), "mknod");
	md("top/usr/local");

	expect("/bin/x", false, "/usr/bin/x", 0);
	expect("/bin/sh", false, "/usr/bin/sh", S_IFREG);
	expect("/bin", false, "/bin", S_IFLNK);		/* the last component is not followed */
	expect("/bin/", false, "/bin", S_IFLNK);
	expect("/bin/sh2", false, "/usr/bin/sh2", S_IFLNK);
	expect("/abs/sh", false, "/usr/bin/sh", S_IFREG);	/* a link to a link */
	expect("/lib/x.so", false, "/usr/lib/x.so", 0);
	expect("/usr/sbin2/sh", false, "/usr/bin/sh", S_IFREG);
	expect("/usr/lib/up/passwd", false, "/etc/passwd", S_IFREG);	/* ".." stops at the root */
	expect("/usr/../bin/sh", false, "/usr/bin/sh", S_IFREG);
	expect("//usr/./bin//sh", false, "/usr/bin/sh", S_IFREG);
	expect("/new/dir/file", false, "/new/dir/file", 0);
	expect("/new/../etc/passwd", false, "/etc/passwd", S_IFREG);
	expect("/", false, "/", S_IFDIR);
	expect("/usr/bin/..", false, "/usr", S_IFDIR);
	expect("/opt/a", false, "/opt/a", S_IFDIR);
	/* with the top layer */
	expect("/bin/sh", true, "/usr/bin/sh", S_IFREG);	/* top/usr merges with bottom/usr */
	expect("/usr/local", true, "/usr/local", S_IFDIR);
	expect("/opt/a", true, "/opt/a", 0);			/* hidden by the opaque top/opt */
	expect("/opt", true, "/opt", S_IFDIR);
	expect("/lib/x.so", true, "/lib/x.so", 0);		/* top/lib hides the link */
	expect("/srv/old", true, "/srv/old", 0);		/* whited out */
	expect("/srv", true, "/srv", 0);
	expect_err("/etc/passwd/x", ENOTDIR, "'/etc/passwd' is a file in the image");
	expect_err("/loop1/x", ELOOP, "too many levels of symbolic links");
	t_list();
	fs_rm_rf(NULL, AT_FDCWD, work);
	return failures ? 1 : 0;
}
