#!/bin/bash
# PyPI end to end: a fixture index on 127.0.0.1 holding the real torch 2.2.1
# closure (stand-in wheels with the real metadata) and Debian's pip wheel;
# the image's python3 from the real Debian archive (skips when unreachable).
#   - `pkgimg lock --pip torch==2.2.1` picks the same set as pip's resolver
#     (`pip install --dry-run --report`) on the same index;
#   - the installed image is one pip recognises: `pip check`, `pip list`,
#     importlib.metadata, REQUESTED only on the top-level requirement,
#     console scripts that run;
#   - the same lock again is a key hit; errors name the package and the fix.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "PyPI install into Debian's python3" "archive unreachable"; finish; }
S=$T/store R=$T/root

# Debian's real pip, setuptools and wheel wheels join the index
mkdir -p "$T/debs"
(cd "$T/debs" && apt-get download python3-pip-whl python3-setuptools-whl python3-wheel-whl) \
	>"$T/dl.out" 2>&1 || { archive_reachable || { skip "PyPI install into Debian's python3" "archive unreachable"; finish; }
	bail "apt-get download python3-pip-whl python3-setuptools-whl python3-wheel-whl" "$(cat "$T/dl.out")"; }
for d in "$T"/debs/*.deb; do dpkg -x "$d" "$T/debs/x"; done
ADD=()
for w in "$T"/debs/x/usr/share/python-wheels/*.whl; do ADD+=(--add-wheel "$w"); done
[ ${#ADD[@]} -eq 6 ] || bail "Debian's pip, setuptools and wheel wheels" "$(ls -R "$T/debs/x")"
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" torch-closure "$T/idx" "${ADD[@]}" >/dev/null \
	|| bail "the torch closure fixture index builds"
cat >"$T/spec.json" <<'EOF'
{"projects": {
  "alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta==1.0"],
                                  "entry_points": {"console_scripts": {"alpha-hello": "alpha:main"}}}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}},
  "onlysrc": {"versions": {"1.0": {"files": ["onlysrc-1.0.tar.gz"]}}},
  "winonly": {"versions": {"1.0": {"wheels": ["cp311-cp311-win_amd64"]}}}
}}
EOF
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/small" >/dev/null \
	|| bail "the small fixture index builds"
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T" --port-file "$T/port" --log "$T/srv.log" \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
# Debian's pip 23.0 misreads PEP 691 JSON's dict-valued "dist-info-metadata"
# (fixed in pip 23.1): it gets the same index as PEP 503 HTML
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T" --port-file "$T/port.html" --html-only \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && [ -s "$T/port.html" ] && break; sleep 0.1; done
[ -s "$T/port" ] && [ -s "$T/port.html" ] || bail "the fixture index servers start"
IDX=http://127.0.0.1:$(cat "$T/port")/idx/simple/
SMALL=http://127.0.0.1:$(cat "$T/port")/small/simple/

# ---- resolution, against pip's
pk --store "$S" lock --pip torch==2.2.1 --index-url "$IDX" -o "$T/torch.lock" --json
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "PyPI install into Debian's python3" "archive unreachable"; finish; }
	bail "lock --pip torch==2.2.1" "$(pk_detail)"
fi
json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' \
	| sort >"$T/pk.set"
"$PY" -m pip install --dry-run --ignore-installed --quiet --report "$T/pip.json" \
	--index-url "http://127.0.0.1:$(cat "$T/port.html")/idx/simple/" torch==2.2.1 >"$T/pip.out" 2>&1 || bail "pip install --dry-run --report" "$(cat "$T/pip.out")"
json_get "$T/pip.json" '[i["metadata"]["name"].lower().replace("_", "-") + "==" + i["metadata"]["version"] for i in j["install"]]' \
	| sort >"$T/pip.set"
if [ "$(wc -l <"$T/pk.set")" -eq 22 ] && cmp -s "$T/pk.set" "$T/pip.set"; then
	ok "lock --pip torch==2.2.1: the same 22 packages as pip's resolver on the same index"
else
	fail "lock --pip torch==2.2.1: the same 22 packages as pip's resolver on the same index" \
		"only pkgimg:" "$(comm -23 "$T/pk.set" "$T/pip.set")" "only pip:" "$(comm -13 "$T/pk.set" "$T/pip.set")"
fi
grep -q '^python: "3\.11\.[0-9]*"$' "$T/torch.lock" && grep -q "step: 'pip: torch==2.2.1'" "$T/torch.lock" \
	&& grep -q "type: pypi" "$T/torch.lock" \
	&& ok "the lockfile records the target python, the pip step and the index" \
	|| fail "the lockfile records the target python, the pip step and the index" "$(head -n 40 "$T/torch.lock")"
json_get "$PK_OUT" '[p["arch"] for p in j["packages"] if p["name"] == "torch"]' >"$T/torch.tag"
grep -qx 'cp311-cp311-manylinux1_x86_64' "$T/torch.tag" \
	&& ok "torch's wheel is the cp311 manylinux x86-64 one (of $(ls "$T/idx/files" | grep -c '^torch-2.2.1-') files)" \
	|| fail "torch's wheel is the cp311 manylinux x86-64 one" "$(cat "$T/torch.tag")"
cp "$T/torch.lock" "$T/torch2.lock"
pk --store "$S" lock --pip torch==2.2.1 --index-url "$IDX" -o "$T/torch2.lock"
cmp -s "$T/torch.lock" "$T/torch2.lock" && ok "locking again gives a byte-identical lockfile" \
	|| fail "locking again gives a byte-identical lockfile" "$(diff "$T/torch.lock" "$T/torch2.lock" | head)"

# ---- install, and pip's own view of the result
pk --store "$S" install --lock "$T/torch.lock" --tag torch --root "$R"
[ "$PK_RC" -eq 0 ] && ok "install --lock torch.lock" || bail "install --lock torch.lock" "$(pk_detail)"
SITE=$R/usr/local/lib/python3.11/dist-packages
"$PY" -m pip list --path "$SITE" --format=freeze 2>/dev/null | tr 'A-Z_' 'a-z-' | sort >"$T/list.set"
cmp -s "$T/list.set" "$T/pk.set" && ok "pip list --path SITE: the 22 locked packages" \
	|| fail "pip list --path SITE: the 22 locked packages" "$(diff "$T/pk.set" "$T/list.set")"
[ -f "$SITE/torch-2.2.1.dist-info/REQUESTED" ] && [ ! -e "$SITE/triton-2.2.0.dist-info/REQUESTED" ] \
	&& [ "$(cat "$SITE/torch-2.2.1.dist-info/INSTALLER")" = pkgimg ] \
	&& ok "REQUESTED on torch only, INSTALLER says pkgimg" \
	|| fail "REQUESTED on torch only, INSTALLER says pkgimg" "$(ls "$SITE/torch-2.2.1.dist-info")"
pk --store "$S" run torch -- python3 -c 'import importlib.metadata as m, torch; print(m.version("torch"), torch.__version__)'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "2.2.1 2.2.1" ] \
	&& ok "in the image: import torch, importlib.metadata.version('torch') == 2.2.1" \
	|| fail "in the image: import torch, importlib.metadata.version('torch') == 2.2.1" "$(pk_detail)"
pk --store "$S" install --lock "$T/torch.lock"
[ "$PK_RC" -eq 0 ] && grep -q '0 layers built, 3 cached' "$PK_ERR" && ok "the same lock again: a key hit, nothing built" \
	|| fail "the same lock again: a key hit, nothing built" "$(pk_detail)"

# pip inside the image (Debian's pip wheel, installed by pkgimg) agrees
pk --store "$S" install --pip torch==2.2.1 --pip pip --pip setuptools --pip wheel --index-url "$IDX" --tag withpip
[ "$PK_RC" -eq 0 ] || fail "install --pip torch==2.2.1 --pip pip --pip setuptools --pip wheel" "$(pk_detail)"
pk --store "$S" run withpip -- python3 -m pip list --format=freeze
tr 'A-Z_' 'a-z-' <"$PK_OUT" | sort >"$T/inlist.set"
(cat "$T/pk.set"; printf '%s\n' pip==23.0.1 setuptools==66.1.1 wheel==0.38.4) | sort >"$T/want.set"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/inlist.set" "$T/want.set" \
	&& ok "python3 -m pip list in the image shows every installed distribution (25)" \
	|| fail "python3 -m pip list in the image shows every installed distribution (25)" "$(pk_detail)" \
		"$(diff "$T/want.set" "$T/inlist.set")"
pk --store "$S" run withpip -- python3 -m pip check
[ "$PK_RC" -eq 0 ] && grep -q 'No broken requirements found' "$PK_OUT" \
	&& ok "pip check inside the image: no broken requirements" \
	|| fail "pip check inside the image: no broken requirements" "$(pk_detail)"
pk --store "$S" run withpip -- sh -c 'pip3 --version && wheel version && python3 -m pip show torch'
[ "$PK_RC" -eq 0 ] && grep -q '^pip 23.0.1 from /usr/local/lib/python3.11/dist-packages/pip' "$PK_OUT" \
	&& grep -q '^wheel 0.38.4' "$PK_OUT" && grep -q '^Version: 2.2.1' "$PK_OUT" && grep -q '^Requires:.*triton' "$PK_OUT" \
	&& ok "the real wheels' entry points (pip3, wheel) run; pip show torch reads its metadata" \
	|| fail "the real wheels' entry points (pip3, wheel) run; pip show torch reads its metadata" "$(pk_detail)"

# ---- a small index: console scripts, conflicts, wheels missing
pk --store "$S" install --pip alpha --index-url "$SMALL" --tag alpha
pk --store "$S" run alpha -- alpha-hello
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "alpha 1.0" ] && ok "a console_scripts entry point runs in the image" \
	|| fail "a console_scripts entry point runs in the image" "$(pk_detail)"
pk --store "$S" lock --pip alpha==1.0 --pip beta==2.0 --index-url "$SMALL" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'alpha 1.0 requires beta==1.0' "$PK_ERR" && grep -q 'beta==2.0' "$PK_ERR" \
	&& ok "a conflict is explained as a chain (alpha 1.0 requires beta==1.0, but beta==2.0 was asked)" \
	|| fail "a conflict is explained as a chain" "$(pk_detail)"
# (sdists are built since issue 18; --only-binary :all: asks for wheels only)
printf -- '--only-binary :all:\nonlysrc\n' >"$T/onlysrc.txt"
pk --store "$S" lock -r "$T/onlysrc.txt" --index-url "$SMALL" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'onlysrc has no wheel' "$PK_ERR" && grep -q 'cp311-cp311-manylinux' "$PK_ERR" \
	&& grep -q -- '--only-binary' "$PK_ERR" \
	&& ok "an sdist-only package with --only-binary :all:: an error naming it and the tags looked for" \
	|| fail "an sdist-only package with --only-binary :all:: an error naming it and the tags looked for" "$(pk_detail)"
pk --store "$S" lock --pip winonly --index-url "$SMALL" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'winonly has no wheel' "$PK_ERR" \
	&& ok "wheels for other platforms only: an error naming the package" \
	|| fail "wheels for other platforms only: an error naming the package" "$(pk_detail)"
pk --store "$S" lock --pip nosuchthing --index-url "$SMALL" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'nosuchthing' "$PK_ERR" && [ ! -e "$T/x.lock" ] \
	&& ok "an unknown project is an error naming it; no lockfile written" \
	|| fail "an unknown project is an error naming it; no lockfile written" "$(pk_detail)"

# ---- on top of an image of the store: its Python is used, no apt index read
pk --store "$S" lock --base torch --pip alpha --index-url "$SMALL" -o "$T/on.lock"
grep -q '^base: sha256:' "$T/on.lock" && ! grep -q 'type: apt' "$T/on.lock" && grep -q '^python: "3\.11' "$T/on.lock" \
	&& [ "$(grep -c '^- step:' "$T/on.lock")" -eq 1 ] \
	&& ok "lock --base IMAGE --pip: one pip layer on the image's id, its Python, no apt source" \
	|| fail "lock --base IMAGE --pip: one pip layer on the image's id, its Python, no apt source" "$(pk_detail)" "$(cat "$T/on.lock")"
pk --store "$S" lock --from torch --pip alpha --index-url "$SMALL" -o "$T/from.lock"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/on.lock" "$T/from.lock" \
	&& ok "--from IMAGE (DESIGN.md's spelling) is --base IMAGE: the same lockfile" \
	|| fail "--from IMAGE is --base IMAGE" "$(pk_detail)" "$(diff "$T/on.lock" "$T/from.lock" 2>&1 | head)"
pk --store "$S" install --lock "$T/on.lock" --tag on
pk --store "$S" run on -- sh -c 'alpha-hello && python3 -c "import torch; print(torch.__version__)"'
[ "$PK_RC" -eq 0 ] && [ "$(tr '\n' ' ' <"$PK_OUT")" = "alpha 1.0 2.2.1 " ] \
	&& ok "install --lock of it: the new layer sits on the image (alpha runs, torch imports)" \
	|| fail "install --lock of it: the new layer sits on the image (alpha runs, torch imports)" "$(pk_detail)"

# ---- --python X.Y: Debian's python3 when it is that version, else a clear error
pk --store "$S" lock --python 3.11 --pip alpha --index-url "$SMALL" -o "$T/p311.lock"
[ "$PK_RC" -eq 0 ] && grep -q "step: 'apt: python3'" "$T/p311.lock" \
	&& ok "--python 3.11 (what Debian ships): python3 added by the apt layer" \
	|| fail "--python 3.11 (what Debian ships): python3 added by the apt layer" "$(pk_detail)"
pk --store "$S" lock --python 3.12 --pip alpha --index-url "$SMALL" -o "$T/p312.lock"
[ "$PK_RC" -ne 0 ] && grep -q -- '--python 3.12: \[lock\] the apt sources have no python3.12' "$PK_ERR" \
	&& ok "--python 3.12 (not in Debian's sources): a clear error" \
	|| fail "--python 3.12 (not in Debian's sources): a clear error" "$(pk_detail)"

# ---- requirements files with hashes
BETA1=$(json_get "$T/small/simple/beta/index.json" '[f["hashes"]["sha256"] for f in j["files"] if "1.0" in f["filename"]]')
printf 'beta==1.0 --hash=sha256:%s\n' "$BETA1" >"$T/good.txt"
printf 'beta==1.0 --hash=sha256:%s\n' "$(printf 0%.0s $(seq 64))" >"$T/bad.txt"
pk --store "$S" lock -r "$T/good.txt" --index-url "$SMALL" -o "$T/r.lock"
[ "$PK_RC" -eq 0 ] && grep -q "$BETA1" "$T/r.lock" && ok "-r FILE with --hash: the matching wheel is locked" \
	|| fail "-r FILE with --hash: the matching wheel is locked" "$(pk_detail)"
pk --store "$S" lock -r "$T/bad.txt" --index-url "$SMALL" -o "$T/r2.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'beta' "$PK_ERR" && ok "-r FILE with a --hash no file has: refused" \
	|| fail "-r FILE with a --hash no file has: refused" "$(pk_detail)"
finish
