/* Core metadata headers (METADATA / PKG-INFO).  See pymeta.h. */
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

void pymeta_free(struct pymeta *m)
{
	size_t i;

	free(m->metadata_version);
	free(m->name);
	free(m->norm);
	free(m->version);
	pep440_version_free(&m->ver);
	free(m->requires_python);
	pep440_specset_free(&m->python_spec);
	for (i = 0; i < m->nrequires; i++)
		pep508_req_free(&m->requires[i]);
	free(m->requires);
	strv_free(&m->extras);
	strv_free(&m->extras_raw);
	strv_free(&m->dynamic);
	memset(m, 0, sizeof *m);
}

/* A single-use field: a second one is an error. */
static int set_once(struct pkgimg_ctx *ctx, const char *what, size_t line, const char *field,
		    char **slot, const char *value)
{
	if (*slot)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "%s: [metadata] line %zu: a second %s field", what, line, field);
	*slot = xstrdup(value);
	return 0;
}

/* Handles one unfolded field. */
static int field(struct pkgimg_ctx *ctx, const char *what, size_t line, struct blob name,
		 const char *value, struct pymeta *m)
{
	int r = 0;

	if (blob_ieq_str(name, "Metadata-Version")) {
		r = set_once(ctx, what, line, "Metadata-Version", &m->metadata_version, value);
	} else if (blob_ieq_str(name, "Name")) {
		r = set_once(ctx, what, line, "Name", &m->name, value);
	} else if (blob_ieq_str(name, "Version")) {
		if ((r = set_once(ctx, what, line, "Version", &m->version, value)) < 0)
			return r;
		r = pep440_parse(ctx, value, &m->ver);
		if (r < 0)
			return pkgimg_err_wrap(ctx, r, "%s: [metadata] line %zu: Version", what,
					       line);
	} else if (blob_ieq_str(name, "Requires-Python")) {
		if ((r = set_once(ctx, what, line, "Requires-Python", &m->requires_python,
				  value)) < 0)
			return r;
		r = pep440_spec_parse(ctx, value, &m->python_spec);
		if (r < 0)
			return pkgimg_err_wrap(ctx, r, "%s: [metadata] line %zu: Requires-Python",
					       what, line);
	} else if (blob_ieq_str(name, "Requires-Dist")) {
		struct pep508_req req;
		r = pep508_req_parse(ctx, value, &req);
		if (r < 0)
			return pkgimg_err_wrap(ctx, r, "%s: [metadata] line %zu: Requires-Dist",
					       what, line);
		m->requires = xrealloc(m->requires, (m->nrequires + 1) * sizeof *m->requires);
		m->requires[m->nrequires++] = req;
	} else if (blob_ieq_str(name, "Provides-Extra")) {
		char *norm;
		if (!*value)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "%s: [metadata] line %zu: empty Provides-Extra", what,
					  line);
		norm = pep503_normalize(value);
		strv_add(&m->extras_raw, value);
		if (!pymeta_has_extra(m, norm))
			strv_push(&m->extras, norm);
		else
			free(norm);
	} else if (blob_ieq_str(name, "Dynamic")) {
		char *d = xstrdup(value), *p;
		for (p = d; *p; p++)
			*p = ascii_lower(*p);
		strv_push(&m->dynamic, d);
	}
	return r;
}

int pymeta_parse(struct pkgimg_ctx *ctx, const char *what, const char *data, size_t len,
		 struct pymeta *out)
{
	struct pymeta m;
	struct sbuf val = SBUF_INIT;
	struct blob name = BLOB_NULL, l = BLOB_NULL, rest;
	size_t lineno = 0, field_line = 0;
	int r = 0;

	memset(&m, 0, sizeof m);
	if (!data)
		len = 0;
	rest = (struct blob){ data, len };
	if (len && memchr(data, '\0', len)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [metadata] contains a NUL byte", what);
		goto out;
	}
	for (;;) {
		bool end = !blob_line(&rest, &l);
		if (!end) {
			lineno++;
			if (l.len > 0 && is_wsp(l.ptr[0])) {
				if (!name.ptr) {
					r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
						       "%s: [metadata] line %zu: a continuation "
						       "line before any field", what, lineno);
					goto out;
				}
				/* RFC 5322 unfolding: the line break goes, the
				 * whitespace stays */
				sbuf_add(&val, l.ptr, l.len);
				continue;
			}
		}
		if (name.ptr) {
			struct blob v = blob_trim((struct blob){ val.buf ? val.buf : "", val.len });
			char *value = blob_dup(v);
			r = field(ctx, what, field_line, name, value, &m);
			free(value);
			if (r < 0)
				goto out;
			name = BLOB_NULL;
		}
		if (end || l.len == 0)
			break;	/* the body (description) follows a blank line */
		{
			const char *colon = memchr(l.ptr, ':', l.len);
			size_t i;
			if (!colon || colon == l.ptr) {
				r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
					       "%s: [metadata] line %zu: not a 'Field: value' header: "
					       "'%.*s'", what, lineno, (int)(l.len > 80 ? 80 : l.len),
					       l.ptr);
				goto out;
			}
			name = (struct blob){ l.ptr, (size_t)(colon - l.ptr) };
			for (i = 0; i < name.len; i++)
				if ((unsigned char)name.ptr[i] <= ' ' ||
				    (unsigned char)name.ptr[i] >= 0x7f) {
					r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
						       "%s: [metadata] line %zu: bad field name '"
						       BLOB_FMT "'", what, lineno, BLOB_ARG(name));
					goto out;
				}
			field_line = lineno;
			sbuf_reset(&val);
			sbuf_add(&val, colon + 1, l.len - name.len - 1);
		}
	}
	if (!m.name || !*m.name || !m.version) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [metadata] no %s field in the headers",
			       what, (!m.name || !*m.name) ? "Name" : "Version");
		goto out;
	}
	m.norm = pep503_normalize(m.name);
	*out = m;
	memset(&m, 0, sizeof m);
