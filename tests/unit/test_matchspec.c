/* solver/matchspec.c: conda versions (VersionOrder), version specs
 * (VersionSpec) and MatchSpecs, against the vectors of conda's own test suite
 * (tests/models/test_version.py, tests/models/test_match_spec.py), the
 * docstrings of conda/models/version.py and match_spec.py, and rattler's
 * match_spec/parse.rs tests where they agree with conda; then every depends
 * and constrains string and every record of the real conda channel data in
 * $PKGIMG_SRC/tests/fixtures/conda (copies of ../shared/data; skipped when absent).  Prints
 * "ok - NAME" / "not ok - NAME" (+ "# detail") / "skip - NAME: WHY"; exits
 * non-zero on a failure. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "solver/matchspec.h"

#include "tests/unit/check.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static bool str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static int sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

/* --- VersionOrder: components ------------------------------------------- */

/* conda's test_version_order: each version and its parsed components, in
 * ascending order (equal neighbours allowed). */
static const struct {
	const char *v, *repr;
} order_vectors[] = {
	{ "0.4", "[[0], [0], [4]]" },
	{ "0.4.0", "[[0], [0], [4], [0]]" },
	{ "0.4.1a.vc11", "[[0], [0], [4], [1, 'a'], [0, 'vc', 11]]" },
	{ "0.4.1.rc", "[[0], [0], [4], [1], [0, 'rc']]" },
	{ "0.4.1.vc11", "[[0], [0], [4], [1], [0, 'vc', 11]]" },
	{ "0.4.1", "[[0], [0], [4], [1]]" },
	{ "0.5*", "[[0], [0], [5, '*']]" },
	{ "0.5a1", "[[0], [0], [5, 'a', 1]]" },
	{ "0.5b3", "[[0], [0], [5, 'b', 3]]" },
	{ "0.5C1", "[[0], [0], [5, 'c', 1]]" },
	{ "0.5z", "[[0], [0], [5, 'z']]" },
	{ "0.5za", "[[0], [0], [5, 'za']]" },
	{ "0.5", "[[0], [0], [5]]" },
	{ "0.5_5", "[[0], [0], [5], [5]]" },
	{ "0.5-5", "[[0], [0], [5], [5]]" },
	{ "0.9.6", "[[0], [0], [9], [6]]" },
	{ "0.960923", "[[0], [0], [960923]]" },
	{ "1.0", "[[0], [1], [0]]" },
	{ "1.0.4a3", "[[0], [1], [0], [4, 'a', 3]]" },
	{ "1.0.4b1", "[[0], [1], [0], [4, 'b', 1]]" },
	{ "1.0.4", "[[0], [1], [0], [4]]" },
	{ "1.1dev1", "[[0], [1], [1, 'DEV', 1]]" },
	{ "1.1_", "[[0], [1], [1, '_']]" },
	{ "1.1a1", "[[0], [1], [1, 'a', 1]]" },
	{ "1.1.dev1", "[[0], [1], [1], [0, 'DEV', 1]]" },
	{ "1.1.a1", "[[0], [1], [1], [0, 'a', 1]]" },
	{ "1.1", "[[0], [1], [1]]" },
	{ "1.1.post1", "[[0], [1], [1], [0, inf, 1]]" },
	{ "1.1.1dev1", "[[0], [1], [1], [1, 'DEV', 1]]" },
	{ "1.1.1rc1", "[[0], [1], [1], [1, 'rc', 1]]" },
	{ "1.1.1", "[[0], [1], [1], [1]]" },
	{ "1.1.1post1", "[[0], [1], [1], [1, inf, 1]]" },
	{ "1.1post1", "[[0], [1], [1, inf, 1]]" },
	{ "2g6", "[[0], [2, 'g', 6]]" },
	{ "2.0b1pr0", "[[0], [2], [0, 'b', 1, 'pr', 0]]" },
	{ "2.2be.ta29", "[[0], [2], [2, 'be'], [0, 'ta', 29]]" },
	{ "2.2be5ta29", "[[0], [2], [2, 'be', 5, 'ta', 29]]" },
	{ "2.2beta29", "[[0], [2], [2, 'beta', 29]]" },
	{ "2.2.0.1", "[[0], [2], [2], [0], [1]]" },
	{ "3.1.1.6", "[[0], [3], [1], [1], [6]]" },
	{ "3.2.p.r0", "[[0], [3], [2], [0, 'p'], [0, 'r', 0]]" },
	{ "3.2.pr0", "[[0], [3], [2], [0, 'pr', 0]]" },
	{ "3.2.pr.1", "[[0], [3], [2], [0, 'pr'], [1]]" },
	{ "5.5.kw", "[[0], [5], [5], [0, 'kw']]" },
	{ "11g", "[[0], [11, 'g']]" },
	{ "14.3.1", "[[0], [14], [3], [1]]" },
	{ "14.3.1.post26.g9d75ca2",
	  "[[0], [14], [3], [1], [0, inf, 26], [0, 'g', 9, 'd', 75, 'ca', 2]]" },
	{ "1996.07.12", "[[0], [1996], [7], [12]]" },
	{ "1!0.4.1", "[[1], [0], [4], [1]]" },
	{ "1!3.1.1.6", "[[1], [3], [1], [1], [6]]" },
	{ "2!0.4.1", "[[2], [0], [4], [1]]" },
};

static void t_version_components(void)
{
	struct pkgimg_ctx ctx;
	struct condaver v;
	char name[200], want_norm[64], *repr;
	size_t i, j;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(order_vectors); i++) {
		snprintf(name, sizeof name, "version '%s' parses as %s", order_vectors[i].v,
			 order_vectors[i].repr);
		if (condaver_parse(&ctx, order_vectors[i].v, &v) < 0) {
			check(false, name, "%s", ctx.errmsg);
			continue;
		}
		/* str(VersionOrder) is the lower-case text with '-' as '_' */
		for (j = 0; order_vectors[i].v[j] && j + 1 < sizeof want_norm; j++)
			want_norm[j] = order_vectors[i].v[j] == '-' ? '_'
				       : ascii_lower(order_vectors[i].v[j]);
		want_norm[j] = '\0';
		repr = condaver_repr(&v);
		check(!strcmp(repr, order_vectors[i].repr) && !strcmp(v.norm, want_norm), name,
		      "got %s, norm '%s'", repr, v.norm);
		free(repr);
		condaver_free(&v);
	}
	if (condaver_parse(&ctx, "1!2.15.1_ALPHA+Local_3.b", &v) == 0) {
		repr = condaver_repr(&v);
		/* the docstring shows [1, '_alpha'], but the code splits at '_' */
		check(!strcmp(repr, "[[1], [2], [15], [1], [0, 'alpha']] + [[0, 'local'], [3], [0, 'b']]"),
		      "version: docstring example 1!2.15.1_ALPHA, with a local part", "got %s", repr);
		free(repr);
		condaver_free(&v);
	} else {
		check(false, "version: docstring example 1!2.15.1_ALPHA, with a local part", "%s",
		      ctx.errmsg);
	}
	if (condaver_parse(&ctx, "1.2g.beta15.rc", &v) == 0) {
		repr = condaver_repr(&v);
		check(!strcmp(repr, "[[0], [1], [2, 'g'], [0, 'beta', 15], [0, 'rc']]"),
		      "version: docstring example 1.2g.beta15.rc", "got %s", repr);
		free(repr);
		condaver_free(&v);
	}
}

/* --- VersionOrder: order ------------------------------------------------- */

static void check_chain(const char *what, const char *const *chain, size_t n, bool strict)
{
	char name[200];
	size_t i;
	int c;

	for (i = 0; i + 1 < n; i++) {
		c = condaver_cmp(chain[i], chain[i + 1]);
		snprintf(name, sizeof name, "%s: %s %s %s", what, chain[i], strict ? "<" : "<=",
			 chain[i + 1]);
		check(strict ? c < 0 : c <= 0, name, "cmp = %d", c);
	}
}

/* conda's test_openssl_convention: strictly ascending. */
static const char *const openssl_chain[] = {
	"1.0.1dev", "1.0.1_", "1.0.1a", "1.0.1b", "1.0.1c", "1.0.1d", "1.0.1r", "1.0.1rc",
	"1.0.1rc1", "1.0.1rc2", "1.0.1s", "1.0.1", "1.0.1post.a", "1.0.1post.b", "1.0.1post.z",
	"1.0.1post.za", "1.0.2",
};

/* conda's test_pep440 (packaging's list, slightly modified): ascending. */
static const char *const pep440_chain[] = {
	"1.0a1", "1.0a2.dev456", "1.0a12.dev456", "1.0a12", "1.0b1.dev456", "1.0b2",
	"1.0b2.post345.dev456", "1.0b2.post345", "1.0c1.dev456", "1.0c1", "1.0c3", "1.0rc2",
	"1.0.dev456", "1.0", "1.0.post456.dev34", "1.0.post456", "1.1.dev1", "1.2.r32+123456",
	"1.2.rev33+123456", "1.2+abc", "1.2+abc123def", "1.2+abc123", "1.2+123abc",
	"1.2+123abc456", "1.2+1234.abc", "1.2+123456", "1!1.0a1", "1!1.0a2.dev456",
	"1!1.0a12.dev456", "1!1.0a12", "1!1.0b1.dev456", "1!1.0b2", "1!1.0b2.post345.dev456",
	"1!1.0b2.post345", "1!1.0c1.dev456", "1!1.0c1", "1!1.0c3", "1!1.0rc2", "1!1.0.dev456",
	"1!1.0", "1!1.0.post456.dev34", "1!1.0.post456", "1!1.1.dev1", "1!1.2.r32+123456",
	"1!1.2.rev33+123456", "1!1.2+abc", "1!1.2+abc123def", "1!1.2+abc123", "1!1.2+123abc",
	"1!1.2+123abc456", "1!1.2+1234.abc", "1!1.2+123456",
};

/* The order in VersionOrder's docstring, with its relations ('<' or '='). */
static const struct {
	const char *a;
	char rel;
	const char *b;
} doc_order[] = {
	{ "0.4", '=', "0.4.0" },	/* the docstring says '<'; fillvalue 0 makes them equal */
	{ "0.4.0", '<', "0.4.1.rc" },
	{ "0.4.1.rc", '=', "0.4.1.RC" },
	{ "0.4.1.RC", '<', "0.4.1" },
	{ "0.4.1", '<', "0.5a1" },
	{ "0.5a1", '<', "0.5b3" },
	{ "0.5b3", '<', "0.5C1" },
	{ "0.5C1", '<', "0.5" },
	{ "0.5", '<', "0.9.6" },
	{ "0.9.6", '<', "0.960923" },
	{ "0.960923", '<', "1.0" },
	{ "1.0", '<', "1.1dev1" },
	{ "1.1dev1", '<', "1.1_" },
	{ "1.1_", '<', "1.1a1" },
	{ "1.1a1", '<', "1.1.0dev1" },
	{ "1.1.0dev1", '=', "1.1.dev1" },
	{ "1.1.dev1", '<', "1.1.a1" },
	{ "1.1.a1", '<', "1.1.0rc1" },
	{ "1.1.0rc1", '<', "1.1.0" },
	{ "1.1.0", '=', "1.1" },
	{ "1.1", '<', "1.1.0post1" },
	{ "1.1.0post1", '=', "1.1.post1" },
	{ "1.1.post1", '<', "1.1post1" },
	{ "1.1post1", '<', "1996.07.12" },
	{ "1996.07.12", '<', "1!0.4.1" },
	{ "1!0.4.1", '<', "1!3.1.1.6" },
	{ "1!3.1.1.6", '<', "2!0.4.1" },
	/* test_version_order's explicit equalities */
	{ "  0.4.rc  ", '=', "0.4.RC" },
	{ "0.4.1.rc", '=', "  0.4.1.RC  " },
	{ "0.4.a1", '=', "0.4.0a1" },
	{ "0.4", '<', "0.4.1" },
	{ "0.4.a1", '<', "0.4.1a1" },
	/* test_hexrd */
	{ "0.3.0.dev", '<', "0.3.3" },
	/* numbers of any size, leading zeros */
	{ "1.01", '=', "1.1" },
	{ "1.99999999999999999999999", '<', "1.100000000000000000000000" },
	{ "20240101123000000000001", '>', "20240101123000000000000" },
	{ "1.0.0.0", '=', "1" },
	{ "1.0+0", '=', "1+0.0" },
	{ "1.0", '=', "1.0+0" },	/* an absent local part is zeros too */
	{ "1.0", '<', "1.0+1" },
	{ "1.0", '>', "1.0+local" },	/* text is below the implicit 0 */
	/* dev < '_' < letters < numbers < post */
	{ "1.0dev", '<', "1.0_" },
	{ "1.0*", '<', "1.0dev" },
	{ "1.0_", '<', "1.0a" },
	{ "1.0z", '<', "1.0" },
	{ "1.0", '<', "1.0post" },
	{ "1.0post", '=', "1.0POST" },
	{ "1.0post1", '<', "1.0post2" },
	{ "1.0post", '<', "1.1" },
	{ "1.0devel", '>', "1.0dev" },
	{ "1.0-1", '=', "1.0_1" },
	{ "1.0-1", '=', "1.0.1" },
	{ "0!1.0", '=', "1.0" },
	{ "1!0.1", '>', "999" },
};

