/* Unit tests of what issue 15 asked of blobs and archives: a blob is
 * verified while it is read to unpack (.deb, wheel, .conda, .tar.bz2; a
 * swapped one fails before anything is kept), store_blob_check removes a
 * corrupt blob, unpacked sizes are bounded (Installed-Size, a ratio),
 * downloads with no declared size are bounded (max_download), a RECORD
 * mismatch of a verified wheel says the wheel is inconsistent, and messages
 * escape control characters (core/str, core/error).  Archives are built
 * here with python3, dpkg-deb and zstd: small ones, a few MiB of zeros at
 * most. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "installers/conda_pkg.h"
#include "installers/deb.h"
#include "installers/wheel.h"
#include "tests/unit/check.h"

static char work[] = "/var/tmp/pkgimg-test-blob-XXXXXX";
static char warned[2048];
static int nwarned;

static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *P(const char *fmt, ...)
{
	static char buf[8][1024];
	static int i;
	char rel[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof buf[i], "%s/%s", work, rel);
	return buf[i];
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st == 0 ? 0 : -1;
}

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	snprintf(warned, sizeof warned, "%s", msg);
	nwarned++;
}

static void ctx_new(struct pkgimg_ctx *ctx)
{
	pkgimg_ctx_init(ctx);
	ctx->warn = on_warn;
	warned[0] = 0;
	nwarned = 0;
}

static void sha_of(const char *path, char hex[65])
{
	if (hash_file_sha256(AT_FDCWD, path, hex) < 0)
		hex[0] = 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static bool dir_empty(const char *path)
{
	char *cmd = xasprintf("test -z \"$(ls -A '%s' 2>/dev/null)\"", path);
	bool e = system(cmd) == 0;

	free(cmd);
	return e;
}

static int open_dir(const char *path)
{
	mkdir(path, 0755);
	return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* ---- core: escaping and sizes ---- */

static void test_core(void)
{
	struct pkgimg_ctx ctx;
	char out[64];
	uint64_t v = 0;
	char *e;

	str_escape_ctl(out, sizeof out, "a\x1b[31mb\nc\td\x7f", false);
	check(!strcmp(out, "a\\x1b[31mb\\nc\\td\\x7f"), "str_escape_ctl: C escapes for ESC, \\n, \\t, DEL",
	      "got '%s'", out);
	str_escape_ctl(out, sizeof out, "line1\nline\x1b" "2", true);
	check(!strcmp(out, "line1\nline\\x1b2"), "str_escape_ctl keep_nl: newlines stay, ESC escaped",
	      "got '%s'", out);
	str_escape_ctl(out, 6, "abcd\x01", false);
	check(!strcmp(out, "abcd"), "str_escape_ctl: cut before an escape that does not fit",
	      "got '%s'", out);
	e = str_escape("x\\y\x1b");
	check(!strcmp(e, "x\\y\\x1b"), "str_escape: backslashes kept, so escaping twice changes nothing",
	      "got '%s'", e);
	free(e);
	ctx_new(&ctx);
	pkgimg_err(&ctx, -PKGIMG_E_UNSAFE, "%s: [unpack] refusing '%s'", "t.deb", "evil\x1b]0;pwned\x07");
	check(!strchr(ctx.errmsg, 0x1b) && strstr(ctx.errmsg, "evil\\x1b]0;pwned\\x07"),
	      "pkgimg_err: a name's control characters are escaped in the message", "got '%s'",
	      ctx.errmsg);
	pkgimg_err_wrap(&ctx, -PKGIMG_E_UNSAFE, "pkg\x1b");
	check(!strchr(ctx.errmsg, 0x1b) && !strncmp(ctx.errmsg, "pkg\\x1b: t.deb", 14),
	      "pkgimg_err_wrap: the prefix escaped, the message not escaped twice", "got '%s'",
	      ctx.errmsg);

	check(str_parse_size("16G", &v) == 0 && v == 16ull << 30, "str_parse_size 16G", "%llu",
	      (unsigned long long)v);
	check(str_parse_size("1K", &v) == 0 && v == 1024, "str_parse_size 1K", "%llu",
	      (unsigned long long)v);
	check(str_parse_size("64MiB", &v) == 0 && v == 64ull << 20, "str_parse_size 64MiB", "%llu",
	      (unsigned long long)v);
	check(str_parse_size("1234", &v) == 0 && v == 1234, "str_parse_size 1234 (bytes)", "%llu",
	      (unsigned long long)v);
	check(str_parse_size("lots", &v) == -EINVAL && str_parse_size("1Q", &v) == -EINVAL &&
	      str_parse_size("", &v) == -EINVAL && str_parse_size("-1", &v) == -EINVAL &&
	      str_parse_size("99999999999999999T", &v) == -EINVAL &&
	      str_parse_size("99999999999999999999999", &v) == -EINVAL,
	      "str_parse_size refuses words, unknown units, negatives and overflow", "-");
}

