# Thin wrapper around CMake. Every target that builds installs missing Debian packages first.
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD_DIR ?= build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# Tests run two per core: most integration tests spend their time waiting on the servers they
# start (a 30 s outage, a rotation), so with one per core the cores sat half idle (172 s against
# 119 s for the whole suite on 2 cores).
TEST_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
CMAKE_ARGS ?=

.PHONY: all deps build test install clean asan tsan bench demo soak fuzz fuzz-smoke flaky-check

all: build

deps:
	@scripts/install-deps.sh

# Ninja, when the build directory is new: unlike make, it compiles the tests while the library
# still builds.
generator = $(if $(wildcard $(1)/CMakeCache.txt),,$(if $(shell command -v ninja),-G Ninja))

build: deps
	@cmake -S . -B $(BUILD_DIR) $(call generator,$(BUILD_DIR)) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DBUILD_TESTING=ON -DMESH_FUZZ=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Every ctest test of the Release build: unit, integration, interop, reliability and lint (the
# layer check and meshproxy's libraries). The fuzz smoke run is part of make asan.
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(TEST_JOBS) --timeout 300

# The fuzz smoke run on its own, in build-fuzz.
fuzz-smoke: deps
	@JOBS=$(JOBS) scripts/fuzz.sh --smoke build-fuzz

install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# CI's second pass (.ci/run, after make test): the library, the tools and the tests built with
# AddressSanitizer and UBSan (Debug) into build-asan; the unit tests in one process (one process
# per test costs most of a second each under ASan: 1,300 of them took longer than all the
# rest), then the reliability suite one test per core (its tests load a sidecar or meshd and
# measure how fast they recover, which a sanitized build on a shared core would fail), then the
# integration suite and the fuzz smoke run (label fuzz: fuzz/
# built with clang, libFuzzer, ASan and UBSan; each target on its seed corpus plus 2 s of
# mutation). The binaries the tests start are the sanitized ones, so a leak or a bad access in
# meshd or meshproxy fails the test that started it.
SANITIZER_ENV = ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
asan: deps
	@cmake -S . -B build-asan $(call generator,build-asan) -DCMAKE_BUILD_TYPE=Debug -DMESH_SANITIZE=address,undefined -DBUILD_TESTING=ON -DMESH_FUZZ=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan/tests/unit && $(SANITIZER_ENV) ./mesh_unit_tests --gtest_brief=1
	@cd build-asan && $(SANITIZER_ENV) ctest --output-on-failure -j $(JOBS) --timeout 600 -L reliability
	@cd build-asan && $(SANITIZER_ENV) ctest --output-on-failure -j $(TEST_JOBS) --timeout 600 -L 'integration|fuzz'

# ThreadSanitizer on the suites that run threads (everything but the interop peers).
tsan: deps
	@cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESH_SANITIZE=thread >/dev/null
	@cmake --build build-tsan -j $(JOBS)
	@cd build-tsan && TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 900 -L 'unit|integration|reliability'

bench: build
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target bench_tools
	@bench/run.sh $(BUILD_DIR)

# A first run builds only what the demo runs (the tools and the demo service, no tests, no fuzz
# targets) and installs only the packages those need.
DEMO_TARGETS = meshd meshproxy meshlog meshtrace meshstat meshalert mesh_demo_service
demo:
	@scripts/install-deps.sh --demo
	@cmake -S . -B $(BUILD_DIR) $(call generator,$(BUILD_DIR)) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) -DBUILD_TESTING=OFF -DMESH_FUZZ=OFF $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target $(DEMO_TARGETS)
	@scripts/demo.sh $(BUILD_DIR)

# A long run (SOAK_SECONDS, default 600) at half capacity, failing on leaks; not part of test.
soak: build
	@scripts/soak.sh $(BUILD_DIR)

# The integration, reliability and interop suites FLAKY_RUNS times (default 10) under a CPU load
# on every core; prints each test's failure count and fails on any (docs/reliability.md).
flaky-check: build
	@scripts/flaky-check.sh $(BUILD_DIR)

# Each libFuzzer target for FUZZ_SECONDS (default 60), built with clang into build-fuzz.
fuzz: deps
	@JOBS=$(JOBS) scripts/fuzz.sh build-fuzz

clean:
	@rm -rf $(BUILD_DIR) build-asan build-tsan build-fuzz
