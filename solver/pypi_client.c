/* The PyPI index client (solver/pypi_client.h).
 *
 * A lookup is rounds of one fetch_all() batch each: a job per (project,
 * index) page, plus, in the first round, the find-links pages not read yet.
 * The pages land in the store's index cache; once every round is done they
 * are parsed with the Content-Type they were served with (kept with the
 * validators, so a 304 or --offline reads them the same way) and the files
 * are gathered per project. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "pyspec/pep508.h"
#include "solver/pypi_client.h"

#define LINKS_HASHES	"hashes"	/* sha256 cache of a find-links directory */
#define ABSENT_SUFFIX	".absent"	/* marks a page the index answered 404 for */
#define NO_PROJ		SIZE_MAX	/* a job that is a find-links page */

/* The media types pypi_page_parse() reads (parameters aside). */
static const char *const page_types[] = {
	"application/vnd.pypi.simple.v1+json",
	"application/vnd.pypi.simple.latest+json",
	"application/vnd.pypi.simple.v1+html",
	"application/vnd.pypi.simple.latest+html",
	"text/html",
};

/* Archive names a find-links directory is listed for (as pypi_index.c
 * classifies them; the others would only be skipped). */
static const char *const dist_exts[] = {
	".whl", ".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar",
};

/* ---- small helpers ------------------------------------------------------- */

static bool has_scheme(const char *s, const char *scheme)
{
	size_t k = strlen(scheme);

	return !strncasecmp(s, scheme, k) && s[k] == ':';
}

static bool has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Percent-encodes all but RFC 3986 unreserved characters (and '/' in a
 * path), so any file name becomes one safe URL path segment. */
static void add_pct(struct sbuf *sb, const char *s, bool keep_slash)
{
	for (; *s; s++) {
		char c = *s;

		if (ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep_slash && c == '/'))
			sbuf_addc(sb, c);
		else
			sbuf_addf(sb, "%%%02X", (unsigned char)c);
	}
}

static void add_html(struct sbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			sbuf_adds(sb, "&amp;");
		else if (*s == '<')
			sbuf_adds(sb, "&lt;");
		else if (*s == '>')
			sbuf_adds(sb, "&gt;");
		else if (*s == '"')
			sbuf_adds(sb, "&quot;");
		else
			sbuf_addc(sb, *s);
	}
}

/* The path of a file:// URL, percent-decoded ("file://localhost/p" too). */
static char *file_url_path(const char *url)
{
	const char *p = url + 5;
	struct sbuf sb = SBUF_INIT;

	if (!strncmp(p, "//", 2)) {
		p += 2;
		p += strcspn(p, "/");	/* the host, "" or localhost */
	}
	sbuf_add(&sb, "", 0);
	for (; *p && *p != '?' && *p != '#'; p++) {
		if (*p == '%' && ascii_hexval(p[1]) >= 0 && ascii_hexval(p[2]) >= 0) {
			sbuf_addc(&sb, (char)(ascii_hexval(p[1]) * 16 + ascii_hexval(p[2])));
			p += 2;
		} else {
			sbuf_addc(&sb, *p);
		}
	}
	return sbuf_detach(&sb);
}

/* ROOT/index/pypi-<24 hex of sha256(key)>: one cache folder per source. */
static int source_cache_dir(struct pkgimg_ctx *ctx, struct store *st, const char *key, char **out)
{
	char hex[65], id[40];

	hash_sha256_hex(key, strlen(key), hex);
	snprintf(id, sizeof id, "pypi-%.24s", hex);
	return store_index_dir(ctx, st, id, out);
}

static int hash_file(struct pkgimg_ctx *ctx, int dirfd, const char *dir, const char *name,
		     char hex[65])
{
	int r = hash_file_sha256(dirfd, name, hex);

	if (r < 0)
		return pkgimg_err(ctx, r, "--find-links %s: [lock] cannot read '%s': %s", dir, name,
				  strerror(-r));
	return 0;
}

/* ---- setting up ---------------------------------------------------------- */

static struct pypi_source *source_new(struct pypi_client *c)
{
	c->src = xrealloc(c->src, (c->nsrc + 1) * sizeof *c->src);
	memset(&c->src[c->nsrc], 0, sizeof *c->src);
	return &c->src[c->nsrc++];
}

static bool source_known(const struct pypi_client *c, enum pypi_source_kind kind, const char *url)
{
	for (size_t i = 0; i < c->nsrc; i++)
		if (c->src[i].kind == kind && !strcmp(c->src[i].url, url))
			return true;
	return false;
}

