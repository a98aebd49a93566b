#!/bin/bash
# The fixtures of real Python sources (tests/fixtures/pysrc.sh), proved with
# the oracle the other tests compare pkgimg against: Debian's pip 23.0
# (/usr/bin/python3 -m pip), with build isolation, from the fixture index
# only, installs each of
#   - the flit sdist (packaging 23.0: flit_core fetched from the index),
#   - the C-extension sdist (MarkupSafe 2.1.2: setuptools and wheel from the
#     index, a compiled _speedups module),
#   - the git repository made by pysrc_git_repo, at its tag, at a commit id
#     and at its default branch (direct_url.json: vcs_info with the commit;
#     as git+file://localhost/PATH, the form pip 23.0 takes),
#   - the local project made by pysrc_local_project (direct_url.json:
#     dir_info), with its dependency from the index.
# pip runs with --use-pep517: without it pip 23.0 builds a project that has
# no pyproject.toml (MarkupSafe 2.1.2) with `setup.py bdist_wheel` and the
# host's own setuptools, no isolation, when setuptools and wheel are
# installed; with it, in an isolated environment with setuptools' legacy
# default (setuptools>=40.8.0, wheel) from the index, as issue 18 asks.
# What pip wrote (the files under the target, and direct_url.json) is kept
# in $T/pip/NAME.files and NAME.direct_url.json, printed as "# " lines when
# PYSRC_SHOW=1.  Skips when Debian's archive is unreachable and nothing is
# cached.
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/fixtures/pysrc.sh"

pysrc_index "$T/idx"
case $? in
0) ok "the index of real sources builds ($PYSRC_FLIT_NAME $PYSRC_FLIT_VERSION, $PYSRC_CEXT_NAME $PYSRC_CEXT_VERSION, flit_core, setuptools, wheel)" ;;
2) skip "real Python sources" "archive unreachable"; finish ;;
*) bail "the index of real sources builds" ;;
esac
pysrc_serve "$T/idx" || bail "the index is served"

# the index: what pysrc.sh promises
check "the index lists its projects with sha256 (JSON and HTML)" "$PY" - "$T/idx" <<'EOF'
import json, os, sys, hashlib
d = sys.argv[1]
want = {"flit-core": ".whl", "setuptools": ".whl", "wheel": ".whl",
        "packaging": ".tar.gz", "markupsafe": ".tar.gz"}
for p, ext in want.items():
    j = json.load(open(os.path.join(d, "simple", p, "index.json")))
    h = open(os.path.join(d, "simple", p, "index.html")).read()
    assert j["files"], p
    for f in j["files"]:
        assert f["filename"].endswith(ext), f
        data = open(os.path.join(d, "files", f["filename"]), "rb").read()
        assert hashlib.sha256(data).hexdigest() == f["hashes"]["sha256"], f
        assert "#sha256=" + f["hashes"]["sha256"] in h, f
EOF
check "the flit sdist has PKG-INFO and a pyproject.toml with flit_core as backend" \
	sh -c "tar -xzOf '$PYSRC_FLIT_SDIST' packaging-23.0/pyproject.toml | grep -q 'build-backend = \"flit_core.buildapi\"' \
		&& tar -tzf '$PYSRC_FLIT_SDIST' | grep -qx packaging-23.0/PKG-INFO"
check "the C-extension sdist is Debian's orig tarball, the PyPI sdist (PKG-INFO, setup.cfg, a C source)" \
	sh -c "tar -tzf '$PYSRC_CEXT_SDIST' | grep -qx MarkupSafe-2.1.2/PKG-INFO \
		&& tar -tzf '$PYSRC_CEXT_SDIST' | grep -qx MarkupSafe-2.1.2/setup.cfg \
		&& tar -tzf '$PYSRC_CEXT_SDIST' | grep -qx MarkupSafe-2.1.2/src/markupsafe/_speedups.c"

