/* Project pages of a "simple" repository (PEP 503 HTML, PEP 691 JSON) into
 * a list of wheel and sdist files.  See pypi_index.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "solver/pypi_index.h"
#include "pyspec/wheeltags.h"

/* Attributes kept from one tag; more are ignored. */
#define HTML_MAX_ATTRS 32

static bool is_html_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static bool ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && blob_ieq_str((struct blob){ s + n - m, m }, suffix);
}

/* --- hashes ---------------------------------------------------------------- */

static const struct {
	const char *algo;
	size_t hexlen;
} known_hashes[] = {
	{ "md5", 32 }, { "sha1", 40 }, { "sha224", 56 }, { "sha256", 64 },
	{ "sha384", 96 }, { "sha512", 128 }, { "blake2b_256", 64 },
};

static size_t known_hexlen(const char *algo)
{
	size_t i;

	for (i = 0; i < sizeof known_hashes / sizeof known_hashes[0]; i++)
		if (strcmp(known_hashes[i].algo, algo) == 0)
			return known_hashes[i].hexlen;
	return 0;
}

static void hashes_free(struct pypi_hashes *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].algo);
		free(h->v[i].hex);
	}
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

const char *pypi_hashes_get(const struct pypi_hashes *h, const char *algo)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (strcmp(h->v[i].algo, algo) == 0)
			return h->v[i].hex;
	return NULL;
}

/* Adds algo=hex after checking both; an algorithm already present keeps its
 * first value.  what names the field for the message. */
static int hashes_add(struct pkgimg_ctx *ctx, struct pypi_hashes *h, struct blob algo,
		      struct blob hex, const char *page, const char *file, const char *what)
{
	char *a, *x;
	size_t i, want;
	int r = 0;

	if (algo.len == 0 || algo.len > 32)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "%s: [index] %s: %s: bad hash algorithm name '" BLOB_FMT "'",
				  page, file, what, BLOB_ARG(algo));
	for (i = 0; i < algo.len; i++) {
		char c = algo.ptr[i];
		if (!ascii_isalpha(c) && !ascii_isdigit(c) && c != '_' && c != '-')
			return pkgimg_err(ctx, -PKGIMG_E_PARSE,
					  "%s: [index] %s: %s: bad hash algorithm name '" BLOB_FMT
					  "'", page, file, what, BLOB_ARG(algo));
	}
	a = xstrndup(algo.ptr, algo.len);
	for (i = 0; a[i]; i++)
		a[i] = ascii_lower(a[i]);
	x = xstrndup(hex.ptr, hex.len);
	for (i = 0; i < hex.len; i++) {
		if (ascii_hexval(x[i]) < 0) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
				       "%s: [index] %s: %s: %s digest is not hexadecimal",
				       page, file, what, a);
			goto out;
		}
		x[i] = ascii_lower(x[i]);
	}
	want = known_hexlen(a);
	if (hex.len == 0 || (want && hex.len != want)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [index] %s: %s: %s digest has %zu hex digits, expected %zu",
			       page, file, what, a, hex.len, want ? want : (size_t)1);
		goto out;
	}
	if (pypi_hashes_get(h, a))
		goto out;
	h->v = xrealloc(h->v, (h->n + 1) * sizeof *h->v);
	h->v[h->n].algo = a;
	h->v[h->n].hex = x;
	h->n++;
	return 0;
out:
	free(a);
	free(x);
	return r;
}

/* --- URLs ------------------------------------------------------------------ */

struct uri {
	bool has_scheme, has_auth, has_query, has_frag;
	struct blob scheme, auth, path, query, frag;
};

static bool scheme_valid(struct blob s)
{
	size_t i;

	if (s.len == 0 || !ascii_isalpha(s.ptr[0]))
		return false;
	for (i = 1; i < s.len; i++)
		if (!ascii_isalpha(s.ptr[i]) && !ascii_isdigit(s.ptr[i]) && s.ptr[i] != '+' &&
		    s.ptr[i] != '-' && s.ptr[i] != '.')
			return false;
	return true;
}

/* RFC 3986 appendix B, with a scheme only where it is one. */
static void uri_split(const char *s, struct uri *u)
{
	size_t n = strlen(s), i = 0, j;

	memset(u, 0, sizeof *u);
	j = strcspn(s, ":/?#");
	if (s[j] == ':' && scheme_valid((struct blob){ s, j })) {
		u->has_scheme = true;
		u->scheme = (struct blob){ s, j };
		i = j + 1;
	}
	if (s[i] == '/' && s[i + 1] == '/') {
		i += 2;
		j = i + strcspn(s + i, "/?#");
		u->has_auth = true;
		u->auth = (struct blob){ s + i, j - i };
		i = j;
	}
	j = i + strcspn(s + i, "?#");
	u->path = (struct blob){ s + i, j - i };
	i = j;
	if (s[i] == '?') {
		i++;
		j = i + strcspn(s + i, "#");
		u->has_query = true;
		u->query = (struct blob){ s + i, j - i };
		i = j;
	}
	if (s[i] == '#') {
		u->has_frag = true;
		u->frag = (struct blob){ s + i + 1, n - i - 1 };
	}
}

