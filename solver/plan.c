/* From a request to a lockfile: which layers, which packages in each (see
 * solver/plan.h). */
#include <errno.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx.h"
#include "cache/store.h"
#include "core/str.h"
#include "solver/deb.h"
#include "solver/matchspec.h"
#include "pyspec/pep508.h"
#include "pyspec/pysrc.h"
#include "solver/plan.h"
#include "solver/pypi_plan.h"
#include "pyspec/reqfile.h"

static void layer_from_debs(struct lock_layer *l, enum lock_kind kind, const char *step,
			    const struct deb_pkglist *d)
{
	l->kind = kind;
	l->step = xstrdup(step);
	l->pkgs = xcalloc((size_t)d->n + 1, sizeof *l->pkgs);
	l->npkgs = d->n;
	for (int i = 0; i < d->n; i++) {
		struct lock_pkg *p = &l->pkgs[i];

		p->ecosystem = xstrdup("apt");
		p->name = xstrdup(d->v[i].name);
		p->version = xstrdup(d->v[i].version);
		p->arch = xstrdup(d->v[i].arch);
		p->url = xstrdup(d->v[i].url);
		p->sha256 = xstrdup(d->v[i].sha256);
		p->size = d->v[i].size;
		p->requested_by = xstrdup(d->v[i].requested_by);
	}
}

/* "apt: git python3" with the requests sorted and deduplicated, so the
 * order of --apt flags does not change the key. */
static char *apt_step(const struct plan_opts *o)
{
	struct strv names = { 0 };
	struct sbuf s = SBUF_INIT;

	for (int i = 0; i < o->napt; i++)
		strv_add(&names, o->apt[i]);
	strv_sort(&names);
	sbuf_adds(&s, "apt:");
	for (size_t i = 0; i < names.n; i++)
		if (i == 0 || strcmp(names.v[i], names.v[i - 1]))
			sbuf_addf(&s, " %s", names.v[i]);
	if (o->install_recommends)
		sbuf_adds(&s, " --install-recommends");
	strv_free(&names);
	return sbuf_detach(&s);
}

/* The interpreter package among the locked ones ("python3.11"; that of
 * version want, "3.11", when given), or NULL. */
static const struct deb_pkg *find_python(const struct deb_pkglist *a, const struct deb_pkglist *b,
					 const char *want)
{
	const struct deb_pkglist *l[2] = { a, b };

	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < l[k]->n; i++) {
			const char *n = l[k]->v[i].name;

			/* "python3.11": the interpreter package, "python" + X.Y */
			if (strncmp(n, "python3.", 8) || !n[8] ||
			    strspn(n + 8, "0123456789") != strlen(n + 8))
				continue;
			if (!want || !strcmp(n + 6, want))
				return &l[k]->v[i];
		}
	}
	return NULL;
}

/* The upstream part of a Debian version: "3.11.2-6+deb12u9" -> "3.11.2",
 * "1:2.36-9" -> "2.36", "3.12.0~rc1-1" -> "3.12.0rc1". */
static char *upstream_version(const char *v)
{
	const char *colon = strchr(v, ':'), *dash;
	struct sbuf s = SBUF_INIT;

	if (colon)
		v = colon + 1;
	dash = strrchr(v, '-');
	for (const char *p = v; *p && p != dash; p++)
		if (*p != '~' && *p != '+')
			sbuf_add(&s, p, 1);
		else if (*p == '+')
			break;
	return sbuf_detach(&s);
}

/* The version of the C library the apt layers lock ("2.36"), or NULL. */
static char *image_glibc(const struct deb_pkglist *base, const struct deb_pkglist *apt)
{
	const struct deb_pkglist *l[2] = { base, apt };

	for (int k = 0; k < 2; k++)
		for (int i = 0; i < l[k]->n; i++)
			if (!strcmp(l[k]->v[i].name, "libc6"))
				return upstream_version(l[k]->v[i].version);
	return NULL;
}

