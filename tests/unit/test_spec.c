/* core/spec.c: a full build spec (every step kind, both conda forms, a
 * relative and an absolute path, numbers taken as their text) read from a
 * temporary directory, each field and each step's canonical text checked;
 * then the errors, each with its exact LINE:COL and the words that name the
 * problem and the fix.  Prints "ok - NAME" / "not ok - NAME" (+ "# detail");
 * exits non-zero on a failure. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/spec.h"
#include "core/str.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static void check_str(const char *name, const char *got, const char *want)
{
	bool ok = got && want ? !strcmp(got, want) : got == want;

	check(ok, name, "got [%s], want [%s]", nz(got), nz(want));
}

static void check_strv(const char *name, const struct strv *sv, const char *const *want)
{
	size_t n = 0;
	bool ok = true;

	while (want[n])
		n++;
	if (sv->n != n)
		ok = false;
	for (size_t i = 0; ok && i < n; i++)
		ok = !strcmp(sv->v[i], want[i]);
	check(ok, name, "got %zu items (first [%s]), want %zu (first [%s])", sv->n,
	      sv->n ? sv->v[0] : "", n, n ? want[0] : "");
}

static void check_text(const char *name, const struct spec *s, size_t i, const char *want)
{
	char *t = i < s->nsteps ? spec_step_text(s, &s->steps[i]) : NULL;

	check_str(name, t, want);
	free(t);
}

#define V(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const[]){ NULL })

static const char full_spec[] =
	"# every step kind\n"
	"base: debian-slim\n"
	"python: 3.10\n"
	"steps:\n"
	"  - apt: [git, curl]\n"					/* 5 */
	"  - conda: [pymc==5.10.4, numpyro==0.13.2]\n"
	"    channels: [conda-forge]\n"
	"  - conda: {packages: [numpy, \"python=3.12\"], channels: [conda-forge], prefix: /opt/env}\n"
	"  - pip: [torch==2.2.1]\n"					/* 9 */
	"    index_url: https://example.org/simple\n"
	"    extra_index_url: [https://example.org/cu121]\n"
	"    requirements: requirements.txt\n"
	"    gpu: H100\n"
	"  - gpu: A100-80GB\n"						/* 14: options first */
	"    pip: []\n"
	"    requirements: [sub/./req.txt, /abs//r.txt, \"https://example.org/r.txt\"]\n"
	"    extra_index_url: https://example.org/one\n"
	"    find_links: https://example.org/wheels\n"
	"    pre: true\n"
	"    index_strategy: unsafe-best-match\n"
	"  - env: {HALT_AND_CATCH_FIRE: \"0\", B: 2, T: true, MSG: \"hello world\", E: \"\"}\n"
	"  - run: [\"git clone https://example.org/agi && echo ready\", echo done]\n"
	"  - run:\n"							/* 23 */
	"      - |\n"
	"        echo one\n"
	"        echo \"two\"\n"
	"  - add: {src: ./data, dst: /data}\n"				/* 27 */
	"  - python_source: [my_local_module, pkg.sub]\n"
	"  - workdir: /app\n"
	"  - entrypoint: [/usr/bin/my_entrypoint.sh]\n"
	"  - entrypoint: []\n"
	"  - {cmd: [python3, app.py], force_build: true}\n";		/* 32 */

