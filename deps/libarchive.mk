# deps/libarchive.mk - reproducible, cached static build of libarchive from
# Debian's source package (library only, no bsdtar/bsdcpio/bsdcat), for a
# fully static pkgimg.
#
# Include from the top-level Makefile (paths are relative to the directory
# make runs in, normally the repository root):
#
#   include deps/libarchive.mk
#   src/foo.o: $(LIBARCHIVE_STAMP)          # headers must exist first
#   CFLAGS += $(LIBARCHIVE_CFLAGS)
#   pkgimg: ... ; $(CC) ... $(LIBARCHIVE_LIBS)
#
# Standalone:  make -f deps/libarchive.mk         (builds the stamp)
#
# Needs root on a machine without the build dependencies (they are
# installed with apt-get when missing).  See deps/README.md.

# do not let this fragment change the includer's default goal
LIBARCHIVE_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

LIBARCHIVE_VERSION := 3.6.2
LIBARCHIVE_PREFIX  := build/deps/libarchive-$(LIBARCHIVE_VERSION)
LIBARCHIVE_STAMP   := $(LIBARCHIVE_PREFIX)/.stamp
LIBARCHIVE_ARCHIVES := $(LIBARCHIVE_PREFIX)/lib/libarchive.a
# LIBARCHIVE_STATIC: no dllimport (a no-op on Linux, but the documented way
# to use the static library)
LIBARCHIVE_CFLAGS  := -isystem $(LIBARCHIVE_PREFIX)/include -DLIBARCHIVE_STATIC
# digests (and zip encryption) via OpenSSL's libcrypto, then the filters
LIBARCHIVE_LIBS    := $(LIBARCHIVE_ARCHIVES) -lcrypto -lzstd -llzma -lbz2 -lz

