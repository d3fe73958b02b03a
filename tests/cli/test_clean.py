"""`pycinspect clean` against its contract (docs/clean.md): the selectors, the dry run, emptied
__pycache__ directories, exit codes, and that nothing but the selected caches is ever removed:
not through a symlink, a hard link, a bind mount, an excluded directory, not under '/', not
when output fails.  Every test that removes files checks that exactly the expected ones are gone
and that a canary tree outside the target is byte-for-byte unchanged.  Races are in
test_clean_races.py."""
import ctypes
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import time

from clitest import (BIN, CODE_BODY, MAGIC_312, TempDirCase, env_c, last_actions, main,
                     parse_clean_jsonl, run, run_as_nobody, scan_json, snapshot, snapshot_diff,
                     write_file)

MAGIC_311 = 3495  # CPython 3.11's final magic
T = ["-t", "3.12"]


def header(magic, mtime, size, flags=0):
    return struct.pack("<HBBIII", magic, 0x0D, 0x0A, flags, mtime & 0xFFFFFFFF, size & 0xFFFFFFFF)


def src(root, rel, data=b"x = 1\n"):
    write_file(os.path.join(root, rel), data)


def pyc(root, rel, magic=MAGIC_312, source=None, fresh=True):
    """A cache at root/rel for the source root/source (or none: header fields 0)."""
    mtime = size = 0
    if source:
        st = os.stat(os.path.join(root, source))
        mtime, size = int(st.st_mtime) + (0 if fresh else 10), st.st_size
    write_file(os.path.join(root, rel), header(magic, mtime, size) + CODE_BODY)


# The mixed tree: every cache with the status `scan -t 3.12` gives it.
STATUS = {
    "pkg/__pycache__/fresh.cpython-312.pyc": "fresh",
    "pkg/__pycache__/stale.cpython-312.pyc": "stale",
    "pkg/__pycache__/gone.cpython-312.pyc": "orphaned",
    "pkg/__pycache__/old.cpython-311.pyc": "foreign",
    "pkg/__pycache__/old2.cpython-311.pyc": "stale",      # and "foreign": true
    "pkg/__pycache__/bad.cpython-312.pyc": "invalid",
    "pkg/__pycache__/empty.cpython-312.pyc": "invalid",
    "pkg/leg.pyc": "stale",                               # legacy, beside leg.py
    "pkg/lone.pyc": "sourceless",
    "pkg/lone311.pyc": "sourceless",                      # and "foreign": true
    "pkg/sub/__pycache__/s.cpython-312.pyc": "stale",
    "pkg/sub/__pycache__/s.cpython-312.opt-1.pyc": "stale",
    "nbi/__pycache__/n.cpython-312.pyc": "stale",
    "keep/__pycache__/k.cpython-312.pyc": "fresh",
}
PYCACHES = ["pkg/__pycache__", "pkg/sub/__pycache__", "nbi/__pycache__", "keep/__pycache__"]
SELECTORS = {
    "--stale": {"stale"}, "--orphaned": {"orphaned"}, "--foreign": {"foreign"},
    "--invalid": {"invalid"}, "--sourceless": {"sourceless"},
    "--unused": {"stale", "orphaned", "foreign", "invalid"},
    "--all": {"fresh", "stale", "orphaned", "foreign", "invalid"},
    "--fresh": {"fresh"},
}


def make_tree(root):
    for s in ("pkg/fresh.py", "pkg/stale.py", "pkg/old.py", "pkg/old2.py", "pkg/bad.py",
              "pkg/leg.py", "pkg/sub/s.py", "nbi/n.py", "keep/k.py"):
        src(root, s)
    pyc(root, "pkg/__pycache__/fresh.cpython-312.pyc", source="pkg/fresh.py")
    pyc(root, "pkg/__pycache__/stale.cpython-312.pyc", source="pkg/stale.py", fresh=False)
    pyc(root, "pkg/__pycache__/gone.cpython-312.pyc")
    pyc(root, "pkg/__pycache__/old.cpython-311.pyc", MAGIC_311, source="pkg/old.py")
    pyc(root, "pkg/__pycache__/old2.cpython-311.pyc", MAGIC_311, source="pkg/old2.py",
        fresh=False)
    write_file(os.path.join(root, "pkg/__pycache__/bad.cpython-312.pyc"), b"not a cache at all")
    write_file(os.path.join(root, "pkg/__pycache__/empty.cpython-312.pyc"), b"")
    pyc(root, "pkg/leg.pyc", source="pkg/leg.py", fresh=False)
    pyc(root, "pkg/lone.pyc")
    pyc(root, "pkg/lone311.pyc", MAGIC_311)
    pyc(root, "pkg/sub/__pycache__/s.cpython-312.pyc", source="pkg/sub/s.py", fresh=False)
    pyc(root, "pkg/sub/__pycache__/s.cpython-312.opt-1.pyc", source="pkg/sub/s.py", fresh=False)
    pyc(root, "nbi/__pycache__/n.cpython-312.pyc", source="nbi/n.py", fresh=False)
    write_file(os.path.join(root, "nbi/__pycache__/index.nbi"), b"not a cache")
    pyc(root, "keep/__pycache__/k.cpython-312.pyc", source="keep/k.py")


def expected(statuses, prefix=""):
    """(files, dirs) that a selection of statuses removes from make_tree's tree."""
    files = sorted(p for p, s in STATUS.items() if s in statuses)
    dirs = []
    for d in PYCACHES:
        inside = [p for p in STATUS if os.path.dirname(p) == d]
        if d != "nbi/__pycache__" and all(STATUS[p] in statuses for p in inside):
            dirs.append(d)
    return [prefix + f for f in files], [prefix + d for d in dirs]


def rel(paths, root):
    return sorted(os.fsencode(os.path.relpath(p, root)) for p in paths)


def b(paths):
    return sorted(os.fsencode(p) for p in paths)


class OpenWatch:
    """inotify IN_OPEN on some directories: which of their entries something opened."""
    IN_OPEN = 0x20

    def __init__(self, dirs):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.wds = {}
        for d in dirs:
            wd = self.libc.inotify_add_watch(self.fd, os.fsencode(d), self.IN_OPEN)
            if wd < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch %s" % d)
            self.wds[wd] = os.fsencode(d)

    def opened(self):
        out = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            off = 0
            while off < len(data):
                wd, mask, _, n = struct.unpack_from("iIII", data, off)
                name = data[off + 16:off + 16 + n].rstrip(b"\0")
                off += 16 + n
                if mask & self.IN_OPEN and name:
                    out.append(os.path.join(self.wds[wd], name))
        return out

    def close(self):
        os.close(self.fd)


