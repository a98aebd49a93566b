/* Unpacking conda packages and linking them into a prefix; see
 * installers/conda_pkg.h.
 *
 * Unpack: libarchive reads the .tar.bz2, or the .conda zip and, from each
 * zip entry's stream, its inner .tar.zst; every entry is written under a
 * temporary directory by installers/extract.c (the secure walk every format
 * shares: O_NOFOLLOW directory fds, bounded), which is renamed into place
 * when complete.  Link: the package's info/ files are read and checked
 * first (a plan: every target path, its type, its placeholder), then files are
 * placed one by one with a journal (created files, replaced files kept aside,
 * created directories) that undoes everything on failure; the record is
 * written last, then the directories' times are set. */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <locale.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "core/arc.h"
#include "installers/conda_pkg.h"
#include "installers/extract.h"

#define CONDA_BUF		65536
#define CONDA_META_MAX		(64u << 20)	/* largest info/ file read into memory */
#define SHEBANG_MAX		127		/* conda's MAX_SHEBANG_LENGTH on Linux */

/* conda's python_entry_point_template (conda/gateways/disk/create.py):
 * module, import name (the callable's first attribute), callable. */
static const char entry_point_fmt[] =
	"# -*- coding: utf-8 -*-\n"
	"import re\n"
	"import sys\n"
	"\n"
	"from %s import %.*s\n"
	"\n"
	"if __name__ == '__main__':\n"
	"    sys.argv[0] = re.sub(r'(-script\\.pyw?|\\.exe)?$', '', sys.argv[0])\n"
	"    sys.exit(%s())\n";

/* What a NULL struct conda_link_opts means. */
static const struct conda_link_opts default_opts = { NULL, NULL, -1 };

/* ---- small helpers ---- */


static void times_of(int64_t mtime, struct timespec ts[2])
{
	ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
}



/* ---- unpacking ---- */

struct unpack {
	struct pkgimg_ctx *ctx;
	const char *thing;	/* the package's file name, for messages */
	int fd;			/* the temporary directory */
	const char *sha256;	/* the blob's expected digest, or NULL */
	struct extract x;	/* the walk; x.limit: arc_unpack_limit */
};

/* conda's way with its tars (CONDA_EXTRACT_FLAGS): a file where a directory
 * is (or the reverse) is a broken package, devices have no place. */
static const struct extract_opts conda_xopts = {
	.flags = CONDA_EXTRACT_FLAGS,
	.phase = "unpack",
	.noun = "conda package",
	.fix = "; the file is corrupt, download it again",
};

static int check_metadata(struct unpack *u, struct archive *a)
{
	struct sbuf s = SBUF_INIT;
	json_t *j = NULL, *v;
	int r = arc_read_small(u->ctx, u->thing, "unpack", a, "metadata.json", CONDA_META_MAX,
			   "the file is corrupt, download it again", &s);

	if (r < 0)
		goto out;
	j = json_loadb(s.buf, s.len, 0, NULL);
	if (!j || !json_is_object(j)) {
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [unpack] metadata.json is not a JSON object; the file is corrupt, download it again",
			       u->thing);
		goto out;
	}
	v = json_object_get(j, "conda_pkg_format_version");
	if (v && (!json_is_integer(v) || json_integer_value(v) != 2))
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [unpack] unsupported .conda format version %lld in metadata.json (only 2 is known); update pkgimg or use the .tar.bz2",
			       u->thing, json_is_integer(v) ? (long long)json_integer_value(v) : -1LL);
out:
	json_decref(j);
	sbuf_free(&s);
	return r;
}

static int unpack_conda(struct unpack *u, const char *path)
{
	struct archive *a = archive_read_new(), *in = NULL;
	struct arc_member *m = xcalloc(1, sizeof *m);
	struct arc_blob *blob = NULL;
	struct archive_entry *e;
	bool info = false, pkg = false;
	int r = 0;

	archive_read_support_format_zip(a);
	r = arc_blob_open(u->ctx, u->thing, "unpack", a, path, u->sha256, 1, &blob);
	if (r < 0)
		goto out;
	u->x.limit = arc_unpack_limit(u->ctx, 0, (uint64_t)blob->size);
	m->outer = a;
	for (;;) {
		const char *name;
		bool *seen = NULL;
		int s = archive_read_next_header(a, &e);

		if (s == ARCHIVE_EOF)
			break;
		if (s < ARCHIVE_WARN) {
			r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [unpack] cannot read the zip: %s; the file is corrupt, download it again",
				       u->thing, archive_error_string(a));
			goto out;
		}
		name = archive_entry_pathname(e);
		if (!name)
			continue;
		if (!strcmp(name, "metadata.json")) {
			r = check_metadata(u, a);
			if (r < 0)
				goto out;
			continue;
		}
		if (str_starts_with(name, "info-") && str_ends_with(name, ".tar.zst"))
			seen = &info;
		else if (str_starts_with(name, "pkg-") && str_ends_with(name, ".tar.zst"))
			seen = &pkg;
		else
			continue;	/* conda ignores other members */
		if (*seen) {
			r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [unpack] a second %s tar ('%s'); the file is corrupt, download it again",
				       u->thing, seen == &info ? "info" : "pkg", name);
			goto out;
		}
		*seen = true;
		in = archive_read_new();
		archive_read_support_filter_zstd(in);
		archive_read_support_format_tar(in);
		if (archive_read_open(in, m, NULL, arc_member_read, NULL) != ARCHIVE_OK) {
			r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [unpack] cannot read '%s': %s; the file is corrupt, download it again",
				       u->thing, name, archive_error_string(in));
			goto out;
		}
		{
			char *what = xasprintf("'%s'", name);

			r = extract_all(&u->x, in, what);
			free(what);
		}
		if (r < 0)
			goto out;
		archive_read_free(in);
		in = NULL;
	}
	if (!info || !pkg)
		r = pkgimg_err(u->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [unpack] the zip has no %s-*.tar.zst; the file is corrupt or not a conda package, download it again",
			       u->thing, info ? "pkg" : "info");
	if (r == 0)
		r = arc_blob_verify(u->ctx, u->thing, blob);
out:
	if (in)
		archive_read_free(in);
	archive_read_free(a);
	arc_blob_close(blob);
	free(m);
	return r;
}

static int unpack_tarbz2(struct unpack *u, const char *path)
{
	struct archive *a = archive_read_new();
	struct arc_blob *blob = NULL;
	int r;

	archive_read_support_filter_bzip2(a);
	archive_read_support_format_tar(a);
	r = arc_blob_open(u->ctx, u->thing, "unpack", a, path, u->sha256, 0, &blob);
	if (r < 0)
		goto out;
	u->x.limit = arc_unpack_limit(u->ctx, 0, (uint64_t)blob->size);
	r = extract_all(&u->x, a, "the tar");
	if (r == 0)
		r = arc_blob_verify(u->ctx, u->thing, blob);
out:
	archive_read_free(a);
	arc_blob_close(blob);
	return r;
}

int conda_pkg_extract(struct pkgimg_ctx *ctx, const char *archive_path, const char *fn,
		      const char *dst_dir)
{
	return conda_pkg_extract_blob(ctx, archive_path, NULL, fn, dst_dir);
}

