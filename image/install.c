#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/layer.h"
#include "cache/store.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "core/tree.h"
#include "installers/deb.h"
#include "installers/conda_pkg.h"
#include "installers/debcache.h"
#include "installers/debtrig.h"
#include "image/aptpyc.h"
#include "image/install.h"
#include "installers/wheel.h"
#include "pyc/pyc.h"
#include "runtime/gpu.h"
#include "runtime/sandbox.h"

/* The control members dpkg extracts next to a preinst (tmp.ci/). */
static const char *const ci_members =
	"preinst postinst prerm postrm config templates triggers shlibs symbols conffiles md5sums";

/* A shell script run in the sandbox after unpacking: the preinst of every
 * new package ("install"), as dpkg runs it before unpacking: from
 * /var/lib/dpkg/tmp.ci/ with the package's control members and control
 * file next to it (debconf takes the owner of the questions a preinst
 * registers from there); then dpkg's own configure pass (postinsts,
 * triggers, conffiles); then mmdebstrap's cleanup of what the build
 * leaves (logs holding times, /run). */
static char *configure_script(struct debinst_pkg *pkgs, int n)
{
	struct sbuf s = SBUF_INIT;

	sbuf_adds(&s, "set -e\ncd /\n"
		  "export DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= DPKG_MAINTSCRIPT_NAME=preinst "
		  "DPKG_MAINTSCRIPT_DEBUG=0 DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1\n"
		  "export DPKG_RUNNING_VERSION=$(dpkg-query -W -f='${Version}' dpkg 2>/dev/null || echo 1.21)\n"
		  "ci=/var/lib/dpkg/tmp.ci\n"
		  "preinst() {\n"
		  "\trm -rf $ci; mkdir $ci\n"
		  "\tdpkg-query -s \"$1\" | grep -v '^Status:' >$ci/control\n"
		  "\tfor m in ");
	sbuf_adds(&s, ci_members);
	sbuf_adds(&s, "; do\n"
		  "\t\tif [ -e /var/lib/dpkg/info/$1.$m ]; then cp -p /var/lib/dpkg/info/$1.$m $ci/$m; fi\n"
		  "\tdone\n"
		  "\tDPKG_MAINTSCRIPT_PACKAGE=$2 DPKG_MAINTSCRIPT_ARCH=$3 $ci/preinst install\n"
		  "\trm -rf $ci\n"
		  "}\n");
	for (int i = 0; i < n; i++) {
		const char *name = pkgs[i].name;

		if (pkgs[i].multiarch_same)
			sbuf_addf(&s, "if [ -x /var/lib/dpkg/info/%s:%s.preinst ]; then preinst %s:%s %s %s; fi\n",
				  name, pkgs[i].arch, name, pkgs[i].arch, name, pkgs[i].arch);
		else
			sbuf_addf(&s, "if [ -x /var/lib/dpkg/info/%s.preinst ]; then preinst %s %s %s; fi\n",
				  name, name, name, pkgs[i].arch);
	}
	sbuf_adds(&s, "dpkg --configure -a --force-confdef --force-confold\n"
		  /* what holds the time or inode numbers of this build, as
		   * mmdebstrap removes it for reproducible images, and what is
		   * left in /run (its cleanup/run, /run/lock kept) */
		  "rm -f /var/cache/ldconfig/aux-cache /var/log/dpkg.log "
		  "/var/log/alternatives.log\n"
		  "find /run -mindepth 1 -maxdepth 1 ! -name lock -exec rm -rf {} +\n");
	return sbuf_detach(&s);
}

/* lstat of rel in the tree at rootfd, no link followed on the way (one
 * would lead out of the layer, to the host). */
static bool layer_stat(int rootfd, const char *rel, struct stat *sb)
{
	const char *name;
	int dfd;
	bool ok;

	if (fs_open_parent(NULL, "layer", "configure", rootfd, rel, false, NULL, &dfd, &name) < 0)
		return false;
	ok = fstatat(dfd, name, sb, AT_SYMLINK_NOFOLLOW) == 0;
	close(dfd);
	return ok;
}

/* SOURCE_DATE_EPOCH of a layer's maintainer scripts: the newest mtime of
 * the files its packages ship (.deb mtimes, which Debian's builds clamp to
 * the package's changelog date), so what the scripts date (/etc/shadow's
 * last change) is the day of the newest package, the same in every store;
 * 0 when they ship no file. */
static long long layer_epoch(int rootfd, const struct debinst_pkg *pkgs, int n)
{
	long long newest = 0;

	for (int i = 0; i < n; i++) {
		char *list = pkgs[i].multiarch_same
			? xasprintf("var/lib/dpkg/info/%s:%s.list", pkgs[i].name, pkgs[i].arch)
			: xasprintf("var/lib/dpkg/info/%s.list", pkgs[i].name);
		struct sbuf text = SBUF_INIT;
		struct blob b, line;

		if (fs_read_file(NULL, rootfd, list, &text) < 0)
			goto next;
		b = (struct blob){ text.buf, text.len };
		while (blob_line(&b, &line)) {
			char *rel;
			struct stat sb;

			if (line.len < 2 || line.ptr[0] != '/')
				continue;
			rel = xstrndup(line.ptr + 1, line.len - 1);
			if (!layer_stat(rootfd, rel, &sb)) {
				char *alt = xasprintf("usr/%s", rel);	/* merged /usr */

				if (!layer_stat(rootfd, alt, &sb))
					sb.st_mode = 0;
				free(alt);
			}
			if (sb.st_mode && !S_ISDIR(sb.st_mode) && sb.st_mtime > newest)
				newest = sb.st_mtime;
			free(rel);
		}
next:
		sbuf_free(&text);
		free(list);
	}
	return newest;
}

