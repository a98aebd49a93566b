#!/bin/bash
# `pkgimg lock` against the fixture apt repository (tests/fixtures/aptrepo.sh)
# served on 127.0.0.1: what gets locked (newest versions, pins, alternatives,
# Recommends, virtual packages, Pre-Depends, the Essential base), that the
# lockfile is byte-identical for the same request and index, the --json keys,
# and that index files are revalidated rather than downloaded again.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store

# expect_set NAME "name=version ..."   (checks the last pk, run with --json)
expect_set() {
	local name=$1 want got
	if [ "$PK_RC" -ne 0 ]; then fail "$name" "$(pk_detail)"; return; fi
	want=$(printf '%s\n' $2 | sort)
	if ! got=$(json_pkgset "$PK_OUT" 2>&1 | sort); then
		fail "$name" "stdout is not the JSON object of DESIGN.md:" "$got" "$(pk_detail)"
		return
	fi
	if [ "$got" = "$want" ]; then ok "$name"; else
		fail "$name" "want: $(echo $want)" "got:  $(echo $got)"
	fi
}

# ---- hello-fixture: the newest libgreet, nothing else ----------------------
fx "$S" lock --apt hello-fixture -o "$T/l1.lock" --json
cp "$PK_OUT" "$T/l1.json"
expect_set "lock hello-fixture = hello-fixture 1.0 + libgreet 1.1 (newest)" \
	"hello-fixture=1.0 libgreet=1.1"
log_mark=$(wc -l <"$HTTP_LOG")

# --json: the keys of DESIGN.md, and url/sha256/size that match the repository
if out=$("$PY" - "$T/l1.json" "$T/l1.lock" "$REPO_DIR" "$REPO_URL" <<'EOF' 2>&1
import hashlib, json, os, re, sys
j = json.load(open(sys.argv[1]))
lock, repo, url = sys.argv[2], sys.argv[3], sys.argv[4]
errs = []
if not isinstance(j, dict):
    sys.exit("not a JSON object")
if "lock" not in j:
    errs.append('no "lock" key')
elif os.path.realpath(j["lock"]) != os.path.realpath(lock):
    errs.append('"lock" is %r, want %r' % (j["lock"], lock))
pk = j.get("packages")
if not isinstance(pk, list) or not pk:
    errs.append('"packages" is not a non-empty list')
    pk = []
for p in pk:
    for k in ("ecosystem", "name", "version", "url", "sha256", "size"):
        if k not in p:
            errs.append("%s: no %r key" % (p.get("name"), k))
    if errs:
        continue
    if p["ecosystem"] != "apt":
        errs.append("%s: ecosystem %r" % (p["name"], p["ecosystem"]))
    if not p["url"].startswith(url + "/pool/") or "//" in p["url"].split("://", 1)[1]:
        errs.append("%s: url %r is not under %s/pool/" % (p["name"], p["url"], url))
        continue
    path = os.path.join(repo, p["url"][len(url) + 1:])
    if not os.path.isfile(path):
        errs.append("%s: url %r names no file of the repository" % (p["name"], p["url"]))
        continue
    data = open(path, "rb").read()
    if not re.fullmatch(r"[0-9a-f]{64}", str(p["sha256"])):
        errs.append("%s: sha256 %r is not 64 lowercase hex" % (p["name"], p["sha256"]))
    elif p["sha256"] != hashlib.sha256(data).hexdigest():
        errs.append("%s: sha256 %s != the .deb's %s" % (p["name"], p["sha256"], hashlib.sha256(data).hexdigest()))
    if not isinstance(p["size"], int) or isinstance(p["size"], bool) or p["size"] != len(data):
        errs.append("%s: size %r != %d" % (p["name"], p["size"], len(data)))
if errs:
    sys.exit("\n".join(errs))
EOF
); then ok "lock --json has lock + packages[ecosystem,name,version,url,sha256,size] matching the repo"
else fail "lock --json has lock + packages[ecosystem,name,version,url,sha256,size] matching the repo" "$out"; fi

# the lockfile itself
if [ -s "$T/l1.lock" ] && grep -q 'hello-fixture' "$T/l1.lock" && grep -q 'libgreet' "$T/l1.lock" \
	&& ! grep -qE 'greet-extra|hello-alt|conflict-|ess-fixture' "$T/l1.lock"; then
	missing=
	for h in $(json_get "$T/l1.json" '[p["sha256"] for p in j["packages"]]'); do
		grep -q "$h" "$T/l1.lock" || missing+=" $h"
	done
	if [ -z "$missing" ]; then ok "lockfile names the packages and their sha256, nothing else"
	else fail "lockfile names the packages and their sha256, nothing else" "sha256 missing:$missing"; fi
else
	fail "lockfile names the packages and their sha256, nothing else" "$(head -c 3000 "$T/l1.lock" 2>&1)"
