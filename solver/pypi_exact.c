/* The PyPI layer of a lock from a pylock.toml or uv.lock (see
 * solver/pypi_exact.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pylock.h"
#include "pyspec/wheeltags.h"
#include "solver/pypi_exact.h"

struct exact {
	struct pkgimg_ctx *ctx;
	struct store *st;
	const struct pypi_request *rq;
	const struct pypi_target *t;
	struct pylock lk;
	char *dir;		/* the lock's directory (absolute) */
	struct pep508_env env;
	struct wheel_tags tags;
};

/* The URL of a file: its url, else file:// of its path (relative to the
 * lock's directory). */
static char *file_url(const struct exact *ex, const struct pylock_file *f)
{
	if (f->url)
		return xstrdup(f->url);
	if (f->path[0] == '/')
		return xasprintf("file://%s", f->path);
	return xasprintf("file://%s/%s", ex->dir, f->path);
}

/* The best wheel of p for the target (pip's tag priority, then the build
 * tag), or -1.  A wheel whose name or version is not the package's is an
 * error: the lock is not what it says. */
static int best_wheel(struct exact *ex, const struct pylock_pkg *p, long *best)
{
	struct wheel_name bw = { 0 };
	int brank = -1, r = 0;
	struct pep440_version pv;
	bool have_pv = p->version && pep440_parse(NULL, p->version, &pv) == 0;

	*best = -1;
	for (size_t i = 0; i < p->nwheels && r == 0; i++) {
		struct wheel_name w;
		struct pep440_version wv;
		int rank;

		if (!str_ends_with(p->wheels[i].name, ".whl"))
			continue;
		r = wheel_filename_parse(ex->ctx, p->wheels[i].name, &w);
		if (r < 0) {
			pkgimg_err_wrap(ex->ctx, r, "%s:%u: [lock] %s", ex->lk.what, p->line, p->name);
			break;
		}
		if (strcmp(w.name, p->name) || !have_pv || pep440_parse(NULL, w.version, &wv) < 0) {
			r = pkgimg_err(ex->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s %s lists the wheel "
				       "%s, which is another project or version", ex->lk.what,
				       p->line, p->name, p->version ? p->version : "",
				       p->wheels[i].name);
			wheel_name_free(&w);
			break;
		}
		if (pep440_cmp(&wv, &pv) != 0)
			r = pkgimg_err(ex->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s %s lists the "
				       "wheel %s of version %s", ex->lk.what, p->line, p->name,
				       p->version, p->wheels[i].name, w.version);
		pep440_version_free(&wv);
		rank = wheel_best_rank(&ex->tags, &w);
		if (r == 0 && rank >= 0 &&
		    (brank < 0 || rank < brank || (rank == brank && wheel_build_cmp(&w, &bw) > 0))) {
			wheel_name_free(&bw);
			bw = w;
			brank = rank;
			*best = (long)i;
		} else {
			wheel_name_free(&w);
		}
	}
	wheel_name_free(&bw);
	if (have_pv)
		pep440_version_free(&pv);
	return r;
}

/* "cp311-cp311-manylinux_2_36_x86_64, …, py3-none-any": the first tags
 * of the target and its last, for messages. */
static char *tags_text(const struct exact *ex)
{
	const struct strv *v = &ex->tags.tags;

	return xasprintf("%s, %s, ... %s", v->v[0], v->n > 1 ? v->v[1] : "", v->v[v->n - 1]);
}

/* Every file the lock offers for p, for messages. */
static char *files_text(const struct pylock_pkg *p)
{
	struct sbuf s = SBUF_INIT;

	for (size_t i = 0; i < p->nwheels; i++)
		sbuf_addf(&s, "%s%s", s.len ? ", " : "", p->wheels[i].name);
	if (p->sdist)
		sbuf_addf(&s, "%s%s", s.len ? ", " : "", p->sdist->name);
	if (p->src == PYLOCK_SRC_ARCHIVE)
		sbuf_addf(&s, "%s%s", s.len ? ", " : "", p->archive.name ? p->archive.name :
			  p->src_url);
	if (p->src == PYLOCK_SRC_VCS)
		sbuf_addf(&s, "%sgit %s@%s", s.len ? ", " : "", p->src_url, p->commit);
	if (p->src == PYLOCK_SRC_DIRECTORY)
		sbuf_addf(&s, "%sthe directory %s", s.len ? ", " : "", p->src_url);
	if (!s.len)
		sbuf_adds(&s, "no file");
	return sbuf_detach(&s);
}

static const char *requested_by(struct exact *ex, size_t i, const char *label)
{
	const struct pylock_pkg *p = &ex->lk.pkgs[i];

	if (p->requested_by)
		return p->requested_by;
	return pylock_is_root(&ex->lk, i) ? label : "dependency";
}

