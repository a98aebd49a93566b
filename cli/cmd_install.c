/* pkgimg lock / pkgimg install */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "installers/image.h"
#include "solver/apt.h"
#include "solver/plan.h"

struct req_args {
	struct strv apt;
	struct strv apt_sources;
	const char *base;
	const char *keyring;
	const char *output;	/* lock -o */
	const char *lock;	/* install --lock */
	const char *tag;
	const char *root;
	int install_recommends;
	int no_scripts;
};

enum {
	O_APT = 256, O_APT_SOURCE, O_BASE, O_KEYRING, O_RECOMMENDS, O_UNSIGNED, O_LOCK,
	O_TAG, O_ROOT, O_NO_SCRIPTS, O_JSON, O_OFFLINE, O_FORCE,
};

static int parse_args(struct cli *c, int argc, char **argv, struct req_args *a, int install)
{
	static const struct option opts[] = {
		{ "apt", required_argument, NULL, O_APT },
		{ "apt-source", required_argument, NULL, O_APT_SOURCE },
		{ "base", required_argument, NULL, O_BASE },
		{ "keyring", required_argument, NULL, O_KEYRING },
		{ "install-recommends", no_argument, NULL, O_RECOMMENDS },
		{ "allow-unsigned", no_argument, NULL, O_UNSIGNED },
		{ "output", required_argument, NULL, 'o' },
		{ "lock", required_argument, NULL, O_LOCK },
		{ "tag", required_argument, NULL, O_TAG },
		{ "root", required_argument, NULL, O_ROOT },
		{ "no-scripts", no_argument, NULL, O_NO_SCRIPTS },
		{ "json", no_argument, NULL, O_JSON },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *cmd = argv[0];
	int opt;

	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case O_APT: strv_add(&a->apt, optarg); break;
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
		case O_JSON: c->ctx.flags |= PKGIMG_F_JSON; break;
		case O_OFFLINE: c->ctx.flags |= PKGIMG_F_OFFLINE; break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case 'h':
			printf("usage: pkgimg %s REQS %s\n", cmd,
			       install ? "[--lock FILE] [--tag NAME] [--root DIR] [--no-scripts]"
				       : "[-o pkgimg.lock]");
			exit(0);
		default:
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "pkgimg: error: %s: unexpected argument '%s' (packages are given "
			"one per flag: --apt NAME)\n", cmd, argv[optind]);
		return 2;
	}
	if (!install && (a->lock || a->tag || a->root || a->no_scripts)) {
		fprintf(stderr, "pkgimg: error: lock: --lock, --tag, --root and --no-scripts "
			"belong to `pkgimg install`\n");
		return 2;
	}
	if (install && a->output) {
		fprintf(stderr, "pkgimg: error: install: -o belongs to `pkgimg lock`; install "
			"writes no lockfile (use --lock FILE to install one)\n");
		return 2;
	}
	if (a->lock && (a->apt.n || a->apt_sources.n || a->base || a->install_recommends)) {
		fprintf(stderr, "pkgimg: error: install: --lock installs exactly the lockfile; "
			"drop the request options (--apt, --base, ...) or drop --lock\n");
		return 2;
	}
	return 0;
}

static int plan(struct cli *c, struct req_args *a, struct lockfile *lf)
{
	struct apt_sources srcs = { 0 };
	struct plan_opts po = { 0 };
	int r = 0;

	if (a->apt_sources.n) {
		for (size_t i = 0; i < a->apt_sources.n && r == 0; i++)
			r = apt_sources_add_line(&c->ctx, a->apt_sources.v[i], &srcs);
	} else {
		const char *etc = getenv("PKGIMG_APT_ETC");

		r = apt_sources_load_host(&c->ctx, etc && *etc ? etc : "/etc/apt", &srcs);
	}
	if (r < 0)
		goto out;
	po.base = a->base;
	po.sources = &srcs;
	po.keyring = a->keyring;
	po.apt = (const char *const *)a->apt.v;
	po.napt = (int)a->apt.n;
	po.install_recommends = a->install_recommends;
	r = plan_lock(&c->ctx, &c->st, &po, lf);
out:
	apt_sources_free(&srcs);
	return r;
}