int conda_pkg_extract_blob(struct pkgimg_ctx *ctx, const char *archive_path, const char *sha256,
			   const char *fn, const char *dst_dir)
{
	struct unpack *u = xcalloc(1, sizeof *u);
	char *tmp = xasprintf("%s.tmp-XXXXXX", dst_dir);
	bool conda;
	locale_t loc, old;
	int r = 0;

	u->ctx = ctx;
	u->thing = fn ? fn : path_base(archive_path);
	u->sha256 = sha256;
	u->fd = -1;
	extract_init(&u->x, ctx, u->thing, -1, &conda_xopts);
	if (str_ends_with(u->thing, ".conda")) {
		conda = true;
	} else if (str_ends_with(u->thing, ".tar.bz2")) {
		conda = false;
	} else {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
			       "%s: [unpack] not a conda package name: it ends in neither .conda nor .tar.bz2",
			       u->thing);
		goto done;
	}
	if (!mkdtemp(tmp)) {
		r = pkgimg_err(ctx, -errno, "%s: [unpack] cannot create '%s': %m", u->thing, tmp);
		goto done;
	}
	u->fd = open(tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (u->fd < 0 || fchmod(u->fd, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [unpack] cannot open '%s': %m", u->thing, tmp);
		goto out;
	}
	u->x.rootfd = u->fd;
	loc = arc_utf8_locale_push(&old);
	r = conda ? unpack_conda(u, archive_path) : unpack_tarbz2(u, archive_path);
	arc_utf8_locale_pop(loc, old);
	if (r == 0)
		r = extract_finish(&u->x);	/* no fd left in tmp */
	if (r < 0)
		goto out;
	if (rename(tmp, dst_dir) < 0) {
		int e = errno;

		r = pkgimg_err(ctx, e == ENOTEMPTY ? -EEXIST : -e,
			       "%s: [unpack] cannot rename '%s' to '%s': %s%s", u->thing, tmp, dst_dir,
			       strerror(e == ENOTEMPTY ? EEXIST : e),
			       e == ENOTEMPTY || e == EEXIST ? "; remove it first" : "");
	}
out:
	dirfd_cache_drop(&u->x.dirs);
	if (u->fd >= 0)
		close(u->fd);
	if (r < 0)
		fs_rm_rf(NULL, AT_FDCWD, tmp);
done:
	extract_free(&u->x);
	free(tmp);
	free(u);
	return r;
}

/* ---- linking: the plan ---- */

enum ptype { PT_HARDLINK, PT_SOFTLINK, PT_DIRECTORY, PT_ENTRY_POINT };

static const char *const ptype_names[] = {
	[PT_HARDLINK] = "hardlink",
	[PT_SOFTLINK] = "softlink",
	[PT_DIRECTORY] = "directory",
	[PT_ENTRY_POINT] = "unix_python_entry_point",
};

struct pentry {
	char *src;		/* the path in the package (NULL: generated) */
	char *dst;		/* prefix-relative target */
	enum ptype type;
	char *sha256;		/* of the package's file (paths.json, else computed) */
	int64_t size;		/* the same; -1 unknown */
	bool sha_given;		/* sha256/size came from paths.json: checked */
	char *placeholder;	/* NULL: none */
	bool binary;		/* file_mode */
	bool no_link;
	char in_prefix[65];	/* sha256 of what was written; "" none */
	char *text;		/* an entry point's script */
	size_t text_len;
};

/* One step of the journal. */
struct jent {
	char *path;		/* root-relative */
	char *backup;		/* the replaced file, kept aside here (root-relative) */
	bool created;		/* path is ours to remove */
};

struct link {
	struct pkgimg_ctx *ctx;
	const char *thing;	/* the package's file name */
	int rootfd, srcfd;
	const struct conda_link_opts *o;
	const struct conda_pkg_info *info;
	char *prefix;		/* "/opt/conda" */
	const char *prefix_rel;	/* "opt/conda" (inside prefix) */
	char *sp_dir;		/* "lib/python3.12/site-packages" */

	json_t *index;
	const char *name, *version, *build, *subdir;
	char *noarch;
	json_t *entry_points;	/* borrowed from link_json, or NULL */
	json_t *link_json;

	struct pentry *pe;
	size_t npe, cappe;
	bool old_format;	/* no paths.json: types from the extracted files */

	struct jent *j;
	size_t nj, capj;
	struct strv dirs;	/* created, in creation order (root-relative) */
	struct dirfd_cache dstc, srcc;
	char buf[CONDA_BUF];
};

static struct pentry *pe_new(struct link *L)
{
	if (L->npe == L->cappe) {
		L->cappe = L->cappe ? 2 * L->cappe : 64;
		L->pe = xrealloc(L->pe, L->cappe * sizeof *L->pe);
	}
	memset(&L->pe[L->npe], 0, sizeof *L->pe);
	L->pe[L->npe].size = -1;
	return &L->pe[L->npe++];
}

static int read_info(struct link *L, const char *name, bool optional, struct sbuf *out)
{
	char *path = xasprintf("info/%s", name);
	const char *leaf;
	int dfd = -1, fd = -1, r;

	r = fs_open_parent(L->ctx, L->thing, "install", L->srcfd, path, false, NULL, &dfd, &leaf);
	if (r < 0) {
		if (r == -ENOENT && optional)
			r = 1;
		else if (r == -ENOENT)
			r = pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [install] the extracted package has no %s; extract it again",
				       L->thing, path);
		goto out;
	}
	fd = openat(dfd, leaf, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT && optional)
			r = 1;
		else
			r = pkgimg_err(L->ctx, errno == ENOENT ? -PKGIMG_E_ARCHIVE : -errno,
				       "%s: [install] cannot read %s: %m%s", L->thing, path,
				       errno == ENOENT ? "; extract the package again" : "");
		goto out;
	}
	sbuf_add(out, "", 0);
	for (;;) {
		ssize_t n = read(fd, L->buf, sizeof L->buf);

		if (n == 0)
			break;
		if (n < 0) {
			r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot read %s: %m", L->thing, path);
			goto out;
		}
		sbuf_add(out, L->buf, (size_t)n);
		if (out->len > CONDA_META_MAX) {
			r = pkgimg_err(L->ctx, -PKGIMG_E_PARSE, "%s: [install] %s is larger than %u MiB",
				       L->thing, path, CONDA_META_MAX >> 20);
			goto out;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	free(path);
	return r;
}

static int read_info_json(struct link *L, const char *name, bool optional, json_t **out)
{
	struct sbuf s = SBUF_INIT;
	json_error_t err;
	json_t *j;
	int r = read_info(L, name, optional, &s);

	if (r != 0)
		goto out;
	j = json_loadb(s.buf, s.len, 0, &err);
	if (!j || !json_is_object(j)) {
		r = pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
			       "%s: [install] info/%s is not a JSON object%s%s (line %d); the package is broken",
			       L->thing, name, j ? "" : ": ", j ? "" : err.text, j ? 0 : err.line);
		json_decref(j);
		goto out;
	}
	*out = j;
out:
	sbuf_free(&s);
	return r;
}

static const char *json_str(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static int read_index(struct link *L)
{
	static const char *const need[] = { "name", "version", "build" };
	const char **dst[] = { &L->name, &L->version, &L->build };
	json_t *v;
	int r = read_info_json(L, "index.json", false, &L->index);

	if (r < 0)
		return r;
	for (size_t i = 0; i < 3; i++) {
		*dst[i] = json_str(L->index, need[i]);
		if (!*dst[i] || !**dst[i] || strchr(*dst[i], '/') || strpbrk(*dst[i], "\n\r"))
			return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
					  "%s: [install] info/index.json has no valid \"%s\"; the package is broken",
					  L->thing, need[i]);
	}
	L->subdir = json_str(L->index, "subdir");
	if (!L->subdir)
		L->subdir = "";
	v = json_object_get(L->index, "noarch");
	if (json_is_string(v))
		L->noarch = xstrdup(json_string_value(v));
	else if (json_is_true(v))
		L->noarch = xstrdup("generic");	/* conda-build 2's noarch: True */

	/* link.json (noarch.json before conda-build 3) */
	r = read_info_json(L, "link.json", true, &L->link_json);
	if (r == 1) {
		json_t *nj = NULL;

		r = read_info_json(L, "noarch.json", true, &nj);
		if (r == 0) {
			L->link_json = json_pack("{s:o}", "noarch", nj);
		} else if (r == 1) {
			r = 0;
		}
	}
	if (r < 0)
		return r;
	if (L->link_json) {
		json_t *n = json_object_get(L->link_json, "noarch");

		if (json_is_object(n)) {
			const char *t = json_str(n, "type");

			if (!L->noarch && t)
				L->noarch = xstrdup(t);
			L->entry_points = json_object_get(n, "entry_points");
		}
	}
	if (L->noarch && strcmp(L->noarch, "python") && strcmp(L->noarch, "generic"))
		return pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] unknown noarch type '%s'; a newer installer is needed for this package",
				  L->thing, L->noarch);
	if (L->noarch && !strcmp(L->noarch, "python")) {
		const char *pv = L->o->python_version;
		const char *p = pv;

		if (pv) {
			while (ascii_isdigit(*p))
				p++;
			if (p > pv && *p == '.') {
				const char *q = ++p;

				while (ascii_isdigit(*p))
					p++;
				if (p == q)
					p = pv;
			} else {
				p = pv;
			}
		}
		if (!pv || *p || p == pv)
			return pkgimg_err(L->ctx, -PKGIMG_E_USAGE,
					  "%s: [install] a noarch: python package needs the target python version (\"3.12\")%s%s%s; install python first or give its version",
					  L->thing, pv ? ", not '" : "", pv ? pv : "", pv ? "'" : "");
		L->sp_dir = xasprintf("lib/python%s/site-packages", pv);
	} else {
		L->entry_points = NULL;	/* only noarch: python has entry points */
	}
	return 0;
}

static bool valid_hex(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (ascii_hexval(s[i]) < 0)
			return false;
	return true;
}

/* Where a package path goes in the prefix (conda's
 * get_python_noarch_target_path for noarch: python). */
static char *target_of(struct link *L, const char *src)
{
	if (L->sp_dir) {
		if (str_starts_with(src, "site-packages/"))
			return xasprintf("%s%s", L->sp_dir, src + strlen("site-packages"));
		if (str_starts_with(src, "python-scripts/"))
			return xasprintf("bin%s", src + strlen("python-scripts"));
	}
	return xstrdup(src);
}

/* Whether s can be a JSON string (UTF-8). */
static bool utf8_ok(const char *s)
{
	json_t *j = json_string(s);

	json_decref(j);
	return j != NULL;
}

