/* The .solv cache of a parsed index (a Packages file, a conda repodata):
 * libsolv's own format, which loads far faster than the text it was parsed
 * from.  The caller names the file after the index's sha256 and a format
 * number, so a stale cache is never read.
 *
 * The file is a 24-byte header -- "PKSOLV01", the length of the .solv that
 * follows and its 64-bit checksum (both little-endian) -- then the .solv.  libsolv trusts a .solv it can parse, and a damaged checksum or
 * file name inside one parses; the header makes a truncated or damaged
 * cache a missing one (parse the index again), never a wrong pool. */
#ifndef PKGIMG_SOLVER_SOLVCACHE_H
#define PKGIMG_SOLVER_SOLVCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include <solv/repo.h>

/* A cache file mapped and checked, not yet loaded. */
struct solvcache {
	void *map;
	size_t maplen;
	const unsigned char *solv;	/* inside map */
	size_t len;
};

/* Maps path and checks its header and checksum: true when it holds a whole
 * cache; false when there is none or it is damaged (c left empty). */
bool solvcache_open(const char *path, struct solvcache *c);
/* The numbers of strings and of relations the .solv adds at most: summed
 * over all the caches of a pool and given to stringpool_resize_hash and
 * pool_resize_rels_hash before the first load, the pool's hashes are built
 * once instead of being rebuilt, larger, by every repo after the first. */
void solvcache_counts(const struct solvcache *c, int *nstrings, int *nrels);
/* Loads an opened cache into repo: true when libsolv took it; false (repo
 * emptied again) when it did not: parse the index instead. */
bool solvcache_add(Repo *repo, const struct solvcache *c);
void solvcache_close(struct solvcache *c);

/* solvcache_open + solvcache_add + solvcache_close. */
bool solvcache_load(Repo *repo, const char *path);
/* Writes repo to path through a temporary file renamed over it, so a
 * reader never sees half a cache.  drop: keys not to write (0-terminated;
 * NULL: none), for the attributes nothing reads (package descriptions).
 * Best effort: a failure leaves none. */
void solvcache_save(Repo *repo, const char *path, const Id *drop);

#endif
