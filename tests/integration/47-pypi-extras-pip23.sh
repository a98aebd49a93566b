#!/bin/bash
# PEP 685 extras against pip 23.0 and 23.2 (issue 18).  pkgimg compares an
# extra's names (a requirement's [extra], Provides-Extra, a marker's
# `extra == "..."`) normalised as PEP 685 says (lowercase, runs of - _ .
# as one -), as packaging >= 22 and pip >= 23.3 do.  pip 23.0 (Debian's)
# and 23.2 (the host's pyenv python 3.11) compare them as pkg_resources'
# safe_extra() leaves them (lowercase, '-' '.' '_' kept apart; a marker's
# literal not at all, packaging 21.3), so where only the spelling differs
# they answer differently:
#   - legacy[use-chardet-on-py3], Provides-Extra: use_chardet_on_py3
#     (setuptools' spelling of requests' extra): pip 23 warns "does not
#     provide the extra" and installs no chardet; pkgimg installs it;
#   - modern[foo_bar] and modern[Foo.Bar], Provides-Extra: foo-bar (a PEP
#     685 backend's spelling): the same;
#   - mixed[foo-bar], Provides-Extra: foo-bar but Requires-Dist
#     "click; extra == 'foo_bar'": pip 23 takes the extra, its marker is
#     false, no click and no word said; pkgimg installs click;
#   - upper[foobar], Provides-Extra: FooBar, extra == 'FooBar': likewise.
# PEP 685 is the standard and newer pip follows it, so pkgimg keeps its
# answer; where pip 23's would differ it says so in a warning, as the
# user comparing with their pip 23 needs to know.  Each answer of pip is
# checked here, so the difference stays documented by pip itself.
# The image's python3 from the real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "PEP 685 extras against pip 23" "archive unreachable"; finish; }
S=$T/store
PIP232=/root/.pyenv/versions/3.11.7/bin/python3

cat >"$T/spec.json" <<'EOS'
{"projects": {
  "legacy": {"versions": {"1.0": {"wheels": ["py3-none-any"],
      "metadata_text": "Metadata-Version: 2.1\nName: legacy\nVersion: 1.0\nProvides-Extra: use_chardet_on_py3\nRequires-Dist: chardet; extra == 'use_chardet_on_py3'\n"}}},
  "modern": {"versions": {"1.0": {"wheels": ["py3-none-any"],
      "metadata_text": "Metadata-Version: 2.1\nName: modern\nVersion: 1.0\nProvides-Extra: foo-bar\nRequires-Dist: click; extra == 'foo-bar'\n"}}},
  "mixed": {"versions": {"1.0": {"wheels": ["py3-none-any"],
      "metadata_text": "Metadata-Version: 2.1\nName: mixed\nVersion: 1.0\nProvides-Extra: foo-bar\nRequires-Dist: click; extra == 'foo_bar'\n"}}},
  "upper": {"versions": {"1.0": {"wheels": ["py3-none-any"],
      "metadata_text": "Metadata-Version: 2.1\nName: upper\nVersion: 1.0\nProvides-Extra: FooBar\nRequires-Dist: click; extra == 'FooBar'\n"}}},
  "chardet": {"versions": {"5.1.0": {"wheels": ["py3-none-any"]}}},
  "click": {"versions": {"8.1.3": {"wheels": ["py3-none-any"]}}}
}}
EOS
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/www/small" >/dev/null \
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

pk_set() {	# pk_set REQ -> "name==version ..." sorted; stderr in $T/pk.err
	pk --store "$S" lock --pip "$1" --index-url "$IDX" -o "$T/set.lock" --json
	cp "$PK_ERR" "$T/pk.err"
	if [ "$PK_RC" -ne 0 ]; then echo "no solution"; return; fi
	json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' \
		| sort | tr '\n' ' '
}
pip_set() {	# pip_set PYTHON REQ -> the same from pip; its stderr in $T/pip.err
	rm -f "$T/pip.json"
	"$1" -m pip install --dry-run --ignore-installed --quiet --disable-pip-version-check \
		--report "$T/pip.json" --index-url "$HIDX" "$2" >"$T/pip.err" 2>&1
	if [ ! -s "$T/pip.json" ]; then echo "no solution"; return; fi
	json_get "$T/pip.json" '[i["metadata"]["name"].lower() + "==" + i["metadata"]["version"] for i in j["install"]]' \
		| sort | tr '\n' ' '
}

