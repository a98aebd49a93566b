/* The store: blobs, index cache, layers, tags, gc (cache/store.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/tree.h"

#define KEY_PREFIX "sha256:"
#define KEY_PREFIX_LEN 7
#define TAG_NAME_MAX 128
#define CHAIN_MAX 4096

static const char *const store_subdirs[] = {
	"blobs", "blobs/sha256", "index", "unpacked", "layers", "tags", "tmp", "locks",
};

/* ---- small helpers ---------------------------------------------------- */

/* "sha256:<64 hex>" or "<64 hex>" → hex; -1 when it is neither. */
static int key_hex(const char *key, char hex[65])
{
	if (!key)
		return -1;
	if (!strncmp(key, KEY_PREFIX, KEY_PREFIX_LEN))
		key += KEY_PREFIX_LEN;
	if (!hex_is64(key))
		return -1;
	memcpy(hex, key, 65);
	return 0;
}

static int bad_key(struct pkgimg_ctx *ctx, const char *key, const char *phase)
{
	return pkgimg_err(ctx, -PKGIMG_E_USAGE,
			  "%s: [%s] not a layer key; expected sha256:<64 hex digits>",
			  key ? key : "(null)", phase);
}

static bool tag_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > TAG_NAME_MAX)
		return false;
	/* First character: no '.', '-' or ':' (no ".", "..", no option look-alikes). */
	if (name[0] == '.' || name[0] == '-' || name[0] == ':')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == ':'))
			return false;
	}
	return true;
}

/* Tag file names: ':' is written "%3A" ('%' is not allowed in a tag). */
static char *tag_encode(const char *name)
{
	struct sbuf sb = SBUF_INIT;

	for (const char *p = name; *p; p++) {
		if (*p == ':')
			sbuf_adds(&sb, "%3A");
		else
			sbuf_addc(&sb, *p);
	}
	return sbuf_detach(&sb);
}

static char *tag_decode(const char *file)
{
	struct sbuf sb = SBUF_INIT;

	for (const char *p = file; *p; p++) {
		if (p[0] == '%' && p[1] == '3' && (p[2] == 'A' || p[2] == 'a')) {
			sbuf_addc(&sb, ':');
			p += 2;
		} else {
			sbuf_addc(&sb, *p);
		}
	}
	return sbuf_detach(&sb);
}

static bool strv_has_sorted(const struct strv *sv, const char *s)
{
	return sv->n && bsearch(&s, sv->v, sv->n, sizeof *sv->v, str_cmp_ptr);
}

/* Names in ROOT/<sub> (no dot entries), sorted. */
static int list_dir(struct pkgimg_ctx *ctx, struct store *st, const char *sub,
		    struct strv *out)
{
	struct strv sv = { 0 };
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	fd = openat(st->rootfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s/%s: [store] cannot open: %m", st->root, sub);
		goto out;
	}
	d = fdopendir(fd);
	if (!d) {
		r = pkgimg_err(ctx, -errno, "%s/%s: [store] cannot open: %m", st->root, sub);
		close(fd);
		goto out;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		strv_add(&sv, de->d_name);
	}
	strv_sort(&sv);
	*out = sv;
	memset(&sv, 0, sizeof sv);
out:
	if (d)
		closedir(d);
	strv_free(&sv);
	return r;
}

/* ---- open / close ----------------------------------------------------- */

int store_open(struct pkgimg_ctx *ctx, const char *root, struct store *st)
{
	struct store s = { NULL, -1, -1 };
	char *abs = NULL;
	int r;

	if (!root || !*root) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "store: [open] no store directory given");
		goto out;
	}
	r = fs_mkdirs(ctx, AT_FDCWD, root, 0755);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "store %s: [open]", root);
		goto out;
	}
	abs = realpath(root, NULL);
	if (!abs) {
		r = pkgimg_err(ctx, -errno, "%s: [open] cannot resolve the store path: %m", root);
		goto out;
	}
	s.rootfd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s.rootfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [open] cannot open the store: %m", abs);
		goto out;
	}
	for (size_t i = 0; i < sizeof store_subdirs / sizeof *store_subdirs; i++) {
		if (mkdirat(s.rootfd, store_subdirs[i], 0755) < 0 && errno != EEXIST) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [open] cannot create: %m "
				       "(is the store writable? set --store or PKGIMG_HOME)",
				       abs, store_subdirs[i]);
			goto out;
		}
	}
	s.lockfd = openat(s.rootfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (s.lockfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s/lock: [open] cannot create the store lock: %m", abs);
		goto out;
	}
	if (flock(s.lockfd, LOCK_SH | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			r = pkgimg_err(ctx, -errno, "%s/lock: [open] cannot lock the store: %m", abs);
			goto out;
		}
		pkgimg_info(ctx, "%s: waiting for `pkgimg gc` to finish with the store", abs);
		while (flock(s.lockfd, LOCK_SH) < 0) {
			if (errno != EINTR) {
				r = pkgimg_err(ctx, -errno, "%s/lock: [open] cannot lock the store: %m",
					       abs);
				goto out;
			}
		}
	}
	s.root = abs;
	abs = NULL;
	*st = s;
	s.rootfd = s.lockfd = -1;
out:
	if (s.lockfd >= 0)
		close(s.lockfd);
	if (s.rootfd >= 0)
		close(s.rootfd);
	free(abs);
	return r;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	if (st->lockfd >= 0)
		close(st->lockfd);
	if (st->rootfd >= 0)
		close(st->rootfd);
	free(st->root);
	st->root = NULL;
	st->rootfd = st->lockfd = -1;
}

/* ---- blobs, tmp, index ------------------------------------------------ */

int store_blob_check(struct pkgimg_ctx *ctx, struct store *st, const char *sha256_hex,
		     const char *label)
{
	char rel[96], got[65];
	int r;

	if (!hex_is64(sha256_hex))
		return 0;
	snprintf(rel, sizeof rel, "blobs/sha256/%s", sha256_hex);
	r = hash_file_sha256(st->rootfd, rel, got);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (!strcmp(got, sha256_hex))
		return 0;
	if (unlinkat(st->rootfd, rel, 0) < 0 && errno != ENOENT)
		return -errno;
	pkgimg_warn(ctx, "%s: [verify] %s/%s does not match its sha256 (got %s): it was corrupt "
		    "or replaced in the store; removed it, fetching it again",
		    label ? label : sha256_hex, st->root, rel, got);
	return 1;
}

