/* The store: content-addressed blobs, index cache, layers, tags (DESIGN.md).
 *
 *   ROOT/blobs/sha256/<hex>        verified artifacts, immutable
 *   ROOT/index/<source-id>/        index files + validators + .solv caches; the
 *                                  folder's mtime: when the source was last used
 *   ROOT/layers/<key>/tree/        a layer's files (overlayfs upper-dir format)
 *   ROOT/layers/<key>/layer.yaml   parent, step, lock excerpt, size
 *   ROOT/tags/<name>               a file holding the key
 *   ROOT/tmp/                      work in progress, never read as a result
 *   ROOT/lock                      flock'ed shared by every process; exclusive by gc
 *   ROOT/locks/<key>               flock'ed exclusive while a layer is built
 *
 * Keys are "sha256:<64 hex>"; on disk the directory name is the 64 hex. */
#ifndef PKGIMG_STORE_H
#define PKGIMG_STORE_H

#include <stdbool.h>
#include <stdint.h>

struct pkgimg_ctx;

#define STORE_KEY_MAX 72	/* "sha256:" + 64 hex + NUL */

struct store {
	char *root;		/* absolute path */
	int rootfd;		/* O_DIRECTORY fd of root */
	int lockfd;		/* ROOT/lock, held LOCK_SH (LOCK_EX during gc) */
};

/* Metadata of one layer, kept in layer.yaml. */
struct layer_meta {
	char key[STORE_KEY_MAX];
	char parent[STORE_KEY_MAX];	/* "" for a bottom layer */
	char *step;			/* canonical step text, e.g. "apt: [python3]" */
	char *lock;			/* the lockfile section this layer installs (YAML text) */
	uint64_t size;			/* bytes in tree/ */
	/* image config carried by the layer (NULL when unset; inherited) */
	char **env;			/* NULL-terminated "K=V" */
	char *workdir;
	char *user;			/* "NAME", "UID[:GID]" (a pulled image's User) */
	char **entrypoint;		/* NULL-terminated; an empty list clears it */
	char **cmd;			/* NULL-terminated; an empty list clears it */
	/* the layer's Python files that did not compile (warnings its build
	 * printed, replayed when it is found in the store): NULL-terminated,
	 * by threes: package, path in the image, error */
	char **pyc_failed;
};

/* An image's config: the layers' settings folded from the bottom up (env
 * merged by name, the later value winning; workdir, user, entrypoint, cmd:
 * the topmost layer that sets them).  What `run` and `export` use. */
struct image_config {
	char **env;			/* NULL-terminated "K=V", in first-set order */
	char *workdir;			/* NULL: "/" */
	char *user;			/* NULL: root (the OCI config's User) */
	char **entrypoint;		/* NULL-terminated; NULL when never set */
	char **cmd;
};

/* Creates the layout if missing and takes the shared store lock. */
int store_open(struct pkgimg_ctx *ctx, const char *root, struct store *st);
void store_close(struct store *st);

/* Blobs */
char *store_blob_path(const struct store *st, const char *sha256_hex);
bool store_has_blob(const struct store *st, const char *sha256_hex);
/* After reading a blob failed (its unpack refused it, or its digest did not
 * match while it was read): hashes it again.  0 when it has its digest (or
 * is not there: the failure is the package's own), 1 when it did not and
 * was removed (a warning names it; fetching the item again brings it
 * back), -errno when it cannot be read.  Leaves ctx's message alone. */
int store_blob_check(struct pkgimg_ctx *ctx, struct store *st, const char *sha256_hex,
		     const char *label);

/* A new empty directory under ROOT/tmp/ (prefix-XXXXXX); caller frees. */
int store_mktemp_dir(struct pkgimg_ctx *ctx, struct store *st, const char *prefix, char **path);
/* A path (not created) under ROOT/tmp/ unique to this process; caller frees. */
char *store_tmp_path(struct store *st, const char *prefix);
/* ROOT/index/<source_id>/ created if missing; caller frees. */
int store_index_dir(struct pkgimg_ctx *ctx, struct store *st, const char *source_id, char **path);

