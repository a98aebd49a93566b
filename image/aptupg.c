/* What an apt layer does for the packages it upgrades (a version of the
 * same package is in the layers below), as dpkg does an upgrade: the old
 * version's files that the new one no longer ships are removed (whiteouts
 * in the layer), and its prerm and postrm are kept aside for the
 * configure pass, which runs them with "upgrade NEW" around the new
 * preinst's "upgrade OLD NEW" (see image/aptupg.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cache/layer.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "image/aptupg.h"

#define INFO "/var/lib/dpkg/info"

/* dpkg's info file name of a package: "name" or "name:arch" (Multi-Arch:
 * same). */
static char *info_name(const struct debinst_pkg *p)
{
	return p->multiarch_same ? xasprintf("%s:%s", p->name, p->arch) : xstrdup(p->name);
}

/* The image's file at the absolute, link-free path, read from the topmost
 * of trees[0..n) that has it; -ENOENT when none does. */
static int view_read(struct pkgimg_ctx *ctx, char **trees, int n, const char *path,
		     struct sbuf *out)
{
	struct stat sb;
	int i = view_layer_of(trees, n, path, &sb);
	char *abs;
	int r;

	if (i < 0 || !S_ISREG(sb.st_mode))
		return -ENOENT;
	abs = xasprintf("%s%s", trees[i], path);
	r = fs_read_file(ctx, AT_FDCWD, abs, out);
	free(abs);
	return r;
}

/* Every path a package of the image lists (its .list files), sorted. */
static int listed_paths(struct pkgimg_ctx *ctx, char **trees, int n, struct strv *out)
{
	struct strv names = { 0 };
	int r = view_list(ctx, trees, n, INFO, &names);

	for (size_t i = 0; r == 0 && i < names.n; i++) {
		size_t len = strlen(names.v[i]);
		struct sbuf text = SBUF_INIT;
		char *path;
		struct blob b, line;

		if (len < 6 || strcmp(names.v[i] + len - 5, ".list"))
			continue;
		path = xasprintf(INFO "/%s", names.v[i]);
		if (view_read(ctx, trees, n, path, &text) == 0) {
			b = (struct blob){ text.buf, text.len };
			while (blob_line(&b, &line))
				if (line.len > 1 && line.ptr[0] == '/')
					strv_push(out, blob_dup(line));
		}
		free(path);
		sbuf_free(&text);
	}
	strv_free(&names);
	strv_sort(out);
	return r;
}

/* A whiteout in the layer (rootfd) for the image's file at path (a .list
 * entry): resolved through the directory links of the image as dpkg would
 * reach it; nothing for a directory (dpkg removes only empty ones, left
 * as they are here), for what the layer itself has there, or for what the
 * image does not have. */
static int whiteout_obsolete(struct pkgimg_ctx *ctx, const char *step, int rootfd, char **trees,
			     int n, const char *path)
{
	char *real = NULL;
	struct stat sb;
	const char *name;
	int dfd = -1, r;

	r = view_resolve(ctx, step, "unpack", trees, n, path, &real, &sb);
	if (r < 0 || !sb.st_mode || S_ISDIR(sb.st_mode))
		goto out;
	if (fstatat(rootfd, real + 1, &sb, AT_SYMLINK_NOFOLLOW) == 0)
		goto out;	/* the layer's own (another package's) */
	r = fs_open_parent(ctx, step, "unpack", rootfd, real + 1, true, NULL, &dfd, &name);
	if (r < 0)
		goto out;
	if (mknodat(dfd, name, S_IFCHR | 0, makedev(0, 0)) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [unpack] cannot write the whiteout of '%s', "
			       "a file the upgraded package no longer ships: %m", step, real);
out:
	if (dfd >= 0)
		close(dfd);
	free(real);
	return r;
}

/* The upgraded package's old files that no package of the image lists
 * any more (the new version's list included): whiteouts. */
