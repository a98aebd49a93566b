/* installers/extract.c: the one walk that writes every format's archives.
 * Hostile archives are built here with libarchive's writer ('..', absolute
 * names, a symlink then a file through it, hard links out of the root, a
 * directory replaced by a symlink, an entry past the size bound, a device
 * node, a fifo) and written
 *   - by extract_all() with each format's flags (DEB_EXTRACT_FLAGS,
 *     CONDA_EXTRACT_FLAGS), and by extract_data() as wheels stage a file;
 *   - by the formats' own entry points (debinst_unpack_blob on a .deb,
 *     conda_pkg_extract on a .tar.bz2 built from the same entries).
 * Each case checks the code and that nothing appeared outside the root (the
 * work directory outside the roots is listed before and after).
 *
 * The second part uses only the formats' public functions, so it also builds
 * against the tree before installers/extract existed:
 *   cc -DTEST_EXTRACT_FORMATS_ONLY ... tests/unit/test_extract.c
 * which is how each case was seen refused by the two walks that were there. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "installers/conda_pkg.h"
#include "installers/deb.h"
#ifndef TEST_EXTRACT_FORMATS_ONLY
#include "installers/extract.h"
#endif
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-extract-XXXXXX";
static char warned[1024];

/* An entry: 'f' file (data, or size zeros), 'd' dir, 'l' symlink, 'h' hard
 * link (target), 'c' the character device 1:3, 'p' a fifo. */
struct ent {
	const char *name;
	char type;
	const char *data;	/* a file's bytes, a link's target; "@" = work dir */
	size_t size;		/* a file of this many zeros when not 0 */
};

enum { OK_OR_EPERM = 1 };	/* expected: made inside the root, or no privilege */

struct hcase {
	const char *name;
	struct ent ents[4];
	size_t n;
	int deb, conda;		/* the expected code with each format's flags */
	const char *absent;	/* relative to work: must not exist afterwards */
};

#define BIG (64u << 10)

static const struct hcase cases[] = {
	{ "dotdot", { { "../../escaped-dotdot", 'f', "x", 0 } }, 1,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "escaped-dotdot" },
	{ "dotdot-inner", { { "a/../../../escaped-inner", 'f', "x", 0 } }, 1,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "escaped-inner" },
	{ "absolute", { { "@/outside/abs", 'f', "x", 0 } }, 1,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "outside/abs" },
	{ "symlink-then-file", { { "l", 'l', "@/outside", 0 }, { "l/through", 'f', "x", 0 } }, 2,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "outside/through" },
	{ "relative-symlink-then-file",
	  { { "up", 'l', "../..", 0 }, { "up/escaped-up", 'f', "x", 0 } }, 2,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "escaped-up" },
	{ "hardlink-dotdot", { { "h", 'h', "../../outside/secret", 0 } }, 1,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, NULL },
	{ "hardlink-absolute", { { "h", 'h', "@/outside/secret", 0 } }, 1,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, NULL },
	{ "hardlink-through-symlink", { { "l", 'l', "@/outside", 0 }, { "h", 'h', "l/secret", 0 } }, 2,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, NULL },
	/* dpkg replaces the empty directory by the symlink, then refuses the
	 * file through it; conda refuses the symlink where a directory is */
	{ "dir-replaced-by-symlink",
	  { { "d", 'd', NULL, 0 }, { "d", 'l', "@/outside", 0 }, { "d/x", 'f', "x", 0 } }, 3,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_ARCHIVE, "outside/x" },
	{ "dir-through-symlink",
	  { { "s", 'l', "@/outside", 0 }, { "s", 'd', NULL, 0 }, { "s/sub", 'd', NULL, 0 } }, 3,
	  -PKGIMG_E_UNSAFE, -PKGIMG_E_UNSAFE, "outside/sub" },
	{ "oversize", { { "big", 'f', NULL, BIG } }, 1,
	  -PKGIMG_E_ARCHIVE, -PKGIMG_E_ARCHIVE, NULL },
	{ "device", { { "null", 'c', NULL, 0 } }, 1, OK_OR_EPERM, -PKGIMG_E_UNSAFE, NULL },
	{ "fifo", { { "fifo", 'p', NULL, 0 } }, 1, 0, -PKGIMG_E_UNSAFE, NULL },
};
#define NCASES (sizeof cases / sizeof cases[0])

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	snprintf(warned, sizeof warned, "%s", msg);
}

static void ctx_new(struct pkgimg_ctx *ctx)
{
	pkgimg_ctx_init(ctx);
	ctx->warn = on_warn;
}

