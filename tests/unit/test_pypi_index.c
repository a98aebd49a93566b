/* solver/pypi_index.c and pyspec/pymeta.c: real PEP 691 JSON and PEP 503
 * HTML project pages (tests/fixtures/pypi/, copies of pages from poetry's
 * test fixtures, see SOURCE.txt there), find-links pages, RFC 3986 reference
 * resolution (the examples of its section 5.4), HTML character references,
 * and core metadata (torch 2.2.1's real METADATA).  The fixtures are found
 * under $PKGIMG_SRC (default ".").  Prints "ok - NAME" / "not ok - NAME"
 * (+ "# detail"); exits non-zero on a failure. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"
#include "pyspec/pep508.h"
#include "pyspec/pymeta.h"
#include "solver/pypi_index.h"

#include "tests/unit/check.h"

#define CT_JSON "application/vnd.pypi.simple.v1+json"
#define CT_HTML "text/html"
#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static const char *nz(const char *s)
{
	return s ? s : "(null)";
}

static bool streq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

static char *read_fixture(const char *name, size_t *len)
{
	const char *src = getenv("PKGIMG_SRC");
	char path[4096];
	FILE *f;
	char *buf = NULL;
	long n;

	snprintf(path, sizeof path, "%s/tests/fixtures/pypi/%s", src && *src ? src : ".", name);
	f = fopen(path, "rb");
	if (!f)
		goto fail;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		goto fail;
	}
	buf = xmalloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(buf);
		goto fail;
	}
	fclose(f);
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
fail:
	fprintf(stderr, "cannot read fixture %s (set PKGIMG_SRC to the source tree)\n", path);
	exit(2);
}

/* Parses a fixture; exits on a read failure, returns the parse result. */
static int parse_fixture(struct pkgimg_ctx *ctx, const char *name, const char *ct,
			 const char *url, const char *project, struct pypi_page *page)
{
	size_t len;
	char *body = read_fixture(name, &len);
	int r;

	pkgimg_ctx_init(ctx);
	r = pypi_page_parse(ctx, body, len, ct, url, project, page);
	free(body);
	return r;
}

static int parse_str(struct pkgimg_ctx *ctx, const char *body, const char *ct, const char *url,
		     const char *project, struct pypi_page *page)
{
	pkgimg_ctx_init(ctx);
	return pypi_page_parse(ctx, body, strlen(body), ct, url, project, page);
}

static const struct pypi_file *find_file(const struct pypi_page *p, const char *filename)
{
	size_t i;

	for (i = 0; i < p->nfiles; i++)
		if (strcmp(p->files[i].filename, filename) == 0)
			return &p->files[i];
	return NULL;
}

static const char *sha256(const struct pypi_file *f)
{
	return f ? pypi_hashes_get(&f->hashes, "sha256") : NULL;
}

/* --- JSON and HTML of the same project ---------------------------------------- */

static const struct {
	const char *filename, *sha256, *requires_python, *yanked, *version;
	enum pypi_file_kind kind;
} black_files[] = {
	{ "black-19.10b0-py36-none-any.whl",
	  "13001c5b7dbc81137164b43137320a1785e95ce84e4db849279786877ac6d7f6", ">=3.6", NULL,
	  "19.10b0", PYPI_FILE_WHEEL },
	{ "black-19.10b0.tar.gz",
	  "6cada614d5d2132698c6d5fff384657273d922c4fffa6a2f0de9e03e25b8913a", ">=3.6", NULL,
	  "19.10b0", PYPI_FILE_SDIST },
	{ "black-21.11b0-py3-none-any.whl",
	  "38f6ad54069912caf2fa2d4f25d0c5dedef4b2338a0cb545dbe2fdf54a6a8891", ">=3.6.2",
	  "Broken regex dependency. Use 21.11b1 instead.", "21.11b0", PYPI_FILE_WHEEL },
	{ "black-21.11b0.tar.gz",
	  "f23c482185d842e2f19d506e55c004061167e3c677c063ecd721042c62086ada", ">=3.6.2",
	  "Broken regex dependency. Use 21.11b1 instead.", "21.11b0", PYPI_FILE_SDIST },
};

static void t_black(void)
{
	struct pkgimg_ctx ctx;
	struct pypi_page js, html;
	int rj, rh;
	size_t i;
	char name[128];

	rj = parse_fixture(&ctx, "black.json", CT_JSON, "https://pypi.org/simple/black/", "black",
			   &js);
	check(rj == 0, "json black: parses", "r=%d %s", rj, ctx.errmsg);
	rh = parse_fixture(&ctx, "black.html", "text/html; charset=utf-8",
			   "https://pypi.org/simple/black/", "Black", &html);
	check(rh == 0, "html black: parses", "r=%d %s", rh, ctx.errmsg);
	if (rj || rh)
		return;
	check(js.format == PYPI_FORMAT_JSON && html.format == PYPI_FORMAT_HTML,
	      "black: formats from Content-Type", "%d %d", js.format, html.format);
	check(streq(js.name, "black") && html.name == NULL, "black: JSON name, none in HTML",
	      "%s %s", nz(js.name), nz(html.name));
	check(js.api_major == 1 && js.api_minor == 4, "json black: api-version 1.4", "%u.%u",
	      js.api_major, js.api_minor);
	check(html.api_major == 1 && html.api_minor == 0, "html black: api-version 1.0 by default",
	      "%u.%u", html.api_major, html.api_minor);
	check(js.nfiles == 4 && html.nfiles == 4, "black: 4 files in both", "%zu %zu", js.nfiles,
	      html.nfiles);
	if (js.nfiles != 4 || html.nfiles != 4)
		goto out;
	for (i = 0; i < 4; i++) {
		const struct pypi_file *a = &js.files[i], *b = &html.files[i];
		snprintf(name, sizeof name, "black %s: same name, url, kind, version",
			 black_files[i].filename);
		check(streq(a->filename, black_files[i].filename) &&
		      streq(b->filename, a->filename) && streq(a->url, b->url) &&
		      a->kind == black_files[i].kind && b->kind == a->kind &&
		      streq(a->version, black_files[i].version) && streq(b->version, a->version) &&
		      streq(a->name, "black") && streq(b->name, "black"),
		      name, "json %s %s %d %s / html %s %s %d %s", a->filename, a->url, a->kind,
		      nz(a->version), b->filename, b->url, b->kind, nz(b->version));
		snprintf(name, sizeof name, "black %s: same sha256", black_files[i].filename);
		check(streq(sha256(a), black_files[i].sha256) && streq(sha256(b), sha256(a)), name,
		      "%s %s", nz(sha256(a)), nz(sha256(b)));
		snprintf(name, sizeof name, "black %s: same requires-python (entities decoded)",
			 black_files[i].filename);
		check(streq(a->requires_python, black_files[i].requires_python) &&
		      streq(b->requires_python, a->requires_python), name, "%s %s",
		      nz(a->requires_python), nz(b->requires_python));
		snprintf(name, sizeof name, "black %s: same yanked state and reason",
			 black_files[i].filename);
		check(a->yanked == (black_files[i].yanked != NULL) && b->yanked == a->yanked &&
		      streq(a->yanked_reason, black_files[i].yanked) &&
		      streq(b->yanked_reason, a->yanked_reason), name, "%d %s / %d %s",
		      a->yanked, nz(a->yanked_reason), b->yanked, nz(b->yanked_reason));
		snprintf(name, sizeof name, "black %s: url has no fragment", black_files[i].filename);
		check(strchr(a->url, '#') == NULL && strchr(b->url, '#') == NULL &&
		      strncmp(b->url, "https://files.pythonhosted.org/packages/", 40) == 0, name,
		      "%s", b->url);
	}
	check(streq(pypi_hashes_get(&js.files[0].hashes, "md5"), "acc537b0f3f7ebf575616490d7cc14f4"),
	      "json black: md5 kept beside sha256", "%s",
	      nz(pypi_hashes_get(&js.files[0].hashes, "md5")));
	check(html.files[0].hashes.n == 1, "html black: one hash from the #sha256 fragment", "%zu",
	      html.files[0].hashes.n);
	check(js.files[0].has_metadata &&
	      streq(pypi_hashes_get(&js.files[0].metadata_hashes, "sha256"),
		    "256c27c1f5cc5c7bad6049ff2c339ac9419f5fc00eddbb895cf4780d7b6752b3"),
	      "json black: core-metadata with its sha256", "%d", js.files[0].has_metadata);
	check(!js.files[1].has_metadata && js.files[1].metadata_hashes.n == 0,
	      "json black: core-metadata false on the sdist", "%d", js.files[1].has_metadata);
	check(!html.files[0].has_metadata, "html black: no data-core-metadata, none available",
	      "%d", html.files[0].has_metadata);
	check(js.files[2].has_size && js.files[2].size == 155131, "json black: size",
	      "%d %llu", js.files[2].has_size, (unsigned long long)js.files[2].size);
	check(!html.files[2].has_size && html.files[2].upload_time == NULL,
	      "html black: no size nor upload-time", "%d", html.files[2].has_size);
	check(streq(js.files[3].upload_time, "2021-11-17T02:32:16.396821Z"),
	      "json black: upload-time", "%s", nz(js.files[3].upload_time));
	check(js.files[0].wheel.name && streq(js.files[0].wheel.plats.v[0], "any") &&
	      streq(js.files[0].wheel.interps.v[0], "py36"), "json black: wheel tags parsed",
	      "%s", nz(js.files[0].wheel.name));
	check(js.files[0].ver.nrelease == 2 && js.files[0].ver.release[0] == 19 &&
	      js.files[0].ver.pre == PEP440_PRE_B, "json black: version 19.10b0 parsed", "%zu",
	      js.files[0].ver.nrelease);
out:
	pypi_page_free(&js);
	pypi_page_free(&html);
}

