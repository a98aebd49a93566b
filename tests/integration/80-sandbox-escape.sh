#!/bin/bash
# The sandbox is a boundary as root (issue 15).  tests/probe/escape.c, built
# static here, tries every way out that host root's capabilities gave a
# command (remounting the /etc/hosts bind, open_by_handle_at on the host's
# root inode to read /etc/shadow and write a canary, /sys read-write,
# unmounting /proc/sys, cgroup2, block and character device nodes, raw
# sockets and SIOCSIFFLAGS on the host's interfaces, ptrace of a more
# privileged pid 1, the host root's keyring, module loading, kexec, bpf,
# reboot, the clock, TIOCSTI, /proc/kcore and /proc/keys):
#   - inside `pkgimg run` as root: every attempt refused, the canary intact;
#   - the peer: the same probe in `podman run` (rootful, runc): whatever it
#     refuses, pkgimg refuses too (skips where podman cannot run);
#   - inside `pkgimg run --privileged`: the difference (capabilities, the
#     remount and, on ext4, the canary written through a handle);
#   - rootless (as nobody, when user namespaces allow it): every attempt
#     refused;
#   - inside a maintainer script (postinst of a package installed on the
#     debian-slim base from the real archive; skips when it is unreachable):
#     every attempt refused, and under --privileged (another layer: its key
#     says so) the difference.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
[ "$(id -u)" = 0 ] || { skip "the sandbox as root" "needs root"; finish; }
command -v cc >/dev/null || bail "cc present" "no C compiler"
mkdir -p "$T/probe"
out=$(cc -static -O2 -o "$T/probe/escape" "$SRC/tests/probe/escape.c" 2>&1) \
	|| bail "the probe builds static" "$out"
chmod 0755 "$T" "$T/probe"

setup_fixture
S=$T/store
fx "$S" install --apt libgreet --tag img
[ "$PK_RC" -eq 0 ] || bail "install --apt libgreet (an image to run the probe in)" "$(pk_detail)"

CANARY=$T/canary
echo untouched >"$CANARY"
mnt=$(stat -c %m "$CANARY")
REL=${CANARY#"$mnt"}; REL=${REL#/}
FSTYPE=$(stat -f -c %T "$CANARY")

# report NAME FILE: one check per attempt; "refused" and "n/a" pass
report() {	# report CONTEXT FILE
	local ctx=$1 f=$2 line n=0
	while IFS= read -r line; do
		case $line in
		"refused "*) ok "$ctx: ${line%%: *}"; n=$((n + 1)) ;;
		"n/a "*) skip "$ctx: ${line#n/a }" "not applicable here" ;;
		"ESCAPED "*) fail "$ctx: ${line#ESCAPED }" "$line"; n=$((n + 1)) ;;
		esac
	done <"$f"
	grep -q '^escaped ' "$f" || fail "$ctx: the probe ran to the end" "$(cat "$f")"
	echo "# $ctx: $(grep -c '^refused ' "$f") of $n attempts refused"
}

canary_intact() {	# canary_intact CONTEXT
	if [ "$(cat "$CANARY")" = untouched ]; then ok "$1: the host's canary is untouched"
	else fail "$1: the host's canary is untouched" "it holds: $(cat "$CANARY")"; fi
}

# ---- pkgimg run, as root -----------------------------------------------------------------
pk --store "$S" run -v "$T/probe:/probe:ro" img -- /probe/escape "$REL"
cp "$PK_OUT" "$T/run.txt"
[ "$PK_RC" -eq 0 ] || fail "run: the probe runs" "$(pk_detail)"
report "run as root" "$T/run.txt"
canary_intact "run as root"

# ---- the peer: podman run (rootful, runc), the same probe -------------------------------------
# Every attempt that a rootful container engine refuses, pkgimg must refuse
# too; where pkgimg is stricter (it sets no_new_privs, and refuses keyctl and
# new user namespaces, as Docker's profile does) the test names it.
peer_ok=false
if command -v podman >/dev/null && command -v runc >/dev/null; then
	P=$T/podman
	mkdir -p "$P/img"
	cp "$T/probe/escape" "$P/img/escape"
	podman_() { podman --root "$P/root" --runroot "$P/run" --storage-driver vfs --runtime runc "$@"; }
	if tar -C "$P/img" -cf "$P/img.tar" . && podman_ import -q "$P/img.tar" localhost/pkgimg-probe:1 >"$P/import.log" 2>&1 \
		&& podman_ run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network host \
			localhost/pkgimg-probe:1 /escape "$REL" >"$T/podman.txt" 2>"$P/run.err" \
		&& grep -q '^escaped ' "$T/podman.txt"; then
		peer_ok=true
	else
		skip "podman run: the same probe in a rootful container engine" \
			"podman cannot run a container here: $(tail -n 1 "$P/run.err" "$P/import.log" 2>/dev/null | tr '\n' ' ')"
	fi
else
	skip "podman run: the same probe in a rootful container engine" "no podman or runc"
