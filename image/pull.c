/* pkgimg pull: an OCI layout or a docker archive into the store (image/pull.h). */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/layer.h"
#include "core/arc.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "image/oci.h"
#include "image/pull.h"
#include "installers/extract.h"

#define PULL_JSON_MAX (4u << 20)	/* an index, manifest or config */
#define PULL_INDEX_DEPTH 4		/* nested indexes followed */
#define WH_PREFIX ".wh."
#define WH_META ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"
#define OPAQUE_XATTR "user.overlay.opaque"

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

/* What a layer blob is read from, and where a docker archive was unpacked. */
struct src {
	const char *ref;	/* as given, for messages */
	char *dir;		/* the layout, the unpacked archive, or the store (absolute) */
	int dirfd;
	char *tmp;		/* the unpacked archive's dir, removed at the end */
	char *base;		/* a registry: "SCHEME://HOST/v2/REPO"; its blobs go to
				 * the store's blobs/sha256/, read from there */
	struct store *st;
};

/* One blob of the image: a layer (or the config). */
struct desc {
	char *media;
	char digest[STORE_KEY_MAX];	/* "sha256:<hex>" */
	int64_t size;			/* -1: not declared */
	char *path;			/* relative to src->dir */
};

struct want {
	const char *os, *arch, *variant;	/* variant NULL: any */
	bool given;			/* --platform */
	char *buf;
};

/* One pull: what its steps share. */
struct pull {
	struct pkgimg_ctx *ctx;
	struct store *st;
	const char *ref;
	struct src s;
	struct want w;
	bool archive, registry;
	char *path, *name;		/* the ref's path (or the store's) and TAG / NAME:TAG */
	struct sbuf man, config;	/* the manifest's and the config's bytes */
	struct desc cfg, *layers;	/* the config and the layers, bottom first */
	int n;
	char **diff_ids;		/* the config's, one per layer */
	struct layer_meta top;		/* the config layer's settings */
	struct layer_txn *txns;		/* one per layer, then the config layer's */
	struct pull_result *res;
};

static bool is_hex64(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == 64;
}

static bool is_digest(const char *s)
{
	return s && !strncmp(s, "sha256:", 7) && is_hex64(s + 7);
}

bool pull_ref_is_transport(const char *ref)
{
	return !strncmp(ref, "oci:", 4) || !strncmp(ref, "docker-archive:", 15) ||
	       !strncmp(ref, "docker://", 9);
}

static void desc_free(struct desc *d)
{
	free(d->media);
	free(d->path);
	memset(d, 0, sizeof *d);
}

/* ---- reading the source ---- */

/* A file of the source (a normalised relative path), opened without
 * following a symlink on the way; a symlink as the file itself (a docker
 * archive's layer.tar pointing at another) is followed once, inside. */
static int src_open(struct pkgimg_ctx *ctx, struct src *s, const char *path, int *fd)
{
	struct sbuf norm = SBUF_INIT, cur = SBUF_INIT;
	const char *why = "empty path", *name;
	int dfd = -1, r = 0;

	*fd = -1;
	sbuf_adds(&cur, path);
	for (int hop = 0; hop < 2; hop++) {
		char target[4096];
		ssize_t n;

		if (!cur.len || !fs_path_norm(cur.buf, false, &norm, &why) || !norm.len) {
			r = pkgimg_err(ctx, -PKGIMG_E_UNSAFE, "%s: [pull] refusing the path '%s': %s",
				       s->ref, cur.buf, norm.len || !cur.len ? why : "the root");
			goto out;
		}
		r = fs_open_parent(ctx, s->ref, "pull", s->dirfd, norm.buf, false, NULL, &dfd, &name);
		if (r < 0)
			goto out;
		*fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (*fd >= 0 || errno != ELOOP || hop)
			break;
		n = readlinkat(dfd, name, target, sizeof target - 1);
		if (n <= 0)
			break;
		target[n] = 0;
		close(dfd);
		dfd = -1;
		/* relative to the link's directory */
		sbuf_reset(&cur);
		if (target[0] != '/' && strchr(norm.buf, '/'))
			sbuf_addf(&cur, "%.*s/", (int)(strrchr(norm.buf, '/') - norm.buf), norm.buf);
		sbuf_adds(&cur, target[0] == '/' ? target + 1 : target);
	}
	if (*fd < 0)
		r = pkgimg_err(ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -errno,
			       "%s: [pull] cannot open '%s': %m", s->ref, path);
out:
	if (dfd >= 0)
		close(dfd);
	sbuf_free(&norm);
	sbuf_free(&cur);
	return r;
}

/* A small file of the source (index.json, manifest.json, a JSON blob) into
 * out, checked against digest ("sha256:…", or NULL) and size (-1: any). */
static int src_read_small(struct pkgimg_ctx *ctx, struct src *s, const char *path,
			  const char *what, const char *digest, int64_t size, struct sbuf *out)
{
	char hex[65];
	int fd, r;

	sbuf_reset(out);
	r = src_open(ctx, s, path, &fd);
	if (r < 0)
		return r;
	for (;;) {
		ssize_t n;

		sbuf_grow(out, 65536);
		n = read(fd, out->buf + out->len, 65536);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [pull] cannot read %s '%s': %m", s->ref,
				       what, path);
			break;
		}
		if (n == 0)
			break;
		out->len += (size_t)n;
		out->buf[out->len] = 0;
		if (out->len > PULL_JSON_MAX) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s '%s' is larger than "
				       "%u MiB; refused", s->ref, what, path, PULL_JSON_MAX >> 20);
			break;
		}
	}
	close(fd);
	if (r < 0)
		return r;
	if (size >= 0 && (int64_t)out->len != size)
		return pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] %s %s has %zu bytes, its "
				  "descriptor says %lld: the image is corrupt", s->ref, what,
				  digest ? digest : path, out->len, (long long)size);
	if (digest) {
		hash_sha256_hex(out->buf, out->len, hex);
		if (strcmp(hex, digest + 7))
			return pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] %s %s does not "
					  "match its digest (got sha256:%s): the image is corrupt",
					  s->ref, what, digest, hex);
	}
	return 0;
}

static char *blob_path(const char *digest)
{
	return xasprintf("blobs/sha256/%s", digest + 7);
}

static int parse_json(struct pkgimg_ctx *ctx, struct src *s, const char *what,
		      const struct sbuf *text, json_t **out)
{
	json_error_t err;

	*out = json_loadb(text->buf, text->len, JSON_REJECT_DUPLICATES, &err);
	if (!*out || !json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s is not a JSON object%s%s",
				  s->ref, what, err.text[0] ? ": " : "", err.text);
	}
	return 0;
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A descriptor of JSON `j` (what names it) into d. */
static int desc_parse(struct pkgimg_ctx *ctx, struct src *s, json_t *j, const char *what,
		      struct desc *d)
{
	const char *mt = jstr(j, "mediaType"), *dg = jstr(j, "digest");
	json_t *sz = json_object_get(j, "size");

