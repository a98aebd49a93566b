/* pkgimg.lock: the canonical YAML lockfile (DESIGN.md "Keys and the lockfile").
 *
 * Canonical form: fixed key order, packages sorted by (ecosystem, name, arch),
 * no timestamps of its own; so the same request against the same indexes
 * gives the same bytes, and the bytes hash to the same layer keys. */
#ifndef PKGIMG_LOCKFILE_H
#define PKGIMG_LOCKFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pkgimg_ctx;
struct sbuf;

#define LOCKFILE_VERSION 1
/* What the reader accepts (hostile input is bounded): a lockfile of a few
 * thousand packages is a few MiB and nests 6 levels. */
#define LOCKFILE_MAX_BYTES	(64u << 20)
#define LOCKFILE_MAX_DEPTH	32

struct lock_pkg {
	char *ecosystem;	/* "apt", "pypi", "conda" */
	char *name, *version;
	char *arch;		/* apt: Architecture; pypi: the wheel's tags
				 * ("cp311-cp311-manylinux_2_17_x86_64");
				 * conda: the subdir ("linux-64", "noarch") */
	char *url;
	char *sha256;		/* conda: "" when the channel gives only md5 */
	uint64_t size;
	char *requested_by;
	/* pypi and conda (NULL for apt) */
	char *filename;		/* the wheel's or the conda package's file name */
	char *index;		/* the index or find-links location, or the conda
				 * channel URL, it came from */
	/* conda only (NULL otherwise) */
	char *build;		/* build string ("py312heda63a1_0") */
	char *md5;		/* the channel's md5, or NULL */
	/* pypi built from source (issue 18; NULL/0 for a wheel from an index).
	 * Then url, sha256, size and filename above are the SOURCE's: the
	 * sdist archive (index, https:// or file://), a local directory
	 * (file:///abs/dir, sha256 of its tree as pybuild_tree_digest hashes
	 * it), or a git repository (git+URL, sha256 NULL, commit below). */
	char *source;		/* "sdist" (from an index), "url" (an archive by
				 * URL), "path" (a local directory), "git" */
	char *commit;		/* git: the full commit id the lock is pinned to */
	char *subdirectory;	/* #subdirectory= of a URL, or NULL */
	bool direct;		/* requested by URL or path (PEP 610
				 * direct_url.json is written) */
	char *wheel_filename;	/* the wheel built from it, in the store's blobs */
	char *wheel_sha256;
	uint64_t wheel_size;
	/* the isolated build environment it was built in (exact wheels, as
	 * pypi lock packages: name, version, url, sha256, size, filename);
	 * none with --no-build-isolation */
	struct lock_pkg *build_env;
	int nbuild_env;
	bool no_build_isolation;
};

/* What a lock layer installs, and so how it is built: typed, never read
 * back out of the step text. */
enum lock_kind {
	LOCK_APT,		/* Debian packages at / */
	LOCK_BASE,		/* the debian-slim base's Essential set */
	LOCK_PIP,		/* wheels into the image's Python */
	LOCK_CONDA,		/* conda packages into the prefix */
};

/* "apt", "base", "pip", "conda": the lockfile's spelling of a kind. */
const char *lock_kind_name(enum lock_kind k);

struct lock_layer {
	char *step;		/* canonical step text, e.g. "apt: python3"; a label */
	enum lock_kind kind;
	char *prefix;		/* LOCK_CONDA: the prefix in the image */
	struct lock_pkg *pkgs;
	int npkgs;
};

struct lock_source {
	char *type;		/* "apt", "pypi" (an index or find-links location),
				 * "conda" (a channel's subdir: ".../conda-forge/linux-64") */
	char *uri;
	/* apt only (NULL for pypi) */
	char *suite;
	char **components;	/* NULL-terminated */
	char *inrelease_sha256;
	char *date;
	/* conda only */
	char *repodata_sha256;	/* of the repodata file as fetched */
};

struct lockfile {
	int version;
	char *platform;		/* "linux/amd64" */
	char *base;		/* "debian-slim", "scratch", or an image id */
	char *python;		/* the target interpreter's version ("3.11.2") when a
				 * layer installs PyPI packages, else NULL */
	char *python_prefix;	/* where that interpreter lives when it is not Debian's
				 * (/usr): conda's prefix ("/opt/conda"), or NULL */
	char *cuda;		/* the CUDA version builds were chosen for ("12.1"), or NULL */
	struct lock_source *sources;
	int nsources;
	struct lock_layer *layers;
	int nlayers;
};

/* Serialises in canonical form (sorts the packages of every layer). */
int lockfile_emit(struct pkgimg_ctx *ctx, struct lockfile *lf, struct sbuf *out);
/* The canonical text of one layer's section (what its key hashes). */
int lockfile_layer_text(struct pkgimg_ctx *ctx, struct lock_layer *layer, struct sbuf *out);
/* Reads and checks a lockfile: at most LOCKFILE_MAX_BYTES and
 * LOCKFILE_MAX_DEPTH levels, one document without anchors; version 1, the
 * host's platform, base debian-slim|scratch|sha256:<hex>, known ecosystems
 * and source types, lists where lists belong, names, versions and URLs not
 * empty, sha256 64 lowercase hex, sizes decimal 0..2^63-1.  Each refusal is
 * -PKGIMG_E_PARSE with "WHAT:LINE:COL: [lock]" and the key. */
int lockfile_parse(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
		   struct lockfile *out);
void lockfile_free(struct lockfile *lf);
void lock_source_free(struct lock_source *s);
/* One layer's section as lockfile_layer_text() wrote it (a layer.yaml's
 * `lock:`). */
int lockfile_parse_layer(struct pkgimg_ctx *ctx, const char *what, const char *text, size_t len,
			 struct lock_layer *out);
void lock_pkg_free(struct lock_pkg *p);
void lock_layer_free(struct lock_layer *l);
/* Whether a layer.yaml's `lock:` text is a package layer's section (what
 * lockfile_parse_layer() reads), not a run, add or python_source layer's. */
bool lockfile_is_layer_section(const char *text, size_t len);

/* Layer key: sha256(parent ‖ builder version ‖ step ‖ section), "sha256:<hex>". */
void lockfile_layer_key(const char *parent_key, const char *step, const char *section,
			char key[72]);

#endif
