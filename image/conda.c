/* The conda layer kind (see image/layers.h): the locked packages fetched
 * (md5-only records checked and stored by sha256), extracted once into the
 * store, linked into the prefix with their conda-meta records, compiled. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/layer.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "image/install.h"
#include "image/layers.h"
#include "installers/conda_pkg.h"
#include "pyc/pyc.h"

/* Fetches a conda layer's packages into the blob store; *shas gets each
 * one's blob digest.  A record with only an md5 (old channels) is fetched
 * to tmp/, checked against it, and stored under the sha256 of its bytes. */
static int fetch_conda(struct pkgimg_ctx *ctx, struct store *st, const struct lock_layer *l,
		       char (*shas)[65])
{
	struct fetch_item *items = xcalloc((size_t)l->npkgs + 1, sizeof *items);
	char **tmps = xcalloc((size_t)l->npkgs + 1, sizeof *tmps);
	int r;

	for (int i = 0; i < l->npkgs; i++) {
		const struct lock_pkg *p = &l->pkgs[i];

		items[i].url = p->url;
		items[i].size = p->size ? (int64_t)p->size : -1;
		items[i].label = p->name;
		if (*p->sha256) {
			items[i].sha256 = p->sha256;
			snprintf(shas[i], 65, "%s", p->sha256);
		} else {
			items[i].dest = tmps[i] = store_tmp_path(st, "conda-md5");
		}
	}
	r = fetch_all(ctx, st, items, l->npkgs);
	for (int i = 0; r == 0 && i < l->npkgs; i++) {
		struct hasher md5, sha;
		char got[HASH_HEX_MAX], buf[1 << 16], *blob;
		ssize_t n;
		int fd;

		if (!tmps[i])
			continue;
		fd = open(tmps[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [fetch] %m", tmps[i]);
			break;
		}
		hasher_init(&md5, "md5");
		hasher_init(&sha, "sha256");
		while ((n = read(fd, buf, sizeof buf)) > 0) {
			hasher_update(&md5, buf, (size_t)n);
			hasher_update(&sha, buf, (size_t)n);
		}
		close(fd);
		hasher_final_hex(&md5, got);
		hasher_final_hex(&sha, shas[i]);
		if (n < 0 || strcmp(got, l->pkgs[i].md5 ? l->pkgs[i].md5 : "")) {
			r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [fetch] md5 mismatch: expected "
				       "%s, got %s (the channel changed the file; lock again)",
				       l->pkgs[i].url, l->pkgs[i].md5 ? l->pkgs[i].md5 : "-", got);
			break;
		}
		blob = store_blob_path(st, shas[i]);
		if (rename(tmps[i], blob) < 0)
			r = pkgimg_err(ctx, -errno, "%s: [fetch] %m", blob);
		free(blob);
	}
	for (int i = 0; i < l->npkgs; i++) {
		if (tmps[i])
			unlink(tmps[i]);
		free(tmps[i]);
	}
	free(tmps);
	free(items);
	return r;
}

/* The extracted package dir of a blob, ROOT/unpacked/<sha256>/conda,
 * extracted once and shared. */
static int conda_unpacked(struct pkgimg_ctx *ctx, struct store *st, const char *sha,
			  const char *fn, char **out)
{
	char *dir = xasprintf("%s/unpacked/%s", st->root, sha);
	char *dst = xasprintf("%s/conda", dir), *blob;
	struct stat sb;
	int r = 0;

	if (stat(dst, &sb) == 0) {
		*out = dst;
		free(dir);
		return 0;
	}
	if ((r = fs_mkdirs(ctx, AT_FDCWD, dir, 0755)) < 0)
		goto out;
	blob = store_blob_path(st, sha);
	r = conda_pkg_extract_blob(ctx, blob, sha, fn, dst);
	free(blob);
	if (r == -EEXIST)
		r = 0;	/* a concurrent pkgimg extracted it first */
	if (r < 0) {
		rmdir(dir);	/* refused: nothing is left (unless another process fills it) */
		store_blob_check(ctx, st, sha, fn);	/* removed when corrupt */
	}
out:
	free(dir);
	if (r < 0)
		free(dst);
	else
		*out = dst;
	return r;
}

