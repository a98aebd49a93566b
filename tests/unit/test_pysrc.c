/* pyspec/pysrc.c: requirements that name a source (issue 18).  The
 * expected values are pip 23's own answers (Git.get_url_rev_and_auth,
 * path_to_url, DirectUrl(...).to_json()), as printed by
 *   python3 -c 'from pip._internal.models.direct_url import *; ...'
 * Prints "ok - NAME" / "not ok - NAME"; exits non-zero on a failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/str.h"
#include "pyspec/pysrc.h"

#include "tests/unit/check.h"

static struct pkgimg_ctx ctx;

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static void url_is(const char *in, enum pysrc_kind kind, const char *url, const char *rev,
		   const char *sub, const char *sha, const char *direct)
{
	struct pysrc s;
	int r = pysrc_parse_url(&ctx, in, &s);

	check(r == 0 && s.kind == kind && !strcmp(nz(s.url), nz(url)) &&
	      !strcmp(nz(s.rev), nz(rev)) && !strcmp(nz(s.subdirectory), nz(sub)) &&
	      !strcmp(nz(s.sha256), nz(sha)) && !strcmp(nz(s.direct_url), nz(direct)), in,
	      "r=%d %s kind=%d url=%s rev=%s sub=%s sha=%s direct=%s", r, ctx.errmsg,
	      r ? -1 : (int)s.kind, r ? "" : nz(s.url), r ? "" : nz(s.rev),
	      r ? "" : nz(s.subdirectory), r ? "" : nz(s.sha256), r ? "" : nz(s.direct_url));
	if (r == 0)
		pysrc_free(&s);
}

static void url_bad(const char *in, const char *word)
{
	struct pysrc s;
	int r = pysrc_parse_url(&ctx, in, &s);

	check(r < 0 && strstr(ctx.errmsg, word), in, "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pysrc_free(&s);
}

static void test_urls(void)
{
	url_is("https://h/x-1.0.tar.gz", PYSRC_ARCHIVE, "https://h/x-1.0.tar.gz", NULL, NULL, NULL,
	       "https://h/x-1.0.tar.gz");
	url_is("https://h/x-1.0.zip#sha256=ABCDEFabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123"
	       "&subdirectory=a/b&egg=x", PYSRC_ARCHIVE, "https://h/x-1.0.zip", NULL, "a/b",
	       "abcdefabcdef0123456789abcdef0123456789abcdef0123456789abcdef0123",
	       "https://h/x-1.0.zip");
	url_is("http://127.0.0.1:8000/p/x-1.0-py3-none-any.whl", PYSRC_WHEEL,
	       "http://127.0.0.1:8000/p/x-1.0-py3-none-any.whl", NULL, NULL, NULL,
	       "http://127.0.0.1:8000/p/x-1.0-py3-none-any.whl");
	/* pip: Git.get_url_rev_and_auth("git+file:///x/re@po@v1.0") ->
	 * ('file:///x/re@po', 'v1.0') */
	url_is("git+file:///x/re@po@v1.0", PYSRC_GIT, "file:///x/re@po", "v1.0", NULL, NULL,
	       "file:///x/re@po");
	url_is("git+https://user@host/x/repo.git@main#subdirectory=pkg", PYSRC_GIT,
	       "https://user@host/x/repo.git", "main", "pkg", NULL, "https://user@host/x/repo.git");
	url_is("git+https://host/x/repo", PYSRC_GIT, "https://host/x/repo", NULL, NULL, NULL,
	       "https://host/x/repo");
	url_is("file:///tmp", PYSRC_DIR, "/tmp", NULL, NULL, NULL, "file:///tmp");
	url_is("file:///nonexistent/x-1.0.tar.gz", PYSRC_ARCHIVE, "file:///nonexistent/x-1.0.tar.gz",
	       NULL, NULL, NULL, "file:///nonexistent/x-1.0.tar.gz");
	url_bad("svn+https://h/r", "pip reads http, https and file");
	url_bad("git+foo://h/r", "git over 'foo'");
	url_bad("git+https://h/r@", "empty revision");
	url_bad("https://h/x.tar.gz#subdirectory=../etc", "subdirectory");
	url_bad("https://h/x.tar.gz#sha256=abc", "64 hex");
	url_bad("https://h/x.exe", "neither a directory nor an archive");
	url_bad("file://host/x.tar.gz", "absolute path");
}

