/* cache/fetch.c against a small HTTP/1.1 server started by the test itself on
 * 127.0.0.1 (a forked child; one grandchild per connection).  Prints
 * "ok - NAME" / "not ok - NAME" (+ "# detail") lines; exits non-zero on a
 * failure. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
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
#include "tests/unit/check.h"

#define NHITS 64
#define BIG_LEN (256 * 1024)
#define SLOW_CHUNKS 20
#define SLOW_CHUNK 1000

static const char FIXED[] = "hello from the pkgimg test server\n";

struct shared {
	int hits[NHITS];	/* per-path request counters */
	int conc, max_conc;	/* concurrent /blob/ requests */
	char last_ua[128];
};

static struct shared *sh;
static int port;
static pid_t server_pid;
static char *big;

/* ---- the server ------------------------------------------------------- */

static void big_fill(void)
{
	big = xmalloc(BIG_LEN);
	for (int i = 0; i < BIG_LEN; i++)
		big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
}

static void blob_body(int i, struct sbuf *sb)
{
	for (int k = 0; k < 100; k++)
		sbuf_addf(sb, "blob %d line %d\n", i, k);
}

static void send_all(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n) {
		ssize_t w = write(fd, c, n);

		if (w <= 0)
			return;
		c += w;
		n -= (size_t)w;
	}
}

static void respond(int fd, int status, const char *reason, const char *extra,
		    const void *body, size_t len)
{
	char head[1024];
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n%s\r\n", status, reason, len, extra ? extra : "");

	send_all(fd, head, (size_t)n);
	if (len)
		send_all(fd, body, len);
}

static char *req_header(const char *req, const char *name)
{
	size_t k = strlen(name);

	for (const char *p = strstr(req, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
		const char *l = p + 2;

		if (!strncasecmp(l, name, k) && l[k] == ':') {
			const char *v = l + k + 1, *e;

			while (*v == ' ')
				v++;
			e = strstr(v, "\r\n");
			return xstrndup(v, e ? (size_t)(e - v) : strlen(v));
		}
	}
	return NULL;
}

static void handle(int fd)
{
	char req[8192], path[1024];
	size_t n = 0;
	int k;

	while (n < sizeof req - 1) {
		ssize_t r = read(fd, req + n, sizeof req - 1 - n);

		if (r <= 0)
			return;
		n += (size_t)r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	if (sscanf(req, "GET %1023s", path) != 1) {
		respond(fd, 400, "Bad Request", NULL, "", 0);
		return;
	}
	{
		char *ua = req_header(req, "User-Agent");

		if (ua) {
			snprintf(sh->last_ua, sizeof sh->last_ua, "%s", ua);
			free(ua);
		}
	}
	if (!strcmp(path, "/fixed")) {
		respond(fd, 200, "OK", NULL, FIXED, strlen(FIXED));
	} else if (!strcmp(path, "/count")) {
		__atomic_fetch_add(&sh->hits[0], 1, __ATOMIC_SEQ_CST);
		respond(fd, 200, "OK", NULL, FIXED, strlen(FIXED));
	} else if (sscanf(path, "/flaky/%d", &k) == 1 && k > 0 && k < NHITS) {
		if (__atomic_add_fetch(&sh->hits[k], 1, __ATOMIC_SEQ_CST) == 1)
			respond(fd, 500, "Internal Server Error", NULL, "oops\n", 5);
		else
			respond(fd, 200, "OK", NULL, FIXED, strlen(FIXED));
	} else if (sscanf(path, "/always500/%d", &k) == 1 && k > 0 && k < NHITS) {
		__atomic_add_fetch(&sh->hits[k], 1, __ATOMIC_SEQ_CST);
		respond(fd, 503, "Service Unavailable", NULL, "down\n", 5);
	} else if (sscanf(path, "/partial/%d", &k) == 1 && k > 0 && k < NHITS) {
		if (__atomic_add_fetch(&sh->hits[k], 1, __ATOMIC_SEQ_CST) == 1) {
			char head[256];
			int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
					  "Connection: close\r\n\r\n", BIG_LEN);

			send_all(fd, head, (size_t)hn);
			send_all(fd, big, BIG_LEN / 2);	/* then hang up */
		} else {
			respond(fd, 200, "OK", NULL, big, BIG_LEN);
		}
	} else if (!strcmp(path, "/big")) {
		respond(fd, 200, "OK", NULL, big, BIG_LEN);
	} else if (!strcmp(path, "/missing")) {
		respond(fd, 404, "Not Found", NULL, "no\n", 3);
	} else if (!strcmp(path, "/etag")) {
		char *inm = req_header(req, "If-None-Match");

		__atomic_fetch_add(&sh->hits[1], 1, __ATOMIC_SEQ_CST);
		if (inm && !strcmp(inm, "\"v1\""))
			respond(fd, 304, "Not Modified", "ETag: \"v1\"\r\n", "", 0);
		else
			respond(fd, 200, "OK", "ETag: \"v1\"\r\n"
				"Last-Modified: Tue, 02 Jan 2024 03:04:05 GMT\r\n", "index-v1\n", 9);
		free(inm);
	} else if (!strcmp(path, "/redirect")) {
		respond(fd, 302, "Found", "Location: /fixed\r\n", "", 0);
	} else if (!strcmp(path, "/slow")) {
		char head[256], chunk[SLOW_CHUNK];
		int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n"
				  "Connection: close\r\n\r\n", SLOW_CHUNKS * SLOW_CHUNK);

		memset(chunk, 's', sizeof chunk);
		send_all(fd, head, (size_t)hn);
		for (int i = 0; i < SLOW_CHUNKS; i++) {
			send_all(fd, chunk, sizeof chunk);
			usleep(50 * 1000);
		}
	} else if (sscanf(path, "/blob/%d", &k) == 1) {
		struct sbuf sb = SBUF_INIT;
		int c = __atomic_add_fetch(&sh->conc, 1, __ATOMIC_SEQ_CST), m;

		while ((m = __atomic_load_n(&sh->max_conc, __ATOMIC_SEQ_CST)) < c &&
		       !__atomic_compare_exchange_n(&sh->max_conc, &m, c, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST))
			;
		usleep(150 * 1000);
		blob_body(k, &sb);
		__atomic_sub_fetch(&sh->conc, 1, __ATOMIC_SEQ_CST);
		respond(fd, 200, "OK", NULL, sb.buf, sb.len);
		sbuf_free(&sb);
	} else {
		respond(fd, 404, "Not Found", NULL, "", 0);
	}
}

