/* pyspec/pylock.c and solver/pypi_exact.c: lock files of other tools read as
 * exact installs, and the PyPI part of a pkgimg lock written as theirs.
 *   - a PEP 751 pylock.toml written by hand, read as the PEP says: package
 *     markers with the `extras` and `dependency_groups` sets, default-groups,
 *     environments, requires-python, one entry per name, the lock's extras
 *     and groups checked, versions pkgimg does not read named;
 *   - a uv.lock written by hand: the graph from the virtual root with
 *     extras, the dev group, edge markers, uv's conflict markers, several
 *     versions of one name;
 *   - the real uv.lock (tests/fixtures/pypi/torch-closure) parses;
 *   - the exact layer: the best wheel by pip's tag priority, the errors for
 *     no wheel (files and tags named) and no sha256, a source handed to the
 *     builder;
 *   - pylock.toml and requirements.txt written from a lockfile, the first
 *     read back to the same packages.
 * Prints "ok - NAME" / "not ok - NAME" (+ "# detail"). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "core/toml.h"
#include "pyspec/pep508.h"
#include "pyspec/pylock.h"
#include "solver/pypi_exact.h"

#include "tests/unit/check.h"

#define HA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HB "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HC "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"

static char dir[PATH_MAX];
static char pathbuf[PATH_MAX + 64];
static struct pkgimg_ctx ctx;
static struct pep508_env env;

static const char *at(const char *name)
{
	snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir, name);
	return pathbuf;
}

static void wr(const char *name, const char *content)
{
	FILE *fp = fopen(at(name), "wb");

	if (!fp) {
		printf("Bail out! cannot write %s: %s\n", pathbuf, strerror(errno));
		exit(2);
	}
	fputs(content, fp);
	fclose(fp);
}

static bool has(const char *s, const char *sub)
{
	return s && strstr(s, sub) != NULL;
}

/* The names (and versions) selected, "a b==2 c", in lock order. */
static char *selected(const char *file, const struct pylock_want *want, int *rc)
{
	struct pylock lk;
	size_t *sel = NULL, n = 0;
	struct sbuf s = SBUF_INIT;

	pkgimg_ctx_init(&ctx);
	*rc = pylock_read(&ctx, at(file), &lk);
	if (*rc < 0)
		return NULL;
	*rc = pylock_select(&ctx, &lk, &env, want, &sel, &n);
	for (size_t i = 0; *rc == 0 && i < n; i++)
		sbuf_addf(&s, "%s%s", i ? " " : "", lk.pkgs[sel[i]].name);
	free(sel);
	pylock_free(&lk);
	return *rc == 0 ? (s.buf ? sbuf_detach(&s) : xstrdup("")) : (sbuf_free(&s), NULL);
}

static void check_sel(const char *name, const char *file, const struct pylock_want *want,
		      const char *expect)
{
	int rc;
	char *got = selected(file, want, &rc);

	check(rc == 0 && got && !strcmp(got, expect), name, "rc %d, got '%s', expected '%s': %s",
	      rc, got ? got : "(null)", expect, ctx.errmsg);
	free(got);
}

static void check_sel_err(const char *name, const char *file, const struct pylock_want *want,
			  const char *w1, const char *w2)
{
	int rc;
	char *got = selected(file, want, &rc);

	check(rc < 0 && has(ctx.errmsg, w1) && (!w2 || has(ctx.errmsg, w2)), name,
	      "rc %d, got '%s', message: %s", rc, got ? got : "(null)", ctx.errmsg);
	free(got);
}

/* ---- PEP 751 ---- */

