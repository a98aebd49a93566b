#!/bin/bash
# --pip-project DIR [--extra X] [--group G] and a spec's
# pip: {project: DIR, extras: [..], groups: [..]}: the dependencies of a
# pyproject.toml (+ the extras and PEP 735 groups chosen) as PyPI
# requirements, the project itself not installed.  The oracle is pip
# (Debian's pip 23, /usr/bin/python3 -m pip) on the same fixture index:
# `pip install --dry-run --report ./proj[test] GROUP...` with the project
# built by the host's setuptools (--no-build-isolation), which reads the
# extras and the project's reference to itself as pip does; pip 23 has no
# --group, so the group's list is derived by a few lines of tomllib below
# (include-group expanded) and given to pip as requirements.  The sets of
# name==version must be equal (the project itself left out of pip's).
# Then one install (the project is not in the image), the spec form, and
# the errors.  The image's python3 comes from the real archive (skips when
# unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
S=$T/store

cat >"$T/spec.json" <<'EOS'
{"projects": {
  "alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"]},
                         "2.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta>=1"]}}},
  "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}},
  "gamma": {"versions": {"1.0": {"wheels": ["py3-none-any"],
                                 "requires_dist": ["delta; extra == 'fast'"], "provides_extra": ["fast"]}}},
  "delta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}},
  "pytesty": {"versions": {"1.0": {"wheels": ["py3-none-any"]}, "2.0": {"wheels": ["py3-none-any"]}}},
  "lintr": {"versions": {"3.0": {"wheels": ["py3-none-any"], "requires_dist": ["gamma"]}}},
  "onlywin": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}},
  "my-app": {"versions": {"9.0": {"wheels": ["py3-none-any"]}}}
}}
EOS
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/spec.json" "$T/www/idx" >/dev/null \
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
IDX=http://127.0.0.1:$(cat "$T/port")/idx/simple/
HIDX=http://127.0.0.1:$(cat "$T/port.html")/idx/simple/

# the user's project: its name is on the index too (my-app 9.0), so a
# reader that installed the project or looked it up there would show it
mkdir -p "$T/ctx/proj/my_app"
echo '__version__ = "0.1"' >"$T/ctx/proj/my_app/__init__.py"
cat >"$T/ctx/proj/pyproject.toml" <<'EOF2'
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "My_App"
version = "0.1"
requires-python = ">=3.8"
dependencies = [
    "alpha>=1.5",            # 2.0, which brings beta
    "onlywin; sys_platform == 'win32'",
]

[project.optional-dependencies]
Fast = ["gamma[fast]"]
test = ["pytesty<2", "my-app[FAST]"]   # the project named in its own extra
docs = ["nosuchproject"]

[dependency-groups]
lint = ["lintr"]
Dev = [{include-group = "lint"}, "beta<2"]   # alpha 2.0 takes beta 1.0 then

[tool.setuptools]
packages = ["my_app"]
EOF2

# ---- errors first: they need no index and no archive
pk lock --pip-project "$T/ctx/proj" --extra nope --index-url "$IDX"
pk_failed_cleanly && err_has "My_App has no extra 'nope' \(it has: fast, test, docs\)" \
	&& err_has "pyproject.toml: \[pyproject\]" \
	&& ok "unknown extra: named, with the extras there are" || fail "unknown extra" "$(pk_detail)"
pk lock --pip-project "$T/ctx/proj" --group tests --index-url "$IDX"
pk_failed_cleanly && err_has "there is no group 'tests' \(there are: lint, Dev\)" \
	&& ok "unknown group: named, with the groups there are" || fail "unknown group" "$(pk_detail)"
pk lock --pip alpha --extra test --index-url "$IDX"
[ "$PK_RC" -eq 2 ] && err_has "add --pip-project DIR" && ok "--extra without --pip-project: usage error" \
	|| fail "--extra without --pip-project" "$(pk_detail)"
mkdir -p "$T/dyn"
printf '[project]\nname = "dyn"\nversion = "1"\ndynamic = ["dependencies"]\n' >"$T/dyn/pyproject.toml"
pk lock --pip-project "$T/dyn" --index-url "$IDX"
pk_failed_cleanly && err_has "project.dependencies: is dynamic" && err_has "only static dependencies" \
	&& err_has "--pip DIR" && ok "dynamic dependencies: refused, with the fix" \
	|| fail "dynamic dependencies" "$(pk_detail)"
printf '[project]\nname = "bad"\nversion = "1"\ndependencies = ["alpha >>= 1"]\n' >"$T/dyn/pyproject.toml"
pk lock --pip-project "$T/dyn" --index-url "$IDX"
pk_failed_cleanly && err_has "project.dependencies: item 1 is not a PEP 508 requirement" \
	&& ok "a dependency that is not PEP 508: the file, key and item" || fail "bad dependency" "$(pk_detail)"
printf '[project]\nname = "bad"\nversion = "1"\ndependencies = ["alpha",\n' >"$T/dyn/pyproject.toml"
pk lock --pip-project "$T/dyn" --index-url "$IDX"
pk_failed_cleanly && err_has "pyproject.toml:5:1: \[parse\]" \
	&& ok "a pyproject.toml that is not TOML: file, line, column" || fail "bad TOML" "$(pk_detail)"

