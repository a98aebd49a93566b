/* A build spec as layers: the spec's package steps locked together
 * (image_spec_lock, `pkgimg lock -f`), then one layer per step, each keyed
 * from its parent, so an unchanged prefix of the spec is reused and a
 * changed step rebuilds itself and every step after it (image_build_spec).
 * The steps that are not packages live here: config (env, workdir,
 * entrypoint, cmd), copy (add, python_source) and run. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/layer.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "core/tree.h"
#include "pyspec/pylock.h"
#include "pyspec/pyproject.h"
#include "image/build.h"
#include "image/commit.h"
#include "image/install.h"
#include "image/layers.h"
#include "runtime/gpu.h"
#include "solver/apt.h"
#include "solver/plan.h"
#include "image/pybuild.h"

/* What every step of one build shares. */
struct build {
	struct pkgimg_ctx *ctx;
	struct store *store;
	const struct spec *spec;
	struct lockfile *lf;
	const struct install_opts *io;
	struct install_result *res;
	int depth;		/* the layers below the next one (overlayfs' limit) */
};

/* ---- locking a spec ---- */

struct step_req {		/* the merged request up to one package step */
	struct strv apt, pip, reqfiles, extra, find, conda, channels;
	struct pypi_request pypi;
	struct conda_request creq;
	char cuda[16];
	char *pylock;		/* requirements: pylock.toml (PEP 751), in the context */
};

static void step_req_free(struct step_req *q)
{
	strv_free(&q->apt);
	strv_free(&q->pip);
	strv_free(&q->reqfiles);
	strv_free(&q->extra);
	strv_free(&q->find);
	strv_free(&q->conda);
	strv_free(&q->channels);
	free(q->pylock);
}

/* A pip step's {project: DIR, extras, groups}: the dependencies of DIR's
 * pyproject.toml (DIR in the context) join the step's requirements. */
static int step_project(struct pkgimg_ctx *ctx, const struct spec *s, const struct spec_step *e,
			struct strv *pip)
{
	struct pyproject pp;
	struct pyproject_select sel = {
		.extras = (const char *const *)e->extras.v, .nextras = e->extras.n,
		.groups = (const char *const *)e->groups.v, .ngroups = e->groups.n,
	};
	char *real = NULL;
	int r;

	if ((r = spec_path(ctx, s, "pip: project", e->project_raw, &real)) < 0)
		return r;
	if ((r = pyproject_read(ctx, real, &pp)) == 0) {
		struct strv reqs = { 0 };

		r = pyproject_requirements(ctx, &pp, &sel, &reqs);
		if (r == 0 && !reqs.n && !e->items.n && !e->requirements.n)
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [pyproject] the project has no "
				       "dependencies%s: this pip step installs nothing (the project "
				       "itself is not installed); remove the step", pp.path,
				       sel.nextras || sel.ngroups ? " in the extras and groups chosen" : "");
		for (size_t i = 0; r == 0 && i < reqs.n; i++)
			strv_add_unique(pip, reqs.v[i]);
		strv_free(&reqs);
		pyproject_free(&pp);
	}
	free(real);
	return r;
}

/* The merged request of package step k: everything asked by the steps up
 * to it (apt, conda), and a pip step's own requests (requirement files
 * resolved in the context): a pip step is pip run again in the image, the
 * earlier steps' packages installed below it (plan_steps). */
static int step_request(struct pkgimg_ctx *ctx, const struct spec *s, size_t k,
			struct step_req *cur)
{
	int r = 0;

