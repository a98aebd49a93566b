/* Core metadata of a Python distribution (METADATA in a wheel's .dist-info,
 * PKG-INFO in an sdist, a PEP 658 "<file>.metadata"), versions 1.0 to 2.4:
 * the RFC 822-style header block, read up to the first blank line (the
 * description body after it is ignored).  Field names are matched without
 * regard to case, continuation lines (starting with a space or a tab) are
 * unfolded, a trailing "\r" is dropped.  Only the fields a resolver needs
 * are kept; the others are read and ignored. */
#ifndef PKGIMG_PYSPEC_PYMETA_H
#define PKGIMG_PYSPEC_PYMETA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"

struct pkgimg_ctx;

struct pymeta {
	char *metadata_version;		/* "2.1", or NULL when absent */
	char *name;			/* as written: "typing_extensions" */
	char *norm;			/* PEP 503: "typing-extensions" */
	char *version;			/* as written */
	struct pep440_version ver;
	char *requires_python;		/* as written, or NULL */
	struct pep440_specset python_spec;	/* parsed; empty when absent */
	struct pep508_req *requires;	/* Requires-Dist, in order */
	size_t nrequires;
	struct strv extras;		/* Provides-Extra, PEP 685-normalised, in order */
	struct strv extras_raw;		/* Provides-Extra as written, every one */
	struct strv dynamic;		/* Dynamic (2.2+), lowercased */
};

/* Parses the metadata in data[0..len).  what names it in messages
 * ("torch-2.2.1.dist-info/METADATA").  Errors (-PKGIMG_E_PARSE) name the
 * line: a header line that is not "Field: value", a NUL byte, a missing or
 * repeated Name or Version, an invalid Version, Requires-Python or
 * Requires-Dist.  On success *out owns its memory (pymeta_free); on error
 * *out is untouched. */
int pymeta_parse(struct pkgimg_ctx *ctx, const char *what, const char *data, size_t len,
		 struct pymeta *out);
void pymeta_free(struct pymeta *m);

/* Whether the metadata declares extra (any spelling). */
bool pymeta_has_extra(const struct pymeta *m, const char *extra);

/* Where pip before 23.3 installs m with the extra `raw` (as a requirement
 * spells it: "foo[raw]") otherwise than PEP 685 says, or NULL.  pip 23.0 to
 * 23.2 compare extras as pkg_resources' safe_extra() leaves them
 * (lowercased, '-' '.' '_' kept apart) and a marker's literal as written
 * (packaging 21.3), where PEP 685 (packaging >= 22, pip >= 23.3) compares
 * normalised names; so when the extra is declared in another spelling
 * pip 23 does not take it ("does not provide the extra"), and when a
 * Requires-Dist marker spells it otherwise that requirement's marker is
 * false to it.  The answer (to free) says which, in words for a warning. */
char *pymeta_extra_pip23_differs(const struct pymeta *m, const char *raw);

/* The Requires-Dist entries that apply to env when installing the requested
 * extras (a NULL-terminated list, or NULL for none), as pip decides it: an
 * entry applies when its marker holds with no extra (extra == "") or with
 * one of the requested extras.  *out is a new NULL-terminated array of
 * pointers into m, in Requires-Dist order (free() it, not its elements);
 * returns how many, never negative. */
int pymeta_deps_for(const struct pymeta *m, const struct pep508_env *env,
		    const char *const *extras, const struct pep508_req ***out);

#endif
