#!/usr/bin/env python3
"""The library as a C program uses it: `cmake --install` into a temporary prefix, then
examples/list_stale.c compiled against the installed headers and library through pkg-config
alone (-Werror), and run: it must say what `pycinspect scan --json` says, cache for cache.

Environment (set by CTest): PYCI_BIN, PYCI_BUILD_DIR (the build tree to install), PYCI_SOURCE
(the source tree), PYCI_CC (the compiler of that build), PYCI_LINK_FLAGS (its sanitizer link
flags, if any), PYCI_FIXTURES.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import clitest  # noqa: E402
from clitest import BIN, FIXTURES, module, run  # noqa: E402

BUILD = os.environ.get("PYCI_BUILD_DIR", "")
SOURCE = os.environ.get("PYCI_SOURCE", "")
CC = os.environ.get("PYCI_CC", "cc")
LINK_FLAGS = os.environ.get("PYCI_LINK_FLAGS", "").split()


class Installed(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        if not BUILD or not SOURCE:
            self.fail("PYCI_BUILD_DIR and PYCI_SOURCE must be set (CTest sets them)")
        self.prefix = os.path.join(self.tmp, "prefix")
        p = subprocess.run(["cmake", "--install", BUILD, "--prefix", self.prefix],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        pcdirs = [os.path.join(d, "pkgconfig") for d, _, _ in os.walk(self.prefix)
                  if os.path.isfile(os.path.join(d, "pkgconfig", "pycinspect.pc"))]
        self.assertEqual(len(pcdirs), 1, "one pycinspect.pc under the prefix")
        env = dict(os.environ, PKG_CONFIG_PATH=pcdirs[0])
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "pycinspect"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(flags.returncode, 0, flags.stderr.decode())
        self.exe = os.path.join(self.tmp, "list_stale")
        cmd = ([CC, "-std=c11", "-Wall", "-Wextra", "-Werror",
                os.path.join(SOURCE, "examples", "list_stale.c"), "-o", self.exe]
               + flags.stdout.decode().split() + LINK_FLAGS)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, "%s\n%s" % (" ".join(cmd), p.stderr.decode()))

    def installed(self, *rel):
        return os.path.join(self.prefix, *rel)

    def test_what_is_installed(self):
        self.assertTrue(os.access(self.installed("bin", "pycinspect"), os.X_OK))
        self.assertTrue(os.path.isfile(self.installed("share", "man", "man1", "pycinspect.1")))
        headers = sorted(os.listdir(self.installed("include", "pycinspect")))
        self.assertEqual(headers, sorted(os.listdir(os.path.join(SOURCE, "include",
                                                                  "pycinspect"))))

    def example(self, args):
        return clitest.not_aborted(subprocess.run([self.exe] + args, stdout=subprocess.PIPE,
                                                  stderr=subprocess.PIPE, timeout=120,
                                                  env=clitest.env_c()), args)

    def test_the_example_agrees_with_scan(self):
        tree = os.path.join(self.tmp, "tree")
        shutil.copytree(os.path.join(FIXTURES, "tree"), tree, symlinks=True)
        p = self.example(["--target", "3.12", tree])
        self.assertEqual(p.returncode, 1, p.stderr)
        scan = run(["scan", "--json", "--target", "3.12", tree])
        self.assertEqual(scan.returncode, 0, scan.stderr)
        recs = [json.loads(l) for l in scan.stdout.decode().splitlines()]
        pycs = [r for r in recs if r["type"] == "pyc"]
        want = []
        for r in pycs:
            if r["status"] == "fresh":
                continue
            want.append("%-10s %-8s %s%s" % (r["status"], r["version"] or "-", r["path"],
                                              "".join(" [%s]" % x for x in r["reasons"])))
        self.assertGreater(len(want), 5)
        self.assertEqual(p.stdout.decode().splitlines(), want)
        fresh = sum(1 for r in pycs if r["status"] == "fresh")
        self.assertEqual(p.stderr.decode(), "%d fresh, %d not\n" % (fresh, len(want)))

    def test_exit_status(self):
        ok = os.path.join(self.tmp, "ok")
        module(ok, "a.py")
        module(ok, "pkg/b.py")
        p = self.example(["--target", "3.12", ok])
        self.assertEqual((p.returncode, p.stdout), (0, b""), p.stderr)
        self.assertEqual(p.stderr, b"2 fresh, 0 not\n")
        p = self.example(["--target", "3.12", os.path.join(self.tmp, "missing")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot scan", p.stderr)


if __name__ == "__main__":
    clitest.main()
