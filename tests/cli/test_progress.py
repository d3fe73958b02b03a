#!/usr/bin/env python3
"""The progress line (docs/output.md): on a terminal (a pseudo-terminal the child really has),
directories, caches, bytes, rate and the top-level directory on one line of stderr, updated in
place and erased at the end; never on a pipe, under --json, --no-progress or TERM=dumb.

The half second before the line shows is lowered to 0 with the test hook
PYCI_PROGRESS_DELAY_MS, and the walk is held still by not reading its stdout (a pipe that fills
up): the line is then seen with what was counted, whatever the machine's speed."""
import os
import re
import time

from clitest import TempDirCase, env_c, main, module, run, run_tty, screen

LINE = re.compile(rb"(\d+) director(?:y|ies), (\d+) caches?, ([0-9.]+ (?:B|KiB|MiB)), "
                  rb"(\d+) caches/s(?:, in ([^\r\x1b]*))?")
TOPS, PER_TOP = 30, 100  # 3,000 caches: more than a pipe and scan's buffer hold of records


def env_tty(delay="0", **over):
    env = env_c()
    env["TERM"] = "xterm"
    env.pop("NO_COLOR", None)
    if delay is None:
        env.pop("PYCI_PROGRESS_DELAY_MS", None)
    else:
        env["PYCI_PROGRESS_DELAY_MS"] = delay
    env.update(over)
    return env


def counted(term):
    """The progress lines drawn in term that counted a cache."""
    return [m for m in LINE.finditer(term) if int(m.group(2)) > 0]


def after(seconds):
    start = time.monotonic()
    return lambda term: time.monotonic() - start > seconds


class Progress(TempDirCase):
    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.tree = tempfile.mkdtemp(prefix="pyci-progress-")
        for t in range(TOPS):
            for i in range(PER_TOP):
                module(cls.tree, "d%02d/m%03d.py" % (t, i))

    @classmethod
    def tearDownClass(cls):
        import shutil
        shutil.rmtree(cls.tree)

    def args(self, *extra):
        return ["scan", "-a", "--target", "3.12"] + list(extra) + [self.tree]

    def plain(self, args):
        p = run(args, env=env_tty(delay=None))
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_shown_counted_and_erased(self):
        args = self.args()
        rc, term, out, _ = run_tty(args, env_tty(), tty=("stderr",),
                                   hold_stdout=lambda t: bool(counted(t)))
        self.assertEqual(rc, 0)
        lines = counted(term)
        self.assertTrue(lines, term[-2000:])
        m = lines[-1]
        dirs, caches = int(m.group(1)), int(m.group(2))
        self.assertLessEqual(caches, TOPS * PER_TOP)
        self.assertGreater(dirs, 0)
        self.assertLessEqual(dirs, 1 + 2 * TOPS)  # the root, each dN and its __pycache__
        # the top-level directory below PATH whose caches are being reported
        self.assertRegex(m.group(5), rb"^" + re.escape(os.fsencode(self.tree)) + rb"/d\d\d$")
        self.assertEqual(screen(term), [])  # erased: nothing is left on the terminal
        self.assertEqual(out, self.plain(args))  # stdout is untouched

    def test_clean_shows_it_too(self):
        args = ["clean", "-n", "--all", "--target", "3.12", self.tree]
        rc, term, out, _ = run_tty(args, env_tty(), tty=("stderr",),
                                   hold_stdout=lambda t: bool(counted(t)))
        self.assertEqual(rc, 0)
        self.assertTrue(counted(term), term[-2000:])
        self.assertEqual(screen(term), [])
        self.assertEqual(out, self.plain(args))

    def test_messages_start_on_their_own_line(self):
        args = self.args("--exclude", "nomatch")
        rc, term, _, _ = run_tty(args, env_tty(), tty=("stderr",),
                                 hold_stdout=lambda t: bool(counted(t)))
        self.assertEqual(rc, 0)
        self.assertTrue(counted(term))
        self.assertEqual(screen(term),
                         [b"pycinspect: warning: --exclude 'nomatch' matched nothing"])

    def test_stdout_on_the_same_terminal(self):
        """As a person runs it: records and the line share the screen; what is left is the
        output, each line whole."""
        args = self.args()
        rc, term, _, _ = run_tty(args, env_tty(), tty=("stdout", "stderr"))
        self.assertEqual(rc, 0)
        self.assertEqual(screen(term), self.plain(args).split(b"\n")[:-1])

    def test_not_before_the_delay(self):
        start = time.monotonic()
        rc, term, out, _ = run_tty(self.args(), env_tty(delay="60000"), tty=("stderr",))
        self.assertEqual(rc, 0)
        self.assertEqual(term, b"")
        self.assertLess(time.monotonic() - start, 30)  # the end does not wait for the delay
        # the default half second: a run this small ends before it
        small = os.path.join(self.tmp, "small")
        module(small, "m.py")
        rc, term, _, _ = run_tty(["scan", "--target", "3.12", small], env_tty(delay=None),
                                 tty=("stderr",))
        self.assertEqual((rc, term), (0, b""))

    def test_never(self):
        cases = [("--no-progress", {}, ("stderr",)), ("--json", {}, ("stderr",)),
                 (None, {"TERM": "dumb"}, ("stderr",)), (None, {}, ())]
        for opt, env, tty in cases:
            with self.subTest(opt=opt, env=env, tty=tty):
                args = self.args(*([opt] if opt else []))
                rc, term, out, err = run_tty(args, env_tty(**env), tty=tty,
                                             hold_stdout=after(1.0))
                self.assertEqual(rc, 0)
                self.assertEqual(term, b"")
                self.assertEqual(err, b"")
                self.assertEqual(out, self.plain(args))


if __name__ == "__main__":
    main()
