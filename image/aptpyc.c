/* Timestamp pycs for what maintainer scripts compiled; see image/aptpyc.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/view.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "image/aptpyc.h"

#define PYC_HEADER 16
#define PYC_CHECKED_HASH 3u	/* PEP 552: hash-based (1) | check_source (2) */

struct pyc_walk {
	struct pkgimg_ctx *ctx;
	const char *what;
	char **trees;
	int n;
	size_t converted;
};

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* "/X/__pycache__/M.TAG[.opt-N].pyc" (dir = "/X/__pycache__") -> "/X/M.py",
 * or NULL when the name is not one py_compile gives. */
static char *pyc_source(const char *dir, const char *name)
{
	size_t dl = strlen(dir), len = strlen(name);
	char *base, *dot, *src;

	if (dl < 12 || strcmp(dir + dl - 12, "/__pycache__") || len < 5 ||
	    strcmp(name + len - 4, ".pyc"))
		return NULL;
	base = xstrndup(name, len - 4);
	dot = strrchr(base, '.');
	if (dot && !strncmp(dot, ".opt-", 5)) {
		*dot = 0;
		dot = strrchr(base, '.');
	}
	if (!dot || dot == base) {
		free(base);
		return NULL;
	}
	*dot = 0;
	src = xasprintf("%.*s/%s.py", (int)(dl - 12), dir, base);
	free(base);
	return src;
}

/* What the image has at src, links followed (as py_compile's stat does):
 * 0 with *sb (st_mode 0: nothing there, or too many links), or an error. */
static int source_stat(struct pyc_walk *w, const char *src, struct stat *sb)
{
	char *path = xstrdup(src);
	int r = 0;

	for (int hops = 0; hops < 16; hops++) {
		char *out = NULL, target[4096];
		ssize_t len = -1;

		r = view_resolve(w->ctx, w->what, "pyc", w->trees, w->n, path, &out, sb);
		if (r < 0 || !S_ISLNK(sb->st_mode)) {
			free(out);
			goto out;
		}
		for (int i = 0; i < w->n && len == -1; i++) {	/* the topmost layer's link */
			int tfd = open(w->trees[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC), dfd;
			const char *name;
			struct stat ls;

			/* no link followed on the way: a layer's own may lead out */
			if (tfd >= 0 && fs_open_parent(NULL, w->what, "pyc", tfd, out + 1, false, NULL,
						       &dfd, &name) == 0) {
				if (fstatat(dfd, name, &ls, AT_SYMLINK_NOFOLLOW) == 0)
					len = S_ISLNK(ls.st_mode)
					      ? readlinkat(dfd, name, target, sizeof target - 1) : -2;
				close(dfd);
			}
			if (tfd >= 0)
				close(tfd);
		}
		free(path);
		if (len < 0) {
			free(out);
			path = NULL;
			break;
		}
		target[len] = 0;
		if (target[0] == '/') {
			path = xstrdup(target);
		} else {
			*strrchr(out, '/') = 0;
			path = xasprintf("%s/%s", out, target);
		}
		free(out);
	}
	sb->st_mode = 0;
out:
	free(path);
	return r;
}

/* One pyc: its header rewritten when it is checked-hash and its source a
 * regular file of the image. */
static int pyc_fix(struct pyc_walk *w, int dirfd, const char *dir, const char *name)
{
	char *src = pyc_source(dir, name);
	unsigned char h[PYC_HEADER];
	struct stat sb;
	int fd = -1, r = 0;

	if (!src)
		return 0;
	fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    le32(h + 4) != PYC_CHECKED_HASH)
		goto out;
	r = source_stat(w, src, &sb);
	if (r < 0 || !S_ISREG(sb.st_mode))
		goto out;	/* no source: left as it is */
	put_le32(h + 4, 0);
	put_le32(h + 8, (uint32_t)sb.st_mtime);
	put_le32(h + 12, (uint32_t)sb.st_size);
	if (pwrite(fd, h + 4, 12, 4) != 12) {
		r = pkgimg_err(w->ctx, -errno, "%s: [pyc] cannot rewrite '%s/%s': %m", w->what,
			       dir, name);
		goto out;
	}
	w->converted++;
out:
	if (fd >= 0)
		close(fd);
	free(src);
	return r;
}

/* dir: the image path of the directory at dirfd ("" for the root). */
static int pyc_walk_dir(struct pyc_walk *w, int dirfd, const char *dir)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(dirfd);
		return 0;
	}
	while (r == 0 && (de = readdir(d))) {
		const char *name = de->d_name;
		struct stat sb;

		if (!strcmp(name, ".") || !strcmp(name, "..") ||
		    fstatat(dirfd, name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (S_ISDIR(sb.st_mode)) {
			int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char *sub;

			if (fd < 0)
				continue;
			sub = xasprintf("%s/%s", dir, name);
			r = pyc_walk_dir(w, fd, sub);
			free(sub);
		} else if (S_ISREG(sb.st_mode) && sb.st_size >= PYC_HEADER) {
			r = pyc_fix(w, dirfd, dir, name);
		}
	}
	closedir(d);
	return r;
}

int image_apt_pyc_timestamps(struct pkgimg_ctx *ctx, const char *what, const char *upper,
			     char **trees, int n, size_t *converted)
{
	struct pyc_walk w = { ctx, what, trees, n, 0 };
	int fd = open(upper, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC), r;

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [pyc] %s: %m", what, upper);
	r = pyc_walk_dir(&w, fd, "");
	if (r == 0 && converted)
		*converted = w.converted;
	return r;
}
