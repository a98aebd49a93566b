/* The sandbox: runs a command inside an image (see runtime/sandbox.h).
 *
 * Processes
 *   caller --fork--> helper   unshare(mnt, pid, uts, ipc [, user] [, net]),
 *                             uid/gid maps, "/" made rprivate; forwards the
 *                             signals sent to it to init; exits with init's status
 *          --fork--> init     pid 1 of the new pid namespace: mounts the image,
 *                             pivot_root, hostname, lo up, cwd, finds argv[0];
 *                             forwards signals to the command, reaps orphans and
 *                             exits with the command's status (which kills what
 *                             the command left running)
 *          --fork--> command  default signal dispositions, empty mask, fds
 *                             past stderr closed on exec; execs
 *   Setup errors are formatted on the child's copy of ctx and sent to the
 *   caller through a CLOEXEC pipe as {code, length, text}; the caller puts the
 *   text on its ctx.  Signals that the terminal sends to the whole foreground
 *   process group (si_code SI_KERNEL) are not forwarded: the command got them
 *   already.
 *
 * Files, all under SB = SCRATCH/sandbox-XXXXXX, which is removed at the end
 *   SB/root   mount point of the overlay (host side; always left empty there)
 *   SB/work   overlayfs workdir: must be on the same filesystem mount as the
 *             upper, so the scratch dir must live next to the upper (the store's
 *             tmp/ for a layer being built in the store)
 *   SB/upper  the upper when the caller gives none: discarded with SB
 *   SB/skel   the bottom lower layer: empty mount points (proc, dev, sys, tmp,
 *             etc/hosts, etc/resolv.conf and the bind destinations).  Mounting
 *             thus never creates anything in the upper, which may be a layer
 *             being built; the image's own entries win over the skeleton.  Only
 *             when an image hides a mount point (a whiteout, a symlink on the
 *             way) is the missing bind destination created inside the image,
 *             and then it lands in the upper.
 *   SB/hosts  the generated /etc/hosts (localhost and the hostname)
 *
 * Mounts, inside the sandbox's private mount namespace (they vanish with it):
 * the overlay (fsopen + "lowerdir+" per layer, any number of layers, on
 * Linux >= 6.8; mount(2) with one option string of at most a page before);
 * a new procfs; /dev a tmpfs holding binds of the host's null, zero, full,
 * random, urandom, tty, a new devpts instance, /dev/shm; /tmp a tmpfs;
 * /proc/sys, /proc/sysrq-trigger, /proc/irq, /proc/bus read-only; the host's
 * /sys read-only; the host's /etc/resolv.conf and SB/hosts read-only; the
 * caller's binds.  Host-side mounts are cloned with open_tree() before
 * pivot_root and attached with move_mount() after it, so bind destinations
 * (and symlinks on the way to them) are resolved inside the image, never on
 * the host.
 *
 * Overlay metadata (opaque dirs, redirects) uses the user.overlay.* xattrs
 * ("userxattr") whether or not we are root, so a layer tree means the same to
 * a root and a rootless run.
 *
 * Rootless (euid != 0): a user namespace maps the caller to root and nothing
 * else, so chown to other ids fails inside, and host files owned by others
 * show as nobody.  Needs unprivileged user namespaces and Linux >= 5.11 for
 * overlayfs in them.  Kernel needs: open_tree/move_mount (5.2), mount_setattr
 * (5.12).  Root without CAP_SYS_ADMIN (an unprivileged container) falls back
 * to a user namespace too.
 *
 * The command itself runs confined (runtime/confine.h): Docker's default
 * capabilities, no_new_privs, a seccomp filter like Docker's default profile,
 * runc's masked and read-only /proc and /sys paths, a session keyring of its
 * own, and the overlay, /dev and /tmp mounted nodev (only the nodes bound in
 * can be opened).  So as root too, code from a package or an image cannot
 * remount, unmount, reach the host's files by handle, load modules or touch
 * the host's devices and network interfaces.  PKGIMG_F_PRIVILEGED
 * (--privileged) turns all of that off.  pid 1 and the helper keep their
 * capabilities; the command cannot ptrace them (it holds fewer). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "runtime/confine.h"
#include "runtime/sandbox.h"

#define SB_SETUP_FAILED 125	/* exit status of a process that reported an error */
#define SB_HOSTNAME "pkgimg"

/* Host device nodes bound into the sandbox's /dev. */
static const char *const sb_dev_nodes[] = {
	"null", "zero", "full", "random", "urandom", "tty",
};
#define SB_NDEV (int)(sizeof sb_dev_nodes / sizeof sb_dev_nodes[0])

/* Signals that the helper and init pass on to their child. */
static const int sb_fwd_signals[] = {
	SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM,
};

struct sb_bind {
	const char *src;
	char *dst;		/* normalised: absolute, no "", ".", ".." components */
	int isdir;		/* src (followed) is a directory */
	int readonly;
};

/* One run: what the parent prepared, shared by copy with the children. */
struct sb {
	struct pkgimg_ctx *ctx;
	const struct sandbox_opts *o;
	char *dir;		/* SB */
	char *root, *work, *skel, *hosts;
	char *upper_own;	/* SB/upper when the caller gave no upper */
	const char *upper;
	const char *cwd, *hostname, *path;
	char *const *env;
	struct strv defenv;
	struct sb_bind *binds;
	int nbinds;
	int has_resolv, has_sys;
	int userns;
	uid_t uid;
	gid_t gid;
	pid_t caller;
	int errfd;		/* write end of the report pipe */
	sigset_t waitset;	/* SIGCHLD + forwarded signals */
};

static int sb_privileged(const struct sb *sb)
{
	return !!(sb->ctx->flags & PKGIMG_F_PRIVILEGED);
}

/* ---- child side: reporting, waiting ---- */

static void sb_report(int fd, int code, const char *msg)
{
	char buf[4000];
	int32_t head[2];
	size_t n = strlen(msg);

	if (n > sizeof buf - sizeof head)
		n = sizeof buf - sizeof head;
	head[0] = code;
	head[1] = (int32_t)n;
	memcpy(buf, head, sizeof head);
	memcpy(buf + sizeof head, msg, n);
	/* one write below PIPE_BUF: atomic, never interleaved */
	if (write(fd, buf, sizeof head + n) < 0) {
		/* nothing left to tell it with */
	}
}

