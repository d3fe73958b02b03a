#!/bin/sh
# Seed corpus for the fuzzers: every .pyc under fixtures/ copied into DIR (default fuzz/corpus,
# which git ignores: generated corpora are not committed).  Both harnesses read a seed as a whole
# .pyc, so the same seeds serve fuzz_marshal and fuzz_header.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/corpus}
mkdir -p "$dir"
n=0
for f in $(cd "$here/../fixtures" && find . -name '*.pyc' -type f | sort); do
	cp "$here/../fixtures/$f" "$dir/$(printf '%s' "${f#./}" | tr '/' '_')"
	n=$((n + 1))
done
echo "$n seeds in $dir"
