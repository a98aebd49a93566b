/* Deterministic, parallel bytecode compilation (PEP 3147 __pycache__ files).
 *
 * The interpreter that will import the files compiles them (its magic number
 * and cache tag are the ones that count): `jobs` long-lived workers, each
 * that interpreter running a small driver (`-S -s -B -c ...`), are fed one
 * source path per line on stdin and answer one line per path.  The paths are
 * handed out in sorted order, two in flight per worker; what a .pyc holds
 * does not depend on which worker compiled it.
 *
 * What makes the bytes reproducible:
 *   - PEP 552 hash-based pycs (checked by default): the header holds the
 *     SipHash of the source, not its mtime; PYC_TIMESTAMP embeds the
 *     source's mtime and size (reproducible when those are, as in a layer,
 *     where every file has mtime 0);
 *   - PYTHONHASHSEED=0, so frozenset constants (`x in {"a", "b"}`) are
 *     marshalled in one order;
 *   - the file name compiled into the code objects is the path the worker
 *     was given: in an image, the path inside the image, never a staging or
 *     store path;
 *   - compile(source, path, "exec", dont_inherit=True, optimize=N), the call
 *     of importlib's source_to_code, and the .pyc written as py_compile
 *     writes it (mode of the source, atomically), so the bytes equal those
 *     of `python -m compileall --invalidation-mode checked-hash`.
 *
 * A source that does not compile (Python 2 code in a wheel, a test file of
 * bad syntax) is not an error: its item carries the message and no .pyc is
 * written for it.  An interpreter that does not start or answer is. */
#ifndef PKGIMG_PYC_H
#define PKGIMG_PYC_H

#include <stdbool.h>
#include <stddef.h>

struct pkgimg_ctx;
struct sandbox_opts;
struct strv;

enum pyc_mode {
	PYC_CHECKED_HASH,	/* default: checked against the source's hash */
	PYC_UNCHECKED_HASH,	/* never checked: the image is immutable */
	PYC_TIMESTAMP,		/* the source's mtime and size (pre-PEP 552) */
	PYC_NONE,		/* nothing compiled */
};

struct pyc_opts {
	enum pyc_mode mode;
	unsigned levels;	/* bit N: optimisation level N (0, 1, 2); 0 = {0} */
	int jobs;		/* workers; < 1: the number of cores */
	const char *python;	/* the interpreter (absolute, or found on $PATH by
				   pyc_find_python) */
};

/* One source file and what became of it. */
struct pyc_item {
	char *src;		/* as given */
	char *pycs[3];		/* the files written (one per level), as the
				   interpreter named them */
	int npycs;
	char *error;		/* one line, when it did not compile */
};

struct pyc_result {
	struct pyc_item *items;	/* in the order given */
	size_t n;
	size_t ncompiled, nfailed, npycs;
	char *cache_tag;	/* "cpython-311" */
};

/* "checked-hash", "unchecked-hash", "timestamp", "none"; -PKGIMG_E_USAGE
 * naming the choices otherwise. */
int pyc_mode_parse(struct pkgimg_ctx *ctx, const char *s, enum pyc_mode *out);
const char *pyc_mode_name(enum pyc_mode m);
/* "0", "0,1,2", "1,2" -> a bit set; -PKGIMG_E_USAGE otherwise. */
int pyc_levels_parse(struct pkgimg_ctx *ctx, const char *s, unsigned *out);
/* The default opts' suffix for a layer's step ("" for the default
 * checked-hash, level 0; else " [pyc MODE opt A,B]"): what the layer key
 * must change with. */
char *pyc_step_suffix(const struct pyc_opts *o);

/* Compiles paths[0..n) with o->python run directly, env its environment
 * (NULL: this process's, with PYTHONHASHSEED=0 set).  On success (every
 * path was tried) *res is filled; free with pyc_result_free. */
int pyc_compile(struct pkgimg_ctx *ctx, const struct pyc_opts *o, char *const *env,
		const char *const *paths, size_t n, struct pyc_result *res);

/* The same inside an image: sb says how to set up the sandbox (lowers,
 * upper, scratch; argv and fn are set here), o->python and paths[] are
 * paths inside the image.  The .pyc files land in sb->upper. */
int pyc_compile_image(struct pkgimg_ctx *ctx, const struct pyc_opts *o,
		      const struct sandbox_opts *sb, const char *const *paths, size_t n,
		      struct pyc_result *res);

void pyc_result_free(struct pyc_result *res);

/* Adds the .py files under `path` to *out, the way compileall walks: a
 * directory's names sorted, __pycache__ skipped, symlinked directories not
 * entered, regular files (or links to them) ending in ".py"; a file path is
 * added as it is.  Names are joined as given ("dir" + "/" + "a.py"). */
int pyc_collect(struct pkgimg_ctx *ctx, const char *path, struct strv *out);

/* "python3" on $PATH (or a path with a '/' checked for execution) ->
 * *out (malloc'd). */
int pyc_find_python(struct pkgimg_ctx *ctx, const char *name, char **out);

#endif
