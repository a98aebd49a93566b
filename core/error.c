/* Error codes and the message left on the context (see core/error.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/ctx.h"
#include "core/error.h"
#include "core/str.h"

int pkgimg_verr(struct pkgimg_ctx *ctx, int code, const char *fmt, va_list ap)
{
	char raw[sizeof ctx->errmsg];

	if (ctx) {
		/* names from archives and indexes are in messages: no control
		 * character reaches a terminal */
		vsnprintf(raw, sizeof raw, fmt, ap);
		str_escape_ctl(ctx->errmsg, sizeof ctx->errmsg, raw, true);
	}
	return code;
}

int pkgimg_err(struct pkgimg_ctx *ctx, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	pkgimg_verr(ctx, code, fmt, ap);
	va_end(ap);
	return code;
}

int pkgimg_err_wrap(struct pkgimg_ctx *ctx, int code, const char *fmt, ...)
{
	char prefix[1024], old[sizeof ctx->errmsg];
	va_list ap;

	if (!ctx)
		return code;
	va_start(ap, fmt);
	vsnprintf(old, sizeof old, fmt, ap);
	va_end(ap);
	str_escape_ctl(prefix, sizeof prefix, old, true);
	memcpy(old, ctx->errmsg, sizeof old);
	{
		const char *rest = old[0] ? old : pkgimg_strerror(code);
		size_t n = strlen(prefix), m = strlen(rest), cap = sizeof ctx->errmsg - 1;

		if (n > cap)
			n = cap;
		memcpy(ctx->errmsg, prefix, n);
		if (n + 2 <= cap) {
			memcpy(ctx->errmsg + n, ": ", 2);
			n += 2;
		}
		if (m > cap - n)
			m = cap - n;
		memcpy(ctx->errmsg + n, rest, m);
		ctx->errmsg[n + m] = 0;
	}
	return code;
}

static const char *const messages[] = {
	[PKGIMG_E_USAGE - PKGIMG_E_FIRST] = "invalid usage",
	[PKGIMG_E_PARSE - PKGIMG_E_FIRST] = "malformed input",
	[PKGIMG_E_NET - PKGIMG_E_FIRST] = "network transfer failed",
	[PKGIMG_E_HTTP - PKGIMG_E_FIRST] = "server returned an error",
	[PKGIMG_E_CHECKSUM - PKGIMG_E_FIRST] = "checksum mismatch",
	[PKGIMG_E_SIGNATURE - PKGIMG_E_FIRST] = "signature verification failed",
	[PKGIMG_E_EXPIRED - PKGIMG_E_FIRST] = "repository metadata expired",
	[PKGIMG_E_NOTFOUND - PKGIMG_E_FIRST] = "not found",
	[PKGIMG_E_SOLVE - PKGIMG_E_FIRST] = "dependencies cannot be satisfied",
	[PKGIMG_E_UNSAFE - PKGIMG_E_FIRST] = "unsafe path in archive",
	[PKGIMG_E_ARCHIVE - PKGIMG_E_FIRST] = "archive cannot be read",
	[PKGIMG_E_SANDBOX - PKGIMG_E_FIRST] = "sandbox setup failed",
	[PKGIMG_E_SCRIPT - PKGIMG_E_FIRST] = "command failed",
	[PKGIMG_E_OFFLINE - PKGIMG_E_FIRST] = "network needed but --offline given",
	[PKGIMG_E_AMBIGUOUS - PKGIMG_E_FIRST] = "ambiguous name",
};

const char *pkgimg_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code > PKGIMG_E_FIRST && code < PKGIMG_E_LAST)
		return messages[code - PKGIMG_E_FIRST];
	if (code == 0)
		return "success";
	return strerror(code);
}
