/* pyspec/pep508.c: PEP 503 names, PEP 508 requirements and environment
 * markers, against the examples of the PEPs and the tests and behaviour of
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
#include "pyspec/pep508.h"

#include "tests/unit/check.h"

static bool streq(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

/* "a,b,c" from the extras of a requirement */
static char *join_extras(const struct pep508_req *r)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;

	for (i = 0; i < r->nextras; i++) {
		if (i)
			sbuf_addc(&sb, ',');
		sbuf_adds(&sb, r->extras[i]);
	}
	return sbuf_detach(&sb);
}

/* --- names ---------------------------------------------------------------- */

static const struct {
	const char *in, *want;
} norm_vectors[] = {
	{ "Foo__Bar.baz", "foo-bar-baz" },
	{ "friendly-bard", "friendly-bard" },
	{ "Friendly-Bard", "friendly-bard" },
	{ "FRIENDLY-BARD", "friendly-bard" },
	{ "friendly.bard", "friendly-bard" },
	{ "friendly_bard", "friendly-bard" },
	{ "friendly--bard", "friendly-bard" },
	{ "FrIeNdLy-._.-bArD", "friendly-bard" },
	{ "A", "a" },
	{ "foo_", "foo-" },
	{ "zope.interface", "zope-interface" },
	{ "", "" },
};

static const struct {
	const char *name;
	bool valid;
} valid_vectors[] = {
	{ "A", true },
	{ "aa", true },
	{ "name", true },
	{ "foo-bar.quux_baz", true },
	{ "pAcKaGe", true },
	{ "android12", true },
	{ "1name", true },
	{ "na--me", true },
	{ "a_b", true },
	{ "", false },
	{ "-name", false },
	{ "name-", false },
	{ "name.", false },
	{ "foo_", false },
	{ "_foo", false },
	{ "foo!", false },
	{ "foo bar", false },
	{ "foo\n", false },
	{ "f\xc3\xa9", false },
	{ ".", false },
};

static void t_names(void)
{
	char name[160];
	char *got;
	size_t i;
	bool v;

	for (i = 0; i < sizeof norm_vectors / sizeof norm_vectors[0]; i++) {
		snprintf(name, sizeof name, "pep503_normalize '%s' -> '%s'", norm_vectors[i].in,
			 norm_vectors[i].want);
		got = pep503_normalize(norm_vectors[i].in);
		check(streq(got, norm_vectors[i].want), name, "got '%s'", nz(got));
		free(got);
	}
	for (i = 0; i < sizeof valid_vectors / sizeof valid_vectors[0]; i++) {
		snprintf(name, sizeof name, "name '%s' is %s", valid_vectors[i].name,
			 valid_vectors[i].valid ? "valid" : "invalid");
		v = pep508_name_valid(valid_vectors[i].name);
		check(v == valid_vectors[i].valid, name, "got %d", v);
	}
}

/* --- valid requirements --------------------------------------------------- */

