#!/usr/bin/env python3
"""`pycinspect magic`: the whole table against data/magic_numbers.tsv, lookups by number (three
spellings), by version and by release (3.12.1), JSON, exit codes when some arguments are unknown
or malformed, and no maintainer's notes in what users read."""
import json
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import ROOT, run

MAGIC_KEYS = ["type", "magic", "bytes", "implementation", "version", "label", "final",
              "final_for", "match", "header_size", "source_hash", "note"]


def load_table():
    rows = []
    with open(os.path.join(ROOT, "data", "magic_numbers.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            cols += [""] * (6 - len(cols))
            magic, impl, version, label, final_for, note = cols[:6]
            number = int(magic, 0)
            word = number | 0x0A0D0000 if number <= 0xFFFF else number
            major, minor = (int(x) for x in version.split("."))
            rows.append({"number": number, "word": word, "impl": impl, "major": major,
                         "minor": minor, "label": label, "final_for": final_for, "note": note,
                         "version": ("pypy" if impl == "pypy" else "") + version})
    if len(rows) < 250:
        raise AssertionError("data/magic_numbers.tsv has only %d rows" % len(rows))
    return rows


def header_size(row):
    """Section 2.1 of the format reference: CPython 3.x by number, others by language version."""
    if row["impl"] == "cpython" and row["major"] == 3:
        n = row["number"]
        return 16 if n >= 3392 else 12 if n >= 3210 else 8
    v = (row["major"], row["minor"])
    return 16 if v >= (3, 7) else 12 if v >= (3, 3) else 8


def source_hash(row):
    if header_size(row) != 16:
        return None
    if row["impl"] == "cpython" and (row["major"], row["minor"]) >= (3, 11):
        return "siphash13"
    return "siphash24"


def expected_json(row):
    w = row["word"]
    return {
        "type": "magic", "magic": row["number"],
        "bytes": "%02x%02x%02x%02x" % (w & 255, (w >> 8) & 255, (w >> 16) & 255, w >> 24),
        "implementation": row["impl"], "version": row["version"], "label": row["label"],
        "final": bool(row["final_for"]), "final_for": row["final_for"] or None,
        "match": "exact", "header_size": header_size(row), "source_hash": source_hash(row),
        "note": row["note"],
    }


def magic_json(args, expect_rc=0):
    p = run(["magic", "--json"] + list(args))
    if p.returncode != expect_rc:
        raise AssertionError("exit %d, expected %d: %r" % (p.returncode, expect_rc, p.stderr))
    text = p.stdout.decode("utf-8")
    if text and not text.endswith("\n"):
        raise AssertionError("output does not end with a newline")
    objs = [json.loads(l) for l in text.splitlines()]
    for o in objs:
        if list(o) != MAGIC_KEYS:
            raise AssertionError("keys %r" % list(o))
    return objs, p


class MagicCli(unittest.TestCase):
    def setUp(self):
        if not clitest.BIN or not os.access(clitest.BIN, os.X_OK):
            self.fail("PYCI_BIN is not set to an executable pycinspect (got %r)" % clitest.BIN)
        self.rows = load_table()
        self.by_number = {r["number"]: r for r in self.rows}

    def test_json_lists_every_row(self):
        objs, _ = magic_json([])
        self.assertEqual(len(objs), len(self.rows))
        # in the order of the little-endian word
        want = [expected_json(r) for r in sorted(self.rows, key=lambda r: r["word"])]
        for got, exp in zip(objs, want):
            with self.subTest(magic=exp["magic"]):
                self.assertEqual(got, exp)

    def test_text_lists_every_row(self):
        p = run(["magic"])
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode("utf-8").splitlines()
        self.assertEqual(out[0].split(), ["magic", "bytes", "impl", "version", "label", "final",
                                          "for"])
        body = out[1:]
        self.assertEqual(len(body), len(self.rows))
        seen = set()
        for line in body:
            f = line.split()
            r = self.by_number[int(f[0])]
            w = r["word"]
            with self.subTest(line=line):
                self.assertEqual([int(x, 16) for x in f[1:5]],
                                 [w & 255, (w >> 8) & 255, (w >> 16) & 255, w >> 24])
                self.assertEqual(f[5:7], [r["impl"], r["version"]])
                rest = line.split(r["version"], 1)[1].strip()
                self.assertTrue(rest.startswith(r["label"]), rest)
                self.assertTrue(rest.endswith(r["final_for"]), rest)
                if not r["final_for"]:
                    self.assertEqual(rest, r["label"])
            seen.add(r["number"])
        self.assertEqual(seen, set(self.by_number))

    def test_lookup_by_number(self):
        want = expected_json(self.by_number[3531])
        for spelling in ("3531", "0x0a0d0dcb", "0x0A0D0DCB", "cb0d0d0a", "CB0D0D0A"):
            objs, _ = magic_json([spelling])
            self.assertEqual(objs, [want], spelling)
        self.assertTrue(want["final"])
        self.assertEqual((want["version"], want["final_for"]), ("3.12", "3.12.x"))
        p = run(["magic", "3531", "0x0a0d0dcb", "cb0d0d0a"])
        self.assertEqual(p.returncode, 0)
        out = p.stdout.decode().splitlines()
        self.assertEqual(len(out), 4)
        self.assertEqual(out[1], out[2])
        self.assertEqual(out[2], out[3])
        self.assertEqual(out[1].split()[:7], ["3531", "cb", "0d", "0d", "0a", "cpython", "3.12"])
        self.assertTrue(out[1].endswith("3.12.x"))

    def test_lookup_of_old_and_pypy_numbers(self):
        for spelling, number in (("62211", 62211), ("03f30d0a", 62211), ("20121", 20121),
                                 ("0x00999902", 0x00999902), ("10066178", 0x00999902),
                                 ("3187", 3187), ("336", 336), ("50010d0a", 336)):
            objs, _ = magic_json([spelling])
            self.assertEqual(objs, [expected_json(self.by_number[number])], spelling)
        # 3187 is PyPy's, although it lies in CPython 3.2's range
        self.assertEqual(magic_json(["3187"])[0][0]["implementation"], "pypy")

    def test_lookup_by_bytes_of_a_1_0_pyc(self):
        """The first four bytes of a 1.0 .pyc are 02 99 99 00 (no \\r\\n)."""
        objs, p = magic_json(["02999900"])
        self.assertEqual(objs, [expected_json(self.by_number[0x00999902])], p.stderr)

    def test_unicode_and_range_numbers(self):
        objs, _ = magic_json(["62212"])
        self.assertEqual(len(objs), 1)
        o = objs[0]
        self.assertEqual((o["magic"], o["version"], o["match"], o["final"], o["final_for"]),
                         (62212, "2.7", "unicode", False, None))
        self.assertIn("-U", o["label"])
        objs, _ = magic_json(["3496"])
        o = objs[0]
        self.assertEqual((o["magic"], o["version"], o["match"], o["final"], o["header_size"],
                          o["source_hash"]), (3496, "3.11", "range", False, 16, "siphash13"))
        self.assertEqual(o["label"], "3.11-range, unknown")

    def test_lookup_by_version(self):
        cases = {
            "3.12": ("cpython", 3, 12), "cpython-312": ("cpython", 3, 12),
            "python3.12": ("cpython", 3, 12), "2.7": ("cpython", 2, 7),
            "3.5": ("cpython", 3, 5), "pypy3.9": ("pypy", 3, 9), "pypy39": ("pypy", 3, 9),
        }
        for spec, (impl, major, minor) in cases.items():
            objs, _ = magic_json([spec])
            want = [expected_json(r) for r in self.rows
                    if (r["impl"], r["major"], r["minor"]) == (impl, major, minor)]
            with self.subTest(spec=spec):
                self.assertTrue(want)
                self.assertEqual(sorted(objs, key=lambda o: o["magic"]),
                                 sorted(want, key=lambda o: o["magic"]))
        objs, _ = magic_json(["3.12"])
        finals = [o for o in objs if o["final"]]
        self.assertEqual([(o["magic"], o["final_for"]) for o in finals], [(3531, "3.12.x")])
        self.assertEqual(len(objs), 32)
        p = run(["magic", "3.12"])
        lines = p.stdout.decode().splitlines()
        self.assertEqual(len(lines), 33)
        marked = [l for l in lines[1:] if l.rstrip().endswith("3.12.x")]
        self.assertEqual(len(marked), 1)
        self.assertTrue(marked[0].startswith("3531 "))
        objs, _ = magic_json(["pypy3.9"])
        self.assertEqual([(o["magic"], o["final"]) for o in objs], [(320, False), (336, True)])

    def test_several_arguments(self):
        objs, _ = magic_json(["3531", "3.13", "62211"])
        self.assertEqual(objs[0]["magic"], 3531)
        self.assertEqual(objs[-1]["magic"], 62211)
        self.assertEqual({o["version"] for o in objs[1:-1]}, {"3.13"})

    def test_pasted_bytes(self):
        # what xxd -l4 prints (cb0d 0d0a), the table's own form (cb 0d 0d 0a), one word with
        # spaces: each is 3.12's number; words that are numbers of their own stay apart
        for args in (["cb0d", "0d0a"], ["cb", "0d", "0d", "0a"], ["cb 0d 0d 0a"], ["CB0D", "0D0A"],
                     ["cb0d0d0a"]):
            objs, _ = magic_json(args)
            self.assertEqual([o["magic"] for o in objs], [3531], args)
        objs, _ = magic_json(["cb0d", "0d0a", "3413", "55", "0d", "0d", "0a"])
        self.assertEqual([o["magic"] for o in objs], [3531, 3413, 3413])
        objs, _ = magic_json(["3531", "3413"])
        self.assertEqual([o["magic"] for o in objs], [3531, 3413])
        # bytes that cannot be a magic number's (no \r\n) are not joined
        p = run(["magic", "cb0d", "0d0b"])
        self.assertEqual(p.returncode, 2, p.stderr)

    def test_reversed_bytes_are_named(self):
        p = run(["magic", "0a0d0dcb"])
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stdout, b"")
        self.assertIn(b"'0a0d0dcb' is not a known Python magic number; with its bytes reversed "
                      b"(cb0d0d0a) it is 3531 (cpython 3.12)", p.stderr)
        p = run(["magic", "deadbeef"])
        self.assertEqual(p.returncode, 1)
        self.assertNotIn(b"reversed", p.stderr)

    def test_unknown_number_exits_1(self):
        for args in (["9999"], ["0x0a0d270f"], ["3.99"], ["pypy3.1"], ["3.99", "9999"]):
            p = run(["magic"] + args)
            with self.subTest(args=args):
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(b"pycinspect: ", p.stderr)
                # nothing found: no table header without rows, only the message
                self.assertEqual(p.stdout, b"")
        p = run(["magic", "9999"])
        self.assertEqual(p.stderr, b"pycinspect: '9999' is not a known Python magic number\n")
        p = run(["magic", "3.99"])
        self.assertEqual(p.stderr, b"pycinspect: no magic number known for '3.99'\n")
        # the known ones are still printed, under one header
        objs, p = magic_json(["3531", "9999"], expect_rc=1)
        self.assertEqual([o["magic"] for o in objs], [3531])
        p = run(["magic", "3.99", "3531"])
        self.assertEqual(p.returncode, 1)
        lines = p.stdout.decode().splitlines()
        self.assertEqual([l.split()[0] for l in lines], ["magic", "3531"])

    def test_garbage_exits_2(self):
        for args in (["foo"], ["0xZZ"], ["-1"], ["3.x"], ["--bogus"], ["3531", "banana"],
                     ["cpython-312.1"], ["3.12.1x"]):
            p = run(["magic"] + args)
            with self.subTest(args=args):
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertTrue(p.stderr)
        p = run(["magic", "foo"])
        self.assertIn(b"'foo' is neither a magic number nor a version", p.stderr)
        self.assertEqual(p.stdout, b"")

    def test_garbage_does_not_hide_the_others(self):
        """Every argument is looked up: the rows of the good ones are printed, each bad one is
        named on stderr, and the exit status is the worst (2 for a malformed argument, as for a
        PATH scan cannot read)."""
        p = run(["magic", "3531", "foo", "3.13", "9999"])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(p.stderr.decode().splitlines(),
                         ["pycinspect: 'foo' is neither a magic number nor a version",
                          "pycinspect: '9999' is not a known Python magic number"])
        lines = p.stdout.decode().splitlines()
        self.assertEqual(lines[0].split()[0], "magic")
        self.assertEqual(lines[1].split()[:7], ["3531", "cb", "0d", "0d", "0a", "cpython",
                                                "3.12"])
        self.assertEqual({l.split()[6] for l in lines[2:]}, {"3.13"})
        self.assertEqual(len(lines), 2 + len([r for r in self.rows
                                              if (r["impl"], r["major"], r["minor"]) ==
                                              ("cpython", 3, 13)]))
        objs, p = magic_json(["foo", "3531"], expect_rc=2)
        self.assertEqual(objs, [expected_json(self.by_number[3531])])
        self.assertIn(b"'foo'", p.stderr)

    def test_lookup_by_release(self):
        """A patch-level version is a release: the number its final release writes, read from
        the table's final_for (3.5.2 is the one bug-fix release that changed it)."""
        cases = {"3.12.1": [3531], "3.12.0": [3531], "python3.12.4": [3531], "3.5.1": [3350],
                 "3.5.0": [3350], "3.5.2": [3351], "3.5.10": [3351], "2.7.18": [62211],
                 "1.5.2": [20121], "1.2.0": [0x00999903], "3.15.0": [3666],
                 "pypy3.9.18": [336]}
        for spec, numbers in cases.items():
            with self.subTest(spec=spec):
                objs, p = magic_json([spec])
                self.assertEqual(objs, [expected_json(self.by_number[n]) for n in numbers])
                self.assertEqual(p.stderr, b"")
                self.assertTrue(all(o["final"] for o in objs))
        p = run(["magic", "3.12.1"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.decode().splitlines()), 2)
        # a series without a final release, and one that does not exist
        p = run(["magic", "3.16.0"])
        self.assertEqual((p.returncode, p.stdout), (1, b""))
        self.assertIn(b"no magic number known for '3.16.0': 3.16 has no final release yet",
                      p.stderr)
        p = run(["magic", "3.99.1"])
        self.assertEqual((p.returncode, p.stdout), (1, b""))
        self.assertEqual(p.stderr, b"pycinspect: no magic number known for '3.99.1'\n")

    def test_no_maintainer_notes_in_final_for(self):
        """The "final for" column is for users: no to-do such as "verify final tag"."""
        objs, _ = magic_json([])
        for o in objs:
            if o["final_for"] is None:
                continue
            with self.subTest(magic=o["magic"]):
                for word in ("verify", "TODO", "check", "tag"):
                    self.assertNotIn(word, o["final_for"])
        (o,), _ = magic_json(["3666"])
        self.assertTrue(o["final"])
        self.assertTrue(o["final_for"].startswith("3.15.x ("), o["final_for"])
        p = run(["magic", "3.15"])
        last = p.stdout.decode().splitlines()[-1]
        self.assertTrue(last.startswith("3666 "))
        self.assertTrue(last.endswith(o["final_for"]))

    def test_help(self):
        p = run(["magic", "--help"])
        self.assertEqual(p.returncode, 0)
        self.assertTrue(p.stdout.startswith(b"usage: pycinspect magic"))

    def test_dev_full(self):
        for args in ([], ["--json"], ["3531"]):
            with open("/dev/full", "wb") as full:
                p = run(["magic"] + args, stdout=full)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"cannot write output: No space left on device", p.stderr)


if __name__ == "__main__":
    clitest.main()