static void t_version_order(void)
{
	char name[200];
	size_t i;
	int c, want;
	const char *chain[N(order_vectors)];

	for (i = 0; i < N(order_vectors); i++)
		chain[i] = order_vectors[i].v;
	check_chain("test_version_order list", chain, N(order_vectors), false);
	check_chain("openssl convention", openssl_chain, N(openssl_chain), true);
	check_chain("pep440 list", pep440_chain, N(pep440_chain), false);
	for (i = 0; i < N(doc_order); i++) {
		want = doc_order[i].rel == '<' ? -1 : doc_order[i].rel == '>' ? 1 : 0;
		c = sign(condaver_cmp(doc_order[i].a, doc_order[i].b));
		snprintf(name, sizeof name, "order: '%s' %c '%s'", doc_order[i].a, doc_order[i].rel,
			 doc_order[i].b);
		check(c == want, name, "cmp = %d", c);
		c = sign(condaver_cmp(doc_order[i].b, doc_order[i].a));
		snprintf(name, sizeof name, "order: '%s' %c '%s' (reversed)", doc_order[i].b,
			 want < 0 ? '>' : want > 0 ? '<' : '=', doc_order[i].a);
		check(c == -want, name, "cmp = %d", c);
	}
	c = condaver_cmp("1.0", "not valid!!");
	check(c > 0, "condaver_cmp: an invalid version sorts below a valid one", "cmp = %d", c);
	c = condaver_cmp("a&b", "a&c");
	check(c < 0, "condaver_cmp: two invalid versions compare as strings", "cmp = %d", c);
}

/* --- VersionOrder: invalid versions ------------------------------------- */

static const struct {
	const char *v;
	size_t col;
	const char *why;
} bad_versions[] = {
	{ "", 1, "empty version string" },
	{ "  ", 3, "empty version string" },
	{ "3.5&1", 4, "invalid character '&'" },
	{ "5.5++", 5, "duplicated local version separator '+'" },
	{ "5.5..mw", 5, "empty version component" },
	{ "!", 1, "epoch of version '!' must be an integer" },
	{ "a!1.0", 1, "must be an integer" },
	{ "a!b!1.0", 4, "duplicated epoch separator '!'" },
	{ "1.0+", 5, "empty version component" },
	{ "+1", 1, "no version before the local version separator '+'" },
	{ "1!", 3, "no version after the epoch" },
	{ "1.0+a+b", 6, "duplicated local version separator" },
	{ ".1", 1, "empty version component" },
	{ "1.", 3, "empty version component" },
	{ "1-2_3", 2, "invalid character '-'" },
	{ " 1.0 2.0 ", 5, "invalid character ' '" },
	{ "1.0\xc3\xa9", 4, "invalid character" },
	{ "1.0+a..b", 7, "empty version component" },
};

static void t_version_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct condaver v;
	char name[200], col[32];
	size_t i;
	int r;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(bad_versions); i++) {
		memset(&v, 0, sizeof v);
		ctx.errmsg[0] = '\0';
		r = condaver_parse(&ctx, bad_versions[i].v, &v);
		snprintf(col, sizeof col, "column %zu:", bad_versions[i].col);
		snprintf(name, sizeof name, "invalid version '%s': %s at column %zu", bad_versions[i].v,
			 bad_versions[i].why, bad_versions[i].col);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, bad_versions[i].why) &&
		      strstr(ctx.errmsg, col) && strstr(ctx.errmsg, "conda version '") && !v.norm,
		      name, "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			condaver_free(&v);
	}
}

/* --- VersionOrder.startswith --------------------------------------------- */

static const struct {
	const char *v, *prefix;
	bool want;
} startswith_vectors[] = {
	/* test_version_order */
	{ "0.4.1", "0", true },
	{ "0.4.1", "0.4", true },
	{ "0.4.1p1", "0.4", true },
	{ "0.4.1p1", "0.4.1p", true },
	{ "0.4.1p1", "0.4.1q1", false },
	{ "0.4", "0.4.1", false },
	{ "0.4.1+1.3", "0.4.1", true },
	{ "0.4.1+1.3", "0.4.1+1", true },
	{ "0.4.1", "0.4.1+1.3", false },
	{ "0.4.1+1", "0.4.1+1.3", false },
	/* components, not characters */
	{ "1.260", "1.26", false },
	{ "1.26", "1.26", true },
	{ "1.26.0", "1.26", true },
	{ "1.26", "1.26.0", true },
	{ "1.26", "1.26.1", false },
	{ "2013ab", "2013a", true },
	{ "2013b", "2013a", false },
	{ "1.1dev1", "1.1d", false },	/* "dev" is "DEV" */
	{ "1!1.2", "1.2", false },
	{ "1!1.2", "1!1", true },
};

static void t_startswith(void)
{
	struct pkgimg_ctx ctx;
	struct condaver a, b;
	char name[200];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(startswith_vectors); i++) {
		snprintf(name, sizeof name, "startswith: '%s' %s '%s'", startswith_vectors[i].v,
			 startswith_vectors[i].want ? "starts with" : "does not start with",
			 startswith_vectors[i].prefix);
		if (condaver_parse(&ctx, startswith_vectors[i].v, &a) < 0) {
			check(false, name, "%s", ctx.errmsg);
			continue;
		}
		if (condaver_parse(&ctx, startswith_vectors[i].prefix, &b) < 0) {
			check(false, name, "%s", ctx.errmsg);
			condaver_free(&a);
			continue;
		}
		got = condaver_startswith(&a, &b);
		check(got == startswith_vectors[i].want, name, "got %d", got);
		condaver_free(&a);
		condaver_free(&b);
	}
}

/* --- VersionSpec: matching ----------------------------------------------- */