static int add_path(struct link *L, const char *raw, enum ptype type, struct pentry **out)
{
	struct sbuf n = SBUF_INIT;
	const char *why = "empty path";
	struct pentry *p;
	int r = 0;

	if (!fs_path_norm(raw, false, &n, &why) || !n.len) {
		r = pkgimg_err(L->ctx, -PKGIMG_E_UNSAFE, "%s: [install] refusing the path '%s': %s",
			       L->thing, raw, why);
		goto out;
	}
	if (!utf8_ok(n.buf)) {
		r = pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] the path '%s' is not UTF-8, which the conda-meta record cannot hold",
			       L->thing, n.buf);
		goto out;
	}
	p = pe_new(L);
	p->src = sbuf_detach(&n);
	p->dst = target_of(L, p->src);
	p->type = type;
	*out = p;
out:
	sbuf_free(&n);
	return r;
}

static int read_paths_json(struct link *L, json_t *pj)
{
	json_t *paths = json_object_get(pj, "paths"), *ver = json_object_get(pj, "paths_version");
	json_t *it;
	size_t i;
	int r;

	if (!json_is_integer(ver) || json_integer_value(ver) != 1)
		return pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
				  "%s: [install] info/paths.json has paths_version other than 1; a newer installer is needed for this package",
				  L->thing);
	if (!json_is_array(paths))
		return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
				  "%s: [install] info/paths.json has no \"paths\" list; the package is broken",
				  L->thing);
	json_array_foreach(paths, i, it) {
		const char *path = json_str(it, "_path"), *t = json_str(it, "path_type");
		const char *sha = json_str(it, "sha256"), *ph = json_str(it, "prefix_placeholder");
		const char *fm = json_str(it, "file_mode");
		json_t *sz = json_object_get(it, "size_in_bytes");
		enum ptype type;
		struct pentry *p;

		if (!path || !t)
			return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
					  "%s: [install] info/paths.json: entry %zu has no _path or path_type; the package is broken",
					  L->thing, i);
		if (!strcmp(t, "hardlink"))
			type = PT_HARDLINK;
		else if (!strcmp(t, "softlink"))
			type = PT_SOFTLINK;
		else if (!strcmp(t, "directory"))
			type = PT_DIRECTORY;
		else
			return pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] info/paths.json: '%s' has the unknown path_type '%s'; a newer installer is needed for this package",
					  L->thing, path, t);
		r = add_path(L, path, type, &p);
		if (r < 0)
			return r;
		if (sha) {
			if (!valid_hex(sha, 64))
				return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
						  "%s: [install] info/paths.json: '%s' has an invalid sha256; the package is broken",
						  L->thing, path);
			p->sha256 = xstrdup(sha);
			for (char *c = p->sha256; *c; c++)
				*c = ascii_lower(*c);
		}
		if (json_is_integer(sz) && json_integer_value(sz) >= 0)
			p->size = json_integer_value(sz);
		p->sha_given = sha || p->size >= 0;
		if (ph && *ph) {
			if (type != PT_HARDLINK)
				return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
						  "%s: [install] info/paths.json: the %s '%s' has a prefix placeholder; the package is broken",
						  L->thing, t, path);
			p->placeholder = xstrdup(ph);
			if (!fm || !strcmp(fm, "text"))
				p->binary = false;
			else if (!strcmp(fm, "binary"))
				p->binary = true;
			else
				return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
						  "%s: [install] info/paths.json: '%s' has the unknown file_mode '%s'",
						  L->thing, path, fm);
		}
		p->no_link = json_is_true(json_object_get(it, "no_link"));
	}
	return 0;
}

/* shlex.split(line, posix=False) with quotes stripped, as conda's
 * read_has_prefix reads a line. */
static void split_quoted(struct blob line, struct strv *out)
{
	size_t i = 0;

	while (i < line.len) {
		struct sbuf w = SBUF_INIT;

		while (i < line.len && (line.ptr[i] == ' ' || line.ptr[i] == '\t'))
			i++;
		if (i >= line.len)
			break;
		while (i < line.len && line.ptr[i] != ' ' && line.ptr[i] != '\t') {
			char q = line.ptr[i];

			if (q == '"' || q == '\'') {
				i++;
				while (i < line.len && line.ptr[i] != q)
					sbuf_addc(&w, line.ptr[i++]);
				if (i < line.len)
					i++;
			} else {
				sbuf_addc(&w, line.ptr[i++]);
			}
		}
		sbuf_add(&w, "", 0);
		strv_push(out, sbuf_detach(&w));
	}
}

static struct pentry *find_src(struct link *L, const char *src)
{
	for (size_t i = 0; i < L->npe; i++)
		if (L->pe[i].src && !strcmp(L->pe[i].src, src))
			return &L->pe[i];
	return NULL;
}

/* Packages before paths.json: info/files, info/has_prefix, info/no_link,
 * info/no_softlink (conda's read_paths_json fallback). */
static int read_old_format(struct link *L)
{
	struct sbuf s = SBUF_INIT, n = SBUF_INIT;
	struct blob b, line;
	int r = read_info(L, "files", false, &s);

	if (r < 0)
		goto out;
	b = (struct blob){ s.buf, s.len };
	while (blob_line(&b, &line)) {
		struct pentry *p;
		char *raw;

		line = blob_trim(line);
		if (!line.len)
			continue;
		raw = blob_dup(line);
		r = add_path(L, raw, PT_HARDLINK, &p);
		free(raw);
		if (r < 0)
			goto out;
	}
	sbuf_reset(&s);
	r = read_info(L, "has_prefix", true, &s);
	if (r < 0)
		goto out;
	b = r == 0 ? (struct blob){ s.buf, s.len } : BLOB_NULL;
	r = 0;
	while (blob_line(&b, &line)) {
		struct strv w = { NULL, 0, 0 };
		const char *ph, *mode, *path, *why = NULL;
		struct pentry *p;

		line = blob_trim(line);
		if (!line.len)
			continue;
		split_quoted(line, &w);
		if (w.n == 1) {
			ph = CONDA_PREFIX_PLACEHOLDER;
			mode = "text";
			path = w.v[0];
		} else if (w.n == 3) {
			ph = w.v[0];
			mode = w.v[1];
			path = w.v[2];
		} else {
			r = pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
				       "%s: [install] info/has_prefix: cannot read the line '" BLOB_FMT "'; the package is broken",
				       L->thing, BLOB_ARG(line));
			strv_free(&w);
			goto out;
		}
		if (strcmp(mode, "text") && strcmp(mode, "binary")) {
			r = pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
				       "%s: [install] info/has_prefix: '%s' has the unknown mode '%s'",
				       L->thing, path, mode);
			strv_free(&w);
			goto out;
		}
		p = fs_path_norm(path, false, &n, &why) ? find_src(L, n.buf) : NULL;
		if (p && *ph) {
			free(p->placeholder);
			p->placeholder = xstrdup(ph);
			p->binary = !strcmp(mode, "binary");
		}
		strv_free(&w);
	}
	for (int k = 0; k < 2; k++) {
		sbuf_reset(&s);
		r = read_info(L, k ? "no_softlink" : "no_link", true, &s);
		if (r < 0)
			goto out;
		b = r == 0 ? (struct blob){ s.buf, s.len } : BLOB_NULL;
		r = 0;
		while (blob_line(&b, &line)) {
			const char *why = NULL;
			struct pentry *p;
			char *raw;

			line = blob_trim(line);
			if (!line.len)
				continue;
			raw = blob_dup(line);
			p = fs_path_norm(raw, false, &n, &why) ? find_src(L, n.buf) : NULL;
			if (p)
				p->no_link = true;
			free(raw);
		}
	}
out:
	sbuf_free(&s);
	sbuf_free(&n);
	return r;
}

static bool dotted_name(const char *s, size_t n)
{
	bool start = true;

	if (!n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.') {
			if (start)
				return false;
			start = true;
			continue;
		}
		if (!(ascii_isalnum(c) || c == '_' || (unsigned char)c >= 0x80) ||
		    (start && ascii_isdigit(c)))
			return false;
		start = false;
	}
	return !start;
}

/* conda's generate_shebang_for_entry_point. */
static void entry_point_shebang(const char *python, struct sbuf *out)
{
	if (strlen(python) + 3 > SHEBANG_MAX || strchr(python, ' '))
		sbuf_addf(out, "#!/bin/sh\n'''exec' \"%s\" \"$0\" \"$@\" #'''\n", python);
	else
		sbuf_addf(out, "#!%s\n", python);
}

