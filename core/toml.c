/* TOML 1.0 reader (see core/toml.h).
 *
 * One pass over the text, which is checked to be UTF-8 first.  The document
 * is built as a tree of struct tnode (stable pointers, a hash index on large
 * tables, and the flags the redefinition rules need), then moved into the
 * public struct toml_value tree.  The rules follow the spec and, where it
 * leaves room, Python's tomllib (the oracle of tests/integration):
 *   - a table is defined once: by a [header], or by dotted keys (all in one
 *     section), or as an inline table, which is closed when its '}' is read;
 *   - a table that only exists because a longer [a.b.c] header named it may
 *     still be defined later by [a.b] or by dotted keys;
 *   - [[x]] appends to an array made by [[x]], never to a static array;
 *   - "\r\n" is a newline everywhere (a multi-line string keeps "\n"); a lone
 *     CR is an error, as every control character but tab is in strings and
 *     comments;
 *   - one deliberate difference: a string or key may not hold U+0000 (the
 *     tree's strings are C strings); tomllib takes "\u0000". */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "core/toml.h"

/* Values a document may hold (tables, arrays and scalars together): bounds
 * the memory a hostile 64 MiB document can make the reader use. */
#define TOML_MAX_VALUES	(4u << 20)

#define TN_EXPLICIT	0x01u	/* table: defined by [header] or [[header]] */
#define TN_DOTTED	0x02u	/* table: defined by dotted keys in section sec */
#define TN_FROZEN	0x04u	/* table: inline, or inside an inline value */
#define TN_AOT		0x08u	/* array: made by [[header]] */

struct tnode {
	struct toml_value v;	/* type, scalars, line; keys/items unused */
	struct tnode **kid;	/* n children (table values or array items) */
	char **key;		/* table: n keys */
	size_t n, cap;
	uint32_t *hash;		/* table: index+1 of kid by key, hcap slots */
	size_t hcap;
	unsigned flags;		/* TN_* */
	unsigned sec;		/* TN_DOTTED: the section that defined it */
};

struct tparse {
	struct pkgimg_ctx *ctx;
	const char *what;
	const char *s;
	size_t len, pos;
	unsigned line;		/* of pos */
	unsigned sec;		/* sections so far (headers and inline tables) */
	unsigned cursec;	/* the one the document's keys go to now */
	size_t nvalues;
};

static const char *tnames[] = {
	[TOML_TABLE] = "table", [TOML_ARRAY] = "array", [TOML_STRING] = "string",
	[TOML_INT] = "integer", [TOML_FLOAT] = "float", [TOML_BOOL] = "boolean",
	[TOML_DATETIME] = "date-time",
};

const char *toml_type_name(enum toml_type t)
{
	if ((unsigned)t < sizeof tnames / sizeof tnames[0] && tnames[t])
		return tnames[t];
	return "value";
}

/* ---- errors ---- */

/* "WHAT:LINE:COL: [parse] MSG" for the byte offset at (columns count code
 * points, as an editor does). */
static int fail(struct tparse *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct tparse *p, size_t at, const char *fmt, ...)
{
	unsigned line = 1, col = 1;
	char msg[1024];
	va_list ap;
	size_t i;

	if (at > p->len)
		at = p->len;
	for (i = 0; i < at; i++) {
		unsigned char c = (unsigned char)p->s[i];

		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xC0) != 0x80) {
			col++;
		}
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pkgimg_err(p->ctx, -PKGIMG_E_PARSE, "%s:%u:%u: [parse] %s", p->what, line, col, msg);
}

/* A character for a message: 'x', or U+XXXX for a control character. */
static const char *show_char(char *buf, size_t cap, const struct tparse *p, size_t at)
{
	unsigned char c;

	if (at >= p->len)
		return "end of file";
	c = (unsigned char)p->s[at];
	if (c < 0x20 || c == 0x7F)
		snprintf(buf, cap, "control character U+%04X", c);
	else if (c >= 0x80)
		snprintf(buf, cap, "non-ASCII character");
	else
		snprintf(buf, cap, "'%c'", c);
	return buf;
}

/* ---- nodes ---- */

static struct tnode *node_new(struct tparse *p, enum toml_type type, size_t at)
{
	struct tnode *n;

	if (++p->nvalues > TOML_MAX_VALUES) {
		fail(p, at, "more than %u values: refusing the document", TOML_MAX_VALUES);
		return NULL;
	}
	n = xcalloc(1, sizeof *n);
	n->v.type = type;
	n->v.line = p->line;
	return n;
}

static void node_free(struct tnode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		node_free(n->kid[i]);
		if (n->key)
			free(n->key[i]);
	}
	free(n->kid);
	free(n->key);
	free(n->hash);
	free(n->v.s);
	free(n);
}

static uint32_t key_hash(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h;
}

