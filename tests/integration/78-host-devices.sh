#!/bin/bash
# What install --root and export --dir write onto the host (issue 15), with a
# fixture package (hermetic: the fixture apt repository plus one .deb made
# here) that ships a character device node (/dev/pkgimg-null, 1:3), a
# world-writable setuid file (/usr/bin/ww-suid, 4777) and an ordinary setuid
# one (/usr/bin/ok-suid, 4755):
#   - by default both refuse the device node, naming the file and
#     --allow-devices, and leave nothing behind (no DIR, no DIR.tmp-*);
#   - with --allow-devices the node is written; ww-suid lands without its
#     setuid bit (a warning names it), ok-suid keeps its own;
#   - the target stays 0700 until complete: strace shows no chmod/mkdir of
#     the target (or its temporary) to another mode before the last file is
#     created in it, on an image of two layers;
#   - --allow-devices without --root / --dir is a usage error.
# Needs root (mknod for the fixture); strace for the 0700 check.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
[ "$(id -u)" = 0 ] || { skip "host devices" "needs root to make a device node in the fixture"; finish; }
setup_fixture
S=$T/store

# the fixture package, added to a copy of the repository and signed again
REPO2=$(fixture_variant devs)
D=$T/deb/devnode-fixture
mkdir -p "$D/DEBIAN" "$D/dev" "$D/usr/bin" "$D/usr/share/devnode-fixture"
mknod "$D/dev/pkgimg-null" c 1 3
printf '#!/bin/sh\necho ww\n' >"$D/usr/bin/ww-suid" && chmod 4777 "$D/usr/bin/ww-suid"
printf '#!/bin/sh\necho ok\n' >"$D/usr/bin/ok-suid" && chmod 4755 "$D/usr/bin/ok-suid"
for i in $(seq 1 40); do echo "file $i" >"$D/usr/share/devnode-fixture/f$i.txt"; done
cat >"$D/DEBIAN/control" <<EOF
Package: devnode-fixture
Version: 1.0
Architecture: amd64
Maintainer: pkgimg tests <test@invalid>
Installed-Size: 8
Priority: optional
Section: misc
Description: a device node and a world-writable setuid file
 A pkgimg test fixture (tests/integration/78-host-devices.sh).
EOF
mkdir -p "$REPO2/pool/main/d/devnode-fixture"
dpkg-deb --root-owner-group -Zgzip --build "$D" "$REPO2/pool/main/d/devnode-fixture/devnode-fixture_1.0_amd64.deb" >/dev/null \
	|| bail "fixture: dpkg-deb" "cannot build the .deb"
fixture_reindex "$REPO2" --scan
export FX_URL=$HTTP_URL/devs

leftovers() { ls -d "$1" "$1".tmp-* 2>/dev/null; }

# an image of two layers: libgreet, then devnode-fixture on it
fx "$S" install --apt libgreet --tag lower
[ "$PK_RC" -eq 0 ] || bail "install --apt libgreet" "$(pk_detail)"
FX_BASE=lower fx "$S" install --apt devnode-fixture --tag devs
[ "$PK_RC" -eq 0 ] || bail "install --apt devnode-fixture" "$(pk_detail)"

# ---- refused by default ----
FX_BASE=lower fx "$S" install --apt devnode-fixture --root "$T/r1"
if [ "$PK_RC" -ne 0 ] && err_has "dev/pkgimg-null" && err_has "character device" \
	&& err_has "--allow-devices" && [ -z "$(leftovers "$T/r1")" ]; then
	ok "install --root refuses the device node (names it and --allow-devices), leaves nothing"
else
	fail "install --root refuses the device node, leaves nothing" "$(pk_detail)" "left: $(leftovers "$T/r1")" \
		"$(ls -l "$T/r1/dev" 2>&1)"
fi
pk --store "$S" export devs --dir "$T/e1"
if [ "$PK_RC" -ne 0 ] && err_has "dev/pkgimg-null" && err_has "--allow-devices" \
	&& [ -z "$(leftovers "$T/e1")" ]; then
	ok "export --dir refuses the device node (names it and --allow-devices), leaves nothing"
else
	fail "export --dir refuses the device node, leaves nothing" "$(pk_detail)" "left: $(leftovers "$T/e1")"
fi

# ---- written with --allow-devices; set-id bits of the world-writable file dropped ----
check_tree() {	# check_tree NAME DIR
	local name=$1 dir=$2 dev ww okm top
	dev=$(stat -c '%F %t:%T' "$dir/dev/pkgimg-null" 2>&1)
	ww=$(stat -c '%a' "$dir/usr/bin/ww-suid" 2>&1)
	okm=$(stat -c '%a' "$dir/usr/bin/ok-suid" 2>&1)
	top=$(stat -c '%a' "$dir" 2>&1)
	if [ "$PK_RC" -eq 0 ] && [ "$dev" = "character special file 1:3" ]; then
		ok "$name --allow-devices writes the device node"
	else
		fail "$name --allow-devices writes the device node" "$(pk_detail)" "dev: $dev"
	fi
	if [ "$ww" = 777 ] && [ "$okm" = 4755 ] && err_has "ww-suid" && err_has "setuid"; then
		ok "$name: the world-writable setuid file lands without setuid (warned), ok-suid keeps 4755"
	else
		fail "$name: the world-writable setuid file loses setuid" "ww-suid: $ww ok-suid: $okm" "$(cat "$PK_ERR")"
	fi
	[ "$top" = 755 ] && [ -z "$(ls -d "$dir".tmp-* 2>/dev/null)" ] \
		&& ok "$name: the complete tree is opened up to its mode (755), no temporary left" \
		|| fail "$name: the complete tree is opened up to its mode" "mode $top" "$(ls -d "$dir"* 2>&1)"
}
FX_BASE=lower fx "$S" install --apt devnode-fixture --root "$T/r2" --allow-devices
check_tree "install --root" "$T/r2"
pk --store "$S" export devs --dir "$T/e2" --allow-devices
check_tree "export --dir" "$T/e2"