static const struct {
	const char *version, *spec;
	bool want;
} spec_vectors[] = {
	/* test_ver_eval */
	{ "1.7.0", "==1.7", true },
	{ "1.7.0", "<=1.7", true },
	{ "1.7.0", "<1.7", false },
	{ "1.7.0", ">=1.7", true },
	{ "1.7.0", ">1.7", false },
	{ "1.6.7", ">=1.7", false },
	{ "2013a", ">2013b", false },
	{ "2013k", ">2013b", true },
	{ "3.0.0", ">2013b", false },
	{ "1.0.0", ">1.0.0a", true },
	{ "1.0.0", ">1.0.0*", true },
	{ "1.0", "1.0*", true },
	{ "1.0.0", "1.0*", true },
	{ "1.0", "1.0.0*", true },
	{ "1.0.1", "1.0.0*", false },
	{ "2013a", "2013a*", true },
	{ "2013a", "2013b*", false },
	{ "2013ab", "2013a*", true },
	{ "1.3.4", "1.2.4*", false },
	{ "1.2.3+4.5.6", "1.2.3*", true },
	{ "1.2.3+4.5.6", "1.2.3+4*", true },
	{ "1.2.3+4.5.6", "1.2.3+5*", false },
	{ "1.2.3+4.5.6", "1.2.4+5*", false },
	/* test_match, all against 1.7.1 */
	{ "1.7.1", "1.7.*", true },
	{ "1.7.1", "1.7.1", true },
	{ "1.7.1", "1.7.0", false },
	{ "1.7.1", "1.7", false },
	{ "1.7.1", "1.5.*", false },
	{ "1.7.1", ">=1.5", true },
	{ "1.7.1", "!=1.5", true },
	{ "1.7.1", "!=1.7.1", false },
	{ "1.7.1", "==1.7.1", true },
	{ "1.7.1", "==1.7", false },
	{ "1.7.1", "==1.7.2", false },
	{ "1.7.1", "==1.7.1.0", true },
	{ "1.7.1", "1.7.*|1.8.*", true },
	{ "1.7.1", ">1.7,<1.8", true },
	{ "1.7.1", ">1.7.1,<1.8", false },
	{ "1.7.1", "^1.7.1$", true },
	{ "1.7.1", "^1\\.7\\.1$", true },
	{ "1.7.1", "^1\\.7\\.[0-9]+$", true },
	{ "1.7.1", "^1\\.8.*$", false },
	{ "1.7.1", "^1\\.[5-8]\\.1$", true },
	{ "1.7.1", "^[^1].*$", false },
	{ "1.7.1", "^[0-9+]+\\.[0-9+]+\\.[0-9]+$", true },
	{ "1.7.1", "^$", false },
	{ "1.7.1", "^.*$", true },
	{ "1.7.1", "1.7.*|^0.*$", true },
	{ "1.7.1", "1.6.*|^0.*$", false },
	{ "1.7.1", "1.6.*|^0.*$|1.7.1", true },
	{ "1.7.1", "^0.*$|1.7.1", true },
	{ "1.7.1", "1.6.*|^.*\\.7\\.1$|0.7.1", true },
	{ "1.7.1", "*", true },
	{ "1.7.1", "1.*.1", true },
	{ "1.7.1", "1.5.*|>1.7,<1.8", true },
	{ "1.7.1", "1.5.*|>1.7,<1.7.1", false },
	/* test_not_eq_star */
	{ "3.3.1", "=3.3", true },
	{ "3.3", "=3.3", true },
	{ "3.4", "=3.3", false },
	{ "3.3.1", "3.3.*", true },
	{ "3.3", "3.3.*", true },
	{ "3.4", "3.3.*", false },
	{ "3.3.1", "=3.3.*", true },
	{ "3.3", "=3.3.*", true },
	{ "3.4", "=3.3.*", false },
	{ "3.3.1", "!=3.3.*", false },
	{ "3.4", "!=3.3.*", true },
	{ "3.4.1", "!=3.3.*", true },
	{ "3.3.1", "!=3.3", true },
	{ "3.3.0.0", "!=3.3", false },
	{ "3.3.0.0", "!=3.3.*", false },
	/* test_compound_versions */
	{ "2.6.8", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false },
	{ "2.7.2", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true },
	{ "3.3", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false },
	{ "3.3.4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", false },
	{ "3.4", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true },
	{ "3.4a", ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*", true },
	/* test_compatible_release_versions */
	{ "1.11.0", "~=1.10", true },
	{ "1.11.0", "~=1.10.0", false },
	{ "3.4.0", "~=3.3.2", false },
	{ "3.3.1", "~=3.3.2", false },
	{ "3.3.2.0", "~=3.3.2", true },
	{ "3.3.3", "~=3.3.2", true },
	{ "2.2.0", "~=3.3.2|==2.2", true },
	{ "3.3.3", "~=3.3.2|==2.2", true },
	{ "2.2.1", "~=3.3.2|==2.2", false },
	/* test_local_identifier: a version matches itself */
	{ "1.7.0", "1.7.0", true },
	{ "1.7.0.post123", "1.7.0.post123", true },
	{ "1.7.0.post123.gabcdef9", "1.7.0.post123.gabcdef9", true },
	{ "1.7.0.post123+gabcdef9", "1.7.0.post123+gabcdef9", true },
	/* the task's vectors */
	{ "1.26.4", "1.26.*", true },
	{ "1.27.0", "1.26.*", false },
	{ "1.26", "1.26.*", true },
	{ "1.260", "1.26.*", false },
	{ "1.26.4", "=1.26", true },
	{ "1.27", "=1.26", false },
	{ "1.26.4", "==1.26", false },
	{ "1.26.0", "==1.26", true },
	{ "1.8.5", ">=1.8,<2|1.9", true },
	{ "1.9", ">=1.8,<2|1.9", true },
	{ "2.0", ">=1.8,<2|1.9", false },
	{ "1.7", ">=1.8,<2|1.9", false },
	{ "1.9", "1.9|>=1.8,<2", true },
	{ "2.5", "1.9|>=1.8,<2", false },
	{ "1.7", "(1.7|1.9),<2", true },
	{ "1.8", "(1.7|1.9),<2", false },
	{ "1.2.5", "!=1.2.*", false },
	{ "1.2", "!=1.2.*", false },
	{ "1.3", "!=1.2.*", true },
	{ "1.20", "!=1.2.*", true },
	{ "1.2.3", "~=1.2.3", true },
	{ "1.2.9", "~=1.2.3", true },
	{ "1.3.0", "~=1.2.3", false },
	{ "1.2.2", "~=1.2.3", false },
	{ "2.0", "~=1.2", false },
	{ "1.9", "~=1.2", true },
	/* globs in the middle are string globs, as conda's regex (1.*.* wants two dots) */
	{ "1.2.3", "1.*.*", true },
	{ "1.2", "1.*.*", false },
	{ "1.2.3.4", "1.*.*", true },
	{ "2.1.3", "1.*.*", false },
	{ "2.7.18", "2.7.*.*", false },
	{ "2.7.1.8", "2.7.*.*", true },
	{ "1.5", "*.5", true },
	{ "1.5", "*.*", true },
	{ "15", "*.*", false },
	/* relational operators ignore a trailing ".*" */
	{ "1.7.5", "==1.7.*", false },
	{ "1.7", "==1.7.*", true },
	{ "1.6", "<1.7.*", true },
	{ "1.7.1", ">=1.7.*", true },
	{ "1.6.9", ">=1.7.*", false },
	/* epoch, local, dev, post, case */
	{ "1!1.0", ">=2.0", true },
	{ "1!1.0", "<2.0", false },
	{ "1.0+local", "==1.0", false },
	{ "1.0+local", "<1.0", true },
	{ "1.0+1", ">1.0", true },
	{ "2.0.dev1", "<2.0", true },
	{ "2.0.post1", ">2.0", true },
	{ "1.0RC1", "==1.0rc1", true },
	{ "1.0rc1", "<1.0", true },
	{ "1.0rc1", "=1.0", true },
	{ "1.0", ">=1.0rc1", true },
	/* '@' makes an exact string; an invalid record version fails operators */
	{ "1.0@abc", "1.0@abc", true },
	{ "1.0@abd", "1.0@abc", false },
	{ "not&valid", ">=1.0", false },
	{ "not&valid", "*", true },
	{ "not&valid", "no*valid", true },
	{ "not&valid", "not*", false },	/* a prefix match parses the version */
	/* whitespace around tokens */
	{ "1.5", " 1.4 | 1.5 ", true },
	{ "1.5", "( >=1.0 , <2 )", true },
};

static void t_vspec_match(void)
{
	struct pkgimg_ctx ctx;
	struct condaver_spec *sp;
	char name[256];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(spec_vectors); i++) {
		snprintf(name, sizeof name, "version spec '%s' %s '%s'", spec_vectors[i].spec,
			 spec_vectors[i].want ? "matches" : "does not match", spec_vectors[i].version);
		if (condaver_spec_parse(&ctx, spec_vectors[i].spec, &sp) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		got = condaver_spec_matches(sp, spec_vectors[i].version);
		check(got == spec_vectors[i].want, name, "got %d", got);
		condaver_spec_free(sp);
	}
}

/* --- VersionSpec: strings ------------------------------------------------- */

static const struct {
	const char *spec, *str;
	bool exact;
} vstr_vectors[] = {
	/* test_match: str(VersionSpec(s)) == s */
	{ "1.7.*", "1.7.*", false },
	{ "1.7.1", "1.7.1", true },
	{ ">=1.5", ">=1.5", false },
	{ "==1.7.1", "==1.7.1", true },
	{ "!=1.5", "!=1.5", false },
	{ "1.7.*|1.8.*", "1.7.*|1.8.*", false },
	{ ">1.7,<1.8", ">1.7,<1.8", false },
	{ "^1\\.7\\.1$", "^1\\.7\\.1$", false },
	{ "1.6.*|^0.*$|1.7.1", "1.6.*|^0.*$|1.7.1", false },
	{ "*", "*", false },
	{ "1.*.1", "1.*.1", false },
	{ "1.5.*|>1.7,<1.8", "1.5.*|>1.7,<1.8", false },
	/* test_version_spec_3/4: "1.7.1*" is "1.7.1.*" */
	{ "1.7.1*", "1.7.1.*", false },
	{ "1.7.1.*", "1.7.1.*", false },
	{ "1.7.1*,1.8.1*", "1.7.1.*,1.8.1.*", false },
	{ "1.7.1*,1.8.1.*", "1.7.1.*,1.8.1.*", false },
	/* test_version_spec_2: conda prints "1.5|1.6|1.7,1.8,1.9|2.0|2.1", which
	 * reads back as another spec; the group keeps its parentheses here */
	{ "( (1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", "1.5|(1.6|1.7),1.8,1.9|2.0|2.1", false },
	{ "((1.5|1.6)|1.7)", "1.5|1.6|1.7", false },
	{ "(1.2.3,4.5.6)|<=7.8.9", "1.2.3,4.5.6|<=7.8.9", false },
	{ "(1.2.3|4.5.6),<=7.8.9", "(1.2.3|4.5.6),<=7.8.9", false },
	{ " >=1.0 , <2 ", ">=1.0,<2", false },
	{ "=1.2", "=1.2", false },
	{ "==1.7.*", "==1.7.*", true },	/* is_exact() looks at the operator only */
	{ "1.0@abc", "1.0@abc", true },
	{ "~=1.2.3", "~=1.2.3", false },
};

static void t_vspec_str(void)
{
	struct pkgimg_ctx ctx;
	struct condaver_spec *sp, *again;
	char name[256];
	size_t i;
	bool same;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(vstr_vectors); i++) {
		snprintf(name, sizeof name, "str(VersionSpec('%s')) is '%s'%s", vstr_vectors[i].spec,
			 vstr_vectors[i].str, vstr_vectors[i].exact ? ", exact" : "");
		if (condaver_spec_parse(&ctx, vstr_vectors[i].spec, &sp) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		check(!strcmp(condaver_spec_str(sp), vstr_vectors[i].str) &&
		      condaver_spec_is_exact(sp) == vstr_vectors[i].exact, name, "got '%s' exact=%d",
		      condaver_spec_str(sp), condaver_spec_is_exact(sp));
		condaver_spec_free(sp);
	}

	/* the printed group means what the spec meant */
	if (condaver_spec_parse(&ctx, "( (1.5|((1.6|1.7), 1.8), 1.9 |2.0))|2.1", &sp) == 0 &&
	    condaver_spec_parse(&ctx, condaver_spec_str(sp), &again) == 0) {
		const char *const vs[] = { "1.5", "1.6", "1.7", "1.8", "1.9", "2.0", "2.1", "2.2" };

		same = true;
		for (i = 0; i < N(vs); i++)
			same &= condaver_spec_matches(sp, vs[i]) == condaver_spec_matches(again, vs[i]);
		check(same && !condaver_spec_matches(sp, "1.6") && condaver_spec_matches(sp, "2.0"),
		      "version spec: a printed group reads back with the same meaning", "%s",
		      condaver_spec_str(sp));
		condaver_spec_free(sp);
		condaver_spec_free(again);
	} else {
		check(false, "version spec: a printed group reads back with the same meaning", "%s",
		      ctx.errmsg);
	}
}

/* --- VersionSpec: errors -------------------------------------------------- */

static const struct {
	const char *spec;
	size_t col;
	const char *why;
} bad_vspecs[] = {
	/* test_version_spec_2, test_invalid_version_specs, test_ver_eval_errors */
	{ "(1.5", 1, "'(' is never closed" },
	{ "1.5)", 4, "')' without '('" },
	{ "1.5||1.6", 5, "missing a constraint before '|'" },
	{ "^1.5", 1, "must start with '^' and end with '$'" },
	{ "1.5$", 1, "must start with '^' and end with '$'" },
	{ "~", 1, "invalid operator '~'" },
	{ "^", 1, "must start with '^' and end with '$'" },
	{ "~=3.3.2.*", 1, "'~=' cannot be combined with '.*'" },
	{ "===3.3.2", 1, "invalid operator '==='" },
	{ "><2.4.5", 1, "invalid operator '><'" },
	{ "!!2.4.5", 1, "invalid operator '!!'" },
	{ "!", 1, "invalid operator '!'" },
	/* more */
	{ "", 1, "empty version spec" },
	{ "   ", 1, "empty version spec" },
	{ ">=", 1, "operator '>=' without a version" },
	{ ">= 1.2", 3, "unexpected space" },
	{ "~=1", 1, "'~=' needs a version of at least two components" },
	{ "1.0 2.0", 4, "invalid character ' '" },
	{ "(1.5)(1.6)", 6, "missing ',' or '|' before '('" },
	{ "(1.5) 1.6", 7, "missing ',' or '|' before '1.6'" },
	{ "()", 2, "empty parentheses" },
	{ "1.5,", 4, "missing a constraint after ','" },
	{ "|1.5", 1, "missing a constraint before '|'" },
	{ "(1.5|)", 6, "missing a constraint before ')'" },
	{ ">=1.0,<2,1.0&", 13, "invalid character '&'" },
	{ ">=x!1", 3, "epoch of version 'x!1' must be an integer" },
	{ "^(1.0$", 1, "invalid regular expression" },
	{ "1.0,(2.0|(3.0)", 5, "'(' is never closed" },
	{ "=.*", 2, "empty version string" },
};

static void t_vspec_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct condaver_spec *sp = NULL;
	char name[256], col[32];
	size_t i;
	int r;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(bad_vspecs); i++) {
		sp = NULL;
		ctx.errmsg[0] = '\0';
		r = condaver_spec_parse(&ctx, bad_vspecs[i].spec, &sp);
		snprintf(col, sizeof col, "column %zu:", bad_vspecs[i].col);
		snprintf(name, sizeof name, "invalid version spec '%s': %s at column %zu",
			 bad_vspecs[i].spec, bad_vspecs[i].why, bad_vspecs[i].col);
		check(r == -PKGIMG_E_PARSE && !sp && strstr(ctx.errmsg, bad_vspecs[i].why) &&
		      strstr(ctx.errmsg, col) && strstr(ctx.errmsg, "conda version spec '"), name,
		      "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			condaver_spec_free(sp);
	}
}

/* --- MatchSpec: canonical strings ----------------------------------------- */

