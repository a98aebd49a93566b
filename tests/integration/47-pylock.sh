#!/bin/bash
# Lock files of other tools (issue 18): PEP 751 pylock.toml and uv's uv.lock
# installed exactly (nothing resolved), and the PyPI part of a pkgimg lock
# written as pylock.toml and as a hashed requirements.txt.
#   1. `lock --pylock-out` written and read back (`install --pip-lock`,
#      `install -r pylock.toml`) installs the same snapshot as the lock, for
#      a small index and for torch 2.2.1's 22-package closure;
#      `lock --lock FILE --pylock-out` converts without resolving, same bytes;
#      a spec's pip step `requirements: pylock.toml` locks the same files;
#   2. the real uv.lock (uv's lock_conflict snapshot with torch 2.2.1/2.5.1,
#      tests/fixtures/pypi/torch-closure/uv.lock) installs: the test rewrites
#      h5py's version that uv's snapshot filter redacted ("3.12.[X]" ->
#      3.12.1) and, for the packages installed, only the wheels' url, hash
#      and size (to stand-ins with the same file names on 127.0.0.1); the
#      chosen set and wheel files are compared with what uv picks for CPython
#      3.11 x86-64 manylinux, derived by tests/fixtures/uvlock_oracle.py
#      (tomllib + packaging's markers and tags, not pkgimg's code);
#      python-hostlist has only an sdist on PyPI: refused by name without a
#      builder, then given a stand-in wheel (the test says so); the same with
#      --extra m3gnet (torch 2.2.1 and its closure by uv's conflict markers);
#   3. the written requirements.txt is accepted by pip itself:
#      `pip install --require-hashes --no-deps -r req.txt --dry-run --report`
#      resolves exactly the locked files (both indexes), and a changed hash
#      is refused;
#   4. a pylock.toml written by hand with markers on extras, dependency
#      groups and the platform is read as PEP 751 says.
# The image's python3 comes from the real Debian archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "pylock.toml and uv.lock installs" "archive unreachable"; finish; }
S=$T/store
ORACLE=$SRC/tests/fixtures/uvlock_oracle.py

cat >"$T/spec.json" <<'EOF'
{"projects": {
  "alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta==1.0", "gamma"]}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}},
  "gamma": {"versions": {"1.0": {"wheels": ["cp311-cp311-musllinux_1_1_x86_64", "cp311-cp311-win_amd64",
      "cp310-cp310-manylinux_2_17_x86_64", "cp311-abi3-manylinux_2_28_x86_64", "py3-none-any",
      "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64"]}}},
  "delta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}}
}}
EOF
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/small" >/dev/null \
	|| bail "the small fixture index builds"
# HTML pages only, so Debian's pip 23.0 reads the same index (see 40-pypi.sh)
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T" --port-file "$T/port" --html-only \
	--log "$T/srv.log" --timeout 900 --parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || bail "the fixture index server starts"
BASE=http://127.0.0.1:$(cat "$T/port")
IDX=$BASE/small/simple/

# the "name version file" of the PyPI packages of a --json output, sorted
pk_files() {
	json_get "$1" '[p["name"] + " " + p["version"] + " " + p["url"].rsplit("/", 1)[1]
		for p in j["packages"] if p["ecosystem"] == "pypi"]' | LC_ALL=C sort
}

pip_report() {	# REQ OUT: pip's dry run in hash-checking mode, no dependencies
	"$PY" -m pip install --dry-run --ignore-installed --no-deps --require-hashes \
		--no-cache-dir --disable-pip-version-check --quiet --report "$2" -r "$1"
}
# pip's install set of a report: "name version file", sorted
pip_files() {
	json_get "$1" '[i["metadata"]["name"].lower().replace("_", "-") + " " + i["metadata"]["version"]
		+ " " + i["download_info"]["url"].rsplit("/", 1)[1] for i in j["install"]]' | LC_ALL=C sort
}

# ---- 1. written and read back: the same layer
mkdir -p "$T/w" "$T/conv"
pk --store "$S" lock --pip alpha --index-url "$IDX" -o "$T/w/a.lock" \
	--pylock-out "$T/w/pylock.toml" --requirements-out "$T/w/req.txt" --json
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "pylock.toml and uv.lock installs" "archive unreachable"; finish; }
	bail "lock --pip alpha --pylock-out pylock.toml --requirements-out req.txt" "$(pk_detail)"
