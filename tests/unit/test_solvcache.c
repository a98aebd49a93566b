/* solver/solvcache: a cache written is loaded as it was (less the keys
 * dropped); a truncated, shortened, bit-flipped, zeroed or foreign file is
 * refused (the caller parses the index again), never loaded; a refused
 * file leaves the repo empty. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_deb.h>
#include <solv/repo_solv.h>
#include <solv/repo_write.h>

#include "solver/solvcache.h"
#include "tests/unit/check.h"

static const char packages[] =
	"Package: alpha\nVersion: 1.0-1\nArchitecture: amd64\nDepends: beta (>= 2)\n"
	"Filename: pool/main/a/alpha/alpha_1.0-1_amd64.deb\nSize: 1234\n"
	"SHA256: 1111111111111111111111111111111111111111111111111111111111111111\n"
	"Description: the first letter\n a long description nothing reads\n"
	"Homepage: https://example.org/alpha\n\n"
	"Package: beta\nVersion: 2.1-3\nArchitecture: all\nEssential: yes\n"
	"Filename: pool/main/b/beta/beta_2.1-3_all.deb\nSize: 99\n"
	"SHA256: 2222222222222222222222222222222222222222222222222222222222222222\n"
	"Description: the second letter\n\n";

static Pool *new_pool(void)
{
	Pool *pool = pool_create();

	pool_setdisttype(pool, DISTTYPE_DEB);
	pool_setarch(pool, "amd64");
	return pool;
}

/* A repo parsed from `packages`. */
static Repo *parsed(Pool *pool)
{
	Repo *repo = repo_create(pool, "parsed");
	FILE *fp = fmemopen((void *)packages, sizeof packages - 1, "r");

	repo_add_debpackages(repo, fp, 0);
	fclose(fp);
	return repo;
}

/* What a loaded repo holds, in words, to compare with the parsed one. */
static char *describe(Repo *repo)
{
	Pool *pool = repo->pool;
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);
	Id ess = pool_str2id(pool, "deb:essential", 1), p;
	Solvable *s;

	FOR_REPO_SOLVABLES(repo, p, s) {
		unsigned int medianr;
		Id type = 0;
		const unsigned char *ck = solvable_lookup_bin_checksum(s, SOLVABLE_CHECKSUM, &type);
		const char *sum = solvable_lookup_str(s, SOLVABLE_SUMMARY);

		fprintf(m, "%s %s %s deps=%s loc=%s size=%llu ck=%02x%02x ess=%d sum=%s\n",
			pool_id2str(pool, s->name), pool_id2str(pool, s->evr),
			pool_id2str(pool, s->arch),
			s->requires ? pool_dep2str(pool, repo->idarraydata[s->requires]) : "-",
			solvable_get_location(s, &medianr),
			(unsigned long long)solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0),
			ck ? ck[0] : 0, ck ? ck[31] : 0, solvable_lookup_void(s, ess),
			sum ? sum : "(none)");
	}
	fclose(m);
	return out;
}

static void spew(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, buf, len) != (ssize_t)len)
		perror(path);
	close(fd);
}

static char *slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "re");
	char *buf;
	long n;

	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)n + 1);
	*len = fread(buf, 1, (size_t)n, fp);
	fclose(fp);
	return buf;
}

/* Loads path into a fresh pool: true when the cache was taken. */
static bool loads(const char *path, int *nsolvables)
{
	Pool *pool = new_pool();
	Repo *repo = repo_create(pool, "cached");
	bool ok = solvcache_load(repo, path);

	*nsolvables = repo->nsolvables;	/* 0 when refused */
	pool_free(pool);
	return ok;
}

