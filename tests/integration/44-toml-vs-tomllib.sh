#!/bin/bash
# core/toml.c against Python's tomllib (the oracle): every TOML 1.0 case of
# toml-test (tests/fixtures/toml-test: valid documents must give the same
# tree, types included; invalid ones must be refused with "FILE:LINE:COL:
# [parse]"; like tomllib, pkgimg refuses the two valid/utf8-bom cases, and,
# unlike it, the three that put U+0000 in a string), the real uv.lock of
# tests/fixtures/pypi, the .toml files this machine has (pyproject.toml of
# installed and vendored Python projects, pyenv's and rustup's trees), and
# hand-made edge documents.  The tree is printed by build/tests/test_toml
# --json and compared by tests/tools/toml_oracle.py.
. "$(dirname "$0")/../lib.sh"
TOOL=$SRC/build/tests/test_toml
[ -x "$TOOL" ] || bail "toml: build/tests/test_toml" "not built (make unit)"
"$PY" -c 'import tomllib' 2>/dev/null || { skip "toml: oracle" "no tomllib in $PY (Python 3.11+)"; finish; }

# compare NAME FILE...: one check for the lot, the mismatches as details
compare() {
	local name=$1 n; shift
	"$PY" "$SRC/tests/tools/toml_oracle.py" "$TOOL" "$@" >"$T/res" 2>&1
	n=$(grep -c '^same \|^both-reject ' "$T/res")
	if ! grep -q '^MISMATCH\|Traceback' "$T/res" && [ "$n" -eq $# ]; then
		ok "$name: $(grep -c '^same ' "$T/res") same trees, $(grep -c '^both-reject ' "$T/res") refused by both"
	else
		fail "$name" "$(grep -v '^same \|^both-reject ' "$T/res" | head -30)"
	fi
}

mapfile -t valid < <(find "$SRC/tests/fixtures/toml-test/valid" -name '*.toml' | sort)
mapfile -t invalid < <(find "$SRC/tests/fixtures/toml-test/invalid" -name '*.toml' | sort)
compare "toml-test valid (${#valid[@]})" "${valid[@]}"
compare "toml-test invalid (${#invalid[@]})" "${invalid[@]}"
# every invalid case really is one tomllib refuses (else the set proves less)
if grep -q '^same ' "$T/res"; then
	fail "toml-test invalid: tomllib refuses each" "$(grep '^same ' "$T/res" | head)"
else
	ok "toml-test invalid: tomllib refuses each of them too"
fi
compare "uv.lock (torch 2.2.1 closure, real)" "$SRC/tests/fixtures/pypi/torch-2.2.1-closure.uv.lock"

# this machine's TOML files: pyproject.toml of installed and vendored Python
# projects, Cargo and tool configs, CPython's own tomllib test data
mapfile -t host < <(find /usr/lib /usr/share /usr/local/lib /root/.pyenv /root/.rustup /root/.cargo \
	-xdev \( -name '*.toml' -o -name 'uv.lock' \) -type f -size -4M 2>/dev/null | sort | head -2000)
if [ ${#host[@]} -eq 0 ]; then
	skip "toml: this machine's .toml files" "none found under /usr/lib /usr/share /root/.pyenv"
else
	compare "this machine's .toml files (${#host[@]}, $(printf '%s\n' "${host[@]}" | grep -c 'pyproject.toml$') pyproject.toml)" "${host[@]}"
fi

# hand-made documents at the edges where readers differ
mkdir -p "$T/edge"
i=0
while IFS= read -r -d '' doc; do
	printf '%b' "$doc" >"$T/edge/$i.toml"
	i=$((i + 1))
done < <(printf '%s\0' \
	'a = """x\\\\\n  y"""' 'a = """\\\\  \n  y"""' 'a = """x\\\\ y"""' "a = '''''x'''''" \
	'[a.b.c]\n[a]\nb.d = 1' '[a]\nb.c = 1\n[a.b]' '[[a]]\n[a.b]\n[[a]]\n[a.b]' \
	'a = {b.c = 1, b.d = 2}' 'a = {b = {c = 1}, b.d = 2}' 'a = [{}]\n[[a]]' \
	'x = 1979-05-27 07:32:00.1234567-00:00' 'x = 00:00:00.000000' 'x = 2000-02-29T23:59:59z' \
	'x = 1e400' 'x = -0.0' 'x = 0o0' 'x = 9223372036854775807' 'x = -nan' \
	'a = 1\r\n' 'a = 1\r' '# c\r\n' '"\\u00e9" = 1' '"a"."b" . c = 1' \
	'a = [\n1,\n# c\n]' 'a = [,]' 'a = {}\na.b = 1' 'a.b = 1\n[a]' '[a]\n[a.b]\n[a]')
mapfile -t edge < <(find "$T/edge" -name '*.toml' | sort -V)
compare "hand-made edge documents (${#edge[@]})" "${edge[@]}"
finish
