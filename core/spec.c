/* The build spec (pkgimg.yaml), read with libyaml: one pass over the events
 * refuses a second document, anchors and aliases and reports syntax errors;
 * then the document API gives the nodes with their marks, which every
 * message turns into PATH:LINE:COL (libyaml counts from 0, we from 1). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/spec.h"
#include "core/yamlscan.h"
#include "core/str.h"

#define NKINDS (SPEC_CMD + 1)
#define KBIT(k) (1u << (k))
#define KALL ((1u << NKINDS) - 1)

static const char *const kind_names[NKINDS] = {
	[SPEC_APT] = "apt",
	[SPEC_PIP] = "pip",
	[SPEC_CONDA] = "conda",
	[SPEC_ENV] = "env",
	[SPEC_RUN] = "run",
	[SPEC_ADD] = "add",
	[SPEC_PYTHON_SOURCE] = "python_source",
	[SPEC_WORKDIR] = "workdir",
	[SPEC_ENTRYPOINT] = "entrypoint",
	[SPEC_CMD] = "cmd",
};

static const char *const kind_examples[NKINDS] = {
	[SPEC_APT] = "apt: [git, curl]",
	[SPEC_PIP] = "pip: [torch==2.2.1]",
	[SPEC_CONDA] = "conda: [numpy]",
	[SPEC_ENV] = "env: {NAME: value}",
	[SPEC_RUN] = "run: [\"make install\"]",
	[SPEC_ADD] = "add: {src: ./data, dst: /data}",
	[SPEC_PYTHON_SOURCE] = "python_source: [my_module]",
	[SPEC_WORKDIR] = "workdir: /app",
	[SPEC_ENTRYPOINT] = "entrypoint: [/usr/bin/my_entrypoint.sh]",
	[SPEC_CMD] = "cmd: [python3, app.py]",
};

enum spec_opt {
	OPT_INDEX_URL,
	OPT_EXTRA_INDEX_URL,
	OPT_FIND_LINKS,
	OPT_REQUIREMENTS,
	OPT_PRE,
	OPT_INDEX_STRATEGY,
	OPT_CHANNELS,
	OPT_PREFIX,
	OPT_GPU,
	OPT_FORCE_BUILD,
	NOPTS
};

static const struct spec_optdef {
	const char *name;
	unsigned kinds;		/* KBIT()s of the step kinds that take it */
	const char *example;
} opts[NOPTS] = {
	[OPT_INDEX_URL] = { "index_url", KBIT(SPEC_PIP), "index_url: https://example.org/simple" },
	[OPT_EXTRA_INDEX_URL] = { "extra_index_url", KBIT(SPEC_PIP),
				  "extra_index_url: [https://example.org/extra]" },
	[OPT_FIND_LINKS] = { "find_links", KBIT(SPEC_PIP), "find_links: [https://example.org/wheels]" },
	[OPT_REQUIREMENTS] = { "requirements", KBIT(SPEC_PIP), "requirements: requirements.txt" },
	[OPT_PRE] = { "pre", KBIT(SPEC_PIP), "pre: true" },
	[OPT_INDEX_STRATEGY] = { "index_strategy", KBIT(SPEC_PIP), "index_strategy: unsafe-best-match" },
	[OPT_CHANNELS] = { "channels", KBIT(SPEC_CONDA), "channels: [conda-forge]" },
	[OPT_PREFIX] = { "prefix", KBIT(SPEC_CONDA), "prefix: /opt/conda" },
	[OPT_GPU] = { "gpu", KALL, "gpu: H100" },
	[OPT_FORCE_BUILD] = { "force_build", KALL, "force_build: true" },
};

static const char *const top_keys[] = { "base", "python", "steps" };

/* The parser's state: the handle, the spec's name and its document. */
struct spec_parser {
	struct pkgimg_ctx *ctx;
	const char *path;
	const char *dir;
	yaml_document_t doc;
	char qbuf[4][200];	/* q()'s results, the last four */
	unsigned qi;
};

const char *spec_kind_name(enum spec_kind kind)
{
	return (unsigned)kind < NKINDS ? kind_names[kind] : "?";
}

/* "an" before the kinds that start with a vowel. */
static const char *article(enum spec_kind kind)
{
	return strchr("aeiou", kind_names[kind][0]) ? "an" : "a";
}

/* ---- messages ---- */

static int errm(struct spec_parser *p, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int errm(struct spec_parser *p, yaml_mark_t m, const char *fmt, ...)
{
	char msg[sizeof ((struct pkgimg_ctx *)0)->errmsg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pkgimg_err(p->ctx, -PKGIMG_E_USAGE, "%s:%lu:%lu: [spec] %s", p->path,
			  (unsigned long)m.line + 1, (unsigned long)m.column + 1, msg);
}

/* s for a message: in single quotes, control characters as \xHH, cut after
 * about 180 bytes (at a character's start).  Valid until four more calls. */
static const char *q(struct spec_parser *p, const char *s)
{
	char *b = p->qbuf[p->qi++ % 4];
	size_t o = 0, cap = sizeof p->qbuf[0];

	b[o++] = '\'';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c & 0xc0) != 0x80 && o + 16 >= cap)
			break;
		if (c < 0x20 || c == 0x7f)
			o += (size_t)snprintf(b + o, cap - o, "\\x%02x", c);
		else
			b[o++] = (char)c;
	}
	if (*s) {
		memcpy(b + o, "...", 3);
		o += 3;
	}
	b[o++] = '\'';
	b[o] = 0;
	return b;
}

