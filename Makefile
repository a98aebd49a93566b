# pkgimg — see README.md.  `make` builds ./pkgimg, `make check` runs every
# test, `make demo` runs the main job.  Every dependency is installed here.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -std=gnu11
CPPFLAGS += -I. -D_GNU_SOURCE

BUILD_PKGS := gcc make pkg-config libcurl4-openssl-dev libarchive-dev libssl-dev \
	libzstd-dev libyaml-dev libjansson-dev liblzma-dev libbz2-dev zlib1g-dev
TEST_PKGS  := gnupg dpkg-dev apt-utils python3 fakeroot file busybox-static xz-utils curl

include deps/libsolv.mk

ENGINE_SRC := $(sort $(wildcard core/*.c cache/*.c solver/*.c installers/*.c runtime/*.c pyc/*.c))
CLI_SRC    := $(sort $(wildcard cli/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=build/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=build/obj/%.o)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

LIBS := $(LIBSOLV_LIBS) -lcurl -larchive -lyaml -ljansson -lssl -lcrypto \
	-lzstd -llzma -lbz2 -lz -lpthread

.PHONY: all deps check demo unit clean distclean
all: pkgimg

build/.build-deps: deps/ensure-packages.sh
	@mkdir -p build
	deps/ensure-packages.sh $(BUILD_PKGS)
	@touch $@

deps: build/.build-deps $(LIBSOLV_STAMP)

$(LIBSOLV_STAMP): | build/.build-deps

build/obj/%.o: %.c | build/.build-deps $(LIBSOLV_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LIBSOLV_CFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

build/libpkgimg.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

pkgimg: $(CLI_OBJ) build/libpkgimg.a
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) build/libpkgimg.a $(LIBS)

build/tests/%: tests/unit/%.c build/libpkgimg.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(LIBSOLV_CFLAGS) $(CFLAGS) $(WARN) -o $@ $< build/libpkgimg.a $(LIBS)

unit: $(UNIT_BIN)

build/.test-deps: deps/ensure-packages.sh
	@mkdir -p build
	deps/ensure-packages.sh $(TEST_PKGS)
	@touch $@

check: pkgimg unit build/.test-deps
	tests/run.sh

demo: pkgimg
	./pkgimg install --apt python3 --tag demo-python
	./pkgimg run demo-python -- python3 -c 'import sys; print("hello from python", sys.version.split()[0], "inside pkgimg image demo-python")'

clean:
	rm -rf build/obj build/tests build/libpkgimg.a pkgimg

distclean:
	rm -rf build pkgimg

-include $(ENGINE_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
