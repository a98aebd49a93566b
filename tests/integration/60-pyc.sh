#!/bin/bash
# Bytecode, compiled deterministically, in parallel, by the interpreter that
# will import it.
#   `pkgimg pyc` on a tree, with the host's python3 (no network):
#     - the same bytes as `python -m compileall --invalidation-mode
#       checked-hash`, for --jobs 1 and --jobs 8 and whatever the caller's
#       PYTHONHASHSEED, on the fixture tree and on a copy of the standard
#       library;
#     - PEP 552 headers: checked-hash (flags 3, the source's SipHash, no time
#       anywhere), unchecked-hash (flags 1), timestamp (flags 0, mtime, size);
#       --pyc-opt 0,1,2 writes .opt-1/.opt-2 files without asserts/docstrings;
#     - a file that does not compile is a warning naming it, listed in --json,
#       the exit status 0; no interpreter is an error naming it.
#   Layers (the image's python3 from the real archive; skips when it is
#   unreachable): wheels from a fixture index and a conda channel whose python
#   is Debian's interpreter:
#     - every .py of the wheels has its .pyc, compiled in the sandbox: the
#       file name inside is the path in the image; RECORD lists the .pyc rows
#       as pip writes them; python imports them without writing anything;
#     - conda: the .pyc files join the record's files and paths_data
#       (pyc_file, with their sha256);
#     - Python 2 files: warnings, listed in --json; the layer builds;
#     - two fresh stores, one with --jobs 1 and one with --jobs 8, give the
#       same snapshot id and byte-identical trees (mtimes included);
#     - --pyc none, --pyc unchecked-hash and --pyc-opt give other layers.
. "$(dirname "$0")/../lib.sh"
need_pkgimg

