/* solver/pypi_solve.c: resolution over hand-made universes (newest first,
 * specifiers, transitive requirements, extras, pre-releases, yanked
 * versions, Requires-Python, conflicts explained in words, the namespace
 * trap, the rank EVRs, unknown metadata) and a mini-graph built on torch
 * 2.2.1's real METADATA (tests/fixtures/pypi/, found under $PKGIMG_SRC,
 * default ".") that must resolve to what pip installs.  Prints "ok - NAME" /
 * "not ok - NAME" (+ "# detail"); exits non-zero on a failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <solv/evr.h>
#include <solv/pool.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "solver/pypi_solve.h"

#include "tests/unit/check.h"

#define MAXREQ 64

static struct pkgimg_ctx ctx;

/* Parsed requirements, kept until reqs_free. */
struct reqs {
	struct pep508_req r[MAXREQ];
	const struct pep508_req *p[MAXREQ];
	size_t n;
};

static bool reqs_vparse(struct reqs *q, va_list ap)
{
	const char *s;

	q->n = 0;
	while ((s = va_arg(ap, const char *)) != NULL) {
		if (q->n == MAXREQ || pep508_req_parse(&ctx, s, &q->r[q->n]) < 0) {
			printf("# cannot parse '%s': %s\n", s, ctx.errmsg);
			return false;
		}
		q->p[q->n] = &q->r[q->n];
		q->n++;
	}
	return true;
}

static void reqs_free(struct reqs *q)
{
	for (size_t i = 0; i < q->n; i++)
		pep508_req_free(&q->r[i]);
	q->n = 0;
}

static void uinit(struct pypi_universe *u, const char *python)
{
	pkgimg_ctx_init(&ctx);
	if (pypi_universe_init(&ctx, u, python) < 0) {
		printf("# pypi_universe_init: %s\n", ctx.errmsg);
		exit(2);
	}
}

/* Adds a candidate; rp is a Requires-Python or NULL. */
static void add(struct pypi_universe *u, const char *name, const char *version, unsigned flags,
		const char *rp)
{
	struct pep440_specset set;
	int r;

	if (rp && pep440_spec_parse(&ctx, rp, &set) < 0) {
		printf("# bad Requires-Python %s\n", rp);
		exit(2);
	}
	r = pypi_universe_add(&ctx, u, name, version, flags, rp ? &set : NULL);
	if (rp)
		pep440_specset_free(&set);
	if (r < 0) {
		printf("# add %s %s: %s\n", name, version, ctx.errmsg);
		exit(2);
	}
}

static void addw(struct pypi_universe *u, const char *name, const char *version)
{
	add(u, name, version, PYPI_CAND_WHEEL, NULL);
}

/* deps(u, name, version, "req", ..., NULL) */
static int deps(struct pypi_universe *u, const char *name, const char *version, ...)
{
	struct reqs q;
	va_list ap;
	int r = -1;

	va_start(ap, version);
	if (reqs_vparse(&q, ap))
		r = pypi_universe_set_deps(&ctx, u, name, version, q.p, q.n);
	va_end(ap);
	reqs_free(&q);
	return r;
}

static int xdeps(struct pypi_universe *u, const char *name, const char *version,
		 const char *extra, ...)
{
	struct reqs q;
	va_list ap;
	int r = -1;

	va_start(ap, extra);
	if (reqs_vparse(&q, ap))
		r = pypi_universe_set_extra_deps(&ctx, u, name, version, extra, q.p, q.n);
	va_end(ap);
	reqs_free(&q);
	return r;
}

/* "a 1.0, b[x,y] 2.0" */
static char *sol_str(const struct pypi_solution *s)
{
	struct sbuf b = SBUF_INIT;

	sbuf_adds(&b, "");
	for (size_t i = 0; i < s->n; i++) {
		sbuf_addf(&b, "%s%s", i ? ", " : "", s->v[i].name);
		for (size_t k = 0; k < s->v[i].extras.n; k++)
			sbuf_addf(&b, "%s%s", k ? "," : "[", s->v[i].extras.v[k]);
		sbuf_addf(&b, "%s %s", s->v[i].extras.n ? "]" : "", s->v[i].version);
	}
	return sbuf_detach(&b);
}

/* Solves the NULL-terminated requests; the picks as sol_str, or "ERROR <code>"
 * with the message in ctx.errmsg. */
static char *vsolve(struct pypi_universe *u, struct pypi_solution *keep, va_list ap)
{
	struct pypi_solution s;
	struct reqs q;
	char *res;
	int r;

	memset(&s, 0, sizeof s);
	if (!reqs_vparse(&q, ap)) {
		reqs_free(&q);
		return xstrdup("BAD REQUEST");
	}
	ctx.errmsg[0] = '\0';
	r = pypi_solve(&ctx, u, q.p, q.n, &s);
	reqs_free(&q);
	if (r < 0)
		return xasprintf("ERROR %d", r);
	res = sol_str(&s);
	if (keep)
		*keep = s;
	else
		pypi_solution_free(&s);
	return res;
}

static char *solve(struct pypi_universe *u, ...)
{
	va_list ap;
	char *res;

	va_start(ap, u);
	res = vsolve(u, NULL, ap);
	va_end(ap);
	return res;
}

