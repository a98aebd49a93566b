/* Building Python sources to wheels in the image (see image/pybuild.h and
 * solver/pypi_build.h: what a build is, step by step).
 *
 * A build works in a directory of the store's tmp/ ("pybuild-XXXXXX"):
 *   src/   the project (an sdist's top directory, a copy of a local one, a
 *          git checkout): the user's directory is never written;
 *   env/   the isolated build environment: site/ (purelib and platlib),
 *          bin/ (scripts), include/, data/;
 *   fe/    the frontend (frontend.py) and site/sitecustomize.py;
 *   out/   what the hooks return: HOOK.json, metadata/, wheel/;
 *   log    the backend's stdout and stderr.
 * In the sandbox (the image below the PyPI layer, network off) they are
 * /pkgimg-build/{src,env,fe,out}; src and out writable.
 *
 * SOURCE_DATE_EPOCH is 315532800 (1980-01-01T00:00:00Z, the earliest time a
 * zip can hold), PYTHONHASHSEED 0, LC_ALL C.UTF-8, HOME and TMPDIR the
 * sandbox's own /tmp.  The wheel the backend wrote is then rewritten:
 * entries sorted by name with the .dist-info directory last and RECORD
 * the very last (as wheel's WheelFile orders them), every time that
 * epoch, modes 0644 or 0755, deflated at zlib's default level, no
 * directory entries; RECORD is checked against the bytes first.
 *
 * The build cache: $STORE/index/pybuild/<key>, key = sha256 over the
 * source's identity (archive digest, tree digest or commit; subdirectory),
 * the build environment's wheels (sha256), the target (python, its
 * interpreter and prefix, machine, glibc), the image below (its key) and
 * the isolation.  A record is written under the key of the environment
 * first resolved ([build-system] requires) and under that of the full
 * one (with get_requires_for_build_wheel's), which is the one a lock
 * gives; it is used only while its wheel is in the blobs. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <jansson.h>
#include <zlib.h>

#include "cache/fetch.h"
#include "cache/layer.h"
#include "cache/store.h"
#include "core/arc.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "core/toml.h"
#include "image/install.h"
#include "image/layers.h"
#include "image/pybuild.h"
#include "image/pybuild_fe.h"
#include "installers/extract.h"
#include "installers/wheel.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "runtime/sandbox.h"
#include "solver/plan.h"
#include "solver/pypi_plan.h"

#define PYBUILD_EPOCH 315532800	/* 1980-01-01T00:00:00Z */
#define PYBUILD_CACHE_VERSION "pkgimg-pybuild 1"
#define PYBUILD_DIR "/pkgimg-build"
#define PYBUILD_LEGACY_BACKEND "setuptools.build_meta:__legacy__"
#define PYBUILD_LEGACY_REQUIRES "setuptools>=40.8.0"
#define PYBUILD_LOG_TAIL 20
#define PYBUILD_MAX_ENTRY (1ull << 32)

/* One build in progress. */
struct pyb {
	struct pkgimg_ctx *ctx;
	struct store *st;
	const char *parent;
	const struct pybuild_target *tgt;
	const struct pypi_request *rq;
	const struct pypi_src *src;
	char *work;		/* the tmp dir */
	char *srcdir;		/* work/src */
	char *root;		/* the project root: srcdir[/subdirectory] */
	char *subdir;		/* normalised subdirectory, or NULL */
	char *label;		/* "name version" or the URL, for messages */
	/* the source's identity */
	char *src_sha256, *src_filename, *commit;
	uint64_t src_size;
	bool archive;		/* SDIST/URL: an sdist (PKG-INFO may do) */
	/* [build-system] */
	struct strv requires;
	char *backend;
	struct strv backend_path;
	/* the environment */
	struct lock_pkg *env;
	int nenv;
	char **chain;		/* the image below, top first */
	int nchain;
	int runs;		/* sandbox runs (a cache hit makes none) */
};

static void pkgs_free(struct lock_pkg *v, int n)
{
	for (int i = 0; v && i < n; i++)
		lock_pkg_free(&v[i]);
	free(v);
}

static void lock_pkg_copy(struct lock_pkg *d, const struct lock_pkg *s)
{
	memset(d, 0, sizeof *d);
	d->ecosystem = xstrdup(s->ecosystem ? s->ecosystem : "pypi");
	d->name = xstrdup(s->name);
	d->version = xstrdup(s->version);
	d->arch = s->arch ? xstrdup(s->arch) : NULL;
	d->url = xstrdup(s->url);
	d->sha256 = xstrdup(s->sha256);
	d->size = s->size;
	d->requested_by = s->requested_by ? xstrdup(s->requested_by) : NULL;
	d->filename = s->filename ? xstrdup(s->filename) : NULL;
	d->index = s->index ? xstrdup(s->index) : NULL;
}

/* ---- the tree digest and the copy of a local project ---- */

static bool tree_skipped(const char *name)
{
	static const char *const skip[] = {
		".git", ".hg", ".svn", ".nox", ".tox", ".venv", "__pycache__", NULL
	};

	for (int i = 0; skip[i]; i++)
		if (!strcmp(name, skip[i]))
			return true;
	return false;
}

/* Every path under dirfd (relative, "a/b"), the skipped directories left
 * out, into *out (unsorted). */