# ---- a tree with the corners: frozensets, docstrings, asserts, coding
# declarations, a Python 2 file, a symlinked directory, an old __pycache__
mk_tree() {
	local d=$1
	mkdir -p "$d/pkg/sub" "$d.outside" "$d/__pycache__"
	cat >"$d/a.py" <<'EOF'
"""Module a."""
NAMES = frozenset({"alpha", "beta", "gamma", "delta"})


def known(x):
    """Is x known?"""
    assert isinstance(x, str), "a string"
    return x in {"alpha", "beta", "gamma", "delta", "epsilon"}
EOF
	printf '# -*- coding: latin-1 -*-\nS = "caf\xe9"\n' >"$d/latin.py"
	printf 'def f():\n    return 1\n' >"$d/pkg/__init__.py"
	printf 'X = [i * i for i in range(10)]\nY = {"k": (1, 2.5, 3j, b"x", None)}\n' >"$d/pkg/sub/deep.py"
	printf 'print "python 2"\n' >"$d/pkg/py2.py"
	printf 'not a module\n' >"$d/pkg/readme.txt"
	printf 'Z = 1\n' >"$d.outside/linked.py"
	ln -s "$d.outside" "$d/pkg/link"
	printf 'junk' >"$d/__pycache__/stale.cpython-311.pyc"
}
pyc_sums() {	# pyc_sums DIR: "sha256  path" of every .pyc, sorted
	(cd "$1" && find . -name '*.pyc' ! -name 'stale.*' -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
}

mk_tree "$T/t1"; cp -a "$T/t1" "$T/t2"; cp -a "$T/t1" "$T/t3"
(cd "$T/t1" && "$PY" -m compileall -q --invalidation-mode checked-hash . >/dev/null 2>&1)
pk --jobs 1 pyc --python "$PY" "$T/t2"
(cd "$T/t3" && PYTHONHASHSEED=12345 "$PKGIMG" --jobs 8 pyc --python "$PY" . >"$T/t3.out" 2>"$T/t3.err")
pyc_sums "$T/t1" >"$T/sum1"; pyc_sums "$T/t3" >"$T/sum3"
(cd "$T/t2" && LC_ALL=C find . -name '*.pyc' ! -name 'stale.*' | LC_ALL=C sort) >"$T/l2"
[ "$PK_RC" -eq 0 ] && [ "$(wc -l <"$T/sum1")" -eq 4 ] && cmp -s "$T/sum1" "$T/sum3" \
	&& [ "$(cut -c67- "$T/sum1")" = "$(cat "$T/l2")" ] \
	&& ok "pyc --jobs 8 with PYTHONHASHSEED=12345: the bytes of compileall --invalidation-mode checked-hash (4 files)" \
	|| fail "pyc --jobs 8 with PYTHONHASHSEED=12345: the bytes of compileall --invalidation-mode checked-hash (4 files)" \
		"$(pk_detail)" "$(diff "$T/sum1" "$T/sum3")" "$(cat "$T/t3.err")"
# the names embedded are the paths as given: compare t2 (absolute) with a
# compileall run given the same absolute path
mk_tree "$T/t4"; "$PY" -m compileall -q --invalidation-mode checked-hash "$T/t4" >/dev/null 2>&1
mv "$T/t4" "$T/t4.c"; mk_tree "$T/t4"; "$PKGIMG" -q pyc --python "$PY" "$T/t4" 2>/dev/null
pyc_sums "$T/t4" >"$T/sum4"; mv "$T/t4" "$T/t4.p"; mv "$T/t4.c" "$T/t4"; pyc_sums "$T/t4" >"$T/sum4c"
cmp -s "$T/sum4" "$T/sum4c" && [ -s "$T/sum4" ] \
	&& ok "pyc DIR with an absolute path: compileall's bytes (co_filename is the path as given)" \
	|| fail "pyc DIR with an absolute path: compileall's bytes" "$(diff "$T/sum4" "$T/sum4c")"
[ ! -e "$T/t2.outside/__pycache__" ] \
	&& [ "$(cat "$T/t2/__pycache__/stale.cpython-311.pyc")" = junk ] && [ ! -e "$T/t2/pkg/__pycache__/readme" ] \
	&& ok "the walk: symlinked directories not entered, __pycache__ not compiled, only .py files" \
	|| fail "the walk: symlinked directories not entered, __pycache__ not compiled, only .py files" "$(cd "$T/t2" && find . | sort)"
grep -q "pkg/py2.py: \[pyc\] not compiled: SyntaxError: Missing parentheses in call to 'print'" "$PK_ERR" \
	&& grep -q 'compiled 4 files (4 .pyc, cpython-311)' "$PK_ERR" && [ ! -e "$T/t2/pkg/__pycache__/py2.cpython-311.pyc" ] \
	&& ok "a Python 2 file: a warning naming it and the error, no .pyc, exit status 0" \
	|| fail "a Python 2 file: a warning naming it and the error, no .pyc, exit status 0" "$(pk_detail)"

# the stdlib: a few hundred real modules, --jobs 1 against --jobs 8
STD=$("$PY" -c 'import os; print(os.path.dirname(os.__file__))')
mkdir -p "$T/std1"
tar -C "$STD" -cf - --exclude=__pycache__ --exclude=site-packages --exclude=dist-packages \
	--exclude='config-*' --exclude=test --exclude=tests . | tar -C "$T/std1" -xf -
cp -a "$T/std1" "$T/std8"
(cd "$T/std1" && "$PKGIMG" -q --jobs 1 pyc --python "$PY" . 2>/dev/null)
(cd "$T/std8" && "$PKGIMG" -q --jobs 8 pyc --python "$PY" --pyc-opt 0,2 . 2>/dev/null)
pyc_sums "$T/std1" >"$T/std1.sum"; pyc_sums "$T/std8" | grep -v '\.opt-2\.pyc$' >"$T/std8.sum"
n=$(wc -l <"$T/std1.sum")
[ "$n" -gt 300 ] && cmp -s "$T/std1.sum" "$T/std8.sum" \
	&& [ "$(pyc_sums "$T/std8" | grep -c '\.opt-2\.pyc$')" -eq "$n" ] \
	&& ok "the standard library ($n modules): --jobs 1 and --jobs 8 write the same bytes" \
	|| fail "the standard library: --jobs 1 and --jobs 8 write the same bytes" "$n files" \
		"$(diff "$T/std1.sum" "$T/std8.sum" | head)"

# headers and levels
mk_tree "$T/h"
pk --json pyc --python "$PY" --pyc-opt 0,1,2 "$T/h"
cat >"$T/hdr.py" <<'EOF'
import importlib.util as U, marshal, os, struct, sys
src, mode = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
out = []
for opt in ("", 1, 2):
    b = open(U.cache_from_source(src, optimization=opt), "rb").read()
    assert b[:4] == U.MAGIC_NUMBER, "magic"
    flags = struct.unpack("<I", b[4:8])[0]
    if mode == "checked":
        assert flags == 3 and b[8:16] == U.source_hash(data), (flags, b[8:16])
    elif mode == "unchecked":
        assert flags == 1 and b[8:16] == U.source_hash(data), flags
    else:
        st = os.stat(src)
        assert flags == 0 and struct.unpack("<II", b[8:16]) == (int(st.st_mtime) & 0xFFFFFFFF, st.st_size & 0xFFFFFFFF)
    code = marshal.loads(b[16:])
    assert code.co_filename == src, code.co_filename
    fn = [c for c in code.co_consts if hasattr(c, "co_name") and c.co_name == "known"][0]
    out.append("%s doc=%s assert=%s" % (opt or 0, "Is x known?" in fn.co_consts,
                                         "a string" in fn.co_consts))
print(" | ".join(out))
EOF
got=$("$PY" "$T/hdr.py" "$T/h/a.py" checked 2>&1)
[ "$PK_RC" -eq 0 ] && [ "$got" = "0 doc=True assert=True | 1 doc=True assert=False | 2 doc=False assert=False" ] \
	&& ok "checked-hash: flags 3 and the source's hash, no time; opt-1 drops asserts, opt-2 docstrings too" \
	|| fail "checked-hash headers and --pyc-opt 0,1,2" "$got" "$(pk_detail)"
json_get "$PK_OUT" '"%s %s %s %s %s" % (j["mode"], j["compiled"], j["pycs"], [f["path"].endswith("pkg/py2.py") for f in j["failed"]], "SyntaxError" in j["failed"][0]["error"])' >"$T/j"
[ "$(cat "$T/j")" = "checked-hash 4 12 [True] True" ] \
	&& ok "--json: mode, counts, and the file that did not compile with its error" \
	|| fail "--json: mode, counts, and the file that did not compile with its error" "$(cat "$T/j")" "$(pk_detail)"
for m in unchecked timestamp; do
	mk_tree "$T/h.$m"
	pk pyc --python "$PY" --pyc-opt 0,1,2 --pyc "$([ $m = unchecked ] && echo unchecked-hash || echo timestamp)" "$T/h.$m"
	got=$("$PY" "$T/hdr.py" "$T/h.$m/a.py" $m 2>&1)
	[ "$PK_RC" -eq 0 ] && [ "${got:0:25}" = "0 doc=True assert=True | " ] \
		&& ok "--pyc $m: the header python expects" || fail "--pyc $m: the header python expects" "$got" "$(pk_detail)"
done
pk pyc --python /nonexistent/python3 "$T/h"
pk_failed_cleanly && err_has '/nonexistent/python3: \[pyc\] not an executable interpreter' \
	&& ok "--python PATH that does not exist: an error naming it" \
	|| fail "--python PATH that does not exist: an error naming it" "$(pk_detail)"
pk pyc --python /bin/false "$T/h"
pk_failed_cleanly && err_has '/bin/false: \[pyc\] the interpreter did not start' \
	&& ok "an interpreter that does not run: an error saying so" \
	|| fail "an interpreter that does not run: an error saying so" "$(pk_detail)"
pk pyc --python "$PY" --pyc sometimes "$T/h"
pk_failed_cleanly && err_has 'give checked-hash' && ok "--pyc with an unknown mode: an error listing the modes" \
	|| fail "--pyc with an unknown mode: an error listing the modes" "$(pk_detail)"

# ---- layers, with the image's python3 from the real archive
archive_reachable || { skip "bytecode in pip and conda layers" "archive unreachable"; finish; }
cat >"$T/spec.json" <<'EOF'
{"projects": {
  "alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta==1.0"],
                                  "extra_files": {"alpha/util.py": "\"\"\"Utilities.\"\"\"\nKINDS = {\"x\", \"y\", \"z\"}\n\n\ndef kind(k):\n    assert k\n    return k in KINDS\n",
                                                  "alpha/legacy.py": "print 'python 2'\n"}}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}}
}}
EOF
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/srv/idx" >/dev/null || bail "the fixture index builds"
"$PY" "$SRC/tests/fixtures/conda_fixture.py" pyreal "$T/srv/pyreal" >/dev/null 2>&1 || bail "the pyreal conda channel builds"
start_http_server "$T/srv"
IDX=$HTTP_URL/idx/simple/ CH=$HTTP_URL/pyreal
SITE=usr/local/lib/python3.11/dist-packages

