/* PyPI resolution over a caller-filled universe of candidates, with libsolv.
 * The model is described in pypi_solve.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/bitmap.h>
#include <solv/evr.h>
#include <solv/pool.h>
#include <solv/poolid.h>
#include <solv/problems.h>
#include <solv/repo.h>
#include <solv/rules.h>
#include <solv/solver.h>
#include <solv/strpool.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "solver/pypi_solve.h"

#define NS_REQ "pypi:req"
#define ROOT_NAME "pypi:root"
#define LIST_MAX 20		/* versions listed in a message */

/* --- the universe ---------------------------------------------------------- */

void pypi_rank_evr(size_t rank, char buf[16])
{
	snprintf(buf, 16, "%08zu", rank % 100000000u);
}

int pypi_universe_init(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *python)
{
	struct pep440_version v;
	int r;

	r = pep440_parse(ctx, python ? python : "", &v);
	if (r < 0)
		return pkgimg_err_wrap(ctx, -PKGIMG_E_USAGE, "target Python: [resolve]");
	memset(u, 0, sizeof *u);
	u->python = xstrdup(python);
	u->python_ver = v;
	u->names = xcalloc(1, sizeof *u->names);
	u->texts = xcalloc(1, sizeof *u->texts);
	stringpool_init_empty(u->names);
	stringpool_init_empty(u->texts);
	return 0;
}

static void extra_free(struct pypi_extra *x)
{
	free(x->name);
	free(x->deps);
}

static void cand_clear_meta(struct pypi_cand *c)
{
	free(c->deps);
	c->deps = NULL;
	c->ndeps = 0;
	for (size_t i = 0; i < c->nextras; i++)
		extra_free(&c->extras[i]);
	free(c->extras);
	c->extras = NULL;
	c->nextras = 0;
	c->has_meta = false;
}

void pypi_universe_free(struct pypi_universe *u)
{
	for (size_t i = 0; i < u->np; i++) {
		struct pypi_project *p = &u->p[i];

		for (size_t k = 0; k < p->n; k++) {
			cand_clear_meta(&p->c[k]);
			free(p->c[k].version);
			free(p->c[k].excluded);
			pep440_version_free(&p->c[k].ver);
		}
		free(p->c);
		free(p->name);
	}
	free(u->p);
	for (size_t i = 0; i < u->ndeps; i++) {
		struct pypi_dep *d = &u->deps[i];

		free(d->text);
		free(d->name);
		free(d->extra);
		free(d->spec_text);
		pep440_specset_free(&d->spec);
	}
	free(u->deps);
	if (u->names)
		stringpool_free(u->names);
	if (u->texts)
		stringpool_free(u->texts);
	free(u->names);
	free(u->texts);
	free(u->name_ix);
	free(u->text_ix);
	free(u->python);
	pep440_version_free(&u->python_ver);
	memset(u, 0, sizeof *u);
}

/* Index of the project named norm (normalised), or -1. */
static long proj_find(const struct pypi_universe *u, const char *norm)
{
	Id id = stringpool_str2id(u->names, norm, 0);

	if (id <= 0 || (size_t)id >= u->nname_ix || !u->name_ix[id])
		return -1;
	return (long)u->name_ix[id] - 1;
}

static struct pypi_project *proj_get(struct pypi_universe *u, const char *norm)
{
	Id id;
	long i = proj_find(u, norm);

	if (i >= 0)
		return &u->p[i];
	id = stringpool_str2id(u->names, norm, 1);
	if ((size_t)id >= u->nname_ix) {
		size_t n = (size_t)id * 2 + 16;

		u->name_ix = xrealloc(u->name_ix, n * sizeof *u->name_ix);
		memset(u->name_ix + u->nname_ix, 0, (n - u->nname_ix) * sizeof *u->name_ix);
		u->nname_ix = n;
	}
	u->p = xrealloc(u->p, (u->np + 1) * sizeof *u->p);
	memset(&u->p[u->np], 0, sizeof *u->p);
	u->p[u->np].name = xstrdup(norm);
	u->name_ix[id] = ++u->np;
	return &u->p[u->np - 1];
}

void pypi_universe_add_project(struct pypi_universe *u, const char *name)
{
	char *norm = pep503_normalize(name);

	proj_get(u, norm);
	free(norm);
}

/* Why v is no candidate, or NULL. */
static char *exclusion(const struct pypi_universe *u, unsigned flags,
		       const struct pep440_specset *rp)
{
	struct sbuf why = SBUF_INIT;

	if (!(flags & PYPI_CAND_WHEEL))
		sbuf_adds(&why, "no wheel for the target");
	if (rp && !pep440_spec_contains(rp, &u->python_ver, true)) {
		sbuf_addf(&why, "%srequires Python ", why.len ? "; " : "");
		for (size_t i = 0; i < rp->n; i++)
			sbuf_addf(&why, "%s%s", i ? "," : "", rp->v[i].text);
		sbuf_addf(&why, ", the target is %s", u->python);
	}
	return why.len ? sbuf_detach(&why) : NULL;
}

int pypi_universe_add(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
		      const char *version, unsigned flags,
		      const struct pep440_specset *requires_python)
{
	char *norm = pep503_normalize(name);
	struct pypi_project *p;
	struct pep440_version v;
	size_t at;
	int r;

	r = pep440_parse(ctx, version, &v);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s: [index]", norm);
		goto out;
	}
	p = proj_get(u, norm);
	for (at = 0; at < p->n; at++) {
		int c = pep440_cmp(&p->c[at].ver, &v);

		if (c == 0) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
				       "%s %s: [index] version added twice (already as %s)",
				       norm, version, p->c[at].version);
			pep440_version_free(&v);
			goto out;
		}
		if (c > 0)
			break;
	}
	p->c = xrealloc(p->c, (p->n + 1) * sizeof *p->c);
	memmove(&p->c[at + 1], &p->c[at], (p->n - at) * sizeof *p->c);
	memset(&p->c[at], 0, sizeof *p->c);
	p->c[at].version = xstrdup(version);
	p->c[at].ver = v;
	p->c[at].flags = flags;
	p->c[at].excluded = exclusion(u, flags, requires_python);
	p->n++;
