/* pkgimg lock / pkgimg install */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/spec.h"
#include "core/str.h"
#include "image/build.h"
#include "image/install.h"
#include "image/oci.h"
#include "image/pull.h"
#include "image/pybuild.h"
#include "pyspec/pylock.h"
#include "pyspec/pyproject.h"
#include "runtime/gpu.h"
#include "solver/apt.h"
#include "solver/plan.h"

struct req_args {
	struct strv apt;
	struct strv pip;
	struct strv conda;
	struct strv channels;
	const char *conda_prefix;
	struct strv reqfiles;
	const char *project;	/* --pip-project DIR */
	struct strv extras;	/* --extra X */
	struct strv groups;	/* --group G */
	int all_extras;
	struct strv extra_index_urls;
	struct strv find_links;
	const char *index_url;
	const char *python;
	const char *cuda;
	const char *cuda_index;
	int gpu;
	int no_index;
	int unsafe_best_match;
	int pre;
	int no_build_isolation;
	struct strv apt_sources;
	const char *base;
	const char *keyring;
	const char *output;	/* lock -o */
	const char *lock;	/* install --lock */
	const char *tag;
	const char *root;
	int install_recommends;
	int no_scripts;
	const char *spec;	/* lock -f pkgimg.yaml */
	const char *context;	/* lock -f: --context DIR */
	const char *pyc_mode;	/* install --pyc */
	const char *pyc_opt;	/* install --pyc-opt */
	const char *pylock;	/* --pip-lock FILE, or -r pylock.toml */
	const char *pylock_out;		/* lock --pylock-out FILE */
	const char *requirements_out;	/* lock --requirements-out FILE */
};

enum {
	O_APT = 256, O_APT_SOURCE, O_BASE, O_KEYRING, O_RECOMMENDS, O_UNSIGNED, O_LOCK,
	O_TAG, O_ROOT, O_NO_SCRIPTS, O_JSON, O_OFFLINE, O_FORCE, O_PIP, O_INDEX_URL,
	O_EXTRA_INDEX_URL, O_FIND_LINKS, O_NO_INDEX, O_INDEX_STRATEGY, O_PYTHON, O_PRE,
	O_CUDA, O_CUDA_INDEX, O_GPU, O_CONDA, O_CONDA_PREFIX, O_PYC, O_PYC_OPT, O_CONTEXT,
	O_ALLOW_DEVICES, O_PRIVILEGED, O_PIP_PROJECT, O_EXTRA, O_ALL_EXTRAS, O_GROUP,
	O_PIP_LOCK, O_PYLOCK_OUT, O_REQUIREMENTS_OUT, O_NO_BUILD_ISOLATION,
};

