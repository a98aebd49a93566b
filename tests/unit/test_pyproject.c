/* pyspec/pyproject.c: [build-system] with pip's defaults, [project] checked
 * as PEP 621 says, PEP 735 groups (include-group, cycles, normalised
 * names), the requirement list of a selection (extras, groups, the project
 * named in its own extras), and the errors (each naming the file and the
 * key).  Prints "ok - NAME" / "not ok - NAME" (+ "# detail"). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pyproject.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

static int parse(const char *doc, struct pyproject *p)
{
	pkgimg_ctx_init(&ctx);
	memset(p, 0, sizeof *p);
	return pyproject_parse(&ctx, "pp.toml", doc, strlen(doc), p);
}

static char *joined(const struct strv *sv)
{
	struct sbuf sb = SBUF_INIT;

	sbuf_add(&sb, "", 0);
	for (size_t i = 0; i < sv->n; i++)
		sbuf_addf(&sb, "%s%s", i ? " | " : "", sv->v[i]);
	return sbuf_detach(&sb);
}

/* The selection's requirements, joined by " | ", must be want (or, when
 * want starts with "ERR:", the call must fail with a message holding the
 * rest). */
static void want_reqs(const char *name, const char *doc, const char *const *extras, size_t ne,
		      bool all, const char *const *groups, size_t ng, const char *want)
{
	struct pyproject p;
	struct pyproject_select sel = { extras, ne, all, groups, ng };
	struct strv out = { 0 };
	char *got;
	int rc;

	if (parse(doc, &p) < 0) {
		check(false, name, "parse: %s", ctx.errmsg);
		return;
	}
	rc = pyproject_requirements(&ctx, &p, &sel, &out);
	if (str_starts_with(want, "ERR:")) {
		check(rc == -PKGIMG_E_USAGE && strstr(ctx.errmsg, want + 4) &&
		      str_starts_with(ctx.errmsg, "pp.toml: [pyproject] "), name,
		      "rc %d: %s (want …%s)", rc, ctx.errmsg, want + 4);
	} else {
		got = joined(&out);
		check(rc == 0 && !strcmp(got, want), name, "rc %d %s: got [%s], want [%s]", rc,
		      rc ? ctx.errmsg : "", got, want);
		free(got);
	}
	strv_free(&out);
	pyproject_free(&p);
}

static void want_err(const char *name, const char *doc, const char *part)
{
	struct pyproject p;
	int rc = parse(doc, &p);

	if (rc == 0) {
		check(false, name, "parsed, want an error with %s", part);
		pyproject_free(&p);
		return;
	}
	check(strstr(ctx.errmsg, part) && str_starts_with(ctx.errmsg, "pp.toml:"), name,
	      "rc %d: %s (want …%s)", rc, ctx.errmsg, part);
}

#define PROJ "[project]\nname = \"Demo_Pkg\"\nversion = \"1.0\"\n"

static void test_build_system(void)
{
	struct pyproject p;

	if (parse(PROJ, &p) == 0) {
		check(p.build_default && p.build_requires.n == 1 &&
		      !strcmp(p.build_requires.v[0], "setuptools>=40.8.0") &&
		      !strcmp(p.build_backend, "setuptools.build_meta:__legacy__"),
		      "build-system: absent is setuptools' legacy backend, as pip", "%s",
		      p.build_backend);
		check(p.has_project && !strcmp(p.name, "Demo_Pkg") && !strcmp(p.norm, "demo-pkg") &&
		      !strcmp(p.version, "1.0"), "project: name, normalised name, version", "%s %s",
		      p.name, p.norm);
		pyproject_free(&p);
	} else {
		check(false, "build-system: absent", "%s", ctx.errmsg);
	}
	if (parse("[build-system]\nrequires = [\"flit_core >=3.2,<4\"]\n"
		  "build-backend = \"flit_core.buildapi\"\nbackend-path = [\"_b\"]\n", &p) == 0) {
		check(!p.build_default && p.build_requires.n == 1 &&
		      !strcmp(p.build_backend, "flit_core.buildapi") && p.backend_path.n == 1 &&
		      !p.has_project, "build-system: requires, build-backend, backend-path", "-");
		pyproject_free(&p);
	} else {
		check(false, "build-system: given", "%s", ctx.errmsg);
	}
	if (parse("[build-system]\nrequires = [\"setuptools\"]\n", &p) == 0) {
		check(!strcmp(p.build_backend, "setuptools.build_meta:__legacy__"),
		      "build-system: no build-backend is the legacy backend", "%s", p.build_backend);
		pyproject_free(&p);
	} else {
		check(false, "build-system: no build-backend", "%s", ctx.errmsg);
	}
	want_err("build-system: no requires (pip refuses it)", "[build-system]\nbuild-backend = \"x\"\n",
		 "build-system: has no 'requires'");
	want_err("build-system: requires not PEP 508", "[build-system]\nrequires = [\"setuptools >>= 1\"]\n",
		 "build-system.requires: item 1 is not a PEP 508 requirement");
	want_err("build-system: requires a string", "[build-system]\nrequires = \"setuptools\"\n",
		 "must be an array of strings");
	want_err("build-system: backend-path outside", "[build-system]\nrequires = []\n"
		 "backend-path = [\"../x\"]\n", "leaves the project directory");
}

