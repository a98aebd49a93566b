/* Reading apt's sources: one-line ("deb [opts] URI SUITE COMP...") and
 * deb822 (.sources stanzas) formats. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <stddef.h>
#include <stdio.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "solver/apt.h"

static void source_push(struct apt_sources *s, const char *uri, const char *suite,
			struct strv *comps, const char *signed_by, const char *origin)
{
	struct apt_source *src;
	size_t ulen = strlen(uri);

	s->v = xrealloc(s->v, (size_t)(s->n + 1) * sizeof *s->v);
	src = &s->v[s->n++];
	while (ulen > 1 && uri[ulen - 1] == '/')
		ulen--;
	src->uri = xstrndup(uri, ulen);
	src->suite = xstrdup(suite);
	src->components = xcalloc(comps->n + 1, sizeof(char *));
	for (size_t i = 0; i < comps->n; i++)
		src->components[i] = xstrdup(comps->v[i]);
	src->signed_by = signed_by ? xstrdup(signed_by) : NULL;
	src->origin = xstrdup(origin);
}

void apt_sources_free(struct apt_sources *s)
{
	for (int i = 0; i < s->n; i++) {
		struct apt_source *src = &s->v[i];

		free(src->uri);
		free(src->suite);
		for (char **c = src->components; *c; c++)
			free(*c);
		free(src->components);
		free(src->signed_by);
		free(src->origin);
	}
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* One-line format: deb [ key=value ... ] uri suite [component...] */
static int parse_one_line(struct pkgimg_ctx *ctx, struct blob line, const char *origin,
			  struct apt_sources *out)
{
	struct strv comps = { 0 };
	char *signed_by = NULL, *uri = NULL, *suite = NULL;
	struct blob w;
	int r = 0;

	w = blob_word(&line);
	if (!blob_eq_str(w, "deb"))
		return 0;	/* deb-src and others are not ours */
	line = blob_trim(line);
	if (line.len && line.ptr[0] == '[') {
		struct blob opts;

		line.ptr++;
		line.len--;
		if (!blob_split(&line, ']', &opts)) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
				       "%s: [sources] unterminated '[' options", origin);
			goto out;
		}
		while (opts.len) {
			struct blob o = blob_word(&opts), k;

			if (!o.len)
				break;
			if (blob_split(&o, '=', &k) && blob_eq_str(k, "signed-by")) {
				free(signed_by);
				signed_by = blob_dup(o);
			}
		}
	}
	w = blob_word(&line);
	uri = blob_dup(w);
	w = blob_word(&line);
	suite = blob_dup(w);
	if (!uri[0] || !suite[0]) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [sources] expected 'deb URI SUITE COMPONENT...'", origin);
		goto out;
	}
	while ((w = blob_word(&line)).len)
		strv_push(&comps, blob_dup(w));
	if (!comps.n && suite[strlen(suite) - 1] != '/') {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [sources] no component after suite '%s'", origin, suite);
		goto out;
	}
	source_push(out, uri, suite, &comps, signed_by, origin);
out:
	strv_free(&comps);
	free(signed_by);
	free(uri);
	free(suite);
	return r;
}

static int parse_list_file(struct pkgimg_ctx *ctx, const char *path, struct apt_sources *out)
{
	struct sbuf text = SBUF_INIT;
	struct blob rest, line;
	int r, lineno = 0;

	r = fs_read_file(ctx, AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	rest = (struct blob){ text.buf, text.len };
	while (rest.len) {
		char origin[4200];
		struct blob l;

		blob_split(&rest, '\n', &line);
		lineno++;
		l = line;
		{
			struct blob code;

			blob_split(&l, '#', &code);
			line = blob_trim(code);
		}
		if (!line.len)
			continue;
		snprintf(origin, sizeof origin, "%s:%d", path, lineno);
		r = parse_one_line(ctx, line, origin, out);
		if (r < 0)
			break;
	}
	sbuf_free(&text);
	return r;
}

/* deb822: stanzas separated by blank lines; fields "Key: value" with
 * continuation lines starting with a space; '#' lines are comments. */
struct stanza_fields {
	char *types, *uris, *suites, *components, *signed_by, *enabled;
	int line;
};

static void stanza_clear(struct stanza_fields *f)
{
	free(f->types);
	free(f->uris);
	free(f->suites);
	free(f->components);
	free(f->signed_by);
	free(f->enabled);
	memset(f, 0, sizeof *f);
}

static int stanza_emit(struct pkgimg_ctx *ctx, struct stanza_fields *f, const char *path,
		       struct apt_sources *out)
{
	struct blob types, uris, suites;
	char origin[4200];
	bool deb = false;
	struct blob w;

	if (!f->types && !f->uris)
		return 0;
	snprintf(origin, sizeof origin, "%s:%d", path, f->line);
	if (f->enabled && !strcasecmp(f->enabled, "no"))
		return 0;
	types = BLOB_STR(f->types ? f->types : "");
	while ((w = blob_word(&types)).len)
		if (blob_eq_str(w, "deb"))
			deb = true;
	if (!deb)
		return 0;
	if (!f->uris || !f->suites)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "%s: [sources] stanza needs URIs: and Suites:", origin);
	uris = BLOB_STR(f->uris);
	while ((w = blob_word(&uris)).len) {
		char *uri = blob_dup(w);

		suites = BLOB_STR(f->suites);
		struct blob s;

		while ((s = blob_word(&suites)).len) {
			struct strv comps = { 0 };
			struct blob cl = BLOB_STR(f->components ? f->components : ""), c;
			char *suite = blob_dup(s);

			while ((c = blob_word(&cl)).len)
				strv_push(&comps, blob_dup(c));
			source_push(out, uri, suite, &comps, f->signed_by, origin);
			strv_free(&comps);
			free(suite);
		}
		free(uri);
	}
	return 0;
}

