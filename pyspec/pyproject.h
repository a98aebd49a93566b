/* pyproject.toml: [build-system] (PEP 518/517), [project] (PEP 621) and
 * [dependency-groups] (PEP 735), read and validated as the PEPs say, and the
 * requirement list of a selection (the project's dependencies, extras and
 * groups) as Modal's pip_install_from_pyproject and `uv sync --no-install-
 * project` install them: the project itself is never part of it. */
#ifndef PKGIMG_PYSPEC_PYPROJECT_H
#define PKGIMG_PYSPEC_PYPROJECT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct pkgimg_ctx;

/* pip's build system when pyproject.toml has no [build-system] table (or
 * none at all): setuptools through its legacy backend.  (pip 23.0 also
 * asks for "wheel" there; pip >= 24 and setuptools' backend ask for it
 * themselves when needed.) */
#define PYPROJECT_DEFAULT_REQUIRES	"setuptools>=40.8.0"
#define PYPROJECT_DEFAULT_BACKEND	"setuptools.build_meta:__legacy__"

struct pyproject_extra {
	char *name;			/* PEP 685-normalised */
	struct strv deps;		/* PEP 508 strings, as written */
};

struct pyproject_group_item {
	char *req;			/* a PEP 508 string, or NULL */
	char *include;			/* {include-group = "…"}: the name as written */
};

struct pyproject_group {
	char *name;			/* PEP 735-normalised (as PEP 503) */
	char *raw;			/* as written */
	struct pyproject_group_item *items;	/* not validated until selected */
	size_t n;
	bool bad;			/* not an array: refused when selected */
};

struct pyproject {
	char *path;			/* for messages */
	/* [build-system] */
	bool build_default;		/* no table: the PYPROJECT_DEFAULT_* */
	struct strv build_requires;	/* PEP 508 strings */
	char *build_backend;		/* never NULL */
	struct strv backend_path;	/* relative to the project directory */
	/* [project]; has_project false: none (only groups can be selected) */
	bool has_project;
	char *name;			/* as written */
	char *norm;			/* PEP 503 */
	char *version;			/* NULL when dynamic */
	char *requires_python;		/* NULL when absent */
	struct strv dependencies;
	struct pyproject_extra *extras;	/* optional-dependencies, in order */
	size_t nextras;
	struct strv dynamic;		/* as written */
	bool dynamic_deps;		/* "dependencies" in dynamic */
	bool dynamic_extras;		/* "optional-dependencies" in dynamic */
	/* [dependency-groups] */
	struct pyproject_group *groups;
	size_t ngroups;
};

/* Reads and validates dir_or_file (a project directory, whose
 * pyproject.toml is read, or the file).  Errors: -ENOENT and the like
 * (cannot read), -PKGIMG_E_PARSE (not TOML), -PKGIMG_E_USAGE (against a
 * PEP: the message names the file, the key and the fix). */
int pyproject_read(struct pkgimg_ctx *ctx, const char *dir_or_file, struct pyproject *out);
/* The same for text already read (what names it in messages). */
int pyproject_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
		    struct pyproject *out);
void pyproject_free(struct pyproject *p);

struct pyproject_select {
	const char *const *extras;	/* as the user wrote them (normalised here) */
	size_t nextras;
	bool all_extras;
	const char *const *groups;
	size_t ngroups;
};

/* Adds to out (unique, in order) the project's dependencies, the selected
 * extras' and the selected groups' requirements ({include-group} expanded,
 * a cycle refused).  A requirement on the project itself (name[extra] in
 * an extra or a group) is replaced by what it names, its marker and'ed in;
 * the project itself is never added.  Errors (-PKGIMG_E_USAGE): an unknown
 * extra or group, dynamic dependencies (pkgimg reads only static ones), an
 * invalid group entry. */
int pyproject_requirements(struct pkgimg_ctx *ctx, const struct pyproject *p,
			   const struct pyproject_select *sel, struct strv *out);

#endif
