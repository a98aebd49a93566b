#!/bin/bash
# pkgimg vs pip on the same local index: the real torch 2.2.1 closure (22
# projects, 106 files, stand-in wheel bytes with the real metadata) served
# on 127.0.0.1 as PEP 503 HTML (Debian's pip 23.0 misreads PEP 691 JSON).
#   bench/pip.sh [RUNS]        (default 5 runs each; the median is reported)
# Rows:
#   resolve       pkgimg lock            vs pip install --dry-run --report
#   install cold  nothing cached: pkgimg's store holds only the python3 image
#                 (tag py; as pip's host holds its python), installed on with
#                 --base py; pip --no-cache-dir
#   install warm  index pages, metadata and wheels cached (pkgimg revalidates
#                 the pages; pip uses its HTTP cache); the layer is rebuilt
# pip installs with --target into a fresh dir and --no-compile.  The Python
# image (apt layers) is built once, untimed.
# Then 20 real projects WITH bytecode (issue 18, issue 22): real wheels with
# real code, repacked from Debian's python3-* packages (their dist-packages
# files and metadata; tests/fixtures/pysrc_fixture.py repack), on their own
# local index (HTML); pkgimg --base py (its default: checked-hash .pyc) vs
# Debian's pip 23.0 (/usr/bin/python3 -m pip, its default: bytecode
# compiled) into a fresh venv (python3 -m venv --without-pip, made untimed;
# pip --python VENV), both with bytecode:
#   +pyc warm     pkgimg: the layer dropped, index pages and wheels cached;
#                 pip: its HTTP cache warm
#   +pyc cold     pkgimg: nothing cached; pip --no-cache-dir
# The wheels are built once into ~/.cache/pkgimg-bench/pyreal/1/ (apt-get
# download and dpkg -x; the host's apt as it is).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-5}
PKGIMG=${PKGIMG:-$PWD/pkgimg}
deps/ensure-packages.sh python3 python3-pip python3-venv >/dev/null
[ -x "$PKGIMG" ] || make -s pkgimg
work=$(mktemp -d /tmp/pkgimg-bench.XXXXXX)
srv=
trap '[ -z "$srv" ] || kill $srv 2>/dev/null; rm -rf "$work"' EXIT
S=$work/store

python3 tests/fixtures/pypi_fixture.py torch-closure "$work/idx" >/dev/null
python3 tests/fixtures/pypi_server.py --dir "$work/idx" --html-only --port-file "$work/port" \
	--timeout 3600 --parent-pid $$ >/dev/null 2>&1 &
srv=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
IDX=http://127.0.0.1:$(cat "$work/port")/simple/
REQ=torch==2.2.1

. bench/lib.sh

# the Python image, and one full run to learn the keys and blobs
"$PKGIMG" --store "$S" install --apt python3 --tag py >/dev/null 2>&1
"$PKGIMG" --store "$S" lock --base py --pip "$REQ" --index-url "$IDX" -o "$work/l.lock" >/dev/null 2>&1
top=$("$PKGIMG" --store "$S" install --base py --pip "$REQ" --index-url "$IDX" 2>/dev/null)
blobs=$(awk '/ecosystem: pypi/ {p = 1} p && /sha256:/ {print $2; p = 0}' "$work/l.lock")

pk_lock() { "$PKGIMG" --store "$S" lock --base py --pip "$REQ" --index-url "$IDX" -o "$work/l.lock"; }
pk_install() { "$PKGIMG" --store "$S" install --base py --pip "$REQ" --index-url "$IDX"; }
drop_layer() { rm -rf "$S/layers/${top#sha256:}"; }
drop_all() {
	drop_layer
	rm -rf "$S"/index/pypi-*
	for b in $blobs; do rm -f "$S/blobs/sha256/$b"; done
}
pip_dry() { python3 -m pip install --dry-run --ignore-installed --quiet --report "$work/r.json" --index-url "$IDX" "$REQ"; }
pip_cold() { python3 -m pip install --no-cache-dir --no-compile --quiet --target "$work/t" --index-url "$IDX" "$REQ"; }
pip_warm() { python3 -m pip install --cache-dir "$work/pipcache" --no-compile --quiet --target "$work/t" --index-url "$IDX" "$REQ"; }
fresh_target() { rm -rf "$work/t"; }

pip_warm >/dev/null 2>&1; rm -rf "$work/t"	# warm pip's cache
t_pl=$(PREP=drop_all timeit pk_lock)
t_pd=$(timeit pip_dry)
t_pc=$(PREP=drop_all timeit pk_install)
t_qc=$(PREP=fresh_target timeit pip_cold)
t_pw=$(PREP=drop_layer timeit pk_install)
t_qw=$(PREP=fresh_target timeit pip_warm)
echo "== torch==2.2.1 closure (22 packages) from a local index, CPython 3.11 x86-64"
printf 'resolve       pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_pd" "$t_pl" "$(ratio "$t_pd" "$t_pl")"
printf 'install cold  pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_qc" "$t_pc" "$(ratio "$t_qc" "$t_pc")"
printf 'install warm  pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_qw" "$t_pw" "$(ratio "$t_qw" "$t_pw")"

