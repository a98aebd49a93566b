/* pkgimg.lock, read and written in its canonical form (see core/lockfile.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "core/ctx.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/yamlscan.h"
#include "core/str.h"

/* Bumped whenever pkgimg changes what a layer holds for the same lock
 * (layer format, unpack rules, generated files): every key changes. */
#define BUILDER_VERSION "pkgimg-layer-v3"

/* ---- emitting ---- */

struct emitter {
	yaml_emitter_t e;
	int failed;
};

static int write_sbuf(void *data, unsigned char *buf, size_t size)
{
	sbuf_add(data, buf, size);
	return 1;
}

static void emit(struct emitter *em, yaml_event_t *ev)
{
	if (!em->failed && !yaml_emitter_emit(&em->e, ev))
		em->failed = 1;
}

static void e_scalar_style(struct emitter *em, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s), 1, 1,
				     style);
	emit(em, &ev);
}

static void e_str(struct emitter *em, const char *s)
{
	e_scalar_style(em, s ? s : "", YAML_ANY_SCALAR_STYLE);
}

/* Version-like strings ("1.0") are quoted so no YAML reader takes them for numbers. */
static void e_quoted(struct emitter *em, const char *s)
{
	e_scalar_style(em, s ? s : "", YAML_DOUBLE_QUOTED_SCALAR_STYLE);
}

static void e_kv(struct emitter *em, const char *k, const char *v)
{
	e_str(em, k);
	e_str(em, v);
}

static void e_map_start(struct emitter *em, int flow)
{
	yaml_event_t ev;

	yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1,
					    flow ? YAML_FLOW_MAPPING_STYLE : YAML_BLOCK_MAPPING_STYLE);
	emit(em, &ev);
}

static void e_map_end(struct emitter *em)
{
	yaml_event_t ev;

	yaml_mapping_end_event_initialize(&ev);
	emit(em, &ev);
}

static void e_seq_start(struct emitter *em, int flow)
{
	yaml_event_t ev;

	yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1,
					     flow ? YAML_FLOW_SEQUENCE_STYLE : YAML_BLOCK_SEQUENCE_STYLE);
	emit(em, &ev);
}

static void e_seq_end(struct emitter *em)
{
	yaml_event_t ev;

	yaml_sequence_end_event_initialize(&ev);
	emit(em, &ev);
}

static void em_begin(struct emitter *em, struct sbuf *out)
{
	yaml_event_t ev;

	memset(em, 0, sizeof *em);
	yaml_emitter_initialize(&em->e);
	yaml_emitter_set_output(&em->e, write_sbuf, out);
	yaml_emitter_set_unicode(&em->e, 1);
	yaml_emitter_set_width(&em->e, -1);
	yaml_emitter_set_indent(&em->e, 2);
	yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING);
	emit(em, &ev);
	yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1);
	emit(em, &ev);
}

static int em_end(struct pkgimg_ctx *ctx, struct emitter *em)
{
	yaml_event_t ev;
	int r = 0;

	yaml_document_end_event_initialize(&ev, 1);
	emit(em, &ev);
	yaml_stream_end_event_initialize(&ev);
	emit(em, &ev);
	if (em->failed)
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "[lock] cannot write YAML: %s",
			       em->e.problem ? em->e.problem : "emitter error");
	yaml_emitter_delete(&em->e);
	return r;
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct lock_pkg *x = a, *y = b;
	int c = strcmp(x->ecosystem, y->ecosystem);

	if (!c)
		c = strcmp(x->name, y->name);
	if (!c)
		c = strcmp(x->arch ? x->arch : "", y->arch ? y->arch : "");
	return c;
}

static void emit_pkg(struct emitter *em, struct lock_pkg *p)
{
	char num[32];

	e_map_start(em, 0);
	e_kv(em, "ecosystem", p->ecosystem);
	e_kv(em, "name", p->name);
	e_str(em, "version");
	e_quoted(em, p->version);
	e_kv(em, "arch", p->arch);
	e_kv(em, "url", p->url);
	e_kv(em, "sha256", p->sha256);
	snprintf(num, sizeof num, "%llu", (unsigned long long)p->size);
	e_kv(em, "size", num);
	e_kv(em, "requested_by", p->requested_by);
	if (p->filename)
		e_kv(em, "filename", p->filename);
	if (p->index)
		e_kv(em, "index", p->index);
	if (p->build)
		e_kv(em, "build", p->build);
	if (p->md5)
		e_kv(em, "md5", p->md5);
	if (p->direct && !p->source)
		e_kv(em, "direct", "true");	/* a wheel by URL or path */
	if (p->source) {
		e_kv(em, "source", p->source);
		if (p->commit)
			e_kv(em, "commit", p->commit);
		if (p->subdirectory)
			e_kv(em, "subdirectory", p->subdirectory);
		if (p->direct)
			e_kv(em, "direct", "true");
		e_kv(em, "wheel_filename", p->wheel_filename);
		e_kv(em, "wheel_sha256", p->wheel_sha256);
		snprintf(num, sizeof num, "%llu", (unsigned long long)p->wheel_size);
		e_kv(em, "wheel_size", num);
		if (p->no_build_isolation)
			e_kv(em, "no_build_isolation", "true");
		if (p->nbuild_env) {
			if (p->nbuild_env > 1)
				qsort(p->build_env, (size_t)p->nbuild_env, sizeof *p->build_env,
				      cmp_pkg);
			e_str(em, "build_env");
			e_seq_start(em, 0);
			for (int i = 0; i < p->nbuild_env; i++)
				emit_pkg(em, &p->build_env[i]);
			e_seq_end(em);
		}
	}
	e_map_end(em);
}

