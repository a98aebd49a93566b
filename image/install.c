/* A lockfile into the store, one keyed layer per lock layer (see
 * image/install.h): the install driver (the layer's key, the store's
 * transaction, a retry when a blob was found corrupt) and what the kinds
 * share; each kind's builder is in apt.c, pip.c or conda.c, bytecode in
 * bytecode.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/layer.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "core/tree.h"
#include "image/install.h"
#include "image/layers.h"
#include "pyc/pyc.h"

/* What a sandboxed pass wrote (the overlay upper at `upper`) becomes part
 * of the layer's tree: files renamed over the composed ones, whiteouts
 * deleting, opaque directories replacing; what was made at or after `since`
 * (0: everything) with mtime 0. */
int image_fold_upper(struct pkgimg_ctx *ctx, const char *upper, int rootfd, const char *tree,
		     const char *step, int64_t since)
{
	int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [configure] %m", upper);
	r = fs_tree_clamp_times(ctx, fd, upper, since);
	if (r == 0)
		r = tree_apply(ctx, fd, rootfd, TREE_MOVE, 0, step, "configure", tree);
	close(fd);
	if (r == 0)
		r = fs_rm_rf(ctx, AT_FDCWD, upper);
	return r;
}

/* Which of the layer's blobs are in the store (had[i]), before it is built. */
static void layer_blobs_present(struct store *st, const struct lock_layer *l, bool *had)
{
	for (int i = 0; i < l->npkgs; i++)
		had[i] = l->pkgs[i].sha256 && *l->pkgs[i].sha256 &&
			 store_has_blob(st, l->pkgs[i].sha256);
}

/* Whether a blob that was in the store before the build is gone:
 * store_blob_check() removed it, found corrupt (or replaced) while it was
 * read.  (A download that failed is no reason to build again.) */
static bool layer_blob_removed(struct store *st, const struct lock_layer *l, const bool *had)
{
	for (int i = 0; i < l->npkgs; i++)
		if (had[i] && !store_has_blob(st, l->pkgs[i].sha256))
			return true;
	return false;
}

/* Fetches (or finds in the blob store) every artifact of a lock layer,
 * verified by the lock's sha256 and size. */
int image_fetch_layer(struct pkgimg_ctx *ctx, struct store *st, const struct lock_layer *l)
{
	struct fetch_item *items = xcalloc((size_t)l->npkgs + 1, sizeof *items);
	int r;

	for (int i = 0; i < l->npkgs; i++) {
		items[i].url = l->pkgs[i].url;
		items[i].sha256 = l->pkgs[i].sha256;
		items[i].size = l->pkgs[i].size ? (int64_t)l->pkgs[i].size : -1;
		items[i].label = l->pkgs[i].name;
	}
	r = fetch_all(ctx, st, items, l->npkgs);
	free(items);
	return r;
}

/* Commits b's transaction's tree as its layer, times as `times` says.
 * The layer's files that did not compile are res's from failed0 on. */
int image_commit_layer(const struct layer_build *b, enum layer_times times,
		       const struct install_result *res, size_t failed0)
{
	struct layer_meta meta = { 0 };
	int r;

	snprintf(meta.parent, sizeof meta.parent, "%s", b->parent ? b->parent : "");
	meta.step = (char *)b->step;
	meta.lock = (char *)b->section;
	meta.pyc_failed = image_pyc_failed_meta(res, failed0);
	r = layer_txn_commit(b->ctx, b->txn, times, &meta);
	strv_free_null(meta.pyc_failed);
	return r;
}

void install_result_free(struct install_result *res)
{
	for (size_t i = 0; i < res->npyc_failed; i++) {
		free(res->pyc_failed[i].package);
		free(res->pyc_failed[i].path);
		free(res->pyc_failed[i].error);
	}
	free(res->pyc_failed);
	res->pyc_failed = NULL;
	res->npyc_failed = 0;
}

/* "3.11.2" -> "3.11" (the X.Y of the install scheme's paths). */
char *image_python_xy(const char *full)
{
	const char *dot = strchr(full, '.');
	size_t n = dot ? strcspn(dot + 1, ".") + (size_t)(dot - full) + 1 : strlen(full);

	return xstrndup(full, n);
}

static bool is_pip_layer(const struct lock_layer *l)
{
	return l->kind == LOCK_PIP;
}

static bool is_conda_layer(const struct lock_layer *l)
{
	return l->kind == LOCK_CONDA;
}

/* image_lock_layer, of the layer below in->parent, with its chain when the
 * caller has it (known: in->chain, in->nchain), else it is read from the
 * store.  *in gives ctx, st, o, lf, parent, res and memo. */
