/* pyspec/pep440.c: PEP 440 versions (parsing, normalisation, order) and
 * specifier sets, against the examples of the PEP and the behaviour of
 * pypa/packaging.  Prints "ok - NAME" / "not ok - NAME" (+ "# detail");
 * exits non-zero on a failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"

#include "tests/unit/check.h"

static int cmp_sign(int c)
{
	return c < 0 ? -1 : c > 0;
}

/* Parses a version the test relies on; a failure here is a test failure
 * and leaves *v zeroed. */
static bool parse_ok(struct pkgimg_ctx *ctx, const char *s, struct pep440_version *v)
{
	memset(v, 0, sizeof *v);
	return pep440_parse(ctx, s, v) == 0;
}

/* --- normalisation ------------------------------------------------------ */

static const struct {
	const char *in, *want;
} norm_vectors[] = {
	/* the PEP's own examples */
	{ "1.0-a1", "1.0a1" },
	{ "1.0.POST", "1.0.post0" },
	{ "1.0-1", "1.0.post1" },
	{ "v1.0", "1.0" },
	{ "1!2.0RC1", "1!2.0rc1" },
	{ "1.0+ubuntu-1", "1.0+ubuntu.1" },
	{ "1.0.dev", "1.0.dev0" },
	{ "1.1RC1", "1.1rc1" },
	{ "1.0a.1", "1.0a1" },
	{ "1.0alpha1", "1.0a1" },
	{ "1.0beta2", "1.0b2" },
	{ "1.0c3", "1.0rc3" },
	{ "1.0pre4", "1.0rc4" },
	{ "1.0preview5", "1.0rc5" },
	{ "1.0a", "1.0a0" },
	{ "1.1.post-1", "1.1.post1" },
	{ "1.0.r1", "1.0.post1" },
	{ "1.0rev2", "1.0.post2" },
	{ "1.0post", "1.0.post0" },
	{ "1.2.dev-3", "1.2.dev3" },
	{ "1.0-dev1", "1.0.dev1" },
	{ "1.0_DEV_2", "1.0.dev2" },
	{ "1.0+AbC", "1.0+abc" },
	{ "1.0+ubuntu_1", "1.0+ubuntu.1" },
	{ "1.0+ubuntu.1-2_3", "1.0+ubuntu.1.2.3" },
	/* integer normalisation */
	{ "1.01", "1.1" },
	{ "1.0a05", "1.0a5" },
	{ "1.0b07", "1.0b7" },
	{ "1.0c056", "1.0rc56" },
	{ "1.0rc09", "1.0rc9" },
	{ "1.0.post000", "1.0.post0" },
	{ "1.1.dev09000", "1.1.dev9000" },
	{ "00!1.2", "1.2" },
	{ "0100!0.0", "100!0.0" },
	{ "1.0+abc.007", "1.0+abc.7" },
	{ "1.0+00", "1.0+0" },
	{ "1.0+123456789012345678901234567890", "1.0+123456789012345678901234567890" },
	/* whitespace, case, the leading v */
	{ "   v1.0\t\n", "1.0" },
	{ "V2.0", "2.0" },
	{ "1.0ALPHA1", "1.0a1" },
	{ "1.0.Post1.DEV2", "1.0.post1.dev2" },
	/* release zeros are kept */
	{ "1.0.0", "1.0.0" },
	{ "0", "0" },
	/* everything at once */
	{ "1!2.3.4rc5.post6.dev7+abc.8", "1!2.3.4rc5.post6.dev7+abc.8" },
	{ "1.0a1.post2.dev3+abc.5", "1.0a1.post2.dev3+abc.5" },
	{ "1.0-c1-2-dev3+x", "1.0rc1.post2.dev3+x" },
	{ "1.0a1-1", "1.0a1.post1" },
	{ "1.0-0", "1.0.post0" },
	/* packaging's grammar: a separator after a label is taken even with
	 * no number behind it, and "a-1" is the pre-release number */
	{ "1.0a.", "1.0a0" },
	{ "1.0-dev-", "1.0.dev0" },
	{ "1.0a-1", "1.0a1" },
	{ "1.0a--1", "1.0a0.post1" },
	{ "1.0a..dev1", "1.0a0.dev1" },
	{ "1.0_post_1", "1.0.post1" },
	{ "1.0.post.dev", "1.0.post0.dev0" },
	{ "18446744073709551615", "18446744073709551615" },
};

static void t_normalize(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version v, again;
	char name[160], *got, *got2;
	size_t i;
	bool ok;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof norm_vectors / sizeof norm_vectors[0]; i++) {
		snprintf(name, sizeof name, "normalize '%s' -> '%s'", norm_vectors[i].in,
			 norm_vectors[i].want);
		if (!parse_ok(&ctx, norm_vectors[i].in, &v)) {
			check(false, name, "parse failed: %s", ctx.errmsg);
			continue;
		}
		got = pep440_normalize(&v);
		/* the canonical form parses back to itself and the same version */
		ok = parse_ok(&ctx, got, &again);
		got2 = ok ? pep440_normalize(&again) : xstrdup("(unparsable)");
		check(!strcmp(got, norm_vectors[i].want) && !strcmp(got2, got) &&
		      pep440_cmp(&v, &again) == 0,
		      name, "got '%s', reparsed '%s'", got, got2);
		free(got);
		free(got2);
		pep440_version_free(&again);
		pep440_version_free(&v);
	}
}

