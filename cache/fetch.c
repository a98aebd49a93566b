/* Parallel downloads with libcurl multi (cache/fetch.h).
 *
 * Every item becomes a `struct xfer` that goes PENDING → ACTIVE → DONE, or
 * ACTIVE → WAITING → ACTIVE when a transient failure is retried after a
 * backoff.  At most ctx->jobs transfers are ACTIVE at once.  Artifacts stream
 * into ROOT/tmp/ while hashed and are renamed into ROOT/blobs/sha256/ only
 * after their digest and size matched; index files go to dest.part.<pid> and
 * are renamed over dest. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"

#define FETCH_USER_AGENT	"pkgimg/0.1"
#define FETCH_RETRIES		3	/* retries after the first attempt */
#define FETCH_BACKOFF_MS	500	/* 0.5 s, 1 s, 2 s */
#define FETCH_RETRY_AFTER_MAX_S	30	/* cap on a server's Retry-After */
#define FETCH_CONNECT_TIMEOUT_S	15
#define FETCH_LOW_SPEED_BYTES	512	/* slower than this ... */
#define FETCH_LOW_SPEED_TIME_S	30	/* ... for this long: give up (and retry) */
#define FETCH_PROGRESS_MS	100

enum xstate { X_PENDING, X_ACTIVE, X_WAITING, X_DONE };

struct run;

struct xfer {
	struct run *run;
	struct fetch_item *item;
	const char *label;
	enum xstate state;
	bool artifact;		/* sha256 set: goes to the blob store */
	bool is_file;		/* file:// URL */
	int attempt;		/* 1 on the first try */
	int64_t retry_at;	/* monotonic ms, X_WAITING */

	CURL *easy;
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	char *tmp;		/* where the body goes */
	int fd;
	struct hasher h;
	uint64_t got;		/* body bytes of this attempt */
	bool too_big;
	bool over_limit;	/* no declared size and more than ctx->max_download */
	int write_errno;
	char *etag, *lastmod;	/* validators of the final response */
	char *ctype;		/* its Content-Type */

	bool failed;		/* result counts as a failure */
	char *msg;		/* message that goes with result */
};

struct run {
	struct pkgimg_ctx *ctx;
	struct store *st;
	CURLM *multi;
	struct xfer *x;
	int n;
	const char *cur_label;	/* the item that last received bytes */
	uint64_t total;		/* sum of the known sizes to download */
	int64_t last_progress;
	bool any_started;
	const char *cainfo, *capath;
};

/* Where Linux distributions keep the CA bundle (as curl and Go look). */
static const char *const ca_files[] = {
	"/etc/ssl/certs/ca-certificates.crt",			/* Debian, Ubuntu, Arch */
	"/etc/pki/tls/certs/ca-bundle.crt",			/* Fedora, RHEL */
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",	/* RHEL 7 and later */
	"/etc/ssl/ca-bundle.pem",				/* openSUSE */
	"/etc/pki/tls/cacert.pem",				/* OpenELEC */
	"/etc/ssl/cert.pem",					/* Alpine */
	NULL
};
static const char *const ca_dirs[] = { "/etc/ssl/certs", "/etc/pki/tls/certs", NULL };

static bool is_file(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool dir_has_entries(const char *p)
{
	DIR *d = opendir(p);
	struct dirent *de;
	bool any = false;

	while (d && !any && (de = readdir(d)))
		any = de->d_name[0] != '.';
	if (d)
		closedir(d);
	return any;
}

/* The CA certificates HTTPS is verified with: --ca-bundle, SSL_CERT_FILE,
 * SSL_CERT_DIR, else the first of the usual places that fs_exists.  `url` is
 * the first https URL, for the message when there are none. */
static int find_ca(struct pkgimg_ctx *ctx, const char *url, const char **file, const char **dir)
{
	const char *f = ctx->ca_bundle, *d;
	struct sbuf looked = SBUF_INIT;
	int r;

	*file = *dir = NULL;
	if (f) {
		if (!is_file(f))
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "--ca-bundle %s: [fetch] no such "
					  "file; give a PEM file of CA certificates", f);
		*file = f;
		return 0;
	}
	f = getenv("SSL_CERT_FILE");
	if (f && *f) {
		if (!is_file(f))
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "SSL_CERT_FILE=%s: [fetch] no such "
					  "file; point it at a PEM file of CA certificates, or unset it", f);
		*file = f;
		return 0;
	}
	d = getenv("SSL_CERT_DIR");
	if (d && *d) {
		if (!dir_has_entries(d))
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "SSL_CERT_DIR=%s: [fetch] no "
					  "certificates there; point it at a directory of hashed CA "
					  "certificates, or unset it", d);
		*dir = d;
		return 0;
	}
	for (int i = 0; ca_files[i]; i++) {
		if (is_file(ca_files[i])) {
			*file = ca_files[i];
			return 0;
		}
		sbuf_addf(&looked, "%s%s", i ? ", " : "", ca_files[i]);
	}
	for (int i = 0; ca_dirs[i]; i++) {
		if (dir_has_entries(ca_dirs[i])) {
			*dir = ca_dirs[i];
			return 0;
		}
		sbuf_addf(&looked, ", %s/", ca_dirs[i]);
	}
	r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [fetch] no CA certificates to verify HTTPS "
		       "with (looked for %s); install the ca-certificates package, or give "
		       "--ca-bundle FILE or SSL_CERT_FILE", url, looked.buf);
	sbuf_free(&looked);
	return r;
}

