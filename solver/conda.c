/* conda channels into a libsolv pool, and solving MatchSpecs against it
 * (solver/conda.h). */
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <solv/bitmap.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_conda.h>
#include <solv/repodata.h>
#include <solv/solv_xfopen.h>
#include <solv/solver.h>
#include <solv/transaction.h>

#include "cache/fetch.h"
#include "cache/store.h"
#include "core/ctx.h"
#include "core/hash.h"
#include "core/str.h"
#include "solver/conda.h"
#include "solver/explain.h"
#include "solver/matchspec.h"
#include "solver/solvcache.h"

#define SOLV_FORMAT "2"	/* bump when what the .solv cache holds changes (2: solvcache header) */

/* One channel subdir: where it is, what was fetched, its repo. */
struct csub {
	char *channel;		/* channel URL */
	const char *subdir;
	char *url;		/* channel/subdir */
	char *dir;		/* ROOT/index/conda-<id> */
	char *file;		/* the fetched repodata (.json.zst or .json) */
	char sha256[65];
	Repo *repo;
};

/* A user's spec, parsed, and the namespace dependency that stands for it. */
struct cspec {
	struct matchspec m;
	Id dep;
	Id text;		/* the spec string's id (the namespace's evr) */
};

struct csolver {
	struct pkgimg_ctx *ctx;
	Pool *pool;
	struct csub *subs;
	size_t nsubs;
	struct cspec *specs;
	size_t nspecs;
	Id ns;			/* the namespace's name: "conda" */
};

