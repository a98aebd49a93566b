#!/bin/bash
# conda end to end, on channels served on 127.0.0.1 that
# tests/fixtures/conda_fixture.py builds from real data (tests/fixtures/conda):
#   - `pkgimg lock --conda numpy` picks the same set as rattler
#     (npm @conda-org/rattler, simpleSolve) on the same channel; so does a
#     spec that needs __cuda, with and without --cuda;
#   - repodata.json.zst is used when served, revalidated with its ETag;
#   - installing the REAL zlib package (defaults, 2018) rewrites its prefix
#     placeholders and writes a conda-meta record with the keys and JSON
#     types of real records (conda-meta-records_rattler); a noarch: python
#     package lands in site-packages with its entry point;
#   - the same lock again is a key hit; conda's python is pip's target.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
S=$T/store

"$PY" "$SRC/tests/fixtures/conda_fixture.py" channels "$T/ch" >"$T/fx.out" 2>&1 \
	|| bail "the fixture channels build" "$(cat "$T/fx.out")"
start_http_server "$T/ch"
CH=$HTTP_URL
RATTLER=$("$SRC/tests/fixtures/rattler.sh" ensure "$SRC/build/rattler" 2>"$T/rattler.err")
case $? in
0) ;;
77) RATTLER= ; skip "rattler oracle" "$(head -n 1 "$T/rattler.err")" ;;
*) RATTLER= ; fail "rattler oracle installs" "$(cat "$T/rattler.err")" ;;
esac
rattler() {	# rattler OUT ARGS...: rattler's solve as "name version build" lines
	local out=$1; shift
	RATTLER=$RATTLER node "$SRC/tests/fixtures/rattler/solve.mjs" "$@" >"$out.raw" 2>"$out.err"
	local rc=$?
	awk '{print $1, $2, $3}' "$out.raw" | sort >"$out"
	return $rc
}
pkset() {	# pkset JSON: pkgimg's conda packages as "name version build" lines
	json_get "$1" '[p["name"] + " " + p["version"] + " " + p["build"] for p in j["packages"] if p["ecosystem"] == "conda"]' | sort
}

# ---- numpy, against rattler
pk --store "$S" lock --base scratch --conda numpy -c "$CH/forge" -o "$T/numpy.lock" --json
[ "$PK_RC" -eq 0 ] || bail "lock --conda numpy" "$(pk_detail)"
pkset "$PK_OUT" >"$T/pk.set"
if [ -n "$RATTLER" ]; then
	rattler "$T/rt.set" --channel "$CH/forge" numpy || fail "rattler solves numpy" "$(cat "$T/rt.set.err")"
	if [ "$(wc -l <"$T/pk.set")" -ge 25 ] && cmp -s "$T/pk.set" "$T/rt.set"; then
		ok "lock --conda numpy: the same $(wc -l <"$T/pk.set") packages as rattler on the same channel"
	else
		fail "lock --conda numpy: the same packages as rattler on the same channel" \
			"only pkgimg:" "$(comm -23 "$T/pk.set" "$T/rt.set")" "only rattler:" "$(comm -13 "$T/pk.set" "$T/rt.set")"
	fi
fi
grep -qx 'numpy 1.26.4 py312head63a1_0' "$T/pk.set" && grep -q '^python 3.12.1 ' "$T/pk.set" \
	&& ok "numpy 1.26.4 (py312) and python 3.12.1" || fail "numpy 1.26.4 (py312) and python 3.12.1" "$(cat "$T/pk.set")"
grep -q "step: 'conda: numpy -c $CH/forge'" "$T/numpy.lock" && grep -q 'type: conda' "$T/numpy.lock" \
	&& grep -q "repodata_sha256: [0-9a-f]\{64\}" "$T/numpy.lock" \
	&& grep -q "requested_by: --conda numpy" "$T/numpy.lock" \
	&& ok "the lockfile records the conda step, each subdir's repodata digest and the request" \
	|| fail "the lockfile records the conda step, each subdir's repodata digest and the request" "$(head -n 40 "$T/numpy.lock")"
grep -q 'GET /forge/linux-64/repodata.json.zst 200' "$HTTP_LOG" && ! grep -q 'GET /forge/linux-64/repodata.json 200' "$HTTP_LOG" \
	&& ok "repodata.json.zst is used when the channel serves it" \
	|| fail "repodata.json.zst is used when the channel serves it" "$(cat "$HTTP_LOG")"
