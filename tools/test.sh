#!/bin/sh
# Run every test: a warning-free build (-Werror) with the whole CTest suite (unit, cli,
# conformance against the real interpreters on this machine), then the unit and CLI tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.  Exits non-zero on any failure.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

cmake -S . -B build -DPYCI_TESTS=ON -DPYCI_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DPYCI_TESTS=ON -DPYCI_WERROR=ON -DPYCI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs" -L 'unit|cli'
