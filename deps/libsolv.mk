# deps/libsolv.mk - reproducible, cached static build of libsolv from
# Debian's source package, with pkgimg's patches (deps/patches/libsolv/).
#
# Include from the top-level Makefile (paths are relative to the directory
# make runs in, normally the repository root):
#
#   include deps/libsolv.mk
#   src/foo.o: $(LIBSOLV_STAMP)             # headers must exist first
#   CFLAGS += $(LIBSOLV_CFLAGS)
#   pkgimg: ... ; $(CC) ... $(LIBSOLV_LIBS)
#
# Standalone:  make -f deps/libsolv.mk            (builds the stamp)
#              make -f deps/libsolv.mk libsolv-check
#
# Needs root on a machine without the build dependencies (they are
# installed with apt-get when missing).  See deps/README.md.

# do not let this fragment change the includer's default goal
LIBSOLV_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

LIBSOLV_VERSION := 0.7.23
LIBSOLV_PREFIX  := build/deps/libsolv-$(LIBSOLV_VERSION)
LIBSOLV_STAMP   := $(LIBSOLV_PREFIX)/.stamp
LIBSOLV_ARCHIVES := $(LIBSOLV_PREFIX)/lib/libsolvext.a $(LIBSOLV_PREFIX)/lib/libsolv.a
# -isystem: libsolv's own headers are not -Wextra clean (unused parameters)
LIBSOLV_CFLAGS  := -isystem $(LIBSOLV_PREFIX)/include
# libsolvext before libsolv; system libraries for the enabled compressions
LIBSOLV_LIBS    := $(LIBSOLV_ARCHIVES) -lz -llzma -lzstd -lbz2