: >"$HTTP_LOG"
pk --store "$S" lock --base scratch --conda numpy -c "$CH/forge" -o "$T/numpy2.lock"
cmp -s "$T/numpy.lock" "$T/numpy2.lock" && grep -q 'GET /forge/linux-64/repodata.json.zst 304' "$HTTP_LOG" \
	&& ok "locking again: byte-identical, the repodata revalidated by its ETag (304)" \
	|| fail "locking again: byte-identical, the repodata revalidated by its ETag (304)" "$(diff "$T/numpy.lock" "$T/numpy2.lock" | head)" "$(cat "$HTTP_LOG")"
pk --store "$S" --offline lock --base scratch --conda numpy -c "$CH/forge" -o "$T/numpy3.lock"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/numpy.lock" "$T/numpy3.lock" \
	&& ok "--offline locks from the cached repodata" || fail "--offline locks from the cached repodata" "$(pk_detail)"

# ---- spec forms, against rattler: the same set, or both finding nothing
# ("numpy=1.26=py312*" means version ==1.26 to conda and rattler alike)
for spec in 'numpy 1.26.* py312*' 'numpy=1.26.4=py312*' 'numpy[version=">=1.26,<2",build=py312*]' \
	'numpy>=1.26,<2' 'numpy=1.26=py312*' 'numpy<1.26'; do
	pk --store "$S" lock --base scratch --conda "$spec" -c "$CH/forge" -o "$T/spec.lock" --json
	if [ "$PK_RC" -eq 0 ]; then pkset "$PK_OUT" >"$T/pk.spec"; else : >"$T/pk.spec"; fi
	[ -z "$RATTLER" ] && continue
	rattler "$T/rt.spec" --channel "$CH/forge" "$spec" || : >"$T/rt.spec"
	cmp -s "$T/pk.spec" "$T/rt.spec" \
		&& ok "spec $spec: $( [ -s "$T/pk.spec" ] && echo "the same $(wc -l <"$T/pk.spec") packages" || echo "no solution") as rattler" \
		|| fail "spec $spec: the same result as rattler" "pkgimg:" "$(cat "$T/pk.spec" "$PK_ERR")" "rattler:" "$(cat "$T/rt.spec" "$T/rt.spec.err")"
done

# (rattler 0.3.5's WASM build panics on any "channel::" spec: checked alone)
pk --store "$S" lock --base scratch --conda "forge::numpy" -c "$CH/forge" -o "$T/spec.lock" --json
[ "$PK_RC" -eq 0 ] && pkset "$PK_OUT" | cmp -s - "$T/pk.set" \
	&& ok "spec forge::numpy: the channel by name, the same set as numpy" \
	|| fail "spec forge::numpy: the channel by name, the same set as numpy" "$(pk_detail)"

# ---- __cuda, against rattler (conda's own test records: cudatoolkit needs __cuda)
pk --store "$S" lock --base scratch --conda cudatoolkit -c "$CH/legacy" -o "$T/cu.lock"
[ "$PK_RC" -ne 0 ] && grep -q '__cuda >=10.0' "$PK_ERR" && grep -q -- '--cuda X.Y' "$PK_ERR" \
	&& ok "cudatoolkit without a CUDA driver: a conflict naming __cuda and the fix" \
	|| fail "cudatoolkit without a CUDA driver: a conflict naming __cuda and the fix" "$(pk_detail)"
if [ -n "$RATTLER" ]; then
	rattler "$T/rt.cu0" --channel "$CH/legacy" cudatoolkit \
		&& fail "rattler agrees: no cudatoolkit without __cuda" "$(cat "$T/rt.cu0")" \
		|| ok "rattler agrees: no cudatoolkit without __cuda"
fi
pk --store "$S" lock --base scratch --conda cudatoolkit -c "$CH/legacy" --cuda 10.2 -o "$T/cu.lock" --json
[ "$PK_RC" -eq 0 ] || fail "lock --conda cudatoolkit --cuda 10.2" "$(pk_detail)"
pkset "$PK_OUT" >"$T/pk.cu"
grep -q '^cuda: "10.2"$' "$T/cu.lock" && grep -qx 'cudatoolkit 10.0 0' "$T/pk.cu" \
	&& ok "--cuda 10.2: cudatoolkit 10.0, and the lock records the CUDA version" \
	|| fail "--cuda 10.2: cudatoolkit 10.0, and the lock records the CUDA version" "$(cat "$T/cu.lock")"
