#!/bin/bash
# An image whose top layer is not a package layer is a base like any other,
# and an image never grows past what overlayfs can stack:
#   - `install --base IMAGE` works when IMAGE's top layer came from a build's
#     run: step, its add: step, or `run --commit` (their layer.yaml `lock:`
#     is a run's JSON or a list of copies, not a package section);
#   - a spec of 500 layers (cheap env steps) is refused at its 500th step,
#     before it is built, with the limit and the fix: overlayfs stacks 500
#     lower dirs and the sandbox takes one, so 499 layers build and run;
#   - `run --commit` on a 499-layer image is refused the same way.
. "$(dirname "$0")/../lib.sh"
need_pkgimg
BB=$(command -v busybox || true)
[ -x "$BB" ] || { skip "base and layers: busybox images" "busybox is not installed"; finish; }
setup_fixture
S=$T/store W=$T/spec
mkdir -p "$W"
echo hello >"$W/a.txt"
cp "$BB" "$W/busybox"	# inside the build context
BB=./busybox
is_id() { [[ $1 =~ ^sha256:[0-9a-f]{64}$ ]]; }

# ---- install --base on images topped by run:, add: and run --commit layers -------
printf 'base: scratch\nsteps:\n  - add: {src: %s, dst: /bin/busybox}\n  - add: {src: %s, dst: /bin/sh}\n  - run: ["/bin/busybox --install -s /bin"]\n' \
	"$BB" "$BB" >"$W/run.yaml"
printf 'base: scratch\nsteps:\n  - add: {src: %s, dst: /bin/busybox}\n  - add: {src: ./a.txt, dst: /a.txt}\n' \
	"$BB" >"$W/add.yaml"
pk --store "$S" build -f "$W/run.yaml" --tag top-run
[ "$PK_RC" -eq 0 ] || bail "build an image whose top layer is a run: step" "$(pk_detail)"
pk --store "$S" build -f "$W/add.yaml" --tag top-add
[ "$PK_RC" -eq 0 ] || bail "build an image whose top layer is an add: step" "$(pk_detail)"
pk --store "$S" run --commit --tag top-commit top-run -- sh -c 'echo baked > /baked'
[ "$PK_RC" -eq 0 ] || bail "run --commit on it" "$(pk_detail)"
for base in top-run top-add top-commit; do
	FX_BASE=$base fx "$S" install --apt hello-fixture --tag "on-$base"
	id=$(cat "$PK_OUT")
	if [ "$PK_RC" -eq 0 ] && is_id "$id" && [ -n "$(ls "$S"/layers/*/tree/usr/bin/hello-fixture 2>/dev/null)" ]; then
		ok "install --base $base (its top layer from ${base#top-}): the package on top of it"
	else
		fail "install --base $base (its top layer from ${base#top-})" "$(pk_detail)"
	fi
done
pk --store "$S" run on-top-commit -- cat /baked /usr/bin/hello-fixture
[ "$PK_RC" -eq 0 ] && grep -qx baked "$PK_OUT" && grep -q 'hello from hello-fixture' "$PK_OUT" \
	&& ok "the image installed on a run --commit image has what the run wrote and the package" \
	|| fail "the image installed on a run --commit image has what the run wrote and the package" \
		"$(pk_detail)"

# ---- the layer limit -----------------------------------------------------------
many() {	# many N: busybox as /bin/sh, then env steps up to N layers
	{
		printf 'base: scratch\nsteps:\n  - add: {src: %s, dst: /bin/sh}\n' "$BB"
		for i in $(seq 2 "$1"); do printf '  - env: {K%d: "%d"}\n' "$i" "$i"; done
	} >"$W/many.yaml"
}
many 500
t0=$(date +%s)
pk --store "$S" build -f "$W/many.yaml"
t1=$(date +%s)
if [ "$PK_RC" -ne 0 ] && grep -q "many.yaml:502:5: step 500" "$PK_ERR" \
	&& grep -q "would have 500 layers; an image has at most 499 (overlayfs stacks 500" "$PK_ERR" \
	&& grep -q "combine run steps into one" "$PK_ERR" \
	&& ! grep -q "\[500/500\]" "$PK_ERR"; then
	ok "a spec of 500 layers is refused at step 500, unbuilt, with the limit and the fix ($((t1 - t0)) s)"
else
	fail "a spec of 500 layers is refused at step 500 with the limit and the fix" "$(pk_detail)"
fi
many 499
pk --store "$S" build -f "$W/many.yaml" --tag top-499
[ "$PK_RC" -eq 0 ] && pk --store "$S" run top-499 -- sh -c 'echo $K499'
[ "$PK_RC" -eq 0 ] && [ "$(cat "$PK_OUT")" = 499 ] \
	&& ok "a spec of 499 layers builds and runs" \
	|| fail "a spec of 499 layers builds and runs" "$(pk_detail)"
pk --store "$S" run --commit top-499 -- sh -c 'echo x > /x'
[ "$PK_RC" -ne 0 ] && grep -q "would have 500 layers; an image has at most 499" "$PK_ERR" \
	&& ok "run --commit on a 499-layer image is refused with the limit" \
	|| fail "run --commit on a 499-layer image is refused with the limit" "$(pk_detail)"
finish
