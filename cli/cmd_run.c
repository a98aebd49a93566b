/* pkgimg run [options] IMAGE -- CMD... */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/str.h"
#include "core/error.h"
#include "image/run.h"
#include "runtime/sandbox.h"

/* -v SRC:/DST[:ro]: the source resolved, as it is keyed and mounted */
static int parse_bind(struct cli *c, const char *arg, struct sandbox_bind *b)
{
	char *spec = xstrdup(arg), *dst = strchr(spec, ':'), *mode;
	int rc = 0;

	if (!dst || dst[1] != '/') {
		rc = cli_usage(c, "run: -v %s: expected SRC:/DST[:ro]", arg);
		goto out;
	}
	*dst++ = 0;
	mode = strchr(dst, ':');
	if (mode)
		*mode++ = 0;
	b->src = realpath(spec, NULL);
	if (!b->src) {
		rc = cli_usage(c, "run: -v %s: source '%s' does not exist", arg, spec);
		goto out;
	}
	b->dst = xstrdup(dst);
	b->readonly = mode && !strcmp(mode, "ro");
out:
	free(spec);
	return rc;
}

static void print_help(void)
{
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
}

/* The options into o (binds, env and the GPU type owned by the caller);
 * > 0: the exit code (usage error or --help, *done). */
static int parse_run(struct cli *c, int argc, char **argv, struct image_run_opts *o,
		     struct sandbox_bind **binds, struct strv *env, char **gpu_type, bool *done)
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
	int opt, rc;

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
				strv_add(env, kv);
				free(kv);
			} else {
				strv_add(env, optarg);
			}
			break;
		case O_COMMIT: o->commit = true; break;
		case O_GPU:
			free(*gpu_type);
			*gpu_type = xstrdup(optarg ? optarg : "");
			break;
		case O_TAG: o->tag = optarg; break;
		case O_ENTRYPOINT: o->entrypoint = optarg; break;
		case O_PRIVILEGED: cli_set_privileged(c); break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case 'w': o->workdir = optarg; break;
		case 'v':
			*binds = xrealloc(*binds, (size_t)(o->nbinds + 1) * sizeof **binds);
			memset(&(*binds)[o->nbinds], 0, sizeof **binds);
			rc = parse_bind(c, optarg, &(*binds)[o->nbinds]);
			if (rc)
				return rc;
			o->nbinds++;
			break;
		case O_NETWORK:
			if (!strcmp(optarg, "host"))
				o->network = 1;
			else if (!strcmp(optarg, "none"))
				o->network = 0;
			else
				return cli_usage(c, "run: --network %s: use host or none", optarg);
			break;
		case 'h':
			print_help();
			*done = true;
			return 0;
		default:
			return 2;
		}
	}
	if (optind >= argc)
		return cli_usage(c, "run: no image given; usage: pkgimg run IMAGE -- CMD...");
	if (o->tag && !o->commit)
		return cli_usage(c, "run: --tag names the layer --commit makes; add --commit");
	if (o->tag && store_tag_check(&c->ctx, o->tag) < 0)
		return cli_fail(c, -PKGIMG_E_USAGE);
	o->image = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	o->argv = argv + optind;
	o->gpu = *gpu_type;
	o->force = c->ctx.flags & PKGIMG_F_FORCE_BUILD;
	return 0;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
	struct image_run_opts o = { .network = 1 };
	struct sandbox_bind *binds = NULL;
	struct strv env = { 0 };
	char key[STORE_KEY_MAX], *gpu_type = NULL;
	bool done = false, built = false;
	int r, rc, status = 0;

	rc = parse_run(c, argc, argv, &o, &binds, &env, &gpu_type, &done);
	if (rc || done)
		goto out;
	o.binds = binds;
	o.env = env.v;
	rc = cli_open_store(c);
	if (rc)
		goto out;
	/* with --commit the command's output goes to stderr: stdout carries
	 * the new layer's key */
	o.output_fd = o.commit ? fcntl(2, F_DUPFD_CLOEXEC, 3) : 0;
	if (o.output_fd < 0)
		o.output_fd = 0;
	r = image_run(&c->ctx, &c->st, &o, &status, key, &built);
	if (o.output_fd > 0)
		close(o.output_fd);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto out;
	}
	rc = status;
	if (o.commit && status)
		cli_fail(c, pkgimg_err(&c->ctx, -PKGIMG_E_SCRIPT, "run: the command exited with "
				       "status %d; nothing committed", status));
	else if (o.commit && !(c->ctx.flags & PKGIMG_F_QUIET))
		fprintf(stderr, built ? "built %s\n" : "cached: the same run is in the store "
			"(%s); nothing ran (--force-build runs it again)\n", key);
	if (o.commit && status == 0)
		printf("%s\n", key);
out:
	for (int i = 0; i < o.nbinds; i++) {
		free((char *)binds[i].src);
		free((char *)binds[i].dst);
	}
	free(binds);
	strv_free(&env);
	free(gpu_type);
	return rc;
}
