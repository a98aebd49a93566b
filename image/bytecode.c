/* Bytecode of the PyPI and conda layers (see image/layers.h): a layer's
 * Python sources compiled in the sandbox with the image's interpreter, the
 * files that did not compile as warnings (and in the layer's metadata,
 * given again when the layer is found in the store). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/layer.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "image/install.h"
#include "image/layers.h"
#include "pyc/pyc.h"
#include "runtime/sandbox.h"

static int pyc_src_cmp(const void *a, const void *b)
{
	const struct pyc_src *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

void image_pyc_src_add(struct pyc_src **v, size_t *n, size_t *cap, char *path, int owner)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*v = xrealloc(*v, *cap * sizeof **v);
	}
	(*v)[*n].path = path;
	(*v)[*n].owner = owner;
	(*v)[*n].seq = *n;
	(*n)++;
}

/* Compiles a layer's Python sources (*srcs, sorted and made unique here)
 * with `python`, the interpreter inside the image, in the sandbox over the
 * layer's tree; what it wrote is folded into the tree with mtime 0.
 * res->items follow (*srcs)[0..*nsrcs).  An image without that interpreter,
 * or one that does not run, is a warning and leaves res empty. */
int image_layer_pyc(const struct layer_build *b, int rootfd, const char *python,
		    struct pyc_src *srcs, size_t *nsrcs, struct pyc_result *res)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const char *tmp = b->txn->tmp, *tree = b->txn->tree, *step = b->step;
	int nchain = b->nchain;
	const char **lowers = NULL, **paths = NULL;
	char *upper = NULL, *scratch = NULL;
	struct sandbox_opts so = { 0 };
	struct pyc_opts po = b->o->pyc;
	size_t n = 0;
	int r = 0;

	memset(res, 0, sizeof *res);
	if (*nsrcs == 0 || po.mode == PYC_NONE)
		return 0;
	qsort(srcs, *nsrcs, sizeof *srcs, pyc_src_cmp);
	for (size_t i = 0; i < *nsrcs; i++) {	/* one path once: the last package's */
		if (n && !strcmp(srcs[n - 1].path, srcs[i].path)) {
			free(srcs[n - 1].path);
			srcs[n - 1] = srcs[i];
		} else {
			srcs[n++] = srcs[i];
		}
	}
	*nsrcs = n;
	r = image_has(b, python, "pyc");
	if (r < 0)
		return r;
	if (!r) {
		pkgimg_warn(ctx, "%s: [pyc] the image has no %s, so %zu Python files get no bytecode "
			    "(install that interpreter in an earlier step, or pass --pyc none)",
			    step, python, n);
		return 0;
	}
	po.python = python;
	lowers = (const char **)store_chain_trees(b->st, tree, b->chain, nchain);
	paths = xcalloc(n + 1, sizeof *paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = srcs[i].path;
	upper = xasprintf("%s/pyc-upper", tmp);
	if (mkdir(upper, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [pyc] %m", upper);
		goto out;
	}
	r = store_mktemp_dir(ctx, b->st, "sandbox", &scratch);
	if (r < 0)
		goto out;
	so.lowers = lowers;
	so.nlowers = nchain + 1;
	so.upper = upper;
	so.scratch = scratch;
	so.build = 1;
	so.network = 0;
	pkgimg_progress(ctx, "pyc", NULL, 0, n, 0);
	r = pyc_compile_image(ctx, &po, &so, paths, n, res);
	pkgimg_progress(ctx, "pyc", NULL, n, n, 1);
	if (r < 0) {
		pkgimg_warn(ctx, "%s: bytecode not compiled, the layer is built without it: %s",
			    step, ctx->errmsg);
		memset(res, 0, sizeof *res);
		r = fs_rm_rf(ctx, AT_FDCWD, upper);
		goto out;
	}
	r = image_fold_upper(ctx, upper, rootfd, tree, step, 0);
out:
	if (r < 0)
		pyc_result_free(res);
	if (scratch)
		fs_rm_rf(NULL, AT_FDCWD, scratch);
	strv_free_null((char **)lowers);
	free(paths);
	free(upper);
	free(scratch);
	return r;
}

/* One warning per package of f[0..n) naming its first file. */
static void pyc_warn_failures(struct pkgimg_ctx *ctx, const struct install_pyc_failure *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t nfail = 0;
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(f[k].package, f[i].package);
		if (seen)
			continue;
		for (size_t k = i; k < n; k++)
			nfail += !strcmp(f[k].package, f[i].package);
		if (nfail == 1)
			pkgimg_warn(ctx, "%s: [pyc] %s does not compile, so it gets no bytecode: %s",
				    f[i].package, f[i].path, f[i].error);
		else
			pkgimg_warn(ctx, "%s: [pyc] %zu files do not compile, so they get no bytecode: "
				    "%s (%s), and %zu more (--json lists them)", f[i].package, nfail,
				    f[i].path, f[i].error, nfail - 1);
	}
}