static void t_json_pages(void)
{
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	const struct pypi_file *f;
	int r;

	r = parse_fixture(&ctx, "pyyaml.json", CT_JSON, "https://pypi.org/simple/pyyaml/", "PyYAML",
			  &p);
	check(r == 0 && p.nfiles == 11 && p.nskipped == 0, "json pyyaml: 11 files",
	      "r=%d %s n=%zu", r, ctx.errmsg, r ? 0 : p.nfiles);
	if (r == 0) {
		f = find_file(&p, "PyYAML-3.13.tar.gz");
		check(f && f->kind == PYPI_FILE_SDIST && streq(f->version, "3.13") &&
		      streq(f->name, "pyyaml"), "json pyyaml: sdist PyYAML-3.13.tar.gz version 3.13",
		      "%s", f ? nz(f->version) : "missing");
		check(f && f->requires_python == NULL, "json pyyaml: requires-python null", "%s",
		      f ? nz(f->requires_python) : "missing");
		f = find_file(&p, "PyYAML-3.13-cp37-cp37m-win32.whl");
		check(f && f->kind == PYPI_FILE_WHEEL && streq(f->name, "pyyaml") &&
		      streq(f->wheel.abis.v[0], "cp37m"), "json pyyaml: cp37m wheel", "%s",
		      f ? f->name : "missing");
		check(f && pypi_hashes_get(&f->hashes, "md5") == NULL &&
		      streq(sha256(f), "e170a9e6fcfd19021dd29845af83bb79236068bf5fd4df3327c1be18182b2531"),
		      "json pyyaml: sha256 only", "%s", f ? nz(sha256(f)) : "missing");
		pypi_page_free(&p);
	}

	r = parse_fixture(&ctx, "wheel.json", "application/vnd.pypi.simple.v1+json; charset=utf-8",
			  "https://pypi.org/simple/wheel/", NULL, &p);
	check(r == 0 && p.nfiles == 2, "json wheel: 2 files, project from \"name\"", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0) {
		f = find_file(&p, "wheel-0.40.0-py3-none-any.whl");
		check(streq(sha256(f),
			    "d236b20e7cb522daf2390fa84c55eea81c5c30190f90f29ae2ca1ad8355bf247") &&
		      f->size == 64545, "json wheel: the real wheel's sha256 and size", "%s",
		      nz(sha256(f)));
		check(f && streq(f->url, "https://files.pythonhosted.org/packages/61/86/"
				 "cc8d1ff2ca31a312a25a708c891cf9facbad4eae493b3872638db6785eb5"
				 "/wheel-0.40.0-py3-none-any.whl"),
		      "json wheel: absolute url kept", "%s", f ? f->url : "missing");
		pypi_page_free(&p);
	}

	r = parse_fixture(&ctx, "poetry-core.json", CT_JSON, "https://pypi.org/simple/poetry-core/",
			  "Poetry_Core", &p);
	check(r == 0 && p.nfiles == 4, "json poetry-core: any spelling of the project", "r=%d %s",
	      r, ctx.errmsg);
	if (r == 0) {
		f = find_file(&p, "poetry_core-1.5.0.tar.gz");
		check(f && f->kind == PYPI_FILE_SDIST && streq(f->version, "1.5.0") &&
		      streq(f->name, "poetry-core"), "json poetry-core: PEP 625 sdist name",
		      "%s", f ? nz(f->version) : "missing");
		f = find_file(&p, "poetry_core-2.1.3-py3-none-any.whl");
		check(f && streq(f->requires_python, "<4.0,>=3.9"),
		      "json poetry-core: requires-python", "%s", f ? nz(f->requires_python) : "-");
		pypi_page_free(&p);
	}

	r = parse_fixture(&ctx, "setuptools.json", CT_JSON, "https://pypi.org/simple/setuptools/",
			  "setuptools", &p);
	check(r == 0 && p.nfiles == 4, "json setuptools: 4 files", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		f = find_file(&p, "setuptools-39.2.0.zip");
		check(f && f->kind == PYPI_FILE_SDIST && streq(f->version, "39.2.0"),
		      "json setuptools: .zip sdist", "%s", f ? nz(f->version) : "missing");
		check(f && streq(f->requires_python, ">=2.7,!=3.0.*,!=3.1.*,!=3.2.*"),
		      "json setuptools: requires-python", "%s", f ? nz(f->requires_python) : "-");
		pypi_page_free(&p);
	}
}