# directory of this fragment (normally "deps")
LIBARCHIVE_MK_DIR  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LIBARCHIVE_PATCHES := $(sort $(wildcard $(LIBARCHIVE_MK_DIR)/patches/libarchive/*.patch))
LIBARCHIVE_SRCDIR  := build/deps/src
LIBARCHIVE_WORKDIR := build/deps/work/libarchive-$(LIBARCHIVE_VERSION)
# serialises apt/dpkg between the deps fragments under make -j
LIBARCHIVE_APT_LOCK := build/deps/.apt.lock

# Debian packages needed to fetch and build libarchive with the options below
LIBARCHIVE_BUILD_DEPS := gcc libc6-dev make cmake patch dpkg-dev \
	libssl-dev zlib1g-dev libbz2-dev liblzma-dev libzstd-dev

# cmake rather than the shipped configure: libarchive uses
# AM_MAINTAINER_MODE([enable]) and Debian's patches touch configure.ac and
# Makefile.am, so make would try to rerun automake.  Only the archive_static
# target is built.
#
# Every optional library is switched explicitly, and the cache entries of the
# probes for optional headers/libraries that could be present on a build
# machine (libattr1-dev, libacl1-dev, e2fslibs-dev, libmd-dev) are preset,
# so the result does not depend on what else is installed.
LIBARCHIVE_CMAKE_FLAGS := \
	-DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" \
	-DCMAKE_INSTALL_LIBDIR=lib \
	-DENABLE_OPENSSL=ON -DENABLE_MBEDTLS=OFF -DENABLE_NETTLE=OFF -DENABLE_CNG=OFF \
	-DENABLE_ZLIB=ON -DENABLE_BZip2=ON -DENABLE_LZMA=ON -DENABLE_ZSTD=ON \
	-DENABLE_LZ4=OFF -DENABLE_LZO=OFF -DENABLE_LIBB2=OFF \
	-DENABLE_LIBXML2=OFF -DENABLE_EXPAT=OFF \
	-DENABLE_PCREPOSIX=OFF -DPOSIX_REGEX_LIB=LIBC \
	-DENABLE_ACL=OFF -DENABLE_XATTR=ON -DENABLE_ICONV=OFF \
	-DENABLE_TAR=OFF -DENABLE_CPIO=OFF -DENABLE_CAT=OFF \
	-DENABLE_TEST=OFF -DENABLE_COVERAGE=OFF -DENABLE_WERROR=OFF \
	-DHAVE_LIBATTR=OFF -DHAVE_LIBATTR_GNU=OFF -DHAVE_ATTR_XATTR_H=OFF \
	-DHAVE_ACL_LIBACL_H=OFF -DHAVE_SYS_ACL_H=OFF -DHAVE_SYS_RICHACL_H=OFF \
	-DHAVE_EXT2FS_EXT2_FS_H=OFF -DLIBMD_FOUND=OFF

# config.h lines that must come out of cmake (guards against a filter or the
# OpenSSL digests silently dropped because a library was not found)
LIBARCHIVE_REQUIRED_DEFINES := HAVE_ZLIB_H HAVE_BZLIB_H HAVE_LZMA_H HAVE_ZSTD_H \
	HAVE_LIBZSTD HAVE_LIBCRYPTO ARCHIVE_CRYPTO_MD5_OPENSSL \
	ARCHIVE_CRYPTO_SHA1_OPENSSL ARCHIVE_CRYPTO_SHA256_OPENSSL \
	ARCHIVE_CRYPTO_SHA512_OPENSSL ARCHIVE_XATTR_LINUX HAVE_SYS_XATTR_H
LIBARCHIVE_FORBIDDEN_DEFINES := HAVE_LIBXML2 HAVE_EXPAT_H HAVE_LZ4_H \
	HAVE_LZO_LZO1X_H HAVE_BLAKE2_H HAVE_ICONV HAVE_LIBATTR HAVE_ATTR_XATTR_H \
	ARCHIVE_ACL_LIBACL HAVE_LIBACL HAVE_LIBNETTLE HAVE_LIBMBEDCRYPTO

.PHONY: libarchive libarchive-clean libarchive-distclean

libarchive: $(LIBARCHIVE_STAMP)

# The stamp is the whole build: fetch (cached in $(LIBARCHIVE_SRCDIR)),
# install build deps, copy the pristine tree, patch, configure with cmake,
# build archive_static, install the archive and the two public headers.
$(LIBARCHIVE_STAMP): $(LIBARCHIVE_PATCHES) $(LIBARCHIVE_MK_DIR)/libarchive.mk $(LIBARCHIVE_MK_DIR)/fetch-source.sh
	@set -e; \
	src="$(LIBARCHIVE_SRCDIR)/libarchive-$(LIBARCHIVE_VERSION)"; \
	if [ ! -f "$$src/CMakeLists.txt" ] || [ ! -f "$$src/libarchive/archive.h" ]; then \
	  tmp="$(LIBARCHIVE_SRCDIR)/.libarchive.tmp"; \
	  rm -rf "$$tmp" "$$src"; mkdir -p "$$tmp"; \
	  flock "$(LIBARCHIVE_APT_LOCK)" sh $(LIBARCHIVE_MK_DIR)/fetch-source.sh libarchive "$$tmp"; \
	  if [ ! -f "$$tmp/libarchive-$(LIBARCHIVE_VERSION)/CMakeLists.txt" ]; then \
	    echo "libarchive: apt-get source did not produce libarchive-$(LIBARCHIVE_VERSION):" $$(ls "$$tmp") >&2; \
	    exit 1; \
	  fi; \
	  for f in "$$tmp"/libarchive_*; do mv -f "$$f" $(LIBARCHIVE_SRCDIR)/; done; \
	  mv "$$tmp/libarchive-$(LIBARCHIVE_VERSION)" "$$src"; \
	  rm -rf "$$tmp"; \
	fi
	@mkdir -p $(dir $(LIBARCHIVE_APT_LOCK)) && flock "$(LIBARCHIVE_APT_LOCK)" sh $(LIBARCHIVE_MK_DIR)/ensure-packages.sh $(LIBARCHIVE_BUILD_DEPS)
	@echo "libarchive: building $(LIBARCHIVE_VERSION) (static)"
	@set -e; \
	work="$(LIBARCHIVE_WORKDIR)"; \
	rm -rf "$$work" "$(LIBARCHIVE_PREFIX)"; \
	mkdir -p "$$work" "$(LIBARCHIVE_PREFIX)/lib" "$(LIBARCHIVE_PREFIX)/include"; \
	cp -a "$(LIBARCHIVE_SRCDIR)/libarchive-$(LIBARCHIVE_VERSION)" "$$work/src"; \
	for p in $(LIBARCHIVE_PATCHES); do \
	  echo "libarchive: applying $$(basename $$p)"; \
	  patch -d "$$work/src" -p1 --forward --quiet --no-backup-if-mismatch < "$$p"; \
	done; \
	abswork="$$(cd "$$work" && pwd)"; \
	cmake -Wno-dev -Wno-deprecated -S "$$work/src" -B "$$work/build" \
	  $(LIBARCHIVE_CMAKE_FLAGS) \
	  -DCMAKE_C_FLAGS="-ffile-prefix-map=$$abswork=libarchive-$(LIBARCHIVE_VERSION)" \
	  -DCMAKE_INSTALL_PREFIX="$(abspath $(LIBARCHIVE_PREFIX))" \
	  > "$$work/configure.log" 2>&1 || { tail -n 40 "$$work/configure.log" >&2; exit 1; }; \
	for d in $(LIBARCHIVE_REQUIRED_DEFINES); do \
	  grep -q "^#define $$d 1" "$$work/build/config.h" || { echo "libarchive: cmake did not enable $$d (see $$work/configure.log)" >&2; exit 1; }; \
	done; \
	for d in $(LIBARCHIVE_FORBIDDEN_DEFINES); do \
	  ! grep -q "^#define $$d 1" "$$work/build/config.h" || { echo "libarchive: cmake unexpectedly set $$d" >&2; exit 1; }; \
	done; \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	  make -C "$$work/build" -j"$$(nproc)" archive_static > "$$work/build.log" 2>&1 \
	  || { tail -n 40 "$$work/build.log" >&2; exit 1; }; \
	install -m 644 "$$work/build/libarchive/libarchive.a" "$(LIBARCHIVE_PREFIX)/lib/"; \
	install -m 644 "$$work/src/libarchive/archive.h" "$$work/src/libarchive/archive_entry.h" \
	  "$(LIBARCHIVE_PREFIX)/include/"; \
	dpkg-parsechangelog -l "$$work/src/debian/changelog" -S Version > "$(LIBARCHIVE_PREFIX)/debian-version"
	@touch $@
	@echo "libarchive: installed in $(LIBARCHIVE_PREFIX) (Debian $$(cat $(LIBARCHIVE_PREFIX)/debian-version))"

libarchive-clean:
	rm -rf $(LIBARCHIVE_WORKDIR) $(LIBARCHIVE_PREFIX)

# also forgets the downloaded source package (next build fetches the
# current Debian revision, e.g. a new security update)
libarchive-distclean: libarchive-clean
	rm -rf $(LIBARCHIVE_SRCDIR)/libarchive-$(LIBARCHIVE_VERSION) \
	       $(LIBARCHIVE_SRCDIR)/libarchive_* $(LIBARCHIVE_SRCDIR)/.libarchive.tmp

# restore the includer's default goal; standalone the default is "libarchive"
ifeq ($(LIBARCHIVE_SAVED_DEFAULT_GOAL)$(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := libarchive
else
.DEFAULT_GOAL := $(LIBARCHIVE_SAVED_DEFAULT_GOAL)
endif