const char *conda_subdir(const char *a)
{
	static const char *const map[][2] = {
		{ "amd64", "linux-64" }, { "arm64", "linux-aarch64" },
		{ "ppc64el", "linux-ppc64le" }, { "s390x", "linux-s390x" },
		{ "i386", "linux-32" }, { "armhf", "linux-armv7l" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(a, map[i][0]))
			return map[i][1];
	return NULL;
}

char *conda_channel_url(const char *c)
{
	struct sbuf s = SBUF_INIT;
	size_t n;

	if (strstr(c, "://")) {
		sbuf_adds(&s, c);
	} else if (c[0] == '/' || !strncmp(c, "./", 2) || !strncmp(c, "../", 3)) {
		char *abs = realpath(c, NULL);

		sbuf_addf(&s, "file://%s", abs ? abs : c);
		free(abs);
	} else {
		const char *alias = getenv(CONDA_CHANNEL_ALIAS_ENV);

		if (!alias || !*alias)
			alias = CONDA_CHANNEL_ALIAS_DEFAULT;
		sbuf_adds(&s, alias);
		while (s.len && s.buf[s.len - 1] == '/')
			s.buf[--s.len] = 0;
		sbuf_addf(&s, "/%s", c);
	}
	n = s.len;
	while (n > 1 && s.buf[n - 1] == '/')
		s.buf[--n] = 0;
	s.len = n;
	return sbuf_detach(&s);
}

void conda_lock_info_free(struct conda_lock_info *ci)
{
	free(ci->python);
	free(ci->prefix);
	ci->python = ci->prefix = NULL;
}

/* --- fetching and loading channels --------------------------------------- */

/* Fetches every subdir's repodata: the .zst of all at once, then the plain
 * JSON of those that serve no .zst. */
static int fetch_subs(struct pkgimg_ctx *ctx, struct store *st, struct csub *subs, size_t n)
{
	struct fetch_item *it = xcalloc(n, sizeof *it);
	char **urls = xcalloc(n * 2, sizeof *urls), **dests = xcalloc(n * 2, sizeof *dests);
	size_t *second = xcalloc(n, sizeof *second), m = 0;
	int r;

	for (size_t i = 0; i < n; i++) {
		urls[i] = xasprintf("%s/repodata.json.zst", subs[i].url);
		dests[i] = xasprintf("%s/repodata.json.zst", subs[i].dir);
		it[i] = (struct fetch_item){ .url = urls[i], .dest = dests[i], .size = -1,
					     .label = subs[i].url, .optional = 1 };
	}
	r = fetch_all(ctx, st, it, (int)n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (it[i].result == 0) {
			subs[i].file = xstrdup(dests[i]);
			memcpy(subs[i].sha256, it[i].sha256_got, sizeof subs[i].sha256);
			continue;
		}
		urls[n + m] = xasprintf("%s/repodata.json", subs[i].url);
		dests[n + m] = xasprintf("%s/repodata.json", subs[i].dir);
		it[m] = (struct fetch_item){ .url = urls[n + m], .dest = dests[n + m], .size = -1,
					     .label = subs[i].url };
		subs[i].file = xstrdup(dests[n + m]);
		second[m++] = i;
	}
	if (r == 0 && m)
		r = fetch_all(ctx, st, it, (int)m);
	for (size_t k = 0; r == 0 && k < m; k++)
		memcpy(subs[second[k]].sha256, it[k].sha256_got, sizeof subs[second[k]].sha256);
	if (r < 0)
		pkgimg_err_wrap(ctx, r, "[index] conda channel (check the -c URL; a channel "
				"serves <subdir>/repodata.json for its subdirs and noarch)");
	for (size_t i = 0; i < n * 2; i++) {
		free(urls[i]);
		free(dests[i]);
	}
	free(urls);
	free(dests);
	free(second);
	free(it);
	return r;
}

/* Loads one subdir's repodata into its repo, through the .solv cache. */
static int load_sub(struct pkgimg_ctx *ctx, Pool *pool, struct csub *s)
{
	char *solv;
	FILE *fp;
	int r = 0;

	/* the fetcher keeps the digest with the validators; a copy cached
	 * before it did is hashed here */
	if (!s->sha256[0] && (r = hash_file_sha256(AT_FDCWD, s->file, s->sha256)) < 0)
		return pkgimg_err(ctx, r, "%s: [index] cannot read the cached repodata: %s; "
				  "remove it and lock again", s->file, strerror(-r));
	s->repo = repo_create(pool, s->url);
	s->repo->appdata = s;
	solv = xasprintf("%s/repodata-%s-v" SOLV_FORMAT ".solv", s->dir, s->sha256);
	if (solvcache_load(s->repo, solv))
		goto out;
	fp = solv_xfopen(s->file, "r");	/* decompresses by the name: .zst */
	if (!fp) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s/%s: [index] cannot open or decompress "
			       "the repodata", s->url, strrchr(s->file, '/') + 1);
		goto out;
	}
	if (repo_add_conda(s->repo, fp, 0) != 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s/%s: [index] not valid repodata: %s "
			       "(the channel serves a broken file; fix it or drop the -c)",
			       s->url, strrchr(s->file, '/') + 1, pool_errstr(pool));
		fclose(fp);
		goto out;
	}
	fclose(fp);
	solvcache_save(s->repo, solv, NULL);
out:
	free(solv);
	return r;
}

static void csubs_free(struct csub *subs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(subs[i].channel);
		free(subs[i].url);
		free(subs[i].dir);
		free(subs[i].file);
	}
	free(subs);
}

/* --- virtual packages ---------------------------------------------------- */

/* The leading "N.N.N" of a kernel release ("6.1.0-18-amd64" -> "6.1.0"). */
static char *kernel_version(void)
{
	struct utsname u;
	size_t n;

	if (uname(&u) != 0)
		return xstrdup("0");
	n = strspn(u.release, "0123456789.");
	while (n && u.release[n - 1] == '.')
		n--;
	return n ? xstrndup(u.release, n) : xstrdup("0");
}

/* The value of a virtual package: the override when set ("" drops it). */
static const char *override(const char *env, const char *dflt)
{
	const char *v = getenv(env);

	return v ? (*v ? v : NULL) : dflt;
}

