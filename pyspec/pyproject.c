/* pyproject.toml (see pyspec/pyproject.h). */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "core/toml.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pyproject.h"

/* How deep requirements on the project itself may nest (extra a names
 * proj[b], which names proj[c], ...). */
#define SELF_MAX_DEPTH	16

/* "PATH: [pyproject] KEY: MSG" */
static int perr(struct pkgimg_ctx *ctx, const char *path, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int perr(struct pkgimg_ctx *ctx, const char *path, const char *key, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pyproject] %s: %s", path, key, msg);
}

/* "a string" / "an array" for messages */
static const char *a_type(const struct toml_value *v)
{
	static const char *const names[] = {
		[TOML_TABLE] = "a table", [TOML_ARRAY] = "an array", [TOML_STRING] = "a string",
		[TOML_INT] = "an integer", [TOML_FLOAT] = "a float", [TOML_BOOL] = "a boolean",
		[TOML_DATETIME] = "a date-time",
	};

	return names[v->type];
}

/* v (named key) must be an array of strings, each a PEP 508 requirement
 * when pep508; they go to out. */
static int str_array(struct pkgimg_ctx *ctx, const char *path, const char *key,
		     const struct toml_value *v, bool pep508, const char *example, struct strv *out)
{
	struct pep508_req r;
	size_t i;
	int rc;

	if (v->type != TOML_ARRAY)
		return perr(ctx, path, key, "must be an array of strings, not %s; write e.g. %s = %s",
			    a_type(v), key, example);
	for (i = 0; i < v->n; i++) {
		if (v->items[i].type != TOML_STRING)
			return perr(ctx, path, key, "item %zu is %s, not a string; write e.g. %s = %s",
				    i + 1, a_type(&v->items[i]), key, example);
		if (pep508) {
			if ((rc = pep508_req_parse(ctx, v->items[i].s, &r)) < 0)
				return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pyproject] %s: item %zu "
						  "is not a PEP 508 requirement (write e.g. "
						  "\"requests>=2.31\"): %s", path, key, i + 1, ctx->errmsg);
			pep508_req_free(&r);
		}
		strv_add(out, v->items[i].s);
	}
	return 0;
}

static int read_build_system(struct pkgimg_ctx *ctx, const struct toml_value *root,
			     struct pyproject *p)
{
	const struct toml_value *bs = toml_get(root, "build-system"), *v;
	size_t i;
	int rc;

	if (!bs) {
		p->build_default = true;
		strv_add(&p->build_requires, PYPROJECT_DEFAULT_REQUIRES);
		p->build_backend = xstrdup(PYPROJECT_DEFAULT_BACKEND);
		return 0;
	}
	if (bs->type != TOML_TABLE)
		return perr(ctx, p->path, "build-system", "must be a table, not %s", a_type(bs));
	if (!(v = toml_get(bs, "requires")))
		return perr(ctx, p->path, "build-system", "has no 'requires' (PEP 518 makes it "
			    "required): add e.g. requires = [\"setuptools>=61\"], or remove the "
			    "[build-system] table for setuptools' legacy default");
	if ((rc = str_array(ctx, p->path, "build-system.requires", v, true, "[\"setuptools>=61\"]",
			    &p->build_requires)) < 0)
		return rc;
	if ((v = toml_get(bs, "build-backend"))) {
		if (v->type != TOML_STRING || !v->s[0])
			return perr(ctx, p->path, "build-system.build-backend", "must be a string "
				    "naming the backend object, e.g. build-backend = "
				    "\"setuptools.build_meta\"");
		p->build_backend = xstrdup(v->s);
	} else {
		p->build_backend = xstrdup(PYPROJECT_DEFAULT_BACKEND);
	}
	if ((v = toml_get(bs, "backend-path"))) {
		if ((rc = str_array(ctx, p->path, "build-system.backend-path", v, false, "[\".\"]",
				    &p->backend_path)) < 0)
			return rc;
		for (i = 0; i < p->backend_path.n; i++) {
			const char *d = p->backend_path.v[i];

			if (d[0] == '/' || !strcmp(d, "..") || str_starts_with(d, "../") ||
			    strstr(d, "/../") || str_ends_with(d, "/.."))
				return perr(ctx, p->path, "build-system.backend-path", "'%s' leaves "
					    "the project directory; PEP 517 takes only paths "
					    "inside it, relative to it (e.g. \"_build\")", d);
		}
	}
	return 0;
}