static void t_html_pages(void)
{
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	const struct pypi_file *f;
	int r;

	r = parse_fixture(&ctx, "futures-partial-yank.html", CT_HTML,
			  "https://pypi.org/simple/futures/", "futures", &p);
	check(r == 0 && p.nfiles == 2, "html futures: 2 files", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		f = &p.files[0];
		check(f->yanked && streq(f->yanked_reason, ""),
		      "html futures: bare data-yanked is yanked without reason", "%d %s",
		      f->yanked, nz(f->yanked_reason));
		check(!p.files[1].yanked && p.files[1].yanked_reason == NULL,
		      "html futures: the sdist is not yanked", "%d", p.files[1].yanked);
		check(streq(f->requires_python, ">=2.6, <3") &&
		      streq(p.files[1].requires_python, ">=2.6, <3"),
		      "html futures: &gt; and &lt; decoded", "%s", nz(f->requires_python));
		pypi_page_free(&p);
	}

	r = parse_fixture(&ctx, "pytest-with-extra-packages.html", CT_HTML,
			  "https://pypi.org/simple/pytest/", "pytest", &p);
	check(r == 0 && p.nfiles == 2 && p.nskipped == 3,
	      "html pytest: other projects' files skipped (names from the URL, not the text)",
	      "r=%d %s n=%zu skipped=%zu", r, ctx.errmsg, r ? 0 : p.nfiles, r ? 0 : p.nskipped);
	if (r == 0) {
		check(streq(p.files[0].filename, "pytest-3.5.0-py2.py3-none-any.whl") &&
		      streq(p.files[1].filename, "pytest-3.5.0.tar.gz"),
		      "html pytest: the two pytest files", "%s %s", p.files[0].filename,
		      p.nfiles > 1 ? p.files[1].filename : "-");
		check(streq(p.files[0].requires_python, ">=2.7, !=3.0.*, !=3.1.*, !=3.2.*, !=3.3.*"),
		      "html pytest: requires-python over a line break", "%s",
		      nz(p.files[0].requires_python));
		pypi_page_free(&p);
	}
	r = parse_fixture(&ctx, "pytest-with-extra-packages.html", CT_HTML,
			  "https://pypi.org/simple/pytest/", NULL, &p);
	check(r == 0 && p.nfiles == 5, "html pytest: no project keeps every file", "r=%d n=%zu",
	      r, r ? 0 : p.nfiles);
	if (r == 0) {
		check(streq(p.files[3].filename, "futures-3.2.0-py2-none-any.whl") &&
		      streq(p.files[3].name, "futures"),
		      "html pytest: the link text does not name the file", "%s",
		      p.files[3].filename);
		pypi_page_free(&p);
	}

	r = parse_fixture(&ctx, "pyyaml.html", CT_HTML,
			  "https://pypi.org/simple/pyyaml/", "pyyaml", &p);
	check(r == 0 && p.nfiles == 3, "html pyyaml: 3 files", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		f = find_file(&p, "PyYAML-4.2b2.tar.gz");
		check(f && streq(f->version, "4.2b2") && pep440_is_prerelease(&f->ver),
		      "html pyyaml: pre-release sdist 4.2b2", "%s", f ? nz(f->version) : "missing");
		check(f && streq(sha256(f),
				 "3bb5ac01c26ea2d1745a491da8c31d35a70ad69e236ddcf9fbcb493d464db101"),
		      "html pyyaml: sha256 from the fragment", "%s", f ? nz(sha256(f)) : "-");
		check(f && p.files[0].requires_python == NULL,
		      "html pyyaml: no data-requires-python, NULL", "%s",
		      nz(p.files[0].requires_python));
		pypi_page_free(&p);
	}
	r = parse_fixture(&ctx, "pyyaml.html", CT_HTML,
			  "https://pypi.org/simple/python-language-server/",
			  "python-language-server", &p);
	check(r == 0 && p.nfiles == 0 && p.nskipped == 3,
	      "html pyyaml: the page title does not make the files another project's", "r=%d",
	      r);
	if (r == 0)
		pypi_page_free(&p);

	r = parse_fixture(&ctx, "isort-metadata.html", CT_HTML,
			  "https://pypi.org/simple/isort-metadata/", NULL, &p);
	check(r == 0 && p.nfiles == 0 && p.nskipped == 1,
	      "html isort-metadata: a wheel name with a '-' in the project is skipped",
	      "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pypi_page_free(&p);
}

static void t_find_links(void)
{
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	const struct pypi_file *f;
	size_t i, nmmcv = 0, nfull = 0, nwin = 0;
	bool urls_ok = true;
	int r;

	r = parse_fixture(&ctx, "mmcv_torch_releases.html", CT_HTML,
			  "https://download.openmmlab.com/mmcv/dist/cu116/torch1.12.0/index.html",
			  NULL, &p);
	check(r == 0 && p.nfiles == 104, "find-links mmcv: 104 wheels", "r=%d %s n=%zu", r,
	      ctx.errmsg, r ? 0 : p.nfiles);
	if (r == 0) {
		for (i = 0; i < p.nfiles; i++) {
			nmmcv += streq(p.files[i].name, "mmcv");
			nfull += streq(p.files[i].name, "mmcv-full");
			nwin += streq(p.files[i].wheel.plats.v[0], "win_amd64");
			if (strncmp(p.files[i].url,
				    "https://download.openmmlab.com/mmcv/dist/cu116/torch1.12.0/",
				    59) != 0 || strstr(p.files[i].url, ".."))
				urls_ok = false;
		}
		check(nmmcv == 56 && nfull == 48, "find-links mmcv: 56 mmcv, 48 mmcv-full (normalised)",
		      "%zu %zu", nmmcv, nfull);
		check(nwin == 52, "find-links mmcv: half are win_amd64", "%zu", nwin);
		check(urls_ok, "find-links mmcv: '../torch1.12.0/x' resolved against the page",
		      "%s", p.files[0].url);
		f = find_file(&p, "mmcv-2.0.0rc1-cp310-cp310-manylinux1_x86_64.whl");
		check(f && streq(f->url, "https://download.openmmlab.com/mmcv/dist/cu116/torch1.12.0/"
				 "mmcv-2.0.0rc1-cp310-cp310-manylinux1_x86_64.whl") &&
		      streq(f->version, "2.0.0rc1"), "find-links mmcv: one wheel's url and version",
		      "%s", f ? f->url : "missing");
		check(p.files[0].hashes.n == 0, "find-links mmcv: no hash without a fragment", "%zu",
		      p.files[0].hashes.n);
		pypi_page_free(&p);
	}
	r = parse_fixture(&ctx, "mmcv_torch_releases.html", CT_HTML,
			  "https://download.openmmlab.com/mmcv/dist/cu116/torch1.12.0/index.html",
			  "mmcv", &p);
	check(r == 0 && p.nfiles == 56 && p.nskipped == 48, "find-links mmcv: project mmcv only",
	      "r=%d", r);
	if (r == 0)
		pypi_page_free(&p);

	r = parse_fixture(&ctx, "jax_releases.html", CT_HTML,
			  "https://storage.googleapis.com/jax-releases/jax_releases.html", NULL, &p);
	check(r == 0 && p.nfiles == 21, "find-links jax: 21 files", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		f = find_file(&p, "jax-0.3.5.tar.gz");
		check(f && f->kind == PYPI_FILE_SDIST && streq(f->name, "jax") &&
		      streq(f->version, "0.3.5"),
		      "find-links jax: sdist version without a project name", "%s",
		      f ? nz(f->version) : "missing");
		f = find_file(&p, "jaxlib-0.3.2-cp39-none-manylinux2010_x86_64.whl");
		check(f && streq(f->url, "https://storage.googleapis.com/jax-releases/nocuda/"
				 "jaxlib-0.3.2-cp39-none-manylinux2010_x86_64.whl"),
		      "find-links jax: absolute href kept", "%s", f ? f->url : "missing");
		pypi_page_free(&p);
	}
	r = parse_fixture(&ctx, "jax_releases.html", CT_HTML,
			  "https://storage.googleapis.com/jax-releases/jax_releases.html", "jax", &p);
	check(r == 0 && p.nfiles == 5, "find-links jax: project jax: the 5 sdists", "r=%d", r);
	if (r == 0)
		pypi_page_free(&p);
}

/* --- URLs ---------------------------------------------------------------------- */

static void t_urls(void)
{
	/* RFC 3986 section 5.4 */
	static const char *const cases[][2] = {
		{ "g:h", "g:h" },
		{ "g", "http://a/b/c/g" },
		{ "./g", "http://a/b/c/g" },
		{ "g/", "http://a/b/c/g/" },
		{ "/g", "http://a/g" },
		{ "//g", "http://g" },
		{ "?y", "http://a/b/c/d;p?y" },
		{ "g?y", "http://a/b/c/g?y" },
		{ "#s", "http://a/b/c/d;p?q#s" },
		{ "g#s", "http://a/b/c/g#s" },
		{ "g?y#s", "http://a/b/c/g?y#s" },
		{ ";x", "http://a/b/c/;x" },
		{ "g;x", "http://a/b/c/g;x" },
		{ "g;x?y#s", "http://a/b/c/g;x?y#s" },
		{ "", "http://a/b/c/d;p?q" },
		{ ".", "http://a/b/c/" },
		{ "./", "http://a/b/c/" },
		{ "..", "http://a/b/" },
		{ "../", "http://a/b/" },
		{ "../g", "http://a/b/g" },
		{ "../..", "http://a/" },
		{ "../../", "http://a/" },
		{ "../../g", "http://a/g" },
		{ "../../../g", "http://a/g" },
		{ "../../../../g", "http://a/g" },
		{ "/./g", "http://a/g" },
		{ "/../g", "http://a/g" },
		{ "g.", "http://a/b/c/g." },
		{ ".g", "http://a/b/c/.g" },
		{ "g..", "http://a/b/c/g.." },
		{ "..g", "http://a/b/c/..g" },
		{ "./../g", "http://a/b/g" },
		{ "./g/.", "http://a/b/c/g/" },
		{ "g/./h", "http://a/b/c/g/h" },
		{ "g/../h", "http://a/b/c/h" },
		{ "g;x=1/./y", "http://a/b/c/g;x=1/y" },
		{ "g;x=1/../y", "http://a/b/c/y" },
		{ "g?y/./x", "http://a/b/c/g?y/./x" },
		{ "g?y/../x", "http://a/b/c/g?y/../x" },
		{ "g#s/./x", "http://a/b/c/g#s/./x" },
		{ "g#s/../x", "http://a/b/c/g#s/../x" },
		{ "http:g", "http:g" },
		{ "HTTPS://Files.Example/a/./b/../c", "https://Files.Example/a/c" },
	};
	struct pkgimg_ctx ctx;
	char name[160], *out;
	size_t i;
	int r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pkgimg_ctx_init(&ctx);
		out = NULL;
		r = pypi_url_resolve(&ctx, "http://a/b/c/d;p?q", cases[i][0], &out);
		snprintf(name, sizeof name, "url: '%s' against http://a/b/c/d;p?q", cases[i][0]);
		check(r == 0 && streq(out, cases[i][1]), name, "r=%d got %s want %s", r, nz(out),
		      cases[i][1]);
		free(out);
	}
	pkgimg_ctx_init(&ctx);
	out = NULL;
	r = pypi_url_resolve(&ctx, "https://host", "x.whl", &out);
	check(r == 0 && streq(out, "https://host/x.whl"), "url: relative against an empty path",
	      "%s", nz(out));
	free(out);
	out = NULL;
	r = pypi_url_resolve(&ctx, "simple/black/", "x.whl", &out);
	check(r == -PKGIMG_E_PARSE && out == NULL && strstr(ctx.errmsg, "not an absolute URL"),
	      "url: a relative base is refused", "r=%d %s", r, ctx.errmsg);
	r = pypi_url_resolve(&ctx, "https://host/", "x\n.whl", &out);
	check(r == -PKGIMG_E_PARSE && out == NULL, "url: a control character is refused", "r=%d",
	      r);
}