static int server_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	int one = 1, lfd;

	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	memset(sh, 0, sizeof *sh);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
	    getsockname(lfd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	port = ntohs(a.sin_port);
	server_pid = fork();
	if (server_pid < 0)
		return -1;
	if (server_pid == 0) {
		setpgid(0, 0);
		signal(SIGCHLD, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		for (;;) {
			int c = accept(lfd, NULL, NULL);

			if (c < 0)
				continue;
			if (fork() == 0) {
				close(lfd);
				handle(c);
				shutdown(c, SHUT_WR);
				close(c);
				_exit(0);
			}
			close(c);
		}
	}
	setpgid(server_pid, server_pid);
	close(lfd);
	return 0;
}

static void server_stop(void)
{
	if (server_pid > 0) {
		kill(-server_pid, SIGKILL);
		kill(server_pid, SIGKILL);
		waitpid(server_pid, NULL, 0);
	}
}

/* ---- helpers ---------------------------------------------------------- */

static char *url(const char *path)
{
	return xasprintf("http://127.0.0.1:%d%s", port, path);
}

static int count_entries(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static bool file_equals(const char *path, const void *data, size_t len)
{
	struct sbuf sb = SBUF_INIT;
	bool ok = fs_read_file(NULL, AT_FDCWD, path, &sb) == 0 && sb.len == len &&
		  !memcmp(sb.buf, data, len);

	sbuf_free(&sb);
	return ok;
}

static struct fetch_item artifact(const char *u, const char *sha, int64_t size)
{
	struct fetch_item it = { 0 };

	it.url = u;
	it.sha256 = sha;
	it.size = size;
	return it;
}

struct prog {
	int calls, finished;
	uint64_t last_done, last_total;
	bool monotonic;
};

static void on_progress(void *arg, const struct pkgimg_progress *p)
{
	struct prog *pr = arg;

	if (pr->calls && p->done < pr->last_done)
		pr->monotonic = false;
	pr->calls++;
	pr->last_done = p->done;
	pr->last_total = p->total;
	pr->finished += p->finished;
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void drop_blob(struct store *st, const char *sha)
{
	char *p = store_blob_path(st, sha);

	unlink(p);
	free(p);
}

/* ---- tests ------------------------------------------------------------ */

static void test_artifact(struct pkgimg_ctx *ctx, struct store *st, const char *fixed_sha)
{
	char *u = url("/fixed"), *u2 = url("/count"), *p = store_blob_path(st, fixed_sha);
	struct fetch_item it = artifact(u, fixed_sha, (int64_t)strlen(FIXED));
	int r = fetch_all(ctx, st, &it, 1);

	check(r == 0 && it.result == 0 && it.downloaded == 1 && it.http_status == 200,
	      "artifact: downloaded", "r=%d result=%d downloaded=%d status=%ld msg=%s", r,
	      it.result, it.downloaded, it.http_status, ctx->errmsg);
	check(store_has_blob(st, fixed_sha) && file_equals(p, FIXED, strlen(FIXED)),
	      "artifact: verified blob placed in blobs/sha256", "blob %s missing or wrong", p);
	check(!strcmp(it.sha256_got, fixed_sha), "artifact: sha256_got", "got '%s'", it.sha256_got);
	check(!strcmp(sh->last_ua, "pkgimg/0.1"), "artifact: User-Agent pkgimg/0.1", "UA '%s'",
	      sh->last_ua);

	/* a second fetch of the same digest from another URL uses the store */
	it = artifact(u2, fixed_sha, -1);
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.downloaded == 0 && sh->hits[0] == 0, "artifact: cached blob not refetched",
	      "r=%d downloaded=%d hits=%d", r, it.downloaded, sh->hits[0]);
	free(u);
	free(u2);
	free(p);
}

static void test_mismatch(struct pkgimg_ctx *ctx, struct store *st, const char *fixed_sha)
{
	const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
	char *u = url("/fixed"), *tmpdir = xasprintf("%s/tmp", st->root);
	struct fetch_item it = artifact(u, wrong, -1);
	int r;

	drop_blob(st, fixed_sha);
	r = fetch_all(ctx, st, &it, 1);

	check(r == -PKGIMG_E_CHECKSUM && it.result == -PKGIMG_E_CHECKSUM, "mismatch: -PKGIMG_E_CHECKSUM",
	      "r=%d msg=%s", r, ctx->errmsg);
	check(!store_has_blob(st, wrong) && !store_has_blob(st, fixed_sha),
	      "mismatch: no blob left", "a blob was stored");
	check(count_entries(tmpdir) == 0, "mismatch: tmp/ empty", "%d entries in %s",
	      count_entries(tmpdir), tmpdir);
	check(strstr(ctx->errmsg, u) && strstr(ctx->errmsg, wrong) && strstr(ctx->errmsg, fixed_sha) &&
	      strstr(ctx->errmsg, "[verify]"), "mismatch: message names URL, expected, actual",
	      "msg=%s", ctx->errmsg);

	/* size mismatch (too long) aborts early */
	it = artifact(u, fixed_sha, 5);
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_CHECKSUM && strstr(ctx->errmsg, "size mismatch") &&
	      !store_has_blob(st, fixed_sha) && count_entries(tmpdir) == 0,
	      "mismatch: wrong size refused", "r=%d msg=%s", r, ctx->errmsg);
	free(u);
	free(tmpdir);
}

static void test_retry(struct pkgimg_ctx *ctx, struct store *st, const char *fixed_sha,
		       const char *big_sha)
{
	char *u = url("/flaky/2"), *u2 = url("/partial/3"), *u3 = url("/always500/4");
	struct fetch_item it = artifact(u, fixed_sha, -1);
	double t0;
	int r;

	drop_blob(st, fixed_sha);
	r = fetch_all(ctx, st, &it, 1);

	check(r == 0 && store_has_blob(st, fixed_sha) && sh->hits[2] == 2,
	      "retry: 500 then 200 succeeds", "r=%d hits=%d msg=%s", r, sh->hits[2], ctx->errmsg);

	it = artifact(u2, big_sha, BIG_LEN);
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && store_has_blob(st, big_sha) && sh->hits[3] == 2,
	      "retry: a cut-off transfer restarts file and hash", "r=%d hits=%d msg=%s", r,
	      sh->hits[3], ctx->errmsg);

	it = artifact(u3, fixed_sha, -1);
	it.sha256 = "1111111111111111111111111111111111111111111111111111111111111111";
	t0 = mono();
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_HTTP && sh->hits[4] == 4 && strstr(ctx->errmsg, "HTTP 503") &&
	      mono() - t0 >= 3.0, "retry: gives up after 3 retries with backoff",
	      "r=%d hits=%d took %.1fs msg=%s", r, sh->hits[4], mono() - t0, ctx->errmsg);
	free(u);
	free(u2);
	free(u3);
}

