#!/bin/bash
# `pkgimg install` from the fixture apt repository into a scratch image:
# the snapshot id, the files, a dpkg database that dpkg itself accepts, the
# conffile, the key hit of a repeated install (nothing downloaded or
# unpacked), --no-scripts ("unpacked"), images / inspect / gc, and
# `install --lock --offline` with the server gone.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store R=$T/root

is_id() { [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]]; }	# the whole string, one line
# dpkg_state ROOT: "name version status" per package of ROOT's dpkg database
dpkg_state() {
	dpkg-query --admindir="$1/var/lib/dpkg" -W -f='${Package} ${Version} ${db:Status-Status}\n' 2>&1 | sort
}

# ---- first install ------------------------------------------------------------------
fx "$S" install --apt hello-fixture --tag t --root "$R"
ID=$(cat "$PK_OUT")
if [ "$PK_RC" -eq 0 ] && is_id "$ID"; then ok "install prints one line: the snapshot id sha256:<64 hex>"
else bail "install prints one line: the snapshot id sha256:<64 hex>" "$(pk_detail)"; fi

problems=
[ -x "$R/usr/bin/hello-fixture" ] && [ "$(stat -c '%a %u:%g' "$R/usr/bin/hello-fixture")" = "755 0:0" ] \
	|| problems+="usr/bin/hello-fixture not 0755 root:root: $(stat -c '%a %u:%g' "$R/usr/bin/hello-fixture" 2>&1)"$'\n'
grep -qx 'echo hello from hello-fixture' "$R/usr/bin/hello-fixture" 2>/dev/null \
	|| problems+="usr/bin/hello-fixture content"$'\n'
[ "$(cat "$R/usr/lib/libgreet.so.1" 2>&1)" = "libgreet 1.1" ] || problems+="usr/lib/libgreet.so.1 is not libgreet 1.1's"$'\n'
[ "$(readlink "$R/usr/lib/libgreet.so")" = libgreet.so.1 ] || problems+="usr/lib/libgreet.so is not a symlink to libgreet.so.1"$'\n'
[ -f "$R/usr/share/doc/hello-fixture/README" ] || problems+="usr/share/doc/hello-fixture/README missing"$'\n'
for f in greet-extra hello-alt conflict-a ess-fixture; do
	[ -e "$R/usr/share/doc/$f" ] && problems+="$f was installed"$'\n'
done
if [ -z "$problems" ]; then ok "--root holds the packages' files (modes, owners, symlinks), nothing more"
else fail "--root holds the packages' files (modes, owners, symlinks), nothing more" "$problems" "$(cd "$R" && find . | sort | head -50)"; fi

# The dpkg database: packages without maintainer scripts end up "installed".
state=$(dpkg_state "$R")
want=$'hello-fixture 1.0 installed\nlibgreet 1.1 installed'
if [ "$state" = "$want" ]; then ok "dpkg-query --admindir=ROOT/var/lib/dpkg: exactly hello-fixture and libgreet, installed"
else fail "dpkg-query --admindir=ROOT/var/lib/dpkg: exactly hello-fixture and libgreet, installed" "want:" "$want" "got:" "$state"; fi

if [ "$(cat "$R/etc/greet.conf" 2>&1)" = $'# greet configuration\ngreeting=hello' ] && [ ! -e "$R/etc/greet.conf.dpkg-new" ]; then
	ok "conffile /etc/greet.conf in place (no .dpkg-new left)"
else fail "conffile /etc/greet.conf in place (no .dpkg-new left)" "$(ls -la "$R/etc" 2>&1)"; fi

conf=$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}\n' libgreet 2>&1 | sed '/^$/d')
md5=$(md5sum <"$R/etc/greet.conf" 2>/dev/null | cut -d' ' -f1)
if [ "$(echo $conf)" = "/etc/greet.conf $md5" ]; then ok "status records the conffile with its md5sum"
else fail "status records the conffile with its md5sum" "Conffiles: $conf" "md5sum of the file: $md5"; fi

list=$(dpkg-query --admindir="$R/var/lib/dpkg" -L libgreet 2>&1)
if grep -qx /etc/greet.conf <<<"$list" && grep -qx /usr/lib/libgreet.so.1 <<<"$list" && grep -qx /usr/lib/libgreet.so <<<"$list"; then
	ok "info/libgreet.list lists the package's files"
else fail "info/libgreet.list lists the package's files" "$list"; fi

