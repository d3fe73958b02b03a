"""`pycinspect clean` when something happens at a chosen stat of a chosen name: the shim
(tests/fault/inject.c) runs a command before the Nth fstatat/statx/stat whose name holds a
string (PYCI_HOOK_FSTATAT_MATCH, PYCI_HOOK_FSTATAT_NTH, PYCI_HOOK_RUN), so each event lands at
an exact point of the run, not after a sleep.

- Spec 8 (/work/spec-clean.md), the source re-checked before removal: the judge stats a
  source, clean stats it again just before unlinking its cache.  At that last stat the hook
  restores the source's old bytes and mtime (the stale cache is now fresh: rsync -a, tar x), or
  touches only its ctime, or creates the source of an orphan.  The cache must be kept, "source
  changed since it was judged", exit 1, in a dry run as in a real one.  A counting run with the
  hook armed but no command (the control: the cache is removed) says how many stats of that
  name the run makes; the hook fires at the last, which must be at least the second.
- The package that shadows a module, re-checked before removal: the judge stats
  m/__init__.py to find the package m/ beside m.py, clean stats it again just before
  unlinking m's orphaned cache.  At that last stat the hook removes the package: the module is
  imported from m.py again, its cache is fresh, and must be kept, "no longer shadowed since it
  was judged", exit 1; another shadowed cache in the run is removed.
- A prefix tree's orphan whose source directory is gone (docs/inputs.md): the hook creates it,
  with the source, at clean's re-check; the cache is kept.
- Spec 2, SIGKILL: killed while judging the 201st of 300 caches in one directory, the run
  leaves at most one batch (128) of removals without their record, and no record of a removal
  not done.
- Spec 3, a signal during the walk, exactly: the hook runs `kill -SIG $PPID` (the shell's
  parent is pycinspect) at the judge's first stat of a source in the 4th directory.  With
  --jobs 1 the first three directories are cleaned and recorded, nothing after them is touched,
  and the run ends with the interrupted record, the summary, and death by that signal; at the
  first directory's first stat (K = 0), nothing at all is removed.

The binary calls fstatat (nm -D shows fstatat@GLIBC_2.33, statx for the caches' own identity);
the shim wraps every stat entry point, and each test checks that its hook ran.
"""
import os
import signal
import subprocess

from clitest import BIN, CODE_BODY, TempDirCase, env_c, header_312, main, not_aborted, \
    scan_json, write_file
from cleantruth import check_log, json_lines, text_records, text_summary, tree_paths, unwritten
from test_fault_clean import read_counts, sanitizer_runtimes

INJECT = os.environ.get("PYCI_INJECT", "")
T = ["--target", "3.12"]
OLD, NEW = 1500000000, 1600000000  # the mtimes of the source the cache was made for, and now
SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM", signal.SIGHUP: "SIGHUP"}


def default_signals():
    for s in SIGNALS:
        signal.signal(s, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, list(SIGNALS))


class HookCase(TempDirCase):
    def setUp(self):
        super().setUp()
        if not INJECT or not os.path.isfile(INJECT):
            self.fail("PYCI_INJECT is not set to the built shim (got %r)" % INJECT)
        self.runs = 0

    def run_hooked(self, args, match, nth=1, cmd=None):
        """pycinspect ARGS in self.tmp under the shim, the hook watching `match`.  Returns
        (proc, counts); no counts from a run killed by a signal."""
        self.runs += 1
        counts_file = os.path.join(self.tmp, "counts%d" % self.runs)
        env = env_c()
        for k in list(env):
            if k.startswith("PYCI_FAIL_") or k.startswith("PYCI_HOOK_"):
                del env[k]
        env["LD_PRELOAD"] = " ".join(sanitizer_runtimes() + [INJECT])
        env["PYCI_COUNT_FILE"] = counts_file
        env["PYCI_HOOK_FSTATAT_MATCH"] = match
        env["PYCI_HOOK_FSTATAT_NTH"] = str(nth)
        if cmd:
            env["PYCI_HOOK_RUN"] = cmd
        p = not_aborted(subprocess.run([BIN] + list(args), cwd=self.tmp, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       timeout=60, preexec_fn=default_signals), args)
        counts = {}
        try:
            counts = read_counts(counts_file)
        except OSError as e:
            if p.returncode >= 0:  # killed by a signal, the shim's destructor did not run
                self.fail("the shim left no counts (exit %d): %s; stderr: %s" % (
                    p.returncode, e, p.stderr.decode("utf-8", "replace")))
        return p, counts


