/* Signed Release files: InRelease (clearsigned, RFC 4880 §7) or Release +
 * Release.gpg, verified with libsolv's OpenPGP verifier against a keyring
 * (subkeys included), and the fields pkgimg needs from them. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/evp.h>
#include <solv/chksum.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_pubkey.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "solver/apt.h"

#define ARMOR_SIG_BEGIN "-----BEGIN PGP SIGNATURE-----"
#define ARMOR_SIG_END "-----END PGP SIGNATURE-----"
#define ARMOR_MSG_BEGIN "-----BEGIN PGP SIGNED MESSAGE-----"

/* ---- Release fields ---- */

void apt_release_free(struct apt_release *rel)
{
	free(rel->text);
	free(rel->date);
	free(rel->valid_until);
	free(rel->codename);
	free(rel->suite);
	for (int i = 0; i < rel->nfiles; i++)
		free(rel->files[i].path);
	free(rel->files);
	memset(rel, 0, sizeof *rel);
}

int apt_release_parse(struct pkgimg_ctx *ctx, const char *what, const char *text,
		      struct apt_release *rel)
{
	struct blob rest = BLOB_STR(text), line;
	bool in_sha256 = false;

	while (rest.len) {
		struct blob key, val;

		blob_split(&rest, '\n', &line);
		if (line.len && (line.ptr[0] == ' ' || line.ptr[0] == '\t')) {
			if (in_sha256) {
				struct blob l = line, hash, size, path;
				struct apt_release_file *f;

				hash = blob_word(&l);
				size = blob_word(&l);
				path = blob_word(&l);
				if (hash.len != 64 || !hex_is_lower(hash.ptr, 64) || !size.len || !path.len)
					return pkgimg_err(ctx, -PKGIMG_E_PARSE,
							  "%s: [release] malformed SHA256 line '" BLOB_FMT "'",
							  what, BLOB_ARG(blob_trim(line)));
				rel->files = xrealloc(rel->files, (size_t)(rel->nfiles + 1) * sizeof *rel->files);
				f = &rel->files[rel->nfiles++];
				memcpy(f->sha256, hash.ptr, 64);
				f->sha256[64] = 0;
				{
					char num[32];

					snprintf(num, sizeof num, BLOB_FMT, BLOB_ARG(size));
					f->size = strtoull(num, NULL, 10);
				}
				f->path = blob_dup(path);
			}
			continue;
		}
		in_sha256 = false;
		if (!blob_split(&line, ':', &key))
			continue;
		val = blob_trim(line);
		if (blob_eq_str(key, "SHA256"))
			in_sha256 = true;
		else if (blob_eq_str(key, "Date"))
			rel->date = blob_dup(val);
		else if (blob_eq_str(key, "Valid-Until"))
			rel->valid_until = blob_dup(val);
		else if (blob_eq_str(key, "Codename"))
			rel->codename = blob_dup(val);
		else if (blob_eq_str(key, "Suite"))
			rel->suite = blob_dup(val);
		else if (blob_eq_str(key, "NotAutomatic"))
			rel->not_automatic = blob_eq_str(val, "yes");
		else if (blob_eq_str(key, "ButAutomaticUpgrades"))
			rel->but_automatic_upgrades = blob_eq_str(val, "yes");
	}
	if (rel->nfiles == 0)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "%s: [release] no SHA256 file list; the repository must "
				  "publish SHA256 sums (MD5/SHA1 alone are not trusted)", what);
	return 0;
}

static int parse_rfc2822_date(const char *s, int64_t *out)
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof tm);
	/* "Sat, 10 May 2025 08:59:08 UTC" */
	end = strptime(s, "%a, %d %b %Y %H:%M:%S", &tm);
	if (!end)
		end = strptime(s, "%d %b %Y %H:%M:%S", &tm);
	if (!end)
		return -1;
	*out = (int64_t)timegm(&tm);
	while (*end == ' ')
		end++;
	if (*end == '+' || *end == '-') {
		int v = atoi(end + 1), off = (v / 100) * 3600 + (v % 100) * 60;

		*out -= *end == '+' ? off : -off;
	}
	return 0;
}

int apt_release_check_valid(struct pkgimg_ctx *ctx, const char *what,
			    const struct apt_release *rel, int64_t now)
{
	int64_t until;

	if (!rel->valid_until)
		return 0;
	if (parse_rfc2822_date(rel->valid_until, &until) < 0)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE,
				  "%s: [release] cannot read Valid-Until '%s'", what, rel->valid_until);
	if (until < now)
		return pkgimg_err(ctx, -PKGIMG_E_EXPIRED,
				  "%s: [release] expired: Valid-Until %s is in the past "
				  "(a stale or replayed mirror; use a current mirror)",
				  what, rel->valid_until);
	return 0;
}

/* ---- OpenPGP ---- */

