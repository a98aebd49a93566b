#!/bin/bash
# A hostile store and hostile archives (issue 15): a blob (.deb, .tar.bz2,
# wheel) swapped or corrupted inside the store is found while it is read,
# removed, fetched again, with a warning; what a package unpacks is bounded by its declared
# size (a .deb's Installed-Size) or a ratio (conda), a download with no
# declared size by PKGIMG_MAX_DOWNLOAD; a refused conda package leaves no
# unpacked/<sha>/; ENOSPC names the folder and the space; a -v target under
# a dangling link names the link; gc removes index caches no longer used; a
# bad option is refused before any network work.  Small crafted archives only.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store

# ---- a .deb blob swapped for another .deb in the store ------------------------------
fx "$S" lock --apt hello-fixture -o "$T/hello.lock" --json
[ "$PK_RC" -eq 0 ] || bail "lock --apt hello-fixture" "$(pk_detail)"
HSHA=$(json_get "$PK_OUT" '[p["sha256"] for p in j["packages"] if p["name"] == "hello-fixture"][0]')
LSHA=$(json_get "$PK_OUT" '[p["sha256"] for p in j["packages"] if p["name"] == "libgreet"][0]')
pk --store "$S" install --lock "$T/hello.lock" --tag good --root "$T/r0"
[ "$PK_RC" -eq 0 ] || bail "install --lock hello.lock" "$(pk_detail)"
ID=$(cat "$PK_OUT")

# a fresh store holding the same blobs, hello-fixture's replaced by libgreet's
S2=$T/store2
mkdir -p "$S2/blobs/sha256"
cp "$S/blobs/sha256/"* "$S2/blobs/sha256/"
chmod u+w "$S2/blobs/sha256/$HSHA"
cp "$S/blobs/sha256/$LSHA" "$S2/blobs/sha256/$HSHA"
pk --store "$S2" install --lock "$T/hello.lock" --root "$T/r1"
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ] && [ -x "$T/r1/usr/bin/hello-fixture" ] \
	&& err_has "warning.*$HSHA.*does not match its sha256.*fetching it again" \
	&& [ "$(sha256_of "$S2/blobs/sha256/$HSHA")" = "$HSHA" ]; then
	ok "a .deb blob swapped in the store: warned, fetched again, the right package installed"
else
	fail "a .deb blob swapped in the store: warned, fetched again, the right package installed" \
		"$(pk_detail)" "root: $(cd "$T/r1" 2>/dev/null && find . -type f | sort | head)"
fi

# ---- a corrupt .deb blob ---------------------------------------------------------------
S3=$T/store3
mkdir -p "$S3/blobs/sha256"
cp "$S/blobs/sha256/"* "$S3/blobs/sha256/"
chmod u+w "$S3/blobs/sha256/$HSHA"
size=$(stat -c %s "$S3/blobs/sha256/$HSHA")
printf 'garbage!garbage!garbage!' | dd of="$S3/blobs/sha256/$HSHA" bs=1 seek=$((size - 200)) \
	conv=notrunc status=none
pk --store "$S3" install --lock "$T/hello.lock"
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID" ] \
	&& err_has "warning.*$HSHA.*corrupt.*fetching it again"; then
	ok "a corrupt .deb blob: warned, removed, fetched again, installed"
else
	fail "a corrupt .deb blob: warned, removed, fetched again, installed" "$(pk_detail)"
fi