static const char pep751[] =
	"lock-version = '1.0'\n"
	"environments = [\"sys_platform == 'linux'\", \"sys_platform == 'darwin'\"]\n"
	"requires-python = '>=3.9'\n"
	"extras = ['fast', 'Docs']\n"
	"dependency-groups = ['dev', 'test']\n"
	"default-groups = ['dev']\n"
	"created-by = 'hand'\n"
	"\n"
	"[[packages]]\n"
	"name = 'Always_There'\n"
	"version = '1.0'\n"
	"index = 'https://example.org/simple'\n"
	"wheels = [{ name = 'always_there-1.0-py3-none-any.whl', url = "
	"'https://example.org/f/always_there-1.0-py3-none-any.whl', size = 10, "
	"hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'fastlib'\n"
	"version = '2.0'\n"
	"marker = \"'fast' in extras\"\n"
	"[[packages.wheels]]\n"
	"url = 'https://example.org/f/fastlib-2.0-py3-none-any.whl'\n"
	"upload-time = 2025-01-01T00:00:00Z\n"
	"hashes = { sha256 = '" HB "', md5 = 'x' }\n"
	"\n"
	"[[packages]]\n"
	"name = 'docgen'\n"
	"version = '1.0'\n"
	"marker = \"'docs' in extras and python_version >= '3.8'\"\n"
	"wheels = [{ path = 'wheels/docgen-1.0-py3-none-any.whl', hashes = { sha256 = '" HC "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'devtool'\n"
	"version = '1.0'\n"
	"marker = \"'dev' in dependency_groups\"\n"
	"wheels = [{ url = 'https://example.org/f/devtool-1.0-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'testtool'\n"
	"version = '1.0'\n"
	"marker = \"'test' in dependency_groups or 'test' not in dependency_groups and 'fast' in extras\"\n"
	"wheels = [{ url = 'https://example.org/f/testtool-1.0-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'winonly'\n"
	"version = '1.0'\n"
	"marker = \"sys_platform == 'win32'\"\n"
	"wheels = [{ url = 'https://example.org/f/winonly-1.0-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'oldpy'\n"
	"version = '1.0'\n"
	"marker = \"python_version < '3.10'\"\n"
	"wheels = [{ url = 'https://example.org/f/oldpy-1.0-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'numpy'\n"
	"version = '1.26.4'\n"
	"marker = \"platform_machine == 'aarch64'\"\n"
	"wheels = [{ url = 'https://example.org/f/numpy-1.26.4-cp311-cp311-manylinux_2_17_aarch64.whl', hashes = { sha256 = '" HA "' } }]\n"
	"\n"
	"[[packages]]\n"
	"name = 'numpy'\n"
	"version = '1.26.3'\n"
	"marker = \"platform_machine == 'x86_64'\"\n"
	"requires-python = '>=3.9'\n"
	"wheels = [\n"
	"  { url = 'https://example.org/f/numpy-1.26.3-cp311-cp311-musllinux_1_1_x86_64.whl', hashes = { sha256 = '" HA "' } },\n"
	"  { url = 'https://example.org/f/numpy-1.26.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', hashes = { sha256 = '" HB "' } },\n"
	"  { url = 'https://example.org/f/numpy-1.26.3-cp311-cp311-manylinux_2_5_x86_64.whl', hashes = { sha256 = '" HC "' } },\n"
	"  { url = 'https://example.org/f/numpy-1.26.3-cp311-cp311-win_amd64.whl', hashes = { sha256 = '" HA "' } },\n"
	"  { url = 'https://example.org/f/numpy-1.26.3-cp39-abi3-manylinux_2_28_x86_64.whl', hashes = { sha256 = '" HA "' } },\n"
	"]\n"
	"[packages.tool.other]\n"
	"x = 1\n"
	"\n"
	"[tool.other]\n"
	"y = 2\n";

static void t_pep751_select(void)
{
	static const char *const fast[] = { "fast" }, *const docs[] = { "DOCS" };
	static const char *const test[] = { "test" }, *const nope[] = { "nope" };
	struct pylock_want none = { 0 };
	struct pylock_want wfast = { fast, 1, NULL, 0, false };
	struct pylock_want wdocs = { docs, 1, NULL, 0, false };
	struct pylock_want nogroups = { NULL, 0, NULL, 0, true };
	struct pylock_want wtest = { NULL, 0, test, 1, true };
	struct pylock_want wbad = { nope, 1, NULL, 0, false };
	struct pylock_want wbadg = { NULL, 0, nope, 1, true };

	wr("pylock.toml", pep751);
	check_sel("pep751: default: markers without extras, default-groups ['dev'] in "
		  "dependency_groups, the x86_64 numpy of two", "pylock.toml", &none,
		  "always-there devtool numpy");
	check_sel("pep751: extras = ['fast']: 'fast' in extras holds (testtool's or-branch too)",
		  "pylock.toml", &wfast, "always-there fastlib devtool testtool numpy");
	check_sel("pep751: an extra is compared PEP 685-normalised ('DOCS' selects 'docs')",
		  "pylock.toml", &wdocs, "always-there docgen devtool numpy");
	check_sel("pep751: groups given as none: default-groups not used", "pylock.toml", &nogroups,
		  "always-there numpy");
	check_sel("pep751: group 'test' only: 'dev' not in dependency_groups", "pylock.toml", &wtest,
		  "always-there testtool numpy");
	check_sel_err("pep751: an extra the lock does not list is an error naming it",
		      "pylock.toml", &wbad, "extra 'nope'", "pylock.toml");
	check_sel_err("pep751: a group the lock does not list is an error naming it",
		      "pylock.toml", &wbadg, "dependency group 'nope'", NULL);
}