static int add_wheel(struct exact *ex, const struct pylock_pkg *p, const struct pylock_file *f,
		     const char *req_by, struct lock_pkg *out)
{
	if (!f->sha256)
		return pkgimg_err(ex->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s %s: the lock gives "
				  "no sha256 for %s; pkgimg installs only files pinned by their "
				  "sha256", ex->lk.what, p->line, p->name, p->version, f->name);
	out->ecosystem = xstrdup("pypi");
	out->name = xstrdup(p->name);
	out->version = xstrdup(p->version);
	out->arch = wheel_filename_tags(f->name);
	out->url = file_url(ex, f);
	out->sha256 = xstrdup(f->sha256);
	out->size = f->has_size ? f->size : 0;
	out->requested_by = xstrdup(req_by);
	out->filename = xstrdup(f->name);
	out->index = xstrdup(p->index ? p->index : path_base(ex->lk.what));
	return 0;
}

/* A package the lock has only as a source: built by rq->builder. */
static int add_built(struct exact *ex, const struct pylock_pkg *p, const char *req_by,
		     const struct lockfile *below, struct lock_pkg *out)
{
	struct pypi_src src = { 0 };
	struct pypi_built b = { 0 };
	char *url = NULL, *abs = NULL;
	const char *kind;
	int r;

	src.name = p->name;
	src.version = p->version;
	src.no_build_isolation = ex->rq->no_build_isolation;
	src.subdirectory = p->subdirectory;
	if (p->src == PYLOCK_SRC_VCS) {
		src.kind = PYPI_SRC_GIT;
		src.url = str_starts_with(p->src_url, "git+") ? p->src_url + 4 : p->src_url;
		src.rev = p->commit;
		kind = "git";
		url = xasprintf("git+%s", src.url);
	} else if (p->src == PYLOCK_SRC_DIRECTORY) {
		src.kind = PYPI_SRC_PATH;
		abs = p->src_url[0] == '/' ? xstrdup(p->src_url)
					   : xasprintf("%s/%s", ex->dir, p->src_url);
		src.url = abs;
		kind = "path";
		url = xasprintf("file://%s", abs);
	} else {
		const struct pylock_file *f = p->src == PYLOCK_SRC_ARCHIVE ? &p->archive : p->sdist;

		src.kind = p->src == PYLOCK_SRC_ARCHIVE ? PYPI_SRC_URL : PYPI_SRC_SDIST;
		url = file_url(ex, f);
		src.url = url;
		src.sha256 = f->sha256;
		kind = p->src == PYLOCK_SRC_ARCHIVE ? "url" : "sdist";
		if (!f->sha256)
			return pkgimg_err(ex->ctx, -PKGIMG_E_PARSE, "%s:%u: [lock] %s: the lock "
					  "gives no sha256 for %s; pkgimg builds only sources "
					  "pinned by their sha256", ex->lk.what, p->line, p->name,
					  f->name);
	}
	r = ex->rq->builder->build(ex->rq->builder->arg, ex->ctx, below, ex->t, ex->rq, &src, &b);
	if (r < 0) {
		pkgimg_err_wrap(ex->ctx, r, "%s: [lock] %s", ex->lk.what, p->name);
		goto out;
	}
	if (!b.wheel_filename || !b.wheel_sha256 || !b.name || !b.version) {
		r = pkgimg_err(ex->ctx, -PKGIMG_E_SOLVE, "%s: [lock] %s: the build gave no wheel",
			       ex->lk.what, p->name);
		goto out;
	}
	out->ecosystem = xstrdup("pypi");
	out->name = xstrdup(b.name);
	out->version = xstrdup(b.version);
	out->arch = wheel_filename_tags(b.wheel_filename);
	out->url = url;
	url = NULL;
	out->sha256 = b.src_sha256 ? xstrdup(b.src_sha256) : NULL;
	out->size = b.src_size;
	out->requested_by = xstrdup(req_by);
	out->filename = b.src_filename ? xstrdup(b.src_filename) : NULL;
	out->index = xstrdup(p->index ? p->index : path_base(ex->lk.what));
	out->source = xstrdup(kind);
	out->commit = b.commit ? xstrdup(b.commit) : NULL;
	out->subdirectory = p->subdirectory ? xstrdup(p->subdirectory) : NULL;
	out->direct = src.kind != PYPI_SRC_SDIST;
	out->wheel_filename = xstrdup(b.wheel_filename);
	out->wheel_sha256 = xstrdup(b.wheel_sha256);
	out->wheel_size = b.wheel_size;
	out->build_env = b.env;
	out->nbuild_env = b.nenv;
	b.env = NULL;
	b.nenv = 0;
	out->no_build_isolation = src.no_build_isolation;
out:
	pypi_built_free(&b);
	free(url);
	free(abs);
	return r;
}

