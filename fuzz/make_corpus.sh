#!/bin/sh
# Seed corpus for the fuzzers: every .pyc and Jython $py.class under fixtures/ copied into DIR
# (default fuzz/corpus, which git ignores: generated corpora are not committed).  Every harness
# reads a seed as a whole file, so the same seeds serve fuzz_marshal, fuzz_header and fuzz_jclass.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir=${1:-$here/corpus}
mkdir -p "$dir"
n=0
for f in $(cd "$here/../fixtures" && find . \( -name '*.pyc' -o -name '*$py.class' \) -type f | sort); do
	cp "$here/../fixtures/$f" "$dir/$(printf '%s' "${f#./}" | tr '/' '_')"
	n=$((n + 1))
done
echo "$n seeds in $dir"