	for (size_t j = 0; j <= k; j++) {
		const struct spec_step *e = &s->steps[j];

		for (size_t i = 0; i < e->items.n; i++) {
			if (e->kind == SPEC_APT)
				strv_add_unique(&cur->apt, e->items.v[i]);
			else if (e->kind == SPEC_PIP && j == k)
				strv_add_unique(&cur->pip, e->items.v[i]);
			else if (e->kind == SPEC_CONDA)
				strv_add_unique(&cur->conda, e->items.v[i]);
		}
		if (e->kind == SPEC_PIP && e->project && r == 0) {
			r = step_project(ctx, s, e, &cur->pip);
			if (r < 0)
				pkgimg_err_wrap(ctx, r, "%s:%d:%d: step %zu", s->path, e->line, e->col,
						j + 1);
		}
		if (e->kind == SPEC_PIP) {
			for (size_t i = 0; r == 0 && j == k && i < e->requirements.n; i++) {
				const char *raw = e->requirements_raw.v[i];
				char *real = NULL;

				/* a URL is kept; a file must be in the context */
				if (strstr(raw, "://")) {
					strv_add_unique(&cur->reqfiles, e->requirements.v[i]);
					continue;
				}
				r = spec_path(ctx, s, "pip: requirements", raw, &real);
				if (r == 0 && pylock_is_pylock_name(raw)) {
					/* a PEP 751 lock: installed as it is */
					free(cur->pylock);
					cur->pylock = real;
					real = NULL;
				} else if (r == 0) {
					strv_add_unique(&cur->reqfiles, real);
				}
				else
					pkgimg_err_wrap(ctx, r, "%s:%d:%d: step %zu", s->path,
							e->line, e->col, j + 1);
				free(real);
			}
			for (size_t i = 0; i < e->extra_index_urls.n; i++)
				strv_add_unique(&cur->extra, e->extra_index_urls.v[i]);
			for (size_t i = 0; i < e->find_links.n; i++)
				strv_add_unique(&cur->find, e->find_links.v[i]);
		}
		if (e->kind == SPEC_CONDA)
			for (size_t i = 0; i < e->channels.n; i++)
				strv_add_unique(&cur->channels, e->channels.v[i]);
	}
	return r;
}

int image_spec_lock(struct pkgimg_ctx *ctx, struct store *store, const struct spec *s,
		    const struct apt_sources *srcs, const char *keyring, const char *gpu_all,
		    struct lockfile *out)
{
	struct plan_step *ps = xcalloc(s->nsteps + 1, sizeof *ps);
	struct step_req *q = xcalloc(s->nsteps + 1, sizeof *q);
	/* sources (./mypkg, name @ URL, an index's sdist) are built in the
	 * image of the steps below, installed as `pkgimg build` installs it */
	struct install_opts bio = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct image_pybuilder pb;
	char **texts = xcalloc(s->nsteps + 1, sizeof *texts);
	const char *index_url = NULL, *prefix = NULL;
	int n = 0, r = 0, pre = 0, unsafe = 0, gpu = 0;
	char cuda[16] = "";

