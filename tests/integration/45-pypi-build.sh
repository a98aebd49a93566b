#!/bin/bash
# pkgimg wheel: the PEP 517 builder of image/pybuild.c (issue 18), in the
# default image (debian-slim + Debian's python3 from the real archive;
# skipped when it is unreachable), the build requirements from a local
# find-links directory of real wheels (Debian's setuptools and wheel, plus
# tests/fixtures/pysrc.sh's when present).  pip is the oracle: Debian's
# `/usr/bin/python3 -m pip wheel --no-deps` of the same source on the same
# wheels.
#   (a) each source's wheel holds the files pip's holds (RECORD's set), for
#       a setup.py project (legacy backend), a pyproject one (setuptools), an
#       in-tree backend (backend-path), an sdist (.tar.gz and .zip, file://),
#       a git repository (a tag, the default branch); the project directory
#       is never written;
#   (b) two stores give the same wheel bytes;
#   (c) a second build is a cache hit: no sandbox run;
#   (d) a C extension in an image without gcc fails naming the hook and the
#       exit status, with the advice to add build-essential;
#   (e) the network is off during the build: a setup.py that connects to a
#       server on 127.0.0.1 (which pip's build on the host reaches) does not.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "pkgimg wheel" "archive unreachable"; finish; }
S=$T/store
LINKS=$T/links
mkdir -p "$LINKS" "$T/debs"
(cd "$T/debs" && apt-get download python3-setuptools-whl python3-wheel-whl) >"$T/dl.out" 2>&1 \
	|| { archive_reachable || { skip "pkgimg wheel" "archive unreachable"; finish; }
	bail "apt-get download python3-setuptools-whl python3-wheel-whl" "$(cat "$T/dl.out")"; }