static int add_index(struct pypi_client *c, const char *url, const char *what)
{
	struct blob b = blob_trim(BLOB_STR(url));
	char *u, *key;
	struct pypi_source *s;
	int r;

	if (!b.len || !(has_scheme(b.ptr, "http") || has_scheme(b.ptr, "https") ||
			has_scheme(b.ptr, "file")) || memchr(b.ptr, ' ', b.len))
		return pkgimg_err(c->ctx, -PKGIMG_E_USAGE, "%s %s: [lock] not an http, https or "
				  "file URL; give the simple index's URL, e.g. %s", what, url,
				  PYPI_DEFAULT_INDEX);
	/* project pages are <index>/<name>/: the base must end in '/' */
	u = b.ptr[b.len - 1] == '/' ? blob_dup(b) : xasprintf(BLOB_FMT "/", BLOB_ARG(b));
	if (has_ctl(u)) {
		free(u);
		return pkgimg_err(c->ctx, -PKGIMG_E_USAGE, "%s: [lock] control character in the "
				  "index URL", what);
	}
	if (source_known(c, PYPI_SRC_INDEX, u)) {
		free(u);
		return 0;
	}
	key = xasprintf("index:%s", u);
	s = source_new(c);
	s->kind = PYPI_SRC_INDEX;
	s->url = u;
	r = source_cache_dir(c->ctx, c->st, key, &s->cache_dir);
	free(key);
	return r;
}

static int add_links(struct pypi_client *c, const char *entry)
{
	enum pypi_source_kind kind;
	char *path = NULL, *url = NULL, *key = NULL, *real = NULL;
	struct pypi_source *s;
	struct stat sb;
	int r = 0;

	if (has_scheme(entry, "http") || has_scheme(entry, "https")) {
		kind = PYPI_SRC_LINKS_PAGE;
		url = xstrdup(entry);
	} else if (strstr(entry, "://") && !has_scheme(entry, "file")) {
		return pkgimg_err(c->ctx, -PKGIMG_E_USAGE, "--find-links %s: [lock] not an http, "
				  "https or file URL, nor a local directory", entry);
	} else {
		path = has_scheme(entry, "file") ? file_url_path(entry) : xstrdup(entry);
		real = realpath(path, NULL);
		if (!real || stat(real, &sb) < 0) {
			r = pkgimg_err(c->ctx, -PKGIMG_E_NOTFOUND, "--find-links %s: [lock] %s; give "
				       "a directory of wheels or an HTML page of links", entry,
				       strerror(errno));
			goto out;
		}
		if (S_ISDIR(sb.st_mode)) {
			kind = PYPI_SRC_LINKS_DIR;
			url = xstrdup(real);
		} else {
			struct sbuf u = SBUF_INIT;

			kind = PYPI_SRC_LINKS_PAGE;
			sbuf_adds(&u, "file://");
			add_pct(&u, real, true);
			url = sbuf_detach(&u);
		}
	}
	if (has_ctl(url)) {
		r = pkgimg_err(c->ctx, -PKGIMG_E_USAGE, "--find-links: [lock] control character "
			       "in '%s'", entry);
		goto out;
	}
	if (source_known(c, kind, url))
		goto out;
	key = xasprintf("%s:%s", kind == PYPI_SRC_LINKS_DIR ? "links-dir" : "links", url);
	s = source_new(c);
	s->kind = kind;
	s->url = url;
	url = NULL;
	r = source_cache_dir(c->ctx, c->st, key, &s->cache_dir);
out:
	free(path);
	free(real);
	free(url);
	free(key);
	return r;
}

int pypi_client_init(struct pkgimg_ctx *ctx, struct store *st,
		     const struct pypi_client_opts *o, struct pypi_client *out)
{
	struct pypi_client c = { 0 };
	int r = 0;

	c.ctx = ctx;
	c.st = st;
	c.strategy = o->strategy;
	if (!o->no_index) {
		const char *first = o->index_url, *what = "--index-url";

		if (!first) {
			first = getenv(PYPI_INDEX_ENV);
			what = PYPI_INDEX_ENV;
			if (!first || !*first) {
				first = PYPI_DEFAULT_INDEX;
				what = "the default index";
			}
		}
		r = add_index(&c, first, what);
		for (size_t i = 0; r == 0 && i < o->nextra; i++)
			r = add_index(&c, o->extra_index_urls[i], "--extra-index-url");
	}
	c.nindex = c.nsrc;
	for (size_t i = 0; r == 0 && i < o->nfind_links; i++)
		r = add_links(&c, o->find_links[i]);
	if (r < 0) {
		pypi_client_free(&c);
		return r;
	}
	*out = c;
	return 0;
}

