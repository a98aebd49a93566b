/* cache/view.c's view_transparent (what lets install --lock carry "the
 * image has dpkg" from one layer to the next instead of looking through
 * every layer below each time) and cache/store.c's layer limit: a tree
 * leaves /usr/bin/dpkg to the layers below only when it has nothing there
 * and plain directories on the way; an opaque directory, a link, a file or
 * a whiteout on the way hides them.  Prints "ok - NAME" / "not ok - NAME";
 * exits non-zero on a failure. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cache/store.h"
#include "cache/view.h"
#include "core/ctx.h"
#include "core/error.h"

#include "tests/unit/check.h"

static char base[PATH_MAX];

/* A fresh tree NAME under base, with the dirs of the list made in it. */
static char *tree(const char *name, const char *const *dirs)
{
	static char t[PATH_MAX + 64];
	char p[PATH_MAX + 128];

	snprintf(t, sizeof t, "%s/%s", base, name);
	mkdir(t, 0755);
	for (; dirs && *dirs; dirs++) {
		snprintf(p, sizeof p, "%s/%s", t, *dirs);
		mkdir(p, 0755);
	}
	return t;
}

int main(void)
{
	struct pkgimg_ctx ctx;
	char p[PATH_MAX + 128], *t;
	int r;

	pkgimg_ctx_init(&ctx);
	snprintf(base, sizeof base, "/tmp/pkgimg-test-layers-XXXXXX");
	if (!mkdtemp(base)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	t = tree("empty", NULL);
	check(view_transparent(t, "/usr/bin/dpkg"), "an empty tree leaves the path below", " ");
	t = tree("usr", (const char *const[]){ "usr", "usr/share", NULL });
	check(view_transparent(t, "/usr/bin/dpkg"), "usr/ without bin/ leaves it below", " ");
	t = tree("bin", (const char *const[]){ "usr", "usr/bin", NULL });
	snprintf(p, sizeof p, "%s/usr/bin/other", t);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	check(view_transparent(t, "/usr/bin/dpkg"), "usr/bin/ with other files leaves it below", " ");
	snprintf(p, sizeof p, "%s/usr/bin/dpkg", t);
	close(open(p, O_WRONLY | O_CREAT, 0755));
	check(!view_transparent(t, "/usr/bin/dpkg"), "usr/bin/dpkg itself: not left below", " ");
	t = tree("link", (const char *const[]){ "usr", NULL });
	snprintf(p, sizeof p, "%s/usr/bin", t);
	r = symlink("/opt/bin", p);
	check(r == 0 && !view_transparent(t, "/usr/bin/dpkg"), "a link on the way hides what is "
	      "below", "%s", strerror(errno));
	t = tree("file", NULL);
	snprintf(p, sizeof p, "%s/usr", t);
	close(open(p, O_WRONLY | O_CREAT, 0644));
	check(!view_transparent(t, "/usr/bin/dpkg"), "a file on the way hides what is below", " ");
	t = tree("opaque", (const char *const[]){ "usr", "usr/bin", NULL });
	snprintf(p, sizeof p, "%s/usr/bin", t);
	if (setxattr(p, "user.overlay.opaque", "y", 1, 0) == 0)
		check(!view_transparent(t, "/usr/bin/dpkg"), "an opaque directory on the way hides "
		      "what is below", " ");
	else
		printf("skip - an opaque directory: setxattr: %s\n", strerror(errno));
	t = tree("whiteout", (const char *const[]){ "usr", "usr/bin", NULL });
	snprintf(p, sizeof p, "%s/usr/bin/dpkg", t);
	if (mknod(p, S_IFCHR | 0, makedev(0, 0)) == 0)
		check(!view_transparent(t, "/usr/bin/dpkg"), "a whiteout at the path: not left "
		      "below", " ");
	else
		printf("skip - a whiteout: mknod: %s\n", strerror(errno));
	check(!view_transparent("/nonexistent-pkgimg-tree", "/usr/bin/dpkg"),
	      "an unreadable tree: not left below (unsure)", " ");

	r = store_check_layers(&ctx, STORE_LAYERS_MAX, "env: A=1");
	check(r == 0 && STORE_LAYERS_MAX == 499, "layers: 499 are allowed", "r=%d", r);
	r = store_check_layers(&ctx, STORE_LAYERS_MAX + 1, "env: A=1");
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "env: A=1: [layers] the image would have "
					    "500 layers; an image has at most 499") &&
	      strstr(ctx.errmsg, "combine run steps into one"),
	      "layers: the 500th is refused with the limit and the fix", "r=%d %s", r, ctx.errmsg);

	snprintf(p, sizeof p, "rm -rf '%s'", base);
	if (system(p) != 0)
		printf("# could not remove %s\n", base);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