/* ---- wheels ---- */

/* A wheel named NAME-1.0-py3-none-any.whl in work/: NFILES modules of
 * random bytes (so the zip spans many reads), ZEROS bytes of zeros in
 * blob.bin, RECORD right unless BADREC. */
static int make_wheel(const char *out, const char *name, int nfiles, long zeros, int badrec)
{
	return sh("python3 - '%s' '%s' %d %ld %d <<'EOF'\n"
		  "import base64, hashlib, os, random, sys, zipfile\n"
		  "out, name, n, zeros, bad = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])\n"
		  "rnd = random.Random(name)\n"
		  "files = {}\n"
		  "for i in range(n):\n"
		  "    files['%%s/m%%d.py' %% (name, i)] = ('# ' + ''.join(rnd.choice('abcdefgh') for _ in range(9000)) + '\\n').encode()\n"
		  "files['%%s/__init__.py' %% name] = b'x = 1\\n'\n"
		  "if zeros:\n"
		  "    files['%%s/blob.bin' %% name] = bytes(zeros)\n"
		  "di = '%%s-1.0.dist-info' %% name\n"
		  "files[di + '/METADATA'] = ('Metadata-Version: 2.1\\nName: %%s\\nVersion: 1.0\\n' %% name).encode()\n"
		  "files[di + '/WHEEL'] = b'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'\n"
		  "def h(d):\n"
		  "    return 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()\n"
		  "rec = ''.join('%%s,%%s,%%d\\n' %% (p, h(d), len(d)) for p, d in files.items())\n"
		  "if bad:\n"
		  "    rec = rec.replace(h(files['%%s/__init__.py' %% name]), h(b'other'))\n"
		  "rec += di + '/RECORD,,\\n'\n"
		  "with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as z:\n"
		  "    for p, d in files.items():\n"
		  "        z.writestr(p, d)\n"
		  "    z.writestr(di + '/RECORD', rec)\n"
		  "EOF", out, name, nfiles, zeros, badrec);
}

static const struct wheel_scheme scheme = {
	.purelib = "site", .platlib = "site", .scripts = "bin", .headers = "include",
	.data = "data", .python = "/usr/bin/python3.11",
};

static int wheel_at(struct pkgimg_ctx *ctx, const char *whl, const char *fn, const char *root,
		    const char *sha)
{
	struct wheel_install_opts o = { .filename = fn, .sha256 = sha, .installer = "pkgimg", .mtime = 0 };
	struct wheel_installed w = { 0 };
	int fd = open_dir(root), r;

	r = wheel_install(ctx, whl, fd, &scheme, &o, &w);
	close(fd);
	wheel_installed_free(&w);
	return r;
}