static yaml_node_t *ynode(struct spec_parser *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

static yaml_mark_t mark(const yaml_node_t *n)
{
	yaml_mark_t none = { 0, 0, 0 };

	return n ? n->start_mark : none;
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* A plain scalar that YAML reads as null: `key:` with nothing, ~, null. */
static bool is_null(const yaml_node_t *n)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = sval(n);
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

static const char *what(const yaml_node_t *n)
{
	if (!n || is_null(n))
		return "nothing";
	if (n->type == YAML_MAPPING_NODE)
		return "a mapping";
	if (n->type == YAML_SEQUENCE_NODE)
		return "a list";
	return "a string";
}

static size_t seq_len(const yaml_node_t *n)
{
	return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static size_t map_len(const yaml_node_t *n)
{
	return (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

/* Edit distance of two short strings (at most 63 bytes each; else large). */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[64];

	if (la >= 64 || lb >= 64)
		return 64;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			diag = up;
			row[j] = best;
		}
	}
	return row[lb];
}

/* " (did you mean 'x'?)" when key is close to one of cands, else "".  The
 * result lives in buf. */
static const char *suggest(const char *key, const char *const *cands, size_t n, char *buf,
			   size_t size)
{
	char norm[64];
	size_t len = strlen(key), best = (size_t)-1, bestd = 3;

	buf[0] = 0;
	if (len == 0 || len >= sizeof norm)
		return buf;
	for (size_t i = 0; i <= len; i++)
		norm[i] = key[i] == '-' || key[i] == ' ' ? '_' : ascii_lower(key[i]);
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(norm, cands[i]);

		if (d < bestd && (d == 0 || d <= (len >= 5 ? 2u : 1u))) {
			bestd = d;
			best = i;
		}
	}
	if (best != (size_t)-1)
		snprintf(buf, size, " (did you mean '%s'?)", cands[best]);
	return buf;
}

/* ---- values ---- */

#define S_CTL_OK	0x01u	/* control characters (line breaks) allowed */
#define S_EMPTY_OK	0x02u	/* "" allowed */

/* The text of scalar n (numbers and booleans as written).  name says what n
 * is in the message ("'index_url'", "item 2 of 'apt'"), example the fix. */
static int get_str(struct spec_parser *p, yaml_node_t *n, const char *name, const char *example,
		   unsigned flags, char **out)
{
	const char *v;

	if (!n || n->type != YAML_SCALAR_NODE || is_null(n))
		return errm(p, mark(n), "%s must be a string, not %s; write e.g. %s", name, what(n),
			    example);
	v = sval(n);
	if (strlen(v) != n->data.scalar.length)
		return errm(p, mark(n), "%s contains a NUL character; remove the \\0", name);
	if (!*v && !(flags & S_EMPTY_OK))
		return errm(p, mark(n), "%s is an empty string; write e.g. %s", name, example);
	if (!(flags & S_CTL_OK))
		for (const char *c = v; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return errm(p, mark(n),
					    "%s contains a control character (a line break?); "
					    "write it on one line", name);
	*out = xstrdup(v);
	return 0;
}

/* A list of strings (a mapping as an item is most often an unquoted ': '). */
static int get_list(struct spec_parser *p, yaml_node_t *n, const char *key, const char *example,
		    unsigned flags, struct strv *out)
{
	char name[128];
	int r;

	if (!n || n->type != YAML_SEQUENCE_NODE)
		return errm(p, mark(n), "'%s' must be a list, not %s; write e.g. %s", key, what(n),
			    example);
	for (size_t i = 0; i < seq_len(n); i++) {
		yaml_node_t *it = ynode(p, n->data.sequence.items.start[i]);
		char *s;

		if (it && it->type == YAML_MAPPING_NODE)
			return errm(p, mark(it),
				    "item %zu of '%s' is a mapping, not a string; quote the item "
				    "if it holds ': ' (e.g. - \"a: b\")", i + 1, key);
		snprintf(name, sizeof name, "item %zu of '%s'", i + 1, key);
		if ((r = get_str(p, it, name, example, flags, &s)) < 0)
			return r;
		strv_push(out, s);
	}
	return 0;
}

/* A string, taken as a one-item list, or a list of strings. */
static int get_str_or_list(struct spec_parser *p, yaml_node_t *n, const char *key,
			   const char *example, struct strv *out)
{
	char name[96];
	char *s;
	int r;

	if (n && n->type == YAML_SEQUENCE_NODE)
		return get_list(p, n, key, example, 0, out);
	if (!n || n->type != YAML_SCALAR_NODE || is_null(n))
		return errm(p, mark(n), "'%s' must be a string or a list of strings, not %s; "
			    "write e.g. %s", key, what(n), example);
	snprintf(name, sizeof name, "'%s'", key);
	if ((r = get_str(p, n, name, example, 0, &s)) < 0)
		return r;
	strv_push(out, s);
	return 0;
}

/* true/false (YAML 1.2's core schema: not yes/no/on/off, not quoted). */
static int get_bool(struct spec_parser *p, yaml_node_t *n, const char *key, bool *out)
{
	const char *v = n && n->type == YAML_SCALAR_NODE &&
		n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE ? sval(n) : NULL;

	if (v && (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")))
		*out = true;
	else if (v && (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")))
		*out = false;
	else if (n && n->type == YAML_SCALAR_NODE && !is_null(n) &&
		 (!strcmp(sval(n), "true") || !strcmp(sval(n), "false")))
		return errm(p, mark(n), "'%s' must be true or false, not the quoted string %s; "
			    "write %s: %s without quotes", key, q(p, sval(n)), key, sval(n));
	else
		return errm(p, mark(n), "'%s' must be true or false, not %s; write %s: true",
			    key, n && n->type == YAML_SCALAR_NODE && !is_null(n)
			    ? q(p, sval(n)) : what(n), key);
	return 0;
}

/* Lexically normal absolute path: no empty or "." components ("..", whose
 * meaning depends on symlinks, is kept). */
static char *path_norm(const char *abs)
{
	struct sbuf sb = SBUF_INIT;
	struct blob rest = BLOB_STR(abs), comp;

	while (rest.len) {
		blob_split(&rest, '/', &comp);
		if (!comp.len || blob_eq_str(comp, "."))
			continue;
		sbuf_addc(&sb, '/');
		sbuf_add(&sb, comp.ptr, comp.len);
	}
	if (!sb.len)
		sbuf_addc(&sb, '/');
	return sbuf_detach(&sb);
}

/* rel made absolute against the spec's directory. */
static char *path_from_dir(const char *dir, const char *rel)
{
	char *joined, *r;

	if (rel[0] == '/')
		return path_norm(rel);
	joined = xasprintf("%s/%s", dir, rel);
	r = path_norm(joined);
	free(joined);
	return r;
}

/* An absolute path inside the image, kept as written; ".." refused. */
static int get_image_path(struct spec_parser *p, yaml_node_t *n, const char *key,
			  const char *example, char **out)
{
	char name[64], *s = NULL;
	struct blob rest, comp;
	int r;

	snprintf(name, sizeof name, "'%s'", key);
	if ((r = get_str(p, n, name, example, 0, &s)) < 0)
		return r;
	if (s[0] != '/') {
		r = errm(p, mark(n), "'%s' must be an absolute path in the image, not %s; "
			 "write e.g. %s", key, q(p, s), example);
		goto out;
	}
	rest = BLOB_STR(s);
	while (rest.len) {
		blob_split(&rest, '/', &comp);
		if (blob_eq_str(comp, "..")) {
			r = errm(p, mark(n), "'%s' %s has a '..' component; write the path "
				 "without it", key, q(p, s));
			goto out;
		}
	}
	*out = s;
	s = NULL;
out:
	free(s);
	return r;
}

struct key_ref {
	const yaml_node_t *k;
	size_t i;		/* its place in the mapping */
};

static int cmp_key_ref(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	size_t n = x->k->data.scalar.length < y->k->data.scalar.length
		? x->k->data.scalar.length : y->k->data.scalar.length;
	int c = memcmp(x->k->data.scalar.value, y->k->data.scalar.value, n);

	if (!c && x->k->data.scalar.length != y->k->data.scalar.length)
		c = x->k->data.scalar.length < y->k->data.scalar.length ? -1 : 1;
	return c ? c : x->i < y->i ? -1 : x->i > y->i;
}

static bool same_key(const yaml_node_t *a, const yaml_node_t *b)
{
	return a->data.scalar.length == b->data.scalar.length &&
		!memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length);
}

/* Every key of mapping n a non-null scalar without NUL, none twice (sorted,
 * so a mapping of many keys costs n log n; the duplicate reported is the
 * first one in the text). */
static int check_keys(struct spec_parser *p, yaml_node_t *n, const char *where)
{
	yaml_node_pair_t *pairs = n->data.mapping.pairs.start;
	struct key_ref *refs = xcalloc(map_len(n) + 1, sizeof *refs);
	const struct key_ref *dup = NULL, *first = NULL;
	int r = 0;

	for (size_t i = 0; i < map_len(n) && r == 0; i++) {
		yaml_node_t *k = ynode(p, pairs[i].key);

		if (!k || k->type != YAML_SCALAR_NODE || is_null(k))
			r = errm(p, mark(k), "a key in %s must be a name, not %s", where, what(k));
		else if (strlen(sval(k)) != k->data.scalar.length)
			r = errm(p, mark(k), "a key in %s contains a NUL character; remove the \\0",
				 where);
		refs[i] = (struct key_ref){ k, i };
	}
	if (r == 0 && map_len(n) > 1)
		qsort(refs, map_len(n), sizeof *refs, cmp_key_ref);
	/* refs[i] is the second of its key when refs[i - 1] has it and
	 * refs[i - 2] does not */
	for (size_t i = 1; r == 0 && i < map_len(n); i++)
		if (same_key(refs[i - 1].k, refs[i].k) &&
		    (i < 2 || !same_key(refs[i - 2].k, refs[i].k)) &&
		    (!dup || refs[i].i < dup->i)) {
			dup = &refs[i];
			first = &refs[i - 1];
		}
	if (r == 0 && dup)
		r = errm(p, mark(dup->k), "duplicate key %s in %s (first at %lu:%lu); keep one of "
			 "them", q(p, sval(dup->k)), where,
			 (unsigned long)first->k->start_mark.line + 1,
			 (unsigned long)first->k->start_mark.column + 1);
	free(refs);
	return r;
}

static int find_kind(const char *name)
{
	for (int k = 0; k < NKINDS; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return -1;
}

static int find_opt(const char *name)
{
	for (int o = 0; o < NOPTS; o++)
		if (!strcmp(name, opts[o].name))
			return o;
	return -1;
}

/* ---- steps ---- */

static bool is_env_name(const char *s)
{
	if (!*s || ascii_isdigit(*s))
		return false;
	for (; *s; s++)
		if (!ascii_isalnum(*s) && *s != '_')
			return false;
	return true;
}

/* A dotted Python module name: identifiers (ASCII) joined by dots. */
static bool is_module_name(const char *s)
{
	bool start = true;

	for (; *s; s++) {
		if (*s == '.') {
			if (start)
				return false;
			start = true;
		} else if (ascii_isalpha(*s) || *s == '_' || (!start && ascii_isdigit(*s))) {
			start = false;
		} else {
			return false;
		}
	}
	return !start;
}

static bool is_gpu_type(const char *s)
{
	for (; *s; s++)
		if (!ascii_isalnum(*s) && !strchr("_.:+-", *s))
			return false;
	return true;
}

static int parse_env(struct spec_parser *p, yaml_node_t *v, struct spec_step *st)
{
	yaml_node_pair_t *pairs;
	int r;

	if (!v || v->type != YAML_MAPPING_NODE)
		return errm(p, mark(v), "'env' must be a mapping of NAME: value, not %s; write e.g. "
			    "env: {HALT_AND_CATCH_FIRE: \"0\"}", what(v));
	if ((r = check_keys(p, v, "the env mapping")) < 0)
		return r;
	if (!map_len(v))
		return errm(p, mark(v), "'env' is an empty mapping; set at least one variable, "
			    "e.g. env: {NAME: value}");
	pairs = v->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(v); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *val = ynode(p, pairs[i].value);
		char name[96], *s;

		if (!is_env_name(sval(k)))
			return errm(p, mark(k), "env name %s is not a variable name (letters, digits "
				    "and _, not starting with a digit); rename it, e.g. MY_VAR",
				    q(p, sval(k)));
		if (is_null(val))
			return errm(p, mark(val), "env %s has no value; write %s: \"\" for an empty "
				    "one", q(p, sval(k)), sval(k));
		if (val->type != YAML_SCALAR_NODE)
			return errm(p, mark(val), "env %s must have a string value, not %s; quote it: "
				    "%s: \"...\"", q(p, sval(k)), what(val), sval(k));
		snprintf(name, sizeof name, "env %s", q(p, sval(k)));
		if ((r = get_str(p, val, name, "NAME: value", S_CTL_OK | S_EMPTY_OK, &s)) < 0)
			return r;
		strv_push(&st->env, xasprintf("%s=%s", sval(k), s));
		free(s);
	}
	return 0;
}

static int parse_add(struct spec_parser *p, yaml_node_t *v, struct spec_step *st)
{
	static const char *const keys[] = { "src", "dst" };
	static const char ex[] = "add: {src: ./data, dst: /data}";
	yaml_node_pair_t *pairs;
	char sugg[64];
	int r;

	if (!v || v->type != YAML_MAPPING_NODE)
		return errm(p, mark(v), "'add' must be a mapping with src and dst, not %s; write "
			    "e.g. %s", what(v), ex);
	if ((r = check_keys(p, v, "the add mapping")) < 0)
		return r;
	pairs = v->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(v); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *val = ynode(p, pairs[i].value);

		if (!strcmp(sval(k), "src")) {
			if ((r = get_str(p, val, "'src'", ex, 0, &st->src_raw)) < 0)
				return r;
			st->src = path_from_dir(p->dir, st->src_raw);
		} else if (!strcmp(sval(k), "dst")) {
			if ((r = get_image_path(p, val, "dst", "dst: /data", &st->dst)) < 0)
				return r;
		} else {
			return errm(p, mark(k), "unknown key %s in the add mapping; expected src, "
				    "dst%s", q(p, sval(k)), suggest(sval(k), keys, 2, sugg, sizeof sugg));
		}
	}
	if (!st->src_raw || !st->dst)
		return errm(p, mark(v), "the add mapping has no '%s'; write e.g. %s",
			    st->src_raw ? "dst" : "src", ex);
	return 0;
}

/* conda's value: a list of packages, or {packages, channels, prefix}; the
 * keys of the latter are returned to catch them given twice. */
static int parse_conda(struct spec_parser *p, yaml_node_t *v, struct spec_step *st,
		       yaml_node_t **chan_key, yaml_node_t **prefix_key)
{
	static const char *const keys[] = { "packages", "channels", "prefix" };
	static const char ex[] = "conda: {packages: [numpy], channels: [conda-forge]}";
	yaml_node_pair_t *pairs;
	bool has_pkgs = false;
	char sugg[64];
	int r;

	if (v && v->type == YAML_SEQUENCE_NODE) {
		if ((r = get_list(p, v, "conda", "conda: [numpy]", 0, &st->items)) < 0)
			return r;
		if (!st->items.n)
			return errm(p, mark(v), "'conda' is an empty list; name at least one "
				    "package, e.g. conda: [numpy]");
		return 0;
	}
	if (!v || v->type != YAML_MAPPING_NODE)
		return errm(p, mark(v), "'conda' must be a list of packages (or a mapping with "
			    "packages and channels), not %s; write e.g. conda: [numpy]", what(v));
	if ((r = check_keys(p, v, "the conda mapping")) < 0)
		return r;
	pairs = v->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(v); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *val = ynode(p, pairs[i].value);

		if (!strcmp(sval(k), "packages")) {
			if ((r = get_list(p, val, "packages", ex, 0, &st->items)) < 0)
				return r;
			if (!st->items.n)
				return errm(p, mark(val), "'packages' is an empty list; name at least "
					    "one package, e.g. %s", ex);
			has_pkgs = true;
		} else if (!strcmp(sval(k), "channels")) {
			if ((r = get_list(p, val, "channels", ex, 0, &st->channels)) < 0)
				return r;
			*chan_key = k;
		} else if (!strcmp(sval(k), "prefix")) {
			if ((r = get_image_path(p, val, "prefix", "prefix: /opt/conda",
						&st->conda_prefix)) < 0)
				return r;
			*prefix_key = k;
		} else {
			return errm(p, mark(k), "unknown key %s in the conda mapping; expected one of "
				    "packages, channels, prefix%s", q(p, sval(k)),
				    suggest(sval(k), keys, 3, sugg, sizeof sugg));
		}
	}
	if (!has_pkgs)
		return errm(p, mark(v), "the conda mapping has no 'packages'; write e.g. %s", ex);
	return 0;
}

/* pip's value: a list of requirements, or {project, extras, groups}: the
 * dependencies of a project's pyproject.toml (the project itself is not
 * installed). */
static int parse_pip(struct spec_parser *p, yaml_node_t *v, struct spec_step *st)
{
	static const char *const keys[] = { "project", "extras", "groups" };
	static const char ex[] = "pip: {project: ., extras: [test], groups: [dev]}";
	yaml_node_pair_t *pairs;
	char sugg[64];
	int r;

	if (!v || v->type != YAML_MAPPING_NODE)
		/* may be empty when requirements are given: checked after the options */
		return get_list(p, v, "pip", "pip: [torch==2.2.1] (or pip: [] with requirements: "
				"FILE, or pip: {project: .})", 0, &st->items);
	if ((r = check_keys(p, v, "the pip mapping")) < 0)
		return r;
	pairs = v->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(v); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *val = ynode(p, pairs[i].value);

		if (!strcmp(sval(k), "project")) {
			if ((r = get_str(p, val, "'project'", ex, 0, &st->project_raw)) < 0)
				return r;
			st->project = path_from_dir(p->dir, st->project_raw);
		} else if (!strcmp(sval(k), "extras")) {
			if ((r = get_list(p, val, "extras", ex, 0, &st->extras)) < 0)
				return r;
		} else if (!strcmp(sval(k), "groups")) {
			if ((r = get_list(p, val, "groups", ex, 0, &st->groups)) < 0)
				return r;
		} else {
			return errm(p, mark(k), "unknown key %s in the pip mapping; expected one of "
				    "project, extras, groups%s", q(p, sval(k)),
				    suggest(sval(k), keys, 3, sugg, sizeof sugg));
		}
	}
	if (!st->project)
		return errm(p, mark(v), "the pip mapping has no 'project' (the directory of a "
			    "pyproject.toml, relative to the spec); write e.g. %s", ex);
	return 0;
}

/* The step key's value. */
static int parse_step_value(struct spec_parser *p, yaml_node_t *v, struct spec_step *st,
			    yaml_node_t **chan_key, yaml_node_t **prefix_key)
{
	static const char *const item_words[NKINDS] = {
		[SPEC_APT] = "package", [SPEC_RUN] = "command", [SPEC_PYTHON_SOURCE] = "module",
	};
	const char *key = kind_names[st->kind], *ex = kind_examples[st->kind];
	int r;

	switch (st->kind) {
	case SPEC_APT:
	case SPEC_RUN:
	case SPEC_PYTHON_SOURCE:
		r = get_list(p, v, key, ex, st->kind == SPEC_RUN ? S_CTL_OK : 0, &st->items);
		if (r < 0)
			return r;
		if (!st->items.n)
			return errm(p, mark(v), "'%s' is an empty list; name at least one %s, e.g. %s",
				    key, item_words[st->kind], ex);
		if (st->kind != SPEC_PYTHON_SOURCE)
			return 0;
		for (size_t i = 0; i < st->items.n; i++)
			if (!is_module_name(st->items.v[i]))
				return errm(p, mark(ynode(p, v->data.sequence.items.start[i])),
					    "item %zu of 'python_source' %s is not a Python module "
					    "name; name the module (e.g. my_module or pkg.sub), not a "
					    "file or a path", i + 1, q(p, st->items.v[i]));
		return 0;
	case SPEC_PIP:
		return parse_pip(p, v, st);
	case SPEC_CONDA:
		return parse_conda(p, v, st, chan_key, prefix_key);
	case SPEC_ENV:
		return parse_env(p, v, st);
	case SPEC_ADD:
		return parse_add(p, v, st);
	case SPEC_WORKDIR:
		return get_image_path(p, v, key, ex, &st->path);
	case SPEC_ENTRYPOINT:
	case SPEC_CMD:
		/* an empty argv clears the base image's */
		return get_list(p, v, key, ex, S_CTL_OK | S_EMPTY_OK, &st->items);
	}
	return 0;
}

static int parse_opt(struct spec_parser *p, enum spec_opt o, yaml_node_t *k, yaml_node_t *v,
		     struct spec_step *st, yaml_node_t *chan_key, yaml_node_t *prefix_key)
{
	const char *key = opts[o].name, *ex = opts[o].example;
	char name[64];
	int r = 0;

	snprintf(name, sizeof name, "'%s'", key);
	if ((o == OPT_CHANNELS && chan_key) || (o == OPT_PREFIX && prefix_key)) {
		yaml_node_t *first = o == OPT_CHANNELS ? chan_key : prefix_key;

		return errm(p, mark(k), "'%s' is given twice: inside the conda mapping (at %lu:%lu) "
			    "and beside it; keep one", key, (unsigned long)first->start_mark.line + 1,
			    (unsigned long)first->start_mark.column + 1);
	}
	switch (o) {
	case OPT_INDEX_URL:
		if (v && v->type == YAML_SEQUENCE_NODE)
			return errm(p, mark(v), "'index_url' must be a string, not a list; pip takes "
				    "one index URL: put the others in extra_index_url");
		return get_str(p, v, name, ex, 0, &st->index_url);
	case OPT_EXTRA_INDEX_URL:
		return get_str_or_list(p, v, key, ex, &st->extra_index_urls);
	case OPT_FIND_LINKS:
		return get_str_or_list(p, v, key, ex, &st->find_links);
	case OPT_REQUIREMENTS:
		if ((r = get_str_or_list(p, v, key, ex, &st->requirements_raw)) < 0)
			return r;
		for (size_t i = 0; i < st->requirements_raw.n; i++) {
			const char *raw = st->requirements_raw.v[i];

			/* pip's -r also takes a URL: kept as it is */
			strv_push(&st->requirements, strstr(raw, "://") ? xstrdup(raw)
				  : path_from_dir(p->dir, raw));
		}
		return 0;
	case OPT_PRE:
		return get_bool(p, v, key, &st->pre);
	case OPT_INDEX_STRATEGY:
		if ((r = get_str(p, v, name, ex, 0, &st->index_strategy)) < 0)
			return r;
		if (strcmp(st->index_strategy, "first-index") &&
		    strcmp(st->index_strategy, "unsafe-best-match"))
			return errm(p, mark(v), "index_strategy %s is not one of first-index, "
				    "unsafe-best-match; write e.g. %s", q(p, st->index_strategy), ex);
		return 0;
	case OPT_CHANNELS:
		return get_list(p, v, key, ex, 0, &st->channels);
	case OPT_PREFIX:
		return get_image_path(p, v, key, ex, &st->conda_prefix);
	case OPT_GPU:
		if ((r = get_str(p, v, name, ex, 0, &st->gpu)) < 0)
			return r;
		if (!is_gpu_type(st->gpu))
			return errm(p, mark(v), "gpu %s is not a GPU type (letters, digits and "
				    "_.:+-); write e.g. gpu: H100", q(p, st->gpu));
		return 0;
	case OPT_FORCE_BUILD:
		return get_bool(p, v, key, &st->force_build);
	case NOPTS:
		break;
	}
	return 0;
}

static int parse_step(struct spec_parser *p, yaml_node_t *n, size_t idx, struct spec_step *st)
{
	const char *cands[NOPTS + NKINDS];
	yaml_node_t *kn = NULL, *vn = NULL, *chan_key = NULL, *prefix_key = NULL;
	yaml_node_pair_t *pairs;
	struct sbuf list = SBUF_INIT;
	char sugg[64];
	size_t nc = 0;
	int kind = -1, r;

	if (!n || n->type != YAML_MAPPING_NODE)
		return errm(p, mark(n), "step %zu must be a mapping with one step key, like "
			    "'- apt: [git]', not %s", idx, what(n));
	if ((r = check_keys(p, n, "a step")) < 0)
		return r;
	pairs = n->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(n); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key);
		int kk = find_kind(sval(k));

		if (kk < 0)
			continue;
		if (kn)
			return errm(p, mark(k), "step %zu has two step keys, '%s' (at %lu:%lu) and "
				    "'%s'; give each its own list item ('- %s: ...')", idx,
				    kind_names[kind], (unsigned long)kn->start_mark.line + 1,
				    (unsigned long)kn->start_mark.column + 1, kind_names[kk],
				    kind_names[kk]);
		kn = k;
		vn = ynode(p, pairs[i].value);
		kind = kk;
	}
	if (!kn) {
		for (size_t i = 0; i < NKINDS; i++)
			cands[i] = kind_names[i];
		for (size_t i = 0; i < map_len(n); i++) {
			yaml_node_t *k = ynode(p, pairs[i].key);

			if (find_opt(sval(k)) < 0)
				return errm(p, mark(k), "unknown key %s in step %zu, which has no step "
					    "key; expected one of apt, pip, conda, env, run, add, "
					    "python_source, workdir, entrypoint, cmd%s", q(p, sval(k)),
					    idx, suggest(sval(k), cands, NKINDS, sugg, sizeof sugg));
		}
		return errm(p, mark(n), "step %zu has options but no step key; add one of apt, pip, "
			    "conda, env, run, add, python_source, workdir, entrypoint, cmd", idx);
	}
	st->kind = (enum spec_kind)kind;
	st->line = (int)kn->start_mark.line + 1;
	st->col = (int)kn->start_mark.column + 1;
	if ((r = parse_step_value(p, vn, st, &chan_key, &prefix_key)) < 0)
		return r;

	for (int o = 0; o < NOPTS; o++)
		if (opts[o].kinds & KBIT(kind)) {
			cands[nc++] = opts[o].name;
			sbuf_addf(&list, "%s%s", list.len ? ", " : "", opts[o].name);
		}
	for (size_t i = 0; i < map_len(n); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *v = ynode(p, pairs[i].value);
		int o;

		if (k == kn)
			continue;
		o = find_opt(sval(k));
		if (o < 0) {
			r = errm(p, mark(k), "unknown key %s in %s %s step; expected one of %s%s",
				 q(p, sval(k)), article(st->kind), kind_names[kind], list.buf,
				 suggest(sval(k), cands, nc, sugg, sizeof sugg));
			goto out;
		}
		if (!(opts[o].kinds & KBIT(kind))) {
			const char *owner = opts[o].kinds == KBIT(SPEC_PIP) ? "pip" : "conda";

			r = errm(p, mark(k), "'%s' is an option of %s steps, not of %s %s step; move "
				 "it to a %s step or remove it", opts[o].name, owner, article(st->kind),
				 kind_names[kind], owner);
			goto out;
		}
		if ((r = parse_opt(p, (enum spec_opt)o, k, v, st, chan_key, prefix_key)) < 0)
			goto out;
	}
	if (st->kind == SPEC_PIP && !st->items.n && !st->requirements.n && !st->project)
		r = errm(p, mark(vn), "'pip' is an empty list and the step has no requirements; "
			 "name at least one requirement, e.g. pip: [torch==2.2.1], or add "
			 "requirements: requirements.txt");
out:
	sbuf_free(&list);
	return r;
}

