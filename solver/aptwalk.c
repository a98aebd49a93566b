/* apt's MarkInstall walk (apt 2.6): see aptwalk.h.  Packages are names
 * (one architecture); a name's candidate is its highest installable version
 * at the highest of apt's default pins (aptwalk_cand_cmp; the installed
 * version counts at least at 100, as apt's status file), never lower than
 * the installed one, or the version asked for. */
#include <stdlib.h>
#include <string.h>

#include <solv/bitmap.h>
#include <solv/evr.h>
#include <solv/pool.h>
#include <solv/poolarch.h>
#include <solv/repo.h>

#include "core/str.h"
#include "solver/aptwalk.h"

#define MAX_DEPTH 3000		/* apt refuses deeper recursion too */

enum {
	F_PROT = 1,		/* protected: asked for, or the one way to satisfy one */
	F_INSTALLED = 2,	/* in the layers below (orig[]): kept unless asked
				 * for, or a dependency needs another version */
	F_CAND = 4,		/* cand[] is known (0: no candidate) */
};

struct aw {
	Pool *pool;
	const struct aptwalk_req *req;
	Id *cand;		/* name -> candidate solvable */
	Id *inst;		/* name -> marked (or installed) solvable, 0 if none */
	Id *orig;		/* name -> the installed solvable (layers below), 0 if none */
	unsigned char *fl;	/* name -> F_* */
	int *aptid;		/* name -> apt's package id, computed when first needed */
	Queue marked;		/* names in the order they were marked */
};

static int mark_install(struct aw *w, Id name, int autoinst, int depth, int fromuser);

static Id sname(const struct aw *w, Id p)
{
	return w->pool->solvables[p].name;
}

int aptwalk_cand_cmp(Pool *pool, Id a, Id b)
{
	Solvable *sa = pool->solvables + a, *sb = pool->solvables + b;

	if (sa->repo->priority != sb->repo->priority)
		return sa->repo->priority > sb->repo->priority ? 1 : -1;
	return pool_evrcmp(pool, sa->evr, sb->evr, EVRCMP_COMPARE);
}

/* apt's pin of a version: its source's, and at least 100 for the
 * installed one (apt's status file). */
static int pin(const struct aw *w, Id p)
{
	const Solvable *s = w->pool->solvables + p;
	int prio = s->repo->priority;

	return w->orig[s->name] == p && prio < 100 ? 100 : prio;
}

/* A name's candidate: its best installable version by pin, then version;
 * for an installed name, never a version below the installed one (apt
 * downgrades only for a pin of 1000 or more, which default pins are not). */
static Id candidate(struct aw *w, Id name)
{
	Pool *pool = w->pool;
	Id p, pp, best = 0, cur = w->orig[name];

	if (w->fl[name] & F_CAND)
		return w->cand[name];
	FOR_PROVIDES(p, pp, name) {
		Solvable *s = pool->solvables + p;
		int c;

		if (s->name != name || !pool_installable(pool, s))
			continue;
		c = best ? pin(w, p) - pin(w, best) : 1;
		if (!c)
			c = pool_evrcmp(pool, s->evr, pool->solvables[best].evr, EVRCMP_COMPARE);
		if (c > 0)
			best = p;
	}
	if (cur && (!best || pool_evrcmp(pool, pool->solvables[best].evr,
					 pool->solvables[cur].evr, EVRCMP_COMPARE) < 0))
		best = cur;
	w->fl[name] |= F_CAND;
	w->cand[name] = best;
	return best;
}

void aptwalk_flatten_or(Pool *pool, Id dep, Queue *alts)
{
	if (ISRELDEP(dep)) {
		Reldep *rd = GETRELDEP(pool, dep);

		if (rd->flags == REL_OR) {
			aptwalk_flatten_or(pool, rd->name, alts);
			aptwalk_flatten_or(pool, rd->evr, alts);
			return;
		}
	}
	queue_push(alts, dep);
}

Id aptwalk_dep_name(Pool *pool, Id dep)
{
	while (ISRELDEP(dep))
		dep = GETRELDEP(pool, dep)->name;
	return dep;
}

