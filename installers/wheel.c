/* Installing wheels into an image tree as pip does; see installers/wheel.h.
 *
 * The zip is read once with libarchive (its seekable zip reader, driven by
 * the central directory); every file goes into a staging directory in the
 * root while its sha256 and size are taken (installers/extract.c writes it:
 * O_EXCL|O_NOFOLLOW, within the bound every format shares).  Then the metadata is checked
 * (.dist-info, WHEEL, METADATA, RECORD against what was read), scripts are
 * fixed and launchers generated in the staging directory, the new RECORD is
 * written there, and only then is everything renamed into place through
 * O_NOFOLLOW directory fds, with a journal to undo it on failure. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "cache/view.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/arc.h"
#include "installers/extract.h"
#include "installers/wheel.h"
#include "pyspec/wheelfile.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "pyspec/wheeltags.h"

#define WHEEL_BUF	65536
#define WHEEL_META_MAX	(64u << 20)	/* largest metadata file read into memory */
#define SHEBANG_MAX	127		/* distlib's limit on Linux, "#!" and "\n" included */
#define DIGEST_MAX	128		/* "sha512=" + 86 base64 characters */

/* The .data/<key>/ directories, in struct order of dirs[] below. */
enum { K_PURELIB, K_PLATLIB, K_HEADERS, K_SCRIPTS, K_DATA, NKEYS };
static const char *const scheme_keys[NKEYS] = {
	"purelib", "platlib", "headers", "scripts", "data"
};

/* distlib's SCRIPT_TEMPLATE (pip/_vendor/distlib/scripts.py, distlib 0.3.8,
 * pip 24): module, import name (the callable's first attribute), callable. */
static const char launcher_fmt[] =
	"# -*- coding: utf-8 -*-\n"
	"import re\n"
	"import sys\n"
	"from %s import %.*s\n"
	"if __name__ == '__main__':\n"
	"    sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])\n"
	"    sys.exit(%s())\n";

/* A wheel's zip entries are staged by installers/extract.c, one flat file
 * each (a wheel's tree is planned after its RECORD is checked). */
static const struct extract_opts wheel_xopts = {
	.phase = "install",
	.noun = "wheel",
	.fix = "; download the wheel again",
};

/* A row of a RECORD file, its fields as written. */
struct row {
	char *path;
	char *hash;
	char *size;
	size_t nfields;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

/* A file to install: from the zip, or generated (zname NULL). */
struct wfile {
	char *zname;		/* the entry's name in the zip, RECORD's spelling */
	char *norm;		/* normalised: no ".", no empty components */
	char stage[24];		/* its file in the staging directory */
	char digest[DIGEST_MAX];	/* "sha256=<b64>" of the staged content */
	int64_t size;
	struct timespec mtime;	/* the zip entry's */
	bool exec;		/* executable in the zip's external attributes */
	bool changed;		/* rewritten here: RECORD gets the new digest */
	bool skip;		/* an entry point's wrapper: not installed, row kept */
	bool drop;		/* INSTALLER, REQUESTED: ours replace them, row dropped */
	mode_t mode;
	char *dest;		/* root-relative target; NULL when skipped */
	char *rec;		/* the target's RECORD path */
	const struct row *row;	/* its row in the wheel's RECORD */
};

/* One step of the commit, undone in reverse on failure. */
struct placed {
	char *dest;
	char backup[24];	/* what was at dest, moved into staging, or "" */
	bool moved;		/* the new file is at dest */
};

/* An entry point of one group, as importlib.metadata reads it. */
struct ep {
	char *name;
	char *value;
};

struct eps {
	struct ep *v;
	size_t n, cap;
};

struct inst {
	struct pkgimg_ctx *ctx;
	const char *path;		/* the wheel, as given */
	const char *thing;		/* its file name, for messages */
	const struct wheel_scheme *s;
	const struct wheel_install_opts *o;
	int rootfd, stagefd;
	char stagedir[64];		/* the staging directory's name in the root */
	unsigned nstaged;
	struct wheel_name wn;
	bool have_wn;

	struct wfile *f;		/* the zip's files (sorted by zname), then generated ones */
	size_t nf, capf, nzip;
	struct strv dirtops;		/* first components of the zip's directory entries */
	char *info;			/* "foo-1.0.dist-info", as in the zip */
	char *dirs[NKEYS];		/* the scheme's directories, normalised */
	const char *lib;		/* dirs[K_PURELIB] or dirs[K_PLATLIB] */
	char *python;			/* the interpreter, for shebangs */
	char *pyver;			/* "3.11" or NULL */
	struct pymeta meta;
	bool have_meta;
	struct rows rec;		/* the wheel's RECORD */
	struct rows out;		/* the RECORD installed */
	struct wfile **order;		/* what is installed, by dest */
	size_t norder;

	struct strv made;		/* directories created, parents first */
	struct placed *placed;
	size_t nplaced, capplaced;
	struct dirfd_cache parent;	/* the parent of the last file placed */
	struct extract x;		/* staging the zip's files; x.limit: the
					 * bound (arc_unpack_limit) */
	char buf[WHEEL_BUF];
};

/* ---- small helpers ---- */

/* The first component of a normalised path, as a new string. */
static char *first_comp(const char *path)
{
	return xstrndup(path, strcspn(path, "/"));
}

/* fs_path_norm(), and an empty result refused unless abs_ok (RECORD,
 * read line by line as pip reads it, could not carry a line break). */
static bool wheel_path_norm(const char *raw, bool abs_ok, struct sbuf *out, const char **why)
{
	if (!fs_path_norm(raw, abs_ok, out, why))
		return false;
	if (!abs_ok && !out->len) {
		*why = "empty path";
		return false;
	}
	return true;
}

static void split_comps(const char *path, struct strv *out)
{
	while (*path) {
		size_t n = strcspn(path, "/");

		strv_push(out, xstrndup(path, n));
		path += n;
		if (*path)
			path++;
	}
}

/* os.path.relpath(to, from) for two normalised root-relative paths, as pip's
 * _fs_to_record_path writes paths outside the site dir: "../../../bin/x". */
static char *relpath(const char *to, const char *from)
{
	struct strv t = { NULL, 0, 0 }, f = { NULL, 0, 0 };
	struct sbuf s = SBUF_INIT;
	size_t common = 0;

	split_comps(to, &t);
	split_comps(from, &f);
	while (common < t.n && common < f.n && !strcmp(t.v[common], f.v[common]))
		common++;
	for (size_t i = common; i < f.n; i++)
		sbuf_adds(&s, i + 1 < f.n || common < t.n ? "../" : "..");
	for (size_t i = common; i < t.n; i++) {
		sbuf_adds(&s, t.v[i]);
		if (i + 1 < t.n)
			sbuf_addc(&s, '/');
	}
	if (!s.len)
		sbuf_addc(&s, '.');
	strv_free(&t);
	strv_free(&f);
	return sbuf_detach(&s);
}

/* "algo=" and the digest in urlsafe base64 without padding, the form of
 * RECORD (pip's rehash()); finishes h. */
static void digest_final(struct hasher *h, const char *algo, char out[DIGEST_MAX])
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned char raw[64];
	char hex[HASH_HEX_MAX], *o;
	size_t n = 0;

	hasher_final_hex(h, hex);
	for (; hex[2 * n] && n < sizeof raw; n++)
		raw[n] = (unsigned char)(ascii_hexval(hex[2 * n]) << 4 |
					 ascii_hexval(hex[2 * n + 1]));
	o = out + snprintf(out, DIGEST_MAX, "%s=", algo);
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)raw[i] << 16;

		if (i + 1 < n)
			v |= (unsigned)raw[i + 1] << 8;
		if (i + 2 < n)
			v |= raw[i + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		if (i + 1 < n)
			*o++ = b64[v >> 6 & 63];
		if (i + 2 < n)
			*o++ = b64[v & 63];
	}
	*o = 0;
}

static void digest_mem(const void *data, size_t len, char out[DIGEST_MAX])
{
	struct hasher h;

	hasher_init(&h, "sha256");
	hasher_update(&h, data, len);
	digest_final(&h, "sha256", out);
}


/* ---- RECORD as CSV (Python's csv module, excel dialect) ---- */

static void rows_add(struct rows *rs, char *path, char *hash, char *size, size_t nfields)
{
	if (rs->n == rs->cap) {
		rs->cap = rs->cap ? 2 * rs->cap : 64;
		rs->v = xrealloc(rs->v, rs->cap * sizeof *rs->v);
	}
	rs->v[rs->n++] = (struct row){ path, hash, size, nfields };
}

static void rows_free(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->v[i].path);
		free(rs->v[i].hash);
		free(rs->v[i].size);
	}
	free(rs->v);
	memset(rs, 0, sizeof *rs);
}

/* The next line of *b as str.splitlines() cuts it (\n, \r\n, \r and the
 * other ASCII line boundaries \v \f \x1c \x1d \x1e). */
static bool next_line(struct blob *b, struct blob *line)
{
	size_t i = 0;

	if (!b->len)
		return false;
	while (i < b->len && !strchr("\n\r\v\f\x1c\x1d\x1e", b->ptr[i]))
		i++;
	line->ptr = b->ptr;
	line->len = i;
	if (i < b->len && b->ptr[i] == '\r' && i + 1 < b->len && b->ptr[i + 1] == '\n')
		i++;
	if (i < b->len)
		i++;
	b->ptr += i;
	b->len -= i;
	return true;
}

/* Splits one line into fields as csv.reader does (quotes doubled inside
 * quoted fields, text after a closing quote kept).  False on a quote left
 * open: pip reads RECORD line by line, so a field cannot span lines. */