static void add_virtual(Pool *pool, Repo *repo, Repodata *data, const char *name,
			const char *version, const char *build)
{
	Id p = repo_add_solvable(repo);
	Solvable *s = pool->solvables + p;

	s->name = pool_str2id(pool, name, 1);
	s->evr = pool_str2id(pool, version, 1);
	s->provides = repo_addid_dep(repo, s->provides,
				     pool_rel2id(pool, s->name, s->evr, REL_EQ, 1), 0);
	repodata_add_poolstr_array(data, p, SOLVABLE_BUILDFLAVOR, build);
	repodata_set_str(data, p, SOLVABLE_BUILDVERSION, "0");
}

static void add_virtuals(struct pkgimg_ctx *ctx, Pool *pool, const struct conda_request *rq,
			 const char **cuda_used)
{
	Repo *repo = repo_create(pool, "@virtual");
	Repodata *data = repo_add_repodata(repo, 0);
	char *kernel = kernel_version();
	const char *machine = !strcmp(ctx->arch, "amd64") ? "x86_64"
		: !strcmp(ctx->arch, "arm64") ? "aarch64"
		: !strcmp(ctx->arch, "ppc64el") ? "ppc64le"
		: !strcmp(ctx->arch, "i386") ? "x86" : ctx->arch;
	const char *v;

	add_virtual(pool, repo, data, "__unix", "0", "0");
	if ((v = override("CONDA_OVERRIDE_LINUX", kernel)))
		add_virtual(pool, repo, data, "__linux", v, "0");
	if ((v = override("CONDA_OVERRIDE_GLIBC", rq->glibc ? rq->glibc : gnu_get_libc_version())))
		add_virtual(pool, repo, data, "__glibc", v, "0");
	if ((v = override("CONDA_OVERRIDE_ARCHSPEC", machine)))
		add_virtual(pool, repo, data, "__archspec", "1", v);
	*cuda_used = override("CONDA_OVERRIDE_CUDA", rq->cuda);
	if (*cuda_used)
		add_virtual(pool, repo, data, "__cuda", *cuda_used, "0");
	repodata_internalize(data);
	pool_set_installed(pool, repo);
	free(kernel);
}

/* --- MatchSpecs through the namespace callback --------------------------- */

/* The channel subdir of a solvable (NULL for a virtual package). */
static const struct csub *sub_of(const Solvable *s)
{
	return s->repo ? s->repo->appdata : NULL;
}

static const char *basename_of(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : p;
}

static bool spec_matches(const struct csolver *cs, const struct matchspec *m, Id p)
{
	Pool *pool = cs->pool;
	Solvable *s = pool->solvables + p;
	const struct csub *sub = sub_of(s);
	const char *bn = solvable_lookup_str(s, SOLVABLE_BUILDVERSION);
	Id type = 0;
	struct matchspec_record rec = {
		.name = pool_id2str(pool, s->name),
		.version = pool_id2str(pool, s->evr),
		.build = solvable_lookup_str(s, SOLVABLE_BUILDFLAVOR),
		.build_number = bn ? strtoull(bn, NULL, 10) : 0,
		.channel = sub ? sub->channel : NULL,
		.subdir = sub ? sub->subdir : NULL,
	};
	char *url = NULL;
	bool ok;

	if (!rec.build)
		rec.build = "";
	if (sub) {
		rec.md5 = solvable_lookup_checksum(s, SOLVABLE_PKGID, &type);
		rec.sha256 = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
		rec.fn = basename_of(solvable_lookup_location(s, NULL));
		if (m->url && rec.fn)
			rec.url = url = xasprintf("%s/%s", sub->url, rec.fn);
	}
	ok = matchspec_matches(m, &rec);
	free(url);
	return ok;
}