static __attribute__((noreturn)) void sb_fail(struct sb *sb, int code)
{
	sb_report(sb->errfd, code, sb->ctx->errmsg);
	_exit(SB_SETUP_FAILED);
}

static int sb_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 255;
}

/* Waits for child with the wait set blocked, forwarding the signals that a
 * process sent us (not those from the terminal, which child got too); with
 * reap_all (init) also reaps every orphan.  Returns child's status. */
static int sb_wait(pid_t child, const sigset_t *set, int reap_all)
{
	siginfo_t si;
	pid_t p;
	int sig, st;

	for (;;) {
		sig = sigwaitinfo(set, &si);
		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			if (si.si_code <= 0)	/* SI_USER, SI_QUEUE, SI_TKILL */
				kill(child, sig);
			continue;
		}
		while ((p = waitpid(reap_all ? -1 : child, &st, WNOHANG)) > 0)
			if (p == child)
				return sb_status(st);
		if (p < 0 && errno == ECHILD)
			return 255;
	}
}

/* ---- helper: namespaces ---- */

static int sb_write_proc(struct pkgimg_ctx *ctx, const char *path, const char *text)
{
	size_t n = strlen(text);
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] open: %m", path);
	if (write(fd, text, n) != (ssize_t)n)
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] write '%.*s': %m",
			       path, (int)strcspn(text, "\n"), text);
	close(fd);
	return r;
}

static int sb_map_ids(struct sb *sb)
{
	char line[64];
	int r;

	r = sb_write_proc(sb->ctx, "/proc/self/setgroups", "deny");
	if (r < 0)
		return r;
	snprintf(line, sizeof line, "0 %u 1\n", (unsigned)sb->uid);
	r = sb_write_proc(sb->ctx, "/proc/self/uid_map", line);
	if (r < 0)
		return r;
	snprintf(line, sizeof line, "0 %u 1\n", (unsigned)sb->gid);
	return sb_write_proc(sb->ctx, "/proc/self/gid_map", line);
}

static int sb_unshare(struct sb *sb)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	int base = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC, e;

	if (!sb->o->network)
		base |= CLONE_NEWNET;
	if (unshare(base | (sb->userns ? CLONE_NEWUSER : 0)) < 0) {
		e = errno;
		/* root without CAP_SYS_ADMIN (an unprivileged container): try
		 * a user namespace, where we get it */
		if (e == EPERM && !sb->userns && unshare(base | CLONE_NEWUSER) == 0) {
			sb->userns = 1;
		} else if (sb->userns || e != EPERM) {
			errno = e;
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				"%s: [sandbox] unshare namespaces: %m; rootless runs need "
				"unprivileged user namespaces (user.max_user_namespaces > 0; "
				"kernel.unprivileged_userns_clone=1 on Debian kernels before 5.10; "
				"kernel.apparmor_restrict_unprivileged_userns=0 on Ubuntu), "
				"or run as root", sb->o->argv[0]);
		} else {
			errno = e;
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				"%s: [sandbox] unshare namespaces: %m; needs CAP_SYS_ADMIN or "
				"user namespaces (in a container: run it privileged)",
				sb->o->argv[0]);
		}
	}
	if (sb->userns)
		return sb_map_ids(sb);
	return 0;
}

/* ---- init: the image's mounts ---- */

/* Appends the messages the kernel logged on a filesystem context. */
static void sb_fc_log(int fd, struct sbuf *log)
{
	char buf[512];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf - 1)) > 0) {
		buf[n] = 0;
		if (buf[n - 1] == '\n')
			buf[--n] = 0;
		sbuf_addf(log, "; %s", n > 2 && buf[1] == ' ' ? buf + 2 : buf);
	}
}

static const char *sb_overlay_hint(const struct sb *sb)
{
	if (sb->userns)
		return " (the upper and the scratch dir must be on one filesystem mount; "
		       "overlayfs in a user namespace needs Linux >= 5.11 and an upper "
		       "filesystem with user xattrs: ext4, xfs, btrfs, tmpfs >= 6.6)";
	return " (the upper and the scratch dir must be on one filesystem mount, "
	       "and no other mount may be using the upper)";
}

/* Overlay through the new mount API, one "lowerdir+" per layer (Linux >= 6.8).
 * Returns 1 when the kernel lacks it (fall back to mount(2)). */
