/* escape: tries, from inside a pkgimg sandbox, each way out that a process
 * with host root's capabilities would have (issue 15), and prints one line
 * per attempt:
 *
 *   refused NAME: how            the sandbox stopped it
 *   ESCAPED NAME: what happened  it worked
 *   n/a NAME: why                could not be tried here
 *
 * Every attempt is harmless when it succeeds: remounts and mounts happen in
 * the sandbox's own mount namespace, interface flags are set to what they
 * are, device nodes are made under /tmp and removed, invalid arguments keep
 * kexec, reboot and module loading from doing anything, and the host file
 * written is the test's own canary.
 *
 * usage: escape [-o OUT] [CANARY]
 *   CANARY: the canary's path relative to the root of the filesystem that
 *   holds the sandbox's /etc/hosts (the store's); when the host's root can be
 *   opened by handle, the probe writes "escaped" into it.  Without CANARY
 *   the probe reads it from /etc/pkgimg-probe-canary (for a postinst).
 *   -o OUT: write the report to OUT instead of stdout.
 * Build it static: cc -static -O2 -o escape escape.c */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include <linux/keyctl.h>

static FILE *out;
static int nescaped;

static void refused(const char *name, const char *how)
{
	fprintf(out, "refused %s: %s\n", name, how);
}

static void escaped(const char *name, const char *what)
{
	fprintf(out, "ESCAPED %s: %s\n", name, what);
	nescaped++;
}

static void na(const char *name, const char *why)
{
	fprintf(out, "n/a %s: %s\n", name, why);
}

/* "refused" with the errno of a failed call, "ESCAPED" when it worked */
static void verdict(const char *name, int rc, const char *what)
{
	char buf[256];

	if (rc < 0) {
		snprintf(buf, sizeof buf, "%s", strerror(errno));
		refused(name, buf);
	} else {
		escaped(name, what);
	}
}

/* a privileged call given bad arguments: EPERM is the sandbox, anything else
 * means the kernel looked at the arguments, so the call was reachable */
static void reachable(const char *name, long rc)
{
	char buf[256];

	if (rc < 0 && errno == EPERM) {
		refused(name, "EPERM");
		return;
	}
	snprintf(buf, sizeof buf, "reached the kernel (%s)", rc < 0 ? strerror(errno) : "succeeded");
	escaped(name, buf);
}

static unsigned long long status_hex(const char *pid, const char *key)
{
	char path[64], line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(key);
	FILE *f;

	snprintf(path, sizeof path, "/proc/%s/status", pid);
	f = fopen(path, "r");
	if (!f)
		return v;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, 16);
	fclose(f);
	return v;
}

static void t_caps(void)
{
	/* what a container must not hold: SYS_ADMIN, DAC_READ_SEARCH,
	 * NET_ADMIN, SYS_MODULE, SYS_RAWIO, SYS_PTRACE, SYS_BOOT, SYS_TIME */
	const unsigned long long bad = 1ULL << 21 | 1ULL << 2 | 1ULL << 12 | 1ULL << 16 |
				       1ULL << 17 | 1ULL << 19 | 1ULL << 22 | 1ULL << 25;
	unsigned long long eff = status_hex("self", "CapEff"), bnd = status_hex("self", "CapBnd");
	unsigned long long amb = status_hex("self", "CapAmb");
	char buf[160];

	snprintf(buf, sizeof buf, "CapEff %016llx CapBnd %016llx CapAmb %016llx", eff, bnd, amb);
	if ((eff & bad) || (bnd & bad) || amb)
		escaped("capabilities", buf);
	else
		refused("capabilities", buf);
	if (status_hex("self", "NoNewPrivs") == 1)
		refused("no_new_privs", "set");
	else
		escaped("no_new_privs", "not set");
	if (status_hex("self", "Seccomp") == 2)
		refused("seccomp", "a filter is on");
	else
		escaped("seccomp", "no filter");
}