static void test_404(struct pkgimg_ctx *ctx, struct store *st, const char *fixed_sha)
{
	const char *sha = "2222222222222222222222222222222222222222222222222222222222222222";
	char *u = url("/missing"), *u2 = url("/redirect");
	struct fetch_item items[2] = { artifact(u, sha, -1), artifact(u2, fixed_sha, -1) };
	char *p = store_blob_path(st, fixed_sha);
	int r;

	r = fetch_all(ctx, st, items, 1);
	check(r == -PKGIMG_E_HTTP && strstr(ctx->errmsg, u) && strstr(ctx->errmsg, "[fetch] HTTP 404"),
	      "404: -PKGIMG_E_HTTP naming the URL", "r=%d msg=%s", r, ctx->errmsg);

	unlink(p);
	items[0].optional = 1;
	r = fetch_all(ctx, st, items, 2);
	check(r == 0 && items[0].result == -PKGIMG_E_NOTFOUND && items[1].result == 0,
	      "404 optional: NOTFOUND, overall success", "r=%d result=%d/%d msg=%s", r,
	      items[0].result, items[1].result, ctx->errmsg);
	check(store_has_blob(st, fixed_sha), "redirect followed", "no blob after /redirect");
	free(p);
	free(u);
	free(u2);
}

static void test_etag(struct pkgimg_ctx *ctx, struct store *st)
{
	char *dir = NULL, *dest, *vpath, *u = url("/etag");
	struct sbuf v = SBUF_INIT;
	struct fetch_item it = { 0 };
	int r;

	store_index_dir(ctx, st, "test-etag", &dir);
	dest = xasprintf("%s/Packages", dir);
	vpath = xasprintf("%s.validators", dest);
	it.url = u;
	it.dest = dest;
	it.size = -1;
	r = fetch_all(ctx, st, &it, 1);
	fs_read_file(NULL, AT_FDCWD, vpath, &v);
	check(r == 0 && !it.not_modified && file_equals(dest, "index-v1\n", 9) && v.buf &&
	      strstr(v.buf, "etag: \"v1\"") && strstr(v.buf, "last-modified: Tue, 02 Jan 2024"),
	      "index: fetched with validators saved", "r=%d msg=%s validators=%s", r, ctx->errmsg,
	      v.buf ? v.buf : "(none)");

	{
		char want[65];

		hash_sha256_hex("index-v1\n", 9, want);
		check(!strcmp(it.sha256_got, want) && strstr(v.buf ? v.buf : "", want),
		      "index: the body's sha256 is given and kept with the validators",
		      "got %s want %s", it.sha256_got, want);
		memset(it.sha256_got, 0, sizeof it.sha256_got);
		r = fetch_all(ctx, st, &it, 1);
		check(r == 0 && it.not_modified == 1 && it.http_status == 304 &&
		      file_equals(dest, "index-v1\n", 9) && sh->hits[1] == 2 &&
		      !strcmp(it.sha256_got, want),
		      "index: ETag 304 keeps dest (and gives its sha256)",
		      "r=%d not_modified=%d status=%ld hits=%d sha=%s", r, it.not_modified,
		      it.http_status, sh->hits[1], it.sha256_got);
	}
	check(count_entries(dir) == 2, "index: no .part left behind", "%d entries in %s",
	      count_entries(dir), dir);

	/* offline: the cached copy is used as it is, nothing is requested */
	ctx->flags |= PKGIMG_F_OFFLINE;
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.not_modified && sh->hits[1] == 2 && strlen(it.sha256_got) == 64,
	      "offline: cached index used (its sha256 from the validators)",
	      "r=%d hits=%d sha=%s", r, sh->hits[1], it.sha256_got);
	ctx->flags &= ~PKGIMG_F_OFFLINE;
	sbuf_free(&v);
	free(u);
	free(dest);
	free(vpath);
	free(dir);
}

