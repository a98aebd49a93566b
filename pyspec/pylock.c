/* pylock.toml (PEP 751) and uv.lock read as exact install sources;
 * pylock.toml and hashed requirements.txt written (see pyspec/pylock.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "core/toml.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pylock.h"

const char *pylock_format_name(enum pylock_format f)
{
	return f == PYLOCK_UV ? "uv.lock" : "pylock.toml (PEP 751)";
}

bool pylock_is_pylock_name(const char *path)
{
	const char *b = path_base(path);
	size_t n = strlen(b);

	if (!strcmp(b, "pylock.toml"))
		return true;
	/* pylock.NAME.toml, NAME not empty and without a dot (PEP 751) */
	return n > 13 && !strncmp(b, "pylock.", 7) && str_ends_with(b, ".toml") &&
	       memchr(b + 7, '.', n - 12) == NULL;
}

/* --- reading: helpers ------------------------------------------------------ */

struct rd {
	struct pkgimg_ctx *ctx;
	const char *what;
};

static int bad(struct rd *rd, const struct toml_value *at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int bad(struct rd *rd, const struct toml_value *at, const char *fmt, ...)
{
	char *msg;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		msg = NULL;
	pkgimg_err(rd->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s", rd->what, at ? at->line : 0,
		   msg ? msg : "out of memory");
	free(msg);
	return -PKGIMG_E_PARSE;
}

/* tbl[key] as a string into *out (NULL when absent and !required). */
static int get_str(struct rd *rd, const struct toml_value *tbl, const char *key, bool required,
		   char **out)
{
	const struct toml_value *v = toml_get(tbl, key);

	*out = NULL;
	if (!v)
		return required ? bad(rd, tbl, "'%s' is missing", key) : 0;
	if (v->type != TOML_STRING)
		return bad(rd, v, "'%s' is a %s; expected a string", key, toml_type_name(v->type));
	if (required && !*v->s)
		return bad(rd, v, "'%s' is empty", key);
	*out = xstrdup(v->s);
	return 0;
}

/* tbl[key] as an array of strings, appended to *out. */
static int get_strv(struct rd *rd, const struct toml_value *tbl, const char *key,
		    struct strv *out)
{
	const struct toml_value *v = toml_get(tbl, key);

	if (!v)
		return 0;
	if (v->type != TOML_ARRAY)
		return bad(rd, v, "'%s' is a %s; expected an array of strings", key,
			   toml_type_name(v->type));
	for (size_t i = 0; i < v->n; i++) {
		if (v->items[i].type != TOML_STRING)
			return bad(rd, &v->items[i], "'%s' holds a %s; expected strings", key,
				   toml_type_name(v->items[i].type));
		strv_add(out, v->items[i].s);
	}
	return 0;
}

/* tbl's value for key when it is of type t (NULL when absent); another
 * type is an error naming what was expected ("a table", "an array"). */
static int get_typed(struct rd *rd, const struct toml_value *tbl, const char *key,
		     enum toml_type t, const char *expected, const struct toml_value **out)
{
	const struct toml_value *v = toml_get(tbl, key);

	*out = NULL;
	if (v && v->type != t)
		return bad(rd, v, "'%s' is a %s; expected %s", key, toml_type_name(v->type),
			   expected);
	*out = v;
	return 0;
}

static int get_table(struct rd *rd, const struct toml_value *tbl, const char *key,
		     const struct toml_value **out)
{
	return get_typed(rd, tbl, key, TOML_TABLE, "a table", out);
}

static int get_array(struct rd *rd, const struct toml_value *tbl, const char *key,
		     const struct toml_value **out)
{
	return get_typed(rd, tbl, key, TOML_ARRAY, "an array", out);
}

static int get_size(struct rd *rd, const struct toml_value *tbl, const char *key,
		    struct pylock_file *f)
{
	const struct toml_value *v = toml_get(tbl, key);

	if (!v)
		return 0;
	if (v->type != TOML_INT || v->i < 0)
		return bad(rd, v, "'%s' is not a size in bytes", key);
	f->size = (uint64_t)v->i;
	f->has_size = true;
	return 0;
}

static int check_sha256(struct rd *rd, const struct toml_value *at, const char *hex)
{
	if (!hex_is64(hex) || !hex_is_lower(hex, 64))
		return bad(rd, at, "sha256 '%s' is not 64 lowercase hex digits", hex);
	return 0;
}

/* A URL pkgimg fetches: http(s):// or file://, no control characters. */
static int check_url(struct rd *rd, const struct toml_value *at, const char *url)
{
	for (const char *c = url; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || *c == ' ')
			return bad(rd, at, "URL '%s' has a space or a control character", url);
	if (!str_starts_with(url, "https://") && !str_starts_with(url, "http://") &&
	    !str_starts_with(url, "file://"))
		return bad(rd, at, "URL '%s' is not http://, https:// or file://", url);
	return 0;
}

/* The last component of a URL (query and fragment dropped) or path. */
static char *last_part(const char *s)
{
	size_t n = strcspn(s, "?#");
	const char *slash = NULL;

	for (size_t i = 0; i < n; i++)
		if (s[i] == '/')
			slash = s + i;
	return slash ? xstrndup(slash + 1, n - (size_t)(slash + 1 - s)) : xstrndup(s, n);
}

static void file_free(struct pylock_file *f)
{
	free(f->name);
	free(f->url);
	free(f->path);
	free(f->sha256);
	memset(f, 0, sizeof *f);
}

/* The name of a file: given, or from the URL/path; one component, not
 * empty, not "." or "..". */
static int file_name(struct rd *rd, const struct toml_value *t, struct pylock_file *f)
{
	if (!f->name)
		f->name = last_part(f->url ? f->url : f->path ? f->path : "");
	if (!*f->name || strchr(f->name, '/') || strchr(f->name, '\\') ||
	    !strcmp(f->name, ".") || !strcmp(f->name, ".."))
		return bad(rd, t, "file name '%s' is not a file name", f->name);
	return 0;
}

/* A PEP 751 file table (wheel, sdist, archive). */
static int pep751_file(struct rd *rd, const struct toml_value *t, bool want_name,
		       struct pylock_file *out)
{
	struct pylock_file f = { 0 };
	const struct toml_value *h;
	int r;

	if (t->type != TOML_TABLE)
		return bad(rd, t, "a file entry is a %s; expected a table", toml_type_name(t->type));
	r = want_name ? get_str(rd, t, "name", false, &f.name) : 0;
	if (r == 0)
		r = get_str(rd, t, "url", false, &f.url);
	if (r == 0)
		r = get_str(rd, t, "path", false, &f.path);
	if (r == 0 && !f.url && !f.path)
		r = bad(rd, t, "a file entry has neither 'url' nor 'path'");
	if (r == 0 && f.url)
		r = check_url(rd, t, f.url);
	if (r == 0)
		r = get_size(rd, t, "size", &f);
	if (r == 0)
		r = get_table(rd, t, "hashes", &h);
	if (r == 0 && !h)
		r = bad(rd, t, "a file entry has no 'hashes' (PEP 751 requires them)");
	if (r == 0 && toml_get(h, "sha256")) {
		r = get_str(rd, h, "sha256", true, &f.sha256);
		if (r == 0)
			r = check_sha256(rd, h, f.sha256);
	}
	if (r == 0)
		r = file_name(rd, t, &f);
	if (r < 0)
		file_free(&f);
	else
		*out = f;
	return r;
}

/* A uv.lock file table: { url | path | filename, hash = "sha256:…", size }.
 * src_url: the package's url or path source, which an archive's entry
 * ({ hash = … } alone) stands for. */
static int uv_file(struct rd *rd, const struct toml_value *t, const struct pylock_pkg *p,
		   struct pylock_file *out)
{
	struct pylock_file f = { 0 };
	char *hash = NULL;
	int r;

	if (t->type != TOML_TABLE)
		return bad(rd, t, "a file entry is a %s; expected a table", toml_type_name(t->type));
	r = get_str(rd, t, "url", false, &f.url);
	if (r == 0)
		r = get_str(rd, t, "path", false, &f.path);
	if (r == 0)
		r = get_str(rd, t, "filename", false, &f.name);
	if (r == 0 && !f.url && !f.path && p->src == PYLOCK_SRC_ARCHIVE) {
		if (strstr(p->src_url, "://"))
			f.url = xstrdup(p->src_url);
		else
			f.path = xstrdup(p->src_url);
	}
	if (r == 0 && !f.url && !f.path)
		r = bad(rd, t, "a file entry has neither 'url' nor 'path'");
	if (r == 0 && f.url)
		r = check_url(rd, t, f.url);
	if (r == 0)
		r = get_size(rd, t, "size", &f);
	if (r == 0)
		r = get_str(rd, t, "hash", false, &hash);
	if (r == 0 && hash) {
		if (!str_starts_with(hash, "sha256:"))
			r = bad(rd, t, "hash '%s' is not a sha256 (\"sha256:<hex>\")", hash);
		else if ((r = check_sha256(rd, t, hash + 7)) == 0)
			f.sha256 = xstrdup(hash + 7);
	}
	if (r == 0)
		r = file_name(rd, t, &f);
	free(hash);
	if (r < 0)
		file_free(&f);
	else
		*out = f;
	return r;
}

static int parse_marker(struct rd *rd, const struct toml_value *at, const char *text,
			struct pep508_marker **out)
{
	int r = pep508_marker_parse_lock(rd->ctx, text, out);

	if (r < 0)
		pkgimg_err_wrap(rd->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock]", rd->what, at->line);
	return r < 0 ? -PKGIMG_E_PARSE : 0;
}

static int norm_name(struct rd *rd, const struct toml_value *t, char **name)
{
	char *n;

	if (!pep508_name_valid(*name))
		return bad(rd, t, "'%s' is not a valid project name", *name);
	n = pep503_normalize(*name);
	free(*name);
	*name = n;
	return 0;
}

static int check_version(struct rd *rd, const struct toml_value *t, const char *name,
			 const char *version)
{
	struct pep440_version v;

	if (pep440_parse(NULL, version, &v) < 0)
		return bad(rd, t, "%s: version '%s' is not a PEP 440 version", name, version);
	pep440_version_free(&v);
	return 0;
}

static void dep_free(struct pylock_dep *d)
{
	free(d->name);
	free(d->version);
	free(d->source);
	pep508_marker_free(d->marker);
	strv_free(&d->extras);
}

static void deplist_free(struct pylock_deplist *l)
{
	for (size_t i = 0; i < l->n; i++)
		dep_free(&l->deps[i]);
	free(l->deps);
	free(l->name);
}

static void pkg_free(struct pylock_pkg *p)
{
	free(p->name);
	free(p->version);
	pep508_marker_free(p->marker);
	free(p->requires_python);
	free(p->index);
	for (size_t i = 0; i < p->nwheels; i++)
		file_free(&p->wheels[i]);
	free(p->wheels);
	if (p->sdist)
		file_free(p->sdist);
	free(p->sdist);
	file_free(&p->archive);
	free(p->src_url);
	free(p->commit);
	free(p->subdirectory);
	for (size_t i = 0; i < p->ndeps; i++)
		dep_free(&p->deps[i]);
	free(p->deps);
	for (size_t i = 0; i < p->noptional; i++)
		deplist_free(&p->optional[i]);
	free(p->optional);
	for (size_t i = 0; i < p->ngroups; i++)
		deplist_free(&p->groups[i]);
	free(p->groups);
	free(p->requested_by);
}

void pylock_free(struct pylock *lk)
{
	if (!lk)
		return;
	for (size_t i = 0; i < lk->npkgs; i++)
		pkg_free(&lk->pkgs[i]);
	free(lk->pkgs);
	free(lk->what);
	free(lk->requires_python);
	strv_free(&lk->environments);
	strv_free(&lk->extras);
	strv_free(&lk->groups);
	strv_free(&lk->default_groups);
	strv_free(&lk->members);
	free(lk->step);
	memset(lk, 0, sizeof *lk);
}

/* [packages.tool.pkgimg] / [tool.pkgimg]: what pkgimg wrote for itself. */
static int tool_str(struct rd *rd, const struct toml_value *t, const char *key, char **out)
{
	const struct toml_value *tool, *mine;
	int r = get_table(rd, t, "tool", &tool);

	if (r == 0 && tool)
		r = get_table(rd, tool, "pkgimg", &mine);
	if (r == 0 && tool && mine)
		r = get_str(rd, mine, key, false, out);
	return r;
}

/* --- reading: PEP 751 ------------------------------------------------------ */

static int pep751_source(struct rd *rd, const struct toml_value *t, struct pylock_pkg *p)
{
	const struct toml_value *vcs, *dir, *arc, *sd, *wh;
	int n, r;

	if ((r = get_table(rd, t, "vcs", &vcs)) < 0 || (r = get_table(rd, t, "directory", &dir)) < 0 ||
	    (r = get_table(rd, t, "archive", &arc)) < 0 || (r = get_table(rd, t, "sdist", &sd)) < 0 ||
	    (r = get_array(rd, t, "wheels", &wh)) < 0)
		return r;
	n = !!vcs + !!dir + !!arc + !!(sd || wh);
	if (n != 1)
		return bad(rd, t, "%s: %s", p->name, n ? "more than one of vcs, directory, archive "
			   "and sdist/wheels (PEP 751 allows one)" : "no source: none of "
			   "wheels, sdist, vcs, directory, archive");
	if (vcs) {
		char *type = NULL;

		p->src = PYLOCK_SRC_VCS;
		r = get_str(rd, vcs, "type", true, &type);
		if (r == 0 && strcmp(type, "git"))
			r = bad(rd, vcs, "%s: vcs type '%s': pkgimg reads git repositories only",
				p->name, type);
		free(type);
		if (r == 0)
			r = get_str(rd, vcs, "url", false, &p->src_url);
		if (r == 0 && !p->src_url)
			r = get_str(rd, vcs, "path", true, &p->src_url);
		if (r == 0)
			r = get_str(rd, vcs, "commit-id", true, &p->commit);
		if (r == 0)
			r = get_str(rd, vcs, "subdirectory", false, &p->subdirectory);
		return r;
	}
	if (dir) {
		const struct toml_value *e = toml_get(dir, "editable");

		p->src = PYLOCK_SRC_DIRECTORY;
		p->editable = e && e->type == TOML_BOOL && e->b;
		r = get_str(rd, dir, "path", true, &p->src_url);
		if (r == 0)
			r = get_str(rd, dir, "subdirectory", false, &p->subdirectory);
		return r;
	}
	if (arc) {
		p->src = PYLOCK_SRC_ARCHIVE;
		r = pep751_file(rd, arc, false, &p->archive);
		if (r == 0)
			r = get_str(rd, arc, "subdirectory", false, &p->subdirectory);
		return r;
	}
	p->src = PYLOCK_SRC_INDEX;
	if (sd) {
		p->sdist = xcalloc(1, sizeof *p->sdist);
		r = pep751_file(rd, sd, true, p->sdist);
		if (r < 0) {
			free(p->sdist);
			p->sdist = NULL;
			return r;
		}
	}
	p->wheels = xcalloc(wh ? wh->n + 1 : 1, sizeof *p->wheels);
	for (size_t i = 0; wh && i < wh->n && r == 0; i++) {
		r = pep751_file(rd, &wh->items[i], true, &p->wheels[i]);
		if (r == 0)
			p->nwheels++;
	}
	return r;
}

/* What both formats' package entries start with: a table, its line, the
 * name (PEP 503) and the version (checked as PEP 440 when given). */
static int pkg_head(struct rd *rd, const struct toml_value *t, const char *what,
		    struct pylock_pkg *p)
{
	int r;

	if (t->type != TOML_TABLE)
		return bad(rd, t, "a %s entry is a %s", what, toml_type_name(t->type));
	p->line = t->line;
	r = get_str(rd, t, "name", true, &p->name);
	if (r == 0)
		r = norm_name(rd, t, &p->name);
	if (r == 0)
		r = get_str(rd, t, "version", false, &p->version);
	if (r == 0 && p->version)
		r = check_version(rd, toml_get(t, "version"), p->name, p->version);
	return r;
}

static int pep751_pkg(struct rd *rd, const struct toml_value *t, struct pylock_pkg *p)
{
	char *marker = NULL;
	int r;

	r = pkg_head(rd, t, "[[packages]]", p);
	if (r == 0)
		r = get_str(rd, t, "marker", false, &marker);
	if (r == 0 && marker)
		r = parse_marker(rd, t, marker, &p->marker);
	if (r == 0)
		r = get_str(rd, t, "requires-python", false, &p->requires_python);
	if (r == 0)
		r = get_str(rd, t, "index", false, &p->index);
	if (r == 0)
		r = pep751_source(rd, t, p);
	if (r == 0 && !p->version && (p->src == PYLOCK_SRC_INDEX))
		r = bad(rd, t, "%s: no 'version' (PEP 751 requires it for wheels and sdists)",
			p->name);
	if (r == 0)
		r = tool_str(rd, t, "requested-by", &p->requested_by);
	free(marker);
	return r;
}

static int pep751_read(struct rd *rd, const struct toml_value *root, struct pylock *lk)
{
	const struct toml_value *pk;
	char *lv = NULL;
	int r;

	r = get_str(rd, root, "lock-version", true, &lv);
	if (r == 0 && (strncmp(lv, "1.", 2) || !lv[2] || strspn(lv + 2, "0123456789") !=
		       strlen(lv + 2)))
		r = bad(rd, toml_get(root, "lock-version"), "lock-version '%s': pkgimg reads "
			"PEP 751 lock-version 1.x only", lv);
	free(lv);
	if (r == 0)
		r = get_str(rd, root, "requires-python", false, &lk->requires_python);
	if (r == 0)
		r = get_strv(rd, root, "environments", &lk->environments);
	if (r == 0)
		r = get_strv(rd, root, "extras", &lk->extras);
	if (r == 0)
		r = get_strv(rd, root, "dependency-groups", &lk->groups);
	if (r == 0)
		r = get_strv(rd, root, "default-groups", &lk->default_groups);
	if (r == 0)
		r = tool_str(rd, root, "step", &lk->step);
	if (r == 0)
		r = get_array(rd, root, "packages", &pk);
	if (r == 0 && !pk)
		r = bad(rd, root, "no [[packages]]");
	if (r < 0)
		return r;
	lk->pkgs = xcalloc(pk->n + 1, sizeof *lk->pkgs);
	for (size_t i = 0; i < pk->n && r == 0; i++) {
		r = pep751_pkg(rd, &pk->items[i], &lk->pkgs[i]);
		lk->npkgs++;	/* freed with the lock when it failed half-way */
	}
	return r;
}

/* --- reading: uv.lock ------------------------------------------------------ */

static int uv_dep(struct rd *rd, const struct toml_value *t, struct pylock_dep *d)
{
	const struct toml_value *src;
	char *marker = NULL;
	int r;

	if (t->type != TOML_TABLE)
		return bad(rd, t, "a dependency is a %s; expected a table", toml_type_name(t->type));
	r = get_str(rd, t, "name", true, &d->name);
	if (r == 0)
		r = norm_name(rd, t, &d->name);
	if (r == 0)
		r = get_str(rd, t, "version", false, &d->version);
	if (r == 0)
		r = get_table(rd, t, "source", &src);
	if (r == 0 && src && src->n == 1 && src->items[0].type == TOML_STRING)
		d->source = xasprintf("%s=%s", src->keys[0], src->items[0].s);
	if (r == 0)
		r = get_str(rd, t, "marker", false, &marker);
	if (r == 0 && marker)
		r = parse_marker(rd, t, marker, &d->marker);
	if (r == 0)
		r = get_strv(rd, t, "extra", &d->extras);
	for (size_t i = 0; r == 0 && i < d->extras.n; i++) {
		char *n = pep503_normalize(d->extras.v[i]);

		free(d->extras.v[i]);
		d->extras.v[i] = n;
	}
	free(marker);
	return r;
}

static int uv_deps(struct rd *rd, const struct toml_value *arr, const char *what,
		   struct pylock_dep **out, size_t *nout)
{
	int r = 0;

	if (arr->type != TOML_ARRAY)
		return bad(rd, arr, "'%s' is a %s; expected an array", what,
			   toml_type_name(arr->type));
	*out = xcalloc(arr->n + 1, sizeof **out);
	for (size_t i = 0; i < arr->n && r == 0; i++) {
		r = uv_dep(rd, &arr->items[i], &(*out)[i]);
		(*nout)++;
	}
	return r;
}

static int uv_deplists(struct rd *rd, const struct toml_value *t, const char *key,
		       struct pylock_deplist **out, size_t *nout)
{
	const struct toml_value *tbl;
	int r = get_table(rd, t, key, &tbl);

	if (r < 0 || !tbl)
		return r;
	*out = xcalloc(tbl->n + 1, sizeof **out);
	for (size_t i = 0; i < tbl->n && r == 0; i++) {
		struct pylock_deplist *l = &(*out)[i];

		l->name = pep503_normalize(tbl->keys[i]);
		(*nout)++;
		r = uv_deps(rd, &tbl->items[i], tbl->keys[i], &l->deps, &l->n);
	}
	return r;
}

/* source = { registry | url | git | path | directory | editable | virtual } */
static int uv_source(struct rd *rd, const struct toml_value *t, struct pylock_pkg *p)
{
	const struct toml_value *src;
	const char *kind, *val;
	int r = get_table(rd, t, "source", &src);

	if (r < 0)
		return r;
	if (!src || src->n < 1 || src->items[0].type != TOML_STRING)
		return bad(rd, t, "%s: 'source' is missing or not { KIND = \"...\" }", p->name);
	kind = src->keys[0];
	val = src->items[0].s;
	if (!strcmp(kind, "registry")) {
		p->src = PYLOCK_SRC_INDEX;
		p->index = xstrdup(val);
	} else if (!strcmp(kind, "url") || !strcmp(kind, "path")) {
		/* an archive: its file is the sdist entry or the one wheel */
		p->src = PYLOCK_SRC_ARCHIVE;
		p->src_url = xstrdup(val);
		r = get_str(rd, src, "subdirectory", false, &p->subdirectory);
	} else if (!strcmp(kind, "git")) {
		/* "https://host/repo?rev=x#<commit>" */
		const char *hash = strrchr(val, '#');

		p->src = PYLOCK_SRC_VCS;
		if (!hash || !hex_is_lower(hash + 1, strlen(hash + 1)) || strlen(hash + 1) < 40)
			return bad(rd, src, "%s: git source '%s' is not pinned to a commit "
				   "(\"URL#<commit>\")", p->name, val);
		p->src_url = xstrndup(val, strcspn(val, "?#"));
		p->commit = xstrdup(hash + 1);
		if (strstr(val, "subdirectory=")) {
			const char *s = strstr(val, "subdirectory=") + 13;

			p->subdirectory = xstrndup(s, strcspn(s, "&#"));
		}
	} else if (!strcmp(kind, "directory") || !strcmp(kind, "editable")) {
		p->src = PYLOCK_SRC_DIRECTORY;
		p->editable = !strcmp(kind, "editable");
		p->src_url = xstrdup(val);
	} else if (!strcmp(kind, "virtual")) {
		p->src = PYLOCK_SRC_VIRTUAL;
		p->src_url = xstrdup(val);
	} else {
		return bad(rd, src, "%s: source kind '%s' is not one uv.lock version 1 has "
			   "(registry, url, git, path, directory, editable, virtual)", p->name, kind);
	}
	return r;
}

static int uv_pkg(struct rd *rd, const struct toml_value *t, struct pylock_pkg *p)
{
	const struct toml_value *sd, *wh, *deps;
	int r;

	r = pkg_head(rd, t, "[[package]]", p);
	if (r == 0)
		r = uv_source(rd, t, p);
	if (r == 0 && !p->version && p->src == PYLOCK_SRC_INDEX)
		r = bad(rd, t, "%s: no 'version'", p->name);
	if (r == 0)
		r = get_table(rd, t, "sdist", &sd);
	if (r == 0)
		r = get_array(rd, t, "wheels", &wh);
	if (r == 0 && sd) {
		p->sdist = xcalloc(1, sizeof *p->sdist);
		r = uv_file(rd, sd, p, p->sdist);
		if (r < 0) {
			free(p->sdist);
			p->sdist = NULL;
		}
	}
	if (r == 0) {
		p->wheels = xcalloc(wh ? wh->n + 1 : 1, sizeof *p->wheels);
		for (size_t i = 0; wh && i < wh->n && r == 0; i++) {
			r = uv_file(rd, &wh->items[i], p, &p->wheels[i]);
			if (r == 0)
				p->nwheels++;
		}
	}
	if (r == 0 && p->src == PYLOCK_SRC_ARCHIVE) {
		/* the archive's file, with its hash, is the sdist entry */
		if (p->sdist) {
			p->archive = *p->sdist;
			free(p->sdist);
			p->sdist = NULL;
		} else if (p->nwheels == 0) {
			r = bad(rd, t, "%s: source %s has no file entry (sdist or wheels)",
				p->name, p->src_url);
		}
	}
	if (r == 0 && (deps = toml_get(t, "dependencies")))
		r = uv_deps(rd, deps, "dependencies", &p->deps, &p->ndeps);
	if (r == 0)
		r = uv_deplists(rd, t, "optional-dependencies", &p->optional, &p->noptional);
	if (r == 0)
		r = uv_deplists(rd, t, "dev-dependencies", &p->groups, &p->ngroups);
	return r;
}

static int uv_read(struct rd *rd, const struct toml_value *root, struct pylock *lk)
{
	const struct toml_value *v = toml_get(root, "version"), *pk, *man;
	int r = 0;

	if (!v || v->type != TOML_INT)
		return bad(rd, root, "no integer 'version' (uv.lock) and no 'lock-version' "
			   "(PEP 751 pylock.toml): not a lock file pkgimg reads");
	if (v->i != 1)
		return bad(rd, v, "uv.lock version %lld: pkgimg reads uv.lock version 1 only",
			   (long long)v->i);
	r = get_str(rd, root, "requires-python", false, &lk->requires_python);
	if (r == 0)
		r = get_table(rd, root, "manifest", &man);
	if (r == 0 && man)
		r = get_strv(rd, man, "members", &lk->members);
	for (size_t i = 0; r == 0 && i < lk->members.n; i++) {
		char *n = pep503_normalize(lk->members.v[i]);

		free(lk->members.v[i]);
		lk->members.v[i] = n;
	}
	if (r == 0)
		r = get_array(rd, root, "package", &pk);
	if (r == 0 && !pk)
		r = bad(rd, root, "no [[package]]");
	if (r < 0)
		return r;
	lk->pkgs = xcalloc(pk->n + 1, sizeof *lk->pkgs);
	for (size_t i = 0; i < pk->n && r == 0; i++) {
		r = uv_pkg(rd, &pk->items[i], &lk->pkgs[i]);
		lk->npkgs++;
	}
	return r;
}

int pylock_from_toml(struct pkgimg_ctx *ctx, const char *what, const struct toml_value *root,
		     struct pylock *out)
{
	struct rd rd = { ctx, what };
	struct pylock lk = { 0 };
	int r;

	lk.what = xstrdup(what);
	if (root->type != TOML_TABLE) {
		r = bad(&rd, root, "not a table");
	} else if (toml_get(root, "lock-version")) {
		lk.format = PYLOCK_PEP751;
		r = pep751_read(&rd, root, &lk);
	} else {
		lk.format = PYLOCK_UV;
		r = uv_read(&rd, root, &lk);
	}
	if (r < 0)
		pylock_free(&lk);
	else
		*out = lk;
	return r;
}

int pylock_read(struct pkgimg_ctx *ctx, const char *path, struct pylock *out)
{
	struct toml_value root;
	int r = toml_parse_file(ctx, path, &root);

	if (r < 0)
		return r;
	r = pylock_from_toml(ctx, path, &root, out);
	toml_free(&root);
	return r;
}

/* --- selection ------------------------------------------------------------- */

static bool strv_has_norm(const struct strv *v, const char *name)
{
	char *want = pep503_normalize(name);
	bool found = false;

	for (size_t i = 0; i < v->n && !found; i++) {
		char *have = pep503_normalize(v->v[i]);

		found = !strcmp(have, want);
		free(have);
	}
	free(want);
	return found;
}

static int python_check(struct pkgimg_ctx *ctx, const char *what, const char *who,
			const char *spec, const struct pep508_env *env)
{
	struct pep440_specset set;
	struct pep440_version v;
	bool ok;

	if (!spec || !*spec)
		return 0;
	if (pep440_spec_parse(ctx, spec, &set) < 0)
		return pkgimg_err_wrap(ctx, -PKGIMG_E_PARSE, "%s: [lock] %srequires-python",
				       what, who);
	if (pep440_parse(ctx, env->python_full_version, &v) < 0) {
		pep440_specset_free(&set);
		return pkgimg_err_wrap(ctx, -PKGIMG_E_USAGE, "%s: [lock] the target Python", what);
	}
	ok = pep440_spec_contains(&set, &v, true);
	pep440_specset_free(&set);
	pep440_version_free(&v);
	if (!ok)
		return pkgimg_err(ctx, -PKGIMG_E_SOLVE, "%s: [lock] %srequires-python '%s', but "
				  "the image's Python is %s; lock for this Python or pick "
				  "another with --python X.Y", what, who, spec,
				  env->python_full_version);
	return 0;
}

static int pep751_select(struct pkgimg_ctx *ctx, const struct pylock *lk,
			 const struct pep508_env *env, const struct pylock_want *want,
			 bool *on)
{
	struct pep508_sets sets = { want->extras, want->nextras, NULL, 0 };
	const struct strv *groups = want->ngroups || want->no_default_groups ? NULL
									   : &lk->default_groups;
	int r = 0;

	r = python_check(ctx, lk->what, "", lk->requires_python, env);
	if (r < 0)
		return r;
	if (groups) {
		sets.groups = (const char *const *)groups->v;
		sets.ngroups = groups->n;
	} else {
		sets.groups = want->groups;
		sets.ngroups = want->ngroups;
	}
	for (size_t i = 0; i < want->nextras; i++)
		if (!strv_has_norm(&lk->extras, want->extras[i]))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] extra '%s' is not one "
					  "the lock has (its extras: %zu%s%s)", lk->what,
					  want->extras[i], lk->extras.n, lk->extras.n ? ", " : "",
					  lk->extras.n ? lk->extras.v[0] : "");
	for (size_t i = 0; i < want->ngroups; i++)
		if (!strv_has_norm(&lk->groups, want->groups[i]))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] dependency group '%s' "
					  "is not one the lock has (dependency-groups has %zu)",
					  lk->what, want->groups[i], lk->groups.n);
	if (lk->environments.n) {
		bool any = false;

		for (size_t i = 0; i < lk->environments.n && r == 0 && !any; i++) {
			struct pep508_marker *m;

			r = pep508_marker_parse_lock(ctx, lk->environments.v[i], &m);
			if (r < 0)
				return pkgimg_err_wrap(ctx, -PKGIMG_E_PARSE, "%s: [lock] environments",
						       lk->what);
			any = pep508_marker_eval_sets(m, env, &sets) == 1;
			pep508_marker_free(m);
		}
		if (!any)
			return pkgimg_err(ctx, -PKGIMG_E_SOLVE, "%s: [lock] none of its environments "
					  "is the image's (Python %s on %s %s): the lock is for "
					  "another target, e.g. %s", lk->what,
					  env->python_full_version, env->sys_platform,
					  env->platform_machine, lk->environments.v[0]);
	}
	for (size_t i = 0; i < lk->npkgs && r == 0; i++) {
		const struct pylock_pkg *p = &lk->pkgs[i];

		on[i] = pep508_marker_eval_sets(p->marker, env, &sets) == 1;
		for (size_t k = 0; on[i] && k < i; k++)
			if (on[k] && !strcmp(lk->pkgs[k].name, p->name))
				return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s: two "
						  "entries of it apply to this image (lines %u and "
						  "%u); PEP 751 allows one", lk->what, p->line,
						  p->name, lk->pkgs[k].line, p->line);
		if (on[i]) {
			char *who = xasprintf("%s %s: ", p->name, p->version ? p->version : "");

			r = python_check(ctx, lk->what, who, p->requires_python, env);
			free(who);
		}
	}
	return r;
}