static bool in_strv(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

static int read_extras(struct pkgimg_ctx *ctx, const struct toml_value *od, struct pyproject *p)
{
	char key[512];
	size_t i, j;
	int rc;

	if (od->type != TOML_TABLE)
		return perr(ctx, p->path, "project.optional-dependencies", "must be a table of "
			    "extras, not %s; write e.g. [project.optional-dependencies] "
			    "test = [\"pytest\"]", a_type(od));
	p->extras = xcalloc(od->n ? od->n : 1, sizeof *p->extras);
	for (i = 0; i < od->n; i++) {
		const char *raw = od->keys[i];
		struct pyproject_extra *e = &p->extras[p->nextras];

		snprintf(key, sizeof key, "project.optional-dependencies.%.200s", raw);
		if (!pep508_name_valid(raw))
			return perr(ctx, p->path, key, "'%s' is not a valid extra name (letters, "
				    "digits, and . _ - between them)", raw);
		e->name = pep503_normalize(raw);
		p->nextras++;
		for (j = 0; j + 1 < p->nextras; j++)
			if (!strcmp(p->extras[j].name, e->name))
				return perr(ctx, p->path, key, "extra '%s' is given twice (its "
					    "normalised name %s, PEP 685, is that of another); "
					    "merge them", raw, e->name);
		if ((rc = str_array(ctx, p->path, key, &od->items[i], true, "[\"pytest>=7\"]",
				    &e->deps)) < 0)
			return rc;
	}
	return 0;
}

/* The static field key of [project] listed in dynamic too: an error. */
static int static_and_dynamic(struct pkgimg_ctx *ctx, const struct pyproject *p,
			      const struct toml_value *pr)
{
	for (size_t i = 0; i < p->dynamic.n; i++)
		if (toml_get(pr, p->dynamic.v[i]))
			return perr(ctx, p->path, "project.dynamic", "'%s' is given in [project] "
				    "and listed in dynamic (PEP 621 forbids both): remove one",
				    p->dynamic.v[i]);
	return 0;
}

static int read_project(struct pkgimg_ctx *ctx, const struct toml_value *root, struct pyproject *p)
{
	const struct toml_value *pr = toml_get(root, "project"), *v;
	struct pep440_version ver;
	struct pep440_specset ss;
	int rc;

	if (!pr)
		return 0;
	if (pr->type != TOML_TABLE)
		return perr(ctx, p->path, "project", "must be a table, not %s", a_type(pr));
	p->has_project = true;
	if ((v = toml_get(pr, "dynamic")) &&
	    (rc = str_array(ctx, p->path, "project.dynamic", v, false, "[\"version\"]",
			    &p->dynamic)) < 0)
		return rc;
	if (in_strv(&p->dynamic, "name"))
		return perr(ctx, p->path, "project.dynamic", "'name' cannot be dynamic (PEP 621); "
			    "give it in [project]: name = \"...\"");
	if ((rc = static_and_dynamic(ctx, p, pr)) < 0)
		return rc;
	p->dynamic_deps = in_strv(&p->dynamic, "dependencies");
	p->dynamic_extras = in_strv(&p->dynamic, "optional-dependencies");
	v = toml_get(pr, "name");
	if (!v || v->type != TOML_STRING)
		return perr(ctx, p->path, "project.name", "%s; PEP 621 requires it: add e.g. "
			    "name = \"my-project\"", v ? "must be a string" : "is missing");
	if (!pep508_name_valid(v->s))
		return perr(ctx, p->path, "project.name", "'%s' is not a valid project name "
			    "(letters, digits, and . _ - between them)", v->s);
	p->name = xstrdup(v->s);
	p->norm = pep503_normalize(v->s);
	if ((v = toml_get(pr, "version"))) {
		if (v->type != TOML_STRING)
			return perr(ctx, p->path, "project.version", "must be a string, e.g. "
				    "version = \"1.0\"");
		if ((rc = pep440_parse(ctx, v->s, &ver)) < 0)
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pyproject] project.version: "
					  "'%s' is not a PEP 440 version: %s", p->path, v->s,
					  ctx->errmsg);
		pep440_version_free(&ver);
		p->version = xstrdup(v->s);
	} else if (!in_strv(&p->dynamic, "version")) {
		return perr(ctx, p->path, "project.version", "is missing and not listed in "
			    "project.dynamic; add version = \"1.0\" or dynamic = [\"version\"]");
	}
	if ((v = toml_get(pr, "requires-python"))) {
		if (v->type != TOML_STRING)
			return perr(ctx, p->path, "project.requires-python", "must be a string, "
				    "e.g. requires-python = \">=3.9\"");
		if ((rc = pep440_spec_parse(ctx, v->s, &ss)) < 0)
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pyproject] "
					  "project.requires-python: '%s' is not a PEP 440 "
					  "specifier: %s", p->path, v->s, ctx->errmsg);
		pep440_specset_free(&ss);
		p->requires_python = xstrdup(v->s);
	}
	if ((v = toml_get(pr, "dependencies")) &&
	    (rc = str_array(ctx, p->path, "project.dependencies", v, true,
			    "[\"requests>=2.31\"]", &p->dependencies)) < 0)
		return rc;
	if ((v = toml_get(pr, "optional-dependencies")) && (rc = read_extras(ctx, v, p)) < 0)
		return rc;
	return 0;
}