/* Records the item's outcome: result code and message. */
static void xfer_set(struct xfer *x, int code, bool failed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void xfer_set(struct xfer *x, int code, bool failed, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	free(x->msg);
	x->msg = xstrdup(buf);
	x->item->result = code;
	x->failed = failed;
	x->state = X_DONE;
}

static void xfer_release(struct xfer *x)
{
	if (x->easy) {
		curl_multi_remove_handle(x->run->multi, x->easy);
		curl_easy_cleanup(x->easy);
		x->easy = NULL;
	}
	curl_slist_free_all(x->hdrs);
	x->hdrs = NULL;
	if (x->fd >= 0)
		close(x->fd);
	x->fd = -1;
	if (x->h.md)
		hasher_free(&x->h);
	if (x->tmp) {
		unlink(x->tmp);
		free(x->tmp);
		x->tmp = NULL;
	}
	free(x->etag);
	free(x->lastmod);
	free(x->ctype);
	x->etag = x->lastmod = x->ctype = NULL;
}

/* ---- curl callbacks --------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;

	if (x->artifact && x->item->size >= 0 && x->got + n > (uint64_t)x->item->size) {
		x->too_big = true;
		return 0;
	}
	if (x->item->size < 0 && x->run->ctx->max_download &&
	    x->got + n > x->run->ctx->max_download) {
		x->over_limit = true;	/* nothing declared its size: a bound */
		return 0;
	}
	for (size_t off = 0; off < n; ) {
		ssize_t w = write(x->fd, ptr + off, n - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			x->write_errno = errno;
			return 0;
		}
		off += (size_t)w;
	}
	hasher_update(&x->h, ptr, n);
	x->got += n;
	x->item->downloaded = 1;
	x->run->cur_label = x->label;
	return n;
}

static char *header_value(const char *line, size_t n, const char *name)
{
	size_t k = strlen(name);
	struct blob b;

	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return NULL;
	b = blob_trim((struct blob){ line + k + 1, n - k - 1 });
	return blob_dup(b);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	char *v;

	if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
		/* a new response (after a redirect or a 100): forget the old one */
		free(x->etag);
		free(x->lastmod);
		free(x->ctype);
		x->etag = x->lastmod = x->ctype = NULL;
	} else if ((v = header_value(line, n, "content-type"))) {
		free(x->ctype);
		x->ctype = v;
	} else if ((v = header_value(line, n, "etag"))) {
		free(x->etag);
		x->etag = v;
	} else if ((v = header_value(line, n, "last-modified"))) {
		free(x->lastmod);
		x->lastmod = v;
	}
	return n;
}

/* ---- validators (index mode) ------------------------------------------ */

/* What dest + ".validators" keeps about the response dest came from: the
 * validators for the next conditional request, and the Content-Type and
 * final URL, so a 304 or --offline hands the body back described as it was
 * served.  One "name: value" line each; absent ones are left out. */
struct validators {
	char *etag, *lastmod, *ctype, *url;
	char *sha256;		/* of dest, so a cached copy needs no hashing */
};

static void validators_free(struct validators *v)
{
	free(v->etag);
	free(v->lastmod);
	free(v->ctype);
	free(v->url);
	free(v->sha256);
	memset(v, 0, sizeof *v);
}

