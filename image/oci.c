/* OCI export: image layout, layout archive, rootfs (image/oci.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>

#include "image/oci.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/tree.h"
#include "runtime/sandbox.h"

#define KEY_PREFIX "sha256:"
#define KEY_PREFIX_LEN 7
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define REF_NAME_MAX 255
#define JSON_FLAGS (JSON_SORT_KEYS | JSON_COMPACT)

/* ---- small helpers ---------------------------------------------------- */


static bool is_key(const char *key)
{
	if (!key || strncmp(key, KEY_PREFIX, KEY_PREFIX_LEN) || strlen(key) != KEY_PREFIX_LEN + 64)
		return false;
	for (const char *p = key + KEY_PREFIX_LEN; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return false;
	return true;
}

static bool ref_alnum(char c)
{
	return ascii_isalnum(c);
}

int oci_ref_name_valid(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n > REF_NAME_MAX)
		return 0;
	/* ref ::= component ("/" component)*; component ::= alphanum (separator
	 * alphanum)*; separator ::= [-._:@+] | "--" */
	for (size_t i = 0; i < n; ) {
		if (!ref_alnum(name[i]))
			return 0;
		while (i < n && ref_alnum(name[i]))
			i++;
		if (i == n)
			break;
		if (name[i] == '/') {
			i++;
			if (i == n)
				return 0;
			continue;
		}
		if (name[i] == '-' && i + 1 < n && name[i + 1] == '-')
			i += 2;
		else if (strchr("-._:@+", name[i]))
			i++;
		else
			return 0;
		if (i == n)
			return 0;
	}
	return 1;
}

/* Debian architecture → OCI (GOARCH) architecture and variant. */
void oci_platform(const char *debarch, const char **arch, const char **variant)
{
	static const struct {
		const char *deb, *arch, *variant;
	} map[] = {
		{ "amd64", "amd64", NULL }, { "arm64", "arm64", NULL },
		{ "armhf", "arm", "v7" }, { "armel", "arm", "v5" }, { "i386", "386", NULL },
		{ "ppc64el", "ppc64le", NULL }, { "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL }, { "mips64el", "mips64le", NULL },
		{ "mipsel", "mipsle", NULL }, { "loong64", "loong64", NULL },
	};

	*arch = debarch && *debarch ? debarch : "amd64";
	*variant = NULL;
	for (size_t i = 0; i < sizeof map / sizeof *map; i++) {
		if (!strcmp(*arch, map[i].deb)) {
			*arch = map[i].arch;
			*variant = map[i].variant;
			return;
		}
	}
}

/* A copy of path without trailing slashes ("/" stays "/"). */
static char *path_trim(const char *path)
{
	char *p = xstrdup(path);
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		p[--n] = 0;
	return p;
}

/* dir must be absent or an empty directory. */
static int check_dest_dir(struct pkgimg_ctx *ctx, const char *dir, const char *opt)
{
	struct dirent *de;
	struct stat sb;
	DIR *d;
	int r = 0;

	if (!*dir || !strcmp(dir, "/"))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s '%s': [export] give a new directory",
				  opt, dir);
	if (lstat(dir, &sb) < 0) {
		if (errno == ENOENT)
			return 0;
		return pkgimg_err(ctx, -errno, "%s %s: [export] %m", opt, dir);
	}
	if (!S_ISDIR(sb.st_mode))
		return pkgimg_err(ctx, -EEXIST, "%s %s: [export] exists and is not a directory; "
				  "give a new or empty directory, or remove it first", opt, dir);
	d = opendir(dir);
	if (!d)
		return pkgimg_err(ctx, -errno, "%s %s: [export] cannot read the directory: %m",
				  opt, dir);
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			r = pkgimg_err(ctx, -ENOTEMPTY, "%s %s: [export] the directory is not empty; "
				       "give a new or empty directory, or remove it first", opt, dir);
			break;
		}
	}
	closedir(d);
	return r;
}

/* mkdtemp "<dir>.tmp-XXXXXX" beside dir. */
static int mktemp_beside(struct pkgimg_ctx *ctx, const char *dir, const char *opt, char **tmp)
{
	char *p = xasprintf("%s.tmp-XXXXXX", dir);

	if (!mkdtemp(p)) {
		int e = errno;

		free(p);
		return pkgimg_err(ctx, -e, "%s %s: [export] cannot create a temporary directory "
				  "beside it: %s", opt, dir, strerror(e));
	}
	*tmp = p;
	return 0;
}

/* rename tmp to dir (absent or an empty directory). */
static int rename_into(struct pkgimg_ctx *ctx, const char *tmp, const char *dir, const char *opt)
{
	if (rename(tmp, dir) == 0)
		return 0;
	if (errno == ENOTEMPTY || errno == EEXIST || errno == ENOTDIR || errno == EISDIR)
		return pkgimg_err(ctx, -errno, "%s %s: [export] appeared meanwhile and is not an "
				  "empty directory; give a new or empty directory", opt, dir);
	return pkgimg_err(ctx, -errno, "%s %s: [export] cannot rename %s to it: %m", opt, dir, tmp);
}

/* ---- hard links --------------------------------------------------------- */

struct link_ent {
	dev_t dev;
	ino_t ino;
	char *path;	/* NULL: a free slot */
};

