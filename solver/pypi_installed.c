/* The installed set below a PyPI layer, as pip run in the image sees it
 * (see solver/pypi_installed.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "cache/view.h"
#include "core/arc.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/wheelfile.h"
#include "solver/pypi_installed.h"

#define DEBIAN_DIST "usr/lib/python3/dist-packages/"
#define META_MAX (16u << 20)	/* a METADATA or requires.txt larger than this is no metadata */

const struct pymeta *pypi_installed_find(const struct pypi_installed *in, const char *norm)
{
	for (size_t i = 0; i < in->n; i++)
		if (!strcmp(in->v[i].norm, norm))
			return &in->v[i];
	return NULL;
}

void pypi_installed_free(struct pypi_installed *in)
{
	for (size_t i = 0; i < in->n; i++)
		pymeta_free(&in->v[i]);
	free(in->v);
	memset(in, 0, sizeof *in);
}

/* The first distribution of a project counts, as the first on sys.path. */
static void inst_add(struct pypi_installed *in, struct pymeta *m)
{
	if (pypi_installed_find(in, m->norm)) {
		pymeta_free(m);
		return;
	}
	in->v = xrealloc(in->v, (in->n + 1) * sizeof *in->v);
	in->v[in->n++] = *m;
}

/* An egg-info's requires.txt as the Requires-Dist and Provides-Extra lines
 * pip adds to its metadata (metadata/base.py, _add_egg_info_requires):
 * "[extra:marker]" sections, each line a requirement. */
static void egg_requires(const char *txt, struct sbuf *out)
{
	struct strv extras = { 0 };
	char *extra = xstrdup(""), *marker = xstrdup("");

	for (const char *p = txt; p && *p;) {
		size_t len = strcspn(p, "\n");
		char *line = xstrndup(p, len), *s = line, *e;

		p += len + (p[len] == '\n');
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		e = s + strlen(s);
		while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = 0;
		if (!*s || *s == '#') {
			free(line);
			continue;
		}
		if (*s == '[' && e[-1] == ']') {
			char *colon;

			e[-1] = 0;
			s++;
			colon = strchr(s, ':');
			free(extra);
			free(marker);
			extra = colon ? xstrndup(s, (size_t)(colon - s)) : xstrdup(s);
			marker = xstrdup(colon ? colon + 1 : "");
			if (*extra)
				strv_add_unique(&extras, extra);
		} else if (*extra && *marker) {
			sbuf_addf(out, "Requires-Dist: %s ; (%s) and extra == \"%s\"\n", s, marker, extra);
		} else if (*extra) {
			sbuf_addf(out, "Requires-Dist: %s ; extra == \"%s\"\n", s, extra);
		} else if (*marker) {
			sbuf_addf(out, "Requires-Dist: %s ; %s\n", s, marker);
		} else {
			sbuf_addf(out, "Requires-Dist: %s\n", s);
		}
		free(line);
	}
	for (size_t i = 0; i < extras.n; i++)
		sbuf_addf(out, "Provides-Extra: %s\n", extras.v[i]);
	strv_free(&extras);
	free(extra);
	free(marker);
}

/* Parses a distribution's metadata; an egg-info's requires.txt (reqs, or
 * NULL) adds its requirements when the metadata names none, as pip does.
 * 0 and *out, or -1: not parsed (skipped, as importlib.metadata skips it). */
static int parse_dist(const char *what, const char *meta, size_t len, const char *reqs,
		      struct pymeta *out)
{
	struct sbuf text = SBUF_INIT, add = SBUF_INIT;
	const char *end;
	size_t head;
	int r;

	if (reqs && !strstr(meta, "\nRequires-Dist:") && strncmp(meta, "Requires-Dist:", 14))
		egg_requires(reqs, &add);
	/* the added lines go into the header block, before its blank line */
	end = strstr(meta, "\n\n");
	head = end ? (size_t)(end - meta) + 1 : len;
	sbuf_add(&text, meta, head);
	if (head && meta[head - 1] != '\n')
		sbuf_adds(&text, "\n");
	if (add.len)
		sbuf_add(&text, add.buf, add.len);
	sbuf_add(&text, meta + head, len - head);
	r = pymeta_parse(NULL, what, text.buf ? text.buf : "", text.len, out);
	sbuf_free(&text);
	sbuf_free(&add);
	return r < 0 ? -1 : 0;
}

