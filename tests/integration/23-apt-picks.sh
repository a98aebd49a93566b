#!/bin/bash
# apt's picks on the real archive (issue 17): the package set is the one
# apt-get install gives, in the cases where libsolv alone picks otherwise:
# Pre-Depends steer the default base (libsystemd0, so systemd installs on
# it), apt's first alternative stays (gcc for libtool), the providers of a
# virtual name are ranked as apt ranks them (mawk for awk, exim4-daemon-light
# for default-mta, sendmail-bin for a bare mail-transport-agent), Recommends
# are steered too (systemd-timesyncd), and a conflict with the base names
# the base's package as such, not as "requested".  Skips when the archive is
# unreachable.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "apt's picks on the real archive" "archive unreachable"; finish; }
S=$T/store

# lockset NAME ARGS...: locks (first time online, then --offline), the set in $T/NAME.set
lockset() {
	local name=$1; shift
	local -a off=()
	[ -f "$T/.warm" ] && off=(--offline)
	pk "${off[@]}" --store "$S" lock "$@" -o "$T/$name.lock" --json
	if [ "$PK_RC" -ne 0 ]; then
		: >"$T/$name.set"
		return 1
	fi
	touch "$T/.warm"
	json_pkgset "$PK_OUT" | sed 's/:[a-z0-9]*=/=/' | sort -u >"$T/$name.ver"
	sed 's/=.*//' "$T/$name.ver" >"$T/$name.set"
}
has() { grep -qx "$2" "$T/$1.set"; }

# the default base (mmdebstrap --variant=essential's set): Pre-Depends and
# apt's provider ranking decide it
if ! lockset base; then
	archive_reachable || { skip "apt's picks on the real archive" "archive unreachable"; finish; }
	bail "lock (the default base)" "$(pk_detail)"
fi
has base libsystemd0 && ! has base libelogind0 \
	&& ok "default base: libsystemd0 (util-linux's Pre-Depends), not libelogind0" \
	|| fail "default base: libsystemd0 (util-linux's Pre-Depends), not libelogind0" "$(grep -E 'systemd|elogind' "$T/base.set")"
has base mawk && ! has base gawk \
	&& ok "default base: awk is mawk (Priority: required ranks first), not gawk" \
	|| fail "default base: awk is mawk (Priority: required ranks first), not gawk" "$(grep -E 'awk' "$T/base.set")"

if lockset sd --apt systemd; then
	ok "lock --apt systemd works on the default base"
else
	fail "lock --apt systemd works on the default base" "$(pk_detail)"
fi

lockset libtool --base scratch --apt libtool
has libtool gcc && has libtool cpp \
	&& ok "--base scratch --apt libtool has gcc (apt's first alternative of 'gcc | c-compiler')" \
	|| fail "--base scratch --apt libtool has gcc (apt's first alternative of 'gcc | c-compiler')" "$(pk_detail)" "$(tr '\n' ' ' <"$T/libtool.set")"

lockset scipy --base scratch --apt python3-scipy
has scipy gcc && has scipy g++ \
	&& ok "--base scratch --apt python3-scipy has gcc and g++" \
	|| fail "--base scratch --apt python3-scipy has gcc and g++" "$(pk_detail)" "$(tr '\n' ' ' <"$T/scipy.set")"

lockset ftpsync --base scratch --apt ftpsync
has ftpsync exim4-daemon-light && ! has ftpsync courier-mta \
	&& ok "'default-mta | mail-transport-agent' is exim4-daemon-light, not courier-mta" \
	|| fail "'default-mta | mail-transport-agent' is exim4-daemon-light, not courier-mta" "$(pk_detail)" "$(grep -E 'exim|courier|postfix|sendmail' "$T/ftpsync.set")"

lockset cronapt --base scratch --install-recommends --apt cron-apt
has cronapt sendmail-bin && ! has cronapt courier-mta \
	&& ok "a bare mail-transport-agent (cron-apt's Recommends) is sendmail-bin, apt's last tie-break" \
	|| fail "a bare mail-transport-agent (cron-apt's Recommends) is sendmail-bin, apt's last tie-break" "$(pk_detail)" "$(grep -E 'exim|courier|postfix|sendmail' "$T/cronapt.set")"

lockset sdrec --base scratch --install-recommends --apt systemd
has sdrec systemd-timesyncd && ! has sdrec chrony \
	&& ok "--install-recommends systemd has systemd-timesyncd, not chrony" \
	|| fail "--install-recommends systemd has systemd-timesyncd, not chrony" "$(pk_detail)" "$(grep -E 'timesync|chrony|ntp' "$T/sdrec.set")"

# a real conflict with the base: the base's package is named as such
if lockset elogind --apt libelogind0; then
	fail "libelogind0 on the default base is refused" "it locked"
elif err_has "libelogind0 was requested" && err_has "libsystemd0 [^ ]+ is in the layers below" \
	&& ! err_has "libsystemd0[^ ]* was requested"; then
	ok "libelogind0 on the default base: the conflict names libsystemd0 as the base's, not as requested"
else
	fail "libelogind0 on the default base: the conflict names libsystemd0 as the base's, not as requested" "$(pk_detail)"
fi
# another version of a base package asked for: apt-get installs it (here a
# downgrade, "Inst libc6 [NEW] (OLD …)"), so the lock's apt layer has it and
# the base's is replaced (tests/integration/27-apt-upgrade.sh compares the
# upgrade itself with dpkg)
basever=$(sed -n 's/^libc6=//p' "$T/base.ver" 2>/dev/null)
pk --offline --store "$S" lock --base scratch --apt libc6=0 -o "$T/x.lock"
other=$(grep -o 'available: [^)]*' "$PK_ERR" | sed 's/available: //; s/, /\n/g' | grep -vxF "$basever" | head -n 1)
if [ -z "$basever" ] || [ -z "$other" ]; then
	skip "another libc6 than the base's is installed over it" "the archive has one libc6 version"
elif ! lockset oldc --apt "libc6=$other"; then
	fail "another libc6 than the base's ($other) is installed over it, as apt-get does" "$(pk_detail)"
elif grep -qxF "libc6=$other" "$T/oldc.ver"; then
	ok "another libc6 than the base's ($other) is installed over it, as apt-get does"
else
	fail "another libc6 than the base's ($other) is installed over it, as apt-get does" \
		"$(grep -A1 'name: libc6$' "$T/oldc.lock")"
fi
finish