class SourceChanged(HookCase):
    def tree(self, name):
        """name/pkg: restored.py, now NEW bytes at mtime NEW, with a cache made for the OLD bytes
        and mtime (stale); ctime.py and its stale cache; appears.cpython-312.pyc, an orphan;
        other.py with a stale cache, which nothing touches."""
        root = os.path.join(self.tmp, name, "pkg")
        old, new = b"x = 1\n", b"x = 22\n"
        write_file(os.path.join(root, "restored.py"), new)
        os.utime(os.path.join(root, "restored.py"), (NEW, NEW))
        write_file(os.path.join(root, "__pycache__", "restored.cpython-312.pyc"),
                   header_312(OLD, len(old)) + CODE_BODY)
        for n in ("ctime", "other"):
            write_file(os.path.join(root, n + ".py"), new)
            os.utime(os.path.join(root, n + ".py"), (NEW, NEW))
            write_file(os.path.join(root, "__pycache__", n + ".cpython-312.pyc"),
                       header_312(OLD, len(new)) + CODE_BODY)
        write_file(os.path.join(root, "__pycache__", "appears.cpython-312.pyc"),
                   header_312(0, 0) + CODE_BODY)
        return os.path.join(name, "pkg")

    def case(self, stem, cmd, json_mode, dry, jobs):
        """One run where the hook runs cmd (with {src} for the source's path, {mark} for the
        marker) at the last stat of STEM.py; returns what the run said of its cache."""
        tag = "%s-%s-%s-%s" % (stem, "json" if json_mode else "text", "dry" if dry else "real",
                               "j1" if jobs else "jd")
        pkg = self.tree(tag)
        cache = os.path.join(pkg, "__pycache__", stem + ".cpython-312.pyc")
        src = os.path.join(self.tmp, pkg, stem + ".py")
        mark = os.path.join(self.tmp, tag + ".hook-ran")
        args = ["clean", "--unused"] + T + (["--json"] if json_mode else []) + \
            (["-n"] if dry else []) + jobs
        # the control, and the count: the same run with the hook armed and no command
        control = self.tree(tag + "-control")
        before = tree_paths(self.tmp, tag + "-control")
        p, counts = self.run_hooked(args + [tag + "-control"], stem + ".py")
        self.assertEqual(p.returncode, 0, p.stderr)
        after = tree_paths(self.tmp, tag + "-control")
        self.assertEqual(after == before, dry)
        if not dry:
            self.assertNotIn(os.path.join(control, "__pycache__", stem + ".cpython-312.pyc"),
                             after, "the control run did not remove the cache")
        stats = counts["hook_stat"]
        self.assertGreaterEqual(stats, 2, "%s is stat'ed %d time(s): no re-check of the source "
                                "before unlinking its cache?" % (stem + ".py", stats))
        before = tree_paths(self.tmp, tag)
        p, counts = self.run_hooked(args + [tag], stem + ".py", nth=stats,
                                    cmd=cmd.format(src=src, mark=mark))
        after = tree_paths(self.tmp, tag)
        if os.path.join(pkg, stem + ".py") not in before:
            after.pop(os.path.join(pkg, stem + ".py"))  # the source the hook made
        self.assertTrue(os.path.exists(mark), "the hook did not run: %r" % counts)
        self.assertEqual((counts["hook_ran"], counts["hook_status"]), (1, 0))
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, "exit %d; stderr: %s" % (p.returncode, err))
        self.assertIn(cache, after, "the cache was removed")
        if json_mode:
            objs = json_lines(p.stdout)
            recs = {o["path"]: o for o in objs if o["type"] == "pyc"}
            self.assertEqual((recs[cache]["action"], recs[cache].get("error")),
                             ("kept", "source changed since it was judged"), recs[cache])
            check_log(self, before, after, objs[:-1], dry_run=dry, summary=objs[-1])
            self.assertEqual(objs[-1]["kept"], 1)
            others = [p for p in recs if p != cache]
            self.assertEqual(len(others), 3)
            for o in others:
                self.assertEqual(recs[o]["action"], "would-remove" if dry else "removed", o)
        else:
            self.assertIn("pycinspect: kept '%s': source changed since it was judged\n" % cache,
                          err)
            text = p.stdout.decode("utf-8", "surrogateescape")
            self.assertNotIn("'%s'" % cache, text)
            check_log(self, before, after, text_records(text.splitlines()), dry_run=dry,
                      summary=text_summary(text))
        return cache

    def test_source_restored_with_old_bytes_and_mtime(self):
        restore = "printf 'x = 1\\n' > {src} && touch -d @%d {src} && touch {mark}" % OLD
        for json_mode, dry, jobs in ((True, False, ["-j", "1"]), (True, True, ["-j", "1"]),
                                     (False, False, ["-j", "1"]), (False, True, []),
                                     (True, False, [])):
            with self.subTest(json=json_mode, dry_run=dry, jobs=jobs):
                cache = self.case("restored", restore, json_mode, dry, jobs)
                # and the cache is indeed fresh now: keeping it was right
                pycs, _, _, _ = scan_json(["--all"] + T + [cache.split("/")[0]], cwd=self.tmp)
                status = {r["path"]: r["status"] for r in pycs}
                self.assertEqual(status[cache], "fresh")

    def test_only_the_ctime_changes(self):
        # the same bytes, the same mtime: only the ctime tells
        touch = "touch -d @%d {src} && touch {mark}" % NEW
        for json_mode, dry in ((True, False), (True, True), (False, False)):
            with self.subTest(json=json_mode, dry_run=dry):
                self.case("ctime", touch, json_mode, dry, ["-j", "1"])

    def test_source_of_an_orphan_appears(self):
        create = "printf 'y = 2\\n' > {src} && touch {mark}"
        for json_mode, dry, jobs in ((True, False, ["-j", "1"]), (True, True, []),
                                     (False, False, [])):
            with self.subTest(json=json_mode, dry_run=dry, jobs=jobs):
                self.case("appears", create, json_mode, dry, jobs)


