#!/bin/bash
# pkgimg pull REF (issue 19, local transports), hermetic:
#   - the oracle image: built by pkgimg from busybox (--base scratch), its
#     second run step deleting a file of the first (a whiteout) and
#     replacing a directory (an opaque directory), with a setuid file, a
#     file owned 1000:1000 mode 0600, a hard link, a symlink; env, workdir,
#     entrypoint and cmd steps; `export --oci` writes it;
#   - pull oci:DIR into a fresh store: the image id is the manifest digest
#     (export's, and `skopeo inspect --raw | sha256sum`'s), `export --dir`
#     of the pulled image equals the original's file by file (types, modes,
#     owners, link targets, contents, hard links), the whiteout and the
#     opaque directory are in the pulled layers' trees in the store's
#     overlay form, `export --oci` of the pulled image gives the same layer
#     digests (pull is export's inverse), the config survives (inspect),
#     `pkgimg run` works in it, a second pull is a hit that writes nothing,
#     a layer committed on it chains from the manifest digest;
#   - the pulled image as a base: `base: TAG` in a build spec, and
#     `install --base oci:DIR` (pulled on the fly) with the fixture apt repo;
#   - skopeo copies it to docker-archive:FILE and to oci: layouts with gzip
#     and zstd layers: each pulled into a fresh store has skopeo's manifest
#     digest as its id and the same rootfs;
#   - hand-made layouts (python): a nested image index for two platforms
#     (the host's picked, --platform the other, a layout without the
#     host's platform refused with the fix), a config User;
#   - bad input, each a clear error and the store as it was (layers, tags,
#     tmp): a layer blob whose bytes do not match its digest, a tar that
#     does not match its diff_id, an entry "../x", a file written through a
#     symlink to an absolute directory, a hard link out of the layer, a
#     device node.
# busybox, root (whiteouts are character devices) or skopeo missing: skips.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
BB=$(command -v busybox || true)
[ -x "$BB" ] || { skip "pull" "busybox is not installed"; finish; }
[ "$(id -u)" = 0 ] || { skip "pull" "needs root (whiteouts are 0:0 character devices)"; finish; }
HAVE_SKOPEO=$(command -v skopeo || true)
W=$T/w SA=$T/store-a
mkdir -p "$W"
cp "$BB" "$W/busybox"
is_id() { [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]]; }
raw_digest() { echo "sha256:$(skopeo inspect --raw "$1" | sha256sum | cut -d' ' -f1)"; }
listing() { (cd "$1" 2>/dev/null && find layers tags tmp -mindepth 1 -maxdepth 1 2>/dev/null | sort); }

cat >"$W/img.yaml" <<'EOF'
base: scratch
steps:
  - add: {src: ./busybox, dst: /bin/busybox}
  - add: {src: ./busybox, dst: /bin/sh}
  - run: ["/bin/busybox --install -s /bin && mkdir -p /d/sub /etc && echo old > /etc/old && echo keep > /d/sub/keep && echo one > /d/one && ln /d/one /d/one-hard && ln -s one /d/one-sym && cp /bin/busybox /bin/su2 && chmod 4755 /bin/su2 && echo u > /home-u && chown 1000:1000 /home-u && chmod 0600 /home-u"]
  - run: ["rm /etc/old && rm -rf /d && mkdir /d && echo new > /d/new && chmod 0750 /d"]
  - env: {GREETING: hi}
  - workdir: /d
  - entrypoint: [/bin/sh, -c]
  - cmd: ["echo hello"]
EOF
pk --store "$SA" build -f "$W/img.yaml" --tag orig
[ "$PK_RC" -eq 0 ] || bail "build the oracle image" "$(pk_detail)"
tail -n1 "$PK_OUT" >"$T/orig.id"
pk --store "$SA" export orig --oci "$T/oci"
[ "$PK_RC" -eq 0 ] || bail "export the oracle image" "$(pk_detail)"
MAN=$(cat "$PK_OUT")
pk --store "$SA" export orig --dir "$T/root-orig"
[ "$PK_RC" -eq 0 ] || bail "export --dir the oracle image" "$(pk_detail)"

