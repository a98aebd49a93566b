/* Requirements that name a source (see pyspec/pysrc.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/pysrc.h"

static const char *const archive_exts[] = {
	".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip",
};

static bool is_archive(const char *s, size_t n)
{
	for (size_t i = 0; i < sizeof archive_exts / sizeof archive_exts[0]; i++) {
		size_t el = strlen(archive_exts[i]);

		if (n > el && !strncasecmp(s + n - el, archive_exts[i], el))
			return true;
	}
	return false;
}

static bool is_wheel(const char *s, size_t n)
{
	return n > 4 && !strncasecmp(s + n - 4, ".whl", 4);
}

/* The length of a URL scheme followed by ':' at s ("git+https"), or 0. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	while ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
	       (s[i] >= '0' && s[i] <= '9') || s[i] == '+' || s[i] == '-' || s[i] == '.')
		i++;
	return i > 1 && s[i] == ':' ? i : 0;
}

bool pysrc_is_unnamed(const char *s)
{
	size_t n = strcspn(s, " \t;@[<>=!~(");

	if (scheme_len(s))
		return true;
	if (!n)
		return false;
	if (memchr(s, '/', n) || memchr(s, '\\', n) || s[0] == '.' || s[0] == '~')
		return true;
	return is_archive(s, n) || is_wheel(s, n);
}

void pysrc_free(struct pysrc *s)
{
	free(s->url);
	free(s->rev);
	free(s->subdirectory);
	free(s->sha256);
	free(s->direct_url);
	memset(s, 0, sizeof *s);
}

char *pysrc_path_url(const char *path)
{
	struct sbuf s = SBUF_INIT;

	sbuf_adds(&s, "file://");
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    strchr("_.-~/", *p))
			sbuf_add(&s, (const char *)p, 1);
		else
			sbuf_addf(&s, "%%%02X", *p);
	}
	return sbuf_detach(&s);
}

/* %XX decoded (a file:// URL's path); NULL for a bad escape or a NUL. */
static char *unquote(const char *s, size_t n)
{
	struct sbuf b = SBUF_INIT;

	for (size_t i = 0; i < n; i++) {
		if (s[i] != '%') {
			sbuf_add(&b, &s[i], 1);
			continue;
		}
		if (i + 2 >= n || ascii_hexval(s[i + 1]) < 0 ||
		    ascii_hexval(s[i + 2]) < 0 ||
		    (ascii_hexval(s[i + 1]) == 0 && ascii_hexval(s[i + 2]) == 0)) {
			sbuf_free(&b);
			return NULL;
		}
		sbuf_addf(&b, "%c", (char)(ascii_hexval(s[i + 1]) * 16 + ascii_hexval(s[i + 2])));
		i += 2;
	}
	if (!b.buf)
		sbuf_adds(&b, "");
	return sbuf_detach(&b);
}

char *pysrc_url_path(const char *url)
{
	const char *p;

	if (strncasecmp(url, "file:", 5))
		return NULL;
	p = url + 5;
	if (!strncmp(p, "//localhost/", 12))
		p += 11;
	else if (!strncmp(p, "///", 3))
		p += 2;
	else if (p[0] != '/' || p[1] == '/')
		return NULL;
	return unquote(p, strcspn(p, "#?"));
}

/* "/a/./b/../c" -> "/a/c" (os.path.normpath of an absolute path). */
static char *norm_abs(const char *p)
{
	struct strv parts = { 0 };
	struct sbuf s = SBUF_INIT;

	while (*p) {
		size_t n;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0)
			break;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			if (parts.n)
				free(parts.v[--parts.n]);
		} else if (!(n == 1 && p[0] == '.')) {
			strv_push(&parts, xstrndup(p, n));
		}
		p += n;
	}
	for (size_t i = 0; i < parts.n; i++)
		sbuf_addf(&s, "/%s", parts.v[i]);
	if (!s.len)
		sbuf_adds(&s, "/");
	strv_free(&parts);
	return sbuf_detach(&s);
}