static void t_entities(void)
{
	static const char *const cases[][2] = {
		{ "&gt;=3.6", ">=3.6" },
		{ "&gt;=2.6, &lt;3", ">=2.6, <3" },
		{ "a &amp;amp; b", "a &amp; b" },
		{ "&#62;=1", ">=1" },
		{ "&#x3E;=1&#x3c;2", ">=1<2" },
		{ "&quot;&apos;", "\"'" },
		{ "&#233;t&#xE9;", "\xc3\xa9t\xc3\xa9" },
		{ "&nbsp;", "\xc2\xa0" },
		{ "&#0;", "\xef\xbf\xbd" },
		{ "&#xD800;", "\xef\xbf\xbd" },
		{ "&#x110000;", "\xef\xbf\xbd" },
		{ "&#62", ">" },
		{ "&unknown; & &; &#;", "&unknown; & &; &#;" },
		{ "&lt", "&lt" },
		{ "&#128512;", "\xf0\x9f\x98\x80" },
	};
	char name[128], *out;
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		out = pypi_html_unescape(cases[i][0], strlen(cases[i][0]));
		snprintf(name, sizeof name, "entities: '%s'", cases[i][0]);
		check(streq(out, cases[i][1]), name, "got '%s'", out);
		free(out);
	}
}

/* --- hand-made HTML: the tokenizer ------------------------------------------ */

