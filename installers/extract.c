/* The one libarchive extractor of installers/; see installers/extract.h.
 *
 * Every entry is written through a directory fd of the root, opened one
 * component at a time with O_NOFOLLOW (fs_open_parent); the parent of the
 * last entry stays open for the next one, as archives list a directory's
 * entries together.  archive_write_disk cannot work relative to a dirfd,
 * hence the walk by hand. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "core/arc.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "installers/extract.h"

/* A directory the archive listed: its mode and times are set at the end. */
struct extract_dir {
	char *path;
	mode_t mode;
	struct timespec ts[2];
};

void extract_init(struct extract *x, struct pkgimg_ctx *ctx, const char *thing, int rootfd,
		  const struct extract_opts *o)
{
	memset(x, 0, offsetof(struct extract, buf));
	x->ctx = ctx;
	x->thing = thing;
	x->rootfd = rootfd;
	x->o = o;
	x->dirs = (struct dirfd_cache)DIRFD_CACHE_INIT;
}

static bool has(const struct extract *x, unsigned flag)
{
	return (x->o->flags & flag) != 0;
}

/* ---- an entry's owner, mode and times ---- */

static void entry_times(const struct extract *x, struct archive_entry *e, struct timespec ts[2])
{
	long ns = has(x, EXTRACT_NSEC) ? archive_entry_mtime_nsec(e) : 0;

	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = (ns >= 0 && ns < 1000000000L) ? ns : 0;
}

static mode_t file_mode(const struct extract *x, struct archive_entry *e)
{
	mode_t perm = archive_entry_perm(e);

	if (has(x, EXTRACT_PERMS))
		return perm & 07777;
	return (perm & 0111) ? 0755 : 0644;
}

/* The entry's uid:gid; 0:0 unless EXTRACT_OWNERS (then not used). */
static int entry_owner(struct extract *x, struct archive_entry *e, uid_t *uid, gid_t *gid)
{
	la_int64_t ou = archive_entry_uid(e), og = archive_entry_gid(e);

	*uid = 0;
	*gid = 0;
	if (!has(x, EXTRACT_OWNERS))
		return 0;
	if (ou < 0 || ou >= 0xffffffffll || og < 0 || og >= 0xffffffffll)
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [%s] '%s' has an invalid owner %lld:%lld",
				  x->thing, x->o->phase, x->path.buf, (long long)ou, (long long)og);
	*uid = (uid_t)ou;
	*gid = (gid_t)og;
	return 0;
}

/* chown (fd itself when name is NULL), with EXTRACT_OWNERS; without the
 * privilege for it (EPERM, or EINVAL for an id that is not mapped in a user
 * namespace) the file keeps the caller's ids, loses its set-id bits (*mode),
 * and the caller is warned once. */
static int set_owner(struct extract *x, int fd, const char *name, uid_t uid, gid_t gid,
		     mode_t *mode)
{
	int ok;

	if (!has(x, EXTRACT_OWNERS))
		return 0;
	ok = name ? fchownat(fd, name, uid, gid, AT_SYMLINK_NOFOLLOW) : fchown(fd, uid, gid);
	if (ok == 0)
		return 0;
	if (errno != EPERM && errno != EINVAL)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the owner of '%s': %m",
				  x->thing, x->o->phase, x->disk.buf);
	if (mode)
		*mode &= ~(mode_t)(S_ISUID | S_ISGID);
	if (!x->owner_warned) {
		pkgimg_warn(x->ctx, "%s: [%s] cannot set owners (%s): files keep the ids of the current user",
			    x->thing, x->o->phase, strerror(errno));
		x->owner_warned = true;
	}
	return 0;
}

