/* The unpacked-package cache: each .deb unpacked once per store (see
 * installers/debcache.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"
#include "installers/deb.h"
#include "installers/debcache.h"

static char *entry_rel(const char *sha256)
{
	return xasprintf("unpacked/%s", sha256);
}

static int entry_exists(struct store *st, const char *sha256)
{
	char *rel = xasprintf("unpacked/%s/pkg", sha256);
	int ok = faccessat(st->rootfd, rel, F_OK, 0) == 0;

	free(rel);
	return ok;
}

/* Unpacks one blob into tmp/unpack-XXXXXX and renames it into place. */
static int fill_one(struct pkgimg_ctx *ctx, struct store *st, const char *sha256,
		    const char *label)
{
	struct debinst_pkg pkg = { 0 };
	char *tmp = NULL, *tree = NULL, *blob = NULL, *dst = NULL;
	int r, treefd = -1, tmpfd = -1;

	r = store_mktemp_dir(ctx, st, "unpack", &tmp);
	if (r < 0)
		goto out;
	tree = xasprintf("%s/tree", tmp);
	if (mkdir(tree, 0755) < 0 ||
	    (treefd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    (tmpfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [unpack] %m", tree);
		goto out;
	}
	blob = store_blob_path(st, sha256);
	r = debinst_unpack_blob(ctx, treefd, blob, sha256, 1, &pkg);
	if (r < 0) {
		pkgimg_err_wrap(ctx, r, "%s", label);
		store_blob_check(ctx, st, sha256, label);	/* removed when corrupt */
		goto out;
	}
	r = debinst_pkg_save(ctx, tmpfd, "pkg", &pkg);
	if (r < 0)
		goto out;
	dst = xasprintf("%s/unpacked/%s", st->root, sha256);
	if (rename(tmp, dst) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			r = pkgimg_err(ctx, -errno, "%s: [unpack] cannot move into %s: %m", label, dst);
			goto out;
		}
		/* a concurrent pkgimg unpacked it first; its copy is as good */
	} else {
		free(tmp);
		tmp = NULL;
	}
out:
	if (treefd >= 0)
		close(treefd);
	if (tmpfd >= 0)
		close(tmpfd);
	if (tmp)
		fs_rm_rf(NULL, AT_FDCWD, tmp);
	debinst_pkg_free(&pkg);
	free(tmp);
	free(tree);
	free(blob);
	free(dst);
	return r;
}

/* ---- the worker pool ---- */

struct pool {
	struct pkgimg_ctx *ctx;		/* the caller's: callbacks go through `mu` */
	struct store *st;
	char *const *sha, *const *labels;
	int *todo, ntodo;
	int next, done, failed;
	int err;
	char errmsg[sizeof ((struct pkgimg_ctx *)0)->errmsg];
	pthread_mutex_t mu;
};

static void pool_warn(void *arg, const char *msg)
{
	struct pool *p = arg;

	pthread_mutex_lock(&p->mu);
	if (p->ctx->warn)
		p->ctx->warn(p->ctx->cb_arg, msg);
	pthread_mutex_unlock(&p->mu);
}

static void *pool_worker(void *arg)
{
	struct pool *p = arg;
	struct pkgimg_ctx wctx = *p->ctx;

	wctx.warn = pool_warn;
	wctx.info = NULL;
	wctx.progress = NULL;
	wctx.cb_arg = p;
	for (;;) {
		int i, r;

		pthread_mutex_lock(&p->mu);
		if (p->failed || p->next == p->ntodo) {
			pthread_mutex_unlock(&p->mu);
			break;
		}
		i = p->todo[p->next++];
		pthread_mutex_unlock(&p->mu);

		r = fill_one(&wctx, p->st, p->sha[i], p->labels[i]);

		pthread_mutex_lock(&p->mu);
		if (r < 0 && !p->failed) {
			p->failed = 1;
			p->err = r;
			memcpy(p->errmsg, wctx.errmsg, sizeof p->errmsg);
		} else if (r == 0) {
			p->done++;
			pkgimg_progress(p->ctx, "unpack", p->labels[i], (uint64_t)p->done,
					(uint64_t)p->ntodo, 0);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

int debcache_fill(struct pkgimg_ctx *ctx, struct store *st, char *const *sha256,
		  char *const *labels, int n, int jobs)
{
	struct pool p = { .ctx = ctx, .st = st, .sha = sha256, .labels = labels };
	pthread_t *th = NULL;
	int nth = 0, r = 0;

	p.todo = xcalloc((size_t)n + 1, sizeof *p.todo);
	for (int i = 0; i < n; i++) {
		int dup = 0;

		for (int k = 0; k < p.ntodo && !dup; k++)
			dup = !strcmp(sha256[p.todo[k]], sha256[i]);
		if (!dup && !entry_exists(st, sha256[i]))
			p.todo[p.ntodo++] = i;
	}
	if (p.ntodo == 0)
		goto out;
	pthread_mutex_init(&p.mu, NULL);
	if (jobs < 1)
		jobs = 1;
	if (jobs > p.ntodo)
		jobs = p.ntodo;
	th = xcalloc((size_t)jobs, sizeof *th);
	for (nth = 0; nth < jobs - 1; nth++)
		if (pthread_create(&th[nth], NULL, pool_worker, &p) != 0)
			break;
	pool_worker(&p);	/* the calling thread works too */
	for (int i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.failed) {
		memcpy(ctx->errmsg, p.errmsg, sizeof ctx->errmsg);
		r = p.err;
		goto out;
	}
	pkgimg_progress(ctx, "unpack", NULL, (uint64_t)p.ntodo, (uint64_t)p.ntodo, 1);
out:
	free(th);
	free(p.todo);
	return r;
}

int debcache_link(struct pkgimg_ctx *ctx, struct store *st, const char *sha256,
		  const char *label, int rootfd, const char *root, struct debinst_pkg *out)
{
	char *rel = entry_rel(sha256), *tree_rel = xasprintf("%s/tree", rel);
	int fd = -1, tfd = -1, r;

	fd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (tfd = openat(fd, "tree", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		r = pkgimg_err(ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -errno,
			       "%s: [compose] %s/%s: %m; remove %s/unpacked/%s and install again",
			       label, st->root, tree_rel, st->root, sha256);
		goto out;
	}
	r = tree_apply(ctx, tfd, rootfd, TREE_LINK, 0, label, "compose", root);
	if (r < 0)
		goto out;
	r = debinst_pkg_load(ctx, fd, "pkg", label, out);
out:
	if (tfd >= 0)
		close(tfd);
	if (fd >= 0)
		close(fd);
	free(rel);
	free(tree_rel);
	return r;
}