static void hash_rebuild(struct tnode *t)
{
	size_t i, j, mask;

	free(t->hash);
	t->hcap = 64;
	while (t->hcap < t->cap * 2)
		t->hcap *= 2;
	t->hash = xcalloc(t->hcap, sizeof *t->hash);
	mask = t->hcap - 1;
	for (i = 0; i < t->n; i++) {
		for (j = key_hash(t->key[i]) & mask; t->hash[j]; j = (j + 1) & mask)
			;
		t->hash[j] = (uint32_t)i + 1;
	}
}

static struct tnode *tab_get(const struct tnode *t, const char *key)
{
	size_t i, mask;

	if (t->hash) {
		mask = t->hcap - 1;
		for (i = key_hash(key) & mask; t->hash[i]; i = (i + 1) & mask)
			if (strcmp(t->key[t->hash[i] - 1], key) == 0)
				return t->kid[t->hash[i] - 1];
		return NULL;
	}
	for (i = 0; i < t->n; i++)
		if (strcmp(t->key[i], key) == 0)
			return t->kid[i];
	return NULL;
}

static void kid_grow(struct tnode *t)
{
	if (t->n < t->cap)
		return;
	t->cap = t->cap ? t->cap * 2 : 4;
	t->kid = xrealloc(t->kid, t->cap * sizeof *t->kid);
	if (t->v.type == TOML_TABLE)
		t->key = xrealloc(t->key, t->cap * sizeof *t->key);
}

/* Adds kid under key (owned) to table t; key must not be there. */
static void tab_add(struct tnode *t, char *key, struct tnode *kid)
{
	size_t j, mask;

	kid_grow(t);
	t->key[t->n] = key;
	t->kid[t->n] = kid;
	t->n++;
	if (t->n <= 8)
		return;
	if (!t->hash || t->n * 2 > t->hcap) {
		hash_rebuild(t);
		return;
	}
	mask = t->hcap - 1;
	for (j = key_hash(key) & mask; t->hash[j]; j = (j + 1) & mask)
		;
	t->hash[j] = (uint32_t)t->n;
}

static void arr_add(struct tnode *a, struct tnode *kid)
{
	kid_grow(a);
	a->kid[a->n++] = kid;
}

/* Marks an inline value closed: its tables take no more keys.  Stops at
 * what is frozen already (inner inline tables were closed before). */
static void freeze(struct tnode *n)
{
	size_t i;

	if (n->v.type == TOML_TABLE) {
		if (n->flags & TN_FROZEN)
			return;
		n->flags |= TN_FROZEN;
	}
	if (n->v.type == TOML_TABLE || n->v.type == TOML_ARRAY)
		for (i = 0; i < n->n; i++)
			freeze(n->kid[i]);
}

/* Moves node n into out (n is freed). */
static void node_move(struct tnode *n, struct toml_value *out)
{
	size_t i;

	*out = n->v;
	out->keys = NULL;
	out->items = NULL;
	out->n = 0;
	if (n->v.type == TOML_TABLE || n->v.type == TOML_ARRAY) {
		out->items = xcalloc(n->n ? n->n : 1, sizeof *out->items);
		if (n->v.type == TOML_TABLE) {
			out->keys = n->key ? n->key : xcalloc(1, sizeof *out->keys);
			n->key = NULL;
		}
		for (i = 0; i < n->n; i++)
			node_move(n->kid[i], &out->items[i]);
		out->n = n->n;
		n->n = 0;
	}
	n->v.s = NULL;
	node_free(n);
}

/* ---- characters ---- */

static int peek(const struct tparse *p, size_t off)
{
	return p->pos + off < p->len ? (unsigned char)p->s[p->pos + off] : -1;
}

static bool at_str(const struct tparse *p, const char *lit)
{
	size_t n = strlen(lit);

	return p->len - p->pos >= n && memcmp(p->s + p->pos, lit, n) == 0;
}

/* A newline at pos: "\n" or "\r\n"; its length, else 0. */
static size_t newline_at(const struct tparse *p, size_t pos)
{
	if (pos < p->len && p->s[pos] == '\n')
		return 1;
	if (pos + 1 < p->len && p->s[pos] == '\r' && p->s[pos + 1] == '\n')
		return 2;
	return 0;
}

static void skip_ws(struct tparse *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
		p->pos++;
}

static bool is_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7F;
}

/* A comment, if one starts at pos, up to (not including) its newline. */
static int skip_comment(struct tparse *p)
{
	char b[40];

	if (peek(p, 0) != '#')
		return 0;
	for (p->pos++; p->pos < p->len && !newline_at(p, p->pos); p->pos++)
		if (is_ctl((unsigned char)p->s[p->pos]))
			return fail(p, p->pos, "%s in a comment", show_char(b, sizeof b, p, p->pos));
	return 0;
}

/* Whitespace, newlines and comments (inside arrays). */
static int skip_ws_nl(struct tparse *p)
{
	size_t nl;
	int rc;

	for (;;) {
		skip_ws(p);
		if ((rc = skip_comment(p)) < 0)
			return rc;
		if (!(nl = newline_at(p, p->pos)))
			return 0;
		p->pos += nl;
		p->line++;
	}
}