/* ---- the document ---- */

static bool is_python_version(const char *s)
{
	size_t n;

	if (strncmp(s, "3.", 2))
		return false;
	s += 2;
	n = strspn(s, "0123456789");
	return n >= 1 && n <= 2 && !s[n] && !(n == 2 && s[0] == '0');
}

static int parse_root(struct spec_parser *p, yaml_node_t *root, struct spec *s)
{
	yaml_node_t *steps = NULL;
	yaml_node_pair_t *pairs;
	char sugg[64];
	int r;

	if (!root)
		return errm(p, mark(NULL), "the spec is empty; it needs a 'steps' list, e.g. "
			    "steps: [{apt: [git]}]");
	if (root->type != YAML_MAPPING_NODE)
		return errm(p, mark(root), "the spec must be a mapping with 'steps' (and optionally "
			    "'base' and 'python'), not %s", what(root));
	if ((r = check_keys(p, root, "the spec")) < 0)
		return r;
	pairs = root->data.mapping.pairs.start;
	for (size_t i = 0; i < map_len(root); i++) {
		yaml_node_t *k = ynode(p, pairs[i].key), *v = ynode(p, pairs[i].value);
		const char *key = sval(k);

		if (!strcmp(key, "base")) {
			free(s->base);
			s->base = NULL;
			if ((r = get_str(p, v, "'base'", "base: debian-slim", 0, &s->base)) < 0)
				return r;
			if (strpbrk(s->base, " \t"))
				return errm(p, mark(v), "base %s is not an image; write debian-slim, "
					    "scratch, or an image's tag or id", q(p, s->base));
		} else if (!strcmp(key, "python")) {
			if ((r = get_str(p, v, "'python'", "python: \"3.11\"", 0, &s->python)) < 0)
				return r;
			if (!is_python_version(s->python))
				return errm(p, mark(v), "python %s is not a Python 3 version X.Y; "
					    "write e.g. python: \"3.11\"", q(p, s->python));
		} else if (!strcmp(key, "steps")) {
			steps = v;
		} else if (find_kind(key) >= 0 || find_opt(key) >= 0) {
			return errm(p, mark(k), "unknown top-level key %s: steps and their options go "
				    "in the 'steps' list, e.g. steps: [{apt: [git]}]", q(p, key));
		} else {
			return errm(p, mark(k), "unknown top-level key %s; expected one of base, "
				    "python, steps%s", q(p, key),
				    suggest(key, top_keys, 3, sugg, sizeof sugg));
		}
	}
	if (!steps)
		return errm(p, mark(root), "the spec has no 'steps'; add a list of steps, e.g. "
			    "steps: [{apt: [git]}]");
	if (steps->type != YAML_SEQUENCE_NODE)
		return errm(p, mark(steps), "'steps' must be a list of steps, not %s; write one "
			    "'- KEY: ...' line per step under steps:", what(steps));
	if (!seq_len(steps))
		return errm(p, mark(steps), "'steps' is an empty list; add at least one step, e.g. "
			    "- apt: [git]");
	s->steps = xcalloc(seq_len(steps), sizeof *s->steps);
	for (size_t i = 0; i < seq_len(steps); i++) {
		/* counted first, so that spec_free() frees a half-parsed step */
		struct spec_step *st = &s->steps[s->nsteps++];

		if ((r = parse_step(p, ynode(p, steps->data.sequence.items.start[i]), i + 1, st)) < 0)
			return r;
	}
	return 0;
}