static char *P(const char *fmt, const char *a)
{
	char *rel = xasprintf(fmt, a), *p = xasprintf("%s/%s", work, rel);

	free(rel);
	return p;
}

/* "@" at the start of a name or target is the work directory. */
static char *expand(const char *s)
{
	return s[0] == '@' ? xasprintf("%s%s", work, s + 1) : xstrdup(s);
}

/* Everything in the work directory but the roots, and the secret's bytes. */
static char *outside_snapshot(void)
{
	char *cmd = xasprintf("cd '%s' && find . -path ./roots -prune -o -print | sort && "
			      "cat outside/secret", work);
	FILE *p = popen(cmd, "r");
	struct sbuf s = SBUF_INIT;
	char buf[4096];
	size_t n;

	sbuf_adds(&s, "");
	while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
		sbuf_add(&s, buf, n);
	if (p)
		pclose(p);
	free(cmd);
	return sbuf_detach(&s);
}

static void tar_add(struct archive *a, const struct ent *e)
{
	struct archive_entry *ae = archive_entry_new();
	char *name = expand(e->name), *data = e->data ? expand(e->data) : NULL;
	char zeros[4096] = { 0 };
	size_t size = e->size ? e->size : (data ? strlen(data) : 0);

	archive_entry_set_pathname(ae, name);
	archive_entry_set_mtime(ae, 1600000000, 0);
	archive_entry_set_uid(ae, 0);
	archive_entry_set_gid(ae, 0);
	archive_entry_set_perm(ae, 0644);
	switch (e->type) {
	case 'f':
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, (la_int64_t)size);
		break;
	case 'd':
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		break;
	case 'l':
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_symlink(ae, data);
		break;
	case 'h':
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_hardlink(ae, data);
		archive_entry_set_size(ae, 0);
		break;
	case 'c':
		archive_entry_set_filetype(ae, AE_IFCHR);
		archive_entry_set_rdevmajor(ae, 1);
		archive_entry_set_rdevminor(ae, 3);
		break;
	default:
		archive_entry_set_filetype(ae, AE_IFIFO);
	}
	archive_write_header(a, ae);
	if (e->type == 'f' && e->size)
		for (size_t left = size; left; left -= left < sizeof zeros ? left : sizeof zeros)
			archive_write_data(a, zeros, left < sizeof zeros ? left : sizeof zeros);
	else if (e->type == 'f')
		archive_write_data(a, data, size);
	archive_entry_free(ae);
	free(name);
	free(data);
}

/* A tar of ents into out (filter: "bzip2", "gzip" or NULL). */
static void tar_build(const struct ent *ents, size_t n, const char *filter, struct sbuf *out)
{
	struct archive *a = archive_write_new();
	size_t cap = 8u << 20, used = 0;
	char *buf = xmalloc(cap);

	if (filter && !strcmp(filter, "bzip2"))
		archive_write_add_filter_bzip2(a);
	else if (filter)
		archive_write_add_filter_gzip(a);
	archive_write_set_format_pax_restricted(a);
	archive_write_open_memory(a, buf, cap, &used);
	for (size_t i = 0; i < n; i++)
		tar_add(a, &ents[i]);
	archive_write_close(a);
	archive_write_free(a);
	sbuf_reset(out);
	sbuf_add(out, buf, used);
	free(buf);
}

/* ---- the formats' entry points ---- */

static void ar_add(struct archive *a, const char *name, const void *data, size_t len)
{
	struct archive_entry *ae = archive_entry_new();

	archive_entry_set_pathname(ae, name);
	archive_entry_set_filetype(ae, AE_IFREG);
	archive_entry_set_perm(ae, 0644);
	archive_entry_set_mtime(ae, 1600000000, 0);
	archive_entry_set_size(ae, (la_int64_t)len);
	archive_write_header(a, ae);
	archive_write_data(a, data, len);
	archive_entry_free(ae);
}

/* A .deb of ents (Installed-Size: 1, so that the bound is the slack). */
static void deb_build(const char *path, const struct ent *ents, size_t n)
{
	static const char control[] = "Package: evil\nVersion: 1\nArchitecture: amd64\n"
		"Installed-Size: 1\nDescription: x\n";
	const struct ent ctl = { "./control", 'f', control, 0 };
	struct sbuf c = SBUF_INIT, d = SBUF_INIT;
	struct archive *a = archive_write_new();

	tar_build(&ctl, 1, "gzip", &c);
	tar_build(ents, n, NULL, &d);
	archive_write_set_format_ar_svr4(a);
	archive_write_open_filename(a, path);
	ar_add(a, "debian-binary", "2.0\n", 4);
	ar_add(a, "control.tar.gz", c.buf, c.len);
	ar_add(a, "data.tar", d.buf, d.len);
	archive_write_close(a);
	archive_write_free(a);
	sbuf_free(&c);
	sbuf_free(&d);
}