/* The dpkg status of the layers below (topmost copy wins), or NULL. */
static char *parent_status(struct pkgimg_ctx *ctx, struct store *st, char **chain, int n)
{
	for (int i = 0; i < n; i++) {
		char *tree = store_layer_tree(st, chain[i]);
		char *path = xasprintf("%s/var/lib/dpkg/status", tree);
		struct sbuf s = SBUF_INIT;
		int r = access(path, F_OK) == 0 ? fs_read_file(ctx, AT_FDCWD, path, &s) : -ENOENT;

		free(tree);
		free(path);
		if (r == 0)
			return sbuf_detach(&s);
		sbuf_free(&s);
	}
	return NULL;
}

static bool strv_has(const struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return true;
	return false;
}

/* var/lib/dpkg/triggers/ of the layers below (top first), merged as the
 * image shows it: each file's topmost copy; a whiteout (or anything but a
 * regular file) hides it, an opaque directory what is under it. */
static int triggers_below(struct pkgimg_ctx *ctx, struct store *st, char **chain, int n,
			  struct debtrig_below *out)
{
	struct strv seen = { 0 }, ex = { 0 };
	int r = 0;

	memset(out, 0, sizeof *out);
	for (int i = 0; i < n && r == 0; i++) {
		char *tree = store_layer_tree(st, chain[i]);
		char *path = xasprintf("%s/var/lib/dpkg/triggers", tree);
		int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		bool opaque = false;
		struct dirent *de;
		DIR *d;

		free(tree);
		free(path);
		if (dfd < 0)
			continue;
		opaque = tree_is_opaque(dfd);
		d = fdopendir(dfd);
		if (!d) {
			close(dfd);
			continue;
		}
		while (r == 0 && (de = readdir(d))) {
			const char *name = de->d_name;
			struct sbuf text = SBUF_INIT;
			struct stat sb;

			if (name[0] == '.' || !strcmp(name, "Lock"))
				continue;
			if (strv_has(&seen, name))
				continue;
			strv_add(&seen, name);
			if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
				continue;
			r = fs_read_file(ctx, dirfd(d), name, &text);
			if (r < 0) {
				sbuf_free(&text);
				break;
			}
			if (!strcmp(name, "File")) {
				out->file = sbuf_detach(&text);
			} else if (!strcmp(name, "Unincorp")) {
				out->unincorp = sbuf_detach(&text);
			} else {
				strv_add(&ex, name);
				strv_push(&ex, sbuf_detach(&text));
			}
		}
		closedir(d);
		if (opaque)
			break;
	}
	strv_free(&seen);
	out->explicit = ex.v;
	if (r < 0)
		debtrig_below_free(out);
	return r;
}

/* Whether the image (tree over the chain, top first) has `path`, as a
 * process inside it would see it (cache/view: whiteouts, opaque dirs and
 * links on the way), its last component not followed (an interpreter may
 * be a link into another layer): 1 or 0, or a negative code. */
static int image_has(struct pkgimg_ctx *ctx, struct store *st, const char *tree, char **chain,
		     int n, const char *path, const char *what, const char *phase)
{
	char **trees = store_chain_trees(st, tree, chain, n);
	struct stat sb;
	char *out = NULL;
	int r;

	r = view_resolve(ctx, what, phase, trees, n + 1, path, &out, &sb);
	strv_free_null(trees);
	free(out);
	return r < 0 ? r : sb.st_mode != 0;
}

#define DPKG_PATH "/usr/bin/dpkg"

/* What install --lock carries from one apt layer to the next, so that each
 * layer need not look for dpkg through every layer below it (which made a
 * long lockfile quadratic): whether the image up to the last layer built
 * has /usr/bin/dpkg, valid when it was found without following a link. */
struct dpkg_memo {
	bool valid, has;
};

/* Whether the image (tree over the chain) has /usr/bin/dpkg, looked up
 * through every layer; *linked (may be NULL): a link was followed. */
static int dpkg_lookup(struct pkgimg_ctx *ctx, struct store *st, const char *tree, char **chain,
		       int n, const char *step, bool *linked)
{
	char **trees = store_chain_trees(st, tree, chain, n);
	struct stat sb;
	char *out = NULL;
	int r;

	r = view_resolve(ctx, step, "configure", trees, n + 1, DPKG_PATH, &out, &sb);
	if (r == 0 && linked)
		*linked = strcmp(out, DPKG_PATH) != 0;
	strv_free_null(trees);
	free(out);
	return r < 0 ? r : sb.st_mode != 0;
}

/* The same through the memo: tree leaves the path to the image below, whose
 * answer the memo holds. */
static int has_dpkg(struct pkgimg_ctx *ctx, struct store *st, const char *tree, char **chain,
		    int n, const char *step, const struct dpkg_memo *memo)
{
	if (memo && memo->valid && view_transparent(tree, DPKG_PATH))
		return memo->has;
	return dpkg_lookup(ctx, st, tree, chain, n, step, NULL);
}

/* The memo for the image with the finished tree on top. */
static int dpkg_memo_update(struct pkgimg_ctx *ctx, struct store *st, const char *tree,
			    char **chain, int n, const char *step, struct dpkg_memo *memo)
{
	bool linked = true;
	int r;

	if (!memo || (memo->valid && view_transparent(tree, DPKG_PATH)))
		return 0;	/* the image below's answer holds */
	r = dpkg_lookup(ctx, st, tree, chain, n, step, &linked);
	if (r < 0)
		return r;
	memo->valid = !linked;
	memo->has = r;
	return 0;
}