static int read_groups(struct pkgimg_ctx *ctx, const struct toml_value *root, struct pyproject *p)
{
	const struct toml_value *dg = toml_get(root, "dependency-groups"), *v, *inc;
	char key[512];
	size_t i, j;

	if (!dg)
		return 0;
	if (dg->type != TOML_TABLE)
		return perr(ctx, p->path, "dependency-groups", "must be a table of groups, not %s; "
			    "write e.g. [dependency-groups] test = [\"pytest\"]", a_type(dg));
	p->groups = xcalloc(dg->n ? dg->n : 1, sizeof *p->groups);
	for (i = 0; i < dg->n; i++) {
		struct pyproject_group *g = &p->groups[p->ngroups];

		v = &dg->items[i];
		snprintf(key, sizeof key, "dependency-groups.%.200s", dg->keys[i]);
		if (!pep508_name_valid(dg->keys[i]))
			return perr(ctx, p->path, key, "'%s' is not a valid group name (letters, "
				    "digits, and . _ - between them; PEP 735)", dg->keys[i]);
		g->raw = xstrdup(dg->keys[i]);
		g->name = pep503_normalize(dg->keys[i]);
		p->ngroups++;
		for (j = 0; j + 1 < p->ngroups; j++)
			if (!strcmp(p->groups[j].name, g->name))
				return perr(ctx, p->path, key, "group '%s' is given twice (its "
					    "normalised name %s is that of '%s', PEP 735); merge "
					    "them", g->raw, g->name, p->groups[j].raw);
		/* the entries are checked when the group is selected (PEP 735:
		 * tools do not validate groups they do not use) */
		if (v->type != TOML_ARRAY) {
			g->bad = true;
			continue;
		}
		g->items = xcalloc(v->n ? v->n : 1, sizeof *g->items);
		for (j = 0; j < v->n; j++) {
			if (v->items[j].type == TOML_STRING) {
				g->items[j].req = xstrdup(v->items[j].s);
			} else if (v->items[j].type == TOML_TABLE && v->items[j].n == 1 &&
				   (inc = toml_get(&v->items[j], "include-group")) &&
				   inc->type == TOML_STRING) {
				g->items[j].include = xstrdup(inc->s);
			}
		}
		g->n = v->n;
	}
	return 0;
}

/* The pyproject of a parsed document (path names it); takes root. */
static int from_toml(struct pkgimg_ctx *ctx, const char *path, struct toml_value *root,
		     struct pyproject *out)
{
	struct pyproject p = { 0 };
	int rc;

	p.path = xstrdup(path);
	if ((rc = read_build_system(ctx, root, &p)) < 0 || (rc = read_project(ctx, root, &p)) < 0 ||
	    (rc = read_groups(ctx, root, &p)) < 0)
		goto out;
	*out = p;
	memset(&p, 0, sizeof p);
out:
	toml_free(root);
	pyproject_free(&p);
	return rc;
}

