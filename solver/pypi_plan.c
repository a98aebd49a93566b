/* The PyPI layer of a lock: requests to exact wheels (see
 * solver/pypi_plan.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "pyspec/wheelfile.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "pyspec/pysrc.h"
#include "solver/pypi_client.h"
#include "solver/pypi_exact.h"
#include "solver/pypi_installed.h"
#include "solver/pypi_plan.h"
#include "solver/pypi_solve.h"
#include "pyspec/reqfile.h"
#include "pyspec/wheeltags.h"

void pypi_target_free(struct pypi_target *t)
{
	free(t->python);
	free(t->interpreter);
	free(t->machine);
	memset(t, 0, sizeof *t);
}

/* One top-level requirement or constraint, with where it was written. */
struct top_req {
	struct pep508_req req;
	char *origin;		/* "--pip torch==2.2.1", "-r requirements.txt:3" */
	struct strv hashes;	/* "sha256:<hex>" allowed for its files (-r --hash) */
	/* a requirement that names a source (issue 18): the only candidate
	 * of its project, its metadata from the builder */
	bool is_src;
	bool editable;		/* -e: installed as a regular install */
	struct pysrc src;
	struct pypi_built built;
	bool have_meta;
};

/* A looked-up project: per version added to the universe, the file pip
 * would install (NULL: no wheel for the target). */
struct proj {
	struct pypi_client *cl;		/* the client that looked it up */
	struct pypi_project_files files;
	struct pypi_file **byver;
	struct pypi_built **built;	/* per version: an sdist's build, or NULL */
	char **versions;		/* as added (pointers into files.page) */
	size_t nver;
	bool filtered;			/* a wheel for the target was there, but a
					 * --hash or a -c constraint took it out */
};

struct plan {
	struct pkgimg_ctx *ctx;
	struct store *st;
	const struct pypi_target *t;
	struct pep508_env env;
	struct wheel_tags tags;
	struct pypi_client client;
	struct pypi_client cuda;	/* --cuda: the CUDA index first, for the torch family */
	bool has_cuda;
	char *cuda_local;		/* "cu121": the local version label of the CUDA builds */
	struct pypi_universe u;
	struct top_req *top;		/* requirements, then constraints */
	size_t ntop, ncons;
	const struct pep508_req **active;	/* the requirements whose markers hold */
	size_t nactive;
	struct proj *p;
	size_t np;
	bool hash_mode;
	struct strv reqfile_names;	/* for the step text */
	struct pypi_installed inst;	/* what pip in the image would see installed */
	struct pymeta *learned;		/* the metadata of the picks, as learned */
	size_t nlearned;
	const struct pypi_request *rq;
	const struct lockfile *below;	/* the lock so far (what a build runs on) */
	struct strv no_binary, only_binary;	/* --no-binary / --only-binary values */
};

static void top_free(struct top_req *t)
{
	pep508_req_free(&t->req);
	free(t->origin);
	strv_free(&t->hashes);
	pysrc_free(&t->src);
	pypi_built_free(&t->built);
}

static struct top_req *top_new(struct plan *pl)
{
	pl->top = xrealloc(pl->top, (pl->ntop + pl->ncons + 1) * sizeof *pl->top);
	memset(&pl->top[pl->ntop + pl->ncons], 0, sizeof *pl->top);
	return &pl->top[pl->ntop + pl->ncons];
}

/* ---- requirements that name a source (issue 18) ---- */

/* What a build of a pysrc is asked as. */
static enum pypi_src_kind src_kind(enum pysrc_kind k)
{
	return k == PYSRC_DIR ? PYPI_SRC_PATH : k == PYSRC_GIT ? PYPI_SRC_GIT : PYPI_SRC_URL;
}

/* "name @ URL": the URL moves into t->src; the requirement keeps the name,
 * extras and marker. */
static int src_named(struct plan *pl, struct top_req *t)
{
	int r = pysrc_parse_url(pl->ctx, t->req.url, &t->src);

	if (r < 0)
		return pkgimg_err_wrap(pl->ctx, r, "%s", t->origin);
	t->is_src = true;
	free(t->req.url);
	t->req.url = NULL;
	return 0;
}

/* A path or URL without a name ("./mypkg", "file:///x/y.tar.gz",
 * "git+https://..."), or -e PATH: relative paths from the spec's build
 * context (and confined to it), else from the current directory, as pip. */
static int src_unnamed(struct plan *pl, struct top_req *t, const char *text, bool editable)
{
	const char *root = pl->rq->reqfile_root;
	char *path = NULL;
	int r = 0;

	if (editable)
		pkgimg_warn(pl->ctx, "%s: in an image, -e is a regular install: the project is "
			    "built to a wheel and copied in, not linked to %s", t->origin, text);
	t->is_src = true;
	t->editable = editable;
	if (root && !strstr(text, "://") && strncmp(text, "git+", 4)) {
		char *raw = xstrndup(text, strcspn(text, "#"));

		r = fs_path_within(pl->ctx, root, root, raw, "[lock] the source", "the paths a "
				   "spec names must be inside its build context: move the project "
				   "into it, or widen the context with --context DIR", &path);
		free(raw);
		if (r < 0)
			return pkgimg_err_wrap(pl->ctx, r, "%s", t->origin);
		if (strchr(text, '#')) {	/* #subdirectory= stays */
			char *full = xasprintf("%s%s", path, strchr(text, '#'));

			free(path);
			path = full;
		}
	}
	r = pysrc_parse_unnamed(pl->ctx, path ? path : text, root, &t->src);
	free(path);
	if (r < 0)
		return pkgimg_err_wrap(pl->ctx, r, "%s", t->origin);
	if (editable && t->src.kind == PYSRC_WHEEL)
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "%s: [lock] -e takes a project "
				  "directory or a VCS URL, not a wheel (as pip)", t->origin);
	return 0;
}

/* The sha256 a --hash of the requirement gives, or NULL. */
static const char *top_sha256(const struct top_req *t)
{
	for (size_t i = 0; i < t->hashes.n; i++)
		if (!strncmp(t->hashes.v[i], "sha256:", 7))
			return t->hashes.v[i] + 7;
	return NULL;
}

/* Calls the builder for a source: metadata only while resolving, the
 * wheel for a final pick. */
static int src_build(struct plan *pl, const char *origin, const struct pypi_src *s,
		     struct pypi_built *out)
{
	const struct pypi_builder *b = pl->rq->builder;
	int r;

	if (!b)
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "%s: [lock] %s must be built from "
				  "source, and this command builds none; lock it with `pkgimg "
				  "lock` or `pkgimg install`, which build it in the image", origin,
				  s->url);
	r = b->build(b->arg, pl->ctx, pl->below, pl->t, pl->rq, s, out);
	if (r < 0)
		return pkgimg_err_wrap(pl->ctx, r, "%s: [lock] building %s", origin, s->url);
	if (!out->name || !out->version || (!s->metadata_only && !out->wheel_sha256)) {
		bool named = out->name && out->version;

		pypi_built_free(out);
		return pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] the build of %s gave no "
				  "%s", origin, s->url, named ? "wheel" : "name and version");
	}
	return 0;
}

static void src_of_top(const struct plan *pl, const struct top_req *t, bool metadata_only,
		       struct pypi_src *s)
{
	memset(s, 0, sizeof *s);
	s->kind = src_kind(t->src.kind);
	s->name = t->req.norm;
	s->url = t->src.url;
	s->sha256 = t->src.sha256 ? t->src.sha256 : top_sha256(t);
	s->rev = t->src.rev;
	s->subdirectory = t->src.subdirectory;
	s->metadata_only = metadata_only;
	s->no_build_isolation = pl->rq->no_build_isolation;
}

/* A wheel by URL or path ("name @ https://…/x.whl", "./dist/x.whl"): into
 * the store's blobs (verified when a #sha256= or --hash gives its digest),
 * its tags checked for the target, its METADATA read; t->built describes it
 * (the wheel is its own "source"). */