	for (size_t k = 0; r == 0 && k < s->nsteps; k++) {
		const struct spec_step *st = &s->steps[k];
		struct step_req *cur = &q[n];
		struct plan_opts *po = &ps[n].opts;

		if (st->kind != SPEC_APT && st->kind != SPEC_PIP && st->kind != SPEC_CONDA)
			continue;
		if (st->kind == SPEC_PIP) {
			index_url = index_url ? index_url : st->index_url;
			pre |= st->pre;
			unsafe |= st->index_strategy && !strcmp(st->index_strategy, "unsafe-best-match");
		}
		if (st->kind == SPEC_CONDA && st->conda_prefix) {
			if (prefix && strcmp(prefix, st->conda_prefix)) {
				r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s:%d:%d: [spec] conda prefix %s "
					       "differs from an earlier step's %s; one image has one "
					       "conda prefix", s->path, st->line, st->col,
					       st->conda_prefix, prefix);
				break;
			}
			prefix = st->conda_prefix;
		}
		if ((st->gpu || gpu_all) && !gpu && (st->kind == SPEC_PIP || st->kind == SPEC_CONDA)) {
			struct gpu_info g;

			r = gpu_detect(ctx, "gpu:", &g);
			if (r < 0) {
				pkgimg_err_wrap(ctx, r, "%s:%d:%d: [spec] gpu: %s", s->path,
						st->line, st->col, st->gpu ? st->gpu : gpu_all);
				break;
			}
			snprintf(cuda, sizeof cuda, "%s", g.cuda);
			gpu_info_free(&g);
			gpu = 1;
		}
		/* everything asked up to this step */
		r = step_request(ctx, s, k, cur);
		if (r < 0)
			break;
		po->base = s->base;
		po->sources = srcs;
		po->keyring = keyring;
		po->apt = (const char *const *)cur->apt.v;
		po->napt = (int)cur->apt.n;
		po->python = s->python;
		if (cur->pip.n || cur->reqfiles.n || cur->pylock) {
			cur->pypi.pylock = cur->pylock;
			cur->pypi.reqs = (const char *const *)cur->pip.v;
			cur->pypi.nreqs = cur->pip.n;
			cur->pypi.reqfiles = (const char *const *)cur->reqfiles.v;
			cur->pypi.nreqfiles = cur->reqfiles.n;
			cur->pypi.reqfile_root = s->context;
			cur->pypi.index_url = index_url;
			cur->pypi.extra_index_urls = (const char *const *)cur->extra.v;
			cur->pypi.nextra = cur->extra.n;
			cur->pypi.find_links = (const char *const *)cur->find.v;
			cur->pypi.nfind = cur->find.n;
			cur->pypi.pre = pre;
			cur->pypi.unsafe_best_match = unsafe;
			cur->pypi.cuda = cuda[0] ? cuda : NULL;
			image_pybuilder_init(&pb, store, &bio);
			cur->pypi.builder = &pb.api;
			po->pip = &cur->pypi;
		}
		if (cur->conda.n) {
			cur->creq.specs = (const char *const *)cur->conda.v;
			cur->creq.nspecs = cur->conda.n;
			cur->creq.channels = (const char *const *)cur->channels.v;
			cur->creq.nchannels = cur->channels.n;
			cur->creq.prefix = prefix;
			cur->creq.cuda = cuda[0] ? cuda : NULL;
			po->conda = &cur->creq;
		}
		texts[n] = spec_step_text(s, st);
		ps[n].text = texts[n];
		ps[n].eco = st->kind == SPEC_APT ? 'a' : st->kind == SPEC_PIP ? 'p' : 'c';
		n++;
	}
	if (r == 0 && n == 0 && (!s->base || !strcmp(s->base, "debian-slim"))) {
		/* no package step: the base alone */
		ps[0].opts.base = "debian-slim";
		ps[0].opts.sources = srcs;
		ps[0].opts.keyring = keyring;
		ps[0].text = "base: debian-slim";
		ps[0].eco = 'b';
		n = 1;
	}
	if (r == 0 && n)
		r = plan_steps(ctx, store, ps, n, out);
	else if (r == 0) {
		memset(out, 0, sizeof *out);
		out->version = LOCKFILE_VERSION;
		out->platform = xasprintf("linux/%s", ctx->arch);
		if (s->base && strcmp(s->base, "scratch")) {
			char key[STORE_KEY_MAX];

			r = store_resolve(ctx, store, s->base, key);
			if (r < 0)
				pkgimg_err_wrap(ctx, r, "%s: [spec] base %s", s->path, s->base);
			out->base = xstrdup(key);
		} else {
			out->base = xstrdup("scratch");
		}
	}
	for (size_t k = 0; k < s->nsteps; k++) {
		step_req_free(&q[k]);
		free(texts[k]);
	}
	free(texts);
	free(q);
	free(ps);
	return r;
}

/* ---- the steps that are not packages ---- */

/* A layer with an empty tree (but for a workdir) and config in layer.yaml,
 * built under the key's lock; *built: it was (not found in the store). */