/* RFC 3986 5.2.4 remove_dot_segments, appended to out. */
static void remove_dots(struct sbuf *out, struct blob path)
{
	char *in = xstrndup(path.ptr, path.len), *p = in;
	size_t start = out->len;

	sbuf_grow(out, path.len + 1);
	sbuf_add(out, "", 0);	/* NUL-terminated even when empty */
	while (*p) {
		if (strncmp(p, "../", 3) == 0) {
			p += 3;
		} else if (strncmp(p, "./", 2) == 0) {
			p += 2;
		} else if (strncmp(p, "/./", 3) == 0) {
			p += 2;
		} else if (strcmp(p, "/.") == 0) {
			p[1] = '\0';
		} else if (strncmp(p, "/../", 4) == 0 || strcmp(p, "/..") == 0) {
			if (p[3] == '\0')
				p[1] = '\0';
			else
				p += 3;
			while (out->len > start && out->buf[out->len - 1] != '/')
				out->len--;
			if (out->len > start)
				out->len--;
			out->buf[out->len] = '\0';
		} else if (strcmp(p, ".") == 0 || strcmp(p, "..") == 0) {
			break;
		} else {
			size_t k = (*p == '/') ? 1 : 0;
			k += strcspn(p + k, "/");
			sbuf_add(out, p, k);
			p += k;
		}
	}
	free(in);
}

static bool has_bad_char(const char *s)
{
	for (; *s; s++)
		if (is_ctl((unsigned char)*s) || *s == ' ')
			return true;
	return false;
}

int pypi_url_resolve(struct pkgimg_ctx *ctx, const char *base, const char *ref, char **out)
{
	struct uri b, r;
	struct sbuf sb = SBUF_INIT;
	struct blob query;
	bool has_query;
	size_t i;

	if (has_bad_char(base) || has_bad_char(ref))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "cannot resolve URL '%s' against '%s': it contains a space or "
				  "a control character", ref, base);
	uri_split(base, &b);
	uri_split(ref, &r);
	if (!b.has_scheme)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "cannot resolve URL '%s' against '%s': the base is not an "
				  "absolute URL", ref, base);
	for (i = 0; i < (r.has_scheme ? r.scheme : b.scheme).len; i++)
		sbuf_addc(&sb, ascii_lower((r.has_scheme ? r.scheme : b.scheme).ptr[i]));
	sbuf_addc(&sb, ':');
	if (r.has_scheme || r.has_auth) {
		if (r.has_auth) {
			sbuf_adds(&sb, "//");
			sbuf_add(&sb, r.auth.ptr, r.auth.len);
		}
		remove_dots(&sb, r.path);
		has_query = r.has_query;
		query = r.query;
	} else {
		if (b.has_auth) {
			sbuf_adds(&sb, "//");
			sbuf_add(&sb, b.auth.ptr, b.auth.len);
		}
		if (r.path.len == 0) {
			sbuf_add(&sb, b.path.ptr, b.path.len);
			has_query = r.has_query || b.has_query;
			query = r.has_query ? r.query : b.query;
		} else if (r.path.ptr[0] == '/') {
			remove_dots(&sb, r.path);
			has_query = r.has_query;
			query = r.query;
		} else {
			struct sbuf merged = SBUF_INIT;
			if (b.has_auth && b.path.len == 0) {
				sbuf_addc(&merged, '/');
			} else {
				size_t k = b.path.len;
				while (k > 0 && b.path.ptr[k - 1] != '/')
					k--;
				sbuf_add(&merged, b.path.ptr, k);
			}
			sbuf_add(&merged, r.path.ptr, r.path.len);
			remove_dots(&sb, (struct blob){ merged.buf ? merged.buf : "", merged.len });
			sbuf_free(&merged);
			has_query = r.has_query;
			query = r.query;
		}
	}
	if (has_query) {
		sbuf_addc(&sb, '?');
		sbuf_add(&sb, query.ptr, query.len);
	}
	if (r.has_frag) {
		sbuf_addc(&sb, '#');
		sbuf_add(&sb, r.frag.ptr, r.frag.len);
	}
	*out = sbuf_detach(&sb);
	return 0;
}

/* Percent-encodes spaces and bytes >= 0x80 and trims ASCII whitespace around
 * an href, as browsers and pip do; control characters stay (and are refused
 * by pypi_url_resolve). */