	if (!json_is_object(j) || !dg || !json_is_integer(sz) || json_integer_value(sz) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s is not a descriptor "
				  "(mediaType, digest, size)", s->ref, what);
	if (!is_digest(dg))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s has the digest '%.80s'; "
				  "only sha256 digests are supported", s->ref, what, dg);
	d->media = xstrdup(mt ? mt : "");
	snprintf(d->digest, sizeof d->digest, "%s", dg);
	d->size = json_integer_value(sz);
	d->path = blob_path(dg);
	return 0;
}

/* ---- choosing the manifest ---- */

static int want_parse(struct pkgimg_ctx *ctx, const char *platform, struct want *w)
{
	char *a, *v;

	memset(w, 0, sizeof *w);
	if (!platform) {
		w->os = "linux";
		oci_platform(ctx->arch, &w->arch, &w->variant);
		return 0;
	}
	w->given = true;
	w->buf = xstrdup(platform);
	a = strchr(w->buf, '/');
	v = a ? strchr(a + 1, '/') : NULL;
	if (!a || a == w->buf || !a[1] || (v && (v == a + 1 || !v[1] || strchr(v + 1, '/'))))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: --platform %s: give OS/ARCH or "
				  "OS/ARCH/VARIANT, e.g. linux/amd64 or linux/arm64/v8", platform);
	*a = 0;
	if (v)
		*v = 0;
	w->os = w->buf;
	w->arch = a + 1;
	w->variant = v ? v + 1 : NULL;
	return 0;
}

static void want_str(const struct want *w, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s%s%s", w->os, w->arch, w->variant ? "/" : "",
		 w->variant ? w->variant : "");
}

static bool is_index_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_INDEX) || !strcmp(mt, MT_DOCKER_LIST);
}

static bool is_manifest_type(const char *mt)
{
	return !strcmp(mt, MT_OCI_MANIFEST) || !strcmp(mt, MT_DOCKER_MANIFEST);
}

/* The entry of an index's manifests for w: os and architecture equal, the
 * variant too when w names one (else an entry without a variant first). */
static json_t *index_pick(json_t *manifests, const struct want *w)
{
	json_t *best = NULL, *m;
	size_t i;

	json_array_foreach(manifests, i, m) {
		json_t *p = json_object_get(m, "platform");
		const char *os = jstr(p, "os"), *arch = jstr(p, "architecture");
		const char *var = jstr(p, "variant");

		if (!os || !arch || strcmp(os, w->os) || strcmp(arch, w->arch))
			continue;
		if (w->variant && (!var || strcmp(var, w->variant)))
			continue;
		if (!best || (!var && jstr(json_object_get(best, "platform"), "variant")))
			best = m;
	}
	return best;
}

static void index_platforms(json_t *manifests, struct sbuf *out)
{
	json_t *m;
	size_t i;

	json_array_foreach(manifests, i, m) {
		json_t *p = json_object_get(m, "platform");
		const char *var = jstr(p, "variant");

		if (!jstr(p, "os") || !jstr(p, "architecture"))
			continue;
		sbuf_addf(out, "%s%s/%s%s%s", out->len ? ", " : "", jstr(p, "os"),
			  jstr(p, "architecture"), var ? "/" : "", var ? var : "");
	}
}

/* From the index `idx` (index.json when top, else a blob), the manifest
 * descriptor: by the ref.name annotation `tag` (top only), else the only
 * entry, else by platform. */
static int index_choose(struct pkgimg_ctx *ctx, struct src *s, json_t *idx, bool top,
			const char *tag, const struct want *w, json_t **out)
{
	json_t *ms = json_object_get(idx, "manifests"), *m, *hit = NULL;
	struct sbuf names = SBUF_INIT;
	char plat[128];
	size_t i;
	int r = 0;

	*out = NULL;
	if (!json_is_array(ms) || !json_array_size(ms))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s lists no manifests",
				  s->ref, top ? "index.json" : "the image index");
	if (top && tag) {
		json_array_foreach(ms, i, m) {
			const char *n = jstr(json_object_get(m, "annotations"),
					     OCI_REF_NAME_ANNOTATION);

			if (n)
				sbuf_addf(&names, "%s%s", names.len ? ", " : "", n);
			if (n && !strcmp(n, tag) && !hit)
				hit = m;
		}
		if (!hit)
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pull] no image named '%s' in "
				       "the layout (it has: %s)", s->ref, tag,
				       names.len ? names.buf : "no named images");
		goto out;
	}
	if (json_array_size(ms) == 1) {
		hit = json_array_get(ms, 0);
		goto out;
	}
	hit = index_pick(ms, w);
	if (!hit) {
		want_str(w, plat, sizeof plat);
		index_platforms(ms, &names);
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pull] the image has no manifest for "
			       "%s (it has: %s)%s", s->ref, plat, names.len ? names.buf : "none "
			       "with a platform", names.len ? "; choose one with --platform" :
			       top ? "; name one as oci:DIR:TAG" : "");
	}
out:
	sbuf_free(&names);
	*out = hit;
	return r;
}

/* The manifest of an OCI layout: its bytes and digest. */
static int oci_manifest(struct pkgimg_ctx *ctx, struct src *s, const char *tag,
			const struct want *w, struct sbuf *man, char digest[STORE_KEY_MAX])
{
	struct sbuf text = SBUF_INIT;
	json_t *idx = NULL, *pick;
	struct desc d = { 0 };
	bool top = true;
	int r;

	r = src_read_small(ctx, s, "oci-layout", "the layout marker", NULL, -1, &text);
	if (r == -PKGIMG_E_NOTFOUND)
		r = pkgimg_err(ctx, r, "%s: [pull] '%s' is not an OCI image layout (no "
			       "oci-layout file)", s->ref, s->dir);
	if (r == 0)
		r = src_read_small(ctx, s, "index.json", "the index", NULL, -1, &text);
	if (r == 0)
		r = parse_json(ctx, s, "index.json", &text, &idx);
	for (int depth = 0; r == 0; depth++) {
		json_t *j = NULL;
		const char *mt;

		r = index_choose(ctx, s, idx, top, tag, w, &pick);
		desc_free(&d);
		if (r == 0)
			r = desc_parse(ctx, s, pick, "the manifest's descriptor", &d);
		if (r < 0)
			break;
		top = false;
		r = src_read_small(ctx, s, d.path, "the manifest", d.digest, d.size, man);
		if (r == 0)
			r = parse_json(ctx, s, d.digest, man, &j);
		if (r < 0)
			break;
		mt = *d.media ? d.media : jstr(j, "mediaType") ? jstr(j, "mediaType") : "";
		if (!*mt)	/* an OCI manifest or index may omit it: by its fields */
			mt = json_object_get(j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
		if (is_manifest_type(mt)) {
			snprintf(digest, STORE_KEY_MAX, "%s", d.digest);
			json_decref(j);
			break;
		}
		if (!is_index_type(mt) || depth + 1 >= PULL_INDEX_DEPTH) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] %s is %s '%s', not an image "
				       "manifest or index", s->ref, d.digest,
				       is_index_type(mt) ? "nested too deeply, an index" : "of type",
				       mt);
			json_decref(j);
			break;
		}
		json_decref(idx);
		idx = j;
	}
	desc_free(&d);
	json_decref(idx);
	sbuf_free(&text);
	return r;
}

