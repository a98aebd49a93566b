/* Unit tests of installers/wheel.c: wheels built here with libarchive's zip
 * writer (a pure wheel with scripts, data, headers and entry points, a
 * platlib wheel, pip's own entry points, and broken or malicious ones),
 * installed into scratch roots under a mkdtemp dir.  RECORD is checked
 * against hashes recomputed from the installed files, the launchers against
 * distlib's text, and, when python3 is on the host, importlib.metadata reads
 * the result and a launcher runs.  Prints "ok - NAME" / "not ok - NAME"
 * (+ "# detail"); exits non-zero on a failure.  WHEEL_TEST_KEEP=1 keeps the
 * scratch dir (to diff against `pip install` by hand). */
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "installers/wheel.h"
#include "pyspec/wheelfile.h"

#include "tests/unit/check.h"

static char work[] = "/var/tmp/pkgimg-test-wheel-XXXXXX";
static char warned[2048];

#define PY "/usr/bin/python3.11"
#define SITE "usr/local/lib/python3.11/dist-packages"
#define EPOCH 1700000000

static const struct wheel_scheme scheme = {
	.purelib = SITE,
	.platlib = SITE,
	.scripts = "usr/local/bin",
	.headers = "usr/local/include/python3.11",
	.data = "usr/local",
	.python = PY,
	.py_version = NULL,	/* taken from PY */
};

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

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	snprintf(warned, sizeof warned, "%s", msg);
}

static void ctx_new(struct pkgimg_ctx *ctx)
{
	pkgimg_ctx_init(ctx);
	ctx->warn = on_warn;
	warned[0] = 0;
}

static char *slurp(const char *path)
{
	struct sbuf s = SBUF_INIT;

	if (fs_read_file(NULL, AT_FDCWD, path, &s) < 0)
		return NULL;
	return sbuf_detach(&s);
}

static bool file_is(const char *path, const char *want)
{
	char *got = slurp(path);
	bool ok = got && !strcmp(got, want);

	if (!ok)
		printf("# %s: got [%s]\n", path, got ? got : "(missing)");
	free(got);
	return ok;
}

static int mode_of(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* "sha256=<urlsafe base64, unpadded>", written independently of wheel.c. */
static void digest(const char *data, size_t len, char out[64])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[32];
	char hex[65];
	int o = sprintf(out, "sha256=");

	hash_sha256_hex(data, len, hex);
	for (int i = 0; i < 32; i++)
		sscanf(hex + 2 * i, "%2hhx", &raw[i]);
	for (int i = 0; i < 32; i += 3) {
		unsigned v = raw[i] << 16 | (i + 1 < 32 ? raw[i + 1] << 8 : 0) |
			(i + 2 < 32 ? raw[i + 2] : 0);

		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		if (i + 1 < 32)
			out[o++] = b64[v >> 6 & 63];
		if (i + 2 < 32)
			out[o++] = b64[v & 63];
	}
	out[o] = 0;
}

/* ---- building wheels ---- */

enum { REG, DIR_, LNK };

struct wf {
	const char *name;
	const char *data;	/* the link target for LNK */
	int perm;
	int type;
};

/* A RECORD line for a file, quoted as csv does when needed. */
static void record_line(struct sbuf *s, const char *name, const char *data)
{
	char d[64];

	digest(data, strlen(data), d);
	if (strchr(name, ','))
		sbuf_addf(s, "\"%s\",%s,%zu\n", name, d, strlen(data));
	else
		sbuf_addf(s, "%s,%s,%zu\n", name, d, strlen(data));
}

/* RECORD of files[] (regular files only) plus "<info>/RECORD,,". */
static char *make_record(const struct wf *f, size_t n, const char *info)
{
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < n; i++)
		if (f[i].type == REG)
			record_line(&s, f[i].name, f[i].data);
	sbuf_addf(&s, "%s/RECORD,,\n", info);
	return sbuf_detach(&s);
}

static void zip_add(struct archive *a, const char *name, const char *data, int perm, int type)
{
	struct archive_entry *e = archive_entry_new();
	size_t len = type == REG ? strlen(data) : 0;

	archive_entry_set_pathname_utf8(e, name);
	archive_entry_set_filetype(e, type == REG ? AE_IFREG : type == DIR_ ? AE_IFDIR : AE_IFLNK);
	archive_entry_set_perm(e, (mode_t)perm);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, EPOCH - 1000, 0);
	if (type == LNK)
		archive_entry_set_symlink(e, data);
	if (archive_write_header(a, e) != ARCHIVE_OK ||
	    (len && archive_write_data(a, data, len) != (la_ssize_t)len)) {
		fprintf(stderr, "zip: %s: %s\n", name, archive_error_string(a));
		exit(2);
	}
	archive_entry_free(e);
}

/* Writes the zip: files[], then RECORD (when record is not NULL) last, as
 * wheel builders put it. */
static void write_zip(const char *path, const struct wf *f, size_t n, const char *info,
		      const char *record)
{
	struct archive *a = archive_write_new();

	archive_write_set_format_zip(a);
	if (archive_write_open_filename(a, path) != ARCHIVE_OK) {
		fprintf(stderr, "zip: %s: %s\n", path, archive_error_string(a));
		exit(2);
	}
	for (size_t i = 0; i < n; i++)
		zip_add(a, f[i].name, f[i].data, f[i].perm ? f[i].perm : 0644, f[i].type);
	if (record) {
		char *rn = xasprintf("%s/RECORD", info);

		zip_add(a, rn, record, 0644, REG);
		free(rn);
	}
	archive_write_close(a);
	archive_write_free(a);
}