static char *href_clean(const char *s)
{
	struct sbuf sb = SBUF_INIT;
	size_t n = strlen(s);

	while (n > 0 && is_html_space(s[n - 1]))
		n--;
	while (n > 0 && is_html_space(*s)) {
		s++;
		n--;
	}
	sbuf_grow(&sb, n + 1);
	sbuf_add(&sb, "", 0);	/* NUL-terminated even when empty */
	for (; n > 0; s++, n--) {
		unsigned char c = (unsigned char)*s;
		if (c == ' ' || c >= 0x80)
			sbuf_addf(&sb, "%%%02X", c);
		else
			sbuf_addc(&sb, (char)c);
	}
	return sbuf_detach(&sb);
}

/* The last path segment of an absolute URL, percent-decoded; *len is its
 * length (a decoded %00 is kept, and refused by filename_safe). */
static char *url_basename(const char *url, size_t *len)
{
	struct uri u;
	struct sbuf sb = SBUF_INIT;
	size_t k, i;

	uri_split(url, &u);
	k = u.path.len;
	while (k > 0 && u.path.ptr[k - 1] != '/')
		k--;
	sbuf_grow(&sb, u.path.len - k + 1);
	sbuf_add(&sb, "", 0);	/* NUL-terminated even when empty */
	for (i = k; i < u.path.len; i++) {
		char c = u.path.ptr[i];
		if (c == '%' && i + 2 < u.path.len && ascii_hexval(u.path.ptr[i + 1]) >= 0 && ascii_hexval(u.path.ptr[i + 2]) >= 0) {
			sbuf_addc(&sb, (char)(ascii_hexval(u.path.ptr[i + 1]) * 16 +
					      ascii_hexval(u.path.ptr[i + 2])));
			i += 2;
		} else {
			sbuf_addc(&sb, c);
		}
	}
	*len = sb.len;
	return sbuf_detach(&sb);
}

/* A file name that can be used as one path component. */
static bool filename_safe(const char *f, size_t len)
{
	size_t i;

	if (len == 0 || len > 255 || strcmp(f, ".") == 0 || strcmp(f, "..") == 0 ||
	    strlen(f) != len)
		return false;
	for (i = 0; i < len; i++)
		if (f[i] == '/' || f[i] == '\\' || is_ctl((unsigned char)f[i]))
			return false;
	return true;
}

/* --- HTML character references --------------------------------------------- */

static void add_utf8(struct sbuf *sb, uint32_t cp)
{
	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	sbuf_add_utf8(sb, cp);
}

static const struct {
	const char *name;
	uint32_t cp;
} named_refs[] = {
	{ "lt", '<' }, { "gt", '>' }, { "amp", '&' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", 0xa0 },
};

/* One reference at s[0] == '&'; returns the bytes consumed, 0 when it is not
 * one (the '&' is then literal). */
static size_t decode_ref(struct sbuf *sb, const char *s, size_t len)
{
	size_t i, k;

	if (len >= 3 && s[1] == '#') {
		uint32_t cp = 0;
		bool hex = (s[2] == 'x' || s[2] == 'X'), any = false;
		i = hex ? 3 : 2;
		for (; i < len; i++) {
			int d = hex ? ascii_hexval(s[i]) : (ascii_isdigit(s[i]) ? s[i] - '0' : -1);
			if (d < 0)
				break;
			any = true;
			if (cp <= 0x10ffff)
				cp = cp * (hex ? 16 : 10) + (uint32_t)d;
		}
		if (!any)
			return 0;
		if (i < len && s[i] == ';')
			i++;
		add_utf8(sb, cp);
		return i;
	}
	for (k = 0; k < sizeof named_refs / sizeof named_refs[0]; k++) {
		size_t n = strlen(named_refs[k].name);
		if (len >= n + 2 && memcmp(s + 1, named_refs[k].name, n) == 0 &&
		    s[n + 1] == ';') {
			add_utf8(sb, named_refs[k].cp);
			return n + 2;
		}
	}
	return 0;
}

char *pypi_html_unescape(const char *s, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	size_t i = 0, used;

	sbuf_grow(&sb, len + 1);
	sbuf_add(&sb, "", 0);	/* NUL-terminated even when empty */
	while (i < len) {
		if (s[i] == '&' && (used = decode_ref(&sb, s + i, len - i)) > 0) {
			i += used;
			continue;
		}
		sbuf_addc(&sb, s[i]);
		i++;
	}
	return sbuf_detach(&sb);
}

/* --- files ------------------------------------------------------------------ */

static void file_free(struct pypi_file *f)
{
	free(f->filename);
	free(f->url);
	free(f->name);
	free(f->version);
	pep440_version_free(&f->ver);
	if (f->kind == PYPI_FILE_WHEEL)
		wheel_name_free(&f->wheel);
	hashes_free(&f->hashes);
	free(f->requires_python);
	free(f->yanked_reason);
	hashes_free(&f->metadata_hashes);
	free(f->upload_time);
	memset(f, 0, sizeof *f);
}

void pypi_page_free(struct pypi_page *p)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		file_free(&p->files[i]);
	free(p->files);
	free(p->name);
	memset(p, 0, sizeof *p);
}

