/* Debian indexes into a libsolv pool, and solving a request against it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <solv/bitmap.h>
#include <solv/evr.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/selection.h>
#include <solv/solv_xfopen.h>
#include <solv/solver.h>
#include <solv/strpool.h>
#include <solv/transaction.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/fs.h"
#include "core/hash.h"
#include "core/str.h"
#include "solver/aptwalk.h"
#include "solver/deb.h"
#include "solver/explain.h"
#include "solver/solvcache.h"

#define DEFAULT_KEYRING "/usr/share/keyrings/debian-archive-keyring.gpg"
#define SOLV_FORMAT "4"	/* bump when the pool-loading code changes what .solv holds
				 * (3: solvcache header, no descriptions; 4: Priority,
				 * Important, dependencies in their order) */

struct deb_repo_info {
	char *base_uri;		/* prefix for Filename: */
};

struct deb_pool {
	Pool *pool;
	struct deb_index_meta *idx;
	int nidx;
	struct deb_repo_info **infos;
	int ninfos;
	Id essential_key;
};

/* per-source work while opening */
struct src_state {
	const struct apt_source *src;
	char *dir;		/* ROOT/index/<id> */
	char *what;		/* "URI SUITE" for messages */
	struct fetch_item inrel, rel, relgpg;
	struct apt_release release;
	char *keyring;
};

static char *source_id(const struct apt_source *src, const char *arch)
{
	char hex[65], *s = xasprintf("%s\n%s\n%s", src->uri, src->suite, arch);

	hash_sha256_hex(s, strlen(s), hex);
	free(s);
	hex[24] = 0;
	return xstrdup(hex);
}

/* Checking an OpenPGP signature costs tens of milliseconds with libsolv's
 * verifier; the same InRelease bytes checked against the same keyring bytes
 * need no second check.  The stamp names both digests; NULL when the
 * keyring cannot be read (then the full check runs and reports it). */
static char *verified_stamp(struct src_state *s)
{
	struct sbuf kr = SBUF_INIT;
	char khex[65];

	if (!strncmp(s->keyring, "-----BEGIN", 10))
		sbuf_adds(&kr, s->keyring);
	else if (fs_read_file(NULL, AT_FDCWD, s->keyring, &kr) < 0) {
		sbuf_free(&kr);
		return NULL;
	}
	hash_sha256_hex(kr.buf, kr.len, khex);
	sbuf_free(&kr);
	return xasprintf("%s/verified-%.32s-%.32s", s->dir, s->release.inrelease_sha256, khex);
}

