#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ctx.h"
#include "core/fs.h"
#include "core/str.h"
#include "runtime/gpu.h"

void gpu_info_free(struct gpu_info *g)
{
	free(g->root);
	free(g->smi);
	memset(g, 0, sizeof *g);
}

static char *under(const char *root, const char *path)
{
	return !strcmp(root, "/") ? xstrdup(path) : xasprintf("%s%s", root, path);
}

static bool executable(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && access(path, X_OK) == 0;
}

/* nvidia-smi: the usual places of drivers and container runtimes, then
 * $PATH (only for the real root). */
static char *find_smi(const char *root)
{
	static const char *const dirs[] = {
		"/usr/bin", "/usr/local/nvidia/bin", "/usr/local/bin", "/bin", "/usr/sbin",
	};
	const char *path = getenv("PATH");

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		char *d = under(root, dirs[i]), *p = xasprintf("%s/nvidia-smi", d);

		free(d);
		if (executable(p))
			return p;
		free(p);
	}
	while (!strcmp(root, "/") && path && *path) {
		size_t n = strcspn(path, ":");
		char *p = xasprintf("%.*s/nvidia-smi", (int)n, path);

		if (n && path[0] == '/' && executable(p))
			return p;
		free(p);
		path += n + (path[n] == ':');
	}
	return NULL;
}

/* Runs nvidia-smi (no arguments: its banner has "CUDA Version: X.Y") and
 * keeps at most 64 KiB of what it prints. */
static int run_smi(const char *smi, struct sbuf *out)
{
	int p[2], status;
	pid_t pid;
	char buf[4096];
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(p[1], 1);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 2);
		}
		execl(smi, "nvidia-smi", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		if (n > 0 && out->len < 65536)
			sbuf_add(out, buf, (size_t)n);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -PKGIMG_E_SCRIPT;
}

/* "CUDA Version: 13.0" -> "13.0" */
static bool parse_cuda(const char *text, char out[16])
{
	const char *p = text ? strstr(text, "CUDA Version:") : NULL;
	size_t n;

	if (!p)
		return false;
	p += strlen("CUDA Version:");
	p += strspn(p, " ");
	n = strspn(p, "0123456789.");
	if (n == 0 || n >= 16 || !memchr(p, '.', n))
		return false;
	memcpy(out, p, n);
	out[n] = 0;
	return true;
}

/* "NVRM version: NVIDIA UNIX ... Kernel Module  580.159.04  Release ..." */
static void parse_driver(const char *text, char out[32])
{
	const char *p = text ? strstr(text, "Kernel Module") : NULL;

	out[0] = 0;
	if (!p)
		return;
	for (p += strlen("Kernel Module"); *p && *p != '\n'; p++) {
		size_t n = strspn(p, "0123456789.");

		if (n > 2 && n < 32 && ascii_isdigit(p[0]) && memchr(p, '.', n)) {
			memcpy(out, p, n);
			out[n] = 0;
			return;
		}
	}
}

int gpu_detect(struct pkgimg_ctx *ctx, const char *what, struct gpu_info *out)
{
	const char *env = getenv(GPU_ROOT_ENV);
	struct gpu_info g = { 0 };
	struct sbuf text = SBUF_INIT, ver = SBUF_INIT;
	char *ctl, *procv;
	int r = 0;

	g.root = xstrdup(env && *env ? env : "/");
	ctl = under(g.root, "/dev/nvidiactl");
	procv = under(g.root, "/proc/driver/nvidia/version");
	if (access(ctl, F_OK) < 0) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] no NVIDIA GPU on this host (%s "
			       "is missing: no driver loaded); drop %s, or pass --cuda X.Y to "
			       "choose CUDA builds without a GPU", what, ctl, what);
		goto out;
	}
	if (fs_read_file(NULL, AT_FDCWD, procv, &ver) == 0)
		parse_driver(ver.buf, g.driver);
	g.smi = find_smi(g.root);
	if (!g.smi) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] the NVIDIA driver is loaded "
			       "but nvidia-smi is not installed (looked in /usr/bin, "
			       "/usr/local/nvidia/bin, /usr/local/bin and $PATH), so its CUDA "
			       "version is unknown; install the driver's utilities or pass --cuda X.Y",
			       what);
		goto out;
	}
	if (run_smi(g.smi, &text) < 0 || !parse_cuda(text.buf, g.cuda)) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] %s did not report a CUDA "
			       "version (is the driver working? try running it); pass --cuda X.Y",
			       what, g.smi);
		goto out;
	}
	*out = g;
	memset(&g, 0, sizeof g);
out:
	gpu_info_free(&g);
	free(ctl);
	free(procv);
	sbuf_free(&text);
	sbuf_free(&ver);
	return r;
}