char *store_blob_path(const struct store *st, const char *sha256_hex)
{
	return xasprintf("%s/blobs/sha256/%s", st->root, sha256_hex);
}

bool store_has_blob(const struct store *st, const char *sha256_hex)
{
	char rel[96];
	struct stat sb;

	if (!hex_is64(sha256_hex))
		return false;
	snprintf(rel, sizeof rel, "blobs/sha256/%s", sha256_hex);
	return fstatat(st->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode);
}

static bool prefix_valid(const char *prefix)
{
	return prefix && *prefix && !strchr(prefix, '/') && strcmp(prefix, ".") &&
	       strcmp(prefix, "..");
}

int store_mktemp_dir(struct pkgimg_ctx *ctx, struct store *st, const char *prefix, char **path)
{
	char *p;

	if (!prefix_valid(prefix))
		prefix = "tmp";
	p = xasprintf("%s/tmp/%s-XXXXXX", st->root, prefix);
	if (!mkdtemp(p)) {
		int e = errno;

		free(p);
		return pkgimg_err(ctx, -e, "%s/tmp: [tmp] cannot create a work directory: %s",
				  st->root, strerror(e));
	}
	*path = p;
	return 0;
}

char *store_tmp_path(struct store *st, const char *prefix)
{
	static unsigned counter;
	unsigned n = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (!prefix_valid(prefix))
		prefix = "tmp";
	return xasprintf("%s/tmp/%s.%d.%lx%lx.%u", st->root, prefix, (int)getpid(),
			 (unsigned long)ts.tv_sec, (unsigned long)ts.tv_nsec, n);
}

int store_index_dir(struct pkgimg_ctx *ctx, struct store *st, const char *source_id, char **path)
{
	char *rel = NULL;
	int r = 0;

	/* A plain name or a relative path without "." / ".." components. */
	if (!source_id || !*source_id || source_id[0] == '/' || strstr(source_id, "//")) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [index] invalid index source id",
			       source_id ? source_id : "(null)");
		goto out;
	}
	for (const char *p = source_id; *p; ) {
		size_t n = strcspn(p, "/");

		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [index] invalid index source id",
				       source_id);
			goto out;
		}
		p += n;
		if (*p == '/')
			p++;
	}
	rel = xasprintf("index/%s", source_id);
	r = fs_mkdirs(ctx, st->rootfd, rel, 0755);
	if (r < 0)
		goto out;
	/* its mtime says when a source was last used: gc goes by it (a 304
	 * rewrites nothing inside) */
	rel[6 + strcspn(source_id, "/")] = 0;
	utimensat(st->rootfd, rel, NULL, 0);
	*path = xasprintf("%s/index/%s", st->root, source_id);
out:
	free(rel);
	return r;
}

/* ---- layers ----------------------------------------------------------- */

char *store_layer_tree(const struct store *st, const char *key)
{
	if (key && !strncmp(key, KEY_PREFIX, KEY_PREFIX_LEN))
		key += KEY_PREFIX_LEN;
	return xasprintf("%s/layers/%s/tree", st->root, key ? key : "");
}

bool store_has_layer(const struct store *st, const char *key)
{
	char hex[65], rel[96];

	if (key_hex(key, hex) < 0)
		return false;
	snprintf(rel, sizeof rel, "layers/%s/layer.yaml", hex);
	return faccessat(st->rootfd, rel, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int store_lock_key(struct pkgimg_ctx *ctx, struct store *st, const char *key, int *fd)
{
	char hex[65], rel[96];
	int lfd = -1, r = 0;

	if (key_hex(key, hex) < 0) {
		r = bad_key(ctx, key, "lock");
		goto out;
	}
	snprintf(rel, sizeof rel, "locks/%s", hex);
	lfd = openat(st->rootfd, rel, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (lfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s/%s: [lock] cannot create: %m", st->root, rel);
		goto out;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [lock] %m", st->root, rel);
			goto out;
		}
		pkgimg_info(ctx, "sha256:%s: waiting for another pkgimg process building it", hex);
		while (flock(lfd, LOCK_EX) < 0) {
			if (errno != EINTR) {
				r = pkgimg_err(ctx, -errno, "%s/%s: [lock] %m", st->root, rel);
				goto out;
			}
		}
	}
	*fd = lfd;
	lfd = -1;
out:
	if (lfd >= 0)
		close(lfd);
	return r;
}

void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* layer.yaml ------------------------------------------------------------ */

static int yaml_out(void *data, unsigned char *buf, size_t size)
{
	sbuf_add(data, buf, size);
	return 1;
}

static int emit_scalar(yaml_emitter_t *em, const char *s, yaml_scalar_style_t style)
{
	yaml_event_t ev;

	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)s, (int)strlen(s),
					  1, 1, style))
		return 0;
	return yaml_emitter_emit(em, &ev);
}

static int emit_pair(yaml_emitter_t *em, const char *k, const char *v, yaml_scalar_style_t style)
{
	return emit_scalar(em, k, YAML_PLAIN_SCALAR_STYLE) && emit_scalar(em, v, style);
}

/* "name: [items]" when v is set (an empty list included). */
static int emit_list(yaml_emitter_t *em, const char *name, char **v)
{
	yaml_event_t ev;
	int ok;

	if (!v)
		return 1;
	ok = emit_scalar(em, name, YAML_PLAIN_SCALAR_STYLE) &&
	     yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE) &&
	     yaml_emitter_emit(em, &ev);
	for (char **e = v; ok && *e; e++)
		ok = emit_scalar(em, *e, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
	return ok && yaml_sequence_end_event_initialize(&ev) && yaml_emitter_emit(em, &ev);
}

