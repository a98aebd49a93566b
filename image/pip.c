/* The PyPI layer kind (see image/layers.h): the locked wheels installed
 * into the image's site-packages as pip installs them, compiled, and what
 * they replace in the image below whited out. */
#include <stdlib.h>
#include <string.h>

#include "cache/layer.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/lockfile.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "image/install.h"
#include "image/layers.h"
#include "image/pybuild.h"
#include "installers/wheel.h"
#include "pyc/pyc.h"
#include "pyspec/pysrc.h"
#include "solver/pypi_plan.h"

/* A top-level requirement (pip writes REQUESTED for those). */
static bool pip_requested(const struct lock_pkg *p)
{
	return p->requested_by && (!strncmp(p->requested_by, "--pip", 5) ||
				   !strncmp(p->requested_by, "-r ", 3));
}

/* ---- packages built from source (issue 18) ---- */

static enum pypi_src_kind pip_src_kind(const char *s)
{
	return !strcmp(s, "url") ? PYPI_SRC_URL : !strcmp(s, "path") ? PYPI_SRC_PATH
		: !strcmp(s, "git") ? PYPI_SRC_GIT : PYPI_SRC_SDIST;
}

/* The machine as wheel tags name it, from the host's Debian arch. */
static const char *pip_machine(const char *arch)
{
	return !arch || !strcmp(arch, "amd64") ? "x86_64" : !strcmp(arch, "arm64") ? "aarch64"
		: !strcmp(arch, "i386") ? "i686" : arch;
}

/* The wheel of a package built from source: the store's blob when it is
 * there, else built again from the locked source (git at its commit) in
 * the locked build environment, over the image below; the bytes must be
 * the lock's. */
static int pip_source_wheel(const struct layer_build *b, const struct lock_pkg *p,
			    const char *interp)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char *blob = store_blob_path(b->st, p->wheel_sha256), *url = NULL;
	struct pypi_target t = { .python = b->lf->python, .interpreter = (char *)interp,
				 .machine = (char *)pip_machine(ctx->arch) };
	struct pybuild_target tgt = { .t = &t, .python_prefix = b->lf->python_prefix };
	struct pypi_src src = {
		.kind = pip_src_kind(p->source), .name = p->name, .version = p->version,
		.sha256 = p->sha256 && *p->sha256 ? p->sha256 : NULL, .rev = p->commit,
		.subdirectory = p->subdirectory, .no_build_isolation = p->no_build_isolation,
		.env = p->build_env, .nenv = p->nbuild_env, .wheel_sha256 = p->wheel_sha256,
	};
	struct pypi_built out = { 0 };
	struct pysrc ps = { 0 };
	int r = 0;

	if (fs_exists(blob))
		goto out;
	switch (src.kind) {
	case PYPI_SRC_PATH:
		url = pysrc_url_path(p->url);
		break;
	case PYPI_SRC_GIT:
		r = pysrc_parse_url(ctx, p->url, &ps);
		url = r == 0 ? xstrdup(ps.url) : NULL;
		break;
	case PYPI_SRC_SDIST:
	case PYPI_SRC_URL:
		url = xstrndup(p->url, strcspn(p->url, "#"));
		break;
	}
	if (!url) {
		r = pkgimg_err(ctx, r < 0 ? r : -PKGIMG_E_PARSE, "%s %s: [install] its source URL "
			       "'%s' cannot be read; regenerate the lockfile with `pkgimg lock`",
			       p->name, p->version, p->url);
		goto out;
	}
	src.url = url;
	pkgimg_info(ctx, "%s %s: [install] its wheel %s is not in the store: building it from %s",
		    p->name, p->version, p->wheel_filename, p->url);
	r = image_pybuild(ctx, b->st, b->parent, &tgt, NULL, &src, &out);
	if (r == 0 && strcmp(out.wheel_sha256, p->wheel_sha256))
		r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s %s: [install] the rebuilt wheel differs "
			       "from the lock's: sha256 %s, the lock records %s", p->name,
			       p->version, out.wheel_sha256, p->wheel_sha256);
	else if (r == -PKGIMG_E_CHECKSUM)
		pkgimg_err_wrap(ctx, r, "%s %s: [install] the rebuilt wheel differs from the "
				"lock's (sha256 %s)", p->name, p->version, p->wheel_sha256);
	else if (r < 0)
		pkgimg_err_wrap(ctx, r, "%s %s: [install] rebuilding its wheel from %s", p->name,
				p->version, p->url);
out:
	pypi_built_free(&out);
	pysrc_free(&ps);
	free(url);
	free(blob);
	return r;
}

/* PEP 610 direct_url.json of a package requested by URL or path, as pip
 * writes it; NULL for any other (an index's sdist gets none, as in pip). */