struct linkmap {
	struct link_ent *v;
	size_t cap, n;
};

static size_t link_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9E3779B97F4A7C15ull ^ (uint64_t)dev * 0xC2B2AE3D27D4EB4Full;

	return (size_t)(h ^ (h >> 31));
}

static void linkmap_grow(struct linkmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 256, mask = cap - 1;
	struct link_ent *v = xcalloc(cap, sizeof *v);

	for (size_t i = 0; i < m->cap; i++) {
		struct link_ent *e = &m->v[i];
		size_t j = link_hash(e->dev, e->ino) & mask;

		if (!e->path)
			continue;
		while (v[j].path)
			j = (j + 1) & mask;
		v[j] = *e;
	}
	free(m->v);
	m->v = v;
	m->cap = cap;
}

/* The first path recorded for (dev, ino), or NULL after recording path. */
static const char *linkmap_first(struct linkmap *m, dev_t dev, ino_t ino, const char *path)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap)
		linkmap_grow(m);
	for (j = link_hash(dev, ino) & (m->cap - 1); m->v[j].path; j = (j + 1) & (m->cap - 1))
		if (m->v[j].dev == dev && m->v[j].ino == ino)
			return m->v[j].path;
	m->v[j].dev = dev;
	m->v[j].ino = ino;
	m->v[j].path = xstrdup(path);
	m->n++;
	return NULL;
}

static void linkmap_free(struct linkmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof *m);
}

/* ---- deterministic tar writer --------------------------------------------- */

struct tarw {
	struct pkgimg_ctx *ctx;
	struct archive *a;
	struct archive_entry *e;
	int fd;			/* output */
	struct hasher h;
	uint64_t size;		/* bytes written */
	int werr;		/* errno of a failed write */
	const char *what;	/* the layer key, or the output, for messages */
	const char *out;	/* the output file, for messages */
	bool layout;		/* the layout archive: mtime 0, modes 0755/0644 */
	uid_t map_uid;		/* written as 0 */
	gid_t map_gid;
	struct linkmap links;
	struct sbuf path;	/* the entry's path in the archive, no "./", no trailing "/" */
	char *buf;
};

static la_ssize_t tarw_write_cb(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct tarw *t = arg;
	int r = fs_write_all(t->fd, buf, n);

	if (r < 0) {
		t->werr = -r;
		archive_set_error(a, -r, "%s", strerror(-r));
		return -1;
	}
	hasher_update(&t->h, buf, n);
	t->size += n;
	return (la_ssize_t)n;
}

static int tarw_open(struct tarw *t, struct pkgimg_ctx *ctx, int fd, const char *what,
		     const char *out)
{
	memset(t, 0, sizeof *t);
	t->ctx = ctx;
	t->fd = fd;
	t->what = what;
	t->out = out;
	if (hasher_init(&t->h, "sha256") < 0)
		return pkgimg_err(ctx, -ENOMEM, "%s: [export] cannot start a sha256", what);
	t->a = archive_write_new();
	t->e = archive_entry_new();
	t->buf = xmalloc(1 << 16);
	if (!t->a || !t->e)
		return pkgimg_err(ctx, -ENOMEM, "%s: [export] out of memory", what);
	/* xattrs as SCHILY.xattr.* records, what Docker and umoci read */
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(t->a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_add_filter_none(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(t->a, 1) != ARCHIVE_OK ||
	    archive_write_open(t->a, t, NULL, tarw_write_cb, NULL) != ARCHIVE_OK)
		return pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [export] cannot start the tar "
				  "archive %s: %s", what, out, archive_error_string(t->a));
	return 0;
}

static int tarw_error(struct tarw *t, const char *action)
{
	if (t->werr)
		return pkgimg_err(t->ctx, -t->werr, "%s: [export] cannot write %s: %s", t->what,
				  t->out, strerror(t->werr));
	return pkgimg_err(t->ctx, -PKGIMG_E_ARCHIVE, "%s: [export] %s '%s' in %s: %s", t->what,
			  action, archive_entry_pathname(t->e) ? archive_entry_pathname(t->e) : "",
			  t->out,
			  archive_error_string(t->a) ? archive_error_string(t->a) : "tar error");
}

/* Ends the archive; *hex and *size describe what was written. */
static int tarw_close(struct tarw *t, char hex[65], uint64_t *size)
{
	if (archive_write_close(t->a) != ARCHIVE_OK) {
		if (t->werr)
			return tarw_error(t, NULL);
		return pkgimg_err(t->ctx, -PKGIMG_E_ARCHIVE, "%s: [export] cannot finish %s: %s",
				  t->what, t->out, archive_error_string(t->a));
	}
	hasher_final_hex(&t->h, hex);
	*size = t->size;
	return 0;
}

static void tarw_free(struct tarw *t)
{
	if (t->a)
		archive_write_free(t->a);	/* closes it too, when still open */
	if (t->e)
		archive_entry_free(t->e);
	hasher_free(&t->h);
	linkmap_free(&t->links);
	sbuf_free(&t->path);
	free(t->buf);
	memset(t, 0, sizeof *t);
}