static void print_usage(const char *cmd, int install)
{
	printf("usage: pkgimg %s [--apt PKG[=VER]]... [--pip REQ]... [-r FILE]... "
	       "[--pip-project DIR [--extra X]... [--all-extras] [--group G]...] "
	       "[--conda SPEC]... [-c CHANNEL]... [--conda-prefix DIR] "
	       "[--base debian-slim|scratch|IMAGE] [--python X.Y] [--index-url URL] "
	       "[--extra-index-url URL]... [--find-links DIR|URL]... [--no-index] "
	       "[--index-strategy first-index|unsafe-best-match] [--pre] [--gpu] [--cuda X.Y] "
	       "[--cuda-index-url TEMPLATE] [--pip-lock pylock.toml|uv.lock] [-e|--editable PATH]... [--no-build-isolation] %s\n"
	       "--pip also takes a source: name @ URL, name @ git+URL@REV, a path (./mypkg, "
	       "dist/x-1.0.tar.gz); sdists on the indexes are built as pip builds them; -e PATH "
	       "is a regular install in an image.\n", cmd,
	       install ? "[--lock FILE] [--tag NAME] [--root DIR [--allow-devices]] "
			 "[--no-scripts] [--pyc checked-hash|unchecked-hash|timestamp|none] "
			 "[--pyc-opt 0,1,2] [--privileged]\n"
			 "--root DIR writes the merged tree to DIR (new or empty; made "
			 "0700, opened up when complete, removed on failure); device "
			 "nodes of the image are refused unless --allow-devices, and "
			 "set-id bits are dropped from group- or world-writable files."
		       : "[-o pkgimg.lock] | -f pkgimg.yaml [--context DIR] "
			 "[-o pkgimg.lock] | --lock pkgimg.lock\n"
			 "  [--pylock-out pylock.toml] [--requirements-out requirements.txt]\n"
			 "--context DIR: the build context of the spec (default its "
			 "directory); the files the spec names must be inside it.\n"
			 "--pylock-out, --requirements-out: also write the PyPI part of the "
			 "lock as pylock.toml (PEP 751) and as a requirements.txt for "
			 "pip install --require-hashes; with --lock FILE, of that lockfile, "
			 "without resolving.");
	printf("--pip-lock FILE (or -r pylock.toml): install a PEP 751 pylock.toml or a "
	       "uv.lock exactly, nothing resolved; --extra X and --group G choose from it "
	       "(uv.lock: the root project's extras and groups, default the dev group; "
	       "pylock.toml: its extras and dependency-groups, default its default-groups).\n");
	printf("--pip-project DIR: the dependencies of DIR/pyproject.toml ([project] "
	       "dependencies, the --extra and --group chosen: PEP 621 extras, PEP 735 "
	       "groups) as PyPI requirements; the project itself is not installed "
	       "(as Modal's pip_install_from_pyproject). Only static dependencies are "
	       "read: a project whose dependencies are dynamic is built with --pip DIR.\n");
}

/* Options that go together, checked once they are all read. */
static int check_args(struct cli *c, const struct req_args *a, const char *cmd, int install)
{
	if (a->context && !a->spec)
		return cli_usage(c, "%s: --context goes with -f pkgimg.yaml (the spec's "
			"build context)", cmd);
	if ((c->ctx.flags & PKGIMG_F_ALLOW_DEVICES) && !(install && a->root))
		return cli_usage(c, "%s: --allow-devices goes with install --root DIR "
			"(device nodes written onto the host)", cmd);
	if (install && (a->pylock_out || a->requirements_out))
		return cli_usage(c, "install: --pylock-out and --requirements-out belong to "
			"`pkgimg lock`");
	if (!install && a->lock && !a->pylock_out && !a->requirements_out)
		return cli_usage(c, "lock: --lock FILE goes with --pylock-out or "
			"--requirements-out (converting a lockfile); install one with "
			"`pkgimg install --lock FILE`");
	if (!install && a->lock && (a->output || a->spec))
		return cli_usage(c, "lock: --lock FILE converts that lockfile; drop -o and -f");
	if (!install && (a->tag || a->root || a->no_scripts || a->pyc_mode || a->pyc_opt)) {
		return cli_usage(c, "lock: --tag, --root, --no-scripts, --pyc "
			"and --pyc-opt belong to `pkgimg install`");
	}
	if (a->pylock && (a->pip.n || a->reqfiles.n || a->project))
		return cli_usage(c, "%s: %s is installed exactly as it is locked; drop --pip, "
			"--pip-project and the other -r files (or lock them separately)", cmd,
			a->pylock);
	if (a->pylock && a->all_extras)
		return cli_usage(c, "%s: --all-extras goes with --pip-project; with a lock file "
			"name the extras (--extra X)", cmd);
	if ((a->extras.n || a->all_extras || a->groups.n) && !a->project && !a->pylock)
		return cli_usage(c, "%s: --extra, --all-extras and --group choose from a "
			"project's pyproject.toml or a lock file: add --pip-project DIR or "
			"--pip-lock FILE", cmd);
	if (a->spec && (install || a->apt.n || a->pip.n || a->reqfiles.n || a->conda.n || a->base ||
			a->python || a->project || a->pylock)) {
		return cli_usage(c, "%s: -f takes the request from the spec; %s", cmd,
			install ? "build a spec with `pkgimg build -f FILE`"
				: "drop --apt, --pip, -r, --pip-project, --conda, --base and --python");
	}
	if (install && a->output)
		return cli_usage(c, "install: -o belongs to `pkgimg lock`; install "
			"writes no lockfile (use --lock FILE to install one)");
	if (a->lock && (a->apt.n || a->apt_sources.n || a->base || a->install_recommends ||
			a->pip.n || a->reqfiles.n || a->project || a->pylock || a->index_url ||
			a->extra_index_urls.n ||
			a->find_links.n || a->no_index || a->python || a->pre || a->cuda ||
			a->cuda_index || a->conda.n || a->channels.n || a->conda_prefix)) {
		return cli_usage(c, "install: --lock installs exactly the lockfile; "
			"drop the request options (--apt, --pip, --conda, --base, ...) or drop "
			"--lock");
	}
	if (!a->pip.n && !a->reqfiles.n && !a->project && (a->index_url || a->extra_index_urls.n ||
					    a->find_links.n || a->no_index || a->pre ||
					    a->unsafe_best_match || a->cuda_index)) {
		return cli_usage(c, "%s: the index options (--index-url, "
			"--find-links, ...) need PyPI packages: add --pip NAME or -r FILE", cmd);
	}
	if (!a->conda.n && (a->channels.n || a->conda_prefix))
		return cli_usage(c, "%s: -c and --conda-prefix need conda packages: "
			"add --conda SPEC", cmd);
	return 0;
}

