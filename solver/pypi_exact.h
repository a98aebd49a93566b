/* The PyPI layer of a lock from another tool's lock file: a PEP 751
 * pylock.toml or a uv.lock (pyspec/pylock.h), installed exactly as it is.
 *
 * No index is read and nothing is resolved: the lock's own selection
 * (PEP 751 markers; uv.lock's graph from its root project) gives the
 * packages, and for each the best wheel for the target by pip's tag
 * priority (pyspec/wheeltags.h), which must carry a sha256.  The result is
 * the same LOCK_PIP layer pypi_lock_layer() makes, so fetching (the sha256
 * verified), installing and bytecode are unchanged. */
#ifndef PKGIMG_SOLVER_PYPI_EXACT_H
#define PKGIMG_SOLVER_PYPI_EXACT_H

#include "core/lockfile.h"
#include "solver/plan.h"
#include "solver/pypi_plan.h"

struct pkgimg_ctx;
struct store;

/* rq->pylock for t, appended to lf as a "pip: ..." layer (and its indexes
 * as "pypi" sources; lf->python set).  A package with no wheel for t and
 * only a source (sdist, archive, git, directory) is built through
 * rq->builder, or refused naming it and its files when there is none; a
 * package with no file for t at all is refused naming the files offered
 * and t's tags.  Sizes the lock does not give are learnt by fetching the
 * file (the install fetches it anyway). */
int pypi_exact_layer(struct pkgimg_ctx *ctx, struct store *st, const struct pypi_request *rq,
		     const struct pypi_target *t, struct lockfile *lf);

#endif