out:
	free(norm);
	return r;
}

static struct pypi_cand *cand_find(const struct pypi_universe *u, const char *name,
				   const char *version, struct pypi_project **pp)
{
	char *norm = pep503_normalize(name);
	long pi = proj_find(u, norm);
	struct pep440_version v;
	struct pypi_cand *found = NULL;

	free(norm);
	if (pi < 0 || pep440_parse(NULL, version, &v) < 0)
		return NULL;
	for (size_t i = 0; i < u->p[pi].n && !found; i++)
		if (!strcmp(u->p[pi].c[i].version, version) || !pep440_cmp(&u->p[pi].c[i].ver, &v))
			found = &u->p[pi].c[i];
	pep440_version_free(&v);
	if (pp)
		*pp = &u->p[pi];
	return found;
}

int pypi_universe_mark_installed(struct pkgimg_ctx *ctx, struct pypi_universe *u,
				 const char *name, const char *version)
{
	struct pypi_cand *c = cand_find(u, name, version, NULL);

	if (!c)
		return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s %s: [resolve] installed, but the "
				  "version was never added", name, version);
	c->flags |= PYPI_CAND_INSTALLED | PYPI_CAND_WHEEL;
	c->flags &= ~PYPI_CAND_YANKED;
	free(c->excluded);
	c->excluded = NULL;
	return 0;
}

int pypi_universe_exclude(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
			  const char *version, const char *why)
{
	struct pypi_cand *c = cand_find(u, name, version, NULL);

	if (!c)
		return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s %s: [resolve] excluded, but the "
				  "version was never added", name, version);
	free(c->excluded);
	c->excluded = xstrdup(why);
	return 0;
}

bool pypi_universe_is_candidate(const struct pypi_universe *u, const char *name,
				const char *version)
{
	const struct pypi_cand *c = cand_find(u, name, version, NULL);

	return c && !c->excluded;
}

/* The specifier set as one canonical string: items without spaces, sorted. */
static char *spec_canon(const struct pep440_specset *set)
{
	struct strv items = { 0 };
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < set->n; i++) {
		struct sbuf it = SBUF_INIT;

		for (const char *c = set->v[i].text; *c; c++)
			if (*c != ' ' && *c != '\t')
				sbuf_addc(&it, *c);
		strv_push(&items, sbuf_detach(&it));
	}
	if (items.n > 1)
		qsort(items.v, items.n, sizeof *items.v, str_cmp_ptr);
	sbuf_adds(&s, "");
	for (size_t i = 0; i < items.n; i++)
		sbuf_addf(&s, "%s%s", i ? "," : "", items.v[i]);
	strv_free(&items);
	return sbuf_detach(&s);
}

/* Interns one (name, extra, spec) requirement; its index in u->deps. */
static int dep_intern1(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *norm,
		       const char *extra, const char *spec, size_t *ix)
{
	char *text = xasprintf("%s%s%s%s%s", norm, extra ? "[" : "", extra ? extra : "",
			       extra ? "]" : "", spec);
	Id id = stringpool_str2id(u->texts, text, 1);
	struct pypi_dep *d;
	int r = 0;

	if ((size_t)id >= u->ntext_ix) {
		size_t n = (size_t)id * 2 + 16;

		u->text_ix = xrealloc(u->text_ix, n * sizeof *u->text_ix);
		memset(u->text_ix + u->ntext_ix, 0, (n - u->ntext_ix) * sizeof *u->text_ix);
		u->ntext_ix = n;
	}
	if (u->text_ix[id]) {
		*ix = u->text_ix[id] - 1;
		goto out;
	}
	u->deps = xrealloc(u->deps, (u->ndeps + 1) * sizeof *u->deps);
	d = &u->deps[u->ndeps];
	memset(d, 0, sizeof *d);
	r = pep440_spec_parse(ctx, spec, &d->spec);
	if (r < 0)
		goto out;
	d->text = text;
	text = NULL;
	d->name = xstrdup(norm);
	d->extra = extra ? xstrdup(extra) : NULL;
	d->spec_text = xstrdup(spec);
	d->pinned = d->spec.n == 1 &&
		    ((d->spec.v[0].op == PEP440_OP_EQ && !d->spec.v[0].wildcard) ||
		     d->spec.v[0].op == PEP440_OP_ARBITRARY);
	u->text_ix[id] = ++u->ndeps;
	*ix = u->ndeps - 1;
out:
	free(text);
	return r;
}

static void ix_push(size_t **v, size_t *n, size_t x)
{
	for (size_t i = 0; i < *n; i++)
		if ((*v)[i] == x)
			return;
	*v = xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = x;
}

/* Interns a requirement: one entry per extra (or one without). */
static int dep_intern(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *who,
		      const struct pep508_req *req, size_t **v, size_t *n)
{
	char *spec = NULL;
	size_t ix;
	int r = 0;

	if (req->url) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
			       "%s: [resolve] '%s @ %s' is a direct URL requirement; only "
			       "requirements on index projects can be resolved", who, req->name,
			       req->url);
		goto out;
	}
	spec = spec_canon(&req->spec);
	if (!req->nextras) {
		r = dep_intern1(ctx, u, req->norm, NULL, spec, &ix);
		if (r == 0)
			ix_push(v, n, ix);
	}
	for (size_t i = 0; i < req->nextras && r == 0; i++) {
		r = dep_intern1(ctx, u, req->norm, req->extras[i], spec, &ix);
		if (r == 0)
			ix_push(v, n, ix);
	}
	if (r < 0)
		pkgimg_err_wrap(ctx, r, "%s", who);