static void t_fields(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version v;
	bool ok;

	pkgimg_ctx_init(&ctx);
	ok = parse_ok(&ctx, " V1!2.3.4-PREVIEW_5-6.dev_7+Ab-08.c ", &v);
	check(ok && v.epoch == 1 && v.nrelease == 3 && v.release[0] == 2 && v.release[1] == 3 &&
	      v.release[2] == 4 && v.pre == PEP440_PRE_RC && v.pre_n == 5 && v.has_post &&
	      v.post == 6 && v.has_dev && v.dev == 7 && v.local && !strcmp(v.local, "ab.8.c"),
	      "fields: epoch, release, pre, post, dev and local are all parsed",
	      "ok=%d epoch=%llu nrelease=%zu pre=%d/%llu post=%d/%llu dev=%d/%llu local=%s",
	      ok, (unsigned long long)v.epoch, v.nrelease, (int)v.pre,
	      (unsigned long long)v.pre_n, v.has_post, (unsigned long long)v.post, v.has_dev,
	      (unsigned long long)v.dev, v.local ? v.local : "(null)");
	pep440_version_free(&v);

	ok = parse_ok(&ctx, "2.0", &v);
	check(ok && v.epoch == 0 && v.nrelease == 2 && v.pre == PEP440_PRE_NONE && !v.has_post &&
	      !v.has_dev && !v.local,
	      "fields: a plain release has no epoch, pre, post, dev or local",
	      "ok=%d nrelease=%zu", ok, v.nrelease);
	pep440_version_free(&v);

	ok = parse_ok(&ctx, "18446744073709551615.0.post18446744073709551615", &v);
	check(ok && v.release[0] == UINT64_MAX && v.post == UINT64_MAX,
	      "fields: 2^64-1 is the largest number accepted", "ok=%d %s", ok, ctx.errmsg);
	pep440_version_free(&v);
}

static void t_copy(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version v, c;
	char *a = NULL, *b = NULL;
	bool ok;

	pkgimg_ctx_init(&ctx);
	ok = parse_ok(&ctx, "1!2.0.3a4.post5.dev6+loc.7", &v);
	if (ok) {
		pep440_version_copy(&c, &v);
		a = pep440_normalize(&v);
		pep440_version_free(&v);	/* the copy owns its own memory */
		b = pep440_normalize(&c);
		pep440_version_free(&c);
	}
	check(ok && a && b && !strcmp(a, b) && !strcmp(b, "1!2.0.3a4.post5.dev6+loc.7"),
	      "copy: a deep copy outlives its source", "a=%s b=%s", a ? a : "-", b ? b : "-");
	free(a);
	free(b);
}

/* --- invalid versions -------------------------------------------------- */

static const char *const invalid_versions[] = {
	"1.0+", "1..0", "abc", "1.0-", "1.0+a+b", "", "   ", "1.0.", ".1", "v", "vv1.0",
	"1.0 a1", "1.0+a.", "1.0+.a", "1.0+a..b", "1.0a1a2", "1.0.post1.post2",
	"1.0dev1dev2", "1!", "!1", "1!!2", "1.0.*", "1.0rc1a1", "1.0.dev1a1",
	"1.0.dev1.post1", "1.0-dev-1-", "french toast", "1.0+a+", "1.0++", "1.0+_foobar",
	"1.0+foo&asd", "1.0+1+1", "1.0_1", "1.0.1-", "1.0-.1", "1.0ap", "1.0prev", "1.0re",
	"1.0a1b", "1!v1.0", "1.0+ab c", "=1.0", "1,0", "1.0\x01",
	"18446744073709551616", "1.0.post18446744073709551616",
	"99999999999999999999!1.0",
};

static void t_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version v;
	char name[160], want[160];
	size_t i;
	int r;

	for (i = 0; i < sizeof invalid_versions / sizeof invalid_versions[0]; i++) {
		pkgimg_ctx_init(&ctx);
		memset(&v, 0x5a, sizeof v);
		snprintf(name, sizeof name, "invalid version '%s' is rejected", invalid_versions[i]);
		r = pep440_parse(&ctx, invalid_versions[i], &v);
		/* the message names the version (control characters escaped);
		 * out stays as it was */
		{
			char *shown = str_escape(invalid_versions[i]);

			snprintf(want, sizeof want, "invalid version '%s'", shown);
			free(shown);
		}
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, want) && v.nrelease == 0x5a5a5a5a5a5a5a5aULL,
		      name, "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			pep440_version_free(&v);
	}

	pkgimg_ctx_init(&ctx);
	r = pep440_parse(&ctx, "18446744073709551616", &v);
	check(r < 0 && strstr(ctx.errmsg, "too large"),
	      "overflow: a number past 2^64-1 is an error that says so", "msg=%s", ctx.errmsg);

	pkgimg_ctx_init(&ctx);
	r = pep440_parse(&ctx, "1.0+", &v);
	check(r < 0 && strstr(ctx.errmsg, "local"),
	      "message: an empty local label is named as such", "msg=%s", ctx.errmsg);

	r = pep440_parse_blob(&ctx, (struct blob){ "1.2.3junk", 3 }, &v);
	check(r == 0 && v.nrelease == 2 && v.release[1] == 2,
	      "blob: only the slice is parsed", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pep440_version_free(&v);
}

