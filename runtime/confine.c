/* The security posture of a sandboxed command (see runtime/confine.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/keyctl.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "core/ctx.h"
#include "core/error.h"
#include "runtime/confine.h"

/* Docker's default capabilities (moby's oci/caps/defaults.go). */
static const int confine_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID, CAP_KILL, CAP_SETGID,
	CAP_SETUID, CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_SYS_CHROOT,
	CAP_MKNOD, CAP_AUDIT_WRITE, CAP_SETFCAP,
};

const char *const confine_masked_paths[] = {
	"/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
	"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
	"/sys/firmware", "/sys/devices/virtual/powercap", NULL,
};

const char *const confine_readonly_paths[] = {
	"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", NULL,
};

/* What Docker's default profile leaves out for a container without extra
 * capabilities (and what it gates on CAP_SYS_ADMIN, CAP_SYS_MODULE,
 * CAP_SYS_BOOT, CAP_SYS_TIME, CAP_SYS_PACCT, CAP_SYS_NICE, CAP_SYSLOG,
 * CAP_SYS_RAWIO, CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH).  Names the running
 * architecture lacks are skipped. */
static const char *const confine_denied[] = {
	"acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module",
	"delete_module", "fanotify_init", "finit_module", "fsconfig", "fsmount",
	"fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "init_module",
	"io_uring_enter", "io_uring_register", "io_uring_setup", "ioperm", "iopl",
	"kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind",
	"mount", "mount_setattr", "move_mount", "move_pages", "name_to_handle_at",
	"nfsservctl", "open_by_handle_at", "open_tree", "perf_event_open",
	"pidfd_getfd", "pivot_root", "process_madvise", "query_module", "quotactl",
	"quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns",
	"settimeofday", "stime", "swapoff", "swapon", "_sysctl", "sysfs", "syslog",
	"umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vhangup",
	"vm86", "vm86old",
};

static const char *const confine_nosync[] = {
	"fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "sync_file_range2",
	"arm_sync_file_range",
};

static int confine_keep(int cap, const struct confine_opts *o)
{
	size_t i;

	if (cap == CAP_NET_RAW && o->host_network)
		return 0;
	for (i = 0; i < sizeof confine_caps / sizeof confine_caps[0]; i++)
		if (confine_caps[i] == cap)
			return 1;
	return 0;
}

static int confine_caps_apply(struct pkgimg_ctx *ctx, const struct confine_opts *o)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];
	int cap;

	/* the bounding set first: dropping needs CAP_SETPCAP, which stays */
	for (cap = 0; cap < 64; cap++) {
		if (confine_keep(cap, o))
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)	/* past the kernel's last capability */
				break;
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
					  "[sandbox] drop capability %d from the bounding set: %m",
					  cap);
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] clear the ambient capabilities: %m");
	memset(data, 0, sizeof data);
	for (cap = 0; cap < 64; cap++) {
		if (!confine_keep(cap, o))
			continue;
		data[cap / 32].effective |= 1u << (cap % 32);
		data[cap / 32].permitted |= 1u << (cap % 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] set the capabilities: %m");
	return 0;
}

static int confine_rule(struct pkgimg_ctx *ctx, scmp_filter_ctx f, uint32_t action,
			const char *name, unsigned n, const struct scmp_arg_cmp *cmp)
{
	int nr = seccomp_syscall_resolve_name(name), r;

	if (nr == __NR_SCMP_ERROR)
		return 0;	/* not a system call of this architecture */
	r = seccomp_rule_add_array(f, action, nr, n, cmp);
	if (r < 0 && r != -EDOM)	/* -EDOM: a pseudo call of another arch */
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "%s: [sandbox] seccomp rule: %s", name,
				  strerror(-r));
	return 0;
}

static int confine_rules(struct pkgimg_ctx *ctx, scmp_filter_ctx f, const struct confine_opts *o)
{
	static const int nsflags[] = {
		CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWUSER, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWCGROUP,
	};
	struct scmp_arg_cmp c;
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && o->build && i < sizeof confine_nosync / sizeof confine_nosync[0]; i++)
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(0), confine_nosync[i], 0, NULL);
	if (o->privileged)
		return r;
	for (i = 0; r == 0 && i < sizeof confine_denied / sizeof confine_denied[0]; i++)
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), confine_denied[i], 0, NULL);
	/* libc falls back from clone3 (whose flags are behind a pointer) to clone */
	if (r == 0)
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(ENOSYS), "clone3", 0, NULL);
	for (i = 0; r == 0 && i < sizeof nsflags / sizeof nsflags[0]; i++) {
		c = SCMP_A0(SCMP_CMP_MASKED_EQ, (scmp_datum_t)nsflags[i], (scmp_datum_t)nsflags[i]);
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), "clone", 1, &c);
	}
	/* block devices: the nodes could reach the host's disks */
	if (r == 0) {
		c = SCMP_A1(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK);
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), "mknod", 1, &c);
	}
	if (r == 0) {
		c = SCMP_A2(SCMP_CMP_MASKED_EQ, S_IFMT, S_IFBLK);
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), "mknodat", 1, &c);
	}
	/* the caller's terminal: no input pushed into it, no console tricks */
	if (r == 0) {
		c = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCSTI);
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c);
	}
	if (r == 0) {
		c = SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, TIOCLINUX);
		r = confine_rule(ctx, f, SCMP_ACT_ERRNO(EPERM), "ioctl", 1, &c);
	}
	return r;
}

static int confine_seccomp(struct pkgimg_ctx *ctx, const struct confine_opts *o)
{
	scmp_filter_ctx f;
	int r;

	if (o->privileged && !o->build)
		return 0;
	f = seccomp_init(SCMP_ACT_ALLOW);
	if (!f)
		return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] seccomp: cannot create a filter");
#if defined(__x86_64__)
	/* the same rules for 32-bit code, which enters through other numbers */
	r = seccomp_arch_add(f, SCMP_ARCH_X86);
	if (r == 0)
		r = seccomp_arch_add(f, SCMP_ARCH_X32);
	if (r < 0 && r != -EEXIST) {
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] seccomp: add the 32-bit "
			       "architectures: %s", strerror(-r));
		goto out;
	}
#endif
	r = confine_rules(ctx, f, o);
	if (r < 0)
		goto out;
	r = seccomp_load(f);
	if (r < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] seccomp: load the filter: %s%s",
			       strerror(-r), r == -EINVAL ? " (the kernel needs "
			       "CONFIG_SECCOMP_FILTER)" : "");
		goto out;
	}
out:
	seccomp_release(f);
	return r;
}

int confine_apply(struct pkgimg_ctx *ctx, const struct confine_opts *o)
{
	int r;

	if (!o->privileged) {
		/* best effort: a kernel without keys has nothing to hide */
		if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) < 0 && errno != ENOSYS)
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX,
					  "[sandbox] join a new session keyring: %m");
		r = confine_caps_apply(ctx, o);
		if (r < 0)
			return r;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			return pkgimg_err(ctx, -PKGIMG_E_SANDBOX, "[sandbox] set no_new_privs: %m");
	}
	return confine_seccomp(ctx, o);
}