static void test_wheel(void)
{
	struct pkgimg_ctx ctx;
	char good[65], other[65];
	int r;

	if (make_wheel(P("alpha.whl"), "alpha", 40, 0, 0) < 0 ||
	    make_wheel(P("beta.whl"), "beta", 40, 0, 0) < 0 ||
	    make_wheel(P("bomb.whl"), "bomb", 1, 4 << 20, 0) < 0 ||
	    make_wheel(P("badrec.whl"), "badrec", 1, 0, 1) < 0) {
		check(false, "wheels built with python3 zipfile", "python3 failed");
		return;
	}
	sha_of(P("alpha.whl"), good);
	sha_of(P("beta.whl"), other);

	ctx_new(&ctx);
	r = wheel_at(&ctx, P("alpha.whl"), "alpha-1.0-py3-none-any.whl", P("w1"), good);
	check(r == 0 && exists(P("w1/site/alpha/m39.py")),
	      "wheel: a blob with its sha256 installs (the zip's seeks hashed right)", "r=%d %s", r,
	      ctx.errmsg);

	/* beta's bytes where the lock names alpha's digest: a swapped blob */
	ctx_new(&ctx);
	r = wheel_at(&ctx, P("beta.whl"), "beta-1.0-py3-none-any.whl", P("w2"), good);
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx.errmsg, "[verify]") &&
	      strstr(ctx.errmsg, good) && strstr(ctx.errmsg, other) && dir_empty(P("w2")),
	      "wheel: a swapped blob fails its sha256 before anything is installed",
	      "r=%d %s", r, ctx.errmsg);

	ctx_new(&ctx);
	ctx.unpack_slack = 1 << 20;
	r = wheel_at(&ctx, P("bomb.whl"), "bomb-1.0-py3-none-any.whl", P("w3"), NULL);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "bomb-1.0-py3-none-any.whl: [install]") &&
	      strstr(ctx.errmsg, "more than") && strstr(ctx.errmsg, "PKGIMG_UNPACK_SLACK") &&
	      dir_empty(P("w3")),
	      "wheel: 4 MiB of zeros in a small wheel pass 200 x its size + slack: refused, nothing left",
	      "r=%d %s", r, ctx.errmsg);
	ctx_new(&ctx);
	r = wheel_at(&ctx, P("bomb.whl"), "bomb-1.0-py3-none-any.whl", P("w4"), NULL);
	check(r == 0, "wheel: the same wheel installs within the default slack (64 MiB)", "r=%d %s",
	      r, ctx.errmsg);

	{
		char bad[65];

		sha_of(P("badrec.whl"), bad);
		ctx_new(&ctx);
		r = wheel_at(&ctx, P("badrec.whl"), "badrec-1.0-py3-none-any.whl", P("w5"), bad);
		check(r < 0 && strstr(ctx.errmsg, "badrec/__init__.py") &&
		      strstr(ctx.errmsg, "the wheel itself is inconsistent") &&
		      !strstr(ctx.errmsg, "download"),
		      "wheel: a RECORD mismatch of a verified blob names the file and says the wheel "
		      "itself is inconsistent, not 'download it again'", "r=%d %s", r, ctx.errmsg);
	}
}

/* ---- conda ---- */

static int make_conda(const char *dir, const char *name, long zeros)
{
	return sh("cd '%s' && python3 - '%s' %ld <<'EOF'\n"
		  "import hashlib, io, json, os, subprocess, sys, tarfile, zipfile\n"
		  "name, zeros = sys.argv[1], int(sys.argv[2])\n"
		  "files = [('share/%%s/f%%d.txt' %% (name, i), (name * 4000 + str(i)).encode()) for i in range(30)]\n"
		  "if zeros:\n"
		  "    files.append(('share/zeros', bytes(zeros)))\n"
		  "index = {'name': name, 'version': '1.0', 'build': '0', 'build_number': 0, 'depends': [], 'subdir': 'linux-64'}\n"
		  "paths = {'paths': [{'_path': p, 'path_type': 'hardlink', 'sha256': hashlib.sha256(d).hexdigest(), 'size_in_bytes': len(d)} for p, d in files], 'paths_version': 1}\n"
		  "info = [('info/index.json', json.dumps(index).encode()), ('info/paths.json', json.dumps(paths).encode())]\n"
		  "def tar(entries):\n"
		  "    b = io.BytesIO()\n"
		  "    with tarfile.open(fileobj=b, mode='w') as t:\n"
		  "        for p, d in entries:\n"
		  "            ti = tarfile.TarInfo(p); ti.size = len(d); ti.mtime = 1700000000\n"
		  "            t.addfile(ti, io.BytesIO(d))\n"
		  "    return b.getvalue()\n"
		  "stem = name + '-1.0-0'\n"
		  "with tarfile.open(stem + '.tar.bz2', 'w:bz2') as t:\n"
		  "    for p, d in info + files:\n"
		  "        ti = tarfile.TarInfo(p); ti.size = len(d); ti.mtime = 1700000000\n"
		  "        t.addfile(ti, io.BytesIO(d))\n"
		  "zst = lambda d: subprocess.run(['zstd', '-q', '-c'], input=d, stdout=subprocess.PIPE, check=True).stdout\n"
		  "with zipfile.ZipFile(stem + '.conda', 'w', zipfile.ZIP_STORED) as z:\n"
		  "    z.writestr('metadata.json', json.dumps({'conda_pkg_format_version': 2}))\n"
		  "    z.writestr('pkg-' + stem + '.tar.zst', zst(tar(files)))\n"
		  "    z.writestr('info-' + stem + '.tar.zst', zst(tar(info)))\n"
		  "EOF", dir, name, zeros);
}