class CleanCase(TempDirCase):
    """self.target: where clean runs; self.canary: a mixed tree outside it that must never
    change (checked by the tests and again at tearDown)."""

    def setUp(self):
        super().setUp()
        self.target = os.path.join(self.tmp, "target")
        self.canary = os.path.join(self.tmp, "canary")
        os.mkdir(self.target)
        make_tree(self.canary)
        self.canary_before = snapshot(self.canary)
        self.mounts = []  # unmounted before the tree is removed

    def tearDown(self):
        try:
            for m in reversed(self.mounts):
                subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL, check=False)
            self.assert_canary()
        finally:
            super().tearDown()

    def assert_canary(self):
        removed, added, changed = snapshot_diff(self.canary_before, snapshot(self.canary))
        self.assertEqual((removed, added, changed), ([], [], []),
                         "the canary outside the target changed")

    def assert_tree(self, before, root, gone):
        """Exactly `gone` (paths relative to root) was removed from root; nothing was added,
        replaced or written."""
        removed, added, changed = snapshot_diff(before, snapshot(root), dir_mtimes=False)
        self.assertEqual(removed, b(gone), "removed under %s" % root)
        self.assertEqual(added, [], "added under %s" % root)
        self.assertEqual(changed, [], "changed under %s" % root)

    def clean(self, args, rc=0, cwd=None, nobody=False, **kw):
        p = (run_as_nobody if nobody else run)(["clean"] + list(args), cwd=cwd, **kw)
        self.assertEqual(p.returncode, rc, "clean %r: exit %d, expected %d; stderr: %s" % (
            args, p.returncode, rc, p.stderr.decode("utf-8", "replace")))
        return p

    def clean_json(self, args, rc=0, **kw):
        p = self.clean(["--json"] + list(args), rc=rc, **kw)
        recs, summary = parse_clean_jsonl(p.stdout)
        return recs, summary, p

    def actions(self, recs, root, type_="pyc"):
        """{relative path: last action} of the records of one type."""
        return {os.path.relpath(path, root): a for (t, path), a in last_actions(recs).items()
                if t == type_}

    def give_to_nobody(self, *paths):
        os.chmod(self.tmp, 0o755)
        for p in paths:
            subprocess.run(["chown", "-R", "65534:65534", p], check=True)


class Selectors(CleanCase):
    def test_each_selector_removes_exactly_its_caches(self):
        for sel, statuses in SELECTORS.items():
            with self.subTest(selector=sel):
                root = os.path.join(self.target, sel.strip("-"))
                make_tree(root)
                before = snapshot(root)
                files, dirs = expected(statuses)
                self.assertTrue(files)
                recs, summary, _ = self.clean_json([sel] + T + [root])
                self.assert_tree(before, root, files + dirs)
                acts = self.actions(recs, root)
                self.assertEqual(acts, {f: "removed" for f in files})
                self.assertEqual(self.actions(recs, root, "dir"),
                                 dict({d: "removed" for d in dirs},
                                      **{d: "kept" for d in PYCACHES
                                         if d not in dirs and any(
                                             os.path.dirname(f) == d for f in files)}))
                for r in recs:
                    if r["type"] == "pyc":
                        self.assertIn(r["status"], statuses, r["path"])
                self.assertEqual(summary["dry_run"], False)
                self.assertEqual(summary["files"], len(files))
                self.assertEqual(summary["directories"], len(dirs))
                self.assertEqual((summary["failed"], summary["kept"]), (0, 0))
                self.assertEqual(sum(v["count"] for v in summary["by_status"].values()),
                                 len(files))
                self.assert_canary()

    def test_all_never_implies_sourceless_and_foreign_keeps_more_urgent_statuses(self):
        make_tree(self.target)
        self.clean(["--foreign"] + T + [self.target])
        pc = os.path.join(self.target, "pkg", "__pycache__")
        self.assertFalse(os.path.exists(os.path.join(pc, "old.cpython-311.pyc")))
        # foreign *and* stale / sourceless: not removed by --foreign
        self.assertTrue(os.path.exists(os.path.join(pc, "old2.cpython-311.pyc")))
        self.assertTrue(os.path.exists(os.path.join(self.target, "pkg", "lone311.pyc")))
        self.clean(["--unused"] + T + [self.target])
        self.assertFalse(os.path.exists(os.path.join(pc, "old2.cpython-311.pyc")))
        for lone in ("lone.pyc", "lone311.pyc"):
            self.assertTrue(os.path.exists(os.path.join(self.target, "pkg", lone)), lone)
        self.clean(["--sourceless"] + T + [self.target])
        for lone in ("lone.pyc", "lone311.pyc"):
            self.assertFalse(os.path.exists(os.path.join(self.target, "pkg", lone)), lone)
        self.assert_canary()

    def test_combined_selectors(self):
        make_tree(self.target)
        before = snapshot(self.target)
        files, dirs = expected({"orphaned", "invalid", "sourceless"})
        self.clean(["--orphaned", "--invalid", "--sourceless"] + T + [self.target])
        self.assert_tree(before, self.target, files + dirs)
        self.assert_canary()

    def test_foreign_follows_the_targets(self):
        make_tree(self.target)
        before = snapshot(self.target)
        # with 3.11 the target, the 3.12 caches are the foreign ones (the fresh ones only)
        self.clean(["--foreign", "-t", "3.11", self.target])
        self.assert_tree(before, self.target, ["pkg/__pycache__/fresh.cpython-312.pyc",
                                               "keep/__pycache__/k.cpython-312.pyc",
                                               "keep/__pycache__"])
        self.assert_canary()

    def test_foreign_with_targets_from_path_warns_first(self):
        make_tree(self.target)
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        write_file(os.path.join(bindir, "python3.11"), b"#!/bin/sh\n", mode=0o755)
        env = env_c()
        env["PATH"] = bindir
        for sel in (["--unused"], ["--foreign"], ["--stale", "--foreign"]):
            p = self.clean(sel + ["-n", self.target], env=env)
            self.assertEqual(p.stderr.count(b"warning"), 1, sel)
            self.assertIn(b"warning: the targets were found on PATH (3.11); the caches of every "
                          b"other interpreter are foreign", p.stderr, sel)
            # the 3.12 caches are foreign here, and would go
            self.assertIn(b"would remove '%s/pkg/__pycache__/fresh.cpython-312.pyc'"
                          % self.target.encode(), p.stdout)
        # named targets, or no foreign selector, or --all (every cache goes, whoever's it is):
        # nothing to warn about
        for args in (["--unused", "-t", "3.11"], ["--stale", "--orphaned", "--invalid"],
                     ["--all"], ["--foreign", "--fresh"]):
            p = self.clean(args + ["-n", self.target], env=env)
            self.assertNotIn(b"warning", p.stderr, args)

    def test_no_selector_or_bad_usage_exits_2_and_removes_nothing(self):
        make_tree(self.target)
        before = snapshot(self.target)
        for args in ([], ["-n"], ["--json"], ["--dry-run", "--json"] + T, T,
                     ["--unused", "--bogus"], ["--bogus", "--unused"], ["--unused", "-x"],
                     ["--unused", "--jobs", "0"], ["--unused", "--check-source", "sometimes"],
                     ["--unused", "-t", "nonsense"], ["--unused", "--target"], ["--stale=1"]):
            with self.subTest(args=args):
                p = self.clean(args + [self.target], rc=2)
                self.assertEqual(p.stdout, b"")
                self.assertNotEqual(p.stderr, b"")
                self.assert_tree(before, self.target, [])
        p = self.clean([self.target], rc=2)
        self.assertIn(b"nothing selected", p.stderr)
        self.assert_canary()

    def test_missing_path_exits_2(self):
        make_tree(self.target)
        before = snapshot(self.target)
        p = self.clean(["--unused"] + T + [os.path.join(self.target, "nope")], rc=2)
        self.assertIn(b"No such file or directory", p.stderr)
        self.assert_tree(before, self.target, [])
        self.assert_canary()