static const struct {
	const char *spec, *str;
} canon_vectors[] = {
	/* test_canonical_string_forms */
	{ "numpy", "numpy" },
	{ "numpy=1.7", "numpy=1.7" },
	{ "numpy 1.7*", "numpy=1.7" },
	{ "numpy 1.7.*", "numpy=1.7" },
	{ "numpy[version='1.7*']", "numpy=1.7" },
	{ "numpy[version='1.7.*']", "numpy=1.7" },
	{ "numpy[version=1.7.*]", "numpy=1.7" },
	{ "numpy==1.7", "numpy==1.7" },
	{ "numpy[version='1.7']", "numpy==1.7" },
	{ "numpy[version=1.7]", "numpy==1.7" },
	{ "numpy 1.7", "numpy==1.7" },
	{ "numpy[version='1.7|1.8']", "numpy[version='1.7|1.8']" },
	{ "numpy[version=\"1.7,1.8\"]", "numpy[version='1.7,1.8']" },
	{ "numpy >1.7", "numpy[version='>1.7']" },
	{ "numpy>=1.7", "numpy[version='>=1.7']" },
	{ "numpy=1.7=py3*_2", "numpy==1.7[build=py3*_2]" },
	{ "numpy=1.7.*=py3*_2", "numpy=1.7[build=py3*_2]" },
	{ "https://repo.anaconda.com/pkgs/free::numpy", "pkgs/free::numpy" },
	{ "numpy[channel=https://repo.anaconda.com/pkgs/free]", "pkgs/free::numpy" },
	{ "defaults::numpy", "defaults::numpy" },
	{ "numpy[channel=defaults]", "defaults::numpy" },
	{ "conda-forge::numpy", "conda-forge::numpy" },
	{ "numpy[channel=conda-forge]", "conda-forge::numpy" },
	{ "numpy[channel=defaults,subdir=osx-64]", "defaults/osx-64::numpy" },
	{ "numpy[channel=https://repo.anaconda.com/pkgs/free/osx-64, subdir=linux-64]",
	  "pkgs/free/linux-64::numpy" },
	{ "https://repo.anaconda.com/pkgs/free/win-32::numpy", "pkgs/free/win-32::numpy" },
	{ "numpy[channel=https://repo.anaconda.com/pkgs/free/osx-64]", "pkgs/free/osx-64::numpy" },
	{ "defaults/win-32::numpy", "defaults/win-32::numpy" },
	{ "conda-forge/linux-64::numpy", "conda-forge/linux-64::numpy" },
	{ "numpy[channel=conda-forge,subdir=noarch]", "conda-forge/noarch::numpy" },
	{ "numpy[subdir=win-32]", "numpy[subdir=win-32]" },
	{ "*/win-32::numpy", "numpy[subdir=win-32]" },
	{ "*/win-32::numpy[subdir=\"osx-64\"]", "numpy[subdir=osx-64]" },
	{ "https://repo.anaconda.com/pkgs/free/linux-32::numpy", "pkgs/free/linux-32::numpy" },
	{ "numpy[channel=https://repo.anaconda.com/pkgs/free/linux-32]",
	  "pkgs/free/linux-32::numpy" },
	{ "numpy=1.10=py38_0", "numpy==1.10=py38_0" },
	{ "numpy==1.10=py38_0", "numpy==1.10=py38_0" },
	{ "numpy[version=1.10 build=py38_0]", "numpy==1.10=py38_0" },
	{ "numpy!=1.10", "numpy!=1.10" },
	{ "numpy !=1.10", "numpy!=1.10" },
	{ "numpy!=1.10 py38_0", "numpy[version='!=1.10',build=py38_0]" },
	{ "numpy !=1.10 py38_0", "numpy[version='!=1.10',build=py38_0]" },
	{ "numpy!=1.10=py38_0", "numpy[version='!=1.10',build=py38_0]" },
	{ "numpy !=1.10=py38_0", "numpy[version='!=1.10',build=py38_0]" },
	{ "numpy >1.7,!=1.10 py38_0", "numpy[version='>1.7,!=1.10',build=py38_0]" },
	{ "numpy!=1.10.*", "numpy!=1.10.*" },
	{ "numpy!=1.10,!=1.11", "numpy[version='!=1.10,!=1.11']" },
	{ "numpy=1.10.*,!=1.10.2", "numpy[version='=1.10.*,!=1.10.2']" },
	{ "numpy ~=1.10.1", "numpy~=1.10.1" },
	{ "numpy~=1.10.1", "numpy~=1.10.1" },
	{ "numpy ~=1.10.1 py38_0", "numpy[version='~=1.10.1',build=py38_0]" },
	{ "openssl=1.1.1_", "openssl=1.1.1_" },
	{ "openssl>=1.1.1_,!=1.1.1c", "openssl[version='>=1.1.1_,!=1.1.1c']" },
	/* test_tarball_match_specs, test_matchspec_errors, test_channel_matching */
	{ "https://conda.anaconda.org/conda-canary/linux-64/conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2",
	  "conda-canary/linux-64::conda==4.3.21.post699+1dab973=py36h4a561cd_0" },
	{ "conda-canary/linux-64::conda==4.3.21.post699+1dab973=py36h4a561cd_0",
	  "conda-canary/linux-64::conda==4.3.21.post699+1dab973=py36h4a561cd_0" },
	{ "https://conda.anaconda.org/conda-canary/conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2",
	  "*[url=https://conda.anaconda.org/conda-canary/conda-4.3.21.post699+1dab973-py36h4a561cd_0.tar.bz2]" },
	{ "/some/file/on/disk/package-1.2.3-2.tar.bz2",
	  "*[url=file:///some/file/on/disk/package-1.2.3-2.tar.bz2]" },
	{ "https://example.org/a=b/c.conda", "*[url='https://example.org/a=b/c.conda']" },
	{ "https://conda.anaconda.org/conda-forge/noarch/tzdata-2024a-h0c530f3_0.conda[md5=8b1a9953c4611296a827abf8c47804d7]",
	  "conda-forge/noarch::tzdata==2024a=h0c530f3_0[md5=8b1a9953c4611296a827abf8c47804d7]" },
	{ "pkgs/main::*", "pkgs/main::*" },
	{ "defaults::*", "defaults::*" },
	/* MatchSpec's docstring, merges, arg2spec, spec_from_line */
	{ "foo 1.0 py27_0", "foo==1.0=py27_0" },
	{ "foo=1.0=py27_0", "foo==1.0=py27_0" },
	{ "conda-forge::foo[version=1.0.*]", "conda-forge::foo=1.0" },
	{ "conda-forge/linux-64::foo>=1.0", "conda-forge/linux-64::foo[version='>=1.0']" },
	{ "*/linux-64::foo>=1.0", "foo[subdir=linux-64,version='>=1.0']" },
	{ "exact 1.2.3 1", "exact==1.2.3=1" },
	{ "defaults::python 1.2.3", "defaults::python==1.2.3" },
	{ "python=2.6", "python=2.6" },
	{ "python=2.6*", "python=2.6" },
	{ "ipython==0.13.0", "ipython==0.13.0" },
	{ "foo=1.3.0=3", "foo==1.3.0=3" },
	{ "foo>=1.3", "foo[version='>=1.3']" },
	{ "zope.int>=1.3,<3.0", "zope.int[version='>=1.3,<3.0']" },
	{ "numpy >=1.9", "numpy[version='>=1.9']" },
	{ "FOO-Bar >=1.0", "foo-bar[version='>=1.0']" },
	{ "foo >= 1.0", "foo[version='>=1.0']" },
	{ "foo != 1.0", "foo!=1.0" },
	{ "foo >=1.0 , < 2.0", "foo[version='>=1.0,<2.0']" },
	{ "foo # comment", "foo" },
	{ "foo ## comment", "foo" },
	{ "foo=1.0=2 # pinned", "foo==1.0=2" },
	/* the task's forms */
	{ "numpy=1.26", "numpy=1.26" },
	{ "numpy==1.26.4", "numpy==1.26.4" },
	{ "numpy>=1.26,<2", "numpy[version='>=1.26,<2']" },
	{ "numpy 1.26.* py312*", "numpy=1.26[build=py312*]" },
	{ "numpy=1.26=py312*", "numpy==1.26[build=py312*]" },
	{ "numpy 1.26.4 py312h_0", "numpy==1.26.4=py312h_0" },
	{ "numpy[version='>=1.26',build=*cuda*]", "numpy[version='>=1.26',build=*cuda*]" },
	{ "numpy[build_number=\">=3\"]", "numpy[build_number='>=3']" },
	{ "numpy[build_number=3]", "numpy[build_number=3]" },
	{ "numpy[build_number=03]", "numpy[build_number=3]" },
	{ "numpy[build_number=*]", "numpy[build_number=*]" },
	{ "numpy[build_number='<3']", "numpy[build_number=<3]" },	/* quoted for ", =" only */
	{ "numpy*", "numpy*" },
	{ "python >=3.12", "python[version='>=3.12']" },
	{ "numpy >=1.8,<2|1.9", "numpy[version='>=1.8,<2|1.9']" },
	{ "numpy >=1,(<2|3)", "numpy[version='>=1,(<2|3)']" },
	{ "numpy ^1\\.2.*$", "numpy[version='^1\\.2.*$']" },
	{ "numpy 1.*.*", "numpy=1.*" },	/* conda's lossy rendering of the glob */
	{ "numpy *", "numpy=" },		/* conda prints "version *" as "=" */
	{ "pytorch=*=cuda*", "pytorch=[build=cuda*]" },
	{ "numpy=", "numpy" },
	{ "numpy ==1.7.*", "numpy=1.7" },
	{ "numpy===1.7", "numpy==1.7" },
	{ "numpy[md5=8B1A9953C4611296A827ABF8C47804D7]",
	  "numpy[md5=8b1a9953c4611296a827abf8c47804d7]" },
	{ "numpy[sha256=315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3]",
	  "numpy[sha256=315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3]" },
	{ "numpy[fn=numpy-1.26.4-py312h_0.conda]", "numpy[fn=numpy-1.26.4-py312h_0.conda]" },
	{ "numpy[url=https://x/numpy-1.26.4-0.conda, fn=numpy-1.26.4-0.conda]",
	  "numpy[url=https://x/numpy-1.26.4-0.conda]" },
	{ "conda-forge::numpy[url=https://x/numpy-1.26.4-0.conda]", "conda-forge::numpy" },
	{ "numpy[channel=conda-*]", "numpy[channel=conda-*]" },
	{ "numpy[build='^py3.*$']", "numpy[build='^py3.*$']" },
	{ "numpy 1.0 ^py3.*$", "numpy==1.0[build='^py3.*$']" },
	{ "numpy[version='>=1.0',version='<2']", "numpy[version='<2']" },
	{ "numpy >=1 [version='<2']", "numpy[version='<2']" },
	{ "numpy 1.0 py_0 [build=py_1]", "numpy==1.0=py_1" },
	{ "conda-forge::numpy[channel=bioconda]", "bioconda::numpy" },
	{ "conda-forge/linux-32::python[version=3.9, subdir=linux-64]",
	  "conda-forge/linux-64::python==3.9" },
	{ "python ==3.9[channel=conda-forge/linux-64]", "conda-forge/linux-64::python==3.9" },
	{ "channel/win-64::foobar[channel=conda-forge, subdir=linux-64]",
	  "conda-forge/linux-64::foobar" },
	{ "https://c.com/p/conda/linux-64::python[version=3.9]", "p/conda/linux-64::python==3.9" },
	{ "http://127.0.0.1:8000/::zlib", "http://127.0.0.1:8000::zlib" },
	{ "http://127.0.0.1:8000/mychan/::zlib", "mychan::zlib" },
	{ "conda-forge/label/dev::numpy", "conda-forge/label/dev::numpy" },
	{ "conda-forge/linux-64/label/test::numpy", "conda-forge/linux-64/label/test::numpy" },
	{ "::numpy", "numpy" },
	{ "*", "*" },
	{ "* 2.7.4", "*==2.7.4" },
	{ "rust ~=1.2.3", "rust~=1.2.3" },
	{ "x264 >=1!164.3095,<1!165", "x264[version='>=1!164.3095,<1!165']" },
	{ "python 3.8.* *_cpython", "python=3.8[build=*_cpython]" },
	{ "  numpy  >=1.0  ", "numpy[version='>=1.0']" },
	{ "numpy>=1.0 if __unix", "numpy[version='>=1.0']" },
};

static void t_canonical(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	char name[512], *s;
	size_t i;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(canon_vectors); i++) {
		snprintf(name, sizeof name, "str(MatchSpec('%s')) is \"%s\"", canon_vectors[i].spec,
			 canon_vectors[i].str);
		if (matchspec_parse(&ctx, canon_vectors[i].spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		s = matchspec_str(&m);
		check(!strcmp(s, canon_vectors[i].str) && !strcmp(m.text, canon_vectors[i].spec), name,
		      "got \"%s\"", s);
		free(s);
		matchspec_free(&m);
	}
}

/* conda's canonical strings that read back as another one: "=" for version
 * "*" reads as no version, and the glob "1.*.*" prints as the prefix "=1.*". */
static const char *const lossy_canon[] = { "numpy *", "pytorch=*=cuda*", "numpy 1.*.*" };

/* A canonical string reads back as itself (conda's str is a fixed point). */
static void t_canonical_roundtrip(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m, m2;
	char name[512], *s, *s2;
	size_t i, k;
	bool lossy;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(canon_vectors); i++) {
		for (k = 0, lossy = false; k < N(lossy_canon); k++)
			lossy |= !strcmp(lossy_canon[k], canon_vectors[i].spec);
		if (matchspec_parse(&ctx, canon_vectors[i].spec, &m) < 0)
			continue;	/* reported by t_canonical */
		s = matchspec_str(&m);
		snprintf(name, sizeof name, "str(MatchSpec(\"%s\")) %s", s,
			 lossy ? "changes, as conda's does" : "is itself");
		if (matchspec_parse(&ctx, s, &m2) == 0) {
			s2 = matchspec_str(&m2);
			check(lossy ? strcmp(s, s2) != 0 : strcmp(s, s2) == 0, name, "got \"%s\"", s2);
			free(s2);
			matchspec_free(&m2);
		} else {
			check(false, name, "parse: %s", ctx.errmsg);
		}
		free(s);
		matchspec_free(&m);
	}
}