pk --store "$T/s1" --jobs 8 install --apt python3 --pip alpha --index-url "$IDX" --tag a --root "$T/r1" --json
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "bytecode in pip and conda layers" "archive unreachable"; finish; }
	bail "install --apt python3 --pip alpha" "$(pk_detail)"
fi
SNAP1=$(json_get "$PK_OUT" 'j["snapshot"]')
R=$T/r1/$SITE
[ -f "$R/alpha/__pycache__/__init__.cpython-311.pyc" ] && [ -f "$R/alpha/__pycache__/util.cpython-311.pyc" ] \
	&& [ -f "$R/beta/__pycache__/__init__.cpython-311.pyc" ] && [ ! -e "$R/alpha/__pycache__/legacy.cpython-311.pyc" ] \
	&& ok "the pip layer holds a .pyc for every module of the wheels (but the Python 2 one)" \
	|| fail "the pip layer holds a .pyc for every module of the wheels" "$(cd "$T/r1/$SITE" && find . | sort)"
json_get "$PK_OUT" '"%s %s %s" % (j["pyc"]["compiled"], [(f["package"], f["path"]) for f in j["pyc"]["failed"]], "SyntaxError" in j["pyc"]["failed"][0]["error"])' >"$T/j"
[ "$(cat "$T/j")" = "3 [('alpha 1.0', '/usr/local/lib/python3.11/dist-packages/alpha/legacy.py')] True" ] \
	&& grep -q "alpha 1.0: \[pyc\] /usr/local/lib/python3.11/dist-packages/alpha/legacy.py does not compile" "$PK_ERR" \
	&& ok "a Python 2 file in a wheel: a warning naming it, listed in --json; the layer builds" \
	|| fail "a Python 2 file in a wheel: a warning naming it, listed in --json" "$(cat "$T/j")" "$(pk_detail)"
