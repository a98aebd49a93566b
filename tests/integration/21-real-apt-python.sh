#!/bin/bash
# python3 from the real Debian archive (the host's apt sources, default base):
# install it, run it in the sandbox (prints 42), and check that the dpkg
# database of the materialised tree lists exactly the locked packages, all
# installed.  Skips when the archive is unreachable.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "install python3 from the archive and run it" "archive unreachable"; finish; }
S=$T/store R=$T/root

pk --store "$S" lock --apt python3 -o "$T/py.lock" --json
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "install python3 from the archive and run it" "archive unreachable"; finish; }
	bail "lock --apt python3" "$(pk_detail)"
fi
json_pkgset "$PK_OUT" | sed 's/:[a-z0-9]*=/=/' | sort -u >"$T/lock.set" || bail "lock --json parses" "$(pk_detail)"
grep -q '^python3=' "$T/lock.set" && grep -q '^libc6=' "$T/lock.set" && grep -q '^dash=' "$T/lock.set" \
	&& ok "lock --apt python3 (default base) has python3, libc6 and the Essential set (dash)" \
	|| fail "lock --apt python3 (default base) has python3, libc6 and the Essential set (dash)" "$(cat "$T/lock.set")"

t0=$(date +%s%N)
pk --store "$S" install --apt python3 --tag py --root "$R"
t1=$(date +%s%N)
ID=$(cat "$PK_OUT")
if [ "$PK_RC" -eq 0 ] && [[ $ID =~ ^sha256:[0-9a-f]{64}$ ]]; then
	ok "install --apt python3 --tag py --root R ($(( (t1 - t0) / 1000000 )) ms) prints only the snapshot id"
elif [ "$PK_RC" -eq 0 ]; then
	fail "install --apt python3 --tag py --root R ($(( (t1 - t0) / 1000000 )) ms) prints only the snapshot id" \
		"stdout must be the id alone (maintainer-script output belongs on stderr):" "$(tail -n 5 "$PK_OUT")"
	ID=$(tail -n 1 "$PK_OUT")
else
	archive_reachable || { skip "install python3 from the archive and run it" "archive unreachable"; finish; }
	bail "install --apt python3 --tag py --root R" "$(pk_detail)"
fi

# the dpkg database of the tree: exactly the locked packages, all installed
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Package}=${Version} ${db:Status-Status}\n' >"$T/dpkg.out" 2>&1
notinst=$(grep -v ' installed$' "$T/dpkg.out")
cut -d' ' -f1 "$T/dpkg.out" | sort -u >"$T/dpkg.set"
if [ -z "$notinst" ] && cmp -s "$T/lock.set" "$T/dpkg.set"; then
	ok "dpkg-query --admindir=R/var/lib/dpkg -W: exactly the lock's $(wc -l <"$T/lock.set") packages, all installed"
else
	fail "dpkg-query --admindir=R/var/lib/dpkg -W: exactly the lock's $(wc -l <"$T/lock.set") packages, all installed" \
		"not installed:" "$notinst" "only in the lock:" "$(comm -23 "$T/lock.set" "$T/dpkg.set")" \
		"only in the dpkg database:" "$(comm -13 "$T/lock.set" "$T/dpkg.set")"
fi

# running it
pk --store "$S" run py -- python3 -c 'print(6*7)'
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = 42 ]; then ok "pkgimg run py -- python3 -c 'print(6*7)' prints 42"
else fail "pkgimg run py -- python3 -c 'print(6*7)' prints 42" "$(pk_detail)"; fi

pk --store "$S" run py -- sh -c 'exit 7'
if [ "$PK_RC" -eq 7 ]; then ok "run passes the command's exit status through"
else fail "run passes the command's exit status through" "$(pk_detail)"; fi

pk --store "$S" run py -- dpkg-query -W -f='${db:Status-Status}' python3
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = installed ]; then ok "dpkg inside the image sees python3 installed"
else fail "dpkg inside the image sees python3 installed" "$(pk_detail)"; fi

pk --store "$S" run py -- dpkg --audit
if [ "$PK_RC" -eq 0 ] && [ ! -s "$PK_OUT" ]; then ok "dpkg --audit inside the image finds nothing wrong"
else fail "dpkg --audit inside the image finds nothing wrong" "$(pk_detail)"; fi

# the unpacked cache: the layer's files are hard links of it, and no
# maintainer script wrote through to it (every cached file still matches its
# package's md5sums), nor does a command run in the image
sha=$(awk '/name: python3.11-minimal$/ {f=1} f && /sha256:/ {print $2; exit}' "$T/py.lock")
c=$S/unpacked/$sha/tree/usr/bin/python3.11
l=$(ls -d "$S"/layers/*/tree/usr/bin/python3.11 2>/dev/null | head -n 1)
if [ -n "$sha" ] && [ -f "$c" ] && [ -n "$l" ] && [ "$(stat -c %i "$c")" = "$(stat -c %i "$l")" ]; then
	ok "the layer's usr/bin/python3.11 is a hard link of the unpacked cache's"
else
	fail "the layer's usr/bin/python3.11 is a hard link of the unpacked cache's" "sha=$sha cache=$c layer=$l"
fi
bad=$(cd "$S/unpacked" && for d in */; do
	(cd "$d/tree" && for m in var/lib/dpkg/info/*.md5sums; do
		[ -e "$m" ] || continue
		# md5sums name shipped paths; the cache holds them under usr/ (merged /usr)
		sed -E 's#  (bin|sbin|lib|lib32|lib64|libx32)/#  usr/\1/#' "$m" | md5sum --quiet -c - 2>&1
	done)
done | grep -v '^$' | head -n 5)
if [ -z "$bad" ]; then ok "every file in the unpacked cache still matches its package's md5sums after the scripts ran"
else fail "every file in the unpacked cache still matches its package's md5sums after the scripts ran" "$bad"; fi
before=$(md5sum <"$c")
pk --store "$S" run py -- sh -c 'echo garbage >> /usr/bin/python3.11'
if [ "$(md5sum <"$c")" = "$before" ] && [ "$(md5sum <"$l")" = "$before" ]; then
	ok "a command writing in place to an image file changes neither the layer nor the cache"
else
	fail "a command writing in place to an image file changes neither the layer nor the cache"
fi

# the lockfile written just before installs to the same id, offline, from the warm store
pk --store "$S" install --lock "$T/py.lock" --offline --tag py2
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ]; then ok "install --lock py.lock --offline gives the same id"
else fail "install --lock py.lock --offline gives the same id" "install --apt python3 gave $ID" "$(pk_detail)"; fi

finish