/* apt's DepInstall: something installed or marked satisfies `dep`. */
static int dep_installed(struct aw *w, Id dep)
{
	Pool *pool = w->pool;
	Id p, pp;

	FOR_PROVIDES(p, pp, dep)
		if (w->inst[sname(w, p)] == p)
			return 1;
	return 0;
}

/* apt's DepCVer: a candidate satisfies `dep`. */
static int dep_candidate(struct aw *w, Id dep)
{
	Pool *pool = w->pool;
	Id p, pp;

	FOR_PROVIDES(p, pp, dep)
		if (candidate(w, sname(w, p)) == p)
			return 1;
	return 0;
}

static int group_installed(struct aw *w, Id dep)
{
	Queue alts;
	int r = 0;

	queue_init(&alts);
	aptwalk_flatten_or(w->pool, dep, &alts);
	for (int a = 0; a < alts.count && !r; a++)
		r = dep_installed(w, alts.elements[a]);
	queue_free(&alts);
	return r;
}

/* Appends a dependency array of s: all of it (part 0), what stands after
 * the Pre-Depends marker (1) or before it (-1). */
static void dep_array(const Solvable *s, Offset off, int part, Queue *q)
{
	int after = 0;

	if (!off)
		return;
	for (const Id *d = s->repo->idarraydata + off; *d; d++) {
		if (*d == SOLVABLE_PREREQMARKER)
			after = 1;
		else if (!part || (part > 0) == after)
			queue_push(q, *d);
	}
}

/* A package's dependencies in apt's order: Pre-Depends, Depends (the
 * first *ncrit), then Recommends when they count. */
static void deps_of(struct aw *w, Id p, Queue *deps, int *ncrit)
{
	const Solvable *s = w->pool->solvables + p;

	queue_empty(deps);
	dep_array(s, s->requires, 1, deps);
	dep_array(s, s->requires, -1, deps);
	*ncrit = deps->count;
	if (w->req->recommends)
		dep_array(s, s->recommends, 0, deps);
}

static void mark(struct aw *w, Id name, Id p)
{
	w->inst[name] = p;
	queue_push(&w->marked, name);
}

/* apt's package ids: the order in which apt's cache generator first meets
 * a name, reading the Packages files in source order, each stanza's
 * package, then Pre-Depends, Depends, Conflicts, Breaks, Recommends,
 * Suggests, Replaces, Enhances, Provides.  Only the last tie-breaker of
 * the provider ranking needs them. */
static void touch(struct aw *w, int *next, Id dep)
{
	Pool *pool = w->pool;

	while (ISRELDEP(dep)) {
		Reldep *rd = GETRELDEP(pool, dep);

		if (rd->flags == REL_OR)
			touch(w, next, rd->name);
		dep = rd->flags == REL_OR ? rd->evr : rd->name;
	}
	if (dep > 0 && dep < pool->ss.nstrings && !w->aptid[dep])
		w->aptid[dep] = (*next)++;
}

static void touch_array(struct aw *w, int *next, Repo *repo, Offset off, int part)
{
	int after = 0;

	if (!off)
		return;
	for (Id *d = repo->idarraydata + off; *d; d++) {
		if (*d == SOLVABLE_PREREQMARKER)
			after = 1;
		else if (!part || (part > 0) == after)
			touch(w, next, *d);
	}
}

static void compute_aptids(struct aw *w)
{
	Pool *pool = w->pool;
	Repo *repo;
	Solvable *s;
	Id rid, p;
	int next = 1;

	w->aptid = xcalloc((size_t)pool->ss.nstrings, sizeof *w->aptid);
	FOR_REPOS(rid, repo) {
		FOR_REPO_SOLVABLES(repo, p, s) {
			touch(w, &next, s->name);
			touch_array(w, &next, repo, s->requires, 1);
			touch_array(w, &next, repo, s->requires, -1);
			touch_array(w, &next, repo, s->conflicts, 0);
			touch_array(w, &next, repo, s->recommends, 0);
			touch_array(w, &next, repo, s->suggests, 0);
			touch_array(w, &next, repo, s->obsoletes, 0);
			touch_array(w, &next, repo, s->enhances, 0);
			touch_array(w, &next, repo, s->provides, 0);
		}
	}
}

