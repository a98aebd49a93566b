/* pyspec/reqfile.c: pip requirements files written into a temporary
 * directory and read back: comments and continuations in pip's order,
 * ${VAR}, nested -r / -c, index options, --hash and hash-checking mode, and
 * the errors (each naming file:line).  Prints "ok - NAME" / "not ok - NAME"
 * (+ "# detail"); exits non-zero on a failure. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/reqfile.h"

#include "tests/unit/check.h"

#define H256A "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
#define H256B "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752"
#define H384 "768412320f7b0aa5812fce428dc4706b3cae50e02a64caa16a782249bfe8efc4" \
	     "b7ef1ccb126255d196047dfedf17a0a9"
#define H512 "ee26b0dd4af7e749aa1a8ee3c10ae9923f618980772e473f8819a5d4940e0db2" \
	     "7ac185f8a0e1d5f84f88bc887fd67b143732c304cc5fa9ad8e6f57f50028a8ff"

static char dir[PATH_MAX];
static char pathbuf[PATH_MAX + 64];
static struct pkgimg_ctx ctx;

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static const char *at(const char *name)
{
	snprintf(pathbuf, sizeof pathbuf, "%s/%s", dir, name);
	return pathbuf;
}

static void wr(const char *name, const char *content)
{
	FILE *fp = fopen(at(name), "wb");

	if (!fp) {
		printf("Bail out! cannot write %s: %s\n", pathbuf, strerror(errno));
		exit(2);
	}
	fputs(content, fp);
	fclose(fp);
}

/* Parses dir/name with a fresh ctx. */
static int parse(const char *name, struct reqfile *rf)
{
	pkgimg_ctx_init(&ctx);
	return reqfile_parse(&ctx, at(name), rf);
}

static bool has(const char *s, const char *sub)
{
	return s && strstr(s, sub) != NULL;
}

static const char *req_name(const struct reqfile *rf, size_t i)
{
	return i < rf->nreqs ? rf->reqs[i].req.name : NULL;
}

/* An error whose message holds every one of the NULL-terminated words. */
static void check_err(const char *file, const char *content, const char *what, int want_rc, ...)
{
	struct reqfile rf;
	const char *w;
	bool ok;
	va_list ap;
	int r;

	memset(&rf, 0x5a, sizeof rf);
	wr(file, content);
	r = parse(file, &rf);
	ok = r == want_rc && rf.nreqs == (size_t)0x5a5a5a5a5a5a5a5aull;
	va_start(ap, want_rc);
	while ((w = va_arg(ap, const char *)))
		if (!has(ctx.errmsg, w)) {
			ok = false;
			printf("# missing '%s'\n", w);
		}
	va_end(ap);
	check(ok, what, "rc=%d (want %d): %s", r, want_rc, ctx.errmsg);
	if (r == 0)
		reqfile_free(&rf);
}

#define ERR(file, content, what, ...) \
	check_err(file, content, what, -PKGIMG_E_PARSE, __VA_ARGS__, (const char *)NULL)

