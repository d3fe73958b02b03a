#!/usr/bin/env python3
"""`pycinspect scan` over trees generated here: output forms, exit codes, paths, symlinks, FIFOs,
odd names, unreadable directories, output errors and deep trees.

Caches are written by hand (a CPython 3.12 header whose mtime and size match the source, or are
10 s off), and every scan passes --target 3.12 so that nothing depends on the PATH.
"""
import json
import os
import re
import resource
import shutil
import signal
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import (BIN, CODE_BODY, PYC_KEYS, STATUSES, make_cache, module, run, scan_json,
                     write_file)

T = ["--target", "3.12"]
SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def lines(proc):
    return proc.stdout.decode("utf-8", "surrogateescape").splitlines()


def paths_of(pycs):
    return [clitest.fs(o["path"]) for o in pycs]


class TextOutput(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        r = self.root = os.path.join(self.tmp, "proj")
        module(r, "a.py")
        module(r, "b.py", fresh=False)
        self.orphan = module(r, "c.py")
        os.unlink(os.path.join(r, "c.py"))

    def test_non_fresh_lines_then_summary(self):
        p = run(["scan"] + T + [self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        r = self.root
        self.assertEqual(lines(p), [
            "stale      3.12     %s/__pycache__/b.cpython-312.pyc: source mtime differs" % r,
            "orphaned   3.12     %s/__pycache__/c.cpython-312.pyc: source is gone" % r,
            "",
            "3 caches, 240 B",
            "  fresh             1  80 B",
            "  stale             1  80 B",
            "  orphaned          1  80 B",
            "findings: 1 harmless (stale: rewritten on the next import), 1 to look at "
            "(1 orphaned)",
            "by version:",
            "  3.12              3  240 B  (1 fresh, 1 stale, 1 orphaned)",
            "targets: 3.12 (from --target)",
        ])

    def test_check_takes_the_statuses_that_fail(self):
        # b is stale (harmless: rewritten on import), c orphaned; u is an unchecked-hash cache
        # whose source changed: Python runs it as it is
        u = os.path.join(self.root, "u.py")
        clitest.write_file(u)
        cache = clitest.make_cache(u)
        with open(cache, "r+b") as f:
            f.seek(4)
            f.write(b"\x01\x00\x00\x00" + b"\xff" * 8)  # flags 1, a hash of other bytes
        p = run(["scan"] + T + [self.root])
        self.assertIn("findings: 1 harmless (stale: rewritten on the next import), 2 to look at "
                      "(1 unchecked-stale: run as they are, 1 orphaned)", lines(p))
        for check, rc in (("--check", 1), ("--check=stale", 1), ("--check=orphaned", 1),
                          ("--check=unchecked-stale", 1), ("--check=invalid,foreign", 0),
                          ("--check=sourceless", 0), ("--check=foreign,orphaned", 1)):
            with self.subTest(check=check):
                p = run(["scan", "-qq", check] + T + [self.root])
                self.assertEqual(p.returncode, rc, p.stderr)
        os.unlink(self.orphan)
        os.unlink(cache)
        p = run(["scan", "-qq", "--check=orphaned,unchecked-stale"] + T + [self.root])
        self.assertEqual(p.returncode, 0, p.stderr)  # only the harmless stale b is left
        p = run(["scan", "--check=fresh"] + T + [self.root])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"invalid --check 'fresh'", p.stderr)

    def test_all_lists_fresh_caches_too(self):
        for opt in ("--all", "-a"):
            p = run(["scan", opt] + T + [self.root])
            self.assertEqual(p.returncode, 0, p.stderr)
            out = lines(p)
            self.assertEqual(out[0], "fresh      3.12     %s/__pycache__/a.cpython-312.pyc"
                             % self.root)
            self.assertTrue(out[1].startswith("stale "))
            self.assertTrue(out[2].startswith("orphaned "))
            self.assertEqual(out[3], "")

    def test_only_fresh_caches_print_only_the_summary(self):
        os.unlink(self.orphan)
        module(self.root, "b.py")
        p = run(["scan"] + T + [self.root])
        self.assertEqual(p.returncode, 0)
        self.assertEqual(lines(p)[:2], ["2 caches, 160 B", "  fresh             2  160 B"])

    def test_json_record_shape(self):
        pycs, errors, summary, _ = scan_json(["--all"] + T + [self.root])
        self.assertEqual(errors, [])
        self.assertEqual(len(pycs), 3)
        for o in pycs:
            self.assertEqual(list(o), PYC_KEYS)
        a = pycs[0]
        self.assertEqual(a, {
            "type": "pyc", "path": self.root + "/__pycache__/a.cpython-312.pyc",
            "status": "fresh", "version": "3.12", "implementation": "cpython", "magic": 3531,
            "magic_label": "3.12b1", "mode": "timestamp", "source": self.root + "/a.py",
            "foreign": False, "reasons": [], "size": 80, "layout": "pycache",
            "tag": "cpython-312", "optimization": None})
        # JSON lists every cache with or without --all (docs/json.md); only text leaves fresh
        # ones out
        pycs2, _, summary2, _ = scan_json(T + [self.root])
        self.assertEqual(pycs2, pycs)
        self.assertEqual(summary2, summary)


class OptLevels(clitest.TempDirCase):
    def test_levels_no_import_looks_up_are_orphaned(self):
        """cache_from_source(optimization="x") or "0" names a cache that no import ever reads
        (the level is sys.flags.optimize, and 0 means none): this interpreter decides."""
        import importlib.util
        import py_compile
        root = os.path.join(self.tmp, "p")
        os.mkdir(root)
        src = os.path.join(root, "m.py")
        write_file(src, b"x = 1\n")
        dead = [py_compile.compile(src, cfile=importlib.util.cache_from_source(src, optimization=o),
                                   doraise=True) for o in ("x", "0")]
        env = clitest.env_c()
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        read = []
        for flags in ([], ["-O"], ["-OO"], ["-OOO"]):
            p = subprocess.run([sys.executable, "-E"] + flags + ["-v", "-c", "import m"], cwd=root,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.assertEqual(p.returncode, 0, p.stderr)
            read += [l for l in p.stderr.decode().splitlines() if "code object from" in l
                     and os.path.join(root, "__pycache__") in l]
        self.assertFalse([l for l in read for d in dead if d in l], read)  # never read
        tag = sys.implementation.cache_tag
        pycs, _, _, _ = scan_json(["--target", "%d.%d" % sys.version_info[:2], root])
        got = {os.path.basename(o["path"]): (o["status"], o["reasons"]) for o in pycs}
        bad = ("orphaned", ["not a cache name any import looks up"])
        self.assertEqual(got["m.%s.opt-x.pyc" % tag], bad)
        self.assertEqual(got["m.%s.opt-0.pyc" % tag], bad)
        # what the imports wrote, .opt-3 for -OOO included, is fresh
        for name in ("m.%s.pyc", "m.%s.opt-1.pyc", "m.%s.opt-2.pyc", "m.%s.opt-3.pyc"):
            self.assertEqual(got[name % tag], ("fresh", []), name)


class ExitCodes(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.fresh = os.path.join(self.tmp, "fresh")
        module(self.fresh, "a.py")
        module(self.fresh, "pkg/__init__.py")
        self.stale = os.path.join(self.tmp, "stale")
        module(self.stale, "a.py")
        module(self.stale, "b.py", fresh=False)

    def test_check(self):
        for extra in ([], ["--json"], ["--all"]):
            p = run(["scan", "--check"] + extra + T + [self.fresh])
            self.assertEqual(p.returncode, 0, (extra, p.stderr))
            p = run(["scan", "--check"] + extra + T + [self.stale])
            self.assertEqual(p.returncode, 1, (extra, p.stderr))
            p = run(["scan", "--check"] + extra + T + [self.fresh, self.stale])
            self.assertEqual(p.returncode, 1, (extra, p.stderr))

    def test_check_counts_every_status(self):
        orphan = os.path.join(self.tmp, "orphan")
        module(orphan, "gone.py")
        os.unlink(os.path.join(orphan, "gone.py"))
        foreign = os.path.join(self.tmp, "foreign")
        module(foreign, "a.py")
        for root, targets in ((orphan, "3.12"), (foreign, "3.11")):
            p = run(["scan", "--check", "--target", targets, root])
            self.assertEqual(p.returncode, 1, root)

    def test_without_check_findings_exit_0(self):
        p = run(["scan"] + T + [self.stale])
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"stale ", p.stdout)

    def usage_error(self, args, want_stderr):
        p = run(args)
        self.assertEqual(p.returncode, 2, args)
        self.assertRegex(p.stderr.decode(), want_stderr)
        return p

    def test_bad_option(self):
        p = self.usage_error(["scan", "--bogus", self.fresh], r"--bogus")
        self.assertEqual(p.stdout, b"")
        self.usage_error(["scan", "-x", self.fresh], r"invalid option|-- 'x'")
        self.usage_error(["scan", "--target"], r"requires an argument")

    def test_bad_target(self):
        for bad in ("9.x", "cpython", "3.12,banana", ""):
            p = self.usage_error(["scan", "--target", bad, self.fresh],
                                 r"invalid target in '%s'" % re.escape(bad))
            self.assertEqual(p.stdout, b"")

    def test_unknown_target_version(self):
        # a typo would make every cache foreign (and clean --all remove it): refused
        for bad, name in (("3.21", "3.21"), ("3.12,3.99", "3.99"), ("cpython-399", "3.99"),
                          ("pypy3.99", "pypy3.99")):
            p = self.usage_error(["scan", "--target", bad, self.fresh],
                                 r"unknown interpreter version '%s' in --target '%s'"
                                 % (re.escape(name), re.escape(bad)))
            self.assertEqual(p.stdout, b"")
        for good in ("3.12", "2.7", "pypy3.10", "3.16"):
            p = run(["scan", "--target", good, self.fresh])
            self.assertEqual(p.returncode, 0, (good, p.stderr))

    def test_bad_check_source(self):
        p = self.usage_error(["scan", "--check-source", "sometimes", self.fresh],
                             r"invalid --check-source 'sometimes'")
        self.assertEqual(p.stdout, b"")
        self.usage_error(["scan", "--check-source=", self.fresh], r"invalid --check-source")

    def test_nonexistent_path(self):
        missing = os.path.join(self.tmp, "missing")
        self.usage_error(["scan"] + T + [missing],
                         r"cannot scan '%s': No such file or directory" % re.escape(missing))
        # the other paths are still scanned, and --check does not hide the error
        p = run(["scan", "--json", "--all", "--check"] + T + [missing, self.fresh])
        self.assertEqual(p.returncode, 2)
        pycs, errors, summary = clitest.parse_jsonl(p.stdout)
        self.assertEqual(len(pycs), 2)
        # a reader of the JSON alone sees the PATH that was not scanned
        self.assertEqual(errors, [{"type": "error", "path": missing, "message": "cannot scan",
                                   "errno": 2}])
        self.assertEqual(summary["errors"], 1)
        p = run(["scan"] + T + [missing, self.fresh])
        self.assertIn(b"errors: 1 (see stderr)\n", p.stdout)

    def test_path_that_is_not_a_cache(self):
        src = os.path.join(self.fresh, "a.py")
        p = run(["scan", "--json"] + T + [src])
        self.assertEqual(p.returncode, 2)
        _, errors, summary = clitest.parse_jsonl(p.stdout)
        self.assertEqual([e["message"] for e in errors],
                         ["not a directory, a .pyc/.pyo/$py.class file or an archive"])
        self.usage_error(["scan"] + T + [src],
                         r"'%s' is not a directory, a \.pyc/\.pyo/\$py\.class file or an "
                         r"archive" % re.escape(src))

    def test_help(self):
        p = run(["scan", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"usage: pycinspect scan"))


class Paths(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.x = os.path.join(self.tmp, "x")
        self.fresh = module(self.x, "a.py")
        self.stale = module(self.x, "b.py", fresh=False)
        self.sub = module(self.x, "sub/c.py")

    def test_default_path_is_dot(self):
        pycs, _, summary, _ = scan_json(["--all"] + T, cwd=self.x)
        self.assertEqual([o["path"] for o in pycs], [
            "./__pycache__/a.cpython-312.pyc", "./__pycache__/b.cpython-312.pyc",
            "./sub/__pycache__/c.cpython-312.pyc"])
        self.assertEqual([o["source"] for o in pycs], ["./a.py", "./b.py", "./sub/c.py"])
        self.assertEqual([o["status"] for o in pycs], ["fresh", "stale", "fresh"])
        p = run(["scan"] + T, cwd=self.x)
        self.assertEqual(lines(p)[0],
                         "stale      3.12     ./__pycache__/b.cpython-312.pyc: source mtime differs")

    def test_root_joined_with_path_below(self):
        cases = {
            "x": "x/", "./x": "./x/", "x/": "x/", "./x/": "./x/", self.x: self.x + "/",
            self.x + "/": self.x + "/",
        }
        for root, prefix in cases.items():
            pycs, _, _, _ = scan_json(["--all"] + T + [root], cwd=self.tmp)
            with self.subTest(root=root):
                self.assertEqual([o["path"] for o in pycs], [
                    prefix + "__pycache__/a.cpython-312.pyc",
                    prefix + "__pycache__/b.cpython-312.pyc",
                    prefix + "sub/__pycache__/c.cpython-312.pyc"])
                self.assertEqual([o["source"] for o in pycs],
                                 [prefix + "a.py", prefix + "b.py", prefix + "sub/c.py"])
        p = run(["scan"] + T + ["./x"], cwd=self.tmp)
        self.assertIn("stale      3.12     ./x/__pycache__/b.cpython-312.pyc: ", lines(p)[0])

    def test_multiple_paths(self):
        y = os.path.join(self.tmp, "y")
        module(y, "d.py", fresh=False)
        pycs, _, summary, _ = scan_json(["--all"] + T + ["y", "x/sub", "x/__pycache__"],
                                        cwd=self.tmp)
        self.assertEqual([o["path"] for o in pycs], [
            "y/__pycache__/d.cpython-312.pyc", "x/sub/__pycache__/c.cpython-312.pyc",
            "x/__pycache__/a.cpython-312.pyc", "x/__pycache__/b.cpython-312.pyc"])
        self.assertEqual([o["status"] for o in pycs], ["stale", "fresh", "fresh", "stale"])
        self.assertEqual(summary["caches"], 4)
        self.assertEqual(summary["by_status"]["stale"]["count"], 2)
        # the same path twice is scanned twice, as the caller asked, with a warning; so is a
        # path inside another, unless the other's walk leaves it out
        pycs, _, summary, p = scan_json(["--all"] + T + ["x/sub", "x/sub"], cwd=self.tmp)
        self.assertEqual(len(pycs), 2)
        self.assertEqual(p.stderr, b"pycinspect: warning: 'x/sub' is the same as 'x/sub': its "
                         b"caches are reported again\n")
        pycs, _, summary, p = scan_json(T + ["x", "x/sub/__pycache__/c.cpython-312.pyc",
                                             "./x/sub"], cwd=self.tmp)
        self.assertEqual(len(pycs), 5)
        self.assertEqual(p.stderr.decode().splitlines(), [
            "pycinspect: warning: 'x/sub/__pycache__/c.cpython-312.pyc' is inside 'x': it is "
            "reported again",
            "pycinspect: warning: './x/sub' is inside 'x': its caches are reported again"])
        pycs, _, summary, p = scan_json(T + ["--exclude", "sub", "x", "x/sub"], cwd=self.tmp)
        self.assertEqual(len(pycs), 3)
        self.assertEqual(p.stderr, b"")
        # a PATH the walk refuses (not a cache) gets that error alone, not a warning too
        p = run(["scan"] + T + ["x", "x/a.py"], cwd=self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, b"pycinspect: 'x/a.py' is not a directory, a "
                         b".pyc/.pyo/$py.class file or an archive\n")

    def assert_source(self, o, real):
        self.assertTrue(os.path.samefile(os.path.join(self.tmp, o["source"]), real), o)

    def test_single_cache_in_pycache(self):
        for rel, status in (("x/__pycache__/a.cpython-312.pyc", "fresh"),
                            ("x/__pycache__/b.cpython-312.pyc", "stale"),
                            ("x/sub/__pycache__/c.cpython-312.pyc", "fresh")):
            for given in (rel, "./" + rel, os.path.join(self.tmp, rel)):
                pycs, _, summary, _ = scan_json(["--all"] + T + [given], cwd=self.tmp)
                with self.subTest(given=given):
                    self.assertEqual(len(pycs), 1)
                    o = pycs[0]
                    self.assertEqual(o["path"], given)
                    self.assertEqual(o["status"], status)
                    self.assertEqual(o["layout"], "pycache")
                    src = os.path.join(self.tmp, os.path.dirname(os.path.dirname(rel)),
                                       os.path.basename(rel).split(".")[0] + ".py")
                    self.assert_source(o, src)
                    self.assertEqual(summary["caches"], 1)
        # from inside the __pycache__ itself
        pycs, _, _, _ = scan_json(["--all"] + T + ["a.cpython-312.pyc"],
                                  cwd=os.path.join(self.x, "__pycache__"))
        self.assertEqual((pycs[0]["path"], pycs[0]["status"]), ("a.cpython-312.pyc", "fresh"))
        self.assertTrue(os.path.samefile(
            os.path.join(self.x, "__pycache__", pycs[0]["source"]), os.path.join(self.x, "a.py")))

    def test_single_legacy_cache(self):
        src = os.path.join(self.tmp, "leg.py")
        write_file(src, b"x = 27\n")
        secs = int(os.stat(src).st_mtime)
        write_file(os.path.join(self.tmp, "leg.pyc"), struct.pack("<HBBI", 62211, 13, 10, secs) + CODE_BODY)
        write_file(os.path.join(self.tmp, "lonely.pyc"), clitest.header_312(secs, 7) + CODE_BODY)
        for name, status, version in (("leg.pyc", "fresh", "2.7"),
                                      ("lonely.pyc", "sourceless", "3.12")):
            pycs, _, _, _ = scan_json(["--all", "--target", "2.7,3.12", name], cwd=self.tmp)
            with self.subTest(name=name):
                self.assertEqual(len(pycs), 1)
                o = pycs[0]
                self.assertEqual((o["path"], o["status"], o["version"], o["layout"], o["tag"]),
                                 (name, status, version, "legacy", None))
                self.assertEqual(os.path.normpath(o["source"]), name[:-1])

    def test_pycache_dir_as_path(self):
        pc = os.path.join(self.x, "__pycache__")
        for given, cwd in (("x/__pycache__", self.tmp), ("x/__pycache__/", self.tmp),
                           (pc, self.tmp), ("__pycache__", self.x), (".", pc)):
            pycs, _, _, _ = scan_json(["--all"] + T + [given], cwd=cwd)
            with self.subTest(given=given, cwd=cwd):
                self.assertEqual([o["status"] for o in pycs], ["fresh", "stale"])
                self.assertEqual([o["layout"] for o in pycs], ["pycache", "pycache"])
                self.assertEqual([os.path.basename(o["path"]) for o in pycs],
                                 ["a.cpython-312.pyc", "b.cpython-312.pyc"])
                for o, name in zip(pycs, ("a.py", "b.py")):
                    self.assertTrue(os.path.samefile(os.path.join(cwd, o["path"]),
                                                     os.path.join(pc, os.path.basename(o["path"]))))
                    self.assertTrue(os.path.samefile(os.path.join(cwd, o["source"]),
                                                     os.path.join(self.x, name)))


class Symlinks(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        self.real = module(self.root, "a.py")

    def test_symlink_named_like_a_cache(self):
        pc = os.path.join(self.root, "__pycache__")
        write_file(os.path.join(self.root, "l.py"))
        os.symlink("a.cpython-312.pyc", os.path.join(pc, "l.cpython-312.pyc"))
        write_file(os.path.join(self.root, "d.py"))
        os.symlink("nowhere.pyc", os.path.join(pc, "d.cpython-312.pyc"))
        os.mkfifo(os.path.join(self.tmp, "fifo"))
        write_file(os.path.join(self.root, "f.py"))
        os.symlink(os.path.join(self.tmp, "fifo"), os.path.join(pc, "f.cpython-312.pyc"))
        pycs, _, _, _ = scan_json(["--all"] + T + [self.root], timeout=20)
        got = {os.path.basename(o["path"]): o for o in pycs}
        self.assertEqual(got["a.cpython-312.pyc"]["status"], "fresh")
        for name in ("l.cpython-312.pyc", "d.cpython-312.pyc", "f.cpython-312.pyc"):
            o = got[name]
            with self.subTest(name=name):
                self.assertEqual(o["status"], "invalid")
                self.assertEqual(o["reasons"], ["not a regular file"])
                # never opened: nothing of the target's header, and the link's own size
                self.assertIsNone(o["magic"])
                self.assertIsNone(o["mode"])
                self.assertIsNone(o["version"])
                self.assertEqual(o["size"], os.lstat(os.path.join(pc, name)).st_size)
        # named on the command line, it is refused as a symlink root
        p = run(["scan"] + T + [os.path.join(pc, "l.cpython-312.pyc")], timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"symbolic link", p.stderr)

    def test_symlinked_directory_is_not_walked(self):
        other = os.path.join(self.tmp, "other")
        module(other, "b.py")
        os.symlink(other, os.path.join(self.root, "outside"))
        os.symlink("sub", os.path.join(self.root, "inside"))
        module(self.root, "sub/c.py")
        # a __pycache__ that is a symlink is not entered either
        module(other, "pkg/d.py")
        write_file(os.path.join(self.root, "pk2/d.py"))
        os.symlink(os.path.join(other, "pkg", "__pycache__"),
                   os.path.join(self.root, "pk2", "__pycache__"))
        pycs, _, summary, _ = scan_json(["--all"] + T + [self.root])
        self.assertEqual(sorted(os.path.relpath(o["path"], self.root) for o in pycs),
                         ["__pycache__/a.cpython-312.pyc", "sub/__pycache__/c.cpython-312.pyc"])
        self.assertEqual(summary["errors"], 0)

    def test_symlink_root_refused_but_slash_walked(self):
        link = os.path.join(self.tmp, "link")
        os.symlink("root", link)
        for args in (["link"], ["--json", "link"], [link]):
            p = run(["scan"] + T + args, cwd=self.tmp)
            with self.subTest(args=args):
                self.assertEqual(p.returncode, 2)
                self.assertIn(b"is a symbolic link, not followed", p.stderr)
                self.assertNotIn(b"a.cpython-312.pyc", p.stdout)
        pycs, _, _, _ = scan_json(["--all"] + T + ["link/"], cwd=self.tmp)
        self.assertEqual([o["path"] for o in pycs], ["link/__pycache__/a.cpython-312.pyc"])
        self.assertEqual(pycs[0]["status"], "fresh")

    def test_symlink_loops(self):
        os.symlink("self", os.path.join(self.root, "self"))
        os.symlink("b", os.path.join(self.root, "a"))
        os.symlink("a", os.path.join(self.root, "b"))
        os.symlink("..", os.path.join(self.root, "up"))
        os.symlink(".", os.path.join(self.root, "here"))
        os.symlink("self", os.path.join(self.root, "__pycache__", "x.cpython-312.pyc"))
        write_file(os.path.join(self.root, "x.py"))
        pycs, errors, summary, _ = scan_json(["--all"] + T + [self.root], timeout=20)
        self.assertEqual([(os.path.basename(o["path"]), o["status"]) for o in pycs],
                         [("a.cpython-312.pyc", "fresh"), ("x.cpython-312.pyc", "invalid")])
        self.assertEqual(errors, [])
        for name in ("self", "a"):
            p = run(["scan"] + T + [os.path.join(self.root, name)], timeout=20)
            self.assertEqual(p.returncode, 2)
            p = run(["scan"] + T + [os.path.join(self.root, name) + "/"], timeout=20)
            self.assertEqual(p.returncode, 2)

    def test_symlink_loop_with_slash_message(self):
        """A looping symlink written with a trailing slash cannot be fixed by another slash."""
        os.symlink("self", os.path.join(self.root, "self"))
        p = run(["scan"] + T + ["root/self/"], cwd=self.tmp, timeout=20)
        self.assertEqual(p.returncode, 2)
        self.assertNotIn(b"root/self//", p.stderr, "the hint suggests a path that loops too")


class Fifos(clitest.TempDirCase):
    def test_fifo_cache_does_not_hang(self):
        root = os.path.join(self.tmp, "root")
        module(root, "a.py")
        write_file(os.path.join(root, "m.py"))
        fifo = os.path.join(root, "__pycache__", "m.cpython-312.pyc")
        os.mkfifo(fifo)
        os.mkfifo(os.path.join(root, "legacy.pyc"))
        for args in ([root], [fifo], [os.path.join(root, "legacy.pyc")]):
            pycs, _, _, _ = scan_json(["--all"] + T + args, timeout=20)
            with self.subTest(args=args):
                fifos = [o for o in pycs if o["path"] in (fifo, os.path.join(root, "legacy.pyc"))]
                self.assertEqual(len(fifos), 2 if args == [root] else 1)
                for o in fifos:
                    self.assertEqual(o["status"], "invalid")
                    self.assertEqual(o["reasons"], ["not a regular file"])
                    self.assertIsNone(o["magic"])

    def test_fifo_source_of_a_hash_cache(self):
        root = os.path.join(self.tmp, "root")
        src = os.path.join(root, "h.py")
        os.makedirs(root)
        os.mkfifo(src)
        cache = os.path.join(root, "__pycache__", "h.cpython-312.pyc")
        write_file(cache, struct.pack("<HBBI", 3531, 13, 10, 3) + b"\0" * 8 + CODE_BODY)
        pycs, _, _, _ = scan_json(["--all", "--check-source", "always"] + T + [root], timeout=20)
        self.assertEqual(len(pycs), 1)
        self.assertEqual(pycs[0]["mode"], "checked-hash")
        self.assertEqual(pycs[0]["status"], "orphaned")
        self.assertIn("source is not a regular file", pycs[0]["reasons"])


ODD_STEMS = [b"new\nline", b"quo'te", b"bad\xff\xfe", b'dq"back\\slash', b"esc\x1b[31m",
             b"caf\xc3\xa9", b"tab\tx", b"cr\rx"]


class OddNames(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        broot = os.fsencode(self.root)
        self.caches = {}
        for stem in ODD_STEMS:
            src = os.path.join(broot, stem + b".py")
            write_file(src)
            self.caches[make_cache(src)] = src
        # a directory whose name is not UTF-8 either
        src = os.path.join(broot, b"dir\xe9\n", b"m.py")
        write_file(src)
        self.caches[make_cache(src, fresh=False)] = src

    def test_json_round_trip(self):
        pycs, _, _, p = scan_json(["--all"] + T + [self.root])
        self.assertEqual(sorted(paths_of(pycs)), sorted(self.caches))
        for o in pycs:
            path = clitest.fs(o["path"])
            with self.subTest(path=path):
                self.assertEqual(clitest.fs(o["source"]), self.caches[path])
                self.assertEqual(o["status"], "stale" if b"dir\xe9" in path else "fresh")
        # one object per line: no raw control character inside a line
        for line in p.stdout.split(b"\n")[:-1]:
            self.assertFalse(re.search(rb"[\x00-\x1f]", line), line)

    def test_text_output_quotes(self):
        p = run(["scan", "--all"] + T + [self.root])
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode("utf-8", "surrogateescape")
        self.assertNotIn("\x1b", out)
        self.assertNotIn("\r", out)
        recs = out.split("\n\n")[0].split("\n")
        self.assertEqual(len(recs), len(self.caches), out)
        r = self.root
        want = [
            "$'%s/__pycache__/new\\nline.cpython-312.pyc'" % r,
            "$'%s/__pycache__/quo\\'te.cpython-312.pyc'" % r,
            "$'%s/__pycache__/bad\\xff\\xfe.cpython-312.pyc'" % r,
            "$'%s/__pycache__/esc\\x1b[31m.cpython-312.pyc'" % r,
            "$'%s/__pycache__/tab\\tx.cpython-312.pyc'" % r,
            "$'%s/__pycache__/cr\\rx.cpython-312.pyc'" % r,
            "$'%s/dir\\xe9\\n/__pycache__/m.cpython-312.pyc': source mtime differs" % r,
            " %s/__pycache__/café.cpython-312.pyc" % r,
        ]
        for w in want:
            self.assertTrue(any(w in line for line in recs), "%r not in %r" % (w, recs))


# Characters a terminal or a Unicode reader takes as a line break, a control or a reordering:
# text output writes names holding them as $'...' with their UTF-8 bytes as \xHH.
QUOTED_CHARS = [
    "\u0080", "\u0085", "\u009b", "\u009f",  # C1 controls; U+0085 is NEL
    "\u2028", "\u2029",  # line and paragraph separators
    "\u061c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069",  # bidi controls
    "\ufdd0", "\ufdef", "\ufffe", "\uffff", "\U0001fffe", "\U0010ffff",  # noncharacters
]
# Their neighbours, and other characters that are not controls: printed as they are.
PLAIN_CHARS = [
    "\u00a0", "\u00e9", "\u061b", "\u061d", "\u200b", "\u200d", "\u2027", "\u202f",
    "\u2064", "\u206a", "\ufdcf", "\ufdf0", "\ufeff", "\ufffd", "\U0001f600",
    "\U0010fffd",
]
# Characters GNU prints as they are although they are quoted here (output.c says why).
BIDI_CONTROLS = {"\u061c", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069"}


def bash_decode(quoted):
    """What bash makes of a word printed by pycinspect (quoted or not)."""
    p = subprocess.run([b"bash", b"-c", b"printf %s " + quoted], stdout=subprocess.PIPE,
                       check=True)
    return p.stdout


class SeparatorNames(clitest.TempDirCase):
    """Names holding C1 controls, line separators, bidi controls and noncharacters."""

    def setUp(self):
        super().setUp()
        self.root = os.path.join(self.tmp, "root")
        self.caches = {}  # character: the bytes of its cache's path
        for ch in QUOTED_CHARS + PLAIN_CHARS:
            src = os.path.join(os.fsencode(self.root), ("a" + ch + "b.py").encode())
            write_file(src)
            self.caches[ch] = make_cache(src, fresh=False)

    @staticmethod
    def expected_text(path, ch):
        """How the path of ch's cache is printed: $'...' with each byte of ch as \\xHH."""
        if ch not in QUOTED_CHARS:
            return path
        esc = "".join("\\x%02x" % c for c in ch.encode()).encode()
        return b"$'" + path.replace(ch.encode(), esc) + b"'"

    def test_text_quotes_them_byte_by_byte(self):
        p = run(["scan"] + T + [self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = p.stdout.split(b"\n\n")[0].split(b"\n")
        self.assertEqual(len(recs), len(self.caches), p.stdout)
        printed = {}
        for line in recs:
            m = re.fullmatch(rb"stale +3\.12 +(.*): source mtime differs", line)
            self.assertTrue(m, line)
            printed[bash_decode(m.group(1))] = m.group(1)
        self.assertEqual(sorted(printed), sorted(self.caches.values()))
        for ch, path in self.caches.items():
            with self.subTest(char="U+%04X" % ord(ch)):
                self.assertEqual(printed[path], self.expected_text(path, ch))

    def test_clean_text_quotes_them(self):
        p = run(["clean", "--stale", "--dry-run"] + T + [self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        removed = [l for l in p.stdout.split(b"\n") if l.endswith(b".pyc'")]
        self.assertEqual(len(removed), len(self.caches), p.stdout)
        for ch, path in self.caches.items():
            with self.subTest(char="U+%04X" % ord(ch)):
                want = self.expected_text(path, ch)
                if ch not in QUOTED_CHARS:
                    want = b"'" + want + b"'"  # as GNU rm: in single quotes
                self.assertIn(b"would remove " + want, removed)

    def test_json_holds_them_as_they_are(self):
        pycs, _, _, p = scan_json(["--all"] + T + [self.root])
        self.assertEqual(sorted(paths_of(pycs)), sorted(self.caches.values()))
        lines = p.stdout.split(b"\n")[:-1]
        self.assertEqual(len(lines), len(self.caches) + 1)  # and the summary
        for ch, path in self.caches.items():
            with self.subTest(char="U+%04X" % ord(ch)):
                # the character's own UTF-8, not a \\u escape (JSON escapes only C0 and DEL)
                raw = json.dumps(os.fsdecode(path), ensure_ascii=False).encode()
                self.assertTrue(any(b'"path":' + raw in line for line in lines), raw)

    def test_quoted_where_gnu_ls_quotes(self):
        """The outside truth: GNU ls in a UTF-8 locale quotes the same characters, bidi
        controls aside."""
        env = dict(os.environ, LC_ALL="C.UTF-8")
        ls = lambda: subprocess.run(["ls", "-1", "--quoting-style=shell-escape",
                                     os.path.dirname(self.caches["\u00e9"])],
                                    stdout=subprocess.PIPE, env=env, check=True).stdout
        out = ls()
        if "a\u00e9b".encode() not in out:
            self.fail("ls does not print UTF-8 under LC_ALL=C.UTF-8: %r" % out)
        quoted_by_ls = {bash_decode(l) for l in out.split(b"\n") if b"$'" in l}
        for ch, path in self.caches.items():
            with self.subTest(char="U+%04X" % ord(ch)):
                gnu = os.path.basename(path) in quoted_by_ls
                self.assertEqual(gnu, ch in QUOTED_CHARS and ch not in BIDI_CONTROLS)


def drop_to_nobody_prepare(tmp):
    """Make tmp traversable by uid 65534 and copy the binary where it can run it."""
    for d, dirs, files in os.walk(tmp):
        os.chmod(d, 0o755)
        for f in files:
            os.chmod(os.path.join(d, f), 0o644, follow_symlinks=False)
    binary = os.path.join(tmp, "pycinspect")
    shutil.copy(BIN, binary)
    os.chmod(binary, 0o755)
    return binary


class Unreadable(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.fail("this test drops privileges with setpriv and needs root")
        if not shutil.which("setpriv"):
            self.fail("setpriv is needed")
        self.root = os.path.join(self.tmp, "root")
        for d in ("a", "locked", "pk", "zzz"):
            module(self.root, d + "/m.py")
        self.binary = drop_to_nobody_prepare(self.tmp)
        os.chmod(os.path.join(self.root, "locked"), 0)
        os.chmod(os.path.join(self.root, "pk", "__pycache__"), 0)

    def nobody(self, args):
        return subprocess.run(SETPRIV + [self.binary] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=60, env=clitest.env_c())

    def test_json(self):
        p = self.nobody(["scan", "--json", "--all"] + T + [self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        pycs, errors, summary = clitest.parse_jsonl(p.stdout)
        r = self.root
        self.assertEqual([o["path"] for o in pycs], [r + "/a/__pycache__/m.cpython-312.pyc",
                                                     r + "/zzz/__pycache__/m.cpython-312.pyc"])
        self.assertEqual({o["status"] for o in pycs}, {"fresh"})
        self.assertEqual(errors, [
            {"type": "error", "path": r + "/locked", "message": "cannot open directory",
             "errno": 13},
            {"type": "error", "path": r + "/pk/__pycache__", "message": "cannot open directory",
             "errno": 13}])
        self.assertEqual(summary["errors"], 2)
        self.assertEqual(p.stderr.decode().splitlines(), [
            "pycinspect: cannot open directory '%s/locked': Permission denied" % r,
            "pycinspect: cannot open directory '%s/pk/__pycache__': Permission denied" % r])
        # the error line comes in walk order, between the caches around it
        kinds = [json.loads(l)["type"] for l in p.stdout.decode().splitlines()]
        self.assertEqual(kinds, ["pyc", "error", "error", "pyc", "summary"])

    def test_text_and_check(self):
        p = self.nobody(["scan"] + T + [self.root])
        self.assertEqual(p.returncode, 0)
        self.assertIn("errors: 2 (see stderr)", lines(p))
        self.assertEqual(len(p.stderr.decode().splitlines()), 2)
        p = self.nobody(["scan", "--check"] + T + [self.root])
        self.assertEqual(p.returncode, 1)
        p = self.nobody(["scan", "--check", "--json"] + T + [self.root])
        self.assertEqual(p.returncode, 1)
        # the readable part alone is clean
        p = self.nobody(["scan", "--check"] + T + [os.path.join(self.root, "a")])
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_unreadable_root(self):
        p = self.nobody(["scan"] + T + [os.path.join(self.root, "locked")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"Permission denied", p.stderr)

    def test_unreadable_cache_file(self):
        cache = os.path.join(self.root, "a", "__pycache__", "m.cpython-312.pyc")
        os.chmod(cache, 0)
        p = self.nobody(["scan", "--json"] + T + [os.path.join(self.root, "a")])
        self.assertEqual(p.returncode, 0)
        pycs, _, _ = clitest.parse_jsonl(p.stdout)
        self.assertEqual([(o["status"], o["reasons"]) for o in pycs],
                         [("invalid", ["cannot be read"])])
        # not opened, but its size still counts (from a stat of its name)
        self.assertEqual(pycs[0]["size"], os.path.getsize(cache))
        _, _, summary = clitest.parse_jsonl(p.stdout)
        self.assertEqual(summary["bytes"], os.path.getsize(cache))
        p = self.nobody(["scan", "--check"] + T + [os.path.join(self.root, "a")])
        self.assertEqual(p.returncode, 1)
        # clean keeps it, and says why in the right words
        p = self.nobody(["clean", "--invalid", "-n"] + T + [os.path.join(self.root, "a")])
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"kept '%s': cannot be read" % cache.encode(), p.stderr)


class OutputErrors(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.small = os.path.join(self.tmp, "small")
        module(self.small, "a.py", fresh=False)
        # enough output to fill a pipe several times over
        self.big = os.path.join(self.tmp, "big")
        pc = os.path.join(self.big, "__pycache__")
        os.makedirs(pc)
        for i in range(3000):
            write_file(os.path.join(pc, "m%04d.cpython-312.pyc" % i), clitest.header_312(5, 5) + CODE_BODY)

    def write_errors(self, p):
        return [l for l in p.stderr.decode().splitlines() if "cannot write output" in l]

    def test_dev_full(self):
        for args in (["scan"] + T + [self.small], ["scan", "--json"] + T + [self.small],
                     ["scan", "--all"] + T + [self.big], ["scan", "--json"] + T + [self.big]):
            with open("/dev/full", "wb") as full, self.subTest(args=args[:2]):
                p = run(args, stdout=full)
                self.assertEqual(p.returncode, 2)
                self.assertIn("pycinspect: cannot write output: No space left on device",
                              self.write_errors(p))

    def test_dev_full_says_it_once(self):
        with open("/dev/full", "wb") as full:
            p = run(["scan", "--json"] + T + [self.big], stdout=full)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(self.write_errors(p),
                         ["pycinspect: cannot write output: No space left on device"])

    def test_pipe_closed_before_start(self):
        r, w = os.pipe()
        os.close(r)
        try:
            p = run(["scan", "--json"] + T + [self.small], stdout=w)
        finally:
            os.close(w)
        self.assertEqual(p.returncode, 2)
        # a reader that stopped reading is not worth a message; the exit status says it
        self.assertEqual(self.write_errors(p), [])

    def test_pipe_closed_early(self):
        """`pycinspect scan --json big | head -c1`: no crash, no death by SIGPIPE, exit 2, and
        no message (as `| head` users expect)."""
        for args in (["scan", "--json"] + T + [self.big], ["scan", "--all"] + T + [self.big]):
            p = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=clitest.env_c())
            first = p.stdout.read(1)
            p.stdout.close()
            err = p.stderr.read()
            rc = p.wait(timeout=60)
            with self.subTest(args=args[:2]):
                self.assertEqual(len(first), 1)
                self.assertNotEqual(rc, -signal.SIGPIPE, "killed by SIGPIPE")
                self.assertEqual(rc, 2, err)
                self.assertEqual(err, b"")

    def test_pipe_closed_early_clean_says_it(self):
        # clean is another matter: it stops removing, and says why
        p = subprocess.Popen([BIN, "clean", "--orphaned", "-n"] + T + [self.big],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clitest.env_c())
        p.stdout.read(1)
        p.stdout.close()
        err = p.stderr.read().decode()
        self.assertEqual(p.wait(timeout=60), 2)
        said = [l for l in err.splitlines() if "cannot write output" in l]
        self.assertEqual(len(said), 1, err)
        self.assertRegex(said[0], r"^pycinspect: cannot write output: Broken pipe; these \d+ "
                         r"records? (were|was) not written \(a dry run: nothing was removed\):$")

    def test_stdout_closed(self):
        p = subprocess.run("exec %s scan %s >&-" % (BIN, self.small), shell=True,
                           stderr=subprocess.PIPE, timeout=60, env=clitest.env_c())
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot write output", p.stderr)


class DeepTree(clitest.TempDirCase):
    DEPTH = 3000

    def test_deep_chain_with_few_descriptors(self):
        # built through descriptors: the full path is longer than PATH_MAX
        fd = os.open(self.tmp, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for _ in range(self.DEPTH):
                os.mkdir("d", dir_fd=fd)
                nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = nfd
            s = os.open("m.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(s, b"x = 1\n")
            os.close(s)
            st = os.stat("m.py", dir_fd=fd)
            os.mkdir("__pycache__", dir_fd=fd)
            pc = os.open("__pycache__", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            c = os.open("m.cpython-312.pyc", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=pc)
            os.write(c, clitest.header_312(int(st.st_mtime), st.st_size) + CODE_BODY)
            os.close(c)
            os.close(pc)
        finally:
            os.close(fd)

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))

        for args in (["--json", "--all"], ["--json", "--all", "--check"]):
            p = run(["scan"] + args + T + ["."], cwd=self.tmp, preexec_fn=few_fds, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            pycs, errors, summary = clitest.parse_jsonl(p.stdout)
            self.assertEqual(errors, [])
            self.assertEqual(len(pycs), 1)
            self.assertEqual(pycs[0]["path"], "." + "/d" * self.DEPTH + "/__pycache__/m.cpython-312.pyc")
            self.assertEqual(pycs[0]["source"], "." + "/d" * self.DEPTH + "/m.py")
            self.assertEqual(pycs[0]["status"], "fresh")
            self.assertEqual(summary["caches"], 1)

    def test_wide_and_deep_with_few_descriptors(self):
        """Descriptors are evicted and directories reopened: nothing is lost or seen twice."""
        p = self.tmp
        want = []
        for i in range(150):
            p = os.path.join(p, "d")
            want.append(module(p, "m.py", fresh=(i % 3 != 0)))
            for side in ("a", "z"):
                want.append(module(os.path.join(p, side), "s.py"))

        def few_fds():
            resource.setrlimit(resource.RLIMIT_NOFILE, (12, 12))

        proc = run(["scan", "--json", "--all"] + T + [self.tmp], preexec_fn=few_fds, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        pycs, errors, summary = clitest.parse_jsonl(proc.stdout)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(o["path"] for o in pycs), sorted(want))
        self.assertEqual(summary["by_status"]["stale"]["count"], 50)


class BrokenBodies(clitest.TempDirCase):
    def test_what_follows_the_header(self):
        r = os.path.join(self.tmp, "r")
        cases = {
            "ok": (CODE_BODY, "fresh", []),
            "ok_noref": (b"c" + CODE_BODY[1:], "fresh", []),
            "nobody": (b"", "invalid", ["no code after the header"]),
            "notcode": (b"N" + CODE_BODY[1:], "invalid", ["no code object after the header"]),
            "onebyte": (b"\xe3", "invalid", ["code object truncated"]),
        }
        for name, (body, _, _) in cases.items():
            src = os.path.join(r, name + ".py")
            write_file(src)
            make_cache(src, body=body)
        pycs, _, _, _ = scan_json(["--all"] + T + [r])
        got = {os.path.basename(o["path"]).split(".")[0]: o for o in pycs}
        for name, (body, status, reasons) in cases.items():
            with self.subTest(name=name):
                self.assertEqual((got[name]["status"], got[name]["reasons"]), (status, reasons))
                self.assertEqual((got[name]["version"], got[name]["magic"], got[name]["mode"]),
                                 ("3.12", 3531, "timestamp"))
                self.assertEqual(got[name]["size"], 16 + len(body))


class SummaryCounts(clitest.TempDirCase):
    def test_counts_match_records(self):
        r = os.path.join(self.tmp, "r")
        module(r, "fresh.py")
        module(r, "stale.py", fresh=False)
        module(r, "gone.py")
        os.unlink(os.path.join(r, "gone.py"))
        write_file(os.path.join(r, "lonely.pyc"), clitest.header_312(5, 5) + CODE_BODY)
        write_file(os.path.join(r, "empty.py"))
        write_file(os.path.join(r, "__pycache__", "empty.cpython-312.pyc"), b"")
        write_file(os.path.join(r, "short.py"))
        write_file(os.path.join(r, "__pycache__", "short.cpython-312.pyc"), b"\xcb\x0d")
        src = os.path.join(r, "pp.py")
        write_file(src)
        st = os.stat(src)
        write_file(os.path.join(r, "__pycache__", "pp.pypy310.pyc"),
                   struct.pack("<HBBIII", 384, 13, 10, 0, int(st.st_mtime), st.st_size) + CODE_BODY)
        module(r, "sub/old.py", fresh=False)
        pycs, _, summary, _ = scan_json(["--all"] + T + [r])
        want = {"fresh": 1, "stale": 2, "orphaned": 1, "sourceless": 1, "invalid": 2,
                "foreign": 1}
        for st_name in STATUSES:
            recs = [o for o in pycs if o["status"] == st_name]
            self.assertEqual(len(recs), want[st_name], st_name)
            self.assertEqual(summary["by_status"][st_name],
                             {"count": len(recs), "bytes": sum(o["size"] for o in recs)})
        self.assertEqual(summary["caches"], len(pycs))
        self.assertEqual(summary["bytes"], sum(o["size"] for o in pycs))
        self.assertEqual(summary["foreign"], 1)
        self.assertEqual(summary["by_version"]["unknown"],
                         {"count": 2, "bytes": 2, "invalid": {"count": 2, "bytes": 2}})
        self.assertEqual(summary["by_version"]["3.12"]["count"], 5)
        self.assertEqual(summary["by_version"]["pypy3.10"]["foreign"]["count"], 1)
        # without --all, JSON still lists every cache, fresh ones too
        pycs2, _, summary2, _ = scan_json(T + [r])
        self.assertEqual(pycs2, pycs)
        self.assertEqual(summary2, summary)
        # text: the same numbers
        p = run(["scan"] + T + [r])
        out = lines(p)
        self.assertIn("8 caches, %d B" % summary["bytes"], out)
        for st_name in STATUSES:
            count = summary["by_status"][st_name]["count"]
            self.assertTrue(any(re.match(r"  %s +%d  " % (st_name, count), l) for l in out),
                            (st_name, out))


class Deep(clitest.TempDirCase):
    """--deep loads the code of the caches an import would load (conformance/deep_cuts.py
    proves the exceptions against the interpreters; here: what scan and clean do with it)."""

    def test_truncated_body_is_invalid_only_with_deep(self):
        # the code of a real 3.12 cache (clitest's CODE_BODY only looks like one)
        with open(os.path.join(os.environ["PYCI_FIXTURES"], "tree", "__pycache__",
                               "mod_ts.cpython-312.pyc"), "rb") as f:
            body = f.read()[16:]
        caches = {}
        for name in ("good", "cut", "stale"):
            src = os.path.join(self.tmp, name + ".py")
            write_file(src)
            caches[name] = make_cache(src, fresh=name != "stale", body=body)
        good, cut, stale = caches["good"], caches["cut"], caches["stale"]
        for c in (cut, stale):
            with open(c, "r+b") as f:
                f.truncate(os.path.getsize(c) - 3)
        plain = {os.path.basename(r["path"]): r for r in scan_json(T + [self.tmp])[0]}
        self.assertEqual(plain[os.path.basename(cut)]["status"], "fresh")
        self.assertNotIn("load", plain[os.path.basename(cut)])
        deep = {os.path.basename(r["path"]): r for r in scan_json(["--deep"] + T + [self.tmp])[0]}
        self.assertEqual(deep[os.path.basename(good)]["load"], {"result": "loads"})
        r = deep[os.path.basename(cut)]
        self.assertEqual((r["status"], r["reasons"]),
                         ("invalid", ["its code does not load: the import fails"]))
        self.assertEqual(r["load"]["result"], "fails")
        self.assertEqual(r["load"]["exception"], "EOFError")
        self.assertLessEqual(r["load"]["offset"], os.path.getsize(cut))
        # a stale cache is recompiled, never loaded: its body does not matter
        r = deep[os.path.basename(stale)]
        self.assertEqual(r["status"], "stale")
        self.assertNotIn("load", r)
        text = run(["scan", "--deep"] + T + [self.tmp]).stdout.decode()
        self.assertRegex(text, r"invalid +3\.12 +%s: its code does not load: the import fails "
                         r"\(EOFError: [a-z ]+, at byte [0-9]+\)\n" % re.escape(cut))
        # clean --invalid removes it only when --deep says so
        run(["clean", "--invalid"] + T + [self.tmp])
        self.assertTrue(os.path.exists(cut))
        run(["clean", "--invalid", "--deep"] + T + [self.tmp])
        self.assertFalse(os.path.exists(cut))
        self.assertTrue(os.path.exists(good) and os.path.exists(stale))


class SameSecondReport(clitest.TempDirCase):
    """The same-second hint in scan's own output (the conformance test proves the rule against
    the interpreters): listed without --all, counted, and a --check value of its own."""

    def test_listed_counted_and_checked(self):
        S = 1700000000 * 10**9
        # name: (source mtime, cache file mtime); each header matches its source
        times = {"unseen": (S + 600000000, S + 300000000),  # source edited after, same second
                 "quiet": (S + 300000000, S + 600000000),   # the cache written after the source
                 "copied": (S + 300000000, S - 10**9)}      # cache file from an earlier second
        caches = {}
        for name, (src_ns, cache_ns) in times.items():
            src = os.path.join(self.tmp, name + ".py")
            write_file(src)
            os.utime(src, ns=(src_ns, src_ns))
            caches[name] = make_cache(src)
            os.utime(caches[name], ns=(cache_ns, cache_ns))
        recs = [json.loads(x) for x in run(["scan", "--json"] + T + [self.tmp]).stdout.splitlines()]
        by = {os.path.basename(r["path"]).split(".")[0]: r for r in recs if r["type"] == "pyc"}
        hint = "within the second its header records"
        self.assertEqual({n: r["status"] for n, r in by.items()},
                         {"unseen": "fresh", "quiet": "fresh", "copied": "fresh"})
        self.assertEqual({n for n, r in by.items() if any(hint in x for x in r["reasons"])},
                         {"unseen"})
        self.assertEqual(recs[-1]["same_second"], 1)
        text = run(["scan"] + T + [self.tmp]).stdout.decode()
        self.assertEqual([ln for ln in text.splitlines() if ln.startswith("fresh")],
                         ["fresh      3.12     %s: source modified after this cache was "
                          "written, within the second its header records: Python does not "
                          "see that change" % caches["unseen"]])
        self.assertIn("1 same-second", text)
        check = lambda what: run(["scan", "-qq", what] + T + [self.tmp]).returncode  # noqa: E731
        self.assertEqual((check("--check=same-second"), check("--check=stale"), check("--check")),
                         (1, 0, 0))
        os.utime(caches["unseen"], ns=(S + 700000000,) * 2)  # now the cache is the later one
        self.assertEqual(check("--check=same-second"), 0)


if __name__ == "__main__":
    clitest.main()
