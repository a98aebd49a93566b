#!/bin/bash
# The binary that ships (./pkgimg, what every other test runs) is fully
# static: `file` and `ldd` say so, and it works alone in an empty root
# (chroot): --version; a file:// install; http:// from a host name that the
# chroot's /etc/hosts gives, and from one that only a DNS server knows (glibc's
# built-in files and dns lookups: there are no NSS modules in there); and a
# clear error when https has no CA certificates to verify with.
. "$(dirname "$0")/../lib.sh"
need_pkgimg

out=$(file -L "$PKGIMG")
if [[ $out == *"statically linked"* || $out == *"static-pie linked"* ]]; then
	ok "file ./pkgimg says statically linked"
else
	fail "file ./pkgimg says statically linked" "$out"
fi
out=$(ldd "$PKGIMG" 2>&1)
if [[ $out == *"not a dynamic executable"* ]]; then ok "ldd ./pkgimg says not a dynamic executable"
else fail "ldd ./pkgimg says not a dynamic executable" "$out"; fi

if [ "$(id -u)" != 0 ]; then
	skip "pkgimg in an empty chroot" "chroot needs root"
	finish
fi
C=$T/chroot
mkdir -p "$C/etc" "$C/tmp"
cp "$PKGIMG" "$C/pkgimg"
out=$(chroot "$C" /pkgimg --version 2>&1)
if [[ $out == "pkgimg "* ]]; then ok "chroot into a dir holding only the binary: pkgimg --version ($out)"
else fail "chroot into a dir holding only the binary: pkgimg --version" "$out"; fi

setup_fixture
cp -a "$T/www/repo" "$C/repo"
src() {	# src URL: sets SRCARGS, the options for a scratch install from the fixture at URL
	SRCARGS=(--base scratch --apt-source "$1 $SUITE $COMPONENT" --keyring /repo/keyring.gpg)
}
# pk runs "$PKGIMG" as one word: give it a wrapper script instead
printf '#!/bin/sh\nexec env -u SSL_CERT_FILE -u SSL_CERT_DIR chroot %q /pkgimg "$@"\n' "$C" >"$T/in-chroot"
chmod +x "$T/in-chroot"
pkc() { local saved=$PKGIMG; PKGIMG=$T/in-chroot; pk "$@"; PKGIMG=$saved; }

src file:///repo/
pkc --store /store install "${SRCARGS[@]}" --apt hello-fixture --root /out
state=$(dpkg-query --admindir="$C/out/var/lib/dpkg" -W -f='${Package} ${db:Status-Status}\n' 2>&1 | sort)
if [ "$PK_RC" -eq 0 ] && [ "$state" = $'hello-fixture installed\nlibgreet installed' ]; then
	ok "in the chroot: install from file:// --root /out gives hello-fixture and libgreet installed"
else
	fail "in the chroot: install from file:// --root /out gives hello-fixture and libgreet installed" \
		"$state" "$(pk_detail)"
fi

printf 'hosts: files dns\n' >"$C/etc/nsswitch.conf"
printf '127.0.0.1 fixture-host.test\n' >"$C/etc/hosts"
: >"$HTTP_LOG"
src "http://fixture-host.test:$HTTP_PORT/repo/"
pkc --store /store lock "${SRCARGS[@]}" --apt hello-fixture -o /h.lock
if [ "$PK_RC" -eq 0 ] && grep -q InRelease "$HTTP_LOG" && grep -q 'name: hello-fixture' "$C/h.lock"; then
	ok "in the chroot: http://fixture-host.test (from the chroot's /etc/hosts) resolves and locks"
else
	fail "in the chroot: http://fixture-host.test (from the chroot's /etc/hosts) resolves and locks" \
		"$(pk_detail)" "server log:" "$(cat "$HTTP_LOG")"
fi

# DNS: a server on 127.0.0.2:53 that knows one name; the chroot's resolv.conf
# points at it and its /etc/hosts does not have the name
if ss -lun 2>/dev/null | grep -q '127\.0\.0\.2:53 '; then
	skip "in the chroot: a name only DNS knows" "127.0.0.2:53 is in use"
else
	"$PY" "$SRC/tests/fixtures/dnsserver.py" --addr 127.0.0.2 --name fixture-dns.test=127.0.0.1 \
		--log "$T/dns.log" --parent-pid $$ --timeout 300 >"$T/dns.out" 2>&1 &
	_T_PIDS+=("$!")
	for _ in $(seq 100); do [ -s "$T/dns.out" ] && break; sleep 0.05; done
	printf 'nameserver 127.0.0.2\n' >"$C/etc/resolv.conf"
	: >"$HTTP_LOG"
	src "http://fixture-dns.test:$HTTP_PORT/repo/"
	pkc --store /store lock "${SRCARGS[@]}" --apt hello-fixture -o /d.lock
	if [ "$PK_RC" -eq 0 ] && grep -q '^fixture-dns.test 1$' "$T/dns.log" && grep -q InRelease "$HTTP_LOG"; then
		ok "in the chroot: http://fixture-dns.test resolves through DNS (resolv.conf) and locks"
	else
		fail "in the chroot: http://fixture-dns.test resolves through DNS (resolv.conf) and locks" \
			"$(pk_detail)" "dns log:" "$(cat "$T/dns.log" 2>/dev/null)" "$(cat "$T/dns.out")"
	fi
fi

# https with no CA certificates anywhere in the chroot
src "https://fixture-host.test:$HTTP_PORT/repo/"
pkc --store /store lock "${SRCARGS[@]}" --apt hello-fixture -o /s.lock
if pk_failed_cleanly && err_has 'no CA certificates' && err_has 'ca-certificates' && err_has '--ca-bundle'; then
	ok "in the chroot: https without CA certificates fails saying so and how to fix it"
else
	fail "in the chroot: https without CA certificates fails saying so and how to fix it" "$(pk_detail)"
fi
# SSL_CERT_FILE naming a missing file is an error naming it (not a silent fallback)
src "https://fixture-host.test:$HTTP_PORT/repo/"
SSL_CERT_FILE=/no/such/ca.pem pk --store "$T/store-ssl" lock "${SRCARGS[@]/\/repo\/keyring.gpg/$KEYRING}" --apt hello-fixture -o "$T/s.lock"
if pk_failed_cleanly && err_has 'SSL_CERT_FILE=/no/such/ca.pem' && err_has 'unset it'; then
	ok "SSL_CERT_FILE naming a missing file fails naming it"
else
	fail "SSL_CERT_FILE naming a missing file fails naming it" "$(pk_detail)"
fi
# and --ca-bundle pointing at the host's bundle copied in gets past that point
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
	cp /etc/ssl/certs/ca-certificates.crt "$C/ca.pem"
	src "https://fixture-host.test:$HTTP_PORT/repo/"
	pkc --store /store --ca-bundle /ca.pem lock "${SRCARGS[@]}" \
		--apt hello-fixture -o /s.lock
	if [ "$PK_RC" -ne 0 ] && ! err_has 'no CA certificates' && err_has 'https://fixture-host.test'; then
		ok "in the chroot: with --ca-bundle the https attempt reaches the server (a plain-http port fails the handshake)"
	else
		fail "in the chroot: with --ca-bundle the https attempt reaches the server" "$(pk_detail)"
	fi
fi
finish
