/* image/'s own header, not for cli/: what the install driver (install.c)
 * and the files of each layer kind (apt.c, pip.c, conda.c, bytecode.c)
 * share.  The public side is image/install.h. */
#ifndef PKGIMG_IMAGE_LAYERS_H
#define PKGIMG_IMAGE_LAYERS_H

#include <stdbool.h>
#include <stddef.h>

#include "cache/layer.h"
#include "cache/store.h"
#include "core/lockfile.h"
#include "image/install.h"
#include "pyc/pyc.h"

struct pkgimg_ctx;

/* What install --lock carries from one apt layer to the next, so that each
 * layer need not look for dpkg through every layer below it (which made a
 * long lockfile quadratic): whether the image up to the last layer built
 * has /usr/bin/dpkg, valid when it was found without following a link. */
struct dpkg_memo {
	bool valid, has;
};

/* One layer being built, what every builder is called with. */
struct layer_build {
	struct pkgimg_ctx *ctx;
	struct store *st;
	const struct install_opts *o;
	const struct lockfile *lf;	/* the lockfile, and its layer built */
	struct lock_layer *l;
	const char *parent;		/* the key below ("" for none) */
	char **chain;			/* the image below, top first */
	int nchain;
	struct layer_txn *txn;		/* the layer's work dir and tree */
	const char *step;		/* as in its key */
	const char *section;		/* its lock section */
	struct install_result *res;	/* counts and bytecode warnings */
	struct dpkg_memo *memo;		/* NULL outside install --lock */
};

/* A source file of a layer and the package (index) whose record lists it. */
struct pyc_src {
	char *path;		/* in the image, absolute */
	int owner;
	size_t seq;		/* order added: a later package's file wins */
};

/* install.c: builds (or finds) lock layer i of b->lf on top of b->parent
 * ("" for none), with b's ctx, st, o and res: *key gets its key; res counts
 * it as built or cached and collects the bytecode warnings.  force:
 * rebuild even when the key is in the store. */
int image_lock_layer(const struct layer_build *b, int i, bool force, char key[STORE_KEY_MAX]);

/* install.c: the driver's helpers the kinds share */
int image_fetch_layer(struct pkgimg_ctx *ctx, struct store *st, const struct lock_layer *l);
int image_commit_layer(const struct layer_build *b, enum layer_times times,
		       const struct install_result *res, size_t failed0);
int image_fold_upper(struct pkgimg_ctx *ctx, const char *upper, int rootfd, const char *tree,
		     const char *step, int64_t since);

/* apt.c */
int image_has(const struct layer_build *b, const char *path, const char *phase);
int image_build_apt(const struct layer_build *b);

/* pip.c, conda.c */
int image_build_pip(const struct layer_build *b);
int image_build_conda(const struct layer_build *b);

/* bytecode.c */
void image_pyc_src_add(struct pyc_src **v, size_t *n, size_t *cap, char *path, int owner);
int image_layer_pyc(const struct layer_build *b, int rootfd, const char *python,
		    struct pyc_src *srcs, size_t *nsrcs, struct pyc_result *res);
void image_pyc_report(struct pkgimg_ctx *ctx, struct install_result *out,
		      const struct pyc_result *res, const struct pyc_src *srcs, char **labels,
		      int nlabels);

/* Compiles every .py file of a layer being built (b->txn's tree) with
 * `python`, the image's interpreter (a path inside it), as a pip layer's
 * files are: in the sandbox over the tree and the image below it (b->chain),
 * the .pyc files folded into the tree, the tree's times 0.  A file that
 * does not compile is a warning and goes into b->res, under `label`; an
 * image without that interpreter is a warning. */
int image_tree_pyc(const struct layer_build *b, const char *python, const char *label);

#endif