/* --- ordering ---------------------------------------------------------- */

/* strictly increasing */
static const char *const ordered[] = {
	"0.1",
	"0.9.dev0",
	"0.9",
	"0.9.post1",
	"0.10",
	"1.0.dev0",
	"1.0.dev456",
	"1.0.dev456+local",
	"1.0a1.dev1",
	"1.0a1",
	"1.0a1+abc",
	"1.0a1.post1.dev1",
	"1.0a1.post1",
	"1.0a2.dev456",
	"1.0a12.dev456",
	"1.0a12",
	"1.0b1.dev456",
	"1.0b2",
	"1.0b2.post345.dev456",
	"1.0b2.post345",
	"1.0b2-346",
	"1.0c1.dev456",
	"1.0c1",
	"1.0rc2",
	"1.0c3",
	"1.0",
	"1.0+abc",
	"1.0+abc.a",
	"1.0+abc.5",
	"1.0+abc.10",
	"1.0+abd",
	"1.0+5",
	"1.0+5.a",
	"1.0+10",
	"1.0.post456.dev34",
	"1.0.post456",
	"1.0.post456+x",
	"1.0.1",
	"1.1.dev1",
	"1.2+123abc",
	"1.2+123abc456",
	"1.2+abc",
	"1.2+abc123",
	"1.2+abc123def",
	"1.2+1234.abc",
	"1.2+123456",
	"1.2.r32+123456",
	"1.2.rev33+123456",
	"2.0",
	"10.0",
	"18446744073709551615.0",
	"1!0.1",
	"1!1.0.dev456",
	"1!1.0a1",
	"1!1.0",
	"1!1.2.rev33+123456",
	"2!0.0.1",
};

static void t_order(void)
{
	enum { N = sizeof ordered / sizeof ordered[0] };
	struct pkgimg_ctx ctx;
	struct pep440_version v[N];
	char name[160];
	size_t i, j;
	bool ok, parsed = true;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < N; i++)
		if (!parse_ok(&ctx, ordered[i], &v[i])) {
			check(false, "order: every listed version parses", "'%s': %s", ordered[i],
			      ctx.errmsg);
			parsed = false;
		}
	if (!parsed)
		goto out;
	for (i = 0; i < N; i++) {
		ok = pep440_cmp(&v[i], &v[i]) == 0;
		for (j = i + 1; ok && j < N; j++)
			ok = pep440_cmp(&v[i], &v[j]) < 0 && pep440_cmp(&v[j], &v[i]) > 0;
		snprintf(name, sizeof name, "order: '%s' is below every later version", ordered[i]);
		check(ok, name, "fails against '%s': cmp=%d, reverse %d", ordered[j - 1],
		      pep440_cmp(&v[i], &v[j - 1]), pep440_cmp(&v[j - 1], &v[i]));
	}
out:
	for (i = 0; i < N; i++)
		pep440_version_free(&v[i]);
}

static const struct {
	const char *a, *b;
	int want;		/* sign of cmp(a, b) */
	int want_public;	/* sign of cmp_public(a, b) */
} cmp_vectors[] = {
	{ "1.0", "1.0.0", 0, 0 },
	{ "1.0", "1.0.0.0.0", 0, 0 },
	{ "1", "1.0", 0, 0 },
	{ "1.0a1", "1.0.0a1", 0, 0 },
	{ "1.0c1", "1.0rc1", 0, 0 },
	{ "1.0pre1", "1.0rc1", 0, 0 },
	{ "1.0-1", "1.0.post1", 0, 0 },
	{ "1.0r", "1.0.post0", 0, 0 },
	{ "1.0.post0", "1.0-0", 0, 0 },
	{ "0!1.0", "1.0", 0, 0 },
	{ "v1.0", "1.0", 0, 0 },
	{ "1.0+abc.5", "1.0+ABC-05", 0, 0 },
	{ "1.0+1", "1.0+01", 0, 0 },
	{ "1.0+a.b", "1.0.0+a-b", 0, 0 },
	{ "1.0", "1.0+0", -1, 0 },
	{ "1.0+abc", "1.0+def", -1, 0 },
	{ "1.0+9", "1.0+10", -1, 0 },
	{ "1.0+z", "1.0+0", -1, 0 },
	{ "1.0+a", "1.0+a.0", -1, 0 },
	{ "1.0+99999999999999999999", "1.0+100000000000000000000", -1, 0 },
	{ "1.0.dev1", "1.0a1", -1, -1 },
	{ "1.0.dev1", "1.0a1.dev1", -1, -1 },
	{ "1.0a1.post1.dev1", "1.0a1.post1", -1, -1 },
	{ "1.0a1.post1", "1.0a2.dev1", -1, -1 },
	{ "1.0.post1.dev1", "1.0", 1, 1 },
	{ "1.0.post1.dev1", "1.0.post1", -1, -1 },
	{ "1.0rc1", "1.0", -1, -1 },
	{ "1!0.1", "999.0", 1, 1 },
	{ "1.10", "1.9", 1, 1 },
	{ "1.0.0.1", "1.0", 1, 1 },
	{ "18446744073709551615", "18446744073709551614.9", 1, 1 },
};