class ShadowGone(HookCase):
    def tree(self, name):
        """name/: m.py with a fresh cache and the package m/ beside it; n.py with a fresh cache
        and the extension module n.abi3.so beside it."""
        root = os.path.join(self.tmp, name)
        for stem in ("m", "n"):
            write_file(os.path.join(root, stem + ".py"), b"x = 1\n")
            os.utime(os.path.join(root, stem + ".py"), (NEW, NEW))
            write_file(os.path.join(root, "__pycache__", stem + ".cpython-312.pyc"),
                       header_312(NEW, 6) + CODE_BODY)
        write_file(os.path.join(root, "m", "__init__.py"))
        write_file(os.path.join(root, "n.abi3.so"), b"not an ELF file\n")
        return root

    def test_package_removed_before_the_removal(self):
        for json_mode, dry in ((True, False), (True, True), (False, False)):
            with self.subTest(json=json_mode, dry_run=dry):
                tag = "%s-%s" % ("json" if json_mode else "text", "dry" if dry else "real")
                args = ["clean", "--orphaned"] + T + (["--json"] if json_mode else []) + \
                    (["-n"] if dry else [])
                self.tree(tag + "-control")
                p, counts = self.run_hooked(args + [tag + "-control"], "m/__init__.py")
                self.assertEqual(p.returncode, 0, p.stderr)
                stats = counts["hook_stat"]
                self.assertGreaterEqual(stats, 2, "m/__init__.py is stat'ed %d time(s): no "
                                        "re-check of the package before the removal?" % stats)
                root = self.tree(tag)
                mark = os.path.join(self.tmp, tag + ".hook-ran")
                p, counts = self.run_hooked(args + [tag], "m/__init__.py", nth=stats,
                                            cmd="rm -r %s/m && touch %s" % (root, mark))
                self.assertTrue(os.path.exists(mark), "the hook did not run: %r" % counts)
                err = p.stderr.decode("utf-8", "replace")
                self.assertEqual(p.returncode, 1, "exit %d; stderr: %s" % (p.returncode, err))
                m_cache = os.path.join(tag, "__pycache__", "m.cpython-312.pyc")
                n_cache = os.path.join(tag, "__pycache__", "n.cpython-312.pyc")
                self.assertTrue(os.path.exists(os.path.join(self.tmp, m_cache)))
                self.assertEqual(os.path.exists(os.path.join(self.tmp, n_cache)), dry)
                if json_mode:
                    recs = {o["path"]: o for o in json_lines(p.stdout) if o["type"] == "pyc"}
                    self.assertEqual((recs[m_cache]["action"], recs[m_cache].get("error")),
                                     ("kept", "no longer shadowed since it was judged"))
                    self.assertEqual(recs[n_cache]["action"],
                                     "would-remove" if dry else "removed")
                else:
                    self.assertIn("pycinspect: kept '%s': no longer shadowed since it was "
                                  "judged\n" % m_cache, err)
                # and keeping it was right: the module is m.py's again, its cache fresh
                pycs, _, _, _ = scan_json(["--all"] + T + [tag], cwd=self.tmp)
                self.assertEqual({r["path"]: r["status"] for r in pycs}[m_cache], "fresh")