/* EXTRACT_XATTRS: the entry's attributes an image carries, on fd. */
static int set_xattrs(struct extract *x, struct archive_entry *e, int fd)
{
	const char *name;
	const void *v;
	size_t n;

	if (!has(x, EXTRACT_XATTRS) || archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &v, &n) == ARCHIVE_OK) {
		if (!name || (strcmp(name, "security.capability") &&
			      (strncmp(name, "user.", 5) || !strncmp(name, "user.overlay.", 13))))
			continue;
		if (fsetxattr(fd, name, v, n, 0) == 0)
			continue;
		if (errno != EPERM && errno != ENOTSUP)
			return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the attribute %s of "
					  "'%s': %m", x->thing, x->o->phase, name, x->disk.buf);
		if (!x->xattr_warned)
			pkgimg_warn(x->ctx, "%s: [%s] cannot set extended attributes (%s on '%s': "
				    "%s): files are written without them", x->thing, x->o->phase,
				    name, x->disk.buf, strerror(errno));
		x->xattr_warned = true;
	}
	return 0;
}

/* ---- where an entry goes ---- */

/* The parent directory of the current disk path, created if missing, kept
 * open for the next entry: archives list a directory's entries together.  A
 * cached fd stays valid: only the current entry (a child of it) is ever
 * removed. */
static int open_parent(struct extract *x, int *dirfd, const char **name)
{
	return dirfd_cache_open_parent(&x->dirs, x->ctx, x->thing, x->o->phase, x->rootfd,
				       x->disk.buf, NULL, dirfd, name);
}

/* Makes room for a new non-directory entry: removes what is there (with
 * EXTRACT_REPLACE an empty directory too, as dpkg does; without it a
 * directory there is a broken archive: the same name twice). */
static int make_room(struct extract *x, int dirfd, const char *name)
{
	const char *disk = x->disk.buf;
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot create '%s': %m", x->thing,
				  x->o->phase, disk);
	}
	if (S_ISDIR(st.st_mode) && !has(x, EXTRACT_REPLACE))
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [%s] '%s' is both a directory and a file in the archive%s",
				  x->thing, x->o->phase, disk, x->o->fix);
	if (unlinkat(dirfd, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot replace '%s': %m", x->thing,
				  x->o->phase, disk);
	return 0;
}

/* What every non-directory entry does first: its times and owner, its
 * parent directory (created safely), and no old entry in its place. */
static int entry_begin(struct extract *x, struct archive_entry *e, struct timespec ts[2],
		       uid_t *uid, gid_t *gid, int *dirfd, const char **name)
{
	int r;

	entry_times(x, e, ts);
	r = entry_owner(x, e, uid, gid);
	if (r == 0)
		r = open_parent(x, dirfd, name);
	if (r == 0)
		r = make_room(x, *dirfd, *name);
	return r;
}

/* The disk path of the archive path `path` into out (the format's place
 * hook), refused unless it is a normalised relative path: no hook can
 * lead an entry out of the root. */
static int place(struct extract *x, const char *path, struct archive_entry *e, bool link_target,
		 struct sbuf *out)
{
	const char *why = "empty path";
	struct sbuf *norm = &x->check;

	sbuf_reset(out);
	if (!x->o->place) {
		sbuf_adds(out, path);
		return 0;
	}
	x->o->place(x->o->arg, path, e, link_target, out);
	if (out->len && fs_path_norm(out->buf, false, norm, &why)) {
		if (!strcmp(norm->buf, out->buf))
			return 0;
		why = "not a normalised path";
	}
	return pkgimg_err(x->ctx, -PKGIMG_E_UNSAFE, "%s: [%s] refusing '%s': its place '%s' is not "
			  "a path inside the root (%s)", x->thing, x->o->phase, path,
			  out->len ? out->buf : "", why);
}

/* ---- file data ---- */

static int too_big(struct extract *x)
{
	const char *noun = x->o->noun;

	if (x->o->too_big)
		return x->o->too_big(x->o->arg, x->limit);
	return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] the %s unpacks to more than %llu "
			  "bytes (%d x its size + PKGIMG_UNPACK_SLACK); refused (a broken or hostile "
			  "%s); set PKGIMG_UNPACK_SLACK=SIZE (bytes, K/M/G) to allow more",
			  x->thing, x->o->phase, noun, (unsigned long long)x->limit, ARC_RATIO, noun);
}