/* Verifies the fetched Release of one source and parses it. */
static int verify_release(struct pkgimg_ctx *ctx, struct src_state *s)
{
	struct sbuf data = SBUF_INIT, sig = SBUF_INIT;
	char *text = NULL, *stamp = NULL;
	int r;

	if (s->inrel.result == 0) {
		r = fs_read_file(ctx, AT_FDCWD, s->inrel.dest, &data);
		if (r < 0)
			goto out;
		hash_sha256_hex(data.buf, data.len, s->release.inrelease_sha256);
		stamp = verified_stamp(s);
		r = apt_verify_inrelease(ctx, s->inrel.url, data.buf, data.len,
					 stamp && access(stamp, F_OK) == 0 ? NULL : s->keyring, &text);
		if (r == 0 && stamp)
			close(open(stamp, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		if (r < 0 && (ctx->flags & PKGIMG_F_ALLOW_UNSIGNED)) {
			pkgimg_warn(ctx, "%s: [verify] signature not verified (--allow-unsigned): %s",
				    s->what, ctx->errmsg);
			r = 0;
			/* take the text between the armor lines as it is */
			{
				const char *b = strstr(data.buf, "\n\n"), *e;

				b = b ? b + 2 : data.buf;
				e = strstr(b, "-----BEGIN PGP SIGNATURE-----");
				text = e ? xstrndup(b, (size_t)(e - b)) : xstrdup(b);
			}
		}
		if (r < 0)
			goto out;
	} else {
		r = fs_read_file(ctx, AT_FDCWD, s->rel.dest, &data);
		if (r < 0)
			goto out;
		hash_sha256_hex(data.buf, data.len, s->release.inrelease_sha256);
		if (s->relgpg.result == 0) {
			r = fs_read_file(ctx, AT_FDCWD, s->relgpg.dest, &sig);
			if (r == 0)
				r = apt_verify_detached(ctx, s->rel.url, data.buf, data.len, sig.buf,
							sig.len, s->keyring);
		} else {
			r = pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
				       "%s: [verify] the repository is unsigned (no InRelease, no "
				       "Release.gpg); refusing it (pass --allow-unsigned to accept "
				       "an unsigned repository at your own risk)", s->what);
		}
		if (r < 0 && (ctx->flags & PKGIMG_F_ALLOW_UNSIGNED)) {
			pkgimg_warn(ctx, "%s", ctx->errmsg);
			r = 0;
		}
		if (r < 0)
			goto out;
		text = sbuf_detach(&data);
	}
	r = apt_release_parse(ctx, s->what, text, &s->release);
	if (r == 0)
		r = apt_release_check_valid(ctx, s->what, &s->release, (int64_t)time(NULL));
	if (r == 0) {
		s->release.text = text;
		text = NULL;
	}
out:
	free(text);
	free(stamp);
	sbuf_free(&data);
	sbuf_free(&sig);
	return r;
}

static const struct apt_release_file *find_packages(const struct apt_release *rel,
						    const char *comp, const char *arch)
{
	static const char *const suffixes[] = { ".xz", ".gz", "" };

	for (size_t k = 0; k < 3; k++) {
		char *want = xasprintf("%s/binary-%s/Packages%s", comp, arch, suffixes[k]);

		for (int i = 0; i < rel->nfiles; i++) {
			if (!strcmp(rel->files[i].path, want)) {
				free(want);
				return &rel->files[i];
			}
		}
		free(want);
	}
	return NULL;
}

/* The .solv cache of a Packages file, named by its sha256. */
static char *solv_path(const char *dir, const struct apt_release_file *f)
{
	return xasprintf("%s/Packages-%s-v" SOLV_FORMAT ".solv", dir, f->sha256);
}

/* Loads one Packages file (a verified blob) into repo: from its .solv cache
 * (c, opened by the caller) when libsolv takes it, else parsed, and the
 * cache written for the next time. */
static int load_packages(struct pkgimg_ctx *ctx, struct store *st, const char *dir,
			 const struct apt_release_file *f, const char *url,
			 const struct solvcache *c, Repo *repo)
{
	/* descriptions and homepages: half the cache, and nothing reads them */
	static const Id drop[] = { SOLVABLE_SUMMARY, SOLVABLE_DESCRIPTION, SOLVABLE_URL, 0 };
	char *blob, *solv;
	FILE *fp;
	int fd, r = 0;

	if (solvcache_add(repo, c))
		return 0;
	blob = store_blob_path(st, f->sha256);
	solv = solv_path(dir, f);
	fd = open(blob, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [index] cached copy missing: %m", url);
		goto out;
	}
	fp = solv_xfopen_fd(f->path, fd, "r");
	if (!fp) {
		close(fd);
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [index] cannot decompress", url);
		goto out;
	}
	if (repo_add_debpackages(repo, fp, 0) != 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [index] %s", url,
			       pool_errstr(repo->pool));
		fclose(fp);
		goto out;
	}
	fclose(fp);
	solvcache_save(repo, solv, drop);
out:
	free(solv);
	free(blob);
	return r;
}

static void src_state_free(struct src_state *s)
{
	free(s->dir);
	free(s->what);
	free(s->keyring);
	free((char *)s->inrel.url);
	free((char *)s->inrel.dest);
	free((char *)s->rel.url);
	free((char *)s->rel.dest);
	free((char *)s->relgpg.url);
	free((char *)s->relgpg.dest);
	apt_release_free(&s->release);
}

/* One Packages file of one source. */
struct pk_file {
	int src;
	const struct apt_release_file *f;
};

/* 1. InRelease of every source, in one parallel batch; 2. Release and
 * Release.gpg where there is none. */
static int fetch_releases(struct pkgimg_ctx *ctx, struct store *st, const struct apt_sources *srcs,
			  const char *keyring, struct src_state *ss)
{
	struct fetch_item *items = xcalloc((size_t)srcs->n * 2 + 1, sizeof *items);
	int r = 0, n = 0, m = 0;

	for (int i = 0; i < srcs->n; i++) {
		struct src_state *s = &ss[i];
		char *id = source_id(&srcs->v[i], ctx->arch);

		s->src = &srcs->v[i];
		s->what = xasprintf("%s %s", s->src->uri, s->src->suite);
		s->keyring = xstrdup(keyring ? keyring
				     : s->src->signed_by ? s->src->signed_by : DEFAULT_KEYRING);
		r = store_index_dir(ctx, st, id, &s->dir);
		free(id);
		if (r < 0)
			goto out;
		s->inrel.url = xasprintf("%s/dists/%s/InRelease", s->src->uri, s->src->suite);
		s->inrel.dest = xasprintf("%s/InRelease", s->dir);
		s->inrel.sha256 = NULL;
		s->inrel.size = -1;
		s->inrel.optional = 1;
		s->inrel.label = "InRelease";
		items[n++] = s->inrel;
	}
	r = fetch_all(ctx, st, items, n);
	if (r < 0)
		goto out;
	for (int i = 0; i < srcs->n; i++) {
		struct src_state *s = &ss[i];

		s->inrel.result = items[i].result;
		if (s->inrel.result == 0)
			continue;
		s->rel.url = xasprintf("%s/dists/%s/Release", s->src->uri, s->src->suite);
		s->rel.dest = xasprintf("%s/Release", s->dir);
		s->rel.size = -1;
		s->rel.label = "Release";
		s->relgpg.url = xasprintf("%s/dists/%s/Release.gpg", s->src->uri, s->src->suite);
		s->relgpg.dest = xasprintf("%s/Release.gpg", s->dir);
		s->relgpg.size = -1;
		s->relgpg.optional = 1;
		s->relgpg.label = "Release.gpg";
		items[m++] = s->rel;
		items[m++] = s->relgpg;
	}
	if (!m)
		goto out;
	r = fetch_all(ctx, st, items, m);
	if (r < 0)
		goto out;
	m = 0;
	for (int i = 0; i < srcs->n; i++) {
		if (ss[i].inrel.result == 0)
			continue;
		ss[i].rel.result = items[m++].result;
		ss[i].relgpg.result = items[m++].result;
		if (ss[i].rel.result < 0) {
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
				       "%s: [index] neither InRelease nor Release "
				       "exists; check the URI and suite of the source",
				       ss[i].what);
			goto out;
		}
	}