fi
pk_files "$PK_OUT" >"$T/w/locked.set"
"$PY" - "$T/w/pylock.toml" "$T/w/locked.set" >"$T/w/pep751.out" 2>&1 <<'EOF'
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
want = sorted(l.split() for l in open(sys.argv[2]) if l.strip())
assert d["lock-version"] == "1.0" and d["created-by"] == "pkgimg", d
assert d["requires-python"] == "==3.11.*", d["requires-python"]
assert any("x86_64" in e for e in d["environments"]), d["environments"]
got = []
for p in d["packages"]:
    assert set(p) <= {"name", "version", "index", "wheels", "tool"}, p
    (w,) = p["wheels"]
    assert len(w["hashes"]["sha256"]) == 64 and w["size"] > 0 and w["url"].endswith("/" + w["name"]), w
    got.append([p["name"], p["version"], w["name"]])
assert [p["name"] for p in d["packages"]] == sorted(p["name"] for p in d["packages"])
assert got == want, (got, want)
print("ok", len(got))
EOF
[ $? -eq 0 ] && ok "pylock.toml is PEP 751 as tomllib reads it: lock-version 1.0, created-by, the $(wc -l <"$T/w/locked.set") locked wheels with url, size, sha256, sorted" \
	|| fail "pylock.toml is PEP 751 as tomllib reads it" "$(cat "$T/w/pep751.out")" "$(cat "$T/w/pylock.toml")"
grep -q ' gamma-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl$' "$T/w/locked.set" \
	&& ok "the lock picked gamma's cp311 manylinux wheel of six" \
	|| fail "the lock picked gamma's cp311 manylinux wheel of six" "$(cat "$T/w/locked.set")"
pk --store "$S" lock --lock "$T/w/a.lock" --pylock-out "$T/conv/pylock.toml" \
	--requirements-out "$T/conv/req.txt"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/w/pylock.toml" "$T/conv/pylock.toml" && cmp -s "$T/w/req.txt" "$T/conv/req.txt" \
	&& ok "lock --lock a.lock --pylock-out --requirements-out: the same bytes, nothing resolved" \
	|| fail "lock --lock a.lock --pylock-out --requirements-out: the same bytes" "$(pk_detail)" \
		"$(diff "$T/w/pylock.toml" "$T/conv/pylock.toml" 2>&1 | head)"
pk --store "$S" install --lock "$T/w/a.lock"
SNAP1=$(cat "$PK_OUT")
[ "$PK_RC" -eq 0 ] || bail "install --lock a.lock" "$(pk_detail)"
pk --store "$S" install --pip-lock "$T/w/pylock.toml"
SNAP2=$(cat "$PK_OUT")
[ "$PK_RC" -eq 0 ] && [ "$SNAP1" = "$SNAP2" ] && grep -q '0 layers built' "$PK_ERR" \
	&& ok "install --pip-lock pylock.toml (written by pkgimg): the same snapshot as install --lock, nothing built" \
	|| fail "install --pip-lock pylock.toml: the same snapshot as install --lock" "$SNAP1 vs $SNAP2" "$(pk_detail)"
pk --store "$S" install -r "$T/w/pylock.toml"
[ "$PK_RC" -eq 0 ] && [ "$SNAP1" = "$(cat "$PK_OUT")" ] \
	&& ok "install -r pylock.toml is read as a lock file (as pip and uv take it): the same snapshot" \
	|| fail "install -r pylock.toml: the same snapshot" "$(pk_detail)"

printf 'steps:\n  - pip: []\n    requirements: pylock.toml\n' >"$T/w/pkgimg.yaml"
pk --store "$S" lock -f "$T/w/pkgimg.yaml" -o "$T/w/spec.lock" --json
[ "$PK_RC" -eq 0 ] && cmp -s <(pk_files "$PK_OUT") "$T/w/locked.set" \
	&& ok "a spec's pip step with requirements: pylock.toml locks the same files" \
	|| fail "a spec's pip step with requirements: pylock.toml locks the same files" "$(pk_detail)"