/* ---- docker archives ---- */

static int archive_unpack(struct pkgimg_ctx *ctx, struct store *st, struct src *s,
			  const char *file)
{
	static const struct extract_opts xo = {
		.flags = 0, .phase = "pull", .noun = "docker archive",
		.fix = "; the file is corrupt or not a docker archive",
	};
	struct extract *x = xcalloc(1, sizeof *x);
	struct archive *a = archive_read_new();
	struct stat sb;
	int r;

	r = store_mktemp_dir(ctx, st, "pull", &s->tmp);
	if (r < 0)
		goto out;
	s->dir = xstrdup(s->tmp);
	s->dirfd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [pull] %s: %m", s->ref, s->dir);
		goto out;
	}
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (stat(file, &sb) < 0 || archive_read_open_filename(a, file, 65536) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -PKGIMG_E_ARCHIVE,
			       "%s: [pull] cannot read '%s': %s", s->ref, file,
			       archive_error_string(a) ? archive_error_string(a) : strerror(errno));
		goto out;
	}
	extract_init(x, ctx, s->ref, s->dirfd, &xo);
	x->limit = arc_unpack_limit(ctx, 0, (uint64_t)sb.st_size);
	r = extract_all(x, a, "the archive");
	if (r == 0)
		r = extract_finish(x);
	extract_free(x);
out:
	archive_read_free(a);
	free(x);
	return r;
}

/* Whether the archive's RepoTags entry t is name, as skopeo and docker
 * name images: "docker.io/" and "docker.io/library/" may be left out. */
static bool repo_tag_is(const char *t, const char *name)
{
	if (!strcmp(t, name))
		return true;
	if (!strncmp(t, "docker.io/", 10) && !strcmp(t + 10, name))
		return true;
	return !strncmp(t, "docker.io/library/", 18) && !strcmp(t + 18, name);
}

/* A docker archive's layers (the tars named by ls, their diff_ids diffs)
 * into p->layers, and the schema 2 manifest skopeo makes for the image
 * into p->man, its digest the image id. */
static int archive_manifest(struct pull *p, json_t *ls, json_t *diffs)
{
	struct pkgimg_ctx *ctx = p->ctx;
	struct src *s = &p->s;
	struct sbuf *man = &p->man;
	char hex[65];
	json_t *v;
	size_t i;
	int r = 0;

	p->layers = xcalloc(json_array_size(ls) + 1, sizeof *p->layers);
	sbuf_reset(man);
	sbuf_addf(man, "{\"schemaVersion\":2,\"mediaType\":\"" MT_DOCKER_MANIFEST "\","
		  "\"config\":{\"mediaType\":\"" MT_DOCKER_CONFIG "\",\"size\":%zu,"
		  "\"digest\":\"%s\"},\"layers\":[", p->config.len, p->cfg.digest);
	json_array_foreach(ls, i, v) {
		struct desc *d = &p->layers[i];
		const char *dg = json_string_value(json_array_get(diffs, i));
		struct stat sb;
		int fd;

		p->n++;
		if (!json_string_value(v) || !is_digest(dg))
			return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] layer %zu: no path in "
					  "manifest.json or no sha256 diff_id in the config", s->ref,
					  i + 1);
		d->path = xstrdup(json_string_value(v));
		d->media = xstrdup(MT_DOCKER_LAYER);
		snprintf(d->digest, sizeof d->digest, "%s", dg);
		d->size = -1;	/* the tar is checked against the diff_id */
		r = src_open(ctx, s, d->path, &fd);
		if (r < 0)
			return r;
		fstat(fd, &sb);
		close(fd);
		sbuf_addf(man, "%s{\"mediaType\":\"" MT_DOCKER_LAYER "\",\"size\":%lld,"
			  "\"digest\":\"%s\"}", i ? "," : "", (long long)sb.st_size, dg);
	}
	sbuf_adds(man, "]}");
	hash_sha256_hex(man->buf, man->len, hex);
	snprintf(p->res->id, sizeof p->res->id, "sha256:%s", hex);
	return 0;
}

/* The image of a docker archive: its config and layers, and the schema 2
 * manifest skopeo makes for it (layer sizes: their tars'). */
static int archive_image(struct pull *p)
{
	struct pkgimg_ctx *ctx = p->ctx;
	struct src *s = &p->s;
	const char *name = p->name;
	struct sbuf *config = &p->config;
	struct desc *cfg = &p->cfg;
	struct sbuf text = SBUF_INIT, tags = SBUF_INIT;
	json_t *top = NULL, *item = NULL, *ls, *v, *cj = NULL, *diffs;
	json_error_t err;
	char hex[65];
	size_t i, j;
	int r;

	r = src_read_small(ctx, s, "manifest.json", "manifest.json", NULL, -1, &text);
	if (r < 0)
		goto out;
	top = json_loadb(text.buf, text.len, 0, &err);
	if (!json_is_array(top) || !json_array_size(top)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] manifest.json is not a list of "
			       "images", s->ref);
		goto out;
	}
	json_array_foreach(top, i, v) {
		json_array_foreach(json_object_get(v, "RepoTags"), j, ls) {
			const char *t = json_string_value(ls);

			if (!t)
				continue;
			sbuf_addf(&tags, "%s%s", tags.len ? ", " : "", t);
			if (name && !item && repo_tag_is(t, name))
				item = v;
		}
	}
	if (!name && json_array_size(top) == 1)
		item = json_array_get(top, 0);
	if (!item) {
		if (name)
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pull] no image tagged '%s' in "
				       "the archive (it has: %s)", s->ref, name,
				       tags.len ? tags.buf : "no tags");
		else
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pull] the archive holds %zu "
				       "images; name one as docker-archive:FILE:NAME:TAG (it has: %s)",
				       s->ref, json_array_size(top), tags.len ? tags.buf : "no tags");
		goto out;
	}
	if (!jstr(item, "Config") || !json_is_array(json_object_get(item, "Layers"))) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] manifest.json: an image without "
			       "Config or Layers", s->ref);
		goto out;
	}
	cfg->path = xstrdup(jstr(item, "Config"));
	r = src_read_small(ctx, s, cfg->path, "the config", NULL, -1, config);
	if (r < 0)
		goto out;
	hash_sha256_hex(config->buf, config->len, hex);
	snprintf(cfg->digest, sizeof cfg->digest, "sha256:%s", hex);
	cfg->size = (int64_t)config->len;
	cfg->media = xstrdup(MT_DOCKER_CONFIG);
	r = parse_json(ctx, s, "the config", config, &cj);
	if (r < 0)
		goto out;
	diffs = json_object_get(json_object_get(cj, "rootfs"), "diff_ids");
	ls = json_object_get(item, "Layers");
	if (json_array_size(diffs) != json_array_size(ls)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the config lists %zu diff_ids for "
			       "%zu layers", s->ref, json_array_size(diffs), json_array_size(ls));
		goto out;
	}
	r = archive_manifest(p, ls, diffs);
