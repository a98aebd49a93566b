/* Running a command in an image and keeping what it wrote as a new layer
 * (`pkgimg run --commit`, a build's `run` step): how model weights and
 * other generated files get baked into an image.
 *
 * The layer's key chains from the image's key (lockfile_layer_key) over the
 * step text and a canonical description of the run: argv, environment,
 * working directory, network, GPU type, and for every mounted input its
 * destination, mode and content hash (hash_tree_sha256).  The same bake is
 * therefore a key hit that runs nothing; a changed input, command or
 * parent gives another key. */
#ifndef PKGIMG_IMAGE_COMMIT_H
#define PKGIMG_IMAGE_COMMIT_H

#include <stdbool.h>

#include "cache/store.h"
#include "core/str.h"
#include "runtime/sandbox.h"

struct pkgimg_ctx;

struct run_spec {
	const char *parent;		/* the image's key */
	const char *step;		/* recorded in layer.yaml: "run: ..." */
	char *const *argv;
	char *const *env;		/* the command's full environment (keyed) */
	char *const *extra_env;		/* added when it runs, not keyed (GPU); NULL */
	const char *cwd;		/* NULL: "/" */
	const struct sandbox_bind *binds;	/* inputs: content keyed */
	int nbinds;
	const struct sandbox_bind *extra_binds;	/* attached, not keyed (GPU) */
	int nextra_binds;
	int network;			/* 1 host, 0 none */
	const char *gpu;		/* the step's GPU type ("" for any), keyed; NULL: none */
	int output_fd;			/* as sandbox_opts.output_fd */
};

/* The layer key of rs and the canonical text it hashes (*section, kept in
 * layer.yaml as the layer's lock text). */
int run_commit_key(struct pkgimg_ctx *ctx, const struct run_spec *rs, char key[STORE_KEY_MAX],
		   struct sbuf *section);

/* Builds the layer `key` (from run_commit_key) by running rs in its image
 * with a fresh upper dir, under the key's store lock: when the layer is in
 * the store by then (a concurrent pkgimg built it) and not `force`, nothing
 * runs and *built is false.  When the command exits 0, what it wrote (files,
 * whiteouts of what it deleted) becomes the layer, mtime 0 throughout, on
 * top of rs->parent; *status gets the command's exit status, and a non-zero
 * one commits nothing and is not an error here (the caller says so).
 * Returns < 0 when the sandbox or the commit failed. */
int run_commit(struct pkgimg_ctx *ctx, struct store *st, const struct run_spec *rs,
	       const char *key, const char *section, bool force, int *status, bool *built);

#endif
