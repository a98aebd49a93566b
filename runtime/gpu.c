/* The host's NVIDIA GPU (see runtime/gpu.h): detection, the ld.so cache
 * reader, and the binds and environment that attach the GPU to a sandbox.
 *
 * Attaching, as NVIDIA's container toolkit does it (its "legacy" mode, minus
 * the hooks that write into the image): the device nodes are bound onto
 * /dev inside; the driver's libraries are the entries of the host's
 * ld.so.cache whose names start with one of the toolkit's library prefixes,
 * for this machine's ABI, each resolved through its symlinks to the real
 * file; they appear in GPU_LIB_DIR, which is a read-only bind of a directory
 * made here (ATTACH/lib64) holding an empty mount point per library and the
 * soname and unversioned symlinks, with each library bound read-only onto its
 * mount point.  Nothing is written into the image: the sandbox's skeleton
 * layer provides the mount points outside /dev. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "runtime/sandbox.h"

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
	return !strcmp(root, "/") && path && *path ? fs_which("nvidia-smi", path, NULL) : NULL;
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

static const char *gpu_root(void)
{
	const char *env = getenv(GPU_ROOT_ENV);

	return env && *env ? env : "/";
}

/* attach: the messages give the fixes for --gpu on `run` (install or drop),
 * not for choosing CUDA builds (--cuda). */
static int detect(struct pkgimg_ctx *ctx, const char *what, bool attach, struct gpu_info *out)
{
	struct gpu_info g = { 0 };
	struct sbuf text = SBUF_INIT, ver = SBUF_INIT;
	char *ctl, *procv;
	int r = 0;

	g.root = xstrdup(gpu_root());
	ctl = under(g.root, "/dev/nvidiactl");
	procv = under(g.root, "/proc/driver/nvidia/version");
	if (access(ctl, F_OK) < 0) {
		if (attach)
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] no NVIDIA GPU to attach: "
				       "%s is missing (no NVIDIA driver loaded); install the NVIDIA "
				       "driver, or drop %s", what, ctl, what);
		else
			r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] no NVIDIA GPU on this "
				       "host (%s is missing: no driver loaded); drop %s, or pass "
				       "--cuda X.Y to choose CUDA builds without a GPU", what, ctl, what);
		goto out;
	}
	if (fs_read_file(NULL, AT_FDCWD, procv, &ver) == 0)
		parse_driver(ver.buf, g.driver);
	g.smi = find_smi(g.root);
	if (!g.smi) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] the NVIDIA driver is loaded "
			       "but nvidia-smi is not installed (looked in /usr/bin, "
			       "/usr/local/nvidia/bin, /usr/local/bin and $PATH)%s", what,
			       attach ? "; --gpu binds it into the image: install the driver's "
			       "utilities, or drop --gpu" : ", so its CUDA version is unknown; install "
			       "the driver's utilities or pass --cuda X.Y");
		goto out;
	}
	if (run_smi(g.smi, &text) < 0 || !parse_cuda(text.buf, g.cuda)) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "%s: [gpu] %s did not report a CUDA "
			       "version (is the driver working? try running it); %s",
			       what, g.smi, attach ? "fix the driver, or drop --gpu" : "pass --cuda X.Y");
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

int gpu_detect(struct pkgimg_ctx *ctx, const char *what, struct gpu_info *out)
{
	return detect(ctx, what, false, out);
}

/* ---- the ld.so cache ----
 *
 * glibc's layouts (elf/dl-cache.h), in the byte order of the machine that
 * wrote it:
 *   old  "ld.so-1.7.0" (11 bytes), pad to 12, u32 nlibs; nlibs entries of
 *        {i32 flags, u32 key, u32 value}; string offsets count from the end
 *        of that table
 *   new  "glibc-ld.so.cache" "1.1" (20 bytes), u32 nlibs, u32 len_strings,
 *        u8 flags (byte order: 0 unset, 2 little, 3 big), 3 pad, u32
 *        extension_offset, 3 u32 unused (48 bytes); nlibs entries of
 *        {i32 flags, u32 key, u32 value, u32 osversion, u64 hwcap} (24 bytes);
 *        string offsets count from the new header
 *   both the old table, then the new header at the next multiple of 8 */

