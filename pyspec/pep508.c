/* PEP 508 names, requirements and environment markers, with pypa/packaging's
 * semantics (see pep508.h for the few deliberate differences).
 *
 * The parser follows packaging's tokenizer: each token is tried where the
 * previous one ended, whitespace between tokens is [ \t]*, keywords and
 * variables need word boundaries on both sides (\b), and the end is Python's
 * "$" (the end, or a last "\n").  A version specifier token is an operator,
 * optional whitespace and a run of version characters (=== takes anything
 * but whitespace, ';' and ')'); the text of all of them is then checked by
 * pep440_spec_parse, as packaging builds a SpecifierSet from it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep440.h"
#include "pyspec/pep508.h"

/* --- characters ----------------------------------------------------------- */

/* --- names ---------------------------------------------------------------- */

char *pep503_normalize(const char *name)
{
	struct sbuf sb = SBUF_INIT;
	const char *p;

	for (p = name; *p; p++) {
		if (ascii_ispysep(*p)) {
			while (ascii_ispysep(p[1]))
				p++;
			sbuf_addc(&sb, '-');
		} else {
			sbuf_addc(&sb, ascii_lower(*p));
		}
	}
	return sbuf_detach(&sb);
}

bool pep508_name_valid(const char *name)
{
	size_t i, n = strlen(name);

	if (!n || !ascii_isalnum(name[0]) || !ascii_isalnum(name[n - 1]))
		return false;
	for (i = 1; i + 1 < n; i++)
		if (!ascii_isalnum(name[i]) && !ascii_ispysep(name[i]))
			return false;
	return true;
}

/* --- tables --------------------------------------------------------------- */

static const char *const var_names[PEP508_NVARS] = {
	[PEP508_VAR_PYTHON_VERSION] = "python_version",
	[PEP508_VAR_PYTHON_FULL_VERSION] = "python_full_version",
	[PEP508_VAR_OS_NAME] = "os_name",
	[PEP508_VAR_SYS_PLATFORM] = "sys_platform",
	[PEP508_VAR_PLATFORM_RELEASE] = "platform_release",
	[PEP508_VAR_PLATFORM_SYSTEM] = "platform_system",
	[PEP508_VAR_PLATFORM_VERSION] = "platform_version",
	[PEP508_VAR_PLATFORM_MACHINE] = "platform_machine",
	[PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION] = "platform_python_implementation",
	[PEP508_VAR_IMPLEMENTATION_NAME] = "implementation_name",
	[PEP508_VAR_IMPLEMENTATION_VERSION] = "implementation_version",
	[PEP508_VAR_EXTRA] = "extra",
	[PEP508_VAR_EXTRAS] = "extras",
	[PEP508_VAR_DEPENDENCY_GROUPS] = "dependency_groups",
};

/* Every spelling packaging's tokenizer takes for a variable. */
static const struct {
	const char *word;
	enum pep508_var var;
} var_spellings[] = {
	{ "python_version", PEP508_VAR_PYTHON_VERSION },
	{ "python_full_version", PEP508_VAR_PYTHON_FULL_VERSION },
	{ "os_name", PEP508_VAR_OS_NAME },
	{ "os.name", PEP508_VAR_OS_NAME },
	{ "sys_platform", PEP508_VAR_SYS_PLATFORM },
	{ "sys.platform", PEP508_VAR_SYS_PLATFORM },
	{ "platform_release", PEP508_VAR_PLATFORM_RELEASE },
	{ "platform_system", PEP508_VAR_PLATFORM_SYSTEM },
	{ "platform_version", PEP508_VAR_PLATFORM_VERSION },
	{ "platform.version", PEP508_VAR_PLATFORM_VERSION },
	{ "platform_machine", PEP508_VAR_PLATFORM_MACHINE },
	{ "platform.machine", PEP508_VAR_PLATFORM_MACHINE },
	{ "platform_python_implementation", PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION },
	{ "platform.python_implementation", PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION },
	{ "python_implementation", PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION },
	{ "implementation_name", PEP508_VAR_IMPLEMENTATION_NAME },
	{ "implementation_version", PEP508_VAR_IMPLEMENTATION_VERSION },
	{ "extra", PEP508_VAR_EXTRA },
	{ "extras", PEP508_VAR_EXTRAS },
	{ "dependency_groups", PEP508_VAR_DEPENDENCY_GROUPS },
};

#define NSPELLINGS (sizeof var_spellings / sizeof var_spellings[0])

static const size_t env_offsets[PEP508_NVARS] = {
	[PEP508_VAR_PYTHON_VERSION] = offsetof(struct pep508_env, python_version),
	[PEP508_VAR_PYTHON_FULL_VERSION] = offsetof(struct pep508_env, python_full_version),
	[PEP508_VAR_OS_NAME] = offsetof(struct pep508_env, os_name),
	[PEP508_VAR_SYS_PLATFORM] = offsetof(struct pep508_env, sys_platform),
	[PEP508_VAR_PLATFORM_RELEASE] = offsetof(struct pep508_env, platform_release),
	[PEP508_VAR_PLATFORM_SYSTEM] = offsetof(struct pep508_env, platform_system),
	[PEP508_VAR_PLATFORM_VERSION] = offsetof(struct pep508_env, platform_version),
	[PEP508_VAR_PLATFORM_MACHINE] = offsetof(struct pep508_env, platform_machine),
	[PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION] =
		offsetof(struct pep508_env, platform_python_implementation),
	[PEP508_VAR_IMPLEMENTATION_NAME] = offsetof(struct pep508_env, implementation_name),
	[PEP508_VAR_IMPLEMENTATION_VERSION] =
		offsetof(struct pep508_env, implementation_version),
	[PEP508_VAR_EXTRA] = SIZE_MAX,	/* not in the environment */
	[PEP508_VAR_EXTRAS] = SIZE_MAX,
	[PEP508_VAR_DEPENDENCY_GROUPS] = SIZE_MAX,
};

