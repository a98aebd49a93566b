/* File-system helpers used across the engine (see core/fs.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"

int fs_mkdirs(struct pkgimg_ctx *ctx, int dirfd, const char *path, mode_t mode)
{
	char *p = xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == 0) {
			char c = *s;

			*s = 0;
			if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST) {
				r = pkgimg_err(ctx, -errno, "%s: [mkdir] cannot create: %m", p);
				break;
			}
			*s = c;
			if (!c)
				break;
		}
	}
	free(p);
	return r;
}

static int rm_at(struct pkgimg_ctx *ctx, int dfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : pkgimg_err(ctx, -errno, "%s: [remove] %m", name);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return pkgimg_err(ctx, -errno, "%s: [remove] %m", name);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [remove] %m", name);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return pkgimg_err(ctx, -errno, "%s: [remove] %m", name);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = rm_at(ctx, dirfd(d), de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = pkgimg_err(ctx, -errno, "%s: [remove] %m", name);
	return r;
}

int fs_rm_rf(struct pkgimg_ctx *ctx, int dirfd, const char *path)
{
	return rm_at(ctx, dirfd, path);
}

int fs_read_file(struct pkgimg_ctx *ctx, int dirfd, const char *path, struct sbuf *out)
{
	char buf[65536];
	ssize_t n;
	int fd;

	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [read] cannot open: %m", path);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sbuf_add(out, buf, (size_t)n);
	if (n < 0) {
		int e = errno;

		close(fd);
		return pkgimg_err(ctx, -e, "%s: [read] %s", path, strerror(e));
	}
	if (!out->buf)
		sbuf_add(out, "", 0);
	close(fd);
	return 0;
}

char *fs_which(const char *name, const char *path, bool *noexec)
{
	const char *p = path, *end;
	struct stat st;

	if (noexec)
		*noexec = false;
	for (; p; p = *end ? end + 1 : NULL) {
		char *cand;

		end = strchrnul(p, ':');
		cand = end == p ? xasprintf("./%s", name) : xasprintf("%.*s/%s", (int)(end - p), p, name);
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(cand, X_OK) == 0)
				return cand;
			if (noexec)
				*noexec = true;
		}
		free(cand);
	}
	return NULL;
}

int fs_write_all(int fd, const void *data, size_t n)
{
	const char *p = data;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int fs_copy_data(int in, int out)
{
	char buf[65536];
	ssize_t n;

	for (;;) {
		ssize_t w = copy_file_range(in, NULL, out, NULL, 1 << 30, 0);

		if (w > 0)
			continue;
		if (w == 0)
			return 0;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		break;	/* across file systems, or not supported: read and write */
	}
	while ((n = read(in, buf, sizeof buf)) != 0) {
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		r = fs_write_all(out, buf, (size_t)n);
		if (r < 0)
			return r;
	}
	return 0;
}

int fs_write_file(struct pkgimg_ctx *ctx, int dirfd, const char *path,
		  const void *data, size_t len, mode_t mode)
{
	char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
	int fd, r = 0;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [write] cannot create: %m", path);
		goto out;
	}
	r = fs_write_all(fd, data, len);
	if (r < 0)
		r = pkgimg_err(ctx, r, "%s: [write] %s", path, strerror(-r));
	if (fchmod(fd, mode) < 0 && r == 0)
		r = pkgimg_err(ctx, -errno, "%s: [write] chmod: %m", path);
	if (close(fd) < 0 && r == 0)
		r = pkgimg_err(ctx, -errno, "%s: [write] %m", path);
	if (r == 0 && renameat(dirfd, tmp, dirfd, path) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [write] rename: %m", path);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
out:
	free(tmp);
	return r;
}

static int size_at(struct pkgimg_ctx *ctx, int dfd, const char *name,
		   unsigned long long *bytes)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pkgimg_err(ctx, -errno, "%s: [size] %m", name);
	if (!S_ISDIR(st.st_mode)) {
		if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode))
			*bytes += (unsigned long long)st.st_size;
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = pkgimg_err(ctx, -errno, "%s: [size] %m", name);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while ((de = readdir(d)) && r == 0) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			r = size_at(ctx, dirfd(d), de->d_name, bytes);
	}
	closedir(d);
	return r;
}

