/* core/toml.c: TOML 1.0 values of every kind, the table rules, the errors
 * (each naming file:line:col), and the bounds.  Prints "ok - NAME" /
 * "not ok - NAME" (+ "# detail"); exits non-zero on a failure.
 *
 * `test_toml --json FILE...` instead prints each file's tree as one line of
 * tagged JSON (tests/integration/44-toml-vs-tomllib.sh compares it with
 * Python's tomllib): a table is an object, an array a list, a scalar
 * {"$t": TYPE, "v": TEXT} with TYPE string, integer, float, bool, datetime
 * (with an offset), datetime-local, date or time, and the date-times written
 * as Python's isoformat() writes them.  A file that does not parse prints
 * {"$error": MESSAGE}. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "core/toml.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

/* ---- the JSON dump ---- */

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c == 0x7F)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A date-time's text as Python's isoformat() writes the object tomllib
 * makes of it: microseconds (6 digits, truncated; none when zero), an
 * offset as +HH:MM (Z and -00:00 are +00:00). */
static void json_datetime(const char *s)
{
	size_t n = strlen(s), i, t0;
	char frac[7] = "000000", out[64];
	const char *kind, *rest;
	bool nonzero = false;

	if (n >= 3 && s[2] == ':') {
		kind = "time";
		t0 = 0;
	} else if (n == 10) {
		printf("{\"$t\": \"date\", \"v\": \"%s\"}", s);
		return;
	} else {
		t0 = 11;
		kind = "datetime-local";
	}
	snprintf(out, sizeof out, "%.*s", (int)(t0 + 8), s);
	rest = s + t0 + 8;
	if (*rest == '.') {
		for (i = 0, rest++; *rest >= '0' && *rest <= '9'; rest++, i++)
			if (i < 6)
				frac[i] = *rest;
		for (i = 0; i < 6; i++)
			nonzero |= frac[i] != '0';
		if (nonzero)
			snprintf(out + strlen(out), sizeof out - strlen(out), ".%s", frac);
	}
	if (*rest == 'Z' || *rest == 'z' || strcmp(rest, "-00:00") == 0) {
		strcat(out, "+00:00");
		kind = "datetime";
	} else if (*rest) {
		snprintf(out + strlen(out), sizeof out - strlen(out), "%s", rest);
		kind = "datetime";
	}
	printf("{\"$t\": \"%s\", \"v\": \"%s\"}", kind, out);
}

static void json_value(const struct toml_value *v)
{
	size_t i;

	switch (v->type) {
	case TOML_TABLE:
		putchar('{');
		for (i = 0; i < v->n; i++) {
			if (i)
				fputs(", ", stdout);
			json_str(v->keys[i]);
			fputs(": ", stdout);
			json_value(&v->items[i]);
		}
		putchar('}');
		break;
	case TOML_ARRAY:
		putchar('[');
		for (i = 0; i < v->n; i++) {
			if (i)
				fputs(", ", stdout);
			json_value(&v->items[i]);
		}
		putchar(']');
		break;
	case TOML_STRING:
		fputs("{\"$t\": \"string\", \"v\": ", stdout);
		json_str(v->s);
		putchar('}');
		break;
	case TOML_INT:
		printf("{\"$t\": \"integer\", \"v\": \"%lld\"}", (long long)v->i);
		break;
	case TOML_FLOAT:
		if (isnan(v->f))
			printf("{\"$t\": \"float\", \"v\": \"nan\"}");
		else if (isinf(v->f))
			printf("{\"$t\": \"float\", \"v\": \"%sinf\"}", v->f < 0 ? "-" : "");
		else
			printf("{\"$t\": \"float\", \"v\": \"%.17g\"}", v->f);
		break;
	case TOML_BOOL:
		printf("{\"$t\": \"bool\", \"v\": \"%s\"}", v->b ? "true" : "false");
		break;
	case TOML_DATETIME:
		json_datetime(v->s);
		break;
	}
}