/* Marker operators, in the order packaging's OP token tries them. */
static const struct {
	const char *text;
	enum pep508_op op;
} marker_ops[] = {
	{ "===", PEP508_OP_ARBITRARY }, { "==", PEP508_OP_EQ },
	{ "~=", PEP508_OP_COMPATIBLE }, { "!=", PEP508_OP_NE },
	{ "<=", PEP508_OP_LE }, { ">=", PEP508_OP_GE },
	{ "<", PEP508_OP_LT }, { ">", PEP508_OP_GT },
};

static const char *const op_names[] = {
	[PEP508_OP_LT] = "<", [PEP508_OP_LE] = "<=", [PEP508_OP_EQ] = "==",
	[PEP508_OP_NE] = "!=", [PEP508_OP_GE] = ">=", [PEP508_OP_GT] = ">",
	[PEP508_OP_COMPATIBLE] = "~=", [PEP508_OP_ARBITRARY] = "===",
	[PEP508_OP_IN] = "in", [PEP508_OP_NOT_IN] = "not in",
};

/* Version specifier operators, "===" first: "==" never leads to a match
 * where "===" does. */
static const char *const spec_ops[] = { "===", "~=", "==", "!=", "<=", ">=", "<", ">" };

static const char *const pep440_op_names[] = {
	[PEP440_OP_COMPATIBLE] = "~=", [PEP440_OP_EQ] = "==", [PEP440_OP_NE] = "!=",
	[PEP440_OP_LE] = "<=", [PEP440_OP_GE] = ">=", [PEP440_OP_LT] = "<",
	[PEP440_OP_GT] = ">", [PEP440_OP_ARBITRARY] = "===",
};

/* --- environment ---------------------------------------------------------- */

static char **env_field(struct pep508_env *env, enum pep508_var var)
{
	return (char **)(void *)((char *)env + env_offsets[var]);
}

static const char *env_get(const struct pep508_env *env, enum pep508_var var)
{
	const char *const *f;

	if (env_offsets[var] == SIZE_MAX)
		return "";	/* extra, extras, dependency_groups */
	f = (const char *const *)(const void *)((const char *)env + env_offsets[var]);
	return *f ? *f : "";
}

void pep508_env_init(struct pep508_env *env)
{
	memset(env, 0, sizeof *env);
}

void pep508_env_free(struct pep508_env *env)
{
	int v;

	if (!env)
		return;
	for (v = 0; v < PEP508_NVARS; v++) {
		if (env_offsets[v] == SIZE_MAX)
			continue;
		free(*env_field(env, (enum pep508_var)v));
		*env_field(env, (enum pep508_var)v) = NULL;
	}
}

static void env_put(struct pep508_env *env, enum pep508_var var, char *owned)
{
	char **f = env_field(env, var);

	free(*f);
	*f = owned;
}

int pep508_env_set(struct pkgimg_ctx *ctx, struct pep508_env *env, const char *name,
		   const char *value)
{
	size_t i;
	int r = 0;

	for (i = 0; i < NSPELLINGS; i++)
		if (!strcmp(var_spellings[i].word, name) &&
		    env_offsets[var_spellings[i].var] != SIZE_MAX)
			break;
	if (i == NSPELLINGS) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
			       "unknown marker variable '%s' (one of python_version, "
			       "python_full_version, os_name, sys_platform, platform_release, "
			       "platform_system, platform_version, platform_machine, "
			       "platform_python_implementation, implementation_name, "
			       "implementation_version)", name);
		goto out;
	}
	env_put(env, var_spellings[i].var, xstrdup(value));
out:
	return r;
}

void pep508_env_linux(struct pep508_env *env, const char *python_full_version,
		      const char *machine, const char *release, const char *version)
{
	const char *dot = strchr(python_full_version, '.');
	size_t n = strlen(python_full_version);

	/* python_version: the first two numbers, as platform.python_version_tuple()[:2] */
	if (dot && strchr(dot + 1, '.'))
		n = (size_t)(strchr(dot + 1, '.') - python_full_version);
	pep508_env_free(env);
	env_put(env, PEP508_VAR_PYTHON_VERSION, xstrndup(python_full_version, n));
	env_put(env, PEP508_VAR_PYTHON_FULL_VERSION, xstrdup(python_full_version));
	env_put(env, PEP508_VAR_OS_NAME, xstrdup("posix"));
	env_put(env, PEP508_VAR_SYS_PLATFORM, xstrdup("linux"));
	env_put(env, PEP508_VAR_PLATFORM_RELEASE, xstrdup(release ? release : ""));
	env_put(env, PEP508_VAR_PLATFORM_SYSTEM, xstrdup("Linux"));
	env_put(env, PEP508_VAR_PLATFORM_VERSION, xstrdup(version ? version : ""));
	env_put(env, PEP508_VAR_PLATFORM_MACHINE, xstrdup(machine ? machine : ""));
	env_put(env, PEP508_VAR_PLATFORM_PYTHON_IMPLEMENTATION, xstrdup("CPython"));
	env_put(env, PEP508_VAR_IMPLEMENTATION_NAME, xstrdup("cpython"));
	env_put(env, PEP508_VAR_IMPLEMENTATION_VERSION, xstrdup(python_full_version));
}