for d in "$T"/debs/*.deb; do dpkg -x "$d" "$T/debs/x"; done
cp "$T"/debs/x/usr/share/python-wheels/*.whl "$LINKS/"
IDX=(--no-index --find-links "$LINKS")

# ---- the projects ----
P=$T/src
mkdir -p "$P/legacy" "$P/pyproj/src/pyproj_mod" "$P/intree/_build" "$P/net" "$P/cext"
cat >"$P/legacy/setup.py" <<'EOF'
from setuptools import setup
setup(name="legacy-proj", version="1.2.3", py_modules=["legacy_mod"],
      entry_points={"console_scripts": ["legacy-hello=legacy_mod:main"]})
EOF
printf 'def main():\n    print("hello")\n' >"$P/legacy/legacy_mod.py"
cat >"$P/pyproj/pyproject.toml" <<'EOF'
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "pyproj"
version = "0.5"
dependencies = ["idna>=2"]

[project.scripts]
pyproj-run = "pyproj_mod:main"
EOF
printf 'def main():\n    return 1\n' >"$P/pyproj/src/pyproj_mod/__init__.py"
echo "data" >"$P/pyproj/src/pyproj_mod/data.txt"
cat >"$P/intree/pyproject.toml" <<'EOF'
[build-system]
requires = []
build-backend = "intree"
backend-path = ["_build"]
EOF
cat >"$P/intree/_build/intree.py" <<'EOF'
import base64, hashlib, os, zipfile
def _h(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "intree-1.0-py3-none-any.whl"
    files = {"intree_mod.py": b"Y = 2\n",
             "intree-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: intree\nVersion: 1.0\n",
             "intree-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: intree\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    rec = "".join("%s,%s,%d\n" % (k, _h(v), len(v)) for k, v in files.items())
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as z:
        for k, v in reversed(list(files.items())):   # not in wheel's order: rewritten
            z.writestr(k, v)
        z.writestr("intree-1.0.dist-info/RECORD", rec + "intree-1.0.dist-info/RECORD,,\n")
    return name
EOF
printf 'from setuptools import setup, Extension\nsetup(name="cext", version="0.1", ext_modules=[Extension("cext", ["cext.c"])])\n' \
	>"$P/cext/setup.py"
printf '#include <Python.h>\nstatic struct PyModuleDef m = {PyModuleDef_HEAD_INIT, "cext"};\nPyMODINIT_FUNC PyInit_cext(void) { return PyModule_Create(&m); }\n' \
	>"$P/cext/cext.c"
# the sdists (as `setup.py sdist` lays them out: one top directory)
mkdir -p "$T/sd/legacy_proj-1.2.3"
cp "$P/legacy/"* "$T/sd/legacy_proj-1.2.3/"
printf 'Metadata-Version: 2.1\nName: legacy-proj\nVersion: 1.2.3\n' >"$T/sd/legacy_proj-1.2.3/PKG-INFO"
tar -C "$T/sd" -czf "$T/legacy_proj-1.2.3.tar.gz" legacy_proj-1.2.3
(cd "$T/sd" && "$PY" -m zipfile -c "$T/legacy_proj-1.2.3.zip" legacy_proj-1.2.3)
# the git repository: v1 (1.2.3), then main moves on (1.2.4)
G=$T/repo
cp -r "$P/legacy" "$G"
git -C "$G" init -q -b main && git -C "$G" add . &&
	git -C "$G" -c user.name=t -c user.email=t@t commit -qm one && git -C "$G" tag v1 &&
	sed -i 's/1.2.3/1.2.4/' "$G/setup.py" &&
	git -C "$G" -c user.name=t -c user.email=t@t commit -qam two ||
	bail "the git repository is made" "git failed"

# a wheel's RECORD paths, sorted
record_set() {
	"$PY" - "$1" <<'EOF'
import csv, io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
rec = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")][0]
for row in sorted(csv.reader(io.StringIO(z.read(rec).decode()))):
    if row:
        print(row[0])
EOF
}

# ---- (a) the same files as pip's wheel ----
SNAP_BEFORE=$(dir_snapshot "$P")
t0=$(date +%s)
first=1
for spec in "legacy:$P/legacy" "pyproj:$P/pyproj" "intree:$P/intree" \
	    "sdist-tgz:file://$T/legacy_proj-1.2.3.tar.gz" "sdist-zip:$T/legacy_proj-1.2.3.zip" \
	    "git-tag:git+file://$G@v1" "git-head:git+file://$G"; do
	name=${spec%%:*} source=${spec#*:}
	t1=$(date +%s.%N)
	pk --store "$S" -v wheel "$source" -w "$T/out/$name" "${IDX[@]}"
	awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t1 }" >"$T/time.pk"
	if [ "$PK_RC" -ne 0 ]; then
		fail "$name: pkgimg wheel builds it" "$(pk_detail)"
		continue
	fi
	if [ "$first" = 1 ]; then
		echo "# the image (debian-slim + python3) and the first build: $(( $(date +%s) - t0 )) s"
		first=0
	fi
	w=$(cat "$PK_OUT")
	mkdir -p "$T/pip/$name"
	# pip 23 builds a directory in place: it gets a copy
	pipsrc=$source
	if [ -d "$source" ]; then
		rm -rf "$T/pipsrc" && cp -r "$source" "$T/pipsrc" && pipsrc=$T/pipsrc
	fi
	t1=$(date +%s.%N)
	if ! "$PY" -m pip wheel -q --no-deps "${IDX[@]}" -w "$T/pip/$name" "$pipsrc" \
		>"$T/pip/$name.log" 2>&1; then
		fail "$name: pip wheel builds it (the oracle)" "$(tail -20 "$T/pip/$name.log")"
		continue
	fi
	pw=$(ls "$T/pip/$name"/*.whl)
	echo "# $name: pkgimg $(cat "$T/time.pk") s, pip $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t1 }") s"
	if [ "$(basename "$w")" = "$(basename "$pw")" ] &&
	   [ "$(record_set "$w")" = "$(record_set "$pw")" ]; then
		ok "$name: the wheel's name and RECORD file set are pip's ($(basename "$w"))"
	else
		fail "$name: the wheel's name and RECORD file set are pip's" \
			"pkgimg: $(basename "$w")" "$(record_set "$w")" \
			"pip: $(basename "$pw")" "$(record_set "$pw")"
	fi
	if "$PY" -m zipfile -t "$w" >/dev/null 2>&1 &&
	   "$PY" - "$w" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
di = [n for n in names if ".dist-info/" in n.split("/")[0] + "/"]
assert names == sorted(n for n in names if n not in di) + sorted(n for n in di if not n.endswith("RECORD")) + [n for n in di if n.endswith("RECORD")], names
for i in z.infolist():
    assert i.date_time == (1980, 1, 1, 0, 0, 0), (i.filename, i.date_time)
    assert (i.external_attr >> 16) in (0o100644, 0o100755), (i.filename, oct(i.external_attr >> 16))
    assert i.compress_type == zipfile.ZIP_DEFLATED
EOF
	then
		ok "$name: the wheel is rewritten (sorted, .dist-info last, 1980 times, 0644/0755)"
	else
		fail "$name: the wheel is rewritten (sorted, .dist-info last, 1980 times, 0644/0755)"
	fi
done
if [ "$SNAP_BEFORE" = "$(dir_snapshot "$P")" ]; then
	ok "the project directories are not written by the builds"
else
	fail "the project directories are not written by the builds" \
		"$(diff <(echo "$SNAP_BEFORE") <(dir_snapshot "$P") | head -20)"
fi
[ -f "$T/out/git-tag/legacy_proj-1.2.3-py3-none-any.whl" ] &&
	[ -f "$T/out/git-head/legacy_proj-1.2.4-py3-none-any.whl" ] &&
	ok "git: @v1 builds the tag's version, no @REV the default branch's" ||
	fail "git: @v1 builds the tag's version, no @REV the default branch's" \
		"$(ls "$T/out/git-tag" "$T/out/git-head" 2>&1)"

# ---- (b) two stores, the same bytes ----
# The second store gets the first one's image layers and downloads (hard
# links, no archive traffic), not its build cache nor the wheels it built.
S2=$T/store2
mkdir -p "$S2"
cp -al "$S/blobs" "$S/layers" "$S2/" 2>/dev/null
for w in "$T"/out/*/*.whl; do rm -f "$S2/blobs/sha256/$(sha256_of "$w")"; done
for name in pyproj sdist-tgz; do
	case $name in legacy) source=$P/legacy ;; pyproj) source=$P/pyproj ;;
		sdist-tgz) source=file://$T/legacy_proj-1.2.3.tar.gz ;; esac
	pk --store "$S2" -v wheel "$source" -w "$T/out2/$name" "${IDX[@]}"
	w1=$(ls "$T/out/$name"/*.whl 2>/dev/null) w2=$(cat "$PK_OUT")
	if [ "$PK_RC" -eq 0 ] && err_has "build_wheel in the sandbox" &&
	   [ "$(sha256_of "$w1")" = "$(sha256_of "$w2")" ]; then
		ok "$name: built again in another store, the same wheel bytes ($(sha256_of "$w2" | cut -c1-12))"
	else
		fail "$name: built again in another store, the same wheel bytes" "$(pk_detail)" \
			"$(sha256sum "$w1" "$w2" 2>&1)"
	fi
done

# ---- (c) a second build is a cache hit ----
pk --store "$S" -v wheel "$P/pyproj" -w "$T/out3" "${IDX[@]}"
if [ "$PK_RC" -eq 0 ] && err_has "in the build cache" && ! err_has "in the sandbox" &&
   cmp -s "$(cat "$PK_OUT")" "$T/out/pyproj/pyproj-0.5-py3-none-any.whl"; then
	ok "a second build of the same source is a cache hit (no sandbox run)"
else
	fail "a second build of the same source is a cache hit (no sandbox run)" "$(pk_detail)"
fi
echo "changed" >"$T/changed.txt"
cp -r "$P/pyproj" "$T/pyproj2" && echo "# changed" >>"$T/pyproj2/src/pyproj_mod/__init__.py"
pk --store "$S" -v wheel "$T/pyproj2" -w "$T/out4" "${IDX[@]}"
if [ "$PK_RC" -eq 0 ] && err_has "build_wheel in the sandbox" && ! err_has "in the build cache"; then
	ok "a changed project directory is built again"
else
	fail "a changed project directory is built again" "$(pk_detail)"
fi

# ---- (d) a C extension without a compiler ----
pk --store "$S" wheel "$P/cext" -w "$T/out5" "${IDX[@]}"
if pk_failed_cleanly && err_has "\[build\] .*cext: build_wheel failed \(exit [0-9]+\)" &&
   err_has "x86_64-linux-gnu-gcc|gcc" && err_has "add an apt step: --apt build-essential"; then
	ok "a C extension in an image without gcc: build_wheel failed, add --apt build-essential"
else
	fail "a C extension in an image without gcc: build_wheel failed, add --apt build-essential" \
		"$(pk_detail)"
fi

# ---- (e) no network during the build ----
mkdir -p "$T/www"
echo hi >"$T/www/probe"
start_http_server "$T/www"
cat >"$P/net/setup.py" <<EOF
import socket
from setuptools import setup
try:
    socket.create_connection(("127.0.0.1", $HTTP_PORT), timeout=5).close()
    raise SystemExit("NETWORK REACHABLE during the build")
except OSError as e:
    print("no network:", e)
setup(name="netprobe", version="0.1", py_modules=[])
EOF
if "$PY" -m pip wheel -q --no-deps "${IDX[@]}" -w "$T/pip/net" "$P/net" >"$T/pip/net.log" 2>&1; then
	fail "the network probe connects when built on the host (pip)" "$(tail -5 "$T/pip/net.log")"
else
	grep -q "NETWORK REACHABLE" "$T/pip/net.log" &&
		ok "the network probe connects when built on the host (pip)" ||
		fail "the network probe connects when built on the host (pip)" "$(tail -5 "$T/pip/net.log")"
fi
pk --store "$S" wheel "$P/net" -w "$T/out6" "${IDX[@]}"
if [ "$PK_RC" -eq 0 ] && [ -f "$T/out6/netprobe-0.1-py3-none-any.whl" ]; then
	ok "the network is off during pkgimg's build"
else
	fail "the network is off during pkgimg's build" "$(pk_detail)"
fi
# ---- isolation: the image's own site-packages are hidden ----
# An in-tree backend (no build requirements) that imports setuptools: the
# image has Debian's python3-setuptools, which an isolated build must not
# see (as pip's build environment hides the system site); with
# --no-build-isolation it is the image as it is.
mkdir -p "$P/iso/_b"
cat >"$P/iso/pyproject.toml" <<'EOF2'
[build-system]
requires = []
build-backend = "isob"
backend-path = ["_b"]
EOF2
sed -e 's/intree/isoproj/g' -e 's/^def build_wheel(\(.*\)):$/def build_wheel(\1):\n    import setuptools/' \
	"$P/intree/_build/intree.py" >"$P/iso/_b/isob.py"
ISO=(--apt python3-setuptools "${IDX[@]}")
pk --store "$S" wheel "$P/iso" -w "$T/out7" "${ISO[@]}"
if pk_failed_cleanly && err_has "build_wheel failed" && err_has "No module named 'setuptools'"; then
	ok "isolated: the image's python3-setuptools is not importable by the build"
else
	fail "isolated: the image's python3-setuptools is not importable by the build" "$(pk_detail)"
fi
pk --store "$S" wheel "$P/iso" -w "$T/out7" --no-build-isolation "${ISO[@]}"
if [ "$PK_RC" -eq 0 ] && [ -f "$T/out7/isoproj-1.0-py3-none-any.whl" ]; then
	ok "--no-build-isolation: the image's python3-setuptools is there"
else
	fail "--no-build-isolation: the image's python3-setuptools is there" "$(pk_detail)"
fi
pk --store "$S" wheel "$P/legacy" -w "$T/out8" --no-build-isolation "${IDX[@]}"
if pk_failed_cleanly && err_has "with --no-build-isolation the image itself must have the build backend"; then
	ok "--no-build-isolation on an image without setuptools: the advice says what to install"
else
	fail "--no-build-isolation on an image without setuptools: the advice says what to install" \
		"$(pk_detail)"
fi
finish