static int sb_overlay_fsopen(struct sb *sb)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	const struct sandbox_opts *o = sb->o;
	struct sbuf log = SBUF_INIT;
	const char *what = sb->root, *key = "create";
	int fd, mfd = -1, i, r = 0, e;

	fd = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOSYS)
			return 1;
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				  "%s: [sandbox] mount overlay: %m%s", sb->root,
				  errno == ENODEV ? " (overlayfs is not available: modprobe overlay)" : "");
	}
	if (fsconfig(fd, FSCONFIG_SET_STRING, "source", "pkgimg", 0) < 0) {
		key = "source";
		goto fail;
	}
	for (i = 0; i <= o->nlowers; i++) {
		what = i < o->nlowers ? o->lowers[i] : sb->skel;
		key = "lowerdir+";
		if (fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", what, 0) < 0) {
			if (i == 0 && errno == EINVAL) {
				r = 1;	/* no lowerdir+ before 6.8 */
				goto out;
			}
			goto fail;
		}
	}
	what = sb->upper;
	key = "upperdir";
	if (fsconfig(fd, FSCONFIG_SET_STRING, "upperdir", sb->upper, 0) < 0)
		goto fail;
	what = sb->work;
	key = "workdir";
	if (fsconfig(fd, FSCONFIG_SET_STRING, "workdir", sb->work, 0) < 0)
		goto fail;
	what = sb->upper;
	key = "userxattr";
	if (fsconfig(fd, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		goto fail;
	key = "create";
	if (fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto fail;
	/* device nodes a package or a command made are never opened */
	mfd = fsmount(fd, FSMOUNT_CLOEXEC, sb_privileged(sb) ? 0 : MOUNT_ATTR_NODEV);
	key = "fsmount";
	if (mfd < 0)
		goto fail;
	what = sb->root;
	key = "attach";
	if (move_mount(mfd, "", AT_FDCWD, sb->root, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		goto fail;
	goto out;
fail:
	e = errno;
	sb_fc_log(fd, &log);
	errno = e;
	r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] mount overlay (%s): %m%s%s",
		       what, key, log.buf ? log.buf : "", sb_overlay_hint(sb));
out:
	if (mfd >= 0)
		close(mfd);
	close(fd);
	sbuf_free(&log);
	return r;
}

static void sb_escape(struct sbuf *s, const char *path)
{
	for (; *path; path++) {
		if (*path == ':' || *path == ',' || *path == '\\')
			sbuf_addc(s, '\\');
		sbuf_addc(s, *path);
	}
}

/* Overlay through mount(2): the options must fit in one page. */
static int sb_overlay_legacy(struct sb *sb)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	const struct sandbox_opts *o = sb->o;
	struct sbuf opts = SBUF_INIT;
	long page = sysconf(_SC_PAGESIZE);
	int i, r = 0;

	sbuf_adds(&opts, "lowerdir=");
	for (i = 0; i < o->nlowers; i++) {
		sb_escape(&opts, o->lowers[i]);
		sbuf_addc(&opts, ':');
	}
	sb_escape(&opts, sb->skel);
	sbuf_adds(&opts, ",upperdir=");
	sb_escape(&opts, sb->upper);
	sbuf_adds(&opts, ",workdir=");
	sb_escape(&opts, sb->work);
	sbuf_adds(&opts, ",userxattr");
	if (page > 0 && opts.len >= (size_t)page) {
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
			       "%s: [sandbox] mount overlay: %d layers need %zu bytes of "
			       "mount options, more than the %ld this kernel takes; Linux >= 6.8 "
			       "takes any number of layers (fsconfig lowerdir+), or use fewer "
			       "layers or a shorter store path", sb->root, o->nlowers,
			       opts.len + 1, page - 1);
		goto out;
	}
	if (mount("pkgimg", sb->root, "overlay", sb_privileged(sb) ? 0 : MS_NODEV, opts.buf) < 0)
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
			       "%s: [sandbox] mount overlay (%s): %m%s%s", sb->root, opts.buf,
			       errno == ENODEV ? " (overlayfs is not available: modprobe overlay)" : "",
			       sb_overlay_hint(sb));
out:
	sbuf_free(&opts);
	return r;
}

static int sb_mount_overlay(struct sb *sb)
{
	int r = sb_overlay_fsopen(sb);

	if (r == 1)
		r = sb_overlay_legacy(sb);
	return r;
}

/* A new procfs for init's pid namespace, made before pivot_root: in a user
 * namespace the kernel wants the host's /proc still in the mount namespace. */
static int sb_make_proc(struct sb *sb, int *fdp)
{
	struct sbuf log = SBUF_INIT;
	int fd, mfd = -1, r = 0, e;

	fd = fsopen("proc", FSOPEN_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX,
				  "/proc: [sandbox] mount proc: %m (needs Linux >= 5.2)");
	if (fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0 ||
	    (mfd = fsmount(fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			   MOUNT_ATTR_NOEXEC)) < 0) {
		e = errno;
		sb_fc_log(fd, &log);
		errno = e;
		r = pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX, "/proc: [sandbox] mount proc: %m%s%s",
			       log.buf ? log.buf : "",
			       e == EPERM ? " (in a user namespace the host's /proc must be "
			       "fully visible: no mounts over its files)" : "");
		goto out;
	}
	*fdp = mfd;
out:
	close(fd);
	sbuf_free(&log);
	return r;
}

/* A detached copy of the host mount tree at src, to be attached inside. */
static int sb_clone(struct pkgimg_ctx *ctx, const char *src, int rec, uint64_t attr,
		    int *fdp)
{
	struct mount_attr ma = { .attr_set = attr };
	int fd;

	fd = open_tree(AT_FDCWD, src, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
		       (rec ? AT_RECURSIVE : 0));
	if (fd < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				  "%s: [sandbox] bind mount (open_tree): %m%s", src,
				  errno == ENOSYS ? " (needs Linux >= 5.2)" : "");
	if (attr && mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0),
				  &ma, sizeof ma) < 0) {
		int r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				   "%s: [sandbox] make the bind mount read-only: %m%s", src,
				   errno == ENOSYS ? " (needs Linux >= 5.12)" : "");

		close(fd);
		return r;
	}
	*fdp = fd;
	return 0;
}

static int sb_attach(struct pkgimg_ctx *ctx, int fd, const char *dst, const char *what)
{
	if (move_mount(fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_SYMLINKS) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] mount %s: %m", dst, what);
	return 0;
}

static int sb_mount(struct pkgimg_ctx *ctx, const char *type, const char *dst,
		    unsigned long flags, const char *data)
{
	if (mount(type, dst, type, flags, data) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] mount %s (%s): %m",
				  dst, type, data ? data : "");
	return 0;
}

static int sb_mkdir(struct pkgimg_ctx *ctx, const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 && errno != EEXIST)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] mkdir: %m", path);
	if (chmod(path, mode) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] chmod: %m", path);
	return 0;
}

static int sb_symlink(struct pkgimg_ctx *ctx, const char *target, const char *path)
{
	if (symlink(target, path) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] symlink to %s: %m",
				  path, target);
	return 0;
}

