/* pkgimg: global options, then one subcommand from the table. */
#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "solver/apt.h"
#include "cli/cli.h"
#include "core/heap.h"
#include "core/str.h"

static const struct command {
	const char *name;
	int (*fn)(struct cli *c, int argc, char **argv);
	const char *help;
} commands[] = {
	{ "lock", cmd_lock, "resolve a request and write the lockfile" },
	{ "install", cmd_install, "install a request or a lockfile as an image" },
	{ "build", cmd_build, "build an image from a spec, one layer per step" },
	{ "run", cmd_run, "run a command inside an image" },
	{ "images", cmd_images, "list images" },
	{ "inspect", cmd_inspect, "show an image's layers" },
	{ "tag", cmd_tag, "name an image: tag IMAGE NAME" },
	{ "gc", cmd_gc, "remove what no tagged image needs" },
	{ "pyc", cmd_pyc, "compile Python bytecode: pyc [--python PATH] DIR..." },
	{ "wheel", cmd_wheel, "build a Python project to a wheel in an image: wheel SOURCE [-w DIR]" },
	{ "export", cmd_export, "write an image as an OCI layout, an archive or a rootfs" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pkgimg [global options] COMMAND [options]\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
		"\n"
		"request (lock, install):\n"
		"  --apt PKG[=VER]         a Debian package (repeatable, one per flag)\n"
		"  --base debian-slim|scratch|IMAGE   base of the image (default debian-slim:\n"
		"                          every Essential: yes package; IMAGE: a tag or id of\n"
		"                          the store, also spelled --from IMAGE)\n"
		"  --apt-source \"URI SUITE COMPONENT...\"   instead of the host's apt sources\n"
		"  --keyring FILE          OpenPGP keyring for the apt sources\n"
		"  --install-recommends    also install Recommends\n"
		"  --allow-unsigned        accept unsigned or badly signed repositories\n"
		"\n"
		"global options:\n"
		"  --store DIR   the store (default $PKGIMG_HOME, else $XDG_CACHE_HOME/pkgimg,\n"
		"                else ~/.cache/pkgimg)\n"
		"  --jobs N      parallel downloads (default 8); bytecode workers (default:\n"
		"                the number of cores)\n"
		"  --offline     never use the network\n"
		"  --ca-bundle FILE   CA certificates for HTTPS (default $SSL_CERT_FILE, else\n"
		"                the system's bundle, e.g. /etc/ssl/certs/ca-certificates.crt)\n"
		"  --json        print results as JSON\n"
		"  -q, -v        quieter, more verbose\n"
		"  --privileged  run maintainer scripts, run steps and commands with all of\n"
		"                root's capabilities, no seccomp filter, /proc unmasked\n"
		"                (default: confined as a rootful container engine does)\n"
		"  --version\n");
}

static void on_progress(void *arg, const struct pkgimg_progress *p)
{
	struct cli *c = arg;
	static struct timespec last;
	struct timespec now;
	char line[160];

	if (!c->tty || (c->ctx.flags & (PKGIMG_F_QUIET | PKGIMG_F_JSON)))
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!p->finished && (now.tv_sec - last.tv_sec) * 1000000000L + (now.tv_nsec - last.tv_nsec) < 100000000L)
		return;
	last = now;
	if (!strcmp(p->phase, "fetch") && p->total)
		snprintf(line, sizeof line, "[fetch] %6.1f / %.1f MB %3d%% %s",
			 (double)p->done / 1e6, (double)p->total / 1e6,
			 (int)(p->done * 100 / p->total), p->item ? p->item : "");
	else if (p->total)
		snprintf(line, sizeof line, "[%s] %llu/%llu %s", p->phase,
			 (unsigned long long)p->done, (unsigned long long)p->total,
			 p->item ? p->item : "");
	else
		snprintf(line, sizeof line, "[%s] %s", p->phase, p->item ? p->item : "...");
	fprintf(stderr, "\r\033[K%.78s", line);
	c->progress_shown = 1;
	if (p->finished)
		cli_clear_progress(c);
}

void cli_clear_progress(struct cli *c)
{
	if (c->progress_shown) {
		fputs("\r\033[K", stderr);
		c->progress_shown = 0;
	}
}

static void on_warn(void *arg, const char *msg)
{
	struct cli *c = arg;

	cli_clear_progress(c);
	fprintf(stderr, "pkgimg: warning: %s\n", msg);
}

static void on_info(void *arg, const char *msg)
{
	struct cli *c = arg;

	if (!(c->ctx.flags & PKGIMG_F_VERBOSE))
		return;
	cli_clear_progress(c);
	fprintf(stderr, "pkgimg: %s\n", msg);
}

int cli_fail(struct cli *c, int r)
{
	cli_clear_progress(c);
	if (r >= 0)
		return 0;
	fprintf(stderr, "pkgimg: error: %s\n",
		c->ctx.errmsg[0] ? c->ctx.errmsg : pkgimg_strerror(r));
	return r == -PKGIMG_E_USAGE ? 2 : 1;
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pkgimg_verr(&c->ctx, -PKGIMG_E_USAGE, fmt, ap);
	va_end(ap);
	return cli_fail(c, -PKGIMG_E_USAGE);
}

void cli_set_privileged(struct cli *c)
{
	if (!(c->ctx.flags & PKGIMG_F_PRIVILEGED) && !(c->ctx.flags & PKGIMG_F_QUIET))
		fprintf(stderr, "pkgimg: warning: --privileged: commands in the image run with "
			"all of root's capabilities, no seccomp filter and /proc unmasked; "
			"code in the image can take over the host\n");
	c->ctx.flags |= PKGIMG_F_PRIVILEGED;
}