static json_t *packages_json(const struct lockfile *lf)
{
	json_t *arr = json_array();

	for (int i = 0; i < lf->nlayers; i++) {
		for (int k = 0; k < lf->layers[i].npkgs; k++) {
			const struct lock_pkg *p = &lf->layers[i].pkgs[k];

			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s}",
				"ecosystem", p->ecosystem, "name", p->name, "version", p->version,
				"url", p->url, "sha256", p->sha256, "size", (json_int_t)p->size,
				"arch", p->arch, "requested_by", p->requested_by));
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

static char *abspath(const char *p)
{
	char cwd[4096];

	if (p[0] == '/' || !getcwd(cwd, sizeof cwd))
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

int cmd_lock(struct cli *c, int argc, char **argv)
{
	struct req_args a = { 0 };
	struct lockfile lf = { 0 };
	struct sbuf text = SBUF_INIT;
	const char *out;
	int r;

	r = parse_args(c, argc, argv, &a, 0);
	if (r)
		goto done;
	r = cli_open_store(c);
	if (r)
		goto done;
	out = a.output ? a.output : "pkgimg.lock";
	r = plan(c, &a, &lf);
	if (r == 0)
		r = lockfile_emit(&c->ctx, &lf, &text);
	if (r == 0)
		r = fs_write_file(&c->ctx, AT_FDCWD, out, text.buf, text.len, 0644);
	if (r < 0) {
		r = cli_fail(c, r);
		goto done;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		char *p = abspath(out);
		json_t *j = json_pack("{s:s, s:o}", "lock", p, "packages", packages_json(&lf));

		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
		free(p);
	} else if (!(c->ctx.flags & PKGIMG_F_QUIET)) {
		printf("locked %d packages in %d layer%s to %s\n", count_pkgs(&lf), lf.nlayers,
		       lf.nlayers == 1 ? "" : "s", out);
	}
done:
	lockfile_free(&lf);
	sbuf_free(&text);
	strv_free(&a.apt);
	strv_free(&a.apt_sources);
	return r;
}

int cmd_install(struct cli *c, int argc, char **argv)
{
	struct req_args a = { 0 };
	struct lockfile lf = { 0 };
	struct install_opts io = { 0 };
	struct install_result res = { 0 };
	int r;

	r = parse_args(c, argc, argv, &a, 1);
	if (r)
		goto done;
	r = cli_open_store(c);
	if (r)
		goto done;
	if (a.root) {
		struct stat sb;

		if (lstat(a.root, &sb) == 0 && !(S_ISDIR(sb.st_mode) && rmdir(a.root) == 0)) {
			r = cli_fail(c, pkgimg_err(&c->ctx, -PKGIMG_E_USAGE,
				"--root %s: [install] exists and is not an empty directory; give a "
				"new path", a.root));
			goto done;
		}
	}
	if (a.lock) {
		struct sbuf text = SBUF_INIT;

		r = fs_read_file(&c->ctx, AT_FDCWD, a.lock, &text);
		if (r == 0)
			r = lockfile_parse(&c->ctx, a.lock, text.buf, text.len, &lf);
		sbuf_free(&text);
	} else {
		r = plan(c, &a, &lf);
	}
	io.no_scripts = a.no_scripts;
	if (r == 0)
		r = image_install_lock(&c->ctx, &c->st, &lf, &io, &res);
	if (r == 0 && a.tag)
		r = store_tag_set(&c->ctx, &c->st, a.tag, res.snapshot);
	if (r == 0 && a.root) {
		char **chain = NULL;
		int n = 0;

		r = store_layer_chain(&c->ctx, &c->st, res.snapshot, &chain, &n);
		if (r == 0)
			r = store_materialize(&c->ctx, &c->st, chain, n, a.root);
		for (int i = 0; i < n; i++)
			free(chain[i]);
		free(chain);
	}
	if (r < 0) {
		r = cli_fail(c, r);
		goto done;
	}
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *j = json_pack("{s:s, s:o, s:o, s:i, s:i}", "snapshot", res.snapshot,
				      "lock", a.lock ? json_string(a.lock) : json_null(),
				      "packages", packages_json(&lf),
				      "layers_built", res.layers_built,
				      "layers_cached", res.layers_cached);

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
	lockfile_free(&lf);
	strv_free(&a.apt);
	strv_free(&a.apt_sources);
	return r;
}