static bool csv_fields(struct blob line, struct strv *out)
{
	enum { START, PLAIN, QUOTED, QUOTE_IN_QUOTED } st = START;
	struct sbuf field = SBUF_INIT;

	for (size_t i = 0; i < line.len; i++) {
		char c = line.ptr[i];

		switch (st) {
		case START:
			if (c == '"') {
				st = QUOTED;
				break;
			}
			st = PLAIN;
			/* fall through */
		case PLAIN:
			if (c == ',') {
				sbuf_add(&field, "", 0);
				strv_push(out, sbuf_detach(&field));
				st = START;
			} else {
				sbuf_addc(&field, c);
			}
			break;
		case QUOTED:
			if (c == '"')
				st = QUOTE_IN_QUOTED;
			else
				sbuf_addc(&field, c);
			break;
		case QUOTE_IN_QUOTED:
			if (c == '"') {
				sbuf_addc(&field, c);
				st = QUOTED;
			} else if (c == ',') {
				sbuf_add(&field, "", 0);
				strv_push(out, sbuf_detach(&field));
				st = START;
			} else {
				sbuf_addc(&field, c);
				st = PLAIN;
			}
			break;
		}
	}
	sbuf_add(&field, "", 0);
	strv_push(out, sbuf_detach(&field));
	return st != QUOTED;
}

/* Parses RECORD text into rows (blank lines skipped, as csv.reader yields
 * them empty).  what names the file in messages. */
static int record_parse(struct pkgimg_ctx *ctx, const char *what, struct blob text,
			struct rows *out)
{
	struct blob line;
	size_t lineno = 0;

	while (next_line(&text, &line)) {
		struct strv f = { NULL, 0, 0 };

		lineno++;
		if (!line.len)
			continue;
		if (!csv_fields(line, &f)) {
			strv_free(&f);
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "%s: [install] RECORD line %zu: a quoted field is not closed; the wheel is broken: rebuild it",
					  what, lineno);
		}
		rows_add(out, xstrdup(f.v[0]), xstrdup(f.n > 1 ? f.v[1] : ""),
			 xstrdup(f.n > 2 ? f.v[2] : ""), f.n);
		strv_free(&f);
	}
	return 0;
}

/* A field as csv.writer's QUOTE_MINIMAL writes it. */
static void csv_put(struct sbuf *s, const char *field)
{
	if (!strpbrk(field, ",\"\r\n")) {
		sbuf_adds(s, field);
		return;
	}
	sbuf_addc(s, '"');
	for (; *field; field++) {
		if (*field == '"')
			sbuf_addc(s, '"');
		sbuf_addc(s, *field);
	}
	sbuf_addc(s, '"');
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	if (!c)
		c = strcmp(x->hash, y->hash);
	return c ? c : strcmp(x->size, y->size);
}

/* pip's _normalized_outrows + csv.writer: rows sorted by (path, hash, size)
 * (strcmp on UTF-8 is Python's code-point order), "\r\n" after each. */
static void record_text(struct rows *rs, struct sbuf *out)
{
	if (rs->n > 1)	/* qsort(NULL, 0) is undefined */
		qsort(rs->v, rs->n, sizeof *rs->v, row_cmp);
	sbuf_add(out, "", 0);
	for (size_t i = 0; i < rs->n; i++) {
		csv_put(out, rs->v[i].path);
		sbuf_addc(out, ',');
		csv_put(out, rs->v[i].hash);
		sbuf_addc(out, ',');
		csv_put(out, rs->v[i].size);
		sbuf_adds(out, "\r\n");
	}
}

int wheel_record_normalize(struct pkgimg_ctx *ctx, const char *what, const char *text,
			   size_t len, struct sbuf *out)
{
	struct rows rs = { 0 };
	int r = record_parse(ctx, what, (struct blob){ text, len }, &rs);

	if (r == 0) {
		record_text(&rs, out);
		r = rs.n > INT_MAX ? INT_MAX : (int)rs.n;
	}
	rows_free(&rs);
	return r;
}

/* ---- walking the root safely ---- */


/* ---- reading the zip ---- */




static struct wfile *file_new(struct inst *in)
{
	struct wfile *f;

	if (in->nf == in->capf) {
		in->capf = in->capf ? 2 * in->capf : 64;
		in->f = xrealloc(in->f, in->capf * sizeof *in->f);
	}
	f = &in->f[in->nf++];
	memset(f, 0, sizeof *f);
	snprintf(f->stage, sizeof f->stage, "f%u", in->nstaged++);
	f->mode = 0644;
	return f;
}

/* Streams the current entry into the staged file of f (installers/extract:
 * created O_EXCL|O_NOFOLLOW, within the bound), taking its sha256. */
static int stage_entry(struct inst *in, struct archive *a, struct wfile *f)
{
	struct hasher h;
	int r;

	if (hasher_init(&h, "sha256") < 0)
		return pkgimg_err(in->ctx, -ENOSYS, "%s: [install] sha256 is not available",
				  in->thing);
	r = extract_data(&in->x, a, in->stagefd, f->stage, f->zname, &h, &f->size);
	digest_final(&h, "sha256", f->digest);
	return r;
}

static int stage_zip_entry(struct inst *in, struct archive *a, struct archive_entry *e,
			 struct sbuf *norm)
{
	const char *raw = wheel_entry_name(e), *why;
	mode_t type = archive_entry_filetype(e);
	struct wfile *f;
	size_t len;

	if (!raw || !*raw)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] the zip has an entry without a name; the wheel is broken: download it again",
				  in->thing);
	len = strlen(raw);
	/* pip skips directory entries (names ending in "/"); their first
	 * component still counts when it looks for the .dist-info dir */
	if (raw[len - 1] == '/' || (type == AE_IFDIR && !archive_entry_hardlink(e))) {
		if (wheel_path_norm(raw, false, norm, &why))
			strv_push(&in->dirtops, first_comp(norm->buf));
		return 0;
	}
	if (!wheel_path_norm(raw, false, norm, &why)) {
		char *shown = str_escape(raw);	/* a hostile name: escaped */
		int r = pkgimg_err(in->ctx, -PKGIMG_E_UNSAFE,
				   "%s: [install] refusing '%s': %s; the wheel is malformed or malicious: do not install it",
				   in->thing, shown, why);

		free(shown);
		return r;
	}
	if (archive_entry_hardlink(e) || type != AE_IFREG)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] '%s' is a %s, and a wheel holds only regular files; rebuild the wheel without it",
				  in->thing, raw,
				  archive_entry_hardlink(e) ? "hard link" :
				  type == AE_IFLNK ? "symlink" : "special file");
	f = file_new(in);
	f->zname = xstrdup(raw);
	f->norm = xstrdup(norm->buf);
	f->exec = (archive_entry_perm(e) & 0111) != 0;
	f->mtime.tv_sec = archive_entry_mtime(e);
	f->mtime.tv_nsec = archive_entry_mtime_nsec(e);
	if (f->mtime.tv_nsec < 0 || f->mtime.tv_nsec >= 1000000000L)
		f->mtime.tv_nsec = 0;
	return stage_entry(in, a, f);
}

static int zname_cmp(const void *a, const void *b)
{
	return strcmp(((const struct wfile *)a)->zname, ((const struct wfile *)b)->zname);
}

/* Reads every entry of the zip into the staging directory, then sorts the
 * files by name, refusing a name that occurs twice. */
static int stage_zip(struct inst *in)
{
	struct archive *a = NULL;
	struct arc_blob *blob = NULL;
	struct archive_entry *e;
	struct sbuf norm = SBUF_INIT;
	locale_t old, loc = arc_utf8_locale_push(&old);
	int r, ar;

	a = archive_read_new();
	if (!a) {
		r = pkgimg_err(in->ctx, -ENOMEM, "%s: [install] out of memory", in->thing);
		goto out;
	}
	archive_read_support_format_zip(a);
	r = arc_blob_open(in->ctx, in->thing, "install", a, in->path, in->o->sha256, 1, &blob);
	if (r < 0)
		goto out;
	in->x.limit = arc_unpack_limit(in->ctx, 0, (uint64_t)blob->size);
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK || ar == ARCHIVE_WARN) {
		r = stage_zip_entry(in, a, e, &norm);
		if (r < 0)
			goto out;
	}
	if (ar != ARCHIVE_EOF) {
		r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] cannot read the zip: %s; download the wheel again",
			       in->thing, archive_error_string(a));
		goto out;
	}
	/* before anything staged is used: the blob is what the lock names */
	r = arc_blob_verify(in->ctx, in->thing, blob);
	if (r < 0)
		goto out;
	in->nzip = in->nf;
	qsort(in->f, in->nzip, sizeof *in->f, zname_cmp);
	for (size_t i = 1; i < in->nzip; i++) {
		if (!strcmp(in->f[i - 1].zname, in->f[i].zname)) {
			r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [install] '%s' is in the zip twice; the wheel is malformed: rebuild it",
				       in->thing, in->f[i].zname);
			goto out;
		}
	}
out:
	sbuf_free(&norm);
	if (a)
		archive_read_free(a);
	arc_blob_close(blob);
	arc_utf8_locale_pop(loc, old);
	return r;
}

/* The zip file at normalised path `norm`, or NULL. */
static struct wfile *find_norm(struct inst *in, const char *norm)
{
	for (size_t i = 0; i < in->nzip; i++)
		if (!strcmp(in->f[i].norm, norm))
			return &in->f[i];
	return NULL;
}

static struct wfile *find_info_file(struct inst *in, const char *leaf)
{
	char *p = xasprintf("%s/%s", in->info, leaf);
	struct wfile *f = find_norm(in, p);