static void test_file(struct pkgimg_ctx *ctx, struct store *st, const char *work)
{
	char *src = xasprintf("%s/src.bin", work), *u = xasprintf("file://%s", src);
	char *dest = xasprintf("%s/copy", work), sha[65];
	struct fetch_item it;
	int r;

	fs_write_file(NULL, AT_FDCWD, src, "file body\n", 10, 0644);
	hash_sha256_hex("file body\n", 10, sha);
	it = artifact(u, sha, 10);
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && store_has_blob(st, sha), "file://: artifact", "r=%d msg=%s", r, ctx->errmsg);

	memset(&it, 0, sizeof it);
	it.url = u;
	it.dest = dest;
	it.size = -1;
	r = fetch_all(ctx, st, &it, 1);
	fs_write_file(NULL, AT_FDCWD, src, "file body 2\n", 12, 0644);
	r = r ? r : fetch_all(ctx, st, &it, 1);
	check(r == 0 && !it.not_modified && file_equals(dest, "file body 2\n", 12),
	      "file://: index mode always re-reads", "r=%d msg=%s", r, ctx->errmsg);

	it.url = "file:///nonexistent/pkgimg-test";
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_NOTFOUND && strstr(ctx->errmsg, "file:///nonexistent"),
	      "file://: missing file is NOTFOUND", "r=%d msg=%s", r, ctx->errmsg);
	free(src);
	free(u);
	free(dest);
}

