/* Shared archive reading of the installers: see arc.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "core/arc.h"

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

/* ---- a blob read while hashed ---- */

static la_ssize_t blob_read(struct archive *a, void *arg, const void **buf)
{
	struct arc_blob *b = arg;
	ssize_t n;

	do
		n = pread(b->fd, b->buf, sizeof b->buf, b->pos);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s: %s", b->path, strerror(errno));
		return -1;
	}
	/* in order from where the hash is: take what is new */
	if (b->sha256 && b->pos <= b->hashed && b->pos + n > b->hashed)
		hasher_update(&b->h, b->buf + (b->hashed - b->pos),
			      (size_t)(b->pos + n - b->hashed));
	if (b->pos + n > b->hashed && b->pos <= b->hashed)
		b->hashed = b->pos + n;
	b->pos += n;
	*buf = b->buf;
	return n;
}

static la_int64_t blob_seek(struct archive *a, void *arg, la_int64_t off, int whence)
{
	struct arc_blob *b = arg;
	int64_t to = whence == SEEK_SET ? off : whence == SEEK_CUR ? b->pos + off : b->size + off;

	if (to < 0) {
		archive_set_error(a, EINVAL, "%s: seek before the start", b->path);
		return ARCHIVE_FATAL;
	}
	b->pos = to;
	return to;
}

int arc_blob_open(struct pkgimg_ctx *ctx, const char *thing, const char *phase,
		  struct archive *a, const char *path, const char *sha256, int seekable,
		  struct arc_blob **out)
{
	struct arc_blob *b = xcalloc(1, sizeof *b);
	struct stat sb;
	int r = 0;

	b->path = path;
	b->sha256 = sha256;
	b->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (b->fd < 0 || fstat(b->fd, &sb) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [%s] cannot open '%s': %m", thing, phase, path);
		goto out;
	}
	b->size = sb.st_size;
	if (sha256 && hasher_init(&b->h, "sha256") < 0) {
		r = pkgimg_err(ctx, -ENOSYS, "%s: [%s] sha256 is not available", thing, phase);
		goto out;
	}
	archive_read_set_read_callback(a, blob_read);
	if (seekable)
		archive_read_set_seek_callback(a, blob_seek);
	archive_read_set_callback_data(a, b);
	if (archive_read_open1(a) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [%s] cannot read '%s': %s", thing, phase,
			       path, archive_error_string(a));
		goto out;
	}
out:
	if (r < 0) {
		arc_blob_close(b);
		return r;
	}
	*out = b;
	return 0;
}

int arc_blob_verify(struct pkgimg_ctx *ctx, const char *thing, struct arc_blob *b)
{
	char got[HASH_HEX_MAX];

	if (!b->sha256)
		return 0;
	for (;;) {	/* what the reader did not read in order */
		ssize_t n = pread(b->fd, b->buf, sizeof b->buf, b->hashed);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pkgimg_err(ctx, -errno, "%s: [verify] cannot read '%s': %m", thing,
					  b->path);
		if (n == 0)
			break;
		hasher_update(&b->h, b->buf, (size_t)n);
		b->hashed += n;
	}
	hasher_final_hex(&b->h, got);
	if (strcmp(got, b->sha256))
		return pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] '%s' does not match its "
				  "sha256 (expected %s, got %s): it is corrupt or was replaced in "
				  "the store", thing, b->path, b->sha256, got);
	return 0;
}

void arc_blob_close(struct arc_blob *b)
{
	if (!b)
		return;
	if (b->fd >= 0)
		close(b->fd);
	if (b->h.md)
		hasher_free(&b->h);
	free(b);
}

uint64_t arc_unpack_limit(const struct pkgimg_ctx *ctx, uint64_t declared, uint64_t archive_size)
{
	uint64_t slack = ctx->unpack_slack;

	if (declared > UINT64_MAX / 8 || archive_size > UINT64_MAX / (2 * ARC_RATIO))
		return UINT64_MAX;
	if (declared)
		return declared * 4 > declared + slack ? declared * 4 : declared + slack;
	return archive_size * ARC_RATIO + slack;
}
