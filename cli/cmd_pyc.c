/* pkgimg pyc [--python PATH] [--pyc MODE] [--pyc-opt LEVELS] DIR|FILE... */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/str.h"
#include "pyc/pyc.h"

static void pyc_usage(FILE *f)
{
	fprintf(f,
		"usage: pkgimg [--jobs N] [--json] pyc [--python PATH] [--pyc MODE] [--pyc-opt LEVELS] DIR|FILE...\n"
		"Compiles every .py under each DIR (and each FILE) to __pycache__/NAME.TAG[.opt-N].pyc\n"
		"with the interpreter that will import them, deterministically.\n"
		"  --python PATH     the interpreter (default: python3 on PATH)\n"
		"  --pyc MODE        checked-hash (default), unchecked-hash or timestamp\n"
		"  --pyc-opt LEVELS  optimisation levels, e.g. 0,1,2 (default 0)\n"
		"A file that does not compile is a warning; --json lists them.\n");
}

int cmd_pyc(struct cli *c, int argc, char **argv)
{
	enum { O_PYTHON = 256, O_MODE, O_OPT };
	static const struct option opts[] = {
		{ "python", required_argument, NULL, O_PYTHON },
		{ "pyc", required_argument, NULL, O_MODE },
		{ "pyc-opt", required_argument, NULL, O_OPT },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct pyc_opts po = { .mode = PYC_CHECKED_HASH, .levels = 1 };
	struct pyc_result res = { 0 };
	struct strv files = { 0 };
	const char *python = "python3";
	char *interp = NULL;
	int opt, r = 0, rc = 0;
	int64_t t0;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case O_PYTHON: python = optarg; break;
		case O_MODE:
			r = pyc_mode_parse(&c->ctx, optarg, &po.mode);
			if (r == 0 && po.mode == PYC_NONE)
				r = pkgimg_err(&c->ctx, -PKGIMG_E_USAGE, "--pyc none: `pkgimg pyc` "
					       "compiles; give checked-hash, unchecked-hash or timestamp");
			if (r < 0)
				return cli_fail(c, r);
			break;
		case O_OPT:
			r = pyc_levels_parse(&c->ctx, optarg, &po.levels);
			if (r < 0)
				return cli_fail(c, r);
			break;
		case 'h': pyc_usage(stdout); return 0;
		default: pyc_usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		pyc_usage(stderr);
		return 2;
	}
	po.jobs = c->jobs_given ? c->ctx.jobs : 0;
	r = pyc_find_python(&c->ctx, python, &interp);
	if (r < 0)
		return cli_fail(c, r);
	po.python = interp;
	for (int i = optind; r == 0 && i < argc; i++)
		r = pyc_collect(&c->ctx, argv[i], &files);
	t0 = pkgimg_now_ms();
	if (r == 0)
		r = pyc_compile(&c->ctx, &po, NULL, (const char *const *)files.v, files.n, &res);
	if (r < 0) {
		rc = cli_fail(c, r);
		goto out;
	}
	for (size_t i = 0; i < res.n; i++)
		if (res.items[i].error)
			pkgimg_warn(&c->ctx, "%s: [pyc] not compiled: %s", res.items[i].src,
				    res.items[i].error);
	if (c->ctx.flags & PKGIMG_F_JSON) {
		json_t *failed = json_array();
		json_t *j;

		for (size_t i = 0; i < res.n; i++)
			if (res.items[i].error)
				json_array_append_new(failed, json_pack("{s:s, s:s}", "path",
									res.items[i].src, "error",
									res.items[i].error));
		j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "python", interp,
			      "cache_tag", res.cache_tag ? res.cache_tag : "",
			      "mode", pyc_mode_name(po.mode), "compiled", (json_int_t)res.ncompiled,
			      "pycs", (json_int_t)res.npycs, "failed", failed);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else if (!(c->ctx.flags & PKGIMG_F_QUIET)) {
		fprintf(stderr, "compiled %zu files (%zu .pyc, %s) with %s in %lld ms",
			res.ncompiled, res.npycs, res.cache_tag ? res.cache_tag : "-", interp,
			(long long)(pkgimg_now_ms() - t0));
		if (res.nfailed)
			fprintf(stderr, "; %zu did not compile", res.nfailed);
		fputc('\n', stderr);
	}
out:
	pyc_result_free(&res);
	strv_free(&files);
	free(interp);
	return rc;
}
