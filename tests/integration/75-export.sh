#!/bin/bash
# pkgimg export IMAGE (--oci DIR | --tar FILE | --dir DIR), hermetic (the
# fixture apt repository, no network):
#   - images: "base" (install --base scratch --apt libgreet), "two" (install
#     --base base --apt hello-fixture), and "wh" on top of two: two layers
#     made by hand in the store (no pkgimg command makes a whiteout from a
#     fixture image: the fixture packages ship no shell to `rm` with), the
#     way a run step's overlay upper would look: a whiteout (0:0 character
#     device) deleting hello-fixture's README, an opaque directory
#     (trusted.overlay.opaque=y) replacing usr/share/doc/libgreet, a new file
#     with a hard link; then a config-only layer (empty tree; env, workdir,
#     entrypoint, cmd in its layer.yaml).  Their layer.yaml files are written
#     as cache/store.c writes them (key, parent, step, size, config lists);
#   - the layout: oci-layout, index.json (ref.name latest or --tag), every
#     blob named by its sha256, the manifest, the config (arch, os, Env,
#     WorkingDir, Entrypoint, Cmd, diff_ids, history with empty_layer);
#   - the layer tars: 0:0, no user/group names, no pax atime/ctime/mtime,
#     a parent before its children, whiteouts as .wh.<name> and .wh..wh..opq,
#     the hard link as a link entry;
#   - skopeo inspect oci:DIR and oci-archive:FILE; umoci unpack gives the
#     same tree as export --dir (diff -r, and types/modes/owners/links), the
#     whiteout and the opaque directory applied;
#   - --tar is the same layout as one deterministic archive;
#   - two stores built from scratch give the same manifest digest and the
#     same --tar bytes;
#   - errors: unknown image, a non-empty DIR (left alone, no temporary left),
#     two destinations, none, a bad --tag, --tar onto a directory.
# skopeo / umoci missing: those checks skip (the Makefile installs them).
# Whiteouts and trusted.* xattrs need root: without it the "wh" checks skip.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
SA=$T/store-a SB=$T/store-b
HAVE_SKOPEO=$(command -v skopeo || true)
HAVE_UMOCI=$(command -v umoci || true)
ROOT=false; [ "$(id -u)" = 0 ] && ROOT=true

is_digest() { [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]]; }
hex_of() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# make_wh STORE PARENT: the two hand-made layers on PARENT, tagged wh.
# Prints nothing; returns non-zero when the store refuses them.
make_wh() {
	local s=$1 parent=$2 kw kc d
	kw=sha256:$(hex_of "export-test whiteout layer on $parent")
	kc=sha256:$(hex_of "export-test config layer on $kw")
	d=$s/layers/${kw#sha256:}
	mkdir -p "$d/tree/usr/share/doc/hello-fixture" "$d/tree/usr/share/doc/libgreet" "$d/tree/etc" || return 1
	mknod "$d/tree/usr/share/doc/hello-fixture/README" c 0 0 || return 1
	"$PY" -c 'import os, sys
try:
    os.setxattr(sys.argv[1], "trusted.overlay.opaque", b"y")
except OSError:
    os.setxattr(sys.argv[1], "user.overlay.opaque", b"y")' "$d/tree/usr/share/doc/libgreet" || return 1
	echo "a note that replaces libgreet's docs" >"$d/tree/usr/share/doc/libgreet/NOTE"
	echo "added=1" >"$d/tree/etc/added.conf"
	ln "$d/tree/etc/added.conf" "$d/tree/etc/added-link.conf"
	ln -s added.conf "$d/tree/etc/added-symlink.conf"
	# a file capability (cap_net_raw, as ping's postinst sets) and a user
	# attribute; the export carries them as SCHILY.xattr records
	mkdir -p "$d/tree/usr/bin" && printf '#!/bin/sh\n' >"$d/tree/usr/bin/pinger" && chmod 0755 "$d/tree/usr/bin/pinger"
	"$PY" -c 'import os, struct, sys
os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))
os.setxattr(sys.argv[1], "user.pkgimg-test", b"kept")' "$d/tree/usr/bin/pinger" || return 1
	chmod 0644 "$d/tree/usr/share/doc/libgreet/NOTE" "$d/tree/etc/added.conf"
	find "$d/tree" -mindepth 1 -type d -exec chmod 0755 {} +
	find "$d/tree" -depth -exec touch -h -d @1700000000 {} +
	cat >"$d/layer.yaml" <<EOF
key: $kw
parent: $parent
step: "run: [rm /usr/share/doc/hello-fixture/README, replace /usr/share/doc/libgreet, add /etc/added.conf]"
size: 120
EOF
	d=$s/layers/${kc#sha256:}
	mkdir -p "$d/tree"
	cat >"$d/layer.yaml" <<EOF
key: $kc
parent: $kw
step: "env: {GREETING: hi}; workdir: /srv; entrypoint: [/bin/sh, -c]; cmd: [hello-fixture]"
size: 0
env: ["GREETING=hi", "PATH=/usr/bin:/bin"]
workdir: /srv
entrypoint: ["/bin/sh", "-c"]
cmd: ["hello-fixture"]
EOF
	"$PKGIMG" --store "$s" tag "$kc" wh >/dev/null
}