/* Layers */
char *store_layer_tree(const struct store *st, const char *key);	/* ROOT/layers/<hex>/tree */
bool store_has_layer(const struct store *st, const char *key);
/* Exclusive flock on ROOT/locks/<hex>; release with store_unlock(). */
int store_lock_key(struct pkgimg_ctx *ctx, struct store *st, const char *key, int *fd);
void store_unlock(int fd);
/* Makes tmpdir (a directory holding tree/) the layer `meta->key`: writes
 * layer.yaml into it (size computed here), then renames it to
 * ROOT/layers/<hex>.  If the layer already exists (a concurrent builder won),
 * tmpdir is removed and 0 returned. */
int store_layer_commit(struct pkgimg_ctx *ctx, struct store *st, const char *tmpdir,
		       struct layer_meta *meta);
int store_layer_read(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		     struct layer_meta *out);
void layer_meta_free(struct layer_meta *m);

/* The config of the image whose top layer is `key`. */
int store_image_config(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       struct image_config *out);
void image_config_free(struct image_config *c);
/* The most layers an image may stack: overlayfs mounts at most 500 lower
 * dirs (the kernel's OVL_MAX_STACK), and running an image (run, run steps,
 * maintainer scripts) mounts each of its layers as one, plus the sandbox's
 * skeleton of mount points. */
#define STORE_OVERLAY_MAX 500
#define STORE_LAYERS_MAX (STORE_OVERLAY_MAX - 1)
/* 0 when an image of n layers can run; else -PKGIMG_E_USAGE with a message
 * naming what (the step that would add the layer), the limit and the fix. */
int store_check_layers(struct pkgimg_ctx *ctx, int n, const char *what);

/* The chain of keys from `key` down to the bottom layer, top first.
 * *keys is a NULL-terminated array of owned strings. */
int store_layer_chain(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      char ***keys, int *n);

/* Tags and image names: a tag, a full key "sha256:…", or a unique hex prefix
 * (with or without "sha256:").  Error names the argument and the fix. */
int store_tag_set(struct pkgimg_ctx *ctx, struct store *st, const char *name, const char *key);
/* Whether name is a valid tag (store_tag_set's check, for commands to
 * refuse a bad --tag before any work). */
int store_tag_check(struct pkgimg_ctx *ctx, const char *name);
int store_resolve(struct pkgimg_ctx *ctx, struct store *st, const char *name,
		  char key[STORE_KEY_MAX]);

/* Listing: images are the layers that are not the parent of another layer,
 * plus every tagged layer. */
struct store_image {
	char key[STORE_KEY_MAX];
	char **tags;		/* NULL-terminated, sorted */
	char *step;
	uint64_t size;		/* bytes of the whole chain */
	int nlayers;
	int64_t created;	/* mtime of layer.yaml */
};
int store_list_images(struct pkgimg_ctx *ctx, struct store *st, struct store_image **out, int *n);
void store_images_free(struct store_image *imgs, int n);

/* gc: takes the store lock exclusively; removes everything in ROOT/tmp, layers not reachable
 * from a tag, blobs and unpacked dirs not referenced by any kept layer's lock
 * (every sha256 that appears in a kept layer's lock text is kept), and the
 * index caches of sources not used (by a lock or an install that resolves)
 * for STORE_INDEX_MAX_AGE_S. Reports what it freed. */
#define STORE_INDEX_MAX_AGE_S	(30 * 86400)	/* 30 days */
struct store_gc_stats {
	int layers, blobs;
	uint64_t bytes;
};
int store_gc(struct pkgimg_ctx *ctx, struct store *st, struct store_gc_stats *stats);

/* Writes the merged tree of a layer chain (keys top first) into dir, applying
 * overlay whiteouts (0:0 char devices delete, trusted.overlay.opaque dirs
 * hide what is below).  dir must be empty or absent (its parent exists).
 * The tree is for the host (tree_apply's TREE_HOST: devices refused unless
 * PKGIMG_F_ALLOW_DEVICES, set-id bits dropped from group- or world-writable
 * files); dir is 0700 until the end, when it gets the top layer's mode.
 * On failure the caller removes dir (oci_rootfs_write does). */
int store_materialize(struct pkgimg_ctx *ctx, struct store *st, char **keys, int n,
		      const char *dir);

#endif