out:
	free(items);
	return r;
}

/* 3. Each Release verified, and the Packages file of each component. */
static int list_packages(struct pkgimg_ctx *ctx, const struct apt_sources *srcs,
			 struct src_state *ss, struct pk_file **pkp, int *npkp)
{
	struct pk_file *pk = NULL;
	int r = 0, npk = 0;

	for (int i = 0; i < srcs->n && r == 0; i++) {
		struct src_state *s = &ss[i];

		r = verify_release(ctx, s);
		for (char **c = s->src->components; r == 0 && *c; c++) {
			const struct apt_release_file *f = find_packages(&s->release, *c, ctx->arch);

			if (!f) {
				r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
					       "%s: [index] Release lists no Packages file for "
					       "component '%s' and architecture '%s'; check the "
					       "component name", s->what, *c, ctx->arch);
				break;
			}
			pk = xrealloc(pk, (size_t)(npk + 1) * sizeof *pk);
			pk[npk].src = i;
			pk[npk].f = f;
			npk++;
		}
	}
	*pkp = pk;
	*npkp = npk;
	return r;
}

/* apt's default pin of a source's versions (apt_preferences(5)): 500, or 1
 * for a NotAutomatic suite (experimental), 100 when it also says
 * ButAutomaticUpgrades (backports).  It is the libsolv repo's priority, which
 * the walk's candidate and libsolv's policy both rank before the version.
 * /etc/apt/preferences is the host's, not the image's, and is not read. */
static int apt_default_pin(const struct apt_release *rel)
{
	if (!rel->not_automatic)
		return 500;
	return rel->but_automatic_upgrades ? 100 : 1;
}

/* The Packages files (verified against the signed Release), each loaded as
 * a repo of dp->pool. */
static int load_all_packages(struct pkgimg_ctx *ctx, struct store *st, struct deb_pool *dp,
			     const struct src_state *ss, const struct pk_file *pk, int npk)
{
	struct fetch_item *items = xcalloc((size_t)npk + 1, sizeof *items);
	struct strv purls = { 0 };
	struct solvcache *caches = NULL;
	int r;

	for (int k = 0; k < npk; k++) {
		const struct src_state *s = &ss[pk[k].src];
		char *url = xasprintf("%s/dists/%s/%s", s->src->uri, s->src->suite, pk[k].f->path);

		strv_push(&purls, url);
		items[k].url = url;
		items[k].sha256 = pk[k].f->sha256;
		items[k].size = (int64_t)pk[k].f->size;
		items[k].label = "Packages";
	}
	r = fetch_all(ctx, st, items, npk);
	if (r == -PKGIMG_E_CHECKSUM)
		pkgimg_err_wrap(ctx, r, "[index] Packages does not match the signed Release "
				"(a tampered or inconsistent mirror)");
	if (r == 0) {
		/* the caches first: their counts size the pool's string and
		 * relation hashes once for all of them */
		int nstr = 0, nrel = 0;

		caches = xcalloc((size_t)npk + 1, sizeof *caches);
		for (int k = 0; k < npk; k++) {
			char *solv = solv_path(ss[pk[k].src].dir, pk[k].f);
			int a, b;

			if (solvcache_open(solv, &caches[k])) {
				solvcache_counts(&caches[k], &a, &b);
				nstr += a;
				nrel += b;
			}
			free(solv);
		}
		stringpool_resize_hash(&dp->pool->ss, nstr);
		pool_resize_rels_hash(dp->pool, nrel);
	}
	for (int k = 0; r == 0 && k < npk; k++) {
		const struct src_state *s = &ss[pk[k].src];
		struct deb_repo_info *info = xcalloc(1, sizeof *info);
		char *name = xasprintf("%s %s %s", s->src->uri, s->src->suite, pk[k].f->path);
		Repo *repo = repo_create(dp->pool, name);

		free(name);
		info->base_uri = xstrdup(s->src->uri);
		repo->appdata = info;
		repo->priority = apt_default_pin(&s->release);
		dp->infos = xrealloc(dp->infos, (size_t)(dp->ninfos + 1) * sizeof *dp->infos);
		dp->infos[dp->ninfos++] = info;
		r = load_packages(ctx, st, s->dir, pk[k].f, purls.v[k], &caches[k], repo);
		solvcache_close(&caches[k]);	/* its pages are not needed again */
	}
	for (int k = 0; caches && k < npk; k++)
		solvcache_close(&caches[k]);
	free(caches);
	free(items);
	strv_free(&purls);
	return r;
}