/* An entry for t->path (with suffix appended when not NULL). */
static struct archive_entry *tarw_entry(struct tarw *t, const char *suffix, mode_t type,
					const struct stat *sb)
{
	struct archive_entry *e = archive_entry_clear(t->e);
	size_t len = t->path.len;

	if (suffix) {
		sbuf_adds(&t->path, len ? "/" : "");
		sbuf_adds(&t->path, suffix);
	}
	archive_entry_copy_pathname(e, t->path.buf);
	t->path.len = len;
	if (t->path.buf)
		t->path.buf[len] = 0;
	archive_entry_set_filetype(e, type);
	if (t->layout || !sb) {
		/* the layout archive, or a whiteout marker */
		archive_entry_set_perm(e, type == AE_IFDIR ? 0755 : 0644);
		archive_entry_set_mtime(e, 0, 0);
		archive_entry_set_uid(e, 0);
		archive_entry_set_gid(e, 0);
	} else {
		archive_entry_set_perm(e, sb->st_mode & 07777);
		archive_entry_set_mtime(e, sb->st_mtim.tv_sec, 0);
		archive_entry_set_uid(e, sb->st_uid == t->map_uid ? 0 : sb->st_uid);
		archive_entry_set_gid(e, sb->st_gid == t->map_gid ? 0 : sb->st_gid);
	}
	archive_entry_set_size(e, 0);
	return e;
}

/* An empty regular file marker (a whiteout), mode 0644, mtime 0. */
static int tarw_marker(struct tarw *t, const char *name)
{
	struct archive_entry *e = tarw_entry(t, name, AE_IFREG, NULL);

	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		return tarw_error(t, "cannot write the whiteout for");
	return 0;
}

static bool xattr_is(int fd, const char *name, const char *want)
{
	char v[8];
	ssize_t n = fgetxattr(fd, name, v, sizeof v);

	return n >= 0 && (!want || ((size_t)n == strlen(want) && !memcmp(v, want, (size_t)n)));
}

static bool overlay_xattr_is(int fd, const char *what, const char *want)
{
	char t[64], u[64];

	snprintf(t, sizeof t, "trusted.overlay.%s", what);
	snprintf(u, sizeof u, "user.overlay.%s", what);
	return xattr_is(fd, u, want) || xattr_is(fd, t, want);
}

/* The file's extended attributes an image carries, in name order: file
 * capabilities (security.capability, e.g. ping's cap_net_raw) and user.*;
 * not overlayfs' own, nor labels the host's security module put there. */
static int tarw_xattrs(struct tarw *t, struct archive_entry *e, int fd)
{
	ssize_t n = t->layout ? 0 : flistxattr(fd, NULL, 0);
	char *names;
	struct strv list = { 0 };
	int r = 0;

	if (n <= 0)
		return 0;
	names = xmalloc((size_t)n + 1);
	n = flistxattr(fd, names, (size_t)n);
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(names + i) + 1) {
		const char *nm = names + i;

		if (!strcmp(nm, "security.capability") ||
		    (!strncmp(nm, "user.", 5) && strncmp(nm, "user.overlay.", 13)))
			strv_add(&list, nm);
	}
	strv_sort(&list);
	for (size_t i = 0; r == 0 && i < list.n; i++) {
		/* t->buf (64 KiB) holds any value: XATTR_SIZE_MAX */
		ssize_t vn = fgetxattr(fd, list.v[i], t->buf, 1 << 16);

		if (vn < 0)
			r = pkgimg_err(t->ctx, -errno, "%s: [export] cannot read the attribute %s of "
				       "'%s': %m; the layer's files must stay readable while it is "
				       "exported", t->what, list.v[i], archive_entry_pathname(e));
		else
			archive_entry_xattr_add_entry(e, list.v[i], t->buf, (size_t)vn);
	}
	strv_free(&list);
	free(names);
	return r;
}

static int tarw_reg(struct tarw *t, int dfd, const char *name, const struct stat *sb)
{
	struct archive_entry *e;
	const char *first = NULL;
	uint64_t done = 0;
	int fd = -1, r = 0;
	ssize_t n;

	if (!t->layout && sb->st_nlink > 1) {
		struct sbuf full = SBUF_INIT;

		sbuf_addf(&full, "%s%s%s", t->path.len ? t->path.buf : "", t->path.len ? "/" : "",
			  name);
		first = linkmap_first(&t->links, sb->st_dev, sb->st_ino, full.buf);
		sbuf_free(&full);
	}
	e = tarw_entry(t, name, AE_IFREG, sb);
	if (first) {
		archive_entry_copy_hardlink(e, first);
		if (archive_write_header(t->a, e) < ARCHIVE_WARN)
			r = tarw_error(t, "cannot write the hard link");
		goto out;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(t->ctx, -errno, "%s: [export] cannot read '%s%s%s': %m", t->what,
			       t->path.len ? t->path.buf : "", t->path.len ? "/" : "", name);
		goto out;
	}
	if (!t->layout && overlay_xattr_is(fd, "metacopy", NULL)) {
		r = pkgimg_err(t->ctx, -PKGIMG_E_UNSAFE, "%s: [export] '%s%s%s' is an overlayfs "
			       "metacopy file (its data is in a lower layer); rebuild the layer",
			       t->what, t->path.len ? t->path.buf : "", t->path.len ? "/" : "", name);
		goto out;
	}
	r = tarw_xattrs(t, e, fd);
	if (r < 0)
		goto out;
	archive_entry_set_size(e, sb->st_size);
	if (archive_write_header(t->a, e) < ARCHIVE_WARN) {
		r = tarw_error(t, "cannot write");
		goto out;
	}
	while ((n = read(fd, t->buf, 1 << 16)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = pkgimg_err(t->ctx, -errno, "%s: [export] cannot read '%s': %m", t->what,
				       archive_entry_pathname(e));
			goto out;
		}
		if (done + (uint64_t)n > (uint64_t)sb->st_size)
			break;
		if (archive_write_data(t->a, t->buf, (size_t)n) != n) {
			r = tarw_error(t, "cannot write");
			goto out;
		}
		done += (uint64_t)n;
	}
	if (n != 0 || done != (uint64_t)sb->st_size) {
		r = pkgimg_err(t->ctx, -EIO, "%s: [export] '%s' changed size while it was "
			       "exported; layers must not be written to", t->what,
			       archive_entry_pathname(e));
		goto out;
	}
out:
	if (fd >= 0)
		close(fd);
	return r;
}