static int config_layer(struct pkgimg_ctx *ctx, struct store *store, const struct spec_step *st,
			const char *text, const char *parent, const char *key, bool force,
			bool *built)
{
	struct layer_txn txn;
	struct layer_meta meta = { 0 };
	struct strv list = { 0 };
	char **empty = NULL;
	int r;

	*built = false;
	r = layer_txn_begin(ctx, store, key, "build", force, &txn);
	if (r != 0)
		return r > 0 ? 0 : r;
	empty = xcalloc(1, sizeof(char *));
	snprintf(meta.parent, sizeof meta.parent, "%s", parent);
	meta.step = (char *)text;
	meta.lock = (char *)"";
	switch (st->kind) {
	case SPEC_ENV:
		for (size_t i = 0; i < st->env.n; i++)
			strv_add(&list, st->env.v[i]);
		meta.env = list.v ? list.v : empty;
		break;
	case SPEC_WORKDIR: {
		/* Docker's WORKDIR: the directory exists afterwards */
		char *d = xasprintf("%s%s", txn.tree, st->path);

		meta.workdir = st->path;
		r = fs_mkdirs(ctx, AT_FDCWD, d, 0755);
		free(d);
		break;
	}
	case SPEC_ENTRYPOINT:
	case SPEC_CMD:
		for (size_t i = 0; i < st->items.n; i++)
			strv_add(&list, st->items.v[i]);
		if (st->kind == SPEC_ENTRYPOINT)
			meta.entrypoint = list.v ? list.v : empty;
		else
			meta.cmd = list.v ? list.v : empty;
		break;
	default:
		break;
	}
	if (r == 0)
		r = layer_txn_commit(ctx, &txn, LAYER_TIMES_ZERO, &meta);
	*built = r == 0;
	layer_txn_abort(&txn);
	strv_free(&list);
	free(empty);
	return r;
}

/* Where a python_source module goes (the site dir of the image's python)
 * and the python that compiles it, as a pip layer's scheme has them; NULL
 * when the image's python is not known. */
static char *site_path(const struct spec *s, const struct lockfile *lf, bool python)
{
	const char *full = lf->python ? lf->python : s->python;
	char *xy, *out;

	if (!full)
		return NULL;
	xy = image_python_xy(full);
	if (lf->python_prefix)
		out = python ? xasprintf("%s/bin/python%s", lf->python_prefix, xy)
			: xasprintf("%s/lib/python%s/site-packages", lf->python_prefix, xy);
	else
		out = python ? xasprintf("/usr/bin/python%s", xy)
			: xasprintf("/usr/local/lib/python%s/dist-packages", xy);
	free(xy);
	return out;
}

/* The host path and image path of what an add or python_source step copies:
 * the source is resolved inside the build context (spec_path), so the
 * copy and its key's hash read the same real file. */
static int copy_source(const struct build *b, const struct spec_step *st, size_t i, char **src,
		       char **dst)
{
	const struct spec *s = b->spec;
	const struct lockfile *lf = b->lf;
	struct pkgimg_ctx *ctx = b->ctx;
	char *site, *name, *real = NULL;
	struct stat sb;
	int r;

	if (st->kind == SPEC_ADD) {
		r = spec_path(ctx, s, "add: src", st->src_raw, src);
		if (r == 0)
			*dst = xstrdup(st->dst);
		return r;
	}
	site = site_path(s, lf, false);
	if (!site)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s:%d:%d: [spec] python_source "
				  "needs to know the image's python: set `python: X.Y` or "
				  "install pip packages first", s->path, st->line, st->col);
	/* a package (a directory) first, else a module file */
	name = xstrdup(st->items.v[i]);
	r = spec_path(ctx, s, "python_source:", name, &real);
	if (r == 0 && stat(real, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		*src = real;
		*dst = xasprintf("%s/%s", site, name);
	} else if (r == 0 || r == -ENOENT) {
		char *mod = xasprintf("%s.py", name);

		free(real);
		real = NULL;
		r = spec_path(ctx, s, "python_source:", mod, &real);
		if (r == 0) {
			*src = real;
			*dst = xasprintf("%s/%s", site, mod);
		}
		free(mod);
	}
	free(name);
	free(site);
	return r;
}

