#!/bin/bash
# pkgimg pull from a registry (issue 19), hermetic: Debian's docker-registry
# on 127.0.0.1 (plain HTTP, --insecure-registry), skopeo pushing into it:
#   - the oracle image (busybox, built by pkgimg, exported) pushed with
#     skopeo (gzip layers): pull docker://HOST:PORT/REPO:TAG gives skopeo's
#     manifest digest as the id, the same rootfs, blobs in the store's CAS,
#     and `pkgimg run` works in it; by @DIGEST and the short HOST/REPO:TAG
#     form: the same id, a hit;
#   - a two-platform image index (skopeo copy --all): the host's platform
#     picked, --platform the other;
#   - HTTPS: verified with --ca-bundle CA; another CA: refused;
#   - errors, the store's layers and tags as they were: an unknown tag, a
#     layer blob corrupted in the registry's storage (the download's digest
#     does not match), a Docker Hub name without a host.
# busybox, root, skopeo or docker-registry missing: skips.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
BB=$(command -v busybox || true)
REG=$(command -v docker-registry || true)
[ -x "$BB" ] || { skip "pull from a registry" "busybox is not installed"; finish; }
[ -n "$REG" ] && command -v skopeo >/dev/null || { skip "pull from a registry" "docker-registry or skopeo is not installed (make test-deps)"; finish; }
[ "$(id -u)" = 0 ] || { skip "pull from a registry" "needs root (whiteouts are 0:0 character devices)"; finish; }
W=$T/w SA=$T/store-a
mkdir -p "$W"
cp "$BB" "$W/busybox"
listing() { (cd "$1" 2>/dev/null && find layers tags -mindepth 1 -maxdepth 1 2>/dev/null | sort); }

# ---- the registry ----------------------------------------------------------------
PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOSTPORT=127.0.0.1:$PORT
cat >"$W/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: $HOSTPORT
EOF
"$REG" serve "$W/registry.yml" >"$T/registry.log" 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do
	curl -fs "http://$HOSTPORT/v2/" >/dev/null 2>&1 && break
	sleep 0.2
done
curl -fs "http://$HOSTPORT/v2/" >/dev/null || bail "docker-registry answers on $HOSTPORT" "$(cat "$T/registry.log")"

cat >"$W/img.yaml" <<'EOF'
base: scratch
steps:
  - add: {src: ./busybox, dst: /bin/busybox}
  - add: {src: ./busybox, dst: /bin/sh}
  - run: ["/bin/busybox --install -s /bin && mkdir -p /d/sub /etc && echo old > /etc/old && echo keep > /d/sub/keep && ln -s /bin/busybox /d/bb && chmod 4755 /bin/busybox"]
  - run: ["rm /etc/old && rm -rf /d && mkdir /d && echo new > /d/new"]
  - env: {GREETING: hi}
  - workdir: /d
EOF
pk --store "$SA" build -f "$W/img.yaml" --tag orig
[ "$PK_RC" -eq 0 ] || bail "build the oracle image" "$(pk_detail)"
pk --store "$SA" export orig --oci "$T/oci"
[ "$PK_RC" -eq 0 ] || bail "export the oracle image" "$(pk_detail)"
pk --store "$SA" export orig --dir "$T/root-orig"
skopeo copy -q --dest-tls-verify=false "oci:$T/oci" "docker://$HOSTPORT/test/img:1" \
	|| bail "skopeo copy the image into the registry"
WANT=sha256:$(skopeo inspect --tls-verify=false --raw "docker://$HOSTPORT/test/img:1" | sha256sum | cut -d' ' -f1)

S=$T/store-b
pk --store "$S" pull --insecure-registry "$HOSTPORT" "docker://$HOSTPORT/test/img:1" --tag r
ID=$(cat "$PK_OUT")
pk --store "$S" export r --dir "$T/root-b"
d=$(diff -r --no-dereference "$T/root-orig" "$T/root-b" 2>&1; cd "$T/root-orig" && find . -printf '%p %M %U:%G %l\n' | sort >"$T/m1"; cd "$T/root-b" && find . -printf '%p %M %U:%G %l\n' | sort | diff "$T/m1" -)
layer=$("$PY" -c 'import json, sys; m = json.loads(sys.stdin.read()); print(m["layers"][0]["digest"].split(":")[1])' \
	< <(skopeo inspect --tls-verify=false --raw "docker://$HOSTPORT/test/img:1"))