#define LDC_OLD_MAGIC "ld.so-1.7.0"
#define LDC_NEW_MAGIC "glibc-ld.so.cache1.1"
#define LDC_OLD_HEAD 16u
#define LDC_OLD_ENTRY 12u
#define LDC_NEW_HEAD 48u
#define LDC_NEW_ENTRY 24u
#define LDC_MAX_SIZE (256u << 20)

#define LDC_FLAG_ELF 0x0001
#define LDC_FLAG_ELF_LIBC6 0x0003
#if defined(__x86_64__) && !defined(__ILP32__)
#define LDC_NATIVE (0x0300 | LDC_FLAG_ELF_LIBC6)	/* "libc6,x86-64" */
#elif defined(__aarch64__) && !defined(__ILP32__)
#define LDC_NATIVE (0x0a00 | LDC_FLAG_ELF_LIBC6)	/* "libc6,AArch64" */
#elif defined(__powerpc64__)
#define LDC_NATIVE (0x0500 | LDC_FLAG_ELF_LIBC6)	/* "libc6,64bit" */
#else
#define LDC_NATIVE LDC_FLAG_ELF_LIBC6			/* 32-bit: "libc6" */
#endif

bool gpu_ldcache_native(int32_t flags)
{
	/* what ld.so takes (_dl_cache_check_flags) */
	return flags == LDC_NATIVE || flags == LDC_FLAG_ELF;
}

static uint32_t ldc_u32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

static uint64_t ldc_u64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof v);
	return v;
}

/* The NUL-terminated string at base + off, when all of it is inside d. */
static const char *ldc_str(const unsigned char *d, size_t len, size_t base, uint32_t off)
{
	if (base > len || off >= len - base)
		return NULL;
	if (!memchr(d + base + off, 0, len - base - off))
		return NULL;
	return (const char *)d + base + off;
}

/* Calls fn for the n entries of esize bytes at d + tab (all inside d). */
static int ldc_table(struct pkgimg_ctx *ctx, const char *what, const unsigned char *d,
		     size_t len, size_t tab, uint32_t n, size_t esize, size_t strbase,
		     gpu_ldcache_fn fn, void *arg)
{
	struct gpu_ldcache_entry e;
	uint32_t i, key, value;
	int r;

	for (i = 0; i < n; i++) {
		const unsigned char *p = d + tab + (size_t)i * esize;

		e.flags = (int32_t)ldc_u32(p);
		key = ldc_u32(p + 4);
		value = ldc_u32(p + 8);
		e.hwcap = esize == LDC_NEW_ENTRY ? ldc_u64(p + 16) : 0;
		e.name = ldc_str(d, len, strbase, key);
		e.path = ldc_str(d, len, strbase, value);
		if (!e.name || !e.path)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache entry %u of "
					  "%u: its %s (offset %u) is not a string inside the file's %zu "
					  "bytes (truncated or corrupt); run ldconfig to rebuild it",
					  what, i + 1, n, e.name ? "path" : "name",
					  e.name ? value : key, len);
		r = fn(arg, &e);
		if (r)
			return r;
	}
	return 0;
}

int gpu_ldcache_parse(struct pkgimg_ctx *ctx, const char *what, const void *data, size_t len,
		      gpu_ldcache_fn fn, void *arg)
{
	const unsigned char *d = data;
	size_t newoff, oldend;
	uint32_t n;
	unsigned order;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned native_order = 2;
#else
	const unsigned native_order = 3;
#endif

	if (len >= strlen(LDC_NEW_MAGIC) && !memcmp(d, LDC_NEW_MAGIC, strlen(LDC_NEW_MAGIC))) {
		newoff = 0;
	} else if (len >= strlen(LDC_OLD_MAGIC) && !memcmp(d, LDC_OLD_MAGIC, strlen(LDC_OLD_MAGIC))) {
		if (len < LDC_OLD_HEAD)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache: truncated "
					  "header (%zu bytes); run ldconfig to rebuild it", what, len);
		n = ldc_u32(d + 12);
		if (n > (len - LDC_OLD_HEAD) / LDC_OLD_ENTRY)
			return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache: it claims %u "
					  "entries, more than its %zu bytes hold (truncated or "
					  "corrupt); run ldconfig to rebuild it", what, n, len);
		oldend = LDC_OLD_HEAD + (size_t)n * LDC_OLD_ENTRY;
		newoff = (oldend + 7) & ~(size_t)7;
		if (newoff > len || len - newoff < LDC_NEW_HEAD ||
		    memcmp(d + newoff, LDC_NEW_MAGIC, strlen(LDC_NEW_MAGIC)))
			/* the old format alone */
			return ldc_table(ctx, what, d, len, LDC_OLD_HEAD, n, LDC_OLD_ENTRY,
					 oldend, fn, arg);
	} else {
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] not an ld.so cache (no "
				  "\"" LDC_NEW_MAGIC "\" or \"" LDC_OLD_MAGIC "\" at its start); "
				  "run ldconfig to rebuild it", what);
	}
	if (len - newoff < LDC_NEW_HEAD)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache: truncated header "
				  "(%zu bytes); run ldconfig to rebuild it", what, len);
	order = d[newoff + 28] & 3;
	if (order != 0 && order != native_order)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache: written for "
				  "another byte order; run this machine's ldconfig to rebuild it", what);
	n = ldc_u32(d + newoff + 20);
	if (n > (len - newoff - LDC_NEW_HEAD) / LDC_NEW_ENTRY)
		return pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] ld.so cache: it claims %u "
				  "entries, more than its %zu bytes hold (truncated or corrupt); "
				  "run ldconfig to rebuild it", what, n, len);
	return ldc_table(ctx, what, d, len, newoff + LDC_NEW_HEAD, n, LDC_NEW_ENTRY, newoff,
			 fn, arg);
}

