/* test_sandbox.c - runtime/sandbox.c against a tiny image made of a static
 * busybox: layer A (bin/busybox + applet links, etc/a = "A"), layer B on top
 * (etc/a = "B").  Needs root (the rootless case drops to nobody itself) and
 * /bin/busybox from busybox-static; without it every check is skipped.
 *
 * Output: "ok - NAME" / "not ok - NAME" (+ "# detail") / "skip - NAME: WHY",
 * then "N passed, N failed, N skipped"; exit status 1 when a check failed. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "runtime/sandbox.h"

#define BUSYBOX "/bin/busybox"

static int npassed, nfailed, nskipped;
static char base[256];		/* the test's temp dir */
static char layer_a[300], layer_b[300], scratch[300];
static const char *lowers_ba[2];

static void check(int cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prints the result line; on failure the detail (printf format) as "# ...". */
static void check(int cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	printf("%s - %s\n", cond ? "ok" : "not ok", name);
	if (cond) {
		npassed++;
	} else {
		nfailed++;
		printf("# ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
}

static void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	nskipped++;
	fflush(stdout);
}

static char *path_of(const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static void mkdir_p(const char *path)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (fs_mkdirs(&ctx, AT_FDCWD, path, 0755) < 0) {
		fprintf(stderr, "%s\n", ctx.errmsg);
		exit(2);
	}
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (fs_write_file(&ctx, AT_FDCWD, path, text, strlen(text), mode) < 0) {
		fprintf(stderr, "%s\n", ctx.errmsg);
		exit(2);
	}
}

/* The file's content, "" when missing (*exists says which). */
static char *read_file(const char *path, int *exists)
{
	struct pkgimg_ctx ctx;
	struct sbuf s = SBUF_INIT;
	int r;

	pkgimg_ctx_init(&ctx);
	r = fs_read_file(&ctx, AT_FDCWD, path, &s);
	if (exists)
		*exists = r == 0;
	if (r < 0)
		sbuf_adds(&s, "");
	return sbuf_detach(&s);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void rm_rf(const char *path)
{
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	fs_rm_rf(&ctx, AT_FDCWD, path);
}

static int dir_entries(const char *path)
{
	struct dirent *de;
	DIR *d = opendir(path);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* A fresh, empty dir under base. */
static char *fresh_dir(const char *rel)
{
	char *p = path_of(rel);

	rm_rf(p);
	mkdir_p(p);
	return p;
}

struct result {
	int r;			/* sandbox_run's return */
	int status;		/* -1 unless r == 0 */
	char *out;		/* the command's stdout */
	char err[8192];		/* ctx.errmsg */
};

static void opts_init(struct sandbox_opts *o, char *const *argv)
{
	memset(o, 0, sizeof *o);
	o->lowers = lowers_ba;
	o->nlowers = 2;
	o->scratch = scratch;
	o->argv = argv;
	o->network = 1;
}

/* Runs o with the command's stdout captured in res->out. */
static void run(const struct sandbox_opts *o, struct result *res)
{
	struct pkgimg_ctx ctx;
	char *outpath = path_of("stdout");
	int saved, fd;

	pkgimg_ctx_init(&ctx);
	fflush(stdout);
	saved = dup(1);
	fd = open(outpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (saved < 0 || fd < 0) {
		perror(outpath);
		exit(2);
	}
	dup2(fd, 1);
	close(fd);
	res->status = -1;
	res->r = sandbox_run(&ctx, o, &res->status);
	dup2(saved, 1);
	close(saved);
	res->out = read_file(outpath, NULL);
	snprintf(res->err, sizeof res->err, "%s", ctx.errmsg);
	free(outpath);
}

static void result_free(struct result *res)
{
	free(res->out);
	res->out = NULL;
}

/* Runs `sh -c script` in the image B over A. */
static void run_sh(const char *script, struct result *res)
{
	char *argv[] = { "sh", "-c", (char *)script, NULL };
	struct sandbox_opts o;

	opts_init(&o, argv);
	run(&o, res);
}

#define RES_FMT "r=%d status=%d out='%s' err='%s'"
#define RES_ARG(res) (res).r, (res).status, (res).out, (res).err

static int ran(const struct result *res, int status)
{
	return res->r == 0 && res->status == status;
}

/* ---- the image ---- */

static void copy_busybox(const char *dst)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	in = open(BUSYBOX, O_RDONLY | O_CLOEXEC);
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0) {
		perror(dst);
		exit(2);
	}
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write(out, buf, n) != n) {
			perror(dst);
			exit(2);
		}
	close(in);
	close(out);
}

static void make_image(void)
{
	static const char *const applets[] = {
		"sh", "cat", "echo", "ls", "pwd", "hostname", "test", "id", "wc", "grep",
		"head", "ip", "kill", "sleep", "touch", "mkdir", "env", "printf", "true",
		"false", "ps",
	};
	char *p;
	size_t i;

	snprintf(layer_a, sizeof layer_a, "%s/A", base);
	snprintf(layer_b, sizeof layer_b, "%s/B", base);
	snprintf(scratch, sizeof scratch, "%s/scratch", base);
	p = xasprintf("%s/bin", layer_a);
	mkdir_p(p);
	free(p);
	p = xasprintf("%s/bin/busybox", layer_a);
	copy_busybox(p);
	free(p);
	for (i = 0; i < sizeof applets / sizeof applets[0]; i++) {
		p = xasprintf("%s/bin/%s", layer_a, applets[i]);
		if (symlink("busybox", p) < 0) {
			perror(p);
			exit(2);
		}
		free(p);
	}
	p = xasprintf("%s/bin/garbage", layer_a);
	write_file(p, "not a program\n", 0755);
	free(p);
	p = xasprintf("%s/etc", layer_a);
	mkdir_p(p);
	free(p);
	p = xasprintf("%s/etc/a", layer_a);
	write_file(p, "A\n", 0644);
	free(p);
	p = xasprintf("%s/etc", layer_b);
	mkdir_p(p);
	free(p);
	p = xasprintf("%s/etc/a", layer_b);
	write_file(p, "B\n", 0644);
	free(p);
	mkdir_p(scratch);
	lowers_ba[0] = layer_b;
	lowers_ba[1] = layer_a;
}

/* ---- the checks ---- */

static void t_exit_status(void)
{
	struct result res, res2;
	sigset_t set, old;

	run_sh("exit 3", &res);
	check(ran(&res, 3), "exit status passes through", RES_FMT, RES_ARG(res));
	result_free(&res);
	run_sh("kill -9 $$", &res);
	check(ran(&res, 128 + 9), "death by signal gives 128+signal", RES_FMT, RES_ARG(res));
	result_free(&res);

	/* what the caller ignores or blocks is not passed on */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, &old);
	run_sh("kill -PIPE $$; exit 0", &res);
	run_sh("kill -TERM $$; exit 0", &res2);
	sigprocmask(SIG_SETMASK, &old, NULL);
	signal(SIGPIPE, SIG_DFL);
	check(ran(&res, 128 + SIGPIPE) && ran(&res2, 128 + SIGTERM),
	      "the command starts with default signal handling and an empty mask",
	      RES_FMT " / " RES_FMT, RES_ARG(res), RES_ARG(res2));
	result_free(&res);
	result_free(&res2);
}

static void t_stdout(void)
{
	struct result res;

	run_sh("echo hello", &res);
	check(ran(&res, 0) && !strcmp(res.out, "hello\n"), "stdout is inherited",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_layers(void)
{
	char *argv[] = { "sh", "-c", "echo new > /new && echo y > /etc/a && cat /etc/a", NULL };
	char *upper = fresh_dir("upper-layers"), *p, *q, *a, *b;
	struct sandbox_opts o;
	struct result res;
	int e1, e2;

	run_sh("cat /etc/a", &res);
	check(ran(&res, 0) && !strcmp(res.out, "B\n"), "the top lower wins",
	      RES_FMT, RES_ARG(res));
	result_free(&res);

	opts_init(&o, argv);
	o.upper = upper;
	run(&o, &res);
	p = xasprintf("%s/new", upper);
	q = xasprintf("%s/etc/a", upper);
	a = read_file(p, &e1);
	b = read_file(q, &e2);
	check(ran(&res, 0) && e1 && e2 && !strcmp(a, "new\n") && !strcmp(b, "y\n") &&
	      !strcmp(res.out, "y\n"), "writes go to the given upper",
	      RES_FMT " new='%s' etc/a='%s'", RES_ARG(res), a, b);
	free(p);
	free(q);
	free(a);
	free(b);
	result_free(&res);

	p = xasprintf("%s/etc/a", layer_a);
	q = xasprintf("%s/etc/a", layer_b);
	a = read_file(p, NULL);
	b = read_file(q, NULL);
	free(p);
	free(q);
	p = xasprintf("%s/new", layer_a);
	q = xasprintf("%s/new", layer_b);
	check(!strcmp(a, "A\n") && !strcmp(b, "B\n") && !exists(p) && !exists(q),
	      "the lowers stay untouched", "A/etc/a='%s' B/etc/a='%s'", a, b);
	free(p);
	free(q);
	free(a);
	free(b);

	{
		static const char *const points[] = {
			"proc", "dev", "sys", "tmp", "etc/resolv.conf", "etc/hosts",
		};
		size_t i;
		int clean = 1;

		for (i = 0; i < sizeof points / sizeof points[0]; i++) {
			p = xasprintf("%s/%s", upper, points[i]);
			if (exists(p)) {
				printf("# %s is in the upper\n", p);
				clean = 0;
			}
			free(p);
		}
		check(clean, "mount points do not land in the upper", "see above");
	}
	free(upper);
}

static void t_scratch_upper(void)
{
	struct result res;

	run_sh("echo x > /new && test -e /new", &res);
	check(ran(&res, 0) && dir_entries(scratch) == 0, "scratch upper is discarded",
	      RES_FMT " scratch entries=%d", RES_ARG(res), dir_entries(scratch));
	result_free(&res);
	run_sh("test -e /new", &res);
	check(ran(&res, 1), "the next run does not see the discarded write",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_pidns(void)
{
	struct result res;
	int pid = -1, nproc = -1;

	run_sh("echo $$; ls /proc | grep -c '^[0-9]'", &res);
	sscanf(res.out, "%d %d", &pid, &nproc);
	/* pid 1 is the sandbox's init, the command is its child */
	check(ran(&res, 0) && pid == 2 && nproc >= 2 && nproc <= 5,
	      "pid namespace: the command is pid 2 and sees only its own processes",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	run_sh("grep -q proc /proc/mounts && echo 1 2>/dev/null > /proc/sys/vm/drop_caches", &res);
	check(ran(&res, 1), "/proc/sys is read-only", RES_FMT, RES_ARG(res));
	result_free(&res);
}

/* Build mode (maintainer scripts): pid 1's root is not the command's, as in
 * a build chroot, and the sync calls are filtered; a plain run is neither. */
static void t_build(void)
{
	const char *probe = "a=$(stat -L -c %d:%i /proc/1/root); b=$(stat -c %d:%i /); "
			    "sc=$(grep '^Seccomp:' /proc/self/status | tr -dc 0-9); "
			    "[ \"$a\" = \"$b\" ] && echo same$sc || echo apart$sc; sync && echo synced";
	char *argv[] = { "sh", "-c", (char *)probe, NULL };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	run(&o, &res);
	check(ran(&res, 0) && res.out && !strcmp(res.out, "same2\nsynced\n"),
	      "plain run: pid 1 shares the command's root, the seccomp filter is on",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	o.build = 1;
	run(&o, &res);
	check(ran(&res, 0) && res.out && !strcmp(res.out, "apart2\nsynced\n"),
	      "build run: /proc/1/root is not the command's root (ischroot says yes), "
	      "sync calls filtered by seccomp and still succeed",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_hostname(void)
{
	char *argv[] = { "hostname", NULL };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	run(&o, &res);
	check(ran(&res, 0) && !strcmp(res.out, "pkgimg\n"), "hostname defaults to pkgimg",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	o.hostname = "box";
	run(&o, &res);
	check(ran(&res, 0) && !strcmp(res.out, "box\n"), "hostname is settable",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	run_sh("grep -q pkgimg /etc/hosts && grep -q localhost /etc/hosts", &res);
	check(ran(&res, 0), "/etc/hosts names localhost and the hostname",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_dev(void)
{
	struct result res;
	int n = -1, c = -1;

	run_sh("echo x > /dev/null && head -c 3 /dev/zero | wc -c && ls /dev | wc -l && "
	       "test -c /dev/urandom && test -c /dev/pts/ptmx && test -L /dev/ptmx && "
	       "test -L /dev/fd && test -d /dev/shm && echo s > /dev/shm/s", &res);
	sscanf(res.out, "%d %d", &c, &n);
	/* null zero full random urandom tty pts ptmx shm fd stdin stdout stderr */
	check(ran(&res, 0) && c == 3 && n >= 8 && n <= 13,
	      "/dev is a minimal private tree (null, zero, pts, shm; no host disks)",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_tmp(void)
{
	char *argv[] = { "sh", "-c", "grep ' /tmp ' /proc/mounts; echo t > /tmp/f && cat /tmp/f",
			 NULL };
	char *upper = fresh_dir("upper-tmp"), *p;
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	o.upper = upper;
	run(&o, &res);
	p = xasprintf("%s/tmp", upper);
	check(ran(&res, 0) && strstr(res.out, "tmpfs") && strstr(res.out, "t\n") && !exists(p),
	      "/tmp is a writable tmpfs that is not committed", RES_FMT, RES_ARG(res));
	free(p);
	free(upper);
	result_free(&res);
}

static void t_env(void)
{
	char *argv[] = { "sh", "-c", "echo \"$FOO\"", NULL };
	char *env[] = { "PATH=/bin", "FOO=bar baz", NULL };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	o.env = env;
	run(&o, &res);
	check(ran(&res, 0) && !strcmp(res.out, "bar baz\n"), "the given environment passes",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	run_sh("echo \"$PATH|$HOME|$LANG|${TERM:+term}\"", &res);
	check(ran(&res, 0) && !strcmp(res.out, "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
				      "/usr/bin:/sbin:/bin|/root|C.UTF-8|term\n"),
	      "the default environment", RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_cwd(void)
{
	char *argv[] = { "pwd", NULL };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	o.cwd = "/etc";
	run(&o, &res);
	check(ran(&res, 0) && !strcmp(res.out, "/etc\n"), "the working directory is set",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
	o.cwd = "/nonexistent";
	run(&o, &res);
	check(res.r == -PKGIMG_E_NOTFOUND && strstr(res.err, "/nonexistent") &&
	      dir_entries(scratch) == 0, "a missing working directory is a clear error",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_binds(void)
{
	char *argv[] = { "sh", "-c",
			 "cat /mnt/ro/f; echo z 2>/dev/null > /mnt/ro/g; echo \"ro=$?\"; "
			 "echo w > /mnt/rw/out; echo \"rw=$?\"; cat /deep/er/file", NULL };
	char *hro = fresh_dir("host-ro"), *hrw = fresh_dir("host-rw");
	char *upper = fresh_dir("upper-binds"), *p, *q, *w;
	struct sandbox_bind binds[3];
	struct sandbox_opts o;
	struct result res;
	int e;

	p = xasprintf("%s/f", hro);
	write_file(p, "host\n", 0644);
	free(p);
	q = path_of("host-file");
	write_file(q, "file bind\n", 0644);
	binds[0] = (struct sandbox_bind){ hro, "/mnt/ro", 1 };
	binds[1] = (struct sandbox_bind){ hrw, "/mnt//rw/", 0 };
	binds[2] = (struct sandbox_bind){ q, "/deep/er/file", 1 };
	opts_init(&o, argv);
	o.upper = upper;
	o.binds = binds;
	o.nbinds = 3;
	run(&o, &res);
	p = xasprintf("%s/g", hro);
	check(res.r == 0 && strstr(res.out, "host\n") && strstr(res.out, "ro=1") && !exists(p),
	      "a read-only bind can be read, not written", RES_FMT, RES_ARG(res));
	free(p);
	p = xasprintf("%s/out", hrw);
	w = read_file(p, &e);
	check(res.r == 0 && strstr(res.out, "rw=0") && e && !strcmp(w, "w\n"),
	      "a read-write bind writes back to the host", RES_FMT " out='%s'", RES_ARG(res), w);
	free(w);
	free(p);
	check(res.r == 0 && strstr(res.out, "file bind\n"), "a file can be bound",
	      RES_FMT, RES_ARG(res));
	p = xasprintf("%s/mnt", upper);
	w = xasprintf("%s/deep", upper);
	check(res.r == 0 && !exists(p) && !exists(w),
	      "bind mount points do not land in the upper", "%s or %s exists", p, w);
	free(p);
	free(w);
	result_free(&res);

	binds[0] = (struct sandbox_bind){ "/nonexistent-src", "/x", 0 };
	o.nbinds = 1;
	run(&o, &res);
	check(res.r < 0 && strstr(res.err, "/nonexistent-src") && dir_entries(scratch) == 0,
	      "a missing bind source is a clear error", RES_FMT, RES_ARG(res));
	result_free(&res);
	binds[0] = (struct sandbox_bind){ hro, "/a/../b", 0 };
	run(&o, &res);
	check(res.r == -PKGIMG_E_USAGE && strstr(res.err, ".."),
	      "a bind destination with '..' is refused", RES_FMT, RES_ARG(res));
	result_free(&res);
	free(q);
	free(hro);
	free(hrw);
	free(upper);
}

static void t_no_layers(void)
{
	char *argv[] = { "sh", "-c", "test -d /proc/1 && exit 5", NULL };
	struct sandbox_bind bind = { BUSYBOX, "/bin/sh", 1 };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	o.nlowers = 0;
	o.lowers = NULL;
	o.binds = &bind;
	o.nbinds = 1;
	run(&o, &res);
	check(ran(&res, 5), "an image without layers runs a bound-in static binary",
	      RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_many_layers(void)
{
	const char **lowers = xcalloc(82, sizeof *lowers);
	char *argv[] = { "cat", "/etc/a", NULL };
	struct sandbox_opts o;
	struct result res;
	int i;

	/* 80 empty layers with long paths: ~7 KB of lowerdir, over a page */
	lowers[0] = layer_b;
	for (i = 1; i <= 80; i++) {
		char *p = xasprintf("%s/many/layer-%03d-padding-to-make-the-path-long-%064d",
				    base, i, 0);

		mkdir_p(p);
		lowers[i] = p;
	}
	lowers[81] = layer_a;
	opts_init(&o, argv);
	o.lowers = lowers;
	o.nlowers = 82;
	run(&o, &res);
	check(ran(&res, 0) && !strcmp(res.out, "B\n"),
	      "82 layers (more lowerdir than fits in a page)", RES_FMT, RES_ARG(res));
	result_free(&res);
	for (i = 1; i <= 80; i++)
		free((char *)lowers[i]);
	free(lowers);
}

static void t_errors(void)
{
	char *argv[] = { "nosuchcmd", "arg", NULL };
	char *argv2[] = { "garbage", NULL };
	const char *bad[] = { "/nonexistent-layer" };
	struct sandbox_opts o;
	struct result res;

	opts_init(&o, argv);
	run(&o, &res);
	check(res.r == -PKGIMG_E_NOTFOUND && strstr(res.err, "nosuchcmd") &&
	      strstr(res.err, "not found in image") && strstr(res.err, "PATH=") &&
	      res.status == -1, "a missing command is a clear error", RES_FMT, RES_ARG(res));
	result_free(&res);

	opts_init(&o, argv2);
	run(&o, &res);
	check(res.r == -PKGIMG_E_SANDBOX && strstr(res.err, "cannot execute"),
	      "an exec failure is a clear error", RES_FMT, RES_ARG(res));
	result_free(&res);

	opts_init(&o, argv);
	o.lowers = bad;
	o.nlowers = 1;
	run(&o, &res);
	check(res.r == -PKGIMG_E_SANDBOX && strstr(res.err, "/nonexistent-layer") &&
	      strstr(res.err, "overlay") && dir_entries(scratch) == 0,
	      "a missing layer is a clear setup error", RES_FMT, RES_ARG(res));
	result_free(&res);
}

static void t_network(void)
{
	char *argv[] = { "sh", "-c", "grep -c : /proc/net/dev; ip -o link", NULL };
	struct sandbox_opts o;
	struct result res;
	int n = -1;
	char *host = read_file("/proc/net/dev", NULL), *p;
	int hostn = 0;

	for (p = host; (p = strchr(p, ':')); p++)
		hostn++;
	free(host);
	opts_init(&o, argv);
	o.network = 0;
	run(&o, &res);
	sscanf(res.out, "%d", &n);
	check(ran(&res, 0) && n == 1 && strstr(res.out, "lo:") && strstr(res.out, ",UP"),
	      "network=0 has only lo, and it is up", RES_FMT, RES_ARG(res));
	result_free(&res);
	if (hostn < 2) {
		skip("network=1 shares the host's interfaces", "the host has only lo");
		return;
	}
	o.network = 1;
	run(&o, &res);
	sscanf(res.out, "%d", &n);
	check(ran(&res, 0) && n == hostn, "network=1 shares the host's interfaces",
	      RES_FMT " host=%d", RES_ARG(res), hostn);
	result_free(&res);
}

static void t_resolv(void)
{
	char *argv[] = { "cat", "/etc/resolv.conf", NULL };
	char *upper = fresh_dir("upper-resolv"), *p;
	struct sandbox_opts o;
	struct result res;
	char *host;
	int e;

	host = read_file("/etc/resolv.conf", &e);
	if (!e) {
		skip("the host's resolv.conf is visible", "the host has no /etc/resolv.conf");
		goto out;
	}
	opts_init(&o, argv);
	o.upper = upper;
	run(&o, &res);
	p = xasprintf("%s/etc", upper);
	check(ran(&res, 0) && !strcmp(res.out, host) && !exists(p),
	      "the host's resolv.conf is visible, and not committed", RES_FMT, RES_ARG(res));
	free(p);
	result_free(&res);
	run_sh("echo x 2>/dev/null > /etc/resolv.conf", &res);
	check(ran(&res, 1), "resolv.conf is read-only", RES_FMT, RES_ARG(res));
	result_free(&res);
out:
	free(host);
	free(upper);
}

static void t_orphans(void)
{
	struct result res;
	time_t t0 = time(NULL);

	run_sh("sleep 60 & sleep 60 & exit 4", &res);
	check(ran(&res, 4) && time(NULL) - t0 < 30,
	      "processes left behind die with the command", RES_FMT " took %lds",
	      RES_ARG(res), (long)(time(NULL) - t0));
	result_free(&res);
}

/* The pid of a child of parent, or 0. */
static pid_t child_of(pid_t parent)
{
	struct dirent *de;
	DIR *d = opendir("/proc");
	pid_t found = 0;

	while (d && !found && (de = readdir(d))) {
		char path[300], *stat, *rp;
		int ppid;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		stat = read_file(path, NULL);
		rp = strrchr(stat, ')');
		if (rp && sscanf(rp + 1, " %*c %d", &ppid) == 1 && ppid == parent)
			found = atoi(de->d_name);
		free(stat);
	}
	if (d)
		closedir(d);
	return found;
}

static void t_signals(void)
{
	char *argv[] = { "sh", "-c", "trap 'exit 7' TERM; touch /mnt/rw/ready; "
			 "while :; do sleep 0.1; done", NULL };
	char *hrw = fresh_dir("host-sig"), *ready = xasprintf("%s/ready", hrw);
	struct sandbox_bind bind = { hrw, "/mnt/rw", 0 };
	struct sandbox_opts o;
	pid_t p, helper = 0;
	int i, st = -1;

	opts_init(&o, argv);
	o.binds = &bind;
	o.nbinds = 1;
	fflush(stdout);
	p = fork();
	if (p == 0) {
		struct pkgimg_ctx ctx;
		int status = -1, r;

		pkgimg_ctx_init(&ctx);
		r = sandbox_run(&ctx, &o, &status);
		if (r < 0)
			fprintf(stderr, "%s\n", ctx.errmsg);
		_exit(r < 0 ? 99 : status);
	}
	for (i = 0; i < 200 && !exists(ready); i++)
		usleep(50000);
	if (exists(ready))
		helper = child_of(p);
	if (helper)
		kill(helper, SIGTERM);
	for (i = 0; i < 200 && waitpid(p, &st, WNOHANG) == 0; i++)
		usleep(50000);
	if (i == 200) {
		/* not passed on: the sandbox dies with its caller (PDEATHSIG) */
		kill(p, SIGKILL);
		waitpid(p, &st, 0);
	}
	check(helper && WIFEXITED(st) && WEXITSTATUS(st) == 7,
	      "a signal sent to the sandbox reaches the command",
	      "helper=%d wait status=0x%x", (int)helper, st);
	free(ready);
	free(hrw);
}

/* The same image from an unprivileged user: a user namespace maps it to root. */
static void t_rootless(void)
{
	char *argv[] = { "sh", "-c", "id -u; echo w > /w; cat /etc/a", NULL };
	char *nscratch = fresh_dir("nobody-scratch"), *nupper = fresh_dir("nobody-upper");
	char *outp = path_of("nobody-out"), *w, *out;
	struct sandbox_opts o;
	pid_t p;
	int st = -1, e;

	if (chown(nscratch, 65534, 65534) < 0 || chown(nupper, 65534, 65534) < 0 ||
	    chmod(base, 0755) < 0) {
		check(0, "rootless run in a user namespace", "chown: %s", strerror(errno));
		goto out;
	}
	opts_init(&o, argv);
	o.scratch = nscratch;
	o.upper = nupper;
	fflush(stdout);
	p = fork();
	if (p == 0) {
		struct pkgimg_ctx ctx;
		int status = -1, r, fd;

		pkgimg_ctx_init(&ctx);
		fd = open(outp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || setgroups(0, NULL) < 0 ||
		    setgid(65534) < 0 || setuid(65534) < 0)
			_exit(98);
		/* setuid without exec left us non-dumpable: /proc/self/uid_map
		 * would be root's; a user's own pkgimg process is dumpable */
		prctl(PR_SET_DUMPABLE, 1);
		r = sandbox_run(&ctx, &o, &status);
		if (r < 0) {
			fprintf(stderr, "# %s\n", ctx.errmsg);
			_exit(strstr(ctx.errmsg, "unshare") ? 77 : 99);
		}
		_exit(status);
	}
	waitpid(p, &st, 0);
	out = read_file(outp, NULL);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
		skip("rootless run in a user namespace", "user namespaces are not allowed here");
	} else {
		char *wp = xasprintf("%s/w", nupper);

		w = read_file(wp, &e);
		check(WIFEXITED(st) && WEXITSTATUS(st) == 0 && !strcmp(out, "0\nB\n") && e &&
		      !strcmp(w, "w\n") && dir_entries(nscratch) == 0,
		      "rootless run in a user namespace",
		      "wait status=0x%x out='%s' upper/w='%s' scratch entries=%d", st, out, w,
		      dir_entries(nscratch));
		free(w);
		free(wp);
	}
	free(out);
out:
	free(outp);
	free(nscratch);
	free(nupper);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "exit status", t_exit_status },
	{ "stdout", t_stdout },
	{ "layers and upper", t_layers },
	{ "scratch upper", t_scratch_upper },
	{ "pid namespace", t_pidns },
	{ "build mode", t_build },
	{ "hostname", t_hostname },
	{ "/dev", t_dev },
	{ "/tmp", t_tmp },
	{ "environment", t_env },
	{ "working directory", t_cwd },
	{ "bind mounts", t_binds },
	{ "no layers", t_no_layers },
	{ "many layers", t_many_layers },
	{ "setup errors", t_errors },
	{ "network", t_network },
	{ "resolv.conf", t_resolv },
	{ "orphans", t_orphans },
	{ "signal forwarding", t_signals },
	{ "rootless", t_rootless },
};

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	const char *why = NULL;
	size_t i;
	int nfd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0)
		why = "needs root";
	else if (access(BUSYBOX, X_OK) < 0)
		why = "busybox-static not installed";
	if (why) {
		for (i = 0; i < sizeof tests / sizeof tests[0]; i++)
			skip(tests[i].name, why);
		goto done;
	}
	/* not /tmp: it may be a tmpfs without user xattrs on old kernels */
	snprintf(base, sizeof base, "%s/pkgimg-test-sandbox-XXXXXX",
		 tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(base)) {
		perror(base);
		return 2;
	}
	make_image();
	nfd = dir_entries("/proc/self/fd");
	for (i = 0; i < sizeof tests / sizeof tests[0]; i++)
		tests[i].fn();
	check(dir_entries("/proc/self/fd") == nfd, "no file descriptor leaks",
	      "%d open before, %d after", nfd, dir_entries("/proc/self/fd"));
	check(dir_entries(scratch) == 0, "the scratch dir is left empty",
	      "%d entries in %s", dir_entries(scratch), scratch);
	if (!nfailed)
		rm_rf(base);
	else
		printf("# left %s for inspection\n", base);
done:
	printf("%d passed, %d failed, %d skipped\n", npassed, nfailed, nskipped);
	return nfailed ? 1 : 0;
}