/* The current entry's data into fd, within x->limit, hashed into h when it
 * is set up; path names the entry, disk the file, in messages. */
static int copy_data(struct extract *x, struct archive *a, int fd, const char *path,
		     const char *disk, struct hasher *h, int64_t *size)
{
	for (;;) {
		la_ssize_t n = archive_read_data(a, x->buf, sizeof x->buf);
		int r;

		if (n == 0)
			return 0;
		if (n < 0)
			return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] cannot read '%s': %s%s",
					  x->thing, x->o->phase, path, archive_error_string(a),
					  x->o->fix);
		x->written += (uint64_t)n;
		if (x->limit && x->written > x->limit)
			return too_big(x);
		r = fs_write_all(fd, x->buf, (size_t)n);
		if (r < 0) {
			uint64_t need = x->declared > x->written ? x->declared : x->written;
			char note[512];

			fs_nospace_note(r, fd, x->declared ? need : 0, note, sizeof note);
			return pkgimg_err(x->ctx, r, "%s: [%s] cannot write '%s': %s%s", x->thing,
					  x->o->phase, disk, strerror(-r), note);
		}
		if (h && h->md)
			hasher_update(h, x->buf, (size_t)n);
		*size += n;
	}
}

static int create_file(struct extract *x, int dirfd, const char *name, const char *disk, int *fd)
{
	*fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (*fd < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot create '%s': %m", x->thing,
				  x->o->phase, disk);
	return 0;
}

int extract_data(struct extract *x, struct archive *a, int dirfd, const char *name,
		 const char *path, struct hasher *h, int64_t *size)
{
	int fd, r;

	*size = 0;
	r = create_file(x, dirfd, name, path, &fd);
	if (r < 0)
		return r;
	r = copy_data(x, a, fd, path, path, h, size);
	if (close(fd) < 0 && r == 0)
		r = pkgimg_err(x->ctx, -errno, "%s: [%s] cannot write '%s': %m", x->thing,
			       x->o->phase, path);
	return r;
}

/* ---- one entry per type ---- */

static int write_file(struct extract *x, struct archive *a, struct archive_entry *e)
{
	mode_t mode = file_mode(x, e);
	const char *disk = x->disk.buf, *name;
	char hex[HASH_HEX_MAX];
	struct timespec ts[2];
	int dirfd, fd = -1, r;
	int64_t size = 0;
	uid_t uid;
	gid_t gid;

	r = entry_begin(x, e, ts, &uid, &gid, &dirfd, &name);
	if (r == 0)
		r = create_file(x, dirfd, name, disk, &fd);
	if (r < 0)
		goto out;
	if (x->o->hash && hasher_init(&x->h, x->o->hash) < 0) {
		r = pkgimg_err(x->ctx, -ENOSYS, "%s: [%s] %s is not available", x->thing,
			       x->o->phase, x->o->hash);
		goto out;
	}
	r = copy_data(x, a, fd, x->path.buf, disk, &x->h, &size);
	if (r == 0)
		r = set_owner(x, fd, NULL, uid, gid, &mode);
	if (r < 0)
		goto out;
	if (fchmod(fd, mode) < 0 || futimens(fd, ts) < 0) {
		r = pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the mode or time of '%s': %m",
			       x->thing, x->o->phase, disk);
		goto out;
	}
	r = set_xattrs(x, e, fd);
	if (r < 0)
		goto out;
	r = close(fd);
	fd = -1;
	if (r < 0) {
		r = pkgimg_err(x->ctx, -errno, "%s: [%s] cannot write '%s': %m", x->thing,
			       x->o->phase, disk);
		goto out;
	}
	if (x->h.md)
		hasher_final_hex(&x->h, hex);
	if (x->o->file_done)
		x->o->file_done(x->o->arg, x->path.buf, x->o->hash ? hex : NULL);
