#!/bin/bash
# Two pip steps of a spec are pip run twice in the image (issue 18): the
# packages the first step installed are the installed set of the second,
# kept when they satisfy, replaced when not (the old files whited out, one
# .dist-info left), and the spec's answer is that of two `install --base`
# on top of each other.  pip is the oracle: Debian's pip (from
# python3-pip-whl, installed in the image) runs `pip install` twice inside
# the same base image (run --commit, the fixture index on 127.0.0.1
# through --network host):
#   - step 1 pip: [requests==2.28.0] (urllib3 1.26.12), step 2
#     pip: [urllib3==2.0.0]: urllib3 2.0.0 replaces 1.26.12, requests is
#     left broken (pip check says so), as pip leaves it;
#   - pip's broken-dependency warning ("requests 2.28.0 requires
#     urllib3<1.27,>=1.21.1, but you have urllib3 2.0.0 which is
#     incompatible."): pkgimg warns in the same words, names what pip check
#     names, and goes on;
#   - a second step that the first satisfies installs nothing.
# The image's python3 from the real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "two pip steps as pip twice" "archive unreachable"; finish; }
S=$T/store
SITE=/usr/local/lib/python3.11/dist-packages

mkdir -p "$T/debs"
(cd "$T/debs" && apt-get download python3-pip-whl python3-setuptools-whl) >"$T/dl.out" 2>&1 \
	|| { archive_reachable || { skip "two pip steps as pip twice" "archive unreachable"; finish; }
	bail "apt-get download python3-pip-whl python3-setuptools-whl" "$(cat "$T/dl.out")"; }