void pypi_client_free(struct pypi_client *c)
{
	for (size_t i = 0; i < c->nsrc; i++) {
		struct pypi_source *s = &c->src[i];

		free(s->url);
		free(s->cache_dir);
		free(s->body);
		free(s->content_type);
		free(s->page_url);
	}
	free(c->src);
	memset(c, 0, sizeof *c);
}

/* ---- find-links directories ---------------------------------------------- */

struct dist_file {
	char *name;
	struct stat sb;
	char sha[65];
};

static int dist_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dist_file *)a)->name, ((const struct dist_file *)b)->name);
}

static bool is_dist_name(const char *name)
{
	if (name[0] == '.' || has_ctl(name))
		return false;
	for (size_t i = 0; i < sizeof dist_exts / sizeof dist_exts[0]; i++)
		if (str_iends_with(name, dist_exts[i]))
			return true;
	return false;
}

/* The regular files of the directory that may be distributions, sorted. */
static int links_dir_scan(struct pkgimg_ctx *ctx, const char *dir, int dfd,
			  struct dist_file **out, size_t *n)
{
	DIR *d = fdopendir(dup(dfd));
	struct dist_file *v = NULL;
	struct dirent *de;
	size_t k = 0;

	if (!d)
		return pkgimg_err(ctx, -errno, "--find-links %s: [lock] cannot list: %s", dir,
				  strerror(errno));
	while ((de = readdir(d))) {
		struct stat sb;

		if (!is_dist_name(de->d_name) || fstatat(dfd, de->d_name, &sb, 0) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		v = xrealloc(v, (k + 1) * sizeof *v);
		v[k].name = xstrdup(de->d_name);
		v[k].sb = sb;
		v[k].sha[0] = 0;
		k++;
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof *v, dist_file_cmp);
	*out = v;
	*n = k;
	return 0;
}

/* The cache line of a file: "<sha256> <size> <mtime ns> <inode> <name>". */
static void hash_line(struct sbuf *sb, const struct dist_file *f)
{
	sbuf_addf(sb, "%s %lld %lld.%09ld %llu %s\n", f->sha, (long long)f->sb.st_size,
		  (long long)f->sb.st_mtim.tv_sec, f->sb.st_mtim.tv_nsec,
		  (unsigned long long)f->sb.st_ino, f->name);
}

/* Hashing every wheel of a directory on every run would cost seconds for
 * large wheels; a digest is reused while the file's size, mtime and inode
 * are those it was computed for. */
static int links_dir_hash(struct pkgimg_ctx *ctx, const struct pypi_source *s, int dfd,
			  struct dist_file *v, size_t n)
{
	char *cache = xasprintf("%s/%s", s->cache_dir, LINKS_HASHES);
	struct sbuf old = SBUF_INIT, line = SBUF_INIT, now = SBUF_INIT;
	bool changed = false;
	int r = 0;

