#!/bin/bash
# Refusals against the fixture apt repository: unknown packages, an
# unsatisfiable request explained in words, a missing dependency, a signature
# by a key not in the keyring, a forged InRelease, tampered Packages, a
# tampered .deb (nothing committed), an unsigned repository (refused unless
# --allow-unsigned), an expired Valid-Until, and Release + Release.gpg alone.
# Every failure must exit non-zero with a message that starts "pkgimg: ".
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
n=0
newstore() { n=$((n + 1)); S=$T/store.$n; }

# refused NAME REGEX [MORE-REGEX...]: the last pk failed cleanly and its
# stderr matches every REGEX (case-insensitive ERE).
refused() {
	local name=$1 re; shift
	if ! pk_failed_cleanly; then
		fail "$name" "want: non-zero exit and stderr starting with 'pkgimg: '" "$(pk_detail)"
		return
	fi
	for re in "$@"; do
		if ! err_has "$re"; then
			fail "$name" "stderr does not match /$re/i" "$(pk_detail)"
			return
		fi
	done
	ok "$name"
}

# ---- resolution failures --------------------------------------------------------
newstore
fx "$S" lock --apt no-such-package -o "$T/x.lock"
refused "unknown package is an error naming it" 'no-such-package'
[ ! -e "$T/x.lock" ] && ok "no lockfile written on error" || fail "no lockfile written on error" "$T/x.lock exists"

fx "$S" lock --apt libgreet=9.9 -o "$T/x.lock"
refused "pin to a version that does not exist names package and version" 'libgreet' '9\.9'

fx "$S" lock --apt needs-both -o "$T/x.lock"
refused "unsatisfiable request: the chain (needs-both depends on conflict-a and conflict-b, which conflict) in words" \
	'needs-both' 'conflict-a' 'conflict-b' 'conflict([^-]|$)' 'depend|require'

fx "$S" lock --apt needs-missing -o "$T/x.lock"
refused "missing dependency names it" 'needs-missing' 'does-not-exist'

# ---- signatures ------------------------------------------------------------------
newstore
FX_KEYRING=$WRONG_KEYRING fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "InRelease signed by a key not in --keyring is refused" 'signature'
[ ! -e "$T/x.lock" ] && ok "no lockfile written for a badly signed repository" \
	|| fail "no lockfile written for a badly signed repository" "$T/x.lock exists"

# forged: the signed text of InRelease (and Release, so Release.gpg mismatches too) altered
d=$(fixture_variant forged)
sed -i 's/^Label: .*/Label: forged/' "$d/dists/$SUITE/InRelease" "$d/dists/$SUITE/Release"
newstore
FX_URL=$HTTP_URL/forged fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "InRelease whose signed text was altered is refused" 'signature'

# unsigned: no InRelease, no Release.gpg
d=$(fixture_variant unsigned)
rm -f "$d/dists/$SUITE/InRelease" "$d/dists/$SUITE/Release.gpg"
newstore
FX_URL=$HTTP_URL/unsigned fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "unsigned repository is refused" 'unsigned|not signed|signature|InRelease|Release\.gpg'
FX_URL=$HTTP_URL/unsigned fx "$S" lock --apt hello-fixture --allow-unsigned -o "$T/u.lock" --json
if [ "$PK_RC" -eq 0 ] && [ "$(json_pkgset "$PK_OUT" 2>/dev/null | sort | tr '\n' ' ')" = "hello-fixture=1.0 libgreet=1.1 " ]; then
	ok "unsigned repository is accepted with --allow-unsigned"
else fail "unsigned repository is accepted with --allow-unsigned" "$(pk_detail)"; fi

# Release + Release.gpg without InRelease: a valid detached signature is enough
d=$(fixture_variant detached)
rm -f "$d/dists/$SUITE/InRelease"
newstore
FX_URL=$HTTP_URL/detached fx "$S" lock --apt hello-fixture -o "$T/d.lock" --json
if [ "$PK_RC" -eq 0 ] && [ "$(json_pkgset "$PK_OUT" 2>/dev/null | sort | tr '\n' ' ')" = "hello-fixture=1.0 libgreet=1.1 " ]; then
	ok "Release + Release.gpg (no InRelease) is verified and accepted"
else fail "Release + Release.gpg (no InRelease) is verified and accepted" "$(pk_detail)"; fi