static char *solve_keep(struct pypi_universe *u, struct pypi_solution *s, ...)
{
	va_list ap;
	char *res;

	va_start(ap, s);
	res = vsolve(u, s, ap);
	va_end(ap);
	return res;
}

static void check_str(char *got, const char *want, const char *name)
{
	check(!strcmp(got, want), name, "got '%s', want '%s' (%s)", got, want, ctx.errmsg);
	free(got);
}

/* The solve fails with -PKGIMG_E_SOLVE and the message holds `want`. */
static void check_fail(char *got, const char *want, const char *name)
{
	char code[32];

	snprintf(code, sizeof code, "ERROR %d", -PKGIMG_E_SOLVE);
	check(!strcmp(got, code) && strstr(ctx.errmsg, want) != NULL, name,
	      "got '%s', message:\n%s\nwant: %s", got, ctx.errmsg, want);
	free(got);
}

static int nwarn;
static char last_warn[512];

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	nwarn++;
	snprintf(last_warn, sizeof last_warn, "%s", msg);
}

/* --- EVR ranks --------------------------------------------------------- */

static void t_rank_evr(void)
{
	Pool *pool = pool_create();
	char a[16], b[16];
	bool ok = true;
	size_t bad = 0;

	pypi_rank_evr(0, a);
	check(!strcmp(a, "00000000"), "rank evr: 0 is 00000000", "got %s", a);
	pypi_rank_evr(1234, a);
	check(!strcmp(a, "00001234"), "rank evr: 1234 is 00001234", "got %s", a);
	for (size_t i = 0; i < 3000 && ok; i++) {
		pypi_rank_evr(i, a);
		pypi_rank_evr(i + 1, b);
		if (pool_evrcmp_str(pool, a, b, EVRCMP_COMPARE) >= 0 ||
		    pool_evrcmp_str(pool, b, a, EVRCMP_COMPARE) <= 0 ||
		    pool_evrcmp_str(pool, a, a, EVRCMP_COMPARE) != 0) {
			ok = false;
			bad = i;
		}
	}
	check(ok, "rank evr: libsolv orders ranks 0..3000 as numbers", "breaks at %zu", bad);
	{
		static const size_t pairs[][2] = { { 9, 10 }, { 99, 100 }, { 999, 1000 },
						   { 9999999, 10000000 }, { 1, 99999999 } };

		ok = true;
		for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
			pypi_rank_evr(pairs[i][0], a);
			pypi_rank_evr(pairs[i][1], b);
			if (pool_evrcmp_str(pool, a, b, EVRCMP_COMPARE) >= 0)
				ok = false;
		}
		check(ok, "rank evr: 9<10, 99<100, 9999999<10000000 in libsolv's order", "-");
	}
	pool_free(pool);
}

/* --- basic choices ----------------------------------------------------- */

static void t_newest(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	/* added out of order on purpose */
	addw(&u, "Foo_Bar", "1.5");
	addw(&u, "foo-bar", "2.0");
	addw(&u, "foo.bar", "1.0");
	addw(&u, "foo-bar", "1.10");
	addw(&u, "foo-bar", "2.0.post1");
	addw(&u, "foo-bar", "1!0.1");
	check_str(solve(&u, "foo-bar<1!0", NULL), "foo-bar 2.0.post1",
		  "newest: highest PEP 440 version wins (post release above release)");
	check_str(solve(&u, "FOO_bar", NULL), "foo-bar 1!0.1",
		  "newest: names normalised, epoch above everything");
	check_str(solve(&u, "foo-bar<2", NULL), "foo-bar 1.10", "specifier: <2 takes 1.10 (not 1.5)");
	check_str(solve(&u, "foo-bar~=1.4", NULL), "foo-bar 1.10", "specifier: ~=1.4");
	check_str(solve(&u, "foo-bar!=2.0.post1,<1!0", NULL), "foo-bar 2.0", "specifier: !=");
	check_str(solve(&u, "foo-bar==1.*", NULL), "foo-bar 1.10", "specifier: ==1.*");
	check_str(solve(&u, "foo-bar>=1.0,<1.5", NULL), "foo-bar 1.0", "specifier: >=1.0,<1.5");
	check_str(solve(&u, "foo-bar==1.5.0", NULL), "foo-bar 1.5", "specifier: ==1.5.0 matches 1.5");
	check_str(solve(&u, "foo-bar>1.0,<=1.5", NULL), "foo-bar 1.5", "specifier: >1.0,<=1.5");
	check_str(solve(&u, NULL), "", "empty request: empty solution");
	check(pypi_universe_is_candidate(&u, "FOO-BAR", "1.10"), "is_candidate: yes for 1.10", "-");
	check(!pypi_universe_is_candidate(&u, "foo-bar", "3"), "is_candidate: no for 3", "-");
	{
		int r = pypi_universe_add(&ctx, &u, "foo-bar", "1.5.0", PYPI_CAND_WHEEL, NULL);

		check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "added twice"),
		      "add: the same version twice is refused", "r=%d %s", r, ctx.errmsg);
		r = pypi_universe_add(&ctx, &u, "foo-bar", "not a version", PYPI_CAND_WHEEL, NULL);
		check(r < 0 && strstr(ctx.errmsg, "foo-bar"), "add: an invalid version is refused",
		      "r=%d %s", r, ctx.errmsg);
		r = deps(&u, "foo-bar", "7.0", "x", NULL);
		check(r == -PKGIMG_E_NOTFOUND, "set_deps: unknown version refused", "r=%d", r);
		r = deps(&u, "foo-bar", "1.0", "x @ https://example.org/x.whl", NULL);
		check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "direct URL"),
		      "set_deps: a direct URL requirement is refused", "r=%d %s", r, ctx.errmsg);
	}
	pypi_universe_free(&u);
}