const char *lock_kind_name(enum lock_kind k)
{
	switch (k) {
	case LOCK_BASE: return "base";
	case LOCK_PIP: return "pip";
	case LOCK_CONDA: return "conda";
	case LOCK_APT: break;
	}
	return "apt";
}

static void emit_layer(struct emitter *em, struct lock_layer *l)
{
	if (l->npkgs > 1)
		qsort(l->pkgs, (size_t)l->npkgs, sizeof *l->pkgs, cmp_pkg);
	e_map_start(em, 0);
	e_kv(em, "step", l->step);
	e_kv(em, "kind", lock_kind_name(l->kind));
	if (l->prefix)
		e_kv(em, "prefix", l->prefix);
	e_str(em, "packages");
	e_seq_start(em, 0);
	for (int i = 0; i < l->npkgs; i++)
		emit_pkg(em, &l->pkgs[i]);
	e_seq_end(em);
	e_map_end(em);
}

int lockfile_layer_text(struct pkgimg_ctx *ctx, struct lock_layer *layer, struct sbuf *out)
{
	struct emitter em;

	em_begin(&em, out);
	emit_layer(&em, layer);
	return em_end(ctx, &em);
}

int lockfile_emit(struct pkgimg_ctx *ctx, struct lockfile *lf, struct sbuf *out)
{
	struct emitter em;
	char num[16];

	sbuf_adds(out, "# pkgimg lockfile: generated by `pkgimg lock`; do not edit.\n");
	em_begin(&em, out);
	e_map_start(&em, 0);
	snprintf(num, sizeof num, "%d", lf->version ? lf->version : LOCKFILE_VERSION);
	e_kv(&em, "version", num);
	e_kv(&em, "platform", lf->platform);
	e_kv(&em, "base", lf->base);
	if (lf->python) {
		e_str(&em, "python");
		e_quoted(&em, lf->python);
	}
	if (lf->python_prefix)
		e_kv(&em, "python_prefix", lf->python_prefix);
	if (lf->cuda) {
		e_str(&em, "cuda");
		e_quoted(&em, lf->cuda);
	}
	e_str(&em, "sources");
	e_seq_start(&em, 0);
	for (int i = 0; i < lf->nsources; i++) {
		const struct lock_source *s = &lf->sources[i];

		e_map_start(&em, 0);
		e_kv(&em, "type", s->type);
		e_kv(&em, "uri", s->uri);
		if (!strcmp(s->type, "apt")) {
			e_kv(&em, "suite", s->suite);
			e_str(&em, "components");
			e_seq_start(&em, 1);
			for (char **c = s->components; c && *c; c++)
				e_str(&em, *c);
			e_seq_end(&em);
			e_kv(&em, "inrelease_sha256", s->inrelease_sha256);
			e_str(&em, "date");
			e_quoted(&em, s->date);
		}
		if (s->repodata_sha256)
			e_kv(&em, "repodata_sha256", s->repodata_sha256);
		e_map_end(&em);
	}
	e_seq_end(&em);
	e_str(&em, "layers");
	e_seq_start(&em, 0);
	for (int i = 0; i < lf->nlayers; i++)
		emit_layer(&em, &lf->layers[i]);
	e_seq_end(&em);
	e_map_end(&em);
	return em_end(ctx, &em);
}

void lockfile_layer_key(const char *parent_key, const char *step, const char *section,
			char key[72])
{
	struct hasher h;
	char hex[HASH_HEX_MAX];

	hasher_init(&h, "sha256");
	hasher_update(&h, parent_key ? parent_key : "", parent_key ? strlen(parent_key) : 0);
	hasher_update(&h, "\n" BUILDER_VERSION "\n", strlen(BUILDER_VERSION) + 2);
	hasher_update(&h, step, strlen(step));
	hasher_update(&h, "\n", 1);
	hasher_update(&h, section, strlen(section));
	hasher_final_hex(&h, hex);
	memcpy(key, "sha256:", 7);
	memcpy(key + 7, hex, 65);
}

