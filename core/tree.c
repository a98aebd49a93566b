#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"

#define OPAQUE_XATTR "user.overlay.opaque"
#define OPAQUE_XATTR_TRUSTED "trusted.overlay.opaque"

/* The copies made so far of source files with more than one link
 * (TREE_COPY, TREE_HOST): a source inode met again is linked to its first
 * copy, so a package's hard links (perl and perl5.36.0) stay one file as in
 * the layer.  Open addressing on (dev, ino). */
struct tree_ino {
	dev_t dev;
	ino_t ino;
	char *rel;		/* NULL: free slot */
};

struct tree {
	struct pkgimg_ctx *ctx;
	enum tree_mode mode;
	const char *what, *phase, *dst;
	int dstroot;		/* the target's root directory */
	struct tree_ino *inos;
	size_t ninos, capinos;	/* capinos: a power of two */
};

static struct tree_ino *ino_slot(struct tree *t, dev_t dev, ino_t ino)
{
	size_t i = (size_t)(ino * 0x9E3779B97F4A7C15ull ^ dev) & (t->capinos - 1);

	while (t->inos[i].rel && (t->inos[i].dev != dev || t->inos[i].ino != ino))
		i = (i + 1) & (t->capinos - 1);
	return &t->inos[i];
}

static void ino_add(struct tree *t, const struct stat *sb, const char *rel)
{
	struct tree_ino *e;

	if (2 * (t->ninos + 1) > t->capinos) {
		struct tree_ino *old = t->inos;
		size_t oldcap = t->capinos;

		t->capinos = oldcap ? 2 * oldcap : 1024;
		t->inos = xcalloc(t->capinos, sizeof *t->inos);
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].rel)
				*ino_slot(t, old[i].dev, old[i].ino) = old[i];
		free(old);
	}
	e = ino_slot(t, sb->st_dev, sb->st_ino);
	if (e->rel)
		return;
	e->dev = sb->st_dev;
	e->ino = sb->st_ino;
	e->rel = xstrdup(rel);
	t->ninos++;
}

/* The target path of the first copy of sb's inode, or NULL. */
static const char *ino_first(struct tree *t, const struct stat *sb)
{
	struct tree_ino *e;

	if (!t->capinos)
		return NULL;
	e = ino_slot(t, sb->st_dev, sb->st_ino);
	return e->rel;
}

static int t_err(struct tree *t, int e, const char *rel, const char *action)
{
	return pkgimg_err(t->ctx, -e, "%s: [%s] %s '%s/%s': %s", t->what, t->phase, action,
			  t->dst, rel, strerror(e));
}

bool tree_is_whiteout(const struct stat *sb)
{
	return S_ISCHR(sb->st_mode) && sb->st_rdev == makedev(0, 0);
}

bool tree_is_opaque(int fd)
{
	char v[4];

	return (fgetxattr(fd, OPAQUE_XATTR, v, sizeof v) == 1 && v[0] == 'y') ||
	       (fgetxattr(fd, OPAQUE_XATTR_TRUSTED, v, sizeof v) == 1 && v[0] == 'y');
}

static bool overlay_xattr(const char *name)
{
	return !strncmp(name, "trusted.overlay.", 16) || !strncmp(name, "user.overlay.", 13);
}

static void copy_xattrs(int sfd, int dfd)
{
	char names[8192], val[65536];
	ssize_t n = flistxattr(sfd, names, sizeof names);

	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *nm = names + i;
		ssize_t vn;

		if (overlay_xattr(nm))
			continue;
		vn = fgetxattr(sfd, nm, val, sizeof val);
		if (vn >= 0)
			fsetxattr(dfd, nm, val, (size_t)vn, 0);	/* best effort */
	}
}

/* A file moved out of an overlay upper keeps overlayfs' bookkeeping
 * (origin, impure): drop it. */
static void strip_overlay_xattrs(int dirfd, const char *name)
{
	char path[64 + NAME_MAX], names[8192];
	ssize_t n;

	snprintf(path, sizeof path, "/proc/self/fd/%d/%s", dirfd, name);
	n = llistxattr(path, names, sizeof names);
	for (ssize_t i = 0; n > 0 && i < n; i += (ssize_t)strlen(names + i) + 1)
		if (overlay_xattr(names + i))
			lremovexattr(path, names + i);
}

/* Owner, mode, xattrs, times of an open directory or file. */
static int set_meta_fd(struct tree *t, int sfd, int dfd, const struct stat *sb, const char *rel)
{
	struct timespec ts[2] = { sb->st_atim, sb->st_mtim };
	int r = 0;

	/* chown before chmod (chown clears set-id bits), xattrs (capabilities)
	 * after both, times last */
	if (fchown(dfd, sb->st_uid, sb->st_gid) < 0 && errno != EPERM)
		r = t_err(t, errno, rel, "cannot chown");
	else if (fchmod(dfd, sb->st_mode & 07777) < 0)
		r = t_err(t, errno, rel, "cannot chmod");
	if (r < 0)
		goto out;
	copy_xattrs(sfd, dfd);
	if (futimens(dfd, ts) < 0)
		r = t_err(t, errno, rel, "cannot set times of");
out:
	return r;
}