static void t_html_tokenizer(void)
{
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	const struct pypi_file *f;
	int r;
	const char *page =
		"<!DOCTYPE html><html><head><title>Links for <a href=x-9.whl></title>\n"
		"<script>var s = '<a href=\"demo-6.6.tar.gz\">';</script>\n"
		"<!-- <a href=\"demo-7.7.tar.gz\">commented out</a> -->\n"
		"<meta name=\"pypi:repository-version\" content=\"1.1\">\n"
		"</head><body>\n"
		"<A DATA-REQUIRES-PYTHON='&gt;=3.8' HREF=../../packages/x/demo-1.0-py3-none-any.whl"
		"#SHA256=" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		" data-core-metadata=\"sha256=" SHA_B "\" data-dist-info-metadata=\"true\">"
		"demo-1.0-py3-none-any.whl</A><br/>\n"
		"<a href=\"//files.example/p/demo-1.0.tar.gz#sha256=" SHA_A "&amp;egg=demo\" "
		"data-dist-info-metadata=\"true\" data-yanked=\"bad &amp; broken\">d</a>\n"
		"<a\thref = '/p/demo-2.0.zip' data-yanked=''>demo-2.0.zip</a>\n"
		"<a href=\"Demo-3.0.tar.gz?x=1&amp;y=2#md5=0123456789abcdef0123456789ABCDEF\">q</a>\n"
		"<a href=\"mailto:someone@example.org\">mail</a>\n"
		"<a name=\"anchor\">no href</a>\n"
		"<a href=\"demo-4.0.exe\">not a distribution</a>\n"
		"<a href=\"other-1.0.tar.gz\">another project</a>\n"
		"<a href=\"demo%201-5.0.tar.gz\">spaces</a>\n"
		"<p>1 < 2 and <!--> short comment</p>\n"
		"</body></html>\n";

	r = parse_str(&ctx, page, CT_HTML, "https://example.org/simple/demo/", "demo", &p);
	check(r == 0, "html tokenizer: parses", "r=%d %s", r, ctx.errmsg);
	if (r)
		return;
	check(p.nfiles == 4, "html tokenizer: 4 demo files (title, script, comment ignored)",
	      "%zu", p.nfiles);
	check(p.nskipped == 4,
	      "html tokenizer: mailto, .exe, other-1.0 and 'demo 1-5.0' (another project) skipped",
	      "%zu", p.nskipped);
	check(p.api_major == 1 && p.api_minor == 1, "html tokenizer: pypi:repository-version 1.1",
	      "%u.%u", p.api_major, p.api_minor);
	check(find_file(&p, "demo-6.6.tar.gz") == NULL && find_file(&p, "demo-7.7.tar.gz") == NULL,
	      "html tokenizer: no link from <script> or a comment", "-");
	f = find_file(&p, "demo-1.0-py3-none-any.whl");
	check(f && streq(f->url, "https://example.org/packages/x/demo-1.0-py3-none-any.whl"),
	      "html tokenizer: upper-case tag, unquoted ../../ href", "%s", f ? f->url : "missing");
	check(f && streq(sha256(f), SHA_A), "html tokenizer: fragment hash lower-cased", "%s",
	      f ? nz(sha256(f)) : "-");
	check(f && streq(f->requires_python, ">=3.8"),
	      "html tokenizer: single-quoted upper-case attribute", "%s",
	      f ? nz(f->requires_python) : "-");
	check(f && f->has_metadata && streq(pypi_hashes_get(&f->metadata_hashes, "sha256"), SHA_B),
	      "html tokenizer: data-core-metadata wins over data-dist-info-metadata", "%d",
	      f ? f->has_metadata : -1);
	f = find_file(&p, "demo-1.0.tar.gz");
	check(f && streq(f->url, "https://files.example/p/demo-1.0.tar.gz"),
	      "html tokenizer: scheme-relative href", "%s", f ? f->url : "missing");
	check(f && f->has_metadata && f->metadata_hashes.n == 0,
	      "html tokenizer: data-dist-info-metadata=true, no hash", "%d",
	      f ? f->has_metadata : -1);
	check(f && f->yanked && streq(f->yanked_reason, "bad & broken"),
	      "html tokenizer: yanked reason decoded", "%s", f ? nz(f->yanked_reason) : "-");
	check(f && streq(sha256(f), SHA_A) && f->hashes.n == 1,
	      "html tokenizer: #sha256=...&egg=... gives one hash", "%zu", f ? f->hashes.n : 0);
	f = find_file(&p, "demo-2.0.zip");
	check(f && streq(f->url, "https://example.org/p/demo-2.0.zip"),
	      "html tokenizer: absolute-path href, spaces around '='", "%s",
	      f ? f->url : "missing");
	check(f && f->yanked && streq(f->yanked_reason, ""), "html tokenizer: data-yanked=''",
	      "%d", f ? f->yanked : -1);
	f = find_file(&p, "Demo-3.0.tar.gz");
	check(f && streq(f->url, "https://example.org/simple/demo/Demo-3.0.tar.gz?x=1&y=2"),
	      "html tokenizer: relative href keeps its query, &amp; decoded", "%s",
	      f ? f->url : "missing");
	check(f && streq(pypi_hashes_get(&f->hashes, "md5"), "0123456789abcdef0123456789abcdef") &&
	      sha256(f) == NULL, "html tokenizer: #md5 kept", "%zu", f ? f->hashes.n : 0);
	pypi_page_free(&p);

	/* <base href>, after the anchor as well as before it (pip) */
	r = parse_str(&ctx,
		      "<a href=\"demo-1.0.tar.gz\">a</a><base href=\"https://mirror.example/f/\">"
		      "<base href=\"https://ignored.example/\"><a href=\"../g/demo-2.0.tar.gz\">b</a>",
		      CT_HTML, "https://example.org/simple/demo/", "demo", &p);
	check(r == 0 && p.nfiles == 2 &&
	      streq(p.files[0].url, "https://mirror.example/f/demo-1.0.tar.gz") &&
	      streq(p.files[1].url, "https://mirror.example/g/demo-2.0.tar.gz"),
	      "html: the first <base href> applies to every link", "r=%d %s %s", r,
	      r || !p.nfiles ? "-" : p.files[0].url, r || p.nfiles < 2 ? "-" : p.files[1].url);
	if (r == 0)
		pypi_page_free(&p);
	r = parse_str(&ctx, "<base href=\"/files/\"><a href=\"demo-1.0.tar.gz\">a</a>",
		      "application/vnd.pypi.simple.v1+html", "https://example.org/simple/demo/",
		      "demo", &p);
	check(r == 0 && p.nfiles == 1 && streq(p.files[0].url,
					       "https://example.org/files/demo-1.0.tar.gz"),
	      "html: a relative <base href> is resolved against the page", "r=%d %s", r,
	      r || !p.nfiles ? ctx.errmsg : p.files[0].url);
	if (r == 0)
		pypi_page_free(&p);
	r = parse_str(&ctx, "", NULL, "https://example.org/simple/demo/", "demo", &p);
	check(r == 0 && p.nfiles == 0, "html: an empty page has no files", "r=%d", r);
	if (r == 0)
		pypi_page_free(&p);
}

static void t_html_errors(void)
{
	static const struct {
		const char *name, *body, *msg;
	} cases[] = {
		{ "unterminated tag", "<a href=\"demo-1.0.tar.gz\"", "never closed" },
		{ "unterminated quote", "<a href=\"demo-1.0.tar.gz>x</a>", "never closed" },
		{ "unterminated comment", "<!-- <a href=\"demo-1.0.tar.gz\">x</a>", "comment" },
		{ "unterminated doctype", "<!DOCTYPE html", "never closed" },
		{ "repository-version 2.0",
		  "<meta name=\"pypi:repository-version\" content=\"2.0\">"
		  "<a href=\"demo-1.0.tar.gz\">x</a>", "2.0" },
		{ "bad repository-version", "<meta name=\"pypi:repository-version\" content=\"one\">",
		  "bad API version" },
		{ "short sha256", "<a href=\"demo-1.0.tar.gz#sha256=abc\">x</a>", "hex digits" },
		{ "non-hex sha256", "<a href=\"demo-1.0.tar.gz#sha256=" "zz" SHA_A "\">x</a>",
		  "not hexadecimal" },
		{ "encoded slash in the name", "<a href=\"..%2Fdemo-1.0.tar.gz\">x</a>",
		  "unsafe file name" },
		{ "encoded NUL in the name", "<a href=\"demo-1.0.tar.gz%00.whl\">x</a>",
		  "unsafe file name" },
		{ "control character in an href", "<a href=\"demo-1.0\x01.tar.gz\">x</a>",
		  "control character" },
		{ "bad metadata hash", "<a href=\"demo-1.0.tar.gz\" data-core-metadata=\"sha256=12\">x</a>",
		  "hex digits" },
	};
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	char name[128];
	size_t i;
	int r;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		memset(&p, 0x5a, sizeof p);
		r = parse_str(&ctx, cases[i].body, CT_HTML, "https://example.org/simple/demo/",
			      "demo", &p);
		snprintf(name, sizeof name, "html error: %s", cases[i].name);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, cases[i].msg) &&
		      strstr(ctx.errmsg, "https://example.org/simple/demo/") &&
		      p.nfiles == (size_t)0x5a5a5a5a5a5a5a5aULL, name, "r=%d msg=%s", r,
		      ctx.errmsg);
		if (r == 0)
			pypi_page_free(&p);
	}
	pkgimg_ctx_init(&ctx);
	r = pypi_page_parse(&ctx, "<a href=x>\0</a>", 15, CT_HTML, "https://e.org/s/", NULL, &p);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "NUL"), "html error: NUL byte", "r=%d %s",
	      r, ctx.errmsg);
}

