/* conda versions, version specs and MatchSpecs (see matchspec.h).
 *
 * The parsers follow conda's own steps (match_spec.py _parse_spec_str,
 * version.py VersionOrder / VersionSpec / treeify) so that the corner cases
 * come out as conda's do:
 *   - a version splits off its build at the first ' ' or '=' that is not
 *     preceded by one of "=!|,<>~" and is followed only by characters other
 *     than "-=,|<>~" (conda's _parse_version_plus_build expression);
 *   - "=1.2" is fuzzy (1.2.*) but "=1.2=build" is exact 1.2, "==1.2" is
 *     exact, "1.2*" is 1.2.*, "1.*.1" and "1.*.*" are globs on the string;
 *   - ',' binds tighter than '|'; groups with the same operator merge.
 * Every text is kept with the column of each character in the spec as
 * written, so that an error deep in a version names its column. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "solver/matchspec.h"

static bool in_set(char c, const char *set)
{
	return c && strchr(set, c);
}

/* --- error locations ---------------------------------------------------- */

/* The text an error is reported against, and how to name it. */
struct loc {
	struct pkgimg_ctx *ctx;
	const char *what;		/* "conda spec", "conda version spec" */
	const char *text;
	size_t len;
};

static int loc_err(const struct loc *l, size_t off, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int loc_err(const struct loc *l, size_t off, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pkgimg_err(l->ctx, -PKGIMG_E_PARSE, "%s '%.*s', column %zu: %s", l->what,
			  (int)l->len, l->text, off + 1, msg);
}

/* A working copy of part of the text: each character with its offset in the
 * text (col[len] is the offset just past the end). */
struct ptext {
	char *s;
	size_t *col;
	size_t len;
};

static void ptext_init(struct ptext *p, const char *s, size_t len, size_t off)
{
	size_t i;

	p->s = xmalloc(len + 1);
	p->col = xmalloc((len + 1) * sizeof *p->col);
	memcpy(p->s, s, len);
	p->s[len] = '\0';
	for (i = 0; i <= len; i++)
		p->col[i] = off + i;
	p->len = len;
}

static void ptext_free(struct ptext *p)
{
	free(p->s);
	free(p->col);
	memset(p, 0, sizeof *p);
}

static void ptext_del(struct ptext *p, size_t at, size_t n)
{
	memmove(p->s + at, p->s + at + n, p->len - at - n + 1);
	memmove(p->col + at, p->col + at + n, (p->len - at - n + 1) * sizeof *p->col);
	p->len -= n;
}

static void ptext_push(struct ptext *p, char c)
{
	p->s = xrealloc(p->s, p->len + 2);
	p->col = xrealloc(p->col, (p->len + 2) * sizeof *p->col);
	p->s[p->len] = c;
	p->s[p->len + 1] = '\0';
	p->col[p->len + 1] = p->col[p->len];
	p->len++;
}

/* A view into a ptext. */
struct pview {
	const char *s;
	const size_t *col;
	size_t len;
};

static struct pview pview_sub(struct pview v, size_t at, size_t n)
{
	return (struct pview){ v.s + at, v.col + at, n };
}

static struct pview pview_strip(struct pview v)
{
	while (v.len && ascii_ispyspace(v.s[0])) {
		v.s++;
		v.col++;
		v.len--;
	}
	while (v.len && ascii_ispyspace(v.s[v.len - 1]))
		v.len--;
	return v;
}

/* --- versions ----------------------------------------------------------- */

static const struct condaver_atom atom_zero = { CONDAVER_NUM, "", 0 };

static bool is_version_char(char c)
{
	return ascii_isdigit(c) || (c >= 'a' && c <= 'z') || c == '*' || c == '.' || c == '+' ||
	       c == '!' || c == '_';
}

/* Splits the component buf[cs, ce) into atoms (conda's version_split_re),
 * with a leading 0 when it does not start with a digit. */
static void split_component(char *buf, size_t cs, size_t ce, struct condaver_atom *atoms,
			    size_t *na)
{
	struct condaver_atom *a;
	size_t i = cs, j;

	if (!ascii_isdigit(buf[cs]))
		atoms[(*na)++] = atom_zero;
	while (i < ce) {
		a = &atoms[(*na)++];
		j = i;
		if (ascii_isdigit(buf[i])) {
			while (j < ce && ascii_isdigit(buf[j]))
				j++;
			while (i < j && buf[i] == '0')
				i++;
			*a = (struct condaver_atom){ CONDAVER_NUM, buf + i, j - i };
		} else if (buf[i] == '*') {
			while (j < ce && buf[j] == '*')
				j++;
			*a = (struct condaver_atom){ CONDAVER_STR, buf + i, j - i };
		} else {
			while (j < ce && !ascii_isdigit(buf[j]) && buf[j] != '*')
				j++;
			*a = (struct condaver_atom){ CONDAVER_STR, buf + i, j - i };
			if (j - i == 4 && !memcmp(buf + i, "post", 4)) {
				a->kind = CONDAVER_POST;
			} else if (j - i == 3 && !memcmp(buf + i, "dev", 3)) {
				/* below every other string: '*' < 'DEV' < '_' < 'a' */
				memcpy(buf + i, "DEV", 3);
			}
		}
		i = j;
	}
}

/* A character for a message: itself, or \xHH when it is not printable. */
static const char *char_repr(char c, char buf[8])
{
	unsigned char u = (unsigned char)c;

	if (u >= 0x20 && u < 0x7f)
		snprintf(buf, 8, "%c", c);
	else
		snprintf(buf, 8, "\\x%02x", u);
	return buf;
}

/* conda's VersionOrder(): on error returns -1 with the cause in why and its
 * offset in s in *at. */
static int vo_parse(const char *s, size_t len, struct condaver *out, char *why, size_t whylen,
		    size_t *at)
{
	size_t a = 0, b = len, n, i, bang = 0, plus = 0, ms, me, ncomp, na = 0, np = 0, cs;
	bool has_bang = false, has_plus = false, bad = false;
	struct condaver v;
	char cb[8];

	memset(&v, 0, sizeof v);
	while (a < b && ascii_ispyspace(s[a]))
		a++;
	while (b > a && ascii_ispyspace(s[b - 1]))
		b--;
	*at = a;
	n = b - a;
	if (n == 0) {
		snprintf(why, whylen, "empty version string");
		goto fail;
	}
	v.norm = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		v.norm[i] = ascii_lower(s[a + i]);
		bad |= !is_version_char(v.norm[i]);
	}
	v.norm[n] = '\0';
	/* dashes read as underscores, unless both occur */
	if (bad && memchr(v.norm, '-', n) && !memchr(v.norm, '_', n))
		for (i = 0; i < n; i++)
			if (v.norm[i] == '-')
				v.norm[i] = '_';
	for (i = 0; i < n && is_version_char(v.norm[i]); i++)
		;
	if (i < n) {
		*at = a + i;
		snprintf(why, whylen, "invalid character '%s' in version '%.*s'",
			 char_repr(s[a + i], cb), (int)n, s + a);
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (v.norm[i] != '!')
			continue;
		if (has_bang) {
			*at = a + i;
			snprintf(why, whylen, "duplicated epoch separator '!' in version '%.*s'",
				 (int)n, s + a);
			goto fail;
		}
		has_bang = true;
		bang = i;
	}
	if (has_bang) {
		for (i = 0; i < bang && ascii_isdigit(v.norm[i]); i++)
			;
		if (bang == 0 || i < bang) {
			snprintf(why, whylen, "the epoch of version '%.*s' must be an integer",
				 (int)n, s + a);
			goto fail;
		}
	}
	ms = has_bang ? bang + 1 : 0;
	for (i = ms; i < n; i++) {
		if (v.norm[i] != '+')
			continue;
		if (has_plus) {
			*at = a + i;
			snprintf(why, whylen,
				 "duplicated local version separator '+' in version '%.*s'", (int)n,
				 s + a);
			goto fail;
		}
		has_plus = true;
		plus = i;
	}
	me = has_plus ? plus : n;
	if (me == ms) {
		*at = a + ms;
		snprintf(why, whylen, "no version %s in '%.*s'",
			 has_plus ? "before the local version separator '+'" : "after the epoch",
			 (int)n, s + a);
		goto fail;
	}

	/* '_' separates components like '.', except a trailing one (openssl's
	 * "1.0.1_" sorts below "1.0.1a") */
	v.buf = xstrdup(v.norm);
	for (i = ms; i < me; i++)
		if (v.buf[i] == '_' && i + 1 < me)
			v.buf[i] = '.';
	for (i = me + 1; has_plus && i < n; i++)
		if (v.buf[i] == '_')
			v.buf[i] = '.';
	ncomp = 2;
	for (i = ms; i < n; i++)
		ncomp += v.buf[i] == '.' || v.buf[i] == '+';
	v.parts = xcalloc(ncomp, sizeof *v.parts);
	v.atoms = xcalloc(n + ncomp + 2, sizeof *v.atoms);

	/* the epoch, then the components of the release and of the local part */
	if (has_bang)
		split_component(v.buf, 0, bang, v.atoms, &na);
	else
		v.atoms[na++] = atom_zero;
	v.parts[np++] = (struct condaver_part){ v.atoms, na };
	for (cs = ms, i = ms; i <= n; i++) {
		size_t first = na;

		if (i < n && v.buf[i] != '.' && i != me)
			continue;
		if (i == cs) {
			*at = a + i;
			snprintf(why, whylen, "empty version component in '%.*s'", (int)n, s + a);
			goto fail;
		}
		split_component(v.buf, cs, i, v.atoms, &na);
		v.parts[np++] = (struct condaver_part){ v.atoms + first, na - first };
		if (i == me)
			v.nver = np;
		cs = i + 1;
		if (i == me && !has_plus)
			break;
	}
	v.nlocal = np - v.nver;
	*out = v;
	return 0;
fail:
	condaver_free(&v);
	return -1;
}