/* -r FILE and --pip-lock FILE: a lock file (any file --pip-lock names;
 * pylock.toml or pylock.NAME.toml by -r, as pip and uv take it) is one
 * exact install; other -r files are requirements files. */
static int add_reqfile(struct cli *c, struct req_args *a, const char *cmd, const char *file,
		       bool lock)
{
	if (!lock && !pylock_is_pylock_name(file)) {
		strv_add(&a->reqfiles, file);
		return 0;
	}
	if (a->pylock)
		return cli_usage(c, "%s: one lock file at a time (%s and %s)", cmd, a->pylock, file);
	a->pylock = file;
	return 0;
}

/* The command line into a; returns 0, 1 (--help printed) or the exit code
 * of a usage error. */
static int parse_args(struct cli *c, int argc, char **argv, struct req_args *a, int install)
{
	static const struct option opts[] = {
		{ "apt", required_argument, NULL, O_APT },
		{ "apt-source", required_argument, NULL, O_APT_SOURCE },
		{ "pip", required_argument, NULL, O_PIP },
		{ "pip-project", required_argument, NULL, O_PIP_PROJECT },
		{ "extra", required_argument, NULL, O_EXTRA },
		{ "all-extras", no_argument, NULL, O_ALL_EXTRAS },
		{ "group", required_argument, NULL, O_GROUP },
		{ "conda", required_argument, NULL, O_CONDA },
		{ "channel", required_argument, NULL, 'c' },
		{ "conda-prefix", required_argument, NULL, O_CONDA_PREFIX },
		{ "requirement", required_argument, NULL, 'r' },
		{ "index-url", required_argument, NULL, O_INDEX_URL },
		{ "extra-index-url", required_argument, NULL, O_EXTRA_INDEX_URL },
		{ "find-links", required_argument, NULL, O_FIND_LINKS },
		{ "no-index", no_argument, NULL, O_NO_INDEX },
		{ "index-strategy", required_argument, NULL, O_INDEX_STRATEGY },
		{ "python", required_argument, NULL, O_PYTHON },
		{ "pre", no_argument, NULL, O_PRE },
		{ "cuda", required_argument, NULL, O_CUDA },
		{ "cuda-index-url", required_argument, NULL, O_CUDA_INDEX },
		{ "gpu", optional_argument, NULL, O_GPU },
		{ "base", required_argument, NULL, O_BASE },
		{ "from", required_argument, NULL, O_BASE },	/* DESIGN.md's name for an image base */
		{ "keyring", required_argument, NULL, O_KEYRING },
		{ "install-recommends", no_argument, NULL, O_RECOMMENDS },
		{ "allow-unsigned", no_argument, NULL, O_UNSIGNED },
		{ "output", required_argument, NULL, 'o' },
		{ "lock", required_argument, NULL, O_LOCK },
		{ "tag", required_argument, NULL, O_TAG },
		{ "root", required_argument, NULL, O_ROOT },
		{ "no-scripts", no_argument, NULL, O_NO_SCRIPTS },
		{ "file", required_argument, NULL, 'f' },
		{ "context", required_argument, NULL, O_CONTEXT },
		{ "allow-devices", no_argument, NULL, O_ALLOW_DEVICES },
		{ "pyc", required_argument, NULL, O_PYC },
		{ "pyc-opt", required_argument, NULL, O_PYC_OPT },
		{ "json", no_argument, NULL, O_JSON },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "privileged", no_argument, NULL, O_PRIVILEGED },
		{ "pip-lock", required_argument, NULL, O_PIP_LOCK },
		{ "pylock-out", required_argument, NULL, O_PYLOCK_OUT },
		{ "requirements-out", required_argument, NULL, O_REQUIREMENTS_OUT },
		{ "editable", required_argument, NULL, 'e' },
		{ "no-build-isolation", no_argument, NULL, O_NO_BUILD_ISOLATION },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd = argv[0];
	int opt;

	while ((opt = getopt_long(argc, argv, "o:r:c:f:e:h", opts, NULL)) != -1) {
		switch (opt) {
		case O_APT: strv_add(&a->apt, optarg); break;
		case O_PIP: strv_add(&a->pip, optarg); break;
		case O_PIP_PROJECT:
			if (a->project)
				return cli_usage(c, "%s: --pip-project is given twice; one "
					"project a command (add the other's requirements with "
					"--pip or -r)", cmd);
			a->project = optarg;
			break;
		case O_EXTRA: strv_add(&a->extras, optarg); break;
		case O_ALL_EXTRAS: a->all_extras = 1; break;
		case O_GROUP: strv_add(&a->groups, optarg); break;
		case 'e': strv_push(&a->pip, xasprintf("-e %s", optarg)); break;
		case O_NO_BUILD_ISOLATION: a->no_build_isolation = 1; break;
		case O_CONDA: strv_add(&a->conda, optarg); break;
		case 'c': strv_add(&a->channels, optarg); break;
		case O_CONDA_PREFIX: a->conda_prefix = optarg; break;
		case 'r':
		case O_PIP_LOCK:
			if (add_reqfile(c, a, cmd, optarg, opt == O_PIP_LOCK))
				return 2;
			break;
		case O_PYLOCK_OUT: a->pylock_out = optarg; break;
		case O_REQUIREMENTS_OUT: a->requirements_out = optarg; break;
		case O_INDEX_URL: a->index_url = optarg; break;
		case O_EXTRA_INDEX_URL: strv_add(&a->extra_index_urls, optarg); break;
		case O_FIND_LINKS: strv_add(&a->find_links, optarg); break;
		case O_NO_INDEX: a->no_index = 1; break;
		case O_PRE: a->pre = 1; break;
		case O_PYTHON: a->python = optarg; break;
		case O_CUDA: a->cuda = optarg; break;
		case O_CUDA_INDEX: a->cuda_index = optarg; break;
		case O_GPU: a->gpu = 1; break;
		case O_INDEX_STRATEGY:
			if (!strcmp(optarg, "unsafe-best-match")) {
				a->unsafe_best_match = 1;
			} else if (strcmp(optarg, "first-index")) {
				return cli_usage(c, "%s: --index-strategy %s: unknown "
					"strategy; use first-index (the default) or "
					"unsafe-best-match", cmd, optarg);
			}
			break;
		case O_APT_SOURCE: strv_add(&a->apt_sources, optarg); break;
		case O_BASE: a->base = optarg; break;
		case O_KEYRING: a->keyring = optarg; break;
		case O_RECOMMENDS: a->install_recommends = 1; break;
		case O_UNSIGNED: c->ctx.flags |= PKGIMG_F_ALLOW_UNSIGNED; break;
		case 'o': a->output = optarg; break;
		case O_LOCK: a->lock = optarg; break;
		case O_TAG: a->tag = optarg; break;
		case O_ROOT: a->root = optarg; break;
		case O_NO_SCRIPTS: a->no_scripts = 1; break;
		case 'f': a->spec = optarg; break;
		case O_CONTEXT: a->context = optarg; break;
		case O_ALLOW_DEVICES: c->ctx.flags |= PKGIMG_F_ALLOW_DEVICES; break;
		case O_PYC: a->pyc_mode = optarg; break;
		case O_PYC_OPT: a->pyc_opt = optarg; break;
		case O_JSON: c->ctx.flags |= PKGIMG_F_JSON; break;
		case O_OFFLINE: c->ctx.flags |= PKGIMG_F_OFFLINE; break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case O_PRIVILEGED: cli_set_privileged(c); break;
		case 'h':
			print_usage(cmd, install);
			return 1;
		default:
			return 2;
		}
	}
	if (optind < argc)
		return cli_usage(c, "%s: unexpected argument '%s' (packages are given "
			"one per flag: --apt NAME, --pip REQ, --conda SPEC)", cmd, argv[optind]);
	return check_args(c, a, cmd, install);
}