/* The key text of an add or python_source step: each copy's destination
 * and content hash. */
static int copy_section(const struct build *b, const struct spec_step *st, struct sbuf *out)
{
	struct pkgimg_ctx *ctx = b->ctx;
	size_t n = st->kind == SPEC_ADD ? 1 : st->items.n;
	int r = 0;

	if (st->kind == SPEC_PYTHON_SOURCE) {	/* the modules are compiled */
		char *suffix = pyc_step_suffix(&b->io->pyc);

		sbuf_addf(out, "pyc: '%s'\n", *suffix ? suffix + 1 : "[pyc checked-hash opt 0]");
		free(suffix);
	}

	for (size_t i = 0; r == 0 && i < n; i++) {
		char *src = NULL, *dst = NULL, hex[65];

		r = copy_source(b, st, i, &src, &dst);
		if (r < 0)
			break;
		r = hash_tree_sha256(ctx, src, hex);
		if (r == 0)
			sbuf_addf(out, "- dst: %s\n  sha256: %s\n", dst, hex);
		free(src);
		free(dst);
	}
	return r;
}

/* The directories above dst (resolved in the image) made in the layer:
 * those the image has keep their mode and owner (the layer's copy hides
 * the image's); the others are root's, 0755. */
static int copy_parents(struct pkgimg_ctx *ctx, char **trees, int ntrees, const char *tree, const char *dst)
{
	struct sbuf prefix = SBUF_INIT;
	const char *p = dst;
	int r = 0;

	while (r == 0 && (p = strchr(p + 1, '/')) != NULL) {
		struct stat sb;
		char *resolved = NULL, *target;

		sbuf_reset(&prefix);
		sbuf_add(&prefix, dst, (size_t)(p - dst));
		r = view_resolve(ctx, dst, "add", trees, ntrees, prefix.buf, &resolved, &sb);
		if (r < 0)
			break;
		free(resolved);
		if (!S_ISDIR(sb.st_mode)) {
			sb.st_mode = S_IFDIR | 0755;
			sb.st_uid = sb.st_gid = 0;
		}
		target = xasprintf("%s%s", tree, prefix.buf);
		if (mkdir(target, sb.st_mode & 07777) < 0 && errno != EEXIST)
			r = pkgimg_err(ctx, -errno, "%s: [add] cannot create: %m", target);
		else if (chmod(target, sb.st_mode & 07777) < 0 ||
			 (lchown(target, sb.st_uid, sb.st_gid) < 0 && errno != EPERM))
			r = pkgimg_err(ctx, -errno, "%s: [add] %m", target);
		free(target);
	}
	sbuf_free(&prefix);
	return r;
}

/* Copies src to dst of the layer tree; dst is resolved in the image below
 * (trees, top first) as a process inside it would, so "/bin/x" on a
 * usrmerged image lands in /usr/bin and the image's /bin link stays. */