/* The lock package of one selected entry. */
static int one_pkg(struct exact *ex, size_t i, const char *label, const struct lockfile *below,
		   struct lock_pkg *out)
{
	const struct pylock_pkg *p = &ex->lk.pkgs[i];
	const char *req_by = requested_by(ex, i, label);
	bool source = p->sdist || p->src == PYLOCK_SRC_ARCHIVE || p->src == PYLOCK_SRC_VCS ||
		      p->src == PYLOCK_SRC_DIRECTORY;
	char *files, *tags;
	long best;
	int r;

	r = best_wheel(ex, p, &best);
	if (r < 0)
		return r;
	if (best >= 0)
		return add_wheel(ex, p, &p->wheels[best], req_by, out);
	if (source && ex->rq->builder)
		return add_built(ex, p, req_by, below, out);
	files = files_text(p);
	tags = tags_text(ex);
	if (p->src == PYLOCK_SRC_DIRECTORY && ex->lk.format == PYLOCK_UV && p->editable &&
	    !strcmp(p->src_url, "."))
		r = pkgimg_err(ex->ctx, -PKGIMG_E_SOLVE, "%s:%u: [lock] %s %s is the lock's own "
			       "project (editable '.'): installing it means building it, and this "
			       "command builds no sources; to install its dependencies only, make "
			       "it virtual (tool.uv.package = false in pyproject.toml) and lock "
			       "again", ex->lk.what, p->line, p->name, p->version ? p->version : "");
	else if (source)
		r = pkgimg_err(ex->ctx, -PKGIMG_E_SOLVE, "%s:%u: [lock] %s %s has no wheel for "
			       "this image (tags %s) and is only a source to build (%s); this "
			       "command builds no sources: add a wheel of it to the lock", ex->lk.what,
			       p->line, p->name, p->version ? p->version : "", tags, files);
	else
		r = pkgimg_err(ex->ctx, -PKGIMG_E_SOLVE, "%s:%u: [lock] %s %s has no wheel for "
			       "this image (Python %s on %s, glibc %d.%d: tags %s); the lock "
			       "offers %s", ex->lk.what, p->line, p->name,
			       p->version ? p->version : "", ex->t->python, ex->t->machine,
			       ex->t->glibc_major, ex->t->glibc_minor, tags, files);
	free(files);
	free(tags);
	return r;
}

/* The size of every picked file the lock gives none for: that of its bytes
 * in the store, fetched now (verified against the sha256). */
static int learn_sizes(struct exact *ex, struct lock_layer *l)
{
	struct fetch_item *items = xcalloc((size_t)l->npkgs + 1, sizeof *items);
	struct lock_pkg **pk = xcalloc((size_t)l->npkgs + 1, sizeof *pk);
	int n = 0, r;

	for (int i = 0; i < l->npkgs; i++) {
		struct lock_pkg *p = &l->pkgs[i];

		if (p->size || p->source || !p->sha256)
			continue;
		pk[n] = p;
		items[n].url = p->url;
		items[n].sha256 = p->sha256;
		items[n].size = -1;
		items[n].label = p->filename;
		n++;
	}
	r = fetch_all(ex->ctx, ex->st, items, n);
	for (int i = 0; i < n && r == 0; i++) {
		char *path = store_blob_path(ex->st, items[i].sha256);
		struct stat sb;

		if (stat(path, &sb) < 0)
			r = pkgimg_err(ex->ctx, -errno, "%s: [lock] its size: %s: %m",
				       pk[i]->filename, path);
		else
			pk[i]->size = (uint64_t)sb.st_size;
		free(path);
	}
	if (r < 0)
		pkgimg_err_wrap(ex->ctx, r, "%s: [lock] the files whose size the lock does not give",
				ex->lk.what);
	free(items);
	free(pk);
	return r;
}

/* "pip: --pip-lock uv.lock --extra x --group dev", or the step pkgimg
 * wrote into its own pylock.toml (so the layer is the same). */
static char *step_text(const struct exact *ex)
{
	const struct pypi_request *rq = ex->rq;
	struct sbuf s = SBUF_INIT;

	if (ex->lk.step)
		return xstrdup(ex->lk.step);
	sbuf_addf(&s, "pip: --pip-lock %s", path_base(rq->pylock));
	for (size_t i = 0; i < rq->npylock_extras; i++)
		sbuf_addf(&s, " --extra %s", rq->pylock_extras[i]);
	for (size_t i = 0; i < rq->npylock_groups; i++)
		sbuf_addf(&s, " --group %s", rq->pylock_groups[i]);
	if (rq->pylock_no_default_groups)
		sbuf_adds(&s, " --no-default-groups");
	return sbuf_detach(&s);
}