/* The end of a statement: blanks, a comment, then a newline or the end. */
static int end_of_line(struct tparse *p)
{
	char b[40];
	size_t nl;
	int rc;

	skip_ws(p);
	if ((rc = skip_comment(p)) < 0)
		return rc;
	if (p->pos >= p->len)
		return 0;
	if (!(nl = newline_at(p, p->pos)))
		return fail(p, p->pos, "expected the end of the line, found %s",
			    show_char(b, sizeof b, p, p->pos));
	p->pos += nl;
	p->line++;
	return 0;
}

/* ---- strings ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An escape after the backslash at pos (multi: in a """ string, where a
 * backslash before the end of a line trims the newline and the blanks and
 * newlines that follow). */
static int parse_escape(struct tparse *p, bool multi, struct sbuf *out)
{
	size_t at = p->pos, n, i, save;
	uint32_t cp = 0;
	int c = peek(p, 1), h;

	if (multi && (c == ' ' || c == '\t' || c == '\n' || c == '\r')) {
		save = p->pos;
		p->pos++;
		skip_ws(p);
		if (!newline_at(p, p->pos)) {
			if (p->pos >= p->len)
				return 0;	/* the string is unterminated */
			p->pos = save;
			return fail(p, at, "a backslash at the end of a line may be followed only by "
				    "spaces before the newline (write \\\\ for a backslash)");
		}
		while (p->pos < p->len) {
			if ((n = newline_at(p, p->pos))) {
				p->pos += n;
				p->line++;
			} else if (p->s[p->pos] == ' ' || p->s[p->pos] == '\t') {
				p->pos++;
			} else {
				break;
			}
		}
		return 0;
	}
	p->pos += 2;
	switch (c) {
	case 'b': sbuf_addc(out, '\b'); return 0;
	case 't': sbuf_addc(out, '\t'); return 0;
	case 'n': sbuf_addc(out, '\n'); return 0;
	case 'f': sbuf_addc(out, '\f'); return 0;
	case 'r': sbuf_addc(out, '\r'); return 0;
	case '"': sbuf_addc(out, '"'); return 0;
	case '\\': sbuf_addc(out, '\\'); return 0;
	case 'u':
	case 'U':
		n = c == 'u' ? 4 : 8;
		for (i = 0; i < n; i++) {
			if ((h = hexval(peek(p, 0))) < 0)
				return fail(p, at, "\\%c needs %zu hexadecimal digits", c, n);
			cp = cp * 16 + (uint32_t)h;
			p->pos++;
		}
		if ((cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return fail(p, at, "\\%c%0*X is not a Unicode scalar value", c, (int)n, cp);
		if (cp == 0)
			return fail(p, at, "\\%c%0*X (NUL) in a string: pkgimg does not take NUL "
				    "characters in TOML strings or keys", c, (int)n, cp);
		sbuf_add_utf8(out, cp);
		return 0;
	default:
		return fail(p, at, "invalid escape '\\%c' (the escapes are \\b \\t \\n \\f \\r \\\" "
			    "\\\\ \\uXXXX \\UXXXXXXXX; write \\\\ for a backslash, or use a "
			    "'literal string')", c >= 0x20 && c < 0x7F ? c : '?');
	}
}

/* A string starting at pos (a quote or apostrophe); keys take only
 * one-line strings. */
static int parse_string(struct tparse *p, bool key_only, char **out)
{
	struct sbuf sb = SBUF_INIT;
	size_t start = p->pos, nl;
	char q = p->s[p->pos], b[40];
	bool multi = !key_only && (q == '"' ? at_str(p, "\"\"\"") : at_str(p, "'''"));
	int rc = 0;

	p->pos += multi ? 3 : 1;
	if (multi && (nl = newline_at(p, p->pos))) {
		p->pos += nl;
		p->line++;
	}
	sbuf_add(&sb, "", 0);
	for (;;) {
		int c = peek(p, 0);

		if (c < 0) {
			rc = fail(p, start, "unterminated string (no closing %s)",
				  multi ? (q == '"' ? "\"\"\"" : "'''") : (q == '"' ? "\"" : "'"));
			goto out;
		}
		if (c == q) {
			if (!multi) {
				p->pos++;
				break;
			}
			if (peek(p, 1) == q && peek(p, 2) == q) {
				p->pos += 3;
				/* up to two more quotes belong to the string */
				if (peek(p, 0) == q) {
					sbuf_addc(&sb, q);
					p->pos++;
					if (peek(p, 0) == q) {
						sbuf_addc(&sb, q);
						p->pos++;
					}
				}
				break;
			}
			sbuf_addc(&sb, q);
			p->pos++;
			continue;
		}
		if (c == '\\' && q == '"') {
			if ((rc = parse_escape(p, multi, &sb)) < 0)
				goto out;
			continue;
		}
		if (multi && (nl = newline_at(p, p->pos))) {
			sbuf_addc(&sb, '\n');
			p->pos += nl;
			p->line++;
			continue;
		}
		if (is_ctl((unsigned char)c)) {
			rc = fail(p, p->pos, "%s in a string (escape it%s)",
				  show_char(b, sizeof b, p, p->pos),
				  c == '\n' ? ", or use a \"\"\"multi-line string\"\"\"" : "");
			goto out;
		}
		sbuf_addc(&sb, (char)c);
		p->pos++;
	}
	*out = sbuf_detach(&sb);
out:
	sbuf_free(&sb);
	return rc;
}

/* ---- keys ---- */

struct tkey {
	char **part;
	size_t n, cap;
	size_t at;	/* where it starts */
};

static void tkey_free(struct tkey *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->part[i]);
	free(k->part);
	memset(k, 0, sizeof *k);
}

static bool is_bare(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* A key (a.b."c d"), and the blanks after it. */
static int parse_key(struct tparse *p, struct tkey *k)
{
	char b[40], *part;
	size_t start;
	int rc, c;

	k->at = p->pos;
	for (;;) {
		c = peek(p, 0);
		if (is_bare(c)) {
			start = p->pos;
			while (is_bare(peek(p, 0)))
				p->pos++;
			part = xstrndup(p->s + start, p->pos - start);
		} else if (c == '"' || c == '\'') {
			if ((rc = parse_string(p, true, &part)) < 0)
				return rc;
		} else {
			return fail(p, p->pos, "expected a key, found %s (a bare key is made of "
				    "A-Z a-z 0-9 - _; quote any other)", show_char(b, sizeof b, p, p->pos));
		}
		if (k->n == k->cap) {
			k->cap = k->cap ? k->cap * 2 : 4;
			k->part = xrealloc(k->part, k->cap * sizeof *k->part);
		}
		k->part[k->n++] = part;
		if (k->n > TOML_MAX_DEPTH)
			return fail(p, k->at, "key with more than %d parts", TOML_MAX_DEPTH);
		skip_ws(p);
		if (peek(p, 0) != '.')
			return 0;
		p->pos++;
		skip_ws(p);
	}
}

/* "a.b.c" for messages (parts quoted when not bare). */
static char *key_text(const struct tkey *k, size_t n)
{
	struct sbuf sb = SBUF_INIT;
	size_t i;
	const char *c;
	bool bare;

	sbuf_add(&sb, "", 0);
	for (i = 0; i < n; i++) {
		bare = k->part[i][0] != 0;
		for (c = k->part[i]; *c; c++)
			bare = bare && is_bare((unsigned char)*c);
		if (i)
			sbuf_addc(&sb, '.');
		if (bare)
			sbuf_adds(&sb, k->part[i]);
		else
			sbuf_addf(&sb, "\"%.200s\"", k->part[i]);
	}
	return sbuf_detach(&sb);
}

/* ---- values ---- */

static int parse_value(struct tparse *p, unsigned depth, struct tnode **out);

static bool digit_at(const struct tparse *p, size_t off)
{
	int c = peek(p, off);

	return c >= '0' && c <= '9';
}

/* n digits at pos+off; their value. */
static int digits(const struct tparse *p, size_t off, size_t n)
{
	int v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (!digit_at(p, off + i))
			return -1;
		v = v * 10 + (p->s[p->pos + off + i] - '0');
	}
	return v;
}

/* HH:MM:SS[.frac] at pos+off: its length, 0 if none (bad ranges: -1). */
static long time_len(const struct tparse *p, size_t off)
{
	int h = digits(p, off, 2), m = digits(p, off + 3, 2), s = digits(p, off + 6, 2);
	size_t n = 8;

	if (h < 0 || m < 0 || s < 0 || peek(p, off + 2) != ':' || peek(p, off + 5) != ':')
		return 0;
	if (h > 23 || m > 59 || s > 59)
		return -1;
	if (peek(p, off + 8) == '.' && digit_at(p, off + 9))
		for (n = 9; digit_at(p, off + n); n++)
			;
	return (long)n;
}

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* A date-time, date or time at pos: 1 and *out set, 0 when it is not one,
 * or an error. */
static int parse_datetime(struct tparse *p, struct tnode **out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	size_t start = p->pos, n;
	int y, mo, d, oh, om, c;
	long tl;
	char *txt;

	if (digits(p, 0, 2) >= 0 && peek(p, 2) == ':') {
		if ((tl = time_len(p, 0)) == 0)
			return 0;
		if (tl < 0)
			return fail(p, start, "invalid time (hours 00-23, minutes and seconds 00-59)");
		n = (size_t)tl;
		goto done;
	}
	y = digits(p, 0, 4);
	mo = digits(p, 5, 2);
	d = digits(p, 8, 2);
	if (y < 0 || mo < 0 || d < 0 || peek(p, 4) != '-' || peek(p, 7) != '-')
		return 0;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] + (mo == 2 && leap(y)))
		return fail(p, start, "invalid date %.10s", p->s + start);
	n = 10;
	c = peek(p, 10);
	if ((c == 'T' || c == 't' || c == ' ') && (tl = time_len(p, 11)) != 0) {
		if (tl < 0)
			return fail(p, start, "invalid time (hours 00-23, minutes and seconds 00-59)");
		n = 11 + (size_t)tl;
		c = peek(p, n);
		if (c == 'Z' || c == 'z') {
			n++;
		} else if ((c == '+' || c == '-') && (oh = digits(p, n + 1, 2)) >= 0 &&
			   peek(p, n + 3) == ':' && (om = digits(p, n + 4, 2)) >= 0) {
			if (oh > 23 || om > 59)
				return fail(p, start, "invalid time offset");
			n += 6;
		}
	}
