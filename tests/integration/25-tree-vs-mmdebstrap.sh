#!/bin/bash
# The configured tree against mmdebstrap's, file by file, on the real Debian
# archive (the host's apt sources, read at run time): pkgimg builds man-db,
# ca-certificates and nginx-light as one layer over the default base and
# python3 + curl as a second (--root: the merged tree); mmdebstrap
# --variant=essential --include= the same five.  Compared: the file list,
# types, modes, owners, symlink targets, hard-link groups and the bytes of
# regular files, except the allowed differences listed below with their
# reasons; every dpkg status entry; and that layer 2 fired the triggers of
# layer 1 (man-db's index knows python3's man page).
#
# The package sets may differ while the apt resolver is being made apt's
# (issue 17 A-D: gawk for mawk, libelogind0 for libsystemd0): such a
# difference is reported as one "skip ... pending resolver fix" line, and
# the files of packages only one side installed, and the generated files
# that list them, are left out of the comparison.
#
# Warm runtime: the .debs of both sides and apt's lists are kept in
# $PKGIMG_TEST_CACHE (default ~/.cache/pkgimg-test)/25-tree.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
NAME="tree of man-db, ca-certificates, nginx-light | python3, curl equals mmdebstrap's"
command -v mmdebstrap >/dev/null || { skip "$NAME" "mmdebstrap is not installed (apt-get install mmdebstrap)"; finish; }
[ "$(id -u)" -eq 0 ] || { skip "$NAME" "mmdebstrap's root mode needs root"; finish; }
archive_reachable || { skip "$NAME" "archive unreachable"; finish; }

CACHE=${PKGIMG_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pkgimg-test}/25-tree
mkdir -p "$CACHE/debs" "$CACHE/blobs" "$T/store/blobs/sha256"
S=$T/store
cp -al "$CACHE/blobs/." "$S/blobs/sha256/" 2>/dev/null

# ---- pkgimg: two layers --------------------------------------------------
pk --store "$S" install --apt man-db --apt ca-certificates --apt nginx-light --tag l1
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "$NAME" "archive unreachable"; finish; }
	bail "install layer 1 (man-db ca-certificates nginx-light)" "$(pk_detail)"
fi
L1=$(cat "$PK_OUT")
pk --store "$S" install --base l1 --apt python3 --apt curl --tag l2 --root "$T/pk"
[ "$PK_RC" -eq 0 ] || bail "install layer 2 (python3 curl) --root" "$(pk_detail)"
L2=$(cat "$PK_OUT")
cp -al "$S/blobs/sha256/." "$CACHE/blobs/" 2>/dev/null
ok "pkgimg: layer 1 ${L1:7:12} (man-db ca-certificates nginx-light), layer 2 ${L2:7:12} (python3 curl)"

# ---- mmdebstrap on the same sources ----------------------------------------
# Its tree is kept (tar.zst) under a key of what decides it: the archive's
# InRelease files of every source, mmdebstrap's version and its arguments.
# A new archive state builds it again (about 3 minutes here; dpkg's fsyncs
# off, which changes no file).
: >"$T/mm.sources"
: >"$T/mm.key"
MMARGS="--variant=essential --include=man-db,ca-certificates,nginx-light,python3,curl"
echo "$MMARGS $(mmdebstrap --version)" >>"$T/mm.key"
archive_mirror --all >"$T/mirrors"
while read -r uri suite comp keyring; do
	echo "deb [signed-by=$keyring] $uri $suite $comp" >>"$T/mm.sources"
	fetch_url "$uri/dists/$suite/InRelease" "$T/InRelease" 20 || { skip "$NAME" "archive unreachable"; finish; }
	sha256sum <"$T/InRelease" >>"$T/mm.key"
done <"$T/mirrors"
read -r _ SUITE _ _ <"$T/mirrors"
MMTAR=$CACHE/mm-$(sha256sum <"$T/mm.key" | cut -c1-16).tar.zst
mkdir -p "$T/mm"
if [ -s "$MMTAR" ] && tar --numeric-owner --xattrs -I zstd -xpf "$MMTAR" -C "$T/mm"; then
	ok "mmdebstrap $MMARGS (its tree for this archive state, kept from an earlier run)"
