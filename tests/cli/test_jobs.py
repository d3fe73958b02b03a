"""Directories are walked and judged on worker threads (src/pwalk.c); the output must not depend
on how many: the same bytes, in the walk's order, for --jobs 1 (one thread, src/walk.c), 2, 3
and 8, and under a descriptor limit that makes the scan run on one thread.  The trees have what
changes the order or the walker: a mount point, a __pycache__ with subdirectories and one nested
in another, a default-excluded directory, and branches deeper than the parallel walk goes (past
its depth limit a subtree is handed to walk.c).  Walk errors keep their place among the
records."""
import os
import resource
import subprocess

from clitest import TempDirCase, main, module, run, write_file


class Jobs(TempDirCase):
    def tree(self):
        """400 directories, with fresh, stale, orphaned and legacy caches, and a mount point."""
        for d in range(400):
            sub = "p%03d/q%d" % (d // 4, d % 4)
            module(self.tmp, sub + "/a.py")
            module(self.tmp, sub + "/b.py", fresh=(d % 3 != 0))
            if d % 7 == 0:
                gone = module(self.tmp, sub + "/gone.py")
                os.unlink(os.path.join(self.tmp, sub, "gone.py"))
                self.assertTrue(os.path.exists(gone))
            if d % 11 == 0:
                write_file(os.path.join(self.tmp, sub, "lone.pyc"), b"\x00" * 20)
        # a __pycache__ holding a package of its own, and a __pycache__ inside a __pycache__
        pc = os.path.join(self.tmp, "p010", "q1", "__pycache__")
        module(pc, "extra/m.py", fresh=False)
        module(pc, "n.py")
        module(os.path.join(self.tmp, "node_modules", "x"), "skipped.py", fresh=False)
        # 60 levels, past the parallel walk's 40, each with a sibling and a cache
        deep = os.path.join(self.tmp, "p020", "deep")
        for level in range(60):
            module(deep, "side/s%d.py" % level, fresh=(level % 2 == 0))
            if level % 5 == 0:
                module(deep, "m%d.py" % level, fresh=(level % 3 != 0))
            deep = os.path.join(deep, "d%d" % level)
        os.makedirs(os.path.join(self.tmp, "p050", "mnt"))
        p = subprocess.run(["mount", "-t", "tmpfs", "none", os.path.join(self.tmp, "p050", "mnt")],
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount a tmpfs (needs root): %s" % p.stderr.decode().strip())
        self.addCleanup(subprocess.run, ["umount", "-l", os.path.join(self.tmp, "p050", "mnt")])

    def scan(self, jobs, limit=None):
        def lower():
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
        p = run(["scan", "--json", "--all", "-t", "3.12"] + (["--jobs", str(jobs)] if jobs else [])
                + [self.tmp], preexec_fn=lower if limit else None)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_same_output_for_any_number_of_threads(self):
        self.tree()
        one = self.scan(1)
        lines = one.decode("utf-8").splitlines()
        self.assertGreater(len(lines), 800)
        self.assertIn('"type":"error"', one.decode())  # the mount point notice
        for jobs in (2, 3, 8, None):
            self.assertEqual(self.scan(jobs), one, "--jobs %s differs from --jobs 1" % jobs)
        self.assertEqual(self.scan(None, limit=40), one, "a descriptor limit changes the output")

    def test_deep_and_wide_under_a_limit_the_threads_still_fit(self):
        # 300 levels, each with a leaf beside the way down: every level above the emission point
        # holds its descriptor, so this fails (EMFILE errors, missing caches) if the parallel
        # walk's descriptors grew with depth past what the plan counted
        d = self.tmp
        for level in range(300):
            module(d, "leaf%d/m.py" % level, fresh=(level % 4 != 0))
            d = os.path.join(d, "down")
        module(d, "bottom.py")
        one = self.scan(1)
        self.assertEqual(one.count(b'"type":"pyc"'), 301)
        self.assertNotIn(b'"type":"error"', one)
        for limit in (420, 64, 1024):
            self.assertEqual(self.scan(None, limit=limit), one, "limit %d" % limit)
            self.assertEqual(self.scan(8, limit=limit), one, "limit %d, 8 jobs" % limit)

    def test_big_directories_shared_between_threads(self):
        # one directory's caches are judged by several threads when it has many sources (a run
        # of the caches of one source at a time); hash-based caches make the runs long
        import py_compile
        for d in ("big", "big/__pycache__/../sub"):
            base = os.path.normpath(os.path.join(self.tmp, d))
            for i in range(120):
                src = os.path.join(base, "m%03d.py" % i)
                write_file(src, b"x = %d\n" % i * (1 + i % 50))
                for opt in (0, 1):
                    mode = (py_compile.PycInvalidationMode.CHECKED_HASH if i % 3 else
                            py_compile.PycInvalidationMode.TIMESTAMP)
                    py_compile.compile(src, optimize=opt, invalidation_mode=mode, doraise=True)
                if i % 5 == 0:
                    write_file(src, b"y = 2\n")  # stale by hash or by size
        args = ["scan", "--json", "--all", "--check-source=always", self.tmp]
        one = run(args[:1] + ["--jobs", "1"] + args[1:])
        self.assertEqual(one.returncode, 0, one.stderr)
        self.assertEqual(one.stdout.count(b'"type":"pyc"'), 480)
        self.assertIn(b'"status":"stale"', one.stdout)
        for jobs in ("2", "3", "8"):
            p = run(args[:1] + ["--jobs", jobs] + args[1:])
            self.assertEqual(p.stdout, one.stdout, "--jobs %s differs from --jobs 1" % jobs)

    def test_error_keeps_its_place(self):
        self.tree()
        lines = self.scan(8).decode("utf-8").splitlines()
        err = [i for i, l in enumerate(lines) if '"type":"error"' in l]
        self.assertEqual(len(err), 1)
        before, after = lines[err[0] - 1], lines[err[0] + 1]
        # p050 holds no cache itself; its children sort mnt, q0, q1...: the notice for p050/mnt
        # comes after everything under p049 and before p050/q0
        self.assertIn("/p049/q3/", before)
        self.assertIn("/p050/q0/", after)

    def test_bad_jobs(self):
        for bad in ("0", "-1", "x", "65", ""):
            p = run(["scan", "--jobs", bad, self.tmp])
            self.assertEqual(p.returncode, 2, bad)
            self.assertIn(b"--jobs", p.stderr)


if __name__ == "__main__":
    main()
