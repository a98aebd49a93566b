/* One layer transaction: every layer builder (apt, pip, conda, the config,
 * add and python_source steps, run steps) makes its layer the same way:
 *
 *   layer_txn_begin   the key's lock (ROOT/locks/<hex>) taken; when the key
 *                     is in the store already (and not forced) it returns 1
 *                     and holds nothing: the caller skips.  Else a fresh
 *                     work dir ROOT/tmp/layer-XXXXXX with an empty tree/,
 *                     opened as t->rootfd
 *   ...               the caller fills t->tree
 *   layer_txn_commit  times zeroed (or clamped) as the caller asks,
 *                     layer.yaml written, the work dir renamed into
 *                     ROOT/layers/, the lock released
 *   layer_txn_abort   the work dir removed, the lock released; safe after a
 *                     commit and on a zeroed or LAYER_TXN_INIT txn
 *
 * Two builders of one key are serialized by the lock: the second waits,
 * then finds the layer and skips. */
#ifndef PKGIMG_LAYER_H
#define PKGIMG_LAYER_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/store.h"

struct pkgimg_ctx;

/* What layer_txn_commit does to the tree's times. */
enum layer_times {
	LAYER_TIMES_KEEP,	/* nothing (the caller set them) */
	LAYER_TIMES_ZERO,	/* mtime 0 for everything (fs_tree_times_zero) */
	LAYER_TIMES_CLAMP,	/* mtime 0 for what was made since begin (fs_tree_clamp_times) */
};

struct layer_txn {
	struct store *st;
	char key[STORE_KEY_MAX];
	const char *phase;	/* for messages: "build", "install", "commit" */
	int lockfd;		/* ROOT/locks/<hex>; -1 when not held */
	char *tmp;		/* the work dir; NULL once committed or removed */
	char *tree;		/* tmp/tree */
	int rootfd;		/* tree/, O_DIRECTORY; -1 when closed */
	int64_t started;	/* seconds, a second before begin: LAYER_TIMES_CLAMP's since */
};

#define LAYER_TXN_INIT { .lockfd = -1, .rootfd = -1 }

/* 1: the key is in the store and force is not set (nothing held, nothing
 * made); 0: the lock is held and t->tmp, t->tree, t->rootfd are made;
 * negative: an error (nothing held).  phase is kept (not copied). */
int layer_txn_begin(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		    const char *phase, bool force, struct layer_txn *t);
/* A fresh work dir in place of the one begun (the lock kept): for a builder
 * that tries again after a failure. */
int layer_txn_renew(struct pkgimg_ctx *ctx, struct layer_txn *t);
/* Makes t->tree the layer: meta's key is set from t's (its size computed);
 * the rest of meta is the caller's.  On success the txn is over (lock
 * released); on failure it is left to layer_txn_abort. */
int layer_txn_commit(struct pkgimg_ctx *ctx, struct layer_txn *t, enum layer_times times,
		     struct layer_meta *meta);
void layer_txn_abort(struct layer_txn *t);

/* The trees of a chain of layer keys (as store_layer_chain gives them, top
 * first), after top when it is not NULL (a layer being built): owned paths
 * ROOT/layers/<hex>/tree, NULL-terminated, for overlay lower dirs or
 * cache/view; free with strv_free_null. */
char **store_chain_trees(const struct store *st, const char *top, char *const *chain, int n);

#endif