/* The machine as wheel tags and markers name it. */
static char *pip_machine(const char *arch)
{
	return xstrdup(!strcmp(arch, "amd64") ? "x86_64" : !strcmp(arch, "arm64") ? "aarch64"
		       : !strcmp(arch, "i386") ? "i686" : arch);
}

/* The PyPI layer's target: the interpreter and the C library the apt layers
 * lock (a wheel's tags and markers are those of the image, not the host). */
static int pip_target(struct pkgimg_ctx *ctx, const struct deb_pkglist *base,
		      const struct deb_pkglist *apt, const char *want, struct pypi_target *t)
{
	const struct deb_pkg *py = find_python(base, apt, want);
	char *glibc;

	if (!py)
		return pkgimg_err(ctx, -PKGIMG_E_SOLVE, "[lock] the image has no Python "
				  "interpreter for the PyPI packages; add --apt python3");
	t->python = upstream_version(py->version);
	t->interpreter = xasprintf("/usr/bin/%s", py->name);
	t->machine = pip_machine(ctx->arch);
	glibc = image_glibc(base, apt);
	if (!glibc || sscanf(glibc, "%d.%d", &t->glibc_major, &t->glibc_minor) != 2)
		t->glibc_major = t->glibc_minor = 0;
	free(glibc);
	return 0;
}

/* The apt packages of an image (every layer's lock section), for the
 * solver to keep as they are. */
static int image_debs(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      struct deb_pkglist *out)
{
	char **chain = NULL;
	int n = 0, r;

	r = store_layer_chain(ctx, st, key, &chain, &n);
	for (int i = 0; r == 0 && i < n; i++) {
		struct layer_meta m = { 0 };
		struct lock_layer l = { 0 };

		r = store_layer_read(ctx, st, chain[i], &m);
		/* run, add and python_source layers install no packages */
		if (r == 0 && m.lock && lockfile_is_layer_section(m.lock, strlen(m.lock)))
			r = lockfile_parse_layer(ctx, chain[i], m.lock, strlen(m.lock), &l);
		for (int k = 0; r == 0 && k < l.npkgs; k++) {
			const struct lock_pkg *p = &l.pkgs[k];
			struct deb_pkg *d;

			if (strcmp(p->ecosystem, "apt"))
				continue;
			out->v = xrealloc(out->v, (size_t)(out->n + 1) * sizeof *out->v);
			d = &out->v[out->n++];
			memset(d, 0, sizeof *d);
			d->name = xstrdup(p->name);
			d->version = xstrdup(p->version);
			d->arch = xstrdup(p->arch);
			d->url = xstrdup(p->url);
			snprintf(d->sha256, sizeof d->sha256, "%s", p->sha256);
			d->size = p->size;
			d->requested_by = xstrdup(p->requested_by);
		}
		lock_layer_free(&l);
		layer_meta_free(&m);
	}
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	return r;
}


/* The conda layer: __glibc is the image's; with --pip, conda's python is
 * added to the specs when none of them brings it (the interpreter pip
 * installs into). */
static int conda_layer(struct pkgimg_ctx *ctx, struct store *st, const struct plan_opts *o,
		       const struct deb_pkglist *base, const struct deb_pkglist *apt,
		       struct lockfile *lf, struct conda_lock_info *ci)
{
	struct conda_request rq = *o->conda;
	char *glibc = image_glibc(base, apt), *pyspec = NULL;
	const char **specs = NULL;
	int r, nlayers = lf->nlayers, nsources = lf->nsources;