/* The metadata file of an entry of a site dir, or NULL: NAME.dist-info/
 * METADATA, NAME.egg-info/PKG-INFO, or an NAME.egg-info file itself;
 * *reqs: an egg-info directory's requires.txt. */
static char *inst_meta_path(char **trees, int n, const char *dir, const char *name, char **reqs)
{
	size_t len = strlen(name);
	char *p = xasprintf("%s/%s", dir, name), *m = NULL;
	struct stat sb;

	*reqs = NULL;
	if (len > 10 && !strcmp(name + len - 10, ".dist-info")) {
		m = xasprintf("%s/METADATA", p);
	} else if (len > 9 && !strcmp(name + len - 9, ".egg-info") &&
		   view_layer_of(trees, n, p, &sb) >= 0) {
		m = S_ISDIR(sb.st_mode) ? xasprintf("%s/PKG-INFO", p) : xstrdup(p);
		if (S_ISDIR(sb.st_mode))
			*reqs = xasprintf("%s/requires.txt", p);
	}
	free(p);
	return m;
}

/* A file of the image's merged view, read; false when it is not there. */
static bool view_read(char **trees, int n, const char *path, struct sbuf *out)
{
	int layer = view_layer_of(trees, n, path, NULL);
	char *full;
	bool ok;

	if (layer < 0)
		return false;
	full = xasprintf("%s%s", trees[layer], path);
	ok = fs_read_file(NULL, AT_FDCWD, full, out) == 0;
	free(full);
	return ok;
}

/* The distributions of one site dir of the image (trees, top first). */
static int read_dir(struct pkgimg_ctx *ctx, char **trees, int n, const char *dir,
		    struct pypi_installed *in)
{
	struct strv names = { 0 };
	int r;

	r = view_list(ctx, trees, n, dir, &names);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		char *reqs_path = NULL, *mp = inst_meta_path(trees, n, dir, names.v[i], &reqs_path);
		struct sbuf data = SBUF_INIT, reqs = SBUF_INIT;
		struct pymeta m;

		if (mp && view_read(trees, n, mp, &data) &&
		    parse_dist(mp, data.buf ? data.buf : "", data.len,
			       reqs_path && view_read(trees, n, reqs_path, &reqs) ? reqs.buf : NULL,
			       &m) == 0)
			inst_add(in, &m);
		sbuf_free(&data);
		sbuf_free(&reqs);
		free(reqs_path);
		free(mp);
	}
	strv_free(&names);
	return r;
}

/* The site dirs of the image `base` (a store key), first or second: its
 * /usr/local/lib/pythonX.Y/dist-packages, or Debian's. */
static int read_image(struct pkgimg_ctx *ctx, struct store *st, const char *base,
		      const char *python, bool debian, struct pypi_installed *in)
{
	char **keys = NULL, **trees = NULL, *dir;
	size_t dot = strcspn(python, "."), xy = dot;
	int n = 0, r;

	if (!base || strncmp(base, "sha256:", 7))
		return 0;
	r = store_layer_chain(ctx, st, base, &keys, &n);
	if (r < 0)
		return pkgimg_err_wrap(ctx, r, "--base %s: [lock] its installed distributions",
				       base);
	trees = xcalloc((size_t)n + 1, sizeof *trees);
	for (int i = 0; i < n; i++)
		trees[i] = store_layer_tree(st, keys[i]);
	if (python[dot])	/* "3.11.2" -> "3.11" */
		xy += 1 + strcspn(python + dot + 1, ".");
	dir = debian ? xstrndup("/" DEBIAN_DIST, strlen(DEBIAN_DIST))
		: xasprintf("/usr/local/lib/python%.*s/dist-packages", (int)xy, python);
	r = read_dir(ctx, trees, n, dir, in);
	for (int i = 0; i < n; i++) {
		free(keys[i]);
		free(trees[i]);
	}
	free(keys);
	free(trees);
	free(dir);
	return r;
}