/* "name = module:func" (conda's parse_entry_point_def). */
static int plan_entry_points(struct link *L)
{
	json_t *it;
	size_t i;

	if (!L->entry_points)
		return 0;
	if (!json_is_array(L->entry_points))
		return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
				  "%s: [install] info/link.json: noarch.entry_points is not a list; the package is broken",
				  L->thing);
	json_array_foreach(L->entry_points, i, it) {
		const char *def = json_is_string(it) ? json_string_value(it) : NULL;
		const char *colon = def ? strrchr(def, ':') : NULL, *eq;
		struct blob cmd, mod, func;
		struct sbuf text = SBUF_INIT;
		struct pentry *p;
		char *python, *cmds, *mods, *funcs;
		size_t imp;

		if (!colon || !(eq = memrchr(def, '=', (size_t)(colon - def))))
			return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
					  "%s: [install] info/link.json: the entry point '%s' is not \"name = module:function\"; the package is broken",
					  L->thing, def ? def : "(not a string)");
		cmd = blob_trim((struct blob){ def, (size_t)(eq - def) });
		mod = blob_trim((struct blob){ eq + 1, (size_t)(colon - eq - 1) });
		func = blob_trim(BLOB_STR(colon + 1));
		if (!cmd.len || memchr(cmd.ptr, '/', cmd.len) || memchr(cmd.ptr, '\n', cmd.len) ||
		    blob_eq_str(cmd, ".") || blob_eq_str(cmd, "..") ||
		    !dotted_name(mod.ptr, mod.len) || !dotted_name(func.ptr, func.len))
			return pkgimg_err(L->ctx, -PKGIMG_E_PARSE,
					  "%s: [install] info/link.json: invalid entry point '%s'; the package is broken",
					  L->thing, def);
		cmds = blob_dup(cmd);
		mods = blob_dup(mod);
		funcs = blob_dup(func);
		imp = strcspn(funcs, ".");
		python = xasprintf("%s/bin/python", L->prefix);
		entry_point_shebang(python, &text);
		sbuf_addf(&text, entry_point_fmt, mods, (int)imp, funcs, funcs);
		p = pe_new(L);
		p->dst = xasprintf("bin/%s", cmds);
		p->type = PT_ENTRY_POINT;
		p->text_len = text.len;
		p->text = sbuf_detach(&text);
		free(python);
		free(cmds);
		free(mods);
		free(funcs);
	}
	return 0;
}

static int pe_dst_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pentry *)a)->dst, ((const struct pentry *)b)->dst);
}

static int plan(struct link *L)
{
	json_t *pj = NULL;
	int r = read_index(L);

	if (r < 0)
		return r;
	r = read_info_json(L, "paths.json", true, &pj);
	if (r == 0)
		r = read_paths_json(L, pj);
	else if (r == 1) {
		L->old_format = true;
		r = read_old_format(L);
	}
	json_decref(pj);
	if (r < 0)
		return r;
	r = plan_entry_points(L);
	if (r < 0)
		return r;
	qsort(L->pe, L->npe, sizeof *L->pe, pe_dst_cmp);
	for (size_t i = 0; i < L->npe; i++) {
		const char *d = L->pe[i].dst;
		size_t n = strlen(d);

		if (i + 1 < L->npe && !strcmp(d, L->pe[i + 1].dst))
			return pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] two files of the package go to '%s'; the package is broken",
					  L->thing, d);
		/* a file that is also a parent directory of another one */
		if (L->pe[i].type != PT_DIRECTORY && i + 1 < L->npe &&
		    !strncmp(L->pe[i + 1].dst, d, n) && L->pe[i + 1].dst[n] == '/')
			return pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
					  "%s: [install] '%s' is both a file and a directory in the package; the package is broken",
					  L->thing, d);
		if (!strcmp(d, "conda-meta") || str_starts_with(d, "conda-meta/"))
			return pkgimg_err(L->ctx, -PKGIMG_E_UNSAFE,
					  "%s: [install] refusing '%s': conda-meta/ belongs to the installer",
					  L->thing, d);
	}
	return 0;
}

/* ---- linking: placing files ---- */

static void journal_add(struct link *L, const char *path, char *backup)
{
	if (L->nj == L->capj) {
		L->capj = L->capj ? 2 * L->capj : 64;
		L->j = xrealloc(L->j, L->capj * sizeof *L->j);
	}
	L->j[L->nj].path = xstrdup(path);
	L->j[L->nj].backup = backup;
	L->j[L->nj].created = false;
	L->nj++;
}

/* Gets the place for a new non-directory at root-relative `rel`: its parent
 * (*dirfd, *name), whatever was there moved aside (journaled).  The caller
 * creates the file and sets the journal entry's `created`. */
static int make_room(struct link *L, const char *rel, int *dirfd, const char **name)
{
	struct stat st;
	char *bak = NULL;
	int r = dirfd_cache_open_parent(&L->dstc, L->ctx, L->thing, "install", L->rootfd, rel,
					 &L->dirs, dirfd, name);

	if (r < 0)
		return r;
	if (fstatat(*dirfd, *name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (S_ISDIR(st.st_mode))
			return pkgimg_err(L->ctx, -EISDIR,
					  "%s: [install] cannot install '/%s': a directory is in the way; remove it or the package that put it there",
					  L->thing, rel);
		bak = xasprintf("%.*s.pkgimg-bak-%d-%s", (int)(*name - rel), rel, (int)getpid(), *name);
		if (renameat(*dirfd, *name, *dirfd, path_base(bak)) < 0) {
			r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot replace '/%s': %m",
				       L->thing, rel);
			free(bak);
			return r;
		}
		pkgimg_warn(L->ctx, "%s: [install] replacing '/%s', which another package installed",
			    L->thing, rel);
	} else if (errno != ENOENT) {
		return pkgimg_err(L->ctx, -errno, "%s: [install] cannot install '/%s': %m", L->thing, rel);
	}
	journal_add(L, rel, bak);
	return 0;
}

static char *root_rel(struct link *L, const char *dst)
{
	return path_join(L->prefix_rel, dst);
}

/* Writes data to a new file at rel with mode and the mtime. */
static int place_bytes(struct link *L, const char *rel, const char *data, size_t len, mode_t mode)
{
	struct timespec ts[2];
	const char *name;
	int dirfd, fd, r;

	r = make_room(L, rel, &dirfd, &name);
	if (r < 0)
		return r;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return pkgimg_err(L->ctx, -errno, "%s: [install] cannot create '/%s': %m",
				  L->thing, rel);
	L->j[L->nj - 1].created = true;
	r = fs_write_all(fd, data, len);
	if (r < 0) {
		r = pkgimg_err(L->ctx, r, "%s: [install] cannot write '/%s': %s", L->thing, rel,
			       strerror(-r));
		goto out;
	}
	times_of(L->o->mtime, ts);
	if (fchmod(fd, mode) < 0 || (L->o->mtime >= 0 && futimens(fd, ts) < 0)) {
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot set the mode of '/%s': %m",
			       L->thing, rel);
		goto out;
	}
out:
	if (close(fd) < 0 && r == 0)
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot write '/%s': %m", L->thing, rel);
	return r;
}

static int place_symlink(struct link *L, const char *rel, const char *target)
{
	struct timespec ts[2];
	const char *name;
	int dirfd, r;

	r = make_room(L, rel, &dirfd, &name);
	if (r < 0)
		return r;
	if (symlinkat(target, dirfd, name) < 0)
		return pkgimg_err(L->ctx, -errno, "%s: [install] cannot create the symlink '/%s': %m",
				  L->thing, rel);
	L->j[L->nj - 1].created = true;
	times_of(L->o->mtime, ts);
	if (L->o->mtime >= 0 && utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return pkgimg_err(L->ctx, -errno, "%s: [install] cannot set the time of '/%s': %m",
				  L->thing, rel);
	return 0;
}

static int place_dir(struct link *L, const char *rel)
{
	char *child = xasprintf("%s/x", rel);
	const char *name;
	int dirfd;
	int r = dirfd_cache_open_parent(&L->dstc, L->ctx, L->thing, "install", L->rootfd,
					 child, &L->dirs, &dirfd, &name);

	free(child);
	return r;
}

/* conda's binary_replace: in each NUL-terminated string holding the
 * placeholder (with no line break before its NUL, as Python's '.' does not
 * match one), every occurrence is replaced and the string padded with NULs. */
static int binary_replace(const char *data, size_t len, const char *ph, const char *pfx,
			  struct sbuf *out)
{
	size_t pl = strlen(ph), nl = strlen(pfx), i = 0, start = 0;

	if (!pl)
		return -1;
	while (i + pl <= len) {
		const char *hit = memmem(data + i, len - i, ph, pl), *end;
		size_t count = 0, j;

		if (!hit)
			break;
		i = (size_t)(hit - data);
		end = i + pl <= len ? memchr(data + i + pl, 0, len - i - pl) : NULL;
		{
			const char *lf = memchr(data + i + pl, '\n',
						end ? (size_t)(end - data - i - pl) : 0);

			if (!end || lf) {
				i++;
				continue;
			}
		}
		if (nl > pl)
			return -1;
		sbuf_add(out, data + start, i - start);
		j = i;
		while (j < (size_t)(end - data)) {
			const char *h = memmem(data + j, (size_t)(end - data) - j, ph, pl);

			if (!h) {
				sbuf_add(out, data + j, (size_t)(end - data) - j);
				break;
			}
			sbuf_add(out, data + j, (size_t)(h - data) - j);
			sbuf_add(out, pfx, nl);
			count++;
			j = (size_t)(h - data) + pl;
		}
		sbuf_addc(out, 0);
		for (size_t k = 0; k < count * (pl - nl); k++)
			sbuf_addc(out, 0);
		i = start = (size_t)(end - data) + 1;
	}
	sbuf_add(out, data + start, len - start);
	return 0;
}

static void replace_all(const char *data, size_t len, const char *from, size_t fl,
			const char *to, size_t tl, struct sbuf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *h = fl ? memmem(data + i, len - i, from, fl) : NULL;

		if (!h) {
			sbuf_add(out, data + i, len - i);
			break;
		}
		sbuf_add(out, data + i, (size_t)(h - data) - i);
		sbuf_add(out, to, tl);
		i = (size_t)(h - data) + fl;
	}
	sbuf_add(out, "", 0);
}

