#!/bin/sh
# Build pycinspect (Release) and run the benchmark: bench/run.sh [CORPUS_DIR]
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DPYCI_TESTS=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
PYCI_BIN=build-bench/pycinspect exec python3 bench/bench.py "$@"