else
	t0=$(date +%s)
	mkdir -p "$CACHE/lists"
	# shellcheck disable=SC2086
	mmdebstrap --quiet $MMARGS --dpkgopt=force-unsafe-io \
		--skip=cleanup/apt/cache --skip=cleanup/apt/lists --skip=essential/unlink \
		--setup-hook='mkdir -p "$1"/var/cache/apt/archives/ "$1"/var/lib/apt/lists/' \
		--setup-hook="sync-in $CACHE/debs /var/cache/apt/archives/" \
		--setup-hook="sync-in $CACHE/lists /var/lib/apt/lists/" \
		--customize-hook="sync-out /var/cache/apt/archives $CACHE/debs" \
		--customize-hook="sync-out /var/lib/apt/lists $CACHE/lists" \
		--customize-hook='rm -rf "$1"/var/cache/apt/archives "$1"/var/lib/apt/lists' \
		"$SUITE" "$T/mm" - <"$T/mm.sources" >"$T/mm.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		archive_reachable || { skip "$NAME" "archive unreachable"; finish; }
		bail "mmdebstrap $MMARGS" "exit status $rc" "$(tail -n 20 "$T/mm.log")"
	fi
	rm -f "$CACHE"/mm-*.tar.zst
	tar --numeric-owner --xattrs -I zstd -cf "$MMTAR.tmp" -C "$T/mm" . && mv "$MMTAR.tmp" "$MMTAR"
	ok "mmdebstrap $MMARGS ($(( $(date +%s) - t0 )) s)"
fi

# ---- triggers across layers ---------------------------------------------------
top="$S/layers/${L2#sha256:}/tree"
if [ -f "$top/var/cache/man/index.db" ]; then
	ok "layer 2 ran man-db's trigger of layer 1 (its tree has a new var/cache/man/index.db)"
else
	fail "layer 2 ran man-db's trigger of layer 1 (its tree has a new var/cache/man/index.db)" \
		"$(find "$top/var" -maxdepth 3 | head -n 20)"
fi
pk --store "$S" run l2 -- whatis python3
if [ "$PK_RC" -eq 0 ] && grep -q '^python3 (1)' "$PK_OUT"; then
	ok "whatis python3 finds layer 2's man page (the man index is not stale)"
else
	fail "whatis python3 finds layer 2's man page (the man index is not stale)" "$(pk_detail)"
fi
for f in File update-ca-certificates nginx-reload; do
	if [ -s "$T/pk/var/lib/dpkg/triggers/$f" ]; then
		ok "the interests of layer 1 are registered: var/lib/dpkg/triggers/$f"
	else
		fail "the interests of layer 1 are registered: var/lib/dpkg/triggers/$f" \
			"$(ls -l "$T/pk/var/lib/dpkg/triggers/")"
	fi
done