/* /dev: a tmpfs with the host's harmless nodes bound in, devpts, shm. */
static int sb_setup_dev(struct sb *sb, const int *nodefd)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	static const char *const links[][2] = {
		{ "/proc/self/fd", "/dev/fd" }, { "/proc/self/fd/0", "/dev/stdin" },
		{ "/proc/self/fd/1", "/dev/stdout" }, { "/proc/self/fd/2", "/dev/stderr" },
		{ "pts/ptmx", "/dev/ptmx" },
	};
	char path[64];
	int i, fd, r;

	/* nodev: only the nodes bound in (mounts of their own) can be opened */
	r = sb_mount(ctx, "tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME |
		     (sb_privileged(sb) ? 0 : MS_NODEV), "mode=0755,size=65536k");
	if (r < 0)
		return r;
	for (i = 0; i < SB_NDEV; i++) {
		if (nodefd[i] < 0)
			continue;
		snprintf(path, sizeof path, "/dev/%s", sb_dev_nodes[i]);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] create: %m", path);
		close(fd);
		r = sb_attach(ctx, nodefd[i], path, "host device");
		if (r < 0)
			return r;
	}
	r = sb_mkdir(ctx, "/dev/pts", 0755);
	if (r < 0)
		return r;
	/* gid=5 (tty) only where that id exists: not in a one-id user namespace */
	r = sb_mount(ctx, "devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
		     sb->userns ? "newinstance,ptmxmode=0666,mode=0620"
				: "newinstance,ptmxmode=0666,mode=0620,gid=5");
	if (r < 0)
		return r;
	r = sb_mkdir(ctx, "/dev/shm", 01777);
	if (r < 0)
		return r;
	r = sb_mount(ctx, "tmpfs", "/dev/shm", MS_NOSUID | MS_NODEV, "mode=1777");
	if (r < 0)
		return r;
	for (i = 0; i < (int)(sizeof links / sizeof links[0]); i++) {
		r = sb_symlink(ctx, links[i][0], links[i][1]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Makes the overlay (current dir) the root; the host's tree is detached. */
static int sb_enter_root(struct sb *sb)
{
	struct pkgimg_ctx *ctx = sb->ctx;

	if (chdir(sb->root) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] chdir: %m", sb->root);
	if (syscall(SYS_pivot_root, ".", ".") == 0) {
		/* the old root is stacked on "."; drop it */
		if (umount2(".", MNT_DETACH) < 0)
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
					  "%s: [sandbox] detach the host root: %m", sb->root);
	} else if (errno == EINVAL) {
		/* the host root is no mount point (an initramfs): move and chroot */
		if (mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0)
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
					  "%s: [sandbox] pivot_root failed and so did chroot: %m",
					  sb->root);
	} else {
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] pivot_root: %m",
				  sb->root);
	}
	if (chdir("/") < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "/: [sandbox] chdir: %m");
	return 0;
}

/* When dst cannot be reached because a component of it in the image is a
 * symbolic link to nothing (or to a file), the error names the link and
 * its target; else 0. */
static int sb_explain_link(struct pkgimg_ctx *ctx, const char *dst)
{
	char *p = xstrdup(dst), target[4096];
	struct stat st;
	int r = 0;

	for (char *s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
		ssize_t n;

		if (s)
			*s = 0;
		if (lstat(p, &st) < 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			bool gone = stat(p, &st) < 0;

			if (gone || (s && !S_ISDIR(st.st_mode))) {
				n = readlink(p, target, sizeof target - 1);
				target[n > 0 ? n : 0] = 0;
				r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] bind mount: '%s' "
					       "in the image is a symbolic link to '%s', which %s; bind "
					       "to another path, or make the link's target in the image",
					       dst, p, target, gone ? "does not exist"
					       : "is not a directory");
				break;
			}
		}
		if (!s)
			break;
		*s = '/';
	}
	free(p);
	return r;
}

/* Makes dst exist inside (a dir or a file, as its source), resolving in the
 * image.  Normally the skeleton layer has it; an image that hides it gets it
 * created, in the upper (or in /dev's or /tmp's tmpfs).  Returns 1 when dst is
 * optional and missing or of the other type (the image keeps its own). */
static int sb_bind_target(struct pkgimg_ctx *ctx, const char *dst, int isdir, int optional)
{
	struct stat st;
	char *parent;
	int fd, r = 0, e;

	if (stat(dst, &st) == 0) {
		if (!!S_ISDIR(st.st_mode) == !!isdir)
			return 0;
		if (optional)
			return 1;
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
				  "%s: [sandbox] bind mount: the image has a %s there but "
				  "the source is a %s", dst, isdir ? "file" : "directory",
				  isdir ? "directory" : "file");
	}
	if (optional)
		return 1;
	if (errno != ENOENT && errno != ENOTDIR)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] bind mount: %m", dst);
	e = errno;
	r = sb_explain_link(ctx, dst);
	if (r < 0)
		return r;
	if (e == ENOTDIR)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] bind mount: %s", dst,
				  strerror(e));
	parent = xstrdup(dst);
	*strrchr(parent, '/') = 0;
	if (parent[0])
		r = fs_mkdirs(ctx, AT_FDCWD, parent, 0755);
	free(parent);
	if (r < 0)
		return pkgimg_err_wrap(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] bind mount", dst);
	if (isdir)
		return sb_mkdir(ctx, dst, 0755);
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] create mount point: %m",
				  dst);
	close(fd);
	return 0;
}

static int sb_lo_up(struct pkgimg_ctx *ctx)
{
	struct ifreq ifr;
	int fd, r = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "lo: [sandbox] socket: %m");
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "lo: [sandbox] get flags: %m");
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "lo: [sandbox] bring up: %m");
out:
	close(fd);
	return r;
}

/* The parts of the new /proc that reach the host's kernel (sysctls, sysrq)
 * are made read-only, so that a maintainer script's `sysctl -w` cannot change
 * the host as real root.  In a user namespace the kernel guards them anyway;
 * failures there are ignored. */
static int sb_proc_readonly(struct sb *sb)
{
	const char *const *paths = confine_readonly_paths;
	int i, fd, r = 0;

	for (i = 0; paths[i] && r == 0; i++) {
		if (access(paths[i], F_OK) < 0)
			continue;
		r = sb_clone(sb->ctx, paths[i], 1, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			     MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &fd);
		if (r < 0)
			break;
		r = sb_attach(sb->ctx, fd, paths[i], "read-only");
		close(fd);
	}
	return sb->userns ? 0 : r;
}

/* runc's masks: an empty read-only tmpfs over each directory, /dev/null over
 * each file of confine_masked_paths (the kernel's memory, the keys of every
 * user, timers and hardware details).  After /dev, whose null is bound. */
