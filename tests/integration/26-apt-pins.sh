#!/bin/bash
# apt's default pins (apt_preferences(5)): a suite whose Release says
# "NotAutomatic: yes" (experimental) has its versions at pin 1, with
# "ButAutomaticUpgrades: yes" too (backports) at 100, every other suite at
# 500; the candidate is the highest pin's highest version.  So a newer
# version in backports is not taken unless asked for by version, and a
# package only backports has is taken from there with its dependencies from
# the main suite.  apt-get itself on the same two sources is the oracle when
# it is installed.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store

# stanza NAME VERSION [FIELD: VALUE]...
stanza() {
	local name=$1 ver=$2; shift 2
	printf 'Package: %s\nVersion: %s\nArchitecture: all\nPriority: optional\n' "$name" "$ver"
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo "Filename: pool/main/p/$name/${name}_${ver}_all.deb"
	echo "Size: 1000"
	echo "SHA256: $(printf %s "$name $ver" | sha256sum | cut -d' ' -f1)"
	echo
}
# variant NAME RELEASE_EXTRA: a fixture copy whose Packages is stdin
variant() {
	local d bdir; d=$(fixture_variant "$1")
	bdir=$d/dists/$SUITE/$COMPONENT/binary-$ARCH
	cat >"$bdir/Packages"
	RELEASE_EXTRA=$2 fixture_reindex "$d"
}
{
	stanza pin-app 1.0
	stanza pin-lib 1.0
} | variant pinmain ""
{
	stanza pin-app 2.0
	stanza pin-lib 2.0
	stanza pin-bponly 1.0 "Depends: pin-lib"
} | variant pinbp "NotAutomatic: yes
ButAutomaticUpgrades: yes"
{
	stanza pin-app 3.0
} | variant pinexp "NotAutomatic: yes"

D=$T/apt-get
mkdir -p "$D"
for v in pinmain pinbp pinexp; do
	echo "deb [trusted=yes] file:$T/www/$v $SUITE $COMPONENT"
done >"$D/sources.list"
if ! fixture_apt_get "$D" 2>"$D/err"; then
	bail "apt-get reads the fixture repository (the oracle)" "$(tail -n 20 "$D/err")"
fi
aptopt=("${APTGET_OPT[@]}")

# pins NAME "EXPECTED NAME=VERSION..." REQUEST...
pins() {
	local name=$1 want got ag; want=$(printf '%s\n' $2 | sort); shift 2
	local -a args=()
	for r in "$@"; do args+=(--apt "$r"); done
	pk --store "$S" lock --base scratch --keyring "$KEYRING" \
		--apt-source "$HTTP_URL/pinmain/ $SUITE $COMPONENT" \
		--apt-source "$HTTP_URL/pinbp/ $SUITE $COMPONENT" \
		--apt-source "$HTTP_URL/pinexp/ $SUITE $COMPONENT" \
		"${args[@]}" -o "$T/p.lock" --json
	if [ "$PK_RC" -ne 0 ]; then fail "$name" "$(pk_detail)"; return; fi
	got=$(json_pkgset "$PK_OUT" | sort)
	ag=$(apt-get "${aptopt[@]}" install -s "$@" 2>&1 |
		sed -nE 's/^Inst ([^ ]+) (\[[^]]*\] )?\(([^ ]+) .*/\1=\3/p' | sort)
	if [ "$ag" != "$want" ]; then
		fail "$name" "apt-get answers otherwise than this test expects: $(echo $ag)"
		return
	fi
	if [ "$got" = "$want" ]; then ok "$name"; else
		fail "$name" "want: $(echo $want)" "got:  $(echo $got)"
	fi
}

pins "a newer version in a NotAutomatic suite is not the candidate (pin-app 1.0, not 2.0 or 3.0)" \
	"pin-app=1.0" pin-app
pins "asked for by version, the backports version is taken (pin-app=2.0)" \
	"pin-app=2.0" pin-app=2.0
pins "a package only backports has is taken from there, its dependency from the main suite" \
	"pin-bponly=1.0 pin-lib=1.0" pin-bponly
[ ${#aptopt[@]} -gt 0 ] && echo "# each expected set is apt-get install -s's on the same sources"
finish