int condaver_parse_blob(struct pkgimg_ctx *ctx, struct blob s, struct condaver *out)
{
	struct loc l = { ctx, "conda version", s.ptr, s.len };
	char why[512];
	size_t at;

	if (vo_parse(s.ptr, s.len, out, why, sizeof why, &at) < 0)
		return loc_err(&l, at, "%s", why);
	return 0;
}

int condaver_parse(struct pkgimg_ctx *ctx, const char *s, struct condaver *out)
{
	return condaver_parse_blob(ctx, BLOB_STR(s), out);
}

void condaver_free(struct condaver *v)
{
	free(v->norm);
	free(v->buf);
	free(v->parts);
	free(v->atoms);
	memset(v, 0, sizeof *v);
}

/* Python's comparison of conda's atoms: strings below numbers, "post"
 * (infinity) above numbers. */
static int atom_cmp(const struct condaver_atom *a, const struct condaver_atom *b)
{
	int c;

	if (a->kind == CONDAVER_STR && b->kind == CONDAVER_STR) {
		c = memcmp(a->s, b->s, a->len < b->len ? a->len : b->len);
		if (c)
			return c < 0 ? -1 : 1;
		return a->len < b->len ? -1 : a->len > b->len;
	}
	if (a->kind == CONDAVER_STR)
		return -1;
	if (b->kind == CONDAVER_STR)
		return 1;
	if (a->kind == CONDAVER_POST || b->kind == CONDAVER_POST)
		return (a->kind == CONDAVER_POST) - (b->kind == CONDAVER_POST);
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	c = memcmp(a->s, b->s, a->len);
	return c < 0 ? -1 : c > 0;
}

/* Atom lists compared with missing atoms read as 0 (zip_longest). */
static int atoms_cmp(const struct condaver_atom *a, size_t na, const struct condaver_atom *b,
		     size_t nb)
{
	size_t i;
	int c;

	for (i = 0; i < na || i < nb; i++) {
		c = atom_cmp(i < na ? &a[i] : &atom_zero, i < nb ? &b[i] : &atom_zero);
		if (c)
			return c;
	}
	return 0;
}

/* Component lists compared with missing components read as empty. */
static int parts_cmp(const struct condaver_part *a, size_t na, const struct condaver_part *b,
		     size_t nb)
{
	size_t i;
	int c;

	for (i = 0; i < na || i < nb; i++) {
		c = atoms_cmp(i < na ? a[i].atoms : NULL, i < na ? a[i].n : 0,
			      i < nb ? b[i].atoms : NULL, i < nb ? b[i].n : 0);
		if (c)
			return c;
	}
	return 0;
}

int condaver_compare(const struct condaver *a, const struct condaver *b)
{
	int c = parts_cmp(a->parts, a->nver, b->parts, b->nver);

	if (c)
		return c;
	return parts_cmp(a->parts + a->nver, a->nlocal, b->parts + b->nver, b->nlocal);
}

int condaver_cmp(const char *a, const char *b)
{
	struct condaver va, vb;
	char why[256];
	size_t at;
	bool oka, okb;
	int c;

	oka = vo_parse(a, strlen(a), &va, why, sizeof why, &at) == 0;
	okb = vo_parse(b, strlen(b), &vb, why, sizeof why, &at) == 0;
	if (oka && okb)
		c = condaver_compare(&va, &vb);
	else if (oka || okb)
		c = oka ? 1 : -1;
	else
		c = strcmp(a, b) < 0 ? -1 : strcmp(a, b) > 0;
	if (oka)
		condaver_free(&va);
	if (okb)
		condaver_free(&vb);
	return c;
}

bool condaver_startswith(const struct condaver *v, const struct condaver *prefix)
{
	const struct condaver_part *t1, *t2;
	struct condaver_part v1 = { NULL, 0 }, v2;
	const struct condaver_atom *c1, *c2;
	size_t n1, n2, nt, mt;

	if (prefix->nlocal) {
		if (parts_cmp(v->parts, v->nver, prefix->parts, prefix->nver))
			return false;
		t1 = v->parts + v->nver;
		n1 = v->nlocal;
		t2 = prefix->parts + prefix->nver;
		n2 = prefix->nlocal;
	} else {
		t1 = v->parts;
		n1 = v->nver;
		t2 = prefix->parts;
		n2 = prefix->nver;
	}
	nt = n2 - 1;
	if (parts_cmp(t1, n1 < nt ? n1 : nt, t2, nt))
		return false;
	if (n1 > nt)
		v1 = t1[nt];
	v2 = t2[nt];
	mt = v2.n - 1;
	if (atoms_cmp(v1.atoms, v1.n < mt ? v1.n : mt, v2.atoms, mt))
		return false;
	c1 = v1.n > mt ? &v1.atoms[mt] : &atom_zero;
	c2 = &v2.atoms[mt];
	if (c2->kind == CONDAVER_STR)
		return c1->kind == CONDAVER_STR && c1->len >= c2->len &&
		       !memcmp(c1->s, c2->s, c2->len);
	return atom_cmp(c1, c2) == 0;
}

static void repr_parts(struct sbuf *b, const struct condaver_part *p, size_t n)
{
	size_t i, j;
	const struct condaver_atom *a;

	sbuf_addc(b, '[');
	for (i = 0; i < n; i++) {
		sbuf_adds(b, i ? ", [" : "[");
		for (j = 0; j < p[i].n; j++) {
			a = &p[i].atoms[j];
			if (j)
				sbuf_adds(b, ", ");
			if (a->kind == CONDAVER_POST)
				sbuf_adds(b, "inf");
			else if (a->kind == CONDAVER_NUM)
				sbuf_addf(b, "%.*s", a->len ? (int)a->len : 1,
					  a->len ? a->s : "0");
			else
				sbuf_addf(b, "'%.*s'", (int)a->len, a->s);
		}
		sbuf_addc(b, ']');
	}
	sbuf_addc(b, ']');
}

char *condaver_repr(const struct condaver *v)
{
	struct sbuf b = SBUF_INIT;

	repr_parts(&b, v->parts, v->nver);
	if (v->nlocal) {
		sbuf_adds(&b, " + ");
		repr_parts(&b, v->parts + v->nver, v->nlocal);
	}
	return sbuf_detach(&b);
}

/* --- string patterns ---------------------------------------------------- */