class AllAndLeftovers(CleanCase):
    """--all is every cache but sourceless modules (issue 14), as py3clean does it; leftovers
    of an interrupted write are debris."""

    def test_all_leaves_only_sourceless_modules_and_says_so(self):
        make_tree(self.target)
        recs, summary, _ = self.clean_json(["--all"] + T + [self.target])
        left = sorted(os.path.relpath(os.path.join(d, f), self.target)
                      for d, _, fs in os.walk(self.target) for f in fs if f.endswith(".pyc"))
        self.assertEqual(left, ["pkg/lone.pyc", "pkg/lone311.pyc"])
        self.assertEqual(summary["sourceless_left"], 2)
        make_tree(self.target)
        p = self.clean(["--all"] + T + [self.target])
        self.assertIn(b"\nleft 2 sourceless modules (NAME.pyc with no NAME.py, perhaps "
                      b"deliberate; --sourceless removes them)\n", p.stdout)
        p = self.clean(["--all", "--sourceless"] + T + [self.target])
        self.assertNotIn(b"sourceless module", p.stdout)
        left = [f for _, _, fs in os.walk(self.target) for f in fs if f.endswith(".pyc")]
        self.assertEqual(left, [])
        self.assert_canary()

    def interrupted_write(self, d):
        """A real leftover: CPython 3.12 writing a cache, killed between its write and its
        rename (importlib's _write_atomic).  Returns its path."""
        py = os.path.expanduser(os.path.join(os.environ.get("PYENV_ROOT", "~/.pyenv"),
                                             "versions", "3.12.1", "bin", "python"))
        if not os.path.exists(py):
            self.fail("CPython 3.12 (pyenv) is needed to make a real leftover")
        os.makedirs(d, exist_ok=True)
        write_file(os.path.join(d, "m.py"), b"X = 1\n")
        env = {k: v for k, v in env_c().items() if not k.startswith("PYTHON")}
        code = ("import importlib._bootstrap_external as be, os, sys\n"
                "be._os.replace = lambda a, b: os._exit(3)\n"
                "sys.path.insert(0, sys.argv[1])\nimport m\n")
        r = subprocess.run([py, "-c", code, d], env=env)
        self.assertEqual(r.returncode, 3)
        (name,) = os.listdir(os.path.join(d, "__pycache__"))
        self.assertRegex(name, r"^m\.cpython-312\.pyc\.[0-9]+$")
        return os.path.join(d, "__pycache__", name)

    def test_leftover_is_reported_and_removed_as_debris(self):
        d = os.path.join(self.target, "app")
        left = self.interrupted_write(d)
        pycs, _, _, _ = scan_json(["--all"] + T + [d])
        (r,) = pycs
        self.assertEqual((r["path"], r["status"], r["reasons"]),
                         (left, "orphaned", ["leftover of an interrupted cache write"]))
        # --orphaned neither removes it nor fails on it; --unused and --all remove it, and the
        # __pycache__ it kept alive
        recs, summary, _ = self.clean_json(["--orphaned"] + T + [d])
        self.assertTrue(os.path.exists(left))
        self.assertEqual((summary["files"], summary["kept"]), (0, 0))
        for sel in ("--unused", "--all"):
            with self.subTest(selector=sel):
                left = self.interrupted_write(os.path.join(self.target, sel.strip("-")))
                recs, summary, _ = self.clean_json([sel] + T + [os.path.dirname(left)])
                self.assertFalse(os.path.exists(left))
                self.assertEqual(self.actions(recs, os.path.dirname(left)),
                                 {os.path.basename(left): "removed"})
        self.assert_canary()

    def test_all_agrees_with_py3clean(self):
        """Caches written by three interpreters, legacy and sourceless ones, orphans: what is
        left after `clean --all` equals what Debian's py3clean leaves, but for the orphans of
        __pycache__, which py3clean (it starts from the .py files) cannot see."""
        if not shutil.which("py3clean"):
            self.fail("py3clean (Debian's python3-minimal) is needed")
        tree = os.path.join(self.tmp, "tree")
        for f in ("a", "pkg/__init__", "pkg/b", "pkg/sub/c", "gone", "lone"):
            write_file(os.path.join(tree, f + ".py"), b"X = 1\n")
        env = {k: v for k, v in env_c().items() if not k.startswith("PYTHON")}
        pyenv = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
        pys = [p for p in ("/usr/bin/python3", os.path.join(pyenv, "versions/3.12.1/bin/python"),
                           "/usr/bin/pypy3") if os.path.exists(p)]
        self.assertGreaterEqual(len(pys), 2)
        for py in pys:
            subprocess.run([py, "-m", "compileall", "-q", tree], env=env, check=True)
        subprocess.run([pys[0], "-m", "compileall", "-q", "-b", os.path.join(tree, "lone.py"),
                        os.path.join(tree, "pkg", "b.py")], env=env, check=True)
        os.unlink(os.path.join(tree, "lone.py"))
        os.unlink(os.path.join(tree, "gone.py"))
        ours, theirs = os.path.join(self.tmp, "ours"), os.path.join(self.tmp, "theirs")
        shutil.copytree(tree, ours, symlinks=True)
        shutil.copytree(tree, theirs, symlinks=True)
        subprocess.run(["py3clean", theirs], env=env, check=True)
        self.clean(["--all", ours])

        def listing(root):
            return sorted(os.path.relpath(os.path.join(d, n), root)
                          for d, ds, fs in os.walk(root) for n in ds + fs)
        orphans = sorted("__pycache__/" + n for n in os.listdir(os.path.join(tree, "__pycache__"))
                         if n.split(".")[0] in ("gone", "lone"))
        self.assertEqual(len(orphans), 2 * len(pys))
        self.assertEqual(listing(theirs), sorted(listing(ours) + orphans + ["__pycache__"]))
        self.assertIn("lone.pyc", listing(ours))  # sourceless: kept by both