out:
	free(spec);
	return r;
}

static int deps_from_reqs(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *who,
			  const struct pep508_req *const *reqs, size_t n, size_t **v, size_t *nv)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++)
		r = dep_intern(ctx, u, who, reqs[i], v, nv);
	return r;
}

static int never_added(struct pkgimg_ctx *ctx, const char *name, const char *version)
{
	return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s %s: [resolve] dependencies given for "
			  "a version that was never added", name, version);
}

int pypi_universe_set_deps(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
			   const char *version, const struct pep508_req *const *reqs, size_t n)
{
	struct pypi_cand *c = cand_find(u, name, version, NULL);
	size_t *v = NULL, nv = 0;
	char *who = NULL;
	int r = 0;

	if (!c) {
		r = never_added(ctx, name, version);
		goto out;
	}
	if (c->excluded)
		goto out;
	who = xasprintf("%s %s", name, version);
	r = deps_from_reqs(ctx, u, who, reqs, n, &v, &nv);
	if (r < 0)
		goto out;
	free(c->deps);
	c->deps = v;
	c->ndeps = nv;
	c->has_meta = true;
	v = NULL;
out:
	free(who);
	free(v);
	return r;
}

int pypi_universe_set_extra_deps(struct pkgimg_ctx *ctx, struct pypi_universe *u,
				 const char *name, const char *version, const char *extra,
				 const struct pep508_req *const *reqs, size_t n)
{
	struct pypi_cand *c = cand_find(u, name, version, NULL);
	struct pypi_extra *x = NULL;
	size_t *v = NULL, nv = 0, *keep = NULL, nkeep = 0;
	char *xn = NULL, *who = NULL;
	int r = 0;

	if (!c) {
		r = never_added(ctx, name, version);
		goto out;
	}
	if (c->excluded)
		goto out;
	xn = pep503_normalize(extra);
	who = xasprintf("%s[%s] %s", name, xn, version);
	r = deps_from_reqs(ctx, u, who, reqs, n, &v, &nv);
	if (r < 0)
		goto out;
	keep = xcalloc(nv + 1, sizeof *keep);
	for (size_t i = 0; i < nv; i++) {
		bool base = false;

		for (size_t k = 0; k < c->ndeps; k++)
			if (c->deps[k] == v[i])
				base = true;
		if (!base)
			keep[nkeep++] = v[i];
	}
	for (size_t i = 0; i < c->nextras; i++)
		if (!strcmp(c->extras[i].name, xn))
			x = &c->extras[i];
	if (!x) {
		c->extras = xrealloc(c->extras, (c->nextras + 1) * sizeof *c->extras);
		x = &c->extras[c->nextras++];
		x->name = xn;
		xn = NULL;
	} else {
		free(x->deps);
	}
	x->deps = keep;
	x->ndeps = nkeep;
	keep = NULL;
out:
	free(keep);
	free(v);
	free(who);
	free(xn);
	return r;
}

int pypi_universe_set_meta(struct pkgimg_ctx *ctx, struct pypi_universe *u,
			   const struct pymeta *m, const struct pep508_env *env)
{
	const struct pep508_req **reqs = NULL;
	struct pypi_cand *c = cand_find(u, m->norm, m->version, NULL);
	int r = 0, n;

	if (!c) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s %s: [resolve] metadata given for a "
			       "version that was never added", m->norm, m->version);
		goto out;
	}
	if (c->excluded)
		goto out;
	/* Requires-Python that only the metadata states (the index page gave
	 * none): pip rejects the candidate once it reads it, and backtracks */
	if (m->python_spec.n && !pep440_spec_contains(&m->python_spec, &u->python_ver, true)) {
		c->excluded = xasprintf("requires Python %s (Requires-Python in its metadata), "
					"the target is %s", m->requires_python, u->python);
		goto out;
	}
	cand_clear_meta(c);
	n = pymeta_deps_for(m, env, NULL, &reqs);
	r = pypi_universe_set_deps(ctx, u, m->norm, m->version,
				   (const struct pep508_req *const *)reqs, (size_t)n);
	for (size_t i = 0; i < m->extras.n && r == 0; i++) {
		const char *want[2] = { m->extras.v[i], NULL };

		free(reqs);
		reqs = NULL;
		n = pymeta_deps_for(m, env, want, &reqs);
		r = pypi_universe_set_extra_deps(ctx, u, m->norm, m->version, m->extras.v[i],
						 (const struct pep508_req *const *)reqs, (size_t)n);
	}
out:
	free(reqs);
	return r;
}

/* pip's choice of the candidates that may satisfy d: those the specifier
 * matches, pre-releases only when it names one, when a top-level requirement
 * on the project names one (pip merges the specifiers of a project), with
 * --pre, or when d has no specifier at all and the project has no final
 * release.  That last rule is pip 23's (packaging 21.3's SpecifierSet.filter
 * with prereleases=None: the "only pre-releases" fallback runs only for an
 * empty specifier set; "click>8.1.3" with only 8.2.0rc1 above 8.1.3 finds
 * nothing).  uv's default ("if-necessary-or-explicit") also falls back only
 * when every version of the project is a pre-release; pkgimg follows pip.
 * Yanked ones only for a pin that only yanked ones satisfy.  Writes
 * candidate indices to out (room for p->n); returns how many. */