static Id ns_callback(Pool *pool, void *data, Id name, Id evr)
{
	struct csolver *cs = data;
	const struct matchspec *m = NULL;
	Queue q;
	Id res;

	if (name != cs->ns)
		return 0;
	for (size_t i = 0; i < cs->nspecs; i++)
		if (cs->specs[i].text == evr)
			m = &cs->specs[i].m;
	if (!m)
		return 0;
	queue_init(&q);
	if (m->name.kind == MATCHSPEC_EXACT && m->name.text) {
		Id nid = pool_str2id(pool, m->name.text, 0), p, pp;

		if (nid)
			FOR_PROVIDES(p, pp, nid)
				if (pool->solvables[p].name == nid &&
				    (!pool->considered || MAPTST(pool->considered, p)) &&
				    spec_matches(cs, m, p))
					queue_push(&q, p);
	} else {
		Id p;

		FOR_POOL_SOLVABLES(p)
			if ((!pool->considered || MAPTST(pool->considered, p)) &&
			    spec_matches(cs, m, p))
				queue_push(&q, p);
	}
	res = q.count ? pool_queuetowhatprovides(pool, &q) : 0;
	queue_free(&q);
	return res;
}

/* conda's strict channel priority: a name is taken only from the first
 * channel that has it, or, when a spec names its channel
 * ("conda-forge::numpy"), from the first channel that has a match for it.
 * Done through pool->considered (libsolv's STRICT_REPO_PRIORITY flag cannot
 * let a channel:: spec through). */
static void strict_priority(struct csolver *cs)
{
	Pool *pool = cs->pool;
	int *best = xcalloc((size_t)pool->ss.nstrings, sizeof *best);
	bool *pinned = xcalloc((size_t)pool->ss.nstrings, sizeof *pinned);
	Solvable *s;
	Id p;

	for (size_t i = 0; i < cs->nspecs; i++) {
		const struct matchspec *m = &cs->specs[i].m;
		Id nid;

		if (!m->channel.text || m->name.kind != MATCHSPEC_EXACT || !m->name.text ||
		    !(nid = pool_str2id(pool, m->name.text, 0)))
			continue;
		pinned[nid] = true;
		FOR_POOL_SOLVABLES(p) {
			s = pool->solvables + p;
			if (s->name == nid && s->repo != pool->installed &&
			    s->repo->priority > best[nid] && spec_matches(cs, m, p))
				best[nid] = s->repo->priority;
		}
	}
	FOR_POOL_SOLVABLES(p) {
		s = pool->solvables + p;
		if (s->repo != pool->installed && !pinned[s->name] && s->repo->priority > best[s->name])
			best[s->name] = s->repo->priority;
	}
	pool->considered = xcalloc(1, sizeof *pool->considered);
	map_init(pool->considered, pool->nsolvables);
	FOR_POOL_SOLVABLES(p) {
		s = pool->solvables + p;
		if (s->repo == pool->installed || s->repo->priority == best[s->name])
			MAPSET(pool->considered, p);
	}
	free(best);
	free(pinned);
}

/* --- the solve ----------------------------------------------------------- */

/* "conda: numpy python=3.12 -c conda-forge": specs sorted (their order
 * does not matter), channels in their order (it does). */
static char *step_text(const struct conda_request *rq, const char *const *chans, size_t nch,
		       const char *prefix)
{
	const char **v = xcalloc(rq->nspecs + 1, sizeof *v);
	struct sbuf s = SBUF_INIT;

	memcpy(v, rq->specs, rq->nspecs * sizeof *v);
	qsort(v, rq->nspecs, sizeof *v, str_cmp_ptr);
	sbuf_adds(&s, "conda:");
	for (size_t i = 0; i < rq->nspecs; i++)
		if (i == 0 || strcmp(v[i], v[i - 1]))
			sbuf_addf(&s, " %s", v[i]);
	for (size_t i = 0; i < nch; i++)
		sbuf_addf(&s, " -c %s", chans[i]);
	if (strcmp(prefix, CONDA_PREFIX_DEFAULT))
		sbuf_addf(&s, " --conda-prefix %s", prefix);
	free(v);
	return sbuf_detach(&s);
}

