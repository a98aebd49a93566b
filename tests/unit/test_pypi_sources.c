/* solver/pypi_plan.c with sources (issue 18), against a --find-links
 * directory and a fake builder (the real one is image/pybuild.c):
 *   - an index's sdist is a candidate; the best version wins; the lock gets
 *     the sdist (url, sha256, size, filename) and the wheel the builder made;
 *     its metadata comes from a metadata_only build, the wheel from a full one;
 *   - --only-binary :all: (a requirements file option) takes sdists out, and a
 *     request without a builder cannot use them: both say so;
 *   - "name @ file:///x.tar.gz" is its project's only candidate: its
 *     dependencies join the graph; a conflicting "name>=4" is explained;
 *   - an unnamed "./proj" is named by its metadata, relative to the build
 *     context; a name that disagrees with the metadata is refused as pip does;
 *   - git: the lock pins the commit the builder reports, keeps @REV in url.
 * Prints "ok - NAME" / "not ok - NAME"; exits non-zero on a failure. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/store.h"
#include "core/ctx.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/lockfile.h"
#include "core/str.h"
#include "solver/plan.h"
#include "solver/pypi_build.h"
#include "solver/pypi_plan.h"
#include "tests/unit/check.h"

static char work[] = "/tmp/pkgimg-test-pypi-sources-XXXXXX";
static struct pkgimg_ctx ctx;
static struct store st;
static struct pypi_target tgt = { "3.11.2", "/usr/bin/python3.11", "x86_64", 2, 36 };

/* What the fake builder was asked. */
static int nmeta, nfull;
static char last_kind[16];

#define COMMIT "89abcdef0123456789abcdef0123456789abcdef"

/* Metadata by project: name, version, requirements. */
static char *meta_for(const char *name, const char *version)
{
	const char *req = !strcmp(name, "baz") ? "Requires-Dist: foo<2\n" :
			  !strcmp(name, "proj") ? "Requires-Dist: foo\n" : "";

	return xasprintf("Metadata-Version: 2.1\nName: %s\nVersion: %s\n%s\n", name, version, req);
}

static int fake_build(void *arg, struct pkgimg_ctx *c, const struct lockfile *below,
		      const struct pypi_target *t, const struct pypi_request *rq,
		      const struct pypi_src *src, struct pypi_built *out)
{
	const char *base = strrchr(src->url, '/') + 1;
	char name[64] = "", version[32] = "1.0", hex[65];
	char *wheel;

	(void)arg, (void)c, (void)below, (void)t, (void)rq;
	snprintf(last_kind, sizeof last_kind, "%s", pypi_src_kind_name(src->kind));
	if (src->kind == PYPI_SRC_SDIST || src->kind == PYPI_SRC_URL) {
		/* "baz-3.0.tar.gz" */
		size_t dash = strcspn(base, "-");

		snprintf(name, sizeof name, "%.*s", (int)dash, base);
		snprintf(version, sizeof version, "%.*s", (int)strcspn(base + dash + 1, "t") - 1,
			 base + dash + 1);
		out->src_filename = xstrdup(base);
		out->src_size = 7;
		hash_sha256_hex(base, strlen(base), hex);
		out->src_sha256 = xstrdup(hex);
	} else if (src->kind == PYPI_SRC_PATH) {
		snprintf(name, sizeof name, "%s", base);
		hash_sha256_hex("tree", 4, hex);
		out->src_sha256 = xstrdup(hex);
	} else {
		snprintf(name, sizeof name, "gitpkg");
		out->commit = xstrdup(COMMIT);
	}
	out->name = xstrdup(name);
	out->version = xstrdup(version);
	out->metadata = meta_for(name, version);
	if (src->metadata_only) {
		nmeta++;
		return 0;
	}
	nfull++;
	wheel = xasprintf("%s-%s-py3-none-any.whl", name, version);
	hash_sha256_hex(wheel, strlen(wheel), hex);
	out->wheel_filename = wheel;
	out->wheel_sha256 = xstrdup(hex);
	out->wheel_size = 99;
	out->env = xcalloc(1, sizeof *out->env);
	out->env[0].ecosystem = xstrdup("pypi");
	out->env[0].name = xstrdup("flit-core");
	out->env[0].version = xstrdup("3.8.0");
	out->env[0].arch = xstrdup("py3-none-any");
	out->env[0].url = xstrdup("file:///w/flit_core-3.8.0-py3-none-any.whl");
	out->env[0].sha256 = xstrdup(hex);
	out->env[0].size = 5;
	out->env[0].requested_by = xstrdup("build-system.requires");
	out->env[0].filename = xstrdup("flit_core-3.8.0-py3-none-any.whl");
	out->env[0].index = xstrdup("file:///w/");
	out->nenv = 1;
	return 0;
}

static const struct pypi_builder fake = { fake_build, NULL };

static char *P(const char *rel)
{
	return xasprintf("%s/%s", work, rel);
}

static void put(const char *rel, const char *text)
{
	char *p = P(rel);

	fs_write_file(&ctx, AT_FDCWD, p, text, strlen(text), 0644);
	free(p);
}

