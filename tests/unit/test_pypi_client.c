/* solver/pypi_client (and the fetch additions it needs) against index trees
 * built by tests/fixtures/pypi_fixture.py and served on 127.0.0.1 by
 * tests/fixtures/pypi_server.py, both started here; a temporary store.
 * The servers' request logs tell which URLs were (not) asked for. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "solver/pypi_client.h"
#include "tests/unit/check.h"

#define NMANY 30

static const char *srcdir;	/* the source tree: tests/fixtures/ is under it */
static char work[] = "/tmp/pkgimg-test-pypi-client-XXXXXX";

struct server {
	pid_t pid;
	int port;
	char *log;
};

static struct server srv_main, srv_html, srv_text, srv_slow;

/* ---- processes ------------------------------------------------------------ */

static int run_quiet(char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Starts pypi_server.py on ROOT with extra options; its first stdout line
 * is the port. */
static int server_start(struct server *s, const char *name, const char *opt1, const char *opt2)
{
	char *script = xasprintf("%s/tests/fixtures/pypi_server.py", srcdir);
	char *root = xasprintf("%s/srv", work), line[32] = "";
	char *argv[] = { "python3", script, "--dir", root, "--log", NULL, "--timeout", "600",
			 (char *)opt1, (char *)opt2, NULL };
	int pfd[2];
	ssize_t k;
	size_t n = 0;

	s->log = xasprintf("%s/%s.log", work, name);
	argv[5] = s->log;
	if (pipe(pfd) < 0)
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	while (n < sizeof line - 1 && (k = read(pfd[0], line + n, 1)) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	close(pfd[0]);
	free(script);
	free(root);
	s->port = atoi(line);
	return s->pid > 0 && s->port > 0 ? 0 : -1;
}

static void server_stop(struct server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
	}
	free(s->log);
	s->pid = 0;
}

/* ---- helpers -------------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
	fs_write_file(NULL, AT_FDCWD, path, text, strlen(text), 0644);
}

static int build_index(const char *spec_json, const char *name)
{
	char *spec = xasprintf("%s/%s.json", work, name), *out = xasprintf("%s/srv/%s", work, name);
	char *script = xasprintf("%s/tests/fixtures/pypi_fixture.py", srcdir);
	char *argv[] = { "python3", script, "build", spec, out, NULL };
	int r;

	write_text(spec, spec_json);
	r = run_quiet(argv);
	free(spec);
	free(out);
	free(script);
	return r;
}

/* How many log lines start with prefix ("GET /a/simple/alpha/ 304"). */
static int log_count(const struct server *s, const char *prefix)
{
	struct sbuf sb = SBUF_INIT;
	size_t k = strlen(prefix);
	int n = 0;

	if (fs_read_file(NULL, AT_FDCWD, s->log, &sb) == 0) {
		for (char *l = sb.buf; l && *l; ) {
			char *e = strchr(l, '\n');

			if (!strncmp(l, prefix, k))
				n++;
			l = e ? e + 1 : NULL;
		}
	}
	sbuf_free(&sb);
	return n;
}

static int log_lines(const struct server *s)
{
	return log_count(s, "");
}

/* The largest "active=N" in a log. */
static int log_max_active(const struct server *s)
{
	struct sbuf sb = SBUF_INIT;
	int best = 0;

	if (fs_read_file(NULL, AT_FDCWD, s->log, &sb) == 0) {
		for (char *p = sb.buf; p && (p = strstr(p, "active=")); p += 7)
			if (atoi(p + 7) > best)
				best = atoi(p + 7);
	}
	sbuf_free(&sb);
	return best;
}

static bool file_sha(const char *path, char hex[65])
{
	struct sbuf sb = SBUF_INIT;
	bool ok = fs_read_file(NULL, AT_FDCWD, path, &sb) == 0;

	if (ok)
		hash_sha256_hex(sb.buf ? sb.buf : "", sb.len, hex);
	sbuf_free(&sb);
	return ok;
}

static bool same_content(const char *a, const char *b)
{
	struct sbuf x = SBUF_INIT, y = SBUF_INIT;
	bool ok = fs_read_file(NULL, AT_FDCWD, a, &x) == 0 && fs_read_file(NULL, AT_FDCWD, b, &y) == 0 &&
		  x.len == y.len && (!x.len || !memcmp(x.buf, y.buf, x.len));

	sbuf_free(&x);
	sbuf_free(&y);
	return ok;
}

static char *index_url(const struct server *s, const char *name)
{
	return xasprintf("http://127.0.0.1:%d/%s/simple/", s->port, name);
}

static const struct pypi_file *find_file(const struct pypi_project_files *p, const char *fn,
					 size_t *src)
{
	for (size_t i = 0; i < p->page.nfiles; i++) {
		if (!strcmp(p->page.files[i].filename, fn)) {
			if (src)
				*src = p->source[i];
			return &p->page.files[i];
		}
	}
	return NULL;
}

static bool all_from(const struct pypi_project_files *p, size_t src)
{
	for (size_t i = 0; i < p->page.nfiles; i++)
		if (p->source[i] != src)
			return false;
	return p->page.nfiles > 0;
}

static bool has_version(const struct pypi_project_files *p, const char *v)
{
	for (size_t i = 0; i < p->page.nfiles; i++)
		if (!strcmp(p->page.files[i].version, v))
			return true;
	return false;
}

static void free_results(struct pypi_project_files *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		pypi_project_files_free(&r[i]);
}

static int client_new(struct pkgimg_ctx *ctx, struct store *st, struct pypi_client *c,
		      const char *index, const char *extra, const char *links1, const char *links2,
		      enum pypi_strategy strategy)
{
	const char *extras[1] = { extra }, *links[2] = { links1, links2 };
	struct pypi_client_opts o = { 0 };

	o.index_url = index;
	o.extra_index_urls = extras;
	o.nextra = extra ? 1 : 0;
	o.find_links = links;
	o.nfind_links = links2 ? 2 : links1 ? 1 : 0;
	o.no_index = index == NULL;
	o.strategy = strategy;
	memset(c, 0, sizeof *c);	/* freeing it is harmless when init fails */
	return pypi_client_init(ctx, st, &o, c);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the fixture indexes ---------------------------------------------------- */

static const char SPEC_A_HEAD[] =
	"{\"projects\": {\n"
	" \"alpha\": {\"versions\": {\n"
	"   \"1.0\": {\"wheels\": [\"py3-none-any\"]},\n"
	"   \"2.0\": {\"wheels\": [\"py3-none-any\", \"cp311-cp311-manylinux_2_17_x86_64\"],\n"
	"           \"requires_python\": \">=3.8\", \"provides_extra\": [\"fast\"],\n"
	"           \"requires_dist\": [\"beta>=1\", \"gamma; extra == 'fast'\"]}}},\n"
	" \"Beta\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"], \"metadata\": false,\n"
	"                                 \"sdist\": true}}},\n"
	" \"gamma\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"], \"yanked\": \"broken build\"},\n"
	"                          \"1.1\": {\"wheels\": [\"py3-none-any\"], \"metadata\": \"nohash\"}}},\n"
	" \"shared\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"]}}}";