struct page_state {
	struct pkgimg_ctx *ctx;
	const char *page_url;
	char *project;		/* PEP 503, or NULL for every project */
	struct pypi_file *files;
	size_t nfiles, cap;
	size_t nskipped;
};

static const char *const sdist_exts[] = {
	".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar",
};

/* Fills kind, name, version, ver (and wheel) from f->filename.  1 when the
 * file is to be skipped, 0 when kept. */
static int file_classify(struct page_state *st, struct pypi_file *f)
{
	struct pkgimg_ctx scratch;
	size_t i, ext = 0, stemlen, k;
	char *stem = NULL;
	int r = 1;

	pkgimg_ctx_init(&scratch);
	if (ends_with_ci(f->filename, ".whl")) {
		struct wheel_name w;
		if (wheel_filename_parse(&scratch, f->filename, &w) < 0)
			return 1;
		if (st->project && strcmp(st->project, w.name) != 0) {
			wheel_name_free(&w);
			return 1;
		}
		if (pep440_parse(&scratch, w.version, &f->ver) < 0) {
			wheel_name_free(&w);
			return 1;
		}
		f->kind = PYPI_FILE_WHEEL;
		f->wheel = w;
		f->name = xstrdup(w.name);
		f->version = xstrdup(w.version);
		return 0;
	}
	for (i = 0; i < sizeof sdist_exts / sizeof sdist_exts[0]; i++)
		if (ends_with_ci(f->filename, sdist_exts[i])) {
			ext = strlen(sdist_exts[i]);
			break;
		}
	if (!ext)
		return 1;
	stemlen = strlen(f->filename) - ext;
	stem = xstrndup(f->filename, stemlen);
	/* the version starts after the first '-' whose prefix is the project */
	for (k = 1; k + 1 < stemlen; k++) {
		char *name, *norm;
		bool match;
		if (stem[k] != '-')
			continue;
		if (!st->project) {
			if (!ascii_isdigit(stem[k + 1]))
				continue;
		}
		name = xstrndup(stem, k);
		norm = pep503_normalize(name);
		match = !st->project || strcmp(norm, st->project) == 0;
		free(name);
		if (!match) {
			free(norm);
			continue;
		}
		if (pep440_parse(&scratch, stem + k + 1, &f->ver) < 0) {
			free(norm);
			goto out;
		}
		f->kind = PYPI_FILE_SDIST;
		f->name = norm;
		f->version = xstrdup(stem + k + 1);
		r = 0;
		goto out;
	}
out:
	free(stem);
	return r;
}

/* Takes f over: keeps it when it is a file of the project, else frees it. */
static void page_add(struct page_state *st, struct pypi_file *f)
{
	if (file_classify(st, f) != 0) {
		file_free(f);
		st->nskipped++;
		return;
	}
	if (st->nfiles == st->cap) {
		st->cap = st->cap ? st->cap * 2 : 16;
		st->files = xrealloc(st->files, st->cap * sizeof *st->files);
	}
	st->files[st->nfiles++] = *f;
	memset(f, 0, sizeof *f);
}

/* Resolves href against base, checks the scheme, and fills f->url (without
 * fragment) and the hashes the fragment carries.  1 when the link is not an
 * http(s)/file URL (skipped), 0 done, <0 error. */
static int file_set_url(struct page_state *st, struct pypi_file *f, const char *base,
			const char *href, const char *what)
{
	char *abs = NULL;
	struct uri u;
	int r;

	r = pypi_url_resolve(st->ctx, base, href, &abs);
	if (r < 0) {
		r = pkgimg_err_wrap(st->ctx, r, "%s: [index] %s", st->page_url, what);
		goto out;
	}
	uri_split(abs, &u);
	if (!blob_eq_str(u.scheme, "https") && !blob_eq_str(u.scheme, "http") &&
	    !blob_eq_str(u.scheme, "file")) {
		r = 1;
		goto out;
	}
	if (u.has_frag) {
		struct blob frag = u.frag, item;
		while (frag.len > 0) {
			struct blob key;
			blob_split(&frag, '&', &item);
			if (!blob_split(&item, '=', &key))
				continue;
			if (key.len <= 32) {
				char k[33];
				size_t j;
				for (j = 0; j < key.len; j++)
					k[j] = ascii_lower(key.ptr[j]);
				k[key.len] = '\0';
				if (!known_hexlen(k))
					continue;
				r = hashes_add(st->ctx, &f->hashes, key, item, st->page_url, what,
					       "URL fragment");
				if (r < 0)
					goto out;
			}
		}
		abs[u.frag.ptr - 1 - abs] = '\0';
	}
	f->url = abs;
	abs = NULL;
	r = 0;
out:
	free(abs);
	return r;
}