/* What the lockfile records of each source. */
static void index_meta(struct deb_pool *dp, const struct apt_sources *srcs,
		       const struct src_state *ss)
{
	dp->idx = xcalloc((size_t)srcs->n, sizeof *dp->idx);
	for (int i = 0; i < srcs->n; i++) {
		struct deb_index_meta *m = &dp->idx[dp->nidx++];
		int nc = 0;

		m->uri = xstrdup(ss[i].src->uri);
		m->suite = xstrdup(ss[i].src->suite);
		while (ss[i].src->components[nc])
			nc++;
		m->components = xcalloc((size_t)nc + 1, sizeof(char *));
		for (int c = 0; c < nc; c++)
			m->components[c] = xstrdup(ss[i].src->components[c]);
		memcpy(m->inrelease_sha256, ss[i].release.inrelease_sha256, 65);
		m->date = xstrdup(ss[i].release.date ? ss[i].release.date : "");
	}
}

/* pool_createwhatprovides() throws the pool's string hash away (libsolv's
 * own comment on that line: "should not be here"), and the first name
 * looked up afterwards (every request's) builds it again over every string
 * of every index.  It adds no string while it runs, so the hash is set
 * aside and put back as it was.  (The relation hash is not public; libsolv
 * rebuilds it only when a relation is made: a NAME=VERSION request.) */
static void create_whatprovides(Pool *pool)
{
	Hashtable sh = pool->ss.stringhashtbl;
	Hashval sm = pool->ss.stringhashmask;

	pool->ss.stringhashtbl = NULL;
	pool->ss.stringhashmask = 0;
	pool_createwhatprovides(pool);
	if (pool->ss.stringhashtbl) {
		/* a libsolv that built a new one meanwhile: it stands */
		solv_free(sh);
		return;
	}
	pool->ss.stringhashtbl = sh;
	pool->ss.stringhashmask = sm;
}

int deb_pool_open(struct pkgimg_ctx *ctx, struct store *st, const struct apt_sources *srcs,
		  const char *keyring, struct deb_pool **out)
{
	struct src_state *ss = xcalloc((size_t)srcs->n, sizeof *ss);
	struct deb_pool *dp = xcalloc(1, sizeof *dp);
	struct pk_file *pk = NULL;
	int r, npk = 0;

	dp->pool = pool_create();
	pool_setdisttype(dp->pool, DISTTYPE_DEB);
	pool_setarch(dp->pool, ctx->arch);
	dp->essential_key = pool_str2id(dp->pool, "deb:essential", 1);
	r = fetch_releases(ctx, st, srcs, keyring, ss);
	if (r == 0)
		r = list_packages(ctx, srcs, ss, &pk, &npk);
	if (r == 0)
		r = load_all_packages(ctx, st, dp, ss, pk, npk);
	if (r == 0) {
		/* Debian dependencies name packages, never files: no
		 * pool_addfileprovides() */
		create_whatprovides(dp->pool);
		index_meta(dp, srcs, ss);
	}
	for (int i = 0; i < srcs->n; i++)
		src_state_free(&ss[i]);
	free(ss);
	free(pk);
	if (r < 0)
		deb_pool_free(dp);
	else
		*out = dp;
	return r;
}

void deb_pool_free(struct deb_pool *dp)
{
	if (!dp)
		return;
	for (int i = 0; i < dp->ninfos; i++) {
		free(dp->infos[i]->base_uri);
		free(dp->infos[i]);
	}
	free(dp->infos);
	for (int i = 0; i < dp->nidx; i++) {
		struct deb_index_meta *m = &dp->idx[i];

		free(m->uri);
		free(m->suite);
		for (char **c = m->components; c && *c; c++)
			free(*c);
		free(m->components);
		free(m->date);
	}
	free(dp->idx);
	pool_free(dp->pool);
	free(dp);
}

const struct deb_index_meta *deb_pool_indexes(struct deb_pool *dp, int *n)
{
	*n = dp->nidx;
	return dp->idx;
}

void deb_pkglist_free(struct deb_pkglist *l)
{
	for (int i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].version);
		free(l->v[i].arch);
		free(l->v[i].url);
		free(l->v[i].requested_by);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* The solvable for an exact (name, version, arch), 0 if the pool has none. */