static int tree_list(struct pkgimg_ctx *ctx, const char *top, int dirfd, const char *rel,
		     struct strv *out)
{
	int fd = openat(dirfd, rel[0] ? rel : ".", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s/%s: [source] cannot open: %m", top, rel);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return pkgimg_err(ctx, -errno, "%s/%s: [source] cannot read: %m", top, rel);
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		char *p;
		struct stat sb;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		p = rel[0] ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
		if (fstatat(dirfd, p, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", top, p);
			free(p);
			break;
		}
		if (S_ISDIR(sb.st_mode) && tree_skipped(de->d_name)) {
			free(p);
			continue;
		}
		strv_add(out, p);
		if (S_ISDIR(sb.st_mode))
			r = tree_list(ctx, top, dirfd, p, out);
		free(p);
	}
	if (r == 0 && errno)
		r = pkgimg_err(ctx, -errno, "%s/%s: [source] cannot read: %m", top, rel);
	closedir(d);
	return r;
}

static int tree_open_list(struct pkgimg_ctx *ctx, const char *dir, int *fd, struct strv *paths)
{
	int r;

	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [source] not a directory one can read: %m", dir);
	r = tree_list(ctx, dir, *fd, "", paths);
	if (r == 0)
		strv_sort(paths);
	return r;
}

int pybuild_tree_digest(struct pkgimg_ctx *ctx, const char *dir, char hex[65])
{
	struct strv paths = { 0 };
	struct hasher h;
	struct sbuf link = SBUF_INIT;
	char buf[65536];
	int dirfd = -1, r;

	r = tree_open_list(ctx, dir, &dirfd, &paths);
	if (r < 0)
		goto out;
	r = hasher_init(&h, "sha256");
	if (r < 0)
		goto out;
	hasher_update(&h, "pkgimg-tree 1\n", 14);
	for (size_t i = 0; r == 0 && i < paths.n; i++) {
		const char *p = paths.v[i];
		struct stat sb;
		char head[64];

		if (fstatat(dirfd, p, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
			break;
		}
		hasher_update(&h, p, strlen(p) + 1);
		if (S_ISDIR(sb.st_mode)) {
			hasher_update(&h, "d", 2);
		} else if (S_ISLNK(sb.st_mode)) {
			ssize_t n = readlinkat(dirfd, p, buf, sizeof buf);

			if (n < 0) {
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
				break;
			}
			hasher_update(&h, "l", 2);
			hasher_update(&h, buf, (size_t)n);
			hasher_update(&h, "", 1);
		} else if (S_ISREG(sb.st_mode)) {
			int fd = openat(dirfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			ssize_t n;

			if (fd < 0) {
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
				break;
			}
			snprintf(head, sizeof head, "f%c%llu", (sb.st_mode & 0111) ? 'x' : '-',
				 (unsigned long long)sb.st_size);
			hasher_update(&h, head, strlen(head) + 1);
			while ((n = read(fd, buf, sizeof buf)) > 0)
				hasher_update(&h, buf, (size_t)n);
			if (n < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
			close(fd);
		} else {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s/%s: [source] neither a file, a "
				       "directory nor a link; remove it from the project", dir, p);
		}
	}
	if (r == 0)
		hasher_final_hex(&h, hex);
	else
		hasher_free(&h);
out:
	if (dirfd >= 0)
		close(dirfd);
	strv_free(&paths);
	sbuf_free(&link);
	return r;
}

/* The project at dir copied to dst (new): files 0644/0755, links as they
 * are, the directories the digest leaves out left out. */
static int tree_copy(struct pkgimg_ctx *ctx, const char *dir, const char *dst)
{
	struct strv paths = { 0 };
	int dirfd = -1, dstfd = -1, r;
	char buf[4096];

	if (mkdir(dst, 0755) < 0)
		return pkgimg_err(ctx, -errno, "%s: [source] %m", dst);
	r = tree_open_list(ctx, dir, &dirfd, &paths);
	if (r == 0 && (dstfd = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [source] %m", dst);
	for (size_t i = 0; r == 0 && i < paths.n; i++) {
		const char *p = paths.v[i];
		struct stat sb;
		int in, out;

		if (fstatat(dirfd, p, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
		} else if (S_ISDIR(sb.st_mode)) {
			if (mkdirat(dstfd, p, 0755) < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dst, p);
		} else if (S_ISLNK(sb.st_mode)) {
			ssize_t n = readlinkat(dirfd, p, buf, sizeof buf - 1);

			if (n < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
			buf[n < 0 ? 0 : n] = 0;
			if (r == 0 && symlinkat(buf, dstfd, p) < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dst, p);
		} else if (S_ISREG(sb.st_mode)) {
			in = openat(dirfd, p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (in < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dir, p);
			out = r < 0 ? -1 : openat(dstfd, p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
						  O_CLOEXEC, (sb.st_mode & 0111) ? 0755 : 0644);
			if (r == 0 && out < 0)
				r = pkgimg_err(ctx, -errno, "%s/%s: [source] %m", dst, p);
			if (r == 0 && (r = fs_copy_data(in, out)) < 0)
				r = pkgimg_err(ctx, r, "%s/%s: [source] copy: %s", dir, p,
					       strerror(-r));
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
		}
	}
	if (dirfd >= 0)
		close(dirfd);
	if (dstfd >= 0)
		close(dstfd);
	strv_free(&paths);
	return r;
}

/* ---- fetching and unpacking an archive ---- */

/* The file name of a URL: its last part before any query or fragment. */
static char *url_filename(const char *url)
{
	size_t n = strcspn(url, "?#");
	const char *s = url;

	for (size_t i = 0; i < n; i++)
		if (url[i] == '/')
			s = url + i + 1;
	return xstrndup(s, (size_t)(url + n - s));
}

/* The archive in the blobs (fetched when missing), verified against the
 * digest asked; *blob gets its path. */
static int src_fetch(struct pyb *b, char **blob)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const struct pypi_src *s = b->src;
	struct fetch_item it = { 0 };
	char hex[65], *dest = NULL, *bp = NULL;
	struct stat sb;
	int r;

	b->src_filename = url_filename(s->url);
	it.url = s->url;
	it.label = b->src_filename;
	it.size = -1;
	if (s->sha256) {
		it.sha256 = s->sha256;
		r = fetch_all(ctx, b->st, &it, 1);
		if (r < 0)
			goto out;
		snprintf(hex, sizeof hex, "%s", s->sha256);
	} else {
		/* no digest asked: fetched as a file, then kept by its digest */
		dest = xasprintf("%s/archive", b->work);
		it.dest = dest;
		r = fetch_all(ctx, b->st, &it, 1);
		if (r == 0 && (r = hash_file_sha256(AT_FDCWD, dest, hex)) < 0)
			r = pkgimg_err(ctx, r, "%s: [fetch] %s", dest, strerror(-r));
		if (r < 0)
			goto out;
		bp = store_blob_path(b->st, hex);
		if (!fs_exists(bp) && rename(dest, bp) < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [fetch] %m", bp);
			goto out;
		}
		free(bp);
		bp = NULL;
	}
	bp = store_blob_path(b->st, hex);
	if (stat(bp, &sb) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [fetch] %m", bp);
		goto out;
	}
	b->src_size = (uint64_t)sb.st_size;
	b->src_sha256 = xstrdup(hex);
	*blob = bp;
	bp = NULL;
out:
	fetch_item_release(&it);
	free(dest);
	free(bp);
	return r;
}

/* The archive at blob unpacked into work/unpack with the secure extractor;
 * its single top-level directory becomes work/src. */
static int src_unpack(struct pyb *b, const char *blob)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const char *fn = b->src_filename;
	static const struct extract_opts eo = {
		.flags = EXTRACT_UTF8_NAMES, .phase = "unpack", .noun = "sdist",
		.fix = "; download it again, or fix the sdist",
	};
	struct extract *x = NULL;
	struct archive *a = NULL;
	struct strv top = { 0 };
	char *dir = xasprintf("%s/unpack", b->work), *from = NULL;
	struct stat sb;
	int r = 0, fd = -1;
	DIR *d = NULL;
	struct dirent *de;

	if (!str_ends_with(fn, ".tar.gz") && !str_ends_with(fn, ".tgz") &&
	    !str_ends_with(fn, ".zip") && !str_ends_with(fn, ".tar.bz2") &&
	    !str_ends_with(fn, ".tar.xz") && !str_ends_with(fn, ".tar")) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [unpack] not an sdist (.tar.gz or "
			       ".zip); give the project's source archive", fn);
		goto out;
	}
	if (mkdir(dir, 0755) < 0 || (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [unpack] %m", dir);
		goto out;
	}
	a = archive_read_new();
	if (str_ends_with(fn, ".zip")) {
		archive_read_support_format_zip(a);
	} else {
		archive_read_support_format_tar(a);
		archive_read_support_filter_gzip(a);
		archive_read_support_filter_bzip2(a);
		archive_read_support_filter_xz(a);
	}
	if (archive_read_open_filename(a, blob, 65536) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [unpack] cannot read: %s", fn,
			       archive_error_string(a));
		goto out;
	}
	x = xcalloc(1, sizeof *x);
	extract_init(x, ctx, fn, fd, &eo);
	x->limit = arc_unpack_limit(ctx, 0, b->src_size);
	r = extract_all(x, a, "the archive");
	if (r == 0)
		r = extract_finish(x);
	if (r < 0)
		goto out;
	d = fdopendir(dup(fd));
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			strv_add(&top, de->d_name);
	if (top.n != 1 || fstatat(fd, top.v[0], &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISDIR(sb.st_mode)) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [unpack] an sdist holds one top-level "
			       "directory (NAME-VERSION/); this one has %zu entries there", fn,
			       top.n);
		goto out;
	}
	from = xasprintf("%s/%s", dir, top.v[0]);
	if (rename(from, b->srcdir) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [unpack] %m", b->srcdir);
out:
	if (d)
		closedir(d);
	if (x) {
		extract_free(x);
		free(x);
	}
	if (a)
		archive_read_free(a);
	if (fd >= 0)
		close(fd);
	strv_free(&top);
	free(from);
	free(dir);
	return r;
}

/* ---- git ---- */

/* Runs the host's git with args (NULL-terminated, after "git"); its
 * stdout into *out (may be NULL), its stderr kept for the message. */
static int git_run(struct pyb *b, const char *const *args, struct sbuf *out)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char *ofile = xasprintf("%s/git.out", b->work), *efile = xasprintf("%s/git.err", b->work);
	const char *argv[32];
	struct sbuf err = SBUF_INIT;
	int n = 0, status = 0, r = 0;
	pid_t pid;

	argv[n++] = "git";
	argv[n++] = "-c";
	argv[n++] = "core.hooksPath=/dev/null";
	argv[n++] = "-c";
	argv[n++] = "protocol.file.allow=always";
	argv[n++] = "-c";
	argv[n++] = "advice.detachedHead=false";
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		r = pkgimg_err(ctx, -errno, "git: [source] fork: %m");
		goto out;
	}
	if (pid == 0) {
		int o = open(ofile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(efile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);

		if (o < 0 || e < 0 || nul < 0)
			_exit(126);
		dup2(nul, 0);
		dup2(o, 1);
		dup2(e, 2);
		setenv("GIT_TERMINAL_PROMPT", "0", 1);
		setenv("LC_ALL", "C", 1);
		execvp("git", (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			r = pkgimg_err(ctx, -errno, "git: [source] wait: %m");
			goto out;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [source] git is not installed on "
			       "this machine; install it (apt-get install git)", b->src->url);
		goto out;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fs_read_file(NULL, AT_FDCWD, efile, &err);
		while (err.len && (err.buf[err.len - 1] == '\n' || err.buf[err.len - 1] == ' '))
			err.buf[--err.len] = 0;
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [source] git %s failed: %s",
			       b->src->url, args[0], err.len ? err.buf : "(no message)");
		goto out;
	}
	if (out)
		r = fs_read_file(ctx, AT_FDCWD, ofile, out);
out:
	unlink(ofile);
	unlink(efile);
	sbuf_free(&err);
	free(ofile);
	free(efile);
	return r;
}

/* The repository cloned into work/src and checked out at the revision
 * asked (its default branch when none); b->commit the full id. */
static int src_git(struct pyb *b)
{
	const char *rev = b->src->rev;
	struct sbuf out = SBUF_INIT;
	char *spec = NULL;
	int r;

	if (b->src->url[0] == '-')
		return pkgimg_err(b->ctx, -PKGIMG_E_USAGE, "%s: [source] not a repository URL",
				  b->src->url);
	{
		const char *clone[] = { "clone", "--quiet", "--no-checkout", "--", b->src->url,
					b->srcdir, NULL };

		r = git_run(b, clone, NULL);
	}
	if (r == 0 && rev && rev[0] == '-')
		r = pkgimg_err(b->ctx, -PKGIMG_E_USAGE, "%s@%s: [source] not a revision",
			       b->src->url, rev);
	if (r < 0)
		goto out;
	/* a commit, a tag, a branch of origin */
	for (int k = 0; k < 2; k++) {
		const char *rp[] = { "-C", b->srcdir, "rev-parse", "--verify", "--quiet", NULL, NULL };

		free(spec);
		spec = !rev ? xstrdup("HEAD^{commit}") :
		       k == 0 ? xasprintf("%s^{commit}", rev) : xasprintf("origin/%s^{commit}", rev);
		rp[5] = spec;
		sbuf_reset(&out);
		r = git_run(b, rp, &out);
		if (r == 0 || !rev)
			break;
	}
	if (r < 0) {
		r = pkgimg_err(b->ctx, -PKGIMG_E_NOTFOUND, "%s@%s: [source] no such branch, tag or "
			       "commit in the repository", b->src->url, rev ? rev : "HEAD");
		goto out;
	}
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == '\r'))
		out.buf[--out.len] = 0;
	if (out.len != 40 && out.len != 64) {
		r = pkgimg_err(b->ctx, -PKGIMG_E_PARSE, "%s: [source] git rev-parse gave '%s'",
			       b->src->url, out.buf ? out.buf : "");
		goto out;
	}
	{
		const char *co[] = { "-C", b->srcdir, "checkout", "--quiet", "--detach", out.buf,
				     NULL };

		r = git_run(b, co, NULL);
	}
	if (r == 0)
		b->commit = xstrdup(out.buf);
out:
	free(spec);
	sbuf_free(&out);
	return r;
}

/* ---- the source ---- */

static int src_get(struct pyb *b)
{
	struct pkgimg_ctx *ctx = b->ctx;
	const struct pypi_src *s = b->src;
	char *blob = NULL, hex[65];
	int r = 0;

	switch (s->kind) {
	case PYPI_SRC_SDIST:
	case PYPI_SRC_URL:
		b->archive = true;
		r = src_fetch(b, &blob);
		if (r == 0)
			r = src_unpack(b, blob);
		break;
	case PYPI_SRC_PATH:
		if (s->url[0] != '/') {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [source] a project directory is "
				       "given by its absolute path", s->url);
			break;
		}
		r = pybuild_tree_digest(ctx, s->url, hex);
		if (r == 0 && s->sha256 && strcmp(s->sha256, hex))
			r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [source] the directory changed "
				       "since it was locked (tree sha256 %s, the lock has %s); lock "
				       "again (pkgimg lock) to build what it holds now", s->url,
				       hex, s->sha256);
		if (r == 0)
			b->src_sha256 = xstrdup(hex);
		if (r == 0)
			r = tree_copy(ctx, s->url, b->srcdir);
		break;
	case PYPI_SRC_GIT:
		r = src_git(b);
		break;
	default:
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [source] unknown kind of source", s->url);
	}
	if (r == 0 && s->subdirectory && s->subdirectory[0]) {
		struct sbuf norm = SBUF_INIT;
		const char *why = NULL;
		struct stat sb;

		if (!fs_path_norm(s->subdirectory, false, &norm, &why) || !norm.len) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s#subdirectory=%s: [source] %s",
				       s->url, s->subdirectory, why ? why : "empty");
		} else {
			b->subdir = sbuf_detach(&norm);
			b->root = xasprintf("%s/%s", b->srcdir, b->subdir);
			if (lstat(b->root, &sb) < 0 || !S_ISDIR(sb.st_mode))
				r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s#subdirectory=%s: "
					       "[source] no such directory in the project",
					       s->url, s->subdirectory);
		}
		sbuf_free(&norm);
	} else if (r == 0) {
		b->root = xstrdup(b->srcdir);
	}
	free(blob);
	return r;
}

