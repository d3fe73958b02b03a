#!/usr/bin/env python3
"""The --help texts and what bad options get, byte for byte, against tests/cli/expected/.

The other tests check what the options do; this one holds their words still: every command's
--help (and `pycinspect --help`), and for a list of bad command lines (unknown options, missing
arguments, bad values, abbreviations such as `clean --check`, options after the PATHs and after
`--`) the exit status, stdout and stderr, as a transcript in expected/option-errors.txt.  A
change to a help text or to a message is then a change to a file under expected/, seen in the
diff.  After a deliberate change, PYCI_UPDATE_EXPECTED=1 rewrites the files; review them.

Every command runs in an empty directory, with LC_ALL=C (getopt's messages are translated) and a
PATH with no interpreter on it.
"""
import difflib
import os
import shlex
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import run  # noqa: E402

EXPECTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected")
UPDATE = os.environ.get("PYCI_UPDATE_EXPECTED") == "1"
COMMANDS = ["scan", "clean", "dump", "magic", "git", "verify"]
ENGINE = ["scan", "clean", "dump", "verify"]

# Spellings that print a command's help on stdout, exit 0: --help wins when it comes before any
# bad option, wherever the PATHs are.
HELP_SPELLINGS = [["--help"], ["-h"], ["--help", "--bogus"], ["PATH", "--help"],
                  ["--json", "--help"]]


def option_error_cases():
    """The command lines of the transcript, in its order."""
    cases = [[], ["bogus"], ["--bogus"], ["-x"], ["--he"], ["Scan"]]
    for cmd in COMMANDS:
        cases += [[cmd] + a for a in (
            ["--bogus"], ["-x"], ["-xh"], ["--bogus=1"], ["--help=yes"], ["--he"], ["--h"],
            ["--bogus", "--help"], ["-"], ["PATH", "--bogus"], ["-t"], ["--target", "3.12"],
            ["-j", "2"], ["--json=1"], ["--js"], ["--j"])]
    for cmd in ENGINE:
        sel = ["--stale"] if cmd == "clean" else []
        cases += [[cmd] + a for a in (
            ["--target"], ["-t"], ["--target="], ["--target", ""], ["--target", "9.x"],
            ["--target", "3.21"], ["--target", "3.12,3.99"], ["-t", "pypy3.99"],
            ["--target=cpython"], ["-t3.12,banana"],
            ["--jobs"], ["-j"], ["--jobs", "0"], ["--jobs", "65"], ["--jobs", "-1"],
            ["-j", "x"], ["--jobs="], ["--jobs", "1x"], ["-j0"],
            ["--check-source"], ["--check-source", "sometimes"], ["--check-source="],
            ["--check-source=ALWAYS"], ["--exclude"],
            ["--cross-mounts=1"], ["--no-default-excludes=1"], ["--json=1"], ["--help=1"],
            ["--tar", "3.12"], ["--target3.12"], ["--ex", "x"], ["--cross"], ["--no-default"],
            ["--no"], ["--js"], ["--job", "2"], ["--check-s", "default"], ["--check-sourc=never"],
            ["--c"], ["--che"], ["--check"], ["--check", "default"], ["--a"], ["--s"], ["--j"],
            ["--t"], ["--e"], ["--p"], ["--pre"], ["--con"], ["--d"], ["--dry"], ["--st"],
            ["--all=1"], ["--pretty=1"], ["--stale=1"], ["--dry-run=1"], ["--check=1"],
            ["-a"], ["-n"], ["-an"], ["-ja"], ["-ta"],
            ["--target", "3.12", "PATH", "--bogus"],
            ["--target", "3.12", "PATH", "--jobs", "0"],
            ["--target", "3.12", "PATH", "-x"],
            ["--target", "3.12", "--jobs", "0", "--help"],
            ["--jobs", "1", "--target", "3.12", "--", "--bogus", "-x"],
            ["--jobs", "1", "--target", "3.12", "PATH", "--", "--help"],
            sel + ["--jobs", "1", "-t", "3.12", "--", "-"],
            sel + ["--jobs", "1", "-t", "3.12", "missing", "--exclude", "x"],
            sel + ["--jobs", "1", "-t3.12", "--json", "missing"],
            # inputs (docs/inputs.md)
            ["--files-from"], ["-0"], ["--null", "PATH"], ["--files-from", "list", "PATH"],
            sel + ["-t", "3.12", "--files-from", "missing"], ["--pycache-prefix"],
            ["--pycache-prefix", ""], ["--pycache-prefix-env"],
            ["--pycache-prefix", "x", "--pycache-prefix-env"],
            sel + ["-t", "3.12", "--pycache-prefix", "missing"], ["--pycache"], ["--files"])]
    cases += [["clean"], ["clean", "--dry-run"], ["clean", "-n", "--json", "-t", "3.12"],
              ["clean", "--check-source", "always", "-t", "3.12"],
              ["clean", "--stale", "--check", "x"], ["clean", "--stale", "--dry", "x"],
              ["clean", "--stale", "--al"], ["clean", "--stale", "--sourc"],
              ["clean", "--stale", "--orph"], ["clean", "--stale", "--for"],
              ["clean", "--stale", "--inv"], ["clean", "--all", "--target", "3.21"],
              ["magic", "-j"], ["magic", "-t", "3.12"], ["magic", "--json", "--bogus", "3531"],
              ["magic", "3531", "--bogus"], ["magic", "3531", "-x"], ["magic", "--", "-x"],
              ["magic", "--", "--json"], ["magic", "--all"], ["magic", "--exclude", "x"],
              ["git", "-n"], ["git", "--dry-run", "--json"], ["git", "--fix", "--staged"],
              ["git", "--fix", "--check"], ["git", "--fix", "-n", "--staged"], ["git", "--fix=1"],
              ["git", "--stag"], ["git", "--dry"], ["git", "--ch"], ["git", "--all"],
              ["git", "--", "-"],
              ["verify", "--python"], ["verify", "--python", "3.12"],
              ["verify", "--python", "3.12="], ["verify", "--python", "=/usr/bin/python3"],
              ["verify", "--python", "3.12=python3.12"], ["verify", "--python", "banana=/x"],
              ["verify", "--python=3.12"], ["verify", "--timeout"], ["verify", "--timeout", "0"],
              ["verify", "--timeout", "1.5"], ["verify", "--timeout", "86401"],
              ["verify", "--timeout=x"], ["verify", "--check=1"], ["verify", "--pyth", "x"],
              ["verify", "--time", "1"]]
    seen = set()
    return [c for c in cases if not (tuple(c) in seen or seen.add(tuple(c)))]


