/* From a request to a lockfile: which layers, which packages in each. */
#ifndef PKGIMG_SOLVER_PLAN_H
#define PKGIMG_SOLVER_PLAN_H

#include "core/lockfile.h"
#include "solver/apt.h"

struct pkgimg_ctx;
struct store;

struct plan_opts {
	const char *base;		/* "debian-slim" (default) or "scratch" */
	const struct apt_sources *sources;
	const char *keyring;		/* NULL: each source's Signed-By, else Debian's */
	const char *const *apt;		/* "NAME" or "NAME=VERSION" */
	int napt;
	int install_recommends;
};

/* Resolves the request: a "base: debian-slim" layer holding every Essential
 * package and its dependencies (unless base is scratch), then an "apt: ..."
 * layer with the rest. */
int plan_lock(struct pkgimg_ctx *ctx, struct store *st, const struct plan_opts *o,
	      struct lockfile *out);

#endif
