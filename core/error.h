/* Error codes and the message kept on the context handle.
 *
 * Every engine function returns 0 on success or a negative code: -errno, or
 * -PKGIMG_E_* (above the errno range).  The message that goes with it is left
 * on the handle with pkgimg_err(); it names the thing, the phase and the cause,
 * and gives the fix where there is one.  Only cli/ prints it. */
#ifndef PKGIMG_ERROR_H
#define PKGIMG_ERROR_H

#include <stdarg.h>

struct pkgimg_ctx;

enum pkgimg_errcode {
	PKGIMG_E_FIRST = 1024,
	PKGIMG_E_USAGE,		/* bad command line or spec */
	PKGIMG_E_PARSE,		/* malformed index, lockfile, control file */
	PKGIMG_E_NET,		/* transfer failed (DNS, connect, reset) */
	PKGIMG_E_HTTP,		/* server answered with an error status */
	PKGIMG_E_CHECKSUM,	/* content does not match its expected digest */
	PKGIMG_E_SIGNATURE,	/* missing, bad or unknown OpenPGP signature */
	PKGIMG_E_EXPIRED,	/* Release past its Valid-Until */
	PKGIMG_E_NOTFOUND,	/* no such package, image, tag or file */
	PKGIMG_E_SOLVE,		/* the request cannot be satisfied */
	PKGIMG_E_UNSAFE,	/* a path from an archive would escape its root */
	PKGIMG_E_ARCHIVE,	/* archive cannot be read */
	PKGIMG_E_SANDBOX,	/* namespaces, mounts or exec failed */
	PKGIMG_E_SCRIPT,	/* a maintainer script or command failed */
	PKGIMG_E_OFFLINE,	/* needed the network with --offline */
	PKGIMG_E_AMBIGUOUS,	/* an image prefix matches several images */
	PKGIMG_E_LAST
};

/* Sets the message (printf format) and returns code unchanged, so that
 * `return pkgimg_err(ctx, -PKGIMG_E_HTTP, "...")` reads naturally. */
int pkgimg_err(struct pkgimg_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int pkgimg_verr(struct pkgimg_ctx *ctx, int code, const char *fmt, va_list ap);

/* Puts "prefix: " in front of the message already on the handle (adds the
 * outer context as an error travels up) and returns code unchanged. */
int pkgimg_err_wrap(struct pkgimg_ctx *ctx, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Short text for a code: "checksum mismatch", "No such file or directory". */
const char *pkgimg_strerror(int code);

#endif
