#!/bin/bash
# The .solv cache of the apt indexes (solver/solvcache): `lock --offline` from
# the cache gives the lockfile the parsed index gave, byte for byte; a cache
# file that is truncated, has a flipped bit, is zeroed or is a bare .solv (an
# older format) is parsed again and rewritten, never trusted; writers that
# race on one cache leave a whole one and no temporary file.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store

fx "$S" lock --apt hello-fixture --apt greet-utils -o "$T/parsed.lock"
[ "$PK_RC" -eq 0 ] || bail "lock (the index parsed, the cache written)" "$(pk_detail)"
mapfile -t caches < <(find "$S/index" -name 'Packages-*.solv')
if [ "${#caches[@]}" -ge 1 ]; then ok "a .solv cache is written"; else
	bail "a .solv cache is written" "$(find "$S/index")"
fi
cache=${caches[0]}
good=$T/good.solv
cp "$cache" "$good"

fx "$S" lock --offline --apt hello-fixture --apt greet-utils -o "$T/cached.lock"
if [ "$PK_RC" -eq 0 ] && cmp -s "$T/parsed.lock" "$T/cached.lock"; then
	ok "the lockfile from the cache is the parsed index's, byte for byte"
else
	fail "the lockfile from the cache is the parsed index's, byte for byte" "$(pk_detail)" \
		"$(diff "$T/parsed.lock" "$T/cached.lock" | head -20)"
fi

# damage NAME CMD: CMD damages $cache; the next lock must still give the same
# lockfile, and leave the good cache behind again
damage() {
	local name=$1; shift
	cp "$good" "$cache"
	"$@" || fail "$name: the damage is done" "$*"
	fx "$S" lock --offline --apt hello-fixture --apt greet-utils -o "$T/d.lock"
	if [ "$PK_RC" -eq 0 ] && cmp -s "$T/parsed.lock" "$T/d.lock" && cmp -s "$good" "$cache"; then
		ok "$name: parsed again, same lockfile, the cache rewritten"
	else
		fail "$name: parsed again, same lockfile, the cache rewritten" "$(pk_detail)" \
			"$(diff "$T/parsed.lock" "$T/d.lock" | head -20)" \
			"cache $(stat -c %s "$cache") bytes, good $(stat -c %s "$good") bytes"
	fi
}
size=$(stat -c %s "$good")
damage "a truncated cache" truncate -s $((size / 2)) "$cache"
damage "a cache one byte short" truncate -s $((size - 1)) "$cache"
# one bit of a package's sha256 flipped: libsolv alone loads that .solv, and
# the lockfile would pin a digest no package has
flip() {
	"$PY" - "$cache" "$T/parsed.lock" <<'EOF'
import re, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
# (the first 8 bytes: a cache that pages its checksums compresses the rest)
shas = re.findall(r"(?m)^ +sha256: ([0-9a-f]{64})$", open(sys.argv[2]).read())
i = max(b.find(bytes.fromhex(sha)[:8]) for sha in shas)
if i < 0:
    sys.exit("the cache holds none of the lockfile's sha256s")
b[i + 7] ^= 0x01
open(p, "wb").write(bytes(b))
EOF
}
damage "a cache with a flipped bit" flip
damage "a zeroed cache" bash -c "head -c $size /dev/zero >'$cache'"
damage "a bare .solv (the older format)" bash -c "tail -c +25 '$good' >'$cache'"
damage "an empty cache" truncate -s 0 "$cache"

# racing writers: each finds no cache, parses, writes tmp + rename
rm -f "$cache"
pids=()
for i in 1 2 3 4 5 6; do
	"$PKGIMG" --store "$S" --offline lock --base scratch --apt hello-fixture --apt greet-utils \
		--apt-source "$REPO_URL/ $SUITE $COMPONENT" --keyring "$KEYRING" \
		-o "$T/race.$i.lock" >/dev/null 2>"$T/race.$i.err" &
	pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
bad=
for i in 1 2 3 4 5 6; do cmp -s "$T/parsed.lock" "$T/race.$i.lock" || bad="$bad $i"; done
if [ "$rc" -eq 0 ] && [ -z "$bad" ] && cmp -s "$good" "$cache"; then
	ok "6 concurrent locks with no cache: same lockfiles, one whole cache"
else
	fail "6 concurrent locks with no cache: same lockfiles, one whole cache" \
		"rc=$rc differing:$bad" "$(cat "$T"/race.*.err | head -20)"
fi
if find "$S/index" -name '*.tmp' | grep -q .; then
	fail "no temporary cache file is left" "$(find "$S/index" -name '*.tmp')"
else
	ok "no temporary cache file is left"
fi
finish