if [ -n "$RATTLER" ]; then
	rattler "$T/rt.cu" --channel "$CH/legacy" --virtual __cuda=10.2 cudatoolkit
	cmp -s "$T/pk.cu" "$T/rt.cu" && ok "--cuda 10.2: the same set as rattler with __cuda=10.2" \
		|| fail "--cuda 10.2: the same set as rattler with __cuda=10.2" "pkgimg:" "$(cat "$T/pk.cu")" "rattler:" "$(cat "$T/rt.cu" "$T/rt.cu.err")"
fi
CONDA_OVERRIDE_CUDA=9.2 pk --store "$S" lock --base scratch --conda cudatoolkit -c "$CH/legacy" -o "$T/cu9.lock"
grep -A2 'name: cudatoolkit' "$T/cu9.lock" | grep -q 'version: "9.0"' \
	&& ok "CONDA_OVERRIDE_CUDA=9.2: cudatoolkit 9.0" || fail "CONDA_OVERRIDE_CUDA=9.2: cudatoolkit 9.0" "$(pk_detail)"

# ---- installing the real zlib package
pk --store "$S" lock --base scratch --conda zlib -c "$CH/forge" -c "$CH/zlib" -o "$T/zlib.lock"
[ "$PK_RC" -eq 0 ] || bail "lock --conda zlib" "$(pk_detail)"
grep -q 'filename: zlib-1.2.11-h7b6447c_3.conda' "$T/zlib.lock" \
	&& ok "zlib: the .conda file is preferred to the .tar.bz2" || fail "zlib: the .conda file is preferred" "$(cat "$T/zlib.lock")"
pk --store "$S" install --lock "$T/zlib.lock" --root "$T/zroot" --json
[ "$PK_RC" -eq 0 ] || bail "install --lock zlib.lock" "$(pk_detail)"
P=$T/zroot/opt/conda
# (this build's libz.so and libz.so.1 are symlinks with an empty target in
# the .conda, regular files in the .tar.bz2: both become files)
[ -f "$P/lib/libz.so.1.2.11" ] && [ -e "$P/lib/libz.so" ] && [ -f "$P/include/zlib.h" ] \
	&& ok "zlib's files are in /opt/conda" || fail "zlib's files are in /opt/conda" "$(cd "$T/zroot" && find . | head -50)"
grep -qx 'prefix=/opt/conda' "$P/lib/pkgconfig/zlib.pc" && ! grep -rq 'anaconda1anaconda2anaconda3' "$P/lib" "$P/include" \
	&& ok "zlib: the prefix placeholder is rewritten to /opt/conda" \
	|| fail "zlib: the prefix placeholder is rewritten to /opt/conda" "$(head -n 3 "$P/lib/pkgconfig/zlib.pc")"
REC=$P/conda-meta/zlib-1.2.11-h7b6447c_3.json
"$PY" - "$REC" "$SRC/tests/fixtures/conda/conda-meta-records_rattler" >"$T/rec.out" 2>&1 <<'EOF'
import json, os, sys
mine = json.load(open(sys.argv[1]))
real = {f: json.load(open(os.path.join(sys.argv[2], f))) for f in os.listdir(sys.argv[2]) if f.endswith(".json")}
ref = real["libzlib-1.2.13-h53f4e23_5.json"]   # a compiled package, as zlib
bad = []
# the real record's keys; "track_features" is a default conda adds to old records
for k in ref:
    if k not in mine and k not in ("track_features",):
        bad.append("missing key %s" % k)
    elif k in mine and type(mine[k]) is not type(ref[k]) and ref[k] is not None and mine[k] is not None:
        bad.append("%s: %s, real %s" % (k, type(mine[k]).__name__, type(ref[k]).__name__))
allkeys = set().union(*(r.keys() for r in real.values()))
for k in mine:
    if k not in allkeys:
        bad.append("key %s is in no real record" % k)