static const char SPEC_B[] =
	"{\"projects\": {\n"
	" \"shared\": {\"versions\": {\"9.0\": {\"wheels\": [\"py3-none-any\"]}}},\n"
	" \"onlyb\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"]}}}}}\n";

static const char SPEC_C[] =
	"{\"projects\": {\n"
	" \"flk\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"], \"sdist\": true,\n"
	"                               \"metadata\": false}}},\n"
	" \"flurl\": {\"versions\": {\"2.0\": {\"wheels\": [\"py3-none-any\"]}}}}}\n";

static int build_fixtures(void)
{
	struct sbuf a = SBUF_INIT;
	char *links = xasprintf("%s/links", work), *cmd;
	int r;

	sbuf_adds(&a, SPEC_A_HEAD);
	for (int i = 0; i < NMANY; i++)
		sbuf_addf(&a, ",\n \"p%02d\": {\"versions\": {\"1.0\": {\"wheels\": [\"py3-none-any\"]}}}", i);
	sbuf_adds(&a, "}}\n");
	r = build_index(a.buf, "a");
	if (r == 0)
		r = build_index(SPEC_B, "b");
	if (r == 0)
		r = build_index(SPEC_C, "c");
	/* a find-links directory: flk's wheel and sdist, and files that are not
	 * distributions */
	mkdir(links, 0755);
	cmd = xasprintf("cp %s/srv/c/files/flk-1.0-py3-none-any.whl %s/srv/c/files/flk-1.0.tar.gz %s/ "
			"&& echo hi >%s/README.txt && echo x >%s/.hidden.whl", work, work, links, links,
			links);
	if (r == 0)
		r = system(cmd);
	free(cmd);
	free(links);
	sbuf_free(&a);
	return r;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_fetch_info(struct pkgimg_ctx *ctx, struct store *st)
{
	char *dir = NULL, *dest, *u = xasprintf("http://127.0.0.1:%d/a/simple/Gamma/", srv_main.port);
	char *vpath, *src = xasprintf("%s/srv/a/files/alpha-1.0-py3-none-any.whl", work);
	char *fu = xasprintf("file://%s", src), sha[65];
	struct fetch_item it = { 0 };
	struct sbuf v = SBUF_INIT;
	int r;

	store_index_dir(ctx, st, "test-fetch-info", &dir);
	dest = xasprintf("%s/gamma", dir);
	vpath = xasprintf("%s.validators", dest);
	it.url = u;
	it.dest = dest;
	it.size = -1;
	it.accept = PYPI_ACCEPT;
	it.response_info = 1;
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.content_type &&
	      !strcmp(it.content_type, "application/vnd.pypi.simple.v1+json"),
	      "fetch: Accept sent, Content-Type returned", "r=%d ct=%s msg=%s", r,
	      it.content_type ? it.content_type : "(null)", ctx->errmsg);
	check(it.effective_url && strstr(it.effective_url, "/a/simple/gamma/"),
	      "fetch: effective_url after a redirect", "eff=%s",
	      it.effective_url ? it.effective_url : "(null)");
	fs_read_file(NULL, AT_FDCWD, vpath, &v);
	check(v.buf && strstr(v.buf, "content-type: application/vnd.pypi.simple.v1+json\n") &&
	      strstr(v.buf, "etag: "), "fetch: Content-Type kept with the validators",
	      "validators=%s", v.buf ? v.buf : "(none)");
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.not_modified && it.http_status == 304 && it.content_type &&
	      !strcmp(it.content_type, "application/vnd.pypi.simple.v1+json") &&
	      it.effective_url && strstr(it.effective_url, "/a/simple/gamma/"),
	      "fetch: a 304 keeps the Content-Type and URL of the cached body",
	      "r=%d nm=%d status=%ld ct=%s", r, it.not_modified, it.http_status,
	      it.content_type ? it.content_type : "(null)");
	fetch_item_release(&it);
	check(!it.content_type && !it.effective_url, "fetch: fetch_item_release clears", "-");

	memset(&it, 0, sizeof it);
	it.url = fu;
	it.dest = dest;
	it.size = -1;
	it.response_info = 1;
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && !it.content_type && it.effective_url && !strcmp(it.effective_url, fu),
	      "fetch: file:// has no Content-Type", "r=%d ct=%s", r,
	      it.content_type ? it.content_type : "(null)");
	fetch_item_release(&it);

	file_sha(src, sha);
	memset(&it, 0, sizeof it);
	it.url = xasprintf("http://127.0.0.1:%d/a/files/alpha-1.0-py3-none-any.whl", srv_main.port);
	it.sha256 = sha;
	it.size = -1;
	it.response_info = 1;
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.content_type && !strcmp(it.content_type, "application/octet-stream"),
	      "fetch: artifact mode reports the Content-Type too", "r=%d ct=%s", r,
	      it.content_type ? it.content_type : "(null)");
	free((char *)it.url);
	fetch_item_release(&it);
	{	/* the blob is there now: alpha 1.0 must stay unfetched for the tamper test */
		char *p = store_blob_path(st, sha);

		unlink(p);
		free(p);
	}
	sbuf_free(&v);
	free(dir);
	free(dest);
	free(vpath);
	free(u);
	free(src);
	free(fu);
}

