/* The host's NVIDIA GPU, as container toolkits find it: the control device
 * node, the kernel driver's version, and nvidia-smi for the CUDA version the
 * driver supports (what --gpu selects CUDA builds and `__cuda` by).
 *
 * PKGIMG_GPU_ROOT (tests only) makes every path relative to a fake driver
 * tree: ROOT/dev/nvidiactl, ROOT/proc/driver/nvidia/version and nvidia-smi
 * under ROOT/usr/bin, ROOT/usr/local/nvidia/bin, ROOT/usr/local/bin or
 * ROOT/bin (and $PATH when there is no override). */
#ifndef PKGIMG_RUNTIME_GPU_H
#define PKGIMG_RUNTIME_GPU_H

struct pkgimg_ctx;

#define GPU_ROOT_ENV "PKGIMG_GPU_ROOT"

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

#endif
