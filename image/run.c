/* pkgimg run's engine: the image's config merged with the overrides, the
 * GPU attached, the command run over the image or committed as a layer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cache/layer.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "image/commit.h"
#include "image/run.h"
#include "runtime/gpu.h"
#include "runtime/sandbox.h"

static int env_has(const struct strv *env, const char *kv)
{
	size_t n = strcspn(kv, "=");

	for (size_t i = 0; i < env->n; i++)
		if (!strncmp(env->v[i], kv, n) && env->v[i][n] == '=')
			return (int)i + 1;
	return 0;
}

static void env_set(struct strv *env, const char *kv)
{
	int i = env_has(env, kv);

	if (i) {
		free(env->v[i - 1]);
		env->v[i - 1] = xstrdup(kv);
	} else {
		strv_add(env, kv);
	}
}

/* What runs: the command line, its environment and directory. */
struct run_plan {
	char key[STORE_KEY_MAX];	/* the image's */
	struct strv argv, env;
	const char *workdir;
	struct image_config cfg;
	struct gpu_attach ga;
	bool gpu;
};

static void run_plan_free(struct run_plan *p)
{
	strv_free(&p->argv);
	strv_free(&p->env);
	image_config_free(&p->cfg);
	if (p->gpu)
		gpu_attach_free(&p->ga);
}

/* Docker's rules over the image's config: the entrypoint, then CMD... or
 * the image's cmd; --entrypoint drops the image's cmd.  The defaults, then
 * the image's env, then the caller's. */
static int run_merge(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
		     struct run_plan *p)
{
	const char *ep = o->entrypoint;
	int r;

	r = store_resolve(ctx, st, o->image, p->key);
	if (r == 0)
		r = store_image_config(ctx, st, p->key, &p->cfg);
	if (r < 0)
		return r;
	if (ep && *ep)
		strv_add(&p->argv, ep);
	for (char **e = p->cfg.entrypoint; !ep && e && *e; e++)
		strv_add(&p->argv, *e);
	if (o->argv && o->argv[0])
		for (char *const *a = o->argv; *a; a++)
			strv_add(&p->argv, *a);
	else
		for (char **e = p->cfg.cmd; !ep && e && *e; e++)
			strv_add(&p->argv, *e);
	if (p->argv.n == 0)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "run: no command given and the image has "
				  "no entrypoint or cmd; usage: pkgimg run %s -- CMD...", o->image);
	sandbox_default_env(&p->env, SANDBOX_ENV_ALL, NULL);	/* the image's env overrides it */
	for (char **e = p->cfg.env; e && *e; e++)
		env_set(&p->env, *e);
	for (char *const *e = o->env; e && *e; e++)
		env_set(&p->env, *e);
	p->workdir = o->workdir ? o->workdir : p->cfg.workdir;
	if (o->gpu) {
		char *tmpdir = xasprintf("%s/tmp", st->root);

		r = gpu_attach_prepare(ctx, tmpdir, &p->ga);
		free(tmpdir);
		if (r < 0)
			return r;
		p->gpu = true;
	}
	return 0;
}

/* --commit: the run's layer, found by its key or built; the tag on it
 * when the command exited 0. */
static int run_committed(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
			 struct run_plan *p, int *status, char key[STORE_KEY_MAX], bool *built)
{
	struct run_spec rs = {
		.parent = p->key, .argv = p->argv.v, .env = p->env.v, .cwd = p->workdir,
		.binds = o->binds, .nbinds = o->nbinds, .network = o->network,
		.gpu = p->gpu ? o->gpu : NULL, .extra_binds = p->ga.binds,
		.nextra_binds = p->ga.nbinds, .extra_env = p->ga.env, .output_fd = o->output_fd,
	};
	struct sbuf section = SBUF_INIT, step = SBUF_INIT;
	int r;

	sbuf_adds(&step, "run:");
	for (size_t i = 0; i < p->argv.n; i++)
		sbuf_addf(&step, " %s", p->argv.v[i]);
	rs.step = step.buf;
	r = run_commit_key(ctx, &rs, key, &section);
	if (r == 0 && (o->force || !store_has_layer(st, key)))
		r = run_commit(ctx, st, &rs, key, section.buf, o->force, status, built);
	if (r == 0 && *status == 0 && o->tag)
		r = store_tag_set(ctx, st, o->tag, key);
	sbuf_free(&section);
	sbuf_free(&step);
	return r;
}

/* The command over the image's layers, on a scratch dir removed after. */
static int run_plain(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
		     struct run_plan *p, int *status)
{
	struct sandbox_opts so = { 0 };
	struct sandbox_bind *binds;
	const char **lowers = NULL;
	char **chain = NULL, *scratch = NULL;
	int r, nchain = 0, nbinds = o->nbinds + p->ga.nbinds;

	binds = xcalloc((size_t)nbinds + 1, sizeof *binds);
	for (int i = 0; i < o->nbinds; i++)
		binds[i] = o->binds[i];
	for (int i = 0; i < p->ga.nbinds; i++)
		binds[o->nbinds + i] = p->ga.binds[i];
	if (p->gpu)
		gpu_env_merge(&p->env, p->ga.env);
	r = store_layer_chain(ctx, st, p->key, &chain, &nchain);
	if (r == 0)
		r = store_mktemp_dir(ctx, st, "run", &scratch);
	if (r < 0)
		goto out;
	lowers = (const char **)store_chain_trees(st, NULL, chain, nchain);
	so.lowers = lowers;
	so.nlowers = nchain;
	so.scratch = scratch;
	so.argv = p->argv.v;
	so.env = p->env.v;
	so.cwd = p->workdir;
	so.binds = binds;
	so.nbinds = nbinds;
	so.network = o->network;
	so.output_fd = o->output_fd;
	r = sandbox_run(ctx, &so, status);
out:
	if (scratch) {
		fs_rm_rf(NULL, AT_FDCWD, scratch);
		free(scratch);
	}
	for (int i = 0; i < nchain; i++) {
		free(chain[i]);
		if (lowers)
			free((char *)lowers[i]);
	}
	free(chain);
	free(lowers);
	free(binds);
	return r;
}

int image_run(struct pkgimg_ctx *ctx, struct store *st, const struct image_run_opts *o,
	      int *status, char key[STORE_KEY_MAX], bool *built)
{
	struct run_plan p = { 0 };
	int r;

	*status = 0;
	*built = false;
	r = run_merge(ctx, st, o, &p);
	if (r == 0 && o->commit)
		r = run_committed(ctx, st, o, &p, status, key, built);
	else if (r == 0) {
		memcpy(key, p.key, STORE_KEY_MAX);
		r = run_plain(ctx, st, o, &p, status);
	}
	run_plan_free(&p);
	return r;
}