static int pip_direct_url(struct pkgimg_ctx *ctx, const struct lock_pkg *p, char **out)
{
	struct pysrc ps = { 0 };
	const char *frag;
	char *url;
	int r = 0;

	*out = NULL;
	if (!p->direct)
		return 0;
	if (p->source && !strcmp(p->source, "git")) {
		r = pysrc_parse_url(ctx, p->url, &ps);
		if (r == 0)
			*out = pysrc_direct_url_json(PYSRC_GIT, ps.url, NULL, p->commit, ps.rev,
						     p->subdirectory);
		pysrc_free(&ps);
		return r;
	}
	if (p->source && !strcmp(p->source, "path")) {
		*out = pysrc_direct_url_json(PYSRC_DIR, p->url, NULL, NULL, NULL, p->subdirectory);
		return 0;
	}
	/* an archive: a #sha256= the requirement gave is pip's archive_info hash */
	frag = strstr(p->url, "#sha256=");
	url = xstrndup(p->url, strcspn(p->url, "#"));
	*out = pysrc_direct_url_json(PYSRC_ARCHIVE, url, frag ? frag + 8 : NULL, NULL, NULL,
				     p->subdirectory);
	free(url);
	return 0;
}

/* wheel_replace_below for each wheel installed, over the parent's trees. */
static int replace_below(const struct layer_build *b, int rootfd, const char *site,
			 const struct wheel_installed *ws, int nws)
{
	char **chain = b->chain;
	int nchain = b->nchain;
	char **below = xcalloc((size_t)nchain + 1, sizeof *below);
	int r = 0;

	for (int k = 0; k < nchain; k++)
		below[k] = store_layer_tree(b->st, chain[k]);
	for (int i = 0; i < nws && r == 0 && nchain; i++)
		r = wheel_replace_below(b->ctx, rootfd, below, nchain, site, &ws[i], NULL);
	for (int k = 0; k < nchain; k++)
		free(below[k]);
	free(below);
	return r;
}

/* The .py files of purelib and platlib of the wheels installed (ws[0..nws),
 * under site), compiled with interp as pip compiles them, the .pyc files
 * added to each wheel's RECORD. */
static int pip_layer_pyc(const struct layer_build *b, int rootfd, const char *site,
			 const char *interp, struct wheel_installed *ws, int nws)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const struct lock_layer *l = b->l;
	char **labels = xcalloc((size_t)nws + 1, sizeof *labels);
	struct pyc_src *srcs = NULL;
	struct pyc_result pr = { 0 };
	size_t nsrcs = 0, capsrcs = 0;
	int64_t t0 = pkgimg_now_ms();
	int r;

	for (int i = 0; i < nws; i++) {
		labels[i] = xasprintf("%s %s", l->pkgs[i].name, l->pkgs[i].version);
		for (size_t k = 0; k < ws[i].nfiles; k++) {
			const char *f = ws[i].files[k].path;
			size_t len = strlen(f);

			if (len > 3 && !strcmp(f + len - 3, ".py") && strncmp(f, "../", 3))
				image_pyc_src_add(&srcs, &nsrcs, &capsrcs,
						  xasprintf("/%s/%s", site, f), i);
		}
	}
	r = image_layer_pyc(b, rootfd, interp, srcs, &nsrcs, &pr);
	if (r < 0)
		goto out;
	image_pyc_report(ctx, b->res, &pr, srcs, labels, nws);
	for (int i = 0; i < nws && pr.npycs; i++) {
		struct strv add = { 0 };

		for (size_t k = 0; k < pr.n; k++)
			for (int m = 0; srcs[k].owner == i && m < pr.items[k].npycs; m++)
				strv_add(&add, pr.items[k].pycs[m]);
		if (add.n)
			r = wheel_record_add(ctx, rootfd, &ws[i], (const char *const *)add.v, add.n);
		strv_free(&add);
		if (r < 0)
			goto out;
	}
	pkgimg_info(ctx, "pyc: %zu files compiled, %zu did not, in %lld ms", pr.ncompiled,
		    pr.nfailed, (long long)(pkgimg_now_ms() - t0));
out:
	pyc_result_free(&pr);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i].path);
	free(srcs);
	for (int i = 0; i < nws; i++)
		free(labels[i]);
	free(labels);
	return r;
}

/* A PyPI layer: the locked wheels, fetched and verified, installed into the
 * site-packages of Debian's interpreter (pip's posix_local scheme, as `pip
 * install` run as root writes them). */