static const struct {
	const char *in;
	const char *name, *norm, *extras, *url, *marker;
	const char *str;	/* pep508_req_str */
} req_vectors[] = {
	/* PEP 508's examples */
	{ "A", "A", "a", "", NULL, NULL, "A" },
	{ "A.B-C_D", "A.B-C_D", "a-b-c-d", "", NULL, NULL, "A.B-C_D" },
	{ "aa", "aa", "aa", "", NULL, NULL, "aa" },
	{ "name", "name", "name", "", NULL, NULL, "name" },
	{ "name<=1", "name", "name", "", NULL, NULL, "name<=1" },
	{ "name>=3", "name", "name", "", NULL, NULL, "name>=3" },
	{ "name>=3,<2", "name", "name", "", NULL, NULL, "name<2,>=3" },
	{ "name@http://foo.com", "name", "name", "", "http://foo.com", NULL,
	  "name @ http://foo.com" },
	{ "name [fred,bar] @ http://foo.com ; python_version=='2.7'", "name", "name",
	  "bar,fred", "http://foo.com", "python_version == \"2.7\"",
	  "name[bar,fred] @ http://foo.com ; python_version == \"2.7\"" },
	{ "name[quux, strange];python_version<'2.7' and platform_version=='2'", "name", "name",
	  "quux,strange", NULL, "python_version < \"2.7\" and platform_version == \"2\"",
	  "name[quux,strange]; python_version < \"2.7\" and platform_version == \"2\"" },
	{ "name; os_name=='a' or os_name=='b'", "name", "name", "", NULL,
	  "os_name == \"a\" or os_name == \"b\"", "name; os_name == \"a\" or os_name == \"b\"" },
	{ "name; os_name=='a' and os_name=='b' or os_name=='c'", "name", "name", "", NULL,
	  "os_name == \"a\" and os_name == \"b\" or os_name == \"c\"",
	  "name; os_name == \"a\" and os_name == \"b\" or os_name == \"c\"" },
	{ "name; os_name=='a' and (os_name=='b' or os_name=='c')", "name", "name", "", NULL,
	  "os_name == \"a\" and (os_name == \"b\" or os_name == \"c\")",
	  "name; os_name == \"a\" and (os_name == \"b\" or os_name == \"c\")" },
	{ "requests[security,socks]>=2.8.1,==2.8.*; python_version < \"2.7\"", "requests",
	  "requests", "security,socks", NULL, "python_version < \"2.7\"",
	  "requests[security,socks]==2.8.*,>=2.8.1; python_version < \"2.7\"" },
	{ "requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < \"2.7\"", "requests",
	  "requests", "security,tests", NULL, "python_version < \"2.7\"",
	  "requests[security,tests]==2.8.*,>=2.8.1; python_version < \"2.7\"" },
	{ "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
	  "pip", "pip", "", "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
	  NULL, "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686" },
	/* parenthesised specifiers */
	{ "name (>=1.0)", "name", "name", "", NULL, NULL, "name>=1.0" },
	{ "name(>=1.0)", "name", "name", "", NULL, NULL, "name>=1.0" },
	{ "name ( >=1.0 , <2 ) ; os_name=='a'", "name", "name", "", NULL, "os_name == \"a\"",
	  "name<2,>=1.0; os_name == \"a\"" },
	{ "name( === arbitrarystring )", "name", "name", "", NULL, NULL, "name===arbitrarystring" },
	{ "name()", "name", "name", "", NULL, NULL, "name" },
	/* packaging's tests */
	{ "foo-bar.quux_baz", "foo-bar.quux_baz", "foo-bar-quux-baz", "", NULL, NULL,
	  "foo-bar.quux_baz" },
	{ "name (==4)", "name", "name", "", NULL, NULL, "name==4" },
	{ "name >=2, <3", "name", "name", "", NULL, NULL, "name<3,>=2" },
	{ "foobar [quux,bar]", "foobar", "foobar", "bar,quux", NULL, NULL, "foobar[bar,quux]" },
	{ "foo[]", "foo", "foo", "", NULL, NULL, "foo" },
	{ "name[ ]", "name", "name", "", NULL, NULL, "name" },
	{ "name @ https://example.com/name;v=1.1/?query=foo&bar=baz#blah ; python_version=='3.4'",
	  "name", "name", "", "https://example.com/name;v=1.1/?query=foo&bar=baz#blah",
	  "python_version == \"3.4\"",
	  "name @ https://example.com/name;v=1.1/?query=foo&bar=baz#blah ; python_version == \"3.4\"" },
	{ "name @ git+ssh://git@github.com:pypa/packaging.git", "name", "name", "",
	  "git+ssh://git@github.com:pypa/packaging.git", NULL,
	  "name @ git+ssh://git@github.com:pypa/packaging.git" },
	{ "name @ gopher:/foo/com", "name", "name", "", "gopher:/foo/com", NULL,
	  "name @ gopher:/foo/com" },
	{ "name @ file:.", "name", "name", "", "file:.", NULL, "name @ file:." },
	{ "name @ https://x/y;z", "name", "name", "", "https://x/y;z", NULL, "name @ https://x/y;z" },
	{ "name===", "name", "name", "", NULL, NULL, "name===" },
	{ "name== 1.0-alpha", "name", "name", "", NULL, NULL, "name==1.0-alpha" },
	{ "name<= 1!3.0.0.rc2", "name", "name", "", NULL, NULL, "name<=1!3.0.0.rc2" },
	{ "Django>=1.4.2,!=1.5.0,!=1.5.1; python_version < \"3\"", "Django", "django", "", NULL,
	  "python_version < \"3\"", "Django!=1.5.0,!=1.5.1,>=1.4.2; python_version < \"3\"" },
	{ "mariadb>=1.0.1; python_version >= \"3\" and extra == \"mariadb_connector\"", "mariadb",
	  "mariadb", "", NULL, "python_version >= \"3\" and extra == \"mariadb-connector\"",
	  "mariadb>=1.0.1; python_version >= \"3\" and extra == \"mariadb-connector\"" },
	{ "name; python_implementation == ''", "name", "name", "", NULL,
	  "platform_python_implementation == \"\"",
	  "name; platform_python_implementation == \"\"" },
	{ "name; os.name == 'linux'", "name", "name", "", NULL, "os_name == \"linux\"",
	  "name; os_name == \"linux\"" },
	{ "name; '8' not in platform.version", "name", "name", "", NULL,
	  "\"8\" not in platform_version", "name; \"8\" not in platform_version" },
	{ "name; sys_platform!='linux' and(os_name=='linux' or python_version>='3.3')", "name",
	  "name", "", NULL,
	  "sys_platform != \"linux\" and (os_name == \"linux\" or python_version >= \"3.3\")",
	  "name; sys_platform != \"linux\" and (os_name == \"linux\" or python_version >= \"3.3\")" },
	/* whitespace and the edges of the grammar */
	{ "  name  ", "name", "name", "", NULL, NULL, "name" },
	{ "name\t>=1.0\t;\tos_name=='a'", "name", "name", "", NULL, "os_name == \"a\"",
	  "name>=1.0; os_name == \"a\"" },
	{ "name>=1.0\n", "name", "name", "", NULL, NULL, "name>=1.0" },
	{ "name>=\n1.0", "name", "name", "", NULL, NULL, "name>=1.0" },
	{ "name>=1.0,", "name", "name", "", NULL, NULL, "name>=1.0" },
	{ "foo_", "foo_", "foo-", "", NULL, NULL, "foo_" },
	{ "foo[Bar_x,bar-x,BAR.X , a]", "foo", "foo", "a,bar-x", NULL, NULL, "foo[a,bar-x]" },
	{ "name[a-b.c_d]>=1; extra==\"A.B\"", "name", "name", "a-b-c-d", NULL,
	  "extra == \"a-b\"", "name[a-b-c-d]>=1; extra == \"a-b\"" },
	{ "name;os_name=='a'or(os_name=='b')", "name", "name", "", NULL,
	  "os_name == \"a\" or os_name == \"b\"", "name; os_name == \"a\" or os_name == \"b\"" },
	{ "name; os_name in 'a' and  'b'  not in os_name", "name", "name", "", NULL,
	  "os_name in \"a\" and \"b\" not in os_name",
	  "name; os_name in \"a\" and \"b\" not in os_name" },
	{ "name; os_name=='\\x41\\u00e9\\101'", "name", "name", "", NULL,
	  "os_name == \"A\xc3\xa9" "A\"", "name; os_name == \"A\xc3\xa9" "A\"" },
	{ "name; os_name == 'a\"b'", "name", "name", "", NULL, "os_name == \"a\\x22b\"",
	  "name; os_name == \"a\\x22b\"" },
};

