/* One layer transaction (cache/layer.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/layer.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"

/* Removes the work dir, if any (the lock kept). */
static void drop_dir(struct layer_txn *t)
{
	if (t->rootfd >= 0)
		close(t->rootfd);
	t->rootfd = -1;
	if (t->tmp)
		fs_rm_rf(NULL, AT_FDCWD, t->tmp);
	free(t->tmp);
	free(t->tree);
	t->tmp = NULL;
	t->tree = NULL;
}

static int make_dir(struct pkgimg_ctx *ctx, struct layer_txn *t)
{
	int r = store_mktemp_dir(ctx, t->st, "layer", &t->tmp);

	if (r < 0)
		return r;
	t->tree = xasprintf("%s/tree", t->tmp);
	if (mkdir(t->tree, 0755) < 0)
		return pkgimg_err(ctx, -errno, "%s: [%s] %m", t->tree, t->phase);
	t->rootfd = open(t->tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->rootfd < 0)
		return pkgimg_err(ctx, -errno, "%s: [%s] %m", t->tree, t->phase);
	return 0;
}

int layer_txn_begin(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		    const char *phase, bool force, struct layer_txn *t)
{
	int r;

	*t = (struct layer_txn)LAYER_TXN_INIT;
	t->st = st;
	t->phase = phase ? phase : "build";
	snprintf(t->key, sizeof t->key, "%s", key ? key : "");
	if (!force && store_has_layer(st, key))
		return 1;
	r = store_lock_key(ctx, st, key, &t->lockfd);
	if (r < 0)
		goto out;
	if (!force && store_has_layer(st, key)) {
		r = 1;	/* a concurrent pkgimg built it meanwhile */
		goto out;
	}
	t->started = (int64_t)time(NULL) - 1;
	r = make_dir(ctx, t);
out:
	if (r != 0)
		layer_txn_abort(t);
	return r;
}

int layer_txn_renew(struct pkgimg_ctx *ctx, struct layer_txn *t)
{
	drop_dir(t);
	return make_dir(ctx, t);
}

int layer_txn_commit(struct pkgimg_ctx *ctx, struct layer_txn *t, enum layer_times times,
		     struct layer_meta *meta)
{
	int r = 0;

	if (!t->tmp || t->rootfd < 0 || t->lockfd < 0)
		return pkgimg_err(ctx, -EINVAL, "%s: [commit] no layer transaction begun", t->key);
	if (times == LAYER_TIMES_ZERO)
		r = fs_tree_times_zero(ctx, t->rootfd, t->tree);
	else if (times == LAYER_TIMES_CLAMP)
		r = fs_tree_clamp_times(ctx, t->rootfd, t->tree, t->started);
	if (r < 0)
		return r;
	snprintf(meta->key, sizeof meta->key, "%s", t->key);
	close(t->rootfd);
	t->rootfd = -1;
	r = store_layer_commit(ctx, t->st, t->tmp, meta);
	if (r < 0)
		return r;
	free(t->tmp);	/* renamed into layers/ (or removed: a concurrent builder's won) */
	t->tmp = NULL;
	layer_txn_abort(t);
	return 0;
}

void layer_txn_abort(struct layer_txn *t)
{
	drop_dir(t);
	if (t->lockfd >= 0)
		store_unlock(t->lockfd);
	t->lockfd = -1;
}

char **store_chain_trees(const struct store *st, const char *top, char *const *chain, int n)
{
	char **v = xcalloc((size_t)(n > 0 ? n : 0) + 2, sizeof *v);
	int k = 0;

	if (top)
		v[k++] = xstrdup(top);
	for (int i = 0; i < n; i++)
		v[k++] = store_layer_tree(st, chain[i]);
	return v;
}