static int obsolete_files(const struct layer_build *b, char **trees, int n,
			  const struct debinst_pkg *p, const struct strv *listed)
{
	char *info = info_name(p), *path = xasprintf(INFO "/%s.list", info);
	struct sbuf text = SBUF_INIT;
	struct blob bl, line;
	int r = view_read(b->ctx, trees + 1, n - 1, path, &text);	/* the old list */

	if (r == -ENOENT) {
		r = 0;
		goto out;
	}
	bl = (struct blob){ text.buf, text.len };
	while (r == 0 && blob_line(&bl, &line)) {
		char *f;

		if (line.len < 2 || line.ptr[0] != '/')
			continue;
		f = blob_dup(line);
		if (!bsearch(&f, listed->v, listed->n, sizeof *listed->v, str_cmp_ptr))
			r = whiteout_obsolete(b->ctx, b->step, b->txn->rootfd, trees, n, f);
		free(f);
	}
out:
	sbuf_free(&text);
	free(path);
	free(info);
	return r;
}

/* The old version's prerm and postrm, from the layers below into
 * upper/var/lib/dpkg/tmp.old/ (where the configure pass runs them). */
static int keep_old_scripts(const struct layer_build *b, char **below, int nbelow,
			    int upperfd, const struct debinst_pkg *p)
{
	static const char *const scripts[] = { "prerm", "postrm" };
	char *info = info_name(p);
	int r = 0;

	for (size_t k = 0; k < 2 && r == 0; k++) {
		char *path = xasprintf(INFO "/%s.%s", info, scripts[k]);
		char *dst = xasprintf("var/lib/dpkg/tmp.old/%s.%s", info, scripts[k]);
		struct sbuf text = SBUF_INIT;

		r = view_read(b->ctx, below, nbelow, path, &text);
		if (r == -ENOENT)
			r = 0;
		else if (r == 0 && (r = fs_mkdirs(b->ctx, upperfd, "var/lib/dpkg/tmp.old", 0755)) == 0)
			r = fs_write_file(b->ctx, upperfd, dst, text.buf ? text.buf : "", text.len,
					  0755);
		sbuf_free(&text);
		free(path);
		free(dst);
	}
	free(info);
	return r;
}

int image_apt_upgrades(const struct layer_build *b, const char *parent_status,
		       const struct debinst_pkg *pkgs, int n, char ***olds)
{
	char **v = xcalloc((size_t)n + 1, sizeof *v);
	char **trees = NULL;
	struct strv listed = { 0 };
	int nup = 0, r = 0;

	for (int i = 0; i < n; i++) {
		v[i] = debinst_upgraded_version(parent_status, &pkgs[i]);
		nup += v[i] != NULL;
	}
	*olds = v;
	if (!nup)
		return 0;
	trees = store_chain_trees(b->st, b->txn->tree, b->chain, b->nchain);
	r = listed_paths(b->ctx, trees, b->nchain + 1, &listed);
	for (int i = 0; i < n && r == 0; i++)
		if (v[i])
			r = obsolete_files(b, trees, b->nchain + 1, &pkgs[i], &listed);
	strv_free(&listed);
	strv_free_null(trees);
	return r;
}

int image_apt_old_scripts(const struct layer_build *b, const char *upper,
			  const struct debinst_pkg *pkgs, char *const *olds, int n)
{
	char **below = NULL;
	int fd = -1, r = 0;

	for (int i = 0; i < n && r == 0; i++) {
		if (!olds[i])
			continue;
		if (fd < 0) {
			fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return pkgimg_err(b->ctx, -errno, "%s: [configure] %s: %m", b->step,
						  upper);
			below = store_chain_trees(b->st, NULL, b->chain, b->nchain);
		}
		r = keep_old_scripts(b, below, b->nchain, fd, &pkgs[i]);
	}
	if (fd >= 0)
		close(fd);
	strv_free_null(below);
	return r;
}

void image_apt_olds_free(char **olds, int n)
{
	for (int i = 0; olds && i < n; i++)
		free(olds[i]);
	free(olds);
}