/* ---- pyproject.toml's [build-system] ---- */

static int read_build_system(struct pyb *b)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char *path = xasprintf("%s/pyproject.toml", b->root);
	struct toml_value doc = { 0 };
	const struct toml_value *bs, *v;
	int r = 0;

	if (!fs_exists(path))
		goto legacy;
	r = toml_parse_file(ctx, path, &doc);
	if (r < 0) {
		pkgimg_err_wrap(ctx, r, "%s: [build] pyproject.toml", b->label);
		goto out;
	}
	bs = toml_get(&doc, "build-system");
	if (!bs || bs->type != TOML_TABLE) {
		toml_free(&doc);
		goto legacy;
	}
	v = toml_get(bs, "requires");
	if (!v || v->type != TOML_ARRAY) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [build] pyproject.toml's [build-system] "
			       "has no requires list (PEP 518 asks for one)", b->label);
		goto out;
	}
	for (size_t i = 0; i < v->n; i++) {
		if (!toml_str(&v->items[i])) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [build] pyproject.toml:%u: "
				       "build-system.requires holds a %s, not a string", b->label,
				       v->items[i].line, toml_type_name(v->items[i].type));
			goto out;
		}
		strv_add(&b->requires, toml_str(&v->items[i]));
	}
	v = toml_get(bs, "build-backend");
	b->backend = xstrdup(v && toml_str(v) ? toml_str(v) : PYBUILD_LEGACY_BACKEND);
	v = toml_get(bs, "backend-path");
	for (size_t i = 0; v && v->type == TOML_ARRAY && i < v->n; i++) {
		struct sbuf norm = SBUF_INIT;
		const char *why = NULL, *p = toml_str(&v->items[i]);

		if (!p || !fs_path_norm(p, false, &norm, &why)) {
			sbuf_free(&norm);
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [build] pyproject.toml: "
				       "backend-path '%s' must stay inside the project", b->label,
				       p ? p : "?");
			goto out;
		}
		strv_add(&b->backend_path, norm.len ? norm.buf : ".");
		sbuf_free(&norm);
	}
	goto out;
legacy:
	/* no [build-system]: setuptools' legacy default, as pip */
	strv_add(&b->requires, PYBUILD_LEGACY_REQUIRES);
	b->backend = xstrdup(PYBUILD_LEGACY_BACKEND);
out:
	toml_free(&doc);
	free(path);
	return r;
}

/* ---- the build environment ---- */

/* Resolves reqs for the image with the request's indexes into *pkgs. */
static int env_resolve(struct pyb *b, const struct strv *reqs, struct lock_pkg **pkgs, int *n)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct pypi_request rq = { 0 };
	struct lockfile lf = { 0 };
	struct lock_layer *l;
	int r;

	if (b->rq) {
		rq = *b->rq;
	}
	rq.reqs = (const char *const *)reqs->v;
	rq.nreqs = reqs->n;
	rq.reqfiles = NULL;
	rq.nreqfiles = 0;
	rq.builder = NULL;	/* a build requirement built from source: refused */
	rq.no_build_isolation = 0;
	rq.cuda = NULL;
	lf.version = LOCKFILE_VERSION;
	r = pypi_lock_layer(ctx, b->st, &rq, b->tgt->t, &lf);
	if (r < 0) {
		pkgimg_err_wrap(ctx, r, "%s: [build] its build requirements (%s%s; nested source "
				"builds are not done: the build requirements need wheels)",
				b->label, reqs->n ? reqs->v[0] : "", reqs->n > 1 ? ", ..." : "");
		goto out;
	}
	l = &lf.layers[lf.nlayers - 1];
	*pkgs = xcalloc((size_t)l->npkgs + 1, sizeof **pkgs);
	for (int i = 0; i < l->npkgs; i++)
		lock_pkg_copy(&(*pkgs)[i], &l->pkgs[i]);
	*n = l->npkgs;
out:
	lockfile_free(&lf);
	return r;
}

/* The wheels of pkgs fetched and installed into a fresh work/env. */
static int env_install(struct pyb *b, const struct lock_pkg *pkgs, int n)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct lock_layer l = { 0 };
	char *env = xasprintf("%s/env", b->work);
	int fd = -1, r;

	fs_rm_rf(NULL, AT_FDCWD, env);
	if (mkdir(env, 0755) < 0 || (fd = open(env, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [build] %m", env);
		goto out;
	}
	l.pkgs = (struct lock_pkg *)pkgs;
	l.npkgs = n;
	l.step = (char *)"build environment";
	r = image_fetch_layer(ctx, b->st, &l);
	for (int i = 0; r == 0 && i < n; i++) {
		struct wheel_scheme sc = {
			.purelib = "site", .platlib = "site", .scripts = "bin", .headers = "include",
			.data = "data", .python = b->tgt->t->interpreter,
		};
		struct wheel_install_opts wo = {
			.filename = pkgs[i].filename, .sha256 = pkgs[i].sha256,
			.installer = "pkgimg", .mtime = PYBUILD_EPOCH,
		};
		struct wheel_installed w = { 0 };
		char *blob = store_blob_path(b->st, pkgs[i].sha256);

		r = wheel_install(ctx, blob, fd, &sc, &wo, &w);
		free(blob);
		if (r < 0)
			pkgimg_err_wrap(ctx, r, "%s: [build] its build environment: %s %s", b->label,
					pkgs[i].name, pkgs[i].version);
		wheel_installed_free(&w);
	}
out:
	if (fd >= 0)
		close(fd);
	free(env);
	return r;
}

/* The build environment is the lock's (none asked for is an empty one):
 * no indexes were given to resolve one on, or the lock gave it. */
static bool pyb_from_lock(const struct pyb *b)
{
	return !b->rq || b->src->env || b->src->nenv;
}

/* The environment to build in: the lock's, or [build-system] requires
 * resolved (the first one; extra: get_requires_for_build_wheel's added). */
static int env_make(struct pyb *b, const struct strv *extra)
{
	struct strv reqs = { 0 };
	struct lock_pkg *pkgs = NULL;
	int n = 0, r;

	if (pyb_from_lock(b)) {
		pkgs = xcalloc((size_t)b->src->nenv + 1, sizeof *pkgs);
		for (int i = 0; i < b->src->nenv; i++)
			lock_pkg_copy(&pkgs[i], &b->src->env[i]);
		n = b->src->nenv;
		r = 0;
	} else {
		for (size_t i = 0; i < b->requires.n; i++)
			strv_add(&reqs, b->requires.v[i]);
		for (size_t i = 0; extra && i < extra->n; i++)
			strv_add(&reqs, extra->v[i]);
		r = reqs.n ? env_resolve(b, &reqs, &pkgs, &n) : 0;
	}
	if (r == 0)
		r = env_install(b, pkgs, n);
	if (r == 0) {
		pkgs_free(b->env, b->nenv);
		b->env = pkgs;
		b->nenv = n;
		pkgs = NULL;
	}
	pkgs_free(pkgs, n);
	strv_free(&reqs);
	return r;
}

/* ---- the cache ---- */

static int env_cmp(const void *x, const void *y)
{
	const struct lock_pkg *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	return c ? c : strcmp(a->sha256, b->sha256);
}

/* The cache key of the build with the current environment. */
static void cache_key(struct pyb *b, char hex[65])
{
	const struct pypi_target *t = b->tgt->t;
	struct sbuf s = SBUF_INIT;
	struct lock_pkg *v = NULL;

	sbuf_addf(&s, "%s\nkind %s\nsource %s\ncommit %s\nsubdirectory %s\n",
		  PYBUILD_CACHE_VERSION, b->src->kind == PYPI_SRC_GIT ? "git" : "tree",
		  b->src_sha256 ? b->src_sha256 : "-", b->commit ? b->commit : "-",
		  b->subdir ? b->subdir : "-");
	sbuf_addf(&s, "python %s\ninterpreter %s\nprefix %s\nmachine %s\nglibc %d.%d\n",
		  t->python, t->interpreter, b->tgt->python_prefix ? b->tgt->python_prefix : "-",
		  t->machine, t->glibc_major, t->glibc_minor);
	sbuf_addf(&s, "image %s\nisolation %d\n", b->parent, !b->src->no_build_isolation);
	if (b->nenv) {
		v = xcalloc((size_t)b->nenv, sizeof *v);
		memcpy(v, b->env, (size_t)b->nenv * sizeof *v);
		qsort(v, (size_t)b->nenv, sizeof *v, env_cmp);
	}
	for (int i = 0; i < b->nenv; i++)
		sbuf_addf(&s, "env %s %s\n", v[i].name, v[i].sha256);
	hash_sha256_hex(s.buf, s.len, hex);
	free(v);
	sbuf_free(&s);
}

static char *cache_path(struct pyb *b, const char *key)
{
	char *dir = NULL, *p = NULL;

	if (store_index_dir(NULL, b->st, "pybuild", &dir) == 0)
		p = xasprintf("%s/%s.json", dir, key);
	free(dir);
	return p;
}

static json_t *pkg_json(const struct lock_pkg *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?}", "name", p->name,
			 "version", p->version, "url", p->url, "sha256", p->sha256,
			 "size", (json_int_t)p->size, "filename", p->filename, "arch", p->arch,
			 "index", p->index);
}