int pyproject_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
		    struct pyproject *out)
{
	struct toml_value root = { 0 };
	int rc;

	if ((rc = toml_parse(ctx, what, text, len, &root)) < 0)
		return rc;
	return from_toml(ctx, what, &root, out);
}

int pyproject_read(struct pkgimg_ctx *ctx, const char *dir_or_file, struct pyproject *out)
{
	struct toml_value root = { 0 };
	struct stat st;
	char *path;
	int rc;

	if (stat(dir_or_file, &st) < 0)
		return pkgimg_err(ctx, -errno, "%s: [pyproject] cannot read: %s (give the project's "
				  "directory, the one with pyproject.toml)", dir_or_file,
				  strerror(errno));
	path = S_ISDIR(st.st_mode) ? xasprintf("%s/pyproject.toml", dir_or_file)
				   : xstrdup(dir_or_file);
	if (S_ISDIR(st.st_mode) && stat(path, &st) < 0 && errno == ENOENT) {
		rc = pkgimg_err(ctx, -ENOENT, "%s: [pyproject] no pyproject.toml in this directory; "
				"pkgimg reads a project's requirements from its pyproject.toml "
				"([project] dependencies): for a setup.py-only project, build it "
				"with --pip DIR", dir_or_file);
		goto out;
	}
	if ((rc = toml_parse_file(ctx, path, &root)) == 0)
		rc = from_toml(ctx, path, &root, out);
out:
	free(path);
	return rc;
}

void pyproject_free(struct pyproject *p)
{
	size_t i, j;

	free(p->path);
	strv_free(&p->build_requires);
	free(p->build_backend);
	strv_free(&p->backend_path);
	free(p->name);
	free(p->norm);
	free(p->version);
	free(p->requires_python);
	strv_free(&p->dependencies);
	for (i = 0; i < p->nextras; i++) {
		free(p->extras[i].name);
		strv_free(&p->extras[i].deps);
	}
	free(p->extras);
	strv_free(&p->dynamic);
	for (i = 0; i < p->ngroups; i++) {
		for (j = 0; j < p->groups[i].n; j++) {
			free(p->groups[i].items[j].req);
			free(p->groups[i].items[j].include);
		}
		free(p->groups[i].items);
		free(p->groups[i].name);
		free(p->groups[i].raw);
	}
	free(p->groups);
	memset(p, 0, sizeof *p);
}

/* ---- the requirements of a selection ---- */

struct selstate {
	struct pkgimg_ctx *ctx;
	const struct pyproject *p;
	struct strv *out;
	struct strv seen;	/* extras expanded: "NAME\x1fMARKER" */
};

static const struct pyproject_extra *find_extra(const struct pyproject *p, const char *norm)
{
	for (size_t i = 0; i < p->nextras; i++)
		if (!strcmp(p->extras[i].name, norm))
			return &p->extras[i];
	return NULL;
}

static const struct pyproject_group *find_group(const struct pyproject *p, const char *norm)
{
	for (size_t i = 0; i < p->ngroups; i++)
		if (!strcmp(p->groups[i].name, norm))
			return &p->groups[i];
	return NULL;
}

static int add_extra(struct selstate *s, const char *norm, const char *marker, int depth,
		     const char *from);

/* Adds requirement req (from: where it is written, for messages), under
 * marker (NULL: none) when it comes through a requirement on the project. */