	if (!rq.glibc)
		rq.glibc = glibc;
	r = conda_lock_layer(ctx, st, &rq, lf, ci);
	if (r == 0 && o->pip && !ci->python) {
		/* undo the layer and solve again with python */
		while (lf->nlayers > nlayers)
			lock_layer_free(&lf->layers[--lf->nlayers]);
		while (lf->nsources > nsources)
			lock_source_free(&lf->sources[--lf->nsources]);
		conda_lock_info_free(ci);
		pyspec = o->python ? xasprintf("python=%s", o->python) : xstrdup("python");
		specs = xcalloc(rq.nspecs + 2, sizeof *specs);
		memcpy(specs, rq.specs, rq.nspecs * sizeof *specs);
		specs[rq.nspecs++] = pyspec;
		rq.specs = specs;
		r = conda_lock_layer(ctx, st, &rq, lf, ci);
	}
	free(specs);
	free(pyspec);
	free(glibc);
	return r;
}

/* The PyPI layer's target when conda's python is in the image: that
 * interpreter, in the conda prefix; the image's C library (else the
 * host's, as __glibc). */
static int conda_pip_target(struct pkgimg_ctx *ctx, const struct deb_pkglist *base,
			    const struct deb_pkglist *apt, const struct conda_lock_info *ci,
			    const char *want, struct pypi_target *t)
{
	char *glibc = image_glibc(base, apt), *xy;
	const char *dot = strchr(ci->python, '.');

	xy = dot ? xstrndup(ci->python, (size_t)(dot - ci->python) + 1 + strcspn(dot + 1, "."))
		 : xstrdup(ci->python);
	if (want && strcmp(want, xy)) {
		free(glibc);
		free(xy);
		return pkgimg_err(ctx, -PKGIMG_E_SOLVE, "--python %s: [lock] the conda layer's "
				  "python is %s; ask conda for python=%s (or drop --python)",
				  want, ci->python, want);
	}
	t->python = xstrdup(ci->python);
	t->interpreter = xasprintf("%s/bin/python%s", ci->prefix, xy);
	t->machine = pip_machine(ctx->arch);
	if (sscanf(glibc ? glibc : gnu_get_libc_version(), "%d.%d", &t->glibc_major,
		   &t->glibc_minor) != 2)
		t->glibc_major = t->glibc_minor = 0;
	free(glibc);
	free(xy);
	return 0;
}

/* The lock's apt sources: every index read, with its InRelease digest. */
static void apt_lock_sources(struct deb_pool *dp, struct lockfile *lf)
{
	const struct deb_index_meta *idx;
	int nidx;

	idx = deb_pool_indexes(dp, &nidx);
	lf->sources = xcalloc((size_t)nidx + 1, sizeof *lf->sources);
	for (int i = 0; i < nidx; i++) {
		struct lock_source *s = &lf->sources[lf->nsources++];
		int nc = 0;

		s->type = xstrdup("apt");
		s->uri = xstrdup(idx[i].uri);
		s->suite = xstrdup(idx[i].suite);
		while (idx[i].components[nc])
			nc++;
		s->components = xcalloc((size_t)nc + 1, sizeof(char *));
		for (int c = 0; c < nc; c++)
			s->components[c] = xstrdup(idx[i].components[c]);
		s->inrelease_sha256 = xstrdup(idx[i].inrelease_sha256);
		s->date = xstrdup(idx[i].date);
	}
}

/* The apt layer: --apt packages, and Debian's python3 (or pythonX.Y) when
 * --pip has no interpreter in the image and no conda supplies one. */
static int apt_layer(struct pkgimg_ctx *ctx, const struct plan_opts *o, struct deb_pool *dp,
		     struct deb_pkglist *basepkgs, struct deb_pkglist *aptpkgs, struct lockfile *lf)
{
	int scratch = !strcmp(o->base ? o->base : "debian-slim", "scratch"), r = 0;
	struct plan_opts ao = *o;
	struct deb_request req = {
		.names = o->apt, .nnames = o->napt,
		.install_recommends = o->install_recommends,
		.below = !scratch ? basepkgs : NULL,
	};
	const char **names = NULL;
	char *step, *want = o->python ? xasprintf("python%s", o->python) : NULL;