out:
	json_decref(cj);
	json_decref(top);
	sbuf_free(&text);
	sbuf_free(&tags);
	return r;
}

/* ---- one layer ---- */

/* The blob file, read in order and hashed. */
struct blob_in {
	int fd;
	struct hasher h;
	uint64_t size;
	char buf[ARC_BUF];
};

static la_ssize_t blob_in_read(struct archive *a, void *arg, const void **buf)
{
	struct blob_in *b = arg;
	ssize_t n;

	do
		n = read(b->fd, b->buf, sizeof b->buf);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "%s", strerror(errno));
		return -1;
	}
	hasher_update(&b->h, b->buf, (size_t)n);
	b->size += (uint64_t)n;
	*buf = b->buf;
	return n;
}

/* The uncompressed tar, read from the blob through libarchive's filters
 * (the raw format) and hashed: the diff_id. */
struct tar_in {
	struct archive *outer;
	struct hasher h;
	uint64_t size;
	char buf[ARC_BUF];
};

static la_ssize_t tar_in_read(struct archive *a, void *arg, const void **buf)
{
	struct tar_in *t = arg;
	la_ssize_t n = archive_read_data(t->outer, t->buf, sizeof t->buf);

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(t->outer));
		return -1;
	}
	hasher_update(&t->h, t->buf, (size_t)n);
	t->size += (uint64_t)n;
	*buf = t->buf;
	return n;
}

struct layer_job {
	struct pkgimg_ctx *ctx;
	const char *thing;	/* "REF: layer N (sha256:…)" */
	int rootfd;
	struct sbuf norm;
};

/* An OCI whiteout entry (norm: its normalised path, base its last part). */
static int whiteout(struct layer_job *L, struct archive_entry *e, const char *base)
{
	const char *name, *target = base + strlen(WH_PREFIX);
	struct timespec ts[2];
	int dfd = -1, r;
	struct stat sb;

	if (!strncmp(base, WH_META, strlen(WH_META)) && strcmp(base, WH_OPAQUE))
		return 0;	/* AUFS' own (.wh..wh.plnk, ...): nothing in the image */
	if (strcmp(base, WH_OPAQUE) && (!*target || !strcmp(target, ".") || !strcmp(target, "..")))
		return pkgimg_err(L->ctx, -PKGIMG_E_UNSAFE, "%s: [pull] refusing the whiteout '%s': "
				  "it names no file", L->thing, L->norm.buf);
	r = fs_open_parent(L->ctx, L->thing, "pull", L->rootfd, L->norm.buf, true, NULL, &dfd,
			   &name);
	if (r < 0)
		return r;
	if (!strcmp(base, WH_OPAQUE)) {
		if (fsetxattr(dfd, OPAQUE_XATTR, "y", 1, 0) < 0)
			r = pkgimg_err(L->ctx, -errno, "%s: [pull] cannot mark '%s' opaque (the "
				       "%s xattr): %m", L->thing, L->norm.buf, OPAQUE_XATTR);
		goto out;
	}
	if (fstatat(dfd, target, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		goto out;	/* the layer's own entry: a whiteout hides the layers below only */
	if (mknodat(dfd, target, S_IFCHR | 0, makedev(0, 0)) < 0) {
		r = pkgimg_err(L->ctx, -errno, "%s: [pull] cannot make the whiteout of '%s' (a 0:0 "
			       "character device, which needs root or CAP_MKNOD): %m", L->thing,
			       L->norm.buf);
		goto out;
	}
	ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	utimensat(dfd, target, ts, AT_SYMLINK_NOFOLLOW);
out:
	close(dfd);
	return r;
}

static int layer_entry(struct layer_job *L, struct extract *x, struct archive *a,
		       struct archive_entry *e)
{
	const char *raw = archive_entry_pathname_utf8(e), *why, *base;

	if (!raw)
		raw = archive_entry_pathname(e);
	if (raw && *raw && fs_path_norm(raw, false, &L->norm, &why) && L->norm.len) {
		base = path_base(L->norm.buf);
		if (!strncmp(base, WH_PREFIX, strlen(WH_PREFIX)))
			return whiteout(L, e, base);
	}
	return extract_entry(x, a, e);	/* refuses a bad name itself */
}

/* The rest of the blob hashed (what the reader did not need); its digest
 * and size against d's: 0, or the error. */
static int blob_check(struct pkgimg_ctx *ctx, const char *thing, struct blob_in *b,
		      const struct desc *d)
{
	char hex[HASH_HEX_MAX];

	for (;;) {
		ssize_t n = read(b->fd, b->buf, sizeof b->buf);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return pkgimg_err(ctx, -errno, "%s: [verify] cannot read '%s': %m", thing,
					  d->path);
		if (n == 0)
			break;
		hasher_update(&b->h, b->buf, (size_t)n);
		b->size += (uint64_t)n;
	}
	hasher_final_hex(&b->h, hex);
	if (d->size >= 0 && b->size != (uint64_t)d->size)
		return pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] the blob has %llu bytes, "
				  "its descriptor says %lld: the image is corrupt; nothing of the "
				  "layer was kept", thing, (unsigned long long)b->size,
				  (long long)d->size);
	if (strcmp(hex, d->digest + 7))
		return pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] the blob does not match "
				  "its digest (got sha256:%s): the image is corrupt; nothing of the "
				  "layer was kept", thing, hex);
	return 0;
}

static const struct extract_opts layer_xopts = {
	.flags = EXTRACT_OWNERS | EXTRACT_PERMS | EXTRACT_DIR_ATTRS | EXTRACT_REPLACE |
		 EXTRACT_UTF8_NAMES | EXTRACT_XATTRS,
	.phase = "pull", .noun = "image layer", .fix = "; the image is corrupt",
};

