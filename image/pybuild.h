/* Building Python sources to wheels in the image (issue 18): the builder
 * behind solver/pypi_build.h (read it first: what a build is, step by
 * step).  The solver reaches it through image_pybuilder's api member; the
 * PyPI layer (image/pip.c) calls image_pybuild directly to rebuild a
 * locked source whose wheel is not in the store. */
#ifndef PKGIMG_IMAGE_PYBUILD_H
#define PKGIMG_IMAGE_PYBUILD_H

#include "cache/store.h"
#include "image/install.h"
#include "solver/pypi_build.h"

struct pkgimg_ctx;
struct pypi_target;
struct pypi_request;

/* Where the image's interpreter is and installs: Debian's (/usr, site
 * /usr/local/lib/pythonX.Y/dist-packages) or conda's (prefix). */
struct pybuild_target {
	const struct pypi_target *t;	/* python version, interpreter, machine, glibc */
	const char *python_prefix;	/* lockfile's python_prefix: conda's, or NULL */
};

/* A builder for the solver: hand &b->api to pypi_request.builder.  Its
 * build callback installs the lock so far (the layers below the PyPI
 * layer; store hits when already built) and then calls image_pybuild on
 * top of it.  st and io must outlive b. */
struct image_pybuilder {
	struct pypi_builder api;
	struct store *st;
	const struct install_opts *io;
};

void image_pybuilder_init(struct image_pybuilder *b, struct store *st,
			  const struct install_opts *io);

/* Builds (or finds in the store's build cache) src in the image whose top
 * layer is parent (its key; "" for none) for tgt.  rq: the indexes to
 * resolve the build requirements on when src->env is not given (NULL
 * from a lock, which gives the environment).  With src->wheel_sha256 set,
 * a build that gives other bytes is an error that names both digests.
 * out gets the metadata, the source's identity and the wheel (a blob). */
int image_pybuild(struct pkgimg_ctx *ctx, struct store *st, const char *parent,
		  const struct pybuild_target *tgt, const struct pypi_request *rq,
		  const struct pypi_src *src, struct pypi_built *out);

/* The digest a local project directory is locked by: sha256 over its
 * files in sorted path order (path, type, mode's executable bit, content
 * or link target), leaving out .git, .hg, .svn, .nox, .tox, .venv and
 * __pycache__ directories.  hex gets 64 hex digits. */
int pybuild_tree_digest(struct pkgimg_ctx *ctx, const char *dir, char hex[65]);

struct sbuf;
/* The wheel at path rewritten deterministically into *out: its files (no
 * directory entries) sorted by name with the .dist-info directory last and
 * its RECORD the very last, every time 1980-01-01T00:00:00Z, modes 0644 or
 * 0755, deflated at zlib's default level; checked first (plain files with
 * relative paths, none twice, one RECORD that lists every file with its
 * hash and size).  *metadata (when not NULL) gets .dist-info/METADATA. */
int pybuild_wheel_rewrite(struct pkgimg_ctx *ctx, const char *path, struct sbuf *out,
			  char **metadata);

/* pkgimg wheel SOURCE (as `pip wheel --no-deps SOURCE`): the image of
 * the request (plan: base, apt, conda; Debian's python3 added when it has
 * no interpreter) installed, then SOURCE built in it and the wheel copied
 * into outdir.  SOURCE: a project directory, an sdist (a path, file://,
 * https://), git+URL[@REV]; "#subdirectory=DIR" after any. */
struct plan_opts;
struct image_wheel_opts {
	const struct plan_opts *plan;		/* the image (its pip is ignored) */
	const struct install_opts *io;
	const struct pypi_request *rq;		/* the indexes of the build requirements */
	const char *source;
	const char *outdir;			/* NULL: "." */
	bool no_build_isolation;
};
/* *path gets the wheel's path (malloc'd). */
int image_wheel(struct pkgimg_ctx *ctx, struct store *st, const struct image_wheel_opts *o,
		char **path);

#endif