static int dump_json(int argc, char **argv)
{
	struct toml_value root;
	int i, bad = 0;

	for (i = 2; i < argc; i++) {
		pkgimg_ctx_init(&ctx);
		if (toml_parse_file(&ctx, argv[i], &root) < 0) {
			fputs("{\"$error\": ", stdout);
			json_str(ctx.errmsg);
			puts("}");
			bad = 1;
			continue;
		}
		json_value(&root);
		putchar('\n');
		toml_free(&root);
	}
	return bad;
}

/* ---- the unit tests ---- */

static int parse(const char *doc, struct toml_value *out)
{
	pkgimg_ctx_init(&ctx);
	memset(out, 0, sizeof *out);
	return toml_parse(&ctx, "t.toml", doc, strlen(doc), out);
}

/* doc must parse, and dotted (a toml_path) be a string equal to want. */
static void want_str(const char *name, const char *doc, const char *dotted, const char *want)
{
	struct toml_value root;
	const char *got;

	if (parse(doc, &root) < 0) {
		check(false, name, "parse failed: %s", ctx.errmsg);
		return;
	}
	got = toml_str(toml_path(&root, dotted));
	check(got && strcmp(got, want) == 0, name, "%s = %s, want %s", dotted,
	      got ? got : "(not a string)", want);
	toml_free(&root);
}

static void want_int(const char *name, const char *doc, const char *dotted, int64_t want)
{
	struct toml_value root;
	const struct toml_value *v;

	if (parse(doc, &root) < 0) {
		check(false, name, "parse failed: %s", ctx.errmsg);
		return;
	}
	v = toml_path(&root, dotted);
	check(v && v->type == TOML_INT && v->i == want, name, "%s: type %s, %lld, want %lld",
	      dotted, v ? toml_type_name(v->type) : "none", v ? (long long)v->i : 0,
	      (long long)want);
	toml_free(&root);
}

static void want_float(const char *name, const char *doc, const char *dotted, double want)
{
	struct toml_value root;
	const struct toml_value *v;
	bool same;

	if (parse(doc, &root) < 0) {
		check(false, name, "parse failed: %s", ctx.errmsg);
		return;
	}
	v = toml_path(&root, dotted);
	same = v && v->type == TOML_FLOAT &&
	       (isnan(want) ? isnan(v->f) : v->f == want && signbit(v->f) == signbit(want));
	check(same, name, "%s: type %s, %.17g, want %.17g", dotted,
	      v ? toml_type_name(v->type) : "none", v ? v->f : 0, want);
	toml_free(&root);
}

static void want_dt(const char *name, const char *doc, const char *dotted, const char *want)
{
	struct toml_value root;
	const struct toml_value *v;

	if (parse(doc, &root) < 0) {
		check(false, name, "parse failed: %s", ctx.errmsg);
		return;
	}
	v = toml_path(&root, dotted);
	check(v && v->type == TOML_DATETIME && strcmp(v->s, want) == 0, name,
	      "%s: type %s, %s, want %s", dotted, v ? toml_type_name(v->type) : "none",
	      v && v->s ? v->s : "-", want);
	toml_free(&root);
}

/* doc must be refused with "t.toml:WHERE: [parse] " and a message that
 * contains part (where: "LINE:COL", or NULL not to check). */
static void want_err(const char *name, const char *doc, const char *where, const char *part)
{
	struct toml_value root;
	char prefix[64];
	int rc = parse(doc, &root);

	if (rc == 0) {
		check(false, name, "parsed, want an error");
		toml_free(&root);
		return;
	}
	if (where)
		snprintf(prefix, sizeof prefix, "t.toml:%s: [parse] ", where);
	else
		snprintf(prefix, sizeof prefix, "t.toml:");
	check(rc == -PKGIMG_E_PARSE && str_starts_with(ctx.errmsg, prefix) &&
	      strstr(ctx.errmsg, "[parse] ") && (!part || strstr(ctx.errmsg, part)), name,
	      "rc %d, message: %s (want %s…%s)", rc, ctx.errmsg, prefix, part ? part : "");
}

