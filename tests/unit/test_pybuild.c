/* image/pybuild.c's pure parts: the tree digest a local project is locked
 * by (pybuild_tree_digest) and the deterministic rewrite of a built wheel
 * (pybuild_wheel_rewrite).  Prints "ok - NAME" / "not ok - NAME". */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "cache/store.h"
#include "image/pybuild.h"
#include "solver/pypi_plan.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-pybuild-XXXXXX";

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
		perror(rel);
		exit(2);
	}
	close(fd);
	chmod(P(rel), mode);
}

static void digest(struct pkgimg_ctx *ctx, char hex[65])
{
	if (pybuild_tree_digest(ctx, P("proj"), hex) < 0) {
		printf("# %s\n", ctx->errmsg);
		strcpy(hex, "error");
	}
}

static void test_tree_digest(struct pkgimg_ctx *ctx)
{
	char d0[65], d[65];
	struct timeval tv[2] = { { 1000, 0 }, { 1000, 0 } };

	mkdir(P("proj"), 0755);
	mkdir(P("proj/pkg"), 0755);
	mkdir(P("proj/.git"), 0755);
	mkdir(P("proj/pkg/__pycache__"), 0755);
	put("proj/pyproject.toml", "[project]\nname = 'x'\n", 0644);
	put("proj/pkg/__init__.py", "X = 1\n", 0644);
	put("proj/.git/HEAD", "ref: refs/heads/main\n", 0644);
	symlink("pkg/__init__.py", P("proj/link"));
	digest(ctx, d0);
	check(hex_is64(d0), "tree digest: 64 hex digits", "%s", d0);
	put("proj/.git/HEAD", "ref: refs/heads/other\n", 0644);
	put("proj/pkg/__pycache__/x.pyc", "junk", 0644);
	mkdir(P("proj/.tox"), 0755);
	put("proj/.tox/log", "junk", 0644);
	mkdir(P("proj/.venv"), 0755);
	digest(ctx, d);
	check(!strcmp(d0, d), "tree digest: .git, __pycache__, .tox, .venv left out", "%s != %s", d0, d);
	utimes(P("proj/pkg/__init__.py"), tv);
	digest(ctx, d);
	check(!strcmp(d0, d), "tree digest: times do not count", "%s != %s", d0, d);
	put("proj/pkg/__init__.py", "X = 2\n", 0644);
	digest(ctx, d);
	check(strcmp(d0, d), "tree digest: a file's content counts", "%s", d);
	put("proj/pkg/__init__.py", "X = 1\n", 0755);
	digest(ctx, d);
	check(strcmp(d0, d), "tree digest: the executable bit counts", "%s", d);
	put("proj/pkg/__init__.py", "X = 1\n", 0644);
	digest(ctx, d);
	check(!strcmp(d0, d), "tree digest: back to the same bytes and mode, the same digest",
	      "%s != %s", d0, d);
	unlink(P("proj/link"));
	symlink("pyproject.toml", P("proj/link"));
	digest(ctx, d);
	check(strcmp(d0, d), "tree digest: a link's target counts", "%s", d);
	unlink(P("proj/link"));
	symlink("pkg/__init__.py", P("proj/link"));
	put("proj/pkg/new.py", "", 0644);
	digest(ctx, d);
	check(strcmp(d0, d), "tree digest: a new empty file counts", "%s", d);
	unlink(P("proj/pkg/new.py"));
	mkdir(P("proj/empty"), 0755);
	digest(ctx, d);
	check(strcmp(d0, d), "tree digest: a new directory counts", "%s", d);
	rmdir(P("proj/empty"));
	digest(ctx, d);
	check(!strcmp(d0, d), "tree digest: the same tree again", "%s != %s", d0, d);
	check(pybuild_tree_digest(ctx, P("missing"), d) < 0 && strstr(ctx->errmsg, "missing"),
	      "tree digest: a missing directory is an error naming it", "%s", ctx->errmsg);
}

/* A zip of n entries (name, content, mode, mtime) in that order, with a
 * directory entry first when dir is set. */
struct ent {
	const char *name, *data;
	mode_t mode;
	time_t mtime;
};

