#!/bin/bash
# pkgimg vs rattler (npm @conda-org/rattler, conda's solver as WASM, the
# version pinned in tests/fixtures/rattler/package.json) solving `numpy` on
# the same local conda channels served on 127.0.0.1 (linux-64 + noarch):
#   forge   the real conda-forge numpy 1.26.4 + python 3.12 closure (35 records)
#   scale   forge plus copies of the real forge, legacy defaults and pytorch
#           records under derived names (conda_fixture.py scale, 120000+
#           records, 46 MB of repodata.json); numpy solves the same
#   bench/conda.sh [RUNS]      (default 5 runs each; the median is reported)
# Columns:
#   rattler node    the whole `node solve.mjs` process (start-up, WASM load,
#                   fetch, parse, solve); rattler keeps no cache between runs
#   rattler solve   the simpleSolve call alone (fetch, parse, solve)
#   pkgimg cold     `pkgimg lock --base scratch --conda numpy -c URL`, fresh store
#   pkgimg warm     the same with the store of a previous run (index cached)
#   ratios          rattler node / pkgimg cold, rattler solve / pkgimg warm
# Expects ./pkgimg built (or $PKGIMG); rattler is installed once into
# $RATTLER_DIR (default ~/.cache/pkgimg-bench/rattler) from the npm registry.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PKGIMG=${PKGIMG:-$PWD/pkgimg}
RATTLER_DIR=${RATTLER_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/pkgimg-bench/rattler}
SCALE=120000
[ -x "$PKGIMG" ] || { echo "bench/conda.sh: $PKGIMG is not built (make pkgimg)" >&2; exit 1; }
deps/ensure-packages.sh python3 zstd >/dev/null
work=$(mktemp -d /tmp/pkgimg-bench.XXXXXX)
srv=
trap '[ -z "$srv" ] || kill $srv 2>/dev/null; rm -rf "$work"' EXIT

rc=0
RATTLER=$(tests/fixtures/rattler.sh ensure "$RATTLER_DIR") || rc=$?
[ $rc -eq 0 ] || { echo "bench/conda.sh: rattler is not available (rattler.sh exit $rc)" >&2; exit 1; }
export RATTLER
python3 tests/fixtures/conda_fixture.py channels "$work/ch" >/dev/null
python3 tests/fixtures/conda_fixture.py scale "$work/ch/scale" "$SCALE" >"$work/scale.out"
python3 tests/fixtures/httpserver.py --dir "$work/ch" --port-file "$work/port" \
	--timeout 3600 --parent-pid $$ >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "bench/conda.sh: the channel server did not start" >&2; exit 1; }
URL=http://127.0.0.1:$(cat "$work/port")
SPEC=numpy

. bench/lib.sh

# rattler_time CHANNEL-URL: sets r_node and r_solve (medians) and r_n (packages)
rattler_time() {
	local i t0 t1
	: >"$work/r.node"; : >"$work/r.solve"
	for ((i = 0; i < RUNS; i++)); do
		t0=$(now)
		node tests/fixtures/rattler/solve.mjs --timing -c "$1" "$SPEC" >"$work/r.out" 2>"$work/r.err" \
			|| { echo "bench: rattler failed on $1" >&2; cat "$work/r.err" >&2; exit 1; }
		t1=$(now)
		awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.4f\n", a - b }' >>"$work/r.node"
		sed -n 's/^rattler-seconds //p' "$work/r.err" >>"$work/r.solve"
	done
	r_node=$(median <"$work/r.node")
	r_solve=$(median <"$work/r.solve")
	r_n=$(wc -l <"$work/r.out")
}

S=$work/store
pk_lock() { "$PKGIMG" --store "$S" lock --base scratch --conda "$SPEC" -c "$CH" -o "$work/l.lock"; }
fresh_store() { rm -rf "$S"; }

# pkgimg_time CHANNEL-URL: sets p_cold and p_warm, or p_err (pkgimg's message)
pkgimg_time() {
	local prc=0
	CH=$1 p_cold='' p_warm='' p_err=''
	fresh_store
	pk_lock >"$work/p.out" 2>"$work/p.err" || prc=$?
	if [ $prc -ne 0 ]; then
		p_err=$(cat "$work/p.err" "$work/p.out" | head -n 5)
		[ -n "$p_err" ] || p_err="exit status $prc and no message"
		return 0
	fi
	p_cold=$(PREP=fresh_store timeit pk_lock)
	pk_lock >/dev/null 2>&1		# the store of a previous run
	p_warm=$(timeit pk_lock)
}

row() {	# row NAME RECORDS
	local pc pw rc rw
	if [ -n "$p_err" ]; then
		pc=failed pw=failed rc=- rw=-
	else
		pc=$(printf '%.3f s' "$p_cold") pw=$(printf '%.3f s' "$p_warm")
		rc=$(ratio "$r_node" "$p_cold")x rw=$(ratio "$r_solve" "$p_warm")x
	fi
	printf '%-7s %8s %5s %10.3f s %11.3f s %11s %11s %9s %10s\n' "$1" "$2" "$r_n" \
		"$r_node" "$r_solve" "$pc" "$pw" "$rc" "$rw"
}

fail=0
echo "== solve '$SPEC' from a local channel (linux-64 + noarch), median of $RUNS"
printf '%-7s %8s %5s %12s %13s %11s %11s %9s %10s\n' channel records pkgs "rattler node" "rattler solve" \
	"pkgimg cold" "pkgimg warm" node/cold solve/warm
rattler_time "$URL/forge/"
pkgimg_time "$URL/forge/"
row forge 35
errs=()
[ -z "$p_err" ] || { fail=1; errs+=("forge: $p_err"); }
rattler_time "$URL/scale/"
pkgimg_time "$URL/scale/"
row scale "$(awk '{print $1}' "$work/scale.out")"
[ -z "$p_err" ] || { fail=1; errs+=("scale: $p_err"); }
for e in "${errs[@]+"${errs[@]}"}"; do
	echo "pkgimg failed on $e" >&2
done
exit $fail