def transcript(cases, cwd, env):
    """Each command line, then its stdout (1> lines), stderr (2> lines) and exit status."""
    out = []
    for args in cases:
        p = run(args, cwd=cwd, env=env)
        out.append("$ pycinspect" + "".join(" " + shlex.quote(a) for a in args) + "\n")
        for tag, data in (("1>", p.stdout), ("2>", p.stderr)):
            text = data.decode("utf-8", "surrogateescape")
            for line in text.splitlines(keepends=True):
                out.append(tag + " " + line if line.endswith("\n") else
                           tag + " " + line + "\n" + tag + "\\ no newline at end\n")
        out.append("exit %d\n\n" % p.returncode)
    return "".join(out)


class Help(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        self.bin = os.path.join(self.tmp, "bin")  # no interpreter on PATH
        self.cwd = os.path.join(self.tmp, "cwd")
        os.mkdir(self.bin)
        os.mkdir(self.cwd)
        self.env = clitest.env_c()
        self.env["PATH"] = self.bin

    def same_as_file(self, name, got):
        path = os.path.join(EXPECTED, name)
        if UPDATE:
            os.makedirs(EXPECTED, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(got)
        with open(path, encoding="utf-8", newline="") as f:
            want = f.read()
        if got != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True),
                                                "expected/" + name, "got"))
            self.fail("output differs from expected/%s:\n%s" % (name, diff))

    def test_main_help(self):
        for args in (["--help"], ["-h"], ["help"]):
            p = run(args, cwd=self.cwd, env=self.env)
            self.assertEqual((p.returncode, p.stderr), (0, b""), args)
            self.same_as_file("help.txt", p.stdout.decode())
        # no command: the same text, on stderr, as a usage error
        p = run([], cwd=self.cwd, env=self.env)
        self.assertEqual((p.returncode, p.stdout), (2, b""))
        self.same_as_file("help.txt", p.stderr.decode())

    def test_command_help(self):
        for cmd in COMMANDS:
            for spelling in HELP_SPELLINGS:
                args = [cmd] + spelling
                with self.subTest(args=args):
                    p = run(args, cwd=self.cwd, env=self.env)
                    self.assertEqual((p.returncode, p.stderr), (0, b""), args)
                    self.same_as_file(cmd + "-help.txt", p.stdout.decode())
        for args in (["scan", "-ah"], ["clean", "-nh"], ["scan", "-j", "2", "-h"],
                     ["dump", "--pretty", "--help"], ["clean", "--stale", "-t", "3.12", "-h"]):
            p = run(args, cwd=self.cwd, env=self.env)
            self.assertEqual((p.returncode, p.stderr), (0, b""), args)
            self.same_as_file(args[0] + "-help.txt", p.stdout.decode())

    def test_option_errors(self):
        self.same_as_file("option-errors.txt",
                          transcript(option_error_cases(), self.cwd, self.env))


if __name__ == "__main__":
    clitest.main()
