/* Lock files other tools write, read as exact install sources, and the
 * PyPI part of a pkgimg lock written in their formats (issue 18).
 *
 * Read:
 *   - PEP 751 pylock.toml (lock-version 1.x): [[packages]] with name,
 *     version, marker, requires-python, index, wheels, sdist, vcs,
 *     directory, archive; the lock's environments, requires-python,
 *     extras, dependency-groups and default-groups.  Which packages are
 *     installed is decided by their markers alone, evaluated with the
 *     `extras` and `dependency_groups` sets (PEP 751 "Installation").
 *   - uv's uv.lock (version 1): [[package]] with name, version, source
 *     (registry, url, git, path, directory, editable, virtual), the
 *     dependency edges (dependencies, optional-dependencies,
 *     dev-dependencies) with their markers, sdist and wheels.  Which
 *     packages are installed is what the root project reaches with the
 *     extras and groups asked, as `uv sync` walks it.
 * Both are told apart by their content (lock-version vs version), so any
 * file name works.
 *
 * Written (from a lockfile's LOCK_PIP layers): pylock.toml per PEP 751 and
 * a requirements.txt in hash-checking mode, both with deterministic bytes.
 *
 * Pure parsing and writing: no network, no store.  Choosing a wheel per
 * package for a target and making the lock layer is the solver's
 * (solver/pypi_exact.c). */
#ifndef PKGIMG_PYSPEC_PYLOCK_H
#define PKGIMG_PYSPEC_PYLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"
#include "pyspec/pep508.h"

struct pkgimg_ctx;
struct lockfile;
struct sbuf;
struct toml_value;

enum pylock_format {
	PYLOCK_PEP751,		/* pylock.toml */
	PYLOCK_UV,		/* uv.lock */
};

/* "pylock.toml (PEP 751)" or "uv.lock". */
const char *pylock_format_name(enum pylock_format f);

/* One distribution file: a wheel, the sdist, an archive. */
struct pylock_file {
	char *name;		/* the file name (given, else the URL's or path's last part) */
	char *url;		/* NULL when only a path is given */
	char *path;		/* as written (relative to the lock's directory), or NULL */
	char *sha256;		/* 64 lowercase hex, or NULL when the lock gives none */
	uint64_t size;
	bool has_size;
};

/* Where a package comes from when it is not a wheel or sdist of an index. */
enum pylock_src {
	PYLOCK_SRC_INDEX,	/* wheels and/or an sdist */
	PYLOCK_SRC_ARCHIVE,	/* an archive by URL or path (PEP 751 archive, uv url/path) */
	PYLOCK_SRC_VCS,		/* a git repository pinned to a commit */
	PYLOCK_SRC_DIRECTORY,	/* a local project directory (also uv editable) */
	PYLOCK_SRC_VIRTUAL,	/* uv: a project that is not installed itself */
};

/* uv.lock: an edge of the dependency graph. */
struct pylock_dep {
	char *name;		/* PEP 503 */
	char *version;		/* when the lock has several versions of name */
	char *source;		/* the registry/URL when it disambiguates, or NULL */
	struct pep508_marker *marker;
	struct strv extras;	/* the extras of the target the edge asks for */
};

/* uv.lock: a named list of edges (an extra or a dependency group). */
struct pylock_deplist {
	char *name;		/* normalised */
	struct pylock_dep *deps;
	size_t n;
};

struct pylock_pkg {
	char *name;		/* PEP 503 */
	char *version;		/* NULL only for a PEP 751 directory or vcs source */
	struct pep508_marker *marker;	/* PEP 751 only; NULL: always */
	char *requires_python;	/* PEP 751 only, or NULL */
	char *index;		/* PEP 751 index, uv registry URL, or NULL */
	struct pylock_file *wheels;
	size_t nwheels;
	struct pylock_file *sdist;	/* NULL when none */
	enum pylock_src src;
	struct pylock_file archive;	/* ARCHIVE */
	char *src_url;		/* VCS: the repository URL; DIRECTORY: the path as
				 * written (relative to the lock's directory) */
	char *commit;		/* VCS: the full commit id */
	char *subdirectory;	/* VCS, ARCHIVE, DIRECTORY: or NULL */
	bool editable;
	/* uv.lock only */
	struct pylock_dep *deps;
	size_t ndeps;
	struct pylock_deplist *optional;
	size_t noptional;
	struct pylock_deplist *groups;
	size_t ngroups;
	/* [packages.tool.pkgimg] requested-by, as pkgimg wrote it, or NULL */
	char *requested_by;
	unsigned line;		/* where it is defined, for messages */
};