static int tarw_symlink(struct tarw *t, int dfd, const char *name, const struct stat *sb)
{
	struct archive_entry *e;
	char target[PATH_MAX];
	ssize_t n = readlinkat(dfd, name, target, sizeof target);

	if (n < 0 || (size_t)n >= sizeof target)
		return pkgimg_err(t->ctx, n < 0 ? -errno : -ENAMETOOLONG, "%s: [export] cannot "
				  "read the symlink '%s%s%s': %s", t->what,
				  t->path.len ? t->path.buf : "", t->path.len ? "/" : "", name,
				  strerror(n < 0 ? errno : ENAMETOOLONG));
	target[n] = 0;
	e = tarw_entry(t, name, AE_IFLNK, sb);
	archive_entry_set_perm(e, 0777);
	archive_entry_copy_symlink(e, target);
	if (archive_write_header(t->a, e) < ARCHIVE_WARN)
		return tarw_error(t, "cannot write the symlink");
	return 0;
}

struct dent {
	char *name;
	struct stat sb;
};

static int cmp_dent(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->name, ((const struct dent *)b)->name);
}

static int tarw_dir(struct tarw *t, int dfd, int depth);

static int tarw_subdir(struct tarw *t, int dfd, const struct dent *d, int depth)
{
	struct archive_entry *e;
	size_t len = t->path.len;
	int cfd, r;

	cfd = openat(dfd, d->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (cfd < 0)
		return pkgimg_err(t->ctx, -errno, "%s: [export] cannot open the directory "
				  "'%s%s%s': %m", t->what, len ? t->path.buf : "", len ? "/" : "",
				  d->name);
	e = tarw_entry(t, d->name, AE_IFDIR, &d->sb);
	r = tarw_xattrs(t, e, cfd);
	if (r < 0)
		goto out;
	if (archive_write_header(t->a, e) < ARCHIVE_WARN) {
		r = tarw_error(t, "cannot write the directory");
		goto out;
	}
	sbuf_addf(&t->path, "%s%s", len ? "/" : "", d->name);
	r = tarw_dir(t, cfd, depth + 1);
	t->path.len = len;
	t->path.buf[len] = 0;
out:
	close(cfd);
	return r;
}

/* The entries of the directory at dfd (t->path): whiteouts first (with the
 * opaque marker before them), then the rest; each group in name order. */
static int tarw_dir(struct tarw *t, int dfd, int depth)
{
	struct dent *ents = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = NULL;
	int fd, r = 0;

	if (depth > 1024) {
		r = pkgimg_err(t->ctx, -ELOOP, "%s: [export] '%s' is nested too deeply", t->what,
			       t->path.buf);
		goto out;
	}
	if (!t->layout && overlay_xattr_is(dfd, "redirect", NULL)) {
		r = pkgimg_err(t->ctx, -PKGIMG_E_UNSAFE, "%s: [export] '%s/' is an overlayfs "
			       "redirected (renamed) directory, which a layer tar cannot express; "
			       "rebuild the layer", t->what, t->path.len ? t->path.buf : ".");
		goto out;
	}
	fd = dup(dfd);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = pkgimg_err(t->ctx, -errno, "%s: [export] cannot list '%s/': %m", t->what,
			       t->path.len ? t->path.buf : ".");
		if (fd >= 0)
			close(fd);
		goto out;
	}
	rewinddir(d);	/* the fd shares its offset with dfd, which may have been read */
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			ents = xrealloc(ents, cap * sizeof *ents);
		}
		ents[n].name = xstrdup(de->d_name);
		if (fstatat(dfd, de->d_name, &ents[n].sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pkgimg_err(t->ctx, -errno, "%s: [export] cannot stat '%s%s%s': %m",
				       t->what, t->path.len ? t->path.buf : "",
				       t->path.len ? "/" : "", de->d_name);
			n++;
			goto out;
		}
		n++;
	}
	if (n)
		qsort(ents, n, sizeof *ents, cmp_dent);
	if (!t->layout && tree_is_opaque(dfd)) {
		r = tarw_marker(t, WH_OPAQUE);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < n && !t->layout; i++) {
		char *wh;

		if (!tree_is_whiteout(&ents[i].sb))
			continue;
		wh = xasprintf(WH_PREFIX "%s", ents[i].name);
		r = tarw_marker(t, wh);
		free(wh);
		if (r < 0)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const struct dent *c = &ents[i];
		const char *kind = NULL;

		if (!t->layout && !strncmp(c->name, WH_PREFIX, strlen(WH_PREFIX))) {
			r = pkgimg_err(t->ctx, -PKGIMG_E_UNSAFE, "%s: [export] '%s%s%s': a name "
				       "beginning with \".wh.\" would read as a whiteout in an OCI "
				       "layer; rename it in the image", t->what,
				       t->path.len ? t->path.buf : "", t->path.len ? "/" : "",
				       c->name);
			goto out;
		}
		if (S_ISDIR(c->sb.st_mode))
			r = tarw_subdir(t, dfd, c, depth);
		else if (S_ISREG(c->sb.st_mode))
			r = tarw_reg(t, dfd, c->name, &c->sb);
		else if (S_ISLNK(c->sb.st_mode) && !t->layout)
			r = tarw_symlink(t, dfd, c->name, &c->sb);
		else if (tree_is_whiteout(&c->sb) && !t->layout)
			continue;	/* written above */
		else if (S_ISCHR(c->sb.st_mode))
			kind = "a character device";
		else if (S_ISBLK(c->sb.st_mode))
			kind = "a block device";
		else if (S_ISFIFO(c->sb.st_mode))
			kind = "a fifo";
		else if (S_ISSOCK(c->sb.st_mode))
			kind = "a socket";
		else
			kind = "a file of an unexpected type";
		if (kind)
			pkgimg_warn(t->ctx, "%s: [export] '%s%s%s' is %s; left out of the layer "
				    "(exported layers hold files, directories and links only)",
				    t->what, t->path.len ? t->path.buf : "", t->path.len ? "/" : "",
				    c->name, kind);
		if (r < 0)
			goto out;
	}