static void t_cmp(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version a, b;
	char name[160];
	size_t i;
	int c, rc, cp;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof cmp_vectors / sizeof cmp_vectors[0]; i++) {
		snprintf(name, sizeof name, "cmp '%s' %s '%s'", cmp_vectors[i].a,
			 cmp_vectors[i].want < 0 ? "<" : cmp_vectors[i].want > 0 ? ">" : "==",
			 cmp_vectors[i].b);
		if (!parse_ok(&ctx, cmp_vectors[i].a, &a) || !parse_ok(&ctx, cmp_vectors[i].b, &b)) {
			check(false, name, "parse: %s", ctx.errmsg);
			pep440_version_free(&a);
			continue;
		}
		c = cmp_sign(pep440_cmp(&a, &b));
		rc = cmp_sign(pep440_cmp(&b, &a));
		cp = cmp_sign(pep440_cmp_public(&a, &b));
		check(c == cmp_vectors[i].want && rc == -c && cp == cmp_vectors[i].want_public,
		      name, "cmp=%d reverse=%d public=%d", c, rc, cp);
		pep440_version_free(&a);
		pep440_version_free(&b);
	}
}

static const struct {
	const char *v;
	bool pre, post;
} kind_vectors[] = {
	{ "1.0", false, false },
	{ "1.0a1", true, false },
	{ "1.0.dev1", true, false },
	{ "1.0rc1.post1", true, true },
	{ "1.0.post1", false, true },
	{ "1.0.post1.dev1", true, true },
	{ "1.0+dev", false, false },
};

static void t_kind(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_version v;
	char name[160];
	size_t i;
	bool ok;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof kind_vectors / sizeof kind_vectors[0]; i++) {
		snprintf(name, sizeof name, "kind: '%s' is %sa pre-release, %sa post-release",
			 kind_vectors[i].v, kind_vectors[i].pre ? "" : "not ",
			 kind_vectors[i].post ? "" : "not ");
		ok = parse_ok(&ctx, kind_vectors[i].v, &v);
		check(ok && pep440_is_prerelease(&v) == kind_vectors[i].pre &&
		      pep440_is_postrelease(&v) == kind_vectors[i].post,
		      name, "ok=%d pre=%d post=%d", ok, ok && pep440_is_prerelease(&v),
		      ok && pep440_is_postrelease(&v));
		pep440_version_free(&v);
	}
}

/* --- specifiers -------------------------------------------------------- */

struct spec_vector {
	const char *spec, *version;
	bool prereleases;	/* the caller's flag */
	bool want;
};

#define Y(s, v) { s, v, true, true }
#define N(s, v) { s, v, true, false }
/* with prereleases=false: the set's own pre-release policy applies */
#define YD(s, v) { s, v, false, true }
#define ND(s, v) { s, v, false, false }