/* '*' matches any run of characters; everything else itself. */
static bool glob_match(const char *p, size_t pl, const char *s, size_t sl)
{
	size_t pi = 0, si = 0, star = (size_t)-1, mark = 0;

	while (si < sl) {
		if (pi < pl && p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pl && p[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != (size_t)-1) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pl && p[pi] == '*')
		pi++;
	return pi == pl;
}

/* glibc's regcomp grows with repeated quantifiers: "^.+++...+$" (60 '+',
 * 121 bytes) took over 2 GB.  conda's patterns are short ("^1\.[5-8]"), so
 * a pattern is bounded in length and quantifiers, none right after another,
 * and in {m,n} counts, which glibc expands into copies ("((.{99}){99}){99}"
 * took over 2 GB too). */
#define REGEX_MAX_LEN		256
#define REGEX_MAX_QUANT		16
#define REGEX_MAX_BRACES	2	/* {m,n} quantifiers ... */
#define REGEX_MAX_COUNT		64	/* ... each count at most this */

static bool regex_bounded(const char *p, char *why, size_t whylen)
{
	size_t nq = 0, nb = 0;
	bool after_q = false;

	if (strlen(p) > REGEX_MAX_LEN) {
		snprintf(why, whylen, "longer than %d characters", REGEX_MAX_LEN);
		return false;
	}
	for (; *p; p++) {
		bool q = *p == '*' || *p == '+' || *p == '?' || *p == '{';

		if (*p == '\\' && p[1]) {
			p++;
			after_q = false;
			continue;
		}
		if (q && after_q) {
			snprintf(why, whylen, "a quantifier right after another");
			return false;
		}
		if (q && ++nq > REGEX_MAX_QUANT) {
			snprintf(why, whylen, "more than %d quantifiers", REGEX_MAX_QUANT);
			return false;
		}
		if (*p == '{') {	/* {m,n} is one quantifier */
			if (++nb > REGEX_MAX_BRACES) {
				snprintf(why, whylen, "more than %d {m,n} quantifiers",
					 REGEX_MAX_BRACES);
				return false;
			}
			while (p[1] && p[1] != '}') {
				p++;
				if (*p >= '0' && *p <= '9' && strtoul(p, NULL, 10) > REGEX_MAX_COUNT) {
					snprintf(why, whylen, "a count above %d", REGEX_MAX_COUNT);
					return false;
				}
				while (*p >= '0' && *p <= '9' && p[1] >= '0' && p[1] <= '9')
					p++;
			}
			if (p[1])
				p++;
		}
		after_q = q;
	}
	return true;
}

static int regex_compile(const char *pattern, void **out, char *why, size_t whylen)
{
	regex_t *re;
	int rc;

	if (!regex_bounded(pattern, why, whylen))
		return -1;
	re = xmalloc(sizeof *re);
	rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);

	if (rc) {
		regerror(rc, re, why, whylen);
		free(re);
		return -1;
	}
	*out = re;
	return 0;
}

static void regex_free(void *re)
{
	if (re) {
		regfree(re);
		free(re);
	}
}

static bool regex_match(const void *re, const char *s)
{
	return regexec(re, s, 0, NULL, 0) == 0;
}

static bool is_regex_text(const char *s, size_t n)
{
	return n >= 2 && s[0] == '^' && s[n - 1] == '$';
}

/* Sets p from text (owned by p afterwards): "^...$" a regex, a '*' a glob,
 * else exact. */
static int pattern_set(const struct loc *l, size_t off, struct matchspec_pattern *p, char *text,
		       const char *field)
{
	char why[256];
	size_t n = strlen(text);

	p->text = text;
	p->re = NULL;
	if (is_regex_text(text, n)) {
		p->kind = MATCHSPEC_REGEX;
		if (regex_compile(text, &p->re, why, sizeof why) < 0)
			return loc_err(l, off, "invalid regular expression '%s' for the %s: %s",
				       text, field, why);
	} else if (strchr(text, '*')) {
		p->kind = MATCHSPEC_GLOB;
	} else {
		p->kind = MATCHSPEC_EXACT;
	}
	return 0;
}

static void pattern_free(struct matchspec_pattern *p)
{
	free(p->text);
	regex_free(p->re);
	memset(p, 0, sizeof *p);
}

static bool pattern_match_blob(const struct matchspec_pattern *p, struct blob s)
{
	char *tmp;
	bool ok;

	switch (p->kind) {
	case MATCHSPEC_GLOB:
		return glob_match(p->text, strlen(p->text), s.ptr, s.len);
	case MATCHSPEC_REGEX:
		tmp = xstrndup(s.ptr, s.len);
		ok = regex_match(p->re, tmp);
		free(tmp);
		return ok;
	case MATCHSPEC_EXACT:
		break;
	}
	return blob_eq_str(s, p->text);
}

bool matchspec_pattern_matches(const struct matchspec_pattern *p, const char *s)
{
	if (!p->text)
		return true;
	if (!s)
		return false;
	if (p->kind == MATCHSPEC_REGEX)
		return regex_match(p->re, s);
	return pattern_match_blob(p, BLOB_STR(s));
}

/* --- version specs ------------------------------------------------------ */

enum vnode_kind { VN_LEAF, VN_AND, VN_OR };
enum vleaf_kind { VL_ANY, VL_REGEX, VL_GLOB, VL_STR, VL_OP };
enum vop { VOP_EQ, VOP_NE, VOP_LT, VOP_LE, VOP_GT, VOP_GE, VOP_STARTS, VOP_NOT_STARTS, VOP_COMPAT };

struct condaver_spec {
	enum vnode_kind kind;
	char *str;			/* conda's spec string of this node */
	struct condaver_spec **kids;	/* VN_AND, VN_OR */
	size_t nkids;
	enum vleaf_kind leaf;		/* VN_LEAF */
	enum vop op;			/* VL_OP */
	bool exact;
	bool has_ver, has_prefix;
	struct condaver ver;		/* VL_OP: the operand */
	struct condaver prefix;		/* VOP_COMPAT: the operand less its last component */
	void *re;			/* VL_REGEX */
};

void condaver_spec_free(struct condaver_spec *sp)
{
	size_t i;

	if (!sp)
		return;
	for (i = 0; i < sp->nkids; i++)
		condaver_spec_free(sp->kids[i]);
	free(sp->kids);
	free(sp->str);
	if (sp->has_ver)
		condaver_free(&sp->ver);
	if (sp->has_prefix)
		condaver_free(&sp->prefix);
	regex_free(sp->re);
	free(sp);
}

const char *condaver_spec_str(const struct condaver_spec *sp)
{
	return sp->str;
}

bool condaver_spec_is_exact(const struct condaver_spec *sp)
{
	return sp->kind == VN_LEAF && sp->exact;
}

/* Parses the version text t[0, n) of a leaf; the error column comes from
 * col (which may be shorter than the text when the text was rewritten). */
static int leaf_version(const struct loc *l, const char *t, size_t n, struct pview v,
			struct condaver *out)
{
	char why[512];
	size_t at;

	if (vo_parse(t, n, out, why, sizeof why, &at) < 0)
		return loc_err(l, at < v.len ? v.col[at] : v.col[0], "%s", why);
	return 0;
}

/* A constraint with an operator: conda's version_relation_re and the ".*"
 * rules that follow it. */
static int leaf_relation(const struct loc *l, struct pview v, struct condaver_spec *nd)
{
	const char *s = v.s;
	size_t n = v.len, oplen = 1, i, vlen, dot;
	char c1 = n > 1 ? s[1] : '\0';
	int r;

	switch (s[0]) {
	case '=':
		nd->op = c1 == '=' ? VOP_EQ : VOP_STARTS;
		oplen = c1 == '=' ? 2 : 1;
		break;
	case '<':
		nd->op = c1 == '=' ? VOP_LE : VOP_LT;
		oplen = c1 == '=' ? 2 : 1;
		break;
	case '>':
		nd->op = c1 == '=' ? VOP_GE : VOP_GT;
		oplen = c1 == '=' ? 2 : 1;
		break;
	case '!':
	case '~':
		nd->op = s[0] == '!' ? VOP_NE : VOP_COMPAT;
		oplen = 2;
		if (c1 != '=')
			oplen = 0;
		break;
	}
	if (!oplen || (oplen < n && in_set(s[oplen], "=<>!~"))) {
		for (i = 0; i < n && in_set(s[i], "=<>!~"); i++)
			;
		return loc_err(l, v.col[0],
			       "invalid operator '%.*s' in '%.*s' "
			       "(operators are ==, !=, <, <=, >, >=, =, ~=)",
			       (int)i, s, (int)n, s);
	}
	if (oplen == n)
		return loc_err(l, v.col[0], "operator '%.*s' without a version", (int)n, s);
	for (i = oplen; i < n; i++)
		if (ascii_ispyspace(s[i]))
			return loc_err(l, v.col[i],
				       "unexpected space in '%.*s' "
				       "(write the operator and the version together)",
				       (int)n, s);
	vlen = n - oplen;
	if (vlen >= 2 && s[n - 2] == '.' && s[n - 1] == '*') {
		vlen -= 2;
		if (nd->op == VOP_NE) {
			nd->op = VOP_NOT_STARTS;
		} else if (nd->op == VOP_COMPAT) {
			return loc_err(l, v.col[0], "'~=' cannot be combined with '.*' in '%.*s'",
				       (int)n, s);
		} else if (nd->op != VOP_STARTS && nd->op != VOP_GE) {
			pkgimg_warn(l->ctx,
				    "%s '%.*s': '.*' after a relational operator is ignored: "
				    "'%.*s' reads as '%.*s'",
				    l->what, (int)l->len, l->text, (int)n, s, (int)(n - 2), s);
		}
	}
	r = leaf_version(l, s + oplen, vlen, pview_sub(v, oplen, n - oplen), &nd->ver);
	if (r < 0)
		return r;
	nd->has_ver = true;
	nd->exact = nd->op == VOP_EQ;
	if (nd->op == VOP_COMPAT) {
		char *last = strrchr(nd->ver.norm, '.');

		if (!last)
			return loc_err(l, v.col[0],
				       "'%.*s': '~=' needs a version of at least two components, "
				       "as in '~=1.2'",
				       (int)n, s);
		dot = (size_t)(last - nd->ver.norm);
		r = leaf_version(l, nd->ver.norm, dot, pview_sub(v, oplen, n - oplen), &nd->prefix);
		if (r < 0)
			return r;
		nd->has_prefix = true;
	}
	return 0;
}

