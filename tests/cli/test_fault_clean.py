"""`pycinspect clean` when its deleting calls or its stdout fail (docs/clean.md, guarantee 5
"every record tells what was done, after it was done", "When a run is cut short", and the exit
status).

The failures are injected by the LD_PRELOAD shim tests/fault/inject.c (PYCI_INJECT): unlinkat of
a file or a directory fails by count or by path, the Nth write to stdout and every later one
fail with ENOSPC or EPIPE.  The shim also tees what reached stdout (PYCI_TEE), traces writes
and unlinkats in the order they happened (PYCI_TRACE) and counts the calls (PYCI_COUNT_FILE).
Two tests use no shim at all: stdout on /dev/full, and on a pipe whose reader is gone.

Every tree here is made of stale 3.12 caches (`--stale --target 3.12` selects them all), one
__pycache__ per directory d00, d01, ..., walked in that order.
"""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import BIN, TempDirCase, env_c, main, module  # noqa: E402

INJECT = os.environ.get("PYCI_INJECT", "")
ARGS = ["clean", "--stale", "--target", "3.12"]
STRERROR = {"EACCES": "Permission denied", "EROFS": "Read-only file system",
            "EBUSY": "Device or resource busy", "ENOSPC": "No space left on device",
            "EPIPE": "Broken pipe"}


def sanitizer_runtimes():
    """The sanitizer runtimes BIN links (ASan, TSan, ...): they must come first in LD_PRELOAD."""
    out = subprocess.run(["ldd", BIN], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=False).stdout.decode("utf-8", "replace")
    libs = []
    for line in out.splitlines():
        m = re.search(r"\b(lib(?:asan|tsan|ubsan|lsan|hwasan)\.so[^\s]*)\s+=>\s+(\S+)", line)
        if m:
            libs.append(m.group(2))
    return libs


def read_counts(path):
    """The "key value" lines the shim writes at exit (PYCI_COUNT_FILE) as a dict; OSError when
    it left none (not loaded, or the process died before its destructor ran)."""
    counts = {}
    with open(path) as f:
        for line in f:
            k, v = line.split()
            counts[k] = int(v)
    return counts


def parse_lines(data, complete=True):
    """JSON objects of JSON Lines bytes.  complete: the output must end with a newline and a
    summary; else (output cut by a failed write) a partial last line is dropped."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    tail = lines.pop()
    if complete and tail:
        raise AssertionError("JSON output does not end with a newline: %r" % tail[-80:])
    objs = [json.loads(line) for line in lines]
    if complete and (not objs or objs[-1].get("type") != "summary"):
        raise AssertionError("the last JSON line is not the summary: %r" % (objs[-1:] or None))
    for o in objs:
        if o.get("type") not in ("pyc", "dir", "error", "summary"):
            raise AssertionError("unexpected JSON object: %r" % o)
    return objs


def last_actions(objs, kind):
    """{path: [actions in order]} of the records of type kind."""
    out = {}
    for o in objs:
        if o["type"] == kind:
            out.setdefault(o["path"], []).append(o)
    return out


def snapshot(root):
    """Every entry under root (root itself included): relative path -> (kind, ino, size,
    mtime_ns)."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [""] + dirnames + filenames:
            p = os.path.join(dirpath, name) if name else dirpath
            st = os.lstat(p)
            kind = "d" if os.path.isdir(p) and not os.path.islink(p) else "f"
            snap[os.path.relpath(p, os.path.dirname(root))] = (kind, st.st_ino, st.st_size,
                                                                st.st_mtime_ns)
    return snap


class Shim:
    """What the shim reported about one run."""

    def __init__(self, proc, counts, tee, trace):
        self.proc, self.counts, self.tee, self.trace = proc, counts, tee, trace