static void want_ok(const char *name, const char *doc)
{
	struct toml_value root;

	if (parse(doc, &root) < 0) {
		check(false, name, "parse failed: %s", ctx.errmsg);
		return;
	}
	check(true, name, "-");
	toml_free(&root);
}

static void test_strings(void)
{
	want_str("string: basic escapes", "a = \"x\\t\\\"y\\\\\\n\\b\\f\\r\"", "a",
		 "x\t\"y\\\n\b\f\r");
	want_str("string: \\u and \\U", "a = \"\\u00e9\\U0001F600\"", "a", "\xc3\xa9\xf0\x9f\x98\x80");
	want_str("string: literal keeps backslashes", "a = 'C:\\new\\t'", "a", "C:\\new\\t");
	want_str("string: multi-line trims the first newline", "a = \"\"\"\nx\ny\"\"\"", "a", "x\ny");
	want_str("string: multi-line CRLF becomes LF", "a = \"\"\"\r\nx\r\ny\"\"\"", "a", "x\ny");
	want_str("string: line-ending backslash", "a = \"\"\"x \\   \n\n   y\"\"\"", "a", "x y");
	want_str("string: line-ending backslash, CRLF", "a = \"\"\"x\\\r\n  y\"\"\"", "a", "xy");
	want_str("string: two quotes before the closing three", "a = \"\"\"x\"\"\"\"\"", "a",
		 "x\"\"");
	want_str("string: quotes inside multi-line", "a = \"\"\"say \"\"hi\"\" \"\"\"", "a",
		 "say \"\"hi\"\" ");
	want_str("string: multi-line literal", "a = '''\nC:\\x\n'y''''", "a", "C:\\x\n'y'");
	want_str("string: tab allowed", "a = \"x\ty\"", "a", "x\ty");
	want_str("string: UTF-8 kept", "a = \"\xe2\x82\xac\"", "a", "\xe2\x82\xac");
	want_err("string: bad escape", "a = \"\\x41\"", "1:6", "invalid escape");
	want_err("string: surrogate escape", "a = \"\\uD800\"", "1:6", "scalar value");
	want_err("string: \\u0000 is refused (C strings)", "a = \"x\\u0000\"", "1:7", "NUL");
	want_err("string: short \\u", "a = \"\\u12\"", "1:6", "hexadecimal");
	want_err("string: newline in basic string", "a = \"x\ny\"", "1:7", "control character");
	want_err("string: unterminated", "a = \"abc", "1:5", "unterminated");
	want_err("string: unterminated multi-line", "a = '''abc\n", "1:5", "unterminated");
	want_err("string: control character", "a = \"\x01\"", "1:6", "U+0001");
	want_err("string: DEL in literal", "a = 'x\x7f'", "1:7", "U+007F");
	want_err("string: lone CR in multi-line", "a = \"\"\"x\ry\"\"\"", "1:9", "U+000D");
	want_err("string: backslash then text on the line", "a = \"\"\"x\\  y\"\"\"", "1:9",
		 "backslash");
	want_err("string: six closing quotes", "a = \"\"\"x\"\"\"\"\"\"", "1:14", NULL);
}

