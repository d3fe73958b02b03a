"""`pycinspect clean --debris` when the kernel, the output or memory fails, through the
LD_PRELOAD shim of test_fault_clean.py (tests/fault/inject.c):

- every deleting call goes through a directory descriptor (the shim counts any with a path),
  one unlinkat per file and per directory of the debris;
- a removal that fails where no dry run could foresee it (EIO, EBUSY) is recorded as failed,
  the directories above it as kept, the exit status is 1, and the log is true;
- an entry replaced by a directory between its listing and its removal (the shim's hook, at its
  first and at its second stat) is kept ("changed since it was listed"), what replaced it
  untouched;
- a write to stdout that fails stops the removal at once: nothing is unlinked after it, and the
  records not written are on stderr, so that stdout and stderr together are true;
- every allocation failing in turn: exit 0 or 2, the log true and whole, an error record last.
"""
import json
import os
import subprocess

from clitest import BIN, env_c, main, not_aborted, write_file
from test_debris import check_truth, tree
from test_fault_clean import INJECT, FaultCase, read_counts, sanitizer_runtimes
from test_fault_clean_alloc import binary_defines_malloc

T = ["-t", "3.12"]


class DebrisFaults(FaultCase):
    def debris(self):
        """t/: dist/ (two files, sub/ of two), .pytest_cache/v/x, coverage.xml, src/m.py."""
        for rel in ("dist/a.whl", "dist/b.tar.gz", "dist/sub/b.whl", "dist/sub/c.whl",
                    ".pytest_cache/v/x", "coverage.xml", "src/m.py"):
            write_file(os.path.join(self.root, rel))
        return tree(self.tmp, "t")

    def drop(self):
        subprocess.run(["rm", "-rf", "--", self.root], check=True)

    def records(self, r):
        return [json.loads(line) for line in r.proc.stdout.decode().split("\n") if line]

    def test_through_descriptors_one_call_each(self):
        before = self.debris()
        r = self.run_shim(["clean", "--debris"] + T)
        self.assert_rc(r, 0)
        objs = self.records(r)
        done = check_truth(self, before, tree(self.tmp, "t"), objs[:-1])
        files = [p for p in done if before[p] == "file"]
        self.assertEqual((r.counts["unlinkat_file"], r.counts["unlinkat_dir"]),
                         (len(files), len(done) - len(files)))
        self.assertEqual(len(done), 10)

    def test_unforeseen_failures(self):
        for fault, victim, err in (
                ({"FAIL_UNLINKAT_MATCH": "dist/sub/b.whl", "FAIL_UNLINKAT_ERRNO": "EIO"},
                 "t/dist/sub/b.whl", "Input/output error"),
                ({"FAIL_RMDIR_MATCH": ".pytest_cache/v", "FAIL_RMDIR_ERRNO": "EBUSY"},
                 "t/.pytest_cache/v", "Device or resource busy")):
            with self.subTest(victim=victim):
                before = self.debris()
                r = self.run_shim(["clean", "--debris"] + T, **fault)
                self.assert_rc(r, 1)
                objs = self.records(r)
                check_truth(self, before, tree(self.tmp, "t"), objs[:-1])
                recs = {o["path"]: o for o in objs if o["type"] == "debris"}
                self.assertEqual((recs[victim]["action"], recs[victim]["error"]),
                                 ("failed", err))
                up = os.path.dirname(victim)
                while up != "t":
                    self.assertEqual(recs[up]["action"], "kept", up)
                    self.assertEqual(recs[up]["error"], "it still holds 1 entry", up)
                    up = os.path.dirname(up)
                self.assertEqual(objs[-1]["debris"]["failed"], 1)
                self.drop()

    def test_replaced_between_listing_and_removal(self):
        for nth in (1, 2):
            with self.subTest(stat=nth):
                before = self.debris()
                hook = "rm t/dist/a.whl && mkdir t/dist/a.whl && echo new > t/dist/a.whl/new"
                r = self.run_shim(["clean", "--debris"] + T, HOOK_FSTATAT_MATCH="a.whl",
                                  HOOK_FSTATAT_NTH=nth, HOOK_RUN=hook)
                self.assertEqual(r.counts["hook_ran"], 1)
                self.assert_rc(r, 1)
                objs = self.records(r)
                recs = {o["path"]: o for o in objs if o["type"] == "debris"}
                self.assertEqual((recs["t/dist/a.whl"]["action"], recs["t/dist/a.whl"]["error"]),
                                 ("kept", "changed since it was listed"))
                self.assertEqual(recs["t/dist"]["action"], "kept")
                self.assertEqual(objs[-1]["debris"]["kept"], 1)
                with open(os.path.join(self.root, "dist", "a.whl", "new")) as f:
                    self.assertEqual(f.read(), "new\n")
                after = tree(self.tmp, "t")
                gone = set(before) - set(after)
                self.assertEqual(sorted(gone), sorted(p for p, o in recs.items()
                                                      if o["action"] == "removed"))
                self.drop()

    def test_write_fails_midway(self):
        for n in (1, 2, 3):
            with self.subTest(write=n):
                before = self.debris()
                r = self.run_shim(["clean", "--debris"] + T, FAIL_WRITE=n,
                                  FAIL_WRITE_ERRNO="ENOSPC")
                self.assert_rc(r, 2)
                objs = [json.loads(line) for line in r.tee.decode().split("\n") if line]
                objs += self.unwritten(r)
                check_truth(self, before, tree(self.tmp, "t"),
                            [o for o in objs if o["type"] != "summary"])
                kinds = [t[0] for t in r.trace]
                self.assertIn(b"F", kinds)
                late = [t for t in r.trace[kinds.index(b"F"):] if t[0] in (b"U", b"R")]
                self.assertEqual(late, [], "unlinkat after a write to stdout had failed")
                self.drop()

    def alloc_run(self, template, n):
        """clean --debris=all -j 1 --json on a fresh copy of template with the nth allocation
        failing (0: none), the shim before any sanitizer runtime (test_fault_clean_alloc.py
        says why).  (proc, counts, records, tree after)."""
        subprocess.run(["cp", "-a", template, self.root], check=True)
        env = env_c()
        for k in list(env):
            if k.startswith("PYCI_"):
                del env[k]
        env["LD_PRELOAD"] = " ".join([INJECT] + sanitizer_runtimes())
        env["ASAN_OPTIONS"] = ":".join(o for o in [env.get("ASAN_OPTIONS", ""),
                                                   "verify_asan_link_order=0"] if o)
        counts_file = os.path.join(self.tmp, "alloc.counts")
        env["PYCI_COUNT_FILE"] = counts_file
        if n:
            env["PYCI_FAIL_MALLOC"] = str(n)
        args = ["clean", "--debris=all", "-j", "1", "--json"] + T + ["t"]
        p = not_aborted(subprocess.run([BIN] + args, cwd=self.tmp, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       timeout=120), args)
        counts = read_counts(counts_file)
        self.assertEqual(counts.get("end"), 1)
        objs = [json.loads(line) for line in p.stdout.decode().split("\n") if line]
        after = tree(self.tmp, "t")
        self.drop()
        return p, counts, objs, after

    def test_every_allocation_fails_in_turn(self):
        if binary_defines_malloc():
            print("  skipped: %s defines malloc itself (clang's TSan): a preloaded malloc "
                  "cannot replace it" % BIN)
            return
        before = self.debris()
        template = os.path.join(self.tmp, "template")
        os.rename(self.root, template)
        p, counts, objs, after = self.alloc_run(template, 0)
        self.assertEqual(p.returncode, 0, p.stderr)
        total = counts["alloc"]
        self.assertGreater(total, 10, "the shim saw %d allocations" % total)
        print("  %d allocations: each fails in turn" % total)
        absorbed = 0
        for n in range(1, total + 2):
            with self.subTest(n=n):
                p, counts, objs, after = self.alloc_run(template, n)
                err = p.stderr.decode("utf-8", "replace")
                self.assertIn(p.returncode, (0, 2), err[-2000:])
                check_truth(self, before, after, [o for o in objs if o["type"] != "summary"],
                            what="allocation %d failing" % n)
                if p.returncode == 2:
                    self.assertTrue(err.strip(), "exit 2 and nothing said")
                    if objs:
                        tail = [o["type"] for o in objs[-2:]]
                        self.assertTrue(tail[-1:] == ["error"] or tail == ["error", "summary"],
                                        "allocation %d: the log ends %r" % (n, objs[-2:]))
                else:
                    absorbed += n <= total
                    self.assertEqual(len(set(before) - set(after)), 10)
        print("  failures absorbed (the run whole, exit 0): %d" % absorbed)


if __name__ == "__main__":
    main()
