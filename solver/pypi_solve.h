/* PyPI resolution with libsolv, without the network: the caller fills a
 * universe with the candidate distributions it found (versions that have a
 * wheel for the target, with their yanked flag, Requires-Python and, once
 * fetched, their dependencies), and pypi_solve() picks one version of every
 * project needed, as pip would.
 *
 * The model in libsolv:
 *   - one solvable per (normalised name, version); its EVR is the version's
 *     rank in PEP 440 order among the project's candidates, written as a
 *     zero-padded decimal ("00000003"), so libsolv's EVR order is PEP 440's;
 *   - a requirement is a REL_NAMESPACE dependency: namespace "pypi:req"
 *     applied to the interned text "name[extra]spec" ("triton==2.2.0"); the
 *     pool's namespace callback answers it with the matching solvables,
 *     following pip: pre-releases only when the specifier names one, when
 *     a top-level requirement on the project names one (pip merges the
 *     specifiers of a project), or when no final release matches; yanked
 *     versions only for a == / === pin that nothing else satisfies (PEP 592);
 *   - an extra is a solvable "name[extra]" with the same EVR, requiring
 *     "name" at exactly that version plus the extra's own requirements; a
 *     requirement with extras requires one such solvable per extra;
 *   - the top-level requirements hang on a root solvable "pypi:root",
 *     installed by a SOLVER_SOLVABLE job, so that a requirement nothing
 *     satisfies is reported (libsolv 0.7.23 treats an install job on an
 *     empty namespace dependency as satisfied).
 *
 * Metadata discovery is the caller's loop: pypi_universe_missing() names the
 * projects still to look up; pypi_solve() returns, in out->unknown, the
 * chosen candidates whose dependencies are not known yet.  Fetch them, set
 * their dependencies, solve again; the answer is final when both are empty. */
#ifndef PKGIMG_SOLVER_PYPI_SOLVE_H
#define PKGIMG_SOLVER_PYPI_SOLVE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"

struct pkgimg_ctx;
struct s_Stringpool;

/* pypi_universe_add() flags */
#define PYPI_CAND_WHEEL		0x01u	/* a wheel of this version fits the target */
#define PYPI_CAND_YANKED	0x02u	/* PEP 592: every file of the version is yanked */
#define PYPI_CAND_INSTALLED	0x04u	/* in the image already: kept when it
					 * satisfies (pip without --upgrade) */

/* One requirement as the solver sees it: at most one extra (a requirement
 * with several extras becomes one per extra). */
struct pypi_dep {
	char *text;			/* "name[extra]spec": "torch[optree]>=2,<3" */
	char *name;			/* PEP 503 */
	char *extra;			/* or NULL */
	char *spec_text;		/* ">=2,<3", "" for any version */
	struct pep440_specset spec;
	bool pinned;			/* a single == (no wildcard) or === */
};

struct pypi_extra {
	char *name;			/* normalised */
	size_t *deps;			/* indices into universe->deps */
	size_t ndeps;
};

struct pypi_cand {
	char *version;			/* as added */
	struct pep440_version ver;
	unsigned flags;			/* PYPI_CAND_* */
	char *excluded;			/* why this is no candidate, or NULL */
	bool has_meta;			/* dependencies known */
	size_t *deps;			/* base requirements: indices into universe->deps */
	size_t ndeps;
	struct pypi_extra *extras;	/* declared extras with their requirements */
	size_t nextras;
};

struct pypi_project {
	char *name;			/* normalised */
	struct pypi_cand *c;		/* ascending PEP 440 order (excluded ones too) */
	size_t n;
};

/* Fill it with the functions below; read it freely. */
struct pypi_universe {
	char *python;			/* target Python full version, "3.11.2" */
	struct pep440_version python_ver;
	bool pre;			/* --pre: pre-releases are candidates for every
					 * requirement, as final releases are */
	struct pypi_project *p;		/* in the order first added */
	size_t np;
	struct pypi_dep *deps;		/* every distinct requirement seen */
	size_t ndeps;
	struct s_Stringpool *names;	/* project name -> name_ix */
	size_t *name_ix;		/* stringpool id -> project + 1 (0: none) */
	size_t nname_ix;
	struct s_Stringpool *texts;	/* requirement text -> text_ix */
	size_t *text_ix;		/* stringpool id -> dep + 1 */
	size_t ntext_ix;
};

/* The target interpreter's full version ("3.11.2"): Requires-Python is
 * checked against it.  -PKGIMG_E_USAGE when it is no PEP 440 version. */
int pypi_universe_init(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *python);
void pypi_universe_free(struct pypi_universe *u);

