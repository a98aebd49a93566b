#!/bin/bash
# `install --lock` checks the entries of packages built from source (issue
# 18) before anything is installed, as 94-lockfile-checks does the rest: a
# git source without a full commit id (a branch name where the commit goes),
# a short wheel_sha256, a subdirectory that climbs out of the source, a build
# environment that nests another or holds a source package, a source key on
# a plain wheel: each exits non-zero, names the key and its LINE:COL, and
# leaves no image in the store.  (Hermetic: nothing is fetched.)
. "$(dirname "$0")/../lib.sh"
need_pkgimg
S=$T/store
SHA=$(printf 'a%.0s' $(seq 64))
WSHA=$(printf 'b%.0s' $(seq 64))
COMMIT=0123456789abcdef0123456789abcdef01234567
lock() {	# lock SHA256 EXTRA-LINES: one pypi package built from source
	cat <<EOF
version: 1
platform: linux/amd64
base: scratch
python: "3.11.2"
sources: []
layers:
- step: 'pip: x'
  kind: pip
  packages:
  - ecosystem: pypi
    name: x
    version: "1.0"
    arch: py3-none-any
    url: git+https://127.0.0.1:9/x.git@main
    sha256: $1
    size: 0
    requested_by: --pip x
    filename: x
$2
EOF
}
WHEEL="    wheel_filename: x-1.0-py3-none-any.whl
    wheel_sha256: $WSHA
    wheel_size: 10"
ENV="    - ecosystem: pypi
      name: flit-core
      version: \"3.8.0\"
      arch: py3-none-any
      url: http://127.0.0.1:9/flit_core-3.8.0-py3-none-any.whl
      sha256: $SHA
      size: 3
      requested_by: build
      filename: flit_core-3.8.0-py3-none-any.whl
      index: http://127.0.0.1:9/simple/"
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
lock "" "    source: git
    commit: main
    direct: true
$WHEEL" >"$T/branch.lock"
refused "git: a branch name where the commit goes is refused" "$T/branch.lock" \
	"branch.lock:20:13: [lock] 'x': 'commit' is not a full commit id"
lock "" "    source: git
    direct: true
$WHEEL" >"$T/nocommit.lock"
refused "git: a source without its commit is refused" "$T/nocommit.lock" \
	"nocommit.lock:19:13: [lock] 'x': a git source without its 'commit'"
lock "" "    source: git
    commit: $COMMIT
    direct: true
    wheel_filename: x-1.0-py3-none-any.whl
    wheel_sha256: abc
    wheel_size: 10" >"$T/wsha.lock"
refused "wheel_sha256: a short digest is refused" "$T/wsha.lock" \
	"wsha.lock:23:19: [lock] 'x' has a malformed wheel_sha256"
lock "" "    source: git
    commit: $COMMIT
    subdirectory: a/../../../etc
    direct: true
$WHEEL" >"$T/sub.lock"
refused "subdirectory: one that climbs out of the source is refused" "$T/sub.lock" \
	"sub.lock:21:19: [lock] 'x': 'subdirectory' is not a relative path inside the source"
lock "" "    source: git
    commit: $COMMIT
    direct: true
$WHEEL
    build_env:
$ENV
      build_env: []" >"$T/nested.lock"
refused "build_env: one nested in a build environment is refused" "$T/nested.lock" \
	"nested.lock:36:18: [lock] 'flit-core': a build environment holds wheels, not packages built from source"
lock "" "    source: git
    commit: $COMMIT
    direct: true
$WHEEL
    build_env:
$ENV
      source: sdist" >"$T/envsrc.lock"
refused "build_env: a source package in it is refused" "$T/envsrc.lock" \
	"envsrc.lock:36:15: [lock] 'flit-core': a build environment holds wheels, not packages built from source"
lock "$SHA" "    index: http://127.0.0.1:9/simple/
    commit: $COMMIT" >"$T/plain.lock"
refused "commit: on a wheel that is not built from source is refused" "$T/plain.lock" \
	"plain.lock:20:13: [lock] 'x': 'commit' without 'source'"
finish
