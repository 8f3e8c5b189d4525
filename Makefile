# safegrid build. `make` builds the CLI, `make check` runs every test under ASan and UBSan,
# `make bench` runs the benchmarks, `make fuzz` builds the libFuzzer targets (clang),
# `make run` loads the demo. Sources are found by wildcard: a new src/<layer>/*.c joins the
# library (docs/internals/architecture.md names the layers), a new tests/unit/test_*.c,
# bench/bench_*.c or fuzz/fuzz_*.c becomes its own program.

CC      ?= cc
FUZZCC  ?= clang
SETUP   := scripts/setup.sh
STAMP   := build/.setup-done

WARN    := -std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla
ifeq ($(CI),true)
WARN    += -Werror
endif
PKGS    := sqlite3 libmicrohttpd jansson gdal proj libsodium readosm expat
# Dependencies' headers are system headers: their own pedantic warnings are not ours.
DEPCFLAGS := $(patsubst -I%,-isystem %,$(filter-out -I/usr/include,\
             $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(shell geos-config --cflags 2>/dev/null)))
DEPLIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) $(shell geos-config --clibs 2>/dev/null) \
             -lmetis -lcsv -lpthread -lm
# Tests talk to the server with libcurl, a real HTTP client.
TESTLIBS  := $(shell pkg-config --libs libcurl 2>/dev/null)
CPPFLAGS  := -Iinclude -Isrc -D_GNU_SOURCE $(DEPCFLAGS)
CFLAGS    ?= -O2 -g
SANFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined

LIB_SRC   := $(filter-out src/cli/main.c,$(wildcard src/*/*.c))
TEST_SRC  := $(wildcard tests/unit/test_*.c)
BENCH_SRC := $(wildcard bench/bench_*.c)
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
HDRS      := $(wildcard include/safegrid/*.h src/*/*.h tests/unit/*.h tests/fault/*.h)

REL_OBJ   := $(LIB_SRC:src/%.c=build/rel/%.o)
SAN_OBJ   := $(LIB_SRC:src/%.c=build/san/%.o)
FUZZ_OBJ  := $(LIB_SRC:src/%.c=build/fuzz/%.o)
TESTS     := $(TEST_SRC:tests/unit/%.c=build/san/%)
BENCHES   := $(BENCH_SRC:bench/%.c=build/rel/%)
FUZZERS   := $(FUZZ_SRC:fuzz/%.c=build/fuzz/%)

.PHONY: all setup check bench fuzz fuzz-build run format format-check clean tests
ifeq ($(MAKELEVEL),0)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
# The entry points first install what the build needs (scripts/setup.sh, via the stamp),
# then run a fresh make, which reads the dependencies' flags from pkg-config only once the
# packages are there: on a new machine they are not when this Makefile is first parsed.
SUBMAKE = $(MAKE) --no-print-directory
all: setup
	+@$(SUBMAKE) build/rel/safegrid build/web/index.html
# The web UI (docs/ui.md): web/ and its npm files copied into build/web; built before tests.
build/web/index.html: $(shell find web -type f 2>/dev/null) package-lock.json
	@sh web/build.sh
tests: build/web/index.html

$(STAMP): $(SETUP) $(wildcard scripts/deps/*.list) package-lock.json
	@mkdir -p build
	@sh $(SETUP)
	@touch $@
setup: $(STAMP)

build/rel/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@
build/san/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) -c $< -o $@
build/fuzz/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(FUZZCC) $(WARN) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

build/rel/libsafegrid.a: $(REL_OBJ)
	rm -f $@ && ar rcs $@ $^
build/san/libsafegrid.a: $(SAN_OBJ)
	rm -f $@ && ar rcs $@ $^
build/fuzz/libsafegrid.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

build/rel/safegrid: src/cli/main.c build/rel/libsafegrid.a
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $< build/rel/libsafegrid.a $(DEPLIBS) -o $@
build/san/safegrid: src/cli/main.c build/san/libsafegrid.a
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) $< build/san/libsafegrid.a $(DEPLIBS) -o $@
build/san/test_%: tests/unit/test_%.c build/san/libsafegrid.a $(HDRS)
	$(CC) $(WARN) $(CPPFLAGS) $(SANFLAGS) $< build/san/libsafegrid.a $(DEPLIBS) $(TESTLIBS) -lcmocka -o $@
build/rel/bench_%: bench/bench_%.c build/rel/libsafegrid.a $(HDRS)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) $< build/rel/libsafegrid.a $(DEPLIBS) -o $@
build/rel/slowsync.so: bench/slowsync.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared $< -ldl -o $@
# The fault tests (docs/faults.md): the I/O-fault shim, and libcurl for the long crash run.
build/%/failio.so: tests/fault/failio.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared $< -ldl -o $@
build/san/test_iofault: build/rel/failio.so
build/rel/bench_crash: DEPLIBS += $(TESTLIBS)
build/fuzz/fuzz_%: fuzz/fuzz_%.c build/fuzz/libsafegrid.a
	$(FUZZCC) $(CPPFLAGS) -O1 -g -fsanitize=fuzzer,address,undefined $< build/fuzz/libsafegrid.a $(DEPLIBS) -o $@

# Tests run from the repository root; each prints its cmocka summary and scripts/check.sh
# closes with the sum. The CLI tests use the sanitised binary (SG_BIN).
tests: $(TESTS) build/san/safegrid
check: setup
	@sh scripts/check_layers.sh
	+@$(SUBMAKE) tests
	@sh scripts/check.sh $(TESTS)

bench: setup
	@sh $(SETUP) bench
	+@$(SUBMAKE) $(BENCHES) build/rel/safegrid
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

fuzz-build: setup
	+@$(SUBMAKE) $(FUZZERS)

fuzz: fuzz-build
	@for f in $(FUZZERS); do n=$${f#build/fuzz/fuzz_}; mkdir -p fuzz/corpus/$$n; \
	    echo "== $$f"; $$f -max_total_time=$${FUZZ_SECONDS:-20} fuzz/corpus/$$n || exit 1; done

run: all
	@sh scripts/demo.sh

FORMAT_FILES = $(wildcard include/safegrid/*.h src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h tests/fault/*.c tests/fault/*.h bench/*.c bench/*.h fuzz/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

clean:
	rm -rf build/rel build/san build/fuzz