static int api_version_check(struct page_state *st, const char *v, struct pypi_page *page)
{
	unsigned long major, minor;
	char *end;

	if (!ascii_isdigit(v[0]))
		goto bad;
	major = strtoul(v, &end, 10);
	if (*end != '.' || !ascii_isdigit(end[1]))
		goto bad;
	minor = strtoul(end + 1, &end, 10);
	if (*end != '\0' || major > 1000000 || minor > 1000000)
		goto bad;
	if (major > 1)
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] the repository speaks API version %s; pkgimg reads "
				  "version 1.x only (PEP 629: a new major version is not "
				  "compatible)", st->page_url, v);
	page->api_major = (unsigned)major;
	page->api_minor = (unsigned)minor;
	return 0;
bad:
	return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			  "%s: [index] bad API version '%s' (expected MAJOR.MINOR)", st->page_url, v);
}

/* --- PEP 691 JSON ------------------------------------------------------------ */

static int json_hashes(struct page_state *st, json_t *obj, struct pypi_hashes *h,
		       const char *file, const char *what)
{
	const char *key;
	json_t *val;

	if (!json_is_object(obj))
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] %s: \"%s\" is not an object of hashes",
				  st->page_url, file, what);
	json_object_foreach(obj, key, val) {
		int r;
		if (!json_is_string(val))
			return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
					  "%s: [index] %s: \"%s\": the %s digest is not a string",
					  st->page_url, file, what, key);
		r = hashes_add(st->ctx, h, BLOB_STR(key),
			       (struct blob){ json_string_value(val), json_string_length(val) },
			       st->page_url, file, what);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A JSON string field that may be absent or null: *out NULL then. */
static int json_opt_string(struct page_state *st, json_t *file, const char *key,
			   const char *fname, char **out)
{
	json_t *v = json_object_get(file, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] %s: \"%s\" is not a string", st->page_url, fname,
				  key);
	*out = xstrdup(json_string_value(v));
	return 0;
}

static int json_file(struct page_state *st, json_t *jf, size_t idx)
{
	struct pypi_file f;
	json_t *v, *fn, *url;
	char what[64];
	const char *fname;
	static const char *const meta_keys[] = {
		"core-metadata", "dist-info-metadata", "data-dist-info-metadata",
	};
	size_t i;
	int r;

	memset(&f, 0, sizeof f);
	snprintf(what, sizeof what, "files[%zu]", idx);
	if (!json_is_object(jf))
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [index] %s is not an object",
				  st->page_url, what);
	fn = json_object_get(jf, "filename");
	url = json_object_get(jf, "url");
	if (!json_is_string(fn) || !json_is_string(url))
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] %s has no string \"%s\"", st->page_url, what,
				  json_is_string(fn) ? "url" : "filename");
	fname = json_string_value(fn);
	if (!filename_safe(fname, json_string_length(fn)))
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] %s: unsafe file name \"%s\" (not one plain path "
				  "component)", st->page_url, what, fname);
	f.filename = xstrdup(fname);
	if (strlen(json_string_value(url)) != json_string_length(url)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE, "%s: [index] %s: NUL in \"url\"",
			       st->page_url, fname);
		goto out;
	}
	/* the "hashes" first: they win over a #sha256= in the URL */
	v = json_object_get(jf, "hashes");
	if (v && (r = json_hashes(st, v, &f.hashes, fname, "hashes")) < 0)
		goto out;
	r = file_set_url(st, &f, st->page_url, json_string_value(url), fname);
	if (r != 0)
		goto out;
	if ((r = json_opt_string(st, jf, "requires-python", fname, &f.requires_python)) < 0)
		goto out;
	v = json_object_get(jf, "yanked");
	if (json_is_string(v)) {
		f.yanked = true;
		f.yanked_reason = xstrdup(json_string_value(v));
	} else if (json_is_true(v)) {
		f.yanked = true;
		f.yanked_reason = xstrdup("");
	} else if (v && !json_is_false(v) && !json_is_null(v)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			       "%s: [index] %s: \"yanked\" is neither a boolean nor a reason string",
			       st->page_url, fname);
		goto out;
	}
	for (i = 0; i < sizeof meta_keys / sizeof meta_keys[0]; i++) {
		v = json_object_get(jf, meta_keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (json_is_boolean(v)) {
			f.has_metadata = json_is_true(v);
		} else if (json_is_object(v)) {
			f.has_metadata = true;
			r = json_hashes(st, v, &f.metadata_hashes, fname, meta_keys[i]);
			if (r < 0)
				goto out;
		} else {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [index] %s: \"%s\" is neither a boolean nor an object "
				       "of hashes", st->page_url, fname, meta_keys[i]);
			goto out;
		}
		break;
	}
	v = json_object_get(jf, "size");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [index] %s: \"size\" is not a non-negative integer",
				       st->page_url, fname);
			goto out;
		}
		f.has_size = true;
		f.size = (uint64_t)json_integer_value(v);
	}
	if ((r = json_opt_string(st, jf, "upload-time", fname, &f.upload_time)) < 0)
		goto out;
	page_add(st, &f);
	return 0;