/* --- comparison ----------------------------------------------------------- */

/* packaging's _eval_op for two strings.  *undefined is set where packaging
 * raises and the answer is false: ~= or === that cannot be decided as
 * versions. */
static bool compare(struct pkgimg_ctx *scratch, const char *lhs, enum pep508_op op,
		    const char *rhs, bool *undefined)
{
	struct pep440_specset set = { NULL, 0 };
	struct pep440_version v;
	struct blob arb;
	char *spec = NULL, *norm = NULL;
	bool res = false, decided = false;
	int c;
	size_t i;

	*undefined = false;
	if (op == PEP508_OP_IN || op == PEP508_OP_NOT_IN) {
		res = (strstr(rhs, lhs) != NULL) == (op == PEP508_OP_IN);
		goto out;
	}
	if (op == PEP508_OP_ARBITRARY) {
		/* Specifier("===" + rhs): one word without whitespace, ';', ')';
		 * it holds when str(Version(lhs)) equals it, ignoring case */
		arb = BLOB_STR(rhs);
		while (arb.len && ascii_ispyspace(arb.ptr[0])) {
			arb.ptr++;
			arb.len--;
		}
		while (arb.len && ascii_ispyspace(arb.ptr[arb.len - 1]))
			arb.len--;
		for (i = 0; i < arb.len; i++)
			if (ascii_ispyspace(arb.ptr[i]) || arb.ptr[i] == ';' || arb.ptr[i] == ')')
				break;
		if (i < arb.len || pep440_parse(scratch, lhs, &v) < 0) {
			*undefined = true;
			goto out;
		}
		norm = pep440_normalize(&v);
		res = strlen(norm) == arb.len && !strncasecmp(norm, arb.ptr, arb.len);
		pep440_version_free(&v);
		goto out;
	}

	/* Specifier(op + rhs): a single specifier, so no comma (which
	 * pep440_spec_parse would split at) */
	if (!strchr(rhs, ',')) {
		spec = xasprintf("%s%s", op_names[op], rhs);
		if (pep440_spec_parse(scratch, spec, &set) == 0 && set.n == 1 &&
		    pep440_parse(scratch, lhs, &v) == 0) {
			res = pep440_spec_contains(&set, &v, true);
			decided = true;
			pep440_version_free(&v);
		}
		pep440_specset_free(&set);
	}
	if (decided)
		goto out;

	/* Python's string comparison (code point order = UTF-8 byte order) */
	c = strcmp(lhs, rhs);
	switch (op) {
	case PEP508_OP_LT: res = c < 0; break;
	case PEP508_OP_LE: res = c <= 0; break;
	case PEP508_OP_EQ: res = c == 0; break;
	case PEP508_OP_NE: res = c != 0; break;
	case PEP508_OP_GE: res = c >= 0; break;
	case PEP508_OP_GT: res = c > 0; break;
	default: *undefined = true; break;	/* ~= */
	}
out:
	free(spec);
	free(norm);
	return res;
}

/* --- parser --------------------------------------------------------------- */

struct parser {
	struct pkgimg_ctx *ctx;
	const char *s;
	size_t len;
	size_t pos;
	const char *what;		/* "requirement" or "marker" */
	int depth;			/* open parentheses */
	struct pkgimg_ctx *scratch;	/* for pep440 parses that may fail */
	bool lock;			/* a lock file's marker: extras, dependency_groups */
};

