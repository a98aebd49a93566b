#!/bin/bash
# Issue 17: pkgimg's apt answers are apt's.  For every request of
# data/apt-requests.txt (popular singles, combinations, --install-recommends),
# the package set of `pkgimg --offline lock --base scratch` must equal the set
# `apt-get install -s` gives with an empty dpkg status; and the default base
# (`pkgimg lock` with no packages) must equal `mmdebstrap --variant=essential`
# on the same sources.  apt's answers come from tests/tools/apt-answer.py
# (python3-apt, one process), which is itself checked against the real apt-get
# on the requests marked "xcheck" and on mmdebstrap's essential request.
#
# One ok / not ok per group (singles, combinations, recommends, base, and the
# two oracle checks); each differing request is listed as "# " lines with the
# packages only apt and only pkgimg pick.  Accepted differences are in ALLOWED
# below, each with its reason.  Skips when the archive is unreachable.
# PKGIMG_APT_DIFFS=FILE also writes every difference there.
. "$(dirname "$0")/../lib.sh"
REQS=$SRC/tests/integration/data/apt-requests.txt
ORACLE=$SRC/tests/tools/apt-answer.py
JOBS=2

# Accepted differences, one a line: "REQUEST | SIDE NAME | reason", where
# REQUEST is the request as written in apt-requests.txt (names and flags, one
# blank between; * for any request, "base" for the default base), SIDE is apt
# (a package only apt picks) or pkgimg (one only pkgimg picks) and NAME a
# package name.  A difference belongs here only when pkgimg's answer is right
# for a reason the test can name; "pkgimg resolves differently" is not one.
ALLOWED=$(cat <<'EOF'
EOF
)

need_pkgimg
command -v apt-get >/dev/null || { skip "pkgimg's apt answers are apt's" "no apt-get on this machine"; finish; }
"$PY" -c 'import apt_pkg' 2>/dev/null \
	|| { skip "pkgimg's apt answers are apt's" "python3-apt is not installed (make test-deps)"; finish; }
archive_reachable || { skip "pkgimg's apt answers are apt's" "archive unreachable"; finish; }
S=$T/store
t_start=$(date +%s)

# ---- pkgimg's indexes (one online lock), apt's lists (the same InRelease files) ----------
pk --store "$S" lock --base scratch --apt base-files -o "$T/warm.lock" --json
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "pkgimg's apt answers are apt's" "archive unreachable"; finish; }
	bail "pkgimg lock of the real archive" "$(pk_detail)"
fi
if ! LISTS=$(apt_archive_lists "$T/aptdir" 2>"$T/lists.err"); then
	sed 's/^/# /' "$T/lists.err"
	skip "pkgimg's apt answers are apt's" "archive unreachable (apt-get update failed)"
	finish
fi
sed 's/^/# /' "$T/lists.err"
SOURCES=$T/aptdir/sources.list
# the InRelease each source of pkgimg's lock names must be the one apt reads
if ! same=$("$PY" - "$T/warm.lock" "$LISTS" <<'EOF'
import hashlib, os, re, sys
text = open(sys.argv[1]).read()
bad = []
for m in re.finditer(r"uri: (\S+)\n\s+suite: (\S+)\n(?:.*\n)*?\s+inrelease_sha256: ([0-9a-f]{64})", text):
    uri, suite, sha = m.groups()
    f = os.path.join(sys.argv[2], re.sub(r"/", "_", re.sub(r"^[a-z]+://", "", uri).rstrip("/"))
                     + "_dists_" + suite + "_InRelease")
    got = hashlib.sha256(open(f, "rb").read()).hexdigest() if os.path.exists(f) else "(missing)"
    if got != sha:
        bad.append("%s %s: pkgimg read InRelease %s, apt's lists have %s" % (uri, suite, sha[:12], got[:12]))
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
); then
	echo "$same" | sed 's/^/# /'
	skip "pkgimg's apt answers are apt's" "the archive changed while the test read it (pkgimg and apt saw different InRelease files)"
	finish
fi

# ---- the requests -------------------------------------------------------------------------
# requests.txt: the requests without comments; xcheck.txt: those marked xcheck
sed -e 's/#.*//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' "$REQS" \
	| grep -v '^$' >"$T/requests.txt"