static int wheel_meta(struct plan *pl, struct top_req *t)
{
	const char *want = t->src.sha256 ? t->src.sha256 : top_sha256(t);
	const char *base = strrchr(t->src.url, '/');
	char *fname = NULL, *dir = NULL, *dest = NULL, *blob = NULL, hex[65];
	struct fetch_item it = { .size = -1 };
	struct wheel_name wn = { 0 };
	struct sbuf data = SBUF_INIT;
	struct stat sb;
	int r;

	fname = base && base[1] ? pysrc_url_path(t->src.url) : NULL;
	if (fname && strrchr(fname, '/')) {
		char *b = xstrdup(strrchr(fname, '/') + 1);

		free(fname);
		fname = b;
	} else if (!fname) {
		fname = xstrndup(base ? base + 1 : t->src.url, strcspn(base ? base + 1 : t->src.url,
								       "?#"));
	}
	r = wheel_filename_parse(pl->ctx, fname, &wn);
	if (r < 0)
		goto out;
	if (wheel_best_rank(&pl->tags, &wn) < 0) {
		r = pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "%s: [lock] %s is not a supported wheel on "
			       "this image (Python %s on %s), as pip says", t->origin, fname,
			       pl->t->python, pl->t->machine);
		goto out;
	}
	it.url = t->src.url;
	it.label = fname;
	if (want) {
		it.sha256 = want;
		r = fetch_all(pl->ctx, pl->st, &it, 1);
		if (r < 0)
			goto out;
		snprintf(hex, sizeof hex, "%s", want);
	} else {
		/* no digest to check it by: fetched, then named by its own */
		r = store_mktemp_dir(pl->ctx, pl->st, "wheel-url", &dir);
		if (r < 0)
			goto out;
		dest = xasprintf("%s/%s", dir, fname);
		it.dest = dest;
		r = fetch_all(pl->ctx, pl->st, &it, 1);
		if (r == 0)
			r = hash_file_sha256(AT_FDCWD, dest, hex);
		if (r < 0) {
			pkgimg_err_wrap(pl->ctx, r, "%s: [lock] %s", t->origin, t->src.url);
			goto out;
		}
		blob = store_blob_path(pl->st, hex);
		if (!store_has_blob(pl->st, hex) && rename(dest, blob) < 0) {
			r = pkgimg_err(pl->ctx, -errno, "%s: [lock] %s: %m", t->origin, blob);
			goto out;
		}
	}
	free(blob);
	blob = store_blob_path(pl->st, hex);
	if (stat(blob, &sb) < 0) {
		r = pkgimg_err(pl->ctx, -errno, "%s: [lock] %s: %m", t->origin, blob);
		goto out;
	}
	r = wheel_read_metadata(pl->ctx, blob, fname, &data);
	if (r < 0)
		goto out;
	t->built.name = xstrdup(wn.name);
	t->built.version = xstrdup(wn.version);
	t->built.metadata = sbuf_detach(&data);
	t->built.src_sha256 = xstrdup(hex);
	t->built.src_size = (uint64_t)sb.st_size;
	t->built.src_filename = xstrdup(fname);
out:
	if (dir) {
		fs_rm_rf(NULL, AT_FDCWD, dir);
		free(dir);
	}
	if (r < 0)
		pkgimg_err_wrap(pl->ctx, r, "%s", t->origin);
	wheel_name_free(&wn);
	sbuf_free(&data);
	free(dest);
	free(blob);
	free(fname);
	return r;
}

/* A source's metadata, from the builder; the name of an unnamed one. */
static int src_meta(struct plan *pl, struct top_req *t)
{
	struct pypi_src s;
	char *norm;
	int r;

	if (t->have_meta)
		return 0;
	/* pip: hash-checking mode cannot check a directory or a repository */
	if (pl->hash_mode && (t->src.kind == PYSRC_DIR || t->src.kind == PYSRC_GIT))
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "%s: [lock] hash-checking mode (--hash "
				  "in a requirements file) cannot verify %s, as pip cannot: lock "
				  "an archive of it (name @ URL of an sdist) with its --hash, or "
				  "drop hash-checking mode", t->origin, t->src.kind == PYSRC_DIR
				  ? "a directory" : "a version control repository");
	if (pl->hash_mode && !t->src.sha256 && !top_sha256(t))
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "%s: [lock] hash-checking mode needs "
				  "a --hash=sha256:... for it (or #sha256= in its URL), as pip",
				  t->origin);
	if (t->src.kind == PYSRC_WHEEL) {
		r = wheel_meta(pl, t);
	} else {
		src_of_top(pl, t, true, &s);
		r = src_build(pl, t->origin, &s, &t->built);
	}
	if (r < 0)
		return r;
	norm = pep503_normalize(t->built.name);
	if (t->req.norm && strcmp(norm, t->req.norm)) {
		r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] %s is the project '%s', not "
			       "'%s' (pip: \"has inconsistent name\"); fix the name before '@'",
			       t->origin, t->src.url, t->built.name, t->req.name);
	} else if (!t->req.norm) {
		r = pep508_req_parse(pl->ctx, norm, &t->req);
	}
	free(norm);
	if (r == 0)
		t->have_meta = true;
	return r;
}

/* The source requirement of a project, or NULL. */
static const struct top_req *src_top(const struct plan *pl, const char *norm)
{
	for (size_t i = 0; i < pl->ntop; i++)
		if (pl->top[i].is_src && pl->top[i].have_meta && pl->top[i].req.norm &&
		    !strcmp(pl->top[i].req.norm, norm))
			return &pl->top[i];
	return NULL;
}

/* Every source requirement that applies joins the universe as the only
 * candidate of its project (pip's ExplicitRequirement), with the
 * dependencies its metadata gives; two different sources of one project
 * are refused, as pip refuses them. */
static int add_sources_to_universe(struct plan *pl)
{
	int r = 0;

	for (size_t i = 0; i < pl->ntop && r == 0; i++) {
		const struct top_req *t = &pl->top[i], *first;
		struct pymeta m;

		if (!t->is_src || !t->have_meta)
			continue;
		first = src_top(pl, t->req.norm);
		if (first != t) {
			if (strcmp(first->src.url, t->src.url) ||
			    strcmp(first->src.rev ? first->src.rev : "", t->src.rev ? t->src.rev : "") ||
			    strcmp(first->built.version, t->built.version))
				r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "[lock] cannot install %s "
					       "from two sources: %s (%s) and %s (%s); keep one",
					       t->req.norm, first->src.url, first->origin, t->src.url,
					       t->origin);
			continue;
		}
		r = pypi_universe_add(pl->ctx, &pl->u, t->req.norm, t->built.version,
				      PYPI_CAND_WHEEL, NULL);
		if (r == 0)
			r = pymeta_parse(pl->ctx, t->src.url, t->built.metadata ? t->built.metadata : "",
					 t->built.metadata ? strlen(t->built.metadata) : 0, &m);
		if (r == 0) {
			r = pypi_universe_set_meta(pl->ctx, &pl->u, &m, &pl->env);
			pymeta_free(&m);
		}
		if (r < 0)
			pkgimg_err_wrap(pl->ctx, r, "%s", t->origin);
	}
	return r;
}

/* After a failed solve: a project a source requirement names has that one
 * candidate, which pip explains as "The user requested X ... from URL". */
static void explain_sources(struct plan *pl, int r)
{
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < pl->ntop; i++) {
		const struct top_req *t = &pl->top[i];

		if (t->is_src && t->have_meta && src_top(pl, t->req.norm) == t &&
		    strstr(pl->ctx->errmsg, t->req.norm))
			sbuf_addf(&s, "\n  %s %s comes from %s (%s): a requirement by URL or path "
				  "is its project's only candidate, as in pip", t->req.norm,
				  t->built.version, t->src.url, t->origin);
	}
	if (s.len) {
		char *msg = xstrdup(pl->ctx->errmsg);

		pkgimg_err(pl->ctx, r, "%s%s", msg, s.buf);
		free(msg);
	}
	sbuf_free(&s);
}

/* pip's FormatControl: whether --no-binary / --only-binary (NAME,NAME,
 * :all:, :none:) name a project. */
static bool format_names(const struct strv *v, const char *norm)
{
	bool on = false;

	for (size_t i = 0; i < v->n; i++) {
		const char *p = v->v[i];

		while (*p) {
			size_t n = strcspn(p, ",");
			char *w = xstrndup(p, n), *wn;

			if (!strcmp(w, ":all:"))
				on = true;
			else if (!strcmp(w, ":none:"))
				on = false;
			else {
				wn = pep503_normalize(w);
				if (!strcmp(wn, norm))
					on = true;
				free(wn);
			}
			free(w);
			p += n + (p[n] == ',');
		}
	}
	return on;
}

/* --pip REQ and -r FILE into pl->top; index options of the files merged
 * into *co. */
static int gather(struct plan *pl, const struct pypi_request *rq, struct pypi_client_opts *co,
		  struct strv *extra, struct strv *links, bool *pre)
{
	struct reqfile *rfs = xcalloc(rq->nreqfiles + 1, sizeof *rfs);
	size_t nrf = 0;
	int r = 0;

	/* --index-url wins over a file's -i, as in pip; co owns its copy */
	co->index_url = rq->index_url ? xstrdup(rq->index_url) : NULL;