/* Locks reqs (and a requirements file, when given) on the links dir. */
static int lock(const char *const *reqs, size_t n, const char *reqfile, bool builder,
		struct lockfile *lf)
{
	char *links = P("links");
	const char *fl[1] = { links };
	const char *rf[1] = { reqfile };
	char *root = P("ctx");
	struct pypi_request rq = {
		.reqs = reqs, .nreqs = n, .find_links = fl, .nfind = 1, .no_index = 1,
		.reqfiles = rf, .nreqfiles = reqfile ? 1 : 0, .reqfile_root = root,
		.builder = builder ? &fake : NULL,
	};
	int r;

	memset(lf, 0, sizeof *lf);
	lf->base = xstrdup("scratch");
	lf->platform = xstrdup("linux/amd64");
	nmeta = nfull = 0;
	r = pypi_lock_layer(&ctx, &st, &rq, &tgt, lf);
	free(links);
	free(root);
	return r;
}

static const struct lock_pkg *pkg(const struct lockfile *lf, const char *name)
{
	for (int i = 0; lf->nlayers && i < lf->layers[0].npkgs; i++)
		if (!strcmp(lf->layers[0].pkgs[i].name, name))
			return &lf->layers[0].pkgs[i];
	return NULL;
}

static void t_sdists(void)
{
	const char *reqs[] = { "foo" };
	struct lockfile lf;
	const struct lock_pkg *p;
	int r = lock(reqs, 1, NULL, true, &lf);

	p = r == 0 ? pkg(&lf, "foo") : NULL;
	check(p && !strcmp(p->version, "2.0") && !strcmp(p->source, "sdist") && !p->direct &&
	      !strcmp(p->filename, "foo-2.0.tar.gz") && str_ends_with(p->url, "/links/foo-2.0.tar.gz") &&
	      p->size == 7 && hex_is64(p->sha256) &&
	      !strcmp(p->wheel_filename, "foo-2.0-py3-none-any.whl") && p->wheel_size == 99 &&
	      p->nbuild_env == 1 && !strcmp(p->arch, "py3-none-any") && p->index,
	      "sdist: the best version's sdist is locked with the wheel built from it",
	      "r=%d %s", r, ctx.errmsg);
	check(r == 0 && nmeta == 1 && nfull == 1, "sdist: metadata from a metadata_only build, "
	      "the wheel from a full one", "meta=%d full=%d", nmeta, nfull);
	{
		struct sbuf text = SBUF_INIT;
		struct lockfile back = { 0 };
		int r2 = r == 0 ? lockfile_emit(&ctx, &lf, &text) : -1;

		ctx.arch = "amd64";
		if (r2 == 0)
			r2 = lockfile_parse(&ctx, "sdist.lock", text.buf, text.len, &back);
		check(r2 == 0 && back.nlayers == 1 && back.layers[0].pkgs[0].source,
		      "sdist: the lock it makes reads back", "r=%d %s\n%s", r2, ctx.errmsg,
		      text.buf ? text.buf : "");
		if (r2 == 0)
			lockfile_free(&back);
		sbuf_free(&text);
	}
	lockfile_free(&lf);

	put("ctx/ob.txt", "--only-binary :all:\nfoo\n");
	{
		char *rf = P("ctx/ob.txt");

		r = lock(NULL, 0, rf, true, &lf);
		check(r < 0 && strstr(ctx.errmsg, "foo has no wheel") &&
		      strstr(ctx.errmsg, "--only-binary"), "sdist: --only-binary :all: takes the "
		      "sdists out and says so", "r=%d %s", r, ctx.errmsg);
		lockfile_free(&lf);
		free(rf);
	}
	r = lock(reqs, 1, NULL, false, &lf);
	check(r < 0 && strstr(ctx.errmsg, "builds no sdists"), "sdist: without a builder, "
	      "the error says that this command builds none", "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
}

static void t_direct(void)
{
	char *u = xasprintf("baz @ file://%s/src/baz-3.0.tar.gz", work);
	char *conf = xasprintf("baz @ file://%s/src/baz-3.0.tar.gz", work);
	char *wrong = xasprintf("wrong @ file://%s/src/baz-3.0.tar.gz", work);
	const char *reqs[] = { u };
	const char *creqs[] = { conf, "baz>=4" };
	const char *wreqs[] = { wrong };
	struct lockfile lf;
	const struct lock_pkg *p, *f;
	int r = lock(reqs, 1, NULL, true, &lf);

	p = r == 0 ? pkg(&lf, "baz") : NULL;
	f = r == 0 ? pkg(&lf, "foo") : NULL;
	check(p && p->direct && !strcmp(p->source, "url") && !strcmp(p->version, "3.0") &&
	      !strcmp(p->url, u + 6) && !strcmp(p->filename, "baz-3.0.tar.gz") && !p->index &&
	      strstr(p->requested_by, reqs[0]) &&
	      f && !strcmp(f->version, "1.0") && !f->direct,
	      "url: name @ file:// is the only candidate; its dependency foo<2 picks foo 1.0",
	      "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
	r = lock(creqs, 2, NULL, true, &lf);
	check(r == -PKGIMG_E_SOLVE && strstr(ctx.errmsg, "baz>=4") &&
	      strstr(ctx.errmsg, "only candidate") && strstr(ctx.errmsg, "baz-3.0.tar.gz"),
	      "url: a conflict with baz>=4 names the source as the only candidate", "r=%d %s", r,
	      ctx.errmsg);
	lockfile_free(&lf);
	r = lock(wreqs, 1, NULL, true, &lf);
	check(r < 0 && strstr(ctx.errmsg, "inconsistent name") && strstr(ctx.errmsg, "'baz'"),
	      "url: a name that disagrees with the metadata is refused, as pip does", "r=%d %s", r,
	      ctx.errmsg);
	lockfile_free(&lf);
	{
		char *w = xasprintf("foo @ file://%s/src/foo-1.0-cp27-cp27m-win32.whl", work);
		const char *wreq[] = { w };

		r = lock(wreq, 1, NULL, true, &lf);
		check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "not a supported wheel"),
		      "wheel: one by URL for another platform is refused as pip refuses it",
		      "r=%d %s", r, ctx.errmsg);
		lockfile_free(&lf);
		free(w);
	}
	r = lock(reqs, 1, NULL, false, &lf);
	check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "builds none"),
	      "url: without a builder, a clear error", "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
	free(u);
	free(conf);
	free(wrong);
}