static const struct spec_vector spec_vectors[] = {
	/* packaging's test_specifiers (prereleases=True) */
	Y("==2", "2.0"), Y("==2.0", "2.0"), Y("==2.0.0", "2.0"),
	Y("==2", "2.0+deadbeef"), Y("==2.0", "2.0+deadbeef"), Y("==2.0.0", "2.0+deadbeef"),
	Y("==2+deadbeef", "2.0+deadbeef"), Y("==2.0+deadbeef", "2.0+deadbeef"),
	Y("==2.0.0+deadbeef", "2.0+deadbeef"), Y("==2.0.0+deadbeef.00", "2.0+deadbeef.0"),
	Y("==2.*", "2.dev1"), Y("==2.*", "2a1"), Y("==2.*", "2a1.post1"), Y("==2.*", "2b1"),
	Y("==2.*", "2b1.dev1"), Y("==2.*", "2c1"), Y("==2.*", "2c1.post1.dev1"),
	Y("==2.0.*", "2c1.post1.dev1"), Y("==2.*", "2rc1"), Y("==2.0.*", "2rc1"),
	Y("==2.*", "2"), Y("==2.0.*", "2"), Y("==0!2.*", "2"), Y("==2.*", "0!2"),
	Y("==2.*", "2.0"), Y("==2.*", "2.0.0"), Y("==2.1.*", "2.1+local.version"),
	Y("!=2", "2.1"), Y("!=2.0", "2.1"), Y("!=2", "2.0.1"), Y("!=2.0", "2.0.1"),
	Y("!=2.0.0", "2.0.1"), Y("!=2.0+deadbeef", "2.0"), Y("!=3.*", "2.0"),
	Y("!=2.0.*", "2.1"),
	Y(">=2", "2.0"), Y(">=2.0", "2.0"), Y(">=2.0.0", "2.0"), Y(">=2", "2.0.post1"),
	Y(">=2", "2.0.post1.dev1"), Y(">=2", "3"),
	Y("<=2", "2.0"), Y("<=2.0", "2.0"), Y("<=2.0.0", "2.0"), Y("<=2", "2.0.dev1"),
	Y("<=2", "2.0a1"), Y("<=2", "2.0a1.dev1"), Y("<=2", "2.0b1"), Y("<=2", "2.0b1.post1"),
	Y("<=2", "2.0c1"), Y("<=2", "2.0c1.post1.dev1"), Y("<=2", "2.0rc1"), Y("<=2", "1"),
	Y(">2", "3"), Y(">2.0", "2.1"), Y(">2", "2.0.1"), Y(">2", "2.1.post1"),
	Y(">2", "2.1+local.version"),
	Y("<2", "1"), Y("<2.1", "2.0"), Y("<2.1", "2.0.dev0"),
	Y("~=1.0", "1"), Y("~=1.0", "1.0.1"), Y("~=1.0", "1.1"), Y("~=1.0", "1.9999999"),
	Y("~=1.0a1", "1.1"), Y("~=2022.01.01", "2022.01.01"),
	Y("~=2!1.0", "2!1.0"), Y("==2!1.*", "2!1.0"), Y("==2!1.0", "2!1.0"),
	Y("!=1.0", "2!1.0"), Y("!=2!1.0", "1.0"), Y("<=2!0.1", "1.0"), Y(">=2.0", "2!1.0"),
	Y("<2!0.1", "1.0"), Y(">2.0", "2!1.0"), Y(">2.0dev", "2.0.5"),
	N("==2", "2.1"), N("==2.0", "2.1"), N("==2.0.0", "2.1"), N("==2.0+deadbeef", "2.0"),
	N("==3.*", "2.0"), N("==2.0.*", "2.1"),
	N("!=2", "2.0"), N("!=2.0", "2.0"), N("!=2.0.0", "2.0"), N("!=2", "2.0+deadbeef"),
	N("!=2.0", "2.0+deadbeef"), N("!=2.0.0", "2.0+deadbeef"),
	N("!=2+deadbeef", "2.0+deadbeef"), N("!=2.0+deadbeef", "2.0+deadbeef"),
	N("!=2.0.0+deadbeef", "2.0+deadbeef"), N("!=2.0.0+deadbeef.00", "2.0+deadbeef.0"),
	N("!=2.*", "2.dev1"), N("!=2.*", "2a1"), N("!=2.*", "2a1.post1"), N("!=2.*", "2b1"),
	N("!=2.*", "2b1.dev1"), N("!=2.*", "2c1"), N("!=2.*", "2c1.post1.dev1"),
	N("!=2.0.*", "2c1.post1.dev1"), N("!=2.*", "2rc1"), N("!=2.0.*", "2rc1"),
	N("!=2.*", "2"), N("!=2.0.*", "2"), N("!=2.*", "2.0"), N("!=2.*", "2.0.0"),
	N(">=2", "2.0.dev1"), N(">=2", "2.0a1"), N(">=2", "2.0a1.dev1"), N(">=2", "2.0b1"),
	N(">=2", "2.0b1.post1"), N(">=2", "2.0c1"), N(">=2", "2.0c1.post1.dev1"),
	N(">=2", "2.0rc1"), N(">=2", "1"),
	N("<=2", "2.0.post1"), N("<=2", "2.0.post1.dev1"), N("<=2", "3"),
	N(">2", "1"), N(">2", "2.0.dev1"), N(">2", "2.0a1"), N(">2", "2.0a1.post1"),
	N(">2", "2.0b1"), N(">2", "2.0b1.dev1"), N(">2", "2.0c1"), N(">2", "2.0c1.post1.dev1"),
	N(">2", "2.0rc1"), N(">2", "2.0"), N(">2", "2.0.post1"), N(">2", "2.0.post1.dev1"),
	N(">2", "2.0+local.version"),
	N("<2", "2.0.dev1"), N("<2", "2.0a1"), N("<2", "2.0a1.post1"), N("<2", "2.0b1"),
	N("<2", "2.0b2.dev1"), N("<2", "2.0c1"), N("<2", "2.0c1.post1.dev1"), N("<2", "2.0rc1"),
	N("<2", "2.0"), N("<2", "2.post1"), N("<2", "2.post1.dev1"), N("<2", "3"),
	N("~=1.0", "2.0"), N("~=1.0.0", "1.1.0"), N("~=1.0.0", "1.1.post1"),
	N("~=2!1.0", "1.0"), N("~=1.0", "2!1.0"), N("==1.0", "2!1.0"), N("==2!1.0", "1.0"),
	N("==1.*", "2!1.0"), N("==2!1.*", "1.0"), N("!=2!1.0", "2!1.0"),

	/* the PEP's compatible-release examples */
	YD("~=2.2", "2.2"), YD("~=2.2", "2.3"), YD("~=2.2", "2.9.9"), ND("~=2.2", "3.0"),
	ND("~=2.2", "2.1"),
	YD("~=1.4.5", "1.4.5"), YD("~=1.4.5", "1.4.9"), ND("~=1.4.5", "1.5"),
	ND("~=1.4.5", "1.4.4"),
	YD("~=2.2.post3", "2.2.post3"), YD("~=2.2.post3", "2.2.post4"), YD("~=2.2.post3", "2.3"),
	ND("~=2.2.post3", "2.2"), ND("~=2.2.post3", "2.2.post2"), ND("~=2.2.post3", "3.0"),
	YD("~=1.4.5a4", "1.4.5a4"), YD("~=1.4.5a4", "1.4.5b1"), YD("~=1.4.5a4", "1.4.5"),
	YD("~=1.4.5a4", "1.4.6"), ND("~=1.4.5a4", "1.4.5a3"), ND("~=1.4.5a4", "1.5.0"),
	YD("~=2.2.0", "2.2.1"), ND("~=2.2.0", "2.3"),
	YD("~=1.4.5.0", "1.4.5.1"), ND("~=1.4.5.0", "1.4.6"),
	YD("~=1!2.2", "1!2.5"), ND("~=1!2.2", "2.5"),
	/* the prefix comes from the parsed version, spelled any way */
	YD("~=v2.2", "2.5"), YD("~=2.2.POST3", "2.3"), YD("~=2.2-3", "2.3"),
	YD("~= 1.4.5-A4", "1.4.6"), ND("~=1.4.5-A4", "1.5"),
	/* ==, != with prefixes, post-releases and local labels */
	ND("==1.1", "1.1.post1"), YD("==1.1.post1", "1.1.post1"), ND("==1.1.post1", "1.1"),
	YD("==1.1.*", "1.1.post1"), ND("!=1.1.*", "1.1.post1"), YD("!=1.1.*", "1.2"),
	YD("==1.0", "1.0+local"), YD("==1.0", "1.0.0+abc"), YD("==1.0+local", "1.0+local"),
	YD("==1.0+local", "1.0+LOCAL"), YD("==1.0+local", "1.0.0+local"),
	ND("==1.0+local", "1.0"), ND("==1.0+local", "1.0+other"), ND("==1.0+local", "1.0+local.1"),
	ND("!=1.0", "1.0+local"), YD("!=1.0+local", "1.0+other"), YD("!=1.0+local", "1.0"),
	YD("==1.0.*", "1.0.5+local"), YD("==v1.0.*", "1"), ND("==1.0.0.*", "1.0.1"),
	YD("==1!1.*", "1!1.2"), ND("==1!1.*", "1.2"),
	/* < and > exclusions */
	N("<2.0", "2.0a1"), YD("<2.0", "1.9"), Y("<2.0", "1.9a1"), ND("<2.0", "1.9a1"),
	N("<2.0", "2.0.dev0"), N("<2.0", "2.0.0rc1"), YD("<2.0", "1.9.post1"),
	ND("<2.0", "2.0"), ND("<2.0", "2.0+local"), YD("<2.0", "1.9+local"),
	YD("<2.0a2", "2.0a1"), YD("<2.0rc1", "2.0.dev5"), YD("<1.0.dev5", "1.0.dev4"),
	Y("<1.0", "0.9.dev4"), N("<1.0", "1.0.dev4"), ND("<2.0", "1!0.1"),
	ND(">1.7", "1.7.post1"), YD(">1.7", "1.7.1"), ND(">1.7", "1.7+local"),
	YD(">1.7", "1.7.1+local"), YD(">1.7", "1.8.post1"), ND(">1.7", "1.7"),
	ND(">1.7", "1.6"), ND(">1.7", "1.7.0.post1"), ND(">1.7", "1.7.0+local"),
	YD(">1.7.post2", "1.7.post3"), ND(">1.7.post2", "1.7.post2"),
	ND(">1.7.post2", "1.7.post2+local"), ND(">1.7.post2", "1.7.post3+local"),
	YD(">1.7.post2", "1.8"), Y(">1.7a1", "1.7a2"), YD(">1.7a1", "1.7"),
	ND(">1.7a1", "1.7a1.post1"), ND(">1.7a1", "1.7.post1"), YD(">=1.0", "1!0.1"),
	/* <=, >= compare the public part of the candidate */
	YD("<=2.0", "2.0+local"), ND("<=2.0", "2.0.post1"), YD(">=1.0", "1.0+local"),
	ND(">=1.0", "0.9+local"), YD(">=1.0a1.post1", "1.0a1.post1"),
	ND(">=1.0a1.post1", "1.0a1"), YD(">=1.0a1.post1", "1.0a2"),
	/* === is a string comparison with the candidate's canonical form */
	ND("===foobar", "1.0"), YD("===1.0", "1.0"), ND("===1.0", "1.0.0"),
	YD("===1.0", "v1.0"), YD("===1.0+ABC", "1.0+abc"), ND("===1.0.0", "1.0"),
	YD("===1.0a1", "1.0a1"), YD("=== 2.0", "2.0"),
	/* pre-release acceptance */
	YD("", "1.0"), ND("", "1.0a1"), Y("", "1.0a1"), ND(">=1.0", "2.0.dev1"),
	Y(">=1.0", "2.0.dev1"), YD(">=2.0.dev1", "2.0a1"), ND("==2.0.*", "2.0a1.dev1"),
	Y("==2.0.*", "2.0a1.dev1"), ND("<=2.0", "1.0.dev1"), YD("<=2.0.dev1", "1.0a1"),
	YD(">=1.0a1", "1.0b1"), YD(">=1.0a1,<2", "1.5rc1"), ND(">=1.0,!=1.5a1", "1.5a2"),
	N(">=1.0,!=1.5a1", "1.5a1"), YD("<2.0rc1", "2.0b1"), YD(">1.0b1", "1.0b2"),
	YD("==1.0.dev1", "1.0.dev1"), YD(">=1.0", "1.0.post1"),
	YD("~=1.0rc1", "1.0rc2"), ND("~=1.0", "1.1rc1"),
	/* sets, and whitespace around everything */
	ND(">=1.0, !=1.3.4.*, < 2.0", "1.3.4"), ND(">=1.0, !=1.3.4.*, < 2.0", "1.3.4.1"),
	YD(">=1.0, !=1.3.4.*, < 2.0", "1.3.5"), ND(">=1.0, !=1.3.4.*, < 2.0", "2.0"),
	ND(">=1.0, !=1.3.4.*, < 2.0", "0.9"), YD(">=1.0, !=1.3.4.*, < 2.0", "1.9.9"),
	ND("~= 0.9, >= 1.0, != 1.3.4.*, < 2.0", "1.0"),
	YD("  >= 1.0 ,,\t< 2.0 ,", "1.5"), ND("  >= 1.0 ,,\t< 2.0 ,", "2.5"),
};