# detached signature over an altered Release is refused
sed -i 's/^Label: .*/Label: forged/' "$d/dists/$SUITE/Release"
newstore
FX_URL=$HTTP_URL/detached fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "Release altered after Release.gpg was made is refused" 'signature'

# expired: signed 60 days ago, valid for 30
d=$(fixture_variant expired)
if out=$("$SRC/tests/fixtures/aptrepo.sh" --sign "$d" --date-days -60 --valid-days 30 2>&1); then
	newstore
	FX_URL=$HTTP_URL/expired fx "$S" lock --apt hello-fixture -o "$T/x.lock"
	refused "Release past its Valid-Until is refused" 'valid.until'
else
	fail "Release past its Valid-Until is refused" "re-signing the fixture failed:" "$out"
fi

# ---- tampered Packages (after signing) --------------------------------------------
d=$(fixture_variant tampered-packages)
b=$d/dists/$SUITE/main/binary-$ARCH
printf '\nPackage: evil\nVersion: 6.6.6\nArchitecture: all\nFilename: pool/evil.deb\nSize: 1\nSHA256: %064d\nDescription: not in the signed Release\n' 0 >>"$b/Packages"
gzip -9n <"$b/Packages" >"$b/Packages.gz"
xz -T1 <"$b/Packages" >"$b/Packages.xz"
newstore
FX_URL=$HTTP_URL/tampered-packages fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "Packages with an added stanza (not the signed size) is refused" \
	'sha-?256|checksum|hash|digest|size|signed Release' 'Packages'

# same sizes, different bytes: only the sha256 can tell
d=$(fixture_variant tampered-packages-samesize)
b=$d/dists/$SUITE/main/binary-$ARCH
"$PY" - "$b/Packages" "$b/Packages.gz" "$b/Packages.xz" <<'EOF'
import sys
for p in sys.argv[1:]:
    b = bytearray(open(p, "rb").read())
    b[len(b) // 2] ^= 0x01
    open(p, "wb").write(b)
EOF
newstore
FX_URL=$HTTP_URL/tampered-packages-samesize fx "$S" lock --apt hello-fixture -o "$T/x.lock"
refused "Packages of the signed size but other bytes is refused (sha256)" 'sha-?256|checksum|hash|digest' 'Packages'

# ---- tampered .deb: install fails, names URL + hashes, commits nothing -------------------
d=$(fixture_variant tampered-deb)
deb=pool/main/l/libgreet/libgreet_1.1_amd64.deb
want_sha=$(sha256_of "$d/$deb")
"$PY" - "$d/$deb" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for i in range(len(b) // 2, len(b) // 2 + 8):
    b[i] ^= 0xff
open(p, "wb").write(b)
EOF
got_sha=$(sha256_of "$d/$deb")
newstore
# a good image first, so "nothing new" is measured against a store with content
fx "$S" install --apt ma-lib --no-scripts --tag good
[ "$PK_RC" -eq 0 ] || fail "install ma-lib into the store (setup)" "$(pk_detail)"
pk --store "$S" images
cp "$PK_OUT" "$T/images.before"
layers_before=$(dir_snapshot "$S/layers" | awk '{print $1}')
FX_URL=$HTTP_URL/tampered-deb fx "$S" install --apt hello-fixture --tag bad
refused "tampered .deb: install fails naming the URL, expected and actual sha256" \
	"$HTTP_URL/tampered-deb/$deb" "$want_sha" "$got_sha"
pk --store "$S" images
# (images may print relative times, so compare its line count, not its bytes)
if [ "$PK_RC" -eq 0 ] && [ "$(wc -l <"$T/images.before")" = "$(wc -l <"$PK_OUT")" ] \
	&& ! grep -qw bad "$PK_OUT" \
	&& [ "$layers_before" = "$(dir_snapshot "$S/layers" | awk '{print $1}')" ]; then
	ok "tampered .deb: no new layer, image or tag"
else
	fail "tampered .deb: no new layer, image or tag" "images before:" "$(cat "$T/images.before")" "$(pk_detail)"
fi
pk --store "$S" inspect bad
refused "tampered .deb: tag 'bad' does not exist" 'bad'
if [ -e "$S/blobs/sha256/$got_sha" ] || [ -e "$S/blobs/sha256/$want_sha" ]; then
	fail "tampered .deb: no blob stored for it" "$(ls "$S/blobs/sha256")"
else ok "tampered .deb: no blob stored for it"; fi

finish
