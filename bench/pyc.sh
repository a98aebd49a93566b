#!/bin/bash
# pkgimg pyc vs python3 -m compileall byte-compiling a copy of the host's
# standard library (the dir of os.py, without site-packages, dist-packages,
# config-* and every __pycache__), checked-hash .pyc (PEP 552), opt level 0.
#   bench/pyc.sh [RUNS]        (default 5 runs each; the median is reported)
# Every timed run starts from a tree without any __pycache__ (removed untimed).
# Columns:
#   compileall -j1   python3 -m compileall -q -j1 --invalidation-mode checked-hash
#   compileall -j0   the same with one worker process per core
#   pkgimg           pkgimg pyc DIR (one interpreter worker per core)
#   ratios           compileall -j1 / pkgimg, compileall -j0 / pkgimg
# Then the bit-identity check: the sha256 of every .pyc written by compileall
# -j1, pkgimg --jobs 1, pkgimg --jobs 8 and pkgimg (cores) must be equal; the
# script fails when they are not.  All tools get the same interpreter
# ($PYTHON, default python3 on PATH, resolved to its sys.executable) and the
# same absolute DIR argument, so the embedded co_filename strings agree.
# A few stdlib test files do not compile: compileall then exits 1 (tolerated),
# pkgimg warns and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PKGIMG=${PKGIMG:-$PWD/pkgimg}
deps/ensure-packages.sh python3 >/dev/null
[ -x "$PKGIMG" ] || { echo "bench/pyc.sh: $PKGIMG is not built (make pkgimg)" >&2; exit 1; }
"$PKGIMG" pyc --help >/dev/null 2>&1 || { echo "bench/pyc.sh: $PKGIMG has no pyc command" >&2; exit 1; }
PY=$("${PYTHON:-python3}" -c 'import sys; print(sys.executable)')
STDLIB=$("$PY" -c 'import os; print(os.path.dirname(os.__file__))')
work=$(mktemp -d /tmp/pkgimg-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
T=$work/stdlib
export LC_ALL=C

mkdir "$T"
tar -C "$STDLIB" --exclude=site-packages --exclude=dist-packages --exclude=__pycache__ \
	--exclude='config-[0-9]*' -cf - . | tar -C "$T" -xf -
npy=$(find "$T" -name '*.py' ! -type d | wc -l)
cores=$(nproc)
echo "== byte-compile a copy of $STDLIB ($npy .py files), $("$PY" -V 2>&1), $cores cores, median of $RUNS"

. bench/lib.sh

clean() { find "$T" -name __pycache__ -type d -prune -exec rm -rf {} +; }
ca() {	# ca -jN: compileall, exit status 1 (some files do not compile) is fine
	local rc=0
	"$PY" -m compileall -q "$1" --invalidation-mode checked-hash "$T" || rc=$?
	[ "$rc" -le 1 ]
}
pk() { "$PKGIMG" "$@" pyc --python "$PY" "$T"; }
sums() {	# sums OUT: "sha256  path" of every .pyc, sorted by path
	(cd "$work" && find stdlib -name '*.pyc' -type f -print0 | sort -z | xargs -0r sha256sum) >"$1"
}
ndiff() {	# ndiff A B: the number of .pyc paths missing from one list or differing
	awk 'NR == FNR { h[$2] = $1; next }
		{ if (!($2 in h) || h[$2] != $1) d++; delete h[$2] }
		END { for (k in h) d++; print d + 0 }' "$1" "$2"
}

t_c1=$(PREP=clean timeit ca -j1)
t_c0=$(PREP=clean timeit ca -j0)
t_pk=$(PREP=clean timeit pk)
sums "$work/pk.cores"		# the tree of the last timed pkgimg run

echo "== bit identity (sha256 of every .pyc)"
clean; ca -j1 >/dev/null 2>&1 || { echo "bench/pyc.sh: compileall failed" >&2; exit 1; }
sums "$work/ca.j1"
for j in 1 8; do
	clean
	pk --jobs "$j" >/dev/null 2>"$work/pk.err" \
		|| { echo "bench/pyc.sh: pkgimg --jobs $j pyc failed" >&2; cat "$work/pk.err" >&2; exit 1; }
	sums "$work/pk.j$j"
done
fail=0
npyc=$(wc -l <"$work/ca.j1")
printf '%-24s %6s .pyc\n' "compileall -j1" "$npyc"
for v in j1 j8 cores; do
	n=$(wc -l <"$work/pk.$v")
	d=$(ndiff "$work/ca.j1" "$work/pk.$v")
	if [ "$d" -eq 0 ]; then s="identical to compileall"; else s="$d differ from compileall"; fail=1; fi
	if [ "$v" = cores ]; then l="pkgimg ($cores, timed)"; else l="pkgimg --jobs ${v#j}"; fi
	printf '%-24s %6s .pyc  %s\n' "$l" "$n" "$s"
done
d=$(ndiff "$work/pk.j1" "$work/pk.j8")
if [ "$d" -ne 0 ]; then
	echo "pkgimg --jobs 1 vs --jobs 8: $d .pyc differ" >&2; fail=1
fi
if [ "$npyc" -eq 0 ]; then echo "bench/pyc.sh: compileall wrote no .pyc" >&2; fail=1; fi
if [ "$fail" -eq 0 ]; then echo "identical: yes"; else echo "identical: no"; fi

echo "== times (s)"
printf '%-16s %-16s %-16s %-14s %-14s\n' "compileall -j1" "compileall -j0" "pkgimg ($cores)" "-j1/pkgimg" "-j0/pkgimg"
printf '%-16.3f %-16.3f %-16.3f %-14s %-14s\n' "$t_c1" "$t_c0" "$t_pk" \
	"$(ratio "$t_c1" "$t_pk")x" "$(ratio "$t_c0" "$t_pk")x"
met=$(awk -v a="$t_c1" -v b="$t_pk" 'BEGIN { print (a >= 1.5 * b) ? "met" : "not met" }')
echo "target >= 1.5x vs -j1 on $cores cores: $met"
exit $fail