/* A wheel with a RECORD made from its files. */
static void build(const char *path, const struct wf *f, size_t n, const char *info)
{
	char *rec = make_record(f, n, info);

	write_zip(path, f, n, info, rec);
	free(rec);
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define DI "demo_pkg-1.0.dist-info"
#define DA "demo_pkg-1.0.data"

static const char init_py[] =
	"import sys\n"
	"def main():\n"
	"    print('hello from demo', sys.argv[0].rsplit('/', 1)[-1])\n"
	"    return 0\n"
	"def gui():\n"
	"    return 3\n";
static const char cli_py[] =
	"class App:\n"
	"    @staticmethod\n"
	"    def run():\n"
	"        print('nested run')\n"
	"        return 0\n";
static const char metadata[] =
	"Metadata-Version: 2.1\nName: demo_pkg\nVersion: 1.0\nSummary: a demo\n"
	"Requires-Dist: idna>=2.0\n\nThe description.\n";
static const char wheel_pure[] =
	"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
static const char entry_points[] =
	"[console_scripts]\n"
	"demo-cli = demo_pkg:main\n"
	"# a comment\n"
	"demo-nested = demo_pkg.cli:App.run [extra]\n"
	"\n"
	"[gui_scripts]\n"
	"demo-gui = demo_pkg:gui\n"
	"[other.group]\n"
	"ignored = x\n";

static const struct wf demo[] = {
	{ "demo_pkg/", NULL, 0755, DIR_ },
	{ "demo_pkg/__init__.py", init_py, 0644, REG },
	{ "demo_pkg/cli.py", cli_py, 0644, REG },
	{ "demo_pkg/tool.sh", "#!/bin/sh\necho tool\n", 0755, REG },
	{ "demo_pkg/data,1.txt", "comma\n", 0644, REG },
	{ DA "/scripts/demo-script", "#!python -u\nprint('script')\n", 0644, REG },
	{ DA "/scripts/plain.sh", "#!/bin/sh\necho plain\n", 0755, REG },
	{ DA "/scripts/demo-w", "#!pythonw\r\nprint('w')\n", 0644, REG },
	{ DA "/scripts/demo-cli", "#!python\n# setuptools' own wrapper\n", 0755, REG },
	{ DA "/data/share/demo/readme.txt", "read me\n", 0644, REG },
	{ DA "/headers/demo.h", "#define DEMO 1\n", 0644, REG },
	{ DI "/METADATA", metadata, 0644, REG },
	{ DI "/WHEEL", wheel_pure, 0644, REG },
	{ DI "/entry_points.txt", entry_points, 0644, REG },
};
#define DEMO_WHL "demo_pkg-1.0-py3-none-any.whl"

static int rootfd_of(const char *root)
{
	int fd;

	mkdir(P("%s", root), 0755);
	fd = open(P("%s", root), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		perror(root);
		exit(2);
	}
	return fd;
}

static int install(struct pkgimg_ctx *ctx, const char *whl, const char *root,
		   const struct wheel_scheme *s, const struct wheel_install_opts *o,
		   struct wheel_installed *out)
{
	int fd = rootfd_of(root), r;

	r = wheel_install(ctx, P("%s", whl), fd, s, o, out);
	close(fd);
	return r;
}

/* ---- snapshots of a tree ---- */

static void snap_at(const char *base, const char *rel, bool times, struct strv *out)
{
	char *path = *rel ? xasprintf("%s/%s", base, rel) : xstrdup(base);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) < 0) {
		free(path);
		return;
	}
	if (*rel) {
		char hex[65] = "";
		char *data = S_ISREG(st.st_mode) ? slurp(path) : NULL;

		if (data)
			hash_sha256_hex(data, (size_t)st.st_size, hex);
		strv_push(out, xasprintf("%s %o %lld %s %lld", rel, (unsigned)st.st_mode,
					 (long long)st.st_size, hex,
					 times ? (long long)st.st_mtim.tv_sec : 0LL));
		free(data);
	}
	if (S_ISDIR(st.st_mode) && (d = opendir(path))) {
		while ((de = readdir(d))) {
			char *sub;

			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			sub = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
			snap_at(base, sub, times, out);
			free(sub);
		}
		closedir(d);
	}
	free(path);
}

/* One line per entry below root: path, mode, size, sha256 (and mtime). */
static char *snap(const char *root, bool times)
{
	struct strv sv = { NULL, 0, 0 };
	struct sbuf s = SBUF_INIT;

	snap_at(P("%s", root), "", times, &sv);
	strv_sort(&sv);
	sbuf_add(&s, "", 0);
	for (size_t i = 0; i < sv.n; i++)
		sbuf_addf(&s, "%s\n", sv.v[i]);
	strv_free(&sv);
	return sbuf_detach(&s);
}

/* ---- the demo wheel ---- */

static const char launcher_head[] =
	"#!" PY "\n"
	"# -*- coding: utf-8 -*-\n"
	"import re\n"
	"import sys\n";

static char *launcher(const char *mod, const char *imp, const char *func)
{
	return xasprintf("%sfrom %s import %s\n"
			 "if __name__ == '__main__':\n"
			 "    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
			 "    sys.exit(%s())\n", launcher_head, mod, imp, func);
}

/* The row pip writes for an installed file, hashed here from the disk. */
static void want_row(struct sbuf *s, const char *recpath, const char *root, const char *file)
{
	char d[64], *data = slurp(P("%s/%s", root, file));

	if (!data) {
		sbuf_addf(s, "%s,MISSING,\r\n", recpath);
		return;
	}
	digest(data, strlen(data), d);
	sbuf_addf(s, "%s,%s,%zu\r\n", recpath, d, strlen(data));
	free(data);
}

static char *want_demo_record(const char *root)
{
	struct sbuf s = SBUF_INIT;
	char d[64];
	const char *wrapper = demo[8].data;

	want_row(&s, "../../../bin/demo-cli", root, "usr/local/bin/demo-cli");
	want_row(&s, "../../../bin/demo-gui", root, "usr/local/bin/demo-gui");
	want_row(&s, "../../../bin/demo-nested", root, "usr/local/bin/demo-nested");
	want_row(&s, "../../../bin/demo-script", root, "usr/local/bin/demo-script");
	want_row(&s, "../../../bin/demo-w", root, "usr/local/bin/demo-w");
	want_row(&s, "../../../bin/plain.sh", root, "usr/local/bin/plain.sh");
	want_row(&s, "../../../include/python3.11/demo-pkg/demo.h", root,
		 "usr/local/include/python3.11/demo-pkg/demo.h");
	want_row(&s, "../../../share/demo/readme.txt", root, "usr/local/share/demo/readme.txt");
	/* pip keeps the row of the wrapper it does not install */
	digest(wrapper, strlen(wrapper), d);
	sbuf_addf(&s, DA "/scripts/demo-cli,%s,%zu\r\n", d, strlen(wrapper));
	want_row(&s, DI "/INSTALLER", root, SITE "/" DI "/INSTALLER");
	want_row(&s, DI "/METADATA", root, SITE "/" DI "/METADATA");
	sbuf_adds(&s, DI "/RECORD,,\r\n");
	want_row(&s, DI "/REQUESTED", root, SITE "/" DI "/REQUESTED");
	want_row(&s, DI "/WHEEL", root, SITE "/" DI "/WHEEL");
	want_row(&s, DI "/entry_points.txt", root, SITE "/" DI "/entry_points.txt");
	want_row(&s, "demo_pkg/__init__.py", root, SITE "/demo_pkg/__init__.py");
	want_row(&s, "demo_pkg/cli.py", root, SITE "/demo_pkg/cli.py");
	want_row(&s, "\"demo_pkg/data,1.txt\"", root, SITE "/demo_pkg/data,1.txt");
	want_row(&s, "demo_pkg/tool.sh", root, SITE "/demo_pkg/tool.sh");
	return sbuf_detach(&s);
}

