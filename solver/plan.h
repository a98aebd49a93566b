/* From a request to a lockfile: which layers, which packages in each. */
#ifndef PKGIMG_SOLVER_PLAN_H
#define PKGIMG_SOLVER_PLAN_H

#include <stddef.h>

#include "core/lockfile.h"
#include "solver/apt.h"
#include "solver/conda.h"
#include "solver/pypi_build.h"

struct pkgimg_ctx;
struct store;

/* What `--pip`, `-r` and the index options ask for. */
struct pypi_request {
	const char *const *reqs;		/* --pip REQ, PEP 508 */
	size_t nreqs;
	const char *const *reqfiles;		/* -r FILE */
	size_t nreqfiles;
	const char *reqfile_root;		/* a spec's build context: the files that
						 * reqfiles name (-r, -c) must be in it;
						 * NULL: anywhere (pkgimg install -r) */
	const char *index_url;			/* --index-url, else $PKGIMG_INDEX_URL, else PyPI */
	const char *const *extra_index_urls;	/* --extra-index-url, in order */
	size_t nextra;
	const char *const *find_links;		/* --find-links DIR|URL */
	size_t nfind;
	int no_index;				/* --no-index: find-links only */
	int unsafe_best_match;			/* --index-strategy unsafe-best-match */
	int pre;				/* --pre: pre-releases allowed */
	const char *cuda;			/* --cuda X.Y (or detected by --gpu): CUDA
						 * builds of the torch family, from the
						 * CUDA index first; NULL: none */
	const char *cuda_index;			/* --cuda-index-url template, or NULL */
	/* building from source (solver/pypi_build.h): NULL refuses sources
	 * with a message that says so (a caller that cannot build) */
	const struct pypi_builder *builder;
	int no_build_isolation;			/* --no-build-isolation */
	/* an exact install from another tool's lock (solver/pypi_exact.h):
	 * --pip-lock FILE, or -r pylock.toml; reqs and reqfiles are then
	 * empty.  The extras and dependency groups it installs (with the
	 * lock's default groups unless no_default_groups; pyspec/pylock.h) */
	const char *pylock;
	const char *const *pylock_extras;
	size_t npylock_extras;
	const char *const *pylock_groups;
	size_t npylock_groups;
	int pylock_no_default_groups;
};

struct plan_opts {
	const char *base;		/* "debian-slim" (default) or "scratch" */
	const struct apt_sources *sources;
	const char *keyring;		/* NULL: each source's Signed-By, else Debian's */
	const char *const *apt;		/* "NAME" or "NAME=VERSION" */
	int napt;
	int install_recommends;
	const struct pypi_request *pip;	/* NULL: no PyPI layer */
	const char *python;		/* --python X.Y, or NULL for Debian's python3 */
	const struct conda_request *conda;	/* NULL: no conda layer */
};

/* Resolves the request: a "base: debian-slim" layer holding every Essential
 * package and its dependencies (unless base is scratch), then an "apt: ..."
 * layer with the rest (and Debian's python3, or pythonX.Y, when PyPI
 * packages are asked for, the apt layers hold no interpreter and no conda
 * layer brings one), then a "conda: ..." layer with the conda packages
 * (and conda's python when PyPI packages are asked for), then a "pip: ..."
 * layer with the PyPI packages, resolved for the interpreter: conda's when
 * the conda layer has one, else Debian's. */
int plan_lock(struct pkgimg_ctx *ctx, struct store *st, const struct plan_opts *o,
	      struct lockfile *out);

/* One package step of a build spec: its step text and the request of every
 * package step up to and including it (the caller merges them). */
struct plan_step {
	const char *text;		/* "apt: git curl", "pip: ...", "conda: ..." */
	char eco;			/* 'a' apt, 'p' pip, 'c' conda */
	struct plan_opts opts;
};

/* Locks a spec's package steps as one lockfile, a layer per step: step k is
 * solved with everything asked up to it (so the picks agree), and its
 * layer holds what is new at that step.  What a step needs from another
 * ecosystem that no earlier step brought (Debian's python3 for a pip step)
 * goes first in a layer of its own, under the plan's step text.  A later
 * step that would change the version of a package an earlier one locked is
 * an error naming both steps. */
int plan_steps(struct pkgimg_ctx *ctx, struct store *st, const struct plan_step *steps, int n,
	       struct lockfile *out);

#endif