static int copy_one(struct pkgimg_ctx *ctx, char **trees, int ntrees, const char *src,
		    const char *tree, const char *dst_raw)
{
	struct stat sb;
	char *dst = NULL, *target = NULL;
	int r, sfd = -1, dfd = -1;

	r = view_resolve(ctx, dst_raw, "add", trees, ntrees, dst_raw, &dst, NULL);
	if (r < 0)
		return r;
	r = copy_parents(ctx, trees, ntrees, tree, dst);
	if (r < 0)
		goto out;
	target = xasprintf("%s%s", tree, dst);
	if (lstat(src, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		/* links inside are copied as links, as Docker's COPY does */
		r = fs_mkdirs(ctx, AT_FDCWD, target, 0755);
		sfd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		dfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && (sfd < 0 || dfd < 0))
			r = pkgimg_err(ctx, -errno, "%s: [build] %m", sfd < 0 ? src : target);
		if (r == 0)
			r = tree_apply(ctx, sfd, dfd, TREE_COPY, 1, src, "add", target);
		if (r == 0)	/* files of the image are root's, as Docker's COPY makes them */
			r = fs_tree_chown_root(ctx, dfd, target);
	} else {
		/* streamed: an added file may be a model's weights */
		int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), out = -1, e;

		if (in < 0)
			r = pkgimg_err(ctx, -errno, "%s: [add] cannot read: %m", src);
		else if ((out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				     (sb.st_mode & 0111) ? 0755 : 0644)) < 0)
			r = pkgimg_err(ctx, -errno, "%s: [add] cannot create: %m", target);
		else if ((e = fs_copy_data(in, out)) < 0)
			r = pkgimg_err(ctx, e, "%s: [add] cannot copy to %s: %s", src, dst,
				       strerror(-e));
		else if (fchmod(out, (sb.st_mode & 0111) ? 0755 : 0644) < 0)
			r = pkgimg_err(ctx, -errno, "%s: [add] chmod: %m", target);
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) < 0 && r == 0)
			r = pkgimg_err(ctx, -errno, "%s: [add] %m", target);
	}
	if (r == 0) {	/* files of the image are root's */
		if (lchown(target, 0, 0) < 0 && errno != EPERM)
			r = pkgimg_err(ctx, -errno, "%s: [build] %m", target);
	}
out:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	free(target);
	free(dst);
	return r;
}

/* An add or python_source layer, built under the key's lock; when the key
 * is in the store (and not forced), its pyc warnings are replayed instead.
 * *built: it was built. */
static int copy_layer(const struct build *b, const struct spec_step *st, const char *text,
		      const char *section, const char *parent, const char *key, bool force,
		      bool *built)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct store *store = b->store;
	struct install_result *res = b->res;
	struct layer_meta meta = { 0 };
	struct layer_txn txn;
	char **chain = NULL, **trees = NULL;
	size_t n = st->kind == SPEC_ADD ? 1 : st->items.n, failed0 = res->npyc_failed;
	int r, nchain = 0;

	*built = false;
	r = layer_txn_begin(ctx, store, key, "build", force, &txn);
	if (r != 0)
		return r > 0 ? image_layer_replay(ctx, store, key, res) : r;
	if (parent[0])
		r = store_layer_chain(ctx, store, parent, &chain, &nchain);
	if (r == 0)
		trees = store_chain_trees(store, NULL, chain, nchain);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *src = NULL, *dst = NULL;

		r = copy_source(b, st, i, &src, &dst);
		if (r == 0)
			r = copy_one(ctx, trees, nchain, src, txn.tree, dst);
		free(src);
		free(dst);
	}
	if (r == 0 && st->kind == SPEC_PYTHON_SOURCE) {
		char *python = site_path(b->spec, b->lf, true);

		struct layer_build lb = {
			.ctx = ctx, .st = store, .o = b->io, .chain = chain, .nchain = nchain,
			.txn = &txn, .step = text, .res = res,
		};

		r = image_tree_pyc(&lb, python, text);
		free(python);
	}
	if (r == 0) {
		snprintf(meta.parent, sizeof meta.parent, "%s", parent);
		meta.step = (char *)text;
		meta.lock = (char *)section;
		meta.pyc_failed = image_pyc_failed_meta(res, failed0);
		r = layer_txn_commit(ctx, &txn, LAYER_TIMES_ZERO, &meta);
		strv_free_null(meta.pyc_failed);
		*built = r == 0;
	}
	layer_txn_abort(&txn);
	strv_free_null(trees);
	strv_free_null(chain);
	return r;
}

/* A run step: `sh -c` over its commands (stopping at the first that fails),
 * with the image's env and workdir, the GPU when the step asks. */
