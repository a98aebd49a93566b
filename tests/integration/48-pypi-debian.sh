#!/bin/bash
# Debian's python3-* packages are part of the installed set of a pip layer
# (issue 18), as pip in the image sees them: they are on sys.path
# (/usr/lib/python3/dist-packages), so pip keeps one that satisfies a
# requirement, and when it must upgrade one it installs the new version
# into /usr/local/lib/python3.11/dist-packages and leaves Debian's files
# alone (Debian's pip: "Not uninstalling idna at /usr/lib/python3/
# dist-packages, outside environment /usr").  pip is the oracle: Debian's
# pip (python3-pip-whl, installed from the fixture index) runs `pip install
# --break-system-packages` inside the image, as root (bookworm's python3.11
# is EXTERNALLY-MANAGED, PEP 668: without the flag pip refuses; pkgimg's
# pip layers are what pip does with it, into /usr/local).  The same answer
# from each way of asking:
#   - install --base IMAGE (python3-idna from the archive) --pip requests;
#   - one install: --apt python3-idna --pip pip --pip requests;
#   - a spec: apt: [python3-idna], then pip: [pip], then pip: [requests];
#   - --pip 'idna>=3.4' on that image: 3.4 in /usr/local, Debian's 3.3 left.
# The real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "Debian's python3-* as installed" "archive unreachable"; finish; }
S=$T/store
SITE=/usr/local/lib/python3.11/dist-packages
DEB=/usr/lib/python3/dist-packages

mkdir -p "$T/debs"
(cd "$T/debs" && apt-get download python3-pip-whl python3-setuptools-whl) >"$T/dl.out" 2>&1 \
	|| { archive_reachable || { skip "Debian's python3-* as installed" "archive unreachable"; finish; }
	bail "apt-get download python3-pip-whl python3-setuptools-whl" "$(cat "$T/dl.out")"; }