/* --- MatchSpec: fields ---------------------------------------------------- */

static const struct {
	const char *spec;
	const char *name, *version, *build, *channel, *subdir, *build_number;
} field_vectors[] = {
	/* _parse_spec_str tests */
	{ "numpy", "numpy", NULL, NULL, NULL, NULL, NULL },
	{ "defaults::numpy", "numpy", NULL, NULL, "defaults", NULL, NULL },
	{ "https://repo.anaconda.com/pkgs/free::numpy", "numpy", NULL, NULL,
	  "https://repo.anaconda.com/pkgs/free", NULL, NULL },
	{ "defaults::numpy=1.8", "numpy", "1.8.*", NULL, "defaults", NULL, NULL },
	{ "defaults::numpy =1.8", "numpy", "1.8.*", NULL, "defaults", NULL, NULL },
	{ "defaults::numpy=1.8=py27_0", "numpy", "1.8", "py27_0", "defaults", NULL, NULL },
	{ "defaults::numpy 1.8 py27_0", "numpy", "1.8", "py27_0", "defaults", NULL, NULL },
	{ "defaults::numpy[channel=anaconda]", "numpy", NULL, NULL, "anaconda", NULL, NULL },
	{ "defaults::numpy 1.8 py27_0[channel=anaconda]", "numpy", "1.8", "py27_0", "anaconda",
	  NULL, NULL },
	{ "defaults::numpy=1.8=py27_0 [channel=anaconda,version=1.9, build=3]", "numpy", "1.9", "3",
	  "anaconda", NULL, NULL },
	{ "defaults::numpy=1.8=py27_0 [channel='anaconda',version=\">=1.8,<2|1.9\", build='3']",
	  "numpy", ">=1.8,<2|1.9", "3", "anaconda", NULL, NULL },
	{ "* 2.7.4", "*", "2.7.4", NULL, NULL, NULL, NULL },
	{ "* >=1.3 2", "*", ">=1.3", "2", NULL, NULL, NULL },
	{ "numpy==1.7", "numpy", "1.7", NULL, NULL, NULL, NULL },
	{ "numpy ==1.7", "numpy", "1.7", NULL, NULL, NULL, NULL },
	{ "numpy=1.7", "numpy", "1.7.*", NULL, NULL, NULL, NULL },
	{ "numpy =1.7", "numpy", "1.7.*", NULL, NULL, NULL, NULL },
	{ "numpy !=1.7", "numpy", "!=1.7", NULL, NULL, NULL, NULL },
	{ "numpy~=1.7.1", "numpy", "~=1.7.1", NULL, NULL, NULL, NULL },
	{ "numpy>1.8,<2|==1.7", "numpy", ">1.8,<2|==1.7", NULL, NULL, NULL, NULL },
	{ "numpy >1.8,<2|==1.7,!=1.9,~=1.7.1 py34_0", "numpy", ">1.8,<2|==1.7,!=1.9,~=1.7.1",
	  "py34_0", NULL, NULL, NULL },
	{ "*>1.8,<2|==1.7", "*", ">1.8,<2|==1.7", NULL, NULL, NULL, NULL },
	{ "* >1.8,<2|==1.7", "*", ">1.8,<2|==1.7", NULL, NULL, NULL, NULL },
	{ "* 1 *", "*", "1", "*", NULL, NULL, NULL },
	{ "* * openblas_0", "*", "*", "openblas_0", NULL, NULL, NULL },
	{ "* * *", "*", "*", "*", NULL, NULL, NULL },
	{ "* *", "*", "*", NULL, NULL, NULL, NULL },
	{ "conda-forge::foo>=1.0", "foo", ">=1.0", NULL, "conda-forge", NULL, NULL },
	{ "conda-forge/linux-32::foo>=1.0", "foo", ">=1.0", NULL, "conda-forge", "linux-32", NULL },
	{ "*/linux-32::foo>=1.0", "foo", ">=1.0", NULL, NULL, "linux-32", NULL },
	{ "conda-forge::foo[build=3](target=blarg,optional)", NULL, NULL, NULL, NULL, NULL, NULL },
	{ "python[build_number=3]", "python", NULL, NULL, NULL, NULL, "3" },
	{ "python[build_number='>3']", "python", NULL, NULL, NULL, NULL, ">3" },
	{ "python[build_number='>=3']", "python", NULL, NULL, NULL, NULL, ">=3" },
	{ "python[build_number='<3']", "python", NULL, NULL, NULL, NULL, "<3" },
	{ "python[build_number='<=3']", "python", NULL, NULL, NULL, NULL, "<=3" },
	{ "zlib 1.2.7 0", "zlib", "1.2.7", "0", NULL, NULL, NULL },
	{ "https://repo.anaconda.com/pkgs/main/linux-64/_license-1.1-py27_1.tar.bz2", "_license",
	  "1.1", "py27_1", "https://repo.anaconda.com/pkgs/main", "linux-64", NULL },
	{ "https://conda.anaconda.org/conda-canary/linux-64/conda-4.3.21.post699+1dab973-py36h4a561cd_0.conda",
	  "conda", "4.3.21.post699+1dab973", "py36h4a561cd_0", "https://conda.anaconda.org/conda-canary",
	  "linux-64", NULL },
	{ "/home/user/conda-bld/linux-64/foo-1.0-py27_0.tar.bz2", "foo", "1.0", "py27_0",
	  "file:///home/user/conda-bld", "linux-64", NULL },
	/* _parse_version_plus_build (conda's docstring, rattler's test_split_version_and_build) */
	{ "x =1.2.3 0", "x", "1.2.3", "0", NULL, NULL, NULL },
	{ "x 1.2.3=0", "x", "1.2.3", "0", NULL, NULL, NULL },
	{ "x >=1.0 , < 2.0 py34_0", "x", ">=1.0,<2.0", "py34_0", NULL, NULL, NULL },
	{ "x >=1.0 , < 2.0 =py34_0", "x", ">=1.0,<2.0", "py34_0", NULL, NULL, NULL },
	{ "x =1.2.3 ", "x", "1.2.3.*", NULL, NULL, NULL, NULL },
	{ "x >1.8,<2|==1.7", "x", ">1.8,<2|==1.7", NULL, NULL, NULL, NULL },
	{ "x * openblas_0", "x", "*", "openblas_0", NULL, NULL, NULL },
	{ "x 2.7|>=3.6", "x", "2.7|>=3.6", NULL, NULL, NULL, NULL },
	{ "x ==1.0=py27_0", "x", "1.0", "py27_0", NULL, NULL, NULL },
	{ "x =*=cuda", "x", "*", "cuda", NULL, NULL, NULL },
	{ "x >=1!164.3095,<1!165", "x", ">=1!164.3095,<1!165", NULL, NULL, NULL, NULL },
	{ "python 3.8.* *_cpython", "python", "3.8.*", "*_cpython", NULL, NULL, NULL },
	{ "python ==2.7.*.*|>=3.6", "python", "2.7.*.*|>=3.6", NULL, NULL, NULL, NULL },
	{ "NumPy", "numpy", NULL, NULL, NULL, NULL, NULL },
	{ "numpy 1.0 py 3", "numpy", "1.0", "py 3", NULL, NULL, NULL },
};

static void t_fields(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	char name[512];
	size_t i;
	const char *v;
	int r;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(field_vectors); i++) {
		snprintf(name, sizeof name, "parse '%s': name %s, version %s, build %s, channel %s, "
			 "subdir %s, build_number %s", field_vectors[i].spec, nz(field_vectors[i].name),
			 nz(field_vectors[i].version), nz(field_vectors[i].build),
			 nz(field_vectors[i].channel), nz(field_vectors[i].subdir),
			 nz(field_vectors[i].build_number));
		r = matchspec_parse(&ctx, field_vectors[i].spec, &m);
		if (!field_vectors[i].name) {
			/* conda's "(target=...,optional)" section is refused here */
			check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "unexpected text after the brackets"),
			      "parse: conda's '(optional)' section after the brackets is an error",
			      "r=%d %s", r, ctx.errmsg);
			if (r == 0)
				matchspec_free(&m);
			continue;
		}
		if (r < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		v = m.version ? condaver_spec_str(m.version) : NULL;
		check(str_eq(m.name.text, field_vectors[i].name) && str_eq(v, field_vectors[i].version) &&
		      str_eq(m.build.text, field_vectors[i].build) &&
		      str_eq(m.channel.text, field_vectors[i].channel) &&
		      str_eq(m.subdir, field_vectors[i].subdir) &&
		      str_eq(m.build_number_text, field_vectors[i].build_number), name,
		      "got name %s version %s build %s channel %s subdir %s build_number %s",
		      nz(m.name.text), nz(v), nz(m.build.text), nz(m.channel.text), nz(m.subdir),
		      nz(m.build_number_text));
		matchspec_free(&m);
	}
}