/* ---- parsing (libyaml document API, after a bounded pass over the events) ---- */

struct ydoc {
	yaml_document_t doc;
	const char *what;
	struct pkgimg_ctx *ctx;
};

static yaml_node_t *ynode(struct ydoc *d, int id)
{
	return yaml_document_get_node(&d->doc, id);
}

/* "WHAT:LINE:COL: [lock] MSG; FIX" at node n (or mark m). */
static int err_at(struct pkgimg_ctx *ctx, const char *what, yaml_mark_t m, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int err_at(struct pkgimg_ctx *ctx, const char *what, yaml_mark_t m, const char *fmt, ...)
{
	char msg[sizeof ((struct pkgimg_ctx *)0)->errmsg];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s:%lu:%lu: [lock] %s", what,
			  (unsigned long)m.line + 1, (unsigned long)m.column + 1, msg);
}

#define REGEN "; regenerate the lockfile with `pkgimg lock`"

static const char *node_what(const yaml_node_t *n)
{
	if (!n)
		return "nothing";
	return n->type == YAML_MAPPING_NODE ? "a mapping"
		: n->type == YAML_SEQUENCE_NODE ? "a list" : "a string";
}

static yaml_node_t *map_get(struct ydoc *d, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ynode(d, p->key);

		if (k && k->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)k->data.scalar.value, key))
			return ynode(d, p->value);
	}
	return NULL;
}

/* The value of key in map as a string: present, a scalar, without NUL and,
 * unless empty_ok, not empty. */
static int get_str(struct ydoc *d, yaml_node_t *map, const char *key, bool empty_ok, char **out)
{
	yaml_node_t *n = map_get(d, map, key);

	if (!n)
		return err_at(d->ctx, d->what, map->start_mark, "missing '%s'" REGEN, key);
	if (n->type != YAML_SCALAR_NODE)
		return err_at(d->ctx, d->what, n->start_mark, "'%s' must be a string, not %s" REGEN,
			      key, node_what(n));
	if (strlen((const char *)n->data.scalar.value) != n->data.scalar.length)
		return err_at(d->ctx, d->what, n->start_mark, "'%s' contains a NUL character"
			      REGEN, key);
	if (!empty_ok && !n->data.scalar.length)
		return err_at(d->ctx, d->what, n->start_mark, "'%s' is empty" REGEN, key);
	free(*out);
	*out = xstrdup((const char *)n->data.scalar.value);
	return 0;
}

/* The same for a key that may be absent (*out stays NULL). */
static int opt_str(struct ydoc *d, yaml_node_t *map, const char *key, char **out)
{
	return map_get(d, map, key) ? get_str(d, map, key, false, out) : 0;
}

/* The value of key in map as a list (present unless absent_ok: then *out
 * is NULL). */
static int get_seq(struct ydoc *d, yaml_node_t *map, const char *key, bool absent_ok,
		   yaml_node_t **out)
{
	yaml_node_t *n = map_get(d, map, key);

	*out = NULL;
	if (!n && absent_ok)
		return 0;
	if (!n)
		return err_at(d->ctx, d->what, map->start_mark, "missing '%s'" REGEN, key);
	if (n->type != YAML_SEQUENCE_NODE)
		return err_at(d->ctx, d->what, n->start_mark, "'%s' must be a list, not %s" REGEN,
			      key, node_what(n));
	*out = n;
	return 0;
}

static int seq_len(const yaml_node_t *n)
{
	return n ? (int)(n->data.sequence.items.top - n->data.sequence.items.start) : 0;
}

/* Item i of list n, which must be a mapping (what names it in the message). */
static int seq_map(struct ydoc *d, yaml_node_t *n, int i, const char *what, yaml_node_t **out)
{
	yaml_node_t *it = ynode(d, n->data.sequence.items.start[i]);

	if (!it || it->type != YAML_MAPPING_NODE)
		return err_at(d->ctx, d->what, it ? it->start_mark : n->start_mark,
			      "%s %d must be a mapping, not %s" REGEN, what, i + 1, node_what(it));
	*out = it;
	return 0;
}

static bool is_hex(const char *s, size_t n)
{
	return strlen(s) == n && strspn(s, "0123456789abcdef") == n;
}

/* A key's value that is checked after it was read: the message points at it. */
static yaml_mark_t key_mark(struct ydoc *d, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = map_get(d, map, key);

	return n ? n->start_mark : map->start_mark;
}

/* A size: a number of bytes, 0 to 2^63-1. */
static int parse_size(struct ydoc *d, yaml_node_t *n, const char *name, const char *key,
		      const char *text, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 10);
	if (!strchr("0123456789", text[0]) || *end || errno || *out > INT64_MAX)
		return err_at(d->ctx, d->what, key_mark(d, n, key), "'%.64s': '%s' is '%.32s'; "
			      "a size is a number of bytes (0 to 2^63-1)" REGEN, name, key, text);
	return 0;
}