static void test_parallel(struct pkgimg_ctx *ctx, struct store *st)
{
	struct fetch_item items[20];
	char *urls[20], shas[20][65];
	int r, bad = 0;
	double t0 = mono();

	for (int i = 0; i < 20; i++) {
		struct sbuf sb = SBUF_INIT;
		char path[32];

		snprintf(path, sizeof path, "/blob/%d", i);
		urls[i] = url(path);
		blob_body(i, &sb);
		hash_sha256_hex(sb.buf, sb.len, shas[i]);
		items[i] = artifact(urls[i], shas[i], (int64_t)sb.len);
		sbuf_free(&sb);
	}
	sh->max_conc = 0;
	ctx->jobs = 8;
	r = fetch_all(ctx, st, items, 20);
	for (int i = 0; i < 20; i++)
		bad += items[i].result != 0 || !store_has_blob(st, shas[i]);
	check(r == 0 && bad == 0, "parallel: 20 items all verified", "r=%d bad=%d msg=%s", r, bad,
	      ctx->errmsg);
	check(sh->max_conc >= 2 && sh->max_conc <= 8, "parallel: at most ctx->jobs at once",
	      "max concurrent %d (took %.2fs)", sh->max_conc, mono() - t0);
	for (int i = 0; i < 20; i++)
		free(urls[i]);
}

static void test_progress(struct pkgimg_ctx *ctx, struct store *st)
{
	struct prog pr = { 0, 0, 0, 0, true };
	char *u = url("/slow"), sha[65], *body = xmalloc(SLOW_CHUNKS * SLOW_CHUNK);
	struct fetch_item it;
	double t0 = mono(), dt;
	int r;

	memset(body, 's', SLOW_CHUNKS * SLOW_CHUNK);
	hash_sha256_hex(body, SLOW_CHUNKS * SLOW_CHUNK, sha);
	it = artifact(u, sha, SLOW_CHUNKS * SLOW_CHUNK);
	ctx->progress = on_progress;
	ctx->cb_arg = &pr;
	r = fetch_all(ctx, st, &it, 1);
	dt = mono() - t0;
	ctx->progress = NULL;
	check(r == 0 && pr.finished == 1 && pr.last_done == SLOW_CHUNKS * SLOW_CHUNK &&
	      pr.last_total == SLOW_CHUNKS * SLOW_CHUNK && pr.monotonic,
	      "progress: ends with done == total, finished once", "r=%d calls=%d finished=%d "
	      "done=%llu total=%llu", r, pr.calls, pr.finished, (unsigned long long)pr.last_done,
	      (unsigned long long)pr.last_total);
	check(pr.calls >= 3 && pr.calls <= (int)(dt * 10) + 3, "progress: rate-limited to ~10/s",
	      "%d calls in %.2fs", pr.calls, dt);
	free(u);
	free(body);
}

