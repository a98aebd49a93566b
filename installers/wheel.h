/* Installing wheels (PEP 427, the binary distribution format) into an image
 * tree the way pip 24 installs them (pip/_internal/operations/install/
 * wheel.py, with distlib's ScriptMaker for the entry-point launchers), so
 * that pip, importlib.metadata and `pip check` run inside the image see what
 * a `pip install` would have left:
 *
 *   - files at the wheel's root go to purelib or platlib (Root-Is-Purelib of
 *     the WHEEL file), <name>-<ver>.data/<key>/ to the scheme directory of
 *     <key> (purelib, platlib, headers + "/<project>", scripts, data), where
 *     <project> is the file name's distribution with '_' as '-' (the name
 *     pip's requirement carries: "Foo_Bar-1.0-...whl" -> "Foo-Bar");
 *   - a .data/scripts file whose first line starts with "#!python" gets
 *     "#!<interpreter>\n" as its first line, as pip's fix_script();
 *   - [console_scripts] and [gui_scripts] of entry_points.txt become
 *     launchers in the scripts dir with distlib's text and shebang (the
 *     /bin/sh trampoline for a path with a blank or over 127 bytes), byte
 *     for byte; "pip" becomes pip, pipX, pipX.Y and "easy_install"
 *     easy_install, easy_install-X.Y for the target's version, the wheel's
 *     own versioned ones dropped, as pip does; a .data/scripts file named
 *     after an entry point (EP, EP.exe, EP-script.py, EP.pya) is not
 *     installed, as pip skips it (its row stays in RECORD, as pip keeps it);
 *   - INSTALLER (opts->installer + "\n"), REQUESTED (empty) when asked for,
 *     and RECORD rewritten as pip writes it: one row per file, paths
 *     relative to the site dir ("../../../bin/x" outside it), rows sorted,
 *     CSV with pip's quoting and "\r\n" line ends (Python's csv default),
 *     the rows of unchanged files copied from the wheel's RECORD, new hashes
 *     for rewritten scripts and generated files, "RECORD,," for itself.
 *
 * Checked before anything is installed, every failure an error whose message
 * names the wheel, the phase "[install]", the file and the fix:
 *   - the file name parses (wheel_filename_parse);
 *   - exactly one top-level *.dist-info directory, named <name>-<version>
 *     with the file name's name (PEP 503) and version (PEP 440 equal); its
 *     METADATA agrees on both; WHEEL has Wheel-Version 1.x (0.x accepted,
 *     a minor above 1.0 warned about, a major above 1 refused, as pip);
 *   - RECORD exists; every file of the zip is listed, every listed file is
 *     in the zip, and each one's hash (sha256, sha384 or sha512, urlsafe
 *     base64 without padding) and size match what was read (RECORD itself
 *     and the signatures RECORD.jws, RECORD.p7s are exempt);
 *   - no absolute path, no "..", no newline in a name, no entry twice, only
 *     regular files and directories (no symlinks, hard links, devices), no
 *     two files installed to one path.  Names are read as UTF-8 (the zip's
 *     flag) whatever the process's locale.
 *
 * How it is written: every file is first extracted into a staging directory
 * ".pkgimg-wheel-*" at the top of the root (the same file system, so moving
 * into place is a rename), checked, rewritten or generated there, given its
 * mode and mtime, and only then renamed into place, parent directories
 * created (0755) one component at a time through directory fds with
 * O_NOFOLLOW, so a symlink already in the root (a directory of the scheme
 * included) is never followed but refused.  A file already at a target path
 * is replaced (as pip unlinks and rewrites); a directory there is an error.
 * When anything fails, the files moved so far are removed, the replaced ones
 * put back, the directories created removed and the staging directory
 * deleted: the root is left as it was (the mtimes of directories that
 * existed before excepted).
 *
 * Modes are fixed, not the umask's: 0644, 0755 when the zip's external
 * attributes mark the file executable (pip's zip_item_is_executable), 0755
 * for launchers and for .data/scripts files that got the interpreter's
 * shebang; directories 0755.  Ownership is the caller's.
 *
 * Checked against pip 23.2 and 24.2 (`pip install --no-deps --no-compile
 * --root`) on the wheels of tests/unit/test_wheel.c: the same tree and a
 * byte-identical RECORD, but for the differences below and pip's
 * direct_url.json, which it writes for a local file only.
 *
 * Deliberate differences from pip: pip does not check RECORD's hashes, nor
 * refuse unlisted files; pip installs a zip symlink entry as a file holding
 * the target; pip keeps the wheel's own INSTALLER/REQUESTED rows next to
 * its own (here the wheel's copies are dropped); pip writes a duplicate
 * RECORD row when two entry points give one script name (here the later
 * one wins, one row); pip does not make a "#!python" script executable.
 * Nothing is byte-compiled here (pyc/ does it; add the .pyc files to RECORD
 * with wheel_record_add()).  A previous install of the project in the root
 * is not uninstalled first. */
#ifndef PKGIMG_INSTALLERS_WHEEL_H
#define PKGIMG_INSTALLERS_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkgimg_ctx;
struct sbuf;

/* Where the files go: paths relative to the image root (a leading '/' is
 * ignored; "." and repeated slashes are dropped; ".." is refused). */