static Id find_exact(Pool *pool, const char *name, const char *version, const char *arch)
{
	Id nameid = pool_str2id(pool, name, 0), p, pp;

	if (!nameid)
		return 0;
	FOR_PROVIDES(p, pp, nameid) {
		Solvable *s = pool->solvables + p;

		if (s->name == nameid && !strcmp(pool_id2str(pool, s->evr), version) &&
		    !strcmp(pool_id2str(pool, s->arch), arch))
			return p;
	}
	return 0;
}

/* Adds the job for one "NAME[=VERSION]" request. */
static int add_request(struct pkgimg_ctx *ctx, Pool *pool, const char *req, Queue *job)
{
	const char *eq = strchr(req, '=');
	char *name = eq ? xstrndup(req, (size_t)(eq - req)) : xstrdup(req);
	Id nameid = pool_str2id(pool, name, 0), p, pp, dep;
	struct sbuf providers = SBUF_INIT, versions = SBUF_INIT;
	int real = 0, nprov = 0, r = 0;
	Id prov = 0;

	if (nameid) {
		FOR_PROVIDES(p, pp, nameid) {
			Solvable *s = pool->solvables + p;

			if (s->name == nameid) {
				real++;
				sbuf_addf(&versions, "%s%s", versions.len ? ", " : "",
					  pool_id2str(pool, s->evr));
			} else {
				nprov++;
				prov = p;
				sbuf_addf(&providers, "%s%s", providers.len ? ", " : "",
					  pool_id2str(pool, s->name));
			}
		}
	}
	if (!real && !nprov) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
			       "%s: [resolve] no such package in the apt sources; check the "
			       "name (apt-cache search), the components, or add a source with "
			       "--apt-source", name);
		goto out;
	}
	if (!real) {
		if (eq || nprov > 1) {
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
				       "%s: [resolve] is a virtual package provided by %s; ask "
				       "for one of them", name, providers.buf);
			goto out;
		}
		queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE, prov);
		goto out;
	}
	dep = nameid;
	if (eq) {
		dep = pool_rel2id(pool, nameid, pool_str2id(pool, eq + 1, 1), REL_EQ, 1);
		if (!pool_whatprovides(pool, dep) ||
		    !pool->whatprovidesdata[pool_whatprovides(pool, dep)]) {
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
				       "%s: [resolve] version %s is not in the apt sources "
				       "(available: %s)", name, eq + 1, versions.buf);
			goto out;
		}
	}
	queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE_NAME, dep);
out:
	sbuf_free(&providers);
	sbuf_free(&versions);
	free(name);
	return r;
}

static int cmp_pkg(const void *a, const void *b)
{
	const struct deb_pkg *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->arch, y->arch);
}

static char *requested_by(Pool *pool, Solvable *s, const struct deb_request *req, Id ekey)
{
	const char *name = pool_id2str(pool, s->name);

	for (int i = 0; i < req->nnames; i++) {
		size_t n = strcspn(req->names[i], "=");

		if (strlen(name) == n && !strncmp(req->names[i], name, n))
			return xstrdup(req->names[i]);
	}
	if (req->essential && solvable_lookup_void(s, ekey))
		return xstrdup("essential");
	return xstrdup("dependency");
}

/* The fallback, when apt's walk (solver/aptwalk.c) leaves something
 * broken (where apt-get would run its problem resolver): libsolv alone,
 * favouring apt's simple choice among alternatives: for "a | b" the first
 * alternative that a real package of that name (in a matching version)
 * satisfies.  libsolv orders candidates by name instead, so the first
 * solve is checked against that rule and the packages apt would take are
 * favoured, until nothing changes.
 *
 * apt_candidate: the real package apt would install for alternative `dep`,
 * or 0. */
static Id apt_candidate(Pool *pool, Id dep)
{
	Id name = aptwalk_dep_name(pool, dep), p, pp, best = 0;

	FOR_PROVIDES(p, pp, dep) {
		Solvable *s = pool->solvables + p;

		if (s->name != name || !pool_installable(pool, s))
			continue;
		if (!best || aptwalk_cand_cmp(pool, p, best) > 0)
			best = p;
	}
	return best;
}