/* conda's replace_long_shebang: a first line "#!/path/exe opts" longer than
 * 127 bytes, or whose path holds an escaped space, becomes
 * "#!/usr/bin/env exe opts" (every copy of that line in the file). */
static void long_shebang(struct sbuf *s)
{
	const char *p = s->buf, *e, *exe, *exe_end, *slash, *lf;
	struct sbuf out = SBUF_INIT, line = SBUF_INIT;
	bool escaped = false;

	if (s->len < 2 || p[0] != '#' || p[1] != '!')
		return;
	lf = memchr(p, '\n', s->len);
	e = lf ? lf : p + s->len;
	exe = p + 2;
	while (exe < e && *exe == ' ')
		exe++;
	if (exe >= e || *exe != '/')
		return;
	exe_end = exe;
	while (exe_end < e) {
		if (exe_end[0] == '\\' && exe_end + 1 < e && exe_end[1] == ' ') {
			exe_end += 2;
			continue;
		}
		if (*exe_end == ' ' || *exe_end == '\t' || *exe_end == '\r')
			break;
		exe_end++;
	}
	slash = exe_end;
	while (slash > exe && slash[-1] != '/')
		slash--;
	for (const char *c = exe; c + 1 < slash; c++)
		if (c[0] == '\\' && c[1] == ' ')
			escaped = true;
	if ((size_t)(e - p) <= SHEBANG_MAX && !escaped)
		return;
	sbuf_adds(&line, "#!/usr/bin/env ");
	sbuf_add(&line, slash, (size_t)(e - slash));
	replace_all(s->buf, s->len, p, (size_t)(e - p), line.buf, line.len, &out);
	sbuf_free(s);
	*s = out;
	sbuf_free(&line);
}

/* conda's replace_prefix in text mode (+ replace_long_shebang). */
static void text_replace(const char *data, size_t len, const char *ph, const char *pfx,
			 struct sbuf *out)
{
	struct sbuf tmp = SBUF_INIT;
	const char *lf = memchr(data, '\n', len);
	size_t pl = strlen(ph);

	if (lf && strchr(pfx, ' ')) {
		char *from = xasprintf("#!%s", ph);
		struct sbuf to = SBUF_INIT;

		sbuf_adds(&to, "#!");
		for (const char *c = pfx; *c; c++) {
			if (*c == ' ')
				sbuf_addc(&to, '\\');
			sbuf_addc(&to, *c);
		}
		replace_all(data, (size_t)(lf - data), from, strlen(from), to.buf, to.len, &tmp);
		sbuf_add(&tmp, lf, len - (size_t)(lf - data));
		free(from);
		sbuf_free(&to);
		replace_all(tmp.buf, tmp.len, ph, pl, pfx, strlen(pfx), out);
	} else {
		replace_all(data, len, ph, pl, pfx, strlen(pfx), out);
	}
	sbuf_free(&tmp);
	long_shebang(out);
}

/* Copies a regular file of the package to rel (through its fd), rewriting
 * its placeholder, checking its sha256 and size against paths.json. */
static int place_file(struct link *L, struct pentry *p, const char *rel, int sfd,
		      const struct stat *st)
{
	mode_t mode = (st->st_mode & 0111) ? 0755 : 0644;
	struct sbuf data = SBUF_INIT, out = SBUF_INIT;
	struct hasher h = { NULL };
	struct timespec ts[2];
	char hex[HASH_HEX_MAX];
	const char *name;
	int dirfd, fd = -1, r;
	int64_t total = 0;

	if (hasher_init(&h, "sha256") < 0) {
		r = pkgimg_err(L->ctx, -ENOSYS, "%s: [install] sha256 is not available", L->thing);
		goto out;
	}
	r = make_room(L, rel, &dirfd, &name);
	if (r < 0)
		goto out;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot create '/%s': %m", L->thing, rel);
		goto out;
	}
	L->j[L->nj - 1].created = true;
	for (;;) {
		ssize_t n = read(sfd, L->buf, sizeof L->buf);

		if (n == 0)
			break;
		if (n < 0) {
			r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot read '%s' of the extracted package: %m",
				       L->thing, p->src);
			goto out;
		}
		hasher_update(&h, L->buf, (size_t)n);
		total += n;
		if (p->placeholder) {
			sbuf_add(&data, L->buf, (size_t)n);
			continue;
		}
		r = fs_write_all(fd, L->buf, (size_t)n);
		if (r < 0) {
			r = pkgimg_err(L->ctx, r, "%s: [install] cannot write '/%s': %s", L->thing, rel,
				       strerror(-r));
			goto out;
		}
	}
	hasher_final_hex(&h, hex);
	h.md = NULL;
	if (p->type == PT_HARDLINK && p->sha_given &&
	    ((p->sha256 && strcmp(p->sha256, hex)) || (p->size >= 0 && p->size != total))) {
		r = pkgimg_err(L->ctx, -PKGIMG_E_CHECKSUM,
			       "%s: [install] '%s' of the extracted package does not match info/paths.json (sha256 %s, %lld bytes; expected %s, %lld bytes); remove the extracted package and extract it again",
			       L->thing, p->src, hex, (long long)total,
			       p->sha256 ? p->sha256 : "-", (long long)p->size);
		goto out;
	}
	if (!p->sha256 && p->type == PT_HARDLINK) {
		p->sha256 = xstrdup(hex);
		p->size = total;
	}
	if (p->placeholder) {
		if (!data.buf)
			sbuf_add(&data, "", 0);
		if (p->binary) {
			if (binary_replace(data.buf, data.len, p->placeholder, L->prefix, &out) < 0) {
				r = pkgimg_err(L->ctx, -PKGIMG_E_USAGE,
					       "%s: [install] the prefix '%s' is longer than the placeholder of '%s' (%zu characters) in the binary '%s'; use a prefix of at most %zu characters",
					       L->thing, L->prefix, p->placeholder, strlen(p->placeholder),
					       p->dst, strlen(p->placeholder));
				goto out;
			}
		} else {
			text_replace(data.buf, data.len, p->placeholder, L->prefix, &out);
		}
		if (!out.buf)
			sbuf_add(&out, "", 0);
		hash_sha256_hex(out.buf, out.len, p->in_prefix);
		r = fs_write_all(fd, out.buf, out.len);
		if (r < 0) {
			r = pkgimg_err(L->ctx, r, "%s: [install] cannot write '/%s': %s", L->thing, rel,
				       strerror(-r));
			goto out;
		}
	} else {
		memcpy(p->in_prefix, hex, sizeof p->in_prefix);	/* copied as it is */
	}
	times_of(L->o->mtime, ts);
	if (fchmod(fd, mode) < 0 || (L->o->mtime >= 0 && futimens(fd, ts) < 0)) {
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot set the mode of '/%s': %m",
			       L->thing, rel);
		goto out;
	}
out:
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot write '/%s': %m", L->thing, rel);
	if (h.md)
		hasher_free(&h);
	sbuf_free(&data);
	sbuf_free(&out);
	return r;
}

static int src_parent(struct link *L, const char *src, int *dirfd, const char **name)
{
	int fd, r;

	if (dirfd_cache_get(&L->srcc, src, dirfd, name))
		return 0;
	dirfd_cache_drop(&L->srcc);
	r = fs_open_parent(L->ctx, L->thing, "install", L->srcfd, src, false, NULL, &fd, name);
	if (r == -ENOENT)
		r = pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] '%s' is listed in the package but missing from the extracted package; extract it again",
			       L->thing, src);
	if (r < 0)
		return r;
	dirfd_cache_set(&L->srcc, src, fd);
	*dirfd = fd;
	return 0;
}

