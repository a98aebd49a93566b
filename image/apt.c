/* The apt layer kind (see image/layers.h): the locked .debs, fetched,
 * unpacked once into the store's cache, hard-linked into the layer's tree,
 * their maintainer scripts run by dpkg in the sandbox (or, in an image
 * without dpkg, their status written "installed"). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/layer.h"
#include "cache/store.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"
#include "image/aptpyc.h"
#include "image/aptupg.h"
#include "image/install.h"
#include "image/layers.h"
#include "installers/deb.h"
#include "installers/debcache.h"
#include "installers/debtrig.h"
#include "runtime/gpu.h"
#include "runtime/sandbox.h"

/* The control members dpkg extracts next to a preinst (tmp.ci/). */
static const char *const ci_members =
	"preinst postinst prerm postrm config templates triggers shlibs symbols conffiles md5sums";

/* A shell script run in the sandbox after unpacking: for each new package
 * what dpkg runs around its unpacking, in dpkg's order: for an upgrade of
 * a version below, the old prerm "upgrade NEW", the new preinst "upgrade
 * OLD NEW" and the old postrm "upgrade NEW" (the old scripts kept aside in
 * /var/lib/dpkg/tmp.old/ by image_apt_old_scripts), else the preinst
 * "install"; a preinst from /var/lib/dpkg/tmp.ci/ with the package's
 * control members and control file next to it (debconf takes the owner
 * of the questions a preinst registers from there).  Then dpkg's own
 * configure pass (postinsts with the last configured version, triggers,
 * conffiles); then mmdebstrap's cleanup of what the build leaves (logs
 * holding times, /run).  Names, architectures and versions are dpkg's
 * (checked when the package was unpacked): no shell quoting needed. */
