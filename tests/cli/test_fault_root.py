"""`--root` on a kernel without openat2 (docs/packaging.md), through the LD_PRELOAD shim of
test_fault_clean.py (tests/fault/inject.c), whose PYCI_NO_OPENAT2 makes every openat2 fail
with ENOSYS, as before Linux 5.6 or under a seccomp filter that does not know it.

The staging root of test_root.py (a package compiled by the real CPython 3.12 and 3.11, a
source linked to /usr/lib/python3.11/os.py, which the host has with other contents, and one
that climbs out of the root with twelve "..") is scanned and cleaned with and without openat2:
the fallback must give the very same bytes (records, summary), the shim must have refused
openat2 (so the fallback ran), and the links must still lead to the root's file.  So must a
--files-from list of installed paths (test_root_filelist.py): a directory link on the way, a
".." above the root, a cache listed by a relative path, a path that does not resolve.
"""
import os
import subprocess

from clitest import BIN, TempDirCase, env_c, main
from test_fault_clean import INJECT, read_counts, sanitizer_runtimes
from test_root import SITE, check_prerequisites, linked_sources, staging_root


class NoOpenat2(TempDirCase):
    def setUp(self):
        super().setUp()
        check_prerequisites(self)
        self.root, self.site = staging_root(self.tmp)
        if not INJECT or not os.path.isfile(INJECT):
            self.fail("PYCI_INJECT is not set to the built shim (got %r)" % INJECT)
        self.runs = 0

    def run_shim(self, args, no_openat2):
        self.runs += 1
        counts = os.path.join(self.tmp, "shim%d.counts" % self.runs)
        env = env_c()
        env["LD_PRELOAD"] = " ".join(sanitizer_runtimes() + [INJECT])
        env["PYCI_COUNT_FILE"] = counts
        if no_openat2:
            env["PYCI_NO_OPENAT2"] = "1"
        p = subprocess.run([BIN] + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=120)
        return p, read_counts(counts)

    def linked(self):
        return linked_sources(self.root, self.site)[0]

    def test_the_fallback_judges_as_openat2_does(self):
        self.linked()
        # a list of installed paths (test_root_filelist.py): links on the way, "..", a miss
        listed = os.path.join(self.tmp, "list")
        with open(listed, "w") as f:
            f.write("/usr/lib/python3/site-packages/pkg/absolute.py\n"
                    "/../usr/lib/python3.12/site-packages/pkg/escape.py\n"
                    "usr/lib/python3/site-packages/pkg/__pycache__/core.cpython-311.pyc\n"
                    "/usr/lib/python3/nowhere/x.py\n")
        os.symlink("/usr/lib/python3.12", os.path.join(self.root, "usr/lib/python3"))
        for args in (["scan", "--json", "--root", self.root],
                     ["scan", "--root", self.root, "/usr/lib/python3.12/site-packages/pkg"],
                     ["clean", "--dry-run", "--stale", "--json", "--root", self.root],
                     ["scan", "--json", "--root", self.root, "--files-from", listed],
                     ["clean", "--dry-run", "--all", "--root", self.root, "--files-from",
                      listed]):
            with_, c1 = self.run_shim(args, False)
            without, c2 = self.run_shim(args, True)
            self.assertEqual(with_.returncode, 2 if "--files-from" in args else 0,
                             with_.stderr)
            self.assertEqual(c1["openat2_refused"], 0)
            self.assertGreater(c2["openat2_refused"], 0)
            self.assertEqual((without.returncode, without.stdout, without.stderr),
                             (with_.returncode, with_.stdout, with_.stderr), args)
        p, _ = self.run_shim(["scan", "-a", "-t", "3.12", "--root", self.root, "--files-from",
                              listed], True)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn(b"cannot judge listed path '/usr/lib/python3/nowhere/x.py'", p.stderr)
        for name in ("absolute", "escape"):
            line = [l for l in p.stdout.decode().split("\n")
                    if "/%s.cpython-312.pyc" % name in l]
            self.assertEqual(len(line), 1, p.stdout)
            self.assertTrue(line[0].startswith("fresh "), line)
        p, _ = self.run_shim(["scan", "-a", "-t", "3.12", "--root", self.root, "/" + SITE], True)
        for name in ("absolute", "escape"):
            line = [l for l in p.stdout.decode().split("\n")
                    if "/%s.cpython-312.pyc" % name in l]
            self.assertEqual(len(line), 1, p.stdout)
            self.assertTrue(line[0].startswith("fresh "), line)

    def test_clean_rechecks_inside_the_root_without_openat2(self):
        inside = self.linked()
        with open(inside, "a") as f:
            f.write("MORE = 2\n")
        p, c = self.run_shim(["clean", "--stale", "-t", "3.12", "--root", self.root], True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(c["openat2_refused"], 0)
        pkg = os.path.join(self.site, "pkg", "__pycache__")
        for name in ("absolute", "escape"):
            self.assertFalse(os.path.lexists(os.path.join(pkg, name + ".cpython-312.pyc")))
        self.assertTrue(os.path.exists(os.path.join(pkg, "util.cpython-312.pyc")))


if __name__ == "__main__":
    main()