	free(p);
	return f;
}

static int read_staged(struct inst *in, const struct wfile *f, struct sbuf *out)
{
	int r;

	if (f->size > (int64_t)WHEEL_META_MAX)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE, "%s: [install] '%s' is larger than %u MiB",
				  in->thing, f->zname, WHEEL_META_MAX >> 20);
	r = fs_read_file(in->ctx, in->stagefd, f->stage, out);
	if (r < 0)
		return pkgimg_err_wrap(in->ctx, r, "%s: [install] '%s'", in->thing, f->zname);
	return 0;
}

/* ---- the .dist-info directory ---- */


/* pip's wheel_dist_info_dir(): exactly one top-level *.dist-info. */
static int find_info(struct inst *in)
{
	struct strv infos = { NULL, 0, 0 };
	struct sbuf list = SBUF_INIT;
	int r = 0;

	for (size_t i = 0; i < in->nzip; i++) {
		char *top = first_comp(in->f[i].norm);

		/* a file in a *.dist-info dir, not a file named so */
		if (str_ends_with(top, ".dist-info") && in->f[i].norm[strlen(top)] == '/')
			strv_add_unique(&infos, top);
		free(top);
	}
	for (size_t i = 0; i < in->dirtops.n; i++)
		if (str_ends_with(in->dirtops.v[i], ".dist-info"))
			strv_add_unique(&infos, in->dirtops.v[i]);
	if (infos.n == 0) {
		r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] the wheel has no .dist-info directory; it is not a wheel: rebuild it",
			       in->thing);
		goto out;
	}
	if (infos.n > 1) {
		strv_sort(&infos);
		for (size_t i = 0; i < infos.n; i++)
			sbuf_addf(&list, "%s'%s'", i ? ", " : "", infos.v[i]);
		r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] the wheel has several .dist-info directories (%s); a wheel holds one project: rebuild it",
			       in->thing, list.buf);
		goto out;
	}
	r = wheel_check_info_name(in->ctx, in->thing, &in->wn, infos.v[0]);
	if (r == 0)
		in->info = xstrdup(infos.v[0]);
out:
	sbuf_free(&list);
	strv_free(&infos);
	return r;
}

/* The value of header `key` of an RFC 822-style block, up to the first
 * blank line, as Python's email parser gives it to Message.get(): the first
 * occurrence, name without case, leading blanks and the line end removed. */
static bool header_get(struct blob text, const char *key, struct blob *val)
{
	struct blob line;

	while (next_line(&text, &line)) {
		const char *colon;

		if (!line.len)
			break;
		colon = memchr(line.ptr, ':', line.len);
		if (!colon || line.ptr[0] == ' ' || line.ptr[0] == '\t')
			continue;
		if (!blob_ieq_str((struct blob){ line.ptr, (size_t)(colon - line.ptr) }, key))
			continue;
		val->ptr = colon + 1;
		val->len = (size_t)(line.ptr + line.len - val->ptr);
		while (val->len && (val->ptr[0] == ' ' || val->ptr[0] == '\t')) {
			val->ptr++;
			val->len--;
		}
		return true;
	}
	return false;
}

/* pip's wheel_version() and check_compatibility(): major above 1 refused,
 * anything above 1.0 warned about. */
static int check_wheel_version(struct inst *in, struct blob v)
{
	unsigned long parts[2] = { 0, 0 };
	size_t np = 0;
	struct blob b = blob_trim(v), part;
	bool more = true, ok = b.len > 0, above = false;

	while (ok && more) {
		more = blob_split(&b, '.', &part);
		part = blob_trim(part);
		ok = part.len > 0 && part.len < 10;
		for (size_t i = 0; ok && i < part.len; i++)
			ok = ascii_isdigit(part.ptr[i]);
		if (!ok)
			break;
		/* digits followed by a non-digit (or the text's NUL): strtoul
		 * stops there.  Python compares tuples: (1, 0, 0) > (1, 0). */
		if (np < 2)
			parts[np] = strtoul(part.ptr, NULL, 10);
		else
			above = true;
		np++;
	}
	if (!ok)
		return pkgimg_err(in->ctx, -PKGIMG_E_PARSE,
				  "%s: [install] %s/WHEEL: invalid Wheel-Version '" BLOB_FMT "'; the wheel is broken: rebuild it",
				  in->thing, in->info, BLOB_ARG(blob_trim(v)));
	if (parts[0] > 1)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] Wheel-Version " BLOB_FMT " is not supported (only 1.x is); pick an older release of the project or a newer pkgimg",
				  in->thing, BLOB_ARG(blob_trim(v)));
	if (parts[0] == 1 && (parts[1] > 0 || above))
		pkgimg_warn(in->ctx, "%s: [install] installing from a newer Wheel-Version (" BLOB_FMT ")",
			    in->thing, BLOB_ARG(blob_trim(v)));
	return 0;
}

static int read_wheel_file(struct inst *in)
{
	struct wfile *f = find_info_file(in, "WHEEL");
	struct sbuf text = SBUF_INIT;
	struct blob v;
	int r;

	if (!f)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] %s/WHEEL is missing; the wheel is broken: rebuild it",
				  in->thing, in->info);
	r = read_staged(in, f, &text);
	if (r < 0)
		goto out;
	if (!header_get((struct blob){ text.buf, text.len }, "Wheel-Version", &v)) {
		r = pkgimg_err(in->ctx, -PKGIMG_E_PARSE,
			       "%s: [install] %s/WHEEL has no Wheel-Version; the wheel is broken: rebuild it",
			       in->thing, in->info);
		goto out;
	}
	r = check_wheel_version(in, v);
	if (r < 0)
		goto out;
	/* pip: metadata.get("Root-Is-Purelib", "").lower() == "true" */
	in->lib = header_get((struct blob){ text.buf, text.len }, "Root-Is-Purelib", &v) &&
		blob_ieq_str(v, "true") ? in->dirs[K_PURELIB] : in->dirs[K_PLATLIB];
out:
	sbuf_free(&text);
	return r;
}

/* METADATA must name the project and version of the file name, as pip's
 * resolver checks ("inconsistent name/version"). */
static int read_metadata_file(struct inst *in)
{
	struct wfile *f = find_info_file(in, "METADATA");
	struct sbuf text = SBUF_INIT;
	struct pep440_version v;
	char *what = xasprintf("%s: %s/METADATA", in->thing, in->info), *norm = NULL;
	int r;

	if (!f) {
		r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] %s/METADATA is missing; the wheel is broken: rebuild it",
			       in->thing, in->info);
		goto out;
	}
	r = read_staged(in, f, &text);
	if (r == 0)
		r = pymeta_parse(in->ctx, what, text.buf, text.len, &in->meta);
	if (r < 0)
		goto out;
	in->have_meta = true;
	norm = pep503_normalize(in->meta.name);
	r = pep440_parse(NULL, in->wn.version, &v);
	if (r == 0) {
		r = strcmp(norm, in->wn.name) || pep440_cmp(&v, &in->meta.ver) ? -1 : 0;
		pep440_version_free(&v);
	}
	if (r < 0)
		r = pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] METADATA names %s %s, the file name %s %s; the file was renamed or the wheel is broken",
			       in->thing, in->meta.name, in->meta.version, in->wn.name,
			       in->wn.version);
out:
	free(norm);
	free(what);
	sbuf_free(&text);
	return r;
}

/* ---- RECORD against the zip ---- */

static bool record_exempt(struct inst *in, const struct wfile *f)
{
	size_t n = strlen(in->info);
	const char *leaf = f->norm + n;

	if (strncmp(f->norm, in->info, n))
		return false;
	return !strcmp(leaf, "/RECORD") || !strcmp(leaf, "/RECORD.jws") ||
		!strcmp(leaf, "/RECORD.p7s");
}

static struct wfile *find_zname(struct inst *in, const char *zname)
{
	struct wfile key;

	key.zname = (char *)zname;
	return bsearch(&key, in->f, in->nzip, sizeof *in->f, zname_cmp);
}

