/* pkgimg run [options] IMAGE -- CMD... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "core/str.h"
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

int cmd_run(struct cli *c, int argc, char **argv)
{
	enum { O_NETWORK = 256, O_ENV, O_WORKDIR, O_VOLUME };
	static const struct option opts[] = {
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "volume", required_argument, NULL, 'v' },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sandbox_bind *binds = NULL;
	struct strv env = { 0 };
	const char *workdir = NULL, **lowers = NULL;
	char key[STORE_KEY_MAX], **chain = NULL, *scratch = NULL;
	struct sandbox_opts so = { 0 };
	int opt, nbinds = 0, nchain = 0, status = 0, network = 1, r = 0;

	env_set(&env, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	env_set(&env, "HOME=/root");
	env_set(&env, "LANG=C.UTF-8");
	{
		const char *term = getenv("TERM");
		char *t = xasprintf("TERM=%s", term ? term : "xterm");

		env_set(&env, t);
		free(t);
	}
	/* "+": stop at the image name; what follows belongs to the command */
	while ((opt = getopt_long(argc, argv, "+e:w:v:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			if (!strchr(optarg, '=')) {
				const char *v = getenv(optarg);
				char *kv;

				if (!v)
					continue;
				kv = xasprintf("%s=%s", optarg, v);
				env_set(&env, kv);
				free(kv);
			} else {
				env_set(&env, optarg);
			}
			break;
		case 'w': workdir = optarg; break;
		case 'v': {
			char *spec = xstrdup(optarg), *dst = strchr(spec, ':'), *mode;
			struct sandbox_bind *b;

			if (!dst || dst[1] != '/') {
				fprintf(stderr, "pkgimg: error: run: -v %s: expected SRC:/DST[:ro]\n", optarg);
				free(spec);
				r = 2;
				goto out;
			}
			*dst++ = 0;
			mode = strchr(dst, ':');
			if (mode)
				*mode++ = 0;
			binds = xrealloc(binds, (size_t)(nbinds + 1) * sizeof *binds);
			b = &binds[nbinds++];
			b->src = realpath(spec, NULL);
			if (!b->src) {
				fprintf(stderr, "pkgimg: error: run: -v %s: source '%s' does not exist\n",
					optarg, spec);
				nbinds--;
				free(spec);
				r = 2;
				goto out;
			}
			b->dst = xstrdup(dst);
			b->readonly = mode && !strcmp(mode, "ro");
			free(spec);
			break;
		}
		case O_NETWORK:
			if (!strcmp(optarg, "host"))
				network = 1;
			else if (!strcmp(optarg, "none"))
				network = 0;
			else {
				fprintf(stderr, "pkgimg: error: run: --network %s: use host or none\n", optarg);
				r = 2;
				goto out;
			}
			break;
		case 'h':
			printf("usage: pkgimg run [-e K=V] [-w DIR] [-v SRC:DST[:ro]] [--network host|none] IMAGE -- CMD...\n");
			goto out;
		default:
			r = 2;
			goto out;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "pkgimg: error: run: no image given; usage: pkgimg run IMAGE -- CMD...\n");
		r = 2;
		goto out;
	}
	{
		const char *image = argv[optind++];

		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
		if (optind >= argc) {
			fprintf(stderr, "pkgimg: error: run: no command given; usage: pkgimg run %s -- CMD...\n", image);
			r = 2;
			goto out;
		}
		r = cli_open_store(c);
		if (r)
			goto out;
		r = store_resolve(&c->ctx, &c->st, image, key);
	}
	if (r == 0)
		r = store_layer_chain(&c->ctx, &c->st, key, &chain, &nchain);
	if (r == 0)
		r = store_mktemp_dir(&c->ctx, &c->st, "run", &scratch);
	if (r < 0) {
		r = cli_fail(c, r);
		goto out;
	}
	lowers = xcalloc((size_t)nchain + 1, sizeof *lowers);
	for (int i = 0; i < nchain; i++)
		lowers[i] = store_layer_tree(&c->st, chain[i]);
	so.lowers = lowers;
	so.nlowers = nchain;
	so.upper = NULL;
	so.scratch = scratch;
	so.argv = argv + optind;
	so.env = env.v;
	so.cwd = workdir;
	so.binds = binds;
	so.nbinds = nbinds;
	so.network = network;
	r = sandbox_run(&c->ctx, &so, &status);
	if (r < 0) {
		r = cli_fail(c, r);
		goto out;
	}
	r = status;
out:
	if (scratch) {
		fs_rm_rf(NULL, AT_FDCWD, scratch);
		free(scratch);
	}
	for (int i = 0; i < nchain; i++) {
		free(chain[i]);
		free((char *)lowers[i]);
	}
	free(chain);
	free(lowers);
	for (int i = 0; i < nbinds; i++) {
		free((char *)binds[i].src);
		free((char *)binds[i].dst);
	}
	free(binds);
	strv_free(&env);
	return r;
}
