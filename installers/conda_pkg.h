/* Installing conda packages into a prefix inside an image tree, the way
 * conda, micromamba and rattler link a package:
 *
 * Unpack (conda_pkg_extract): a ".conda" (a zip of metadata.json,
 * info-<stem>.tar.zst and pkg-<stem>.tar.zst; the inner tars are read with
 * libarchive straight from the zip entry's stream) or a ".tar.bz2" becomes a
 * directory, "the extracted package dir".  It is written into DIR.tmp-XXXXXX
 * and renamed to DIR only when complete; on any error the temporary directory
 * is removed.  Entries: regular files (mode 0755 when any exec bit is set,
 * else 0644, the entry's mtime), directories (0755), symlinks kept as
 * symlinks (their targets as written), hard links within the archive.  Refused
 * with -PKGIMG_E_UNSAFE: an absolute name, a ".." component, a name that would
 * be written through a symlink the archive made (every directory is opened
 * with O_NOFOLLOW), devices and fifos.  A symlink with an empty target (which
 * Linux cannot create; conda's own test package zlib-1.2.11-h7b6447c_3.conda
 * has two, where its .tar.bz2 twin has empty files) is written as an empty
 * regular file, with a warning, so both formats give the same tree.
 *
 * Link (conda_pkg_link): the files of info/paths.json (paths_version 1), or
 * for packages older than paths.json of info/files + info/has_prefix
 * ("placeholder mode path", or just "path" for the placeholder
 * /opt/anaconda1anaconda2anaconda3 in text mode) + info/no_link and
 * info/no_softlink, go to ROOT/<prefix>/<path>:
 *   - "hardlink" entries are copied (never hard-linked into the root); a
 *     package symlink listed as "hardlink" stays a symlink, as conda copies it;
 *   - "softlink" entries become symlinks with the package's target (an entry
 *     that is a regular file in the extracted dir is copied, as conda does);
 *   - "directory" entries are created (0755) and listed in paths_data only;
 *   - a file with a prefix_placeholder is rewritten: text mode replaces every
 *     occurrence of the placeholder by the prefix (conda's replace_prefix:
 *     spaces in a "#!<placeholder>" first line escaped, then a first line
 *     "#!..." longer than 127 bytes, or with an escaped space, becomes
 *     "#!/usr/bin/env <name><options>"); binary mode replaces it inside each
 *     NUL-terminated string and pads the string with NULs, so the file keeps
 *     its size (conda's binary_replace); a prefix longer than the placeholder
 *     is -PKGIMG_E_USAGE;
 *   - the sha256 and size_in_bytes paths.json gives for a file are checked
 *     against the extracted file (-PKGIMG_E_CHECKSUM: extract it again);
 *   - noarch "python" packages (index.json "noarch", else link.json
 *     noarch.type): site-packages/X goes to lib/pythonX.Y/site-packages/X,
 *     python-scripts/X to bin/X, and each link.json noarch.entry_points item
 *     "name = module:func" becomes bin/<name> (0755) with conda's text:
 *     "#!<prefix>/bin/python\n" (conda's "#!/bin/sh" exec trampoline when that
 *     line is over 127 bytes or the path has a space), then conda's
 *     python_entry_point_template; noarch "generic" (or `true`) packages link
 *     as they are; any other noarch type is refused;
 *   - modes 0755 or 0644 (the exec bit of the extracted file), directories
 *     0755; every file, symlink and directory created, and every directory
 *     written in (conda-meta/ included), gets o->mtime, so a tree built by
 *     several links is reproducible;
 *   - a file already at a target path is replaced (conda's clobber) with a
 *     warning; a directory there, or a symlink on the way, is an error.
 * Nothing is byte-compiled (pyc/ does that; add what it writes to the record
 * with conda_record_add).  Paths from the package are checked as archive
 * names are (relative, no "..", UTF-8), written through O_NOFOLLOW directory
 * fds; two files to one target, or a package path under conda-meta/, are
 * refused before anything is written.
 *
 * The record, ROOT/<prefix>/conda-meta/<name>-<version>-<build>.json, as conda
 * writes it (json.dumps(indent=2, sort_keys=True), ASCII, no final newline),
 * so two links give the same bytes: every field of info/index.json as it is,
 * "depends" and "constrains" (lists, [] when absent), and channel, url, fn,
 * md5, sha256, size (from struct conda_pkg_info; md5/sha256 left out when
 * NULL or empty), requested_spec (string, or null when not requested),
 * extracted_package_dir "<prefix>/pkgs/<name>-<version>-<build>",
 * package_tarball_full_path "<prefix>/pkgs/<fn>", link {source: the
 * extracted_package_dir, type: 1}, files (sorted prefix-relative paths
 * installed, entry points included, directories not), paths_data
 * {paths_version: 1, paths: [...]} sorted by _path, each with _path, path_type
 * ("hardlink", "softlink", "directory", "unix_python_entry_point"), sha256 and
 * size_in_bytes (of the package's file: from paths.json, else computed; for
 * an entry point, of the script), sha256_in_prefix (what is in the prefix:
 * the content written, or a symlink's target string, as rattler does; none
 * for an entry point, as rattler), and
 * prefix_placeholder + file_mode for a rewritten file, no_link: true when set.
 * The host paths are derived from the prefix, never the real cache, so the
 * record does not depend on the machine.
 *
 * Differences from conda's record: the extracted_package_dir and
 * package_tarball_full_path above are not real paths (the package cache is
 * outside the image); micromamba adds keys index.json lacks ("build_string",
 * "track_features": "", null "arch"/"platform"), rattler leaves out empty
 * ones (constrains, requested_spec); here index.json's own fields are
 * written, plus depends/constrains and the keys listed above.
 *
 * On any error the files and directories created so far are removed and the
 * files replaced put back (the mtimes of directories that existed before
 * excepted), and the message names the package file, the phase ("[unpack]" or
 * "[install]"), the path and the fix. */