static void cache_write(struct pyb *b, const char *key, const struct pypi_built *out)
{
	char *path = cache_path(b, key), *text;
	json_t *env = json_array(), *j;

	if (!path)
		return;
	for (int i = 0; i < out->nenv; i++)
		json_array_append_new(env, pkg_json(&out->env[i]));
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o}", "name", out->name, "version",
		      out->version, "metadata", out->metadata, "wheel_filename",
		      out->wheel_filename, "wheel_sha256", out->wheel_sha256, "wheel_size",
		      (json_int_t)out->wheel_size, "env", env);
	text = j ? json_dumps(j, JSON_SORT_KEYS | JSON_INDENT(1)) : NULL;
	if (text)	/* a cache: a failure to write it is no failure of the build */
		fs_write_file(NULL, AT_FDCWD, path, text, strlen(text), 0644);
	free(text);
	json_decref(j);
	free(path);
}

static char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? xstrdup(s) : NULL;
}

/* 1 and *out filled when the cache has the build (and its wheel is in the
 * blobs), 0 when not. */
static int cache_read(struct pyb *b, const char *key, struct pypi_built *out)
{
	char *path = cache_path(b, key);
	json_t *j = path ? json_load_file(path, 0, NULL) : NULL, *env;
	struct pypi_built o = { 0 };
	int hit = 0;

	if (!j)
		goto out;
	o.name = jstr(j, "name");
	o.version = jstr(j, "version");
	o.metadata = jstr(j, "metadata");
	o.wheel_filename = jstr(j, "wheel_filename");
	o.wheel_sha256 = jstr(j, "wheel_sha256");
	o.wheel_size = (uint64_t)json_integer_value(json_object_get(j, "wheel_size"));
	env = json_object_get(j, "env");
	o.env = xcalloc(json_array_size(env) + 1, sizeof *o.env);
	for (size_t i = 0; i < json_array_size(env); i++) {
		json_t *e = json_array_get(env, i);
		struct lock_pkg *p = &o.env[o.nenv++];

		p->ecosystem = xstrdup("pypi");
		p->name = jstr(e, "name");
		p->version = jstr(e, "version");
		p->url = jstr(e, "url");
		p->sha256 = jstr(e, "sha256");
		p->size = (uint64_t)json_integer_value(json_object_get(e, "size"));
		p->filename = jstr(e, "filename");
		p->arch = jstr(e, "arch");
		p->index = jstr(e, "index");
		if (!p->name || !p->version || !p->url || !p->sha256 || !hex_is64(p->sha256))
			goto out;
	}
	if (!o.name || !o.version || !o.metadata || !o.wheel_filename || !o.wheel_sha256 ||
	    !hex_is64(o.wheel_sha256) || !store_has_blob(b->st, o.wheel_sha256))
		goto out;
	out->name = o.name;
	out->version = o.version;
	out->metadata = o.metadata;
	out->wheel_filename = o.wheel_filename;
	out->wheel_sha256 = o.wheel_sha256;
	out->wheel_size = o.wheel_size;
	out->env = o.env;
	out->nenv = o.nenv;
	memset(&o, 0, sizeof o);
	hit = 1;
out:
	pypi_built_free(&o);
	json_decref(j);
	free(path);
	return hit;
}

/* ---- running a hook in the sandbox ---- */

/* The log's last lines (at most PYBUILD_LOG_TAIL), indented. */
static char *log_tail(const char *log)
{
	struct sbuf s = SBUF_INIT, t = SBUF_INIT;
	size_t start, lines = 0;

	if (fs_read_file(NULL, AT_FDCWD, log, &s) < 0 || !s.len) {
		sbuf_free(&s);
		return xstrdup("    (the build printed nothing)");
	}
	while (s.len && s.buf[s.len - 1] == '\n')
		s.buf[--s.len] = 0;
	start = s.len;
	while (start > 0 && lines < PYBUILD_LOG_TAIL)
		if (s.buf[--start] == '\n')
			lines++;
	if (s.buf[start] == '\n')
		start++;
	sbuf_adds(&t, "    ");
	for (size_t i = start; i < s.len; i++) {
		sbuf_addc(&t, s.buf[i]);
		if (s.buf[i] == '\n')
			sbuf_adds(&t, "    ");
	}
	sbuf_free(&s);
	return sbuf_detach(&t);
}

/* The fix for a failed build, from its log: a compiler or a header that
 * the image lacks. */
static char *log_advice(struct pyb *b, const char *log)
{
	struct sbuf s = SBUF_INIT;
	char *fix = NULL, *xy = image_python_xy(b->tgt->t->python);
	const char *p;

	if (fs_read_file(NULL, AT_FDCWD, log, &s) < 0 || !s.buf)
		goto out;
	if (strstr(s.buf, "ImportError: backend unavailable: ")) {
		fix = b->src->no_build_isolation ?
		      xasprintf("with --no-build-isolation the image itself must have the build "
				"backend (%s) and the build requirements (%s%s): install them in an "
				"earlier step (Debian's python3-setuptools, python3-wheel, ...), or "
				"drop --no-build-isolation", b->backend,
				b->requires.n ? b->requires.v[0] : "", b->requires.n > 1 ? ", ..." : "") :
		      xasprintf("the build backend %s is not in the build environment: add the "
				"package that has it to [build-system] requires", b->backend);
	} else if (strstr(s.buf, "Python.h: No such file")) {
		fix = b->tgt->python_prefix ?
		      xstrdup("the interpreter's headers are missing: conda's python package has "
			      "them; install python from conda") :
		      xasprintf("Python's headers (Python.h) are missing: add an apt step: --apt "
				"python%s-dev (python3-dev where python%s is Debian's python3)",
				xy, xy);
	} else if ((p = strstr(s.buf, ".h: No such file or directory"))) {
		const char *q = p;

		while (q > s.buf && !strchr(" \t'\"<:\n", q[-1]))
			q--;
		fix = xasprintf("the header %.*s.h is missing: add the Debian package that has it "
				"as an apt step (--apt libNAME-dev; `apt-file search %.*s.h` names "
				"it)", (int)(p - q), q, (int)(p - q), q);
	} else if (strstr(s.buf, "command 'gcc' failed") || strstr(s.buf, "-gcc' failed") ||
		   strstr(s.buf, "gcc: not found") || strstr(s.buf, "cc: not found") ||
		   strstr(s.buf, "error: command 'cc' failed") ||
		   strstr(s.buf, "unable to execute 'gcc'") ||
		   strstr(s.buf, "No such file or directory: 'gcc'") ||
		   strstr(s.buf, "compiler not found") ||
		   strstr(s.buf, "x86_64-linux-gnu-gcc: No such file")) {
		fix = xstrdup("the image has no C compiler: add an apt step: --apt build-essential");
	}
out:
	sbuf_free(&s);
	free(xy);
	return fix;
}

/* A failed build's log kept as $STORE/index/pybuild/logs/<source>.log
 * (the last failure of each source); its path followed by ")", or NULL. */
static char *log_keep(struct pyb *b, const char *log)
{
	char *dir = NULL, *path = NULL, hex[65];
	struct sbuf text = SBUF_INIT;

	hash_sha256_hex(b->label, strlen(b->label), hex);
	hex[16] = 0;
	if (store_index_dir(NULL, b->st, "pybuild", &dir) < 0)
		return NULL;
	path = xasprintf("%s/logs", dir);
	if ((mkdir(path, 0755) == 0 || errno == EEXIST) &&
	    fs_read_file(NULL, AT_FDCWD, log, &text) == 0) {
		free(path);
		path = xasprintf("%s/logs/%s.log", dir, hex);
		if (fs_write_file(NULL, AT_FDCWD, path, text.buf ? text.buf : "", text.len,
				  0644) < 0) {
			free(path);
			path = NULL;
		}
	} else {
		free(path);
		path = NULL;
	}
	sbuf_free(&text);
	free(dir);
	if (path) {
		char *p = xasprintf("%s)", path);

		free(path);
		path = p;
	}
	return path;
}

static void env_push(struct strv *e, const char *k, const char *v)
{
	strv_push(e, xasprintf("%s=%s", k, v));
}

/* The build's environment (see the top of this file). */
static void hook_env(struct pyb *b, struct strv *env)
{
	bool iso = !b->src->no_build_isolation;
	struct sbuf paths = SBUF_INIT;

	env_push(env, "PATH", iso ? PYBUILD_DIR "/env/bin:" SANDBOX_DEFAULT_PATH
				   : SANDBOX_DEFAULT_PATH);
	env_push(env, "HOME", "/tmp");
	env_push(env, "TMPDIR", "/tmp");
	env_push(env, "LANG", "C.UTF-8");
	env_push(env, "LC_ALL", "C.UTF-8");
	strv_push(env, xasprintf("SOURCE_DATE_EPOCH=%d", PYBUILD_EPOCH));
	env_push(env, "PYTHONHASHSEED", "0");
	env_push(env, "PYTHONNOUSERSITE", "1");
	env_push(env, "PYTHONDONTWRITEBYTECODE", "1");
	env_push(env, "PIP_NO_INDEX", "1");
	env_push(env, "PKGIMG_OUT", PYBUILD_DIR "/out");
	env_push(env, "PKGIMG_BACKEND", b->backend);
	for (size_t i = 0; i < b->backend_path.n; i++)
		sbuf_addf(&paths, "%s%s", i ? ":" : "", b->backend_path.v[i]);
	env_push(env, "PKGIMG_BACKEND_PATH", paths.buf ? paths.buf : "");
	if (iso) {
		env_push(env, "PYTHONPATH", PYBUILD_DIR "/fe/site");
		env_push(env, "PKGIMG_BUILD_ENV", PYBUILD_DIR "/env/site");
	}
	sbuf_free(&paths);
}