/* Base64 body of an armored block starting at `begin` (the BEGIN line). */
static int dearmor(const char *begin, const char *end_marker, unsigned char **out, size_t *outlen)
{
	struct sbuf b64 = SBUF_INIT;
	const char *p = strchr(begin, '\n');
	bool body = false;
	unsigned char *bin;
	int n, pad = 0;

	if (!p)
		return -1;
	for (p++; *p; ) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);

		while (len && (p[len - 1] == '\r' || p[len - 1] == ' '))
			len--;
		if (len >= strlen(end_marker) && !strncmp(p, end_marker, strlen(end_marker)))
			break;
		if (!body) {
			if (len == 0)
				body = true;	/* headers end at the blank line */
		} else if (len && p[0] == '=') {
			break;			/* CRC24 line */
		} else {
			sbuf_add(&b64, p, len);
		}
		if (!eol)
			break;
		p = eol + 1;
	}
	if (!b64.len || b64.len % 4) {
		sbuf_free(&b64);
		return -1;
	}
	if (b64.buf[b64.len - 1] == '=')
		pad++;
	if (b64.buf[b64.len - 2] == '=')
		pad++;
	bin = xmalloc(b64.len);
	n = EVP_DecodeBlock(bin, (unsigned char *)b64.buf, (int)b64.len);
	sbuf_free(&b64);
	if (n < 0) {
		free(bin);
		return -1;
	}
	*out = bin;
	*outlen = (size_t)(n - pad);
	return 0;
}

/* Length of the OpenPGP packet at p (header included), 0 if malformed. */
static size_t pgp_packet_len(const unsigned char *p, size_t avail, int *tag)
{
	size_t hl, len;

	if (avail < 2 || !(p[0] & 0x80))
		return 0;
	if (p[0] & 0x40) {		/* new format */
		*tag = p[0] & 0x3f;
		if (p[1] < 192) {
			hl = 2;
			len = p[1];
		} else if (p[1] < 224) {
			if (avail < 3)
				return 0;
			hl = 3;
			len = ((size_t)(p[1] - 192) << 8) + p[2] + 192;
		} else if (p[1] == 255) {
			if (avail < 6)
				return 0;
			hl = 6;
			len = ((size_t)p[2] << 24) | ((size_t)p[3] << 16) | ((size_t)p[4] << 8) | p[5];
		} else {
			return 0;	/* partial lengths: not used for signatures */
		}
	} else {			/* old format */
		int lt = p[0] & 3;

		*tag = (p[0] >> 2) & 0xf;
		if (lt == 0) {
			hl = 2;
			len = p[1];
		} else if (lt == 1) {
			if (avail < 3)
				return 0;
			hl = 3;
			len = ((size_t)p[1] << 8) | p[2];
		} else if (lt == 2) {
			if (avail < 5)
				return 0;
			hl = 5;
			len = ((size_t)p[1] << 24) | ((size_t)p[2] << 16) | ((size_t)p[3] << 8) | p[4];
		} else {
			return 0;
		}
	}
	if (hl + len > avail)
		return 0;
	return hl + len;
}

static int load_keyring(struct pkgimg_ctx *ctx, const char *what, const char *keyring,
			Pool *pool, Repo **out)
{
	Repo *repo = repo_create(pool, "keyring");
	FILE *fp;
	int r;

	if (!strncmp(keyring, "-----BEGIN", 10))
		fp = fmemopen((void *)keyring, strlen(keyring), "r");
	else
		fp = fopen(keyring, "re");
	if (!fp)
		return pkgimg_err(ctx, -errno,
				  "%s: [verify] cannot read keyring '%s': %m (pass --keyring FILE "
				  "or set Signed-By in the source)", what, keyring);
	r = repo_add_keyring(repo, fp, ADD_WITH_SUBKEYS | ADD_MULTIPLE_PUBKEYS);
	fclose(fp);
	if (r != 0 || repo->nsolvables == 0)
		return pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
				  "%s: [verify] keyring '%s' holds no usable OpenPGP key", what,
				  keyring);
	*out = repo;
	return 0;
}

/* Verifies every signature packet in sig[0..siglen) over `data`; succeeds
 * when any one of them verifies with a key of the keyring. */