/* uv's name for an extra or group of a project in its conflict markers:
 * "extra-4-test-m3gnet" (the project name's length, the project, the
 * extra). */
static char *uv_conflict_name(const char *kind, const char *project, const char *item)
{
	char *n = pep503_normalize(item);
	char *s = xasprintf("%s-%zu-%s-%s", kind, strlen(project), project, n);

	free(n);
	return s;
}

/* The package an edge points at: by name, and version and source where the
 * lock has several of a name.  -1 when none or ambiguous. */
static long uv_target(const struct pylock *lk, const struct pylock_dep *d, int *nfound)
{
	long found = -1;

	*nfound = 0;
	for (size_t i = 0; i < lk->npkgs; i++) {
		const struct pylock_pkg *p = &lk->pkgs[i];

		if (strcmp(p->name, d->name) || (d->version && p->version &&
						 strcmp(d->version, p->version)))
			continue;
		if (d->source && p->index && str_starts_with(d->source, "registry=") &&
		    strcmp(d->source + 9, p->index))
			continue;
		found = (long)i;
		(*nfound)++;
	}
	return *nfound == 1 ? found : -1;
}

struct walk {
	size_t pkg;
	const char *extra;	/* NULL: the package's own dependencies */
	const char *group;
};

static const struct pylock_deplist *deplist_find(const struct pylock_deplist *l, size_t n,
						 const char *name)
{
	char *want = pep503_normalize(name);
	const struct pylock_deplist *found = NULL;

	for (size_t i = 0; i < n && !found; i++)
		if (!strcmp(l[i].name, want))
			found = &l[i];
	free(want);
	return found;
}

