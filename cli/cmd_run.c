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
#include "image/commit.h"
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

int cmd_run(struct cli *c, int argc, char **argv)
{
	enum { O_NETWORK = 256, O_ENV, O_WORKDIR, O_VOLUME, O_COMMIT, O_TAG, O_FORCE, O_GPU, O_ENTRYPOINT, O_PRIVILEGED };
	static const struct option opts[] = {
		{ "gpu", optional_argument, NULL, O_GPU },
		{ "commit", no_argument, NULL, O_COMMIT },
		{ "tag", required_argument, NULL, O_TAG },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "volume", required_argument, NULL, 'v' },
		{ "network", required_argument, NULL, O_NETWORK },
		{ "entrypoint", required_argument, NULL, O_ENTRYPOINT },
		{ "privileged", no_argument, NULL, O_PRIVILEGED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sandbox_bind *binds = NULL;
	struct strv env = { 0 }, user_env = { 0 }, cmdv = { 0 };
	struct image_config cfg = { 0 };
	const char *workdir = NULL, **lowers = NULL, *tag = NULL, *entrypoint = NULL;
	char key[STORE_KEY_MAX], **chain = NULL, *scratch = NULL;
	struct sandbox_opts so = { 0 };
	int opt, nbinds = 0, nchain = 0, status = 0, network = 1, r = 0, commit = 0, gpu = 0;
	struct gpu_attach ga = { 0 };
	char *gpu_type = NULL;

	sandbox_default_env(&env, SANDBOX_ENV_ALL, NULL);	/* the image's env overrides it */
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
				env_set(&user_env, kv);
				free(kv);
			} else {
				env_set(&user_env, optarg);
			}
			break;
		case O_COMMIT: commit = 1; break;
		case O_GPU:
			gpu = 1;
			free(gpu_type);
			gpu_type = xstrdup(optarg ? optarg : "");
			break;
		case O_TAG: tag = optarg; break;
		case O_ENTRYPOINT: entrypoint = optarg; break;
		case O_PRIVILEGED: cli_set_privileged(c); break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
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
			printf("usage: pkgimg run [-e K=V] [-w DIR] [-v SRC:DST[:ro]] [--network host|none] "
			       "[--gpu[=TYPE]] [--entrypoint PROG] [--commit [--tag NAME] [--force-build]]\n"
			       "       [--privileged] IMAGE [-- CMD...]\n"
			       "--gpu attaches the host's NVIDIA GPU (device nodes, driver libraries,\n"
			       "nvidia-smi), as container toolkits do.\n"
			       "The image's env, workdir, entrypoint and cmd apply; -e and -w override them,\n"
			       "--entrypoint replaces the entrypoint (\"\" clears it; the image's cmd then\n"
			       "applies only with it, as in Docker).\n"
			       "--commit keeps what CMD wrote as a new layer (printed), keyed by the image,\n"
			       "argv, env, workdir and the content of every -v input: the same run again\n"
			       "is a hit that runs nothing.\n"
			       "The command runs confined as in a rootful container engine (Docker's\n"
			       "default capabilities and seccomp profile, /proc masked, /sys read-only);\n"
			       "--privileged lifts that (all of root's capabilities), with a warning.\n");
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
	if (tag && !commit) {
		fprintf(stderr, "pkgimg: error: run: --tag names the layer --commit makes; add --commit\n");
		r = 2;
		goto out;
	}
	if (tag && store_tag_check(&c->ctx, tag) < 0) {
		r = cli_fail(c, -PKGIMG_E_USAGE);
		goto out;
	}
	{
		const char *image = argv[optind++];

		if (optind < argc && !strcmp(argv[optind], "--"))
			optind++;
		r = cli_open_store(c);
		if (r)
			goto out;
		r = store_resolve(&c->ctx, &c->st, image, key);
		if (r == 0)
			r = store_image_config(&c->ctx, &c->st, key, &cfg);
		if (r < 0) {
			r = cli_fail(c, r);
			goto out;
		}
		/* Docker's rule: the entrypoint, then CMD... or the image's cmd;
		 * --entrypoint drops the image's cmd */
		if (entrypoint && *entrypoint)
			strv_add(&cmdv, entrypoint);
		for (char **e = cfg.entrypoint; !entrypoint && e && *e; e++)
			strv_add(&cmdv, *e);
		if (optind < argc)
			for (int i = optind; i < argc; i++)
				strv_add(&cmdv, argv[i]);
		else
			for (char **e = cfg.cmd; !entrypoint && e && *e; e++)
				strv_add(&cmdv, *e);
		if (cmdv.n == 0) {
			fprintf(stderr, "pkgimg: error: run: no command given and the image has no "
				"entrypoint or cmd; usage: pkgimg run %s -- CMD...\n", image);
			r = 2;
			goto out;
		}
		for (char **e = cfg.env; e && *e; e++)
			env_set(&env, *e);
		for (size_t i = 0; i < user_env.n; i++)
			env_set(&env, user_env.v[i]);
		if (!workdir)
			workdir = cfg.workdir;
	}
	if (gpu) {
		char *tmpdir = xasprintf("%s/tmp", c->st.root);

		r = gpu_attach_prepare(&c->ctx, tmpdir, &ga);
		free(tmpdir);
		if (r < 0) {
			gpu = 0;
			r = cli_fail(c, r);
			goto out;
		}
	}
	if (commit) {
		struct run_spec rs = {
			.parent = key, .argv = cmdv.v, .env = env.v, .cwd = workdir,
			.binds = binds, .nbinds = nbinds, .network = network,
			.gpu = gpu ? gpu_type : NULL, .extra_binds = ga.binds,
			.nextra_binds = ga.nbinds, .extra_env = ga.env,
		};
		struct sbuf section = SBUF_INIT, step = SBUF_INIT;
		char nkey[STORE_KEY_MAX];
		bool force = c->ctx.flags & PKGIMG_F_FORCE_BUILD, built = false;

		sbuf_adds(&step, "run:");
		for (size_t i = 0; i < cmdv.n; i++)
			sbuf_addf(&step, " %s", cmdv.v[i]);
		rs.step = step.buf;
		r = run_commit_key(&c->ctx, &rs, nkey, &section);
		if (r == 0 && (force || !store_has_layer(&c->st, nkey))) {
			/* the command's output goes to stderr: stdout carries
			 * the new layer's key */
			rs.output_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
			r = run_commit(&c->ctx, &c->st, &rs, nkey, section.buf, force, &status, &built);
			if (rs.output_fd >= 0)
				close(rs.output_fd);
		}
		if (r == 0 && status)
			fprintf(stderr, "pkgimg: error: run: the command exited with status %d; "
				"nothing committed\n", status);
		else if (r == 0 && !(c->ctx.flags & PKGIMG_F_QUIET))
			fprintf(stderr, built ? "built %s\n" : "cached: the same run is in the store "
				"(%s); nothing ran (--force-build runs it again)\n", nkey);
		if (r == 0 && status == 0 && tag)
			r = store_tag_set(&c->ctx, &c->st, tag, nkey);
		if (r == 0 && status == 0)
			printf("%s\n", nkey);
		sbuf_free(&section);
		sbuf_free(&step);
		r = r < 0 ? cli_fail(c, r) : status;
		goto out;
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
	if (gpu)
		gpu_env_merge(&env, ga.env);
	if (gpu && ga.nbinds) {
		binds = xrealloc(binds, (size_t)(nbinds + ga.nbinds) * sizeof *binds);
		for (int i = 0; i < ga.nbinds; i++) {
			binds[nbinds + i] = ga.binds[i];
			binds[nbinds + i].src = xstrdup(ga.binds[i].src);
			binds[nbinds + i].dst = xstrdup(ga.binds[i].dst);
		}
		nbinds += ga.nbinds;
	}
	so.argv = cmdv.v;
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
	strv_free(&user_env);
	strv_free(&cmdv);
	image_config_free(&cfg);
	if (gpu)
		gpu_attach_free(&ga);
	free(gpu_type);
	return r;
}