static void req_args_free(struct req_args *a)
{
	strv_free(&a->apt);
	strv_free(&a->apt_sources);
	strv_free(&a->pip);
	strv_free(&a->conda);
	strv_free(&a->channels);
	strv_free(&a->reqfiles);
	strv_free(&a->extras);
	strv_free(&a->groups);
	strv_free(&a->extra_index_urls);
	strv_free(&a->find_links);
}

/* --pip-project DIR: the project's requirements join --pip's. */
static int add_project_reqs(struct cli *c, struct req_args *a)
{
	struct pyproject pp;
	struct pyproject_select sel = {
		.extras = (const char *const *)a->extras.v, .nextras = a->extras.n,
		.all_extras = a->all_extras,
		.groups = (const char *const *)a->groups.v, .ngroups = a->groups.n,
	};
	int r;

	if ((r = pyproject_read(&c->ctx, a->project, &pp)) < 0)
		return r;
	r = pyproject_requirements(&c->ctx, &pp, &sel, &a->pip);
	if (r == 0 && !a->pip.n && !a->reqfiles.n)
		r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "%s: [pyproject] the project has no "
			       "dependencies%s: nothing to install from it (the project itself "
			       "is not installed; build and install it with --pip DIR)", pp.path,
			       a->extras.n || a->all_extras || a->groups.n ?
			       " in the extras and groups chosen" : "");
	pyproject_free(&pp);
	return r;
}

