#!/bin/bash
# pkgimg-test: serial
# Several pkgimg processes on one store at once: installs of the same request
# all succeed with the same id and leave one layer; different requests and a
# lock in parallel all succeed; the store stays usable afterwards.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store
N=4

src=(--base scratch --apt-source "$REPO_URL/ $SUITE $COMPONENT" --keyring "$KEYRING")

# ---- round 1: N installs of the same request into an empty store --------------------
pids=()
for i in $(seq $N); do
	"$PKGIMG" --store "$S" install "${src[@]}" --apt hello-fixture --tag "c$i" \
		>"$T/c$i.out" 2>"$T/c$i.err" </dev/null &
	pids+=($!)
done
rcs=() bad=
for i in $(seq $N); do
	wait "${pids[$((i - 1))]}"; rc=$?
	rcs+=("$rc")
	[ "$rc" -eq 0 ] || bad+="install #$i exited $rc: $(head -c 2000 "$T/c$i.err")"$'\n'
done
if [ -z "$bad" ]; then ok "$N parallel installs of the same request all succeed"
else fail "$N parallel installs of the same request all succeed" "$bad"; fi

ids=$(cat "$T"/c*.out | sort -u)
if [ "$(wc -l <<<"$ids")" -eq 1 ] && grep -qxE 'sha256:[0-9a-f]{64}' <<<"$ids"; then ok "they print the same snapshot id"
else fail "they print the same snapshot id" "$(for i in $(seq $N); do echo "#$i: $(cat "$T/c$i.out")"; done)"; fi
ID=$(head -n1 <<<"$ids")

nlayers=$(find "$S/layers" -mindepth 1 -maxdepth 1 -type d 2>/dev/null | wc -l)
if [ "$nlayers" -eq 1 ] && [ -d "$S/layers/${ID#sha256:}" ]; then ok "one layer in the store, named by the id"
else fail "one layer in the store, named by the id" "$(ls -la "$S/layers" 2>&1)"; fi

bad=
for i in $(seq $N); do
	pk --store "$S" inspect "c$i" --json
	[ "$PK_RC" -eq 0 ] && [ "$(json_get "$PK_OUT" 'j["id"]' 2>/dev/null)" = "$ID" ] || bad+="$(pk_detail)"$'\n'
done
if [ -z "$bad" ]; then ok "every tag names the id"; else fail "every tag names the id" "$bad"; fi

# blobs/sha256/<hex> holds exactly the bytes that hash to <hex> (no torn writes)
bad=
for f in "$S"/blobs/sha256/*; do
	[ -f "$f" ] && [ "$(sha256_of "$f")" = "$(basename "$f")" ] || bad+="$f"$'\n'
done
for deb in pool/main/h/hello-fixture/hello-fixture_1.0_amd64.deb pool/main/l/libgreet/libgreet_1.1_amd64.deb; do
	[ -f "$S/blobs/sha256/$(sha256_of "$REPO_DIR/$deb")" ] || bad+="no blob for $deb"$'\n'
done
if [ -z "$bad" ]; then ok "blobs: both .debs, each file named by its sha256"
else fail "blobs: both .debs, each file named by its sha256" "$bad"; fi

# ---- round 2: different requests and a lock at once ---------------------------------------
"$PKGIMG" --store "$S" install "${src[@]}" --apt pre-dep --tag p >"$T/p.out" 2>"$T/p.err" </dev/null & p1=$!
"$PKGIMG" --store "$S" install "${src[@]}" --apt greet-utils --tag g >"$T/g.out" 2>"$T/g.err" </dev/null & p2=$!
"$PKGIMG" --store "$S" lock "${src[@]}" --apt virtual-user -o "$T/v.lock" >"$T/v.out" 2>"$T/v.err" </dev/null & p3=$!
"$PKGIMG" --store "$S" install "${src[@]}" --apt hello-fixture --tag c5 >"$T/c5.out" 2>"$T/c5.err" </dev/null & p4=$!
bad=
wait $p1 || bad+="install pre-dep: $(cat "$T/p.err")"$'\n'
wait $p2 || bad+="install greet-utils: $(cat "$T/g.err")"$'\n'
wait $p3 || bad+="lock virtual-user: $(cat "$T/v.err")"$'\n'
wait $p4 || bad+="install hello-fixture: $(cat "$T/c5.err")"$'\n'
if [ -z "$bad" ]; then ok "parallel installs of different requests and a lock all succeed"
else fail "parallel installs of different requests and a lock all succeed" "$bad"; fi
if [ "$(cat "$T/c5.out")" = "$ID" ]; then ok "the repeated request is a key hit with the same id"
else fail "the repeated request is a key hit with the same id" "got $(cat "$T/c5.out")"; fi

# ---- afterwards -------------------------------------------------------------------------
pk --store "$S" images
if [ "$PK_RC" -eq 0 ] && grep -qw p "$PK_OUT" && grep -qw g "$PK_OUT" && grep -qw c1 "$PK_OUT"; then
	ok "images lists every tag"
else fail "images lists every tag" "$(pk_detail)"; fi
left=$(find "$S/tmp" -mindepth 1 -maxdepth 1 2>/dev/null)
if [ -z "$left" ]; then ok "nothing left in the store's tmp/"
else fail "nothing left in the store's tmp/" "$left"; fi

finish