# and the two fields conda's PathDataV1 (rattler's PathsEntry) has for a
# file with a placeholder, which none of these records happens to need
pk = set().union(*(set(p) for r in real.values() for p in r["paths_data"]["paths"]))
pk |= {"prefix_placeholder", "file_mode"}
types = {"prefix_placeholder": {"str"}, "file_mode": {"str"}}
for r in real.values():
    for p in r["paths_data"]["paths"]:
        for k, v in p.items():
            types.setdefault(k, set()).add(type(v).__name__)
for p in mine["paths_data"]["paths"]:
    for k, v in p.items():
        if k not in pk:
            bad.append("paths_data key %s is in no real record" % k)
        elif type(v).__name__ not in types[k]:
            bad.append("paths_data %s: %s" % (k, type(v).__name__))
if mine["paths_data"]["paths_version"] != 1 or sorted(mine["files"]) != mine["files"]:
    bad.append("paths_version or files order")
if sorted(p["_path"] for p in mine["paths_data"]["paths"] if p["path_type"] != "directory") != mine["files"]:
    bad.append("files and paths_data disagree")
for k, v in (("name", "zlib"), ("version", "1.2.11"), ("build", "h7b6447c_3"), ("fn", "zlib-1.2.11-h7b6447c_3.conda"),
             ("md5", "cb23839f06da92ec92c6d2d2d5e0cb4a"), ("requested_spec", "zlib"), ("size", 105917)):
    if mine.get(k) != v:
        bad.append("%s = %r, want %r" % (k, mine.get(k), v))
if not any(p.get("prefix_placeholder") and p.get("sha256_in_prefix") for p in mine["paths_data"]["paths"]):
    bad.append("no rewritten file recorded")
print("\n".join(bad))
sys.exit(1 if bad else 0)
EOF
[ $? -eq 0 ] && ok "zlib's conda-meta record has the keys and JSON types of the real records" \
	|| fail "zlib's conda-meta record has the keys and JSON types of the real records" "$(cat "$T/rec.out")"
[ -f "$P/conda-meta/history" ] && grep -q '^+.*::zlib-1.2.11-h7b6447c_3$' "$P/conda-meta/history" \
	&& grep -q "^# update specs: \['zlib'\]" "$P/conda-meta/history" \
	&& ok "conda-meta/history lists what was linked and the specs" \
	|| fail "conda-meta/history lists what was linked and the specs" "$(cat "$P/conda-meta/history")"
pk --store "$S" install --lock "$T/zlib.lock" --json
json_get "$PK_OUT" '[j["layers_built"], j["layers_cached"]]' | tr '\n' ' ' | grep -qx '0 1 ' \
	&& ok "installing the same lock again is a key hit" || fail "installing the same lock again is a key hit" "$(pk_detail)"
cp "$REC" "$T/rec1"
pk --store "$T/store2" install --lock "$T/zlib.lock" --root "$T/zroot2"
cmp -s "$T/rec1" "$T/zroot2/opt/conda/conda-meta/zlib-1.2.11-h7b6447c_3.json" \
	&& diff -r "$T/zroot" "$T/zroot2" >/dev/null \
	&& ok "a fresh store installs the same tree and byte-identical records" \
	|| fail "a fresh store installs the same tree and byte-identical records" "$(diff -r "$T/zroot" "$T/zroot2" | head)"

pk --store "$S" install --base scratch --conda zlib -c "$CH/forge" -c "$CH/zlib" --conda-prefix /usr/local/cx --root "$T/xroot"
[ "$PK_RC" -eq 0 ] && grep -qx 'prefix=/usr/local/cx' "$T/xroot/usr/local/cx/lib/pkgconfig/zlib.pc" \
	&& grep -q '"url": "'"$CH"'/zlib/linux-64/zlib-1.2.11-h7b6447c_3.conda"' "$T/xroot/usr/local/cx/conda-meta/zlib-1.2.11-h7b6447c_3.json" \
	&& [ ! -e "$T/xroot/opt" ] \
	&& ok "--conda-prefix /usr/local/cx: the placeholders and the record follow it" \
	|| fail "--conda-prefix /usr/local/cx: the placeholders and the record follow it" "$(pk_detail)"