class PrefixSourceAppears(HookCase):
    """A prefix tree's orphan whose whole source directory is gone (docs/inputs.md): the judge
    has no directory to look in, and clean re-checks the source by its path just before the
    removal.  The hook creates the directory and the source at that stat: the cache is kept."""

    def test_source_directory_appears(self):
        for dry in (False, True):
            with self.subTest(dry_run=dry):
                tag = "dry" if dry else "real"
                prefix = os.path.join(self.tmp, tag, "pyc")
                srcdir = os.path.join(self.tmp, tag, "src", "app")
                cache = prefix + os.path.join(srcdir, "appears.cpython-312.pyc")
                write_file(cache, header_312(0, 0) + CODE_BODY)
                mark = os.path.join(self.tmp, tag + ".hook-ran")
                args = ["clean", "--orphaned", "--json"] + T + (["-n"] if dry else []) + \
                    ["--pycache-prefix", prefix]
                # the control: the hook armed, no command; the only stat of the source is
                # clean's re-check, since the judge had no directory to stat it in
                control = os.path.join(self.tmp, tag + "-control")
                ccache = control + os.path.join(srcdir, "appears.cpython-312.pyc")
                write_file(ccache, header_312(0, 0) + CODE_BODY)
                p, counts = self.run_hooked(args[:-1] + [control], "appears.py")
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(os.path.exists(ccache), dry)
                self.assertEqual(counts["hook_stat"], 1)
                cmd = "mkdir -p %s && printf 'y = 2\\n' > %s/appears.py && touch %s" % (
                    srcdir, srcdir, mark)
                p, counts = self.run_hooked(args, "appears.py", nth=1, cmd=cmd)
                self.assertTrue(os.path.exists(mark), "the hook did not run: %r" % counts)
                self.assertEqual(p.returncode, 1, p.stderr)
                objs = json_lines(p.stdout)
                rec = [o for o in objs if o["type"] == "pyc"]
                self.assertEqual([(r["path"], r["status"], r["action"], r.get("error"))
                                  for r in rec],
                                 [(cache, "orphaned", "kept",
                                   "source changed since it was judged")])
                self.assertTrue(os.path.exists(cache), "the cache was removed")


