/* pkgimg wheel SOURCE: a Python project built to a wheel in an image, as
 * `pip wheel --no-deps SOURCE` or `uv build --wheel` (image/pybuild.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/str.h"
#include "image/install.h"
#include "image/pybuild.h"
#include "solver/apt.h"
#include "solver/plan.h"

enum {
	O_APT = 256, O_APT_SOURCE, O_BASE, O_KEYRING, O_PYTHON, O_INDEX_URL, O_EXTRA_INDEX_URL,
	O_FIND_LINKS, O_NO_INDEX, O_NO_ISOLATION, O_OFFLINE, O_FORCE, O_UNSIGNED,
};

static void wheel_usage(void)
{
	printf("usage: pkgimg wheel SOURCE [-w DIR] [--base debian-slim|scratch|IMAGE] "
	       "[--apt PKG[=VER]]... [--apt-source LINE]... [--keyring FILE] [--python X.Y] "
	       "[--index-url URL] [--extra-index-url URL]... [--find-links DIR|URL]... "
	       "[--no-index] [--no-build-isolation] [--force-build]\n"
	       "Builds SOURCE (a project directory, an sdist path or URL, git+URL[@REV], "
	       "each with an optional #subdirectory=DIR) to a wheel with PEP 517, inside the "
	       "image of the request (Debian's python3 added when it has no interpreter), "
	       "network off, as `pip wheel --no-deps SOURCE` does; the build requirements "
	       "are resolved on the index options.  The wheel goes to DIR (default .) and its "
	       "path is printed.  A C extension needs a compiler: --apt build-essential "
	       "--apt python3-dev.\n");
}

int cmd_wheel(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "wheel-dir", required_argument, NULL, 'w' },
		{ "apt", required_argument, NULL, O_APT },
		{ "apt-source", required_argument, NULL, O_APT_SOURCE },
		{ "base", required_argument, NULL, O_BASE },
		{ "from", required_argument, NULL, O_BASE },
		{ "keyring", required_argument, NULL, O_KEYRING },
		{ "python", required_argument, NULL, O_PYTHON },
		{ "index-url", required_argument, NULL, O_INDEX_URL },
		{ "extra-index-url", required_argument, NULL, O_EXTRA_INDEX_URL },
		{ "find-links", required_argument, NULL, O_FIND_LINKS },
		{ "no-index", no_argument, NULL, O_NO_INDEX },
		{ "no-build-isolation", no_argument, NULL, O_NO_ISOLATION },
		{ "offline", no_argument, NULL, O_OFFLINE },
		{ "force-build", no_argument, NULL, O_FORCE },
		{ "allow-unsigned", no_argument, NULL, O_UNSIGNED },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct strv apt = { 0 }, apt_sources = { 0 }, extra = { 0 }, links = { 0 };
	struct apt_sources srcs = { 0 };
	struct plan_opts po = { 0 };
	struct pypi_request rq = { 0 };
	struct install_opts io = { 0 };
	struct image_wheel_opts wo = { 0 };
	const char *keyring = NULL;
	char *path = NULL;
	int opt, rc = 0, r;

	while ((opt = getopt_long(argc, argv, "w:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'w': wo.outdir = optarg; break;
		case O_APT: strv_add(&apt, optarg); break;
		case O_APT_SOURCE: strv_add(&apt_sources, optarg); break;
		case O_BASE: po.base = optarg; break;
		case O_KEYRING: keyring = optarg; break;
		case O_PYTHON: po.python = optarg; break;
		case O_INDEX_URL: rq.index_url = optarg; break;
		case O_EXTRA_INDEX_URL: strv_add(&extra, optarg); break;
		case O_FIND_LINKS: strv_add(&links, optarg); break;
		case O_NO_INDEX: rq.no_index = 1; break;
		case O_NO_ISOLATION: wo.no_build_isolation = true; break;
		case O_OFFLINE: c->ctx.flags |= PKGIMG_F_OFFLINE; break;
		case O_FORCE: c->ctx.flags |= PKGIMG_F_FORCE_BUILD; break;
		case O_UNSIGNED: c->ctx.flags |= PKGIMG_F_ALLOW_UNSIGNED; break;
		case 'h': wheel_usage(); goto done;
		default: rc = 2; goto done;
		}
	}
	if (optind + 1 != argc) {
		rc = cli_usage(c, "wheel: give one SOURCE (a directory, an sdist, git+URL); "
			       "usage: pkgimg wheel SOURCE [-w DIR] [--apt PKG]...");
		goto done;
	}
	rc = cli_open_store(c);
	if (rc)
		goto done;
	r = cli_load_apt_sources(c, &apt_sources, &srcs);
	po.sources = &srcs;
	po.keyring = keyring;
	po.apt = (const char *const *)apt.v;
	po.napt = (int)apt.n;
	rq.extra_index_urls = (const char *const *)extra.v;
	rq.nextra = extra.n;
	rq.find_links = (const char *const *)links.v;
	rq.nfind = links.n;
	rq.no_build_isolation = wo.no_build_isolation;
	io.pyc.mode = PYC_CHECKED_HASH;
	io.pyc.levels = 1;
	wo.plan = &po;
	wo.io = &io;
	wo.rq = &rq;
	wo.source = argv[optind];
	if (r == 0)
		r = image_wheel(&c->ctx, &c->st, &wo, &path);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto done;
	}
	printf("%s\n", path);
done:
	apt_sources_free(&srcs);
	strv_free(&apt);
	strv_free(&apt_sources);
	strv_free(&extra);
	strv_free(&links);
	free(path);
	return rc;
}