/* Runs hook in the sandbox; *res gets its HOOK.json (the frontend's). */
static int hook_run(struct pyb *b, const char *hook, json_t **res)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char *envdir = xasprintf("%s/env", b->work), *fe = xasprintf("%s/fe", b->work);
	char *out = xasprintf("%s/out", b->work), *log = xasprintf("%s/log", b->work);
	char *scratch = NULL, *cwd = NULL, *rpath = NULL, *bp = NULL;
	const char **lowers = NULL;
	struct strv env = { 0 }, argv = { 0 };
	struct sandbox_bind binds[4] = {
		{ b->srcdir, PYBUILD_DIR "/src", 0 }, { fe, PYBUILD_DIR "/fe", 1 },
		{ out, PYBUILD_DIR "/out", 0 }, { envdir, PYBUILD_DIR "/env", 1 },
	};
	struct sandbox_opts so = { 0 };
	int status = 0, r, logfd = -1;

	*res = NULL;
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [build] %m", log);
		goto out;
	}
	dprintf(logfd, "== %s\n", hook);
	if (!fs_exists(envdir))
		mkdir(envdir, 0755);
	r = store_mktemp_dir(ctx, b->st, "sandbox", &scratch);
	if (r < 0)
		goto out;
	lowers = (const char **)store_chain_trees(b->st, NULL, b->chain, b->nchain);
	hook_env(b, &env);
	strv_add(&argv, b->tgt->t->interpreter);
	strv_add(&argv, PYBUILD_DIR "/fe/frontend.py");
	strv_add(&argv, hook);
	cwd = b->subdir ? xasprintf(PYBUILD_DIR "/src/%s", b->subdir) : xstrdup(PYBUILD_DIR "/src");
	so.lowers = lowers;
	so.nlowers = b->nchain;
	so.scratch = scratch;
	so.argv = argv.v;
	so.env = env.v;
	so.cwd = cwd;
	so.binds = binds;
	so.nbinds = 4;
	so.network = 0;
	so.output_fd = logfd;
	pkgimg_info(ctx, "%s: [build] %s in the sandbox", b->label, hook);
	b->runs++;
	r = sandbox_run(ctx, &so, &status);
	if (r < 0) {
		pkgimg_err_wrap(ctx, r, "%s: [build] %s", b->label, hook);
		goto out;
	}
	rpath = xasprintf("%s/%s.json", out, hook);
	*res = json_load_file(rpath, 0, NULL);
	if (status != 0 || !*res || json_object_get(*res, "error")) {
		char *tail = log_tail(log), *fix = log_advice(b, log), *kept = log_keep(b, log);

		if (status == 127 && !fs_exists(rpath))
			r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [build] the image has no %s to "
				       "build with; add an apt step: --apt python3", b->label,
				       b->tgt->t->interpreter);
		else
			r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "[build] %s: %s failed (exit %d); the "
				       "build's last lines%s%s:\n%s%s%s", b->label, hook, status,
				       kept ? " (all of them: " : "", kept ? kept : "", tail,
				       fix ? "\n" : "", fix ? fix : "");
		free(tail);
		free(fix);
		free(kept);
		json_decref(*res);
		*res = NULL;
	}
out:
	if (logfd >= 0)
		close(logfd);
	if (scratch)
		fs_rm_rf(NULL, AT_FDCWD, scratch);
	strv_free_null((char **)lowers);
	strv_free(&env);
	strv_free(&argv);
	free(scratch);
	free(cwd);
	free(rpath);
	free(bp);
	free(envdir);
	free(fe);
	free(out);
	free(log);
	return r;
}

/* ---- the wheel, rewritten ---- */

struct zent {
	char *name;
	unsigned char *data;
	size_t size;
	bool exec;
};

static int zent_cmp_key(const char *n)
{
	const char *slash = strchr(n, '/');

	if (!slash || slash - n < 10 || strncmp(slash - 10, ".dist-info", 10))
		return 0;
	return !strcmp(slash + 1, "RECORD") ? 2 : 1;
}

static int zent_cmp(const void *x, const void *y)
{
	const struct zent *a = x, *b = y;
	int ka = zent_cmp_key(a->name), kb = zent_cmp_key(b->name);

	return ka != kb ? ka - kb : strcmp(a->name, b->name);
}

static void put16(struct sbuf *s, unsigned v)
{
	unsigned char c[2] = { (unsigned char)v, (unsigned char)(v >> 8) };

	sbuf_add(s, c, 2);
}

static void put32(struct sbuf *s, uint32_t v)
{
	unsigned char c[4] = { (unsigned char)v, (unsigned char)(v >> 8),
			       (unsigned char)(v >> 16), (unsigned char)(v >> 24) };

	sbuf_add(s, c, 4);
}

/* data deflated (raw, zlib's default level, as Python's zipfile). */
static int deflate_raw(const unsigned char *data, size_t n, struct sbuf *out)
{
	z_stream z = { 0 };
	unsigned char buf[65536];
	int zr;

	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)data;
	z.avail_in = (uInt)n;
	do {
		z.next_out = buf;
		z.avail_out = sizeof buf;
		zr = deflate(&z, Z_FINISH);
		sbuf_add(out, buf, sizeof buf - z.avail_out);
	} while (zr == Z_OK);
	deflateEnd(&z);
	return zr == Z_STREAM_END ? 0 : -EIO;
}

/* The zip of ents (sorted) into out: each time PYBUILD_EPOCH (1980-01-01
 * 00:00 as DOS time), modes 0644/0755 (Unix, in the external attributes). */
static int zip_write(struct zent *ents, size_t n, struct sbuf *out)
{
	struct sbuf cd = SBUF_INIT, z = SBUF_INIT;
	const unsigned dtime = 0, ddate = (0 << 9) | (1 << 5) | 1;	/* 1980-01-01 00:00 */
	int r = 0;

	if (n > 0xffff)
		return -E2BIG;
	for (size_t i = 0; i < n && r == 0; i++) {
		uint32_t crc = (uint32_t)crc32(0, ents[i].data, (uInt)ents[i].size);
		size_t off = out->len, nl = strlen(ents[i].name);
		uint32_t mode = 0100000 | (ents[i].exec ? 0755 : 0644);

		sbuf_reset(&z);
		r = deflate_raw(ents[i].data, ents[i].size, &z);
		if (r < 0 || z.len >= 0xffffffffu || ents[i].size >= 0xffffffffu ||
		    off >= 0xffffffffu) {
			r = r < 0 ? r : -E2BIG;
			break;
		}
		put32(out, 0x04034b50);
		put16(out, 20);
		put16(out, 0x800);	/* UTF-8 names */
		put16(out, 8);
		put16(out, dtime);
		put16(out, ddate);
		put32(out, crc);
		put32(out, (uint32_t)z.len);
		put32(out, (uint32_t)ents[i].size);
		put16(out, (unsigned)nl);
		put16(out, 0);
		sbuf_add(out, ents[i].name, nl);
		sbuf_add(out, z.buf ? z.buf : "", z.len);
		put32(&cd, 0x02014b50);
		put16(&cd, 0x0314);	/* made by Unix, 2.0 */
		put16(&cd, 20);
		put16(&cd, 0x800);
		put16(&cd, 8);
		put16(&cd, dtime);
		put16(&cd, ddate);
		put32(&cd, crc);
		put32(&cd, (uint32_t)z.len);
		put32(&cd, (uint32_t)ents[i].size);
		put16(&cd, (unsigned)nl);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put16(&cd, 0);
		put32(&cd, mode << 16);
		put32(&cd, (uint32_t)off);
		sbuf_add(&cd, ents[i].name, nl);
	}
	if (r == 0) {
		size_t cdoff = out->len;

		sbuf_add(out, cd.buf ? cd.buf : "", cd.len);
		put32(out, 0x06054b50);
		put16(out, 0);
		put16(out, 0);
		put16(out, (unsigned)n);
		put16(out, (unsigned)n);
		put32(out, (uint32_t)cd.len);
		put32(out, (uint32_t)cdoff);
		put16(out, 0);
	}
	sbuf_free(&cd);
	sbuf_free(&z);
	return r;
}

/* sha256 of data as RECORD writes it: "sha256=" urlsafe base64, no '='. */
static void record_hash(const unsigned char *data, size_t n, struct sbuf *out)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char hex[65];
	unsigned char d[32];

	hash_sha256_hex(data, n, hex);
	for (int i = 0; i < 32; i++)
		d[i] = (unsigned char)(ascii_hexval(hex[2 * i]) << 4 | ascii_hexval(hex[2 * i + 1]));
	sbuf_adds(out, "sha256=");
	for (int i = 0; i < 32; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < 32 ? (uint32_t)d[i + 1] << 8 : 0) |
			     (i + 2 < 32 ? d[i + 2] : 0);

		sbuf_addc(out, b64[v >> 18 & 63]);
		sbuf_addc(out, b64[v >> 12 & 63]);
		if (i + 1 < 32)
			sbuf_addc(out, b64[v >> 6 & 63]);
		if (i + 2 < 32)
			sbuf_addc(out, b64[v & 63]);
	}
}

