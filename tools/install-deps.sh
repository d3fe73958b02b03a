#!/bin/sh
# Install what pycinspect needs to build and test on Debian/Ubuntu, skipping what is there.
# Run as root (or through sudo).  Safe to run again.
set -eu
# libarchive-dev: archives and images read in place (src/archive.c).  clang, clang-tidy,
# clang-format, cppcheck: tools/lint.sh and tools/fuzz.sh.  strace: test_io asks
# it whether io_uring ran; e2fsprogs: chattr for the dry-run tests; python3-virtualenv: test_venv
# makes virtualenvs (their pyvenv.cfg differs from venv's), 2.7 ones too, without pip.
# libgit2-dev: `pycinspect git` (the command line only; -DPYCI_GIT=OFF builds without it); git
# and pre-commit: its tests, where git itself and the real pre-commit are the oracles.
# libclang-rt-dev holds libFuzzer
# and clang's sanitizer runtimes: clang only recommends it, and recommends are not installed here.
# jython (and the Java runtime it depends on): tests/conformance/jython.py and
# fixtures/jython/generate.py.  build-essential, dpkg-dev, debhelper, lintian, man-db: the
# Debian packages (debian/), built, checked, installed and their man page found by
# tools/test-package.sh (dpkg-buildpackage checks that build-essential is installed).
# bash-completion, zsh, fish: tests/cli/test_completion.py runs the generated completions in
# each real shell (bash-completion's pkg-config file also says where `cmake --install` puts the
# bash one).
pkgs="gcc make cmake pkg-config libssl-dev libxxhash-dev liburing-dev libgit2-dev libarchive-dev libcmocka-dev python3
xxhash pypy3 clang libclang-rt-dev clang-tidy clang-format cppcheck strace e2fsprogs git pre-commit
jython python3-virtualenv build-essential dpkg-dev debhelper lintian man-db bash-completion zsh fish"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing="$missing $p"
done
# nodejs, npm: tools/install-pyodide.sh and the Pyodide interpreters of the conformance tests.
# By command, not by package: a Node.js from elsewhere (NodeSource's bundles npm and conflicts
# with Debian's npm) is kept.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