static int plan(struct cli *c, struct req_args *a, const struct install_opts *io,
		struct lockfile *lf)
{
	struct apt_sources srcs = { 0 };
	struct plan_opts po = { 0 };
	struct pypi_request pip = { 0 };
	struct image_pybuilder pb;
	struct conda_request conda = { 0 };
	char cuda[16] = "";
	struct pull_result pulled = { 0 };
	int r = 0;

	if (a->project && (r = add_project_reqs(c, a)) < 0)
		return r;
	if (a->base && pull_ref_is_transport(a->base)) {	/* --base oci:DIR: pulled first */
		struct pull_opts pull = { 0 };

		r = image_pull(&c->ctx, &c->st, a->base, &pull, &pulled);
		if (r < 0)
			goto out;
	}
	if (a->conda.n && !a->apt.n && a->base && strcmp(a->base, "debian-slim")) {
		/* conda on scratch or an image: no apt index is read */
	} else {
		r = cli_load_apt_sources(c, &a->apt_sources, &srcs);
	}
	if (r < 0)
		goto out;
	po.base = pulled.id[0] ? pulled.id : a->base;
	po.sources = &srcs;
	po.keyring = a->keyring;
	po.apt = (const char *const *)a->apt.v;
	po.napt = (int)a->apt.n;
	po.install_recommends = a->install_recommends;
	po.python = a->python;
	if (a->gpu) {
		/* --gpu: there must be one; its driver's CUDA picks the
		 * CUDA builds unless --cuda says otherwise */
		struct gpu_info g;

		r = gpu_detect(&c->ctx, "--gpu", &g);
		if (r < 0)
			goto out;
		snprintf(cuda, sizeof cuda, "%s", g.cuda);
		gpu_info_free(&g);
	}
	if (a->pip.n || a->reqfiles.n || a->pylock) {
		pip.pylock = a->pylock;
		pip.pylock_extras = (const char *const *)a->extras.v;
		pip.npylock_extras = a->extras.n;
		pip.pylock_groups = (const char *const *)a->groups.v;
		pip.npylock_groups = a->groups.n;
		pip.reqs = (const char *const *)a->pip.v;
		pip.nreqs = a->pip.n;
		pip.reqfiles = (const char *const *)a->reqfiles.v;
		pip.nreqfiles = a->reqfiles.n;
		pip.index_url = a->index_url;
		pip.extra_index_urls = (const char *const *)a->extra_index_urls.v;
		pip.nextra = a->extra_index_urls.n;
		pip.find_links = (const char *const *)a->find_links.v;
		pip.nfind = a->find_links.n;
		pip.no_index = a->no_index;
		pip.unsafe_best_match = a->unsafe_best_match;
		pip.pre = a->pre;
		pip.cuda = a->cuda ? a->cuda : cuda[0] ? cuda : NULL;
		pip.cuda_index = a->cuda_index;
		pip.no_build_isolation = a->no_build_isolation;
		image_pybuilder_init(&pb, &c->st, io);
		pip.builder = &pb.api;
		po.pip = &pip;
	}
	if (a->conda.n) {
		conda.specs = (const char *const *)a->conda.v;
		conda.nspecs = a->conda.n;
		conda.channels = (const char *const *)a->channels.v;
		conda.nchannels = a->channels.n;
		conda.prefix = a->conda_prefix;
		conda.cuda = a->cuda ? a->cuda : cuda[0] ? cuda : NULL;
		if (!conda.cuda && !a->gpu) {
			/* as conda: __cuda is the driver's when there is one */
			struct gpu_info g;

			if (gpu_detect(NULL, "__cuda", &g) == 0) {	/* none: no __cuda, quietly */
				snprintf(cuda, sizeof cuda, "%s", g.cuda);
				conda.cuda = cuda;
				gpu_info_free(&g);
			}
		}
		po.conda = &conda;
	}
	r = plan_lock(&c->ctx, &c->st, &po, lf);
out:
	pull_result_free(&pulled);
	apt_sources_free(&srcs);
	return r;
}

