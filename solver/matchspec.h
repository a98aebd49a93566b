/* conda MatchSpecs and conda versions, with the semantics of conda
 * (conda/models/match_spec.py, conda/models/version.py), pure C:
 *
 *   - condaver_*: conda's VersionOrder.  A version is split into an epoch
 *     ("1!"), release components (at '.' and '_') and a local part ("+"),
 *     each component into runs of digits and of other characters.  Numbers
 *     compare numerically (any size) and above strings, "dev" below every
 *     other string, "post" above every number, a missing component or run is
 *     0, so 1.1 == 1.1.0 and 1.1a1 < 1.1; comparison ignores case.
 *   - condaver_spec_*: conda's VersionSpec: "1.26.*", "=1.26", "==1.26.4",
 *     ">=1.8,<2|1.9" (',' binds tighter than '|', parentheses group),
 *     "!=1.2.*", "~=1.2.3", "*", globs ("1.*.1"), "^regex$".
 *   - matchspec_*: conda's MatchSpec:
 *       (channel(/subdir)::)name(version(build))([key=value, ...])
 *     as in "conda-forge/linux-64::numpy >=1.26,<2 py312*" or
 *     "numpy[version='>=1.26',build=*cuda*,build_number='>=3']", a package
 *     URL or an absolute path of a .conda or .tar.bz2, '#' comments.
 *
 * Where conda and rattler differ, conda's behaviour is the one kept, except
 * where conda silently drops what the user wrote; those are errors here:
 * an unknown bracket key (conda accepts license, features, ... and ignores
 * unparsable bracket text), a non-empty namespace ("conda-forge:numpy", which
 * conda reads as namespace conda-forge and ignores), a lone operator
 * ("numpy>"), unbalanced brackets, text after ']' (conda's "(optional)"
 * section), constraints not joined by ',' or '|', md5/sha256 values that are
 * no digest (as rattler), a build_number that is no integer constraint.
 * Regular expressions ("^...$") are POSIX extended ones, not Python's.
 * Channels are matched by name: "conda-forge" matches a record from
 * "https://conda.anaconda.org/conda-forge"; conda's multi-channels
 * ("defaults" = pkgs/main + pkgs/r) are not expanded. */
#ifndef PKGIMG_SOLVER_MATCHSPEC_H
#define PKGIMG_SOLVER_MATCHSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct pkgimg_ctx;

/* --- versions (conda's VersionOrder) ------------------------------------ */

enum condaver_atom_kind {
	CONDAVER_STR,		/* a run of letters, '_' or '*' (lower case; "dev" is "DEV") */
	CONDAVER_NUM,		/* a run of digits */
	CONDAVER_POST,		/* "post": above every number */
};

struct condaver_atom {
	enum condaver_atom_kind kind;
	const char *s;		/* STR: the text; NUM: the digits without leading zeros */
	size_t len;		/* NUM: 0 for the number 0 */
};

struct condaver_part {
	const struct condaver_atom *atoms;
	size_t n;
};

struct condaver {
	char *norm;		/* conda's str(): trimmed, lower case, '-' read as '_' */
	struct condaver_part *parts;	/* [0] epoch, then release, then local */
	size_t nver;		/* parts[0 .. nver): epoch and release components */
	size_t nlocal;		/* parts[nver .. nver + nlocal): local components */
	struct condaver_atom *atoms;	/* storage of the parts (owned) */
	char *buf;		/* storage of the atoms' text (owned) */
};

/* Parses a version ("1.26.4", " 1!2.0.post1+Local_3 ").  On success *out owns
 * its memory (condaver_free); on error *out is untouched and the message
 * names the version, the column and the cause. */
int condaver_parse(struct pkgimg_ctx *ctx, const char *s, struct condaver *out);
int condaver_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct condaver *out);
void condaver_free(struct condaver *v);

/* <0, 0, >0 in conda's order (1.1 == 1.1.0 == 1.1.0.0). */
int condaver_compare(const struct condaver *a, const struct condaver *b);
/* The same on strings.  A string that is no valid version sorts below every
 * valid one; two invalid ones compare as strcmp() does. */
int condaver_cmp(const char *a, const char *b);
/* conda's VersionOrder.startswith: whether v begins with the components of
 * prefix, the last one compared as a prefix when it is text ("1.26.4" starts
 * with "1.26", "2013ab" with "2013a", "1.260" not with "1.26"). */
bool condaver_startswith(const struct condaver *v, const struct condaver *prefix);
/* The parsed components as conda's test suite writes them:
 * "1!2.15.1_ALPHA" gives "[[1], [2], [15], [1, '_alpha']]"; a local part
 * follows as " + [...]".  The caller frees it. */