	for (size_t i = 0; i < rq->nreqs && r == 0; i++) {
		struct top_req *t = top_new(pl);
		const char *text = rq->reqs[i];
		bool ed = false;

		pl->ntop++;
		t->origin = xasprintf("--pip %s", rq->reqs[i]);
		/* "-e PATH" given to --pip, as in a requirements file */
		if (!strncmp(text, "-e ", 3) || !strncmp(text, "--editable ", 11) ||
		    !strncmp(text, "--editable=", 11)) {
			text += text[1] == 'e' ? 3 : 11;
			text += strspn(text, " ");
			ed = true;
		}
		if (ed || pysrc_is_unnamed(text)) {
			r = src_unnamed(pl, t, text, ed);
			continue;
		}
		r = pep508_req_parse(pl->ctx, text, &t->req);
		if (r < 0) {
			pkgimg_err_wrap(pl->ctx, r, "--pip %s: [lock]", rq->reqs[i]);
			break;
		}
		if (t->req.url)
			r = src_named(pl, t);
	}
	for (size_t i = 0; i < rq->nreqfiles && r == 0; i++) {
		struct reqfile *rf = &rfs[nrf];

		r = reqfile_parse_in(pl->ctx, rq->reqfiles[i], rq->reqfile_root, rf);
		if (r < 0)
			break;
		nrf++;
		strv_add(&pl->reqfile_names, rq->reqfiles[i]);
		if (rf->index_url && !co->index_url)
			co->index_url = xstrdup(rf->index_url);
		for (size_t k = 0; k < rf->extra_index_urls.n; k++)
			strv_add(extra, rf->extra_index_urls.v[k]);
		for (size_t k = 0; k < rf->find_links.n; k++)
			strv_add(links, rf->find_links.v[k]);
		co->no_index |= rf->no_index;
		*pre |= rf->pre;
		for (size_t k = 0; k < rf->no_binary.n; k++)
			strv_add(&pl->no_binary, rf->no_binary.v[k]);
		for (size_t k = 0; k < rf->only_binary.n; k++)
			strv_add(&pl->only_binary, rf->only_binary.v[k]);
		pl->hash_mode |= rf->require_hashes;
		for (size_t k = 0; k < rf->nreqs && r == 0; k++) {
			struct top_req *t = top_new(pl);

			t->req = rf->reqs[k].req;
			memset(&rf->reqs[k].req, 0, sizeof rf->reqs[k].req);
			t->origin = xasprintf("-r %s", rf->reqs[k].origin);
			t->hashes = rf->reqs[k].hashes;
			memset(&rf->reqs[k].hashes, 0, sizeof rf->reqs[k].hashes);
			pl->hash_mode |= t->hashes.n > 0;
			pl->ntop++;
			if (rf->reqs[k].source)
				r = src_unnamed(pl, t, rf->reqs[k].source, rf->reqs[k].editable);
			else if (t->req.url)
				r = src_named(pl, t);
		}
	}
	/* constraints after every requirement */
	for (size_t i = 0; i < nrf && r == 0; i++) {
		for (size_t k = 0; k < rfs[i].nconstraints; k++) {
			struct top_req *t = top_new(pl);

			t->req = rfs[i].constraints[k].req;
			memset(&rfs[i].constraints[k].req, 0, sizeof rfs[i].constraints[k].req);
			t->origin = xasprintf("-c %s", rfs[i].constraints[k].origin);
			t->hashes = rfs[i].constraints[k].hashes;
			memset(&rfs[i].constraints[k].hashes, 0, sizeof rfs[i].constraints[k].hashes);
			pl->ncons++;
		}
	}
	for (size_t i = 0; i < nrf; i++)
		reqfile_free(&rfs[i]);
	free(rfs);
	return r;
}

/* The requirements that apply to the target (markers evaluated for it).
 * Requirements by URL are refused: pkgimg resolves names on indexes. */
static int activate(struct plan *pl)
{
	pl->active = xcalloc(pl->ntop + 1, sizeof *pl->active);
	for (size_t i = 0; i < pl->ntop; i++) {
		struct top_req *t = &pl->top[i];
		int on = t->req.marker ? pep508_marker_eval(t->req.marker, &pl->env, "") : 1;

		if (on < 0)
			return pkgimg_err_wrap(pl->ctx, on, "%s: [lock]", t->origin);
		if (on && t->is_src) {
			/* its metadata names it and its dependencies */
			int r = src_meta(pl, t);

			if (r < 0)
				return r;
		}
		if (on)
			pl->active[pl->nactive++] = &t->req;
	}
	if (pl->nactive == 0)
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE,
				  "[lock] no PyPI requirement applies to the target (Python %s "
				  "on %s): every marker is false", pl->t->python, pl->t->machine);
	return 0;
}

/* The hashes allowed for a project in hash-checking mode (NULL: any). */
static const struct strv *allowed_hashes(const struct plan *pl, const char *norm)
{
	for (size_t i = 0; i < pl->ntop + pl->ncons; i++)
		if (pl->top[i].hashes.n && !strcmp(pl->top[i].req.norm, norm))
			return &pl->top[i].hashes;
	return NULL;
}

/* The requirement whose --hash options apply to a project. */
static const struct top_req *hash_req(const struct plan *pl, const char *norm)
{
	for (size_t i = 0; i < pl->ntop + pl->ncons; i++)
		if (pl->top[i].hashes.n && !strcmp(pl->top[i].req.norm, norm))
			return &pl->top[i];
	return NULL;
}

static bool hash_allowed(const struct strv *ok, const struct pypi_file *f)
{
	const char *hex = pypi_hashes_get(&f->hashes, "sha256");

	if (!ok)
		return true;
	for (size_t i = 0; hex && i < ok->n; i++)
		if (!strncmp(ok->v[i], "sha256:", 7) && !strcmp(ok->v[i] + 7, hex))
			return true;
	return false;
}

/* The constraint (-c) that excludes a version of its project, or NULL. */
static const struct top_req *constrained_out(const struct plan *pl, const char *norm,
					     const struct pep440_version *v)
{
	for (size_t i = pl->ntop; i < pl->ntop + pl->ncons; i++)
		if (!strcmp(pl->top[i].req.norm, norm) &&
		    !pep440_spec_contains(&pl->top[i].req.spec, v, true))
			return &pl->top[i];
	return NULL;
}

/* Why a version that has a wheel for the target is no candidate: a -c
 * constraint, or a --hash that none of its wheels has (expected, actual,
 * the file), as pip names them; NULL when neither. */
static char *filtered_why(const struct plan *pl, const char *norm, const struct pypi_file *first,
			  const struct pypi_file *hash_miss)
{
	const struct top_req *c = constrained_out(pl, norm, &first->ver);
	const struct top_req *h;
	const char *got;
	struct sbuf s = SBUF_INIT;

	if (c) {
		char *text = pep508_req_str(&c->req);

		sbuf_addf(&s, "excluded by the constraint %s (%s)", text, c->origin);
		free(text);
		return sbuf_detach(&s);
	}
	if (!hash_miss || !(h = hash_req(pl, norm)))
		return NULL;
	got = pypi_hashes_get(&hash_miss->hashes, "sha256");
	sbuf_addf(&s, "hash mismatch: %s has sha256:%s, but %s expects ", hash_miss->filename,
		  got ? got : "(none given by the index)", h->origin);
	for (size_t i = 0; i < h->hashes.n; i++)
		sbuf_addf(&s, "%s%s", i ? " or " : "", h->hashes.v[i]);
	return sbuf_detach(&s);
}

/* Is a better than b for one version, as pip ranks a release's files: a
 * supported tag of higher priority, then a higher build tag; a yanked file
 * only when nothing else is there. */
static bool better(const struct plan *pl, const struct pypi_file *a, const struct pypi_file *b)
{
	int ra, rb;

	if (!b)
		return true;
	if (a->yanked != b->yanked)
		return !a->yanked;
	ra = wheel_best_rank(&pl->tags, &a->wheel);
	rb = wheel_best_rank(&pl->tags, &b->wheel);
	if (ra != rb)
		return ra < rb;
	return wheel_build_cmp(&a->wheel, &b->wheel) > 0;
}

/* Whether Requires-Python of a file admits the target (an unparsable one
 * does not, as pip skips such files). */
static bool python_ok(const struct plan *pl, const struct pypi_file *f)
{
	struct pep440_specset set;
	bool ok;

	if (!f->requires_python || !*f->requires_python)
		return true;
	if (pep440_spec_parse(NULL, f->requires_python, &set) < 0)
		return false;
	ok = pep440_spec_contains(&set, &pl->u.python_ver, true);
	pep440_specset_free(&set);
	return ok;
}