static void test_unnamed(void)
{
	char dir[] = "/tmp/pkgimg-test-pysrc-XXXXXX";
	char *sub, *arc, *rel;
	struct pysrc s;
	int r;

	check(pysrc_is_unnamed("./x") && pysrc_is_unnamed("/abs") && pysrc_is_unnamed("x-1.0.tar.gz") &&
	      pysrc_is_unnamed("file:///a") && pysrc_is_unnamed("git+https://h/r") &&
	      !pysrc_is_unnamed("requests>=2") && !pysrc_is_unnamed("x @ https://h/x.tar.gz") &&
	      !pysrc_is_unnamed("foo[bar]"), "is_unnamed: paths and URLs, not names", "%s", "");
	if (!mkdtemp(dir))
		return;
	sub = xasprintf("%s/my proj", dir);
	mkdir(sub, 0755);
	arc = xasprintf("%s/x-1.0.tar.gz", dir);
	fs_write_file(&ctx, AT_FDCWD, arc, "x", 1, 0644);
	r = pysrc_parse_unnamed(&ctx, "./my proj/../my proj/.", dir, &s);
	rel = xasprintf("file://%s/my%%20proj", dir);
	check(r == 0 && s.kind == PYSRC_DIR && !strcmp(s.url, sub) && !strcmp(s.direct_url, rel),
	      "unnamed: a relative directory, normalised, file:// quoted as pip's path_to_url",
	      "r=%d %s url=%s direct=%s", r, ctx.errmsg, r ? "" : s.url, r ? "" : s.direct_url);
	if (r == 0)
		pysrc_free(&s);
	free(rel);
	r = pysrc_parse_unnamed(&ctx, "x-1.0.tar.gz", dir, &s);
	rel = xasprintf("file://%s", arc);
	check(r == 0 && s.kind == PYSRC_ARCHIVE && !strcmp(s.url, rel) && !strcmp(s.direct_url, rel),
	      "unnamed: an archive path becomes a file:// URL", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pysrc_free(&s);
	free(rel);
	r = pysrc_parse_unnamed(&ctx, "./missing", dir, &s);
	check(r == -ENOENT && strstr(ctx.errmsg, "missing"), "unnamed: a missing path is named",
	      "r=%d %s", r, ctx.errmsg);
	unlink(arc);
	rmdir(sub);
	rmdir(dir);
	free(sub);
	free(arc);
}

static void json_is(const char *name, char *got, const char *want)
{
	check(!strcmp(got, want), name, "got %s want %s", got, want);
	free(got);
}

static void test_json(void)
{
	/* each "want" is what pip 23.0.1's DirectUrl(...).to_json() printed */
	json_is("direct_url: dir_info",
		pysrc_direct_url_json(PYSRC_DIR, "file:///tmp/a%20b", NULL, NULL, NULL, NULL),
		"{\"dir_info\": {}, \"url\": \"file:///tmp/a%20b\"}");
	json_is("direct_url: archive_info with hash and hashes",
		pysrc_direct_url_json(PYSRC_ARCHIVE, "https://h/x-1.0.tar.gz", "ab", NULL, NULL,
				      NULL),
		"{\"archive_info\": {\"hash\": \"sha256=ab\", \"hashes\": {\"sha256\": \"ab\"}}, "
		"\"url\": \"https://h/x-1.0.tar.gz\"}");
	json_is("direct_url: archive_info empty, subdirectory",
		pysrc_direct_url_json(PYSRC_ARCHIVE, "https://h/x-1.0.tar.gz", NULL, NULL, NULL,
				      "sub/d"),
		"{\"archive_info\": {}, \"subdirectory\": \"sub/d\", \"url\": "
		"\"https://h/x-1.0.tar.gz\"}");
	json_is("direct_url: vcs_info with requested_revision and subdirectory",
		pysrc_direct_url_json(PYSRC_GIT, "file:///r/repo", NULL, "c0ffee", "v1.0", "p"),
		"{\"subdirectory\": \"p\", \"url\": \"file:///r/repo\", \"vcs_info\": "
		"{\"commit_id\": \"c0ffee\", \"requested_revision\": \"v1.0\", \"vcs\": \"git\"}}");
	json_is("direct_url: non-ASCII as \\u escapes, no requested_revision",
		pysrc_direct_url_json(PYSRC_GIT, "file:///r/\xc3\xa9", NULL, "c0ffee", NULL, NULL),
		"{\"url\": \"file:///r/\\u00e9\", \"vcs_info\": {\"commit_id\": \"c0ffee\", "
		"\"vcs\": \"git\"}}");
	{
		char *u = pysrc_path_url("/tmp/a b/\xc3\xbc+x~y");

		check(!strcmp(u, "file:///tmp/a%20b/%C3%BC%2Bx~y"), "path_url: as pip's path_to_url",
		      "%s", u);
		free(u);
	}
}

int main(void)
{
	pkgimg_ctx_init(&ctx);
	test_urls();
	test_unnamed();
	test_json();
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