static json_t *packages_json(const struct lockfile *lf)
{
	json_t *arr = json_array();

	for (int i = 0; i < lf->nlayers; i++) {
		for (int k = 0; k < lf->layers[i].npkgs; k++) {
			const struct lock_pkg *p = &lf->layers[i].pkgs[k];

			json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
				"ecosystem", p->ecosystem, "name", p->name, "version", p->version,
				"url", p->url, "sha256", p->sha256, "size", (json_int_t)p->size,
				"arch", p->arch, "requested_by", p->requested_by);

			if (p->build)
				json_object_set_new(o, "build", json_string(p->build));
			json_array_append_new(arr, o);
		}
	}
	return arr;
}

static int count_pkgs(const struct lockfile *lf)
{
	int n = 0;

	for (int i = 0; i < lf->nlayers; i++)
		n += lf->layers[i].npkgs;
	return n;
}

/* lock --pylock-out / --requirements-out: the PyPI part of lf in the
 * formats other tools read. */
static int write_exports(struct cli *c, const struct req_args *a, const struct lockfile *lf)
{
	struct sbuf text = SBUF_INIT;
	int r = 0;

	if (a->pylock_out) {
		r = pylock_write(&c->ctx, lf, &text);
		if (r == 0)
			r = fs_write_file(&c->ctx, AT_FDCWD, a->pylock_out, text.buf, text.len, 0644);
		if (r < 0)
			pkgimg_err_wrap(&c->ctx, r, "--pylock-out %s", a->pylock_out);
	}
	sbuf_reset(&text);
	if (r == 0 && a->requirements_out) {
		r = pylock_write_requirements(&c->ctx, lf, &text);
		if (r == 0)
			r = fs_write_file(&c->ctx, AT_FDCWD, a->requirements_out, text.buf, text.len,
					  0644);
		if (r < 0)
			pkgimg_err_wrap(&c->ctx, r, "--requirements-out %s", a->requirements_out);
	}
	sbuf_free(&text);
	return r;
}

