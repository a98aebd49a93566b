/* pkgimg build [-f pkgimg.yaml] [--lock FILE] [--tag NAME] [--force-build]:
 * one layer per step of the spec, each keyed from its parent, so an
 * unchanged prefix of the spec is reused and a changed step rebuilds itself
 * and every step after it (image/build.c does the work). */
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "image/build.h"
#include "image/install.h"
#include "solver/apt.h"

struct steps_out {
	struct cli *c;
	json_t *steps;
};

/* one line per step on stderr, and the --json list */
static void on_step(void *arg, size_t k, size_t n, const char *text, const char *key, bool built,
		    int64_t ms)
{
	struct steps_out *so = arg;

	if (!(so->c->ctx.flags & (PKGIMG_F_QUIET | PKGIMG_F_JSON)))
		fprintf(stderr, "[%zu/%zu] %s: %s (%lld ms)\n", k + 1, n, text,
			built ? "built" : "cached", (long long)ms);
	json_array_append_new(so->steps, json_pack("{s:s, s:s, s:b, s:I}", "step", text, "key", key,
						   "built", built, "ms", (json_int_t)ms));
}

static void build_usage(FILE *f)
{
	fprintf(f,
		"usage: pkgimg build [-f pkgimg.yaml] [--context DIR] [--lock FILE] [-o LOCKFILE]\n"
		"                    [--tag NAME] [--force-build] [--gpu[=TYPE]] [--pyc MODE]\n"
		"                    [--pyc-opt LEVELS] [--apt-source \"URI SUITE COMPONENT...\"]\n"
		"                    [--keyring FILE] [--privileged]\n"
		"One layer per step; unchanged steps are reused, a changed step and every step\n"
		"after it are rebuilt.  PKGIMG_FORCE_BUILD=1 is --force-build.  --gpu (or gpu: on\n"
		"a step) attaches the host's GPU to run steps and picks CUDA builds for pip and\n"
		"conda steps by its driver.  Run steps and maintainer scripts run confined as in a\n"
		"rootful container engine; --privileged lifts that (with a warning).\n"
		"The files the spec names (add's src, python_source modules, pip's\n"
		"requirements and the files they include) must be inside the build context,\n"
		"as Docker's COPY sources are: the spec's directory, or --context DIR.\n"
		"Symlinks are followed only while they stay inside it; links inside an added\n"
		"directory are copied as links.\n");
}

int cmd_build(struct cli *c, int argc, char **argv)
{
	enum { O_LOCK = 256, O_TAG, O_FORCE, O_JSON, O_PYC, O_PYC_OPT, O_APT_SOURCE, O_KEYRING,
	       O_OFFLINE, O_GPU, O_PRIVILEGED, O_CONTEXT };
	static const struct option opts[] = {
		{ "gpu", optional_argument, NULL, O_GPU },
		{ "file", required_argument, NULL, 'f' },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "lock", required_argument, NULL, O_LOCK },
		{ "output", required_argument, NULL, 'o' },
		{ "tag", required_argument, NULL, O_TAG },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "privileged", no_argument, NULL, O_PRIVILEGED },
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
	const char *output = NULL, *gpu_all = NULL, *context = NULL;
	struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };
	struct install_result res = { 0 };
	struct apt_sources srcs = { 0 };
	struct strv apt_sources = { 0 };
	struct spec s = { 0 };
	struct lockfile lf = { 0 };
	json_t *jsteps = json_array();
	struct steps_out so = { c, jsteps };
	char parent[STORE_KEY_MAX] = "";
	int opt, r = 0, rc = 0;

	while ((opt = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case O_CONTEXT: context = optarg; break;
		case 'o': output = optarg; break;
		case O_LOCK: lockpath = optarg; break;
		case O_TAG: tag = optarg; break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case O_PRIVILEGED: cli_set_privileged(c); break;
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
		rc = cli_usage(c, "build: unexpected argument '%s'; the steps come from "
			"the spec (-f FILE)", argv[optind]);
		goto done;
	}
	if (tag && (r = store_tag_check(&c->ctx, tag)) < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	io.pyc.jobs = c->jobs_given ? c->ctx.jobs : 0;
	rc = cli_open_store(c);
	if (rc)
		goto done;
	r = spec_parse(&c->ctx, file, &s);
	if (r == 0 && context)
		r = spec_set_context(&c->ctx, &s, context);
	if (r == 0 && lockpath) {
		struct sbuf text = SBUF_INIT;

		r = fs_read_file(&c->ctx, AT_FDCWD, lockpath, &text);
		if (r == 0)
			r = lockfile_parse(&c->ctx, lockpath, text.buf, text.len, &lf);
		sbuf_free(&text);
	} else if (r == 0) {
		r = cli_load_apt_sources(c, &apt_sources, &srcs);
		if (r == 0)
			r = image_spec_lock(&c->ctx, &c->st, &s, &srcs, keyring, gpu_all, &lf);
		if (r == 0 && output) {
			struct sbuf text = SBUF_INIT;

			r = lockfile_emit(&c->ctx, &lf, &text);
			if (r == 0)
				r = fs_write_file(&c->ctx, AT_FDCWD, output, text.buf, text.len, 0644);
			sbuf_free(&text);
		}
	}
	if (r == 0) {
		struct image_build_opts bo = {
			.spec = &s, .lf = &lf, .lock_name = lockpath ? lockpath : file, .io = &io,
			.gpu_all = gpu_all, .on_step = on_step, .arg = &so,
		};

		r = image_build_spec(&c->ctx, &c->st, &bo, parent, &res);
	}
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