# ---- noarch: python, and conda's python as pip's target
pk --store "$S" install --base scratch --conda "wheel=0.38.4" -c "$CH/forge" --root "$T/wroot"
[ "$PK_RC" -eq 0 ] || fail "install --conda wheel=0.38.4" "$(pk_detail)"
W=$T/wroot/opt/conda
[ -f "$W/lib/python3.12/site-packages/wheel/__init__.py" ] && [ -x "$W/bin/wheel" ] \
	&& head -n 1 "$W/bin/wheel" | grep -qx '#!/opt/conda/bin/python' \
	&& grep -q 'from wheel.cli import main' "$W/bin/wheel" \
	&& ok "noarch: python goes to lib/python3.12/site-packages, its entry point to bin/" \
	|| fail "noarch: python goes to lib/python3.12/site-packages, its entry point to bin/" "$(cd "$W" && find . -maxdepth 4 | head -40)"
mkdir -p "$T/py"
cat >"$T/spec.json" <<'EOF'
{"projects": {"beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}}}}
EOF
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/ch/small" >/dev/null \
	|| bail "the small PyPI fixture index builds"
pk --store "$S" lock --base scratch --conda python -c "$CH/forge" --pip beta --index-url "$CH/small/simple/" -o "$T/mix.lock"
[ "$PK_RC" -eq 0 ] && grep -q '^python_prefix: /opt/conda$' "$T/mix.lock" && grep -q '^python: "3.12.1"$' "$T/mix.lock" \
	&& ok "--conda python with --pip: pip targets conda's python 3.12" \
	|| fail "--conda python with --pip: pip targets conda's python 3.12" "$(pk_detail)" "$(cat "$T/mix.lock" 2>/dev/null | head -20)"
pk --store "$S" install --lock "$T/mix.lock" --root "$T/mroot"
[ "$PK_RC" -eq 0 ] && [ -f "$T/mroot/opt/conda/lib/python3.12/site-packages/beta/__init__.py" ] \
	&& ls "$T/mroot/opt/conda/lib/python3.12/site-packages/" | grep -q '^beta-1.0.dist-info$' \
	&& ok "the wheel lands in conda's site-packages" \
	|| fail "the wheel lands in conda's site-packages" "$(pk_detail)"

# ---- on the default base (the real Debian archive): __glibc is the image's
if archive_reachable; then
	pk --store "$S" install --conda zlib -c "$CH/forge" -c "$CH/zlib" --tag cz
	if [ "$PK_RC" -eq 0 ]; then
		pk --store "$S" run cz -- /bin/sh -c 'cat /opt/conda/lib/pkgconfig/zlib.pc; ls /opt/conda/conda-meta; ls /usr/lib/x86_64-linux-gnu/libc.so.6'
		[ "$PK_RC" -eq 0 ] && grep -qx 'prefix=/opt/conda' "$PK_OUT" && grep -qx 'zlib-1.2.11-h7b6447c_3.json' "$PK_OUT" \
			&& ok "debian-slim + conda: the image has Debian's shell and libc, and the conda env" \
			|| fail "debian-slim + conda: the image has Debian's shell and libc, and the conda env" "$(pk_detail)"
	else
		archive_reachable && fail "install --conda zlib on debian-slim" "$(pk_detail)" \
			|| skip "conda on debian-slim" "archive unreachable"
	fi
else
	skip "conda on debian-slim" "archive unreachable"
fi

# ---- errors
pk --store "$S" lock --base scratch --conda numpy -c "$CH/nosuch" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q "$CH/nosuch/" "$PK_ERR" && grep -q -- '-c' "$PK_ERR" && [ ! -e "$T/x.lock" ] \
	&& ok "a channel that is not there: an error naming its URL, no lockfile" \
	|| fail "a channel that is not there: an error naming its URL, no lockfile" "$(pk_detail)"
pk --store "$S" lock --base scratch --conda 'numpy[version=' -c "$CH/forge" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q -- "--conda numpy\[version=" "$PK_ERR" \
	&& ok "a malformed spec is named" || fail "a malformed spec is named" "$(pk_detail)"
pk --store "$S" lock --base scratch --conda 'numpy>=2' -c "$CH/forge" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q -- "--conda numpy>=2" "$PK_ERR" \
	&& ok "a spec nothing matches is named with the channels" || fail "a spec nothing matches is named with the channels" "$(pk_detail)"
finish
