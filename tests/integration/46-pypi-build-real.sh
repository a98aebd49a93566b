#!/bin/bash
# pkgimg wheel on REAL sources (issue 18; tests/fixtures/pysrc.sh): the flit
# sdist packaging-23.0 (by path and by http URL), a git repository of it (its
# tag and its default branch), the local flit_core project, and the C
# extension MarkupSafe 2.1.2 (setuptools, no pyproject.toml: the legacy
# backend) compiled in an image with gcc and libpython3.11-dev; the build
# requirements from the fixture index on 127.0.0.1.  pip is the oracle:
# Debian's `pip wheel --no-deps` of the same source on the same index gives
# a wheel of the same name with the same RECORD file set.  The C extension
# built in a second store gives the same bytes.  The image is the default
# base + python3 from the real archive (skipped when unreachable).
. "$(dirname "$0")/../lib.sh"
. "$SRC/tests/fixtures/pysrc.sh"
need_pkgimg
archive_reachable || { skip "pkgimg wheel on real sources" "archive unreachable"; finish; }
pysrc_index "$T/idx"
case $? in
0) ;;
2) skip "pkgimg wheel on real sources" "archive unreachable"; finish ;;
*) bail "the real-sources fixture index (tests/fixtures/pysrc.sh) builds" ;;
esac
pysrc_serve "$T/idx" || bail "the fixture index is served"
S=$T/store
IDX=(--index-url "$PYSRC_URL")
FILES=${PYSRC_URL%/simple/}/files

record_set() {
	"$PY" - "$1" <<'EOF'
import csv, io, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
rec = [n for n in z.namelist() if n.endswith(".dist-info/RECORD")][0]
for row in sorted(csv.reader(io.StringIO(z.read(rec).decode()))):
    if row:
        print(row[0])
EOF
}

# same_as_pip NAME PKGIMG_SOURCE PIP_SOURCE [pkgimg options...]
same_as_pip() {
	local name=$1 source=$2 pipsrc=$3 t1 w pw
	shift 3
	t1=$(date +%s.%N)
	pk --store "$S" -v wheel "$source" -w "$T/out/$name" "${IDX[@]}" "$@"
	if [ "$PK_RC" -ne 0 ]; then
		fail "$name: pkgimg wheel builds it" "$(pk_detail)"
		return
	fi
	echo "# $name: pkgimg wheel in $(awk "BEGIN { printf \"%.1f\", $(date +%s.%N) - $t1 }") s"
	w=$(cat "$PK_OUT")
	if ! pysrc_pip wheel -q --no-deps --index-url "$PYSRC_HTML_URL" -w "$T/pip/$name" "$pipsrc" \
		>"$T/pip.$name.log" 2>&1; then
		fail "$name: pip wheel builds it (the oracle)" "$(tail -20 "$T/pip.$name.log")"
		return
	fi
	pw=$(ls "$T/pip/$name"/*.whl)
	if [ "$(basename "$w")" = "$(basename "$pw")" ] &&
	   [ "$(record_set "$w")" = "$(record_set "$pw")" ]; then
		ok "$name: the wheel's name and RECORD file set are pip's ($(basename "$w"))"
	else
		fail "$name: the wheel's name and RECORD file set are pip's" \
			"pkgimg: $(basename "$w")" "$(record_set "$w")" \
			"pip: $(basename "$pw")" "$(record_set "$pw")"
	fi
}

# the flit sdist: a file, then the same by URL (the cache: no sandbox run)
same_as_pip flit-sdist "$PYSRC_FLIT_SDIST" "$PYSRC_FLIT_SDIST"
pk --store "$S" -v wheel "$FILES/$(basename "$PYSRC_FLIT_SDIST")" -w "$T/out/flit-url" "${IDX[@]}"
if [ "$PK_RC" -eq 0 ] && err_has "in the build cache" && ! err_has "in the sandbox" &&
   cmp -s "$(cat "$PK_OUT")" "$T/out/flit-sdist/$(basename "$(cat "$PK_OUT")")"; then
	ok "flit sdist by http URL: the same archive, a build cache hit, the same wheel"
else
	fail "flit sdist by http URL: the same archive, a build cache hit, the same wheel" "$(pk_detail)"
fi

# a git repository of it
mkdir -p "$T/unpacked"
tar -C "$T/unpacked" -xzf "$PYSRC_FLIT_SDIST"
pysrc_git_repo "$T/unpacked/$(basename "$PYSRC_FLIT_SDIST" .tar.gz)" "$T/repo" ||
	bail "the git repository (pysrc_git_repo) is made"
same_as_pip git-tag "$PYSRC_GIT_URL@$PYSRC_GIT_TAG" "$PYSRC_GIT_URL_LOCALHOST@$PYSRC_GIT_TAG"
same_as_pip git-branch "$PYSRC_GIT_URL@$PYSRC_GIT_BRANCH" "$PYSRC_GIT_URL_LOCALHOST@$PYSRC_GIT_BRANCH"
w1=$(ls "$T/out/git-tag"/*.whl 2>/dev/null) w2=$(ls "$T/out/git-branch"/*.whl 2>/dev/null)
if [ -n "$w1" ] && [ -n "$w2" ] && ! cmp -s "$w1" "$w2"; then
	ok "git: the tag and the branch (one more commit) build different wheels"
else
	fail "git: the tag and the branch (one more commit) build different wheels" "$w1 $w2"
fi

# the local project (flit_core, a console script)
pysrc_local_project "$T/local" >/dev/null || bail "the local project (pysrc_local_project) is made"
cp -r "$T/local" "$T/local-pip"	# pip may write into the directory it builds
same_as_pip local "$T/local" "$T/local-pip"

# the C extension, compiled
t0=$(date +%s)
CEXT=(--apt gcc --apt libpython3.11-dev)
same_as_pip markupsafe "$PYSRC_CEXT_SDIST" "$PYSRC_CEXT_SDIST" "${CEXT[@]}"
echo "# markupsafe with gcc + libpython3.11-dev: $(( $(date +%s) - t0 )) s in all (the apt layer included)"
w1=$(ls "$T/out/markupsafe"/*.whl 2>/dev/null)
case $w1 in
*-cp311-cp311-linux_x86_64.whl) ok "markupsafe: a compiled wheel (cp311, linux_x86_64)" ;;
*) fail "markupsafe: a compiled wheel (cp311, linux_x86_64)" "$w1" ;;
esac
# a second store, with the first one's image layers and downloads (hard
# links; no archive traffic) but not its build cache nor the wheels it built
S2=$T/store2
mkdir -p "$S2"
cp -al "$S/blobs" "$S/layers" "$S2/" 2>/dev/null
for w in "$T"/out/*/*.whl; do rm -f "$S2/blobs/sha256/$(sha256_of "$w")"; done
pk --store "$S2" -v wheel "$PYSRC_CEXT_SDIST" -w "$T/out2" "${IDX[@]}" "${CEXT[@]}"
if [ "$PK_RC" -eq 0 ] && err_has "build_wheel in the sandbox" &&
   [ "$(sha256_of "$w1")" = "$(sha256_of "$(cat "$PK_OUT")")" ]; then
	ok "markupsafe: compiled again in another store, the same wheel bytes ($(sha256_of "$w1" | cut -c1-12))"
else
	fail "markupsafe: compiled again in another store, the same wheel bytes" "$(pk_detail)" \
		"$(sha256sum "$w1" "$(cat "$PK_OUT")" 2>&1)"
fi
finish