static int perr(struct parser *p, size_t at, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct parser *p, size_t at, const char *fmt, ...)
{
	char why[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	/* a long input is cut, so that the cause stays in the message */
	return pkgimg_err(p->ctx, -PKGIMG_E_PARSE, "invalid %s '%.*s%s' at column %zu: %s",
			  p->what, p->len > 200 ? 200 : (int)p->len, p->s,
			  p->len > 200 ? "..." : "", at + 1, why);
}

static struct pkgimg_ctx *scratch_ctx(struct parser *p)
{
	if (!p->scratch) {
		p->scratch = xmalloc(sizeof *p->scratch);
		pkgimg_ctx_init(p->scratch);
	}
	return p->scratch;
}

static char peek(const struct parser *p, size_t i)
{
	return i < p->len ? p->s[i] : '\0';
}

/* \b at i */
static bool boundary(const struct parser *p, size_t i)
{
	bool before = i > 0 && i <= p->len && ascii_ispyword(p->s[i - 1]);
	bool after = i < p->len && ascii_ispyword(p->s[i]);

	return before != after;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
		p->pos++;
}

/* Python's "$": the end, or before a newline that ends the string. */
static bool at_end(const struct parser *p)
{
	return p->pos >= p->len || (p->pos + 1 == p->len && p->s[p->pos] == '\n');
}

/* \bWORD\b at i: its length, or 0. */
static size_t word_at(const struct parser *p, size_t i, const char *w)
{
	size_t n = strlen(w);

	if (i > p->len || p->len - i < n || memcmp(p->s + i, w, n) ||
	    !boundary(p, i) || !boundary(p, i + n))
		return 0;
	return n;
}

/* packaging's IDENTIFIER, \b[a-zA-Z0-9][a-zA-Z0-9._-]*\b: its length or 0. */
static size_t ident_at(const struct parser *p, size_t i)
{
	size_t n = 1;

	if (!ascii_isalnum(peek(p, i)) || !boundary(p, i))
		return 0;
	while (i + n < p->len && (ascii_isalnum(p->s[i + n]) || ascii_ispysep(p->s[i + n])))
		n++;
	while (n && !boundary(p, i + n))	/* the regex backtracks to a \b */
		n--;
	return n;
}

/* --- quoted strings ------------------------------------------------------- */

/* Decodes the body of a Python string literal (ast.literal_eval).  Returns
 * NULL, with *why set, where Python would fail or the value cannot be a C
 * string. */
static char *decode_literal(struct blob b, const char **why)
{
	struct sbuf sb = SBUF_INIT;
	char *res = NULL;
	uint32_t cp;
	size_t i, k, ndig;
	char e;

	sbuf_add(&sb, "", 0);	/* NUL-terminated even when empty */
	for (i = 0; i < b.len; i++) {
		if (b.ptr[i] == '\n' || b.ptr[i] == '\r') {
			*why = "a line break inside the quotes";
			goto out;
		}
		if (b.ptr[i] != '\\') {
			sbuf_addc(&sb, b.ptr[i]);
			continue;
		}
		if (++i == b.len) {
			*why = "a backslash escapes the closing quote";
			goto out;
		}
		e = b.ptr[i];
		switch (e) {
		case '\n':
			continue;	/* line continuation */
		case '\r':
			if (i + 1 < b.len && b.ptr[i + 1] == '\n')
				i++;
			continue;
		case '\\': case '\'': case '"':
			sbuf_addc(&sb, e);
			continue;
		case 'a': sbuf_addc(&sb, '\a'); continue;
		case 'b': sbuf_addc(&sb, '\b'); continue;
		case 'f': sbuf_addc(&sb, '\f'); continue;
		case 'n': sbuf_addc(&sb, '\n'); continue;
		case 'r': sbuf_addc(&sb, '\r'); continue;
		case 't': sbuf_addc(&sb, '\t'); continue;
		case 'v': sbuf_addc(&sb, '\v'); continue;
		case 'N':
			*why = "\\N{...} escapes are not supported";
			goto out;
		case 'x': case 'u': case 'U':
			ndig = e == 'x' ? 2 : e == 'u' ? 4 : 8;
			for (cp = 0, k = 0; k < ndig; k++) {
				if (i + 1 + k >= b.len || ascii_hexval(b.ptr[i + 1 + k]) < 0) {
					*why = "a truncated \\x, \\u or \\U escape";
					goto out;
				}
				cp = cp * 16 + (uint32_t)ascii_hexval(b.ptr[i + 1 + k]);
				if (cp > 0x10ffff) {
					*why = "a \\U escape past U+10FFFF";
					goto out;
				}
			}
			i += ndig;
			break;
		default:
			if (e >= '0' && e <= '7') {
				for (cp = 0, k = 0; k < 3 && i + k < b.len &&
				     b.ptr[i + k] >= '0' && b.ptr[i + k] <= '7'; k++)
					cp = cp * 8 + (uint32_t)(b.ptr[i + k] - '0');
				i += k - 1;
				break;
			}
			/* an unknown escape stays as written */
			sbuf_addc(&sb, '\\');
			sbuf_addc(&sb, e);
			continue;
		}
		if (cp == 0) {
			*why = "a NUL character";
			goto out;
		}
		if (cp >= 0xd800 && cp <= 0xdfff) {
			*why = "a lone surrogate";
			goto out;
		}
		sbuf_add_utf8(&sb, cp);
	}
	res = sbuf_detach(&sb);
out:
	sbuf_free(&sb);
	return res;
}

/* --- markers: parsing ----------------------------------------------------- */

static void operand_free(struct pep508_operand *o)
{
	free(o->value);
	o->value = NULL;
}

void pep508_marker_free(struct pep508_marker *m)
{
	size_t i;

	if (!m)
		return;
	operand_free(&m->lhs);
	operand_free(&m->rhs);
	for (i = 0; i < m->nsub; i++)
		pep508_marker_free(m->sub[i]);
	free(m->sub);
	free(m);
}

static void marker_push(struct pep508_marker *node, struct pep508_marker *child)
{
	node->sub = xrealloc(node->sub, (node->nsub + 1) * sizeof *node->sub);
	node->sub[node->nsub++] = child;
}

/* marker_var = VARIABLE | QUOTED_STRING */
static int parse_operand(struct parser *p, struct pep508_operand *out)
{
	const char *end = NULL, *why = NULL;
	size_t i, n = 0;
	char q = peek(p, p->pos);
	int r = 0;

	for (i = 0; i < NSPELLINGS && !n; i++)
		if (p->lock || (var_spellings[i].var != PEP508_VAR_EXTRAS &&
				var_spellings[i].var != PEP508_VAR_DEPENDENCY_GROUPS))
			n = word_at(p, p->pos, var_spellings[i].word);
	if (n) {
		out->is_var = true;
		out->var = var_spellings[i - 1].var;
		out->value = NULL;
		p->pos += n;
		goto out;
	}
	if (q == '\'' || q == '"')
		end = memchr(p->s + p->pos + 1, q, p->len - p->pos - 1);
	if (!end) {
		r = perr(p, p->pos, "expected a marker variable or quoted string");
		goto out;
	}
	out->is_var = false;
	out->value = decode_literal((struct blob){ p->s + p->pos + 1,
						   (size_t)(end - p->s) - p->pos - 1 }, &why);
	if (!out->value) {
		r = perr(p, p->pos, "invalid quoted string: %s", why);
		goto out;
	}
	p->pos = (size_t)(end - p->s) + 1;
out:
	return r;
}

/* marker_op = IN | NOT WS IN | OP */
static int parse_op(struct parser *p, enum pep508_op *out)
{
	size_t i, n;
	int r = 0;

	if ((n = word_at(p, p->pos, "in"))) {
		p->pos += n;
		*out = PEP508_OP_IN;
		goto out;
	}
	if ((n = word_at(p, p->pos, "not"))) {
		p->pos += n;
		if (peek(p, p->pos) != ' ' && peek(p, p->pos) != '\t') {
			r = perr(p, p->pos, "expected whitespace after 'not'");
			goto out;
		}
		skip_ws(p);
		if (!(n = word_at(p, p->pos, "in"))) {
			r = perr(p, p->pos, "expected 'in' after 'not'");
			goto out;
		}
		p->pos += n;
		*out = PEP508_OP_NOT_IN;
		goto out;
	}
	for (i = 0; i < sizeof marker_ops / sizeof marker_ops[0]; i++) {
		n = strlen(marker_ops[i].text);
		if (p->len - p->pos >= n && !memcmp(p->s + p->pos, marker_ops[i].text, n))
			break;
	}
	if (i == sizeof marker_ops / sizeof marker_ops[0]) {
		r = perr(p, p->pos, "expected a marker operator, one of <=, <, !=, ==, >=, >, "
			 "~=, ===, in, not in");
		goto out;
	}
	p->pos += n;
	*out = marker_ops[i].op;
out:
	return r;
}

static void normalize_extra_operand(struct pep508_operand *lit)
{
	char *norm = pep503_normalize(lit->value);

	free(lit->value);
	lit->value = norm;
}

/* marker_item = WS? marker_var WS? marker_op WS? marker_var WS? */
static int parse_item(struct parser *p, struct pep508_marker **out)
{
	struct pep508_marker *m = xcalloc(1, sizeof *m);
	size_t op_at;
	bool undefined;
	int r;

	m->kind = PEP508_MARKER_CMP;
	skip_ws(p);
	r = parse_operand(p, &m->lhs);
	if (r < 0)
		goto out;
	skip_ws(p);
	op_at = p->pos;
	r = parse_op(p, &m->op);
	if (r < 0)
		goto out;
	skip_ws(p);
	r = parse_operand(p, &m->rhs);
	if (r < 0)
		goto out;
	skip_ws(p);

	/* PEP 685: a literal compared with `extra` is kept normalised */
	if (m->lhs.is_var && m->lhs.var == PEP508_VAR_EXTRA && !m->rhs.is_var)
		normalize_extra_operand(&m->rhs);
	else if (m->rhs.is_var && m->rhs.var == PEP508_VAR_EXTRA && !m->lhs.is_var)
		normalize_extra_operand(&m->lhs);

	if (!m->lhs.is_var && !m->rhs.is_var &&
	    (m->op == PEP508_OP_COMPATIBLE || m->op == PEP508_OP_ARBITRARY)) {
		compare(scratch_ctx(p), m->lhs.value, m->op, m->rhs.value, &undefined);
		if (undefined)
			r = perr(p, op_at, "'\"%s\" %s \"%s\"' cannot be evaluated: %s needs a "
				 "valid specifier on its right and a PEP 440 version on its left",
				 m->lhs.value, op_names[m->op], m->rhs.value, op_names[m->op]);
	}
out:
	if (r < 0)
		pep508_marker_free(m);
	else
		*out = m;
	return r;
}

static int parse_or(struct parser *p, struct pep508_marker **out);

/* marker_atom = WS? '(' WS? marker WS? ')' WS? | WS? marker_item WS? */
static int parse_atom(struct parser *p, struct pep508_marker **out)
{
	struct pep508_marker *m = NULL;
	size_t open;
	int r;

	skip_ws(p);
	if (peek(p, p->pos) != '(') {
		r = parse_item(p, &m);
		goto out;
	}
	open = p->pos++;
	if (++p->depth > PEP508_MAX_DEPTH) {
		r = perr(p, open, "parentheses nested more than %d deep", PEP508_MAX_DEPTH);
		goto out;
	}
	skip_ws(p);
	r = parse_or(p, &m);
	if (r < 0)
		goto out;
	skip_ws(p);
	if (peek(p, p->pos) != ')') {
		r = perr(p, p->pos, "expected ')' to match the '(' at column %zu, after the "
			 "marker expression", open + 1);
		goto out;
	}
	p->pos++;
	p->depth--;
	skip_ws(p);
	m->parens = true;
out:
	if (r < 0)
		pep508_marker_free(m);
	else
		*out = m;
	return r;
}

/* One level of the precedence: atoms joined by "and", or and-groups joined
 * by "or" (packaging's BOOLOP, \b(or|and)\b). */
static int parse_chain(struct parser *p, enum pep508_marker_kind kind,
		       struct pep508_marker **out)
{
	struct pep508_marker *m = NULL, *node = NULL;
	const char *word = kind == PEP508_MARKER_AND ? "and" : "or";
	size_t n;
	int r;

	r = kind == PEP508_MARKER_AND ? parse_atom(p, &m) : parse_chain(p, PEP508_MARKER_AND, &m);
	if (r < 0)
		goto out;
	while ((n = word_at(p, p->pos, word))) {
		if (!node) {
			node = xcalloc(1, sizeof *node);
			node->kind = kind;
			marker_push(node, m);
		}
		m = NULL;
		p->pos += n;
		r = kind == PEP508_MARKER_AND ? parse_atom(p, &m) :
			parse_chain(p, PEP508_MARKER_AND, &m);
		if (r < 0)
			goto out;
		marker_push(node, m);
	}
	if (node)
		m = NULL;
out:
	if (r < 0) {
		pep508_marker_free(m);
		pep508_marker_free(node);
	} else {
		*out = node ? node : m;
	}
	return r;
}

static int parse_or(struct parser *p, struct pep508_marker **out)
{
	return parse_chain(p, PEP508_MARKER_OR, out);
}

static int marker_parse(struct pkgimg_ctx *ctx, const char *s, bool lock,
			struct pep508_marker **out)
{
	struct parser p = { ctx, s, strlen(s), 0, "marker", 0, NULL, lock };
	struct pep508_marker *m = NULL;
	int r;

	r = parse_or(&p, &m);
	if (r < 0)
		goto out;
	if (!at_end(&p)) {
		r = perr(&p, p.pos, "expected 'and', 'or' or the end of the marker expression");
		goto out;
	}
out:
	free(p.scratch);
	if (r < 0)
		pep508_marker_free(m);
	else
		*out = m;
	return r;
}

int pep508_marker_parse(struct pkgimg_ctx *ctx, const char *s, struct pep508_marker **out)
{
	return marker_parse(ctx, s, false, out);
}

int pep508_marker_parse_lock(struct pkgimg_ctx *ctx, const char *s, struct pep508_marker **out)
{
	return marker_parse(ctx, s, true, out);
}

/* --- markers: evaluation and text ----------------------------------------- */

static const char *operand_value(const struct pep508_operand *o, const struct pep508_env *env,
				 const char *extra)
{
	if (!o->is_var)
		return o->value;
	if (o->var == PEP508_VAR_EXTRA)
		return extra ? extra : "";
	return env_get(env, o->var);
}

/* Whether name (normalised) is one of the set's (normalised too). */
static bool set_has(const char *const *v, size_t n, const char *name)
{
	char *want = pep503_normalize(name);
	bool found = false;

	for (size_t i = 0; i < n && !found; i++) {
		char *have = pep503_normalize(v[i]);

		found = !strcmp(have, want);
		free(have);
	}
	free(want);
	return found;
}

/* A comparison with `extra`, `extras` or `dependency_groups` in a lock
 * file's context (pep508_marker_eval_sets); false when it is none. */
static bool eval_set_cmp(const struct pep508_marker *m, const struct pep508_sets *sets,
			 bool *res)
{
	const struct pep508_operand *var = m->lhs.is_var ? &m->lhs : &m->rhs;
	const struct pep508_operand *lit = m->lhs.is_var ? &m->rhs : &m->lhs;
	const char *const *v;
	size_t n;
	bool in;

	if (m->lhs.is_var == m->rhs.is_var || !var->is_var ||
	    (var->var != PEP508_VAR_EXTRA && var->var != PEP508_VAR_EXTRAS &&
	     var->var != PEP508_VAR_DEPENDENCY_GROUPS))
		return false;
	v = var->var == PEP508_VAR_DEPENDENCY_GROUPS ? sets->groups : sets->extras;
	n = var->var == PEP508_VAR_DEPENDENCY_GROUPS ? sets->ngroups : sets->nextras;
	in = set_has(v, n, lit->value);
	if (var->var == PEP508_VAR_EXTRA)
		*res = m->op == PEP508_OP_EQ ? in : m->op == PEP508_OP_NE ? !in : false;
	else	/* "x" in extras: the literal on the left, the set on the right */
		*res = var == &m->rhs && m->op == PEP508_OP_IN ? in :
		       var == &m->rhs && m->op == PEP508_OP_NOT_IN ? !in : false;
	return true;
}

static bool eval_node(struct pkgimg_ctx *scratch, const struct pep508_marker *m,
		      const struct pep508_env *env, const char *extra,
		      const struct pep508_sets *sets)
{
	const char *lhs, *rhs;
	char *nl = NULL, *nr = NULL;
	bool res, undefined;
	size_t i;

	if (m->kind != PEP508_MARKER_CMP) {
		/* AND: false at the first false child; OR: true at the first true */
		res = m->kind == PEP508_MARKER_AND;
		for (i = 0; i < m->nsub && res == (m->kind == PEP508_MARKER_AND); i++)
			res = eval_node(scratch, m->sub[i], env, extra, sets);
		goto out;
	}
	if (sets && eval_set_cmp(m, sets, &res))
		goto out;
	lhs = operand_value(&m->lhs, env, extra);
	rhs = operand_value(&m->rhs, env, extra);
	if ((m->lhs.is_var && m->lhs.var == PEP508_VAR_EXTRA) ||
	    (m->rhs.is_var && m->rhs.var == PEP508_VAR_EXTRA)) {
		lhs = nl = pep503_normalize(lhs);
		rhs = nr = pep503_normalize(rhs);
	}
	res = compare(scratch, lhs, m->op, rhs, &undefined);
out:
	free(nl);
	free(nr);
	return res;
}

int pep508_marker_eval(const struct pep508_marker *m, const struct pep508_env *env,
		       const char *extra)
{
	struct pkgimg_ctx scratch;

	if (!m)
		return 1;
	pkgimg_ctx_init(&scratch);
	return eval_node(&scratch, m, env, extra, NULL) ? 1 : 0;
}

int pep508_marker_eval_sets(const struct pep508_marker *m, const struct pep508_env *env,
			    const struct pep508_sets *sets)
{
	static const struct pep508_sets none = { 0 };
	struct pkgimg_ctx scratch;

	if (!m)
		return 1;
	pkgimg_ctx_init(&scratch);
	return eval_node(&scratch, m, env, NULL, sets ? sets : &none) ? 1 : 0;
}

/* A literal in double quotes, as packaging writes it; '"', '\', CR and LF
 * (which packaging writes raw, so the text would not parse back) are
 * escaped. */
static void add_literal(struct sbuf *sb, const char *v)
{
	const char *c;

	sbuf_addc(sb, '"');
	for (c = v; *c; c++) {
		switch (*c) {
		case '"': sbuf_adds(sb, "\\x22"); break;
		case '\\': sbuf_adds(sb, "\\\\"); break;
		case '\n': sbuf_adds(sb, "\\n"); break;
		case '\r': sbuf_adds(sb, "\\r"); break;
		default: sbuf_addc(sb, *c); break;
		}
	}
	sbuf_addc(sb, '"');
}

static void add_operand(struct sbuf *sb, const struct pep508_operand *o)
{
	if (o->is_var)
		sbuf_adds(sb, var_names[o->var]);
	else
		add_literal(sb, o->value);
}

static void add_marker(struct sbuf *sb, const struct pep508_marker *m, bool top)
{
	size_t i;

	if (m->kind == PEP508_MARKER_CMP) {
		add_operand(sb, &m->lhs);
		sbuf_addf(sb, " %s ", op_names[m->op]);
		add_operand(sb, &m->rhs);
		return;
	}
	if (!top && m->parens)
		sbuf_addc(sb, '(');
	for (i = 0; i < m->nsub; i++) {
		if (i)
			sbuf_adds(sb, m->kind == PEP508_MARKER_AND ? " and " : " or ");
		add_marker(sb, m->sub[i], false);
	}
	if (!top && m->parens)
		sbuf_addc(sb, ')');
}

char *pep508_marker_str(const struct pep508_marker *m)
{
	struct sbuf sb = SBUF_INIT;

	if (m)
		add_marker(&sb, m, true);
	return sbuf_detach(&sb);
}

/* --- requirements --------------------------------------------------------- */

/* extras = '[' WS? (IDENTIFIER (WS? ',' WS? IDENTIFIER)*)? WS? ']' */
static int parse_extras(struct parser *p, struct strv *out)
{
	size_t open = p->pos++, n;
	int r = 0;

	skip_ws(p);
	n = ident_at(p, p->pos);
	while (n) {
		/* packaging's IDENTIFIER takes "a_" (\b after '_'), but it
		 * normalises (PEP 685) to "a-", which no reader takes back */
		if (p->s[p->pos + n - 1] == '_') {
			r = perr(p, p->pos + n - 1, "an extra name ends with a letter or a digit "
				 "(PEP 685), not '_'");
			goto out;
		}
		strv_push(out, xstrndup(p->s + p->pos, n));
		p->pos += n;
		skip_ws(p);
		if (ident_at(p, p->pos)) {
			r = perr(p, p->pos, "expected a comma between extra names");
			goto out;
		}
		if (peek(p, p->pos) != ',')
			break;
		p->pos++;
		skip_ws(p);
		n = ident_at(p, p->pos);
		if (!n) {
			r = perr(p, p->pos, "expected an extra name after the comma");
			goto out;
		}
	}
	skip_ws(p);
	if (peek(p, p->pos) != ']') {
		r = perr(p, p->pos, "expected ']' to match the '[' at column %zu, after the "
			 "extras", open + 1);
		goto out;
	}
	p->pos++;
out:
	return r;
}

/* A SPECIFIER token at i: its length, or 0. */
static size_t spec_token_at(const struct parser *p, size_t i)
{
	size_t k, n = 0, j, len = 0;

	for (k = 0; k < sizeof spec_ops / sizeof spec_ops[0]; k++) {
		n = strlen(spec_ops[k]);
		if (p->len - i >= n && !memcmp(p->s + i, spec_ops[k], n))
			break;
	}
	if (k == sizeof spec_ops / sizeof spec_ops[0])
		goto out;
	j = i + n;
	while (j < p->len && ascii_ispyspace(p->s[j]))
		j++;
	if (k == 0) {
		/* ===: anything but whitespace, ';' and ')', maybe nothing */
		while (j < p->len && !ascii_ispyspace(p->s[j]) && p->s[j] != ';' && p->s[j] != ')')
			j++;
		len = j - i;
		goto out;
	}
	/* a version starts with a digit or 'v'; pep440_spec_parse checks the rest */
	if (!ascii_isdigit(peek(p, j)) && ascii_lower(peek(p, j)) != 'v')
		goto out;
	while (j < p->len && (ascii_isalnum(p->s[j]) || ascii_ispysep(p->s[j]) || p->s[j] == '!' ||
			      p->s[j] == '+' || p->s[j] == '*'))
		j++;
	len = j - i;
out:
	return len;
}

/* specifier = '(' WS? version_many WS? ')' | version_many, where
 * version_many = (SPECIFIER (WS? ',' WS? SPECIFIER)*)? */
static int parse_specifier(struct parser *p, struct blob *out)
{
	size_t open = 0, start, end, n;
	bool parens = peek(p, p->pos) == '(';
	int r = 0;

	if (parens) {
		open = p->pos++;
		skip_ws(p);
	}
	start = end = p->pos;
	while ((n = spec_token_at(p, p->pos))) {
		p->pos += n;
		end = p->pos;
		skip_ws(p);
		if (peek(p, p->pos) != ',')
			break;
		end = ++p->pos;
		skip_ws(p);
	}
	if (parens) {
		skip_ws(p);
		if (peek(p, p->pos) != ')') {
			r = perr(p, p->pos, "expected ')' to match the '(' at column %zu, after "
				 "the version specifier", open + 1);
			goto out;
		}
		p->pos++;
	}
	*out = (struct blob){ p->s + start, end - start };
out:
	return r;
}

/* requirement_marker = ';' marker WS? */
static int parse_req_marker(struct parser *p, const char *expected, struct pep508_marker **out)
{
	int r;

	if (peek(p, p->pos) != ';') {
		r = perr(p, p->pos, "expected %s or the end", expected);
		goto out;
	}
	p->pos++;
	r = parse_or(p, out);
out:
	return r;
}

static void sort_unique(struct strv *sv)
{
	size_t i, n = 0;

	strv_sort(sv);
	for (i = 0; i < sv->n; i++) {
		if (n && !strcmp(sv->v[n - 1], sv->v[i]))
			free(sv->v[i]);
		else
			sv->v[n++] = sv->v[i];
	}
	sv->n = n;
	if (sv->v)
		sv->v[n] = NULL;
}

int pep508_req_parse(struct pkgimg_ctx *ctx, const char *s, struct pep508_req *out)
{
	struct parser p = { ctx, s, strlen(s), 0, "requirement", 0, NULL, false };
	struct pep508_req req = { 0 };
	struct strv extras = { NULL, 0, 0 }, norm = { NULL, 0, 0 };
	struct blob spec = { s, 0 };
	size_t n, i;
	int r = 0;

	skip_ws(&p);
	n = ident_at(&p, p.pos);
	if (!n) {
		r = perr(&p, p.pos, "expected a package name at the start of the dependency "
			 "specifier");
		goto out;
	}
	req.name = xstrndup(s + p.pos, n);
	p.pos += n;
	skip_ws(&p);
	if (peek(&p, p.pos) == '[') {
		r = parse_extras(&p, &extras);
		if (r < 0)
			goto out;
	}
	skip_ws(&p);

	if (peek(&p, p.pos) == '@') {
		/* AT URL (WS requirement_marker?)?, URL = [^ \t]+ */
		p.pos++;
		skip_ws(&p);
		for (n = 0; p.pos + n < p.len && s[p.pos + n] != ' ' && s[p.pos + n] != '\t'; n++)
			;
		if (!n) {
			r = perr(&p, p.pos, "expected a URL after '@'");
			goto out;
		}
		req.url = xstrndup(s + p.pos, n);
		p.pos += n;
		skip_ws(&p);
		if (!at_end(&p)) {
			r = parse_req_marker(&p, "';' (after the URL and whitespace)", &req.marker);
			if (r < 0)
				goto out;
		}
	} else {
		r = parse_specifier(&p, &spec);
		if (r < 0)
			goto out;
		skip_ws(&p);
		if (!at_end(&p)) {
			r = parse_req_marker(&p, spec.len ?
					     "',' (within the version specifier) or ';' (after it)" :
					     "';' (after a name with no valid version specifier)",
					     &req.marker);
			if (r < 0)
				goto out;
		}
	}
	skip_ws(&p);
	if (!at_end(&p)) {
		r = perr(&p, p.pos, "expected the end of the dependency specifier");
		goto out;
	}

	r = pep440_spec_parse_blob(ctx, spec, &req.spec);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "invalid requirement '%.*s%s' at column %zu",
				    p.len > 200 ? 200 : (int)p.len, s, p.len > 200 ? "..." : "",
				    (size_t)(spec.ptr - s) + 1);
		goto out;
	}
	for (i = 0; i < extras.n; i++)
		strv_push(&norm, pep503_normalize(extras.v[i]));
	sort_unique(&norm);
	req.norm = pep503_normalize(req.name);
	req.extras = norm.v ? norm.v : xcalloc(1, sizeof *req.extras);
	req.nextras = norm.n;
	norm = (struct strv){ NULL, 0, 0 };