static int layer_yaml_emit(const struct layer_meta *m, struct sbuf *out)
{
	yaml_emitter_t em;
	yaml_event_t ev;
	char size[32];
	int ok;

	if (!yaml_emitter_initialize(&em))
		return 0;
	yaml_emitter_set_output(&em, yaml_out, out);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_width(&em, -1);
	snprintf(size, sizeof size, "%llu", (unsigned long long)m->size);

	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) &&
	     yaml_emitter_emit(&em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&em, &ev) &&
	     yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) &&
	     yaml_emitter_emit(&em, &ev) &&
	     emit_pair(&em, "key", m->key, YAML_PLAIN_SCALAR_STYLE) &&
	     emit_pair(&em, "parent", m->parent, YAML_ANY_SCALAR_STYLE) &&
	     emit_pair(&em, "step", m->step ? m->step : "", YAML_ANY_SCALAR_STYLE) &&
	     emit_pair(&em, "size", size, YAML_PLAIN_SCALAR_STYLE);
	ok = ok && emit_list(&em, "env", m->env);
	if (ok && m->workdir)
		ok = emit_pair(&em, "workdir", m->workdir, YAML_ANY_SCALAR_STYLE);
	if (ok && m->user)
		ok = emit_pair(&em, "user", m->user, YAML_ANY_SCALAR_STYLE);
	ok = ok && emit_list(&em, "entrypoint", m->entrypoint) && emit_list(&em, "cmd", m->cmd);
	if (ok && m->pyc_failed && m->pyc_failed[0])
		ok = emit_list(&em, "pyc_failed", m->pyc_failed);
	if (ok && m->lock)
		ok = emit_pair(&em, "lock", m->lock,
			       *m->lock ? YAML_LITERAL_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
	ok = ok && yaml_mapping_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev) &&
	     yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
	     yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
	yaml_emitter_delete(&em);
	return ok;
}

static int yaml_next(struct pkgimg_ctx *ctx, yaml_parser_t *p, yaml_event_t *ev,
		     const char *path)
{
	if (!yaml_parser_parse(p, ev))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] line %zu: %s", path,
				  p->problem_mark.line + 1, p->problem ? p->problem : "invalid YAML");
	return 0;
}

/* Skips the node whose first event is `first` (already consumed). */
static int yaml_skip(struct pkgimg_ctx *ctx, yaml_parser_t *p, yaml_event_type_t first,
		     const char *path)
{
	int depth, r = 0;
	yaml_event_t ev;

	if (first != YAML_SEQUENCE_START_EVENT && first != YAML_MAPPING_START_EVENT)
		return 0;
	for (depth = 1; depth > 0 && r == 0; ) {
		r = yaml_next(ctx, p, &ev, path);
		if (r < 0)
			break;
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
			depth++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			depth--;
		else if (ev.type == YAML_STREAM_END_EVENT)
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] unexpected end", path);
		yaml_event_delete(&ev);
	}
	return r;
}

static int layer_yaml_parse(struct pkgimg_ctx *ctx, const char *path, const struct sbuf *text,
			    struct layer_meta *m)
{
	struct strv lists[4] = { { 0 } };
	static const char *const list_names[4] = { "env", "entrypoint", "cmd", "pyc_failed" };
	char ***list_dst[4] = { &m->env, &m->entrypoint, &m->cmd, &m->pyc_failed };
	bool have[4] = { false, false, false, false };
	yaml_parser_t p;
	yaml_event_t ev;
	char *k = NULL;
	int r = 0, li;

	if (!yaml_parser_initialize(&p))
		return pkgimg_err(ctx, -ENOMEM, "%s: [parse] out of memory", path);
	yaml_parser_set_input_string(&p, (const unsigned char *)text->buf, text->len);
	/* stream start, document start, mapping start */
	for (int i = 0; i < 3 && r == 0; i++) {
		static const yaml_event_type_t want[] = {
			YAML_STREAM_START_EVENT, YAML_DOCUMENT_START_EVENT, YAML_MAPPING_START_EVENT
		};

		r = yaml_next(ctx, &p, &ev, path);
		if (r == 0 && ev.type != want[i])
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] expected a mapping", path);
		if (r == 0)
			yaml_event_delete(&ev);
	}
	while (r == 0) {
		r = yaml_next(ctx, &p, &ev, path);
		if (r < 0)
			break;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		if (ev.type != YAML_SCALAR_EVENT) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] line %zu: expected a key",
				       path, ev.start_mark.line + 1);
			yaml_event_delete(&ev);
			break;
		}
		free(k);
		k = xstrndup((char *)ev.data.scalar.value, ev.data.scalar.length);
		yaml_event_delete(&ev);

		r = yaml_next(ctx, &p, &ev, path);
		if (r < 0)
			break;
		if (ev.type == YAML_SCALAR_EVENT) {
			const char *v = (const char *)ev.data.scalar.value;
			size_t vn = ev.data.scalar.length;

			if (!strcmp(k, "parent")) {
				if (vn >= sizeof m->parent)
					r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
						       "%s: [parse] parent is too long", path);
				else
					memcpy(m->parent, v, vn + 1);
			} else if (!strcmp(k, "step")) {
				free(m->step);
				m->step = xstrndup(v, vn);
			} else if (!strcmp(k, "lock")) {
				free(m->lock);
				m->lock = xstrndup(v, vn);
			} else if (!strcmp(k, "workdir")) {
				free(m->workdir);
				m->workdir = xstrndup(v, vn);
			} else if (!strcmp(k, "user")) {
				free(m->user);
				m->user = xstrndup(v, vn);
			} else if (!strcmp(k, "size")) {
				char *end;

				errno = 0;
				m->size = strtoull(v, &end, 10);
				if (errno || end == v || *end)
					r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
						       "%s: [parse] size is not a number: %s", path, v);
			}
		} else if (ev.type == YAML_SEQUENCE_START_EVENT &&
			   ((li = 0, !strcmp(k, list_names[0])) || (li = 1, !strcmp(k, list_names[1])) ||
			    (li = 2, !strcmp(k, list_names[2])) || (li = 3, !strcmp(k, list_names[3])))) {
			have[li] = true;
			for (;;) {
				yaml_event_t e2;

				r = yaml_next(ctx, &p, &e2, path);
				if (r < 0)
					break;
				if (e2.type == YAML_SEQUENCE_END_EVENT) {
					yaml_event_delete(&e2);
					break;
				}
				if (e2.type != YAML_SCALAR_EVENT) {
					r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
						       "%s: [parse] %s entries must be strings", path,
						       list_names[li]);
					yaml_event_delete(&e2);
					break;
				}
				strv_push(&lists[li], xstrndup((char *)e2.data.scalar.value,
							 e2.data.scalar.length));
				yaml_event_delete(&e2);
			}
		} else {
			r = yaml_skip(ctx, &p, ev.type, path);
		}
		yaml_event_delete(&ev);
	}
	if (r == 0 && lists[3].n % 3)
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] pyc_failed must list package, "
			       "path and error for each file", path);
	for (int i = 0; i < 4; i++) {
		if (r == 0 && have[i]) {
			*list_dst[i] = lists[i].v ? lists[i].v : xcalloc(1, sizeof(char *));
			memset(&lists[i], 0, sizeof lists[i]);
		}
		strv_free(&lists[i]);
	}
	free(k);
	yaml_parser_delete(&p);
	return r;
}

