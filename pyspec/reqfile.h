/* pip requirements files ("pip install -r FILE"), read the way pip's
 * req_file.py reads them (pip's docs, "Requirements File Format"):
 *
 *   - the file is UTF-8 (a leading UTF-8 BOM is skipped); lines end with
 *     LF, CRLF or CR;
 *   - a line ending with '\' continues on the next one; lines are joined
 *     first, comments stripped after, as pip does (a comment line ends a
 *     continuation and is dropped);
 *   - a comment starts at a '#' that begins the line or follows whitespace,
 *     so "x @ https://h/x.whl#sha256=..." keeps its fragment;
 *   - ${NAME} (NAME of [A-Z0-9_]) is replaced by the environment variable;
 *     an unset or empty one stays as written, as in pip;
 *   - the text before the first word that starts with '-' is a PEP 508
 *     requirement; the words after it are options, split as shlex does and
 *     read as optparse reads them (--opt=value, --opt value, -oVALUE,
 *     -o VALUE, a long option abbreviated to a unique prefix);
 *   - a requirement line takes --hash=ALGO:HEX (sha256, sha384, sha512),
 *     repeatable; --global-option and --config-settings are accepted and
 *     ignored (they only matter for building sdists);
 *   - an option line takes -r/--requirement, -c/--constraint (relative to
 *     the directory of the file that names them; a cycle is an error),
 *     -i/--index-url, --extra-index-url, -f/--find-links, --no-index, --pre,
 *     --no-binary, --only-binary, --prefer-binary, --require-hashes,
 *     --trusted-host and --use-feature (ignored).
 *
 * Where this differs from pip, each time to turn a silent surprise into an
 * error that names the file and line: an unknown option, a global option on
 * a requirement line, --hash without a requirement, and words left over
 * after the options are errors (pip ignores the last three); unnamed paths
 * and URLs ("./pkg", "file:///x/y.tar.gz", "git+https://...") and -e/
 * --editable PATH are kept as written in `source` (relative paths are the
 * caller's to resolve: pip takes them from the current directory); remote
 * requirements files (-r https://...) are refused; "==1.*" does not count
 * as pinned in hash-checking mode. */
#ifndef PKGIMG_PYSPEC_REQFILE_H
#define PKGIMG_PYSPEC_REQFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"
#include "pyspec/pep508.h"

struct pkgimg_ctx;

/* Nested -r / -c files deeper than this are an error. */
#define REQFILE_MAX_DEPTH 64

struct reqfile_req {
	struct pep508_req req;
	struct strv hashes;	/* "sha256:<hex>", hex lowercased, in written
				 * order, duplicates dropped */
	char *origin;		/* "path:line" (the first line of a continued one) */
	char *source;		/* a path or URL without a name, as written
				 * ("./mypkg", "file:///x/y.tar.gz", "git+https://..."),
				 * or NULL; req is then empty (its metadata names
				 * it, pyspec/pysrc.h) */
	bool editable;		/* -e/--editable SOURCE */
};

struct reqfile {
	struct reqfile_req *reqs;		/* in file order, -r files inline */
	size_t nreqs;
	struct reqfile_req *constraints;	/* from -c files */
	size_t nconstraints;
	char *index_url;			/* the last -i, or NULL */
	struct strv extra_index_urls;		/* in order */
	struct strv find_links;			/* a relative path that exists
						 * next to its file is made
						 * relative to that file */
	struct strv trusted_hosts;
	struct strv no_binary;			/* values as written: "a,b", ":all:" */
	struct strv only_binary;
	bool no_index;
	bool pre;
	bool prefer_binary;
	bool require_hashes;			/* --require-hashes was given */
};

/* Reads the requirements file at path and those it names.  On success *out
 * owns everything (reqfile_free).  On error *out is untouched and the
 * message names "file:line: [requirements]" and the cause; the code is
 * -PKGIMG_E_PARSE, or -errno when a file cannot be read.
 *
 * Hash-checking mode (--require-hashes, or a --hash on any requirement):
 * every requirement needs a --hash and, unless it is "name @ URL", a single
 * == (not a wildcard) or === specifier. */
int reqfile_parse(struct pkgimg_ctx *ctx, const char *path, struct reqfile *out);
/* The same for a spec's requirements: path and every -r/-c file it names
 * must resolve (symlinks followed) inside root, a real path (the build
 * context); one that does not is refused (-EXDEV) before it is read.
 *
 * A file's text reaches a message only once one of its lines has read as a
 * requirement or an option, escaped and cut short: an error on the first
 * such line gives the line number and the cause, not the text, so a file
 * that is no requirements file (a key, /etc/shadow) never shows its
 * content. */
int reqfile_parse_in(struct pkgimg_ctx *ctx, const char *path, const char *root,
		     struct reqfile *out);
void reqfile_free(struct reqfile *rf);

#endif