static int add_pkg(struct csolver *cs, const struct conda_request *rq, Id p, struct lock_pkg *lp)
{
	Pool *pool = cs->pool;
	Solvable *s = pool->solvables + p;
	const struct csub *sub = sub_of(s);
	const char *fn = basename_of(solvable_lookup_location(s, NULL));
	const char *sha, *md5, *build = solvable_lookup_str(s, SOLVABLE_BUILDFLAVOR);
	Id type = 0;

	sha = solvable_lookup_checksum(s, SOLVABLE_CHECKSUM, &type);
	md5 = solvable_lookup_checksum(s, SOLVABLE_PKGID, &type);
	if (!sub || !fn)
		return pkgimg_err(cs->ctx, -PKGIMG_E_PARSE, "%s: [lock] a record without a file "
				  "name in the repodata", pool_solvable2str(pool, s));
	if (!sha && !md5)
		return pkgimg_err(cs->ctx, -PKGIMG_E_PARSE, "%s/%s: [lock] the repodata gives "
				  "neither sha256 nor md5 for it, so it cannot be verified; the "
				  "channel must list one", sub->url, fn);
	lp->ecosystem = xstrdup("conda");
	lp->name = xstrdup(pool_id2str(pool, s->name));
	lp->version = xstrdup(pool_id2str(pool, s->evr));
	lp->arch = xstrdup(sub->subdir);
	lp->url = xasprintf("%s/%s", sub->url, fn);
	lp->sha256 = xstrdup(sha ? sha : "");
	lp->size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
	lp->filename = xstrdup(fn);
	lp->index = xstrdup(sub->channel);
	lp->build = xstrdup(build ? build : "");
	lp->md5 = md5 ? xstrdup(md5) : NULL;
	lp->requested_by = NULL;
	for (size_t i = 0; i < cs->nspecs && !lp->requested_by; i++)
		if (spec_matches(cs, &cs->specs[i].m, p))
			lp->requested_by = xasprintf("--conda %s", rq->specs[i]);
	if (!lp->requested_by)
		lp->requested_by = xstrdup("dependency");
	return 0;
}

/* The channels: -c, else $PKGIMG_CHANNELS, else conda-forge. */
static void conda_channels(const struct conda_request *rq, struct strv *chans)
{
	const char *env = getenv(CONDA_CHANNELS_ENV);

	for (size_t i = 0; i < rq->nchannels; i++)
		strv_add(chans, rq->channels[i]);
	if (!chans->n && env) {
		char *envch = xstrdup(env);

		for (char *save = NULL, *t = strtok_r(envch, ", ", &save); t;
		     t = strtok_r(NULL, ", ", &save))
			strv_add(chans, t);
		free(envch);
	}
	if (!chans->n)
		strv_add(chans, CONDA_CHANNEL_DEFAULT);
}

/* Every channel's subdir and noarch, fetched (conditionally) and loaded
 * into cs->pool, the first channel highest in priority. */
static int conda_load_channels(struct csolver *cs, struct store *st, const struct strv *chans,
			       const char *subdir)
{
	struct pkgimg_ctx *ctx = cs->ctx;
	int r = 0;

	cs->pool = pool_create();
	pool_setdisttype(cs->pool, DISTTYPE_CONDA);
	cs->nsubs = chans->n * 2;
	cs->subs = xcalloc(cs->nsubs, sizeof *cs->subs);
	for (size_t i = 0; i < chans->n && r == 0; i++) {
		char *url = conda_channel_url(chans->v[i]);

		for (int k = 0; k < 2 && r == 0; k++) {
			struct csub *s = &cs->subs[i * 2 + k];
			char hex[65], *id;

			s->channel = xstrdup(url);
			s->subdir = k == 0 ? subdir : "noarch";
			s->url = xasprintf("%s/%s", url, s->subdir);
			hash_sha256_hex(s->url, strlen(s->url), hex);
			id = xasprintf("conda-%.16s", hex);
			r = store_index_dir(ctx, st, id, &s->dir);
			free(id);
		}
		free(url);
	}
	if (r == 0)
		r = fetch_subs(ctx, st, cs->subs, cs->nsubs);
	for (size_t i = 0; r == 0 && i < cs->nsubs; i++) {
		r = load_sub(ctx, cs->pool, &cs->subs[i]);
		if (r == 0)	/* strict priority: the first channel highest */
			cs->subs[i].repo->priority = (int)(chans->n - i / 2);
	}
	return r;
}

