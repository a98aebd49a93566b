/* The .solv cache of a parsed index (a Packages file, a conda repodata):
 * libsolv's own format, which loads far faster than the text it was parsed
 * from.  The caller names the file after the index's sha256 and a format
 * number, so a stale cache is never read. */
#ifndef PKGIMG_SOLVER_SOLVCACHE_H
#define PKGIMG_SOLVER_SOLVCACHE_H

#include <stdbool.h>

#include <solv/repo.h>

/* Loads path into repo: true when it did; false when there is no cache or
 * it is damaged (repo emptied again: parse the index instead). */
bool solvcache_load(Repo *repo, const char *path);
/* Writes repo to path through a temporary file renamed over it, so a
 * reader never sees half a cache.  Best effort: a failure leaves none. */
void solvcache_save(Repo *repo, const char *path);

#endif
