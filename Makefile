# pkgimg — see README.md.  `make` builds ./pkgimg, `make check` runs every
# test, `make demo` runs the main job.  Every dependency is installed here.

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -std=gnu11
CPPFLAGS += -I. -D_GNU_SOURCE

# Static archives: libsolv, libcurl and libarchive are built from Debian's
# source packages (deps/*.mk); the rest are Debian's own .a files.
BUILD_PKGS := gcc make pkg-config libssl-dev libnghttp2-dev \
	libzstd-dev libyaml-dev libjansson-dev liblzma-dev libbz2-dev zlib1g-dev libseccomp-dev
TEST_PKGS  := gnupg dpkg-dev apt-utils python3 python3-apt python3-pip python3-pip-whl fakeroot file busybox-static xz-utils curl zstd skopeo umoci podman runc mmdebstrap \
	clang libclang-rt-14-dev git python3-dev
# node and npm run the conda oracle (npm's @conda-org/rattler); a machine
# whose nodejs comes with its own npm keeps it, else Debian's are installed
NODE_PKGS  := nodejs npm

include deps/libsolv.mk
include deps/curl.mk
include deps/libarchive.mk
DEP_STAMPS := $(LIBSOLV_STAMP) $(CURL_STAMP) $(LIBARCHIVE_STAMP)
DEP_CFLAGS := $(LIBSOLV_CFLAGS) $(CURL_CFLAGS) $(LIBARCHIVE_CFLAGS)