static void pyc_failure_add(struct install_result *out, const char *package, const char *path,
			    const char *error)
{
	struct install_pyc_failure *f;

	out->pyc_failed = xrealloc(out->pyc_failed, (out->npyc_failed + 1) * sizeof *out->pyc_failed);
	f = &out->pyc_failed[out->npyc_failed++];
	f->package = xstrdup(package);
	f->path = xstrdup(path);
	f->error = xstrdup(error);
}

/* The files that did not compile: into the result, and one warning per
 * package naming the first. */
void image_pyc_report(struct pkgimg_ctx *ctx, struct install_result *out,
		      const struct pyc_result *res, const struct pyc_src *srcs, char **labels,
		      int nlabels)
{
	size_t first = out->npyc_failed;

	out->pyc_compiled += res->ncompiled;
	out->pyc_written += res->npycs;
	for (int p = 0; p < nlabels; p++)
		for (size_t i = 0; i < res->n; i++)
			if (srcs[i].owner == p && res->items[i].error)
				pyc_failure_add(out, labels[p], srcs[i].path, res->items[i].error);
	pyc_warn_failures(ctx, out->pyc_failed + first, out->npyc_failed - first);
}

char **image_pyc_failed_meta(const struct install_result *res, size_t first)
{
	struct strv v = { 0 };

	for (size_t i = first; res && i < res->npyc_failed; i++) {
		strv_add(&v, res->pyc_failed[i].package);
		strv_add(&v, res->pyc_failed[i].path);
		strv_add(&v, res->pyc_failed[i].error);
	}
	return v.v;
}

int image_layer_replay(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       struct install_result *res)
{
	struct layer_meta m = { 0 };
	size_t first = res->npyc_failed;
	int r = store_layer_read(ctx, st, key, &m);

	if (r < 0)
		return r;
	for (char **e = m.pyc_failed; e && e[0] && e[1] && e[2]; e += 3)
		pyc_failure_add(res, e[0], e[1], e[2]);
	pyc_warn_failures(ctx, res->pyc_failed + first, res->npyc_failed - first);
	layer_meta_free(&m);
	return 0;
}

int image_tree_pyc(const struct layer_build *b, const char *python, const char *label)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const char *tree = b->txn->tree;
	struct pyc_src *srcs = NULL;
	struct pyc_result pr = { 0 };
	struct strv files = { 0 };
	size_t nsrcs = 0, cap = 0, tlen = strlen(tree);
	char *labels[] = { (char *)label, NULL };
	int rootfd, r;

	rootfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return pkgimg_err(ctx, -errno, "%s: [pyc] %m", tree);
	r = pyc_collect(ctx, tree, &files);	/* "<tree>/<path in the image>" */
	for (size_t i = 0; r == 0 && i < files.n; i++)
		image_pyc_src_add(&srcs, &nsrcs, &cap, xstrdup(files.v[i] + tlen), 0);
	strv_free(&files);
	if (r == 0)
		r = image_layer_pyc(b, rootfd, python, srcs, &nsrcs, &pr);
	if (r == 0)
		image_pyc_report(ctx, b->res, &pr, srcs, labels, 1);
	if (r == 0)	/* folding the bytecode in touched directories */
		r = fs_tree_times_zero(ctx, rootfd, tree);
	pyc_result_free(&pr);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i].path);
	free(srcs);
	close(rootfd);
	return r;
}