int gpu_ldcache_read(struct pkgimg_ctx *ctx, const char *path, gpu_ldcache_fn fn, void *arg)
{
	unsigned char *buf = NULL;
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pkgimg_err(ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -errno,
				  "%s: [gpu] cannot open the ld.so cache: %m; run ldconfig to "
				  "create it", path);
	if (fstat(fd, &st) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] stat: %m", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)LDC_MAX_SIZE) {
		r = pkgimg_err(ctx, -PKGIMG_E_PARSE, "%s: [gpu] not an ld.so cache (%s); run "
			       "ldconfig to rebuild it", path,
			       S_ISREG(st.st_mode) ? "larger than 256 MiB" : "not a regular file");
		goto out;
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = pkgimg_err(ctx, -errno, "%s: [gpu] read: %m", path);
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	r = gpu_ldcache_parse(ctx, path, buf, got, fn, arg);
out:
	free(buf);
	close(fd);
	return r;
}

/* ---- paths inside a root ---- */

/* Resolves path (absolute) in the tree at rootfd the way the kernel would
 * with that tree as "/": symlinks followed, their absolute targets and ".."
 * kept inside it, at most 40 of them.  *out gets the result (absolute, in
 * the tree).  -errno (ENOENT, ELOOP, ENOTDIR, ...) when it does not resolve. */
static int resolve_in(int rootfd, const char *path, char **out)
{
	struct sbuf done = SBUF_INIT;	/* resolved so far: "usr/lib", no leading '/' */
	char *rest = xstrdup(path), *p = rest, *next;
	char link[PATH_MAX];
	struct stat st;
	size_t n, mark;
	ssize_t m;
	int hops = 0, r = 0;

	sbuf_adds(&done, "");
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		n = strcspn(p, "/");
		next = p + n;
		if (n == 1 && p[0] == '.') {
			p = next;
			continue;
		}
		if (n == 2 && p[0] == '.' && p[1] == '.') {
			char *slash = strrchr(done.buf, '/');

			done.len = slash ? (size_t)(slash - done.buf) : 0;
			done.buf[done.len] = 0;
			p = next;
			continue;
		}
		mark = done.len;
		if (done.len)
			sbuf_addc(&done, '/');
		sbuf_add(&done, p, n);
		if (fstatat(rootfd, done.buf, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = -errno;
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			char *again;

			if (++hops > 40) {
				r = -ELOOP;
				goto out;
			}
			m = readlinkat(rootfd, done.buf, link, sizeof link);
			if (m < 0 || (size_t)m >= sizeof link) {
				r = m < 0 ? -errno : -ENAMETOOLONG;
				goto out;
			}
			link[m] = 0;
			done.len = link[0] == '/' ? 0 : mark;
			done.buf[done.len] = 0;
			again = xasprintf("%s%s", link, next);
			free(rest);
			rest = p = again;
			continue;
		}
		if (*next && !S_ISDIR(st.st_mode)) {
			r = -ENOTDIR;
			goto out;
		}
		p = next;
	}
	*out = xasprintf("/%s", done.buf);
out:
	sbuf_free(&done);
	free(rest);
	return r;
}