static const char *conda_requested(const struct lock_pkg *p)
{
	return p->requested_by && !strncmp(p->requested_by, "--conda ", 8)
		? p->requested_by + 8 : NULL;
}

/* The .py files the packages put under <prefix>/lib/pythonX.Y/ (noarch:
 * python ones in site-packages, and python's own library), compiled with
 * <prefix>/bin/pythonX.Y and added to each package's record as "pyc_file"
 * entries.  X.Y is the python of the layer, else the one of the paths. */
static int conda_layer_pyc(const struct layer_build *b, const struct conda_link_opts *lo,
			   const struct conda_linked *linked, size_t nlinked)
{
	struct pkgimg_ctx *ctx = b->ctx;
	int rootfd = b->txn->rootfd;
	const char *prefix = lo->prefix + (lo->prefix[0] == '/');
	char *lib = NULL, *interp = NULL, **labels = xcalloc(nlinked + 1, sizeof *labels);
	struct pyc_src *srcs = NULL;
	struct pyc_result pr = { 0 };
	size_t nsrcs = 0, capsrcs = 0, libn;
	int r = 0;

	if (lo->python_version) {
		lib = xasprintf("lib/python%s/", lo->python_version);
	} else {
		for (size_t i = 0; !lib && i < nlinked; i++)
			for (size_t k = 0; !lib && k < linked[i].nfiles; k++) {
				const char *f = linked[i].files[k], *sl;
				size_t len = strlen(f);

				if (!strncmp(f, "lib/python", 10) && len > 3 &&
				    !strcmp(f + len - 3, ".py") && (sl = strchr(f + 10, '/')))
					lib = xstrndup(f, (size_t)(sl - f) + 1);
			}
	}
	if (!lib)
		goto out;
	libn = strlen(lib);
	interp = xasprintf("/%s/bin/%.*s", prefix, (int)(libn - 5), lib + 4);
	for (size_t i = 0; i < nlinked; i++) {
		labels[i] = xasprintf("%s %s", linked[i].name, linked[i].version);
		for (size_t k = 0; k < linked[i].nfiles; k++) {
			const char *f = linked[i].files[k];
			size_t len = strlen(f);

			if (!strncmp(f, lib, libn) && len > 3 && !strcmp(f + len - 3, ".py"))
				image_pyc_src_add(&srcs, &nsrcs, &capsrcs, xasprintf("/%s/%s", prefix, f),
					    (int)i);
		}
	}
	r = image_layer_pyc(b, rootfd, interp, srcs, &nsrcs, &pr);
	if (r < 0)
		goto out;
	image_pyc_report(ctx, b->res, &pr, srcs, labels, (int)nlinked);
	for (size_t i = 0; i < nlinked && pr.npycs; i++) {
		struct conda_extra_file *add = NULL;
		char (*sha)[65] = NULL;
		size_t nadd = 0, plen = strlen(prefix) + 2;

		for (size_t k = 0; k < pr.n; k++)
			if (srcs[k].owner == (int)i)
				nadd += (size_t)pr.items[k].npycs;
		if (!nadd)
			continue;
		add = xcalloc(nadd, sizeof *add);
		sha = xcalloc(nadd, sizeof *sha);
		nadd = 0;
		for (size_t k = 0; r == 0 && k < pr.n; k++)
			for (int m = 0; r == 0 && srcs[k].owner == (int)i && m < pr.items[k].npycs; m++) {
				const char *pyc = pr.items[k].pycs[m];
				struct stat sb;

				if (fstatat(rootfd, pyc + 1, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
				    hash_file_sha256(rootfd, pyc + 1, sha[nadd]) < 0) {
					r = pkgimg_err(ctx, -errno, "%s: [pyc] %s: %m", labels[i], pyc);
					break;
				}
				add[nadd].path = pyc + plen;	/* prefix-relative */
				add[nadd].sha256 = sha[nadd];
				add[nadd].size = (int64_t)sb.st_size;
				add[nadd].path_type = "pyc_file";
				nadd++;
			}
		if (r == 0)
			r = conda_record_add(ctx, rootfd, &linked[i], lo, add, nadd);
		free(add);
		free(sha);
		if (r < 0)
			goto out;
	}
out:
	pyc_result_free(&pr);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i].path);
	free(srcs);
	for (size_t i = 0; i < nlinked; i++)
		free(labels[i]);
	free(labels);
	free(lib);
	free(interp);
	return r;
}

