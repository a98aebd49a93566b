/* The handle passed down through every engine call: options, the last error
 * message, and the callbacks through which the engine reports progress and
 * warnings (the CLI formats them; the engine never prints). */
#ifndef PKGIMG_CTX_H
#define PKGIMG_CTX_H

#include <stdint.h>
#include "core/error.h"

#define PKGIMG_F_OFFLINE	0x01u	/* never touch the network */
#define PKGIMG_F_JSON		0x02u
#define PKGIMG_F_QUIET		0x04u
#define PKGIMG_F_VERBOSE	0x08u
#define PKGIMG_F_FORCE_BUILD	0x10u
#define PKGIMG_F_ALLOW_UNSIGNED	0x20u
#define PKGIMG_F_PRIVILEGED	0x40u	/* sandbox: keep root's capabilities, no
					   seccomp filter, /proc unmasked (--privileged) */
#define PKGIMG_F_ALLOW_DEVICES	0x80u	/* write device nodes from an image onto the
					   host (--root, export --dir: --allow-devices) */

#define PKGIMG_MAX_DOWNLOAD_DEFAULT	(16ull << 30)	/* 16 GiB */
#define PKGIMG_UNPACK_SLACK_DEFAULT	(64ull << 20)	/* 64 MiB */

struct pkgimg_progress {
	const char *phase;	/* "fetch", "unpack", "configure", ... */
	const char *item;	/* what is being worked on, or NULL */
	uint64_t done;		/* units done (bytes or items) */
	uint64_t total;		/* 0 when unknown */
	int finished;		/* 1 on the last report of a phase */
};

struct pkgimg_ctx {
	char *store_dir;	/* store root (absolute) */
	int jobs;		/* parallel transfers / workers */
	unsigned flags;		/* PKGIMG_F_* */
	const char *arch;	/* Debian architecture of the target, "amd64" */
	const char *ca_bundle;	/* --ca-bundle: CA certificates for HTTPS, or NULL */
	uint64_t max_download;	/* bytes a download with no declared size may
				 * have (PKGIMG_MAX_DOWNLOAD); 0: no bound */
	uint64_t unpack_slack;	/* what an unpacked archive may write beyond
				 * its declared size (PKGIMG_UNPACK_SLACK) */

	char errmsg[8192];	/* the message of the last error */

	void (*progress)(void *arg, const struct pkgimg_progress *p);
	void (*warn)(void *arg, const char *msg);
	void (*info)(void *arg, const char *msg);	/* -v details */
	void *cb_arg;
};

void pkgimg_ctx_init(struct pkgimg_ctx *ctx);
void pkgimg_warn(struct pkgimg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pkgimg_info(struct pkgimg_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Milliseconds of the monotonic clock, for timeouts, retries and timings. */
int64_t pkgimg_now_ms(void);
void pkgimg_progress(struct pkgimg_ctx *ctx, const char *phase, const char *item,
		     uint64_t done, uint64_t total, int finished);

#endif