# tree_cmp A B: what differs between two rootfs trees (type, mode, owner,
# link target, content, hard link groups)
tree_cmp() {
	"$PY" - "$1" "$2" <<'EOF'
import hashlib, os, stat, sys
def walk(root):
    out, inodes = {}, {}
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(d, n); r = os.path.relpath(p, root); s = os.lstat(p)
            v = [stat.S_IFMT(s.st_mode), stat.S_IMODE(s.st_mode), s.st_uid, s.st_gid]
            if stat.S_ISLNK(s.st_mode): v.append(os.readlink(p))
            elif stat.S_ISREG(s.st_mode):
                v.append(hashlib.sha256(open(p, "rb").read()).hexdigest())
                inodes.setdefault((s.st_dev, s.st_ino), []).append(r)
            out[r] = v
    for g in inodes.values():
        for r in g: out[r].append(sorted(g))
    return out
a, b = walk(sys.argv[1]), walk(sys.argv[2])
for k in sorted(set(a) | set(b)):
    if a.get(k) != b.get(k): print("%s: %r != %r" % (k, a.get(k), b.get(k)))
EOF
}
problems=
[ -e "$T/root-orig/etc/old" ] && problems+="the original still has /etc/old"$'\n'
[ -e "$T/root-orig/d/sub" ] && problems+="the original still has /d/sub"$'\n'
[ "$(stat -c %a:%u "$T/root-orig/bin/su2")" = 4755:0 ] || problems+="no setuid su2"$'\n'
[ "$(stat -c %a:%u:%g "$T/root-orig/home-u")" = 600:1000:1000 ] || problems+="home-u is not 600 1000:1000"$'\n'
[ -z "$problems" ] || bail "the oracle image has what the test needs" "$problems"

# ---- oci: the export pulled back ------------------------------------------------
SB=$T/store-b
pk --store "$SB" pull "oci:$T/oci" --tag p
ID=$(cat "$PK_OUT")
if [ "$PK_RC" -eq 0 ] && [ "$ID" = "$MAN" ]; then
	ok "pull oci:DIR: the image id is the manifest digest export printed"
else
	fail "pull oci:DIR: the image id is the manifest digest export printed" "manifest: $MAN" "$(pk_detail)"
fi
if [ -n "$HAVE_SKOPEO" ]; then
	want=$(raw_digest "oci:$T/oci")
	[ "$ID" = "$want" ] && ok "the id is skopeo inspect --raw's sha256" \
		|| fail "the id is skopeo inspect --raw's sha256" "pulled $ID, skopeo $want"
fi
pk --store "$SB" export p --dir "$T/root-b"
d=$(tree_cmp "$T/root-orig" "$T/root-b")
[ "$PK_RC" -eq 0 ] && [ -z "$d" ] && ok "the pulled rootfs equals the original file by file (modes, setuid, owners, links, contents)" \
	|| fail "the pulled rootfs equals the original file by file (modes, setuid, owners, links, contents)" "$d" "$(pk_detail)"