struct pylock {
	enum pylock_format format;
	char *what;		/* the file's name, for messages */
	char *requires_python;	/* or NULL */
	struct strv environments;	/* PEP 751 markers, one must hold (none: any) */
	struct strv extras;		/* PEP 751: the extras it was locked with */
	struct strv groups;		/* PEP 751 dependency-groups */
	struct strv default_groups;	/* PEP 751 default-groups */
	struct strv members;		/* uv.lock [manifest] members */
	char *step;		/* [tool.pkgimg] step: the pip step pkgimg locked */
	struct pylock_pkg *pkgs;
	size_t npkgs;
};

/* Whether a file name is one `-r` takes as a PEP 751 lock, as pip and uv
 * do: "pylock.toml" or "pylock.NAME.toml" (the last path component). */
bool pylock_is_pylock_name(const char *path);

/* Parses a TOML tree (what: the file's name).  A format version pkgimg does
 * not read, a missing or mistyped required key, a sha256 that is not 64
 * hex digits, a file name that is a path, a URL that is not http(s)://
 * or file:// are -PKGIMG_E_PARSE with "WHAT:LINE: [lock] …"; *out is
 * written only on success (pylock_free). */
int pylock_from_toml(struct pkgimg_ctx *ctx, const char *what, const struct toml_value *root,
		     struct pylock *out);
/* Reads and parses a file (TOML, then pylock_from_toml). */
int pylock_read(struct pkgimg_ctx *ctx, const char *path, struct pylock *out);
void pylock_free(struct pylock *lk);

/* What is asked of the lock: the extras and dependency groups to install.
 * PEP 751: the groups given, else the lock's default-groups; uv.lock (as
 * uv sync): the groups given and the default group "dev".
 * no_default_groups leaves the defaults out. */
struct pylock_want {
	const char *const *extras;
	size_t nextras;
	const char *const *groups;
	size_t ngroups;
	bool no_default_groups;
};

/* The packages to install for env: PEP 751: requires-python and
 * environments checked, the asked extras and groups checked against the
 * lock's lists, every package whose marker holds (two of one name is an
 * error); uv.lock: requires-python checked, then the packages the roots
 * (the manifest's members, else the virtual/editable packages nothing
 * depends on, else every package) reach with the asked extras and groups
 * through the edges whose markers hold.  *out gets indexes into lk->pkgs
 * in lock order (free it); errors name the lock, the package and why. */
int pylock_select(struct pkgimg_ctx *ctx, const struct pylock *lk, const struct pep508_env *env,
		  const struct pylock_want *want, size_t **out, size_t *nout);
/* Whether the package is a root of the uv.lock graph (a requested_by that
 * is not "dependency"). */
bool pylock_is_root(const struct pylock *lk, size_t i);

/* The PyPI part of lf (its LOCK_PIP layers) as a PEP 751 pylock.toml:
 * lock-version "1.0", created-by "pkgimg", requires-python and
 * environments of the target Python (lf->python) and machine, and per
 * package (sorted by name) name, version, index, its wheel (name, url,
 * size, hashes.sha256), or its sdist / archive / vcs / directory when it
 * was built from source; [tool.pkgimg] step and [packages.tool.pkgimg]
 * requested-by, so pkgimg reads back the same layer.  The machine is
 * lf->platform's.  -PKGIMG_E_USAGE when lf installs no PyPI package. */
int pylock_write(struct pkgimg_ctx *ctx, const struct lockfile *lf, struct sbuf *out);
/* The same as a requirements.txt pip installs with --require-hashes:
 * "name==version \" lines with "    --hash=sha256:…" continuations,
 * sorted by name, the indexes as --index-url / --extra-index-url. */
int pylock_write_requirements(struct pkgimg_ctx *ctx, const struct lockfile *lf,
			      struct sbuf *out);

#endif