	fs_read_file(NULL, AT_FDCWD, cache, &old);
	for (size_t i = 0; i < n; i++) {
		char *hit;

		strcpy(v[i].sha, "0");
		sbuf_reset(&line);
		hash_line(&line, &v[i]);
		/* the line without its digest ("0") must match a cached one exactly */
		hit = old.buf ? strstr(old.buf, line.buf + 1) : NULL;
		if (hit && hit - old.buf >= 64 && (hit - old.buf == 64 || hit[-65] == '\n')) {
			memcpy(v[i].sha, hit - 64, 64);
			v[i].sha[64] = 0;
		} else {
			r = hash_file(ctx, dfd, s->url, v[i].name, v[i].sha);
			if (r < 0)
				goto out;
			changed = true;
		}
		hash_line(&now, &v[i]);
	}
	if (changed || now.len != old.len)
		fs_write_file(NULL, AT_FDCWD, cache, now.buf ? now.buf : "", now.len, 0644);
out:
	sbuf_free(&old);
	sbuf_free(&line);
	sbuf_free(&now);
	free(cache);
	return r;
}

/* Describes the directory as an HTML page of file:// links with their
 * sha256, so it is parsed (and its files named) exactly as a page is. */
static int links_dir_load(struct pkgimg_ctx *ctx, struct pypi_source *s)
{
	struct dist_file *v = NULL;
	struct sbuf page = SBUF_INIT, base = SBUF_INIT;
	size_t n = 0;
	int dfd, r;

	dfd = open(s->url, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return pkgimg_err(ctx, -errno, "--find-links %s: [lock] cannot open: %s", s->url,
				  strerror(errno));
	r = links_dir_scan(ctx, s->url, dfd, &v, &n);
	if (r == 0)
		r = links_dir_hash(ctx, s, dfd, v, n);
	if (r < 0)
		goto out;
	sbuf_adds(&base, "file://");
	add_pct(&base, s->url, true);
	if (base.buf[base.len - 1] != '/')
		sbuf_addc(&base, '/');
	sbuf_adds(&page, "<!DOCTYPE html>\n<html><body>\n");
	for (size_t i = 0; i < n; i++) {
		sbuf_adds(&page, "<a href=\"");
		add_pct(&page, v[i].name, false);
		sbuf_addf(&page, "#sha256=%s\">", v[i].sha);
		add_html(&page, v[i].name);
		sbuf_adds(&page, "</a><br/>\n");
	}
	sbuf_adds(&page, "</body></html>\n");
	s->len = page.len;
	s->body = sbuf_detach(&page);
	s->content_type = xstrdup("text/html");
	s->page_url = sbuf_detach(&base);
	s->loaded = true;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	sbuf_free(&base);
	close(dfd);
	return r;
}

/* ---- a batch of page fetches --------------------------------------------- */

struct job {
	size_t proj;		/* index into the lookup's projects, or NO_PROJ */
	size_t src;		/* index into client->src */
	char *url, *dest;
};

struct batch {
	struct fetch_item *it;
	struct job *job;
	size_t n;
};

static void batch_add(struct batch *b, size_t proj, size_t src, char *url, char *dest,
		      const char *label)
{
	struct fetch_item *it;

	b->it = xrealloc(b->it, (b->n + 1) * sizeof *b->it);
	b->job = xrealloc(b->job, (b->n + 1) * sizeof *b->job);
	b->job[b->n] = (struct job){ proj, src, url, dest };
	it = &b->it[b->n];
	memset(it, 0, sizeof *it);
	it->url = url;
	it->dest = dest;
	it->size = -1;
	it->label = label;
	it->response_info = 1;
	/* a project page may be missing (404: not on this index); a links page not */
	it->optional = proj != NO_PROJ;
	it->accept = proj != NO_PROJ ? PYPI_ACCEPT : "text/html";
	b->n++;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		fetch_item_release(&b->it[i]);
		free(b->job[i].url);
		free(b->job[i].dest);
	}
	free(b->it);
	free(b->job);
	memset(b, 0, sizeof *b);
}

/* ---- lookups ------------------------------------------------------------- */

/* What one index answered for one project. */
struct hit {
	bool found;		/* a page is in the cache */
	char *content_type;	/* as served */
	char *url;		/* where from, after redirects */
};

struct proj {
	char *norm;
	const char *asked;	/* the first spelling given, for messages */
	int first;		/* the first index that has it, -1 */
	struct hit *hit;	/* per index */
};

struct lookup {
	struct pypi_client *c;
	struct proj *p;
	size_t np;
	size_t *of;		/* names[i] -> p[of[i]] */
};

static void lookup_free(struct lookup *l)
{
	for (size_t i = 0; i < l->np; i++) {
		for (size_t k = 0; k < l->c->nindex; k++) {
			free(l->p[i].hit[k].content_type);
			free(l->p[i].hit[k].url);
		}
		free(l->p[i].hit);
		free(l->p[i].norm);
	}
	free(l->p);
	free(l->of);
}

static int lookup_names(struct lookup *l, const char *const *names, size_t n)
{
	l->of = xcalloc(n ? n : 1, sizeof *l->of);
	for (size_t i = 0; i < n; i++) {
		char *norm;
		size_t j;

		if (!names[i] || !pep508_name_valid(names[i]))
			return pkgimg_err(l->c->ctx, -PKGIMG_E_USAGE, "'%s': [lock] not a valid "
					  "project name (letters, digits, '-', '_', '.')",
					  names[i] ? names[i] : "(null)");
		norm = pep503_normalize(names[i]);
		for (j = 0; j < l->np && strcmp(l->p[j].norm, norm); j++)
			;
		if (j == l->np) {
			l->p = xrealloc(l->p, (l->np + 1) * sizeof *l->p);
			l->p[j] = (struct proj){ norm, names[i], -1,
						 xcalloc(l->c->nindex ? l->c->nindex : 1,
							 sizeof(struct hit)) };
			l->np++;
		} else {
			free(norm);
		}
		l->of[i] = j;
	}
	return 0;
}

static void add_page_job(struct lookup *l, struct batch *b, size_t p, size_t k)
{
	const struct pypi_source *s = &l->c->src[k];
	const char *norm = l->p[p].norm;
	/* a file:// "index" is a tree of folders: the page is their index.html */
	char *url = has_scheme(s->url, "file") ? xasprintf("%s%s/index.html", s->url, norm)
					       : xasprintf("%s%s/", s->url, norm);

	batch_add(b, p, k, url, xasprintf("%s/%s", s->cache_dir, norm), l->p[p].asked);
}

static void add_links_jobs(struct lookup *l, struct batch *b)
{
	for (size_t k = l->c->nindex; k < l->c->nsrc; k++) {
		struct pypi_source *s = &l->c->src[k];

		if (s->kind == PYPI_SRC_LINKS_PAGE && !s->loaded)
			batch_add(b, NO_PROJ, k, xstrdup(s->url),
				  xasprintf("%s/page", s->cache_dir), s->url);
	}
}

/* A 404: the index does not have the project.  The stale copy goes and a
 * marker stays, so that --offline knows the answer too. */
static void page_absent(const char *dest)
{
	char *v = xasprintf("%s.validators", dest), *a = xasprintf("%s" ABSENT_SUFFIX, dest);

	unlink(dest);
	unlink(v);
	fs_write_file(NULL, AT_FDCWD, a, "", 0, 0644);
	free(v);
	free(a);
}

static int links_page_done(struct lookup *l, const struct job *j, struct fetch_item *it)
{
	struct pypi_source *s = &l->c->src[j->src];
	struct sbuf body = SBUF_INIT;
	int r;

	r = fs_read_file(l->c->ctx, AT_FDCWD, j->dest, &body);
	if (r < 0)
		return pkgimg_err_wrap(l->c->ctx, r, "--find-links %s: [lock] cannot read the page",
				       s->url);
	s->len = body.len;
	s->body = sbuf_detach(&body);
	s->content_type = it->content_type;
	s->page_url = it->effective_url ? it->effective_url : xstrdup(s->url);
	it->content_type = it->effective_url = NULL;
	s->loaded = true;
	return 0;
}

/* Records what one job brought; <0 for a failure that is this job's. */
static int job_done(struct lookup *l, const struct job *j, struct fetch_item *it)
{
	struct pkgimg_ctx *ctx = l->c->ctx;
	struct proj *p;
	struct hit *h;
	char *absent;
	int r = 0;

	if (j->proj == NO_PROJ)
		return it->result == 0 ? links_page_done(l, j, it) : it->result;
	p = &l->p[j->proj];
	h = &p->hit[j->src];
	absent = xasprintf("%s" ABSENT_SUFFIX, j->dest);
	if (it->result == 0) {
		h->found = true;
		h->content_type = it->content_type;
		h->url = it->effective_url ? it->effective_url : xstrdup(it->url);
		it->content_type = it->effective_url = NULL;
		if (p->first < 0 || (size_t)p->first > j->src)
			p->first = (int)j->src;
		if (!(ctx->flags & PKGIMG_F_OFFLINE))
			unlink(absent);
	} else if (it->result == -PKGIMG_E_NOTFOUND) {
		page_absent(j->dest);
	} else if (it->result == -PKGIMG_E_OFFLINE && !fs_exists(absent)) {
		r = pkgimg_err(ctx, -PKGIMG_E_OFFLINE, "%s: [lock] index %s: no cached page for "
			       "this project and --offline was given; run once without --offline",
			       p->asked, l->c->src[j->src].url);
	} else if (it->result != -PKGIMG_E_OFFLINE) {
		r = it->result;
	}
	free(absent);
	return r;
}

/* Whether fetch_all() counted the item as a failure (the same rule). */
static bool item_failed(const struct fetch_item *it)
{
	if (it->result >= 0)
		return false;
	return !it->optional || (it->result != -PKGIMG_E_NOTFOUND &&
				 it->result != -PKGIMG_E_OFFLINE);
}

/* Runs one batch and records every answer.  The first failure in job order
 * is the error; when it is a download's, fetch_all() left its message (it
 * reports its first failing item, the same one). */
static int batch_run(struct lookup *l, struct batch *b)
{
	struct pkgimg_ctx *ctx = l->c->ctx;
	int r;

	if (!b->n)
		return 0;
	r = fetch_all(ctx, l->c->st, b->it, (int)b->n);
	for (size_t i = 0; i < b->n; i++) {
		const struct job *j = &b->job[i];
		const struct pypi_source *s = &l->c->src[j->src];

		if (item_failed(&b->it[i])) {
			if (j->proj == NO_PROJ)
				return pkgimg_err_wrap(ctx, r, "--find-links %s: [lock] cannot read "
						       "the page", s->url);
			return pkgimg_err_wrap(ctx, r, "%s: [lock] index %s", l->p[j->proj].asked,
					       s->url);
		}
		r = job_done(l, j, &b->it[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* first-index: round k asks index k for the projects no earlier index had.
 * unsafe-best-match: one round asks every index for every project.  The
 * find-links pages not read yet go with the first round. */
static int lookup_fetch(struct lookup *l)
{
	struct pypi_client *c = l->c;
	bool best = c->strategy == PYPI_UNSAFE_BEST_MATCH;
	size_t rounds = best || c->nindex == 0 ? 1 : c->nindex;
	struct batch b = { 0 };
	int r = 0;

	for (size_t round = 0; r == 0 && round < rounds; round++) {
		if (round == 0)
			add_links_jobs(l, &b);
		for (size_t k = best ? 0 : round; k < c->nindex && (best || k == round); k++)
			for (size_t p = 0; p < l->np; p++)
				if (best || l->p[p].first < 0)
					add_page_job(l, &b, p, k);
		r = batch_run(l, &b);
		batch_free(&b);
	}
	return r;
}

static bool page_type_known(const char *ct)
{
	struct blob b, head;

	if (!ct)
		return true;	/* file:// pages are HTML */
	b = BLOB_STR(ct);
	blob_split(&b, ';', &head);
	head = blob_trim(head);
	if (!head.len)
		return true;
	for (size_t i = 0; i < sizeof page_types / sizeof page_types[0]; i++)
		if (blob_ieq_str(head, page_types[i]))
			return true;
	return false;
}

/* find-links pages are HTML (pip reads them so); NULL: a file:// page. */
static bool page_type_html(const char *ct)
{
	struct blob b, head;

	if (!ct)
		return true;
	b = BLOB_STR(ct);
	blob_split(&b, ';', &head);
	head = blob_trim(head);
	return !head.len || blob_ieq_str(head, "text/html") ||
	       blob_ieq_str(head, "application/vnd.pypi.simple.v1+html") ||
	       blob_ieq_str(head, "application/vnd.pypi.simple.latest+html");
}

/* Moves the files of pg to the end of res (pg is freed). */
static void files_take(struct pypi_project_files *res, struct pypi_page *pg, size_t src)
{
	size_t n0 = res->page.nfiles;

	if (pg->nfiles) {
		res->page.files = xrealloc(res->page.files, (n0 + pg->nfiles) * sizeof *pg->files);
		res->source = xrealloc(res->source, (n0 + pg->nfiles) * sizeof *res->source);
		memcpy(res->page.files + n0, pg->files, pg->nfiles * sizeof *pg->files);
		for (size_t i = 0; i < pg->nfiles; i++)
			res->source[n0 + i] = src;
		res->page.nfiles += pg->nfiles;
	}
	res->page.nskipped += pg->nskipped;
	pg->nfiles = 0;
	pypi_page_free(pg);
}

static int parse_index_page(struct lookup *l, const struct proj *p, size_t k,
			    struct pypi_project_files *res, bool first)
{
	struct pkgimg_ctx *ctx = l->c->ctx;
	const struct pypi_source *s = &l->c->src[k];
	const struct hit *h = &p->hit[k];
	char *dest = xasprintf("%s/%s", s->cache_dir, p->norm);
	struct sbuf body = SBUF_INIT;
	struct pypi_page pg;
	int r;

	if (!page_type_known(h->content_type)) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [lock] index %s answered %s with "
			       "Content-Type '%s': neither a PEP 691 JSON nor a PEP 503 HTML "
			       "project page; check that the URL is the index's simple API "
			       "(like %s), not a web page or a plain file server", p->asked, s->url,
			       h->url, h->content_type, PYPI_DEFAULT_INDEX);
		goto out;
	}
	r = fs_read_file(ctx, AT_FDCWD, dest, &body);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s: [lock] index %s", p->asked, s->url);
		goto out;
	}
	r = pypi_page_parse(ctx, body.buf, body.len, h->content_type, h->url, p->norm, &pg);
	if (r < 0) {
		r = pkgimg_err_wrap(ctx, r, "%s: [lock] index %s", p->asked, s->url);
		goto out;
	}
	if (first) {
		res->page.format = pg.format;
		res->page.api_major = pg.api_major;
		res->page.api_minor = pg.api_minor;
	}
	files_take(res, &pg, k);
out:
	sbuf_free(&body);
	free(dest);
	return r;
}

static int parse_links(struct lookup *l, const struct proj *p, size_t k,
		       struct pypi_project_files *res, size_t *nfound)
{
	struct pkgimg_ctx *ctx = l->c->ctx;
	const struct pypi_source *s = &l->c->src[k];
	struct pypi_page pg;
	int r;

	if (!page_type_html(s->content_type))
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "--find-links %s: [lock] served as '%s', "
				  "not as an HTML page of links; give a page of <a href> links to "
				  "wheels, or a directory", s->url, s->content_type);
	/* a page of links holds every project's files: keep this one's */
	r = pypi_page_parse(ctx, s->body, s->len, s->content_type, s->page_url, p->norm, &pg);
	if (r < 0)
		return pkgimg_err_wrap(ctx, r, "%s: [lock] --find-links %s", p->asked, s->url);
	*nfound += pg.nfiles;
	files_take(res, &pg, k);
	return 0;
}

static int lookup_result(struct lookup *l, const struct proj *p, struct pypi_project_files *out)
{
	struct pypi_client *c = l->c;
	struct pypi_project_files res = { 0 };
	size_t nlinks = 0;
	bool first = true;
	int r = 0;

	res.name = xstrdup(p->norm);
	res.index = p->first;
	res.page.format = PYPI_FORMAT_HTML;
	res.page.api_major = 1;
	for (size_t k = 0; r == 0 && k < c->nindex; k++) {
		if (!p->hit[k].found)
			continue;
		r = parse_index_page(l, p, k, &res, first);
		first = false;
	}
	for (size_t k = c->nindex; r == 0 && k < c->nsrc; k++)
		r = parse_links(l, p, k, &res, &nlinks);
	if (r < 0) {
		pypi_project_files_free(&res);
		return r;
	}
	res.found = p->first >= 0 || nlinks > 0;
	*out = res;
	return 0;
}

int pypi_client_lookup(struct pypi_client *c, const char *const *names, size_t n,
		       struct pypi_project_files *out)
{
	struct lookup l = { .c = c };
	struct pypi_project_files *res = NULL;
	size_t done = 0;
	int r;