static void t_paths(void)
{
	const char *reqs[] = { "./proj" };
	const char *out[] = { "../src" };
	const char *ed[] = { "-e ./proj" };
	char *git = xasprintf("git+file://%s/repo.git@v1.0", work);
	const char *greqs[] = { git };
	struct lockfile lf;
	const struct lock_pkg *p;
	char *want;
	int r = lock(reqs, 1, NULL, true, &lf);

	p = r == 0 ? pkg(&lf, "proj") : NULL;
	want = xasprintf("file://%s/ctx/proj", work);
	check(p && p->direct && !strcmp(p->source, "path") && !strcmp(p->url, want) &&
	      !strcmp(p->filename, "proj") && hex_is64(p->sha256) && pkg(&lf, "foo"),
	      "path: ./proj is named by its metadata, from the build context, with its "
	      "dependency", "r=%d %s url=%s", r, ctx.errmsg, p ? p->url : "");
	lockfile_free(&lf);
	put("ctx/hm.txt", "./proj --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n");
	{
		char *rf = P("ctx/hm.txt");

		r = lock(NULL, 0, rf, true, &lf);
		check(r == -PKGIMG_E_USAGE && strstr(ctx.errmsg, "cannot verify a directory"),
		      "path: hash-checking mode refuses a directory, as pip", "r=%d %s", r,
		      ctx.errmsg);
		lockfile_free(&lf);
		free(rf);
	}
	r = lock(out, 1, NULL, true, &lf);
	check(r < 0 && strstr(ctx.errmsg, "context"), "path: one outside the build context is "
	      "refused", "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
	r = lock(ed, 1, NULL, true, &lf);
	check(r == 0 && pkg(&lf, "proj") && pkg(&lf, "proj")->direct,
	      "path: -e ./proj is a regular install of the project", "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
	want[0] = 0;
	r = lock(greqs, 1, NULL, true, &lf);
	p = r == 0 ? pkg(&lf, "gitpkg") : NULL;
	check(p && !strcmp(p->source, "git") && !strcmp(p->commit, COMMIT) && !strcmp(p->url, git) &&
	      !*p->sha256 && !strcmp(p->filename, "repo") && !strcmp(last_kind, "git"),
	      "git: the lock pins the commit and keeps @REV in its url", "r=%d %s", r, ctx.errmsg);
	lockfile_free(&lf);
	free(want);
	free(git);
}

int main(void)
{
	char *root;

	pkgimg_ctx_init(&ctx);
	ctx.arch = "amd64";
	if (!mkdtemp(work)) {
		perror("mkdtemp");
		return 1;
	}
	root = P("store");
	if (store_open(&ctx, root, &st) < 0) {
		printf("not ok - store: %s\n", ctx.errmsg);
		return 1;
	}
	{
		const char *dirs[] = { "links", "src", "ctx", "ctx/proj" };

		for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
			char *d = P(dirs[i]);

			mkdir(d, 0755);
			free(d);
		}
	}
	put("links/foo-1.0.tar.gz", "sdist 1");
	put("links/foo-2.0.tar.gz", "sdist 2");
	put("src/baz-3.0.tar.gz", "sdist b");
	put("ctx/proj/pyproject.toml", "[project]\nname = 'proj'\n");
	t_sdists();
	t_direct();
	t_paths();
	store_close(&st);
	{
		char *cmd = xasprintf("rm -rf '%s'", work);

		if (system(cmd) != 0)
			perror("rm");
		free(cmd);
	}
	free(root);
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
