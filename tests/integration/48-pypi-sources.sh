#!/bin/bash
# Python sources installed as pip installs them (issue 18), pip the oracle
# (Debian's pip 23.0, /usr/bin/python3 -m pip --root, with build isolation
# from the same fixture index), on the real sources of tests/fixtures/pysrc.sh:
#   a. a flit sdist found on the index (packaging 23.0, only an sdist there);
#   b. a C-extension sdist by URL: MarkupSafe @ http://127.0.0.1:…/x.tar.gz
#      (setuptools' legacy default from the index, compiled in the image);
#   c. a git repository: packaging @ git+file://localhost/…@TAG;
#   d. a local project: --pip ./proj (its dependency built from the index);
#   and the C-extension sdist as an unnamed path (./dist/x.tar.gz), a wheel
#   by URL (flit_core @ http://…/x.whl), -r lines
#   (./proj, file:///…) and a spec's pip: [./proj].
# For each: the installed files (RECORD's paths, relative to site-packages)
# and direct_url.json are pip's; two stores give the same wheel bytes and the
# same snapshot id; `install --lock` on a fresh store rebuilds the same
# bytes; a lock whose wheel_sha256 was changed fails with "differs"; a git
# branch moved after the lock still installs the locked commit.
# The image: the default base + python3, gcc, libc6-dev and python3-dev from
# the real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
. "$SRC/tests/fixtures/pysrc.sh"
archive_reachable || { skip "python sources as pip installs them" "archive unreachable"; finish; }
pysrc_index "$T/idx"
case $? in
0) ;;
2) skip "python sources as pip installs them" "archive unreachable"; finish ;;
*) bail "the index of real sources builds" ;;
esac
pysrc_serve "$T/idx" || bail "the index is served"
FILES=${PYSRC_URL%simple/}files
S1=$T/s1 S2=$T/s2
APT=(--apt python3 --apt gcc --apt libc6-dev --apt python3-dev)
SITE=usr/local/lib/python3.11/dist-packages