/* The roots of a uv.lock: the manifest's members, else the virtual or
 * editable packages nothing depends on; on[] marks them. */
static size_t uv_roots(const struct pylock *lk, bool *root)
{
	size_t n = 0;

	for (size_t i = 0; i < lk->npkgs; i++) {
		const struct pylock_pkg *p = &lk->pkgs[i];
		bool dep = false;

		if (lk->members.n) {
			root[i] = strv_has_norm(&lk->members, p->name);
		} else if (p->src == PYLOCK_SRC_VIRTUAL ||
			   (p->src == PYLOCK_SRC_DIRECTORY && p->editable)) {
			for (size_t k = 0; k < lk->npkgs && !dep; k++)
				for (size_t j = 0; j < lk->pkgs[k].ndeps && !dep; j++)
					dep = !strcmp(lk->pkgs[k].deps[j].name, p->name);
			root[i] = !dep;
		}
		n += root[i];
	}
	return n;
}

static int uv_follow(struct pkgimg_ctx *ctx, const struct pylock *lk, const struct pylock_dep *d,
		     size_t from, const struct pep508_env *env, const struct pep508_sets *sets,
		     struct walk **todo, size_t *ntodo, bool *on)
{
	int nfound;
	long t;

	if (pep508_marker_eval_sets(d->marker, env, sets) != 1)
		return 0;
	t = uv_target(lk, d, &nfound);
	if (t < 0)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s depends on %s%s%s, "
				  "which the lock has %s", lk->what, lk->pkgs[from].line,
				  lk->pkgs[from].name, d->name, d->version ? " " : "",
				  d->version ? d->version : "", nfound ? "several times (no "
				  "version on the edge to choose one)" : "no entry for");
	*todo = xrealloc(*todo, (*ntodo + d->extras.n + 1) * sizeof **todo);
	if (!on[t])
		(*todo)[(*ntodo)++] = (struct walk){ (size_t)t, NULL, NULL };
	for (size_t i = 0; i < d->extras.n; i++)
		(*todo)[(*ntodo)++] = (struct walk){ (size_t)t, d->extras.v[i], NULL };
	on[t] = true;
	return 0;
}