static void test_formats(const struct hcase *t)
{
	struct pkgimg_ctx ctx;
	struct debinst_pkg p;
	struct sbuf tar = SBUF_INIT;
	char *before = outside_snapshot(), *after, *deb = P("roots/%s.deb", t->name);
	char *bz2 = P("roots/%s-1-0.tar.bz2", t->name), *root = P("roots/%s-debpkg", t->name);
	char *dst = P("roots/%s-condapkg", t->name), *absent = t->absent ? P("%s", t->absent) : NULL;
	char name[256];
	int fd, r;

	/* the .deb */
	deb_build(deb, t->ents, t->n);
	fs_mkdirs(NULL, AT_FDCWD, root, 0755);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	ctx_new(&ctx);
	ctx.unpack_slack = 1024;
	memset(&p, 0, sizeof p);
	r = debinst_unpack_blob(&ctx, fd, deb, NULL, 0, &p);
	close(fd);
	if (r == 0)
		debinst_pkg_free(&p);
	after = outside_snapshot();
	snprintf(name, sizeof name, "debinst_unpack: %s: %s, nothing outside the root", t->name,
		 t->deb > 0 ? "made in the root or EPERM" : t->deb ? "refused" : "made");
	check((t->deb > 0 ? (r == 0 || r == -EPERM) : t->deb ? r < 0 : r == 0) &&
	      !strcmp(before, after) && !(absent && fs_exists(absent)),
	      name, "r=%d %s", r, ctx.errmsg);
	free(after);

	/* the .tar.bz2 */
	tar_build(t->ents, t->n, "bzip2", &tar);
	fs_write_file(NULL, AT_FDCWD, bz2, tar.buf, tar.len, 0644);
	ctx_new(&ctx);
	ctx.unpack_slack = 1024;
	r = conda_pkg_extract(&ctx, bz2, NULL, dst);
	after = outside_snapshot();
	snprintf(name, sizeof name, "conda_pkg_extract: %s: refused, nothing outside, no tree left",
		 t->name);
	check(r < 0 && !strcmp(before, after) && !(absent && fs_exists(absent)) && !fs_exists(dst),
	      name, "r=%d %s", r, ctx.errmsg);
	free(after);
	free(before);
	free(deb);
	free(bz2);
	free(root);
	free(dst);
	free(absent);
	sbuf_free(&tar);
}

#ifndef TEST_EXTRACT_FORMATS_ONLY
/* ---- the walk itself, with each format's flags ---- */

static void bad_place(void *arg, const char *path, struct archive_entry *e, bool link_target,
		      struct sbuf *disk)
{
	(void)arg;
	(void)e;
	(void)link_target;
	sbuf_addf(disk, "../%s", path);
}

/* extract_all of the tar into a fresh root; returns its code. */
static int walk(const char *rootname, const struct extract_opts *o, const struct sbuf *tar,
		struct pkgimg_ctx *ctx)
{
	char *root = P("roots/%s", rootname);
	struct extract *x = xcalloc(1, sizeof *x);
	struct archive *a = archive_read_new();
	int fd, r;

	fs_mkdirs(NULL, AT_FDCWD, root, 0755);
	fd = open(root, O_RDONLY | O_DIRECTORY);
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	archive_read_open_memory(a, tar->buf, tar->len);
	extract_init(x, ctx, "t.tar", fd, o);
	x->limit = 1024;
	r = extract_all(x, a, "the tar");
	if (r == 0)
		r = extract_finish(x);
	extract_free(x);
	archive_read_free(a);
	close(fd);
	free(x);
	free(root);
	return r;
}

static void test_walk(const struct hcase *t, const char *fmt, unsigned flags, int want)
{
	const struct extract_opts o = { .flags = flags, .phase = "unpack", .noun = "package",
					.fix = "" };
	struct pkgimg_ctx ctx;
	struct sbuf tar = SBUF_INIT;
	char *before = outside_snapshot(), *after, *rootname = xasprintf("%s-%s", t->name, fmt);
	char *absent = t->absent ? P("%s", t->absent) : NULL, name[256];
	int r;

	tar_build(t->ents, t->n, NULL, &tar);
	ctx_new(&ctx);
	r = walk(rootname, &o, &tar, &ctx);
	after = outside_snapshot();
	snprintf(name, sizeof name, "extract_all, %s flags: %s: %s, nothing outside the root", fmt,
		 t->name, want > 0 ? "made in the root or EPERM" : want ? pkgimg_strerror(want) :
		 "made in the root");
	check((want > 0 ? (r == 0 || r == -EPERM) : r == want) && !strcmp(before, after) &&
	      !(absent && fs_exists(absent)), name, "r=%d (%s) %s", r, pkgimg_strerror(r),
	      ctx.errmsg);
	if (!strcmp(t->name, "oversize"))
		check(strstr(ctx.errmsg, "more than 1024 bytes") && strstr(ctx.errmsg, "PKGIMG_UNPACK_SLACK"),
		      "extract_all: the size refusal names the bound and PKGIMG_UNPACK_SLACK", "%s",
		      ctx.errmsg);
	free(before);
	free(after);
	free(rootname);
	free(absent);
	sbuf_free(&tar);
}