/* pid 1 (the sandbox's init) holds no more than we do */
static void t_pid1(void)
{
	unsigned long long e1 = status_hex("1", "CapEff"), me = status_hex("self", "CapEff");
	unsigned long long s1 = status_hex("1", "Seccomp");
	char buf[160];
	long rc;

	snprintf(buf, sizeof buf, "pid 1 CapEff %016llx Seccomp %llu, ours %016llx", e1, s1, me);
	if (e1 == ~0ULL)
		refused("pid 1 holds no more than the command", "its status is unreadable");
	else if ((e1 & ~me) || s1 != 2)
		escaped("pid 1 holds no more than the command", buf);
	else
		refused("pid 1 holds no more than the command", buf);
	/* PTRACE_SEIZE does not stop it; detach at once */
	rc = ptrace(PTRACE_SEIZE, 1, NULL, NULL);
	if (rc == 0) {
		ptrace(PTRACE_DETACH, 1, NULL, NULL);
		if ((e1 & ~me) || s1 != 2)
			escaped("ptrace pid 1 (more privileged)", "attached");
		else
			refused("ptrace pid 1 (more privileged)", "attached, but it holds nothing more");
	} else {
		refused("ptrace pid 1 (more privileged)", strerror(errno));
	}
}

/* the "shocker" attack: open the root inode of the filesystem that holds a
 * bind-mounted file by handle, read /etc/shadow, write the canary */
static void t_handle(const char *canary)
{
	struct {
		struct file_handle fh;
		unsigned char bytes[8];
	} h;
	char buf[512];
	int mfd, root, fd;
	ssize_t n;

	mfd = open("/etc/hosts", O_RDONLY);
	if (mfd < 0) {
		na("open_by_handle_at", "no /etc/hosts");
		return;
	}
	memset(&h, 0, sizeof h);
	h.fh.handle_bytes = 8;
	h.fh.handle_type = 1;		/* FILEID_INO32_GEN: inode 2, generation 0 */
	h.bytes[0] = 2;
	root = syscall(SYS_open_by_handle_at, mfd, &h.fh, O_RDONLY | O_DIRECTORY);
	close(mfd);
	if (root < 0) {
		refused("open_by_handle_at", strerror(errno));
		refused("read the host's /etc/shadow", "no handle on the host");
		refused("write the host's canary", "no handle on the host");
		return;
	}
	escaped("open_by_handle_at", "opened the host filesystem's root inode");
	fd = openat(root, "etc/shadow", O_RDONLY);
	if (fd >= 0 && (n = read(fd, buf, sizeof buf - 1)) > 0) {
		buf[n] = 0;
		escaped("read the host's /etc/shadow", "read it");
	} else {
		refused("read the host's /etc/shadow", "the store is on another filesystem");
	}
	if (fd >= 0)
		close(fd);
	if (!canary) {
		na("write the host's canary", "no canary path");
	} else {
		fd = openat(root, canary, O_WRONLY | O_TRUNC);
		if (fd >= 0 && write(fd, "escaped\n", 8) == 8)
			escaped("write the host's canary", canary);
		else
			refused("write the host's canary", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	close(root);
}

static void t_mounts(void)
{
	int fd;

	verdict("remount /etc/hosts read-write",
		mount(NULL, "/etc/hosts", NULL, MS_REMOUNT | MS_BIND, NULL), "remounted");
	verdict("remount /sys read-write",
		mount(NULL, "/sys", NULL, MS_REMOUNT | MS_BIND, NULL), "remounted");
	verdict("unmount /proc/sys", umount2("/proc/sys", MNT_DETACH), "unmounted");
	fd = open("/proc/sys/kernel/core_pattern", O_WRONLY);
	verdict("open core_pattern for writing", fd, "opened (not written)");
	if (fd >= 0)
		close(fd);
	mkdir("/tmp/probe-cg", 0700);
	if (mount("none", "/tmp/probe-cg", "cgroup2", 0, NULL) == 0) {
		escaped("mount cgroup2", "mounted");
		umount2("/tmp/probe-cg", MNT_DETACH);
	} else {
		refused("mount cgroup2", strerror(errno));
	}
	rmdir("/tmp/probe-cg");
	fd = syscall(SYS_fsopen, "tmpfs", 0);
	verdict("fsopen (new mount API)", fd, "opened a filesystem context");
	if (fd >= 0)
		close(fd);
	fd = syscall(SYS_open_tree, AT_FDCWD, "/", 1 /* OPEN_TREE_CLONE */);
	verdict("open_tree", fd, "cloned the root mount");
	if (fd >= 0)
		close(fd);
}

/* in a child: a new user namespace would take our capabilities away from
 * the checks that follow */
static void t_unshare(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0)
		_exit(unshare(CLONE_NEWUSER) == 0 ? 0 : errno);
	if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st)) {
		na("unshare a user namespace", "fork failed");
		return;
	}
	if (WEXITSTATUS(st) == 0) {
		escaped("unshare a user namespace", "unshared");
	} else {
		errno = WEXITSTATUS(st);
		refused("unshare a user namespace", strerror(errno));
	}
}