/* --- hand-made JSON: validation ---------------------------------------------- */

static void t_json_cases(void)
{
	static const struct {
		const char *name, *body, *msg;
	} bad[] = {
		{ "api-version 2.0 refused",
		  "{\"meta\":{\"api-version\":\"2.0\"},\"name\":\"demo\",\"files\":[]}", "2.0" },
		{ "api-version not a string", "{\"meta\":{\"api-version\":1.0},\"files\":[]}",
		  "not a string" },
		{ "api-version malformed", "{\"meta\":{\"api-version\":\"1\"},\"files\":[]}",
		  "MAJOR.MINOR" },
		{ "malformed JSON", "{\"meta\":{\"api-version\":\"1.0\"},\"files\":[{\"filename\":",
		  "malformed JSON" },
		{ "not an object", "[1,2]", "not an object" },
		{ "files missing", "{\"name\":\"demo\"}", "\"files\"" },
		{ "file without url", "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"hashes\":{}}]}",
		  "url" },
		{ "file not an object", "{\"files\":[3]}", "files[0]" },
		{ "hashes not an object",
		  "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":[]}]}", "hashes" },
		{ "sha256 of the wrong length",
		  "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":{\"sha256\":\"abcd\"}}]}", "hex digits" },
		{ "yanked a number",
		  "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":{},\"yanked\":1}]}", "yanked" },
		{ "core-metadata a string",
		  "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":{},\"core-metadata\":\"yes\"}]}", "core-metadata" },
		{ "negative size",
		  "{\"files\":[{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":{},\"size\":-1}]}", "size" },
		{ "path in filename",
		  "{\"files\":[{\"filename\":\"../demo-1.0.tar.gz\",\"url\":\"demo-1.0.tar.gz\","
		  "\"hashes\":{}}]}", "unsafe file name" },
		{ "another project's page", "{\"name\":\"other\",\"files\":[]}", "other" },
		{ "duplicate key", "{\"files\":[],\"files\":[]}", "malformed JSON" },
	};
	struct pkgimg_ctx ctx;
	struct pypi_page p;
	char name[128];
	size_t i, len;
	char *body;
	int r;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		r = parse_str(&ctx, bad[i].body, CT_JSON, "https://example.org/simple/demo/", "demo",
			      &p);
		snprintf(name, sizeof name, "json error: %s", bad[i].name);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, bad[i].msg) &&
		      strstr(ctx.errmsg, "https://example.org/simple/demo/"), name, "r=%d msg=%s",
		      r, ctx.errmsg);
		if (r == 0)
			pypi_page_free(&p);
	}

	/* a truncated real page */
	body = read_fixture("black.json", &len);
	pkgimg_ctx_init(&ctx);
	r = pypi_page_parse(&ctx, body, len / 2, CT_JSON, "https://pypi.org/simple/black/", "black",
			    &p);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "malformed JSON"),
	      "json error: truncated black.json", "r=%d %s", r, ctx.errmsg);
	free(body);

	r = parse_str(&ctx, "{}", "application/json", "https://example.org/simple/demo/", "demo",
		      &p);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "Content-Type"),
	      "content-type: application/json refused", "r=%d %s", r, ctx.errmsg);
	r = parse_str(&ctx, "{}", CT_JSON, "/simple/demo/", "demo", &p);
	check(r == -PKGIMG_E_USAGE, "page url: must be absolute", "r=%d", r);

	r = parse_str(&ctx,
		      "{\"meta\":{\"api-version\":\"1.999\"},\"name\":\"Demo\",\"files\":["
		      "{\"filename\":\"demo-1.0-py3-none-any.whl\","
		      "\"url\":\"../../packages/demo-1.0-py3-none-any.whl#sha256=" SHA_B "\","
		      "\"hashes\":{\"sha256\":\"" SHA_A "\",\"blake2b_256\":\"" SHA_B "\"},"
		      "\"yanked\":true,\"dist-info-metadata\":true,\"requires-python\":null,"
		      "\"size\":12},"
		      "{\"filename\":\"demo-1.0.tar.gz\",\"url\":\"https://f.example/demo-1.0.tar.gz\","
		      "\"hashes\":{}},"
		      "{\"filename\":\"demo-1.0.egg\",\"url\":\"demo-1.0.egg\",\"hashes\":{}},"
		      "{\"filename\":\"demo-1.0-weird.whl\",\"url\":\"x.whl\",\"hashes\":{}},"
		      "{\"filename\":\"demo-1.x.tar.gz\",\"url\":\"x.tar.gz\",\"hashes\":{}}"
		      "]}", CT_JSON, "https://example.org/simple/demo/", NULL, &p);
	check(r == 0 && p.api_major == 1 && p.api_minor == 999 && streq(p.name, "Demo"),
	      "json: api-version 1.999 accepted", "r=%d %s", r, ctx.errmsg);
	if (r)
		return;
	check(p.nfiles == 2 && p.nskipped == 3,
	      "json: .egg, a bad wheel name and a bad version skipped", "%zu %zu", p.nfiles,
	      p.nskipped);
	check(streq(p.files[0].url, "https://example.org/packages/demo-1.0-py3-none-any.whl"),
	      "json: relative url resolved, fragment dropped", "%s", p.files[0].url);
	check(streq(sha256(&p.files[0]), SHA_A) &&
	      streq(pypi_hashes_get(&p.files[0].hashes, "blake2b_256"), SHA_B),
	      "json: \"hashes\" win over the url fragment; blake2b_256 kept", "%s",
	      nz(sha256(&p.files[0])));
	check(p.files[0].yanked && streq(p.files[0].yanked_reason, ""),
	      "json: yanked true without reason", "%d", p.files[0].yanked);
	check(p.files[0].has_metadata && p.files[0].metadata_hashes.n == 0,
	      "json: legacy dist-info-metadata true", "%d", p.files[0].has_metadata);
	check(p.files[0].has_size && p.files[0].size == 12 && p.files[0].requires_python == NULL,
	      "json: size 12, requires-python null", "%llu",
	      (unsigned long long)p.files[0].size);
	check(p.files[1].kind == PYPI_FILE_SDIST && !p.files[1].yanked && !p.files[1].has_size,
	      "json: minimal sdist entry", "%d", p.files[1].kind);
	pypi_page_free(&p);
}

/* --- core metadata ---------------------------------------------------------- */