static int syntax_error(struct spec_parser *p, yaml_parser_t *yp, const char *text, size_t len)
{
	yaml_mark_t m = yp->problem_mark;
	const char *problem = yp->problem ? yp->problem : "invalid YAML", *fix;

	if (yp->error == YAML_READER_ERROR) {
		/* the reader gives a byte offset, not a mark */
		m = yscan_mark_of(text, yp->problem_offset < len ? yp->problem_offset : len);
		return errm(p, m, "the spec is not valid UTF-8 text (%s); save it as UTF-8", problem);
	}
	/* YAML refuses tabs in indentation; say so rather than "cannot start any token" */
	fix = m.index < len && text[m.index] == '\t'
		? "a tab here: indent with spaces" : "check the indentation and quoting there";
	if (yp->context)
		return errm(p, m, "YAML syntax error: %s (%s at %lu:%lu); %s", problem, yp->context,
			    (unsigned long)yp->context_mark.line + 1,
			    (unsigned long)yp->context_mark.column + 1, fix);
	return errm(p, m, "YAML syntax error: %s; %s", problem, fix);
}

/* Before the document is built: the size, then one bounded pass
 * (core/yamlscan) for the nesting depth, anchors, aliases and second
 * documents; a syntax error is left to the parse, which words it. */
static int prescan(struct spec_parser *p, const char *text, size_t len)
{
	struct yscan ys;

	if (len > SPEC_MAX_BYTES)
		return errm(p, yscan_mark_of(text, SPEC_MAX_BYTES), "the spec is larger than %u "
			    "KiB (%zu bytes); a build spec lists steps: keep data in files and add "
			    "them with add:", SPEC_MAX_BYTES >> 10, len);
	yscan_run(text, len, SPEC_MAX_DEPTH, &ys);
	switch (ys.kind) {
	case YSCAN_SECOND_DOC:
		return errm(p, ys.mark, "a second YAML document starts here; a spec is one "
			    "document: remove the '---' and what follows it");
	case YSCAN_ALIAS:
		return errm(p, ys.mark, "alias *%s: anchors and aliases are not supported in a "
			    "spec; write the value out where it is used", ys.name);
	case YSCAN_ANCHOR:
		return errm(p, ys.mark, "anchor &%s: anchors and aliases are not supported in a "
			    "spec; write the value out where it is used", ys.name);
	case YSCAN_DEPTH:
		return errm(p, ys.mark, "nested more than %d levels deep; a spec nests 4 (steps, "
			    "a step, its value, a list in it): close the brackets or fix the "
			    "indentation", SPEC_MAX_DEPTH);
	case YSCAN_OK:
		break;
	}
	return 0;
}

