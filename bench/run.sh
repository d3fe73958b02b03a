#!/bin/sh
# Build pycinspect (Release) and run the benchmark:
#   bench/run.sh [--dir DIR] [--parts LIST] [--runs N] [--sizes LIST] [STDLIB_CORPUS]
# Environment: BENCH_DIR (where corpora are built and reused, default /var/tmp/pycinspect-bench),
# BENCH_PARTS (scan,progress,deep,prefix,filesfrom,cold,clean,hash,synthetic,memory,git,image by default;
# verify and dumpmem when named),
# BENCH_RUNS (7), BENCH_VERIFY_RUNS (1),
# BENCH_SIZES (10k,100k,1M), BENCH_SEED (1), BENCH_CLEAN_RUNS, BENCH_MEMORY_RUNS,
# BENCH_INSTALL=0 (install nothing).
# See bench/bench.py for what each part measures.
set -eu
cd "$(dirname "$0")/.."

# The tools compared against: fdfind (fd-find), /usr/bin/time (time), xxhsum (xxhash), bsdtar
# (libarchive-tools: libarchive's own listing, the floor of the image part).
# Installed from Debian when missing and running as root; otherwise that comparison is skipped.
missing=""
command -v fdfind >/dev/null 2>&1 || missing="$missing fd-find"
[ -x /usr/bin/time ] || missing="$missing time"
command -v xxhsum >/dev/null 2>&1 || missing="$missing xxhash"
command -v bsdtar >/dev/null 2>&1 || missing="$missing libarchive-tools"
if [ -n "$missing" ] && [ "${BENCH_INSTALL:-1}" != 0 ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench: installing$missing"
		export DEBIAN_FRONTEND=noninteractive
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
			{ apt-get update -qq >/dev/null 2>&1 &&
				apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1; } ||
			echo "bench: could not install$missing; the comparisons that need them are skipped"
	else
		echo "bench: not root (or no apt-get): not installing$missing;" \
			"the comparisons that need them are skipped"
	fi
fi

cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DPYCI_TESTS=OFF -DPYCI_GIT_PROBE=ON >/dev/null
cmake --build build-bench -j"$(nproc)" >/dev/null
py=python3
[ -x /usr/bin/python3 ] && py=/usr/bin/python3
PYCI_BIN=build-bench/pycinspect exec "$py" bench/bench.py "$@"