int cli_load_apt_sources(struct cli *c, const struct strv *lines, struct apt_sources *srcs)
{
	const char *etc = getenv("PKGIMG_APT_ETC");
	int r = 0;

	if (lines->n) {
		for (size_t i = 0; i < lines->n && r == 0; i++)
			r = apt_sources_add_line(&c->ctx, lines->v[i], srcs);
		return r;
	}
	return apt_sources_load_host(&c->ctx, etc && *etc ? etc : "/etc/apt", srcs);
}

int cli_open_store(struct cli *c)
{
	char *dir = NULL;
	const char *e;
	int r;

	if (c->store_opened)
		return 0;
	if (c->ctx.store_dir)
		dir = xstrdup(c->ctx.store_dir);
	else if ((e = getenv("PKGIMG_HOME")) && *e)
		dir = xstrdup(e);
	else if ((e = getenv("XDG_CACHE_HOME")) && *e)
		dir = xasprintf("%s/pkgimg", e);
	else if ((e = getenv("HOME")) && *e)
		dir = xasprintf("%s/.cache/pkgimg", e);
	else
		return cli_fail(c, pkgimg_err(&c->ctx, -PKGIMG_E_USAGE,
					      "[store] no store: set --store DIR or PKGIMG_HOME"));
	if (dir[0] != '/') {
		char cwd[4096];

		if (getcwd(cwd, sizeof cwd)) {
			char *abs = xasprintf("%s/%s", cwd, dir);

			free(dir);
			dir = abs;
		}
	}
	free(c->ctx.store_dir);
	c->ctx.store_dir = dir;
	r = store_open(&c->ctx, dir, &c->st);
	if (r < 0)
		return cli_fail(c, r);
	c->store_opened = 1;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "store", required_argument, NULL, 's' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "offline", no_argument, NULL, 'o' },
		{ "ca-bundle", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'J' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "privileged", no_argument, NULL, 'P' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct cli c;
	int opt, rc = 2;
	const char *e;

	/* libarchive converts entry names through the locale's charset: UTF-8
	 * keeps non-ASCII names (pax, zip) intact.  A static glibc loads C.UTF-8
	 * from /usr/lib/locale; without it, plain C. */
	if (!setlocale(LC_CTYPE, "C.UTF-8"))
		setlocale(LC_CTYPE, "C");
	memset(&c, 0, sizeof c);
	pkgimg_ctx_init(&c.ctx);
	c.ctx.progress = on_progress;
	c.ctx.warn = on_warn;
	c.ctx.info = on_info;
	c.ctx.cb_arg = &c;
	c.tty = isatty(2);
	if ((e = getenv("PKGIMG_FORCE_BUILD")) && !strcmp(e, "1"))
		c.ctx.flags |= PKGIMG_F_FORCE_BUILD;
	if ((e = getenv("PKGIMG_MAX_DOWNLOAD")) && *e &&
	    str_parse_size(e, &c.ctx.max_download) < 0) {
		return cli_usage(&c, "PKGIMG_MAX_DOWNLOAD=%s: give a size in bytes with an "
				 "optional K, M or G suffix (default 16G)", e);
	}
	if ((e = getenv("PKGIMG_UNPACK_SLACK")) && *e &&
	    str_parse_size(e, &c.ctx.unpack_slack) < 0) {
		return cli_usage(&c, "PKGIMG_UNPACK_SLACK=%s: give a size in bytes with an "
				 "optional K, M or G suffix (default 64M)", e);
	}
	{
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		c.ctx.jobs = n > 2 ? (int)n * 4 : 8;
		if (c.ctx.jobs > 16)
			c.ctx.jobs = 16;
	}
	/* global options stop at the first non-option (the command) */
	while ((opt = getopt_long(argc, argv, "+qvh", opts, NULL)) != -1) {
		switch (opt) {
		case 's': c.ctx.store_dir = xstrdup(optarg); break;
		case 'j':
			c.ctx.jobs = atoi(optarg);
			c.jobs_given = 1;
			if (c.ctx.jobs < 1 || c.ctx.jobs > 256) {
				return cli_usage(&c, "--jobs %s: give a number from 1 to 256", optarg);
			}
			break;
		case 'o': c.ctx.flags |= PKGIMG_F_OFFLINE; break;
		case 'C': c.ctx.ca_bundle = optarg; break;
		case 'J': c.ctx.flags |= PKGIMG_F_JSON; break;
		case 'q': c.ctx.flags |= PKGIMG_F_QUIET; break;
		case 'v': c.ctx.flags |= PKGIMG_F_VERBOSE; break;
		case 'P': cli_set_privileged(&c); break;
		case 'V': printf("pkgimg %s\n", PKGIMG_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	fetch_global_init();
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			optind = 0;	/* glibc: restart getopt for the command's options */
			if (!strcmp(commands[i].name, "lock") || !strcmp(commands[i].name, "install") ||
			    !strcmp(commands[i].name, "build"))
				heap_prepare((size_t)128 << 20);	/* the pools they load */
			rc = commands[i].fn(&c, sub_argc, sub_argv);
			goto out;
		}
	}
	rc = cli_usage(&c, "unknown command '%s'; `pkgimg --help` lists them", argv[optind]);
out:
	cli_clear_progress(&c);
	if (c.store_opened)
		store_close(&c.st);
	fetch_global_cleanup();
	free(c.ctx.store_dir);
	return rc;
}