/* One constraint (conda's VersionSpec.get_matcher on a string). */
static int leaf_parse(const struct loc *l, struct pview v, struct condaver_spec **out)
{
	struct condaver_spec *nd = xcalloc(1, sizeof *nd);
	const char *s = v.s;
	size_t n = v.len, m, k;
	char why[256];
	int r = 0;

	nd->kind = VN_LEAF;
	nd->str = xstrndup(s, n);
	if (n == 0) {
		r = loc_err(l, v.col[0], "empty version constraint");
	} else if (s[0] == '^' || s[n - 1] == '$') {
		if (!is_regex_text(s, n))
			r = loc_err(l, v.col[0],
				    "'%.*s': a regular expression must start with '^' "
				    "and end with '$'",
				    (int)n, s);
		else if (regex_compile(nd->str, &nd->re, why, sizeof why) < 0)
			r = loc_err(l, v.col[0], "invalid regular expression '%.*s': %s", (int)n, s,
				    why);
		nd->leaf = VL_REGEX;
	} else if (in_set(s[0], "=<>!~")) {
		nd->leaf = VL_OP;
		r = leaf_relation(l, v, nd);
	} else if (n == 1 && s[0] == '*') {
		nd->leaf = VL_ANY;
	} else {
		for (m = n; m && s[m - 1] == '*'; m--)
			;
		if (memchr(s, '*', m)) {
			nd->leaf = VL_GLOB;
		} else if (m < n) {
			/* "1.7*" is "1.7.*": starts with 1.7 */
			if (n < 2 || s[n - 2] != '.' || s[n - 1] != '*') {
				free(nd->str);
				nd->str = xasprintf("%.*s.*", (int)(n - 1), s);
			}
			k = strlen(nd->str);
			while (k && nd->str[k - 1] == '*')
				k--;
			while (k && nd->str[k - 1] == '.')
				k--;
			nd->leaf = VL_OP;
			nd->op = VOP_STARTS;
			r = leaf_version(l, nd->str, k, v, &nd->ver);
			nd->has_ver = r == 0;
		} else if (memchr(s, '@', n)) {
			nd->leaf = VL_STR;
			nd->exact = true;
		} else {
			nd->leaf = VL_OP;
			nd->op = VOP_EQ;
			nd->exact = true;
			r = leaf_version(l, s, n, v, &nd->ver);
			nd->has_ver = r == 0;
		}
	}
	if (r < 0) {
		condaver_spec_free(nd);
		return r;
	}
	*out = nd;
	return 0;
}

static void node_add(struct condaver_spec *nd, struct condaver_spec *kid)
{
	nd->kids = xrealloc(nd->kids, (nd->nkids + 1) * sizeof *nd->kids);
	nd->kids[nd->nkids++] = kid;
}

/* left OP right, merging operands that use the same operator (treeify). */
static struct condaver_spec *node_join(enum vnode_kind kind, struct condaver_spec *left,
				       struct condaver_spec *right)
{
	struct condaver_spec *nd = xcalloc(1, sizeof *nd), *side[2] = { left, right };
	size_t i, j;

	nd->kind = kind;
	for (i = 0; i < 2; i++) {
		if (side[i]->kind == kind) {
			for (j = 0; j < side[i]->nkids; j++)
				node_add(nd, side[i]->kids[j]);
			side[i]->nkids = 0;
			condaver_spec_free(side[i]);
		} else {
			node_add(nd, side[i]);
		}
	}
	return nd;
}

static void node_strings(struct condaver_spec *nd)
{
	struct sbuf b = SBUF_INIT;
	struct condaver_spec *k;
	size_t i;

	if (nd->kind == VN_LEAF)
		return;
	for (i = 0; i < nd->nkids; i++) {
		k = nd->kids[i];
		node_strings(k);
		if (i)
			sbuf_addc(&b, nd->kind == VN_AND ? ',' : '|');
		if (nd->kind == VN_AND && k->kind == VN_OR)
			sbuf_addf(&b, "(%s)", k->str);
		else
			sbuf_adds(&b, k->str);
	}
	nd->str = sbuf_detach(&b);
}

static bool is_vsep(char c)
{
	return c == '(' || c == ')' || c == '|' || c == ',';
}

struct vstack {
	struct condaver_spec **out;	/* operands */
	size_t nout;
	char *ops;			/* '(', ',', '|' */
	size_t *opcol;
	size_t nops;
};

static void vstack_free(struct vstack *st)
{
	size_t i;

	for (i = 0; i < st->nout; i++)
		condaver_spec_free(st->out[i]);
	free(st->out);
	free(st->ops);
	free(st->opcol);
}

/* Applies the operators on the stack down to one in stop (conda's apply_ops). */
static void vstack_apply(struct vstack *st, const char *stop)
{
	struct condaver_spec *r, *lft;
	char c;

	while (st->nops && !strchr(stop, st->ops[st->nops - 1])) {
		c = st->ops[--st->nops];
		r = st->out[--st->nout];
		lft = st->out[--st->nout];
		st->out[st->nout++] = node_join(c == ',' ? VN_AND : VN_OR, lft, r);
	}
}

static void vstack_push_op(struct vstack *st, char c, size_t col)
{
	st->ops = xrealloc(st->ops, st->nops + 1);
	st->opcol = xrealloc(st->opcol, (st->nops + 1) * sizeof *st->opcol);
	st->ops[st->nops] = c;
	st->opcol[st->nops++] = col;
}

enum vprev { VP_START, VP_OPERAND, VP_OP };

/* conda's treeify() with the checks it leaves out: a version spec is
 * constraints joined by ',' and '|' with parentheses. */
static int vspec_parse_view(const struct loc *l, struct pview v, struct condaver_spec **out)
{
	struct vstack st = { NULL, 0, NULL, NULL, 0 };
	struct condaver_spec *leaf;
	enum vprev prev = VP_START;
	size_t i = 0, j, k, depth = 0;
	const char *s = v.s, *dollar;
	char c;
	int r = 0;

	while (i <= v.len) {
		struct pview item = { NULL, NULL, 0 };

		if (i == v.len) {
			c = ')';	/* the end closes the implicit outer group */
			j = i;
		} else {
			for (j = i; j < v.len && ascii_ispyspace(s[j]); j++)
				;
			c = '\0';
			if (j < v.len && s[j] == '^' &&
			    (dollar = memchr(s + j + 1, '$', v.len - j - 1))) {
				k = (size_t)(dollar - s) + 1;
				item = pview_strip(pview_sub(v, i, k - i));
				i = k;
			} else if (j < v.len && is_vsep(s[j])) {
				c = s[j];
			} else {
				for (j = i; j < v.len && !is_vsep(s[j]); j++)
					;
				item = pview_strip(pview_sub(v, i, j - i));
				i = j;
			}
		}
		if (!c) {
			if (!item.len)
				continue;	/* blanks before the end */
			if (prev == VP_OPERAND) {
				r = loc_err(l, item.col[0], "missing ',' or '|' before '%.*s'",
					    (int)item.len, item.s);
				goto out;
			}
			r = leaf_parse(l, item, &leaf);
			if (r < 0)
				goto out;
			st.out = xrealloc(st.out, (st.nout + 1) * sizeof *st.out);
			st.out[st.nout++] = leaf;
			prev = VP_OPERAND;
			continue;
		}
		if (c == '(') {
			if (prev == VP_OPERAND) {
				r = loc_err(l, v.col[j], "missing ',' or '|' before '('");
				goto out;
			}
			vstack_push_op(&st, '(', v.col[j]);
			depth++;
			prev = VP_START;
		} else if (c == ')' && i == v.len) {
			/* the end closes the implicit outer group */
			if (depth) {
				for (k = st.nops; k-- > 0 && st.ops[k] != '(';)
					;
				r = loc_err(l, st.opcol[k],
					    "unbalanced parentheses: '(' is never closed");
				goto out;
			}
			if (prev != VP_OPERAND) {
				r = prev == VP_START
				    ? loc_err(l, v.col[0], "empty version spec")
				    : loc_err(l, st.opcol[st.nops - 1],
					      "missing a constraint after '%c'", st.ops[st.nops - 1]);
				goto out;
			}
			vstack_apply(&st, "(");
		} else if (c == ')') {
			if (prev != VP_OPERAND) {
				r = loc_err(l, v.col[j], prev == VP_START ? "empty parentheses"
							: "missing a constraint before ')'");
				goto out;
			}
			if (!depth) {
				r = loc_err(l, v.col[j], "unbalanced parentheses: ')' without '('");
				goto out;
			}
			vstack_apply(&st, "(");
			st.nops--;
			depth--;
			prev = VP_OPERAND;
		} else {
			if (prev != VP_OPERAND) {
				r = loc_err(l, v.col[j], "missing a constraint before '%c'", c);
				goto out;
			}
			vstack_apply(&st, c == '|' ? "(" : "|(");
			vstack_push_op(&st, c, v.col[j]);
			prev = VP_OP;
		}
		i = j + 1;
	}
	node_strings(st.out[0]);
	*out = st.out[0];
	st.nout = 0;
out:
	vstack_free(&st);
	return r;
}

