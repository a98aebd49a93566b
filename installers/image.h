/* Installing a lockfile into the store: one layer per lock layer, each keyed
 * by sha256(parent key ‖ builder version ‖ step ‖ lock section).  A layer
 * already in the store is a hit (nothing fetched, nothing unpacked). */
#ifndef PKGIMG_INSTALLERS_IMAGE_H
#define PKGIMG_INSTALLERS_IMAGE_H

#include "cache/store.h"
#include "core/lockfile.h"
#include "pyc/pyc.h"

struct pkgimg_ctx;

struct install_opts {
	int no_scripts;		/* leave packages "unpacked": no maintainer scripts */
	struct pyc_opts pyc;	/* bytecode for the PyPI and conda layers (python
				   is found per layer); mode and levels are part
				   of those layers' keys */
};

/* A source file that did not compile (a warning, not an error). */
struct install_pyc_failure {
	char *package;		/* "name version" of the wheel or conda package */
	char *path;		/* in the image: "/usr/local/lib/python3.11/..." */
	char *error;		/* one line */
};

struct install_result {
	char snapshot[STORE_KEY_MAX];
	int layers_built;
	int layers_cached;
	size_t pyc_compiled;	/* .py files compiled in the layers built */
	size_t pyc_written;	/* .pyc files written */
	struct install_pyc_failure *pyc_failed;
	size_t npyc_failed;
};

void install_result_free(struct install_result *res);

int image_install_lock(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf,
		       const struct install_opts *o, struct install_result *res);

#endif