static void t_proc(void)
{
	struct stat st;
	int fd;

	fd = open("/proc/kcore", O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		escaped("/proc/kcore", "readable, the kernel's memory");
	else
		refused("/proc/kcore", fd < 0 ? strerror(errno) : "masked");
	if (fd >= 0)
		close(fd);
	fd = open("/proc/keys", O_RDONLY);
	if (fd >= 0 && fstat(fd, &st) == 0 && !S_ISCHR(st.st_mode))
		escaped("/proc/keys", "not masked");
	else
		refused("/proc/keys", fd < 0 ? strerror(errno) : "masked");
	if (fd >= 0)
		close(fd);
	fd = open("/proc/sysrq-trigger", O_WRONLY);
	verdict("open /proc/sysrq-trigger for writing", fd, "opened (not written)");
	if (fd >= 0)
		close(fd);
	fd = open("/sys/kernel/uevent_helper", O_WRONLY);
	verdict("open /sys/kernel/uevent_helper for writing", fd, "opened (not written)");
	if (fd >= 0)
		close(fd);
}

static void t_devices(void)
{
	static const char *const std[] = {
		"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm",
		"fd", "stdin", "stdout", "stderr", "console", NULL,
	};
	const char *dirs[] = { "/tmp", "/dev", "/" };
	char buf[512] = "", path[64];
	struct dirent *de;
	size_t i;
	DIR *d;
	int fd, extra = 0;

	d = opendir("/dev");
	while (d && (de = readdir(d))) {
		int known = de->d_name[0] == '.' || !strncmp(de->d_name, "nvidia", 6);

		for (i = 0; !known && std[i]; i++)
			known = !strcmp(de->d_name, std[i]);
		if (!known) {
			extra = 1;
			strncat(buf, de->d_name, sizeof buf - strlen(buf) - 2);
			strcat(buf, " ");
		}
	}
	if (d)
		closedir(d);
	if (extra)
		escaped("/dev holds only the standard nodes", buf);
	else
		refused("/dev holds only the standard nodes", "null zero full random urandom tty ptmx pts shm");

	if (mknod("/tmp/probe-blk", S_IFBLK | 0600, makedev(7, 0)) == 0) {
		fd = open("/tmp/probe-blk", O_RDONLY);
		escaped("mknod a block device", fd >= 0 ? "made and opened /dev/loop0's twin" : "made");
		if (fd >= 0)
			close(fd);
		unlink("/tmp/probe-blk");
	} else {
		refused("mknod a block device", strerror(errno));
	}
	/* a character device (the kernel log, 1:11) made where the command can
	 * write: it must not open */
	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char name[96];

		snprintf(path, sizeof path, "%s%sprobe-kmsg", dirs[i], dirs[i][1] ? "/" : "");
		snprintf(name, sizeof name, "open a character device made in %s", dirs[i]);
		if (mknod(path, S_IFCHR | 0600, makedev(1, 11)) < 0) {
			refused(name, strerror(errno));
			continue;
		}
		fd = open(path, O_RDONLY | O_NONBLOCK);
		verdict(name, fd, "opened the host's kernel log");
		if (fd >= 0)
			close(fd);
		unlink(path);
	}
}