ENGINE_SRC := $(sort $(wildcard core/*.c pyspec/*.c cache/*.c runtime/*.c solver/*.c installers/*.c pyc/*.c image/*.c))
CLI_SRC    := $(sort $(wildcard cli/*.c))
ENGINE_OBJ := $(ENGINE_SRC:%.c=build/obj/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=build/obj/%.o)
UNIT_SRC   := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

LIBS := $(LIBSOLV_LIBS) $(CURL_LIBS) $(LIBARCHIVE_LIBS) -lyaml -ljansson -lseccomp -lnghttp2 \
	-lssl -lcrypto -lzstd -llzma -lbz2 -lz -lpthread
# the binary that ships, and that every test runs: fully static
STATIC_LDFLAGS := -static

# `make asan` (alias `make dev`): a dynamic build with AddressSanitizer and
# UndefinedBehaviorSanitizer in build/asan/, for debugging; `make check` runs
# the unit tests under it too.  nonnull-attribute is left out: with it GCC
# sees a NULL format on the sanitizer's own error path and -Wformat-truncation
# fails the build.
ASAN_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize=nonnull-attribute -fno-sanitize-recover=undefined
ASAN_ENGINE_OBJ := $(ENGINE_SRC:%.c=build/asan/obj/%.o)
ASAN_CLI_OBJ    := $(CLI_SRC:%.c=build/asan/obj/%.o)
ASAN_UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=build/asan/tests/%)

.PHONY: all deps check demo unit asan dev fuzz fuzz-build clean distclean
all: pkgimg

build/.build-deps: deps/ensure-packages.sh
	@mkdir -p build
	deps/ensure-packages.sh $(BUILD_PKGS)
	@touch $@

deps: build/.build-deps $(DEP_STAMPS)

$(DEP_STAMPS): | build/.build-deps

build/obj/%.o: %.c | build/.build-deps $(DEP_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEP_CFLAGS) $(CFLAGS) $(WARN) -MMD -MP -c $< -o $@

build/libpkgimg.a: $(ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

# glibc warns that getaddrinfo & co. in a static binary want its NSS modules
# at run time: since glibc 2.34 "files" and "dns" are built in, which is all
# pkgimg uses (tests/integration/30-static-binary.sh proves it in a chroot).
pkgimg: $(CLI_OBJ) build/libpkgimg.a $(DEP_STAMPS)
	$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $(CLI_OBJ) build/libpkgimg.a $(LIBS) 2>build/link.log \
		|| { cat build/link.log >&2; exit 1; }
	@grep -v "statically linked applications requires at runtime\|: in function\|^collect2" build/link.log >&2 || true

build/tests/%: tests/unit/%.c build/libpkgimg.a $(DEP_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEP_CFLAGS) $(CFLAGS) $(WARN) -o $@ $< build/libpkgimg.a $(LIBS)

unit: $(UNIT_BIN)

build/asan/obj/%.o: %.c | build/.build-deps $(DEP_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEP_CFLAGS) $(ASAN_CFLAGS) $(WARN) -MMD -MP -c $< -o $@

build/asan/libpkgimg.a: $(ASAN_ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/asan/pkgimg: $(ASAN_CLI_OBJ) build/asan/libpkgimg.a $(DEP_STAMPS)
	$(CC) $(ASAN_CFLAGS) -o $@ $(ASAN_CLI_OBJ) build/asan/libpkgimg.a $(LIBS)

build/asan/tests/%: tests/unit/%.c build/asan/libpkgimg.a $(DEP_STAMPS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(DEP_CFLAGS) $(ASAN_CFLAGS) $(WARN) -o $@ $< build/asan/libpkgimg.a $(LIBS)

asan dev: build/asan/pkgimg $(ASAN_UNIT_BIN)

build/.test-deps: deps/ensure-packages.sh Makefile
	@mkdir -p build
	deps/ensure-packages.sh $(TEST_PKGS)
	command -v node >/dev/null && command -v npm >/dev/null || deps/ensure-packages.sh $(NODE_PKGS)
	@touch $@

# libFuzzer targets (tests/fuzz/fuzz_*.c: the lockfile, spec, requirement
# file, PEP 508, MatchSpec, METADATA and RECORD readers), the engine built
# with clang and the sanitizers in build/fuzz/.  `make fuzz` runs each for
# FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/NAME/; what it finds
# goes to build/fuzz/corpus/NAME/, a crash to build/fuzz/crash-NAME-*);
# `make check` runs each for a few seconds (tests/integration/90-fuzz.sh).
FUZZ_CC      := clang
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
FUZZ_SRC        := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN        := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# only what the readers use (the rest of the engine is not linked in anyway):
# a target that needs another file fails to link until it is listed here
FUZZ_ENGINE_SRC := $(sort $(wildcard core/*.c pyspec/*.c) solver/matchspec.c installers/wheel.c \
	installers/extract.c cache/view.c)
FUZZ_ENGINE_OBJ := $(FUZZ_ENGINE_SRC:%.c=build/fuzz/obj/%.o)

build/fuzz/obj/%.o: %.c | build/.build-deps build/.test-deps $(DEP_STAMPS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(DEP_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link $(WARN) \
		-MMD -MP -c $< -o $@

build/fuzz/libpkgimg.a: $(FUZZ_ENGINE_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libpkgimg.a $(DEP_STAMPS)
	$(FUZZ_CC) $(CPPFLAGS) $(DEP_CFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(WARN) -o $@ $< \
		build/fuzz/libpkgimg.a $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@for f in $(FUZZ_BIN); do n=$${f#build/fuzz/fuzz_}; mkdir -p build/fuzz/corpus/$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS) s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 -artifact_prefix=build/fuzz/crash-$$n- \
			build/fuzz/corpus/$$n tests/fuzz/corpus/$$n </dev/null 2>&1 | \
			grep -E "^stat::number_of_executed_units|^==.*ERROR|^SUMMARY|invariant" || true; \
		ls build/fuzz/crash-$$n-* 2>/dev/null && exit 1; \
	done; true

check: pkgimg unit asan fuzz-build build/.test-deps
	tests/run.sh

demo: pkgimg
	./pkgimg install --apt python3 --tag demo-python
	./pkgimg run demo-python -- python3 -c 'import sys; print("hello from python", sys.version.split()[0], "inside pkgimg image demo-python")'

clean:
	rm -rf build/obj build/tests build/asan build/fuzz build/libpkgimg.a build/link.log pkgimg

distclean:
	rm -rf build pkgimg

-include $(ENGINE_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(ASAN_ENGINE_OBJ:.o=.d) $(ASAN_CLI_OBJ:.o=.d) \
	$(FUZZ_ENGINE_OBJ:.o=.d)