static void test_numbers(void)
{
	want_int("int: decimal with underscores", "a = 1_000_000", "a", 1000000);
	want_int("int: negative", "a = -17", "a", -17);
	want_int("int: plus", "a = +99", "a", 99);
	want_int("int: hex", "a = 0xDEAD_beef", "a", 0xdeadbeefLL);
	want_int("int: octal", "a = 0o755", "a", 0755);
	want_int("int: binary", "a = 0b1101", "a", 13);
	want_int("int: min int64", "a = -9223372036854775808", "a", INT64_MIN);
	want_int("int: max int64", "a = 9223372036854775807", "a", INT64_MAX);
	want_err("int: overflow", "a = 9223372036854775808", "1:5", "64 bits");
	want_err("int: leading zero", "a = 012", "1:6", NULL);
	want_err("int: double underscore", "a = 1__2", "1:6", NULL);
	want_err("int: trailing underscore", "a = 1_", "1:6", NULL);
	want_err("int: signed hex", "a = +0x10", "1:7", NULL);
	want_err("int: hex without digits", "a = 0x", "1:6", NULL);
	want_err("int: uppercase prefix", "a = 0X10", "1:6", NULL);
	want_float("float: fraction", "a = 3.1415", "a", 3.1415);
	want_float("float: exponent", "a = 5e+22", "a", 5e22);
	want_float("float: both, underscores", "a = 6.626_0e-3_4", "a", 6.626e-34);
	want_float("float: exponent with leading zeros", "a = 1E06", "a", 1e6);
	want_float("float: negative zero", "a = -0.0", "a", -0.0);
	want_float("float: inf", "a = inf", "a", INFINITY);
	want_float("float: -inf", "a = -inf", "a", -INFINITY);
	want_float("float: +nan", "a = +nan", "a", NAN);
	want_float("float: huge is inf (as Python's float)", "a = 1e400", "a", INFINITY);
	want_err("float: no digit after the point", "a = 1.", "1:6", NULL);
	want_err("float: no digit before the point", "a = .5", "1:5", "expected a value");
	want_err("float: point after exponent", "a = 1e2.5", "1:8", NULL);
	want_err("float: Inf is not inf", "a = Inf", "1:5", "expected a value");
	want_ok("bool: true and false", "a = true\nb = false");
	want_err("bool: True", "a = True", "1:5", NULL);
}

static void test_datetimes(void)
{
	want_dt("datetime: offset", "a = 1979-05-27T07:32:00Z", "a", "1979-05-27T07:32:00Z");
	want_dt("datetime: space separator becomes T", "a = 1979-05-27 00:32:00.999999-07:00", "a",
		"1979-05-27T00:32:00.999999-07:00");
	want_dt("datetime: lowercase t and z", "a = 1979-05-27t07:32:00z", "a",
		"1979-05-27T07:32:00Z");
	want_dt("datetime: local", "a = 1979-05-27T07:32:00", "a", "1979-05-27T07:32:00");
	want_dt("date: local", "a = 1979-05-27", "a", "1979-05-27");
	want_dt("time: local with fraction", "a = 07:32:00.123456789", "a", "07:32:00.123456789");
	want_dt("date: then a comment after a space", "a = 2024-02-29 # leap", "a", "2024-02-29");
	want_err("date: Feb 29 of a common year", "a = 2023-02-29", "1:5", "invalid date");
	want_err("date: Feb 29 of 1900", "a = 1900-02-29", "1:5", "invalid date");
	want_err("datetime: hour 24", "a = 1979-05-27T24:00:00", "1:5", "invalid time");
	want_err("time: without seconds", "a = 07:32", "1:6", NULL);
	want_err("datetime: offset hour 24", "a = 1979-05-27T07:32:00+24:00", "1:5", "offset");
	want_err("date: one-digit month", "a = 1979-5-27", NULL, NULL);
}