int cmd_lock(struct cli *c, int argc, char **argv)
{
	struct req_args a = { 0 };
	struct lockfile lf = { 0 };
	struct sbuf text = SBUF_INIT;
	const char *out;
	int r, rc;

	rc = parse_args(c, argc, argv, &a, 0);
	if (rc) {
		rc = rc == 1 ? 0 : rc;
		goto done;
	}
	rc = cli_open_store(c);
	if (rc)
		goto done;
	out = a.output ? a.output : "pkgimg.lock";
	if (a.lock) {	/* converting a lockfile: nothing resolved, nothing rewritten */
		r = fs_read_file(&c->ctx, AT_FDCWD, a.lock, &text);
		if (r == 0)
			r = lockfile_parse(&c->ctx, a.lock, text.buf, text.len, &lf);
		sbuf_reset(&text);
		out = a.lock;
	} else if (a.spec) {
		struct apt_sources srcs = { 0 };
		struct spec s = { 0 };

		r = spec_parse(&c->ctx, a.spec, &s);
		if (r == 0 && a.context)
			r = spec_set_context(&c->ctx, &s, a.context);
		if (r == 0)
			r = cli_load_apt_sources(c, &a.apt_sources, &srcs);
		if (r == 0)
			r = image_spec_lock(&c->ctx, &c->st, &s, &srcs, a.keyring, a.gpu ? "" : NULL, &lf);
		apt_sources_free(&srcs);
		spec_free(&s);
	} else {
		/* sources are built in the image below their layer, installed
		 * as `pkgimg install` installs it */
		struct install_opts io = { .pyc = { .mode = PYC_CHECKED_HASH, .levels = 1 } };

		io.pyc.jobs = c->jobs_given ? c->ctx.jobs : 0;
		r = plan(c, &a, &io, &lf);
	}
	if (r == 0 && !a.lock)
		r = lockfile_emit(&c->ctx, &lf, &text);
	if (r == 0 && !a.lock)
		r = fs_write_file(&c->ctx, AT_FDCWD, out, text.buf, text.len, 0644);
	if (r == 0)
		r = write_exports(c, &a, &lf);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		char *p = path_abs(out);
		json_t *j = json_pack("{s:s, s:o}", "lock", p, "packages", packages_json(&lf));

		if (a.pylock_out)
			json_object_set_new(j, "pylock", json_string(a.pylock_out));
		if (a.requirements_out)
			json_object_set_new(j, "requirements", json_string(a.requirements_out));

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
		free(p);
	} else if (!(c->ctx.flags & PKGIMG_F_QUIET)) {
		if (!a.lock)
			printf("locked %d packages in %d layer%s to %s\n", count_pkgs(&lf),
			       lf.nlayers, lf.nlayers == 1 ? "" : "s", out);
		if (a.pylock_out)
			printf("wrote the PyPI packages of %s to %s\n", out, a.pylock_out);
		if (a.requirements_out)
			printf("wrote the PyPI packages of %s to %s\n", out, a.requirements_out);
	}
done:
	lockfile_free(&lf);
	sbuf_free(&text);
	req_args_free(&a);
	return rc;
}

/* path does not exist, or is an empty directory (not a link to one). */
static bool dir_new_or_empty(const char *path)
{
	struct dirent *de;
	struct stat sb;
	bool empty = true;
	DIR *d;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT;
	if (!S_ISDIR(sb.st_mode) || !(d = opendir(path)))
		return false;
	while (empty && (de = readdir(d)))
		empty = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");
	closedir(d);
	return empty;
}

