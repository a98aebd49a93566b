/* solver/conda: channels read from file:// trees written here (repodata.json,
 * .zst, packages vs packages.conda), strict channel priority, MatchSpecs
 * through the namespace callback, virtual packages and their overrides,
 * track_features, build numbers, constrains, conflicts in words, the .solv
 * cache, and the conda lock layer's round trip through the lockfile. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "solver/conda.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-conda-XXXXXX";

#define SHA(c) c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define MD5 "0123456789abcdef0123456789abcdef"

/* One record of repodata: fields as JSON text without the braces. */
static char *rec(const char *name, const char *version, const char *build, int bn,
		 const char *extra)
{
	return xasprintf("{\"name\": \"%s\", \"version\": \"%s\", \"build\": \"%s\", "
			 "\"build_number\": %d, \"sha256\": \"" SHA("a") "\", \"md5\": \"" MD5 "\", "
			 "\"size\": 100, \"depends\": []%s%s}",
			 name, version, build, bn, extra && *extra ? ", " : "", extra ? extra : "");
}

/* Writes CHAN/SUBDIR/repodata.json with the given "fn": record pairs
 * (NULL-terminated); conda_fns go to "packages.conda". */
static void write_repodata(const char *chan, const char *subdir, const char *const *pkgs,
			   const char *const *conda_pkgs, int zst)
{
	struct sbuf s = SBUF_INIT;
	char *dir = xasprintf("%s/%s/%s", work, chan, subdir), *path;

	fs_mkdirs(NULL, AT_FDCWD, dir, 0755);
	sbuf_addf(&s, "{\"info\": {\"subdir\": \"%s\"}, \"packages\": {", subdir);
	for (int i = 0; pkgs && pkgs[i]; i += 2)
		sbuf_addf(&s, "%s\"%s\": %s", i ? ", " : "", pkgs[i], pkgs[i + 1]);
	sbuf_adds(&s, "}, \"packages.conda\": {");
	for (int i = 0; conda_pkgs && conda_pkgs[i]; i += 2)
		sbuf_addf(&s, "%s\"%s\": %s", i ? ", " : "", conda_pkgs[i], conda_pkgs[i + 1]);
	sbuf_adds(&s, "}, \"repodata_version\": 1}\n");
	if (zst) {
		size_t cap = ZSTD_compressBound(s.len), n;
		char *z = xmalloc(cap);

		n = ZSTD_compress(z, cap, s.buf, s.len, 3);
		path = xasprintf("%s/repodata.json.zst", dir);
		fs_write_file(NULL, AT_FDCWD, path, z, n, 0644);
		free(z);
	} else {
		path = xasprintf("%s/repodata.json", dir);
		fs_write_file(NULL, AT_FDCWD, path, s.buf, s.len, 0644);
	}
	free(path);
	free(dir);
	sbuf_free(&s);
}

static char *chan_url(const char *chan)
{
	return xasprintf("file://%s/%s", work, chan);
}

/* Solves specs on channels; *out gets "name version build fn" lines sorted
 * (the lock layer's packages), or the error message. */
static int solve(struct pkgimg_ctx *ctx, struct store *st, const char *const *specs,
		 const char *const *chans, const char *cuda, const char *glibc, struct sbuf *out,
		 struct lockfile *keep)
{
	struct conda_request rq = { .specs = specs, .channels = chans, .cuda = cuda,
				    .glibc = glibc };
	struct lockfile lf = { 0 };
	struct conda_lock_info ci = { 0 };
	int r;

	while (specs[rq.nspecs])
		rq.nspecs++;
	while (chans[rq.nchannels])
		rq.nchannels++;
	sbuf_reset(out);
	r = conda_lock_layer(ctx, st, &rq, &lf, &ci);
	if (r < 0) {
		sbuf_adds(out, ctx->errmsg);
	} else {
		struct lock_layer *l = &lf.layers[0];
		struct strv v = { 0 };

		for (int i = 0; i < l->npkgs; i++)
			strv_push(&v, xasprintf("%s %s %s %s", l->pkgs[i].name, l->pkgs[i].version,
						l->pkgs[i].build, l->pkgs[i].filename));
		strv_sort(&v);
		for (size_t i = 0; i < v.n; i++)
			sbuf_addf(out, "%s%s", i ? "\n" : "", v.v[i]);
		strv_free(&v);
	}
	conda_lock_info_free(&ci);
	if (keep && r == 0)
		*keep = lf;
	else
		lockfile_free(&lf);
	return r;
}