static int copy_reg(struct tree *t, int sdir, int ddir, const char *name,
		    const struct stat *sb, const char *rel)
{
	struct stat hs;
	int in, out = -1, r = 0, e;

	if (t->mode == TREE_HOST && (sb->st_mode & (S_ISUID | S_ISGID)) &&
	    (sb->st_mode & (S_IWGRP | S_IWOTH))) {
		/* anyone who may write it would run code as its owner */
		pkgimg_warn(t->ctx, "%s: [%s] '/%s' is group- or world-writable (mode %04o): "
			    "its setuid/setgid bits are not written onto the host", t->what,
			    t->phase, rel, (unsigned)(sb->st_mode & 07777));
		hs = *sb;
		hs.st_mode &= ~(mode_t)(S_ISUID | S_ISGID);
		sb = &hs;
	}

	in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		r = t_err(t, errno, rel, "cannot read the source of");
		goto out;
	}
	out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0) {
		r = t_err(t, errno, rel, "cannot create");
		goto out;
	}
	e = fs_copy_data(in, out);
	if (e < 0) {
		char note[512];

		r = t_err(t, -e, rel, "cannot copy");
		fs_nospace_note(e, out, (uint64_t)sb->st_size, note, sizeof note);
		if (note[0])	/* ENOSPC: where, what is free, what this file needs */
			pkgimg_err(t->ctx, r, "%s%s", t->ctx ? t->ctx->errmsg : "", note);
	}
	if (r == 0)
		r = set_meta_fd(t, in, out, sb, rel);
out:
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return r;
}

/* A symlink, device, fifo or socket, recreated. */
static int copy_special(struct tree *t, int sfd, int dfd, const char *name,
			const struct stat *sb, const char *rel)
{
	struct timespec ts[2] = { sb->st_atim, sb->st_mtim };
	char target[PATH_MAX];

	if (t->mode == TREE_HOST && (S_ISCHR(sb->st_mode) || S_ISBLK(sb->st_mode)) &&
	    !(t->ctx->flags & PKGIMG_F_ALLOW_DEVICES))
		return pkgimg_err(t->ctx, -PKGIMG_E_UNSAFE, "%s: [%s] '/%s' is a %s device "
				  "(%u:%u); device nodes from an image are not written onto the "
				  "host: give --allow-devices to write them", t->what, t->phase,
				  rel, S_ISCHR(sb->st_mode) ? "character" : "block",
				  major(sb->st_rdev), minor(sb->st_rdev));
	if (S_ISLNK(sb->st_mode)) {
		ssize_t n = readlinkat(sfd, name, target, sizeof target - 1);

		if (n < 0)
			return t_err(t, errno, rel, "cannot read the link for");
		target[n] = 0;
		if (symlinkat(target, dfd, name) < 0)
			return t_err(t, errno, rel, "cannot create");
	} else if (mknodat(dfd, name, sb->st_mode, sb->st_rdev) < 0) {
		return t_err(t, errno, rel, "cannot create");
	}
	if (fchownat(dfd, name, sb->st_uid, sb->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
		return t_err(t, errno, rel, "cannot chown");
	if (!S_ISLNK(sb->st_mode) && fchmodat(dfd, name, sb->st_mode & 07777, 0) < 0)
		return t_err(t, errno, rel, "cannot chmod");
	utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW);
	return 0;
}

static int apply_dir(struct tree *t, int sfd, int dfd, const char *rel);

/* A directory of the source: merged into what is there, or replacing it when
 * it is opaque or what is there is not a directory. */
static int apply_subdir(struct tree *t, int sfd, int dfd, const char *name,
			const struct stat *sb, bool exists, const struct stat *db,
			const char *rel)
{
	int cs = -1, cd = -1, r = 0;
	bool opaque;

	cs = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cs < 0) {
		r = t_err(t, errno, rel, "cannot read the source of");
		goto out;
	}
	opaque = tree_is_opaque(cs);
	if (exists && t->mode == TREE_LINK && S_ISLNK(db->st_mode)) {
		r = pkgimg_err(t->ctx, -PKGIMG_E_UNSAFE,
			       "%s: [%s] refusing to write '%s/': it would be written through "
			       "the symlink '%s/%s'", t->what, t->phase, rel, t->dst, rel);
		goto out;
	}
	if (exists && (!S_ISDIR(db->st_mode) || opaque)) {
		r = fs_rm_rf(t->ctx, dfd, name);
		if (r < 0) {
			r = pkgimg_err_wrap(t->ctx, r, "%s: [%s] %s", t->what, t->phase, rel);
			goto out;
		}
		exists = false;
	}
	if (!exists && mkdirat(dfd, name, 0700) < 0) {
		r = t_err(t, errno, rel, "cannot create");
		goto out;
	}
	cd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cd < 0) {
		r = t_err(t, errno, rel, "cannot open");
		goto out;
	}
	r = apply_dir(t, cs, cd, rel);
	if (r == 0)	/* after the entries, so that the mtime sticks */
		r = set_meta_fd(t, cs, cd, sb, rel);
