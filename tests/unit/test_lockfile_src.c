/* core/lockfile.c, PyPI packages built from source (issue 18): the source
 * kind, git commit, subdirectory, direct flag, built wheel and build
 * environment are written in canonical form and read back the same; every
 * malformed entry is refused with the key and LINE:COL (a git source
 * without a full commit, a commit on an archive, a short wheel_sha256, a
 * subdirectory that climbs out, a build environment nested in a build
 * environment or holding a source package, one too long, a key that only a
 * source package has on a plain wheel).
 * Prints "ok - NAME" / "not ok - NAME"; exits non-zero on a failure. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/lockfile.h"
#include "core/str.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

#define SHA "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define WSHA "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"

/* A lockfile with one pypi package whose extra lines are `extra` (each
 * "    key: value\n"), and url/sha256 given. */
static char *lock_src(const char *sha, const char *extra)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_addf(&sb, "version: 1\nplatform: linux/amd64\nbase: scratch\npython: \"3.11.2\"\n"
		  "sources: []\nlayers:\n- step: 'pip: x'\n  kind: pip\n  packages:\n"
		  "  - ecosystem: pypi\n    name: x\n    version: \"1.0\"\n    arch: py3-none-any\n"
		  "    url: https://h/x-1.0.tar.gz\n    sha256: %s\n    size: 10\n"
		  "    requested_by: --pip x\n    filename: x-1.0.tar.gz\n%s", sha, extra);
	return sbuf_detach(&sb);
}

#define WHEEL "    wheel_filename: x-1.0-py3-none-any.whl\n    wheel_sha256: " WSHA "\n" \
	      "    wheel_size: 20\n"
#define ENVPKG(name) "    - ecosystem: pypi\n      name: " name "\n      version: \"1\"\n" \
		     "      arch: py3-none-any\n      url: https://h/" name ".whl\n" \
		     "      sha256: " SHA "\n      size: 3\n      requested_by: build\n" \
		     "      filename: " name "-1-py3-none-any.whl\n      index: https://h/simple/\n"

static int parse(const char *text, struct lockfile *lf)
{
	return lockfile_parse(&ctx, "t.lock", text, strlen(text), lf);
}

static void refused(const char *name, char *text, const char *w1, const char *w2)
{
	struct lockfile lf = { 0 };
	int r = parse(text, &lf);

	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, w1) && (!w2 || strstr(ctx.errmsg, w2)),
	      name, "r=%d msg=%s", r, ctx.errmsg);
	if (r == 0)
		lockfile_free(&lf);
	free(text);
}

static void test_roundtrip(void)
{
	char *t = lock_src(SHA, "    index: https://h/simple/\n    source: sdist\n" WHEEL
			   "    build_env:\n" ENVPKG("wheel") ENVPKG("flit-core"));
	struct lockfile lf = { 0 }, again = { 0 };
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	const struct lock_pkg *p;
	int r = parse(t, &lf);

	check(r == 0, "roundtrip: an sdist with its wheel and build env reads", "%s", ctx.errmsg);
	if (r < 0)
		goto out;
	p = &lf.layers[0].pkgs[0];
	check(!strcmp(p->source, "sdist") && !strcmp(p->wheel_sha256, WSHA) && p->wheel_size == 20 &&
	      !strcmp(p->wheel_filename, "x-1.0-py3-none-any.whl") && p->nbuild_env == 2 &&
	      !p->direct && !p->commit, "roundtrip: the fields are read", "n=%d", p->nbuild_env);
	r = lockfile_emit(&ctx, &lf, &a);
	if (r == 0)
		r = parse(a.buf, &again);
	if (r == 0)
		r = lockfile_emit(&ctx, &again, &b);
	check(r == 0 && a.len == b.len && !memcmp(a.buf, b.buf, a.len) &&
	      strstr(a.buf, "source: sdist") && strstr(a.buf, "wheel_size: 20") &&
	      strstr(a.buf, "build_env:") && strstr(a.buf, "name: flit-core") <
	      strstr(a.buf, "name: wheel"),
	      "roundtrip: written canonically (build env sorted) and read back the same",
	      "r=%d %s\n%s", r, ctx.errmsg, a.buf ? a.buf : "");
	lockfile_free(&again);
	lockfile_free(&lf);
	free(t);
	t = lock_src("", "    source: git\n    commit: " COMMIT "\n    direct: true\n"
		     "    subdirectory: sub/pkg\n    no_build_isolation: true\n" WHEEL);
	r = parse(t, &lf);
	check(r == 0 && lf.layers[0].pkgs[0].direct && !lf.layers[0].pkgs[0].index &&
	      !strcmp(lf.layers[0].pkgs[0].commit, COMMIT) &&
	      !strcmp(lf.layers[0].pkgs[0].subdirectory, "sub/pkg") &&
	      lf.layers[0].pkgs[0].no_build_isolation,
	      "git: a direct git source with its commit and no sha256 reads", "r=%d %s", r,
	      ctx.errmsg);
	sbuf_free(&a);
	if (r == 0) {
		lockfile_emit(&ctx, &lf, &a);
		check(strstr(a.buf, "commit: " COMMIT) && strstr(a.buf, "direct: true") &&
		      strstr(a.buf, "subdirectory: sub/pkg") && !strstr(a.buf, "index:"),
		      "git: written with commit, direct and subdirectory", "%s", a.buf);
	}
	lockfile_free(&lf);
	free(t);
	/* a wheel by URL: direct, no source */
	t = lock_src(SHA, "    direct: true\n");
	r = parse(t, &lf);
	sbuf_free(&a);
	if (r == 0)
		lockfile_emit(&ctx, &lf, &a);
	check(r == 0 && lf.layers[0].pkgs[0].direct && !lf.layers[0].pkgs[0].source &&
	      !lf.layers[0].pkgs[0].index && a.buf && strstr(a.buf, "direct: true"),
	      "wheel by URL: direct without source and index reads and is written back", "r=%d %s",
	      r, ctx.errmsg);
	if (r == 0)
		lockfile_free(&lf);
out:
	free(t);
	sbuf_free(&a);
	sbuf_free(&b);
}

