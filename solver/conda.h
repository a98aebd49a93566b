/* conda resolution with libsolv: channels into a pool, MatchSpecs, virtual
 * packages, and the "conda: ..." layer of a lock.
 *
 * Channels: `-c NAME|URL`, in strict priority order (a package name found in
 * an earlier channel is never taken from a later one, as conda's
 * channel_priority: strict).  A bare name is the channel alias
 * ($PKGIMG_CHANNEL_ALIAS, else conda's public one) + name; a path is a
 * file:// channel.  Every channel is read for the target's subdir
 * ("linux-64" on amd64) and "noarch": repodata.json.zst when the channel
 * serves it, else repodata.json, fetched conditionally (ETag,
 * Last-Modified) into ROOT/index/conda-<id>/ and parsed by libsolv's conda
 * reader into a .solv cache keyed by the sha256 of the file.  `packages` and
 * `packages.conda` are both read; of two builds that differ only in format
 * the .conda one is kept.
 *
 * Specs: conda's MatchSpec in full (solver/matchspec.h), answered through a
 * libsolv namespace callback, so brackets, channel::, subdir, globs and
 * regexes mean what they mean to conda.  Records' own depends and constrains
 * are read by libsolv (pool_conda_matchspec).
 *
 * Virtual packages live in the installed repo (a solvable that is not
 * installed and locked would be "keep uninstalled"): __unix, __linux (the
 * kernel's release), __glibc (the image's, else the host's), __archspec
 * (1, the machine) and __cuda when a CUDA version is known;
 * CONDA_OVERRIDE_LINUX, CONDA_OVERRIDE_GLIBC, CONDA_OVERRIDE_CUDA and
 * CONDA_OVERRIDE_ARCHSPEC override them ("" removes one), as in conda.
 *
 * Order among candidates is libsolv's conda policy: fewer track_features
 * first, then the higher version, then the higher build number. */
#ifndef PKGIMG_SOLVER_CONDA_H
#define PKGIMG_SOLVER_CONDA_H

#include <stddef.h>

#include "core/lockfile.h"

struct pkgimg_ctx;
struct store;

#define CONDA_CHANNEL_ALIAS_DEFAULT	"https://conda.anaconda.org/"
#define CONDA_CHANNEL_ALIAS_ENV		"PKGIMG_CHANNEL_ALIAS"
#define CONDA_CHANNELS_ENV		"PKGIMG_CHANNELS"	/* default channels, comma-separated */
#define CONDA_CHANNEL_DEFAULT		"conda-forge"
#define CONDA_PREFIX_DEFAULT		"/opt/conda"

struct conda_request {
	const char *const *specs;	/* --conda SPEC */
	size_t nspecs;
	const char *const *channels;	/* -c NAME|URL, highest priority first;
					 * none: $PKGIMG_CHANNELS, else conda-forge */
	size_t nchannels;
	const char *prefix;		/* --conda-prefix, NULL: /opt/conda */
	const char *cuda;		/* __cuda's version (--cuda, or the driver's),
					 * or NULL: no __cuda */
	const char *glibc;		/* __glibc: the image's C library version
					 * ("2.36"), or NULL: the host's */
};

/* The result of one conda solve, for the layers that follow. */
struct conda_lock_info {
	char *python;		/* version of conda's python in the layer ("3.12.1"), or NULL */
	char *prefix;		/* the prefix the layer installs into */
};

void conda_lock_info_free(struct conda_lock_info *ci);

/* A channel as given -> its URL without a trailing '/'
 * ("conda-forge" -> "https://conda.anaconda.org/conda-forge"). */
char *conda_channel_url(const char *channel);
/* The subdir of packages for a Debian architecture ("amd64" -> "linux-64"),
 * or NULL. */
const char *conda_subdir(const char *deb_arch);

/* Resolves rq and appends a "conda: ..." layer, and a "conda" source per
 * channel subdir read (its repodata's sha256), to lf; sets lf->cuda when
 * __cuda took part.  Errors name the spec or channel, the phase and the fix;
 * a conflict is explained as the chain of rules. */
int conda_lock_layer(struct pkgimg_ctx *ctx, struct store *st, const struct conda_request *rq,
		     struct lockfile *lf, struct conda_lock_info *info);

#endif