/* An optional "true" / "false" (absent: false). */
static int opt_bool(struct ydoc *d, yaml_node_t *n, const char *name, const char *key, bool *out)
{
	char *v = NULL;
	int r = opt_str(d, n, key, &v);

	if (r == 0 && v && strcmp(v, "true") && strcmp(v, "false"))
		r = err_at(d->ctx, d->what, key_mark(d, n, key), "'%.64s': '%s' is '%.32s'; it is "
			   "true or false" REGEN, name, key, v);
	if (r == 0)
		*out = v && !strcmp(v, "true");
	free(v);
	return r;
}

/* A relative path inside a source tree: no leading '/', no "." or ".."
 * component, no empty one, no control character. */
static bool subdir_valid(const char *s)
{
	const char *c = s;

	if (!*s || *s == '/')
		return false;
	for (const char *q = s; *q; q++)
		if ((unsigned char)*q < 0x20 || *q == 0x7f || *q == '\\')
			return false;
	while (*c) {
		size_t n = strcspn(c, "/");

		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		c += n;
		if (*c == '/' && !*++c)
			return false;
	}
	return true;
}

/* What the build environment of a source package may hold (a lockfile of
 * a few MiB has far fewer). */
#define LOCK_MAX_BUILD_ENV 4096

static int parse_pkg(struct ydoc *d, yaml_node_t *n, struct lock_pkg *p, bool in_env);

/* The keys of a PyPI package built from source (lockfile.h). */
static int parse_source_fields(struct ydoc *d, yaml_node_t *n, struct lock_pkg *p)
{
	static const char *const kinds[] = { "sdist", "url", "path", "git" };
	static const char *const only[] = { "commit", "subdirectory", "wheel_filename",
					    "wheel_sha256", "wheel_size", "build_env",
					    "no_build_isolation" };
	char *wsize = NULL;
	yaml_node_t *env;
	bool known = false;
	int r;

	if ((r = opt_str(d, n, "source", &p->source)) < 0 ||
	    (r = opt_bool(d, n, p->name, "direct", &p->direct)) < 0)
		return r;
	if (p->direct && strcmp(p->ecosystem, "pypi"))
		return err_at(d->ctx, d->what, key_mark(d, n, "direct"), "'%.64s': 'direct' on a "
			      "%s package; only PyPI requirements are direct" REGEN, p->name,
			      p->ecosystem);
	if (!p->source) {
		for (size_t i = 0; i < sizeof only / sizeof only[0]; i++)
			if (map_get(d, n, only[i]))
				return err_at(d->ctx, d->what, key_mark(d, n, only[i]), "'%.64s': "
					      "'%s' without 'source'; only a package built from "
					      "source has one" REGEN, p->name, only[i]);
		return 0;
	}
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		known |= !strcmp(p->source, kinds[i]);
	if (!known || strcmp(p->ecosystem, "pypi"))
		return err_at(d->ctx, d->what, key_mark(d, n, "source"), "'%.64s': 'source' is "
			      "'%.32s'; a PyPI package's source is sdist, url, path or git" REGEN,
			      p->name, p->source);
	if ((r = opt_str(d, n, "commit", &p->commit)) < 0 ||
	    (r = opt_str(d, n, "subdirectory", &p->subdirectory)) < 0 ||
	    (r = opt_bool(d, n, p->name, "no_build_isolation", &p->no_build_isolation)) < 0 ||
	    (r = get_str(d, n, "wheel_filename", false, &p->wheel_filename)) < 0 ||
	    (r = get_str(d, n, "wheel_sha256", false, &p->wheel_sha256)) < 0 ||
	    (r = get_str(d, n, "wheel_size", false, &wsize)) < 0 ||
	    (r = parse_size(d, n, p->name, "wheel_size", wsize, &p->wheel_size)) < 0 ||
	    (r = get_seq(d, n, "build_env", true, &env)) < 0)
		goto out;
	if (!strcmp(p->source, "git") != (p->commit != NULL) ||
	    (p->commit && !is_hex(p->commit, 40) && !is_hex(p->commit, 64))) {
		r = err_at(d->ctx, d->what, key_mark(d, n, p->commit ? "commit" : "source"),
			   "'%.64s': %s" REGEN, p->name, p->commit && !strcmp(p->source, "git")
			   ? "'commit' is not a full commit id (40 or 64 lowercase hex digits)"
			   : p->commit ? "a 'commit' on a source that is not git"
			   : "a git source without its 'commit'");
		goto out;
	}
	if (strcmp(p->source, "sdist") && !p->direct) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "source"), "'%.64s': a %s source that is "
			   "not 'direct'; only an index's sdist is reached by name" REGEN, p->name,
			   p->source);
		goto out;
	}
	if (p->subdirectory && !subdir_valid(p->subdirectory)) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "subdirectory"), "'%.64s': "
			   "'subdirectory' is not a relative path inside the source" REGEN, p->name);
		goto out;
	}
	if (!is_hex(p->wheel_sha256, 64)) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "wheel_sha256"), "'%.64s' has a "
			   "malformed wheel_sha256 (not 64 lowercase hex digits)" REGEN, p->name);
		goto out;
	}
	if (!str_ends_with(p->wheel_filename, ".whl") || strchr(p->wheel_filename, '/')) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "wheel_filename"), "'%.64s': "
			   "'wheel_filename' is not the file name of a wheel" REGEN, p->name);
		goto out;
	}
	if (seq_len(env) > LOCK_MAX_BUILD_ENV) {
		r = err_at(d->ctx, d->what, env->start_mark, "'%.64s': 'build_env' lists more "
			   "than %d packages" REGEN, p->name, LOCK_MAX_BUILD_ENV);
		goto out;
	}
	if (env && p->no_build_isolation) {
		r = err_at(d->ctx, d->what, env->start_mark, "'%.64s': a 'build_env' with "
			   "no_build_isolation (the image is the build environment)" REGEN, p->name);
		goto out;
	}
	p->build_env = xcalloc((size_t)seq_len(env) + 1, sizeof *p->build_env);
	for (int k = 0; k < seq_len(env); k++) {
		yaml_node_t *it;

		if ((r = seq_map(d, env, k, "build_env package", &it)) < 0 ||
		    (r = parse_pkg(d, it, &p->build_env[p->nbuild_env++], true)) < 0)
			goto out;
	}