static size_t match_cands(const struct pypi_project *p, const struct pypi_dep *d, bool pre,
			  size_t *out)
{
	size_t n = 0, k = 0;
	bool all_yanked = true, fallback = d->spec.n == 0;

	for (size_t i = 0; fallback && i < p->n; i++)
		if (!p->c[i].excluded && !pep440_is_prerelease(&p->c[i].ver))
			fallback = false;
	for (int pass = pre; pass <= (pre || fallback) && n == 0; pass++)
		for (size_t i = 0; i < p->n; i++)
			if (!p->c[i].excluded && pep440_spec_contains(&d->spec, &p->c[i].ver, pass))
				out[n++] = i;
	for (size_t i = 0; i < n; i++)
		if (!(p->c[out[i]].flags & PYPI_CAND_YANKED))
			all_yanked = false;
	if (d->pinned && all_yanked)
		return n;
	for (size_t i = 0; i < n; i++)
		if (!(p->c[out[i]].flags & PYPI_CAND_YANKED))
			out[k++] = out[i];
	return k;
}

/* Per project: whether a top-level requirement on it names a pre-release
 * (pip then takes pre-releases for every requirement on the project). */
static bool *pre_flags(const struct pypi_universe *u, const size_t *top, size_t ntop)
{
	bool *pre = xcalloc(u->np + 1, sizeof *pre);

	for (size_t i = 0; u->pre && i <= u->np; i++)
		pre[i] = true;
	for (size_t i = 0; i < ntop; i++) {
		long pi = proj_find(u, u->deps[top[i]].name);

		if (pi >= 0 && pep440_spec_mentions_prerelease(&u->deps[top[i]].spec))
			pre[pi] = true;
	}
	return pre;
}

int pypi_universe_missing(struct pkgimg_ctx *ctx, struct pypi_universe *u,
			  const struct pep508_req *const *top, size_t ntop, struct strv *out)
{
	size_t *todo = NULL, ntodo = 0, *m = NULL;
	struct strv miss = { 0 };
	bool *pre = NULL;
	int r;

	r = deps_from_reqs(ctx, u, "request", top, ntop, &todo, &ntodo);
	if (r < 0)
		goto out;
	pre = pre_flags(u, todo, ntodo);
	/* todo only grows (ix_push keeps it unique): a breadth-first walk */
	for (size_t t = 0; t < ntodo; t++) {
		const struct pypi_dep *d = &u->deps[todo[t]];
		long pi = proj_find(u, d->name);
		const struct pypi_project *p;
		size_t nm;

		if (pi < 0) {
			bool dup = false;

			for (size_t k = 0; k < miss.n; k++)
				if (!strcmp(miss.v[k], d->name))
					dup = true;
			if (!dup)
				strv_add(&miss, d->name);
			continue;
		}
		p = &u->p[pi];
		m = xrealloc(m, (p->n + 1) * sizeof *m);
		nm = match_cands(p, d, pre[pi], m);
		for (size_t i = 0; i < nm; i++) {
			const struct pypi_cand *c = &p->c[m[i]];

			for (size_t k = 0; k < c->ndeps; k++)
				ix_push(&todo, &ntodo, c->deps[k]);
			for (size_t x = 0; d->extra && x < c->nextras; x++)
				if (!strcmp(c->extras[x].name, d->extra))
					for (size_t k = 0; k < c->extras[x].ndeps; k++)
						ix_push(&todo, &ntodo, c->extras[x].deps[k]);
		}
	}
	strv_sort(&miss);
	strv_free(out);
	*out = miss;
	memset(&miss, 0, sizeof miss);
	r = (int)out->n;
out:
	strv_free(&miss);
	free(todo);
	free(m);
	free(pre);
	return r;
}

void pypi_solution_warn_extras(struct pkgimg_ctx *ctx, const struct pypi_universe *u,
			       const struct pypi_solution *s)
{
	for (size_t i = 0; i < s->n; i++) {
		const struct pypi_pick *pk = &s->v[i];
		const struct pypi_cand *c = cand_find(u, pk->name, pk->version, NULL);

		for (size_t k = 0; c && c->has_meta && k < pk->extras.n; k++) {
			bool declared = false;

			for (size_t x = 0; x < c->nextras && !declared; x++)
				declared = !strcmp(c->extras[x].name, pk->extras.v[k]);
			if (!declared)
				pkgimg_warn(ctx, "%s %s does not provide the extra '%s' (pip's words: "
					    "its metadata has no Provides-Extra for it); installed "
					    "without it", pk->name, pk->version, pk->extras.v[k]);
		}
	}
}

void pypi_solution_free(struct pypi_solution *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].name);
		free(s->v[i].version);
		strv_free(&s->v[i].extras);
	}
	free(s->v);
	free(s->unknown);
	memset(s, 0, sizeof *s);
}

/* --- the pool -------------------------------------------------------------- */

/* The solvables of one extra of a project, per candidate (0: excluded). */
struct xslot {
	size_t proj;
	const char *extra;
	Id *sv;
};

struct sinfo {
	long proj;		/* -1: the root, -2: no solvable of ours */
	size_t cand;
	size_t x;		/* xslot + 1, 0 for the base */
};

struct state {
	struct pypi_universe *u;
	Pool *pool;
	Id ns, root;
	Id **base;		/* per project: solvable per candidate */
	struct xslot *x;
	size_t nx;
	long *dep_proj;		/* per dep: project, -1 when unknown */
	size_t *dep_x;		/* per dep: xslot + 1, 0 without an extra */
	Id *dep_id;		/* per dep: the namespace dependency */
	size_t *str2dep;	/* pool string id -> dep + 1 */
	size_t nstr2dep;
	struct sinfo *si;	/* per solvable; proj -2: not ours */
	size_t nsi;
	size_t *scratch;	/* room for the largest project */
	bool *pre;		/* per project: pre-releases asked for */
	const size_t *top;	/* the top-level requirements, in order */
	size_t ntop;
};