# ---- 3. pip's view of the written requirements.txt
if pip_report "$T/w/req.txt" "$T/pip.json" >"$T/pip.out" 2>&1; then
	pip_files "$T/pip.json" >"$T/pip.set"
	cmp -s "$T/pip.set" "$T/w/locked.set" \
		&& ok "pip install --require-hashes --no-deps -r req.txt --dry-run: exactly the $(wc -l <"$T/pip.set") locked files" \
		|| fail "pip install --require-hashes -r req.txt: exactly the locked files" \
			"only pkgimg:" "$(comm -23 "$T/w/locked.set" "$T/pip.set")" "only pip:" "$(comm -13 "$T/w/locked.set" "$T/pip.set")"
else
	fail "pip install --require-hashes --no-deps -r req.txt --dry-run --report" "$(cat "$T/pip.out")" "$(cat "$T/w/req.txt")"
fi
sed "0,/--hash=sha256:[0-9a-f]\{64\}/s//--hash=sha256:$(printf '0%.0s' $(seq 64))/" "$T/w/req.txt" >"$T/bad.txt"
if ! pip_report "$T/bad.txt" "$T/bad.json" >"$T/bad.out" 2>&1 && grep -qi 'hash' "$T/bad.out"; then
	ok "the oracle checks hashes: pip refuses the file with one hash changed"
else
	fail "the oracle checks hashes: pip refuses the file with one hash changed" "$(cat "$T/bad.out")"
fi

# ---- 1 and 3 on the torch 2.2.1 closure (stand-ins with the real names,
# metadata and every wheel file name: 30 files of torch 2.2.1 to choose from)
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" torch-closure "$T/idx" >/dev/null \
	|| bail "the torch closure fixture index builds"
mkdir -p "$T/t"
pk --store "$S" lock --pip torch==2.2.1 --index-url "$BASE/idx/simple/" -o "$T/t/t.lock" \
	--pylock-out "$T/t/pylock.toml" --requirements-out "$T/t/req.txt" --json
pk_files "$PK_OUT" >"$T/t/locked.set"
[ "$PK_RC" -eq 0 ] && [ "$(wc -l <"$T/t/locked.set")" -eq 22 ] || fail "lock --pip torch==2.2.1 --pylock-out --requirements-out" "$(pk_detail)"
pk --store "$S" install --lock "$T/t/t.lock"
SNAP1=$(cat "$PK_OUT")
pk --store "$S" install --pip-lock "$T/t/pylock.toml"
[ "$PK_RC" -eq 0 ] && [ -n "$SNAP1" ] && [ "$SNAP1" = "$(cat "$PK_OUT")" ] && grep -q '0 layers built' "$PK_ERR" \
	&& ok "torch 2.2.1's 22 packages: install --pip-lock of the written pylock.toml is the snapshot of install --lock" \
	|| fail "torch 2.2.1: install --pip-lock of the written pylock.toml is the snapshot of install --lock" "$SNAP1" "$(pk_detail)"
if pip_report "$T/t/req.txt" "$T/t/pip.json" >"$T/t/pip.out" 2>&1; then
	pip_files "$T/t/pip.json" >"$T/t/pip.set"
	cmp -s "$T/t/pip.set" "$T/t/locked.set" \
		&& ok "torch 2.2.1: pip install --require-hashes --no-deps -r req.txt --dry-run takes exactly the 22 locked files" \
		|| fail "torch 2.2.1: pip --require-hashes -r req.txt takes exactly the locked files" \
			"only pkgimg:" "$(comm -23 "$T/t/locked.set" "$T/t/pip.set")" "only pip:" "$(comm -13 "$T/t/locked.set" "$T/t/pip.set")"
else
	fail "torch 2.2.1: pip install --require-hashes --no-deps -r req.txt --dry-run" "$(cat "$T/t/pip.out")"
fi

# ---- 2. the real uv.lock
mkdir -p "$T/uv/nowheel" "$T/uv/ok"
pk --store "$S" lock --pip-lock "$SRC/tests/fixtures/pypi/torch-closure/uv.lock" -o "$T/uv/x.lock"
pk_failed_cleanly && err_has "uv.lock:652: \[lock\] h5py: version '3\.12\.\[X\]' is not a PEP 440 version" \
	&& ok "the uv.lock as uv's test snapshot has it: h5py's redacted version '3.12.[X]' is refused with its line" \
	|| fail "the uv.lock snapshot's redacted version is refused with its line" "$(pk_detail)"