static void test_conda(void)
{
	static const char *const exts[] = { ".conda", ".tar.bz2" };
	struct pkgimg_ctx ctx;
	int r;

	mkdir(P("c"), 0755);
	if (make_conda(P("c"), "alpha", 0) < 0 || make_conda(P("c"), "beta", 0) < 0 ||
	    make_conda(P("c"), "bomb", 4 << 20) < 0) {
		check(false, "conda packages built with python3 and zstd", "failed");
		return;
	}
	for (int k = 0; k < 2; k++) {
		char good[65], name[64], *t;

		snprintf(name, sizeof name, "alpha-1.0-0%s", exts[k]);
		sha_of(P("c/%s", name), good);
		ctx_new(&ctx);
		r = conda_pkg_extract_blob(&ctx, P("c/%s", name), good, name, P("c/x-good%d", k));
		t = xasprintf("conda %s: a blob with its sha256 extracts", exts[k]);
		check(r == 0 && exists(P("c/x-good%d/share/alpha/f29.txt", k)), t, "r=%d %s", r,
		      ctx.errmsg);
		free(t);

		ctx_new(&ctx);
		mkdir(P("c/sub%d", k), 0755);
		r = conda_pkg_extract_blob(&ctx, P("c/beta-1.0-0%s", exts[k]), good, name,
					   P("c/sub%d/x-swapped", k));
		t = xasprintf("conda %s: a swapped blob fails its sha256, nothing kept", exts[k]);
		check(r == -PKGIMG_E_CHECKSUM && strstr(ctx.errmsg, good) &&
		      !exists(P("c/sub%d/x-swapped", k)) && dir_empty(P("c/sub%d", k)), t,
		      "r=%d %s", r, ctx.errmsg);
		free(t);

		snprintf(name, sizeof name, "bomb-1.0-0%s", exts[k]);
		ctx_new(&ctx);
		ctx.unpack_slack = 1 << 20;
		mkdir(P("c/bomb%d", k), 0755);
		r = conda_pkg_extract_blob(&ctx, P("c/%s", name), NULL, name, P("c/bomb%d/x", k));
		t = xasprintf("conda %s: 4 MiB of zeros past 200 x its size + slack: refused, "
			      "nothing kept", exts[k]);
		check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "PKGIMG_UNPACK_SLACK") &&
		      dir_empty(P("c/bomb%d", k)), t, "r=%d %s", r, ctx.errmsg);
		free(t);
	}
}

/* ---- .deb ---- */

static int make_deb(const char *out, const char *name, const char *isize, long zeros)
{
	return sh("set -e; d='%s.d'; rm -rf \"$d\"; mkdir -p \"$d/DEBIAN\" \"$d/usr/share/%s\"\n"
		  "head -c %ld /dev/zero >\"$d/usr/share/%s/zeros\"\n"
		  "for i in $(seq 20); do head -c 3000 /dev/urandom >\"$d/usr/share/%s/r$i\"; done\n"
		  "printf 'Package: %s\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: t <t@invalid>\\n"
		  "Installed-Size: %s\\nDescription: test\\n' >\"$d/DEBIAN/control\"\n"
		  "dpkg-deb --root-owner-group -Zxz --build \"$d\" '%s' >/dev/null",
		  out, name, zeros, name, name, name, isize, out);
}

