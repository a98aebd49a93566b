#!/bin/bash
# Runs every test and prints one closing line: "N passed, N failed, N skipped".
#
# Each test is an executable (build/tests/test_* unit binaries,
# tests/integration/*.sh scripts) that prints TAP-like lines:
#   ok - NAME          a check that passed
#   not ok - NAME      a check that failed (details on the following lines)
#   skip - NAME: WHY   a check that could not run here (e.g. archive unreachable)
# A test that exits non-zero without printing "not ok" counts as one failure.
# Integration tests run PKGIMG_TEST_JOBS at a time (default 2: most of their
# time is spent waiting on the archive, servers and the sandbox), their
# results printed in name order; a test whose file has a line
# "# pkgimg-test: serial" (timing or load sensitive) runs alone afterwards.
set -u
cd "$(dirname "$0")/.."
export PKGIMG="$PWD/pkgimg" PKGIMG_SRC="$PWD"
LOGDIR=build/test-logs
rm -rf "$LOGDIR"; mkdir -p "$LOGDIR"
pass=0 fail=0 skip=0
filter=${1:-}

# exec_one EXECUTABLE NAME: runs it, its output to NAME's log, its status
# to NAME's .rc file.
exec_one() {
	timeout 1800 "$1" >"$LOGDIR/$2.log" 2>&1
	echo $? >"$LOGDIR/$2.rc"
}

# tally NAME: counts and prints the results of NAME's finished run.
tally() {
	local name=$1 log=$LOGDIR/$1.log rc p f s
	rc=$(cat "$LOGDIR/$name.rc")
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

selected() { [ -z "$filter" ] || [[ "$1" == *$filter* ]]; }

run_one() {	# run_one EXECUTABLE [NAME]
	local name=${2:-$(basename "$1")}
	selected "$name" || return 0
	exec_one "$1" "$name"
	tally "$name"
}

# run_pool TEST...: the integration tests, PKGIMG_TEST_JOBS at a time,
# tallied in the order given as each one finishes.
run_pool() {
	local max=${PKGIMG_TEST_JOBS:-2} t name running=0
	local -a names=()
	for t in "$@"; do
		name=$(basename "$t")
		selected "$name" || continue
		names+=("$name")
		while [ "$running" -ge "$max" ]; do wait -n; running=$((running - 1)); done
		exec_one "$t" "$name" &
		running=$((running + 1))
	done
	for name in "${names[@]}"; do
		while [ ! -s "$LOGDIR/$name.rc" ]; do sleep 1; done
		tally "$name"
	done
	wait
}

for t in build/tests/test_*; do [ -x "$t" ] && run_one "$t"; done
# the same unit tests built with AddressSanitizer + UBSan (make asan)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for t in build/asan/tests/test_*; do [ -x "$t" ] && run_one "$t" "asan-$(basename "$t")"; done
pooled=() serial=()
for t in tests/integration/*.sh; do
	[ -x "$t" ] || continue
	if grep -qx '# pkgimg-test: serial' "$t"; then serial+=("$t"); else pooled+=("$t"); fi
done
run_pool "${pooled[@]}"
for t in "${serial[@]}"; do run_one "$t"; done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