static void zip_make(const char *path, const struct ent *e, int n, bool dir)
{
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();

	archive_write_set_format_zip(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		fprintf(stderr, "%s: %s\n", path, archive_error_string(a));
		exit(2);
	}
	if (dir) {
		archive_entry_set_pathname(ae, "pkg/");
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, 0755);
		archive_write_header(a, ae);
		archive_entry_clear(ae);
	}
	for (int i = 0; i < n; i++) {
		archive_entry_set_pathname(ae, e[i].name);
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, e[i].mode);
		archive_entry_set_mtime(ae, e[i].mtime, 0);
		archive_entry_set_size(ae, (la_int64_t)strlen(e[i].data));
		archive_write_header(a, ae);
		archive_write_data(a, e[i].data, strlen(e[i].data));
		archive_entry_clear(ae);
	}
	archive_entry_free(ae);
	archive_write_close(a);
	archive_write_free(a);
}

#define MOD "X = 1\n"
#define META "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\n"
#define WHL "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
/* sha256 in RECORD's spelling */
#define H_MOD "sha256=Crrh4K5yghbuRJk8Wjp1X4scOH2Uf8TE9yyrDkqEIUs"
#define H_META "sha256=NKonpgZPlYtBt4GiF_KQ_Qq1-WUeK25Kzas0G3uTwwU"
#define H_WHL "sha256=JCVX9z8V-js2aV5qmQR2E3fiCs-Yu3vPO91cCBmO1JM"

static char *record(const char *mod_hash)
{
	return xasprintf("demo-1.0.dist-info/METADATA,%s,%zu\n"
			 "pkg/mod.py,%s,%zu\n"
			 "demo-1.0.dist-info/WHEEL,%s,%zu\n"
			 "demo-1.0.dist-info/RECORD,,\n",
			 H_META, strlen(META), mod_hash, strlen(MOD), H_WHL, strlen(WHL));
}

/* The RECORD hash of text, computed here (the macros above are checked
 * against it). */
static void rec_hash(const char *text, char *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char hex[65];
	unsigned char d[33] = { 0 };
	int k = 0;

	hash_sha256_hex(text, strlen(text), hex);
	for (int i = 0; i < 32; i++)
		d[i] = (unsigned char)(ascii_hexval(hex[2 * i]) << 4 | ascii_hexval(hex[2 * i + 1]));
	k = sprintf(out, "sha256=");
	for (int i = 0; i < 32; i += 3) {
		unsigned v = (unsigned)d[i] << 16 | (unsigned)d[i + 1] << 8 | d[i + 2];

		out[k++] = b64[v >> 18 & 63];
		out[k++] = b64[v >> 12 & 63];
		out[k++] = b64[v >> 6 & 63];
		if (i + 2 < 32)
			out[k++] = b64[v & 63];
	}
	out[k] = 0;
}

/* The names, in order, and times and modes of a zip. */
static char *zip_list(const char *path)
{
	struct archive *a = archive_read_new();
	struct archive_entry *e;
	struct sbuf s = SBUF_INIT;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK)
		return xstrdup("unreadable");
	while (archive_read_next_header(a, &e) == ARCHIVE_OK)
		sbuf_addf(&s, "%s %o %lld|", archive_entry_pathname(e), archive_entry_mode(e),
			  (long long)archive_entry_mtime(e));
	archive_read_free(a);
	return s.buf ? sbuf_detach(&s) : xstrdup("");
}

static int rewrite(struct pkgimg_ctx *ctx, const char *in, const char *out, char **meta)
{
	struct sbuf z = SBUF_INIT;
	int r = pybuild_wheel_rewrite(ctx, in, &z, meta);

	if (r == 0)
		r = fs_write_file(ctx, AT_FDCWD, out, z.buf, z.len, 0644);
	sbuf_free(&z);
	return r;
}