/* The specs, each a namespace dependency answered by ns_callback, as jobs;
 * a spec nothing provides is an error that names the channels searched. */
static int conda_add_specs(struct csolver *cs, const struct conda_request *rq,
			   const struct strv *chans, const char *subdir, Queue *job)
{
	struct pkgimg_ctx *ctx = cs->ctx;
	int r = 0;

	cs->ns = pool_str2id(cs->pool, "conda", 1);
	cs->specs = xcalloc(rq->nspecs + 1, sizeof *cs->specs);
	for (size_t i = 0; i < rq->nspecs && r == 0; i++) {
		struct cspec *sp = &cs->specs[i];

		r = matchspec_parse(ctx, rq->specs[i], &sp->m);
		if (r < 0) {
			pkgimg_err_wrap(ctx, r, "--conda %s: [lock] (write a conda MatchSpec, e.g. "
					"numpy>=1.26 or conda-forge::numpy=1.26=py312*)", rq->specs[i]);
			break;
		}
		cs->nspecs++;
		if (sp->m.url || (sp->m.fn && !sp->m.name.text)) {
			r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "--conda %s: [lock] a package URL or "
				       "file is not a spec a channel can answer; give name and "
				       "version (-c for the channel)", rq->specs[i]);
			break;
		}
		sp->text = pool_str2id(cs->pool, rq->specs[i], 1);
		sp->dep = pool_rel2id(cs->pool, cs->ns, sp->text, REL_NAMESPACE, 1);
		queue_push2(job, SOLVER_INSTALL | SOLVER_SOLVABLE_PROVIDES, sp->dep);
	}
	if (r < 0)
		return r;
	strict_priority(cs);
	pool_setnamespacecallback(cs->pool, ns_callback, cs);
	pool_addfileprovides(cs->pool);
	pool_createwhatprovides(cs->pool);
	for (size_t i = 0; i < cs->nspecs; i++) {
		Id wp = pool_whatprovides(cs->pool, cs->specs[i].dep);

		/* none: libsolv would drop a namespace job that nothing provides */
		if (!cs->pool->whatprovidesdata[wp]) {
			struct sbuf where = SBUF_INIT;

			for (size_t k = 0; k < chans->n; k++)
				sbuf_addf(&where, "%s%s", k ? ", " : "", chans->v[k]);
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "--conda %s: [lock] no package "
				       "matches it in %s (subdirs %s and noarch); check the name and "
				       "version, or add the channel that has it with -c",
				       rq->specs[i], where.buf, subdir);
			sbuf_free(&where);
			return r;
		}
	}
	return 0;
}

/* The transaction as a lock layer of lf, and every subdir read as a source. */
static int conda_emit_layer(struct csolver *cs, const struct conda_request *rq,
			    Transaction *trans, const struct strv *chans, const char *prefix,
			    struct lockfile *lf, const char **python)
{
	struct lock_layer *l;
	Queue inst;
	int r = 0;