out:
	if (d)
		closedir(d);
	for (size_t i = 0; i < n; i++)
		free(ents[i].name);
	free(ents);
	return r;
}

/* The tree at treefd as a tar written to fd (out names it in messages,
 * what the source); its sha256 and size. */
static int tar_tree(struct pkgimg_ctx *ctx, int treefd, int fd, const char *out,
		    const char *what, bool layout, uid_t map_uid, gid_t map_gid, char hex[65],
		    uint64_t *size)
{
	struct tarw t = { 0 };
	int r;

	r = tarw_open(&t, ctx, fd, what, out);
	if (r < 0)
		goto out;
	t.layout = layout;
	t.map_uid = map_uid;
	t.map_gid = map_gid;
	r = tarw_dir(&t, treefd, 0);
	if (r == 0)
		r = tarw_close(&t, hex, size);
out:
	tarw_free(&t);
	return r;
}

/* ---- JSON ----------------------------------------------------------------- */

/* A JSON string, or NULL (with a message) for text that is not UTF-8. */
static json_t *jstr(struct pkgimg_ctx *ctx, const char *what, const char *field, const char *s,
		    int *r)
{
	json_t *j = json_string(s);

	if (!j && *r == 0)
		*r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [export] the %s is not valid UTF-8; "
				"fix the step that sets it", what, field);
	return j;
}

static json_t *jstrv(struct pkgimg_ctx *ctx, const char *what, const char *field, char **v,
		     int *r)
{
	json_t *a = json_array();

	for (char **p = v; p && *p; p++)
		json_array_append_new(a, jstr(ctx, what, field, *p, r));
	return a;
}

static json_t *descriptor(const char *media, const char *hex, uint64_t size)
{
	char digest[STORE_KEY_MAX];

	snprintf(digest, sizeof digest, KEY_PREFIX "%s", hex);
	return json_pack("{s:s, s:s, s:I}", "mediaType", media, "digest", digest,
			 "size", (json_int_t)size);
}

/* Writes data as the file name under dirfd (new); out names it in messages. */
static int write_new_file(struct pkgimg_ctx *ctx, int dirfd, const char *name, const char *out,
			  const char *what, const void *data, size_t len)
{
	int fd, r;

	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [export] cannot create %s: %m", what, out);
	r = fs_write_all(fd, data, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0)
		return pkgimg_err(ctx, r, "%s: [export] cannot write %s: %s", what, out, strerror(-r));
	return 0;
}

/* j (consumed) as a blob: compact, keys sorted; its digest and size. */
static int write_json_blob(struct pkgimg_ctx *ctx, int blobsfd, const char *dirpath,
			   const char *what, json_t *j, char hex[65], uint64_t *size)
{
	char *text = j ? json_dumps(j, JSON_FLAGS) : NULL, *out = NULL;
	int r;

	json_decref(j);
	if (!text)
		return pkgimg_err(ctx, -ENOMEM, "%s: [export] cannot serialise JSON", what);
	hash_sha256_hex(text, strlen(text), hex);
	out = xasprintf("%s/blobs/sha256/%s", dirpath, hex);
	r = write_new_file(ctx, blobsfd, hex, out, what, text, strlen(text));
	if (r == 0)
		*size = strlen(text);
	free(out);
	free(text);
	return r;
}

/* ---- the layout ----------------------------------------------------------- */

static bool dir_empty(int fd)
{
	struct dirent *de;
	int dfd = dup(fd);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
	bool empty = true;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	rewinddir(d);
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			empty = false;
			break;
		}
	closedir(d);
	return empty;
}