static void t_spec_contains(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_specset set;
	struct pep440_version v;
	const struct spec_vector *t;
	char name[200];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof spec_vectors / sizeof spec_vectors[0]; i++) {
		t = &spec_vectors[i];
		snprintf(name, sizeof name, "spec '%s' %s '%s'%s", t->spec,
			 t->want ? "contains" : "excludes", t->version,
			 t->prereleases ? " (pre-releases allowed)" : "");
		if (pep440_spec_parse(&ctx, t->spec, &set) < 0) {
			check(false, name, "spec parse: %s", ctx.errmsg);
			continue;
		}
		if (!parse_ok(&ctx, t->version, &v)) {
			check(false, name, "version parse: %s", ctx.errmsg);
			pep440_specset_free(&set);
			continue;
		}
		got = pep440_spec_contains(&set, &v, t->prereleases);
		check(got == t->want, name, "got %s", got ? "true" : "false");
		pep440_version_free(&v);
		pep440_specset_free(&set);
	}
}

static const char *const invalid_specs[] = {
	/* packaging's test_specifiers invalid list */
	"2.0", "=>2.0", "==", "~=1.0+5", ">=1.0+deadbeef", "<=1.0+abc123", ">1.0+watwat",
	"<1.0+1.0", "~=1.0.*", ">=1.0.*", "<=1.0.*", ">1.0.*", "<1.0.*", "==1.0.*+5",
	"!=1.0.*+deadbeef", "==2.0a1.*", "!=2.0a1.*", "==2.0.post1.*", "!=2.0.post1.*",
	"==2.0.dev1.*", "!=2.0.dev1.*", "==1.0+5.*", "!=1.0+deadbeef.*", "==1.0.*.5", "~=1",
	/* and more */
	"==1.0.*+local", "<=2.0+local", "~=1!2", "~=1.0+local", ">=", "<", "===foo bar",
	"===foo;", "===a)", "> =1.0", ">= 1.0 beta", ">=1.0a1a2", "==1.*.0", "==.*",
	"==1.0..*", "==1.0.**", "=1.0", "1.0", "~=18446744073709551616.0", "foo",
	"<>1.0", "== 1.0 .*",
};