static int place_one(struct link *L, struct pentry *p)
{
	char *rel = root_rel(L, p->dst);
	char target[4096];
	const char *name;
	struct stat st;
	int sdir, fd = -1, r;

	if (p->type == PT_ENTRY_POINT) {
		r = place_bytes(L, rel, p->text, p->text_len, 0755);
		if (r == 0) {
			hash_sha256_hex(p->text, p->text_len, p->in_prefix);
			p->sha256 = xstrdup(p->in_prefix);
			p->size = (int64_t)p->text_len;
			p->in_prefix[0] = 0;	/* rattler: sha256 and size only */
		}
		goto out;
	}
	if (p->type == PT_DIRECTORY) {
		r = place_dir(L, rel);
		goto out;
	}
	r = src_parent(L, p->src, &sdir, &name);
	if (r < 0)
		goto out;
	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		r = pkgimg_err(L->ctx, errno == ENOENT ? -PKGIMG_E_ARCHIVE : -errno,
			       "%s: [install] '%s' is listed in the package but %s; extract the package again",
			       L->thing, p->src, errno == ENOENT ? "missing from the extracted package" : strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);

		if (n < 0 || n >= (ssize_t)sizeof target - 1) {
			r = pkgimg_err(L->ctx, n < 0 ? -errno : -ENAMETOOLONG,
				       "%s: [install] cannot read the symlink '%s' of the extracted package: %s",
				       L->thing, p->src, n < 0 ? strerror(errno) : "target too long");
			goto out;
		}
		target[n] = 0;
		if (L->old_format)
			p->type = PT_SOFTLINK;	/* conda: islink() in the package */
		if (p->placeholder) {
			r = pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
				       "%s: [install] '%s' has a prefix placeholder but is a symlink in the package; the package is broken",
				       L->thing, p->src);
			goto out;
		}
		r = place_symlink(L, rel, target);
		if (r == 0)
			hash_sha256_hex(target, (size_t)n, p->in_prefix);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = pkgimg_err(L->ctx, -PKGIMG_E_ARCHIVE,
			       "%s: [install] '%s' is not a file in the extracted package; extract it again",
			       L->thing, p->src);
		goto out;
	}
	fd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(L->ctx, -errno, "%s: [install] cannot read '%s' of the extracted package: %m",
			       L->thing, p->src);
		goto out;
	}
	r = place_file(L, p, rel, fd, &st);
out:
	if (fd >= 0)
		close(fd);
	free(rel);
	return r;
}

/* ---- the record ---- */

/* Python's json.dumps writes \u escapes in lowercase hex; jansson in
 * uppercase. */
static void lower_u_escapes(char *s, size_t len)
{
	bool in = false;

	for (size_t i = 0; i < len; i++) {
		if (!in) {
			in = s[i] == '"';
			continue;
		}
		if (s[i] == '"') {
			in = false;
		} else if (s[i] == '\\' && i + 1 < len) {
			if (s[i + 1] == 'u')
				for (size_t k = i + 2; k < i + 6 && k < len; k++)
					s[k] = ascii_lower(s[k]);
			i++;
		}
	}
}

/* The record's bytes: conda's json.dumps(indent=2, sort_keys=True). */
static int record_dump(json_t *rec, struct sbuf *out)
{
	char *s = json_dumps(rec, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

	if (!s)
		return -ENOMEM;
	lower_u_escapes(s, strlen(s));
	sbuf_reset(out);
	sbuf_adds(out, s);
	free(s);
	return 0;
}

static json_t *path_obj(const char *path, const char *type, const char *sha, int64_t size,
			const char *in_prefix, const char *ph, const char *fm, bool no_link)
{
	json_t *o = json_object();

	json_object_set_new(o, "_path", json_string(path));
	json_object_set_new(o, "path_type", json_string(type));
	if (sha)
		json_object_set_new(o, "sha256", json_string(sha));
	if (in_prefix && *in_prefix)
		json_object_set_new(o, "sha256_in_prefix", json_string(in_prefix));
	if (size >= 0)
		json_object_set_new(o, "size_in_bytes", json_integer(size));
	if (ph) {
		json_object_set_new(o, "prefix_placeholder", json_string(ph));
		json_object_set_new(o, "file_mode", json_string(fm));
	}
	if (no_link)
		json_object_set_new(o, "no_link", json_true());
	return o;
}

static json_t *record_build(struct link *L)
{
	const struct conda_pkg_info *in = L->info;
	json_t *rec = json_deep_copy(L->index), *files = json_array(), *paths = json_array();
	json_t *pd = json_object(), *lk = json_object();
	char *epd = xasprintf("%s/pkgs/%s-%s-%s", L->prefix, L->name, L->version, L->build);
	char *tar = xasprintf("%s/pkgs/%s", L->prefix, in->fn);

	if (!json_is_array(json_object_get(rec, "depends")))
		json_object_set_new(rec, "depends", json_array());
	if (!json_is_array(json_object_get(rec, "constrains")))
		json_object_set_new(rec, "constrains", json_array());
	json_object_set_new(rec, "channel", json_string(in->channel));
	json_object_set_new(rec, "url", json_string(in->url));
	json_object_set_new(rec, "fn", json_string(in->fn));
	if (in->md5 && *in->md5)
		json_object_set_new(rec, "md5", json_string(in->md5));
	else
		json_object_del(rec, "md5");
	if (in->sha256 && *in->sha256)
		json_object_set_new(rec, "sha256", json_string(in->sha256));
	else
		json_object_del(rec, "sha256");
	json_object_set_new(rec, "size", json_integer((json_int_t)in->size));
	json_object_set_new(rec, "requested_spec",
			    in->requested_spec && *in->requested_spec ?
			    json_string(in->requested_spec) : json_null());
	json_object_set_new(rec, "extracted_package_dir", json_string(epd));
	json_object_set_new(rec, "package_tarball_full_path", json_string(tar));
	json_object_set_new(lk, "source", json_string(epd));
	json_object_set_new(lk, "type", json_integer(1));
	json_object_set_new(rec, "link", lk);
	for (size_t i = 0; i < L->npe; i++) {
		struct pentry *p = &L->pe[i];

		if (p->type != PT_DIRECTORY)
			json_array_append_new(files, json_string(p->dst));
		json_array_append_new(paths, path_obj(p->dst, ptype_names[p->type], p->sha256,
						      p->size, p->in_prefix, p->placeholder,
						      p->binary ? "binary" : "text", p->no_link));
	}
	json_object_set_new(rec, "files", files);
	json_object_set_new(pd, "paths", paths);
	json_object_set_new(pd, "paths_version", json_integer(1));
	json_object_set_new(rec, "paths_data", pd);
	free(epd);
	free(tar);
	return rec;
}

static int write_record(struct link *L, char **record_rel)
{
	char *rel = xasprintf("%s/conda-meta/%s-%s-%s.json", L->prefix_rel, L->name, L->version,
			      L->build);
	struct sbuf s = SBUF_INIT;
	json_t *rec = record_build(L);
	int r;

	if (!rec || record_dump(rec, &s) < 0) {
		r = pkgimg_err(L->ctx, -ENOMEM, "%s: [install] cannot build the conda-meta record",
			       L->thing);
		goto out;
	}
	r = place_bytes(L, rel, s.buf, s.len, 0644);
	if (r == 0) {
		*record_rel = rel;
		rel = NULL;
	}
out:
	json_decref(rec);
	sbuf_free(&s);
	free(rel);
	return r;
}

/* ---- linking: the end ---- */

static void add_parent(struct strv *sv, const char *path)
{
	const char *slash = strrchr(path, '/');

	strv_push(sv, xstrndup(path, slash ? (size_t)(slash - path) : 0));
}

/* Gives each directory of dirs (root-relative, "" the root itself) the
 * mtime: what a file was written in changed, and a reproducible tree has
 * the caller's time there too.  Best effort: a failure is a warning (the
 * files are in place by now). */
static void date_dirs(struct pkgimg_ctx *ctx, const char *thing, int rootfd, struct strv *dirs,
		      int64_t mtime)
{
	struct timespec ts[2];

	if (mtime < 0)
		return;
	times_of(mtime, ts);
	strv_sort(dirs);
	for (size_t i = 0; i < dirs->n; i++) {
		const char *d = dirs->v[i], *name;
		int dirfd, r;

		if (i && !strcmp(d, dirs->v[i - 1]))
			continue;
		if (!*d) {
			r = futimens(rootfd, ts);
		} else {
			if (fs_open_parent(NULL, thing, "install", rootfd, d, false, NULL, &dirfd,
					   &name) < 0)
				continue;
			r = utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW);
			close(dirfd);
		}
		if (r < 0)
			pkgimg_warn(ctx, "%s: cannot set the time of '/%s': %s", thing, d,
				    strerror(errno));
	}
}

/* The directories the link created or wrote in. */
static void link_dirs(struct link *L, struct strv *out)
{
	for (size_t i = 0; i < L->dirs.n; i++) {
		strv_add(out, L->dirs.v[i]);
		add_parent(out, L->dirs.v[i]);
	}
	for (size_t i = 0; i < L->nj; i++)
		add_parent(out, L->j[i].path);
}

static void drop_backups(struct link *L)
{
	for (size_t i = 0; i < L->nj; i++) {
		const char *name;
		int dirfd;

		if (!L->j[i].backup)
			continue;
		if (fs_open_parent(NULL, L->thing, "install", L->rootfd, L->j[i].backup, false,
				   NULL, &dirfd, &name) < 0)
			continue;
		unlinkat(dirfd, name, 0);
		close(dirfd);
	}
}

/* Undoes the journal: removes what was created, puts back what was
 * replaced, removes the directories created (errors ignored: the message on
 * ctx is the first error's). */
