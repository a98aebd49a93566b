/* One project page of a "simple" Python package repository, parsed into the
 * list of distribution files it offers: PEP 691 JSON
 * (application/vnd.pypi.simple.v1+json) or PEP 503 HTML (text/html,
 * application/vnd.pypi.simple.v1+html), with the PEP 592 (yanked), PEP 629
 * (api-version), PEP 658/714 (core metadata) and PEP 700 (size, upload-time)
 * additions.  Pure: the body was downloaded by the caller.
 *
 * Nothing from the page is trusted: every URL is resolved against the page
 * (RFC 3986 section 5) and must come out http, https or file, without
 * control characters; a file name must be one plain path segment; a hash
 * must be hex of its algorithm's length.  A page that breaks these rules is
 * -PKGIMG_E_PARSE with a message naming the page, the file and the cause.
 * A file that is neither a wheel nor an sdist, whose name does not parse, or
 * that belongs to another project is skipped (and counted). */
#ifndef PKGIMG_SOLVER_PYPI_INDEX_H
#define PKGIMG_SOLVER_PYPI_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pyspec/pep440.h"
#include "pyspec/wheeltags.h"

struct pkgimg_ctx;

enum pypi_file_kind {
	PYPI_FILE_WHEEL,
	PYPI_FILE_SDIST,
};

struct pypi_hash {
	char *algo;		/* lowercase: "sha256", "md5", "blake2b_256" */
	char *hex;		/* lowercase hex */
};

struct pypi_hashes {
	struct pypi_hash *v;
	size_t n;
};

struct pypi_file {
	enum pypi_file_kind kind;
	char *filename;		/* "black-21.11b0-py3-none-any.whl" */
	char *url;		/* absolute, without its fragment */
	char *name;		/* PEP 503 project name the file belongs to */
	char *version;		/* as written in the file name */
	struct pep440_version ver;	/* version, parsed */
	struct wheel_name wheel;	/* PYPI_FILE_WHEEL only (zeroed for sdists) */
	struct pypi_hashes hashes;	/* JSON "hashes" / the URL's #algo=hex */
	char *requires_python;	/* entities decoded, or NULL */
	bool yanked;
	char *yanked_reason;	/* NULL when not yanked; "" when no reason given */
	bool has_metadata;	/* PEP 658/714: <url>.metadata can be fetched */
	struct pypi_hashes metadata_hashes;	/* of that file, when given */
	bool has_size;
	uint64_t size;		/* PEP 700, JSON only */
	char *upload_time;	/* PEP 700 ISO 8601 string, or NULL */
};

enum pypi_format {
	PYPI_FORMAT_JSON,
	PYPI_FORMAT_HTML,
};

struct pypi_page {
	enum pypi_format format;
	char *name;		/* JSON "name" as written; NULL for HTML */
	unsigned api_major, api_minor;	/* meta api-version / pypi:repository-version; 1.0 if absent */
	struct pypi_file *files;	/* in page order */
	size_t nfiles;
	size_t nskipped;	/* links that were not a file of this project */
};

/* Parses a project page.  content_type is the response's Content-Type
 * (parameters such as "; charset=utf-8" ignored; NULL or "" is taken as
 * HTML); page_url is the absolute URL the page was fetched from (after
 * redirects).  project is the name that was looked up (any spelling), or
 * NULL: then the JSON "name" is used, and an HTML page keeps the files of
 * every project (find-links pages), an sdist's version starting after the
 * first "-" that is followed by a digit.  An api-version with a major number
 * above 1 is refused (PEP 629), and so is a JSON page whose "name" is
 * another project than the one looked up; a page_url that is not absolute is
 * -PKGIMG_E_USAGE.  On success *out owns its memory (pypi_page_free); on
 * error *out is untouched. */
int pypi_page_parse(struct pkgimg_ctx *ctx, const char *body, size_t len,
		    const char *content_type, const char *page_url, const char *project,
		    struct pypi_page *out);
void pypi_page_free(struct pypi_page *p);

/* The hex digest of one algorithm ("sha256"), or NULL. */
const char *pypi_hashes_get(const struct pypi_hashes *h, const char *algo);

/* RFC 3986 section 5.2 reference resolution: ref (absolute, "//host/p",
 * "/p", "../p", "?q", "#f", "") against the absolute URL base.  *out is a
 * new string (the caller frees it).  -PKGIMG_E_PARSE when base has no
 * scheme or either contains a control character or a space. */
int pypi_url_resolve(struct pkgimg_ctx *ctx, const char *base, const char *ref, char **out);

/* Decodes HTML character references (&lt; &gt; &amp; &quot; &apos; &nbsp;
 * &#NN; &#xHH;) in s[0..len); others are kept as written.  Numeric ones that
 * are not a Unicode scalar value become U+FFFD.  The caller frees it. */
char *pypi_html_unescape(const char *s, size_t len);

#endif