static void test_malformed(void)
{
	refused("git: no commit", lock_src("", "    source: git\n    direct: true\n" WHEEL),
		"without its 'commit'", "t.lock:");
	refused("git: a short commit", lock_src("", "    source: git\n    commit: abc123\n"
						"    direct: true\n" WHEEL), "full commit id", NULL);
	refused("git: a branch name as commit", lock_src("", "    source: git\n    commit: main\n"
							 "    direct: true\n" WHEEL),
		"full commit id", NULL);
	refused("url: a commit on an archive", lock_src(SHA, "    source: url\n    commit: " COMMIT
							"\n    direct: true\n" WHEEL),
		"not git", NULL);
	refused("url: an archive without sha256", lock_src("", "    source: url\n    direct: true\n"
							   WHEEL), "malformed sha256", NULL);
	refused("source: unknown kind", lock_src(SHA, "    index: https://h/\n    source: svn\n"
						 WHEEL), "'source' is 'svn'", NULL);
	refused("source: a path that is not direct", lock_src(SHA, "    source: path\n" WHEEL),
		"not 'direct'", NULL);
	refused("wheel_sha256: short", lock_src(SHA, "    index: https://h/\n    source: sdist\n"
						"    wheel_filename: x-1.0-py3-none-any.whl\n"
						"    wheel_sha256: abc\n    wheel_size: 2\n"),
		"malformed wheel_sha256", NULL);
	refused("wheel_sha256: missing", lock_src(SHA, "    index: https://h/\n    source: sdist\n"
						  "    wheel_filename: x-1.0-py3-none-any.whl\n"
						  "    wheel_size: 2\n"), "missing 'wheel_sha256'", NULL);
	refused("wheel_size: negative", lock_src(SHA, "    index: https://h/\n    source: sdist\n"
						 "    wheel_filename: x-1.0-py3-none-any.whl\n"
						 "    wheel_sha256: " WSHA "\n    wheel_size: -1\n"),
		"'wheel_size' is '-1'", NULL);
	refused("wheel_filename: a path", lock_src(SHA, "    index: https://h/\n    source: sdist\n"
						   "    wheel_filename: ../x-1.0-py3-none-any.whl\n"
						   "    wheel_sha256: " WSHA "\n    wheel_size: 2\n"),
		"not the file name of a wheel", NULL);
	refused("subdirectory: climbs out", lock_src(SHA, "    source: url\n    direct: true\n"
						     "    subdirectory: a/../../etc\n" WHEEL),
		"'subdirectory' is not a relative path", NULL);
	refused("subdirectory: absolute", lock_src(SHA, "    source: url\n    direct: true\n"
						   "    subdirectory: /etc\n" WHEEL),
		"'subdirectory' is not a relative path", NULL);
	refused("direct: not a bool", lock_src(SHA, "    source: url\n    direct: yes\n" WHEEL),
		"'direct' is 'yes'", NULL);
	refused("commit: on a plain wheel", lock_src(SHA, "    index: https://h/\n    commit: "
						     COMMIT "\n"), "without 'source'", NULL);
	refused("build_env: a source package inside",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env:\n"
			 ENVPKG("wheel") "      source: sdist\n"), "not packages built from source",
		NULL);
	refused("build_env: nested build_env",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env:\n"
			 ENVPKG("wheel") "      build_env: []\n"), "not packages built from source",
		NULL);
	refused("build_env: an apt package",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env:\n"
			 "    - ecosystem: apt\n      name: gcc\n      version: \"1\"\n"
			 "      arch: amd64\n      url: http://h/gcc.deb\n      sha256: " SHA "\n"
			 "      size: 3\n      requested_by: x\n"), "PyPI wheels only", NULL);
	refused("build_env: a bad digest inside",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env:\n"
			 "    - ecosystem: pypi\n      name: w\n      version: \"1\"\n"
			 "      arch: py3-none-any\n      url: https://h/w.whl\n      sha256: zz\n"
			 "      size: 3\n      requested_by: b\n      filename: w-1-py3-none-any.whl\n"
			 "      index: https://h/\n"), "malformed sha256", NULL);
	refused("build_env: not a list",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env: x\n"),
		"'build_env' must be a list", NULL);
	refused("build_env: with no_build_isolation",
		lock_src(SHA, "    index: https://h/\n    source: sdist\n" WHEEL
			 "    no_build_isolation: true\n    build_env:\n" ENVPKG("wheel")),
		"no_build_isolation", NULL);
	{
		struct sbuf sb = SBUF_INIT;

		sbuf_adds(&sb, "    index: https://h/\n    source: sdist\n" WHEEL "    build_env:\n");
		for (int i = 0; i < 4097; i++)
			sbuf_adds(&sb, "    - {}\n");
		refused("build_env: more than 4096 entries", lock_src(SHA, sb.buf),
			"more than 4096", NULL);
		sbuf_free(&sb);
	}
}

int main(void)
{
	pkgimg_ctx_init(&ctx);
	ctx.arch = "amd64";
	test_roundtrip();
	test_malformed();
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