/* Reads the fragment "#k=v&k=v" of a URL: subdirectory, sha256 (other
 * hashes, egg and unknown keys are ignored, as pip ignores them). */
static int read_fragment(struct pkgimg_ctx *ctx, const char *url, const char *frag,
			 struct pysrc *out)
{
	while (*frag) {
		size_t n = strcspn(frag, "&");
		const char *eq = memchr(frag, '=', n);

		if (eq) {
			size_t kl = (size_t)(eq - frag);
			char *v = xstrndup(eq + 1, n - kl - 1);

			if (kl == 12 && !strncmp(frag, "subdirectory", 12)) {
				free(out->subdirectory);
				out->subdirectory = v;
				v = NULL;
			} else if (kl == 6 && !strncmp(frag, "sha256", 6)) {
				for (char *c = v; *c; c++)
					*c = ascii_lower(*c);
				if (!hex_is64(v)) {
					free(v);
					return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] the "
							  "#sha256= fragment is not 64 hex digits",
							  url);
				}
				free(out->sha256);
				out->sha256 = v;
				v = NULL;
			}
			free(v);
		}
		frag += n + (frag[n] == '&');
	}
	if (out->subdirectory) {
		struct sbuf s = SBUF_INIT;
		const char *why = NULL;

		if (!*out->subdirectory || !fs_path_norm(out->subdirectory, false, &s, &why) ||
		    !s.len) {
			sbuf_free(&s);
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] #subdirectory=%s: %s; "
					  "give a relative path inside the source", url,
					  out->subdirectory, why ? why : "empty");
		}
		free(out->subdirectory);
		out->subdirectory = sbuf_detach(&s);
	}
	return 0;
}

static int parse_git(struct pkgimg_ctx *ctx, const char *url, size_t slen, struct pysrc *out)
{
	const char *rest = url + 4, *frag = strchr(url, '#');
	size_t end = frag ? (size_t)(frag - url) : strlen(url);
	char *body = xstrndup(rest, end - 4);
	const char *path, *at;
	size_t inner = slen - 4;
	int r;

	if (strncmp(rest + inner, "://", 3)) {
		free(body);
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] not a git URL pip reads; write "
				  "git+https://HOST/REPO@REV or git+file:///PATH@REV", url);
	}
	if (!((inner == 5 && !strncmp(rest, "https", 5)) || (inner == 4 && !strncmp(rest, "http", 4)) ||
	      (inner == 4 && !strncmp(rest, "file", 4)) || (inner == 3 && !strncmp(rest, "ssh", 3)) ||
	      (inner == 3 && !strncmp(rest, "git", 3)))) {
		free(body);
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] git over '%.*s' is not read; "
				  "use git+https, git+http, git+ssh, git+git or git+file", url,
				  (int)inner, rest);
	}
	/* the revision follows the last '@' of the path (after the host, so
	 * that user@host is not taken for one) */
	path = strchr(body + inner + 3, '/');
	at = path ? strrchr(path, '@') : NULL;
	out->kind = PYSRC_GIT;
	if (at) {
		if (!at[1]) {
			free(body);
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] an empty revision after "
					  "'@'; name a branch, tag or commit, or drop the '@'", url);
		}
		out->rev = xstrdup(at + 1);
		out->url = xstrndup(body, (size_t)(at - body));
	} else {
		out->url = xstrdup(body);
	}
	free(body);
	out->direct_url = xstrdup(out->url);
	r = frag ? read_fragment(ctx, url, frag + 1, out) : 0;
	return r;
}