/* A conda layer: the locked packages, fetched and verified, extracted once
 * into the store, linked into the prefix with their conda-meta records and
 * one conda-meta/history block, all with mtime 0. */
int image_build_conda(const struct layer_build *b)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct store *st = b->st;
	const struct lock_layer *l = b->l;
	struct install_result *res = b->res;
	const char *step = b->step;
	char (*shas)[65] = xcalloc((size_t)l->npkgs + 1, sizeof *shas);
	struct conda_linked *linked = xcalloc((size_t)l->npkgs + 1, sizeof *linked);
	const char **specs = xcalloc((size_t)l->npkgs + 1, sizeof *specs);
	char *pyxy = NULL;
	char *prefix = xstrdup(l->prefix ? l->prefix : CONDA_DEFAULT_PREFIX);
	size_t nlinked = 0, nspecs = 0, failed0 = res->npyc_failed;
	int r, rootfd = b->txn->rootfd;
	int64_t t0 = pkgimg_now_ms(), t;

	for (int i = 0; i < l->npkgs; i++)
		if (!strcmp(l->pkgs[i].name, "python"))
			pyxy = image_python_xy(l->pkgs[i].version);
	r = fetch_conda(ctx, st, l, shas);
	if (r < 0)
		goto out;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "fetch: %d conda packages in %lld ms", l->npkgs, (long long)(t - t0));
	{
		struct conda_link_opts lo = { .prefix = prefix, .python_version = pyxy, .mtime = 0 };

		r = conda_prefix_init(ctx, rootfd, &lo);
		for (int i = 0; r == 0 && i < l->npkgs; i++) {
			const struct lock_pkg *p = &l->pkgs[i];
			struct conda_pkg_info info = {
				.channel = p->index, .url = p->url, .fn = p->filename,
				.md5 = p->md5, .sha256 = *p->sha256 ? p->sha256 : shas[i],
				.size = p->size, .requested_spec = conda_requested(p),
			};
			char *dir = NULL;

			pkgimg_progress(ctx, "unpack", p->name, (uint64_t)i, (uint64_t)l->npkgs, 0);
			r = conda_unpacked(ctx, st, shas[i], p->filename, &dir);
			if (r == 0)
				r = conda_pkg_link(ctx, dir, rootfd, &lo, &info, &linked[nlinked]);
			free(dir);
			if (r < 0) {
				pkgimg_err_wrap(ctx, r, "%s %s", p->name, p->version);
				break;
			}
			nlinked++;
			if (info.requested_spec)
				specs[nspecs++] = info.requested_spec;
		}
		pkgimg_progress(ctx, "unpack", NULL, (uint64_t)l->npkgs, (uint64_t)l->npkgs, 1);
		if (r == 0) {
			struct conda_history h = {
				.time = 0, .cmd = step, .linked = linked, .nlinked = nlinked,
				.update_specs = specs, .nupdate_specs = nspecs,
			};

			r = conda_history_append(ctx, rootfd, &lo, &h);
		}
		if (r < 0)
			goto out;
		t0 = t;
		t = pkgimg_now_ms();
		pkgimg_info(ctx, "install: %d conda packages in %lld ms", l->npkgs,
			    (long long)(t - t0));
		r = conda_layer_pyc(b, &lo, linked, nlinked);
		if (r < 0)
			goto out;
		pkgimg_info(ctx, "pyc: in %lld ms", (long long)(pkgimg_now_ms() - t));
	}
	r = image_commit_layer(b, LAYER_TIMES_ZERO, res, failed0);
out:
	for (size_t i = 0; i < nlinked; i++)
		conda_linked_free(&linked[i]);
	free(linked);
	free(specs);
	free(shas);
	free(prefix);
	free(pyxy);
	return r;
}
