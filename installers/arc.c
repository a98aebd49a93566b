/* Shared archive reading of the installers: see arc.h. */
#include <errno.h>

#include "core/error.h"
#include "core/str.h"
#include "installers/arc.h"

la_ssize_t arc_member_read(struct archive *a, void *arg, const void **buf)
{
	struct arc_member *m = arg;
	la_ssize_t n = archive_read_data(m->outer, m->buf, sizeof m->buf);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(m->outer));
		return -1;
	}
	*buf = m->buf;
	return n;
}

int arc_read_small(struct pkgimg_ctx *ctx, const char *thing, const char *phase,
		   struct archive *a, const char *what, size_t max, const char *fix,
		   struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, "", 0);
	for (;;) {
		la_ssize_t n;

		sbuf_grow(out, ARC_BUF);
		n = archive_read_data(a, out->buf + out->len, ARC_BUF);
		if (n == 0)
			return 0;
		if (n < 0)
			return pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] cannot read '%s': %s; %s",
					  thing, phase, what, archive_error_string(a), fix);
		out->len += (size_t)n;
		out->buf[out->len] = 0;
		if (out->len > max)
			return pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] '%s' is larger than %zu MiB",
					  thing, phase, what, max >> 20);
	}
}

locale_t arc_utf8_locale_push(locale_t *old)
{
	locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	*old = l ? uselocale(l) : (locale_t)0;
	return l;
}

void arc_utf8_locale_pop(locale_t l, locale_t old)
{
	if (!l)
		return;
	uselocale(old);
	freelocale(l);
}
