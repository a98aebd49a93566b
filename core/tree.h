/* Applying one directory tree onto another, with overlayfs upper-dir
 * semantics: a 0:0 character device (a whiteout) deletes what is in the
 * target, a directory marked opaque (user.overlay.opaque or
 * trusted.overlay.opaque = "y") replaces the target's directory instead of
 * merging into it, a non-directory replaces what is there.  Directories get
 * the source's owner, mode, xattrs and times after their entries are in.
 * overlayfs' own xattrs (user.overlay.*, trusted.overlay.*) never reach the
 * target.
 *
 * How a non-directory gets there:
 *   TREE_COPY  copied (copy_file_range); the source is left alone.  Used to
 *              materialise an image into a plain directory.  Source files that
 *              share an inode (a package's hard links) share one in the
 *              target too, within one tree_apply call.
 *   TREE_LINK  hard-linked: the target shares the source's inode, so neither
 *              may ever be written in place afterwards (the unpacked-package
 *              cache and the layers built from it are immutable; builds write
 *              through an overlay whose upper is a separate dir).  A symlink
 *              in the target where the source has a directory is refused, as
 *              unpacking refuses to write through a symlink.
 *   TREE_MOVE  renamed out of the source (same filesystem), which is consumed.
 *              Used to fold an overlay upper dir into the layer below it.
 *   TREE_HOST  copied as TREE_COPY, onto the host (install --root, export
 *              --dir): a block or character device is refused
 *              (-PKGIMG_E_UNSAFE) unless ctx->flags has
 *              PKGIMG_F_ALLOW_DEVICES, and a regular file that is group- or
 *              world-writable loses its setuid/setgid bits (a warning names
 *              it).  Directories are made 0700 and get their mode last.
 * The entries are visited in name order, so the result does not depend on the
 * order a directory lists them in. */
#ifndef PKGIMG_TREE_H
#define PKGIMG_TREE_H

#include <stdbool.h>

struct pkgimg_ctx;
struct stat;

enum tree_mode { TREE_COPY, TREE_LINK, TREE_MOVE, TREE_HOST };

/* Applies the tree at srcfd onto the directory at dstfd.  `what` names the
 * source in messages (a layer key, a package), `phase` the phase
 * ("materialize", "compose", "commit"), `dst` the target's path.  The root
 * directory's own metadata is applied too when `root_meta` is set. */
int tree_apply(struct pkgimg_ctx *ctx, int srcfd, int dstfd, enum tree_mode mode, int root_meta,
	       const char *what, const char *phase, const char *dst);

/* overlayfs' marks in an upper directory, read the same way by tree_apply,
 * the image view and the OCI export.  A whiteout is a 0:0 character device;
 * an opaque directory has user.overlay.opaque or trusted.overlay.opaque
 * set to "y". */
bool tree_is_whiteout(const struct stat *sb);
bool tree_is_opaque(int fd);

#endif
