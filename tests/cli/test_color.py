#!/usr/bin/env python3
"""--color (docs/output.md): status words and summary counts coloured as ripgrep and fd decide,
on a terminal the child really has (a pseudo-terminal); never in JSON, never on a pipe unless
--color=always; and a coloured text, its escapes taken out, is the plain text byte for byte."""
import os
import re
import unittest

import gittest

from clitest import TempDirCase, env_c, main, module, run, run_tty

ESC = re.compile(rb"\x1b\[[0-9;]*m")


def env_tty(**over):
    env = env_c()
    env["TERM"] = "xterm"
    env.pop("NO_COLOR", None)
    for k, v in over.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


class Color(TempDirCase):
    def setUp(self):
        super().setUp()
        module(self.tmp, "a/fresh.py")
        module(self.tmp, "a/stale.py", fresh=False)
        orphan = module(self.tmp, "b/gone.py")
        os.unlink(os.path.join(self.tmp, "b", "gone.py"))
        self.assertTrue(os.path.exists(orphan))
        self.args = ["scan", "--target", "3.12", self.tmp]
        p = run(self.args, env=env_tty())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.plain = p.stdout
        self.assertNotIn(b"\x1b", self.plain)

    def tty(self, extra=(), **env):
        rc, term, _, err = run_tty(self.args + list(extra), env_tty(**env))
        self.assertEqual(rc, 0, err)
        return term.replace(b"\r\n", b"\n")

    def test_terminal_colours_statuses_and_summary(self):
        out = self.tty()
        self.assertIn(b"\x1b[33mstale\x1b[0m      3.12", out)
        self.assertIn(b"\x1b[35morphaned\x1b[0m   3.12", out)
        self.assertIn(b"  \x1b[32mfresh\x1b[0m      ", out)  # the summary's table
        self.assertIn(b"\x1b[1m1 to look at\x1b[0m", out)
        # no path is coloured: the escapes stand only around status words and that count
        for m in ESC.finditer(out):
            if m.group() != b"\x1b[0m":
                word = out[m.end():out.index(b"\x1b[0m", m.end())]
                self.assertIn(word, (b"fresh", b"stale", b"orphaned", b"1 to look at"))
        self.assertEqual(ESC.sub(b"", out), self.plain)

    def test_always_on_a_pipe_and_over_no_color(self):
        for env in ({}, {"NO_COLOR": "1"}, {"TERM": "dumb"}, {"TERM": None}):
            with self.subTest(env=env):
                p = run(self.args + ["--color=always"], env=env_tty(**env))
                self.assertIn(b"\x1b[33mstale\x1b[0m", p.stdout)
                self.assertEqual(ESC.sub(b"", p.stdout), self.plain)
        p = run(self.args + ["--color", "always"], env=env_tty())
        self.assertIn(b"\x1b[33mstale\x1b[0m", p.stdout)

    def test_no_colour(self):
        cases = [({}, ["--color=never"]), ({"NO_COLOR": "1"}, []), ({"TERM": "dumb"}, []),
                 ({"TERM": None}, []), ({}, ["--color=auto", "--color=never"])]
        for env, extra in cases:
            with self.subTest(env=env, extra=extra):
                self.assertEqual(self.tty(extra, **env), self.plain)
        # an empty NO_COLOR is no NO_COLOR (no-color.org)
        self.assertIn(b"\x1b[33mstale", self.tty([], NO_COLOR=""))
        # the last --color wins
        self.assertIn(b"\x1b[33mstale", self.tty(["--color=never", "--color=auto"]))

    def test_pipe_is_plain(self):
        p = run(self.args + ["--color=auto"], env=env_tty())
        self.assertEqual(p.stdout, self.plain)

    def test_json_never(self):
        plain = run(self.args + ["--json"], env=env_tty()).stdout
        self.assertIn(b'"status":"stale"', plain)
        self.assertEqual(self.tty(["--json", "--color=always"]), plain)
        p = run(self.args + ["--json", "--color=always"], env=env_tty())
        self.assertEqual(p.stdout, plain)

    def test_bad_value(self):
        p = run(self.args + ["--color=sometimes"], env=env_tty())
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"invalid --color 'sometimes' (auto, always or never)", p.stderr)
        self.assertEqual(p.stdout, b"")

    def test_dump_takes_no_colour(self):
        p = run(["dump", "--color=always", self.tmp], env=env_tty())
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"unrecognized option", p.stderr)