static void t_transitive(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	addw(&u, "a", "1.0");
	addw(&u, "a", "2.0");
	addw(&u, "b", "1.0");
	addw(&u, "b", "2.0");
	addw(&u, "b", "3.0");
	addw(&u, "c", "1.0");
	addw(&u, "c", "2.0");
	addw(&u, "d", "1.0");
	deps(&u, "a", "1.0", "b>=2", NULL);
	deps(&u, "a", "2.0", "b>=2", "d", NULL);
	deps(&u, "b", "1.0", NULL);
	deps(&u, "b", "2.0", "c", NULL);
	deps(&u, "b", "3.0", "c<2", NULL);
	deps(&u, "c", "1.0", NULL);
	deps(&u, "c", "2.0", NULL);
	deps(&u, "d", "1.0", "nosuch-project>=1", NULL);
	check_str(solve(&u, "a<2", NULL), "a 1.0, b 3.0, c 1.0",
		  "transitive: a -> b>=2 -> c<2, newest of each");
	check_str(solve(&u, "a<2", "c>=2", NULL), "a 1.0, b 2.0, c 2.0",
		  "transitive: backtracks to b 2.0 when c>=2 is requested");
	check_str(solve(&u, "a", NULL), "a 1.0, b 3.0, c 1.0",
		  "transitive: a 2.0 needs a project that does not exist, a 1.0 is taken");
	check_fail(solve(&u, "a>=2", NULL), "no project named nosuch-project",
		   "namespace trap: an unknown transitive project is an error, not success");
	check_fail(solve(&u, "a>=2", NULL), "d 1.0 requires nosuch-project>=1",
		   "unknown transitive project: the chain names who needs it");
	check_fail(solve(&u, "does-not-exist", NULL), "no project named does-not-exist",
		   "namespace trap: an unknown top-level name is an error");
	check_fail(solve(&u, "a", "does-not-exist>=1", NULL),
		   "- does-not-exist>=1 was requested",
		   "namespace trap: the message lists the request");
	pypi_universe_free(&u);
}

/* --- extras ------------------------------------------------------------ */

static void t_extras(void)
{
	struct pypi_universe u;
	struct pypi_solution s;
	char *got;

	uinit(&u, "3.11.2");
	addw(&u, "req", "1.0");
	addw(&u, "req", "2.0");
	addw(&u, "socks", "1.0");
	addw(&u, "socks", "2.0");
	addw(&u, "chardet", "5.0");
	addw(&u, "idna", "3.0");
	deps(&u, "req", "1.0", "idna", NULL);
	xdeps(&u, "req", "1.0", "SOCKS", "socks<2", NULL);
	deps(&u, "req", "2.0", "idna", NULL);
	xdeps(&u, "req", "2.0", "socks", "socks>=2", NULL);
	xdeps(&u, "req", "2.0", "all", "req[socks]", "chardet", NULL);
	deps(&u, "socks", "1.0", NULL);
	deps(&u, "socks", "2.0", NULL);
	deps(&u, "chardet", "5.0", NULL);
	deps(&u, "idna", "3.0", NULL);
	check_str(solve(&u, "req", NULL), "idna 3.0, req 2.0", "extras: none asked, none pulled");
	got = solve_keep(&u, &s, "req[socks]", NULL);
	check_str(got, "idna 3.0, req[socks] 2.0, socks 2.0",
		  "extras: req[socks] pulls the extra's requirements of the newest");
	check(s.n == 3 && s.v[1].extras.n == 1 && !strcmp(s.v[1].extras.v[0], "socks"),
	      "extras: the pick lists the extra", "n=%zu", s.n);
	pypi_solution_free(&s);
	check_str(solve(&u, "req[socks]<2", NULL), "idna 3.0, req[socks] 1.0, socks 1.0",
		  "extras: the extra follows the chosen version (same version)");
	check_str(solve(&u, "req[socks]", "req==1.0", NULL), "idna 3.0, req[socks] 1.0, socks 1.0",
		  "extras: req==1.0 with req[socks]: the extra of 1.0");
	check_str(solve(&u, "req[socks]", "socks<2", NULL), "idna 3.0, req[socks] 1.0, socks 1.0",
		  "extras: a conflict with 2.0's extra goes back to 1.0 and its extra");
	check_str(solve(&u, "req[all]", NULL), "chardet 5.0, idna 3.0, req[all,socks] 2.0, socks 2.0",
		  "extras: an extra that names another extra of the same project");
	check_str(solve(&u, "req[Socks,ALL]", NULL),
		  "chardet 5.0, idna 3.0, req[all,socks] 2.0, socks 2.0",
		  "extras: several extras in one requirement, names normalised");
	check_str(solve(&u, "req[nosuch]", NULL), "idna 3.0, req[nosuch] 2.0",
		  "extras: an undeclared extra installs the project anyway (as pip does)");
	memset(&s, 0, sizeof s);
	got = solve_keep(&u, &s, "req[nosuch,socks]", NULL);
	nwarn = 0;
	ctx.warn = on_warn;
	pypi_solution_warn_extras(&ctx, &u, &s);
	ctx.warn = NULL;
	check(nwarn == 1 && strstr(last_warn, "req 2.0 does not provide the extra 'nosuch'"),
	      "extras: an undeclared extra is warned about in pip's words, a declared one not",
	      "%d warnings, last: %s", nwarn, last_warn);
	free(got);
	pypi_solution_free(&s);
	check_fail(solve(&u, "req[socks]==2.0", "socks<2", NULL),
		   "req[socks] 2.0 requires socks>=2, but socks<2 was requested",
		   "extras: conflict through an extra in words");
	pypi_universe_free(&u);
}

