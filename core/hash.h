/* SHA-256 (and MD5 for dpkg's md5sums) through OpenSSL EVP. */
#ifndef PKGIMG_HASH_H
#define PKGIMG_HASH_H

#include <stddef.h>

#define HASH_HEX_MAX 129

struct hasher {
	void *md;	/* EVP_MD_CTX */
};

/* algo: "sha256", "md5", "sha512" */
int hasher_init(struct hasher *h, const char *algo);
void hasher_update(struct hasher *h, const void *data, size_t len);
/* Writes lowercase hex and frees the state. */
void hasher_final_hex(struct hasher *h, char *hex);
void hasher_free(struct hasher *h);

void hash_sha256_hex(const void *data, size_t len, char hex[65]);
/* The sha256 of the file at path (relative to dirfd, which may be
 * AT_FDCWD); 0 or -errno (the caller words the message). */
int hash_file_sha256(int dirfd, const char *path, char hex[65]);

struct pkgimg_ctx;
/* The sha256 of what is at path (a file, a symlink or a directory tree),
 * from names, types, permission bits, file contents and link targets only
 * (no owners, no times): a build input's identity.  Entries are visited in
 * name order; links are not followed below path.  Errors name the path. */
int hash_tree_sha256(struct pkgimg_ctx *ctx, const char *path, char hex[65]);

#endif