static void test_deb(void)
{
	struct pkgimg_ctx ctx;
	struct debinst_pkg p = { 0 };
	char good[65];
	int fd, r;

	if (make_deb(P("a.deb"), "alpha", "200", 1000) < 0 ||
	    make_deb(P("b.deb"), "beta", "200", 1000) < 0 ||
	    make_deb(P("liar.deb"), "liar", "1", 4 << 20) < 0) {
		check(false, ".debs built with dpkg-deb", "failed");
		return;
	}
	sha_of(P("a.deb"), good);
	ctx_new(&ctx);
	fd = open_dir(P("d1"));
	r = debinst_unpack_blob(&ctx, fd, P("a.deb"), good, 0, &p);
	close(fd);
	check(r == 0 && p.name && !strcmp(p.name, "alpha"), ".deb: a blob with its sha256 unpacks",
	      "r=%d %s", r, ctx.errmsg);
	debinst_pkg_free(&p);

	ctx_new(&ctx);
	fd = open_dir(P("d2"));
	r = debinst_unpack_blob(&ctx, fd, P("b.deb"), good, 0, &p);
	close(fd);
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx.errmsg, "[verify]") && strstr(ctx.errmsg, good),
	      ".deb: a swapped blob (another package) fails its sha256", "r=%d %s", r, ctx.errmsg);

	ctx_new(&ctx);
	ctx.unpack_slack = 1 << 20;
	fd = open_dir(P("d3"));
	r = debinst_unpack_blob(&ctx, fd, P("liar.deb"), NULL, 0, &p);
	close(fd);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "Installed-Size: 1 KiB") &&
	      strstr(ctx.errmsg, "PKGIMG_UNPACK_SLACK"),
	      ".deb: Installed-Size: 1 holding 4 MiB is refused past max(4x, +slack)", "r=%d %s", r,
	      ctx.errmsg);
	ctx_new(&ctx);
	fd = open_dir(P("d4"));
	r = debinst_unpack_blob(&ctx, fd, P("liar.deb"), NULL, 0, &p);
	close(fd);
	check(r == 0, ".deb: the same package unpacks within the default slack", "r=%d %s", r,
	      ctx.errmsg);
	debinst_pkg_free(&p);
}

/* ---- the store and fetch ---- */

static void test_store_fetch(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	char good[65], *blob, *dest;
	struct fetch_item it = { 0 };
	int r;

	ctx_new(&ctx);
	if (store_open(&ctx, P("store"), &st) < 0) {
		check(false, "store_open", "%s", ctx.errmsg);
		return;
	}
	sha_of(P("a.deb"), good);
	blob = store_blob_path(&st, good);
	sh("cp '%s' '%s'", P("a.deb"), blob);
	r = store_blob_check(&ctx, &st, good, "alpha");
	check(r == 0 && exists(blob) && nwarned == 0, "store_blob_check: an intact blob stays",
	      "r=%d", r);
	sh("cp '%s' '%s'", P("b.deb"), blob);
	r = store_blob_check(&ctx, &st, good, "alpha");
	check(r == 1 && !exists(blob) && nwarned == 1 && strstr(warned, "alpha: [verify]") &&
	      strstr(warned, "fetching it again"),
	      "store_blob_check: a replaced blob is removed, with a warning", "r=%d warned '%s'",
	      r, warned);

	/* an index file (no declared size) past max_download */
	sh("head -c 5000 /dev/zero >'%s'", P("big-index"));
	dest = xstrdup(P("store/index-dest"));
	it.url = xasprintf("file://%s", P("big-index"));
	it.dest = dest;
	it.size = -1;
	ctx.max_download = 1024;
	r = fetch_all(&ctx, &st, &it, 1);
	check(r < 0 && strstr(ctx.errmsg, "more than 1024 bytes") &&
	      strstr(ctx.errmsg, "PKGIMG_MAX_DOWNLOAD") && !exists(dest),
	      "fetch: a download with no declared size stops at max_download, nothing kept",
	      "r=%d %s", r, ctx.errmsg);
	ctx.max_download = PKGIMG_MAX_DOWNLOAD_DEFAULT;
	r = fetch_all(&ctx, &st, &it, 1);
	check(r == 0 && exists(dest), "fetch: the same file within the default bound", "r=%d %s",
	      r, ctx.errmsg);
	free((char *)it.url);
	free(dest);
	free(blob);
	store_close(&st);
}

int main(void)
{
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 2;
	}
	fetch_global_init();
	test_core();
	test_wheel();
	test_conda();
	test_deb();
	test_store_fetch();
	fetch_global_cleanup();
	sh("rm -rf '%s'", work);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