/* The extras and groups asked are the roots' (uv refuses others). */
static int uv_check_wanted(struct pkgimg_ctx *ctx, const struct pylock *lk, const bool *root,
			   const struct pylock_want *want)
{
	for (size_t k = 0; k < want->nextras; k++) {
		bool have = false;

		for (size_t i = 0; i < lk->npkgs && !have; i++)
			have = root[i] && deplist_find(lk->pkgs[i].optional, lk->pkgs[i].noptional,
						       want->extras[k]);
		if (!have)
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] extra '%s' is not one "
					  "the project has (its optional-dependencies)", lk->what,
					  want->extras[k]);
	}
	for (size_t k = 0; k < want->ngroups; k++) {
		bool have = false;

		for (size_t i = 0; i < lk->npkgs && !have; i++)
			have = root[i] && deplist_find(lk->pkgs[i].groups, lk->pkgs[i].ngroups,
						       want->groups[k]);
		if (!have)
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] dependency group '%s' "
					  "is not one the project has (its dev-dependencies)",
					  lk->what, want->groups[k]);
	}
	return 0;
}

static int uv_select(struct pkgimg_ctx *ctx, const struct pylock *lk,
		     const struct pep508_env *env, const struct pylock_want *want, bool *on)
{
	bool *root = xcalloc(lk->npkgs + 1, sizeof *root);
	struct strv conflict = { 0 };
	struct walk *todo = NULL;
	size_t ntodo = 0, nroots, steps = 0;
	struct pylock_want w = *want;
	const char **groups = xcalloc(want->ngroups + 2, sizeof *groups);
	struct strv seen = { 0 };
	int r;

	r = python_check(ctx, lk->what, "", lk->requires_python, env);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < want->ngroups; i++)
		groups[i] = want->groups[i];
	w.groups = groups;
	if (!want->no_default_groups)	/* uv sync's default group */
		groups[w.ngroups++] = "dev";
	nroots = uv_roots(lk, root);
	if (nroots == 0) {	/* no project: the whole lock */
		for (size_t i = 0; i < lk->npkgs; i++)
			on[i] = true;
		goto out;
	}
	/* the roots' extras and groups, as their names and as uv's conflict
	 * markers spell them */
	for (size_t i = 0; i < lk->npkgs; i++) {
		if (!root[i])
			continue;
		for (size_t k = 0; k < w.nextras; k++) {
			strv_push(&conflict, pep503_normalize(w.extras[k]));
			strv_push(&conflict, uv_conflict_name("extra", lk->pkgs[i].name,
							      w.extras[k]));
		}
		for (size_t k = 0; k < w.ngroups; k++)
			strv_push(&conflict, uv_conflict_name("group", lk->pkgs[i].name,
							      w.groups[k]));
	}
	r = uv_check_wanted(ctx, lk, root, want);
	if (r < 0)
		goto out;
	{
		struct pep508_sets sets = { (const char *const *)conflict.v, conflict.n, NULL, 0 };

		todo = xcalloc(nroots * (1 + w.nextras + w.ngroups) + 1, sizeof *todo);
		for (size_t i = 0; i < lk->npkgs; i++) {
			if (!root[i])
				continue;
			on[i] = true;
			todo[ntodo++] = (struct walk){ i, NULL, NULL };
			for (size_t k = 0; k < w.nextras; k++)
				todo[ntodo++] = (struct walk){ i, w.extras[k], NULL };
			for (size_t k = 0; k < w.ngroups; k++)
				todo[ntodo++] = (struct walk){ i, NULL, w.groups[k] };
		}
		while (ntodo && r == 0) {
			struct walk wk = todo[--ntodo];
			const struct pylock_pkg *p = &lk->pkgs[wk.pkg];
			const struct pylock_deplist *l = NULL;
			const struct pylock_dep *deps = p->deps;
			size_t n = p->ndeps;
			char *key;

			if (wk.extra || wk.group) {
				/* each (package, extra) once */
				key = xasprintf("%zu %c %s", wk.pkg, wk.extra ? 'e' : 'g',
						wk.extra ? wk.extra : wk.group);
				if (strv_has_norm(&seen, key)) {
					free(key);
					continue;
				}
				strv_push(&seen, key);
				l = wk.extra ? deplist_find(p->optional, p->noptional, wk.extra)
					     : deplist_find(p->groups, p->ngroups, wk.group);
				deps = l ? l->deps : NULL;
				n = l ? l->n : 0;
			}
			for (size_t i = 0; i < n && r == 0; i++)
				r = uv_follow(ctx, lk, &deps[i], wk.pkg, env, &sets, &todo, &ntodo, on);
			if (++steps > 16 * (lk->npkgs + 1) * (lk->npkgs + 1))
				break;	/* cannot happen: each (package, list) once */
		}
	}