/* A format's place hook cannot lead out of the root either. */
static void test_place_checked(void)
{
	const struct ent e = { "x", 'f', "x", 0 };
	const struct extract_opts o = { .flags = DEB_EXTRACT_FLAGS, .phase = "unpack",
					.noun = "package", .fix = "", .place = bad_place };
	struct pkgimg_ctx ctx;
	struct sbuf tar = SBUF_INIT;
	char *esc = P("roots/%s", "x");
	int r;

	tar_build(&e, 1, NULL, &tar);
	ctx_new(&ctx);
	r = walk("place", &o, &tar, &ctx);
	check(r == -PKGIMG_E_UNSAFE && !fs_exists(esc),
	      "extract_all: a place hook giving '../x' is refused", "r=%d %s", r, ctx.errmsg);
	free(esc);
	sbuf_free(&tar);
}

/* Wheels stage each entry with extract_data: a new file, never through a
 * symlink standing at its name, within the bound. */
static void test_wheel_data(void)
{
	const struct extract_opts o = { .phase = "install", .noun = "wheel",
					.fix = "; download the wheel again" };
	const struct ent ents[] = { { "small", 'f', "hello", 0 }, { "big", 'f', NULL, BIG } };
	char *stage = P("roots/%s", "stage"), *esc = P("outside/%s", "staged");
	struct pkgimg_ctx ctx;
	struct extract *x = xcalloc(1, sizeof *x);
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct sbuf tar = SBUF_INIT;
	int64_t size = -1;
	int fd, r;

	fs_mkdirs(NULL, AT_FDCWD, stage, 0755);
	fd = open(stage, O_RDONLY | O_DIRECTORY);
	symlinkat(esc, fd, "f0");
	tar_build(ents, 2, NULL, &tar);
	archive_read_support_format_tar(a);
	archive_read_open_memory(a, tar.buf, tar.len);
	ctx_new(&ctx);
	extract_init(x, &ctx, "t.whl", fd, &o);
	x->limit = 1024;
	archive_read_next_header(a, &e);
	r = extract_data(x, a, fd, "f0", "small", NULL, &size);
	check(r == -EEXIST && !fs_exists(esc),
	      "extract_data: a symlink at the staged name is not written through", "r=%d %s", r,
	      ctx.errmsg);
	r = extract_data(x, a, fd, "f1", "small", NULL, &size);
	check(r == 0 && size == 5, "extract_data: a file is staged with its size", "r=%d size=%lld",
	      r, (long long)size);
	archive_read_next_header(a, &e);
	r = extract_data(x, a, fd, "f2", "big", NULL, &size);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "t.whl: [install] the wheel unpacks to more than 1024 bytes"),
	      "extract_data: a wheel past the bound is refused", "r=%d %s", r, ctx.errmsg);
	extract_free(x);
	archive_read_free(a);
	close(fd);
	free(x);
	free(stage);
	free(esc);
	sbuf_free(&tar);
}
#endif

int main(void)
{
	char *secret;

	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 1;
	}
	secret = P("%s", "outside");
	fs_mkdirs(NULL, AT_FDCWD, secret, 0755);
	free(secret);
	secret = P("%s", "outside/secret");
	fs_write_file(NULL, AT_FDCWD, secret, "secret\n", 7, 0644);
	free(secret);
	secret = P("%s", "roots");
	fs_mkdirs(NULL, AT_FDCWD, secret, 0755);
	free(secret);
	for (size_t i = 0; i < NCASES; i++) {
#ifndef TEST_EXTRACT_FORMATS_ONLY
		test_walk(&cases[i], "deb", DEB_EXTRACT_FLAGS, cases[i].deb);
		test_walk(&cases[i], "conda", CONDA_EXTRACT_FLAGS, cases[i].conda);
#endif
		test_formats(&cases[i]);
	}
#ifndef TEST_EXTRACT_FORMATS_ONLY
	test_place_checked();
	test_wheel_data();
#endif
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