static void add_sources(const struct lock_layer *l, struct lockfile *lf)
{
	for (int i = 0; i < l->npkgs; i++) {
		const char *url = l->pkgs[i].index;
		bool seen = !url || !strstr(url, "://");
		struct lock_source *s;

		for (int k = 0; k < lf->nsources && !seen; k++)
			seen = !strcmp(lf->sources[k].type, "pypi") && !strcmp(lf->sources[k].uri, url);
		if (seen)
			continue;
		lf->sources = xrealloc(lf->sources, (size_t)(lf->nsources + 1) * sizeof *lf->sources);
		s = &lf->sources[lf->nsources++];
		memset(s, 0, sizeof *s);
		s->type = xstrdup("pypi");
		s->uri = xstrdup(url);
	}
}

static int setup(struct exact *ex)
{
	struct wheel_target wt = { 0 };
	char *abs;
	int r;

	if (sscanf(ex->t->python, "%d.%d", &wt.py_major, &wt.py_minor) != 2)
		return pkgimg_err(ex->ctx, -PKGIMG_E_USAGE, "python %s: [lock] not a version",
				  ex->t->python);
	wt.arch = ex->t->machine;
	wt.glibc_major = ex->t->glibc_major;
	wt.glibc_minor = ex->t->glibc_minor;
	pep508_env_linux(&ex->env, ex->t->python, ex->t->machine, NULL, NULL);
	r = wheel_supported_tags(ex->ctx, &wt, &ex->tags);
	if (r < 0)
		return r;
	abs = path_abs(ex->rq->pylock);
	ex->dir = xstrndup(abs, (size_t)(path_base(abs) - abs));
	if (strlen(ex->dir) > 1)
		ex->dir[strlen(ex->dir) - 1] = '\0';	/* no trailing slash */
	free(abs);
	return pylock_read(ex->ctx, ex->rq->pylock, &ex->lk);
}

int pypi_exact_layer(struct pkgimg_ctx *ctx, struct store *st, const struct pypi_request *rq,
		     const struct pypi_target *t, struct lockfile *lf)
{
	struct exact ex = { .ctx = ctx, .st = st, .rq = rq, .t = t };
	struct pylock_want want = { rq->pylock_extras, rq->npylock_extras, rq->pylock_groups,
				    rq->npylock_groups, rq->pylock_no_default_groups };
	struct lock_layer *l;
	size_t *sel = NULL, nsel = 0;
	char *label = NULL;
	int r;

	pep508_env_init(&ex.env);
	if (rq->nreqs || rq->nreqfiles)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] a lock file is installed as it "
				  "is; it cannot be merged with other PyPI requirements (%s%s): "
				  "put those in a later step, or lock them into it", rq->pylock,
				  rq->nreqs ? rq->reqs[0] : "-r ",
				  rq->nreqs ? "" : rq->reqfiles[0]);
	r = setup(&ex);
	if (r == 0)
		r = pylock_select(ctx, &ex.lk, &ex.env, &want, &sel, &nsel);
	if (r < 0)
		goto out;
	label = xasprintf("--pip-lock %s", path_base(rq->pylock));
	lf->layers = xrealloc(lf->layers, (size_t)(lf->nlayers + 1) * sizeof *lf->layers);
	l = &lf->layers[lf->nlayers];
	memset(l, 0, sizeof *l);
	lf->nlayers++;		/* counted now, so lockfile_free() frees it on error */
	l->step = step_text(&ex);
	l->kind = LOCK_PIP;
	l->pkgs = xcalloc(nsel + 1, sizeof *l->pkgs);
	for (size_t i = 0; i < nsel && r == 0; i++) {
		if (ex.lk.pkgs[sel[i]].src == PYLOCK_SRC_VIRTUAL)
			continue;	/* a project that is not installed itself */
		r = one_pkg(&ex, sel[i], label, lf, &l->pkgs[l->npkgs]);
		l->npkgs++;	/* freed with the lock when half-filled */
	}
	if (r == 0 && l->npkgs == 0)
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] no package of the lock applies to "
			       "this image (Python %s on %s)", ex.lk.what, t->python, t->machine);
	if (r == 0)
		r = learn_sizes(&ex, l);
	if (r == 0) {
		add_sources(l, lf);
		free(lf->python);
		lf->python = xstrdup(t->python);
	}
out:
	free(label);
	free(sel);
	pylock_free(&ex.lk);
	free(ex.dir);
	wheel_tags_free(&ex.tags);
	pep508_env_free(&ex.env);
	return r;
}
