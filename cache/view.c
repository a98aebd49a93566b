/* An image's merged view, read from its layer trees (cache/view.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache/view.h"
#include "core/ctx.h"
#include "core/str.h"
#include "core/tree.h"

#define VIEW_MAX_LINKS 40	/* as the kernel's MAXSYMLINKS */

/* One directory of the path resolved so far: the directory in each layer
 * that shows through (top first; none when the image lacks it) and the
 * length of the resolved path up to it. */
struct frame {
	int *fds;
	int nfd;
	size_t len;
};

struct walk {
	struct pkgimg_ctx *ctx;
	const char *what, *phase;
	struct frame *fr;
	int nfr, cap;
	struct sbuf path;	/* resolved so far */
};

static void frame_close(struct frame *f)
{
	for (int i = 0; i < f->nfd; i++)
		close(f->fds[i]);
	free(f->fds);
	f->fds = NULL;
	f->nfd = 0;
}

static void walk_pop(struct walk *w)
{
	frame_close(&w->fr[--w->nfr]);
	w->path.len = w->fr[w->nfr - 1].len;
	w->path.buf[w->path.len] = 0;
}

/* What the image has at `name` in the current directory: *layer is the
 * index (in the frame) of the layer that shows it, -1 when nothing does. */
static int lookup(struct walk *w, const char *name, struct stat *sb, int *layer)
{
	struct frame *f = &w->fr[w->nfr - 1];

	*layer = -1;
	for (int i = 0; i < f->nfd; i++) {
		if (fstatat(f->fds[i], name, sb, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!tree_is_whiteout(sb))
				*layer = i;
			return 0;
		}
		if (errno != ENOENT)
			return pkgimg_err(w->ctx, -errno, "%s: [%s] cannot read '%s/%s' in the "
					  "image's layers: %m", w->what, w->phase, w->path.buf, name);
	}
	return 0;
}

/* Enters the directory `name` found in the frame's layer `top`: it is merged
 * with the same directory in the layers below until one of them has a
 * non-directory there, or the directory is opaque. */
static int enter(struct walk *w, const char *name, int top)
{
	struct frame *f = &w->fr[w->nfr - 1], nf = { 0 };
	struct stat sb;

	if (w->nfr == w->cap) {
		w->cap *= 2;
		w->fr = xrealloc(w->fr, (size_t)w->cap * sizeof *w->fr);
		f = &w->fr[w->nfr - 1];
	}
	nf.fds = xcalloc((size_t)f->nfd + 1, sizeof *nf.fds);
	for (int i = top; i >= 0 && i < f->nfd; i++) {
		int fd;

		if (fstatat(f->fds[i], name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT)
				continue;
			break;
		}
		if (!S_ISDIR(sb.st_mode))
			break;
		fd = openat(f->fds[i], name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			frame_close(&nf);
			errno = e;
			return pkgimg_err(w->ctx, -errno, "%s: [%s] cannot open '%s/%s' in the "
					  "image's layers: %m", w->what, w->phase, w->path.buf, name);
		}
		nf.fds[nf.nfd++] = fd;
		if (tree_is_opaque(fd))
			break;
	}
	sbuf_addf(&w->path, "/%s", name);
	nf.len = w->path.len;
	w->fr[w->nfr++] = nf;
	return 0;
}