static int sb_mask(struct sb *sb)
{
	const char *const *paths = confine_masked_paths;
	struct stat st;
	int i, r = 0;

	if (sb_privileged(sb))
		return 0;
	for (i = 0; paths[i] && r == 0; i++) {
		if (stat(paths[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			r = sb_mount(sb->ctx, "tmpfs", paths[i], MS_RDONLY | MS_NOSUID |
				     MS_NODEV | MS_NOEXEC, "size=0,mode=0555");
		else if (mount("/dev/null", paths[i], NULL, MS_BIND, NULL) < 0)
			r = pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] mask: %m",
				       paths[i]);
	}
	return sb->userns ? 0 : r;
}

/* Everything init does before it starts the command. */
/* What sb_setup clones from the host before it enters the new root, and
 * attaches inside it afterwards. */
struct sb_host_fds {
	int node[SB_NDEV];
	int proc, resolv, hosts, sys;
	int *bind;		/* sb->nbinds of them */
};

static void sb_host_fds_close(struct sb *sb, struct sb_host_fds *h)
{
	for (int i = 0; i < SB_NDEV; i++)
		if (h->node[i] >= 0)
			close(h->node[i]);
	for (int i = 0; i < sb->nbinds; i++)
		if (h->bind[i] >= 0)
			close(h->bind[i]);
	if (h->proc >= 0)
		close(h->proc);
	if (h->resolv >= 0)
		close(h->resolv);
	if (h->hosts >= 0)
		close(h->hosts);
	if (h->sys >= 0)
		close(h->sys);
	free(h->bind);
}

/* The overlay, a new proc, and detached clones of the host's device nodes,
 * resolv.conf, hosts, /sys and the binds, taken while the host is visible. */
static int sb_clone_host(struct sb *sb, struct sb_host_fds *h)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	char path[64];
	int i, r;

	r = sb_mount_overlay(sb);
	if (r < 0)
		return r;
	r = sb_make_proc(sb, &h->proc);
	if (r < 0)
		return r;
	for (i = 0; i < SB_NDEV; i++) {
		snprintf(path, sizeof path, "/dev/%s", sb_dev_nodes[i]);
		if (access(path, F_OK) < 0)
			continue;
		r = sb_clone(ctx, path, 0, 0, &h->node[i]);
		if (r < 0)
			return r;
	}
	if (sb->has_resolv) {
		r = sb_clone(ctx, "/etc/resolv.conf", 0, MOUNT_ATTR_RDONLY, &h->resolv);
		if (r < 0)
			return r;
	}
	r = sb_clone(ctx, sb->hosts, 0, MOUNT_ATTR_RDONLY, &h->hosts);
	if (r < 0)
		return r;
	if (sb->has_sys) {
		r = sb_clone(ctx, "/sys", 1, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			     MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, &h->sys);
		if (r < 0)
			return r;
	}
	for (i = 0; i < sb->nbinds; i++) {
		r = sb_clone(ctx, sb->binds[i].src, 1,
			     sb->binds[i].readonly ? MOUNT_ATTR_RDONLY : 0, &h->bind[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Inside the new root: proc, /dev, /sys, the masks, /tmp, resolv.conf,
 * hosts and the binds, from what sb_clone_host took. */
static int sb_attach_host(struct sb *sb, struct sb_host_fds *h)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	int r;

	r = sb_bind_target(ctx, "/proc", 1, 0);
	if (r == 0)
		r = sb_attach(ctx, h->proc, "/proc", "proc");
	if (r == 0)
		r = sb_proc_readonly(sb);
	if (r < 0)
		return r;
	r = sb_bind_target(ctx, "/dev", 1, 0);
	if (r == 0)
		r = sb_setup_dev(sb, h->node);
	if (r < 0)
		return r;
	if (h->sys >= 0) {
		r = sb_bind_target(ctx, "/sys", 1, 0);
		if (r == 0)
			r = sb_attach(ctx, h->sys, "/sys", "sysfs (host, read-only)");
		if (r < 0)
			return r;
	}
	r = sb_mask(sb);
	if (r < 0)
		return r;
	r = sb_bind_target(ctx, "/tmp", 1, 0);
	if (r == 0)
		r = sb_mount(ctx, "tmpfs", "/tmp", MS_NOSUID | MS_NODEV, "mode=1777");
	if (r < 0)
		return r;
	/* where the image has no such file (a dangling symlink) it keeps its own */
	if (h->resolv >= 0) {
		r = sb_bind_target(ctx, "/etc/resolv.conf", 0, 1);
		if (r == 0)
			r = sb_attach(ctx, h->resolv, "/etc/resolv.conf", "the host's resolv.conf");
		if (r < 0)
			return r;
	}
	r = sb_bind_target(ctx, "/etc/hosts", 0, 1);
	if (r == 0)
		r = sb_attach(ctx, h->hosts, "/etc/hosts", "hosts");
	if (r < 0)
		return r;
	for (int i = 0; i < sb->nbinds; i++) {
		r = sb_bind_target(ctx, sb->binds[i].dst, sb->binds[i].isdir, 0);
		if (r == 0)
			r = sb_attach(ctx, h->bind[i], sb->binds[i].dst, sb->binds[i].src);
		if (r < 0)
			return r;
	}
	return 0;
}

static int sb_setup(struct sb *sb)
{
	struct pkgimg_ctx *ctx = sb->ctx;
	struct sb_host_fds h = { .proc = -1, .resolv = -1, .hosts = -1, .sys = -1 };
	int r;

	h.bind = xcalloc(sb->nbinds + 1, sizeof *h.bind);
	for (int i = 0; i < SB_NDEV; i++)
		h.node[i] = -1;
	for (int i = 0; i < sb->nbinds; i++)
		h.bind[i] = -1;
	r = sb_clone_host(sb, &h);
	if (r == 0)
		r = sb_enter_root(sb);
	if (r == 0)
		r = sb_attach_host(sb, &h);
	if (r < 0)
		goto out;
	if (sethostname(sb->hostname, strlen(sb->hostname)) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] sethostname: %m",
			       sb->hostname);
		goto out;
	}
	if (!sb->o->network) {
		r = sb_lo_up(ctx);
		if (r < 0)
			goto out;
	}
	if (chdir(sb->cwd) < 0)
		r = pkgimg_err(ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -PKGIMG_E_SANDBOX,
			       "%s: [run] working directory: %m%s", sb->cwd,
			       errno == ENOENT ? " in the image (create it in an earlier step)" : "");
out:
	sb_host_fds_close(sb, &h);
	return r;
}

/* argv[0] on the image's PATH, as execvp would look it up. */
static int sb_find_cmd(struct sb *sb, char **out)
{
	const char *cmd = sb->o->argv[0];
	struct stat st;
	bool noexec;

	if (strchr(cmd, '/')) {
		if (stat(cmd, &st) < 0 && errno == ENOENT)
			return pkgimg_err(sb->ctx, -PKGIMG_E_NOTFOUND,
					  "%s: [run] command not found in image", cmd);
		*out = xstrdup(cmd);
		return 0;
	}
	*out = fs_which(cmd, sb->path, &noexec);
	if (*out)
		return 0;
	return pkgimg_err(sb->ctx, -PKGIMG_E_NOTFOUND,
			  "%s: [run] command not found in image (PATH=%s)%s", cmd, sb->path,
			  noexec ? "; a file of that name is there but not executable" : "");
}

static __attribute__((noreturn)) void sb_command(struct sb *sb, const char *path)
{
	struct sigaction dfl;
	const char *hint = "";
	sigset_t none;
	int e, sig;

	/* a clean signal state, whatever the caller ignores (SIGPIPE, for
	 * libcurl) or blocks: `yes | head` must behave as on any system */
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* nothing of the caller's (store locks, sockets) leaks into the image */
	if (sb->o->output_fd > 2) {
		dup2(sb->o->output_fd, 1);
		dup2(sb->o->output_fd, 2);
	}
	close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	if (sb->o->fn)
		_exit(sb->o->fn(sb->ctx, sb->env, sb->o->fn_arg) & 0xff);
	execve(path, sb->o->argv, sb->env);
	e = errno;
	if (e == ENOENT)
		hint = " (its #! interpreter or its dynamic loader is missing from the image)";
	else if (e == ENOEXEC)
		hint = " (not an executable for this machine)";
	else if (e == EACCES)
		hint = " (no execute permission, or on a noexec mount)";
	errno = e;
	pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX, "%s: [run] cannot execute %s: %m%s",
		   sb->o->argv[0], path, hint);
	sb_report(sb->errfd, -PKGIMG_E_SANDBOX, sb->ctx->errmsg);
	_exit(127);
}

