/* The one libarchive extractor of installers/: the secure walk that writes
 * an archive's entries under a root directory fd.  The .deb installer
 * (installers/deb.c: data.tar.*) and the conda one (installers/conda_pkg.c:
 * the .tar.bz2, a .conda's inner tars) unpack through extract_all(); the
 * wheel installer (installers/wheel.c) stages each zip entry through
 * extract_data(), as a wheel's files are renamed into place only after its
 * RECORD is checked.
 *
 * What it guarantees, whatever the archive holds:
 *  - nothing lands outside the root: an entry's name or a hard link's target
 *    that is absolute or has a ".." component is refused (fs_path_norm), and
 *    so is a disk path from the format's place hook that is not normalised;
 *  - nothing is followed: every path is opened one component at a time from
 *    the root with O_NOFOLLOW (fs_open_parent), so nothing is written through
 *    a symlink, one of the root's or one an earlier entry made; a directory
 *    entry where a symlink stands is refused; a file is created
 *    O_CREAT|O_EXCL|O_NOFOLLOW after what stood there is removed; a hard
 *    link's target is opened the same way, so a link never reaches out;
 *  - the bytes of the files, in all, stay within x->limit (arc_unpack_limit:
 *    the declared or archive size with PKGIMG_UNPACK_SLACK), counted as they
 *    are written, so a bomb stops at the bound; the blob itself was bounded
 *    when it was downloaded (PKGIMG_MAX_DOWNLOAD);
 *  - a device node or fifo is made only with EXTRACT_NODES, a socket never.
 * Owners, modes and times are each format's, by the flags below.  What is a
 * format's own stays in its file, through the hooks: where a path goes on
 * disk (a .deb's merged /usr, its conffiles' .dpkg-new), the file list and
 * checksums (dpkg's .list and md5sums), the wording of a size refusal.
 * Messages read "<thing>: [<phase>] <what> '<path>': <cause><fix>". */
#ifndef PKGIMG_INSTALLERS_EXTRACT_H
#define PKGIMG_INSTALLERS_EXTRACT_H

#include <archive.h>
#include <archive_entry.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"

struct pkgimg_ctx;

#define EXTRACT_BUF 65536

enum {
	/* the entry's uid:gid (an out-of-range one refused); without the
	 * privilege for chown, the caller's ids, no set-id bits, one warning */
	EXTRACT_OWNERS = 1 << 0,
	/* the entry's mode & 07777; else a file is 0755 when any x bit is
	 * set, 0644 otherwise, and a directory 0755 (conda's rule) */
	EXTRACT_PERMS = 1 << 1,
	/* the mtime's nanoseconds kept; else whole seconds */
	EXTRACT_NSEC = 1 << 2,
	/* directories get their entry's mode and times in extract_finish(),
	 * after every entry is in (made 0700 until then); else they keep
	 * the time their last entry gave them */
	EXTRACT_DIR_ATTRS = 1 << 3,
	/* an entry replaces what stands at its path, an empty directory too,
	 * and a directory entry a file (dpkg); else a file where a directory
	 * is, or the reverse, is refused as a broken archive */
	EXTRACT_REPLACE = 1 << 4,
	/* character and block devices and fifos are made; else refused */
	EXTRACT_NODES = 1 << 5,
	/* a symlink with an empty target (Linux has none) is written as an
	 * empty file, with a warning; else refused */
	EXTRACT_EMPTY_LINK_FILE = 1 << 6,
	/* names read as UTF-8 (archive_entry_pathname_utf8, under
	 * arc_utf8_locale_push), the raw bytes where there is none */
	EXTRACT_UTF8_NAMES = 1 << 7,
	/* a file's or directory's extended attributes (pax SCHILY.xattr
	 * records) that an image carries, as image/oci.c exports them: file
	 * capabilities (security.capability, set after the owner, which
	 * clears them) and user.*, never overlayfs' user.overlay.* (a layer
	 * must not smuggle in an opaque mark or a redirect), trusted.*,
	 * security labels or ACLs; without the privilege (EPERM) or the
	 * filesystem's support, one warning */
	EXTRACT_XATTRS = 1 << 8,
};

/* A format's policy.  Every hook may be NULL. */
struct extract_opts {
	unsigned flags;
	const char *phase;	/* "unpack" */
	const char *noun;	/* "package", "wheel": "the <noun> unpacks to more than ..." */
	const char *fix;	/* after a message on a broken archive: "; download it again", or "" */
	const char *hash;	/* "md5": each regular file's digest goes to file_done; NULL none */
	void *arg;		/* the hooks' */
	/* Where the entry at path (normalised, not empty) is written, relative
	 * to the root and normalised (disk: empty on entry); link_target:
	 * path is the target of e, a hard link.  NULL: at path itself. */
	void (*place)(void *arg, const char *path, struct archive_entry *e, bool link_target,
		      struct sbuf *disk);
	/* The regular file at path is written; hex: its digest, NULL without hash. */
	void (*file_done)(void *arg, const char *path, const char *hex);
	/* The hard link path -> target is made (both archive paths). */
	void (*link_done)(void *arg, const char *path, const char *target);
	/* The error when the files pass x->limit (x->declared may word it);
	 * NULL: "<thing>: [<phase>] the <noun> unpacks to more than N bytes ..." */
	int (*too_big)(void *arg, uint64_t limit);
};

struct extract_dir;

struct extract {
	struct pkgimg_ctx *ctx;
	const char *thing;	/* the archive's file name, for messages */
	int rootfd;		/* not owned */
	const struct extract_opts *o;
	uint64_t written;	/* bytes of the files written */
	uint64_t limit;		/* their bound (arc_unpack_limit); 0 none */
	uint64_t declared;	/* the size the archive declares, 0 none: for ENOSPC's note */

	/* private */
	bool owner_warned, xattr_warned;
	struct dirfd_cache dirs;	/* the parent of the last entry written */
	struct extract_dir *dir;	/* EXTRACT_DIR_ATTRS: the directories listed */
	size_t ndir, capdir;
	struct sbuf path, disk, target, tdisk, check;
	struct hasher h;
	char buf[EXTRACT_BUF];
};

/* x (allocated by the caller, it is large) ready to write under rootfd. */
void extract_init(struct extract *x, struct pkgimg_ctx *ctx, const char *thing, int rootfd,
		  const struct extract_opts *o);
/* Writes every entry of a (opened, at its first header) until its end;
 * `what` names it when it cannot be read ("'data.tar.xz'", "the tar"). */
int extract_all(struct extract *x, struct archive *a, const char *what);
/* Writes the entry e, a's current one. */
int extract_entry(struct extract *x, struct archive *a, struct archive_entry *e);
/* After the last entry (and whatever the format writes into the tree):
 * the directories' modes and times (EXTRACT_DIR_ATTRS); no fd stays open. */
int extract_finish(struct extract *x);
void extract_free(struct extract *x);

/* The current entry's data of a into a new file `name` of dirfd (created
 * O_EXCL|O_NOFOLLOW, mode 0600, closed), counted against x->limit and hashed
 * into h (NULL: not hashed); *size: its bytes.  `path` names it in
 * messages.  For a format that places its files itself (a wheel). */
int extract_data(struct extract *x, struct archive *a, int dirfd, const char *name,
		 const char *path, struct hasher *h, int64_t *size);

#endif
