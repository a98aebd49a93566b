/* Requirements that name a source rather than a project on an index (issue
 * 18), read as pip 23 reads them (pip/_internal/req/constructors.py,
 * models/link.py, vcs/versioncontrol.py):
 *
 *   name @ https://host/x-1.0.tar.gz[#sha256=HEX][&subdirectory=DIR]
 *   name @ file:///abs/x-1.0.tar.gz      an archive (.tar.gz, .zip, ...)
 *   name @ file:///abs/dir               a local project directory
 *   name @ git+https://host/repo[@REV][#subdirectory=DIR]
 *   name @ git+file:///abs/repo@REV      (also git+http, git+ssh, git+git)
 *   ./mypkg   /abs/dir   dist/x-1.0.tar.gz   file:///...   git+...
 *                                        the same without a name (pip's
 *                                        unnamed requirements: the project's
 *                                        metadata names it)
 *
 * A fragment's egg=NAME is accepted and ignored (pip checks it only against
 * the metadata); subdirectory= must be a relative path inside the source.
 * A wheel by URL is recognised (PYSRC_WHEEL) so that the caller can say
 * what it does with one. */
#ifndef PKGIMG_PYSPEC_PYSRC_H
#define PKGIMG_PYSPEC_PYSRC_H

#include <stdbool.h>

struct pkgimg_ctx;

enum pysrc_kind {
	PYSRC_ARCHIVE,		/* an sdist archive by URL (http, https, file) */
	PYSRC_DIR,		/* a local project directory */
	PYSRC_GIT,		/* a git repository */
	PYSRC_WHEEL,		/* a wheel by URL */
};

struct pysrc {
	enum pysrc_kind kind;
	char *url;		/* ARCHIVE, WHEEL: the URL without its fragment;
				 * DIR: the absolute path (normalised, links not
				 * resolved, as os.path.abspath); GIT: the
				 * repository URL without "git+", "@REV" and the
				 * fragment */
	char *rev;		/* GIT: the @REV written, or NULL */
	char *subdirectory;	/* #subdirectory=, or NULL */
	char *sha256;		/* #sha256=HEX (lowercased), or NULL */
	char *direct_url;	/* the URL as pip records it in direct_url.json:
				 * ARCHIVE, WHEEL: url (a path as file://, quoted);
				 * DIR: file:// of the path; GIT: url */
};

/* Whether a requirement text is a path or URL without a name ("./pkg",
 * "/abs", "x-1.0.tar.gz", "file:///...", "git+https://..."), pip's test in
 * install_req_from_line: a separator, a scheme, a leading '.' or '~', or
 * an archive's extension before any of " ;@[<>=!~(". */
bool pysrc_is_unnamed(const char *text);

/* The URL of "name @ URL": what it points at.  base: the directory a
 * file:// URL is checked in (unused otherwise; NULL: as written).  A URL
 * whose scheme pip does not read is -PKGIMG_E_USAGE with the fix. */
int pysrc_parse_url(struct pkgimg_ctx *ctx, const char *url, struct pysrc *out);

/* An unnamed requirement: a URL as above, or a path (relative to base, or
 * the current directory when base is NULL) to a directory or an archive.
 * A path that does not exist is -ENOENT naming it. */
int pysrc_parse_unnamed(struct pkgimg_ctx *ctx, const char *text, const char *base,
			struct pysrc *out);

void pysrc_free(struct pysrc *s);

/* "file:///abs/path" with the path quoted as Python's pathname2url quotes
 * it (every byte but A-Z a-z 0-9 _ . - ~ / as %XX). */
char *pysrc_path_url(const char *abspath);

/* The path of a file:// URL ("file:///a%20b" -> "/a b"); NULL when it is
 * not one or has a bad escape. */
char *pysrc_url_path(const char *file_url);

/* PEP 610 direct_url.json, byte for byte as pip 23 writes it
 * (json.dumps(sort_keys=True), ASCII, ", " and ": "):
 *   archive: {"archive_info": {}, "url": URL} ({"hash": "sha256=H", "hashes":
 *            {"sha256": "H"}} inside when hash_sha256 is given, as pip does
 *            for a URL with a #sha256= fragment);
 *   dir:     {"dir_info": {}, "url": URL};
 *   git:     {"url": URL, "vcs_info": {"commit_id": C, "requested_revision":
 *            REV, "vcs": "git"}} (requested_revision only when one was
 *            asked for);
 * "subdirectory" between the info and "url" when given.  The caller frees it. */
char *pysrc_direct_url_json(enum pysrc_kind kind, const char *url, const char *hash_sha256,
			    const char *commit, const char *requested_revision,
			    const char *subdirectory);

#endif
