/* Unit tests of installers/debtrig.c: the trigger interests of a layer's
 * packages registered over the image below, and the file triggers of the
 * image below that their files activate (dpkg's formats). */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "installers/deb.h"
#include "installers/debtrig.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-debtrig.XXXXXX";

static void put(int rootfd, const char *path, const char *text)
{
	const char *name;
	int dfd;

	if (fs_open_parent(NULL, "test", "put", rootfd, path, true, NULL, &dfd, &name) == 0) {
		fs_write_file(NULL, dfd, name, text, strlen(text), 0644);
		close(dfd);
	}
}

/* The file's text, "<none>" when missing. */
static char *get(int rootfd, const char *path)
{
	struct sbuf s = SBUF_INIT;

	if (faccessat(rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
		return xstrdup("<none>");
	fs_read_file(NULL, rootfd, path, &s);
	return sbuf_detach(&s);
}

static void expect(int rootfd, const char *path, const char *want, const char *name)
{
	char *got = get(rootfd, path);

	check(!strcmp(got, want), name, "%s: got [%s], want [%s]", path, got, want);
	free(got);
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct debinst_pkg pkgs[3];
	char *ex[] = { "ldconfig", "libc-bin\n", "update-ca-certificates", "ca-certificates\n", NULL };
	struct debtrig_below below = {
		.file = "/usr/share/man man-db/noawait\n/usr/share/old oldpkg\n"
			"/usr/share/debianutils/shells.d debianutils/noawait\n",
		.unincorp = "",
		.explicit = ex,
	};
	int rootfd, r;

	pkgimg_ctx_init(&ctx);
	if (!mkdtemp(work)) {
		perror(work);
		return 2;
	}
	rootfd = open(work, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	memset(pkgs, 0, sizeof pkgs);
	pkgs[0].name = "less";
	pkgs[0].arch = "amd64";
	pkgs[1].name = "oldpkg";	/* an upgrade: its old interest goes */
	pkgs[1].arch = "amd64";
	pkgs[2].name = "libfoo1";
	pkgs[2].arch = "amd64";
	pkgs[2].multiarch_same = 1;
	put(rootfd, "var/lib/dpkg/info/less.list",
	    "/.\n/usr\n/usr/bin/less\n/usr/share\n/usr/share/man\n/usr/share/man/man1\n"
	    "/usr/share/man/man1/less.1.gz\n/usr/share/mandatory\n");
	put(rootfd, "var/lib/dpkg/info/oldpkg.list", "/usr/share/old/x\n/usr/share/man/man5/o.5.gz\n");
	put(rootfd, "var/lib/dpkg/info/oldpkg.triggers",
	    "# a comment\n  interest-noawait /usr/share/new\ninterest ldconfig\n"
	    "activate-noawait update-ca-certificates\n");
	put(rootfd, "var/lib/dpkg/info/libfoo1:amd64.triggers",
	    "interest-await foo-trigger\nactivate-noawait ldconfig\n");
	put(rootfd, "var/lib/dpkg/info/libfoo1:amd64.list", "/usr/lib/libfoo.so.1\n");

	r = debtrig_write(&ctx, rootfd, &below, pkgs, 3);
	check(r == 0, "debtrig_write succeeds", "%d: %s", r, ctx.errmsg);
	expect(rootfd, "var/lib/dpkg/triggers/File",
	       "/usr/share/man man-db/noawait\n"
	       "/usr/share/debianutils/shells.d debianutils/noawait\n"
	       "/usr/share/new oldpkg/noawait\n",
	       "File: the upgraded package's old interest dropped, the new one appended");
	expect(rootfd, "var/lib/dpkg/triggers/ldconfig", "libc-bin\noldpkg\n",
	       "an explicit interest is appended to the trigger's file");
	expect(rootfd, "var/lib/dpkg/triggers/foo-trigger", "libfoo1:amd64\n",
	       "Multi-Arch: same packages are named with their arch");
	expect(rootfd, "var/lib/dpkg/triggers/update-ca-certificates", "<none>",
	       "files of the image below that did not change are not copied");
	/* the man page of `less` activates man-db's interest; oldpkg's own old
	 * interest is gone with its upgrade; /usr/share/mandatory is no man dir */
	expect(rootfd, "var/lib/dpkg/triggers/Unincorp", "/usr/share/man -\n",
	       "files of the layer activate the file triggers of the image below");

	/* an empty image: interests only, and an empty Unincorp so that dpkg
	 * does not re-derive them */
	fs_rm_rf(NULL, rootfd, "var/lib/dpkg/triggers");
	r = debtrig_write(&ctx, rootfd, NULL, pkgs, 1);
	check(r == 0, "debtrig_write on an empty image", "%d: %s", r, ctx.errmsg);
	expect(rootfd, "var/lib/dpkg/triggers/Unincorp", "", "a fresh image gets an empty Unincorp");
	expect(rootfd, "var/lib/dpkg/triggers/File", "<none>", "no interests, no File");

	put(rootfd, "var/lib/dpkg/info/less.triggers", "interest ../../etc\n");
	r = debtrig_write(&ctx, rootfd, NULL, pkgs, 1);
	check(r < 0 && strstr(ctx.errmsg, "invalid trigger name"),
	      "a trigger name that would name a file outside triggers/ is refused", "%d: %s", r,
	      ctx.errmsg);

	close(rootfd);
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures != 0;
}
