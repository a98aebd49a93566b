/* The unpacked-package cache: every .deb is unpacked once per store, into
 *
 *   ROOT/unpacked/<sha256 of the .deb>/tree/   its files (merged /usr) and its
 *                                              var/lib/dpkg/info/ members
 *   ROOT/unpacked/<sha256 of the .deb>/pkg     what debinst_unpack() returned
 *
 * and a layer is composed by hard-linking those trees into it, so building a
 * rootfs from warm caches writes no file data.  The cached trees and the
 * layers made from them share inodes: neither is ever written in place (the
 * maintainer scripts of a layer run on an overlay whose upper is a separate
 * directory, folded in by rename afterwards).  Entries appear by rename, so a
 * concurrent pkgimg sees a whole entry or none; gc drops entries that no kept
 * layer's lock names. */
#ifndef PKGIMG_DEBCACHE_H
#define PKGIMG_DEBCACHE_H

struct pkgimg_ctx;
struct store;
struct debinst_pkg;

/* Unpacks the blobs (by sha256) that have no cache entry yet, `jobs` at a time
 * (libarchive decompression is single-threaded per package).  labels name the
 * packages in messages. */
int debcache_fill(struct pkgimg_ctx *ctx, struct store *st, char *const *sha256,
		  char *const *labels, int n, int jobs);

/* Hard-links the cached tree of `sha256` into the tree at rootfd (called
 * `root` in messages), later packages replacing the files of earlier ones as
 * unpacking in that order would, and returns the package's description. */
int debcache_link(struct pkgimg_ctx *ctx, struct store *st, const char *sha256,
		  const char *label, int rootfd, const char *root, struct debinst_pkg *out);

#endif