static int add_req(struct selstate *s, const char *req, const char *marker, int depth,
		   const char *from)
{
	struct pep508_req r;
	char *m = NULL, *both = NULL, *bare = NULL;
	size_t i;
	int rc;

	if ((rc = pep508_req_parse(s->ctx, req, &r)) < 0)
		return pkgimg_err(s->ctx, -PKGIMG_E_USAGE, "%s: [pyproject] %s: '%s' is not a PEP "
				  "508 requirement (write e.g. \"pytest>=7\"): %s", s->p->path, from,
				  req, s->ctx->errmsg);
	if (r.marker)
		m = pep508_marker_str(r.marker);
	if (marker && m)
		both = xasprintf("(%s) and (%s)", marker, m);
	else if (marker)
		both = xstrdup(marker);
	if (s->p->norm && !strcmp(r.norm, s->p->norm)) {
		/* the project itself: what its extras name (its own
		 * dependencies are in the list already) */
		for (i = 0; rc == 0 && i < r.nextras; i++)
			rc = add_extra(s, r.extras[i], both ? both : m, depth + 1, from);
		goto out;
	}
	if (!both) {
		strv_add_unique(s->out, req);
		goto out;
	}
	pep508_marker_free(r.marker);
	r.marker = NULL;
	bare = pep508_req_str(&r);
	strv_push(s->out, xasprintf("%s ; %s", bare, both));
	/* strv_push does not dedup: drop it again when it was there */
	for (i = 0; i + 1 < s->out->n; i++) {
		if (!strcmp(s->out->v[i], s->out->v[s->out->n - 1])) {
			free(s->out->v[--s->out->n]);
			s->out->v[s->out->n] = NULL;
			break;
		}
	}
out:
	pep508_req_free(&r);
	free(m);
	free(both);
	free(bare);
	return rc;
}

static int add_extra(struct selstate *s, const char *norm, const char *marker, int depth,
		     const char *from)
{
	const struct pyproject_extra *e = find_extra(s->p, norm);
	char *seen, *where;
	size_t i;
	int rc = 0;

	if (!e)
		return perr(s->ctx, s->p->path, from, "%s[%s] names extra '%s', which "
			    "project.optional-dependencies does not have", s->p->name, norm, norm);
	if (depth > SELF_MAX_DEPTH)
		return perr(s->ctx, s->p->path, from, "requirements on %s itself nest more than "
			    "%d deep", s->p->name, SELF_MAX_DEPTH);
	/* expanded already: under the same marker, or under none */
	seen = xasprintf("%s\x1f", norm);
	if (marker && in_strv(&s->seen, seen)) {
		free(seen);
		return 0;
	}
	free(seen);
	seen = xasprintf("%s\x1f%s", norm, marker ? marker : "");
	if (in_strv(&s->seen, seen)) {
		free(seen);
		return 0;
	}
	strv_push(&s->seen, seen);
	where = xasprintf("project.optional-dependencies.%s", e->name);
	for (i = 0; rc == 0 && i < e->deps.n; i++)
		rc = add_req(s, e->deps.v[i], marker, depth, where);
	free(where);
	return rc;
}

/* Group g's requirements; stack: the groups being expanded (a cycle). */
static int add_group(struct selstate *s, const struct pyproject_group *g, struct strv *stack)
{
	const struct pyproject_group *inc;
	struct sbuf cyc = SBUF_INIT;
	char key[512], *norm;
	size_t i;
	int rc = 0;

	snprintf(key, sizeof key, "dependency-groups.%.200s", g->raw);
	if (g->bad)
		return perr(s->ctx, s->p->path, key, "must be an array of requirements and "
			    "{include-group = \"NAME\"} tables (PEP 735), e.g. %s = [\"pytest\"]", g->raw);
	if (in_strv(stack, g->name)) {
		for (i = 0; i < stack->n; i++)
			sbuf_addf(&cyc, "%s -> ", stack->v[i]);
		sbuf_adds(&cyc, g->name);
		rc = perr(s->ctx, s->p->path, key, "include-group makes a cycle: %s (PEP 735 "
			  "forbids it); remove one include-group", cyc.buf);
		sbuf_free(&cyc);
		return rc;
	}
	strv_add(stack, g->name);
	for (i = 0; rc == 0 && i < g->n; i++) {
		const struct pyproject_group_item *it = &g->items[i];

		if (it->req) {
			rc = add_req(s, it->req, NULL, 0, key);
		} else if (it->include) {
			norm = pep503_normalize(it->include);
			inc = find_group(s->p, norm);
			free(norm);
			if (!inc)
				rc = perr(s->ctx, s->p->path, key, "item %zu includes group '%s', "
					  "which [dependency-groups] does not have", i + 1,
					  it->include);
			else
				rc = add_group(s, inc, stack);
		} else {
			rc = perr(s->ctx, s->p->path, key, "item %zu is neither a requirement "
				  "string nor {include-group = \"NAME\"} (PEP 735)", i + 1);
		}
	}
	free(stack->v[--stack->n]);
	stack->v[stack->n] = NULL;
	return rc;
}