static void t_demo(void)
{
	struct wheel_install_opts o = { .requested = true, .installer = "pkgimg", .mtime = EPOCH };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	char *want, *got, *l;
	int r;

	build(P(DEMO_WHL), demo, N(demo), DI);
	ctx_new(&ctx);
	r = install(&ctx, DEMO_WHL, "r1", &scheme, &o, &w);
	check(r == 0, "demo: installs", "r=%d %s", r, ctx.errmsg);
	if (r < 0)
		return;

	check(!strcmp(w.name, "demo_pkg") && !strcmp(w.version, "1.0") &&
	      !strcmp(w.dist_info, SITE "/" DI),
	      "demo: name, version and dist-info dir reported", "%s %s %s", w.name, w.version,
	      w.dist_info);
	check(file_is(P("r1/" SITE "/demo_pkg/__init__.py"), init_py) &&
	      file_is(P("r1/" SITE "/demo_pkg/cli.py"), cli_py),
	      "demo: root files land in purelib", "see above");
	check(mode_of(P("r1/" SITE "/demo_pkg/__init__.py")) == 0644,
	      "demo: a plain file is 0644", "mode %o", mode_of(P("r1/" SITE "/demo_pkg/__init__.py")));
	check(mode_of(P("r1/" SITE "/demo_pkg/tool.sh")) == 0755,
	      "demo: the zip's exec bit gives 0755", "mode %o",
	      mode_of(P("r1/" SITE "/demo_pkg/tool.sh")));
	check(file_is(P("r1/" SITE "/demo_pkg/data,1.txt"), "comma\n"),
	      "demo: a name with a comma installs", "missing");
	check(mode_of(P("r1/usr")) == 0755 && mode_of(P("r1/" SITE "/demo_pkg")) == 0755 &&
	      mode_of(P("r1/usr/local/share/demo")) == 0755,
	      "demo: directories are created 0755", "usr %o", mode_of(P("r1/usr")));
	check(!exists(P("r1/" SITE "/" DA)), "demo: no .data directory is left in site-packages",
	      "it exists");

	/* .data/scripts */
	check(file_is(P("r1/usr/local/bin/demo-script"), "#!" PY "\nprint('script')\n"),
	      "scripts: '#!python -u' becomes the interpreter's shebang (arguments dropped, as pip)",
	      "see above");
	check(mode_of(P("r1/usr/local/bin/demo-script")) == 0755,
	      "scripts: a fixed script is made 0755", "mode %o",
	      mode_of(P("r1/usr/local/bin/demo-script")));
	check(file_is(P("r1/usr/local/bin/demo-w"), "#!" PY "\nprint('w')\n") &&
	      mode_of(P("r1/usr/local/bin/demo-w")) == 0755,
	      "scripts: '#!pythonw' (CRLF) too, with a plain '\\n'", "mode %o",
	      mode_of(P("r1/usr/local/bin/demo-w")));
	check(file_is(P("r1/usr/local/bin/plain.sh"), "#!/bin/sh\necho plain\n") &&
	      mode_of(P("r1/usr/local/bin/plain.sh")) == 0755,
	      "scripts: another script is copied as is, exec bit kept", "mode %o",
	      mode_of(P("r1/usr/local/bin/plain.sh")));
	check(file_is(P("r1/usr/local/share/demo/readme.txt"), "read me\n"),
	      "data: .data/data goes under the data dir", "see above");
	check(file_is(P("r1/usr/local/include/python3.11/demo-pkg/demo.h"), "#define DEMO 1\n"),
	      "headers: .data/headers goes to include/pythonX.Y/<project> ('_' as '-', as pip)", "see above");

	/* entry points */
	l = launcher("demo_pkg", "main", "main");
	check(file_is(P("r1/usr/local/bin/demo-cli"), l),
	      "entry points: console launcher has distlib's text (and replaces the wheel's wrapper)",
	      "see above");
	free(l);
	l = launcher("demo_pkg.cli", "App", "App.run");
	check(file_is(P("r1/usr/local/bin/demo-nested"), l),
	      "entry points: 'mod:App.run [extra]' imports App and calls App.run()", "see above");
	free(l);
	l = launcher("demo_pkg", "gui", "gui");
	check(file_is(P("r1/usr/local/bin/demo-gui"), l),
	      "entry points: gui_scripts get the same launcher on Linux", "see above");
	free(l);
	check(mode_of(P("r1/usr/local/bin/demo-cli")) == 0755 &&
	      mode_of(P("r1/usr/local/bin/demo-gui")) == 0755,
	      "entry points: launchers are 0755", "mode %o", mode_of(P("r1/usr/local/bin/demo-cli")));
	check(!exists(P("r1/usr/local/bin/ignored")), "entry points: other groups make no script",
	      "exists");

	/* dist-info */
	check(file_is(P("r1/" SITE "/" DI "/INSTALLER"), "pkgimg\n"),
	      "dist-info: INSTALLER holds the installer and a newline", "see above");
	check(file_is(P("r1/" SITE "/" DI "/REQUESTED"), ""), "dist-info: REQUESTED is empty",
	      "see above");
	check(mode_of(P("r1/" SITE "/" DI "/INSTALLER")) == 0644 &&
	      mode_of(P("r1/" SITE "/" DI "/RECORD")) == 0644,
	      "dist-info: generated files are 0644", "mode %o",
	      mode_of(P("r1/" SITE "/" DI "/RECORD")));
	want = want_demo_record("r1");
	got = slurp(P("r1/" SITE "/" DI "/RECORD"));
	check(got && !strcmp(got, want),
	      "RECORD: pip's rows, sorted, CRLF, hashes recomputed from the installed files",
	      "got:\n%s\nwant:\n%s", got ? got : "(missing)", want);
	free(want);
	free(got);
	{
		bool ok = w.nfiles == 19;
		size_t rec = 0;

		for (size_t i = 0; i < w.nfiles; i++)
			if (!strcmp(w.files[i].path, DI "/RECORD"))
				rec = i;
		ok = ok && !strcmp(w.files[rec].hash, "") && w.files[rec].size == -1 &&
			!strcmp(w.files[0].path, "../../../bin/demo-cli") &&
			!strncmp(w.files[0].hash, "sha256=", 7) && w.files[0].size > 0;
		check(ok, "demo: the RECORD rows are returned", "n=%zu", w.nfiles);
	}
	{
		struct stat st;

		check(stat(P("r1/" SITE "/demo_pkg/__init__.py"), &st) == 0 &&
		      st.st_mtim.tv_sec == EPOCH && stat(P("r1/usr/local/bin/demo-cli"), &st) == 0 &&
		      st.st_mtim.tv_sec == EPOCH && stat(P("r1/usr/local/share"), &st) == 0 &&
		      st.st_mtim.tv_sec == EPOCH,
		      "mtime: files, launchers and created dirs get opts->mtime", "mtime %ld",
		      (long)st.st_mtim.tv_sec);
	}
	{
		DIR *d = opendir(P("r1"));
		struct dirent *de;
		bool clean = true;

		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, ".pkgimg", 7))
				clean = false;
		if (d)
			closedir(d);
		check(clean, "demo: the staging directory is gone", "still there");
	}
	wheel_installed_free(&w);

	/* determinism */
	ctx_new(&ctx);
	r = install(&ctx, DEMO_WHL, "r2", &scheme, &o, &w);
	if (r == 0)
		wheel_installed_free(&w);
	{
		char *a = snap("r1", true), *b = snap("r2", true);

		check(r == 0 && !strcmp(a, b),
		      "determinism: a second install gives the same tree (content, modes, mtimes)",
		      "r=%d\n%s\n---\n%s", r, a, b);
		free(a);
		free(b);
	}
}