# hand_layer STORE PARENT TAG STEP: an empty hand-made layer on PARENT, tagged
# TAG; prints its tree directory
hand_layer() {
	local s=$1 parent=$2 tag=$3 step=$4 k d
	k=sha256:$(hex_of "export-test $tag on $parent")
	d=$s/layers/${k#sha256:}
	mkdir -p "$d/tree" || return 1
	printf 'key: %s\nparent: %s\nstep: "%s"\nsize: 0\n' "$k" "$parent" "$step" >"$d/layer.yaml"
	"$PKGIMG" --store "$s" tag "$k" "$tag" >/dev/null && echo "$d/tree"
}

# build_images STORE: base, two (and wh as root) in STORE; sets IMG_TWO
build_images() {
	local s=$1
	fx "$s" install --apt libgreet --tag base
	[ "$PK_RC" -eq 0 ] || return 1
	FX_BASE=base fx "$s" install --apt hello-fixture --tag two
	[ "$PK_RC" -eq 0 ] || return 1
	IMG_TWO=$(cat "$PK_OUT")
	if $ROOT; then make_wh "$s" "$IMG_TWO" || return 2; fi
	return 0
}

# layout_check DIR: prints what is wrong with the OCI layout in DIR
layout_check() {
	"$PY" - "$1" <<'EOF'
import hashlib, json, os, sys
d = sys.argv[1]
errs = []
def blob(dg):
    p = os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1])
    return open(p, "rb").read()
if open(os.path.join(d, "oci-layout")).read() != '{"imageLayoutVersion":"1.0.0"}':
    errs.append("oci-layout: %r" % open(os.path.join(d, "oci-layout")).read())
for f in sorted(os.listdir(os.path.join(d, "blobs", "sha256"))):
    h = hashlib.sha256(open(os.path.join(d, "blobs", "sha256", f), "rb").read()).hexdigest()
    if h != f:
        errs.append("blob %s has sha256 %s" % (f, h))
extra = sorted(set(os.listdir(d)) - {"oci-layout", "index.json", "blobs"})
if extra:
    errs.append("unexpected files in the layout: %s" % extra)
idx = json.load(open(os.path.join(d, "index.json")))
ms = idx.get("manifests", [])
if idx.get("schemaVersion") != 2 or len(ms) != 1:
    errs.append("index.json: %r" % idx)
else:
    m = ms[0]
    raw = blob(m["digest"])
    if len(raw) != m["size"] or m["mediaType"] != "application/vnd.oci.image.manifest.v1+json":
        errs.append("manifest descriptor %r (size %d)" % (m, len(raw)))
    man = json.loads(raw)
    if man.get("schemaVersion") != 2 or man.get("mediaType") != "application/vnd.oci.image.manifest.v1+json":
        errs.append("manifest: %r" % man)
    if raw != json.dumps(man, sort_keys=True, separators=(",", ":")).encode():
        errs.append("manifest is not compact JSON with sorted keys")
    craw = blob(man["config"]["digest"])
    cfg = json.loads(craw)
    if len(craw) != man["config"]["size"] or man["config"]["mediaType"] != "application/vnd.oci.image.config.v1+json":
        errs.append("config descriptor %r" % man["config"])
    for l in man["layers"]:
        if l["mediaType"] != "application/vnd.oci.image.layer.v1.tar" or len(blob(l["digest"])) != l["size"]:
            errs.append("layer descriptor %r" % l)
    if cfg["rootfs"] != {"type": "layers", "diff_ids": [l["digest"] for l in man["layers"]]}:
        errs.append("rootfs.diff_ids are not the (uncompressed) layers' digests: %r" % cfg["rootfs"])
    if cfg.get("architecture") != "amd64" or cfg.get("os") != "linux":
        errs.append("architecture/os: %r/%r" % (cfg.get("architecture"), cfg.get("os")))
    if sum(1 for h in cfg["history"] if not h.get("empty_layer")) != len(man["layers"]):
        errs.append("history entries without empty_layer != layers: %r" % cfg["history"])
    if "created" in cfg or any("created" in h for h in cfg["history"]):
        errs.append("the config carries a timestamp")
print("\n".join(errs))
EOF
}

# config_get DIR EXPR: EXPR evaluated with cfg (the image config), man, idx
config_get() {
	"$PY" - "$1" "$2" <<'EOF'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
b = lambda dg: open(os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1]), "rb").read()
man = json.loads(b(idx["manifests"][0]["digest"]))
cfg = json.loads(b(man["config"]["digest"]))
print(json.dumps(eval(sys.argv[2])))
EOF
}

