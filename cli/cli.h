/* The command-line front end: the only place that prints and exits. */
#ifndef PKGIMG_CLI_H
#define PKGIMG_CLI_H

#include "cache/store.h"
#include "core/ctx.h"

#define PKGIMG_VERSION "0.1.0"

struct cli {
	struct pkgimg_ctx ctx;
	struct store st;
	int store_opened;
	int tty;		/* stderr is a terminal: draw progress */
	int progress_shown;
	int jobs_given;		/* --jobs was on the command line */
};

/* Opens the store named by --store / $PKGIMG_HOME / XDG default. */
int cli_open_store(struct cli *c);
/* Prints "pkgimg: error: MESSAGE" and returns the exit code for r. */
int cli_fail(struct cli *c, int r);
/* A bad command line: the message (printf format) on ctx, printed by
 * cli_fail as -PKGIMG_E_USAGE; returns the exit code 2. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cli_clear_progress(struct cli *c);
/* --privileged: the sandbox keeps root's capabilities (with a warning). */
void cli_set_privileged(struct cli *c);

int cmd_lock(struct cli *c, int argc, char **argv);
int cmd_install(struct cli *c, int argc, char **argv);
int cmd_run(struct cli *c, int argc, char **argv);
int cmd_images(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_gc(struct cli *c, int argc, char **argv);
int cmd_tag(struct cli *c, int argc, char **argv);
int cmd_pyc(struct cli *c, int argc, char **argv);
int cmd_build(struct cli *c, int argc, char **argv);
int cmd_wheel(struct cli *c, int argc, char **argv);

struct apt_sources;
struct lockfile;
struct spec;
struct strv;
/* The apt sources: --apt-source lines when given, else the host's
 * ($PKGIMG_APT_ETC, else /etc/apt). */
int cli_load_apt_sources(struct cli *c, const struct strv *lines, struct apt_sources *srcs);
int cmd_export(struct cli *c, int argc, char **argv);

#endif
