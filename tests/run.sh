#!/bin/bash
# Runs every test and prints one closing line: "N passed, N failed, N skipped".
#
# Each test is an executable (build/tests/test_* unit binaries,
# tests/integration/*.sh scripts) that prints TAP-like lines:
#   ok - NAME          a check that passed
#   not ok - NAME      a check that failed (details on the following lines)
#   skip - NAME: WHY   a check that could not run here (e.g. archive unreachable)
# A test that exits non-zero without printing "not ok" counts as one failure.
set -u
cd "$(dirname "$0")/.."
export PKGIMG="$PWD/pkgimg" PKGIMG_SRC="$PWD"
LOGDIR=build/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
pass=0 fail=0 skip=0
filter=${1:-}

run_one() {	# run_one EXECUTABLE [NAME]
	local t=$1 name=${2:-$(basename "$1")} log rc p f s
	[ -n "$filter" ] && [[ "$name" != *$filter* ]] && return
	log="$LOGDIR/$name.log"
	timeout 1800 "$t" >"$log" 2>&1
	rc=$?
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	s=$(grep -c '^skip ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	grep -E '^(ok|not ok|skip) ' "$log" | sed "s|^|[$name] |"
	if [ "$f" -gt 0 ]; then
		echo "---- $log (last 40 lines) ----"
		tail -n 40 "$log"
		echo "----"
	fi
}

for t in build/tests/test_*; do [ -x "$t" ] && run_one "$t"; done
# the same unit tests built with AddressSanitizer + UBSan (make asan)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in build/asan/tests/test_*; do [ -x "$t" ] && run_one "$t" "asan-$(basename "$t")"; done
for t in tests/integration/*.sh; do [ -x "$t" ] && run_one "$t"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