# ---- 0700 while in progress ----
# prints the first syscall that opens the target (or its temporary) to a mode
# other than 0700 before the last file is made in it; nothing when none
early_open() {	# early_open TRACE DIR
	"$PY" - "$1" "$2" <<'EOF'
import re, sys
trace, target = sys.argv[1], sys.argv[2]
lines = open(trace, encoding="utf-8", errors="replace").read().splitlines()
root = re.compile(re.escape(target) + r"(\.tmp-[A-Za-z0-9]{6})?")
last_create, opens = -1, []
for i, l in enumerate(lines):
    m = re.search(r'^\d+\s+(\w+)\((.*)\)\s+=\s+(-?\d+)', l)
    if not m or m.group(3).startswith("-"):
        continue
    call, args = m.group(1), m.group(2)
    # -y: fds are shown as N</path>
    inside = re.search(r'<' + re.escape(target) + r'(\.tmp-[A-Za-z0-9]{6})?(/[^>]*)?>', args) or \
             re.search(r'"' + re.escape(target) + r'(\.tmp-[A-Za-z0-9]{6})?/', args)
    if inside and (call in ("mkdirat", "mknodat", "symlinkat", "linkat") or
                   (call in ("openat", "open") and "O_CREAT" in args)):
        last_create = i
    # the root itself: mkdir("T", MODE), fchmod(N<T>, MODE), chmod("T", MODE)
    rm = re.search(r'^"(' + re.escape(target) + r'(?:\.tmp-[A-Za-z0-9]{6})?)", (0\d+)', args) or \
         re.search(r'^\d+<(' + re.escape(target) + r'(?:\.tmp-[A-Za-z0-9]{6})?)>, (0\d+)', args)
    if rm and call in ("mkdir", "fchmod", "chmod", "fchmodat") and int(rm.group(2), 8) & 0o077:
        opens.append((i, l))
for i, l in opens:
    if i < last_create:
        print(l)
        break
if last_create < 0:
    print("no file creation seen in the trace")
EOF
}
if ! command -v strace >/dev/null; then
	skip "the target stays 0700 until complete" "strace is not installed"
else
	# LeakSanitizer cannot run under ptrace (an ASan build of pkgimg)
	export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
	strace -f -qq -y -o "$T/trace-e3" -e trace=mkdir,mkdirat,mknodat,symlinkat,linkat,open,openat,chmod,fchmod,fchmodat,rename,renameat,renameat2 \
		"$PKGIMG" --store "$S" export devs --dir "$T/e3" --allow-devices >/dev/null 2>"$T/e3.err"
	rc=$?
	early=$(early_open "$T/trace-e3" "$T/e3")
	[ "$rc" -eq 0 ] && [ -z "$early" ] \
		&& ok "export --dir: the target stays 0700 until its last file is written" \
		|| fail "export --dir: the target stays 0700 until its last file is written" "rc $rc: $(head -3 "$T/e3.err")" "$early"
	strace -f -qq -y -o "$T/trace-r3" -e trace=mkdir,mkdirat,mknodat,symlinkat,linkat,open,openat,chmod,fchmod,fchmodat,rename,renameat,renameat2 \
		"$PKGIMG" --store "$S" install --base lower --apt-source "$FX_URL/ $SUITE $COMPONENT" --keyring "$KEYRING" \
		--apt devnode-fixture --root "$T/r3" --allow-devices >/dev/null 2>"$T/r3.err"
	rc=$?
	early=$(early_open "$T/trace-r3" "$T/r3")
	[ "$rc" -eq 0 ] && [ -z "$early" ] \
		&& ok "install --root: the target stays 0700 until its last file is written" \
		|| fail "install --root: the target stays 0700 until its last file is written" "rc $rc: $(head -3 "$T/r3.err")" "$early"
fi

# ---- usage ----
pk --store "$S" export devs --oci "$T/o1" --allow-devices
[ "$PK_RC" -eq 2 ] && err_has "--allow-devices goes with --dir" \
	&& ok "export --oci --allow-devices is a usage error" \
	|| fail "export --oci --allow-devices is a usage error" "$(pk_detail)"
FX_BASE=lower fx "$S" install --apt devnode-fixture --allow-devices
[ "$PK_RC" -eq 2 ] && err_has "--allow-devices goes with install --root" \
	&& ok "install --allow-devices without --root is a usage error" \
	|| fail "install --allow-devices without --root is a usage error" "$(pk_detail)"
finish
