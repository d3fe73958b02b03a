#!/bin/sh
# Install the Pyodide releases listed in tools/pyodide-versions (CPython compiled to WebAssembly,
# run by Node.js through tools/pyodide-python), for the conformance tests: they are the CPython
# versions no Debian or pyenv package on the machine provides.  Each goes under
#   ${PYCI_PYODIDE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/pycinspect/pyodide}/VERSION
# with `npm install`, outside the repository.  Run as the user who runs the tests, after
# tools/install-deps.sh (which installs nodejs and npm).  Safe to run again: an installed version
# is kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${PYCI_PYODIDE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/pycinspect/pyodide}
for tool in node npm; do
	if ! command -v "$tool" >/dev/null; then
		echo "install-pyodide: '$tool' not found (tools/install-deps.sh installs it)" >&2
		exit 2
	fi
done
mkdir -p "$root"
grep -v '^#' "$here/pyodide-versions" | while read -r version _; do
	[ -n "$version" ] || continue
	dir=$root/$version
	installed=$dir/node_modules/pyodide/package.json
	if [ -f "$installed" ] && grep -q "\"version\": \"$version\"" "$installed"; then
		echo "pyodide $version: installed in $dir"
		continue
	fi
	echo "pyodide $version: installing in $dir"
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	# a package.json of its own, or npm would install into the nearest parent that has one
	echo '{"private": true}' >"$dir.tmp/package.json"
	# --ignore-scripts: nothing of the package runs at install time
	(cd "$dir.tmp" && npm install --save-exact --no-audit --no-fund --ignore-scripts \
		--omit=dev --loglevel=error "pyodide@$version" >/dev/null)
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
done