static void t_net(void)
{
	struct if_nameindex *ifs, *i;
	struct ifreq ifr;
	int fd;

	ifs = if_nameindex();
	for (i = ifs; i && i->if_index; i++)
		if (strcmp(i->if_name, "lo"))
			break;
	if (!i || !i->if_index) {
		/* a network of its own (as Docker's containers have) */
		na("raw socket on the host's network", "a network namespace of its own (only lo)");
		na("SIOCSIFFLAGS on the host's interface", "a network namespace of its own (only lo)");
		if (ifs)
			if_freenameindex(ifs);
		return;
	}
	fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	verdict("raw socket on the host's network", fd, "opened");
	if (fd >= 0)
		close(fd);
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		na("SIOCSIFFLAGS on the host's interface", strerror(errno));
	} else {
		memset(&ifr, 0, sizeof ifr);
		snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", i->if_name);
		if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
			na("SIOCSIFFLAGS on the host's interface", strerror(errno));
		else	/* the flags it has: a no-op when allowed */
			verdict("SIOCSIFFLAGS on the host's interface", ioctl(fd, SIOCSIFFLAGS, &ifr),
				"set (to what they were)");
	}
	if (ifs)
		if_freenameindex(ifs);
	if (fd >= 0)
		close(fd);
}

static void t_kernel(void)
{
	long id;
	int m, s;
	char c = 0;

	id = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_USER_KEYRING, 0);
	verdict("keyctl: root's user keyring", id < 0 ? -1 : 0, "reached it");
	reachable("init_module", syscall(SYS_init_module, NULL, 0, ""));
	reachable("kexec_load", syscall(SYS_kexec_load, 0, 0, NULL, 0xdead0000UL));
	reachable("bpf", syscall(SYS_bpf, 5 /* BPF_PROG_LOAD */, NULL, 0));
	reachable("reboot", syscall(SYS_reboot, 0, 0, 0, NULL));
	reachable("settimeofday", syscall(SYS_settimeofday, NULL, NULL));
	/* TIOCSTI into a terminal of our own making */
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
	    (s = open(ptsname(m), O_RDWR | O_NOCTTY)) < 0) {
		na("TIOCSTI", strerror(errno));
	} else {
		c = 'x';
		verdict("TIOCSTI (push input into a terminal)", ioctl(s, TIOCSTI, &c), "pushed");
		close(s);
	}
	if (m >= 0)
		close(m);
}

int main(int argc, char **argv)
{
	const char *canary = NULL;
	static char buf[4096];
	int i;

	out = stdout;
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc) {
			out = fopen(argv[++i], "w");
			if (!out) {
				perror(argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "configure") || !strcmp(argv[i], "install")) {
			/* called as a maintainer script */
		} else if (argv[i][0] != '-') {
			canary = argv[i];
		}
	}
	if (!canary) {
		FILE *f = fopen("/etc/pkgimg-probe-canary", "r");

		if (f && fgets(buf, sizeof buf, f)) {
			buf[strcspn(buf, "\n")] = 0;
			canary = buf;
		}
		if (f)
			fclose(f);
	}
	setvbuf(out, NULL, _IOLBF, 0);
	t_caps();
	t_pid1();
	/* the attack's order: make the bind writable, then go through it */
	t_mounts();
	t_handle(canary);
	t_proc();
	t_devices();
	t_net();
	t_kernel();
	t_unshare();
	fprintf(out, "escaped %d\n", nescaped);
	if (out != stdout)
		fclose(out);
	return 0;
}