/* ---- the lock layers below ---- */

/* What one .deb ships in Debian's dist-packages: per entry (NAME.dist-info,
 * NAME.egg-info), its metadata and requires.txt. */
struct deb_dist {
	char *entry;
	struct sbuf meta, reqs;
	bool has_meta;
};

/* The entry of Debian's dist-packages a data.tar path belongs to, and
 * which of its files it is: 'm' metadata, 'r' requires.txt, 0 neither. */
static char *deb_dist_of(const char *path, char *which)
{
	const char *rest, *slash;
	size_t len;

	*which = 0;
	while (*path == '.' && path[1] == '/')
		path += 2;
	while (*path == '/')
		path++;
	if (strncmp(path, DEBIAN_DIST, strlen(DEBIAN_DIST)))
		return NULL;
	rest = path + strlen(DEBIAN_DIST);
	slash = strchr(rest, '/');
	len = slash ? (size_t)(slash - rest) : strlen(rest);
	if (len > 10 && !strncmp(rest + len - 10, ".dist-info", 10))
		*which = slash && !strcmp(slash, "/METADATA") ? 'm' : 0;
	else if (len > 9 && !strncmp(rest + len - 9, ".egg-info", 9))
		*which = !slash ? 'm' : !strcmp(slash, "/PKG-INFO") ? 'm'
			: !strcmp(slash, "/requires.txt") ? 'r' : 0;
	return *which ? xstrndup(rest, len) : NULL;
}

/* Reads the Python distributions a .deb (a verified blob) ships in
 * Debian's dist-packages. */
static int deb_dists(struct pkgimg_ctx *ctx, const char *path, const char *thing,
		     struct pypi_installed *in)
{
	struct archive *outer = archive_read_new(), *inner = NULL;
	struct arc_member *m = xmalloc(sizeof *m);
	struct archive_entry *e;
	struct deb_dist *d = NULL;
	size_t nd = 0;
	int r = 0, ar;

	archive_read_support_format_ar(outer);
	if (archive_read_open_filename(outer, path, ARC_BUF) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [lock] its Python distributions: %s",
			       thing, archive_error_string(outer));
		goto out;
	}
	while ((ar = archive_read_next_header(outer, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname(e);

		if (name && !strncmp(name, "data.tar", 8))
			break;
	}
	if (ar != ARCHIVE_OK && ar != ARCHIVE_WARN) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [lock] no data.tar member", thing);
		goto out;
	}
	m->outer = outer;
	inner = archive_read_new();
	archive_read_support_filter_all(inner);
	archive_read_support_format_tar(inner);
	if (archive_read_open(inner, m, NULL, arc_member_read, NULL) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [lock] data.tar: %s", thing,
			       archive_error_string(inner));
		goto out;
	}
	while (r == 0 && ((ar = archive_read_next_header(inner, &e)) == ARCHIVE_OK ||
			  ar == ARCHIVE_WARN)) {
		const char *name = archive_entry_pathname(e);
		char which, *entry;
		size_t k;

		if (!name || archive_entry_filetype(e) != AE_IFREG ||
		    !(entry = deb_dist_of(name, &which)))
			continue;
		for (k = 0; k < nd && strcmp(d[k].entry, entry); k++)
			;
		if (k == nd) {
			d = xrealloc(d, (nd + 1) * sizeof *d);
			memset(&d[nd], 0, sizeof *d);
			d[nd].entry = entry;
			d[nd].meta = d[nd].reqs = (struct sbuf)SBUF_INIT;
			nd++;
		} else {
			free(entry);
		}
		r = arc_read_small(ctx, thing, "lock", inner, name, META_MAX, "the package is damaged",
				   which == 'm' ? &d[k].meta : &d[k].reqs);
		d[k].has_meta |= which == 'm';
	}
	if (r == 0 && ar != ARCHIVE_EOF && ar != ARCHIVE_OK && ar != ARCHIVE_WARN)
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [lock] data.tar: %s", thing,
			       archive_error_string(inner));
	for (size_t k = 0; r == 0 && k < nd; k++) {
		struct pymeta pm;
		char *what = xasprintf("%s: %s", thing, d[k].entry);

		if (d[k].has_meta && parse_dist(what, d[k].meta.buf ? d[k].meta.buf : "",
						d[k].meta.len, d[k].reqs.buf, &pm) == 0)
			inst_add(in, &pm);
		free(what);
	}