static int add_apt_favors(Solver *solv, Queue *favors)
{
	Pool *pool = solv->pool;
	Queue decided, alts, reqs;
	Map inst;
	int added = 0;

	queue_init(&decided);
	queue_init(&alts);
	queue_init(&reqs);
	map_init(&inst, pool->nsolvables);
	solver_get_decisionqueue(solv, &decided);
	for (int i = 0; i < decided.count; i++)
		if (decided.elements[i] > 0)
			MAPSET(&inst, decided.elements[i]);
	for (int i = 0; i < decided.count; i++) {
		Id p = decided.elements[i];

		if (p <= 0 || p == SYSTEMSOLVABLE)
			continue;
		queue_empty(&reqs);
		solvable_lookup_deparray(pool->solvables + p, SOLVABLE_REQUIRES, &reqs, 0);
		for (int k = 0; k < reqs.count; k++) {
			Id want = 0, pp, q;
			int satisfied_by_earlier = 0;

			if (reqs.elements[k] == SOLVABLE_PREREQMARKER)
				continue;
			queue_empty(&alts);
			aptwalk_flatten_or(pool, reqs.elements[k], &alts);
			for (int a = 0; a < alts.count && !want; a++) {
				FOR_PROVIDES(q, pp, alts.elements[a])
					if (MAPTST(&inst, q) && pool->solvables[q].name == aptwalk_dep_name(pool, alts.elements[a]))
						satisfied_by_earlier = 1;
				if (satisfied_by_earlier)
					break;
				want = apt_candidate(pool, alts.elements[a]);
			}
			if (satisfied_by_earlier || !want || MAPTST(&inst, want))
				continue;
			/* only when the dependency has a real choice */
			if (alts.count == 1) {
				int n = 0;

				FOR_PROVIDES(q, pp, alts.elements[0])
					n++;
				if (n < 2)
					continue;
			}
			{
				int known = 0;

				for (int f = 1; f < favors->count; f += 2)
					if (favors->elements[f] == want)
						known = 1;
				if (!known) {
					queue_push2(favors, SOLVER_FAVOR | SOLVER_SOLVABLE, want);
					added++;
				}
			}
		}
	}
	map_free(&inst);
	queue_free(&decided);
	queue_free(&alts);
	queue_free(&reqs);
	return added;
}

/* apt's own walk, without conflict handling: from the requested packages
 * follow every dependency, taking what apt takes for each one not yet
 * satisfied.  Favouring the result before the first solve usually makes
 * that solve final (each extra round costs a full solver_solve). */
static void greedy_favors(Pool *pool, const Queue *job, Queue *favors)
{
	Queue sel, alts, reqs;
	Map in;

	queue_init(&sel);
	queue_init(&alts);
	queue_init(&reqs);
	map_init(&in, pool->nsolvables);
	for (int i = 0; i + 1 < job->count; i += 2) {
		Id how = job->elements[i] & SOLVER_SELECTMASK, what = job->elements[i + 1];
		Id p = how == SOLVER_SOLVABLE ? what : how == SOLVER_SOLVABLE_NAME ? apt_candidate(pool, what) : 0;

		if (p && !MAPTST(&in, p)) {
			MAPSET(&in, p);
			queue_push(&sel, p);
		}
	}
	for (int i = 0; i < sel.count; i++) {
		queue_empty(&reqs);
		solvable_lookup_deparray(pool->solvables + sel.elements[i], SOLVABLE_REQUIRES, &reqs, 0);
		for (int k = 0; k < reqs.count; k++) {
			Id want = 0, q, pp;
			int satisfied = 0;

			if (reqs.elements[k] == SOLVABLE_PREREQMARKER)
				continue;
			queue_empty(&alts);
			aptwalk_flatten_or(pool, reqs.elements[k], &alts);
			for (int a = 0; a < alts.count && !satisfied; a++)
				FOR_PROVIDES(q, pp, alts.elements[a])
					if (MAPTST(&in, q))
						satisfied = 1;
			for (int a = 0; a < alts.count && !satisfied && !want; a++)
				want = apt_candidate(pool, alts.elements[a]);
			if (satisfied || !want)
				continue;
			MAPSET(&in, want);
			queue_push(&sel, want);
			queue_push2(favors, SOLVER_FAVOR | SOLVER_SOLVABLE, want);
		}
	}
	map_free(&in);
	queue_free(&sel);
	queue_free(&alts);
	queue_free(&reqs);
}

/* The packages of the layers below, as install jobs (and in `below`). */
static int below_jobs(struct pkgimg_ctx *ctx, Pool *pool, const struct deb_request *req,
		      Queue *job, Queue *below)
{
	for (int i = 0; req->below && i < req->below->n; i++) {
		const struct deb_pkg *b = &req->below->v[i];
		Id p = find_exact(pool, b->name, b->version, b->arch);

		if (!p)
			return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
					  "%s %s: [resolve] the base layer's package is no "
					  "longer in the apt sources; lock the base again",
					  b->name, b->version);
		queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE, p);
		queue_push(below, p);
	}
	return 0;
}

/* `--apt NAME=VERSION` of a package below at another version is an
 * upgrade (or downgrade), as apt-get install does it: the package below is
 * no longer kept (its job becomes a no-op; it stays in `below`, apt's
 * installed set). */
