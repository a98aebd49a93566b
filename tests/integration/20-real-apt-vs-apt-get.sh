#!/bin/bash
# Resolution against the real Debian archive (the host's apt sources): the
# package set of `pkgimg lock --base scratch` must equal what
# `apt-get install -s` picks with an empty dpkg status and no Recommends.
# Differences are printed as "# " lines; accepted ones are listed in ALLOWED
# below, each with its reason.  Skips when the archive is unreachable.
. "$(dirname "$0")/../lib.sh"
NAME="pkgimg lock = apt-get install -s (python3 build-essential git cmake libopenblas-dev)"
PKGS="python3 build-essential git cmake libopenblas-dev"

# Accepted differences, one per line: "pkgimg NAME=VERSION  reason" for a
# package only pkgimg picks, "apt NAME=VERSION  reason" for one only apt-get
# picks (VERSION may be * for any).  Empty until real output has been reviewed.
ALLOWED=$(cat <<'EOF'
EOF
)

need_pkgimg
archive_reachable || { skip "$NAME" "archive unreachable"; finish; }
S=$T/store

# ---- pkgimg ---------------------------------------------------------------------------
args=(--base scratch)
for p in $PKGS; do args+=(--apt "$p"); done
t0=$(date +%s%N)
pk --store "$S" lock "${args[@]}" -o "$T/real.lock" --json
t1=$(date +%s%N)
if [ "$PK_RC" -ne 0 ]; then
	# an archive that went away mid-test is not a product failure
	if ! archive_reachable; then skip "$NAME" "archive unreachable"; finish; fi
	bail "pkgimg lock of the real archive" "$(pk_detail)"
fi
json_pkgset "$PK_OUT" | sed 's/:[a-z0-9]*=/=/' | sort -u >"$T/pkgimg.set" \
	|| bail "pkgimg lock --json parses" "$(pk_detail)"
echo "# pkgimg lock (cold store): $(( (t1 - t0) / 1000000 )) ms, $(wc -l <"$T/pkgimg.set") packages"

# ---- apt-get's lists: the host's, if they are those of the archive now ------------------
# (tests/lib.sh apt_archive_lists: else a private `apt-get update`; the host's
# apt state is never changed)
if ! LISTS=$(apt_archive_lists "$T/apt" 2>"$T/lists.err"); then
	sed 's/^/# /' "$T/lists.err"
	skip "$NAME" "archive unreachable (apt-get update failed)"
	finish
fi
sed 's/^/# /' "$T/lists.err"
mkdir -p "$T/apt/cache/archives/partial"
: >"$T/apt/status"
aptopt=(-o Dir::State::status="$T/apt/status" -o Dir::Cache="$T/apt/cache"
	-o Dir::Etc::sourcelist="$T/apt/sources.list" -o Dir::Etc::sourceparts=/nonexistent
	-o Debug::NoLocking=1 -o APT::Install-Recommends=0 -o APT::Sandbox::User=root)

# ---- apt-get -------------------------------------------------------------------------------
t0=$(date +%s%N)
# shellcheck disable=SC2086
apt-get "${aptopt[@]}" -o Dir::State::Lists="$LISTS" install -s $PKGS >"$T/apt.out" 2>&1
rc=$?
t1=$(date +%s%N)
if [ $rc -ne 0 ]; then bail "apt-get install -s runs" "$(tail -n 30 "$T/apt.out")"; fi
echo "# apt-get install -s: $(( (t1 - t0) / 1000000 )) ms"
# "Inst NAME (VERSION Origin [ARCH])", or "Inst NAME [OLD] (VERSION ...)"
sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' "$T/apt.out" | sed 's/:[a-z0-9]*=/=/' | sort -u >"$T/apt.set"
[ -s "$T/apt.set" ] || bail "apt-get install -s lists Inst lines" "$(head -n 30 "$T/apt.out")"

# ---- compare --------------------------------------------------------------------------------
allowed() {	# allowed SIDE NAME=VERSION
	local side=$1 nv=$2 s pat reason
	while read -r s pat reason; do
		[ -n "$s" ] || continue
		[ "$s" = "$side" ] || continue
		# shellcheck disable=SC2053
		if [ "${pat%%=*}" = "${nv%%=*}" ] && [[ "${nv#*=}" == ${pat#*=} ]]; then
			echo "$reason"
			return 0
		fi
	done <<<"$ALLOWED"
	return 1
}
unexplained=() explained=()
while read -r nv; do
	[ -n "$nv" ] || continue
	if r=$(allowed pkgimg "$nv"); then explained+=("only pkgimg: $nv ($r)")
	else unexplained+=("only pkgimg: $nv"); fi
done < <(comm -23 "$T/pkgimg.set" "$T/apt.set")
while read -r nv; do
	[ -n "$nv" ] || continue
	if r=$(allowed apt "$nv"); then explained+=("only apt-get: $nv ($r)")
	else unexplained+=("only apt-get: $nv"); fi
done < <(comm -13 "$T/pkgimg.set" "$T/apt.set")

echo "# pkgimg: $(wc -l <"$T/pkgimg.set") packages, apt-get: $(wc -l <"$T/apt.set") packages, common: $(comm -12 "$T/pkgimg.set" "$T/apt.set" | wc -l)"
for l in "${explained[@]}"; do echo "# accepted difference: $l"; done
if [ ${#unexplained[@]} -eq 0 ]; then ok "$NAME"
else fail "$NAME" "${unexplained[@]}"; fi

finish