/* --- pre-releases, yanked, Requires-Python ---------------------------- */

static void t_prereleases(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	addw(&u, "p", "1.0");
	addw(&u, "p", "1.1");
	addw(&u, "p", "2.0b1");
	addw(&u, "p", "2.1.dev3");
	addw(&u, "only-pre", "0.1a1");
	addw(&u, "only-pre", "0.2rc1");
	check_str(solve(&u, "p", NULL), "p 1.1", "pre-release: excluded by default");
	check_str(solve(&u, "p>=2.0b1", NULL), "p 2.1.dev3",
		  "pre-release: >=2.0b1 names one, so pre-releases are in");
	check_fail(solve(&u, "p>=1.5", NULL), "2.1.dev3 is a pre-release, taken only when a "
		   "specifier names one (p>=2.1.dev3) or with --pre",
		   "pre-release: not taken when only pre-releases satisfy >=1.5 (pip 23)");
	check_str(solve(&u, "p>=1.5,<2.1.dev0", NULL), "p 2.0b1",
		  "pre-release: <2.1.dev0 names a dev release");
	check_fail(solve(&u, "only-pre>0.1", NULL), "no version of only-pre satisfies",
		   "pre-release: only pre-releases, but a specifier: none (pip 23)");
	check_fail(solve(&u, "only-pre!=0.1a1", NULL), "no version of only-pre satisfies",
		   "pre-release: only pre-releases, != is a specifier too (pip 23)");
	check_str(solve(&u, "only-pre", NULL), "only-pre 0.2rc1",
		  "pre-release: a project with only pre-releases");
	check_str(solve(&u, "p<2", NULL), "p 1.1", "pre-release: <2 keeps final releases");
	check_str(solve(&u, "p==2.0b1", NULL), "p 2.0b1", "pre-release: an exact pin");
	addw(&u, "needs-p", "1.0");
	deps(&u, "needs-p", "1.0", "p>=1.0", NULL);
	check_str(solve(&u, "needs-p", NULL), "needs-p 1.0, p 1.1",
		  "pre-release: a dependency's range keeps final releases");
	check_str(solve(&u, "needs-p", "p>=2.0b1", NULL), "needs-p 1.0, p 2.1.dev3",
		  "pre-release: a top-level opt-in applies to the dependency's range too (pip)");
	pypi_universe_free(&u);
}

/* Requires-Python that only the metadata states (no data-requires-python on
 * the index page): the candidate goes once the metadata is read, and the
 * next solve backtracks to an older version, as pip does. */
static void t_requires_python_in_metadata(void)
{
	static const char meta37[] = "Metadata-Version: 2.1\nName: idna\nVersion: 3.7\n"
				     "Requires-Python: >=3.12\n";
	struct pypi_universe u;
	struct pep508_env env = { 0 };
	struct pymeta m;
	int r;

	uinit(&u, "3.11.2");
	addw(&u, "idna", "3.6");
	addw(&u, "idna", "3.7");
	check_str(solve(&u, "idna", NULL), "idna 3.7", "metadata Requires-Python: unknown before");
	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.2", "x86_64", NULL, NULL);
	r = pymeta_parse(&ctx, "idna-3.7.dist-info/METADATA", meta37, sizeof meta37 - 1, &m);
	if (r == 0) {
		r = pypi_universe_set_meta(&ctx, &u, &m, &env);
		pymeta_free(&m);
	}
	check(r == 0, "metadata Requires-Python: set_meta accepts it", "%s", ctx.errmsg);
	check(!pypi_universe_is_candidate(&u, "idna", "3.7"),
	      "metadata Requires-Python >=3.12 on 3.11: no candidate", "still one");
	check_str(solve(&u, "idna", NULL), "idna 3.6",
		  "metadata Requires-Python: the next solve takes the older version (pip)");
	check_fail(solve(&u, "idna==3.7", NULL), "requires Python >=3.12 (Requires-Python in "
		   "its metadata), the target is 3.11.2",
		   "metadata Requires-Python: a pin on it fails, naming Requires-Python");
	pep508_env_free(&env);
	pypi_universe_free(&u);
}

