#!/bin/bash
# A pip layer on an image that has PyPI packages already (issue 18): the
# base's installed distributions are the installed set, as pip sees them.
# pip is the oracle: Debian's pip (from python3-pip-whl, installed in the
# image) runs `pip install` inside the same base image (run --commit, the
# fixture index on 127.0.0.1 through --network host), and the
# .dist-info set of the site dir must be the same as pkgimg's:
#   - a satisfied request installs nothing (an empty layer; pip: "Requirement
#     already satisfied");
#   - a request that needs another version replaces the installed one: the old
#     files whited out, one .dist-info left (the base's alpha, which needs
#     beta<2, is left broken, as pip leaves it, and pip check says so in both);
#   - a spec with that base and the same step gives the same answer.
# The image's python3 from the real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "pip layers on an image with PyPI packages" "archive unreachable"; finish; }
S=$T/store
SITE=/usr/local/lib/python3.11/dist-packages

mkdir -p "$T/debs"
(cd "$T/debs" && apt-get download python3-pip-whl python3-setuptools-whl) >"$T/dl.out" 2>&1 \
	|| { archive_reachable || { skip "pip layers on an image with PyPI packages" "archive unreachable"; finish; }
	bail "apt-get download python3-pip-whl python3-setuptools-whl" "$(cat "$T/dl.out")"; }
for d in "$T"/debs/*.deb; do dpkg -x "$d" "$T/debs/x"; done
ADD=()
for w in "$T"/debs/x/usr/share/python-wheels/*.whl; do ADD+=(--add-wheel "$w"); done
cat >"$T/spec.json" <<'EOS'
{"projects": {
  "alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta<2"]}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}}
}}
EOS
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/www/small" "${ADD[@]}" >/dev/null \
	|| bail "the fixture index builds"
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T/www" --port-file "$T/port" \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T/www" --port-file "$T/port.html" --html-only \
	--timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && [ -s "$T/port.html" ] && break; sleep 0.1; done
[ -s "$T/port" ] && [ -s "$T/port.html" ] || bail "the fixture index servers start"
IDX=http://127.0.0.1:$(cat "$T/port")/small/simple/
HIDX=http://127.0.0.1:$(cat "$T/port.html")/small/simple/

pk --store "$S" install --pip alpha --pip pip --index-url "$IDX" --tag base
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "pip layers on an image with PyPI packages" "archive unreachable"; finish; }
	bail "install --pip alpha --pip pip" "$(pk_detail)"; }

distinfos() {	# distinfos IMAGE -> the .dist-info names of SITE, one line
	pk --store "$S" run "$1" -- sh -c "cd $SITE && ls -d *.dist-info"
	sort "$PK_OUT" | tr '\n' ' '
}
# pip's answer: pip install inside the base image, committed
pip_in() {	# pip_in TAG REQ...
	local tag=$1; shift
	pk --store "$S" run --network host --commit --tag "$tag" base -- python3 -m pip install \
		--break-system-packages --no-cache-dir --disable-pip-version-check --index-url "$HIDX" "$@"
	cp "$PK_OUT" "$T/pip.$tag.out"; cat "$PK_ERR" >>"$T/pip.$tag.out"
}

# ---- a request the base satisfies
pip_in pipsat alpha
grep -q 'Requirement already satisfied: alpha' "$T/pip.pipsat.out" || fail "pip: alpha already satisfied" "$(cat "$T/pip.pipsat.out")"
pk --store "$S" install --base base --pip alpha --index-url "$IDX" --tag pksat --json
PKSAT_N=$(json_get "$PK_OUT" 'len([p for p in j["packages"] if p["ecosystem"] == "pypi"])')
[ "$PK_RC" -eq 0 ] && [ "$PKSAT_N" = 0 ] && [ "$(distinfos pksat)" = "$(distinfos pipsat)" ] \
	&& ok "--base IMAGE --pip alpha (installed): nothing installed, the same .dist-info set as pip's ($(distinfos pksat))" \
	|| fail "--base IMAGE --pip alpha (installed): nothing installed, the same .dist-info set as pip's" \
		"pkgimg ($PKSAT_N packages): $(distinfos pksat)" "pip: $(distinfos pipsat)" "$(cat "$T/pip.pipsat.out")"
pk --store "$S" inspect pksat --json
json_get "$PK_OUT" 'j["layers"][-1]["step"] + " size=" + str(j["layers"][-1]["size"])' >"$T/top.step"
grep -q '^pip: alpha.* size=0$' "$T/top.step" \
	&& ok "--base IMAGE --pip alpha: one empty layer for the step (pip: already satisfied)" \
	|| fail "--base IMAGE --pip alpha: one empty layer for the step" "$(cat "$T/top.step")"

# ---- a request that needs another version: replaced
pip_in pipnew 'beta>=2'
pk --store "$S" install --base base --pip 'beta>=2' --index-url "$IDX" --tag pknew
PKNEW=$(distinfos pknew) PIPNEW=$(distinfos pipnew)
[ -n "$PIPNEW" ] && [ "$PKNEW" = "$PIPNEW" ] && [ "$(grep -c '^beta-' <<<"$(tr ' ' '\n' <<<"$PKNEW")")" = 1 ] \
	&& ok "--base IMAGE --pip 'beta>=2' (1.0 installed): beta 2.0 replaces it, the same .dist-info set as pip's ($PKNEW)" \
	|| fail "--base IMAGE --pip 'beta>=2' (1.0 installed): the same .dist-info set as pip's" \
		"pkgimg: $PKNEW" "pip:    $PIPNEW" "$(cat "$T/pip.pipnew.out")"
pk --store "$S" run pknew -- sh -c "python3 -c 'import beta; print(beta.__version__)'; find $SITE/beta | sort"
PKFILES=$(cat "$PK_OUT")
pk --store "$S" run pipnew -- sh -c "python3 -c 'import beta; print(beta.__version__)'; find $SITE/beta | sort"
[ "$PKFILES" = "$(cat "$PK_OUT")" ] && grep -q '^2.0$' <<<"$PKFILES" \
	&& ok "--base IMAGE --pip 'beta>=2': import beta gives 2.0, its files as pip's" \
	|| fail "--base IMAGE --pip 'beta>=2': import beta gives 2.0, its files as pip's" "pkgimg: $PKFILES" "pip: $(cat "$PK_OUT")"
pk --store "$S" run pknew -- python3 -m pip check
PKCHECK=$(grep -o 'alpha 1.0 has requirement beta<2, but you have beta 2.0' "$PK_OUT")
pk --store "$S" run pipnew -- python3 -m pip check
[ -n "$PKCHECK" ] && grep -q "$PKCHECK" "$PK_OUT" \
	&& ok "pip check: alpha left broken in both, as pip leaves it ($PKCHECK)" \
	|| fail "pip check: alpha left broken in both" "pkgimg: $PKCHECK" "pip: $(cat "$PK_OUT")"

# ---- the same step in a spec on that base
mkdir -p "$T/w"
printf 'base: base\nsteps:\n  - pip: ["beta>=2"]\n    index_url: %s\n' "$IDX" >"$T/w/pkgimg.yaml"
pk --store "$S" build -f "$T/w/pkgimg.yaml" --tag spec
[ "$PK_RC" -eq 0 ] && [ "$(distinfos spec)" = "$PIPNEW" ] \
	&& ok "a spec on the image with the step pip: [beta>=2]: the same .dist-info set as pip's" \
	|| fail "a spec on the image with the step pip: [beta>=2]: the same .dist-info set as pip's" \
		"$(pk_detail)" "spec: $(distinfos spec)" "pip: $PIPNEW"
finish
