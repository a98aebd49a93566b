#!/bin/bash
# An apt layer that upgrades a package of the image below does what dpkg
# does for an upgrade, with dpkg itself as the oracle (`dpkg -i` of the new
# version in the old image, run by `pkgimg run --commit`):
#   - the maintainer scripts get the upgrade arguments: old prerm
#     "upgrade NEW", new preinst "upgrade OLD", old postrm "upgrade NEW",
#     postinst "configure OLD";
#   - a conffile the user never changed takes the new version's content;
#   - a file the old version shipped and the new one does not is gone;
#   - dpkg's status entry is the same.
# The image: the debian-slim base from the real archive (skips when
# unreachable) plus a fixture package at 1.0, upgraded to 2.0.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "apt upgrade over a base" "archive unreachable"; finish; }
setup_fixture
read -r A_URI A_SUITE A_COMP A_KEYRING < <(archive_mirror)
S=$T/store
V=$(fixture_variant upg)

mkdeb_upg() {	# mkdeb_upg VERSION CONF-LINE ONLY-FILE
	local v=$1 d=$T/deb-$1 s
	mkdir -p "$d/DEBIAN" "$d/etc" "$d/usr/share/upg-pkg"
	printf '%s\n' "$2" >"$d/etc/upg-pkg.conf"
	echo "upg-pkg $v" >"$d/usr/share/upg-pkg/version"
	echo "only in $v" >"$d/usr/share/upg-pkg/$3"
	echo /etc/upg-pkg.conf >"$d/DEBIAN/conffiles"
	for s in preinst postinst prerm postrm; do
		printf '#!/bin/sh\nset -e\necho "%s %s $*" >>/var/lib/upg-pkg.log\n' "$v" "$s" \
			>"$d/DEBIAN/$s"
		chmod 0755 "$d/DEBIAN/$s"
	done
	cat >"$d/DEBIAN/control" <<EOF
Package: upg-pkg
Version: $v
Architecture: all
Maintainer: pkgimg tests <test@invalid>
Priority: optional
Section: misc
Description: upg-pkg, a pkgimg test fixture
 Logs the arguments its maintainer scripts get.
EOF
	find "$d" -exec touch -h -d @1700000000 {} +
	mkdir -p "$V/pool/main/u/upg-pkg" "$T/debs"
	dpkg-deb --root-owner-group --build "$d" "$V/pool/main/u/upg-pkg/upg-pkg_${v}_all.deb" \
		>/dev/null || bail "build upg-pkg $v" "dpkg-deb failed"
	cp "$V/pool/main/u/upg-pkg/upg-pkg_${v}_all.deb" "$T/debs/"
}
mkdeb_upg 1.0 "greeting=old" old-only.txt
mkdeb_upg 2.0 "greeting=new" new-only.txt
mkdeb_dep() {	# mkdeb_dep NAME DEPENDS
	local d=$T/deb-$1
	mkdir -p "$d/DEBIAN" "$d/usr/share/$1"
	echo "$1" >"$d/usr/share/$1/note"
	printf 'Package: %s\nVersion: 1.0\nArchitecture: all\nMaintainer: pkgimg tests <test@invalid>\nDepends: %s\nPriority: optional\nSection: misc\nDescription: %s, a pkgimg test fixture\n depends on upg-pkg.\n' \
		"$1" "$2" "$1" >"$d/DEBIAN/control"
	find "$d" -exec touch -h -d @1700000000 {} +
	mkdir -p "$V/pool/main/u/$1"
	dpkg-deb --root-owner-group --build "$d" "$V/pool/main/u/$1/$1_1.0_all.deb" >/dev/null \
		|| bail "build $1" "dpkg-deb failed"
}
mkdeb_dep upg-user "upg-pkg (>= 2.0)"
mkdeb_dep upg-loose "upg-pkg"
fixture_reindex "$V" --scan
cat "$A_KEYRING" "$KEYRING" >"$T/both.gpg"
src=(--apt-source "$A_URI $A_SUITE $A_COMP" --apt-source "$HTTP_URL/upg/ $SUITE $COMPONENT"
	--keyring "$T/both.gpg")