done:
	if (!(*out = node_new(p, TOML_DATETIME, start)))
		return -PKGIMG_E_PARSE;
	txt = xstrndup(p->s + start, n);
	if (n > 10 && txt[2] != ':') {
		txt[10] = 'T';
		if (txt[n - 1] == 'z')
			txt[n - 1] = 'Z';
	}
	(*out)->v.s = txt;
	p->pos += n;
	return 1;
}

/* Digits (of base's digit set) with single underscores between them, at
 * pos: how many characters, 0 if none. */
static size_t digit_run(const struct tparse *p, size_t off, int base)
{
	size_t n = 0;

	for (;;) {
		int c = peek(p, off + n), v = hexval(c);

		if (v >= 0 && v < base && (base == 16 || (c >= '0' && c <= '9'))) {
			n++;
			continue;
		}
		if (c == '_' && n > 0) {
			int c2 = peek(p, off + n + 1), v2 = hexval(c2);

			if (v2 >= 0 && v2 < base && (base == 16 || (c2 >= '0' && c2 <= '9'))) {
				n += 2;
				continue;
			}
		}
		return n;
	}
}

/* An integer or float at pos: 1 and *out set, 0 when none starts here. */
static int parse_number(struct tparse *p, struct tnode **out)
{
	size_t start = p->pos, n = 0, i, run;
	int base = 10, sign = 0, c = peek(p, 0);
	bool isfloat = false;
	struct tnode *v;
	char *txt, *end;
	char *w;

	if (c == '0' && (peek(p, 1) == 'x' || peek(p, 1) == 'o' || peek(p, 1) == 'b')) {
		base = peek(p, 1) == 'x' ? 16 : peek(p, 1) == 'o' ? 8 : 2;
		if ((run = digit_run(p, 2, base)) > 0) {
			n = 2 + run;
			goto make;
		}
		base = 10;
	}
	if (c == '+' || c == '-') {
		sign = c;
		n = 1;
	}
	if (!digit_at(p, n))
		goto special;
	if (peek(p, n) == '0')
		n++;
	else
		n += digit_run(p, n, 10);
	if (peek(p, n) == '.' && digit_at(p, n + 1)) {
		n += 1 + digit_run(p, n + 1, 10);
		isfloat = true;
	}
	c = peek(p, n);
	if (c == 'e' || c == 'E') {
		i = n + 1;
		if (peek(p, i) == '+' || peek(p, i) == '-')
			i++;
		if (digit_at(p, i)) {
			n = i + digit_run(p, i, 10);
			isfloat = true;
		}
	}
make:
	if (!(v = node_new(p, isfloat ? TOML_FLOAT : TOML_INT, start)))
		return -PKGIMG_E_PARSE;
	txt = xmalloc(n + 1);
	for (i = 0, w = txt; i < n; i++)
		if (p->s[start + i] != '_')
			*w++ = p->s[start + i];
	*w = 0;
	errno = 0;
	if (isfloat) {
		v->v.f = strtod(txt, &end);
	} else {
		v->v.i = strtoll(base == 10 ? txt : txt + 2, &end, base);
		if (errno == ERANGE) {
			free(txt);
			node_free(v);
			return fail(p, start, "integer %.*s does not fit in 64 bits", (int)(n > 40 ? 40 : n),
				    p->s + start);
		}
	}
	free(txt);
	p->pos += n;
	*out = v;
	return 1;
special:
	if (at_str(p, sign ? (sign == '+' ? "+inf" : "-inf") : "inf") ||
	    at_str(p, sign ? (sign == '+' ? "+nan" : "-nan") : "nan")) {
		n = sign ? 4 : 3;
		if (!(v = node_new(p, TOML_FLOAT, start)))
			return -PKGIMG_E_PARSE;
		v->v.f = p->s[start + n - 1] == 'f' ? INFINITY : NAN;
		if (sign == '-')
			v->v.f = -v->v.f;
		p->pos += n;
		*out = v;
		return 1;
	}
	return 0;
}