	if (o->napt)
		r = deb_solve(ctx, dp, &req, aptpkgs);
	if (r == 0 && o->pip && !o->conda && !find_python(basepkgs, aptpkgs, o->python)) {
		/* --pip with no interpreter in the image: Debian's
		 * python3, or pythonX.Y when --python names another
		 * version than python3's */
		names = xcalloc((size_t)o->napt + 2, sizeof *names);
		memcpy(names, o->apt, (size_t)o->napt * sizeof *names);
		names[o->napt] = "python3";
		ao.apt = names;
		ao.napt = o->napt + 1;
		req.names = names;
		req.nnames = ao.napt;
		deb_pkglist_free(aptpkgs);
		r = deb_solve(ctx, dp, &req, aptpkgs);
		if (want && (r < 0 || !find_python(basepkgs, aptpkgs, o->python))) {
			names[o->napt] = want;
			deb_pkglist_free(aptpkgs);
			r = deb_solve(ctx, dp, &req, aptpkgs);
			if (r < 0)
				pkgimg_err_wrap(ctx, r, "--python %s: [lock] the apt sources have "
						"no %s, and pkgimg takes interpreters from Debian "
						"until conda supplies them; use the version the "
						"sources ship (that of python3)", o->python, want);
		}
	}
	if (r == 0 && ao.napt) {
		step = apt_step(&ao);
		layer_from_debs(&lf->layers[lf->nlayers++], LOCK_APT, step, aptpkgs);
		free(step);
	}
	free(names);
	free(want);
	return r;
}

static bool cuda_ok(const char *v)
{
	return strspn(v, "0123456789.") == strlen(v) && strchr(v, '.') && v[0] != '.';
}

/* A Debian package name ("NAME", "NAME:ARCH", either "=VERSION"), as
 * Policy 5.6.1 spells names: lowercase letters, digits, + - . */
static bool apt_arg_ok(const char *a)
{
	size_t n = strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789+-.");

	if (n < 2 || !ascii_isalnum(a[0]))
		return false;
	if (a[n] == ':') {
		size_t k = strspn(a + n + 1, "abcdefghijklmnopqrstuvwxyz0123456789-");

		if (!k)
			return false;
		n += 1 + k;
	}
	if (a[n] == '=')
		return a[n + 1] && !strpbrk(a + n + 1, " \t\n");
	return a[n] == 0;
}

static bool index_url_ok(const char *u)
{
	return !strncmp(u, "http://", 7) || !strncmp(u, "https://", 8) || !strncmp(u, "file:", 5);
}

/* Checks what the options say before any network work: a bad option is a
 * usage error, never a network error of the fetch it would come after. */
