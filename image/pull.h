/* Pulling an image into the store: pkgimg pull REF (issue 19).
 *
 * REF is one of skopeo's names for a local image:
 *   oci:DIR[:TAG]         an OCI image layout (index.json → manifest; TAG
 *                         picks the manifest annotated with that
 *                         org.opencontainers.image.ref.name; an image
 *                         index, top level or nested, gives the manifest of
 *                         the wanted platform)
 *   docker-archive:FILE[:NAME:TAG]   a `docker save` / skopeo tarball:
 *                         manifest.json, the config, the layer tars
 *   docker://HOST[:PORT]/REPO[:TAG|@DIGEST], HOST[:PORT]/REPO[:TAG|@DIGEST]
 *                         a registry, through the distribution API
 *                         (anonymous; https, or http for the host named by
 *                         insecure_registry): the manifest by tag or digest
 *                         with the OCI and Docker Accept types, an index's
 *                         manifest and the config and layers by digest,
 *                         fetched in parallel into the store's
 *                         blobs/sha256/ (cache/fetch: size and sha256
 *                         checked while streaming, redirects followed,
 *                         transient failures retried), then read from there
 *                         as a layout's.  No auth, push or layer cache yet.
 *
 * Accepted: OCI and Docker schema 2 manifests, indexes and manifest lists;
 * layers uncompressed, gzip or zstd (found by their bytes).  Every blob is
 * checked against its descriptor's size and sha256 as it is read (the
 * index and manifest too), each layer's uncompressed tar against the
 * config's diff_id; a mismatch is an error and the layer being made is
 * dropped (nothing half-kept: the layers before it are complete, verified
 * layers).
 *
 * Each layer becomes a store layer through the one layer transaction
 * (cache/layer.h), unpacked by the one secure extractor (installers/
 * extract.h: nothing outside the tree, links never followed), with the
 * entries' owners, modes (set-id bits included) and mtimes; OCI whiteouts
 * become the store's overlay form, the exact inverse of image/oci.c's
 * export: ".wh.NAME" a 0:0 character device NAME (unless the layer itself
 * has NAME), ".wh..wh..opq" the user.overlay.opaque="y" mark on its
 * directory; other ".wh..wh.*" names (AUFS' own) are dropped.  Device
 * nodes, fifos and sockets are refused, naming the layer and the path
 * (export leaves them out, so no exported image has them).  Extended
 * attributes (pax SCHILY.xattr) as export writes them: file capabilities
 * and user.*, never overlayfs' own nor trusted.* (EXTRACT_XATTRS).
 *
 * Keys: layer i (bottom first) is
 *     lockfile_layer_key(key of layer i-1 or "", "pull", diff_id i)
 * so an image that shares its bottom layers with another shares their
 * store layers; on top of them one empty layer holds the config (Env,
 * Entrypoint, Cmd, WorkingDir, User) and its key is the manifest digest
 * itself: "sha256:<hex of the manifest's bytes>".  A key is any
 * "sha256:<64 hex>" the store is given (nothing recomputes one from a
 * layer), so the image id of a pulled image is its manifest digest, as
 * `skopeo inspect --raw | sha256sum` gives it, and layers built on it chain
 * from it.  A docker-archive has no manifest: its id is the digest of the
 * schema 2 manifest skopeo makes for it (config and layers as
 * application/vnd.docker.* with the diff_ids and tar sizes), so
 * `skopeo inspect --raw docker-archive:FILE` gives it too.  When that key
 * is in the store already, nothing is read beyond the manifest and nothing
 * is written. */
#ifndef PKGIMG_IMAGE_PULL_H
#define PKGIMG_IMAGE_PULL_H

#include <stdbool.h>

#include "cache/store.h"

struct pkgimg_ctx;

struct pull_opts {
	const char *platform;	/* "OS/ARCH[/VARIANT]"; NULL: linux and ctx->arch */
	const char *tag;	/* a tag for the image, or NULL */
	const char *insecure_registry;	/* "HOST[:PORT]" spoken to over plain HTTP */
};

struct pull_result {
	char id[STORE_KEY_MAX];	/* the manifest digest: the image's top key */
	char *platform;		/* "OS/ARCH[/VARIANT]" of the config */
	int nlayers;		/* the image's layers (not the config layer) */
	int made;		/* store layers made by this pull (0: all there) */
};

/* Whether ref names a pull transport (oci:, docker-archive:, docker://). */
bool pull_ref_is_transport(const char *ref);

int image_pull(struct pkgimg_ctx *ctx, struct store *st, const char *ref,
	       const struct pull_opts *o, struct pull_result *res);
void pull_result_free(struct pull_result *res);

#endif