out:
	if (x->h.md)
		hasher_free(&x->h);
	if (fd >= 0)
		close(fd);
	return r;
}

/* mkdir; what stands there already: a directory is kept, a symlink refused,
 * anything else replaced (EXTRACT_REPLACE) or refused. */
static int make_dir(struct extract *x, int dirfd, const char *name, mode_t mode)
{
	const char *disk = x->disk.buf;
	struct stat st;
	int r;

	if (mkdirat(dirfd, name, mode) == 0)
		return 0;
	if (errno != EEXIST || fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		goto fail;
	if (S_ISDIR(st.st_mode))
		return 0;
	if (S_ISLNK(st.st_mode))
		return pkgimg_err(x->ctx, -PKGIMG_E_UNSAFE, "%s: [%s] refusing to write '%s': it "
				  "would be written through the symlink '%s'", x->thing, x->o->phase,
				  disk, disk);
	errno = EEXIST;
	if (!has(x, EXTRACT_REPLACE))
		goto fail;
	r = make_room(x, dirfd, name);
	if (r < 0)
		return r;
	if (mkdirat(dirfd, name, mode) == 0)
		return 0;
fail:
	return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot create '%s': %m", x->thing,
			  x->o->phase, disk);
}

static void dir_add(struct extract *x, mode_t mode, struct archive_entry *e)
{
	struct extract_dir *d;

	if (x->ndir == x->capdir) {
		x->capdir = x->capdir ? 2 * x->capdir : 64;
		x->dir = xrealloc(x->dir, x->capdir * sizeof *x->dir);
	}
	d = &x->dir[x->ndir++];
	d->path = xstrdup(x->disk.buf);
	d->mode = mode;
	entry_times(x, e, d->ts);
}

static int write_dir(struct extract *x, struct archive_entry *e)
{
	bool attrs = has(x, EXTRACT_DIR_ATTRS);
	mode_t mode = has(x, EXTRACT_PERMS) ? archive_entry_perm(e) & 07777 : 0755;
	const char *name;
	int dirfd, fd = -1, r;
	uid_t uid;
	gid_t gid;

	r = entry_owner(x, e, &uid, &gid);
	if (r == 0)
		r = open_parent(x, &dirfd, &name);
	if (r == 0)
		r = make_dir(x, dirfd, name, attrs ? 0700 : 0755);
	if (r < 0 || !(attrs || has(x, EXTRACT_OWNERS) || has(x, EXTRACT_XATTRS)))
		goto out;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(x->ctx, -errno, "%s: [%s] cannot open '%s': %m", x->thing,
			       x->o->phase, x->disk.buf);
		goto out;
	}
	r = set_owner(x, fd, NULL, uid, gid, &mode);
	if (r == 0)
		r = set_xattrs(x, e, fd);
	/* Mode and time are set at the end: entries written into the
	 * directory would change its time, and a read-only mode would stop
	 * them for an unprivileged caller. */
	if (r == 0 && attrs)
		dir_add(x, mode, e);
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int write_symlink(struct extract *x, struct archive *a, struct archive_entry *e)
{
	const char *t = has(x, EXTRACT_UTF8_NAMES) ? archive_entry_symlink_utf8(e) : NULL;
	const char *disk = x->disk.buf, *name;
	struct timespec ts[2];
	int dirfd, r;
	uid_t uid;
	gid_t gid;

	if (!t)
		t = archive_entry_symlink(e);
	if ((!t || !*t) && has(x, EXTRACT_EMPTY_LINK_FILE)) {
		pkgimg_warn(x->ctx, "%s: [%s] the symlink '%s' has an empty target; written as an empty file",
			    x->thing, x->o->phase, x->path.buf);
		return write_file(x, a, e);
	}
	if (!t || !*t)
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] the symlink '%s' has no target%s",
				  x->thing, x->o->phase, x->path.buf, x->o->fix);
	r = entry_begin(x, e, ts, &uid, &gid, &dirfd, &name);
	if (r < 0)
		return r;
	if (symlinkat(t, dirfd, name) < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot create the symlink '%s': %m",
				  x->thing, x->o->phase, disk);
	r = set_owner(x, dirfd, name, uid, gid, NULL);
	if (r < 0)
		return r;
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the time of '%s': %m",
				  x->thing, x->o->phase, disk);
	return 0;
}

