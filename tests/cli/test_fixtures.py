#!/usr/bin/env python3
"""pycinspect over the committed real caches in fixtures/ (see fixtures/generate.py).

Each test works on a copy of fixtures/tree with every source's mtime restored from MANIFEST.tsv
(git does not keep mtimes), scans it with --target set to the interpreters that wrote the
caches, and compares every record with the manifest, whose expected statuses come from how each
file was made.  Headers are also decoded here, in Python, from the files' bytes.
"""
import os
import re
import shutil
import struct
import sys

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import FIXTURES, ROOT, PYC_KEYS, STATUSES

COLUMNS = ["path", "status", "version", "magic", "mode", "source", "source_mtime_ns"]


def load_manifest():
    path = os.path.join(FIXTURES, "MANIFEST.tsv")
    rows, targets, header = [], None, None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# targets:"):
                targets = line.split(":", 1)[1].strip()
            if line.startswith("#") or not line:
                continue
            cols = line.split("\t")
            if header is None:
                header = cols
                continue
            rows.append(dict(zip(header, cols)))
    if header != COLUMNS:
        raise AssertionError("MANIFEST.tsv columns are %r, expected %r" % (header, COLUMNS))
    if not targets:
        raise AssertionError("MANIFEST.tsv has no '# targets:' line")
    return rows, targets