static void upgrade_requested(Pool *pool, Queue *job, const Queue *below)
{
	for (int i = 2 * below->count; i + 1 < job->count; i += 2) {
		Id what = job->elements[i + 1];

		if ((job->elements[i] & SOLVER_SELECTMASK) != SOLVER_SOLVABLE)
			continue;
		for (int k = 0; k < below->count; k++)
			if (below->elements[k] != what &&
			    pool->solvables[below->elements[k]].name == pool->solvables[what].name)
				job->elements[2 * k] = SOLVER_NOOP | SOLVER_SOLVABLE;
	}
}

/* Every Essential: yes name, as install jobs (debian-slim). */
static int essential_jobs(struct pkgimg_ctx *ctx, struct deb_pool *dp, Queue *job)
{
	Pool *pool = dp->pool;
	Queue names;
	Id p;

	queue_init(&names);
	FOR_POOL_SOLVABLES(p) {
		Solvable *s = pool->solvables + p;

		if (solvable_lookup_void(s, dp->essential_key) && pool_installable(pool, s))
			queue_pushunique(&names, s->name);
	}
	for (int i = 0; i < names.count; i++)
		queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE_NAME, names.elements[i]);
	if (!names.count) {
		queue_free(&names);
		return pkgimg_err(ctx, -PKGIMG_E_NOTFOUND,
				  "debian-slim: [resolve] the apt sources hold no Essential: "
				  "yes package, so there is no base to build; use --base "
				  "scratch or add the Debian archive as a source");
	}
	queue_free(&names);
	return 0;
}

static Solver *new_solver(Pool *pool, int recommends)
{
	Solver *solv = solver_create(pool);

	solver_set_flag(solv, SOLVER_FLAG_IGNORE_RECOMMENDED, recommends ? 0 : 1);
	return solv;
}

/* apt's answer (aptwalk): the requests' jobs (after the first `nbelow`
 * pairs) become the solvables apt installs, and the walk's set is handed to
 * libsolv, which checks it.  Returns the solver, or NULL when the walk
 * leaves something broken or libsolv disagrees (then apt-get would run its
 * problem resolver; the caller solves with libsolv alone). */
static Solver *solve_apt(struct deb_pool *dp, const struct deb_request *req, const Queue *job,
			 const Queue *below)
{
	Pool *pool = dp->pool;
	struct aptwalk_req wr = {
		.installed = below->elements, .ninstalled = below->count,
		.recommends = req->install_recommends, .essential_key = dp->essential_key,
		.priority_key = pool_str2id(pool, "deb:priority", 0),
		.important_key = pool_str2id(pool, "deb:important", 0),
	};
	Queue reqs, set, full;
	Solver *solv = NULL;

	queue_init(&reqs);
	queue_init(&set);
	queue_init(&full);
	for (int i = 2 * below->count; i + 1 < job->count; i += 2) {
		Id how = job->elements[i] & SOLVER_SELECTMASK, what = job->elements[i + 1];
		Id p = how == SOLVER_SOLVABLE ? what : apt_candidate(pool, what);

		if (p)
			queue_push(&reqs, p);
	}
	wr.requests = reqs.elements;
	wr.nrequests = reqs.count;
	if (aptwalk_run(pool, &wr, &set) == 0) {
		/* the requests too; a package below that the walk upgrades
		 * is no longer kept (its job a no-op) */
		for (int i = 0; i < job->count; i++)
			queue_push(&full, job->elements[i]);
		for (int i = 0; i < below->count; i++)
			for (int k = 0; k < set.count; k++)
				if (pool->solvables[set.elements[k]].name ==
				    pool->solvables[below->elements[i]].name)
					full.elements[2 * i] = SOLVER_NOOP | SOLVER_SOLVABLE;
		for (int i = 0; i < set.count; i++)
			queue_push2(&full, SOLVER_INSTALL | SOLVER_SOLVABLE, set.elements[i]);
		solv = new_solver(pool, 0);	/* the walk followed Recommends already */
		if (solver_solve(solv, &full)) {
			solver_free(solv);
			solv = NULL;
		}
	}
	queue_free(&reqs);
	queue_free(&set);
	queue_free(&full);
	return solv;
}

struct job_ctx {
	struct deb_pool *dp;
	const struct deb_request *req;
	const Queue *below;
};

/* A job that the user did not ask for, in words: a package of the layers
 * below, or an Essential package of the base. */
static int job_words(void *data, Id how, Id what, char *buf, size_t size)
{
	const struct job_ctx *jc = data;
	Pool *pool = jc->dp->pool;
	Solvable *s;

	if ((how & SOLVER_SELECTMASK) == SOLVER_SOLVABLE) {
		for (int i = 0; i < jc->below->count; i++)
			if (jc->below->elements[i] == what) {
				s = pool->solvables + what;
				snprintf(buf, size, "%s %s is in the layers below (kept as it is)",
					 pool_id2str(pool, s->name), pool_id2str(pool, s->evr));
				return 1;
			}
		return 0;
	}
	if ((how & SOLVER_SELECTMASK) != SOLVER_SOLVABLE_NAME || !jc->req->essential || ISRELDEP(what))
		return 0;
	for (int i = 0; i < jc->req->nnames; i++)
		if (!strcmp(jc->req->names[i], pool_id2str(pool, what)))
			return 0;
	snprintf(buf, size, "%s is Essential (the base has every Essential: yes package)",
		 pool_id2str(pool, what));
	return 1;
}