int condaver_spec_parse(struct pkgimg_ctx *ctx, const char *s, struct condaver_spec **out)
{
	struct loc l = { ctx, "conda version spec", s, strlen(s) };
	struct ptext t;
	int r;

	ptext_init(&t, s, l.len, 0);
	r = vspec_parse_view(&l, (struct pview){ t.s, t.col, t.len }, out);
	ptext_free(&t);
	return r;
}

/* The record's version, parsed on first use. */
struct vcache {
	const char *raw;
	int state;		/* 0 not tried, 1 parsed, -1 invalid */
	struct condaver v;
};

static const struct condaver *vcache_get(struct vcache *c)
{
	char why[256];
	size_t at;

	if (!c->state)
		c->state = vo_parse(c->raw, strlen(c->raw), &c->v, why, sizeof why, &at) == 0
			   ? 1 : -1;
	return c->state > 0 ? &c->v : NULL;
}

static bool node_match(const struct condaver_spec *nd, struct vcache *c)
{
	const struct condaver *v;
	size_t i;
	int cmp;

	switch (nd->kind) {
	case VN_AND:
		for (i = 0; i < nd->nkids; i++)
			if (!node_match(nd->kids[i], c))
				return false;
		return true;
	case VN_OR:
		for (i = 0; i < nd->nkids; i++)
			if (node_match(nd->kids[i], c))
				return true;
		return false;
	case VN_LEAF:
		break;
	}
	switch (nd->leaf) {
	case VL_ANY:
		return true;
	case VL_REGEX:
		return regex_match(nd->re, c->raw);
	case VL_GLOB:
		return glob_match(nd->str, strlen(nd->str), c->raw, strlen(c->raw));
	case VL_STR:
		return strcmp(nd->str, c->raw) == 0;
	case VL_OP:
		break;
	}
	v = vcache_get(c);
	if (!v)
		return false;
	switch (nd->op) {
	case VOP_STARTS:
		return condaver_startswith(v, &nd->ver);
	case VOP_NOT_STARTS:
		return !condaver_startswith(v, &nd->ver);
	case VOP_COMPAT:
		return condaver_compare(v, &nd->ver) >= 0 && condaver_startswith(v, &nd->prefix);
	default:
		break;
	}
	cmp = condaver_compare(v, &nd->ver);
	switch (nd->op) {
	case VOP_EQ:
		return cmp == 0;
	case VOP_NE:
		return cmp != 0;
	case VOP_LT:
		return cmp < 0;
	case VOP_LE:
		return cmp <= 0;
	case VOP_GT:
		return cmp > 0;
	case VOP_GE:
		return cmp >= 0;
	default:
		return false;
	}
}

bool condaver_spec_matches(const struct condaver_spec *sp, const char *version)
{
	struct vcache c = { version, 0, { 0 } };
	bool ok;

	if (!version)
		return false;
	ok = node_match(sp, &c);
	if (c.state > 0)
		condaver_free(&c.v);
	return ok;
}

/* --- match specs -------------------------------------------------------- */

/* conda's known subdirs (KNOWN_SUBDIRS) and rattler's platforms. */
static const char *const known_subdirs[] = {
	"noarch", "emscripten-wasm32", "wasi-wasm32", "freebsd-64", "linux-32", "linux-64",
	"linux-aarch64", "linux-armv6l", "linux-armv7l", "linux-loongarch64", "linux-ppc64",
	"linux-ppc64le", "linux-riscv32", "linux-riscv64", "linux-s390x", "osx-64", "osx-arm64",
	"win-32", "win-64", "win-arm64", "zos-z", NULL
};

static bool is_known_subdir(struct blob b)
{
	size_t i;

	for (i = 0; known_subdirs[i]; i++)
		if (blob_eq_str(b, known_subdirs[i]))
			return true;
	return false;
}

static struct blob blob_rstrip_slash(struct blob b)
{
	while (b.len > 1 && b.ptr[b.len - 1] == '/')
		b.len--;
	return b;
}

/* The name part of a channel: the path of a URL ("https://host/a/b" is
 * "a/b"), the text itself otherwise. */
static struct blob channel_name_blob(struct blob ch)
{
	const char *sep, *path, *end;
	struct blob b;

	ch = blob_rstrip_slash(ch);
	sep = memmem(ch.ptr, ch.len, "://", 3);
	if (!sep || (sep - ch.ptr == 4 && !strncasecmp(ch.ptr, "file", 4)))
		return ch;
	end = ch.ptr + ch.len;
	path = memchr(sep + 3, '/', (size_t)(end - sep - 3));
	if (!path)
		return ch;
	while (path < end && *path == '/')
		path++;
	b = (struct blob){ path, (size_t)(end - path) };
	return b.len ? b : ch;
}

char *matchspec_channel_name(const char *channel)
{
	return blob_dup(channel_name_blob(BLOB_STR(channel)));
}

/* conda's _parse_channel(): "conda-forge/linux-64" is channel conda-forge,
 * subdir linux-64; "*" and "" are any channel. */
static int channel_set(const struct loc *l, size_t off, struct blob v, struct matchspec *m)
{
	const char *slash;
	struct blob sub = BLOB_NULL;

	v = blob_rstrip_slash(blob_trim(v));
	slash = v.len ? memrchr(v.ptr, '/', v.len) : NULL;
	if (slash) {
		sub = (struct blob){ slash + 1, (size_t)(v.ptr + v.len - slash - 1) };
		if (is_known_subdir(sub)) {
			v.len = (size_t)(slash - v.ptr);
			v = blob_rstrip_slash(v);
		} else {
			sub = BLOB_NULL;
		}
	}
	if (memchr(v.ptr, ':', v.len) && !memmem(v.ptr, v.len, "://", 3))
		return loc_err(l, off, "invalid channel '" BLOB_FMT "': ':' belongs in URLs only",
			       BLOB_ARG(v));
	if (sub.len) {
		free(m->subdir);
		m->subdir = blob_dup(sub);
	}
	pattern_free(&m->channel);
	if (!v.len || blob_eq_str(v, "*"))
		return 0;
	return pattern_set(l, off, &m->channel, blob_dup(v), "channel");
}

static void set_str(char **dst, char *val)
{
	free(*dst);
	*dst = val;
}

/* Names: conda's GlobLowerStrMatch, with rattler's character set. */
static int name_set(const struct loc *l, size_t off, struct blob name, struct matchspec *m)
{
	char *t;
	size_t i;

	if (!is_regex_text(name.ptr, name.len)) {
		for (i = 0; i < name.len; i++) {
			char c = name.ptr[i];

			if (ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '*')
				continue;
			return loc_err(l, off + i,
				       "invalid character '%c' in package name '%.*s'%s", c,
				       (int)name.len, name.ptr,
				       c == '/' ? " (a channel is written CHANNEL::NAME)"
						: " (names use a-z, 0-9, '-', '_' and '.')");
		}
	}
	t = blob_dup(name);
	for (i = 0; t[i]; i++)
		t[i] = ascii_lower(t[i]);
	pattern_free(&m->name);
	return pattern_set(l, off, &m->name, t, "package name");
}

/* conda's _sanitize_version_str() on the version of a spec. */
static void sanitize_version(struct ptext *v, bool has_build)
{
	size_t eq = 0, i;
	bool special = false;

	if ((v->len == 2 && !memcmp(v->s, "==", 2)) || (v->len == 1 && v->s[0] == '='))
		return;
	if (!v->len || v->s[0] != '=')
		return;
	while (eq < v->len && v->s[eq] == '=')
		eq++;
	if (eq >= 2 && !has_build) {
		ptext_del(v, 0, eq);
		return;
	}
	for (i = eq; i < v->len; i++)
		special |= v->s[i] == '=' || v->s[i] == ',' || v->s[i] == '|';
	if (special)
		return;
	ptext_del(v, 0, eq);
	if (!has_build && (!v->len || v->s[v->len - 1] != '*'))
		ptext_push(v, '*');
}