class DryRun(CleanCase):
    def test_scan_and_dry_run_agree_file_for_file(self):
        make_tree(self.target)
        pycs, _, _, _ = scan_json(["--all"] + T + [self.target])
        self.assertEqual({os.path.relpath(r["path"], self.target): r["status"] for r in pycs},
                         STATUS, "the fixture is not what the test thinks")
        before = snapshot(self.target)
        for sel, statuses in SELECTORS.items():
            for jobs in ([], ["-j", "1"]):
                with self.subTest(selector=sel, jobs=jobs):
                    recs, summary, _ = self.clean_json(["-n", sel] + jobs + T + [self.target])
                    got = [r for r in recs if r["type"] == "pyc"]
                    want = [dict(r, action="would-remove") for r in pycs
                            if r["status"] in statuses]
                    self.assertEqual(got, want)
                    self.assertEqual(summary["dry_run"], True)
                    self.assertEqual(summary["files"], len(want))
        self.assert_tree(before, self.target, [])
        self.assert_canary()

    def copies(self, n=2):
        """n identical trees (mtimes included), new ones at each call."""
        self.ncopies = getattr(self, "ncopies", 0) + 1
        roots = [os.path.join(self.tmp, "copy%d.%d" % (self.ncopies, i)) for i in range(n)]
        make_tree(roots[0])
        for r in roots[1:]:
            subprocess.run(["cp", "-a", roots[0], r], check=True)
        self.assertEqual(len({tuple((p, v[0], v[1], v[2], v[4]) for p, v in
                                    sorted(snapshot(r).items())) for r in roots}), 1)
        return roots

    def test_options_after_paths_whatever_posixly_correct(self):
        # under POSIXLY_CORRECT, getopt stops at the first PATH: "-n" would become a PATH after
        # a real run.  The order is pycinspect's own, whatever the environment says.
        make_tree(self.target)
        before = snapshot(self.target)
        env = env_c()
        env["POSIXLY_CORRECT"] = "1"
        p = self.clean(["--unused"] + T + [self.target, "-n"], env=env)
        self.assertIn(b"would remove '", p.stdout)
        self.assert_tree(before, self.target, [])

    def test_paths_naming_the_same_files_are_refused(self):
        # clean x x/sub would remove x/sub's caches under x, then fail to find them under
        # x/sub: the dry run could not foresee that, so such a run does not start
        make_tree(self.target)
        before = snapshot(self.target)
        t = self.target
        cases = [
            ([t, t + "/pkg"], "'%s/pkg' is inside '%s'" % (t, t)),
            ([t + "/pkg", t], "'%s/pkg' is inside '%s'" % (t, t)),
            ([t, t + "/"], "'%s/' is the same as '%s'" % (t, t)),
            ([t, t + "/pkg/__pycache__/stale.cpython-312.pyc"],
             "'%s/pkg/__pycache__/stale.cpython-312.pyc' is inside '%s'" % (t, t)),
            # one cache named twice, spelt two ways
            ([t + "/pkg/__pycache__/stale.cpython-312.pyc",
              t + "/pkg/../pkg/__pycache__/stale.cpython-312.pyc"],
             "'%s/pkg/../pkg/__pycache__/stale.cpython-312.pyc' is the same as "
             "'%s/pkg/__pycache__/stale.cpython-312.pyc'" % (t, t)),
        ]
        for paths, said in cases:
            for mode in ([], ["-n"], ["--json"]):
                with self.subTest(paths=paths, mode=mode):
                    p = self.clean(["--unused"] + mode + T + paths, rc=2)
                    self.assertEqual(p.stdout, b"")
                    self.assertIn(("pycinspect: %s: name each tree once (nothing was removed)"
                                   % said).encode(), p.stderr)
                    self.assert_tree(before, self.target, [])
        # another filesystem mounted inside is not walked from outside it: both are cleaned
        mnt = os.path.join(t, "pkg", "mnt")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", mnt], stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount (%s): this test needs root" % p.stderr.decode().strip())
        self.mounts.append(mnt)
        make_tree(os.path.join(mnt, "q"))
        p = self.clean(["--unused", "-n"] + T + [t, os.path.join(mnt, "q")])
        self.assertIn(b"would remove '%s/q/" % mnt.encode(), p.stdout)
        # ... unless --cross-mounts, which walks it from outside too
        p = self.clean(["--unused", "-n", "--cross-mounts"] + T + [t, os.path.join(mnt, "q")], rc=2)
        self.assertIn(b"'%s/q' is inside '%s'" % (mnt.encode(), t.encode()), p.stderr)
        subprocess.run(["umount", mnt], check=True)
        self.mounts.remove(mnt)
        os.rmdir(mnt)
        # a directory the outer walk leaves out is not named twice: both are cleaned
        nm = os.path.join(t, "node_modules")
        shutil.copytree(os.path.join(t, "pkg"), os.path.join(nm, "pkg"))
        dry = self.clean(["--unused", "-n"] + T + [t, nm + "/pkg"])
        real = self.clean(["--unused"] + T + [t, nm + "/pkg"])
        self.assertEqual(real.stdout, dry.stdout.replace(b"would remove", b"removed"))
        self.assertIn(b"removed '%s/pkg/__pycache__/stale.cpython-312.pyc'" % nm.encode(),
                      real.stdout)
        self.assertEqual(real.stderr, b"")

    def test_dry_run_is_the_real_run_text(self):
        for sel in ("--unused", "--stale", "--sourceless"):
            with self.subTest(selector=sel):
                dry, real = self.copies()
                before, before_real = snapshot(dry), snapshot(real)
                pd = self.clean(["-n", sel] + T, cwd=dry)
                self.assert_tree(before, dry, [])
                pr = self.clean([sel] + T, cwd=real)
                self.assertIn(b"would remove '", pd.stdout)
                self.assertNotIn(b"removed", pd.stdout)
                self.assertEqual(pd.stdout.replace(b"would remove", b"removed"), pr.stdout)
                self.assertEqual(pd.stderr, pr.stderr)
                files, dirs = expected(SELECTORS[sel])
                self.assert_tree(before_real, real, files + dirs)
        self.assert_canary()

    def test_dry_run_is_the_real_run_json(self):
        dry, real = self.copies()
        before = snapshot(dry)
        rd, sd, _ = self.clean_json(["-n", "--unused"] + T, cwd=dry)
        self.assert_tree(before, dry, [])
        rr, sr, _ = self.clean_json(["--unused"] + T, cwd=real)
        self.assertEqual([r.get("action") for r in rd if r["type"] != "error"],
                         ["would-remove" if r["action"] == "would-remove" else "kept"
                          for r in rd if r["type"] != "error"])
        self.assertEqual([dict(r, action="removed") if r.get("action") == "would-remove" else r
                          for r in rd], rr)
        self.assertEqual((sd.pop("dry_run"), sr.pop("dry_run")), (True, False))
        self.assertEqual(sd, sr)
        self.assertEqual(sr["files"], len(expected(SELECTORS["--unused"])[0]))
        self.assert_canary()

    def test_dry_run_in_a_read_only_directory_is_the_real_run(self):
        # "the same path through the code, with the same checks; only the two unlinkat calls
        # are skipped": a removal the real run cannot do is not one the dry run would do
        dry, real = self.copies()
        self.give_to_nobody(dry, real)
        for r in (dry, real):
            os.chmod(os.path.join(r, "pkg", "__pycache__"), 0o555)
        before = snapshot(dry)
        prd = run_as_nobody(["clean", "--json", "-n", "--unused"] + T, cwd=dry)
        prr = run_as_nobody(["clean", "--json", "--unused"] + T, cwd=real)
        self.assert_tree(before, dry, [])
        rd, sd = parse_clean_jsonl(prd.stdout)
        rr, sr = parse_clean_jsonl(prr.stdout)
        self.assertEqual(prr.returncode, 1)
        self.assertEqual(prd.returncode, prr.returncode,
                         "the dry run exits %d, the real run %d" % (prd.returncode,
                                                                     prr.returncode))
        self.assertEqual([dict(r, action="removed") if r.get("action") == "would-remove" else r
                          for r in rd], rr)
        self.assertEqual((sd["failed"], sd["files"]), (sr["failed"], sr["files"]))
        self.assert_canary()