static void t_pep751_refusals(void)
{
	struct pylock_want none = { 0 };
	struct sbuf s = SBUF_INIT;
	struct pylock lk;
	int rc;

	wr("pylock.v2.toml", "lock-version = '2.0'\n[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = []\n");
	pkgimg_ctx_init(&ctx);
	rc = pylock_read(&ctx, at("pylock.v2.toml"), &lk);
	check(rc == -PKGIMG_E_PARSE && has(ctx.errmsg, "lock-version '2.0'") &&
	      has(ctx.errmsg, "1.x"), "pep751: lock-version 2.0 is named as one pkgimg does not read",
	      "rc %d: %s", rc, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);

	wr("pylock.win.toml", "lock-version = '1.0'\nenvironments = [\"sys_platform == 'win32'\"]\n"
	   "[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'https://x/a-1-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n");
	check_sel_err("pep751: environments none of which holds: an error naming the target",
		      "pylock.win.toml", &none, "none of its environments", "3.11.2");

	wr("pylock.py.toml", "lock-version = '1.0'\nrequires-python = '>=3.12'\n"
	   "[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'https://x/a-1-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n");
	check_sel_err("pep751: requires-python the image's Python misses: named with the fix",
		      "pylock.py.toml", &none, "requires-python '>=3.12'", "--python");

	wr("pylock.two.toml", "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'https://x/a-1-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n"
	   "[[packages]]\nname = 'A'\nversion = '2'\nmarker = \"os_name == 'posix'\"\n"
	   "wheels = [{ url = 'https://x/a-2-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n");
	check_sel_err("pep751: two entries of one name that both apply: an error (PEP 751)",
		      "pylock.two.toml", &none, "two entries", "lines 2 and");

	wr("pylock.nohash.toml", "lock-version = '1.0'\n[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'https://x/a-1-py3-none-any.whl' }]\n");
	pkgimg_ctx_init(&ctx);
	rc = pylock_read(&ctx, at("pylock.nohash.toml"), &lk);
	check(rc < 0 && has(ctx.errmsg, "no 'hashes'") && has(ctx.errmsg, "pylock.nohash.toml:"),
	      "pep751: a wheel without hashes is refused with the file and line", "rc %d: %s", rc,
	      ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);

	wr("pylock.badhash.toml", "lock-version = '1.0'\n[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'https://x/a-1-py3-none-any.whl', hashes = { sha256 = 'ABC' } }]\n");
	pkgimg_ctx_init(&ctx);
	rc = pylock_read(&ctx, at("pylock.badhash.toml"), &lk);
	check(rc < 0 && has(ctx.errmsg, "sha256 'ABC'"), "pep751: a sha256 that is not 64 hex "
	      "digits is refused", "rc %d: %s", rc, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);

	wr("pylock.url.toml", "lock-version = '1.0'\n[[packages]]\nname = 'a'\nversion = '1'\n"
	   "wheels = [{ url = 'ftp://x/a-1-py3-none-any.whl', hashes = { sha256 = '" HA "' } }]\n");
	pkgimg_ctx_init(&ctx);
	rc = pylock_read(&ctx, at("pylock.url.toml"), &lk);
	check(rc < 0 && has(ctx.errmsg, "ftp://"), "pep751: a URL that is not http(s) or file "
	      "is refused", "rc %d: %s", rc, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);
	sbuf_free(&s);
	check(pylock_is_pylock_name("x/pylock.toml") && pylock_is_pylock_name("pylock.dev.toml") &&
	      !pylock_is_pylock_name("pylock..toml") && !pylock_is_pylock_name("pylock.a.b.toml") &&
	      !pylock_is_pylock_name("requirements.txt") && !pylock_is_pylock_name("mypylock.toml"),
	      "pylock.toml and pylock.NAME.toml are lock file names; others are not", "%s", "");
}

/* ---- uv.lock ---- */