/* The digest of a staged file with another algorithm than sha256. */
static int rehash_staged(struct inst *in, const struct wfile *f, const char *algo,
			 char out[DIGEST_MAX])
{
	struct hasher h;
	ssize_t n;
	int fd, r = 0;

	fd = openat(in->stagefd, f->stage, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(in->ctx, -errno, "%s: [install] '%s': %m", in->thing, f->zname);
	if (hasher_init(&h, algo) < 0) {
		close(fd);
		return pkgimg_err(in->ctx, -ENOSYS, "%s: [install] %s is not available", in->thing,
				  algo);
	}
	while ((n = read(fd, in->buf, sizeof in->buf)) > 0)
		hasher_update(&h, in->buf, (size_t)n);
	if (n < 0)
		r = pkgimg_err(in->ctx, -errno, "%s: [install] '%s': %m", in->thing, f->zname);
	digest_final(&h, algo, out);
	close(fd);
	return r;
}

/* What a RECORD mismatch means: with the blob verified against the lock
 * while it was read, the wheel itself is inconsistent (downloading it
 * again gives the same bytes). */
static const char *record_fix(const struct inst *in)
{
	return in->o->sha256
		? "the wheel itself is inconsistent (the file is the one the lock names: its sha256 "
		  "matched); it was built or edited wrong: report it to the project, or pin another "
		  "version"
		: "the download is corrupt or the wheel was modified: download it again";
}

static int check_hash(struct inst *in, const struct wfile *f, const struct row *row)
{
	char other[DIGEST_MAX];
	const char *want = row->hash, *eq = strchr(want, '='), *got = f->digest;
	size_t wlen = strlen(want);
	char *algo;
	int r = 0;

	if (!*want || !eq)
		return pkgimg_err(in->ctx, -PKGIMG_E_CHECKSUM,
				  "%s: [install] RECORD has no hash for '%s'; the wheel cannot be verified: rebuild it",
				  in->thing, f->zname);
	algo = xstrndup(want, (size_t)(eq - want));
	if (strcmp(algo, "sha256") && strcmp(algo, "sha384") && strcmp(algo, "sha512")) {
		r = pkgimg_err(in->ctx, -PKGIMG_E_CHECKSUM,
			       "%s: [install] RECORD hashes '%s' with '%s'; only sha256, sha384 and sha512 are accepted: rebuild the wheel",
			       in->thing, f->zname, algo);
		goto out;
	}
	if (strcmp(algo, "sha256")) {
		r = rehash_staged(in, f, algo, other);
		if (r < 0)
			goto out;
		got = other;
	}
	/* RECORD's base64 is unpadded; tolerate padding all the same */
	while (wlen && want[wlen - 1] == '=' && want + wlen - 1 > eq)
		wlen--;
	if (strlen(got) != wlen || memcmp(got, want, wlen))
		r = pkgimg_err(in->ctx, -PKGIMG_E_CHECKSUM,
			       "%s: [install] '%s' does not match RECORD (RECORD has %s, the file %s); %s",
			       in->thing, f->zname, want, got, record_fix(in));
out:
	free(algo);
	return r;
}

static int check_size(struct inst *in, const struct wfile *f, const struct row *row)
{
	const char *s = row->size;
	bool ok = *s != 0 && strlen(s) < 20;
	char want[24];

	for (const char *p = s; ok && *p; p++)
		ok = ascii_isdigit(*p);
	snprintf(want, sizeof want, "%lld", (long long)f->size);
	if (ok && strtoll(s, NULL, 10) == f->size)
		return 0;
	return pkgimg_err(in->ctx, -PKGIMG_E_CHECKSUM,
			  "%s: [install] '%s' has %s bytes, RECORD says '%s'; %s",
			  in->thing, f->zname, want, s, record_fix(in));
}

/* Every row names a file of the zip whose hash and size match; every file
 * of the zip has a row (RECORD and its signatures excepted). */
static int record_verify(struct inst *in)
{
	int r;

	for (size_t i = 0; i < in->rec.n; i++) {
		const struct row *row = &in->rec.v[i];
		struct wfile *f = find_zname(in, row->path);

		if (row->nfields > 3)
			pkgimg_warn(in->ctx, "%s: [install] RECORD line for '%s' has more than three fields",
				    in->thing, row->path);
		if (!f)
			return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] RECORD lists '%s' but the wheel has no such file; %s",
					  in->thing, row->path, record_fix(in));
		if (f->row) {
			if (!strcmp(f->row->hash, row->hash) && !strcmp(f->row->size, row->size))
				continue;
			return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] RECORD lists '%s' twice, differently; the wheel is broken: rebuild it",
					  in->thing, row->path);
		}
		f->row = row;
		if (record_exempt(in, f))
			continue;
		r = check_hash(in, f, row);
		if (r == 0)
			r = check_size(in, f, row);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < in->nzip; i++)
		if (!in->f[i].row && !record_exempt(in, &in->f[i]))
			return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] '%s' is in the wheel but not in its RECORD; %s",
					  in->thing, in->f[i].zname, record_fix(in));
	return 0;
}

static int read_record_file(struct inst *in)
{
	struct wfile *f = find_info_file(in, "RECORD");
	struct sbuf text = SBUF_INIT;
	char *what;
	int r;

	if (!f)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] %s/RECORD is missing, so the wheel cannot be verified; rebuild it",
				  in->thing, in->info);
	r = read_staged(in, f, &text);
	if (r < 0)
		goto out;
	what = xasprintf("%s: %s", in->thing, in->info);
	r = record_parse(in->ctx, what, (struct blob){ text.buf, text.len }, &in->rec);
	free(what);
	if (r == 0)
		r = record_verify(in);
out:
	sbuf_free(&text);
	return r;
}

/* ---- entry points ---- */

static void eps_set(struct eps *g, struct blob name, struct blob value)
{
	for (size_t i = 0; i < g->n; i++) {
		if (blob_eq_str(name, g->v[i].name)) {
			/* a dict: the last value wins, the first place stays */
			free(g->v[i].value);
			g->v[i].value = blob_dup(value);
			return;
		}
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? 2 * g->cap : 16;
		g->v = xrealloc(g->v, g->cap * sizeof *g->v);
	}
	g->v[g->n].name = blob_dup(name);
	g->v[g->n++].value = blob_dup(value);
}

static void eps_free(struct eps *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->v[i].name);
		free(g->v[i].value);
	}
	free(g->v);
	memset(g, 0, sizeof *g);
}

static const struct ep *eps_get(const struct eps *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i].name, name))
			return &g->v[i];
	return NULL;
}

/* entry_points.txt as importlib.metadata's Sectioned reads it: stripped
 * lines, '#' comments, "[group]" headers, "name = value" split at the first
 * '='; lines before the first header ignored. */
static int eps_parse(struct inst *in, struct blob text, struct eps *console, struct eps *gui)
{
	struct blob line, section = BLOB_NULL;
	bool in_section = false;
	size_t lineno = 0;

	while (next_line(&text, &line)) {
		struct blob name;

		lineno++;
		line = blob_trim(line);
		if (!line.len || line.ptr[0] == '#')
			continue;
		if (line.ptr[0] == '[' && line.ptr[line.len - 1] == ']') {
			section = line;
			while (section.len && (section.ptr[0] == '[' || section.ptr[0] == ']')) {
				section.ptr++;
				section.len--;
			}
			while (section.len && (section.ptr[section.len - 1] == '[' ||
					       section.ptr[section.len - 1] == ']'))
				section.len--;
			in_section = true;
			continue;
		}
		if (!in_section)
			continue;
		if (!blob_split(&line, '=', &name))
			return pkgimg_err(in->ctx, -PKGIMG_E_PARSE,
					  "%s: [install] %s/entry_points.txt line %zu: '" BLOB_FMT "' is not 'name = value'; the wheel is broken: rebuild it",
					  in->thing, in->info, lineno, BLOB_ARG(name));
		if (blob_eq_str(section, "console_scripts"))
			eps_set(console, blob_trim(name), blob_trim(line));
		else if (blob_eq_str(section, "gui_scripts"))
			eps_set(gui, blob_trim(name), blob_trim(line));
	}
	return 0;
}

/* distlib's get_export_entry() on "name = value": the callable
 * (\w+)([:.]\w+)* with exactly one ':' (pip: "a callable suffix is
 * required"), then optional "[flags]".  *mod and *attr point into value. */
static int ep_callable(struct inst *in, const char *name, const char *value, struct blob *mod,
		       struct blob *attr)
{
	const char *p = value, *colon = NULL, *why = NULL;

	while (*p) {
		const char *w = p;

		while (ascii_ispyword(*p))
			p++;
		if (p == w)
			break;
		if ((*p == ':' || *p == '.') && ascii_ispyword(p[1])) {
			if (*p == ':') {
				if (colon)
					why = "more than one ':'";
				colon = p;
			}
			p++;
			continue;
		}
		break;
	}
	if (p == value)
		why = "it is not 'module:function'";
	else if (!colon && !why)
		why = "a callable suffix is required (module:function)";
	else if (!why && (strchr(p, '[') || strchr(p, ']'))) {
		const char *q = p + strspn(p, " \t");

		if (*q != '[' || !strchr(q, ']'))
			why = "malformed extras";
	}
	if (why)
		return pkgimg_err(in->ctx, -PKGIMG_E_PARSE,
				  "%s: [install] invalid script entry point '%s = %s': %s; see https://packaging.python.org/specifications/entry-points/#use-for-scripts",
				  in->thing, name, value, why);
	*mod = (struct blob){ value, (size_t)(colon - value) };
	*attr = (struct blob){ colon + 1, (size_t)(p - colon - 1) };
	return 0;
}

static int ep_check_name(struct inst *in, const char *name)
{
	bool ok = *name && name[0] != '[' && strcmp(name, ".") && strcmp(name, "..");

	for (const char *p = name; ok && *p; p++)
		ok = *p != '/' && (unsigned char)*p > ' ' && *p != 0x7f;
	if (ok)
		return 0;
	return pkgimg_err(in->ctx, -PKGIMG_E_UNSAFE,
			  "%s: [install] refusing the entry point name '%s': a script name is one path component without blanks; the wheel is broken: rebuild it",
			  in->thing, name);
}

/* pip's is_entrypoint_wrapper(): EP, EP.exe, EP-script.py, EP.pya. */
static bool ep_wrapper(const struct eps *console, const struct eps *gui, const char *file)
{
	size_t n = strlen(file);
	char *match;
	bool hit;

	if (n >= 4 && !strcasecmp(file + n - 4, ".exe"))
		n -= 4;
	else if (n >= 10 && !strcasecmp(file + n - 10, "-script.py"))
		n -= 10;
	else if (n >= 4 && !strcasecmp(file + n - 4, ".pya"))
		n -= 4;
	match = xstrndup(file, n);
	hit = eps_get(console, match) || eps_get(gui, match);
	free(match);
	return hit;
}

/* distlib's _get_shebang() for an executable set by nobody (pip's case):
 * enquote_executable(), then #!EXE, or the /bin/sh trampoline when EXE has a
 * blank or the line would pass Linux's 127 bytes. */