static void t_req_valid(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_req r, again;
	char name[600];
	char *ex, *mk, *s, *s2;
	size_t i;
	bool ok;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof req_vectors / sizeof req_vectors[0]; i++) {
		snprintf(name, sizeof name, "requirement '%s' parses", req_vectors[i].in);
		if (pep508_req_parse(&ctx, req_vectors[i].in, &r) < 0) {
			check(false, name, "%s", ctx.errmsg);
			continue;
		}
		ex = join_extras(&r);
		mk = r.marker ? pep508_marker_str(r.marker) : NULL;
		s = pep508_req_str(&r);
		ok = streq(r.name, req_vectors[i].name) && streq(r.norm, req_vectors[i].norm) &&
		     streq(ex, req_vectors[i].extras) && streq(r.url, req_vectors[i].url) &&
		     streq(mk, req_vectors[i].marker) && streq(s, req_vectors[i].str) &&
		     r.extras[r.nextras] == NULL && (!r.url || r.spec.n == 0);
		check(ok, name, "name=%s norm=%s extras=%s url=%s marker=%s str=%s", nz(r.name),
		      nz(r.norm), ex, nz(r.url), nz(mk), s);

		snprintf(name, sizeof name, "requirement '%s': str() parses back to itself",
			 req_vectors[i].in);
		s2 = NULL;
		if (pep508_req_parse(&ctx, s, &again) == 0) {
			s2 = pep508_req_str(&again);
			pep508_req_free(&again);
		}
		check(streq(s, s2), name, "'%s' -> '%s' (%s)", s, nz(s2), ctx.errmsg);
		free(s2);
		free(s);
		free(mk);
		free(ex);
		pep508_req_free(&r);
	}
}

/* --- invalid requirements ------------------------------------------------- */