static int parse_array(struct tparse *p, unsigned depth, struct tnode **out)
{
	struct tnode *a, *item = NULL;
	size_t start = p->pos;
	char b[40];
	int rc;

	if (!(a = node_new(p, TOML_ARRAY, start)))
		return -PKGIMG_E_PARSE;
	p->pos++;
	for (;;) {
		if ((rc = skip_ws_nl(p)) < 0)
			goto out;
		if (peek(p, 0) == ']')
			break;
		if ((rc = parse_value(p, depth + 1, &item)) < 0)
			goto out;
		arr_add(a, item);
		if ((rc = skip_ws_nl(p)) < 0)
			goto out;
		if (peek(p, 0) == ',') {
			p->pos++;
			continue;
		}
		if (peek(p, 0) != ']') {
			rc = fail(p, p->pos, "expected ',' or ']' in the array that starts at line %u, "
				  "found %s", a->v.line, show_char(b, sizeof b, p, p->pos));
			goto out;
		}
		break;
	}
	p->pos++;
	*out = a;
	a = NULL;
	rc = 0;
out:
	node_free(a);
	return rc;
}

/* Puts value v under key k (relative to table t, section sec): the dotted
 * parts' tables are made or extended as the rules allow.  Takes v. */
static int put_keyval(struct tparse *p, struct tnode *t, unsigned sec, struct tkey *k,
		      struct tnode *v)
{
	struct tnode *c;
	char *kt = NULL;
	size_t i;
	int rc = 0;

