/* PEP 508 dependency specifiers, with the semantics of pypa/packaging (>= 22)
 * as pip uses it: PEP 503 name normalisation, requirement parsing
 * ("requests[security]>=2.8.1; python_version < '3.8'", "pip @ URL"), and
 * environment markers (parsing into a tree, evaluation against the target
 * interpreter and platform, packaging's canonical string form).
 *
 * Grammar: packaging's hand-written tokenizer and parser, matched here by
 * hand.  Whitespace between tokens is spaces and tabs; a single newline at
 * the very end is allowed (Python's "$").  A name or extra is
 * [A-Za-z0-9][A-Za-z0-9._-]* ending at a word boundary, so "foo_" is
 * accepted as packaging accepts it (pep508_name_valid() is the strict check
 * of the PEP).  Every byte >= 0x80 counts as a word character for those
 * boundaries (Python's \b is Unicode-aware).
 *
 * Where this deliberately differs from packaging (each would raise there, or
 * give an answer that is plainly a bug):
 *   - a comparison whose two sides are variables compares their two values;
 *     one whose two sides are literals compares the literals;
 *   - a version operator whose right side makes a valid specifier but whose
 *     left side is not a PEP 440 version falls back to string comparison
 *     (packaging >= 22 raises InvalidVersion; PEP 508 says to fall back);
 *   - ~= and === that cannot be evaluated as versions are false; with two
 *     literal sides that is known when parsing, and is a parse error;
 *   - quoted strings are decoded as Python literals, except that \N{...},
 *     a NUL character and lone surrogates are parse errors;
 *   - str() keeps the parentheses of a group written in double parentheses
 *     ("((a or b)) and c"), which packaging drops, changing the meaning, and
 *     escapes a value's '"', '\', CR and LF so that the string parses back;
 *   - parentheses nest at most PEP508_MAX_DEPTH deep;
 *   - names are lowercased on ASCII letters only (the only valid ones). */
#ifndef PKGIMG_PYSPEC_PEP508_H
#define PKGIMG_PYSPEC_PEP508_H

#include <stdbool.h>
#include <stddef.h>

#include "pyspec/pep440.h"

struct pkgimg_ctx;

#define PEP508_MAX_DEPTH 100

/* --- names ---------------------------------------------------------------- */

/* PEP 503: lowercase, every run of '-', '_' and '.' becomes one '-'
 * ("Foo__Bar.baz" -> "foo-bar-baz").  The caller frees the result. */
char *pep503_normalize(const char *name);
/* PEP 508's ^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$, case-insensitive. */
bool pep508_name_valid(const char *name);

/* --- markers -------------------------------------------------------------- */

enum pep508_var {
	PEP508_VAR_PYTHON_VERSION,
	PEP508_VAR_PYTHON_FULL_VERSION,
	PEP508_VAR_OS_NAME,			/* also os.name */
	PEP508_VAR_SYS_PLATFORM,		/* also sys.platform */
	PEP508_VAR_PLATFORM_RELEASE,
	PEP508_VAR_PLATFORM_SYSTEM,
	PEP508_VAR_PLATFORM_VERSION,		/* also platform.version */
	PEP508_VAR_PLATFORM_MACHINE,		/* also platform.machine */
	PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION, /* also platform.python_implementation,
						    * python_implementation */
	PEP508_VAR_IMPLEMENTATION_NAME,
	PEP508_VAR_IMPLEMENTATION_VERSION,
	PEP508_VAR_EXTRA,
	PEP508_VAR_EXTRAS,			/* PEP 751: the extras a lock installs (a set) */
	PEP508_VAR_DEPENDENCY_GROUPS,		/* PEP 751: its dependency groups (a set) */
	PEP508_NVARS
};

enum pep508_op {
	PEP508_OP_LT,		/* < */
	PEP508_OP_LE,		/* <= */
	PEP508_OP_EQ,		/* == */
	PEP508_OP_NE,		/* != */
	PEP508_OP_GE,		/* >= */
	PEP508_OP_GT,		/* > */
	PEP508_OP_COMPATIBLE,	/* ~= */
	PEP508_OP_ARBITRARY,	/* === */
	PEP508_OP_IN,		/* in: substring */
	PEP508_OP_NOT_IN,	/* not in */
};

struct pep508_operand {
	bool is_var;
	enum pep508_var var;	/* when is_var */
	char *value;		/* when !is_var: the decoded literal; compared
				 * with `extra`, already PEP 503-normalised */
};

enum pep508_marker_kind {
	PEP508_MARKER_CMP,
	PEP508_MARKER_AND,	/* all of sub[] */
	PEP508_MARKER_OR,	/* any of sub[] */
};

/* A marker tree.  "a and b and c" is one AND node with three children
 * (written order kept); "and" binds tighter than "or". */
struct pep508_marker {
	enum pep508_marker_kind kind;
	bool parens;			/* written inside ( ) */
	/* PEP508_MARKER_CMP */
	struct pep508_operand lhs, rhs;
	enum pep508_op op;
	/* PEP508_MARKER_AND / _OR: at least two */
	struct pep508_marker **sub;
	size_t nsub;
};

