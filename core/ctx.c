/* The context handle: options, the last message, progress and warning
 * callbacks (see core/ctx.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/ctx.h"
#include "core/str.h"

void pkgimg_ctx_init(struct pkgimg_ctx *ctx)
{
	memset(ctx, 0, sizeof *ctx);
	ctx->jobs = 8;
	ctx->arch = "amd64";
	ctx->max_download = PKGIMG_MAX_DOWNLOAD_DEFAULT;
	ctx->unpack_slack = PKGIMG_UNPACK_SLACK_DEFAULT;
}

void pkgimg_warn(struct pkgimg_ctx *ctx, const char *fmt, ...)
{
	char raw[2048], msg[2048];
	va_list ap;

	if (!ctx->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	str_escape_ctl(msg, sizeof msg, raw, true);
	ctx->warn(ctx->cb_arg, msg);
}

void pkgimg_info(struct pkgimg_ctx *ctx, const char *fmt, ...)
{
	char raw[2048], msg[2048];
	va_list ap;

	if (!ctx->info)
		return;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, fmt, ap);
	va_end(ap);
	str_escape_ctl(msg, sizeof msg, raw, true);
	ctx->info(ctx->cb_arg, msg);
}

void pkgimg_progress(struct pkgimg_ctx *ctx, const char *phase, const char *item,
		     uint64_t done, uint64_t total, int finished)
{
	struct pkgimg_progress p = { phase, item, done, total, finished };

	if (ctx->progress)
		ctx->progress(ctx->cb_arg, &p);
}

int64_t pkgimg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
