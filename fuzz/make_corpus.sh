#!/bin/sh
# Seed corpus for the fuzzers: every .pyc and Jython $py.class under fixtures/ copied into DIR
# (default fuzz/corpus, which git ignores: generated corpora are not committed).  Every harness
# reads a seed as a whole file, so the same seeds serve fuzz_marshal, fuzz_header and fuzz_jclass.
# With ARCHIVE_DIR, small archives of every kind holding those caches go there too, for
# fuzz_archive (fuzz/archive_seeds.py).
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
if [ $# -ge 2 ]; then
	python3 "$here/archive_seeds.py" "$here/../fixtures" "$2"
fi