static char *configure_script(struct debinst_pkg *pkgs, char *const *olds, int n)
{
	struct sbuf s = SBUF_INIT;

	sbuf_adds(&s, "set -e\ncd /\n"
		  "export DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= "
		  "DPKG_MAINTSCRIPT_DEBUG=0 DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1\n"
		  "export DPKG_RUNNING_VERSION=$(dpkg-query -W -f='${Version}' dpkg 2>/dev/null || echo 1.21)\n"
		  "ci=/var/lib/dpkg/tmp.ci old=/var/lib/dpkg/tmp.old\n"
		  "preinst() {\n"
		  "\tp=$1 n=$2 a=$3; shift 3\n"
		  "\t[ -x /var/lib/dpkg/info/$p.preinst ] || return 0\n"
		  "\trm -rf $ci; mkdir $ci\n"
		  "\tdpkg-query -s \"$p\" | grep -v '^Status:' >$ci/control\n"
		  "\tfor m in ");
	sbuf_adds(&s, ci_members);
	sbuf_adds(&s, "; do\n"
		  "\t\tif [ -e /var/lib/dpkg/info/$p.$m ]; then cp -p /var/lib/dpkg/info/$p.$m $ci/$m; fi\n"
		  "\tdone\n"
		  "\tDPKG_MAINTSCRIPT_NAME=preinst DPKG_MAINTSCRIPT_PACKAGE=$n DPKG_MAINTSCRIPT_ARCH=$a "
		  "$ci/preinst \"$@\"\n"
		  "\trm -rf $ci\n"
		  "}\n"
		  "oldscript() {\n"
		  "\tp=$1 n=$2 a=$3 m=$4; shift 4\n"
		  "\t[ -x $old/$p.$m ] || return 0\n"
		  "\tDPKG_MAINTSCRIPT_NAME=$m DPKG_MAINTSCRIPT_PACKAGE=$n DPKG_MAINTSCRIPT_ARCH=$a "
		  "$old/$p.$m \"$@\"\n"
		  "}\n");
	for (int i = 0; i < n; i++) {
		const char *name = pkgs[i].name, *arch = pkgs[i].arch, *v = pkgs[i].version;
		char *info = pkgs[i].multiarch_same ? xasprintf("%s:%s", name, arch) : xstrdup(name);

		if (olds && olds[i]) {
			sbuf_addf(&s, "oldscript %s %s %s prerm upgrade %s\n", info, name, arch, v);
			sbuf_addf(&s, "preinst %s %s %s upgrade %s %s\n", info, name, arch, olds[i], v);
			sbuf_addf(&s, "oldscript %s %s %s postrm upgrade %s\n", info, name, arch, v);
		} else {
			sbuf_addf(&s, "preinst %s %s %s install\n", info, name, arch);
		}
		free(info);
	}
	sbuf_adds(&s, "rm -rf $old\n"
		  "dpkg --configure -a --force-confdef --force-confold\n"
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
int image_has(const struct layer_build *b, const char *path, const char *phase)
{
	char **trees = store_chain_trees(b->st, b->txn->tree, b->chain, b->nchain);
	struct stat sb;
	char *out = NULL;
	int r;

	r = view_resolve(b->ctx, b->step, phase, trees, b->nchain + 1, path, &out, &sb);
	strv_free_null(trees);
	free(out);
	return r < 0 ? r : sb.st_mode != 0;
}

#define DPKG_PATH "/usr/bin/dpkg"

/* Whether the image (tree over the chain) has /usr/bin/dpkg, looked up
 * through every layer; *linked (may be NULL): a link was followed. */
static int dpkg_lookup(const struct layer_build *b, bool *linked)
{
	char **trees = store_chain_trees(b->st, b->txn->tree, b->chain, b->nchain);
	struct stat sb;
	char *out = NULL;
	int r;

	r = view_resolve(b->ctx, b->step, "configure", trees, b->nchain + 1, DPKG_PATH, &out, &sb);
	if (r == 0 && linked)
		*linked = strcmp(out, DPKG_PATH) != 0;
	strv_free_null(trees);
	free(out);
	return r < 0 ? r : sb.st_mode != 0;
}

/* The same through the memo: tree leaves the path to the image below, whose
 * answer the memo holds. */
static int has_dpkg(const struct layer_build *b)
{
	const struct dpkg_memo *memo = b->memo;

	if (memo && memo->valid && view_transparent(b->txn->tree, DPKG_PATH))
		return memo->has;
	return dpkg_lookup(b, NULL);
}

/* The memo for the image with the finished tree on top. */
static int dpkg_memo_update(const struct layer_build *b)
{
	struct dpkg_memo *memo = b->memo;
	bool linked = true;
	int r;

	if (!memo || (memo->valid && view_transparent(b->txn->tree, DPKG_PATH)))
		return 0;	/* the image below's answer holds */
	r = dpkg_lookup(b, &linked);
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

/* The pycs the scripts wrote get timestamp headers, from the image as the
 * scripts left it: upper over the lowers (nchain + 1 of them), with the
 * times it will have (what the scripts made at mtime 0, what they moved
 * keeps the .deb's). */
static int scripts_pyc_timestamps(const struct layer_build *b, char *upper,
				  const char **lowers, int nchain)
{
	struct pkgimg_ctx *ctx = b->ctx;
	char **view;
	size_t npyc = 0;
	int ufd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	r = ufd < 0 ? pkgimg_err(ctx, -errno, "%s: [configure] %m", upper)
		    : fs_tree_clamp_times(ctx, ufd, upper, b->txn->started);
	if (ufd >= 0)
		close(ufd);
	if (r < 0)
		return r;
	view = xcalloc((size_t)nchain + 3, sizeof *view);
	view[0] = upper;
	memcpy(view + 1, lowers, ((size_t)nchain + 1) * sizeof *view);
	r = image_apt_pyc_timestamps(ctx, b->step, upper, view, nchain + 2, &npyc);
	free(view);
	if (r == 0)
		pkgimg_info(ctx, "configure: %zu pycs of the scripts made timestamp pycs", npyc);
	return r;
}

/* dpkg's configure pass over the composed tree, in the sandbox: each new
 * package's preinst, then `dpkg --configure -a`, on an overlay whose lower
 * is the tree and whose upper, folded into the tree afterwards, takes what
 * the scripts write (so nothing writes through to the shared inodes). */
static int apt_scripts(const struct layer_build *b, struct debinst_pkg *pkgs, char *const *olds,
		       int npk)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct store *st = b->st;
	const struct install_opts *o = b->o;
	const char *step = b->step, *tmp = b->txn->tmp, *tree = b->txn->tree;
	char **chain = b->chain, *upper = NULL, *scratch = NULL, *script = NULL;
	const char **lowers = NULL;
	struct sbuf log = SBUF_INIT;
	int nchain = b->nchain, rootfd = b->txn->rootfd, r = 0;

	char *argv[] = { "/bin/sh", "-c", NULL, NULL };
	struct sandbox_opts so = { 0 };
	struct strv genv = { 0 };
	int status_code = 0;
	char *sde = NULL;

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
	r = image_apt_old_scripts(b, upper, pkgs, olds, npk);
	if (r < 0)
		goto out;
	script = configure_script(pkgs, olds, npk);
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
	sde = xasprintf("SOURCE_DATE_EPOCH=%lld", layer_epoch(rootfd, pkgs, npk));
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
	r = scripts_pyc_timestamps(b, upper, lowers, nchain);
	if (r < 0)
		goto out;
	r = image_fold_upper(ctx, upper, rootfd, tree, step, b->txn->started);
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

/* An apt layer: the locked .debs, fetched and verified, unpacked into the
 * store's cache, hard-linked into the tree, then configured. */
int image_build_apt(const struct layer_build *b)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct store *st = b->st;
	struct lock_layer *l = b->l;
	struct layer_txn *txn = b->txn;
	char **chain = b->chain;
	int nchain = b->nchain;
	struct debinst_pkg *pkgs = xcalloc((size_t)l->npkgs + 1, sizeof *pkgs);
	struct debtrig_below trig = { 0 };
	char *tree = txn->tree, *status = NULL, **shas = NULL, **labels = NULL, **olds = NULL;
	int r, rootfd = txn->rootfd, npk = 0;
	int64_t t0 = pkgimg_now_ms(), t;

	r = image_fetch_layer(ctx, st, l);
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
	if (r == 0)
		r = image_apt_upgrades(b, status, pkgs, npk, &olds);
	if (r < 0)
		goto out;
	/* what dpkg --unpack records: their trigger interests, and the file
	 * triggers of the layers below that their files activate */
	r = triggers_below(ctx, st, chain, nchain, &trig);
	if (r == 0)
		r = debtrig_write(ctx, rootfd, &trig, pkgs, npk);
	if (r < 0)
		goto out;
	if (!b->o->no_scripts) {
		r = has_dpkg(b);
		if (r < 0)
			goto out;
		if (r) {
			r = apt_scripts(b, pkgs, olds, npk);
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
	r = dpkg_memo_update(b);
	/* what pkgimg and the scripts generated (dpkg's database, usrmerge
	 * links, directories) gets mtime 0; the packages' files keep theirs */
	if (r == 0)
		r = image_commit_layer(b, LAYER_TIMES_CLAMP, NULL, 0);
	pkgimg_info(ctx, "commit: in %lld ms", (long long)(pkgimg_now_ms() - t));
out:
	for (int i = 0; i < npk; i++)
		debinst_pkg_free(&pkgs[i]);
	free(pkgs);
	free(shas);
	free(labels);
	free(status);
	image_apt_olds_free(olds, npk);
	debtrig_below_free(&trig);
	return r;
}
