#!/bin/sh
# Build the libFuzzer harnesses in fuzz/ (clang, -DPYCI_FUZZ=ON: -fsanitize=fuzzer with ASan and
# UBSan, every UBSan check fatal), seed them with the caches in fixtures/ (fuzz/make_corpus.sh),
# and run each for PYCI_FUZZ_SECONDS (default 60).  Exits non-zero on any crash, sanitizer
# report, leak, timeout or out-of-memory; the input that did it is kept in
# build-fuzz/artifacts/ and can be replayed with `build-fuzz/fuzz/HARNESS FILE`.
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
secs=${PYCI_FUZZ_SECONDS:-60}
dir=build-fuzz

cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DPYCI_FUZZ=ON -DPYCI_TESTS=OFF \
	-DPYCI_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j"$jobs" --target fuzz_marshal fuzz_header fuzz_jclass fuzz_mtree fuzz_archive

fuzz/make_corpus.sh "$dir/corpus" "$dir/corpus-archive"
mkdir -p "$dir/artifacts"
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
for h in fuzz_marshal fuzz_header fuzz_jclass fuzz_mtree fuzz_archive; do
	seeds="$dir/corpus"
	[ "$h" = fuzz_archive ] && seeds="$dir/corpus-archive"
	# A fresh working corpus each run (new inputs go there; the seeds are only read), so that
	# the run takes the same time on a fresh machine as on a developer's.
	work="$dir/work/$h"
	rm -rf "$work"
	mkdir -p "$work"
	echo "fuzz: $h for ${secs}s"
	# -timeout: one input running that long is a hang, and a failure (libFuzzer's default is
	# 20 minutes).  The log keeps libFuzzer's progress lines out of the CI output unless it fails.
	if ! "$dir/fuzz/$h" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$dir/artifacts/$h-" \
		"$work" "$seeds" >"$dir/$h.log" 2>&1; then
		cat "$dir/$h.log" >&2
		echo "fuzz: $h FAILED; the input is in $dir/artifacts/" >&2
		exit 1
	fi
	grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|cov: .* corp: ' \
		"$dir/$h.log" | tail -n 4
done
echo "fuzz: no crash, no sanitizer report"