static const struct {
	const char *in;
	size_t column;		/* 1-based, as reported */
	const char *why;	/* a part of the message */
} req_invalid[] = {
	{ "name[", 6, "expected ']'" },
	{ "name>=", 5, "no valid version specifier" },
	{ "name==", 5, "no valid version specifier" },
	{ "name; os_name ==", 17, "expected a marker variable or quoted string" },
	{ "name @", 7, "expected a URL after '@'" },
	{ "name @ ", 8, "expected a URL after '@'" },
	{ "name[bar baz]", 10, "expected a comma between extra names" },
	{ "name[bar, baz,]", 15, "expected an extra name after the comma" },
	{ "name[,]", 6, "expected ']'" },
	{ "name (>= 1.0", 13, "expected ')' to match the '(' at column 6" },
	{ "name[bar, baz >= 1.0", 15, "expected ']' to match the '[' at column 5" },
	{ "name[bar, baz", 14, "expected ']'" },
	{ "name; (extra == 'example'", 26, "expected ')' to match the '(' at column 7" },
	{ "name; invalid_name", 7, "expected a marker variable or quoted string" },
	{ "name; '3.7' <= invalid_name", 16, "expected a marker variable or quoted string" },
	{ "name; '3.7' notin python_version", 13, "expected a marker operator" },
	{ "name; '3.6'inpython_version", 12, "expected a marker operator" },
	{ "name; '3.7' not python_version", 17, "expected 'in' after 'not'" },
	{ "name; os_name not", 18, "expected whitespace after 'not'" },
	{ "name; '3.7' ~ python_version", 13, "expected a marker operator" },
	{ "name 1.0", 6, "no valid version specifier" },
	{ "name >= 1.0 #", 13, "within the version specifier" },
	{ "name >= 1.0 <= 2.0", 13, "within the version specifier" },
	{ "name>=1.0,,<2", 11, "within the version specifier" },
	{ "foo!", 4, "no valid version specifier" },
	{ "==0.0", 1, "expected a package name" },
	{ "", 1, "expected a package name" },
	{ "-name", 1, "expected a package name" },
	{ "name.-", 5, "no valid version specifier" },
	{ "name>=abc", 5, "no valid version specifier" },
	{ "name ~= 1", 6, "~= needs at least two release numbers" },
	{ "name;", 6, "expected a marker variable or quoted string" },
	{ "name; ()", 8, "expected a marker variable or quoted string" },
	{ "name; os_name=='a' ;", 20, "expected the end of the dependency specifier" },
	{ "name; os_name=='a')", 19, "expected the end of the dependency specifier" },
	{ "name; os_name == \"a\" and", 25, "expected a marker variable or quoted string" },
	{ "name; os_name == \"a\" or or", 25, "expected a marker variable or quoted string" },
	{ "name; os_name == 'x", 18, "expected a marker variable or quoted string" },
	{ "name @ https://example.com/; extra == 'example'", 30, "after the URL and whitespace" },
	{ "name\n\n", 5, "no valid version specifier" },
	/* rejected by the PEP 440 specifier rules */
	{ "name==1.0.org1", 5, "invalid specifier '==1.0.org1'" },
	{ "black (>=20.*) ; extra == 'format'", 8, "invalid specifier '>=20.*'" },
	{ "name >= 1.0+local.version.label", 6, "local version label" },
	{ "name===a,b", 5, "invalid specifier 'b'" },
	/* quoted strings are Python literals */
	{ "name; os_name == 'a\\'", 18, "invalid quoted string" },
	{ "name; os_name == '\\x4'", 18, "invalid quoted string" },
	{ "name; os_name == '\\N{DASH}'", 18, "invalid quoted string" },
	{ "name; os_name == '\\0'", 18, "NUL" },
	/* ~= and === that can never be evaluated */
	{ "name; \"a\" ~= \"b\"", 11, "cannot be evaluated" },
	{ "name; \"3.11\" ~= \"3\"", 14, "cannot be evaluated" },
	{ "name; \"a\" === \"a\"", 11, "cannot be evaluated" },
};

static void t_req_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_req r;
	char name[300], want[600], col[40];
	size_t i;
	int rc;

	for (i = 0; i < sizeof req_invalid / sizeof req_invalid[0]; i++) {
		pkgimg_ctx_init(&ctx);
		memset(&r, 0x5a, sizeof r);
		snprintf(name, sizeof name, "requirement '%s' is rejected at column %zu",
			 req_invalid[i].in, req_invalid[i].column);
		rc = pep508_req_parse(&ctx, req_invalid[i].in, &r);
		snprintf(want, sizeof want, "invalid requirement '%s' at column %zu",
			 req_invalid[i].in, req_invalid[i].column);
		snprintf(col, sizeof col, "column %zu", req_invalid[i].column);
		check(rc == -PKGIMG_E_PARSE && strstr(ctx.errmsg, want) &&
		      strstr(ctx.errmsg, req_invalid[i].why) && r.nextras == 0x5a5a5a5a5a5a5a5aULL,
		      name, "rc=%d msg=%s", rc, ctx.errmsg);
		if (rc == 0)
			pep508_req_free(&r);
	}
}

/* --- requirement fields --------------------------------------------------- */

static void t_req_fields(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_req r;
	struct pep440_version v;
	int rc;
	bool ok;

	pkgimg_ctx_init(&ctx);
	rc = pep508_req_parse(&ctx, "Req_Name[Sec.B, sec-a,SEC_B, Sec_A]>=2.8.1,==2.8.*", &r);
	ok = rc == 0 && r.nextras == 2 && streq(r.extras[0], "sec-a") &&
	     streq(r.extras[1], "sec-b") && !r.extras[2] && streq(r.name, "Req_Name") &&
	     streq(r.norm, "req-name") && r.spec.n == 2 && !r.url && !r.marker;
	check(ok, "fields: extras normalised, sorted and unique; name kept; two specifiers",
	      "rc=%d %s", rc, ctx.errmsg);
	if (rc == 0) {
		memset(&v, 0, sizeof v);
		ok = pep440_parse(&ctx, "2.8.5", &v) == 0 &&
		     pep440_spec_contains(&r.spec, &v, false);
		pep440_version_free(&v);
		check(ok, "fields: the specifier set holds 2.8.5", "%s", ctx.errmsg);
		ok = pep440_parse(&ctx, "2.9", &v) == 0 &&
		     !pep440_spec_contains(&r.spec, &v, false);
		pep440_version_free(&v);
		check(ok, "fields: the specifier set excludes 2.9", "%s", ctx.errmsg);
		pep508_req_free(&r);
	}
	check(r.name == NULL && r.extras == NULL && r.marker == NULL,
	      "fields: pep508_req_free clears the struct", "name=%p", (void *)r.name);

	rc = pep508_req_parse(&ctx, "name @ http://x\n", &r);
	check(rc == 0 && streq(r.url, "http://x\n"),
	      "url: a URL runs to the first space or tab, a final newline included (packaging)",
	      "rc=%d url=%s", rc, rc == 0 ? nz(r.url) : ctx.errmsg);
	if (rc == 0)
		pep508_req_free(&r);
}