out:
	if (r == 1) {
		st->nskipped++;
		r = 0;
	}
	file_free(&f);
	return r;
}

static int parse_json(struct page_state *st, const char *body, size_t len, struct pypi_page *page)
{
	json_error_t jerr;
	json_t *root, *v, *files;
	size_t i;
	int r = 0;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				  "%s: [index] malformed JSON at line %d column %d: %s",
				  st->page_url, jerr.line, jerr.column, jerr.text);
	if (!json_is_object(root)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			       "%s: [index] the JSON page is not an object", st->page_url);
		goto out;
	}
	v = json_object_get(json_object_get(root, "meta"), "api-version");
	if (v) {
		if (!json_is_string(v)) {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [index] meta.api-version is not a string", st->page_url);
			goto out;
		}
		if ((r = api_version_check(st, json_string_value(v), page)) < 0)
			goto out;
	}
	v = json_object_get(root, "name");
	if (v) {
		char *norm;
		if (!json_is_string(v) || json_string_length(v) == 0) {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [index] \"name\" is not a project name", st->page_url);
			goto out;
		}
		norm = pep503_normalize(json_string_value(v));
		if (st->project && strcmp(norm, st->project) != 0) {
			r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
				       "%s: [index] the page is for project '%s', not '%s'",
				       st->page_url, json_string_value(v), st->project);
			free(norm);
			goto out;
		}
		if (!st->project)
			st->project = norm;
		else
			free(norm);
		page->name = xstrdup(json_string_value(v));
	}
	files = json_object_get(root, "files");
	if (!json_is_array(files)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			       "%s: [index] the JSON page has no \"files\" array", st->page_url);
		goto out;
	}
	for (i = 0; i < json_array_size(files); i++)
		if ((r = json_file(st, json_array_get(files, i), i)) < 0)
			goto out;
out:
	json_decref(root);
	return r;
}

/* --- PEP 503 HTML ------------------------------------------------------------- */

struct html_attr {
	struct blob name;	/* as written; compare with blob_ieq */
	struct blob value;	/* raw, references not decoded */
	bool has_value;
};

struct html_tag {
	struct blob name;
	struct html_attr attrs[HTML_MAX_ATTRS];
	size_t nattrs;
};

static const struct html_attr *tag_attr(const struct html_tag *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->nattrs; i++)	/* the first of duplicates wins */
		if (blob_ieq_str(t->attrs[i].name, name))
			return &t->attrs[i];
	return NULL;
}

static char *attr_value(const struct html_attr *a)
{
	return pypi_html_unescape(a->value.ptr ? a->value.ptr : "", a->value.len);
}

/* One anchor, its attributes decoded, waiting for <base>. */
struct html_link {
	char *href, *requires_python, *yanked, *metadata;
	size_t offset;
};

static void links_free(struct html_link *l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(l[i].href);
		free(l[i].requires_python);
		free(l[i].yanked);
		free(l[i].metadata);
	}
	free(l);
}

/* Reads a start tag at s[*pos] == '<' (a letter follows).  *pos ends after
 * '>'.  -PKGIMG_E_PARSE when the document ends inside it. */
static int html_read_tag(struct page_state *st, const char *s, size_t len, size_t *pos,
			 struct html_tag *t)
{
	size_t i = *pos + 1, start;

	t->nattrs = 0;
	start = i;
	while (i < len && !is_html_space(s[i]) && s[i] != '/' && s[i] != '>')
		i++;
	t->name = (struct blob){ s + start, i - start };
	for (;;) {
		struct html_attr a;
		while (i < len && (is_html_space(s[i]) || s[i] == '/'))
			i++;
		if (i >= len)
			goto eof;
		if (s[i] == '>') {
			*pos = i + 1;
			return 0;
		}
		memset(&a, 0, sizeof a);
		start = i;
		i++;	/* a first '=' belongs to the name */
		while (i < len && !is_html_space(s[i]) && s[i] != '/' && s[i] != '>' &&
		       s[i] != '=')
			i++;
		a.name = (struct blob){ s + start, i - start };
		while (i < len && is_html_space(s[i]))
			i++;
		if (i < len && s[i] == '=') {
			i++;
			while (i < len && is_html_space(s[i]))
				i++;
			if (i >= len)
				goto eof;
			a.has_value = true;
			if (s[i] == '"' || s[i] == '\'') {
				char q = s[i++];
				const char *end = memchr(s + i, q, len - i);
				if (!end)
					return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
							  "%s: [index] malformed HTML: the quoted "
							  "value of attribute '" BLOB_FMT "' at "
							  "offset %zu is never closed", st->page_url,
							  BLOB_ARG(a.name), start);
				a.value = (struct blob){ s + i, (size_t)(end - (s + i)) };
				i = (size_t)(end - s) + 1;
			} else {
				start = i;
				while (i < len && !is_html_space(s[i]) && s[i] != '>')
					i++;
				a.value = (struct blob){ s + start, i - start };
			}
		}
		if (t->nattrs < HTML_MAX_ATTRS)
			t->attrs[t->nattrs++] = a;
	}