sed 's/3\.12\.\[X\]/3.12.1/g' "$SRC/tests/fixtures/pypi/torch-closure/uv.lock" >"$T/uv/orig.lock"
"$PY" "$ORACLE" select "$T/uv/orig.lock" >"$T/uv/want" 2>"$T/uv/oracle.err" \
	|| bail "uvlock_oracle.py select" "$(cat "$T/uv/oracle.err")"
NWANT=$(wc -l <"$T/uv/want")
"$PY" "$ORACLE" standins "$T/uv/orig.lock" "$T/uv/want" "$T/uv/files" "$BASE/uv/files" \
	"$T/uv/nowheel/uv.lock" >/dev/null 2>"$T/uv/oracle.err" || bail "uvlock_oracle.py standins" "$(cat "$T/uv/oracle.err")"
# python-hostlist has only an sdist: the lock goes to build it from the lock's
# sdist URL, pointed here at the fixture server, which does not have it (the
# real sdist is not available offline): the error names the package and the URL
sed -i "s#https://files\.pythonhosted\.org/packages/[0-9a-f/]*/python-hostlist-2\.2\.1\.tar\.gz#$BASE/uv/missing/python-hostlist-2.2.1.tar.gz#" \
	"$T/uv/nowheel/uv.lock"
pk --store "$S" lock --pip-lock "$T/uv/nowheel/uv.lock" -o "$T/uv/x.lock"
pk_failed_cleanly && err_has 'python-hostlist: http://127\.0\.0\.1:[0-9]+/uv/missing/python-hostlist-2\.2\.1\.tar\.gz: \[fetch\]' \
	&& ok "python-hostlist (only an sdist on PyPI): built from the lock's sdist, whose fetch is named when it fails" \
	|| fail "python-hostlist (only an sdist): built from the lock's sdist, whose fetch is named when it fails" "$(pk_detail)"
# python-hostlist gets a stand-in wheel: the lock then lists a wheel for it
"$PY" "$ORACLE" standins "$T/uv/orig.lock" "$T/uv/want" "$T/uv/files" "$BASE/uv/files" \
	"$T/uv/ok/uv.lock" --wheel-for python-hostlist >/dev/null 2>"$T/uv/oracle.err" \
	|| bail "uvlock_oracle.py standins --wheel-for python-hostlist" "$(cat "$T/uv/oracle.err")"
sed 's/^python-hostlist 2\.2\.1 NO-WHEEL$/python-hostlist 2.2.1 python_hostlist-2.2.1-py3-none-any.whl/' "$T/uv/want" \
	| LC_ALL=C sort >"$T/uv/want.set"
pk --store "$S" lock --pip-lock "$T/uv/ok/uv.lock" -o "$T/uv/uv.pk.lock" --json
[ "$PK_RC" -eq 0 ] || fail "lock --pip-lock uv.lock" "$(pk_detail)"
pk_files "$PK_OUT" >"$T/uv/got.set"
[ "$NWANT" -gt 50 ] && cmp -s "$T/uv/got.set" "$T/uv/want.set" \
	&& ok "uv.lock: the $NWANT packages and wheel files uv picks for cp311 x86-64 manylinux (of $(grep -c '^\[\[package\]\]' "$T/uv/orig.lock") in the lock; torch $(awk '$1 == "torch" {print $2}' "$T/uv/want.set"))" \
	|| fail "uv.lock: the packages and wheel files uv picks" "only pkgimg:" "$(comm -23 "$T/uv/got.set" "$T/uv/want.set")" \
		"only the oracle:" "$(comm -13 "$T/uv/got.set" "$T/uv/want.set")"
grep -q "step: 'pip: --pip-lock uv.lock'" "$T/uv/uv.pk.lock" \
	&& ok "the layer's step names the lock file" || fail "the layer's step names the lock file" "$(grep step: "$T/uv/uv.pk.lock")"