static void test_tables(void)
{
	struct toml_value root;
	const struct toml_value *v;

	want_str("key: dotted", "a.b.c = 'x'", "a.b.c", "x");
	if (parse("site.\"google.com\".x = 'y'\n'' = 1\n", &root) == 0) {
		v = toml_get(toml_get(toml_get(&root, "site"), "google.com"), "x");
		check(toml_str(v) && strcmp(toml_str(v), "y") == 0 && toml_get(&root, ""),
		      "key: quoted key with a dot, empty key", "-");
		toml_free(&root);
	} else {
		check(false, "key: quoted key with a dot, empty key", "%s", ctx.errmsg);
	}
	want_str("key: whitespace around dots", "a . b = 'x'", "a.b", "x");
	want_str("key: bare key of digits", "1234 = 'x'", "1234", "x");
	want_str("key: 3.14 is two keys", "3.14 = 'pi'", "3.14", "pi");
	want_str("table: header", "[a.b]\nc = 'x'\n", "a.b.c", "x");
	want_str("table: super-table after sub-table", "[a.b]\nc = 1\n[a]\nd = 'x'\n", "a.d", "x");
	want_str("table: sub-table of a dotted-key table", "[f]\napple.color = 'red'\n"
		 "[f.apple.texture]\nsmooth = 'yes'\n", "f.apple.texture.smooth", "yes");
	want_str("table: dotted keys extend in their section", "a.b = 1\na.c = 'x'", "a.c", "x");
	want_str("table: inline", "a = { b = 'x', c.d = 1 }", "a.b", "x");
	want_str("table: implicit super-table by dotted keys", "[x.y.z]\n[x]\ny.w = 'k'\n",
		 "x.y.w", "k");
	want_err("table: defined twice", "[a]\n[a]\n", "2:2", "defined twice");
	want_err("table: header after dotted keys", "a.b = 1\n[a]\n", "2:2", "dotted keys");
	want_err("table: header on a dotted-key sub-table", "[f]\napple.color = 1\n[f.apple]\n",
		 "3:2", "defined twice");
	want_err("table: dotted keys into a header table", "[a.b]\nx = 1\n[a]\nb.y = 2\n", "4:1",
		 "cannot add keys");
	want_err("table: dotted keys from another section", "[a]\nb.c = 1\n[x]\n[a.b.d]\n[a]\n", "5:2",
		 "defined twice");
	want_err("key: defined twice", "a = 1\na = 2\n", "2:1", "defined twice (first on line 1)");
	want_err("key: value then table", "a = 1\na.b = 2\n", "2:1", "not a table");
	want_err("key: table then value", "a.b = 1\na = 2\n", "2:1", "defined twice");
	want_err("table: header over a value", "a = 1\n[a]\n", "2:2", "not a table");
	want_err("inline: extended by a header", "a = {}\n[a.b]\n", "2:2", "inline table");
	want_err("inline: extended by dotted keys", "a = {b = 1}\na.c = 2\n", "2:1", "inline table");
	want_err("inline: inner inline closed", "a = {b = {c = 1}, b.d = 2}", "1:19", "inline table");
	want_err("inline: duplicate key", "a = {b = 1, b = 2}", "1:13", "defined twice");
	want_err("inline: trailing comma", "a = {b = 1,}", "1:12", "expected a key");
	want_err("inline: newline", "a = {b = 1,\nc = 2}", "1:12", "expected a key");
	want_err("header: unclosed", "[a\nb = 1", "1:3", "close");
	want_err("header: [[ with a space", "[ [a]]", "1:3", "expected a key");
	want_err("header: empty", "[]", "1:2", "expected a key");
	want_err("key: no value", "a =\n", "1:4", "expected a value");
	want_err("key: no =", "a 1\n", "1:3", "expected '='");
	want_err("key: two on a line", "a = 1 b = 2\n", "1:7", "end of the line");
	want_err("key: bare non-ASCII", "\xc3\xa9 = 1\n", "1:1", NULL);
	want_err("key: multi-line string as key", "\"\"\"a\"\"\" = 1\n", "1:3", NULL);
}