static __attribute__((noreturn)) void sb_init(struct sb *sb)
{
	char *path = NULL;
	int gate[2] = { -1, -1 };
	pid_t cmd;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	r = sb_setup(sb);
	if (r < 0)
		sb_fail(sb, r);
	r = sb->o->fn ? 0 : sb_find_cmd(sb, &path);
	if (r < 0)
		sb_fail(sb, r);
	/* pid 1 takes the command's posture before it starts it: nothing in
	 * the sandbox holds more than the command (which may then ptrace pid 1
	 * and read /proc/1/root, as ischroot does, and gain nothing by it) */
	{
		struct confine_opts co = {
			.privileged = sb_privileged(sb),
			.build = sb->o->build,
			.host_network = sb->o->network,
		};

		r = confine_apply(sb->ctx, &co);
		if (r < 0)
			sb_fail(sb, r);
	}
	if (sb->o->build && pipe2(gate, O_CLOEXEC) < 0)
		gate[0] = gate[1] = -1;
	cmd = fork();
	if (cmd < 0)
		sb_fail(sb, pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX,
				       "%s: [run] fork: %m", sb->o->argv[0]));
	if (cmd == 0) {
		char c;

		if (gate[0] >= 0) {	/* wait until pid 1 has moved its root */
			close(gate[1]);
			while (read(gate[0], &c, 1) < 0 && errno == EINTR)
				;
			close(gate[0]);
		}
		sb_command(sb, path);
	}
	if (sb->o->build) {
		/* /proc/1/root now differs from the command's "/"; best
		 * effort: without it only `ischroot` answers differently */
		if (chroot("/proc") < 0 || chdir("/") < 0)
			errno = 0;
		if (gate[0] >= 0) {
			close(gate[0]);
			close(gate[1]);
		}
	}
	_exit(sb_wait(cmd, &sb->waitset, 1));
}

static __attribute__((noreturn)) void sb_helper(struct sb *sb)
{
	struct sigaction dfl;
	pid_t init;
	int r;

	/* the signals arrive in sb_wait() from now on */
	sigprocmask(SIG_BLOCK, &sb->waitset, NULL);
	memset(&dfl, 0, sizeof dfl);
	dfl.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &dfl, NULL);	/* SIG_IGN would reap init for us */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sb->caller)
		_exit(SB_SETUP_FAILED);

	r = sb_unshare(sb);
	if (r < 0)
		sb_fail(sb, r);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		sb_fail(sb, pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX,
				       "/: [sandbox] make mounts private: %m"));
	init = fork();
	if (init < 0)
		sb_fail(sb, pkgimg_err(sb->ctx, -PKGIMG_E_SANDBOX,
				       "%s: [sandbox] fork pid 1: %m", sb->o->argv[0]));
	if (init == 0)
		sb_init(sb);
	_exit(sb_wait(init, &sb->waitset, 0));
}

/* ---- parent: preparation, report, cleanup ---- */

static int sb_norm_dst(struct pkgimg_ctx *ctx, const char *dst, char **out)
{
	struct sbuf s = SBUF_INIT;
	const char *p, *end;
	size_t n;

	if (!dst || dst[0] != '/')
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [sandbox] a bind destination must be an absolute path",
				  dst ? dst : "(null)");
	for (p = dst; *p; p = end) {
		while (*p == '/')
			p++;
		end = strchrnul(p, '/');
		n = end - p;
		if (n == 0 || (n == 1 && p[0] == '.'))
			continue;
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			sbuf_free(&s);
			return pkgimg_err(ctx, -PKGIMG_E_USAGE,
					  "%s: [sandbox] a bind destination must not contain '..'",
					  dst);
		}
		sbuf_addc(&s, '/');
		sbuf_add(&s, p, n);
	}
	if (!s.len)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [sandbox] cannot bind over the image's root", dst);
	*out = sbuf_detach(&s);
	return 0;
}

static int sb_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