# the upper layer's whiteout and opaque directory, in the store's form
wh=$(find "$SB"/layers/*/tree/etc -maxdepth 1 -name old -type c 2>/dev/null | head -1)
opq=
for t in "$SB"/layers/*/tree/d; do
	[ -d "$t" ] && [ "$("$PY" -c 'import os, sys
try: print(os.getxattr(sys.argv[1], "user.overlay.opaque").decode())
except OSError: pass' "$t")" = y ] && opq=$t
done
[ -n "$wh" ] && [ "$(stat -c %t:%T "$wh")" = 0:0 ] && [ -n "$opq" ] && [ -e "$opq/new" ] && [ ! -e "$opq/sub" ] \
	&& ok "the whiteout (0:0 char device etc/old) and the opaque directory (d, user.overlay.opaque) are in the pulled layers" \
	|| fail "the whiteout (0:0 char device etc/old) and the opaque directory (d, user.overlay.opaque) are in the pulled layers" \
		"whiteout: '$wh' opaque: '$opq'" "$(ls -laR "$SB"/layers/*/tree/d "$SB"/layers/*/tree/etc 2>&1 | head -40)"
pk --store "$SA" export orig --oci "$T/oci-a2" --json
la=$(json_get "$PK_OUT" '[l["digest"] for l in j["layers"]]')
pk --store "$SB" export p --oci "$T/oci-b2" --json
lb=$(json_get "$PK_OUT" '[l["digest"] for l in j["layers"]]')
[ "$PK_RC" -eq 0 ] && [ -n "$la" ] && [ "$la" = "$lb" ] \
	&& ok "export --oci of the pulled image gives the original's layer digests (pull is export's inverse)" \
	|| fail "export --oci of the pulled image gives the original's layer digests (pull is export's inverse)" "original:" "$la" "pulled:" "$lb"
# file capabilities and user.* attributes: a hand-made layer on the oracle
# image (no busybox tool sets them), exported and pulled back
k=sha256:$(printf 'pull-test xattr layer' | sha256sum | cut -d' ' -f1)
d=$SA/layers/${k#sha256:}
mkdir -p "$d/tree/usr/bin" && printf '#!/bin/sh\n' >"$d/tree/usr/bin/pinger" && chmod 0755 "$d/tree/usr/bin/pinger"
"$PY" -c 'import os, struct, sys
os.setxattr(sys.argv[1], "security.capability", struct.pack("<5I", 0x02000001, 1 << 13, 0, 0, 0))
os.setxattr(sys.argv[1], "user.pkgimg-test", b"kept")' "$d/tree/usr/bin/pinger"
find "$d/tree" -exec touch -h -d @0 {} +
printf 'key: %s\nparent: %s\nstep: "xattrs"\nsize: 10\n' "$k" "$(cat "$T/orig.id")" >"$d/layer.yaml"
"$PKGIMG" --store "$SA" tag "$k" xa >/dev/null
pk --store "$SA" export xa --oci "$T/oci-xa" --json
lxa=$(json_get "$PK_OUT" '[l["digest"] for l in j["layers"]]')
pk --store "$T/store-xa" pull "oci:$T/oci-xa" --tag xa
pk --store "$T/store-xa" export xa --oci "$T/oci-xa2" --json
lxa2=$(json_get "$PK_OUT" '[l["digest"] for l in j["layers"]]')
xa=$("$PY" -c 'import glob, os, sys
for f in glob.glob(sys.argv[1] + "/layers/*/tree/usr/bin/pinger"):
    print(os.getxattr(f, "security.capability").hex(), os.getxattr(f, "user.pkgimg-test").decode())' "$T/store-xa" 2>&1)
[ "$PK_RC" -eq 0 ] && [ "$xa" = "0100000200200000000000000000000000000000 kept" ] && [ -n "$lxa" ] && [ "$lxa" = "$lxa2" ] \
	&& ok "file capabilities and user.* attributes survive export and pull (same layer digests)" \
	|| fail "file capabilities and user.* attributes survive export and pull (same layer digests)" "$xa" "$lxa" "$lxa2" "$(pk_detail)"
pk --store "$SB" inspect p --json
cfg=$(json_get "$PK_OUT" '[j["config"]["workdir"], j["config"]["entrypoint"], j["config"]["cmd"], "GREETING=hi" in j["config"]["env"]]')
[ "$cfg" = "$(printf '/d\n[%s, %s]\n[%s]\nTrue' "'/bin/sh'" "'-c'" "'echo hello'")" ] \
	&& ok "the config survives: env, workdir, entrypoint, cmd" || fail "the config survives: env, workdir, entrypoint, cmd" "$cfg" "$(pk_detail)"
pk --store "$SB" run p -- 'echo "$GREETING"; pwd; ls /d; cat /etc/old 2>&1 || echo gone'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf 'hi\n/d\nnew\ncat: can'"'"'t open '"'"'/etc/old'"'"': No such file or directory\ngone')" ] \
	&& ok "pkgimg run works in the pulled image (entrypoint, env, workdir, the whiteout)" \
	|| fail "pkgimg run works in the pulled image (entrypoint, env, workdir, the whiteout)" "$(pk_detail)"
before=$(listing "$SB")
touch "$T/mark"; sleep 1
pk --store "$SB" pull "oci:$T/oci"
after=$(listing "$SB")
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ] && err_has "already in the store" && [ "$before" = "$after" ] \
	&& [ -z "$(find "$SB/layers" "$SB/tags" -newer "$T/mark")" ] \
	&& ok "a second pull is a hit: nothing written" || fail "a second pull is a hit: nothing written" "$(pk_detail)" "$(find "$SB" -newer "$T/mark")"
FX_BASE_ID=$ID
pk --store "$SB" run --commit --tag on-top p -- 'echo x > /x'
pk --store "$SB" inspect on-top --json
parent=$(json_get "$PK_OUT" 'j["layers"][-2]["key"]')
[ "$PK_RC" -eq 0 ] && [ "$parent" = "$FX_BASE_ID" ] && ok "a layer built on the pulled image chains from its manifest digest" \
	|| fail "a layer built on the pulled image chains from its manifest digest" "parent: $parent" "$(pk_detail)"

# ---- the pulled image as a base ------------------------------------------------
printf 'base: p\nsteps:\n  - run: ["echo built-on-pulled > /on"]\n' >"$W/on.yaml"
pk --store "$SB" build -f "$W/on.yaml" --tag on-spec
pk --store "$SB" run on-spec -- 'cat /on; ls /d'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf 'built-on-pulled\nnew')" ] \
	&& ok "base: TAG of a pulled image in a build spec" || fail "base: TAG of a pulled image in a build spec" "$(pk_detail)"
setup_fixture
SD=$T/store-d
FX_BASE="oci:$T/oci" fx "$SD" install --apt hello-fixture --tag on-oci
pk --store "$SD" run on-oci -- 'hello-fixture; cat /d/new'
[ "$PK_RC" -eq 0 ] && grep -q 'hello from hello-fixture' "$PK_OUT" && grep -qx new "$PK_OUT" \
	&& [ -d "$SD/layers/${ID#sha256:}" ] \
	&& ok "install --base oci:DIR pulls the image first and installs on it" \
	|| fail "install --base oci:DIR pulls the image first and installs on it" "$(pk_detail)"

# ---- skopeo's docker-archive, gzip and zstd --------------------------------------
if [ -z "$HAVE_SKOPEO" ]; then
	skip "docker-archive, gzip and zstd layers" "skopeo is not installed"
else
	skopeo copy -q "oci:$T/oci" "docker-archive:$T/img.tar:pt/img:1" &&
		skopeo copy -q --dest-compress --dest-compress-format gzip "oci:$T/oci" "oci:$T/oci-gz" &&
		skopeo copy -q --dest-compress --dest-compress-format zstd "oci:$T/oci" "oci:$T/oci-zst" \
		|| bail "skopeo copy to docker-archive, gzip and zstd"
	grep -q '"application/vnd.oci.image.layer.v1.tar+zstd"' "$T/oci-zst/blobs/sha256/$(raw_digest "oci:$T/oci-zst" | cut -c8-)" \
		|| fail "skopeo wrote zstd layers" "$(skopeo inspect --raw "oci:$T/oci-zst")"
	n=0
	for ref in "docker-archive:$T/img.tar" "docker-archive:$T/img.tar:pt/img:1" "oci:$T/oci-gz" "oci:$T/oci-zst"; do
		n=$((n + 1)) S=$T/store-c$n
		want=$(raw_digest "${ref%:pt/img:1}")
		pk --store "$S" pull "$ref" --tag p
		got=$(cat "$PK_OUT")
		pk --store "$S" export p --dir "$T/root-c$n"
		d=$(tree_cmp "$T/root-orig" "$T/root-c$n")
		[ "$got" = "$want" ] && [ "$PK_RC" -eq 0 ] && [ -z "$d" ] && [ -z "$(ls "$S/tmp")" ] \
			&& ok "pull $(basename "${ref%%:*}"):${ref##*/}: skopeo's manifest digest as the id, the same rootfs" \
			|| fail "pull ${ref##*/}: skopeo's manifest digest as the id, the same rootfs" "id $got, skopeo $want" "$d" "$(pk_detail)"
	done
	pk --store "$T/store-c9" pull "docker-archive:$T/img.tar:other/name:2"
	pk_failed_cleanly && err_has "no image tagged 'other/name:2'.*pt/img:1" \
		&& ok "docker-archive:FILE:NAME:TAG not in the archive: refused, naming what it has" \
		|| fail "docker-archive:FILE:NAME:TAG not in the archive: refused, naming what it has" "$(pk_detail)"
fi

# ---- hand-made layouts -----------------------------------------------------------
# mklayout DIR JSON: an OCI layout from a description:
#   {"images": [{"platform": "linux/amd64", "user": "...", "layers": [[ENTRY...]...],
#                "diff_ids": [...] (default: the layers'), "name": "ref.name"}],
#    "nested": true (index.json -> an image index -> the manifests)}
#   ENTRY: {"name", "type": file|dir|symlink|link|chr, "data", "target", "mode",
#           "xattrs": {NAME: VALUE}}
mklayout() {
	"$PY" - "$1" "$2" <<'EOF'
import hashlib, io, json, os, sys, tarfile
d, spec = sys.argv[1], json.loads(sys.argv[2])
os.makedirs(d + "/blobs/sha256")
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open("%s/blobs/sha256/%s" % (d, h), "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
def tar(entries):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e["name"]); ti.mode = e.get("mode", 0o644)
            ti.pax_headers = {"SCHILY.xattr." + k: v for k, v in e.get("xattrs", {}).items()}
            data = e.get("data", "").encode()
            ty = e.get("type", "file")
            if ty == "dir": ti.type = tarfile.DIRTYPE; ti.mode = e.get("mode", 0o755)
            elif ty == "symlink": ti.type = tarfile.SYMTYPE; ti.linkname = e["target"]
            elif ty == "link": ti.type = tarfile.LNKTYPE; ti.linkname = e["target"]
            elif ty == "chr": ti.type = tarfile.CHRTYPE; ti.devmajor, ti.devminor = 1, 3
            if ty == "file":
                ti.size = len(data); t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return bio.getvalue()
mans = []
for im in spec["images"]:
    os_, arch = im.get("platform", "linux/amd64").split("/")[:2]
    tars = [tar(l) for l in im["layers"]]
    ls = [dict(blob(b), mediaType="application/vnd.oci.image.layer.v1.tar") for b in tars]
    cfg = {"architecture": arch, "os": os_, "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
           "rootfs": {"type": "layers", "diff_ids": im.get("diff_ids", [l["digest"] for l in ls])}}
    if "user" in im: cfg["config"]["User"] = im["user"]
    c = dict(blob(json.dumps(cfg).encode()), mediaType="application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": ls}
    md = dict(blob(json.dumps(m).encode()), mediaType="application/vnd.oci.image.manifest.v1+json",
              platform={"os": os_, "architecture": arch})
    if "name" in im: md["annotations"] = {"org.opencontainers.image.ref.name": im["name"]}
    mans.append(md)
if spec.get("nested"):
    ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": mans}
    mans = [dict(blob(json.dumps(ix).encode()), mediaType="application/vnd.oci.image.index.v1+json",
                 annotations={"org.opencontainers.image.ref.name": "latest"})]
json.dump({"schemaVersion": 2, "manifests": mans}, open(d + "/index.json", "w"))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
for m in mans: print(m["digest"])
EOF
}
case $(dpkg --print-architecture 2>/dev/null) in
amd64) HOST=amd64 OTHER=arm64 ;;
arm64) HOST=arm64 OTHER=amd64 ;;
*) HOST= ;;
esac
if [ -z "$HOST" ]; then
	skip "multi-platform indexes" "the host is neither amd64 nor arm64"
