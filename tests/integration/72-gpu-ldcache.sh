#!/bin/bash
# A layer built with the GPU attached holds nothing of the host's driver:
# the driver's directory is in the sandbox's ld.so.conf, so a libc-bin
# trigger (install --gpu) or a command's ldconfig (run --gpu --commit) would
# write an ld.so cache that lists it.  pkgimg runs ldconfig again with the
# GPU detached.  On a fake driver tree (PKGIMG_GPU_ROOT, test-only) whose
# libcuda is a real ELF library, so that ldconfig lists it:
#   - with the GPU attached, ldconfig in the image does see libcuda (the
#     check below can fail);
#   - install --gpu --apt libyaml-0-2 (its trigger runs ldconfig): the
#     layer's ld.so cache does not list /usr/local/nvidia and is the same
#     bytes as the one of the same install without --gpu;
#   - run --gpu --commit -- ldconfig: the same for the committed layer.
# Needs the real archive (debian-slim has libc-bin and dpkg); skips without.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "GPU layers and the ld.so cache" "archive unreachable"; finish; }
command -v cc >/dev/null || { skip "GPU layers and the ld.so cache" "no C compiler for the fake libcuda"; finish; }

G=$T/gpu
LIB=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
mkdir -p "$G/dev" "$G/usr/bin" "$G/usr/lib/$LIB" "$G/etc"
: >"$G/dev/nvidiactl"
: >"$G/dev/nvidia0"
printf '#!/bin/sh\necho "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.2     |"\n' >"$G/usr/bin/nvidia-smi"
chmod 755 "$G/usr/bin/nvidia-smi"
echo 'int cuInit(unsigned f) { return (int)f; }' >"$T/cuda.c"
cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$G/usr/lib/$LIB/libcuda.so.535.54.03" "$T/cuda.c" \
	|| bail "the fake libcuda builds"
echo "/usr/lib/$LIB" >"$G/etc/ld.so.conf"
ldconfig -r "$G" || bail "ldconfig writes the fake driver tree's cache"

lists_driver() { grep -c /usr/local/nvidia "$1" 2>/dev/null || true; }
top_tree() { echo "$1/layers/${2#sha256:}/tree"; }

pk --store "$T/plain" install --apt libyaml-0-2 --tag y
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "GPU layers and the ld.so cache" "archive unreachable"; finish; }
	bail "install --apt libyaml-0-2" "$(pk_detail)"
fi
PLAIN=$(top_tree "$T/plain" "$(cat "$PK_OUT")")/etc/ld.so.cache
[ -f "$PLAIN" ] && ok "the libyaml layer has an ld.so cache (its trigger ran ldconfig)" \
	|| bail "the libyaml layer has an ld.so cache" "$(ls -la "$(dirname "$PLAIN")")"

PKGIMG_GPU_ROOT=$G pk --store "$T/plain" run --gpu y -- sh -c 'ldconfig -N -v 2>/dev/null | grep libcuda'
[ "$PK_RC" -eq 0 ] && grep -q 'libcuda.so.1 -> libcuda.so.535.54.03' "$PK_OUT" \
	&& ok "with the GPU attached, ldconfig in the image sees the driver's libcuda" \
	|| fail "with the GPU attached, ldconfig in the image sees the driver's libcuda" "$(pk_detail)"

PKGIMG_GPU_ROOT=$G pk --store "$T/gpu-store" install --gpu --apt libyaml-0-2
[ "$PK_RC" -eq 0 ] || bail "install --gpu --apt libyaml-0-2" "$(pk_detail)"
GC=$(top_tree "$T/gpu-store" "$(cat "$PK_OUT")")/etc/ld.so.cache
[ -f "$GC" ] && [ "$(lists_driver "$GC")" = 0 ] && cmp -s "$GC" "$PLAIN" \
	&& ok "install --gpu: the layer's ld.so cache lists nothing of the driver, the same bytes as without --gpu" \
	|| fail "install --gpu: the layer's ld.so cache lists nothing of the driver" \
		"driver entries: $(lists_driver "$GC")" "$(cmp "$GC" "$PLAIN" 2>&1)"

PKGIMG_GPU_ROOT=$G pk --store "$T/plain" run --gpu --commit y -- ldconfig
[ "$PK_RC" -eq 0 ] || bail "run --gpu --commit -- ldconfig" "$(pk_detail)"
CC=$(top_tree "$T/plain" "$(tail -n 1 "$PK_OUT")")/etc/ld.so.cache
[ -f "$CC" ] && [ "$(lists_driver "$CC")" = 0 ] && cmp -s "$CC" "$PLAIN" \
	&& ok "run --gpu --commit -- ldconfig: the committed cache lists nothing of the driver" \
	|| fail "run --gpu --commit -- ldconfig: the committed cache lists nothing of the driver" \
		"driver entries: $(lists_driver "$CC")" "$(ls -R "$(dirname "$CC")/.." | head -30)"
finish
