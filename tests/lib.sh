# Shared helpers for tests/integration/*.sh.  Source it first thing:
#
#   . "$(dirname "$0")/../lib.sh"
#
# It sets: SRC (repo root), PKGIMG (binary under test, absolute), PY
# (/usr/bin/python3), T (a private temp dir, removed on exit), and traps
# EXIT/INT/TERM so temp dirs and servers go away with the test.
#
# Reporting (TAP-like lines that tests/run.sh counts):
#   ok NAME                      ok - NAME
#   fail NAME [DETAIL...]        not ok - NAME, then each DETAIL line as "# ..."
#   skip NAME REASON             skip - NAME: REASON
#   check NAME CMD...            runs CMD; ok if it succeeds, else fail with its output
#   finish                       last line of a test: exits 1 if anything failed
#
# Running pkgimg:
#   pk ARGS...                   runs "$PKGIMG" ARGS with stdout in $PK_OUT, stderr in
#                                $PK_ERR (files), exit status in $PK_RC; never fails.
#   pk_detail                    prints the last pk's command, status, stdout, stderr
#                                (for fail's details)
#
# Servers and archives:
#   start_http_server DIR        serves DIR on 127.0.0.1:<free port>; sets HTTP_URL
#                                (no trailing slash), HTTP_PORT, HTTP_PID, HTTP_LOG
#                                (one "METHOD PATH STATUS" line per request)
#   stop_http_server [PID]       stops it (default: the last one started)
#   build_fixture_repo DIR       tests/fixtures/aptrepo.sh DIR, then sources DIR/repo.env
#   setup_fixture                the fixture repo in $T/www/repo, served: sets REPO_URL
#   fixture_variant NAME         a copy at $T/www/NAME (served as $HTTP_URL/NAME)
#   fx STORE SUBCMD ARGS...      pk --store STORE SUBCMD --base scratch --apt-source
#                                "$REPO_URL/ SUITE main" --keyring KEYRING ARGS...
#   archive_mirror [--all]       prints "URI SUITE COMPONENT KEYRING" of the host's first
#                                Debian "deb" source (deb822 .sources or sources.list);
#                                --all: one line per URI and suite of every deb source
#   archive_reachable            true if URI/dists/SUITE/InRelease downloads within 10 s
#   fetch_url URL OUT [SECS]     downloads URL to OUT with curl (or python3)
#
# JSON:
#   json_get FILE EXPR           prints the Python expression EXPR evaluated with `j`
#                                bound to the parsed JSON of FILE (lists one per line)

