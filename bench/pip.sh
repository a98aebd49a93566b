#!/bin/bash
# pkgimg vs pip on the same local index: the real torch 2.2.1 closure (22
# projects, 106 files, stand-in wheel bytes with the real metadata) served
# on 127.0.0.1 as PEP 503 HTML (Debian's pip 23.0 misreads PEP 691 JSON).
#   bench/pip.sh [RUNS]        (default 5 runs each; the median is reported)
# Rows:
#   resolve       pkgimg lock            vs pip install --dry-run --report
#   install cold  nothing cached: pkgimg's store holds only the python3 image
#                 (tag py; as pip's host holds its python), installed on with
#                 --base py; pip --no-cache-dir
#   install warm  index pages, metadata and wheels cached (pkgimg revalidates
#                 the pages; pip uses its HTTP cache); the layer is rebuilt
# pip installs with --target into a fresh dir and --no-compile (pkgimg's
# layer has no bytecode yet either).  The Python image (apt layers) is built
# once, untimed.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PKGIMG=${PKGIMG:-$PWD/pkgimg}
deps/ensure-packages.sh python3 python3-pip >/dev/null
[ -x "$PKGIMG" ] || make -s pkgimg
work=$(mktemp -d /tmp/pkgimg-bench.XXXXXX)
srv=
trap '[ -z "$srv" ] || kill $srv 2>/dev/null; rm -rf "$work"' EXIT
S=$work/store

python3 tests/fixtures/pypi_fixture.py torch-closure "$work/idx" >/dev/null
python3 tests/fixtures/pypi_server.py --dir "$work/idx" --html-only --port-file "$work/port" \
	--timeout 3600 --parent-pid $$ >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
IDX=http://127.0.0.1:$(cat "$work/port")/simple/
REQ=torch==2.2.1

. bench/lib.sh

# the Python image, and one full run to learn the keys and blobs
"$PKGIMG" --store "$S" install --apt python3 --tag py >/dev/null 2>&1
"$PKGIMG" --store "$S" lock --base py --pip "$REQ" --index-url "$IDX" -o "$work/l.lock" >/dev/null 2>&1
top=$("$PKGIMG" --store "$S" install --base py --pip "$REQ" --index-url "$IDX" 2>/dev/null)
blobs=$(awk '/ecosystem: pypi/ {p = 1} p && /sha256:/ {print $2; p = 0}' "$work/l.lock")

pk_lock() { "$PKGIMG" --store "$S" lock --base py --pip "$REQ" --index-url "$IDX" -o "$work/l.lock"; }
pk_install() { "$PKGIMG" --store "$S" install --base py --pip "$REQ" --index-url "$IDX"; }
drop_layer() { rm -rf "$S/layers/${top#sha256:}"; }
drop_all() {
	drop_layer
	rm -rf "$S"/index/pypi-*
	for b in $blobs; do rm -f "$S/blobs/sha256/$b"; done
}
pip_dry() { python3 -m pip install --dry-run --ignore-installed --quiet --report "$work/r.json" --index-url "$IDX" "$REQ"; }
pip_cold() { python3 -m pip install --no-cache-dir --no-compile --quiet --target "$work/t" --index-url "$IDX" "$REQ"; }
pip_warm() { python3 -m pip install --cache-dir "$work/pipcache" --no-compile --quiet --target "$work/t" --index-url "$IDX" "$REQ"; }
fresh_target() { rm -rf "$work/t"; }

pip_warm >/dev/null 2>&1; rm -rf "$work/t"	# warm pip's cache
t_pl=$(PREP=drop_all timeit pk_lock)
t_pd=$(timeit pip_dry)
t_pc=$(PREP=drop_all timeit pk_install)
t_qc=$(PREP=fresh_target timeit pip_cold)
t_pw=$(PREP=drop_layer timeit pk_install)
t_qw=$(PREP=fresh_target timeit pip_warm)
echo "== torch==2.2.1 closure (22 packages) from a local index, CPython 3.11 x86-64"
printf 'resolve       pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_pd" "$t_pl" "$(ratio "$t_pd" "$t_pl")"
printf 'install cold  pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_qc" "$t_pc" "$(ratio "$t_qc" "$t_pc")"
printf 'install warm  pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_qw" "$t_pw" "$(ratio "$t_qw" "$t_pw")"