/* The values of the marker variables for the TARGET interpreter and
 * platform.  The strings are owned (pep508_env_free); a NULL one reads as
 * "".  `extra` is not here: it is an argument of the evaluation. */
struct pep508_env {
	char *python_version;			/* "3.11" */
	char *python_full_version;		/* "3.11.2" */
	char *os_name;				/* "posix" */
	char *sys_platform;			/* "linux" */
	char *platform_release;			/* uname -r */
	char *platform_system;			/* "Linux" */
	char *platform_version;			/* uname -v */
	char *platform_machine;			/* "x86_64" */
	char *platform_python_implementation;	/* "CPython" */
	char *implementation_name;		/* "cpython" */
	char *implementation_version;		/* "3.11.2" */
};

void pep508_env_init(struct pep508_env *env);
void pep508_env_free(struct pep508_env *env);
/* Sets one variable by its marker name (legacy dotted spellings accepted;
 * "extra" is not an environment variable).  -PKGIMG_E_USAGE for an unknown
 * name. */
int pep508_env_set(struct pkgimg_ctx *ctx, struct pep508_env *env, const char *name,
		   const char *value);
/* CPython on Linux: os_name "posix", sys_platform "linux", platform_system
 * "Linux", platform_python_implementation "CPython", implementation_name
 * "cpython", python_version the first two numbers of python_full_version,
 * implementation_version = python_full_version; release and version (uname
 * -r, -v) may be NULL for "".  Replaces whatever env held. */
void pep508_env_linux(struct pep508_env *env, const char *python_full_version,
		      const char *machine, const char *release, const char *version);

/* Parses a whole marker expression.  On success *out is the tree
 * (pep508_marker_free); on error *out is untouched and the message names the
 * marker, the column (1-based) and what was expected there. */
int pep508_marker_parse(struct pkgimg_ctx *ctx, const char *s, struct pep508_marker **out);
/* As pep508_marker_parse, in a lock file's context (PEP 751): the
 * variables `extras` and `dependency_groups` are known too (elsewhere they
 * are unknown words, as for pip's packaging 24). */
int pep508_marker_parse_lock(struct pkgimg_ctx *ctx, const char *s, struct pep508_marker **out);
void pep508_marker_free(struct pep508_marker *m);

/* 1 when the marker holds for env and the extra being installed (NULL or ""
 * for none: `extra == "x"` is then false), else 0; a NULL marker is 1.
 *
 * A comparison takes its variables' values from env, then (packaging's
 * _eval_op): for <, <=, ==, !=, >=, >, ~=, ===, when `op + right side` is a
 * valid PEP 440 specifier and the left side a valid version, the specifier
 * decides, pre-releases allowed ("3.11" > "3.8"; "3.11.2" == "3.11.*");
 * otherwise <, <=, ==, !=, >=, > compare the strings as Python does and ~=
 * and === are false.  in / not in are substring tests.  A comparison with
 * `extra` compares both sides PEP 503/685-normalised. */
int pep508_marker_eval(const struct pep508_marker *m, const struct pep508_env *env,
		       const char *extra);

/* The sets a lock file's markers test (PEP 751): the extras and the
 * dependency groups being installed (names PEP 685/735-normalised by the
 * evaluation). */
struct pep508_sets {
	const char *const *extras;
	size_t nextras;
	const char *const *groups;
	size_t ngroups;
};

/* As pep508_marker_eval, in a lock file's context (PEP 751, and uv.lock's
 * conflict markers): `"x" in extras` and `"g" in dependency_groups` test
 * membership (`not in` its negation), and `extra == "x"` / `extra != "x"`
 * test whether x is (not) among the extras, so a marker may ask for
 * several at once.  Other comparisons with these variables are false. */
int pep508_marker_eval_sets(const struct pep508_marker *m, const struct pep508_env *env,
			    const struct pep508_sets *sets);

/* packaging's str(Marker): 'python_version < "3.8" and (os_name == "nt" or
 * extra == "test")'; variables by their canonical names, literals in double
 * quotes.  The caller frees it. */
char *pep508_marker_str(const struct pep508_marker *m);

/* --- requirements --------------------------------------------------------- */

struct pep508_req {
	char *name;			/* as written */
	char *norm;			/* PEP 503 */
	char **extras;			/* normalised, sorted, unique; NULL-terminated */
	size_t nextras;
	struct pep440_specset spec;	/* empty with a URL */
	char *url;			/* after "@", or NULL */
	struct pep508_marker *marker;	/* after ";", or NULL */
};

/* Parses "name [extras] (specifier | @ url) ; marker".  On success *out owns
 * its memory (pep508_req_free); on error *out is untouched and the message
 * names the requirement, the column (1-based) and the cause. */
int pep508_req_parse(struct pkgimg_ctx *ctx, const char *s, struct pep508_req *out);
void pep508_req_free(struct pep508_req *r);

/* packaging's str(Requirement), with the extras normalised:
 * 'name[a,b]<2,>=1; os_name == "posix"', 'name @ https://x ; extra == "t"'.
 * Specifiers are sorted and written without spaces.  The caller frees it. */
char *pep508_req_str(const struct pep508_req *r);

#endif