/* importlib.metadata and the launcher, with the host's python3. */
static void t_python(void)
{
	char *cmd;
	int st;

	if (system("command -v python3 >/dev/null 2>&1") != 0) {
		printf("skip - python: no python3 on this host\n");
		return;
	}
	cmd = xasprintf("cd %s && PYTHONPATH=%s python3 -c '"
			"import importlib.metadata as m, sys\n"
			"d = m.distribution(\"demo_pkg\")\n"
			"assert d.version == \"1.0\", d.version\n"
			"assert d.read_text(\"INSTALLER\") == \"pkgimg\\n\"\n"
			"fs = sorted(str(f) for f in d.files)\n"
			"assert \"../../../bin/demo-cli\" in fs and \"demo_pkg/data,1.txt\" in fs, fs\n"
			"h = [f for f in d.files if str(f) == \"demo_pkg/__init__.py\"][0]\n"
			"import hashlib, base64\n"
			"dg = base64.urlsafe_b64encode(hashlib.sha256(h.read_binary()).digest()).rstrip(b\"=\").decode()\n"
			"assert h.hash.value == dg and h.size == len(h.read_binary())\n"
			"eps = sorted(e.name for e in d.entry_points if e.group == \"console_scripts\")\n"
			"assert eps == [\"demo-cli\", \"demo-nested\"], eps\n"
			"' 2>&1", work, P("r1/" SITE));
	st = system(cmd);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0,
	      "python: importlib.metadata reads version, INSTALLER, RECORD (hashes, sizes) and entry points",
	      "status %d", st);
	free(cmd);
	cmd = xasprintf("PYTHONPATH=%s python3 %s > %s 2>&1", P("r1/" SITE),
			P("r1/usr/local/bin/demo-cli"), P("launcher.out"));
	st = system(cmd);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 0 &&
	      file_is(P("launcher.out"), "hello from demo demo-cli\n"),
	      "python: the console launcher runs the entry point", "status %d", st);
	free(cmd);
	cmd = xasprintf("PYTHONPATH=%s python3 %s >/dev/null 2>&1", P("r1/" SITE),
			P("r1/usr/local/bin/demo-gui"));
	st = system(cmd);
	check(WIFEXITED(st) && WEXITSTATUS(st) == 3,
	      "python: the gui launcher exits with the function's value", "status %d", st);
	free(cmd);
}

/* Root-Is-Purelib: false → platlib; paths in RECORD relative to it. */
static void t_platlib(void)
{
	static const struct wf plat[] = {
		{ "plat_pkg/_ext.so", "\177ELF fake", 0755, REG },
		{ "plat_pkg-2.0.data/purelib/plat_pure.py", "X = 1\n", 0644, REG },
		{ "plat_pkg-2.0.data/platlib/plat_extra.py", "Y = 1\n", 0644, REG },
		{ "plat_pkg-2.0.data/scripts/bare", "#!python", 0644, REG },
		{ "plat_pkg-2.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: Plat-Pkg\nVersion: 2.0\n", 0644, REG },
		{ "plat_pkg-2.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: cp311-cp311-manylinux_2_17_x86_64\n", 0644, REG },
	};
	struct wheel_scheme s = scheme;
	struct wheel_install_opts o = { .requested = false, .installer = NULL, .mtime = -1 };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	const char *whl = "plat_pkg-2.0-cp311-cp311-manylinux_2_17_x86_64.whl";
	char *rec;
	int r;

	s.platlib = "usr/local/lib/python3.11/plat-packages";
	build(P("%s", whl), plat, N(plat), "plat_pkg-2.0.dist-info");
	ctx_new(&ctx);
	r = install(&ctx, whl, "rp", &s, &o, &w);
	check(r == 0, "platlib: installs", "r=%d %s", r, ctx.errmsg);
	if (r < 0)
		return;
	check(exists(P("rp/usr/local/lib/python3.11/plat-packages/plat_pkg/_ext.so")) &&
	      exists(P("rp/usr/local/lib/python3.11/plat-packages/plat_pkg-2.0.dist-info/WHEEL")),
	      "platlib: Root-Is-Purelib false puts the root in platlib", "missing");
	check(file_is(P("rp/usr/local/bin/bare"), "#!" PY "\n"),
	      "scripts: a bare '#!python' without a newline gets one, as pip", "see above");
	check(exists(P("rp/" SITE "/plat_pure.py")) &&
	      exists(P("rp/usr/local/lib/python3.11/plat-packages/plat_extra.py")),
	      "platlib: .data/purelib and .data/platlib go to their dirs", "missing");
	check(!strcmp(w.dist_info, "usr/local/lib/python3.11/plat-packages/plat_pkg-2.0.dist-info") &&
	      !strcmp(w.name, "Plat-Pkg"),
	      "platlib: dist-info under platlib, Name as written", "%s", w.dist_info);
	rec = slurp(P("rp/usr/local/lib/python3.11/plat-packages/plat_pkg-2.0.dist-info/RECORD"));
	check(rec && strstr(rec, "\r\n../dist-packages/plat_pure.py,sha256=") &&
	      strstr(rec, "\r\nplat_extra.py,sha256=") && strstr(rec, "\r\nplat_pkg/_ext.so,sha256="),
	      "platlib: RECORD paths are relative to platlib", "%s", rec ? rec : "(none)");
	check(rec && !strstr(rec, "REQUESTED") && strstr(rec, "plat_pkg-2.0.dist-info/INSTALLER,sha256="),
	      "platlib: no REQUESTED unless asked; INSTALLER recorded", "%s", rec ? rec : "");
	check(file_is(P("rp/usr/local/lib/python3.11/plat-packages/plat_pkg-2.0.dist-info/INSTALLER"),
		      "pkgimg\n"),
	      "platlib: INSTALLER defaults to pkgimg", "see above");
	{
		struct stat st;

		check(stat(P("rp/" SITE "/plat_pure.py"), &st) == 0 &&
		      st.st_mtim.tv_sec == EPOCH - 1000,
		      "mtime -1: a file keeps its zip entry's mtime", "mtime %ld",
		      (long)st.st_mtim.tv_sec);
	}
	free(rec);
	wheel_installed_free(&w);
}