#define SOLVE_IS(specs, chans, cuda, glibc, want, name) do {				\
		int r_ = solve(ctx, st, specs, chans, cuda, glibc, &out, NULL);	\
		check(r_ == 0 && !strcmp(out.buf, want), name, "got %s (r=%d), want %s",	\
		      out.buf ? out.buf : "", r_, want);					\
	} while (0)

static void build_channels(void)
{
	char *a[32], *b[8], *n[8], *z[8];
	int i = 0;

	/* channel "a", linux-64 */
	a[i++] = "foo-1.0-h1_0.tar.bz2"; a[i++] = rec("foo", "1.0", "h1_0", 0, NULL);
	a[i++] = "foo-2.0-h2_0.tar.bz2"; a[i++] = rec("foo", "2.0", "h2_0", 0, NULL);
	a[i++] = "foo-2.0-h2_1.tar.bz2"; a[i++] = rec("foo", "2.0", "h2_1", 1, NULL);
	a[i++] = "foo-3.0-mkl_0.tar.bz2";
	a[i++] = rec("foo", "3.0", "mkl_0", 0, "\"track_features\": \"mkl\"");
	a[i++] = "bar-1.0-0.tar.bz2";
	a[i++] = rec("bar", "1.0", "0", 0, "\"depends\": [\"foo <2\"]");
	a[i++] = "baz-1.0-0.tar.bz2";
	a[i++] = rec("baz", "1.0", "0", 0, "\"constrains\": [\"foo <1.5\"]");
	a[i++] = "gpu-1.0-0.tar.bz2";
	a[i++] = rec("gpu", "1.0", "0", 0, "\"depends\": [\"__cuda >=11.2\"]");
	a[i++] = "newc-1.0-0.tar.bz2";
	a[i++] = rec("newc", "1.0", "0", 0, "\"depends\": [\"__glibc >=2.28\"]");
	a[i++] = "both-1.0-0.tar.bz2"; a[i++] = rec("both", "1.0", "0", 0, NULL);
	a[i++] = "old-1.0-0.tar.bz2";
	a[i++] = xasprintf("{\"name\": \"old\", \"version\": \"1.0\", \"build\": \"0\", "
			   "\"build_number\": 0, \"md5\": \"" MD5 "\", \"size\": 5, \"depends\": []}");
	a[i++] = "clash-1.0-0.tar.bz2";
	a[i++] = rec("clash", "1.0", "0", 0, "\"depends\": [\"foo >=2\", \"bar\"]");
	a[i] = NULL;
	{
		char *c[] = { "both-1.0-0.conda", rec("both", "1.0", "0", 0, NULL), NULL };

		write_repodata("a", "linux-64", (const char *const *)a, (const char *const *)c, 0);
		free(c[1]);
	}
	/* a noarch record */
	n[0] = "tz-2024a-0.conda"; n[1] = rec("tz", "2024a", "0", 0, "\"noarch\": \"generic\"");
	n[2] = NULL;
	write_repodata("a", "noarch", NULL, (const char *const *)n, 0);
	/* channel "b": a newer foo, served as .zst only */
	b[0] = "foo-9.0-0.tar.bz2"; b[1] = rec("foo", "9.0", "0", 0, NULL);
	b[2] = "only-1.0-0.tar.bz2"; b[3] = rec("only", "1.0", "0", 0, NULL);
	b[4] = NULL;
	write_repodata("b", "linux-64", (const char *const *)b, NULL, 1);
	write_repodata("b", "noarch", NULL, NULL, 1);
	/* a broken channel */
	z[0] = NULL;
	write_repodata("bad", "noarch", (const char *const *)z, NULL, 0);
	{
		char *p = xasprintf("%s/bad/linux-64", work);

		fs_mkdirs(NULL, AT_FDCWD, p, 0755);
		free(p);
		p = xasprintf("%s/bad/linux-64/repodata.json", work);
		fs_write_file(NULL, AT_FDCWD, p, "{\"packages\": [1,", 16, 0644);
		free(p);
	}
	for (int k = 1; k < i; k += 2)
		free(a[k]);
	free(n[1]);
	free(b[1]);
	free(b[3]);
}