# ---- a .deb declaring Installed-Size: 1 that unpacks 4 MiB --------------------------
V=$(fixture_variant big)
D=$T/bigdeb
mkdir -p "$D/DEBIAN" "$D/usr/share/big"
head -c $((4 << 20)) /dev/zero >"$D/usr/share/big/zeros"
cat >"$D/DEBIAN/control" <<'EOF'
Package: big-liar
Version: 1.0
Architecture: all
Maintainer: pkgimg tests <test@invalid>
Installed-Size: 1
Priority: optional
Section: misc
Description: declares 1 KiB, unpacks 4 MiB
EOF
# and an image whose /data is a link to nothing (for run -v below)
mkdir -p "$T/linky/DEBIAN" "$V/pool/main/l/linky"
ln -s /nonexistent "$T/linky/data"
sed 's/^Package: big-liar/Package: linky/; s/^Description: .*/Description: a dangling link/' \
	"$D/DEBIAN/control" >"$T/linky/DEBIAN/control"
dpkg-deb --root-owner-group --build "$T/linky" "$V/pool/main/l/linky/linky_1.0_all.deb" >/dev/null \
	|| bail "dpkg-deb builds linky"
mkdir -p "$V/pool/main/b/big-liar"
dpkg-deb --root-owner-group -Zxz --build "$D" "$V/pool/main/b/big-liar/big-liar_1.0_all.deb" >/dev/null \
	|| bail "dpkg-deb builds big-liar"
fixture_reindex "$V" --scan
S4=$T/store4
PKGIMG_UNPACK_SLACK=1M FX_URL=$HTTP_URL/big fx "$S4" install --apt big-liar
left=$(find "$S4/unpacked" "$S4/tmp" "$S4/layers" -mindepth 1 2>/dev/null)
if pk_failed_cleanly && err_has "big-liar.*\[unpack\].*more than [0-9]+ bytes.*Installed-Size: 1 KiB.*PKGIMG_UNPACK_SLACK" \
	&& [ -z "$left" ]; then
	ok "a .deb with Installed-Size: 1 holding 4 MiB is refused (limit and PKGIMG_UNPACK_SLACK named), nothing left"
else
	fail "a .deb with Installed-Size: 1 holding 4 MiB is refused (limit and PKGIMG_UNPACK_SLACK named), nothing left" \
		"$(pk_detail)" "left: $left"
fi
# the default slack (64 MiB) lets a real package's small lie through
FX_URL=$HTTP_URL/big fx "$T/store5" install --apt big-liar
if [ "$PK_RC" -eq 0 ]; then ok "the same .deb installs within the default slack"
else fail "the same .deb installs within the default slack" "$(pk_detail)"; fi