static int lock_layer(const struct layer_build *in, int i, bool force, bool known,
		      char key[STORE_KEY_MAX])
{
	struct pkgimg_ctx *ctx = in->ctx;
	struct store *st = in->st;
	const struct install_opts *o = in->o;
	struct install_result *res = in->res;
	struct dpkg_memo *memo = in->memo;
	struct lock_layer *l = &in->lf->layers[i];
	struct sbuf section = SBUF_INIT;
	struct layer_txn txn = LAYER_TXN_INIT;
	struct layer_build b = *in;
	char *step, **chain = NULL;
	int nchain = 0, r;
	bool replay, *had = NULL;

	force = force || (ctx->flags & PKGIMG_F_FORCE_BUILD);
	r = lockfile_layer_text(ctx, l, &section);
	if (r < 0)
		return r;
	if (is_pip_layer(l) || is_conda_layer(l)) {
		char *suffix = pyc_step_suffix(&o->pyc);

		step = xasprintf("%s%s", l->step, suffix);
		free(suffix);
	} else {
		/* scripts that ran unconfined made another layer */
		step = xasprintf("%s%s", l->step, o->no_scripts ? " [no-scripts]" :
				 (ctx->flags & PKGIMG_F_PRIVILEGED) ? " [privileged]" : "");
	}
	lockfile_layer_key(in->parent, step, section.buf, key);
	replay = is_pip_layer(l) || is_conda_layer(l);	/* only they compile bytecode */
	/* 1: in the store already (or a concurrent pkgimg built it meanwhile) */
	r = layer_txn_begin(ctx, st, key, "install", force, &txn);
	if (r > 0) {
		res->layers_cached++;
		r = replay ? image_layer_replay(ctx, st, key, res) : 0;
		goto out;
	}
	if (r < 0)
		goto out;
	if (known) {
		chain = in->chain;	/* borrowed: not freed below */
		nchain = in->nchain;
	} else if (in->parent[0]) {
		r = store_layer_chain(ctx, st, in->parent, &chain, &nchain);
		if (r < 0)
			goto out;
	}
	r = store_check_layers(ctx, nchain + 1, step);
	if (r < 0)
		goto out;
	pkgimg_info(ctx, "building layer %s (%s)", key, step);
	had = xcalloc((size_t)l->npkgs + 1, sizeof *had);
	layer_blobs_present(st, l, had);
	b.l = l;
	b.chain = chain;
	b.nchain = nchain;
	b.txn = &txn;
	b.step = step;
	b.section = section.buf;
	for (int attempt = 0;; attempt++) {
		if (is_pip_layer(l))
			r = image_build_pip(&b);
		else if (is_conda_layer(l))
			r = image_build_conda(&b);
		else
			r = image_build_apt(&b);
		/* a blob found corrupt while it was read was removed (a
		 * warning said so): the layer again fetches it, once, in a
		 * fresh work dir */
		if (r == 0 || attempt > 0 || !layer_blob_removed(st, l, had))
			break;
		r = layer_txn_renew(ctx, &txn);
		if (r < 0)
			break;
	}
	if (r == 0)
		res->layers_built++;
	if (!is_pip_layer(l) && !is_conda_layer(l))
		memo = NULL;	/* kept up to date by image_build_apt */
out:
	if (memo)	/* a layer found in the store, or not an apt one */
		memo->valid = false;
	layer_txn_abort(&txn);	/* nothing left of a failed build; a no-op after commit */
	for (int k = 0; !known && chain && k < nchain; k++)
		free(chain[k]);
	if (!known)
		free(chain);
	free(step);
	sbuf_free(&section);
	free(had);
	return r;
}

int image_lock_layer(const struct layer_build *b, int i, bool force, char key[STORE_KEY_MAX])
{
	struct layer_build in = *b;

	in.chain = NULL;	/* read from the store */
	in.nchain = 0;
	in.memo = NULL;
	return lock_layer(&in, i, force, false, key);
}

int image_install_lock(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf,
		       const struct install_opts *o, struct install_result *res)
{
	char parent[STORE_KEY_MAX] = "", key[STORE_KEY_MAX];
	struct install_result out = { 0 };
	struct dpkg_memo memo = { 0 };
	char **chain = NULL;
	int r = 0, n = 0;

	if (lf->nlayers == 0)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "[install] the lockfile has no layers");
	r = image_lock_base(ctx, st, lf, parent);
	if (r == 0 && parent[0])
		r = store_layer_chain(ctx, st, parent, &chain, &n);
	if (r == 0)
		r = store_check_layers(ctx, n + lf->nlayers, lf->layers[lf->nlayers - 1].step);
	/* the parent's chain grows by one key a layer (reading it from the
	 * store for each layer made a long lockfile quadratic) */
	if (r == 0) {
		chain = xrealloc(chain, ((size_t)n + (size_t)lf->nlayers + 1) * sizeof *chain);
		chain[n] = NULL;
	}
	for (int i = 0; r == 0 && i < lf->nlayers; i++) {
		struct layer_build b = {
			.ctx = ctx, .st = st, .o = o, .lf = lf, .parent = parent,
			.chain = chain, .nchain = n, .res = &out, .memo = &memo,
		};

		r = lock_layer(&b, i, false, true, key);
		if (r == 0) {
			memcpy(parent, key, sizeof parent);
			memmove(chain + 1, chain, (size_t)n * sizeof *chain);
			chain[0] = xstrdup(key);
			chain[++n] = NULL;
		}
	}
	for (int i = 0; chain && i < n; i++)
		free(chain[i]);
	free(chain);
	if (r < 0) {
		install_result_free(&out);
		return r;
	}
	memcpy(out.snapshot, key, sizeof out.snapshot);
	*res = out;
	return 0;
}

int image_lock_base(struct pkgimg_ctx *ctx, struct store *st, const struct lockfile *lf,
		    char parent[STORE_KEY_MAX])
{
	parent[0] = 0;
	if (lf->base && !strncmp(lf->base, "sha256:", 7)) {
		/* locked on top of an image of the store */
		if (!store_has_layer(st, lf->base))
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
					  "%s: [install] the lockfile's base image is not in this "
					  "store; build that image here first, or lock again with "
					  "another --base", lf->base);
		snprintf(parent, STORE_KEY_MAX, "%s", lf->base);
	}
	return 0;
}
