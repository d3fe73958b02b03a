#!/bin/sh
# The Debian packages, as a newcomer on a fresh Debian 12 machine would build and use them
# (debian/, README's "Debian package"), and as CI checks them (tools/test.sh runs this):
#   1. dpkg-buildpackage -us -uc -b in a copy of the checkout (its tracked and untracked but not
#      ignored files), so the checkout stays clean; the packages land in a temporary directory.
#   2. lintian on the .changes (the .debs, the .buildinfo): any error or warning fails.
#   3. dpkg -i of both packages into this machine; then the installed /usr/bin/pycinspect must
#      say what the build tree's binary (PYCI_BIN, default build/pycinspect) says, byte for byte
#      and with the same exit status, on fixtures/ (scan, dump, magic, clean --dry-run, git, every
#      --help), and its --version must be the package's version (debian/changelog's); `man -w
#      pycinspect` must find the installed page; Debian's own py3clean (and pyclean, where
#      installed) must still belong to the package they came with.
#   4. examples/list_stale.c (docs/library.md) built through pkg-config against /usr alone
#      (-Werror), run on fixtures/tree: it must list exactly the caches the installed command
#      calls not fresh.
#   5. dpkg --purge of both packages, also when a step above failed: the machine as it was.
# Needs root (or sudo) for dpkg, and what tools/install-deps.sh installs (dpkg-dev, debhelper,
# lintian, man-db).  Refuses to run when either package is already installed, since it would
# remove it.  PYCI_PACKAGE_OUT=DIR keeps the built packages (.deb, .changes, .buildinfo) in DIR.
# About 2 minutes on 2 cores, most of it the package build.
set -eu
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${PYCI_BIN:-build/pycinspect}
case $bin in /*) ;; *) bin=$root/$bin ;; esac
jobs=$(nproc 2>/dev/null || echo 2)
pkgs="pycinspect libpycinspect-dev"

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}
fail() {
	echo "test-package: $*" >&2
	exit 1
}

[ -x "$bin" ] || fail "no build-tree binary '$bin' to compare with (set PYCI_BIN, or build first)"
for p in $pkgs; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		fail "$p is installed already: this test installs and then removes it"
	fi
done
py3clean_owner=$(dpkg -S "$(command -v py3clean)")
pyclean_owner=$(if command -v pyclean >/dev/null; then dpkg -S "$(command -v pyclean)"; fi)

tmp=$(mktemp -d)
installed=0
cleanup() {
	if [ "$installed" = 1 ]; then
		# shellcheck disable=SC2086
		as_root dpkg --purge $pkgs >"$tmp/purge.log" 2>&1 || {
			cat "$tmp/purge.log" >&2
			echo "test-package: dpkg --purge $pkgs failed" >&2
		}
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. build, in a copy named as dpkg-source would name it; the packages go to its parent, $tmp
git rev-parse --git-dir >/dev/null 2>&1 || fail "not a git checkout: the copy to build is its files"
version=$(dpkg-parsechangelog -l debian/changelog -S Version)
src=$tmp/pycinspect-$version
mkdir "$src"
git ls-files -z -c -o --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -C "$src" -xf -
start=$(date +%s)
if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=$jobs" dpkg-buildpackage -us -uc -b) \
	>"$tmp/build.log" 2>&1; then
	tail -n 60 "$tmp/build.log" >&2
	fail "dpkg-buildpackage failed (the last lines of its log above)"
fi
echo "test-package: built in $(($(date +%s) - start)) s: $(cd "$tmp" && echo ./*.deb)"
changes=$(ls "$tmp"/*.changes)
if [ -n "${PYCI_PACKAGE_OUT:-}" ]; then
	mkdir -p "$PYCI_PACKAGE_OUT"
	cp "$tmp"/*.deb "$tmp"/*.changes "$tmp"/*.buildinfo "$PYCI_PACKAGE_OUT"/
	echo "test-package: the packages are kept in $PYCI_PACKAGE_OUT"
fi

# 2. lintian: every tag it shows, and a failure on any error or warning
lintian --fail-on error,warning --display-info "$changes" >"$tmp/lintian.log" 2>&1 || {
	cat "$tmp/lintian.log" >&2
	fail "lintian found errors or warnings (above)"
}
cat "$tmp/lintian.log"
echo "test-package: lintian: no error, no warning"

# 3. install, and the installed command against the build tree's
installed=1
as_root dpkg -i "$tmp"/pycinspect_*.deb "$tmp"/libpycinspect-dev_*.deb >"$tmp/install.log" 2>&1 || {
	cat "$tmp/install.log" >&2
	fail "dpkg -i failed"
}
exe=/usr/bin/pycinspect
[ "$(command -v pycinspect)" = "$exe" ] || fail "pycinspect on PATH is '$(command -v pycinspect)', not $exe"
[ "$(dpkg -S $exe)" = "pycinspect: $exe" ] || fail "$exe does not belong to package pycinspect"

same() { # same ARGS...: the installed command and the build tree's agree on stdout, stderr, status
	rc1=0
	rc2=0
	"$exe" "$@" >"$tmp/out1" 2>"$tmp/err1" || rc1=$?
	"$bin" "$@" >"$tmp/out2" 2>"$tmp/err2" || rc2=$?
	sed "s|^$bin|$exe|" "$tmp/err2" >"$tmp/err2s"
	if [ "$rc1" != "$rc2" ] || ! cmp -s "$tmp/out1" "$tmp/out2" || ! cmp -s "$tmp/err1" "$tmp/err2s"; then
		diff -u "$tmp/out2" "$tmp/out1" >&2 || true
		diff -u "$tmp/err2s" "$tmp/err1" >&2 || true
		fail "pycinspect $*: the installed command (status $rc1) differs from $bin (status $rc2)"
	fi
	[ -s "$tmp/out1" ] || fail "pycinspect $*: no output"
	echo "test-package: same output and status ($rc1): pycinspect $*"
}
same scan --all --json fixtures/
same scan --all -t 3.12 fixtures/tree
same dump --consts fixtures/tree
same magic --json
same clean --all --dry-run fixtures/tree
same git # the caches this checkout tracks (fixtures/): libgit2, linked into the command only
for cmd in scan clean dump magic verify git; do
	same "$cmd" --help
done

ver=$("$exe" --version) || fail "pycinspect --version failed"
case $ver in
*" $version" | *" $version "*) ;;
*) fail "pycinspect --version says '$ver', the package is $version (debian/changelog)" ;;
esac
echo "test-package: $ver, package $version"

page=$(man -w pycinspect) || fail "man -w pycinspect found no page"
[ "$(dpkg -S "$page")" = "pycinspect: $page" ] || fail "man -w pycinspect gives $page, not the package's"
echo "test-package: man -w pycinspect: $page"

[ "$(dpkg -S "$(command -v py3clean)")" = "$py3clean_owner" ] ||
	fail "py3clean is no longer $py3clean_owner"
if [ -n "$pyclean_owner" ]; then
	[ "$(dpkg -S "$(command -v pyclean)")" = "$pyclean_owner" ] ||
		fail "pyclean is no longer $pyclean_owner"
fi
echo "test-package: Debian's $py3clean_owner untouched"

# 4. the example of docs/library.md against the installed -dev package, through pkg-config alone
flags=$(env -u PKG_CONFIG_PATH pkg-config --cflags --libs pycinspect) || fail "pkg-config pycinspect failed"
incdir=$(env -u PKG_CONFIG_PATH pkg-config --variable=includedir pycinspect)
[ "$incdir" = /usr/include ] || fail "pkg-config: pycinspect's includedir is '$incdir', not /usr/include"
# (Multi-Arch: same, so dpkg -S names it libpycinspect-dev:ARCH)
[ "$(dpkg -S /usr/include/pycinspect/scan.h | cut -d: -f1)" = libpycinspect-dev ] ||
	fail "/usr/include/pycinspect/scan.h is not libpycinspect-dev's"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Wextra -Werror examples/list_stale.c $flags -o "$tmp/list_stale" ||
	fail "examples/list_stale.c does not build with: $flags"
tree=$tmp/tree
cp -a fixtures/tree "$tree"
rc=0
"$tmp/list_stale" --target 3.12 "$tree" >"$tmp/example.out" 2>"$tmp/example.err" || rc=$?
[ "$rc" = 1 ] || fail "list_stale: status $rc, not 1 (some cache not fresh): $(cat "$tmp/example.err")"
"$exe" scan --json --target 3.12 "$tree" >"$tmp/scan.json" || fail "pycinspect scan --json failed"
# what list_stale prints (its printf), from scan's records: every cache not fresh, in walk order
python3 -c '
import json, sys
recs = [json.loads(line) for line in open(sys.argv[1])]
pycs = [r for r in recs if r["type"] == "pyc"]
with open(sys.argv[2], "w") as out:
    for r in pycs:
        if r["status"] != "fresh":
            out.write("%-10s %-8s %s%s\n" % (r["status"], r["version"] or "-", r["path"],
                                           "".join(" [%s]" % x for x in r["reasons"])))
with open(sys.argv[3], "w") as err:
    fresh = sum(1 for r in pycs if r["status"] == "fresh")
    err.write("%d fresh, %d not\n" % (fresh, len(pycs) - fresh))
' "$tmp/scan.json" "$tmp/want.out" "$tmp/want.err"
[ "$(wc -l <"$tmp/want.out")" -gt 5 ] || fail "fewer than 6 caches not fresh in fixtures/tree"
if ! diff -u "$tmp/want.out" "$tmp/example.out" >&2 || ! diff -u "$tmp/want.err" "$tmp/example.err" >&2; then
	fail "list_stale (built against the -dev package) and pycinspect scan disagree (above)"
fi
echo "test-package: examples/list_stale.c built with pkg-config ($flags): $(wc -l <"$tmp/example.out") caches, as scan says"

# 5. remove them (cleanup does it, also on failure), and check that they are gone
# shellcheck disable=SC2086
as_root dpkg --purge $pkgs >"$tmp/purge.log" 2>&1 || {
	cat "$tmp/purge.log" >&2
	fail "dpkg --purge $pkgs failed"
}
installed=0
[ ! -e "$exe" ] || fail "$exe is still there after dpkg --purge"
echo "test-package: removed; total $(($(date +%s) - start)) s"
