/* The host's NVIDIA GPU, as container toolkits find it: the control device
 * node, the kernel driver's version, and nvidia-smi for the CUDA version the
 * driver supports (what --gpu selects CUDA builds and `__cuda` by); and what
 * it takes to use it inside the sandbox, the way NVIDIA's container toolkit
 * attaches it: the device nodes, the driver's user-space libraries (found
 * through the host's ld.so cache), its tools, and an environment.
 *
 * PKGIMG_GPU_ROOT (tests only) makes every path relative to a fake driver
 * tree: ROOT/dev/nvidiactl, ROOT/proc/driver/nvidia/version, nvidia-smi
 * under ROOT/usr/bin, ROOT/usr/local/nvidia/bin, ROOT/usr/local/bin or
 * ROOT/bin (and $PATH when there is no override), ROOT/etc/ld.so.cache and
 * the libraries it names (their symlinks resolved inside ROOT). */
#ifndef PKGIMG_RUNTIME_GPU_H
#define PKGIMG_RUNTIME_GPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/sandbox.h"

struct pkgimg_ctx;

#define GPU_ROOT_ENV "PKGIMG_GPU_ROOT"

/* Where the driver's libraries appear inside the sandbox (what NVIDIA's CUDA
 * images put on LD_LIBRARY_PATH), and the ld.so config file naming it. */
#define GPU_LIB_DIR "/usr/local/nvidia/lib64"
#define GPU_LDCONF "/etc/ld.so.conf.d/000-pkgimg-nvidia.conf"

struct gpu_info {
	char *root;		/* "/" or the override */
	char *smi;		/* nvidia-smi's path on the host */
	char driver[32];	/* "580.159.04", or "" when /proc does not say */
	char cuda[16];		/* "13.0": the highest CUDA the driver runs */
};

/* Finds the GPU.  -PKGIMG_E_NOTFOUND with a message naming what is missing
 * and the fix when there is none (no /dev/nvidiactl, no nvidia-smi, or
 * nvidia-smi that does not say its CUDA version). */
int gpu_detect(struct pkgimg_ctx *ctx, const char *what, struct gpu_info *out);
void gpu_info_free(struct gpu_info *g);

/* What `--gpu` adds to a sandbox run. */
struct gpu_attach {
	struct gpu_info info;		/* from gpu_detect */
	struct sandbox_bind *binds;	/* in mount order; src and dst owned */
	int nbinds;
	char **env;			/* NULL-terminated "K=V" to add to the
					   command's environment */
	char *dir;			/* a host scratch dir made under the given
					   parent; removed by gpu_attach_free */
};

/* Finds the GPU and prepares its binds, in this order: the device nodes
 * (read-write: /dev/nvidiactl, /dev/nvidia-uvm, /dev/nvidia-uvm-tools,
 * /dev/nvidia-modeset, /dev/nvidiaN, /dev/nvidia-caps/...); GPU_LIB_DIR, a
 * read-only directory made under out->dir that holds an empty mount point
 * for each driver library and the soname and unversioned symlinks
 * (libcuda.so -> libcuda.so.1 -> libcuda.so.580.65.06); each library,
 * read-only, onto its mount point; nvidia-smi and the driver's other tools
 * found next to it, read-only, in /usr/bin; GPU_LDCONF, read-only.  out->env
 * gets LD_LIBRARY_PATH=GPU_LIB_DIR (nothing runs ldconfig inside),
 * NVIDIA_VISIBLE_DEVICES=all and NVIDIA_DRIVER_CAPABILITIES=compute,utility.
 * The scratch dir must stay until the sandbox has run.
 *
 * -PKGIMG_E_NOTFOUND when there is no GPU, no nvidia-smi, no ld.so cache or
 * no libcuda in it (the message says what is missing and the fix);
 * -PKGIMG_E_PARSE for a corrupt ld.so cache. */
int gpu_attach_prepare(struct pkgimg_ctx *ctx, const char *scratch_parent,
		       struct gpu_attach *out);
void gpu_attach_free(struct gpu_attach *a);

struct sandbox_opts;
/* After a command ran with the GPU attached over ran->upper: when it wrote
 * the image's ld.so cache (ldconfig, a libc-bin trigger), that cache lists
 * GPU_LIB_DIR from GPU_LDCONF, the host's driver.  ldconfig runs again in
 * the same image with the GPU detached, so the layer holds what a build
 * without the GPU would (reproducible, nothing of the host's driver).  A
 * layer without an ld.so cache is left as it is.  -PKGIMG_E_SCRIPT when
 * that ldconfig fails. */
int gpu_ldcache_scrub(struct pkgimg_ctx *ctx, const char *what, const struct sandbox_opts *ran);

struct strv;
/* Adds the attach's env to an environment: a variable already there is
 * replaced, but LD_LIBRARY_PATH gets the driver's dir in front of the
 * image's own value. */
void gpu_env_merge(struct strv *env, char *const *gpu_env);

/* ---- the ld.so cache (ldconfig's /etc/ld.so.cache) ---- */

/* One entry, as `ldconfig -p` lists it: "NAME (FLAGS) => PATH".  The
 * strings point into the cache's bytes. */
struct gpu_ldcache_entry {
	const char *name;	/* "libc.so.6" */
	const char *path;	/* "/lib/x86_64-linux-gnu/libc.so.6" */
	int32_t flags;		/* ELF type (low byte) and ABI (next byte) */
	uint64_t hwcap;		/* 0 but for glibc-hwcaps and legacy hwcap entries */
};

/* Called for each entry in the cache's order; returns 0 to go on, anything
 * else to stop (and the parse returns it). */
typedef int (*gpu_ldcache_fn)(void *arg, const struct gpu_ldcache_entry *e);

/* Parses a cache in glibc's formats: "glibc-ld.so.cache1.1", the old
 * "ld.so-1.7.0" with the new one after its table (the new one is read), or
 * the old one alone.  Every count, offset and string is bounds-checked:
 * -PKGIMG_E_PARSE ("what: [gpu] ...; run ldconfig to rebuild it") for a
 * truncated or corrupt cache. */
int gpu_ldcache_parse(struct pkgimg_ctx *ctx, const char *what, const void *data, size_t len,
		      gpu_ldcache_fn fn, void *arg);
/* The same for a file. */
int gpu_ldcache_read(struct pkgimg_ctx *ctx, const char *path, gpu_ldcache_fn fn, void *arg);
/* Whether an entry's flags are this machine's ABI ("libc6,x86-64" on
 * x86-64, "libc6,AArch64" on arm64). */
bool gpu_ldcache_native(int32_t flags);

#endif
