#!/bin/bash
# `install --lock` checks the lockfile before anything is installed: each
# hostile or broken lockfile below exits non-zero, names the key and its
# LINE:COL, and leaves no image in the store; a lockfile nested 100k levels
# deep is refused at once.  (Hermetic: nothing is fetched.)
. "$(dirname "$0")/../lib.sh"
need_pkgimg
S=$T/store
SHA=$(printf 'a%.0s' $(seq 64))
lock() {	# lock PLATFORM BASE PACKAGES-LINE SIZE
	cat <<EOF
version: 1
platform: $1
base: $2
sources: []
layers:
- step: 'apt: hello'
  packages:$3
  - ecosystem: apt
    name: hello
    version: "1.0"
    arch: amd64
    url: http://127.0.0.1:9/hello.deb
    sha256: $SHA
    size: $4
    requested_by: hello
EOF
}
refused() {	# refused NAME FILE WORDS...: install --lock FILE fails with each of WORDS
	local name=$1 f=$2 w miss=
	shift 2
	pk --store "$S" install --lock "$f" --offline
	for w in "$@"; do grep -qF -- "$w" "$PK_ERR" || miss+=" [$w]"; done
	if [ "$PK_RC" -ne 0 ] && [ -z "$miss" ] && [ -z "$(ls "$S/layers" 2>/dev/null)" ]; then
		ok "$name"
	else
		fail "$name" "missing:$miss" "$(pk_detail)"
	fi
}
printf 'version: 1\nplatform: linux/amd64\nbase: scratch\nsources: []\nlayers:\n- step: x\n  packages: "oops"\n' \
	>"$T/oops.lock"
refused "packages: \"oops\" is refused, not an empty image" "$T/oops.lock" \
	"oops.lock:7:13: [lock] 'packages' must be a list"
lock linux/arm64 scratch "" 10 >"$T/arm.lock"
refused "platform linux/arm64 is refused on this amd64 host, naming both" "$T/arm.lock" \
	"arm.lock:2:11: [lock] 'platform' is linux/arm64, this host is linux/amd64"
lock linux/amd64 ../../etc "" 10 >"$T/base.lock"
refused "base ../../etc is refused, not taken for scratch" "$T/base.lock" \
	"base.lock:3:7: [lock] 'base' is '../../etc'; it is debian-slim, scratch or an image id"
lock linux/amd64 scratch "" -5 >"$T/size.lock"
refused "size -5 is refused" "$T/size.lock" "size.lock:14:11: [lock] 'hello': 'size' is '-5'"
{
	printf 'version: 1\nplatform: linux/amd64\nbase: scratch\nlayers: '
	head -c 100000 /dev/zero | tr '\0' '['
	head -c 100000 /dev/zero | tr '\0' ']'
	echo
} >"$T/deep.lock"
t0=$(date +%s%N)
refused "a lockfile nested 100k levels deep is refused with line:col" "$T/deep.lock" \
	"deep.lock:4:40: [lock] nested more than 32 levels deep"
ms=$((($(date +%s%N) - t0) / 1000000))
[ "$ms" -lt 2000 ] && ok "... at once ($ms ms)" || fail "a lockfile nested 100k levels deep is refused at once" "$ms ms"
finish