static int write_node(struct extract *x, struct archive_entry *e, mode_t type)
{
	mode_t mode = archive_entry_perm(e) & 07777;
	dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
	const char *disk = x->disk.buf, *name;
	struct timespec ts[2];
	int dirfd, r;
	uid_t uid;
	gid_t gid;

	r = entry_begin(x, e, ts, &uid, &gid, &dirfd, &name);
	if (r < 0)
		return r;
	if (mknodat(dirfd, name, type | 0600, type == S_IFIFO ? 0 : dev) < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot create '%s': %m", x->thing,
				  x->o->phase, disk);
	r = set_owner(x, dirfd, name, uid, gid, &mode);
	if (r < 0)
		return r;
	if (fchmodat(dirfd, name, mode, 0) < 0 || utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the mode or time of '%s': %m",
				  x->thing, x->o->phase, disk);
	return 0;
}

/* A hard link to an earlier entry: its target is an archive path too,
 * normalised and placed as the entry's own, opened without following. */
static int write_hardlink(struct extract *x, struct archive_entry *e, const char *raw)
{
	const char *why = "empty path", *name, *tname, *disk = x->disk.buf;
	int dirfd, tfd = -1, r = -PKGIMG_E_UNSAFE;

	if (*raw && fs_path_norm(raw, false, &x->target, &why)) {
		why = "it is the root";
		r = x->target.len ? 0 : -PKGIMG_E_UNSAFE;
	}
	if (r < 0) {
		char *shown = str_escape(raw);

		r = pkgimg_err(x->ctx, r, "%s: [%s] refusing the hard link '%s' -> '%s': %s",
			       x->thing, x->o->phase, x->path.buf, shown, why);
		free(shown);
		return r;
	}
	r = place(x, x->target.buf, e, true, &x->tdisk);
	if (r < 0)
		return r;
	if (!strcmp(x->tdisk.buf, disk))
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] '%s' is a hard link to itself%s",
				  x->thing, x->o->phase, x->path.buf, x->o->fix);
	r = fs_open_parent(x->ctx, x->thing, x->o->phase, x->rootfd, x->tdisk.buf, false, NULL,
			   &tfd, &tname);
	if (r == 0)
		r = open_parent(x, &dirfd, &name);
	if (r == 0)
		r = make_room(x, dirfd, name);
	if (r == 0 && linkat(tfd, tname, dirfd, name, 0) < 0)
		r = pkgimg_err(x->ctx, errno == ENOENT ? -PKGIMG_E_ARCHIVE : -errno,
			       "%s: [%s] cannot link '%s' to '%s': %m", x->thing, x->o->phase, disk,
			       x->tdisk.buf);
	if (r == 0 && x->o->link_done)
		x->o->link_done(x->o->arg, x->path.buf, x->target.buf);
	if (tfd >= 0)
		close(tfd);
	return r;
}

/* ---- the walk ---- */

static int write_other(struct extract *x, struct archive_entry *e, mode_t type)
{
	if (has(x, EXTRACT_NODES) && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFIFO))
		return write_node(x, e, type == AE_IFCHR ? S_IFCHR : type == AE_IFBLK ? S_IFBLK :
				  S_IFIFO);
	if (has(x, EXTRACT_NODES))
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [%s] '%s' has an unsupported file type (0%o)",
				  x->thing, x->o->phase, x->path.buf, (unsigned)type);
	return pkgimg_err(x->ctx, -PKGIMG_E_UNSAFE,
			  "%s: [%s] refusing '%s': a device, fifo or socket has no place in a %s",
			  x->thing, x->o->phase, x->path.buf, x->o->noun);
}