struct wheel_scheme {
	const char *purelib;	/* "usr/local/lib/python3.11/dist-packages" */
	const char *platlib;	/* the same for Debian's python */
	const char *scripts;	/* "usr/local/bin" */
	const char *headers;	/* "usr/local/include/python3.11"; the project's
				 * name is appended (see above) */
	const char *data;	/* "usr/local" */
	const char *python;	/* absolute interpreter path inside the image, for
				 * shebangs: "/usr/bin/python3.11" */
	const char *py_version;	/* "3.11", for pip's versioned pipX.Y and
				 * easy_install-X.Y launchers; NULL: taken from a
				 * "pythonX.Y" basename of `python`.  Only needed by
				 * wheels with a "pip" or "easy_install" entry point. */
};

struct wheel_install_opts {
	const char *filename;	/* the wheel's file name ("torch-2.2.1-cp311-...whl")
				 * when wheel_path is not named like one (a blob
				 * in the store); NULL: wheel_path's last part */
	const char *sha256;	/* the blob's digest, checked while the zip is
				 * read (-PKGIMG_E_CHECKSUM before anything is
				 * installed); NULL: not checked */
	bool requested;		/* write REQUESTED (a top-level requirement) */
	const char *installer;	/* INSTALLER's content without the "\n"; NULL: "pkgimg" */
	const char *direct_url;	/* PEP 610: the text of .dist-info/direct_url.json
				 * (as pip writes it for a requirement by URL or
				 * path), listed in RECORD; a copy in the wheel is
				 * replaced; NULL: none written */
	int64_t mtime;		/* the mtime of every file and every directory
				 * created (SOURCE_DATE_EPOCH-like), for
				 * reproducible trees; -1: files from the zip keep
				 * their entry's (RECORD and fixed scripts too),
				 * generated files and created directories get the
				 * current time */
};

/* One row of the installed RECORD. */
struct wheel_record_entry {
	char *path;		/* as written in RECORD: relative to the site dir */
	char *hash;		/* "sha256=<urlsafe b64>", or "" (RECORD itself) */
	int64_t size;		/* -1 when the row has none */
};

struct wheel_installed {
	char *name;		/* METADATA Name, as written */
	char *version;		/* METADATA Version, as written */
	char *dist_info;	/* the .dist-info dir, relative to the root:
				 * "usr/local/lib/python3.11/dist-packages/foo-1.0.dist-info" */
	struct wheel_record_entry *files;	/* the RECORD rows, in RECORD order */
	size_t nfiles;
};

/* Installs the wheel at wheel_path into the tree at rootfd (see the top of
 * this file).  On success *out is filled (free with wheel_installed_free);
 * on error the root is as it was, *out untouched, and the message on ctx
 * names the wheel, the file and the fix.  Codes: -PKGIMG_E_PARSE (file name,
 * WHEEL, METADATA, RECORD, entry_points.txt), -PKGIMG_E_CHECKSUM (hash or
 * size against RECORD), -PKGIMG_E_ARCHIVE (unreadable zip, missing or
 * unlisted files, several .dist-info dirs, an unsupported Wheel-Version or
 * entry type), -PKGIMG_E_UNSAFE (a path escaping, a symlink in the way),
 * -PKGIMG_E_USAGE (a bad scheme), -errno. */
int wheel_install(struct pkgimg_ctx *ctx, const char *wheel_path, int rootfd,
		  const struct wheel_scheme *s, const struct wheel_install_opts *o,
		  struct wheel_installed *out);
void wheel_installed_free(struct wheel_installed *w);


/* Reads RECORD text as wheel_install does (CSV rows line by line, blank
 * lines skipped) and appends it to *out as pip writes one (rows sorted,
 * fields quoted where needed, "\r\n"): the number of rows, or
 * -PKGIMG_E_PARSE (a quoted field not closed).  For the fuzz target. */
int wheel_record_normalize(struct pkgimg_ctx *ctx, const char *what, const char *text,
			   size_t len, struct sbuf *out);

/* Adds files written after the install (the .pyc files pyc/ compiles) to the
 * RECORD of an installed wheel, as pip records the .pyc it compiles: a row
 * "<path>,," (no hash, no size), the path relative to the site dir; then all
 * rows are sorted again and RECORD rewritten (atomically, keeping its mode
 * and mtime and its directory's mtime).  paths[] are relative to the root (a leading '/' ignored); one
 * already listed is skipped.  w is not changed. */
int wheel_record_add(struct pkgimg_ctx *ctx, int rootfd, const struct wheel_installed *w,
		     const char *const *paths, size_t n);

struct strv;

/* pip's uninstall of the version being replaced, as an overlay layer does
 * it: after `now` was installed into the layer at rootfd, every other
 * <project>-*.dist-info of the same project (PEP 503) in `site` (relative to
 * the root) of the image below (layer trees below[0..nbelow), top first)
 * gets whiteouts in the layer for each file its RECORD lists ("../" paths
 * included, never above the root) that the layer does not hold anew, and
 * for the .dist-info directory itself; so exactly one .dist-info of the
 * project is left.  Names of the replaced .dist-info dirs are added to
 * *replaced (may be NULL).  Distributions of other directories (Debian's
 * /usr/lib/python3/dist-packages) are left alone, as Debian's pip leaves
 * them. */
int wheel_replace_below(struct pkgimg_ctx *ctx, int rootfd, char **below, int nbelow,
			const char *site, const struct wheel_installed *now, struct strv *replaced);

#endif