static void t_yanked(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	addw(&u, "y", "1.0");
	add(&u, "y", "1.1", PYPI_CAND_WHEEL | PYPI_CAND_YANKED, NULL);
	add(&u, "y", "2.0", PYPI_CAND_WHEEL | PYPI_CAND_YANKED, NULL);
	check_str(solve(&u, "y", NULL), "y 1.0", "yanked: skipped without a pin");
	check_str(solve(&u, "y==2.0", NULL), "y 2.0", "yanked: taken when pinned with ==");
	check_str(solve(&u, "y===2.0", NULL), "y 2.0", "yanked: taken when pinned with ===");
	check_str(solve(&u, "y>=1.0,<=1.1", NULL), "y 1.0", "yanked: a range is no pin");
	check_fail(solve(&u, "y>=2", NULL), "no version of y satisfies y>=2 (available: 1.0, 1.1 "
		   "(yanked), 2.0 (yanked)); a yanked version is taken only when pinned with ==",
		   "yanked: a range that only yanked versions satisfy fails, and says why");
	pypi_universe_free(&u);
}

static void t_requires_python(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	add(&u, "rp", "1.0", PYPI_CAND_WHEEL, ">=3.7");
	add(&u, "rp", "2.0", PYPI_CAND_WHEEL, ">=3.8,<3.12");
	add(&u, "rp", "3.0", PYPI_CAND_WHEEL, ">=3.12");
	add(&u, "rp", "4.0", 0, NULL);
	check(pypi_universe_is_candidate(&u, "rp", "2.0"),
	      "requires-python: >=3.8,<3.12 holds for 3.11.2", "-");
	check(!pypi_universe_is_candidate(&u, "rp", "3.0"),
	      "requires-python: >=3.12 excludes 3.0", "-");
	check(!pypi_universe_is_candidate(&u, "rp", "4.0"),
	      "no wheel for the target: 4.0 is no candidate", "-");
	check_str(solve(&u, "rp", NULL), "rp 2.0", "requires-python: the newest compatible is taken");
	check_fail(solve(&u, "rp>=3", NULL),
		   "no version of rp satisfies rp>=3 (available: 1.0, 2.0); not candidates: "
		   "3.0 (requires Python >=3.12, the target is 3.11.2), 4.0 (no wheel for the "
		   "target)", "requires-python: the failure names the excluded versions and why");
	check(deps(&u, "rp", "3.0", "x", NULL) == 0,
	      "requires-python: deps of an excluded version are accepted and ignored", "%s",
	      ctx.errmsg);
	pypi_universe_free(&u);

	uinit(&u, "3.12.1");
	add(&u, "rp", "2.0", PYPI_CAND_WHEEL, ">=3.8,<3.12");
	add(&u, "rp", "3.0", PYPI_CAND_WHEEL, ">=3.12");
	check_str(solve(&u, "rp<3", NULL), "ERROR -1033", "requires-python: target 3.12.1 excludes 2.0");
	check_str(solve(&u, "rp", NULL), "rp 3.0", "requires-python: target 3.12.1 takes 3.0");
	pypi_universe_free(&u);
	{
		int r = pypi_universe_init(&ctx, &u, "three");

		check(r == -PKGIMG_E_USAGE, "init: an invalid Python version is refused", "r=%d", r);
	}
}

/* --- conflicts in words ------------------------------------------------ */

static void t_conflicts(void)
{
	struct pypi_universe u;

	uinit(&u, "3.11.2");
	addw(&u, "foo", "1.0");
	addw(&u, "foo", "2.0");
	deps(&u, "foo", "1.0", NULL);
	deps(&u, "foo", "2.0", NULL);
	check_fail(solve(&u, "foo==1.0", "foo==2.0", NULL),
		   "foo==1.0 was requested, but foo==2.0 was requested",
		   "conflict: two top-level pins");
	check_fail(solve(&u, "foo>=3", NULL), "no version of foo satisfies foo>=3 (available: 1.0, 2.0)",
		   "conflict: nothing satisfies a top-level requirement");
	check_fail(solve(&u, "foo>=3", NULL), "- foo>=3 was requested",
		   "conflict: the request is listed");
	check_fail(solve(&u, "foo>=3", NULL), "[resolve] the PyPI request cannot be satisfied",
		   "conflict: the message names phase and cause");

	/* torch / triton */
	addw(&u, "torch", "2.2.1");
	addw(&u, "triton", "2.1.0");
	addw(&u, "triton", "2.2.0");
	addw(&u, "app", "1.0");
	deps(&u, "torch", "2.2.1", "triton==2.2.0", NULL);
	deps(&u, "triton", "2.1.0", NULL);
	deps(&u, "triton", "2.2.0", NULL);
	deps(&u, "app", "1.0", "torch>=2", NULL);
	check_fail(solve(&u, "torch", "triton==2.1.0", NULL),
		   "torch 2.2.1 requires triton==2.2.0, but triton==2.1.0 was requested",
		   "conflict: torch pins triton, the request pins another");
	check_fail(solve(&u, "app", "triton<2.2", NULL),
		   "torch 2.2.1 requires triton==2.2.0, but triton<2.2 was requested",
		   "conflict: transitive chain, headline");
	check_fail(solve(&u, "app", "triton<2.2", NULL), "because app 1.0 requires torch>=2",
		   "conflict: transitive chain, app -> torch listed");
	check_fail(solve(&u, "app", "triton<2.2", NULL), "- app was requested",
		   "conflict: transitive chain, the request listed");
	/* an older torch that fits resolves it */
	addw(&u, "torch", "2.1.2");
	deps(&u, "torch", "2.1.2", "triton==2.1.0", NULL);
	check_str(solve(&u, "app", "triton<2.2", NULL), "app 1.0, torch 2.1.2, triton 2.1.0",
		  "conflict avoided: the solver goes back to torch 2.1.2");
	check_str(solve(&u, "app", NULL), "app 1.0, torch 2.2.1, triton 2.2.0",
		  "no conflict: newest torch and its triton");
	pypi_universe_free(&u);
}