# tar_check DIR: prints what is wrong with the layer tars of the layout
tar_check() {
	"$PY" - "$1" <<'EOF'
import json, os, sys, tarfile
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
bp = lambda dg: os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1])
man = json.load(open(bp(idx["manifests"][0]["digest"])))
errs = []
for l in man["layers"]:
    seen = set()
    with tarfile.open(bp(l["digest"])) as t:
        for m in t.getmembers():
            n = m.name
            if n.startswith("/") or n.startswith("./") or ".." in n.split("/"):
                errs.append("%s: bad name" % n)
            if m.uid or m.gid or m.uname or m.gname:
                errs.append("%s: owner %d:%d %r:%r" % (n, m.uid, m.gid, m.uname, m.gname))
            if set(m.pax_headers) - {"path", "linkpath", "SCHILY.xattr.security.capability", "SCHILY.xattr.user.pkgimg-test"}:
                errs.append("%s: pax headers %r" % (n, m.pax_headers))
            parent = n.rsplit("/", 1)[0] if "/" in n else ""
            if parent and parent not in seen:
                errs.append("%s: comes before its directory" % n)
            if m.ischr() or m.isblk() or m.isfifo():
                errs.append("%s: a device or fifo" % n)
            if m.islnk() and m.linkname not in seen:
                errs.append("%s: hard link to %s, which is not earlier in the layer" % (n, m.linkname))
            seen.add(n)
print("\n".join(errs[:20]))
EOF
}

# tar_names DIR: "LAYER-INDEX TYPE NAME -> LINK" of every layer entry
tar_names() {
	"$PY" - "$1" <<'EOF'
import json, os, sys, tarfile
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
bp = lambda dg: os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1])
man = json.load(open(bp(idx["manifests"][0]["digest"])))
for i, l in enumerate(man["layers"]):
    with tarfile.open(bp(l["digest"])) as t:
        for m in t.getmembers():
            print(i, m.type.decode(), m.size, m.mtime, m.name, "->", m.linkname)
EOF
}

# meta ROOT: type, mode, owner, link target (and mtime of non-directories)
# of every path under ROOT, sorted
meta() {
	"$PY" - "$1" <<'EOF'
import os, stat, sys
root = sys.argv[1]
out = []
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        line = "%s %o %d:%d" % (os.path.relpath(p, root), st.st_mode, st.st_uid, st.st_gid)
        if stat.S_ISLNK(st.st_mode):
            line += " -> " + os.readlink(p)
        if not stat.S_ISDIR(st.st_mode):
            line += " mtime=%d" % int(st.st_mtime)
        out.append(line)
print("\n".join(sorted(out)))
EOF
}

# ---- the images --------------------------------------------------------------------------
build_images "$SA"; rc=$?
[ "$rc" -eq 1 ] && bail "install the images base and two from the fixture repository" "$(pk_detail)"
WH=false
if [ "$rc" -eq 0 ] && $ROOT; then WH=true; fi
$ROOT || skip "the hand-made whiteout layer" "mknod and trusted.* xattrs need root"
[ "$rc" -eq 2 ] && fail "the hand-made whiteout layer" "mknod or setxattr failed in $SA"
if $WH; then
	pk --store "$SA" inspect wh --json
	n=$(json_get "$PK_OUT" 'len(j["layers"])' 2>/dev/null)
	[ "$PK_RC" -eq 0 ] && [ "$n" = 4 ] && ok "the store reads the hand-made layers: wh has 4 layers" \
		|| { fail "the store reads the hand-made layers: wh has 4 layers" "$(pk_detail)"; WH=false; }
fi
IMG=two; $WH && IMG=wh
pk --store "$SA" inspect "$IMG" --json
IMG_KEY=$(json_get "$PK_OUT" 'j["id"]')

# ---- --oci --------------------------------------------------------------------------------
O=$T/oci-a
pk --store "$SA" export "$IMG" --oci "$O"
MAN_A=$(cat "$PK_OUT")
if [ "$PK_RC" -eq 0 ] && is_digest "$MAN_A" && [ -d "$O" ] && [ -z "$(ls -d "$O".tmp-* 2>/dev/null)" ]; then
	ok "export $IMG --oci DIR prints the manifest digest (no temporary directory left)"
else fail "export $IMG --oci DIR prints the manifest digest (no temporary directory left)" "$(pk_detail)" "$(ls -la "$T")"; fi

out=$(layout_check "$O" 2>&1)
[ -z "$out" ] && ok "the layout: oci-layout, index.json, blobs named by their sha256, manifest, config, diff_ids, history" \
	|| fail "the layout: oci-layout, index.json, blobs named by their sha256, manifest, config, diff_ids, history" "$out"
