#!/bin/sh
# Static analysis of src/ with the checked-in configuration: clang-tidy (.clang-tidy, every
# warning an error) and cppcheck (the flags below; tools/cppcheck.supp for suppressions); and
# the house style of every C file (.clang-format, clang-format --dry-run --Werror).  Both
# read the compile commands CMake exports for a clang configuration in build-lint/ (configured
# only, nothing is compiled).  Runs both, prints every finding, exits 1 if there was any.
# Needs clang, clang-tidy and cppcheck (tools/install-deps.sh).
set -eu
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
dir=build-lint

cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_EXPORT_COMPILE_COMMANDS=ON \
	-DPYCI_TESTS=OFF -DPYCI_FUZZ=OFF -DPYCI_SANITIZE=OFF >/dev/null

# clang-tidy, one process per file, each writing its own log so that parallel output does not
# interleave.  Headers under include/ and src/ are checked through the files that include them.
logs="$dir/clang-tidy"
rm -rf "$logs"
mkdir -p "$logs"
tidy=0
find src -name '*.c' | sort | xargs -P "$jobs" -I{} sh -c \
	'clang-tidy -p "$1" --quiet "$2" >"$3/$(echo "$2" | tr / _).log" 2>&1' \
	sh "$dir" {} "$logs" || tidy=1
for log in "$logs"/*.log; do
	# "N warnings generated." counts the diagnostics that were filtered out (system headers)
	grep -v '^[0-9]* warnings\{0,1\} generated\.$' "$log" || true
done
if [ "$tidy" = 0 ]; then
	echo "clang-tidy: no findings"
else
	echo "clang-tidy: findings above" >&2
fi

cppc=0
cppcheck --project="$dir/compile_commands.json" --std=c11 --library=posix \
	--enable=warning,style,performance,portability --inconclusive \
	--inline-suppr --suppressions-list=tools/cppcheck.supp \
	--error-exitcode=1 --quiet -j "$jobs" \
	--template='{file}:{line}:{column}: {severity}: {message} [{id}]' || cppc=1
if [ "$cppc" = 0 ]; then
	echo "cppcheck: no findings"
else
	echo "cppcheck: findings above" >&2
fi

# the house style (.clang-format): every C file as clang-format would write it
fmt=0
git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 'tests/unit/*.c' 'tests/unit/*.h' \
	'tests/fault/*.c' 'fuzz/*.c' 'examples/*.c' | grep -v 'magic_table\.inc$' |
	xargs clang-format --dry-run --Werror || fmt=1
if [ "$fmt" = 0 ]; then
	echo "clang-format: no findings"
else
	echo "clang-format: findings above (clang-format -i FILE writes the house style)" >&2
fi

[ "$tidy" = 0 ] && [ "$cppc" = 0 ] && [ "$fmt" = 0 ]