static void test_arrays(void)
{
	struct toml_value root;
	const struct toml_value *v;
	const char *doc =
		"a = [ 1, 'two', [3.0], {x = 4}, 1979-05-27, ]\n"
		"b = [\n  # comment\n  1, # one\n  2\n]\n"
		"[[p]]\nn = 'x'\n[p.sub]\nk = 1\n[[p]]\nn = 'y'\n[[p.q]]\nz = 1\n";

	if (parse(doc, &root) < 0) {
		check(false, "array: mixed types, comments, arrays of tables", "%s", ctx.errmsg);
		return;
	}
	v = toml_get(&root, "a");
	check(v && v->type == TOML_ARRAY && v->n == 5 && v->items[0].type == TOML_INT &&
	      v->items[1].type == TOML_STRING && v->items[2].type == TOML_ARRAY &&
	      v->items[3].type == TOML_TABLE && v->items[4].type == TOML_DATETIME,
	      "array: mixed types and a trailing comma", "a has %zu items", v ? v->n : 0);
	v = toml_get(&root, "b");
	check(v && v->n == 2 && v->items[1].i == 2, "array: comments and newlines inside", "-");
	v = toml_get(&root, "p");
	check(v && v->type == TOML_ARRAY && v->n == 2 &&
	      toml_str(toml_get(&v->items[1], "n")) && !strcmp(toml_str(toml_get(&v->items[1], "n")), "y") &&
	      toml_path(&v->items[0], "sub.k") && toml_get(&v->items[1], "q") &&
	      toml_get(&v->items[1], "q")->type == TOML_ARRAY,
	      "array of tables: elements, sub-tables of the last element", "-");
	check(toml_get(&root, "b")->line == 2 && toml_get(&root, "p")->items[1].line == 11,
	      "values know their line", "b on %u, p[1] on %u", toml_get(&root, "b")->line,
	      toml_get(&root, "p")->items[1].line);
	toml_free(&root);
	want_err("array: [[x]] on a static array", "a = [1]\n[[a]]\n", "2:3", "static array");
	want_err("array: [x] on an array of tables", "[[a]]\n[a]\n", "2:2", "array of tables");
	want_err("array: [[x]] on a table", "[a]\n[[a]]\n", "2:3", "not an array of tables");
	want_err("array: header through a static array", "a = [{}]\n[a.b]\n", "2:2", "static array");
	want_err("array: dotted keys through an array of tables", "[[x.a]]\n[x]\na.b = 1\n",
		 "3:1", "already an array");
	want_err("array: missing comma", "a = [1 2]", "1:8", "expected ','");
	want_err("array: unclosed", "a = [1,", "1:8", "expected a value");
	want_err("array: lone comma", "a = [,]", "1:6", "expected a value");
	want_ok("array: [[a]] then [a.b] twice", "[[a]]\n[a.b]\n[[a]]\n[a.b]\n");
}

static void test_lines_and_bounds(void)
{
	struct toml_value root;
	char *deep;
	size_t i, n;
	int rc;

	want_ok("newline: CRLF", "a = 1\r\nb = 2\r\n");
	want_ok("comment: tab and UTF-8", "# \t caf\xc3\xa9\na = 1 # x\n");
	want_err("newline: lone CR", "a = 1\rb = 2\n", "1:6", "end of the line");
	want_err("comment: control character", "# x\x01\n", "1:4", "comment");
	want_err("comment: lone CR", "# x\ry\n", "1:4", "comment");
	want_err("utf-8: invalid byte", "a = \"\xff\"", "1:6", "UTF-8");
	want_err("utf-8: overlong", "a = \"\xc0\xaf\"", "1:6", "UTF-8");
	want_err("utf-8: surrogate", "a = \"\xed\xa0\x80\"", "1:6", "UTF-8");
	want_err("utf-8: BOM is refused as tomllib does", "\xef\xbb\xbf" "a = 1", "1:1", NULL);
	want_err("column counts characters", "a = \"\xc3\xa9\xc3\xa9\" x", "1:10", NULL);
	pkgimg_ctx_init(&ctx);
	rc = toml_parse(&ctx, "t.toml", "a = 1\n\0", 7, &root);
	check(rc == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "t.toml:2:1: [parse] expected a key"),
	      "NUL byte", "rc %d: %s", rc, ctx.errmsg);
	/* nesting: 64 levels are fine, 65 are not, and nothing overflows the
	 * stack on a document of 100000 '[' */
	n = 100000;
	deep = xmalloc(n + 8);
	memcpy(deep, "a = ", 4);
	memset(deep + 4, '[', n);
	deep[n + 4] = 0;
	want_err("bound: 100000 nested arrays", deep, "1:69", "nested more than 64");
	free(deep);
	deep = xmalloc(4 * 70 + 16);
	strcpy(deep, "a = ");
	for (i = 0; i < 63; i++)
		strcat(deep, "[");
	for (i = 0; i < 63; i++)
		strcat(deep, "]");
	want_ok("bound: 64 levels of nesting", deep);
	strcpy(deep, "a");
	for (i = 0; i < 65; i++)
		strcat(deep, ".a");
	strcat(deep, " = 1");
	want_err("bound: a key of 66 parts", deep, "1:1", "parts");
	free(deep);
	pkgimg_ctx_init(&ctx);
	rc = toml_parse(&ctx, "big.toml", "", (size_t)TOML_MAX_BYTES + 1, &root);
	check(rc == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "big.toml: [parse]"),
	      "bound: more than TOML_MAX_BYTES", "rc %d: %s", rc, ctx.errmsg);
	/* a big flat table: the lookups must not be quadratic */
	{
		struct sbuf sb = SBUF_INIT;
		const struct toml_value *v;

		for (i = 0; i < 200000; i++)
			sbuf_addf(&sb, "k%zu = %zu\n", i, i);
		sbuf_adds(&sb, "k777 = 1\n");
		rc = parse(sb.buf, &root);
		check(rc < 0 && strstr(ctx.errmsg, "t.toml:200001:1: [parse] key k777 is defined twice"),
		      "big table: a duplicate among 200000 keys", "%s", ctx.errmsg);
		sb.len -= strlen("k777 = 1\n");
		sb.buf[sb.len] = 0;
		rc = parse(sb.buf, &root);
		v = toml_get(&root, "k199999");
		check(rc == 0 && root.n == 200000 && v && v->i == 199999,
		      "big table: 200000 keys", "rc %d %s", rc, ctx.errmsg);
		if (rc == 0)
			toml_free(&root);
		sbuf_free(&sb);
	}
}