static void test_full(const char *dir)
{
	char path[PATH_MAX + 32], want[PATH_MAX + 64];
	struct spec s = { 0 };
	struct spec_step *st;
	FILE *fp;
	int r;

	snprintf(path, sizeof path, "%s/pkgimg.yaml", dir);
	fp = fopen(path, "wb");
	if (!fp) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fputs(full_spec, fp);
	fclose(fp);

	pkgimg_ctx_init(&ctx);
	r = spec_parse(&ctx, path, &s);
	check(r == 0, "full: parses", "r=%d: %s", r, ctx.errmsg);
	if (r < 0)
		return;
	check_str("full: path as given", s.path, path);
	check_str("full: dir", s.dir, dir);
	check_str("full: base", s.base, "debian-slim");
	check_str("full: python 3.10 as written (not 3.1)", s.python, "3.10");
	check(s.nsteps == 14, "full: 14 steps", "nsteps=%zu", s.nsteps);
	if (s.nsteps != 14)
		goto out;

	st = &s.steps[0];
	check(st->kind == SPEC_APT && st->line == 5 && st->col == 5, "full: apt kind, 5:5",
	      "kind=%d %d:%d", st->kind, st->line, st->col);
	check_strv("full: apt items", &st->items, V("git", "curl"));
	check(!st->gpu && !st->force_build, "full: apt no gpu, no force_build", "%s %d",
	      nz(st->gpu), st->force_build);
	check_text("full: apt text", &s, 0, "apt: git curl");

	st = &s.steps[1];
	check(st->kind == SPEC_CONDA && st->line == 6 && st->col == 5, "full: conda list form",
	      "kind=%d %d:%d", st->kind, st->line, st->col);
	check_strv("full: conda items", &st->items, V("pymc==5.10.4", "numpyro==0.13.2"));
	check_strv("full: conda channels", &st->channels, V("conda-forge"));
	check(!st->conda_prefix, "full: conda no prefix", "%s", nz(st->conda_prefix));
	check_text("full: conda text", &s, 1, "conda: pymc==5.10.4 numpyro==0.13.2 -c conda-forge");

	st = &s.steps[2];
	check(st->kind == SPEC_CONDA && st->line == 8, "full: conda mapping form", "kind=%d line %d",
	      st->kind, st->line);
	check_strv("full: conda mapping packages", &st->items, V("numpy", "python=3.12"));
	check_strv("full: conda mapping channels", &st->channels, V("conda-forge"));
	check_str("full: conda mapping prefix", st->conda_prefix, "/opt/env");
	check_text("full: conda mapping text", &s, 2,
		   "conda: numpy python=3.12 -c conda-forge --prefix /opt/env");

	st = &s.steps[3];
	check(st->kind == SPEC_PIP && st->line == 9 && st->col == 5, "full: pip 9:5", "kind=%d %d:%d",
	      st->kind, st->line, st->col);
	check_strv("full: pip items", &st->items, V("torch==2.2.1"));
	check_str("full: pip index_url", st->index_url, "https://example.org/simple");
	check_strv("full: pip extra_index_url list", &st->extra_index_urls,
		   V("https://example.org/cu121"));
	snprintf(want, sizeof want, "%s/requirements.txt", dir);
	check_strv("full: pip requirements absolute", &st->requirements, V(want));
	check_strv("full: pip requirements as written", &st->requirements_raw,
		   V("requirements.txt"));
	check_str("full: pip gpu", st->gpu, "H100");
	check(!st->pre && !st->index_strategy && !st->find_links.n, "full: pip defaults",
	      "pre=%d strategy=%s", st->pre, nz(st->index_strategy));
	check_text("full: pip text", &s, 3,
		   "pip: torch==2.2.1 --index-url https://example.org/simple --extra-index-url "
		   "https://example.org/cu121 -r requirements.txt [gpu: H100]");

	st = &s.steps[4];
	check(st->kind == SPEC_PIP && st->line == 15 && st->col == 5,
	      "full: step key after an option: its own position", "kind=%d %d:%d", st->kind,
	      st->line, st->col);
	check(st->items.n == 0, "full: pip [] with requirements", "n=%zu", st->items.n);
	snprintf(want, sizeof want, "%s/sub/req.txt", dir);
	check_strv("full: requirements list, normalised, URL kept", &st->requirements,
		   V(want, "/abs/r.txt", "https://example.org/r.txt"));
	check_strv("full: extra_index_url string", &st->extra_index_urls,
		   V("https://example.org/one"));
	check_strv("full: find_links string", &st->find_links, V("https://example.org/wheels"));
	check(st->pre, "full: pre true", "pre=%d", st->pre);
	check_str("full: index_strategy", st->index_strategy, "unsafe-best-match");
	check_text("full: pip options text", &s, 4,
		   "pip: --extra-index-url https://example.org/one --find-links "
		   "https://example.org/wheels --pre --index-strategy unsafe-best-match "
		   "-r sub/./req.txt -r /abs//r.txt -r https://example.org/r.txt "
		   "[gpu: A100-80GB]");

	st = &s.steps[5];
	check(st->kind == SPEC_ENV, "full: env kind", "kind=%d", st->kind);
	check_strv("full: env in order, scalars as text", &st->env,
		   V("HALT_AND_CATCH_FIRE=0", "B=2", "T=true", "MSG=hello world", "E="));
	check_text("full: env text quotes spaces and empties", &s, 5,
		   "env: HALT_AND_CATCH_FIRE=0 B=2 T=true MSG=\"hello world\" E=\"\"");

	st = &s.steps[6];
	check_strv("full: run items", &st->items,
		   V("git clone https://example.org/agi && echo ready", "echo done"));
	check_text("full: run text", &s, 6,
		   "run: git clone https://example.org/agi && echo ready && echo done");
	st = &s.steps[7];
	check_strv("full: run block scalar", &st->items, V("echo one\necho \"two\"\n"));
	check_text("full: multi-line run stays one line", &s, 7,
		   "run: \"echo one\\necho \\\"two\\\"\\n\"");

	st = &s.steps[8];
	check(st->kind == SPEC_ADD && st->line == 27, "full: add kind", "kind=%d line=%d", st->kind,
	      st->line);
	snprintf(want, sizeof want, "%s/data", dir);
	check_str("full: add src absolute", st->src, want);
	check_str("full: add src as written", st->src_raw, "./data");
	check_str("full: add dst", st->dst, "/data");
	check_text("full: add text", &s, 8, "add: ./data -> /data");

	st = &s.steps[9];
	check(st->kind == SPEC_PYTHON_SOURCE, "full: python_source kind", "kind=%d", st->kind);
	check_strv("full: python_source items", &st->items, V("my_local_module", "pkg.sub"));
	check_text("full: python_source text", &s, 9, "python_source: my_local_module pkg.sub");

	st = &s.steps[10];
	check(st->kind == SPEC_WORKDIR, "full: workdir kind", "kind=%d", st->kind);
	check_str("full: workdir path", st->path, "/app");
	check_text("full: workdir text", &s, 10, "workdir: /app");

	st = &s.steps[11];
	check(st->kind == SPEC_ENTRYPOINT, "full: entrypoint kind", "kind=%d", st->kind);
	check_strv("full: entrypoint argv", &st->items, V("/usr/bin/my_entrypoint.sh"));
	check_text("full: entrypoint text", &s, 11, "entrypoint: [\"/usr/bin/my_entrypoint.sh\"]");
	check(s.steps[12].kind == SPEC_ENTRYPOINT && s.steps[12].items.n == 0,
	      "full: entrypoint [] clears", "kind=%d n=%zu", s.steps[12].kind, s.steps[12].items.n);
	check_text("full: empty entrypoint text", &s, 12, "entrypoint: []");

	st = &s.steps[13];
	check(st->kind == SPEC_CMD && st->line == 32 && st->col == 6, "full: flow step, cmd 32:6",
	      "kind=%d %d:%d", st->kind, st->line, st->col);
	check_strv("full: cmd argv", &st->items, V("python3", "app.py"));
	check(st->force_build, "full: cmd force_build", "force_build=%d", st->force_build);
	check_text("full: cmd text, no force_build in it", &s, 13, "cmd: [\"python3\", \"app.py\"]");

out:
	spec_free(&s);
}

