/* Parallel downloads with libcurl multi.
 *
 * Two kinds of item:
 *  - an artifact (sha256 set): skipped when ROOT/blobs/sha256/<hex> exists;
 *    otherwise streamed to ROOT/tmp/ while hashed, and renamed into the blob
 *    store only when the digest (and size, when known) match.  A mismatch
 *    deletes the temporary file and fails naming the URL, the expected and
 *    the actual hash.
 *  - an index file (sha256 NULL, dest set): fetched conditionally with the
 *    ETag / Last-Modified kept in dest + ".validators"; on 304 the existing
 *    dest is kept and `not_modified` set.  Written to dest atomically.  The
 *    response's Content-Type and final URL are kept in the same file, so a
 *    cached copy is read as what it was served as (a PyPI project page is
 *    JSON or HTML by its Content-Type alone).
 * file://, http:// and https:// URLs.  Transient failures (connect/timeout,
 * HTTP 408/429/5xx) are retried with exponential backoff.  ctx->jobs
 * transfers run at once.  Progress goes through pkgimg_progress() ("fetch"). */
#ifndef PKGIMG_FETCH_H
#define PKGIMG_FETCH_H

#include <stdint.h>

struct pkgimg_ctx;
struct store;

struct fetch_item {
	const char *url;
	const char *sha256;	/* expected lowercase hex, or NULL */
	int64_t size;		/* expected size, or -1 */
	const char *dest;	/* index mode: destination path */
	const char *label;	/* name for messages/progress (e.g. package), or NULL */
	int optional;		/* a 404 is not an error: result = -PKGIMG_E_NOTFOUND */
	const char *accept;	/* sent as the Accept header (content negotiation), or NULL */
	int response_info;	/* fill content_type and effective_url below; the caller
				 * then owns them: fetch_item_release() */

	/* results */
	int result;		/* 0 or negative code */
	int not_modified;	/* index mode: 304 */
	int downloaded;		/* 1 if bytes were transferred */
	long http_status;
	char sha256_got[65];	/* artifact mode: digest of what was received;
				 * index mode: of dest (also after a 304 or
				 * --offline, as saved with the validators), ""
				 * when a cached copy predates that */
	/* with response_info only (else NULL): the Content-Type of the body in
	 * hand and the URL it came from after redirects.  In index mode they
	 * describe dest, also after a 304 or --offline (as saved with the
	 * validators).  NULL when unknown; content_type is NULL for file://. */
	char *content_type;
	char *effective_url;
};

/* Fetches every item; returns 0 if all succeeded (optional 404s count as
 * success), else the first failure's code with its message on ctx.  With
 * PKGIMG_F_OFFLINE, a missing artifact or an index with no cached copy fails
 * with -PKGIMG_E_OFFLINE (an optional one only sets its result); cached index
 * files are used as they are; file:// URLs are read (they are local). */
int fetch_all(struct pkgimg_ctx *ctx, struct store *st, struct fetch_item *items, int n);

/* Frees content_type and effective_url (and sets them NULL).  An item can be
 * passed to fetch_all() again after it, or without it: fetch_all() releases
 * what a previous call left in an item that asked for response_info (so
 * start from a zeroed item). */
void fetch_item_release(struct fetch_item *it);

/* Global init/cleanup of libcurl (call once from main). */
int fetch_global_init(void);
void fetch_global_cleanup(void);

#endif