static void test_json_index(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ia = index_url(&srv_main, "a"), sha[65], msha[65];
	const char *names[] = { "alpha", "Beta", "no-such-project", "gamma" };
	struct pypi_project_files res[4];
	struct pypi_client c;
	const struct pypi_file *f;
	char *path;
	int r;

	r = client_new(ctx, st, &c, ia, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 4, res);
	check(r == 0, "json: lookup of 4 projects", "r=%d msg=%s", r, ctx->errmsg);
	if (r < 0) {
		pypi_client_free(&c);
		free(ia);
		return;
	}
	check(res[0].found && res[0].index == 0 && res[0].page.format == PYPI_FORMAT_JSON &&
	      res[0].page.nfiles == 3 && !strcmp(res[0].name, "alpha"),
	      "json: alpha found on index 0 as a JSON page with 3 files",
	      "found=%d index=%d format=%d nfiles=%zu", res[0].found, res[0].index,
	      res[0].page.format, res[0].page.nfiles);
	check(log_count(&srv_main, "GET /a/simple/alpha/ 200 application/vnd.pypi.simple.v1+json") == 1,
	      "json: the server chose JSON for our Accept header", "log lines: %d",
	      log_count(&srv_main, "GET /a/simple/alpha/ 200"));
	f = find_file(&res[0], "alpha-2.0-py3-none-any.whl", NULL);
	path = xasprintf("%s/srv/a/files/alpha-2.0-py3-none-any.whl", work);
	file_sha(path, sha);
	free(path);
	path = xasprintf("%s/srv/a/files/alpha-2.0-py3-none-any.whl.metadata", work);
	file_sha(path, msha);
	free(path);
	check(f && pypi_hashes_get(&f->hashes, "sha256") &&
	      !strcmp(pypi_hashes_get(&f->hashes, "sha256"), sha),
	      "json: the file's sha256 is the index's", "sha=%s", sha);
	check(f && f->has_metadata && pypi_hashes_get(&f->metadata_hashes, "sha256") &&
	      !strcmp(pypi_hashes_get(&f->metadata_hashes, "sha256"), msha),
	      "json: core-metadata with its sha256", "msha=%s", msha);
	path = xasprintf("http://127.0.0.1:%d/a/files/alpha-2.0-py3-none-any.whl", srv_main.port);
	check(f && !strcmp(f->url, path) && f->requires_python && !strcmp(f->requires_python, ">=3.8"),
	      "json: absolute URL and Requires-Python", "url=%s", f ? f->url : "-");
	free(path);
	check(res[1].found && !strcmp(res[1].name, "beta") && res[1].page.nfiles == 2 &&
	      find_file(&res[1], "beta-1.0.tar.gz", NULL) &&
	      find_file(&res[1], "beta-1.0.tar.gz", NULL)->kind == PYPI_FILE_SDIST &&
	      find_file(&res[1], "Beta-1.0-py3-none-any.whl", NULL) &&
	      !find_file(&res[1], "Beta-1.0-py3-none-any.whl", NULL)->has_metadata,
	      "json: Beta normalised; wheel without metadata and sdist", "found=%d nfiles=%zu",
	      res[1].found, res[1].page.nfiles);
	check(!res[2].found && res[2].index == -1 && res[2].page.nfiles == 0,
	      "404: not found, not an error", "found=%d", res[2].found);
	check(log_count(&srv_main, "GET /a/simple/no-such-project/ 404") == 1,
	      "404: asked once", "n=%d", log_count(&srv_main, "GET /a/simple/no-such-project/ 404"));
	f = find_file(&res[3], "gamma-1.0-py3-none-any.whl", NULL);
	check(f && f->yanked && f->yanked_reason && !strcmp(f->yanked_reason, "broken build"),
	      "json: PEP 592 yanked with its reason", "yanked=%d", f ? f->yanked : -1);
	f = find_file(&res[3], "gamma-1.1-py3-none-any.whl", NULL);
	check(f && f->has_metadata && f->metadata_hashes.n == 0,
	      "json: metadata announced without a hash", "has=%d n=%zu", f ? f->has_metadata : -1,
	      f ? f->metadata_hashes.n : 0);
	free_results(res, 4);

	/* again: every page revalidated with its ETag, and read as JSON still */
	r = pypi_client_lookup(&c, names, 2, res);
	check(r == 0 && log_count(&srv_main, "GET /a/simple/alpha/ 304") == 1 &&
	      log_count(&srv_main, "GET /a/simple/alpha/ 200") == 1,
	      "etag: second lookup is a 304", "r=%d 304s=%d 200s=%d", r,
	      log_count(&srv_main, "GET /a/simple/alpha/ 304"),
	      log_count(&srv_main, "GET /a/simple/alpha/ 200"));
	check(r == 0 && res[0].page.format == PYPI_FORMAT_JSON && res[0].page.nfiles == 3 &&
	      res[1].page.nfiles == 2, "etag: cached page parsed with its saved Content-Type",
	      "format=%d nfiles=%zu", r == 0 ? (int)res[0].page.format : -1,
	      r == 0 ? res[0].page.nfiles : 0);
	if (r == 0)
		free_results(res, 2);

	/* any spelling, and the same project twice: one request */
	{
		const char *dup[] = { "ALPHA", "alpha", "Alpha_" };
		int before = log_count(&srv_main, "GET /a/simple/alpha/");

		r = pypi_client_lookup(&c, dup, 2, res);
		check(r == 0 && res[0].found && res[1].found && res[0].page.nfiles == 3 &&
		      res[1].page.nfiles == 3 && !strcmp(res[0].name, "alpha") &&
		      log_count(&srv_main, "GET /a/simple/alpha/") == before + 1,
		      "names: spellings normalised, duplicates fetched once", "r=%d requests=%d",
		      r, log_count(&srv_main, "GET /a/simple/alpha/") - before);
		if (r == 0)
			free_results(res, 2);
		r = pypi_client_lookup(&c, dup + 2, 1, res);
		check(r == -PKGIMG_E_USAGE && strstr(ctx->errmsg, "Alpha_") &&
		      strstr(ctx->errmsg, "[lock]"), "names: an invalid name is refused",
		      "r=%d msg=%s", r, ctx->errmsg);
	}
	pypi_client_free(&c);
	free(ia);
}