	r = lookup_names(&l, names, n);
	if (r < 0)
		goto out;
	for (size_t k = c->nindex; r == 0 && k < c->nsrc; k++)
		if (c->src[k].kind == PYPI_SRC_LINKS_DIR && !c->src[k].loaded)
			r = links_dir_load(c->ctx, &c->src[k]);
	if (r < 0)
		goto out;
	r = lookup_fetch(&l);
	if (r < 0)
		goto out;
	res = xcalloc(n ? n : 1, sizeof *res);
	for (; done < n; done++) {
		r = lookup_result(&l, &l.p[l.of[done]], &res[done]);
		if (r < 0)
			goto out;
	}
	memcpy(out, res, n * sizeof *res);
	done = 0;
out:
	for (size_t i = 0; i < done; i++)
		pypi_project_files_free(&res[i]);
	free(res);
	lookup_free(&l);
	return r;
}

void pypi_project_files_free(struct pypi_project_files *p)
{
	free(p->name);
	free(p->source);
	pypi_page_free(&p->page);
	memset(p, 0, sizeof *p);
}

/* ---- core metadata ------------------------------------------------------- */

/* One download: several files may share it (the same URL asked twice). */
struct mjob {
	char *url;
	const char *sha256;	/* artifact mode: expected digest */
	int64_t size;
	char *dest;		/* index mode */
	size_t file;		/* the first file it is for (messages) */
	bool skip;		/* already in the cache: nothing to fetch */
};

struct mplan {
	struct pypi_meta *res;
	size_t *job;		/* file -> job */
	struct mjob *j;
	size_t nj;
	char *meta_dir, *files_dir;	/* made when first needed */
};

static size_t mplan_job(struct mplan *m, char *url, const char *sha256, int64_t size,
			char *dest, size_t file)
{
	for (size_t i = 0; i < m->nj; i++) {
		if (!strcmp(m->j[i].url, url)) {
			free(url);
			free(dest);
			return i;
		}
	}
	m->j = xrealloc(m->j, (m->nj + 1) * sizeof *m->j);
	m->j[m->nj] = (struct mjob){ url, sha256, size, dest, file, dest && fs_exists(dest) };
	return m->nj++;
}

static int need_dir(struct pypi_client *c, char **dir, const char *id)
{
	return *dir ? 0 : store_index_dir(c->ctx, c->st, id, dir);
}

/* A file kept by URL (no digest to name it by): ROOT/index/<id>/<24 hex>-<suffix>. */
static char *by_url(const char *dir, const char *url, const char *suffix)
{
	char hex[65];

	hash_sha256_hex(url, strlen(url), hex);
	return xasprintf("%s/%.24s-%s", dir, hex, suffix);
}

/* Decides where the metadata of file i comes from. */
static int mplan_file(struct pypi_client *c, struct mplan *m, const struct pypi_file *f, size_t i)
{
	const char *fsha = pypi_hashes_get(&f->hashes, "sha256");
	struct pypi_meta *res = &m->res[i];
	int r;

	if (f->has_metadata) {
		const char *msha = pypi_hashes_get(&f->metadata_hashes, "sha256");
		char *url = xasprintf("%s.metadata", f->url);

		if (msha) {
			res->path = store_blob_path(c->st, msha);
			res->verified = true;
			m->job[i] = mplan_job(m, url, msha, -1, NULL, i);
			return 0;
		}
		/* no digest for it: cached next to the index, named by the file's */
		r = need_dir(c, &m->meta_dir, "pypi-metadata");
		if (r < 0) {
			free(url);
			return r;
		}
		res->path = fsha ? xasprintf("%s/%s.metadata", m->meta_dir, fsha)
				 : by_url(m->meta_dir, url, "METADATA");
		m->job[i] = mplan_job(m, url, NULL, -1, xstrdup(res->path), i);
		if (!fsha)
			m->j[m->job[i]].skip = false;	/* named by URL: revalidate */
		return 0;
	}
	if (f->kind != PYPI_FILE_WHEEL)
		return pkgimg_err(c->ctx, -PKGIMG_E_USAGE, "%s %s (%s): [lock] an sdist, and the "
				  "index offers no metadata file for it: its metadata comes "
				  "from a build (solver/pypi_build.h), not from the index", f->name,
				  f->version, f->filename);
	res->from_wheel = true;
	if (fsha) {
		res->path = store_blob_path(c->st, fsha);
		res->verified = true;
		m->job[i] = mplan_job(m, xstrdup(f->url), fsha, f->has_size ? (int64_t)f->size : -1,
				      NULL, i);
		return 0;
	}
	r = need_dir(c, &m->files_dir, "pypi-files");
	if (r < 0)
		return r;
	res->path = by_url(m->files_dir, f->url, f->filename);
	m->job[i] = mplan_job(m, xstrdup(f->url), NULL, -1, xstrdup(res->path), i);
	m->j[m->job[i]].skip = false;
	return 0;
}

static void mplan_free(struct mplan *m, size_t n)
{
	for (size_t i = 0; m->res && i < n; i++)
		pypi_meta_free(&m->res[i]);
	for (size_t i = 0; i < m->nj; i++) {
		free(m->j[i].url);
		free(m->j[i].dest);
	}
	free(m->res);
	free(m->job);
	free(m->j);
	free(m->meta_dir);
	free(m->files_dir);
}

/* Puts what a failed download was for in front of fetch's message (which
 * names the URL, and for a mismatch the expected and actual digests). */
static int metadata_error(struct pypi_client *c, const struct pypi_file *f, int r)
{
	if (f->has_metadata)
		return pkgimg_err_wrap(c->ctx, r, "%s %s (%s): [lock] core metadata", f->name,
				       f->version, f->filename);
	return pkgimg_err_wrap(c->ctx, r, "%s %s (%s): [lock] the wheel, for its metadata (the "
			       "index offers no .metadata file)", f->name, f->version, f->filename);
}

int pypi_client_metadata(struct pypi_client *c, const struct pypi_file *const *files, size_t n,
			 struct pypi_meta *out)
{
	struct mplan m = { 0 };
	struct fetch_item *items = NULL;
	int *item_of = NULL, nitems = 0, r = 0;