static int plan_check(struct pkgimg_ctx *ctx, const struct plan_opts *o)
{
	const struct pypi_request *pip = o->pip;
	int r = 0;

	if (o->python && (strlen(o->python) < 3 || strncmp(o->python, "3.", 2) ||
			  strspn(o->python + 2, "0123456789") != strlen(o->python + 2)))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--python %s: [lock] expected a CPython "
				  "3 version as X.Y, e.g. --python 3.11", o->python);
	for (int i = 0; i < o->napt; i++)
		if (!apt_arg_ok(o->apt[i]))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--apt %s: [lock] not a Debian "
					  "package name (lowercase letters, digits, + - .), with an "
					  "optional :ARCH and =VERSION; e.g. --apt curl=7.88.1-10",
					  o->apt[i]);
	if (o->keyring && access(o->keyring, R_OK) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--keyring %s: [lock] cannot read it: %m",
				  o->keyring);
	if (pip) {
		if (pip->cuda && !cuda_ok(pip->cuda))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--cuda %s: [lock] expected a CUDA "
					  "version as X.Y, e.g. --cuda 12.1", pip->cuda);
		if (pip->index_url && !index_url_ok(pip->index_url))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--index-url %s: [lock] expected an "
					  "http://, https:// or file: URL", pip->index_url);
		for (size_t i = 0; i < pip->nextra; i++)
			if (!index_url_ok(pip->extra_index_urls[i]))
				return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--extra-index-url %s: [lock] "
						  "expected an http://, https:// or file: URL",
						  pip->extra_index_urls[i]);
		for (size_t i = 0; i < pip->nreqs && r == 0; i++) {
			struct pep508_req req;

			/* a source (./mypkg, -e PATH, git+URL): read when locked */
			if (!strncmp(pip->reqs[i], "-e ", 3) || !strncmp(pip->reqs[i], "--editable", 10) ||
			    pysrc_is_unnamed(pip->reqs[i]))
				continue;
			r = pep508_req_parse(ctx, pip->reqs[i], &req);
			if (r < 0)
				return pkgimg_err_wrap(ctx, -PKGIMG_E_USAGE, "--pip %s: [lock]",
						       pip->reqs[i]);
			pep508_req_free(&req);
		}
		for (size_t i = 0; i < pip->nreqfiles && r == 0; i++) {
			struct reqfile rf;

			r = reqfile_parse_in(ctx, pip->reqfiles[i], pip->reqfile_root, &rf);
			if (r < 0)
				return pkgimg_err_wrap(ctx, r == -PKGIMG_E_PARSE || r == -ENOENT ||
						       r == -EACCES ? -PKGIMG_E_USAGE : r,
						       "-r %s: [lock]", pip->reqfiles[i]);
			reqfile_free(&rf);
		}
	}
	if (o->conda) {
		if (o->conda->cuda && (!ascii_isdigit(o->conda->cuda[0]) ||
				       strspn(o->conda->cuda, "0123456789.") != strlen(o->conda->cuda)))
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--cuda %s: [lock] expected a CUDA "
					  "version as X.Y, e.g. --cuda 12.1", o->conda->cuda);
		for (size_t i = 0; i < o->conda->nspecs; i++) {
			struct matchspec m;

			r = matchspec_parse(ctx, o->conda->specs[i], &m);
			if (r < 0)
				return pkgimg_err_wrap(ctx, -PKGIMG_E_USAGE, "--conda %s: [lock]",
						       o->conda->specs[i]);
			matchspec_free(&m);
		}
	}
	return 0;
}

int plan_lock(struct pkgimg_ctx *ctx, struct store *st, const struct plan_opts *o,
	      struct lockfile *out)
{
	const char *base = o->base ? o->base : "debian-slim";
	struct deb_pkglist basepkgs = { 0 }, aptpkgs = { 0 };
	struct lockfile lf = { 0 };
	struct deb_pool *dp = NULL;
	struct conda_lock_info ci = { 0 };
	int slim = !strcmp(base, "debian-slim"), scratch = !strcmp(base, "scratch"), r = 0;
	char key[STORE_KEY_MAX];

	if (!slim && !scratch && o->napt == 0 && !o->pip && !o->conda)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "[plan] nothing to install on --base %s: give --apt, --conda or "
				  "--pip packages", base);
	if (scratch && o->napt == 0 && !o->pip && !o->conda)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "[plan] nothing to install: --base scratch with no --apt, --conda "
				  "or --pip package");
	r = plan_check(ctx, o);	/* every option, before any index is fetched */
	if (r < 0)
		return r;
	lf.version = LOCKFILE_VERSION;
	lf.platform = xasprintf("linux/%s", ctx->arch);
	if (!slim && !scratch) {
		/* an image of the store: its apt packages are kept as they are */
		r = store_resolve(ctx, st, base, key);
		if (r == 0)
			r = image_debs(ctx, st, key, &basepkgs);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "--base %s: [plan] not debian-slim, scratch or an "
					"image of this store", base);
			goto out;
		}
		base = key;
	}
	lf.base = xstrdup(base);
	lf.layers = xcalloc(4, sizeof *lf.layers);
	/* a PyPI request on an image that has its Python, or a conda one with
	 * no debian-slim below it, needs no apt index */
	if (!slim && o->napt == 0 &&
	    (o->conda || (o->pip && find_python(&basepkgs, &aptpkgs, o->python))))
		goto conda;
	r = deb_pool_open(ctx, st, o->sources, o->keyring, &dp);
	if (r < 0)
		goto out;
	apt_lock_sources(dp, &lf);
	if (slim) {
		struct deb_request req = { .essential = 1 };

		r = deb_solve(ctx, dp, &req, &basepkgs);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "debian-slim");
			goto out;
		}
		layer_from_debs(&lf.layers[lf.nlayers++], LOCK_BASE, "base: debian-slim", &basepkgs);
	}
	if (o->napt || (o->pip && !o->conda)) {
		r = apt_layer(ctx, o, dp, &basepkgs, &aptpkgs, &lf);
		if (r < 0)
			goto out;
	}