int fs_tree_size(struct pkgimg_ctx *ctx, int dirfd, const char *path, unsigned long long *bytes)
{
	unsigned long long n = 0;
	int r = size_at(ctx, dirfd, path, &n);

	if (r == 0)
		*bytes = n;
	return r;
}

bool dirfd_cache_get(const struct dirfd_cache *c, const char *path, int *dirfd, const char **name)
{
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path) : 0;

	if (!c->dir || strlen(c->dir) != dlen || strncmp(c->dir, path, dlen))
		return false;
	*dirfd = c->fd;
	*name = slash ? slash + 1 : path;
	return true;
}

void dirfd_cache_set(struct dirfd_cache *c, const char *path, int fd)
{
	const char *slash = strrchr(path, '/');

	dirfd_cache_drop(c);
	c->dir = xstrndup(path, slash ? (size_t)(slash - path) : 0);
	c->fd = fd;
}

int dirfd_cache_open_parent(struct dirfd_cache *c, struct pkgimg_ctx *ctx, const char *thing,
			    const char *phase, int basefd, const char *path, struct strv *made,
			    int *dirfd, const char **name)
{
	int fd, r;

	if (dirfd_cache_get(c, path, dirfd, name))
		return 0;
	dirfd_cache_drop(c);
	r = fs_open_parent(ctx, thing, phase, basefd, path, true, made, &fd, name);
	if (r < 0)
		return r;
	dirfd_cache_set(c, path, fd);
	*dirfd = fd;
	return 0;
}

void dirfd_cache_drop(struct dirfd_cache *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->dir);
	c->dir = NULL;
}

const char *path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

char *path_join(const char *dir, const char *rest)
{
	return *dir ? xasprintf("%s/%s", dir, rest) : xstrdup(rest);
}

char *path_abs(const char *path)
{
	char cwd[4096];

	if (path[0] == '/' || !getcwd(cwd, sizeof cwd))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

bool fs_exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

bool fs_path_norm(const char *raw, bool abs_ok, struct sbuf *out, const char **why)
{
	const char *p = raw;

	sbuf_reset(out);
	sbuf_add(out, "", 0);
	if (!abs_ok && *raw == '/') {
		*why = "absolute path";
		return false;
	}
	if (strpbrk(raw, "\n\r")) {
		*why = "line break in the path";
		return false;
	}
	while (*p) {
		const char *c;
		size_t n;

		while (*p == '/')
			p++;
		c = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - c);
		if (n == 0 || (n == 1 && c[0] == '.'))
			continue;
		if (n == 2 && c[0] == '.' && c[1] == '.') {
			*why = "'..' in the path";
			return false;
		}
		if (out->len)
			sbuf_addc(out, '/');
		sbuf_add(out, c, n);
	}
	return true;
}

