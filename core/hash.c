#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "core/ctx.h"
#include "core/hash.h"

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