/* --- metadata discovery ------------------------------------------------ */

static void t_unknown(void)
{
	struct pypi_universe u;
	struct pypi_solution s;
	struct strv miss = { 0 };
	struct reqs q;
	char *got;
	int n;

	uinit(&u, "3.11.2");
	addw(&u, "top", "1.0");
	addw(&u, "top", "0.9");
	addw(&u, "lib", "3.0");
	deps(&u, "top", "0.9", "lib", NULL);
	got = solve_keep(&u, &s, "top", NULL);
	check_str(got, "top 1.0", "unknown metadata: the newest is chosen without deps");
	check(s.nunknown == 1 && s.unknown[0] < s.n && !strcmp(s.v[s.unknown[0]].name, "top") &&
	      !s.v[0].has_meta, "unknown metadata: reported in out->unknown", "nunknown=%zu",
	      s.nunknown);
	pypi_solution_free(&s);
	deps(&u, "top", "1.0", "lib>=2", "helper", NULL);
	pep508_req_parse(&ctx, "top", &q.r[0]);
	q.p[0] = &q.r[0];
	q.n = 1;
	n = pypi_universe_missing(&ctx, &u, q.p, q.n, &miss);
	check(n == 1 && miss.n == 1 && !strcmp(miss.v[0], "helper"),
	      "discovery: the project not looked up yet is named", "n=%d first=%s", n,
	      miss.n ? miss.v[0] : "-");
	pypi_universe_add_project(&u, "Helper");
	n = pypi_universe_missing(&ctx, &u, q.p, q.n, &miss);
	check(n == 0 && miss.n == 0, "discovery: a looked-up project is no longer missing",
	      "n=%d", n);
	reqs_free(&q);
	check_fail(solve(&u, "top==1.0", NULL), "no version of helper satisfies helper (available: none)",
		   "discovery: a project without versions explains itself");
	addw(&u, "helper", "0.1");
	got = solve_keep(&u, &s, "top", NULL);
	check_str(got, "helper 0.1, lib 3.0, top 1.0", "discovery: second round picks the new deps");
	check(s.nunknown == 2 && !strcmp(s.v[s.unknown[0]].name, "helper") &&
	      !strcmp(s.v[s.unknown[1]].name, "lib"),
	      "discovery: the new picks are unknown in turn", "nunknown=%zu", s.nunknown);
	pypi_solution_free(&s);
	deps(&u, "helper", "0.1", NULL);
	deps(&u, "lib", "3.0", NULL);
	got = solve_keep(&u, &s, "top", NULL);
	check_str(got, "helper 0.1, lib 3.0, top 1.0", "discovery: final round");
	check(s.nunknown == 0 && s.v[0].has_meta, "discovery: nothing unknown at the end",
	      "nunknown=%zu", s.nunknown);
	pypi_solution_free(&s);
	strv_free(&miss);
	pypi_universe_free(&u);
}

/* --- torch 2.2.1 ------------------------------------------------------- */

static char *read_fixture(const char *name, size_t *len)
{
	const char *src = getenv("PKGIMG_SRC");
	struct sbuf b = SBUF_INIT;
	char path[4096], buf[8192];
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "%s/tests/fixtures/pypi/%s", src && *src ? src : ".", name);
	f = fopen(path, "rb");
	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_add(&b, buf, n);
	fclose(f);
	*len = b.len;
	return sbuf_detach(&b);
}

struct fake {
	const char *name, *version, *rp;
	const char *deps[4];
};

/* The projects torch 2.2.1 pulls in, with versions and Requires-Dist as on
 * PyPI in March 2024 (markers already evaluated for CPython 3.11 on
 * x86_64 Linux), plus newer and older versions around them. */
