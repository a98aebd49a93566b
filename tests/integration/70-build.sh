#!/bin/bash
# pkgimg build -f pkgimg.yaml and run --commit.
#   Hermetic (no network): a scratch spec with busybox from the host
#   (add, run, env, add of a dir, workdir, entrypoint, cmd):
#     - every step is a layer; a second build is all "cached";
#     - editing a run step rebuilds it and the steps after it, nothing before;
#       a changed add source rebuilds from there; force_build on a step
#       rebuilds from it; --force-build and PKGIMG_FORCE_BUILD=1 rebuild all;
#     - run uses the image's env, workdir, entrypoint and cmd;
#     - errors in the spec name the line and column;
#     - baking: `run --commit -v SRC:/src:ro` keeps a "weights" file a
#       script makes from a local seed; the same run is a hit that runs
#       nothing; another seed is another layer.
#   With the real archive (skips when unreachable): base debian-slim, apt,
#   pip from a fixture index, env, add, run (python3), entrypoint:
#     - it builds, and `run` starts the entrypoint;
#     - editing the run step rebuilds only it and the later steps;
#     - `lock -f` then `build --lock` on a fresh store gives the same image id.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
BB=$(command -v busybox || true)
[ -x "$BB" ] || { skip "build: a scratch spec with busybox" "busybox is not installed"; finish; }
S=$T/store W=$T/spec
mkdir -p "$W/data"
cp "$BB" "$W/busybox"	# add's sources are inside the build context
echo hello >"$W/data/a.txt"
mkdir -p "$W/data/sub" && echo deep >"$W/data/sub/b.txt"
chown -R 1234:1234 "$W/data" 2>/dev/null || true	# a user's checkout, built as root
write_spec() {	# write_spec RUN2: the spec with its second run step's command
	cat >"$W/pkgimg.yaml" <<EOF
base: scratch
steps:
  - add: {src: ./busybox, dst: /bin/busybox}
  - add: {src: ./busybox, dst: /bin/sh}
  - run: ["/bin/busybox --install -s /bin", "mkdir -p /out && echo built > /out/x"]
  - env: {GREETING: hi, MODE: "1"}
  - add: {src: ./data, dst: /data}
  - workdir: /app
  - run: ["$1"]
  - entrypoint: [/bin/sh, -c]
  - cmd: ["cat /app/greeting.txt /data/a.txt"]
EOF
}
states() { sed -n 's/^\[\([0-9]*\)\/[0-9]*\] .*: \(built\|cached\) ([0-9]* ms)$/\1 \2/p' "$PK_ERR" | tr '\n' ' '; }

write_spec 'echo $GREETING > greeting.txt && pwd > where.txt'
pk --store "$S" build -f "$W/pkgimg.yaml" --tag bb
ID1=$(cat "$PK_OUT")
[ "$PK_RC" -eq 0 ] && [ "$(states)" = "1 built 2 built 3 built 4 built 5 built 6 built 7 built 8 built 9 built " ] \
	&& [ "$(grep -c '^  sha256:' <("$PKGIMG" --store "$S" inspect bb))" -eq 9 ] \
	&& ok "build: nine steps, nine layers, each printed as built with its time" \
	|| fail "build: nine steps, nine layers" "$(pk_detail)"
pk --store "$S" build -f "$W/pkgimg.yaml"
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$ID1" ] \
	&& [ "$(states)" = "1 cached 2 cached 3 cached 4 cached 5 cached 6 cached 7 cached 8 cached 9 cached " ] \
	&& ok "the same spec again: every step cached, the same image id" \
	|| fail "the same spec again: every step cached" "$(pk_detail)"
pk --store "$S" run bb
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf 'hi\nhello')" ] \
	&& ok "run with no command: the image's entrypoint and cmd, in its workdir with its env" \
	|| fail "run with no command: the image's entrypoint and cmd" "$(pk_detail)"
pk --store "$S" run bb -- 'stat -c "%u:%g %n" /data /data/a.txt /data/sub /data/sub/b.txt'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf '0:0 /data\n0:0 /data/a.txt\n0:0 /data/sub\n0:0 /data/sub/b.txt')" ] \
	&& ok "add of a directory owned by a user: everything in the image is root's, as Docker's COPY makes it" \
	|| fail "add of a directory owned by a user: everything in the image is root's" "$(pk_detail)"
