#!/bin/bash
# pkgimg vs apt-get (resolution) and vs mmdebstrap (rootfs), warm caches for
# both, on the host's Debian sources.  Prints the times and the ratios.
#   bench/apt.sh [RUNS]        (default 5 runs each; the median is reported)
#   RESOLUTION_ONLY=1 bench/apt.sh   the resolution part alone
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PKGIMG=${PKGIMG:-$PWD/pkgimg}
deps/ensure-packages.sh mmdebstrap python3 >/dev/null
[ -x "$PKGIMG" ] || make -s pkgimg
work=$(mktemp -d /tmp/pkgimg-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
store=$work/store
PKGS=(python3 build-essential git cmake libopenblas-dev)

. bench/lib.sh

echo "== resolution: ${PKGS[*]} (empty system, no recommends, warm indexes)"
touch "$work/empty-status"; mkdir -p "$work/aptcache"
# apt as a Debian machine runs it: with its binary cache (pkgcache.bin,
# srcpkgcache.bin), which docker images turn off (/etc/apt/apt.conf.d/
# docker-clean sets both to ""); here they live in the work dir, built by the
# untimed warm-up run below, so the timed runs only map them.
apt_s() {
	apt-get -o Dir::State::status="$work/empty-status" -o Dir::Cache="$work/aptcache" \
		-o Dir::Cache::pkgcache="$work/aptcache/pkgcache.bin" \
		-o Dir::Cache::srcpkgcache="$work/aptcache/srcpkgcache.bin" \
		-o Debug::NoLocking=1 -o APT::Install-Recommends=0 install -s "${PKGS[@]}"
}
lock_args=(--base scratch); for p in "${PKGS[@]}"; do lock_args+=(--apt "$p"); done
"$PKGIMG" --store "$store" lock "${lock_args[@]}" -o "$work/warm.lock" >/dev/null  # warm the index cache
apt_s >/dev/null 2>&1
[ -s "$work/aptcache/pkgcache.bin" ] || echo "warning: apt wrote no binary cache; its figure is the uncached one"
# walltime_cpu CMD...: like timeit, and the median CPU time (user + system)
# of the same runs into $cpu: on a shared machine the wall time is mostly
# waiting for a CPU, the CPU time is the work
walltime_cpu() {
	local i t0 t1 TIMEFORMAT='%3U %3S'
	: >"$work/cpu"
	for ((i = 0; i < RUNS; i++)); do
		t0=$(now)
		{ time "$@" >/dev/null 2>"$work/err"; } 2>>"$work/cpu" ||
			{ echo "bench: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
		t1=$(now)
		awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.4f\n", a - b }'
	done | median
}
cpu_median() { awk '{ print $1 + $2 }' "$work/cpu" | median; }
t_apt=$(walltime_cpu apt_s); c_apt=$(cpu_median)
# like apt-get -s, from the cached indexes (apt reads the lists of its last update)
t_pk=$(walltime_cpu "$PKGIMG" --offline --store "$store" lock "${lock_args[@]}" -o "$work/l.lock")
c_pk=$(cpu_median)
# and revalidating every InRelease with the mirror (conditional GETs) first
t_pkn=$(timeit "$PKGIMG" --store "$store" lock "${lock_args[@]}" -o "$work/l.lock")
cmp -s "$work/warm.lock" "$work/l.lock" || echo "warning: the lockfile changed between runs (the mirror moved?)"
printf 'apt-get install -s (binary cache): %8.3f s\npkgimg --offline lock (cached idx): %8.3f s  ratio %6.1fx faster\npkgimg lock (revalidated)         : %8.3f s  ratio %6.1fx faster\n' \
	"$t_apt" "$t_pk" "$(awk -v a="$t_apt" -v b="$t_pk" 'BEGIN { print a / b }')" \
	"$t_pkn" "$(awk -v a="$t_apt" -v b="$t_pkn" 'BEGIN { print a / b }')"
printf 'CPU time (user+sys), same runs    : apt-get %.3f s, pkgimg --offline lock %.3f s, ratio %.1fx (load average %s)\n' \
	"$c_apt" "$c_pk" "$(awk -v a="$c_apt" -v b="$c_pk" 'BEGIN { print a / b }')" "$(cut -d' ' -f1 /proc/loadavg)"

[ -z "${RESOLUTION_ONLY:-}" ] || exit 0	# RESOLUTION_ONLY=1: the first part alone

echo
echo "== rootfs: essential + apt + python3 (warm package caches)"
debcache=$work/debs; mkdir -p "$debcache"
suite=$(. /etc/os-release; echo "$VERSION_CODENAME")
mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list)
mm() {
	rm -rf "$work/mm.tar"
	mmdebstrap --quiet --variant=apt --include=python3 --skip=cleanup/apt/cache \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
		--setup-hook="sync-in $debcache /var/cache/apt/archives/" \
		--customize-hook="sync-out /var/cache/apt/archives $debcache" \
		"$suite" "$work/mm.tar" "deb $mirror $suite main"
}
mm >/dev/null 2>&1 || { echo "mmdebstrap failed:"; mm; }
# pkgimg's warm caches: blobs (the .debs), indexes, and the unpacked-package
# cache ($STORE/unpacked, hard-linked into layers).  Two builds:
#  - both layers (debian-slim base + apt/python3) built again, as mmdebstrap
#    builds everything: --force-build;
#  - the image on a base layer already in the store, as every image after the
#    first one is built (the debian-slim layer is shared by all images): only
#    the apt/python3 layer is built.
# (the layers to rebuild are removed before each run, untimed, as mmdebstrap's
# output is)
pk_args=(--store "$store" install --apt apt --apt python3)
pk() { "$PKGIMG" "${pk_args[@]}"; }
top=$(pk 2>/dev/null)
drop_all() { rm -rf "$store/layers" "$store/tags"; }
drop_top() { rm -rf "$store/layers/${top#sha256:}" "$store/tags"; }
t_mm=$(timeit mm)
t_full=$(PREP=drop_all timeit pk)
t_top=$(PREP=drop_top timeit pk)
printf 'mmdebstrap                         : %8.3f s\n' "$t_mm"
printf 'pkgimg install, both layers built  : %8.3f s  ratio %6sx faster\n' "$t_full" "$(ratio "$t_mm" "$t_full")"
printf 'pkgimg install, on the cached base : %8.3f s  ratio %6sx faster\n' "$t_top" "$(ratio "$t_mm" "$t_top")"