def documented_reasons():
    """The reason strings of docs/statuses.md, in their documented order."""
    out, inside = [], False
    with open(os.path.join(ROOT, "docs", "statuses.md"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("## "):
                inside = line.strip() == "## Reasons"
                continue
            m = re.match(r"\| `([^`]+)` \|", line)
            if inside and m:
                out.append(m.group(1))
    if len(out) < 20:
        raise AssertionError("could not read the reason list of docs/statuses.md")
    return out


def copy_tree(dest, mtime_shift_ns=0):
    """Copy fixtures/tree to dest/tree and set each source's mtime to the manifest's + shift."""
    shutil.copytree(os.path.join(FIXTURES, "tree"), os.path.join(dest, "tree"), symlinks=True)
    rows, _ = load_manifest()
    done = set()
    for r in rows:
        if r["source"] != "-" and r["source"] not in done:
            ns = int(r["source_mtime_ns"]) + mtime_shift_ns
            os.utime(os.path.join(dest, r["source"]), ns=(ns, ns))
            done.add(r["source"])


def header_size(version):
    """Header size of a cache for a language version ("3.12", "pypy3.9", "2.5"), section 2.1 of
    the format reference: 16 from 3.7, 12 for 3.3-3.6, 8 before."""
    major, minor = (int(x) for x in version.replace("pypy", "").split("."))
    if (major, minor) >= (3, 7):
        return 16
    if (major, minor) >= (3, 3):
        return 12
    return 8


def decode(data, version):
    """(magic, mode) read from a cache's bytes as the format reference describes them."""
    if len(data) < 4:
        return None, None
    if data[2:4] == b"\r\n":
        magic = struct.unpack("<H", data[:2])[0]
    else:
        magic = struct.unpack("<I", data[:4])[0]
    if version == "-":
        return magic, None
    size = header_size(version)
    if len(data) < size:
        return magic, None
    if size < 16:
        return magic, "timestamp"
    flags = struct.unpack("<I", data[4:8])[0]
    if flags & ~3:
        return magic, None
    if flags & 1:
        return magic, "checked-hash" if flags & 2 else "unchecked-hash"
    return magic, "timestamp"


class Fixtures(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.rows, self.targets = load_manifest()
        self.by_path = {r["path"]: r for r in self.rows}

    def scan(self, shift_ns=0, extra=(), expect_rc=0):
        if not os.path.isdir(os.path.join(self.tmp, "tree")):
            copy_tree(self.tmp, shift_ns)
        pycs, errors, summary, _ = clitest.scan_json(
            ["--all", "--target", self.targets] + list(extra) + ["tree"], cwd=self.tmp,
            expect_rc=expect_rc)
        self.assertEqual(errors, [])
        return {os.fsdecode(clitest.fs(o["path"])): o for o in pycs}, pycs, summary

    def test_manifest_lists_every_cache(self):
        on_disk = set()
        tree = os.path.join(FIXTURES, "tree")
        for d, _, files in os.walk(tree):
            for name in files:
                if name.endswith((".pyc", ".pyo")):
                    on_disk.add(os.path.relpath(os.path.join(d, name), FIXTURES))
        self.assertEqual(on_disk, set(self.by_path))
        self.assertEqual(len(self.rows), len(self.by_path), "duplicate manifest rows")
        for r in self.rows:
            self.assertIn(r["status"], STATUSES, r["path"])
            if r["source"] != "-":
                self.assertTrue(os.path.isfile(os.path.join(FIXTURES, r["source"])), r["source"])
        for want in ("fresh", "stale", "orphaned", "sourceless", "invalid", "foreign"):
            self.assertIn(want, {r["status"] for r in self.rows})
        total = sum(os.path.getsize(os.path.join(d, n))
                    for d, _, ns in os.walk(FIXTURES) for n in ns)
        self.assertLess(total, 300 * 1024, "fixtures/ should stay small")

    def test_every_manifest_row(self):
        recs, pycs, _ = self.scan()
        self.assertEqual(len(pycs), len(recs), "a cache was reported twice")
        self.assertEqual(set(recs), set(self.by_path))
        for path, r in self.by_path.items():
            o = recs[path]
            with self.subTest(path=path):
                self.assertEqual(o["status"], r["status"])
                self.assertEqual(o["version"], None if r["version"] == "-" else r["version"])
                self.assertEqual(o["magic"], None if r["magic"] == "-" else int(r["magic"]))
                self.assertEqual(o["mode"], None if r["mode"] == "-" else r["mode"])

    def test_record_fields(self):
        recs, _, _ = self.scan()
        for path, r in self.by_path.items():
            o = recs[path]
            with self.subTest(path=path):
                self.assertEqual(list(o), PYC_KEYS)
                self.assertEqual(o["size"], os.path.getsize(os.path.join(FIXTURES, path)))
                d, name = os.path.split(path)
                stem = name.split(".")[0]
                if os.path.basename(d) == "__pycache__":
                    self.assertEqual(o["layout"], "pycache")
                    self.assertEqual(o["tag"], name.split(".")[1])
                    self.assertEqual(o["source"], os.path.join(os.path.dirname(d), stem + ".py"))
                else:
                    self.assertEqual(o["layout"], "legacy")
                    self.assertIsNone(o["tag"])
                    self.assertEqual(o["source"], os.path.join(d, stem + ".py"))
                if r["source"] != "-":
                    self.assertEqual(o["source"], r["source"])
                self.assertEqual(o["optimization"], "1" if ".opt-1." in name else None)
                impl = (None if r["version"] == "-" else
                        "pypy" if r["version"].startswith("pypy") else "cpython")
                self.assertEqual(o["implementation"], impl)
                self.assertEqual(o["foreign"], r["status"] == "foreign")
                if r["version"] == "-":
                    self.assertIsNone(o["magic_label"])
                else:
                    self.assertIsInstance(o["magic_label"], str)
                if r["status"] == "fresh":
                    self.assertEqual(o["reasons"], [])

    def test_header_decoding_against_bytes(self):
        recs, _, _ = self.scan()
        for path, r in self.by_path.items():
            with open(os.path.join(FIXTURES, path), "rb") as f:
                data = f.read()
            magic, mode = decode(data, r["version"])
            o = recs[path]
            with self.subTest(path=path):
                self.assertEqual(o["magic"], magic)
                self.assertEqual(o["mode"], mode)
                # the manifest's facts agree with the bytes too
                self.assertEqual(r["magic"], "-" if magic is None else str(magic))
                self.assertEqual(r["mode"], mode or "-")
                # fresh timestamp caches hold int(st_mtime) and the size of their source
                if r["status"] in ("fresh", "foreign") and mode == "timestamp":
                    size = header_size(r["version"])
                    secs = int(r["source_mtime_ns"]) // 10**9
                    src_size = os.path.getsize(os.path.join(FIXTURES, r["source"]))
                    if size == 16:
                        self.assertEqual(struct.unpack("<II", data[8:16]), (secs, src_size))
                    elif size == 12:
                        self.assertEqual(struct.unpack("<II", data[4:12]), (secs, src_size))
                    else:
                        self.assertEqual(struct.unpack("<I", data[4:8])[0], secs)

    def test_reasons(self):
        recs, _, _ = self.scan()
        documented = documented_reasons()
        expected = {
            "tree/broken/__pycache__/empty.cpython-312.pyc": ["empty file"],
            "tree/broken/__pycache__/trunc.cpython-312.pyc": ["truncated header"],
            "tree/broken/__pycache__/badmagic.cpython-312.pyc": ["bad magic number"],
            "tree/broken/__pycache__/flags4.cpython-312.pyc": ["invalid flags"],
            "tree/mismatch/__pycache__/mismatch.cpython-312.pyc":
                ["magic number does not match the cache tag"],
            "tree/orphan/__pycache__/gone.cpython-312.pyc": ["source is gone"],
            "tree/sourceless/lonely.pyc":
                ["no source beside it: imported as a sourceless module"],
            "tree/synthetic/old15.pyc": ["code object truncated"],
            "tree/synthetic/old25.pyc": ["code object truncated"],
            "tree/synthetic/__pycache__/pp310.pypy310.pyc": ["interpreter is not a target"],
        }
        for path, o in recs.items():
            with self.subTest(path=path):
                for reason in o["reasons"]:
                    self.assertIn(reason, documented)
                self.assertEqual(o["reasons"], sorted(o["reasons"], key=documented.index))
                if path in expected:
                    self.assertEqual(o["reasons"], expected[path])

    def test_summary(self):
        _, pycs, summary = self.scan()
        self.assertEqual(summary["caches"], len(self.rows))
        self.assertEqual(summary["bytes"], sum(o["size"] for o in pycs))
        for st in STATUSES:
            mine = [o for o in pycs if o["status"] == st]
            self.assertEqual(summary["by_status"][st],
                             {"count": len(mine), "bytes": sum(o["size"] for o in mine)}, st)
        versions = {}
        for o in pycs:
            v = versions.setdefault(o["version"] or "unknown", {"count": 0, "bytes": 0})
            v["count"] += 1
            v["bytes"] += o["size"]
            s = v.setdefault(o["status"], {"count": 0, "bytes": 0})
            s["count"] += 1
            s["bytes"] += o["size"]
        self.assertEqual(summary["by_version"], versions)
        self.assertEqual(summary["foreign"], sum(1 for o in pycs if o["foreign"]))
        self.assertEqual(sorted(summary["targets"]), sorted(self.targets.split(",")))
        self.assertEqual(summary["targets_from"], "option")
        self.assertEqual(summary["check_source"], "default")
        self.assertEqual(summary["errors"], 0)

    def test_sources_touched_after_compiling(self):
        """As after a fresh clone: every source one second newer than its caches."""
        recs, _, _ = self.scan(shift_ns=10**9)
        for path, r in self.by_path.items():
            o = recs[path]
            with self.subTest(path=path):
                if r["mode"] == "timestamp" and r["status"] in ("fresh", "foreign"):
                    self.assertEqual(o["status"], "stale")
                    self.assertIn("source mtime differs", o["reasons"])
                    self.assertNotIn("source size differs", o["reasons"])
                    self.assertEqual(o["foreign"], r["status"] == "foreign")
                else:
                    self.assertEqual(o["status"], r["status"])

    def test_edited_hash_sources(self):
        copy_tree(self.tmp)
        for name in ("mod_checked.py", "mod_unchecked.py"):
            path = os.path.join(self.tmp, "tree", name)
            st = os.stat(path)
            with open(path, "ab") as f:
                f.write(b"# edited\n")
            os.utime(path, ns=(st.st_mtime_ns, st.st_mtime_ns))
        hashed = [p for p, r in self.by_path.items() if r["mode"].endswith("-hash")]
        self.assertGreaterEqual(len(hashed), 16)
        cases = {
            "default": {"checked-hash": ("stale", ["source hash differs"]),
                        "unchecked-hash": ("stale", ["unchecked hash: source changed but Python "
                                                     "still runs this outdated code"])},
            "always": {"checked-hash": ("stale", ["source hash differs"]),
                       "unchecked-hash": ("stale", ["source hash differs"])},
            "never": {"checked-hash": ("fresh", ["source hash not checked (--check-source=never)"]),
                      "unchecked-hash": ("fresh", ["source hash not checked "
                                                   "(--check-source=never)"])},
        }
        for mode, want in cases.items():
            recs, _, summary = self.scan(extra=["--check-source", mode])
            self.assertEqual(summary["check_source"], mode)
            for path in hashed:
                o = recs[path]
                with self.subTest(mode=mode, path=path):
                    self.assertEqual((o["status"], o["reasons"]), want[o["mode"]])
            # the timestamp caches do not depend on the mode
            for path, r in self.by_path.items():
                if r["mode"] == "timestamp":
                    self.assertEqual(recs[path]["status"], r["status"], (mode, path))

    def test_check_exit_status(self):
        copy_tree(self.tmp)
        # the top __pycache__ holds only fresh caches of the targets
        p = clitest.run(["scan", "--check", "--target", self.targets, "tree/__pycache__"],
                        cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        p = clitest.run(["scan", "--check", "--target", self.targets, "tree"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1, p.stderr)
        # one target fewer: the 3.6 cache is foreign
        fewer = ",".join(t for t in self.targets.split(",") if t != "3.6")
        p = clitest.run(["scan", "--check", "--target", fewer, "tree/__pycache__"], cwd=self.tmp)
        self.assertEqual(p.returncode, 1)
        self.assertRegex(p.stdout.decode(), r"(?m)^foreign +3\.6 +tree/__pycache__/"
                         r"mod_ts\.cpython-36\.pyc: interpreter is not a target$")

    def test_fixtures_in_place(self):
        """`pycinspect scan fixtures/` as the README shows it: whatever the mtimes after a
        checkout, every cache is listed once, and hash-based ones do not depend on mtimes."""
        pycs, errors, summary, _ = clitest.scan_json(
            ["--all", "--target", self.targets, os.path.join(FIXTURES, "")])
        self.assertEqual(errors, [])
        # and Jython's class files (fixtures/jython/generate.py), which the manifest leaves out
        jython = set()
        for d, _, names in os.walk(os.path.join(FIXTURES, "jython")):
            jython.update(os.path.relpath(os.path.join(d, n), FIXTURES)
                          for n in names if n.endswith("$py.class"))
        self.assertEqual(len(jython), 2)
        self.assertEqual(summary["caches"], len(self.rows) + len(jython))
        for o in pycs:
            rel = os.path.relpath(os.fsdecode(clitest.fs(o["path"])), FIXTURES)
            if rel in jython:
                # Jython is no target here; after a checkout a class may be older than its
                # source, whose mtime git does not keep
                self.assertIn(o["status"], ("foreign", "stale"), rel)
                self.assertEqual((o["version"], o["api_version"]), ("jython2.7", 39), rel)
                continue
            r = self.by_path[rel]
            if r["mode"].endswith("-hash") or r["status"] != "fresh":
                if r["mode"] == "timestamp" and r["status"] == "foreign":
                    self.assertIn(o["status"], ("foreign", "stale"), rel)
                else:
                    self.assertEqual(o["status"], r["status"], rel)
            else:
                self.assertIn(o["status"], ("fresh", "stale"), rel)


if __name__ == "__main__":
    clitest.main()