static int version_set(const struct loc *l, struct ptext *v, struct matchspec *m)
{
	struct condaver_spec *sp;
	int r;

	r = vspec_parse_view(l, (struct pview){ v->s, v->col, v->len }, &sp);
	if (r < 0)
		return r;
	condaver_spec_free(m->version);
	m->version = sp;
	return 0;
}

/* A build_number value: N, *, or an operator and N. */
static int build_number_set(const struct loc *l, size_t off, struct blob v, struct matchspec *m)
{
	enum matchspec_op op = MATCHSPEC_OP_EQ;
	size_t i = 0, k;
	uint64_t n = 0;
	char *text;

	v = blob_trim(v);
	if (blob_eq_str(v, "*")) {
		m->build_number_op = MATCHSPEC_OP_ANY;
		m->build_number = 0;
		set_str(&m->build_number_text, xstrdup("*"));
		return 0;
	}
	if (v.len >= 2 && v.ptr[1] == '=' && in_set(v.ptr[0], "=!<>")) {
		op = v.ptr[0] == '=' ? MATCHSPEC_OP_EQ : v.ptr[0] == '!' ? MATCHSPEC_OP_NE
		   : v.ptr[0] == '<' ? MATCHSPEC_OP_LE : MATCHSPEC_OP_GE;
		i = 2;
	} else if (v.len >= 1 && in_set(v.ptr[0], "=<>")) {
		op = v.ptr[0] == '=' ? MATCHSPEC_OP_EQ : v.ptr[0] == '<' ? MATCHSPEC_OP_LT
		   : MATCHSPEC_OP_GT;
		i = 1;
	}
	if (i == v.len)
		goto bad;
	for (k = i; k < v.len; k++) {
		unsigned d = (unsigned)(v.ptr[k] - '0');

		if (!ascii_isdigit(v.ptr[k]) || n > (UINT64_MAX - d) / 10)
			goto bad;
		n = n * 10 + d;
	}
	text = i ? blob_dup(v) : xasprintf("%llu", (unsigned long long)n);
	m->build_number_op = op;
	m->build_number = n;
	set_str(&m->build_number_text, text);
	return 0;
bad:
	return loc_err(l, off, "build_number '%.*s' is not a number, '*' or an operator "
		       "and a number (==, !=, <, <=, >, >=, as in '>=3')", (int)v.len, v.ptr);
}

static int digest_set(const struct loc *l, size_t off, struct blob v, size_t want,
		      const char *key, char **dst)
{
	char *t;
	size_t i;

	v = blob_trim(v);
	for (i = 0; i < v.len && ascii_hexval(v.ptr[i]) >= 0; i++)
		;
	if (v.len != want || i != v.len)
		return loc_err(l, off, "%s '%.*s' is not %zu hex digits", key, (int)v.len, v.ptr,
			       want);
	t = blob_dup(v);
	for (i = 0; t[i]; i++)
		t[i] = ascii_lower(t[i]);
	set_str(dst, t);
	return 0;
}

/* One "key=value" of the bracket section. */
struct bkv {
	struct blob key;
	struct blob val;
	size_t koff, voff;	/* offsets in the spec */
};

static const char *const bracket_keys[] = {
	"version", "build", "build_number", "channel", "subdir", "md5", "sha256", "fn", "url", NULL
};

/* Parses "[k=v, k='v' k2=\"v\"]" starting at text[lb] == '['; *end gets the
 * offset just past the ']'. */
static int brackets_parse(const struct loc *l, size_t lb, size_t lim, struct bkv **kvs,
			  size_t *nkv, size_t *end)
{
	const char *s = l->text;
	size_t i = lb + 1, ks, vs;
	struct bkv kv;
	char q;

	for (;;) {
		while (i < lim && (ascii_ispyspace(s[i]) || s[i] == ','))
			i++;
		if (i >= lim)
			return loc_err(l, lb, "unbalanced brackets: '[' is never closed");
		if (s[i] == ']')
			break;
		for (ks = i; i < lim && (ascii_isalnum(s[i]) || s[i] == '_' || s[i] == '-'); i++)
			;
		if (i == ks)
			return loc_err(l, i, "expected a key in the brackets, found '%c'", s[i]);
		kv.key = (struct blob){ s + ks, i - ks };
		kv.koff = ks;
		while (i < lim && ascii_ispyspace(s[i]))
			i++;
		if (i >= lim)
			return loc_err(l, lb, "unbalanced brackets: '[' is never closed");
		if (s[i] != '=')
			return loc_err(l, i, "expected '=' after the key '" BLOB_FMT "'",
				       BLOB_ARG(kv.key));
		i++;
		while (i < lim && ascii_ispyspace(s[i]))
			i++;
		if (i < lim && (s[i] == '\'' || s[i] == '"')) {
			q = s[i];
			vs = ++i;
			while (i < lim && s[i] != q)
				i++;
			if (i >= lim)
				return loc_err(l, vs - 1,
					       "unterminated quote %c in the value of '" BLOB_FMT "'",
					       q, BLOB_ARG(kv.key));
			kv.val = (struct blob){ s + vs, i - vs };
			i++;
			if (i < lim && !ascii_ispyspace(s[i]) && s[i] != ',' && s[i] != ']')
				return loc_err(l, i,
					       "expected ',' or ']' after the value of '" BLOB_FMT "'",
					       BLOB_ARG(kv.key));
		} else {
			for (vs = i; i < lim && !ascii_ispyspace(s[i]) && s[i] != ',' && s[i] != ']'; i++)
				;
			kv.val = (struct blob){ s + vs, i - vs };
		}
		kv.voff = vs;
		if (!blob_trim(kv.val).len)
			return loc_err(l, ks,
				       "key-value mismatch in brackets: '" BLOB_FMT "' has no value",
				       BLOB_ARG(kv.key));
		*kvs = xrealloc(*kvs, (*nkv + 1) * sizeof **kvs);
		(*kvs)[(*nkv)++] = kv;
	}
	*end = i + 1;
	return 0;
}

static int brackets_apply(const struct loc *l, const struct bkv *kv, size_t n, struct matchspec *m)
{
	struct ptext t;
	size_t i, k;
	int r = 0;

	for (i = 0; i < n; i++) {
		for (k = 0; bracket_keys[k] && !blob_eq_str(kv[i].key, bracket_keys[k]); k++)
			;
		if (!bracket_keys[k])
			return loc_err(l, kv[i].koff,
				       "unknown bracket key '" BLOB_FMT "' (known: version, build, "
				       "build_number, channel, subdir, md5, sha256, fn, url)",
				       BLOB_ARG(kv[i].key));
	}
	/* in conda's order: the channel's subdir, then subdir=, win */
	for (i = 0; i < n && r == 0; i++) {
		struct blob key = kv[i].key, val = kv[i].val;

		if (blob_eq_str(key, "version")) {
			ptext_init(&t, val.ptr, val.len, kv[i].voff);
			sanitize_version(&t, false);
			r = version_set(l, &t, m);
			ptext_free(&t);
		} else if (blob_eq_str(key, "build")) {
			pattern_free(&m->build);
			r = pattern_set(l, kv[i].voff, &m->build, blob_dup(blob_trim(val)),
					"build");
		} else if (blob_eq_str(key, "build_number")) {
			r = build_number_set(l, kv[i].voff, val, m);
		} else if (blob_eq_str(key, "channel")) {
			r = channel_set(l, kv[i].voff, val, m);
		} else if (blob_eq_str(key, "md5")) {
			r = digest_set(l, kv[i].voff, val, 32, "md5", &m->md5);
		} else if (blob_eq_str(key, "sha256")) {
			r = digest_set(l, kv[i].voff, val, 64, "sha256", &m->sha256);
		} else if (blob_eq_str(key, "fn")) {
			set_str(&m->fn, blob_dup(val));
		} else if (blob_eq_str(key, "url")) {
			set_str(&m->url, blob_dup(val));
		}
	}
	for (i = 0; i < n && r == 0; i++)
		if (blob_eq_str(kv[i].key, "subdir"))
			set_str(&m->subdir, blob_dup(blob_trim(kv[i].val)));
	return r;
}

/* conda's _parse_version_plus_build(): the build follows the first ' ' or
 * '=' that is not preceded by one of "=!|,<>~" and after which none of
 * "-=,|<>~" occurs. */