out:
	free(wsize);
	return r;
}

static int parse_pkg(struct ydoc *d, yaml_node_t *n, struct lock_pkg *p, bool in_env)
{
	char *size = NULL;
	int r;

	if ((r = get_str(d, n, "ecosystem", false, &p->ecosystem)) < 0)
		goto out;
	if (strcmp(p->ecosystem, "apt") && strcmp(p->ecosystem, "pypi") &&
	    strcmp(p->ecosystem, "conda")) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "ecosystem"), "'ecosystem' is '%.64s'; "
			   "this pkgimg knows apt, pypi and conda" REGEN, p->ecosystem);
		goto out;
	}
	if ((r = get_str(d, n, "name", false, &p->name)) < 0 ||
	    (r = get_str(d, n, "version", false, &p->version)) < 0 ||
	    (r = get_str(d, n, "arch", false, &p->arch)) < 0 ||
	    (r = get_str(d, n, "url", false, &p->url)) < 0 ||
	    (r = get_str(d, n, "sha256", true, &p->sha256)) < 0 ||
	    (r = get_str(d, n, "size", false, &size)) < 0 ||
	    (r = get_str(d, n, "requested_by", true, &p->requested_by)) < 0)
		goto out;
	if (in_env && strcmp(p->ecosystem, "pypi")) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "ecosystem"), "'%.64s': a build "
			   "environment holds PyPI wheels only" REGEN, p->name);
		goto out;
	}
	if (in_env && (map_get(d, n, "source") || map_get(d, n, "build_env"))) {
		r = err_at(d->ctx, d->what, key_mark(d, n, map_get(d, n, "source") ? "source"
						     : "build_env"), "'%.64s': a build "
			   "environment holds wheels, not packages built from source" REGEN,
			   p->name);
		goto out;
	}
	if (!in_env && (r = parse_source_fields(d, n, p)) < 0)
		goto out;
	if (strcmp(p->ecosystem, "apt") &&
	    ((r = get_str(d, n, "filename", false, &p->filename)) < 0 ||
	     (p->direct ? (r = opt_str(d, n, "index", &p->index))
			: (r = get_str(d, n, "index", false, &p->index))) < 0))
		goto out;
	if (!strcmp(p->ecosystem, "conda") &&
	    ((r = get_str(d, n, "build", true, &p->build)) < 0 ||
	     (r = opt_str(d, n, "md5", &p->md5)) < 0))
		goto out;
	if ((r = parse_size(d, n, p->name, "size", size, &p->size)) < 0)
		goto out;
	if (p->md5 && !is_hex(p->md5, 32)) {
		r = err_at(d->ctx, d->what, key_mark(d, n, "md5"), "'%.64s': 'md5' is not 32 "
			   "lowercase hex digits" REGEN, p->name);
		goto out;
	}
	if (!strcmp(p->ecosystem, "conda") && !*p->sha256 && p->md5)
		;	/* an md5-only channel */
	else if (p->source && !strcmp(p->source, "git") && !*p->sha256)
		;	/* a git source is locked by its commit */
	else if (!is_hex(p->sha256, 64))
		r = err_at(d->ctx, d->what, key_mark(d, n, "sha256"), "'%.64s' has a malformed "
			   "sha256 (not 64 lowercase hex digits)" REGEN, p->name);