conda:
	if (o->conda) {
		r = conda_layer(ctx, st, o, &basepkgs, &aptpkgs, &lf, &ci);
		if (r < 0)
			goto out;
	}
	if (o->pip) {
		struct pypi_target t = { 0 };

		if (ci.python)
			r = conda_pip_target(ctx, &basepkgs, &aptpkgs, &ci, o->python, &t);
		else
			r = pip_target(ctx, &basepkgs, &aptpkgs, o->python, &t);
		if (r == 0)
			r = pypi_lock_layer(ctx, st, o->pip, &t, &lf);
		if (r == 0 && ci.python)
			lf.python_prefix = xstrdup(ci.prefix);
		pypi_target_free(&t);
	}
out:
	conda_lock_info_free(&ci);
	deb_pkglist_free(&basepkgs);
	deb_pkglist_free(&aptpkgs);
	deb_pool_free(dp);
	if (r < 0)
		lockfile_free(&lf);
	else
		*out = lf;
	return r;
}

static char layer_eco(const struct lock_layer *l)
{
	return l->kind == LOCK_PIP ? 'p' : l->kind == LOCK_CONDA ? 'c' : 'a';
}

/* What step k locked before, per ecosystem: "name\tversion\tbuild" and the
 * step that locked it. */
struct plan_seen {
	struct strv pkgs, steps;
	struct strv ecos;
};

static const char *seen_version(const struct plan_seen *s, char eco, const char *name, size_t *idx)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < s->pkgs.n; i++)
		if (s->ecos.v[i][0] == eco && !strncmp(s->pkgs.v[i], name, n) &&
		    s->pkgs.v[i][n] == '\t') {
			*idx = i;
			return s->pkgs.v[i] + n + 1;
		}
	return NULL;
}

/* Moves the packages of l that seen does not hold yet into a new layer
 * `step` appended to out. */
static int take_new(struct pkgimg_ctx *ctx, struct lock_layer *l, char eco, const char *step,
		    const char *cause, struct plan_seen *seen, struct lockfile *out, bool always)
{
	struct lock_layer nl = { 0 };
	int r = 0;

	nl.pkgs = xcalloc((size_t)l->npkgs + 1, sizeof *nl.pkgs);
	for (int k = 0; k < l->npkgs; k++) {
		struct lock_pkg *p = &l->pkgs[k];
		char *ver = xasprintf("%s\t%s", p->version, p->build ? p->build : "");
		const char *had;
		size_t idx;

		had = seen_version(seen, eco, p->name, &idx);
		if (had && strcmp(had, ver)) {
			r = pkgimg_err(ctx, -PKGIMG_E_SOLVE, "%s: [lock] needs %s %s, but the earlier "
				       "step '%s' locked %.*s; a step cannot change what an earlier one "
				       "installed: put both requests in one step, or pin %s there",
				       cause, p->name, p->version, seen->steps.v[idx],
				       (int)strcspn(had, "\t"), had, p->name);
			free(ver);
			break;
		}
		if (!had) {
			strv_push(&seen->pkgs, xasprintf("%s\t%s", p->name, ver));
			strv_add(&seen->steps, cause);
			strv_push(&seen->ecos, xasprintf("%c", eco));
			nl.pkgs[nl.npkgs++] = *p;
			memset(p, 0, sizeof *p);
		}
		free(ver);
	}
	if (r == 0 && (nl.npkgs || always)) {
		nl.step = xstrdup(step);
		nl.kind = l->kind;
		nl.prefix = l->prefix ? xstrdup(l->prefix) : NULL;
		out->layers = xrealloc(out->layers, (size_t)(out->nlayers + 1) * sizeof *out->layers);
		out->layers[out->nlayers++] = nl;
	} else {
		lock_layer_free(&nl);
	}
	return r;
}

