"""`pycinspect clean` when an allocation fails, at every allocation of a run (issue 11,
/work/spec-clean.md point 5): exit 2, the log true against the tree (cleantruth.check_log: every
"removed" record names a removed file, every removed file has its record), every line whole
valid JSON, and an error record (then the summary, when possible) at its end.

The shim (tests/fault/inject.c) counts the allocations a run makes from main() on
(PYCI_COUNT_FILE: alloc), and PYCI_FAIL_MALLOC=N makes the Nth and every later one fail with
ENOMEM.  A counting run of `clean --unused --json --jobs 1` over a small tree gives the number C;
then each N from 1 to C is a run of its own (C is printed; should it exceed 500, N takes every
value up to 300 and 200 more spread evenly over the rest, and says so).  Text mode and the
default --jobs (worker threads, so the Nth allocation is not always the same one) take every
third and every fifth N.

Under ASan the shim must come before the sanitizer runtime in LD_PRELOAD, or ASan's malloc
would be found first: ASAN_OPTIONS=verify_asan_link_order=0 lets ASan accept that (the shim is
built without instrumentation for it, tests/CMakeLists.txt).  A binary that defines malloc itself
(clang's TSan, linked statically) cannot have it replaced: this test says so and passes there.
"""
import os
import re
import shutil
import subprocess

from clitest import BIN, CODE_BODY, TempDirCase, env_c, header_312, main, module, not_aborted, \
    write_file
from cleantruth import check_log, json_lines, text_records, text_summary, tree_paths, unwritten
from test_fault_clean import read_counts, sanitizer_runtimes

INJECT = os.environ.get("PYCI_INJECT", "")
ARGS = ["clean", "--unused", "--target", "3.12"]
EVERY_UP_TO = 500


def binary_defines_malloc():
    out = subprocess.run(["nm", "-D", "--defined-only", BIN], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, check=False).stdout.decode()
    return bool(re.search(r"^\S+ [TWiV] malloc$", out, re.M))