out:
	free(size);
	return r;
}

/* The layer's kind: its "kind" key; a lockfile written before there was
 * one says it with the ecosystem of its packages and the first word of its
 * step (the only place that word is read). */
static int layer_kind(struct ydoc *d, yaml_node_t *ln, struct lock_layer *l, const char *kind)
{
	static const enum lock_kind kinds[] = { LOCK_APT, LOCK_BASE, LOCK_PIP, LOCK_CONDA };

	if (kind) {
		for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
			if (!strcmp(kind, lock_kind_name(kinds[i]))) {
				l->kind = kinds[i];
				goto prefix;
			}
		return err_at(d->ctx, d->what, key_mark(d, ln, "kind"), "unknown layer kind '%.32s' "
			      "(apt, base, pip or conda)" REGEN, kind);
	}
	l->kind = !strncmp(l->step, "base:", 5) ? LOCK_BASE : !strncmp(l->step, "pip:", 4) ? LOCK_PIP
		: !strncmp(l->step, "conda:", 6) ? LOCK_CONDA : LOCK_APT;
	if (l->kind == LOCK_CONDA && !l->prefix) {
		const char *p = strstr(l->step, " --conda-prefix ");

		if (p)
			l->prefix = xstrndup(p + 16, strcspn(p + 16, " "));
	}
prefix:
	if (l->prefix && l->kind != LOCK_CONDA)
		return err_at(d->ctx, d->what, key_mark(d, ln, "prefix"), "a prefix on a %s layer; "
			      "only conda layers have one" REGEN, lock_kind_name(l->kind));
	if (l->prefix && (l->prefix[0] != '/' || strstr(l->prefix, "/../") ||
			  strstr(l->prefix, "/./") || strstr(l->prefix, "//")))
		return err_at(d->ctx, d->what, key_mark(d, ln, "prefix"), "prefix '%.64s' is not a "
			      "normal absolute path" REGEN, l->prefix);
	return 0;
}

static int parse_layer(struct ydoc *d, yaml_node_t *ln, struct lock_layer *l)
{
	yaml_node_t *pn, *it;
	int np, r;

	char *kind = NULL;

	if ((r = get_str(d, ln, "step", false, &l->step)) < 0 ||
	    (r = opt_str(d, ln, "kind", &kind)) < 0 ||
	    (r = opt_str(d, ln, "prefix", &l->prefix)) < 0 ||
	    (r = get_seq(d, ln, "packages", false, &pn)) < 0)
		goto out;
	np = seq_len(pn);
	l->pkgs = xcalloc((size_t)np + 1, sizeof *l->pkgs);
	for (int k = 0; k < np; k++) {
		if ((r = seq_map(d, pn, k, "package", &it)) < 0 ||
		    (r = parse_pkg(d, it, &l->pkgs[l->npkgs++], false)) < 0)
			goto out;
	}
	r = layer_kind(d, ln, l, kind);
out:
	free(kind);
	return r;
}

/* Before the document is built: the size, then one bounded pass
 * (core/yamlscan) for the nesting depth, anchors, aliases and second
 * documents, none of which a lockfile has. */
static int prescan(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len)
{
	struct yscan ys;

	if (len > LOCKFILE_MAX_BYTES)
		return err_at(ctx, what, yscan_mark_of(text, LOCKFILE_MAX_BYTES), "the lockfile is "
			      "larger than %u MiB (%zu bytes); this is not a pkgimg lockfile",
			      LOCKFILE_MAX_BYTES >> 20, len);
	yscan_run(text, len, LOCKFILE_MAX_DEPTH, &ys);
	switch (ys.kind) {
	case YSCAN_SECOND_DOC:
		return err_at(ctx, what, ys.mark, "a second YAML document; a lockfile is one "
			      "document" REGEN);
	case YSCAN_ALIAS:
		return err_at(ctx, what, ys.mark, "an alias; a lockfile has no anchors or "
			      "aliases" REGEN);
	case YSCAN_ANCHOR:
		return err_at(ctx, what, ys.mark, "an anchor; a lockfile has no anchors or "
			      "aliases" REGEN);
	case YSCAN_DEPTH:
		return err_at(ctx, what, ys.mark, "nested more than %d levels deep; a lockfile "
			      "nests 5" REGEN, LOCKFILE_MAX_DEPTH);
	case YSCAN_OK:
		break;
	}
	return 0;
}

/* One YAML document into d (the error names what and the position). */
static int load_doc(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
		    struct ydoc *d)
{
	yaml_parser_t parser;
	int r = prescan(ctx, what, text, len);

	if (r < 0)
		return r;
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &d->doc))
		r = err_at(ctx, what, parser.problem_mark, "%s",
			   parser.problem ? parser.problem : "invalid YAML");
	yaml_parser_delete(&parser);
	return r;
}