/* pip's special case of its own entry points. */
static void t_pip_scripts(void)
{
	static const struct wf pipw[] = {
		{ "pip/__init__.py", "", 0644, REG },
		{ "pip-24.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: pip\nVersion: 24.0\n", 0644, REG },
		{ "pip-24.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n", 0644, REG },
		{ "pip-24.0.dist-info/entry_points.txt",
		  "[console_scripts]\npip = pip._internal.cli.main:main\npip3 = pip._internal.cli.main:main\n"
		  "pip3.8 = pip._internal.cli.main:main\npip3.10 = pip._internal.cli.main:main\n"
		  "pip10 = pip._internal.cli.main:main\npipx = pipx:main\n", 0644, REG },
	};
	struct wheel_install_opts o = { .requested = true, .installer = "pip", .mtime = 0 };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	char *l = launcher("pip._internal.cli.main", "main", "main");
	char *rec;
	int r;

	build(P("pip-24.0-py3-none-any.whl"), pipw, N(pipw), "pip-24.0.dist-info");
	ctx_new(&ctx);
	r = install(&ctx, "pip-24.0-py3-none-any.whl", "rpip", &scheme, &o, &w);
	check(r == 0, "pip: installs", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		wheel_installed_free(&w);
	check(file_is(P("rpip/usr/local/bin/pip"), l) && file_is(P("rpip/usr/local/bin/pip3"), l) &&
	      file_is(P("rpip/usr/local/bin/pip3.11"), l),
	      "pip: pip, pip3 and pip3.11 for the target's Python", "see above");
	check(!exists(P("rpip/usr/local/bin/pip3.8")),
	      "pip: the wheel's pip3.8 is dropped (pip's regex)", "exists");
	check(!exists(P("rpip/usr/local/bin/pip3.10")) && !exists(P("rpip/usr/local/bin/pip10")),
	      "pip: and its pip3.10 too (pip 24's regex, \\d+)", "exists");
	rec = slurp(P("rpip/" SITE "/pip-24.0.dist-info/RECORD"));
	check(exists(P("rpip/usr/local/bin/pipx")), "pip: other names starting with 'pip' stay",
	      "pipx missing");
	check(rec && strstr(rec, "../../../bin/pip3.11,sha256=") && !strstr(rec, "pip3.8"),
	      "pip: RECORD lists the generated launchers", "%s", rec ? rec : "");
	free(rec);
	free(l);
}

/* distlib's shebang for an interpreter path with a blank or over 127 bytes. */
static void t_long_shebang(void)
{
	static const struct wf w1[] = {
		{ "sb/__init__.py", "def main():\n    return 0\n", 0644, REG },
		{ "sb-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: sb\nVersion: 1\n", 0644, REG },
		{ "sb-1.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n", 0644, REG },
		{ "sb-1.dist-info/entry_points.txt", "[console_scripts]\nsb = sb:main\n", 0644, REG },
	};
	struct wheel_scheme s = scheme;
	struct wheel_install_opts o = { .requested = false, .installer = "pkgimg", .mtime = 0 };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	char *got, *want;
	int r;

	s.python = "/opt/my python/bin/python3";
	build(P("sb-1-py3-none-any.whl"), w1, N(w1), "sb-1.dist-info");
	ctx_new(&ctx);
	r = install(&ctx, "sb-1-py3-none-any.whl", "rsb", &s, &o, &w);
	if (r == 0)
		wheel_installed_free(&w);
	got = slurp(P("rsb/usr/local/bin/sb"));
	want = "#!/bin/sh\n'''exec' \"/opt/my python/bin/python3\" \"$0\" \"$@\"\n' '''\n"
		"# -*- coding: utf-8 -*-\n";
	check(r == 0 && got && !strncmp(got, want, strlen(want)),
	      "shebang: a path with a blank gets distlib's /bin/sh trampoline, quoted",
	      "r=%d %s got [%s]", r, ctx.errmsg, got ? got : "");
	free(got);

	/* 124 bytes + "#!" + "\n" = 127: still simple; one more is not */
	for (int extra = 0; extra < 2; extra++) {
		char py[200], *w2;

		snprintf(py, sizeof py, "/%0*d/python3", 115 + extra, 0);
		s.python = py;
		fs_rm_rf(NULL, AT_FDCWD, P("rsb"));
		ctx_new(&ctx);
		r = install(&ctx, "sb-1-py3-none-any.whl", "rsb", &s, &o, &w);
		if (r == 0)
			wheel_installed_free(&w);
		got = slurp(P("rsb/usr/local/bin/sb"));
		w2 = extra ? xasprintf("#!/bin/sh\n'''exec' %s \"$0\" \"$@\"\n' '''\n#", py) :
			xasprintf("#!%s\n#", py);
		check(r == 0 && strlen(py) == 124u + extra && got && !strncmp(got, w2, strlen(w2)),
		      extra ? "shebang: 128 bytes get the trampoline" : "shebang: 127 bytes stay simple",
		      "r=%d got [%s]", r, got ? got : "");
		free(w2);
		free(got);
	}
}

/* ---- errors: the message, and the root as it was ---- */

struct bad {
	const char *title;
	const char *whl;
	int code;
	const char *needle;	/* in the message */
};

/* Installs whl into a root holding some files (one that the wheel would
 * replace), expects the error, and that the root did not change. */
static void expect_fail(const struct bad *b, bool symlinked)
{
	struct wheel_install_opts o = { .requested = true, .installer = "pkgimg", .mtime = EPOCH };
	struct wheel_installed w = { 0 };
	struct pkgimg_ctx ctx;
	char *before, *after, name[256];
	const char *base = strrchr(b->whl, '/') ? strrchr(b->whl, '/') + 1 : b->whl;
	int r;

	fs_rm_rf(NULL, AT_FDCWD, P("rbad"));
	fs_mkdirs(NULL, AT_FDCWD, P("rbad/usr/local/bin"), 0755);
	fs_write_file(NULL, AT_FDCWD, P("rbad/usr/local/bin/demo-cli"), "old\n", 4, 0755);
	fs_write_file(NULL, AT_FDCWD, P("rbad/keep"), "kept\n", 5, 0644);
	if (symlinked) {
		mkdir(P("outside"), 0755);
		symlink(P("outside"), P("rbad/usr/local/share"));
	}
	before = snap("rbad", false);
	ctx_new(&ctx);
	r = install(&ctx, b->whl, "rbad", &scheme, &o, &w);
	after = snap("rbad", false);
	snprintf(name, sizeof name, "error: %s", b->title);
	check(r == b->code && strstr(ctx.errmsg, b->needle) && strstr(ctx.errmsg, "[install]") &&
	      !strncmp(ctx.errmsg, base, strlen(base)),
	      name, "r=%d (want %d) msg: %s", r, b->code, ctx.errmsg);
	snprintf(name, sizeof name, "error: %s: nothing left behind", b->title);
	check(!strcmp(before, after), name, "before:\n%s\nafter:\n%s", before, after);
	if (r == 0)
		wheel_installed_free(&w);
	free(before);
	free(after);
}

/* A copy of the demo wheel's files with one changed (or dropped: data NULL)
 * or one added. */
static void build_variant(const char *whl, const char *name, const char *data, int type,
			  const char *record)
{
	struct wf f[N(demo) + 1];
	size_t n = 0;
	bool replaced = false;

	for (size_t i = 0; i < N(demo); i++) {
		f[n] = demo[i];
		if (name && !strcmp(demo[i].name, name)) {
			replaced = true;
			if (!data)
				continue;
			f[n].data = data;
			f[n].type = type;
		}
		n++;
	}
	if (name && !replaced)
		f[n++] = (struct wf){ name, data, 0644, type };
	if (record) {
		write_zip(P("%s", whl), f, n, DI, record);
	} else {
		char *rec = make_record(f, n, DI);

		write_zip(P("%s", whl), f, n, DI, rec);
		free(rec);
	}
}

/* The demo RECORD with the text `from` replaced by `to`. */
static char *demo_record_edit(const char *from, const char *to)
{
	char *rec = make_record(demo, N(demo), DI), *p = strstr(rec, from), *out;

	if (!p)
		return rec;
	out = xasprintf("%.*s%s%s", (int)(p - rec), rec, to, p + strlen(from));
	free(rec);
	return out;
}

static void t_errors(void)
{
	char *rec, d[64];

	/* hash mismatch: RECORD says one thing, the file is another */
	mkdir(P("bad1"), 0755);
	digest("something else", 14, d);
	{
		char *good = make_record(demo, N(demo), DI), from[128], to[128], *p;

		p = strstr(good, "demo_pkg/cli.py,");
		snprintf(from, sizeof from, "%.*s", (int)strcspn(p, "\n"), p);
		snprintf(to, sizeof to, "demo_pkg/cli.py,%s,%zu", d, strlen(cli_py));
		free(good);
		rec = demo_record_edit(from, to);
	}
	write_zip(P("bad1/" DEMO_WHL), demo, N(demo), DI, rec);
	free(rec);
	expect_fail(&(struct bad){ "hash mismatch", "bad1/" DEMO_WHL, -PKGIMG_E_CHECKSUM,
				   "'demo_pkg/cli.py' does not match RECORD" }, false);

	/* size mismatch */
	mkdir(P("bad2"), 0755);
	digest(cli_py, strlen(cli_py), d);
	{
		char *good = make_record(demo, N(demo), DI), from[128], to[128], *p;

		p = strstr(good, "demo_pkg/cli.py,");
		snprintf(from, sizeof from, "%.*s", (int)strcspn(p, "\n"), p);
		snprintf(to, sizeof to, "demo_pkg/cli.py,%s,%zu", d, strlen(cli_py) + 1);
		free(good);
		rec = demo_record_edit(from, to);
	}
	write_zip(P("bad2/" DEMO_WHL), demo, N(demo), DI, rec);
	free(rec);
	expect_fail(&(struct bad){ "size mismatch", "bad2/" DEMO_WHL, -PKGIMG_E_CHECKSUM,
				   "RECORD says" }, false);

	/* a file of the zip that RECORD does not list */
	mkdir(P("bad3"), 0755);
	rec = make_record(demo, N(demo), DI);
	{
		struct wf f[N(demo) + 1];

		memcpy(f, demo, sizeof demo);
		f[N(demo)] = (struct wf){ "demo_pkg/sneaky.py", "import os\n", 0644, REG };
		write_zip(P("bad3/" DEMO_WHL), f, N(demo) + 1, DI, rec);
	}
	free(rec);
	expect_fail(&(struct bad){ "a file not in RECORD", "bad3/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "'demo_pkg/sneaky.py' is in the wheel but not in its RECORD" },
		    false);

	/* a RECORD row for a file the zip lacks */
	mkdir(P("bad4"), 0755);
	rec = make_record(demo, N(demo), DI);
	{
		char *more = xasprintf("%sdemo_pkg/gone.py,sha256=AAAA,3\n", rec);

		write_zip(P("bad4/" DEMO_WHL), demo, N(demo), DI, more);
		free(more);
	}
	free(rec);
	expect_fail(&(struct bad){ "a RECORD entry missing from the zip", "bad4/" DEMO_WHL,
				   -PKGIMG_E_ARCHIVE, "RECORD lists 'demo_pkg/gone.py' but the wheel has no such file" },
		    false);

	/* ../ and absolute paths */
	mkdir(P("bad5"), 0755);
	build_variant("bad5/" DEMO_WHL, "demo_pkg/../../../../etc/evil", "x\n", REG, NULL);
	expect_fail(&(struct bad){ "a '..' path", "bad5/" DEMO_WHL, -PKGIMG_E_UNSAFE, "'..'" },
		    false);
	check(!exists(P("etc/evil")) && !exists("/etc/evil"), "error: '..': nothing written outside",
	      "evil exists");
	mkdir(P("bad6"), 0755);
	build_variant("bad6/" DEMO_WHL, "/tmp/pkgimg-wheel-evil", "x\n", REG, NULL);
	expect_fail(&(struct bad){ "an absolute path", "bad6/" DEMO_WHL, -PKGIMG_E_UNSAFE,
				   "absolute path" }, false);
	check(!exists("/tmp/pkgimg-wheel-evil"), "error: absolute: nothing written there", "exists");

	/* a symlink in the root, pointing outside: never followed; what was
	 * placed before the failure (bin/, lib/) is taken back, the replaced
	 * bin/demo-cli restored */
	expect_fail(&(struct bad){ "a symlink in the root (usr/local/share -> outside)", DEMO_WHL,
				   -PKGIMG_E_UNSAFE, "'usr/local/share' is a symlink" }, true);
	{
		DIR *d = opendir(P("outside"));
		int n = 0;
		struct dirent *de;

		while (d && (de = readdir(d)))
			n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
		if (d)
			closedir(d);
		check(d && n == 0, "error: symlink: nothing written through it", "%d entries", n);
		check(file_is(P("rbad/usr/local/bin/demo-cli"), "old\n"),
		      "error: symlink: the file it had replaced is back", "see above");
	}
	fs_rm_rf(NULL, AT_FDCWD, P("rbad/usr/local/share"));

	/* two .dist-info dirs */
	mkdir(P("bad7"), 0755);
	build_variant("bad7/" DEMO_WHL, "other-2.0.dist-info/METADATA",
		      "Metadata-Version: 2.1\nName: other\nVersion: 2.0\n", REG, NULL);
	expect_fail(&(struct bad){ "two .dist-info dirs", "bad7/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "several .dist-info directories ('demo_pkg-1.0.dist-info', 'other-2.0.dist-info')" },
		    false);

	/* Wheel-Version */
	mkdir(P("bad8"), 0755);
	build_variant("bad8/" DEMO_WHL, DI "/WHEEL", "Wheel-Version: 2.0\nRoot-Is-Purelib: true\n",
		      REG, NULL);
	expect_fail(&(struct bad){ "Wheel-Version 2.0", "bad8/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "Wheel-Version 2.0 is not supported" }, false);
	mkdir(P("bad9"), 0755);
	build_variant("bad9/" DEMO_WHL, DI "/WHEEL", "Wheel-Version: one\nRoot-Is-Purelib: true\n",
		      REG, NULL);
	expect_fail(&(struct bad){ "Wheel-Version not a number", "bad9/" DEMO_WHL, -PKGIMG_E_PARSE,
				   "invalid Wheel-Version 'one'" }, false);
	mkdir(P("bad10"), 0755);
	build_variant("bad10/" DEMO_WHL, DI "/WHEEL", "Root-Is-Purelib: true\n", REG, NULL);
	expect_fail(&(struct bad){ "no Wheel-Version", "bad10/" DEMO_WHL, -PKGIMG_E_PARSE,
				   "has no Wheel-Version" }, false);

	/* file names */
	build(P("demo_pkg.whl"), demo, N(demo), DI);
	expect_fail(&(struct bad){ "a wheel name that does not parse", "demo_pkg.whl",
				   -PKGIMG_E_PARSE, "not a valid wheel file name" }, false);
	build(P("other_pkg-1.0-py3-none-any.whl"), demo, N(demo), DI);
	expect_fail(&(struct bad){ "a .dist-info of another project", "other_pkg-1.0-py3-none-any.whl",
				   -PKGIMG_E_ARCHIVE, "is not 'other-pkg-1.0.dist-info'" }, false);
	build(P("demo_pkg-1.1-py3-none-any.whl"), demo, N(demo), DI);
	expect_fail(&(struct bad){ "a .dist-info of another version", "demo_pkg-1.1-py3-none-any.whl",
				   -PKGIMG_E_ARCHIVE, "is not 'demo-pkg-1.1.dist-info'" }, false);

	/* what the zip may not hold */
	mkdir(P("bad11"), 0755);
	build_variant("bad11/" DEMO_WHL, "demo_pkg/link", "/etc/passwd", LNK, NULL);
	expect_fail(&(struct bad){ "a symlink entry", "bad11/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "'demo_pkg/link' is a symlink" }, false);
	mkdir(P("bad12"), 0755);
	{
		struct wf f[N(demo) + 1];

		memcpy(f, demo, sizeof demo);
		f[N(demo)] = demo[2];	/* demo_pkg/cli.py again */
		rec = make_record(demo, N(demo), DI);
		write_zip(P("bad12/" DEMO_WHL), f, N(demo) + 1, DI, rec);
		free(rec);
	}
	expect_fail(&(struct bad){ "a duplicate entry", "bad12/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "'demo_pkg/cli.py' is in the zip twice" }, false);
	mkdir(P("bad13"), 0755);
	write_zip(P("bad13/" DEMO_WHL), demo, N(demo), DI, NULL);
	expect_fail(&(struct bad){ "no RECORD", "bad13/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "RECORD is missing" }, false);
	mkdir(P("bad14"), 0755);
	build_variant("bad14/" DEMO_WHL, DA "/config/x.cfg", "x\n", REG, NULL);
	expect_fail(&(struct bad){ "an unknown .data key", "bad14/" DEMO_WHL, -PKGIMG_E_ARCHIVE,
				   "unknown scheme key 'config'" }, false);
	mkdir(P("bad15"), 0755);
	build_variant("bad15/" DEMO_WHL, DI "/entry_points.txt",
		      "[console_scripts]\nbroken = demo_pkg\n", REG, NULL);
	expect_fail(&(struct bad){ "an entry point without a callable", "bad15/" DEMO_WHL,
				   -PKGIMG_E_PARSE, "a callable suffix is required" }, false);
	mkdir(P("bad16"), 0755);
	build_variant("bad16/" DEMO_WHL, DI "/entry_points.txt",
		      "[console_scripts]\n../../../../tmp/evil = demo_pkg:main\n", REG, NULL);
	expect_fail(&(struct bad){ "an entry point named with a slash", "bad16/" DEMO_WHL,
				   -PKGIMG_E_UNSAFE, "refusing the entry point name" }, false);
	mkdir(P("bad17"), 0755);
	{
		char *r2 = demo_record_edit("demo_pkg/tool.sh,sha256=", "demo_pkg/tool.sh,md5=");

		write_zip(P("bad17/" DEMO_WHL), demo, N(demo), DI, r2);
		free(r2);
	}
	expect_fail(&(struct bad){ "a weak hash algorithm", "bad17/" DEMO_WHL, -PKGIMG_E_CHECKSUM,
				   "only sha256, sha384 and sha512" }, false);
	mkdir(P("bad18"), 0755);
	{
		char *r2 = demo_record_edit("demo_pkg/tool.sh,sha256=", "demo_pkg/tool.sh,,");

		write_zip(P("bad18/" DEMO_WHL), demo, N(demo), DI, r2);
		free(r2);
	}
	expect_fail(&(struct bad){ "a file without a hash", "bad18/" DEMO_WHL, -PKGIMG_E_CHECKSUM,
				   "RECORD has no hash for 'demo_pkg/tool.sh'" }, false);

	/* a directory where a file goes */
	fs_rm_rf(NULL, AT_FDCWD, P("rdir"));
	fs_mkdirs(NULL, AT_FDCWD, P("rdir/usr/local/bin/plain.sh"), 0755);
	{
		struct wheel_install_opts o = { .requested = false, .installer = NULL, .mtime = 0 };
		struct wheel_installed w;
		struct pkgimg_ctx ctx;
		char *before = snap("rdir", false), *after;
		int r;

		ctx_new(&ctx);
		r = install(&ctx, DEMO_WHL, "rdir", &scheme, &o, &w);
		after = snap("rdir", false);
		check(r == -EISDIR && strstr(ctx.errmsg, "a directory is in the way") &&
		      !strcmp(before, after),
		      "error: a directory in the way; the root as it was", "r=%d %s", r, ctx.errmsg);
		if (r == 0)
			wheel_installed_free(&w);
		free(before);
		free(after);
	}
}

/* Wheel-Version 1.x above 1.0 installs with a warning; sha512 rows verify;
 * a RECORD.jws signature needs no row. */
static void t_lenient(void)
{
	struct wheel_install_opts o = { .requested = false, .installer = NULL, .mtime = 0 };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	int r;

	mkdir(P("ok1"), 0755);
	build_variant("ok1/" DEMO_WHL, DI "/WHEEL", "Wheel-Version: 1.9\nRoot-Is-Purelib: true\n",
		      REG, NULL);
	ctx_new(&ctx);
	r = install(&ctx, "ok1/" DEMO_WHL, "rok1", &scheme, &o, &w);
	check(r == 0 && strstr(warned, "newer Wheel-Version (1.9)"),
	      "Wheel-Version 1.9: installs, with a warning", "r=%d %s warned=%s", r, ctx.errmsg,
	      warned);
	if (r == 0)
		wheel_installed_free(&w);

	mkdir(P("ok2"), 0755);
	{
		struct wf f[N(demo) + 1];
		char *rec = make_record(demo, N(demo), DI), *more;

		memcpy(f, demo, sizeof demo);
		f[N(demo)] = (struct wf){ DI "/RECORD.jws", "{\"signatures\": []}", 0644, REG };
		/* tool.sh hashed with sha512 */
		{
			struct hasher h;
			char hex[HASH_HEX_MAX];
			unsigned char raw[64];
			static const char b64[] =
				"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
			char enc[100], *e = enc, *p, from[200];
			const char *tool = demo[3].data;

			hasher_init(&h, "sha512");
			hasher_update(&h, tool, strlen(tool));
			hasher_final_hex(&h, hex);
			for (int i = 0; i < 64; i++)
				sscanf(hex + 2 * i, "%2hhx", &raw[i]);
			for (int i = 0; i < 64; i += 3) {
				unsigned v = raw[i] << 16 | (i + 1 < 64 ? raw[i + 1] << 8 : 0) |
					(i + 2 < 64 ? raw[i + 2] : 0);

				*e++ = b64[v >> 18 & 63];
				*e++ = b64[v >> 12 & 63];
				if (i + 1 < 64)
					*e++ = b64[v >> 6 & 63];
				if (i + 2 < 64)
					*e++ = b64[v & 63];
			}
			*e = 0;
			p = strstr(rec, "demo_pkg/tool.sh,");
			snprintf(from, sizeof from, "%.*s", (int)strcspn(p, "\n"), p);
			more = xasprintf("%.*sdemo_pkg/tool.sh,sha512=%s,%zu%s", (int)(p - rec), rec,
					 enc, strlen(tool), p + strlen(from));
		}
		write_zip(P("ok2/" DEMO_WHL), f, N(demo) + 1, DI, more);
		free(rec);
		free(more);
	}
	ctx_new(&ctx);
	r = install(&ctx, "ok2/" DEMO_WHL, "rok2", &scheme, &o, &w);
	check(r == 0, "sha512 rows verify; RECORD.jws needs no row", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		char *rec = slurp(P("rok2/" SITE "/" DI "/RECORD"));

		check(rec && strstr(rec, "\r\ndemo_pkg/tool.sh,sha512=") &&
		      strstr(rec, "\r\n" DI "/RECORD.jws,,\r\n"),
		      "RECORD: a sha512 row is kept as the wheel wrote it; the signature gets ',,'",
		      "%s", rec ? rec : "");
		free(rec);
		wheel_installed_free(&w);
	}
}

/* A UTF-8 file name (the zip's UTF-8 flag) lands and is recorded as is. */
static void t_utf8(void)
{
	static const struct wf u[] = {
		{ "u/donn\xc3\xa9" "es.txt", "caf\xc3\xa9\n", 0644, REG },
		{ "u-1.dist-info/METADATA", "Metadata-Version: 2.1\nName: u\nVersion: 1\n", 0644, REG },
		{ "u-1.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n", 0644, REG },
	};
	struct wheel_install_opts o = { .requested = false, .installer = NULL, .mtime = 0 };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	char *rec;
	int r;

	build(P("u-1-py3-none-any.whl"), u, N(u), "u-1.dist-info");
	ctx_new(&ctx);
	r = install(&ctx, "u-1-py3-none-any.whl", "ru", &scheme, &o, &w);
	rec = slurp(P("ru/" SITE "/u-1.dist-info/RECORD"));
	check(r == 0 && file_is(P("ru/" SITE "/u/donn\xc3\xa9" "es.txt"), "caf\xc3\xa9\n") && rec &&
	      strstr(rec, "\r\nu/donn\xc3\xa9" "es.txt,sha256="),
	      "utf-8: a non-ASCII name installs and is recorded in UTF-8", "r=%d %s %s", r,
	      ctx.errmsg, rec ? rec : "");
	free(rec);
	if (r == 0)
		wheel_installed_free(&w);

	/* the same under the "C" locale: the engine reads names as UTF-8 anyway */
	setlocale(LC_CTYPE, "C");
	ctx_new(&ctx);
	r = install(&ctx, "u-1-py3-none-any.whl", "ru2", &scheme, &o, &w);
	setlocale(LC_CTYPE, "C.UTF-8");
	{
		char *a = snap("ru", true), *b = snap("ru2", true);

		check(r == 0 && !strcmp(a, b), "utf-8: the same tree when the process locale is C",
		      "r=%d %s", r, ctx.errmsg);
		free(a);
		free(b);
	}
	if (r == 0)
		wheel_installed_free(&w);
}

static void t_read_metadata(void)
{
	struct pkgimg_ctx ctx;
	struct sbuf s = SBUF_INIT;
	int r;

	ctx_new(&ctx);
	r = wheel_read_metadata(&ctx, P(DEMO_WHL), NULL, &s);
	check(r == 0 && s.buf && !strcmp(s.buf, metadata), "read_metadata: returns METADATA",
	      "r=%d %s [%s]", r, ctx.errmsg, s.buf ? s.buf : "");
	sbuf_free(&s);
	ctx_new(&ctx);
	r = wheel_read_metadata(&ctx, P("bad7/" DEMO_WHL), NULL, &s);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "more than one .dist-info"),
	      "read_metadata: two .dist-info dirs are refused", "r=%d %s", r, ctx.errmsg);
	sbuf_free(&s);
	ctx_new(&ctx);
	r = wheel_read_metadata(&ctx, P("demo_pkg.whl"), NULL, &s);
	check(r == -PKGIMG_E_PARSE, "read_metadata: a bad file name is refused", "r=%d %s", r,
	      ctx.errmsg);
	sbuf_free(&s);
	ctx_new(&ctx);
	r = wheel_read_metadata(&ctx, P("nothere-1.0-py3-none-any.whl"), NULL, &s);
	check(r == -ENOENT, "read_metadata: a missing file is -ENOENT", "r=%d %s", r, ctx.errmsg);
	sbuf_free(&s);
}

static void t_record_add(void)
{
	struct wheel_install_opts o = { .requested = true, .installer = "pkgimg", .mtime = EPOCH };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	const char *paths[] = {
		SITE "/demo_pkg/__pycache__/__init__.cpython-311.pyc",
		"/" SITE "/demo_pkg/__pycache__/cli.cpython-311.pyc",
		"usr/local/bin/extra-tool",
		SITE "/demo_pkg/cli.py",	/* listed already */
	};
	char *before, *after;
	struct stat st;
	int r;

	ctx_new(&ctx);
	r = install(&ctx, DEMO_WHL, "radd", &scheme, &o, &w);
	check(r == 0, "record_add: installs", "r=%d %s", r, ctx.errmsg);
	if (r < 0)
		return;
	before = slurp(P("radd/" SITE "/" DI "/RECORD"));
	{
		int fd = rootfd_of("radd");

		r = wheel_record_add(&ctx, fd, &w, paths, N(paths));
		close(fd);
	}
	after = slurp(P("radd/" SITE "/" DI "/RECORD"));
	check(r == 0 && after && strstr(after, "\r\ndemo_pkg/__pycache__/__init__.cpython-311.pyc,,\r\n"
					       "demo_pkg/__pycache__/cli.cpython-311.pyc,,\r\n"
					       "demo_pkg/cli.py,sha256="),
	      "record_add: .pyc rows as pip writes them (',,'), sorted in", "r=%d %s\n%s", r,
	      ctx.errmsg, after ? after : "");
	check(after && strstr(after, "../../../bin/demo-script,sha256=") &&
	      strstr(after, "\r\n../../../bin/extra-tool,,\r\n../../../bin/plain.sh,"),
	      "record_add: a path outside the site dir is written '../../../'", "%s",
	      after ? after : "");
	{
		size_t n1 = 0, n2 = 0;

		for (const char *p = before; p && *p; p++)
			n1 += *p == '\n';
		for (const char *p = after; p && *p; p++)
			n2 += *p == '\n';
		check(n2 == n1 + 3, "record_add: an already listed path is not added again",
		      "%zu -> %zu lines", n1, n2);
	}
	check(stat(P("radd/" SITE "/" DI "/RECORD"), &st) == 0 && st.st_mtim.tv_sec == EPOCH &&
	      (st.st_mode & 07777) == 0644,
	      "record_add: RECORD keeps its mode and mtime", "mode %o mtime %ld",
	      st.st_mode & 07777, (long)st.st_mtim.tv_sec);
	{
		int fd = rootfd_of("radd");
		char *again;

		r = wheel_record_add(&ctx, fd, &w, paths, N(paths));
		close(fd);
		again = slurp(P("radd/" SITE "/" DI "/RECORD"));
		check(r == 0 && again && after && !strcmp(again, after),
		      "record_add: adding the same paths twice changes nothing", "r=%d", r);
		free(again);
	}
	{
		const char *evil[] = { "usr/../../etc/passwd" };
		int fd = rootfd_of("radd");

		r = wheel_record_add(&ctx, fd, &w, evil, 1);
		close(fd);
		check(r == -PKGIMG_E_USAGE, "record_add: a '..' path is refused", "r=%d", r);
	}
	free(before);
	free(after);
	wheel_installed_free(&w);
}

/* Installing over an earlier install of the same wheel replaces its files. */
static void t_reinstall(void)
{
	struct wheel_install_opts o = { .requested = true, .installer = "pkgimg", .mtime = EPOCH };
	struct wheel_installed w;
	struct pkgimg_ctx ctx;
	char *a, *b;
	int r;

	ctx_new(&ctx);
	r = install(&ctx, DEMO_WHL, "r1", &scheme, &o, &w);
	if (r == 0)
		wheel_installed_free(&w);
	a = snap("r1", false);
	b = snap("r2", false);
	check(r == 0 && !strcmp(a, b), "reinstall: over itself gives the same tree", "r=%d %s", r,
	      ctx.errmsg);
	free(a);
	free(b);
}

int main(void)
{
	/* as cli/main.c: libarchive converts UTF-8 names through the locale */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C");
	if (!mkdtemp(work)) {
		perror(work);
		return 2;
	}
	t_demo();
	t_python();
	t_platlib();
	t_pip_scripts();
	t_long_shebang();
	t_errors();
	t_lenient();
	t_utf8();
	t_read_metadata();
	t_record_add();
	t_reinstall();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	if (getenv("WHEEL_TEST_KEEP"))
		printf("# kept %s\n", work);
	else
		fs_rm_rf(NULL, AT_FDCWD, work);
	return failures ? 1 : 0;
}
