/* File-system helpers used across the engine. */
#ifndef PKGIMG_FS_H
#define PKGIMG_FS_H

#include <stddef.h>
#include <sys/types.h>

struct pkgimg_ctx;
struct sbuf;

/* mkdir -p (relative to dirfd, which may be AT_FDCWD). */
int fs_mkdirs(struct pkgimg_ctx *ctx, int dirfd, const char *path, mode_t mode);
/* rm -rf; a missing path is not an error.  Never crosses mount points' roots
 * in a way that follows symlinks. */
int fs_rm_rf(struct pkgimg_ctx *ctx, int dirfd, const char *path);
int fs_read_file(struct pkgimg_ctx *ctx, int dirfd, const char *path, struct sbuf *out);
/* Writes path via path.tmp + fsync-less rename: readers see old or new. */
int fs_write_file(struct pkgimg_ctx *ctx, int dirfd, const char *path,
		  const void *data, size_t len, mode_t mode);
/* Disk usage of a tree in bytes (regular files' sizes, symlinks' lengths). */
int fs_tree_size(struct pkgimg_ctx *ctx, int dirfd, const char *path, unsigned long long *bytes);

#endif