static void rollback(struct link *L)
{
	dirfd_cache_drop(&L->dstc);
	for (size_t i = L->nj; i-- > 0;) {
		struct jent *j = &L->j[i];
		const char *name;
		int dirfd;

		if (fs_open_parent(NULL, L->thing, "install", L->rootfd, j->path, false, NULL,
				   &dirfd, &name) < 0)
			continue;
		if (j->created)
			unlinkat(dirfd, name, 0);
		if (j->backup)
			renameat(dirfd, path_base(j->backup), dirfd, name);
		close(dirfd);
	}
	for (size_t i = L->dirs.n; i-- > 0;)
		unlinkat(L->rootfd, L->dirs.v[i], AT_REMOVEDIR);
}

/* "/opt/conda" from the caller's prefix: absolute, normalised, not "/". */
static int prefix_norm(struct pkgimg_ctx *ctx, const char *thing, const char *raw, char **out)
{
	struct sbuf s = SBUF_INIT;
	const char *why = NULL;

	if (!raw)
		raw = CONDA_DEFAULT_PREFIX;
	if (*raw != '/' || !fs_path_norm(raw + 1, false, &s, &why) || !s.len || strchr(raw, '\\')) {
		sbuf_free(&s);
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [install] invalid conda prefix '%s': it must be an absolute path below '/' without '..'",
				  thing, raw);
	}
	*out = xasprintf("/%s", s.buf);
	sbuf_free(&s);
	return 0;
}

static void link_free(struct link *L)
{
	for (size_t i = 0; i < L->npe; i++) {
		free(L->pe[i].src);
		free(L->pe[i].dst);
		free(L->pe[i].sha256);
		free(L->pe[i].placeholder);
		free(L->pe[i].text);
	}
	free(L->pe);
	for (size_t i = 0; i < L->nj; i++) {
		free(L->j[i].path);
		free(L->j[i].backup);
	}
	free(L->j);
	strv_free(&L->dirs);
	dirfd_cache_drop(&L->dstc);
	dirfd_cache_drop(&L->srcc);
	json_decref(L->index);
	json_decref(L->link_json);
	free(L->noarch);
	free(L->sp_dir);
	free(L->prefix);
	if (L->srcfd >= 0)
		close(L->srcfd);
}

int conda_pkg_link(struct pkgimg_ctx *ctx, const char *extracted_dir, int rootfd,
		   const struct conda_link_opts *o, const struct conda_pkg_info *info,
		   struct conda_linked *out)
{
	struct link *L = xcalloc(1, sizeof *L);
	char *record = NULL;
	int r;

	if (!o)
		o = &default_opts;
	L->ctx = ctx;
	L->o = o;
	L->info = info;
	L->rootfd = rootfd;
	L->srcfd = -1;
	L->dstc = (struct dirfd_cache)DIRFD_CACHE_INIT;
	L->srcc = (struct dirfd_cache)DIRFD_CACHE_INIT;
	L->thing = info && info->fn ? info->fn : path_base(extracted_dir);
	if (!info || !info->fn || !info->url || !info->channel || !*info->fn) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
			       "%s: [install] the package's channel, url and file name are needed for its conda-meta record",
			       L->thing);
		goto out;
	}
	r = prefix_norm(ctx, L->thing, o->prefix, &L->prefix);
	if (r < 0)
		goto out;
	L->prefix_rel = L->prefix + 1;
	L->srcfd = open(extracted_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (L->srcfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [install] cannot open the extracted package '%s': %m",
			       L->thing, extracted_dir);
		goto out;
	}
	r = plan(L);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < L->npe && r == 0; i++)
		r = place_one(L, &L->pe[i]);
	if (r == 0)
		r = write_record(L, &record);
	if (r < 0) {
		rollback(L);
		goto out;
	}
	drop_backups(L);
	dirfd_cache_drop(&L->dstc);
	{
		struct strv dirs = { NULL, 0, 0 };

		link_dirs(L, &dirs);
		date_dirs(ctx, L->thing, rootfd, &dirs, o->mtime);
		strv_free(&dirs);
	}
	memset(out, 0, sizeof *out);
	out->name = xstrdup(L->name);
	out->version = xstrdup(L->version);
	out->build = xstrdup(L->build);
	out->subdir = xstrdup(L->subdir);
	out->channel = xstrdup(info->channel);
	out->noarch = L->noarch ? xstrdup(L->noarch) : NULL;
	out->record = record;
	record = NULL;
	out->files = xcalloc(L->npe + 1, sizeof *out->files);
	for (size_t i = 0; i < L->npe; i++)
		if (L->pe[i].type != PT_DIRECTORY)
			out->files[out->nfiles++] = xstrdup(L->pe[i].dst);
out:
	free(record);
	link_free(L);
	free(L);
	return r;
}

void conda_linked_free(struct conda_linked *l)
{
	if (!l)
		return;
	free(l->name);
	free(l->version);
	free(l->build);
	free(l->subdir);
	free(l->channel);
	free(l->noarch);
	free(l->record);
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	memset(l, 0, sizeof *l);
}

/* ---- files next to the records ---- */

/* Opens (creating when `create`) <prefix>/conda-meta as a directory fd.
 * *dirs gets the directories to date afterwards: those created, their
 * parents, and conda-meta itself. */
static int open_meta(struct pkgimg_ctx *ctx, const char *thing, int rootfd,
		     const struct conda_link_opts *o, bool create, int *out, struct strv *dirs)
{
	struct strv made = { NULL, 0, 0 };
	char *prefix = NULL, *rel = NULL;
	const char *name;
	int fd = -1, r;

	r = prefix_norm(ctx, thing, o->prefix, &prefix);
	if (r < 0)
		goto out;
	rel = xasprintf("%s/conda-meta/x", prefix + 1);
	r = fs_open_parent(ctx, thing, "conda-meta", rootfd, rel, create, create ? &made : NULL,
			   &fd, &name);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < made.n; i++) {
		strv_add(dirs, made.v[i]);
		add_parent(dirs, made.v[i]);
	}
	strv_push(dirs, xasprintf("%s/conda-meta", prefix + 1));
	*out = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	strv_free(&made);
	free(prefix);
	free(rel);
	return r;
}

/* Writes name in dirfd atomically (name.tmp + rename), mode 0644, mtime. */
static int meta_write(struct pkgimg_ctx *ctx, const char *thing, int dirfd, const char *name,
		      const char *data, size_t len, int64_t mtime)
{
	char *tmp = xasprintf(".%s.pkgimg-tmp-%d", name, (int)getpid());
	struct timespec ts[2];
	int fd, r;

	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [conda-meta] cannot create '%s': %m", thing, name);
		goto out;
	}
	r = fs_write_all(fd, data, len);
	if (r < 0)
		r = pkgimg_err(ctx, r, "%s: [conda-meta] cannot write '%s': %s", thing, name,
			       strerror(-r));
	times_of(mtime, ts);
	if (r == 0 && (fchmod(fd, 0644) < 0 || (mtime >= 0 && futimens(fd, ts) < 0)))
		r = pkgimg_err(ctx, -errno, "%s: [conda-meta] cannot write '%s': %m", thing, name);
	if (close(fd) < 0 && r == 0)
		r = pkgimg_err(ctx, -errno, "%s: [conda-meta] cannot write '%s': %m", thing, name);
	if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [conda-meta] cannot write '%s': %m", thing, name);
	if (r < 0)
		unlinkat(dirfd, tmp, 0);
out:
	free(tmp);
	return r;
}

static int read_at(struct pkgimg_ctx *ctx, const char *thing, int dirfd, const char *name,
		   struct sbuf *out)
{
	char buf[CONDA_BUF];
	ssize_t n;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [conda-meta] cannot read '%s': %m", thing, name);
	sbuf_add(out, "", 0);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sbuf_add(out, buf, (size_t)n);
	if (n < 0) {
		int e = errno;

		close(fd);
		return pkgimg_err(ctx, -e, "%s: [conda-meta] cannot read '%s': %s", thing, name,
				  strerror(e));
	}
	close(fd);
	return 0;
}

static int path_entry_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, "_path"));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, "_path"));

	return strcmp(x ? x : "", y ? y : "");
}

static int str_entry_cmp(const void *a, const void *b)
{
	const char *x = json_string_value(*(json_t *const *)a);
	const char *y = json_string_value(*(json_t *const *)b);

	return strcmp(x ? x : "", y ? y : "");
}

/* Sorts a JSON array in place with cmp over its json_t * items. */
static void json_array_sort(json_t *arr, int (*cmp)(const void *, const void *))
{
	size_t n = json_array_size(arr);
	json_t **v = xcalloc(n + 1, sizeof *v);

	for (size_t i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(arr, i));
	qsort(v, n, sizeof *v, cmp);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, v[i]);
	free(v);
}