static const struct fake torch_world[] = {
	{ "filelock", "3.12.4", ">=3.8", { 0 } },
	{ "filelock", "3.13.1", ">=3.8", { 0 } },
	{ "typing-extensions", "4.7.1", ">=3.7", { 0 } },
	{ "typing_extensions", "4.10.0", ">=3.8", { 0 } },
	{ "sympy", "1.11.1", ">=3.8", { "mpmath>=0.19" } },
	{ "sympy", "1.12", ">=3.8", { "mpmath>=0.19" } },
	{ "mpmath", "1.2.1", NULL, { 0 } },
	{ "mpmath", "1.3.0", NULL, { 0 } },
	{ "mpmath", "1.4.0a1", NULL, { 0 } },
	{ "networkx", "3.1", ">=3.8", { 0 } },
	{ "networkx", "3.2.1", ">=3.9", { 0 } },
	{ "networkx", "3.3rc0", ">=3.10", { 0 } },
	{ "Jinja2", "3.1.3", ">=3.7", { "MarkupSafe>=2.0" } },
	{ "jinja2", "3.1.2", ">=3.7", { "MarkupSafe>=2.0" } },
	{ "MarkupSafe", "2.1.5", ">=3.7", { 0 } },
	{ "fsspec", "2024.2.0", ">=3.8", { 0 } },
	{ "fsspec", "2023.12.2", ">=3.8", { 0 } },
	{ "nvidia-cuda-nvrtc-cu12", "12.1.105", ">=3", { 0 } },
	{ "nvidia-cuda-nvrtc-cu12", "12.4.99", ">=3", { 0 } },
	{ "nvidia-cuda-runtime-cu12", "12.1.105", ">=3", { 0 } },
	{ "nvidia-cuda-runtime-cu12", "12.4.99", ">=3", { 0 } },
	{ "nvidia-cuda-cupti-cu12", "12.1.105", ">=3", { 0 } },
	{ "nvidia-cudnn-cu12", "8.9.2.26", ">=3", { "nvidia-cublas-cu12" } },
	{ "nvidia-cudnn-cu12", "8.9.7.29", ">=3", { "nvidia-cublas-cu12", "nvidia-cuda-nvrtc-cu12" } },
	{ "nvidia-cublas-cu12", "12.1.3.1", ">=3", { 0 } },
	{ "nvidia-cublas-cu12", "12.4.2.65", ">=3", { 0 } },
	{ "nvidia-cufft-cu12", "11.0.2.54", ">=3", { 0 } },
	{ "nvidia-curand-cu12", "10.3.2.106", ">=3", { 0 } },
	{ "nvidia-cusolver-cu12", "11.4.5.107", ">=3",
	  { "nvidia-cublas-cu12", "nvidia-nvjitlink-cu12", "nvidia-cusparse-cu12" } },
	{ "nvidia-cusparse-cu12", "12.1.0.106", ">=3", { "nvidia-nvjitlink-cu12" } },
	{ "nvidia-nccl-cu12", "2.19.3", ">=3", { 0 } },
	{ "nvidia-nccl-cu12", "2.20.5", ">=3", { 0 } },
	{ "nvidia-nvtx-cu12", "12.1.105", ">=3", { 0 } },
	{ "nvidia-nvjitlink-cu12", "12.3.101", ">=3", { 0 } },
	{ "nvidia-nvjitlink-cu12", "12.4.99", ">=3", { 0 } },
	{ "triton", "2.1.0", NULL, { "filelock" } },
	{ "triton", "2.2.0", NULL, { "filelock" } },
	{ "opt-einsum", "3.3.0", ">=3.5", { "numpy>=1.7" } },
	{ "numpy", "1.26.4", ">=3.9", { 0 } },
	{ "numpy", "2.0.0b1", ">=3.9", { 0 } },
};

static const char torch_pip[] =
	"filelock 3.13.1, fsspec 2024.2.0, jinja2 3.1.3, markupsafe 2.1.5, mpmath 1.3.0, "
	"networkx 3.2.1, nvidia-cublas-cu12 12.1.3.1, nvidia-cuda-cupti-cu12 12.1.105, "
	"nvidia-cuda-nvrtc-cu12 12.1.105, nvidia-cuda-runtime-cu12 12.1.105, "
	"nvidia-cudnn-cu12 8.9.2.26, nvidia-cufft-cu12 11.0.2.54, nvidia-curand-cu12 10.3.2.106, "
	"nvidia-cusolver-cu12 11.4.5.107, nvidia-cusparse-cu12 12.1.0.106, "
	"nvidia-nccl-cu12 2.19.3, nvidia-nvjitlink-cu12 12.4.99, nvidia-nvtx-cu12 12.1.105, "
	"sympy 1.12, torch 2.2.1, triton 2.2.0, typing-extensions 4.10.0";

static bool torch_universe(struct pypi_universe *u, const char *python, const char *machine)
{
	struct pep508_env env = { 0 };
	struct pymeta m;
	char *body;
	size_t len;
	int r;

	body = read_fixture("torch-2.2.1.METADATA", &len);
	if (!body) {
		check(false, "torch: fixture torch-2.2.1.METADATA found", "set PKGIMG_SRC");
		return false;
	}
	uinit(u, python);
	r = pymeta_parse(&ctx, "torch-2.2.1.dist-info/METADATA", body, len, &m);
	free(body);
	if (r < 0) {
		check(false, "torch: METADATA parses", "%s", ctx.errmsg);
		return false;
	}
	add(u, "torch", "2.2.1", PYPI_CAND_WHEEL, m.requires_python);
	add(u, "torch", "2.2.0", PYPI_CAND_WHEEL, ">=3.8.0");	/* metadata not fetched */
	add(u, "torch", "2.3.0.dev20240301", PYPI_CAND_WHEEL, ">=3.8.0");
	pep508_env_init(&env);	/* pep508_env_linux frees what env held */
	pep508_env_linux(&env, python, machine, NULL, NULL);
	r = pypi_universe_set_meta(&ctx, u, &m, &env);
	pep508_env_free(&env);
	pymeta_free(&m);
	if (r < 0) {
		check(false, "torch: set_meta", "%s", ctx.errmsg);
		return false;
	}
	for (size_t i = 0; i < sizeof torch_world / sizeof torch_world[0]; i++) {
		const struct fake *f = &torch_world[i];
		struct reqs q;
		size_t n = 0;

		add(u, f->name, f->version, PYPI_CAND_WHEEL, f->rp);
		for (q.n = 0; n < 4 && f->deps[n]; n++) {
			pep508_req_parse(&ctx, f->deps[n], &q.r[q.n]);
			q.p[q.n] = &q.r[q.n];
			q.n++;
		}
		r = pypi_universe_set_deps(&ctx, u, f->name, f->version, q.p, q.n);
		reqs_free(&q);
		if (r < 0) {
			check(false, "torch: set_deps", "%s", ctx.errmsg);
			return false;
		}
	}
	return true;
}

