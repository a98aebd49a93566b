/* Building a Python project from source, as the PyPI solver asks for it
 * (issue 18): an sdist found on an index, an archive by URL (https://,
 * file://), a local project directory, a git repository.
 *
 * The solver only describes the source and receives the result; the builder
 * itself lives in image/pybuild.c, since a build needs the image (its
 * interpreter and compilers), the sandbox and the wheel installer, which
 * solver/ may not include.  The solver reaches it through struct
 * pypi_builder, a callback the caller (cli/, image/) hands in with the
 * request.
 *
 * What a build is, wherever it is asked for (lock or install):
 *   1. the source is fetched (archive verified against the sha256 asked,
 *      git cloned and pinned to a commit, a directory copied) and unpacked
 *      with the one secure extractor;
 *   2. the core metadata is read without building where the standards
 *      allow it (PEP 643: PKG-INFO of Metadata-Version 2.2+ with no Dynamic
 *      field that matters), else from prepare_metadata_for_build_wheel;
 *   3. with build isolation (the default, as pip and uv), the project's
 *      [build-system] requires (else setuptools' legacy default) are
 *      resolved for the image by the PyPI solver, fetched and installed
 *      into a throwaway environment; get_requires_for_build_wheel adds
 *      more the same way;
 *   4. build_wheel runs in the sandbox over the image below the PyPI
 *      layer, network off, SOURCE_DATE_EPOCH fixed, with the image's
 *      interpreter; the wheel is rewritten deterministically (sorted
 *      entries, fixed times and modes) and kept in the store's blobs;
 *   5. the result is cached by (source digest, build environment, target),
 *      so a second lock or install builds nothing. */
#ifndef PKGIMG_SOLVER_PYPI_BUILD_H
#define PKGIMG_SOLVER_PYPI_BUILD_H

#include <stdbool.h>
#include <stdint.h>

struct pkgimg_ctx;
struct store;
struct lockfile;
struct lock_pkg;
struct pypi_target;
struct pypi_request;

enum pypi_src_kind {
	PYPI_SRC_SDIST,		/* an sdist found on an index (.tar.gz, .zip) */
	PYPI_SRC_URL,		/* an archive by URL: https://…/x.tar.gz, file:///…/x.zip */
	PYPI_SRC_PATH,		/* a local project directory (absolute path) */
	PYPI_SRC_GIT,		/* git+https://…, git+file://… */
};

/* The lockfile's spelling of a kind ("sdist", "url", "path", "git"). */
const char *pypi_src_kind_name(enum pypi_src_kind k);

struct pypi_src {
	enum pypi_src_kind kind;
	const char *name;	/* PEP 503 name when known (the requirement's or the
				 * index's); NULL for a bare path or URL: the
				 * metadata names it */
	const char *version;	/* SDIST: the index's version; else NULL */
	const char *url;	/* SDIST/URL: the archive's URL; PATH: the absolute
				 * directory; GIT: the repository URL without the
				 * "git+" and without "@REV" */
	const char *sha256;	/* SDIST/URL: the digest the index, --hash or the
				 * lock gives (verified), or NULL; PATH: the
				 * lock's tree digest (checked), or NULL */
	const char *rev;	/* GIT: the @REV asked (branch, tag, commit) or
				 * the lock's commit; NULL: the default branch */
	const char *subdirectory;	/* #subdirectory=, or NULL */
	bool metadata_only;	/* only METADATA is needed now (the builder may
				 * still build, when that is the only way) */
	bool no_build_isolation;	/* --no-build-isolation: the image as it is */
	/* from a lock (NULL/0 when resolving): the build environment to
	 * install instead of resolving one, and the wheel the build must give */
	const struct lock_pkg *env;
	int nenv;
	const char *wheel_sha256;
};

struct pypi_built {
	char *name, *version;	/* from the metadata (PEP 503 name) */
	char *metadata;		/* the core metadata text (METADATA or PKG-INFO) */
	char *src_sha256;	/* SDIST/URL: the archive's digest; PATH: the tree
				 * digest; GIT: NULL */
	uint64_t src_size;	/* SDIST/URL: the archive's size; else 0 */
	char *src_filename;	/* SDIST/URL: the archive's file name; else NULL */
	char *commit;		/* GIT: the full commit id; else NULL */
	/* the wheel, in the store's blobs; NULL when metadata_only was asked
	 * and the metadata came without a build */
	char *wheel_filename, *wheel_sha256;
	uint64_t wheel_size;
	/* the isolated build environment used (lock packages, ecosystem
	 * "pypi"); none when no_build_isolation */
	struct lock_pkg *env;
	int nenv;
};

void pypi_built_free(struct pypi_built *b);

/* What the solver (solver/pypi_plan.c) calls.  below: the lock so far (the
 * layers the PyPI layer goes on; the builder installs them into the store
 * to get the image it builds in); t: the interpreter built for; rq: the
 * request's indexes (the build requirements are resolved on them). */
struct pypi_builder {
	int (*build)(void *arg, struct pkgimg_ctx *ctx, const struct lockfile *below,
		     const struct pypi_target *t, const struct pypi_request *rq,
		     const struct pypi_src *src, struct pypi_built *out);
	void *arg;
};

#endif