/* With --cuda X.Y: a local version that names another CUDA build
 * ("2.2.1+cu118" when cu121 is asked for) is no candidate. */
static bool other_cuda_build(const struct plan *pl, const char *version)
{
	const char *plus = strchr(version, '+');

	if (!pl->has_cuda || !plus || ascii_lower(plus[1]) != 'c' || ascii_lower(plus[2]) != 'u' ||
	    !ascii_isdigit(plus[3]))
		return false;
	return strcasecmp(plus + 1, pl->cuda_local) != 0;
}

/* What pip in the image would see installed below this layer: the lock's
 * base image, its layers so far, a spec's earlier steps. */
static int read_installed(struct plan *pl, const struct pypi_request *rq,
			  const struct lockfile *lf)
{
	struct pypi_installed_from from = {
		.base = lf->base, .python = pl->t->python, .below = rq->below,
		.nbelow = rq->nbelow, .own = lf->layers, .nown = lf->nlayers,
	};

	return pypi_installed_read(pl->ctx, pl->st, &from, &pl->inst);
}

static void pymeta_free_all(struct pymeta *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pymeta_free(&v[i]);
	free(v);
}

/* The installed distribution of a project, or NULL. */
static const struct pymeta *installed(const struct plan *pl, const char *norm)
{
	return pypi_installed_find(&pl->inst, norm);
}

/* Whether a pick is what the image has already (nothing to install). */
static bool already_installed(const struct plan *pl, const char *norm, const char *version)
{
	const struct pymeta *m = installed(pl, norm);
	struct pep440_version v;
	bool same;

	if (!m || pep440_parse(NULL, version, &v) < 0)
		return false;
	same = pep440_cmp(&m->ver, &v) == 0;
	pep440_version_free(&v);
	return same;
}

/* The installed version of a looked-up project joins the universe as the
 * preferred candidate, its dependencies from its own metadata. */
static int add_installed(struct plan *pl, struct proj *pj)
{
	const struct pymeta *m = installed(pl, pj->files.name);
	bool have = false;
	int r;

	if (!m)
		return 0;
	for (size_t i = 0; i < pj->nver && !have; i++)
		have = already_installed(pl, pj->files.name, pj->versions[i]);
	if (!have) {
		r = pypi_universe_add(pl->ctx, &pl->u, pj->files.name, m->version, PYPI_CAND_WHEEL,
				      NULL);
		if (r < 0)
			return r;
	}
	r = pypi_universe_mark_installed(pl->ctx, &pl->u, pj->files.name, m->version);
	if (r == 0)
		r = pypi_universe_set_meta(pl->ctx, &pl->u, m, &pl->env);
	return r;
}

/* Adds one looked-up project to the universe: every version once, as a
 * candidate when a wheel of it fits the target. */
/* Files in PEP 440 order of their versions, page order within one. */
static int cmp_file_ver(const void *a, const void *b, void *arg)
{
	const struct pypi_page *pg = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = pep440_cmp(&pg->files[x].ver, &pg->files[y].ver);

	return c ? c : (x > y) - (x < y);
}

static int add_project(struct plan *pl, struct proj *pj)
{
	struct pypi_page *pg = &pj->files.page;
	const struct strv *ok = allowed_hashes(pl, pj->files.name);
	size_t *order = xcalloc(pg->nfiles + 1, sizeof *order);
	/* pip's rule: wheels and sdists are candidates, the best version wins
	 * and within a version a wheel is preferred; --only-binary takes the
	 * sdists out, --no-binary the wheels; a caller that cannot build
	 * considers wheels only */
	bool sdists = pl->rq->builder && !format_names(&pl->only_binary, pj->files.name);
	bool wheels = !format_names(&pl->no_binary, pj->files.name);
	int r = 0;

	pypi_universe_add_project(&pl->u, pj->files.name);
	/* a project may list thousands of files: group them by version
	 * after one sort, not by comparing every pair */
	for (size_t i = 0; i < pg->nfiles; i++)
		order[i] = i;
	qsort_r(order, pg->nfiles, sizeof *order, cmp_file_ver, pg);
	for (size_t i = 0, next; i < pg->nfiles && r == 0; i = next) {
		const struct pypi_file *first = &pg->files[order[i]];
		struct pypi_file *best = NULL, *rp_file = NULL, *hash_miss = NULL, *sd = NULL;
		bool all_yanked = true, sd_all_yanked = true;
		char *why = NULL;
		struct pep440_specset rp = { 0 };
		unsigned flags = 0;

		for (next = i; next < pg->nfiles && !pep440_cmp(&pg->files[order[next]].ver,
								 &first->ver); next++) {
			struct pypi_file *f = &pg->files[order[next]];

			if (f->kind == PYPI_FILE_SDIST && sdists && hash_allowed(ok, f) &&
			    python_ok(pl, f)) {
				/* the first one listed, an unyanked one first */
				if (!sd || (sd->yanked && !f->yanked))
					sd = f;
				sd_all_yanked &= f->yanked;
				continue;
			}
			if (f->kind != PYPI_FILE_WHEEL || !wheels ||
			    wheel_best_rank(&pl->tags, &f->wheel) < 0)
				continue;
			if (!hash_allowed(ok, f)) {
				if (!hash_miss || better(pl, f, hash_miss))
					hash_miss = f;
				continue;
			}
			if (!python_ok(pl, f)) {
				rp_file = f;
				continue;
			}
			if (!f->yanked)
				all_yanked = false;
			if (better(pl, f, best))
				best = f;
		}
		if (other_cuda_build(pl, first->version))
			continue;
		if (!best && sd) {
			best = sd;
			all_yanked = sd_all_yanked;
		}
		/* a version a constraint or a --hash takes out stays in the
		 * universe, excluded, so that a failure names the reason */
		if (best || hash_miss)
			why = filtered_why(pl, pj->files.name, first, best ? NULL : hash_miss);
		if (best)
			flags = PYPI_CAND_WHEEL | (all_yanked ? PYPI_CAND_YANKED : 0);
		else if (rp_file && pep440_spec_parse(NULL, rp_file->requires_python, &rp) == 0)
			flags = PYPI_CAND_WHEEL;	/* excluded by Requires-Python, said so */
		r = pypi_universe_add(pl->ctx, &pl->u, pj->files.name, first->version, flags,
				      rp.n ? &rp : NULL);
		pep440_specset_free(&rp);
		if (r == 0 && why) {
			r = pypi_universe_exclude(pl->ctx, &pl->u, pj->files.name, first->version, why);
			pj->filtered = true;
			best = NULL;
		}
		free(why);
		if (r < 0)
			break;
		pj->byver = xrealloc(pj->byver, (pj->nver + 1) * sizeof *pj->byver);
		pj->built = xrealloc(pj->built, (pj->nver + 1) * sizeof *pj->built);
		pj->built[pj->nver] = NULL;
		pj->versions = xrealloc(pj->versions, (pj->nver + 1) * sizeof *pj->versions);
		pj->byver[pj->nver] = best;
		pj->versions[pj->nver] = first->version;
		pj->nver++;
	}
	if (r == 0)
		r = add_installed(pl, pj);
	free(order);
	return r;
}

static struct proj *proj_find(struct plan *pl, const char *norm)
{
	for (size_t i = 0; i < pl->np; i++)
		if (!strcmp(pl->p[i].files.name, norm))
			return &pl->p[i];
	return NULL;
}

/* The wheel chosen for a pick (its version is the string it was added as). */
static struct pypi_file *pick_file(struct plan *pl, const char *norm, const char *version)
{
	struct proj *pj = proj_find(pl, norm);

	for (size_t i = 0; pj && i < pj->nver; i++)
		if (!strcmp(pj->versions[i], version))
			return pj->byver[i];
	return NULL;
}

/* The build of a pick's sdist (made on first use), or NULL. */
static struct pypi_built **pick_built(struct plan *pl, const char *norm, const char *version)
{
	struct proj *pj = proj_find(pl, norm);

	for (size_t i = 0; pj && i < pj->nver; i++)
		if (!strcmp(pj->versions[i], version))
			return &pj->built[i];
	return NULL;
}

/* Builds an index's sdist (metadata only, or the wheel): the built
 * project must be the one the index listed. */
static int sdist_build(struct plan *pl, const struct pypi_file *f, bool metadata_only,
		       struct pypi_built **slot)
{
	struct pypi_src s = {
		.kind = PYPI_SRC_SDIST, .name = f->name, .version = f->version, .url = f->url,
		.sha256 = pypi_hashes_get(&f->hashes, "sha256"), .metadata_only = metadata_only,
		.no_build_isolation = pl->rq->no_build_isolation,
	};
	struct pypi_built *b = xcalloc(1, sizeof *b);
	struct pep440_version v;
	char *origin = xasprintf("%s %s (%s)", f->name, f->version, f->filename);
	char *norm = NULL;
	int r = src_build(pl, origin, &s, b);