static void t_torch(void)
{
	struct pypi_universe u;
	struct pypi_solution s;
	struct strv miss = { 0 };
	struct reqs q;
	char *got;

	if (!torch_universe(&u, "3.11.8", "x86_64"))
		return;
	got = solve_keep(&u, &s, "torch", NULL);
	check_str(got, torch_pip, "torch 2.2.1 (cp311, x86_64): the set pip installs");
	check(s.nunknown == 0, "torch: every pick has metadata", "nunknown=%zu", s.nunknown);
	pypi_solution_free(&s);
	check_str(solve(&u, "torch==2.2.1", "typing-extensions<4.8", NULL), "ERROR -1033",
		  "torch: typing-extensions<4.8 conflicts with torch's >=4.8.0");
	check(strstr(ctx.errmsg, "torch 2.2.1 requires typing-extensions>=4.8.0, but "
		     "typing-extensions<4.8 was requested") != NULL,
	      "torch: the typing-extensions conflict in words", "%s", ctx.errmsg);
	check_fail(solve(&u, "torch==2.2.1", "triton==2.1.0", NULL),
		   "torch 2.2.1 requires triton==2.2.0, but triton==2.1.0 was requested",
		   "torch: the real triton pin against a request");
	got = solve_keep(&u, &s, "torch<2.2.1", NULL);
	check_str(got, "torch 2.2.0", "torch: an older torch without metadata");
	check(s.nunknown == 1 && !strcmp(s.v[s.unknown[0]].version, "2.2.0"),
	      "torch: 2.2.0's metadata reported unknown", "nunknown=%zu", s.nunknown);
	pypi_solution_free(&s);
	got = solve_keep(&u, &s, "torch[opt-einsum]", NULL);
	check(strstr(got, "networkx 3.2.1, numpy 1.26.4, nvidia-cublas-cu12") &&
	      strstr(got, "nvidia-nvtx-cu12 12.1.105, opt-einsum 3.3.0, sympy 1.12, "
		     "torch[opt-einsum] 2.2.1, triton 2.2.0"),
	      "torch[opt-einsum]: the real extra pulls opt-einsum and numpy (final)", "got %s",
	      got);
	check(s.n == 24, "torch[opt-einsum]: 24 distributions", "n=%zu", s.n);
	free(got);
	pypi_solution_free(&s);
	pypi_universe_free(&u);

	if (!torch_universe(&u, "3.12.2", "x86_64"))
		return;
	check_str(solve(&u, "torch", "mpmath>=1.4.0a0", NULL),
		  "filelock 3.13.1, fsspec 2024.2.0, jinja2 3.1.3, markupsafe 2.1.5, "
		  "mpmath 1.4.0a1, networkx 3.2.1, nvidia-cublas-cu12 12.1.3.1, "
		  "nvidia-cuda-cupti-cu12 12.1.105, nvidia-cuda-nvrtc-cu12 12.1.105, "
		  "nvidia-cuda-runtime-cu12 12.1.105, nvidia-cudnn-cu12 8.9.2.26, "
		  "nvidia-cufft-cu12 11.0.2.54, nvidia-curand-cu12 10.3.2.106, "
		  "nvidia-cusolver-cu12 11.4.5.107, nvidia-cusparse-cu12 12.1.0.106, "
		  "nvidia-nccl-cu12 2.19.3, nvidia-nvjitlink-cu12 12.4.99, "
		  "nvidia-nvtx-cu12 12.1.105, sympy 1.12, torch 2.2.1, typing-extensions 4.10.0",
		  "torch on cp312: no triton (python_version < 3.12), mpmath pre-release asked");
	pep508_req_parse(&ctx, "torch[opt-einsum]", &q.r[0]);
	q.p[0] = &q.r[0];
	q.n = 1;
	check(pypi_universe_missing(&ctx, &u, q.p, q.n, &miss) == 0,
	      "torch: nothing missing from the mini-index", "first=%s", miss.n ? miss.v[0] : "-");
	reqs_free(&q);
	strv_free(&miss);
	pypi_universe_free(&u);

	if (!torch_universe(&u, "3.11.8", "aarch64"))
		return;
	check_str(solve(&u, "torch", NULL),
		  "filelock 3.13.1, fsspec 2024.2.0, jinja2 3.1.3, markupsafe 2.1.5, mpmath 1.3.0, "
		  "networkx 3.2.1, sympy 1.12, torch 2.2.1, typing-extensions 4.10.0",
		  "torch on aarch64: no CUDA wheels, no triton");
	pypi_universe_free(&u);
}

int main(void)
{
	t_rank_evr();
	t_newest();
	t_transitive();
	t_extras();
	t_prereleases();
	t_requires_python_in_metadata();
	t_yanked();
	t_requires_python();
	t_conflicts();
	t_unknown();
	t_torch();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