static void test_wheel_rewrite(struct pkgimg_ctx *ctx)
{
	char h[64], s1[65], s2[65], *rec = record(H_MOD), *meta = NULL, *list;
	struct ent a[] = {
		{ "demo-1.0.dist-info/RECORD", rec, 0600, 1700000000 },
		{ "demo-1.0.dist-info/METADATA", META, 0664, 1700000001 },
		{ "pkg/mod.py", MOD, 0775, 1700000002 },
		{ "demo-1.0.dist-info/WHEEL", WHL, 0600, 1700000003 },
	};
	struct ent b[] = { a[3], a[2], a[1], a[0] };
	int r;

	rec_hash(MOD, h);
	check(!strcmp(h, H_MOD), "wheel rewrite: the test's RECORD hashes are right", "%s", h);
	b[0].mtime = b[1].mtime = 1;
	b[1].mode = 0755;
	zip_make(P("a.whl"), a, 4, true);
	zip_make(P("b.whl"), b, 4, false);
	r = rewrite(ctx, P("a.whl"), P("a2.whl"), &meta);
	check(r == 0, "wheel rewrite: a wheel is rewritten", "%s", ctx->errmsg);
	check(meta && !strcmp(meta, META), "wheel rewrite: its METADATA is returned", "%s",
	      meta ? meta : "(null)");
	free(meta);
	r = rewrite(ctx, P("b.whl"), P("b2.whl"), NULL);
	check(r == 0, "wheel rewrite: the same wheel in another order, other times", "%s",
	      ctx->errmsg);
	hash_file_sha256(AT_FDCWD, P("a2.whl"), s1);
	hash_file_sha256(AT_FDCWD, P("b2.whl"), s2);
	check(!strcmp(s1, s2), "wheel rewrite: order, times and modes gone: the same bytes",
	      "%s != %s", s1, s2);
	list = zip_list(P("a2.whl"));
	check(!strcmp(list, "pkg/mod.py 100755 315532800|demo-1.0.dist-info/METADATA 100644 "
			    "315532800|demo-1.0.dist-info/WHEEL 100644 315532800|"
			    "demo-1.0.dist-info/RECORD 100644 315532800|"),
	      "wheel rewrite: sorted, .dist-info last, RECORD the very last, 1980, 0644/0755, "
	      "no directory entries", "%s", list);
	free(list);
	r = rewrite(ctx, P("a2.whl"), P("a3.whl"), NULL);
	hash_file_sha256(AT_FDCWD, P("a3.whl"), s2);
	check(r == 0 && !strcmp(s1, s2), "wheel rewrite: a rewritten wheel is a fixed point",
	      "%s != %s", s1, s2);

	/* RECORD that lies */
	free(rec);
	rec = record(H_WHL);
	a[0].data = rec;
	zip_make(P("bad.whl"), a, 4, false);
	r = rewrite(ctx, P("bad.whl"), P("bad2.whl"), NULL);
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx->errmsg, "pkg/mod.py"),
	      "wheel rewrite: a RECORD hash that is not the file's is refused, naming it",
	      "%d %s", r, ctx->errmsg);
	check(!fs_exists(P("bad2.whl")), "wheel rewrite: nothing written for a broken wheel", "%s", P("bad2.whl"));
	a[0].data = "demo-1.0.dist-info/RECORD,,\n";
	zip_make(P("bad.whl"), a, 4, false);
	r = rewrite(ctx, P("bad.whl"), P("bad2.whl"), NULL);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx->errmsg, "not in RECORD"),
	      "wheel rewrite: a file RECORD does not list is refused", "%d %s", r, ctx->errmsg);
	zip_make(P("bad.whl"), a + 1, 3, false);
	r = rewrite(ctx, P("bad.whl"), P("bad2.whl"), NULL);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx->errmsg, "RECORD"),
	      "wheel rewrite: a wheel without RECORD is refused", "%d %s", r, ctx->errmsg);
	a[2].name = "../evil.py";
	a[0].data = rec;
	zip_make(P("bad.whl"), a, 4, false);
	r = rewrite(ctx, P("bad.whl"), P("bad2.whl"), NULL);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx->errmsg, "evil"),
	      "wheel rewrite: a path with .. is refused", "%d %s", r, ctx->errmsg);
	free(rec);
}

/* What image_pybuild refuses before anything runs in the sandbox: a
 * directory that changed since its lock, a git revision that is not there,
 * an sdist that is not NAME-VERSION/. */