/* A relative path: the directory is the working directory's. */
static void test_relative(const char *dir)
{
	char cwd[PATH_MAX], old[PATH_MAX];
	struct spec s = { 0 };
	int r;

	if (!getcwd(old, sizeof old) || chdir(dir) < 0 || !getcwd(cwd, sizeof cwd)) {
		check(false, "relative: chdir", "%s", strerror(errno));
		return;
	}
	pkgimg_ctx_init(&ctx);
	r = spec_parse(&ctx, "./pkgimg.yaml", &s);
	check(r == 0, "relative: parses", "r=%d: %s", r, ctx.errmsg);
	if (r == 0) {
		check_str("relative: dir is the cwd", s.dir, cwd);
		check_str("relative: path as given", s.path, "./pkgimg.yaml");
		spec_free(&s);
	}
	pkgimg_ctx_init(&ctx);
	r = spec_parse(&ctx, "missing.yaml", &s);
	check(r == -ENOENT && strstr(ctx.errmsg, "missing.yaml: [spec] cannot read"),
	      "missing file: -ENOENT, named", "r=%d: %s", r, ctx.errmsg);
	if (chdir(old) < 0)
		check(false, "relative: chdir back", "%s", strerror(errno));
}

/* Small specs that parse: defaults and the forms the full one lacks. */
static void test_small(void)
{
	static const char text[] = "steps:\n- apt: [git]\n  gpu: \"T4:2\"\n  force_build: false\n";
	static const char text2[] = "base: scratch\npython: '3.12'\nsteps: [{run: [\"\\\"q\\\" x\"]}]";
	struct spec s = { 0 };
	int r;

	pkgimg_ctx_init(&ctx);
	r = spec_parse_text(&ctx, "/w/a/../b/pkgimg.yaml", text, strlen(text), &s);
	check(r == 0, "small: parses", "r=%d: %s", r, ctx.errmsg);
	if (r < 0)
		return;
	check_str("small: base defaults to debian-slim", s.base, "debian-slim");
	check_str("small: python absent", s.python, NULL);
	check_str("small: dir keeps '..'", s.dir, "/w/a/../b");
	check(s.nsteps == 1 && s.steps[0].line == 2 && s.steps[0].col == 3, "small: 2:3",
	      "n=%zu %d:%d", s.nsteps, s.steps[0].line, s.steps[0].col);
	check(!s.steps[0].force_build, "small: force_build false", "%d", s.steps[0].force_build);
	check_text("small: gpu with count", &s, 0, "apt: git [gpu: T4:2]");
	spec_free(&s);

	pkgimg_ctx_init(&ctx);
	r = spec_parse_text(&ctx, "/pkgimg.yaml", text2, strlen(text2), &s);
	check(r == 0, "small: flow steps, base scratch", "r=%d: %s", r, ctx.errmsg);
	if (r < 0)
		return;
	check_str("small: base scratch", s.base, "scratch");
	check_str("small: python quoted", s.python, "3.12");
	check_str("small: dir of a file in /", s.dir, "/");
	check_text("small: run command starting with '\"' is quoted", &s, 0,
		   "run: \"\\\"q\\\" x\"");
	spec_free(&s);
}