fi

# ---- same request + same index => same bytes -------------------------------
fx "$S" lock --apt hello-fixture -o "$T/l2.lock" --json
if [ "$PK_RC" -eq 0 ] && cmp -s "$T/l1.lock" "$T/l2.lock"; then ok "lock twice (same store): byte-identical lockfiles"
else fail "lock twice (same store): byte-identical lockfiles" "$(pk_detail)" "$(diff "$T/l1.lock" "$T/l2.lock" 2>&1 | head -20)"; fi

log_end=$(wc -l <"$HTTP_LOG")
# the second lock in $S revalidated the index (ETag / If-Modified-Since): no Packages downloaded again
again=$(sed -n "$((log_mark + 1)),${log_end}p" "$HTTP_LOG" | grep -E '/Packages(\.xz|\.gz)? 200$' || true)
if [ -z "$again" ]; then ok "second lock does not download Packages again (304 or cache)"
else fail "second lock does not download Packages again (304 or cache)" "requests of the second lock:" "$(sed -n "$((log_mark + 1)),${log_end}p" "$HTTP_LOG")"; fi

fx "$S" lock --apt hello-fixture -o "$T/l3.lock"
if [ "$PK_RC" -eq 0 ] && cmp -s "$T/l1.lock" "$T/l3.lock"; then ok "lock without --json writes the same lockfile"
else fail "lock without --json writes the same lockfile" "$(pk_detail)" "$(diff "$T/l1.lock" "$T/l3.lock" 2>&1 | head -20)"; fi

fx "$T/store-b" lock --apt hello-fixture -o "$T/l4.lock"
if [ "$PK_RC" -eq 0 ] && cmp -s "$T/l1.lock" "$T/l4.lock"; then ok "lock in a fresh store: byte-identical lockfile"
else fail "lock in a fresh store: byte-identical lockfile" "$(pk_detail)" "$(diff "$T/l1.lock" "$T/l4.lock" 2>&1 | head -20)"; fi

# ---- pins --------------------------------------------------------------------
fx "$S" lock --apt hello-fixture --apt libgreet=1.0 -o "$T/pin.lock" --json
expect_set "--apt libgreet=1.0 pins the older version" "hello-fixture=1.0 libgreet=1.0"
fx "$S" lock --apt libgreet=1.0 -o "$T/pin2.lock" --json
expect_set "--apt libgreet=1.0 alone" "libgreet=1.0"

# ---- alternatives and Recommends --------------------------------------------
fx "$S" lock --apt greet-utils -o "$T/alt.lock" --json
expect_set "alternatives: greet-utils takes the first (hello-fixture), no Recommends" \
	"greet-utils=1.0 hello-fixture=1.0 libgreet=1.1"
fx "$S" lock --apt greet-utils --install-recommends -o "$T/rec.lock" --json
expect_set "--install-recommends adds greet-extra" \
	"greet-extra=1.0 greet-utils=1.0 hello-fixture=1.0 libgreet=1.1"
fx "$S" lock --apt greet-utils --apt hello-alt -o "$T/alt2.lock" --json
expect_set "alternatives: a requested hello-alt satisfies the or-group (as apt-get does)" \
	"greet-utils=1.0 hello-alt=1.0"

# ---- virtual packages, Pre-Depends, Multi-Arch ----------------------------------
fx "$S" lock --apt virtual-user -o "$T/virt.lock" --json
expect_set "virtual package: virtual-user pulls mail-a (Provides: mta-virtual)" \
	"mail-a=1.0 virtual-user=1.0"
fx "$S" lock --apt pre-dep -o "$T/pre.lock" --json
expect_set "Pre-Depends followed: pre-dep pulls libgreet 1.1" "libgreet=1.1 pre-dep=1.0"
fx "$S" lock --apt ma-lib -o "$T/ma.lock" --json
expect_set "Multi-Arch: same package locks" "ma-lib=1.0"

# ---- the default base: Essential: yes packages -----------------------------------
FX_BASE='' fx "$S" lock --apt hello-fixture -o "$T/ess.lock" --json
expect_set "default base (debian-slim) adds the Essential: yes set (ess-fixture)" \
	"ess-fixture=1.0 hello-fixture=1.0 libgreet=1.1"
FX_BASE=debian-slim fx "$S" lock --apt hello-fixture -o "$T/ess2.lock" --json
expect_set "--base debian-slim adds ess-fixture" "ess-fixture=1.0 hello-fixture=1.0 libgreet=1.1"
if cmp -s "$T/ess.lock" "$T/ess2.lock"; then ok "default base and --base debian-slim lock the same bytes"
else fail "default base and --base debian-slim lock the same bytes" "$(diff "$T/ess.lock" "$T/ess2.lock" 2>&1 | head -20)"; fi

finish