printf '[project]\nname = "empty"\nversion = "1"\n' >"$T/dyn/pyproject.toml"
pk lock --pip-project "$T/dyn" --index-url "$IDX"
pk_failed_cleanly && err_has "the project has no dependencies: nothing to install from it" \
	&& ok "a project without dependencies: nothing to lock, said so" || fail "no dependencies" "$(pk_detail)"

archive_reachable || { skip "--pip-project against pip" "archive unreachable"; finish; }

# ---- pip's answer: ./proj[test] built by the host's setuptools, + the
# group's requirements derived with tomllib (pip 23 has no --group)
mapfile -t group_reqs < <("$PY" - "$T/ctx/proj/pyproject.toml" <<'EOPY'
import re, sys, tomllib
groups = tomllib.load(open(sys.argv[1], "rb"))["dependency-groups"]
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
by = {norm(k): v for k, v in groups.items()}
def expand(name, seen=()):
    for item in by[norm(name)]:
        if isinstance(item, str):
            yield item
        else:
            yield from expand(item["include-group"], seen + (name,))
for r in dict.fromkeys(expand("dev")):
    print(r)
EOPY
)
[ ${#group_reqs[@]} -eq 2 ] || bail "tomllib reads the group" "${group_reqs[*]}"
rm -f "$T/pip.json"
"$PY" -m pip install --dry-run --ignore-installed --no-build-isolation --quiet --report "$T/pip.json" \
	--index-url "$HIDX" "$T/ctx/proj[test]" "${group_reqs[@]}" >"$T/pip.err" 2>&1 \
	|| bail "pip install --dry-run ./proj[test] ${group_reqs[*]}" "$(cat "$T/pip.err")"
PIP_ALL=$(json_get "$T/pip.json" '[i["metadata"]["name"].lower().replace("_", "-") + "==" + i["metadata"]["version"] for i in j["install"]]' | sort)
PIP_SET=$(grep -v '^my-app==' <<<"$PIP_ALL" | tr '\n' ' ')
grep -qx 'my-app==0.1' <<<"$PIP_ALL" \
	|| fail "pip's report holds the project itself (the test's premise)" "$PIP_ALL"

pk --store "$S" lock --pip-project "$T/ctx/proj" --extra test --group dev --index-url "$IDX" \
	-o "$T/cli.lock" --json
[ "$PK_RC" -eq 0 ] || bail "lock --pip-project proj --extra test --group dev" "$(pk_detail)"
PK_SET=$(json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' \
	| sort | tr '\n' ' ')
if [ "$PK_SET" = "$PIP_SET" ] && [[ $PK_SET == *"delta==1.0"* ]] && [[ $PK_SET != *my-app* ]]; then
	ok "--pip-project --extra test --group dev: as pip (${PIP_SET% })"
else
	fail "--pip-project --extra test --group dev: as pip" "pkgimg: $PK_SET" "pip:    $PIP_SET" "$(pk_detail)"
fi

# the spec's form, relative to the build context: the same set
printf 'steps:\n  - pip: {project: ./proj, extras: [test], groups: [Dev]}\n    index_url: %s\n' "$IDX" \
	>"$T/ctx/pkgimg.yaml"
pk --store "$S" lock -f "$T/ctx/pkgimg.yaml" -o "$T/spec.lock" --json
SPEC_SET=$(json_get "$PK_OUT" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' 2>/dev/null \
	| sort | tr '\n' ' ')
[ "$PK_RC" -eq 0 ] && [ "$SPEC_SET" = "$PIP_SET" ] && grep -q "step: 'pip: .*--project ./proj --extra test --group Dev'" "$T/spec.lock" \
	&& ok "spec pip: {project: ./proj, extras, groups}: the same set, the step named" \
	|| fail "spec pip: {project: ...}" "spec: $SPEC_SET" "pip:  $PIP_SET" "$(pk_detail)" "$(grep -n 'step' "$T/spec.lock" | head -5)"
printf 'steps:\n  - pip: {project: ../proj-outside}\n    index_url: %s\n' "$IDX" >"$T/ctx/pkgimg.yaml"
mkdir -p "$T/proj-outside"; cp "$T/ctx/proj/pyproject.toml" "$T/proj-outside/"
pk --store "$S" lock -f "$T/ctx/pkgimg.yaml" -o "$T/spec2.lock"
pk_failed_cleanly && err_has "pip: project '../proj-outside'" && err_has "pkgimg.yaml:2:5: step 1" \
	&& ok "spec: a project outside the build context is refused, naming the step" \
	|| fail "spec: project outside the context" "$(pk_detail)"

# ---- install: the dependencies are in the image, the project is not
pk --store "$S" install --pip-project "$T/ctx/proj" --extra test --group dev --index-url "$IDX" \
	--root "$T/root"
if [ "$PK_RC" -ne 0 ]; then
	fail "install --pip-project" "$(pk_detail)"
else
	SITE=$(ls -d "$T"/root/usr/local/lib/python3*/dist-packages 2>/dev/null | head -1)
	INST=$(ls "$SITE" 2>/dev/null | sed -n 's/\.dist-info$//p' | tr '[:upper:]_' '[:lower:]-' \
		| sed 's/-\([0-9][^-]*\)$/==\1/' | sort | tr '\n' ' ')
	[ "$INST" = "$PIP_SET" ] && ok "install --pip-project: the image holds pip's set, not the project (${INST% })" \
		|| fail "install --pip-project: installed set" "installed: $INST" "pip:       $PIP_SET"
fi
finish