/* ---- attaching ---- */

/* The driver's libraries that the toolkit mounts for the "utility" and
 * "compute" capabilities (libnvidia-container's utility_libs and
 * compute_libs): prefixes of the ld.so cache's names, followed by nothing or
 * by a '.'. */
static const char *const gpu_libs[] = {
	"libnvidia-ml.so",		/* management library (nvidia-smi, NVML) */
	"libnvidia-cfg.so",		/* GPU configuration */
	"libnvidia-nscq.so",		/* NVSwitch configuration and query */
	"libcuda.so",			/* the CUDA driver library */
	"libcudadebugger.so",		/* CUDA debugger */
	"libnvidia-opencl.so",		/* OpenCL ICD */
	"libnvidia-gpucomp.so",		/* shared compiler library */
	"libnvidia-ptxjitcompiler.so",	/* PTX JIT (used by libcuda) */
	"libnvidia-fatbinaryloader.so",	/* fatbin loader (older drivers) */
	"libnvidia-allocator.so",	/* allocator runtime */
	"libnvidia-compiler.so",	/* NVVM-PTX compiler for OpenCL */
	"libnvidia-pkcs11.so",		/* confidential computing crypto */
	"libnvidia-pkcs11-openssl3.so",
	"libnvidia-nvvm.so",		/* NVVM compiler (JIT LTO) */
	"libnvidia-tileiras.so",	/* Tile IR JIT */
};
#define GPU_NLIBS (sizeof gpu_libs / sizeof gpu_libs[0])

/* Its tools, next to nvidia-smi. */
static const char *const gpu_bins[] = {
	"nvidia-smi", "nvidia-debugdump", "nvidia-persistenced",
	"nvidia-cuda-mps-control", "nvidia-cuda-mps-server",
};

/* Device nodes by name, before the numbered ones. */
static const char *const gpu_ctl_nodes[] = {
	"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset",
};

struct attach_build {
	struct pkgimg_ctx *ctx;
	struct gpu_attach *g;
	int cap;
	int rootfd;
	bool fake;		/* under PKGIMG_GPU_ROOT: regular files pass as devices */
	const char *prefix;	/* "" or the override, to name host paths */
};

static void add_bind(struct attach_build *b, char *src, char *dst, int readonly)
{
	struct gpu_attach *g = b->g;

	if (g->nbinds == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 16;
		g->binds = xrealloc(g->binds, (size_t)b->cap * sizeof *g->binds);
	}
	g->binds[g->nbinds].src = src;
	g->binds[g->nbinds].dst = dst;
	g->binds[g->nbinds].readonly = readonly;
	g->nbinds++;
}

/* dev/NAME of the root (rel relative to it) onto /dev/NAME; a missing
 * optional node is skipped. */
static int add_dev(struct attach_build *b, const char *rel, bool required)
{
	struct stat st;
	char *abs = xasprintf("/%s", rel);
	int r = 0;

	if (fstatat(b->rootfd, rel, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno != ENOENT || required)
			r = pkgimg_err(b->ctx, errno == ENOENT ? -PKGIMG_E_NOTFOUND : -errno,
				       "--gpu: [gpu] %s%s: %m; install the NVIDIA driver (and load "
				       "its modules), or drop --gpu", b->prefix, abs);
		goto out;
	}
	if (!S_ISCHR(st.st_mode) && !(b->fake && S_ISREG(st.st_mode))) {
		if (required)
			r = pkgimg_err(b->ctx, -PKGIMG_E_NOTFOUND, "--gpu: [gpu] %s%s is not a "
				       "character device; reinstall the NVIDIA driver, or drop --gpu",
				       b->prefix, abs);
		goto out;
	}
	add_bind(b, under(b->g->info.root, abs), abs, 0);
	abs = NULL;
out:
	free(abs);
	return r;
}

/* "nvidia0" -> 0; -1 for any other name */
static long dev_number(const char *name)
{
	const char *p = name + strlen("nvidia");

	if (strncmp(name, "nvidia", strlen("nvidia")) || !ascii_isdigit(*p) ||
	    strspn(p, "0123456789") != strlen(p) || strlen(p) > 6)
		return -1;
	return strtol(p, NULL, 10);
}