	if (r == 0) {
		norm = pep503_normalize(b->name);
		if (strcmp(norm, f->name) || pep440_parse(NULL, b->version, &v) < 0 ||
		    (pep440_cmp(&v, &f->ver) != 0 ? (pep440_version_free(&v), 1)
						   : (pep440_version_free(&v), 0)))
			r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] its metadata says %s %s; "
				       "the index lists it as %s %s (pip: \"has inconsistent "
				       "version\"): the sdist is broken", origin, b->name, b->version,
				       f->name, f->version);
	}
	free(norm);
	free(origin);
	if (r < 0) {
		pypi_built_free(b);
		free(b);
		return r;
	}
	if (*slot) {
		pypi_built_free(*slot);
		free(*slot);
	}
	*slot = b;
	return 0;
}

/* The projects whose CUDA builds live on the PyTorch-style CUDA index
 * (as uv's --torch-backend picks them): with --cuda it is asked first for
 * these, and only for these, so that no other name can be taken from it. */
static bool torch_family(const char *norm)
{
	static const char *const names[] = {
		"torch", "torchvision", "torchaudio", "torchtext", "torchdata", "torchrec",
		"torchao", "torchserve", "torchcsprng", "torchdistx", "torcharrow",
		"pytorch-triton", "fbgemm-gpu", "xformers",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(norm, names[i]))
			return true;
	return false;
}

static int lookup_with(struct plan *pl, struct pypi_client *cl, const struct strv *names)
{
	struct pypi_project_files *out = xcalloc(names->n + 1, sizeof *out);
	int r;

	if (names->n == 0) {
		free(out);
		return 0;
	}
	r = pypi_client_lookup(cl, (const char *const *)names->v, names->n, out);
	if (r < 0) {
		free(out);
		return r;
	}
	pl->p = xrealloc(pl->p, (pl->np + names->n) * sizeof *pl->p);
	for (size_t i = 0; i < names->n; i++) {
		struct proj *pj = &pl->p[pl->np++];

		memset(pj, 0, sizeof *pj);
		pj->cl = cl;
		pj->files = out[i];
		if (r == 0)
			r = add_project(pl, pj);
	}
	free(out);
	return r;
}

/* Looks up the projects the universe lacks: one client call (two with
 * --cuda: the torch family on the CUDA index's client). */
static int lookup(struct plan *pl, const struct strv *names)
{
	struct strv plain = { 0 }, torch = { 0 };
	int r;

	for (size_t i = 0; i < names->n; i++)
		strv_add(pl->has_cuda && torch_family(names->v[i]) ? &torch : &plain, names->v[i]);
	r = lookup_with(pl, &pl->client, &plain);
	if (r == 0)
		r = lookup_with(pl, &pl->cuda, &torch);
	strv_free(&plain);
	strv_free(&torch);
	return r;
}


/* Fetches and reads the metadata of the picks whose dependencies are not
 * known yet (one parallel batch). */
static int learn(struct plan *pl, const struct pypi_solution *sol)
{
	const struct pypi_file **files = xcalloc(sol->nunknown + 1, sizeof *files);
	struct pypi_meta *meta = xcalloc(sol->nunknown + 1, sizeof *meta);
	size_t n = 0;
	int r = 0;

	for (size_t i = 0; i < sol->nunknown; i++) {
		const struct pypi_pick *pk = &sol->v[sol->unknown[i]];
		struct pypi_built **slot;
		struct pymeta m;

		files[n] = pick_file(pl, pk->name, pk->version);
		if (!files[n]) {
			r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s %s: [lock] chosen, but no "
				       "wheel of it was seen", pk->name, pk->version);
			goto out;
		}
		if (files[n]->kind == PYPI_FILE_WHEEL || files[n]->has_metadata) {
			n++;
			continue;
		}
		/* an sdist without a PEP 658 file: the builder reads it */
		slot = pick_built(pl, pk->name, pk->version);
		r = sdist_build(pl, files[n], true, slot);
		if (r == 0)
			r = pymeta_parse(pl->ctx, files[n]->filename, (*slot)->metadata ?
					 (*slot)->metadata : "", (*slot)->metadata ?
					 strlen((*slot)->metadata) : 0, &m);
		if (r == 0) {
			r = pypi_universe_set_meta(pl->ctx, &pl->u, &m, &pl->env);
			pymeta_free(&m);
		}
		if (r < 0) {
			pkgimg_err_wrap(pl->ctx, r, "%s: [lock] metadata", files[n]->filename);
			goto out;
		}
	}
	r = pypi_client_metadata(&pl->client, files, n, meta);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < n && r == 0; i++) {
		struct sbuf data = SBUF_INIT;
		struct pymeta m;

		r = meta[i].from_wheel ? wheel_read_metadata(pl->ctx, meta[i].path,
								       files[i]->filename, &data)
				       : fs_read_file(pl->ctx, AT_FDCWD, meta[i].path, &data);
		if (r == 0)
			r = pymeta_parse(pl->ctx, files[i]->filename, data.buf ? data.buf : "",
					 data.len, &m);
		if (r == 0) {	/* kept for pip's check after the install */
			r = pypi_universe_set_meta(pl->ctx, &pl->u, &m, &pl->env);
			pl->learned = xrealloc(pl->learned, (pl->nlearned + 1) * sizeof *pl->learned);
			pl->learned[pl->nlearned++] = m;
		}
		if (r < 0)
			pkgimg_err_wrap(pl->ctx, r, "%s: [lock] metadata", files[i]->filename);
		sbuf_free(&data);
	}
	for (size_t i = 0; i < n; i++)
		pypi_meta_free(&meta[i]);
out:
	free(files);
	free(meta);
	return r;
}

/* After a failed solve, appended to the message: the projects no source
 * has, and those with files but no wheel for the target (sdist-only, or
 * wheels for other platforms), with the tags that were looked for. */
static void explain_missing(struct plan *pl, int r)
{
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < pl->np; i++) {
		struct proj *pj = &pl->p[i];
		size_t nw = 0, sd = 0;
		bool any = false;

		if (!pj->files.found) {
			sbuf_addf(&s, "\n  %s is on none of the indexes (", pj->files.name);
			for (size_t k = 0; k < pl->client.nsrc; k++)
				sbuf_addf(&s, "%s%s", k ? ", " : "", pl->client.src[k].url);
			sbuf_adds(&s, "); check the name, or add the index that has it "
				  "(--index-url, --extra-index-url, --find-links)");
			continue;
		}
		for (size_t k = 0; k < pj->nver; k++)
			any |= pj->byver[k] != NULL;
		if (any || pj->filtered || pj->files.page.nfiles == 0)
			continue;
		for (size_t k = 0; k < pj->files.page.nfiles; k++) {
			if (pj->files.page.files[k].kind == PYPI_FILE_WHEEL)
				nw++;
			else
				sd++;
		}
		sbuf_addf(&s, "\n  %s has no wheel for this image (%zu sdist%s, %zu wheel%s "
			  "for other targets); the wheels looked for are tagged %s, %s, ... "
			  "%s; %s", pj->files.name, sd,
			  sd == 1 ? "" : "s", nw, nw == 1 ? "" : "s", pl->tags.tags.v[0],
			  pl->tags.tags.n > 1 ? pl->tags.tags.v[1] : "",
			  pl->tags.tags.v[pl->tags.tags.n - 1],
			  !sd ? "build one and pass --find-links DIR"
			  : !pl->rq->builder ? "this command builds no sdists: lock with `pkgimg "
			  "lock` or `pkgimg install`, which build them"
			  : format_names(&pl->only_binary, pj->files.name)
			  ? "--only-binary takes its sdists out: drop it to build one"
			  : "no sdist of it fits (a --hash or Requires-Python takes them out)");
	}
	if (s.len) {
		char *msg = xstrdup(pl->ctx->errmsg);

		pkgimg_err(pl->ctx, r, "%s%s", msg, s.buf);
		free(msg);
	}
	sbuf_free(&s);
}

/* Which client source a file came from. */
static size_t source_of(struct plan *pl, const char *norm, const struct pypi_file *f)
{
	struct proj *pj = proj_find(pl, norm);

	return pj && pj->files.source ? pj->files.source[f - pj->files.page.files] : 0;
}

static struct pypi_client *client_of(struct plan *pl, const char *norm)
{
	struct proj *pj = proj_find(pl, norm);

	return pj && pj->cl ? pj->cl : &pl->client;
}