pk --store "$S" install --pip-lock "$T/uv/ok/uv.lock" --root "$T/uv/root"
[ "$PK_RC" -eq 0 ] || fail "install --pip-lock uv.lock" "$(pk_detail)"
SITE=$T/uv/root/usr/local/lib/python3.11/dist-packages
"$PY" -m pip list --path "$SITE" --format=freeze 2>/dev/null | tr 'A-Z_' 'a-z-' | LC_ALL=C sort >"$T/uv/list.set"
awk '{print $1 "==" $2}' "$T/uv/want.set" | LC_ALL=C sort >"$T/uv/want.freeze"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/uv/list.set" "$T/uv/want.freeze" \
	&& ok "install --pip-lock uv.lock: pip list --path SITE shows the $NWANT distributions" \
	|| fail "install --pip-lock uv.lock: pip list --path SITE shows the distributions" "$(diff "$T/uv/want.freeze" "$T/uv/list.set" | head -20)"

# the extra m3gnet (uv's conflicting extras: torch 2.2.1 instead of 2.5.1),
# chosen with --extra as `uv sync --extra m3gnet`
mkdir -p "$T/uv/m3"
"$PY" "$ORACLE" select "$T/uv/orig.lock" --extra m3gnet >"$T/uv/m3/want" 2>"$T/uv/oracle.err" \
	|| bail "uvlock_oracle.py select --extra m3gnet" "$(cat "$T/uv/oracle.err")"
"$PY" "$ORACLE" standins "$T/uv/orig.lock" "$T/uv/m3/want" "$T/uv/m3/files" "$BASE/uv/m3/files" \
	"$T/uv/m3/uv.lock" --wheel-for python-hostlist >/dev/null 2>"$T/uv/oracle.err" \
	|| bail "uvlock_oracle.py standins (m3gnet)" "$(cat "$T/uv/oracle.err")"
sed 's/^python-hostlist 2\.2\.1 NO-WHEEL$/python-hostlist 2.2.1 python_hostlist-2.2.1-py3-none-any.whl/' "$T/uv/m3/want" \
	| LC_ALL=C sort >"$T/uv/m3/want.set"
pk --store "$S" lock --pip-lock "$T/uv/m3/uv.lock" --extra m3gnet -o "$T/uv/m3/pk.lock" --json
pk_files "$PK_OUT" >"$T/uv/m3/got.set"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/uv/m3/got.set" "$T/uv/m3/want.set" && grep -q '^torch 2\.2\.1 ' "$T/uv/m3/got.set" \
	&& ok "uv.lock --extra m3gnet: the $(wc -l <"$T/uv/m3/want.set") packages and wheel files uv picks, torch 2.2.1 by the conflict markers" \
	|| fail "uv.lock --extra m3gnet: the packages and wheel files uv picks" "$(pk_detail)" \
		"only pkgimg:" "$(comm -23 "$T/uv/m3/got.set" "$T/uv/m3/want.set")" "only the oracle:" "$(comm -13 "$T/uv/m3/got.set" "$T/uv/m3/want.set")"
json_get "$SRC/tests/fixtures/pypi/torch-closure/closure.json" '[p["name"] + " " + p["version"] for p in j["packages"]]' \
	| LC_ALL=C sort >"$T/uv/closure.set"
cut -d' ' -f1,2 "$T/uv/m3/got.set" | LC_ALL=C sort >"$T/uv/m3/got.nv"
[ -z "$(comm -23 "$T/uv/closure.set" "$T/uv/m3/got.nv")" ] && [ "$(wc -l <"$T/uv/closure.set")" -eq 22 ] \
	&& ok "uv.lock --extra m3gnet holds torch 2.2.1's whole closure (the 22 of closure.json, same versions)" \
	|| fail "uv.lock --extra m3gnet holds torch 2.2.1's whole closure" "$(comm -23 "$T/uv/closure.set" "$T/uv/m3/got.nv")"
pk --store "$S" lock --pip-lock "$T/uv/m3/uv.lock" --extra nope -o "$T/uv/x.lock"
pk_failed_cleanly && err_has "extra 'nope' is not one the project has" \
	&& ok "uv.lock --extra nope: an error naming the extra" || fail "uv.lock --extra nope: an error naming the extra" "$(pk_detail)"