# records ROOT: every "path" of every RECORD under ROOT's site-packages
# (bytecode rows left out: pip and pkgimg compile the same files, but a
# C extension's build may differ in what it leaves), sorted
records() {
	local f
	for f in "$1/$SITE"/*.dist-info/RECORD; do
		[ -f "$f" ] || continue
		"$PY" -c 'import csv, sys
for row in csv.reader(open(sys.argv[1], newline="")):
    if row and "__pycache__/" not in row[0]:
        print(row[0])' "$f"
	done | sort
}
# pip_root NAME ARGS...: pip installs into $T/pip/NAME (its --root)
pip_root() {
	local name=$1; shift
	rm -rf "$T/pip/$name"
	mkdir -p "$T/pip"
	pysrc_pip install --no-cache-dir --use-pep517 --ignore-installed --root "$T/pip/$name" \
		--index-url "$PYSRC_HTML_URL" "$@" >"$T/pip/$name.log" 2>&1
}
# same_as_pip NAME DIST: pkgimg's tree ($T/r/NAME) and pip's ($T/pip/NAME):
# the same RECORD paths and, for DIST (its .dist-info name), the same
# direct_url.json (or none in both)
same_as_pip() {
	local name=$1 dist=$2 a b
	records "$T/r/$name" >"$T/$name.pk.rec"
	records "$T/pip/$name" >"$T/$name.pip.rec"
	a=$T/r/$name/$SITE/$dist/direct_url.json b=$T/pip/$name/$SITE/$dist/direct_url.json
	if [ -s "$T/$name.pip.rec" ] && diff "$T/$name.pip.rec" "$T/$name.pk.rec" >"$T/$name.diff" \
		&& { { [ ! -e "$a" ] && [ ! -e "$b" ]; } || cmp -s "$a" "$b"; }; then
		ok "$name: the installed files and direct_url.json are pip's ($(wc -l <"$T/$name.pip.rec") files)"
	else
		fail "$name: the installed files and direct_url.json are pip's" "$(cat "$T/$name.diff")" \
			"pkgimg: $(cat "$a" 2>&1)" "pip:    $(cat "$b" 2>&1)" "$(tail -n 5 "$T/pip/$name.log")"
	fi
}
# lock_install NAME ARGS...: lock on store 1, install it on stores 1 and 2
# (the second from nothing: every wheel built again), the tree of store 1 in
# $T/r/NAME; both snapshot ids must agree
lock_install() {
	local name=$1 id1 id2; shift
	pk --store "$S1" lock "${APT[@]}" "$@" --index-url "$PYSRC_URL" -o "$T/$name.lock"
	[ "$PK_RC" -eq 0 ] || { fail "$name: lock" "$(pk_detail)"; return 1; }
	pk --store "$S1" install --lock "$T/$name.lock" --root "$T/r/$name"
	[ "$PK_RC" -eq 0 ] || { fail "$name: install --lock" "$(pk_detail)"; return 1; }
	id1=$(tail -n1 "$PK_OUT")
	pk --store "$S2" install --lock "$T/$name.lock"
	[ "$PK_RC" -eq 0 ] || { fail "$name: install --lock on a fresh store (rebuilds)" "$(pk_detail)"; return 1; }
	id2=$(tail -n1 "$PK_OUT")
	[ -n "$id1" ] && [ "$id1" = "$id2" ] \
		&& ok "$name: a second store rebuilds the same wheel bytes: the same snapshot ($id1)" \
		|| fail "$name: a second store rebuilds the same wheel bytes" "$id1" "$id2"
}
# lock_field LOCK NAME KEY: KEY of package NAME in the lockfile
lock_field() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import sys, yaml
j = yaml.safe_load(open(sys.argv[1]))
for l in j["layers"]:
    for p in l["packages"]:
        if p["name"] == sys.argv[2]:
            print(p.get(sys.argv[3], ""))
EOF
}

# ---- a. the flit sdist, found on the index
if lock_install flit "--pip=$PYSRC_FLIT_NAME==$PYSRC_FLIT_VERSION"; then
	[ "$(lock_field "$T/flit.lock" packaging source)" = sdist ] \
		&& [ "$(lock_field "$T/flit.lock" packaging filename)" = packaging-23.0.tar.gz ] \
		&& [ "$(lock_field "$T/flit.lock" packaging wheel_filename)" = packaging-23.0-py3-none-any.whl ] \
		&& grep -q 'name: flit-core' "$T/flit.lock" \
		&& ok "flit: the lock has the sdist, the wheel built from it and its build environment (flit-core)" \
		|| fail "flit: the lock has the sdist, the wheel and its build environment" "$(cat "$T/flit.lock")"
	pip_root flit "$PYSRC_FLIT_NAME==$PYSRC_FLIT_VERSION"
	same_as_pip flit packaging-23.0.dist-info
fi

# ---- b. the C-extension sdist by URL
CEXT="$PYSRC_CEXT_NAME @ $FILES/$(basename "$PYSRC_CEXT_SDIST")"
if lock_install cext --pip "$CEXT"; then
	[ "$(lock_field "$T/cext.lock" markupsafe source)" = url ] \
		&& [ "$(lock_field "$T/cext.lock" markupsafe direct)" = True ] \
		&& [ "$(lock_field "$T/cext.lock" markupsafe sha256)" = "$(sha256sum <"$PYSRC_CEXT_SDIST" | cut -c1-64)" ] \
		&& ls "$T/r/cext/$SITE"/markupsafe/_speedups.cpython-311-*.so >/dev/null 2>&1 \
		&& ok "cext: locked by URL with the archive's sha256; the C extension is compiled in the image" \
		|| fail "cext: locked by URL with the archive's sha256; the C extension compiled" "$(cat "$T/cext.lock")"
	pip_root cext "$CEXT"
	same_as_pip cext MarkupSafe-2.1.2.dist-info
	# a lock whose wheel digest was changed: the rebuild says it differs
	sed 's/^\(    wheel_sha256: \).*/\10000000000000000000000000000000000000000000000000000000000000000/' \
		"$T/cext.lock" >"$T/tampered.lock"
	pk --store "$S2" install --lock "$T/tampered.lock"
	[ "$PK_RC" -ne 0 ] && err_has 'differs' && err_has 'markupsafe' \
		&& ok "cext: a lock with another wheel_sha256: the rebuilt wheel differs, and the error says so" \
		|| fail "cext: a lock with another wheel_sha256 is refused (differs)" "$(pk_detail)"
fi

# the same sdist as a path without a name (./dist/x.tar.gz, pip's unnamed
# requirement): named by its metadata, file:// in direct_url.json
mkdir -p "$T/arc/dist"
cp "$PYSRC_CEXT_SDIST" "$T/arc/dist/"
cd "$T/arc" || bail "cd"
pk --store "$S1" install "${APT[@]}" --pip "./dist/$(basename "$PYSRC_CEXT_SDIST")" \
	--index-url "$PYSRC_URL" --root "$T/r/arc"
if [ "$PK_RC" -eq 0 ]; then
	pip_root arc "./dist/$(basename "$PYSRC_CEXT_SDIST")"
	same_as_pip arc MarkupSafe-2.1.2.dist-info
else
	fail "arc: install ./dist/x.tar.gz" "$(pk_detail)"
fi
cd "$T" || true

# a wheel by URL (pip: archive_info, as for an sdist): no build, the same
# files and direct_url.json
WHL="flit_core @ $FILES/flit_core-3.8.0-py3-none-any.whl"
pk --store "$S1" install "${APT[@]}" --pip "$WHL" --index-url "$PYSRC_URL" --root "$T/r/whl"
if [ "$PK_RC" -eq 0 ]; then
	pip_root whl "$WHL"
	same_as_pip whl flit_core-3.8.0.dist-info
else
	fail "whl: install name @ URL of a wheel" "$(pk_detail)"
fi

# ---- c. the git repository at a tag; a branch moved after the lock
mkdir -p "$T/src"
tar -xzf "$PYSRC_FLIT_SDIST" -C "$T/src"
pysrc_git_repo "$T/src/packaging-23.0" "$T/git/packaging" || bail "pysrc_git_repo"
GIT="$PYSRC_GIT_NAME @ $PYSRC_GIT_URL_LOCALHOST@$PYSRC_GIT_TAG"
if lock_install git --pip "$GIT"; then
	[ "$(lock_field "$T/git.lock" packaging commit)" = "$PYSRC_GIT_TAG_COMMIT" ] \
		&& [ "$(lock_field "$T/git.lock" packaging source)" = git ] \
		&& ok "git: the lock pins the tag's commit ($PYSRC_GIT_TAG_COMMIT)" \
		|| fail "git: the lock pins the tag's commit" "$(cat "$T/git.lock")"
	pip_root git "$GIT"
	same_as_pip git packaging-23.0.dist-info
fi
GITB="$PYSRC_GIT_NAME @ $PYSRC_GIT_URL_LOCALHOST@$PYSRC_GIT_BRANCH"
pk --store "$S1" lock "${APT[@]}" --pip "$GITB" --index-url "$PYSRC_URL" -o "$T/branch.lock"
if [ "$PK_RC" -eq 0 ]; then
	# the branch moves on after the lock
	printf '# a third commit, after the lock\n' >>"$T/git/packaging/packaging/__init__.py"
	_PYSRC_GIT_DATE="2023-01-03T00:00:00+00:00" _pysrc_git -C "$T/git/packaging" commit -q -am third
	pk --store "$T/s3" install --lock "$T/branch.lock" --root "$T/r/branch"
	[ "$PK_RC" -eq 0 ] && [ "$(lock_field "$T/branch.lock" packaging commit)" = "$PYSRC_GIT_HEAD" ] \
		&& grep -q "\"commit_id\": \"$PYSRC_GIT_HEAD\", \"requested_revision\": \"$PYSRC_GIT_BRANCH\"" \
			"$T/r/branch/$SITE/packaging-23.0.dist-info/direct_url.json" \
		&& ! grep -q 'third commit' "$T/r/branch/$SITE/packaging/__init__.py" \
		&& ok "git: a branch moved after the lock: install --lock installs the locked commit" \
		|| fail "git: a branch moved after the lock: install --lock installs the locked commit" "$(pk_detail)" \
			"$(cat "$T/r/branch/$SITE/packaging-23.0.dist-info/direct_url.json" 2>&1)"
else
	fail "git: lock a branch" "$(pk_detail)"
fi

# ---- d. the local project, relative to the current directory
pysrc_local_project "$T/work/proj" || bail "pysrc_local_project"
cd "$T/work" || bail "cd"
if lock_install local --pip ./proj; then
	[ "$(lock_field "$T/local.lock" pysrc-local source)" = path ] \
		&& [ "$(lock_field "$T/local.lock" pysrc-local url)" = "file://$T/work/proj" ] \
		&& [ "$(lock_field "$T/local.lock" packaging source)" = sdist ] \
		&& ok "local: ./proj is locked by its tree, its dependency built from the index's sdist" \
		|| fail "local: ./proj locked by its tree" "$(cat "$T/local.lock")"
	pip_root local ./proj
	same_as_pip local pysrc_local-0.1.0.dist-info
fi
# -e: a regular install in an image, and said so
pk --store "$S1" lock "${APT[@]}" -e ./proj --index-url "$PYSRC_URL" -o "$T/e.lock"
[ "$PK_RC" -eq 0 ] && err_has 'regular install' && [ "$(lock_field "$T/e.lock" pysrc-local source)" = path ] \
	&& ok "local: -e ./proj is accepted as a regular install, with a warning saying so" \
	|| fail "local: -e ./proj is accepted as a regular install, with a warning" "$(pk_detail)"

# ---- the same project named by a requirements file (./proj, file:///…) and
# by a spec (pip: [./proj], relative to its build context)
mkdir -p "$T/ctx"
cp -a "$T/work/proj" "$T/ctx/proj"
printf './proj\n' >"$T/ctx/reqs.txt"
printf 'file://%s/ctx/proj\n' "$T" >"$T/ctx/reqs2.txt"
cd "$T/ctx" || bail "cd"
pk --store "$S1" lock "${APT[@]}" -r reqs.txt --index-url "$PYSRC_URL" -o "$T/rf.lock"
[ "$PK_RC" -eq 0 ] && [ "$(lock_field "$T/rf.lock" pysrc-local url)" = "file://$T/ctx/proj" ] \
	&& [ "$(lock_field "$T/rf.lock" pysrc-local wheel_sha256)" = "$(lock_field "$T/local.lock" pysrc-local wheel_sha256)" ] \
	&& ok "-r: a line ./proj is the project; a copy of the tree builds the same wheel bytes" \
	|| fail "-r: a line ./proj is the project, the same wheel bytes" "$(pk_detail)"
pk --store "$S1" lock "${APT[@]}" -r reqs2.txt --index-url "$PYSRC_URL" -o "$T/rf2.lock"
[ "$PK_RC" -eq 0 ] && [ "$(lock_field "$T/rf2.lock" pysrc-local source)" = path ] \
	&& ok "-r: a line file:///…/proj is the project directory" \
	|| fail "-r: a line file:///…/proj is the project directory" "$(pk_detail)"
cat >"$T/ctx/pkgimg.yaml" <<EOF
steps:
  - apt: [python3, gcc, libc6-dev, python3-dev]
  - pip: [./proj]
    index_url: $PYSRC_URL
EOF
cd / || true
pk --store "$S1" lock -f "$T/ctx/pkgimg.yaml" -o "$T/spec.lock"
[ "$PK_RC" -eq 0 ] && [ "$(lock_field "$T/spec.lock" pysrc-local url)" = "file://$T/ctx/proj" ] \
	&& [ "$(lock_field "$T/spec.lock" pysrc-local source)" = path ] \
	&& ok "spec: pip: [./proj] is the project in the build context" \
	|| fail "spec: pip: [./proj] is the project in the build context" "$(pk_detail)"
cd "$T" || true

finish