static const char *requested_by(const struct plan *pl, const char *norm)
{
	for (size_t i = 0; i < pl->ntop; i++)
		if (!strcmp(pl->top[i].req.norm, norm))
			return pl->top[i].origin;
	return "dependency";
}

/* "pip: numpy>=1.26 torch==2.2.1 -r requirements.txt" (sorted, so the order
 * of the flags does not change the key). */
static char *step_text(const struct plan *pl, const struct pypi_request *rq)
{
	struct strv v = { 0 };
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < rq->nreqs; i++)
		strv_add(&v, rq->reqs[i]);
	strv_sort(&v);
	sbuf_adds(&s, "pip:");
	for (size_t i = 0; i < v.n; i++)
		if (i == 0 || strcmp(v.v[i], v.v[i - 1]))
			sbuf_addf(&s, " %s", v.v[i]);
	for (size_t i = 0; i < pl->reqfile_names.n; i++)
		sbuf_addf(&s, " -r %s", pl->reqfile_names.v[i]);
	if (rq->pre)
		sbuf_adds(&s, " --pre");
	if (rq->cuda)
		sbuf_addf(&s, " --cuda %s", rq->cuda);
	strv_free(&v);
	return sbuf_detach(&s);
}

/* The size of every chosen wheel the index gave none for (an HTML page has
 * no PEP 700 size): that of its bytes in the store, downloaded now when the
 * metadata came from a .metadata file.  The install downloads the wheel
 * anyway, and the size is that of bytes whose sha256 matched, so the
 * lockfile is the same on every store; a HEAD's Content-Length would be a
 * server's word for it (and file:// and some indexes answer none). */
static int learn_sizes(struct plan *pl, const struct pypi_solution *sol)
{
	struct fetch_item *items = xcalloc(sol->n + 1, sizeof *items);
	struct pypi_file **files = xcalloc(sol->n + 1, sizeof *files);
	int n = 0, r = 0;

	for (size_t i = 0; i < sol->n; i++) {
		struct pypi_file *f = pick_file(pl, sol->v[i].name, sol->v[i].version);
		const char *sha = f ? pypi_hashes_get(&f->hashes, "sha256") : NULL;

		if (!f || f->kind != PYPI_FILE_WHEEL || f->has_size || !sha ||
		    already_installed(pl, sol->v[i].name, sol->v[i].version))
			continue;	/* to_layer says what is wrong with it */
		files[n] = f;
		items[n].url = f->url;
		items[n].sha256 = sha;
		items[n].size = -1;
		items[n].label = f->filename;
		n++;
	}
	r = fetch_all(pl->ctx, pl->st, items, n);
	for (int i = 0; i < n && r == 0; i++) {
		char *path = store_blob_path(pl->st, items[i].sha256);
		struct stat sb;

		if (stat(path, &sb) < 0)
			r = pkgimg_err(pl->ctx, -errno, "%s: [lock] its size: %s: %m",
				       files[i]->filename, path);
		else {
			files[i]->size = (uint64_t)sb.st_size;
			files[i]->has_size = true;
		}
		free(path);
	}
	if (r < 0)
		pkgimg_err_wrap(pl->ctx, r, "[lock] the wheels whose size the index does not give");
	free(items);
	free(files);
	return r;
}

/* The built wheel of a source into its lock package (the build moves in). */
static void built_to_pkg(const struct plan *pl, struct pypi_built *b, struct lock_pkg *p)
{
	free(p->arch);
	p->arch = wheel_filename_tags(b->wheel_filename);
	p->wheel_filename = b->wheel_filename;
	p->wheel_sha256 = b->wheel_sha256;
	p->wheel_size = b->wheel_size;
	p->build_env = b->env;
	p->nbuild_env = b->nenv;
	p->no_build_isolation = pl->rq->no_build_isolation;
	b->wheel_filename = b->wheel_sha256 = NULL;
	b->env = NULL;
	b->nenv = 0;
}

/* An index's sdist, chosen: built to its wheel (the lock records both). */
static int sdist_to_pkg(struct plan *pl, const struct pypi_file *f, struct pypi_built **slot,
			struct lock_pkg *p)
{
	int r = 0;

	if (!slot)
		return pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] chosen, but never seen",
				  f->filename);
	if (!*slot || !(*slot)->wheel_sha256)
		r = sdist_build(pl, f, false, slot);
	if (r < 0)
		return r;
	p->source = xstrdup("sdist");
	if (!f->has_size || !p->size)
		p->size = (*slot)->src_size;
	built_to_pkg(pl, *slot, p);
	return 0;
}

/* The chosen sources built to their wheels (metadata_only false), before
 * the layer joins the lock: a build installs the lock so far as the image
 * it builds in, which must not hold a half-made PyPI layer. */
static int build_picks(struct plan *pl, const struct pypi_solution *sol)
{
	int r = 0;

	for (size_t i = 0; i < sol->n && r == 0; i++) {
		const struct pypi_pick *pk = &sol->v[i];
		struct top_req *t = (struct top_req *)src_top(pl, pk->name);
		const struct pypi_file *f;

		if (t) {
			if (t->src.kind != PYSRC_WHEEL && !t->built.wheel_sha256) {
				struct pypi_built full = { 0 };
				struct pypi_src s;

				src_of_top(pl, t, false, &s);
				r = src_build(pl, t->origin, &s, &full);
				if (r == 0) {
					pypi_built_free(&t->built);
					t->built = full;
				}
			}
			continue;
		}
		if (already_installed(pl, pk->name, pk->version))
			continue;
		f = pick_file(pl, pk->name, pk->version);
		if (f && f->kind == PYPI_FILE_SDIST) {
			struct pypi_built **slot = pick_built(pl, pk->name, pk->version);

			if (slot && (!*slot || !(*slot)->wheel_sha256))
				r = sdist_build(pl, f, false, slot);
		}
	}
	return r;
}

/* The last part of a URL or path, without a ".git" ("repo.git" -> "repo"). */
static char *url_base(const char *url)
{
	size_t n = strlen(url);
	const char *b;

	while (n > 1 && url[n - 1] == '/')
		n--;
	b = url + n;
	while (b > url && b[-1] != '/')
		b--;
	if (n - (size_t)(b - url) > 4 && !strncmp(url + n - 4, ".git", 4))
		n -= 4;
	return xstrndup(b, n - (size_t)(b - url));
}

/* A wheel by URL or path, chosen: locked as a wheel of an index is, by the
 * URL asked for (a #sha256= it gave kept, as for archives), direct. */
static int wheel_to_pkg(struct plan *pl, struct top_req *t, struct lock_pkg *p)
{
	(void)pl;
	p->ecosystem = xstrdup("pypi");
	p->name = xstrdup(t->req.norm);
	p->version = xstrdup(t->built.version);
	p->arch = wheel_filename_tags(t->built.src_filename);
	p->url = t->src.sha256 ? xasprintf("%s#sha256=%s", t->src.direct_url, t->src.sha256)
			       : xstrdup(t->src.direct_url);
	p->sha256 = xstrdup(t->built.src_sha256);
	p->size = t->built.src_size;
	p->requested_by = xstrdup(t->origin);
	p->filename = xstrdup(t->built.src_filename);
	p->direct = true;
	return 0;
}

/* A source requirement, chosen: built to its wheel; the lock records where
 * it came from as pip records it (direct_url.json is made from this). */