static void test_project_checks(void)
{
	want_err("project: not TOML", "[project\nname = 1", "pp.toml:1:9: [parse]");
	want_err("project: no name", "[project]\nversion = \"1\"\n", "project.name: is missing");
	want_err("project: bad name", "[project]\nname = \"-x\"\nversion = \"1\"\n",
		 "not a valid project name");
	want_err("project: name dynamic", "[project]\nname = \"x\"\ndynamic = [\"name\"]\n",
		 "'name' cannot be dynamic");
	want_err("project: version missing", "[project]\nname = \"x\"\n",
		 "project.version: is missing and not listed in project.dynamic");
	want_err("project: bad version", "[project]\nname = \"x\"\nversion = \"one\"\n",
		 "not a PEP 440 version");
	want_err("project: static and dynamic", PROJ "dependencies = []\n"
		 "dynamic = [\"dependencies\"]\n", "'dependencies' is given in [project] and listed in dynamic");
	want_err("project: dependency not PEP 508", PROJ "dependencies = [\"requests\", \"numpy >>= 1\"]\n",
		 "pp.toml: [pyproject] project.dependencies: item 2 is not a PEP 508 requirement");
	want_err("project: dependencies a table", PROJ "[project.dependencies]\nx = 1\n",
		 "project.dependencies: must be an array of strings, not a table");
	want_err("project: bad requires-python", PROJ "requires-python = \">=3.x\"\n",
		 "not a PEP 440 specifier");
	want_err("project: extras that normalise alike (PEP 685)", PROJ
		 "[project.optional-dependencies]\nFoo_Bar = []\n\"foo.bar\" = []\n",
		 "extra 'foo.bar' is given twice");
	want_err("project: bad extra name", PROJ "[project.optional-dependencies]\n\"a b\" = []\n",
		 "not a valid extra name");
	want_err("groups: names that normalise alike (PEP 735)", "[dependency-groups]\nTest = []\n"
		 "test = []\n", "group 'test' is given twice");
	want_err("groups: a table", "dependency-groups = 1\n", "dependency-groups: must be a table");
}