/* Adds rel (a dir, or an empty file) and its parents to the skeleton. */
static int sb_skel_add(struct pkgimg_ctx *ctx, int skelfd, const char *rel, int isdir)
{
	char *p = xstrdup(rel), *s;
	int fd, r = 0;

	for (s = strchr(p, '/'); ; s = strchr(s + 1, '/')) {
		if (s)
			*s = 0;
		if (s || isdir) {
			if ((mkdirat(skelfd, p, 0755) < 0 && errno != EEXIST) ||
			    fchmodat(skelfd, p, 0755, 0) < 0) {
				r = pkgimg_err(ctx, -errno, "/%s: [sandbox] mount point: %m", p);
				break;
			}
		} else {
			fd = openat(skelfd, p, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
			if (fd < 0) {
				r = pkgimg_err(ctx, -errno, "/%s: [sandbox] mount point: %m", p);
				break;
			}
			close(fd);
		}
		if (!s)
			break;
		*s = '/';
	}
	free(p);
	return r;
}

static int sb_make_skel(struct pkgimg_ctx *ctx, struct sb *sb)
{
	static const char *const dirs[] = { "proc", "dev", "sys", "tmp", "etc" };
	int fd, i, r = 0;

	if (mkdir(sb->skel, 0755) < 0)
		return pkgimg_err(ctx, -errno, "%s: [sandbox] mkdir: %m", sb->skel);
	fd = open(sb->skel, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s: [sandbox] open: %m", sb->skel);
	if (fchmod(fd, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [sandbox] chmod: %m", sb->skel);
		goto out;
	}
	for (i = 0; i < (int)(sizeof dirs / sizeof dirs[0]) && r == 0; i++)
		r = sb_skel_add(ctx, fd, dirs[i], 1);
	if (r == 0 && sb->has_resolv)
		r = sb_skel_add(ctx, fd, "etc/resolv.conf", 0);
	if (r == 0)
		r = sb_skel_add(ctx, fd, "etc/hosts", 0);
	for (i = 0; i < sb->nbinds && r == 0; i++) {
		const char *dst = sb->binds[i].dst;

		/* those live on mounts of their own, made at run time */
		if (sb_under(dst, "/dev") || sb_under(dst, "/tmp") ||
		    sb_under(dst, "/proc") || sb_under(dst, "/sys"))
			continue;
		r = sb_skel_add(ctx, fd, dst + 1, sb->binds[i].isdir);
	}
out:
	close(fd);
	return r;
}

static int sb_mkdir_mode(struct pkgimg_ctx *ctx, const char *path, mode_t mode)
{
	if (mkdir(path, mode) < 0 || chmod(path, mode) < 0)
		return pkgimg_err(ctx, -errno, "%s: [sandbox] mkdir: %m", path);
	return 0;
}

/* Whether env (NULL-terminated "NAME=value"; NULL for none) sets the
 * variable that kv ("NAME=...") names. */
static bool env_sets(char *const *env, const char *kv)
{
	size_t n = strcspn(kv, "=") + 1;

	for (char *const *e = env; e && *e; e++)
		if (!strncmp(*e, kv, n))
			return true;
	return false;
}

void sandbox_default_env(struct strv *env, unsigned which, char *const *set)
{
	static const struct {
		unsigned bit;
		const char *kv;
	} defaults[] = {
		{ SANDBOX_ENV_PATH, "PATH=" SANDBOX_DEFAULT_PATH },
		{ SANDBOX_ENV_HOME, "HOME=/root" },
		{ SANDBOX_ENV_LANG, "LANG=C.UTF-8" },
		{ SANDBOX_ENV_TERM, "TERM=" },
	};

	for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
		const char *kv = defaults[i].kv, *term;

		if (!(which & defaults[i].bit) || env_sets(set, kv))
			continue;
		if (defaults[i].bit == SANDBOX_ENV_TERM) {
			term = getenv("TERM");
			strv_push(env, xasprintf("TERM=%s", term && *term ? term : "xterm"));
		} else {
			strv_add(env, kv);
		}
	}
}

static int sb_prepare(struct pkgimg_ctx *ctx, struct sb *sb, const struct sandbox_opts *o)
{
	char hosts[512];
	struct stat st;
	int i, r, n;

	if (!o->scratch || !o->scratch[0])
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "sandbox: [run] no scratch directory given");
	if (!o->argv || !o->argv[0] || !o->argv[0][0])
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "sandbox: [run] no command given");
	if (o->nlowers < 0 || (o->nlowers > 0 && !o->lowers) || o->nbinds < 0 ||
	    (o->nbinds > 0 && !o->binds))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [run] bad layer or bind list",
				  o->argv[0]);
	for (i = 0; i < o->nlowers; i++)
		if (!o->lowers[i] || !o->lowers[i][0])
			return pkgimg_err(ctx, -PKGIMG_E_USAGE, "%s: [run] layer %d has no path",
					  o->argv[0], i);
	sb->cwd = o->cwd ? o->cwd : "/";
	if (sb->cwd[0] != '/')
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [run] the working directory must be an absolute path", sb->cwd);
	sb->hostname = o->hostname ? o->hostname : SB_HOSTNAME;
	if (!sb->hostname[0] || strlen(sb->hostname) > 64 || strpbrk(sb->hostname, " \t\n/"))
		return pkgimg_err(ctx, -PKGIMG_E_USAGE,
				  "%s: [run] not a valid hostname (1-64 characters, no blanks)",
				  sb->hostname);

	sb->binds = xcalloc(o->nbinds + 1, sizeof *sb->binds);
	for (i = 0; i < o->nbinds; i++) {
		struct sb_bind *b = &sb->binds[i];

		b->src = o->binds[i].src;
		b->readonly = o->binds[i].readonly;
		r = sb_norm_dst(ctx, o->binds[i].dst, &b->dst);
		if (r < 0)
			return r;
		sb->nbinds++;
		if (!b->src || stat(b->src, &st) < 0)
			return pkgimg_err(ctx, b->src ? -errno : -PKGIMG_E_USAGE,
					  "%s: [sandbox] bind source for %s: %s", b->src ? b->src : "(null)",
					  b->dst, b->src ? strerror(errno) : "no path");
		b->isdir = S_ISDIR(st.st_mode);
	}

	if (o->env) {
		sb->env = o->env;
	} else {
		sandbox_default_env(&sb->defenv, SANDBOX_ENV_ALL, NULL);
		sb->env = sb->defenv.v;
	}
	sb->path = SANDBOX_DEFAULT_PATH;
	for (i = 0; sb->env[i]; i++)
		if (!strncmp(sb->env[i], "PATH=", 5))
			sb->path = sb->env[i] + 5;

	sb->uid = geteuid();
	sb->gid = getegid();
	sb->userns = sb->uid != 0;
	sb->has_resolv = stat("/etc/resolv.conf", &st) == 0 && S_ISREG(st.st_mode);
	sb->has_sys = stat("/sys", &st) == 0 && S_ISDIR(st.st_mode);

	sb->dir = xasprintf("%s/sandbox-XXXXXX", o->scratch);
	if (!mkdtemp(sb->dir)) {
		r = pkgimg_err(ctx, -errno, "%s: [sandbox] cannot create a scratch dir: %m",
			       o->scratch);
		free(sb->dir);
		sb->dir = NULL;
		return r;
	}
	sb->root = xasprintf("%s/root", sb->dir);
	sb->work = xasprintf("%s/work", sb->dir);
	sb->skel = xasprintf("%s/skel", sb->dir);
	sb->hosts = xasprintf("%s/hosts", sb->dir);
	r = sb_mkdir_mode(ctx, sb->root, 0755);
	if (r == 0)
		r = sb_mkdir_mode(ctx, sb->work, 0700);
	if (r == 0 && !o->upper) {
		sb->upper_own = xasprintf("%s/upper", sb->dir);
		r = sb_mkdir_mode(ctx, sb->upper_own, 0755);
	}
	sb->upper = o->upper ? o->upper : sb->upper_own;
	if (r == 0)
		r = sb_make_skel(ctx, sb);
	if (r < 0)
		return r;
	n = snprintf(hosts, sizeof hosts, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
		     "ip6-loopback\n127.0.1.1\t%s\n", sb->hostname);
	return fs_write_file(ctx, AT_FDCWD, sb->hosts, hosts, n, 0644);
}