out:
	strv_free(&seen);
	strv_free(&conflict);
	free(todo);
	free(root);
	free(groups);
	return r;
}

int pylock_select(struct pkgimg_ctx *ctx, const struct pylock *lk, const struct pep508_env *env,
		  const struct pylock_want *want, size_t **out, size_t *nout)
{
	bool *on = xcalloc(lk->npkgs + 1, sizeof *on);
	size_t *idx, n = 0;
	int r;

	r = lk->format == PYLOCK_PEP751 ? pep751_select(ctx, lk, env, want, on)
					: uv_select(ctx, lk, env, want, on);
	if (r < 0) {
		free(on);
		return r;
	}
	idx = xcalloc(lk->npkgs + 1, sizeof *idx);
	for (size_t i = 0; i < lk->npkgs; i++)
		if (on[i])
			idx[n++] = i;
	free(on);
	*out = idx;
	*nout = n;
	return 0;
}

bool pylock_is_root(const struct pylock *lk, size_t i)
{
	const char *name = lk->pkgs[i].name;

	if (lk->format == PYLOCK_PEP751)
		return true;
	/* a direct dependency of a virtual/editable root, or a member */
	if (strv_has_norm(&lk->members, name))
		return true;
	for (size_t k = 0; k < lk->npkgs; k++) {
		const struct pylock_pkg *p = &lk->pkgs[k];

		if (p->src != PYLOCK_SRC_VIRTUAL && !(p->src == PYLOCK_SRC_DIRECTORY && p->editable))
			continue;
		for (size_t j = 0; j < p->ndeps; j++)
			if (!strcmp(p->deps[j].name, name))
				return true;
		for (size_t o = 0; o < p->noptional; o++)
			for (size_t j = 0; j < p->optional[o].n; j++)
				if (!strcmp(p->optional[o].deps[j].name, name))
					return true;
		for (size_t o = 0; o < p->ngroups; o++)
			for (size_t j = 0; j < p->groups[o].n; j++)
				if (!strcmp(p->groups[o].deps[j].name, name))
					return true;
	}
	return false;
}