bool lockfile_is_layer_section(const char *text, size_t len)
{
	yaml_parser_t yp;
	yaml_event_t ev;
	bool is = false;

	/* lockfile_layer_text() writes a mapping whose first key is "step"; a
	 * run --commit layer's section is a JSON object ("argv" first), an
	 * add or python_source layer's a list of copies */
	yaml_parser_initialize(&yp);
	yaml_parser_set_input_string(&yp, (const unsigned char *)text, len);
	for (int i = 0; i < 4; i++) {
		if (!yaml_parser_parse(&yp, &ev))
			break;
		if (i == 2 && ev.type != YAML_MAPPING_START_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (i == 3)
			is = ev.type == YAML_SCALAR_EVENT &&
				!strcmp((const char *)ev.data.scalar.value, "step");
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&yp);
	return is;
}

int lockfile_parse_layer(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
			 struct lock_layer *out)
{
	struct ydoc d = { .what = what, .ctx = ctx };
	struct lock_layer l = { 0 };
	yaml_node_t *root;
	int r = load_doc(ctx, what, text, len, &d);

	if (r < 0)
		return r;
	root = yaml_document_get_root_node(&d.doc);
	r = root && root->type == YAML_MAPPING_NODE
		? parse_layer(&d, root, &l)
		: pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [lock] not a lock section", what);
	yaml_document_delete(&d.doc);
	if (r < 0)
		lock_layer_free(&l);
	else
		*out = l;
	return r;
}

/* base: debian-slim, scratch, or an image id of the store. */
static bool base_valid(const char *b)
{
	return !strcmp(b, "debian-slim") || !strcmp(b, "scratch") ||
		(!strncmp(b, "sha256:", 7) && is_hex(b + 7, 64));
}

static int parse_source(struct ydoc *d, yaml_node_t *sn, struct lock_source *s)
{
	yaml_node_t *c;
	int r, nc;

	if ((r = get_str(d, sn, "type", false, &s->type)) < 0 ||
	    (r = get_str(d, sn, "uri", false, &s->uri)) < 0)
		return r;
	if (strcmp(s->type, "apt") && strcmp(s->type, "pypi") && strcmp(s->type, "conda"))
		return err_at(d->ctx, d->what, key_mark(d, sn, "type"), "source 'type' is '%.64s'; "
			      "this pkgimg knows apt, pypi and conda" REGEN, s->type);
	if (!strcmp(s->type, "conda")) {
		if ((r = get_str(d, sn, "repodata_sha256", false, &s->repodata_sha256)) < 0)
			return r;
		if (!is_hex(s->repodata_sha256, 64))
			return err_at(d->ctx, d->what, key_mark(d, sn, "repodata_sha256"),
				      "'repodata_sha256' is not 64 lowercase hex digits" REGEN);
	}
	if (strcmp(s->type, "apt"))
		return 0;
	if ((r = get_str(d, sn, "suite", false, &s->suite)) < 0 ||
	    (r = get_str(d, sn, "inrelease_sha256", false, &s->inrelease_sha256)) < 0 ||
	    (r = get_str(d, sn, "date", true, &s->date)) < 0 ||
	    (r = get_seq(d, sn, "components", false, &c)) < 0)
		return r;
	if (!is_hex(s->inrelease_sha256, 64))
		return err_at(d->ctx, d->what, key_mark(d, sn, "inrelease_sha256"),
			      "'inrelease_sha256' is not 64 lowercase hex digits" REGEN);
	nc = seq_len(c);
	s->components = xcalloc((size_t)nc + 1, sizeof(char *));
	for (int k = 0; k < nc; k++) {
		yaml_node_t *cn = ynode(d, c->data.sequence.items.start[k]);

		if (!cn || cn->type != YAML_SCALAR_NODE || !cn->data.scalar.length ||
		    strlen((const char *)cn->data.scalar.value) != cn->data.scalar.length)
			return err_at(d->ctx, d->what, cn ? cn->start_mark : c->start_mark,
				      "component %d must be a name, not %s" REGEN, k + 1,
				      cn && cn->type == YAML_SCALAR_NODE ? "an empty string"
				      : node_what(cn));
		s->components[k] = xstrdup((const char *)cn->data.scalar.value);
	}
	return 0;
}

static int parse_root(struct ydoc *d, yaml_node_t *root, struct lockfile *lf)
{
	yaml_node_t *n, *it;
	char *ver = NULL, *host = NULL;
	int r;

	if ((r = get_str(d, root, "version", false, &ver)) < 0)
		goto out;
	if (strcmp(ver, "1")) {
		r = err_at(d->ctx, d->what, key_mark(d, root, "version"), "lockfile version "
			   "'%.32s'; this pkgimg reads version %d" REGEN, ver, LOCKFILE_VERSION);
		goto out;
	}
	lf->version = LOCKFILE_VERSION;
	if ((r = get_str(d, root, "platform", false, &lf->platform)) < 0 ||
	    (r = get_str(d, root, "base", false, &lf->base)) < 0 ||
	    (r = opt_str(d, root, "python", &lf->python)) < 0 ||
	    (r = opt_str(d, root, "python_prefix", &lf->python_prefix)) < 0 ||
	    (r = opt_str(d, root, "cuda", &lf->cuda)) < 0)
		goto out;
	host = xasprintf("linux/%s", d->ctx->arch ? d->ctx->arch : "amd64");
	if (strcmp(lf->platform, host)) {
		r = err_at(d->ctx, d->what, key_mark(d, root, "platform"), "'platform' is %.64s, "
			   "this host is %s: the packages would not run here; lock on this host "
			   "(`pkgimg lock`) or install on a %.64s one", lf->platform, host,
			   lf->platform);
		goto out;
	}
	if (!base_valid(lf->base)) {
		r = err_at(d->ctx, d->what, key_mark(d, root, "base"), "'base' is '%.80s'; it is "
			   "debian-slim, scratch or an image id (sha256:<64 hex digits>)" REGEN,
			   lf->base);
		goto out;
	}
	if (lf->python_prefix && lf->python_prefix[0] != '/') {
		r = err_at(d->ctx, d->what, key_mark(d, root, "python_prefix"), "'python_prefix' "
			   "is not an absolute path" REGEN);
		goto out;
	}
	if ((r = get_seq(d, root, "sources", true, &n)) < 0)
		goto out;
	lf->sources = xcalloc((size_t)seq_len(n) + 1, sizeof *lf->sources);
	for (int i = 0; i < seq_len(n); i++)
		if ((r = seq_map(d, n, i, "source", &it)) < 0 ||
		    (r = parse_source(d, it, &lf->sources[lf->nsources++])) < 0)
			goto out;
	if ((r = get_seq(d, root, "layers", false, &n)) < 0)
		goto out;
	lf->layers = xcalloc((size_t)seq_len(n) + 1, sizeof *lf->layers);
	for (int i = 0; i < seq_len(n); i++)
		if ((r = seq_map(d, n, i, "layer", &it)) < 0 ||
		    (r = parse_layer(d, it, &lf->layers[lf->nlayers++])) < 0)
			goto out;
out:
	free(ver);
	free(host);
	return r;
}

int lockfile_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
		   struct lockfile *out)
{
	struct ydoc d = { .what = what, .ctx = ctx };
	struct lockfile lf = { 0 };
	yaml_node_t *root;
	int r = load_doc(ctx, what, text, len, &d);

