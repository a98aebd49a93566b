#!/bin/bash
# Device check (see tests/device/README.md) for issue 3 (the static binary on a GPU machine with none of
# its libraries) and reconnaissance for issue 7 (GPU attach).
set -u
R=$PWD; O=${OUT:-/tmp/out}; mkdir -p "$O"
exec > >(tee "$O/report.txt") 2>&1
echo "== host"; uname -a; id; head -3 /etc/os-release 2>/dev/null; ldd --version 2>&1 | head -1
echo "== binary"; file ./pkgimg 2>/dev/null || true; ldd ./pkgimg 2>&1 | head -2; ./pkgimg --version
echo "== chroot"; C=$(mktemp -d); cp ./pkgimg "$C/"; chroot "$C" /pkgimg --version; echo "chroot rc=$?"
echo "== file:// install (scratch base, fixture repo)"
S=$(mktemp -d)
./pkgimg --store "$S" install --base scratch --apt-source "file://$R/build/gpu-check/repo/ testing-fixture main" \
  --keyring "$R/build/gpu-check/repo/keyring.gpg" --apt hello-fixture --root "$S/root" ; echo "install rc=$?"
ls "$S/root/usr/bin" 2>&1 | head; grep -c "^Package:" "$S/root/var/lib/dpkg/status" 2>&1
echo "== sandbox run in that image (no shell: expect a clear error)"
./pkgimg --store "$S" run "$(ls "$S/layers" | head -1)" -- /usr/bin/hello-fixture; echo "run rc=$?"
echo "== GPU recon"
ls -la /dev/nvidia* 2>&1 | head -20
command -v nvidia-smi && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | head -3
nvidia-smi 2>&1 | grep -i "cuda version" | head -1
ldconfig -p 2>/dev/null | grep -E "libcuda\.so|libnvidia-ml|libnvidia-ptxjitcompiler|libcudadebugger|libnvidia-nvvm|libnvidia-gpucomp" | head -20
cat /proc/driver/nvidia/version 2>&1 | head -2
ls /etc/ld.so.conf.d/ 2>&1; cat /etc/ld.so.conf.d/* 2>/dev/null | head
grep -E "overlay" /proc/filesystems; cat /proc/sys/kernel/unprivileged_userns_clone 2>/dev/null; cat /proc/sys/user/max_user_namespaces