idx_man=$("$PY" -c 'import json,sys; m=json.load(open(sys.argv[1]))["manifests"][0]; print(m["digest"], m["annotations"]["org.opencontainers.image.ref.name"])' "$O/index.json" 2>&1)
[ "$idx_man" = "$MAN_A latest" ] && ok "index.json: the printed manifest, ref.name latest" \
	|| fail "index.json: the printed manifest, ref.name latest" "got: $idx_man" "want: $MAN_A latest"

out=$(tar_check "$O" 2>&1)
[ -z "$out" ] && ok "layer tars: 0:0, no names, no pax times, parents first, no devices, links to earlier entries" \
	|| fail "layer tars: 0:0, no names, no pax times, parents first, no devices, links to earlier entries" "$out"

hist=$(config_get "$O" '[(h["created_by"], h.get("empty_layer", False)) for h in cfg["history"]]')
nl=$(config_get "$O" 'len(man["layers"])')
if $WH; then
	want_hist='[["apt: libgreet", false], ["apt: hello-fixture", false], ["run: [rm /usr/share/doc/hello-fixture/README, replace /usr/share/doc/libgreet, add /etc/added.conf]", false], ["env: {GREETING: hi}; workdir: /srv; entrypoint: [/bin/sh, -c]; cmd: [hello-fixture]", true]]'
	[ "$hist" = "$want_hist" ] && [ "$nl" = 3 ] \
		&& ok "history: one entry per store layer, bottom first, the steps; the config-only layer is an empty_layer with no blob" \
		|| fail "history: one entry per store layer, bottom first, the steps; the config-only layer is an empty_layer with no blob" "history: $hist" "want:    $want_hist" "layers: $nl"
	c=$(config_get "$O" 'cfg["config"]')
	want='{"Cmd": ["hello-fixture"], "Entrypoint": ["/bin/sh", "-c"], "Env": ["LANG=C.UTF-8", "GREETING=hi", "PATH=/usr/bin:/bin"], "WorkingDir": "/srv"}'
	[ "$c" = "$want" ] && ok "config: Env (LANG added as pkgimg run has it, the image's PATH kept), WorkingDir, Entrypoint, Cmd from the layers" \
		|| fail "config: Env, WorkingDir, Entrypoint, Cmd from the layers" "got:  $c" "want: $want"
	names=$(tar_names "$O")
	problems=
	grep -qx '2 0 0 0 usr/share/doc/hello-fixture/.wh.README -> ' <<<"$names" || problems+="no empty .wh.README file in the third layer"$'\n'
	grep -qx '2 0 0 0 usr/share/doc/libgreet/.wh..wh..opq -> ' <<<"$names" || problems+="no .wh..wh..opq in usr/share/doc/libgreet"$'\n'
	grep -qx '2 1 0 1700000000 etc/added.conf -> etc/added-link.conf' <<<"$names" || problems+="etc/added.conf is not a hard link to etc/added-link.conf (the first path)"$'\n'
	grep -qx '2 2 0 1700000000 etc/added-symlink.conf -> added.conf' <<<"$names" || problems+="etc/added-symlink.conf is not the symlink"$'\n'
	# whiteouts come before their siblings (image-spec: SHOULD)
	[ "$(grep '^2 .* usr/share/doc/libgreet/' <<<"$names" | head -1 | cut -d' ' -f5)" = usr/share/doc/libgreet/.wh..wh..opq ] \
		|| problems+=".wh..wh..opq is not the first entry of its directory"$'\n'
	[ -z "$problems" ] && ok "the whiteout layer: .wh.README, .wh..wh..opq first in its directory, the hard link and the symlink" \
		|| fail "the whiteout layer: .wh.README, .wh..wh..opq first in its directory, the hard link and the symlink" "$problems" "$names"
	x=$("$PY" - "$O" <<'EOF'
import json, os, sys, tarfile
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
bp = lambda dg: os.path.join(d, "blobs", "sha256", dg.split(":", 1)[1])
man = json.load(open(bp(idx["manifests"][0]["digest"])))
with tarfile.open(bp(man["layers"][2]["digest"])) as t:
    h = t.getmember("usr/bin/pinger").pax_headers
print(sorted(h), h.get("SCHILY.xattr.security.capability", "").encode("utf-8", "surrogateescape").hex(), h.get("SCHILY.xattr.user.pkgimg-test"))
EOF
)
	want="['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.pkgimg-test'] 0100000200200000000000000000000000000000 kept"
	[ "$x" = "$want" ] && ok "xattrs: the file capability and the user attribute as SCHILY.xattr records, no others" \
		|| fail "xattrs: the file capability and the user attribute as SCHILY.xattr records" "got:  $x" "want: $want"
else
	[ "$(config_get "$O" 'len(cfg["history"])')" = 2 ] && [ "$nl" = 2 ] \
		&& ok "history and layers: one per store layer" || fail "history and layers: one per store layer" "$hist"