/* A layer blob being read: the file (hashed), its decompressed tar (hashed:
 * the diff_id), the tar reader. */
struct layer_read {
	struct pkgimg_ctx *ctx;
	const char *thing;
	const struct desc *d;
	struct blob_in b;
	struct tar_in t;
	struct archive *inner;
	int64_t size;		/* of the blob file */
};

/* Opens d's blob and the readers over it. */
static int layer_open(struct layer_read *lr, struct src *s)
{
	const char *thing = lr->thing, *fix = layer_xopts.fix;
	struct archive_entry *e;
	struct stat sb;
	int r;

	r = src_open(lr->ctx, s, lr->d->path, &lr->b.fd);
	if (r < 0)
		return r;
	fstat(lr->b.fd, &sb);
	lr->size = sb.st_size;
	if (lr->d->size >= 0 && sb.st_size != lr->d->size)
		return pkgimg_err(lr->ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] the blob has %lld "
				  "bytes, its descriptor says %lld: the image is corrupt", thing,
				  (long long)sb.st_size, (long long)lr->d->size);
	if (hasher_init(&lr->b.h, "sha256") < 0 || hasher_init(&lr->t.h, "sha256") < 0)
		return pkgimg_err(lr->ctx, -ENOSYS, "%s: [pull] sha256 is not available", thing);
	lr->t.outer = archive_read_new();
	archive_read_support_filter_all(lr->t.outer);
	archive_read_support_format_raw(lr->t.outer);
	if (archive_read_open(lr->t.outer, &lr->b, NULL, blob_in_read, NULL) != ARCHIVE_OK ||
	    archive_read_next_header(lr->t.outer, &e) != ARCHIVE_OK)
		return pkgimg_err(lr->ctx, -PKGIMG_E_ARCHIVE, "%s: [pull] cannot read the blob: %s%s",
				  thing, archive_error_string(lr->t.outer) ?
				  archive_error_string(lr->t.outer) : "empty", fix);
	lr->inner = archive_read_new();
	archive_read_support_format_tar(lr->inner);
	if (archive_read_open(lr->inner, &lr->t, NULL, tar_in_read, NULL) != ARCHIVE_OK)
		return pkgimg_err(lr->ctx, -PKGIMG_E_ARCHIVE, "%s: [pull] cannot read the layer "
				  "tar: %s%s", thing, archive_error_string(lr->inner), fix);
	return 0;
}

/* After the tar's last entry: the rest of the stream read, the blob checked
 * against its descriptor (unless blob_verified) and the tar against diff_id. */
static int layer_verify(struct layer_read *lr, const char *diff_id, bool blob_verified)
{
	char hex[HASH_HEX_MAX];
	int r;

	for (;;) {	/* the tar's end padding, for the diff_id */
		const void *buf;
		la_ssize_t n = tar_in_read(lr->inner, &lr->t, &buf);

		if (n < 0)
			return pkgimg_err(lr->ctx, -PKGIMG_E_ARCHIVE, "%s: [pull] cannot read the "
					  "blob: %s%s", lr->thing, archive_error_string(lr->t.outer),
					  layer_xopts.fix);
		if (n == 0)
			break;
	}
	r = blob_verified ? 0 : blob_check(lr->ctx, lr->thing, &lr->b, lr->d);
	if (r < 0)
		return r;
	hasher_final_hex(&lr->t.h, hex);
	if (strcmp(hex, diff_id + 7))
		return pkgimg_err(lr->ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] the layer's tar does "
				  "not match the config's diff_id %s (got sha256:%s): the image is "
				  "corrupt; nothing of the layer was kept", lr->thing, diff_id, hex);
	return 0;
}

static void layer_close(struct layer_read *lr)
{
	if (lr->inner)
		archive_read_free(lr->inner);
	if (lr->t.outer)
		archive_read_free(lr->t.outer);
	if (lr->b.h.md)
		hasher_free(&lr->b.h);
	if (lr->t.h.md)
		hasher_free(&lr->t.h);
	if (lr->b.fd >= 0)
		close(lr->b.fd);
}

/* Unpacks layer i of p into rootfd, checked as it is read. */
static int layer_unpack(struct pull *p, int i, const char *thing, int rootfd)
{
	struct layer_job L = { .ctx = p->ctx, .thing = thing, .rootfd = rootfd, .norm = SBUF_INIT };
	struct layer_read *lr = xcalloc(1, sizeof *lr);
	struct extract *x = xcalloc(1, sizeof *x);
	bool blob_verified = p->archive;	/* a docker archive's: by its diff_id only */
	struct archive_entry *e;
	locale_t loc, old;
	int r, ar = ARCHIVE_OK;

	*lr = (struct layer_read){ .ctx = p->ctx, .thing = thing, .d = &p->layers[i] };
	lr->b.fd = -1;
	loc = arc_utf8_locale_push(&old);
	extract_init(x, p->ctx, thing, rootfd, &layer_xopts);
	r = layer_open(lr, &p->s);
	if (r == 0)
		x->limit = arc_unpack_limit(p->ctx, 0, (uint64_t)lr->size);
	while (r == 0 && ((ar = archive_read_next_header(lr->inner, &e)) == ARCHIVE_OK ||
			  ar == ARCHIVE_WARN))
		r = layer_entry(&L, x, lr->inner, e);
	if (r == 0 && ar != ARCHIVE_EOF)
		r = pkgimg_err(p->ctx, -PKGIMG_E_ARCHIVE, "%s: [pull] cannot read the layer tar: "
			       "%s%s", thing, archive_error_string(lr->inner), layer_xopts.fix);
	if (r == 0) {
		r = extract_finish(x);
		if (r == 0)
			r = layer_verify(lr, p->diff_ids[i], blob_verified);
	} else if (!blob_verified && lr->b.fd >= 0 && lr->b.h.md) {
		/* a blob that cannot be unpacked: is it the image's blob at all? */
		int c = blob_check(p->ctx, thing, &lr->b, lr->d);

		if (c < 0)
			r = c;
	}
	layer_close(lr);
	extract_free(x);
	arc_utf8_locale_pop(loc, old);
	sbuf_free(&L.norm);
	free(lr);
	free(x);
	return r;
}

/* ---- registries (the distribution API, anonymous) ---- */

#define REGISTRY_ACCEPT MT_OCI_INDEX ", " MT_OCI_MANIFEST ", " MT_DOCKER_LIST ", " \
	MT_DOCKER_MANIFEST

static bool name_chars(const char *s, const char *extra)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr(extra, *s)))
			return false;
	return true;
}

/* docker://HOST[:PORT]/REPO[:TAG|@DIGEST] or HOST[:PORT]/REPO[:TAG|@DIGEST]:
 * s->base and *reference (the tag or digest). */