pk --store "$S" lock --pip click --index-url "$IDX" -o "$T/first.lock"
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "PEP 685 extras against pip 23" "archive unreachable"; finish; }
	bail "lock --pip click" "$(pk_detail)"; }
HAVE232=1
"$PIP232" -m pip --version 2>/dev/null | grep -q '^pip 23\.2' || HAVE232=0
[ "$HAVE232" = 1 ] || skip "pip 23.2's answers" "no pip 23.2 at $PIP232"

# case REQ PEP685-SET PIP23-SET WHY: pkgimg gives the first, pip 23.0 and
# 23.2 the second, and pkgimg's warning names the difference
case_() {
	local req=$1 want=$2 pip23=$3 why=$4 got p230 p232 warned
	got=$(pk_set "$req")
	p230=$(pip_set "$PY" "$req"); cp "$T/pip.err" "$T/pip230.err"
	p232=$pip23
	[ "$HAVE232" = 1 ] && p232=$(pip_set "$PIP232" "$req")
	[ "$p230" = "$pip23" ] && [ "$p232" = "$pip23" ] \
		&& ok "$req: pip 23.0 and 23.2 give ${pip23% } ($why)" \
		|| fail "$req: pip 23.0 and 23.2 give ${pip23% }" "pip 23.0: $p230" "pip 23.2: $p232" "$(cat "$T/pip230.err")"
	grep -q 'pip before 23.3' "$T/pk.err" && warned=1 || warned=0
	[ "$got" = "$want" ] && [ "$warned" = 1 ] \
		&& ok "$req: pkgimg gives PEP 685's ${want% }, and warns that pip before 23.3 does not ($(grep -o "warning: .*" "$T/pk.err" | head -1))" \
		|| fail "$req: pkgimg gives PEP 685's ${want% }, and warns that pip before 23.3 does not" \
			"pkgimg: $got" "$(cat "$T/pk.err")"
}
case_ 'legacy[use-chardet-on-py3]' 'chardet==5.1.0 legacy==1.0 ' 'legacy==1.0 ' \
	"no chardet: 'use-chardet-on-py3' is not Provides-Extra 'use_chardet_on_py3' to pip 23"
grep -q "legacy 1.0 does not provide the extra 'use-chardet-on-py3'" "$T/pip230.err" \
	&& ok "legacy[use-chardet-on-py3]: pip 23.0 says the extra is not provided" \
	|| fail "legacy[use-chardet-on-py3]: pip 23.0 says the extra is not provided" "$(cat "$T/pip230.err")"
case_ 'modern[foo_bar]' 'click==8.1.3 modern==1.0 ' 'modern==1.0 ' \
	"no click: 'foo_bar' is not Provides-Extra 'foo-bar' to pip 23"
case_ 'modern[Foo.Bar]' 'click==8.1.3 modern==1.0 ' 'modern==1.0 ' \
	"no click: 'foo.bar' is not Provides-Extra 'foo-bar' to pip 23"
case_ 'mixed[foo-bar]' 'click==8.1.3 mixed==1.0 ' 'mixed==1.0 ' \
	"no click and no warning: the extra is provided, but extra == 'foo_bar' is false for 'foo-bar' to packaging 21.3"
case_ 'upper[foobar]' 'click==8.1.3 upper==1.0 ' 'upper==1.0 ' \
	"no click and no warning: extra == 'FooBar' is false for 'foobar' to packaging 21.3"

# where the spellings agree, no warning
got=$(pk_set 'modern[foo-bar]')
[ "$got" = 'click==8.1.3 modern==1.0 ' ] && [ "$(pip_set "$PY" 'modern[foo-bar]')" = "$got" ] && ! grep -q 'pip before 23.3' "$T/pk.err" \
	&& ok "modern[foo-bar] (spelled as declared): pkgimg and pip 23.0 agree, no warning" \
	|| fail "modern[foo-bar] (spelled as declared): pkgimg and pip 23.0 agree, no warning" "pkgimg: $got" "$(cat "$T/pk.err")"
finish
