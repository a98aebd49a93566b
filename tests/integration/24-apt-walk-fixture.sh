#!/bin/bash
# apt's walk (solver/aptwalk.c, issue 17) on a fixture repository, one case
# per rule, each one where libsolv alone picks otherwise: Pre-Depends steer
# like Depends, an or-group's first alternative stays even when a later
# dependency brings the second, providers are ranked by Priority and then by
# apt's package order, a group that something marked already satisfies is
# skipped, Recommends are steered with --install-recommends, and what a
# given-up alternative marked is dropped (apt-get's automatic removal).  The
# packages exist only in the index (a lock needs no .deb).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store
W=$(fixture_variant walk)
bdir=$W/dists/$SUITE/$COMPONENT/binary-$ARCH

# stanza NAME [FIELD: VALUE]...   (version 1.0, arch all, Priority optional unless given)
stanza() {
	local name=$1; shift
	echo "Package: $name"
	echo "Version: 1.0"
	echo "Architecture: all"
	[[ " $* " == *" Priority: "* ]] || echo "Priority: optional"
	[ $# -eq 0 ] || printf '%s\n' "$@"
	echo "Filename: pool/main/w/$name/${name}_1.0_all.deb"
	echo "Size: 1000"
	echo "SHA256: $(printf %s "$name" | sha256sum | cut -d' ' -f1)"
	echo
}
{
	cat "$bdir/Packages"
	# Pre-Depends: the real package of the name, not the provider
	stanza w-pd-app "Pre-Depends: w-pd-zlib"
	stanza w-pd-alib "Provides: w-pd-zlib (= 2.0)"
	stanza w-pd-zlib
	# an or-group's first alternative, though a later dependency brings the second
	stanza w-or-app "Depends: w-or-zz | w-or-aa, w-or-helper"
	stanza w-or-helper "Depends: w-or-aa"
	stanza w-or-aa
	stanza w-or-zz
	# providers: Priority first
	stanza w-pr-app "Depends: w-pr-virt"
	stanza w-pr-a "Provides: w-pr-virt"
	stanza w-pr-b "Provides: w-pr-virt" "Priority: required"
	# providers of equal rank: the one apt's cache met last
	stanza w-id-app "Depends: w-id-virt"
	stanza w-id-early "Provides: w-id-virt"
	stanza w-id-late "Provides: w-id-virt"
	# a group already satisfied by what an earlier dependency marked
	stanza w-sat-app "Depends: w-sat-b, w-sat-x | w-sat-y"
	stanza w-sat-b "Depends: w-sat-y"
	stanza w-sat-x
	stanza w-sat-y
	# Recommends: the first alternative
	stanza w-rc-app "Recommends: w-rc-zz | w-rc-aa"
	stanza w-rc-aa
	stanza w-rc-zz
	# an alternative given up after marking some of its dependencies
	stanza w-gb-app "Depends: w-gb-first | w-gb-second"
	stanza w-gb-first "Depends: w-gb-dep, w-gb-x"
	stanza w-gb-x "Depends: w-gb-missing"
	stanza w-gb-dep
	stanza w-gb-second
} >"$T/Packages"
mv "$T/Packages" "$bdir/Packages"
fixture_reindex "$W"

# apt-get itself on the same index (tests/lib.sh fixture_apt_get): the expected sets
# below are what it answers (apt 2.6)
D=$T/apt-get
mkdir -p "$D"
echo "deb [trusted=yes] file:$W $SUITE $COMPONENT" >"$D/sources.list"
if ! fixture_apt_get "$D" 2>"$D/err"; then
	bail "apt-get reads the fixture repository (the oracle)" "$(tail -n 20 "$D/err")"
fi
aptopt=("${APTGET_OPT[@]}")

# walk NAME "EXPECTED SET" ARGS...
walk() {
	local name=$1 want got ag rec=0 a; want=$(printf '%s\n' $2 | sort); shift 2
	FX_URL=$HTTP_URL/walk fx "$S" lock "$@" -o "$T/w.lock" --json
	if [ "$PK_RC" -ne 0 ]; then fail "$name" "$(pk_detail)"; return; fi
	got=$(json_pkgset "$PK_OUT" | sed 's/=.*//' | sort)
	for a in "$@"; do [ "$a" = --install-recommends ] && rec=1; done
	ag=$(apt-get "${aptopt[@]}" -o APT::Install-Recommends=$rec install -s "${@: -1}" 2>&1 |
		awk '/^Inst /{print $2}' | sort)
	if [ "$ag" != "$want" ]; then
		fail "$name" "apt-get answers otherwise than this test expects: $(echo $ag)"
		return
	fi
	if [ "$got" = "$want" ]; then ok "$name"; else
		fail "$name" "want: $(echo $want)" "got:  $(echo $got)"
	fi
}

walk "Pre-Depends: the package of that name, not a provider (w-pd-zlib)" \
	"w-pd-app w-pd-zlib" --apt w-pd-app
walk "or-group: the first alternative stays though a later dependency brings the second" \
	"w-or-app w-or-zz w-or-aa w-or-helper" --apt w-or-app
walk "providers: Priority: required ranks first (w-pr-b)" \
	"w-pr-app w-pr-b" --apt w-pr-app
walk "providers of equal rank: the one apt's cache met last (w-id-late)" \
	"w-id-app w-id-late" --apt w-id-app
walk "a group already satisfied by an earlier dependency's pick is skipped (no w-sat-x)" \
	"w-sat-app w-sat-b w-sat-y" --apt w-sat-app
walk "--install-recommends: a Recommends' first alternative (w-rc-zz)" \
	"w-rc-app w-rc-zz" --install-recommends --apt w-rc-app
walk "without --install-recommends no Recommends" \
	"w-rc-app" --apt w-rc-app
walk "a given-up alternative's leftovers are dropped (w-gb-second, no w-gb-dep)" \
	"w-gb-app w-gb-second" --apt w-gb-app
finish
