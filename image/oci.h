/* Exporting an image of the store: an OCI image layout (image-spec 1.0.2/1.1),
 * the same layout as one tar archive, or the merged rootfs.
 *
 *   DIR/oci-layout             {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json             one manifest, annotated with
 *                              org.opencontainers.image.ref.name
 *   DIR/blobs/sha256/<hex>     the config, the manifest, one uncompressed
 *                              tar per layer whose tree holds anything
 *
 * The bytes depend only on the layer trees and layer.yaml files: layer tars
 * list a directory's entries in name order (byte order; whiteouts first, as
 * the image spec asks), directories before their contents, with mtimes from
 * the tree (whole seconds), no atime/ctime, owners 0:0 for the ids of the
 * store's owner (an unprivileged build gives its files the caller's ids)
 * and the tree's ids otherwise, empty user and group names, hard links
 * within a layer as link entries to the first path.  Overlay whiteouts (0:0
 * character devices) become ".wh.<name>" files and opaque directories get a
 * ".wh..wh..opq" entry.  Other devices, fifos and sockets are left out with
 * a warning.  JSON is written with sorted keys, compact, without timestamps.
 * The config carries architecture (from ctx->arch), os, Env, WorkingDir,
 * Entrypoint and Cmd (store_image_config), the layers' diff_ids, and one
 * history entry per store layer (created_by: its step; empty_layer when its
 * tree is empty).  Store keys are left out (they hash the lock, URLs
 * included): two stores whose trees and steps agree give the same digests. */
#ifndef PKGIMG_IMAGE_OCI_H
#define PKGIMG_IMAGE_OCI_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/store.h"

struct pkgimg_ctx;

#define OCI_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MEDIA_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MEDIA_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MEDIA_LAYER "application/vnd.oci.image.layer.v1.tar"
#define OCI_REF_NAME_ANNOTATION "org.opencontainers.image.ref.name"

struct oci_export_opts {
	const char *ref_name;	/* index.json's ref.name annotation; NULL: "latest" */
};

/* One layer blob, made from one store layer. */
struct oci_layer_desc {
	char digest[STORE_KEY_MAX];	/* "sha256:<hex>" of the tar (its diff_id too) */
	uint64_t size;
	char key[STORE_KEY_MAX];	/* the store layer */
};

struct oci_export_result {
	char manifest[STORE_KEY_MAX];	/* "sha256:<hex>" of the manifest blob */
	uint64_t manifest_size;
	char config[STORE_KEY_MAX];
	struct oci_layer_desc *layers;	/* bottom first; empty trees have none */
	int nlayers;
	int nstore_layers;		/* layers in the image's chain */
};

/* A tag or name usable as the ref.name annotation (letters, digits and
 * . _ - : @ / +, at most 255); NULL or "" is not. */
int oci_ref_name_valid(const char *name);

/* Writes the layout of the image whose top layer is `key` to dir, which must
 * be absent or an empty directory: built in "<dir>.tmp-XXXXXX" beside it,
 * then renamed to dir; removed again on failure. */
int oci_export_layout(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      const char *dir, const struct oci_export_opts *opts,
		      struct oci_export_result *res);

/* The same layout as one tar archive at `file` (entries sorted, 0:0, mode
 * 0755/0644, mtime 0): written to "<file>.tmp-XXXXXX" and renamed over file
 * (a regular file there is replaced; a directory is refused). */
int oci_export_archive(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       const char *file, const struct oci_export_opts *opts,
		       struct oci_export_result *res);

/* The merged rootfs (store_materialize) in dir, absent or an empty
 * directory, through "<dir>.tmp-XXXXXX" (0700 until complete) renamed to
 * dir; on failure nothing is left.  Device nodes are refused unless
 * ctx->flags has PKGIMG_F_ALLOW_DEVICES, and group- or world-writable
 * files lose their set-id bits (with a warning): the tree lands on the
 * host.  opt names the option in messages ("--dir", "--root");
 * make_parents creates dir's missing parents (0755). */
int oci_rootfs_write(struct pkgimg_ctx *ctx, struct store *st, const char *key, const char *dir,
		     const char *opt, bool make_parents);
/* oci_rootfs_write(..., "--dir", false): pkgimg export --dir. */
int oci_export_rootfs(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      const char *dir);

void oci_export_result_free(struct oci_export_result *res);

/* The OCI platform (GOARCH architecture and variant, NULL for none) of a
 * Debian architecture (ctx->arch); an unknown one is itself. */
void oci_platform(const char *debarch, const char **arch, const char **variant);

#endif
