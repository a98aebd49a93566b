/* Runs a command inside an image: the image's layers mounted as overlayfs
 * (lower = layers, top first; upper = a writable dir), in private mount, pid,
 * uts and ipc namespaces (and a user namespace when not root), with /proc, a
 * minimal /dev, a tmpfs /tmp, the host's /etc/resolv.conf, bind mounts, an
 * environment and a working directory.  The command's exit status is passed
 * back. */
#ifndef PKGIMG_SANDBOX_H
#define PKGIMG_SANDBOX_H

struct pkgimg_ctx;
struct strv;

struct sandbox_bind {
	const char *src;	/* host path */
	const char *dst;	/* path inside the image (absolute) */
	int readonly;
};

/* The PATH of a command run in an image whose env does not set one (what
 * Docker's images carry); run, build, scripts and the OCI config use it. */
#define SANDBOX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* The default environment of a command in an image, for what the image's
 * config does not set, as Docker gives a container.  The one definition:
 * `pkgimg run`, a build's RUN step, maintainer scripts, the bytecode
 * compiler, ldconfig and the OCI config take theirs from here. */
enum sandbox_env {
	SANDBOX_ENV_PATH = 1 << 0,	/* PATH=SANDBOX_DEFAULT_PATH */
	SANDBOX_ENV_HOME = 1 << 1,	/* HOME=/root */
	SANDBOX_ENV_LANG = 1 << 2,	/* LANG=C.UTF-8 */
	SANDBOX_ENV_TERM = 1 << 3,	/* TERM: the caller's, "xterm" when it has none */
	SANDBOX_ENV_BASE = SANDBOX_ENV_PATH | SANDBOX_ENV_HOME | SANDBOX_ENV_LANG,
	SANDBOX_ENV_ALL = SANDBOX_ENV_BASE | SANDBOX_ENV_TERM,
};

/* Appends to env, in the order above, each default named in `which`
 * (SANDBOX_ENV_* or'ed) whose variable `set` (a NULL-terminated list of
 * "NAME=value", NULL for none) does not set. */
void sandbox_default_env(struct strv *env, unsigned which, char *const *set);

struct sandbox_opts {
	const char *const *lowers;	/* layer tree dirs, top first (may be 0 of them) */
	int nlowers;
	const char *upper;		/* writable upper dir; NULL = a scratch dir, discarded */
	const char *scratch;		/* a dir on the same fs as upper for work/ and mount
					   points (e.g. a store tmp dir); required */
	char *const *argv;		/* command; argv[0] resolved on the image's PATH */
	char *const *env;		/* full environment, NULL-terminated; NULL = the default
					   (sandbox_default_env's SANDBOX_ENV_ALL) */
	const char *cwd;		/* working dir inside; NULL = "/" */
	const struct sandbox_bind *binds;
	int nbinds;
	int network;			/* 1 = host network (default), 0 = new empty netns */
	const char *hostname;		/* NULL = "pkgimg" */
	int output_fd;			/* > 2: the command's stdout and stderr go to this
					   fd (e.g. a log); 0 = inherit the caller's */
	int build;			/* 1 = maintainer scripts of a layer being built:
					   fsync() and its kin return at once (the layer is
					   committed by rename; a crash leaves only tmp/),
					   and pid 1 keeps its root apart so that the
					   command is in a chroot as `ischroot` sees it,
					   the way images are built (scripts then skip
					   re-executing init and restarting services) */
	int (*fn)(struct pkgimg_ctx *ctx, char *const *env, void *arg);
					/* non-NULL: instead of executing argv, the
					   command's process calls fn(ctx, env, arg) inside
					   the image (mounts, root, cwd and a clean signal
					   state set up; the caller's fds still open) and
					   exits with what it returns; argv[0] only names
					   it in messages.  For a driver that starts and
					   feeds several processes in one sandbox (pyc/). */
	void *fn_arg;
};

/* Runs argv; *status gets the exit code (128+signal when killed).  Returns 0
 * when the command ran (whatever its status), a negative code when the
 * sandbox could not be set up (message on ctx: which mount, which path, why,
 * and the fix, e.g. "overlayfs needs Linux >= 5.11 in a user namespace"). */
int sandbox_run(struct pkgimg_ctx *ctx, const struct sandbox_opts *o, int *status);

#endif