/* No dpkg in the image (a scratch image): packages without maintainer
 * scripts are configured by writing their status "installed" (which also
 * moves their conffiles into place, see debinst_write_status); packages
 * that need their scripts are refused. */
static int configure_without_dpkg(struct pkgimg_ctx *ctx, int rootfd, struct debinst_pkg *pkgs, int n)
{
	for (int i = 0; i < n; i++) {
		static const char *const scripts[] = { "preinst", "postinst" };

		for (int k = 0; k < 2; k++) {
			char *f = pkgs[i].multiarch_same
				? xasprintf("var/lib/dpkg/info/%s:%s.%s", pkgs[i].name, pkgs[i].arch, scripts[k])
				: xasprintf("var/lib/dpkg/info/%s.%s", pkgs[i].name, scripts[k]);
			int has = faccessat(rootfd, f, F_OK, 0) == 0;

			free(f);
			if (has)
				return pkgimg_err(ctx, -PKGIMG_E_SCRIPT,
						  "%s: [configure] has a %s script but the image has no "
						  "dpkg to run it; add --apt dpkg (or use the debian-slim "
						  "base), or pass --no-scripts to leave it unpacked",
						  pkgs[i].name, scripts[k]);
		}
	}
	return 0;
}

/* Runs the sandbox with the command's output going to a log file (to
 * stderr with -v, never to stdout, which carries pkgimg's result); *tail
 * gets the last lines for an error message. */
static int run_logged(struct pkgimg_ctx *ctx, const struct sandbox_opts *so, const char *scratch,
		      int *status, struct sbuf *tail)
{
	char *path = xasprintf("%s.log", scratch);
	int verbose = ctx->flags & PKGIMG_F_VERBOSE;
	struct sandbox_opts o = *so;
	int logfd, r;

	logfd = verbose ? dup(2) : open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (logfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [configure] cannot create log: %m", path);
		free(path);
		return r;
	}
	if (logfd <= 2) {	/* keep it clear of the standard fds */
		int fd = fcntl(logfd, F_DUPFD_CLOEXEC, 3);

		close(logfd);
		logfd = fd;
	}
	o.output_fd = logfd;
	r = sandbox_run(ctx, &o, status);
	if (!verbose) {
		struct sbuf all = SBUF_INIT;

		if (fs_read_file(NULL, AT_FDCWD, path, &all) == 0 && all.len) {
			size_t from = all.len > 3000 ? all.len - 3000 : 0;

			sbuf_add(tail, all.buf + from, all.len - from);
		}
		sbuf_free(&all);
		unlink(path);
	}
	if (logfd >= 0)
		close(logfd);
	free(path);
	return r;
}

/* Workers for unpacking: one per core, at most --jobs. */
static int unpack_jobs(const struct pkgimg_ctx *ctx)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (ctx->jobs > 0 && n > ctx->jobs)
		n = ctx->jobs;
	return (int)n;
}

/* What the maintainer scripts wrote (the overlay upper at `upper`) becomes
 * part of the layer's tree, with mtime 0: files renamed over the composed
 * ones, whiteouts deleting, opaque directories replacing. */
static int fold_upper(struct pkgimg_ctx *ctx, const char *upper, int rootfd, const char *tree,
		      const char *step)
{
	int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [configure] %m", upper);
	r = fs_tree_times_zero(ctx, fd, upper);
	if (r == 0)
		r = tree_apply(ctx, fd, rootfd, TREE_MOVE, 0, step, "configure", tree);
	close(fd);
	if (r == 0)
		r = fs_rm_rf(ctx, AT_FDCWD, upper);
	return r;
}

/* Which of the layer's blobs are in the store (had[i]), before it is built. */
static void layer_blobs_present(struct store *st, const struct lock_layer *l, bool *had)
{
	for (int i = 0; i < l->npkgs; i++)
		had[i] = l->pkgs[i].sha256 && *l->pkgs[i].sha256 &&
			 store_has_blob(st, l->pkgs[i].sha256);
}

/* Whether a blob that was in the store before the build is gone:
 * store_blob_check() removed it, found corrupt (or replaced) while it was
 * read.  (A download that failed is no reason to build again.) */
static bool layer_blob_removed(struct store *st, const struct lock_layer *l, const bool *had)
{
	for (int i = 0; i < l->npkgs; i++)
		if (had[i] && !store_has_blob(st, l->pkgs[i].sha256))
			return true;
	return false;
}

/* Fetches (or finds in the blob store) every artifact of a lock layer,
 * verified by the lock's sha256 and size. */
static int fetch_layer(struct pkgimg_ctx *ctx, struct store *st, const struct lock_layer *l)
{
	struct fetch_item *items = xcalloc((size_t)l->npkgs + 1, sizeof *items);
	int r;

	for (int i = 0; i < l->npkgs; i++) {
		items[i].url = l->pkgs[i].url;
		items[i].sha256 = l->pkgs[i].sha256;
		items[i].size = l->pkgs[i].size ? (int64_t)l->pkgs[i].size : -1;
		items[i].label = l->pkgs[i].name;
	}
	r = fetch_all(ctx, st, items, l->npkgs);
	free(items);
	return r;
}

/* Commits the transaction's tree as its layer, times as `times` says.
 * The layer's files that did not compile are res's from failed0 on. */