# ---- ENOSPC while unpacking names the folder, what is free and what is needed --------
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	mkdir -p "$T/small"
	out=$(unshare -m bash -c 'mount -t tmpfs -o size=2m tmpfs "$1" || exit 99; shift
		"$@" 2>&1; echo "rc=$?"' _ "$T/small" "$PKGIMG" --store "$T/small/store" install --base scratch \
		--apt-source "$HTTP_URL/big/ $SUITE $COMPONENT" --keyring "$KEYRING" --apt big-liar 2>&1)
	if grep -qE "big-liar.*\[unpack\] cannot write '.*zeros': No space left on device; /.*/unpack-[^ ]*/tree/usr/share/big has [0-9.]+ [KMG]iB free, [0-9.]+ [KMG]iB needed" <<<"$out" \
		&& grep -q 'rc=1' <<<"$out"; then
		ok "ENOSPC while unpacking names the folder, the space free and the space needed"
	else
		fail "ENOSPC while unpacking names the folder, the space free and the space needed" "$out"
	fi
else
	skip "ENOSPC while unpacking names the folder, the space free and the space needed" "needs root and unshare -m for a small tmpfs"
fi

# ---- run -v under a dangling link of the image names the link ------------------------
FX_URL=$HTTP_URL/big fx "$T/store5" install --apt linky --tag linky
[ "$PK_RC" -eq 0 ] || bail "install --apt linky" "$(pk_detail)"
mkdir -p "$T/hostdir"
pk --store "$T/store5" run -v "$T/hostdir:/data/sub" linky -- /nothing
if pk_failed_cleanly && err_has "/data/sub: \[sandbox\] bind mount: '/data' in the image is a symbolic link to '/nonexistent', which does not exist"; then
	ok "run -v under a dangling link names the link and its target"
elif err_has "namespace|unshare|Operation not permitted"; then
	skip "run -v under a dangling link names the link and its target" "no sandbox here: $(head -n1 "$PK_ERR")"
else
	fail "run -v under a dangling link names the link and its target" "$(pk_detail)"
fi

# ---- a download with no declared size is bounded -------------------------------------
PKGIMG_MAX_DOWNLOAD=1K fx "$T/store6" lock --apt hello-fixture -o "$T/x.lock"
if pk_failed_cleanly && err_has "InRelease.*\[fetch\].*more than 1024 bytes.*PKGIMG_MAX_DOWNLOAD" \
	&& [ -z "$(find "$T/store6/tmp" "$T/store6/index" -type f -name '*.part*' 2>/dev/null)" ]; then
	ok "an index with no declared size stops at PKGIMG_MAX_DOWNLOAD, the error names it"
else
	fail "an index with no declared size stops at PKGIMG_MAX_DOWNLOAD, the error names it" "$(pk_detail)"
fi
PKGIMG_MAX_DOWNLOAD=lots fx "$T/store6" lock --apt hello-fixture -o "$T/x.lock"
if [ "$PK_RC" -eq 2 ] && err_has "PKGIMG_MAX_DOWNLOAD=lots"; then ok "a bad PKGIMG_MAX_DOWNLOAD is a usage error"
else fail "a bad PKGIMG_MAX_DOWNLOAD is a usage error" "$(pk_detail)"; fi

# ---- conda: a crafted channel ----------------------------------------------------------
CH=$T/www/ch
"$PY" - "$CH" <<'EOF' || bail "the crafted conda channel builds"
import hashlib, io, json, os, sys, tarfile
ch = sys.argv[1]
os.makedirs(ch + "/linux-64"); os.makedirs(ch + "/noarch")
json.dump({"info": {"subdir": "noarch"}, "packages": {}, "packages.conda": {}, "repodata_version": 1},
          open(ch + "/noarch/repodata.json", "w"))
def pkg(name, files, extra=()):
    fn = "%s-1.0-0.tar.bz2" % name
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:bz2") as t:
        def add(path, data):
            ti = tarfile.TarInfo(path); ti.size = len(data); ti.mtime = 1700000000
            t.addfile(ti, io.BytesIO(data))
        index = {"name": name, "version": "1.0", "build": "0", "build_number": 0,
                 "depends": [], "subdir": "linux-64", "license": "MIT"}
        paths = [{"_path": p, "path_type": "hardlink", "sha256": hashlib.sha256(d).hexdigest(),
                  "size_in_bytes": len(d)} for p, d in files]
        add("info/index.json", json.dumps(index).encode())
        add("info/paths.json", json.dumps({"paths": paths, "paths_version": 1}).encode())
        add("info/files", "".join(p + "\n" for p, _ in files).encode())
        for p, d in files + list(extra):
            add(p, d)
    data = buf.getvalue()
    open(ch + "/linux-64/" + fn, "wb").write(data)
    rec = dict(index, sha256=hashlib.sha256(data).hexdigest(), md5=hashlib.md5(data).hexdigest(),
               size=len(data))
    return fn, rec
recs = {}
for n, f, x in [("okpkg", [("share/ok.txt", b"ok\n")], ()),
                ("escaper", [("share/e.txt", b"e\n")], [("../../escaped", b"x\n")]),
                ("bomb", [("share/zeros", bytes(4 << 20))], ())]:
    fn, rec = pkg(n, f, x)
    recs[fn] = rec
json.dump({"info": {"subdir": "linux-64"}, "packages": recs, "packages.conda": {},
           "repodata_version": 1}, open(ch + "/linux-64/repodata.json", "w"))
EOF
S7=$T/store7
pk --store "$S7" lock --base scratch --conda okpkg -c "$HTTP_URL/ch" -o "$T/ok.lock" --json
[ "$PK_RC" -eq 0 ] || bail "lock --conda okpkg" "$(pk_detail)"
OSHA=$(json_get "$PK_OUT" '[p["sha256"] for p in j["packages"] if p["name"] == "okpkg"][0]')
pk --store "$S7" install --lock "$T/ok.lock"
[ "$PK_RC" -eq 0 ] || bail "install --lock ok.lock" "$(pk_detail)"
OID=$(cat "$PK_OUT")
S8=$T/store8
mkdir -p "$S8/blobs/sha256"
cp "$S7/blobs/sha256/$OSHA" "$S8/blobs/sha256/"
chmod u+w "$S8/blobs/sha256/$OSHA"
printf 'BZh9garbage' | dd of="$S8/blobs/sha256/$OSHA" bs=1 seek=0 conv=notrunc status=none
pk --store "$S8" install --lock "$T/ok.lock" --root "$T/r8"
if [ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$OID" ] && [ -f "$T/r8/opt/conda/share/ok.txt" ] \
	&& err_has "warning.*$OSHA.*corrupt.*fetching it again"; then
	ok "a corrupt conda blob: warned, fetched again, installed"
else
	fail "a corrupt conda blob: warned, fetched again, installed" "$(pk_detail)"
fi

for p in escaper bomb; do
	S9=$T/store9-$p
	PKGIMG_UNPACK_SLACK=1M pk --store "$S9" install --base scratch --conda $p -c "$HTTP_URL/ch"
	left=$(find "$S9/unpacked" "$S9/tmp" -mindepth 1 2>/dev/null)
	case $p in
	escaper) want='escaped|refus' ;;
	bomb) want='bomb-1.0-0.tar.bz2.*\[unpack\].*more than [0-9]+ bytes.*PKGIMG_UNPACK_SLACK' ;;
	esac
	if pk_failed_cleanly && err_has "$want" && [ -z "$left" ]; then
		ok "a refused conda package ($p) leaves nothing in unpacked/ or tmp/"
	else
		fail "a refused conda package ($p) leaves nothing in unpacked/ or tmp/" "$(pk_detail)" "left: $left"
	fi