fi
pk --store "$SA" export two --oci "$T/oci-two"
c=$(config_get "$T/oci-two" 'cfg["config"]')
want='{"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"]}'
[ "$PK_RC" -eq 0 ] && [ "$c" = "$want" ] \
	&& ok "config of an image with no env: the PATH and LANG that pkgimg run gives its commands" \
	|| fail "config of an image with no env: the PATH and LANG that pkgimg run gives its commands" "got:  $c" "want: $want" "$(pk_detail)"

# ---- --dir --------------------------------------------------------------------------------
pk --store "$SA" export "$IMG" --dir "$T/rootfs-a"
if [ "$PK_RC" -eq 0 ] && [ -x "$T/rootfs-a/usr/bin/hello-fixture" ] && [ -f "$T/rootfs-a/usr/lib/libgreet.so.1" ]; then
	ok "export --dir writes the merged rootfs"
else fail "export --dir writes the merged rootfs" "$(pk_detail)"; fi
if $WH; then
	[ ! -e "$T/rootfs-a/usr/share/doc/hello-fixture/README" ] && [ -d "$T/rootfs-a/usr/share/doc/hello-fixture" ] \
		&& [ "$(ls "$T/rootfs-a/usr/share/doc/libgreet")" = NOTE ] \
		&& ok "--dir: the whiteout deleted README, the opaque directory hid libgreet's docs" \
		|| fail "--dir: the whiteout deleted README, the opaque directory hid libgreet's docs" "$(cd "$T/rootfs-a" && find usr/share/doc)"
fi
mkdir "$T/rootfs-empty"
pk --store "$SA" export "$IMG" --dir "$T/rootfs-empty" --json
[ "$PK_RC" -eq 0 ] && [ "$(json_get "$PK_OUT" 'j["path"]')" = "$T/rootfs-empty" ] && [ -x "$T/rootfs-empty/usr/bin/hello-fixture" ] \
	&& ok "export --dir into an existing empty directory; --json names the path" \
	|| fail "export --dir into an existing empty directory; --json names the path" "$(pk_detail)"

# ---- skopeo / umoci ---------------------------------------------------------------------
if [ -n "$HAVE_SKOPEO" ]; then
	if out=$(skopeo inspect "oci:$O:latest" 2>&1) && printf '%s' "$out" >"$T/skopeo.json" \
		&& [ "$(json_get "$T/skopeo.json" 'len(j["Layers"])')" = "$nl" ] \
		&& [ "$(json_get "$T/skopeo.json" 'j["Digest"]')" = "$MAN_A" ] \
		&& { ! $WH || [ "$(json_get "$T/skopeo.json" '" ".join(j["Env"])')" = "LANG=C.UTF-8 GREETING=hi PATH=/usr/bin:/bin" ]; }; then
		ok "skopeo inspect oci:DIR:latest: the digest, the layers, the env"
	else fail "skopeo inspect oci:DIR:latest: the digest, the layers, the env" "$out"; fi
else
	skip "skopeo inspect oci:DIR" "skopeo is not installed (apt-get install skopeo)"
fi

if [ -n "$HAVE_UMOCI" ]; then
	rootless=(); $ROOT || rootless=(--rootless)
	if out=$(umoci unpack "${rootless[@]}" --image "$O:latest" "$T/bundle" 2>&1); then
		ok "umoci unpack --image DIR:latest"
		d=$(diff -r --no-dereference "$T/bundle/rootfs" "$T/rootfs-a" 2>&1)
		[ -z "$d" ] && ok "umoci's rootfs has the same files and contents as export --dir" \
			|| fail "umoci's rootfs has the same files and contents as export --dir" "$d"
		if $ROOT; then
			d=$(diff <(meta "$T/bundle/rootfs") <(meta "$T/rootfs-a") 2>&1)
			[ -z "$d" ] && ok "umoci's rootfs and export --dir: the same types, modes, owners, links, mtimes" \
				|| fail "umoci's rootfs and export --dir: the same types, modes, owners, links, mtimes" "$d"
		fi
		if $WH; then
			R=$T/bundle/rootfs
			[ ! -e "$R/usr/share/doc/hello-fixture/README" ] && [ "$(ls "$R/usr/share/doc/libgreet")" = NOTE ] \
				&& [ "$(stat -c %i "$R/etc/added.conf")" = "$(stat -c %i "$R/etc/added-link.conf")" ] \
				&& [ ! -e "$R/usr/share/doc/hello-fixture/.wh.README" ] \
				&& ok "umoci applies the whiteout and the opaque directory; the hard link is one inode" \
				|| fail "umoci applies the whiteout and the opaque directory; the hard link is one inode" \
					"$(cd "$R" && find usr/share/doc etc -printf '%p %i\n')"
			caps() { "$PY" -c 'import os, sys; print(os.getxattr(sys.argv[1], "security.capability").hex(), os.getxattr(sys.argv[1], "user.pkgimg-test").decode())' "$1" 2>&1; }
			[ "$(caps "$R/usr/bin/pinger")" = "0100000200200000000000000000000000000000 kept" ] \
				&& [ "$(caps "$T/rootfs-a/usr/bin/pinger")" = "0100000200200000000000000000000000000000 kept" ] \
				&& ok "umoci's rootfs and export --dir both have the file capability and the user attribute" \
				|| fail "umoci's rootfs and export --dir both have the file capability" "umoci: $(caps "$R/usr/bin/pinger")" "--dir: $(caps "$T/rootfs-a/usr/bin/pinger")"
		fi
	else fail "umoci unpack --image DIR:latest" "$out"; fi