pk --store "$S" install "${src[@]}" --apt upg-pkg=1.0 --tag v1
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "apt upgrade over a base" "archive unreachable"; finish; }
	bail "install upg-pkg 1.0 on debian-slim" "$(pk_detail)"
fi
pk --store "$S" install "${src[@]}" --base v1 --apt upg-pkg=2.0 --tag v2-pkgimg
[ "$PK_RC" -eq 0 ] || bail "install --base v1 --apt upg-pkg=2.0" "$(pk_detail)"
pk --store "$S" run --network none -v "$T/debs:/debs" --commit --tag v2-dpkg v1 -- \
	dpkg -i /debs/upg-pkg_2.0_all.deb
[ "$PK_RC" -eq 0 ] || bail "dpkg -i upg-pkg 2.0 in the 1.0 image (the oracle)" "$(pk_detail)"

state() {	# state IMAGE: what the comparison looks at
	pk --store "$S" run "$1" -- sh -c 'echo "## log"; cat /var/lib/upg-pkg.log; \
		echo "## files"; ls /usr/share/upg-pkg; echo "## conf"; cat /etc/upg-pkg.conf; \
		echo "## status"; dpkg -s upg-pkg; echo "## list"; sort /var/lib/dpkg/info/upg-pkg.list; \
		echo "## audit"; dpkg --audit'
	cat "$PK_OUT"
}
state v2-dpkg >"$T/dpkg.txt"
state v2-pkgimg >"$T/pkgimg.txt"
sec() { sed -n "/^## $2\$/,/^## /p" "$1" | sed '1d;/^## /d'; }
for what in log files conf status list audit; do
	if [ "$(sec "$T/dpkg.txt" $what)" = "$(sec "$T/pkgimg.txt" $what)" ]; then
		ok "upgrade 1.0 -> 2.0 over a base: $what as dpkg -i leaves it"
	else
		fail "upgrade 1.0 -> 2.0 over a base: $what as dpkg -i leaves it" \
			"$(diff <(sec "$T/dpkg.txt" $what) <(sec "$T/pkgimg.txt" $what) | sed 's/^</dpkg:  /; s/^>/pkgimg:/')"
	fi
done

# ---- what an upgrade is, as apt-get answers it over the 1.0 image's status -----------------
D=$T/apt-get
mkdir -p "$D"
echo "deb [trusted=yes] file:$V $SUITE $COMPONENT" >"$D/sources.list"
fixture_apt_get "$D" 2>"$D/err" || bail "apt-get reads the fixture repository (the oracle)" "$(tail -n 20 "$D/err")"
pk --store "$S" run v1 -- cat /var/lib/dpkg/status
[ "$PK_RC" -eq 0 ] || bail "read the 1.0 image's dpkg status" "$(pk_detail)"
cp "$PK_OUT" "$D/status"
upg() {	# upg NAME REQUEST: lock --base v1 --apt REQUEST = apt-get install -s REQUEST
	local ag got
	ag=$(apt-get "${APTGET_OPT[@]}" install -s "$2" 2>&1 |
		sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' | sort)
	pk --store "$S" lock "${src[@]}" --base v1 --apt "$2" -o "$T/u.lock" --json
	if [ "$PK_RC" -ne 0 ]; then fail "$1" "$(pk_detail)"; return; fi
	got=$(json_pkgset "$PK_OUT" | sort)
	if [ -n "$ag" ] && [ "$got" = "$ag" ]; then ok "$1 ($(echo $got))"; else
		fail "$1" "apt-get: $(echo $ag)" "pkgimg:  $(echo $got)"
	fi
}
upg "asked for by name, a package below is upgraded to the candidate" upg-pkg
upg "a dependency on a newer version upgrades the package below" upg-user
upg "a dependency the package below satisfies keeps it" upg-loose
finish