out:
	free(p.scratch);
	strv_free(&extras);
	strv_free(&norm);
	if (r < 0)
		pep508_req_free(&req);
	else
		*out = req;
	return r;
}

void pep508_req_free(struct pep508_req *r)
{
	size_t i;

	if (!r)
		return;
	free(r->name);
	free(r->norm);
	for (i = 0; i < r->nextras; i++)
		free(r->extras[i]);
	free(r->extras);
	pep440_specset_free(&r->spec);
	free(r->url);
	pep508_marker_free(r->marker);
	memset(r, 0, sizeof *r);
}

char *pep508_req_str(const struct pep508_req *r)
{
	struct sbuf sb = SBUF_INIT;
	struct strv specs = { NULL, 0, 0 };
	const struct pep440_spec *sp;
	const char *ver;
	char *m;
	size_t i;

	sbuf_adds(&sb, r->name);
	if (r->nextras) {
		sbuf_addc(&sb, '[');
		for (i = 0; i < r->nextras; i++) {
			if (i)
				sbuf_addc(&sb, ',');
			sbuf_adds(&sb, r->extras[i]);
		}
		sbuf_addc(&sb, ']');
	}
	/* str(SpecifierSet): each "op" + "version as written", sorted */
	for (i = 0; i < r->spec.n; i++) {
		sp = &r->spec.v[i];
		ver = sp->text + strlen(pep440_op_names[sp->op]);
		while (ascii_ispyspace(*ver))
			ver++;
		strv_push(&specs, xasprintf("%s%s", pep440_op_names[sp->op], ver));
	}
	sort_unique(&specs);
	for (i = 0; i < specs.n; i++) {
		if (i)
			sbuf_addc(&sb, ',');
		sbuf_adds(&sb, specs.v[i]);
	}
	if (r->url) {
		sbuf_addf(&sb, " @ %s", r->url);
		if (r->marker)
			sbuf_addc(&sb, ' ');
	}
	if (r->marker) {
		m = pep508_marker_str(r->marker);
		sbuf_addf(&sb, "; %s", m);
		free(m);
	}
	strv_free(&specs);
	return sbuf_detach(&sb);
}
