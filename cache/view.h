/* An image's merged view, read from its layer trees without mounting them:
 * the layers stacked top first as overlayfs stacks them (whiteouts delete,
 * opaque directories and non-directories hide what is below). */
#ifndef PKGIMG_VIEW_H
#define PKGIMG_VIEW_H

#include <stdbool.h>
#include <sys/stat.h>

struct pkgimg_ctx;

/* Resolves the absolute `path` in the image whose layer trees are
 * trees[0..n) (top first) as a process inside the image would: every
 * symlink met in a directory component is followed (an absolute target
 * from the image's root, ".." never above it); the last component is not
 * followed.  Directories missing from the image are kept as named.
 *
 * *out gets the resolved absolute path (malloc'd, normalised); *sb (may be
 * NULL) what the image has there, st_mode 0 when nothing.  An error (a
 * component that is a file, a symlink loop) is worded
 * "<what>: [<phase>] ..." with `what` naming the caller's thing. */
int view_resolve(struct pkgimg_ctx *ctx, const char *what, const char *phase,
		 char **trees, int n, const char *path, char **out, struct stat *sb);

/* Whether the layer tree `tree` leaves the absolute `path` (no links, dots
 * or repeated slashes in it) to the layers below: it has nothing at path,
 * and each directory it has on the way is a plain one (not opaque, not a
 * link).  Then the image with tree on top sees at path what the image below
 * it sees.  False when unsure (tree unreadable). */
bool view_transparent(const char *tree, const char *path);

struct strv;

/* Which of trees[0..n) (top first) holds the absolute, link-free `path` of
 * the image (its index; *sb, may be NULL, what is there), or -1 when the
 * image has nothing there (a whiteout, an opaque directory or a file above
 * hides it, or no layer has it). */
int view_layer_of(char **trees, int n, const char *path, struct stat *sb);

/* The names in the image's directory `dir` (absolute, link-free), sorted:
 * those of every layer that shows through, whiteouts removing.  *out is
 * replaced; nothing when the image has no such directory. */
int view_list(struct pkgimg_ctx *ctx, char **trees, int n, const char *dir, struct strv *out);

#endif
