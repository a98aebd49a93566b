/* A build spec (pkgimg.yaml) as an image: its package steps locked into one
 * lockfile, then one layer per step (see image/build.c). */
#ifndef PKGIMG_IMAGE_BUILD_H
#define PKGIMG_IMAGE_BUILD_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/store.h"
#include "image/install.h"

struct apt_sources;
struct lockfile;
struct pkgimg_ctx;
struct spec;

/* Locks a spec's package steps: step k is solved with everything asked up
 * to it, and its lock layer holds what is new at that step.  gpu_all: the
 * GPU type of --gpu (every step), or NULL.  `pkgimg lock -f`, build. */
int image_spec_lock(struct pkgimg_ctx *ctx, struct store *store, const struct spec *s,
		    const struct apt_sources *srcs, const char *keyring, const char *gpu_all,
		    struct lockfile *out);

struct image_build_opts {
	const struct spec *spec;
	struct lockfile *lf;		/* the spec's lockfile (image_spec_lock or --lock) */
	const char *lock_name;		/* how to name lf in messages */
	const struct install_opts *io;
	const char *gpu_all;		/* --gpu: attached to every run step, or NULL */
	/* after each step: its text, key, whether it was built, its time */
	void (*on_step)(void *arg, size_t k, size_t n, const char *text, const char *key,
			bool built, int64_t ms);
	void *arg;
};

/* Builds (or finds) the layers of every step; snapshot gets the top key.
 * PKGIMG_F_FORCE_BUILD on ctx, or a step's force_build, rebuilds. */
int image_build_spec(struct pkgimg_ctx *ctx, struct store *store, const struct image_build_opts *o,
		     char snapshot[STORE_KEY_MAX], struct install_result *res);

#endif