static int cmp_dev(const void *a, const void *b)
{
	const char *x = *(char *const *)a, *y = *(char *const *)b;
	long nx = dev_number(x), ny = dev_number(y);

	return nx != ny ? (nx < ny ? -1 : 1) : strcmp(x, y);
}

/* The names in dir (relative to the root) that keep(name) accepts, sorted
 * by cmp; a missing dir has none. */
static int list_dir(struct attach_build *b, const char *dir, bool (*keep)(const char *),
		    int (*cmp)(const void *, const void *), struct strv *out)
{
	struct dirent *de;
	DIR *d;
	int fd;

	fd = openat(b->rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return pkgimg_err(b->ctx, -errno, "--gpu: [gpu] %s/%s: %m", b->prefix, dir);
	}
	d = fdopendir(fd);
	if (!d) {
		int e = errno;

		close(fd);
		errno = e;
		return pkgimg_err(b->ctx, -e, "--gpu: [gpu] %s/%s: %m", b->prefix, dir);
	}
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && keep(de->d_name))
			strv_add(out, de->d_name);
	closedir(d);
	if (out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, cmp);
	return 0;
}

static bool is_gpu_number(const char *name)
{
	return dev_number(name) >= 0;
}

static bool any_name(const char *name)
{
	(void)name;
	return true;
}

static int attach_devices(struct attach_build *b)
{
	struct strv nums = { 0 }, caps = { 0 };
	size_t i;
	int r;

	for (i = 0; i < sizeof gpu_ctl_nodes / sizeof gpu_ctl_nodes[0]; i++) {
		char *rel = xasprintf("dev/%s", gpu_ctl_nodes[i]);

		r = add_dev(b, rel, i == 0);
		free(rel);
		if (r < 0)
			goto out;
	}
	r = list_dir(b, "dev", is_gpu_number, cmp_dev, &nums);
	for (i = 0; r == 0 && i < nums.n; i++) {
		char *rel = xasprintf("dev/%s", nums.v[i]);

		r = add_dev(b, rel, false);
		free(rel);
	}
	if (r == 0)
		r = list_dir(b, "dev/nvidia-caps", any_name, str_cmp_ptr, &caps);
	for (i = 0; r == 0 && i < caps.n; i++) {
		char *rel = xasprintf("dev/nvidia-caps/%s", caps.v[i]);

		r = add_dev(b, rel, false);
		free(rel);
	}
out:
	strv_free(&nums);
	strv_free(&caps);
	return r;
}

/* The index in gpu_libs of the prefix name has, or -1. */
static int lib_kind(const char *name)
{
	size_t i, n;

	for (i = 0; i < GPU_NLIBS; i++) {
		n = strlen(gpu_libs[i]);
		if (!strncmp(name, gpu_libs[i], n) && (name[n] == 0 || name[n] == '.'))
			return (int)i;
	}
	return -1;
}

/* What the cache says: the first native entry of each wanted name. */
struct lib_scan {
	struct strv names, paths;
};

static int scan_entry(void *arg, const struct gpu_ldcache_entry *e)
{
	struct lib_scan *s = arg;
	size_t i;

	/* hwcap entries (glibc-hwcaps subdirs) are variants of a baseline one */
	if (!gpu_ldcache_native(e->flags) || e->hwcap || lib_kind(e->name) < 0)
		return 0;
	/* a file name, to become one in our directory; an absolute path */
	if (strchr(e->name, '/') || strlen(e->name) > NAME_MAX || e->path[0] != '/')
		return 0;
	for (i = 0; i < s->names.n; i++)
		if (!strcmp(s->names.v[i], e->name))
			return 0;
	strv_add(&s->names, e->name);
	strv_add(&s->paths, e->path);
	return 0;
}

static int strv_find(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return (int)i;
	return -1;
}

/* Makes an empty file (a mount point) or a symlink in dfd. */
static int make_entry(struct pkgimg_ctx *ctx, int dfd, const char *dir, const char *name,
		      const char *link)
{
	int fd;

	if (link) {
		if (symlinkat(link, dfd, name) < 0)
			return pkgimg_err(ctx, -errno, "%s/%s: [gpu] symlink to %s: %m", dir, name,
					  link);
		return 0;
	}
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s/%s: [gpu] create mount point: %m", dir, name);
	if (fchmod(fd, 0644) < 0) {
		int e = errno;

		close(fd);
		errno = e;
		return pkgimg_err(ctx, -errno, "%s/%s: [gpu] chmod: %m", dir, name);
	}
	close(fd);
	return 0;
}