# directory of this fragment (normally "deps")
LIBSOLV_MK_DIR  := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LIBSOLV_PATCHES := $(sort $(wildcard $(LIBSOLV_MK_DIR)/patches/libsolv/*.patch))
LIBSOLV_SRCDIR  := build/deps/src
LIBSOLV_WORKDIR := build/deps/work/libsolv-$(LIBSOLV_VERSION)
# serialises apt/dpkg between the deps fragments under make -j
LIBSOLV_APT_LOCK := build/deps/.apt.lock

# Debian packages needed to fetch and build libsolv with the options below
# (no expat/libxml2: no rpmmd/susetags/appdata/comps repo readers).
LIBSOLV_BUILD_DEPS := gcc libc6-dev make cmake patch dpkg-dev \
	zlib1g-dev liblzma-dev libzstd-dev libbz2-dev
# extra packages for tests/unit/test_libsolv_patches.c (base64 via OpenSSL)
LIBSOLV_TEST_DEPS := libssl-dev

LIBSOLV_CMAKE_FLAGS := \
	-DDISABLE_SHARED=ON -DENABLE_STATIC=ON \
	-DENABLE_DEBIAN=ON -DENABLE_CONDA=ON -DENABLE_COMPLEX_DEPS=ON \
	-DMULTI_SEMANTICS=ON -DENABLE_PUBKEY=ON \
	-DENABLE_LZMA_COMPRESSION=ON -DENABLE_ZSTD_COMPRESSION=ON \
	-DENABLE_BZIP2_COMPRESSION=ON \
	-DENABLE_RPMDB=OFF -DENABLE_RPMPKG=OFF -DENABLE_RPMMD=OFF \
	-DENABLE_SUSEREPO=OFF -DENABLE_HELIXREPO=OFF -DENABLE_APPDATA=OFF \
	-DENABLE_COMPS=OFF -DENABLE_ARCHREPO=OFF -DENABLE_MDKREPO=OFF \
	-DENABLE_HAIKU=OFF -DENABLE_ZCHUNK_COMPRESSION=OFF -DWITH_LIBXML2=OFF \
	-DENABLE_PERL=OFF -DENABLE_PYTHON=OFF -DENABLE_RUBY=OFF -DENABLE_TCL=OFF \
	-DCMAKE_POSITION_INDEPENDENT_CODE=ON -DCMAKE_BUILD_TYPE=Release \
	-DCMAKE_INSTALL_LIBDIR=lib

# APT options for non-interactive use as root
LIBSOLV_APT := flock $(LIBSOLV_APT_LOCK) env DEBIAN_FRONTEND=noninteractive apt-get -q -o APT::Sandbox::User=root -o Dpkg::Use-Pty=0

# $(call libsolv_ensure_pkgs,PACKAGES): apt-get install what dpkg-query does
# not report as installed; apt-get update first when there are no package
# lists, and update and retry once if the install fails (stale lists).
define libsolv_ensure_pkgs
	@missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${db:Status-Status}' "$$p" 2>/dev/null | grep -qx installed || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then \
	    echo "libsolv: missing packages:$$missing (run as root or install them)" >&2; exit 1; \
	  fi; \
	  echo "libsolv: installing$$missing"; \
	  if ! ls /var/lib/apt/lists/*_Packages* >/dev/null 2>&1; then \
	    $(LIBSOLV_APT) update >/dev/null || exit 1; \
	  fi; \
	  $(LIBSOLV_APT) install -y --no-install-recommends $$missing >/dev/null 2>&1 || \
	  { $(LIBSOLV_APT) update >/dev/null && \
	    $(LIBSOLV_APT) install -y --no-install-recommends $$missing >/dev/null; } || exit 1; \
	fi
endef

.PHONY: libsolv libsolv-clean libsolv-distclean libsolv-check

libsolv: $(LIBSOLV_STAMP)

# The stamp is the whole build: fetch (cached in $(LIBSOLV_SRCDIR); first, so
# that its apt-get update also serves the build-deps install), install build
# deps, copy the pristine tree, patch, configure, build the two libraries,
# install.
$(LIBSOLV_STAMP): $(LIBSOLV_PATCHES) $(LIBSOLV_MK_DIR)/libsolv.mk $(LIBSOLV_MK_DIR)/fetch-source.sh
	@set -e; \
	src="$(LIBSOLV_SRCDIR)/libsolv-$(LIBSOLV_VERSION)"; \
	if [ ! -f "$$src/CMakeLists.txt" ]; then \
	  tmp="$(LIBSOLV_SRCDIR)/.libsolv.tmp"; \
	  rm -rf "$$tmp" "$$src"; mkdir -p "$$tmp"; \
	  flock "$(LIBSOLV_APT_LOCK)" sh $(LIBSOLV_MK_DIR)/fetch-source.sh libsolv "$$tmp"; \
	  if [ ! -f "$$tmp/libsolv-$(LIBSOLV_VERSION)/CMakeLists.txt" ]; then \
	    echo "libsolv: apt-get source did not produce libsolv-$(LIBSOLV_VERSION):" $$(ls "$$tmp") >&2; \
	    exit 1; \
	  fi; \
	  for f in "$$tmp"/libsolv_*; do mv -f "$$f" $(LIBSOLV_SRCDIR)/; done; \
	  mv "$$tmp/libsolv-$(LIBSOLV_VERSION)" "$$src"; \
	  rm -rf "$$tmp"; \
	fi
	$(call libsolv_ensure_pkgs,$(LIBSOLV_BUILD_DEPS))
	@echo "libsolv: patching and building $(LIBSOLV_VERSION)"
	@set -e; \
	work="$(LIBSOLV_WORKDIR)"; \
	rm -rf "$$work" "$(LIBSOLV_PREFIX)"; \
	mkdir -p "$$work"; \
	cp -a "$(LIBSOLV_SRCDIR)/libsolv-$(LIBSOLV_VERSION)" "$$work/src"; \
	for p in $(LIBSOLV_PATCHES); do \
	  echo "libsolv: applying $$(basename $$p)"; \
	  patch -d "$$work/src" -p1 --forward --quiet --no-backup-if-mismatch < "$$p"; \
	done; \
	abswork="$$(cd "$$work" && pwd)"; \
	cmake -Wno-dev -Wno-deprecated -S "$$work/src" -B "$$work/build" \
	  $(LIBSOLV_CMAKE_FLAGS) \
	  -DCMAKE_C_FLAGS="-ffile-prefix-map=$$abswork/src=libsolv-$(LIBSOLV_VERSION)" \
	  -DCMAKE_INSTALL_PREFIX="$(abspath $(LIBSOLV_PREFIX))" \
	  > "$$work/configure.log" || { cat "$$work/configure.log" >&2; exit 1; }; \
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	  make -C "$$work/build" -j"$$(nproc)" libsolv libsolvext > "$$work/build.log" \
	  || { tail -n 40 "$$work/build.log" >&2; exit 1; }; \
	cmake -P "$$work/build/src/cmake_install.cmake" > "$$work/install.log"; \
	cmake -P "$$work/build/ext/cmake_install.cmake" >> "$$work/install.log"; \
	for f in $(LIBSOLV_ARCHIVES) $(LIBSOLV_PREFIX)/include/solv/pool.h \
	         $(LIBSOLV_PREFIX)/include/solv/repo_deb.h $(LIBSOLV_PREFIX)/include/solv/repo_pubkey.h; do \
	  [ -f "$$f" ] || { echo "libsolv: $$f was not installed" >&2; exit 1; }; \
	done
	@touch $@
	@echo "libsolv: installed in $(LIBSOLV_PREFIX)"

# --- patch tests (tests/unit/test_libsolv_patches.c) -------------------------

LIBSOLV_TEST_SRC := tests/unit/test_libsolv_patches.c
LIBSOLV_TEST_BIN := build/deps/test_libsolv_patches

$(LIBSOLV_TEST_BIN): $(LIBSOLV_TEST_SRC) $(LIBSOLV_STAMP)
	$(call libsolv_ensure_pkgs,$(LIBSOLV_TEST_DEPS))
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -Wextra -Werror -std=gnu11 $(LIBSOLV_CFLAGS) -o $@ $(LIBSOLV_TEST_SRC) $(LIBSOLV_LIBS) -lcrypto

libsolv-check: $(LIBSOLV_TEST_BIN)
	./$(LIBSOLV_TEST_BIN)

libsolv-clean:
	rm -rf $(LIBSOLV_WORKDIR) $(LIBSOLV_PREFIX) $(LIBSOLV_TEST_BIN)

# also forgets the downloaded source package
libsolv-distclean: libsolv-clean
	rm -rf $(LIBSOLV_SRCDIR)/libsolv-$(LIBSOLV_VERSION) $(LIBSOLV_SRCDIR)/libsolv_* \
	       $(LIBSOLV_SRCDIR)/.libsolv.tmp

# restore the includer's default goal; standalone the default is "libsolv"
ifeq ($(LIBSOLV_SAVED_DEFAULT_GOAL)$(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := libsolv
else
.DEFAULT_GOAL := $(LIBSOLV_SAVED_DEFAULT_GOAL)
endif