	for (i = 0; i + 1 < k->n; i++) {
		c = tab_get(t, k->part[i]);
		if (!c) {
			if (!(c = node_new(p, TOML_TABLE, k->at))) {
				rc = -PKGIMG_E_PARSE;
				goto out;
			}
			c->flags = TN_DOTTED;
			c->sec = sec;
			tab_add(t, xstrdup(k->part[i]), c);
		} else if (c->v.type != TOML_TABLE) {
			kt = key_text(k, i + 1);
			rc = fail(p, k->at, "%s is already %s %s (line %u), not a table", kt,
				  c->v.type == TOML_ARRAY || c->v.type == TOML_INT ? "an" : "a",
				  toml_type_name(c->v.type), c->v.line);
			goto out;
		} else if (c->flags & TN_FROZEN) {
			kt = key_text(k, i + 1);
			rc = fail(p, k->at, "cannot add keys to %s: it is an inline table (line %u), "
				  "closed by its '}'", kt, c->v.line);
			goto out;
		} else if ((c->flags & TN_EXPLICIT) || ((c->flags & TN_DOTTED) && c->sec != sec)) {
			kt = key_text(k, i + 1);
			rc = fail(p, k->at, "cannot add keys to table %s with dotted keys here: it was "
				  "defined on line %u (put this key there)", kt, c->v.line);
			goto out;
		} else {
			c->flags |= TN_DOTTED;
			c->sec = sec;
		}
		t = c;
	}
	if ((c = tab_get(t, k->part[k->n - 1]))) {
		kt = key_text(k, k->n);
		rc = fail(p, k->at, "key %s is defined twice (first on line %u)", kt, c->v.line);
		goto out;
	}
	tab_add(t, xstrdup(k->part[k->n - 1]), v);
	v = NULL;
out:
	free(kt);
	node_free(v);
	return rc;
}

/* "key = value" at pos (the value's nesting starts at depth). */
static int parse_keyval(struct tparse *p, struct tnode *t, unsigned sec, unsigned depth)
{
	struct tkey k = { 0 };
	struct tnode *v = NULL;
	char b[40];
	int rc;

	if ((rc = parse_key(p, &k)) < 0)
		goto out;
	if (peek(p, 0) != '=') {
		rc = fail(p, p->pos, "expected '=' after the key, found %s",
			  show_char(b, sizeof b, p, p->pos));
		goto out;
	}
	p->pos++;
	skip_ws(p);
	if (depth + k.n > TOML_MAX_DEPTH) {
		rc = fail(p, k.at, "tables nested more than %d deep", TOML_MAX_DEPTH);
		goto out;
	}
	if ((rc = parse_value(p, depth + (unsigned)k.n, &v)) < 0)
		goto out;
	rc = put_keyval(p, t, sec, &k, v);
out:
	tkey_free(&k);
	return rc;
}

static int parse_inline_table(struct tparse *p, unsigned depth, struct tnode **out)
{
	struct tnode *t;
	size_t start = p->pos;
	unsigned sec = ++p->sec;
	char b[40];
	int rc = 0;

	if (!(t = node_new(p, TOML_TABLE, start)))
		return -PKGIMG_E_PARSE;
	p->pos++;
	skip_ws(p);
	if (peek(p, 0) == '}')
		goto close;
	for (;;) {
		skip_ws(p);
		if ((rc = parse_keyval(p, t, sec, depth)) < 0)
			goto out;
		skip_ws(p);
		if (peek(p, 0) == '}')
			break;
		if (peek(p, 0) != ',') {
			rc = fail(p, p->pos, "expected ',' or '}' in the inline table that starts "
				  "at line %u, found %s (an inline table is on one line, without "
				  "a trailing comma)", t->v.line, show_char(b, sizeof b, p, p->pos));
			goto out;
		}
		p->pos++;
	}
close:
	p->pos++;
	freeze(t);
	*out = t;
	t = NULL;
out:
	node_free(t);
	return rc;
}