/* "a, b, c" of the extras or groups there are, for messages. */
static char *names_of(const struct pyproject *p, bool groups)
{
	struct sbuf sb = SBUF_INIT;
	size_t i, n = groups ? p->ngroups : p->nextras;

	sbuf_add(&sb, "", 0);
	for (i = 0; i < n; i++)
		sbuf_addf(&sb, "%s%s", i ? ", " : "", groups ? p->groups[i].raw : p->extras[i].name);
	if (!n)
		sbuf_adds(&sb, "none");
	return sbuf_detach(&sb);
}

static int select_extras(struct selstate *s, const struct pyproject_select *sel)
{
	const struct pyproject *p = s->p;
	char *norm, *have, *where;
	size_t i;
	int rc = 0;

	if ((sel->nextras || sel->all_extras) && p->dynamic_extras)
		return perr(s->ctx, p->path, "project.optional-dependencies", "is dynamic (listed "
			    "in project.dynamic): pkgimg reads only static requirements; build "
			    "the project with --pip DIR instead");
	if (sel->all_extras) {
		for (i = 0; rc == 0 && i < p->nextras; i++) {
			where = xasprintf("project.optional-dependencies.%s", p->extras[i].name);
			rc = add_extra(s, p->extras[i].name, NULL, 0, where);
			free(where);
		}
		return rc;
	}
	for (i = 0; rc == 0 && i < sel->nextras; i++) {
		norm = pep503_normalize(sel->extras[i]);
		if (!find_extra(p, norm)) {
			have = names_of(p, false);
			rc = perr(s->ctx, p->path, "project.optional-dependencies", "%s has no extra "
				  "'%s' (it has: %s)", p->name, sel->extras[i], have);
			free(have);
		} else {
			where = xasprintf("project.optional-dependencies.%s", norm);
			rc = add_extra(s, norm, NULL, 0, where);
			free(where);
		}
		free(norm);
	}
	return rc;
}

int pyproject_requirements(struct pkgimg_ctx *ctx, const struct pyproject *p,
			   const struct pyproject_select *sel, struct strv *out)
{
	struct selstate s = { .ctx = ctx, .p = p };
	struct strv res = { 0 }, stack = { 0 };
	const struct pyproject_group *g;
	char *norm, *have;
	size_t i;
	int rc = 0;

	s.out = &res;
	if (!p->has_project && (sel->nextras || sel->all_extras)) {
		rc = perr(ctx, p->path, "project", "is missing: --extra needs [project] "
			  "optional-dependencies");
		goto out;
	}
	if (!p->has_project && !sel->ngroups) {
		rc = perr(ctx, p->path, "project", "is missing, and no dependency group was "
			  "chosen: nothing to install (add [project] with dependencies, or "
			  "choose a group of [dependency-groups] with --group)");
		goto out;
	}
	if (p->has_project && p->dynamic_deps) {
		rc = perr(ctx, p->path, "project.dependencies", "is dynamic (listed in "
			  "project.dynamic): pkgimg reads only static dependencies from "
			  "pyproject.toml; list them in [project] dependencies, or build the "
			  "project with --pip DIR (which installs it too)");
		goto out;
	}
	for (i = 0; rc == 0 && i < p->dependencies.n; i++)
		rc = add_req(&s, p->dependencies.v[i], NULL, 0, "project.dependencies");
	if (rc == 0)
		rc = select_extras(&s, sel);
	for (i = 0; rc == 0 && i < sel->ngroups; i++) {
		norm = pep503_normalize(sel->groups[i]);
		g = find_group(p, norm);
		free(norm);
		if (!g) {
			have = names_of(p, true);
			rc = perr(ctx, p->path, "dependency-groups", "there is no group '%s' "
				  "(there are: %s)", sel->groups[i], have);
			free(have);
			break;
		}
		rc = add_group(&s, g, &stack);
	}
	if (rc < 0)
		goto out;
	for (i = 0; i < res.n; i++)
		strv_add_unique(out, res.v[i]);
out:
	strv_free(&res);
	strv_free(&stack);
	strv_free(&s.seen);
	return rc;
}