static bool split_version_build(const char *s, size_t n, size_t *sep)
{
	size_t p, last_bad = 0, i;

	for (i = 0; i < n; i++)
		if (in_set(s[i], "-=,|<>~"))
			last_bad = i;
	for (p = 1; p + 1 < n; p++) {
		if (s[p] != ' ' && s[p] != '=')
			continue;
		if (in_set(s[p - 1], "=!|,<>~"))
			continue;
		if (last_bad > p)
			continue;
		*sep = p;
		return true;
	}
	return false;
}

static int version_build_set(const struct loc *l, size_t off, struct blob vb, struct matchspec *m)
{
	struct ptext t;
	struct blob build = BLOB_NULL;
	size_t sep, i, boff = 0;
	bool has_build;
	int r;

	has_build = split_version_build(vb.ptr, vb.len, &sep);
	if (has_build) {
		build = (struct blob){ vb.ptr + sep + 1, vb.len - sep - 1 };
		boff = off + sep + 1;
		while (build.len && ascii_ispyspace(build.ptr[0])) {
			build.ptr++;
			build.len--;
			boff++;
		}
		while (build.len && ascii_ispyspace(build.ptr[build.len - 1]))
			build.len--;
		vb.len = sep;
	}
	ptext_init(&t, vb.ptr, vb.len, off);
	for (i = t.len; i-- > 0;)
		if (t.s[i] == ' ')
			ptext_del(&t, i, 1);
	sanitize_version(&t, has_build);
	r = version_set(l, &t, m);
	ptext_free(&t);
	if (r == 0 && has_build)
		r = pattern_set(l, boff, &m->build, blob_dup(build), "build");
	return r;
}

/* A package file given by URL or absolute path (conda's step 2): name,
 * version, build, channel and subdir come from a URL whose directory is a
 * subdir, as conda's Channel() reads it; otherwise only fn and url. */
static int pkgfile_parse(const struct loc *l, size_t a, struct blob spec, struct matchspec *m)
{
	struct blob url, fn, dir, stem, sub, name, ver, build;
	const char *slash, *d1, *d2;
	struct ptext t;
	size_t delta, fnoff;
	int r;

	if (memmem(spec.ptr, spec.len, "://", 3))
		m->url = blob_dup(spec);
	else if (spec.ptr[0] == '/')
		m->url = xasprintf("file://" BLOB_FMT, BLOB_ARG(spec));
	else
		return loc_err(l, a, "a package file is given by its URL or its absolute path");
	url = BLOB_STR(m->url);
	delta = url.len - spec.len;	/* what "file://" added */
	slash = memrchr(url.ptr, '/', url.len);
	fn = (struct blob){ slash + 1, (size_t)(url.ptr + url.len - slash - 1) };
	fnoff = a + (size_t)(fn.ptr - url.ptr) - delta;
	m->fn = blob_dup(fn);
	dir = (struct blob){ url.ptr, (size_t)(slash - url.ptr) };
	slash = memrchr(dir.ptr, '/', dir.len);
	sub = BLOB_NULL;
	if (slash)
		sub = (struct blob){ slash + 1, (size_t)(dir.ptr + dir.len - slash - 1) };
	if (!slash || !is_known_subdir(sub))
		return pattern_set(l, a, &m->name, xstrdup("*"), "package name");

	stem = fn;
	stem.len -= blob_ends_with(fn, ".conda") ? 6 : 8;
	d2 = memrchr(stem.ptr, '-', stem.len);
	d1 = d2 ? memrchr(stem.ptr, '-', (size_t)(d2 - stem.ptr)) : NULL;
	if (!d1 || d1 == stem.ptr || d2 == d1 + 1 || d2 + 1 == stem.ptr + stem.len)
		return loc_err(l, fnoff,
			       "package file name '" BLOB_FMT "' is not NAME-VERSION-BUILD",
			       BLOB_ARG(fn));
	name = (struct blob){ stem.ptr, (size_t)(d1 - stem.ptr) };
	ver = (struct blob){ d1 + 1, (size_t)(d2 - d1 - 1) };
	build = (struct blob){ d2 + 1, (size_t)(stem.ptr + stem.len - d2 - 1) };
	r = channel_set(l, a, dir, m);
	if (r < 0)
		return r;
	r = name_set(l, fnoff, name, m);
	if (r < 0)
		return r;
	ptext_init(&t, ver.ptr, ver.len, fnoff + name.len + 1);
	r = version_set(l, &t, m);
	ptext_free(&t);
	if (r < 0)
		return r;
	return pattern_set(l, fnoff + (size_t)(build.ptr - fn.ptr), &m->build, blob_dup(build),
			   "build");
}

static void matchspec_clear(struct matchspec *m)
{
	pattern_free(&m->name);
	pattern_free(&m->channel);
	free(m->subdir);
	condaver_spec_free(m->version);
	pattern_free(&m->build);
	free(m->build_number_text);
	free(m->md5);
	free(m->sha256);
	free(m->fn);
	free(m->url);
	free(m->text);
	memset(m, 0, sizeof *m);
}

void matchspec_free(struct matchspec *m)
{
	matchspec_clear(m);
}

/* The main part: (channel(/subdir)::)name(version(build)). */
static int main_parse(const struct loc *l, size_t a, size_t e, struct matchspec *m)
{
	const char *s = l->text, *c1 = NULL, *c2;
	size_t ns, ne, vs;
	int r;

	/* rsplit(':', 2): channel, namespace, rest */
	c2 = memrchr(s + a, ':', e - a);
	if (c2)
		c1 = memrchr(s + a, ':', (size_t)(c2 - s - a));
	if (c2) {
		struct blob ns_b = { c1 ? c1 + 1 : s + a, (size_t)(c2 - (c1 ? c1 + 1 : s + a)) };
		struct blob nb = blob_trim(ns_b);

		if (nb.len) {
			struct blob rest = { c2 + 1, (size_t)(s + e - c2 - 1) };

			rest = blob_trim(rest);
			return loc_err(l, (size_t)(nb.ptr - s),
				       "unexpected namespace '" BLOB_FMT "' (did you mean '" BLOB_FMT
				       "::" BLOB_FMT "'?)", BLOB_ARG(nb), BLOB_ARG(nb),
				       BLOB_ARG(rest));
		}
		if (c1) {
			r = channel_set(l, a, (struct blob){ s + a, (size_t)(c1 - s - a) }, m);
			if (r < 0)
				return r;
		}
		a = (size_t)(c2 - s) + 1;
	}
	while (a < e && ascii_ispyspace(s[a]))
		a++;
	for (ns = a; a < e && !ascii_ispyspace(s[a]) && !in_set(s[a], "=<>!~"); a++)
		;
	ne = a;
	if (ne == ns)
		return loc_err(l, ns, ns < e ? "missing package name before '%.*s'"
				      : "missing package name%.*s", (int)(e - ns), s + ns);
	r = name_set(l, ns, (struct blob){ s + ns, ne - ns }, m);
	if (r < 0)
		return r;
	while (a < e && ascii_ispyspace(s[a]))
		a++;
	vs = a;
	if (vs == e || (vs == ne && e - vs == 1 && s[vs] == '='))
		return 0;	/* "numpy", "numpy=" */
	if (e - vs == 1 && in_set(s[vs], "<>!~="))
		return loc_err(l, vs, "operator '%c' without a version", s[vs]);
	return version_build_set(l, vs, (struct blob){ s + vs, e - vs }, m);
}