/* One CSV field of a RECORD line from *p (quotes as Python's csv). */
static char *csv_field(const char **p)
{
	struct sbuf f = SBUF_INIT;
	const char *s = *p;

	if (*s == '"') {
		for (s++; *s; s++) {
			if (*s == '"' && s[1] == '"')
				sbuf_addc(&f, *s++);
			else if (*s == '"')
				break;
			else
				sbuf_addc(&f, *s);
		}
		if (*s == '"')
			s++;
	}
	while (*s && *s != ',')
		sbuf_addc(&f, *s++);
	if (*s == ',')
		s++;
	*p = s;
	return f.buf ? sbuf_detach(&f) : xstrdup("");
}

/* RECORD against the entries: every file listed with its hash and size,
 * nothing listed that is not there. */
static int record_check(struct pkgimg_ctx *ctx, const char *what, struct zent *ents, size_t n,
			const struct zent *record)
{
	char *text = xstrndup((const char *)record->data, record->size), *line, *save = NULL;
	bool *seen = xcalloc(n + 1, sizeof *seen);
	int r = 0;

	for (line = strtok_r(text, "\r\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\r\n", &save)) {
		const char *p = line;
		char *path = csv_field(&p), *hash = csv_field(&p), *size = csv_field(&p);
		size_t k;

		for (k = 0; k < n && strcmp(ents[k].name, path); k++)
			;
		if (k == n) {
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] RECORD lists '%s', "
				       "which the wheel does not hold: the backend wrote a broken "
				       "wheel", what, path);
		} else if (&ents[k] != record && zent_cmp_key(path) != 2 && !str_ends_with(path, ".jws") &&
			   !str_ends_with(path, ".p7s")) {
			struct sbuf h = SBUF_INIT;

			seen[k] = true;
			record_hash(ents[k].data, ents[k].size, &h);
			if (strcmp(h.buf, hash) || (size[0] && strtoull(size, NULL, 10) != ents[k].size))
				r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [build] RECORD's hash or "
					       "size of '%s' is not the file's: the backend wrote a "
					       "broken wheel", what, path);
			sbuf_free(&h);
		} else {
			seen[k] = true;
		}
		free(path);
		free(hash);
		free(size);
	}
	for (size_t k = 0; k < n && r == 0; k++)
		if (!seen[k] && &ents[k] != record)
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] '%s' is not in RECORD: "
				       "the backend wrote a broken wheel", what, ents[k].name);
	free(seen);
	free(text);
	return r;
}

/* Every file entry of the zip at `in` (opened on a) into *ents (*n of
 * them), checked: plain files with relative paths; directories skipped. */
static int zip_read_all(struct pkgimg_ctx *ctx, struct archive *a, const char *in,
			struct zent **ents, size_t *n)
{
	struct archive_entry *e;
	const char *what = path_base(in);
	size_t cap = 0;
	int r = 0, ar;

	archive_read_support_format_zip(a);
	if (archive_read_open_filename(a, in, 65536) != ARCHIVE_OK) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] cannot read the wheel: %s",
			       what, archive_error_string(a));
		goto out;
	}
	while ((ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname_utf8(e);
		struct sbuf norm = SBUF_INIT;
		const char *why = NULL;
		int64_t sz = archive_entry_size(e);
		struct zent *z;

		if (!name)
			name = archive_entry_pathname(e);
		if (archive_entry_filetype(e) == AE_IFDIR)
			continue;
		if (!name || archive_entry_filetype(e) != AE_IFREG ||
		    !fs_path_norm(name, false, &norm, &why) || !norm.len) {
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] the wheel holds '%s', "
				       "which is not a plain file with a relative path", what,
				       name ? name : "?");
			sbuf_free(&norm);
			goto out;
		}
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			*ents = xrealloc(*ents, cap * sizeof **ents);
		}
		z = &(*ents)[(*n)++];
		memset(z, 0, sizeof *z);
		z->name = sbuf_detach(&norm);
		z->exec = (archive_entry_perm(e) & 0111) != 0;
		if (sz < 0 || (uint64_t)sz > PYBUILD_MAX_ENTRY) {
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] '%s' is too large",
				       what, z->name);
			goto out;
		}
		z->data = xmalloc((size_t)sz + 1);
		for (size_t got = 0; got < (size_t)sz;) {
			la_ssize_t k = archive_read_data(a, z->data + got, (size_t)sz - got);

			if (k <= 0) {
				r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] cannot read "
					       "'%s': %s", what, z->name,
					       k < 0 ? archive_error_string(a) : "short");
				goto out;
			}
			got += (size_t)k;
		}
		z->size = (size_t)sz;
	}
	if (ar != ARCHIVE_EOF) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] cannot read the wheel: %s",
			       what, archive_error_string(a));
		goto out;
	}
out:
	return r;
}

int pybuild_wheel_rewrite(struct pkgimg_ctx *ctx, const char *in, struct sbuf *out,
			  char **metadata)
{
	struct archive *a = archive_read_new();
	struct zent *ents = NULL, *record = NULL;
	size_t n = 0, nrecord = 0;
	const char *what = path_base(in);
	locale_t old = 0, loc = arc_utf8_locale_push(&old);
	int r = 0;

	r = zip_read_all(ctx, a, in, &ents, &n);
	if (r < 0)
		goto out;
	qsort(ents, n, sizeof *ents, zent_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && !strcmp(ents[i].name, ents[i - 1].name)) {
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] '%s' is in the wheel "
				       "twice", what, ents[i].name);
			goto out;
		}
		if (zent_cmp_key(ents[i].name) == 2) {
			record = &ents[i];
			nrecord++;
		}
	}
	if (nrecord != 1) {
		r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] the wheel has %zu .dist-info/"
			       "RECORD files, not one", what, nrecord);
		goto out;
	}
	r = record_check(ctx, what, ents, n, record);
	if (r == 0 && metadata) {
		*metadata = NULL;
		for (size_t i = 0; i < n && !*metadata; i++)
			if (zent_cmp_key(ents[i].name) == 1 &&
			    !strcmp(strchr(ents[i].name, '/') + 1, "METADATA") &&
			    strchr(ents[i].name, '/') == strrchr(ents[i].name, '/'))
				*metadata = xstrndup((const char *)ents[i].data, ents[i].size);
		if (!*metadata)
			r = pkgimg_err(ctx, -PKGIMG_E_ARCHIVE, "%s: [build] the wheel has no "
				       ".dist-info/METADATA", what);
	}
	if (r == 0 && (r = zip_write(ents, n, out)) < 0)
		r = pkgimg_err(ctx, r, "%s: [build] cannot write the wheel: %s", what, strerror(-r));
out:
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].data);
	}
	free(ents);
	archive_read_free(a);
	arc_utf8_locale_pop(loc, old);
	return r;
}

/* ---- the steps ---- */

/* PEP 643: the sdist's PKG-INFO, when its Metadata-Version is 2.2 or more
 * and nothing the resolver needs is Dynamic; NULL when not. */
static char *pep643_metadata(struct pyb *b)
{
	struct sbuf s = SBUF_INIT;
	struct pymeta m;
	char *path = xasprintf("%s/PKG-INFO", b->root), *res = NULL;
	static const char *const need[] = { "requires-dist", "requires-python",
					    "provides-extra", "name", "version", NULL };

	if (!b->archive || fs_read_file(NULL, AT_FDCWD, path, &s) < 0 || !s.buf ||
	    pymeta_parse(NULL, "PKG-INFO", s.buf, s.len, &m) < 0)
		goto out;
	if (m.metadata_version) {
		int maj = 0, min = 0;
		bool ok = sscanf(m.metadata_version, "%d.%d", &maj, &min) == 2 &&
			  (maj > 2 || (maj == 2 && min >= 2));

		for (size_t i = 0; ok && i < m.dynamic.n; i++)
			for (int k = 0; need[k]; k++)
				ok = ok && strcmp(m.dynamic.v[i], need[k]);
		if (ok)
			res = sbuf_detach(&s);
	}
	pymeta_free(&m);
out:
	sbuf_free(&s);
	free(path);
	return res;
}

/* out's name and version from metadata (owned by out afterwards). */
static int meta_fill(struct pyb *b, char *metadata, struct pypi_built *out)
{
	struct pymeta m;
	int r = pymeta_parse(b->ctx, "METADATA", metadata, strlen(metadata), &m);

	if (r < 0) {
		free(metadata);
		return pkgimg_err_wrap(b->ctx, r, "%s: [build] its metadata", b->label);
	}
	if (b->src->name && strcmp(b->src->name, m.norm))
		r = pkgimg_err(b->ctx, -PKGIMG_E_USAGE, "%s: [build] the project's metadata names "
			       "it %s, not %s; fix the requirement's name", b->label, m.name,
			       b->src->name);
	if (r == 0) {
		out->name = xstrdup(m.norm);
		out->version = xstrdup(m.version);
		out->metadata = metadata;
	} else {
		free(metadata);
	}
	pymeta_free(&m);
	return r;
}

/* The wheel the backend wrote, rewritten into the blobs. */
static int wheel_store(struct pyb *b, const char *name, struct pypi_built *out)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char *in = xasprintf("%s/out/wheel/%s", b->work, name), *meta = NULL;
	char *tmp = xasprintf("%s/rewritten.whl", b->work), *blob = NULL;
	struct sbuf z = SBUF_INIT;
	char hex[65];
	int r;

	if (strchr(name, '/') || !str_ends_with(name, ".whl")) {
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [build] build_wheel returned '%s', not "
			       "a wheel's file name", b->label, name);
		goto out;
	}
	r = pybuild_wheel_rewrite(ctx, in, &z, &meta);
	if (r < 0)
		goto out;
	hash_sha256_hex(z.buf, z.len, hex);
	if (b->src->wheel_sha256 && strcmp(b->src->wheel_sha256, hex)) {
		r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [build] the wheel built here (%s, "
			       "sha256 %s) is not the one the lock records (sha256 %s): the build "
			       "is not reproducible on this machine; lock again here, or build "
			       "where the lock was made", b->label, name, hex, b->src->wheel_sha256);
		goto out;
	}
	blob = store_blob_path(b->st, hex);
	if (!fs_exists(blob)) {
		r = fs_write_file(ctx, AT_FDCWD, tmp, z.buf, z.len, 0644);
		if (r == 0 && rename(tmp, blob) < 0)
			r = pkgimg_err(ctx, -errno, "%s: [build] %m", blob);
		if (r < 0)
			goto out;
	}
	r = meta_fill(b, meta, out);
	meta = NULL;
	if (r < 0)
		goto out;
	out->wheel_filename = xstrdup(name);
	out->wheel_sha256 = xstrdup(hex);
	out->wheel_size = z.len;