int fs_open_parent(struct pkgimg_ctx *ctx, const char *thing, const char *phase, int basefd,
		   const char *path, bool create, struct strv *made, int *dirfd,
		   const char **name)
{
	char *buf = xstrdup(path), *c = buf, *slash;
	int cur = -1, fd, r = 0;

	while ((slash = strchr(c, '/'))) {
		int at = cur >= 0 ? cur : basefd;
		bool created = false;

		*slash = 0;
		fd = openat(at, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT && create) {
			if (mkdirat(at, c, 0755) == 0)
				created = true;
			else if (errno != EEXIST) {
				r = pkgimg_err(ctx, -errno, "%s: [%s] cannot create '%s': %m",
					       thing, phase, buf);
				goto out;
			}
			fd = openat(at, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int e = errno;
			struct stat st;

			if ((e == ELOOP || e == ENOTDIR) &&
			    fstatat(at, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
				r = pkgimg_err(ctx, -PKGIMG_E_UNSAFE,
					       "%s: [%s] refusing to write '%s': '%s' is a symlink, and "
					       "nothing is written through a symlink; make it a real "
					       "directory in an earlier step, or write to the directory "
					       "it links to", thing, phase, path, buf);
			else
				r = pkgimg_err(ctx, -e, "%s: [%s] cannot open '%s': '%s': %s",
					       thing, phase, path, buf, strerror(e));
			goto out;
		}
		if (created) {
			fchmod(fd, 0755);	/* the umask must not decide the mode */
			if (made)
				strv_add(made, buf);
		}
		if (cur >= 0)
			close(cur);
		cur = fd;
		*slash = '/';
		c = slash + 1;
	}
	if (cur < 0) {
		cur = fcntl(basefd, F_DUPFD_CLOEXEC, 3);
		if (cur < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [%s] %m", thing, phase);
			goto out;
		}
	}
	*dirfd = cur;
	*name = path + (c - buf);
	cur = -1;
out:
	if (cur >= 0)
		close(cur);
	free(buf);
	return r;
}

/* For the entries under dirfd and dirfd itself: mtime 0 for those whose
 * mtime is at or after `since` (all of them when since is 0, none when it
 * is negative), a file with other hard links left alone (it is shared with
 * a cache and has its artifact's time); with `root`, owner 0:0. */
static int tree_fix(struct pkgimg_ctx *ctx, int dirfd, const char *path, int64_t since, bool root)
{
	static const struct timespec zero[2] = { { 0, 0 }, { 0, 0 } };
	/* a new open file description: a dup() would share (and leave at
	 * the end) the caller's directory offset */
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fd < 0 || !(d = fdopendir(fd))) {
		if (fd >= 0)
			close(fd);
		return pkgimg_err(ctx, -errno, "%s: [commit] %m", path);
	}
	while (r == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [commit] %m", path, de->d_name);
			break;
		}
		if (root && (st.st_uid || st.st_gid) &&
		    fchownat(dirfd, de->d_name, 0, 0, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [commit] cannot chown: %m", path,
				       de->d_name);
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			char *p = xasprintf("%s/%s", path, de->d_name);

			r = sub < 0 ? pkgimg_err(ctx, -errno, "%s: [commit] %m", p)
				: tree_fix(ctx, sub, p, since, root);
			if (sub >= 0)
				close(sub);
			free(p);
			if (r < 0)
				break;
		} else if (since < 0 || st.st_nlink > 1 || st.st_mtime < since) {
			continue;
		}
		if (since >= 0 && st.st_mtime >= since &&
		    utimensat(dirfd, de->d_name, zero, AT_SYMLINK_NOFOLLOW) < 0)
			r = pkgimg_err(ctx, -errno, "%s/%s: [commit] cannot set its time: %m", path,
				       de->d_name);
	}
	closedir(d);
	if (r < 0 || fstat(dirfd, &st) < 0)
		return r;
	if (root && (st.st_uid || st.st_gid) && fchown(dirfd, 0, 0) < 0 && errno != EPERM)
		r = pkgimg_err(ctx, -errno, "%s: [commit] cannot chown: %m", path);
	if (r == 0 && since >= 0 && st.st_mtime >= since && futimens(dirfd, zero) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [commit] cannot set its time: %m", path);
	return r;
}

int fs_tree_times_zero(struct pkgimg_ctx *ctx, int dirfd, const char *path)
{
	return tree_fix(ctx, dirfd, path, 0, false);
}

int fs_tree_clamp_times(struct pkgimg_ctx *ctx, int dirfd, const char *path, int64_t since)
{
	return tree_fix(ctx, dirfd, path, since, false);
}

int fs_tree_chown_root(struct pkgimg_ctx *ctx, int dirfd, const char *path)
{
	return tree_fix(ctx, dirfd, path, -1, true);
}

/* ---- paths confined to a directory (a build context) ---- */

/* abs (absolute) with "." and ".." applied lexically, as if no component
 * were a symlink. */
static char *lexical_abs(const char *abs)
{
	struct strv comps = { 0 };
	struct sbuf sb = SBUF_INIT;
	struct blob rest = BLOB_STR(abs), c;

	while (rest.len) {
		blob_split(&rest, '/', &c);
		if (!c.len || blob_eq_str(c, "."))
			continue;
		if (blob_eq_str(c, "..")) {
			if (comps.n)
				free(comps.v[--comps.n]);
			continue;
		}
		strv_push(&comps, blob_dup(c));
	}
	for (size_t i = 0; i < comps.n; i++) {
		sbuf_addc(&sb, '/');
		sbuf_adds(&sb, comps.v[i]);
	}
	if (!sb.len)
		sbuf_addc(&sb, '/');
	strv_free(&comps);
	return sbuf_detach(&sb);
}

static bool path_under(const char *p, const char *root)
{
	size_t n = strlen(root);

	if (n == 1 && root[0] == '/')
		return p[0] == '/';
	return !strncmp(p, root, n) && (p[n] == 0 || p[n] == '/');
}

/* s in single quotes for a message: control characters as \xHH, cut after
 * about 200 bytes. */
static void add_quoted(struct sbuf *sb, const char *s)
{
	size_t n = 0;

	sbuf_addc(sb, '\'');
	for (; *s && n < 200; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f || c == '\\' || c == '\'')
			sbuf_addf(sb, "\\x%02x", c);
		else
			sbuf_addc(sb, (char)c);
	}
	if (*s)
		sbuf_adds(sb, "...");
	sbuf_addc(sb, '\'');
}

int fs_path_within(struct pkgimg_ctx *ctx, const char *root, const char *base, const char *path,
		   const char *what, const char *fix, char **out)
{
	char *abs, *real, *lex;
	struct sbuf qp = SBUF_INIT;
	bool lex_in;
	int r = 0;

	abs = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", base, path);
	lex = lexical_abs(abs);
	lex_in = path_under(lex, root);
	add_quoted(&qp, path);
	real = realpath(abs, NULL);
	if (!real) {
		int e = errno;

		/* what is outside is not looked at, not even whether it exists */
		if (!lex_in)
			r = pkgimg_err(ctx, -EXDEV, "%s %s is outside the build context %s; %s",
				       what, qp.buf, root, fix);
		else
			r = pkgimg_err(ctx, -e, "%s %s: %s (paths are relative to %s)", what,
				       qp.buf, strerror(e), base);
	} else if (!path_under(real, root)) {
		if (lex_in)
			r = pkgimg_err(ctx, -EXDEV, "%s %s is a symlink, or passes through one, "
				       "that leads outside the build context %s; %s", what, qp.buf,
				       root, fix);
		else
			r = pkgimg_err(ctx, -EXDEV, "%s %s is outside the build context %s; %s",
				       what, qp.buf, root, fix);
	}
	if (r == 0) {
		*out = real;
		real = NULL;
	}
	free(real);
	free(lex);
	free(abs);
	sbuf_free(&qp);
	return r;
}

static void fs_size_text(uint64_t b, char *buf, size_t cap)
{
	if (b >= (10ull << 30))
		snprintf(buf, cap, "%.1f GiB", (double)b / (1 << 30));
	else if (b >= (10ull << 20))
		snprintf(buf, cap, "%llu MiB", (unsigned long long)(b >> 20));
	else
		snprintf(buf, cap, "%llu KiB", (unsigned long long)((b + 1023) >> 10));
}

void fs_nospace_note(int err, int fd, uint64_t needed, char *buf, size_t cap)
{
	char link[64], dir[4096], avail[32], need[32];
	struct statvfs vfs;
	ssize_t n;

	if (!cap)
		return;
	buf[0] = 0;
	if (err < 0)
		err = -err;
	if (err != ENOSPC && err != EDQUOT)
		return;
	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, dir, sizeof dir - 1);
	dir[n > 0 ? n : 0] = 0;
	if (n > 0 && strrchr(dir, '/') && strrchr(dir, '/') != dir)
		*strrchr(dir, '/') = 0;	/* the file's folder */
	if (fstatvfs(fd, &vfs) < 0) {
		snprintf(buf, cap, "; %s is full: free space there, or give the store another disk "
			 "(--store, PKGIMG_HOME)", n > 0 ? dir : "the file system");
		return;
	}
	fs_size_text((uint64_t)vfs.f_bavail * vfs.f_frsize, avail, sizeof avail);
	if (needed)
		fs_size_text(needed, need, sizeof need);
	snprintf(buf, cap, "; %s has %s free, %s%s: free space there, or give the store another "
		 "disk (--store, PKGIMG_HOME)", n > 0 ? dir : "the file system", avail,
		 needed ? need : "more", needed ? " needed" : " is needed");
}