static int registry_parse(struct pkgimg_ctx *ctx, const char *ref, const char *insecure,
			  struct src *s, char **reference)
{
	const char *rest = strncmp(ref, "docker://", 9) ? ref : ref + 9;
	const char *slash = strchr(rest, '/'), *at, *colon;
	char *host = NULL, *repo = NULL;
	int r = 0;

	*reference = NULL;
	if (!slash || slash == rest) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: give the registry's host: "
			       "docker://HOST[:PORT]/REPO[:TAG|@DIGEST]", ref);
		goto out;
	}
	host = xstrndup(rest, (size_t)(slash - rest));
	if (!strchr(host, '.') && !strchr(host, ':') && strcmp(host, "localhost")) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: '%s' is not a registry host (a "
			       "Docker Hub name?); give the registry's host, as in "
			       "docker://HOST[:PORT]/REPO:TAG", ref, host);
		goto out;
	}
	at = strchr(slash + 1, '@');
	colon = strrchr(slash + 1, ':');
	if (at) {
		repo = xstrndup(slash + 1, (size_t)(at - slash - 1));
		*reference = xstrdup(at + 1);
		if (!is_digest(*reference))
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: '%s' is not a sha256 digest",
				       ref, *reference);
	} else {
		repo = colon ? xstrndup(slash + 1, (size_t)(colon - slash - 1)) : xstrdup(slash + 1);
		*reference = xstrdup(colon ? colon + 1 : "latest");
		if (strlen(*reference) > 128 || !*reference[0] ||
		    !name_chars(*reference, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_.-"))
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: '%s' is not a valid tag", ref,
				       *reference);
	}
	if (r == 0 && !name_chars(repo, "._-/"))
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: '%s' is not a repository name "
			       "(lowercase letters, digits, . _ - /)", ref, repo);
	if (r == 0 && !name_chars(host, ".-:[]") && strcmp(host, "localhost"))
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "pull: %s: '%s' is not a host name", ref, host);
	if (r == 0)
		s->base = xasprintf("%s://%s/v2/%s", insecure && !strcmp(insecure, host) ? "http" :
				    "https", host, repo);
out:
	free(host);
	free(repo);
	return r;
}

/* GETs the manifest (or index) `reference` into man; *ctype its media type
 * as served (parameters dropped; NULL when none). */
static int registry_get(struct pkgimg_ctx *ctx, struct src *s, const char *reference,
			struct sbuf *man, char **ctype)
{
	char *url = xasprintf("%s/manifests/%s", s->base, reference);
	char *dest = store_tmp_path(s->st, "manifest"), *val = xasprintf("%s.validators", dest);
	struct fetch_item it = {
		.url = url, .size = -1, .dest = dest, .label = s->ref, .accept = REGISTRY_ACCEPT,
		.response_info = 1,
	};
	int r = fetch_all(ctx, s->st, &it, 1);

	*ctype = NULL;
	if (r == 0)
		r = fs_read_file(ctx, AT_FDCWD, dest, man);
	if (r == 0 && man->len > PULL_JSON_MAX)
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the manifest is larger than %u "
			       "MiB; refused", s->ref, PULL_JSON_MAX >> 20);
	if (r == 0 && it.content_type)
		*ctype = xstrndup(it.content_type, strcspn(it.content_type, "; \t"));
	if (r < 0 && it.http_status == 404)
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [pull] the registry has no image "
			       "'%s' in that repository (HTTP 404 for %s)", s->ref, reference, url);
	unlink(dest);
	unlink(val);
	fetch_item_release(&it);
	free(url);
	free(dest);
	free(val);
	return r;
}

/* Brings blobs d[0..n) into the store's blobs/sha256/ (verified by fetch:
 * size and sha256 while streaming); manifests: by their manifests/ URL. */
static int registry_blobs(struct pkgimg_ctx *ctx, struct src *s, const struct desc *d, int n,
			  bool manifests)
{
	struct fetch_item *it = xcalloc((size_t)n + 1, sizeof *it);
	int r;

	for (int i = 0; i < n; i++) {
		it[i].url = xasprintf("%s/%s/%s", s->base, manifests ? "manifests" : "blobs",
				      d[i].digest);
		it[i].sha256 = d[i].digest + 7;
		it[i].size = d[i].size;
		it[i].label = d[i].digest;
		it[i].accept = manifests && *d[i].media ? d[i].media : NULL;
	}
	r = fetch_all(ctx, s->st, it, n);
	for (int i = 0; i < n; i++) {
		free((char *)it[i].url);
		fetch_item_release(&it[i]);
	}
	free(it);
	return r;
}

/* The manifest of a registry image: its bytes and digest (an index walked
 * down to the platform's manifest, each fetched by digest). */
static int registry_manifest(struct pkgimg_ctx *ctx, struct src *s, const char *reference,
			     const struct want *w, struct sbuf *man, char digest[STORE_KEY_MAX])
{
	struct desc d = { 0 };
	char *ctype = NULL, hex[65];
	json_t *j = NULL;
	int r = registry_get(ctx, s, reference, man, &ctype);

	for (int depth = 0; r == 0; depth++) {
		const char *mt;
		json_t *pick;

		hash_sha256_hex(man->buf, man->len, hex);
		if (depth == 0 && is_digest(reference) && strcmp(hex, reference + 7)) {
			r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [verify] the registry's manifest "
				       "has the digest sha256:%s, not the one asked for", s->ref, hex);
			break;
		}
		json_decref(j);
		r = parse_json(ctx, s, "the manifest", man, &j);
		if (r < 0)
			break;
		mt = depth == 0 ? (ctype ? ctype : "") : d.media;
		if (!is_manifest_type(mt) && !is_index_type(mt))
			mt = jstr(j, "mediaType") ? jstr(j, "mediaType") : "";
		if (!*mt)
			mt = json_object_get(j, "manifests") ? MT_OCI_INDEX : MT_OCI_MANIFEST;
		if (is_manifest_type(mt)) {
			snprintf(digest, STORE_KEY_MAX, "sha256:%s", hex);
			break;
		}
		if (!is_index_type(mt) || depth + 1 >= PULL_INDEX_DEPTH) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the registry served '%s', "
				       "not an image manifest or index", s->ref, mt);
			break;
		}
		r = index_choose(ctx, s, j, false, NULL, w, &pick);
		desc_free(&d);
		if (r == 0)
			r = desc_parse(ctx, s, pick, "the manifest's descriptor", &d);
		if (r == 0)
			r = registry_blobs(ctx, s, &d, 1, true);
		if (r == 0)
			r = src_read_small(ctx, s, d.path, "the manifest", d.digest, d.size, man);
	}
	json_decref(j);
	desc_free(&d);
	free(ctype);
	return r;
}