pk --store "$S" run -e MODE=2 bb -- 'cat where.txt; echo $MODE $GREETING; cat /out/x'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf '/app\n2 hi\nbuilt')" ] \
	&& ok "run: -e overrides the image's env; the workdir is the spec's" \
	|| fail "run: -e overrides the image's env; the workdir is the spec's" "$(pk_detail)"

write_spec 'echo $GREETING there > greeting.txt && pwd > where.txt'
pk --store "$S" build -f "$W/pkgimg.yaml" --tag bb
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" != "$ID1" ] \
	&& [ "$(states)" = "1 cached 2 cached 3 cached 4 cached 5 cached 6 cached 7 built 8 built 9 built " ] \
	&& ok "an edited run step rebuilds itself and the steps after it, nothing before" \
	|| fail "an edited run step rebuilds itself and the steps after it" "$(pk_detail)"
pk --store "$S" run bb
[ "$(head -n1 "$PK_OUT")" = "hi there" ] && ok "the rebuilt image has the new run step's output" \
	|| fail "the rebuilt image has the new run step's output" "$(pk_detail)"
echo changed >"$W/data/a.txt"
pk --store "$S" build -f "$W/pkgimg.yaml"
[ "$PK_RC" -eq 0 ] && [ "$(states)" = "1 cached 2 cached 3 cached 4 cached 5 built 6 built 7 built 8 built 9 built " ] \
	&& ok "a changed file under an add source: the add step and the later ones rebuild (its content is in the key)" \
	|| fail "a changed file under an add source rebuilds from there" "$(pk_detail)"
sed -i 's|^  - env: {GREETING: hi, MODE: "1"}$|  - env: {GREETING: hi, MODE: "1"}\n    force_build: true|' "$W/pkgimg.yaml"
pk --store "$S" build -f "$W/pkgimg.yaml"
[ "$PK_RC" -eq 0 ] && [ "$(states)" = "1 cached 2 cached 3 cached 4 built 5 built 6 built 7 built 8 built 9 built " ] \
	&& ok "force_build on a step: it and every later step rebuild" \
	|| fail "force_build on a step: it and every later step rebuild" "$(pk_detail)"
PKGIMG_FORCE_BUILD=1 pk --store "$S" build -f "$W/pkgimg.yaml"
st1=$(states)
pk --store "$S" build -f "$W/pkgimg.yaml" --force-build
[ "$PK_RC" -eq 0 ] && [ "$st1" = "1 built 2 built 3 built 4 built 5 built 6 built 7 built 8 built 9 built " ] \
	&& [ "$(states)" = "$st1" ] && ok "PKGIMG_FORCE_BUILD=1 and --force-build rebuild every step" \
	|| fail "PKGIMG_FORCE_BUILD=1 and --force-build rebuild every step" "$st1" "$(pk_detail)"

# spec errors name the line and column
printf 'base: scratch\nsteps:\n  - apt: [a]\n    index_url: x\n' >"$T/bad1.yaml"
pk --store "$S" build -f "$T/bad1.yaml"
pk_failed_cleanly && err_has 'bad1.yaml:4:5: \[spec\]' && err_has 'index_url' \
	&& ok "a pip option on an apt step: an error at its line and column" \
	|| fail "a pip option on an apt step: an error at its line and column" "$(pk_detail)"
printf 'base: scratch\nsteps:\n  - run: echo\n' >"$T/bad2.yaml"
pk --store "$S" build -f "$T/bad2.yaml"
pk_failed_cleanly && err_has 'bad2.yaml:3:[0-9]+: \[spec\].*list' \
	&& ok "a string where a list belongs: an error at its line" \
	|| fail "a string where a list belongs: an error at its line" "$(pk_detail)"
printf 'base: scratch\nstep:\n  - run: [echo]\n' >"$T/bad3.yaml"
pk --store "$S" build -f "$T/bad3.yaml"
pk_failed_cleanly && err_has "bad3.yaml:2:1: \[spec\].*'step'" \
	&& ok "an unknown top-level key: an error naming it" \
	|| fail "an unknown top-level key: an error naming it" "$(pk_detail)"