/* --- marker evaluation ---------------------------------------------------- */

static const struct {
	const char *marker;
	const char *extra;
	int want311;	/* CPython 3.11.2 on Linux x86_64 */
	int want312;	/* CPython 3.12.0 on Linux aarch64 */
} eval_vectors[] = {
	{ "python_version >= \"3.8\"", NULL, 1, 1 },
	{ "python_version > \"3.8\"", NULL, 1, 1 },
	{ "python_version < \"3.8\"", NULL, 0, 0 },
	{ "python_version == \"3.11\"", NULL, 1, 0 },
	{ "python_version == \"3.11.0\"", NULL, 1, 0 },
	{ "python_version == \"3.1\"", NULL, 0, 0 },
	{ "python_version ~= \"3.10\"", NULL, 1, 1 },
	{ "python_version ~= \"3.12\"", NULL, 0, 1 },
	{ "python_version > \"3.9\"", NULL, 1, 1 },	/* not the string order */
	{ "python_version < \"3.12\"", NULL, 1, 0 },
	{ "python_version > \"3.11.0\"", NULL, 0, 1 },
	{ "python_version == \"3.*\"", NULL, 1, 1 },
	{ "python_version != \"3.11\"", NULL, 0, 1 },
	{ "python_full_version == \"3.11.2\"", NULL, 1, 0 },
	{ "python_full_version == \"3.11.*\"", NULL, 1, 0 },
	{ "python_full_version != \"3.11.*\"", NULL, 0, 1 },
	{ "python_full_version >= \"3.11.2rc1\"", NULL, 1, 1 },
	{ "python_full_version < \"3.11.3\"", NULL, 1, 0 },
	{ "python_full_version > \"3.11\"", NULL, 1, 1 },
	{ "python_full_version > \"3.11.2.post1\"", NULL, 0, 1 },
	{ "python_full_version === \"3.11.2\"", NULL, 1, 0 },
	{ "python_full_version === \"3.11.02\"", NULL, 0, 0 },
	{ "\"3.8\" < python_version", NULL, 1, 1 },
	{ "\"3.12\" <= python_version", NULL, 0, 1 },
	{ "implementation_version >= \"3.11\"", NULL, 1, 1 },
	{ "sys_platform == \"win32\"", NULL, 0, 0 },
	{ "sys_platform == \"linux\"", NULL, 1, 1 },
	{ "sys_platform != \"win32\"", NULL, 1, 1 },
	{ "platform_machine == \"x86_64\"", NULL, 1, 0 },
	{ "platform_machine == \"aarch64\"", NULL, 0, 1 },
	{ "'linux' in sys_platform", NULL, 1, 1 },
	{ "'lin' in sys_platform", NULL, 1, 1 },
	{ "'win' in sys_platform", NULL, 0, 0 },
	{ "'win' not in sys_platform", NULL, 1, 1 },
	{ "sys_platform in 'linux2'", NULL, 1, 1 },
	{ "python_version in \"3.11.2\"", NULL, 1, 0 },
	{ "os_name == \"posix\"", NULL, 1, 1 },
	{ "os.name == \"posix\"", NULL, 1, 1 },
	{ "platform_system == \"Linux\"", NULL, 1, 1 },
	{ "platform_python_implementation == \"CPython\"", NULL, 1, 1 },
	{ "python_implementation == \"CPython\"", NULL, 1, 1 },
	{ "platform.python_implementation == \"PyPy\"", NULL, 0, 0 },
	{ "implementation_name == \"cpython\"", NULL, 1, 1 },
	{ "'Debian' in platform_version", NULL, 1, 0 },
	{ "platform_release == \"\"", NULL, 0, 1 },
	/* string comparison where a side is not a version */
	{ "os_name < \"z\"", NULL, 1, 1 },
	{ "os_name > \"p\"", NULL, 1, 1 },
	{ "os_name >= \"posix\"", NULL, 1, 1 },
	{ "os_name <= \"posiw\"", NULL, 0, 0 },
	{ "platform_machine < \"x86_65\"", NULL, 1, 1 },
	{ "platform_release >= \"6\"", NULL, 1, 0 },	/* "6.1.0-13-amd64": strings */
	{ "platform_machine ~= \"x86\"", NULL, 0, 0 },
	{ "os_name === \"posix\"", NULL, 0, 0 },
	{ "python_version ~= \"3\"", NULL, 0, 0 },
	{ "\"a\" == \"a\"", NULL, 1, 1 },
	{ "\"1.0\" === \"1.0\"", NULL, 1, 1 },
	/* extra: PEP 685 normalisation, "" when none */
	{ "extra == \"Test_X\"", "test-x", 1, 1 },
	{ "extra == \"test-x\"", "Test__X", 1, 1 },
	{ "extra == \"Test_X\"", "other", 0, 0 },
	{ "extra == \"test-x\"", NULL, 0, 0 },
	{ "extra != \"test-x\"", NULL, 1, 1 },
	{ "extra == \"\"", NULL, 1, 1 },
	{ "\"test.x\" == extra", "TEST-X", 1, 1 },
	{ "extra == \"test\" or extra == \"doc\"", "doc", 1, 1 },
	/* and binds tighter than or; parentheses */
	{ "os_name == \"posix\" and sys_platform == \"win32\"", NULL, 0, 0 },
	{ "os_name == \"posix\" or sys_platform == \"win32\"", NULL, 1, 1 },
	{ "sys_platform == \"win32\" and os_name == \"nt\" or python_version >= \"3\"", NULL, 1, 1 },
	{ "sys_platform == \"win32\" and (os_name == \"nt\" or python_version >= \"3\")", NULL, 0, 0 },
	{ "python_version >= \"3\" or sys_platform == \"win32\" and os_name == \"nt\"", NULL, 1, 1 },
	{ "(python_version >= \"3\" or sys_platform == \"win32\") and os_name == \"nt\"", NULL, 0, 0 },
	{ "((os_name == \"nt\" or os_name == \"posix\")) and python_version >= \"3.12\"", NULL, 0, 1 },
	{ "(((os_name == \"posix\")))", NULL, 1, 1 },
	{ "os_name==\"posix\"and(sys_platform==\"linux\")", NULL, 1, 1 },
	{ "python_version < \"3.8\" and (os_name == \"nt\" or extra == \"test\")", "test", 0, 0 },
	{ "python_version >= \"3.8\" and (os_name == \"nt\" or extra == \"test\")", "test", 1, 1 },
	{ "python_version >= \"3.8\" and (os_name == \"nt\" or extra == \"test\")", NULL, 0, 0 },
};