out=$(dpkg --root="$R" --verify hello-fixture libgreet 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "dpkg --root=ROOT --verify: md5sums match the files"
else fail "dpkg --root=ROOT --verify: md5sums match the files" "$out"; fi
out=$(dpkg --root="$R" --audit 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then ok "dpkg --root=ROOT --audit finds nothing wrong"
else fail "dpkg --root=ROOT --audit finds nothing wrong" "$out"; fi

# ---- the same request again: a key hit -------------------------------------------------
blobs_before=$(dir_snapshot "$S/blobs") unpacked_before=$(dir_snapshot "$S/unpacked") layers_before=$(dir_snapshot "$S/layers")
log_mark=$(wc -l <"$HTTP_LOG")
t0=$(date +%s%N)
fx "$S" install --apt hello-fixture --tag t
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ]; then ok "same request again prints the same id"
else fail "same request again prints the same id" "first: $ID" "$(pk_detail)"; fi
debs=$(tail -n +"$((log_mark + 1))" "$HTTP_LOG" | grep '\.deb ' || true)
if [ -z "$debs" ] && [ "$blobs_before" = "$(dir_snapshot "$S/blobs")" ] \
	&& [ "$unpacked_before" = "$(dir_snapshot "$S/unpacked")" ] && [ "$layers_before" = "$(dir_snapshot "$S/layers")" ]; then
	ok "same request again downloads and unpacks nothing (blobs/, unpacked/, layers/ unchanged)"
else
	fail "same request again downloads and unpacks nothing (blobs/, unpacked/, layers/ unchanged)" \
		"requests:" "$(tail -n +"$((log_mark + 1))" "$HTTP_LOG")" \
		"blobs/ before/after:" "$(diff <(echo "$blobs_before") <(dir_snapshot "$S/blobs"))" \
		"unpacked/ before/after:" "$(diff <(echo "$unpacked_before") <(dir_snapshot "$S/unpacked"))" \
		"layers/ before/after:" "$(diff <(echo "$layers_before") <(dir_snapshot "$S/layers"))"
fi
if [ "$ms" -lt 3000 ]; then ok "key hit is fast (${ms} ms)"; else fail "key hit is fast (${ms} ms, want < 3000)"; fi

# ---- --no-scripts: honestly "unpacked" ------------------------------------------------------
fx "$S" install --apt hello-fixture --no-scripts --root "$T/root-ns"
ID_NS=$(cat "$PK_OUT")
if [ "$PK_RC" -eq 0 ] && is_id "$ID_NS" && [ "$ID_NS" != "$ID" ]; then ok "--no-scripts gives another snapshot id"
else fail "--no-scripts gives another snapshot id" "with scripts: $ID" "$(pk_detail)"; fi
state=$(dpkg_state "$T/root-ns")
want=$'hello-fixture 1.0 unpacked\nlibgreet 1.1 unpacked'
if [ "$state" = "$want" ]; then ok "--no-scripts leaves the packages unpacked"
else fail "--no-scripts leaves the packages unpacked" "want:" "$want" "got:" "$state"; fi
if [ -e "$T/root-ns/etc/greet.conf.dpkg-new" ] || [ -e "$T/root-ns/etc/greet.conf" ]; then ok "--no-scripts: the conffile is unpacked"
else fail "--no-scripts: the conffile is unpacked" "$(ls -la "$T/root-ns/etc" 2>&1)"; fi

# ---- images / inspect ------------------------------------------------------------------------
hex=${ID#sha256:}
pk --store "$S" images
if [ "$PK_RC" -eq 0 ] && grep -qw t "$PK_OUT" && grep -q "${hex:0:12}" "$PK_OUT"; then ok "images lists tag t and its id"
else fail "images lists tag t and its id" "$(pk_detail)"; fi

pk --store "$S" inspect t --json
if out=$("$PY" - "$PK_OUT" "$ID" <<'EOF' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
errs = []
if j.get("id") != sys.argv[2]:
    errs.append("id %r != %r" % (j.get("id"), sys.argv[2]))
ls = j.get("layers")
if not isinstance(ls, list) or not ls:
    errs.append("layers is not a non-empty list")
else:
    for l in ls:
        for k in ("key", "step", "size"):
            if k not in l:
                errs.append("layer without %r: %r" % (k, l))
    if ls and ls[0].get("key") != sys.argv[2] and ls[-1].get("key") != sys.argv[2]:
        errs.append("no layer has the snapshot id as key (top layer)")
if not isinstance(j.get("config"), dict):
    errs.append("config is not an object")
sys.exit("\n".join(errs) if errs else 0)
EOF
); then ok "inspect t --json: id, layers[key,step,size], config"
else fail "inspect t --json: id, layers[key,step,size], config" "$out" "$(pk_detail)"; fi

for name in "sha256:${hex:0:12}" "${hex:0:12}" "$ID"; do
	pk --store "$S" inspect "$name" --json
	if [ "$PK_RC" -eq 0 ] && [ "$(json_get "$PK_OUT" 'j["id"]' 2>/dev/null)" = "$ID" ]; then ok "inspect $name (id or prefix)"
	else fail "inspect $name (id or prefix)" "$(pk_detail)"; fi
done
pk --store "$S" inspect no-such-image
if pk_failed_cleanly && err_has 'no-such-image'; then ok "inspect of an unknown image is an error naming it"
else fail "inspect of an unknown image is an error naming it" "$(pk_detail)"; fi

# ---- the lockfile, for the offline install below ------------------------------------------
fx "$S" lock --apt hello-fixture -o "$T/t.lock" --json
cp "$PK_OUT" "$T/t.json"
[ "$PK_RC" -eq 0 ] || fail "lock hello-fixture" "$(pk_detail)"

# ---- gc keeps what tags reach, removes the rest ---------------------------------------------------
fx "$S" install --apt ma-lib
ID_MA=$(cat "$PK_OUT")
[ "$PK_RC" -eq 0 ] && is_id "$ID_MA" || fail "install ma-lib, untagged" "$(pk_detail)"
ma_sha=$(sha256_of "$REPO_DIR/pool/main/m/ma-lib/ma-lib_1.0_amd64.deb")
[ -e "$S/blobs/sha256/$ma_sha" ] || fail "ma-lib's .deb is in blobs/sha256/ after install" "$(ls "$S/blobs/sha256" 2>&1)"
pk --store "$S" gc
if [ "$PK_RC" -eq 0 ]; then ok "gc runs"; else fail "gc runs" "$(pk_detail)"; fi
pk --store "$S" inspect t --json
if [ "$PK_RC" -eq 0 ] && [ "$(json_get "$PK_OUT" 'j["id"]' 2>/dev/null)" = "$ID" ] && [ -d "$S/layers/$hex" ]; then
	ok "gc keeps the tagged image"
else fail "gc keeps the tagged image" "$(pk_detail)" "$(ls "$S/layers" 2>&1)"; fi
missing=
for h in $(json_get "$T/t.json" '[p["sha256"] for p in j["packages"]]'); do
	[ -e "$S/blobs/sha256/$h" ] || missing+=" $h"
done
if [ -z "$missing" ]; then ok "gc keeps the blobs of the tagged image"
else fail "gc keeps the blobs of the tagged image" "missing:$missing"; fi
# (the --no-scripts image goes too, unless it is a layer below t)
pk --store "$S" inspect t --json
t_layers=$(json_get "$PK_OUT" '[l["key"] for l in j["layers"]]' 2>/dev/null)
ns_gone=true
if ! grep -qx "$ID_NS" <<<"$t_layers" && [ -e "$S/layers/${ID_NS#sha256:}" ]; then ns_gone=false; fi
pk --store "$S" inspect "$ID_MA"
if pk_failed_cleanly && [ ! -e "$S/layers/${ID_MA#sha256:}" ] && $ns_gone; then
	ok "gc removes untagged images"
else fail "gc removes untagged images" "$(pk_detail)" "$(ls "$S/layers" 2>&1)"; fi
if [ ! -e "$S/blobs/sha256/$ma_sha" ]; then ok "gc removes blobs no kept image uses"
else fail "gc removes blobs no kept image uses" "blobs/sha256/$ma_sha (ma-lib) still there"; fi

# ---- install --lock --offline with the server gone ---------------------------------------------
stop_http_server
pk --store "$S" install --lock "$T/t.lock" --offline --tag t2 --root "$T/root-offline"
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ]; then ok "install --lock --offline (server stopped) reproduces the same id"
else fail "install --lock --offline (server stopped) reproduces the same id" "want $ID" "$(pk_detail)"; fi
state=$(dpkg_state "$T/root-offline")
if [ "$state" = $'hello-fixture 1.0 installed\nlibgreet 1.1 installed' ]; then ok "install --lock --offline --root materialises the same packages"
else fail "install --lock --offline --root materialises the same packages" "$state"; fi
if diff -r --no-dereference "$R" "$T/root-offline" >/dev/null 2>&1; then ok "--root trees of the two installs are identical"
else fail "--root trees of the two installs are identical" "$(diff -r --no-dereference "$R" "$T/root-offline" 2>&1 | head -20)"; fi

pk --store "$T/store-empty" install --lock "$T/t.lock" --offline
if pk_failed_cleanly && err_has 'offline'; then ok "install --lock --offline into an empty store fails, saying it is offline"
else fail "install --lock --offline into an empty store fails, saying it is offline" "$(pk_detail)"; fi

finish