int conda_record_add(struct pkgimg_ctx *ctx, int rootfd, const struct conda_linked *l,
		     const struct conda_link_opts *o, const struct conda_extra_file *f, size_t n)
{
	const char *thing = l->record ? path_base(l->record) : "conda-meta";
	char *name;
	struct sbuf s = SBUF_INIT, np = SBUF_INIT;
	struct strv dirs = { NULL, 0, 0 };
	json_t *rec = NULL, *files, *pd, *paths;
	int dirfd = -1, r;

	if (!o)
		o = &default_opts;
	name = xasprintf("%s-%s-%s.json", l->name, l->version, l->build);
	r = open_meta(ctx, thing, rootfd, o, false, &dirfd, &dirs);
	if (r < 0)
		goto out;
	r = read_at(ctx, thing, dirfd, name, &s);
	if (r < 0)
		goto out;
	rec = json_loadb(s.buf, s.len, 0, NULL);
	files = json_object_get(rec, "files");
	pd = json_object_get(rec, "paths_data");
	paths = json_object_get(pd, "paths");
	if (!json_is_array(files) || !json_is_array(paths)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
			       "%s: [conda-meta] the record has no files or paths_data list; link the package again",
			       thing);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *why = NULL;
		json_t *it;
		size_t k;

		if (!f[i].path || !fs_path_norm(f[i].path, false, &np, &why) || !np.len ||
		    !utf8_ok(np.buf) || (f[i].sha256 && !valid_hex(f[i].sha256, 64))) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE,
				       "%s: [conda-meta] cannot add '%s' to the record: %s", thing,
				       f[i].path ? f[i].path : "(null)",
				       why ? why : "invalid path or sha256");
			goto out;
		}
		json_array_foreach(paths, k, it) {
			if (!strcmp(json_string_value(json_object_get(it, "_path")) ?: "", np.buf)) {
				json_array_remove(paths, k);
				break;
			}
		}
		json_array_foreach(files, k, it) {
			if (!strcmp(json_string_value(it) ?: "", np.buf)) {
				json_array_remove(files, k);
				break;
			}
		}
		json_array_append_new(files, json_string(np.buf));
		json_array_append_new(paths, path_obj(np.buf, f[i].path_type ? f[i].path_type : "pyc_file",
						      f[i].sha256, f[i].size, NULL, NULL, NULL, false));
	}
	json_array_sort(files, str_entry_cmp);
	json_array_sort(paths, path_entry_cmp);
	if (record_dump(rec, &s) < 0) {
		r = pkgimg_err(ctx, -ENOMEM, "%s: [conda-meta] out of memory", thing);
		goto out;
	}
	r = meta_write(ctx, thing, dirfd, name, s.buf, s.len, o->mtime);
	if (r == 0)
		date_dirs(ctx, thing, rootfd, &dirs, o->mtime);
out:
	if (dirfd >= 0)
		close(dirfd);
	strv_free(&dirs);
	json_decref(rec);
	sbuf_free(&s);
	sbuf_free(&np);
	free(name);
	return r;
}

int conda_prefix_init(struct pkgimg_ctx *ctx, int rootfd, const struct conda_link_opts *o)
{
	struct strv dirs = { NULL, 0, 0 };
	struct stat st;
	int dirfd = -1, r;

	if (!o)
		o = &default_opts;
	r = open_meta(ctx, "conda-meta", rootfd, o, true, &dirfd, &dirs);
	if (r < 0)
		goto out;
	if (fstatat(dirfd, "history", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (!S_ISREG(st.st_mode))
			r = pkgimg_err(ctx, -PKGIMG_E_UNSAFE,
				       "conda-meta/history: [conda-meta] it is not a regular file; remove it");
	} else if (errno == ENOENT) {
		r = meta_write(ctx, "conda-meta/history", dirfd, "history", "", 0, o->mtime);
		if (r == 0)
			date_dirs(ctx, "conda-meta/history", rootfd, &dirs, o->mtime);
	} else {
		r = pkgimg_err(ctx, -errno, "conda-meta/history: [conda-meta] %m");
	}
	close(dirfd);
out:
	strv_free(&dirs);
	return r;
}

/* conda's Channel.canonical_name for the usual channel URLs. */
static void canonical_channel(const char *url, const char *subdir, struct sbuf *out)
{
	static const char *const defaults[] = {
		"https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r",
		"https://repo.anaconda.com/pkgs/msys2", NULL
	};
	size_t n = strlen(url);

	while (n && url[n - 1] == '/')
		n--;
	if (*subdir) {
		size_t sl = strlen(subdir);

		if (n > sl && url[n - sl - 1] == '/' && !strncmp(url + n - sl, subdir, sl))
			n -= sl + 1;
	}
	if (n > 7 && !strncmp(url + n - 7, "/noarch", 7))
		n -= 7;
	for (int i = 0; defaults[i]; i++)
		if (strlen(defaults[i]) == n && !strncmp(url, defaults[i], n)) {
			sbuf_adds(out, "defaults");
			return;
		}
	if (n > strlen("https://conda.anaconda.org/") && str_starts_with(url, "https://conda.anaconda.org/")) {
		size_t k = strlen("https://conda.anaconda.org/");

		sbuf_add(out, url + k, n - k);
		return;
	}
	sbuf_add(out, url, n);
}

static char *dist_str(const struct conda_linked *l)
{
	struct sbuf s = SBUF_INIT;

	canonical_channel(l->channel ? l->channel : "", l->subdir ? l->subdir : "", &s);
	if (l->subdir && *l->subdir)
		sbuf_addf(&s, "/%s", l->subdir);
	sbuf_addf(&s, "::%s-%s-%s", l->name, l->version, l->build);
	return sbuf_detach(&s);
}

/* Python's repr() of a str. */
static void py_repr(const char *s, struct sbuf *out)
{
	char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';

	sbuf_addc(out, q);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == (unsigned char)q || c == '\\')
			sbuf_addf(out, "\\%c", c);
		else if (c == '\n')
			sbuf_adds(out, "\\n");
		else if (c == '\r')
			sbuf_adds(out, "\\r");
		else if (c == '\t')
			sbuf_adds(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			sbuf_addf(out, "\\x%02x", c);
		else
			sbuf_addc(out, (char)c);
	}
	sbuf_addc(out, q);
}

int conda_history_append(struct pkgimg_ctx *ctx, int rootfd, const struct conda_link_opts *o,
			 const struct conda_history *h)
{
	struct sbuf s = SBUF_INIT;
	struct strv lines = { NULL, 0, 0 }, dirs = { NULL, 0, 0 };
	struct timespec ts[2];
	struct tm tm;
	time_t t = (time_t)h->time;
	char when[64];
	int dirfd = -1, fd = -1, r;

	if (!o)
		o = &default_opts;
	for (int pass = 0; pass < 2; pass++) {
		const struct conda_linked *v = pass ? h->linked : h->unlinked;
		size_t n = pass ? h->nlinked : h->nunlinked;

		for (size_t i = 0; i < n; i++)
			if (!v[i].name || !v[i].version || !v[i].build)
				return pkgimg_err(ctx, -PKGIMG_E_USAGE,
						  "conda-meta/history: [conda-meta] a package without name, version or build");
	}
	r = open_meta(ctx, "conda-meta/history", rootfd, o, true, &dirfd, &dirs);
	if (r < 0)
		goto out;
	if (!gmtime_r(&t, &tm) || !strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm)) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "conda-meta/history: [conda-meta] invalid time %lld",
			       (long long)h->time);
		goto out;
	}
	sbuf_addf(&s, "==> %s <==\n", when);
	if (h->cmd)
		sbuf_addf(&s, "# cmd: %s\n", h->cmd);
	if (h->conda_version)
		sbuf_addf(&s, "# conda version: %s\n", h->conda_version);
	for (int pass = 0; pass < 2; pass++) {
		const struct conda_linked *v = pass ? h->linked : h->unlinked;
		size_t n = pass ? h->nlinked : h->nunlinked;

		for (size_t i = 0; i < n; i++)
			strv_push(&lines, dist_str(&v[i]));
		qsort(lines.v, lines.n, sizeof *lines.v, str_cmp_ptr);
		for (size_t i = 0; i < lines.n; i++)
			sbuf_addf(&s, "%c%s\n", pass ? '+' : '-', lines.v[i]);
		strv_free(&lines);
	}
	if (h->nupdate_specs) {
		sbuf_adds(&s, "# update specs: [");
		for (size_t i = 0; i < h->nupdate_specs; i++) {
			if (i)
				sbuf_adds(&s, ", ");
			py_repr(h->update_specs[i], &s);
		}
		sbuf_adds(&s, "]\n");
	}
	fd = openat(dirfd, "history", O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "conda-meta/history: [conda-meta] cannot open: %m");
		goto out;
	}
	r = fs_write_all(fd, s.buf, s.len);
	if (r < 0) {
		r = pkgimg_err(ctx, r, "conda-meta/history: [conda-meta] cannot write: %s", strerror(-r));
		goto out;
	}
	times_of(o->mtime, ts);
	if (o->mtime >= 0 && futimens(fd, ts) < 0)
		r = pkgimg_err(ctx, -errno, "conda-meta/history: [conda-meta] cannot set its time: %m");
	if (r == 0)
		date_dirs(ctx, "conda-meta/history", rootfd, &dirs, o->mtime);
out:
	if (fd >= 0 && close(fd) < 0 && r == 0)
		r = pkgimg_err(ctx, -errno, "conda-meta/history: [conda-meta] cannot write: %m");
	if (dirfd >= 0)
		close(dirfd);
	sbuf_free(&s);
	strv_free(&lines);
	strv_free(&dirs);
	return r;
}