# a second time: from the cache, the same bytes
pysrc_index "$T/idx2" && diff -r "$T/idx" "$T/idx2" >/dev/null \
	&& ok "a second pysrc_index gives the same index" \
	|| fail "a second pysrc_index gives the same index" "$(diff -r "$T/idx" "$T/idx2" | head)"

mkdir -p "$T/pip" "$T/src"
# pip_install NAME ARGS...: pip into $T/t/NAME; its file list and direct_url.json kept
pip_install() {
	local name=$1; shift
	rm -rf "$T/t/$name"
	if ! pysrc_pip install --no-cache-dir --use-pep517 --index-url "$PYSRC_HTML_URL" --target "$T/t/$name" \
		"$@" >"$T/pip/$name.log" 2>&1; then
		fail "pip installs $name" "pip install $*" "$(tail -n 30 "$T/pip/$name.log")"
		return 1
	fi
	(cd "$T/t/$name" && find . -type f ! -path '*/__pycache__/*' | sed 's|^\./||' | sort) >"$T/pip/$name.files"
	local du
	du=$(ls "$T/t/$name"/*.dist-info/direct_url.json 2>/dev/null | head -n1)
	[ -n "$du" ] && cp "$du" "$T/pip/$name.direct_url.json"
	if [ "${PYSRC_SHOW:-}" = 1 ]; then
		echo "# $name: pip install $*"
		sed 's/^/#   /' "$T/pip/$name.files"
		[ -n "$du" ] && sed 's/^/#   direct_url.json: /' "$du"
	fi
	return 0
}
has() { grep -qx -- "$2" "$T/pip/$1.files"; }
# du_get NAME EXPR: EXPR of the direct_url.json pip wrote for NAME
du_get() { [ -f "$T/pip/$1.direct_url.json" ] && json_get "$T/pip/$1.direct_url.json" "$2"; }

# ---- 1. the flit sdist
if pip_install flit "$PYSRC_FLIT_NAME==$PYSRC_FLIT_VERSION"; then
	grep -q '^GET /files/flit_core-3.8.0-py3-none-any.whl 200' "$PYSRC_HTML_LOG" && has flit packaging/version.py \
		&& has flit packaging-23.0.dist-info/RECORD && has flit packaging-23.0.dist-info/METADATA \
		&& [ ! -f "$T/pip/flit.direct_url.json" ] \
		&& ok "pip builds and installs the flit sdist (flit_core from the index; no direct_url.json)" \
		|| fail "pip builds and installs the flit sdist" "$(cat "$T/pip/flit.files")" "$(tail "$T/pip/flit.log")"
fi

# ---- 2. the C-extension sdist
if pip_install cext "$PYSRC_CEXT_NAME==$PYSRC_CEXT_VERSION"; then
	grep -Eq '^markupsafe/_speedups\.cpython-3[0-9]+-x86_64-linux-gnu\.so$' "$T/pip/cext.files" \
		&& has cext MarkupSafe-2.1.2.dist-info/RECORD \
		&& grep -q '^GET /files/setuptools-66.1.1-py3-none-any.whl 200' "$PYSRC_HTML_LOG" \
		&& grep -q '^GET /files/wheel-0.38.4-py3-none-any.whl 200' "$PYSRC_HTML_LOG" \
		&& PYTHONPATH=$T/t/cext /usr/bin/python3 -c 'import markupsafe._speedups' \
		&& ok "pip builds the C-extension sdist with setuptools and wheel from the index (a working _speedups)" \
		|| fail "pip builds the C-extension sdist" "$(cat "$T/pip/cext.files")" "$(tail "$T/pip/cext.log")" "$(grep /files/ "$PYSRC_HTML_LOG")"
fi

# ---- 3. the git repository
tar -xzf "$PYSRC_FLIT_SDIST" -C "$T/src"
pysrc_git_repo "$T/src/packaging-23.0" "$T/git/packaging" || bail "pysrc_git_repo"
ids1="$PYSRC_GIT_TAG_COMMIT $PYSRC_GIT_HEAD"
pysrc_git_repo "$T/src/packaging-23.0" "$T/git2/packaging" || bail "pysrc_git_repo (again)"
[ "$ids1" = "$PYSRC_GIT_TAG_COMMIT $PYSRC_GIT_HEAD" ] && [ "$PYSRC_GIT_TAG_COMMIT" != "$PYSRC_GIT_HEAD" ] \
	&& ok "pysrc_git_repo: the same commit ids on every run ($PYSRC_GIT_TAG $PYSRC_GIT_TAG_COMMIT, $PYSRC_GIT_BRANCH $PYSRC_GIT_HEAD)" \
	|| fail "pysrc_git_repo: the same commit ids on every run" "$ids1" "$PYSRC_GIT_TAG_COMMIT $PYSRC_GIT_HEAD"
pysrc_git_repo "$T/src/packaging-23.0" "$T/git/packaging" || bail "pysrc_git_repo"
git_case() {	# git_case NAME REV WANT_COMMIT
	local url=$PYSRC_GIT_URL_LOCALHOST${2:+@$2}
	pip_install "$1" "$PYSRC_GIT_NAME @ $url" || return
	[ "$(du_get "$1" 'j["url"]')" = "file://localhost$T/git/packaging" ] \
		&& [ "$(du_get "$1" 'j["vcs_info"]["vcs"]')" = git ] \
		&& [ "$(du_get "$1" 'j["vcs_info"]["commit_id"]')" = "$3" ] \
		&& [ "$(du_get "$1" 'j["vcs_info"].get("requested_revision")')" = "$2" ] \
		&& has "$1" packaging-23.0.dist-info/direct_url.json && has "$1" packaging/version.py \
		&& ok "pip installs $PYSRC_GIT_NAME @ git+file://localhost/…${2:+@$2}: vcs_info commit_id ${3:0:12}" \
		|| fail "pip installs $PYSRC_GIT_NAME @ git+file://localhost/…${2:+@$2}" "$(cat "$T/pip/$1.direct_url.json" 2>&1)" \
			"$(tail "$T/pip/$1.log")"
}
git_case git-tag "$PYSRC_GIT_TAG" "$PYSRC_GIT_TAG_COMMIT"
git_case git-commit "$PYSRC_GIT_HEAD" "$PYSRC_GIT_HEAD"
git_case git-branch "" "$PYSRC_GIT_HEAD"
if [ -f "$T/pip/git-tag.files" ] && [ -f "$T/pip/git-branch.files" ]; then
	! grep -q 'second commit' "$T/t/git-tag/packaging/__init__.py" \
		&& grep -q 'second commit' "$T/t/git-branch/packaging/__init__.py" \
		&& ok "the tag and the default branch install different trees" \
		|| fail "the tag and the default branch install different trees"
fi

# ---- 4. the local project
pysrc_local_project "$T/src/local" || bail "pysrc_local_project"
"$PY" -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb")); assert p["dependency-groups"]["dev"][0] == {"include-group": "test"}; assert p["project"]["optional-dependencies"]["web"]' \
	"$T/src/local/pyproject.toml" && ok "the local project has optional-dependencies and PEP 735 dependency-groups" \
	|| fail "the local project has optional-dependencies and PEP 735 dependency-groups" "$(cat "$T/src/local/pyproject.toml")"
if pip_install local "$T/src/local"; then
	[ "$(du_get local 'j["url"]')" = "file://$T/src/local" ] \
		&& [ "$(du_get local 'j["dir_info"]')" = "{}" ] \
		&& has local pysrc_local/__init__.py && has local bin/pysrc-local \
		&& has local packaging/version.py \
		&& ok "pip installs the local project with its dependency from the index (dir_info, a console script)" \
		|| fail "pip installs the local project" "$(cat "$T/pip/local.files")" "$(cat "$T/pip/local.direct_url.json" 2>&1)"
fi
if pip_install local-web "$T/src/local[web]"; then
	has local-web markupsafe/__init__.py \
		&& ok "pip installs the local project's extra (web: MarkupSafe from its sdist)" \
		|| fail "pip installs the local project's extra" "$(cat "$T/pip/local-web.files")"
fi

finish
