/* core/tree.c: applying a tree onto another by copy, hard link or rename,
 * with overlay whiteouts, opaque directories and overlayfs xattrs dropped.
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"); exits non-zero on a
 * failure.  Needs root for mknod (whiteouts) and chown. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"
#include "tests/unit/check.h"

static char work[] = "/var/tmp/pkgimg-test-tree-XXXXXX";

static char *P(const char *rel)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof buf[i], "%s/%s", work, rel);
	return buf[i];
}

static void put(const char *rel, const char *text, mode_t mode)
{
	int fd = open(P(rel), O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(P(rel));
		exit(2);
	}
	fchmod(fd, mode);
	close(fd);
}

static char *get(const char *rel)
{
	struct sbuf s = SBUF_INIT;

	if (fs_read_file(NULL, AT_FDCWD, P(rel), &s) < 0)
		return NULL;
	return sbuf_detach(&s);
}

static bool is_text(const char *rel, const char *want)
{
	char *got = get(rel);
	bool ok = got && !strcmp(got, want);

	free(got);
	return ok;
}

static void md(const char *rel, mode_t mode)
{
	if (mkdir(P(rel), mode) < 0) {
		perror(P(rel));
		exit(2);
	}
	chmod(P(rel), mode);
}

static int dirfd_of(const char *rel)
{
	int fd = open(P(rel), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0) {
		perror(P(rel));
		exit(2);
	}
	return fd;
}

static int apply(const char *src, const char *dst, enum tree_mode mode, struct pkgimg_ctx *ctx)
{
	int s = dirfd_of(src), d = dirfd_of(dst), r;

	r = tree_apply(ctx, s, d, mode, 0, src, "test", dst);
	close(s);
	close(d);
	return r;
}

static ino_t ino(const char *rel)
{
	struct stat st;

	return lstat(P(rel), &st) == 0 ? st.st_ino : 0;
}

static mode_t mode_of(const char *rel)
{
	struct stat st;

	return lstat(P(rel), &st) == 0 ? st.st_mode : 0;
}

static void t_link(void)
{
	struct pkgimg_ctx ctx;
	struct timespec ts[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
	char lnk[64] = "";
	int r;

	pkgimg_ctx_init(&ctx);
	md("pkg", 0755);
	md("pkg/usr", 0755);
	md("pkg/usr/share", 0750);
	put("pkg/usr/share/a.txt", "A\n", 0644);
	put("pkg/usr/share/x", "new x\n", 0755);
	symlink("a.txt", P("pkg/usr/share/l"));
	utimensat(AT_FDCWD, P("pkg/usr/share"), ts, 0);
	md("root", 0755);
	md("root/usr", 0755);
	md("root/usr/share", 0755);
	put("root/usr/share/x", "old x\n", 0644);
	put("root/keep", "kept\n", 0644);

	r = apply("pkg", "root", TREE_LINK, &ctx);
	check(r == 0, "link: applies", "r=%d %s", r, ctx.errmsg);
	check(ino("root/usr/share/a.txt") == ino("pkg/usr/share/a.txt") &&
	      ino("root/usr/share/x") == ino("pkg/usr/share/x"),
	      "link: files are hard links of the source (same inode)", "inodes differ");
	check(is_text("root/usr/share/x", "new x\n") && is_text("root/keep", "kept\n"),
	      "link: a later file replaces an earlier one, the rest stays", "contents wrong");
	check(readlink(P("root/usr/share/l"), lnk, sizeof lnk - 1) == 5 && !strcmp(lnk, "a.txt"),
	      "link: symlinks arrive as symlinks", "got '%s'", lnk);
	{
		struct stat st;

		check(lstat(P("root/usr/share"), &st) == 0 && (st.st_mode & 07777) == 0750 &&
		      st.st_mtim.tv_sec == 1000000000,
		      "link: a directory takes the source's mode and mtime, after its entries",
		      "mode %o mtime %ld", st.st_mode & 07777, (long)st.st_mtim.tv_sec);
	}

	/* a symlink in the target where the source has a directory */
	md("evil", 0755);
	md("evil/etc", 0755);
	put("evil/etc/passwd", "owned\n", 0644);
	md("root2", 0755);
	symlink("/tmp", P("root2/etc"));
	r = apply("evil", "root2", TREE_LINK, &ctx);
	check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "symlink") && !strstr(ctx.errmsg, "(null)"),
	      "link: refuses to write through a symlink in the target, naming it",
	      "r=%d %s", r, ctx.errmsg);
	check(access("/tmp/passwd", F_OK) != 0 || !is_text("/tmp/passwd", "owned\n"),
	      "link: nothing written outside the target", "/tmp/passwd written");
}