class PycacheDirs(CleanCase):
    def test_emptied_pycache_is_removed_and_a_kept_one_says_why(self):
        make_tree(self.target)
        before = snapshot(self.target)
        recs, summary, _ = self.clean_json(["--unused"] + T + [self.target])
        files, dirs = expected(SELECTORS["--unused"])
        self.assertEqual(dirs, ["pkg/sub/__pycache__"])
        self.assert_tree(before, self.target, files + dirs)
        byp = {os.path.relpath(r["path"], self.target): r for r in recs if r["type"] == "dir"}
        self.assertEqual(sorted(byp), ["nbi/__pycache__", "pkg/__pycache__",
                                       "pkg/sub/__pycache__"])
        self.assertEqual(byp["pkg/sub/__pycache__"]["action"], "removed")
        self.assertEqual(byp["pkg/sub/__pycache__"]["entries"], 2)
        self.assertEqual(byp["pkg/sub/__pycache__"]["caches_left"], 0)
        self.assertEqual(byp["pkg/sub/__pycache__"]["caches_not_removed"], 0)
        nbi = byp["nbi/__pycache__"]
        self.assertEqual((nbi["action"], nbi["kept_by"], nbi["other_entries"],
                          nbi["caches_left"], nbi["caches_not_removed"], nbi["entries"]),
                         ("kept", ["index.nbi"], 1, 0, 0, 2))
        pkg = byp["pkg/__pycache__"]
        self.assertEqual((pkg["action"], pkg["kept_by"], pkg["other_entries"],
                          pkg["caches_left"], pkg["caches_not_removed"], pkg["entries"]),
                         ("kept", [], 0, 1, 0, 7))
        self.assertEqual(summary["directories"], 1)
        # the dir record comes after the records of the caches it held
        order = [os.path.relpath(r["path"], self.target) for r in recs]
        self.assertLess(order.index("pkg/sub/__pycache__/s.cpython-312.pyc"),
                        order.index("pkg/sub/__pycache__"))
        self.assert_canary()

    def test_text_lines_for_directories(self):
        make_tree(self.target)
        p = self.clean(["--unused"] + T + ["."], cwd=self.target)
        lines = p.stdout.decode().splitlines()
        self.assertIn("removed './pkg/sub/__pycache__/s.cpython-312.pyc'", lines)
        self.assertIn("removed directory './pkg/sub/__pycache__'", lines)
        self.assertIn("kept directory './nbi/__pycache__': it still holds 1 other entry "
                      "('index.nbi')", lines)
        self.assertIn("kept directory './pkg/__pycache__': it still holds 1 cache not selected",
                      lines)
        self.assertLess(lines.index("removed './pkg/sub/__pycache__/s.cpython-312.pyc'"),
                        lines.index("removed directory './pkg/sub/__pycache__'"))
        self.assertFalse(os.path.exists(os.path.join(self.target, "pkg/sub/__pycache__")))
        self.assert_canary()

    def test_pycache_with_other_kinds_of_entries_stays(self):
        src(self.target, "a/m.py")
        pyc(self.target, "a/__pycache__/m.cpython-312.pyc", source="a/m.py", fresh=False)
        os.makedirs(os.path.join(self.target, "a/__pycache__/subdir"))
        src(self.target, "b/m.py")
        pyc(self.target, "b/__pycache__/m.cpython-312.pyc", source="b/m.py", fresh=False)
        os.symlink("nowhere", os.path.join(self.target, "b/__pycache__/link"))
        before = snapshot(self.target)
        recs, _, _ = self.clean_json(["--stale"] + T + [self.target])
        self.assert_tree(before, self.target, ["a/__pycache__/m.cpython-312.pyc",
                                               "b/__pycache__/m.cpython-312.pyc"])
        dirs = {os.path.relpath(r["path"], self.target): r for r in recs if r["type"] == "dir"}
        self.assertEqual(dirs["a/__pycache__"]["kept_by"], ["subdir"])
        self.assertEqual(dirs["b/__pycache__"]["kept_by"], ["link"])
        self.assertEqual({d["action"] for d in dirs.values()}, {"kept"})
        self.assert_canary()

    def test_a_named_cache_does_not_take_its_shared_pycache_with_it(self):
        # PATH naming one cache: the __pycache__ still holds other files, so it is neither
        # removed nor reported as removed, and removing the one selected cache is a success
        make_tree(self.target)
        before = snapshot(self.target)
        one = os.path.join(self.target, "pkg/__pycache__/stale.cpython-312.pyc")
        pd = self.clean(["-n", "--stale"] + T + [one], rc=0)
        self.assertEqual(pd.stdout.decode().splitlines()[0], "would remove '%s'" % one)
        self.assertNotIn(b"would remove directory", pd.stdout)
        self.assert_tree(before, self.target, [])
        recs, summary, p = self.clean_json(["--stale"] + T + [one], rc=0)
        self.assert_tree(before, self.target, ["pkg/__pycache__/stale.cpython-312.pyc"])
        self.assertEqual([(r["type"], r["path"], r["action"]) for r in recs
                          if r["action"] != "kept"], [("pyc", one, "removed")])
        self.assertEqual((summary["files"], summary["directories"], summary["failed"]),
                         (1, 0, 0))
        self.assert_canary()

    def test_a_named_cache_alone_in_its_pycache(self):
        src(self.target, "m.py")
        pyc(self.target, "__pycache__/m.cpython-312.pyc", source="m.py", fresh=False)
        before = snapshot(self.target)
        one = os.path.join(self.target, "__pycache__/m.cpython-312.pyc")
        recs, summary, _ = self.clean_json(["--stale"] + T + [one])
        self.assertEqual(summary["files"], 1)
        self.assertEqual(self.actions(recs, self.target), {"__pycache__/m.cpython-312.pyc":
                                                           "removed"})
        gone = ["__pycache__/m.cpython-312.pyc"]
        if summary["directories"]:
            gone.append("__pycache__")
        self.assert_tree(before, self.target, gone)
        self.assert_canary()