eof:
	return pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			  "%s: [index] malformed HTML: the tag '<" BLOB_FMT "' at offset %zu "
			  "is never closed", st->page_url, BLOB_ARG(t->name), *pos);
}

static const char *find_ci(const char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	for (i = 0; i + n <= len; i++)
		if (blob_ieq_str((struct blob){ s + i, n }, needle))
			return s + i;
	return NULL;
}

static int html_link_file(struct page_state *st, const char *base, struct html_link *l)
{
	struct pypi_file f;
	char *clean = href_clean(l->href), what[64];
	size_t namelen;
	int r;

	memset(&f, 0, sizeof f);
	snprintf(what, sizeof what, "link at offset %zu", l->offset);
	r = file_set_url(st, &f, base, clean, what);
	if (r != 0)
		goto out;
	f.filename = url_basename(f.url, &namelen);
	if (!filename_safe(f.filename, namelen)) {
		/* a name that decodes to "" or contains a NUL/'/' */
		if (namelen == 0) {
			r = 1;
			goto out;
		}
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			       "%s: [index] %s: unsafe file name in '%s' (not one plain path "
			       "component)", st->page_url, what, f.url);
		goto out;
	}
	if (l->requires_python)
		f.requires_python = xstrdup(l->requires_python);
	if (l->yanked) {
		f.yanked = true;
		f.yanked_reason = xstrdup(l->yanked);
	}
	if (l->metadata && strcmp(l->metadata, "false") != 0) {
		struct blob v = BLOB_STR(l->metadata), algo;
		f.has_metadata = true;
		/* "true", or "algo=hex"; anything else: available, no hash (pip) */
		if (blob_split(&v, '=', &algo) && algo.len > 0) {
			r = hashes_add(st->ctx, &f.metadata_hashes, algo, v, st->page_url,
				       f.filename, "data-core-metadata");
			if (r < 0)
				goto out;
		}
	}
	page_add(st, &f);
	r = 0;
out:
	if (r == 1) {
		st->nskipped++;
		r = 0;
	}
	file_free(&f);
	free(clean);
	return r;
}