static int commit_layer(struct pkgimg_ctx *ctx, struct layer_txn *t, enum layer_times times,
			const char *parent, const char *step, const char *section,
			const struct install_result *res, size_t failed0)
{
	struct layer_meta meta = { 0 };
	int r;

	snprintf(meta.parent, sizeof meta.parent, "%s", parent ? parent : "");
	meta.step = (char *)step;
	meta.lock = (char *)section;
	meta.pyc_failed = image_pyc_failed_meta(res, failed0);
	r = layer_txn_commit(ctx, t, times, &meta);
	strv_free_null(meta.pyc_failed);
	return r;
}

/* A layer composed for the packages of one apt step (the tree shares its
 * inodes with the unpacked cache). */
struct apt_compose {
	char **chain;		/* the image below, top first */
	int nchain;
	const char *tmp, *tree;	/* the layer being built, and its tree */
	int rootfd;		/* of tree */
	struct debinst_pkg *pkgs;
	int npk;
};

/* dpkg's configure pass over the composed tree, in the sandbox: each new
 * package's preinst, then `dpkg --configure -a`, on an overlay whose lower
 * is the tree and whose upper, folded into the tree afterwards, takes what
 * the scripts write (so nothing writes through to the shared inodes). */
static int apt_scripts(struct pkgimg_ctx *ctx, struct store *st, const struct apt_compose *c,
		       const struct install_opts *o, const char *step)
{
	char **chain = c->chain, *upper = NULL, *scratch = NULL, *script = NULL;
	const char *tmp = c->tmp, *tree = c->tree;
	const char **lowers = NULL;
	struct sbuf log = SBUF_INIT;
	int nchain = c->nchain, r = 0;

	char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	struct sandbox_opts so = { 0 };
	struct strv genv = { 0 };
	int status_code = 0;
	char *sde = NULL;
	size_t npyc = 0;

	/* the composed tree shares its inodes with the
	 * unpacked cache: it is a lower, the scripts write
	 * to a separate upper folded in afterwards */
	lowers = (const char **)store_chain_trees(st, tree, chain, nchain);
	upper = xasprintf("%s/upper", tmp);
	if (mkdir(upper, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [configure] %m", upper);
		goto out;
	}
	r = store_mktemp_dir(ctx, st, "sandbox", &scratch);
	if (r < 0)
		goto out;
	script = configure_script(c->pkgs, c->npk);
	argv[2] = script;
	so.lowers = lowers;
	so.nlowers = nchain + 1;
	so.upper = upper;
	so.build = 1;
	so.scratch = scratch;
	so.argv = argv;
	so.network = 0;
	sandbox_default_env(&genv, SANDBOX_ENV_BASE, NULL);
	strv_add(&genv, "DEBIAN_FRONTEND=noninteractive");
	strv_add(&genv, "DEBCONF_NONINTERACTIVE_SEEN=true");
	sde = xasprintf("SOURCE_DATE_EPOCH=%lld", layer_epoch(c->rootfd, c->pkgs, c->npk));
	strv_add(&genv, sde);
	if (o->ngpu_binds) {	/* --gpu: the scripts see the GPU */
		gpu_env_merge(&genv, o->gpu_env);
		so.binds = o->gpu_binds;
		so.nbinds = o->ngpu_binds;
	}
	so.env = genv.v;	/* freed at the end: the ldconfig scrub runs with it */
	pkgimg_progress(ctx, "configure", NULL, 0, 0, 0);
	r = run_logged(ctx, &so, scratch, &status_code, &log);
	if (r < 0)
		goto out;
	pkgimg_progress(ctx, "configure", NULL, 1, 1, 1);
	if (status_code != 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT,
			       "%s: [configure] maintainer scripts failed with status %d; "
			       "pass --no-scripts to leave the packages unpacked. The last "
			       "lines they printed:\n%s", step, status_code,
			       log.buf ? log.buf : "");
		goto out;
	}
	if (o->ngpu_binds) {
		r = gpu_ldcache_scrub(ctx, step, &so);
		if (r < 0)
			goto out;
	}
	{	/* the image as the scripts saw it: upper over the lowers */
		char **view = xcalloc((size_t)nchain + 3, sizeof *view);

		view[0] = upper;
		memcpy(view + 1, lowers, ((size_t)nchain + 1) * sizeof *view);
		r = image_apt_pyc_timestamps(ctx, step, upper, view, nchain + 2, &npyc);
		free(view);
		if (r < 0)
			goto out;
		pkgimg_info(ctx, "configure: %zu pycs of the scripts made timestamp pycs", npyc);
	}
	r = fold_upper(ctx, upper, c->rootfd, tree, step);
out:
	if (scratch)
		fs_rm_rf(NULL, AT_FDCWD, scratch);
	strv_free_null((char **)lowers);
	free(upper);
	free(scratch);
	free(script);
	free(sde);
	strv_free(&genv);
	sbuf_free(&log);
	return r;
}