/* --- writing ---------------------------------------------------------------- */

/* A TOML basic string: '"' and '\' escaped, control characters as \uXXXX. */
static void toml_quote(struct sbuf *s, const char *v)
{
	sbuf_addc(s, '"');
	for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
		if (*c == '"' || *c == '\\') {
			sbuf_addc(s, '\\');
			sbuf_addc(s, (char)*c);
		} else if (*c < 0x20 || *c == 0x7f) {
			sbuf_addf(s, "\\u%04x", *c);
		} else {
			sbuf_addc(s, (char)*c);
		}
	}
	sbuf_addc(s, '"');
}

static void kv(struct sbuf *s, const char *key, const char *v)
{
	sbuf_addf(s, "%s = ", key);
	toml_quote(s, v);
	sbuf_addc(s, '\n');
}

static int cmp_pkg_ptr(const void *a, const void *b)
{
	const struct lock_pkg *x = *(const struct lock_pkg *const *)a;
	const struct lock_pkg *y = *(const struct lock_pkg *const *)b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->version, y->version);
}

/* The PyPI packages of lf, sorted by name; the one pip layer, when there
 * is exactly one, in *layer. */
static const struct lock_pkg **pip_pkgs(const struct lockfile *lf, size_t *n,
					const struct lock_layer **layer)
{
	const struct lock_pkg **v;
	size_t total = 0;
	int nlayers = 0;

	for (int i = 0; i < lf->nlayers; i++)
		if (lf->layers[i].kind == LOCK_PIP) {
			total += (size_t)lf->layers[i].npkgs;
			nlayers++;
			*layer = &lf->layers[i];
		}
	if (nlayers != 1)
		*layer = NULL;
	v = xcalloc(total + 1, sizeof *v);
	*n = 0;
	for (int i = 0; i < lf->nlayers; i++)
		for (int k = 0; lf->layers[i].kind == LOCK_PIP && k < lf->layers[i].npkgs; k++)
			v[(*n)++] = &lf->layers[i].pkgs[k];
	qsort(v, *n, sizeof *v, cmp_pkg_ptr);
	return v;
}

