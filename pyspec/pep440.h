/* PEP 440 versions and version specifiers, with the semantics of
 * pypa/packaging (>= 22): parsing with full normalisation, the total order,
 * and specifier sets (">=1.0,<2.0,!=1.5.*") with their pre-release rules.
 *
 * Numbers (epoch, release, pre, post, dev) are uint64; a larger one is a
 * parse error, never a silent wrap.  Numeric local segments are kept as
 * digit strings (leading zeros dropped), so they have no size limit. */
#ifndef PKGIMG_PYSPEC_PEP440_H
#define PKGIMG_PYSPEC_PEP440_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/str.h"

struct pkgimg_ctx;

enum pep440_pre {
	PEP440_PRE_NONE = 0,
	PEP440_PRE_A,		/* a, alpha */
	PEP440_PRE_B,		/* b, beta */
	PEP440_PRE_RC,		/* rc, c, pre, preview */
};

struct pep440_version {
	uint64_t epoch;			/* 0 when absent */
	uint64_t *release;		/* at least one element */
	size_t nrelease;		/* as written: 1.0.0 has 3 */
	enum pep440_pre pre;
	uint64_t pre_n;			/* implicit 0: "1.0a" is 1.0a0 */
	bool has_post;
	uint64_t post;
	bool has_dev;
	uint64_t dev;
	char *local;			/* normalised "ubuntu.1", or NULL */
};

/* Parses a version ("v1.0-A1", " 1!2.0.post3.dev4+Local-05 ").  On success
 * *out owns its memory (pep440_version_free); on error *out is untouched and
 * the message on ctx names the version and what is wrong with it. */
int pep440_parse(struct pkgimg_ctx *ctx, const char *s, struct pep440_version *out);
int pep440_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct pep440_version *out);
void pep440_version_free(struct pep440_version *v);
/* A deep copy (aborts on out-of-memory). */
void pep440_version_copy(struct pep440_version *dst, const struct pep440_version *src);

/* The canonical string: "1!2.0a1.post2.dev3+abc.5".  Release zeros are kept
 * ("1.0.0" stays "1.0.0").  The caller frees it. */
char *pep440_normalize(const struct pep440_version *v);

/* <0, 0, >0.  PEP 440 order: epoch, release (trailing zeros ignored),
 * dev-only < pre < release < post, then local (absent < present; segment by
 * segment, numbers numerically and above strings, a longer label above its
 * prefix). */
int pep440_cmp(const struct pep440_version *a, const struct pep440_version *b);
/* As pep440_cmp with the local labels of both sides ignored. */
int pep440_cmp_public(const struct pep440_version *a, const struct pep440_version *b);

bool pep440_is_prerelease(const struct pep440_version *v);	/* pre or dev */
bool pep440_is_postrelease(const struct pep440_version *v);

enum pep440_op {
	PEP440_OP_COMPATIBLE,	/* ~= */
	PEP440_OP_EQ,		/* == (wildcard when .*) */
	PEP440_OP_NE,		/* != (wildcard when .*) */
	PEP440_OP_LE,		/* <= */
	PEP440_OP_GE,		/* >= */
	PEP440_OP_LT,		/* < */
	PEP440_OP_GT,		/* > */
	PEP440_OP_ARBITRARY,	/* === */
};

struct pep440_spec {
	enum pep440_op op;
	bool wildcard;			/* ==V.* / !=V.*: ver is V (release only) */
	bool has_ver;			/* false only for === with a non-version */
	struct pep440_version ver;	/* valid when has_ver */
	char *text;			/* the specifier as written, trimmed: "~=2.2" */
	char *arbitrary;		/* ===: the string after the operator */
};

struct pep440_specset {
	struct pep440_spec *v;
	size_t n;			/* 0: the empty set, matches every version */
};

/* Parses a comma-separated specifier set (empty items are skipped, so "" is
 * the empty set).  On error *out is untouched and the message names the
 * offending specifier. */
int pep440_spec_parse(struct pkgimg_ctx *ctx, const char *s, struct pep440_specset *out);
int pep440_spec_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct pep440_specset *out);
void pep440_specset_free(struct pep440_specset *set);

/* Whether one specifier matches v, ignoring the pre-release policy. */
bool pep440_spec_match(const struct pep440_spec *sp, const struct pep440_version *v);

/* True when a specifier other than != names a pre-release version
 * (">=1.0a1", "<2.0rc1", "==1.0.dev1", "===1.0b1"): the set then opts in to
 * pre-releases, as packaging's SpecifierSet.prereleases. */
bool pep440_spec_mentions_prerelease(const struct pep440_specset *set);

/* Whether v satisfies every specifier of the set.  A pre-release v (pre or
 * dev) is accepted only when `prereleases` is true or the set mentions a
 * pre-release (packaging's SpecifierSet.contains with prereleases=None). */
bool pep440_spec_contains(const struct pep440_specset *set, const struct pep440_version *v,
			  bool prereleases);

#endif