static void test_selection(void)
{
	static const char doc[] = PROJ
		"requires-python = \">=3.9\"\n"
		"dependencies = [\"requests>=2\", \"tomli; python_version < '3.11'\"]\n"
		"[project.optional-dependencies]\n"
		"Socks = [\"PySocks!=1.5.7\"]\n"
		"test = [\"pytest>=7\", \"demo-pkg[socks]\"]\n"
		"all = [\"Demo.Pkg[test] ; sys_platform == 'linux'\"]\n"
		"[dependency-groups]\n"
		"Lint = [\"ruff\"]\n"
		"dev = [{include-group = \"lint\"}, \"pytest\", \"demo_pkg[socks]\"]\n"
		"loop-a = [{include-group = \"loop-b\"}]\n"
		"loop-b = [{include-group = \"Loop_A\"}]\n"
		"bad = [\"x >>= 1\"]\n"
		"odd = [{include-group = \"lint\", extra = 1}]\n"
		"missing = [{include-group = \"nope\"}]\n"
		"notlist = \"ruff\"\n";
	const char *socks[] = { "SOCKS" }, *test[] = { "test" }, *all[] = { "all" }, *none[] = { "nope" };
	const char *dev[] = { "DEV" }, *lint[] = { "lint", "dev" }, *loop[] = { "loop-a" };
	const char *bad[] = { "bad" }, *odd[] = { "odd" }, *missing[] = { "missing" };
	const char *notlist[] = { "notlist" }, *nog[] = { "docs" };

	want_reqs("select: dependencies only", doc, NULL, 0, false, NULL, 0,
		  "requests>=2 | tomli; python_version < '3.11'");
	want_reqs("select: an extra, named as the user likes (PEP 685)", doc, socks, 1, false, NULL, 0,
		  "requests>=2 | tomli; python_version < '3.11' | PySocks!=1.5.7");
	want_reqs("select: the project named in its own extra", doc, test, 1, false, NULL, 0,
		  "requests>=2 | tomli; python_version < '3.11' | pytest>=7 | PySocks!=1.5.7");
	want_reqs("select: a marker on the self-reference is and'ed in", doc, all, 1, false, NULL, 0,
		  "requests>=2 | tomli; python_version < '3.11' | pytest>=7 ; sys_platform == \"linux\" | "
		  "PySocks!=1.5.7 ; sys_platform == \"linux\"");
	want_reqs("select: --all-extras, an extra taken once", doc, NULL, 0, true, NULL, 0,
		  "requests>=2 | tomli; python_version < '3.11' | PySocks!=1.5.7 | pytest>=7");
	want_reqs("select: unknown extra", doc, none, 1, false, NULL, 0,
		  "ERR:Demo_Pkg has no extra 'nope' (it has: socks, test, all)");
	want_reqs("select: a group with include-group and a self-reference", doc, NULL, 0, false, dev, 1,
		  "requests>=2 | tomli; python_version < '3.11' | ruff | pytest | PySocks!=1.5.7");
	want_reqs("select: two groups, one included by the other", doc, NULL, 0, false, lint, 2,
		  "requests>=2 | tomli; python_version < '3.11' | ruff | pytest | PySocks!=1.5.7");
	want_reqs("select: include-group cycle", doc, NULL, 0, false, loop, 1,
		  "ERR:include-group makes a cycle: loop-a -> loop-b -> loop-a");
	want_reqs("select: a bad requirement in a selected group", doc, NULL, 0, false, bad, 1,
		  "ERR:dependency-groups.bad: 'x >>= 1' is not a PEP 508 requirement");
	want_reqs("select: include-group with another key", doc, NULL, 0, false, odd, 1,
		  "ERR:item 1 is neither a requirement string nor {include-group");
	want_reqs("select: include of a missing group", doc, NULL, 0, false, missing, 1,
		  "ERR:item 1 includes group 'nope'");
	want_reqs("select: a group that is not an array", doc, NULL, 0, false, notlist, 1,
		  "ERR:dependency-groups.notlist: must be an array");
	want_reqs("select: unknown group", doc, NULL, 0, false, nog, 1,
		  "ERR:there is no group 'docs' (there are: Lint, dev, loop-a, loop-b, bad, odd, missing, notlist)");
	want_reqs("select: dynamic dependencies are refused", "[project]\nname = \"x\"\nversion = \"1\"\n"
		  "dynamic = [\"dependencies\"]\n", NULL, 0, false, NULL, 0,
		  "ERR:pkgimg reads only static dependencies");
	want_reqs("select: dynamic extras with --extra are refused", PROJ
		  "dynamic = [\"optional-dependencies\"]\n", socks, 1, false, NULL, 0,
		  "ERR:project.optional-dependencies: is dynamic");
	want_reqs("select: groups without [project]", "[dependency-groups]\ndev = [\"ruff\"]\n", NULL, 0,
		  false, dev, 1, "ruff");
	want_reqs("select: nothing without [project] or a group", "[dependency-groups]\ndev = []\n",
		  NULL, 0, false, NULL, 0, "ERR:no dependency group was chosen");
	want_reqs("select: a self-reference to a missing extra", PROJ
		  "[project.optional-dependencies]\na = [\"demo-pkg[zzz]\"]\n", (const char *[]){ "a" }, 1,
		  false, NULL, 0, "ERR:names extra 'zzz'");
	want_reqs("select: extras naming each other", PROJ
		  "[project.optional-dependencies]\na = [\"x\", \"demo-pkg[b]\"]\nb = [\"y\", \"demo-pkg[a]\"]\n",
		  (const char *[]){ "a" }, 1, false, NULL, 0, "x | y");
}

static void test_read(void)
{
	char dir[] = "/tmp/pkgimg-test-pyproject-XXXXXX", path[128];
	struct pyproject p;
	FILE *f;
	int rc;

	if (!mkdtemp(dir)) {
		check(false, "read: a directory", "mkdtemp: %s", strerror(errno));
		return;
	}
	pkgimg_ctx_init(&ctx);
	rc = pyproject_read(&ctx, dir, &p);
	check(rc == -ENOENT && strstr(ctx.errmsg, "no pyproject.toml in this directory") &&
	      strstr(ctx.errmsg, "--pip DIR"), "read: a directory without pyproject.toml", "%d %s",
	      rc, ctx.errmsg);
	snprintf(path, sizeof path, "%s/pyproject.toml", dir);
	f = fopen(path, "w");
	fputs(PROJ "dependencies = [\"a\"]\n", f);
	fclose(f);
	pkgimg_ctx_init(&ctx);
	rc = pyproject_read(&ctx, dir, &p);
	check(rc == 0 && p.dependencies.n == 1 && !strcmp(p.path, path), "read: a project directory",
	      "%d %s", rc, ctx.errmsg);
	if (rc == 0)
		pyproject_free(&p);
	f = fopen(path, "w");
	fputs(PROJ "dependencies = [\"a\"\n", f);
	fclose(f);
	pkgimg_ctx_init(&ctx);
	rc = pyproject_read(&ctx, path, &p);
	check(rc == -PKGIMG_E_PARSE && str_starts_with(ctx.errmsg, path) &&
	      strstr(ctx.errmsg, ":5:1: [parse] expected ',' or ']'"), "read: a file, TOML error with line and column",
	      "%d %s", rc, ctx.errmsg);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	test_build_system();
	test_project_checks();
	test_selection();
	test_read();
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
