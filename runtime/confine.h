/* The security posture of a sandboxed command, applied by its own process
 * just before it executes: what a rootful container engine gives a container
 * by default (Docker's capability list and seccomp profile, runc's masks),
 * so that code from a package or an image cannot reach the host even when
 * pkgimg runs as root.
 *
 * What it does, in order:
 *   - a new anonymous session keyring (the caller's keys are not reachable);
 *   - the capability bounding set cut to CONFINE_CAPS (without CAP_NET_RAW
 *     when the command shares the host's network: Docker's containers have a
 *     network of their own), ambient and inheritable sets cleared, effective
 *     and permitted sets cut to the same list;
 *   - no_new_privs;
 *   - a seccomp filter (libseccomp) that refuses with EPERM what Docker's
 *     default profile refuses to a container without extra capabilities
 *     (mount and the new mount API, open_by_handle_at, keyctl, bpf, module
 *     loading, kexec, namespaces, reboot, the clock, swap, ...), block device
 *     nodes, and the terminal's TIOCSTI/TIOCLINUX; clone3 answers ENOSYS so
 *     that libc falls back to clone, whose namespace flags are checked.  The
 *     same rules hold for 32-bit (x86, x32) code.
 * privileged: none of that (the behaviour before, by name).  build: fsync and
 * its kin return 0 at once in both modes (a layer is committed by rename). */
#ifndef PKGIMG_CONFINE_H
#define PKGIMG_CONFINE_H

struct pkgimg_ctx;

struct confine_opts {
	int privileged;		/* --privileged: keep every capability, no filter */
	int build;		/* fsync & co. are no-ops */
	int host_network;	/* the command shares the host's network */
};

/* Applies the posture to the calling process (which is about to execve or
 * run a callback).  Returns 0, or a negative code with the message on ctx
 * (which step failed and why). */
int confine_apply(struct pkgimg_ctx *ctx, const struct confine_opts *o);

/* The paths runc masks (an empty read-only tmpfs over a directory, /dev/null
 * over a file) and those it makes read-only, inside the new /proc and /sys. */
extern const char *const confine_masked_paths[];
extern const char *const confine_readonly_paths[];

#endif