static int parse_value(struct tparse *p, unsigned depth, struct tnode **out)
{
	size_t start = p->pos;
	struct tnode *v;
	char b[40];
	int c = peek(p, 0), rc;

	if (depth > TOML_MAX_DEPTH)
		return fail(p, start, "values nested more than %d deep", TOML_MAX_DEPTH);
	if (c == '"' || c == '\'') {
		if (!(v = node_new(p, TOML_STRING, start)))
			return -PKGIMG_E_PARSE;
		if ((rc = parse_string(p, false, &v->v.s)) < 0) {
			node_free(v);
			return rc;
		}
		*out = v;
		return 0;
	}
	if (at_str(p, "true") || at_str(p, "false")) {
		if (!(v = node_new(p, TOML_BOOL, start)))
			return -PKGIMG_E_PARSE;
		v->v.b = c == 't';
		p->pos += v->v.b ? 4 : 5;
		*out = v;
		return 0;
	}
	if (c == '[')
		return parse_array(p, depth, out);
	if (c == '{')
		return parse_inline_table(p, depth, out);
	if ((rc = parse_datetime(p, out)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = parse_number(p, out)) != 0)
		return rc < 0 ? rc : 0;
	return fail(p, start, "expected a value, found %s (strings are quoted: \"text\")",
		    show_char(b, sizeof b, p, start));
}

/* ---- tables ---- */

/* [a.b] or [[a.b]] at pos: *cur becomes the table the next keys go to,
 * *depth its depth below the root (for the nesting bound). */
static int parse_header(struct tparse *p, struct tnode *root, struct tnode **cur,
			unsigned *depth)
{
	bool aot = at_str(p, "[[");
	struct tkey k = { 0 };
	struct tnode *t = root, *c, *e;
	char *kt = NULL;
	size_t i;
	int rc;

	p->pos += aot ? 2 : 1;
	skip_ws(p);
	if ((rc = parse_key(p, &k)) < 0)
		goto out;
	if (!(aot ? at_str(p, "]]") : at_str(p, "]"))) {
		rc = fail(p, p->pos, "expected '%s' to close the table header", aot ? "]]" : "]");
		goto out;
	}
	p->pos += aot ? 2 : 1;
	for (i = 0; i < k.n; i++) {
		bool last = i + 1 == k.n;

		c = tab_get(t, k.part[i]);
		if (!c) {
			if (!(c = node_new(p, aot && last ? TOML_ARRAY : TOML_TABLE, k.at))) {
				rc = -PKGIMG_E_PARSE;
				goto out;
			}
			tab_add(t, xstrdup(k.part[i]), c);
			if (!last)
				goto next;
			if (!aot) {
				c->flags = TN_EXPLICIT;
				goto next;
			}
			c->flags = TN_AOT;
		}
		kt = key_text(&k, i + 1);
		if (c->v.type == TOML_ARRAY && (c->flags & TN_AOT)) {
			if (last && !aot) {
				rc = fail(p, k.at, "[%s] is an array of tables (line %u): write [[%s]] "
					  "to add an element", kt, c->v.line, kt);
				goto out;
			}
			if (last) {
				if (!(e = node_new(p, TOML_TABLE, k.at))) {
					rc = -PKGIMG_E_PARSE;
					goto out;
				}
				e->flags = TN_EXPLICIT;
				arr_add(c, e);
			}
			c = c->kid[c->n - 1];
		} else if (c->v.type == TOML_ARRAY) {
			rc = fail(p, k.at, "%s is a static array (line %u): tables cannot be added "
				  "to it with [%s%s]", kt, c->v.line, aot ? "[" : "", kt);
			goto out;
		} else if (c->v.type != TOML_TABLE) {
			rc = fail(p, k.at, "%s is already %s %s (line %u), not a table", kt,
				  c->v.type == TOML_INT ? "an" : "a", toml_type_name(c->v.type),
				  c->v.line);
			goto out;
		} else if (c->flags & TN_FROZEN) {
			rc = fail(p, k.at, "%s is an inline table (line %u), closed by its '}'; it "
				  "cannot be extended by a header", kt, c->v.line);
			goto out;
		} else if (last && aot) {
			rc = fail(p, k.at, "[[%s]]: %s is already a table (line %u), not an array "
				  "of tables", kt, kt, c->v.line);
			goto out;
		} else if (last && (c->flags & (TN_EXPLICIT | TN_DOTTED))) {
			rc = fail(p, k.at, "table [%s] is defined twice (first on line %u%s)", kt,
				  c->v.line, c->flags & TN_DOTTED ? ", by dotted keys" : "");
			goto out;
		} else if (last) {
			c->flags |= TN_EXPLICIT;
			c->v.line = p->line;
		}
		free(kt);
		kt = NULL;
next:
		t = c;
	}
	p->cursec = ++p->sec;
	*cur = t;
	*depth = (unsigned)k.n;
	rc = 0;
out:
	free(kt);
	tkey_free(&k);
	return rc;
}

