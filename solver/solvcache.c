/* See solvcache.h. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <solv/repo_solv.h>
#include <solv/repo_write.h>

#include "core/str.h"
#include "solver/solvcache.h"

#define MAGIC "PKSOLV01"
#define HDR 24

static uint32_t crc(const void *p, size_t len)
{
	uLong c = crc32(0L, Z_NULL, 0);

	while (len) {	/* zlib takes a uInt length */
		uInt n = len > (1u << 30) ? 1u << 30 : (uInt)len;

		c = crc32(c, p, n);
		p = (const unsigned char *)p + n;
		len -= n;
	}
	return (uint32_t)c;
}

static uint64_t get_le64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
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
	/* populated: the whole file is read by the CRC and by libsolv */
	c->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (c->map == MAP_FAILED) {
		c->map = NULL;
		goto out;
	}
	c->maplen = (size_t)st.st_size;
	m = c->map;
	if (memcmp(m, MAGIC, 8) || get_le64(m + 8) != c->maplen - HDR || get_le32(m + 20) != 0)
		goto out;
	c->solv = m + HDR;
	c->len = c->maplen - HDR;
	ok = crc(c->solv, c->len) == get_le32(m + 16);
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
	bool ok;

	if (!mem)
		return;
	ok = repo_write_filtered(repo, mem, keep_key, (void *)drop, NULL) == 0;
	if (fclose(mem) != 0)
		ok = false;
	if (!ok)
		goto out;
	put_le(hdr + 8, len, 8);
	put_le(hdr + 16, crc(buf, len), 4);
	tmp = xasprintf("%s.%d.tmp", path, (int)getpid());
	fp = fopen(tmp, "we");
	if (!fp)
		goto out;
	ok = fwrite(hdr, HDR, 1, fp) == 1 && fwrite(buf, len, 1, fp) == 1;
	if (fclose(fp) != 0)
		ok = false;
	/* no fsync: a cache lost to a crash is parsed again, and one the
	 * crash left short fails the header's length or CRC */
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
out:
	free(tmp);
	free(buf);
}