struct errcase {
	const char *name;
	const char *text;
	const char *at;		/* "LINE:COL" */
	const char *words[4];	/* each must occur in the message */
};

static const struct errcase errcases[] = {
	{ "unknown top-level key", "base: debian-slim\nstep:\n  - apt: [git]\n", "2:1",
	  { "unknown top-level key 'step'", "expected one of base, python, steps",
	    "did you mean 'steps'" } },
	{ "step key at top level", "apt: [git]\nsteps: [{apt: [git]}]\n", "1:1",
	  { "unknown top-level key 'apt'", "go in the 'steps' list" } },
	{ "unknown key in a pip step", "steps:\n  - pip: [torch]\n    index-url: https://x/simple\n",
	  "3:5", { "unknown key 'index-url' in a pip step",
		   "expected one of index_url, extra_index_url, find_links, requirements, pre, "
		   "index_strategy, gpu, force_build", "did you mean 'index_url'" } },
	{ "option of another kind", "steps:\n  - apt: [git]\n    channels: [conda-forge]\n", "3:5",
	  { "'channels' is an option of conda steps, not of an apt step", "move it to a conda step" } },
	{ "pip option on a conda step", "steps:\n  - conda: [numpy]\n    index_url: https://x\n",
	  "3:5", { "'index_url' is an option of pip steps, not of a conda step" } },
	{ "no step key", "steps:\n  - gpu: H100\n    force_build: true\n", "2:5",
	  { "step 1 has options but no step key", "add one of apt, pip, conda" } },
	{ "misspelt step key", "steps:\n  - apt: [git]\n  - Pip: [torch]\n", "3:5",
	  { "unknown key 'Pip' in step 2", "which has no step key", "did you mean 'pip'" } },
	{ "two step keys", "steps:\n  - apt: [git]\n    pip: [torch]\n", "3:5",
	  { "step 1 has two step keys, 'apt' (at 2:5) and 'pip'", "own list item" } },
	{ "mapping where a list is expected", "steps:\n  - apt: {git: 1}\n", "2:10",
	  { "'apt' must be a list, not a mapping", "apt: [git, curl]" } },
	{ "string where a list is expected", "steps:\n  - run: echo hi\n", "2:10",
	  { "'run' must be a list, not a string" } },
	{ "nothing where a list is expected", "steps:\n  - apt:\n    gpu: H100\n", "2:9",
	  { "'apt' must be a list, not nothing" } },
	{ "list where a string is expected", "steps:\n  - workdir: [/app]\n", "2:14",
	  { "'workdir' must be a string, not a list", "workdir: /app" } },
	{ "index_url list", "steps:\n  - pip: [x]\n    index_url: [https://a, https://b]\n", "3:16",
	  { "'index_url' must be a string, not a list", "extra_index_url" } },
	{ "non-boolean force_build", "steps:\n  - apt: [git]\n    force_build: yes\n", "3:18",
	  { "'force_build' must be true or false, not 'yes'", "force_build: true" } },
	{ "quoted boolean", "steps:\n  - pip: [x]\n    pre: \"true\"\n", "3:10",
	  { "'pre' must be true or false, not the quoted string 'true'", "pre: true without quotes" } },
	{ "empty steps", "python: \"3.11\"\nsteps: []\n", "2:8",
	  { "'steps' is an empty list", "add at least one step" } },
	{ "null steps", "steps:\n", "1:7", { "'steps' must be a list of steps, not nothing" } },
	{ "missing steps", "base: scratch\npython: \"3.11\"\n", "1:1",
	  { "has no 'steps'", "add a list of steps" } },
	{ "empty document", "# nothing\n", "1:1", { "the spec is empty" } },
	{ "root is a list", "- apt: [git]\n", "1:1", { "must be a mapping with 'steps'", "not a list" } },
	{ "step not a mapping", "steps:\n  - apt\n", "2:5",
	  { "step 1 must be a mapping with one step key", "not a string" } },
	{ "empty apt list", "steps:\n  - apt: []\n", "2:10",
	  { "'apt' is an empty list", "name at least one package" } },
	{ "empty conda packages", "steps:\n  - conda: {packages: [], channels: [x]}\n", "2:23",
	  { "'packages' is an empty list" } },
	{ "conda mapping without packages", "steps:\n  - conda: {channels: [x]}\n", "2:12",
	  { "the conda mapping has no 'packages'" } },
	{ "unknown key in the conda mapping", "steps:\n  - conda: {package: [numpy]}\n", "2:13",
	  { "unknown key 'package' in the conda mapping", "did you mean 'packages'" } },
	{ "channels twice", "steps:\n  - conda: {packages: [numpy], channels: [a]}\n"
	  "    channels: [b]\n", "3:5",
	  { "'channels' is given twice", "inside the conda mapping (at 2:32)" } },
	{ "empty pip without requirements", "steps:\n  - pip: []\n", "2:10",
	  { "'pip' is an empty list and the step has no requirements", "requirements:" } },
	{ "add without dst", "steps:\n  - add: {src: ./data}\n", "2:10",
	  { "the add mapping has no 'dst'", "add: {src: ./data, dst: /data}" } },
	{ "add without src", "steps:\n  - add:\n      dst: /data\n", "3:7",
	  { "the add mapping has no 'src'" } },
	{ "dst not absolute", "steps:\n  - add: {src: ./data, dst: data}\n", "2:29",
	  { "'dst' must be an absolute path in the image, not 'data'" } },
	{ "dst with ..", "steps:\n  - add: {src: ./d, dst: /a/../etc}\n", "2:26",
	  { "'dst' '/a/../etc' has a '..' component" } },
	{ "workdir not absolute", "steps:\n  - workdir: app\n", "2:14",
	  { "'workdir' must be an absolute path in the image, not 'app'", "workdir: /app" } },
	{ "env name starting with a digit", "steps:\n  - env: {1FOO: x}\n", "2:11",
	  { "env name '1FOO' is not a variable name", "not starting with a digit" } },
	{ "env name with a dash", "steps:\n  - env:\n      A: 1\n      MY-VAR: x\n", "4:7",
	  { "env name 'MY-VAR' is not a variable name" } },
	{ "env value a mapping", "steps:\n  - env: {A: {b: 1}}\n", "2:14",
	  { "env 'A' must have a string value, not a mapping" } },
	{ "env value null", "steps:\n  - env: {A: }\n", "2:14", { "env 'A' has no value" } },
	{ "empty env", "steps:\n  - env: {}\n", "2:10", { "'env' is an empty mapping" } },
	{ "duplicate key in a step", "steps:\n  - pip: [a]\n    pre: true\n    pre: false\n", "4:5",
	  { "duplicate key 'pre' in a step (first at 3:5)", "keep one" } },
	{ "duplicate top-level key", "steps: [{apt: [git]}]\nsteps: [{apt: [curl]}]\n", "2:1",
	  { "duplicate key 'steps' in the spec (first at 1:1)" } },
	{ "duplicate env name", "steps:\n  - env:\n      A: 1\n      A: 2\n", "4:7",
	  { "duplicate key 'A' in the env mapping (first at 3:7)" } },
	{ "python not 3.x", "python: \"2.7\"\nsteps: [{apt: [git]}]\n", "1:9",
	  { "python '2.7' is not a Python 3 version X.Y", "python: \"3.11\"" } },
	{ "python with a patch", "python: 3.11.4\nsteps: [{apt: [git]}]\n", "1:9",
	  { "python '3.11.4' is not a Python 3 version X.Y" } },
	{ "index_strategy", "steps:\n  - pip: [x]\n    index_strategy: best\n", "3:21",
	  { "index_strategy 'best' is not one of first-index, unsafe-best-match" } },
	{ "python_source a path", "steps:\n  - python_source: [ok, ./mod.py]\n", "2:25",
	  { "item 2 of 'python_source' './mod.py' is not a Python module name" } },
	{ "item a mapping", "steps:\n  - run:\n      - echo a: b\n", "3:9",
	  { "item 1 of 'run' is a mapping", "quote the item" } },
	{ "item a list", "steps:\n  - apt: [git, [curl]]\n", "2:16",
	  { "item 2 of 'apt' must be a string, not a list" } },
	{ "line break in a package", "steps:\n  - apt: [\"git\\ncurl\"]\n", "2:11",
	  { "item 1 of 'apt' contains a control character" } },
	{ "gpu type", "steps:\n  - apt: [git]\n    gpu: \"H 100\"\n", "3:10",
	  { "gpu 'H 100' is not a GPU type", "gpu: H100" } },
	{ "gpu a list", "steps:\n  - apt: [git]\n    gpu: [H100]\n", "3:10",
	  { "'gpu' must be a string, not a list" } },
	{ "YAML syntax error", "steps:\n  - apt: [git\n  - pip: [x]\n", "3:8",
	  { "YAML syntax error", "did not find expected ',' or ']'", "while parsing a flow "
	    "sequence at 2:10" } },
	{ "YAML tab indentation", "steps:\n\t- apt: [git]\n", "2:1",
	  { "YAML syntax error", "found character that cannot start any token",
	    "a tab here: indent with spaces" } },
	{ "alias", "steps:\n  - apt: [git]\n  - apt: *pkgs\n", "3:10",
	  { "alias *pkgs", "anchors and aliases are not supported" } },
	{ "key a list", "steps:\n  - ? [a]\n    : 1\n", "2:7",
	  { "a key in a step must be a name, not a list" } },
	{ "anchor", "steps:\n  - apt: &pkgs [git]\n  - apt: *pkgs\n", "2:10",
	  { "anchor &pkgs", "anchors and aliases are not supported" } },
	{ "two documents", "steps: [{apt: [git]}]\n---\nsteps: [{apt: [curl]}]\n", "2:1",
	  { "a second YAML document starts here", "remove the '---'" } },
	{ "not UTF-8", "steps:\n  - apt: [g\xffit]\n", "2:12", { "not valid UTF-8" } },
	{ "NUL escape in a key", "steps:\n  - \"apt\\0x\": [git]\n", "2:5",
	  { "contains a NUL character" } },
};