static void store_owner(struct store *st, uid_t *uid, gid_t *gid)
{
	struct stat sb;

	if (fstat(st->rootfd, &sb) == 0) {
		*uid = sb.st_uid;
		*gid = sb.st_gid;
	} else {
		*uid = 0;
		*gid = 0;
	}
}

/* One layer's blob (when its tree holds anything) and history entry. */
static int layout_layer(struct pkgimg_ctx *ctx, struct store *st, const char *key, int blobsfd,
			const char *dirpath, struct oci_export_result *res, json_t *layers,
			json_t *diff_ids, json_t *history)
{
	struct layer_meta m = { 0 };
	char rel[96], hex[65], *out = NULL;
	uint64_t size = 0;
	json_t *h = NULL;
	int tfd = -1, bfd, r;
	uid_t uid;
	gid_t gid;

	r = store_layer_read(ctx, st, key, &m);
	if (r < 0)
		goto out;
	snprintf(rel, sizeof rel, "layers/%s/tree", key + KEY_PREFIX_LEN);
	tfd = openat(st->rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0) {
		r = errno == ENOENT
			? pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [export] the layer has no "
				     "tree in the store; rebuild the image", key)
			: pkgimg_err(ctx, -errno, "%s: [export] cannot open %s/%s: %m", key,
				     st->root, rel);
		goto out;
	}
	h = json_object();
	json_object_set_new(h, "created_by", jstr(ctx, key, "step text", m.step ? m.step : "", &r));
	if (r < 0)
		goto out;
	if (dir_empty(tfd)) {
		json_object_set_new(h, "empty_layer", json_true());
		goto out;
	}
	store_owner(st, &uid, &gid);
	out = xasprintf("%s/blobs/sha256/.layer.tmp", dirpath);
	bfd = openat(blobsfd, ".layer.tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		     0644);
	if (bfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [export] cannot create %s: %m", key, out);
		goto out;
	}
	r = tar_tree(ctx, tfd, bfd, out, key, false, uid, gid, hex, &size);
	if (close(bfd) < 0 && r == 0)
		r = pkgimg_err(ctx, -errno, "%s: [export] cannot write %s: %m", key, out);
	if (r < 0) {
		unlinkat(blobsfd, ".layer.tmp", 0);
		goto out;
	}
	if (renameat(blobsfd, ".layer.tmp", blobsfd, hex) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [export] cannot rename %s to %s: %m", key, out, hex);
		unlinkat(blobsfd, ".layer.tmp", 0);
		goto out;
	}
	json_array_append_new(layers, descriptor(OCI_MEDIA_LAYER, hex, size));
	json_array_append_new(diff_ids, json_sprintf(KEY_PREFIX "%s", hex));
	res->layers = xrealloc(res->layers, (size_t)(res->nlayers + 1) * sizeof *res->layers);
	{
		struct oci_layer_desc *d = &res->layers[res->nlayers++];

		snprintf(d->digest, sizeof d->digest, KEY_PREFIX "%s", hex);
		snprintf(d->key, sizeof d->key, "%s", key);
		d->size = size;
	}
out:
	if (r == 0)
		json_array_append_new(history, h);
	else
		json_decref(h);
	if (tfd >= 0)
		close(tfd);
	free(out);
	layer_meta_free(&m);
	return r;
}

static json_t *image_config_json(struct pkgimg_ctx *ctx, const char *key,
				 const struct image_config *ic, int *r)
{
	json_t *c = json_object();
	struct strv env = { 0 };

	/* what `pkgimg run` gives a command, where the image does not say
	 * (HOME and TERM are left to the runtime, as Docker's images do) */
	sandbox_default_env(&env, SANDBOX_ENV_PATH | SANDBOX_ENV_LANG, ic->env);
	for (char **e = ic->env; e && *e; e++)
		strv_add(&env, *e);
	json_object_set_new(c, "Env", jstrv(ctx, key, "environment", env.v, r));
	strv_free(&env);
	if (ic->workdir && *ic->workdir)
		json_object_set_new(c, "WorkingDir", jstr(ctx, key, "workdir", ic->workdir, r));
	if (ic->user && *ic->user)
		json_object_set_new(c, "User", jstr(ctx, key, "user", ic->user, r));
	if (ic->entrypoint && ic->entrypoint[0])
		json_object_set_new(c, "Entrypoint", jstrv(ctx, key, "entrypoint", ic->entrypoint, r));
	if (ic->cmd && ic->cmd[0])
		json_object_set_new(c, "Cmd", jstrv(ctx, key, "cmd", ic->cmd, r));
	return c;
}