[ "$ID" = "$WANT" ] && [ -z "$d" ] && [ -f "$S/blobs/sha256/$layer" ] \
	&& ok "pull docker://HOST:PORT/REPO:TAG: skopeo's manifest digest as the id, the same rootfs, blobs in the store" \
	|| fail "pull docker://HOST:PORT/REPO:TAG: skopeo's manifest digest as the id, the same rootfs, blobs in the store" \
		"id $ID, skopeo $WANT" "$d" "$(pk_detail)"
pk --store "$S" run r -- sh -c 'echo "$GREETING"; pwd; ls; cat /etc/old 2>/dev/null || echo gone'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf 'hi\n/d\nnew\ngone')" ] \
	&& ok "pkgimg run works in the image pulled from the registry" \
	|| fail "pkgimg run works in the image pulled from the registry" "$(pk_detail)"
for ref in "docker://$HOSTPORT/test/img@$WANT" "$HOSTPORT/test/img:1"; do
	pk --store "$S" pull --insecure-registry "$HOSTPORT" "$ref"
	[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$WANT" ] && err_has "already in the store" \
		&& ok "pull ${ref/$HOSTPORT/HOST:PORT}: the same id, a hit" \
		|| fail "pull $ref: the same id, a hit" "$(pk_detail)"
done

# ---- an image index ------------------------------------------------------------
case $(dpkg --print-architecture 2>/dev/null) in
amd64) HOST=amd64 OTHER=arm64 ;;
arm64) HOST=arm64 OTHER=amd64 ;;
*) HOST= ;;
esac
if [ -z "$HOST" ]; then
	skip "an image index from the registry" "the host is neither amd64 nor arm64"
else
	"$PY" - "$T/multi" "$HOST" "$OTHER" <<'EOF'
import hashlib, io, json, os, sys, tarfile
d, plats = sys.argv[1], sys.argv[2:]
os.makedirs(d + "/blobs/sha256")
def blob(b):
    h = hashlib.sha256(b).hexdigest()
    open("%s/blobs/sha256/%s" % (d, h), "wb").write(b)
    return {"digest": "sha256:" + h, "size": len(b)}