/* The libraries: GPU_LIB_DIR from ATTACH/lib64 (dirfd), then each library
 * onto its mount point there. */
static int attach_libs(struct attach_build *b, int dirfd)
{
	struct pkgimg_ctx *ctx = b->ctx;
	struct gpu_attach *g = b->g;
	struct lib_scan scan = { { 0 }, { 0 } };
	struct strv libs = { 0 }, hosts = { 0 };	/* real files: base names, host paths */
	struct strv links = { 0 }, targets = { 0 };	/* symlinks: names, targets */
	char *cache = under(g->info.root, "/etc/ld.so.cache");
	char *libdir = xasprintf("%s/lib64", g->dir);
	bool have_cuda = false;
	size_t i, k;
	int libfd = -1, r;

	r = gpu_ldcache_read(ctx, cache, scan_entry, &scan);
	if (r < 0) {
		pkgimg_err_wrap(ctx, r, "--gpu: [gpu] the driver's libraries are found through "
				"the host's ld.so cache");
		goto out;
	}
	for (i = 0; i < scan.names.n; i++) {
		const char *name = scan.names.v[i], *base;
		char *real = NULL, *host;
		struct stat st;
		int at;

		/* a stale entry or a link out of the tree: the toolkit skips those too */
		if (resolve_in(b->rootfd, scan.paths.v[i], &real) < 0)
			continue;
		host = under(g->info.root, real);
		base = path_base(real);
		if (fstatat(b->rootfd, real + 1, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode) || strv_find(&links, base) >= 0) {
			free(host);
			free(real);
			continue;
		}
		at = strv_find(&libs, base);
		if (at < 0) {
			strv_add(&libs, base);
			strv_push(&hosts, host);
			host = NULL;
		} else if (strcmp(hosts.v[at], host)) {
			/* another file of that name (another copy of the driver): the first wins */
			free(host);
			free(real);
			continue;
		}
		free(host);
		if (!strcmp(gpu_libs[lib_kind(name)], "libcuda.so"))
			have_cuda = true;
		/* soname links; the unversioned names point at them (below) */
		if (strcmp(name, base) && strcmp(name, gpu_libs[lib_kind(name)]) &&
		    strv_find(&libs, name) < 0 && strv_find(&links, name) < 0) {
			strv_add(&links, name);
			strv_add(&targets, base);
		}
		free(real);
	}
	if (!have_cuda) {
		r = pkgimg_err(ctx, -PKGIMG_E_NOTFOUND, "--gpu: [gpu] %s names no libcuda.so "
			       "of the NVIDIA driver for this machine (or the file it names is "
			       "missing); install the driver's CUDA library and run ldconfig, or "
			       "drop --gpu", cache);
		goto out;
	}
	/* libcuda.so -> libcuda.so.1: the shortest versioned name (the soname) */
	for (k = 0; k < GPU_NLIBS; k++) {
		const char *best = NULL, *pre = gpu_libs[k];
		size_t n = strlen(pre);

		if (strv_find(&libs, pre) >= 0 || strv_find(&links, pre) >= 0)
			continue;
		for (i = 0; i < links.n + libs.n; i++) {
			const char *c = i < links.n ? links.v[i] : libs.v[i - links.n];

			if (!strncmp(c, pre, n) && c[n] == '.' && lib_kind(c) == (int)k &&
			    (!best || strlen(c) < strlen(best) ||
			     (strlen(c) == strlen(best) && strcmp(c, best) < 0)))
				best = c;
		}
		if (best) {
			strv_add(&targets, best);
			strv_add(&links, pre);
		}
	}

	if (mkdirat(dirfd, "lib64", 0755) < 0 || fchmodat(dirfd, "lib64", 0755, 0) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] mkdir: %m", libdir);
		goto out;
	}
	libfd = openat(dirfd, "lib64", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (libfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] open: %m", libdir);
		goto out;
	}
	for (i = 0; r == 0 && i < libs.n; i++)
		r = make_entry(ctx, libfd, libdir, libs.v[i], NULL);
	for (i = 0; r == 0 && i < links.n; i++)
		r = make_entry(ctx, libfd, libdir, links.v[i], targets.v[i]);
	if (r < 0)
		goto out;
	add_bind(b, libdir, xstrdup(GPU_LIB_DIR), 1);
	libdir = NULL;
	for (i = 0; i < libs.n; i++) {
		add_bind(b, hosts.v[i], xasprintf(GPU_LIB_DIR "/%s", libs.v[i]), 1);
		hosts.v[i] = NULL;
	}