static void test_html_only(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ih = index_url(&srv_html, "a");
	const char *names[] = { "alpha", "gamma" };
	struct pypi_project_files res[2];
	struct pypi_client c;
	const struct pypi_file *f;
	int r;

	r = client_new(ctx, st, &c, ih, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 2, res);
	check(r == 0 && res[0].found && res[0].page.format == PYPI_FORMAT_HTML &&
	      res[0].page.nfiles == 3, "html-only: alpha read from an HTML page",
	      "r=%d format=%d nfiles=%zu msg=%s", r, r == 0 ? (int)res[0].page.format : -1,
	      r == 0 ? res[0].page.nfiles : 0, ctx->errmsg);
	check(log_count(&srv_html, "GET /a/simple/alpha/ 200 application/vnd.pypi.simple.v1+html") == 1,
	      "html-only: the server fell back to HTML (q=0.2)", "n=%d",
	      log_count(&srv_html, "GET /a/simple/alpha/ 200"));
	if (r == 0) {
		f = find_file(&res[0], "alpha-2.0-py3-none-any.whl", NULL);
		check(f && pypi_hashes_get(&f->hashes, "sha256") && f->has_metadata &&
		      pypi_hashes_get(&f->metadata_hashes, "sha256") && f->requires_python,
		      "html-only: #sha256, data-core-metadata, data-requires-python", "f=%p",
		      (const void *)f);
		f = find_file(&res[1], "gamma-1.0-py3-none-any.whl", NULL);
		check(f && f->yanked && !strcmp(f->yanked_reason, "broken build"),
		      "html-only: data-yanked", "f=%p", (const void *)f);
		free_results(res, 2);
	}
	r = pypi_client_lookup(&c, names, 1, res);
	check(r == 0 && log_count(&srv_html, "GET /a/simple/alpha/ 304") == 1 &&
	      res[0].page.format == PYPI_FORMAT_HTML && res[0].page.nfiles == 3,
	      "html-only: 304 and still read as HTML", "r=%d", r);
	if (r == 0)
		free_results(res, 1);
	pypi_client_free(&c);
	free(ih);
}

static void test_strategies(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ia = index_url(&srv_main, "a"), *ib = index_url(&srv_main, "b");
	const char *names[] = { "shared", "onlyb", "alpha", "no-such-project" };
	struct pypi_project_files res[4];
	struct pypi_client c;
	int r;

	r = client_new(ctx, st, &c, ia, ib, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 4, res);
	check(r == 0, "first-index: lookup", "r=%d msg=%s", r, ctx->errmsg);
	if (r == 0) {
		check(res[0].found && res[0].index == 0 && all_from(&res[0], 0) &&
		      has_version(&res[0], "1.0") && !has_version(&res[0], "9.0"),
		      "first-index: shared taken from index 1 only, though index 2 has 9.0",
		      "index=%d nfiles=%zu", res[0].index, res[0].page.nfiles);
		check(log_count(&srv_main, "GET /b/simple/shared/") == 0 &&
		      log_count(&srv_main, "GET /b/simple/alpha/") == 0,
		      "first-index: index 2 never asked for what index 1 has", "shared=%d alpha=%d",
		      log_count(&srv_main, "GET /b/simple/shared/"),
		      log_count(&srv_main, "GET /b/simple/alpha/"));
		check(res[1].found && res[1].index == 1 && all_from(&res[1], 1) &&
		      log_count(&srv_main, "GET /a/simple/onlyb/ 404") == 1 &&
		      log_count(&srv_main, "GET /b/simple/onlyb/ 200") == 1,
		      "first-index: onlyb from index 2 after a 404 on index 1", "index=%d",
		      res[1].index);
		check(!res[3].found && log_count(&srv_main, "GET /b/simple/no-such-project/ 404") == 1,
		      "first-index: missing everywhere is not found", "found=%d", res[3].found);
		free_results(res, 4);
	}
	pypi_client_free(&c);

	r = client_new(ctx, st, &c, ia, ib, NULL, NULL, PYPI_UNSAFE_BEST_MATCH);
	r = r ? r : pypi_client_lookup(&c, names, 2, res);
	check(r == 0 && res[0].found && has_version(&res[0], "1.0") && has_version(&res[0], "9.0") &&
	      res[0].index == 0, "unsafe-best-match: shared merged from both indexes",
	      "r=%d nfiles=%zu", r, r == 0 ? res[0].page.nfiles : 0);
	if (r == 0) {
		size_t s1 = 9, s9 = 9;

		find_file(&res[0], "shared-1.0-py3-none-any.whl", &s1);
		find_file(&res[0], "shared-9.0-py3-none-any.whl", &s9);
		check(s1 == 0 && s9 == 1 && log_count(&srv_main, "GET /b/simple/shared/ 200") == 1,
		      "unsafe-best-match: each file knows its index", "s1=%zu s9=%zu", s1, s9);
		free_results(res, 2);
	}
	pypi_client_free(&c);
	free(ia);
	free(ib);
}

/* The digests of a find-links directory are cached by size, mtime and
 * inode: a planted digest is believed while the file is unchanged, and
 * recomputed once it is touched. */
static void test_links_hash_cache(struct pkgimg_ctx *ctx, struct store *st,
				  const struct pypi_client *c, const char *dir)
{
	const char *fake = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
	const char *names[] = { "flk" };
	char *cache = xasprintf("%s/hashes", c->src[0].cache_dir), *whl, sha[65], *at;
	struct pypi_project_files res[1];
	struct sbuf sb = SBUF_INIT;
	const struct pypi_file *f;
	struct pypi_client c2;
	int r;

	whl = xasprintf("%s/flk-1.0-py3-none-any.whl", dir);
	file_sha(whl, sha);
	fs_read_file(NULL, AT_FDCWD, cache, &sb);
	at = sb.buf ? strstr(sb.buf, sha) : NULL;
	check(at != NULL, "find-links dir: digests cached in the store", "cache=%s",
	      sb.buf ? sb.buf : "(none)");
	if (!at)
		goto out;
	memcpy(at, fake, 64);
	fs_write_file(NULL, AT_FDCWD, cache, sb.buf, sb.len, 0644);
	r = client_new(ctx, st, &c2, NULL, NULL, dir, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c2, names, 1, res);
	f = r == 0 ? find_file(&res[0], "flk-1.0-py3-none-any.whl", NULL) : NULL;
	check(f && !strcmp(pypi_hashes_get(&f->hashes, "sha256"), fake),
	      "find-links dir: an unchanged file is not hashed again", "r=%d", r);
	if (r == 0)
		free_results(res, 1);
	pypi_client_free(&c2);
	utimensat(AT_FDCWD, whl, (struct timespec[2]){ { 0, UTIME_NOW }, { 1000000, 0 } }, 0);
	r = client_new(ctx, st, &c2, NULL, NULL, dir, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c2, names, 1, res);
	f = r == 0 ? find_file(&res[0], "flk-1.0-py3-none-any.whl", NULL) : NULL;
	check(f && !strcmp(pypi_hashes_get(&f->hashes, "sha256"), sha),
	      "find-links dir: a changed file is hashed again", "r=%d", r);
	if (r == 0)
		free_results(res, 1);
	pypi_client_free(&c2);
out:
	sbuf_free(&sb);
	free(cache);
	free(whl);
}

