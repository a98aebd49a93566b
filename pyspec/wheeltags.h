/* Wheel compatibility tags (PEP 425, PEP 600, PEP 656) and wheel file names
 * (PEP 427), with the behaviour of pypa/packaging 24 as vendored by pip.
 *
 * The tags are computed for a TARGET CPython on Linux that the caller
 * describes, never for the host: the same list, in the same priority order,
 * as packaging.tags.sys_tags() run inside that interpreter.  That is
 * cpython_tags() followed by compatible_tags():
 *
 *   cp311-cp311-<plat>...  cp311-abi3-<plat>...  cp311-none-<plat>...
 *   cp310-abi3-<plat>... down to cp32-abi3-<plat>...
 *   py311-none-<plat>...  py3-none-<plat>...  py310-none-<plat>... py30-none-<plat>...
 *   cp311-none-any  py311-none-any  py3-none-any  py310-none-any ... py30-none-any
 *
 * where <plat> runs, best first, over manylinux_2_<glibc minor>_<arch> down
 * to manylinux_2_17 (2_5 on x86_64 and i686), each legacy alias
 * (manylinux2014 = 2_17, manylinux2010 = 2_12, manylinux1 = 2_5) right after
 * the tag it stands for, then musllinux_1_<minor>..musllinux_1_0, then
 * linux_<arch>. */
#ifndef PKGIMG_PYSPEC_WHEELTAGS_H
#define PKGIMG_PYSPEC_WHEELTAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/str.h"

struct pkgimg_ctx;

/* The interpreter the wheels are for. */
struct wheel_target {
	int py_major, py_minor;		/* 3, 11 (only CPython 3 is supported) */
	const char *arch;		/* "x86_64", "aarch64", "i686", "armv8l"... */
	int glibc_major, glibc_minor;	/* 2, 36; 0, 0 = not glibc: no manylinux */
	int musl_major, musl_minor;	/* 1, 2; 0, 0 = not musl: no musllinux */
	bool abi_debug;			/* a --with-pydebug build ("d" ABI flag) */
	bool free_threaded;		/* a 3.13+ --disable-gil build ("t") */
};

/* The supported tags of a target, best first, with a hash index. */
struct wheel_tags {
	struct strv tags;	/* "interp-abi-plat", lowercase, best first */
	size_t *slots;		/* open addressing: index into tags + 1; 0 empty */
	size_t nslots;		/* a power of two, at least twice tags.n */
};

/* Fills *out with the tags of target t (free with wheel_tags_free).  A target
 * that pip could not run on (Python 2, both glibc and musl, a free-threaded
 * 3.12, an arch that is not a platform-tag word) is -PKGIMG_E_USAGE; *out is
 * written only on success. */
int wheel_supported_tags(struct pkgimg_ctx *ctx, const struct wheel_target *t,
			 struct wheel_tags *out);
void wheel_tags_free(struct wheel_tags *t);

/* The priority index of one tag triple (0 is the best), or -1 when the target
 * does not support it.  Compared case-insensitively, as packaging's Tag
 * lowercases its parts. */
int wheel_tags_rank(const struct wheel_tags *t, const char *interp, const char *abi,
		    const char *plat);

/* A parsed wheel file name: {distribution}-{version}(-{build tag})?-{python
 * tag}-{abi tag}-{platform tag}.whl, the three tags possibly compressed sets
 * ("py2.py3", "manylinux_2_17_x86_64.manylinux2014_x86_64"). */
struct wheel_name {
	char *name;		/* PEP 503 normalised: "markupsafe" */
	char *version;		/* as written (a valid PEP 440 version): "3.0.2" */
	char *build;		/* the build tag as written, or NULL */
	unsigned long long build_num;	/* its leading digits: "1_abc" -> 1 */
	const char *build_rest;	/* what follows them, inside build ("" if none) */
	struct strv interps;	/* the tag sets, expanded and lowercased */
	struct strv abis;
	struct strv plats;
};

/* Most components one tag set of a file name may carry. */
#define WHEEL_MAX_TAGSET 64

/* Parses a wheel file name (just the name, no directory).  On success *out
 * owns its memory (wheel_name_free); on error (-PKGIMG_E_PARSE) *out is
 * untouched and the message names the file and what is wrong with it. */
int wheel_filename_parse(struct pkgimg_ctx *ctx, const char *filename, struct wheel_name *out);
void wheel_name_free(struct wheel_name *w);
/* The tags part of a wheel's file name, as the lockfile's arch records it:
 * "cp311-cp311-manylinux_2_17_x86_64" of "x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
 * (the last three dash-separated fields before ".whl"); malloc'd. */
char *wheel_filename_tags(const char *filename);

/* The best (lowest) rank of any triple the wheel's tag sets expand to, or -1
 * when none is supported: the wheel cannot be installed on the target. */
int wheel_best_rank(const struct wheel_tags *t, const struct wheel_name *w);

/* Orders two wheels of one release by build tag, as packaging compares its
 * (number, rest) tuples: no build tag sorts first, then by number, then by
 * the rest bytewise.  <0, 0, >0. */
int wheel_build_cmp(const struct wheel_name *a, const struct wheel_name *b);

#endif