static int has_void(Solvable *s, Id key)
{
	return key && solvable_lookup_void(s, key);
}

/* apt's CompareProviders: does a rank before b as a solution of a
 * dependency on `target`? */
static int ranks_before(struct aw *w, Id target, Id a, Id b)
{
	Pool *pool = w->pool;
	Solvable *sa = pool->solvables + a, *sb = pool->solvables + b;
	const struct aptwalk_req *rq = w->req;
	int x, y;

	x = !!(w->fl[sa->name] & F_PROT), y = !!(w->fl[sb->name] & F_PROT);
	if (x != y)
		return x;
	x = !!(w->fl[sa->name] & F_INSTALLED), y = !!(w->fl[sb->name] & F_INSTALLED);
	if (x != y)
		return x;
	x = sa->name == target, y = sb->name == target;
	if (x != y)
		return x;
	x = has_void(sa, rq->essential_key), y = has_void(sb, rq->essential_key);
	if (x != y)
		return x;
	x = x || has_void(sa, rq->important_key), y = y || has_void(sb, rq->important_key);
	if (x != y)
		return x;
	if (rq->priority_key) {
		unsigned long long pa = solvable_lookup_num(sa, rq->priority_key, 0);
		unsigned long long pb = solvable_lookup_num(sb, rq->priority_key, 0);

		if (pa != pb)
			return pa < pb;
	}
	if (!w->aptid)
		compute_aptids(w);
	return w->aptid[sa->name] > w->aptid[sb->name];
}

/* apt's getAllPossibleSolutions(CANDIDATE, sorted): for each alternative
 * in order, the candidates satisfying it ranked by CompareProviders; the
 * installed ones of all alternatives first; a protected package neither
 * installed nor marked left out. */
static void solutions(struct aw *w, const Queue *alts, Queue *out)
{
	Pool *pool = w->pool;
	Queue fresh, vl;
	int n;

	queue_init(&fresh);
	queue_init(&vl);
	queue_empty(out);
	for (int a = 0; a < alts->count; a++) {
		Id p, pp, target = aptwalk_dep_name(pool, alts->elements[a]);

		queue_empty(&vl);
		FOR_PROVIDES(p, pp, alts->elements[a])
			if (candidate(w, sname(w, p)) == p)
				queue_pushunique(&vl, p);
		for (int i = 1; i < vl.count; i++)
			for (int j = i; j > 0 && ranks_before(w, target, vl.elements[j], vl.elements[j - 1]); j--) {
				Id t = vl.elements[j];

				vl.elements[j] = vl.elements[j - 1];
				vl.elements[j - 1] = t;
			}
		for (int i = 0; i < vl.count; i++)
			queue_push(w->fl[sname(w, vl.elements[i])] & F_INSTALLED ? out : &fresh, vl.elements[i]);
	}
	for (int i = 0; i < fresh.count; i++)
		queue_push(out, fresh.elements[i]);
	n = 0;
	for (int i = 0; i < out->count; i++) {
		Id p = out->elements[i], nm = sname(w, p);

		if (i && out->elements[i - 1] == p)
			continue;
		if ((w->fl[nm] & F_PROT) && !(w->fl[nm] & F_INSTALLED) && w->inst[nm] != p)
			continue;
		out->elements[n++] = p;
	}
	queue_truncate(out, n);
	queue_free(&fresh);
	queue_free(&vl);
}

/* The one package that could satisfy the group (candidates and what is
 * marked, apt's CANDANDINST), 0 if none or several. */