class AllocFails(TempDirCase):
    def setUp(self):
        super().setUp()
        if not INJECT or not os.path.isfile(INJECT):
            self.fail("PYCI_INJECT is not set to the built shim (got %r)" % INJECT)
        self.template = os.path.join(self.tmp, "template")
        self.make_tree(self.template)
        self.runs = 0

    def make_tree(self, root):
        """Four directories of three stale caches and an orphan, a legacy stale cache, and a
        __pycache__ kept by an entry that is not a cache."""
        for d in range(4):
            for f in range(3):
                module(root, "d%02d/m%d.py" % (d, f), fresh=False)
            write_file(os.path.join(root, "d%02d/__pycache__/gone.cpython-312.pyc" % d),
                       header_312(0, 0) + CODE_BODY)
        src = os.path.join(root, "leg.py")
        write_file(src)
        st = os.stat(src)
        write_file(os.path.join(root, "leg.pyc"), header_312(int(st.st_mtime) + 10, st.st_size) +
                   CODE_BODY)
        module(root, "k/k.py", fresh=False)
        write_file(os.path.join(root, "k/__pycache__/index.nbi"), b"not a cache")

    def run_shim(self, n, json_mode=True, jobs=("-j", "1")):
        """A run on a fresh copy of the tree with PYCI_FAIL_MALLOC=n (0: none).  Returns
        (proc, counts, before, after)."""
        self.runs += 1
        name = "t%04d" % self.runs
        shutil.copytree(self.template, os.path.join(self.tmp, name), symlinks=True)
        before = tree_paths(self.tmp, name)
        env = env_c()
        for k in list(env):
            if k.startswith("PYCI_FAIL_") or k.startswith("PYCI_HOOK_"):
                del env[k]
        # the shim first: its malloc must be found before the sanitizer's
        env["LD_PRELOAD"] = " ".join([INJECT] + sanitizer_runtimes())
        env["ASAN_OPTIONS"] = ":".join(o for o in [env.get("ASAN_OPTIONS", ""),
                                                   "verify_asan_link_order=0"] if o)
        counts_file = os.path.join(self.tmp, name + ".counts")
        env["PYCI_COUNT_FILE"] = counts_file
        if n:
            env["PYCI_FAIL_MALLOC"] = str(n)
        args = ARGS + (["--json"] if json_mode else []) + list(jobs) + [name]
        p = not_aborted(subprocess.run([BIN] + args, cwd=self.tmp, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       timeout=120), args)
        try:
            counts = read_counts(counts_file)
        except OSError as e:
            self.fail("the shim left no counts (not loaded, or the run died: exit %d): %s; "
                      "stderr: %s" % (p.returncode, e, p.stderr.decode("utf-8", "replace")))
        self.assertEqual(counts.get("end"), 1, "the shim's counts are incomplete: %r" % counts)
        after = tree_paths(self.tmp, name)
        subprocess.run(["rm", "-rf", "--", os.path.join(self.tmp, name)], check=True)
        return p, counts, before, after

    def check_run(self, n, total, json_mode=True, jobs=("-j", "1")):
        """Run with the nth allocation failing and check it; returns its exit status."""
        p, counts, before, after = self.run_shim(n, json_mode, jobs)
        what = "allocation %d of %d failing (%s, %s)" % (n, total, "json" if json_mode else
                                                         "text", " ".join(jobs) or "jobs")
        err = p.stderr.decode("utf-8", "replace")
        self.assertIn(p.returncode, (0, 2), "%s: exit %d; stderr: %s" % (what, p.returncode,
                                                                          err[-2000:]))
        if json_mode and jobs and n <= total:  # the run that was counted
            self.assertGreaterEqual(counts["alloc_failed"], 1,
                                    "%s: no allocation failed (%r)" % (what, counts))
        _, late = unwritten(p.stderr, json_mode)
        if json_mode:
            objs = json_lines(p.stdout, what="%s: stdout" % what)
            summary = objs[-1] if objs and objs[-1].get("type") == "summary" else None
            recs = [o for o in objs if o.get("type") in ("pyc", "dir")]
            files, dirs = check_log(self, before, after, recs + late, summary=summary,
                                    what=what)
            if p.returncode == 2 and (objs or files):
                tail = [o.get("type") for o in objs[-2:]]
                self.assertTrue(tail[-1:] == ["error"] or tail == ["error", "summary"],
                                "%s: the log does not end with an error record (and the "
                                "summary): %r" % (what, objs[-2:]))
        else:
            text = p.stdout.decode("utf-8", "surrogateescape")
            self.assertTrue(not text or text.endswith("\n"), "%s: a partial line" % what)
            summary = text_summary(text)
            files, dirs = check_log(self, before, after, text_records(text.splitlines()) + late,
                                    summary=summary, what=what)
        if p.returncode == 2:
            # an error goes to stderr, also under --json (docs/json.md: error records are
            # "also reported on stderr")
            self.assertTrue(err.strip(), "%s: exit 2 and nothing said on stderr (stdout ends "
                            "%r)" % (what, p.stdout[-200:]))
        else:
            # the failure was absorbed: then the run must be whole
            self.assertIsNotNone(summary, "%s: exit 0 without a summary" % what)
            self.assertEqual(len(files), 18, "%s: exit 0, yet not all was removed" % what)
        return p.returncode

    def test_every_allocation_fails_in_turn(self):
        if binary_defines_malloc():
            print("  skipped: %s defines malloc itself (a sanitizer runtime linked statically, "
                  "as clang's TSan is): a preloaded malloc cannot replace it" % BIN)
            return
        p, counts, before, after = self.run_shim(0)
        self.assertEqual(p.returncode, 0, p.stderr)
        check_log(self, before, after, [o for o in json_lines(p.stdout) if o["type"] in
                                        ("pyc", "dir")], summary=json_lines(p.stdout)[-1])
        total = counts["alloc"]
        self.assertGreater(total, 10, "the shim saw %d allocations: is it first in LD_PRELOAD?"
                           % total)
        self.assertEqual(counts["alloc_failed"], 0)
        if total <= EVERY_UP_TO:
            ns = list(range(1, total + 1))
            print("  %d allocations: each fails in turn" % total)
        else:
            rest = range(301, total + 1)
            ns = list(range(1, 301)) + [rest[i * len(rest) // 200] for i in range(200)]
            print("  %d allocations: N = 1..300, then 200 spread over %d..%d" % (total, 301,
                                                                                  total))
        ns.append(total + 1)  # nothing fails: the control
        absorbed = []
        for n in ns:
            with self.subTest(n=n):
                if self.check_run(n, total) != 2 and n <= total:
                    absorbed.append(n)
        for n in ns[::3]:
            with self.subTest(n=n, text=True):
                self.check_run(n, total, json_mode=False)
        for n in ns[::5]:
            with self.subTest(n=n, jobs="default"):
                self.check_run(n, total, jobs=())
        if absorbed:
            print("  failures absorbed, the run complete and exit 0, at N = %r" % absorbed)


if __name__ == "__main__":
    main()