static void test_find_links(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ia = index_url(&srv_main, "a"), *dir = xasprintf("%s/links", work);
	char *page = xasprintf("http://127.0.0.1:%d/c/files/", srv_main.port), sha[65], *p;
	const char *names[] = { "flk", "flurl", "alpha" };
	struct pypi_project_files res[3];
	struct pypi_client c;
	const struct pypi_file *f;
	size_t src = 99;
	int r;

	r = client_new(ctx, st, &c, ia, NULL, dir, page, PYPI_FIRST_INDEX);
	check(r == 0 && c.nsrc == 3 && c.nindex == 1 && c.src[1].kind == PYPI_SRC_LINKS_DIR &&
	      c.src[2].kind == PYPI_SRC_LINKS_PAGE, "find-links: a directory and a page",
	      "r=%d nsrc=%zu msg=%s", r, c.nsrc, ctx->errmsg);
	if (r < 0)
		goto out;
	r = pypi_client_lookup(&c, names, 3, res);
	check(r == 0, "find-links: lookup", "r=%d msg=%s", r, ctx->errmsg);
	if (r < 0)
		goto out_client;
	f = find_file(&res[0], "flk-1.0-py3-none-any.whl", &src);
	p = xasprintf("%s/flk-1.0-py3-none-any.whl", dir);
	file_sha(p, sha);
	free(p);
	check(res[0].found && res[0].index == -1 && f && src == 1 && !strncmp(f->url, "file://", 7) &&
	      pypi_hashes_get(&f->hashes, "sha256") &&
	      !strcmp(pypi_hashes_get(&f->hashes, "sha256"), sha),
	      "find-links dir: wheel listed with its sha256 computed", "found=%d src=%zu url=%s",
	      res[0].found, src, f ? f->url : "-");
	f = find_file(&res[0], "flk-1.0.tar.gz", &src);
	check(f && f->kind == PYPI_FILE_SDIST && src == 1, "find-links dir: sdist listed",
	      "f=%p", (const void *)f);
	check(res[0].page.nfiles == 4 && find_file(&res[0], "flk-1.0-py3-none-any.whl", NULL),
	      "find-links: dir and page both contribute (2 + 2 files)", "nfiles=%zu",
	      res[0].page.nfiles);
	src = 99;
	f = find_file(&res[1], "flurl-2.0-py3-none-any.whl", &src);
	check(res[1].found && f && src == 2 && !strncmp(f->url, "http://", 7) && f->has_metadata,
	      "find-links page: flurl from the URL's page", "found=%d src=%zu", res[1].found, src);
	check(res[2].found && res[2].index == 0 && all_from(&res[2], 0),
	      "find-links: index projects unaffected", "index=%d", res[2].index);
	free_results(res, 3);
	r = pypi_client_lookup(&c, names, 1, res);
	check(r == 0 && log_count(&srv_main, "GET /c/files/ 200") == 1,
	      "find-links page: read once per client", "r=%d n=%d", r,
	      log_count(&srv_main, "GET /c/files/"));
	if (r == 0)
		free_results(res, 1);
	{	/* a wheel from the directory has no metadata file: the wheel itself */
		struct pypi_meta m;

		r = pypi_client_lookup(&c, names, 1, res);
		f = r == 0 ? find_file(&res[0], "flk-1.0-py3-none-any.whl", NULL) : NULL;
		r = f ? pypi_client_metadata(&c, &f, 1, &m) : -1;
		p = xasprintf("%s/flk-1.0-py3-none-any.whl", dir);
		check(r == 0 && m.from_wheel && m.verified && same_content(m.path, p),
		      "find-links dir: wheel copied into the store, verified", "r=%d msg=%s", r,
		      ctx->errmsg);
		free(p);
		if (r == 0)
			pypi_meta_free(&m);
		if (f)
			free_results(res, 1);
	}
out_client:
	pypi_client_free(&c);

	r = client_new(ctx, st, &c, NULL, NULL, dir, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 3, res);
	check(r == 0 && c.nindex == 0 && res[0].found && res[0].page.nfiles == 2 && !res[1].found &&
	      !res[2].found, "--no-index: find-links only", "r=%d msg=%s", r, ctx->errmsg);
	if (r == 0)
		free_results(res, 3);
	test_links_hash_cache(ctx, st, &c, dir);
	pypi_client_free(&c);
out:
	free(ia);
	free(dir);
	free(page);
}