static int run_layer(struct pkgimg_ctx *ctx, struct store *store, const struct spec_step *st,
		     const char *gpu, const char *text, const char *parent, bool force,
		     char key[STORE_KEY_MAX], bool *built)
{
	struct image_config cfg = { 0 };
	struct strv env = { 0 };
	struct sbuf body = SBUF_INIT, section = SBUF_INIT;
	struct gpu_attach ga = { 0 };
	char *argv[4] = { "/bin/sh", "-c", NULL, NULL };
	int r, status = 0, have_gpu = 0;

	*built = false;
	r = store_image_config(ctx, store, parent, &cfg);
	if (r < 0)
		return r;
	sandbox_default_env(&env, SANDBOX_ENV_BASE, cfg.env);
	for (char **e = cfg.env; e && *e; e++)
		strv_add(&env, *e);
	sbuf_adds(&body, "set -e\n");
	for (size_t i = 0; i < st->items.n; i++)
		sbuf_addf(&body, "%s\n", st->items.v[i]);
	argv[2] = body.buf;
	{
		struct run_spec rs = {
			.parent = parent, .step = text, .argv = argv, .env = env.v,
			.cwd = cfg.workdir, .network = 1, .gpu = gpu, .output_fd = -1,
		};

		r = run_commit_key(ctx, &rs, key, &section);
		if (r < 0 || (store_has_layer(store, key) && !force))
			goto out;
		if (gpu) {
			char *tmpdir = xasprintf("%s/tmp", store->root);

			r = gpu_attach_prepare(ctx, tmpdir, &ga);
			free(tmpdir);
			if (r < 0)
				goto out;
			have_gpu = 1;
			rs.extra_binds = ga.binds;
			rs.nextra_binds = ga.nbinds;
			rs.extra_env = ga.env;
		}
		/* its output is the build's log, not our stdout */
		rs.output_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
		r = run_commit(ctx, store, &rs, key, section.buf, force, &status, built);
		if (rs.output_fd >= 0)
			close(rs.output_fd);
		if (r == 0 && status != 0)
			r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [build] the commands exited "
				       "with status %d; nothing committed (their output is above)",
				       text, status);
	}
out:
	if (have_gpu)
		gpu_attach_free(&ga);
	image_config_free(&cfg);
	strv_free(&env);
	sbuf_free(&body);
	sbuf_free(&section);
	return r;
}

/* ---- build ---- */

/* The lock layers up to the step `until` (NULL: the base's); b->depth
 * grows with each. */
static int build_lock_layers(struct build *b, int *li, const char *until,
			     char parent[STORE_KEY_MAX], bool force, bool *built)
{
	struct lockfile *lf = b->lf;
	struct install_result *res = b->res;
	int r = 0;

	*built = false;
	while (r == 0 && *li < lf->nlayers) {
		char key[STORE_KEY_MAX];
		int before = res->layers_built;
		bool last = until && !strcmp(lf->layers[*li].step, until);

		if (!until && lf->layers[*li].kind != LOCK_BASE)
			break;
		if (until && !last) {
			/* a layer the step needs from another ecosystem: only
			 * if a later layer is the step's own */
			bool found = false;

			for (int j = *li + 1; j < lf->nlayers && !found; j++)
				found = !strcmp(lf->layers[j].step, until);
			if (!found)
				break;
		}
		r = store_check_layers(b->ctx, b->depth + 1, lf->layers[*li].step);
		if (r == 0) {
			struct layer_build lb = {
				.ctx = b->ctx, .st = b->store, .o = b->io, .lf = lf,
				.parent = parent, .res = res,
			};

			r = image_lock_layer(&lb, *li, force, key);
		}
		if (r < 0)
			break;
		b->depth++;
		*built = *built || res->layers_built > before;
		memcpy(parent, key, STORE_KEY_MAX);
		(*li)++;
		if (last)
			return 0;
	}
	if (r == 0 && until)
		r = pkgimg_err(b->ctx, -PKGIMG_E_USAGE, "%s: [build] the lockfile has no layer for "
			       "this step; lock the spec again (pkgimg lock -f)", until);
	return r;
}