static void test_urls(void)
{
	char *u;

	unsetenv(CONDA_CHANNEL_ALIAS_ENV);
	u = conda_channel_url("conda-forge");
	check(!strcmp(u, "https://conda.anaconda.org/conda-forge"), "channel: a name uses the "
	      "default alias", "got %s", u);
	free(u);
	setenv(CONDA_CHANNEL_ALIAS_ENV, "http://127.0.0.1:9/mirror//", 1);
	u = conda_channel_url("bioconda");
	check(!strcmp(u, "http://127.0.0.1:9/mirror/bioconda"), "channel: PKGIMG_CHANNEL_ALIAS",
	      "got %s", u);
	free(u);
	unsetenv(CONDA_CHANNEL_ALIAS_ENV);
	u = conda_channel_url("https://example.org/ch/");
	check(!strcmp(u, "https://example.org/ch"), "channel: a URL keeps all but the last '/'",
	      "got %s", u);
	free(u);
	u = conda_channel_url("/tmp");
	check(!strcmp(u, "file:///tmp"), "channel: a path is a file:// channel", "got %s", u);
	free(u);
	check(!strcmp(conda_subdir("amd64"), "linux-64") && !strcmp(conda_subdir("arm64"),
	      "linux-aarch64") && !conda_subdir("hurd"), "subdir: from the Debian architecture", " ");
}