int extract_entry(struct extract *x, struct archive *a, struct archive_entry *e)
{
	bool utf8 = has(x, EXTRACT_UTF8_NAMES);
	const char *raw = utf8 ? archive_entry_pathname_utf8(e) : NULL;
	const char *hl = utf8 ? archive_entry_hardlink_utf8(e) : NULL, *why;
	mode_t type = archive_entry_filetype(e);
	int r;

	if (!raw)
		raw = archive_entry_pathname(e);
	if (!hl)
		hl = archive_entry_hardlink(e);
	if (!raw)
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] an entry has no name%s",
				  x->thing, x->o->phase, x->o->fix);
	if (!*raw || !fs_path_norm(raw, false, &x->path, &why)) {
		char *shown = str_escape(raw);	/* a hostile name: escaped */

		r = pkgimg_err(x->ctx, -PKGIMG_E_UNSAFE, "%s: [%s] refusing the entry '%s': %s",
			       x->thing, x->o->phase, shown, *raw ? why : "empty path");
		free(shown);
		return r;
	}
	if (!x->path.len) {
		if (!hl && type == AE_IFDIR)
			return 0;	/* "./": the root */
		return pkgimg_err(x->ctx, -PKGIMG_E_UNSAFE,
				  "%s: [%s] refusing the entry '%s': the root, and not a directory",
				  x->thing, x->o->phase, raw);
	}
	r = place(x, x->path.buf, e, false, &x->disk);
	if (r < 0)
		return r;
	if (hl)
		return write_hardlink(x, e, hl);
	switch (type) {
	case AE_IFREG:
		return write_file(x, a, e);
	case AE_IFDIR:
		return write_dir(x, e);
	case AE_IFLNK:
		return write_symlink(x, a, e);
	default:
		return write_other(x, e, type);
	}
}

int extract_all(struct extract *x, struct archive *a, const char *what)
{
	struct archive_entry *e;
	int ar, r;

	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		r = extract_entry(x, a, e);
		if (r < 0)
			return r;
	}
	if (ar != ARCHIVE_EOF)
		return pkgimg_err(x->ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] cannot read %s: %s%s",
				  x->thing, x->o->phase, what, archive_error_string(a), x->o->fix);
	return 0;
}

int extract_finish(struct extract *x)
{
	dirfd_cache_drop(&x->dirs);
	for (size_t i = 0; i < x->ndir; i++) {
		struct extract_dir *d = &x->dir[i];
		const char *name;
		int dirfd, fd, r;

		r = fs_open_parent(x->ctx, x->thing, x->o->phase, x->rootfd, d->path, false, NULL,
				   &dirfd, &name);
		if (r < 0)
			return r;
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dirfd);
		if (fd < 0)
			continue;	/* replaced by a later entry */
		if (fchmod(fd, d->mode) < 0 || futimens(fd, d->ts) < 0) {
			r = pkgimg_err(x->ctx, -errno, "%s: [%s] cannot set the mode or time of '%s': %m",
				       x->thing, x->o->phase, d->path);
			close(fd);
			return r;
		}
		close(fd);
	}
	return 0;
}

void extract_free(struct extract *x)
{
	for (size_t i = 0; i < x->ndir; i++)
		free(x->dir[i].path);
	free(x->dir);
	x->dir = NULL;
	x->ndir = x->capdir = 0;
	dirfd_cache_drop(&x->dirs);
	if (x->h.md)
		hasher_free(&x->h);
	sbuf_free(&x->path);
	sbuf_free(&x->disk);
	sbuf_free(&x->target);
	sbuf_free(&x->tdisk);
	sbuf_free(&x->check);
}