done

# ---- a wheel blob swapped in the store (a hand-written pip lock on scratch) -----------
mkdir -p "$T/www/whl"
"$PY" - "$T/www/whl" <<'EOF' || bail "the wheels build"
import base64, hashlib, sys, zipfile
def wheel(name, body):
    files = {name + '/__init__.py': body,
             name + '-1.0.dist-info/METADATA': ('Metadata-Version: 2.1\nName: %s\nVersion: 1.0\n' % name).encode(),
             name + '-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\nTag: py3-none-any\n'}
    h = lambda d: 'sha256=' + base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()
    rec = ''.join('%s,%s,%d\n' % (p, h(d), len(d)) for p, d in files.items()) + name + '-1.0.dist-info/RECORD,,\n'
    with zipfile.ZipFile('%s/%s-1.0-py3-none-any.whl' % (sys.argv[1], name), 'w', zipfile.ZIP_DEFLATED) as z:
        for p, d in files.items():
            z.writestr(p, d)
        z.writestr(name + '-1.0.dist-info/RECORD', rec)
wheel('alpha', b'x = 1\n')
wheel('beta', b'y = 2\n')
EOF
WSHA=$(sha256_of "$T/www/whl/alpha-1.0-py3-none-any.whl")
cat >"$T/pip.lock" <<EOF
version: 1
platform: linux/amd64
base: scratch
python: "3.11"
sources: []
layers:
- step: "pip: alpha"
  packages:
  - ecosystem: pypi
    name: alpha
    version: "1.0"
    arch: any
    url: $HTTP_URL/whl/alpha-1.0-py3-none-any.whl
    sha256: $WSHA
    size: $(stat -c %s "$T/www/whl/alpha-1.0-py3-none-any.whl")
    requested_by: --pip alpha
    filename: alpha-1.0-py3-none-any.whl
    index: $HTTP_URL/whl/