/* The absolute directory of path (lexically: the file need not exist). */
static int spec_dir_of(struct pkgimg_ctx *ctx, const char *path, char **out)
{
	const char *slash = strrchr(path, '/');
	struct sbuf sb = SBUF_INIT;

	if (path[0] != '/') {
		char *cwd = getcwd(NULL, 0);

		if (!cwd)
			return pkgimg_err(ctx, -errno, "%s: [spec] cannot tell the current "
					  "directory: %m; give the spec's absolute path", path);
		sbuf_adds(&sb, cwd);
		sbuf_addc(&sb, '/');
		free(cwd);
	}
	if (slash)
		sbuf_add(&sb, path, (size_t)(slash - path) + 1);
	*out = path_norm(sb.buf ? sb.buf : "/");
	sbuf_free(&sb);
	return 0;
}

int spec_parse_text(struct pkgimg_ctx *ctx, const char *path, const char *text, size_t len,
		    struct spec *out)
{
	struct spec_parser p = { .ctx = ctx, .path = path };
	struct spec s = { 0 };
	yaml_parser_t yp;
	bool loaded = false;
	int r;

	s.path = xstrdup(path);
	if ((r = spec_dir_of(ctx, path, &s.dir)) < 0)
		goto out;
	p.dir = s.dir;
	s.context = realpath(s.dir, NULL);
	if (!s.context)
		s.context = xstrdup(s.dir);
	s.base = xstrdup("debian-slim");
	if ((r = prescan(&p, text, len)) < 0)
		goto out;
	yaml_parser_initialize(&yp);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	if (!yaml_parser_load(&yp, &p.doc))
		r = syntax_error(&p, &yp, text, len);
	else
		loaded = true;
	yaml_parser_delete(&yp);
	if (r < 0)
		goto out;
	r = parse_root(&p, yaml_document_get_root_node(&p.doc), &s);
out:
	if (loaded)
		yaml_document_delete(&p.doc);
	if (r < 0)
		spec_free(&s);
	else
		*out = s;
	return r;
}

