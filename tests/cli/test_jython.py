#!/usr/bin/env python3
"""scan, clean and dump over Jython's NAME$py.class, with the real class files in fixtures/jython/.

Each test copies fixtures/jython (mod.py, pkg/__init__.py and the classes Debian's jython wrote
for them, fixtures/jython/generate.py) and sets the sources' mtimes to the ones they were
compiled from, which generate.py names; the expected verdicts follow from Jython 2.7.3's rule
(src/jython.c, docs/statuses.md) applied to mtimes and bytes set here, not from pycinspect's own
output.  What real imports decide is tests/conformance/jython.py's.
"""
import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import FIXTURES, PYC_KEYS, TempDirCase, main, run, scan_json  # noqa: E402

MOD = "mod$py.class"
PKG = os.path.join("pkg", "__init__$py.class")


def generated_mtimes():
    """{source relative path: its mtime in ns} from fixtures/jython/generate.py."""
    path = os.path.join(FIXTURES, "jython", "generate.py")
    import runpy
    return dict(runpy.run_path(path, run_name="generate")["SOURCES"])  # main() does not run


class Jython(TempDirCase):
    def setUp(self):
        super().setUp()
        if not FIXTURES:
            self.fail("PYCI_FIXTURES is not set")
        self.root = os.path.join(self.tmp, "j")
        shutil.copytree(os.path.join(FIXTURES, "jython"), self.root)
        os.unlink(os.path.join(self.root, "generate.py"))
        self.mtimes = generated_mtimes()
        for src, ns in self.mtimes.items():
            self.set_ns(src, ns)
            # the class written 5 s after its source's mtime, as an import then would
            self.set_ns(src[:-3] + "$py.class", ns + 5 * 10**9)

    def p(self, rel):
        return os.path.join(self.root, rel)

    def set_ns(self, rel, ns):
        os.utime(self.p(rel), ns=(ns, ns))

    def scan(self, *args, expect_rc=0):
        pycs, errors, summary, _ = scan_json(list(args) + [self.root], expect_rc=expect_rc)
        self.assertEqual(errors, [])
        return {os.path.relpath(o["path"], self.root): o for o in pycs}, summary

    def test_records(self):
        recs, summary = self.scan("--target", "jython2.7")
        self.assertEqual(sorted(recs), sorted([MOD, PKG]))
        for rel, o in recs.items():
            self.assertEqual(list(o), PYC_KEYS + ["api_version"], rel)
            self.assertEqual(o["status"], "fresh", rel)
            self.assertEqual(o["reasons"], [], rel)
            self.assertEqual((o["version"], o["implementation"], o["api_version"]),
                             ("jython2.7", "jython", 39), rel)
            self.assertEqual((o["magic"], o["magic_label"], o["mode"], o["tag"],
                              o["optimization"]), (None,) * 5, rel)
            self.assertEqual(o["layout"], "jython", rel)
            self.assertEqual(o["source"], self.p(rel.replace("$py.class", ".py")), rel)
            self.assertEqual(o["size"], os.path.getsize(self.p(rel)), rel)
            self.assertFalse(o["foreign"], rel)
        self.assertEqual(summary["by_version"]["jython2.7"]["count"], 2)
        self.assertEqual(summary["by_version"]["jython2.7"]["fresh"]["count"], 2)
        self.assertEqual(summary["targets"], ["jython2.7"])

    def test_timestamps(self):
        ns = self.mtimes["mod.py"]
        ms = ns // 10**6 * 10**6
        cases = [
            # (class mtime, source mtime, status, reason)
            (ms, ns, "fresh", None),  # the source's own millisecond: not older
            (ms - 1, ns, "stale", "class file older than its source"),
            # the source set back: its recorded mtime is then later than the source's
            (ns + 10**9, ms - 2000 * 10**6, "fresh", None),
            (ns + 10**9, ms - 2001 * 10**6, "stale",
             "source mtime recorded in the class more than 2 s after the source's"),
            # edited after the class was compiled, the class touched after that: Jython runs
            # the old code, and so it is fresh
            (ns + 20 * 10**9, ns + 10 * 10**9, "fresh", None),
        ]
        for cls_ns, src_ns, status, reason in cases:
            with self.subTest(cls=cls_ns, src=src_ns):
                self.set_ns(MOD, cls_ns)
                self.set_ns("mod.py", src_ns)
                o = self.scan("--target", "jython2.7")[0][MOD]
                self.assertEqual(o["status"], status)
                self.assertEqual(o["reasons"], [reason] if reason else [])

    def patch_api(self, rel, api):
        with open(self.p(rel), "rb") as f:
            data = f.read()
        i = data.index(b"\x03\x00\x00\x00\x27")  # CONSTANT_Integer 39, the only one
        with open(self.p(rel), "r+b") as f:
            f.seek(i + 4)
            f.write(bytes([api]))

    def test_api_versions(self):
        self.patch_api(MOD, 38)
        self.patch_api(PKG, 33)
        os.unlink(self.p(os.path.join("pkg", "__init__.py")))
        recs, summary = self.scan("--target", "jython2.7")
        o = recs[MOD]
        self.assertEqual((o["status"], o["foreign"], o["api_version"], o["version"]),
                         ("stale", True, 38, "jython2.7"))
        self.assertEqual(o["reasons"], ["Jython API version other than 39 (2.7.3, 2.7.4)"])
        o = recs[PKG]
        self.assertEqual((o["status"], o["foreign"], o["version"]),
                         ("sourceless", True, "jython2.5"))
        self.assertEqual(o["reasons"], ["source is gone", "interpreter is not a target",
                                        "Jython API version other than 39 (2.7.3, 2.7.4)"])
        self.assertEqual(summary["by_version"]["jython2.5"]["sourceless"]["count"], 1)

    def test_invalid(self):
        with open(self.p(MOD), "r+b") as f:
            f.truncate(os.path.getsize(self.p(MOD)) - 10)
        with open(self.p(PKG), "ab") as f:
            f.write(b"\0")
        recs, summary = self.scan("--target", "jython2.7")
        self.assertEqual((recs[MOD]["status"], recs[MOD]["reasons"], recs[MOD]["version"]),
                         ("invalid", ["class file truncated"], None))
        self.assertEqual((recs[PKG]["status"], recs[PKG]["reasons"]),
                         ("invalid", ["malformed class file"]))
        self.assertEqual(summary["by_version"]["unknown"]["invalid"]["count"], 1)
        self.assertEqual(summary["by_version"]["jython2.7"]["invalid"]["count"], 1)
        # empty, three bytes, not a class file
        for data, reason in ((b"", "empty file"), (b"\xca\xfe\xba", "shorter than a magic number"),
                             (b"\xca\xfe\xba\xbf" + bytes(40), "bad magic number")):
            with open(self.p(MOD), "wb") as f:
                f.write(data)
            o = self.scan("--target", "jython2.7")[0][MOD]
            self.assertEqual((o["status"], o["reasons"]), ("invalid", [reason]))

    def test_reasons_documented(self):
        """Every reason said of these classes is in docs/statuses.md, in its order there."""
        from test_fixtures import documented_reasons
        documented = documented_reasons()
        self.patch_api(MOD, 38)
        os.unlink(self.p(os.path.join("pkg", "__init__.py")))
        self.set_ns(MOD, self.mtimes["mod.py"] - 10**9)
        seen = set()
        for target in ("jython2.7", "3.12"):
            for o in self.scan("--target", target)[0].values():
                self.assertEqual(o["reasons"], sorted(o["reasons"], key=documented.index))
                seen.update(o["reasons"])
        with open(self.p(PKG), "ab") as f:
            f.write(b"\0")
        for o in self.scan("--target", "jython2.7")[0].values():
            seen.update(o["reasons"])
        self.assertEqual(seen, {"class file older than its source",
                                "no source beside it: imported as a sourceless module",
                                "Jython API version other than 39 (2.7.3, 2.7.4)",
                                "interpreter is not a target", "malformed class file"})

    def test_targets(self):
        recs, summary = self.scan("--target", "3.12")
        for o in recs.values():
            self.assertEqual((o["status"], o["foreign"], o["reasons"]),
                             ("foreign", True, ["interpreter is not a target"]))
        self.assertEqual(summary["foreign"], 2)
        # a release means its version
        recs, summary = self.scan("--target", "jython2.7.3")
        self.assertEqual(summary["targets"], ["jython2.7"])
        self.assertEqual({o["status"] for o in recs.values()}, {"fresh"})
        p = run(["scan", "--target", "jython2.5", self.root])
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr, b"pycinspect: unknown interpreter version 'jython2.5' in "
                         b"--target 'jython2.5' (Jython's caches are judged for jython2.7 "
                         b"only)\n")
        # found on PATH by its name, as Debian's /usr/bin/jython is, never run
        bindir = os.path.join(self.tmp, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "jython"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(os.path.join(bindir, "jython"), 0o755)
        env = clitest.env_c()
        env["PATH"] = bindir
        p = run(["scan", self.root], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"targets: jython2.7 (from PATH)\n", p.stdout)
        self.assertIn(b"  jython2.7         2  ", p.stdout)

    def test_not_caches(self):
        # Jython never looks in __pycache__; the name of another Java class is not Jython's
        os.makedirs(self.p("__pycache__"))
        shutil.copy(self.p(MOD), self.p(os.path.join("__pycache__", MOD)))
        shutil.copy(self.p(MOD), self.p("Outer$Inner.class"))
        recs, _ = self.scan("--target", "jython2.7")
        self.assertEqual(sorted(recs), sorted([MOD, PKG]))
        # a symlink named like one is never followed
        os.unlink(self.p(MOD))
        os.symlink(os.path.join("pkg", "__init__$py.class"), self.p(MOD))
        o = self.scan("--target", "jython2.7")[0][MOD]
        self.assertEqual((o["status"], o["reasons"], o["api_version"]),
                         ("invalid", ["not a regular file"], None))

    def test_single_file(self):
        pycs, _, summary, _ = scan_json(["--target", "jython2.7", self.p(PKG)])
        self.assertEqual([(o["path"], o["status"]) for o in pycs], [(self.p(PKG), "fresh")])

    def test_text(self):
        self.set_ns(MOD, self.mtimes["mod.py"] - 10**9)
        p = run(["scan", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 0)
        self.assertIn(("stale      jython2.7 %s: class file older than its source\n"
                       % self.p(MOD)).encode(), p.stdout)

    def test_clean(self):
        self.set_ns(MOD, self.mtimes["mod.py"] - 10**9)  # stale
        os.unlink(self.p(os.path.join("pkg", "__init__.py")))  # sourceless
        before = clitest.snapshot(self.root)
        p = run(["clean", "--all", "--dry-run", "--json", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(clitest.snapshot(self.root), before)
        recs, summary = clitest.parse_clean_jsonl(p.stdout)
        self.assertEqual([(os.path.relpath(r["path"], self.root), r["action"]) for r in recs],
                         [(MOD, "would-remove")])
        p = run(["clean", "--all", "--json", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        recs, summary = clitest.parse_clean_jsonl(p.stdout)
        self.assertEqual([(os.path.relpath(r["path"], self.root), r["action"], r["layout"])
                          for r in recs], [(MOD, "removed", "jython")])
        self.assertEqual(summary["by_version"]["jython2.7"]["count"], 1)
        self.assertFalse(os.path.exists(self.p(MOD)))
        self.assertTrue(os.path.exists(self.p("mod.py")))
        # the sourceless class goes only when asked for, and its directory stays
        self.assertTrue(os.path.exists(self.p(PKG)))
        p = run(["clean", "--sourceless", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(("removed '%s'\n" % self.p(PKG)).encode(), p.stdout)
        self.assertEqual(os.listdir(self.p("pkg")), [])

    def test_clean_keeps_what_it_cannot_check(self):
        # a source that may exist but cannot be stat'ed (here a symlink loop) is not a source
        # gone: the class is kept, as any cache is (clean.c)
        self.set_ns(MOD, self.mtimes["mod.py"] - 10**9)
        os.unlink(self.p("mod.py"))
        os.symlink("mod.py", self.p("mod.py"))
        p = run(["clean", "--all", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"kept", p.stderr)
        self.assertIn(b"source exists but cannot be checked", p.stderr)
        self.assertTrue(os.path.exists(self.p(MOD)))

    def test_dump(self):
        p = run(["dump", "--target", "jython2.7", self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        objs = {os.path.relpath(o["path"], self.root): o
                for o in map(json.loads, clitest.json_lines(p.stdout.decode()))}
        for rel, src in ((MOD, "mod.py"), (PKG, os.path.join("pkg", "__init__.py"))):
            o = objs[rel]
            h = o["header"]
            self.assertEqual((h["status"], h["format"], h["magic_bytes"], h["class_version"]),
                             ("ok", "java-class", "cafebabe", "50.0"), rel)
            self.assertEqual((h["api_version"], h["releases"], h["version"], h["implementation"]),
                             (39, "2.7.3, 2.7.4", "jython2.7", "jython"), rel)
            self.assertEqual(h["mtime_ms"], self.mtimes[src] // 10**6, rel)
            self.assertTrue(re.match(r"^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}000000Z$",
                                     h["mtime_utc"]), h["mtime_utc"])
            self.assertEqual(h["filename"], src.replace(os.sep, "/"), rel)
            self.assertEqual((h["error"], h["error_offset"]), (None, None), rel)
            self.assertEqual((o["code"], o["body_xxh3_128"], o["same_second_hint"]),
                             (None, None, False), rel)
            self.assertEqual(o["verdict"], {"status": "fresh", "foreign": False, "reasons": []})
            with open(self.p(rel), "rb") as f:
                import hashlib
                self.assertEqual(o["sha256"], hashlib.sha256(f.read()).hexdigest())
        # a class that stops early: exit 1, and where it stops
        with open(self.p(MOD), "r+b") as f:
            f.truncate(100)
        p = run(["dump", self.p(MOD)])
        self.assertEqual(p.returncode, 1)
        h = json.loads(p.stdout)["header"]
        self.assertEqual((h["status"], h["error"], h["api_version"], h["filename"]),
                         ("truncated", "the file ends inside the constant pool", None, None))
        self.assertLessEqual(h["error_offset"], 100)


if __name__ == "__main__":
    main()