write_spec 'exit 7'
pk --store "$S" build -f "$W/pkgimg.yaml"
[ "$PK_RC" -eq 1 ] && err_has 'pkgimg: error: .*step 7' && err_has 'status 7' && [ -z "$(ls "$S/tmp")" ] \
	&& ok "a failing run step: an error naming the step and the status; nothing half-written" \
	|| fail "a failing run step: an error naming the step and the status" "$(pk_detail)" "$(ls "$S/tmp")"

# --gpu with no GPU (an empty driver tree): a clear error, nothing runs
mkdir -p "$T/nogpu"
PKGIMG_GPU_ROOT=$T/nogpu pk --store "$S" run --gpu bb -- 'echo ran'
pk_failed_cleanly && err_has 'no NVIDIA GPU' && err_has 'drop --gpu' && ! grep -q ran "$PK_OUT" \
	&& ok "run --gpu without a GPU: an error saying what is missing and the fix; nothing runs" \
	|| fail "run --gpu without a GPU: an error saying what is missing and the fix" "$(pk_detail)"

# ---- baking with run --commit
mkdir -p "$T/bake"
echo seed-1 >"$T/bake/seed.txt"
cat >"$T/bake/make.sh" <<'EOF'
mkdir -p /weights
i=0
while [ $i -lt 200 ]; do sha256sum /src/seed.txt; i=$((i + 1)); done > /weights/model.bin
echo baked
EOF
bake() { pk --store "$S" run --commit --tag baked -v "$T/bake:/src:ro" bb -- 'sh /src/make.sh'; }
bake
KEY1=$(cat "$PK_OUT")
want=$(for i in $(seq 200); do echo "$(sha256sum <"$T/bake/seed.txt" | cut -d' ' -f1)  /src/seed.txt"; done | sha256sum)
pk --store "$S" run baked -- 'sha256sum < /weights/model.bin; ls /src 2>&1 | head -1'
got=$(head -n1 "$PK_OUT")
[ -n "$KEY1" ] && [ "${KEY1:0:7}" = sha256: ] && [ "$got" = "$want" ] \
	&& ok "run --commit bakes a weights file made by a script from a local input into a new layer" \
	|| fail "run --commit bakes a weights file into a new layer" "$KEY1" "$got vs $want" "$(pk_detail)"
bake
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$KEY1" ] && err_has 'cached' && ! grep -q baked "$PK_OUT" \
	&& ok "the same bake again: a key hit, nothing runs" \
	|| fail "the same bake again: a key hit, nothing runs" "$(pk_detail)"
echo seed-2 >"$T/bake/seed.txt"
bake
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" != "$KEY1" ] && err_has '^built ' \
	&& ok "another input (the seed changed): another layer" \
	|| fail "another input (the seed changed): another layer" "$(pk_detail)"
pk --store "$S" run --commit bb -- 'exit 4'
[ "$PK_RC" -eq 4 ] && err_has 'status 4; nothing committed' \
	&& ok "run --commit with a failing command: its status, nothing committed" \
	|| fail "run --commit with a failing command: its status, nothing committed" "$(pk_detail)"

# ---- with the real archive: debian-slim, apt, pip, env, add, run, entrypoint
archive_reachable || { skip "build: debian-slim + apt + pip spec" "archive unreachable"; finish; }
cat >"$T/pyspec.json" <<'EOF'
{"projects": {"alpha": {"versions": {"1.0": {"wheels": ["py3-none-any"], "requires_dist": ["beta==1.0"]}}},
              "beta": {"versions": {"1.0": {"wheels": ["py3-none-any"]}}}}}
EOF
"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/pyspec.json" "$T/srv/idx" >/dev/null || bail "the fixture index builds"
start_http_server "$T/srv"
mkdir -p "$T/app"
printf 'import alpha, os, helper\nprint("app", alpha.__version__, os.environ["STAGE"], helper.NAME)\n' >"$T/app/app.py"
printf 'NAME = "helper"\n' >"$T/app/helper.py"
real_spec() {
	cat >"$T/app/pkgimg.yaml" <<EOF
base: debian-slim
python: "3.11"
steps:
  - apt: [python3]
  - pip: [alpha]
    index_url: $HTTP_URL/idx/simple/
  - env: {STAGE: test}
  - add: {src: ./app.py, dst: /srv/app.py}
  - python_source: [helper]
  - run: ["$1"]
  - entrypoint: [python3, /srv/app.py]
EOF
}
real_spec 'python3 -c \"import alpha; print(alpha.__version__)\" > /srv/version'
pk --store "$T/r1" build -f "$T/app/pkgimg.yaml" --tag app
if [ "$PK_RC" -ne 0 ]; then
	archive_reachable || { skip "build: debian-slim + apt + pip spec" "archive unreachable"; finish; }
	bail "build: debian-slim + apt + pip + env + add + run + entrypoint" "$(pk_detail)"