for d in "$T"/debs/*.deb; do dpkg -x "$d" "$T/debs/x"; done
ADD=()
for w in "$T"/debs/x/usr/share/python-wheels/*.whl; do ADD+=(--add-wheel "$w"); done
cat >"$T/spec.json" <<'EOS'
{"projects": {
  "requests": {"versions": {"2.28.0": {"wheels": ["py3-none-any"],
                                       "requires_dist": ["urllib3<1.27,>=1.21.1", "idna<4,>=2.5"]}}},
  "urllib3": {"versions": {"1.26.12": {"wheels": ["py3-none-any"]}, "2.0.0": {"wheels": ["py3-none-any"]}}},
  "idna": {"versions": {"3.4": {"wheels": ["py3-none-any"]}}}
}}
EOS
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/www/small" "${ADD[@]}" >/dev/null \
	|| bail "the fixture index builds"
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T/www" --port-file "$T/port" \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
# Debian's pip 23.0 misreads PEP 691 JSON's "dist-info-metadata" (40-pypi): HTML for it
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T/www" --port-file "$T/port.html" --html-only \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && [ -s "$T/port.html" ] && break; sleep 0.1; done
[ -s "$T/port" ] && [ -s "$T/port.html" ] || bail "the fixture index servers start"
IDX=http://127.0.0.1:$(cat "$T/port")/small/simple/
HIDX=http://127.0.0.1:$(cat "$T/port.html")/small/simple/

pk --store "$S" install --pip pip --index-url "$IDX" --tag base
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "two pip steps as pip twice" "archive unreachable"; finish; }
	bail "install --pip pip" "$(pk_detail)"; }

distinfos() {	# distinfos IMAGE -> the .dist-info names of SITE, one line
	pk --store "$S" run "$1" -- sh -c "cd $SITE && ls -d *.dist-info"
	sort "$PK_OUT" | tr '\n' ' '
}
# pip's answer: pip install inside an image, committed
pip_in() {	# pip_in FROM TAG REQ...
	local from=$1 tag=$2; shift 2
	pk --store "$S" run --network host --commit --tag "$tag" "$from" -- python3 -m pip install \
		--break-system-packages --no-cache-dir --disable-pip-version-check --index-url "$HIDX" "$@"
	cp "$PK_OUT" "$T/pip.$tag.out"; cat "$PK_ERR" >>"$T/pip.$tag.out"
}
pipcheck() {	# pipcheck IMAGE -> pip check's lines, sorted, one line
	pk --store "$S" run "$1" -- python3 -m pip check
	sort "$PK_OUT" | tr '\n' ' '
}

# ---- pip twice
pip_in base pip1 requests==2.28.0
pip_in pip1 pip2 urllib3==2.0.0
PIP2=$(distinfos pip2)
grep -q 'urllib3-2.0.0.dist-info' <<<"$PIP2" && ! grep -q 'urllib3-1' <<<"$PIP2" \
	|| bail "pip twice: urllib3 2.0.0 replaces 1.26.12" "$PIP2" "$(cat "$T/pip.pip1.out" "$T/pip.pip2.out")"
WANT='requests 2.28.0 requires urllib3<1.27,>=1.21.1, but you have urllib3 2.0.0 which is incompatible'
grep -qF "$WANT" "$T/pip.pip2.out" \
	|| fail "pip warns: $WANT" "$(cat "$T/pip.pip2.out")"
PIPCHECK=$(pipcheck pip2)

# ---- two installs on top of each other
pk --store "$S" install --base base --pip requests==2.28.0 --index-url "$IDX" --tag pk1
pk --store "$S" install --base pk1 --pip urllib3==2.0.0 --index-url "$IDX" --tag pk2
cp "$PK_ERR" "$T/pk2.err"
[ "$PK_RC" -eq 0 ] && [ "$(distinfos pk2)" = "$PIP2" ] \
	&& ok "install --base (requests==2.28.0) --pip urllib3==2.0.0: the .dist-info set of pip twice ($PIP2)" \
	|| fail "install --base (requests==2.28.0) --pip urllib3==2.0.0: the .dist-info set of pip twice" \
		"pkgimg: $(distinfos pk2)" "pip:    $PIP2" "$(cat "$T/pk2.err")"
grep -qF "pkgimg: warning: $WANT" "$T/pk2.err" \
	&& ok "install --base: pip's broken-dependency warning, in pip's words ($WANT)" \
	|| fail "install --base: pip's broken-dependency warning, in pip's words" "want: $WANT" \
		"pkgimg: $(cat "$T/pk2.err")" "pip: $(cat "$T/pip.pip2.out")"
[ "$(pipcheck pk2)" = "$PIPCHECK" ] && grep -q 'requests 2.28.0 has requirement urllib3<1.27,>=1.21.1, but you have urllib3 2.0.0' <<<"$PIPCHECK" \
	&& ok "install --base: pip check names what pkgimg's warning names ($PIPCHECK)" \
	|| fail "install --base: pip check names what pkgimg's warning names" "pkgimg: $(pipcheck pk2)" "pip: $PIPCHECK"

# ---- the same two steps in a spec
mkdir -p "$T/w"
printf 'base: base\nsteps:\n  - pip: [requests==2.28.0]\n    index_url: %s\n  - pip: [urllib3==2.0.0]\n    index_url: %s\n' \
	"$IDX" "$IDX" >"$T/w/pkgimg.yaml"
pk --store "$S" build -f "$T/w/pkgimg.yaml" --tag spec
cp "$PK_ERR" "$T/spec.err"
SPEC=$(distinfos spec)
[ "$SPEC" = "$PIP2" ] \
	&& ok "a spec with steps pip: [requests==2.28.0], pip: [urllib3==2.0.0]: the .dist-info set of pip twice" \
	|| fail "a spec with steps pip: [requests==2.28.0], pip: [urllib3==2.0.0]: the .dist-info set of pip twice" \
		"spec: $SPEC" "pip:  $PIP2" "$(cat "$T/spec.err")"
pk --store "$S" run spec -- sh -c "python3 -c 'import urllib3; print(urllib3.__version__)'; find $SITE/urllib3 | sort"
SPECFILES=$(cat "$PK_OUT")
pk --store "$S" run pip2 -- sh -c "python3 -c 'import urllib3; print(urllib3.__version__)'; find $SITE/urllib3 | sort"
[ "$SPECFILES" = "$(cat "$PK_OUT")" ] && grep -q '^2.0.0$' <<<"$SPECFILES" \
	&& ok "the spec: import urllib3 gives 2.0.0, its files as pip's" \
	|| fail "the spec: import urllib3 gives 2.0.0, its files as pip's" "spec: $SPECFILES" "pip: $(cat "$PK_OUT")"
[ "$(pipcheck spec)" = "$PIPCHECK" ] \
	&& ok "the spec: pip check as after pip twice" \
	|| fail "the spec: pip check as after pip twice" "spec: $(pipcheck spec)" "pip: $PIPCHECK"
grep -qF "pkgimg: warning: $WANT" "$T/spec.err" \
	&& ok "the spec: the same broken-dependency warning" \
	|| fail "the spec: the same broken-dependency warning" "$(cat "$T/spec.err")"
pk --store "$S" lock -f "$T/w/pkgimg.yaml" -o "$T/spec.lock" --json
json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' | sort | tr '\n' ' ' >"$T/spec.pk"
[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/spec.pk")" = "idna==3.4 requests==2.28.0 urllib3==1.26.12 urllib3==2.0.0 " ] \
	&& ok "the spec's lock: urllib3 1.26.12 in the first step's layer, 2.0.0 in the second's" \
	|| fail "the spec's lock: urllib3 1.26.12 in the first step's layer, 2.0.0 in the second's" \
		"$(cat "$T/spec.pk")" "$(pk_detail)"

# ---- a second step the first satisfies: pip says "already satisfied"
pip_in pip1 pipsat 'urllib3<2'
grep -q 'Requirement already satisfied: urllib3' "$T/pip.pipsat.out" || fail "pip: urllib3<2 already satisfied" "$(cat "$T/pip.pipsat.out")"
printf 'base: base\nsteps:\n  - pip: [requests==2.28.0]\n    index_url: %s\n  - pip: ["urllib3<2"]\n    index_url: %s\n' \
	"$IDX" "$IDX" >"$T/w/pkgimg.yaml"
pk --store "$S" build -f "$T/w/pkgimg.yaml" --tag specsat
pk --store "$S" inspect specsat --json
json_get "$PK_OUT" 'j["layers"][-1]["step"] + " size=" + str(j["layers"][-1]["size"])' >"$T/top.step"
[ "$(distinfos specsat)" = "$(distinfos pipsat)" ] && grep -q '^pip: urllib3<2.* size=0$' "$T/top.step" \
	&& ok "a second step the first satisfies: an empty layer, the .dist-info set of pip's" \
	|| fail "a second step the first satisfies: an empty layer, the .dist-info set of pip's" \
		"$(cat "$T/top.step")" "spec: $(distinfos specsat)" "pip: $(distinfos pipsat)"
finish