# ---- 20 real projects, with bytecode -------------------------------------
# deb:distribution, 20 of them (MarkupSafe is a C extension: a cp311 wheel)
REAL="python3-attr:attrs python3-certifi:certifi python3-chardet:chardet
python3-charset-normalizer:charset-normalizer python3-click:click python3-docutils:docutils
python3-idna:idna python3-jinja2:Jinja2 python3-markdown-it:markdown-it-py
python3-markupsafe:MarkupSafe python3-mdurl:mdurl python3-packaging:packaging
python3-pluggy:pluggy python3-pygments:Pygments python3-pyparsing:pyparsing
python3-requests:requests python3-rich:rich python3-six:six
python3-typing-extensions:typing_extensions python3-urllib3:urllib3"
RCACHE=${XDG_CACHE_HOME:-$HOME/.cache}/pkgimg-bench/pyreal/1
if [ ! -s "$RCACHE/wheels.list" ]; then
	r=$work/real
	mkdir -p "$r/debs" "$r/whl" "$r/root"
	(cd "$r/debs" && apt-get -q -o APT::Sandbox::User=root download $(for x in $REAL; do echo "${x%%:*}"; done)) >"$r/log" 2>&1 \
		|| { echo "bench/pip.sh: apt-get download failed:" >&2; tail "$r/log" >&2; exit 1; }
	for x in $REAL; do
		dpkg -x "$(ls "$r/debs/${x%%:*}"_*.deb)" "$r/root/${x%%:*}"
		python3 tests/fixtures/pysrc_fixture.py repack "$r/root/${x%%:*}/usr/lib/python3/dist-packages" \
			"${x#*:}" "$r/whl" >>"$r/wheels.list"
	done
	rm -rf "$RCACHE"; mkdir -p "$(dirname "$RCACHE")"
	mkdir "$r/out" && mv "$r/whl" "$r/out/" && sed "s|$r/whl/||" "$r/wheels.list" >"$r/out/wheels.list"
	mv -T "$r/out" "$RCACHE"
fi
echo '{"projects": {}}' >"$work/empty.json"
python3 tests/fixtures/pypi_fixture.py build "$work/empty.json" "$work/ridx" \
	$(sed "s|^|--add-wheel $RCACHE/whl/|" "$RCACHE/wheels.list") >/dev/null
python3 tests/fixtures/pypi_server.py --dir "$work/ridx" --html-only --port-file "$work/rport" \
	--timeout 3600 --parent-pid $$ >/dev/null 2>&1 &
srv="$srv $!"
for _ in $(seq 50); do [ -s "$work/rport" ] && break; sleep 0.1; done
RIDX=http://127.0.0.1:$(cat "$work/rport")/simple/
RREQ=$(for x in $REAL; do echo "${x#*:}"; done)
RPK=()
for q in $RREQ; do RPK+=(--pip "$q"); done

"$PKGIMG" --store "$S" lock --base py "${RPK[@]}" --index-url "$RIDX" -o "$work/r.lock" >/dev/null 2>"$work/err" \
	|| { echo "bench/pip.sh: pkgimg lock of the 20 real projects failed:" >&2; cat "$work/err" >&2; exit 1; }
rtop=$("$PKGIMG" --store "$S" install --base py "${RPK[@]}" --index-url "$RIDX" 2>"$work/err") \
	|| { echo "bench/pip.sh: pkgimg install of the 20 real projects failed:" >&2; cat "$work/err" >&2; exit 1; }
rblobs=$(awk '/ecosystem: pypi/ {p = 1} p && /sha256:/ {print $2; p = 0}' "$work/r.lock")
rpk_install() { "$PKGIMG" --store "$S" install --base py "${RPK[@]}" --index-url "$RIDX"; }
rdrop_layer() { rm -rf "$S/layers/${rtop#sha256:}"; }
rdrop_all() {
	rdrop_layer
	rm -rf "$S"/index/pypi-*
	for b in $rblobs; do rm -f "$S/blobs/sha256/$b"; done
}
fresh_venv() { rm -rf "$work/venv"; /usr/bin/python3 -m venv --without-pip "$work/venv"; }
rpip() { /usr/bin/python3 -m pip --python "$work/venv/bin/python" install --quiet --index-url "$RIDX" "$@" $RREQ; }
rpip_cold() { rpip --no-cache-dir; }
rpip_warm() { rpip --cache-dir "$work/rpipcache"; }

# the same set on both sides, bytecode on both sides
fresh_venv; rpip_warm >/dev/null 2>&1	# also warms pip's cache
site=$(echo "$work"/venv/lib/python3*/site-packages)
n_pip=$(ls -d "$site"/*.dist-info | wc -l)
pyc_pip=$(find "$site" -name '*.pyc' | wc -l)
lay=$S/layers/${rtop#sha256:}
n_pk=$(find "$lay" -name '*.dist-info' -type d | wc -l)
pyc_pk=$(find "$lay" -name '*.pyc' | wc -l)
npy=$(find "$site" -name '*.py' | wc -l)
[ "$n_pip" -eq 20 ] && [ "$n_pk" -eq 20 ] && [ "$pyc_pip" -gt 0 ] && [ "$pyc_pk" -gt 0 ] || {
	echo "bench/pip.sh: not the same install: pip $n_pip dists, $pyc_pip .pyc; pkgimg $n_pk dists, $pyc_pk .pyc" >&2
	exit 1
}

t_rpw=$(PREP=rdrop_layer timeit rpk_install)
t_rqw=$(PREP=fresh_venv timeit rpip_warm)
t_rpc=$(PREP=rdrop_all timeit rpk_install)
t_rqc=$(PREP=fresh_venv timeit rpip_cold)
echo "== 20 real projects (wheels repacked from Debian's python3-*: $npy .py files), with bytecode (pip $pyc_pip .pyc, pkgimg $pyc_pk .pyc), Debian's pip 23.0 into a fresh venv"
printf '+pyc warm     pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_rqw" "$t_rpw" "$(ratio "$t_rqw" "$t_rpw")"
printf '+pyc cold     pip %8.3f s   pkgimg %8.3f s   %6sx faster\n' "$t_rqc" "$t_rpc" "$(ratio "$t_rqc" "$t_rpc")"