# ---- 4. a pylock.toml written by hand, read as PEP 751 says
sha() { sha256sum "$T/small/files/$1" | cut -d' ' -f1; }
G=$T/small/files
mkdir -p "$T/hand"
{
	cat <<EOF
lock-version = "1.0"
environments = ["sys_platform == 'linux'", "sys_platform == 'darwin'"]
requires-python = ">=3.8"
extras = ["fast"]
dependency-groups = ["dev", "docs"]
default-groups = ["dev"]
created-by = "hand"

[[packages]]
name = "beta"
version = "2.0"
wheels = [{ url = "$BASE/small/files/beta-2.0-py3-none-any.whl", hashes = { sha256 = "$(sha beta-2.0-py3-none-any.whl)" } }]

[[packages]]
name = "beta"
version = "1.0"
marker = "platform_machine == 'aarch64'"
wheels = [{ url = "$BASE/small/files/beta-1.0-py3-none-any.whl", hashes = { sha256 = "$(sha beta-1.0-py3-none-any.whl)" } }]

[[packages]]
name = "gamma"
version = "1.0"
marker = "'dev' in dependency_groups and python_version >= '3.8'"
EOF
	for f in "$G"/gamma-1.0-*.whl; do
		printf '[[packages.wheels]]\nname = "%s"\nurl = "%s"\nsize = %d\nhashes = { sha256 = "%s" }\n' \
			"${f##*/}" "$BASE/small/files/${f##*/}" "$(stat -c %s "$f")" "$(sha "${f##*/}")"
	done
	cat <<EOF

[[packages]]
name = "delta"
version = "1.0"
marker = "'fast' in extras or 'docs' in dependency_groups"
wheels = [{ url = "$BASE/small/files/delta-1.0-py3-none-any.whl", hashes = { sha256 = "$(sha delta-1.0-py3-none-any.whl)" } }]

[[packages]]
name = "alpha"
version = "1.0"
marker = "sys_platform == 'win32'"
wheels = [{ url = "$BASE/small/files/alpha-1.0-py3-none-any.whl", hashes = { sha256 = "$(sha alpha-1.0-py3-none-any.whl)" } }]
EOF
} >"$T/hand/pylock.toml"
pk --store "$S" lock --pip-lock "$T/hand/pylock.toml" -o "$T/hand/hand.lock" --json
pk_files "$PK_OUT" >"$T/hand/got.set"
printf '%s\n' "beta 2.0 beta-2.0-py3-none-any.whl" \
	"gamma 1.0 gamma-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" >"$T/hand/want.set"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/hand/got.set" "$T/hand/want.set" \
	&& ok "hand-written pylock.toml: no marker and 'dev' in dependency_groups (default-groups) in; 'fast' in extras, win32, aarch64 out; gamma's best wheel of six" \
	|| fail "hand-written pylock.toml read as PEP 751 says" "$(pk_detail)" "$(diff "$T/hand/want.set" "$T/hand/got.set")"
BSIZE=$(stat -c %s "$G/beta-2.0-py3-none-any.whl")
json_get "$PK_OUT" '[p["size"] for p in j["packages"] if p["name"] == "beta"]' | grep -qx "$BSIZE" \
	&& ok "a wheel whose size the lock omits is locked with the size of its verified bytes ($BSIZE)" \
	|| fail "a wheel whose size the lock omits is locked with the size of its verified bytes" "$(pk_detail)"
sed 's/lock-version = "1.0"/lock-version = "2.0"/' "$T/hand/pylock.toml" >"$T/hand/pylock.v2.toml"
pk --store "$S" lock --pip-lock "$T/hand/pylock.v2.toml" -o "$T/hand/x.lock"
pk_failed_cleanly && err_has "lock-version '2\.0': pkgimg reads PEP 751 lock-version 1\.x" \
	&& ok "lock-version 2.0 is named as a version pkgimg does not read" \
	|| fail "lock-version 2.0 is named as a version pkgimg does not read" "$(pk_detail)"
sed "s/^environments = .*/environments = [\"sys_platform == 'win32'\"]/" "$T/hand/pylock.toml" >"$T/hand/pylock.win.toml"
pk --store "$S" lock --pip-lock "$T/hand/pylock.win.toml" -o "$T/hand/x.lock"
pk_failed_cleanly && err_has "none of its environments is the image's" \
	&& ok "a lock whose environments exclude the image is refused" \
	|| fail "a lock whose environments exclude the image is refused" "$(pk_detail)"
pk --store "$S" install --pip-lock "$T/hand/pylock.toml" --pip beta
pk_failed_cleanly && err_has "installed exactly as it is locked" \
	&& ok "--pip-lock with --pip: a usage error (a lock is installed as it is)" \
	|| fail "--pip-lock with --pip: a usage error" "$(pk_detail)"
finish