char *condaver_repr(const struct condaver *v);

/* --- version specs (conda's VersionSpec) -------------------------------- */

struct condaver_spec;		/* a tree of ',' and '|' over constraints */

/* Parses a version spec as conda's VersionSpec() does.  On error *out is
 * untouched and the message names the spec, the column and the cause. */
int condaver_spec_parse(struct pkgimg_ctx *ctx, const char *s, struct condaver_spec **out);
void condaver_spec_free(struct condaver_spec *sp);
/* conda's str(VersionSpec): "1.7*" reads "1.7.*"; groups print with the
 * parentheses they need ("(1.6|1.7),1.8"; conda drops those). */
const char *condaver_spec_str(const struct condaver_spec *sp);
/* True for a single "==V" or bare "V" (conda's is_exact()). */
bool condaver_spec_is_exact(const struct condaver_spec *sp);
/* Whether the version string satisfies the spec.  A version that does not
 * parse satisfies only "*", globs, regexes and exact strings. */
bool condaver_spec_matches(const struct condaver_spec *sp, const char *version);

/* --- match specs (conda's MatchSpec) ------------------------------------ */

enum matchspec_pattern_kind {
	MATCHSPEC_EXACT,	/* the text itself */
	MATCHSPEC_GLOB,		/* '*' stands for any run of characters */
	MATCHSPEC_REGEX,	/* "^...$": a POSIX extended regular expression */
};

struct matchspec_pattern {
	char *text;		/* NULL: the field is not constrained */
	enum matchspec_pattern_kind kind;
	void *re;		/* the compiled regex_t of a REGEX */
};

enum matchspec_op {
	MATCHSPEC_OP_NONE,	/* no build_number constraint */
	MATCHSPEC_OP_ANY,	/* "*" */
	MATCHSPEC_OP_EQ,	/* "3", "==3", "=3" */
	MATCHSPEC_OP_NE,
	MATCHSPEC_OP_LT,
	MATCHSPEC_OP_LE,
	MATCHSPEC_OP_GT,
	MATCHSPEC_OP_GE,
};

struct matchspec {
	struct matchspec_pattern name;	/* lower case; "*" (a glob) matches every name */
	struct matchspec_pattern channel; /* name or URL as written, without "/subdir"
					   * or a trailing '/'; NULL text: any channel */
	char *subdir;			/* "linux-64", or NULL */
	struct condaver_spec *version;	/* NULL: any version */
	struct matchspec_pattern build;
	enum matchspec_op build_number_op;
	uint64_t build_number;
	char *build_number_text;	/* as conda prints it ("3", ">=3", "*"), or NULL */
	char *md5;			/* lower-case hex, or NULL */
	char *sha256;			/* lower-case hex, or NULL */
	char *fn;			/* file name, or NULL */
	char *url;			/* package URL, or NULL */
	char *text;			/* the spec as given */
};

/* What a spec is matched against: one package record.  A NULL field is
 * unknown and fails every constraint on it. */
struct matchspec_record {
	const char *name;
	const char *version;
	const char *build;
	uint64_t build_number;
	const char *channel;		/* channel name or URL */
	const char *subdir;
	const char *md5;
	const char *sha256;
	const char *fn;
	const char *url;
};

/* Parses a MatchSpec.  On success *out owns its memory (matchspec_free); on
 * error (-PKGIMG_E_PARSE) *out is untouched and the message names the spec,
 * the column (from 1) and the cause.  A few forms conda accepts with a
 * warning are reported through pkgimg_warn() ("==1.2.*" ignores the ".*",
 * " if ..." conditions are dropped). */
int matchspec_parse(struct pkgimg_ctx *ctx, const char *s, struct matchspec *out);
int matchspec_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct matchspec *out);
void matchspec_free(struct matchspec *m);

/* Whether the record satisfies every constraint of the spec. */
bool matchspec_matches(const struct matchspec *m, const struct matchspec_record *r);
/* The version constraint alone (true when the spec has none). */
bool matchspec_version_matches(const struct matchspec *m, const char *version);
/* conda's glob/regex/exact string match, as used for names and builds. */
bool matchspec_pattern_matches(const struct matchspec_pattern *p, const char *s);
/* The channel part of a channel or URL, as conda names it:
 * "https://conda.anaconda.org/conda-forge/" gives "conda-forge",
 * "conda-forge" itself.  The caller frees it. */
char *matchspec_channel_name(const char *channel);

/* conda's str(MatchSpec): "numpy=1.26", "numpy==1.26.4=py312h_0",
 * "conda-forge/linux-64::numpy[version='>=1.26,<2',build=py312*]".  The
 * caller frees it. */
char *matchspec_str(const struct matchspec *m);

#endif