int main(void)
{
	static const Id drop[] = { SOLVABLE_SUMMARY, SOLVABLE_DESCRIPTION, SOLVABLE_URL, 0 };
	char dir[] = "/tmp/pkgimg-solvcache.XXXXXX", path[256], bad[256];
	Pool *pool = new_pool(), *pool2;
	char *want, *got, *orig;
	size_t len;
	int n = -1;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof path, "%s/Packages-x-v3.solv", dir);
	snprintf(bad, sizeof bad, "%s/bad.solv", dir);
	want = describe(parsed(pool));
	solvcache_save(pool->repos[1], path, drop);

	pool2 = new_pool();
	{
		Repo *repo = repo_create(pool2, "cached");
		bool ok = solvcache_load(repo, path);

		got = describe(repo);
		check(ok && repo->nsolvables == 2, "a saved cache loads", "ok=%d n=%d", ok,
		      repo->nsolvables);
	}
	{
		/* the same package data, less the summary */
		char *w = strdup(want), *q;

		while ((q = strstr(w, "sum=the first letter")) || (q = strstr(w, "sum=the second letter"))) {
			char *nl = strchr(q, '\n');

			memmove(q + 10, nl, strlen(nl) + 1);
			memcpy(q, "sum=(none)", 10);
		}
		check(!strcmp(w, got), "the cache holds what was parsed, less the dropped keys",
		      "parsed:\n%s\ncached:\n%s", w, got);
		free(w);
	}
	free(got);
	pool_free(pool2);
	{
		/* the counts that size the pool's hashes */
		struct solvcache c;
		int ns = 0, nr = 0;
		bool ok = solvcache_open(path, &c);

		if (ok)
			solvcache_counts(&c, &ns, &nr);
		check(ok && ns > 5 && nr > 0, "the string and relation counts are read", "ns=%d nr=%d",
		      ns, nr);
		solvcache_close(&c);
	}

	orig = slurp(path, &len);
	spew(bad, orig, len / 2);
	check(!loads(bad, &n) && n == 0, "a truncated cache is refused", "n=%d", n);
	spew(bad, orig, len - 1);
	check(!loads(bad, &n) && n == 0, "a cache one byte short is refused", "n=%d", n);
	{
		/* the damage libsolv itself would take: a bit of a package
		 * name in the string table ("alpha" -> "alpha" with one bit
		 * flipped: another package) */
		char *c = malloc(len), *hit;

		memcpy(c, orig, len);
		hit = memmem(c + 24, len - 24, "alpha", 5);
		if (hit)
			hit[4] ^= 0x10;
		spew(bad, c, len);
		check(hit && !loads(bad, &n) && n == 0, "a cache with a flipped bit is refused",
		      "found=%d n=%d", hit != NULL, n);
		{
			/* ...and libsolv alone would have loaded it */
			Pool *p3 = new_pool();
			Repo *r3 = repo_create(p3, "raw");
			FILE *fp = fmemopen(c + 24, len - 24, "r");

			check(repo_add_solv(r3, fp, 0) == 0 && r3->nsolvables == 2,
			      "(libsolv alone takes that damaged .solv)", "%s", pool_errstr(p3));
			fclose(fp);
			pool_free(p3);
		}
		memset(c + len / 2, 0, len - len / 2);
		spew(bad, c, len);
		check(!loads(bad, &n) && n == 0, "a half-zeroed cache is refused", "n=%d", n);
		spew(bad, orig + 24, len - 24);
		check(!loads(bad, &n), "a bare .solv (an older cache's format) is refused", "n=%d", n);
		spew(bad, "", 0);
		check(!loads(bad, &n), "an empty file is refused", "n=%d", n);
		free(c);
	}
	check(!loads("/nonexistent/x.solv", &n), "no file: no cache", "n=%d", n);
	{
		/* a save over a damaged cache replaces it */
		spew(path, orig, len / 3);
		solvcache_save(pool->repos[1], path, drop);
		check(loads(path, &n) && n == 2, "a cache saved again over a damaged one loads",
		      "n=%d", n);
	}
	{
		/* no temporary file is left behind */
		char cmd[512];

		snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", dir);
		check(system(cmd) != 0, "no temporary file is left", "%s", dir);
	}
	free(orig);
	free(want);
	pool_free(pool);
	{
		char cmd[512];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
	}
	printf("%d passed, %d failed\n", passed, failures);
	return failures ? 1 : 0;
}
