/* pkgimg build [-f pkgimg.yaml] [--lock FILE] [--tag NAME] [--force-build]:
 * one layer per step of the spec, each keyed from its parent, so an
 * unchanged prefix of the spec is reused and a changed step rebuilds itself
 * and every step after it.  Also cli_spec_lock, `pkgimg lock -f`. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/view.h"
#include "cli/cli.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "core/tree.h"
#include "installers/image.h"
#include "runtime/commit.h"
#include "runtime/gpu.h"
#include "solver/apt.h"
#include "solver/plan.h"

/* ---- locking a spec ---- */

struct step_req {		/* the merged request up to one package step */
	struct strv apt, pip, reqfiles, extra, find, conda, channels;
	struct pypi_request pypi;
	struct conda_request creq;
	char cuda[16];
};

static void strv_add_new(struct strv *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return;
	strv_add(v, s);
}

static void step_req_free(struct step_req *q)
{
	strv_free(&q->apt);
	strv_free(&q->pip);
	strv_free(&q->reqfiles);
	strv_free(&q->extra);
	strv_free(&q->find);
	strv_free(&q->conda);
	strv_free(&q->channels);
}

int cli_spec_lock(struct cli *c, const struct spec *s, const struct apt_sources *srcs,
		  const char *keyring, const char *gpu_all, struct lockfile *out)
{
	struct plan_step *ps = xcalloc(s->nsteps + 1, sizeof *ps);
	struct step_req *q = xcalloc(s->nsteps + 1, sizeof *q);
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
				r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s:%d:%d: [spec] conda prefix %s "
					       "differs from an earlier step's %s; one image has one "
					       "conda prefix", s->path, st->line, st->col,
					       st->conda_prefix, prefix);
				break;
			}
			prefix = st->conda_prefix;
		}
		if ((st->gpu || gpu_all) && !gpu && (st->kind == SPEC_PIP || st->kind == SPEC_CONDA)) {
			struct gpu_info g;

			r = gpu_detect(&c->ctx, "gpu:", &g);
			if (r < 0) {
				pkgimg_err_wrap(&c->ctx, r, "%s:%d:%d: [spec] gpu: %s", s->path,
						st->line, st->col, st->gpu ? st->gpu : gpu_all);
				break;
			}
			snprintf(cuda, sizeof cuda, "%s", g.cuda);
			gpu_info_free(&g);
			gpu = 1;
		}
		/* everything asked up to this step */
		for (size_t j = 0; j <= k; j++) {
			const struct spec_step *e = &s->steps[j];

			for (size_t i = 0; i < e->items.n; i++) {
				if (e->kind == SPEC_APT)
					strv_add_new(&cur->apt, e->items.v[i]);
				else if (e->kind == SPEC_PIP)
					strv_add_new(&cur->pip, e->items.v[i]);
				else if (e->kind == SPEC_CONDA)
					strv_add_new(&cur->conda, e->items.v[i]);
			}
			if (e->kind == SPEC_PIP) {
				for (size_t i = 0; i < e->requirements.n; i++)
					strv_add_new(&cur->reqfiles, e->requirements.v[i]);
				for (size_t i = 0; i < e->extra_index_urls.n; i++)
					strv_add_new(&cur->extra, e->extra_index_urls.v[i]);
				for (size_t i = 0; i < e->find_links.n; i++)
					strv_add_new(&cur->find, e->find_links.v[i]);
			}
			if (e->kind == SPEC_CONDA)
				for (size_t i = 0; i < e->channels.n; i++)
					strv_add_new(&cur->channels, e->channels.v[i]);
		}
		po->base = s->base;
		po->sources = srcs;
		po->keyring = keyring;
		po->apt = (const char *const *)cur->apt.v;
		po->napt = (int)cur->apt.n;
		po->python = s->python;
		if (cur->pip.n || cur->reqfiles.n) {
			cur->pypi.reqs = (const char *const *)cur->pip.v;
			cur->pypi.nreqs = cur->pip.n;
			cur->pypi.reqfiles = (const char *const *)cur->reqfiles.v;
			cur->pypi.nreqfiles = cur->reqfiles.n;
			cur->pypi.index_url = index_url;
			cur->pypi.extra_index_urls = (const char *const *)cur->extra.v;
			cur->pypi.nextra = cur->extra.n;
			cur->pypi.find_links = (const char *const *)cur->find.v;
			cur->pypi.nfind = cur->find.n;
			cur->pypi.pre = pre;
			cur->pypi.unsafe_best_match = unsafe;
			cur->pypi.cuda = cuda[0] ? cuda : NULL;
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
		r = plan_steps(&c->ctx, &c->st, ps, n, out);
	else if (r == 0) {
		memset(out, 0, sizeof *out);
		out->version = LOCKFILE_VERSION;
		out->platform = xasprintf("linux/%s", c->ctx.arch);
		if (s->base && strcmp(s->base, "scratch")) {
			char key[STORE_KEY_MAX];

			r = store_resolve(&c->ctx, &c->st, s->base, key);
			if (r < 0)
				pkgimg_err_wrap(&c->ctx, r, "%s: [spec] base %s", s->path, s->base);
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

/* A layer with an empty tree (but for a workdir) and config in layer.yaml. */
static int config_layer(struct cli *c, const struct spec_step *st, const char *text,
			const char *parent, const char *key)
{
	struct layer_meta meta = { 0 };
	struct strv list = { 0 };
	char *tmp = NULL, *tree = NULL, **empty = xcalloc(1, sizeof(char *));
	int r;

	r = store_mktemp_dir(&c->ctx, &c->st, "layer", &tmp);
	if (r < 0) {
		free(empty);
		return r;
	}
	tree = xasprintf("%s/tree", tmp);
	if (mkdir(tree, 0755) < 0) {
		r = pkgimg_err(&c->ctx, -errno, "%s: [build] %m", tree);
		goto out;
	}
	snprintf(meta.key, sizeof meta.key, "%s", key);
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
		char *d = xasprintf("%s%s", tree, st->path);

		meta.workdir = st->path;
		r = fs_mkdirs(&c->ctx, AT_FDCWD, d, 0755);
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
	if (r == 0) {
		int fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		r = fd < 0 ? pkgimg_err(&c->ctx, -errno, "%s: [build] %m", tree)
			: fs_tree_times_zero(&c->ctx, fd, tree);
		if (fd >= 0)
			close(fd);
	}
	if (r == 0)
		r = store_layer_commit(&c->ctx, &c->st, tmp, &meta);
	if (r == 0) {
		free(tmp);
		tmp = NULL;
	}
out:
	strv_free(&list);
	free(empty);
	if (tmp) {
		fs_rm_rf(NULL, AT_FDCWD, tmp);
		free(tmp);
	}
	free(tree);
	return r;
}

/* Where a python_source module goes: the site dir of the image's python. */
static char *site_dir(const struct spec *s, const struct lockfile *lf)
{
	const char *full = lf->python ? lf->python : s->python;
	size_t n;

	if (!full)
		return NULL;
	n = strcspn(full, ".");
	if (full[n] == '.')
		n += 1 + strcspn(full + n + 1, ".");
	if (lf->python_prefix)
		return xasprintf("%s/lib/python%.*s/site-packages", lf->python_prefix, (int)n, full);
	return xasprintf("/usr/local/lib/python%.*s/dist-packages", (int)n, full);
}

/* The image's python that compiles a python_source step's modules. */
static char *site_python(const struct spec *s, const struct lockfile *lf)
{
	const char *full = lf->python ? lf->python : s->python;
	size_t n;

	if (!full)
		return NULL;
	n = strcspn(full, ".");
	if (full[n] == '.')
		n += 1 + strcspn(full + n + 1, ".");
	if (lf->python_prefix)
		return xasprintf("%s/bin/python%.*s", lf->python_prefix, (int)n, full);
	return xasprintf("/usr/bin/python%.*s", (int)n, full);
}

/* The host path and image path of what an add or python_source step copies. */
static int copy_source(struct cli *c, const struct spec *s, const struct lockfile *lf,
		       const struct spec_step *st, size_t i, char **src, char **dst)
{
	struct stat sb;

	if (st->kind == SPEC_ADD) {
		*src = xstrdup(st->src);
		*dst = xstrdup(st->dst);
	} else {
		char *site = site_dir(s, lf), *pkg = xasprintf("%s/%s", s->dir, st->items.v[i]);
		char *mod = xasprintf("%s/%s.py", s->dir, st->items.v[i]);

		if (!site) {
			free(pkg);
			free(mod);
			return pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s:%d:%d: [spec] python_source "
					  "needs to know the image's python: set `python: X.Y` or "
					  "install pip packages first", s->path, st->line, st->col);
		}
		if (stat(pkg, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			*src = pkg;
			*dst = xasprintf("%s/%s", site, st->items.v[i]);
			free(mod);
		} else {
			*src = mod;
			*dst = xasprintf("%s/%s.py", site, st->items.v[i]);
			free(pkg);
		}
		free(site);
	}
	if (stat(*src, &sb) < 0) {
		int e = errno;

		free(*src);
		free(*dst);
		errno = e;
		return pkgimg_err(&c->ctx, -errno, "%s:%d:%d: [spec] %s: %m (paths are relative to "
				  "the spec's directory)", s->path, st->line, st->col,
				  st->kind == SPEC_ADD ? st->src : st->items.v[i]);
	}
	return 0;
}

/* The key text of an add or python_source step: each copy's destination
 * and content hash. */
static int copy_section(struct cli *c, const struct spec *s, const struct lockfile *lf,
			const struct spec_step *st, const struct install_opts *io, struct sbuf *out)
{
	size_t n = st->kind == SPEC_ADD ? 1 : st->items.n;
	int r = 0;

	if (st->kind == SPEC_PYTHON_SOURCE) {	/* the modules are compiled */
		char *suffix = pyc_step_suffix(&io->pyc);

		sbuf_addf(out, "pyc: '%s'\n", *suffix ? suffix + 1 : "[pyc checked-hash opt 0]");
		free(suffix);
	}

	for (size_t i = 0; r == 0 && i < n; i++) {
		char *src, *dst, hex[65];

		r = copy_source(c, s, lf, st, i, &src, &dst);
		if (r < 0)
			break;
		r = hash_tree_sha256(&c->ctx, src, hex);
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
static int copy_parents(struct cli *c, char **trees, int ntrees, const char *tree, const char *dst)
{
	struct sbuf prefix = SBUF_INIT;
	const char *p = dst;
	int r = 0;

	while (r == 0 && (p = strchr(p + 1, '/')) != NULL) {
		struct stat sb;
		char *resolved = NULL, *target;

		sbuf_reset(&prefix);
		sbuf_add(&prefix, dst, (size_t)(p - dst));
		r = view_resolve(&c->ctx, dst, "add", trees, ntrees, prefix.buf, &resolved, &sb);
		if (r < 0)
			break;
		free(resolved);
		if (!S_ISDIR(sb.st_mode)) {
			sb.st_mode = S_IFDIR | 0755;
			sb.st_uid = sb.st_gid = 0;
		}
		target = xasprintf("%s%s", tree, prefix.buf);
		if (mkdir(target, sb.st_mode & 07777) < 0 && errno != EEXIST)
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] cannot create: %m", target);
		else if (chmod(target, sb.st_mode & 07777) < 0 ||
			 (lchown(target, sb.st_uid, sb.st_gid) < 0 && errno != EPERM))
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] %m", target);
		free(target);
	}
	sbuf_free(&prefix);
	return r;
}

/* Copies src to dst of the layer tree; dst is resolved in the image below
 * (trees, top first) as a process inside it would, so "/bin/x" on a
 * usrmerged image lands in /usr/bin and the image's /bin link stays. */
static int copy_one(struct cli *c, char **trees, int ntrees, const char *src, const char *tree,
		    const char *dst_raw)
{
	struct stat sb;
	char *dst = NULL, *target = NULL;
	int r, sfd = -1, dfd = -1;

	r = view_resolve(&c->ctx, dst_raw, "add", trees, ntrees, dst_raw, &dst, NULL);
	if (r < 0)
		return r;
	r = copy_parents(c, trees, ntrees, tree, dst);
	if (r < 0)
		goto out;
	target = xasprintf("%s%s", tree, dst);
	if (lstat(src, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		r = fs_mkdirs(&c->ctx, AT_FDCWD, target, 0755);
		sfd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		dfd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (r == 0 && (sfd < 0 || dfd < 0))
			r = pkgimg_err(&c->ctx, -errno, "%s: [build] %m", sfd < 0 ? src : target);
		if (r == 0)
			r = tree_apply(&c->ctx, sfd, dfd, TREE_COPY, 1, src, "add", target);
		if (r == 0)	/* files of the image are root's, as Docker's COPY makes them */
			r = fs_tree_chown_root(&c->ctx, dfd, target);
	} else {
		/* streamed: an added file may be a model's weights */
		int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, e;

		if (in < 0)
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] cannot read: %m", src);
		else if ((out = open(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				     (sb.st_mode & 0111) ? 0755 : 0644)) < 0)
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] cannot create: %m", target);
		else if ((e = fs_copy_data(in, out)) < 0)
			r = pkgimg_err(&c->ctx, e, "%s: [add] cannot copy to %s: %s", src, dst,
				       strerror(-e));
		else if (fchmod(out, (sb.st_mode & 0111) ? 0755 : 0644) < 0)
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] chmod: %m", target);
		if (in >= 0)
			close(in);
		if (out >= 0 && close(out) < 0 && r == 0)
			r = pkgimg_err(&c->ctx, -errno, "%s: [add] %m", target);
	}
	if (r == 0) {	/* files of the image are root's */
		if (lchown(target, 0, 0) < 0 && errno != EPERM)
			r = pkgimg_err(&c->ctx, -errno, "%s: [build] %m", target);
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

static int copy_layer(struct cli *c, const struct spec *s, const struct lockfile *lf,
		      const struct spec_step *st, const char *text, const char *section,
		      const char *parent, const char *key, const struct install_opts *io,
		      struct install_result *res)
{
	struct layer_meta meta = { 0 };
	char *tmp = NULL, *tree = NULL, **chain = NULL;
	struct strv trees = { 0 };
	size_t n = st->kind == SPEC_ADD ? 1 : st->items.n, failed0 = res->npyc_failed;
	int r, fd, nchain = 0;

	if (parent[0]) {
		r = store_layer_chain(&c->ctx, &c->st, parent, &chain, &nchain);
		if (r < 0)
			return r;
		for (int i = 0; i < nchain; i++)
			strv_push(&trees, store_layer_tree(&c->st, chain[i]));
	}
	r = store_mktemp_dir(&c->ctx, &c->st, "layer", &tmp);
	if (r < 0)
		goto out;
	tree = xasprintf("%s/tree", tmp);
	if (mkdir(tree, 0755) < 0)
		r = pkgimg_err(&c->ctx, -errno, "%s: [build] %m", tree);
	for (size_t i = 0; r == 0 && i < n; i++) {
		char *src, *dst;

		r = copy_source(c, s, lf, st, i, &src, &dst);
		if (r == 0)
			r = copy_one(c, trees.v, (int)trees.n, src, tree, dst);
		free(src);
		free(dst);
	}
	if (r == 0 && st->kind == SPEC_PYTHON_SOURCE) {
		char *python = site_python(s, lf);

		r = image_tree_pyc(&c->ctx, &c->st, io, tmp, tree, chain, nchain, python, text,
				   text, res);
		free(python);
	}
	fd = r == 0 ? open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (r == 0 && fd < 0)
		r = pkgimg_err(&c->ctx, -errno, "%s: [build] %m", tree);
	if (r == 0)
		r = fs_tree_times_zero(&c->ctx, fd, tree);
	if (fd >= 0)
		close(fd);
	if (r == 0) {
		snprintf(meta.key, sizeof meta.key, "%s", key);
		snprintf(meta.parent, sizeof meta.parent, "%s", parent);
		meta.step = (char *)text;
		meta.lock = (char *)section;
		meta.pyc_failed = image_pyc_failed_meta(res, failed0);
		r = store_layer_commit(&c->ctx, &c->st, tmp, &meta);
		strv_free_null(meta.pyc_failed);
		if (r == 0) {
			free(tmp);
			tmp = NULL;
		}
	}
out:
	if (tmp) {
		fs_rm_rf(NULL, AT_FDCWD, tmp);
		free(tmp);
	}
	free(tree);
	strv_free(&trees);
	strv_free_null(chain);
	return r;
}

/* A run step: `sh -c` over its commands (stopping at the first that fails),
 * with the image's env and workdir, the GPU when the step asks. */
static int run_layer(struct cli *c, const struct spec_step *st, const char *gpu, const char *text,
		     const char *parent, bool force, char key[STORE_KEY_MAX], bool *built)
{
	struct image_config cfg = { 0 };
	struct strv env = { 0 };
	struct sbuf body = SBUF_INIT, section = SBUF_INIT;
	struct gpu_attach ga = { 0 };
	char *argv[4] = { "/bin/sh", "-c", NULL, NULL };
	int r, status = 0, have_gpu = 0;
	static const char *const defaults[] = {
		"PATH=" SANDBOX_DEFAULT_PATH,
		"HOME=/root", "LANG=C.UTF-8",
	};

	*built = false;
	r = store_image_config(&c->ctx, &c->st, parent, &cfg);
	if (r < 0)
		return r;
	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		bool set = false;

		for (char **e = cfg.env; e && *e; e++)
			if (!strncmp(*e, defaults[i], strcspn(defaults[i], "=") + 1))
				set = true;
		if (!set)
			strv_add(&env, defaults[i]);
	}
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

		r = run_commit_key(&c->ctx, &rs, key, &section);
		if (r < 0 || (store_has_layer(&c->st, key) && !force))
			goto out;
		if (gpu) {
			char *tmpdir = xasprintf("%s/tmp", c->st.root);

			r = gpu_attach_prepare(&c->ctx, tmpdir, &ga);
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
		r = run_commit(&c->ctx, &c->st, &rs, key, section.buf, force, &status, built);
		if (rs.output_fd >= 0)
			close(rs.output_fd);
		if (r == 0 && status != 0)
			r = pkgimg_err(&c->ctx, -PKGIMG_E_SCRIPT, "%s: [build] the commands exited "
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

/* The lock layers up to the step `until` (NULL: the base's); *depth, the
 * parent's number of layers, grows with each. */
static int build_lock_layers(struct cli *c, struct lockfile *lf, int *li, const char *until,
			     const struct install_opts *io, char parent[STORE_KEY_MAX], bool force,
			     struct install_result *res, bool *built, int *depth)
{
	int r = 0;

	*built = false;
	while (r == 0 && *li < lf->nlayers) {
		char key[STORE_KEY_MAX];
		int before = res->layers_built;
		bool last = until && !strcmp(lf->layers[*li].step, until);

		if (!until && strncmp(lf->layers[*li].step, "base:", 5))
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
		r = store_check_layers(&c->ctx, *depth + 1, lf->layers[*li].step);
		if (r == 0)
			r = image_lock_layer(&c->ctx, &c->st, lf, *li, io, parent, force, key, res);
		if (r < 0)
			break;
		(*depth)++;
		*built = *built || res->layers_built > before;
		memcpy(parent, key, STORE_KEY_MAX);
		(*li)++;
		if (last)
			return 0;
	}
	if (r == 0 && until)
		r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s: [build] the lockfile has no layer for "
			       "this step; lock the spec again (pkgimg lock -f)", until);
	return r;
}

static void build_usage(FILE *f)
{
	fprintf(f,
		"usage: pkgimg build [-f pkgimg.yaml] [--lock FILE] [-o LOCKFILE] [--tag NAME]\n"
		"                    [--force-build] [--gpu[=TYPE]] [--pyc MODE] [--pyc-opt LEVELS]\n"
		"                    [--apt-source \"URI SUITE COMPONENT...\"] [--keyring FILE]\n"
		"One layer per step; unchanged steps are reused, a changed step and every step\n"
		"after it are rebuilt.  PKGIMG_FORCE_BUILD=1 is --force-build.  --gpu (or gpu: on\n"
		"a step) attaches the host's GPU to run steps and picks CUDA builds for pip and\n"
		"conda steps by its driver.\n");
}

int cmd_build(struct cli *c, int argc, char **argv)
{
	enum { O_LOCK = 256, O_TAG, O_FORCE, O_JSON, O_PYC, O_PYC_OPT, O_APT_SOURCE, O_KEYRING,
	       O_OFFLINE, O_GPU };
	static const struct option opts[] = {
		{ "gpu", optional_argument, NULL, O_GPU },
		{ "file", required_argument, NULL, 'f' },
		{ "lock", required_argument, NULL, O_LOCK },
		{ "output", required_argument, NULL, 'o' },
		{ "tag", required_argument, NULL, O_TAG },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "json", no_argument, NULL, O_JSON },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "pyc", required_argument, NULL, O_PYC },
		{ "pyc-opt", required_argument, NULL, O_PYC_OPT },
		{ "apt-source", required_argument, NULL, O_APT_SOURCE },
		{ "keyring", required_argument, NULL, O_KEYRING },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *file = "pkgimg.yaml", *lockpath = NULL, *tag = NULL, *keyring = NULL;
	const char *output = NULL, *gpu_all = NULL;
	struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct apt_sources srcs = { 0 };
	struct strv apt_sources = { 0 };
	struct spec s = { 0 };
	struct lockfile lf = { 0 };
	json_t *jsteps = json_array();
	char parent[STORE_KEY_MAX] = "";
	bool forced;
	int opt, r = 0, rc = 0, li = 0, depth = 0;

	while ((opt = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'o': output = optarg; break;
		case O_LOCK: lockpath = optarg; break;
		case O_TAG: tag = optarg; break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case O_JSON: c->ctx.flags |= PKGIMG_F_JSON; break;
		case O_OFFLINE: c->ctx.flags |= PKGIMG_F_OFFLINE; break;
		case O_PYC: r = pyc_mode_parse(&c->ctx, optarg, &io.pyc.mode); break;
		case O_PYC_OPT: r = pyc_levels_parse(&c->ctx, optarg, &io.pyc.levels); break;
		case O_APT_SOURCE: strv_add(&apt_sources, optarg); break;
		case O_KEYRING: keyring = optarg; break;
		case O_GPU: gpu_all = optarg ? optarg : ""; break;
		case 'h': build_usage(stdout); goto done;
		default: build_usage(stderr); rc = 2; goto done;
		}
		if (r < 0) {
			rc = cli_fail(c, r);
			goto done;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pkgimg: error: build: unexpected argument '%s'; the steps come from "
			"the spec (-f FILE)\n", argv[optind]);
		rc = 2;
		goto done;
	}
	io.pyc.jobs = c->jobs_given ? c->ctx.jobs : 0;
	r = cli_open_store(c);
	if (r) {
		rc = r;
		goto done;
	}
	r = spec_parse(&c->ctx, file, &s);
	if (r == 0 && lockpath) {
		struct sbuf text = SBUF_INIT;

		r = fs_read_file(&c->ctx, AT_FDCWD, lockpath, &text);
		if (r == 0)
			r = lockfile_parse(&c->ctx, lockpath, text.buf, text.len, &lf);
		sbuf_free(&text);
	} else if (r == 0) {
		r = cli_load_apt_sources(c, &apt_sources, &srcs);
		if (r == 0)
			r = cli_spec_lock(c, &s, &srcs, keyring, gpu_all, &lf);
		if (r == 0 && output) {
			struct sbuf text = SBUF_INIT;

			r = lockfile_emit(&c->ctx, &lf, &text);
			if (r == 0)
				r = fs_write_file(&c->ctx, AT_FDCWD, output, text.buf, text.len, 0644);
			sbuf_free(&text);
		}
	}
	if (r == 0)
		r = image_lock_base(&c->ctx, &c->st, &lf, parent);
	if (r == 0 && parent[0]) {	/* an image of the store: its layers count */
		char **chain = NULL;

		r = store_layer_chain(&c->ctx, &c->st, parent, &chain, &depth);
		for (int i = 0; chain && i < depth; i++)
			free(chain[i]);
		free(chain);
	}
	forced = c->ctx.flags & PKGIMG_F_FORCE_BUILD;
	if (r == 0) {	/* the base layers */
		bool built;

		r = build_lock_layers(c, &lf, &li, NULL, &io, parent, forced, &res, &built, &depth);
	}
	for (size_t k = 0; r == 0 && k < s.nsteps; k++) {
		const struct spec_step *st = &s.steps[k];
		char *text = spec_step_text(&s, st), key[STORE_KEY_MAX];
		struct sbuf section = SBUF_INIT;
		int64_t t0 = pkgimg_now_ms();
		bool built = false, lock_step;

		forced = forced || st->force_build;
		/* refused before it is built: an image past overlayfs' stack
		 * limit would build but never run (a package step checks each
		 * of its layers in build_lock_layers) */
		lock_step = st->kind == SPEC_APT || st->kind == SPEC_PIP || st->kind == SPEC_CONDA;
		if (!lock_step)
			r = store_check_layers(&c->ctx, depth + 1, text);
		switch (r < 0 ? -1 : (int)st->kind) {
		case -1:	/* refused */
			break;
		case SPEC_APT:
		case SPEC_PIP:
		case SPEC_CONDA:
			r = build_lock_layers(c, &lf, &li, text, &io, parent, forced, &res, &built,
					      &depth);
			memcpy(key, parent, sizeof key);
			break;
		case SPEC_RUN:
			r = run_layer(c, st, st->gpu ? st->gpu : gpu_all, text, parent, forced, key,
				      &built);
			break;
		case SPEC_ADD:
		case SPEC_PYTHON_SOURCE:
			r = copy_section(c, &s, &lf, st, &io, &section);
			if (r == 0)
				lockfile_layer_key(parent, text, section.buf, key);
			if (r == 0 && (forced || !store_has_layer(&c->st, key))) {
				r = copy_layer(c, &s, &lf, st, text, section.buf, parent, key, &io,
					       &res);
				built = true;
			} else if (r == 0) {
				r = image_layer_replay(&c->ctx, &c->st, key, &res);
			}
			break;
		default:
			lockfile_layer_key(parent, text, "", key);
			if (forced || !store_has_layer(&c->st, key)) {
				r = config_layer(c, st, text, parent, key);
				built = true;
			}
			break;
		}
		if (r == 0) {
			int64_t ms = pkgimg_now_ms() - t0;

			if (!lock_step)
				depth++;
			memcpy(parent, key, sizeof parent);
			if (!(c->ctx.flags & (PKGIMG_F_QUIET | PKGIMG_F_JSON)))
				fprintf(stderr, "[%zu/%zu] %s: %s (%lld ms)\n", k + 1, s.nsteps, text,
					built ? "built" : "cached", (long long)ms);
			json_array_append_new(jsteps, json_pack("{s:s, s:s, s:b, s:I}", "step", text,
								 "key", key, "built", built,
								 "ms", (json_int_t)ms));
		} else {
			pkgimg_err_wrap(&c->ctx, r, "%s:%d:%d: step %zu", s.path, st->line, st->col,
					k + 1);
		}
		sbuf_free(&section);
		free(text);
	}
	if (r == 0 && li < lf.nlayers)
		r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s: [build] the lockfile has layers the "
			       "spec has no step for ('%s'); lock the spec again (pkgimg lock -f)",
			       lockpath ? lockpath : file, lf.layers[li].step);
	if (r == 0 && !parent[0])
		r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s: [build] nothing to build: base "
			       "scratch and no step", file);
	if (r == 0 && tag)
		r = store_tag_set(&c->ctx, &c->st, tag, parent);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *j = json_pack("{s:s, s:O}", "snapshot", parent, "steps", jsteps);

		if (tag)
			json_object_set_new(j, "tag", json_string(tag));
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s\n", parent);
	}
done:
	json_decref(jsteps);
	install_result_free(&res);
	lockfile_free(&lf);
	spec_free(&s);
	apt_sources_free(&srcs);
	strv_free(&apt_sources);
	return rc;
}
