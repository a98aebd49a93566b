/* Unit tests of pyc/pyc.c: option parsing, the layer-key suffix, the worker
 * protocol against fake interpreters (shell scripts that answer, fail,
 * crash or never start), and, when the host has /usr/bin/python3, real
 * compiles: the walk, the .pyc files, and the same bytes for 1 and 3
 * workers.  Prints "ok - NAME" / "not ok - NAME" (+ "# detail"). */
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
#include "pyc/pyc.h"

#include "tests/unit/check.h"

static char work[] = "/var/tmp/pkgimg-test-pyc-XXXXXX";

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		perror(path);
		exit(2);
	}
	close(fd);
}

static void test_parse(struct pkgimg_ctx *ctx)
{
	static const char *const bad[] = { "", "3", "0,", ",0", "01", "0;1", "0,1,2,", "-1" };
	enum pyc_mode m = PYC_NONE;
	unsigned lv = 0;
	char *s;
	int r;

	r = pyc_mode_parse(ctx, "unchecked-hash", &m);
	check(r == 0 && m == PYC_UNCHECKED_HASH && !strcmp(pyc_mode_name(m), "unchecked-hash"),
	      "--pyc unchecked-hash", "r=%d m=%d", r, (int)m);
	r = pyc_mode_parse(ctx, "none", &m);
	check(r == 0 && m == PYC_NONE, "--pyc none", "r=%d", r);
	r = pyc_mode_parse(ctx, "fast", &m);
	check(r == -PKGIMG_E_USAGE && strstr(ctx->errmsg, "--pyc fast: give checked-hash"),
	      "--pyc fast: an error listing the modes", "r=%d %s", r, ctx->errmsg);
	r = pyc_levels_parse(ctx, "0,1,2", &lv);
	check(r == 0 && lv == 7, "--pyc-opt 0,1,2", "r=%d lv=%u", r, lv);
	r = pyc_levels_parse(ctx, "2", &lv);
	check(r == 0 && lv == 4, "--pyc-opt 2", "r=%d lv=%u", r, lv);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char name[64];

		snprintf(name, sizeof name, "--pyc-opt '%s' is refused", bad[i]);
		r = pyc_levels_parse(ctx, bad[i], &lv);
		check(r == -PKGIMG_E_USAGE && strstr(ctx->errmsg, "levels from 0, 1 and 2"), name,
		      "r=%d %s", r, ctx->errmsg);
	}
	s = pyc_step_suffix(&(struct pyc_opts){ .mode = PYC_CHECKED_HASH, .levels = 1 });
	check(!strcmp(s, ""), "the default adds nothing to a layer's step", "'%s'", s);
	free(s);
	s = pyc_step_suffix(&(struct pyc_opts){ .mode = PYC_CHECKED_HASH, .levels = 0 });
	check(!strcmp(s, ""), "levels 0 means {0}: the default", "'%s'", s);
	free(s);
	s = pyc_step_suffix(&(struct pyc_opts){ .mode = PYC_UNCHECKED_HASH, .levels = 3 });
	check(!strcmp(s, " [pyc unchecked-hash opt 0,1]"), "unchecked-hash at 0,1 in the step",
	      "'%s'", s);
	free(s);
	s = pyc_step_suffix(&(struct pyc_opts){ .mode = PYC_NONE, .levels = 7 });
	check(!strcmp(s, " [pyc none]"), "none in the step", "'%s'", s);
	free(s);
}

static void test_find(struct pkgimg_ctx *ctx)
{
	char *p = NULL;
	int r;

	r = pyc_find_python(ctx, "sh", &p);
	check(r == 0 && p && p[0] == '/' && !strcmp(strrchr(p, '/'), "/sh"), "a name is looked up on PATH",
	      "r=%d %s", r, p ? p : ctx->errmsg);
	free(p);
	r = pyc_find_python(ctx, "pkgimg-no-such-python", &p);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "--python PATH"),
	      "a name not on PATH: an error with the fix", "r=%d %s", r, ctx->errmsg);
	r = pyc_find_python(ctx, "/nonexistent/python3", &p);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "not an executable interpreter"),
	      "a path that does not exist: an error naming it", "r=%d %s", r, ctx->errmsg);
}

/* A stand-in interpreter: hello, then per path: "crash" exits 3, "bad"
 * fails, anything else is "compiled" to <path>.pyc. */