static void t_spec_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_specset set;
	char name[160], want[160];
	size_t i;
	int r;

	for (i = 0; i < sizeof invalid_specs / sizeof invalid_specs[0]; i++) {
		pkgimg_ctx_init(&ctx);
		set.v = (void *)&set;
		set.n = 12345;
		snprintf(name, sizeof name, "invalid specifier '%s' is rejected", invalid_specs[i]);
		snprintf(want, sizeof want, "invalid specifier '%s'", invalid_specs[i]);
		r = pep440_spec_parse(&ctx, invalid_specs[i], &set);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, want) && set.n == 12345,
		      name, "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			pep440_specset_free(&set);
	}

	/* the message names the one bad item of a set, with the reason */
	pkgimg_ctx_init(&ctx);
	r = pep440_spec_parse(&ctx, ">=1.0, ~=1 ,<3", &set);
	check(r < 0 && strstr(ctx.errmsg, "'~=1'") && strstr(ctx.errmsg, "two release"),
	      "message: the bad specifier of a set is named with the reason", "msg=%s",
	      ctx.errmsg);
	pkgimg_ctx_init(&ctx);
	r = pep440_spec_parse(&ctx, ">=1.0.*", &set);
	check(r < 0 && strstr(ctx.errmsg, "wildcard") && strstr(ctx.errmsg, "=="),
	      "message: a misplaced wildcard says where it is allowed", "msg=%s", ctx.errmsg);
	pkgimg_ctx_init(&ctx);
	r = pep440_spec_parse(&ctx, "<=2.0+local", &set);
	check(r < 0 && strstr(ctx.errmsg, "local"),
	      "message: a local label on an ordered comparison is named", "msg=%s", ctx.errmsg);
}

