#!/bin/bash
# Where pkgimg answered differently from pip (issue 18), each against pip
# itself (Debian's pip 23, /usr/bin/python3 -m pip) on the same fixture
# index on 127.0.0.1; the image's python3 (3.11) from the real archive
# (skips when unreachable):
#   - Requires-Python only in a wheel's METADATA (no data-requires-python on
#     the page): the candidate is rejected and an older one taken;
#   - a specifier with only a pre-release above it takes no pre-release;
#   - an extra the project does not declare: a warning, and the install goes on;
#   - messages: a --hash that no file has, a -c constraint that excludes
#     everything, the advice for -e DIR;
#   - the lockfile records each wheel's size from an HTML index too.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "pkgimg against pip" "archive unreachable"; finish; }
S=$T/store

cat >"$T/spec.json" <<'EOS'
{"projects": {
  "idna": {"versions": {
    "3.6": {"wheels": ["py3-none-any"]},
    "3.7": {"wheels": ["py3-none-any"],
            "metadata_text": "Metadata-Version: 2.1\nName: idna\nVersion: 3.7\nRequires-Python: >=3.12\n"}}},
  "click": {"versions": {"8.1.3": {"wheels": ["py3-none-any"]}, "8.2.0rc1": {"wheels": ["py3-none-any"]}}},
  "onlypre": {"versions": {"1.0b1": {"wheels": ["py3-none-any"]}}},
  "ghosty": {"versions": {"1.0": {"wheels": ["py3-none-any"],
                                  "requires_dist": ["nosuchproj; extra == 'ghost'", "click; extra == 'real'"],
                                  "provides_extra": ["real"]}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}}
}}
EOS
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/www/small" >/dev/null \
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

# pkgimg's and pip's answers for one request: "name==version ..." sorted, or
# "no solution"; pip's stderr in $T/pip.err
pk_set() {
	pk --store "$S" lock "$@" --index-url "$IDX" -o "$T/set.lock" --json
	if [ "$PK_RC" -ne 0 ]; then echo "no solution"; return; fi
	json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' \
		| sort | tr '\n' ' '
}
pip_set() {
	rm -f "$T/pip.json"
	"$PY" -m pip install --dry-run --ignore-installed --quiet --report "$T/pip.json" \
		--index-url "$HIDX" "$@" >"$T/pip.err" 2>&1
	if [ ! -s "$T/pip.json" ]; then echo "no solution"; return; fi
	json_get "$T/pip.json" '[i["metadata"]["name"].lower().replace("_", "-") + "==" + i["metadata"]["version"] for i in j["install"]]' \
		| sort | tr '\n' ' '
}
same_as_pip() {	# same_as_pip NAME REQ...
	local name=$1; shift
	local -a pkargs=()
	local q
	for q in "$@"; do pkargs+=(--pip "$q"); done
	pk_set "${pkargs[@]}" >"$T/pk.set"
	PK_SET=$(cat "$T/pk.set") PIP_SET=$(pip_set "$@")
	[ "$PK_SET" = "$PIP_SET" ] && ok "$name: as pip (${PIP_SET% })" \
		|| fail "$name: as pip" "pkgimg: $PK_SET" "pip:    $PIP_SET" "$(pk_detail)" "pip: $(cat "$T/pip.err")"
}

# first lock: the apt layer (python3) from the archive
pk --store "$S" lock --pip beta --index-url "$IDX" -o "$T/first.lock"
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "pkgimg against pip" "archive unreachable"; finish; }
	bail "lock --pip beta" "$(pk_detail)"; }

# ---- 1. Requires-Python in the metadata only
same_as_pip "idna: 3.7 needs Python >=3.12 in its METADATA only; the target is 3.11" idna
pk_set --pip idna==3.7 >"$T/pk.set"
[ "$PK_RC" -ne 0 ] && grep -q 'requires Python >=3.12 (Requires-Python in its metadata)' "$PK_ERR" \
	&& ok "idna==3.7 on 3.11: refused, naming Requires-Python" \
	|| fail "idna==3.7 on 3.11: refused, naming Requires-Python" "$(pk_detail)"

# ---- 3. pre-releases: pip 23's rule
same_as_pip "click>8.1.3 with only 8.2.0rc1 above: no pre-release" 'click>8.1.3'
grep -q '8.2.0rc1 is a pre-release' "$PK_ERR" \
	&& ok "click>8.1.3: the message says 8.2.0rc1 is a pre-release and how to ask for it" \
	|| fail "click>8.1.3: the message says 8.2.0rc1 is a pre-release" "$(pk_detail)"
same_as_pip "click>=8.2.0rc1 names a pre-release" 'click>=8.2.0rc1'
same_as_pip "a project with only pre-releases, no specifier" onlypre
same_as_pip "a project with only pre-releases, a specifier" 'onlypre>0.1'
same_as_pip "click (bare): the final release" click