static const char uvlock[] =
	"version = 1\n"
	"revision = 3\n"
	"requires-python = \">=3.10\"\n"
	"\n"
	"[[package]]\n"
	"name = \"app\"\n"
	"version = \"0.1.0\"\n"
	"source = { virtual = \".\" }\n"
	"dependencies = [\n"
	"    { name = \"requests\" },\n"
	"    { name = \"colorama\", marker = \"sys_platform == 'win32'\" },\n"
	"    { name = \"torch\", version = \"2.2.1\", source = { registry = \"https://pypi.org/simple\" }, marker = \"extra == 'extra-3-app-old'\" },\n"
	"    { name = \"torch\", version = \"2.5.1\", source = { registry = \"https://pypi.org/simple\" }, marker = \"extra != 'extra-3-app-old'\" },\n"
	"]\n"
	"[package.optional-dependencies]\n"
	"socks = [{ name = \"requests\", extra = [\"socks\"] }]\n"
	"old = [{ name = \"numpy\" }]\n"
	"[package.dev-dependencies]\n"
	"dev = [{ name = \"pytest\" }]\n"
	"lint = [{ name = \"ruff\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"requests\"\n"
	"version = \"2.32.3\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"dependencies = [{ name = \"idna\" }]\n"
	"sdist = { url = \"https://x/requests-2.32.3.tar.gz\", hash = \"sha256:" HA "\", size = 5 }\n"
	"wheels = [{ url = \"https://x/requests-2.32.3-py3-none-any.whl\", hash = \"sha256:" HB "\", size = 7, upload-time = \"2024-05-29T15:37:47.027Z\" }]\n"
	"[package.optional-dependencies]\n"
	"socks = [{ name = \"pysocks\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"idna\"\n"
	"version = \"3.10\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/idna-3.10-py3-none-any.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"pysocks\"\n"
	"version = \"1.7.1\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/PySocks-1.7.1-py3-none-any.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"colorama\"\n"
	"version = \"0.4.6\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/colorama-0.4.6-py2.py3-none-any.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"torch\"\n"
	"version = \"2.2.1\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/torch-2.2.1-cp311-cp311-manylinux1_x86_64.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"torch\"\n"
	"version = \"2.5.1\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"numpy\"\n"
	"version = \"1.26.4\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"pytest\"\n"
	"version = \"8.0.0\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/pytest-8.0.0-py3-none-any.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"ruff\"\n"
	"version = \"0.5.0\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/ruff-0.5.0-py3-none-manylinux_2_17_x86_64.whl\", hash = \"sha256:" HA "\" }]\n"
	"\n"
	"[[package]]\n"
	"name = \"unrelated\"\n"
	"version = \"1.0\"\n"
	"source = { registry = \"https://pypi.org/simple\" }\n"
	"wheels = [{ url = \"https://x/unrelated-1.0-py3-none-any.whl\", hash = \"sha256:" HA "\" }]\n";

/* "name==version ..." of the selection. */
static char *selected_versions(const char *file, const struct pylock_want *want, int *rc)
{
	struct pylock lk;
	size_t *sel = NULL, n = 0;
	struct sbuf s = SBUF_INIT;

	pkgimg_ctx_init(&ctx);
	*rc = pylock_read(&ctx, at(file), &lk);
	if (*rc < 0)
		return NULL;
	*rc = pylock_select(&ctx, &lk, &env, want, &sel, &n);
	for (size_t i = 0; *rc == 0 && i < n; i++)
		sbuf_addf(&s, "%s%s==%s", i ? " " : "", lk.pkgs[sel[i]].name,
			  lk.pkgs[sel[i]].version);
	free(sel);
	pylock_free(&lk);
	if (*rc < 0) {
		sbuf_free(&s);
		return NULL;
	}
	return s.buf ? sbuf_detach(&s) : xstrdup("");
}

static void check_uv(const char *name, const struct pylock_want *want, const char *expect)
{
	int rc;
	char *got = selected_versions("uv.lock", want, &rc);

	check(rc == 0 && got && !strcmp(got, expect), name, "rc %d, got '%s', expected '%s': %s",
	      rc, got ? got : "(null)", expect, ctx.errmsg);
	free(got);
}

static void t_uv_select(void)
{
	static const char *const socks[] = { "socks" }, *const old[] = { "old" };
	static const char *const lint[] = { "lint" }, *const nope[] = { "nope" };
	struct pylock_want none = { 0 };
	struct pylock_want wsocks = { socks, 1, NULL, 0, false };
	struct pylock_want wold = { old, 1, NULL, 0, true };
	struct pylock_want wlint = { NULL, 0, lint, 1, true };
	struct pylock_want wbad = { nope, 1, NULL, 0, false };
	int rc;
	char *got;

	wr("uv.lock", uvlock);
	check_uv("uv.lock: from the virtual root: its dependencies whose markers hold, "
		 "the dev group by default, torch 2.5.1 by uv's conflict marker", &none,
		 "app==0.1.0 requests==2.32.3 idna==3.10 torch==2.5.1 pytest==8.0.0");
	check_uv("uv.lock: extra socks: requests[socks] follows requests' own extra", &wsocks,
		 "app==0.1.0 requests==2.32.3 idna==3.10 pysocks==1.7.1 torch==2.5.1 pytest==8.0.0");
	check_uv("uv.lock: extra old, no groups: extra == 'extra-3-app-old' picks torch 2.2.1",
		 &wold, "app==0.1.0 requests==2.32.3 idna==3.10 torch==2.2.1 numpy==1.26.4");
	check_uv("uv.lock: group lint instead of dev (no default groups)", &wlint,
		 "app==0.1.0 requests==2.32.3 idna==3.10 torch==2.5.1 ruff==0.5.0");
	wlint.no_default_groups = false;
	check_uv("uv.lock: group lint and the default dev, as uv sync --group lint", &wlint,
		 "app==0.1.0 requests==2.32.3 idna==3.10 torch==2.5.1 pytest==8.0.0 ruff==0.5.0");
	got = selected_versions("uv.lock", &wbad, &rc);
	check(rc < 0 && has(ctx.errmsg, "extra 'nope'"), "uv.lock: an extra the project does not "
	      "have is an error naming it", "rc %d: %s", rc, ctx.errmsg);
	free(got);

	{
		struct pylock_want wbadg = { NULL, 0, nope, 1, false };

		got = selected_versions("uv.lock", &wbadg, &rc);
		check(rc < 0 && has(ctx.errmsg, "dependency group 'nope'"), "uv.lock: a group the "
		      "project does not have is an error naming it", "rc %d: %s", rc, ctx.errmsg);
		free(got);
	}
	wr("uv2.lock", "version = 2\n[[package]]\nname = \"a\"\nversion = \"1\"\n"
	   "source = { registry = \"https://pypi.org/simple\" }\n");
	got = selected_versions("uv2.lock", &none, &rc);
	check(rc == -PKGIMG_E_PARSE && has(ctx.errmsg, "uv.lock version 2") &&
	      has(ctx.errmsg, "version 1 only"), "uv.lock: version 2 is named as one pkgimg does "
	      "not read", "rc %d: %s", rc, ctx.errmsg);
	free(got);
}

/* The real uv.lock of uv's test suite (torch 2.2.1 with every wheel).  uv's
 * snapshot filter wrote h5py's version as "3.12.[X]": refused as not PEP
 * 440, and read once it is 3.12.1 again (the h5py release of 2024-09-26). */
static void t_uv_real(void)
{
	const char *src = getenv("PKGIMG_SRC");
	char *path = xasprintf("%s/tests/fixtures/pypi/torch-closure/uv.lock", src ? src : ".");
	struct sbuf text = SBUF_INIT, fixed = SBUF_INIT;
	struct toml_value root;
	struct pylock lk;
	size_t torch = 0, nwheels = 0;
	const char *p, *q;
	int rc;

	pkgimg_ctx_init(&ctx);
	rc = pylock_read(&ctx, path, &lk);
	check(rc == -PKGIMG_E_PARSE && has(ctx.errmsg, "uv.lock:652:") &&
	      has(ctx.errmsg, "h5py: version '3.12.[X]' is not a PEP 440 version"),
	      "uv.lock: the real lock as uv's snapshot has it: h5py's redacted version "
	      "'3.12.[X]' is refused with its line", "rc %d: %s", rc, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);
	rc = fs_read_file(&ctx, AT_FDCWD, path, &text);
	for (p = text.buf; rc == 0 && (q = strstr(p, "3.12.[X]")); p = q + 8) {
		sbuf_add(&fixed, p, (size_t)(q - p));
		sbuf_adds(&fixed, "3.12.1");
	}
	if (rc == 0)
		sbuf_adds(&fixed, p);
	if (rc == 0)
		rc = toml_parse(&ctx, "uv.lock", fixed.buf, fixed.len, &root);
	if (rc == 0) {
		rc = pylock_from_toml(&ctx, "uv.lock", &root, &lk);
		toml_free(&root);
	}
	for (size_t i = 0; rc == 0 && i < lk.npkgs; i++) {
		nwheels += lk.pkgs[i].nwheels;
		if (!strcmp(lk.pkgs[i].name, "torch") && !strcmp(lk.pkgs[i].version, "2.2.1"))
			torch = lk.pkgs[i].nwheels;
	}
	check(rc == 0 && lk.format == PYLOCK_UV && lk.npkgs == 115 && nwheels == 1203 && torch > 0,
	      "uv.lock: the real lock (uv's lock_conflict scenario, h5py 3.12.1) reads: 115 "
	      "packages, 1203 wheels", "rc %d, %zu packages, %zu wheels, torch 2.2.1 %zu: %s", rc,
	      rc == 0 ? lk.npkgs : 0, nwheels, torch, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);
	sbuf_free(&text);
	sbuf_free(&fixed);
	free(path);
}

/* ---- the exact layer ---- */

static int builds;

static int fake_build(void *arg, struct pkgimg_ctx *c, const struct lockfile *below,
		      const struct pypi_target *t, const struct pypi_request *rq,
		      const struct pypi_src *src, struct pypi_built *out)
{
	(void)arg; (void)c; (void)below; (void)t; (void)rq;
	builds++;
	if (!src->sha256 || strcmp(src->sha256, HC) ||
	    !(src->kind == PYPI_SRC_SDIST && !strcmp(src->name, "onlysrc")) ==
	    !(src->kind == PYPI_SRC_URL && !strcmp(src->name, "urlpkg") &&
	      !strcmp(src->url, "https://example.org/urlpkg-2.0.tar.gz")))
		return -PKGIMG_E_USAGE;
	out->name = xstrdup(src->name);
	out->version = xstrdup(src->kind == PYPI_SRC_URL ? "2.0" : "1.0");
	out->src_sha256 = xstrdup(HC);
	out->src_size = 42;
	out->src_filename = xasprintf("%s-%s.tar.gz", src->name, out->version);
	out->wheel_filename = xasprintf("%s-%s-py3-none-any.whl", src->name, out->version);
	out->wheel_sha256 = xstrdup(HB);
	out->wheel_size = 7;
	return 0;
}

static const struct lock_pkg *find_pkg(const struct lockfile *lf, const char *name)
{
	for (int i = 0; i < lf->nlayers; i++)
		for (int k = 0; k < lf->layers[i].npkgs; k++)
			if (!strcmp(lf->layers[i].pkgs[k].name, name))
				return &lf->layers[i].pkgs[k];
	return NULL;
}

static int exact(const char *file, const struct pypi_builder *b, struct lockfile *lf)
{
	struct pypi_target t = { (char *)"3.11.2", (char *)"/usr/bin/python3.11",
				 (char *)"x86_64", 2, 36 };
	struct pypi_request rq = { 0 };

	memset(lf, 0, sizeof *lf);
	rq.pylock = at(file);
	rq.builder = b;
	pkgimg_ctx_init(&ctx);
	return pypi_exact_layer(&ctx, NULL, &rq, &t, lf);
}

static void t_exact(void)
{
	struct pypi_builder b = { fake_build, NULL };
	struct lockfile lf;
	const struct lock_pkg *p;
	int rc;

	/* every size given, so nothing is fetched (no store) */
	wr("pylock.sizes.toml",
	   "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'numpy'\nversion = '1.26.3'\nindex = 'https://example.org/simple'\n"
	   "wheels = [\n"
	   "  { url = 'https://x/numpy-1.26.3-cp311-cp311-musllinux_1_1_x86_64.whl', size = 1, hashes = { sha256 = '" HA "' } },\n"
	   "  { url = 'https://x/numpy-1.26.3-cp39-abi3-manylinux_2_28_x86_64.whl', size = 2, hashes = { sha256 = '" HA "' } },\n"
	   "  { url = 'https://x/numpy-1.26.3-cp311-cp311-manylinux_2_5_x86_64.whl', size = 3, hashes = { sha256 = '" HC "' } },\n"
	   "  { url = 'https://x/numpy-1.26.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl', size = 4, hashes = { sha256 = '" HB "' } },\n"
	   "  { url = 'https://x/numpy-1.26.3-py3-none-any.whl', size = 5, hashes = { sha256 = '" HA "' } },\n"
	   "]\n"
	   "[[packages]]\nname = 'local'\nversion = '1.0'\n"
	   "wheels = [{ path = 'w/local-1.0-py3-none-any.whl', size = 9, hashes = { sha256 = '" HA "' } }]\n"
	   "[packages.tool.pkgimg]\nrequested-by = '--pip local'\n"
	   "[tool.pkgimg]\nstep = 'pip: numpy local'\n");
	rc = exact("pylock.sizes.toml", NULL, &lf);
	p = rc == 0 ? find_pkg(&lf, "numpy") : NULL;
	check(p && !strcmp(p->filename,
			   "numpy-1.26.3-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl") &&
	      !strcmp(p->sha256, HB) && p->size == 4 &&
	      !strcmp(p->arch, "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64") &&
	      !strcmp(p->index, "https://example.org/simple") &&
	      !strcmp(p->requested_by, "--pip-lock pylock.sizes.toml"),
	      "exact: of five wheels the best by pip's tag priority (cp311 manylinux_2_17 before "
	      "manylinux_2_5, abi3, musllinux, py3-none-any)", "rc %d, %s: %s", rc,
	      p ? p->filename : "(none)", ctx.errmsg);
	p = rc == 0 ? find_pkg(&lf, "local") : NULL;
	check(p && has(p->url, "file:///") && has(p->url, "/w/local-1.0-py3-none-any.whl") &&
	      !strcmp(p->requested_by, "--pip local") && lf.nlayers == 1 &&
	      !strcmp(lf.layers[0].step, "pip: numpy local") && lf.layers[0].kind == LOCK_PIP &&
	      lf.python && !strcmp(lf.python, "3.11.2") && lf.nsources == 1,
	      "exact: a path is a file:// URL next to the lock; pkgimg's own step and "
	      "requested-by come back", "rc %d, %s: %s", rc, p ? p->url : "(none)", ctx.errmsg);
	lockfile_free(&lf);

	wr("pylock.nowheel.toml",
	   "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'winonly'\nversion = '1.0'\n"
	   "wheels = [{ url = 'https://x/winonly-1.0-cp311-cp311-win_amd64.whl', size = 1, hashes = { sha256 = '" HA "' } },\n"
	   "  { url = 'https://x/winonly-1.0-cp311-cp311-macosx_11_0_arm64.whl', size = 1, hashes = { sha256 = '" HA "' } }]\n");
	rc = exact("pylock.nowheel.toml", NULL, &lf);
	check(rc == -PKGIMG_E_SOLVE && has(ctx.errmsg, "winonly 1.0 has no wheel for this image") &&
	      has(ctx.errmsg, "winonly-1.0-cp311-cp311-win_amd64.whl") &&
	      has(ctx.errmsg, "macosx_11_0_arm64") &&
	      has(ctx.errmsg, "cp311-cp311-manylinux_2_36_x86_64") && has(ctx.errmsg, "glibc 2.36"),
	      "exact: no wheel for the target: the package, the files offered and the tags named",
	      "rc %d: %s", rc, ctx.errmsg);
	lockfile_free(&lf);

	wr("pylock.sdist.toml",
	   "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'onlysrc'\nversion = '1.0'\nindex = 'https://example.org/simple'\n"
	   "sdist = { url = 'https://x/onlysrc-1.0.tar.gz', size = 42, hashes = { sha256 = '" HC "' } }\n");
	rc = exact("pylock.sdist.toml", NULL, &lf);
	check(rc == -PKGIMG_E_SOLVE && has(ctx.errmsg, "onlysrc 1.0 has no wheel") &&
	      has(ctx.errmsg, "onlysrc-1.0.tar.gz") && has(ctx.errmsg, "builds no sources"),
	      "exact: only an sdist and no builder: an error naming it and its sdist", "rc %d: %s",
	      rc, ctx.errmsg);
	lockfile_free(&lf);
	builds = 0;
	rc = exact("pylock.sdist.toml", &b, &lf);
	p = rc == 0 ? find_pkg(&lf, "onlysrc") : NULL;
	check(builds == 1 && p && p->source && !strcmp(p->source, "sdist") &&
	      !strcmp(p->sha256, HC) && p->size == 42 &&
	      !strcmp(p->wheel_filename, "onlysrc-1.0-py3-none-any.whl") &&
	      !strcmp(p->wheel_sha256, HB) && !strcmp(p->url, "https://x/onlysrc-1.0.tar.gz") &&
	      !p->direct, "exact: only an sdist with a builder: built once, the lock records the "
	      "sdist and the wheel", "rc %d, builds %d: %s", rc, builds, ctx.errmsg);
	lockfile_free(&lf);

	wr("uvurl.lock",
	   "version = 1\n"
	   "[[package]]\nname = \"app\"\nversion = \"0.1\"\nsource = { virtual = \".\" }\n"
	   "dependencies = [{ name = \"urlpkg\" }]\n"
	   "[[package]]\nname = \"urlpkg\"\nversion = \"2.0\"\n"
	   "source = { url = \"https://example.org/urlpkg-2.0.tar.gz\" }\n"
	   "sdist = { hash = \"sha256:" HC "\" }\n");
	rc = exact("uvurl.lock", NULL, &lf);
	check(rc == -PKGIMG_E_SOLVE && has(ctx.errmsg, "urlpkg 2.0 has no wheel") &&
	      has(ctx.errmsg, "urlpkg-2.0.tar.gz"), "exact: uv.lock source = { url } with its "
	      "sdist = { hash } only, no builder: refused naming the archive", "rc %d: %s", rc,
	      ctx.errmsg);
	lockfile_free(&lf);
	rc = exact("uvurl.lock", &b, &lf);
	p = rc == 0 ? find_pkg(&lf, "urlpkg") : NULL;
	check(p && !strcmp(p->source, "url") && p->direct &&
	      !strcmp(p->url, "https://example.org/urlpkg-2.0.tar.gz") && !strcmp(p->sha256, HC) &&
	      !strcmp(p->requested_by, "--pip-lock uvurl.lock") && !find_pkg(&lf, "app"),
	      "exact: the uv.lock archive by URL built by the builder, recorded as a direct URL "
	      "source; the virtual root is not installed", "rc %d: %s", rc, ctx.errmsg);
	lockfile_free(&lf);

	wr("uvproj.lock",
	   "version = 1\n"
	   "[[package]]\nname = \"proj\"\nversion = \"0.1\"\nsource = { editable = \".\" }\n"
	   "dependencies = [{ name = \"idna\" }]\n"
	   "[[package]]\nname = \"idna\"\nversion = \"3.10\"\n"
	   "source = { registry = \"https://pypi.org/simple\" }\n"
	   "wheels = [{ url = \"https://x/idna-3.10-py3-none-any.whl\", hash = \"sha256:" HA "\", size = 3 }]\n");
	rc = exact("uvproj.lock", NULL, &lf);
	check(rc == -PKGIMG_E_SOLVE && has(ctx.errmsg, "proj 0.1 is the lock's own project") &&
	      has(ctx.errmsg, "tool.uv.package = false"), "exact: uv.lock's editable root with no "
	      "builder: refused, with the way to install its dependencies only", "rc %d: %s", rc,
	      ctx.errmsg);
	lockfile_free(&lf);

	wr("pylock.nosha.toml",
	   "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'a'\nversion = '1.0'\n"
	   "wheels = [{ url = 'https://x/a-1.0-py3-none-any.whl', size = 1, hashes = { md5 = 'abc' } }]\n");
	rc = exact("pylock.nosha.toml", NULL, &lf);
	check(rc == -PKGIMG_E_PARSE && has(ctx.errmsg, "no sha256 for a-1.0-py3-none-any.whl"),
	      "exact: a wheel with no sha256 (md5 only) is refused", "rc %d: %s", rc, ctx.errmsg);
	lockfile_free(&lf);

	wr("pylock.other.toml",
	   "lock-version = '1.0'\n"
	   "[[packages]]\nname = 'a'\nversion = '1.0'\n"
	   "wheels = [{ url = 'https://x/b-1.0-py3-none-any.whl', size = 1, hashes = { sha256 = '" HA "' } }]\n");
	rc = exact("pylock.other.toml", NULL, &lf);
	check(rc == -PKGIMG_E_PARSE && has(ctx.errmsg, "another project or version"),
	      "exact: a wheel of another project under a package is refused", "rc %d: %s", rc,
	      ctx.errmsg);
	lockfile_free(&lf);
}

/* ---- writing ---- */

static void t_write(void)
{
	struct lockfile lf = { 0 };
	struct lock_layer *l;
	struct sbuf out = SBUF_INIT, req = SBUF_INIT, again = SBUF_INIT;
	struct toml_value root;
	struct pylock lk;
	int rc;

	lf.version = 1;
	lf.platform = xstrdup("linux/amd64");
	lf.base = xstrdup("debian-slim");
	lf.python = xstrdup("3.11.2");
	lf.nsources = 1;
	lf.sources = xcalloc(1, sizeof *lf.sources);
	lf.sources[0].type = xstrdup("pypi");
	lf.sources[0].uri = xstrdup("http://127.0.0.1:1/simple/");
	lf.nlayers = 1;
	lf.layers = xcalloc(1, sizeof *lf.layers);
	l = &lf.layers[0];
	l->step = xstrdup("pip: jinja2==3.1.5 \"quoted\"");
	l->kind = LOCK_PIP;
	l->npkgs = 2;
	l->pkgs = xcalloc(2, sizeof *l->pkgs);
	for (int i = 0; i < 2; i++) {
		struct lock_pkg *p = &l->pkgs[i];

		p->ecosystem = xstrdup("pypi");
		p->name = xstrdup(i ? "jinja2" : "markupsafe");
		p->version = xstrdup(i ? "3.1.5" : "3.0.2");
		p->filename = xstrdup(i ? "jinja2-3.1.5-py3-none-any.whl" :
				      "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.whl");
		p->arch = xstrdup(i ? "py3-none-any" : "cp311-cp311-manylinux_2_17_x86_64");
		p->url = xasprintf("http://127.0.0.1:1/files/%s", p->filename);
		p->sha256 = xstrdup(i ? HA : HB);
		p->size = i ? 134 : 20;
		p->requested_by = xstrdup(i ? "--pip jinja2==3.1.5" : "dependency");
		p->index = xstrdup("http://127.0.0.1:1/simple/");
	}
	pkgimg_ctx_init(&ctx);
	rc = pylock_write(&ctx, &lf, &out);
	check(rc == 0 && has(out.buf, "lock-version = \"1.0\"\n") &&
	      has(out.buf, "created-by = \"pkgimg\"\n") &&
	      has(out.buf, "requires-python = \"==3.11.*\"\n") &&
	      has(out.buf, "platform_machine == \\\"x86_64\\\"") &&
	      strstr(out.buf, "name = \"jinja2\"") < strstr(out.buf, "name = \"markupsafe\"") &&
	      has(out.buf, "hashes = { sha256 = \"" HA "\" }") &&
	      has(out.buf, "step = \"pip: jinja2==3.1.5 \\\"quoted\\\"\""),
	      "write: pylock.toml with lock-version, created-by, requires-python, environments, "
	      "packages sorted by name, hashes, pkgimg's step escaped", "rc %d: %s\n%s", rc,
	      ctx.errmsg, out.buf ? out.buf : "");
	rc = toml_parse(&ctx, "written", out.buf, out.len, &root);
	if (rc == 0) {
		rc = pylock_from_toml(&ctx, "written", &root, &lk);
		toml_free(&root);
	}
	check(rc == 0 && lk.npkgs == 2 && !strcmp(lk.pkgs[1].name, "markupsafe") &&
	      lk.pkgs[1].nwheels == 1 && !strcmp(lk.pkgs[1].wheels[0].sha256, HB) &&
	      lk.pkgs[1].wheels[0].size == 20 &&
	      !strcmp(lk.pkgs[1].wheels[0].name,
		      "MarkupSafe-3.0.2-cp311-cp311-manylinux_2_17_x86_64.whl") &&
	      !strcmp(lk.pkgs[0].requested_by, "--pip jinja2==3.1.5") &&
	      !strcmp(lk.step, "pip: jinja2==3.1.5 \"quoted\"") &&
	      !strcmp(lk.pkgs[0].index, "http://127.0.0.1:1/simple/"),
	      "write: the pylock.toml parses back (TOML and PEP 751) to the same packages",
	      "rc %d: %s", rc, ctx.errmsg);
	if (rc == 0)
		pylock_free(&lk);
	rc = pylock_write(&ctx, &lf, &again);
	check(rc == 0 && again.len == out.len && !memcmp(again.buf, out.buf, out.len),
	      "write: the same lock gives the same bytes", "%s", "");
	rc = pylock_write_requirements(&ctx, &lf, &req);
	check(rc == 0 && has(req.buf, "--index-url http://127.0.0.1:1/simple/\n\n"
			     "jinja2==3.1.5 \\\n    --hash=sha256:" HA "\n"
			     "    # via --pip jinja2==3.1.5\n"
			     "markupsafe==3.0.2 \\\n    --hash=sha256:" HB "\n"),
	      "write: requirements.txt: --index-url, sorted name==version lines with "
	      "--hash continuations, as pip-compile writes them", "rc %d: %s", rc,
	      req.buf ? req.buf : "");
	l->kind = LOCK_APT;
	sbuf_reset(&out);
	rc = pylock_write(&ctx, &lf, &out);
	check(rc == -PKGIMG_E_USAGE && has(ctx.errmsg, "no PyPI package"), "write: a lock without "
	      "a pip layer is an error, not an empty file", "rc %d: %s", rc, ctx.errmsg);
	sbuf_free(&out);
	sbuf_free(&req);
	sbuf_free(&again);
	lockfile_free(&lf);
}

static void rm_tree(void)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);

	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	free(cmd);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/pkgimg-pylock-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.2", "x86_64", NULL, NULL);
	t_pep751_select();
	t_pep751_refusals();
	t_uv_select();
	t_uv_real();
	t_exact();
	t_write();
	pep508_env_free(&env);
	rm_tree();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