static void launcher_shebang(const char *python, struct sbuf *out)
{
	char *exe;

	if (!strchr(python, ' ') || python[0] == '"')
		exe = xstrdup(python);
	else if (!strncmp(python, "/usr/bin/env ", 13))
		exe = strchr(python + 13, ' ') && python[13] != '"' ?
			xasprintf("/usr/bin/env \"%s\"", python + 13) : xstrdup(python);
	else
		exe = xasprintf("\"%s\"", python);
	if (!strchr(exe, ' ') && strlen(exe) + 3 <= SHEBANG_MAX)
		sbuf_addf(out, "#!%s\n", exe);
	else
		sbuf_addf(out, "#!/bin/sh\n'''exec' %s \"$0\" \"$@\"\n' '''\n", exe);
	free(exe);
}

static struct wfile *generated_at(struct inst *in, const char *dest)
{
	for (size_t i = in->nzip; i < in->nf; i++)
		if (!strcmp(in->f[i].dest, dest))
			return &in->f[i];
	return NULL;
}

/* Gives f's staged file new content. */
static int stage_write(struct inst *in, struct wfile *f, const char *data, size_t len, mode_t mode)
{
	int fd, r;

	f->mode = mode;
	f->size = (int64_t)len;
	f->changed = true;
	digest_mem(data, len, f->digest);
	fd = openat(in->stagefd, f->stage, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	if (fd < 0)
		return pkgimg_err(in->ctx, -errno, "%s: [install] cannot stage '%s': %m", in->thing,
				  f->dest);
	r = fs_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return pkgimg_err(in->ctx, r, "%s: [install] cannot stage '%s': %s", in->thing,
				  f->dest, strerror(-r));
	return 0;
}

/* Writes a generated file into staging (replacing an earlier one for the
 * same target: distlib's clobber) and plans it. */
static int gen_file(struct inst *in, const char *dest, const char *data, size_t len, mode_t mode)
{
	struct wfile *f = generated_at(in, dest);

	if (!f) {
		f = file_new(in);
		f->dest = xstrdup(dest);
		f->rec = relpath(dest, in->lib);
	}
	return stage_write(in, f, data, len, mode);
}

static int gen_launcher(struct inst *in, const char *name, const char *value)
{
	struct sbuf text = SBUF_INIT;
	struct blob mod, attr;
	char *dest = NULL, *m = NULL, *a = NULL;
	int r;

	r = ep_check_name(in, name);
	if (r == 0)
		r = ep_callable(in, name, value, &mod, &attr);
	if (r < 0)
		goto out;
	m = blob_dup(mod);
	a = blob_dup(attr);
	launcher_shebang(in->python, &text);
	sbuf_addf(&text, launcher_fmt, m, (int)strcspn(a, "."), a, a);
	dest = path_join(in->dirs[K_SCRIPTS], name);
	r = gen_file(in, dest, text.buf, text.len, 0755);
out:
	free(dest);
	free(m);
	free(a);
	sbuf_free(&text);
	return r;
}

/* The "X.Y" of the target interpreter, for pip's versioned launchers. */
static const char *py_version(struct inst *in)
{
	const char *b = path_base(in->python);

	if (in->s->py_version)
		return in->s->py_version;
	if (!in->pyver && !strncmp(b, "python", 6) && ascii_isdigit(b[6]) && b[7] == '.' &&
	    ascii_isdigit(b[8]) && strspn(b + 8, "0123456789") == strlen(b + 8))
		in->pyver = xstrdup(b + 6);
	return in->pyver;
}

/* The length of the run of ASCII digits at s. */
static size_t digits(const char *s)
{
	return strspn(s, "0123456789");
}

/* pip 24's re.match(r"pip(\d+(\.\d+)?)?$", k): the wheel's own versioned
 * pip launchers, which are dropped. */
static bool pip_versioned(const char *k)
{
	size_t n;

	if (strncmp(k, "pip", 3))
		return false;
	k += 3;
	if (!*k)
		return true;
	n = digits(k);
	if (!n)
		return false;
	k += n;
	return !*k || (k[0] == '.' && (n = digits(k + 1)) > 0 && !k[1 + n]);
}

/* re.match(r"easy_install(-\d+\.\d+)?$", k) */
static bool easy_install_versioned(const char *k)
{
	size_t n;

	if (strncmp(k, "easy_install", 12))
		return false;
	k += 12;
	if (!*k)
		return true;
	if (k[0] != '-' || !(n = digits(k + 1)) || k[1 + n] != '.')
		return false;
	k += 2 + n;
	return (n = digits(k)) > 0 && !k[n];
}

/* pip's get_console_script_specs(): "pip" becomes pip, pipX, pipX.Y and
 * "easy_install" easy_install, easy_install-X.Y (ENSUREPIP_OPTIONS unset),
 * the wheel's own versioned ones dropped; then the rest in order. */
static int gen_console(struct inst *in, const struct eps *console)
{
	const struct ep *pip = eps_get(console, "pip"), *ei = eps_get(console, "easy_install");
	const char *ver = NULL;
	int r = 0;

	/* pip pops both names; an empty value generates nothing */
	if (pip && !*pip->value)
		pip = NULL;
	if (ei && !*ei->value)
		ei = NULL;

	if (pip || ei) {
		ver = py_version(in);
		if (!ver)
			return pkgimg_err(in->ctx, -PKGIMG_E_USAGE,
					  "%s: [install] cannot tell the Python version for the versioned %s scripts from '%s'; set the scheme's py_version",
					  in->thing, pip ? "pip" : "easy_install", in->python);
	}
	if (pip) {
		char *n1 = xasprintf("pip%.*s", (int)strcspn(ver, "."), ver);
		char *n2 = xasprintf("pip%s", ver);

		r = gen_launcher(in, "pip", pip->value);
		if (r == 0)
			r = gen_launcher(in, n1, pip->value);
		if (r == 0)
			r = gen_launcher(in, n2, pip->value);
		free(n1);
		free(n2);
	}
	if (ei && r == 0) {
		char *n = xasprintf("easy_install-%s", ver);

		r = gen_launcher(in, "easy_install", ei->value);
		if (r == 0)
			r = gen_launcher(in, n, ei->value);
		free(n);
	}
	for (size_t i = 0; i < console->n && r == 0; i++) {
		const char *k = console->v[i].name;

		if (!strcmp(k, "pip") || !strcmp(k, "easy_install") ||
		    (pip && pip_versioned(k)) || (ei && easy_install_versioned(k)))
			continue;
		r = gen_launcher(in, k, console->v[i].value);
	}
	return r;
}

/* ---- where each file goes ---- */

/* pip's fix_script(): a first line starting with "#!python" becomes
 * "#!<interpreter>\n" (its arguments dropped, as pip drops them). */
static int fix_script(struct inst *in, struct wfile *f)
{
	char head[8], newname[24], *shebang = NULL;
	struct hasher h = { NULL };
	size_t off = 0, have = 0;
	ssize_t n;
	int src, dst = -1, r = 0;

	src = openat(in->stagefd, f->stage, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (src < 0)
		return pkgimg_err(in->ctx, -errno, "%s: [install] '%s': %m", in->thing, f->zname);
	n = pread(src, head, sizeof head, 0);
	if (n < (ssize_t)sizeof head || memcmp(head, "#!python", 8))
		goto out;
	/* skip the first line, whatever its length: all of it is replaced */
	while ((n = read(src, in->buf, sizeof in->buf)) > 0) {
		char *nl = memchr(in->buf, '\n', (size_t)n);

		if (nl) {
			off = (size_t)(nl + 1 - in->buf);
			have = (size_t)n;
			break;
		}
	}
	if (n < 0) {
		r = pkgimg_err(in->ctx, -errno, "%s: [install] '%s': %m", in->thing, f->zname);
		goto out;
	}
	snprintf(newname, sizeof newname, "f%u", in->nstaged++);
	dst = openat(in->stagefd, newname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0600);
	if (dst < 0) {
		r = pkgimg_err(in->ctx, -errno, "%s: [install] cannot fix '%s': %m", in->thing,
			       f->zname);
		goto out;
	}
	if (hasher_init(&h, "sha256") < 0) {
		r = pkgimg_err(in->ctx, -ENOSYS, "%s: [install] sha256 is not available", in->thing);
		goto out;
	}
	shebang = xasprintf("#!%s\n", in->python);
	r = fs_write_all(dst, shebang, strlen(shebang));
	hasher_update(&h, shebang, strlen(shebang));
	f->size = (int64_t)strlen(shebang);
	if (r == 0)
		r = fs_write_all(dst, in->buf + off, have - off);
	hasher_update(&h, in->buf + off, have - off);
	f->size += (int64_t)(have - off);
	while (r == 0 && (n = read(src, in->buf, sizeof in->buf)) > 0) {
		r = fs_write_all(dst, in->buf, (size_t)n);
		hasher_update(&h, in->buf, (size_t)n);
		f->size += n;
	}
	if (r == 0 && n < 0)
		r = -errno;
	digest_final(&h, "sha256", f->digest);
	if (close(dst) < 0 && r == 0)
		r = -errno;
	dst = -1;
	if (r < 0) {
		r = pkgimg_err(in->ctx, r, "%s: [install] cannot fix '%s': %s", in->thing, f->zname,
			       strerror(-r));
		goto out;
	}
	unlinkat(in->stagefd, f->stage, 0);
	memcpy(f->stage, newname, sizeof f->stage);
	f->changed = true;
	f->mode = 0755;
out:
	free(shebang);
	if (dst >= 0)
		close(dst);
	close(src);
	return r;
}

/* The target of a file under "<x>.data/": "<key>/<path>" into the scheme. */
static int data_dest(struct inst *in, struct wfile *f, const char *rest, const struct eps *console,
		     const struct eps *gui)
{
	const char *slash = strchr(rest, '/');
	size_t klen = slash ? (size_t)(slash - rest) : 0;
	int k;

	if (!slash)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] unexpected file '%s': .data directory contents should be named like '<scheme key>/<path>'; the wheel is broken: rebuild it",
				  in->thing, f->zname);
	for (k = 0; k < NKEYS; k++)
		if (strlen(scheme_keys[k]) == klen && !strncmp(rest, scheme_keys[k], klen))
			break;
	if (k == NKEYS)
		return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] unknown scheme key '%.*s' (for '%s'): .data directory contents should be in data, headers, platlib, purelib or scripts; the wheel is broken: rebuild it",
				  in->thing, (int)klen, rest, f->zname);
	if (k == K_SCRIPTS && ep_wrapper(console, gui, path_base(slash + 1))) {
		/* pip leaves setuptools' wrappers of entry points out */
		f->skip = true;
		return 0;
	}
	f->dest = path_join(in->dirs[k], slash + 1);
	return k == K_SCRIPTS ? fix_script(in, f) : 0;
}