grep -v '^[[:space:]]*#' "$REQS" | grep 'xcheck' | sed -e 's/#.*//' -e 's/[[:space:]]\+/ /g' -e 's/^ //' -e 's/ $//' >"$T/xcheck.txt"
mapfile -t REQ <"$T/requests.txt"
! grep -q -- '--install-recommends .' "$T/requests.txt" \
	|| bail "--install-recommends ends its line in $REQS" "$(grep -- '--install-recommends .' "$T/requests.txt")"
[ "${#REQ[@]}" -ge 300 ] || bail "at least 300 requests in $REQS" "found ${#REQ[@]}"

# apt's answers (one process, in the background: it takes one of the JOBS slots)
"$PY" "$ORACLE" --lists "$LISTS" --sources "$SOURCES" "$T/requests.txt" \
	>"$T/apt.out" 2>"$T/apt.err" &
oracle_pid=$!

# pkgimg's answers, JOBS at a time in all
mkdir -p "$T/pk"
lock_one() {	# lock_one I ARGS...
	local i=$1; shift
	"$PKGIMG" --offline --store "$S" lock --base scratch "$@" -o "$T/pk/$i.lock" --json \
		>"$T/pk/$i.json" 2>"$T/pk/$i.err" </dev/null
	echo $? >"$T/pk/$i.rc"
}
t0=$(date +%s%N)
running=1
for i in "${!REQ[@]}"; do
	args=()
	for w in ${REQ[$i]}; do
		if [ "$w" = --install-recommends ]; then args+=(--install-recommends); else args+=(--apt "$w"); fi
	done
	lock_one "$i" "${args[@]}" &
	running=$((running + 1))
	if [ $running -ge $JOBS ]; then wait -n; running=$((running - 1)); fi
done
wait "$oracle_pid"
orc=$?
wait
t1=$(date +%s%N)
{ [ "$orc" -eq 0 ] && [ -s "$T/apt.out" ]; } || bail "apt-answer.py answers" "$(tail -n 30 "$T/apt.err")"
echo "# ${#REQ[@]} requests: pkgimg and apt-answer.py side by side in $(( (t1 - t0) / 1000000 )) ms"

# ---- the default base against mmdebstrap --variant=essential ----------------------------------
SUITE=$(archive_mirror | cut -d' ' -f2)
pk --offline --store "$S" lock -o "$T/base.lock" --json
cp "$PK_OUT" "$T/base.json"; echo "$PK_RC" >"$T/base.rc"; cp "$PK_ERR" "$T/base.err"
"$PY" "$ORACLE" --mmdebstrap-essential "$SUITE" --lists "$LISTS" --sources "$SOURCES" \
	>"$T/base.apt" 2>"$T/base.apt.err" \
	|| bail "apt-answer.py --mmdebstrap-essential runs" "$(tail -n 30 "$T/base.apt.err")"

# ---- compare ---------------------------------------------------------------------------------
printf '%s\n' "$ALLOWED" >"$T/allowed.txt"
"$PY" - "$T" <<'EOF' >"$T/summary"
import json, os, sys
T = sys.argv[1]

def read_answers(path):
    """{request: (set, error)} from apt-answer.py's output"""
    out, cur = {}, None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("= "):
            cur = line[2:]
            out[cur] = (set(), None)
        elif line.startswith("! "):
            out[cur] = (None, line[2:])
        elif line and cur is not None:
            out[cur][0].add(line)
    return out

def read_pkgimg(json_path, rc_path, err_path):
    rc = int(open(rc_path).read().strip() or 1) if os.path.exists(rc_path) else 1
    if rc != 0:
        err = open(err_path, errors="replace").read().strip().splitlines()
        return None, "pkgimg lock failed (%d): %s" % (rc, err[0] if err else "no message")
    try:
        j = json.load(open(json_path))
    except ValueError as e:
        return None, "pkgimg lock --json does not parse: %s" % e
    s = set()
    for p in j["packages"]:
        if p["ecosystem"] == "apt":
            s.add("%s=%s" % (p["name"].split(":")[0], p["version"]))
    return s, None

allowed = []
for line in open(os.path.join(T, "allowed.txt")):
    parts = [x.strip() for x in line.split("|")]
    if len(parts) == 3 and parts[0]:
        side, _, name = parts[1].partition(" ")
        allowed.append((parts[0], side, name.strip(), parts[2]))

def accepted(req, side, nv):
    name = nv.split("=")[0]
    for r, s, n, why in allowed:
        if (r == "*" or r == req) and s == side and n == name:
            return why
    return None

def group_of(req):
    if "--install-recommends" in req.split():
        return "recommends"
    return "combinations" if len(req.split()) > 1 else "singles"