static Id only_solution(struct aw *w, const Queue *alts)
{
	Pool *pool = w->pool;
	Queue all;
	Id one = 0;

	queue_init(&all);
	for (int a = 0; a < alts->count; a++) {
		Id p, pp;

		FOR_PROVIDES(p, pp, alts->elements[a])
			if (candidate(w, sname(w, p)) == p || w->inst[sname(w, p)] == p)
				queue_pushunique(&all, p);
	}
	if (all.count == 1)
		one = all.elements[0];
	queue_free(&all);
	return one;
}

/* apt's IsInstallOkDependenciesSatisfiableByCandidates: every Pre-Depends
 * and Depends can be met by what is marked or by a candidate; if not, the
 * package (unless protected) loses its candidate for good. */
static int install_ok(struct aw *w, Id name, Id c)
{
	Queue deps, alts;
	int ncrit, ok = 1;

	if (c == w->orig[name])
		return 1;
	queue_init(&deps);
	queue_init(&alts);
	deps_of(w, c, &deps, &ncrit);
	for (int i = 0; i < ncrit && ok; i++) {
		queue_empty(&alts);
		aptwalk_flatten_or(w->pool, deps.elements[i], &alts);
		ok = 0;
		for (int a = 0; a < alts.count && !ok; a++)
			ok = dep_installed(w, alts.elements[a]) || dep_candidate(w, alts.elements[a]);
	}
	if (!ok && !(w->fl[name] & F_PROT)) {
		w->cand[name] = 0;
		if (w->inst[name] == c)
			w->inst[name] = 0;
	}
	queue_free(&deps);
	queue_free(&alts);
	return ok;
}

/* apt's RemoveConflictsIfNotUpgradeable: a marked package that the new
 * one conflicts with (Conflicts, Breaks) is unmarked, unless protected;
 * one of the layers below cannot go.  0 when something could not. */
static int remove_conflicts(struct aw *w, Id name, Id c, int stop_early)
{
	Pool *pool = w->pool;
	Queue cf;
	int ok = 1;

	queue_init(&cf);
	dep_array(pool->solvables + c, pool->solvables[c].conflicts, 0, &cf);
	for (int i = 0; i < cf.count && (ok || !stop_early); i++) {
		Id p, pp;

		FOR_PROVIDES(p, pp, cf.elements[i]) {
			Id n = sname(w, p);

			if (n == name)
				continue;
			if (w->orig[n] == p && w->inst[n] == p)
				ok = 0;		/* installed, and not upgraded */
			else if (candidate(w, n) != p)
				continue;
			else if (w->orig[n] == p)
				ok = 0;
			else if (w->inst[n] == p && (w->fl[n] & F_PROT))
				ok = 0;
			else if (w->inst[n] == p)
				w->inst[n] = 0;		/* MarkKeep: not installed */
			if (!ok && stop_early)
				break;
		}
	}
	queue_free(&cf);
	return ok;
}

/* One or-group that nothing marked satisfies: its solutions in apt's order,
 * the first that can be installed wins. */
static int install_group(struct aw *w, const Queue *alts, int crit, int prot, int depth)
{
	Queue sols;
	int found = 0;

	queue_init(&sols);
	solutions(w, alts, &sols);
	for (int i = 0; i < sols.count && !found; i++) {
		Id v = sols.elements[i], n = sname(w, v);

		if (candidate(w, n) != v)
			continue;
		if (prot && crit && sols.count == 1) {
			if (!mark_install(w, n, 0, depth + 1, 0))
				continue;
			w->fl[n] |= F_PROT;
		}
		found = mark_install(w, n, 1, depth + 1, 0);
	}
	queue_free(&sols);
	return found;
}

/* apt's MarkInstall_InstallDependencies over the collected groups. */
static int install_deps(struct aw *w, const Queue *deps, int ncrit, const Queue *todo,
			int depth, int prot, int fromuser)
{
	Queue alts;
	int failed = 0;

	queue_init(&alts);
	for (int t = 0; t < todo->count; t++) {
		int i = todo->elements[t], crit = i < ncrit;
		Id one;

		queue_empty(&alts);
		aptwalk_flatten_or(w->pool, deps->elements[i], &alts);
		if (group_installed(w, deps->elements[i])) {
			/* satisfied: a protected package protects its one way */
			if (!prot || !crit || !(one = only_solution(w, &alts)))
				continue;
			if (w->fl[sname(w, one)] & F_PROT)
				continue;
			w->fl[sname(w, one)] |= F_PROT;
			if (!mark_install(w, sname(w, one), 1, depth + 1, 0))
				failed = 1;
			continue;
		}
		if (install_group(w, &alts, crit, prot, depth) || !crit)
			continue;
		failed = 1;
		if (!prot && !fromuser)
			break;
	}
	queue_free(&alts);
	return !failed;
}