static void test_errors(void)
{
	const char *path = "/spec/pkgimg.yaml";
	char prefix[128], name[160];

	for (size_t i = 0; i < sizeof errcases / sizeof errcases[0]; i++) {
		const struct errcase *e = &errcases[i];
		struct spec s = { 0 };
		bool ok;
		int r;

		pkgimg_ctx_init(&ctx);
		s.nsteps = 99;	/* must stay untouched: out is written only on success */
		r = spec_parse_text(&ctx, path, e->text, strlen(e->text), &s);
		snprintf(prefix, sizeof prefix, "%s:%s: [spec] ", path, e->at);
		ok = r == -PKGIMG_E_USAGE && !strncmp(ctx.errmsg, prefix, strlen(prefix)) &&
		     s.nsteps == 99 && !s.steps;
		for (size_t w = 0; ok && w < 4 && e->words[w]; w++)
			ok = strstr(ctx.errmsg, e->words[w]) != NULL;
		snprintf(name, sizeof name, "error: %s", e->name);
		check(ok, name, "r=%d, want %s...: %s", r, prefix, ctx.errmsg);
		if (r == 0)
			spec_free(&s);
	}
}

/* A huge value: the message is cut, not the handle overrun. */
static void test_long_value(void)
{
	struct sbuf sb = SBUF_INIT;
	struct spec s = { 0 };
	int r;

	sbuf_adds(&sb, "steps:\n  - pip: [x]\n    index_strategy: ");
	for (int i = 0; i < 20000; i++)
		sbuf_addc(&sb, 'k');
	sbuf_adds(&sb, "\n");
	pkgimg_ctx_init(&ctx);
	r = spec_parse_text(&ctx, "/p.yaml", sb.buf, sb.len, &s);
	check(r == -PKGIMG_E_USAGE &&
	      strstr(ctx.errmsg, "/p.yaml:3:21: [spec] index_strategy 'kkk") &&
	      strstr(ctx.errmsg, "kkk...' is not one of") && strlen(ctx.errmsg) < 400,
	      "long value: cut in the message", "r=%d len=%zu: %.300s", r, strlen(ctx.errmsg),
	      ctx.errmsg);
	sbuf_free(&sb);
}