pk --store "$T/s1" --jobs 8 install --apt python3 --pip alpha --index-url "$IDX" --json
json_get "$PK_OUT" '"%s %s %s" % (j["snapshot"] == "'"$SNAP1"'", [(f["package"], f["path"]) for f in j["pyc"]["failed"]], "SyntaxError" in j["pyc"]["failed"][0]["error"])' >"$T/j2"
[ "$PK_RC" -eq 0 ] && [ "$(cat "$T/j2")" = "True [('alpha 1.0', '/usr/local/lib/python3.11/dist-packages/alpha/legacy.py')] True" ] \
	&& grep -q "alpha 1.0: \[pyc\] /usr/local/lib/python3.11/dist-packages/alpha/legacy.py does not compile" "$PK_ERR" \
	&& ok "the same install again (every layer cached): the layer's warning and its --json entry again" \
	|| fail "the same install again: the layer's warning and its --json entry again" "$(cat "$T/j2")" "$(pk_detail)"
tr -d '\r' <"$R/alpha-1.0.dist-info/RECORD" >"$T/rec.a"; tr -d '\r' <"$R/beta-1.0.dist-info/RECORD" >"$T/rec.b"
grep -qx 'alpha/__pycache__/__init__.cpython-311.pyc,,' "$T/rec.a" \
	&& grep -qx 'alpha/__pycache__/util.cpython-311.pyc,,' "$T/rec.a" \
	&& grep -qx 'beta/__pycache__/__init__.cpython-311.pyc,,' "$T/rec.b" \
	&& ! grep -q 'legacy.cpython' "$T/rec.a" && [ "$(grep -c $'\r$' "$R/alpha-1.0.dist-info/RECORD")" -eq 11 ] \
	&& ok "RECORD lists the .pyc files as pip does (path,,)" \
	|| fail "RECORD lists the .pyc files as pip does" "$(cat "$R/alpha-1.0.dist-info/RECORD")"