fi
RID=$(cat "$PK_OUT")
pk --store "$T/r1" run app
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "app 1.0 test helper" ] \
	&& ok "a debian-slim spec with apt, pip, env, add, python_source, run and entrypoint builds and runs its entrypoint" \
	|| fail "a debian-slim spec builds and runs its entrypoint" "$(pk_detail)"
pyc=$(ls "$T"/r1/layers/*/tree/usr/local/lib/python3.11/dist-packages/__pycache__/helper.cpython-311.pyc 2>/dev/null | head -1)
[ -n "$pyc" ] && [ "$(od -An -tx1 -j4 -N4 "$pyc" | tr -d ' ')" = 03000000 ] && [ "$(stat -c %Y "$pyc")" = 0 ] \
	&& [ -f "$(dirname "$pyc")/../helper.py" ] \
	&& ok "python_source: the module is compiled in its layer by the image's python (checked-hash, mtime 0)" \
	|| fail "python_source: the module is compiled in its layer" "pyc: ${pyc:-none}" "$(ls -la "$T"/r1/layers/*/tree/usr/local/lib/python3.11/dist-packages/ 2>&1 | head -20)"
real_spec 'python3 -c \"import alpha; print(alpha.__version__)\" > /srv/version && echo edited > /srv/edit'
pk --store "$T/r1" build -f "$T/app/pkgimg.yaml"
[ "$PK_RC" -eq 0 ] && [ "$(states)" = "1 cached 2 cached 3 cached 4 cached 5 cached 6 built 7 built " ] \
	&& ok "editing the run step rebuilds only it and the steps after it" \
	|| fail "editing the run step rebuilds only it and the steps after it" "$(pk_detail)"
real_spec 'python3 -c \"import alpha; print(alpha.__version__)\" > /srv/version'
pk --store "$T/r1" lock -f "$T/app/pkgimg.yaml" -o "$T/app/pkgimg.lock"
[ "$PK_RC" -eq 0 ] && grep -q "step: 'pip: alpha" "$T/app/pkgimg.lock" && grep -q "step: 'apt: python3'" "$T/app/pkgimg.lock" \
	&& ok "lock -f: one lockfile for the spec, a layer per package step" \
	|| fail "lock -f: one lockfile for the spec" "$(pk_detail)" "$(grep step: "$T/app/pkgimg.lock")"
printf 'base: debian-slim\nsteps:\n  - pip: [alpha]\n    index_url: %s\n' "$HTTP_URL/idx/simple/" >"$T/app/pip-only.yaml"
pk --store "$T/r1" lock -f "$T/app/pip-only.yaml" -o "$T/pip-only.lock"
[ "$PK_RC" -eq 0 ] && [ "$(grep -c 'step:' "$T/pip-only.lock")" -eq 3 ] \
	&& awk '/^- step: .apt: needed by .+pip: alpha/ { in_l = 1; next } /^- step:/ { in_l = 0 }
		in_l && /name: python3$/ { found = 1 } END { exit !found }' "$T/pip-only.lock" \
	&& ok "lock -f: what a pip step needs from apt (python3) is a layer of its own, named after the step" \
	|| fail "lock -f: what a pip step needs from apt is a layer of its own" "$(pk_detail)" "$(grep -n 'step:\|name: python3$' "$T/pip-only.lock")"
pk --store "$T/r2" build -f "$T/app/pkgimg.yaml" --lock "$T/app/pkgimg.lock"
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$RID" ] && ! ls "$T/r2/index" | grep -q . \
	&& ok "build --lock on a fresh store: the same image id, no index fetched" \
	|| fail "build --lock on a fresh store: the same image id, no index fetched" "$RID" "$(pk_detail)" "$(ls "$T/r2/index")"