class ExitCodes(CleanCase):
    def special_tree(self):
        sp = os.path.join(self.target, "sp")
        pc = os.path.join(sp, "__pycache__")
        for s in ("fifo", "dev", "sock", "link", "real", "notag"):
            src(sp, s + ".py")
        pyc(sp, "__pycache__/real.cpython-312.pyc", source="real.py", fresh=False)
        pyc(sp, "__pycache__/notag.pyc", source="notag.py")
        os.mkfifo(os.path.join(pc, "fifo.cpython-312.pyc"))
        os.mknod(os.path.join(pc, "dev.cpython-312.pyc"), 0o644 | 0o020000, os.makedev(1, 3))
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(pc, "sock.cpython-312.pyc"))
        s.close()
        target = os.path.join(self.canary, "pkg/__pycache__/bad.cpython-312.pyc")
        os.symlink(target, os.path.join(pc, "link.cpython-312.pyc"))
        os.mkfifo(os.path.join(sp, "legacy.pyc"))
        special = ["sp/__pycache__/fifo.cpython-312.pyc", "sp/__pycache__/dev.cpython-312.pyc",
                   "sp/__pycache__/sock.cpython-312.pyc", "sp/__pycache__/link.cpython-312.pyc",
                   "sp/legacy.pyc"]
        return sp, special, target

    def test_debris_is_left_by_orphaned_and_removed_by_all(self):
        # __pycache__/x.pyc (no tag) is no cache of any import: --orphaned neither removes it
        # nor fails on it, run after run; --unused and --all remove it (issue 14)
        pc = os.path.join(self.target, "d", "__pycache__")
        os.makedirs(pc)
        with open(os.path.join(pc, "x.pyc"), "wb") as f:
            f.write(b"\xcb\x0d\x0d\x0a" + bytes(12) + b"\xe3" + bytes(40))
        for _ in range(2):
            recs, summary, _ = self.clean_json(["--orphaned"] + T + [self.target])
            self.assertEqual([r for r in recs if r["path"].endswith("x.pyc")], [])
            self.assertEqual(summary["kept"], 0)
        self.assertTrue(os.path.exists(os.path.join(pc, "x.pyc")))
        recs, summary, _ = self.clean_json(["--unused"] + T + [self.target])
        self.assertEqual([r["action"] for r in recs if r["path"].endswith("x.pyc")], ["removed"])
        self.assertFalse(os.path.exists(pc))

    def test_special_files_are_never_opened_nor_removed(self):
        sp, special, link_target = self.special_tree()
        before = snapshot(self.target)
        watch = OpenWatch([sp, os.path.join(sp, "__pycache__"),
                           os.path.dirname(link_target)])
        self.addCleanup(watch.close)
        recs, summary, p = self.clean_json(["--unused"] + T + [self.target], rc=1, timeout=20)
        # notag.pyc is debris (no import looks it up): --unused and --all remove it (issue 14)
        self.assert_tree(before, self.target, ["sp/__pycache__/notag.pyc",
                                               "sp/__pycache__/real.cpython-312.pyc"])
        acts = self.actions(recs, self.target)
        self.assertEqual(acts, dict({s: "kept" for s in special},
                                    **{"sp/__pycache__/real.cpython-312.pyc": "removed",
                                       "sp/__pycache__/notag.pyc": "removed"}))
        for r in recs:
            if r.get("action") == "kept" and r["type"] == "pyc":
                self.assertEqual(r["error"], "not a regular file", r["path"])
        self.assertEqual((summary["kept"], summary["files"], summary["failed"]), (5, 2, 0))
        dirs = [r for r in recs if r["type"] == "dir"]
        self.assertEqual([(d["path"], d["action"], d["caches_left"], d["caches_not_removed"],
                           d["other_entries"]) for d in dirs],
                         [(os.path.join(sp, "__pycache__"), "kept", 0, 4, 0)])
        # text: the same run again, the kept ones said on stderr
        p = self.clean(["--invalid"] + T + [self.target], rc=1, timeout=20)
        for s in special:
            self.assertIn(("pycinspect: kept '%s': not a regular file\n" %
                           os.path.join(self.target, s)).encode(), p.stderr)
        self.assertIn(b"5 kept for safety", p.stdout)
        self.assert_tree(before, self.target, ["sp/__pycache__/notag.pyc",
                                               "sp/__pycache__/real.cpython-312.pyc"])
        opened = watch.opened()
        for s in special:
            self.assertNotIn(os.fsencode(os.path.join(self.target, s)), opened, s)
        self.assertNotIn(os.fsencode(link_target), opened)
        self.assert_canary()

    def test_read_only_directory_fails_and_says_so(self):
        make_tree(self.target)
        self.give_to_nobody(self.target)
        os.chmod(os.path.join(self.target, "pkg/__pycache__"), 0o555)
        before = snapshot(self.target)
        files, dirs = expected(SELECTORS["--unused"])
        ro = [f for f in files if f.startswith("pkg/__pycache__/")]
        self.assertEqual(len(ro), 6)
        recs, summary, _ = self.clean_json(["--unused"] + T + [self.target], rc=1, nobody=True)
        done = [f for f in files if f not in ro]
        self.assert_tree(before, self.target, done + dirs)
        acts = self.actions(recs, self.target)
        self.assertEqual(acts, dict({f: "failed" for f in ro}, **{f: "removed" for f in done}))
        for r in recs:
            if r.get("action") == "failed":
                self.assertEqual(r["error"], "Permission denied")
        self.assertEqual((summary["failed"], summary["files"]), (6, len(done)))
        # text: the failures on stderr, exit 1 again
        p = self.clean(["--unused"] + T + [self.target], rc=1, nobody=True)
        for f in ro:
            self.assertIn(("pycinspect: cannot remove '%s': Permission denied\n" %
                           os.path.join(self.target, f)).encode(), p.stderr)
        self.assertIn(b"not removed: 6 failed", p.stdout)
        self.assert_tree(before, self.target, done + dirs)
        self.assert_canary()

    def test_unreadable_directory_is_reported_and_the_walk_goes_on(self):
        make_tree(self.target)
        make_tree(os.path.join(self.target, "locked"))
        src(self.target, "zz/late.py")
        pyc(self.target, "zz/__pycache__/late.cpython-312.pyc", source="zz/late.py", fresh=False)
        self.give_to_nobody(self.target)
        os.chmod(os.path.join(self.target, "locked"), 0)
        os.chmod(os.path.join(self.target, "keep/__pycache__"), 0)
        files, dirs = expected(SELECTORS["--unused"])
        gone = files + dirs + ["zz/__pycache__/late.cpython-312.pyc", "zz/__pycache__"]
        before = snapshot(self.target)  # root reads through mode 000
        recs, summary, p = self.clean_json(["--unused"] + T + [self.target], rc=1, nobody=True)
        errs = [(os.path.relpath(r["path"], self.target), r["message"], r["errno"])
                for r in recs if r["type"] == "error"]
        self.assertEqual(errs, [("keep/__pycache__", "cannot open directory", 13),
                                ("locked", "cannot open directory", 13)])
        self.assertEqual(summary["errors"], 2)
        self.assertIn(("pycinspect: cannot open directory '%s': Permission denied" %
                       os.path.join(self.target, "locked")).encode(), p.stderr)
        self.assert_tree(before, self.target, gone)
        self.assert_canary()

    def sandbox(self):
        """A root directory for chroot: the system's /usr, /lib... bound read-only (in a private
        mount namespace, see in_sandbox), a copy of the binary, a tree with caches of every
        status at /app, and /rootlink -> /."""
        root = os.path.join(self.tmp, "root")
        os.mkdir(root)
        binds = []
        for d in ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            real = "/" + d
            if os.path.islink(real):
                os.symlink(os.readlink(real), os.path.join(root, d))
            elif os.path.isdir(real):
                os.mkdir(os.path.join(root, d))
                binds.append(d)
        os.mkdir(os.path.join(root, "proc"))
        shutil.copy2(BIN, os.path.join(root, "pycinspect"))
        make_tree(os.path.join(root, "app"))
        os.symlink("/", os.path.join(root, "rootlink"))
        return root, binds

    def in_sandbox(self, root, binds, args):
        # /proc too: LeakSanitizer needs it when an ASan build runs these tests
        env = env_c()
        script = "set -e; r=$1; shift; for d in %s; do mount --bind -o ro /$d \"$r/$d\"; done; " \
                 "mount -t proc proc \"$r/proc\"; " \
                 "exec chroot \"$r\" /pycinspect \"$@\"" % " ".join(binds)
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               script, "sh", root] + list(args), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30, env=env)

    def test_root_is_refused_before_anything_is_walked(self):
        root, binds = self.sandbox()
        before = snapshot(root)
        p = self.in_sandbox(root, binds, ["scan", "--json", "--all", "-t", "3.12", "/app"])
        self.assertEqual(p.returncode, 0, "the sandbox does not work: %s" % p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), len(STATUS) + 1)
        for path in ("/", "//", "/.", "/app/..", "/rootlink/", "/rootlink"):
            for mode in ([], ["--dry-run"], ["--json"], ["--json", "-n"]):
                with self.subTest(path=path, mode=mode):
                    t = time.monotonic()
                    p = self.in_sandbox(root, binds, ["clean", "--unused", "--sourceless"] + mode +
                                        T + [path])
                    self.assertEqual(p.returncode, 2, p.stderr)
                    self.assertLess(time.monotonic() - t, 10)
                    self.assertNotIn(b"remove '", p.stdout)
                    self.assertNotIn(b'"type":"pyc"', p.stdout)
                    self.assertNotIn(b'"type":"dir"', p.stdout)
                    if path != "/rootlink":
                        self.assertIn(b"refusing to clean '/'", p.stderr)
                    self.assert_tree(before, root, [])
        self.assert_canary()

    def test_symlink_as_path_is_refused(self):
        make_tree(self.target)
        link = os.path.join(self.tmp, "link")
        os.symlink(self.target, link)
        before = snapshot(self.target)
        for mode in ([], ["-n"], ["--json"]):
            with self.subTest(mode=mode):
                p = self.clean(["--unused", "--sourceless"] + mode + T + [link], rc=2)
                self.assertIn(b"symbolic link", p.stderr)
                self.assertNotIn(b"remove '", p.stdout)
                self.assertNotIn(b'"type":"pyc"', p.stdout)
                self.assert_tree(before, self.target, [])
        self.assertTrue(os.path.islink(link))
        self.assert_canary()


