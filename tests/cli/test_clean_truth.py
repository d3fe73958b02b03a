"""`pycinspect clean` tells the truth however it is stopped (issue 11, /work/spec-clean.md points
1-5): every "removed" record names a file that is gone, every file that is gone has exactly one
record, the summary counts the records, and every line of the log is whole, valid JSON.

- Signals: SIGINT, SIGTERM and SIGHUP sent after K records (K = 0: as soon as the walk has
  begun) of a run over 20,000 orphaned caches in 400 directories, JSON and text, --jobs 1 and
  the default.  The run must stop before its next removal, write the records of what it did,
  `{"type":"interrupted"}` and the summary, and die by that signal.
- Out of memory: RLIMIT_AS at limits between the least the binary starts with and the least
  the whole run needs, over 40 directories of orphans with one of 15,000 fresh caches half way
  (its listing is what outgrows the limit, after the first 20 directories were cleaned).  Exit 2, the log true, an
  error record at its end.  Sanitized binaries cannot run under RLIMIT_AS (their shadow memory
  is reserved up front): there this part says so and passes; test_fault_clean_alloc.py fails
  every allocation in turn instead.
- Output that fails: a reader that closes its pipe after some lines, and stdout on a full
  tmpfs.  Exit 2, nothing removed once the output failed, the log file cut back to whole lines,
  and the records that could not be written on stderr.

The trees live on a tmpfs mounted in a private mount namespace (cleantruth.py).
"""
import fcntl
import os
import resource
import select
import signal
import subprocess
import tempfile
import time

from clitest import BIN, CODE_BODY, TempDirCase, env_c, header_312, main, make_cache, \
    not_aborted, write_file
from cleantruth import (check_log, json_lines, private_mount_namespace, sanitized, text_records,
                        text_summary, tree_paths, unwritten, unwritten_form)

ORPHAN = header_312(0, 0) + CODE_BODY
BATCH = 128  # CLEAN_BATCH: removals per write at most (spec 2)
SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


def orphans(root, ndirs, per_dir, prefix="d"):
    """ndirs directories prefix000... of per_dir orphaned 3.12 caches each."""
    for d in range(ndirs):
        pc = os.path.join(root, "%s%03d" % (prefix, d), "__pycache__")
        os.makedirs(pc)
        for f in range(per_dir):
            fd = os.open(os.path.join(pc, "o%03d.cpython-312.pyc" % f),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, ORPHAN)
            os.close(fd)


def fresh(root, rel, n):
    """n fresh caches (and their sources) in root/rel: never selected by --orphaned."""
    for i in range(n):
        src = os.path.join(root, rel, "m%05d_a_name_long_enough_to_weigh_in_a_listing.py" % i)
        write_file(src)
        make_cache(src)


def default_signals():
    """preexec_fn: the signals under test with their default action and unblocked, whatever
    the test runner left (an ignored signal stays ignored across exec)."""
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, list(SIGNALS))


def walking(pid, top):
    """Whether pid holds a descriptor of top or of a directory under it."""
    fds = "/proc/%d/fd" % pid
    try:
        names = os.listdir(fds)
    except OSError:
        return False
    for fd in names:
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:
            continue
        if target == top or target.startswith(top + "/"):
            return True
    return False


def small_pipe():
    """A pipe of one page: a writer that outruns its reader blocks at once."""
    r, w = os.pipe()
    size = fcntl.fcntl(r, fcntl.F_SETPIPE_SZ, 4096)
    return r, w, size


class FsCase(TempDirCase):
    """self.fs: a tmpfs of its own (in this process's private mount namespace)."""
    SIZE = "768m"

    def setUp(self):
        super().setUp()
        self.fs = os.path.join(self.tmp, "fs")
        os.mkdir(self.fs)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + self.SIZE, "none", self.fs],
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount a tmpfs (this test needs root): %s" % p.stderr.decode())

    def tearDown(self):
        subprocess.run(["umount", "-l", self.fs], check=False)
        super().tearDown()

    def copy(self, template, name):
        subprocess.run(["cp", "-a", template, os.path.join(self.fs, name)], check=True)
        return name

    def drop(self, name):
        """Remove a copy (again at cleanup: a failed subtest leaves its copy to it)."""
        subprocess.run(["rm", "-rf", "--", os.path.join(self.fs, name)], check=True)