out:
	if (cd >= 0)
		close(cd);
	if (cs >= 0)
		close(cs);
	return r;
}

static int apply_entry(struct tree *t, int sfd, int dfd, const char *name, const char *rel)
{
	struct stat sb, db;
	bool exists;
	int r = 0;

	if (fstatat(sfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
		return t_err(t, errno, rel, "cannot read the source of");
	exists = fstatat(dfd, name, &db, AT_SYMLINK_NOFOLLOW) == 0;
	if (tree_is_whiteout(&sb)) {
		/* whiteout: delete what the layers below put here */
		r = fs_rm_rf(t->ctx, dfd, name);
		if (r < 0)
			r = pkgimg_err_wrap(t->ctx, r, "%s: [%s] %s", t->what, t->phase, rel);
		return r;
	}
	if (S_ISDIR(sb.st_mode))
		return apply_subdir(t, sfd, dfd, name, &sb, exists, &db, rel);
	if (exists && S_ISDIR(db.st_mode)) {
		/* unpacking replaces an empty directory only; an overlay
		 * upper replaces whatever is there */
		r = t->mode == TREE_LINK
			? (unlinkat(dfd, name, AT_REMOVEDIR) < 0 ? -errno : 0)
			: fs_rm_rf(t->ctx, dfd, name);
		if (r < 0)
			return t->mode == TREE_LINK
				? t_err(t, -r, rel, "cannot replace the directory")
				: pkgimg_err_wrap(t->ctx, r, "%s: [%s] %s", t->what, t->phase, rel);
	} else if (exists && t->mode != TREE_MOVE && unlinkat(dfd, name, 0) < 0) {
		return t_err(t, errno, rel, "cannot replace");
	}
	switch (t->mode) {
	case TREE_LINK:
		if (linkat(sfd, name, dfd, name, 0) < 0)
			r = t_err(t, errno, rel, "cannot link");
		break;
	case TREE_MOVE:
		if (renameat(sfd, name, dfd, name) < 0)
			r = t_err(t, errno, rel, "cannot move");
		else if (S_ISREG(sb.st_mode))
			strip_overlay_xattrs(dfd, name);
		break;
	case TREE_COPY:
	case TREE_HOST:
		if (S_ISREG(sb.st_mode) && sb.st_nlink > 1) {
			const char *first = ino_first(t, &sb);

			if (first && linkat(t->dstroot, first, dfd, name, 0) == 0)
				break;
			r = copy_reg(t, sfd, dfd, name, &sb, rel);
			if (r == 0)
				ino_add(t, &sb, rel);
			break;
		}
		r = S_ISREG(sb.st_mode) ? copy_reg(t, sfd, dfd, name, &sb, rel)
					: copy_special(t, sfd, dfd, name, &sb, rel);
		break;
	}
	return r;
}

static int apply_dir(struct tree *t, int sfd, int dfd, const char *rel)
{
	struct strv names = { 0 };
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	fd = dup(sfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = t_err(t, errno, rel, "cannot list the source of");
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_add(&names, de->d_name);
	strv_sort(&names);
	for (size_t i = 0; i < names.n && r == 0; i++) {
		char *crel = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);

		r = apply_entry(t, sfd, dfd, names.v[i], crel);
		free(crel);
	}
out:
	if (d)
		closedir(d);
	strv_free(&names);
	return r;
}

int tree_apply(struct pkgimg_ctx *ctx, int srcfd, int dstfd, enum tree_mode mode, int root_meta,
	       const char *what, const char *phase, const char *dst)
{
	struct tree t = { ctx, mode, what, phase, dst, dstfd, NULL, 0, 0 };
	struct stat sb;
	int r;

	r = apply_dir(&t, srcfd, dstfd, "");
	for (size_t i = 0; i < t.capinos; i++)
		free(t.inos[i].rel);
	free(t.inos);
	if (r == 0 && root_meta) {
		if (fstat(srcfd, &sb) < 0)
			r = t_err(&t, errno, ".", "cannot read the source of");
		else
			r = set_meta_fd(&t, srcfd, dstfd, &sb, ".");
	}
	return r;
}