pk --store "$T/s1" run a -- python3 -c '
import marshal, importlib.util as U, struct, sys, os
import alpha.util
p = alpha.util.__spec__.cached
b = open(p, "rb").read()
src = open(alpha.util.__file__, "rb").read()
print(p, marshal.loads(b[16:]).co_filename, struct.unpack("<I", b[4:8])[0], b[8:16] == U.source_hash(src), b[:4] == U.MAGIC_NUMBER)
print(alpha.util.kind("x"))'
[ "$PK_RC" -eq 0 ] && [ "$(head -n1 "$PK_OUT")" = "/$SITE/alpha/__pycache__/util.cpython-311.pyc /$SITE/alpha/util.py 3 True True" ] \
	&& [ "$(sed -n 2p "$PK_OUT")" = True ] \
	&& ok "in the image: the .pyc has the image's magic, checked-hash flags and the path inside the image" \
	|| fail "in the image: the .pyc has the image's magic, checked-hash flags and the path inside the image" "$(pk_detail)"
pk --store "$T/s1" run a -- sh -c 'touch /tmp/mark; python3 -c "import alpha, alpha.util, beta" && find / -xdev -name "*.pyc" -newer /tmp/mark | wc -l'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = 0 ] \
	&& ok "importing writes no .pyc: the layer's are valid for the image's python" \
	|| fail "importing writes no .pyc: the layer's are valid for the image's python" "$(pk_detail)"
(cd "$T/r1/$SITE" && find alpha beta -newermt '@1' | sort) >"$T/new"
[ ! -s "$T/new" ] && ok "every file and directory of the pip layer has mtime 0, the .pyc files and __pycache__ too" \
	|| fail "every file and directory of the pip layer has mtime 0" "$(cat "$T/new")"

# two fresh stores, --jobs 1 against --jobs 8: one snapshot, one tree
pk --store "$T/s2" --jobs 1 install --apt python3 --pip alpha --index-url "$IDX" --root "$T/r2"
SNAP2=$(cat "$PK_OUT")
(cd "$T/r1/$SITE" && find . -printf '%p %s %T@ %m\n' | sort) >"$T/tree1"
(cd "$T/r2/$SITE" && find . -printf '%p %s %T@ %m\n' | sort) >"$T/tree2"
[ -n "$SNAP1" ] && [ "$SNAP1" = "$SNAP2" ] && cmp -s "$T/tree1" "$T/tree2" \
	&& diff -r "$T/r1/$SITE" "$T/r2/$SITE" >/dev/null \
	&& ok "two fresh stores, --jobs 8 and --jobs 1: the same snapshot id and a byte-identical tree with its .pyc files" \
	|| fail "two fresh stores, --jobs 8 and --jobs 1: the same snapshot and tree" "$SNAP1 vs $SNAP2" \
		"$(diff "$T/tree1" "$T/tree2" | head)"

pk --store "$T/s2" install --apt python3 --pip alpha --index-url "$IDX" --pyc none --root "$T/r3"
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" != "$SNAP2" ] && [ ! -e "$T/r3/$SITE/alpha/__pycache__" ] \
	&& ! grep -q pyc "$T/r3/$SITE/alpha-1.0.dist-info/RECORD" \
	&& ok "--pyc none: no bytecode, and another layer key" \
	|| fail "--pyc none: no bytecode, and another layer key" "$(pk_detail)"
pk --store "$T/s2" install --apt python3 --pip alpha --index-url "$IDX" --pyc unchecked-hash --pyc-opt 0,1 --root "$T/r4"
R4=$T/r4/$SITE/alpha
[ "$PK_RC" -eq 0 ] && [ -f "$R4/__pycache__/util.cpython-311.opt-1.pyc" ] \
	&& [ "$("$PY" -c 'import sys,struct; print(struct.unpack("<I", open(sys.argv[1],"rb").read()[4:8])[0])' "$R4/__pycache__/util.cpython-311.pyc")" = 1 ] \
	&& grep -q '^alpha/__pycache__/util.cpython-311.opt-1.pyc,,' "$T/r4/$SITE/alpha-1.0.dist-info/RECORD" \
	&& ok "--pyc unchecked-hash --pyc-opt 0,1: flags 1, the .opt-1 files, both in RECORD" \
	|| fail "--pyc unchecked-hash --pyc-opt 0,1" "$(pk_detail)" "$(ls -R "$T/r4/$SITE/alpha")"