int pysrc_parse_url(struct pkgimg_ctx *ctx, const char *url, struct pysrc *out)
{
	struct pysrc s = { 0 };
	size_t slen = scheme_len(url);
	const char *frag = strchr(url, '#');
	size_t end = frag ? (size_t)(frag - url) : strlen(url);
	int r = 0;

	if (strpbrk(url, " \t\r\n")) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] a URL with a blank in it; quote "
			       "it as %%20", url);
		goto out;
	}
	if (slen > 4 && !strncasecmp(url, "git+", 4)) {
		r = parse_git(ctx, url, slen, &s);
		goto out;
	}
	if ((slen == 5 && !strncasecmp(url, "https", 5)) || (slen == 4 && !strncasecmp(url, "http", 4))) {
		s.url = xstrndup(url, end);
	} else if (slen == 4 && !strncasecmp(url, "file", 4)) {
		const char *p = url + 5;
		char *path;
		struct stat sb;

		if (!strncmp(p, "//localhost/", 12))
			p += 11;
		else if (!strncmp(p, "///", 3))
			p += 2;
		else if (p[0] != '/' || p[1] == '/') {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] a file URL names an absolute "
				       "path: file:///PATH", url);
			goto out;
		}
		path = unquote(p, end - (size_t)(p - url));
		if (!path) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] a bad %%-escape in the path",
				       url);
			goto out;
		}
		if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			s.kind = PYSRC_DIR;
			s.url = norm_abs(path);
			s.direct_url = xstrndup(url, end);
			free(path);
			if (frag)
				r = read_fragment(ctx, url, frag + 1, &s);
			goto out;
		}
		free(path);
		s.url = xstrndup(url, end);
	} else {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] pip reads http, https and file "
			       "URLs and git+ ones; write name @ https://HOST/name-VERSION.tar.gz, "
			       "name @ file:///PATH or name @ git+https://HOST/REPO@REV", url);
		goto out;
	}
	{
		const char *last = strrchr(s.url, '/');
		const char *q = strchr(last ? last : s.url, '?');
		size_t n = q ? (size_t)(q - s.url) : strlen(s.url);

		if (is_wheel(s.url, n))
			s.kind = PYSRC_WHEEL;
		else if (is_archive(s.url, n))
			s.kind = PYSRC_ARCHIVE;
		else {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] neither a directory nor an "
				       "archive pip builds (.tar.gz, .zip, ...) nor a wheel", url);
			goto out;
		}
	}
	s.direct_url = xstrdup(s.url);
	if (frag)
		r = read_fragment(ctx, url, frag + 1, &s);
out:
	if (r < 0)
		pysrc_free(&s);
	else
		*out = s;
	return r;
}

int pysrc_parse_unnamed(struct pkgimg_ctx *ctx, const char *text, const char *base,
			struct pysrc *out)
{
	struct pysrc s = { 0 };
	struct stat sb;
	char *abs, *cwd = NULL;
	size_t n = strcspn(text, "#");
	int r = 0;

	if (scheme_len(text))
		return pysrc_parse_url(ctx, text, out);
	if (text[0] == '~')
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] '~' is not expanded; give the "
				  "path from / or from the current directory", text);
	if (text[0] == '/') {
		abs = xstrndup(text, n);
	} else {
		if (!base)
			base = cwd = getcwd(NULL, 0);
		if (!base)
			return pkgimg_err(ctx, -errno, "%s: [lock] the current directory: %m", text);
		abs = xasprintf("%s/%.*s", base, (int)n, text);
	}
	s.url = norm_abs(abs);
	free(abs);
	free(cwd);
	if (stat(s.url, &sb) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [lock] %s: %m; a requirement without a name is a "
			       "project directory or an archive (./mypkg, dist/x-1.0.tar.gz)", text,
			       s.url);
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		s.kind = PYSRC_DIR;
	} else if (is_wheel(s.url, strlen(s.url))) {
		s.kind = PYSRC_WHEEL;
	} else if (is_archive(s.url, strlen(s.url))) {
		s.kind = PYSRC_ARCHIVE;
	} else {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [lock] neither a project directory nor an "
			       "archive pip builds (.tar.gz, .zip, ...)", text);
		goto out;
	}
	if (s.kind != PYSRC_DIR) {
		char *u = pysrc_path_url(s.url);

		free(s.url);
		s.url = u;
	}
	s.direct_url = s.kind == PYSRC_DIR ? pysrc_path_url(s.url) : xstrdup(s.url);
	if (text[n])
		r = read_fragment(ctx, text, text + n + 1, &s);