int store_layer_commit(struct pkgimg_ctx *ctx, struct store *st, const char *tmpdir,
		       struct layer_meta *meta)
{
	unsigned long long size = 0;
	struct sbuf y = SBUF_INIT;
	char hex[65], rel[96];
	char *tree = NULL, *yp = NULL;
	struct stat sb;
	int r = 0;

	if (key_hex(meta->key, hex) < 0) {
		r = bad_key(ctx, meta->key, "commit");
		goto out;
	}
	if (meta->parent[0] && key_hex(meta->parent, (char[65]){ 0 }) < 0) {
		r = bad_key(ctx, meta->parent, "commit");
		goto out;
	}
	tree = xasprintf("%s/tree", tmpdir);
	if (lstat(tree, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		r = pkgimg_err(ctx, -ENOENT, "%s: [commit] %s has no tree/ directory",
			       meta->key, tmpdir);
		goto out;
	}
	r = fs_tree_size(ctx, AT_FDCWD, tree, &size);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s: [commit]", meta->key);
		goto out;
	}
	meta->size = size;
	if (!layer_yaml_emit(meta, &y)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [commit] cannot write layer.yaml "
			       "(invalid UTF-8 in the step or lock text?)", meta->key);
		goto out;
	}
	yp = xasprintf("%s/layer.yaml", tmpdir);
	r = fs_write_file(ctx, AT_FDCWD, yp, y.buf, y.len, 0644);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s: [commit]", meta->key);
		goto out;
	}
	snprintf(rel, sizeof rel, "layers/%s", hex);
	if (renameat(AT_FDCWD, tmpdir, st->rootfd, rel) < 0) {
		if (errno == EEXIST || errno == ENOTEMPTY) {
			/* A concurrent builder committed the same key first. */
			r = fs_rm_rf(ctx, AT_FDCWD, tmpdir);
			if (r < 0)
				r = pkgimg_err_wrap(ctx, r, "%s: [commit] removing %s", meta->key,
						    tmpdir);
			goto out;
		}
		r = pkgimg_err(ctx, -errno, "%s: [commit] cannot rename %s to %s/%s: %m%s",
			       meta->key, tmpdir, st->root, rel,
			       errno == EXDEV ? " (build the layer under the store's tmp/)" : "");
		goto out;
	}
out:
	sbuf_free(&y);
	free(tree);
	free(yp);
	return r;
}

int store_layer_read(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		     struct layer_meta *out)
{
	struct layer_meta m = { 0 };
	struct sbuf text = SBUF_INIT;
	char hex[65], rel[96];
	char *path = NULL;
	int r;

	if (key_hex(key, hex) < 0) {
		r = bad_key(ctx, key, "layer");
		goto out;
	}
	snprintf(rel, sizeof rel, "layers/%s/layer.yaml", hex);
	path = xasprintf("%s/%s", st->root, rel);
	r = fs_read_file(ctx, st->rootfd, rel, &text);
	if (r == -ENOENT) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "sha256:%s: [layer] no such layer in the "
			       "store; `pkgimg images` lists them", hex);
		goto out;
	}
	if (r < 0)
		goto out;
	r = layer_yaml_parse(ctx, path, &text, &m);
	if (r < 0)
		goto out;
	if (m.parent[0] && key_hex(m.parent, (char[65]){ 0 }) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [parse] parent '%s' is not a key",
			       path, m.parent);
		goto out;
	}
	snprintf(m.key, sizeof m.key, KEY_PREFIX "%s", hex);
	*out = m;
	memset(&m, 0, sizeof m);
out:
	layer_meta_free(&m);
	sbuf_free(&text);
	free(path);
	return r;
}

void layer_meta_free(struct layer_meta *m)
{
	if (!m)
		return;
	free(m->step);
	free(m->lock);
	free(m->workdir);
	free(m->user);
	strv_free_null(m->env);
	strv_free_null(m->entrypoint);
	strv_free_null(m->cmd);
	strv_free_null(m->pyc_failed);
	memset(m, 0, sizeof *m);
}

static char **strv_copy_null(char **v)
{
	struct strv out = { 0 };

	for (char **e = v; e && *e; e++)
		strv_add(&out, *e);
	return out.v ? out.v : xcalloc(1, sizeof(char *));
}