/* Writes the layout of key into the (empty) directory dirfd (dirpath). */
static int layout_write(struct pkgimg_ctx *ctx, struct store *st, const char *key, int dirfd,
			const char *dirpath, const char *ref, struct oci_export_result *out)
{
	struct oci_export_result res = { 0 };
	struct image_config ic = { 0 };
	json_t *layers = json_array(), *diff_ids = json_array(), *history = json_array();
	json_t *cfg = NULL, *man = NULL, *idx = NULL, *platform;
	const char *arch, *variant;
	char **chain = NULL, chex[65], mhex[65], *text = NULL, *path = NULL;
	uint64_t csize = 0, msize = 0;
	int n = 0, blobsfd = -1, r;

	r = store_layer_chain(ctx, st, key, &chain, &n);
	if (r == 0)
		r = store_image_config(ctx, st, key, &ic);
	if (r < 0)
		goto out;
	if (mkdirat(dirfd, "blobs", 0755) < 0 || mkdirat(dirfd, "blobs/sha256", 0755) < 0 ||
	    (blobsfd = openat(dirfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [export] cannot create %s/blobs/sha256: %m", key,
			       dirpath);
		goto out;
	}
	res.nstore_layers = n;
	for (int i = n - 1; i >= 0; i--) {	/* bottom first */
		pkgimg_progress(ctx, "export", chain[i], (uint64_t)(n - 1 - i), (uint64_t)n, 0);
		r = layout_layer(ctx, st, chain[i], blobsfd, dirpath, &res, layers, diff_ids,
				 history);
		if (r < 0)
			goto out;
	}
	pkgimg_progress(ctx, "export", key, (uint64_t)n, (uint64_t)n, 1);

	oci_platform(ctx->arch, &arch, &variant);
	cfg = json_pack("{s:s, s:s, s:o, s:{s:s, s:O}, s:O}", "architecture", arch, "os", "linux",
			"config", image_config_json(ctx, key, &ic, &r),
			"rootfs", "type", "layers", "diff_ids", diff_ids, "history", history);
	if (cfg && variant)
		json_object_set_new(cfg, "variant", json_string(variant));
	if (r < 0)
		goto out;
	r = write_json_blob(ctx, blobsfd, dirpath, key, cfg, chex, &csize);
	cfg = NULL;
	if (r < 0)
		goto out;
	man = json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", OCI_MEDIA_MANIFEST,
			"config", descriptor(OCI_MEDIA_CONFIG, chex, csize), "layers", layers);
	r = write_json_blob(ctx, blobsfd, dirpath, key, man, mhex, &msize);
	man = NULL;
	if (r < 0)
		goto out;

	platform = json_pack("{s:s, s:s}", "architecture", arch, "os", "linux");
	if (variant)
		json_object_set_new(platform, "variant", json_string(variant));
	{
		json_t *d = descriptor(OCI_MEDIA_MANIFEST, mhex, msize);

		json_object_set_new(d, "platform", platform);
		json_object_set_new(d, "annotations",
				    json_pack("{s:s}", OCI_REF_NAME_ANNOTATION, ref));
		idx = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType",
				OCI_MEDIA_INDEX, "manifests", d);
	}
	text = idx ? json_dumps(idx, JSON_FLAGS) : NULL;
	if (!text) {
		r = pkgimg_err(ctx, -ENOMEM, "%s: [export] cannot serialise index.json", key);
		goto out;
	}
	path = xasprintf("%s/index.json", dirpath);
	r = write_new_file(ctx, dirfd, "index.json", path, key, text, strlen(text));
	if (r < 0)
		goto out;
	free(path);
	path = xasprintf("%s/oci-layout", dirpath);
	r = write_new_file(ctx, dirfd, "oci-layout", path, key, "{\"imageLayoutVersion\":\"1.0.0\"}",
			   strlen("{\"imageLayoutVersion\":\"1.0.0\"}"));
	if (r < 0)
		goto out;
	snprintf(res.manifest, sizeof res.manifest, KEY_PREFIX "%s", mhex);
	snprintf(res.config, sizeof res.config, KEY_PREFIX "%s", chex);
	res.manifest_size = msize;
	*out = res;
	memset(&res, 0, sizeof res);
out:
	oci_export_result_free(&res);
	json_decref(layers);
	json_decref(diff_ids);
	json_decref(history);
	json_decref(cfg);
	json_decref(man);
	json_decref(idx);
	image_config_free(&ic);
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	if (blobsfd >= 0)
		close(blobsfd);
	free(text);
	free(path);
	return r;
}

static int check_args(struct pkgimg_ctx *ctx, const char *key, const char *dest,
		      const char *opt, const struct oci_export_opts *opts, const char **ref)
{
	*ref = opts && opts->ref_name ? opts->ref_name : "latest";
	if (!is_key(key))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [export] not an image id; expected "
				  "sha256:<64 hex digits>", key ? key : "(null)");
	if (!dest || !*dest)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [export] no destination given", opt);
	if (!oci_ref_name_valid(*ref))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--tag %s: [export] not a valid OCI "
				  "reference name; use letters and digits, separated by one of "
				  ". _ - : @ + or by / (at most %d characters)", *ref, REF_NAME_MAX);
	return 0;
}

int oci_export_layout(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		      const char *dir, const struct oci_export_opts *opts,
		      struct oci_export_result *res)
{
	struct oci_export_result tmpres = { 0 };
	char *d = NULL, *tmp = NULL;
	const char *ref;
	int fd = -1, r;

	r = check_args(ctx, key, dir, "--oci", opts, &ref);
	if (r < 0)
		goto out;
	d = path_trim(dir);
	r = check_dest_dir(ctx, d, "--oci");
	if (r < 0)
		goto out;
	r = mktemp_beside(ctx, d, "--oci", &tmp);
	if (r < 0)
		goto out;
	fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "--oci %s: [export] cannot open %s: %m", d, tmp);
		goto out;
	}
	r = layout_write(ctx, st, key, fd, tmp, ref, &tmpres);
	if (r < 0)
		goto out;
	if (fchmod(fd, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "--oci %s: [export] cannot chmod %s: %m", d, tmp);
		goto out;
	}
	r = rename_into(ctx, tmp, d, "--oci");
	if (r < 0)
		goto out;
	*res = tmpres;
	memset(&tmpres, 0, sizeof tmpres);