EOF
S11=$T/store11
mkdir -p "$S11/blobs/sha256"
cp "$T/www/whl/beta-1.0-py3-none-any.whl" "$S11/blobs/sha256/$WSHA"
pk --store "$S11" install --lock "$T/pip.lock" --root "$T/r11"
site=$T/r11/usr/local/lib/python3.11/dist-packages
if [ "$PK_RC" -eq 0 ] && [ -f "$site/alpha/__init__.py" ] && [ ! -e "$site/beta" ] \
	&& err_has "warning.*$WSHA.*corrupt or replaced.*fetching it again"; then
	ok "a wheel blob swapped in the store: warned, fetched again, the right wheel installed"
else
	fail "a wheel blob swapped in the store: warned, fetched again, the right wheel installed" "$(pk_detail)" \
		"root: $(cd "$T/r11" 2>/dev/null && find . -type f | sort)"
fi

# ---- gc removes index caches no source of a kept image uses ---------------------------
# store "$S" has the fixture's index (used today); a source's cache not used
# for 40 days goes, the one in use stays and still serves --offline
used=$(ls "$S/index")
mkdir -p "$S/index/0000stale"
echo stale >"$S/index/0000stale/Packages"
touch -d '40 days ago' "$S/index/0000stale"
pk --store "$S" gc
if [ "$PK_RC" -eq 0 ] && [ ! -e "$S/index/0000stale" ] && [ -n "$used" ] && [ "$(ls "$S/index")" = "$used" ]; then
	ok "gc removes index caches not used for 30 days, keeps the ones in use"
else
	fail "gc removes index caches not used for 30 days, keeps the ones in use" "$(pk_detail)" "$(ls -la "$S/index")"
fi
touch -d '40 days ago' "$S/index/$used"
fx "$S" lock --apt hello-fixture -o "$T/again.lock"
pk --store "$S" gc
if [ -d "$S/index/$used" ]; then ok "a lock marks its source's index cache as used"
else fail "a lock marks its source's index cache as used" "$(pk_detail)"; fi

# ---- a bad option is refused before any network work ----------------------------------
DEAD="http://127.0.0.1:1/ $SUITE $COMPONENT"
for args in "install --pyc-opt 9" "install --pyc bogus" "install --tag -bad" "install --python abc" \
	"lock --python abc" "lock --cuda x.y --pip foo --index-url http://127.0.0.1:1/simple" \
	"install --apt BAD_NAME!" "install --pip ===bad --index-url http://127.0.0.1:1/simple" \
	"install -r $T/no-such-requirements.txt --index-url http://127.0.0.1:1/simple" \
	"lock --pip foo --extra-index-url notaurl --index-url http://127.0.0.1:1/simple" \
	"install --conda bad[[spec -c http://127.0.0.1:1/ch"; do
	# shellcheck disable=SC2086
	pk --store "$T/store10" $args --base scratch --apt-source "$DEAD" --keyring "$KEYRING" --apt hello-fixture
	if [ "$PK_RC" -eq 2 ] && ! err_has "fetch|connect"; then
		ok "'$args' is refused before any index is fetched"
	else
		fail "'$args' is refused before any index is fetched" "$(pk_detail)"
	fi
done
pk --store "$T/store10" install --base scratch --apt-source "$DEAD" --keyring "$T/no-such-keyring" --apt hello-fixture
if [ "$PK_RC" -eq 2 ] && err_has "no-such-keyring" && ! err_has "fetch|connect"; then
	ok "'--keyring MISSING' is refused before any index is fetched"
else
	fail "'--keyring MISSING' is refused before any index is fetched" "$(pk_detail)"
fi

finish
