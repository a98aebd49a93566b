#!/bin/bash
# pkgimg-test: serial
# The libFuzzer targets (tests/fuzz/fuzz_*.c, built by `make fuzz-build` into
# build/fuzz/) each run a few seconds (FUZZ_SMOKE_SECONDS, default 3) on a
# copy of their seed corpus (tests/fuzz/corpus/NAME/, which holds the inputs
# of every crash fixed so far): a crash, a leak, a sanitizer report, a
# broken invariant or a timeout is "not ok" with the input's path; the
# executions per target are printed.  `make fuzz` runs them longer.
. "$(dirname "$0")/../lib.sh"
secs=${FUZZ_SMOKE_SECONDS:-3}
shopt -s nullglob
bins=("$SRC"/build/fuzz/fuzz_*)
[ ${#bins[@]} -gt 0 ] || { skip "fuzz: smoke run" "no build/fuzz/fuzz_* (make fuzz-build)"; finish; }
for src in "$SRC"/tests/fuzz/fuzz_*.c; do
	n=$(basename "$src" .c); n=${n#fuzz_}
	bin=$SRC/build/fuzz/fuzz_$n
	if [ ! -x "$bin" ]; then
		fail "fuzz: $n" "build/fuzz/fuzz_$n is not built (make fuzz-build)"
		continue
	fi
	[ -d "$SRC/tests/fuzz/corpus/$n" ] || { fail "fuzz: $n" "no seed corpus tests/fuzz/corpus/$n"; continue; }
	mkdir -p "$T/$n/new" "$T/$n/crash"
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$T/$n/crash/" "$T/$n/new" "$SRC/tests/fuzz/corpus/$n" \
		</dev/null >"$T/$n/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$T/$n/log")
	crashes=("$T/$n/crash"/*)
	if [ "$rc" -eq 0 ] && [ ${#crashes[@]} -eq 0 ] && [ -n "$execs" ]; then
		ok "fuzz: $n ($execs executions in ${secs} s, no crash)"
	else
		fail "fuzz: $n (exit $rc, ${execs:-?} executions)" \
			"inputs: ${crashes[*]:-none}" "$(grep -E 'ERROR|SUMMARY|invariant|#0 |#1 |#2 |#3 ' "$T/$n/log" | head -20)"
	fi
done
finish
