/* The PyPI index client: finds the files of projects on the indexes and
 * --find-links locations of a request, and fetches the core metadata of the
 * files the resolver considers.  Everything goes through cache/fetch in
 * parallel batches; pages are parsed by solver/pypi_index.
 *
 * Sources, in this order: the index (--index-url, else $PKGIMG_INDEX_URL,
 * else PyPI), the extra indexes (--extra-index-url, in order), then the
 * find-links locations (a local directory of wheels and sdists, an HTML page
 * of links, or a local HTML file).
 *
 * Project pages are fetched as <index>/<PEP 503 name>/ with
 *   Accept: application/vnd.pypi.simple.v1+json,
 *           application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01
 * and read as the Content-Type of the answer says (PEP 691 JSON or PEP 503
 * HTML).  They are kept in ROOT/index/pypi-<id>/<name> with their ETag /
 * Last-Modified and Content-Type, and revalidated (a 304 reuses the cached
 * page).  A 404 (or 410) means "not on this index" and is remembered, so
 * that --offline answers from the cache alone what the last online run saw.
 * A file:// index is read as <index>/<name>/index.html.
 *
 * Strategies across indexes:
 *   first-index (default): a project is taken from the first index that
 *     has a page for it (even an empty one); later indexes are not even
 *     asked for it, so a same-named project planted on an extra index cannot
 *     shadow it (dependency confusion).  Each round is one parallel batch:
 *     all projects on index 1, then the ones index 1 lacked on index 2, ...
 *   unsafe-best-match: every index is asked for every project (one batch)
 *     and their files are merged.
 * Files from find-links locations are always added (they are named by the
 * user, locally or by URL, like an index they chose).
 *
 * Errors name the project, the phase "[lock]", the index and the fix.  The
 * engine never prints; see core/error.h. */
#ifndef PKGIMG_SOLVER_PYPI_CLIENT_H
#define PKGIMG_SOLVER_PYPI_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "solver/pypi_index.h"

struct pkgimg_ctx;
struct store;

#define PYPI_DEFAULT_INDEX	"https://pypi.org/simple/"
#define PYPI_INDEX_ENV		"PKGIMG_INDEX_URL"
#define PYPI_ACCEPT		"application/vnd.pypi.simple.v1+json, " \
				"application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"

enum pypi_strategy {
	PYPI_FIRST_INDEX,		/* --index-strategy first-index (default) */
	PYPI_UNSAFE_BEST_MATCH,		/* --index-strategy unsafe-best-match */
};

struct pypi_client_opts {
	const char *index_url;		/* --index-url; NULL: $PKGIMG_INDEX_URL, else PyPI */
	const char *const *extra_index_urls;	/* --extra-index-url, in order */
	size_t nextra;
	const char *const *find_links;	/* --find-links: directories, HTML page URLs or files */
	size_t nfind_links;
	bool no_index;			/* --no-index: find-links only */
	enum pypi_strategy strategy;
};

enum pypi_source_kind {
	PYPI_SRC_INDEX,			/* a simple repository */
	PYPI_SRC_LINKS_DIR,		/* --find-links DIR */
	PYPI_SRC_LINKS_PAGE,		/* --find-links URL or HTML file */
};

struct pypi_source {
	enum pypi_source_kind kind;
	char *url;		/* index: its base URL, ending in '/'; links page: its URL;
				 * links dir: its absolute path */
	char *cache_dir;	/* ROOT/index/pypi-<id> */
	/* find-links, read on the first lookup: the page (a directory is
	 * described as an HTML page of file:// links with their sha256) */
	bool loaded;
	char *body;
	size_t len;
	char *content_type;
	char *page_url;
};

struct pypi_client {
	struct pkgimg_ctx *ctx;
	struct store *st;
	enum pypi_strategy strategy;
	struct pypi_source *src;	/* the indexes in order, then the find-links */
	size_t nsrc;
	size_t nindex;			/* src[0 .. nindex) are indexes */
};

/* Sets up a client (no network yet).  URLs must be http, https or file;
 * a find-links entry without a scheme is a local directory or HTML file.
 * -PKGIMG_E_USAGE naming the bad entry.  *out is written only on success. */
int pypi_client_init(struct pkgimg_ctx *ctx, struct store *st,
		     const struct pypi_client_opts *o, struct pypi_client *out);
void pypi_client_free(struct pypi_client *c);

/* What the sources offer for one project. */
struct pypi_project_files {
	char *name;		/* PEP 503 normalised */
	bool found;		/* some index had a page, or find-links had files */
	int index;		/* the index (into client->src) whose page was taken first,
				 * -1 when no index had one */
	struct pypi_page page;	/* the files, in source order then page order (free
				 * with pypi_project_files_free); page.format is that of
				 * the first index page (HTML when none) */
	size_t *source;		/* per file: where it came from (into client->src) */
};

/* Looks up names[0..n) (any spelling; duplicates allowed) and fills out[i]
 * for each.  Pages are fetched in parallel (ctx->jobs at once), one batch
 * per strategy round.  With PKGIMG_F_OFFLINE only cached pages are used: a
 * project never looked up on an index is -PKGIMG_E_OFFLINE.  Errors: an
 * index that cannot be reached (-PKGIMG_E_NET), answers with an error
 * status (-PKGIMG_E_HTTP), with neither JSON nor HTML, or with a malformed
 * page (-PKGIMG_E_PARSE); an invalid project name (-PKGIMG_E_USAGE).  out
 * is written only on success. */
int pypi_client_lookup(struct pypi_client *c, const char *const *names, size_t n,
		       struct pypi_project_files *out);
void pypi_project_files_free(struct pypi_project_files *p);

/* Where the core metadata of one file is. */
struct pypi_meta {
	char *path;		/* the METADATA file, or the wheel itself when from_wheel */
	bool from_wheel;	/* the index offers no PEP 658 file: read .dist-info/METADATA
				 * out of this wheel (installers/wheel.h: wheel_read_metadata) */
	bool verified;		/* checked against a sha256 from the index page */
};

/* Fetches, in parallel, the core metadata of files[0..n) (files of pages
 * from pypi_client_lookup): <url>.metadata (PEP 658/714) when the page
 * announces it, verified against its sha256 when given and kept in the blob
 * store (else in ROOT/index/pypi-metadata/, keyed by the file's sha256);
 * otherwise the wheel itself, into the blob store, verified against the
 * page's sha256 (and size).  Cached results are not fetched again.  A
 * mismatch is -PKGIMG_E_CHECKSUM naming the URL, the expected and the
 * actual digest; an sdist without a metadata file is -PKGIMG_E_USAGE.  out
 * (n entries, pypi_meta_free each) is written only on success. */
int pypi_client_metadata(struct pypi_client *c, const struct pypi_file *const *files, size_t n,
			 struct pypi_meta *out);
void pypi_meta_free(struct pypi_meta *m);

#endif