out:
	sbuf_free(&val);
	pymeta_free(&m);
	return r;
}

bool pymeta_has_extra(const struct pymeta *m, const char *extra)
{
	char *norm = pep503_normalize(extra);
	size_t i;
	bool found = false;

	for (i = 0; i < m->extras.n && !found; i++)
		found = strcmp(m->extras.v[i], norm) == 0;
	free(norm);
	return found;
}

int pymeta_deps_for(const struct pymeta *m, const struct pep508_env *env,
		    const char *const *extras, const struct pep508_req ***out)
{
	const struct pep508_req **v = xcalloc(m->nrequires + 1, sizeof *v);
	size_t i, j, n = 0;

	for (i = 0; i < m->nrequires; i++) {
		const struct pep508_req *r = &m->requires[i];
		bool take = pep508_marker_eval(r->marker, env, "") == 1;
		for (j = 0; !take && extras && extras[j]; j++)
			take = pep508_marker_eval(r->marker, env, extras[j]) == 1;
		if (take)
			v[n++] = r;
	}
	*out = v;
	return (int)n;
}

/* pkg_resources' safe_extra(), as pip before 23.3 has it: runs of
 * characters other than [A-Za-z0-9.-] as one '_', lowercased. */
static char *safe_extra(const char *e)
{
	struct sbuf s = SBUF_INIT;

	for (const char *p = e; *p;) {
		if (ascii_isalnum(*p) || *p == '.' || *p == '-') {
			char c = ascii_lower(*p++);

			sbuf_add(&s, &c, 1);
			continue;
		}
		while (*p && !(ascii_isalnum(*p) || *p == '.' || *p == '-'))
			p++;
		sbuf_add(&s, "_", 1);
	}
	return sbuf_detach(&s);
}

/* The first `extra == LITERAL` (either side, == or !=) of a marker whose
 * literal PEP 685 reads as norm but which is not written `want`: that
 * literal as written, or NULL. */
static const char *marker_other_spelling(const struct pep508_marker *mk, const char *norm,
					 const char *want)
{
	const struct pep508_operand *lit;

	if (!mk)
		return NULL;
	if (mk->kind != PEP508_MARKER_CMP) {
		for (size_t i = 0; i < mk->nsub; i++) {
			const char *r = marker_other_spelling(mk->sub[i], norm, want);

			if (r)
				return r;
		}
		return NULL;
	}
	if (mk->lhs.is_var && mk->lhs.var == PEP508_VAR_EXTRA && !mk->rhs.is_var)
		lit = &mk->rhs;
	else if (mk->rhs.is_var && mk->rhs.var == PEP508_VAR_EXTRA && !mk->lhs.is_var)
		lit = &mk->lhs;
	else
		return NULL;
	if ((mk->op != PEP508_OP_EQ && mk->op != PEP508_OP_NE) || strcmp(lit->value, norm))
		return NULL;
	return lit->raw && strcmp(lit->raw, want) ? lit->raw : NULL;
}

char *pymeta_extra_pip23_differs(const struct pymeta *m, const char *raw)
{
	char *norm = pep503_normalize(raw), *safe = safe_extra(raw), *out = NULL;
	const char *declared = NULL;
	bool taken = false;

	for (size_t i = 0; i < m->extras_raw.n; i++) {
		char *n = pep503_normalize(m->extras_raw.v[i]), *se = safe_extra(m->extras_raw.v[i]);

		if (!strcmp(n, norm) && !declared)
			declared = m->extras_raw.v[i];
		taken |= !strcmp(se, safe);
		free(n);
		free(se);
	}
	if (declared && !taken) {
		out = xasprintf("pip before 23.3 does not take [%s] for its Provides-Extra '%s' "
				"(\"does not provide the extra\") and installs %s without it",
				raw, declared, m->norm);
	} else if (declared) {
		for (size_t i = 0; i < m->nrequires && !out; i++) {
			const char *lit = marker_other_spelling(m->requires[i].marker, norm, safe);

			if (lit)
				out = xasprintf("pip before 23.3 takes [%s], but not %s's "
						"Requires-Dist %s with extra == '%s', whose marker "
						"is false to it", raw, m->norm, m->requires[i].name,
						lit);
		}
	}
	free(norm);
	free(safe);
	return out;
}
