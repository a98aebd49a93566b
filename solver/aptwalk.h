/* apt's own answer to an install request, computed the way apt 2.6's
 * pkgDepCache::MarkInstall walks the dependency graph (apt-get install with
 * an empty or given status): the requested packages marked first, then each
 * one's dependencies depth-first in apt's order (Pre-Depends, Depends, then
 * Recommends when asked), an or-group skipped when something installed or
 * marked already satisfies it, else its alternatives in order, the providers
 * of each ranked as apt's CompareProviders ranks them, a choice that cannot
 * be installed given up for the next one.  The caller hands the result to
 * libsolv, which checks it and explains conflicts. */
#ifndef PKGIMG_SOLVER_APTWALK_H
#define PKGIMG_SOLVER_APTWALK_H

#include <solv/pool.h>
#include <solv/queue.h>

struct aptwalk_req {
	const Id *installed;	/* solvables already installed (the layers below):
				 * kept, unless asked for at another version or
				 * a dependency needs a newer one (an upgrade,
				 * as apt-get install does it) */
	int ninstalled;
	const Id *requests;	/* solvables asked for, in the order asked */
	int nrequests;
	int recommends;		/* APT::Install-Recommends */
	Id essential_key, priority_key, important_key;	/* custom attributes, 0 if none */
};

/* Walks; `out` gets the solvables marked for installation (the installed
 * ones excluded; an upgrade's new version included) in the order apt
 * marked them.  Returns 0 when apt's walk
 * leaves every marked package's Pre-Depends/Depends satisfied and no
 * Conflicts/Breaks among them, 1 when it leaves something broken (apt-get
 * would then run its problem resolver). */
int aptwalk_run(Pool *pool, const struct aptwalk_req *req, Queue *out);

/* apt's candidate order between two versions of one name: the higher pin
 * (the repo's priority, see deb.c's apt_default_pin) first, then the higher
 * version.  >0 when a is the better candidate. */
int aptwalk_cand_cmp(Pool *pool, Id a, Id b);

/* The alternatives of an or-group "a | b | c", in order, onto alts. */
void aptwalk_flatten_or(Pool *pool, Id dep, Queue *alts);
/* The name a dependency is on ("a (>= 1)" -> a). */
Id aptwalk_dep_name(Pool *pool, Id dep);

#endif