static int parse_html(struct page_state *st, const char *s, size_t len, struct pypi_page *page)
{
	struct html_tag *t = xcalloc(1, sizeof *t);
	struct html_link *links = NULL;
	size_t nlinks = 0, cap = 0, i = 0, k;
	char *base = NULL, *base_abs = NULL;
	int r = 0;

	if (memchr(s, '\0', len)) {
		r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
			       "%s: [index] malformed HTML: the page contains a NUL byte",
			       st->page_url);
		goto out;
	}
	while (i < len) {
		const char *lt = memchr(s + i, '<', len - i), *end;
		size_t at;
		if (!lt)
			break;
		at = i = (size_t)(lt - s);
		if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
			/* "<!-->" and "<!--->" are empty comments */
			if (len - i >= 5 && s[i + 4] == '>') {
				i += 5;
				continue;
			}
			if (len - i >= 6 && memcmp(s + i + 4, "->", 2) == 0) {
				i += 6;
				continue;
			}
			end = memmem(s + i + 4, len - i - 4, "-->", 3);
			if (!end) {
				r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
					       "%s: [index] malformed HTML: the comment at offset "
					       "%zu is never closed", st->page_url, at);
				goto out;
			}
			i = (size_t)(end - s) + 3;
			continue;
		}
		if (len - i >= 2 && (s[i + 1] == '!' || s[i + 1] == '?' ||
				     (s[i + 1] == '/' && len - i >= 3 && ascii_isalpha(s[i + 2])))) {
			/* doctype, CDATA, processing instruction, end tag */
			end = memchr(s + i, '>', len - i);
			if (!end) {
				r = pkgimg_err(st->ctx, -PKGIMG_E_PARSE,
					       "%s: [index] malformed HTML: the markup at offset "
					       "%zu is never closed", st->page_url, at);
				goto out;
			}
			i = (size_t)(end - s) + 1;
			continue;
		}
		if (len - i < 2 || !ascii_isalpha(s[i + 1])) {
			i++;	/* a literal '<' */
			continue;
		}
		if ((r = html_read_tag(st, s, len, &i, t)) < 0)
			goto out;
		if (blob_ieq_str(t->name, "a")) {
			const struct html_attr *href = tag_attr(t, "href"), *a;
			struct html_link *l;
			if (!href || !href->has_value)
				continue;
			if (nlinks == cap) {
				cap = cap ? cap * 2 : 32;
				links = xrealloc(links, cap * sizeof *links);
			}
			l = &links[nlinks++];
			memset(l, 0, sizeof *l);
			l->offset = at;
			l->href = attr_value(href);
			if ((a = tag_attr(t, "data-requires-python")))
				l->requires_python = attr_value(a);
			if ((a = tag_attr(t, "data-yanked")))
				l->yanked = attr_value(a);
			if ((a = tag_attr(t, "data-core-metadata")) ||
			    (a = tag_attr(t, "data-dist-info-metadata")))
				l->metadata = attr_value(a);
		} else if (blob_ieq_str(t->name, "base")) {
			const struct html_attr *href = tag_attr(t, "href");
			if (!base && href && href->has_value)
				base = attr_value(href);
		} else if (blob_ieq_str(t->name, "meta")) {
			const struct html_attr *name = tag_attr(t, "name"), *c;
			if (name && blob_ieq_str(name->value, "pypi:repository-version") &&
			    (c = tag_attr(t, "content"))) {
				char *v = attr_value(c);
				r = api_version_check(st, v, page);
				free(v);
				if (r < 0)
					goto out;
			}
		} else if (blob_ieq_str(t->name, "script") || blob_ieq_str(t->name, "style") ||
			   blob_ieq_str(t->name, "textarea") || blob_ieq_str(t->name, "title")) {
			/* raw text: nothing inside is markup */
			char close[16];
			snprintf(close, sizeof close, "</" BLOB_FMT, BLOB_ARG(t->name));
			end = find_ci(s + i, len - i, close);
			i = end ? (size_t)(end - s) : len;
		}
	}
	if (base) {
		char *clean = href_clean(base);
		r = pypi_url_resolve(st->ctx, st->page_url, clean, &base_abs);
		free(clean);
		if (r < 0) {
			r = pkgimg_err_wrap(st->ctx, r, "%s: [index] <base href>", st->page_url);
			goto out;
		}
	}
	for (k = 0; k < nlinks; k++)
		if ((r = html_link_file(st, base_abs ? base_abs : st->page_url, &links[k])) < 0)
			goto out;
out:
	links_free(links, nlinks);
	free(base);
	free(base_abs);
	free(t);
	return r;
}

/* --- entry ------------------------------------------------------------------- */

int pypi_page_parse(struct pkgimg_ctx *ctx, const char *body, size_t len,
		    const char *content_type, const char *page_url, const char *project,
		    struct pypi_page *out)
{
	struct page_state st;
	struct pypi_page page;
	struct blob ct = BLOB_NULL, head;
	struct uri u;
	size_t i;
	int r;

	memset(&st, 0, sizeof st);
	memset(&page, 0, sizeof page);
	st.ctx = ctx;
	st.page_url = page_url;
	page.api_major = 1;
	if (page_url && !has_bad_char(page_url))
		uri_split(page_url, &u);
	else
		memset(&u, 0, sizeof u);
	if (!u.has_scheme)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [index] the page URL is not an absolute URL",
				  page_url ? page_url : "(null)");
	if (project)
		st.project = pep503_normalize(project);
	if (content_type) {
		ct = BLOB_STR(content_type);
		blob_split(&ct, ';', &head);
		ct = blob_trim(head);
	}
	if (ct.len == 0 || blob_ieq_str(ct, "text/html") ||
	    blob_ieq_str(ct, "application/vnd.pypi.simple.v1+html") ||
	    blob_ieq_str(ct, "application/vnd.pypi.simple.latest+html")) {
		page.format = PYPI_FORMAT_HTML;
		r = parse_html(&st, body ? body : "", body ? len : 0, &page);
	} else if (blob_ieq_str(ct, "application/vnd.pypi.simple.v1+json") ||
		   blob_ieq_str(ct, "application/vnd.pypi.simple.latest+json")) {
		page.format = PYPI_FORMAT_JSON;
		r = parse_json(&st, body ? body : "", body ? len : 0, &page);
	} else {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [index] unsupported Content-Type '" BLOB_FMT "' (expected "
			       "application/vnd.pypi.simple.v1+json or text/html)",
			       page_url, BLOB_ARG(ct));
	}
	if (r < 0)
		goto out;
	page.files = st.files;
	page.nfiles = st.nfiles;
	page.nskipped = st.nskipped;
	st.files = NULL;
	st.nfiles = 0;
	*out = page;
	memset(&page, 0, sizeof page);
out:
	for (i = 0; i < st.nfiles; i++)
		file_free(&st.files[i]);
	free(st.files);
	free(st.project);
	pypi_page_free(&page);
	return r;
}