int store_image_config(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       struct image_config *out)
{
	struct image_config c = { 0 };
	struct strv env = { 0 };
	char **chain = NULL;
	int n = 0, r;

	r = store_layer_chain(ctx, st, key, &chain, &n);
	for (int i = n - 1; r == 0 && i >= 0; i--) {	/* bottom first */
		struct layer_meta m = { 0 };

		r = store_layer_read(ctx, st, chain[i], &m);
		if (r < 0)
			break;
		for (char **e = m.env; e && *e; e++) {
			size_t kn = strcspn(*e, "=");
			size_t j;

			for (j = 0; j < env.n; j++)
				if (!strncmp(env.v[j], *e, kn) && env.v[j][kn] == '=')
					break;
			if (j < env.n) {
				free(env.v[j]);
				env.v[j] = xstrdup(*e);
			} else {
				strv_add(&env, *e);
			}
		}
		if (m.workdir) {
			free(c.workdir);
			c.workdir = xstrdup(m.workdir);
		}
		if (m.user) {
			free(c.user);
			c.user = xstrdup(m.user);
		}
		if (m.entrypoint) {
			strv_free_null(c.entrypoint);
			c.entrypoint = strv_copy_null(m.entrypoint);
		}
		if (m.cmd) {
			strv_free_null(c.cmd);
			c.cmd = strv_copy_null(m.cmd);
		}
		layer_meta_free(&m);
	}
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	c.env = strv_copy_null(env.v);
	strv_free(&env);
	if (r < 0) {
		image_config_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

void image_config_free(struct image_config *c)
{
	strv_free_null(c->env);
	free(c->workdir);
	free(c->user);
	strv_free_null(c->entrypoint);
	strv_free_null(c->cmd);
	memset(c, 0, sizeof *c);
}

int store_check_layers(struct pkgimg_ctx *ctx, int n, const char *what)
{
	if (n <= STORE_LAYERS_MAX)
		return 0;
	return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [layers] the image would have %d layers; "
			  "an image has at most %d (overlayfs stacks %d lower dirs, and running "
			  "it adds one), so it could not run: use fewer steps (combine run steps "
			  "into one, env and workdir into one step each, the packages of an "
			  "ecosystem into one step)", what, n, STORE_LAYERS_MAX, STORE_OVERLAY_MAX);
}

int store_layer_chain(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      char ***keys, int *n)
{
	struct strv sv = { 0 };
	struct layer_meta m = { 0 };
	char cur[STORE_KEY_MAX], hex[65];
	int r = 0;

	if (key_hex(key, hex) < 0) {
		r = bad_key(ctx, key, "chain");
		goto out;
	}
	snprintf(cur, sizeof cur, KEY_PREFIX "%s", hex);
	while (cur[0]) {
		if (sv.n >= CHAIN_MAX) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [chain] more than %d layers "
				       "(a parent loop?)", key, CHAIN_MAX);
			goto out;
		}
		r = store_layer_read(ctx, st, cur, &m);
		if (r < 0) {
			if (sv.n > 0 && r == -PKGIMG_E_NOTFOUND)
				r = pkgimg_err(ctx, r, "%s: [chain] parent layer %s is missing from "
					       "the store; rebuild the image", key, cur);
			goto out;
		}
		strv_add(&sv, m.key);
		snprintf(cur, sizeof cur, "%s", m.parent);
		layer_meta_free(&m);
	}
	*n = (int)sv.n;
	*keys = sv.v;	/* a strv is NULL-terminated */
	memset(&sv, 0, sizeof sv);
out:
	layer_meta_free(&m);
	strv_free(&sv);
	return r;
}

/* ---- tags and names --------------------------------------------------- */

int store_tag_check(struct pkgimg_ctx *ctx, const char *name)
{
	if (tag_name_valid(name))
		return 0;
	return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [tag] invalid tag name; use letters, "
			  "digits and _ . - : (at most %d, not starting with . - or :)",
			  name ? name : "(null)", TAG_NAME_MAX);
}

int store_tag_set(struct pkgimg_ctx *ctx, struct store *st, const char *name, const char *key)
{
	char hex[65], *enc = NULL, *tmp = NULL, *rel = NULL, *line = NULL;
	int fd = -1, r = 0;
	size_t len;

	r = store_tag_check(ctx, name);
	if (r < 0)
		goto out;
	if (key_hex(key, hex) < 0) {
		r = bad_key(ctx, key, "tag");
		goto out;
	}
	if (!store_has_layer(st, key)) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [tag] sha256:%s is not in the store",
			       name, hex);
		goto out;
	}
	enc = tag_encode(name);
	rel = xasprintf("tags/%s", enc);
	tmp = store_tmp_path(st, "tag");
	line = xasprintf(KEY_PREFIX "%s\n", hex);
	len = strlen(line);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [tag] cannot create %s: %m", name, tmp);
		goto out;
	}
	if (write(fd, line, len) != (ssize_t)len) {
		r = pkgimg_err(ctx, errno ? -errno : -EIO, "%s: [tag] cannot write %s: %m", name, tmp);
		goto out;
	}
	if (close(fd) < 0) {
		fd = -1;
		r = pkgimg_err(ctx, -errno, "%s: [tag] cannot write %s: %m", name, tmp);
		goto out;
	}
	fd = -1;
	if (renameat(AT_FDCWD, tmp, st->rootfd, rel) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [tag] cannot write %s/%s: %m", name, st->root, rel);
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp)
		unlink(tmp);
	free(enc);
	free(tmp);
	free(rel);
	free(line);
	return r;
}

/* Reads tags/<file>: 0 and the key, -ENOENT when absent, else an error. */
static int tag_read_file(struct pkgimg_ctx *ctx, struct store *st, const char *file,
			 char key[STORE_KEY_MAX])
{
	struct sbuf text = SBUF_INIT;
	char *rel = xasprintf("tags/%s", file);
	struct blob b;
	char hex[65], *k = NULL;
	int r;

	r = fs_read_file(ctx, st->rootfd, rel, &text);
	if (r < 0)
		goto out;
	b = blob_trim((struct blob){ text.buf, text.len });
	k = blob_dup(b);
	if (key_hex(k, hex) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s/%s: [tag] does not hold a key; "
			       "set it again with --tag", st->root, rel);
		goto out;
	}
	snprintf(key, STORE_KEY_MAX, KEY_PREFIX "%s", hex);
out:
	free(k);
	free(rel);
	sbuf_free(&text);
	return r;
}

