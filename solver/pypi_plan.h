/* The PyPI layer of a lock: from `--pip` / `-r` requests to exact wheels.
 *
 * The loop, as the graph grows: look up the projects the requirements reach
 * (index pages in parallel, first-index by default), add every version that
 * has a wheel for the target to the universe, solve, fetch the metadata of
 * the chosen versions whose dependencies are unknown (PEP 658 files in
 * parallel, else the wheel), solve again, until nothing is missing.  Then
 * the best wheel of every chosen version (pip's tag priority) goes into the
 * lock with its URL, sha256 and size.
 *
 * Sources (issue 18), through rq->builder (solver/pypi_build.h): an index's
 * sdists are candidates next to its wheels, as pip 23 ranks them (the best
 * version wins; within a version a wheel before an sdist; --only-binary
 * and --no-binary of a requirements file take sdists or wheels out); their
 * metadata is the index's PEP 658 file, else a metadata_only build.  A
 * requirement that names a source ("name @ URL", git+URL@REV, a path, -e
 * PATH: pyspec/pysrc.h) is its project's only candidate, named and described
 * by a metadata_only build.  The chosen sources are built (metadata_only
 * false) and locked with the source and the wheel.  Without a builder,
 * sdists are no candidates and a source requirement is an error. */
#ifndef PKGIMG_SOLVER_PYPI_PLAN_H
#define PKGIMG_SOLVER_PYPI_PLAN_H

#include "core/lockfile.h"
#include "solver/plan.h"

struct pkgimg_ctx;
struct store;

/* --cuda: the CUDA index is this template with {cuda} = "121" for 12.1
 * (--cuda-index-url, else $PKGIMG_CUDA_INDEX_URL, else PyTorch's). */
#define PYPI_CUDA_INDEX_DEFAULT	"https://download.pytorch.org/whl/cu{cuda}/"
#define PYPI_CUDA_INDEX_ENV	"PKGIMG_CUDA_INDEX_URL"

/* The image the wheels are for (from the apt layers' locked packages). */
struct pypi_target {
	char *python;		/* full version, "3.11.2" */
	char *interpreter;	/* "/usr/bin/python3.11" */
	char *machine;		/* "x86_64" */
	int glibc_major, glibc_minor;	/* 2, 36; 0, 0 when the image has no glibc */
};

void pypi_target_free(struct pypi_target *t);

/* Resolves rq for t and appends a "pip: ..." layer and the indexes used (as
 * "pypi" sources) to lf; sets lf->python.  Errors name the requirement, the
 * phase "[lock]" and the fix. */
int pypi_lock_layer(struct pkgimg_ctx *ctx, struct store *st, const struct pypi_request *rq,
		    const struct pypi_target *t, struct lockfile *lf);

#endif
