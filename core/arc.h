/* Reading archives with libarchive: what the .deb, .conda and wheel readers
 * (installers/) and the wheel metadata reader (pyspec/) share — nested
 * members, small entries, a blob hashed while it is read, size limits. */
#ifndef PKGIMG_CORE_ARC_H
#define PKGIMG_CORE_ARC_H

#include <archive.h>
#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"

struct pkgimg_ctx;
struct sbuf;

#define ARC_BUF 65536

/* The entry an outer archive is at, read as a nested archive's input (a
 * .deb's data.tar.*, a .conda's inner .tar.zst):
 *   archive_read_open(inner, member, NULL, arc_member_read, NULL)
 * An error of the outer archive becomes the inner one's. */
struct arc_member {
	struct archive *outer;
	char buf[ARC_BUF];
};
la_ssize_t arc_member_read(struct archive *a, void *arg, const void **buf);

/* Reads the current entry's data into out (replacing what it held, NUL
 * terminated), at most max bytes.  Messages read "<thing>: [<phase>] cannot
 * read '<what>': <cause>; <fix>" and "... '<what>' is larger than N MiB". */
int arc_read_small(struct pkgimg_ctx *ctx, const char *thing, const char *phase,
		   struct archive *a, const char *what, size_t max, const char *fix,
		   struct sbuf *out);

/* A blob (a file of the store) read as an archive's input while its
 * SHA-256 is taken, in the same pass: arc_blob_open() opens path and hands
 * it to `a` (archive_read_open1; with seekable, a seek callback too, which
 * zip's central directory needs).  Bytes are hashed as they are read in
 * order from offset 0; what the reader skipped or seeked over is hashed by
 * arc_blob_verify() from the file, so reading the whole archive costs no
 * extra pass (a zip: its central directory, read first, again at the end).
 * arc_blob_verify() fails with -PKGIMG_E_CHECKSUM "<thing>: [verify] ..."
 * when the digest is not `sha256`: the caller then drops what it unpacked.
 * With sha256 NULL nothing is hashed and verify returns 0. */
struct arc_blob {
	int fd;
	const char *path, *sha256;
	struct hasher h;
	int64_t pos;		/* where the next read starts */
	int64_t hashed;		/* [0, hashed) is in h */
	int64_t size;		/* of the file when opened */
	char buf[ARC_BUF];
};
int arc_blob_open(struct pkgimg_ctx *ctx, const char *thing, const char *phase,
		  struct archive *a, const char *path, const char *sha256, int seekable,
		  struct arc_blob **out);
int arc_blob_verify(struct pkgimg_ctx *ctx, const char *thing, struct arc_blob *b);
/* After archive_read_free(a). NULL is fine. */
void arc_blob_close(struct arc_blob *b);

/* How much an unpacked archive may write: max(4 x declared, declared +
 * slack) when it declares its size (a .deb's Installed-Size), else
 * ARC_RATIO x its own size + slack (a wheel or conda package: none in the
 * wild comes near; deflate itself cannot go past ~1030x).  slack:
 * ctx->unpack_slack (PKGIMG_UNPACK_SLACK, 64 MiB by default). */
#define ARC_RATIO		200
uint64_t arc_unpack_limit(const struct pkgimg_ctx *ctx, uint64_t declared, uint64_t archive_size);

/* libarchive converts entry names through the thread's locale, so a UTF-8
 * name (a zip's flag, a tar's pax path) is lost under "C".  push sets
 * C.UTF-8 for this thread only (uselocale), whatever the process's locale,
 * and returns it (0 when the system lacks it: names then stay as they
 * are); pop restores *old. */
locale_t arc_utf8_locale_push(locale_t *old);
void arc_utf8_locale_pop(locale_t l, locale_t old);

#endif