out:
	for (size_t k = 0; k < nd; k++) {
		free(d[k].entry);
		sbuf_free(&d[k].meta);
		sbuf_free(&d[k].reqs);
	}
	free(d);
	if (inner)
		archive_read_free(inner);
	archive_read_free(outer);
	free(m);
	return r;
}

/* Debian's package naming for Python 3 modules (Debian Python Policy:
 * python3-foo); only these are opened. */
static bool deb_python(const struct lock_pkg *p)
{
	return !strcmp(p->ecosystem, "apt") && !strncmp(p->name, "python3-", 8) && p->url &&
	       p->sha256 && *p->sha256;
}

/* A wheel from an index or a URL (fetched now), or one built from source
 * (in the store's blobs when it was built). */
static bool pip_wheel(const struct lock_pkg *p)
{
	return !strcmp(p->ecosystem, "pypi") &&
	       (p->source ? p->wheel_sha256 && p->wheel_filename
			  : p->url && p->sha256 && *p->sha256 && p->filename);
}

/* The packages of the layers that want() takes, the latest layer first,
 * each once. */
static void collect(const struct lock_layer *l, int n, bool (*want)(const struct lock_pkg *),
		    const struct lock_pkg ***v, size_t *nv)
{
	for (int i = n - 1; i >= 0; i--)
		for (int k = 0; k < l[i].npkgs; k++) {
			const struct lock_pkg *p = &l[i].pkgs[k];
			bool dup = false;

			if (!want(p))
				continue;
			for (size_t j = 0; j < *nv && !dup; j++)
				dup = !strcmp((*v)[j]->sha256 ? (*v)[j]->sha256 : "",
					      p->sha256 ? p->sha256 : "") &&
				      !strcmp((*v)[j]->name, p->name);
			if (dup)
				continue;
			*v = xrealloc(*v, (*nv + 1) * sizeof **v);
			(*v)[(*nv)++] = p;
		}
}

static int read_wheel(struct pkgimg_ctx *ctx, struct store *st, const struct lock_pkg *p,
		      struct pypi_installed *in)
{
	const char *sha = p->source ? p->wheel_sha256 : p->sha256;
	const char *file = p->source ? p->wheel_filename : p->filename;
	char *path = store_blob_path(st, sha);
	struct sbuf data = SBUF_INIT;
	struct pymeta m;
	int r = 0;

	if (access(path, R_OK) == 0) {
		r = wheel_read_metadata(ctx, path, file, &data);
		if (r == 0 && parse_dist(file, data.buf ? data.buf : "", data.len, NULL, &m) == 0)
			inst_add(in, &m);
		if (r < 0)
			pkgimg_err_wrap(ctx, r, "%s %s: [lock] installed by an earlier step",
					p->name, p->version);
	}
	sbuf_free(&data);
	free(path);
	return r;
}