# ---- 4. an extra the project does not declare: pip warns and goes on
same_as_pip "ghosty[ghost]: 'ghost' is no Provides-Extra (its Requires-Dist names a missing project)" 'ghosty[ghost]'
grep -q "does not provide the extra 'ghost'" "$T/pip.err" && grep -q "ghosty 1.0 does not provide the extra 'ghost'" "$PK_ERR" \
	&& ok "ghosty[ghost]: a warning in pip's words, as pip gives one" \
	|| fail "ghosty[ghost]: a warning in pip's words, as pip gives one" "$(pk_detail)" "pip: $(cat "$T/pip.err")"
same_as_pip "ghosty[real,ghost]: the declared extra is installed, the other warned about" 'ghosty[real,ghost]'

# ---- 5. messages
BETA1=$(json_get "$T/www/small/simple/beta/index.json" '[f["hashes"]["sha256"] for f in j["files"] if "1.0" in f["filename"]]')
ZERO=$(printf 0%.0s $(seq 64))
printf 'beta==1.0 --hash=sha256:%s\n' "$ZERO" >"$T/bad.txt"
pk --store "$S" lock -r "$T/bad.txt" --index-url "$IDX" -o "$T/x.lock"
pip_set -r "$T/bad.txt" >/dev/null
[ "$PK_RC" -ne 0 ] && grep -q 'hash mismatch: beta-1.0-py3-none-any.whl has sha256:'"$BETA1" "$PK_ERR" \
	&& grep -q "expects sha256:$ZERO" "$PK_ERR" && grep -q 'bad.txt:1' "$PK_ERR" \
	&& ! grep -q 'no wheel for this image' "$PK_ERR" && grep -q 'DO NOT MATCH THE HASHES' "$T/pip.err" \
	&& ok "a --hash no file has: refused as by pip, naming the file, the actual and the expected sha256" \
	|| fail "a --hash no file has: refused as by pip, naming the file, the actual and the expected sha256" \
		"$(pk_detail)" "pip: $(cat "$T/pip.err")"

printf 'beta<1\n' >"$T/cons.txt"
printf -- '-c cons.txt\nbeta\n' >"$T/rc.txt"
pk --store "$S" lock -r "$T/rc.txt" --index-url "$IDX" -o "$T/x.lock"
[ "$(pip_set -r "$T/rc.txt")" = "no solution" ] && [ "$PK_RC" -ne 0 ] \
	&& grep -q 'excluded by the constraint beta<1 (-c .*cons.txt:1)' "$PK_ERR" \
	&& ok "a -c constraint that excludes every version: refused as by pip, naming it and its file:line" \
	|| fail "a -c constraint that excludes every version: refused as by pip, naming it and its file:line" \
		"$(pk_detail)" "pip: $(cat "$T/pip.err")"

# -e DIR (issue 18): in an image, -e is a regular install of the directory;
# it is read as a path (here a missing one, named), and the warning says so
printf -- '-e ./mypkg\n' >"$T/e.txt"
pk --store "$S" lock -r "$T/e.txt" --index-url "$IDX" -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'regular install' "$PK_ERR" && grep -q 'mypkg' "$PK_ERR" \
	&& ! grep -q 'editable installs are not supported' "$PK_ERR" \
	&& ok "-e DIR: taken as a regular install of DIR (a warning says so), not refused with advice" \
	|| fail "-e DIR: taken as a regular install of DIR, with a warning" "$(pk_detail)"

# ---- 6. the lockfile's size of a wheel from an HTML index (no PEP 700 size)
sizes() {	# sizes LOCKJSON -> "file=size ..." of its pypi packages
	json_get "$1" '[p["url"].rsplit("/", 1)[1] + "=" + str(p["size"]) for p in j["packages"] if p["ecosystem"] == "pypi"]' | sort | tr '\n' ' '
}
pk --store "$S" lock --pip 'ghosty[real]' --pip beta --index-url "$HIDX" -o "$T/h1.lock" --json
sizes "$PK_OUT" >"$T/h1.sizes"
REAL=$(cd "$T/www/small/files" && for f in beta-2.0-py3-none-any.whl click-8.1.3-py3-none-any.whl ghosty-1.0-py3-none-any.whl; do printf '%s=%s ' "$f" "$(stat -c %s "$f")"; done)
[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/h1.sizes")" = "$REAL" ] \
	&& ok "HTML index: the lockfile records each wheel's real size ($REAL)" \
	|| fail "HTML index: the lockfile records each wheel's real size" "want: $REAL" "got:  $(cat "$T/h1.sizes")" "$(pk_detail)"
pk --store "$T/store2" lock --pip 'ghosty[real]' --pip beta --index-url "$HIDX" -o "$T/h2.lock"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/h1.lock" "$T/h2.lock" \
	&& ok "HTML index: the same lockfile from another store" \
	|| fail "HTML index: the same lockfile from another store" "$(pk_detail)" "$(diff "$T/h1.lock" "$T/h2.lock" | head)"
pk --store "$S" lock --pip 'ghosty[real]' --pip beta --index-url "$IDX" -o "$T/j.lock" --json
[ "$PK_RC" -eq 0 ] && [ "$(sizes "$PK_OUT")" = "$REAL" ] \
	&& ok "JSON index (PEP 700 size): the same sizes" \
	|| fail "JSON index (PEP 700 size): the same sizes" "$(sizes "$PK_OUT")" "$(pk_detail)"
finish