class GitColor(unittest.TestCase):
    """git's lines of tracked caches carry the status words: coloured the same way."""

    def test_tracked_status_word(self):
        sb = gittest.Sandbox()
        self.addCleanup(sb.cleanup)
        repo = sb.repo("r", {"a.py": "x = 1\n", "__pycache__/a.cpython-311.pyc": gittest.pyc(),
                             "b/__pycache__/gone.cpython-311.pyc": gittest.pyc()})
        env = dict(sb.env, TERM="xterm")
        env.pop("NO_COLOR", None)
        plain = run(["git", repo], env=env).stdout
        self.assertIn(b"orphaned", plain)
        rc, term, _, err = run_tty(["git", "--color=auto", repo], env)
        out = term.replace(b"\r\n", b"\n")
        self.assertIn(rc, (0, 1), err)
        self.assertIn(b"\x1b[35morphaned\x1b[0m    3.11", out)
        self.assertEqual(ESC.sub(b"", out), plain)
        self.assertEqual(run(["git", "--color=never", repo], env=env).stdout, plain)
        js = sb.pyci(["--json", "--color=always"], repo, env).stdout
        self.assertIn(b'"orphaned"', js)
        self.assertNotIn(b"\x1b", js)


class ColorOtherCommands(TempDirCase):
    """clean's acts and verify's verdicts, by the same rule as scan's status words."""

    def setUp(self):
        super().setUp()
        module(self.tmp, "a/fresh.py")
        orphan = module(self.tmp, "b/gone.py")
        os.unlink(os.path.join(self.tmp, "b", "gone.py"))
        self.orphan = orphan

    def test_clean_acts_and_alert(self):
        args = ["clean", "--orphaned", "-n", self.tmp]
        plain = run(args, env=env_tty()).stdout
        self.assertIn(b"would remove ", plain)
        self.assertNotIn(b"\x1b", plain)
        rc, term, _, err = run_tty(args, env_tty())
        self.assertEqual(rc, 0, err)
        term = term.replace(b"\r\n", b"\n")
        self.assertIn(b"\x1b[33mwould remove\x1b[0m ", term)
        self.assertEqual(ESC.sub(b"", term), plain)
        self.assertEqual(run(args + ["--color=never"], env=env_tty()).stdout, plain)
        json_out = run(args + ["--json", "--color=always"], env=env_tty()).stdout
        self.assertNotIn(b"\x1b", json_out)
        # the act itself is green
        p = run(["clean", "--orphaned", "--color=always", self.tmp], env=env_tty())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"\x1b[32mremoved\x1b[0m ", p.stdout)
        self.assertFalse(os.path.exists(self.orphan))

    def test_verify_verdicts(self):
        # an orphaned cache is unverifiable without any interpreter: no source to compile
        args = ["verify", "-a", os.path.join(self.tmp, "b")]
        plain = run(args, env=env_tty()).stdout
        self.assertIn(b"unverifiable", plain)
        self.assertNotIn(b"\x1b", plain)
        p = run(args + ["--color=always"], env=env_tty())
        self.assertIn(b"\x1b[33munverifiable\x1b[0m 3.12 ", p.stdout)  # the record
        self.assertIn(b"\x1b[33m1 unverifiable\x1b[0m", p.stdout)  # the summary
        self.assertIn(b"0 differ, ", p.stdout)  # a zero count stays plain
        self.assertEqual(ESC.sub(b"", p.stdout), plain)
        self.assertNotIn(b"\x1b", run(args + ["--json", "--color=always"], env=env_tty()).stdout)


if __name__ == "__main__":
    main()