else
	file() { printf '{"name": "%s", "data": "%s"}' "$1" "$2"; }
	mklayout "$T/multi" "{\"nested\": true, \"images\": [
		{\"platform\": \"linux/$OTHER\", \"layers\": [[$(file which "$OTHER")]]},
		{\"platform\": \"linux/$HOST\", \"user\": \"1000:1000\", \"layers\": [[$(file which "$HOST")]]}]}" >/dev/null
	S=$T/store-m
	pk --store "$S" pull "oci:$T/multi:latest" --tag host
	pk --store "$S" export host --dir "$T/root-m1"
	[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/root-m1/which" 2>/dev/null)" = "$HOST" ] \
		&& ok "a nested image index: the host's platform ($HOST) is pulled" \
		|| fail "a nested image index: the host's platform ($HOST) is pulled" "$(pk_detail)"
	pk --store "$S" inspect host --json
	[ "$(json_get "$PK_OUT" 'j["config"].get("user")')" = 1000:1000 ] && ok "the config's User is kept (inspect)" \
		|| fail "the config's User is kept (inspect)" "$(pk_detail)"
	pk --store "$S" export host --oci "$T/multi-out"
	[ "$("$PY" -c 'import json,sys; d=sys.argv[1]; b=lambda g: json.load(open(d+"/blobs/sha256/"+g.split(":")[1])); m=b(json.load(open(d+"/index.json"))["manifests"][0]["digest"]); print(b(m["config"]["digest"])["config"].get("User"))' "$T/multi-out")" = 1000:1000 ] \
		&& ok "export --oci of the pulled image writes its User" || fail "export --oci of the pulled image writes its User"
	pk --store "$S" pull "oci:$T/multi" --platform "linux/$OTHER" --tag other
	pk --store "$S" export other --dir "$T/root-m2"
	[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/root-m2/which" 2>/dev/null)" = "$OTHER" ] \
		&& ok "--platform linux/$OTHER picks the other manifest" || fail "--platform linux/$OTHER picks the other manifest" "$(pk_detail)"
	mklayout "$T/foreign" "{\"images\": [{\"platform\": \"linux/$OTHER\", \"layers\": [[$(file a b)]]},
		{\"platform\": \"linux/riscv64\", \"layers\": [[$(file a c)]]}]}" >/dev/null
	before=$(listing "$S")
	pk --store "$S" pull "oci:$T/foreign"
	pk_failed_cleanly && err_has "no manifest for linux/$HOST.*linux/$OTHER.*--platform" && [ "$before" = "$(listing "$S")" ] \
		&& ok "a layout without the host's platform: refused, naming what it has and --platform" \
		|| fail "a layout without the host's platform: refused, naming what it has and --platform" "$(pk_detail)"
	pk --store "$S" pull "oci:$T/multi:nosuch"
	pk_failed_cleanly && err_has "no image named 'nosuch'.*latest" \
		&& ok "oci:DIR:TAG with an unknown TAG: refused, naming the layout's names" \
		|| fail "oci:DIR:TAG with an unknown TAG: refused, naming the layout's names" "$(pk_detail)"
fi

# ---- bad input: a clear error, the store as it was -------------------------------------
SX=$T/store-x
pk --store "$SX" pull "oci:$T/oci" --tag p
[ "$PK_RC" -eq 0 ] || bail "pull into the store of the bad-input checks" "$(pk_detail)"
# bad NAME REF REGEX: the pull fails cleanly, its error matches REGEX, the store is unchanged
bad() {
	local name=$1 ref=$2 re=$3 before
	before=$(listing "$SX")
	pk --store "$SX" pull "$ref"
	if pk_failed_cleanly && err_has "$re" && [ "$before" = "$(listing "$SX")" ]; then
		ok "$name: refused, nothing kept"
	else
		fail "$name: refused, nothing kept" "$(pk_detail)" "before:" "$before" "after:" "$(listing "$SX")"
	fi
}
# a layer blob changed in place (same size), the top one, pulled into an
# empty store: the layers below it verify but must not be kept either
cp -a "$T/oci-gz" "$T/corrupt" 2>/dev/null || cp -a "$T/oci" "$T/corrupt"
top=$("$PY" -c 'import json,sys; d=sys.argv[1]; b=lambda g: json.load(open(d+"/blobs/sha256/"+g.split(":")[1])); m=b(json.load(open(d+"/index.json"))["manifests"][0]["digest"]); print(m["layers"][-1]["digest"].split(":")[1])' "$T/corrupt")
"$PY" - "$T/corrupt/blobs/sha256/$top" <<'EOF'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
b[len(b) // 2] ^= 0x55
open(p, "wb").write(b)
EOF
S0=$SX; SX=$T/store-y
bad "a layer blob that does not match its digest" "oci:$T/corrupt" "does not match its digest|cannot read"
SX=$S0
mklayout "$T/badtar" '{"images": [{"layers": [[{"name": "a", "data": "1"}]], "diff_ids": ["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}]}' >/dev/null
bad "a layer tar that does not match the config's diff_id" "oci:$T/badtar" "diff_id"
mklayout "$T/dotdot" '{"images": [{"layers": [[{"name": "ok", "data": "1"}, {"name": "../escape", "data": "x"}]]}]}' >/dev/null
bad "an entry ../escape" "oci:$T/dotdot" "refusing the entry '../escape'"
[ -e "$T/escape" ] && fail "an entry ../escape wrote outside the layer"
mkdir -p "$T/outside"
mklayout "$T/symesc" "{\"images\": [{\"layers\": [[{\"name\": \"esc\", \"type\": \"symlink\", \"target\": \"$T/outside\"}, {\"name\": \"esc/pwned\", \"data\": \"x\"}]]}]}" >/dev/null
bad "a file written through a symlink to an absolute directory" "oci:$T/symesc" "symlink|refus"
[ -e "$T/outside/pwned" ] && fail "a file was written through the symlink, outside the layer"
mklayout "$T/hardesc" '{"images": [{"layers": [[{"name": "h", "type": "link", "target": "../../../etc/passwd"}]]}]}' >/dev/null
bad "a hard link out of the layer" "oci:$T/hardesc" "refusing the hard link 'h'"
mklayout "$T/dev" '{"images": [{"layers": [[{"name": "dev", "type": "dir"}, {"name": "dev/null", "type": "chr"}]]}]}' >/dev/null
bad "a device node" "oci:$T/dev" "layer 1/1 .*refusing 'dev/null': a device"
mklayout "$T/ovlx" '{"images": [{"layers": [[{"name": "d", "type": "dir", "xattrs": {"user.overlay.opaque": "y", "trusted.overlay.redirect": "/etc", "user.ok": "1"}}, {"name": "d/f", "data": "1"}]]}]}' >/dev/null
pk --store "$T/store-ovl" pull "oci:$T/ovlx"
x=$("$PY" -c 'import glob, os, sys
for f in glob.glob(sys.argv[1] + "/layers/*/tree/d"): print(sorted(os.listxattr(f)))' "$T/store-ovl")
[ "$PK_RC" -eq 0 ] && [ "$x" = "['user.ok']" ] && ok "overlayfs attributes in a layer tar (user.overlay.opaque, trusted.overlay.redirect) are dropped" \
	|| fail "overlayfs attributes in a layer tar (user.overlay.opaque, trusted.overlay.redirect) are dropped" "$x" "$(pk_detail)"
finish