static int build_apt_layer(struct pkgimg_ctx *ctx, struct store *st, struct lock_layer *l,
			   char **chain, int nchain, const struct install_opts *o,
			   struct layer_txn *txn, const char *parent, const char *step,
			   const char *section, struct dpkg_memo *memo)
{
	struct debinst_pkg *pkgs = xcalloc((size_t)l->npkgs + 1, sizeof *pkgs);
	struct debtrig_below trig = { 0 };
	char *tmp = txn->tmp, *tree = txn->tree, *status = NULL, **shas = NULL, **labels = NULL;
	int r, rootfd = txn->rootfd, npk = 0;
	int64_t t0 = pkgimg_now_ms(), t;

	r = fetch_layer(ctx, st, l);
	if (r < 0)
		goto out;
	shas = xcalloc((size_t)l->npkgs + 1, sizeof *shas);
	labels = xcalloc((size_t)l->npkgs + 1, sizeof *labels);
	for (int i = 0; i < l->npkgs; i++) {
		shas[i] = l->pkgs[i].sha256;
		labels[i] = l->pkgs[i].name;
	}
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "fetch: %d packages in %lld ms", l->npkgs, (long long)(t - t0));
	r = debcache_fill(ctx, st, shas, labels, l->npkgs, unpack_jobs(ctx));
	if (r < 0)
		goto out;
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "unpack: cache filled in %lld ms", (long long)(t - t0));
	if (nchain == 0) {
		r = debinst_merged_usr_links(ctx, rootfd);
		if (r < 0)
			goto out;
	}
	for (int i = 0; i < l->npkgs; i++) {
		r = debcache_link(ctx, st, l->pkgs[i].sha256, l->pkgs[i].name, rootfd, tree, &pkgs[npk]);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "%s %s", l->pkgs[i].name, l->pkgs[i].version);
			goto out;
		}
		npk++;
	}
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "compose: %d packages hard-linked in %lld ms", npk, (long long)(t - t0));
	status = parent_status(ctx, st, chain, nchain);
	r = debinst_write_status(ctx, rootfd, status, pkgs, npk, "unpacked", ctx->arch);
	if (r < 0)
		goto out;
	/* what dpkg --unpack records: their trigger interests, and the file
	 * triggers of the layers below that their files activate */
	r = triggers_below(ctx, st, chain, nchain, &trig);
	if (r == 0)
		r = debtrig_write(ctx, rootfd, &trig, pkgs, npk);
	if (r < 0)
		goto out;
	if (!o->no_scripts) {
		struct apt_compose ac = {
			.chain = chain, .nchain = nchain, .tmp = tmp, .tree = tree,
			.rootfd = rootfd, .pkgs = pkgs, .npk = npk,
		};

		r = has_dpkg(ctx, st, tree, chain, nchain, step, memo);
		if (r < 0)
			goto out;
		if (r) {
			r = apt_scripts(ctx, st, &ac, o, step);
			if (r < 0)
				goto out;
			t0 = t;
			t = pkgimg_now_ms();
			pkgimg_info(ctx, "configure: maintainer scripts ran in %lld ms",
				    (long long)(t - t0));
		} else {
			r = configure_without_dpkg(ctx, rootfd, pkgs, npk);
			if (r < 0)
				goto out;
			r = debinst_write_status(ctx, rootfd, status, pkgs, npk, "installed", ctx->arch);
			if (r < 0)
				goto out;
		}
	}
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "fold: in %lld ms", (long long)(t - t0));
	r = dpkg_memo_update(ctx, st, tree, chain, nchain, step, memo);
	/* what pkgimg and the scripts generated (dpkg's database, usrmerge
	 * links, directories) gets mtime 0; the packages' files keep theirs */
	if (r == 0)
		r = commit_layer(ctx, txn, LAYER_TIMES_CLAMP, parent, step, section, NULL, 0);
	pkgimg_info(ctx, "commit: in %lld ms", (long long)(pkgimg_now_ms() - t));
out:
	for (int i = 0; i < npk; i++)
		debinst_pkg_free(&pkgs[i]);
	free(pkgs);
	free(shas);
	free(labels);
	free(status);
	debtrig_below_free(&trig);
	return r;
}

/* --- bytecode ------------------------------------------------------------- */

/* A source file of a layer and the package (index) whose record lists it. */
struct pyc_src {
	char *path;		/* in the image, absolute */
	int owner;
	size_t seq;		/* order added: a later package's file wins */
};

