/* Unit tests of installers/deb.c: real .debs built with dpkg-deb, crafted
 * malicious ones, and dpkg itself (dpkg --unpack into a scratch root, with
 * trivial maintainer scripts) as the reference for the database it writes. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "installers/deb.h"

static int n_pass, n_fail, n_skip;
static char tmp[256];
static struct pkgimg_ctx ctx;

static void check(bool cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		printf("ok - %s\n", name);
		n_pass++;
		return;
	}
	printf("not ok - %s\n# ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ctx.errmsg[0])
		printf("# last engine message: %s\n", ctx.errmsg);
	n_fail++;
}

static void skip(const char *name, const char *why)
{
	printf("skip - %s: %s\n", name, why);
	n_skip++;
}

/* Runs a shell command; returns its exit status (-1 when it did not exit). */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	free(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Output of a shell command (stdout only), or NULL when it failed. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
	struct sbuf out = SBUF_INIT;
	char buf[4096], *cmd;
	va_list ap;
	size_t n;
	FILE *f;
	int st;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	fflush(stdout);
	f = popen(cmd, "r");
	free(cmd);
	if (!f)
		return NULL;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		sbuf_add(&out, buf, n);
	st = pclose(f);
	sbuf_add(&out, "", 0);
	if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		sbuf_free(&out);
		return NULL;
	}
	return sbuf_detach(&out);
}