#ifndef PKGIMG_INSTALLERS_CONDA_PKG_H
#define PKGIMG_INSTALLERS_CONDA_PKG_H

#include <stddef.h>
#include <stdint.h>

struct pkgimg_ctx;

/* How conda_pkg_extract writes the tars (installers/extract.h's walk), as
 * described above: no owners, file modes 0755/0644, whole-second times,
 * directories 0755, no replacing, no devices, an empty symlink as a file. */
#define CONDA_EXTRACT_FLAGS (EXTRACT_EMPTY_LINK_FILE | EXTRACT_UTF8_NAMES)

#define CONDA_DEFAULT_PREFIX	"/opt/conda"
#define CONDA_PREFIX_PLACEHOLDER	"/opt/anaconda1anaconda2anaconda3"

/* What the channel (or the lockfile) says about the package, which the
 * package itself does not carry. */
struct conda_pkg_info {
	const char *channel;	/* "https://conda.anaconda.org/conda-forge/" as the
				 * record's "channel" (required) */
	const char *url;	/* the package's URL (required) */
	const char *fn;		/* "zlib-1.2.11-h7b6447c_3.conda" (required; names
				 * the package in messages) */
	const char *md5;	/* hex; NULL or "": key left out */
	const char *sha256;	/* hex; NULL or "": key left out */
	uint64_t size;		/* the package file's size */
	const char *requested_spec;	/* the user's spec, "" or NULL: not requested */
};

/* NULL for the whole struct: the default prefix, no python, no mtime. */
struct conda_link_opts {
	const char *prefix;	/* absolute path of the environment inside the
				 * image; NULL: CONDA_DEFAULT_PREFIX */
	const char *python_version;	/* "3.12": where noarch: python packages go;
					 * NULL refuses them */
	int64_t mtime;		/* mtime of everything created; -1: the current time */
};

/* What a link did (for the history, pyc/ and the caller's bookkeeping). */
struct conda_linked {
	char *name, *version, *build;
	char *subdir;		/* index.json "subdir", or "" */
	char *channel;		/* conda_pkg_info.channel */
	char *noarch;		/* "python", "generic" or NULL */
	char *record;		/* the record, relative to the root:
				 * "opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json" */
	char **files;		/* the record's "files", sorted, prefix-relative */
	size_t nfiles;
};

/* A file added to a record after the link (a .pyc compiled by pyc/). */
struct conda_extra_file {
	const char *path;	/* prefix-relative */
	const char *sha256;	/* hex, or NULL (left out) */
	int64_t size;		/* -1: left out */
	const char *path_type;	/* NULL: "pyc_file" */
};

