/* Unit test of core/tree.c: materialising a layer (TREE_COPY, TREE_HOST)
 * keeps the hard links inside it (a package's perl and perl5.36.0 are one
 * inode in the layer and in dpkg's tree), and only those. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "core/tree.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-treelinks.XXXXXX";

static void put(const char *rel, const char *text)
{
	char *p = xasprintf("%s/%s", work, rel);
	FILE *f = fopen(p, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	free(p);
}

static void mk(const char *rel)
{
	char *p = xasprintf("%s/%s", work, rel);

	mkdir(p, 0755);
	free(p);
}

static void ln(const char *from, const char *to)
{
	char *a = xasprintf("%s/%s", work, from), *b = xasprintf("%s/%s", work, to);

	link(a, b);
	free(a);
	free(b);
}

static ino_t ino(const char *rel)
{
	char *p = xasprintf("%s/%s", work, rel);
	struct stat sb;
	ino_t i = lstat(p, &sb) == 0 ? sb.st_ino : 0;

	free(p);
	return i;
}

int main(void)
{
	static const enum tree_mode modes[] = { TREE_COPY, TREE_HOST };
	struct pkgimg_ctx ctx;

	pkgimg_ctx_init(&ctx);
	if (!mkdtemp(work)) {
		perror(work);
		return 2;
	}
	mk("src");
	mk("src/usr");
	mk("src/usr/bin");
	put("src/usr/bin/perl", "#perl\n");
	ln("src/usr/bin/perl", "src/usr/bin/perl5.36.0");
	mk("src/b");
	ln("src/usr/bin/perl", "src/b/perl-elsewhere");	/* another directory */
	put("src/usr/bin/other", "#perl\n");			/* same bytes, own inode */
	for (size_t m = 0; m < 2; m++) {
		char *dst = xasprintf("dst%zu", m), *p = xasprintf("%s/%s", work, dst);
		char *a = xasprintf("%s/usr/bin/perl", dst), *b = xasprintf("%s/usr/bin/perl5.36.0", dst);
		char *c = xasprintf("%s/b/perl-elsewhere", dst), *o = xasprintf("%s/usr/bin/other", dst);
		int sfd, dfd, r;

		mk(dst);
		sfd = open(work, O_RDONLY | O_DIRECTORY);
		sfd = openat(sfd, "src", O_RDONLY | O_DIRECTORY);
		dfd = open(p, O_RDONLY | O_DIRECTORY);
		r = tree_apply(&ctx, sfd, dfd, modes[m], 1, "layer", "materialize", p);
		check(r == 0, m ? "TREE_HOST succeeds" : "TREE_COPY succeeds", "%d: %s", r, ctx.errmsg);
		check(ino(a) && ino(a) == ino(b) && ino(a) == ino(c),
		      m ? "TREE_HOST keeps hard links" : "TREE_COPY keeps hard links",
		      "perl %lu, perl5.36.0 %lu, b/perl-elsewhere %lu", (unsigned long)ino(a),
		      (unsigned long)ino(b), (unsigned long)ino(c));
		check(ino(o) && ino(o) != ino(a) && ino(a) != ino("src/usr/bin/perl"),
		      m ? "TREE_HOST links nothing else, and never to the source"
			: "TREE_COPY links nothing else, and never to the source",
		      "other %lu perl %lu", (unsigned long)ino(o), (unsigned long)ino(a));
		close(sfd);
		close(dfd);
		free(dst);
		free(p);
		free(a);
		free(b);
		free(c);
		free(o);
	}
	fs_rm_rf(NULL, AT_FDCWD, work);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures != 0;
}
