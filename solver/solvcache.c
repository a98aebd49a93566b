/* See solvcache.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <solv/repo_solv.h>
#include <solv/repo_write.h>

#include "core/str.h"
#include "solver/solvcache.h"

#define MAGIC "PKSOLV01"
#define HDR 24

static uint64_t rotl(uint64_t x, int r)
{
	return x << r | x >> (64 - r);
}

/* A 64-bit checksum: four lanes over 32-byte blocks with xxHash64's round
 * and primes, then the tail bytewise.  Several times faster than zlib's
 * CRC-32 on a 10 MB cache (the load's largest file); it catches a cache
 * that is truncated, zeroed or has flipped bits, not an adversary (whoever
 * can write the store can write its blobs too). */
static uint64_t checksum(const unsigned char *p, size_t len)
{
	static const uint64_t P1 = 0x9E3779B185EBCA87ULL, P2 = 0xC2B2AE3D27D4EB4FULL;
	uint64_t v[4] = { P1 + P2, P2, 0, -P1 }, h = (uint64_t)len;
	size_t i = 0;

	for (; i + 32 <= len; i += 32) {
		for (int k = 0; k < 4; k++) {
			uint64_t w;

			memcpy(&w, p + i + 8 * k, 8);
			v[k] = rotl(v[k] + w * P2, 31) * P1;
		}
	}
	for (int k = 0; k < 4; k++)
		h = rotl(h ^ v[k], 27) * P1 + P2;
	for (; i < len; i++)
		h = rotl(h ^ p[i], 11) * P1;
	return h ^ h >> 29;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void put_le(unsigned char *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

bool solvcache_open(const char *path, struct solvcache *c)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	const unsigned char *m;
	bool ok = false;

	memset(c, 0, sizeof *c);
	if (fd < 0)
		return false;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size < HDR + 16)
		goto out;
	/* populated: the whole file is read by the checksum and by libsolv */
	c->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		goto out;
	}
	c->maplen = (size_t)st.st_size;
	m = c->map;
	if (memcmp(m, MAGIC, 8) || get_le64(m + 8) != c->maplen - HDR)
		goto out;
	c->solv = m + HDR;
	c->len = c->maplen - HDR;
	ok = checksum(c->solv, c->len) == get_le64(m + 16);
out:
	close(fd);
	if (!ok)
		solvcache_close(c);
	return ok;
}

static int be32(const unsigned char *p)
{
	uint32_t v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];

	return v > 0x10000000 ? 0 : (int)v;	/* libsolv refuses such a file anyway */
}

void solvcache_counts(const struct solvcache *c, int *nstrings, int *nrels)
{
	/* libsolv's header: 'SOLV', version, numid, numrel (big-endian) */
	*nstrings = c->len >= 16 ? be32(c->solv + 8) : 0;
	*nrels = c->len >= 16 ? be32(c->solv + 12) : 0;
}

bool solvcache_add(Repo *repo, const struct solvcache *c)
{
	FILE *fp;
	bool ok;

	if (!c->solv)
		return false;
	fp = fmemopen((void *)c->solv, c->len, "r");
	if (!fp)
		return false;
	__fsetlocking(fp, FSETLOCKING_BYCALLER);	/* libsolv reads it bytewise, with getc */
	ok = repo_add_solv(repo, fp, 0) == 0;
	fclose(fp);
	if (!ok)
		repo_empty(repo, 1);	/* a damaged cache: rebuild it */
	return ok;
}

void solvcache_close(struct solvcache *c)
{
	if (c->map)
		munmap(c->map, c->maplen);
	memset(c, 0, sizeof *c);
}

bool solvcache_load(Repo *repo, const char *path)
{
	struct solvcache c;
	bool ok = solvcache_open(path, &c) && solvcache_add(repo, &c);

	solvcache_close(&c);
	return ok;
}

static int keep_key(Repo *repo, Repokey *key, void *drop)
{
	for (const Id *d = drop; d && *d; d++)
		if (key->name == *d)
			return 0;
	return repo_write_stdkeyfilter(repo, key, NULL);
}

void solvcache_save(Repo *repo, const char *path, const Id *drop)
{
	char *tmp = NULL, *buf = NULL;
	size_t len = 0;
	unsigned char hdr[HDR] = MAGIC;
	FILE *mem = open_memstream(&buf, &len), *fp = NULL;
	int fd;
	bool ok;

	if (!mem)
		return;
	ok = repo_write_filtered(repo, mem, keep_key, (void *)drop, NULL) == 0;
	if (fclose(mem) != 0)
		ok = false;
	if (!ok)
		goto out;
	put_le(hdr + 8, len, 8);
	put_le(hdr + 16, checksum((const unsigned char *)buf, len), 8);
	/* a name no other writer has, whatever its pid namespace */
	tmp = xasprintf("%s.XXXXXX.tmp", path);
	fd = mkostemps(tmp, 4, O_CLOEXEC);
	if (fd < 0)
		goto out;
	fchmod(fd, 0644);	/* as a plain create would, not mkstemp's 0600 */
	fp = fdopen(fd, "w");
	if (!fp) {
		close(fd);
		unlink(tmp);
		goto out;
	}
	ok = fwrite(hdr, HDR, 1, fp) == 1 && fwrite(buf, len, 1, fp) == 1;
	if (fclose(fp) != 0)
		ok = false;
	/* no fsync: a cache lost to a crash is parsed again, and one the
	 * crash left short fails the header's length or checksum */
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
out:
	free(tmp);
	free(buf);
}