/* Adds version `version` of project `name` (any spelling).  It becomes a
 * candidate when flags has PYPI_CAND_WHEEL and requires_python (NULL: none)
 * holds for the target; otherwise it is kept only to explain a failure
 * ("3.0 requires Python >=3.12").  Adding a project with no candidate still
 * records that the project was looked up.  Errors: an invalid version, the
 * same version twice. */
int pypi_universe_add(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
		      const char *version, unsigned flags,
		      const struct pep440_specset *requires_python);
/* Makes an added version no candidate, for the reason `why` (it replaces
 * any other; failures list it: "1.0 (excluded by -c cons.txt:1 beta<1)"). */
int pypi_universe_exclude(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
			  const char *version, const char *why);
/* Marks an added version as the one installed in the image below: a
 * candidate (whatever its files on the index), preferred over the others
 * whenever it satisfies, as pip keeps an installed distribution. */
int pypi_universe_mark_installed(struct pkgimg_ctx *ctx, struct pypi_universe *u,
				 const char *name, const char *version);
/* Records that project `name` was looked up, with or without versions. */
void pypi_universe_add_project(struct pypi_universe *u, const char *name);
/* Whether (name, version) is a candidate. */
bool pypi_universe_is_candidate(const struct pypi_universe *u, const char *name,
				const char *version);

/* The requirements of a candidate for the target environment, as
 * pymeta_deps_for(m, env, NULL) returns them (markers are not evaluated
 * again; direct URL requirements are refused).  Marks the candidate's
 * metadata as known; a second call replaces the first.  Setting the
 * dependencies of an excluded version is accepted and ignored.
 * -PKGIMG_E_NOTFOUND for a version never added. */
int pypi_universe_set_deps(struct pkgimg_ctx *ctx, struct pypi_universe *u, const char *name,
			   const char *version, const struct pep508_req *const *reqs, size_t n);
/* The requirements of one declared extra (pymeta_deps_for(m, env, {extra});
 * those that the base requirements already hold are dropped, so set the base
 * ones first).  Only pypi_universe_set_deps marks the metadata known. */
int pypi_universe_set_extra_deps(struct pkgimg_ctx *ctx, struct pypi_universe *u,
				 const char *name, const char *version, const char *extra,
				 const struct pep508_req *const *reqs, size_t n);
/* Both of the above from parsed metadata: the base requirements and those of
 * every Provides-Extra, evaluated for env.  A Requires-Python in the metadata
 * that the target does not satisfy excludes the candidate instead (pip reads
 * it from the metadata when the index page gave none); solve again. */
int pypi_universe_set_meta(struct pkgimg_ctx *ctx, struct pypi_universe *u,
			   const struct pymeta *m, const struct pep508_env *env);

/* The projects (normalised, sorted) that the top-level requirements reach,
 * through the known dependencies of the candidates that match, and that the
 * universe has never been given (pypi_universe_add / _add_project): look them
 * up before solving.  Replaces *out; returns how many. */
int pypi_universe_missing(struct pkgimg_ctx *ctx, struct pypi_universe *u,
			  const struct pep508_req *const *top, size_t ntop, struct strv *out);

struct pypi_pick {
	char *name;			/* normalised */
	char *version;			/* as added */
	struct strv extras;		/* the extras needed, sorted */
	bool has_meta;
};

struct pypi_solution {
	struct pypi_pick *v;		/* sorted by name */
	size_t n;
	size_t *unknown;		/* indices into v of picks whose metadata
					 * is not known yet */
	size_t nunknown;
};

/* Resolves the top-level requirements (their markers already evaluated by
 * the caller).  On success *out is written (pypi_solution_free).  When the
 * request cannot be satisfied: -PKGIMG_E_SOLVE and a message that explains
 * each problem as a chain ("torch 2.2.1 requires triton==2.2.0, but
 * triton==2.1.0 was requested"; "no version of foo satisfies foo>=3
 * (available: 1.0, 2.0)").  A direct URL requirement: -PKGIMG_E_USAGE. */
int pypi_solve(struct pkgimg_ctx *ctx, struct pypi_universe *u,
	       const struct pep508_req *const *top, size_t ntop, struct pypi_solution *out);
void pypi_solution_free(struct pypi_solution *s);
/* Warns through ctx (pkgimg_warn) for every extra of a pick whose metadata
 * does not declare it (Provides-Extra, PEP 685 names), as pip warns "X 1.0
 * does not provide the extra 'y'" and installs X without it. */
void pypi_solution_warn_extras(struct pkgimg_ctx *ctx, const struct pypi_universe *u,
			       const struct pypi_solution *s);

/* The EVR written for rank `rank` (0-based): "00000003".  buf holds 16. */
void pypi_rank_evr(size_t rank, char buf[16]);

#endif