/* Invalid UTF-8 (overlong, surrogate, beyond U+10FFFF, truncated): its
 * offset, else len. */
static size_t utf8_bad(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n, j;
	uint32_t cp;

	while (i < len) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xC2 && u[i] <= 0xDF) {
			n = 1;
			cp = u[i] & 0x1F;
		} else if (u[i] >= 0xE0 && u[i] <= 0xEF) {
			n = 2;
			cp = u[i] & 0x0F;
		} else if (u[i] >= 0xF0 && u[i] <= 0xF4) {
			n = 3;
			cp = u[i] & 0x07;
		} else {
			return i;
		}
		if (len - i <= n)
			return i;
		for (j = 1; j <= n; j++) {
			if ((u[i + j] & 0xC0) != 0x80)
				return i;
			cp = cp << 6 | (u[i + j] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}

int toml_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
	       struct toml_value *out)
{
	struct tparse p = { .ctx = ctx, .what = what ? what : "TOML", .s = text, .len = len,
			    .line = 1 };
	struct tnode *root = NULL, *cur;
	unsigned depth = 0;
	size_t bad, nl;
	char b[40];
	int rc, c;

	if (len > TOML_MAX_BYTES)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] %zu bytes, more than the %u a "
				  "TOML document may have", p.what, len, TOML_MAX_BYTES);
	if ((bad = utf8_bad(text, len)) < len)
		return fail(&p, bad, "invalid UTF-8 (a TOML document is UTF-8 text)");
	if (!(root = node_new(&p, TOML_TABLE, 0)))
		return -PKGIMG_E_PARSE;
	cur = root;
	for (;;) {
		skip_ws(&p);
		c = peek(&p, 0);
		if (c < 0)
			break;
		if ((nl = newline_at(&p, p.pos))) {
			p.pos += nl;
			p.line++;
			continue;
		}
		if (c == '#') {
			rc = end_of_line(&p);
		} else if (c == '[') {
			if ((rc = parse_header(&p, root, &cur, &depth)) == 0)
				rc = end_of_line(&p);
		} else if (is_bare(c) || c == '"' || c == '\'') {
			if ((rc = parse_keyval(&p, cur, p.cursec, depth)) == 0)
				rc = end_of_line(&p);
		} else {
			rc = fail(&p, p.pos, "expected a key, a [table] or a comment, found %s",
				  show_char(b, sizeof b, &p, p.pos));
		}
		if (rc < 0)
			goto out;
	}
	memset(out, 0, sizeof *out);
	node_move(root, out);
	root = NULL;
	rc = 0;
out:
	node_free(root);
	return rc;
}

int toml_parse_file(struct pkgimg_ctx *ctx, const char *path, struct toml_value *out)
{
	struct sbuf sb = SBUF_INIT;
	char buf[65536];
	ssize_t n;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [read] cannot open: %s", path, strerror(errno));
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (sb.len + (size_t)n > TOML_MAX_BYTES) {
			rc = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] more than %u bytes: not "
					"read as TOML", path, TOML_MAX_BYTES);
			goto out;
		}
		sbuf_add(&sb, buf, (size_t)n);
	}
	if (n < 0) {
		rc = pkgimg_err(ctx, -errno, "%s: [read] %s", path, strerror(errno));
		goto out;
	}
	rc = toml_parse(ctx, path, sb.buf ? sb.buf : "", sb.len, out);
out:
	close(fd);
	sbuf_free(&sb);
	return rc;
}

void toml_free(struct toml_value *v)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < v->n; i++) {
		toml_free(&v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->s);
	memset(v, 0, sizeof *v);
}

const struct toml_value *toml_get(const struct toml_value *t, const char *key)
{
	size_t i;

	if (!t || t->type != TOML_TABLE || !key)
		return NULL;
	for (i = 0; i < t->n; i++)
		if (strcmp(t->keys[i], key) == 0)
			return &t->items[i];
	return NULL;
}

const struct toml_value *toml_path(const struct toml_value *t, const char *dotted)
{
	const char *dot;
	char *part;

	while (t && dotted) {
		dot = strchr(dotted, '.');
		if (!dot)
			return toml_get(t, dotted);
		part = xstrndup(dotted, (size_t)(dot - dotted));
		t = toml_get(t, part);
		free(part);
		dotted = dot + 1;
	}
	return t;
}

const char *toml_str(const struct toml_value *v)
{
	return v && v->type == TOML_STRING ? v->s : NULL;
}