else
	skip "umoci unpack" "umoci is not installed (apt-get install umoci)"
fi

# ---- --tar and --tag ----------------------------------------------------------------------
pk --store "$SA" export "$IMG" --tar "$T/a.tar" --json
if [ "$PK_RC" -eq 0 ] && [ "$(json_get "$PK_OUT" 'j["manifest"]')" = "$MAN_A" ] \
	&& [ "$(json_get "$PK_OUT" 'j["image"]')" = "$IMG_KEY" ] \
	&& [ "$(json_get "$PK_OUT" 'len(j["layers"])')" = "$nl" ] && [ "$(json_get "$PK_OUT" 'j["path"]')" = "$T/a.tar" ]; then
	ok "export --tar FILE --json: the same manifest as --oci; image, manifest, config, layers, path"
else fail "export --tar FILE --json: the same manifest as --oci; image, manifest, config, layers, path" "$(pk_detail)"; fi
mkdir "$T/a-x"
if tar -xf "$T/a.tar" -C "$T/a-x" 2>"$T/tar.err" && d=$(diff -r "$T/a-x" "$O" 2>&1) && [ -z "$d" ]; then
	ok "the --tar archive holds the same layout as --oci"
else fail "the --tar archive holds the same layout as --oci" "$(cat "$T/tar.err")" "$d"; fi
listing=$(tar -tvf "$T/a.tar" 2>&1)
names=$(tar -tf "$T/a.tar" 2>&1)
if [ -z "$(grep -v '^[-d]rw[-x]r-[-x]r-[-x] 0/0 .* 1970-01-01 00:00 ' <<<"$listing")" ] \
	&& [ "$names" = "$(LC_ALL=C sort <<<"$names")" ]; then
	ok "the --tar archive: entries sorted, 0/0, mode 0644/0755, mtime 0"
else fail "the --tar archive: entries sorted, 0/0, mode 0644/0755, mtime 0" "$listing"; fi
if [ -n "$HAVE_SKOPEO" ]; then
	out=$(skopeo inspect "oci-archive:$T/a.tar" 2>&1) && printf '%s' "$out" >"$T/skopeo-tar.json" \
		&& [ "$(json_get "$T/skopeo-tar.json" 'j["Digest"]')" = "$MAN_A" ] \
		&& ok "skopeo inspect oci-archive:FILE" || fail "skopeo inspect oci-archive:FILE" "$out"
fi

pk --store "$SA" export "$IMG" --oci "$T/oci-tagged" --tag "pkgimg/test:1.0"
ref=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"])' "$T/oci-tagged/index.json" 2>&1)
if [ "$PK_RC" -eq 0 ] && [ "$ref" = "pkgimg/test:1.0" ] && [ "$(cat "$PK_OUT")" = "$MAN_A" ]; then
	ok "--tag NAME sets ref.name (the manifest is the same)"
else fail "--tag NAME sets ref.name (the manifest is the same)" "ref.name: $ref" "$(pk_detail)"; fi
if [ -n "$HAVE_SKOPEO" ]; then
	check "skopeo inspect oci:DIR:pkgimg/test:1.0" skopeo inspect "oci:$T/oci-tagged:pkgimg/test:1.0"
fi

# ---- whiteouts made by a run step (pkgimg build) ------------------------------------------
# The same deletions done by `rm` in a run step: the sandbox's overlay upper
# holds the whiteout and the opaque directory.
BB=$(command -v busybox || true)
if [ -z "$BB" ]; then
	skip "export of a run step's whiteouts" "busybox is not installed"
elif [ -z "$HAVE_UMOCI" ]; then
	skip "export of a run step's whiteouts" "umoci is not installed"
else
	mkdir -p "$T/spec"
	cp "$BB" "$T/spec/busybox"	# add's sources are inside the build context
	cat >"$T/spec/pkgimg.yaml" <<EOF
base: two
steps:
  - add: {src: ./busybox, dst: /usr/bin/busybox}
  - add: {src: ./busybox, dst: /usr/bin/sh}
  - run: ["busybox rm /usr/share/doc/hello-fixture/README && busybox rm -r /usr/share/doc/libgreet && busybox mkdir /usr/share/doc/libgreet && echo n >/usr/share/doc/libgreet/NOTE"]
  - env: {GREETING: hi}