int cmd_install(struct cli *c, int argc, char **argv)
{
	struct req_args a = { 0 };
	struct lockfile lf = { 0 };
	struct install_opts io = { 0 };
	struct install_result res = { 0 };
	struct gpu_attach ga = { 0 };
	int r = 0, rc, have_ga = 0;

	rc = parse_args(c, argc, argv, &a, 1);
	if (rc) {
		rc = rc == 1 ? 0 : rc;
		goto done;
	}
	/* every option is checked before any network work */
	io.pyc.mode = PYC_CHECKED_HASH;
	io.pyc.levels = 1;
	if (a.pyc_mode)
		r = pyc_mode_parse(&c->ctx, a.pyc_mode, &io.pyc.mode);
	if (r == 0 && a.pyc_opt)
		r = pyc_levels_parse(&c->ctx, a.pyc_opt, &io.pyc.levels);
	if (r == 0 && a.tag)
		r = store_tag_check(&c->ctx, a.tag);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	rc = cli_open_store(c);
	if (rc)
		goto done;
	if (a.root && !dir_new_or_empty(a.root)) {	/* before any work */
		rc = cli_usage(c, "--root %s: [install] exists and is not an empty directory; "
			       "give a new path", a.root);
		goto done;
	}
	if (a.lock) {
		struct sbuf text = SBUF_INIT;

		r = fs_read_file(&c->ctx, AT_FDCWD, a.lock, &text);
		if (r == 0)
			r = lockfile_parse(&c->ctx, a.lock, text.buf, text.len, &lf);
		sbuf_free(&text);
	} else {
		io.no_scripts = a.no_scripts;
		io.pyc.jobs = c->jobs_given ? c->ctx.jobs : 0;
		r = plan(c, &a, &io, &lf);
	}
	io.no_scripts = a.no_scripts;
	io.pyc.jobs = c->jobs_given ? c->ctx.jobs : 0;
	if (r == 0 && a.gpu) {
		char *tmpdir = xasprintf("%s/tmp", c->st.root);

		r = gpu_attach_prepare(&c->ctx, tmpdir, &ga);
		free(tmpdir);
		if (r == 0) {
			have_ga = 1;
			io.gpu_binds = ga.binds;
			io.ngpu_binds = ga.nbinds;
			io.gpu_env = ga.env;
		}
	}
	if (r == 0)
		r = image_install_lock(&c->ctx, &c->st, &lf, &io, &res);
	if (r == 0 && a.tag)
		r = store_tag_set(&c->ctx, &c->st, a.tag, res.snapshot);
	if (r == 0 && a.root)	/* complete, or nothing */
		r = oci_rootfs_write(&c->ctx, &c->st, res.snapshot, a.root, "--root", true);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *j = json_pack("{s:s, s:o, s:o, s:i, s:i}", "snapshot", res.snapshot,
				      "lock", a.lock ? json_string(a.lock) : json_null(),
				      "packages", packages_json(&lf),
				      "layers_built", res.layers_built,
				      "layers_cached", res.layers_cached);

		json_t *failed = json_array();

		for (size_t i = 0; i < res.npyc_failed; i++)
			json_array_append_new(failed, json_pack("{s:s, s:s, s:s}", "package",
								res.pyc_failed[i].package, "path",
								res.pyc_failed[i].path, "error",
								res.pyc_failed[i].error));
		json_object_set_new(j, "pyc", json_pack("{s:s, s:I, s:I, s:o}", "mode",
							pyc_mode_name(io.pyc.mode),
							"compiled", (json_int_t)res.pyc_compiled,
							"written", (json_int_t)res.pyc_written,
							"failed", failed));
		if (a.tag)
			json_object_set_new(j, "tag", json_string(a.tag));
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		if (!(c->ctx.flags & PKGIMG_F_QUIET))
			fprintf(stderr, "%d packages, %d layer%s built, %d cached\n", count_pkgs(&lf),
				res.layers_built, res.layers_built == 1 ? "" : "s", res.layers_cached);
		printf("%s\n", res.snapshot);
	}
done:
	if (have_ga)
		gpu_attach_free(&ga);
	install_result_free(&res);
	lockfile_free(&lf);
	req_args_free(&a);
	return rc;
}