# ---- the scripts' clock: SOURCE_DATE_EPOCH is the newest file of the layer's packages
pk --store "$S" install --base l2 --apt passwd --apt adduser --root "$T/pw"
if [ "$PK_RC" -eq 0 ]; then
	day=$(awk -F: '$1 == "root" { print $3 }' "$T/pw/etc/shadow")
	want=$("$PY" - "$S/layers/$(sed 's/^sha256://' "$PK_OUT")/tree" <<'EOF'
import glob, os, sys
root, newest = sys.argv[1], 0
for lst in glob.glob(root + "/var/lib/dpkg/info/*.list"):
    for l in open(lst):
        for p in (root + l.strip(), root + "/usr" + l.strip()):
            if os.path.lexists(p) and not os.path.isdir(p):
                newest = max(newest, int(os.lstat(p).st_mtime))
                break
print(newest // 86400)
EOF
)
	if [ -n "$day" ] && [ "$day" = "$want" ]; then
		ok "/etc/shadow's last change is the day of the layer's newest package ($day)"
	else
		fail "/etc/shadow's last change is the day of the layer's newest package" \
			"root's field: '$day', the layer's newest file: day $want" "$(head -n 3 "$T/pw/etc/shadow")"
	fi
	left=$(ls -A "$T/pw/run" | grep -vx lock)
	if [ -z "$left" ]; then
		ok "nothing left in /run but /run/lock (adduser's lock is gone)"
	else
		fail "nothing left in /run but /run/lock (adduser's lock is gone)" "$left"
	fi
else
	fail "install --apt passwd --apt adduser over layer 2" "$(pk_detail)"
fi

# ---- file by file ------------------------------------------------------------
"$PY" - "$T/mm" "$T/pk" >"$T/cmp.out" 2>&1 <<'EOF'
import collections, glob, hashlib, os, stat, sys

mm, pk = sys.argv[1], sys.argv[2]

# What only mmdebstrap's tree has, or has otherwise, by design: its own
# setup, apt's state from running apt, and what its install order makes.
ALLOWED = [
    ("/dev/", "mmdebstrap creates device nodes; pkgimg's sandbox gives /dev at run time and "
              "layers hold no devices"),
    ("/etc/apt/sources.list", "mmdebstrap writes the sources it used into the tree"),
    ("/etc/apt/sources.list.d/", "(as /etc/apt/sources.list)"),
    ("/etc/apt/preferences.d", "created by mmdebstrap's apt setup"),
    ("/etc/fstab", "mmdebstrap's setup file"),
    ("/etc/dpkg/dpkg.cfg.d/99mmdebstrap", "mmdebstrap's file for this test's --dpkgopt"),
    ("/etc/hostname", "mmdebstrap's setup file (copied from the host)"),
    ("/etc/resolv.conf", "mmdebstrap's setup file (copied from the host)"),
    ("/var/lib/apt/", "apt's state: mmdebstrap installs with apt, pkgimg without"),
    ("/var/cache/apt/", "apt's caches (mmdebstrap)"),
    ("/var/log/apt/", "apt's logs (mmdebstrap)"),
    ("/var/lib/dpkg/lock", "dpkg's lock files, created by the apt run inside mmdebstrap"),
    ("/var/cache/man/", "man-db's index: gdbm files whose bytes depend on the order mandb "
                        "ran (once per layer here); checked by whatis instead"),
    ("/var/cache/debconf/templates.dat-old", "debconf's backup of the previous run: one run "
                                            "per layer here, two runs in mmdebstrap"),
    ("/var/cache/debconf/config.dat-old", "debconf's backup of the previous run (as above)"),
    ("/var/lib/dpkg/status-old", "dpkg's backup of the previous run (as above)"),
    ("/var/lib/dpkg/diversions-old", "dpkg's backup of the previous run (as above)"),
]
# Compared otherwise, with the reason.
SORTED = {
    "/etc/shells": "the same lines; mmdebstrap configures bash and dash before usrmerge "
                   "converts /bin (so /bin/* first, /usr/bin/* appended later), pkgimg "
                   "creates merged /usr first, as debootstrap does",
}
LINK_ALLOWED = {
    "/usr/bin/gunzip": "gzip ships uncompress as a hard link to gunzip (dpkg and pkgimg keep "
                       "it); usrmerge's /bin conversion in mmdebstrap copies them apart",
    "/usr/bin/uncompress": "(as /usr/bin/gunzip)",
}

def allowed(p):
    return any(p == a.rstrip("/") or (a.endswith("/") and p.startswith(a)) for a, _ in ALLOWED)

def status(root):
    out, cur = {}, []
    for line in open(root + "/var/lib/dpkg/status", encoding="utf-8") .read().split("\n\n"):
        if line.strip():
            f = dict(l.split(": ", 1) for l in line.splitlines() if ": " in l and l[0] != " ")
            out[(f["Package"], f.get("Architecture"))] = line.strip()
    return out

def owned(root, pkgs):
    """path -> (package, arch), from info/*.list, the merged-/usr paths too."""
    own = {}
    for (name, arch) in pkgs:
        for cand in (name + ":" + (arch or ""), name):
            f = root + "/var/lib/dpkg/info/" + cand + ".list"
            if os.path.exists(f):
                for l in open(f, encoding="utf-8", errors="replace"):
                    l = l.rstrip("\n")
                    own[l] = (name, arch)
                    top = l.split("/")[1] if l.count("/") > 1 else ""
                    if top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
                        own["/usr" + l] = (name, arch)
                break
    return own

def scan(root):
    ent, inodes = {}, collections.defaultdict(list)
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            p = os.path.join(dp, n)
            rel = "/" + os.path.relpath(p, root)
            st = os.lstat(p)
            e = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)),
                 "owner": (st.st_uid, st.st_gid)}
            if stat.S_ISLNK(st.st_mode):
                e["target"] = os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                h = hashlib.sha256()
                with open(p, "rb") as f:
                    for b in iter(lambda: f.read(1 << 20), b""):
                        h.update(b)
                e["sha256"] = h.hexdigest()
                if st.st_nlink > 1:
                    inodes[(st.st_dev, st.st_ino)].append(rel)
            ent[rel] = e
    groups = {}
    for g in inodes.values():
        if len(g) > 1:
            for p in g:
                groups[p] = tuple(sorted(g))
    return ent, groups