static int pyc_src_cmp(const void *a, const void *b)
{
	const struct pyc_src *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void pyc_src_add(struct pyc_src **v, size_t *n, size_t *cap, char *path, int owner)
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
static int layer_pyc(struct pkgimg_ctx *ctx, struct store *st, const struct install_opts *o,
		     const char *tmp, const char *tree, int rootfd, char **chain, int nchain,
		     const char *python, const char *step, struct pyc_src *srcs, size_t *nsrcs,
		     struct pyc_result *res)
{
	const char **lowers = NULL, **paths = NULL;
	char *upper = NULL, *scratch = NULL;
	struct sandbox_opts so = { 0 };
	struct pyc_opts po = o->pyc;
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
	r = image_has(ctx, st, tree, chain, nchain, python, step, "pyc");
	if (r < 0)
		return r;
	if (!r) {
		pkgimg_warn(ctx, "%s: [pyc] the image has no %s, so %zu Python files get no bytecode "
			    "(install that interpreter in an earlier step, or pass --pyc none)",
			    step, python, n);
		return 0;
	}
	po.python = python;
	lowers = (const char **)store_chain_trees(st, tree, chain, nchain);
	paths = xcalloc(n + 1, sizeof *paths);
	for (size_t i = 0; i < n; i++)
		paths[i] = srcs[i].path;
	upper = xasprintf("%s/pyc-upper", tmp);
	if (mkdir(upper, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [pyc] %m", upper);
		goto out;
	}
	r = store_mktemp_dir(ctx, st, "sandbox", &scratch);
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
	r = fold_upper(ctx, upper, rootfd, tree, step);
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
static void pyc_report(struct pkgimg_ctx *ctx, struct install_result *out, const struct pyc_result *res,
		       const struct pyc_src *srcs, char **labels, int nlabels)
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

int image_tree_pyc(struct pkgimg_ctx *ctx, struct store *st, const struct install_opts *o,
		   const char *tmp, const char *tree, char **chain, int nchain,
		   const char *python, const char *step, const char *label,
		   struct install_result *res)
{
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
		pyc_src_add(&srcs, &nsrcs, &cap, xstrdup(files.v[i] + tlen), 0);
	strv_free(&files);
	if (r == 0)
		r = layer_pyc(ctx, st, o, tmp, tree, rootfd, chain, nchain, python, step, srcs,
			      &nsrcs, &pr);
	if (r == 0)
		pyc_report(ctx, res, &pr, srcs, labels, 1);
	if (r == 0)	/* folding the bytecode in touched directories */
		r = fs_tree_times_zero(ctx, rootfd, tree);
	pyc_result_free(&pr);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i].path);
	free(srcs);
	close(rootfd);
	return r;
}

void install_result_free(struct install_result *res)
{
	for (size_t i = 0; i < res->npyc_failed; i++) {
		free(res->pyc_failed[i].package);
		free(res->pyc_failed[i].path);
		free(res->pyc_failed[i].error);
	}
	free(res->pyc_failed);
	res->pyc_failed = NULL;
	res->npyc_failed = 0;
}

/* "3.11.2" -> "3.11" (the X.Y of the install scheme's paths). */
char *image_python_xy(const char *full)
{
	const char *dot = strchr(full, '.');
	size_t n = dot ? strcspn(dot + 1, ".") + (size_t)(dot - full) + 1 : strlen(full);

	return xstrndup(full, n);
}

/* A top-level requirement (pip writes REQUESTED for those). */
static bool pip_requested(const struct lock_pkg *p)
{
	return p->requested_by && (!strncmp(p->requested_by, "--pip", 5) ||
				   !strncmp(p->requested_by, "-r ", 3));
}

/* wheel_replace_below for each wheel installed, over the parent's trees. */
static int replace_below(struct pkgimg_ctx *ctx, struct store *st, int rootfd, char **chain,
			 int nchain, const char *site, const struct wheel_installed *ws, int nws)
{
	char **below = xcalloc((size_t)nchain + 1, sizeof *below);
	int r = 0;

	for (int k = 0; k < nchain; k++)
		below[k] = store_layer_tree(st, chain[k]);
	for (int i = 0; i < nws && r == 0 && nchain; i++)
		r = wheel_replace_below(ctx, rootfd, below, nchain, site, &ws[i], NULL);
	for (int k = 0; k < nchain; k++)
		free(below[k]);
	free(below);
	return r;
}

/* A PyPI layer: the locked wheels, fetched and verified, installed into the
 * site-packages of Debian's interpreter (pip's posix_local scheme, as `pip
 * install` run as root writes them). */
static int build_pip_layer(struct pkgimg_ctx *ctx, struct store *st, const struct lockfile *lf,
			   struct lock_layer *l, char **chain, int nchain,
			   const struct install_opts *o, struct install_result *res,
			   struct layer_txn *txn, const char *parent, const char *step,
			   const char *section)
{
	char *tmp = txn->tmp, *tree = txn->tree, *xy = NULL, *site = NULL, *inc = NULL;
	char *interp = NULL, *scripts = NULL, *data = NULL, **labels = NULL;
	struct wheel_installed *ws = xcalloc((size_t)l->npkgs + 1, sizeof *ws);
	struct pyc_src *srcs = NULL;
	struct pyc_result pr = { 0 };
	size_t nsrcs = 0, capsrcs = 0, failed0 = res->npyc_failed;
	int r, rootfd = txn->rootfd, nws = 0;
	int64_t t0 = pkgimg_now_ms(), t;

	if (!lf->python) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [install] the lockfile names no python "
			       "version for its PyPI layer; regenerate it with `pkgimg lock`", step);
		goto out;
	}
	xy = image_python_xy(lf->python);
	if (lf->python_prefix) {
		/* conda's python: its prefix's own scheme (posix_prefix) */
		const char *pre = lf->python_prefix + (lf->python_prefix[0] == '/');

		site = xasprintf("%s/lib/python%s/site-packages", pre, xy);
		inc = xasprintf("%s/include/python%s", pre, xy);
		interp = xasprintf("%s/bin/python%s", lf->python_prefix, xy);
		scripts = xasprintf("%s/bin", pre);
		data = xstrdup(pre);
	} else {
		site = xasprintf("usr/local/lib/python%s/dist-packages", xy);
		inc = xasprintf("usr/local/include/python%s", xy);
		interp = xasprintf("/usr/bin/python%s", xy);
		scripts = xstrdup("usr/local/bin");
		data = xstrdup("usr/local");
	}
	r = fetch_layer(ctx, st, l);
	if (r < 0)
		goto out;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "fetch: %d wheels in %lld ms", l->npkgs, (long long)(t - t0));
	for (int i = 0; i < l->npkgs; i++) {
		struct wheel_scheme sc = {
			.purelib = site, .platlib = site, .scripts = scripts,
			.headers = inc, .data = data, .python = interp, .py_version = xy,
		};
		struct wheel_install_opts wo = {
			.filename = l->pkgs[i].filename,	/* the blob is named by its hash */
			.requested = pip_requested(&l->pkgs[i]), .installer = "pkgimg", .mtime = 0,
		};
		char *blob = store_blob_path(st, l->pkgs[i].sha256);

		wo.sha256 = l->pkgs[i].sha256;
		r = wheel_install(ctx, blob, rootfd, &sc, &wo, &ws[i]);
		free(blob);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "%s %s", l->pkgs[i].name, l->pkgs[i].version);
			store_blob_check(ctx, st, l->pkgs[i].sha256, l->pkgs[i].filename);
			goto out;
		}
		nws++;
	}
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "install: %d wheels in %lld ms", l->npkgs, (long long)(t - t0));
	/* the .py files of purelib and platlib, as pip compiles them */
	labels = xcalloc((size_t)nws + 1, sizeof *labels);
	for (int i = 0; i < nws; i++) {
		labels[i] = xasprintf("%s %s", l->pkgs[i].name, l->pkgs[i].version);
		for (size_t k = 0; k < ws[i].nfiles; k++) {
			const char *f = ws[i].files[k].path;
			size_t len = strlen(f);

			if (len > 3 && !strcmp(f + len - 3, ".py") && strncmp(f, "../", 3))
				pyc_src_add(&srcs, &nsrcs, &capsrcs, xasprintf("/%s/%s", site, f), i);
		}
	}
	r = layer_pyc(ctx, st, o, tmp, tree, rootfd, chain, nchain, interp, step, srcs, &nsrcs, &pr);
	if (r < 0)
		goto out;
	pyc_report(ctx, res, &pr, srcs, labels, nws);
	for (int i = 0; i < nws && pr.npycs; i++) {
		struct strv add = { 0 };

		for (size_t k = 0; k < pr.n; k++)
			for (int m = 0; srcs[k].owner == i && m < pr.items[k].npycs; m++)
				strv_add(&add, pr.items[k].pycs[m]);
		if (add.n)
			r = wheel_record_add(ctx, rootfd, &ws[i], (const char *const *)add.v, add.n);
		strv_free(&add);
		if (r < 0)
			goto out;
	}
	t0 = t;
	t = pkgimg_now_ms();
	pkgimg_info(ctx, "pyc: %zu files compiled, %zu did not, in %lld ms", pr.ncompiled,
		    pr.nfailed, (long long)(t - t0));
	/* another version of a project in the image below is uninstalled, as
	 * pip does: whiteouts for its files that this layer did not write anew
	 * (its bytecode included) */
	r = replace_below(ctx, st, rootfd, chain, nchain, site, ws, nws);
	if (r < 0)
		goto out;
	/* folding the bytecode in touched directories: the layer is of no time */
	r = commit_layer(ctx, txn, LAYER_TIMES_ZERO, parent, step, section, res, failed0);