	*python = NULL;
	queue_init(&inst);
	for (int i = 0; i < trans->steps.count; i++) {
		Id p = trans->steps.elements[i];

		if (cs->pool->solvables[p].repo != cs->pool->installed)
			queue_push(&inst, p);
	}
	lf->layers = xrealloc(lf->layers, (size_t)(lf->nlayers + 1) * sizeof *lf->layers);
	l = &lf->layers[lf->nlayers];
	memset(l, 0, sizeof *l);
	l->step = step_text(rq, (const char *const *)chans->v, chans->n, prefix);
	l->kind = LOCK_CONDA;
	l->prefix = xstrdup(prefix);
	l->pkgs = xcalloc((size_t)inst.count + 1, sizeof *l->pkgs);
	for (int i = 0; i < inst.count && r == 0; i++) {
		Id p = inst.elements[i];

		r = add_pkg(cs, rq, p, &l->pkgs[l->npkgs++]);
		if (!strcmp(pool_id2str(cs->pool, cs->pool->solvables[p].name), "python"))
			*python = pool_id2str(cs->pool, cs->pool->solvables[p].evr);
	}
	queue_free(&inst);
	lf->nlayers++;	/* freed with lf, complete or not */
	if (r < 0)
		return r;
	lf->sources = xrealloc(lf->sources, (size_t)(lf->nsources + (int)cs->nsubs + 1) *
			       sizeof *lf->sources);
	for (size_t i = 0; i < cs->nsubs; i++) {
		struct lock_source *s = &lf->sources[lf->nsources++];

		memset(s, 0, sizeof *s);
		s->type = xstrdup("conda");
		s->uri = xstrdup(cs->subs[i].url);
		s->repodata_sha256 = xstrdup(cs->subs[i].sha256);
	}
	return 0;
}

int conda_lock_layer(struct pkgimg_ctx *ctx, struct store *st, const struct conda_request *rq,
		     struct lockfile *lf, struct conda_lock_info *info)
{
	const char *subdir = conda_subdir(ctx->arch), *cuda = NULL, *py = NULL;
	const char *prefix = rq->prefix ? rq->prefix : CONDA_PREFIX_DEFAULT;
	struct csolver cs = { .ctx = ctx };
	struct strv chans = { 0 };
	Solver *solv = NULL;
	Transaction *trans = NULL;
	Queue job;
	int r = 0;

	queue_init(&job);
	if (!subdir)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "[lock] conda has no subdir for the "
				  "architecture %s", ctx->arch);
	if (prefix[0] != '/' || strstr(prefix, "/../") || strlen(prefix) < 2)
		return pkgimg_err(ctx, -PKGIMG_E_USAGE, "--conda-prefix %s: [lock] give an "
				  "absolute path inside the image, e.g. /opt/conda", prefix);
	conda_channels(rq, &chans);
	r = conda_load_channels(&cs, st, &chans, subdir);
	if (r < 0)
		goto out;
	add_virtuals(ctx, cs.pool, rq, &cuda);
	r = conda_add_specs(&cs, rq, &chans, subdir, &job);
	if (r < 0)
		goto out;
	solv = solver_create(cs.pool);
	if (solver_solve(solv, &job)) {
		r = explain_problems(ctx, solv, "conda");
		if (!cuda && strstr(ctx->errmsg, "__cuda")) {
			size_t n = strlen(ctx->errmsg);

			snprintf(ctx->errmsg + n, sizeof ctx->errmsg - n, "\n  (__cuda is the "
				 "CUDA driver's version, and none was found: pass --cuda X.Y, or "
				 "--gpu on a machine with one)");
		}
		goto out;
	}
	trans = solver_create_transaction(solv);
	r = conda_emit_layer(&cs, rq, trans, &chans, prefix, lf, &py);
	if (r < 0)
		goto out;
	if (cuda && !lf->cuda)
		lf->cuda = xstrdup(cuda);
	if (info) {
		info->python = py ? xstrdup(py) : NULL;
		info->prefix = xstrdup(prefix);
	}
out:
	if (trans)
		transaction_free(trans);
	if (solv)
		solver_free(solv);
	for (size_t i = 0; i < cs.nspecs; i++)
		matchspec_free(&cs.specs[i].m);
	free(cs.specs);
	csubs_free(cs.subs, cs.nsubs);
	if (cs.pool && cs.pool->considered) {
		map_free(cs.pool->considered);
		free(cs.pool->considered);
		cs.pool->considered = NULL;
	}
	if (cs.pool)
		pool_free(cs.pool);
	strv_free(&chans);
	queue_free(&job);
	return r;
}
