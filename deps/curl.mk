# deps/curl.mk - reproducible, cached static build of libcurl from Debian's
# source package (lib/ only, no curl tool), for a fully static pkgimg.
#
# Include from the top-level Makefile (paths are relative to the directory
# make runs in, normally the repository root):
#
#   include deps/curl.mk
#   src/foo.o: $(CURL_STAMP)                # headers must exist first
#   CFLAGS += $(CURL_CFLAGS)
#   pkgimg: ... ; $(CC) ... $(CURL_LIBS)
#
# Standalone:  make -f deps/curl.mk               (builds the stamp)
#
# Needs root on a machine without the build dependencies (they are
# installed with apt-get when missing).  See deps/README.md.

# do not let this fragment change the includer's default goal
CURL_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

CURL_VERSION := 7.88.1
CURL_PREFIX  := build/deps/curl-$(CURL_VERSION)
CURL_STAMP   := $(CURL_PREFIX)/.stamp
CURL_ARCHIVES := $(CURL_PREFIX)/lib/libcurl.a
# CURL_STATICLIB: no dllimport (a no-op on Linux, but the documented way to
# use a static libcurl)
CURL_CFLAGS  := -isystem $(CURL_PREFIX)/include -DCURL_STATICLIB
# link order: libcurl, then what it needs (nghttp2, OpenSSL, compressors);
# -lpthread is part of libc since glibc 2.34 but harmless
CURL_LIBS    := $(CURL_ARCHIVES) -lnghttp2 -lssl -lcrypto -lzstd -lz -lpthread

