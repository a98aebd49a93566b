#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/str.h"
#include "solver/deb.h"
#include "solver/plan.h"

static void layer_from_debs(struct lock_layer *l, const char *step, const struct deb_pkglist *d)
{
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

int plan_lock(struct pkgimg_ctx *ctx, struct store *st, const struct plan_opts *o,
	      struct lockfile *out)
{
	const char *base = o->base ? o->base : "debian-slim";
	struct deb_pkglist basepkgs = { 0 }, aptpkgs = { 0 };
	struct lockfile lf = { 0 };
	struct deb_pool *dp = NULL;
	int slim = !strcmp(base, "debian-slim"), r, nidx;
	const struct deb_index_meta *idx;

	if (!slim && strcmp(base, "scratch"))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "--base %s: [plan] unknown base; use debian-slim or scratch", base);
	if (!slim && o->napt == 0)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "[plan] nothing to install: --base scratch with no --apt package");
	r = deb_pool_open(ctx, st, o->sources, o->keyring, &dp);
	if (r < 0)
		return r;
	lf.version = LOCKFILE_VERSION;
	lf.platform = xasprintf("linux/%s", ctx->arch);
	lf.base = xstrdup(base);
	idx = deb_pool_indexes(dp, &nidx);
	lf.sources = xcalloc((size_t)nidx + 1, sizeof *lf.sources);
	for (int i = 0; i < nidx; i++) {
		struct lock_source *s = &lf.sources[lf.nsources++];
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
	lf.layers = xcalloc(3, sizeof *lf.layers);
	if (slim) {
		struct deb_request req = { .essential = 1 };

		r = deb_solve(ctx, dp, &req, &basepkgs);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "debian-slim");
			goto out;
		}
		layer_from_debs(&lf.layers[lf.nlayers++], "base: debian-slim", &basepkgs);
	}
	if (o->napt) {
		struct deb_request req = {
			.names = o->apt, .nnames = o->napt,
			.install_recommends = o->install_recommends,
			.below = slim ? &basepkgs : NULL,
		};
		char *step;

		r = deb_solve(ctx, dp, &req, &aptpkgs);
		if (r < 0)
			goto out;
		step = apt_step(o);
		layer_from_debs(&lf.layers[lf.nlayers++], step, &aptpkgs);
		free(step);
	}
out:
	deb_pkglist_free(&basepkgs);
	deb_pkglist_free(&aptpkgs);
	deb_pool_free(dp);
	if (r < 0)
		lockfile_free(&lf);
	else
		*out = lf;
	return r;
}