static void test_metadata(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ia = index_url(&srv_main, "a"), *p, *q;
	const char *names[] = { "alpha", "Beta", "gamma" };
	struct pypi_project_files res[3];
	const struct pypi_file *files[4];
	struct pypi_meta m[4];
	struct pypi_client c;
	int r, before;

	r = client_new(ctx, st, &c, ia, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 3, res);
	check(r == 0, "metadata: lookup", "r=%d msg=%s", r, ctx->errmsg);
	if (r < 0) {
		free(ia);
		return;
	}
	files[0] = find_file(&res[0], "alpha-2.0-py3-none-any.whl", NULL);
	files[1] = find_file(&res[0], "alpha-2.0-cp311-cp311-manylinux_2_17_x86_64.whl", NULL);
	files[2] = find_file(&res[2], "gamma-1.1-py3-none-any.whl", NULL);
	files[3] = find_file(&res[1], "Beta-1.0-py3-none-any.whl", NULL);
	r = files[0] && files[1] && files[2] && files[3] ? pypi_client_metadata(&c, files, 4, m) : -1;
	check(r == 0, "metadata: 4 files in one call", "r=%d msg=%s", r, ctx->errmsg);
	if (r == 0) {
		p = xasprintf("%s/srv/a/files/alpha-2.0-py3-none-any.whl.metadata", work);
		q = store_blob_path(st, pypi_hashes_get(&files[0]->metadata_hashes, "sha256"));
		check(!m[0].from_wheel && m[0].verified && !strcmp(m[0].path, q) &&
		      same_content(m[0].path, p), "metadata: .metadata verified into the blob store",
		      "path=%s", m[0].path);
		free(p);
		free(q);
		check(log_count(&srv_main, "GET /a/files/alpha-2.0-py3-none-any.whl.metadata 200") == 1 &&
		      log_count(&srv_main, "GET /a/files/alpha-2.0-py3-none-any.whl ") == 0,
		      "metadata: only METADATA fetched, not the wheel", "-");
		p = xasprintf("%s/srv/a/files/gamma-1.1-py3-none-any.whl.metadata", work);
		check(!m[2].from_wheel && !m[2].verified && strstr(m[2].path, "/index/pypi-metadata/") &&
		      strstr(m[2].path, pypi_hashes_get(&files[2]->hashes, "sha256")) &&
		      same_content(m[2].path, p),
		      "metadata: without a hash, kept by the file's sha256", "path=%s", m[2].path);
		free(p);
		p = xasprintf("%s/srv/a/files/Beta-1.0-py3-none-any.whl", work);
		q = store_blob_path(st, pypi_hashes_get(&files[3]->hashes, "sha256"));
		check(m[3].from_wheel && m[3].verified && !strcmp(m[3].path, q) &&
		      same_content(m[3].path, p) &&
		      log_count(&srv_main, "GET /a/files/Beta-1.0-py3-none-any.whl 200") == 1 &&
		      log_count(&srv_main, "GET /a/files/Beta-1.0-py3-none-any.whl.metadata") == 0,
		      "metadata: no .metadata -> the wheel downloaded, path returned", "path=%s",
		      m[3].path);
		free(p);
		free(q);
		for (int i = 0; i < 4; i++)
			pypi_meta_free(&m[i]);
	}
	before = log_lines(&srv_main);
	r = files[0] ? pypi_client_metadata(&c, files, 4, m) : -1;
	check(r == 0 && log_lines(&srv_main) == before, "metadata: second call uses the cache",
	      "r=%d requests=%d", r, log_lines(&srv_main) - before);
	if (r == 0)
		for (int i = 0; i < 4; i++)
			pypi_meta_free(&m[i]);

	files[0] = find_file(&res[1], "beta-1.0.tar.gz", NULL);
	r = files[0] ? pypi_client_metadata(&c, files, 1, m) : -1;
	check(r == -PKGIMG_E_USAGE && strstr(ctx->errmsg, "sdist") && strstr(ctx->errmsg, "[lock]"),
	      "metadata: an sdist without metadata is refused", "r=%d msg=%s", r, ctx->errmsg);

	/* the served .metadata no longer matches the page's hash */
	p = xasprintf("%s/srv/a/files/alpha-1.0-py3-none-any.whl.metadata", work);
	write_text(p, "Metadata-Version: 2.1\nName: alpha\nVersion: 6.6.6\nRequires-Dist: evil\n");
	files[0] = find_file(&res[0], "alpha-1.0-py3-none-any.whl", NULL);
	{
		char actual[65], *u = xasprintf("%s.metadata", files[0] ? files[0]->url : "");
		const char *want = files[0] ? pypi_hashes_get(&files[0]->metadata_hashes, "sha256") : "";

		file_sha(p, actual);
		r = files[0] ? pypi_client_metadata(&c, files, 1, m) : -1;
		check(r == -PKGIMG_E_CHECKSUM && strstr(ctx->errmsg, u) && want &&
		      strstr(ctx->errmsg, want) && strstr(ctx->errmsg, actual) &&
		      strstr(ctx->errmsg, "[lock]") && strstr(ctx->errmsg, "alpha 1.0"),
		      "metadata: tampered .metadata -> error naming URL, expected, actual",
		      "r=%d msg=%s", r, ctx->errmsg);
		q = want ? store_blob_path(st, want) : xstrdup("");
		check(!store_has_blob(st, want ? want : "") && !store_has_blob(st, actual),
		      "metadata: nothing of it kept", "%s", q);
		free(q);
		free(u);
	}
	free(p);
	free_results(res, 3);
	pypi_client_free(&c);
	free(ia);
}

static void test_offline(struct pkgimg_ctx *ctx, struct store *st)
{
	char *ia = index_url(&srv_main, "a"), *ib = index_url(&srv_main, "b");
	const char *names[] = { "alpha", "shared", "onlyb", "no-such-project" };
	const char *never[] = { "p07" };
	struct pypi_project_files res[4];
	const struct pypi_file *f;
	struct pypi_client c;
	struct pypi_meta m;
	int r, before = log_lines(&srv_main);

	ctx->flags |= PKGIMG_F_OFFLINE;
	r = client_new(ctx, st, &c, ia, ib, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 4, res);
	check(r == 0 && log_lines(&srv_main) == before, "offline: lookup from the cache alone",
	      "r=%d requests=%d msg=%s", r, log_lines(&srv_main) - before, ctx->errmsg);
	if (r == 0) {
		check(res[0].found && res[0].page.format == PYPI_FORMAT_JSON && res[0].page.nfiles == 3,
		      "offline: cached page read with its Content-Type", "format=%d",
		      res[0].page.format);
		check(res[1].index == 0 && !has_version(&res[1], "9.0") && res[2].index == 1,
		      "offline: first-index answers as online", "shared=%d onlyb=%d", res[1].index,
		      res[2].index);
		check(!res[3].found, "offline: a remembered 404 is still not found", "found=%d",
		      res[3].found);
		f = find_file(&res[0], "alpha-2.0-py3-none-any.whl", NULL);
		r = f ? pypi_client_metadata(&c, &f, 1, &m) : -1;
		check(r == 0 && !m.from_wheel && log_lines(&srv_main) == before,
		      "offline: cached metadata", "r=%d msg=%s", r, ctx->errmsg);
		if (r == 0)
			pypi_meta_free(&m);
		f = find_file(&res[1], "shared-1.0-py3-none-any.whl", NULL);
		r = f ? pypi_client_metadata(&c, &f, 1, &m) : -1;
		check(r == -PKGIMG_E_OFFLINE && strstr(ctx->errmsg, "shared") &&
		      log_lines(&srv_main) == before, "offline: uncached metadata refused",
		      "r=%d msg=%s", r, ctx->errmsg);
		free_results(res, 4);
	}
	r = pypi_client_lookup(&c, never, 1, res);
	check(r == -PKGIMG_E_OFFLINE && strstr(ctx->errmsg, "p07") && strstr(ctx->errmsg, ia) &&
	      strstr(ctx->errmsg, "--offline") && log_lines(&srv_main) == before,
	      "offline: a project never looked up is an error naming it", "r=%d msg=%s", r,
	      ctx->errmsg);
	pypi_client_free(&c);
	ctx->flags &= ~PKGIMG_F_OFFLINE;
	free(ia);
	free(ib);
}