class FaultCase(TempDirCase):
    def setUp(self):
        super().setUp()
        if not INJECT or not os.path.isfile(INJECT):
            self.fail("PYCI_INJECT is not set to the built shim (got %r)" % INJECT)
        self.root = os.path.join(self.tmp, "t")
        self.real = os.path.realpath(self.tmp)
        self.runs = 0

    # --- trees ---------------------------------------------------------------------------

    def tree(self, ndirs=6, nfiles=3):
        """ndirs directories of nfiles stale caches; returns the caches' display paths in the
        walk's order (as clean prints them, relative to self.tmp), grouped by directory."""
        dirs = []
        for d in range(ndirs):
            caches = []
            for f in range(nfiles):
                c = module(self.root, "d%02d/m%d.py" % (d, f), fresh=False)
                caches.append(os.path.relpath(c, self.tmp))
            dirs.append(sorted(caches))
        return dirs

    def exists(self, display):
        return os.path.lexists(os.path.join(self.tmp, display))

    def abs(self, display):
        """The path the shim sees (through /proc/self/fd) for a display path."""
        return os.path.join(self.real, display)

    # --- runs ----------------------------------------------------------------------------

    def run_shim(self, args, json_out=True, **fault):
        """Run pycinspect ARGS [--json] t under the shim with the PYCI_FAIL_* settings in
        `fault` (keys without the PYCI_ prefix)."""
        self.runs += 1
        base = os.path.join(self.tmp, "shim%d" % self.runs)
        env = env_c()
        for k in list(env):
            if k.startswith("PYCI_FAIL_") or k in ("PYCI_TEE", "PYCI_TRACE", "PYCI_COUNT_FILE"):
                del env[k]
        env["LD_PRELOAD"] = " ".join(sanitizer_runtimes() + [INJECT])
        env["PYCI_COUNT_FILE"] = base + ".counts"
        env["PYCI_TEE"] = base + ".tee"
        env["PYCI_TRACE"] = base + ".trace"
        for k, v in fault.items():
            env["PYCI_" + k] = str(v)
        argv = [BIN] + list(args) + (["--json"] if json_out else []) + ["t"]
        p = subprocess.run(argv, cwd=self.tmp, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        try:
            counts = read_counts(base + ".counts")
        except OSError as e:
            self.fail("the shim left no counts (not loaded?): %s; stderr: %s" % (
                e, p.stderr.decode("utf-8", "replace")))
        self.assertEqual(counts.get("end"), 1, "the shim's counts are incomplete: %r" % counts)
        with open(base + ".tee", "rb") as f:
            tee = f.read()
        with open(base + ".trace", "rb") as f:
            trace = [line.split(b" ", 1) for line in f.read().splitlines()]
        # the shim saw all of stdout: what the pipe got is what it let through
        self.assertEqual(tee, p.stdout, "the shim's tee differs from the captured stdout")
        self.assertEqual(counts["bytes"], len(p.stdout))
        # guarantee 1: deleting calls only through directory descriptors, never with a path
        self.assertEqual((counts["unlinkat_path"], counts["unlink"], counts["rmdir"],
                          counts["remove"]), (0, 0, 0, 0),
                         "a deleting call was given a path: %r" % counts)
        return Shim(p, counts, tee, trace)

    def assert_unchanged(self, before, msg):
        """The tree is as in the snapshot `before`: nothing removed, added or replaced."""
        after = snapshot(self.root)
        gone = sorted(p for p in before if p not in after)
        self.assertEqual(gone, [], "%s (%d of %d entries gone)" % (msg, len(gone), len(before)))
        self.assertEqual(after, before, msg)

    def err(self, r):
        return r.proc.stderr.decode("utf-8", "replace")

    def assert_rc(self, r, rc):
        self.assertEqual(r.proc.returncode, rc, "exit %d, expected %d; stderr: %s" % (
            r.proc.returncode, rc, self.err(r)))

    # cli_flush_log's line before the records it could not write to stdout
    MARK_RE = re.compile(rb"cannot write output: [^;\n]*; these \d+ records? (?:were|was) not "
                         rb"written \([^)\n]*\):\n")

    def unwritten(self, r):
        """The records stderr holds after saying they could not be written to stdout."""
        m = self.MARK_RE.search(r.proc.stderr)
        if not m:
            return []
        tail = r.proc.stderr[m.end():]
        return [json.loads(line) for line in tail.decode("utf-8", "surrogateescape").split("\n")
                if line]

    def assert_log_true(self, r, before):
        """After a run that stopped on a write error: every cache and __pycache__ gone has
        exactly one "removed" record, on stdout or (not written there) on stderr; every such
        record names an entry that is gone; nothing was unlinked after the first failed write;
        every line that reached stdout is whole."""
        self.assertTrue(r.tee == b"" or r.tee.endswith(b"\n"), "a cut line reached stdout")
        objs = parse_lines(r.tee, complete=False) + self.unwritten(r)
        removed = [o["path"] for o in objs
                   if o["type"] in ("pyc", "dir") and o["action"] == "removed"]
        self.assertEqual(len(removed), len(set(removed)), "a removal recorded twice")
        after = snapshot(self.root)
        gone = sorted(p for p in before if p not in after)
        self.assertEqual(sorted(removed), gone, "the records and the tree disagree")
        kinds = [t[0] for t in r.trace]
        self.assertIn(b"F", kinds, "no write failed: %r" % r.counts)
        first_fail = kinds.index(b"F")
        late = [b" ".join(t).decode("utf-8", "replace") for t in r.trace[first_fail:]
                if t[0] in (b"U", b"R")]
        self.assertEqual(late, [], "unlinkat called after a write to stdout had failed")
        return gone


class UnlinkFails(FaultCase):
    def test_shim_is_transparent_without_faults(self):
        # the control: under the shim, with nothing failing, clean removes everything
        dirs = self.tree()
        r = self.run_shim(ARGS)
        self.assert_rc(r, 0)
        objs = parse_lines(r.proc.stdout)
        for caches in dirs:
            for c in caches:
                self.assertFalse(self.exists(c), c)
            self.assertFalse(self.exists(os.path.dirname(caches[0])))
        self.assertEqual(r.counts["unlinkat_file"], 18)
        self.assertEqual(r.counts["unlinkat_dir"], 6)
        self.assertEqual(r.counts["unlinkat_failed"], 0)
        self.assertEqual(r.counts["write_failed"], 0)
        self.assertGreaterEqual(r.counts["write"], 1)
        s = objs[-1]
        self.assertEqual((s["files"], s["directories"], s["failed"], s["kept"]), (18, 6, 0, 0))

    def test_records_reach_stdout_after_each_unlinkat(self):
        # guarantee 5 on a run where nothing fails: a "removed" record reaches stdout only
        # after its unlinkat, and at most one batch (128) of unlinkats waits for its record
        dirs = self.tree()
        r = self.run_shim(ARGS)
        self.assert_rc(r, 0)
        unlinked = set()
        pending = 0
        early = []
        for t in r.trace:
            if t[0] in (b"U", b"R"):
                unlinked.add(t[1].decode("utf-8", "surrogateescape"))
                pending += 1
                self.assertLessEqual(pending, 128, "more than a batch of removals unrecorded")
                continue
            if t[0] != b"W":
                continue
            pending = 0
            for o in parse_lines(r.tee[:int(t[1])], complete=False):
                if o["type"] in ("pyc", "dir") and o["action"] == "removed" and \
                        self.abs(o["path"]) not in unlinked:
                    early.append(o["path"])
        self.assertEqual(early, [], "recorded before its unlinkat")
        self.assertTrue(all(not self.exists(c) for caches in dirs for c in caches))

    def test_batches_hold_at_most_128_removals(self):
        # issue 11, spec 2: records are written in batches of at most 128 removals (so a
        # SIGKILL leaves at most that many unrecorded), and at least at each directory's end
        for f in range(300):
            module(self.root, "big/m%03d.py" % f, fresh=False)
        dirs = self.tree(ndirs=3, nfiles=2)
        r = self.run_shim(ARGS)
        self.assert_rc(r, 0)
        done = 0
        sizes = []  # removal records in each write, in order
        for t in r.trace:
            if t[0] == b"W":
                sizes.append(r.tee[done:int(t[1])].count(b'"action":"removed"'))
                done = int(t[1])
        self.assertEqual(sum(sizes), 300 + 1 + 6 + 3, "removal records in the writes")
        self.assertLessEqual(max(sizes), 128, "a write of more than a batch: %r" % sizes)
        # big's 300 in three writes at least, then one for each of d00, d01, d02: a small
        # directory's records are not held back to make up a batch
        self.assertGreaterEqual(len([n for n in sizes if n]), 3 + 3,
                                "removal records per write: %r" % sizes)
        self.assertTrue(all(not self.exists(c) for caches in dirs for c in caches))

    def test_one_file_cannot_be_removed(self):
        for errname in ("EACCES", "EROFS"):
            for json_out in (True, False):
                with self.subTest(errno=errname, json=json_out):
                    subprocess.run(["rm", "-rf", "--", self.root], check=True)
                    dirs = self.tree()
                    victim = dirs[2][1]
                    pycache = os.path.dirname(victim)
                    r = self.run_shim(ARGS, json_out=json_out,
                                      FAIL_UNLINKAT_MATCH="/" + victim,
                                      FAIL_UNLINKAT_ERRNO=errname)
                    self.assert_rc(r, 1)
                    self.assertEqual(r.counts["unlinkat_failed"], 1)
                    # that file stays, and so does its __pycache__; all else is gone
                    self.assertTrue(self.exists(victim))
                    self.assertTrue(self.exists(pycache))
                    for caches in dirs:
                        for c in caches:
                            if c != victim:
                                self.assertFalse(self.exists(c), c)
                        if caches is not dirs[2]:
                            self.assertFalse(self.exists(os.path.dirname(caches[0])))
                    # the __pycache__ was not even tried
                    self.assertEqual(r.counts["unlinkat_dir"], 5)
                    if json_out:
                        objs = parse_lines(r.proc.stdout)
                        recs = last_actions(objs, "pyc")
                        self.assertEqual([o["action"] for o in recs[victim]], ["failed"])
                        self.assertEqual(recs[victim][-1]["error"], STRERROR[errname])
                        for p, rs in recs.items():
                            if p != victim:
                                self.assertEqual([o["action"] for o in rs], ["removed"], p)
                        self.assertEqual(len(recs), 18)
                        dir_actions = [o["action"] for o in objs
                                       if o["type"] == "dir" and o["path"] == pycache]
                        self.assertNotIn("removed", dir_actions)
                        s = objs[-1]
                        self.assertEqual((s["files"], s["directories"], s["failed"], s["kept"]),
                                         (17, 5, 1, 0))
                    else:
                        out = r.proc.stdout.decode("utf-8", "replace")
                        self.assertIn("pycinspect: cannot remove '%s': %s" % (
                            victim, STRERROR[errname]), self.err(r))
                        self.assertEqual(self.err(r).count("cannot remove"), 1, self.err(r))
                        # spec 1: on stderr only, no "removed" line for it on stdout
                        self.assertNotIn("'%s'" % victim, out)
                        self.assertNotIn("removed directory '%s'" % pycache, out)
                        self.assertIn("removed 17 files", out)
                        self.assertIn("and 5 directories", out)
                        self.assertIn("not removed: 1 failed, 0 kept", out)

    def test_failed_cache_is_not_counted_as_not_selected(self):
        # the __pycache__ that a failed removal keeps holds no cache that was not selected:
        # caches_left "counts the caches not selected" (docs/clean.md), and the text line must
        # not say "not selected" of a cache that was selected and could not be removed
        for json_out in (True, False):
            with self.subTest(json=json_out):
                subprocess.run(["rm", "-rf", "--", self.root], check=True)
                dirs = self.tree()
                victim = dirs[1][0]
                pycache = os.path.dirname(victim)
                r = self.run_shim(ARGS, json_out=json_out, FAIL_UNLINKAT_MATCH="/" + victim)
                self.assert_rc(r, 1)
                self.assertTrue(self.exists(victim))
                if json_out:
                    objs = parse_lines(r.proc.stdout)
                    for o in objs:
                        if o["type"] == "dir" and o["path"] == pycache:
                            self.assertEqual(o["caches_left"], 0, o)
                else:
                    out = r.proc.stdout.decode("utf-8", "replace")
                    line = [ln for ln in out.splitlines() if "'%s'" % pycache in ln]
                    self.assertFalse(any("not selected" in ln for ln in line), line)

    def test_no_file_can_be_removed(self):
        for json_out in (True, False):
            with self.subTest(json=json_out):
                subprocess.run(["rm", "-rf", "--", self.root], check=True)
                dirs = self.tree()
                before = snapshot(self.root)
                r = self.run_shim(ARGS, json_out=json_out, FAIL_UNLINKAT=1)
                self.assert_rc(r, 1)
                self.assert_unchanged(before, "something was removed")
                self.assertEqual(r.counts["unlinkat_file"], 18)
                self.assertEqual(r.counts["unlinkat_failed"], 18)
                self.assertEqual(r.counts["unlinkat_dir"], 0, "rmdir of a non-empty __pycache__")
                every = [c for caches in dirs for c in caches]
                if json_out:
                    objs = parse_lines(r.proc.stdout)
                    recs = last_actions(objs, "pyc")
                    self.assertEqual(sorted(recs), sorted(every))
                    for p, rs in recs.items():
                        self.assertEqual([o["action"] for o in rs], ["failed"], p)
                        self.assertEqual(rs[-1]["error"], "Permission denied")
                    self.assertEqual([o for o in objs if o["type"] == "dir"
                                      and o["action"] != "kept"], [])
                    s = objs[-1]
                    self.assertEqual((s["files"], s["bytes"], s["directories"], s["failed"]),
                                     (0, 0, 0, 18))
                else:
                    err = self.err(r)
                    for c in every:
                        self.assertIn("pycinspect: cannot remove '%s': Permission denied" % c, err)
                    out = r.proc.stdout.decode("utf-8", "replace")
                    self.assertIn("removed 0 files", out)
                    self.assertNotIn("removed directory", out)


class RmdirFails(FaultCase):
    def test_one_pycache_cannot_be_removed(self):
        for json_out in (True, False):
            with self.subTest(json=json_out):
                subprocess.run(["rm", "-rf", "--", self.root], check=True)
                dirs = self.tree()
                pycache = os.path.dirname(dirs[3][0])
                r = self.run_shim(ARGS, json_out=json_out,
                                  FAIL_RMDIR_MATCH=self.abs(pycache))
                self.assert_rc(r, 1)
                self.assertEqual(r.counts["unlinkat_failed"], 1)
                self.assertTrue(os.path.isdir(os.path.join(self.tmp, pycache)))
                self.assertEqual(os.listdir(os.path.join(self.tmp, pycache)), [])
                for caches in dirs:
                    for c in caches:
                        self.assertFalse(self.exists(c), c)
                    if caches is not dirs[3]:
                        self.assertFalse(self.exists(os.path.dirname(caches[0])))
                if json_out:
                    objs = parse_lines(r.proc.stdout)
                    recs = last_actions(objs, "dir")
                    self.assertEqual([o["action"] for o in recs[pycache]], ["failed"])
                    self.assertEqual(recs[pycache][-1]["error"], "Permission denied")
                    s = objs[-1]
                    self.assertEqual((s["files"], s["directories"], s["failed"]), (18, 5, 1))
                else:
                    self.assertIn("pycinspect: cannot remove directory '%s': Permission denied"
                                  % pycache, self.err(r))
                    out = r.proc.stdout.decode("utf-8", "replace")
                    self.assertIn("removed 18 files", out)
                    self.assertIn("and 5 directories", out)
                    self.assertIn("not removed: 1 failed", out)

    def test_no_pycache_can_be_removed(self):
        dirs = self.tree()
        r = self.run_shim(ARGS, FAIL_RMDIR=1, FAIL_RMDIR_ERRNO="EBUSY")
        self.assert_rc(r, 1)
        self.assertEqual(r.counts["unlinkat_dir"], 6)
        self.assertEqual(r.counts["unlinkat_failed"], 6)
        objs = parse_lines(r.proc.stdout)
        recs = last_actions(objs, "dir")
        for caches in dirs:
            pc = os.path.dirname(caches[0])
            self.assertTrue(os.path.isdir(os.path.join(self.tmp, pc)))
            self.assertEqual([o["action"] for o in recs[pc]], ["failed"])
            self.assertEqual(recs[pc][-1]["error"], "Device or resource busy")
        s = objs[-1]
        self.assertEqual((s["files"], s["directories"], s["failed"]), (18, 0, 6))


class WriteFails(FaultCase):
    def first_write_fails(self, errname):
        # the first directory is done before its records are written: when that write fails,
        # they go to stderr, and nothing more is removed
        for json_out in (True, False):
            with self.subTest(errno=errname, json=json_out):
                subprocess.run(["rm", "-rf", "--", self.root], check=True)
                dirs = self.tree()
                before = snapshot(self.root)
                r = self.run_shim(ARGS, json_out=json_out, FAIL_WRITE=1,
                                  FAIL_WRITE_ERRNO=errname)
                self.assert_rc(r, 2)
                self.assertIn("pycinspect: cannot write output: %s" % STRERROR[errname],
                              self.err(r))
                self.assertGreaterEqual(r.counts["write_failed"], 1)
                self.assertEqual(r.proc.stdout, b"")
                self.assertEqual((r.counts["unlinkat_file"], r.counts["unlinkat_dir"]), (3, 1))
                first = dirs[0] + [os.path.dirname(dirs[0][0])]
                if json_out:
                    self.assertEqual(sorted(self.assert_log_true(r, before)), sorted(first))
                else:
                    self.assertRegex(r.proc.stderr, self.MARK_RE)
                    for c in dirs[0]:
                        self.assertIn("removed '%s'" % c, self.err(r))
                        self.assertFalse(self.exists(c))
                for c in dirs[1]:
                    self.assertTrue(self.exists(c), c)

    def test_first_write_fails_enospc(self):
        self.first_write_fails("ENOSPC")

    def test_first_write_fails_epipe(self):
        self.first_write_fails("EPIPE")

    def nth_write_fails(self, errname):
        dirs = self.tree(ndirs=40, nfiles=3)
        before = snapshot(self.root)
        # how many writes a whole run makes: a dry run makes the same ones and removes nothing
        dry = self.run_shim(ARGS + ["--dry-run"])
        self.assert_rc(dry, 0)
        total = dry.counts["write"]
        self.assertGreaterEqual(total, 4, "the tree is too small to fail half way")
        n = total // 2 + 1
        r = self.run_shim(ARGS, FAIL_WRITE=n, FAIL_WRITE_ERRNO=errname)
        self.assert_rc(r, 2)
        self.assertIn("pycinspect: cannot write output: %s" % STRERROR[errname], self.err(r))
        self.assertEqual(r.counts["write_failed"], r.counts["write"] - n + 1)
        gone = self.assert_log_true(r, before)
        # some directories were done before the failure, and the later ones are untouched
        self.assertGreater(len(gone), 0, "nothing was removed before write %d failed" % n)
        recorded = {o["path"] for o in parse_lines(r.tee, complete=False) + self.unwritten(r)
                    if o["type"] == "pyc"}
        last = max((i for i, caches in enumerate(dirs) if any(c in recorded for c in caches)),
                   default=-1)
        self.assertLess(last, len(dirs) - 1, "every directory had its records written")
        missing_late = [c for caches in dirs[last + 1:] for c in caches if not self.exists(c)]
        self.assertEqual(missing_late, [], "removed in a directory whose records never reached "
                         "stdout")

    def test_nth_write_fails_enospc(self):
        self.nth_write_fails("ENOSPC")

    def test_nth_write_fails_epipe(self):
        self.nth_write_fails("EPIPE")

    def test_write_fails_in_the_middle_of_every_run(self):
        # each possible failing write in turn: guarantee 5 holds wherever the output breaks
        before = None
        dry = None
        for n in range(1, 40):
            subprocess.run(["rm", "-rf", "--", self.root], check=True)
            self.tree(ndirs=8, nfiles=3)
            before = snapshot(self.root)
            if dry is None:
                dry = self.run_shim(ARGS + ["--dry-run"])
                self.assert_rc(dry, 0)
            if n > dry.counts["write"]:
                break
            with self.subTest(failing_write=n):
                r = self.run_shim(ARGS, FAIL_WRITE=n)
                self.assert_rc(r, 2)
                self.assert_log_true(r, before)
        self.assertIsNotNone(before)


class RealOutputErrors(FaultCase):
    """The same without the shim: stdout on a full device, and on a pipe nobody reads.  The
    first directory is removed, its records go to stderr, and the rest stays."""

    def check(self, p, dirs, before):
        self.assertEqual(p.returncode, 2)
        m = self.MARK_RE.search(p.stderr)
        self.assertTrue(m, p.stderr)
        for c in dirs[0]:
            self.assertFalse(self.exists(c), c)
            self.assertIn(c.encode(), p.stderr[m.end():])
        after = snapshot(self.root)
        gone = sorted(x for x in before if x not in after)
        self.assertEqual(gone, sorted(dirs[0] + [os.path.dirname(dirs[0][0])]))

    def test_stdout_on_dev_full(self):
        dirs = self.tree()
        before = snapshot(self.root)
        with open("/dev/full", "wb") as full:
            p = subprocess.run([BIN] + ARGS + ["--json", "t"], cwd=self.tmp, env=env_c(),
                               stdout=full, stderr=subprocess.PIPE, timeout=60)
        self.assertIn(b"cannot write output: No space left on device", p.stderr)
        self.check(p, dirs, before)

    def test_stdout_on_closed_pipe(self):
        dirs = self.tree()
        before = snapshot(self.root)
        rfd, wfd = os.pipe()
        os.close(rfd)
        try:
            p = subprocess.run([BIN] + ARGS + ["t"], cwd=self.tmp, env=env_c(), stdout=wfd,
                               stderr=subprocess.PIPE, timeout=60)
        finally:
            os.close(wfd)
        self.assertIn(b"cannot write output: Broken pipe", p.stderr)
        self.check(p, dirs, before)


class DryRun(FaultCase):
    def test_dry_run_never_unlinks(self):
        for json_out in (True, False):
            with self.subTest(json=json_out):
                subprocess.run(["rm", "-rf", "--", self.root], check=True)
                dirs = self.tree()
                before = snapshot(self.root)
                # every unlinkat would fail: a dry run must not notice, since it makes none
                r = self.run_shim(ARGS + ["--dry-run"], json_out=json_out, FAIL_UNLINKAT=1,
                                  FAIL_RMDIR=1)
                self.assert_rc(r, 0)
                self.assertEqual((r.counts["unlinkat_file"], r.counts["unlinkat_dir"]), (0, 0))
                self.assert_unchanged(before, "a dry run removed something")
                self.assertEqual([t for t in r.trace if t[0] in (b"U", b"R")], [])
                if json_out:
                    objs = parse_lines(r.proc.stdout)
                    recs = last_actions(objs, "pyc")
                    self.assertEqual(sorted(recs), sorted(c for cs in dirs for c in cs))
                    for p, rs in recs.items():
                        self.assertEqual([o["action"] for o in rs], ["would-remove"], p)
                    drecs = last_actions(objs, "dir")
                    self.assertEqual(sorted(drecs), sorted(os.path.dirname(cs[0]) for cs in dirs))
                    for p, rs in drecs.items():
                        self.assertEqual([o["action"] for o in rs], ["would-remove"], p)
                    s = objs[-1]
                    self.assertEqual((s["dry_run"], s["files"], s["directories"], s["failed"]),
                                     (True, 18, 6, 0))
                else:
                    out = r.proc.stdout.decode("utf-8", "replace")
                    self.assertIn("would remove 18 files", out)
                    self.assertNotIn("cannot remove", self.err(r))

    def test_dry_run_with_failing_output(self):
        self.tree()
        before = snapshot(self.root)
        r = self.run_shim(ARGS + ["--dry-run"], FAIL_WRITE=1)
        self.assert_rc(r, 2)
        self.assertIn("cannot write output: No space left on device", self.err(r))
        self.assertEqual((r.counts["unlinkat_file"], r.counts["unlinkat_dir"]), (0, 0))
        self.assert_unchanged(before, "a dry run removed something")


if __name__ == "__main__":
    main()