/* The part of MarkInstall that follows dependencies (AutoInst). */
static int walk_deps(struct aw *w, Id name, Id c, int depth, int fromuser)
{
	int prot = !!(w->fl[name] & F_PROT), fail_early = !prot && !fromuser, ok = 1, ncrit;
	Queue deps, todo;

	queue_init(&deps);
	queue_init(&todo);
	deps_of(w, c, &deps, &ncrit);
	/* the groups left to install, collected before the package is marked
	 * (apt's MarkInstall_CollectDependencies); install_deps checks each
	 * again when its turn comes, as an earlier group may satisfy it */
	for (int i = 0; i < deps.count; i++)
		if (prot || !group_installed(w, deps.elements[i]))
			queue_push(&todo, i);
	if (!remove_conflicts(w, name, c, fail_early)) {
		ok = 0;
		if (fail_early)
			goto out;
	}
	if (w->inst[name] != c)
		mark(w, name, c);
	w->fl[name] |= F_PROT;	/* while its dependencies are marked */
	if (!install_deps(w, &deps, ncrit, &todo, depth, prot, fromuser)) {
		ok = 0;
		if (fail_early)
			w->inst[name] = 0;	/* MarkInstall_DiscardInstall */
	}
	if (!prot)
		w->fl[name] &= (unsigned char)~F_PROT;
out:
	queue_free(&deps);
	queue_free(&todo);
	return ok;
}

static int mark_install(struct aw *w, Id name, int autoinst, int depth, int fromuser)
{
	Id c = candidate(w, name);

	if (!c || depth > MAX_DEPTH)
		return 0;
	if (c == w->orig[name] && w->inst[name] == c)
		return 1;	/* the candidate is what is installed: kept */
	if (!(w->fl[name] & F_PROT) && w->inst[name] == c)
		return 1;	/* marked already */
	if (autoinst && !install_ok(w, name, c))
		return 0;
	if (!autoinst) {
		if (w->inst[name] != c)
			mark(w, name, c);
		return 1;
	}
	return walk_deps(w, name, c, depth, fromuser);
}

/* apt-get's DoAutomaticRemove after the walk: a new package that nothing
 * kept needs (a leftover of an alternative given up) is not installed.
 * Kept: what was asked for or protected, Essential and Important packages,
 * the layers below, and whatever their Pre-Depends, Depends, Recommends
 * and Suggests reach through what is marked (apt's MarkRequired). */
static void sweep(struct aw *w)
{
	Pool *pool = w->pool;
	Queue todo, deps;
	Map kept;

	queue_init(&todo);
	queue_init(&deps);
	map_init(&kept, pool->ss.nstrings);
	for (int i = 0; i < w->marked.count; i++) {
		Id nm = w->marked.elements[i], p = w->inst[nm];
		Solvable *s = pool->solvables + (p ? p : SYSTEMSOLVABLE);

		if (p && !MAPTST(&kept, nm) && ((w->fl[nm] & (F_PROT | F_INSTALLED)) ||
		    has_void(s, w->req->essential_key) || has_void(s, w->req->important_key))) {
			MAPSET(&kept, nm);
			queue_push(&todo, p);
		}
	}
	while (todo.count) {
		Id p = queue_pop(&todo);
		const Solvable *s = pool->solvables + p;

		queue_empty(&deps);
		dep_array(s, s->requires, 0, &deps);
		dep_array(s, s->recommends, 0, &deps);
		dep_array(s, s->suggests, 0, &deps);
		for (int i = 0; i < deps.count; i++) {
			Queue alts;

			queue_init(&alts);
			aptwalk_flatten_or(pool, deps.elements[i], &alts);
			for (int a = 0; a < alts.count; a++) {
				Id q, qq;

				FOR_PROVIDES(q, qq, alts.elements[a])
					if (w->inst[sname(w, q)] == q && !MAPTST(&kept, sname(w, q))) {
						MAPSET(&kept, sname(w, q));
						queue_push(&todo, q);
					}
			}
			queue_free(&alts);
		}
	}
	for (int i = 0; i < w->marked.count; i++)
		if (!MAPTST(&kept, w->marked.elements[i]))
			w->inst[w->marked.elements[i]] = 0;
	map_free(&kept);
	queue_free(&todo);
	queue_free(&deps);
}