out:
	if (fd >= 0)
		close(fd);
	if (r < 0 && tmp)
		fs_rm_rf(NULL, AT_FDCWD, tmp);
	oci_export_result_free(&tmpres);
	free(tmp);
	free(d);
	return r;
}

int oci_export_archive(struct pkgimg_ctx *ctx, struct store *st, const char *key,
		       const char *file, const struct oci_export_opts *opts,
		       struct oci_export_result *res)
{
	struct oci_export_result tmpres = { 0 };
	char *layout = NULL, *tmpfile = NULL, hex[65];
	const char *ref;
	uint64_t size;
	struct stat sb;
	int lfd = -1, ffd = -1, r;

	r = check_args(ctx, key, file, "--tar", opts, &ref);
	if (r < 0)
		goto out;
	if (lstat(file, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		r = pkgimg_err(ctx, -EISDIR, "--tar %s: [export] is a directory; give a file name "
			       "(or use --oci DIR for a layout directory)", file);
		goto out;
	}
	/* the archive's temporary file beside file first: a bad path fails early */
	tmpfile = xasprintf("%s.tmp-XXXXXX", file);
	ffd = mkostemp(tmpfile, O_CLOEXEC);
	if (ffd < 0) {
		r = pkgimg_err(ctx, -errno, "--tar %s: [export] cannot create a temporary file "
			       "beside it: %m", file);
		free(tmpfile);
		tmpfile = NULL;
		goto out;
	}
	/* the layout in the store's tmp/ (gc removes what a crash leaves) */
	r = store_mktemp_dir(ctx, st, "export", &layout);
	if (r < 0)
		goto out;
	lfd = open(layout, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (lfd < 0) {
		r = pkgimg_err(ctx, -errno, "--tar %s: [export] cannot open %s: %m", file, layout);
		goto out;
	}
	r = layout_write(ctx, st, key, lfd, layout, ref, &tmpres);
	if (r < 0)
		goto out;
	/* then the archive of it, renamed over file */
	r = tar_tree(ctx, lfd, ffd, tmpfile, file, true, 0, 0, hex, &size);
	if (r < 0)
		goto out;
	if (fchmod(ffd, 0644) < 0 || close(ffd) < 0) {
		ffd = -1;
		r = pkgimg_err(ctx, -errno, "--tar %s: [export] cannot write %s: %m", file, tmpfile);
		goto out;
	}
	ffd = -1;
	if (rename(tmpfile, file) < 0) {
		r = pkgimg_err(ctx, -errno, "--tar %s: [export] cannot rename %s to it: %m", file,
			       tmpfile);
		goto out;
	}
	*res = tmpres;
	memset(&tmpres, 0, sizeof tmpres);
out:
	if (lfd >= 0)
		close(lfd);
	if (ffd >= 0)
		close(ffd);
	if (layout)
		fs_rm_rf(NULL, AT_FDCWD, layout);
	if (r < 0 && tmpfile)
		unlink(tmpfile);
	oci_export_result_free(&tmpres);
	free(layout);
	free(tmpfile);
	return r;
}

int oci_rootfs_write(struct pkgimg_ctx *ctx, struct store *st, const char *key, const char *dir,
		     const char *opt, bool make_parents)
{
	char **chain = NULL, *d = NULL, *tmp = NULL;
	const char *ref;
	int n = 0, r;

	r = check_args(ctx, key, dir, opt, NULL, &ref);
	if (r < 0)
		goto out;
	d = path_trim(dir);
	r = check_dest_dir(ctx, d, opt);
	if (r < 0)
		goto out;
	r = store_layer_chain(ctx, st, key, &chain, &n);
	if (r < 0)
		goto out;
	if (make_parents && strrchr(d, '/') && strrchr(d, '/') != d) {
		char *parent = xstrndup(d, (size_t)(strrchr(d, '/') - d));

		r = fs_mkdirs(ctx, AT_FDCWD, parent, 0755);
		free(parent);
		if (r < 0)
			goto out;
	}
	/* mkdtemp: 0700 until store_materialize gives it its mode, last */
	r = mktemp_beside(ctx, d, opt, &tmp);
	if (r < 0)
		goto out;
	r = store_materialize(ctx, st, chain, n, tmp);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s %s: [export]", opt, d);
		goto out;
	}
	r = rename_into(ctx, tmp, d, opt);
out:
	if (r < 0 && tmp) {
		/* a materialised tree may hold read-only directories */
		fs_rm_rf(NULL, AT_FDCWD, tmp);
	}
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	free(tmp);
	free(d);
	return r;
}

int oci_export_rootfs(struct pkgimg_ctx *ctx, struct store *st, const char *key, const char *dir)
{
	return oci_rootfs_write(ctx, st, key, dir, "--dir", false);
}

void oci_export_result_free(struct oci_export_result *res)
{
	if (!res)
		return;
	free(res->layers);
	memset(res, 0, sizeof *res);
}