/* rm -rf that also removes what a command left unreadable (mode 0 dirs). */
static int sb_rm_at(int dfd, const char *name)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -errno : 0;
	if ((st.st_mode & 0700) != 0700)
		fchmodat(dfd, name, 0700, 0);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		r = -errno;
		close(fd);
		return r;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		r = sb_rm_at(dirfd(d), de->d_name);
		if (r < 0)
			break;
	}
	closedir(d);
	if (r == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		r = -errno;
	return r;
}

static void sb_cleanup(struct pkgimg_ctx *ctx, struct sb *sb)
{
	const char *trees[3];
	int i, r;

	if (!sb->dir)
		return;
	/* the overlay was only ever mounted in the sandbox's namespace; if the
	 * mount point is not an empty dir here, touch nothing below it */
	if (rmdir(sb->root) < 0 && errno != ENOENT) {
		pkgimg_warn(ctx, "%s: [sandbox] cleanup: cannot remove the mount point: %m; "
			    "leaving %s behind", sb->root, sb->dir);
		return;
	}
	trees[0] = sb->work;
	trees[1] = sb->skel;
	trees[2] = sb->upper_own;	/* never the caller's upper */
	for (i = 0; i < 3; i++) {
		if (!trees[i])
			continue;
		r = sb_rm_at(AT_FDCWD, trees[i]);
		if (r < 0)
			pkgimg_warn(ctx, "%s: [sandbox] cleanup: %s", trees[i], strerror(-r));
	}
	if (unlink(sb->hosts) < 0 && errno != ENOENT)
		pkgimg_warn(ctx, "%s: [sandbox] cleanup: %m", sb->hosts);
	if (rmdir(sb->dir) < 0 && errno != ENOENT)
		pkgimg_warn(ctx, "%s: [sandbox] cleanup: %m", sb->dir);
}

static void sb_free(struct sb *sb)
{
	int i;

	for (i = 0; i < sb->nbinds; i++)
		free(sb->binds[i].dst);
	free(sb->binds);
	strv_free(&sb->defenv);
	free(sb->dir);
	free(sb->root);
	free(sb->work);
	free(sb->skel);
	free(sb->hosts);
	free(sb->upper_own);
}

/* Puts the first error a child sent on ctx; 0 when none came. */
static int sb_read_report(struct pkgimg_ctx *ctx, int fd)
{
	struct sbuf buf = SBUF_INIT;
	char chunk[4096];
	int32_t head[2];
	ssize_t n;
	int r = 0;

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while ((n = read(fd, chunk, sizeof chunk)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0)
			sbuf_add(&buf, chunk, n);
	if (buf.len < sizeof head)
		goto out;
	memcpy(head, buf.buf, sizeof head);
	if (head[1] < 0 || (size_t)head[1] > buf.len - sizeof head)
		head[1] = (int32_t)(buf.len - sizeof head);
	r = head[0] < 0 ? head[0] : -PKGIMG_E_SANDBOX;
	pkgimg_err(ctx, r, "%.*s", (int)head[1], buf.buf + sizeof head);
out:
	sbuf_free(&buf);
	return r;
}

int sandbox_run(struct pkgimg_ctx *ctx, const struct sandbox_opts *o, int *status)
{
	struct sb sb;
	int pfd[2] = { -1, -1 }, st, r, i;
	pid_t pid;

	memset(&sb, 0, sizeof sb);
	sb.ctx = ctx;
	sb.o = o;
	sb.errfd = -1;
	r = sb_prepare(ctx, &sb, o);
	if (r < 0)
		goto out;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [sandbox] pipe: %m", o->argv[0]);
		goto out;
	}
	sb.errfd = pfd[1];
	sb.caller = getpid();
	sigemptyset(&sb.waitset);
	sigaddset(&sb.waitset, SIGCHLD);
	for (i = 0; i < (int)(sizeof sb_fwd_signals / sizeof sb_fwd_signals[0]); i++)
		sigaddset(&sb.waitset, sb_fwd_signals[i]);

	pid = fork();
	if (pid < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [sandbox] fork: %m", o->argv[0]);
		goto out;
	}
	if (pid == 0) {
		close(pfd[0]);
		sb_helper(&sb);
	}
	close(pfd[1]);
	pfd[1] = -1;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			r = pkgimg_err(ctx, -errno, "%s: [sandbox] wait: %m", o->argv[0]);
			goto out;
		}
	}
	r = sb_read_report(ctx, pfd[0]);
	if (r < 0)
		goto out;
	*status = sb_status(st);
out:
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (pfd[1] >= 0)
		close(pfd[1]);
	sb_cleanup(ctx, &sb);
	sb_free(&sb);
	return r;
}