def compare(group, req, apt, pk, lines, stats):
    """one request: adds "# " detail lines; counts it in stats[group]"""
    st = stats.setdefault(group, [0, 0, 0])
    st[0] += 1
    aset, aerr = apt
    pset, perr = pk
    if aerr or perr:
        if aerr and perr:
            return      # both refuse: the same answer
        lines.append("%s: %s" % (req, "apt: " + aerr if aerr else perr))
        st[1] += 1
        return
    only_apt = sorted(aset - pset)
    only_pk = sorted(pset - aset)
    bad, ok = [], []
    for side, lst in (("apt", only_apt), ("pkgimg", only_pk)):
        for nv in lst:
            why = accepted(req, side, nv)
            (ok if why else bad).append((side, nv, why))
    if bad:
        st[1] += 1
        a = [nv for s, nv, _ in bad if s == "apt"]
        p = [nv for s, nv, _ in bad if s == "pkgimg"]
        lines.append("%s: only apt: %s; only pkgimg: %s (apt %d, pkgimg %d packages)"
                     % (req, " ".join(a) or "-", " ".join(p) or "-", len(aset), len(pset)))
    if ok:
        st[2] += 1
        for s, nv, why in ok:
            lines.append("%s: accepted, only %s: %s (%s)" % (req, s, nv, why))

apt = read_answers(os.path.join(T, "apt.out"))
reqs = [l.rstrip("\n") for l in open(os.path.join(T, "requests.txt"))]
stats, details = {}, {}
for i, req in enumerate(reqs):
    g = group_of(req)
    a = apt.get(req, (None, "apt-answer.py gave no answer"))
    p = read_pkgimg(os.path.join(T, "pk", "%d.json" % i), os.path.join(T, "pk", "%d.rc" % i),
                    os.path.join(T, "pk", "%d.err" % i))
    compare(g, req, a, p, details.setdefault(g, []), stats)
base_apt = list(read_answers(os.path.join(T, "base.apt")).values())[0]
base_pk = read_pkgimg(os.path.join(T, "base.json"), os.path.join(T, "base.rc"), os.path.join(T, "base.err"))
compare("base", "base", base_apt, base_pk, details.setdefault("base", []), stats)
for g in ("singles", "combinations", "recommends", "base"):
    total, differ, acc = stats.get(g, [0, 0, 0])
    print(g, total, differ, acc)
    with open(os.path.join(T, "detail." + g), "w") as f:
        f.write("".join(l + "\n" for l in details.get(g, [])))
EOF
[ -s "$T/summary" ] || bail "the comparison runs" "see above"
[ -n "${PKGIMG_APT_DIFFS:-}" ] && cat "$T"/detail.singles "$T"/detail.combinations \
	"$T"/detail.recommends "$T"/detail.base >"$PKGIMG_APT_DIFFS"
while read -r g total differ acc; do
	case $g in
	base) name="default base = mmdebstrap --variant=essential $SUITE" ;;
	*) name="pkgimg lock = apt-get install -s, $g ($total requests)" ;;
	esac
	if [ "$differ" -eq 0 ]; then
		sed 's/^/# /' "$T/detail.$g"
		if [ "$acc" -gt 0 ]; then ok "$name, $acc with accepted differences"; else ok "$name"; fi
	else
		mapfile -t d <"$T/detail.$g"
		fail "$name: $differ differ" "${d[@]}"
	fi
done <"$T/summary"

# ---- the oracle itself against the real apt-get ---------------------------------------------
aptget() {	# aptget RECOMMENDS ARGS...: the "Inst" set of apt-get install -s, sorted
	local rec=$1; shift
	mkdir -p "$T/ag/cache/archives/partial"
	: >"$T/ag/status"
	# a binary cache (the host's config may turn it off): built by the first run only
	apt-get -o Dir::State::status="$T/ag/status" -o Dir::Cache="$T/ag/cache" \
		-o Dir::Cache::pkgcache="$T/ag/pkgcache.bin" -o Dir::Cache::srcpkgcache="$T/ag/srcpkgcache.bin" \
		-o Dir::State::Lists="$LISTS" -o Dir::Etc::sourcelist="$SOURCES" \
		-o Dir::Etc::sourceparts=/nonexistent -o Debug::NoLocking=1 \
		-o APT::Install-Recommends="$rec" -o APT::Sandbox::User=root \
		install -s "$@" >"$T/ag.out" 2>&1 || { sed 's/^/  /' "$T/ag.out" | tail -n 5; return 1; }
	sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' "$T/ag.out" | sed 's/:[a-z0-9]*=/=/' | sort
}
xdiff=() n=0
while read -r req; do
	n=$((n + 1))
	rec=0 names=()
	for w in $req; do if [ "$w" = --install-recommends ]; then rec=1; else names+=("$w"); fi; done
	if ! aptget "$rec" "${names[@]}" >"$T/x.ag"; then xdiff+=("$req: apt-get install -s failed"); continue; fi
	awk -v r="= $req" '$0 == r {f=1; next} /^= /{f=0} f' "$T/apt.out" | sort >"$T/x.or"
	if ! cmp -s "$T/x.ag" "$T/x.or"; then
		xdiff+=("$req: only apt-get: $(comm -23 "$T/x.ag" "$T/x.or" | tr '\n' ' ')only apt-answer.py: $(comm -13 "$T/x.ag" "$T/x.or" | tr '\n' ' ')")
	fi
