#!/bin/sh
# Run every check, as CI does (.ci/run).  Exits non-zero on any failure.
#   1. lint: clang-tidy and cppcheck on src/ with the checked-in configuration (tools/lint.sh).
#      A finding does not stop the tests below; it fails the run at the end.
#   2. a warning-free build (-Werror) with the whole CTest suite: unit, cli, fault (LD_PRELOAD
#      fault injection) and conformance against the real interpreters on this machine; then the
#      suite but conformance again with PYCI_IO=plain (the per-cache I/O by plain system calls
#      instead of io_uring: both paths must give the same results).
#      Then the Debian packages (tools/test-package.sh): built with dpkg-buildpackage, checked by
#      lintian, installed with dpkg -i, the installed command compared with that build's, the
#      library's example built through pkg-config against them, and removed again (2 minutes).
#   3. the whole suite again, every label, built with AddressSanitizer + UndefinedBehaviorSanitizer
#      (gcc; LeakSanitizer on).  Every report aborts the process: abort_on_error for both, since
#      without it UBSan exits 1, which is also pycinspect's "findings" status.  The tests check
#      exit statuses, and tests/cli/clitest.py's run() fails on any SIGABRT or sanitizer report
#      even where a test reads only stdout.  (No log_path: the runtime would create its directory
#      inside the chroot of test_clean's sandbox tests.)
#   4. the whole suite again under ThreadSanitizer (clang): directories are walked and judged on
#      worker threads (src/pwalk.c, src/pool.c, src/closer.c); a data race aborts the run.
#   5. the libFuzzer harnesses in fuzz/ (clang, ASan + UBSan), PYCI_FUZZ_SECONDS each (default
#      60), seeded with fixtures/ (tools/fuzz.sh).
# Needs what tools/install-deps.sh installs, and tools/install-pyodide.sh for CPython 3.14 and
# 3.15 in the conformance tests.  About 12 minutes on 2 cores, fuzzing included.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

lint=0
tools/lint.sh || lint=1

cmake -S . -B build -DPYCI_TESTS=ON -DPYCI_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
# the same build forced to plain system calls for the per-cache I/O (src/peek.c): every test
# but the slow conformance runs, which the ring path above and the sanitizer runs cover
PYCI_IO=plain ctest --test-dir build --output-on-failure -j"$jobs" -LE conformance
PYCI_BIN=build/pycinspect tools/test-package.sh

cmake -S . -B build-asan -DPYCI_TESTS=ON -DPYCI_WERROR=ON -DPYCI_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
	ctest --test-dir build-asan --output-on-failure -j"$jobs"

cmake -S . -B build-tsan -DCMAKE_C_COMPILER=clang -DPYCI_TESTS=ON -DPYCI_WERROR=ON -DPYCI_TSAN=ON \
	-DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1:abort_on_error=1 ctest --test-dir build-tsan --output-on-failure -j"$jobs"

tools/fuzz.sh

if [ "$lint" != 0 ]; then
	echo "tools/lint.sh found problems (see its output above)" >&2
	exit 1
fi
