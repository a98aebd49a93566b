/* Installing a lockfile into the store: one layer per lock layer, each keyed
 * by sha256(parent key ‖ builder version ‖ step ‖ lock section).  A layer
 * already in the store is a hit (nothing fetched, nothing unpacked). */
#ifndef PKGIMG_IMAGE_INSTALL_H
#define PKGIMG_IMAGE_INSTALL_H

#include <stdbool.h>

#include "cache/store.h"
#include "core/lockfile.h"
#include "pyc/pyc.h"
#include "runtime/sandbox.h"

struct pkgimg_ctx;

struct install_opts {
	int no_scripts;		/* leave packages "unpacked": no maintainer scripts */
	struct pyc_opts pyc;	/* bytecode for the PyPI and conda layers (python
				   is found per layer); mode and levels are part
				   of those layers' keys */
	/* --gpu: what the maintainer scripts' sandbox gets attached (not part
	   of any key: the packages are the same) */
	const struct sandbox_bind *gpu_binds;
	int ngpu_binds;
	char *const *gpu_env;
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

/* "3.11" of "3.11.2": the X.Y a CPython's paths are named by. */
char *image_python_xy(const char *full);

/* What a layer found in the store had printed when it was built, given
 * again: its Python files that did not compile, into res and as warnings. */
int image_layer_replay(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       struct install_result *res);
/* res's files that did not compile, from `first` on, as layer_meta's
 * pyc_failed list (NULL when none). */
char **image_pyc_failed_meta(const struct install_result *res, size_t first);

int image_install_lock(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf,
		       const struct install_opts *o, struct install_result *res);

/* The parent of a lockfile's first layer: "" or its base image's key,
 * which must be in the store. */
int image_lock_base(struct pkgimg_ctx *ctx, struct store *st, const struct lockfile *lf,
		    char parent[STORE_KEY_MAX]);

#endif