static Id ns_callback(Pool *pool, void *data, Id name, Id evr)
{
	struct state *st = data;
	const struct pypi_project *p;
	size_t d, n;
	Id *sv;
	Queue q;
	Id r = 0;

	if (name != st->ns || evr <= 0 || (size_t)evr >= st->nstr2dep || !st->str2dep[evr])
		return 0;
	d = st->str2dep[evr] - 1;
	if (st->dep_proj[d] < 0)
		return 0;
	p = &st->u->p[st->dep_proj[d]];
	sv = st->dep_x[d] ? st->x[st->dep_x[d] - 1].sv : st->base[st->dep_proj[d]];
	n = match_cands(p, &st->u->deps[d], st->pre[st->dep_proj[d]], st->scratch);
	queue_init(&q);
	for (size_t i = 0; i < n; i++)
		if (sv[st->scratch[i]])
			queue_push(&q, sv[st->scratch[i]]);
	if (q.count)
		r = pool_queuetowhatprovides(pool, &q);
	queue_free(&q);
	return r;
}

static Id new_solvable(struct state *st, Repo *repo, const char *name, const char *evr)
{
	Pool *pool = st->pool;
	Id p = repo_add_solvable(repo);
	Solvable *s = pool_id2solvable(pool, p);

	s->name = pool_str2id(pool, name, 1);
	s->evr = pool_str2id(pool, evr, 1);
	s->arch = ARCH_NOARCH;
	s->provides = repo_addid_dep(repo, s->provides,
				     pool_rel2id(pool, s->name, s->evr, REL_EQ, 1), 0);
	return p;
}

static void si_set(struct state *st, Id p, long proj, size_t cand, size_t x)
{
	if ((size_t)p >= st->nsi) {
		size_t n = (size_t)p * 2 + 16;

		st->si = xrealloc(st->si, n * sizeof *st->si);
		for (size_t i = st->nsi; i < n; i++)
			st->si[i].proj = -2;
		st->nsi = n;
	}
	st->si[p].proj = proj;
	st->si[p].cand = cand;
	st->si[p].x = x;
}

static void state_free(struct state *st)
{
	if (st->base)
		for (size_t i = 0; i < st->u->np; i++)
			free(st->base[i]);
	free(st->base);
	for (size_t i = 0; i < st->nx; i++)
		free(st->x[i].sv);
	free(st->x);
	free(st->dep_proj);
	free(st->dep_x);
	free(st->dep_id);
	free(st->str2dep);
	free(st->si);
	free(st->scratch);
	free(st->pre);
	if (st->pool)
		pool_free(st->pool);
}

/* Builds the pool: the root, every candidate, every extra that some
 * requirement asks for. */
static void build_pool(struct state *st, const size_t *top, size_t ntop)
{
	struct pypi_universe *u = st->u;
	Pool *pool;
	Repo *repo;
	size_t maxn = 1;
	char evr[16];

	pool = st->pool = pool_create();
	repo = repo_create(pool, "pypi");
	st->ns = pool_str2id(pool, NS_REQ, 1);
	st->dep_proj = xcalloc(u->ndeps + 1, sizeof *st->dep_proj);
	st->dep_x = xcalloc(u->ndeps + 1, sizeof *st->dep_x);
	st->dep_id = xcalloc(u->ndeps + 1, sizeof *st->dep_id);
	for (size_t d = 0; d < u->ndeps; d++) {
		const struct pypi_dep *dep = &u->deps[d];

		st->dep_proj[d] = proj_find(u, dep->name);
		st->dep_id[d] = pool_rel2id(pool, st->ns, pool_str2id(pool, dep->text, 1),
					    REL_NAMESPACE, 1);
		if (!dep->extra || st->dep_proj[d] < 0)
			continue;
		for (size_t k = 0; k < st->nx && !st->dep_x[d]; k++)
			if (st->x[k].proj == (size_t)st->dep_proj[d] && !strcmp(st->x[k].extra, dep->extra))
				st->dep_x[d] = k + 1;
		if (!st->dep_x[d]) {
			st->x = xrealloc(st->x, (st->nx + 1) * sizeof *st->x);
			st->x[st->nx].proj = (size_t)st->dep_proj[d];
			st->x[st->nx].extra = dep->extra;
			st->x[st->nx].sv = xcalloc(u->p[st->dep_proj[d]].n + 1, sizeof(Id));
			st->dep_x[d] = ++st->nx;
		}
	}
	st->nstr2dep = (size_t)pool->ss.nstrings;
	st->str2dep = xcalloc(st->nstr2dep, sizeof *st->str2dep);
	for (size_t d = 0; d < u->ndeps; d++)
		st->str2dep[pool_str2id(pool, u->deps[d].text, 0)] = d + 1;

	st->root = new_solvable(st, repo, ROOT_NAME, "0");
	si_set(st, st->root, -1, 0, 0);
	for (size_t i = 0; i < ntop; i++)
		pool->solvables[st->root].requires =
			repo_addid_dep(repo, pool->solvables[st->root].requires, st->dep_id[top[i]], 0);

	st->base = xcalloc(u->np + 1, sizeof *st->base);
	for (size_t pi = 0; pi < u->np; pi++) {
		const struct pypi_project *p = &u->p[pi];
		size_t rank = 0;

		if (p->n > maxn)
			maxn = p->n;
		st->base[pi] = xcalloc(p->n + 1, sizeof(Id));
		for (size_t c = 0; c < p->n; c++) {
			Id s;

			if (p->c[c].excluded)
				continue;
			pypi_rank_evr(rank++, evr);
			s = new_solvable(st, repo, p->name, evr);
			si_set(st, s, (long)pi, c, 0);
			st->base[pi][c] = s;
			for (size_t k = 0; k < p->c[c].ndeps; k++)
				pool->solvables[s].requires =
					repo_addid_dep(repo, pool->solvables[s].requires,
						       st->dep_id[p->c[c].deps[k]], 0);
		}
	}
	for (size_t k = 0; k < st->nx; k++) {
		const struct pypi_project *p = &u->p[st->x[k].proj];
		char *name = xasprintf("%s[%s]", p->name, st->x[k].extra);

		for (size_t c = 0; c < p->n; c++) {
			Id b = st->base[st->x[k].proj][c], s;
			const struct pypi_cand *cd = &p->c[c];

			if (!b)
				continue;
			s = new_solvable(st, repo, name, pool_id2str(pool, pool->solvables[b].evr));
			si_set(st, s, (long)st->x[k].proj, c, k + 1);
			st->x[k].sv[c] = s;
			pool->solvables[s].requires =
				repo_addid_dep(repo, pool->solvables[s].requires,
					       pool_rel2id(pool, pool->solvables[b].name,
							   pool->solvables[b].evr, REL_EQ, 1), 0);
			for (size_t e = 0; e < cd->nextras; e++) {
				if (strcmp(cd->extras[e].name, st->x[k].extra))
					continue;
				for (size_t q = 0; q < cd->extras[e].ndeps; q++)
					pool->solvables[s].requires =
						repo_addid_dep(repo, pool->solvables[s].requires,
							       st->dep_id[cd->extras[e].deps[q]], 0);
			}
		}
		free(name);
	}
	st->scratch = xcalloc(maxn + 1, sizeof *st->scratch);
	repo_internalize(repo);
	pool->nscallback = ns_callback;
	pool->nscallbackdata = st;
	pool_createwhatprovides(pool);
}