static void t_fields_more(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	int r;

	pkgimg_ctx_init(&ctx);
	r = matchspec_parse(&ctx, "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda", &m);
	check(r == 0 && str_eq(m.fn, "zlib-1.3.1-hb9d3cd8_2.conda") &&
	      str_eq(m.url, "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda") &&
	      condaver_spec_is_exact(m.version) && m.build.kind == MATCHSPEC_EXACT,
	      "parse: a package URL sets fn, url, an exact version and build", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	r = matchspec_parse(&ctx, "conda-forge::foo[version=1.0.*, build_number=\">6\"]", &m);
	check(r == 0 && m.build_number_op == MATCHSPEC_OP_GT && m.build_number == 6 &&
	      str_eq(m.channel.text, "conda-forge") && str_eq(condaver_spec_str(m.version), "1.0.*"),
	      "parse: rattler's conda-forge::foo[version=1.0.*, build_number=\">6\"]", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	r = matchspec_parse(&ctx, "numpy[md5=8B1A9953C4611296A827ABF8C47804D7, fn='a b.conda']", &m);
	check(r == 0 && str_eq(m.md5, "8b1a9953c4611296a827abf8c47804d7") && str_eq(m.fn, "a b.conda"),
	      "parse: md5 is kept in lower case, a quoted value keeps its space", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	r = matchspec_parse(&ctx, "numpy* 1.0 py3*", &m);
	check(r == 0 && m.name.kind == MATCHSPEC_GLOB && m.build.kind == MATCHSPEC_GLOB,
	      "parse: globs in name and build are globs", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	r = matchspec_parse(&ctx, "^nump.$ 1.0 ^py3.*$", &m);
	check(r == 0 && m.name.kind == MATCHSPEC_REGEX && m.build.kind == MATCHSPEC_REGEX,
	      "parse: '^...$' names and builds are regular expressions", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	r = matchspec_parse_blob(&ctx, (struct blob){ "numpy>=1.0,<2 trailing", 13 }, &m);
	check(r == 0 && str_eq(condaver_spec_str(m.version), ">=1.0,<2") && !m.build.text &&
	      str_eq(m.text, "numpy>=1.0,<2"), "parse blob: only the slice is parsed", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		matchspec_free(&m);

	m.text = (char *)"untouched";
	r = matchspec_parse(&ctx, "numpy[", &m);
	check(r < 0 && !strcmp(m.text, "untouched"), "parse: the output is untouched on error",
	      "r=%d", r);
}

/* --- MatchSpec: matching ------------------------------------------------- */

struct rec {
	const char *name, *version, *build;
	uint64_t bn;
	const char *channel, *subdir;
};

static const struct rec numpy171 = { "numpy", "1.7.1", "py27_0", 0, "defaults", "linux-64" };
static const struct rec numpy1110 = { "numpy", "1.11.0", "py34_7", 7, "defaults", "linux-64" };
static const struct rec numpy1264 = { "numpy", "1.26.4", "py312h8753938_0", 0,
				      "https://conda.anaconda.org/conda-forge", "linux-64" };
static const struct rec numpy1264cuda = { "numpy", "1.26.4", "cuda112py312h_3", 3, "conda-forge",
					  "linux-64" };
static const struct rec python3124 = { "python", "3.12.4", "h194c7f8_0_cpython", 0,
				       "conda-forge", "linux-64" };

static const struct {
	const char *spec;
	const struct rec *r;
	bool want;
} match_vectors[] = {
	/* test_match_1, all against numpy-1.7.1-py27_0 */
	{ "numpy 1.7*", &numpy171, true },
	{ "numpy 1.7.1", &numpy171, true },
	{ "numpy 1.7", &numpy171, false },
	{ "numpy 1.5*", &numpy171, false },
	{ "numpy >=1.5", &numpy171, true },
	{ "numpy >=1.5,<2", &numpy171, true },
	{ "numpy >=1.8,<1.9", &numpy171, false },
	{ "numpy >1.5,<2,!=1.7.1", &numpy171, false },
	{ "numpy >1.8,<2|==1.7", &numpy171, false },
	{ "numpy >1.8,<2|>=1.7.1", &numpy171, true },
	{ "numpy >=1.8|1.7*", &numpy171, true },
	{ "numpy ==1.7", &numpy171, false },
	{ "numpy >=1.5,>1.6", &numpy171, true },
	{ "numpy ==1.7.1", &numpy171, true },
	{ "numpy ==1.7.1.0", &numpy171, true },
	{ "numpy==1.7.1.0.0", &numpy171, true },
	{ "numpy >=1,*.7.*", &numpy171, true },
	{ "numpy *.7.*,>=1", &numpy171, true },
	{ "numpy >=1,*.8.*", &numpy171, false },
	{ "numpy >=2,*.7.*", &numpy171, false },
	{ "numpy 1.6*|1.7*", &numpy171, true },
	{ "numpy 1.6*|1.8*", &numpy171, false },
	{ "numpy 1.6.2|1.7*", &numpy171, true },
	{ "numpy 1.6.2|1.7.1", &numpy171, true },
	{ "numpy 1.6.2|1.7.0", &numpy171, false },
	{ "numpy 1.7.1 py27_0", &numpy171, true },
	{ "numpy 1.7.1 py26_0", &numpy171, false },
	{ "numpy >1.7.1a", &numpy171, true },
	{ "python", &numpy171, false },
	/* test_bracket_matches, against numpy-1.11.0-py34_7 */
	{ "numpy<2", &numpy1110, true },
	{ "numpy>2", &numpy1110, false },
	{ "numpy[version='>2']", &numpy1110, false },
	{ "numpy[build_number='7']", &numpy1110, true },
	{ "numpy[build_number='<8']", &numpy1110, true },
	{ "numpy[build_number='>7']", &numpy1110, false },
	{ "numpy[build_number='>=7']", &numpy1110, true },
	{ "numpy[build_number='!=7']", &numpy1110, false },
	{ "numpy[build_number='==7']", &numpy1110, true },
	{ "numpy[build_number='<=6']", &numpy1110, false },
	{ "numpy[build_number=*]", &numpy1110, true },
	{ "numpy ~=1.10", &numpy1110, true },
	{ "numpy~=1.10", &numpy1110, true },
	/* the task's forms, against conda-forge numpy 1.26.4 */
	{ "numpy", &numpy1264, true },
	{ "numpy=1.26", &numpy1264, true },
	{ "numpy=1.27", &numpy1264, false },
	{ "numpy==1.26.4", &numpy1264, true },
	{ "numpy==1.26", &numpy1264, false },
	{ "numpy>=1.26,<2", &numpy1264, true },
	{ "numpy>=1.27,<2", &numpy1264, false },
	{ "numpy 1.26.* py312*", &numpy1264, true },
	{ "numpy 1.26.* py311*", &numpy1264, false },
	{ "numpy=1.26=py312*", &numpy1264, false },	/* "=1.26=build" is exactly 1.26 */
	{ "numpy=1.26.4=py312*", &numpy1264, true },
	{ "numpy 1.26.4 py312h8753938_0", &numpy1264, true },
	{ "numpy 1.26.4 py312h8753938_1", &numpy1264, false },
	{ "conda-forge::numpy", &numpy1264, true },
	{ "bioconda::numpy", &numpy1264, false },
	{ "conda-forge/linux-64::numpy", &numpy1264, true },
	{ "conda-forge/noarch::numpy", &numpy1264, false },
	{ "https://conda.anaconda.org/conda-forge::numpy", &numpy1264, true },
	{ "https://conda.anaconda.org/conda-forge/linux-64::numpy", &numpy1264, true },
	{ "*/linux-64::numpy", &numpy1264, true },
	{ "*/osx-64::numpy", &numpy1264, false },
	{ "numpy[version='>=1.26',build=*cuda*]", &numpy1264, false },
	{ "numpy[version='>=1.26',build=*cuda*]", &numpy1264cuda, true },
	{ "numpy[build_number=\">=3\"]", &numpy1264, false },
	{ "numpy[build_number=\">=3\"]", &numpy1264cuda, true },
	{ "numpy*", &numpy1264, true },
	{ "num*", &numpy1264, true },
	{ "*py", &numpy1264, true },
	{ "nump", &numpy1264, false },
	{ "NumPy", &numpy1264, true },
	{ "^num.*$", &numpy1264, true },
	{ "^py.*$", &numpy1264, false },
	{ "numpy[channel=conda-*]", &numpy1264, true },
	{ "numpy[channel=bio*]", &numpy1264, false },
	{ "numpy[subdir=linux-64]", &numpy1264, true },
	{ "numpy[subdir=osx-arm64]", &numpy1264, false },
	{ "numpy !=1.26.4", &numpy1264, false },
	{ "numpy !=1.26.*", &numpy1264, false },
	{ "numpy !=1.25.*", &numpy1264, true },
	{ "numpy ~=1.26.0", &numpy1264, true },
	{ "numpy ~=1.25.0", &numpy1264, false },
	{ "numpy 1.26.4 *", &numpy1264, true },
	{ "numpy * py312h8753938_0", &numpy1264, true },
	{ "numpy * *_0", &numpy1264, true },
	{ "numpy * *_1", &numpy1264, false },
	{ "numpy 1.26.4 ^py312h.*_0$", &numpy1264, true },
	{ "numpy[version=1.26.4, build='^py312h[0-9a-f]+_0$']", &numpy1264, true },
	{ "numpy[build='^py312h[a-f]+_0$']", &numpy1264, false },
	{ "numpy 1.26.4 ^py311.*$", &numpy1264, false },
	{ "python >=3.12", &python3124, true },
	{ "python >=3.13", &python3124, false },
	{ "python 3.12.* *_cpython", &python3124, true },
	{ "python 3.12.* *_pypy", &python3124, false },
	{ "python >=3.12 # the interpreter", &python3124, true },
	{ "conda-forge::python[version='>=3.8,<3.13|3.14']", &python3124, true },
	{ "python[version='>=3.8,<3.12|3.14']", &python3124, false },
	{ "* 3.12.4", &python3124, true },
	{ "*[build=*cpython]", &python3124, true },
};

static void rec_to_record(const struct rec *r, struct matchspec_record *out)
{
	memset(out, 0, sizeof *out);
	out->name = r->name;
	out->version = r->version;
	out->build = r->build;
	out->build_number = r->bn;
	out->channel = r->channel;
	out->subdir = r->subdir;
}

static void t_match(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	struct matchspec_record rec;
	char name[512];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(match_vectors); i++) {
		const struct rec *r = match_vectors[i].r;

		snprintf(name, sizeof name, "'%s' %s %s-%s-%s (#%llu, %s/%s)", match_vectors[i].spec,
			 match_vectors[i].want ? "matches" : "does not match", r->name, r->version,
			 r->build, (unsigned long long)r->bn, r->channel, r->subdir);
		if (matchspec_parse(&ctx, match_vectors[i].spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		rec_to_record(r, &rec);
		got = matchspec_matches(&m, &rec);
		check(got == match_vectors[i].want, name, "got %d", got);
		matchspec_free(&m);
	}
}

/* Matches of the pieces conda's test_match_1 checks separately. */
static const struct {
	const char *spec;
	const char *name, *version, *build;
	bool want;
} dist_vectors[] = {
	{ "numpy >=1.0.1", "numpy", "1.0.1a", "0", false },
	{ "numpy >=1.0.1.vc11", "numpy", "1.0.1a.vc11", "0", false },
	{ "numpy >=1.0.1*.vc11", "numpy", "1.0.1a.vc11", "0", true },
	{ "numpy <1.0.1", "numpy", "1.0.1.vc11", "0", true },
	{ "numpy <1.0.1", "numpy", "1.0.1a.vc11", "0", true },
	{ "numpy >=1.0.1.vc11", "numpy", "1.0.1a", "0", false },
	{ "numpy >=1.0.1a", "numpy", "1.0.1z", "0", true },
	{ "numpy >=1.0.1a py27*", "numpy", "1.0.1z", "py27_1", true },
	{ "blas * openblas_0", "blas", "1.0", "openblas_0", true },
	/* test_openssl_match */
	{ "openssl>=1.0.1_", "openssl", "1.0.1_", "4", true },
	{ "openssl>=1.0.1", "openssl", "1.0.1_", "4", false },
	/* test_dist: version 3.5* */
	{ "defaults::python 3.5*", "python", "3.5.3", "1", true },
	{ "defaults::python 3.5*", "python", "3.6.0", "0", false },
	{ "defaults::python 3.5*", "python", "3.5.1", "0", true },
	/* test_merge results */
	{ "exact[version='1.2.3,>1.0,<2',build=1]", "exact", "1.2.3", "1", true },
	{ "exact[version='1.2.3,>1.0,<2',build=1]", "exact", "1.2.2", "1", false },
	{ "bounded[version='<=1.8,>=1.0,<2.0,>=1.5']", "bounded", "1", "6", false },
	{ "bounded[version='<=1.8,>=1.0,<2.0,>=1.5']", "bounded", "1.5", "7", true },
	{ "bounded[version='<=1.8,>=1.0,<2.0,>=1.5']", "bounded", "2", "8", false },
	/* a python that conda's odd "2.7.*.*" glob does not match, and one it does */
	{ "python ==2.7.*.*|>=3.6", "python", "2.7.18", "0", false },
	{ "python ==2.7.*.*|>=3.6", "python", "3.6.0", "0", true },
	/* a record without a build or version fails a constraint on it */
	{ "numpy * py*", "numpy", "1.0", NULL, false },
	{ "numpy 1.0", "numpy", NULL, "0", false },
	{ "numpy", NULL, "1.0", "0", false },
};

static void t_match_dist(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	struct matchspec_record rec;
	char name[512];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(dist_vectors); i++) {
		snprintf(name, sizeof name, "'%s' %s %s-%s-%s", dist_vectors[i].spec,
			 dist_vectors[i].want ? "matches" : "does not match", nz(dist_vectors[i].name),
			 nz(dist_vectors[i].version), nz(dist_vectors[i].build));
		if (matchspec_parse(&ctx, dist_vectors[i].spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		memset(&rec, 0, sizeof rec);
		rec.name = dist_vectors[i].name;
		rec.version = dist_vectors[i].version;
		rec.build = dist_vectors[i].build;
		rec.channel = "defaults";
		got = matchspec_matches(&m, &rec);
		check(got == dist_vectors[i].want, name, "got %d", got);
		matchspec_free(&m);
	}
}

/* Parses a spec a check relies on; a failure is that check's failure. */
static bool parse_ok(struct pkgimg_ctx *ctx, const char *spec, struct matchspec *m,
		     const char *name)
{
	if (matchspec_parse(ctx, spec, m) == 0)
		return true;
	check(false, name, "parse '%s': %s", spec, ctx->errmsg);
	return false;
}

/* md5, sha256, fn, url, and matchspec_version_matches. */
static void t_match_fields(void)
{
	static const char md5[] = "8b1a9953c4611296a827abf8c47804d7";
	static const char sha[] = "315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3";
	static const char url[] = "https://conda.anaconda.org/conda-forge/linux-64/zlib-1.3.1-hb9d3cd8_2.conda";
	struct pkgimg_ctx ctx;
	struct matchspec m;
	struct matchspec_record rec = { "zlib", "1.3.1", "hb9d3cd8_2", 2, "conda-forge", "linux-64",
					md5, sha, "zlib-1.3.1-hb9d3cd8_2.conda", url };
	struct matchspec_record other = rec;

	pkgimg_ctx_init(&ctx);
	other.md5 = "00000000000000000000000000000000";
	other.sha256 = NULL;
	other.fn = "zlib-1.3.1-hb9d3cd8_1.conda";
	other.url = "https://x/zlib.conda";

	if (parse_ok(&ctx, "zlib[md5=8B1A9953C4611296A827ABF8C47804D7]", &m,
		     "match: md5 compares without case")) {
		check(matchspec_matches(&m, &rec) && !matchspec_matches(&m, &other),
		      "match: md5 compares without case", "%s", "mismatch");
		matchspec_free(&m);
	}
	if (parse_ok(&ctx, "*[sha256=315f5bdb76d078c43b8ac0064e4a0164612b1fce77c869345bfc94c75894edd3]",
		     &m, "match: *[sha256=...] matches by digest, not a missing one")) {
		check(matchspec_matches(&m, &rec) && !matchspec_matches(&m, &other),
		      "match: *[sha256=...] matches by digest, not a missing one", "%s", "mismatch");
		matchspec_free(&m);
	}
	if (parse_ok(&ctx, "zlib[fn=zlib-1.3.1-hb9d3cd8_2.conda]", &m, "match: fn is exact")) {
		check(matchspec_matches(&m, &rec) && !matchspec_matches(&m, &other),
		      "match: fn is exact", "%s", "mismatch");
		matchspec_free(&m);
	}
	if (parse_ok(&ctx, url, &m, "match: a package URL matches its record only")) {
		check(matchspec_matches(&m, &rec) && !matchspec_matches(&m, &other),
		      "match: a package URL matches its record only", "%s", "mismatch");
		matchspec_free(&m);
	}
	if (parse_ok(&ctx, "zlib >=1.3,<1.4", &m,
		     "matchspec_version_matches: the version constraint alone")) {
		check(matchspec_version_matches(&m, "1.3.1") && !matchspec_version_matches(&m, "1.4.0") &&
		      !matchspec_version_matches(&m, "1.2.13"),
		      "matchspec_version_matches: the version constraint alone", "%s", "mismatch");
		matchspec_free(&m);
	}
	if (parse_ok(&ctx, "zlib", &m,
		     "matchspec_version_matches: no constraint matches every version")) {
		check(matchspec_version_matches(&m, "0.0.1") && matchspec_version_matches(&m, "x&y"),
		      "matchspec_version_matches: no constraint matches every version", "%s", "mismatch");
		matchspec_free(&m);
	}
}

/* --- string patterns and channels ---------------------------------------- */

static const struct {
	const char *pattern, *s;
	bool want;
} pattern_vectors[] = {
	{ "py312*", "py312h1234_0", true },
	{ "py312*", "py311h1234_0", false },
	{ "*cuda*", "cuda112py312h_0", true },
	{ "*cuda*", "py312cuda_0", true },
	{ "*cuda*", "cpu_py312", false },
	{ "*_cpython", "h194c7f8_0_cpython", true },
	{ "*_cpython", "h194c7f8_0_cpython_x", false },
	{ "py3*_2", "py36_2", true },
	{ "py3*_2", "py36_20", false },
	{ "py3*_2", "py3_2", true },
	{ "*", "", true },
	{ "*", "anything", true },
	{ "**", "x", true },
	{ "a*b*c", "abc", true },
	{ "a*b*c", "aXbYc", true },
	{ "a*b*c", "aXbY", false },
	{ "a*b*c", "acb", false },
	{ "py27_0", "py27_0", true },
	{ "py27_0", "py27_00", false },
	{ "py27_0", "py27", false },
	{ "py3.*", "py3.x", true },	/* '.' is literal in a glob */
	{ "py3.*", "py3x", false },
	{ "^py3[0-9]+_0$", "py312_0", true },
	{ "^py3[0-9]+_0$", "py3_0", false },
	{ "^(cpu|cuda)_.*$", "cuda_1", true },
	{ "^(cpu|cuda)_.*$", "mkl_1", false },
};

static void t_patterns(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	char spec[256], name[256];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(pattern_vectors); i++) {
		snprintf(spec, sizeof spec, "x[build='%s']", pattern_vectors[i].pattern);
		snprintf(name, sizeof name, "build pattern '%s' %s '%s'", pattern_vectors[i].pattern,
			 pattern_vectors[i].want ? "matches" : "does not match", pattern_vectors[i].s);
		if (matchspec_parse(&ctx, spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		got = matchspec_pattern_matches(&m.build, pattern_vectors[i].s);
		check(got == pattern_vectors[i].want, name, "got %d", got);
		matchspec_free(&m);
	}
}

static const struct {
	const char *channel, *name;
} chan_name_vectors[] = {
	{ "conda-forge", "conda-forge" },
	{ "https://conda.anaconda.org/conda-forge", "conda-forge" },
	{ "https://conda.anaconda.org/conda-forge/", "conda-forge" },
	{ "https://repo.anaconda.com/pkgs/main", "pkgs/main" },
	{ "http://127.0.0.1:8000/", "http://127.0.0.1:8000" },
	{ "http://127.0.0.1:8000/a/b/", "a/b" },
	{ "file:///srv/channel", "file:///srv/channel" },
	{ "conda-forge/label/dev", "conda-forge/label/dev" },
};

static const struct {
	const char *spec_channel, *rec_channel;
	bool want;
} chan_match_vectors[] = {
	{ "conda-forge", "https://conda.anaconda.org/conda-forge", true },
	{ "conda-forge", "https://conda.anaconda.org/conda-forge/", true },
	{ "conda-forge", "conda-forge", true },
	{ "conda-forge", "bioconda", false },
	{ "conda-forge", "https://conda.anaconda.org/conda-forge-x", false },
	{ "https://conda.anaconda.org/conda-forge", "conda-forge", true },
	{ "https://conda.anaconda.org/conda-forge/", "https://conda.anaconda.org/conda-forge", true },
	{ "http://127.0.0.1:8000", "http://127.0.0.1:8000/", true },
	{ "http://127.0.0.1:8000", "http://127.0.0.1:9000/", false },
	{ "pkgs/main", "defaults", false },	/* conda: ChannelMatch('pkgs/main').match('defaults') is False */
	{ "conda-*", "https://conda.anaconda.org/conda-forge", true },
	{ "conda-forge", NULL, false },
};

static void t_channels(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	struct matchspec_record rec;
	char spec[256], name[256], *got;
	size_t i;
	bool ok;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(chan_name_vectors); i++) {
		got = matchspec_channel_name(chan_name_vectors[i].channel);
		snprintf(name, sizeof name, "channel name of '%s' is '%s'", chan_name_vectors[i].channel,
			 chan_name_vectors[i].name);
		check(!strcmp(got, chan_name_vectors[i].name), name, "got '%s'", got);
		free(got);
	}
	for (i = 0; i < N(chan_match_vectors); i++) {
		snprintf(spec, sizeof spec, "zlib[channel='%s']", chan_match_vectors[i].spec_channel);
		snprintf(name, sizeof name, "channel '%s' %s a record from '%s'",
			 chan_match_vectors[i].spec_channel,
			 chan_match_vectors[i].want ? "matches" : "does not match",
			 nz(chan_match_vectors[i].rec_channel));
		if (matchspec_parse(&ctx, spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		memset(&rec, 0, sizeof rec);
		rec.name = "zlib";
		rec.channel = chan_match_vectors[i].rec_channel;
		ok = matchspec_matches(&m, &rec);
		check(ok == chan_match_vectors[i].want, name, "got %d", ok);
		matchspec_free(&m);
	}
}

/* --- MatchSpec: errors ---------------------------------------------------- */

static const struct {
	const char *spec;
	size_t col;
	const char *why;
} bad_specs[] = {
	{ "", 1, "empty spec" },
	{ "   # just a comment", 1, "empty spec" },
	{ "numpy[", 6, "unbalanced brackets: '[' is never closed" },
	{ "numpy]", 6, "unbalanced brackets: ']' without '['" },
	{ "numpy[version=1.0", 6, "'[' is never closed" },
	{ "blas [optional", 6, "'[' is never closed" },	/* test_matchspec_errors */
	{ "numpy[version=1.0][build=0]", 19, "multiple bracket sections" },
	{ "numpy[version=1.0] x", 20, "unexpected text after the brackets" },
	{ "foo[build=3](target=blarg,optional)", 13, "unexpected text after the brackets" },
	{ "blas [test=]", 7, "key-value mismatch in brackets: 'test' has no value" },
	{ "numpy[version='']", 7, "'version' has no value" },
	{ "blas[invalid=\"1\"]", 6, "unknown bracket key 'invalid'" },
	{ "numpy[license=BSD]", 7, "unknown bracket key 'license'" },
	{ "numpy[name=scipy]", 7, "unknown bracket key 'name'" },
	{ "numpy[track_features=mkl]", 7, "unknown bracket key 'track_features'" },
	{ "numpy[version]", 14, "expected '=' after the key 'version'" },
	{ "numpy[version='1.0]", 15, "unterminated quote" },
	{ "numpy[version='1.0'x]", 20, "expected ',' or ']' after the value of 'version'" },
	{ "numpy[=1.0]", 7, "expected a key in the brackets" },
	{ "ray[default,data] >=2.9.0,<3.0.0", 12, "expected '=' after the key 'default'" },
	{ ">=1.0", 1, "missing package name before '>=1.0'" },
	{ "!xyz 1.3", 1, "missing package name" },	/* test_parse_errors */
	{ "conda-forge::", 14, "missing package name" },
	{ "conda-forge:numpy", 1, "unexpected namespace 'conda-forge' (did you mean 'conda-forge::numpy'?)" },
	{ "conda-forge::::foo", 1, "invalid channel 'conda-forge::'" },
	{ "bla/bla", 4, "invalid character '/' in package name 'bla/bla' (a channel is written CHANNEL::NAME)" },
	{ "num$py", 4, "invalid character '$' in package name" },
	{ "numpy>", 6, "operator '>' without a version" },
	{ "numpy =", 7, "operator '=' without a version" },
	{ "numpy==", 6, "operator '==' without a version" },
	{ "numpy>=", 6, "operator '>=' without a version" },
	{ "numpy >=1.0,<<2", 13, "invalid operator '<<' in '<<2'" },
	{ "numpy >=1.0,=<2", 13, "invalid operator '=<'" },
	{ "numpy !1.0", 7, "invalid operator '!'" },
	{ "numpy ~1.0", 7, "invalid operator '~'" },
	{ "numpy >=1,===1.0", 11, "invalid operator '==='" },
	{ "numpy 1.0&2", 10, "invalid character '&' in version '1.0&2'" },
	{ "numpy 1..0", 9, "empty version component" },
	{ "numpy 1!2!3", 10, "duplicated epoch separator" },
	{ "numpy a!1.0", 7, "must be an integer" },
	{ "numpy 1.0+a+b", 12, "duplicated local version separator" },
	{ "numpy (1.0", 7, "'(' is never closed" },
	{ "numpy 1.0)", 10, "')' without '('" },
	{ "numpy 1.0||1.1", 11, "missing a constraint before '|'" },
	{ "numpy >=1.0,", 12, "missing a constraint after ','" },
	{ "numpy >=1.0,()", 14, "empty parentheses" },
	{ "numpy[version='(1.0)(1.1)']", 21, "missing ',' or '|' before '('" },
	{ "numpy ^1.0", 7, "must start with '^' and end with '$'" },
	{ "numpy[version='^(1.0$']", 16, "invalid regular expression" },
	{ "numpy ~=1.0.*", 7, "'~=' cannot be combined with '.*'" },
	{ "numpy ~=1", 7, "'~=' needs a version of at least two components" },
	{ "numpy[version='>= 1.0']", 18, "unexpected space" },
	{ "numpy >=1.0,<2.0&", 17, "invalid character '&'" },
	{ "numpy  >=1.0 ,  <2.0&", 21, "invalid character '&'" },
	{ "numpy[build_number=abc]", 20, "build_number 'abc' is not a number" },
	{ "numpy[build_number='~=3']", 21, "build_number '~=3'" },
	{ "numpy[build_number='>=']", 21, "build_number '>='" },
	{ "numpy[build_number=99999999999999999999999]", 20, "build_number '99999999999999999999999'" },
	{ "numpy[md5=1234567890]", 11, "md5 '1234567890' is not 32 hex digits" },
	{ "numpy[sha256=xyz]", 14, "sha256 'xyz' is not 64 hex digits" },
	{ "numpy[build='^(py$']", 14, "invalid regular expression '^(py$' for the build" },
	{ "mkl@", 4, "track_features spec" },
	{ "./foo-1.0-0.conda", 1, "a package file is given by its URL or its absolute path" },
	{ "https://x/linux-64/foo.conda", 20, "package file name 'foo.conda' is not NAME-VERSION-BUILD" },
	{ "numpy 1.0 py_0 [build=py_1", 16, "'[' is never closed" },
};

static void t_errors(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	char name[512], col[32], quoted[300];
	size_t i;
	int r;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(bad_specs); i++) {
		memset(&m, 0, sizeof m);
		ctx.errmsg[0] = '\0';
		r = matchspec_parse(&ctx, bad_specs[i].spec, &m);
		snprintf(col, sizeof col, "column %zu:", bad_specs[i].col);
		snprintf(quoted, sizeof quoted, "conda spec '%s'", bad_specs[i].spec);
		snprintf(name, sizeof name, "error: '%s' at column %zu: %s", bad_specs[i].spec,
			 bad_specs[i].col, bad_specs[i].why);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, bad_specs[i].why) &&
		      strstr(ctx.errmsg, col) && strstr(ctx.errmsg, quoted) && !m.text, name,
		      "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			matchspec_free(&m);
	}
}

/* --- warnings ------------------------------------------------------------ */

static char last_warning[2048];
static int nwarnings;

static void on_warn(void *arg, const char *msg)
{
	(void)arg;
	snprintf(last_warning, sizeof last_warning, "%s", msg);
	nwarnings++;
}

static void t_warnings(void)
{
	struct pkgimg_ctx ctx;
	struct condaver_spec *sp;
	struct matchspec m;
	int r;

	pkgimg_ctx_init(&ctx);
	ctx.warn = on_warn;

	nwarnings = 0;
	r = condaver_spec_parse(&ctx, "<1.7.*", &sp);
	check(r == 0 && nwarnings == 1 && strstr(last_warning, "'.*' after a relational operator") &&
	      condaver_spec_matches(sp, "1.6.9") && !condaver_spec_matches(sp, "1.7.0"),
	      "warning: '<1.7.*' ignores the '.*', as conda does (with a warning)", "r=%d n=%d %s", r,
	      nwarnings, last_warning);
	if (r == 0)
		condaver_spec_free(sp);

	nwarnings = 0;
	r = condaver_spec_parse(&ctx, ">=1.7.*,!=1.8.*,=1.9.*", &sp);
	check(r == 0 && nwarnings == 0, "warning: none for '>=', '!=' and '=' with '.*'", "n=%d %s",
	      nwarnings, last_warning);
	if (r == 0)
		condaver_spec_free(sp);

	nwarnings = 0;
	r = matchspec_parse(&ctx, "numpy >=1.0 if __unix", &m);
	check(r == 0 && nwarnings == 1 && strstr(last_warning, "'if __unix' is ignored") &&
	      strstr(last_warning, "conda spec 'numpy >=1.0 if __unix'"),
	      "warning: a conda ' if ' condition is dropped with a warning", "r=%d n=%d %s", r,
	      nwarnings, last_warning);
	if (r == 0)
		matchspec_free(&m);

	nwarnings = 0;
	r = matchspec_parse(&ctx, "numpy==1.7.*", &m);
	check(r == 0 && nwarnings == 0 && str_eq(condaver_spec_str(m.version), "1.7.*"),
	      "warning: none for numpy==1.7.* (conda's spec parser makes it 1.7.*)", "r=%d n=%d", r,
	      nwarnings);
	if (r == 0)
		matchspec_free(&m);
}

/* --- real channel data ----------------------------------------------------- */

struct real_stats {
	size_t specs, spec_fail, not_fixed, recs, rec_fail;
	char first[1024];
};

/* conda's str() of these specs reads back as another string (see lossy_canon) */
static bool real_lossy(const char *canon)
{
	size_t n = strlen(canon);

	return strstr(canon, "=[") || (n >= 2 && !strcmp(canon + n - 2, ".*"));
}

static void real_spec(struct pkgimg_ctx *ctx, const char *spec, struct real_stats *st)
{
	struct matchspec m, m2;
	char *s, *s2;

	st->specs++;
	if (matchspec_parse(ctx, spec, &m) < 0) {
		if (!st->spec_fail++)
			snprintf(st->first, sizeof st->first, "%.1000s", ctx->errmsg);
		return;
	}
	s = matchspec_str(&m);
	if (matchspec_parse(ctx, s, &m2) == 0) {
		s2 = matchspec_str(&m2);
		if (strcmp(s, s2) && !real_lossy(s) && !st->not_fixed++)
			snprintf(st->first, sizeof st->first, "'%.300s' -> '%.300s' -> '%.300s'", spec,
				 s, s2);
		free(s2);
		matchspec_free(&m2);
	} else if (!st->not_fixed++) {
		snprintf(st->first, sizeof st->first, "'%.300s' -> '%.300s': %.300s", spec, s,
			 ctx->errmsg);
	}
	free(s);
	matchspec_free(&m);
}

/* A record matches "NAME VERSION BUILD" made from its own fields. */
static void real_record(struct pkgimg_ctx *ctx, json_t *o, struct real_stats *st)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	const char *ver = json_string_value(json_object_get(o, "version"));
	const char *build = json_string_value(json_object_get(o, "build"));
	struct matchspec_record r;
	struct matchspec m;
	char *spec;
	bool ok;

	if (!name || !ver || !build)
		return;
	st->recs++;
	spec = xasprintf("%s %s %s", name, ver, build);
	memset(&r, 0, sizeof r);
	r.name = name;
	r.version = ver;
	r.build = build;
	r.build_number = (uint64_t)json_integer_value(json_object_get(o, "build_number"));
	ok = matchspec_parse(ctx, spec, &m) == 0;
	if (ok) {
		ok = matchspec_matches(&m, &r);
		matchspec_free(&m);
	}
	if (!ok && !st->rec_fail++)
		snprintf(st->first, sizeof st->first, "record '%.500s': %.400s", spec, ctx->errmsg);
	free(spec);
}

static void real_walk(struct pkgimg_ctx *ctx, json_t *j, struct real_stats *st)
{
	const char *key, *keys[] = { "depends", "constrains" };
	json_t *v, *a;
	size_t i, k;

	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			real_walk(ctx, v, st);
		return;
	}
	if (!json_is_object(j))
		return;
	for (k = 0; k < 2; k++) {
		a = json_object_get(j, keys[k]);
		json_array_foreach(a, i, v)
			if (json_is_string(v))
				real_spec(ctx, json_string_value(v), st);
	}
	if (json_object_get(j, "depends"))
		real_record(ctx, j, st);
	json_object_foreach(j, key, v)
		real_walk(ctx, v, st);
}

static const char *const real_files[] = {
	"pytorch-channel-linux-64_rattler/repodata.json",
	"conda-forge-numpy-linux-64_mamba/conda-forge-numpy-linux-64.json",
	"conda-forge-numpy-linux-64_mamba/conda-forge-repodata-version-2.json",
	"defaults-snapshots_conda/main_noarch.json",
	"defaults-snapshots_conda/index.json",
	"defaults-zlib-packages_conda/linux-64/repodata.json",
	"r-mutex-noarch-package_mamba/noarch/repodata.json",
	"conda-meta-records_rattler/tzdata-2024a-h0c530f3_0.json",
	"conda-meta-records_rattler/requests-2.28.2-pyhd8ed1ab_0.json",
	"conda-meta-records_rattler/libzlib-1.2.13-h53f4e23_5.json",
};

static char *real_path(const char *rel)
{
	const char *src = getenv("PKGIMG_SRC");

	return xasprintf("%s/tests/fixtures/conda/%s", src ? src : ".", rel);
}

static void t_real_data(void)
{
	struct pkgimg_ctx ctx;
	struct real_stats st;
	json_error_t jerr;
	struct stat sb;
	char name[512], *path;
	json_t *j;
	size_t i;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N(real_files); i++) {
		path = real_path(real_files[i]);
		if (stat(path, &sb) < 0) {
			printf("skip - real data %s: %s not here\n", real_files[i], path);
			free(path);
			continue;
		}
		j = json_load_file(path, 0, &jerr);
		free(path);
		if (!j) {
			check(false, real_files[i], "json: %s", jerr.text);
			continue;
		}
		memset(&st, 0, sizeof st);
		real_walk(&ctx, j, &st);
		json_decref(j);
		snprintf(name, sizeof name, "real data %s: %zu depends/constrains parse and print "
			 "a fixed point, %zu records match their own NAME VERSION BUILD", real_files[i],
			 st.specs, st.recs);
		check(st.specs + st.recs > 0 && !st.spec_fail && !st.not_fixed && !st.rec_fail, name,
		      "%zu parse errors, %zu strings changed, %zu records failed; first: %s",
		      st.spec_fail, st.not_fixed, st.rec_fail, st.first);
	}
}

/* Counts over the real pytorch channel, each computed independently in
 * Python (numeric tuples and substring tests) from the same repodata.json. */
static const struct {
	const char *spec;
	size_t want;
} real_counts[] = {
	{ "pytorch >=1.10,<1.13", 100 },
	{ "pytorch 1.1*", 0 },		/* components: 1.10 does not start with 1.1 */
	{ "pytorch=1.12", 32 },
	{ "pytorch !=1.*", 33 },
	{ "pytorch 2.1.0 *cuda12.1*", 4 },
	{ "pytorch==2.0.1=*_cpu_0", 4 },
	{ "pytorch[version=2.0.1, build=*cuda11.8*]", 4 },
	{ "pytorch-cuda 11.8.*", 2 },
	{ "torchvision * *cpu*", 80 },
	{ "torch*", 958 },
	{ "*[build_number='>=2']", 27 },
	{ "*", 2181 },
};

static void t_real_counts(void)
{
	struct pkgimg_ctx ctx;
	struct matchspec m;
	struct matchspec_record r;
	json_error_t jerr;
	const char *fn;
	char name[256], *path;
	json_t *j, *pk, *o;
	size_t i, n;

	path = real_path(real_files[0]);
	j = json_load_file(path, 0, &jerr);
	if (!j) {
		printf("skip - real pytorch channel counts: %s: %s\n", path, jerr.text);
		free(path);
		return;
	}
	free(path);
	pkgimg_ctx_init(&ctx);
	pk = json_object_get(j, "packages");
	for (i = 0; i < N(real_counts); i++) {
		snprintf(name, sizeof name, "real pytorch channel: '%s' matches %zu records",
			 real_counts[i].spec, real_counts[i].want);
		if (matchspec_parse(&ctx, real_counts[i].spec, &m) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		n = 0;
		json_object_foreach(pk, fn, o) {
			memset(&r, 0, sizeof r);
			r.name = json_string_value(json_object_get(o, "name"));
			r.version = json_string_value(json_object_get(o, "version"));
			r.build = json_string_value(json_object_get(o, "build"));
			r.build_number = (uint64_t)json_integer_value(json_object_get(o, "build_number"));
			r.fn = fn;
			n += matchspec_matches(&m, &r);
		}
		check(n == real_counts[i].want, name, "got %zu", n);
		matchspec_free(&m);
	}
	json_decref(j);
}

int main(void)
{
	t_version_components();
	t_version_order();
	t_version_invalid();
	t_startswith();
	t_vspec_match();
	t_vspec_str();
	t_vspec_invalid();
	t_canonical();
	t_canonical_roundtrip();
	t_fields();
	t_fields_more();
	t_match();
	t_match_dist();
	t_match_fields();
	t_patterns();
	t_channels();
	t_errors();
	t_warnings();
	t_real_data();
	t_real_counts();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