class Signals(FsCase):
    NDIRS, PER_DIR = 400, 50
    TOTAL = NDIRS * PER_DIR

    def template(self):
        t = os.path.join(self.fs, "template")
        # first in the walk: 1500 fresh caches, judged and left, before the first orphan
        fresh(t, "a_lead", 1500)
        orphans(t, self.NDIRS, self.PER_DIR)
        return t

    def interrupted_run(self, name, sig, k, json_mode, jobs):
        """Run clean --orphaned on self.fs/name, reading stdout through a one-page pipe; send sig
        once k removal records were read (k = 0: as soon as the walk has begun).  Returns
        (stdout, stderr, returncode, records read when the signal was sent)."""
        r, w, pipe_size = small_pipe()
        err = tempfile.TemporaryFile()
        args = ["clean", "--orphaned", "-t", "3.12"] + (["--json"] if json_mode else []) + \
            jobs + [name]
        p = subprocess.Popen([BIN] + args, cwd=self.fs, stdout=w, stderr=err, env=env_c(),
                             preexec_fn=default_signals)
        os.close(w)
        mark = b'{"type":"pyc"' if json_mode else b"removed '"
        out = bytearray()
        seen = 0       # removal records read so far
        scanned = 0    # bytes of out already counted
        sent_at = None
        deadline = time.monotonic() + 120
        try:
            if k == 0:
                top = os.path.join(self.fs, name)
                while not walking(p.pid, top):
                    self.assertIsNone(p.poll(), "clean ended before its walk was seen")
                    self.assertLess(time.monotonic(), deadline, "the walk never began")
                    time.sleep(0.0005)
                p.send_signal(sig)
                sent_at = 0
            while True:
                self.assertLess(time.monotonic(), deadline, "clean does not end")
                ready, _, _ = select.select([r], [], [], 1.0)
                if not ready:
                    continue
                data = os.read(r, 65536)
                if not data:
                    break
                out += data
                end = out.rfind(b"\n") + 1
                if end > scanned:
                    seen += sum(line.startswith(mark) for line in
                                bytes(out[scanned:end]).split(b"\n"))
                    scanned = end
                if sent_at is None and seen >= k:
                    p.send_signal(sig)
                    sent_at = seen
            rc = p.wait(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            os.close(r)
        err.seek(0)
        stderr = err.read()
        err.close()
        not_aborted(subprocess.CompletedProcess(args, rc, bytes(out), stderr), args)
        self.pipe_size = pipe_size
        return bytes(out), stderr, rc, sent_at

    def test_signals_at_several_points(self):
        template = self.template()
        before_t = tree_paths(self.fs, "template")
        # (signal, K, JSON, jobs): every signal, K and mode, both kinds of --jobs
        runs = [
            (signal.SIGTERM, 0, True, []),
            (signal.SIGINT, 0, False, ["-j", "1"]),
            (signal.SIGHUP, 0, True, ["-j", "1"]),
            (signal.SIGINT, 1, True, []),
            (signal.SIGHUP, 1, False, []),
            (signal.SIGTERM, 500, True, ["-j", "1"]),
            (signal.SIGINT, 2000, False, []),
            (signal.SIGINT, 3000, True, ["-j", "1"]),
            (signal.SIGHUP, 7000, True, []),
            (signal.SIGTERM, 12000, False, ["-j", "1"]),
            (signal.SIGTERM, 15000, True, []),
        ]
        for n, (sig, k, json_mode, jobs) in enumerate(runs):
            signame = SIGNALS[sig]
            with self.subTest(signal=signame, k=k, json=json_mode, jobs=jobs):
                name = self.copy(template, "run%02d" % n)
                self.addCleanup(self.drop, name)
                before = {name + p[len("template"):]: kind for p, kind in before_t.items()}
                out, err, rc, sent_at = self.interrupted_run(name, sig, k, json_mode, jobs)
                after = tree_paths(self.fs, name)
                self.drop(name)  # 20,000 files: one copy at a time
                errtext = err.decode("utf-8", "replace")
                self.assertEqual(rc, -sig, "clean did not die by %s (exit %r); stderr: %s" % (
                    signame, rc, errtext[-2000:]))
                self.assertEqual(unwritten(err, json_mode), (None, []),
                                 "records on stderr though stdout never failed")
                if json_mode:
                    objs = json_lines(out)
                    self.assertGreaterEqual(len(objs), 2, "no interrupted record and summary")
                    self.assertEqual(objs[-2], {"type": "interrupted", "signal": signame},
                                     "the line before the summary")
                    summary = objs[-1]
                    self.assertEqual(summary.get("type"), "summary", "the last line")
                    self.assertEqual(summary.get("interrupted"), signame)
                    recs = objs[:-2]
                    self.assertEqual([o for o in recs if o.get("type") not in ("pyc", "dir")],
                                     [], "records other than pyc and dir")
                    files, _ = check_log(self, before, after, recs, summary=summary,
                                         what="%s after %d records" % (signame, sent_at))
                else:
                    self.assertIn("pycinspect: interrupted by %s\n" % signame, errtext)
                    text = out.decode("utf-8", "surrogateescape")
                    self.assertTrue(text.endswith("\n"), "stdout does not end a line")
                    summary = text_summary(text)
                    self.assertIsNotNone(summary, "no summary on stdout: ...%r" % text[-300:])
                    files, _ = check_log(self, before, after, text_records(text.splitlines()),
                                         summary=summary,
                                         what="%s after %d lines" % (signame, sent_at))
                # it stopped: not all removed, and no more than what was in flight when the
                # signal came (the pipe's content, one batch being written, a few more while
                # the signal is delivered)
                self.assertLess(len(files), self.TOTAL, "the signal came after the run")
                slack = BATCH + self.pipe_size // 40 + 64
                self.assertLessEqual(len(files), sent_at + slack,
                                     "%d removed after %s was sent at %d records read" % (
                                         len(files) - sent_at, signame, sent_at))
                print("  %s at %d records (%s, %s): %d removed" % (
                    signame, sent_at, "json" if json_mode else "text", jobs or "default jobs",
                    len(files)))


class OutOfMemory(FsCase):
    def template(self):
        t = os.path.join(self.fs, "small")
        orphans(t, 40, 50)
        big = os.path.join(self.fs, "zz")
        fresh(big, "", 15000)
        return t, big

    def run_limited(self, limit, args, cwd):
        def lower():
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        p = subprocess.run([BIN] + list(args), cwd=cwd, env=env_c(), preexec_fn=lower,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        return not_aborted(p, args)

    def least(self, lo, hi, ok):
        """The least limit in (lo, hi], in 64 KiB steps, for which ok(limit); hi must do."""
        step = 64 << 10
        while hi - lo > step:
            mid = (lo + hi) // 2 // step * step
            if mid <= lo:
                break
            if ok(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def test_out_of_memory_at_several_limits(self):
        sans = sanitized()
        if sans:
            print("  skipped: %s reserves its shadow memory up front and cannot run under "
                  "RLIMIT_AS; test_fault_clean_alloc.py fails allocations instead (where a "
                  "preloaded malloc can replace the binary's: not under clang's TSan)" %
                  "+".join(sans))
            return
        small, big = self.template()
        work = os.path.join(self.fs, "work")
        os.mkdir(work)
        runs = [0]

        def attempt(limit, json_mode=True, jobs=("-j", "1")):
            """One run on a fresh copy: (proc, before, after)."""
            runs[0] += 1
            name = "t%03d" % runs[0]
            subprocess.run(["cp", "-a", small, os.path.join(work, name)], check=True)
            # half way in the walk: after d019, before d020
            os.rename(big, os.path.join(work, name, "d019z"))
            try:
                before = tree_paths(work, name)
                p = self.run_limited(limit, ["clean", "--orphaned", "-t", "3.12"] +
                                     (["--json"] if json_mode else []) + list(jobs) + [name],
                                     cwd=work)
                after = tree_paths(work, name)
            finally:
                os.rename(os.path.join(work, name, "d019z"), big)
            subprocess.run(["rm", "-rf", "--", os.path.join(work, name)], check=True)
            return p, before, after

        start = self.least(1 << 20, 256 << 20,
                           lambda lim: self.run_limited(lim, ["--version"], None).returncode == 0)
        self.assertEqual(attempt(256 << 20)[0].returncode, 0, "the run fails with 256 MiB")
        enough = self.least(start, 256 << 20, lambda lim: attempt(lim)[0].returncode == 0)
        print("  the binary starts with %d KiB of address space; the run needs %d KiB" % (
            start >> 10, enough >> 10))
        self.assertGreater(enough - start, 1 << 20, "no room to run out of memory in")
        limits = [start + (enough - start) * i // 10 for i in range(10)] + [start + (64 << 10)]
        outcomes = []
        for i, limit in enumerate(sorted(limits)):
            json_mode = i % 3 != 2
            jobs = ("-j", "1") if i % 2 == 0 else ()
            with self.subTest(limit_kib=limit >> 10, json=json_mode, jobs=jobs):
                p, before, after = attempt(limit, json_mode, jobs)
                err = p.stderr.decode("utf-8", "replace")
                self.assertIn(p.returncode, (0, 2), "stderr: %s" % err[-2000:])
                self.assertEqual(unwritten(p.stderr, json_mode), (None, []),
                                 "records on stderr though stdout never failed")
                removed = None
                if json_mode:
                    objs = json_lines(p.stdout)
                    summary = objs[-1] if objs and objs[-1].get("type") == "summary" else None
                    recs = [o for o in objs if o.get("type") in ("pyc", "dir")]
                    files, _ = check_log(self, before, after, recs, summary=summary,
                                         what="RLIMIT_AS %d KiB" % (limit >> 10))
                    removed = len(files)
                    if p.returncode == 2:
                        # spec 5: an error record, then the summary when possible, end it
                        tail = [o.get("type") for o in objs[-2:]]
                        if objs or files:
                            self.assertTrue(tail[-1:] == ["error"] or tail == ["error", "summary"],
                                            "the log does not end with an error record "
                                            "(and the summary): %r" % objs[-2:])
                        self.assertTrue(err.strip(), "exit 2 and nothing said on stderr")
                    else:
                        self.assertIsNotNone(summary, "exit 0 without a summary")
                else:
                    text = p.stdout.decode("utf-8", "surrogateescape")
                    self.assertTrue(not text or text.endswith("\n"))
                    summary = text_summary(text)
                    files, _ = check_log(self, before, after, text_records(text.splitlines()),
                                         summary=summary, what="RLIMIT_AS %d KiB, text" % (
                                             limit >> 10))
                    removed = len(files)
                    if p.returncode == 2:
                        self.assertTrue(err.strip(), "exit 2 and nothing said on stderr")
                if p.returncode == 0:
                    self.assertEqual(removed, 2000, "exit 0, yet not every orphan was removed")
                outcomes.append((limit >> 10, p.returncode, removed))
        print("  (limit KiB, exit, removed): %r" % outcomes)
        self.assertTrue(any(rc == 2 and 0 < n < 2000 for _, rc, n in outcomes),
                        "no run ran out of memory half way: the test did not test it")


class OutputFails(FsCase):
    def tree(self, name, ndirs=40, per_dir=50):
        orphans(os.path.join(self.fs, name), ndirs, per_dir)
        return os.path.join(self.fs, name)

    def check_failed_output(self, name, before, out, err, rc, json_mode, partial_ok, what):
        """Exit 2, every line of out whole JSON (a last partial line only if partial_ok: a pipe
        may have taken part of a write), the unwritten records on stderr, and the union true."""
        errtext = err.decode("utf-8", "replace")
        self.assertEqual(rc, 2, "%s: exit %r; stderr: %s" % (what, rc, errtext[-2000:]))
        after = tree_paths(self.fs, name)
        if json_mode:
            objs, tail = json_lines(out, partial_tail=True)
            if not partial_ok:
                self.assertEqual(tail, "", "%s: the log ends in a partial line" % what)
            recs = [o for o in objs if o.get("type") in ("pyc", "dir")]
            self.assertEqual([o for o in objs if o.get("type") not in ("pyc", "dir", "error")],
                             [], "%s: a summary after output failed?" % what)
        else:
            text = out.decode("utf-8", "surrogateescape")
            lines = text.split("\n")
            tail = lines.pop()
            if not partial_ok:
                self.assertEqual(tail, "", "%s: stdout ends in a partial line" % what)
            recs = text_records(lines)
        strerr, late = unwritten(err, json_mode)
        self.assertLessEqual(len(late), BATCH + 1,
                             "%s: more than a batch removed without its record" % what)
        gone = set(before) - set(after)
        files, _ = check_log(self, before, after, recs + late, what=what)
        return strerr, recs, late, gone, files

    def test_reader_closes_the_pipe(self):
        template = self.tree("template")
        before_t = tree_paths(self.fs, "template")
        for n, (json_mode, lines, jobs) in enumerate([(True, 1, ["-j", "1"]), (True, 300, []),
                                                      (False, 40, ["-j", "1"]),
                                                      (False, 900, [])]):
            with self.subTest(json=json_mode, after_lines=lines, jobs=jobs):
                name = self.copy(template, "run%d" % n)
                self.addCleanup(self.drop, name)
                before = {name + p[len("template"):]: k for p, k in before_t.items()}
                r, w, _ = small_pipe()
                err = tempfile.TemporaryFile()
                args = ["clean", "--orphaned", "-t", "3.12"] + (["--json"] if json_mode else
                                                                [])
                p = subprocess.Popen([BIN] + args + jobs + [name], cwd=self.fs, stdout=w,
                                     stderr=err, env=env_c())
                os.close(w)
                out = bytearray()
                try:
                    while out.count(b"\n") < lines:
                        data = os.read(r, 4096)
                        self.assertTrue(data, "clean ended before %d lines" % lines)
                        out += data
                    # stop it, take all it wrote (the pipe must not swallow any), close
                    p.send_signal(signal.SIGSTOP)
                    deadline = time.monotonic() + 10
                    while not self.stopped(p.pid):
                        self.assertLess(time.monotonic(), deadline, "SIGSTOP did not stop it")
                        time.sleep(0.001)
                    os.set_blocking(r, False)
                    while True:
                        try:
                            data = os.read(r, 65536)
                        except BlockingIOError:
                            break
                        if not data:
                            break
                        out += data
                finally:
                    os.close(r)
                    p.send_signal(signal.SIGCONT)
                rc = p.wait(timeout=60)
                err.seek(0)
                stderr = err.read()
                err.close()
                not_aborted(subprocess.CompletedProcess(args, rc, bytes(out), stderr), args)
                strerr, recs, late, gone, files = self.check_failed_output(
                    name, before, bytes(out), stderr, rc, json_mode, True,
                    "pipe closed after %d lines" % lines)
                self.assertIn(b"cannot write output: Broken pipe", stderr)
                self.assertLess(len(files), 2000, "everything was removed: the pipe closed late")
                # the write that failed held records of files removed just before (every
                # batch here is made of removals): they must be on stderr
                self.assertGreater(len(late), 0, "the records cut off are not on stderr")
                print("  pipe closed after %d lines: %d removed, %d records on stderr" % (
                    out.count(b"\n"), len(files), len(late)))

    def test_unwritten_records_are_announced_as_spec_4_says(self):
        # "pycinspect: cannot write output: <strerror>; these N records were not written (the
        # files they name are removed):", then the N records
        name = os.path.basename(self.tree("t", ndirs=3, per_dir=5))
        for json_mode in (True, False):
            with self.subTest(json=json_mode):
                with open("/dev/full", "wb") as full:
                    args = ["clean", "--orphaned", "-t", "3.12"] + \
                        (["--json"] if json_mode else []) + [name]
                    p = not_aborted(subprocess.run([BIN] + args, cwd=self.fs, env=env_c(),
                                                   stdout=full, stderr=subprocess.PIPE,
                                                   timeout=60), args)
                self.assertEqual(p.returncode, 2)
                self.assertEqual(unwritten_form(p.stderr), "spec", "stderr: %s" % (
                    p.stderr.decode("utf-8", "replace")[:600]))
                err, recs = unwritten(p.stderr, json_mode)
                self.assertEqual(err, "No space left on device")
                self.assertEqual(len([r for r in recs if r["type"] == "pyc"]), 5,
                                 "the first directory's records")

    @staticmethod
    def stopped(pid):
        """Whether every thread of pid is stopped (io_uring's workers, kernel threads listed
        among them that never stop, aside)."""
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                    stat = f.read()
            except OSError:
                continue
            if stat[stat.index("(") + 1:].startswith("iou-"):
                continue
            state = stat.rsplit(")", 1)[1].split()[0]
            if state not in ("T", "t"):
                return False
        return True

    def test_stdout_on_a_full_tmpfs(self):
        template = self.tree("template")
        before_t = tree_paths(self.fs, "template")
        full = os.path.join(self.tmp, "full")
        os.mkdir(full)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "none", full],
                           stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stderr)
        try:
            for n, (json_mode, dry, jobs) in enumerate([(True, False, ["-j", "1"]),
                                                        (True, False, []),
                                                        (False, False, ["-j", "1"]),
                                                        (True, True, [])]):
                with self.subTest(json=json_mode, dry_run=dry, jobs=jobs):
                    name = self.copy(template, "run%d" % n)
                    self.addCleanup(self.drop, name)
                    before = {name + p[len("template"):]: k for p, k in before_t.items()}
                    log = os.path.join(full, "log")
                    args = ["clean", "--orphaned", "-t", "3.12"] + \
                        (["--json"] if json_mode else []) + (["-n"] if dry else []) + jobs + \
                        [name]
                    with open(log, "wb") as f:
                        p = not_aborted(subprocess.run([BIN] + args, cwd=self.fs, env=env_c(),
                                                       stdout=f, stderr=subprocess.PIPE,
                                                       timeout=60), args)
                    with open(log, "rb") as f:
                        out = f.read()
                    os.unlink(log)
                    self.assertGreater(len(out), 32 << 10, "the log did not fill the tmpfs")
                    self.assertIn(b"cannot write output: No space left on device", p.stderr)
                    if dry:
                        self.assertEqual(p.returncode, 2)
                        self.assertEqual(tree_paths(self.fs, name), before,
                                         "a dry run removed something")
                        json_lines(out)
                    else:
                        strerr, recs, late, gone, files = self.check_failed_output(
                            name, before, out, p.stderr, p.returncode, json_mode, False,
                            "stdout on a full tmpfs")
                        self.assertEqual(strerr, "No space left on device")
                        self.assertGreater(len(late), 0, "the records cut off are not on stderr")
                        self.assertLess(len(files), 2000)
                        print("  full tmpfs: %d bytes of log, %d removed, %d records on "
                              "stderr" % (len(out), len(files), len(late)))
        finally:
            subprocess.run(["umount", "-l", full], check=False)


if __name__ == "__main__":
    private_mount_namespace()
    main()
