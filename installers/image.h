/* Installing a lockfile into the store: one layer per lock layer, each keyed
 * by sha256(parent key ‖ builder version ‖ step ‖ lock section).  A layer
 * already in the store is a hit (nothing fetched, nothing unpacked). */
#ifndef PKGIMG_INSTALLERS_IMAGE_H
#define PKGIMG_INSTALLERS_IMAGE_H

#include "cache/store.h"
#include "core/lockfile.h"

struct pkgimg_ctx;

struct install_opts {
	int no_scripts;		/* leave packages "unpacked": no maintainer scripts */
};

struct install_result {
	char snapshot[STORE_KEY_MAX];
	int layers_built;
	int layers_cached;
};

int image_install_lock(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf,
		       const struct install_opts *o, struct install_result *res);

#endif