/* Keeps the first non-empty value of a field. */
static bool validators_take(char **slot, const struct blob line, const char *name)
{
	char *v = header_value(line.ptr, line.len, name);

	if (!v)
		return false;
	if (!*slot && *v)
		*slot = v;
	else
		free(v);
	return true;
}

static void validators_read(const char *dest, struct validators *out)
{
	char *path = xasprintf("%s.validators", dest);
	struct sbuf text = SBUF_INIT;
	struct blob b, line;

	memset(out, 0, sizeof *out);
	if (fs_read_file(NULL, AT_FDCWD, path, &text) == 0) {
		b = (struct blob){ text.buf, text.len };
		while (b.len) {
			blob_split(&b, '\n', &line);
			if (!validators_take(&out->etag, line, "etag") &&
			    !validators_take(&out->lastmod, line, "last-modified") &&
			    !validators_take(&out->ctype, line, "content-type") &&
			    !validators_take(&out->sha256, line, "sha256"))
				validators_take(&out->url, line, "url");
		}
	}
	sbuf_free(&text);
	free(path);
}

/* A value from a response header goes on one line of its own. */
static void validators_add(struct sbuf *sb, const char *name, const char *value)
{
	if (value && *value && !strpbrk(value, "\r\n"))
		sbuf_addf(sb, "%s: %s\n", name, value);
}

static int validators_write(struct pkgimg_ctx *ctx, const char *dest, const struct validators *v)
{
	char *path = xasprintf("%s.validators", dest);
	struct sbuf sb = SBUF_INIT;
	int r = 0;

	validators_add(&sb, "etag", v->etag);
	validators_add(&sb, "last-modified", v->lastmod);
	validators_add(&sb, "content-type", v->ctype);
	validators_add(&sb, "url", v->url);
	validators_add(&sb, "sha256", v->sha256);
	if (!sb.len) {
		if (unlink(path) < 0 && errno != ENOENT)
			r = pkgimg_err(ctx, -errno, "%s: [fetch] cannot remove: %m", path);
		goto out;
	}
	r = fs_write_file(ctx, AT_FDCWD, path, sb.buf, sb.len, 0644);
out:
	sbuf_free(&sb);
	free(path);
	return r;
}

/* response_info of an index item whose dest is the cached copy (304 or
 * --offline): what was saved with it. */
static void info_from_validators(struct fetch_item *it)
{
	struct validators v;

	validators_read(it->dest, &v);
	it->sha256_got[0] = 0;
	if (v.sha256 && strlen(v.sha256) == 64)
		memcpy(it->sha256_got, v.sha256, 65);
	if (!it->response_info) {
		validators_free(&v);
		return;
	}
	free(it->content_type);
	free(it->effective_url);
	it->content_type = v.ctype;
	it->effective_url = v.url ? v.url : xstrdup(it->url);
	v.ctype = v.url = NULL;
	validators_free(&v);
}

/* response_info from the response just received. */
static void info_from_response(struct xfer *x)
{
	struct fetch_item *it = x->item;
	char *eff = NULL;

	if (!it->response_info)
		return;
	free(it->content_type);
	free(it->effective_url);
	it->content_type = x->ctype && !x->is_file ? xstrdup(x->ctype) : NULL;
	if (x->easy && curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK && eff)
		it->effective_url = xstrdup(eff);
	else
		it->effective_url = xstrdup(it->url);
}

void fetch_item_release(struct fetch_item *it)
{
	free(it->content_type);
	free(it->effective_url);
	it->content_type = it->effective_url = NULL;
}

/* ---- starting and finishing a transfer -------------------------------- */