out:
	if (libfd >= 0)
		close(libfd);
	for (i = 0; i < hosts.n; i++)
		free(hosts.v[i]);
	hosts.n = 0;
	strv_free(&hosts);
	strv_free(&libs);
	strv_free(&links);
	strv_free(&targets);
	strv_free(&scan.names);
	strv_free(&scan.paths);
	free(cache);
	free(libdir);
	return r;
}

/* nvidia-smi and the tools next to it, each resolved in the root. */
static int attach_bins(struct attach_build *b)
{
	struct gpu_attach *g = b->g;
	const char *root = g->info.root, *smi = g->info.smi;
	size_t rootlen = strcmp(root, "/") ? strlen(root) : 0;
	char *dir, *slash, *path = NULL, *real = NULL, *host = NULL;
	struct stat st;
	size_t i;
	int r = 0;

	/* smi's directory, as a path in the root */
	dir = xstrdup(rootlen && !strncmp(smi, root, rootlen) && smi[rootlen] == '/'
		      ? smi + rootlen : smi);
	slash = strrchr(dir, '/');
	if (!slash || dir[0] != '/') {
		r = pkgimg_err(b->ctx, -PKGIMG_E_NOTFOUND, "--gpu: [gpu] %s: not an absolute "
			       "path to nvidia-smi", smi);
		goto out;
	}
	*slash = 0;
	for (i = 0; i < sizeof gpu_bins / sizeof gpu_bins[0]; i++) {
		path = xasprintf("%s/%s", dir, gpu_bins[i]);
		if (resolve_in(b->rootfd, path, &real) == 0 &&
		    fstatat(b->rootfd, real + 1, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && faccessat(b->rootfd, real + 1, X_OK, 0) == 0) {
			host = under(root, real);
			add_bind(b, host, xasprintf("/usr/bin/%s", gpu_bins[i]), 1);
			host = NULL;
		} else if (i == 0) {	/* nvidia-smi itself; the others are optional */
			r = pkgimg_err(b->ctx, -PKGIMG_E_NOTFOUND, "--gpu: [gpu] %s does not "
				       "resolve to an executable file in %s; reinstall the driver's "
				       "utilities, or drop --gpu", smi, root);
			goto out;
		}
		free(path);
		free(real);
		path = real = NULL;
	}
out:
	free(path);
	free(real);
	free(dir);
	return r;
}

static int write_at(struct pkgimg_ctx *ctx, int dfd, const char *dir, const char *name,
		    const char *text)
{
	size_t n = strlen(text);
	int fd, r = 0;

	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return pkgimg_err(ctx, -errno, "%s/%s: [gpu] create: %m", dir, name);
	errno = EIO;	/* for a short write */
	if (fchmod(fd, 0644) < 0 || write(fd, text, n) != (ssize_t)n)
		r = pkgimg_err(ctx, -errno, "%s/%s: [gpu] write: %m", dir, name);
	close(fd);
	return r;
}

void gpu_attach_free(struct gpu_attach *a)
{
	int i;

	for (i = 0; i < a->nbinds; i++) {
		free((char *)a->binds[i].src);
		free((char *)a->binds[i].dst);
	}
	free(a->binds);
	strv_free_null(a->env);
	if (a->dir)
		fs_rm_rf(NULL, AT_FDCWD, a->dir);
	free(a->dir);
	gpu_info_free(&a->info);
	memset(a, 0, sizeof *a);
}

int gpu_attach_prepare(struct pkgimg_ctx *ctx, const char *scratch_parent,
		       struct gpu_attach *out)
{
	struct gpu_attach g = { 0 };
	struct attach_build b = { .ctx = ctx, .g = &g, .rootfd = -1 };
	struct strv env = { 0 };
	int dirfd = -1, r;

	r = detect(ctx, "--gpu", true, &g.info);
	if (r < 0)
		goto out;
	b.fake = strcmp(g.info.root, "/") != 0;
	b.prefix = b.fake ? g.info.root : "";
	b.rootfd = open(g.info.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (b.rootfd < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] open: %m", g.info.root);
		goto out;
	}
	if (!scratch_parent || !*scratch_parent) {
		r = pkgimg_err(ctx, -PKGIMG_E_USAGE, "--gpu: [gpu] no scratch directory given");
		goto out;
	}
	g.dir = xasprintf("%s/gpu-XXXXXX", scratch_parent);
	if (!mkdtemp(g.dir)) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] cannot create a scratch dir: %m",
			       scratch_parent);
		free(g.dir);
		g.dir = NULL;
		goto out;
	}
	dirfd = open(g.dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dirfd < 0 || fchmod(dirfd, 0755) < 0) {
		r = pkgimg_err(ctx, -errno, "%s: [gpu] open: %m", g.dir);
		goto out;
	}
	r = attach_devices(&b);
	if (r == 0)
		r = attach_libs(&b, dirfd);
	if (r == 0)
		r = attach_bins(&b);
	if (r == 0)
		r = write_at(ctx, dirfd, g.dir, "ld.so.conf", GPU_LIB_DIR "\n");
	if (r < 0)
		goto out;
	add_bind(&b, xasprintf("%s/ld.so.conf", g.dir), xstrdup(GPU_LDCONF), 1);
	strv_add(&env, "LD_LIBRARY_PATH=" GPU_LIB_DIR);
	strv_add(&env, "NVIDIA_VISIBLE_DEVICES=all");
	strv_add(&env, "NVIDIA_DRIVER_CAPABILITIES=compute,utility");
	g.env = env.v;
	memset(&env, 0, sizeof env);
	*out = g;
	memset(&g, 0, sizeof g);