smm, spk = status(mm), status(pk)
def ver(s, k):
    return [l for l in s[k].splitlines() if l.startswith("Version: ")]
common = {k for k in smm.keys() & spk.keys() if ver(smm, k) == ver(spk, k)}
only_mm = sorted(k[0] for k in smm.keys() - common)
only_pk = sorted(k[0] for k in spk.keys() - common)
same_set = not only_mm and not only_pk
print("SET", "same" if same_set else
      "only in pkgimg: %s; only in mmdebstrap: %s" % (" ".join(only_pk), " ".join(only_mm)))

bad = []
for k in sorted(common):
    if smm[k] != spk[k]:
        bad.append("status entry of %s differs:\n  mm: %s\n  pk: %s" % (k[0], smm[k], spk[k]))
print("STATUS", len(common), "common entries compared")

own_mm, own_pk = owned(mm, smm), owned(pk, spk)
def side_only(p):
    """a path of a package only one side installed (or its dpkg info files)"""
    o = own_mm.get(p) or own_pk.get(p)
    if o is not None and o not in common:
        return True
    if p.startswith("/var/lib/dpkg/info/"):
        base = p[len("/var/lib/dpkg/info/"):].rsplit(".", 1)[0]
        name, _, arch = base.partition(":")
        return not any(k[0] == name for k in common)
    return False

# generated files that name the packages installed: compared when the sets are equal
SET_DEPENDENT = ("/etc/ld.so.cache", "/var/lib/dpkg/status", "/etc/alternatives/",
                 "/var/lib/dpkg/alternatives/")
def set_dependent(p):
    return any(p == d or (d.endswith("/") and p.startswith(d)) for d in SET_DEPENDENT)

a, ga = scan(mm)
b, gb = scan(pk)
nfiles = 0
for p in sorted(set(a) | set(b)):
    if allowed(p) or side_only(p):
        continue
    if set_dependent(p) and not same_set:
        continue
    if p == "/var/lib/dpkg/status":
        continue	# compared entry by entry above
    nfiles += 1
    if p not in a or p not in b:
        bad.append("%s only in %s" % (p, "pkgimg" if p in b else "mmdebstrap"))
        continue
    for key in ("type", "mode", "owner", "target"):
        if a[p].get(key) != b[p].get(key):
            bad.append("%s: %s %s (mmdebstrap) vs %s (pkgimg)" % (p, key, a[p].get(key), b[p].get(key)))
    if a[p].get("sha256") != b[p].get("sha256"):
        if p in SORTED:
            la = sorted(open(mm + p).read().splitlines())
            lb = sorted(open(pk + p).read().splitlines())
            if la == lb:
                continue
        bad.append("%s: contents differ" % p)
    if p not in LINK_ALLOWED:
        la = tuple(x for x in ga.get(p, ()) if not side_only(x))
        lb = tuple(x for x in gb.get(p, ()) if not side_only(x))
        if la != lb:
            bad.append("%s: hard links %s (mmdebstrap) vs %s (pkgimg)" % (p, la, lb))
print("FILES", nfiles, "paths compared")
for x in bad:
    print("BAD", x)
EOF
if ! grep -q '^FILES' "$T/cmp.out"; then
	fail "the comparison ran" "$(tail -n 20 "$T/cmp.out")"
	finish
fi
set_line=$(sed -n 's/^SET //p' "$T/cmp.out")
if [ "$set_line" = same ]; then
	ok "same package set as mmdebstrap"
else
	skip "same package set as mmdebstrap" "pending resolver fix (issue 17 A-D): $set_line"
fi
nbad=$(grep -c '^BAD' "$T/cmp.out")
summary="$(sed -n 's/^STATUS //p' "$T/cmp.out"), $(sed -n 's/^FILES //p' "$T/cmp.out")"
if [ "$nbad" -eq 0 ]; then
	ok "the tree equals mmdebstrap's ($summary; allowed differences listed in the test)"
else
	fail "the tree equals mmdebstrap's ($summary; $nbad differences)" \
		"$(grep '^BAD' "$T/cmp.out" | head -n 40)"
fi
finish
