/* SHA-256 and MD5 through OpenSSL EVP (see core/hash.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/str.h"

int hasher_init(struct hasher *h, const char *algo)
{
	const EVP_MD *md = EVP_get_digestbyname(algo);
	EVP_MD_CTX *c;

	h->md = NULL;
	if (!md)
		return -EINVAL;
	c = EVP_MD_CTX_new();
	if (!c || !EVP_DigestInit_ex(c, md, NULL)) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	h->md = c;
	return 0;
}

void hasher_update(struct hasher *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->md, data, len);
}

void hasher_final_hex(struct hasher *h, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->md, out, &n);
	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[out[i] >> 4];
		hex[2 * i + 1] = digits[out[i] & 15];
	}
	hex[2 * n] = 0;
	hasher_free(h);
}

void hasher_free(struct hasher *h)
{
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
}

void hash_sha256_hex(const void *data, size_t len, char hex[65])
{
	struct hasher h;

	hasher_init(&h, "sha256");
	hasher_update(&h, data, len);
	hasher_final_hex(&h, hex);
}

int hash_file_sha256(int dirfd, const char *path, char hex[65])
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	struct hasher h;
	char buf[1 << 16];
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (hasher_init(&h, "sha256") < 0) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = read(fd, buf, sizeof buf)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			hasher_free(&h);
			close(fd);
			return -e;
		}
		hasher_update(&h, buf, (size_t)n);
	}
	close(fd);
	hasher_final_hex(&h, hex);
	return 0;
}

/* One entry "<type> <mode> <name>\0<digest or target>\n" into h, a
 * directory's entries after it. */
static int tree_hash_at(struct pkgimg_ctx *ctx, struct hasher *h, int dirfd, const char *name,
			const char *rel, const char *top)
{
	struct stat st;
	char line[128], hex[65];
	int r = 0;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return pkgimg_err(ctx, -errno, "%s/%s: [hash] %m", top, rel);
	snprintf(line, sizeof line, "%c %04o ", S_ISDIR(st.st_mode) ? 'd' : S_ISLNK(st.st_mode) ? 'l'
		 : S_ISREG(st.st_mode) ? 'f' : 'o', (unsigned)(st.st_mode & 07777));
	hasher_update(h, line, strlen(line));
	hasher_update(h, rel, strlen(rel) + 1);
	if (S_ISREG(st.st_mode)) {
		int e = hash_file_sha256(dirfd, name, hex);

		if (e < 0)
			return pkgimg_err(ctx, e, "%s/%s: [hash] cannot read: %s", top, rel, strerror(-e));
		hasher_update(h, hex, 64);
	} else if (S_ISLNK(st.st_mode)) {
		char target[4096];
		ssize_t n = readlinkat(dirfd, name, target, sizeof target);

		if (n < 0)
			return pkgimg_err(ctx, -errno, "%s/%s: [hash] %m", top, rel);
		hasher_update(h, target, (size_t)n);
	} else if (S_ISDIR(st.st_mode)) {
		int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		struct strv names = { 0 };
		struct dirent *de;
		DIR *d;

		if (fd < 0 || !(d = fdopendir(fd))) {
			r = pkgimg_err(ctx, -errno, "%s/%s: [hash] cannot list: %m", top, rel);
			if (fd >= 0)
				close(fd);
			return r;
		}
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				strv_add(&names, de->d_name);
		qsort(names.v, names.n, sizeof *names.v, str_cmp_ptr);
		hasher_update(h, "\n", 1);
		for (size_t i = 0; r == 0 && i < names.n; i++) {
			char *sub = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);

			r = tree_hash_at(ctx, h, fd, names.v[i], sub, top);
			free(sub);
		}
		closedir(d);
		strv_free(&names);
	} else {
		return pkgimg_err(ctx, -EINVAL, "%s/%s: [hash] a device, fifo or socket cannot be a "
				  "build input", top, rel);
	}
	hasher_update(h, "\n", 1);
	return r;
}

int hash_tree_sha256(struct pkgimg_ctx *ctx, const char *path, char hex[65])
{
	struct hasher h;
	int r;

	if (hasher_init(&h, "sha256") < 0)
		return pkgimg_err(ctx, -ENOMEM, "%s: [hash] out of memory", path);
	r = tree_hash_at(ctx, &h, AT_FDCWD, path, "", path);
	if (r < 0) {
		hasher_free(&h);
		return r;
	}
	hasher_final_hex(&h, hex);
	return 0;
}
