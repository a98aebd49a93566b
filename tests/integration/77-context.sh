#!/bin/bash
# The build context (issue 15): the files a spec names are confined to the
# spec's directory, as Docker's COPY sources are to the context.  Hermetic:
# base scratch, and for pip steps a stand-in python3.11 .deb added to a copy
# of the fixture apt repository (so a pip step reaches its requirements file
# with no network).  Outside the context: $T/out/secret.txt, a fake shadow
# line.
#   - refused, naming the path, the step's line:col and --context, with no
#     line of the file in the message: add src absolute, add src ../..,
#     a symlink in the context to a file outside, a path through a symlinked
#     directory outside, a python_source module that is a link outside,
#     pip requirements absolute (and /etc/shadow itself), a requirements file
#     in the context that includes (-r) a file outside;
#   - a file in the context that is no requirements file: the error gives
#     file:line, not the text; a real requirements file still quotes it;
#   - --context DIR widens the context: a spec in DIR/sub adds ../x;
#   - a symlink in the context that stays inside is followed (the file's
#     content is copied); a link inside an added directory is copied as a
#     link, as Docker's COPY does.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
setup_fixture
S=$T/store W=$T/ctx O=$T/out
mkdir -p "$W/data" "$O/dir" "$W/sub"
printf 'root:$6$CONTEXTLEAKhash0123456789:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n' >"$O/secret.txt"
printf 'import os\nLEAK = "outside-module"\n' >"$O/mod.py"
echo "inside the context" >"$W/data/real.txt"
echo "shared above sub" >"$W/shared.txt"

# the stand-in interpreter package, for pip steps without the archive
REPO2=$(fixture_variant py)
D=$T/deb/python3.11
mkdir -p "$D/DEBIAN" "$D/usr/bin"
printf '#!/bin/sh\n' >"$D/usr/bin/python3.11" && chmod 0755 "$D/usr/bin/python3.11"
cat >"$D/DEBIAN/control" <<EOF
Package: python3.11
Version: 3.11.2-6
Architecture: amd64
Maintainer: pkgimg tests <test@invalid>
Installed-Size: 1
Description: a stand-in interpreter package
 A pkgimg test fixture (tests/integration/77-context.sh).
EOF
mkdir -p "$REPO2/pool/main/p/python3.11"
dpkg-deb --root-owner-group -Zgzip --build "$D" "$REPO2/pool/main/p/python3.11/python3.11_3.11.2-6_amd64.deb" >/dev/null \
	|| bail "fixture: dpkg-deb" "cannot build the .deb"
fixture_reindex "$REPO2" --scan

build() {	# build SPEC [ARGS...]
	local spec=$1; shift
	pk --store "$S" build -f "$spec" --apt-source "$HTTP_URL/py/ $SUITE $COMPONENT" \
		--keyring "$KEYRING" "$@"
}
# the message leaks no line of FILE
no_line_of() {
	local pats=$T/pats
	grep -v '^[[:space:]]*$' "$1" >"$pats" || return 0
	! grep -qF -f "$pats" "$PK_ERR"
}
# the build failed with pkgimg's error (after the progress of earlier steps)
failed() { [ "$PK_RC" -ne 0 ] && [ "$PK_RC" -lt 126 ] && grep -q '^pkgimg: error: ' "$PK_ERR"; }
# refused NAME FILE-NAMED PATH-IN-MESSAGE LINE:COL: the build failed cleanly,
# the message names the path, the step and the context, and leaks no line
refused() {
	local name=$1 file=$2 path=$3 at=$4
	if failed && grep -qF -- "$path" "$PK_ERR" && grep -qF "pkgimg.yaml:$at:" "$PK_ERR" \
		&& err_has "build context" && err_has "--context DIR" && no_line_of "$file"; then
		ok "$name: refused, naming the path, the step ($at) and --context; no line of the file"
	else
		fail "$name: refused, naming the path, the step and --context; no line of the file" "$(pk_detail)"
	fi
}
spec_add() {	# spec_add SRC: a scratch spec adding SRC to /x
	printf 'base: scratch\nsteps:\n  - env: {A: "1"}\n  - add: {src: %s, dst: /x}\n' "$1" >"$W/pkgimg.yaml"
}

# ---- add ----
spec_add "$O/secret.txt"
build "$W/pkgimg.yaml"
refused "add src absolute outside" "$O/secret.txt" "'$O/secret.txt'" 4:5
spec_add ../out/secret.txt
build "$W/pkgimg.yaml"
refused "add src ../out/secret.txt" "$O/secret.txt" "'../out/secret.txt'" 4:5
ln -s ../out/secret.txt "$W/link"
spec_add ./link
build "$W/pkgimg.yaml"
refused "add src a symlink in the context to a file outside" "$O/secret.txt" "'./link'" 4:5
err_has "symlink" && ok "the message says a symlink leads outside" || fail "the message says a symlink leads outside" "$(pk_detail)"
ln -s "$O" "$W/linkdir"
spec_add linkdir/secret.txt
build "$W/pkgimg.yaml"
refused "add src through a symlinked directory outside" "$O/secret.txt" "'linkdir/secret.txt'" 4:5