static char *slurp(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *slurp(const char *fmt, ...)
{
	struct sbuf out = SBUF_INIT;
	char buf[4096], *path;
	va_list ap;
	ssize_t n;
	int fd;

	va_start(ap, fmt);
	if (vasprintf(&path, fmt, ap) < 0)
		abort();
	va_end(ap);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		sbuf_add(&out, buf, (size_t)n);
	close(fd);
	sbuf_add(&out, "", 0);
	return sbuf_detach(&out);
}

static void spew(const char *path, const char *data, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(data, f) < 0 || fclose(f) != 0) {
		printf("not ok - setup: cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
	chmod(path, mode);
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool file_is(const char *rel, const char *want)
{
	char *got = slurp("%s/%s", tmp, rel);
	bool same = streq(got, want);

	free(got);
	return same;
}

static int open_root(const char *name)
{
	char *p;
	int fd;

	if (asprintf(&p, "%s/%s", tmp, name) < 0)
		abort();
	mkdir(p, 0755);
	fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	if (fd < 0) {
		printf("not ok - setup: cannot open root %s: %s\n", name, strerror(errno));
		exit(1);
	}
	return fd;
}

static bool lstat_at(const char *root, const char *path, struct stat *st)
{
	char *p;
	bool ok;

	if (asprintf(&p, "%s/%s/%s", tmp, root, path) < 0)
		abort();
	ok = lstat(p, st) == 0;
	free(p);
	return ok;
}

static char *readlink_at(const char *root, const char *path)
{
	static char buf[4096];
	char *p;
	ssize_t n;

	if (asprintf(&p, "%s/%s/%s", tmp, root, path) < 0)
		abort();
	n = readlink(p, buf, sizeof buf - 1);
	free(p);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	return buf;
}

#define CONTROL \
	"Package: pkgimg-test\n" \
	"Version: 1.0-1\n" \
	"Architecture: amd64\n" \
	"Multi-Arch: same\n" \
	"Maintainer: Test <test@example.org>\n" \
	"Installed-Size: 12\n" \
	"Depends: libc6(>=2.36),  foo|bar\n" \
	"Essential: no\n" \
	"Source: pkgimg-src (1.0)\n" \
	"Section: misc\n" \
	"Priority: optional\n" \
	"Breaks: old-thing (<< 1)\n" \
	"Homepage: https://example.org\n" \
	"Description: pkgimg test package\n" \
	" A longer\n" \
	" .\n" \
	" description.\n"

/* Builds $tmp/NAME.deb from the tree $tmp/src-NAME with dpkg-deb. */
static bool build_test_deb(const char *name, const char *comp)
{
	const char *s = tmp;

	if (sh("set -e; d=%s/src-%s; rm -rf $d; mkdir -p $d/DEBIAN $d/usr/bin $d/usr/share/pkgimg-test "
	       "$d/usr/lib/pkgimg-test $d/etc $d/bin $d/usr/share/doc/pkgimg-test", s, name))
		return false;
	{
		char *p;

		if (asprintf(&p, "%s/src-%s/DEBIAN/", s, name) < 0)
			abort();
		struct sbuf f = SBUF_INIT;
#define F(rel, data, mode) do { sbuf_reset(&f); sbuf_adds(&f, p); sbuf_adds(&f, rel); \
		spew(f.buf, data, mode); } while (0)
		F("control", CONTROL, 0644);
		F("conffiles", "/etc/pkgimg-test.conf\n", 0644);
		F("postinst", "#!/bin/sh\nexit 0\n", 0755);
		F("prerm", "#!/bin/sh\nexit 0\n", 0755);
		F("shlibs", "libpkgimg 1 pkgimg-test\n", 0644);
		F("../usr/bin/pkgimg-test", "#!/bin/sh\necho pkgimg-test works\n", 0755);
		F("../usr/bin/pkgimg-suid", "suid\n", 04755);
		F("../usr/share/pkgimg-test/data.txt", "hello data\n", 0644);
		F("../etc/pkgimg-test.conf", "setting = 1\n", 0644);
		F("../bin/pkgimg-legacy", "#!/bin/sh\necho legacy\n", 0755);
		F("../usr/share/doc/pkgimg-test/copyright", "free\n", 0644);
#undef F
		sbuf_free(&f);
		free(p);
	}
	if (sh("set -e; d=%s/src-%s; chmod 0750 $d/usr/lib/pkgimg-test; "
	       "ln $d/usr/share/pkgimg-test/data.txt $d/usr/share/pkgimg-test/data-link.txt; "
	       "ln -s /usr/bin/pkgimg-test $d/usr/share/pkgimg-test/abs; "
	       "ln -s data.txt $d/usr/share/pkgimg-test/rel; "
	       "find $d -exec touch -h -d @1600000000 {} +; "
	       "env -u SOURCE_DATE_EPOCH dpkg-deb -Z%s --root-owner-group --build $d %s/%s.deb >/dev/null",
	       s, name, comp, s, name))
		return false;
	return true;
}

/* Unpacks with dpkg itself into $tmp/NAME (a fresh admin dir; scripts run
 * without chroot, which is why the test packages' scripts only exit 0). */
static bool dpkg_unpack(const char *deb, const char *name)
{
	return sh("set -e; r=%s/%s; mkdir -p $r/var/lib/dpkg/info $r/var/lib/dpkg/updates "
		  "$r/var/lib/dpkg/triggers; touch $r/var/lib/dpkg/status $r/var/lib/dpkg/available; "
		  "dpkg --root=$r --force-script-chrootless --force-not-root --no-triggers --unpack %s "
		  ">/dev/null 2>&1", tmp, name, deb) == 0;
}

static char *tree_listing(const char *root)
{
	return sh_out("cd %s/%s && find . -path ./var/lib/dpkg -prune -o "
		      "-printf '%%p %%y %%m %%U:%%G %%s %%l %%i\\n' | sort | "
		      "awk '{ if ($2 == \"d\") $5 = \"-\"; "
		      "  k = $NF; $NF = \"\"; if (k in seen) $0 = $0 \"=\" seen[k]; else seen[k] = $1; print }'",
		      tmp, root);
}

static void test_dpkg_deb(void)
{
	struct debinst_pkg p;
	struct stat st, st2;
	char *a;
	int root, r;

	if (!build_test_deb("t1", "xz")) {
		check(false, "build a .deb with dpkg-deb", "dpkg-deb --build failed");
		return;
	}
	root = open_root("A");
	memset(&p, 0, sizeof p);
	r = debinst_unpack(&ctx, root, a = xasprintf("%s/t1.deb", tmp), 0, &p);
	free(a);
	check(r == 0, "unpack a dpkg-deb built package", "debinst_unpack returned %d", r);
	if (r < 0) {
		close(root);
		return;
	}
	check(streq(p.name, "pkgimg-test") && streq(p.arch, "amd64") && streq(p.version, "1.0-1") &&
	      p.multiarch_same == 1 && p.installed_size == 12,
	      "control fields", "got %s %s %s ma=%d size=%llu", p.name, p.arch, p.version,
	      p.multiarch_same, (unsigned long long)p.installed_size);
	a = xstrdup(CONTROL);
	a[strlen(a) - 1] = 0;
	check(streq(p.control, a), "control stanza kept verbatim", "got [%s]", p.control);
	free(a);
	check(p.conffiles && streq(p.conffiles[0], "/etc/pkgimg-test.conf") && !p.conffiles[1],
	      "conffiles", "got %s", p.conffiles && p.conffiles[0] ? p.conffiles[0] : "(none)");

	a = slurp("%s/A/usr/share/pkgimg-test/data.txt", tmp);
	check(streq(a, "hello data\n") && lstat_at("A", "usr/share/pkgimg-test/data.txt", &st) &&
	      S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644 && st.st_uid == 0 &&
	      st.st_mtime == 1600000000, "regular file: content, mode, owner, mtime",
	      "content %s mode %o mtime %ld", a ? a : "(none)", (unsigned)st.st_mode,
	      (long)st.st_mtime);
	free(a);
	a = sh_out("%s/A/usr/bin/pkgimg-test", tmp);
	check(streq(a, "pkgimg-test works\n") && lstat_at("A", "usr/bin/pkgimg-test", &st) &&
	      (st.st_mode & 07777) == 0755, "executable runs", "output %s", a ? a : "(failed)");
	free(a);
	check(lstat_at("A", "usr/bin/pkgimg-suid", &st) && (st.st_mode & 07777) == 04755,
	      "setuid bit kept", "mode %o", (unsigned)st.st_mode);
	check(lstat_at("A", "usr/share/pkgimg-test/data.txt", &st) &&
	      lstat_at("A", "usr/share/pkgimg-test/data-link.txt", &st2) && st.st_ino == st2.st_ino &&
	      st.st_nlink == 2, "hard link", "inodes %lu %lu", (unsigned long)st.st_ino,
	      (unsigned long)st2.st_ino);
	check(streq(readlink_at("A", "usr/share/pkgimg-test/abs"), "/usr/bin/pkgimg-test") &&
	      streq(readlink_at("A", "usr/share/pkgimg-test/rel"), "data.txt"),
	      "symlinks keep their targets (absolute too)", "abs -> %s",
	      readlink_at("A", "usr/share/pkgimg-test/abs"));
	check(lstat_at("A", "usr/lib/pkgimg-test", &st) && S_ISDIR(st.st_mode) &&
	      (st.st_mode & 07777) == 0750 && st.st_mtime == 1600000000 &&
	      lstat_at("A", "usr/share/pkgimg-test", &st2) && st2.st_mtime == 1600000000,
	      "directories: mode and mtime (set after their contents)", "mode %o mtime %ld/%ld",
	      (unsigned)st.st_mode, (long)st.st_mtime, (long)st2.st_mtime);
	a = slurp("%s/A/etc/pkgimg-test.conf.dpkg-new", tmp);
	check(streq(a, "setting = 1\n") && !lstat_at("A", "etc/pkgimg-test.conf", &st),
	      "conffile unpacked as .dpkg-new", "content %s", a ? a : "(none)");
	free(a);
	check(lstat_at("A", "bin/pkgimg-legacy", &st) && S_ISREG(st.st_mode) &&
	      !lstat_at("A", "usr/bin/pkgimg-legacy", &st), "no merged-usr rewrite when off", "%s",
	      "bin/pkgimg-legacy misplaced");
	check(lstat_at("A", "var/lib/dpkg/info/pkgimg-test:amd64.postinst", &st) &&
	      (st.st_mode & 0777) == 0755 &&
	      lstat_at("A", "var/lib/dpkg/info/pkgimg-test:amd64.shlibs", &st2) &&
	      (st2.st_mode & 0777) == 0644 &&
	      !lstat_at("A", "var/lib/dpkg/info/pkgimg-test:amd64.control", &st),
	      "info files named pkg:arch, scripts 0755", "%s", "postinst/shlibs missing or wrong mode");

	r = debinst_write_status(&ctx, root, NULL, &p, 1, "unpacked", "amd64");
	check(r == 0, "write status", "debinst_write_status returned %d", r);

	/* dpkg itself is the reference for what it would have written. */
	if (geteuid() != 0 || !dpkg_unpack(a = xasprintf("%s/t1.deb", tmp), "D")) {
		skip("compare with dpkg --unpack", geteuid() ? "needs root" : "dpkg --unpack failed");
	} else {
		static const char *const files[] = {
			"info/pkgimg-test:amd64.list", "info/pkgimg-test:amd64.md5sums",
			"info/pkgimg-test:amd64.conffiles", "info/pkgimg-test:amd64.postinst",
			"info/pkgimg-test:amd64.shlibs", "status", NULL
		};
		char *la, *ld;

		for (int i = 0; files[i]; i++) {
			char *name = xasprintf("same %s as dpkg", files[i]);

			la = slurp("%s/A/var/lib/dpkg/%s", tmp, files[i]);
			ld = slurp("%s/D/var/lib/dpkg/%s", tmp, files[i]);
			check(la && ld && !strcmp(la, ld), name, "ours:\n%s\n# dpkg's:\n%s",
			      la ? la : "(none)", ld ? ld : "(none)");
			free(name);
			free(la);
			free(ld);
		}
		la = tree_listing("A");
		ld = tree_listing("D");
		check(la && ld && !strcmp(la, ld), "same tree as dpkg (types, modes, owners, sizes, links)",
		      "ours:\n%s\n# dpkg's:\n%s", la ? la : "(none)", ld ? ld : "(none)");
		free(la);
		free(ld);
	}
	free(a);

	a = sh_out("dpkg-query --admindir=%s/A/var/lib/dpkg -W -f='${Package}:${Architecture} ${Status}\\n'",
		   tmp);
	check(streq(a, "pkgimg-test:amd64 install ok unpacked\n"), "dpkg-query reads our status",
	      "got %s", a ? a : "(dpkg-query failed)");
	free(a);
	a = sh_out("dpkg-query --admindir=%s/A/var/lib/dpkg -S /usr/share/pkgimg-test/abs", tmp);
	check(a && strstr(a, "pkgimg-test:amd64: /usr/share/pkgimg-test/abs"),
	      "dpkg-query -S finds a file through our .list", "got %s", a ? a : "(failed)");
	free(a);
	a = sh_out("dpkg --root=%s/A --verify pkgimg-test 2>&1", tmp);
	check(streq(a, "missing   c /etc/pkgimg-test.conf\n"),
	      "dpkg --verify: every file matches md5sums (the conffile is still .dpkg-new)",
	      "got %s", a ? a : "(failed)");
	free(a);
	a = sh_out("dpkg --admindir=%s/A/var/lib/dpkg --audit 2>&1", tmp);
	check(a && strstr(a, "unpacked but not yet configured") && strstr(a, "pkgimg-test") &&
	      !strstr(a, "missing"), "dpkg --audit sees an unpacked package and nothing missing",
	      "got %s", a ? a : "(failed)");
	free(a);
	check(lstat_at("A", "var/lib/dpkg/triggers", &st) && S_ISDIR(st.st_mode) &&
	      lstat_at("A", "var/lib/dpkg/updates", &st) && S_ISDIR(st.st_mode) &&
	      lstat_at("A", "var/lib/dpkg/diversions", &st) && S_ISREG(st.st_mode) &&
	      file_is("A/var/lib/dpkg/info/format", "1\n") &&
	      file_is("A/var/lib/dpkg/arch", "amd64\n"),
	      "database files dpkg expects", "%s", "one of them is missing");
	check(!lstat_at("A", "var/lib/dpkg/statoverride", &st) &&
	      !lstat_at("A", "var/lib/dpkg/available", &st),
	      "no empty available or statoverride (dpkg and mmdebstrap leave none)", "%s",
	      "one of them is there");

	/* Status merging: replace our entry, keep the others, sort like dpkg. */
	{
		const char *parent =
			"Package: zzz\nStatus: install ok installed\nMaintainer: m\nArchitecture: all\nVersion: 1\n"
			"Description: z\n\n"
			"Package: pkgimg-test\nStatus: install ok installed\nMaintainer: m\nArchitecture: i386\n"
			"Multi-Arch: same\nVersion: 0.9\nDescription: other arch\n\n"
			"Package: pkgimg-test\nStatus: install ok installed\nMaintainer: m\nArchitecture: amd64\n"
			"Multi-Arch: same\nVersion: 0.9\nDescription: old\n\n"
			"Package: aaa\nStatus: install ok installed\nMaintainer: m\nArchitecture: amd64\nVersion: 2\n"
			"Description: a\n\n";

		r = debinst_write_status(&ctx, root, parent, &p, 1, "unpacked", "amd64");
		a = sh_out("dpkg-query --admindir=%s/A/var/lib/dpkg -W "
			   "-f='${Package}:${Architecture} ${Version} ${Status}\\n'", tmp);
		check(r == 0 && streq(a, "aaa:amd64 2 install ok installed\n"
					 "pkgimg-test:amd64 1.0-1 install ok unpacked\n"
					 "pkgimg-test:i386 0.9 install ok installed\n"
					 "zzz:all 1 install ok installed\n"),
		      "status merges with the parent's, sorted, same name+arch replaced",
		      "r=%d got\n%s", r, a ? a : "(dpkg-query failed)");
		free(a);
		a = slurp("%s/A/var/lib/dpkg/status", tmp);
		check(a && !strncmp(a, "Package: aaa\nStatus: install ok installed\n", 42) &&
		      strlen(a) > 2 && !strcmp(a + strlen(a) - 2, "\n\n"),
		      "status file layout", "got %s", a ? a : "(none)");
		free(a);
	}
	debinst_pkg_free(&p);
	close(root);
}

static void test_installed_state(void)
{
	struct debinst_pkg p;
	char *a = NULL;
	int root = open_root("C"), r;
	struct stat st;

	memset(&p, 0, sizeof p);
	r = debinst_merged_usr_links(&ctx, root);
	if (r == 0)
		r = debinst_unpack(&ctx, root, a = xasprintf("%s/t1.deb", tmp), 1, &p);
	free(a);
	if (r == 0)
		r = debinst_write_status(&ctx, root, NULL, &p, 1, "installed", "amd64");
	check(r == 0, "unpack + status installed", "returned %d", r);
	a = slurp("%s/C/etc/pkgimg-test.conf", tmp);
	check(streq(a, "setting = 1\n") && !lstat_at("C", "etc/pkgimg-test.conf.dpkg-new", &st),
	      "installed: the conffile is moved into place", "content %s", a ? a : "(none)");
	free(a);
	a = slurp("%s/C/var/lib/dpkg/status", tmp);
	/* md5 of "setting = 1\n" */
	check(a && strstr(a, "Status: install ok installed\n") &&
	      strstr(a, "Conffiles:\n /etc/pkgimg-test.conf 6bc5aa55a24a9d663f97616fed018e1a\n"),
	      "installed: conffile recorded with its md5", "got %s", a ? a : "(none)");
	free(a);
	a = sh_out("dpkg --root=%s/C --verify pkgimg-test 2>&1", tmp);
	check(streq(a, ""), "dpkg --verify is clean on an installed package", "got %s",
	      a ? a : "(failed)");
	free(a);
	debinst_pkg_free(&p);
	close(root);
}

static void test_merged_usr(void)
{
	struct debinst_pkg p;
	struct stat st;
	char *a, *b;
	int root = open_root("B"), r;

	r = debinst_merged_usr_links(&ctx, root);
	check(r == 0 && streq(readlink_at("B", "bin"), "usr/bin") &&
	      streq(readlink_at("B", "lib64"), "usr/lib64") && lstat_at("B", "usr/sbin", &st) &&
	      S_ISDIR(st.st_mode) && (st.st_mode & 07777) == 0755,
	      "merged /usr links", "r=%d bin -> %s", r, readlink_at("B", "bin"));
	r = debinst_merged_usr_links(&ctx, root);
	check(r == 0, "merged /usr links: again is fine", "r=%d", r);
	memset(&p, 0, sizeof p);
	r = debinst_unpack(&ctx, root, a = xasprintf("%s/t1.deb", tmp), 1, &p);
	free(a);
	check(r == 0 && lstat_at("B", "usr/bin/pkgimg-legacy", &st) && S_ISREG(st.st_mode) &&
	      streq(readlink_at("B", "bin"), "usr/bin"),
	      "merged /usr: bin/x lands in usr/bin/x, bin stays a symlink", "r=%d", r);
	a = slurp("%s/B/var/lib/dpkg/info/pkgimg-test:amd64.list", tmp);
	b = slurp("%s/A/var/lib/dpkg/info/pkgimg-test:amd64.list", tmp);
	check(a && strstr(a, "\n/bin/pkgimg-legacy\n") && streq(a, b),
	      "merged /usr: .list keeps the shipped paths", "got %s", a ? a : "(none)");
	free(a);
	free(b);
	debinst_pkg_free(&p);

	/* Without the rewrite the same package would write through bin -> usr/bin. */
	ctx.errmsg[0] = 0;
	r = debinst_unpack(&ctx, root, a = xasprintf("%s/t1.deb", tmp), 0, &p);
	free(a);
	check(r == -PKGIMG_E_UNSAFE && strstr(ctx.errmsg, "t1.deb: [unpack]") &&
	      strstr(ctx.errmsg, "symlink 'bin'"),
	      "a symlink in the layer is never followed", "r=%d msg=%s", r, ctx.errmsg);
	if (r == 0)
		debinst_pkg_free(&p);
	close(root);
}

/* A .deb assembled by python from a JSON list of tar entries. */
static const char builder[] =
	"import io, json, sys, tarfile\n"
	"spec = json.load(open(sys.argv[2]))\n"
	"def tar(entries, comp='gz'):\n"
	"    b = io.BytesIO()\n"
	"    with tarfile.open(fileobj=b, mode='w:' + comp, format=tarfile.GNU_FORMAT) as t:\n"
	"        for e in entries:\n"
	"            ti = tarfile.TarInfo(e['name'])\n"
	"            ti.mtime = 1600000000; ti.uid = e.get('uid', 0); ti.gid = e.get('gid', 0)\n"
	"            ti.mode = e.get('mode', 0o644); data = None; k = e['type']\n"
	"            if k == 'f':\n"
	"                data = e.get('data', '').encode(); ti.size = len(data)\n"
	"            elif k == 'd':\n"
	"                ti.type = tarfile.DIRTYPE; ti.mode = e.get('mode', 0o755)\n"
	"            elif k == 'l':\n"
	"                ti.type = tarfile.SYMTYPE; ti.linkname = e['target']\n"
	"            elif k == 'h':\n"
	"                ti.type = tarfile.LNKTYPE; ti.linkname = e['target']\n"
	"            elif k == 'p':\n"
	"                ti.type = tarfile.FIFOTYPE\n"
	"            t.addfile(ti, io.BytesIO(data) if data is not None else None)\n"
	"    return b.getvalue()\n"
	"ctl = [{'name': './control', 'type': 'f', 'data': spec.get('control',\n"
	"    'Package: evil\\nVersion: 1\\nArchitecture: amd64\\nDescription: x\\n')}]\n"
	"if 'conffiles' in spec:\n"
	"    ctl.append({'name': './conffiles', 'type': 'f', 'data': spec['conffiles']})\n"
	"out = b'!<arch>\\n'\n"
	"for name, d in [('debian-binary', b'2.0\\n'), ('control.tar.gz', tar(ctl)),\n"
	"                ('data.tar.' + spec.get('comp', 'gz'), tar(spec['data'], spec.get('comp', 'gz')))]:\n"
	"    out += ('%-16s%-12d%-6d%-6d%-8o%-10d`\\n' % (name, 1600000000, 0, 0, 0o100644, len(d))).encode()\n"
	"    out += d + (b'\\n' if len(d) % 2 else b'')\n"
	"open(sys.argv[1], 'wb').write(out)\n";

static bool craft(const char *name, const char *json)
{
	char *spec = xasprintf("%s/%s.json", tmp, name);
	bool ok;

	spew(spec, json, 0644);
	ok = sh("python3 %s/builder.py %s/%s.deb %s", tmp, tmp, name, spec) == 0;
	free(spec);
	if (!ok)
		check(false, name, "python3 could not build the crafted .deb");
	return ok;
}

static void expect_unsafe(const char *name, const char *json, const char *escaped)
{
	struct debinst_pkg p;
	struct stat st;
	char *deb, *esc;
	int root, r;

	if (!craft(name, json))
		return;
	root = open_root(name);
	deb = xasprintf("%s/%s.deb", tmp, name);
	ctx.errmsg[0] = 0;
	memset(&p, 0, sizeof p);
	r = debinst_unpack(&ctx, root, deb, 0, &p);
	esc = xasprintf("%s/%s", tmp, escaped);
	check(r == -PKGIMG_E_UNSAFE && lstat(esc, &st) < 0 && strstr(ctx.errmsg, name),
	      name, "r=%d (%s), %s %s", r, pkgimg_strerror(r), esc,
	      lstat(esc, &st) == 0 ? "was written" : "absent");
	if (r == 0)
		debinst_pkg_free(&p);
	free(esc);
	free(deb);
	close(root);
}

static void test_malicious(void)
{
	char *json;

	json = xasprintf("%s/builder.py", tmp);
	spew(json, builder, 0644);
	free(json);
	sh("mkdir -p %s/outside && echo secret > %s/outside/secret", tmp, tmp);
	expect_unsafe("dotdot", "{\"data\": [{\"name\": \"./../evil1\", \"type\": \"f\", \"data\": \"x\"}]}",
		      "evil1");
	expect_unsafe("dotdot-inner",
		      "{\"data\": [{\"name\": \"./a/../../evil2\", \"type\": \"f\", \"data\": \"x\"}]}",
		      "evil2");
	json = xasprintf("{\"data\": [{\"name\": \"%s/evil3\", \"type\": \"f\", \"data\": \"x\"}]}", tmp);
	expect_unsafe("absolute", json, "evil3");
	free(json);
	json = xasprintf("{\"data\": [{\"name\": \"./link\", \"type\": \"l\", \"target\": \"%s/outside\"},"
			 " {\"name\": \"./link/x\", \"type\": \"f\", \"data\": \"x\"}]}", tmp);
	expect_unsafe("through-symlink", json, "outside/x");
	free(json);
	expect_unsafe("through-relative-symlink",
		      "{\"data\": [{\"name\": \"./up\", \"type\": \"l\", \"target\": \"..\"},"
		      " {\"name\": \"./up/evil4\", \"type\": \"f\", \"data\": \"x\"}]}", "evil4");
	expect_unsafe("symlinked-dir-entry",
		      "{\"data\": [{\"name\": \"./up\", \"type\": \"l\", \"target\": \"..\"},"
		      " {\"name\": \"./up/\", \"type\": \"d\"}, "
		      " {\"name\": \"./up/evil5/\", \"type\": \"d\"}]}", "evil5");
	expect_unsafe("hardlink-out",
		      "{\"data\": [{\"name\": \"./h\", \"type\": \"h\", \"target\": \"../outside/secret\"}]}",
		      "hardlink-out/h");
	expect_unsafe("hardlink-abs",
		      "{\"data\": [{\"name\": \"./h\", \"type\": \"h\", \"target\": \"/etc/passwd\"}]}",
		      "hardlink-abs/h");
	json = xasprintf("{\"data\": [{\"name\": \"./l\", \"type\": \"l\", \"target\": \"%s/outside\"},"
			 " {\"name\": \"./h\", \"type\": \"h\", \"target\": \"./l/secret\"}]}", tmp);
	expect_unsafe("hardlink-through-symlink", json, "hardlink-through-symlink/h");
	free(json);
	expect_unsafe("conffile-dotdot",
		      "{\"conffiles\": \"/etc/../../evil6\\n\", \"data\": []}", "evil6");
}

static void test_crafted_ok(void)
{
	struct debinst_pkg p;
	struct stat st;
	char *deb, *a;
	int root, r;

	if (!craft("owners",
		   "{\"control\": \"Package: owners\\nVersion: 1\\nArchitecture: all\\n"
		   "Multi-Arch: foreign\\nDescription: x\\n\","
		   " \"conffiles\": \"remove-on-upgrade /etc/gone\\n/etc/kept\\n\","
		   " \"data\": ["
		   "{\"name\": \"usr/\", \"type\": \"d\"},"
		   "{\"name\": \"usr/x\", \"type\": \"f\", \"data\": \"x\", \"uid\": 1234, \"gid\": 5678, \"mode\": 2541},"
		   "{\"name\": \"usr/ro/\", \"type\": \"d\", \"mode\": 365},"
		   "{\"name\": \"usr/ro/f\", \"type\": \"f\", \"data\": \"f\"},"
		   "{\"name\": \"usr/x\", \"type\": \"f\", \"data\": \"second\", \"uid\": 1234, \"gid\": 5678, \"mode\": 2541},"
		   "{\"name\": \"run/fifo\", \"type\": \"p\", \"mode\": 384},"
		   "{\"name\": \"etc/kept\", \"type\": \"f\", \"data\": \"k\"},"
		   "{\"name\": \"etc/kept-link\", \"type\": \"h\", \"target\": \"etc/kept\"}]}"))
		return;
	root = open_root("owners");
	deb = xasprintf("%s/owners.deb", tmp);
	memset(&p, 0, sizeof p);
	r = debinst_unpack(&ctx, root, deb, 0, &p);
	check(r == 0, "crafted package without ./ prefixes", "r=%d", r);
	check(lstat_at("owners", "usr/x", &st) && st.st_uid == 1234 && st.st_gid == 5678 &&
	      (st.st_mode & 07777) == 04755, "numeric owner and setuid from the tar",
	      "uid %u gid %u mode %o", (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode);
	a = slurp("%s/owners/usr/x", tmp);
	check(streq(a, "second"), "a later duplicate entry replaces the file", "got %s", a);
	free(a);
	check(lstat_at("owners", "usr/ro", &st) && (st.st_mode & 07777) == 0555 &&
	      lstat_at("owners", "usr/ro/f", &st), "read-only directory gets its mode at the end",
	      "mode %o", (unsigned)st.st_mode);
	check(lstat_at("owners", "run/fifo", &st) && S_ISFIFO(st.st_mode) &&
	      (st.st_mode & 07777) == 0600, "fifo", "mode %o", (unsigned)st.st_mode);
	check(lstat_at("owners", "etc/kept.dpkg-new", &st) && st.st_nlink == 2 &&
	      lstat_at("owners", "etc/kept-link", &st),
	      "hard link to a conffile links the .dpkg-new", "nlink %lu", (unsigned long)st.st_nlink);
	check(r == 0 && p.conffiles && streq(p.conffiles[0], "/etc/kept") && !p.conffiles[1],
	      "remove-on-upgrade conffiles are not listed", "first %s",
	      p.conffiles ? p.conffiles[0] : "(none)");
	a = slurp("%s/owners/var/lib/dpkg/info/owners.list", tmp);
	check(streq(a, "/.\n/usr\n/usr/x\n/usr/ro\n/usr/ro/f\n/run/fifo\n/etc/kept\n/etc/kept-link\n"),
	      ".list: /. first, archive order, no duplicates", "got\n%s", a ? a : "(none)");
	free(a);
	a = slurp("%s/owners/var/lib/dpkg/info/owners.md5sums", tmp);
	check(a && strstr(a, "8ce4b16b22b58894aa86c421e8759df3  etc/kept-link\n") &&
	      strstr(a, "a9f0e61a137d86aa9db53465e0801612  usr/x\n"),
	      "computed md5sums", "got\n%s", a ? a : "(none)");
	free(a);
	if (r == 0)
		debinst_pkg_free(&p);
	free(deb);
	close(root);

	if (craft("badcontrol", "{\"control\": \"Package: ../../x\\nVersion: 1\\nArchitecture: amd64\\n\","
				" \"data\": []}")) {
		root = open_root("badcontrol");
		deb = xasprintf("%s/badcontrol.deb", tmp);
		r = debinst_unpack(&ctx, root, deb, 0, &p);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "badcontrol.deb: [control]"),
		      "a package name that is not one is refused", "r=%d msg=%s", r, ctx.errmsg);
		if (r == 0)
			debinst_pkg_free(&p);
		free(deb);
		close(root);
	}
	root = open_root("notadeb");
	deb = xasprintf("%s/builder.py", tmp);
	r = debinst_unpack(&ctx, root, deb, 0, &p);
	check(r == -PKGIMG_E_ARCHIVE && strstr(ctx.errmsg, "builder.py: [read]"),
	      "not a .deb: archive error", "r=%d msg=%s", r, ctx.errmsg);
	free(deb);
	close(root);
}

static void test_compressions(void)
{
	static const char *const pycomps[] = { "bz2", "xz", NULL };

	for (int i = 0; pycomps[i]; i++) {
		struct debinst_pkg p;
		char *name = xasprintf("py-%s", pycomps[i]), *deb, *json, *t;
		int root, r;

		json = xasprintf("{\"comp\": \"%s\", \"data\": [{\"name\": \"./usr/f\", \"type\": \"f\","
				 " \"data\": \"bz\"}]}", pycomps[i]);
		if (craft(name, json)) {
			root = open_root(name);
			deb = xasprintf("%s/%s.deb", tmp, name);
			memset(&p, 0, sizeof p);
			r = debinst_unpack(&ctx, root, deb, 0, &p);
			t = xasprintf("data.tar.%s", pycomps[i]);
			check(r == 0 && lstat_at(name, "usr/f", &(struct stat){ 0 }), t, "r=%d", r);
			if (r == 0)
				debinst_pkg_free(&p);
			free(t);
			free(deb);
			close(root);
		}
		free(json);
		free(name);
	}

	static const char *const comps[] = { "gzip", "none", "zstd", NULL };

	for (int i = 0; comps[i]; i++) {
		struct debinst_pkg p;
		char *name = xasprintf("c-%s", comps[i]), *deb, *t;
		int root, r;

		if (!build_test_deb(name, comps[i])) {
			t = xasprintf("data.tar with %s", comps[i]);
			skip(t, "dpkg-deb cannot build it here");
			free(t);
			free(name);
			continue;
		}
		root = open_root(name);
		deb = xasprintf("%s/%s.deb", tmp, name);
		memset(&p, 0, sizeof p);
		r = debinst_unpack(&ctx, root, deb, 0, &p);
		t = xasprintf("data.tar with %s", comps[i]);
		check(r == 0 && lstat_at(name, "usr/share/pkgimg-test/data.txt", &(struct stat){ 0 }),
		      t, "r=%d", r);
		if (r == 0)
			debinst_pkg_free(&p);
		free(t);
		free(deb);
		free(name);
		close(root);
	}
}

/* A real Debian package: hello from the archive (or apt's cache). */
static void test_real_deb(void)
{
	struct debinst_pkg p;
	char *deb, *a, *b;
	int root, r;

	deb = sh_out("cd %s && timeout 60 apt-get download hello >/dev/null 2>&1 && ls hello_*.deb",
		     tmp);
	if (!deb)
		deb = sh_out("ls /var/cache/apt/archives/hello_*.deb 2>/dev/null | head -1");
	if (!deb || !*deb) {
		skip("real deb", "archive unreachable");
		free(deb);
		return;
	}
	deb[strcspn(deb, "\n")] = 0;
	if (deb[0] != '/') {
		a = xasprintf("%s/%s", tmp, deb);
		free(deb);
		deb = a;
	}
	root = open_root("hello");
	r = debinst_merged_usr_links(&ctx, root);
	memset(&p, 0, sizeof p);
	if (r == 0)
		r = debinst_unpack(&ctx, root, deb, 1, &p);
	if (r == 0)
		r = debinst_write_status(&ctx, root, NULL, &p, 1, "installed", "amd64");
	check(r == 0, "real deb: hello unpacks", "r=%d", r);
	a = sh_out("%s/hello/usr/bin/hello", tmp);
	check(streq(a, "Hello, world!\n"), "real deb: hello runs", "got %s", a ? a : "(failed)");
	free(a);
	a = sh_out("dpkg --root=%s/hello --verify hello 2>&1", tmp);
	check(streq(a, ""), "real deb: dpkg --verify is clean", "got %s", a ? a : "(failed)");
	free(a);
	if (geteuid() == 0 && sh("dpkg-deb --ctrl-tarfile %s | tar -t | grep -q preinst", deb) != 0 &&
	    dpkg_unpack(deb, "hello-dpkg")) {
		a = slurp("%s/hello/var/lib/dpkg/info/hello.list", tmp);
		b = slurp("%s/hello-dpkg/var/lib/dpkg/info/hello.list", tmp);
		check(a && b && !strcmp(a, b), "real deb: same .list as dpkg", "ours\n%s\n# dpkg's\n%s",
		      a ? a : "(none)", b ? b : "(none)");
		free(a);
		free(b);
		debinst_write_status(&ctx, root, NULL, &p, 1, "unpacked", "amd64");
		a = slurp("%s/hello/var/lib/dpkg/status", tmp);
		b = slurp("%s/hello-dpkg/var/lib/dpkg/status", tmp);
		check(a && b && !strcmp(a, b), "real deb: same status entry as dpkg",
		      "ours\n%s\n# dpkg's\n%s", a ? a : "(none)", b ? b : "(none)");
		free(a);
		free(b);
	} else {
		skip("real deb: compare with dpkg", "needs root and a package without preinst");
	}
	if (r == 0)
		debinst_pkg_free(&p);
	free(deb);
	close(root);
}

int main(void)
{
	pkgimg_ctx_init(&ctx);
	snprintf(tmp, sizeof tmp, "%s/test_debinst-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("not ok - mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_dpkg_deb();
	test_installed_state();
	test_merged_usr();
	test_malicious();
	test_crafted_ok();
	test_compressions();
	test_real_deb();
	if (!getenv("KEEP_TMP"))
		sh("rm -rf %s", tmp);
	else
		printf("# kept %s\n", tmp);
	printf("# %d passed, %d failed, %d skipped\n", n_pass, n_fail, n_skip);
	return n_fail ? 1 : 0;
}