class SignalDuringTheWalk(HookCase):
    def tree(self, name):
        """Six directories d00..d05 of three orphans each, their names unique: dNN_k."""
        for d in range(6):
            for k in range(3):
                write_file(os.path.join(self.tmp, name, "d%02d" % d, "__pycache__",
                                        "d%02d_%d.cpython-312.pyc" % (d, k)),
                           header_312(0, 0) + CODE_BODY)

    def test_signal_at_a_chosen_directory(self):
        runs = [(signal.SIGTERM, 3, True, ["-j", "1"]), (signal.SIGINT, 3, False, ["-j", "1"]),
                (signal.SIGHUP, 0, True, ["-j", "1"]), (signal.SIGTERM, 0, False, []),
                (signal.SIGINT, 3, True, []), (signal.SIGHUP, 5, True, ["-j", "1"])]
        for n, (sig, at, json_mode, jobs) in enumerate(runs):
            signame = SIGNALS[sig]
            with self.subTest(signal=signame, at_dir=at, json=json_mode, jobs=jobs):
                name = "t%d" % n
                self.tree(name)
                before = tree_paths(self.tmp, name)
                mark = os.path.join(self.tmp, name + ".hook-ran")
                p, counts = self.run_hooked(
                    ["clean", "--orphaned"] + T + (["--json"] if json_mode else []) + jobs +
                    [name], "d%02d_0.py" % at, cmd="touch %s && kill -%s $PPID" % (
                        mark, signame[3:]))
                after = tree_paths(self.tmp, name)
                self.assertTrue(os.path.exists(mark), "the hook did not run")
                err = p.stderr.decode("utf-8", "replace")
                self.assertEqual(p.returncode, -sig, "exit %r; stderr: %s" % (p.returncode, err))
                self.assertEqual(unwritten(p.stderr, json_mode), (None, []))
                if json_mode:
                    objs = json_lines(p.stdout)
                    self.assertGreaterEqual(len(objs), 2)
                    self.assertEqual(objs[-2], {"type": "interrupted", "signal": signame})
                    self.assertEqual((objs[-1]["type"], objs[-1].get("interrupted")),
                                     ("summary", signame))
                    files, dirs = check_log(self, before, after, objs[:-2], summary=objs[-1])
                else:
                    self.assertIn("pycinspect: interrupted by %s\n" % signame, err)
                    text = p.stdout.decode("utf-8", "surrogateescape")
                    summary = text_summary(text)
                    self.assertIsNotNone(summary, "no summary on stdout")
                    files, dirs = check_log(self, before, after, text_records(text.splitlines()),
                                            summary=summary)
                done = ["d%02d" % d for d in range(at)]
                # nothing from the directory being judged on: the signal came before any of
                # its removals
                late = sorted(p for p in files | dirs if p.split("/")[1] not in done)
                self.assertEqual([p for p in late if p.split("/")[1] == "d%02d" % at], [],
                                 "removed after the signal")
                if jobs:  # one thread: the earlier directories are all done, the later untouched
                    self.assertEqual(late, [], "removed after the signal")
                    self.assertEqual(len(files), 3 * at)
                    self.assertEqual(len(dirs), at)


class SigKill(HookCase):
    def test_sigkill_leaves_at_most_a_batch_unrecorded(self):
        for n, (json_mode, jobs) in enumerate(((True, ["-j", "1"]), (True, []),
                                               (False, ["-j", "1"]))):
            with self.subTest(json=json_mode, jobs=jobs):
                name = "k%d" % n
                for d in range(3):
                    write_file(os.path.join(self.tmp, name, "a%02d" % d, "__pycache__",
                                            "a%02d.cpython-312.pyc" % d),
                               header_312(0, 0) + CODE_BODY)
                for i in range(300):
                    write_file(os.path.join(self.tmp, name, "big", "__pycache__",
                                            "b%03d.cpython-312.pyc" % i),
                               header_312(0, 0) + CODE_BODY)
                before = tree_paths(self.tmp, name)
                mark = os.path.join(self.tmp, name + ".hook-ran")
                p, _ = self.run_hooked(["clean", "--orphaned"] + T +
                                       (["--json"] if json_mode else []) + jobs + [name],
                                       "b200.py", cmd="touch %s && kill -KILL $PPID" % mark)
                after = tree_paths(self.tmp, name)
                self.assertTrue(os.path.exists(mark), "the hook did not run")
                self.assertEqual(p.returncode, -signal.SIGKILL)
                if json_mode:
                    objs, _ = json_lines(p.stdout, partial_tail=True)  # a write may be cut
                    recs = [o for o in objs if o["type"] in ("pyc", "dir")]
                else:
                    recs = text_records(p.stdout.decode("utf-8", "surrogateescape")
                                        .split("\n")[:-1])
                recorded = {r["path"] for r in recs if r["action"] == "removed"}
                gone = set(before) - set(after)
                self.assertEqual(sorted(recorded - gone), [], "recorded, not done")
                unrecorded = sorted(gone - recorded)
                self.assertLessEqual(len(unrecorded), 128, "%d removals without a record "
                                     "after SIGKILL" % len(unrecorded))
                self.assertTrue(all(r.startswith(name + "/big/") for r in unrecorded),
                                "unrecorded removals outside the last directory: %r" %
                                unrecorded[:5])
                print("  SIGKILL (%s, %s): %d removed, %d without a record" % (
                    "json" if json_mode else "text", jobs or "default jobs", len(gone),
                    len(unrecorded)))


if __name__ == "__main__":
    main()