/* ---- the image ---- */

static int layer_media_ok(const char *mt)
{
	static const char *const ok[] = {
		"application/vnd.oci.image.layer.v1.tar",
		"application/vnd.oci.image.layer.v1.tar+gzip",
		"application/vnd.oci.image.layer.v1.tar+zstd",
		"application/vnd.oci.image.layer.nondistributable.v1.tar",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
		"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
		"application/vnd.docker.image.rootfs.diff.tar.gzip",
		"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
	};

	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (!strcmp(mt, ok[i]))
			return 1;
	return 0;
}

/* The manifest's config and layer descriptors. */
static int manifest_parse(struct pull *p)
{
	struct pkgimg_ctx *ctx = p->ctx;
	struct src *s = &p->s;
	const struct sbuf *man = &p->man;
	struct desc *cfg = &p->cfg, **layers = &p->layers;
	int *n = &p->n;
	json_t *j = NULL, *ls, *v;
	size_t i;
	int r;

	*layers = NULL;
	*n = 0;
	r = parse_json(ctx, s, "the manifest", man, &j);
	if (r < 0)
		return r;
	ls = json_object_get(j, "layers");
	if (json_integer_value(json_object_get(j, "schemaVersion")) != 2 || !json_is_array(ls)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the manifest is not an image "
			       "manifest (schemaVersion 2 with layers)", s->ref);
		goto out;
	}
	r = desc_parse(ctx, s, json_object_get(j, "config"), "the manifest's config", cfg);
	if (r == 0 && strcmp(cfg->media, OCI_MEDIA_CONFIG) && strcmp(cfg->media, MT_DOCKER_CONFIG))
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the config is of type '%s': not "
			       "a container image (an OCI artifact?)", s->ref, cfg->media);
	if (r < 0)
		goto out;
	*layers = xcalloc(json_array_size(ls) + 1, sizeof **layers);
	json_array_foreach(ls, i, v) {
		char what[64];

		snprintf(what, sizeof what, "layer %zu's descriptor", i + 1);
		r = desc_parse(ctx, s, v, what, &(*layers)[i]);
		(*n)++;
		if (r == 0 && !layer_media_ok((*layers)[i].media))
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] layer %zu is of type '%s', "
				       "which pkgimg cannot unpack (it reads tar layers: plain, gzip "
				       "or zstd)", s->ref, i + 1, (*layers)[i].media);
		if (r < 0)
			goto out;
	}
out:
	json_decref(j);
	return r;
}

static char **json_strv(json_t *a)
{
	struct strv v = { 0 };
	json_t *e;
	size_t i;

	if (!json_is_array(a))
		return NULL;
	json_array_foreach(a, i, e)
		if (json_is_string(e))
			strv_add(&v, json_string_value(e));
	return v.v ? v.v : xcalloc(1, sizeof(char *));
}

/* The config blob's platform (checked against w) and its settings in meta. */
static int config_parse(struct pull *p)
{
	struct pkgimg_ctx *ctx = p->ctx;
	struct src *s = &p->s;
	const struct sbuf *text = &p->config;
	const struct want *w = &p->w;
	int nlayers = p->n;
	struct layer_meta *meta = &p->top;
	char ***diff_ids = &p->diff_ids, **platform = &p->res->platform;
	const char *os, *arch, *var;
	json_t *j = NULL, *c, *d;
	char want[128];
	struct strv ids = { 0 };
	size_t i;
	int r;

	*diff_ids = NULL;
	r = parse_json(ctx, s, "the config", text, &j);
	if (r < 0)
		return r;
	os = jstr(j, "os");
	arch = jstr(j, "architecture");
	var = jstr(j, "variant");
	*platform = xasprintf("%s/%s%s%s", os ? os : "?", arch ? arch : "?", var ? "/" : "",
			      var ? var : "");
	want_str(w, want, sizeof want);
	if (!os || !arch || strcmp(os, w->os) || strcmp(arch, w->arch) ||
	    (w->variant && var && strcmp(var, w->variant))) {
		if (w->given || !os || !arch)
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pull] the image is for %s, not "
				       "%s", s->ref, *platform, want);
		else
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pull] the image is for %s, not "
				       "%s (this machine); give --platform %s to pull it anyway",
				       s->ref, *platform, want, *platform);
		goto out;
	}
	d = json_object_get(json_object_get(j, "rootfs"), "diff_ids");
	if (!json_is_array(d) || (int)json_array_size(d) != nlayers) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the config lists %zu diff_ids "
			       "for the manifest's %d layers: the image is corrupt", s->ref,
			       json_array_size(d), nlayers);
		goto out;
	}
	json_array_foreach(d, i, c) {
		if (!is_digest(json_string_value(c))) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [pull] the config's diff_id %zu is "
				       "not a sha256 digest", s->ref, i + 1);
			goto out;
		}
		strv_add(&ids, json_string_value(c));
	}
	c = json_object_get(j, "config");
	meta->env = json_strv(json_object_get(c, "Env"));
	meta->entrypoint = json_strv(json_object_get(c, "Entrypoint"));
	meta->cmd = json_strv(json_object_get(c, "Cmd"));
	if (jstr(c, "WorkingDir") && *jstr(c, "WorkingDir"))
		meta->workdir = xstrdup(jstr(c, "WorkingDir"));
	if (jstr(c, "User") && *jstr(c, "User"))
		meta->user = xstrdup(jstr(c, "User"));
	*diff_ids = ids.v ? ids.v : xcalloc(1, sizeof(char *));
	memset(&ids, 0, sizeof ids);
out:
	strv_free(&ids);
	json_decref(j);
	return r;
}

/* Unpacks layer i on parent into its own transaction p->txns[i], left
 * open: the layers are committed together once every one is verified, so
 * a bad blob leaves the store as it was.  When the key is in the store
 * already the txn's tmp stays NULL.  *key: the layer's key. */
static int pull_layer(struct pull *p, int i, const char *parent, char key[STORE_KEY_MAX])
{
	struct layer_txn *txn = &p->txns[i];
	char *thing;
	int r;

	lockfile_layer_key(parent, "pull", p->diff_ids[i], key);
	thing = xasprintf("%s: layer %d/%d (%s)", p->ref, i + 1, p->n, p->layers[i].digest);
	r = layer_txn_begin(p->ctx, p->st, key, "pull", false, txn);
	if (r == 0)
		r = layer_unpack(p, i, thing, txn->rootfd);
	free(thing);
	return r > 0 ? 0 : r;
}

static void split_ref(const char *rest, char **path, char **name)
{
	const char *c = strchr(rest, ':');

	*path = c ? xstrndup(rest, (size_t)(c - rest)) : xstrdup(rest);
	*name = c && c[1] ? xstrdup(c + 1) : NULL;
}