set -u
SRC=${PKGIMG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PKGIMG=${PKGIMG:-$SRC/pkgimg}
case $PKGIMG in /*) ;; *) PKGIMG=$PWD/$PKGIMG ;; esac
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)
export LC_ALL=C.UTF-8
# A test never uses the user's store or config by accident.
unset PKGIMG_HOME PKGIMG_INDEX_URL PKGIMG_CHANNELS PKGIMG_FORCE_BUILD

T_PASS=0 T_FAIL=0 T_SKIP=0
_T_PIDS=()

T=$(mktemp -d "${TMPDIR:-/tmp}/pkgimg-test.XXXXXX")

_t_cleanup() {
	local pid
	for pid in "${_T_PIDS[@]}"; do
		kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		# layers may hold read-only dirs; make them removable first
		chmod -R u+w "$T" 2>/dev/null
		rm -rf "$T"
	fi
}
trap _t_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ok() { T_PASS=$((T_PASS + 1)); echo "ok - $1"; }
fail() {
	T_FAIL=$((T_FAIL + 1))
	echo "not ok - $1"; shift
	local l
	for l in "$@"; do
		printf '%s\n' "$l" | sed 's/^/# /'
	done
}
skip() { T_SKIP=$((T_SKIP + 1)); echo "skip - $1: $2"; }

check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then ok "$name"; else fail "$name" "command: $*" "$out"; fi
}

finish() {
	echo "# $(basename "$0"): $T_PASS ok, $T_FAIL not ok, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
	exit $?
}

# Abort the whole test (counts as one failure) when a prerequisite is missing.
bail() { fail "$1" "${@:2}"; finish; }

need_pkgimg() {
	[ -x "$PKGIMG" ] || bail "pkgimg binary present" "$PKGIMG is missing; run make first"
}

# ---- running pkgimg ------------------------------------------------------

_PK_N=0
PK_RC=0 PK_OUT=/dev/null PK_ERR=/dev/null PK_CMD=
pk() {
	_PK_N=$((_PK_N + 1))
	PK_OUT=$T/pk.$_PK_N.out PK_ERR=$T/pk.$_PK_N.err
	PK_CMD="pkgimg $*"
	"$PKGIMG" "$@" >"$PK_OUT" 2>"$PK_ERR" </dev/null
	PK_RC=$?
	return 0
}
pk_detail() {
	echo "command: $PK_CMD"
	echo "exit status: $PK_RC"
	echo "stdout:"; head -c 4000 "$PK_OUT" | sed 's/^/  /'
	echo "stderr:"; head -c 4000 "$PK_ERR" | sed 's/^/  /'
}
# The message of a failed command: non-zero status and stderr's first line
# begins with "pkgimg: ".
pk_failed_cleanly() {
	[ "$PK_RC" -ne 0 ] && [ "$PK_RC" -lt 126 ] && head -n1 "$PK_ERR" | grep -q '^pkgimg: '
}
# stderr matches an extended regex, case-insensitively
err_has() { grep -qiE -- "$1" "$PK_ERR"; }

# ---- JSON ----------------------------------------------------------------

json_get() {
	"$PY" - "$1" "$2" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
v = eval(sys.argv[2], {"j": j})
if isinstance(v, (list, tuple, set)):
    for x in v:
        print(x)
elif isinstance(v, bool):
    print("true" if v else "false")
elif v is not None:
    print(v)
EOF
}

# "name=version" per apt package of a `lock/install --json` output, sorted
json_pkgset() {
	json_get "$1" 'sorted(p["name"] + "=" + p["version"] for p in j["packages"] if p["ecosystem"] == "apt")'
}

# ---- HTTP server ---------------------------------------------------------

start_http_server() {
	local dir=$1 n=$(( ${#_T_PIDS[@]} + 1 ))
	local pf=$T/http.$n.port
	HTTP_LOG=$T/http.$n.log
	: >"$HTTP_LOG"
	"$PY" "$SRC/tests/fixtures/httpserver.py" --dir "$dir" --port-file "$pf" \
		--log "$HTTP_LOG" --parent-pid $$ --timeout "${HTTP_TIMEOUT:-900}" \
		>"$T/http.$n.stderr" 2>&1 &
	HTTP_PID=$!
	_T_PIDS+=("$HTTP_PID")
	for _ in $(seq 100); do
		[ -s "$pf" ] && break
		kill -0 "$HTTP_PID" 2>/dev/null || break
		sleep 0.05
	done
	if [ ! -s "$pf" ]; then
		bail "start http server" "httpserver.py did not start:" "$(cat "$T/http.$n.stderr")"
	fi
	HTTP_PORT=$(cat "$pf")
	HTTP_URL=http://127.0.0.1:$HTTP_PORT
}

stop_http_server() {
	local pid=${1:-$HTTP_PID}
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# ---- fixture apt repository ----------------------------------------------

build_fixture_repo() {
	local out
	out=$("$SRC/tests/fixtures/aptrepo.sh" "$1" 2>&1) \
		|| bail "build fixture apt repository" "$out"
	# shellcheck disable=SC1091
	. "$1/repo.env"
}

# setup_fixture: builds the fixture repository in $T/www/repo and serves $T/www;
# sets REPO_URL ($HTTP_URL/repo) and everything repo.env has (SUITE, KEYRING, ...).
setup_fixture() {
	build_fixture_repo "$T/www/repo"
	start_http_server "$T/www"
	REPO_URL=$HTTP_URL/repo
}

# fixture_variant NAME: a copy of the fixture repository served at $HTTP_URL/NAME;
# prints its directory.
fixture_variant() {
	rm -rf "$T/www/$1"
	cp -a "$T/www/repo" "$T/www/$1"
	echo "$T/www/$1"
}

# fx STORE SUBCOMMAND ARGS...: runs (with pk) a pkgimg subcommand against the
# fixture repository.  FX_URL (default $REPO_URL), FX_KEYRING (default $KEYRING),
# FX_BASE (default scratch; set it empty for pkgimg's default base).
fx() {
	local store=$1 sub=$2; shift 2
	local -a base=()
	[ -n "${FX_BASE-scratch}" ] && base=(--base "${FX_BASE-scratch}")
	pk --store "$store" "$sub" "${base[@]}" \
		--apt-source "${FX_URL:-$REPO_URL}/ $SUITE $COMPONENT" \
		--keyring "${FX_KEYRING:-$KEYRING}" "$@"
}

# sha256 of a file
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# ---- the host's Debian archive -------------------------------------------

archive_mirror() {
	"$PY" - "$@" <<'EOF'
import glob, os, re, sys

def deb822(path):
    paras, cur, key = [], {}, None
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("#"):
            continue
        if not line.strip():
            if cur:
                paras.append(cur)
            cur, key = {}, None
            continue
        if line[0] in " \t" and key:
            cur[key] += " " + line.strip()
            continue
        k, _, v = line.partition(":")
        key = k.strip().lower()
        cur[key] = v.strip()
    if cur:
        paras.append(cur)
    return paras

found = []
default_keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for p in deb822(path):
        if "deb" not in p.get("types", "").split():
            continue
        if p.get("enabled", "yes").lower() == "no":
            continue
        uris, suites = p.get("uris", "").split(), p.get("suites", "").split()
        comps = p.get("components", "").split()
        if uris and suites and comps:
            for u in uris:
                for s in suites:
                    found.append((u, s, comps[0], p.get("signed-by", default_keyring)))

lists = ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list"))
for path in lists:
    if not os.path.exists(path):
        continue
    for line in open(path, encoding="utf-8", errors="replace"):
        line = line.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        opts = {}
        m = re.match(r"deb\s+\[([^\]]*)\]\s*(.*)", line)
        if m:
            for o in m.group(1).split():
                k, _, v = o.partition("=")
                opts[k] = v
            rest = m.group(2).split()
        else:
            rest = line.split()[1:]
        if len(rest) >= 3:
            found.append((rest[0], rest[1], rest[2], opts.get("signed-by", default_keyring)))

if not found:
    sys.exit(1)
for uri, suite, comp, keyring in (found if sys.argv[1:] == ["--all"] else found[:1]):
    print(uri.rstrip("/"), suite, comp, keyring)
EOF
}

# fetch_url URL OUT [SECONDS]: downloads URL to OUT (curl, else python3); quiet
fetch_url() {
	if command -v curl >/dev/null; then
		curl -fsS --max-time "${3:-10}" -o "$2" "$1" 2>/dev/null
	else
		"$PY" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[3])).read())' \
			"$1" "$2" "${3:-10}" 2>/dev/null
	fi
}

archive_reachable() {
	local m uri suite
	m=$(archive_mirror) || return 1
	read -r uri suite _ _ <<<"$m"
	fetch_url "$uri/dists/$suite/InRelease" /dev/null 10
}

# ---- store inspection ----------------------------------------------------

# A listing of DIR (names, sizes, mtimes), to compare before/after.
dir_snapshot() {
	[ -d "$1" ] || { echo "(absent)"; return; }
	(cd "$1" && find . -printf '%p %s %T@\n' | sort)
}
count_files() { [ -d "$1" ] && find "$1" -type f | wc -l || echo 0; }

# apt_archive_lists DIR: prepares apt's view of the host's Debian archive for an
# apt-get or python3-apt run with a private state.  Writes DIR/sources.list (the
# "deb" sources archive_mirror --all finds, one line each) and prints the lists
# directory that holds the archive's current indexes: the host's
# /var/lib/apt/lists when its InRelease files are the archive's current ones,
# else DIR/lists after a private `apt-get update` (the host's apt state is never
# changed).  Returns 1, with the reason on stderr, when that update fails.
apt_archive_lists() {
	local d=$1 lists=/var/lib/apt/lists fresh=true uri suite comp key f
	mkdir -p "$d"
	archive_mirror --all | while read -r uri suite comp key; do
		echo "deb [signed-by=$key] $uri $suite $comp"
	done >"$d/sources.list"
	[ -s "$d/sources.list" ] || { echo "no Debian deb source in /etc/apt" >&2; return 1; }
	ls "$lists"/*_Packages* >/dev/null 2>&1 || fresh=false
	if $fresh; then
		while read -r uri suite _ _; do
			f=$lists/$(sed -E 's|^[a-z]+://||; s|/+$||; s|/|_|g' <<<"$uri")_dists_${suite}_InRelease
			if [ ! -f "$f" ] || ! fetch_url "$uri/dists/$suite/InRelease" "$d/InRelease.now" 20 \
				|| ! cmp -s "$f" "$d/InRelease.now"; then
				fresh=false
				echo "# $f is missing or not the archive's current InRelease" >&2
				break
			fi
		done < <(archive_mirror --all)
	fi
	if ! $fresh; then
		lists=$d/lists
		mkdir -p "$lists/partial" "$d/cache/archives/partial"
		: >"$d/status"
		if ! apt-get -o Dir::State::status="$d/status" -o Dir::Cache="$d/cache" \
			-o Debug::NoLocking=1 -o APT::Sandbox::User=root \
			-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=/nonexistent \
			-o Dir::State::Lists="$lists" update >"$d/update.log" 2>&1 \
			|| grep -q '^[WE]: Failed to fetch' "$d/update.log"; then
			tail -n 20 "$d/update.log" >&2
			return 1
		fi
	fi
	echo "$lists"
}

# fixture_apt_get DIR: apt-get over the fixture repositories listed in
# DIR/sources.list (written by the caller, "deb [trusted=yes] file:…" lines),
# with an empty dpkg status and a private state under DIR.  Sets the array
# APTGET_OPT to the options that run it; returns 1 with apt-get's output on
# stderr when its `update` fails.  The fixtures are local files, so a
# failure here is the test's failure, never "unreachable": the oracle is
# not silently dropped.
fixture_apt_get() {
	local d=$1
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	: >"$d/status"
	APTGET_OPT=(-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=/nonexistent
		-o Dir::State::Lists="$d/lists" -o Dir::State::status="$d/status" -o Dir::Cache="$d/cache"
		-o Dir::Etc::preferences=/nonexistent -o Dir::Etc::preferencesparts=/nonexistent
		-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Install-Recommends=0)
	if ! apt-get "${APTGET_OPT[@]}" update >"$d/update.log" 2>&1 \
		|| grep -qE '^E: |Failed to fetch' "$d/update.log"; then
		cat "$d/update.log" >&2
		return 1
	fi
}

# fixture_reindex DIR [--scan]: a fixture repository copy (fixture_variant)
# whose Packages file changed is made whole again: with --scan its Packages
# is first written from the .debs in DIR/pool (dpkg-scanpackages), then
# compressed (.gz, .xz) and the Release signed again (aptrepo.sh --sign;
# RELEASE_EXTRA in the environment adds Release fields).  Bails on failure.
fixture_reindex() {
	local d=$1 bdir=$1/dists/$SUITE/$COMPONENT/binary-$ARCH
	if [ "${2-}" = --scan ]; then
		(cd "$d" && dpkg-scanpackages --multiversion --arch "$ARCH" pool /dev/null \
			>"$bdir/Packages" 2>/dev/null) || bail "fixture $d: dpkg-scanpackages" "failed"
	fi
	gzip -9nc <"$bdir/Packages" >"$bdir/Packages.gz" && xz -6 -T1 -c <"$bdir/Packages" >"$bdir/Packages.xz" \
		|| bail "fixture $d: compress Packages" "gzip or xz failed"
	"$SRC/tests/fixtures/aptrepo.sh" --sign "$d" || bail "fixture $d: sign" "aptrepo.sh --sign failed"
}