/* Layers whose hex starts with prefix (lowercase hex). */
static int match_prefix(struct pkgimg_ctx *ctx, struct store *st, const char *prefix,
			struct strv *out)
{
	struct strv all = { 0 };
	size_t pn = strlen(prefix);
	int r;

	r = list_dir(ctx, st, "layers", &all);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < all.n; i++)
		if (hex_is64(all.v[i]) && !strncmp(all.v[i], prefix, pn))
			strv_push(out, xasprintf(KEY_PREFIX "%s", all.v[i]));
out:
	strv_free(&all);
	return r;
}

int store_resolve(struct pkgimg_ctx *ctx, struct store *st, const char *name,
		  char key[STORE_KEY_MAX])
{
	struct strv cand = { 0 };
	char found[STORE_KEY_MAX], *enc = NULL, *hex = NULL;
	const char *h = name;
	bool explicit_key = false;
	int r = 0;

	if (!name || !*name) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "[resolve] no image name given; "
			       "`pkgimg images` lists them");
		goto out;
	}
	if (!strncmp(name, KEY_PREFIX, KEY_PREFIX_LEN)) {
		h = name + KEY_PREFIX_LEN;
		explicit_key = true;
	} else if (tag_name_valid(name)) {
		enc = tag_encode(name);
		r = tag_read_file(ctx, st, enc, found);
		if (r == 0) {
			if (!store_has_layer(st, found)) {
				r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [resolve] the tag points "
					       "at %s, which is no longer in the store; rebuild it",
					       name, found);
				goto out;
			}
			memcpy(key, found, STORE_KEY_MAX);
			goto out;
		}
		if (r != -ENOENT)
			goto out;
		r = 0;
	}
	/* A full key or a unique prefix. */
	hex = xstrdup(h);
	for (char *p = hex; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	if (strlen(hex) > 64 || !hex_is_lower(hex, strlen(hex)) || strlen(hex) < 4) {
		if (explicit_key || (strlen(hex) >= 4 && hex_is_lower(hex, strlen(hex))))
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [resolve] not an image id; give "
				       "sha256:<hex> or at least 4 hex digits of it", name);
		else
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [resolve] no such image; "
				       "`pkgimg images` lists them", name);
		goto out;
	}
	r = match_prefix(ctx, st, hex, &cand);
	if (r < 0)
		goto out;
	if (cand.n == 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [resolve] no such image; "
			       "`pkgimg images` lists them", name);
		goto out;
	}
	if (cand.n > 1) {
		struct sbuf sb = SBUF_INIT;

		for (size_t i = 0; i < cand.n && i < 10; i++)
			sbuf_addf(&sb, "%s%s", i ? ", " : "", cand.v[i]);
		if (cand.n > 10)
			sbuf_addf(&sb, ", and %zu more", cand.n - 10);
		r = pkgimg_err(ctx, -PKGIMG_E_AMBIGUOUS, "%s: [resolve] ambiguous: matches %s; "
			       "give more digits", name, sb.buf);
		sbuf_free(&sb);
		goto out;
	}
	snprintf(key, STORE_KEY_MAX, "%s", cand.v[0]);
out:
	strv_free(&cand);
	free(enc);
	free(hex);
	return r;
}

/* ---- listing ---------------------------------------------------------- */

struct layer_ent {
	char hex[65];
	char parent[65];	/* "" at the bottom */
	char *step;
	char *lock;
	uint64_t size;
	int64_t mtime;
	bool is_parent;
	bool keep;
};

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct layer_ent *)a)->hex, ((const struct layer_ent *)b)->hex);
}

static struct layer_ent *ent_find(struct layer_ent *ents, int n, const char *hex)
{
	struct layer_ent k;

	if (!hex[0])
		return NULL;
	snprintf(k.hex, sizeof k.hex, "%s", hex);
	return bsearch(&k, ents, (size_t)n, sizeof *ents, cmp_ent);
}

static void ents_free(struct layer_ent *ents, int n)
{
	for (int i = 0; i < n; i++) {
		free(ents[i].step);
		free(ents[i].lock);
	}
	free(ents);
}

/* Every readable layer, sorted by hex.  Unreadable layers are skipped with a
 * warning (gc then treats them as unreachable unless tagged). */
static int load_layers(struct pkgimg_ctx *ctx, struct store *st, struct layer_ent **out,
		       int *nout)
{
	struct strv names = { 0 };
	struct layer_ent *ents = NULL;
	int n = 0, r;

	r = list_dir(ctx, st, "layers", &names);
	if (r < 0)
		goto out;
	ents = xcalloc(names.n + 1, sizeof *ents);
	for (size_t i = 0; i < names.n; i++) {
		struct layer_meta m = { 0 };
		struct stat sb;
		char rel[96];

		if (!hex_is64(names.v[i]))
			continue;
		if (store_layer_read(ctx, st, names.v[i], &m) < 0) {
			pkgimg_warn(ctx, "%s", ctx->errmsg);
			continue;
		}
		snprintf(ents[n].hex, sizeof ents[n].hex, "%s", names.v[i]);
		if (m.parent[0])
			key_hex(m.parent, ents[n].parent);
		ents[n].step = m.step;
		ents[n].lock = m.lock;
		m.step = m.lock = NULL;
		ents[n].size = m.size;
		snprintf(rel, sizeof rel, "layers/%s/layer.yaml", names.v[i]);
		if (fstatat(st->rootfd, rel, &sb, 0) == 0)
			ents[n].mtime = (int64_t)sb.st_mtime;
		layer_meta_free(&m);
		n++;
	}
	/* names are sorted, so ents are too */
	for (int i = 0; i < n; i++) {
		struct layer_ent *p = ent_find(ents, n, ents[i].parent);

		if (p)
			p->is_parent = true;
	}
	*out = ents;
	*nout = n;
	ents = NULL;
	n = 0;
out:
	if (ents)
		ents_free(ents, n);
	strv_free(&names);
	return r;
}

struct tag_ent {
	char *name;
	char hex[65];
};