class Symlinks(CleanCase):
    def test_symlinks_inside_the_target_lead_nowhere(self):
        make_tree(self.target)
        t = self.target
        os.symlink("/", os.path.join(t, "to_root"))
        os.symlink(self.canary, os.path.join(t, "to_canary"))
        os.symlink(os.path.join(self.canary, "pkg"), os.path.join(t, "pkg", "sub", "to_pkg"))
        os.symlink("../..", os.path.join(t, "pkg", "sub", "up"))
        os.symlink(".", os.path.join(t, "self"))
        os.symlink("loop_b", os.path.join(t, "loop_a"))
        os.symlink("loop_a", os.path.join(t, "loop_b"))
        os.symlink("/nonexistent/x", os.path.join(t, "dangling"))
        # a __pycache__ that is a symlink to the canary's, beside sources of the same names
        for s in ("fresh", "stale", "old", "old2", "bad", "gone"):
            src(t, "lnk/%s.py" % s, b"# changed\n")
        os.symlink(os.path.join(self.canary, "pkg/__pycache__"), os.path.join(t, "lnk/__pycache__"))
        # and caches that are symlinks to the canary's caches
        src(t, "cl/stale.py")
        os.makedirs(os.path.join(t, "cl/__pycache__"))
        os.symlink(os.path.join(self.canary, "pkg/__pycache__/stale.cpython-312.pyc"),
                   os.path.join(t, "cl/__pycache__/stale.cpython-312.pyc"))
        os.symlink(os.path.join(self.canary, "pkg/lone.pyc"), os.path.join(t, "cl/lone.pyc"))
        before = snapshot(t)
        files, dirs = expected(SELECTORS["--unused"])
        recs, summary, _ = self.clean_json(["--unused"] + T + [t], rc=1)
        self.assert_tree(before, t, files + dirs)
        self.assertEqual(self.actions(recs, t), dict(
            {f: "removed" for f in files},
            **{"cl/__pycache__/stale.cpython-312.pyc": "kept", "cl/lone.pyc": "kept"}))
        self.assertEqual((summary["errors"], summary["kept"]), (0, 2))
        self.assert_canary()
        recs, _, _ = self.clean_json(["--sourceless", "--unused"] + T + [t], rc=1)
        self.assert_tree(before, t, files + dirs + ["pkg/lone.pyc", "pkg/lone311.pyc"])
        self.assert_canary()

    def test_a_hard_link_into_the_canary_keeps_the_canary_copy(self):
        make_tree(self.target)
        stale = os.path.join(self.target, "pkg/__pycache__/stale.cpython-312.pyc")
        other = os.path.join(self.canary, "linked", "stale.cpython-312.pyc")
        os.makedirs(os.path.dirname(other))
        os.link(stale, other)
        data, ino = open(other, "rb").read(), os.stat(other).st_ino
        self.canary_before = snapshot(self.canary)
        before = snapshot(self.target)
        files, dirs = expected({"stale"})
        self.clean(["--stale"] + T + [self.target])
        self.assert_tree(before, self.target, files + dirs)
        self.assertFalse(os.path.lexists(stale))
        st = os.lstat(other)
        self.assertEqual((st.st_ino, st.st_nlink), (ino, 1))
        self.assertEqual(open(other, "rb").read(), data)
        self.assert_canary()


class Names(CleanCase):
    NAMES = [b"new\nline", b"it's", b"bad\xff\xfeutf", b'dq"x', b"tab\tx", b"back\\slash",
             "\u00fcn\u00ef".encode(), b"ctl\x01f0", b"sp ace", b"dollar$x", b"cut\xe2\x80",
             b"cr\rx", b"del\x7fx", b"-dash", "nel\u0085x".encode(), "ls\u2028x".encode(),
             "rlo\u202ex".encode(), "nbsp\u00a0x".encode()]
    # C1 controls, line separators and bidi controls too (output.c lists what is quoted)
    NEEDS_QUOTING = {b"new\nline", b"it's", b"bad\xff\xfeutf", b"tab\tx", b"ctl\x01f0",
                     b"cut\xe2\x80", b"cr\rx", b"del\x7fx", "nel\u0085x".encode(),
                     "ls\u2028x".encode(), "rlo\u202ex".encode()}

    def tree(self, root):
        paths = []
        for d in (b"plain", b"d\nir", b"d\xffir"):
            for n in self.NAMES:
                s = os.path.join(os.fsencode(root), d, n + b".py")
                write_file(s)
                c = os.path.join(os.path.dirname(s), b"__pycache__", n + b".cpython-312.pyc")
                write_file(c, header(MAGIC_312, int(os.stat(s).st_mtime) + 10,
                                     os.stat(s).st_size) + CODE_BODY)
                paths.append(c)
            paths.append(os.path.join(os.fsencode(root), d, b"__pycache__"))
        return paths

    def bash_decode(self, quoted):
        p = subprocess.run([b"bash", b"-c", b"printf %s " + quoted], stdout=subprocess.PIPE,
                           check=True)
        return p.stdout

    def test_names_are_removed_exactly_and_reported_losslessly(self):
        a, bdir = os.path.join(self.target, "a"), os.path.join(self.target, "b")
        want_a, want_b = self.tree(a), self.tree(bdir)
        before_a, before_b = snapshot(a), snapshot(bdir)
        ba, bb = os.fsencode(a), os.fsencode(bdir)
        gone = lambda want, root: [os.path.relpath(p, root) for p in want]
        # JSON: os.fsencode(path) is the name
        recs, summary, _ = self.clean_json(["--stale"] + T + [a])
        self.assertEqual(sorted(os.fsencode(r["path"]) for r in recs), sorted(want_a))
        self.assertEqual({r["action"] for r in recs}, {"removed"})
        self.assert_tree(before_a, a, [os.fsdecode(p) for p in gone(want_a, ba)])
        # text: each path quoted so that the shell gives back its bytes
        p = self.clean(["--stale"] + T + [bdir])
        got, quoted = [], {}
        for line in p.stdout.split(b"\n"):
            for prefix in (b"removed directory ", b"removed "):
                if line.startswith(prefix) and line[len(prefix):][:1] in (b"'", b"$"):
                    q = line[len(prefix):]
                    path = self.bash_decode(q)
                    got.append(path)
                    quoted[path] = q
                    break
        self.assertEqual(sorted(got), sorted(want_b))
        for path, q in quoted.items():
            needs = any(n in path for n in self.NEEDS_QUOTING) or b"\n" in path or b"\xff" in path
            self.assertEqual(q.startswith(b"$'"), needs, q)
            self.assertTrue(q.endswith(b"'"), q)
            self.assertNotIn(b"\n", q)
            for raw in ("\u0085", "\u2028", "\u202e"):  # each written as its bytes, \xHH
                self.assertNotIn(raw.encode(), q)
        nel = os.path.join(bb, b"plain", b"__pycache__", "nel\u0085x.cpython-312.pyc".encode())
        self.assertEqual(quoted[nel], b"$'" + nel.replace(b"\xc2\x85", b"\\xc2\\x85") + b"'")
        self.assert_tree(before_b, bdir, [os.fsdecode(p) for p in gone(want_b, bb)])
        self.assert_canary()