int matchspec_parse_blob(struct pkgimg_ctx *ctx, struct blob in, struct matchspec *out)
{
	struct loc l = { ctx, "conda spec", in.ptr, in.len };
	struct matchspec m;
	struct bkv *kv = NULL;
	const char *s = in.ptr, *p, *lb, *rb;
	size_t a = 0, e = in.len, nkv = 0, after = 0;
	int r = 0;

	memset(&m, 0, sizeof m);
	m.build_number_op = MATCHSPEC_OP_NONE;
	p = memchr(s, '#', e);
	if (p)
		e = (size_t)(p - s);
	p = memmem(s, e, " if ", 4);
	if (p) {
		pkgimg_warn(ctx,
			    "conda spec '%.*s': the condition '%.*s' is ignored, as conda does",
			    (int)in.len, s, (int)(e - (size_t)(p - s) - 1), p + 1);
		e = (size_t)(p - s);
	}
	while (a < e && ascii_ispyspace(s[a]))
		a++;
	while (e > a && ascii_ispyspace(s[e - 1]))
		e--;
	if (a == e) {
		r = loc_err(&l, 0, "empty spec: no package name");
		goto out;
	}
	if (s[e - 1] == '@') {
		r = loc_err(&l, e - 1,
			    "'%.*s' is a track_features spec (NAME@), which is not supported",
			    (int)(e - a), s + a);
		goto out;
	}
	lb = memchr(s + a, '[', e - a);
	rb = memchr(s + a, ']', (size_t)((lb ? lb : s + e) - (s + a)));
	if (rb) {
		r = loc_err(&l, (size_t)(rb - s), "unbalanced brackets: ']' without '['");
		goto out;
	}
	if (lb) {
		r = brackets_parse(&l, (size_t)(lb - s), e, &kv, &nkv, &after);
		if (r < 0)
			goto out;
		while (after < e && ascii_ispyspace(s[after]))
			after++;
		if (after < e) {
			r = s[after] == '['
			    ? loc_err(&l, after, "multiple bracket sections are not allowed")
			    : loc_err(&l, after, "unexpected text after the brackets: '%.*s'",
				      (int)(e - after), s + after);
			goto out;
		}
		e = (size_t)(lb - s);
		while (e > a && ascii_ispyspace(s[e - 1]))
			e--;
	}
	if (blob_ends_with((struct blob){ s + a, e - a }, ".conda") ||
	    blob_ends_with((struct blob){ s + a, e - a }, ".tar.bz2"))
		r = pkgfile_parse(&l, a, (struct blob){ s + a, e - a }, &m);
	else
		r = main_parse(&l, a, e, &m);
	if (r == 0)
		r = brackets_apply(&l, kv, nkv, &m);
out:
	free(kv);
	if (r < 0) {
		matchspec_clear(&m);
		return r;
	}
	m.text = blob_dup(in);
	*out = m;
	return 0;
}

int matchspec_parse(struct pkgimg_ctx *ctx, const char *s, struct matchspec *out)
{
	return matchspec_parse_blob(ctx, BLOB_STR(s), out);
}

static bool channel_matches(const struct matchspec_pattern *p, const char *rec)
{
	struct blob rn, pn, rb;

	if (!p->text)
		return true;
	if (!rec)
		return false;
	rb = blob_rstrip_slash(BLOB_STR(rec));
	rn = channel_name_blob(rb);
	if (p->kind != MATCHSPEC_EXACT)
		return pattern_match_blob(p, rn) || pattern_match_blob(p, rb);
	pn = channel_name_blob(BLOB_STR(p->text));
	return (pn.len == rn.len && !memcmp(pn.ptr, rn.ptr, rn.len)) || blob_eq_str(rb, p->text);
}

static bool build_number_matches(const struct matchspec *m, uint64_t bn)
{
	switch (m->build_number_op) {
	case MATCHSPEC_OP_NONE:
	case MATCHSPEC_OP_ANY:
		return true;
	case MATCHSPEC_OP_EQ:
		return bn == m->build_number;
	case MATCHSPEC_OP_NE:
		return bn != m->build_number;
	case MATCHSPEC_OP_LT:
		return bn < m->build_number;
	case MATCHSPEC_OP_LE:
		return bn <= m->build_number;
	case MATCHSPEC_OP_GT:
		return bn > m->build_number;
	case MATCHSPEC_OP_GE:
		return bn >= m->build_number;
	}
	return false;
}

static bool str_field_matches(const char *want, const char *have, bool nocase)
{
	if (!want)
		return true;
	if (!have)
		return false;
	return nocase ? strcasecmp(want, have) == 0 : strcmp(want, have) == 0;
}

bool matchspec_version_matches(const struct matchspec *m, const char *version)
{
	return !m->version || condaver_spec_matches(m->version, version);
}

bool matchspec_matches(const struct matchspec *m, const struct matchspec_record *r)
{
	return matchspec_pattern_matches(&m->name, r->name) &&
	       channel_matches(&m->channel, r->channel) &&
	       str_field_matches(m->subdir, r->subdir, false) &&
	       (!m->version || condaver_spec_matches(m->version, r->version)) &&
	       matchspec_pattern_matches(&m->build, r->build) &&
	       build_number_matches(m, r->build_number) &&
	       str_field_matches(m->md5, r->md5, true) &&
	       str_field_matches(m->sha256, r->sha256, true) &&
	       str_field_matches(m->fn, r->fn, false) &&
	       str_field_matches(m->url, r->url, false);
}

static bool has_any(const char *s, const char *set)
{
	return strpbrk(s, set) != NULL;
}

/* Whether s, less trailing '*' and '.', ends like a package file (the
 * reader takes "name=1.tar.bz2" for one). */
static bool pkgfile_like(const char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '*' || s[n - 1] == '.'))
		n--;
	return blob_ends_with((struct blob){ s, n }, ".conda") ||
		blob_ends_with((struct blob){ s, n }, ".tar.bz2");
}

/* Whether s has a byte of set or a control character (which the reader, as
 * Python's str.split, may take for a space). */
static bool has_any_or_ctrl(const char *s, const char *set)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || strchr(set, *s))
			return true;
	return false;
}

/* key=val in the brackets; quoted where asked (as conda's str quotes) and
 * also where the value would not read back unquoted (a space, a comma, a
 * bracket: a build string can hold a space), with " when it holds a '. */
static void bracket_add(struct sbuf *br, const char *key, const char *val, bool quote)
{
	char qc = strchr(val, '\'') ? '"' : '\'';

	if (br->len)
		sbuf_addc(br, ',');
	if (quote || has_any_or_ctrl(val, " ,=[]'\""))
		sbuf_addf(br, "%s=%c%s%c", key, qc, val, qc);
	else
		sbuf_addf(br, "%s=%s", key, val);
}

char *matchspec_str(const struct matchspec *m)
{
	struct sbuf b = SBUF_INIT, br = SBUF_INIT;
	bool chan_exact = m->channel.text && m->channel.kind == MATCHSPEC_EXACT;
	bool version_exact = false;
	const char *vs, *bs;
	size_t n;

	if (chan_exact)
		sbuf_addf(&b, BLOB_FMT, BLOB_ARG(channel_name_blob(BLOB_STR(m->channel.text))));
	else if (m->channel.text)
		bracket_add(&br, "channel", m->channel.text, false);
	if (m->subdir) {
		if (chan_exact)
			sbuf_addf(&b, "/%s", m->subdir);
		else
			bracket_add(&br, "subdir", m->subdir, false);
	}
	if (chan_exact)
		sbuf_adds(&b, "::");
	sbuf_adds(&b, m->name.text ? m->name.text : "*");
	if (m->version) {
		vs = condaver_spec_str(m->version);
		n = strlen(vs);
		/* conda's str writes these positionally; one that would not
		 * read back so ("1*=~a", "1 2": an '=', '~', '!' past the
		 * operator, a space, a bracket) goes in quoted brackets */
		if (has_any(vs, "><$^|,") || pkgfile_like(vs) ||
		    has_any_or_ctrl(vs + (!strncmp(vs, "==", 2) || !strncmp(vs, "!=", 2) ||
					  !strncmp(vs, "~=", 2) ? 2 : 0), "=!~ []'\"")) {
			bracket_add(&br, "version", vs, true);
		} else if (!strncmp(vs, "!=", 2) || !strncmp(vs, "~=", 2)) {
			if (m->build.text)
				bracket_add(&br, "version", vs, true);
			else
				sbuf_adds(&b, vs);
		} else if (n >= 2 && !strcmp(vs + n - 2, ".*")) {
			sbuf_addf(&b, "=%.*s", (int)(n - 2), vs);
		} else if (n >= 1 && vs[n - 1] == '*') {
			sbuf_addf(&b, "=%.*s", (int)(n - 1), vs);
		} else if (!strncmp(vs, "==", 2)) {
			sbuf_adds(&b, vs);
			version_exact = true;
		} else {
			sbuf_addf(&b, "==%s", vs);
			version_exact = true;
		}
	}
	if (m->build.text) {
		bs = m->build.text;
		if (has_any(bs, "><$^|,") || pkgfile_like(bs))
			bracket_add(&br, "build", bs, true);
		else if (strchr(bs, '*'))
			bracket_add(&br, "build", bs, false);
		else if (version_exact)
			sbuf_addf(&b, "=%s", bs);
		else
			bracket_add(&br, "build", bs, false);
	}
	if (m->build_number_text)
		bracket_add(&br, "build_number", m->build_number_text,
			    has_any(m->build_number_text, ", ="));
	if (m->url && !m->channel.text)
		bracket_add(&br, "url", m->url, has_any(m->url, ", ="));
	if (m->md5)
		bracket_add(&br, "md5", m->md5, false);
	if (m->sha256)
		bracket_add(&br, "sha256", m->sha256, false);
	if (m->fn && !m->url)
		bracket_add(&br, "fn", m->fn, has_any(m->fn, ", ="));
	if (br.len)
		sbuf_addf(&b, "[%s]", br.buf);
	sbuf_free(&br);
	return sbuf_detach(&b);
}