out:
	strv_free(&env);
	if (dirfd >= 0)
		close(dirfd);
	if (b.rootfd >= 0)
		close(b.rootfd);
	gpu_attach_free(&g);
	return r;
}

void gpu_env_merge(struct strv *env, char *const *gpu_env)
{
	for (char *const *g = gpu_env; g && *g; g++) {
		size_t kn = strcspn(*g, "=");
		size_t i;

		for (i = 0; i < env->n; i++)
			if (!strncmp(env->v[i], *g, kn) && env->v[i][kn] == '=')
				break;
		if (i == env->n) {
			strv_add(env, *g);
		} else {
			char *nv = !strncmp(*g, "LD_LIBRARY_PATH=", 16) && env->v[i][kn + 1]
				? xasprintf("%s:%s", *g, env->v[i] + kn + 1) : xstrdup(*g);

			free(env->v[i]);
			env->v[i] = nv;
		}
	}
}

int gpu_ldcache_scrub(struct pkgimg_ctx *ctx, const char *what, const struct sandbox_opts *ran)
{
	/* the aux cache only when the command left one (the configure pass
	 * removes it, as mmdebstrap does) */
	static char *const argv[] = {
		"/bin/sh", "-c",
		"exec 1>&2; command -v ldconfig >/dev/null || exit 0\n"
		"aux=; [ -e /var/cache/ldconfig/aux-cache ] && aux=1\n"
		"ldconfig || exit\n"
		"[ -n \"$aux\" ] || rm -f /var/cache/ldconfig/aux-cache\n",
		NULL,
	};
	struct strv env = { 0 };
	struct sandbox_opts so = *ran;
	struct stat sb;
	char *cache = xasprintf("%s/etc/ld.so.cache", ran->upper);
	int r, status = 0;

	r = lstat(cache, &sb);
	free(cache);
	if (r < 0)
		return 0;
	sandbox_default_env(&env, SANDBOX_ENV_PATH | SANDBOX_ENV_LANG, NULL);
	so.argv = argv;
	so.env = env.v;
	so.cwd = NULL;
	so.binds = NULL;
	so.nbinds = 0;
	so.network = 0;
	so.fn = NULL;
	so.fn_arg = NULL;
	r = sandbox_run(ctx, &so, &status);
	strv_free(&env);
	if (r == 0 && status != 0)
		r = pkgimg_err(ctx, -PKGIMG_E_SCRIPT, "%s: [gpu] ldconfig, run again without the "
			       "GPU so that the image's ld.so cache does not list the host's driver, "
			       "exited with status %d (its output is above); build this step without "
			       "--gpu, or fix the image's ldconfig", what, status);
	return r;
}