int image_build_pip(const struct layer_build *b)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct store *st = b->st;
	const struct lockfile *lf = b->lf;
	const struct lock_layer *l = b->l;
	struct install_result *res = b->res;
	const char *step = b->step;
	char *xy = NULL, *site = NULL, *inc = NULL;
	char *interp = NULL, *scripts = NULL, *data = NULL;
	struct wheel_installed *ws = xcalloc((size_t)l->npkgs + 1, sizeof *ws);
	size_t failed0 = res->npyc_failed;
	int r, rootfd = b->txn->rootfd, nws = 0;
	int64_t t0 = pkgimg_now_ms(), t;

	if (!lf->python) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [install] the lockfile names no python "
			       "version for its PyPI layer; regenerate it with `pkgimg lock`", step);
		goto out;
	}
	xy = image_python_xy(lf->python);
	if (lf->python_prefix) {
		/* conda's python: its prefix's own scheme (posix_prefix) */
		const char *pre = lf->python_prefix + (lf->python_prefix[0] == '/');

		site = xasprintf("%s/lib/python%s/site-packages", pre, xy);
		inc = xasprintf("%s/include/python%s", pre, xy);
		interp = xasprintf("%s/bin/python%s", lf->python_prefix, xy);
		scripts = xasprintf("%s/bin", pre);
		data = xstrdup(pre);
	} else {
		site = xasprintf("usr/local/lib/python%s/dist-packages", xy);
		inc = xasprintf("usr/local/include/python%s", xy);
		interp = xasprintf("/usr/bin/python%s", xy);
		scripts = xstrdup("usr/local/bin");
		data = xstrdup("usr/local");
	}
	{
		/* the wheels of the indexes are fetched; those built from
		 * source are found in the store or built again */
		struct lock_layer wl = *l;

		wl.pkgs = xcalloc((size_t)l->npkgs + 1, sizeof *wl.pkgs);
		wl.npkgs = 0;
		struct strv urls = { 0 };

		for (int i = 0; i < l->npkgs; i++) {
			if (l->pkgs[i].source)
				continue;
			wl.pkgs[wl.npkgs] = l->pkgs[i];
			if (strchr(l->pkgs[i].url, '#')) {	/* a wheel by URL#sha256= */
				strv_push(&urls, xstrndup(l->pkgs[i].url, strcspn(l->pkgs[i].url, "#")));
				wl.pkgs[wl.npkgs].url = urls.v[urls.n - 1];
			}
			wl.npkgs++;
		}
		r = image_fetch_layer(ctx, st, &wl);
		free(wl.pkgs);
		strv_free(&urls);
		for (int i = 0; i < l->npkgs && r == 0; i++)
			if (l->pkgs[i].source)
				r = pip_source_wheel(b, &l->pkgs[i], interp);
		if (r < 0)
			goto out;
	}
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "fetch: %d wheels in %lld ms", l->npkgs, (long long)(t - t0));
	for (int i = 0; i < l->npkgs; i++) {
		struct wheel_scheme sc = {
			.purelib = site, .platlib = site, .scripts = scripts,
			.headers = inc, .data = data, .python = interp, .py_version = xy,
		};
		const struct lock_pkg *p = &l->pkgs[i];
		const char *sha = p->source ? p->wheel_sha256 : p->sha256;
		const char *fname = p->source ? p->wheel_filename : p->filename;
		struct wheel_install_opts wo = {
			.filename = fname,	/* the blob is named by its hash */
			.requested = pip_requested(p), .installer = "pkgimg", .mtime = 0,
		};
		char *blob = store_blob_path(st, sha), *direct = NULL;

		wo.sha256 = sha;
		r = pip_direct_url(ctx, p, &direct);
		wo.direct_url = direct;
		if (r == 0)
			r = wheel_install(ctx, blob, rootfd, &sc, &wo, &ws[i]);
		free(blob);
		free(direct);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "%s %s", p->name, p->version);
			store_blob_check(ctx, st, sha, fname);
			goto out;
		}
		nws++;
	}
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "install: %d wheels in %lld ms", l->npkgs, (long long)(t - t0));
	r = pip_layer_pyc(b, rootfd, site, interp, ws, nws);
	if (r < 0)
		goto out;
	/* another version of a project in the image below is uninstalled, as
	 * pip does: whiteouts for its files that this layer did not write anew
	 * (its bytecode included) */
	r = replace_below(b, rootfd, site, ws, nws);
	if (r < 0)
		goto out;
	/* folding the bytecode in touched directories: the layer is of no time */
	r = image_commit_layer(b, LAYER_TIMES_ZERO, res, failed0);
out:
	for (int i = 0; i < nws; i++)
		wheel_installed_free(&ws[i]);
	free(ws);
	free(xy);
	free(site);
	free(inc);
	free(interp);
	free(scripts);
	free(data);
	return r;
}