static void file_tbl(struct sbuf *s, const char *hdr, const char *name, const char *url,
		     const char *sha256, uint64_t size)
{
	sbuf_addf(s, "\n%s\n", hdr);
	if (name)
		kv(s, "name", name);
	kv(s, "url", url);
	if (size)
		sbuf_addf(s, "size = %llu\n", (unsigned long long)size);
	if (sha256) {
		sbuf_adds(s, "hashes = { sha256 = ");
		toml_quote(s, sha256);
		sbuf_adds(s, " }\n");
	}
}

/* A package built from source (lock_pkg.source): the source, as PEP 751
 * spells it. */
static void write_source(struct sbuf *s, const struct lock_pkg *p)
{
	if (!strcmp(p->source, "git")) {
		sbuf_adds(s, "\n[packages.vcs]\n");
		kv(s, "type", "git");
		kv(s, "url", str_starts_with(p->url, "git+") ? p->url + 4 : p->url);
		if (p->commit)
			kv(s, "commit-id", p->commit);
		if (p->subdirectory)
			kv(s, "subdirectory", p->subdirectory);
	} else if (!strcmp(p->source, "path")) {
		sbuf_adds(s, "\n[packages.directory]\n");
		kv(s, "path", str_starts_with(p->url, "file://") ? p->url + 7 : p->url);
		if (p->subdirectory)
			kv(s, "subdirectory", p->subdirectory);
	} else if (!strcmp(p->source, "url")) {
		file_tbl(s, "[packages.archive]", NULL, p->url, p->sha256, p->size);
		if (p->subdirectory)
			kv(s, "subdirectory", p->subdirectory);
	} else {	/* "sdist": from an index */
		file_tbl(s, "[packages.sdist]", p->filename, p->url, p->sha256, p->size);
	}
}