/* Moves a pip step's layer into out whole, as `step`: its solve left out
 * what the layers below install already. */
static void take_all(struct lock_layer *l, const char *step, struct lockfile *out)
{
	out->layers = xrealloc(out->layers, (size_t)(out->nlayers + 1) * sizeof *out->layers);
	out->layers[out->nlayers] = *l;
	memset(l, 0, sizeof *l);
	free(out->layers[out->nlayers].step);
	out->layers[out->nlayers++].step = xstrdup(step);
}

int plan_steps(struct pkgimg_ctx *ctx, struct store *st, const struct plan_step *steps, int n,
	       struct lockfile *out)
{
	struct lockfile lf = { 0 }, last = { 0 };
	struct plan_seen seen = { 0 };
	int r = 0;

	for (int k = 0; r == 0 && k < n; k++) {
		struct lockfile cur = { 0 };
		struct plan_opts o = steps[k].opts;
		struct pypi_request pip;

		if (o.pip && steps[k].eco == 'p') {
			/* pip run again: the earlier steps' packages are installed */
			pip = *o.pip;
			pip.below = lf.layers;
			pip.nbelow = lf.nlayers;
			o.pip = &pip;
		}
		r = plan_lock(ctx, st, &o, &cur);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "%s", steps[k].text);
			break;
		}
		/* the other ecosystems' additions first, then the step's own */
		for (int pass = 0; r == 0 && pass < 2; pass++)
			for (int i = 0; r == 0 && i < cur.nlayers; i++) {
				struct lock_layer *l = &cur.layers[i];
				char eco = layer_eco(l);
				bool own = eco == steps[k].eco && l->kind != LOCK_BASE;

				if ((pass == 1) != own)
					continue;
				if (own && l->kind == LOCK_PIP) {
					/* what it installs: the installed set was below */
					take_all(l, steps[k].text, &lf);
				} else if (own) {
					r = take_new(ctx, l, eco, steps[k].text, steps[k].text, &seen,
						     &lf, true);
				} else {
					/* the plan's text names the whole union; say
					 * which step needs what is new here */
					char *why = l->kind == LOCK_BASE ? xstrdup(l->step)
						: xasprintf("%s: needed by '%s'",
							    lock_kind_name(l->kind), steps[k].text);

					r = take_new(ctx, l, eco, why, steps[k].text, &seen, &lf, false);
					free(why);
				}
			}
		lockfile_free(&last);
		last = cur;
	}
	if (r == 0) {
		lf.version = last.version;
		lf.platform = last.platform, last.platform = NULL;
		lf.base = last.base, last.base = NULL;
		lf.python = last.python, last.python = NULL;
		lf.python_prefix = last.python_prefix, last.python_prefix = NULL;
		lf.cuda = last.cuda, last.cuda = NULL;
		lf.sources = last.sources, last.sources = NULL;
		lf.nsources = last.nsources, last.nsources = 0;
	}
	lockfile_free(&last);
	strv_free(&seen.pkgs);
	strv_free(&seen.steps);
	strv_free(&seen.ecos);
	if (r < 0) {
		lockfile_free(&lf);
		return r;
	}
	*out = lf;
	return 0;
}