static int plan_zip_files(struct inst *in, const struct eps *console, const struct eps *gui)
{
	char *installer = xasprintf("%s/INSTALLER", in->info);
	char *requested = xasprintf("%s/REQUESTED", in->info);
	char *direct = xasprintf("%s/direct_url.json", in->info);
	int r = 0;

	for (size_t i = 0; i < in->nzip && r == 0; i++) {
		struct wfile *f = &in->f[i];
		char *top = first_comp(f->norm);

		f->mode = f->exec ? 0755 : 0644;
		if (!strcmp(f->norm, installer) || !strcmp(f->norm, requested) ||
		    (in->o->direct_url && !strcmp(f->norm, direct)))
			f->drop = true;		/* ours replace them */
		else if (str_ends_with(top, ".data"))
			r = data_dest(in, f, f->norm + strlen(top) + (f->norm[strlen(top)] ? 1 : 0),
				      console, gui);
		else
			f->dest = path_join(in->lib, f->norm);
		if (r == 0 && f->dest)
			f->rec = relpath(f->dest, in->lib);
		free(top);
	}
	free(installer);
	free(requested);
	free(direct);
	return r;
}

static int plan_generated(struct inst *in, const struct eps *console, const struct eps *gui)
{
	const char *installer = in->o->installer ? in->o->installer : "pkgimg";
	char *text = xasprintf("%s\n", installer), *di = path_join(in->lib, in->info), *dest;
	int r;

	r = gen_console(in, console);
	for (size_t i = 0; i < gui->n && r == 0; i++)
		r = gen_launcher(in, gui->v[i].name, gui->v[i].value);
	dest = xasprintf("%s/INSTALLER", di);
	if (r == 0)
		r = gen_file(in, dest, text, strlen(text), 0644);
	free(dest);
	if (r == 0 && in->o->requested) {
		dest = xasprintf("%s/REQUESTED", di);
		r = gen_file(in, dest, "", 0, 0644);
		free(dest);
	}
	if (r == 0 && in->o->direct_url) {
		dest = xasprintf("%s/direct_url.json", di);
		r = gen_file(in, dest, in->o->direct_url, strlen(in->o->direct_url), 0644);
		free(dest);
	}
	free(di);
	free(text);
	return r;
}

static int dest_cmp(const void *a, const void *b)
{
	return strcmp((*(struct wfile *const *)a)->dest, (*(struct wfile *const *)b)->dest);
}

/* Everything that is installed, by target; two files for one target are an
 * error (pip would let the later overwrite the earlier). */
static int plan_order(struct inst *in)
{
	in->order = xcalloc(in->nf ? in->nf : 1, sizeof *in->order);
	for (size_t i = 0; i < in->nf; i++)
		if (in->f[i].dest)
			in->order[in->norder++] = &in->f[i];
	qsort(in->order, in->norder, sizeof *in->order, dest_cmp);
	for (size_t i = 1; i < in->norder; i++) {
		const struct wfile *a = in->order[i - 1], *b = in->order[i];

		if (!strcmp(a->dest, b->dest))
			return pkgimg_err(in->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] '%s' and '%s' would both be installed as '%s'; the wheel is broken: rebuild it",
					  in->thing, a->zname ? a->zname : "an entry point",
					  b->zname ? b->zname : "an entry point", a->dest);
	}
	return 0;
}

static int plan(struct inst *in)
{
	struct eps console = { NULL, 0, 0 }, gui = { NULL, 0, 0 };
	struct wfile *epf = find_info_file(in, "entry_points.txt");
	int r = 0;

	if (epf) {
		struct sbuf text = SBUF_INIT;

		r = read_staged(in, epf, &text);
		if (r == 0)
			r = eps_parse(in, (struct blob){ text.buf, text.len }, &console, &gui);
		sbuf_free(&text);
	}
	if (r == 0)
		r = plan_zip_files(in, &console, &gui);
	if (r == 0)
		r = plan_generated(in, &console, &gui);
	if (r == 0)
		r = plan_order(in);
	eps_free(&console);
	eps_free(&gui);
	return r;
}

/* ---- the new RECORD ---- */

/* pip's get_csv_rows_for_installed(): the wheel's rows with the installed
 * paths (the digest recomputed for rewritten files), the files not listed
 * (the signatures) with no digest, the generated files; then RECORD's own
 * row empty, all sorted. */
static int write_record(struct inst *in)
{
	struct sbuf text = SBUF_INIT;
	struct wfile *rf = find_info_file(in, "RECORD");
	char size[24];
	int r;

	for (size_t i = 0; i < in->rec.n; i++) {
		const struct row *row = &in->rec.v[i];
		const struct wfile *f = find_zname(in, row->path);

		if (f->row != row || f == rf || f->drop)
			continue;	/* a repeated row, RECORD, a replaced file */
		if (f->skip)	/* pip keeps the row of a wrapper it left out */
			rows_add(&in->out, xstrdup(row->path), xstrdup(row->hash),
				 xstrdup(row->size), 3);
		else if (!f->changed)
			rows_add(&in->out, xstrdup(f->rec), xstrdup(row->hash),
				 xstrdup(row->size), 3);
	}
	for (size_t i = 0; i < in->nf; i++) {
		struct wfile *f = &in->f[i];

		if (f == rf || !f->dest || (i < in->nzip && f->row && !f->changed))
			continue;
		if (i < in->nzip && !f->changed) {	/* a signature RECORD does not list */
			rows_add(&in->out, xstrdup(f->rec), xstrdup(""), xstrdup(""), 3);
		} else {
			snprintf(size, sizeof size, "%lld", (long long)f->size);
			rows_add(&in->out, xstrdup(f->rec), xstrdup(f->digest), xstrdup(size), 3);
		}
	}
	rows_add(&in->out, xstrdup(rf->rec), xstrdup(""), xstrdup(""), 3);
	record_text(&in->out, &text);
	/* the wheel's RECORD, staged already, gets the new content */
	r = stage_write(in, rf, text.buf, text.len, 0644);
	rf->changed = false;
	sbuf_free(&text);
	return r;
}

/* ---- staging and committing ---- */

/* The staging directory: in the root, so that files move by rename. */
static int make_stage(struct inst *in)
{
	char name[sizeof in->stagedir];
	int e = EEXIST;

	for (unsigned i = 0; i < 1000 && e == EEXIST; i++) {
		snprintf(name, sizeof name, ".pkgimg-wheel-%d-%u", (int)getpid(), i);
		e = mkdirat(in->rootfd, name, 0700) == 0 ? 0 : errno;
	}
	if (e)
		return pkgimg_err(in->ctx, -e, "%s: [install] cannot create a staging directory in the root: %s",
				  in->thing, strerror(e));
	memcpy(in->stagedir, name, sizeof name);
	in->stagefd = openat(in->rootfd, in->stagedir,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (in->stagefd < 0)
		return pkgimg_err(in->ctx, -errno, "%s: [install] cannot open the staging directory: %m",
				  in->thing);
	return 0;
}

/* Each staged file gets its final mode and mtime before it moves. */
static int finish_staged(struct inst *in)
{
	for (size_t i = 0; i < in->norder; i++) {
		struct wfile *f = in->order[i];
		struct timespec ts[2];
		bool times = true;

		if (in->o->mtime >= 0)
			ts[0] = (struct timespec){ (time_t)in->o->mtime, 0 };
		else if (f->zname)
			ts[0] = f->mtime;
		else
			times = false;
		ts[1] = ts[0];
		if (fchmodat(in->stagefd, f->stage, f->mode, 0) < 0 ||
		    (times && utimensat(in->stagefd, f->stage, ts, 0) < 0))
			return pkgimg_err(in->ctx, -errno, "%s: [install] cannot set the mode of '%s': %m",
					  in->thing, f->dest);
	}
	return 0;
}


static int place_one(struct inst *in, struct wfile *f)
{
	struct placed *p;
	const char *name;
	struct stat st;
	int dirfd, r;

	r = dirfd_cache_open_parent(&in->parent, in->ctx, in->thing, "install", in->rootfd,
				    f->dest, &in->made, &dirfd, &name);
	if (r < 0)
		return r;
	if (in->nplaced == in->capplaced) {
		in->capplaced = in->capplaced ? 2 * in->capplaced : 64;
		in->placed = xrealloc(in->placed, in->capplaced * sizeof *in->placed);
	}
	p = &in->placed[in->nplaced++];
	memset(p, 0, sizeof *p);
	p->dest = xstrdup(f->dest);
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return pkgimg_err(in->ctx, -EISDIR,
					  "%s: [install] cannot install '%s': a directory is in the way; remove it in an earlier step",
					  in->thing, f->dest);
		/* pip replaces what is there; keep it to put it back on failure */
		snprintf(p->backup, sizeof p->backup, "old%u", in->nstaged++);
		if (renameat(dirfd, name, in->stagefd, p->backup) < 0) {
			p->backup[0] = 0;
			return pkgimg_err(in->ctx, -errno, "%s: [install] cannot replace '%s': %m",
					  in->thing, f->dest);
		}
	} else if (errno != ENOENT) {
		return pkgimg_err(in->ctx, -errno, "%s: [install] cannot install '%s': %m", in->thing,
				  f->dest);
	}
	if (renameat(in->stagefd, f->stage, dirfd, name) < 0)
		return pkgimg_err(in->ctx, -errno, "%s: [install] cannot install '%s': %m", in->thing,
				  f->dest);
	p->moved = true;
	return 0;
}