/* One "==> time <==" block of conda-meta/history. */
struct conda_history {
	int64_t time;		/* seconds since the epoch, written in UTC */
	const char *cmd;	/* "# cmd: <cmd>"; NULL: line left out */
	const char *conda_version;	/* "# conda version: <v>"; NULL: left out */
	const struct conda_linked *linked;	/* "+channel/subdir::name-version-build" */
	size_t nlinked;
	const struct conda_linked *unlinked;	/* "-..." lines */
	size_t nunlinked;
	const char *const *update_specs;	/* "# update specs: ['a', 'b']"; none: left out */
	size_t nupdate_specs;
};

/* Unpacks the package at archive_path into the directory dst_dir (which must
 * not exist, or be empty).  fn: the package's file name, whose ending
 * (".conda" or ".tar.bz2") gives the format; NULL: archive_path's last part.
 * Codes: -PKGIMG_E_ARCHIVE (corrupt or truncated archive, missing
 * info/pkg tars, unsupported format version or entry type), -PKGIMG_E_UNSAFE,
 * -PKGIMG_E_USAGE (unknown file ending), -EEXIST, -errno. */
int conda_pkg_extract(struct pkgimg_ctx *ctx, const char *archive_path, const char *fn,
		      const char *dst_dir);
/* The same for a blob of the store: its sha256 is taken while it is read
 * and must be `sha256` (else -PKGIMG_E_CHECKSUM, nothing kept).  What it
 * writes is bounded (arc_unpack_limit: no declared size, a ratio). */
int conda_pkg_extract_blob(struct pkgimg_ctx *ctx, const char *archive_path, const char *sha256,
			   const char *fn, const char *dst_dir);

/* Links the extracted package dir into the tree at rootfd and writes its
 * record (see the top of this file).  On success *out is filled (free with
 * conda_linked_free); on error the root is as it was (files, links and
 * directories created removed, replaced files put back; the mtimes of
 * directories that existed excepted) and *out untouched.
 * Codes: -PKGIMG_E_PARSE (index.json, paths.json, link.json, has_prefix),
 * -PKGIMG_E_ARCHIVE (a listed file missing or of the wrong type, an
 * unsupported noarch type or paths_version), -PKGIMG_E_CHECKSUM,
 * -PKGIMG_E_UNSAFE, -PKGIMG_E_USAGE (bad prefix or info, no python_version
 * for a noarch: python package, prefix too long for a binary placeholder),
 * -errno. */
int conda_pkg_link(struct pkgimg_ctx *ctx, const char *extracted_dir, int rootfd,
		   const struct conda_link_opts *o, const struct conda_pkg_info *info,
		   struct conda_linked *out);
void conda_linked_free(struct conda_linked *l);

/* Adds files to the record of l (files and paths_data, kept sorted; a path
 * already listed is replaced; entries {_path, path_type, sha256,
 * size_in_bytes}) and rewrites it atomically with o->mtime. */
int conda_record_add(struct pkgimg_ctx *ctx, int rootfd, const struct conda_linked *l,
		     const struct conda_link_opts *o, const struct conda_extra_file *f, size_t n);

/* Makes <prefix>/conda-meta/ and an empty conda-meta/history when missing
 * (what conda and micromamba take as the mark of an environment). */
int conda_prefix_init(struct pkgimg_ctx *ctx, int rootfd, const struct conda_link_opts *o);

/* Appends one block to <prefix>/conda-meta/history (created when missing;
 * the conda_linked entries need name, version and build, as conda_pkg_link
 * fills them),
 * as conda's History writes it:
 *   ==> 2024-01-02 03:04:05 <==
 *   # cmd: <cmd>
 *   # conda version: <conda_version>
 *   -<unlinked dist>   (sorted)
 *   +<linked dist>     (sorted)
 *   # update specs: ['numpy', 'python=3.12']
 * A dist is "<channel>/<subdir>::<name>-<version>-<build>", the channel
 * written by its conda canonical name: the part after
 * https://conda.anaconda.org/, "defaults" for repo.anaconda.com/pkgs/main,
 * /r, /msys2, else the URL (a trailing "/" or "/<subdir>" dropped).  Specs are
 * written as Python's repr() of a list of str. */
int conda_history_append(struct pkgimg_ctx *ctx, int rootfd, const struct conda_link_opts *o,
			 const struct conda_history *h);

#endif