static void test_parallel(struct pkgimg_ctx *ctx, struct store *st)
{
	char *is = index_url(&srv_slow, "a"), names_buf[NMANY][16];
	const char *names[NMANY];
	struct pypi_project_files res[NMANY];
	struct pypi_client c;
	double t0;
	int r, found = 0;

	for (int i = 0; i < NMANY; i++) {
		snprintf(names_buf[i], sizeof names_buf[i], "p%02d", i);
		names[i] = names_buf[i];
	}
	ctx->jobs = 8;
	r = client_new(ctx, st, &c, is, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	t0 = mono();
	r = r ? r : pypi_client_lookup(&c, names, NMANY, res);
	t0 = mono() - t0;
	for (int i = 0; r == 0 && i < NMANY; i++)
		found += res[i].found && res[i].page.nfiles == 1;
	check(r == 0 && found == NMANY, "parallel: 30 projects in one lookup", "r=%d found=%d msg=%s",
	      r, found, ctx->errmsg);
	/* 30 pages at 300 ms each: 9 s one by one, ~1.2 s eight at a time.
	 * The bounds leave room for a loaded 2-core machine: two requests in
	 * flight at once already prove the batch is not serial. */
	check(log_max_active(&srv_slow) >= 2 && log_max_active(&srv_slow) <= 8 && t0 < 6.0,
	      "parallel: pages fetched concurrently, at most ctx->jobs at once",
	      "max active %d, %.2fs", log_max_active(&srv_slow), t0);
	if (r == 0)
		free_results(res, NMANY);
	pypi_client_free(&c);
	free(is);
}

static void test_errors(struct pkgimg_ctx *ctx, struct store *st)
{
	const char *names[] = { "alpha" };
	struct pypi_project_files res[1];
	struct pypi_client c;
	char *it = index_url(&srv_text, "a"), *dead;
	int r, fd, port;

	r = client_new(ctx, st, &c, it, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 1, res);
	check(r == -PKGIMG_E_PARSE && strstr(ctx->errmsg, "alpha: [lock]") && strstr(ctx->errmsg, it) &&
	      strstr(ctx->errmsg, "text/plain") && strstr(ctx->errmsg, "neither"),
	      "errors: 200 with neither JSON nor HTML names index, project, type", "r=%d msg=%s",
	      r, ctx->errmsg);
	if (r == 0)
		free_results(res, 1);
	pypi_client_free(&c);

	/* a port nobody listens on */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	{
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t al = sizeof a;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		bind(fd, (struct sockaddr *)&a, sizeof a);
		getsockname(fd, (struct sockaddr *)&a, &al);
		port = ntohs(a.sin_port);
	}
	close(fd);
	dead = xasprintf("http://127.0.0.1:%d/simple/", port);
	r = client_new(ctx, st, &c, dead, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 1, res);
	check(r == -PKGIMG_E_NET && strstr(ctx->errmsg, "alpha: [lock] index") &&
	      strstr(ctx->errmsg, dead) && strstr(ctx->errmsg, "check the network"),
	      "errors: unreachable index names it, the project and the fix", "r=%d msg=%s", r,
	      ctx->errmsg);
	if (r == 0)
		free_results(res, 1);
	pypi_client_free(&c);
	free(dead);

	r = client_new(ctx, st, &c, "ftp://example.org/simple", NULL, NULL, NULL, PYPI_FIRST_INDEX);
	check(r == -PKGIMG_E_USAGE && strstr(ctx->errmsg, "--index-url ftp://example.org/simple"),
	      "errors: an index that is not http(s)/file", "r=%d msg=%s", r, ctx->errmsg);
	r = client_new(ctx, st, &c, "https://pypi.org/simple", NULL, "/nonexistent/pkgimg-links",
		       NULL, PYPI_FIRST_INDEX);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "--find-links /nonexistent/pkgimg-links"),
	      "errors: a find-links directory that does not exist", "r=%d msg=%s", r, ctx->errmsg);
	{	/* a find-links page that is gone */
		char *gone = xasprintf("http://127.0.0.1:%d/c/nothing.html", srv_main.port);

		r = client_new(ctx, st, &c, NULL, NULL, gone, NULL, PYPI_FIRST_INDEX);
		r = r ? r : pypi_client_lookup(&c, names, 1, res);
		check(r == -PKGIMG_E_HTTP && strstr(ctx->errmsg, "--find-links") &&
		      strstr(ctx->errmsg, gone) && strstr(ctx->errmsg, "404"),
		      "errors: a find-links page that is 404", "r=%d msg=%s", r, ctx->errmsg);
		if (r == 0)
			free_results(res, 1);
		pypi_client_free(&c);
		free(gone);
	}
	free(it);
}

static void test_defaults(struct pkgimg_ctx *ctx, struct store *st)
{
	struct pypi_client c;
	int r;

	setenv(PYPI_INDEX_ENV, "http://mirror.example/pypi/simple", 1);
	{
		const char *extra[] = { "http://extra.example/simple/" };
		struct pypi_client_opts o = { 0 };

		o.extra_index_urls = extra;
		o.nextra = 1;
		r = pypi_client_init(ctx, st, &o, &c);
		check(r == 0 && c.nindex == 2 && !strcmp(c.src[0].url, "http://mirror.example/pypi/simple/") &&
		      !strcmp(c.src[1].url, "http://extra.example/simple/"),
		      "defaults: $PKGIMG_INDEX_URL first, then the extra index", "r=%d src0=%s", r,
		      r == 0 ? c.src[0].url : "-");
		if (r == 0)
			pypi_client_free(&c);
		unsetenv(PYPI_INDEX_ENV);
		r = pypi_client_init(ctx, st, &o, &c);
		check(r == 0 && c.nindex == 2 && !strcmp(c.src[0].url, PYPI_DEFAULT_INDEX) &&
		      c.strategy == PYPI_FIRST_INDEX, "defaults: PyPI, first-index", "r=%d src0=%s",
		      r, r == 0 ? c.src[0].url : "-");
		if (r == 0)
			pypi_client_free(&c);
	}
}

