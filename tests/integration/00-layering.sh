#!/bin/bash
# The house's rule (DESIGN.md, issue 16): a folder includes only folders
# before it in  core -> pyspec -> cache -> runtime -> solver | installers | pyc
# -> image -> cli  (solver, installers and pyc are siblings: none includes
# another).  One check per folder; a violation names the file, the line and
# the include.  Also: no engine file prints or exits (only cli/ does).
. "$(dirname "$0")/../lib.sh"
cd "$SRC" || bail "cd $SRC" "no source tree"

rank() {
	case $1 in
	core) echo 0 ;; pyspec) echo 1 ;; cache) echo 2 ;; runtime) echo 3 ;;
	solver|installers|pyc) echo 4 ;; image) echo 5 ;; cli) echo 6 ;; *) echo -1 ;;
	esac
}

for dir in core pyspec cache runtime solver installers pyc image cli; do
	[ -d "$dir" ] || { skip "layering: $dir/" "no such folder"; continue; }
	me=$(rank "$dir") bad=
	while IFS=: read -r file line inc; do
		to=${inc#*\"}; to=${to%%/*}
		r=$(rank "$to")
		[ "$r" -lt 0 ] && continue	# not one of ours (deps, libc)
		if [ "$to" != "$dir" ] && [ "$r" -ge "$me" ]; then
			bad+="$file:$line: ${inc#\#include } ($dir may include only folders before it)"$'\n'
		fi
	done < <(grep -n '^#include "' "$dir"/*.[ch] 2>/dev/null)
	if [ -z "$bad" ]; then ok "layering: $dir/ includes only folders before it"
	else fail "layering: $dir/ includes only folders before it" "$bad"; fi
done

# the engine never prints or exits: the one exception is the allocator's
# abort on out-of-memory (core/str.c, as libsolv's); a child process leaves
# with _exit; Python source in C strings does not count
bad=$(grep -nE '(^|[^_a-z.])(printf|fprintf|puts|fputs|perror|exit)[[:space:]]*\(' \
	core/*.c pyspec/*.c cache/*.c runtime/*.c solver/*.c installers/*.c pyc/*.c image/*.c 2>/dev/null |
	grep -vE '^[^:]+:[0-9]+:[[:space:]]*"|^[^:]+:[0-9]+:[[:space:]]*(/?\*)|fprintf\((f|fp|out|o|w)\b|pkgimg: out of memory' || true)
if [ -z "$bad" ]; then ok "layering: no engine file prints to the terminal or exits"
else fail "layering: no engine file prints to the terminal or exits" "$bad"; fi
finish