for d in "$T"/debs/*.deb; do dpkg -x "$d" "$T/debs/x"; done
ADD=()
for w in "$T"/debs/x/usr/share/python-wheels/*.whl; do ADD+=(--add-wheel "$w"); done
cat >"$T/spec.json" <<'EOS'
{"projects": {
  "requests": {"versions": {"2.28.0": {"wheels": ["py3-none-any"],
                                       "requires_dist": ["urllib3<1.27,>=1.21.1", "idna<4,>=2.5"]}}},
  "urllib3": {"versions": {"1.26.12": {"wheels": ["py3-none-any"]}}},
  "idna": {"versions": {"3.3": {"wheels": ["py3-none-any"]}, "3.4": {"wheels": ["py3-none-any"]}}}
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

pk --store "$S" install --apt python3-idna --pip pip --index-url "$IDX" --tag base
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "Debian's python3-* as installed" "archive unreachable"; finish; }
	bail "install --apt python3-idna --pip pip" "$(pk_detail)"; }

dists() {	# dists IMAGE -> the distributions of SITE and of Debian's dir, one line
	pk --store "$S" run "$1" -- sh -c "cd $SITE && ls -d *.dist-info *.egg-info 2>/dev/null; echo '|'; cd $DEB && ls -d *.dist-info *.egg-info 2>/dev/null"
	tr '\n' ' ' <"$PK_OUT"
}
pip_in() {	# pip_in FROM TAG REQ...
	local from=$1 tag=$2; shift 2
	pk --store "$S" run --network host --commit --tag "$tag" "$from" -- python3 -m pip install \
		--break-system-packages --no-cache-dir --disable-pip-version-check --index-url "$HIDX" "$@"
	cp "$PK_OUT" "$T/pip.$tag.out"; cat "$PK_ERR" >>"$T/pip.$tag.out"
}

# ---- PEP 668: bookworm's python3.11 is EXTERNALLY-MANAGED
pk --store "$S" run --network host base -- python3 -m pip install --no-cache-dir \
	--disable-pip-version-check --index-url "$HIDX" requests
[ "$PK_RC" -ne 0 ] && grep -q 'externally-managed-environment' "$PK_OUT" "$PK_ERR" \
	&& ok "pip in the image without --break-system-packages refuses (EXTERNALLY-MANAGED): pkgimg's pip layers are pip's with it" \
	|| fail "pip in the image without --break-system-packages refuses (EXTERNALLY-MANAGED)" "$(pk_detail)"

# ---- pip's answer: Debian's idna 3.3 satisfies idna<4,>=2.5
pip_in base pipreq requests
PIPREQ=$(dists pipreq)
grep -q "Requirement already satisfied: idna<4,>=2.5 in $DEB" "$T/pip.pipreq.out" && grep -q 'idna-3.3.egg-info' <<<"$PIPREQ" \
	&& ! grep -q 'idna-3.4' <<<"$PIPREQ" \
	|| bail "pip: Debian's idna kept" "$PIPREQ" "$(cat "$T/pip.pipreq.out")"

pk --store "$S" install --base base --pip requests --index-url "$IDX" --tag pk2
[ "$PK_RC" -eq 0 ] && [ "$(dists pk2)" = "$PIPREQ" ] \
	&& ok "install --base (python3-idna) --pip requests: Debian's idna 3.3 kept, as pip keeps it ($PIPREQ)" \
	|| fail "install --base (python3-idna) --pip requests: Debian's idna 3.3 kept, as pip keeps it" \
		"pkgimg: $(dists pk2)" "pip:    $PIPREQ" "$(pk_detail)"

pk --store "$S" install --apt python3-idna --pip pip --pip requests --index-url "$IDX" --tag pk1
[ "$PK_RC" -eq 0 ] && [ "$(dists pk1)" = "$PIPREQ" ] \
	&& ok "install --apt python3-idna --pip pip --pip requests: Debian's idna 3.3 kept, as pip keeps it" \
	|| fail "install --apt python3-idna --pip pip --pip requests: Debian's idna 3.3 kept, as pip keeps it" \
		"pkgimg: $(dists pk1)" "pip:    $PIPREQ" "$(pk_detail)"

mkdir -p "$T/w"
printf 'steps:\n  - apt: [python3-idna]\n  - pip: [pip]\n    index_url: %s\n  - pip: [requests]\n    index_url: %s\n' \
	"$IDX" "$IDX" >"$T/w/pkgimg.yaml"
pk --store "$S" build -f "$T/w/pkgimg.yaml" --tag spec
[ "$PK_RC" -eq 0 ] && [ "$(dists spec)" = "$PIPREQ" ] \
	&& ok "a spec apt: [python3-idna], pip: [pip], pip: [requests]: Debian's idna 3.3 kept, as pip keeps it" \
	|| fail "a spec apt: [python3-idna], pip: [pip], pip: [requests]: Debian's idna 3.3 kept, as pip keeps it" \
		"pkgimg: $(dists spec)" "pip:    $PIPREQ" "$(pk_detail)"
pk --store "$S" run spec -- python3 -m pip check
grep -q 'No broken requirements' "$PK_OUT" \
	&& ok "the spec: pip check finds no broken requirement" \
	|| fail "the spec: pip check finds no broken requirement" "$(pk_detail)"

# ---- an upgrade of Debian's: into /usr/local, Debian's files left
pip_in base pipup 'idna>=3.4'
PIPUP=$(dists pipup)
grep -q "Not uninstalling idna at $DEB" "$T/pip.pipup.out" && grep -q 'idna-3.4.dist-info .*|.* idna-3.3.egg-info' <<<"$PIPUP" \
	|| fail "pip: idna 3.4 into /usr/local, Debian's 3.3 left" "$PIPUP" "$(cat "$T/pip.pipup.out")"
pk --store "$S" install --base base --pip 'idna>=3.4' --index-url "$IDX" --tag pkup
PKUP=$(dists pkup)
pk --store "$S" run pkup -- python3 -c 'import idna; print(idna.__version__, idna.__file__)'
[ "$PKUP" = "$PIPUP" ] && grep -q "^3.4 $SITE/idna/__init__.py" "$PK_OUT" \
	&& ok "--pip 'idna>=3.4' on Debian's 3.3: 3.4 in /usr/local (imported first), Debian's left, as pip does ($PKUP)" \
	|| fail "--pip 'idna>=3.4' on Debian's 3.3: 3.4 in /usr/local, Debian's left, as pip does" \
		"pkgimg: $PKUP" "pip:    $PIPUP" "$(pk_detail)"
finish