static int src_to_pkg(struct plan *pl, struct top_req *t, struct lock_pkg *p)
{
	struct pypi_built *b = &t->built;
	struct pypi_src s;
	int r = 0;

	if (t->src.kind == PYSRC_WHEEL)
		return wheel_to_pkg(pl, t, p);
	if (!b->wheel_sha256) {
		struct pypi_built full = { 0 };

		src_of_top(pl, t, false, &s);
		r = src_build(pl, t->origin, &s, &full);
		if (r < 0)
			return r;
		pypi_built_free(b);
		*b = full;
	}
	p->ecosystem = xstrdup("pypi");
	p->name = xstrdup(t->req.norm);
	p->version = xstrdup(b->version);
	p->requested_by = xstrdup(t->origin);
	p->direct = true;
	p->source = xstrdup(pypi_src_kind_name(src_kind(t->src.kind)));
	p->subdirectory = t->src.subdirectory ? xstrdup(t->src.subdirectory) : NULL;
	switch (t->src.kind) {
	case PYSRC_GIT:
		p->url = t->src.rev ? xasprintf("git+%s@%s", t->src.url, t->src.rev)
				    : xasprintf("git+%s", t->src.url);
		p->sha256 = xstrdup("");
		p->commit = b->commit ? xstrdup(b->commit) : NULL;
		p->filename = url_base(t->src.url);
		if (!p->commit)
			r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] the build of %s gave no "
				       "commit id", t->origin, t->src.url);
		break;
	case PYSRC_DIR:
		p->url = pysrc_path_url(t->src.url);
		p->sha256 = xstrdup(b->src_sha256 ? b->src_sha256 : "");
		p->filename = url_base(t->src.url);
		break;
	case PYSRC_ARCHIVE:
	case PYSRC_WHEEL:
		/* a #sha256= written in the URL stays: pip records it in
		 * direct_url.json's archive_info */
		p->url = t->src.sha256 ? xasprintf("%s#sha256=%s", t->src.direct_url, t->src.sha256)
				       : xstrdup(t->src.direct_url);
		p->sha256 = xstrdup(b->src_sha256 ? b->src_sha256 : "");
		p->size = b->src_size;
		p->filename = b->src_filename ? xstrdup(b->src_filename) : url_base(t->src.url);
		break;
	}
	if (r == 0 && t->src.kind != PYSRC_GIT && !hex_is64(p->sha256))
		r = pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s: [lock] the build of %s gave no "
			       "sha256 of the source", t->origin, t->src.url);
	p->arch = xstrdup("");
	built_to_pkg(pl, b, p);
	if (r < 0)
		lock_pkg_free(p);
	return r;
}

static int to_layer(struct plan *pl, const struct pypi_request *rq,
		    const struct pypi_solution *sol, struct lockfile *lf)
{
	struct lock_layer *l;
	int r = 0;

	lf->layers = xrealloc(lf->layers, (size_t)(lf->nlayers + 1) * sizeof *lf->layers);
	l = &lf->layers[lf->nlayers];
	memset(l, 0, sizeof *l);
	lf->nlayers++;		/* counted now, so lockfile_free() frees it on error */
	l->step = step_text(pl, rq);
	l->kind = LOCK_PIP;
	l->pkgs = xcalloc(sol->n + 1, sizeof *l->pkgs);
	for (size_t i = 0; i < sol->n && r == 0; i++) {
		const struct pypi_pick *pk = &sol->v[i];
		const struct pypi_file *f = pick_file(pl, pk->name, pk->version);
		const char *sha = f ? pypi_hashes_get(&f->hashes, "sha256") : NULL;
		struct lock_pkg *p = &l->pkgs[l->npkgs];
		struct top_req *src = (struct top_req *)src_top(pl, pk->name);

		if (src) {
			r = src_to_pkg(pl, src, p);
			if (r == 0)
				l->npkgs++;
			continue;
		}
		if (already_installed(pl, pk->name, pk->version))
			continue;	/* pip: "Requirement already satisfied" */
		if (!f)
			return pkgimg_err(pl->ctx, -PKGIMG_E_SOLVE, "%s %s: [lock] chosen, but no "
					  "wheel of it was seen", pk->name, pk->version);
		if (!sha)
			return pkgimg_err(pl->ctx, -PKGIMG_E_PARSE,
					  "%s: [lock] the index gives no sha256 for it; pkgimg "
					  "locks every file by its hash (use an index that lists "
					  "hashes, or --find-links DIR)", f->url);
		if (pl->hash_mode && !allowed_hashes(pl, pk->name))
			return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE,
					  "%s %s: [lock] hash-checking mode (--hash in a "
					  "requirements file) needs a --hash for every package, "
					  "dependencies included; add \"%s==%s --hash=sha256:%s\"",
					  pk->name, pk->version, pk->name, pk->version, sha);
		p->ecosystem = xstrdup("pypi");
		p->name = xstrdup(pk->name);
		p->version = xstrdup(pk->version);
		p->arch = wheel_filename_tags(f->filename);
		p->url = xstrdup(f->url);
		p->sha256 = xstrdup(sha);
		p->size = f->has_size ? f->size : 0;
		p->requested_by = xstrdup(requested_by(pl, pk->name));
		p->filename = xstrdup(f->filename);
		p->index = xstrdup(client_of(pl, pk->name)->src[source_of(pl, pk->name, f)].url);
		l->npkgs++;
		if (f->kind == PYPI_FILE_SDIST)
			r = sdist_to_pkg(pl, f, pick_built(pl, pk->name, pk->version), p);
	}
	return r;
}

/* The metadata of a pick: the installed distribution's when it is that
 * (*have), else the one learned for it; NULL when not known. */
static const struct pymeta *pick_meta(const struct plan *pl, const struct pypi_pick *pk,
				      bool *have)
{
	const struct pymeta *m;
	struct pep440_version v;

	*have = already_installed(pl, pk->name, pk->version);
	m = *have ? installed(pl, pk->name) : NULL;
	if (m || pep440_parse(NULL, pk->version, &v) < 0)
		return m;
	for (size_t k = 0; !m && k < pl->nlearned; k++)
		if (!strcmp(pl->learned[k].norm, pk->name) && pep440_cmp(&pl->learned[k].ver, &v) == 0)
			m = &pl->learned[k];
	pep440_version_free(&v);
	return m;
}

/* pip's check after its install: the set after the layer is the installed
 * set with each pick in place of its project's distribution. */
static void warn_conflicts(struct plan *pl, const struct pypi_solution *sol)
{
	const struct pymeta **set = xcalloc(pl->inst.n + sol->n + 1, sizeof *set);
	bool *fresh = xcalloc(pl->inst.n + sol->n + 1, sizeof *fresh);
	size_t n = 0;

	for (size_t i = 0; i < sol->n; i++) {
		bool have;
		const struct pymeta *m = pick_meta(pl, &sol->v[i], &have);

		if (!m)
			continue;	/* its metadata is not known: not checked */
		fresh[n] = !have;
		set[n++] = m;
	}
	for (size_t i = 0; i < pl->inst.n; i++) {
		bool picked = false;

		for (size_t k = 0; k < sol->n && !picked; k++)
			picked = !strcmp(sol->v[k].name, pl->inst.v[i].norm);
		if (!picked)
			set[n++] = &pl->inst.v[i];
	}
	pypi_installed_warn_conflicts(pl->ctx, &pl->env, set, fresh, n);
	free(set);
	free(fresh);
}

/* The extras of one requirement that pip before 23.3 would take otherwise
 * (pymeta_extra_pip23_differs), warned about once each. */
static void warn_pip23_req(struct plan *pl, const struct pypi_solution *sol,
			   const struct pep508_req *rq, struct strv *said)
{
	const struct pymeta *m = NULL;
	bool have;

	for (size_t i = 0; i < sol->n && !m; i++)
		if (!strcmp(sol->v[i].name, rq->norm))
			m = pick_meta(pl, &sol->v[i], &have);
	for (size_t k = 0; m && rq->extras_raw && k < rq->nextras; k++) {
		char *why = rq->extras_raw[k] ? pymeta_extra_pip23_differs(m, rq->extras_raw[k])
					      : NULL;
		char *key = xasprintf("%s[%s]", rq->norm, rq->extras_raw[k] ? rq->extras_raw[k] : "");

		bool again = false;

		for (size_t j = 0; j < said->n && !again; j++)
			again = !strcmp(said->v[j], key);
		if (why && !again) {
			pkgimg_warn(pl->ctx, "%s[%s] %s: the extra is taken as PEP 685 compares "
				    "names (as pip >= 23.3 and uv do); %s", rq->name,
				    rq->extras_raw[k], m->version, why);
			strv_add(said, key);
		}
		free(key);
		free(why);
	}
}

/* Where pip 23.0 to 23.2 would install other packages because of how an
 * extra is spelled: the requests and the picks' requirements with extras. */
static void warn_pip23_extras(struct plan *pl, const struct pypi_solution *sol)
{
	struct strv said = { 0 };

	for (size_t i = 0; i < pl->nactive; i++)
		warn_pip23_req(pl, sol, pl->active[i], &said);
	for (size_t i = 0; i < sol->n; i++) {
		bool have;
		const struct pymeta *m = pick_meta(pl, &sol->v[i], &have);
		const struct pep508_req **deps = NULL;
		int nd;

		if (!m)
			continue;
		nd = pymeta_deps_for(m, &pl->env, (const char *const *)sol->v[i].extras.v, &deps);
		for (int k = 0; k < nd; k++)
			warn_pip23_req(pl, sol, deps[k], &said);
		free(deps);
	}
	strv_free(&said);
}

/* What pip says after its resolution and install, said as pip would. */
static void warn_as_pip(struct plan *pl, const struct pypi_solution *sol)
{
	warn_conflicts(pl, sol);
	warn_pip23_extras(pl, sol);
}

/* The indexes and find-links locations, as "pypi" sources (the CUDA index
 * first when there is one; each location once). */
