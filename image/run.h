/* Running a command in an image (`pkgimg run`): the image's config merged
 * with the caller's overrides, the GPU attached, the command run over the
 * image's layers, or run with --commit into a new layer (image/commit.h). */
#ifndef PKGIMG_IMAGE_RUN_H
#define PKGIMG_IMAGE_RUN_H

#include <stdbool.h>

#include "cache/store.h"
#include "runtime/sandbox.h"

struct pkgimg_ctx;

struct image_run_opts {
	const char *image;		/* a tag, id or id prefix */
	char *const *argv;		/* CMD..., NULL-terminated; NULL or empty: the image's cmd */
	char *const *env;		/* "K=V" over the image's env, in order; NULL: none */
	const char *workdir;		/* NULL: the image's */
	const struct sandbox_bind *binds;	/* -v inputs (keyed by content with commit) */
	int nbinds;
	int network;			/* 1 host, 0 none */
	const char *gpu;		/* attach the host's GPU: its type ("" any); NULL: none */
	const char *entrypoint;		/* NULL: the image's; "": none; it drops the image's cmd */
	bool commit;			/* keep what the command wrote as a layer */
	const char *tag;		/* with commit: names the new layer when the command exits 0 */
	bool force;			/* with commit: run even when the layer is in the store */
	int output_fd;			/* as sandbox_opts.output_fd; 0: inherit */
};

/* Runs o->argv in o->image with Docker's rules: the entrypoint (or
 * o->entrypoint), then o->argv or else the image's cmd, which --entrypoint
 * drops; the image's env and workdir under o->env and o->workdir.  No
 * command at all is -PKGIMG_E_USAGE.  *status gets the command's exit
 * status (non-zero is not an error here: nothing is committed).  key gets
 * the image's key, or with commit the new layer's; *built (commit) is false
 * when the layer was in the store and nothing ran.  Returns 0 or < 0 with
 * the message on ctx. */
int image_run(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
	      int *status, char key[STORE_KEY_MAX], bool *built);

#endif