static void test_solve(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ua = chan_url("a"), *ub = chan_url("b"), *ubad = chan_url("bad");
	const char *A[] = { ua, NULL }, *AB[] = { ua, ub, NULL }, *BA[] = { ub, ua, NULL };
	const char *BAD[] = { ua, ubad, NULL };
	struct sbuf out = SBUF_INIT;
	struct lockfile lf = { 0 };
	int r;

	SOLVE_IS(((const char *[]){ "foo", NULL }), A, NULL, NULL,
		 "foo 2.0 h2_1 foo-2.0-h2_1.tar.bz2",
		 "solve: the highest version, then build number; track_features last");
	SOLVE_IS(((const char *[]){ "foo=3", NULL }), A, NULL, NULL,
		 "foo 3.0 mkl_0 foo-3.0-mkl_0.tar.bz2", "solve: a tracked feature when asked for");
	SOLVE_IS(((const char *[]){ "bar", NULL }), A, NULL, NULL,
		 "bar 1.0 0 bar-1.0-0.tar.bz2\nfoo 1.0 h1_0 foo-1.0-h1_0.tar.bz2",
		 "solve: a record's depends");
	SOLVE_IS(((const char *[]){ "baz", "foo", NULL }), A, NULL, NULL,
		 "baz 1.0 0 baz-1.0-0.tar.bz2\nfoo 1.0 h1_0 foo-1.0-h1_0.tar.bz2",
		 "solve: constrains limit a package that is installed");
	SOLVE_IS(((const char *[]){ "baz", NULL }), A, NULL, NULL,
		 "baz 1.0 0 baz-1.0-0.tar.bz2", "solve: constrains install nothing");
	SOLVE_IS(((const char *[]){ "foo[version='>=2,<3',build_number=0]", NULL }), A, NULL, NULL,
		 "foo 2.0 h2_0 foo-2.0-h2_0.tar.bz2", "spec: brackets (version, build_number)");
	SOLVE_IS(((const char *[]){ "foo 2.0 h2_0", NULL }), A, NULL, NULL,
		 "foo 2.0 h2_0 foo-2.0-h2_0.tar.bz2", "spec: name version build");
	SOLVE_IS(((const char *[]){ "foo=2.0=*_0", NULL }), A, NULL, NULL,
		 "foo 2.0 h2_0 foo-2.0-h2_0.tar.bz2", "spec: name=version=build glob");
	SOLVE_IS(((const char *[]){ "f*[version=1.*]", NULL }), A, NULL, NULL,
		 "foo 1.0 h1_0 foo-1.0-h1_0.tar.bz2", "spec: a name glob");
	SOLVE_IS(((const char *[]){ "tz", NULL }), A, NULL, NULL, "tz 2024a 0 tz-2024a-0.conda",
		 "channel: noarch is read with the platform subdir");
	SOLVE_IS(((const char *[]){ "both", NULL }), A, NULL, NULL,
		 "both 1.0 0 both-1.0-0.conda", "channel: .conda preferred over .tar.bz2");
	SOLVE_IS(((const char *[]){ "foo", NULL }), AB, NULL, NULL,
		 "foo 2.0 h2_1 foo-2.0-h2_1.tar.bz2",
		 "priority: a name in the first channel is never taken from a later one");
	SOLVE_IS(((const char *[]){ "foo", NULL }), BA, NULL, NULL, "foo 9.0 0 foo-9.0-0.tar.bz2",
		 "priority: channel order decides (and .zst-only repodata is read)");
	SOLVE_IS(((const char *[]){ "only", NULL }), AB, NULL, NULL,
		 "only 1.0 0 only-1.0-0.tar.bz2", "priority: a name only in a later channel");
	{
		char *spec = xasprintf("%s::foo", ub);
		const char *S[] = { spec, NULL };

		SOLVE_IS(S, AB, NULL, NULL, "foo 9.0 0 foo-9.0-0.tar.bz2",
			 "spec: channel:: picks a lower-priority channel's package");
		free(spec);
	}
	SOLVE_IS(((const char *[]){ "gpu", NULL }), A, "12.1", NULL, "gpu 1.0 0 gpu-1.0-0.tar.bz2",
		 "virtual: __cuda from the request");
	r = solve(ctx, st, (const char *[]){ "gpu", NULL }, A, NULL, NULL, &out, NULL);
	check(r == -PKGIMG_E_SOLVE && strstr(out.buf, "__cuda >=11.2") &&
	      strstr(out.buf, "gpu was requested") && strstr(out.buf, "--cuda X.Y"),
	      "virtual: no __cuda is a conflict in words with the fix", "r=%d %s", r, out.buf);
	r = solve(ctx, st, (const char *[]){ "gpu", NULL }, A, "11.0", NULL, &out, NULL);
	check(r == -PKGIMG_E_SOLVE, "virtual: too old a __cuda", "r=%d %s", r, out.buf);
	setenv("CONDA_OVERRIDE_CUDA", "11.8", 1);
	SOLVE_IS(((const char *[]){ "gpu", NULL }), A, NULL, NULL, "gpu 1.0 0 gpu-1.0-0.tar.bz2",
		 "virtual: CONDA_OVERRIDE_CUDA");
	setenv("CONDA_OVERRIDE_CUDA", "", 1);
	r = solve(ctx, st, (const char *[]){ "gpu", NULL }, A, "12.1", NULL, &out, NULL);
	check(r == -PKGIMG_E_SOLVE, "virtual: CONDA_OVERRIDE_CUDA='' removes __cuda",
	      "r=%d %s", r, out.buf);
	unsetenv("CONDA_OVERRIDE_CUDA");
	SOLVE_IS(((const char *[]){ "newc", NULL }), A, NULL, "2.36", "newc 1.0 0 newc-1.0-0.tar.bz2",
		 "virtual: __glibc is the image's");
	r = solve(ctx, st, (const char *[]){ "newc", NULL }, A, NULL, "2.17", &out, NULL);
	check(r == -PKGIMG_E_SOLVE && strstr(out.buf, "__glibc"), "virtual: an old image glibc",
	      "r=%d %s", r, out.buf);
	setenv("CONDA_OVERRIDE_GLIBC", "2.28", 1);
	SOLVE_IS(((const char *[]){ "newc", NULL }), A, NULL, "2.17", "newc 1.0 0 newc-1.0-0.tar.bz2",
		 "virtual: CONDA_OVERRIDE_GLIBC");
	unsetenv("CONDA_OVERRIDE_GLIBC");
	SOLVE_IS(((const char *[]){ "__glibc>=2", "foo=1", NULL }), A, NULL, "2.36",
		 "foo 1.0 h1_0 foo-1.0-h1_0.tar.bz2", "virtual: asked for, it is there (not locked)");
	r = solve(ctx, st, (const char *[]){ "clash", "foo=1", NULL }, A, NULL, NULL, &out, NULL);
	check(r == -PKGIMG_E_SOLVE && strstr(out.buf, "clash was requested") &&
	      strstr(out.buf, "foo=1 was requested") && strstr(out.buf, "foo >=2"),
	      "conflict: the chain of rules in words", "r=%d %s", r, out.buf);
	r = solve(ctx, st, (const char *[]){ "nosuch", NULL }, A, NULL, NULL, &out, NULL);
	check(r == -PKGIMG_E_NOTFOUND && strstr(out.buf, "--conda nosuch") &&
	      strstr(out.buf, ua), "error: no match names the spec and the channel", "%s", out.buf);
	r = solve(ctx, st, (const char *[]){ "foo[bogus=1]", NULL }, A, NULL, NULL, &out, NULL);
	check(r < 0 && strstr(out.buf, "--conda foo[bogus=1]"), "error: a bad spec is named",
	      "%s", out.buf);
	r = solve(ctx, st, (const char *[]){ "foo", NULL }, BAD, NULL, NULL, &out, NULL);
	check(r == -PKGIMG_E_PARSE && strstr(out.buf, "bad/linux-64/repodata.json") &&
	      strstr(out.buf, "[index]"), "error: broken repodata names the file", "%s", out.buf);

	/* md5-only records and the lock round trip */
	r = solve(ctx, st, (const char *[]){ "old", "both", NULL }, A, NULL, NULL, &out, &lf);
	check(r == 0, "lock: solve", "%s", out.buf);
	if (r == 0) {
		struct sbuf text = SBUF_INIT;
		struct lockfile back = { 0 };
		const struct lock_pkg *old = NULL;

		lf.platform = xasprintf("linux/%s", ctx->arch);	/* as plan_lock sets them */
		lf.base = xstrdup("scratch");
		lockfile_emit(ctx, &lf, &text);
		r = lockfile_parse(ctx, "lock", text.buf, text.len, &back);
		check(r == 0 && back.nlayers == 1 && back.layers[0].npkgs == 2 &&
		      back.nsources == 2 && back.sources[0].repodata_sha256 &&
		      strlen(back.sources[0].repodata_sha256) == 64,
		      "lock: a conda layer and its sources read back", "%s\n%s", ctx->errmsg, text.buf);
		for (int i = 0; r == 0 && i < back.layers[0].npkgs; i++)
			if (!strcmp(back.layers[0].pkgs[i].name, "old"))
				old = &back.layers[0].pkgs[i];
		check(old && !strcmp(old->sha256, "") && old->md5 && !strcmp(old->md5, MD5) &&
		      !strcmp(old->build, "0") && !strcmp(old->arch, "linux-64") &&
		      !strcmp(old->filename, "old-1.0-0.tar.bz2") && !strcmp(old->index, ua) &&
		      strstr(old->url, "/a/linux-64/old-1.0-0.tar.bz2") &&
		      !strcmp(old->requested_by, "--conda old"),
		      "lock: an md5-only record, its build, subdir, channel and URL", "%s", text.buf);
		check(strstr(text.buf, "step: 'conda: both old -c ") || strstr(text.buf, "step: conda: both old -c "),
		      "lock: the step names the sorted specs and the channels", "%s", text.buf);
		lockfile_free(&back);
		sbuf_free(&text);
		lockfile_free(&lf);
	}
	{
		char *solv = xasprintf("%s/store/index", work);
		char *cmd = xasprintf("ls %s/conda-*/ | grep -c 'repodata-.*\\.solv$'", solv);
		FILE *p = popen(cmd, "r");
		char buf[32] = "";

		if (p) {
			if (!fgets(buf, sizeof buf, p))
				buf[0] = 0;
			pclose(p);
		}
		check(atoi(buf) >= 4, "cache: parsed repodata kept as .solv per subdir", "%s", buf);
		free(cmd);
		free(solv);
	}
	sbuf_free(&out);
	free(ua);
	free(ub);
	free(ubad);
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	char *root;

	setvbuf(stdout, NULL, _IOLBF, 0);
	unsetenv("CONDA_OVERRIDE_CUDA");
	unsetenv("CONDA_OVERRIDE_GLIBC");
	if (!mkdtemp(work)) {
		printf("not ok - setup\n# mkdtemp\n");
		return 1;
	}
	build_channels();
	fetch_global_init();
	pkgimg_ctx_init(&ctx);
	root = xasprintf("%s/store", work);
	if (store_open(&ctx, root, &st) < 0) {
		printf("not ok - setup\n# %s\n", ctx.errmsg);
		return 1;
	}
	test_urls();
	test_solve(&ctx, &st);
	store_close(&st);
	fetch_global_cleanup();
	fs_rm_rf(NULL, AT_FDCWD, work);
	free(root);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