static void t_eval(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_env env311, env312;
	struct pep508_marker *m;
	char name[400];
	size_t i;
	int got;

	pkgimg_ctx_init(&ctx);
	pep508_env_init(&env311);
	pep508_env_init(&env312);
	pep508_env_linux(&env311, "3.11.2", "x86_64", "6.1.0-13-amd64",
			 "#1 SMP PREEMPT_DYNAMIC Debian 6.1.55-1 (2023-09-29)");
	pep508_env_linux(&env312, "3.12.0", "aarch64", NULL, NULL);

	for (i = 0; i < sizeof eval_vectors / sizeof eval_vectors[0]; i++) {
		if (pep508_marker_parse(&ctx, eval_vectors[i].marker, &m) < 0) {
			snprintf(name, sizeof name, "marker '%s' parses", eval_vectors[i].marker);
			check(false, name, "%s", ctx.errmsg);
			continue;
		}
		snprintf(name, sizeof name, "eval cp311 x86_64, extra %s: '%s' is %s",
			 nz(eval_vectors[i].extra), eval_vectors[i].marker,
			 eval_vectors[i].want311 ? "true" : "false");
		got = pep508_marker_eval(m, &env311, eval_vectors[i].extra);
		check(got == eval_vectors[i].want311, name, "got %d", got);
		snprintf(name, sizeof name, "eval cp312 aarch64, extra %s: '%s' is %s",
			 nz(eval_vectors[i].extra), eval_vectors[i].marker,
			 eval_vectors[i].want312 ? "true" : "false");
		got = pep508_marker_eval(m, &env312, eval_vectors[i].extra);
		check(got == eval_vectors[i].want312, name, "got %d", got);
		pep508_marker_free(m);
	}
	check(pep508_marker_eval(NULL, &env311, NULL) == 1, "eval: no marker holds", "%s", "");
	pep508_env_free(&env311);
	pep508_env_free(&env312);
}

/* --- the environment ------------------------------------------------------ */

static void t_env(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_env env = { 0 };
	struct pep508_marker *m = NULL;
	bool ok;
	int rc;

	pkgimg_ctx_init(&ctx);
	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.2", "x86_64", NULL, "#1 SMP");
	ok = streq(env.python_version, "3.11") && streq(env.python_full_version, "3.11.2") &&
	     streq(env.os_name, "posix") && streq(env.sys_platform, "linux") &&
	     streq(env.platform_system, "Linux") && streq(env.platform_machine, "x86_64") &&
	     streq(env.platform_python_implementation, "CPython") &&
	     streq(env.implementation_name, "cpython") &&
	     streq(env.implementation_version, "3.11.2") && streq(env.platform_release, "") &&
	     streq(env.platform_version, "#1 SMP");
	check(ok, "env: pep508_env_linux fills the CPython-on-Linux values", "pyver=%s",
	      nz(env.python_version));

	pep508_env_linux(&env, "3.13.0rc1", "aarch64", "6.8", NULL);
	check(streq(env.python_version, "3.13") && streq(env.platform_release, "6.8"),
	      "env: python_version is the first two numbers (3.13.0rc1 -> 3.13)", "got %s",
	      nz(env.python_version));

	rc = pep508_env_set(&ctx, &env, "sys.platform", "win32");
	check(rc == 0 && streq(env.sys_platform, "win32"),
	      "env: pep508_env_set takes the legacy dotted names", "rc=%d", rc);
	rc = pep508_env_set(&ctx, &env, "extra", "x");
	check(rc == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "unknown marker variable 'extra'"),
	      "env: 'extra' is not an environment variable", "rc=%d %s", rc, ctx.errmsg);
	rc = pep508_env_set(&ctx, &env, "python_version", "2.7");
	if (rc == 0)
		rc = pep508_marker_parse(&ctx, "python_version < '3' and sys_platform == 'win32'", &m);
	check(rc == 0 && pep508_marker_eval(m, &env, NULL) == 1,
	      "env: values set by name are the ones evaluated", "rc=%d %s", rc, ctx.errmsg);
	pep508_marker_free(m);
	pep508_env_free(&env);
	check(env.python_version == NULL && env.os_name == NULL,
	      "env: pep508_env_free clears the fields", "%s", "");

	/* an empty environment reads as "" everywhere */
	pep508_env_init(&env);
	rc = pep508_marker_parse(&ctx, "os_name == '' and platform_machine in 'x'", &m);
	check(rc == 0 && pep508_marker_eval(m, &env, NULL) == 1,
	      "env: a field left NULL reads as the empty string", "rc=%d", rc);
	pep508_marker_free(m);
}