static int xfer_start(struct xfer *x)
{
	struct run *run = x->run;
	struct fetch_item *it = x->item;
	CURLMcode mc;

	x->attempt++;
	x->got = 0;
	x->too_big = false;
	x->over_limit = false;
	x->write_errno = 0;
	x->errbuf[0] = 0;
	x->item->downloaded = 0;
	x->tmp = x->artifact ? store_tmp_path(run->st, "fetch")
			     : xasprintf("%s.part.%d", it->dest, (int)getpid());
	x->fd = open(x->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (x->fd < 0) {
		xfer_set(x, -errno, true, "%s: [fetch] cannot create '%s': %s", it->url, x->tmp,
			 strerror(errno));
		free(x->tmp);
		x->tmp = NULL;
		return -1;
	}
	if (hasher_init(&x->h, "sha256") < 0) {
		xfer_set(x, -ENOMEM, true, "%s: [fetch] cannot set up SHA-256", it->url);
		xfer_release(x);
		return -1;
	}
	x->easy = curl_easy_init();
	if (!x->easy) {
		xfer_set(x, -ENOMEM, true, "%s: [fetch] cannot set up a transfer", it->url);
		xfer_release(x);
		return -1;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, it->url);
	curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
	curl_easy_setopt(x->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(x->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(x->easy, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(x->easy, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(x->easy, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(x->easy, CURLOPT_PROTOCOLS_STR, "http,https,file");
	curl_easy_setopt(x->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(x->easy, CURLOPT_USERAGENT, FETCH_USER_AGENT);
	curl_easy_setopt(x->easy, CURLOPT_CONNECTTIMEOUT, (long)FETCH_CONNECT_TIMEOUT_S);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_LIMIT, (long)FETCH_LOW_SPEED_BYTES);
	curl_easy_setopt(x->easy, CURLOPT_LOW_SPEED_TIME, (long)FETCH_LOW_SPEED_TIME_S);
	if (run->cainfo || run->capath) {
		/* exactly what find_ca() chose, never libcurl's built-in default */
		curl_easy_setopt(x->easy, CURLOPT_CAINFO, run->cainfo);
		curl_easy_setopt(x->easy, CURLOPT_CAPATH, run->capath);
	}
	if (it->accept && !x->is_file) {
		char *h = xasprintf("Accept: %s", it->accept);

		x->hdrs = curl_slist_append(x->hdrs, h);
		free(h);
	}
	if (!x->artifact && !x->is_file && fs_exists(it->dest)) {
		struct validators v;

		validators_read(it->dest, &v);
		if (v.etag) {
			char *h = xasprintf("If-None-Match: %s", v.etag);

			x->hdrs = curl_slist_append(x->hdrs, h);
			free(h);
		}
		if (v.lastmod) {
			char *h = xasprintf("If-Modified-Since: %s", v.lastmod);

			x->hdrs = curl_slist_append(x->hdrs, h);
			free(h);
		}
		validators_free(&v);
	}
	if (x->hdrs)
		curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, x->hdrs);
	mc = curl_multi_add_handle(run->multi, x->easy);
	if (mc != CURLM_OK) {
		xfer_set(x, -PKGIMG_E_NET, true, "%s: [fetch] %s", it->url, curl_multi_strerror(mc));
		xfer_release(x);
		return -1;
	}
	x->state = X_ACTIVE;
	run->any_started = true;
	return 0;
}

static bool transient_curl(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

static bool transient_http(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static const char *http_hint(long status)
{
	if (status == 404 || status == 410)
		return " (not on the server; the index may be out of date: refresh it, or check the URL)";
	if (status == 401 || status == 403)
		return " (access denied; check the mirror's URL and credentials)";
	if (transient_http(status))
		return " (the server keeps failing; retry later or use another mirror)";
	return "";
}

/* Schedules another attempt after the backoff. */
static void xfer_retry(struct xfer *x, const char *why)
{
	int64_t delay = (int64_t)FETCH_BACKOFF_MS << (x->attempt - 1);
	curl_off_t ra = 0;

	if (x->easy && curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0) {
		if (ra > FETCH_RETRY_AFTER_MAX_S)
			ra = FETCH_RETRY_AFTER_MAX_S;
		if ((int64_t)ra * 1000 > delay)
			delay = (int64_t)ra * 1000;
	}
	pkgimg_info(x->run->ctx, "%s: [fetch] %s; retrying in %.1fs (attempt %d of %d)",
		    x->item->url, why, (double)delay / 1000, x->attempt + 1, FETCH_RETRIES + 1);
	xfer_release(x);
	x->retry_at = pkgimg_now_ms() + delay;
	x->state = X_WAITING;
}

static void finish_index(struct xfer *x, long status)
{
	struct pkgimg_ctx *ctx = x->run->ctx;
	struct fetch_item *it = x->item;
	char got[HASH_HEX_MAX];
	int r;

	if (status == 304) {
		if (!fs_exists(it->dest)) {
			xfer_set(x, -PKGIMG_E_HTTP, true, "%s: [fetch] HTTP 304 (not modified) but "
				 "'%s' is gone; remove '%s.validators' and retry", it->url, it->dest,
				 it->dest);
			goto out;
		}
		it->not_modified = 1;
		info_from_validators(it);
		goto done;
	}
	r = close(x->fd);
	x->fd = -1;
	if (r < 0) {
		xfer_set(x, -errno, true, "%s: [fetch] cannot write '%s': %s", it->url, x->tmp,
			 strerror(errno));
		goto out;
	}
	{
		char *v = xasprintf("%s.validators", it->dest);

		unlink(v);	/* they (and their sha256) describe the old dest */
		free(v);
	}
	if (rename(x->tmp, it->dest) < 0) {
		xfer_set(x, -errno, true, "%s: [fetch] cannot rename '%s' to '%s': %s", it->url,
			 x->tmp, it->dest, strerror(errno));
		goto out;
	}
	free(x->tmp);
	x->tmp = NULL;
	hasher_final_hex(&x->h, got);
	memcpy(it->sha256_got, got, sizeof it->sha256_got - 1);
	it->sha256_got[sizeof it->sha256_got - 1] = 0;
	/* the old validators were removed before dest was replaced, so a crash
	 * in between leaves none: the next fetch is a plain 200 */
	info_from_response(x);
	if (!x->is_file) {
		char *eff = NULL;
		struct validators v = { x->etag, x->lastmod, x->ctype, NULL, got };

		if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &eff) == CURLE_OK)
			v.url = eff;
		r = validators_write(ctx, it->dest, &v);
	} else {
		r = validators_write(ctx, it->dest, &(struct validators){ .sha256 = got });
	}
	if (r < 0) {
		xfer_set(x, r, true, "%s: [fetch] %s", it->url, ctx->errmsg);
		goto out;
	}
done:
	it->result = 0;
	x->state = X_DONE;
out:
	xfer_release(x);
}

static void finish_artifact(struct xfer *x)
{
	struct store *st = x->run->st;
	struct fetch_item *it = x->item;
	char got[HASH_HEX_MAX], rel[96];
	int r;

	hasher_final_hex(&x->h, got);
	memcpy(it->sha256_got, got, sizeof it->sha256_got - 1);
	it->sha256_got[sizeof it->sha256_got - 1] = 0;
	if (it->size >= 0 && x->got != (uint64_t)it->size) {
		xfer_set(x, -PKGIMG_E_CHECKSUM, true, "%s: [verify] size mismatch: expected %lld "
			 "bytes, got %llu (the mirror served different bytes; retry, or check "
			 "the index)", it->url, (long long)it->size, (unsigned long long)x->got);
		goto out;
	}
	if (strcmp(got, it->sha256)) {
		xfer_set(x, -PKGIMG_E_CHECKSUM, true, "%s: [verify] sha256 mismatch: expected %s, "
			 "got %s (the mirror served different bytes; retry, or check the index)",
			 it->url, it->sha256, got);
		goto out;
	}
	r = fchmod(x->fd, 0444) < 0 ? -errno : 0;	/* blobs are immutable */
	if (close(x->fd) < 0 && r == 0)
		r = -errno;
	x->fd = -1;
	if (r < 0) {
		xfer_set(x, r, true, "%s: [fetch] cannot write '%s': %s", it->url, x->tmp,
			 strerror(-r));
		goto out;
	}
	snprintf(rel, sizeof rel, "blobs/sha256/%s", it->sha256);
	if (renameat(AT_FDCWD, x->tmp, st->rootfd, rel) < 0) {
		xfer_set(x, -errno, true, "%s: [fetch] cannot move '%s' to '%s/%s': %s", it->url,
			 x->tmp, st->root, rel, strerror(errno));
		goto out;
	}
	free(x->tmp);
	x->tmp = NULL;
	info_from_response(x);
	it->result = 0;
	x->state = X_DONE;
out:
	xfer_release(x);
}

static void xfer_done(struct xfer *x, CURLcode cc)
{
	struct fetch_item *it = x->item;
	bool can_retry = x->attempt <= FETCH_RETRIES;
	long status = 0;
	char after[48] = "";

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	it->http_status = status;

	if (cc == CURLE_OK) {
		if (x->artifact)
			finish_artifact(x);
		else
			finish_index(x, status);
		return;
	}
	if (x->too_big) {
		xfer_set(x, -PKGIMG_E_CHECKSUM, true, "%s: [verify] size mismatch: expected %lld "
			 "bytes, got more (the mirror served different bytes; retry, or check the "
			 "index)", it->url, (long long)it->size);
	} else if (x->over_limit) {
		xfer_set(x, -PKGIMG_E_HTTP, true, "%s: [fetch] the server sent more than %llu bytes "
			 "and nothing declared the size; refused; set PKGIMG_MAX_DOWNLOAD=SIZE "
			 "(bytes, K/M/G) to allow more", it->url,
			 (unsigned long long)x->run->ctx->max_download);
	} else if (x->write_errno) {
		xfer_set(x, -x->write_errno, true, "%s: [fetch] cannot write '%s': %s", it->url,
			 x->tmp, strerror(x->write_errno));
	} else if (cc == CURLE_HTTP_RETURNED_ERROR) {
		char why[32];

		snprintf(why, sizeof why, "HTTP %ld", status);
		if (transient_http(status) && can_retry) {
			xfer_retry(x, why);
			return;
		}
		if ((status == 404 || status == 410) && it->optional)
			xfer_set(x, -PKGIMG_E_NOTFOUND, false, "%s: [fetch] HTTP %ld", it->url, status);
		else
			xfer_set(x, -PKGIMG_E_HTTP, true, "%s: [fetch] HTTP %ld%s", it->url, status,
				 http_hint(status));
	} else if (cc == CURLE_FILE_COULDNT_READ_FILE) {
		xfer_set(x, -PKGIMG_E_NOTFOUND, !it->optional, "%s: [fetch] cannot read the file%s%s",
			 it->url, x->errbuf[0] ? ": " : "", x->errbuf);
	} else if (transient_curl(cc) && can_retry) {
		xfer_retry(x, x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
		return;
	} else {
		const char *hint = "";

		if (x->attempt > 1)
			snprintf(after, sizeof after, " (after %d attempts)", x->attempt);
		if (cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_RESOLVE_PROXY ||
		    cc == CURLE_COULDNT_CONNECT || cc == CURLE_OPERATION_TIMEDOUT)
			hint = "; check the network and proxy settings, or use --offline with a "
			       "warm store";
		else if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
			hint = "; check the CA certificates (--ca-bundle, SSL_CERT_FILE)";
		xfer_set(x, -PKGIMG_E_NET, true, "%s: [fetch] %s%s%s", it->url,
			 x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc), after, hint);
	}
	xfer_release(x);
}

/* ---- the loop --------------------------------------------------------- */

static void report(struct run *run, int finished)
{
	uint64_t done = 0;
	int64_t t = pkgimg_now_ms();

	if (!finished && t - run->last_progress < FETCH_PROGRESS_MS)
		return;
	run->last_progress = t;
	for (int i = 0; i < run->n; i++)
		done += run->x[i].got;
	pkgimg_progress(run->ctx, "fetch", finished ? NULL : run->cur_label, done,
			run->total, finished);
}

/* Decides what each item needs; returns how many are left to transfer. */
static int plan(struct run *run, struct fetch_item *items)
{
	bool offline = run->ctx->flags & PKGIMG_F_OFFLINE;
	int todo = 0;

	for (int i = 0; i < run->n; i++) {
		struct xfer *x = &run->x[i];
		struct fetch_item *it = &items[i];

		x->run = run;
		x->item = it;
		x->fd = -1;
		x->state = X_PENDING;
		it->result = 0;
		it->not_modified = 0;
		it->downloaded = 0;
		it->http_status = 0;
		it->sha256_got[0] = 0;
		if (it->response_info)
			fetch_item_release(it);
		else
			it->content_type = it->effective_url = NULL;
		if (!it->url || !*it->url) {
			xfer_set(x, -PKGIMG_E_USAGE, true, "%s: [fetch] no URL given",
				 it->label ? it->label : "item");
			continue;
		}
		x->label = it->label ? it->label : it->url;
		x->is_file = !strncasecmp(it->url, "file:", 5);
		x->artifact = it->sha256 != NULL;
		if (x->artifact) {
			if (!hex_is64(it->sha256)) {
				xfer_set(x, -PKGIMG_E_USAGE, true, "%s: [fetch] invalid sha256 '%s' "
					 "(64 lowercase hex digits expected)", it->url, it->sha256);
				continue;
			}
			if (store_has_blob(run->st, it->sha256)) {
				snprintf(it->sha256_got, sizeof it->sha256_got, "%s", it->sha256);
				x->state = X_DONE;
				continue;
			}
			if (offline && !x->is_file) {
				xfer_set(x, -PKGIMG_E_OFFLINE, true, "%s: [fetch] not in the store and "
					 "--offline was given; run once without --offline to download it",
					 it->url);
				continue;
			}
		} else {
			if (!it->dest || !*it->dest) {
				xfer_set(x, -PKGIMG_E_USAGE, true, "%s: [fetch] neither a sha256 nor a "
					 "destination given", it->url);
				continue;
			}
			if (offline && !x->is_file) {
				if (fs_exists(it->dest)) {
					it->not_modified = 1;
					info_from_validators(it);
					x->state = X_DONE;
				} else {
					/* an optional file may just not exist: not a failure */
					xfer_set(x, -PKGIMG_E_OFFLINE, !it->optional, "%s: [fetch] no "
						 "cached copy and --offline was given; run once without "
						 "--offline", it->url);
				}
				continue;
			}
		}
		if (it->size >= 0)
			run->total += (uint64_t)it->size;
		todo++;
	}
	return todo;
}

int fetch_all(struct pkgimg_ctx *ctx, struct store *st, struct fetch_item *items, int n)
{
	struct run run = { 0 };
	int jobs = ctx->jobs > 0 ? ctx->jobs : 8;
	int r = 0, nfail = 0, first = -1;

	if (n <= 0)
		return 0;
	run.ctx = ctx;
	run.st = st;
	run.n = n;
	run.x = xcalloc((size_t)n, sizeof *run.x);
	if (plan(&run, items) == 0)
		goto results;
	for (int i = 0; i < n; i++) {
		if (run.x[i].state == X_PENDING && !strncasecmp(items[i].url, "https:", 6)) {
			r = find_ca(ctx, items[i].url, &run.cainfo, &run.capath);
			if (r < 0)
				goto out;
			break;
		}
	}
	run.multi = curl_multi_init();
	if (!run.multi) {
		r = pkgimg_err(ctx, -ENOMEM, "[fetch] cannot set up libcurl");
		goto out;
	}
	curl_multi_setopt(run.multi, CURLMOPT_MAXCONNECTS, (long)jobs * 2);
	for (;;) {
		int64_t t = pkgimg_now_ms(), next_retry = -1;
		int active = 0, left = 0, running = 0;
		long timeout = FETCH_PROGRESS_MS;
		CURLMsg *msg;
		int queued;

		for (int i = 0; i < n; i++)
			active += run.x[i].state == X_ACTIVE;
		for (int i = 0; i < n; i++) {
			struct xfer *x = &run.x[i];
			bool ready = x->state == X_PENDING ||
				     (x->state == X_WAITING && x->retry_at <= t);

			if (ready && active < jobs && xfer_start(x) == 0)
				active++;
			if (x->state == X_WAITING && (next_retry < 0 || x->retry_at < next_retry))
				next_retry = x->retry_at;
			if (x->state != X_DONE)
				left++;
		}
		if (!left)
			break;
		curl_multi_perform(run.multi, &running);
		while ((msg = curl_multi_info_read(run.multi, &queued))) {
			struct xfer *x = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
			if (x)
				xfer_done(x, msg->data.result);
		}
		report(&run, 0);
		if (next_retry >= 0 && next_retry - t < timeout)
			timeout = next_retry - t > 0 ? (long)(next_retry - t) : 0;
		if (running > 0 || next_retry >= 0)
			curl_multi_poll(run.multi, NULL, 0, (int)timeout, NULL);
	}
	report(&run, 1);
results:
	for (int i = 0; i < n; i++) {
		if (run.x[i].failed) {
			nfail++;
			if (first < 0)
				first = i;
		}
	}
	if (first >= 0) {
		struct xfer *x = &run.x[first];

		r = pkgimg_err(ctx, x->item->result, "%s", x->msg ? x->msg : "[fetch] failed");
		if (nfail > 1)
			r = pkgimg_err(ctx, r, "%s (and %d more downloads failed)", x->msg, nfail - 1);
	}
out:
	for (int i = 0; i < n; i++) {
		xfer_release(&run.x[i]);
		free(run.x[i].msg);
	}
	if (run.multi)
		curl_multi_cleanup(run.multi);
	free(run.x);
	return r;
}

int fetch_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -EIO;
}

void fetch_global_cleanup(void)
{
	curl_global_cleanup();
}
