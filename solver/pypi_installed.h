/* The installed set below a PyPI layer, as pip run in the image sees it:
 * the distributions on the image's sys.path when the layer's pip would run.
 * pip keeps an installed distribution that satisfies a requirement, and
 * replaces one that does not (solver/pypi_plan.c prefers them so); after
 * its install it warns about the requirements the new set breaks
 * (pypi_installed_warn_conflicts). */
#ifndef PKGIMG_SOLVER_PYPI_INSTALLED_H
#define PKGIMG_SOLVER_PYPI_INSTALLED_H

#include <stdbool.h>
#include <stddef.h>

#include "core/lockfile.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"

struct pkgimg_ctx;
struct store;

struct pypi_installed {
	struct pymeta *v;	/* one per project (PEP 503), the one pip sees */
	size_t n;
};

/* Where the installed set comes from.  A project's first distribution in
 * this order counts, as the first on sys.path does:
 *   1. the PyPI packages of the lock layers below (`below`, the latest
 *      layer first): a spec's earlier pip steps, whose wheels a later step
 *      would replace, as pip run a second time replaces them;
 *   2. the image `base` (a store key "sha256:..."; else none): the
 *      .dist-info and .egg-info entries of its
 *      /usr/local/lib/pythonX.Y/dist-packages;
 *   3. Debian's python3-* packages of the lock layers (`own`, then `below`,
 *      the latest first): the .dist-info and .egg-info they ship in
 *      /usr/lib/python3/dist-packages, read from the .deb itself (fetched
 *      into the store now; the install needs it anyway);
 *   4. the image base's /usr/lib/python3/dist-packages.
 * A wheel of (1) is read from the wheel (fetched into the store by its
 * URL and sha256, as the install fetches it).  An egg-info's requires.txt
 * gives its Requires-Dist and Provides-Extra, as pip reads it.  An entry
 * whose metadata does not parse is skipped, as importlib.metadata skips
 * it. */
struct pypi_installed_from {
	const char *base;
	const char *python;		/* the target's version: "3.11.2" */
	const struct lock_layer *below;
	int nbelow;
	const struct lock_layer *own;
	int nown;
};

int pypi_installed_read(struct pkgimg_ctx *ctx, struct store *st,
			const struct pypi_installed_from *from, struct pypi_installed *out);
const struct pymeta *pypi_installed_find(const struct pypi_installed *in, const char *norm);
void pypi_installed_free(struct pypi_installed *in);

/* pip's check after an install (its "dependency resolver does not
 * currently take into account all the packages that are installed"): in
 * the set after the layer, set[0..n) (fresh[i]: installed by the layer),
 * every requirement of a fresh distribution, or of one that requires a
 * fresh project, that no distribution of the set satisfies is warned
 * about through ctx in pip's words ("a 1.0 requires b<2, but you have b
 * 2.0 which is incompatible", "a 1.0 requires b, which is not
 * installed"), as `pip check` names it; the layer is installed anyway, as
 * pip installs it.  Requirements of extras are not checked (pip neither).
 * Returns how many were warned about. */
int pypi_installed_warn_conflicts(struct pkgimg_ctx *ctx, const struct pep508_env *env,
				  const struct pymeta *const *set, const bool *fresh, size_t n);

#endif