out:
	pyc_result_free(&pr);
	for (size_t i = 0; i < nsrcs; i++)
		free(srcs[i].path);
	free(srcs);
	for (int i = 0; i < nws; i++) {
		wheel_installed_free(&ws[i]);
		free(labels ? labels[i] : NULL);
	}
	free(ws);
	free(labels);
	free(xy);
	free(site);
	free(inc);
	free(interp);
	free(scripts);
	free(data);
	return r;
}

/* --- conda layers -------------------------------------------------------- */

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
static int conda_layer_pyc(struct pkgimg_ctx *ctx, struct store *st, const struct install_opts *o,
			   struct install_result *res, const char *tmp, const char *tree,
			   int rootfd, char **chain, int nchain, const struct conda_link_opts *lo,
			   const struct conda_linked *linked, size_t nlinked, const char *step)
{
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
				pyc_src_add(&srcs, &nsrcs, &capsrcs, xasprintf("/%s/%s", prefix, f),
					    (int)i);
		}
	}
	r = layer_pyc(ctx, st, o, tmp, tree, rootfd, chain, nchain, interp, step, srcs, &nsrcs, &pr);
	if (r < 0)
		goto out;
	pyc_report(ctx, res, &pr, srcs, labels, (int)nlinked);
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
static int build_conda_layer(struct pkgimg_ctx *ctx, struct store *st, struct lock_layer *l,
			     char **chain, int nchain, const struct install_opts *o,
			     struct install_result *res, struct layer_txn *txn, const char *parent,
			     const char *step, const char *section)
{
	char (*shas)[65] = xcalloc((size_t)l->npkgs + 1, sizeof *shas);
	struct conda_linked *linked = xcalloc((size_t)l->npkgs + 1, sizeof *linked);
	const char **specs = xcalloc((size_t)l->npkgs + 1, sizeof *specs);
	char *tmp = txn->tmp, *tree = txn->tree, *pyxy = NULL;
	char *prefix = xstrdup(l->prefix ? l->prefix : CONDA_DEFAULT_PREFIX);
	size_t nlinked = 0, nspecs = 0, failed0 = res->npyc_failed;
	int r, rootfd = txn->rootfd;
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
		r = conda_layer_pyc(ctx, st, o, res, tmp, tree, rootfd, chain, nchain, &lo,
				    linked, nlinked, step);
		if (r < 0)
			goto out;
		pkgimg_info(ctx, "pyc: in %lld ms", (long long)(pkgimg_now_ms() - t));
	}
	r = commit_layer(ctx, txn, LAYER_TIMES_ZERO, parent, step, section, res, failed0);
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

static bool is_pip_layer(const struct lock_layer *l)
{
	return l->kind == LOCK_PIP;
}

static bool is_conda_layer(const struct lock_layer *l)
{
	return l->kind == LOCK_CONDA;
}

/* image_lock_layer, with the parent's chain when the caller has it (known:
 * pchain[0..npchain), top first), else it is read from the store. */