static void tags_free(struct tag_ent *tags, int n)
{
	for (int i = 0; i < n; i++)
		free(tags[i].name);
	free(tags);
}

/* Every tag with a readable key (sorted by name). */
static int load_tags(struct pkgimg_ctx *ctx, struct store *st, struct tag_ent **out, int *nout)
{
	struct strv files = { 0 };
	struct tag_ent *tags = NULL;
	int n = 0, r;

	r = list_dir(ctx, st, "tags", &files);
	if (r < 0)
		goto out;
	tags = xcalloc(files.n + 1, sizeof *tags);
	for (size_t i = 0; i < files.n; i++) {
		char key[STORE_KEY_MAX];
		char *name = tag_decode(files.v[i]);

		if (!tag_name_valid(name) || tag_read_file(ctx, st, files.v[i], key) < 0) {
			free(name);
			continue;
		}
		tags[n].name = name;
		key_hex(key, tags[n].hex);
		n++;
	}
	*out = tags;
	*nout = n;
	tags = NULL;
	n = 0;
out:
	if (tags)
		tags_free(tags, n);
	strv_free(&files);
	return r;
}

static int cmp_image(const void *a, const void *b)
{
	const struct store_image *x = a, *y = b;

	if (x->created != y->created)
		return x->created > y->created ? -1 : 1;
	return strcmp(x->key, y->key);
}

int store_list_images(struct pkgimg_ctx *ctx, struct store *st, struct store_image **out, int *n)
{
	struct layer_ent *ents = NULL;
	struct tag_ent *tags = NULL;
	struct store_image *imgs = NULL;
	int nents = 0, ntags = 0, nimg = 0, r;

	r = load_layers(ctx, st, &ents, &nents);
	if (r < 0)
		goto out;
	r = load_tags(ctx, st, &tags, &ntags);
	if (r < 0)
		goto out;
	imgs = xcalloc((size_t)nents + 1, sizeof *imgs);
	for (int i = 0; i < nents; i++) {
		struct layer_ent *e = &ents[i], *c;
		struct strv tv = { 0 };
		int guard = 0;

		for (int t = 0; t < ntags; t++)
			if (!strcmp(tags[t].hex, e->hex))
				strv_add(&tv, tags[t].name);
		if (e->is_parent && tv.n == 0)
			continue;
		strv_sort(&tv);

		struct store_image *im = &imgs[nimg++];

		snprintf(im->key, sizeof im->key, KEY_PREFIX "%s", e->hex);
		im->tags = tv.v ? tv.v : xcalloc(1, sizeof *im->tags);
		im->step = xstrdup(e->step ? e->step : "");
		im->created = e->mtime;
		for (c = e; c && guard < CHAIN_MAX; c = ent_find(ents, nents, c->parent), guard++) {
			im->size += c->size;
			im->nlayers++;
		}
	}
	qsort(imgs, (size_t)nimg, sizeof *imgs, cmp_image);
	*out = imgs;
	*n = nimg;
	imgs = NULL;
	nimg = 0;
out:
	store_images_free(imgs, nimg);
	if (ents)
		ents_free(ents, nents);
	if (tags)
		tags_free(tags, ntags);
	return r;
}

void store_images_free(struct store_image *imgs, int n)
{
	if (!imgs)
		return;
	for (int i = 0; i < n; i++) {
		if (imgs[i].tags) {
			for (char **t = imgs[i].tags; *t; t++)
				free(*t);
			free(imgs[i].tags);
		}
		free(imgs[i].step);
	}
	free(imgs);
}

/* ---- gc --------------------------------------------------------------- */

/* Adds every maximal run of exactly 64 hex digits in text to sv. */
static void collect_hex64(const char *text, struct strv *sv)
{
	const char *p = text;

	while (p && *p) {
		size_t n = 0;

		while (p[n] && ((p[n] >= '0' && p[n] <= '9') || (p[n] >= 'a' && p[n] <= 'f') ||
				(p[n] >= 'A' && p[n] <= 'F')))
			n++;
		if (n == 64) {
			char *h = xstrndup(p, 64);

			for (char *q = h; *q; q++)
				if (*q >= 'A' && *q <= 'F')
					*q = (char)(*q - 'A' + 'a');
			strv_push(sv, h);
		}
		p += n ? n : 1;
	}
}

static uint64_t path_bytes(struct pkgimg_ctx *ctx, int dirfd, const char *path)
{
	unsigned long long b = 0;

	if (fs_tree_size(ctx, dirfd, path, &b) < 0)
		return 0;
	return b;
}

/* Removes ROOT/<sub>/<name> for every name that keep() rejects. */
static int gc_sweep(struct pkgimg_ctx *ctx, struct store *st, const char *sub,
		    const struct strv *keep, int *count, uint64_t *bytes)
{
	struct strv names = { 0 };
	int r, fd = -1;

	r = list_dir(ctx, st, sub, &names);
	if (r < 0)
		goto out;
	fd = openat(st->rootfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s/%s: [gc] %m", st->root, sub);
		goto out;
	}
	for (size_t i = 0; i < names.n; i++) {
		uint64_t b;

		if (keep && strv_has_sorted(keep, names.v[i]))
			continue;
		b = path_bytes(ctx, fd, names.v[i]);
		r = fs_rm_rf(ctx, fd, names.v[i]);
		if (r < 0) {
			r = pkgimg_err_wrap(ctx, r, "%s/%s: [gc]", st->root, sub);
			goto out;
		}
		if (count)
			(*count)++;
		*bytes += b;
	}
out:
	if (fd >= 0)
		close(fd);
	strv_free(&names);
	return r;
}

/* Removes the index caches (ROOT/index/<source-id>/) that no lock or
 * install used for STORE_INDEX_MAX_AGE_S: store_index_dir() stamps a
 * source's folder each time it is used.  A source in use is fetched (or
 * revalidated) by every lock anyway, so a cache that old saves nothing;
 * `install --lock` needs no index at all. */