static int verify_packets(struct pkgimg_ctx *ctx, const char *what, const unsigned char *sig,
			  size_t siglen, const char *data, size_t len, const char *keyring)
{
	Pool *pool = pool_create();
	struct sbuf keyids = SBUF_INIT;
	Repo *keys = NULL;
	size_t off = 0;
	int r, found = 0;

	r = load_keyring(ctx, what, keyring, pool, &keys);
	if (r < 0)
		goto out;
	r = -PKGIMG_E_SIGNATURE;
	while (off < siglen) {
		int tag = 0;
		size_t n = pgp_packet_len(sig + off, siglen - off, &tag);
		Solvsig *ss;
		FILE *fp;

		if (!n)
			break;
		if (tag != 2) {
			off += n;
			continue;
		}
		fp = fmemopen((void *)(sig + off), n, "r");
		off += n;
		ss = fp ? solvsig_create(fp) : NULL;
		if (fp)
			fclose(fp);
		if (!ss)
			continue;
		found++;
		sbuf_addf(&keyids, "%s%s", keyids.len ? ", " : "", ss->keyid);
		{
			Chksum *chk = solv_chksum_create(ss->htype);

			if (chk) {
				solv_chksum_add(chk, data, (int)len);
				if (solvsig_verify(ss, keys, chk))
					r = 0;
				solv_chksum_free(chk, NULL);
			}
		}
		solvsig_free(ss);
		if (r == 0)
			break;
	}
	if (r < 0) {
		if (!found)
			pkgimg_err(ctx, r, "%s: [verify] no usable OpenPGP signature found", what);
		else
			pkgimg_err(ctx, r,
				   "%s: [verify] bad or unknown signature (key id %s) for keyring "
				   "'%s'; the repository is not signed by a trusted key (give the "
				   "right --keyring, or --allow-unsigned at your own risk)",
				   what, keyids.buf, keyring);
	}
out:
	sbuf_free(&keyids);
	pool_free(pool);
	return r;
}

int apt_verify_detached(struct pkgimg_ctx *ctx, const char *what, const char *data,
			size_t len, const char *sig, size_t siglen, const char *keyring)
{
	unsigned char *bin = NULL;
	size_t binlen = 0;
	int r;

	if (siglen && ((unsigned char)sig[0] & 0x80))
		return verify_packets(ctx, what, (const unsigned char *)sig, siglen, data, len,
				      keyring);
	{
		char *s = xstrndup(sig, siglen);
		const char *b = strstr(s, ARMOR_SIG_BEGIN);

		r = b ? dearmor(b, ARMOR_SIG_END, &bin, &binlen) : -1;
		free(s);
	}
	if (r < 0)
		return pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
				  "%s: [verify] Release.gpg holds no readable OpenPGP signature", what);
	r = verify_packets(ctx, what, bin, binlen, data, len, keyring);
	free(bin);
	return r;
}

int apt_verify_inrelease(struct pkgimg_ctx *ctx, const char *what, const char *data,
			 size_t len, const char *keyring, char **signed_text)
{
	struct sbuf canon = SBUF_INIT, plain = SBUF_INIT;
	char *text = xstrndup(data, len);
	const char *p, *sigstart;
	unsigned char *bin = NULL;
	size_t binlen = 0;
	bool first = true;
	int r;

	p = strstr(text, ARMOR_MSG_BEGIN);
	if (!p || (p != text && p[-1] != '\n')) {
		r = pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
			       "%s: [verify] not a clearsigned file (no '%s' line)", what,
			       ARMOR_MSG_BEGIN);
		goto out;
	}
	/* armor headers ("Hash: SHA256") up to the first empty line */
	p = strchr(p, '\n');
	while (p && p[1] && p[1] != '\n' && !(p[1] == '\r' && p[2] == '\n'))
		p = strchr(p + 1, '\n');
	if (!p) {
		r = pkgimg_err(ctx, -PKGIMG_E_SIGNATURE, "%s: [verify] truncated clearsigned file", what);
		goto out;
	}
	p = strchr(p + 1, '\n') + 1;
	sigstart = strstr(p, "\n" ARMOR_SIG_BEGIN);
	if (!sigstart) {
		r = pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
			       "%s: [verify] clearsigned file has no signature block", what);
		goto out;
	}
	/* The signed text: every line, dash-unescaped, trailing blanks removed,
	 * CRLF between lines, no line break after the last (RFC 4880 §7.1). */
	while (p <= sigstart) {
		const char *eol = memchr(p, '\n', (size_t)(sigstart - p) + 1);
		size_t n = (size_t)(eol - p);

		if (n >= 2 && p[0] == '-' && p[1] == ' ') {
			p += 2;
			n -= 2;
		}
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
			n--;
		if (!first)
			sbuf_add(&canon, "\r\n", 2);
		first = false;
		sbuf_add(&canon, p, n);
		sbuf_add(&plain, p, n);
		sbuf_addc(&plain, '\n');
		p = eol + 1;
	}
	if (dearmor(sigstart + 1, ARMOR_SIG_END, &bin, &binlen) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_SIGNATURE,
			       "%s: [verify] unreadable signature block", what);
		goto out;
	}
	r = keyring ? verify_packets(ctx, what, bin, binlen, canon.buf ? canon.buf : "", canon.len,
				     keyring) : 0;
	if (r == 0)
		*signed_text = sbuf_detach(&plain);
out:
	free(bin);
	free(text);
	sbuf_free(&canon);
	sbuf_free(&plain);
	return r;
}