	if (r < 0)
		return r;
	root = yaml_document_get_root_node(&d.doc);
	if (!root || root->type != YAML_MAPPING_NODE)
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [lock] not a pkgimg lockfile (a YAML "
			       "mapping with version, platform, base, layers)", what);
	else
		r = parse_root(&d, root, &lf);
	yaml_document_delete(&d.doc);
	if (r < 0)
		lockfile_free(&lf);
	else
		*out = lf;
	return r;
}

void lock_pkg_free(struct lock_pkg *p)
{
	free(p->ecosystem);
	free(p->name);
	free(p->version);
	free(p->arch);
	free(p->url);
	free(p->sha256);
	free(p->requested_by);
	free(p->filename);
	free(p->index);
	free(p->build);
	free(p->md5);
	free(p->source);
	free(p->commit);
	free(p->subdirectory);
	free(p->wheel_filename);
	free(p->wheel_sha256);
	for (int k = 0; k < p->nbuild_env; k++)
		lock_pkg_free(&p->build_env[k]);
	free(p->build_env);
	memset(p, 0, sizeof *p);
}

void lock_layer_free(struct lock_layer *l)
{
	for (int k = 0; k < l->npkgs; k++)
		lock_pkg_free(&l->pkgs[k]);
	free(l->pkgs);
	free(l->step);
	free(l->prefix);
	memset(l, 0, sizeof *l);
}

void lock_source_free(struct lock_source *s)
{
	free(s->type);
	free(s->uri);
	free(s->suite);
	for (char **c = s->components; c && *c; c++)
		free(*c);
	free(s->components);
	free(s->inrelease_sha256);
	free(s->repodata_sha256);
	free(s->date);
	memset(s, 0, sizeof *s);
}

void lockfile_free(struct lockfile *lf)
{
	free(lf->platform);
	free(lf->base);
	free(lf->python);
	free(lf->cuda);
	free(lf->python_prefix);
	for (int i = 0; i < lf->nsources; i++)
		lock_source_free(&lf->sources[i]);
	free(lf->sources);
	for (int i = 0; i < lf->nlayers; i++)
		lock_layer_free(&lf->layers[i]);
	free(lf->layers);
	memset(lf, 0, sizeof *lf);
}