int pypi_installed_read(struct pkgimg_ctx *ctx, struct store *st,
			const struct pypi_installed_from *from, struct pypi_installed *out)
{
	struct pypi_installed in = { 0 };
	const struct lock_pkg **wh = NULL, **debs = NULL;
	size_t nwh = 0, ndebs = 0;
	struct fetch_item *items;
	int r, n = 0;

	collect(from->below, from->nbelow, pip_wheel, &wh, &nwh);
	collect(from->own, from->nown, deb_python, &debs, &ndebs);
	collect(from->below, from->nbelow, deb_python, &debs, &ndebs);
	/* one parallel batch: what the install fetches anyway */
	items = xcalloc(nwh + ndebs + 1, sizeof *items);
	for (size_t i = 0; i < nwh + ndebs; i++) {
		const struct lock_pkg *p = i < nwh ? wh[i] : debs[i - nwh];

		if (p->source)
			continue;	/* built: its wheel is in the store or not */
		items[n].url = p->url;
		items[n].sha256 = p->sha256;
		items[n].size = p->size ? (int64_t)p->size : -1;
		items[n].label = p->filename ? p->filename : p->name;
		n++;
	}
	r = fetch_all(ctx, st, items, n);
	if (r < 0)
		pkgimg_err_wrap(ctx, r, "[lock] the packages below the PyPI layer, for what they "
				"install");
	for (size_t i = 0; r == 0 && i < nwh; i++)
		r = read_wheel(ctx, st, wh[i], &in);
	if (r == 0)
		r = read_image(ctx, st, from->base, from->python, false, &in);
	for (size_t i = 0; r == 0 && i < ndebs; i++) {
		char *path = store_blob_path(st, debs[i]->sha256);
		char *thing = xasprintf("%s_%s", debs[i]->name, debs[i]->version);

		r = deb_dists(ctx, path, thing, &in);
		free(thing);
		free(path);
	}
	if (r == 0)
		r = read_image(ctx, st, from->base, from->python, true, &in);
	free(items);
	free(wh);
	free(debs);
	if (r < 0)
		pypi_installed_free(&in);
	else
		*out = in;
	return r;
}

/* ---- pip's check after an install ---- */

static const struct pymeta *set_find(const struct pymeta *const *set, size_t n, const char *norm,
				     size_t *at)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(set[i]->norm, norm)) {
			if (at)
				*at = i;
			return set[i];
		}
	return NULL;
}

static int cmp_meta_norm(const void *a, const void *b)
{
	return strcmp((*(const struct pymeta *const *)a)->norm,
		      (*(const struct pymeta *const *)b)->norm);
}

int pypi_installed_warn_conflicts(struct pkgimg_ctx *ctx, const struct pep508_env *env,
				  const struct pymeta *const *set, const bool *fresh, size_t n)
{
	const struct pymeta **order = xcalloc(n + 1, sizeof *order);
	int warned = 0;

	memcpy(order, set, n * sizeof *order);
	qsort(order, n, sizeof *order, cmp_meta_norm);
	for (size_t i = 0; i < n; i++) {
		const struct pymeta *d = order[i];
		const struct pep508_req **deps = NULL;
		int nd = pymeta_deps_for(d, env, NULL, &deps);
		size_t at = 0;
		bool check;

		/* pip's whitelist: what it installed, and what requires it */
		set_find(set, n, d->norm, &at);
		check = fresh[at];
		for (int k = 0; k < nd && !check; k++) {
			size_t j;

			check = set_find(set, n, deps[k]->norm, &j) && fresh[j];
		}
		for (int k = 0; check && k < nd; k++) {
			const struct pymeta *have = set_find(set, n, deps[k]->norm, NULL);
			char *req;

			if (have && (!deps[k]->spec.n ||
				     pep440_spec_contains(&deps[k]->spec, &have->ver, true)))
				continue;
			req = pep508_req_str(deps[k]);
			if (have)
				pkgimg_warn(ctx, "%s %s requires %s, but you have %s %s which is "
					    "incompatible (as pip warns after installing the same; "
					    "`pip check` names it too): ask for both in one request "
					    "to have them resolved together", d->norm, d->version, req,
					    have->norm, have->version);
			else
				pkgimg_warn(ctx, "%s %s requires %s, which is not installed (as pip "
					    "warns after installing the same; `pip check` names it "
					    "too)", d->norm, d->version, req);
			warned++;
			free(req);
		}
		free(deps);
	}
	free(order);
	return warned;
}