/* Does the result leave a Pre-Depends/Depends unmet or a conflict? */
static int broken(struct aw *w, const Queue *pkgs)
{
	Pool *pool = w->pool;
	Queue deps, cf;
	int bad = 0, ncrit;

	queue_init(&deps);
	queue_init(&cf);
	for (int k = 0; k < pkgs->count && !bad; k++) {
		Id p = pkgs->elements[k], q, qq;

		deps_of(w, p, &deps, &ncrit);
		for (int i = 0; i < ncrit && !bad; i++)
			bad = !group_installed(w, deps.elements[i]);
		queue_empty(&cf);
		dep_array(pool->solvables + p, pool->solvables[p].conflicts, 0, &cf);
		for (int i = 0; i < cf.count && !bad; i++)
			FOR_PROVIDES(q, qq, cf.elements[i])
				if (sname(w, q) != sname(w, p) && w->inst[sname(w, q)] == q)
					bad = 1;
	}
	queue_free(&deps);
	queue_free(&cf);
	return bad;
}

int aptwalk_run(Pool *pool, const struct aptwalk_req *req, Queue *out)
{
	struct aw w = { .pool = pool, .req = req };
	size_t n = (size_t)pool->ss.nstrings;
	Queue all;
	int bad;

	w.cand = xcalloc(n, sizeof *w.cand);
	w.inst = xcalloc(n, sizeof *w.inst);
	w.orig = xcalloc(n, sizeof *w.orig);
	w.fl = xcalloc(n, 1);
	queue_init(&w.marked);
	queue_init(&all);
	queue_empty(out);
	for (int i = 0; i < req->ninstalled; i++) {
		Id p = req->installed[i], nm = sname(&w, p);

		w.inst[nm] = w.orig[nm] = p;
		w.fl[nm] |= F_INSTALLED;
	}
	/* apt-get install: each request's version becomes its candidate and
	 * is marked (protected) first; then each one's dependencies, in order */
	for (int i = 0; i < req->nrequests; i++) {
		Id p = req->requests[i], nm = sname(&w, p);

		if (p == w.orig[nm])
			continue;	/* asked for what is installed: kept */
		w.cand[nm] = p;
		w.fl[nm] |= F_CAND | F_PROT;
		mark_install(&w, nm, 0, 0, 1);
	}
	for (int i = 0; i < req->nrequests; i++)
		mark_install(&w, sname(&w, req->requests[i]), 1, 0, 1);
	sweep(&w);
	for (int i = 0; i < w.marked.count; i++) {
		Id nm = w.marked.elements[i], p = w.inst[nm];

		if (p && p != w.orig[nm]) {
			queue_push(out, p);
			w.orig[nm] = p;		/* listed once */
		}
	}
	for (int i = 0; i < req->ninstalled; i++)
		if (w.inst[sname(&w, req->installed[i])] == req->installed[i])
			queue_push(&all, req->installed[i]);	/* not upgraded */
	for (int i = 0; i < out->count; i++)
		queue_push(&all, out->elements[i]);
	bad = broken(&w, &all);
	queue_free(&all);
	queue_free(&w.marked);
	free(w.cand);
	free(w.inst);
	free(w.orig);
	free(w.fl);
	free(w.aptid);
	return bad;
}
