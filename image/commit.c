/* run --commit: see commit.h. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/layer.h"
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
	struct layer_txn txn;
	char **chain = NULL, *scratch = NULL, **lowers = NULL;
	int nchain = 0, r;

	*built = false;
	*status = 0;
	r = layer_txn_begin(ctx, st, key, "commit", force, &txn);
	if (r != 0) {	/* 1: in the store (a concurrent builder's, maybe) */
		r = r > 0 ? 0 : r;
		goto out;
	}
	r = store_layer_chain(ctx, st, rs->parent, &chain, &nchain);
	if (r == 0)
		r = store_check_layers(ctx, nchain + 1, rs->step);
	if (r == 0)
		r = store_mktemp_dir(ctx, st, "sandbox", &scratch);
	if (r < 0)
		goto out;
	lowers = store_chain_trees(st, NULL, chain, nchain);
	for (char *const *e = rs->env; e && *e; e++)
		strv_add(&env, *e);
	gpu_env_merge(&env, rs->extra_env);
	binds = xcalloc((size_t)(rs->nbinds + rs->nextra_binds) + 1, sizeof *binds);
	if (rs->nbinds)
		memcpy(binds, rs->binds, (size_t)rs->nbinds * sizeof *binds);
	if (rs->nextra_binds)
		memcpy(binds + rs->nbinds, rs->extra_binds, (size_t)rs->nextra_binds * sizeof *binds);
	so.lowers = (const char **)lowers;
	so.nlowers = nchain;
	so.upper = txn.tree;	/* the upper dir is in the layer format already */
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
	{
		struct layer_meta meta = { 0 };

		snprintf(meta.parent, sizeof meta.parent, "%s", rs->parent);
		meta.step = (char *)rs->step;
		meta.lock = (char *)section;
		r = layer_txn_commit(ctx, &txn, LAYER_TIMES_ZERO, &meta);
		*built = r == 0;
	}
out:
	layer_txn_abort(&txn);
	if (scratch)
		fs_rm_rf(NULL, AT_FDCWD, scratch);
	strv_free_null(chain);
	strv_free_null(lowers);
	free(binds);
	strv_free(&env);
	free(scratch);
	return r;
}