/* --- marker text and tree ------------------------------------------------- */

static const struct {
	const char *in, *want;
} str_vectors[] = {
	{ "python_version < '3.8' and (os_name == 'nt' or extra == 'test')",
	  "python_version < \"3.8\" and (os_name == \"nt\" or extra == \"test\")" },
	{ "python_version>='3.3'", "python_version >= \"3.3\"" },
	{ "(python_version>=\"3.4\") and extra==\"oursql\"",
	  "python_version >= \"3.4\" and extra == \"oursql\"" },
	{ "(os_name=='a' or os_name=='b') and os_name=='c'",
	  "(os_name == \"a\" or os_name == \"b\") and os_name == \"c\"" },
	{ "(os_name=='a' and os_name=='b') and os_name=='c'",
	  "(os_name == \"a\" and os_name == \"b\") and os_name == \"c\"" },
	{ "((os_name=='a' or os_name=='b')) and os_name=='c'",
	  "(os_name == \"a\" or os_name == \"b\") and os_name == \"c\"" },
	{ "(os_name=='a' or os_name=='b')", "os_name == \"a\" or os_name == \"b\"" },
	{ "\t os_name\t==\t'a'  ", "os_name == \"a\"" },
	{ "platform.machine=='x' or platform.version=='y'",
	  "platform_machine == \"x\" or platform_version == \"y\"" },
	{ "extra == 'Foo__Bar.baz'", "extra == \"foo-bar-baz\"" },
	{ "'Foo_Bar' == extra", "\"foo-bar\" == extra" },
	{ "os_name == 'Foo_Bar'", "os_name == \"Foo_Bar\"" },
	{ "os_name==sys_platform", "os_name == sys_platform" },
	{ "os_name == 'a\\\\b'", "os_name == \"a\\\\b\"" },
	{ "os_name == '\\q'", "os_name == \"\\\\q\"" },
	{ "os_name == 'a\\\nb'", "os_name == \"ab\"" },
	{ "os_name == 'tab\\there'", "os_name == \"tab\there\"" },
	{ "os_name == 'line\\nbreak'", "os_name == \"line\\nbreak\"" },
	{ "python_version ~= '3.10' and implementation_name === 'cpython'",
	  "python_version ~= \"3.10\" and implementation_name === \"cpython\"" },
	{ "os_name == 'posix'\n", "os_name == \"posix\"" },
};

static void t_marker_str(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_marker *m, *again;
	char name[400];
	char *s, *s2;
	size_t i;

	pkgimg_ctx_init(&ctx);
	for (i = 0; i < sizeof str_vectors / sizeof str_vectors[0]; i++) {
		snprintf(name, sizeof name, "str '%s' -> '%s'", str_vectors[i].in,
			 str_vectors[i].want);
		if (pep508_marker_parse(&ctx, str_vectors[i].in, &m) < 0) {
			check(false, name, "%s", ctx.errmsg);
			continue;
		}
		s = pep508_marker_str(m);
		check(streq(s, str_vectors[i].want), name, "got '%s'", s);
		snprintf(name, sizeof name, "str '%s' parses back to itself", str_vectors[i].want);
		s2 = NULL;
		if (pep508_marker_parse(&ctx, s, &again) == 0) {
			s2 = pep508_marker_str(again);
			pep508_marker_free(again);
		}
		check(streq(s, s2), name, "got '%s' (%s)", nz(s2), ctx.errmsg);
		free(s2);
		free(s);
		pep508_marker_free(m);
	}
}