static void add_sources(const struct plan *pl, struct lockfile *lf)
{
	const struct pypi_client *cls[2] = { pl->has_cuda ? &pl->cuda : NULL, &pl->client };

	for (int c = 0; c < 2; c++) {
		for (size_t i = 0; cls[c] && i < cls[c]->nsrc; i++) {
			const char *url = cls[c]->src[i].url;
			struct lock_source *s;
			bool seen = false;

			for (int k = 0; k < lf->nsources && !seen; k++)
				seen = !strcmp(lf->sources[k].type, "pypi") &&
				       !strcmp(lf->sources[k].uri, url);
			if (seen)
				continue;
			lf->sources = xrealloc(lf->sources, (size_t)(lf->nsources + 1) *
					       sizeof *lf->sources);
			s = &lf->sources[lf->nsources++];
			memset(s, 0, sizeof *s);
			s->type = xstrdup("pypi");
			s->uri = xstrdup(url);
		}
	}
}

static int parse_target(struct plan *pl)
{
	struct wheel_target wt = { 0 };

	if (sscanf(pl->t->python, "%d.%d", &wt.py_major, &wt.py_minor) != 2)
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "python %s: [lock] not a version",
				  pl->t->python);
	wt.arch = pl->t->machine;
	wt.glibc_major = pl->t->glibc_major;
	wt.glibc_minor = pl->t->glibc_minor;
	pep508_env_linux(&pl->env, pl->t->python, pl->t->machine, NULL, NULL);
	return wheel_supported_tags(pl->ctx, &wt, &pl->tags);
}

/* "12.1" -> "121" (the label of PyTorch's CUDA builds and indexes). */
static char *cuda_nodot(const char *v)
{
	struct sbuf s = SBUF_INIT;

	for (; *v; v++)
		if (*v != '.')
			sbuf_add(&s, v, 1);
	return sbuf_detach(&s);
}

/* The CUDA index URL: the template with {cuda} replaced ("121"). */
static char *cuda_index_url(const char *tmpl, const char *nodot)
{
	const char *at = strstr(tmpl, "{cuda}");

	if (!at)
		return xstrdup(tmpl);
	return xasprintf("%.*s%s%s", (int)(at - tmpl), tmpl, nodot, at + 6);
}

/* The client for the torch family: the CUDA index, then the same indexes
 * as every other project. */
static int cuda_client(struct plan *pl, const struct pypi_request *rq,
		       const struct pypi_client_opts *co)
{
	const char *tmpl = rq->cuda_index ? rq->cuda_index : getenv(PYPI_CUDA_INDEX_ENV);
	struct pypi_client_opts o = *co;
	const char **extra = xcalloc(co->nextra + 2, sizeof *extra);
	char *nodot, *url, *first;
	int r;

	if (strspn(rq->cuda, "0123456789.") != strlen(rq->cuda) || !strchr(rq->cuda, '.') ||
	    rq->cuda[0] == '.') {
		free(extra);
		return pkgimg_err(pl->ctx, -PKGIMG_E_USAGE, "--cuda %s: [lock] expected a CUDA "
				  "version as X.Y, e.g. --cuda 12.1", rq->cuda);
	}
	nodot = cuda_nodot(rq->cuda);
	url = cuda_index_url(tmpl && *tmpl ? tmpl : PYPI_CUDA_INDEX_DEFAULT, nodot);
	/* the indexes of the main client, in its order, after the CUDA one */
	first = xstrdup(pl->client.src[0].url);
	extra[0] = first;
	for (size_t i = 0; i < co->nextra; i++)
		extra[i + 1] = co->extra_index_urls[i];
	o.index_url = url;
	o.extra_index_urls = extra;
	o.nextra = co->no_index ? 0 : co->nextra + 1;
	o.no_index = false;
	r = pypi_client_init(pl->ctx, pl->st, &o, &pl->cuda);
	if (r == 0) {
		pl->has_cuda = true;
		pl->cuda_local = xasprintf("cu%s", nodot);
	}
	free(first);
	free(extra);
	free(url);
	free(nodot);
	return r;
}

int pypi_lock_layer(struct pkgimg_ctx *ctx, struct store *st, const struct pypi_request *rq,
		    const struct pypi_target *t, struct lockfile *lf)
{
	struct plan pl = { .ctx = ctx, .st = st, .t = t, .rq = rq, .below = lf };
	struct pypi_client_opts co = { 0 };
	struct strv extra = { 0 }, links = { 0 }, missing = { 0 };
	struct pypi_solution sol = { 0 };
	bool pre = rq->pre, client_up = false;
	int r;

	if (rq->pylock)		/* another tool's lock: installed as it is */
		return pypi_exact_layer(ctx, st, rq, t, lf);
	pep508_env_init(&pl.env);
	for (size_t i = 0; i < rq->nextra; i++)
		strv_add(&extra, rq->extra_index_urls[i]);
	for (size_t i = 0; i < rq->nfind; i++)
		strv_add(&links, rq->find_links[i]);
	co.no_index = rq->no_index;
	r = gather(&pl, rq, &co, &extra, &links, &pre);
	if (r == 0)
		r = parse_target(&pl);
	if (r == 0)
		r = activate(&pl);
	if (r < 0)
		goto out;
	co.extra_index_urls = (const char *const *)extra.v;
	co.nextra = extra.n;
	co.find_links = (const char *const *)links.v;
	co.nfind_links = links.n;
	co.strategy = rq->unsafe_best_match ? PYPI_UNSAFE_BEST_MATCH : PYPI_FIRST_INDEX;
	r = pypi_client_init(ctx, st, &co, &pl.client);
	if (r < 0)
		goto out;
	client_up = true;
	if (rq->cuda) {
		r = cuda_client(&pl, rq, &co);
		if (r < 0)
			goto out;
	}
	r = pypi_universe_init(ctx, &pl.u, t->python);
	if (r < 0)
		goto out;
	pl.u.pre = pre;
	r = read_installed(&pl, rq, lf);
	if (r == 0)
		r = add_sources_to_universe(&pl);
	if (r < 0)
		goto out;
	for (;;) {
		r = pypi_universe_missing(ctx, &pl.u, pl.active, pl.nactive, &missing);
		if (r < 0)
			break;
		if (missing.n) {
			r = lookup(&pl, &missing);
			if (r < 0)
				break;
			continue;
		}
		pypi_solution_free(&sol);
		r = pypi_solve(ctx, &pl.u, pl.active, pl.nactive, &sol);
		if (r < 0) {
			explain_missing(&pl, r);
			explain_sources(&pl, r);
			break;
		}
		if (sol.nunknown == 0)
			break;
		r = learn(&pl, &sol);
		if (r < 0)
			break;
	}
	if (r == 0) {
		pypi_solution_warn_extras(ctx, &pl.u, &sol);
		warn_as_pip(&pl, &sol);
		r = build_picks(&pl, &sol);
		if (r == 0)
			r = learn_sizes(&pl, &sol);
		if (r == 0)
			r = to_layer(&pl, rq, &sol, lf);
	}
	if (r == 0) {
		add_sources(&pl, lf);
		free(lf->python);
		lf->python = xstrdup(t->python);
		if (rq->cuda) {
			free(lf->cuda);
			lf->cuda = xstrdup(rq->cuda);
		}
	}
out:
	pypi_solution_free(&sol);
	strv_free(&missing);
	strv_free(&extra);
	strv_free(&links);
	strv_free(&pl.reqfile_names);
	strv_free(&pl.no_binary);
	strv_free(&pl.only_binary);
	for (size_t i = 0; i < pl.ntop + pl.ncons; i++)
		top_free(&pl.top[i]);
	free(pl.top);
	free(pl.active);
	for (size_t i = 0; i < pl.np; i++) {
		for (size_t k = 0; pl.p[i].built && k < pl.p[i].nver; k++) {
			if (pl.p[i].built[k])
				pypi_built_free(pl.p[i].built[k]);
			free(pl.p[i].built[k]);
		}
		free(pl.p[i].built);
		pypi_project_files_free(&pl.p[i].files);
		free(pl.p[i].byver);
		free(pl.p[i].versions);
	}
	free(pl.p);
	pypi_installed_free(&pl.inst);
	pymeta_free_all(pl.learned, pl.nlearned);
	if (pl.u.names)
		pypi_universe_free(&pl.u);
	if (client_up)
		pypi_client_free(&pl.client);
	if (pl.has_cuda)
		pypi_client_free(&pl.cuda);
	free(pl.cuda_local);
	wheel_tags_free(&pl.tags);
	pep508_env_free(&pl.env);
	free((char *)co.index_url);
	return r;
}