/* --- problems in words ----------------------------------------------------- */

static const struct pypi_cand *cand_of(const struct state *st, Id p)
{
	const struct sinfo *si;

	if (p <= 0 || (size_t)p >= st->nsi)
		return NULL;
	si = &st->si[p];
	return si->proj < 0 ? NULL : &st->u->p[si->proj].c[si->cand];
}

/* "torch 2.2.1", "torch[optree] 2.2.1" */
static void add_solvable(struct sbuf *b, const struct state *st, Id p)
{
	const struct sinfo *si;

	if (!cand_of(st, p)) {
		sbuf_adds(b, p == st->root ? "the request" : pool_solvid2str(st->pool, p));
		return;
	}
	si = &st->si[p];
	sbuf_adds(b, st->u->p[si->proj].name);
	if (si->x)
		sbuf_addf(b, "[%s]", st->x[si->x - 1].extra);
	sbuf_addf(b, " %s", cand_of(st, p)->version);
}

/* The requirement a dependency stands for: "triton==2.2.0". */
static void add_dep(struct sbuf *b, const struct state *st, Id dep)
{
	Pool *pool = st->pool;

	if (ISRELDEP(dep)) {
		Reldep *rd = GETRELDEP(pool, dep);

		if (rd->flags == REL_NAMESPACE && rd->name == st->ns) {
			sbuf_adds(b, pool_id2str(pool, rd->evr));
			return;
		}
		if (rd->flags == REL_EQ) {
			Id p, pp;

			FOR_PROVIDES(p, pp, dep) {
				if ((size_t)p < st->nsi && st->si[p].proj >= 0 && !st->si[p].x) {
					sbuf_addf(b, "%s==%s", st->u->p[st->si[p].proj].name,
						  cand_of(st, p)->version);
					return;
				}
			}
		}
	}
	sbuf_adds(b, pool_dep2str(pool, dep));
}

/* "X was requested" or "torch 2.2.1 requires X" */
static void add_edge(struct sbuf *b, const struct state *st, Id source, Id dep)
{
	if (source == st->root) {
		add_dep(b, st, dep);
		sbuf_adds(b, " was requested");
		return;
	}
	add_solvable(b, st, source);
	sbuf_adds(b, " requires ");
	add_dep(b, st, dep);
}

/* A list of versions, the newest LIST_MAX of them. */
static void add_versions(struct sbuf *b, const struct pypi_project *p, bool excluded)
{
	size_t n = 0, skip, k = 0;

	for (size_t i = 0; i < p->n; i++)
		if (!p->c[i].excluded == !excluded)
			n++;
	if (!n) {
		sbuf_adds(b, "none");
		return;
	}
	skip = n > LIST_MAX ? n - LIST_MAX : 0;
	if (skip)
		sbuf_addf(b, "%zu older, ", skip);
	for (size_t i = 0; i < p->n; i++) {
		const struct pypi_cand *c = &p->c[i];

		if (!c->excluded != !excluded || k++ < skip)
			continue;
		sbuf_addf(b, "%s%s", k > skip + 1 ? ", " : "", c->version);
		if (excluded)
			sbuf_addf(b, " (%s)", c->excluded);
		else if (c->flags & PYPI_CAND_YANKED)
			sbuf_adds(b, " (yanked)");
	}
}

/* "no version of foo satisfies foo>=3 (available: 1.0, 2.0)" */
static void add_nothing(struct sbuf *b, const struct state *st, Id dep)
{
	Pool *pool = st->pool;
	Reldep *rd = ISRELDEP(dep) ? GETRELDEP(pool, dep) : NULL;
	size_t d;
	const struct pypi_project *p;
	bool yanked = false;

	if (!rd || rd->flags != REL_NAMESPACE || rd->evr <= 0 || (size_t)rd->evr >= st->nstr2dep ||
	    !st->str2dep[rd->evr]) {
		sbuf_addf(b, "nothing provides %s", pool_dep2str(pool, dep));
		return;
	}
	d = st->str2dep[rd->evr] - 1;
	if (st->dep_proj[d] < 0) {
		sbuf_addf(b, "no project named %s is known (check the name; it is not on "
			  "the index or was not looked up)", st->u->deps[d].name);
		return;
	}
	p = &st->u->p[st->dep_proj[d]];
	sbuf_addf(b, "no version of %s satisfies %s (available: ", p->name, st->u->deps[d].text);
	add_versions(b, p, false);
	sbuf_adds(b, ")");
	for (size_t i = 0; i < p->n; i++)
		if (!p->c[i].excluded && (p->c[i].flags & PYPI_CAND_YANKED))
			yanked = true;
	if (yanked)
		sbuf_adds(b, "; a yanked version is taken only when pinned with ==");
	for (size_t i = p->n; i-- > 0;) {
		if (!p->c[i].excluded && pep440_is_prerelease(&p->c[i].ver) &&
		    pep440_spec_contains(&st->u->deps[d].spec, &p->c[i].ver, true)) {
			sbuf_addf(b, "; %s is a pre-release, taken only when a specifier names "
				  "one (%s>=%s) or with --pre, as pip does", p->c[i].version,
				  p->name, p->c[i].version);
			break;
		}
	}
	for (size_t i = 0; i < p->n; i++) {
		if (p->c[i].excluded) {
			sbuf_adds(b, "; not candidates: ");
			add_versions(b, p, true);
			break;
		}
	}
}

