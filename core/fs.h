/* File-system helpers used across the engine. */
#ifndef PKGIMG_FS_H
#define PKGIMG_FS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

struct pkgimg_ctx;
struct sbuf;
struct strv;

/* mkdir -p (relative to dirfd, which may be AT_FDCWD). */
int fs_mkdirs(struct pkgimg_ctx *ctx, int dirfd, const char *path, mode_t mode);
/* rm -rf; a missing path is not an error.  Never crosses mount points' roots
 * in a way that follows symlinks. */
int fs_rm_rf(struct pkgimg_ctx *ctx, int dirfd, const char *path);
int fs_read_file(struct pkgimg_ctx *ctx, int dirfd, const char *path, struct sbuf *out);
/* Writes path via path.tmp + fsync-less rename: readers see old or new. */
/* name looked up in path (":"-separated; an empty entry is the current
 * dir), as execvp does: the first executable regular file, malloc'd, or
 * NULL; *noexec (optional) tells whether a non-executable one was seen. */
char *fs_which(const char *name, const char *path, bool *noexec);
/* write() until all of data is written (EINTR retried); 0 or -errno. */
int fs_write_all(int fd, const void *data, size_t n);
/* For a write into fd that failed with err: when err is ENOSPC or EDQUOT,
 * "; <dir> has <free> free (statvfs), <needed> needed: free space there,
 * or give the store another disk (--store, PKGIMG_HOME)" into buf (dir:
 * fd's folder), else "".  needed: bytes the whole unpack needs, 0 unknown. */
void fs_nospace_note(int err, int fd, uint64_t needed, char *buf, size_t cap);
/* Copies the rest of in to out (copy_file_range, else read/write); 0 or
 * -errno (the caller words the message). */
int fs_copy_data(int in, int out);
int fs_write_file(struct pkgimg_ctx *ctx, int dirfd, const char *path,
		  const void *data, size_t len, mode_t mode);
/* Disk usage of a tree in bytes (regular files' sizes, symlinks' lengths). */
int fs_tree_size(struct pkgimg_ctx *ctx, int dirfd, const char *path, unsigned long long *bytes);

/* What follows the last '/' of path (all of it when it has none). */
const char *path_base(const char *path);
/* "dir/rest", or rest alone when dir is "" (a root-relative path's parent
 * being the root); malloc'd. */
char *path_join(const char *dir, const char *rest);
/* path made absolute against the current directory (not resolved: no
 * symlink followed, "." and ".." kept); path itself when it is absolute or
 * the current directory is unknown.  malloc'd. */
char *path_abs(const char *path);
/* stat(path) succeeds (links followed). */
bool fs_exists(const char *path);

/* Normalises a relative path from an archive or a package's metadata: drops
 * "." components and repeated or trailing slashes (a leading slash too when
 * abs_ok).  Returns false with *why set for an absolute path (unless
 * abs_ok), a ".." component, or a line break.  An empty result is allowed
 * (an archive's "./"); callers refuse it where it matters. */
bool fs_path_norm(const char *raw, bool abs_ok, struct sbuf *out, const char **why);

/* Opens the directory that holds `path` (relative to basefd, normalised)
 * one component at a time with O_NOFOLLOW, so a symlink on the way is never
 * followed but refused (-PKGIMG_E_UNSAFE).  With `create`, missing
 * directories are made, mode 0755 whatever the umask, and each one this call
 * made is pushed on *made (its path relative to basefd) when made is not
 * NULL.  *dirfd gets a new fd, *name the last component (inside path).
 * Messages read "<thing>: [<phase>] ...". */
int fs_open_parent(struct pkgimg_ctx *ctx, const char *thing, const char *phase, int basefd,
		   const char *path, bool create, struct strv *made, int *dirfd,
		   const char **name);

/* mtime 0 (SOURCE_DATE_EPOCH's default) for the directory at dirfd and
 * everything under it (links not followed); path names it in messages. */
int fs_tree_times_zero(struct pkgimg_ctx *ctx, int dirfd, const char *path);
/* The same for what was made at or after `since` (seconds): the files and
 * directories a build generated, not those with their artifact's time; a
 * file with several links (shared with a cache) is never touched. */
int fs_tree_clamp_times(struct pkgimg_ctx *ctx, int dirfd, const char *path, int64_t since);
/* Owner 0:0 for the directory at dirfd and everything under it (links
 * not followed; EPERM, a rootless run, is not an error). */
int fs_tree_chown_root(struct pkgimg_ctx *ctx, int dirfd, const char *path);

/* The open parent directory of the last path written under a root, kept
 * for the next path in the same directory (archives list a directory's
 * entries together, so most lookups are hits). */
struct dirfd_cache {
	char *dir;		/* relative to the root; NULL when empty */
	int fd;			/* owned; -1 when empty */
};
#define DIRFD_CACHE_INIT { NULL, -1 }

/* A hit: path's parent is the cached directory; *dirfd (not owned) and
 * *name (path's last part) are set. */
bool dirfd_cache_get(const struct dirfd_cache *c, const char *path, int *dirfd, const char **name);
/* Caches fd (ownership moves to the cache) as the parent of path. */
void dirfd_cache_set(struct dirfd_cache *c, const char *path, int fd);
/* The parent of path, from the cache or else opened (missing directories
 * made) by fs_open_parent (same arguments, create set) and cached: the
 * writer of a sorted list of files opens each directory once.  *dirfd is
 * the cache's (not owned). */
int dirfd_cache_open_parent(struct dirfd_cache *c, struct pkgimg_ctx *ctx, const char *thing,
			    const char *phase, int basefd, const char *path, struct strv *made,
			    int *dirfd, const char **name);
/* Closes and forgets the cached directory (before it may be renamed or removed). */
void dirfd_cache_drop(struct dirfd_cache *c);

/* Resolves path (absolute, or relative to base) on the host, following
 * symlinks, and accepts it only when the result is root or below it, as
 * Docker's COPY confines its sources to the build context.  root is a real
 * path (no symlinks).  On success *out is the resolved real path
 * (malloc'd).  Returns -EXDEV when the path leaves root, lexically or
 * through a symlink (whether something outside exists is never told), or
 * -errno when it cannot be resolved; the message reads "<what> '<path>'
 * ...; <fix>" (path escaped and bounded). */
int fs_path_within(struct pkgimg_ctx *ctx, const char *root, const char *base, const char *path,
		   const char *what, const char *fix, char **out);

#endif