static void t_move(void)
{
	struct pkgimg_ctx ctx;
	int r;

	pkgimg_ctx_init(&ctx);
	md("low", 0755);
	md("low/etc", 0755);
	put("low/etc/gone", "deleted by a whiteout\n", 0644);
	put("low/etc/conf", "old\n", 0644);
	md("low/var", 0755);
	md("low/var/opaq", 0755);
	put("low/var/opaq/hidden", "hidden by opaque\n", 0644);
	md("low/d2f", 0755);
	put("low/d2f/child", "c\n", 0644);

	md("up", 0755);
	md("up/etc", 0700);
	if (mknod(P("up/etc/gone"), S_IFCHR | 0000, makedev(0, 0)) < 0) {
		printf("not ok - move: mknod whiteout: %s\n", strerror(errno));
		failures++;
		return;
	}
	put("up/etc/conf", "new\n", 0644);
	setxattr(P("up/etc/conf"), "user.overlay.origin", "x", 1, 0);
	setxattr(P("up/etc/conf"), "user.keep", "k", 1, 0);
	md("up/var", 0755);
	md("up/var/opaq", 0755);
	setxattr(P("up/var/opaq"), "user.overlay.opaque", "y", 1, 0);
	put("up/var/opaq/new", "n\n", 0644);
	put("up/d2f", "now a file\n", 0644);
	{
		ino_t conf_ino = ino("up/etc/conf");
		char v[8];

		r = apply("up", "low", TREE_MOVE, &ctx);
		check(r == 0, "move: applies", "r=%d %s", r, ctx.errmsg);
		check(access(P("low/etc/gone"), F_OK) != 0, "move: a whiteout deletes", "still there");
		check(is_text("low/etc/conf", "new\n") && ino("low/etc/conf") == conf_ino &&
		      access(P("up/etc/conf"), F_OK) != 0,
		      "move: a file is renamed over the old one (same inode, gone from the source)",
		      "not moved");
		check(getxattr(P("low/etc/conf"), "user.overlay.origin", v, sizeof v) < 0 &&
		      getxattr(P("low/etc/conf"), "user.keep", v, sizeof v) == 1,
		      "move: overlayfs xattrs dropped, others kept", "xattrs wrong");
		check((mode_of("low/etc") & 07777) == 0700, "move: directory metadata applied",
		      "mode %o", mode_of("low/etc") & 07777);
		check(access(P("low/var/opaq/hidden"), F_OK) != 0 && is_text("low/var/opaq/new", "n\n") &&
		      getxattr(P("low/var/opaq"), "user.overlay.opaque", v, sizeof v) < 0,
		      "move: an opaque directory replaces the old one and loses the mark",
		      "opaque not honoured");
		check(S_ISREG(mode_of("low/d2f")) && is_text("low/d2f", "now a file\n"),
		      "move: a file replaces a directory", "d2f mode %o", mode_of("low/d2f"));
	}
}

static void t_copy(void)
{
	struct pkgimg_ctx ctx;
	int r;

	pkgimg_ctx_init(&ctx);
	md("csrc", 0755);
	put("csrc/f", "copied\n", 0640);
	md("cdst", 0755);
	r = apply("csrc", "cdst", TREE_COPY, &ctx);
	check(r == 0 && is_text("cdst/f", "copied\n") && ino("cdst/f") != ino("csrc/f") &&
	      (mode_of("cdst/f") & 07777) == 0640 && is_text("csrc/f", "copied\n"),
	      "copy: a new inode with the same content and mode; the source stays",
	      "r=%d %s", r, ctx.errmsg);
}

static void warn_cb(void *arg, const char *msg)
{
	snprintf(arg, 512, "%s", msg);
}

/* TREE_HOST: onto the host, no device nodes unless allowed, no set-id bits
 * on a group- or world-writable file. */
static void t_host(void)
{
	struct pkgimg_ctx ctx;
	char warned[512] = "";
	int r;

	pkgimg_ctx_init(&ctx);
	ctx.warn = warn_cb;
	ctx.cb_arg = warned;
	md("hsrc", 0755);
	md("hsrc/dev", 0755);
	mknod(P("hsrc/dev/null"), S_IFCHR | 0666, makedev(1, 3));
	put("hsrc/ww", "w\n", 0777);
	chmod(P("hsrc/ww"), 04777);
	put("hsrc/ok", "o\n", 0755);
	chmod(P("hsrc/ok"), 04755);
	md("hdst", 0755);
	r = apply("hsrc", "hdst", TREE_HOST, &ctx);
	check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "'/dev/null' is a character device") &&
	      strstr(ctx.errmsg, "--allow-devices") && access(P("hdst/dev/null"), F_OK) != 0,
	      "host: a device node is refused, naming it and --allow-devices", "r=%d %s", r,
	      ctx.errmsg);
	fs_rm_rf(NULL, AT_FDCWD, P("hdst"));
	md("hdst", 0755);
	ctx.flags |= PKGIMG_F_ALLOW_DEVICES;
	r = apply("hsrc", "hdst", TREE_HOST, &ctx);
	check(r == 0 && S_ISCHR(mode_of("hdst/dev/null")), "host: --allow-devices writes it",
	      "r=%d %s", r, ctx.errmsg);
	check((mode_of("hdst/ww") & 07777) == 0777 && strstr(warned, "'/ww'") &&
	      strstr(warned, "setuid"), "host: a world-writable setuid file loses the bit, warned",
	      "mode %o, warning [%s]", mode_of("hdst/ww") & 07777, warned);
	check((mode_of("hdst/ok") & 07777) == 04755, "host: a setuid file no one else may "
	      "write keeps it", "mode %o", mode_of("hdst/ok") & 07777);
	check((mode_of("hsrc/ww") & 07777) == 04777, "host: the source keeps its mode",
	      "mode %o", mode_of("hsrc/ww") & 07777);
}

int main(void)
{
	if (geteuid() != 0) {
		printf("skip - tree tests need root (mknod, chown)\n");
		return 0;
	}
	if (!mkdtemp(work)) {
		perror(work);
		return 2;
	}
	t_link();
	t_move();
	t_copy();
	t_host();
	fs_rm_rf(NULL, AT_FDCWD, work);
	return failures ? 1 : 0;
}