int spec_parse(struct pkgimg_ctx *ctx, const char *path, struct spec *out)
{
	struct sbuf text = SBUF_INIT;
	int r = fs_read_file(ctx, AT_FDCWD, path, &text);

	if (r < 0)
		r = pkgimg_err(ctx, r, "%s: [spec] cannot read the build spec: %s; give the path "
			       "of a pkgimg.yaml", path, pkgimg_strerror(r));
	else
		r = spec_parse_text(ctx, path, text.buf, text.len, out);
	sbuf_free(&text);
	return r;
}

static void step_free(struct spec_step *st)
{
	strv_free(&st->items);
	free(st->index_url);
	strv_free(&st->extra_index_urls);
	strv_free(&st->find_links);
	strv_free(&st->requirements);
	strv_free(&st->requirements_raw);
	free(st->project);
	free(st->project_raw);
	strv_free(&st->extras);
	strv_free(&st->groups);
	free(st->index_strategy);
	strv_free(&st->channels);
	free(st->conda_prefix);
	strv_free(&st->env);
	free(st->src);
	free(st->dst);
	free(st->src_raw);
	free(st->path);
	free(st->gpu);
}

void spec_free(struct spec *s)
{
	for (size_t i = 0; i < s->nsteps; i++)
		step_free(&s->steps[i]);
	free(s->steps);
	free(s->path);
	free(s->dir);
	free(s->context);
	free(s->base);
	free(s->python);
	memset(s, 0, sizeof *s);
}