/* libsolv alone, steered towards apt's choices by favours; a conflict is
 * explained from the plain request. */
static int solve_favored(struct pkgimg_ctx *ctx, struct deb_pool *dp, const struct deb_request *req,
			 const Queue *job, const Queue *below, Solver **out)
{
	Pool *pool = dp->pool;
	struct job_ctx jc = { .dp = dp, .req = req, .below = below };
	Queue full, favors;
	Solver *solv = NULL;
	int problems = 0, r = 0;

	queue_init(&full);
	queue_init(&favors);
	greedy_favors(pool, job, &favors);
	for (int round = 0; round < 8; round++) {
		if (solv)
			solver_free(solv);
		queue_init_clone(&full, job);
		for (int f = 0; f < favors.count; f++)
			queue_push(&full, favors.elements[f]);
		solv = new_solver(pool, req->install_recommends);
		problems = solver_solve(solv, &full);
		queue_free(&full);
		if (problems || !add_apt_favors(solv, &favors))
			break;
	}
	if (problems && favors.count) {
		/* the favoured choices clash: the plain solve tells why best */
		solver_free(solv);
		solv = new_solver(pool, req->install_recommends);
		problems = solver_solve(solv, (Queue *)job);
	}
	queue_free(&favors);
	if (problems)
		r = explain_problems_as(ctx, solv, "apt", job_words, &jc);
	*out = solv;
	return r;
}

int deb_solve(struct pkgimg_ctx *ctx, struct deb_pool *dp, const struct deb_request *req,
	      struct deb_pkglist *out)
{
	Pool *pool = dp->pool;
	Solver *solv = NULL;
	Transaction *trans = NULL;
	Queue job, below;
	struct deb_pkglist res = { 0 };
	int r = 0;

	queue_init(&job);
	queue_init(&below);
	r = below_jobs(ctx, pool, req, &job, &below);
	if (r == 0 && req->essential)
		r = essential_jobs(ctx, dp, &job);
	for (int i = 0; r == 0 && i < req->nnames; i++)
		r = add_request(ctx, pool, req->names[i], &job);
	if (r < 0)
		goto out;
	upgrade_requested(pool, &job, &below);
	solv = solve_apt(dp, req, &job, &below);
	if (!solv) {
		r = solve_favored(ctx, dp, req, &job, &below, &solv);
		if (r < 0)
			goto out;
	}
	trans = solver_create_transaction(solv);
	for (int i = 0; i < trans->steps.count; i++) {
		Id p = trans->steps.elements[i];
		Solvable *s = pool->solvables + p;
		struct deb_repo_info *info = s->repo->appdata;
		struct deb_pkg *d;
		const unsigned char *ck;
		const char *loc;
		Id cktype = 0;
		unsigned int medianr;
		int skip = 0;

		if (transaction_type(trans, p, SOLVER_TRANSACTION_SHOW_ALL) != SOLVER_TRANSACTION_INSTALL)
			continue;
		for (int k = 0; k < below.count; k++)
			if (below.elements[k] == p)
				skip = 1;
		if (skip)
			continue;
		res.v = xrealloc(res.v, (size_t)(res.n + 1) * sizeof *res.v);
		d = &res.v[res.n++];
		memset(d, 0, sizeof *d);
		d->name = xstrdup(pool_id2str(pool, s->name));
		d->version = xstrdup(pool_id2str(pool, s->evr));
		d->arch = xstrdup(pool_id2str(pool, s->arch));
		loc = solvable_get_location(s, &medianr);
		d->url = xasprintf("%s/%s", info ? info->base_uri : "", loc ? loc : "");
		d->size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
		d->requested_by = requested_by(pool, s, req, dp->essential_key);
		ck = solvable_lookup_bin_checksum(s, SOLVABLE_CHECKSUM, &cktype);
		if (!ck || cktype != REPOKEY_TYPE_SHA256) {
			r = pkgimg_err(ctx, -PKGIMG_E_PARSE,
				       "%s %s: [resolve] the index gives no SHA256 for this package; "
				       "pkgimg installs only verifiable packages", d->name, d->version);
			goto out;
		}
		for (int k = 0; k < 32; k++)
			snprintf(d->sha256 + 2 * k, 3, "%02x", ck[k]);
	}
	if (res.n > 1)
		qsort(res.v, (size_t)res.n, sizeof *res.v, cmp_pkg);
out:
	if (trans)
		transaction_free(trans);
	if (solv)
		solver_free(solv);
	queue_free(&job);
	queue_free(&below);
	if (r < 0)
		deb_pkglist_free(&res);
	else
		*out = res;
	return r;
}