static void test_source_checks(struct pkgimg_ctx *ctx)
{
	struct store st;
	struct pypi_target t = { .python = "3.11.2", .interpreter = "/usr/bin/python3.11",
				 .machine = "x86_64", .glibc_major = 2, .glibc_minor = 36 };
	struct pybuild_target tgt = { .t = &t };
	struct pypi_src src = { .kind = PYPI_SRC_PATH };
	struct pypi_built out = { 0 };
	char d[65], *url, cmd[1024];
	int r;

	if (store_open(ctx, P("store"), &st) < 0) {
		check(false, "source checks: a store", "%s", ctx->errmsg);
		return;
	}
	digest(ctx, d);
	src.url = P("proj");
	src.sha256 = "0000000000000000000000000000000000000000000000000000000000000000";
	r = image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out);
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx->errmsg, "changed since it was locked") &&
	      strstr(ctx->errmsg, d), "source: a directory whose tree digest is not the lock's "
	      "is refused, naming both digests", "%d %s", r, ctx->errmsg);
	snprintf(cmd, sizeof cmd, "cd %s && rm -rf .git && git init -q -b main && git add . && git -c "
		 "user.name=t -c user.email=t@t commit -qm one", P("proj"));
	if (system(cmd) != 0) {
		check(false, "source: a git repository for the test", "%s", cmd);
	} else {
		src.kind = PYPI_SRC_GIT;
		src.sha256 = NULL;
		src.rev = "no-such-tag";
		r = image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out);
		check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "no-such-tag") &&
		      strstr(ctx->errmsg, "no such branch, tag or commit"),
		      "source: a git revision that is not in the repository is named", "%d %s",
		      r, ctx->errmsg);
	}
	mkdir(P("sd"), 0755);
	mkdir(P("sd/a-1.0"), 0755);
	mkdir(P("sd/b-1.0"), 0755);
	put("sd/a-1.0/setup.py", "", 0644);
	snprintf(cmd, sizeof cmd, "tar -C %s -czf %s a-1.0 b-1.0", P("sd"), P("two.tar.gz"));
	url = xasprintf("file://%s", P("two.tar.gz"));
	src = (struct pypi_src){ .kind = PYPI_SRC_URL, .url = url };
	r = system(cmd) == 0 ? image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out) : -1;
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx->errmsg, "one top-level directory"),
	      "source: an sdist with two top-level directories is refused", "%d %s", r,
	      ctx->errmsg);
	free(url);

	/* PEP 643: an sdist's PKG-INFO 2.2 with nothing needed Dynamic is the
	 * metadata, no build (the image here has no python: a build fails) */
	mkdir(P("sd/m22-1.0"), 0755);
	put("sd/m22-1.0/setup.py", "", 0644);
	put("sd/m22-1.0/PKG-INFO", "Metadata-Version: 2.2\nName: m22\nVersion: 1.0\n"
	    "Requires-Dist: idna\nDynamic: Summary\n", 0644);
	snprintf(cmd, sizeof cmd, "tar -C %s -czf %s m22-1.0", P("sd"), P("m22-1.0.tar.gz"));
	url = xasprintf("file://%s", P("m22-1.0.tar.gz"));
	src = (struct pypi_src){ .kind = PYPI_SRC_URL, .url = url, .metadata_only = true };
	r = system(cmd) == 0 ? image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out) : -1;
	check(r == 0 && out.name && !strcmp(out.name, "m22") && !out.wheel_filename &&
	      out.metadata && strstr(out.metadata, "Requires-Dist: idna") && out.src_sha256,
	      "PEP 643: PKG-INFO 2.2 without Dynamic Requires-Dist is the metadata, no build",
	      "%d %s", r, r ? ctx->errmsg : "");
	if (r == 0)
		pypi_built_free(&out);
	put("sd/m22-1.0/PKG-INFO", "Metadata-Version: 2.2\nName: m22\nVersion: 1.0\n"
	    "Dynamic: Requires-Dist\n", 0644);
	r = system(cmd) == 0 ? image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out) : -1;
	check(r < 0 && strstr(ctx->errmsg, "[build]"),
	      "PEP 643: Dynamic Requires-Dist means a build (here: one that cannot run)", "%d %s",
	      r, ctx->errmsg);
	put("sd/m22-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: m22\nVersion: 1.0\n", 0644);
	r = system(cmd) == 0 ? image_pybuild(ctx, &st, "", &tgt, NULL, &src, &out) : -1;
	check(r < 0 && strstr(ctx->errmsg, "[build]"),
	      "PEP 643: Metadata-Version 2.1 means a build (here: one that cannot run)", "%d %s",
	      r, ctx->errmsg);
	free(url);
	snprintf(cmd, sizeof cmd, "test -z \"$(ls -A %s)\"", P("store/tmp"));
	check(system(cmd) == 0, "source: nothing left in the store's tmp/ after the failures", "%s",
	      P("store/tmp"));
	store_close(&st);
}

int main(void)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 2;
	}
	test_tree_digest(&ctx);
	test_wheel_rewrite(&ctx);
	test_source_checks(&ctx);
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