out:
	sbuf_free(&z);
	free(meta);
	free(in);
	free(tmp);
	free(blob);
	return r;
}

static int fe_write(struct pyb *b)
{
	char *fe = xasprintf("%s/fe", b->work), *site = xasprintf("%s/fe/site", b->work);
	char *out = xasprintf("%s/out", b->work);
	int r = 0;

	if (mkdir(fe, 0755) < 0 || mkdir(site, 0755) < 0 || mkdir(out, 0755) < 0)
		r = pkgimg_err(b->ctx, -errno, "%s: [build] %m", fe);
	if (r == 0)
		r = fs_write_file(b->ctx, AT_FDCWD, fe = (free(fe), xasprintf("%s/fe/frontend.py",
						b->work)), PYBUILD_FRONTEND,
				  strlen(PYBUILD_FRONTEND), 0644);
	if (r == 0)
		r = fs_write_file(b->ctx, AT_FDCWD, site = (free(site),
				  xasprintf("%s/fe/site/sitecustomize.py", b->work)),
				  PYBUILD_SITECUSTOMIZE, strlen(PYBUILD_SITECUSTOMIZE), 0644);
	free(fe);
	free(site);
	free(out);
	return r;
}

/* The strings of a JSON list (get_requires_for_build_wheel's answer). */
static int json_strv(struct pyb *b, json_t *list, struct strv *out)
{
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *s = json_string_value(json_array_get(list, i));

		if (!s)
			return pkgimg_err(b->ctx, -PKGIMG_E_SCRIPT, "%s: [build] "
					  "get_requires_for_build_wheel returned a non-string",
					  b->label);
		strv_add(out, s);
	}
	return 0;
}

/* prepare_metadata_for_build_wheel: 0 and out's name, version and
 * metadata set; 1 when the backend lacks the hook (build_wheel then). */
static int metadata_prepare(struct pyb *b, struct pypi_built *out)
{
	struct pkgimg_ctx *ctx = b->ctx;
	json_t *res = NULL;
	struct sbuf text = SBUF_INIT;
	const char *dir;
	char *path = NULL;
	int r = hook_run(b, "prepare_metadata_for_build_wheel", &res);

	if (r < 0)
		goto out;
	if (json_is_true(json_object_get(res, "unsupported"))) {
		r = 1;
		goto out;
	}
	dir = json_string_value(json_object_get(res, "return"));
	if (!dir || strchr(dir, '/') || !str_ends_with(dir, ".dist-info") || dir[0] == '.') {
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [build] prepare_metadata_for_build_wheel "
			       "returned '%s', not a .dist-info directory's name", b->label,
			       dir ? dir : "");
		goto out;
	}
	path = xasprintf("%s/out/metadata/%s/METADATA", b->work, dir);
	r = fs_read_file(ctx, AT_FDCWD, path, &text);
	if (r == 0 && !text.buf)
		sbuf_adds(&text, "");
	if (r == 0)
		r = meta_fill(b, sbuf_detach(&text), out);
	if (r == 0) {
		out->env = xcalloc((size_t)b->nenv + 1, sizeof *out->env);
		for (int i = 0; i < b->nenv; i++)
			lock_pkg_copy(&out->env[i], &b->env[i]);
		out->nenv = b->nenv;
		pkgimg_info(ctx, "%s: [build] metadata from prepare_metadata_for_build_wheel",
			    b->label);
	}
out:
	json_decref(res);
	sbuf_free(&text);
	free(path);
	return r;
}

/* Steps 3 to 5, once the source is in hand. */
static int pyb_build(struct pyb *b, struct pypi_built *out)
{
	struct pkgimg_ctx *ctx = b->ctx;
	bool iso = !b->src->no_build_isolation, from_lock = pyb_from_lock(b);
	struct strv extra = { 0 };
	json_t *res = NULL;
	char key1[65], key2[65];
	const char *name;
	int r;

	r = read_build_system(b);
	if (r == 0)
		r = fe_write(b);
	if (r == 0 && iso)
		r = env_make(b, NULL);
	if (r < 0)
		goto out;
	cache_key(b, key1);
	if (!(ctx->flags & PKGIMG_F_FORCE_BUILD) && cache_read(b, key1, out)) {
		pkgimg_info(ctx, "%s: [build] in the build cache: %s", b->label, out->wheel_filename);
		goto hit;
	}
	if (iso && !from_lock) {
		r = hook_run(b, "get_requires_for_build_wheel", &res);
		if (r == 0)
			r = json_strv(b, json_object_get(res, "return"), &extra);
		json_decref(res);
		res = NULL;
		if (r == 0 && extra.n)
			r = env_make(b, &extra);
		if (r < 0)
			goto out;
	}
	cache_key(b, key2);
	if (strcmp(key1, key2) && !(ctx->flags & PKGIMG_F_FORCE_BUILD) &&
	    cache_read(b, key2, out)) {
		cache_write(b, key1, out);
		goto hit;
	}
	if (b->src->metadata_only && !b->src->wheel_sha256) {
		/* the metadata only: prepare_metadata_for_build_wheel, when the
		 * backend has it */
		r = metadata_prepare(b, out);
		if (r <= 0)
			goto out;
	}
	r = hook_run(b, "build_wheel", &res);
	if (r < 0)
		goto out;
	name = json_string_value(json_object_get(res, "return"));
	if (!name) {
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [build] build_wheel returned no file "
			       "name", b->label);
		goto out;
	}
	r = wheel_store(b, name, out);
	if (r < 0)
		goto out;
	out->env = xcalloc((size_t)b->nenv + 1, sizeof *out->env);
	for (int i = 0; i < b->nenv; i++)
		lock_pkg_copy(&out->env[i], &b->env[i]);
	out->nenv = b->nenv;
	pkgimg_info(ctx, "%s: [build] built %s (sha256 %s)", b->label, out->wheel_filename,
		    out->wheel_sha256);
	cache_write(b, key2, out);
	if (strcmp(key1, key2))
		cache_write(b, key1, out);
	goto out;
hit:
	if (b->src->wheel_sha256 && strcmp(b->src->wheel_sha256, out->wheel_sha256))
		r = pkgimg_err(ctx, -PKGIMG_E_CHECKSUM, "%s: [build] the wheel built here (%s, "
			       "sha256 %s) is not the one the lock records (sha256 %s): the build "
			       "is not reproducible on this machine; lock again here, or build "
			       "where the lock was made", b->label, out->wheel_filename,
			       out->wheel_sha256, b->src->wheel_sha256);
out:
	json_decref(res);
	strv_free(&extra);
	return r;
}

static void pyb_free(struct pyb *b)
{
	if (b->work)
		fs_rm_rf(NULL, AT_FDCWD, b->work);
	free(b->work);
	free(b->srcdir);
	free(b->root);
	free(b->subdir);
	free(b->label);
	free(b->src_sha256);
	free(b->src_filename);
	free(b->commit);
	strv_free(&b->requires);
	free(b->backend);
	strv_free(&b->backend_path);
	pkgs_free(b->env, b->nenv);
	for (int i = 0; i < b->nchain; i++)
		free(b->chain[i]);
	free(b->chain);
}

int image_pybuild(struct pkgimg_ctx *ctx, struct store *st, const char *parent,
		  const struct pybuild_target *tgt, const struct pypi_request *rq,
		  const struct pypi_src *src, struct pypi_built *out)
{
	struct pyb b = { .ctx = ctx, .st = st, .parent = parent ? parent : "", .tgt = tgt,
			 .rq = rq, .src = src };
	struct pypi_built o = { 0 };
	char *meta = NULL;
	int r;

	b.label = src->name && src->version ? xasprintf("%s %s", src->name, src->version) :
		  src->kind == PYPI_SRC_GIT && src->rev ? xasprintf("%s@%s", src->url, src->rev) :
		  xstrdup(src->url);
	if (!src->url || !tgt || !tgt->t || !tgt->t->interpreter) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [build] no source or no interpreter "
			       "to build with", b.label);
		goto out;
	}
	r = store_mktemp_dir(ctx, st, "pybuild", &b.work);
	if (r < 0)
		goto out;
	b.srcdir = xasprintf("%s/src", b.work);
	if (b.parent[0])
		r = store_layer_chain(ctx, st, b.parent, &b.chain, &b.nchain);
	if (r == 0)
		r = src_get(&b);
	if (r < 0)
		goto out;
	o.src_sha256 = b.src_sha256 ? xstrdup(b.src_sha256) : NULL;
	o.src_size = b.src_size;
	o.src_filename = b.src_filename ? xstrdup(b.src_filename) : NULL;
	o.commit = b.commit ? xstrdup(b.commit) : NULL;
	if (src->metadata_only && !src->wheel_sha256 && (meta = pep643_metadata(&b))) {
		/* PEP 643: the sdist's own metadata, no build */
		r = meta_fill(&b, meta, &o);
		pkgimg_info(ctx, "%s: [build] metadata from PKG-INFO (PEP 643), not built", b.label);
		goto out;
	}
	r = pyb_build(&b, &o);
out:
	if (r == 0) {
		*out = o;
	} else {
		pypi_built_free(&o);
	}
	pyb_free(&b);
	return r;
}

/* ---- the solver's callback ---- */