# directory of this fragment (normally "deps")
CURL_MK_DIR  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CURL_PATCHES := $(sort $(wildcard $(CURL_MK_DIR)/patches/curl/*.patch))
CURL_SRCDIR  := build/deps/src
CURL_WORKDIR := build/deps/work/curl-$(CURL_VERSION)
# serialises apt/dpkg between the deps fragments under make -j
CURL_APT_LOCK := build/deps/.apt.lock

# Debian packages needed to fetch and build libcurl with the options below
# (libnghttp2-dev ships libnghttp2.a; libssl-dev libssl.a + libcrypto.a).
CURL_BUILD_DEPS := gcc libc6-dev make patch dpkg-dev pkg-config \
	libssl-dev zlib1g-dev libzstd-dev libnghttp2-dev

# Everything not listed as --enable/--with is off.  The explicit --without-*
# matter: configure would otherwise pick up e.g. libidn2-dev, libbrotli-dev,
# libpsl-dev or libssh2 if they happen to be installed on the build machine.
CURL_CONFIGURE_FLAGS := \
	--disable-shared --enable-static --disable-dependency-tracking \
	--disable-debug --disable-curldebug --enable-optimize --disable-warnings \
	--disable-werror --enable-symbol-hiding --disable-versioned-symbols \
	--enable-http --enable-file --enable-proxy \
	--disable-ftp --disable-ldap --disable-ldaps --disable-rtsp \
	--disable-dict --disable-telnet --disable-tftp --disable-pop3 \
	--disable-imap --disable-smb --disable-smtp --disable-gopher \
	--disable-mqtt --disable-websockets \
	--disable-manual --disable-libcurl-option \
	--enable-ipv6 --enable-threaded-resolver --disable-ares \
	--enable-unix-sockets --disable-alt-svc \
	--disable-ntlm --disable-ntlm-wb --disable-tls-srp \
	--disable-openssl-auto-load-config \
	--with-openssl --with-zlib --with-zstd --with-nghttp2 \
	--with-ca-bundle=/etc/ssl/certs/ca-certificates.crt \
	--with-ca-path=/etc/ssl/certs --without-ca-fallback \
	--without-gnutls --without-mbedtls --without-wolfssl --without-bearssl \
	--without-rustls --without-nss --without-hyper \
	--without-brotli --without-libpsl --without-libidn2 --without-winidn \
	--without-libgsasl --without-libssh2 --without-libssh --without-wolfssh \
	--without-librtmp --without-gssapi --without-ngtcp2 --without-nghttp3 \
	--without-quiche --without-msh3 \
	--without-zsh-functions-dir --without-fish-functions-dir

# curl_config.h lines that must come out of configure (guards against a
# feature silently dropped because a library was not found)
CURL_REQUIRED_DEFINES := USE_OPENSSL HAVE_LIBZ HAVE_ZSTD USE_NGHTTP2 \
	USE_THREADS_POSIX ENABLE_IPV6 CURL_DISABLE_FTP CURL_DISABLE_LDAP \
	CURL_DISABLE_TELNET CURL_DISABLE_SMB CURL_DISABLE_ALTSVC
CURL_FORBIDDEN_DEFINES := USE_LIBSSH2 USE_LIBSSH USE_LIBPSL HAVE_IDN2_H HAVE_LIBIDN2 \
	HAVE_BROTLI HAVE_GSSAPI USE_LIBRTMP USE_ARES CURL_DISABLE_HTTP CURL_DISABLE_FILE

.PHONY: curl curl-clean curl-distclean

curl: $(CURL_STAMP)

# The stamp is the whole build: fetch (cached in $(CURL_SRCDIR)), install
# build deps, copy the pristine tree, select the OpenSSL flavour, patch,
# configure (the shipped configure, no autoreconf), build lib/, install the
# library and headers.
$(CURL_STAMP): $(CURL_PATCHES) $(CURL_MK_DIR)/curl.mk $(CURL_MK_DIR)/fetch-source.sh
	@set -e; \
	src="$(CURL_SRCDIR)/curl-$(CURL_VERSION)"; \
	if [ ! -f "$$src/configure" ] || [ ! -f "$$src/lib/url.c" ]; then \
	  tmp="$(CURL_SRCDIR)/.curl.tmp"; \
	  rm -rf "$$tmp" "$$src"; mkdir -p "$$tmp"; \
	  flock "$(CURL_APT_LOCK)" sh $(CURL_MK_DIR)/fetch-source.sh curl "$$tmp"; \
	  if [ ! -f "$$tmp/curl-$(CURL_VERSION)/configure" ]; then \
	    echo "curl: apt-get source did not produce curl-$(CURL_VERSION):" $$(ls "$$tmp") >&2; \
	    exit 1; \
	  fi; \
	  for f in "$$tmp"/curl_*; do mv -f "$$f" $(CURL_SRCDIR)/; done; \
	  mv "$$tmp/curl-$(CURL_VERSION)" "$$src"; \
	  rm -rf "$$tmp"; \
	fi
	@mkdir -p $(dir $(CURL_APT_LOCK)) && flock "$(CURL_APT_LOCK)" sh $(CURL_MK_DIR)/ensure-packages.sh $(CURL_BUILD_DEPS)
	@echo "curl: building libcurl $(CURL_VERSION) (static)"
	@set -e; \
	work="$(CURL_WORKDIR)"; \
	rm -rf "$$work" "$(CURL_PREFIX)"; \
	mkdir -p "$$work"; \
	cp -a "$(CURL_SRCDIR)/curl-$(CURL_VERSION)" "$$work/src"; \
	: "Debian's series ends with 90_gnutls and 99_nss, which rename libcurl"; \
	: "for the GnuTLS/NSS flavours; debian/rules pops both for the OpenSSL"; \
	: "build, so do the same (they only touch Makefile.am/libcurl.vers.in)."; \
	for p in 99_nss 90_gnutls; do \
	  patch -d "$$work/src" -p1 -R --quiet --no-backup-if-mismatch < "$$work/src/debian/patches/$$p.patch"; \
	done; \
	for p in $(CURL_PATCHES); do \
	  echo "curl: applying $$(basename $$p)"; \
	  patch -d "$$work/src" -p1 --forward --quiet --no-backup-if-mismatch < "$$p"; \
	done; \
	abswork="$$(cd "$$work" && pwd)"; \
	absprefix="$$(mkdir -p "$(CURL_PREFIX)" && cd "$(CURL_PREFIX)" && pwd)"; \
	: "configure.ac and Makefile.am are newer than configure/Makefile.in"; \
	: "(Debian patches), but AM_MAINTAINER_MODE is off: nothing reruns autotools"; \
	( cd "$$work/src"; \
	  ./configure --prefix="$$absprefix" $(CURL_CONFIGURE_FLAGS) \
	    CFLAGS="-O2 -ffile-prefix-map=$$abswork/src=curl-$(CURL_VERSION)" \
	    > ../configure.log 2>&1 || { tail -n 40 ../configure.log >&2; exit 1; }; \
	  for d in $(CURL_REQUIRED_DEFINES); do \
	    grep -q "^#define $$d 1" lib/curl_config.h || { echo "curl: configure did not enable $$d (see $$work/configure.log)" >&2; exit 1; }; \
	  done; \
	  for d in $(CURL_FORBIDDEN_DEFINES); do \
	    ! grep -q "^#define $$d 1" lib/curl_config.h || { echo "curl: configure unexpectedly set $$d" >&2; exit 1; }; \
	  done; \
	  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    make -C lib -j"$$(nproc)" libcurl.la > ../build.log 2>&1 \
	    || { tail -n 40 ../build.log >&2; exit 1; }; \
	  { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C lib install-libLTLIBRARIES && \
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C include/curl install-pkgincludeHEADERS; \
	  } > ../install.log 2>&1 || { tail -n 20 ../install.log >&2; exit 1; }; \
	  dpkg-parsechangelog -l debian/changelog -S Version > "$$absprefix/debian-version"; \
	); \
	rm -f "$(CURL_PREFIX)/lib/libcurl.la"; \
	for f in $(CURL_ARCHIVES) $(CURL_PREFIX)/include/curl/curl.h $(CURL_PREFIX)/include/curl/easy.h; do \
	  [ -f "$$f" ] || { echo "curl: $$f was not installed" >&2; exit 1; }; \
	done
	@touch $@
	@echo "curl: installed in $(CURL_PREFIX) (Debian $$(cat $(CURL_PREFIX)/debian-version))"

curl-clean:
	rm -rf $(CURL_WORKDIR) $(CURL_PREFIX)

# also forgets the downloaded source package (next build fetches the
# current Debian revision, e.g. a new security update)
curl-distclean: curl-clean
	rm -rf $(CURL_SRCDIR)/curl-$(CURL_VERSION) $(CURL_SRCDIR)/curl_* \
	       $(CURL_SRCDIR)/.curl.tmp

# restore the includer's default goal; standalone the default is "curl"
ifeq ($(CURL_SAVED_DEFAULT_GOAL)$(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := curl
else
.DEFAULT_GOAL := $(CURL_SAVED_DEFAULT_GOAL)
endif