EOF
	pk --store "$SA" build -f "$T/spec/pkgimg.yaml" --tag built
	if [ "$PK_RC" -ne 0 ]; then
		skip "export of a run step's whiteouts" "pkgimg build failed here: $(head -n 1 "$PK_ERR")"
	else
		pk --store "$SA" export built --oci "$T/oci-built"
		rc1=$PK_RC
		pk --store "$SA" export built --dir "$T/rootfs-built"
		rootless=(); $ROOT || rootless=(--rootless)
		out=
		if [ "$rc1" -eq 0 ] && [ "$PK_RC" -eq 0 ] \
			&& out=$(umoci unpack "${rootless[@]}" --image "$T/oci-built:latest" "$T/bundle-built" 2>&1) \
			&& out=$(diff -r --no-dereference "$T/bundle-built/rootfs" "$T/rootfs-built" 2>&1) \
			&& R=$T/bundle-built/rootfs && [ ! -e "$R/usr/share/doc/hello-fixture/README" ] \
			&& [ "$(ls "$R/usr/share/doc/libgreet")" = NOTE ] \
			&& grep -q ' usr/share/doc/hello-fixture/\.wh\.README ' <(tar_names "$T/oci-built") \
			&& grep -q ' usr/share/doc/libgreet/\.wh\.\.wh\.\.opq ' <(tar_names "$T/oci-built"); then
			ok "a run step's rm: .wh.README and .wh..wh..opq in its layer; umoci's rootfs = export --dir"
		else
			fail "a run step's rm: .wh.README and .wh..wh..opq in its layer; umoci's rootfs = export --dir" \
				"$(pk_detail)" "$out" "$(tar_names "$T/oci-built" 2>&1 | grep usr/share/doc)"
		fi
	fi
fi

# ---- what a layer tar cannot hold -----------------------------------------------------------
tree=$(hand_layer "$SA" "$IMG_TWO" fifo "run: mkfifo /run/pipe")
mkdir -p "$tree/run" "$tree/many" "$tree/../outside" && mkfifo "$tree/run/pipe" && echo x >"$tree/run/file"
# 300 files linked from outside the tree (as layers share inodes with the
# unpacked cache): plain files; and two pairs linked inside it: link entries
for i in $(seq 300); do echo "$i" >"$tree/many/f$i"; ln "$tree/many/f$i" "$tree/../outside/f$i"; done
ln "$tree/many/f7" "$tree/many/g7"; ln "$tree/many/f250" "$tree/many/e250"
pk --store "$SA" export fifo --oci "$T/oci-fifo"
names=$(tar_names "$T/oci-fifo" 2>&1 | grep -v '^[01] ')
if [ "$PK_RC" -eq 0 ] && err_has "warning: .*run/pipe' is a fifo" && ! grep -q ' run/pipe ' <<<"$names" \
	&& grep -q ' run/file ' <<<"$names"; then
	ok "a fifo in a layer: left out with a warning naming it"
else fail "a fifo in a layer: left out with a warning naming it" "$(pk_detail)" "$(grep run/ <<<"$names")"; fi
links=$(grep -c '^2 1 ' <<<"$names")
if [ "$links" = 2 ] && grep -qx '2 1 0 [0-9]* many/g7 -> many/f7' <<<"$names" \
	&& grep -qx '2 1 0 [0-9]* many/f250 -> many/e250' <<<"$names" \
	&& [ "$(grep -c '^2 0 [1-9][0-9]* .* many/f[0-9]* -> $' <<<"$names")" = 299 ]; then
	ok "hard links: only paths that share an inode within the layer become link entries, to the first path"
else fail "hard links: only paths that share an inode within the layer become link entries, to the first path" \
	"link entries: $links" "$(grep many/ <<<"$names" | head -20)"; fi
tree=$(hand_layer "$SA" "$IMG_TWO" whname "run: touch /.wh.odd")
echo odd >"$tree/.wh.odd"
pk --store "$SA" export whname --oci "$T/oci-whname"
if pk_failed_cleanly && err_has "\.wh\.odd" && [ ! -e "$T/oci-whname" ] && [ -z "$(ls -d "$T"/oci-whname.tmp-* 2>/dev/null)" ]; then
	ok "a file named .wh.*: an error naming it (it would read as a whiteout); nothing left behind"
else fail "a file named .wh.*: an error naming it (it would read as a whiteout); nothing left behind" "$(pk_detail)" "$(ls "$T")"; fi
pk --store "$SA" export whname --tar "$T/whname.tar"
if pk_failed_cleanly && [ ! -e "$T/whname.tar" ] && [ -z "$(ls -d "$T"/whname.tar.tmp-* 2>/dev/null)" ] \
	&& [ -z "$(ls "$SA/tmp")" ]; then
	ok "--tar that fails: no archive, no temporary file, nothing left in the store's tmp/"