# conda: a channel whose python is Debian's interpreter (a link to it)
pk --store "$T/s1" install --apt python3 --conda hello -c "$CH" --root "$T/r5" --json
P=$T/r5/opt/conda
[ "$PK_RC" -eq 0 ] && [ -f "$P/lib/python3.11/site-packages/hello/__pycache__/__init__.cpython-311.pyc" ] \
	&& [ -f "$P/lib/python3.11/__pycache__/pyreal_std.cpython-311.pyc" ] \
	&& ok "conda: noarch: python and python's own modules compiled with <prefix>/bin/python3.11" \
	|| fail "conda: noarch: python and python's own modules compiled" "$(pk_detail)" "$(cd "$P" 2>/dev/null && find . | sort)"
"$PY" - "$P" >"$T/rec" 2>&1 <<'EOF'
import hashlib, json, sys
p = sys.argv[1]
r = json.load(open(p + "/conda-meta/hello-1.0-pyh_0.json"))
rel = "lib/python3.11/site-packages/hello/__pycache__/__init__.cpython-311.pyc"
e = [x for x in r["paths_data"]["paths"] if x["_path"] == rel]
data = open(p + "/" + rel, "rb").read()
print(rel in r["files"], len(e) == 1 and e[0]["path_type"] == "pyc_file" and e[0]["sha256"] == hashlib.sha256(data).hexdigest()
      and e[0]["size_in_bytes"] == len(data), r["files"] == sorted(r["files"]))
EOF
[ "$(cat "$T/rec")" = "True True True" ] \
	&& ok "conda: the .pyc joins the record's files and paths_data (pyc_file, sha256, size)" \
	|| fail "conda: the .pyc joins the record's files and paths_data" "$(cat "$T/rec")"
json_get "$PK_OUT" 'sorted(f["package"] + " " + f["path"] for f in j["pyc"]["failed"])' >"$T/cf"
printf '%s\n' "hello 1.0 /opt/conda/lib/python3.11/site-packages/hello/legacy.py" \
	"python 3.11.2 /opt/conda/lib/python3.11/pyreal_py2.py" | cmp -s - "$T/cf" \
	&& ok "conda: the Python 2 files of both packages are warnings listed in --json" \
	|| fail "conda: the Python 2 files of both packages are warnings listed in --json" "$(cat "$T/cf")" "$(pk_detail)"
pk --store "$T/s1" run "$(json_get "$PK_OUT" 'j["snapshot"]')" -- /opt/conda/bin/python3.11 -c 'import sys; sys.path.insert(0, "/opt/conda/lib/python3.11/site-packages"); import hello; print(hello.__cached__, hello.greet())'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "/opt/conda/lib/python3.11/site-packages/hello/__pycache__/__init__.cpython-311.pyc hello" ] \
	&& ok "conda: the module imports from its .pyc in the image" \
	|| fail "conda: the module imports from its .pyc in the image" "$(pk_detail)"

# an interpreter that does not run in the image (conda's python links to a
# /usr/bin/python3.11 the scratch base lacks): a warning, the layer builds
pk --store "$T/s2" install --base scratch --conda hello -c "$CH" --root "$T/r6"
[ "$PK_RC" -eq 0 ] && err_has 'bytecode not compiled, the layer is built without it: /opt/conda/bin/python3.11: \[pyc\] cannot execute it: No such file or directory \(it, the file it links to' \
	&& [ -f "$T/r6/opt/conda/lib/python3.11/site-packages/hello/__init__.py" ] \
	&& [ ! -e "$T/r6/opt/conda/lib/python3.11/site-packages/hello/__pycache__" ] \
	&& ok "an interpreter that does not run in the image: a warning saying so; the layer builds without bytecode" \
	|| fail "an interpreter that does not run in the image: a warning saying so" "$(pk_detail)"
finish