out:
	if (r < 0)
		pysrc_free(&s);
	else
		*out = s;
	return r;
}

/* A JSON string as Python's json.dumps writes it (ensure_ascii). */
static void json_str(struct sbuf *s, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	sbuf_adds(s, "\"");
	while (*p) {
		unsigned cp = *p, len = 1;

		if (cp >= 0xc2 && cp < 0xe0 && (p[1] & 0xc0) == 0x80) {
			cp = ((cp & 0x1f) << 6) | (p[1] & 0x3f);
			len = 2;
		} else if (cp >= 0xe0 && cp < 0xf0 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80) {
			cp = ((cp & 0x0f) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3f);
			len = 3;
		} else if (cp >= 0xf0 && cp < 0xf5 && (p[1] & 0xc0) == 0x80 && (p[2] & 0xc0) == 0x80 &&
			   (p[3] & 0xc0) == 0x80) {
			cp = ((cp & 0x07) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) |
			     (p[3] & 0x3f);
			len = 4;
		}
		if (cp == '"')
			sbuf_adds(s, "\\\"");
		else if (cp == '\\')
			sbuf_adds(s, "\\\\");
		else if (cp == '\n')
			sbuf_adds(s, "\\n");
		else if (cp == '\r')
			sbuf_adds(s, "\\r");
		else if (cp == '\t')
			sbuf_adds(s, "\\t");
		else if (cp == '\b')
			sbuf_adds(s, "\\b");
		else if (cp == '\f')
			sbuf_adds(s, "\\f");
		else if (cp < 0x20 || (cp > 0x7f && cp < 0x10000))
			sbuf_addf(s, "\\u%04x", cp);
		else if (cp >= 0x10000)
			sbuf_addf(s, "\\u%04x\\u%04x", 0xd800 + ((cp - 0x10000) >> 10),
				  0xdc00 + ((cp - 0x10000) & 0x3ff));
		else
			sbuf_add(s, (const char *)p, 1);
		p += len;
	}
	sbuf_adds(s, "\"");
}

char *pysrc_direct_url_json(enum pysrc_kind kind, const char *url, const char *hash_sha256,
			    const char *commit, const char *requested_revision,
			    const char *subdirectory)
{
	struct sbuf s = SBUF_INIT;

	sbuf_adds(&s, "{");
	if (kind == PYSRC_ARCHIVE || kind == PYSRC_WHEEL) {
		if (hash_sha256)
			sbuf_addf(&s, "\"archive_info\": {\"hash\": \"sha256=%s\", \"hashes\": "
				  "{\"sha256\": \"%s\"}}, ", hash_sha256, hash_sha256);
		else
			sbuf_adds(&s, "\"archive_info\": {}, ");
	} else if (kind == PYSRC_DIR) {
		sbuf_adds(&s, "\"dir_info\": {}, ");
	}
	if (subdirectory) {
		sbuf_adds(&s, "\"subdirectory\": ");
		json_str(&s, subdirectory);
		sbuf_adds(&s, ", ");
	}
	sbuf_adds(&s, "\"url\": ");
	json_str(&s, url);
	if (kind == PYSRC_GIT) {
		sbuf_adds(&s, ", \"vcs_info\": {\"commit_id\": ");
		json_str(&s, commit ? commit : "");
		if (requested_revision) {
			sbuf_adds(&s, ", \"requested_revision\": ");
			json_str(&s, requested_revision);
		}
		sbuf_adds(&s, ", \"vcs\": \"git\"}");
	}
	sbuf_adds(&s, "}");
	return sbuf_detach(&s);
}