/* The transport of p->ref: p->path, p->name, p->archive, p->registry. */
static int pull_parse_ref(struct pull *p, const struct pull_opts *o)
{
	const char *ref = p->ref;
	int r;

	if (!strncmp(ref, "oci:", 4)) {
		split_ref(ref + 4, &p->path, &p->name);
	} else if (!strncmp(ref, "docker-archive:", 15)) {
		split_ref(ref + 15, &p->path, &p->name);
		p->archive = true;
	} else if (!strncmp(ref, "docker://", 9) || (strchr(ref, '/') && !strchr(ref, ' '))) {
		r = registry_parse(p->ctx, ref, o->insecure_registry, &p->s, &p->name);
		if (r < 0)
			return r;
		p->path = xstrdup(p->st->root);
		p->registry = true;
	} else {
		return pkgimg_err(p->ctx, -PKGIMG_E_USAGE, "pull: '%s' names no image to pull: "
				  "give oci:DIR[:TAG] (an OCI image layout), docker-archive:FILE "
				  "(docker save's tarball) or docker://HOST/REPO:TAG (a registry)", ref);
	}
	if (!*p->path)
		return pkgimg_err(p->ctx, -PKGIMG_E_USAGE, "pull: %s: no path given", ref);
	return 0;
}

/* The manifest (p->man, p->res->id) and its config and layer descriptors. */
static int pull_manifest(struct pull *p)
{
	int r;

	if (p->archive) {
		r = archive_unpack(p->ctx, p->st, &p->s, p->path);
		return r < 0 ? r : archive_image(p);
	}
	p->s.dir = path_abs(p->path);
	p->s.dirfd = open(p->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->s.dirfd < 0)
		return pkgimg_err(p->ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -errno,
				  "%s: [pull] cannot open the layout '%s': %m", p->ref, p->path);
	r = p->registry ? registry_manifest(p->ctx, &p->s, p->name, &p->w, &p->man, p->res->id) :
			  oci_manifest(p->ctx, &p->s, p->name, &p->w, &p->man, p->res->id);
	return r < 0 ? r : manifest_parse(p);
}

/* The config read and every layer unpacked and verified, each in its
 * transaction (and the config layer's begun), nothing committed. */
static int pull_unpack(struct pull *p)
{
	char parent[STORE_KEY_MAX] = "";
	int r = store_check_layers(p->ctx, p->n + 1, p->ref);

	if (r == 0 && p->registry) {	/* the config and the layers, in parallel, into the CAS */
		struct desc *all = xcalloc((size_t)p->n + 1, sizeof *all);

		all[0] = p->cfg;
		if (p->n)
			memcpy(all + 1, p->layers, (size_t)p->n * sizeof *all);
		r = registry_blobs(p->ctx, &p->s, all, p->n + 1, false);
		free(all);	/* the descriptors stay p's */
	}
	if (r == 0 && !p->archive)
		r = src_read_small(p->ctx, &p->s, p->cfg.path, "the config", p->cfg.digest,
				   p->cfg.size, &p->config);
	if (r == 0)
		r = config_parse(p);
	p->txns = xcalloc((size_t)p->n + 1, sizeof *p->txns);
	for (int i = 0; i <= p->n; i++)
		p->txns[i] = (struct layer_txn)LAYER_TXN_INIT;
	for (int i = 0; r == 0 && i < p->n; i++) {
		char key[STORE_KEY_MAX];

		r = pull_layer(p, i, parent, key);
		memcpy(parent, key, sizeof parent);
	}
	if (r == 0) {	/* the config, on an empty layer keyed by the manifest digest */
		r = layer_txn_begin(p->ctx, p->st, p->res->id, "pull", false, &p->txns[p->n]);
		r = r > 0 ? 0 : r;
	}
	return r;
}

/* Every layer verified: into the store, bottom first. */
static int pull_commit(struct pull *p)
{
	int r = 0;

	for (int i = 0; r == 0 && i <= p->n; i++) {
		struct layer_meta lm = { 0 }, *m = i < p->n ? &lm : &p->top;

		if (!p->txns[i].tmp)
			continue;	/* in the store already */
		snprintf(m->parent, sizeof m->parent, "%s", i ? p->txns[i - 1].key : "");
		free(m->step);
		m->step = i < p->n ? xasprintf("pull: layer %s", p->diff_ids[i]) :
			  xasprintf("pull: %s", p->res->id);
		r = layer_txn_commit(p->ctx, &p->txns[i], i < p->n ? LAYER_TIMES_KEEP :
				     LAYER_TIMES_ZERO, m);
		if (i < p->n)
			free(lm.step);
		if (r == 0)
			p->res->made++;
	}
	return r;
}

static void pull_free(struct pull *p)
{
	for (int i = 0; p->txns && i <= p->n; i++)
		layer_txn_abort(&p->txns[i]);
	free(p->txns);
	for (int i = 0; p->layers && i < p->n; i++)
		desc_free(&p->layers[i]);
	free(p->layers);
	desc_free(&p->cfg);
	strv_free_null(p->diff_ids);
	layer_meta_free(&p->top);
	sbuf_free(&p->man);
	sbuf_free(&p->config);
	if (p->s.dirfd >= 0)
		close(p->s.dirfd);
	if (p->s.tmp)
		fs_rm_rf(NULL, AT_FDCWD, p->s.tmp);
	free(p->s.tmp);
	free(p->s.dir);
	free(p->s.base);
	free(p->path);
	free(p->name);
	free(p->w.buf);
}

int image_pull(struct pkgimg_ctx *ctx, struct store *st, const char *ref,
	       const struct pull_opts *o, struct pull_result *res)
{
	struct pull p = {
		.ctx = ctx, .st = st, .ref = ref, .res = res,
		.s = { .ref = ref, .dirfd = -1, .st = st },
		.man = SBUF_INIT, .config = SBUF_INIT,
	};
	int r;

	memset(res, 0, sizeof *res);
	r = want_parse(ctx, o->platform, &p.w);
	if (r == 0 && o->tag)
		r = store_tag_check(ctx, o->tag);
	if (r == 0)
		r = pull_parse_ref(&p, o);
	if (r == 0)
		r = pull_manifest(&p);
	if (r < 0)
		goto out;
	res->nlayers = p.n;
	if (!store_has_layer(st, res->id)) {	/* else pulled before: nothing to read or write */
		r = pull_unpack(&p);
		if (r == 0)
			r = pull_commit(&p);
	}
	if (r == 0 && o->tag)
		r = store_tag_set(ctx, st, o->tag, res->id);
out:
	pull_free(&p);
	if (r < 0)
		pull_result_free(res);
	return r;
}

void pull_result_free(struct pull_result *res)
{
	free(res->platform);
	res->platform = NULL;
}