/* spec_path: the build context confines the files a spec names. */
static void test_context(const char *dir)
{
	static const char text[] = "steps:\n  - add: {src: ./in.txt, dst: /x}\n";
	char ctxdir[PATH_MAX], spec[PATH_MAX + 16], f[PATH_MAX + 32], *real = NULL;
	struct spec s = { 0 };
	FILE *fp;
	int r;

	snprintf(ctxdir, sizeof ctxdir, "%s/ctx", dir);
	snprintf(spec, sizeof spec, "%s/sub/pkgimg.yaml", ctxdir);
	snprintf(f, sizeof f, "%s/sub", ctxdir);
	mkdir(ctxdir, 0755);
	mkdir(f, 0755);
	snprintf(f, sizeof f, "%s/sub/in.txt", ctxdir);
	if ((fp = fopen(f, "w")))
		fclose(fp);
	snprintf(f, sizeof f, "%s/up.txt", ctxdir);
	if ((fp = fopen(f, "w")))
		fclose(fp);
	snprintf(f, sizeof f, "%s/sub/out", ctxdir);
	if (symlink("/etc", f) < 0)
		printf("# symlink: %s\n", strerror(errno));
	pkgimg_ctx_init(&ctx);
	r = spec_parse_text(&ctx, spec, text, strlen(text), &s);
	check(r == 0, "context: the spec parses", "%s", ctx.errmsg);
	if (r < 0)
		return;
	r = spec_path(&ctx, &s, "add: src", "in.txt", &real);
	check(r == 0 && real && strstr(real, "/ctx/sub/in.txt"), "context: a file in the spec's "
	      "directory resolves", "r=%d %s: %s", r, nz(real), ctx.errmsg);
	free(real);
	real = NULL;
	r = spec_path(&ctx, &s, "add: src", "../up.txt", &real);
	check(r == -EXDEV && strstr(ctx.errmsg, "[spec] add: src '../up.txt' is outside the "
				   "build context") && strstr(ctx.errmsg, "--context DIR"),
	      "context: ../ outside the spec's directory is refused", "r=%d: %s", r, ctx.errmsg);
	free(real);
	real = NULL;
	r = spec_path(&ctx, &s, "add: src", "out/passwd", &real);
	check(r == -EXDEV && strstr(ctx.errmsg, "symlink"), "context: a link leading out is refused",
	      "r=%d: %s", r, ctx.errmsg);
	r = spec_path(&ctx, &s, "add: src", "/etc/no-such-file-here", &real);
	check(r == -EXDEV && !strstr(ctx.errmsg, "No such file"), "context: whether a file "
	      "outside exists is not told", "r=%d: %s", r, ctx.errmsg);
	r = spec_set_context(&ctx, &s, ctxdir);
	check(r == 0, "context: --context DIR is set", "%s", ctx.errmsg);
	r = spec_path(&ctx, &s, "add: src", "../up.txt", &real);
	check(r == 0 && real && strstr(real, "/ctx/up.txt"), "context: --context widens it",
	      "r=%d: %s", r, ctx.errmsg);
	free(real);
	snprintf(spec, sizeof spec, "%s/up.txt", ctxdir);
	r = spec_set_context(&ctx, &s, spec);
	check(r == -ENOTDIR, "context: --context FILE is refused", "r=%d: %s", r, ctx.errmsg);
	spec_free(&s);
	unlink(f);
	snprintf(f, sizeof f, "%s/sub/in.txt", ctxdir);
	unlink(f);
	snprintf(f, sizeof f, "%s/up.txt", ctxdir);
	unlink(f);
	snprintf(f, sizeof f, "%s/sub", ctxdir);
	rmdir(f);
	rmdir(ctxdir);
}

int main(void)
{
	char tmpl[] = "/tmp/pkgimg-test-spec-XXXXXX";
	char *dir = mkdtemp(tmpl), rm[PATH_MAX + 32];

	if (!dir) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	test_full(dir);
	test_relative(dir);
	test_small();
	test_errors();
	test_long_value();
	test_context(dir);
	snprintf(rm, sizeof rm, "%s/pkgimg.yaml", dir);
	unlink(rm);
	rmdir(dir);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