fi
if $peer_ok; then
	weaker= stricter=
	while IFS= read -r line; do
		name=${line#refused }; name=${name%%: *}
		grep -q "^refused $name: " "$T/run.txt" || weaker+="$name"$'\n'
	done < <(grep '^refused ' "$T/podman.txt")
	while IFS= read -r line; do
		name=${line#ESCAPED }; name=${name%%: *}
		grep -q "^refused $name: " "$T/run.txt" && stricter+="$name; "
	done < <(grep '^ESCAPED ' "$T/podman.txt")
	if [ -z "$weaker" ]; then
		ok "podman run (rootful, runc) refuses $(grep -c '^refused ' "$T/podman.txt") attempts; pkgimg run refuses each of them too (pkgimg is stricter on: ${stricter:-nothing})"
	else
		fail "pkgimg run refuses whatever podman run refuses" "podman refuses, pkgimg does not:" "$weaker"
	fi
fi

# ---- pkgimg run --privileged: the difference ------------------------------------------------
pk --store "$S" run --privileged -v "$T/probe:/probe:ro" img -- /probe/escape "$REL"
cp "$PK_OUT" "$T/priv.txt"
if [ "$PK_RC" -eq 0 ] && grep -q '^ESCAPED capabilities' "$T/priv.txt" \
	&& grep -q '^ESCAPED remount /etc/hosts' "$T/priv.txt" && grep -q '^ESCAPED no_new_privs' "$T/priv.txt"; then
	ok "run --privileged: the probe holds root's capabilities and remounts ($(grep -c '^ESCAPED' "$T/priv.txt") escapes)"
else
	fail "run --privileged: the probe holds root's capabilities and remounts" "$(pk_detail)"
fi
if grep -q 'warning: --privileged' "$PK_ERR"; then ok "run --privileged warns"
else fail "run --privileged warns" "$(cat "$PK_ERR")"; fi
if [ "$FSTYPE" = ext2/ext3 ]; then
	if grep -q '^ESCAPED write the host' "$T/priv.txt" && [ "$(cat "$CANARY")" = escaped ]; then
		ok "run --privileged: the canary is written through a file handle (what the default refuses)"
	else
		fail "run --privileged: the canary is written through a file handle" "$(cat "$T/priv.txt")"
	fi
else
	skip "run --privileged: the canary through a file handle" "the store is on $FSTYPE, not ext4"
fi
echo untouched >"$CANARY"

# ---- rootless -----------------------------------------------------------------------------
if command -v setpriv >/dev/null && [ "$(cat /proc/sys/user/max_user_namespaces 2>/dev/null || echo 0)" -gt 0 ]; then
	U=$T/nobody
	mkdir -p "$U" && chown 65534:65534 "$U"
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$U" "$@"; }
	if asnobody "$PKGIMG" --store "$U/store" install --base scratch --apt-source "$REPO_URL/ $SUITE $COMPONENT" \
		--keyring "$KEYRING" --apt libgreet --tag img >"$U/install.out" 2>&1; then
		asnobody "$PKGIMG" --store "$U/store" run -v "$T/probe:/probe:ro" img -- /probe/escape "$REL" \
			>"$T/rootless.txt" 2>"$U/run.err"
		report "rootless run" "$T/rootless.txt"
		canary_intact "rootless run"
	else
		skip "rootless run" "install as nobody failed: $(tail -n 2 "$U/install.out")"
	fi
else
	skip "rootless run" "no setpriv or no user namespaces"
fi

# ---- a maintainer script (the real archive) --------------------------------------------------
if ! archive_reachable; then
	skip "a postinst as root" "archive unreachable"
	finish
fi
read -r A_URI A_SUITE A_COMP A_KEYRING < <(archive_mirror)
V=$(fixture_variant probe)
D=$T/deb
mkdir -p "$D/DEBIAN" "$D/usr/lib/pkgimg-probe" "$D/etc"
cp "$T/probe/escape" "$D/usr/lib/pkgimg-probe/escape"
printf '%s\n' "$REL" >"$D/etc/pkgimg-probe-canary"
printf '#!/bin/sh\n/usr/lib/pkgimg-probe/escape -o /var/lib/pkgimg-probe.txt\n' >"$D/DEBIAN/postinst"
chmod 0755 "$D/DEBIAN/postinst"
cat >"$D/DEBIAN/control" <<EOF
Package: pkgimg-probe
Version: 1.0
Architecture: amd64
Maintainer: pkgimg tests <test@invalid>
Priority: optional
Section: misc
Description: pkgimg-probe, a pkgimg test fixture
 Tries to leave the sandbox from its postinst.
EOF
mkdir -p "$V/pool/main/p/pkgimg-probe"
dpkg-deb --root-owner-group --build "$D" "$V/pool/main/p/pkgimg-probe/pkgimg-probe_1.0_amd64.deb" >/dev/null \
	|| bail "build pkgimg-probe.deb" "dpkg-deb failed"
fixture_reindex "$V" --scan
cat "$A_KEYRING" "$KEYRING" >"$T/both.gpg"

script_probe() {	# script_probe CONTEXT OUT [install options...]
	local ctx=$1 o=$2; shift 2
	pk --store "$T/store-s" install "$@" --apt-source "$A_URI $A_SUITE $A_COMP" \
		--apt-source "$HTTP_URL/probe/ $SUITE $COMPONENT" --keyring "$T/both.gpg" \
		--apt pkgimg-probe --tag probe
	if [ "$PK_RC" -ne 0 ]; then
		archive_reachable || { skip "$ctx" "archive unreachable"; return 1; }
		fail "$ctx: install --apt pkgimg-probe on debian-slim" "$(pk_detail)"
		return 1
	fi
	pk --store "$T/store-s" run probe -- cat /var/lib/pkgimg-probe.txt
	cp "$PK_OUT" "$o"
}
if script_probe "a postinst as root" "$T/script.txt"; then
	report "a postinst as root" "$T/script.txt"
	canary_intact "a postinst as root"
	if script_probe "a postinst --privileged" "$T/script-priv.txt" --privileged \
		&& grep -q '^ESCAPED capabilities' "$T/script-priv.txt"; then
		ok "a postinst --privileged holds root's capabilities ($(grep -c '^ESCAPED' "$T/script-priv.txt") escapes)"
	else
		fail "a postinst --privileged holds root's capabilities" "$(cat "$T/script-priv.txt" 2>&1)"
	fi
	echo untouched >"$CANARY"
fi
finish