static void test_offline_and_net(struct pkgimg_ctx *ctx, struct store *st)
{
	const char *sha = "3333333333333333333333333333333333333333333333333333333333333333";
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	char *u = url("/count"), *dead, *dest;
	struct fetch_item it = artifact(u, sha, -1);
	int r, before = sh->hits[0], fd;

	ctx->flags |= PKGIMG_F_OFFLINE;
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_OFFLINE && sh->hits[0] == before && strstr(ctx->errmsg, u),
	      "offline: missing artifact refused without network", "r=%d hits=%d msg=%s", r,
	      sh->hits[0] - before, ctx->errmsg);
	dest = xasprintf("%s/index/never-fetched", st->root);
	memset(&it, 0, sizeof it);
	it.url = u;
	it.dest = dest;
	it.size = -1;
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_OFFLINE && sh->hits[0] == before, "offline: uncached index refused",
	      "r=%d msg=%s", r, ctx->errmsg);
	it.optional = 1;
	r = fetch_all(ctx, st, &it, 1);
	check(r == 0 && it.result == -PKGIMG_E_OFFLINE && sh->hits[0] == before,
	      "offline: uncached optional index is absent, not a failure", "r=%d result=%d", r,
	      it.result);
	ctx->flags &= ~PKGIMG_F_OFFLINE;

	/* a port nobody listens on: connect fails, is retried, then -PKGIMG_E_NET */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd);
	dead = xasprintf("http://127.0.0.1:%d/x", ntohs(a.sin_port));
	it = artifact(dead, sha, -1);
	r = fetch_all(ctx, st, &it, 1);
	check(r == -PKGIMG_E_NET && strstr(ctx->errmsg, dead) && strstr(ctx->errmsg, "[fetch]"),
	      "connect failure: -PKGIMG_E_NET with the URL", "r=%d msg=%s", r, ctx->errmsg);
	free(u);
	free(dead);
	free(dest);
}

int main(void)
{
	struct pkgimg_ctx ctx;
	struct store st;
	char work[] = "/tmp/pkgimg-test-fetch-XXXXXX", *root, fixed_sha[65], big_sha[65];

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the server is local: keep a CI proxy out of the way */
	setenv("no_proxy", "127.0.0.1", 1);
	setenv("NO_PROXY", "127.0.0.1", 1);
	big_fill();
	hash_sha256_hex(FIXED, strlen(FIXED), fixed_sha);
	hash_sha256_hex(big, BIG_LEN, big_sha);
	if (!mkdtemp(work) || server_start() < 0) {
		printf("not ok - setup\n# cannot start the test server: %s\n", strerror(errno));
		return 1;
	}
	fetch_global_init();
	pkgimg_ctx_init(&ctx);
	root = xasprintf("%s/store", work);
	if (store_open(&ctx, root, &st) < 0) {
		printf("not ok - setup\n# %s\n", ctx.errmsg);
		server_stop();
		return 1;
	}
	test_artifact(&ctx, &st, fixed_sha);
	test_mismatch(&ctx, &st, fixed_sha);
	test_retry(&ctx, &st, fixed_sha, big_sha);
	test_404(&ctx, &st, fixed_sha);
	test_etag(&ctx, &st);
	test_file(&ctx, &st, work);
	test_parallel(&ctx, &st);
	test_progress(&ctx, &st);
	test_offline_and_net(&ctx, &st);

	store_close(&st);
	server_stop();
	fetch_global_cleanup();
	fs_rm_rf(NULL, AT_FDCWD, work);
	free(root);
	free(big);
	printf("# %d failed\n", failures);
	return failures ? 1 : 0;
}