static void t_marker_tree(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_marker *m = NULL;
	const struct pep508_marker *a;
	bool ok;
	int rc;

	pkgimg_ctx_init(&ctx);
	rc = pep508_marker_parse(&ctx, "os_name == 'a' and os_name == 'b' and 'c' in os_name "
				 "or extra == 'X_Y'", &m);
	ok = rc == 0 && m->kind == PEP508_MARKER_OR && m->nsub == 2;
	a = ok ? m->sub[0] : NULL;
	ok = ok && a->kind == PEP508_MARKER_AND && a->nsub == 3 && !a->parens &&
	     a->sub[2]->kind == PEP508_MARKER_CMP && a->sub[2]->op == PEP508_OP_IN &&
	     !a->sub[2]->lhs.is_var && streq(a->sub[2]->lhs.value, "c") &&
	     a->sub[2]->rhs.is_var && a->sub[2]->rhs.var == PEP508_VAR_OS_NAME &&
	     m->sub[1]->lhs.var == PEP508_VAR_EXTRA && streq(m->sub[1]->rhs.value, "x-y");
	check(ok, "tree: an OR of an AND of three comparisons and one comparison",
	      "rc=%d %s", rc, ctx.errmsg);
	pep508_marker_free(m);
	m = NULL;

	rc = pep508_marker_parse(&ctx, "python_implementation != 'x' and (os.name == 'nt')", &m);
	ok = rc == 0 && m->kind == PEP508_MARKER_AND && m->nsub == 2 &&
	     m->sub[0]->lhs.var == PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION &&
	     m->sub[0]->op == PEP508_OP_NE && m->sub[1]->parens &&
	     m->sub[1]->lhs.var == PEP508_VAR_OS_NAME;
	check(ok, "tree: legacy names map to their variables; parentheses are recorded",
	      "rc=%d %s", rc, ctx.errmsg);
	pep508_marker_free(m);
}

/* --- invalid markers ------------------------------------------------------ */

static const struct {
	const char *in;
	size_t column;
	const char *why;
} marker_invalid[] = {
	{ "", 1, "expected a marker variable or quoted string" },
	{ "os_name", 8, "expected a marker operator" },
	{ "os_name ==", 11, "expected a marker variable or quoted string" },
	{ "os_name = 'a'", 9, "expected a marker operator" },
	{ "foobar == 'x'", 1, "expected a marker variable or quoted string" },
	{ "extras == 'x'", 1, "expected a marker variable or quoted string" },
	{ "os_name == 'a' xor os_name == 'b'", 16, "expected 'and', 'or' or the end" },
	{ "os_name == 'a' andos_name == 'b'", 16, "expected 'and', 'or' or the end" },
	{ "(os_name == 'a'", 16, "expected ')'" },
	{ "os_name == 'a')", 15, "expected 'and', 'or' or the end" },
	{ "os_name == \"a'", 12, "expected a marker variable or quoted string" },
	{ "os_name == 'a\nb'", 12, "line break" },
	{ "os_name not in", 15, "expected a marker variable or quoted string" },
	{ "'a' notin os_name", 5, "expected a marker operator" },
	{ "os_name == 'a' ;", 16, "expected 'and', 'or' or the end" },
	{ "\"x\" ~= \"1.0\"", 5, "cannot be evaluated" },
	{ "\"1.0\" === \"a b\"", 7, "cannot be evaluated" },
};

static void t_marker_invalid(void)
{
	struct pkgimg_ctx ctx;
	struct pep508_marker *m;
	struct sbuf deep = SBUF_INIT;
	char name[300], want[600];
	size_t i;
	int rc;

	for (i = 0; i < sizeof marker_invalid / sizeof marker_invalid[0]; i++) {
		pkgimg_ctx_init(&ctx);
		m = (struct pep508_marker *)&ctx;	/* must stay untouched */
		snprintf(name, sizeof name, "marker '%s' is rejected at column %zu",
			 marker_invalid[i].in, marker_invalid[i].column);
		rc = pep508_marker_parse(&ctx, marker_invalid[i].in, &m);
		snprintf(want, sizeof want, "invalid marker '%s' at column %zu",
			 marker_invalid[i].in, marker_invalid[i].column);
		check(rc == -PKGIMG_E_PARSE && strstr(ctx.errmsg, want) &&
		      strstr(ctx.errmsg, marker_invalid[i].why) && m == (void *)&ctx,
		      name, "rc=%d msg=%s", rc, ctx.errmsg);
		if (rc == 0)
			pep508_marker_free(m);
	}

	/* nesting is bounded; the bound itself is fine */
	for (i = 0; i < PEP508_MAX_DEPTH; i++)
		sbuf_addc(&deep, '(');
	sbuf_adds(&deep, "os_name == 'a'");
	for (i = 0; i < PEP508_MAX_DEPTH; i++)
		sbuf_addc(&deep, ')');
	pkgimg_ctx_init(&ctx);
	rc = pep508_marker_parse(&ctx, deep.buf, &m);
	check(rc == 0, "depth: PEP508_MAX_DEPTH nested parentheses parse", "%s", ctx.errmsg);
	if (rc == 0)
		pep508_marker_free(m);
	sbuf_reset(&deep);
	for (i = 0; i < 100000; i++)
		sbuf_addc(&deep, '(');
	rc = pep508_marker_parse(&ctx, deep.buf, &m);
	check(rc == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "nested more than"),
	      "depth: 100000 open parentheses are an error, not a stack overflow", "rc=%d", rc);
	if (rc == 0)
		pep508_marker_free(m);
	sbuf_free(&deep);
}

int main(void)
{
	t_names();
	t_req_valid();
	t_req_invalid();
	t_req_fields();
	t_eval();
	t_env();
	t_marker_str();
	t_marker_tree();
	t_marker_invalid();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
