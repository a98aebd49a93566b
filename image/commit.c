/* run --commit: see commit.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "image/commit.h"
#include "runtime/gpu.h"

static json_t *strv_json(char *const *v)
{
	json_t *a = json_array();

	for (char *const *e = v; e && *e; e++)
		json_array_append_new(a, json_string(*e));
	return a;
}

int run_commit_key(struct pkgimg_ctx *ctx, const struct run_spec *rs, char key[STORE_KEY_MAX],
		   struct sbuf *section)
{
	json_t *j = json_object(), *inputs = json_array();
	char *text = NULL;
	int r = 0;

	json_object_set_new(j, "argv", strv_json(rs->argv));
	json_object_set_new(j, "env", strv_json(rs->env));
	json_object_set_new(j, "workdir", json_string(rs->cwd ? rs->cwd : "/"));
	json_object_set_new(j, "network", json_string(rs->network ? "host" : "none"));
	if (rs->gpu)
		json_object_set_new(j, "gpu", json_string(rs->gpu));
	/* what ran unconfined is another layer (as BuildKit keys --security) */
	if (ctx->flags & PKGIMG_F_PRIVILEGED)
		json_object_set_new(j, "privileged", json_true());
	for (int i = 0; i < rs->nbinds; i++) {
		char hex[65];

		r = hash_tree_sha256(ctx, rs->binds[i].src, hex);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "%s: [commit] the input mounted at %s",
					rs->step, rs->binds[i].dst);
			goto out;
		}
		json_array_append_new(inputs, json_pack("{s:s, s:b, s:s}", "dst", rs->binds[i].dst,
							"readonly", rs->binds[i].readonly,
							"sha256", hex));
	}
	json_object_set(j, "inputs", inputs);
	text = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text) {
		r = pkgimg_err(ctx, -ENOMEM, "%s: [commit] out of memory", rs->step);
		goto out;
	}
	sbuf_reset(section);
	sbuf_adds(section, text);
	sbuf_addc(section, '\n');
	lockfile_layer_key(rs->parent, rs->step, section->buf, key);
out:
	free(text);
	json_decref(inputs);
	json_decref(j);
	return r;
}

int run_commit(struct pkgimg_ctx *ctx, struct store *st, const struct run_spec *rs,
	       const char *key, const char *section, bool force, int *status, bool *built)
{
	struct sandbox_opts so = { 0 };
	struct sandbox_bind *binds = NULL;
	struct strv env = { 0 };
	char **chain = NULL, *tmp = NULL, *tree = NULL, *scratch = NULL;
	const char **lowers = NULL;
	int nchain = 0, r, fd = -1, lockfd = -1;

	*built = false;
	*status = 0;
	r = store_lock_key(ctx, st, key, &lockfd);
	if (r < 0 || (store_has_layer(st, key) && !force))
		goto out;
	r = store_layer_chain(ctx, st, rs->parent, &chain, &nchain);
	if (r == 0)
		r = store_check_layers(ctx, nchain + 1, rs->step);
	if (r < 0)
		goto out;
	r = store_mktemp_dir(ctx, st, "layer", &tmp);
	if (r == 0)
		r = store_mktemp_dir(ctx, st, "sandbox", &scratch);
	if (r < 0)
		goto out;
	tree = xasprintf("%s/tree", tmp);
	if (mkdir(tree, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [commit] %m", tree);
		goto out;
	}
	lowers = xcalloc((size_t)nchain + 1, sizeof *lowers);
	for (int i = 0; i < nchain; i++)
		lowers[i] = store_layer_tree(st, chain[i]);
	for (char *const *e = rs->env; e && *e; e++)
		strv_add(&env, *e);
	gpu_env_merge(&env, rs->extra_env);
	binds = xcalloc((size_t)(rs->nbinds + rs->nextra_binds) + 1, sizeof *binds);
	if (rs->nbinds)
		memcpy(binds, rs->binds, (size_t)rs->nbinds * sizeof *binds);
	if (rs->nextra_binds)
		memcpy(binds + rs->nbinds, rs->extra_binds, (size_t)rs->nextra_binds * sizeof *binds);
	so.lowers = lowers;
	so.nlowers = nchain;
	so.upper = tree;	/* the upper dir is in the layer format already */
	so.scratch = scratch;
	so.argv = rs->argv;
	so.env = env.v;
	so.cwd = rs->cwd;
	so.binds = binds;
	so.nbinds = rs->nbinds + rs->nextra_binds;
	so.network = rs->network;
	so.output_fd = rs->output_fd;
	r = sandbox_run(ctx, &so, status);
	if (r < 0 || *status != 0)
		goto out;
	if (rs->nextra_binds) {	/* the GPU was attached */
		r = gpu_ldcache_scrub(ctx, rs->step, &so);
		if (r < 0)
			goto out;
	}
	fd = open(tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [commit] %m", tree);
		goto out;
	}
	r = fs_tree_times_zero(ctx, fd, tree);
	if (r == 0) {
		struct layer_meta meta = { 0 };

		snprintf(meta.key, sizeof meta.key, "%s", key);
		snprintf(meta.parent, sizeof meta.parent, "%s", rs->parent);
		meta.step = (char *)rs->step;
		meta.lock = (char *)section;
		r = store_layer_commit(ctx, st, tmp, &meta);
		if (r == 0) {
			free(tmp);
			tmp = NULL;
			*built = true;
		}
	}
out:
	if (lockfd >= 0)
		store_unlock(lockfd);
	if (fd >= 0)
		close(fd);
	if (tmp)
		fs_rm_rf(NULL, AT_FDCWD, tmp);
	if (scratch)
		fs_rm_rf(NULL, AT_FDCWD, scratch);
	for (int i = 0; i < nchain; i++) {
		free(chain[i]);
		if (lowers)
			free((char *)lowers[i]);
	}
	free(chain);
	free(lowers);
	free(binds);
	strv_free(&env);
	free(tmp);
	free(tree);
	free(scratch);
	return r;
}