/* ---- the spec, step by step ---- */

int image_build_spec(struct pkgimg_ctx *ctx, struct store *store, const struct image_build_opts *o,
		     char snapshot[STORE_KEY_MAX], struct install_result *res)
{
	const struct spec *s = o->spec;
	struct build b = {
		.ctx = ctx, .store = store, .spec = s, .lf = o->lf, .io = o->io, .res = res,
	};
	char parent[STORE_KEY_MAX] = "";
	bool forced = ctx->flags & PKGIMG_F_FORCE_BUILD, built;
	int r, li = 0;

	r = image_lock_base(ctx, store, o->lf, parent);
	if (r == 0 && parent[0]) {	/* an image of the store: its layers count */
		char **chain = NULL;

		r = store_layer_chain(ctx, store, parent, &chain, &b.depth);
		strv_free_null(chain);
	}
	if (r == 0)	/* the base layers */
		r = build_lock_layers(&b, &li, NULL, parent, forced, &built);
	for (size_t k = 0; r == 0 && k < s->nsteps; k++) {
		const struct spec_step *st = &s->steps[k];
		char *text = spec_step_text(s, st), key[STORE_KEY_MAX];
		struct sbuf section = SBUF_INIT;
		int64_t t0 = pkgimg_now_ms();
		bool lock_step;

		built = false;
		forced = forced || st->force_build;
		/* refused before it is built: an image past overlayfs' stack
		 * limit would build but never run (a package step checks each
		 * of its layers in build_lock_layers) */
		lock_step = st->kind == SPEC_APT || st->kind == SPEC_PIP || st->kind == SPEC_CONDA;
		if (!lock_step)
			r = store_check_layers(ctx, b.depth + 1, text);
		switch (r < 0 ? -1 : (int)st->kind) {
		case -1:	/* refused */
			break;
		case SPEC_APT:
		case SPEC_PIP:
		case SPEC_CONDA:
			r = build_lock_layers(&b, &li, text, parent, forced, &built);
			memcpy(key, parent, sizeof key);
			break;
		case SPEC_RUN:
			r = run_layer(ctx, store, st, st->gpu ? st->gpu : o->gpu_all, text, parent,
				      forced, key, &built);
			break;
		case SPEC_ADD:
		case SPEC_PYTHON_SOURCE:
			r = copy_section(&b, st, &section);
			if (r == 0)
				lockfile_layer_key(parent, text, section.buf, key);
			if (r == 0)
				r = copy_layer(&b, st, text, section.buf, parent, key, forced,
					       &built);
			break;
		default:
			lockfile_layer_key(parent, text, "", key);
			r = config_layer(ctx, store, st, text, parent, key, forced, &built);
			break;
		}
		if (r == 0) {
			if (!lock_step)
				b.depth++;
			memcpy(parent, key, sizeof parent);
			if (o->on_step)
				o->on_step(o->arg, k, s->nsteps, text, key, built,
					   pkgimg_now_ms() - t0);
		} else {
			pkgimg_err_wrap(ctx, r, "%s:%d:%d: step %zu", s->path, st->line, st->col,
					k + 1);
		}
		sbuf_free(&section);
		free(text);
	}
	if (r == 0 && li < o->lf->nlayers)
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [build] the lockfile has layers the "
			       "spec has no step for ('%s'); lock the spec again (pkgimg lock -f)",
			       o->lock_name, o->lf->layers[li].step);
	if (r == 0 && !parent[0])
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [build] nothing to build: base "
			       "scratch and no step", s->path);
	if (r == 0)
		memcpy(snapshot, parent, STORE_KEY_MAX);
	return r;
}
