/* Debian resolution with libsolv: fetch and verify the indexes of the apt
 * sources, load them into a pool (parsed Packages cached as .solv keyed by
 * their sha256), and solve a request into the exact list of .debs. */
#ifndef PKGIMG_SOLVER_DEB_H
#define PKGIMG_SOLVER_DEB_H

#include <stdint.h>

#include "core/str.h"
#include "solver/apt.h"

struct pkgimg_ctx;
struct store;
struct deb_pool;

/* What the lockfile records about an index. */
struct deb_index_meta {
	char *uri, *suite;
	char **components;	/* NULL-terminated */
	char inrelease_sha256[65];
	char *date;
};

/* One resolved package. */
struct deb_pkg {
	char *name, *version, *arch;
	char *url;		/* absolute */
	char sha256[65];
	uint64_t size;
	char *requested_by;	/* "essential", the request ("python3"), or "dependency" */
};

struct deb_pkglist {
	struct deb_pkg *v;
	int n;
};

struct deb_request {
	const char *const *names;	/* "NAME" or "NAME=VERSION" */
	int nnames;
	int essential;			/* add every Essential: yes package (debian-slim) */
	int install_recommends;
	const struct deb_pkglist *below;	/* packages already in the layers below: kept as they are */
};

/* Fetches (or reuses) InRelease/Release+Release.gpg and Packages of every
 * source, verifies them (keyring: override, else the source's Signed-By,
 * else the Debian archive keyring), and loads them. */
int deb_pool_open(struct pkgimg_ctx *ctx, struct store *st, const struct apt_sources *srcs,
		  const char *keyring, struct deb_pool **out);
void deb_pool_free(struct deb_pool *dp);
/* The indexes loaded, for the lockfile. */
const struct deb_index_meta *deb_pool_indexes(struct deb_pool *dp, int *n);

/* Solves a request; `out` lists the packages to install in this layer (those
 * of `below` excluded), sorted by name.  A conflict is an error whose
 * message is the chain of rules in words. */
int deb_solve(struct pkgimg_ctx *ctx, struct deb_pool *dp, const struct deb_request *req,
	      struct deb_pkglist *out);

void deb_pkglist_free(struct deb_pkglist *l);

#endif