/* The directories created get the fixed mtime, deepest first, after every
 * file is in (an entry added to a directory changes its mtime). */
static int date_dirs(struct inst *in)
{
	struct timespec ts[2] = { { (time_t)in->o->mtime, 0 }, { (time_t)in->o->mtime, 0 } };
	int r = 0;

	if (in->o->mtime < 0)
		return 0;
	dirfd_cache_drop(&in->parent);
	for (size_t i = in->made.n; i-- > 0 && r == 0;) {
		const char *name;
		int dirfd;

		r = fs_open_parent(in->ctx, in->thing, "install", in->rootfd, in->made.v[i], false,
				   NULL, &dirfd, &name);
		if (r < 0)
			break;
		if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
			r = pkgimg_err(in->ctx, -errno, "%s: [install] cannot set the mtime of '%s': %m",
				       in->thing, in->made.v[i]);
		close(dirfd);
	}
	return r;
}

/* Undoes the commit: new files out, replaced files back, created
 * directories removed.  Best effort; the message of the failure stays. */
static void rollback(struct inst *in)
{
	char *saved = xstrdup(in->ctx->errmsg);

	dirfd_cache_drop(&in->parent);
	for (size_t i = in->nplaced; i-- > 0;) {
		struct placed *p = &in->placed[i];
		const char *name;
		int dirfd;

		if (fs_open_parent(in->ctx, in->thing, "install", in->rootfd, p->dest, false, NULL,
				   &dirfd, &name) < 0)
			continue;
		if (p->moved)
			unlinkat(dirfd, name, 0);
		if (p->backup[0])
			renameat(in->stagefd, p->backup, dirfd, name);
		close(dirfd);
	}
	for (size_t i = in->made.n; i-- > 0;) {
		const char *name;
		int dirfd;

		if (fs_open_parent(in->ctx, in->thing, "install", in->rootfd, in->made.v[i], false,
				   NULL, &dirfd, &name) < 0)
			continue;
		unlinkat(dirfd, name, AT_REMOVEDIR);
		close(dirfd);
	}
	snprintf(in->ctx->errmsg, sizeof in->ctx->errmsg, "%s", saved);
	free(saved);
}

static int commit(struct inst *in)
{
	int r = finish_staged(in);

	for (size_t i = 0; i < in->norder && r == 0; i++)
		r = place_one(in, in->order[i]);
	if (r == 0)
		r = date_dirs(in);
	if (r < 0)
		rollback(in);
	dirfd_cache_drop(&in->parent);
	return r;
}

/* ---- the whole install ---- */

static int scheme_dir(struct inst *in, const char *what, const char *dir, char **out)
{
	struct sbuf s = SBUF_INIT;
	const char *why;

	if (!dir || !wheel_path_norm(dir, true, &s, &why)) {
		sbuf_free(&s);
		return pkgimg_err(in->ctx, -PKGIMG_E_USAGE, "%s: [install] the scheme's %s '%s' is %s",
				  in->thing, what, dir ? dir : "", dir ? why : "missing");
	}
	*out = sbuf_detach(&s);
	return 0;
}

static int inst_setup(struct inst *in)
{
	const struct wheel_scheme *s = in->s;
	const char *given[NKEYS] = { s->purelib, s->platlib, s->headers, s->scripts, s->data };
	int r;

	for (int k = 0; k < NKEYS; k++) {
		r = scheme_dir(in, scheme_keys[k], given[k], &in->dirs[k]);
		if (r < 0)
			return r;
	}
	if (!s->python || s->python[0] != '/' || strpbrk(s->python, "\n\r"))
		return pkgimg_err(in->ctx, -PKGIMG_E_USAGE,
				  "%s: [install] the scheme's interpreter '%s' is not an absolute path",
				  in->thing, s->python ? s->python : "");
	in->python = xstrdup(s->python);
	r = wheel_filename_parse(in->ctx, in->thing, &in->wn);
	if (r < 0)
		return pkgimg_err_wrap(in->ctx, r,
				       "%s: [install] not a valid wheel file name (PEP 427: {name}-{version}(-{build})?-{python}-{abi}-{platform}.whl); rename the file as published",
				       in->thing);
	in->have_wn = true;
	return 0;
}

/* The headers dir gets the project's name appended, as pip's scheme does:
 * the name pip's requirement carries, which for a wheel is its file name's
 * distribution part with '_' turned into '-' (pip's models/wheel.py), so
 * "Foo_Bar-1.0-....whl" puts headers in include/pythonX.Y/Foo-Bar/.  The
 * parsed name holds only letters, digits, '.' and '_'; it must also start
 * and end with a letter or digit (PEP 508), so it cannot be "." or "..". */
static int headers_for_project(struct inst *in)
{
	size_t n = strcspn(in->thing, "-");
	char *name, *h;

	if (!ascii_isalnum(in->thing[0]) || !ascii_isalnum(in->thing[n - 1]))
		return pkgimg_err(in->ctx, -PKGIMG_E_UNSAFE,
				  "%s: [install] '%.*s' is not a valid project name; rename the file as published",
				  in->thing, (int)n, in->thing);
	name = xstrndup(in->thing, n);
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
	h = path_join(in->dirs[K_HEADERS], name);
	free(in->dirs[K_HEADERS]);
	in->dirs[K_HEADERS] = h;
	free(name);
	return 0;
}

static void fill_out(struct inst *in, struct wheel_installed *out)
{
	memset(out, 0, sizeof *out);
	out->name = xstrdup(in->meta.name);
	out->version = xstrdup(in->meta.version);
	out->dist_info = path_join(in->lib, in->info);
	out->files = xcalloc(in->out.n ? in->out.n : 1, sizeof *out->files);
	for (size_t i = 0; i < in->out.n; i++) {
		struct wheel_record_entry *e = &out->files[out->nfiles++];

		e->path = xstrdup(in->out.v[i].path);
		e->hash = xstrdup(in->out.v[i].hash);
		e->size = *in->out.v[i].size ? strtoll(in->out.v[i].size, NULL, 10) : -1;
	}
}

static void inst_free(struct inst *in)
{
	for (size_t i = 0; i < in->nf; i++) {
		free(in->f[i].zname);
		free(in->f[i].norm);
		free(in->f[i].dest);
		free(in->f[i].rec);
	}
	free(in->f);
	for (size_t i = 0; i < in->nplaced; i++)
		free(in->placed[i].dest);
	free(in->placed);
	for (int k = 0; k < NKEYS; k++)
		free(in->dirs[k]);
	strv_free(&in->dirtops);
	strv_free(&in->made);
	rows_free(&in->rec);
	rows_free(&in->out);
	free(in->order);
	free(in->info);
	free(in->python);
	free(in->pyver);
	if (in->have_meta)
		pymeta_free(&in->meta);
	if (in->have_wn)
		wheel_name_free(&in->wn);
	dirfd_cache_drop(&in->parent);
	extract_free(&in->x);
	if (in->stagefd >= 0)
		close(in->stagefd);
	free(in);
}

int wheel_install(struct pkgimg_ctx *ctx, const char *wheel_path, int rootfd,
		  const struct wheel_scheme *s, const struct wheel_install_opts *o,
		  struct wheel_installed *out)
{
	struct inst *in = xcalloc(1, sizeof *in);
	int r;

	in->ctx = ctx;
	in->path = wheel_path;
	in->thing = o->filename ? o->filename : path_base(wheel_path);
	in->s = s;
	in->o = o;
	in->rootfd = rootfd;
	in->stagefd = in->parent.fd = -1;
	extract_init(&in->x, ctx, in->thing, rootfd, &wheel_xopts);
	r = inst_setup(in);
	if (r == 0)
		r = make_stage(in);
	if (r == 0)
		r = stage_zip(in);
	if (r == 0)
		r = find_info(in);
	if (r == 0)
		r = read_wheel_file(in);
	if (r == 0)
		r = read_metadata_file(in);
	if (r == 0)
		r = read_record_file(in);
	if (r == 0)
		r = headers_for_project(in);
	if (r == 0)
		r = plan(in);
	if (r == 0)
		r = write_record(in);
	if (r == 0)
		r = commit(in);
	if (in->stagedir[0]) {
		char *saved = xstrdup(ctx->errmsg);

		if (fs_rm_rf(ctx, rootfd, in->stagedir) < 0 && r == 0)
			pkgimg_warn(ctx, "%s: [install] cannot remove the staging directory '%s': %s",
				    in->thing, in->stagedir, ctx->errmsg);
		snprintf(ctx->errmsg, sizeof ctx->errmsg, "%s", saved);
		free(saved);
	}
	if (r == 0)
		fill_out(in, out);
	inst_free(in);
	return r;
}

void wheel_installed_free(struct wheel_installed *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nfiles; i++) {
		free(w->files[i].path);
		free(w->files[i].hash);
	}
	free(w->files);
	free(w->name);
	free(w->version);
	free(w->dist_info);
	memset(w, 0, sizeof *w);
}

