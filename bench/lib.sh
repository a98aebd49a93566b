# Shared by the bench/*.sh scripts (source it after setting RUNS and work):
#   timeit CMD...   runs CMD $RUNS times (quietly; $PREP, if set, runs untimed
#                   before each) and prints the median wall time in seconds;
#                   a failing run stops the benchmark with its stderr
#   ratio A B       A / B with one decimal
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timeit() {
	local i t0 t1
	for ((i = 0; i < RUNS; i++)); do
		[ -z "${PREP:-}" ] || $PREP
		t0=$(now)
		"$@" >/dev/null 2>"$work/err" || { echo "bench: failed: $*" >&2; cat "$work/err" >&2; exit 1; }
		t1=$(now)
		awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.4f\n", a - b }'
	done | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
