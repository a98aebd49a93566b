/* core/spec.c: a pip step given as {project: DIR, extras: [..], groups:
 * [..]} (the dependencies of DIR's pyproject.toml): the fields, the path
 * made absolute against the spec's directory, the step text (and so the
 * layer key), and the errors.  Prints "ok - NAME" / "not ok - NAME". */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/spec.h"
#include "core/str.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

static int parse(const char *text, struct spec *s)
{
	pkgimg_ctx_init(&ctx);
	return spec_parse_text(&ctx, "/ctx/pkgimg.yaml", text, strlen(text), s);
}

static void want_err(const char *name, const char *text, const char *part)
{
	struct spec s;
	int rc = parse(text, &s);

	if (rc == 0) {
		check(false, name, "parsed, want an error with %s", part);
		spec_free(&s);
		return;
	}
	check(rc == -PKGIMG_E_USAGE && strstr(ctx.errmsg, part), name, "rc %d: %s (want …%s)", rc,
	      ctx.errmsg, part);
}

int main(void)
{
	struct spec s;
	char *text;

	if (parse("steps:\n  - pip: {project: ./app, extras: [test, Fast], groups: [dev]}\n"
		  "    index_url: http://127.0.0.1/simple\n"
		  "  - pip: {project: app}\n", &s) == 0) {
		const struct spec_step *a = &s.steps[0], *b = &s.steps[1];

		check(a->kind == SPEC_PIP && a->project && !strcmp(a->project, "/ctx/app") &&
		      !strcmp(a->project_raw, "./app") && a->extras.n == 2 &&
		      !strcmp(a->extras.v[1], "Fast") && a->groups.n == 1 && !a->items.n &&
		      !strcmp(a->index_url, "http://127.0.0.1/simple"),
		      "pip mapping: project (absolute from the spec's directory), extras, groups",
		      "%s %s", a->project ? a->project : "-", a->project_raw ? a->project_raw : "-");
		text = spec_step_text(&s, a);
		check(!strcmp(text, "pip: --index-url http://127.0.0.1/simple --project ./app "
			      "--extra test --extra Fast --group dev"),
		      "pip mapping: the step text names project, extras and groups", "%s", text);
		free(text);
		text = spec_step_text(&s, b);
		check(!strcmp(text, "pip: --project app") && !strcmp(b->project, "/ctx/app"),
		      "pip mapping: project alone", "%s", text);
		free(text);
		spec_free(&s);
	} else {
		check(false, "pip mapping", "%s", ctx.errmsg);
	}
	want_err("pip mapping: no project", "steps:\n  - pip: {extras: [a]}\n",
		 "/ctx/pkgimg.yaml:2:10: [spec] the pip mapping has no 'project'");
	want_err("pip mapping: unknown key, with a suggestion", "steps:\n  - pip: {project: ., extra: [a]}\n",
		 "unknown key 'extra' in the pip mapping; expected one of project, extras, groups (did you mean 'extras'?)");
	want_err("pip mapping: extras not a list", "steps:\n  - pip: {project: ., extras: a}\n",
		 "'extras' must be a list");
	want_err("pip mapping: project not a string", "steps:\n  - pip: {project: [a]}\n",
		 "'project' must be a string");
	want_err("pip: still a list or a mapping", "steps:\n  - pip: 3\n", "'pip' must be a list");
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