static int pybuilder_build(void *arg, struct pkgimg_ctx *ctx, const struct lockfile *below,
			   const struct pypi_target *t, const struct pypi_request *rq,
			   const struct pypi_src *src, struct pypi_built *out)
{
	struct image_pybuilder *pb = arg;
	struct install_opts io0 = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct pybuild_target tgt = { .t = t, .python_prefix = below ? below->python_prefix : NULL };
	struct lockfile view = { 0 };
	char parent[STORE_KEY_MAX] = "";
	int r = 0;

	if (below) {
		/* the PyPI layer being locked may already be below's last one
		 * (the solver builds its final picks as it fills it in): while
		 * below names no python, no PyPI layer of it is complete */
		view = *below;
		if (!view.python && view.nlayers && view.layers[view.nlayers - 1].kind == LOCK_PIP)
			view.nlayers--;
	}
	if (below && view.nlayers) {
		/* the image below the PyPI layer: store hits when built */
		r = image_install_lock(ctx, pb->st, &view, pb->io ? pb->io : &io0, &res);
		if (r == 0)
			snprintf(parent, sizeof parent, "%s", res.snapshot);
	} else if (below) {
		r = image_lock_base(ctx, pb->st, below, parent);
	}
	install_result_free(&res);
	if (r < 0)
		return pkgimg_err_wrap(ctx, r, "%s: [build] the image to build in", src->url);
	return image_pybuild(ctx, pb->st, parent, &tgt, rq, src, out);
}

void image_pybuilder_init(struct image_pybuilder *b, struct store *st,
			  const struct install_opts *io)
{
	b->api.build = pybuilder_build;
	b->api.arg = b;
	b->st = st;
	b->io = io;
}

/* ---- pkgimg wheel ---- */

/* SOURCE as the command line gives it: a directory, an archive (a path,
 * https://, file://), git+URL[@REV]; "#subdirectory=" after any. */
static int wheel_source(struct pkgimg_ctx *ctx, const char *arg, struct pypi_src *s,
			struct strv *own)
{
	char *u = xstrdup(arg), *frag = strchr(u, '#'), *at, *real;
	struct stat sb;
	int r = 0;

	if (frag) {
		*frag++ = 0;
		if (!str_starts_with(frag, "subdirectory=") || !frag[13]) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [wheel] the only fragment taken "
				       "is #subdirectory=DIR", arg);
			goto out;
		}
		strv_add(own, frag + 13);
		s->subdirectory = own->v[own->n - 1];
	}
	if (str_starts_with(u, "git+")) {
		const char *host = strstr(u + 4, "://");

		s->kind = PYPI_SRC_GIT;
		at = host ? strrchr(host + 3, '@') : NULL;
		if (at && strchr(at, '/'))
			at = NULL;
		if (at) {
			*at = 0;
			strv_add(own, at + 1);
			s->rev = own->v[own->n - 1];
		}
		strv_add(own, u + 4);
		s->url = own->v[own->n - 1];
	} else if (str_starts_with(u, "https://") || str_starts_with(u, "http://") ||
		   (str_starts_with(u, "file://") && stat(u + 7, &sb) == 0 && !S_ISDIR(sb.st_mode))) {
		s->kind = PYPI_SRC_URL;
		strv_add(own, u);
		s->url = own->v[own->n - 1];
	} else {
		const char *p = str_starts_with(u, "file://") ? u + 7 : u;

		real = realpath(p, NULL);
		if (!real || stat(real, &sb) < 0) {
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [wheel] no such directory or "
				       "archive: %m", arg);
			free(real);
			goto out;
		}
		if (S_ISDIR(sb.st_mode)) {
			s->kind = PYPI_SRC_PATH;
			strv_push(own, real);
		} else {
			s->kind = PYPI_SRC_URL;
			strv_push(own, xasprintf("file://%s", real));
			free(real);
		}
		s->url = own->v[own->n - 1];
	}
out:
	free(u);
	return r;
}

/* The glibc version of the packages locked in l[0..n) ("libc6"), or 0. */
static bool glibc_of(const struct lock_layer *l, int n, struct pypi_target *t)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < l[i].npkgs; k++) {
			const char *v = l[i].pkgs[k].version, *c;

			if (strcmp(l[i].pkgs[k].ecosystem, "apt") || strcmp(l[i].pkgs[k].name, "libc6"))
				continue;
			c = strchr(v, ':');
			return sscanf(c ? c + 1 : v, "%d.%d", &t->glibc_major, &t->glibc_minor) == 2;
		}
	return false;
}

/* The Debian interpreter package ("python3.11") of l[0..n) into t:
 * its version and path. */
static bool python_of(const struct lock_layer *l, int n, struct pypi_target *t)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < l[i].npkgs; k++) {
			const char *nm = l[i].pkgs[k].name, *v = l[i].pkgs[k].version, *c;

			if (strcmp(l[i].pkgs[k].ecosystem, "apt") || strncmp(nm, "python3.", 8) ||
			    !nm[8] || strspn(nm + 8, "0123456789") != strlen(nm + 8))
				continue;
			c = strchr(v, ':');
			v = c ? c + 1 : v;
			t->python = xstrndup(v, strcspn(v, "-~+"));
			t->interpreter = xasprintf("/usr/bin/%s", nm);
			return true;
		}
	return false;
}

/* The target of the image: its python (Debian's) and C library, from the
 * lock's layers and those of the image below. */
static int wheel_target(struct pkgimg_ctx *ctx, struct store *st, const struct lockfile *lf,
			const char *base, struct pypi_target *t)
{
	const char *a = ctx->arch;
	char **chain = NULL;
	bool py = python_of(lf->layers, lf->nlayers, t), libc = glibc_of(lf->layers, lf->nlayers, t);
	int n = 0;

	t->machine = xstrdup(!strcmp(a, "amd64") ? "x86_64" : !strcmp(a, "arm64") ? "aarch64" :
			     !strcmp(a, "i386") ? "i686" : a);
	if (base[0] && store_layer_chain(NULL, st, base, &chain, &n) < 0)
		n = 0;
	for (int i = 0; i < n && (!py || !libc); i++) {
		struct layer_meta m = { 0 };
		struct lock_layer l = { 0 };

		if (store_layer_read(NULL, st, chain[i], &m) == 0 && m.lock &&
		    lockfile_is_layer_section(m.lock, strlen(m.lock)) &&
		    lockfile_parse_layer(NULL, chain[i], m.lock, strlen(m.lock), &l) == 0) {
			py = py || python_of(&l, 1, t);
			libc = libc || glibc_of(&l, 1, t);
		}
		lock_layer_free(&l);
		layer_meta_free(&m);
	}
	for (int i = 0; i < n; i++)
		free(chain[i]);
	free(chain);
	if (!py)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "[wheel] the image has no Python "
				  "interpreter to build with; add --apt python3");
	return 0;
}

/* The wheel blob copied to dir/filename (atomically). */
static int wheel_copy_out(struct pkgimg_ctx *ctx, struct store *st, const struct pypi_built *w,
			  const char *dir, char **path)
{
	char *blob = store_blob_path(st, w->wheel_sha256);
	char *dst = xasprintf("%s/%s", dir, w->wheel_filename);
	char *tmp = xasprintf("%s/.%s.tmp", dir, w->wheel_filename);
	int in = -1, out = -1, r = 0;

	if (fs_mkdirs(ctx, AT_FDCWD, dir, 0755) < 0) {
		r = -errno;
		goto out;
	}
	in = open(blob, O_RDONLY | O_CLOEXEC);
	out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (in < 0 || out < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [wheel] %m", in < 0 ? blob : tmp);
		goto out;
	}
	r = fs_copy_data(in, out);
	if (r < 0)
		r = pkgimg_err(ctx, r, "%s: [wheel] %s", tmp, strerror(-r));
	else if (rename(tmp, dst) < 0)
		r = pkgimg_err(ctx, -errno, "%s: [wheel] %m", dst);
	if (r == 0) {
		*path = dst;
		dst = NULL;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	if (r < 0)
		unlink(tmp);
	free(blob);
	free(dst);
	free(tmp);
	return r;
}

int image_wheel(struct pkgimg_ctx *ctx, struct store *st, const struct image_wheel_opts *o,
		char **path)
{
	struct plan_opts po = *o->plan;
	struct pypi_src src = { 0 };
	struct pypi_built w = { 0 };
	struct pypi_target t = { 0 };
	struct pybuild_target tgt = { .t = &t };
	struct lockfile lf = { 0 };
	struct install_result res = { 0 };
	struct strv own = { 0 }, apt = { 0 };
	char parent[STORE_KEY_MAX] = "";
	bool slim;
	int r;

	r = wheel_source(ctx, o->source, &src, &own);
	if (r < 0)
		goto out;
	src.no_build_isolation = o->no_build_isolation;
	po.pip = NULL;
	po.conda = NULL;
	slim = !po.base || !strcmp(po.base, "debian-slim") || !strcmp(po.base, "scratch");
	if (slim) {
		/* Debian's python3 (pythonX.Y with --python) in the image */
		for (int i = 0; i < po.napt; i++)
			strv_add(&apt, po.apt[i]);
		strv_push(&apt, po.python ? xasprintf("python%s", po.python) : xstrdup("python3"));
		po.apt = (const char *const *)apt.v;
		po.napt = (int)apt.n;
	}
	if (slim || po.napt) {
		r = plan_lock(ctx, st, &po, &lf);
	} else {
		/* an image as it is */
		lf.base = xstrdup("");
		r = store_resolve(ctx, st, po.base, parent);
		if (r == 0) {
			free(lf.base);
			lf.base = xstrdup(parent);
		}
	}
	if (r == 0)
		r = image_lock_base(ctx, st, &lf, parent);
	if (r == 0 && lf.nlayers) {
		r = image_install_lock(ctx, st, &lf, o->io, &res);
		if (r == 0)
			snprintf(parent, sizeof parent, "%s", res.snapshot);
	}
	if (r == 0)
		r = wheel_target(ctx, st, &lf, parent, &t);
	if (r < 0)
		goto out;
	r = image_pybuild(ctx, st, parent, &tgt, o->rq, &src, &w);
	if (r == 0)
		r = wheel_copy_out(ctx, st, &w, o->outdir ? o->outdir : ".", path);
out:
	pypi_built_free(&w);
	pypi_target_free(&t);
	install_result_free(&res);
	lockfile_free(&lf);
	strv_free(&own);
	strv_free(&apt);
	return r;
}