static void t_basic(void)
{
	struct reqfile rf;
	char want[PATH_MAX + 128];
	int r;

	wr("basic.txt", "# a comment\n\nrequests>=2.0\n   # indented comment\n"
			"numpy==1.26.4  # trailing comment\nfoo[Bar,baz] == 1.0\n");
	r = parse("basic.txt", &rf);
	check(r == 0, "basic: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 3, "basic: three requirements", "got %zu", rf.nreqs);
	check(!strcmp(nz(req_name(&rf, 0)), "requests") && !strcmp(nz(req_name(&rf, 1)), "numpy"),
	      "basic: names in file order", "got %s, %s", nz(req_name(&rf, 0)),
	      nz(req_name(&rf, 1)));
	check(rf.nreqs > 1 && rf.reqs[1].req.spec.n == 1 &&
	      !strcmp(rf.reqs[1].req.spec.v[0].text, "==1.26.4"),
	      "basic: trailing comment stripped from the specifier", "n=%zu",
	      rf.nreqs > 1 ? rf.reqs[1].req.spec.n : 0);
	snprintf(want, sizeof want, "%s:5", at("basic.txt"));
	check(rf.nreqs > 1 && !strcmp(rf.reqs[1].origin, want), "basic: origin is file:line",
	      "got %s want %s", rf.nreqs > 1 ? rf.reqs[1].origin : "-", want);
	check(rf.nreqs > 2 && rf.reqs[2].req.nextras == 2 &&
	      !strcmp(rf.reqs[2].req.extras[0], "bar"), "basic: extras kept (normalised)",
	      "nextras=%zu", rf.nreqs > 2 ? rf.reqs[2].req.nextras : 0);
	check(!rf.index_url && !rf.no_index && !rf.pre && !rf.require_hashes &&
	      rf.nconstraints == 0 && rf.reqs[0].hashes.n == 0,
	      "basic: no options, no constraints, no hashes", "index=%s", nz(rf.index_url));
	reqfile_free(&rf);

	wr("empty.txt", "");
	r = parse("empty.txt", &rf);
	check(r == 0 && rf.nreqs == 0, "empty file: no requirements", "rc=%d n=%zu", r,
	      r ? 0 : rf.nreqs);
	if (!r)
		reqfile_free(&rf);
}

static void t_continuation(void)
{
	struct reqfile rf;
	char want[PATH_MAX + 128];
	int r;

	wr("cont.txt", "alpha \\\n  >=1.0 \\\n  ,<2 # comment after joining\n"
		       "beta>=1 \\\n# a comment ends the continuation\n"
		       "gamma==3\n"
		       "# comment line with a backslash \\\n"
		       "delta==4\n"
		       "eps\\");
	r = parse("cont.txt", &rf);
	check(r == 0, "continuation: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 5, "continuation: five requirements", "got %zu", rf.nreqs);
	if (rf.nreqs == 5) {
		check(!strcmp(rf.reqs[0].req.name, "alpha") && rf.reqs[0].req.spec.n == 2,
		      "continuation: three lines joined, comment stripped after joining",
		      "name=%s n=%zu", rf.reqs[0].req.name, rf.reqs[0].req.spec.n);
		snprintf(want, sizeof want, "%s:1", at("cont.txt"));
		check(!strcmp(rf.reqs[0].origin, want), "continuation: origin is the first line",
		      "got %s", rf.reqs[0].origin);
		check(!strcmp(rf.reqs[1].req.name, "beta") && rf.reqs[1].req.spec.n == 1,
		      "continuation: a comment line ends it and is dropped", "name=%s",
		      rf.reqs[1].req.name);
		check(!strcmp(rf.reqs[2].req.name, "gamma"),
		      "continuation: the line after the comment is its own", "got %s",
		      rf.reqs[2].req.name);
		check(!strcmp(rf.reqs[3].req.name, "delta"),
		      "continuation: a comment ending in '\\' does not continue", "got %s",
		      rf.reqs[3].req.name);
		snprintf(want, sizeof want, "%s:9", at("cont.txt"));
		check(!strcmp(rf.reqs[4].req.name, "eps") && !strcmp(rf.reqs[4].origin, want),
		      "continuation: a trailing '\\' at end of file", "got %s at %s",
		      rf.reqs[4].req.name, rf.reqs[4].origin);
	}
	reqfile_free(&rf);
}

static void t_url_fragment(void)
{
	struct reqfile rf;
	int r;

	wr("url.txt", "foo @ https://example.com/foo-1.0-py3-none-any.whl#sha256=abcdef\n"
		      "bar@https://example.com/bar-2.0-py3-none-any.whl#egg=bar # real comment\n");
	r = parse("url.txt", &rf);
	check(r == 0 && rf.nreqs == 2, "url: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	if (rf.nreqs == 2) {
		check(has(rf.reqs[0].req.url, "#sha256=abcdef"),
		      "url: #sha256= fragment is not a comment", "url=%s", nz(rf.reqs[0].req.url));
		check(has(rf.reqs[1].req.url, "#egg=bar") && !has(rf.reqs[1].req.url, "real"),
		      "url: #egg= kept, ' # comment' stripped", "url=%s", nz(rf.reqs[1].req.url));
	}
	reqfile_free(&rf);
}

static void t_env(void)
{
	struct reqfile rf;
	int r;

	setenv("PKGIMG_T_VER", "2.1", 1);
	setenv("PKGIMG_T_HOST", "pypi.example.org", 1);
	setenv("PKGIMG_T_HASH", " #x", 1);
	setenv("lower_t", "x", 1);
	unsetenv("PKGIMG_T_UNSET");
	wr("env.txt", "foo==${PKGIMG_T_VER}\n"
		      "-i https://${PKGIMG_T_HOST}/simple\n"
		      "--extra-index-url https://$PKGIMG_T_HOST/a\n"
		      "--extra-index-url https://${PKGIMG_T_UNSET}/b\n"
		      "--extra-index-url https://${lower_t}/c\n"
		      "--trusted-host \"h${PKGIMG_T_HASH}\"\n");
	r = parse("env.txt", &rf);
	check(r == 0, "env: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 1 && rf.reqs[0].req.spec.n == 1 &&
	      !strcmp(rf.reqs[0].req.spec.v[0].text, "==2.1"),
	      "env: ${VAR} expanded in a requirement", "n=%zu", rf.nreqs);
	check(!strcmp(nz(rf.index_url), "https://pypi.example.org/simple"),
	      "env: ${VAR} expanded in an option", "got %s", nz(rf.index_url));
	check(rf.extra_index_urls.n == 3 &&
	      !strcmp(rf.extra_index_urls.v[0], "https://$PKGIMG_T_HOST/a"),
	      "env: $VAR without braces stays", "got %s",
	      rf.extra_index_urls.n ? rf.extra_index_urls.v[0] : "-");
	check(rf.extra_index_urls.n == 3 &&
	      !strcmp(rf.extra_index_urls.v[1], "https://${PKGIMG_T_UNSET}/b"),
	      "env: an unset variable stays as written", "got %s",
	      rf.extra_index_urls.n > 1 ? rf.extra_index_urls.v[1] : "-");
	check(rf.extra_index_urls.n == 3 && !strcmp(rf.extra_index_urls.v[2], "https://${lower_t}/c"),
	      "env: lowercase names are not expanded", "got %s",
	      rf.extra_index_urls.n > 2 ? rf.extra_index_urls.v[2] : "-");
	check(rf.trusted_hosts.n == 1 && !strcmp(rf.trusted_hosts.v[0], "h #x"),
	      "env: expansion happens after comment stripping", "got %s",
	      rf.trusted_hosts.n ? rf.trusted_hosts.v[0] : "-");
	reqfile_free(&rf);
}

static void t_nested(void)
{
	struct reqfile rf;
	int r;

	mkdir(at("sub"), 0755);
	mkdir(at("sub/deeper"), 0755);
	wr("top.txt", "-r sub/a.txt\nzzz==1\n--requirement=sub/deeper/c.txt\n");
	wr("sub/a.txt", "-r b.txt\naaa==1\n");
	wr("sub/b.txt", "bbb==1\n");
	wr("sub/deeper/c.txt", "-r ../b.txt\nccc==1\n");
	r = parse("top.txt", &rf);
	check(r == 0, "nested: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 5, "nested: five requirements (b.txt twice is no cycle)", "got %zu",
	      rf.nreqs);
	check(!strcmp(nz(req_name(&rf, 0)), "bbb") && !strcmp(nz(req_name(&rf, 1)), "aaa") &&
	      !strcmp(nz(req_name(&rf, 2)), "zzz") && !strcmp(nz(req_name(&rf, 4)), "ccc"),
	      "nested: included files inline, in order", "got %s %s %s", nz(req_name(&rf, 0)),
	      nz(req_name(&rf, 1)), nz(req_name(&rf, 2)));
	check(rf.nreqs > 0 && has(rf.reqs[0].origin, "sub/b.txt:1"),
	      "nested: relative to the including file's directory", "origin %s",
	      rf.nreqs ? rf.reqs[0].origin : "-");
	check(rf.nreqs > 3 && has(rf.reqs[3].origin, "sub/deeper/../b.txt:1"),
	      "nested: '..' relative to a nested file", "origin %s",
	      rf.nreqs > 3 ? rf.reqs[3].origin : "-");
	reqfile_free(&rf);

	wr("cyc1.txt", "x==1\n-r cyc2.txt\n");
	wr("cyc2.txt", "y==1\n\n-r cyc1.txt\n");
	ERR("cyc1.txt", "x==1\n-r cyc2.txt\n", "nested: a cycle is an error", "cyc2.txt:3",
	    "includes itself", "cyc1.txt -> ");
	ERR("self.txt", "-r ./self.txt\n", "nested: a file including itself", "self.txt:1",
	    "includes itself");
	check_err("miss.txt", "a==1\n-r nothere.txt\n", "nested: a missing file names the line",
		  -ENOENT, "miss.txt:2", "nothere.txt", (const char *)NULL);
	ERR("remote.txt", "-r https://example.com/r.txt\n", "nested: remote files refused",
	    "remote.txt:1", "remote");
	wr("sub/bad.txt", "ok==1\n--bogus\n");
	ERR("nestbad.txt", "-r sub/bad.txt\n", "nested: an error inside names the inner file",
	    "sub/bad.txt:2", "--bogus");
}

static void t_constraints(void)
{
	struct reqfile rf;
	int r;

	wr("cons.txt", "foo<2\nbar==1; python_version<\"3.12\"\n");
	wr("cons2.txt", "baz==3\n");
	wr("withc.txt", "foo\n-c cons.txt\n--constraint=cons2.txt\n");
	r = parse("withc.txt", &rf);
	check(r == 0, "constraints: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 1 && rf.nconstraints == 3, "constraints: collected separately",
	      "reqs=%zu constraints=%zu", rf.nreqs, rf.nconstraints);
	check(rf.nconstraints == 3 && !strcmp(rf.constraints[1].req.name, "bar") &&
	      rf.constraints[1].req.marker && has(rf.constraints[2].origin, "cons2.txt:1"),
	      "constraints: markers and origins kept", "n=%zu", rf.nconstraints);
	reqfile_free(&rf);

	wr("consx.txt", "foo[extra]==1\n");
	ERR("withcx.txt", "-c consx.txt\n", "constraints: extras refused", "consx.txt:1",
	    "extras");
	wr("consu.txt", "foo @ https://example.com/foo-1.0-py3-none-any.whl\n");
	ERR("withcu.txt", "-c consu.txt\n", "constraints: URLs refused", "consu.txt:1", "URL");
}

static void t_index_options(void)
{
	struct reqfile rf;
	char want[PATH_MAX + 128];
	int r;

	mkdir(at("wheels"), 0755);
	wr("idx.txt", "-i https://a/simple\n"
		      "--index-url=https://b/simple\n"
		      "--extra-index-url https://c/simple\n"
		      "--extra-index-url=https://d/simple\n"
		      "-f wheels\n"
		      "--find-links https://e/links\n"
		      "-f not-here\n"
		      "--no-index\n--pre\n--prefer-binary\n"
		      "--only-binary :all:\n--no-binary=foo,bar\n"
		      "--trusted-host c --use-feature=truststore\n"
		      "--extra-index 'https://f/a b'\n");
	r = parse("idx.txt", &rf);
	check(r == 0, "index: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(!strcmp(nz(rf.index_url), "https://b/simple"), "index: last --index-url wins",
	      "got %s", nz(rf.index_url));
	check(rf.extra_index_urls.n == 3 && !strcmp(rf.extra_index_urls.v[0], "https://c/simple") &&
	      !strcmp(rf.extra_index_urls.v[1], "https://d/simple"),
	      "index: --extra-index-url repeatable, both forms", "n=%zu", rf.extra_index_urls.n);
	check(rf.extra_index_urls.n == 3 && !strcmp(rf.extra_index_urls.v[2], "https://f/a b"),
	      "index: abbreviated long option, quoted value", "got %s",
	      rf.extra_index_urls.n > 2 ? rf.extra_index_urls.v[2] : "-");
	snprintf(want, sizeof want, "%s", at("wheels"));
	check(rf.find_links.n == 3 && !strcmp(rf.find_links.v[0], want) &&
	      !strcmp(rf.find_links.v[1], "https://e/links") &&
	      !strcmp(rf.find_links.v[2], "not-here"),
	      "index: find-links (existing relative dir made relative to the file)", "got %s",
	      rf.find_links.n ? rf.find_links.v[0] : "-");
	check(rf.no_index && rf.pre && rf.prefer_binary && !rf.require_hashes,
	      "index: flags recorded", "no_index=%d pre=%d", rf.no_index, rf.pre);
	check(rf.only_binary.n == 1 && !strcmp(rf.only_binary.v[0], ":all:") &&
	      rf.no_binary.n == 1 && !strcmp(rf.no_binary.v[0], "foo,bar") &&
	      rf.trusted_hosts.n == 1 && !strcmp(rf.trusted_hosts.v[0], "c"),
	      "index: binary options and trusted hosts recorded", "only=%zu no=%zu",
	      rf.only_binary.n, rf.no_binary.n);
	reqfile_free(&rf);

	wr("idx2.txt", "-ihttps://attached/simple\nfoo\n");
	r = parse("idx2.txt", &rf);
	check(r == 0 && !strcmp(nz(rf.index_url), "https://attached/simple"),
	      "index: -iURL attached short form", "rc=%d %s", r, ctx.errmsg);
	if (!r)
		reqfile_free(&rf);
}

static void t_hashes(void)
{
	struct reqfile rf;
	int r;

	wr("hash.txt", "foo==1.0 --hash=sha256:" H256A " --hash sha256:" H256B " \\\n"
		       "    --hash=sha512:" H512 " --hash=sha256:" H256A "\n"
		       "bar===2.0b1 --hash=sha384:" H384 "\n"
		       "baz @ https://example.com/baz-1.0-py3-none-any.whl \\\n"
		       "    --hash=SHA256:" H256A "\n");
	r = parse("hash.txt", &rf);
	check(r != 0 && has(ctx.errmsg, "hash.txt:4") && has(ctx.errmsg, "SHA256"),
	      "hash: algorithm names are case-sensitive", "rc=%d: %s", r, ctx.errmsg);
	if (!r)
		reqfile_free(&rf);

	wr("hash.txt", "foo==1.0 --hash=sha256:" H256A " --hash sha256:" H256B " \\\n"
		       "    --hash=sha512:" H512 " --hash=sha256:" H256A "\n"
		       "bar===2.0b1 --hash=sha384:" H384 "\n"
		       "baz @ https://example.com/baz-1.0-py3-none-any.whl \\\n"
		       "    --hash=sha256:9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08\n");
	r = parse("hash.txt", &rf);
	check(r == 0, "hash: parses", "rc=%d: %s", r, ctx.errmsg);
	if (r)
		return;
	check(rf.nreqs == 3, "hash: three requirements", "got %zu", rf.nreqs);
	if (rf.nreqs == 3) {
		check(rf.reqs[0].hashes.n == 3 &&
		      !strcmp(rf.reqs[0].hashes.v[0], "sha256:" H256A) &&
		      !strcmp(rf.reqs[0].hashes.v[1], "sha256:" H256B) &&
		      !strcmp(rf.reqs[0].hashes.v[2], "sha512:" H512),
		      "hash: --hash= and --hash forms, order kept, duplicate dropped", "n=%zu",
		      rf.reqs[0].hashes.n);
		check(rf.reqs[1].hashes.n == 1 && !strcmp(rf.reqs[1].hashes.v[0], "sha384:" H384),
		      "hash: sha384 and === pin accepted", "n=%zu", rf.reqs[1].hashes.n);
		check(rf.reqs[2].hashes.n == 1 && !strcmp(rf.reqs[2].hashes.v[0], "sha256:" H256A),
		      "hash: hex lowercased; a URL requirement needs no pin", "got %s",
		      rf.reqs[2].hashes.n ? rf.reqs[2].hashes.v[0] : "-");
	}
	reqfile_free(&rf);

	ERR("hbad1.txt", "ok==1 --hash=sha256:" H256A "\nfoo==1 --hash=md5:d41d8cd98f00b204e9800998ecf8427e\n",
	    "hash: md5 refused", "hbad1.txt:2", "md5", "sha256");
	ERR("hbad2.txt", "foo==1 --hash=sha256:abc\n", "hash: short digest refused",
	    "hbad2.txt:1", "64 hex");
	ERR("hbad3.txt", "foo==1 --hash=sha256:" "zz" H256A "\n", "hash: non-hex refused",
	    "hbad3.txt:1", "hex");
	ERR("hbad4.txt", "foo==1 --hash=" H256A "\n", "hash: missing algorithm refused",
	    "hbad4.txt:1", "hash name");
	ERR("hbad5.txt", "--hash=sha256:" H256A "\n", "hash: --hash without a requirement",
	    "hbad5.txt:1", "--hash", "requirement");
	ERR("hbad6.txt", "foo==1 --hash\n", "hash: --hash without a value", "hbad6.txt:1",
	    "--hash", "value");
}

static void t_hash_mode(void)
{
	struct reqfile rf;
	int r;

	ERR("hm1.txt", "--require-hashes\nfoo==1.0 --hash=sha256:" H256A "\nbar>=1 --hash=sha256:"
	    H256A "\n", "hash mode: an unpinned requirement is refused", "hm1.txt:3", "bar",
	    "pinned");
	ERR("hm2.txt", "foo==1.0 --hash=sha256:" H256A "\nbar==2\n",
	    "hash mode: a --hash anywhere turns it on", "hm2.txt:2", "bar", "--hash");
	ERR("hm3.txt", "--require-hashes\nfoo==1.0\n", "hash mode: --require-hashes needs hashes",
	    "hm3.txt:2", "foo", "--require-hashes");
	ERR("hm4.txt", "foo==1.* --hash=sha256:" H256A "\n",
	    "hash mode: a wildcard is not a pin", "hm4.txt:1", "foo", "pinned");
	ERR("hm5.txt", "foo==1,==1 --hash=sha256:" H256A "\n",
	    "hash mode: two specifiers are not a pin", "hm5.txt:1", "pinned");
	wr("sub/rh.txt", "--require-hashes\n");
	ERR("hm6.txt", "-r sub/rh.txt\nfoo==1\n", "hash mode: --require-hashes from a nested file",
	    "hm6.txt:2", "foo");

	wr("hm7.txt", "--require-hashes\nfoo==1.0 --hash=sha256:" H256A "\n-c hm7c.txt\n");
	wr("hm7c.txt", "bar>=1\n");
	r = parse("hm7.txt", &rf);
	check(r == 0 && rf.require_hashes && rf.nconstraints == 1,
	      "hash mode: satisfied; constraints need neither pin nor hash", "rc=%d: %s", r,
	      ctx.errmsg);
	if (!r)
		reqfile_free(&rf);
}

/* Sources without a name (issue 18): kept as written for the solver to
 * resolve; -e PATH is kept too, marked editable; a constraint cannot be one;
 * a line that is neither path nor URL is still refused without its text. */
static void t_sources(void)
{
	struct reqfile rf;
	int r;

	wr("src1.txt", "ok==1\n./pkg\n-e ./src/pkg\n--editable=git+https://example.com/x.git#egg=x\n"
	   "https://example.com/x-1.0.tar.gz\n/abs/dir\n"
	   "file:///abs/x-1.0.zip#subdirectory=a\ndist/x-1.0.tar.gz\n");
	r = parse("src1.txt", &rf);
	check(r == 0 && rf.nreqs == 8 && !rf.reqs[0].source && !strcmp(nz(rf.reqs[1].source), "./pkg") &&
	      !rf.reqs[1].editable && !strcmp(nz(rf.reqs[2].source), "./src/pkg") &&
	      rf.reqs[2].editable && rf.reqs[3].editable &&
	      !strcmp(nz(rf.reqs[3].source), "git+https://example.com/x.git#egg=x") &&
	      !strcmp(nz(rf.reqs[4].source), "https://example.com/x-1.0.tar.gz") && !strcmp(nz(rf.reqs[5].source), "/abs/dir") &&
	      !strcmp(nz(rf.reqs[6].source), "file:///abs/x-1.0.zip#subdirectory=a") &&
	      !strcmp(nz(rf.reqs[7].source), "dist/x-1.0.tar.gz") &&
	      has(rf.reqs[2].origin, "src1.txt:3"),
	      "sources: paths, URLs and -e are kept as written, in order", "rc=%d %s n=%zu", r,
	      ctx.errmsg, r ? 0 : rf.nreqs);
	if (!r)
		reqfile_free(&rf);
	wr("src2c.txt", "./pkg\n");
	ERR("src2.txt", "ok==1\n-c src2c.txt\n", "sources: a path as a constraint is refused",
	    "src2c.txt:1", "constraint");
	ERR("src3.txt", "--require-hashes\nok==1 --hash=sha256:" H256A "\n./pkg\n",
	    "sources: hash mode needs a --hash on a path too", "src3.txt:3", "./pkg", "--hash");
}

static void t_bad_lines(void)
{
	ERR("unk.txt", "foo==1\n\n--frobnicate\n", "options: unknown long option names it and the line",
	    "unk.txt:3", "--frobnicate", "[requirements]");
	ERR("unk2.txt", "foo==1\n-x foo\n", "options: unknown short option", "unk2.txt:2", "-x");
	ERR("amb.txt", "--no\n", "options: ambiguous abbreviation", "amb.txt:1", "ambiguous");
	ERR("pre1.txt", "--pre=yes\n", "options: a flag with a value", "pre1.txt:1", "--pre");
	ERR("req.txt", "-r\n", "options: -r without a file", "req.txt:1", "-r", "value");
	ERR("glob.txt", "foo==1 --pre\n", "options: a global option on a requirement line",
	    "glob.txt:1", "--pre");
	ERR("quote.txt", "--extra-index-url 'https://x\n", "options: unclosed quote",
	    "quote.txt:1", "quotation");
	ERR("extra.txt", "--pre\n--no-index stray\n", "options: a stray word", "extra.txt:2",
	    "stray");
	/* before a line has read as a requirement or an option, the file may
	 * be anything (a spec or a -r may name any file): its text is never
	 * quoted, but the line and the cause are */
	ERR("secret1.txt", "root:$6$SECRETxyz:19000:0:99999:7:::\nfoo==1\n",
	    "not yet a requirements file: the line's text is not shown", "secret1.txt:1",
	    "without a package name", "not shown");
	ERR("secret2.txt", "# comment\n\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n",
	    "not yet a requirements file: an unknown option is not shown", "secret2.txt:3",
	    "unknown option", "not shown");
	ERR("secret3.txt", "s3cr3t t0ken\n", "not yet a requirements file: a PEP 508 error "
	    "is not shown", "secret3.txt:1", "not a PEP 508 requirement", "not shown");
	check(!has(ctx.errmsg, "t0ken"), "not yet a requirements file: no text of the line",
	      "%s", ctx.errmsg);
	ERR("secret4.txt", "ok==1\n./p\x01kg\n", "a quoted line is escaped", "secret4.txt:2",
	    "'./p\\x01kg'");
	ERR("secret6.txt", "ok==1\n./\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01"
	    "\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\n", "a quoted line of control characters "
	    "is escaped and cut", "secret6.txt:2", "\\x01\\x01...'");
	ERR("secret5.txt", "ok==1\nx\x01y @@\n", "a PEP 508 error's control characters are "
	    "replaced", "secret5.txt:2", "x\\x01y @@");
	ERR("pep.txt", "ok==1\nfoo>=>1\n", "requirement: a PEP 508 error names the line",
	    "pep.txt:2", "foo>=>1", "column");
	{
		struct reqfile rf;
		FILE *fp = fopen(at("nul.txt"), "wb");
		int r = -1;

		if (fp) {
			fwrite("foo==1\n\0bar\n", 1, 12, fp);
			fclose(fp);
			r = parse("nul.txt", &rf);
		}
		check(r == -PKGIMG_E_PARSE && has(ctx.errmsg, "NUL"), "a NUL byte is refused",
		      "rc=%d: %s", r, ctx.errmsg);
		if (!r)
			reqfile_free(&rf);
	}
	{
		struct reqfile rf;
		int r;

		pkgimg_ctx_init(&ctx);
		r = reqfile_parse(&ctx, at("does-not-exist.txt"), &rf);
		check(r == -ENOENT && has(ctx.errmsg, "does-not-exist.txt"),
		      "missing top-level file: -ENOENT naming it", "rc=%d: %s", r, ctx.errmsg);
	}
}

static void t_markers_crlf_bom(void)
{
	struct reqfile rf;
	int r;

	wr("mk.txt", "foo>=1; python_version<\"3.12\"\nbar ; sys_platform == 'linux'  # c\n");
	r = parse("mk.txt", &rf);
	check(r == 0 && rf.nreqs == 2, "markers: parse", "rc=%d: %s", r, ctx.errmsg);
	if (!r) {
		char *m = rf.nreqs ? pep508_marker_str(rf.reqs[0].req.marker) : NULL;

		check(m && !strcmp(m, "python_version < \"3.12\"") && rf.reqs[0].req.spec.n == 1,
		      "markers: marker and specifier both kept", "got %s", nz(m));
		free(m);
		check(rf.nreqs == 2 && rf.reqs[1].req.marker && rf.reqs[1].req.spec.n == 0,
		      "markers: ' ; marker' with a trailing comment", "marker=%p",
		      rf.nreqs == 2 ? (void *)rf.reqs[1].req.marker : NULL);
		reqfile_free(&rf);
	}

	wr("crlf.txt", "a==1\r\nb>=2 \\\r\n  ,<3\r\n# c\r\n\r\n-i https://x/simple\r\nc==3\rd==4");
	r = parse("crlf.txt", &rf);
	check(r == 0, "crlf: parses", "rc=%d: %s", r, ctx.errmsg);
	if (!r) {
		check(rf.nreqs == 4 && rf.reqs[1].req.spec.n == 2,
		      "crlf: continuation across CRLF lines", "n=%zu", rf.nreqs);
		check(!strcmp(nz(rf.index_url), "https://x/simple"), "crlf: no CR left in values",
		      "got '%s'", nz(rf.index_url));
		check(rf.nreqs == 4 && has(rf.reqs[3].origin, "crlf.txt:8"),
		      "crlf: a lone CR ends a line too", "origin %s",
		      rf.nreqs == 4 ? rf.reqs[3].origin : "-");
		reqfile_free(&rf);
	}

	wr("bom.txt", "\xef\xbb\xbf" "foo==1\n");
	r = parse("bom.txt", &rf);
	check(r == 0 && rf.nreqs == 1 && !strcmp(rf.reqs[0].req.name, "foo"),
	      "bom: a UTF-8 BOM is skipped", "rc=%d: %s", r, ctx.errmsg);
	if (!r)
		reqfile_free(&rf);
	wr("bom2.txt", "\xef\xbb\xbf# comment first\n--pre\n");
	r = parse("bom2.txt", &rf);
	check(r == 0 && rf.pre && rf.nreqs == 0, "bom: a BOM before a comment line",
	      "rc=%d: %s", r, ctx.errmsg);
	if (!r)
		reqfile_free(&rf);
}

static void rm_tree(void)
{
	static const char *const files[] = {
		"basic.txt", "empty.txt", "cont.txt", "url.txt", "env.txt", "top.txt",
		"sub/a.txt", "sub/b.txt", "sub/deeper/c.txt", "cyc1.txt", "cyc2.txt", "self.txt",
		"miss.txt", "remote.txt", "nestbad.txt", "sub/bad.txt", "cons.txt", "cons2.txt",
		"withc.txt", "consx.txt", "withcx.txt", "consu.txt", "withcu.txt", "idx.txt",
		"idx2.txt", "hash.txt", "hbad1.txt", "hbad2.txt", "hbad3.txt", "hbad4.txt",
		"hbad5.txt", "hbad6.txt", "hm1.txt", "hm2.txt", "hm3.txt", "hm4.txt", "hm5.txt",
		"sub/rh.txt", "hm6.txt", "hm7.txt", "hm7c.txt", "unk.txt", "unk2.txt", "amb.txt",
		"pre1.txt", "req.txt", "glob.txt", "quote.txt", "extra.txt", "src1.txt", "src2.txt",
		"src2c.txt", "src3.txt", "pep.txt", "nul.txt",
		"mk.txt", "crlf.txt", "bom.txt", "bom2.txt", "secret1.txt", "secret2.txt",
		"secret3.txt", "secret4.txt", "secret5.txt", "secret6.txt",
	};
	size_t i;

	for (i = 0; i < sizeof files / sizeof files[0]; i++)
		unlink(at(files[i]));
	rmdir(at("sub/deeper"));
	rmdir(at("sub"));
	rmdir(at("wheels"));
	if (rmdir(dir) != 0)
		printf("# could not remove %s: %s\n", dir, strerror(errno));
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/pkgimg-reqfile-XXXXXX");
	if (!mkdtemp(dir)) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 2;
	}
	t_basic();
	t_continuation();
	t_url_fragment();
	t_env();
	t_nested();
	t_constraints();
	t_index_options();
	t_hashes();
	t_hash_mode();
	t_bad_lines();
	t_sources();
	t_markers_crlf_bom();
	rm_tree();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
