#!/bin/bash
# CUDA builds on request: --cuda X.Y (or --gpu, which asks the driver) puts
# the CUDA index (a template, PyTorch's pattern by default) before the
# default one for the torch family only, prefers the +cuXYZ local versions,
# and records the choice in the lockfile and so in the key.  Fixture
# indexes on 127.0.0.1; python3 from the real archive (skips when unreachable).
. "$(dirname "$0")/../lib.sh"
need_pkgimg
archive_reachable || { skip "CUDA wheel selection" "archive unreachable"; finish; }
S=$T/store

spec() {	# spec TORCHVERSION FILELOCKVERSION
	cat <<EOS
{"projects": {
  "torch": {"versions": {"$1": {"wheels": ["cp311-cp311-manylinux1_x86_64"], "requires_dist": ["filelock"]}}},
  "filelock": {"versions": {"$2": {"wheels": ["py3-none-any"]}}}
}}
EOS
}
spec 2.2.1 3.0 >"$T/pypi.json"
spec 2.2.1+cu121 9.9 >"$T/cu121.json"	# a filelock the CUDA index must not give
spec 2.2.1+cu118 9.9 >"$T/cu118.json"
for n in pypi cu121 cu118; do
	"$PY" "$SRC/tests/fixtures/pypi_fixture.py" build "$T/$n.json" "$T/www/$n" >/dev/null \
		|| bail "fixture index $n builds"
done
"$PY" "$SRC/tests/fixtures/pypi_server.py" --dir "$T/www" --port-file "$T/port" --timeout 600 \
	--parent-pid $$ >/dev/null 2>&1 &
_T_PIDS+=($!)
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
[ -s "$T/port" ] || bail "the fixture index server starts"
BASE=http://127.0.0.1:$(cat "$T/port")
DEF=$BASE/pypi/simple/
TMPL=$BASE/cu{cuda}/simple/

lockset() {	# lockset JSON -> "name==version " of its pypi packages, sorted, on one line
	json_get "$1" '[p["name"] + "==" + p["version"] for p in j["packages"] if p["ecosystem"] == "pypi"]' | sort | tr '\n' ' '
}
pk --store "$S" lock --pip torch==2.2.1 --index-url "$DEF" -o "$T/plain.lock" --json
[ "$PK_RC" -eq 0 ] || { archive_reachable || { skip "CUDA wheel selection" "archive unreachable"; finish; }; bail "lock --pip torch==2.2.1" "$(pk_detail)"; }
[ "$(lockset "$PK_OUT")" = "filelock==3.0 torch==2.2.1 " ] && ! grep -q '^cuda:' "$T/plain.lock" \
	&& ok "without --cuda: torch 2.2.1 from the default index" \
	|| fail "without --cuda: torch 2.2.1 from the default index" "$(lockset "$PK_OUT")"

pk --store "$S" lock --pip torch==2.2.1 --index-url "$DEF" --cuda 12.1 --cuda-index-url "$TMPL" -o "$T/cu121.lock" --json
[ "$PK_RC" -eq 0 ] && [ "$(lockset "$PK_OUT")" = "filelock==3.0 torch==2.2.1+cu121 " ] \
	&& ok "--cuda 12.1: torch 2.2.1+cu121 from the CUDA index; filelock still from the default one" \
	|| fail "--cuda 12.1: torch 2.2.1+cu121 from the CUDA index; filelock still from the default one" "$(pk_detail)"
grep -q '^cuda: "12.1"$' "$T/cu121.lock" && grep -q "step: 'pip: torch==2.2.1 --cuda 12.1'" "$T/cu121.lock" \
	&& grep -q "index: $BASE/cu121/simple/" "$T/cu121.lock" \
	&& ok "the lockfile records cuda 12.1, the step and the CUDA index" \
	|| fail "the lockfile records cuda 12.1, the step and the CUDA index" "$(grep -n 'cuda\|index:\|step' "$T/cu121.lock")"

pk --store "$S" lock --pip torch==2.2.1 --index-url "$DEF" --cuda 11.8 --cuda-index-url "$TMPL" -o "$T/cu118.lock" --json
[ "$PK_RC" -eq 0 ] && [ "$(lockset "$PK_OUT")" = "filelock==3.0 torch==2.2.1+cu118 " ] \
	&& ok "--cuda 11.8: torch 2.2.1+cu118" || fail "--cuda 11.8: torch 2.2.1+cu118" "$(pk_detail)"

# merged indexes: the +cu121 build is the higher version, but not the one asked for
pk --store "$S" lock --pip torch==2.2.1 --index-url "$BASE/cu121/simple/" --extra-index-url "$DEF" \
	--extra-index-url "$BASE/cu118/simple/" --index-strategy unsafe-best-match --cuda 11.8 \
	--cuda-index-url "$TMPL" -o "$T/m.lock" --json
[ "$PK_RC" -eq 0 ] && lockset "$PK_OUT" | grep -q 'torch==2.2.1+cu118 ' \
	&& ok "--cuda 11.8 with every index merged: +cu118 preferred over the higher +cu121" \
	|| fail "--cuda 11.8 with every index merged: +cu118 preferred over the higher +cu121" "$(pk_detail)"

# --gpu asks the driver (a fake driver tree: test-only root override)
mkdir -p "$T/gpu/dev" "$T/gpu/usr/bin"
: >"$T/gpu/dev/nvidiactl"
printf '#!/bin/sh\necho "| NVIDIA-SMI 535.54.03   Driver Version: 535.54.03   CUDA Version: 12.1     |"\n' \
	>"$T/gpu/usr/bin/nvidia-smi"
chmod +x "$T/gpu/usr/bin/nvidia-smi"
PKGIMG_GPU_ROOT=$T/gpu pk --store "$S" lock --pip torch==2.2.1 --index-url "$DEF" --gpu --cuda-index-url "$TMPL" \
	-o "$T/gpu.lock"
[ "$PK_RC" -eq 0 ] && cmp -s "$T/gpu.lock" "$T/cu121.lock" \
	&& ok "--gpu on a host whose driver runs CUDA 12.1: the same lock as --cuda 12.1" \
	|| fail "--gpu on a host whose driver runs CUDA 12.1: the same lock as --cuda 12.1" "$(pk_detail)" \
		"$(diff "$T/cu121.lock" "$T/gpu.lock" 2>&1 | head)"
PKGIMG_GPU_ROOT=$T/nogpu pk --store "$S" lock --pip torch==2.2.1 --index-url "$DEF" --gpu -o "$T/x.lock"
[ "$PK_RC" -ne 0 ] && grep -q 'no NVIDIA GPU' "$PK_ERR" && grep -q -- '--cuda' "$PK_ERR" && [ ! -e "$T/x.lock" ] \
	&& ok "--gpu without a GPU: a clear error that names --cuda as the way out" \
	|| fail "--gpu without a GPU: a clear error that names --cuda as the way out" "$(pk_detail)"

# the choice is in the key: installing both gives two images
pk --store "$S" install --lock "$T/plain.lock"; K1=$(tail -n 1 "$PK_OUT")
pk --store "$S" install --lock "$T/cu121.lock"; K2=$(tail -n 1 "$PK_OUT")
[ "$PK_RC" -eq 0 ] && [ -n "$K1" ] && [ "$K1" != "$K2" ] \
	&& ok "the CUDA choice changes the snapshot id" || fail "the CUDA choice changes the snapshot id" "$(pk_detail)"
finish