/* ---- canonical text ---- */

static void add_json(struct sbuf *sb, const char *s)
{
	sbuf_addc(sb, '"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			sbuf_addc(sb, '\\');
			sbuf_addc(sb, (char)c);
		} else if (c == '\n') {
			sbuf_adds(sb, "\\n");
		} else if (c == '\t') {
			sbuf_adds(sb, "\\t");
		} else if (c == '\r') {
			sbuf_adds(sb, "\\r");
		} else if (c < 0x20 || c == 0x7f) {
			sbuf_addf(sb, "\\u%04x", c);
		} else {
			sbuf_addc(sb, (char)c);
		}
	}
	sbuf_addc(sb, '"');
}

/* s as is, or as a JSON string when it is empty, starts with '"', holds a
 * control character or (unless space_ok) a space: the text stays one line
 * and two different steps never read the same. */
static void add_word(struct sbuf *sb, const char *s, bool space_ok)
{
	bool plain = *s && *s != '"';

	for (const char *c = s; plain && *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f || (*c == ' ' && !space_ok))
			plain = false;
	if (plain)
		sbuf_adds(sb, s);
	else
		add_json(sb, s);
}

/* " WORD" for each item, " OPT WORD" with opt. */
static void add_words(struct sbuf *sb, const struct strv *sv, const char *opt)
{
	for (size_t i = 0; i < sv->n; i++) {
		sbuf_addc(sb, ' ');
		if (opt)
			sbuf_addf(sb, "%s ", opt);
		add_word(sb, sv->v[i], false);
	}
}