# ---- python_source ----
ln -s ../out/mod.py "$W/leaky.py"
printf 'base: scratch\npython: "3.11"\nsteps:\n  - python_source: [leaky]\n' >"$W/pkgimg.yaml"
build "$W/pkgimg.yaml"
refused "python_source: a module that is a link outside" "$O/mod.py" "'leaky.py'" 4:5

# ---- pip requirements ----
spec_req() {	# spec_req FILE
	printf 'base: scratch\nsteps:\n  - apt: [python3.11]\n  - pip: []\n    requirements: %s\n    index_url: http://127.0.0.1:9/simple\n' "$1" >"$W/pkgimg.yaml"
}
spec_req "$O/secret.txt"
build "$W/pkgimg.yaml"
refused "pip requirements: an absolute path outside" "$O/secret.txt" "'$O/secret.txt'" 4:5
if [ -r /etc/shadow ] && [ -s /etc/shadow ]; then
	spec_req /etc/shadow
	build "$W/pkgimg.yaml"
	refused "pip requirements: /etc/shadow" /etc/shadow "'/etc/shadow'" 4:5
else
	skip "pip requirements: /etc/shadow" "no readable /etc/shadow here"
fi
printf 'numpy==1.26.4\n-r ../out/secret.txt\n' >"$W/reqs.txt"
spec_req reqs.txt
build "$W/pkgimg.yaml"
if failed && err_has "reqs.txt:2: \[requirements\] -r '.*/out/secret.txt' is outside" \
	&& err_has "build context" && no_line_of "$O/secret.txt"; then
	ok "a requirements file in the context that includes (-r) a file outside: refused, no line of it"
else
	fail "a requirements file that includes a file outside: refused" "$(pk_detail)"
fi
cp "$O/secret.txt" "$W/notreqs.txt"
spec_req notreqs.txt
build "$W/pkgimg.yaml"
if failed && err_has "notreqs.txt:1: \[requirements\]" && err_has "not shown" \
	&& no_line_of "$W/notreqs.txt"; then
	ok "a file in the context that is no requirements file: file:line and the cause, not its text"
else
	fail "a file that is no requirements file: file:line, not its text" "$(pk_detail)"
fi
printf 'numpy==1.26.4\nnumpy=1.0\n' >"$W/typo.txt"
spec_req typo.txt
build "$W/pkgimg.yaml"
if failed && err_has "typo.txt:2: \[requirements\]" && grep -qF "numpy=1.0" "$PK_ERR"; then
	ok "a requirements file with a bad line after a good one still quotes the bad line"
else
	fail "a requirements file with a bad line still quotes it" "$(pk_detail)"
fi

# ---- --context widens the context ----
printf 'base: scratch\nsteps:\n  - add: {src: ../shared.txt, dst: /shared.txt}\n' >"$W/sub/pkgimg.yaml"
build "$W/sub/pkgimg.yaml"
refused "a spec in sub/ adding ../shared.txt without --context" "$W/shared.txt" "'../shared.txt'" 3:5
build "$W/sub/pkgimg.yaml" --context "$W" --tag widened
if [ "$PK_RC" -eq 0 ]; then
	pk --store "$S" export widened --dir "$T/x-widened"
	[ "$(cat "$T/x-widened/shared.txt" 2>&1)" = "shared above sub" ] \
		&& ok "--context DIR widens the context: ../shared.txt is added" \
		|| fail "--context DIR widens the context" "$(pk_detail)"
else
	fail "--context DIR widens the context" "$(pk_detail)"
fi
build "$W/sub/pkgimg.yaml" --context "$T/nonexistent"
failed && err_has -- "--context .*nonexistent" \
	&& ok "--context with a missing directory is an error naming it" \
	|| fail "--context with a missing directory is an error naming it" "$(pk_detail)"

# ---- symlinks that stay inside ----
ln -s data/real.txt "$W/inlink"
ln -s "$O/secret.txt" "$W/data/out-link"
printf 'base: scratch\nsteps:\n  - add: {src: ./inlink, dst: /in.txt}\n  - add: {src: ./data, dst: /data}\n' >"$W/pkgimg.yaml"
build "$W/pkgimg.yaml" --tag inside
if [ "$PK_RC" -eq 0 ]; then
	pk --store "$S" export inside --dir "$T/x-inside"
	if [ "$(cat "$T/x-inside/in.txt" 2>&1)" = "inside the context" ] && [ ! -L "$T/x-inside/in.txt" ] \
		&& [ "$(readlink "$T/x-inside/data/out-link")" = "$O/secret.txt" ] \
		&& ! grep -rqF CONTEXTLEAK "$T/x-inside" "$S/layers"; then
		ok "a symlink that stays in the context is followed; a link inside an added directory is copied as a link"
	else
		fail "a symlink that stays in the context is followed" "$(ls -lR "$T/x-inside" 2>&1 | head -20)"
	fi
else
	fail "a symlink that stays in the context is followed" "$(pk_detail)"
fi
finish