static void test_file_index(struct pkgimg_ctx *ctx, struct store *st)
{
	char *fi = xasprintf("file://%s/srv/a/simple", work);
	const char *names[] = { "alpha", "no-such-project" };
	struct pypi_project_files res[2];
	struct pypi_client c;
	int r;

	r = client_new(ctx, st, &c, fi, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, names, 2, res);
	check(r == 0 && res[0].found && res[0].page.format == PYPI_FORMAT_HTML &&
	      res[0].page.nfiles == 3 && !strncmp(res[0].page.files[0].url, "file://", 7) &&
	      !res[1].found, "file:// index: pages read as HTML, missing project not found",
	      "r=%d msg=%s", r, ctx->errmsg);
	if (r == 0)
		free_results(res, 2);
	pypi_client_free(&c);
	free(fi);
}

/* The real torch 2.2.1 closure (22 projects) as stand-ins. */
static void test_torch_closure(struct pkgimg_ctx *ctx, struct store *st)
{
	static const char *const closure[] = {
		"filelock", "fsspec", "jinja2", "markupsafe", "mpmath", "networkx",
		"nvidia-cublas-cu12", "nvidia-cuda-cupti-cu12", "nvidia-cuda-nvrtc-cu12",
		"nvidia-cuda-runtime-cu12", "nvidia-cudnn-cu12", "nvidia-cufft-cu12",
		"nvidia-curand-cu12", "nvidia-cusolver-cu12", "nvidia-cusparse-cu12",
		"nvidia-nccl-cu12", "nvidia-nvjitlink-cu12", "nvidia-nvtx-cu12", "sympy", "torch",
		"triton", "typing-extensions",
	};
	enum { N = sizeof closure / sizeof closure[0] };
	char *data = xasprintf("%s/tests/fixtures/pypi/torch-closure", srcdir);
	char *script = xasprintf("%s/tests/fixtures/pypi_fixture.py", srcdir);
	char *out = xasprintf("%s/srv/torch", work), *meta, *it = index_url(&srv_main, "torch");
	char *argv[] = { "python3", script, "torch-closure", out, "--data", data, NULL };
	struct pypi_project_files res[N];
	const struct pypi_file *f = NULL;
	struct pypi_client c;
	struct pypi_meta m;
	int r, found = 0;
	struct stat sb;

	meta = xasprintf("%s/torch-2.2.1.dist-info_METADATA.headers.txt", data);
	if (stat(meta, &sb) < 0) {
		printf("skip - torch closure: %s not here\n", data);
		goto out;
	}
	r = run_quiet(argv);
	check(r == 0, "torch closure: fixture built from the real data", "status %d", r);
	r = client_new(ctx, st, &c, it, NULL, NULL, NULL, PYPI_FIRST_INDEX);
	r = r ? r : pypi_client_lookup(&c, (const char *const *)closure, N, res);
	for (int i = 0; r == 0 && i < N; i++)
		found += res[i].found;
	check(r == 0 && found == N, "torch closure: all 22 projects in one lookup",
	      "r=%d found=%d msg=%s", r, found, ctx->errmsg);
	if (r == 0) {
		f = find_file(&res[19], "torch-2.2.1-cp311-cp311-manylinux1_x86_64.whl", NULL);
		check(res[19].page.nfiles == 15 && f && f->has_metadata,
		      "torch closure: torch 2.2.1 with its 15 real wheel names", "nfiles=%zu",
		      res[19].page.nfiles);
		r = f ? pypi_client_metadata(&c, &f, 1, &m) : -1;
		check(r == 0 && same_content(m.path, meta),
		      "torch closure: the .metadata is torch's real METADATA", "r=%d msg=%s", r,
		      ctx->errmsg);
		if (r == 0)
			pypi_meta_free(&m);
		free_results(res, N);
	}
	pypi_client_free(&c);
out:
	free(meta);
	free(data);
	free(script);
	free(out);
	free(it);
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	char *root;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the servers are local: keep a CI proxy out of the way */
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	unsetenv(PYPI_INDEX_ENV);
	srcdir = getenv("PKGIMG_SRC") ? getenv("PKGIMG_SRC") : ".";
	if (!mkdtemp(work) || build_fixtures() != 0) {
		printf("not ok - setup\n# cannot build the fixture indexes (python3 %s/tests/fixtures/"
		       "pypi_fixture.py)\n", srcdir);
		return 1;
	}
	if (server_start(&srv_main, "main", NULL, NULL) < 0 ||
	    server_start(&srv_html, "html", "--html-only", NULL) < 0 ||
	    server_start(&srv_text, "text", "--force-content-type", "text/plain") < 0 ||
	    server_start(&srv_slow, "slow", "--delay-ms", "300") < 0) {
		printf("not ok - setup\n# cannot start pypi_server.py: %s\n", strerror(errno));
		return 1;
	}
	fetch_global_init();
	pkgimg_ctx_init(&ctx);
	root = xasprintf("%s/store", work);
	if (store_open(&ctx, root, &st) < 0) {
		printf("not ok - setup\n# %s\n", ctx.errmsg);
		return 1;
	}
	test_fetch_info(&ctx, &st);
	test_json_index(&ctx, &st);
	test_html_only(&ctx, &st);
	test_strategies(&ctx, &st);
	test_find_links(&ctx, &st);
	test_metadata(&ctx, &st);
	test_offline(&ctx, &st);
	test_parallel(&ctx, &st);
	test_errors(&ctx, &st);
	test_defaults(&ctx, &st);
	test_file_index(&ctx, &st);
	test_torch_closure(&ctx, &st);

	store_close(&st);
	server_stop(&srv_main);
	server_stop(&srv_html);
	server_stop(&srv_text);
	server_stop(&srv_slow);
	fetch_global_cleanup();
	fs_rm_rf(NULL, AT_FDCWD, work);
	free(root);
	printf("# %d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