char *spec_step_text(const struct spec *s, const struct spec_step *st)
{
	struct sbuf sb = SBUF_INIT;

	(void)s;
	sbuf_addf(&sb, "%s:", spec_kind_name(st->kind));
	switch (st->kind) {
	case SPEC_APT:
	case SPEC_PYTHON_SOURCE:
		add_words(&sb, &st->items, NULL);
		break;
	case SPEC_PIP:
		add_words(&sb, &st->items, NULL);
		if (st->index_url) {
			sbuf_adds(&sb, " --index-url ");
			add_word(&sb, st->index_url, false);
		}
		add_words(&sb, &st->extra_index_urls, "--extra-index-url");
		add_words(&sb, &st->find_links, "--find-links");
		if (st->pre)
			sbuf_adds(&sb, " --pre");
		if (st->index_strategy) {
			sbuf_adds(&sb, " --index-strategy ");
			add_word(&sb, st->index_strategy, false);
		}
		add_words(&sb, &st->requirements_raw, "-r");
		if (st->project_raw) {
			sbuf_adds(&sb, " --project ");
			add_word(&sb, st->project_raw, false);
		}
		add_words(&sb, &st->extras, "--extra");
		add_words(&sb, &st->groups, "--group");
		break;
	case SPEC_CONDA:
		add_words(&sb, &st->items, NULL);
		add_words(&sb, &st->channels, "-c");
		if (st->conda_prefix) {
			sbuf_adds(&sb, " --prefix ");
			add_word(&sb, st->conda_prefix, false);
		}
		break;
	case SPEC_ENV:
		for (size_t i = 0; i < st->env.n; i++) {
			const char *eq = strchr(st->env.v[i], '=');

			sbuf_addc(&sb, ' ');
			sbuf_add(&sb, st->env.v[i], (size_t)(eq - st->env.v[i]) + 1);
			add_word(&sb, eq + 1, false);
		}
		break;
	case SPEC_RUN:
		for (size_t i = 0; i < st->items.n; i++) {
			sbuf_adds(&sb, i ? " && " : " ");
			add_word(&sb, st->items.v[i], true);
		}
		break;
	case SPEC_ADD:
		sbuf_addc(&sb, ' ');
		add_word(&sb, st->src_raw ? st->src_raw : "", false);
		sbuf_adds(&sb, " -> ");
		add_word(&sb, st->dst ? st->dst : "", false);
		break;
	case SPEC_WORKDIR:
		sbuf_addc(&sb, ' ');
		add_word(&sb, st->path ? st->path : "", false);
		break;
	case SPEC_ENTRYPOINT:
	case SPEC_CMD:
		sbuf_adds(&sb, " [");
		for (size_t i = 0; i < st->items.n; i++) {
			if (i)
				sbuf_adds(&sb, ", ");
			add_json(&sb, st->items.v[i]);
		}
		sbuf_addc(&sb, ']');
		break;
	}
	if (st->gpu) {
		sbuf_adds(&sb, " [gpu: ");
		add_word(&sb, st->gpu, false);
		sbuf_addc(&sb, ']');
	}
	return sbuf_detach(&sb);
}

int spec_set_context(struct pkgimg_ctx *ctx, struct spec *s, const char *dir)
{
	struct stat sb;
	char *real = realpath(dir, NULL);

	if (!real)
		return pkgimg_err(ctx, -errno, "--context %s: [spec] %m; give the directory that "
				  "holds the files the spec names", dir);
	if (stat(real, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		free(real);
		return pkgimg_err(ctx, -ENOTDIR, "--context %s: [spec] not a directory; give the "
				  "directory that holds the files the spec names", dir);
	}
	free(s->context);
	s->context = real;
	return 0;
}

int spec_path(struct pkgimg_ctx *ctx, const struct spec *s, const char *what, const char *raw,
	      char **out)
{
	char *w = xasprintf("[spec] %s", what);
	int r;

	r = fs_path_within(ctx, s->context, s->dir, raw, w, "the files a spec names must be "
			   "inside its build context (the spec's directory, as Docker's COPY is "
			   "confined to its context): move the file into it, or widen the context "
			   "with --context DIR", out);
	free(w);
	return r;
}