class Deep(CleanCase):
    DEPTH = 5000

    def test_5000_deep_under_ulimit_32(self):
        import resource
        fd = os.open(self.target, os.O_RDONLY | os.O_DIRECTORY)
        for i in range(self.DEPTH):
            if i == self.DEPTH // 2:
                mid = os.dup(fd)
                f = os.open("mid.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(f, b"x = 1\n")
                os.close(f)
                st = os.stat("mid.py", dir_fd=fd)
                os.mkdir("__pycache__", dir_fd=fd)
                f = os.open("__pycache__/mid.cpython-312.pyc", os.O_WRONLY | os.O_CREAT, 0o644,
                            dir_fd=fd)
                os.write(f, header(MAGIC_312, int(st.st_mtime), st.st_size) + CODE_BODY)
                os.close(f)
            os.mkdir("d", dir_fd=fd)
            nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = nfd
        f = os.open("m.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, b"x = 1\n")
        os.close(f)
        st = os.stat("m.py", dir_fd=fd)
        os.mkdir("__pycache__", dir_fd=fd)
        f = os.open("__pycache__/m.cpython-312.pyc", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(f, header(MAGIC_312, int(st.st_mtime) + 10, st.st_size) + CODE_BODY)
        os.close(f)

        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
        recs, summary, _ = self.clean_json(["--unused"] + T + [self.target], preexec_fn=lower)
        bottom = os.path.join(self.target, *(["d"] * self.DEPTH))
        self.assertEqual([(r["type"], r["path"], r["action"]) for r in recs],
                         [("pyc", os.path.join(bottom, "__pycache__", "m.cpython-312.pyc"),
                           "removed"), ("dir", os.path.join(bottom, "__pycache__"), "removed")])
        self.assertEqual((summary["files"], summary["directories"], summary["errors"]), (1, 1, 0))
        self.assertEqual(sorted(os.listdir(fd)), ["m.py"])
        os.close(fd)
        pc = os.open("__pycache__", os.O_RDONLY | os.O_DIRECTORY, dir_fd=mid)
        self.assertEqual(sorted(os.listdir(pc)), ["mid.cpython-312.pyc"])
        os.close(pc)
        os.close(mid)
        self.assert_canary()


class Output(CleanCase):
    """Output that cannot be written stops the run at once: nothing more is removed, and the
    records of the removals already done (at most one batch: the first directory here) that
    did not reach stdout are written to stderr instead, so the truth is still told."""

    # cli_flush_log's line before the records it could not write to stdout
    MARK_RE = re.compile(rb"cannot write output: [^;\n]*; these \d+ records? (?:were|was) not "
                         rb"written \([^)\n]*\):\n")

    def unwritten(self, p, mode, root):
        """Paths (relative to root) of the removals that stderr records after the marker."""
        m = self.MARK_RE.search(p.stderr)
        self.assertTrue(m, p.stderr)
        tail = p.stderr[m.end():]
        paths = []
        for line in tail.splitlines():
            if "--json" in mode:
                o = json.loads(line)
                if o.get("action") in ("removed", "would-remove"):
                    paths.append(o["path"])
            else:
                m = re.match(rb"^(?:removed|would remove)(?: directory)? '(.*)'$", line)
                if m:
                    paths.append(os.fsdecode(m.group(1)))
        return sorted(os.path.relpath(x, root) for x in paths)

    def check_stopped(self, p, mode, root, before):
        gone = self.unwritten(p, mode, root)
        self.assertTrue(gone, "the first batch was removed and recorded on stderr")
        self.assertLessEqual(len(gone), 128)
        self.assertEqual(len({os.path.dirname(g).replace("/__pycache__", "") for g in gone}),
                         1, "nothing removed after the first directory: %r" % gone)
        self.assert_tree(before, root, [] if "-n" in mode else gone)

    def test_full_disk_stops_after_one_batch(self):
        for mode in ([], ["--json"], ["-n"]):
            with self.subTest(mode=mode):
                root = os.path.join(self.target, "t%d" % len(mode[0] if mode else ""))
                for i in range(30):
                    make_tree(os.path.join(root, "more%02d" % i))
                before = snapshot(root)
                with open("/dev/full", "wb") as full:
                    p = self.clean(["--unused"] + mode + T + [root], rc=2, stdout=full)
                self.assertIn(b"cannot write output: No space left on device", p.stderr)
                self.check_stopped(p, mode, root, before)
        self.assert_canary()

    def test_closed_pipe_stops_after_one_batch(self):
        for mode in ([], ["--json"], ["-n"]):
            with self.subTest(mode=mode):
                root = os.path.join(self.target, "t%d" % len(mode[0] if mode else ""))
                make_tree(root)
                before = snapshot(root)
                r, w = os.pipe()
                os.close(r)
                try:
                    p = self.clean(["--unused"] + mode + T + [root], rc=2, stdout=w)
                finally:
                    os.close(w)
                self.assertIn(b"cannot write output: Broken pipe", p.stderr)
                self.check_stopped(p, mode, root, before)
        self.assert_canary()


class MountsAndExcludes(CleanCase):
    def test_bind_mount_inside_the_target_is_not_crossed(self):
        make_tree(self.target)
        mnt = os.path.join(self.target, "pkg", "mnt")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "--bind", self.canary, mnt], stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount (%s): this test needs root" % p.stderr.decode().strip())
        self.mounts.append(mnt)
        before = snapshot(self.canary)
        recs, summary, _ = self.clean_json(["--unused", "--sourceless"] + T + [self.target])
        files, dirs = expected(SELECTORS["--unused"] | {"sourceless"})
        self.assertEqual(summary["mounts_not_crossed"], 1)
        self.assertEqual([(r["type"], r["path"]) for r in recs if r["type"] == "error"],
                         [("error", mnt)])
        self.assertEqual(sorted(self.actions(recs, self.target)), sorted(files))
        subprocess.run(["umount", mnt], check=True)
        self.assertEqual(snapshot_diff(before, snapshot(self.canary)), ([], [], []))
        after = snapshot(self.target)
        for f in files + dirs:
            self.assertNotIn(os.fsencode(f), after)
        for f in STATUS:
            if f not in files:
                self.assertIn(os.fsencode(f), after)
        self.assert_canary()

    def test_paths_naming_the_same_files_through_a_bind_mount_are_refused(self):
        # the same files through another mount: refused like the same PATH twice, since the
        # dry run would list them twice and the real run find them gone the second time
        make_tree(self.target)
        before = snapshot(self.target)
        binds = {}
        for name, src in (("whole", self.target), ("part", os.path.join(self.target, "pkg"))):
            mnt = os.path.join(self.tmp, name)
            os.mkdir(mnt)
            p = subprocess.run(["mount", "--bind", src, mnt], stderr=subprocess.PIPE)
            if p.returncode != 0:
                self.fail("cannot mount (%s): this test needs root" % p.stderr.decode().strip())
            self.mounts.append(mnt)
            binds[name] = mnt
        t = self.target
        for paths, said in (([t, binds["whole"]], "'%s' is the same as '%s'" % (binds["whole"], t)),
                            ([binds["part"], t], "'%s' is inside '%s'" % (binds["part"], t)),
                            ([binds["whole"] + "/pkg", binds["part"]],
                             "'%s' is the same as '%s/pkg'" % (binds["part"], binds["whole"]))):
            for mode in ([], ["-n"]):
                with self.subTest(paths=paths, mode=mode):
                    p = self.clean(["--unused"] + mode + T + paths, rc=2)
                    self.assertEqual(p.stdout, b"")
                    self.assertIn(said.encode(), p.stderr)
                    self.assert_tree(before, self.target, [])
        # scan warns and goes on
        p = run(["scan"] + T + [t, binds["part"]])
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"warning: '%s' is inside '%s'" % (binds["part"].encode(), t.encode()),
                      p.stderr)
        for m in reversed(self.mounts):
            subprocess.run(["umount", m], check=True)
        self.mounts = []
        self.assert_canary()

    def test_excluded_directories_keep_their_caches(self):
        for sub in ("app", ".git/x", "node_modules/p", ".hg", ".svn", "build/lib", "deep/build"):
            make_tree(os.path.join(self.target, sub))
        before = snapshot(self.target)
        files, dirs = expected(SELECTORS["--unused"])
        self.clean(["--unused", "--exclude", "build", "--exclude", "old.*.pyc"] + T + [self.target])
        gone = ["app/" + f for f in files + dirs if not f.endswith("/old.cpython-311.pyc")]
        self.assert_tree(before, self.target, gone)
        self.assert_canary()
        before = snapshot(self.target)
        self.clean(["--unused", "--no-default-excludes", "--exclude", "build"] + T + [self.target])
        gone2 = ["app/pkg/__pycache__/old.cpython-311.pyc"] + [
            sub + "/" + f for sub in (".git/x", "node_modules/p", ".hg", ".svn")
            for f in files + dirs]
        self.assert_tree(before, self.target, gone2)
        self.assert_canary()

    def test_a_named_excluded_directory_is_cleaned(self):
        make_tree(os.path.join(self.target, "node_modules"))
        before = snapshot(self.target)
        files, dirs = expected(SELECTORS["--unused"])
        self.clean(["--unused"] + T + [os.path.join(self.target, "node_modules")])
        self.assert_tree(before, self.target, ["node_modules/" + f for f in files + dirs])
        self.assert_canary()


if __name__ == "__main__":
    main()