mans = []
for arch in plats:
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w") as t:
        ti = tarfile.TarInfo("which"); data = arch.encode(); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    l = dict(blob(bio.getvalue()), mediaType="application/vnd.oci.image.layer.v1.tar")
    cfg = {"architecture": arch, "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [l["digest"]]}}
    c = dict(blob(json.dumps(cfg).encode()), mediaType="application/vnd.oci.image.config.v1+json")
    m = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": c, "layers": [l]}
    mans.append(dict(blob(json.dumps(m).encode()), mediaType="application/vnd.oci.image.manifest.v1+json",
                     platform={"os": "linux", "architecture": arch}))
ix = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": mans}
json.dump({"schemaVersion": 2, "manifests": [dict(blob(json.dumps(ix).encode()),
    mediaType="application/vnd.oci.image.index.v1+json", annotations={"org.opencontainers.image.ref.name": "latest"})]},
    open(d + "/index.json", "w"))
open(d + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
	skopeo copy -q --all --dest-tls-verify=false "oci:$T/multi:latest" "docker://$HOSTPORT/test/multi:1" \
		|| bail "skopeo copy --all the two-platform index into the registry"
	S=$T/store-m
	for plat in "" "$OTHER"; do
		pk --store "$S" pull --insecure-registry "$HOSTPORT" ${plat:+--platform linux/$plat} "docker://$HOSTPORT/test/multi:1" --tag "m$plat"
		pk --store "$S" export "m$plat" --dir "$T/root-m$plat"
		want=${plat:-$HOST} how="(the host's)"
		[ -n "$plat" ] && how="(--platform)"
		[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/root-m$plat/which" 2>/dev/null)" = "$want" ] \
			&& ok "an image index from the registry: linux/$want $how" \
			|| fail "an image index from the registry: linux/$want" "$(pk_detail)"
	done
fi

# ---- TLS from a CA the test makes ---------------------------------------------------
if command -v openssl >/dev/null; then
	C=$T/tls
	mkdir -p "$C"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=pkgimg test CA" \
		-keyout "$C/ca.key" -out "$C/ca.crt" >/dev/null 2>&1 &&
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout "$C/srv.key" \
		-out "$C/srv.csr" >/dev/null 2>&1 &&
	printf 'subjectAltName=IP:127.0.0.1\n' >"$C/ext" &&
	openssl x509 -req -in "$C/srv.csr" -CA "$C/ca.crt" -CAkey "$C/ca.key" -CAcreateserial \
		-days 2 -extfile "$C/ext" -out "$C/srv.crt" >/dev/null 2>&1 \
		|| bail "make a CA and a server certificate with openssl"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" \
		-keyout "$C/other.key" -out "$C/other.crt" >/dev/null 2>&1
	TPORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	cat >"$W/registry-tls.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $T/registry
http:
  addr: 127.0.0.1:$TPORT
  tls:
    certificate: $C/srv.crt
    key: $C/srv.key
EOF
	"$REG" serve "$W/registry-tls.yml" >"$T/registry-tls.log" 2>&1 &
	_T_PIDS+=($!)
	for _ in $(seq 50); do
		curl -fs --cacert "$C/ca.crt" "https://127.0.0.1:$TPORT/v2/" >/dev/null 2>&1 && break
		sleep 0.2
	done
	S=$T/store-tls
	pk --store "$S" --ca-bundle "$C/ca.crt" pull "docker://127.0.0.1:$TPORT/test/img:1"
	[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$WANT" ] \
		&& ok "pull over HTTPS, verified with --ca-bundle (the test's CA)" \
		|| fail "pull over HTTPS, verified with --ca-bundle (the test's CA)" "$(pk_detail)" "$(cat "$T/registry-tls.log")"
	pk --store "$T/store-tls2" --ca-bundle "$C/other.crt" pull "docker://127.0.0.1:$TPORT/test/img:1"
	pk_failed_cleanly && err_has "certificate|SSL|TLS" && [ -z "$(listing "$T/store-tls2")" ] \
		&& ok "a registry whose certificate the CA bundle does not vouch for: refused, nothing kept" \
		|| fail "a registry whose certificate the CA bundle does not vouch for: refused, nothing kept" "$(pk_detail)"
else
	skip "pull over HTTPS" "openssl is not installed"
fi

# ---- errors ------------------------------------------------------------------------
S=$T/store-x
bad() {	# bad NAME REF REGEX
	local before
	before=$(listing "$S")
	pk --store "$S" pull --insecure-registry "$HOSTPORT" "$2"
	if pk_failed_cleanly && err_has "$3" && [ "$before" = "$(listing "$S")" ] && [ -z "$(ls "$S/tmp" 2>/dev/null)" ]; then
		ok "$1: refused, nothing kept"
		head -n1 "$PK_ERR" | sed 's/^/# /' 
	else
		fail "$1: refused, nothing kept" "$(pk_detail)" "$(listing "$S")"
	fi
}
bad "an unknown tag" "docker://$HOSTPORT/test/img:nosuch" "no image 'nosuch'.*404"
bad "a Docker Hub name (no registry host)" "docker://library/debian:12" "not a registry host"
# a layer blob changed in the registry's storage: served, but not its digest
top=$("$PY" -c 'import json, sys; m = json.loads(sys.stdin.read()); print(m["layers"][-1]["digest"].split(":")[1])' \
	< <(skopeo inspect --tls-verify=false --raw "docker://$HOSTPORT/test/img:1"))
f=$(find "$T/registry" -path "*/blobs/sha256/*/$top/data" | head -1)
if [ -f "$f" ]; then
	"$PY" -c 'import sys; p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 0x55; open(p, "wb").write(b)' "$f"
	bad "a layer blob the registry serves with the wrong bytes" "docker://$HOSTPORT/test/img:1" "$top|sha256|digest"
else
	fail "the registry's storage holds the layer blob" "$(find "$T/registry" | head)"
fi
finish