int view_resolve(struct pkgimg_ctx *ctx, const char *what, const char *phase,
		 char **trees, int n, const char *path, char **out, struct stat *sbout)
{
	struct walk w = { .ctx = ctx, .what = what, .phase = phase };
	struct sbuf todo = SBUF_INIT, comp = SBUF_INIT;
	struct stat sb = { 0 };
	int r = 0, links = 0;

	w.cap = 16;
	w.fr = xcalloc((size_t)w.cap, sizeof *w.fr);
	w.fr[0].fds = xcalloc((size_t)n + 1, sizeof *w.fr[0].fds);
	w.nfr = 1;
	sbuf_grow(&w.path, 64);
	w.path.buf[0] = 0;
	for (int i = 0; i < n; i++) {
		int fd = open(trees[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (fd < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [%s] cannot open the layer %s: %m", what,
				       phase, trees[i]);
			goto out;
		}
		w.fr[0].fds[w.fr[0].nfd++] = fd;
	}
	sbuf_adds(&todo, path);
	for (;;) {
		const char *p = todo.buf, *end;
		int layer;
		bool last;

		while (*p == '/')
			p++;
		end = p + strcspn(p, "/");
		sbuf_reset(&comp);
		sbuf_add(&comp, p, (size_t)(end - p));
		while (*end == '/')
			end++;
		last = *end == 0;
		memmove(todo.buf, end, strlen(end) + 1);
		todo.len = strlen(todo.buf);
		if (comp.len == 0 || !strcmp(comp.buf, ".")) {
			if (last)
				break;
			continue;
		}
		if (!strcmp(comp.buf, "..")) {
			if (w.nfr > 1)
				walk_pop(&w);
			if (last)
				break;
			continue;
		}
		r = lookup(&w, comp.buf, &sb, &layer);
		if (r < 0)
			goto out;
		if (layer < 0)
			memset(&sb, 0, sizeof sb);
		if (last) {	/* not followed */
			sbuf_addf(&w.path, "/%s", comp.buf);
			goto done;
		}
		if (layer >= 0 && S_ISLNK(sb.st_mode)) {
			struct frame *f = &w.fr[w.nfr - 1];
			char target[PATH_MAX];
			ssize_t tn;
			char *rest;

			if (++links > VIEW_MAX_LINKS) {
				r = pkgimg_err(ctx, -ELOOP, "%s: [%s] '%s' in the image: too many "
					       "levels of symbolic links", what, phase, path);
				goto out;
			}
			tn = readlinkat(f->fds[layer], comp.buf, target, sizeof target - 1);
			if (tn < 0) {
				r = pkgimg_err(ctx, -errno, "%s: [%s] cannot read the link '%s/%s' "
					       "in the image: %m", what, phase, w.path.buf, comp.buf);
				goto out;
			}
			target[tn] = 0;
			if (target[0] == '/')
				while (w.nfr > 1)
					walk_pop(&w);
			rest = xasprintf("%s/%s", target, todo.buf);
			sbuf_reset(&todo);
			sbuf_adds(&todo, rest);
			free(rest);
			continue;
		}
		if (layer >= 0 && !S_ISDIR(sb.st_mode)) {
			r = pkgimg_err(ctx, -ENOTDIR, "%s: [%s] '%s/%s' is a file in the image, "
				       "not a directory; choose another destination", what, phase,
				       w.path.buf, comp.buf);
			goto out;
		}
		r = enter(&w, comp.buf, layer);
		if (r < 0)
			goto out;
	}
	memset(&sb, 0, sizeof sb);
	if (w.nfr > 1) {	/* the path names a directory reached by ".." or "/" */
		int layer;
		char *name = xstrdup(strrchr(w.path.buf, '/') + 1);

		walk_pop(&w);
		r = lookup(&w, name, &sb, &layer);
		if (r == 0 && layer < 0)
			memset(&sb, 0, sizeof sb);
		sbuf_addf(&w.path, "/%s", name);
		free(name);
		if (r < 0)
			goto out;
	} else {
		if (n > 0 && fstat(w.fr[0].fds[0], &sb) < 0)
			memset(&sb, 0, sizeof sb);
	}
done:
	*out = xstrdup(w.path.len ? w.path.buf : "/");
	if (sbout)
		*sbout = sb;
out:
	while (w.nfr > 0)
		frame_close(&w.fr[--w.nfr]);
	free(w.fr);
	sbuf_free(&w.path);
	sbuf_free(&todo);
	sbuf_free(&comp);
	return r;
}

bool view_transparent(const char *tree, const char *path)
{
	int dfd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool clear = dfd >= 0;
	char comp[NAME_MAX + 1];

	while (clear) {
		struct stat sb;
		size_t n;
		int fd;

		while (*path == '/')
			path++;
		n = strcspn(path, "/");
		if (n == 0 || n > NAME_MAX) {	/* "/" itself, or a name too long */
			clear = false;
			break;
		}
		memcpy(comp, path, n);
		comp[n] = 0;
		path += n;
		while (*path == '/')
			path++;
		if (fstatat(dfd, comp, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			clear = errno == ENOENT;	/* nothing here, nor below it */
			break;
		}
		if (!*path || !S_ISDIR(sb.st_mode)) {	/* the entry itself, or hidden by it */
			clear = false;
			break;
		}
		fd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		dfd = fd;
		clear = fd >= 0 && !tree_is_opaque(fd);
	}
	if (dfd >= 0)
		close(dfd);
	return clear;
}

/* How layer `tree` treats the absolute, link-free `path`: 1 it has it (*sb
 * filled), 0 it leaves it to the layers below, -1 it hides it (a whiteout,
 * a non-directory on the way, or an opaque directory on the way that lacks
 * the rest of the path). */
static int layer_has(const char *tree, const char *path, struct stat *sb)
{
	struct sbuf p = SBUF_INIT;
	const char *s = path;
	int res = 0;

	sbuf_adds(&p, tree);
	while (*s == '/')
		s++;
	while (*s) {
		size_t len = strcspn(s, "/");
		bool last = s[len] == '\0' || s[len + strspn(s + len, "/")] == '\0';
		int fd;

		sbuf_addf(&p, "/%.*s", (int)len, s);
		s += len;
		while (*s == '/')
			s++;
		if (lstat(p.buf, sb) < 0) {
			res = 0;
			break;
		}
		if (tree_is_whiteout(sb)) {
			res = -1;
			break;
		}
		if (last) {
			res = 1;
			break;
		}
		if (!S_ISDIR(sb->st_mode)) {
			res = -1;
			break;
		}
		fd = open(p.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0 && tree_is_opaque(fd))
			res = -1;	/* unless a deeper component is here: checked on */
		if (fd >= 0)
			close(fd);
		if (res < 0) {
			/* an opaque directory: what it lacks is gone */
			struct stat rest;
			char *full = xasprintf("%s/%s", tree, path);

			res = lstat(full, &rest) == 0 ? (tree_is_whiteout(&rest) ? -1 : 1) : -1;
			if (res > 0)
				*sb = rest;
			free(full);
			break;
		}
	}
	sbuf_free(&p);
	return res;
}

int view_layer_of(char **trees, int n, const char *path, struct stat *sb)
{
	struct stat tmp;

	for (int i = 0; i < n; i++) {
		int h = layer_has(trees[i], path, sb ? sb : &tmp);

		if (h > 0)
			return i;
		if (h < 0)
			return -1;
	}
	return -1;
}

int view_list(struct pkgimg_ctx *ctx, char **trees, int n, const char *dir, struct strv *out)
{
	struct strv seen = { 0 }, names = { 0 };
	int r = 0;

	for (int i = 0; i < n; i++) {
		struct stat sb;
		int h = layer_has(trees[i], dir, &sb), fd;
		char *p;
		DIR *d;
		struct dirent *e;
		bool opaque;

		if (h < 0 || (h > 0 && !S_ISDIR(sb.st_mode)))
			break;
		if (h == 0)
			continue;
		p = xasprintf("%s/%s", trees[i], dir);
		fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		free(p);
		if (fd < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [view] cannot open it in layer %s: %m", dir,
				       trees[i]);
			break;
		}
		opaque = tree_is_opaque(fd);
		d = fdopendir(fd);
		if (!d) {
			close(fd);
			r = pkgimg_err(ctx, -errno, "%s: [view] cannot read it: %m", dir);
			break;
		}
		while ((e = readdir(d))) {
			struct stat es;
			bool dup = false;

			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			for (size_t k = 0; k < seen.n && !dup; k++)
				dup = !strcmp(seen.v[k], e->d_name);
			if (dup)
				continue;
			strv_add(&seen, e->d_name);
			if (fstatat(dirfd(d), e->d_name, &es, AT_SYMLINK_NOFOLLOW) == 0 &&
			    tree_is_whiteout(&es))
				continue;
			strv_add(&names, e->d_name);
		}
		closedir(d);
		if (opaque)
			break;
	}
	if (r == 0) {
		strv_sort(&names);
		strv_free(out);
		*out = names;
		memset(&names, 0, sizeof names);
	}
	strv_free(&names);
	strv_free(&seen);
	return r;
}