static char **field_slot(struct stanza_fields *f, struct blob key)
{
	static const struct {
		const char *name;
		size_t off;
	} names[] = {
		{ "Types", offsetof(struct stanza_fields, types) },
		{ "URIs", offsetof(struct stanza_fields, uris) },
		{ "Suites", offsetof(struct stanza_fields, suites) },
		{ "Components", offsetof(struct stanza_fields, components) },
		{ "Signed-By", offsetof(struct stanza_fields, signed_by) },
		{ "Enabled", offsetof(struct stanza_fields, enabled) },
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (key.len == strlen(names[i].name) &&
		    !strncasecmp(key.ptr, names[i].name, key.len))
			return (char **)((char *)f + names[i].off);
	return NULL;
}

static int parse_sources_file(struct pkgimg_ctx *ctx, const char *path, struct apt_sources *out)
{
	struct stanza_fields f = { 0 };
	struct sbuf text = SBUF_INIT, val = SBUF_INIT;
	char **slot = NULL;
	struct blob rest, line;
	int r, lineno = 0;

	r = fs_read_file(ctx, AT_FDCWD, path, &text);
	if (r < 0)
		return r;
	rest = (struct blob){ text.buf, text.len };
	for (;;) {
		bool more = rest.len > 0;

		if (more) {
			blob_split(&rest, '\n', &line);
			lineno++;
		}
		if (more && line.len && line.ptr[0] == '#')
			continue;
		if (more && line.len && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
			/* continuation line; " ." stands for an empty line */
			struct blob t = blob_trim(line);

			if (slot) {
				sbuf_addc(&val, '\n');
				if (!blob_eq_str(t, "."))
					sbuf_add(&val, t.ptr, t.len);
			}
			continue;
		}
		/* a new field or the end of a stanza: store the pending value */
		if (slot) {
			free(*slot);
			*slot = sbuf_detach(&val);
			slot = NULL;
		}
		sbuf_reset(&val);
		if (!more || !blob_trim(line).len) {
			r = stanza_emit(ctx, &f, path, out);
			stanza_clear(&f);
			if (r < 0 || !more)
				break;
			continue;
		}
		{
			struct blob key;

			if (!blob_split(&line, ':', &key)) {
				r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
					       "%s:%d: [sources] expected 'Field: value'",
					       path, lineno);
				break;
			}
			if (!f.line)
				f.line = lineno;
			slot = field_slot(&f, blob_trim(key));
			if (slot) {
				struct blob v = blob_trim(line);

				sbuf_add(&val, v.ptr, v.len);
			}
		}
	}
	stanza_clear(&f);
	sbuf_free(&val);
	sbuf_free(&text);
	return r;
}

int apt_sources_load_host(struct pkgimg_ctx *ctx, const char *etc, struct apt_sources *out)
{
	struct strv files = { 0 };
	char *path, *dir;
	DIR *d;
	int r = 0;

	path = xasprintf("%s/sources.list", etc);
	if (access(path, R_OK) == 0)
		r = parse_list_file(ctx, path, out);
	free(path);
	if (r < 0)
		return r;
	dir = xasprintf("%s/sources.list.d", etc);
	d = opendir(dir);
	if (d) {
		struct dirent *de;

		while ((de = readdir(d)))
			if (str_ends_with(de->d_name, ".list") || str_ends_with(de->d_name, ".sources"))
				strv_push(&files, xasprintf("%s/%s", dir, de->d_name));
		closedir(d);
	}
	strv_sort(&files);	/* apt reads them in alphanumeric order */
	for (size_t i = 0; i < files.n && r == 0; i++)
		r = str_ends_with(files.v[i], ".list") ? parse_list_file(ctx, files.v[i], out)
						     : parse_sources_file(ctx, files.v[i], out);
	strv_free(&files);
	free(dir);
	if (r == 0 && out->n == 0)
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
			       "%s: [sources] no 'deb' source found in sources.list or "
			       "sources.list.d/; pass one with --apt-source \"URI SUITE COMPONENT\"",
			       etc);
	return r;
}

int apt_sources_add_line(struct pkgimg_ctx *ctx, const char *line, struct apt_sources *out)
{
	char *l = xasprintf("deb %s", line);
	int r = parse_one_line(ctx, BLOB_STR(l), "--apt-source", out);

	free(l);
	return r;
}