static int gc_index(struct pkgimg_ctx *ctx, struct store *st, uint64_t *bytes)
{
	struct strv names = { 0 };
	time_t old = time(NULL) - STORE_INDEX_MAX_AGE_S;
	int r, fd = -1;

	r = list_dir(ctx, st, "index", &names);
	if (r < 0)
		goto out;
	fd = openat(st->rootfd, "index", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s/index: [gc] %m", st->root);
		goto out;
	}
	for (size_t i = 0; i < names.n; i++) {
		struct stat sb;
		uint64_t b;

		if (fstatat(fd, names.v[i], &sb, AT_SYMLINK_NOFOLLOW) < 0 || sb.st_mtime >= old)
			continue;
		b = path_bytes(ctx, fd, names.v[i]);
		r = fs_rm_rf(ctx, fd, names.v[i]);
		if (r < 0) {
			r = pkgimg_err_wrap(ctx, r, "%s/index: [gc]", st->root);
			goto out;
		}
		*bytes += b;
	}
out:
	if (fd >= 0)
		close(fd);
	strv_free(&names);
	return r;
}

static int gc_locked(struct pkgimg_ctx *ctx, struct store *st, struct store_gc_stats *stats)
{
	struct layer_ent *ents = NULL;
	struct tag_ent *tags = NULL;
	struct strv keep_layers = { 0 }, keep_hex = { 0 };
	int nents = 0, ntags = 0, r;

	/* Nothing in tmp/ is in use: every other process holds the shared lock. */
	r = gc_sweep(ctx, st, "tmp", NULL, NULL, &stats->bytes);
	if (r < 0)
		goto out;
	r = gc_sweep(ctx, st, "locks", NULL, NULL, &(uint64_t){ 0 });
	if (r < 0)
		goto out;
	r = load_layers(ctx, st, &ents, &nents);
	if (r < 0)
		goto out;
	r = load_tags(ctx, st, &tags, &ntags);
	if (r < 0)
		goto out;
	for (int t = 0; t < ntags; t++) {
		struct layer_ent *e = ent_find(ents, nents, tags[t].hex);

		for (int guard = 0; e && !e->keep && guard < CHAIN_MAX; guard++) {
			e->keep = true;
			e = ent_find(ents, nents, e->parent);
		}
	}
	for (int i = 0; i < nents; i++) {
		if (!ents[i].keep)
			continue;
		strv_add(&keep_layers, ents[i].hex);
		if (ents[i].lock)
			collect_hex64(ents[i].lock, &keep_hex);
	}
	strv_sort(&keep_layers);
	strv_sort(&keep_hex);
	/* Layers that are not readable (not in ents) are not kept either. */
	r = gc_sweep(ctx, st, "layers", &keep_layers, &stats->layers, &stats->bytes);
	if (r < 0)
		goto out;
	r = gc_sweep(ctx, st, "blobs/sha256", &keep_hex, &stats->blobs, &stats->bytes);
	if (r < 0)
		goto out;
	r = gc_sweep(ctx, st, "unpacked", &keep_hex, NULL, &stats->bytes);
	if (r < 0)
		goto out;
	r = gc_index(ctx, st, &stats->bytes);
out:
	if (ents)
		ents_free(ents, nents);
	if (tags)
		tags_free(tags, ntags);
	strv_free(&keep_layers);
	strv_free(&keep_hex);
	return r;
}

int store_gc(struct pkgimg_ctx *ctx, struct store *st, struct store_gc_stats *stats)
{
	struct store_gc_stats s = { 0, 0, 0 };
	int r;

	if (flock(st->lockfd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		/* A failed conversion may have dropped the shared lock: take it back. */
		while (flock(st->lockfd, LOCK_SH) < 0 && errno == EINTR)
			;
		if (e == EWOULDBLOCK)
			r = pkgimg_err(ctx, -EBUSY, "%s: [gc] the store is in use by another pkgimg "
				       "process; retry when it finishes", st->root);
		else
			r = pkgimg_err(ctx, -e, "%s/lock: [gc] cannot lock the store: %s",
				       st->root, strerror(e));
		goto out;
	}
	r = gc_locked(ctx, st, &s);
	while (flock(st->lockfd, LOCK_SH) < 0 && errno == EINTR)
		;
	if (r < 0)
		goto out;
	if (stats)
		*stats = s;
out:
	return r;
}

/* ---- materialize ------------------------------------------------------ */

int store_materialize(struct pkgimg_ctx *ctx, struct store *st, char **keys, int n,
		      const char *dir)
{
	struct dirent *de;
	DIR *d = NULL;
	int dfd = -1, sfd = -1, r = 0;

	/* 0700 while it is written: the root gets its mode last */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = pkgimg_err(ctx, -errno, "%s: [materialize] cannot create: %m", dir);
		goto out;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0 || fchmod(dfd, 0700) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [materialize] cannot open: %m", dir);
		goto out;
	}
	{
		int fd = dup(dfd);

		if (fd < 0 || !(d = fdopendir(fd))) {
			r = pkgimg_err(ctx, -errno, "%s: [materialize] cannot list: %m", dir);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		while ((de = readdir(d))) {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
				r = pkgimg_err(ctx, -ENOTEMPTY, "%s: [materialize] the directory "
					       "is not empty; give a new or empty directory", dir);
				goto out;
			}
		}
	}
	for (int i = n - 1; i >= 0; i--) {
		char hex[65], rel[96];

		if (key_hex(keys[i], hex) < 0) {
			r = bad_key(ctx, keys[i], "materialize");
			goto out;
		}
		snprintf(rel, sizeof rel, "layers/%s/tree", hex);
		sfd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			r = errno == ENOENT
				? pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [materialize] no such "
					     "layer in the store; rebuild the image", keys[i])
				: pkgimg_err(ctx, -errno, "%s: [materialize] cannot open %s/%s: %m",
					     keys[i], st->root, rel);
			goto out;
		}
		/* the top layer's root metadata, once everything is in */
		r = tree_apply(ctx, sfd, dfd, TREE_HOST, i == 0, keys[i], "materialize", dir);
		close(sfd);
		sfd = -1;
		if (r < 0)
			goto out;
	}
out:
	if (d)
		closedir(d);
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}
