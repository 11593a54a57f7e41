# Thin wrapper around CMake. Every target that builds installs missing Debian packages first.
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD_DIR ?= build
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_ARGS ?=

.PHONY: all deps build test install clean asan bench demo

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMESH_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) --timeout 600 -L 'unit|integration'

bench: build
	@bench/run.sh $(BUILD_DIR)

demo: build
	@scripts/demo.sh $(BUILD_DIR)

clean:
	@rm -rf $(BUILD_DIR) build-asan