static const char *const torch_deps[] = {
	"filelock", "typing-extensions", "sympy", "networkx", "jinja2", "fsspec",
	"nvidia-cuda-nvrtc-cu12", "nvidia-cuda-runtime-cu12", "nvidia-cuda-cupti-cu12",
	"nvidia-cudnn-cu12", "nvidia-cublas-cu12", "nvidia-cufft-cu12", "nvidia-curand-cu12",
	"nvidia-cusolver-cu12", "nvidia-cusparse-cu12", "nvidia-nccl-cu12", "nvidia-nvtx-cu12",
	"triton", "opt-einsum", "optree",
};

static bool deps_have(const struct pep508_req **d, int n, const char *norm)
{
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(d[i]->norm, norm) == 0)
			return true;
	return false;
}

static int count_prefix(const struct pep508_req **d, int n, const char *prefix)
{
	int i, c = 0;

	for (i = 0; i < n; i++)
		c += strncmp(d[i]->norm, prefix, strlen(prefix)) == 0;
	return c;
}

static void t_torch(void)
{
	struct pkgimg_ctx ctx;
	struct pymeta m;
	struct pep508_env env = { 0 };
	const struct pep508_req **d;
	const char *extras1[] = { "Opt_Einsum", NULL }, *extras2[] = { "opt-einsum", "optree", NULL };
	char *body, *s;
	size_t len, i;
	bool names_ok = true;
	int r, n;

	body = read_fixture("torch-2.2.1.METADATA", &len);
	pkgimg_ctx_init(&ctx);
	r = pymeta_parse(&ctx, "torch-2.2.1.dist-info/METADATA", body, len, &m);
	free(body);
	check(r == 0, "torch METADATA: parses", "r=%d %s", r, ctx.errmsg);
	if (r)
		return;
	check(streq(m.name, "torch") && streq(m.norm, "torch") && streq(m.version, "2.2.1") &&
	      streq(m.metadata_version, "2.1"), "torch METADATA: name, version, metadata-version",
	      "%s %s %s", m.name, m.version, nz(m.metadata_version));
	check(m.ver.nrelease == 3 && m.ver.release[1] == 2, "torch METADATA: version parsed",
	      "%zu", m.ver.nrelease);
	check(streq(m.requires_python, ">=3.8.0") && m.python_spec.n == 1,
	      "torch METADATA: Requires-Python", "%s", nz(m.requires_python));
	check(m.nrequires == 20, "torch METADATA: 20 Requires-Dist", "%zu", m.nrequires);
	if (m.nrequires != 20)
		goto out;
	for (i = 0; i < 20; i++)
		if (strcmp(m.requires[i].norm, torch_deps[i]) != 0)
			names_ok = false;
	check(names_ok, "torch METADATA: Requires-Dist names in order", "-");
	s = pep508_req_str(&m.requires[1]);
	check(streq(s, "typing-extensions>=4.8.0") && m.requires[1].marker == NULL,
	      "torch METADATA: typing-extensions (>=4.8.0)", "%s", s);
	free(s);
	s = pep508_req_str(&m.requires[9]);
	check(streq(s, "nvidia-cudnn-cu12==8.9.2.26; platform_system == \"Linux\" and "
		    "platform_machine == \"x86_64\""), "torch METADATA: nvidia-cudnn-cu12 pin and marker",
	      "%s", s);
	free(s);
	s = pep508_req_str(&m.requires[17]);
	check(streq(s, "triton==2.2.0; platform_system == \"Linux\" and platform_machine == "
		    "\"x86_64\" and python_version < \"3.12\""), "torch METADATA: triton==2.2.0",
	      "%s", s);
	free(s);
	s = pep508_req_str(&m.requires[18]);
	check(streq(s, "opt-einsum>=3.3; extra == \"opt-einsum\""),
	      "torch METADATA: opt-einsum behind its extra", "%s", s);
	free(s);
	check(m.requires[0].spec.n == 0 && m.requires[0].marker == NULL,
	      "torch METADATA: filelock unconstrained", "%zu", m.requires[0].spec.n);
	check(m.extras.n == 2 && streq(m.extras.v[0], "opt-einsum") && streq(m.extras.v[1], "optree"),
	      "torch METADATA: Provides-Extra", "%zu", m.extras.n);
	check(pymeta_has_extra(&m, "OPT_einsum") && !pymeta_has_extra(&m, "cuda"),
	      "torch METADATA: has_extra normalises", "-");

	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.8", "x86_64", NULL, NULL);
	n = pymeta_deps_for(&m, &env, NULL, &d);
	check(n == 18 && count_prefix(d, n, "nvidia-") == 11 && deps_have(d, n, "triton") &&
	      !deps_have(d, n, "opt-einsum") && d[n] == NULL,
	      "torch deps linux x86_64 cp311: 6 + 11 nvidia + triton", "n=%d", n);
	free(d);
	n = pymeta_deps_for(&m, &env, extras1, &d);
	check(n == 19 && deps_have(d, n, "opt-einsum") && !deps_have(d, n, "optree"),
	      "torch deps [Opt_Einsum]: opt-einsum added", "n=%d", n);
	free(d);
	n = pymeta_deps_for(&m, &env, extras2, &d);
	check(n == 20 && deps_have(d, n, "optree"), "torch deps [opt-einsum,optree]: all 20",
	      "n=%d", n);
	free(d);
	pep508_env_linux(&env, "3.11.8", "aarch64", NULL, NULL);
	n = pymeta_deps_for(&m, &env, NULL, &d);
	check(n == 6 && count_prefix(d, n, "nvidia-") == 0 && !deps_have(d, n, "triton") &&
	      deps_have(d, n, "fsspec"), "torch deps linux aarch64: no nvidia, no triton", "n=%d",
	      n);
	free(d);
	pep508_env_linux(&env, "3.12.2", "x86_64", NULL, NULL);
	n = pymeta_deps_for(&m, &env, NULL, &d);
	check(n == 17 && count_prefix(d, n, "nvidia-") == 11 && !deps_have(d, n, "triton"),
	      "torch deps linux x86_64 cp312: nvidia but no triton", "n=%d", n);
	free(d);
	pep508_env_free(&env);
out:
	pymeta_free(&m);
}

static void t_black_metadata(void)
{
	struct pkgimg_ctx ctx;
	struct pymeta m;
	struct pep508_env env = { 0 };
	const struct pep508_req **d;
	const char *jup[] = { "jupyter", NULL };
	char *body;
	size_t len;
	int r, n;

	body = read_fixture("black-21.11b0-py3-none-any.whl.metadata", &len);
	pkgimg_ctx_init(&ctx);
	r = pymeta_parse(&ctx, "black-21.11b0-py3-none-any.whl.metadata", body, len, &m);
	free(body);
	check(r == 0 && m.nrequires == 16 && m.extras.n == 5,
	      "black metadata: 16 Requires-Dist, 5 extras", "r=%d %s %zu", r, ctx.errmsg,
	      r ? 0 : m.nrequires);
	if (r)
		return;
	pep508_env_init(&env);
	pep508_env_linux(&env, "3.11.8", "x86_64", NULL, NULL);
	n = pymeta_deps_for(&m, &env, NULL, &d);
	check(n == 8 && !deps_have(d, n, "dataclasses") && !deps_have(d, n, "typed-ast"),
	      "black deps 3.11: 8", "n=%d", n);
	free(d);
	n = pymeta_deps_for(&m, &env, jup, &d);
	check(n == 10 && deps_have(d, n, "ipython") && deps_have(d, n, "tokenize-rt") &&
	      !deps_have(d, n, "aiohttp"), "black deps 3.11 [jupyter]: 10", "n=%d", n);
	free(d);
	pep508_env_linux(&env, "3.6.15", "x86_64", NULL, NULL);
	n = pymeta_deps_for(&m, &env, NULL, &d);
	check(n == 9 && deps_have(d, n, "dataclasses") && deps_have(d, n, "typed-ast"),
	      "black deps 3.6: dataclasses and typed-ast", "n=%d", n);
	free(d);
	pep508_env_free(&env);
	pymeta_free(&m);

	body = read_fixture("wheel-0.40.0-py3-none-any.whl.metadata", &len);
	r = pymeta_parse(&ctx, "wheel.metadata", body, len, &m);
	free(body);
	check(r == 0 && m.nrequires == 1 && streq(m.requires[0].norm, "pytest") &&
	      m.extras.n == 1 && streq(m.requires_python, ">=3.7"),
	      "wheel metadata: pytest for [test] (Provides-Extra after its use)", "r=%d %s", r,
	      ctx.errmsg);
	if (r == 0)
		pymeta_free(&m);
}