static void test_api(void)
{
	struct toml_value root;
	char path[] = "/tmp/pkgimg-test-toml-XXXXXX";
	int fd, rc;

	if (parse("[project]\nname = 'x'\n[project.optional-dependencies]\ntest = ['pytest']\n",
		  &root) < 0) {
		check(false, "api: toml_path", "%s", ctx.errmsg);
		return;
	}
	check(toml_path(&root, "project.optional-dependencies.test") &&
	      toml_path(&root, "project.optional-dependencies.test")->type == TOML_ARRAY &&
	      !toml_path(&root, "project.nope") && !toml_path(&root, "project.name.x") &&
	      !toml_get(toml_get(&root, "project"), "nope") && !toml_str(toml_get(&root, "project")),
	      "api: toml_path, toml_get, toml_str", "-");
	check(!strcmp(toml_type_name(TOML_DATETIME), "date-time") &&
	      !strcmp(toml_type_name(TOML_TABLE), "table"), "api: toml_type_name", "-");
	toml_free(&root);
	toml_free(&root);	/* a freed value is empty: freeing it again is harmless */
	fd = mkstemp(path);
	if (fd < 0 || write(fd, "a = [1,\n  2,,]\n", 15) != 15) {
		check(false, "api: toml_parse_file", "cannot write %s", path);
		return;
	}
	close(fd);
	pkgimg_ctx_init(&ctx);
	rc = toml_parse_file(&ctx, path, &root);
	check(rc == -PKGIMG_E_PARSE && str_starts_with(ctx.errmsg, path) &&
	      strstr(ctx.errmsg, ":2:5: [parse] expected a value"),
	      "api: toml_parse_file names the file, line and column", "%s", ctx.errmsg);
	unlink(path);
	pkgimg_ctx_init(&ctx);
	rc = toml_parse_file(&ctx, path, &root);
	check(rc == -ENOENT && strstr(ctx.errmsg, "cannot open"), "api: a missing file", "%d %s", rc,
	      ctx.errmsg);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--json") == 0)
		return dump_json(argc, argv);
	test_strings();
	test_numbers();
	test_datetimes();
	test_tables();
	test_arrays();
	test_lines_and_bounds();
	test_api();
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