/* One rule of a problem in words, or false to leave it out. */
static bool rule_line(struct sbuf *b, Solver *solv, const struct state *st, Id rid)
{
	Id source, target, dep;
	SolverRuleinfo type = solver_ruleinfo(solv, rid, &source, &target, &dep);

	switch (type) {
	case SOLVER_RULE_JOB:
		return false;	/* installing the root */
	case SOLVER_RULE_PKG_REQUIRES:
	case SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
		add_edge(b, st, source, dep);
		return true;
	case SOLVER_RULE_PKG_SAME_NAME:
		if (!cand_of(st, source) || !cand_of(st, target))
			break;
		sbuf_addf(b, "only one version of %s can be installed (",
			  pool_id2str(st->pool, st->pool->solvables[source].name));
		sbuf_addf(b, "%s or %s)", cand_of(st, source)->version,
			  cand_of(st, target)->version);
		return true;
	case SOLVER_RULE_PKG_NOT_INSTALLABLE:
		add_solvable(b, st, source);
		sbuf_adds(b, " cannot be installed");
		return true;
	default:
		break;
	}
	sbuf_adds(b, solver_problemruleinfo2str(solv, type, source, target, dep));
	return true;
}

/* The candidates of the edge's target project that the dependency allows,
 * as a map over the project's candidates; the project, or -1. */
static long edge_targets(const struct state *st, Id dep, Map *m)
{
	Pool *pool = st->pool;
	long proj = -1;
	Id p, pp;

	FOR_PROVIDES(p, pp, dep) {
		if ((size_t)p >= st->nsi || st->si[p].proj < 0)
			continue;
		if (proj < 0) {
			proj = st->si[p].proj;
			map_init(m, (int)st->u->p[proj].n);
		}
		if (st->si[p].proj == proj)
			MAPSET(m, st->si[p].cand);
	}
	return proj;
}

/* Where a top-level requirement stands in the request. */
static size_t top_pos(const struct state *st, Id dep)
{
	for (size_t i = 0; i < st->ntop; i++)
		if (st->dep_id[st->top[i]] == dep)
			return i;
	return st->ntop;
}

/* The headline of a problem: what is missing, or two requirements on one
 * project that no version satisfies together. */
static void headline(struct sbuf *b, Solver *solv, const struct state *st, const Queue *rules)
{
	Id source, target, dep;

	for (int i = 0; i < rules->count; i++) {
		if (solver_ruleinfo(solv, rules->elements[i], &source, &target, &dep) ==
		    SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP) {
			add_nothing(b, st, dep);
			return;
		}
	}
	/* two requirements on one project that no version satisfies together:
	 * a package's against the request's first, then two packages' (not two
	 * versions of one package: those are alternatives), then two requests */
	{
		Id bs1 = 0, bd1 = 0, bs2 = 0, bd2 = 0;
		int best = 0;

		for (int i = 0; i < rules->count; i++) {
			Id s1, d1;
			Map m1;
			long p1;

			if (solver_ruleinfo(solv, rules->elements[i], &s1, &target, &d1) !=
			    SOLVER_RULE_PKG_REQUIRES)
				continue;
			p1 = edge_targets(st, d1, &m1);
			if (p1 < 0)
				continue;
			for (int k = 0; k < rules->count; k++) {
				Id s2, d2;
				Map m2;
				long p2;
				bool disjoint = true;
				int score;

				if (k == i || solver_ruleinfo(solv, rules->elements[k], &s2, &target,
							      &d2) != SOLVER_RULE_PKG_REQUIRES)
					continue;
				if (s1 != st->root && s2 == st->root)
					score = 3;
				else if (s1 != st->root && s2 != st->root &&
					 st->pool->solvables[s1].name != st->pool->solvables[s2].name)
					score = 2;
				else if (s1 == st->root && s2 == st->root &&
					 top_pos(st, d1) < top_pos(st, d2))
					score = 1;
				else
					continue;
				if (score <= best)
					continue;
				p2 = edge_targets(st, d2, &m2);
				if (p2 != p1)
					disjoint = false;
				for (size_t c = 0; disjoint && c < st->u->p[p1].n; c++)
					if (MAPTST(&m1, c) && MAPTST(&m2, c))
						disjoint = false;
				if (p2 >= 0)
					map_free(&m2);
				if (!disjoint)
					continue;
				best = score;
				bs1 = s1;
				bd1 = d1;
				bs2 = s2;
				bd2 = d2;
			}
			map_free(&m1);
		}
		if (best) {
			add_edge(b, st, bs1, bd1);
			sbuf_adds(b, ", but ");
			add_edge(b, st, bs2, bd2);
			return;
		}
	}
	for (int i = 0; i < rules->count; i++)
		if (rule_line(b, solv, st, rules->elements[i]))
			return;
	sbuf_adds(b, "the requirements conflict");
}

