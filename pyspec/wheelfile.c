/* A wheel file as the binary distribution format specifies it: the zip,
 * its one "<name>-<version>.dist-info" directory, and its METADATA (core
 * metadata) read without installing, for the resolver when an index has
 * no PEP 658 metadata.  installers/wheel.c installs on top of it. */
#include <errno.h>
#include <locale.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <archive_entry.h>

#include "core/arc.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/wheelfile.h"

#define WHEELFILE_META_MAX	(64u << 20)	/* largest METADATA read into memory */

int wheel_zip_open(struct pkgimg_ctx *ctx, const char *path, const char *thing,
		   const char *phase, struct archive **out)
{
	struct archive *a = archive_read_new();

	if (!a)
		return pkgimg_err(ctx, -ENOMEM, "%s: [%s] out of memory", thing, phase);
	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, path, ARC_BUF) != ARCHIVE_OK) {
		int e = archive_errno(a);
		int r = pkgimg_err(ctx, e == ENOENT ? -ENOENT : -PKGIMG_E_ARCHIVE,
				   "%s: [%s] cannot read the wheel: %s; download it again",
				   thing, phase, archive_error_string(a));

		archive_read_free(a);
		return r;
	}
	*out = a;
	return 0;
}

/* The entry's name: UTF-8 when libarchive can give it (the zip's UTF-8
 * flag), else the bytes as stored. */
const char *wheel_entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname_utf8(e);

	return n ? n : archive_entry_pathname(e);
}

/* Checks that "<name>-<version>.dist-info" names the project and version of
 * the wheel's file name (PEP 503 names, PEP 440 versions). */
int wheel_check_info_name(struct pkgimg_ctx *ctx, const char *thing, const struct wheel_name *wn,
			  const char *info)
{
	char *stem = xstrndup(info, strlen(info) - strlen(".dist-info"));
	char *dash = strrchr(stem, '-'), *norm = NULL;
	struct pep440_version a, b;
	bool ok = false;

	if (dash && dash != stem) {
		*dash = 0;
		norm = pep503_normalize(stem);
		if (!strcmp(norm, wn->name) && pep440_parse(NULL, dash + 1, &a) == 0) {
			if (pep440_parse(NULL, wn->version, &b) == 0) {
				ok = pep440_cmp(&a, &b) == 0;
				pep440_version_free(&b);
			}
			pep440_version_free(&a);
		}
	}
	free(norm);
	free(stem);
	if (ok)
		return 0;
	return pkgimg_err(ctx, -PKGIMG_E_ARCHIVE,
			  "%s: [install] the wheel's metadata directory '%s' is not '%s-%s.dist-info'; the file was renamed or the wheel is broken: use the file name the project published",
			  thing, info, wn->name, wn->version);
}

int wheel_read_metadata(struct pkgimg_ctx *ctx, const char *wheel_path, const char *filename,
			struct sbuf *out)
{
	const char *thing = filename ? filename : path_base(wheel_path);
	struct archive *a = NULL;
	struct archive_entry *e;
	struct wheel_name wn;
	struct strv infos = { NULL, 0, 0 };
	struct sbuf meta = SBUF_INIT;
	char *meta_top = NULL;
	locale_t old, loc;
	int r, ar;

	r = wheel_filename_parse(ctx, thing, &wn);
	if (r < 0)
		return pkgimg_err_wrap(ctx, r, "%s: [metadata] not a valid wheel file name", thing);
	loc = arc_utf8_locale_push(&old);
	r = wheel_zip_open(ctx, wheel_path, thing, "metadata", &a);
	if (r < 0)
		goto out;
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		const char *name = wheel_entry_name(e), *slash;
		char *top;

		if (!name || !(slash = strchr(name, '/')))
			continue;
		top = xstrndup(name, (size_t)(slash - name));
		if (strlen(top) > 10 && str_ends_with(top, ".dist-info")) {	/* a name before it */
			strv_add_unique(&infos, top);
			if (!strcmp(slash + 1, "METADATA") && !meta_top) {
				meta_top = xstrdup(top);
				r = arc_read_small(ctx, thing, "metadata", a, name, WHEELFILE_META_MAX,
						   "download the wheel again", &meta);
			}
		}
		free(top);
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [metadata] cannot read the zip: %s; download the wheel again",
			       thing, archive_error_string(a));
		goto out;
	}
	if (infos.n != 1) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [metadata] the wheel has %s .dist-info directory; it is broken: rebuild it",
			       thing, infos.n ? "more than one" : "no");
		goto out;
	}
	r = wheel_check_info_name(ctx, thing, &wn, infos.v[0]);
	if (r < 0)
		goto out;
	if (!meta_top || strcmp(meta_top, infos.v[0])) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [metadata] %s/METADATA is missing; the wheel is broken: rebuild it",
			       thing, infos.v[0]);
		goto out;
	}
	sbuf_add(out, meta.buf, meta.len);
out:
	if (a)
		archive_read_free(a);
	arc_utf8_locale_pop(loc, old);
	free(meta_top);
	sbuf_free(&meta);
	strv_free(&infos);
	wheel_name_free(&wn);
	return r;
}
