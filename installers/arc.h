/* What the installers share when they read archives with libarchive (their
 * internal header: the .deb, .conda and wheel readers use it). */
#ifndef PKGIMG_INSTALLERS_ARC_H
#define PKGIMG_INSTALLERS_ARC_H

#include <archive.h>
#include <locale.h>
#include <stddef.h>

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

/* libarchive converts entry names through the thread's locale, so a UTF-8
 * name (a zip's flag, a tar's pax path) is lost under "C".  push sets
 * C.UTF-8 for this thread only (uselocale), whatever the process's locale,
 * and returns it (0 when the system lacks it: names then stay as they
 * are); pop restores *old. */
locale_t arc_utf8_locale_push(locale_t *old);
void arc_utf8_locale_pop(locale_t l, locale_t old);

#endif