/* The machine as markers name it, from the lock's platform ("linux/amd64"). */
static const char *machine_of(const char *platform)
{
	const char *a = platform ? strchr(platform, '/') : NULL;

	a = a ? a + 1 : "amd64";
	return !strcmp(a, "amd64") ? "x86_64" : !strcmp(a, "arm64") ? "aarch64" :
	       !strcmp(a, "386") || !strcmp(a, "i386") ? "i686" : a;
}

int pylock_write(struct pkgimg_ctx *ctx, const struct lockfile *lf, struct sbuf *out)
{
	const char *machine = machine_of(lf->platform);
	const struct lock_layer *layer = NULL;
	size_t n;
	const struct lock_pkg **v = pip_pkgs(lf, &n, &layer);
	char *xy;
	int r = 0;

	if (n == 0 || !lf->python) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "[lock] the lock installs no PyPI package: "
			       "nothing to write as pylock.toml");
		goto out;
	}
	xy = xstrndup(lf->python, strcspn(lf->python, ".") + 1 +
		      strcspn(lf->python + strcspn(lf->python, ".") + 1, "."));
	sbuf_adds(out, "# PEP 751 lock file, written by pkgimg from its lockfile (the PyPI "
		  "part):\n# exactly these files, for this one target.\n");
	kv(out, "lock-version", "1.0");
	sbuf_adds(out, "environments = [");
	{
		char *m = xasprintf("sys_platform == \"linux\" and platform_machine == \"%s\" "
				    "and implementation_name == \"cpython\" and "
				    "python_version == \"%s\"", machine, xy);

		toml_quote(out, m);
		free(m);
	}
	sbuf_adds(out, "]\n");
	{
		char *rp = xasprintf("==%s.*", xy);

		kv(out, "requires-python", rp);
		free(rp);
	}
	kv(out, "created-by", "pkgimg");
	for (size_t i = 0; i < n; i++) {
		const struct lock_pkg *p = v[i];

		sbuf_adds(out, "\n[[packages]]\n");
		kv(out, "name", p->name);
		kv(out, "version", p->version);
		if (p->index && (!p->source || !strcmp(p->source, "sdist")))
			kv(out, "index", p->index);
		if (p->source)
			write_source(out, p);
		else
			file_tbl(out, "[[packages.wheels]]", p->filename, p->url, p->sha256,
				 p->size);
		if (p->requested_by) {
			sbuf_adds(out, "\n[packages.tool.pkgimg]\n");
			kv(out, "requested-by", p->requested_by);
		}
	}
	if (layer) {
		sbuf_adds(out, "\n[tool.pkgimg]\n");
		kv(out, "step", layer->step);
	}
	free(xy);
out:
	free(v);
	return r;
}

int pylock_write_requirements(struct pkgimg_ctx *ctx, const struct lockfile *lf,
			      struct sbuf *out)
{
	const struct lock_layer *layer = NULL;
	size_t n;
	const struct lock_pkg **v = pip_pkgs(lf, &n, &layer);
	struct strv idx = { 0 };
	int r = 0;

	if (n == 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "[lock] the lock installs no PyPI package: "
			       "nothing to write as requirements.txt");
		goto out;
	}
	sbuf_adds(out, "#\n# This file is autogenerated by pkgimg from its lockfile");
	if (lf->python)
		sbuf_addf(out, " for Python %s", lf->python);
	sbuf_adds(out, ":\n# every package pinned with the sha256 of its one file "
		  "(pip install --require-hashes --no-deps -r FILE)\n#\n");
	/* the indexes, in the lock's order of sources */
	for (int i = 0; i < lf->nsources; i++) {
		bool used = false;

		if (strcmp(lf->sources[i].type, "pypi"))
			continue;
		for (size_t k = 0; k < n && !used; k++)
			used = v[k]->index && !strcmp(v[k]->index, lf->sources[i].uri);
		if (used)
			strv_add_unique(&idx, lf->sources[i].uri);
	}
	for (size_t i = 0; i < idx.n; i++)
		sbuf_addf(out, "%s %s\n", i ? "--extra-index-url" : "--index-url", idx.v[i]);
	if (idx.n)
		sbuf_addc(out, '\n');
	for (size_t i = 0; i < n; i++) {
		const struct lock_pkg *p = v[i];

		if (p->source && !strcmp(p->source, "git"))
			sbuf_addf(out, "%s @ %s%s@%s\n", p->name,
				  str_starts_with(p->url, "git+") ? "" : "git+", p->url,
				  p->commit ? p->commit : "");
		else if (p->source && !strcmp(p->source, "path"))
			sbuf_addf(out, "%s @ %s\n", p->name, p->url);
		else if (p->source && !strcmp(p->source, "url"))
			sbuf_addf(out, "%s @ %s \\\n    --hash=sha256:%s\n", p->name, p->url,
				  p->sha256 ? p->sha256 : "");
		else
			sbuf_addf(out, "%s==%s \\\n    --hash=sha256:%s\n", p->name, p->version,
				  p->sha256);
		if (p->requested_by && strcmp(p->requested_by, "dependency"))
			sbuf_addf(out, "    # via %s\n", p->requested_by);
	}
out:
	strv_free(&idx);
	free(v);
	return r;
}