/* ---- METADATA alone ---- */


/* ---- RECORD after the install ---- */

static int record_read_at(struct pkgimg_ctx *ctx, const char *thing, int dirfd, struct sbuf *text,
			  struct stat *st)
{
	ssize_t n;
	char buf[WHEEL_BUF];
	int fd = openat(dirfd, "RECORD", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r = 0;

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [install] cannot read RECORD: %m", thing);
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		close(fd);
		return pkgimg_err(ctx, -PKGIMG_E_UNSAFE, "%s: [install] RECORD is not a regular file",
				  thing);
	}
	sbuf_add(text, "", 0);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sbuf_add(text, buf, (size_t)n);
	if (n < 0)
		r = pkgimg_err(ctx, -errno, "%s: [install] cannot read RECORD: %m", thing);
	close(fd);
	return r;
}

static int record_write_at(struct pkgimg_ctx *ctx, const char *thing, int dirfd,
			   const struct sbuf *text, const struct stat *st)
{
	char tmp[64];
	struct timespec ts[2] = { st->st_atim, st->st_mtim };
	struct stat dst;
	int fd, r;

	if (fstat(dirfd, &dst) < 0)
		return pkgimg_err(ctx, -errno, "%s: [install] %m", thing);
	snprintf(tmp, sizeof tmp, "RECORD.tmp.%d", (int)getpid());
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [install] cannot write RECORD: %m", thing);
	r = fs_write_all(fd, text->buf, text->len);
	if (r == 0 && (fchmod(fd, st->st_mode & 07777) < 0 || futimens(fd, ts) < 0))
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dirfd, tmp, dirfd, "RECORD") < 0)
		r = -errno;
	if (r == 0) {	/* the .dist-info keeps its time too (reproducible trees) */
		struct timespec dts[2] = { dst.st_atim, dst.st_mtim };

		if (futimens(dirfd, dts) < 0)
			r = -errno;
	}
	if (r < 0) {
		unlinkat(dirfd, tmp, 0);
		return pkgimg_err(ctx, r, "%s: [install] cannot write RECORD: %s", thing, strerror(-r));
	}
	return 0;
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->path, ((const struct row *)b)->path);
}

/* The new rows ("<path>,,") for paths[] not listed in rows yet; rows is
 * sorted (by path first) when this runs. */
static int record_new_rows(struct pkgimg_ctx *ctx, const char *thing, const char *lib,
			   const char *const *paths, size_t n, struct rows *rows)
{
	struct strv add = { NULL, 0, 0 };
	struct sbuf norm = SBUF_INIT;
	size_t old = rows->n;
	const char *why;
	int r = 0;

	for (size_t i = 0; i < n; i++) {
		if (!wheel_path_norm(paths[i], true, &norm, &why) || !norm.len) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [install] cannot record '%s': %s",
				       thing, paths[i], norm.len ? why : "empty path");
			goto out;
		}
		strv_push(&add, relpath(norm.buf, lib));
	}
	strv_sort(&add);
	for (size_t i = 0; i < add.n; i++) {
		struct row key = { add.v[i], NULL, NULL, 0 };

		if ((i && !strcmp(add.v[i], add.v[i - 1])) ||
		    bsearch(&key, rows->v, old, sizeof *rows->v, path_cmp))
			continue;
		rows_add(rows, xstrdup(add.v[i]), xstrdup(""), xstrdup(""), 3);
	}
out:
	strv_free(&add);
	sbuf_free(&norm);
	return r;
}

int wheel_record_add(struct pkgimg_ctx *ctx, int rootfd, const struct wheel_installed *w,
		     const char *const *paths, size_t n)
{
	const char *thing = path_base(w->dist_info), *name;
	char *lib = xstrndup(w->dist_info, (size_t)(thing - w->dist_info));
	char *rpath = xasprintf("%s/RECORD", w->dist_info);
	struct sbuf text = SBUF_INIT;
	struct rows rows = { NULL, 0, 0 };
	struct stat st;
	int dirfd = -1, r;

	if (*lib)
		lib[strlen(lib) - 1] = 0;	/* the '/' before the dist-info */
	r = fs_open_parent(ctx, thing, "install", rootfd, rpath, false, NULL, &dirfd, &name);
	if (r == 0)
		r = record_read_at(ctx, thing, dirfd, &text, &st);
	if (r == 0)
		r = record_parse(ctx, thing, (struct blob){ text.buf, text.len }, &rows);
	if (r == 0) {
		qsort(rows.v, rows.n, sizeof *rows.v, row_cmp);
		r = record_new_rows(ctx, thing, lib, paths, n, &rows);
	}
	if (r == 0) {
		sbuf_reset(&text);
		record_text(&rows, &text);
		r = record_write_at(ctx, thing, dirfd, &text, &st);
	}
	if (dirfd >= 0)
		close(dirfd);
	rows_free(&rows);
	sbuf_free(&text);
	free(rpath);
	free(lib);
	return r;
}

/* ---- replacing a distribution of the layers below ---- */

/* site + "/" + rel with ".." applied, relative to the root; NULL when it
 * leaves the root or is empty. */
static char *below_path(const char *site, const char *rel)
{
	struct strv parts = { 0 };
	struct sbuf s = SBUF_INIT;
	char *all = xasprintf("%s/%s", site, rel), *save = NULL, *tok;
	bool bad = false;

	for (tok = strtok_r(all, "/", &save); tok && !bad; tok = strtok_r(NULL, "/", &save)) {
		if (!strcmp(tok, "."))
			continue;
		if (!strcmp(tok, "..")) {
			if (!parts.n)
				bad = true;
			else
				free(parts.v[--parts.n]);
			continue;
		}
		strv_add(&parts, tok);
	}
	for (size_t i = 0; !bad && i < parts.n; i++)
		sbuf_addf(&s, "%s%s", i ? "/" : "", parts.v[i]);
	free(all);
	strv_free(&parts);
	if (bad || !s.len) {
		sbuf_free(&s);
		return NULL;
	}
	return sbuf_detach(&s);
}

/* A whiteout at path (relative to rootfd) unless the layer has something
 * there already (the new version's file) or the image below has nothing. */
static int whiteout(struct pkgimg_ctx *ctx, int rootfd, char **below, int nbelow,
		    const char *path, const char *thing)
{
	char *abs = xasprintf("/%s", path);
	struct stat sb;
	const char *name;
	int dfd = -1, r = 0;

	if (fstatat(rootfd, path, &sb, AT_SYMLINK_NOFOLLOW) == 0 ||
	    view_layer_of(below, nbelow, abs, NULL) < 0)
		goto out;
	r = fs_open_parent(ctx, thing, "replace", rootfd, path, true, NULL, &dfd, &name);
	if (r < 0)
		goto out;
	if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [replace] cannot write the whiteout of '/%s': %m",
			       thing, path);
out:
	if (dfd >= 0)
		close(dfd);
	free(abs);
	return r;
}

int wheel_replace_below(struct pkgimg_ctx *ctx, int rootfd, char **below, int nbelow,
			const char *site, const struct wheel_installed *now, struct strv *replaced)
{
	char *norm = pep503_normalize(now->name), *sitedir, *keep;
	struct strv names = { 0 };
	int r;

	while (*site == '/')
		site++;
	sitedir = xasprintf("/%s", site);
	keep = strrchr(now->dist_info, '/') ? strrchr(now->dist_info, '/') + 1 : now->dist_info;
	r = view_list(ctx, below, nbelow, sitedir, &names);
	for (size_t i = 0; r == 0 && i < names.n; i++) {
		const char *n = names.v[i], *dash = strchr(n, '-');
		size_t len = strlen(n);
		char *proj, *rec, *recabs, *thing;
		struct sbuf text = SBUF_INIT;
		struct rows rows = { 0 };
		int layer;

		if (len < 10 || strcmp(n + len - 10, ".dist-info") || !dash || !strcmp(n, keep))
			continue;
		proj = xstrndup(n, (size_t)(dash - n));
		{
			char *pn = pep503_normalize(proj);

			free(proj);
			proj = pn;
		}
		if (strcmp(proj, norm)) {
			free(proj);
			continue;
		}
		free(proj);
		thing = xasprintf("%s (replacing %s)", now->dist_info, n);
		rec = xasprintf("%s/%s/RECORD", site, n);
		recabs = xasprintf("/%s", rec);
		layer = view_layer_of(below, nbelow, recabs, NULL);
		if (layer >= 0) {
			char *p = xasprintf("%s/%s", below[layer], rec);

			r = fs_read_file(ctx, AT_FDCWD, p, &text);
			free(p);
			if (r == 0)
				r = record_parse(ctx, thing, (struct blob){ text.buf ? text.buf : "",
									   text.len }, &rows);
		}
		/* every file its RECORD lists, then the .dist-info directory */
		for (size_t k = 0; r == 0 && k < rows.n; k++) {
			char *p = below_path(site, rows.v[k].path);

			if (p && strncmp(p, rec, strlen(rec) - strlen("RECORD")))
				r = whiteout(ctx, rootfd, below, nbelow, p, thing);
			free(p);
		}
		if (r == 0) {
			char *di = xasprintf("%s/%s", site, n);

			r = whiteout(ctx, rootfd, below, nbelow, di, thing);
			free(di);
		}
		if (r == 0 && replaced)
			strv_add(replaced, n);
		rows_free(&rows);
		sbuf_free(&text);
		free(rec);
		free(recabs);
		free(thing);
	}
	strv_free(&names);
	free(sitedir);
	free(norm);
	return r;
}
