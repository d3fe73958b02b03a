#!/usr/bin/env python3
"""pycinspect reads without changing access times (O_NOATIME), and still reads when not allowed to.

Reading a file or listing a directory updates its atime (under relatime: when the atime is older
than the mtime), which writes inodes and, for a forensic tool, changes the evidence. As the
owner (or root), scan, dump and clean --dry-run must leave every atime as it was; as another
user, where the kernel refuses O_NOATIME (EPERM), they must give the same answers as the owner.

A control read first shows that this filesystem does update atimes on a plain read; if it does
not (a noatime mount), the test fails rather than pass without having checked anything.
"""
import os
import shutil
import subprocess

import clitest

OLD = 1_000_000_000 * 10**9       # 2001: older than any mtime below, so relatime would update


def tree(root):
    """A package with a timestamp cache, a checked-hash cache (its source is read under
    --check-source=always) and a legacy cache; returns every path in it, directories included."""
    clitest.module(root, "pkg/mod.py")
    src = os.path.join(root, "pkg", "hashed.py")
    clitest.write_file(src, b"y = 2\n")
    st = os.stat(src)
    clitest.write_file(os.path.join(root, "pkg", "__pycache__", "hashed.cpython-312.pyc"),
                       clitest.header_312(st.st_mtime_ns // 10**9, st.st_size, flags=3) +
                       clitest.CODE_BODY)
    clitest.write_file(os.path.join(root, "pkg", "legacy.pyc"),
                       clitest.header_312(0, 0) + clitest.CODE_BODY)
    paths = []
    for d, dirs, files in os.walk(root):
        paths.append(d)
        paths.extend(os.path.join(d, f) for f in files)
    return sorted(paths)


def age(paths):
    """Set every atime to OLD (after the writes above), keeping mtimes."""
    for p in sorted(paths, key=len, reverse=True):
        st = os.lstat(p)
        os.utime(p, ns=(OLD, st.st_mtime_ns), follow_symlinks=False)


def atimes(paths):
    return {p: os.lstat(p).st_atime_ns for p in paths}


class Atime(clitest.TempDirCase):
    def control(self):
        """This filesystem updates an old atime on a plain read."""
        p = os.path.join(self.tmp, "control")
        clitest.write_file(p, b"z")
        age([p])
        with open(p, "rb") as f:
            f.read()
        if os.lstat(p).st_atime_ns == OLD:
            self.fail("a plain read did not update the atime here (noatime mount?): "
                      "nothing can be checked")

    def test_scan_dump_clean_leave_atimes(self):
        self.control()
        root = os.path.join(self.tmp, "t")
        paths = tree(root)
        commands = [
            ["scan", "--all", "--check-source=always", root],
            ["scan", "--jobs", "1", "--check-source=always", root],
            ["dump", "--consts", "--check-source=always", root],
            ["clean", "--all", "--sourceless", "--dry-run", root],
        ]
        for args in commands:
            with self.subTest(args=args[:2]):
                age(paths)
                before = atimes(paths)
                p = clitest.run(args)
                self.assertIn(p.returncode, (0, 1), p.stderr)
                self.assertTrue(p.stdout)
                changed = [q for q, t in atimes(paths).items() if t != before[q]]
                self.assertEqual(changed, [])

    def test_not_the_owner(self):
        # root owns the tree; nobody may read it but not open it with O_NOATIME
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.fail("needs root and setpriv (util-linux) to run as another user")
        os.chmod(self.tmp, 0o755)
        root = os.path.join(self.tmp, "t")
        paths = tree(root)
        # explicit targets: nobody cannot see root's PATH interpreters (~/.pyenv)
        for args in (["scan", "--json", "--all", "--target=3.12", "--check-source=always", root],
                     ["dump", "--target=3.12", "--check-source=always", root]):
            with self.subTest(args=args[:1]):
                as_root = clitest.run(args)
                as_nobody = clitest.run_as_nobody(args)
                self.assertEqual(as_nobody.stderr, b"")
                self.assertEqual(as_nobody.returncode, as_root.returncode)
                self.assertTrue(as_root.stdout)
                self.assertEqual(as_nobody.stdout, as_root.stdout)
        # and a plain reader as nobody does change atimes, so O_NOATIME was really refused
        age(paths)
        subprocess.run(clitest.NOBODY + ["cat", os.path.join(root, "pkg", "mod.py")],
                       stdout=subprocess.DEVNULL, check=True)
        self.assertNotEqual(os.lstat(os.path.join(root, "pkg", "mod.py")).st_atime_ns, OLD)


if __name__ == "__main__":
    clitest.main()