else fail "--tar that fails: no archive, no temporary file, nothing left in the store's tmp/" "$(pk_detail)" "$(ls "$T" "$SA/tmp")"; fi

# ---- the same image from another store ---------------------------------------------------
build_images "$SB"; rc=$?
if [ "$rc" -ne 0 ]; then
	fail "build the same images in a second store" "$(pk_detail)"
else
	pk --store "$SB" export "$IMG" --oci "$T/oci-b"
	MAN_B=$(cat "$PK_OUT")
	if [ "$PK_RC" -eq 0 ] && [ "$MAN_B" = "$MAN_A" ]; then
		ok "two stores built from scratch: the same manifest digest"
	else
		fail "two stores built from scratch: the same manifest digest" "store a: $MAN_A" "$(pk_detail)" \
			"layer entries that differ (< store a, > store b: layer type size mtime name):" \
			"$(diff <(tar_names "$O") <(tar_names "$T/oci-b") | head -40)"
	fi
	pk --store "$SB" export "$IMG" --tar "$T/b.tar"
	if [ "$PK_RC" -eq 0 ] && cmp -s "$T/a.tar" "$T/b.tar"; then
		ok "two stores built from scratch: byte-identical --tar archives"
	else fail "two stores built from scratch: byte-identical --tar archives" "$(pk_detail)" "$(cmp "$T/a.tar" "$T/b.tar" 2>&1)"; fi
fi
pk --store "$SA" export "$IMG" --tar "$T/a2.tar"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/a.tar" "$T/a2.tar" && ok "exporting again: the same bytes (and --tar replaces nothing else)" \
	|| fail "exporting again: the same bytes" "$(pk_detail)"

# ---- errors -------------------------------------------------------------------------------
pk --store "$SA" export no-such-image --oci "$T/oci-none"
if pk_failed_cleanly && err_has 'no-such-image' && [ ! -e "$T/oci-none" ] && [ -z "$(ls -d "$T"/oci-none.tmp-* 2>/dev/null)" ]; then
	ok "export of an unknown image: an error naming it, nothing written"
else fail "export of an unknown image: an error naming it, nothing written" "$(pk_detail)"; fi

mkdir "$T/full"; echo keep >"$T/full/keep"
pk --store "$SA" export "$IMG" --oci "$T/full"
if pk_failed_cleanly && err_has "$T/full" && err_has 'not empty' && [ "$(ls "$T/full")" = keep ] \
	&& [ -z "$(ls -d "$T"/full.tmp-* 2>/dev/null)" ]; then
	ok "--oci onto a non-empty directory: an error naming it and the fix; the directory untouched"
else fail "--oci onto a non-empty directory: an error naming it and the fix; the directory untouched" "$(pk_detail)" "$(ls -la "$T/full" "$T")"; fi
pk --store "$SA" export "$IMG" --dir "$T/full"
pk_failed_cleanly && err_has 'not empty' && [ "$(ls "$T/full")" = keep ] \
	&& ok "--dir onto a non-empty directory: an error" || fail "--dir onto a non-empty directory: an error" "$(pk_detail)"
pk --store "$SA" export "$IMG" --tar "$T/full"
pk_failed_cleanly && err_has 'directory' && [ "$(ls "$T/full")" = keep ] \
	&& ok "--tar onto a directory: an error" || fail "--tar onto a directory: an error" "$(pk_detail)"

pk --store "$SA" export "$IMG" --oci "$T/x1" --tar "$T/x2.tar"
if [ "$PK_RC" -eq 2 ] && err_has 'one of --oci' && [ ! -e "$T/x1" ] && [ ! -e "$T/x2.tar" ]; then
	ok "two of --oci/--tar/--dir: a usage error (exit 2)"
else fail "two of --oci/--tar/--dir: a usage error (exit 2)" "$(pk_detail)"; fi
pk --store "$SA" export "$IMG" --dir "$T/x1" --oci "$T/x2"
[ "$PK_RC" -eq 2 ] && [ ! -e "$T/x1" ] && ok "--dir and --oci: a usage error" || fail "--dir and --oci: a usage error" "$(pk_detail)"
pk --store "$SA" export "$IMG"
[ "$PK_RC" -eq 2 ] && err_has 'one of --oci' && ok "no destination: a usage error naming the options" \
	|| fail "no destination: a usage error naming the options" "$(pk_detail)"
pk --store "$SA" export "$IMG" --oci "$T/x3" --tag 'bad tag!'
[ "$PK_RC" -eq 2 ] && err_has 'bad tag' && [ ! -e "$T/x3" ] && ok "--tag that is no OCI reference name: a usage error" \
	|| fail "--tag that is no OCI reference name: a usage error" "$(pk_detail)"

finish