static const char fake_py[] =
	"#!/bin/sh\n"
	"printf 'H\\tfake-1\\n'\n"
	"while IFS= read -r p; do\n"
	"  case \"$p\" in\n"
	"  *crash*) exit 3;;\n"
	"  *bad*) printf '1\\tSyntaxError: nope (line 1)\\n';;\n"
	"  *) printf '0\\t%s.pyc\\n' \"$p\";;\n"
	"  esac\n"
	"done\n";

static void test_protocol(struct pkgimg_ctx *ctx)
{
	char *fake = xasprintf("%s/fakepy", work), *quiet = xasprintf("%s/quietpy", work);
	char *refuse = xasprintf("%s/refusepy", work);
	const char *paths[] = { "/x/d", "/x/a", "/x/bad", "/x/crash" };
	const char *nl[] = { "/x/ok", "/x/new\nline", "/x/tab\there" };
	struct pyc_opts o = { .mode = PYC_CHECKED_HASH, .levels = 1, .jobs = 1, .python = fake };
	struct pyc_result res;
	int r;

	write_file(fake, fake_py, 0755);
	write_file(quiet, "#!/bin/sh\necho 'Traceback: no module named importlib' >&2\nexit 1\n", 0755);
	write_file(refuse, "#!/bin/sh\nprintf 'E\\tit cannot write PEP 552 pycs\\n'\nexit 1\n", 0755);

	/* one worker, in sorted order: a, bad, crash (dies), d (in flight) */
	r = pyc_compile(ctx, &o, NULL, paths, 4, &res);
	check(r == 0 && res.n == 4 && res.ncompiled == 1 && res.nfailed == 3 &&
	      !strcmp(res.cache_tag, "fake-1") && res.items[1].npycs == 1 &&
	      !strcmp(res.items[1].pycs[0], "/x/a.pyc") &&
	      !strcmp(res.items[2].error, "SyntaxError: nope (line 1)") &&
	      strstr(res.items[3].error, "the interpreter died compiling it (exit status 3)") &&
	      strstr(res.items[0].error, "the interpreter died compiling it"),
	      "one worker: answers in order, a failure, a crash failing what it held",
	      "r=%d %s n=%zu ok=%zu fail=%zu", r, r < 0 ? ctx->errmsg : "", res.n, res.ncompiled,
	      res.nfailed);
	if (r == 0)
		pyc_result_free(&res);

	/* three workers: one dies, the others finish the rest */
	{
		const char *many[40];
		size_t ok = 0, died = 0;

		for (int i = 0; i < 40; i++)
			many[i] = xasprintf("/y/%02d%s", i, i == 5 ? "crash" : "");
		o.jobs = 3;
		r = pyc_compile(ctx, &o, NULL, many, 40, &res);
		for (size_t i = 0; r == 0 && i < res.n; i++) {
			if (res.items[i].npycs == 1)
				ok++;
			else if (res.items[i].error && strstr(res.items[i].error, "died"))
				died++;
		}
		check(r == 0 && ok + died == 40 && died >= 1 && died <= 2 && res.items[5].error,
		      "three workers, one crashes: every file answered, the others go on",
		      "r=%d ok=%zu died=%zu", r, ok, died);
		if (r == 0)
			pyc_result_free(&res);
		for (int i = 0; i < 40; i++)
			free((char *)many[i]);
	}

	o.jobs = 2;
	r = pyc_compile(ctx, &o, NULL, nl, 3, &res);
	check(r == 0 && res.ncompiled == 1 && res.nfailed == 2 &&
	      strstr(res.items[1].error, "a tab or a newline") && strstr(res.items[2].error, "a tab"),
	      "names with a newline or a tab are failures, not protocol breakage",
	      "r=%d %s", r, r < 0 ? ctx->errmsg : "");
	if (r == 0)
		pyc_result_free(&res);

	o.python = quiet;
	r = pyc_compile(ctx, &o, NULL, paths, 4, &res);
	check(r == -PKGIMG_E_SCRIPT && strstr(ctx->errmsg, "the interpreter did not start (exit status 1)") &&
	      strstr(ctx->errmsg, "no module named importlib"),
	      "an interpreter that exits at once: an error with its stderr", "r=%d %s", r, ctx->errmsg);
	o.python = refuse;
	r = pyc_compile(ctx, &o, NULL, paths, 4, &res);
	check(r == -PKGIMG_E_SCRIPT && strstr(ctx->errmsg, "refusepy: [pyc] it cannot write PEP 552 pycs"),
	      "an interpreter that refuses: its reason", "r=%d %s", r, ctx->errmsg);

	o.mode = PYC_NONE;
	r = pyc_compile(ctx, &o, NULL, paths, 4, &res);
	check(r == 0 && res.n == 4 && res.ncompiled == 0 && res.nfailed == 0,
	      "--pyc none starts nothing", "r=%d", r);
	if (r == 0)
		pyc_result_free(&res);
	free(fake);
	free(quiet);
	free(refuse);
}