static int explain(struct pkgimg_ctx *ctx, Solver *solv, const struct state *st)
{
	int count = solver_problem_count(solv);
	struct sbuf msg = SBUF_INIT;
	Queue rules;

	queue_init(&rules);
	sbuf_adds(&msg, "[resolve] the PyPI request cannot be satisfied");
	for (Id problem = 1; problem <= count; problem++) {
		struct strv seen = { 0 };
		struct sbuf line = SBUF_INIT;

		solver_findallproblemrules(solv, problem, &rules);
		headline(&line, solv, st, &rules);
		sbuf_addf(&msg, "\n  %s", line.buf);
		strv_push(&seen, sbuf_detach(&line));
		/* what was requested first, in the order of the request, then the
		 * chain */
		for (size_t pos = 0; pos <= st->ntop; pos++) {
			int pass = pos < st->ntop ? 0 : 1;

			for (int i = 0; i < rules.count; i++) {
				Id source, target, dep, rid = rules.elements[i];
				bool dup = false;

				solver_ruleinfo(solv, rid, &source, &target, &dep);
				if ((pass == 0) != (source == st->root) ||
				    (pass == 0 && top_pos(st, dep) != pos))
					continue;
				if (!rule_line(&line, solv, st, rid))
					continue;
				for (size_t k = 0; k < seen.n && !dup; k++)
					dup = !strcmp(seen.v[k], line.buf);
				if (!dup)
					sbuf_addf(&msg, "\n    %s %s", pass ? "because" : "-",
						  line.buf);
				strv_push(&seen, sbuf_detach(&line));
			}
		}
		strv_free(&seen);
	}
	if (count)
		sbuf_adds(&msg, "\n  (change or drop one of the requests above, or pin other "
			  "versions)");
	queue_free(&rules);
	pkgimg_err(ctx, -PKGIMG_E_SOLVE, "%s", msg.buf);
	sbuf_free(&msg);
	return -PKGIMG_E_SOLVE;
}

/* --- solving --------------------------------------------------------------- */

static int cmp_pick(const void *a, const void *b)
{
	const struct pypi_pick *x = a, *y = b;

	return strcmp(x->name, y->name);
}

int pypi_solve(struct pkgimg_ctx *ctx, struct pypi_universe *u,
	       const struct pep508_req *const *top, size_t ntop, struct pypi_solution *out)
{
	struct state st;
	struct pypi_solution res = { 0 };
	size_t *topix = NULL, ntopix = 0, *pick_of = NULL;
	Solver *solv = NULL;
	Queue job, dq;
	int r;

	memset(&st, 0, sizeof st);
	st.u = u;
	queue_init(&job);
	queue_init(&dq);
	r = deps_from_reqs(ctx, u, "request", top, ntop, &topix, &ntopix);
	if (r < 0)
		goto out;
	st.pre = pre_flags(u, topix, ntopix);
	st.top = topix;
	st.ntop = ntopix;
	build_pool(&st, topix, ntopix);
	solv = solver_create(st.pool);
	/* newest first: the policy keeps the highest EVR (rank) among the
	 * providers of a requirement; FOCUS_BEST makes the solver settle the
	 * best versions of what the job needs before the rest */
	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, 1);
	solver_set_flag(solv, SOLVER_FLAG_FOCUS_BEST, 1);
	queue_push2(&job, SOLVER_INSTALL | SOLVER_SOLVABLE, st.root);
	/* what the image has already is kept where it satisfies (pip's
	 * "Requirement already satisfied", no --upgrade) */
	for (size_t pi = 0; pi < u->np; pi++)
		for (size_t i = 0; st.base[pi] && i < u->p[pi].n; i++)
			if ((u->p[pi].c[i].flags & PYPI_CAND_INSTALLED) && st.base[pi][i])
				queue_push2(&job, SOLVER_FAVOR | SOLVER_SOLVABLE, st.base[pi][i]);
	if (solver_solve(solv, &job)) {
		r = explain(ctx, solv, &st);
		goto out;
	}
	solver_get_decisionqueue(solv, &dq);
	pick_of = xcalloc(u->np + 1, sizeof *pick_of);
	/* the base candidates first, then their extras */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < dq.count; i++) {
			Id p = dq.elements[i];
			const struct sinfo *si;
			struct pypi_pick *pk;

			if (p <= 0 || (size_t)p >= st.nsi || st.si[p].proj < 0)
				continue;
			si = &st.si[p];
			if ((pass == 0) != (si->x == 0))
				continue;
			if (pass == 1) {
				if (pick_of[si->proj])
					strv_add(&res.v[pick_of[si->proj] - 1].extras,
						 st.x[si->x - 1].extra);
				continue;
			}
			res.v = xrealloc(res.v, (res.n + 1) * sizeof *res.v);
			pk = &res.v[res.n++];
			memset(pk, 0, sizeof *pk);
			pk->name = xstrdup(u->p[si->proj].name);
			pk->version = xstrdup(u->p[si->proj].c[si->cand].version);
			pk->has_meta = u->p[si->proj].c[si->cand].has_meta;
			pick_of[si->proj] = res.n;
		}
	}
	if (res.n > 1)
		qsort(res.v, res.n, sizeof *res.v, cmp_pick);
	for (size_t i = 0; i < res.n; i++) {
		strv_sort(&res.v[i].extras);
		if (!res.v[i].has_meta) {
			res.unknown = xrealloc(res.unknown, (res.nunknown + 1) * sizeof *res.unknown);
			res.unknown[res.nunknown++] = i;
		}
	}
out:
	if (solv)
		solver_free(solv);
	state_free(&st);
	queue_free(&job);
	queue_free(&dq);
	free(topix);
	free(pick_of);
	if (r < 0)
		pypi_solution_free(&res);
	else
		*out = res;
	return r;
}