pk --store "$T/r1" export "$RID" --oci "$T/oci1"
D1=$(cat "$PK_OUT")
pk --store "$T/r2" export "$RID" --oci "$T/oci2"
D2=$(cat "$PK_OUT")
if [ -n "$D1" ] && [ "$D1" = "$D2" ]; then
	ok "the debian-slim spec image exported from two fresh stores: the same manifest digest ($D1)"
else
	fail "the debian-slim spec image exported from two fresh stores: the same manifest digest" "$D1 vs $D2" \
		"$(for b in $(comm -23 <(cd "$T/oci1/blobs/sha256" && ls) <(cd "$T/oci2/blobs/sha256" && ls)); do
			tar tvf "$T/oci1/blobs/sha256/$b" --full-time 2>/dev/null | sort -k6 >"$T/l1" || continue
			for c in $(comm -13 <(cd "$T/oci1/blobs/sha256" && ls) <(cd "$T/oci2/blobs/sha256" && ls)); do
				tar tvf "$T/oci2/blobs/sha256/$c" --full-time 2>/dev/null | sort -k6 >"$T/l2" || continue
				diff "$T/l1" "$T/l2" | head -20
			done
		done)"
fi
if command -v skopeo >/dev/null; then
	skopeo inspect "oci:$T/oci1" >"$T/sk.json" 2>&1 && grep -q '"STAGE=test"' "$T/sk.json" \
		&& ok "skopeo inspect reads the export, with the spec's env" \
		|| fail "skopeo inspect reads the export" "$(head -c 2000 "$T/sk.json")"
else
	skip "skopeo inspect of the spec image" "skopeo is not installed"
fi
# an add through the image's links: /bin is usr/bin on a usrmerged Debian,
# the file lands in /usr/bin and /bin stays the link (a real bin/ in the
# layer would hide it, and /bin/sh with it)
printf '#!/bin/sh\necho tool ran\n' >"$T/app/tool.sh"
chmod 755 "$T/app/tool.sh"
printf 'base: app\nsteps:\n  - add: {src: ./tool.sh, dst: /bin/pkgimg-tool}\n  - add: {src: ./tool.sh, dst: /sbin/pkgimg-tool2}\n' >"$T/app/bin.yaml"
pk --store "$T/r1" build -f "$T/app/bin.yaml" --tag binadd
BID=$(cat "$PK_OUT")
pk --store "$T/r1" run --entrypoint "" binadd -- /bin/sh -c 'readlink /bin /sbin; stat -c "%a %U" /usr/bin /usr/sbin; ls /usr/bin/pkgimg-tool /usr/sbin/pkgimg-tool2; pkgimg-tool'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = "$(printf 'usr/bin\nusr/sbin\n755 root\n755 root\n/usr/bin/pkgimg-tool\n/usr/sbin/pkgimg-tool2\ntool ran')" ] \
	&& [ -z "$(ls "$T/r1/layers/${BID#sha256:}/tree" | grep -v '^usr$')" ] \
	&& ok "add to /bin/x on a usrmerged image: the file lands in /usr/bin, /bin and /sbin stay links" \
	|| fail "add to /bin/x on a usrmerged image lands in /usr/bin" "$(pk_detail)" "$(ls -la "$T/r1/layers/${BID#sha256:}/tree")"
pk --store "$T/r1" run --entrypoint python3 app -- -c 'print(6*7)'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = 42 ] \
	&& ok "run --entrypoint PROG replaces the image's entrypoint" \
	|| fail "run --entrypoint PROG replaces the image's entrypoint" "$(pk_detail)"
printf 'base: app\nsteps:\n  - add: {src: ./tool.sh, dst: /etc/passwd/x}\n' >"$T/app/bad-add.yaml"
pk --store "$T/r1" build -f "$T/app/bad-add.yaml"
[ "$PK_RC" -ne 0 ] && grep -q "'/etc/passwd' is a file in the image" "$PK_ERR" && ! ls "$T/r1/tmp" | grep -q . \
	&& ok "add under a file of the image: an error naming it, nothing left in tmp" \
	|| fail "add under a file of the image is refused" "$(pk_detail)"
finish