static int lock_layer(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf, int i,
		      const struct install_opts *o, const char *parent, bool force,
		      char key[STORE_KEY_MAX], struct install_result *res, bool known,
		      char **pchain, int npchain, struct dpkg_memo *memo)
{
	struct lock_layer *l = &lf->layers[i];
	struct sbuf section = SBUF_INIT;
	struct layer_txn txn = LAYER_TXN_INIT;
	char *step, **chain = NULL;
	int nchain = 0, r;
	bool replay, *had = NULL;

	force = force || (ctx->flags & PKGIMG_F_FORCE_BUILD);
	r = lockfile_layer_text(ctx, l, &section);
	if (r < 0)
		return r;
	if (is_pip_layer(l) || is_conda_layer(l)) {
		char *suffix = pyc_step_suffix(&o->pyc);

		step = xasprintf("%s%s", l->step, suffix);
		free(suffix);
	} else {
		/* scripts that ran unconfined made another layer */
		step = xasprintf("%s%s", l->step, o->no_scripts ? " [no-scripts]" :
				 (ctx->flags & PKGIMG_F_PRIVILEGED) ? " [privileged]" : "");
	}
	lockfile_layer_key(parent, step, section.buf, key);
	replay = is_pip_layer(l) || is_conda_layer(l);	/* only they compile bytecode */
	/* 1: in the store already (or a concurrent pkgimg built it meanwhile) */
	r = layer_txn_begin(ctx, st, key, "install", force, &txn);
	if (r > 0) {
		res->layers_cached++;
		r = replay ? image_layer_replay(ctx, st, key, res) : 0;
		goto out;
	}
	if (r < 0)
		goto out;
	if (known) {
		chain = pchain;		/* borrowed: not freed below */
		nchain = npchain;
	} else if (parent[0]) {
		r = store_layer_chain(ctx, st, parent, &chain, &nchain);
		if (r < 0)
			goto out;
	}
	r = store_check_layers(ctx, nchain + 1, step);
	if (r < 0)
		goto out;
	pkgimg_info(ctx, "building layer %s (%s)", key, step);
	had = xcalloc((size_t)l->npkgs + 1, sizeof *had);
	layer_blobs_present(st, l, had);
	for (int attempt = 0;; attempt++) {
		if (is_pip_layer(l))
			r = build_pip_layer(ctx, st, lf, l, chain, nchain, o, res, &txn, parent,
					    step, section.buf);
		else if (is_conda_layer(l))
			r = build_conda_layer(ctx, st, l, chain, nchain, o, res, &txn, parent,
					      step, section.buf);
		else
			r = build_apt_layer(ctx, st, l, chain, nchain, o, &txn, parent, step,
					    section.buf, memo);
		/* a blob found corrupt while it was read was removed (a
		 * warning said so): the layer again fetches it, once, in a
		 * fresh work dir */
		if (r == 0 || attempt > 0 || !layer_blob_removed(st, l, had))
			break;
		r = layer_txn_renew(ctx, &txn);
		if (r < 0)
			break;
	}
	if (r == 0)
		res->layers_built++;
	if (!is_pip_layer(l) && !is_conda_layer(l))
		memo = NULL;	/* kept up to date by build_apt_layer */
out:
	if (memo)	/* a layer found in the store, or not an apt one */
		memo->valid = false;
	layer_txn_abort(&txn);	/* nothing left of a failed build; a no-op after commit */
	for (int k = 0; !known && chain && k < nchain; k++)
		free(chain[k]);
	if (!known)
		free(chain);
	free(step);
	sbuf_free(&section);
	free(had);
	return r;
}

int image_lock_layer(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf, int i,
		     const struct install_opts *o, const char *parent, bool force,
		     char key[STORE_KEY_MAX], struct install_result *res)
{
	return lock_layer(ctx, st, lf, i, o, parent, force, key, res, false, NULL, 0, NULL);
}

int image_install_lock(struct pkgimg_ctx *ctx, struct store *st, struct lockfile *lf,
		       const struct install_opts *o, struct install_result *res)
{
	char parent[STORE_KEY_MAX] = "", key[STORE_KEY_MAX];
	struct install_result out = { 0 };
	struct dpkg_memo memo = { 0 };
	char **chain = NULL;
	int r = 0, n = 0;

	if (lf->nlayers == 0)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "[install] the lockfile has no layers");
	r = image_lock_base(ctx, st, lf, parent);
	if (r == 0 && parent[0])
		r = store_layer_chain(ctx, st, parent, &chain, &n);
	if (r == 0)
		r = store_check_layers(ctx, n + lf->nlayers, lf->layers[lf->nlayers - 1].step);
	/* the parent's chain grows by one key a layer (reading it from the
	 * store for each layer made a long lockfile quadratic) */
	if (r == 0) {
		chain = xrealloc(chain, ((size_t)n + (size_t)lf->nlayers + 1) * sizeof *chain);
		chain[n] = NULL;
	}
	for (int i = 0; r == 0 && i < lf->nlayers; i++) {
		r = lock_layer(ctx, st, lf, i, o, parent, false, key, &out, true, chain, n, &memo);
		if (r == 0) {
			memcpy(parent, key, sizeof parent);
			memmove(chain + 1, chain, (size_t)n * sizeof *chain);
			chain[0] = xstrdup(key);
			chain[++n] = NULL;
		}
	}
	for (int i = 0; chain && i < n; i++)
		free(chain[i]);
	free(chain);
	if (r < 0) {
		install_result_free(&out);
		return r;
	}
	memcpy(out.snapshot, key, sizeof out.snapshot);
	*res = out;
	return 0;
}

int image_lock_base(struct pkgimg_ctx *ctx, struct store *st, const struct lockfile *lf,
		    char parent[STORE_KEY_MAX])
{
	parent[0] = 0;
	if (lf->base && !strncmp(lf->base, "sha256:", 7)) {
		/* locked on top of an image of the store */
		if (!store_has_layer(st, lf->base))
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
					  "%s: [install] the lockfile's base image is not in this "
					  "store; build that image here first, or lock again with "
					  "another --base", lf->base);
		snprintf(parent, STORE_KEY_MAX, "%s", lf->base);
	}
	return 0;
}