static const struct {
	const char *spec;
	size_t n;
} spec_counts[] = {
	{ "", 0 }, { " , ,", 0 }, { ">=1.0", 1 }, { ">=1.0,,<2", 2 },
	{ " ~= 0.9, >= 1.0, != 1.3.4.*, < 2.0 ", 4 }, { "===foobar", 1 }, { "===", 1 },
};

static void t_spec_parse(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_specset set;
	char name[160];
	size_t i;
	int r;
	bool ok;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof spec_counts / sizeof spec_counts[0]; i++) {
		snprintf(name, sizeof name, "spec set '%s' has %zu specifiers", spec_counts[i].spec,
			 spec_counts[i].n);
		r = pep440_spec_parse(&ctx, spec_counts[i].spec, &set);
		check(r == 0 && set.n == spec_counts[i].n, name, "r=%d n=%zu %s", r,
		      r == 0 ? set.n : 0, ctx.errmsg);
		if (r == 0)
			pep440_specset_free(&set);
	}

	r = pep440_spec_parse(&ctx, " ~= 2.2.post3 ,!=1.5.* ", &set);
	ok = r == 0 && set.n == 2 && set.v[0].op == PEP440_OP_COMPATIBLE &&
	     !strcmp(set.v[0].text, "~= 2.2.post3") && set.v[0].ver.nrelease == 2 &&
	     set.v[0].ver.has_post && set.v[1].op == PEP440_OP_NE && set.v[1].wildcard &&
	     set.v[1].ver.nrelease == 2 && set.v[1].ver.release[1] == 5;
	check(ok, "spec set: operators, versions, wildcards and texts are recorded", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		pep440_specset_free(&set);

	r = pep440_spec_parse(&ctx, "===FooBar", &set);
	ok = r == 0 && set.n == 1 && set.v[0].op == PEP440_OP_ARBITRARY && !set.v[0].has_ver &&
	     !strcmp(set.v[0].arbitrary, "FooBar");
	check(ok, "spec set: === keeps an arbitrary string that is no version", "r=%d", r);
	if (r == 0)
		pep440_specset_free(&set);

	r = pep440_spec_parse_blob(&ctx, (struct blob){ ">=1.0,<2.0;extra", 10 }, &set);
	check(r == 0 && set.n == 2 && set.v[1].op == PEP440_OP_LT,
	      "spec blob: only the slice is parsed", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pep440_specset_free(&set);
}

static const struct {
	const char *spec;
	bool want;
} mention_vectors[] = {
	{ ">=1.0a1", true }, { "<2.0rc1", true }, { ">1.0b1", true }, { "==1.0.dev1", true },
	{ "~=1.0rc1", true }, { "===1.0a1", true }, { "<=2.0.dev1", true },
	{ ">=1.0,<=2.0a1", true }, { "!=1.0a1", false }, { ">=1.0", false }, { "", false },
	{ "===foobar", false }, { ">=1.0,!=2.0a1", false }, { "==1.0.*", false },
	{ ">=1.0.post1", false },
};

static void t_mentions(void)
{
	struct pkgimg_ctx ctx;
	struct pep440_specset set;
	char name[160];
	size_t i;
	bool got;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof mention_vectors / sizeof mention_vectors[0]; i++) {
		snprintf(name, sizeof name, "spec '%s' %s a pre-release", mention_vectors[i].spec,
			 mention_vectors[i].want ? "mentions" : "does not mention");
		if (pep440_spec_parse(&ctx, mention_vectors[i].spec, &set) < 0) {
			check(false, name, "parse: %s", ctx.errmsg);
			continue;
		}
		got = pep440_spec_mentions_prerelease(&set);
		check(got == mention_vectors[i].want, name, "got %d", got);
		pep440_specset_free(&set);
	}
}

int main(void)
{
	t_normalize();
	t_fields();
	t_copy();
	t_invalid();
	t_order();
	t_cmp();
	t_kind();
	t_spec_contains();
	t_spec_invalid();
	t_spec_parse();
	t_mentions();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