	m.res = xcalloc(n ? n : 1, sizeof *m.res);
	m.job = xcalloc(n ? n : 1, sizeof *m.job);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = mplan_file(c, &m, files[i], i);
	if (r < 0)
		goto out;
	items = xcalloc(m.nj ? m.nj : 1, sizeof *items);
	item_of = xcalloc(m.nj ? m.nj : 1, sizeof *item_of);
	for (size_t i = 0; i < m.nj; i++) {
		struct fetch_item *it = &items[nitems];

		item_of[i] = -1;
		if (m.j[i].skip)
			continue;
		it->url = m.j[i].url;
		it->sha256 = m.j[i].sha256;
		it->size = m.j[i].size;
		it->dest = m.j[i].dest;
		it->label = files[m.j[i].file]->filename;
		item_of[i] = nitems++;
	}
	r = fetch_all(c->ctx, c->st, items, nitems);
	if (r < 0) {
		for (size_t i = 0; i < m.nj; i++) {
			if (item_of[i] >= 0 && items[item_of[i]].result < 0) {
				r = metadata_error(c, files[m.j[i].file], r);
				break;
			}
		}
		goto out;
	}
	memcpy(out, m.res, n * sizeof *m.res);
	memset(m.res, 0, n * sizeof *m.res);
out:
	free(items);
	free(item_of);
	mplan_free(&m, n);
	return r;
}

void pypi_meta_free(struct pypi_meta *m)
{
	free(m->path);
	memset(m, 0, sizeof *m);
}