done <"$T/xcheck.txt"
if [ ${#xdiff[@]} -eq 0 ] && [ "$n" -gt 0 ]; then ok "apt-answer.py = apt-get install -s ($n requests)"
else fail "apt-answer.py = apt-get install -s ($n requests)" "${xdiff[@]}"; fi

# mmdebstrap's own request: its pattern, with its apt configuration (Dir is its
# root, so none of the host's apt.conf.d; apt is not forced essential)
m=$T/mmroot
mkdir -p "$m/etc/apt/apt.conf.d" "$m/etc/apt/preferences.d" "$m/var/lib/dpkg" "$m/var/cache/apt/archives/partial"
: >"$m/var/lib/dpkg/status"
printf 'Apt::Install-Recommends false;\nAcquire::Languages "none";\n' >"$m/etc/apt/apt.conf.d/00mmdebstrap"
arch=$(dpkg --print-architecture)
grep -v '^[=!]' "$T/base.apt" | sort >"$T/mm.or"
printf 'Apt::Architecture "%s";\nApt::Architectures "%s";\nDir "%s";\nDir::State::Status "%s/var/lib/dpkg/status";\npkgCacheGen::ForceEssential ",";\n' \
	"$arch" "$arch" "$m" "$m" >"$T/mm.conf"
if APT_CONFIG=$T/mm.conf apt-get -o Dir::State::Lists="$LISTS" -o Dir::Etc::sourcelist="$SOURCES" \
	-o Dir::Etc::sourceparts=/nonexistent -o Debug::NoLocking=1 -o APT::Sandbox::User=root install -s \
	"?narrow(?or(?archive(^$SUITE\$),?codename(^$SUITE\$)),?architecture($arch),?essential)" >"$T/mm.out" 2>&1; then
	sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' "$T/mm.out" | sed 's/:[a-z0-9]*=/=/' | sort >"$T/mm.ag"
	check "apt-answer.py --mmdebstrap-essential = apt-get with mmdebstrap's pattern and configuration ($(wc -l <"$T/mm.ag") packages)" \
		diff "$T/mm.ag" "$T/mm.or"
else
	fail "apt-get with mmdebstrap's essential pattern runs" "$(tail -n 20 "$T/mm.out")"
fi

# The real mmdebstrap (45 s, its own apt-get update): PKGIMG_TEST_MMDEBSTRAP=1.
# --simulate --debug prints apt's "Inst" lines for the essential set.
if [ "${PKGIMG_TEST_MMDEBSTRAP:-0}" = 1 ] && command -v mmdebstrap >/dev/null; then
	mapfile -t mirrors <"$SOURCES"
	if timeout 300 mmdebstrap --debug --variant=essential --simulate "$SUITE" "$T/mm.tar" "${mirrors[@]}" \
		>"$T/mmdebstrap.out" 2>&1; then
		sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' "$T/mmdebstrap.out" \
			| sed 's/:[a-z0-9]*=/=/' | sort >"$T/mmdebstrap.set"
		check "apt-answer.py --mmdebstrap-essential = mmdebstrap --variant=essential --simulate ($(wc -l <"$T/mmdebstrap.set") packages)" \
			diff "$T/mmdebstrap.set" "$T/mm.or"
	else
		skip "apt-answer.py --mmdebstrap-essential = mmdebstrap" "mmdebstrap --simulate failed: $(grep '^E: ' "$T/mmdebstrap.out" | head -n 1)"
	fi
fi

echo "# 22-apt-answers: $(( $(date +%s) - t_start )) s"
finish