static void read_all(const char *path, struct sbuf *out)
{
	sbuf_reset(out);
	if (fs_read_file(NULL, AT_FDCWD, path, out) < 0)
		sbuf_adds(out, "(missing)");
}

static void test_real(struct pkgimg_ctx *ctx)
{
	char *dir = xasprintf("%s/tree", work), *p;
	struct pyc_opts o = { .mode = PYC_CHECKED_HASH, .levels = 5, .jobs = 1, .python = "/usr/bin/python3" };
	struct strv files = { 0 };
	struct pyc_result r1, r3;
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	bool same = true;
	int r;

	if (access(o.python, X_OK) < 0) {
		printf("skip - real compiles: no /usr/bin/python3 on this host\n");
		free(dir);
		return;
	}
	p = xasprintf("%s/pkg/__pycache__", dir);
	fs_mkdirs(ctx, AT_FDCWD, p, 0755);
	free(p);
	p = xasprintf("%s/z.py", dir), write_file(p, "Z = {'a', 'b', 'c'}\n", 0644), free(p);
	p = xasprintf("%s/pkg/__init__.py", dir), write_file(p, "'''doc'''\nassert 1\n", 0644), free(p);
	p = xasprintf("%s/pkg/b.py", dir), write_file(p, "def f(x):\n    return x in {1, 2}\n", 0644), free(p);
	p = xasprintf("%s/pkg/old.py", dir), write_file(p, "exec 'x'\n", 0644), free(p);
	p = xasprintf("%s/pkg/__pycache__/c.py", dir), write_file(p, "C = 1\n", 0644), free(p);
	p = xasprintf("%s/pkg/notes.txt", dir), write_file(p, "x\n", 0644), free(p);
	r = pyc_collect(ctx, dir, &files);
	check(r == 0 && files.n == 4 && strstr(files.v[0], "/pkg/__init__.py") &&
	      strstr(files.v[1], "/pkg/b.py") && strstr(files.v[2], "/pkg/old.py") &&
	      strstr(files.v[3], "/z.py"),
	      "the walk: sorted, depth first, .py only, __pycache__ skipped", "r=%d n=%zu", r, files.n);
	r = pyc_compile(ctx, &o, NULL, (const char *const *)files.v, files.n, &r1);
	check(r == 0 && r1.ncompiled == 3 && r1.npycs == 6 && r1.nfailed == 1 &&
	      !strncmp(r1.cache_tag, "cpython-", 8) &&
	      strstr(r1.items[2].error, "SyntaxError") && r1.items[3].npycs == 2 &&
	      strstr(r1.items[3].pycs[1], "/__pycache__/z.") && strstr(r1.items[3].pycs[1], ".opt-2.pyc"),
	      "real python: levels 0 and 2, one .pyc each, the Python 2 file failed",
	      "r=%d %s ok=%zu pycs=%zu", r, r < 0 ? ctx->errmsg : "", r == 0 ? r1.ncompiled : 0,
	      r == 0 ? r1.npycs : 0);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < r1.n; i++)
		for (int k = 0; k < r1.items[i].npycs; k++) {
			char *saved = xasprintf("%s.1", r1.items[i].pycs[k]);

			rename(r1.items[i].pycs[k], saved);
			free(saved);
		}
	o.jobs = 3;
	r = pyc_compile(ctx, &o, NULL, (const char *const *)files.v, files.n, &r3);
	for (size_t i = 0; r == 0 && i < r1.n; i++)
		for (int k = 0; k < r1.items[i].npycs; k++) {
			char *saved = xasprintf("%s.1", r1.items[i].pycs[k]);

			read_all(saved, &a);
			read_all(r3.items[i].pycs[k], &b);
			if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
				same = false;
			free(saved);
		}
	check(r == 0 && same && r3.npycs == r1.npycs, "real python: 1 and 3 workers write the same bytes",
	      "r=%d same=%d", r, same);
	if (r == 0)
		pyc_result_free(&r3);
	pyc_result_free(&r1);
out:
	sbuf_free(&a);
	sbuf_free(&b);
	strv_free(&files);
	free(dir);
}

int main(void)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 2;
	}
	test_parse(&ctx);
	test_find(&ctx);
	test_protocol(&ctx);
	test_real(&ctx);
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# test_pyc: %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