static void t_metadata_cases(void)
{
	struct pkgimg_ctx ctx;
	struct pymeta m;
	struct pep508_env env = { 0 };
	const struct pep508_req **d;
	char *s;
	int r, n;
	const char *good =
		"metadata-version: 2.4\r\n"
		"NAME: My_Pkg\r\n"
		"version: 1.0.post1\r\n"
		"Summary: a summary\r\n"
		"  folded onto two lines\r\n"
		"Requires-Dist: requests[Security,socks]\r\n"
		"\t>=2.8 ; python_version\r\n"
		"  >= \"3.8\"\r\n"
		"requires-dist:idna\r\n"
		"Dynamic: Requires-Dist\r\n"
		"Provides-Extra: Dev_Tools\r\n"
		"Provides-Extra: dev.tools\r\n"
		"Requires-Dist: black; extra == 'dev-tools'\r\n"
		"\r\n"
		"Requires-Dist: evil-from-the-body\r\n"
		"not a header at all\r\n";
	static const struct {
		const char *name, *body, *msg;
	} bad[] = {
		{ "no Name", "Metadata-Version: 2.1\nVersion: 1.0\n", "no Name" },
		{ "no Version", "Metadata-Version: 2.1\nName: x\n", "no Version" },
		{ "empty input", "", "no Name" },
		{ "Name only in the body", "Metadata-Version: 2.1\n\nName: x\nVersion: 1\n",
		  "no Name" },
		{ "bad Requires-Dist names its line",
		  "Name: x\nVersion: 1.0\nRequires-Dist: ok\nRequires-Dist: bad (>=1.0\n",
		  "line 4: Requires-Dist" },
		{ "bad Version", "Name: x\nVersion: one\n", "line 2: Version" },
		{ "second Version", "Name: x\nVersion: 1\nVersion: 2\n", "second Version" },
		{ "not a header", "Name: x\nthis line has no colon\nVersion: 1\n",
		  "line 2: not a 'Field: value'" },
		{ "continuation first", " Name: x\nVersion: 1\n", "continuation" },
		{ "bad Requires-Python", "Name: x\nVersion: 1\nRequires-Python: >=3.x\n",
		  "Requires-Python" },
		{ "empty Provides-Extra", "Name: x\nVersion: 1\nProvides-Extra:\n",
		  "empty Provides-Extra" },
	};
	char name[128];
	size_t i;

	pkgimg_ctx_init(&ctx);
	r = pymeta_parse(&ctx, "PKG-INFO", good, strlen(good), &m);
	check(r == 0, "metadata: CRLF, folded, lower-case field names", "r=%d %s", r, ctx.errmsg);
	if (r == 0) {
		check(streq(m.name, "My_Pkg") && streq(m.norm, "my-pkg") &&
		      streq(m.version, "1.0.post1") && streq(m.metadata_version, "2.4"),
		      "metadata: fields by any case, \\r dropped", "%s|%s|%s", m.name, m.version,
		      nz(m.metadata_version));
		check(m.nrequires == 3, "metadata: the body is not read", "%zu", m.nrequires);
		s = m.nrequires ? pep508_req_str(&m.requires[0]) : xstrdup("");
		check(streq(s, "requests[security,socks]>=2.8; python_version >= \"3.8\""),
		      "metadata: a folded Requires-Dist is unfolded", "%s", s);
		free(s);
		check(m.extras.n == 1 && streq(m.extras.v[0], "dev-tools"),
		      "metadata: Provides-Extra normalised, duplicates merged", "%zu %s", m.extras.n,
		      m.extras.n ? m.extras.v[0] : "-");
		check(m.dynamic.n == 1 && streq(m.dynamic.v[0], "requires-dist"),
		      "metadata: Dynamic lower-cased", "%zu", m.dynamic.n);
		check(m.requires_python == NULL && m.python_spec.n == 0,
		      "metadata: no Requires-Python", "%s", nz(m.requires_python));
		pep508_env_init(&env);
		pep508_env_linux(&env, "3.11.8", "x86_64", NULL, NULL);
		n = pymeta_deps_for(&m, &env, (const char *const[]){ "DEV_TOOLS", NULL }, &d);
		check(n == 3 && deps_have(d, n, "black"), "metadata: extra spelled DEV_TOOLS",
		      "n=%d", n);
		free(d);
		pep508_env_linux(&env, "3.7.1", "x86_64", NULL, NULL);
		n = pymeta_deps_for(&m, &env, NULL, &d);
		check(n == 1 && streq(d[0]->norm, "idna"), "metadata: python 3.7 drops requests",
		      "n=%d", n);
		free(d);
		pep508_env_free(&env);
		pymeta_free(&m);
	}
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pkgimg_ctx_init(&ctx);
		memset(&m, 0x5a, sizeof m);
		r = pymeta_parse(&ctx, "x-1.0.dist-info/METADATA", bad[i].body, strlen(bad[i].body),
				 &m);
		snprintf(name, sizeof name, "metadata error: %s", bad[i].name);
		check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, bad[i].msg) &&
		      strstr(ctx.errmsg, "x-1.0.dist-info/METADATA") &&
		      m.nrequires == (size_t)0x5a5a5a5a5a5a5a5aULL, name, "r=%d msg=%s", r,
		      ctx.errmsg);
		if (r == 0)
			pymeta_free(&m);
	}
	pkgimg_ctx_init(&ctx);
	r = pymeta_parse(&ctx, "nul", "Name: x\nVersion: 1\0\n", 20, &m);
	check(r == -PKGIMG_E_PARSE && strstr(ctx.errmsg, "NUL"), "metadata error: NUL byte",
	      "r=%d %s", r, ctx.errmsg);
	r = pymeta_parse(&ctx, "nonl", "Name: x\nVersion: 1.0", 20, &m);
	check(r == 0 && streq(m.version, "1.0") && m.nrequires == 0,
	      "metadata: no final newline", "r=%d %s", r, ctx.errmsg);
	if (r == 0)
		pymeta_free(&m);
}

int main(void)
{
	t_black();
	t_json_pages();
	t_html_pages();
	t_find_links();
	t_urls();
	t_entities();
	t_html_tokenizer();
	t_html_errors();
	t_json_cases();
	t_torch();
	t_black_metadata();
	t_metadata_cases();
	printf("# %d checks, %d failed\n", passed + failures, failures);
	return failures ? 1 : 0;
}
