"""`pycinspect clean` while the tree changes under it (docs/clean.md, guarantees 1, 2 and 5):
directories swapped for symlinks to a canary tree during the run, and caches deleted and
recreated during the run.  Nothing outside the target may be removed, the records must say what
happened (the last record of a path wins), and the run must end with exit 0 or 1."""
import os
import resource
import subprocess
import threading
import time

from clitest import (CODE_BODY, TempDirCase, header_312, last_actions, main, parse_clean_jsonl,
                     run, snapshot, snapshot_diff, write_file)

T = ["-t", "3.12"]


def mod(root, rel, fresh):
    """Write root/rel.py and its 3.12 cache; returns the cache path."""
    s = os.path.join(root, rel + ".py")
    write_file(s)
    st = os.stat(s)
    d, base = os.path.split(s)
    c = os.path.join(d, "__pycache__", base[:-3] + ".cpython-312.pyc")
    write_file(c, header_312(int(st.st_mtime) + (0 if fresh else 10), st.st_size) + CODE_BODY)
    return c


class Races(TempDirCase):
    def setUp(self):
        super().setUp()
        # a tmpfs for speed: trees of thousands of directories, copied for each run
        self.fs = os.path.join(self.tmp, "fs")
        os.mkdir(self.fs)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512m", "none", self.fs],
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount a tmpfs (this test needs root): %s" % p.stderr.decode())
        self.canary = os.path.join(self.fs, "canary")
        # what a swapped-in symlink leads to: the same layout as the hot directories
        for i in range(100):
            mod(self.canary, "sub%03d/s" % i, fresh=False)
            mod(self.canary, "sub%03d/f" % i, fresh=True)
        self.canary_before = snapshot(self.canary)

    def tearDown(self):
        try:
            self.assert_canary()
        finally:
            subprocess.run(["umount", "-l", self.fs], check=False)
            super().tearDown()

    def assert_canary(self):
        self.assertEqual(snapshot_diff(self.canary_before, snapshot(self.canary)), ([], [], []),
                         "the canary outside the target changed")

    def check_records(self, recs, summary, root):
        """The counts of the summary are those of the records, the last record of each path
        being what happened."""
        acts = last_actions(recs)
        pyc = {p: a for (t, p), a in acts.items() if t == "pyc"}
        for p in pyc:
            self.assertTrue(p.startswith(root + "/"), p)
        self.assertEqual(summary["files"], sum(a == "removed" for a in pyc.values()))
        self.assertEqual(summary["directories"],
                         sum(a == "removed" for (t, _), a in acts.items() if t == "dir"))
        self.assertEqual(summary["kept"], sum(r.get("action") == "kept" for r in recs
                                              if r["type"] == "pyc"))
        self.assertEqual(summary["failed"], sum(r.get("action") == "failed" for r in recs))
        self.assertEqual(summary["errors"] + summary["mounts_not_crossed"],
                         sum(r["type"] == "error" for r in recs))
        for r in recs:
            if r.get("action") == "failed" or (r["type"] == "pyc" and r["action"] == "kept"):
                self.assertTrue(r.get("error"), r)
        return pyc

    # ---- a directory replaced by a symlink while the run is in progress ----------------------

    def big_tree(self, root):
        """4 hot directories of 500 subdirectories each, and 1000 cold ones: in each, a stale
        and a fresh cache.  Returns the names of the hot directories."""
        for h in range(4):
            for i in range(500):
                mod(root, "hot%d/sub%03d/s" % (h, i), fresh=False)
                mod(root, "hot%d/sub%03d/f" % (h, i), fresh=True)
        for i in range(1000):
            mod(root, "cold/c%04d/s" % i, fresh=False)
            mod(root, "cold/c%04d/f" % i, fresh=True)
        return ["hot%d" % h for h in range(4)]

    def test_directory_swapped_for_a_symlink_during_the_run(self):
        template = os.path.join(self.fs, "template")
        hot = self.big_tree(template)
        parking = os.path.join(self.fs, "parking")
        os.mkdir(parking)
        variants = [([], None), (["-j", "1"], 40), ([], 40), (["-j", "2"], None), ([], 64)]
        swaps_seen = 0
        for n, (jobs, limit) in enumerate(variants):
            with self.subTest(jobs=jobs, limit=limit):
                target = os.path.join(self.fs, "target%d" % n)
                subprocess.run(["cp", "-a", template, target], check=True)
                before = snapshot(target)
                # absolute symlinks leave the tmpfs at "/" (a mount check alone refuses them);
                # relative ones stay on it: only not following symlinks saves the canary
                link = self.canary if n % 2 else os.path.relpath(self.canary, target)
                stop = threading.Event()
                swaps = [0]
                trouble = []

                def swapper():
                    try:
                        while not stop.is_set():
                            for h in hot:
                                os.rename(os.path.join(target, h), os.path.join(parking, h))
                                os.symlink(link, os.path.join(target, h))
                            for h in hot:
                                os.unlink(os.path.join(target, h))
                                os.rename(os.path.join(parking, h), os.path.join(target, h))
                            swaps[0] += 1
                    except OSError as e:  # a swap that cannot be done is the test's failure
                        trouble.append(e)

                def lower():
                    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
                th = threading.Thread(target=swapper)
                th.start()
                try:
                    time.sleep(0.01)
                    start = swaps[0]
                    p = run(["clean", "--json", "--unused"] + jobs + T + [target], timeout=60,
                            preexec_fn=lower if limit else None)
                    during = swaps[0] - start
                finally:
                    stop.set()
                    th.join()
                self.assertEqual(trouble, [])
                self.assertGreater(during, 0, "no swap happened during the run")
                swaps_seen += during
                self.assertIn(p.returncode, (0, 1), p.stderr)
                recs, summary = parse_clean_jsonl(p.stdout)
                pyc = self.check_records(recs, summary, target)
                self.assertEqual(set(pyc.values()) - {"removed"}, set(),
                                 "no cache changed, yet some were not removed")
                for r in recs:
                    if r["type"] == "error":
                        self.assertIn(r["message"], ("directory changed during the walk, skipped",
                                                     "cannot open directory"), r)
                self.assertEqual(p.returncode, 1 if summary["errors"] else 0)
                # nothing outside the target, exactly what was reported inside it
                self.assert_canary()
                self.assertEqual(os.listdir(parking), [])
                removed, added, changed = snapshot_diff(before, snapshot(target),
                                                        dir_mtimes=False)
                self.assertEqual(added, [])
                self.assertEqual(changed, [])
                self.assertEqual(removed, sorted(os.fsencode(os.path.relpath(p, target))
                                                 for p in pyc))
                for path in removed:
                    self.assertTrue(path.endswith(b"/__pycache__/s.cpython-312.pyc"), path)
                # the cold part is never swapped: all of it is cleaned
                cold = [p for p in removed if p.startswith(b"cold/")]
                self.assertEqual(len(cold), 1000)
                subprocess.run(["rm", "-rf", target], check=True)

    # ---- caches deleted and recreated while the run is in progress ---------------------------

    def test_files_vanishing_and_coming_back_during_the_run(self):
        template = os.path.join(self.fs, "template")
        stale, fresh, churn = [], [], []
        for i in range(1500):
            c = mod(template, "d%02d/e%04d/s" % (i // 100, i), fresh=False)
            (churn if i % 3 == 0 else stale).append(os.path.relpath(c, template))
            fresh.append(os.path.relpath(mod(template, "d%02d/e%04d/f" % (i // 100, i), True),
                                         template))
        for n, jobs in enumerate(([], ["-j", "1"], [])):
            with self.subTest(run=n, jobs=jobs):
                target = os.path.join(self.fs, "target%d" % n)
                subprocess.run(["cp", "-a", template, target], check=True)
                with open(os.path.join(target, churn[0]), "rb") as f:
                    body = f.read()  # a stale cache, written again as a new file
                stop = threading.Event()
                recreated = set()
                ops = [0]
                trouble = []

                def churner():
                    try:
                        while not stop.is_set():
                            for c in churn:
                                try:
                                    os.unlink(os.path.join(target, c))
                                except FileNotFoundError:
                                    pass
                                ops[0] += 1
                            for c in churn:
                                with open(os.path.join(target, c), "wb") as f:
                                    f.write(body)
                                recreated.add(c)
                                ops[0] += 1
                    except OSError as e:
                        trouble.append(e)

                th = threading.Thread(target=churner)
                th.start()
                try:
                    time.sleep(0.01)
                    start = ops[0]
                    p = run(["clean", "--json", "--stale"] + jobs + T + [target], timeout=60)
                    during = ops[0] - start
                finally:
                    stop.set()
                    th.join()
                self.assertEqual(trouble, [])
                self.assertGreater(during, 0, "nothing vanished during the run")
                self.assertIn(p.returncode, (0, 1), p.stderr)
                self.assertNotIn(b"Sanitizer", p.stderr)
                recs, summary = parse_clean_jsonl(p.stdout)
                pyc = self.check_records(recs, summary, target)
                rel = {os.path.relpath(k, target): a for k, a in pyc.items()}
                troubled = sum(a != "removed" for a in rel.values()) + summary["errors"]
                self.assertEqual(p.returncode, 1 if troubled else 0)
                for c in stale:  # never touched: removed, and gone
                    self.assertEqual(rel.get(c), "removed", c)
                    self.assertFalse(os.path.lexists(os.path.join(target, c)), c)
                for f in fresh:
                    self.assertTrue(os.path.exists(os.path.join(target, f)), f)
                    self.assertTrue(os.path.exists(os.path.join(target, f[:-len(
                        ".cpython-312.pyc")].replace("__pycache__/", "") + ".py")), f)
                for c, a in rel.items():
                    self.assertTrue(c in stale or c in churn, c)
                    if a == "removed" and c in churn and os.path.lexists(os.path.join(target, c)):
                        # gone unless the churner wrote it again after the removal
                        self.assertIn(c, recreated, c)
                self.assert_canary()
                subprocess.run(["rm", "-rf", target], check=True)


if __name__ == "__main__":
    main()
