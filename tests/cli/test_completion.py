#!/usr/bin/env python3
"""The shell completions (issue 18), in the real shells, as a newcomer gets them: `cmake --install`
of this build into a temporary prefix, then bash (with bash-completion, which finds the file in
$XDG_DATA_DIRS as it would in /usr/share), zsh (compinit with the installed vendor-completions
directory in $fpath) and fish (its vendor_completions.d found through $XDG_DATA_DIRS), each asked
what a TAB offers after a few prefixes (tests/cli/complete/bash.sh, zsh.zsh; fish's complete -C).

What each shell must offer is read from pycinspect and the outside world, never from the
generated scripts: the commands and options from the --help texts, --target's versions from
`magic --json`, --check's statuses from docs/json.md's list (clitest.STATUSES), --debris's topics
from data/debris.tsv, --check-source's modes from CPython's own --help, and every value offered
must be one that pycinspect accepts.  A shell that is not installed fails the test (CI installs
them: tools/install-deps.sh).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no caches in tests/
import clitest  # noqa: E402
from clitest import BIN, ROOT, STATUSES, run  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "complete")
SHELLS = ("bash", "zsh", "fish")


def help_text(*cmd):
    p = run(list(cmd) + ["--help"])
    if p.returncode != 0:
        raise AssertionError("%s --help: exit %d" % (cmd, p.returncode))
    return p.stdout.decode()


def help_commands():
    """The commands `pycinspect --help` lists, less one this build leaves out."""
    text = help_text()
    block = text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    names = [re.match(r"  (\S+)", l).group(1) for l in block.splitlines()]
    return {n for n in names if run([n, "--help"]).returncode == 0}


def help_options(cmd):
    """The long options `pycinspect CMD --help` lists."""
    return set(re.findall(r"^  (?:-\S, |    )--([a-z0-9-]+)", help_text(cmd), re.M))


class Completion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="pyci-compl-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        build = os.path.dirname(os.path.abspath(BIN))
        p = subprocess.run(["cmake", "--install", build, "--prefix", cls.prefix],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise AssertionError("cmake --install: %s" % p.stderr.decode())
        cls.share = os.path.join(cls.prefix, "share")
        # where a TAB is pressed: a file, a directory
        cls.cwd = os.path.join(cls.tmp, "cwd")
        os.makedirs(os.path.join(cls.cwd, "adir"))
        with open(os.path.join(cls.cwd, "afile.py"), "w") as f:
            f.write("x = 1\n")
        home = os.path.join(cls.tmp, "home")
        os.makedirs(home)
        cls.env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"),
                       XDG_DATA_HOME=os.path.join(home, ".local", "share"),
                       XDG_DATA_DIRS=cls.share + ":/usr/share",
                       PATH=os.path.join(cls.prefix, "bin") + ":" + os.environ.get("PATH", ""))
        for v in ("BASH_COMPLETION_USER_DIR", "ZDOTDIR", "FPATH"):
            cls.env.pop(v, None)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def shell(self, name):
        path = shutil.which(name)
        if not path:
            self.fail("%s is not installed (tools/install-deps.sh installs it)" % name)
        return path

    def offered(self, sh, line):
        """What shell sh offers on TAB after line, as it would insert each candidate (bash: the
        word after '='; zsh: with its removable ',' of a list)."""
        if sh == "bash":
            args = [self.shell("bash"), os.path.join(HERE, "bash.sh"), line]
        elif sh == "zsh":
            args = [self.shell("zsh"), "-f", os.path.join(HERE, "zsh.zsh"),
                    os.path.join(self.share, "zsh", "vendor-completions"), line]
        else:
            args = [self.shell("fish"), "-c", "complete -C $argv[1]", "--", line]
        p = subprocess.run(args, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        out = p.stdout.decode()
        self.assertEqual(p.returncode, 0, "%s %r: exit %d: %s" % (sh, line, p.returncode,
                                                                 p.stderr.decode()))
        if sh == "zsh":
            return set(re.findall(r"<([^>\n]*)>", out))
        if sh == "fish":
            return {l.split("\t", 1)[0] for l in out.splitlines() if l}
        return {l for l in out.splitlines() if l}

    def values(self, sh, line):
        """The values offered after line: each candidate without what precedes the word being
        completed (--check=, the items before the last comma) and without a final ',' or '/'."""
        return {re.split(r"[=,]", c.rstrip(",/"))[-1] for c in self.offered(sh, line)}

    def each_shell(self, check):
        for sh in SHELLS:
            with self.subTest(shell=sh):
                check(sh)

    # ---- what is installed -------------------------------------------------------------------

    def test_installed_in_each_shells_vendor_directory(self):
        p = subprocess.run(["pkg-config", "--variable=completionsdir", "bash-completion"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, "pkg-config knows bash-completion's completionsdir")
        bashdir = p.stdout.decode().strip()
        self.assertTrue(bashdir.startswith("/usr/share/"), bashdir)
        for rel in (os.path.join(bashdir[len("/usr/share/"):], "pycinspect"),
                    "zsh/vendor-completions/_pycinspect",
                    "fish/vendor_completions.d/pycinspect.fish"):
            self.assertTrue(os.path.isfile(os.path.join(self.share, rel)), rel)

    # ---- commands and options ----------------------------------------------------------------

    def test_commands(self):
        want = help_commands()
        self.assertIn("scan", want)

        def check(sh):
            self.assertEqual(self.offered(sh, "pycinspect "), want)
            self.assertEqual(self.offered(sh, "pycinspect c"), {c for c in want
                                                                if c.startswith("c")})
        self.each_shell(check)

    def test_options_of_every_command(self):
        for cmd in sorted(help_commands()):
            want = {"--" + o for o in help_options(cmd)}
            self.assertIn("--help", want)
            for sh in SHELLS:
                with self.subTest(shell=sh, command=cmd):
                    got = {c.rstrip("=,") for c in self.offered(sh, "pycinspect %s --" % cmd)}
                    self.assertEqual(got, want)

    def test_dump_does_not_offer_its_hidden_json(self):
        self.assertNotIn("json", help_options("dump"))
        self.assertEqual(run(["dump", "--json", "--help"]).returncode, 0)  # accepted
        self.each_shell(lambda sh: self.assertEqual(self.offered(sh, "pycinspect dump --js"),
                                                    set()))

    # ---- values ------------------------------------------------------------------------------

    def accepted(self, args):
        """Whether pycinspect takes these options (on an empty directory, nothing to do)."""
        d = tempfile.mkdtemp(dir=self.tmp)
        p = run(list(args) + [d])
        return p.returncode != 2

    def test_target_versions_are_the_magic_tables(self):
        p = run(["magic", "--json"])
        self.assertEqual(p.returncode, 0)
        versions = {json.loads(l)["version"] for l in p.stdout.decode().splitlines()}
        self.assertIn("3.12", versions)
        self.assertIn("pypy3.10", versions)
        named = set(re.findall(r"jython\d+\.\d+", help_text("scan")))
        self.assertEqual(named, {"jython2.7"})

        def check(sh):
            got = self.values(sh, "pycinspect scan --target ")
            self.assertEqual({v for v in got if not v.startswith("jython")}, versions)
            self.assertTrue(named <= got, got)
            self.assertEqual(self.values(sh, "pycinspect clean --target=pypy3.1"),
                             {v for v in versions if v.startswith("pypy3.1")})
            # after a comma, the next one (zsh leaves out those already in the list)
            after = self.values(sh, "pycinspect scan -t 3.12,3.1")
            self.assertTrue({"3.10", "3.11", "3.13"} <= after, after)
            self.assertTrue(all(v.startswith("3.1") for v in after), after)
        self.each_shell(check)
        bad = [v for v in sorted(self.values("bash", "pycinspect scan --target "))
               if not self.accepted(["scan", "--target", v])]
        self.assertEqual(bad, [], "offered, but refused by scan --target")

    def test_check_statuses(self):
        want = set(STATUSES) - {"fresh"}
        scan_help = set(re.findall(r"[a-z-]+", help_text("scan")))

        def check(sh):
            got = self.values(sh, "pycinspect scan --check=")
            self.assertTrue(want <= got, got)
            self.assertTrue(got <= scan_help, got - scan_help)  # each one named in --help
            self.assertEqual(self.values(sh, "pycinspect scan --check=stale,o"), {"orphaned"})
            # --check's value is only attached: after "--check " comes a PATH
            self.assertEqual(self.values(sh, "pycinspect scan --check a"), {"adir", "afile.py"})
        self.each_shell(check)
        got = self.values("bash", "pycinspect scan --check=")
        bad = [v for v in sorted(got) if not self.accepted(["scan", "--check=" + v])]
        self.assertEqual(bad, [], "offered, but refused by scan --check")
        self.assertFalse(self.accepted(["scan", "--check=fresh"]))  # the check can fail

    def test_debris_topics_are_the_tables(self):
        with open(os.path.join(ROOT, "data", "debris.tsv")) as f:
            topics = {l.split("\t")[1] for l in f if l.startswith("topic\t")}
        self.assertIn("pytest", topics)
        want = topics | {"all"}  # docs/clean.md: all, every topic

        def check(sh):
            self.assertEqual(self.values(sh, "pycinspect clean --debris="), want)
            self.assertEqual(self.values(sh, "pycinspect clean --debris=mypy,py"),
                             {t for t in want if t.startswith("py")})
        self.each_shell(check)
        bad = [t for t in sorted(want)
               if not self.accepted(["clean", "--dry-run", "--debris=" + t])]
        self.assertEqual(bad, [])

    def test_check_source_modes_are_cpythons(self):
        p = subprocess.run([sys.executable, "--help"], stdout=subprocess.PIPE)
        m = re.search(r"--check-hash-based-pycs ([a-z|]+)", p.stdout.decode())
        self.assertIsNotNone(m, "CPython's --help names its modes")
        want = set(m.group(1).split("|"))
        self.assertEqual(want, {"always", "default", "never"})

        def check(sh):
            self.assertEqual(self.values(sh, "pycinspect scan --check-source "), want)
            self.assertEqual(self.values(sh, "pycinspect verify --check-source=a"), {"always"})
        self.each_shell(check)

    def test_io_modes_are_accepted(self):
        def check(sh):
            got = self.values(sh, "pycinspect dump --io ")
            self.assertIn("plain", got)
            self.assertEqual([v for v in sorted(got) if not self.accepted(["dump", "--io", v])],
                             [])
        self.each_shell(check)

    # ---- file names --------------------------------------------------------------------------

    def test_paths_are_file_names(self):
        here = set(os.listdir(self.cwd))
        self.assertEqual(here, {"adir", "afile.py"})

        lines = ["pycinspect scan ", "pycinspect clean --stale a", "pycinspect dump a",
                 "pycinspect scan --files-from ", "pycinspect verify --json a"]
        if "git" in help_commands():  # not in a build without libgit2
            lines.append("pycinspect git a")

        def check(sh):
            for line in lines:
                self.assertEqual(self.values(sh, line), here, line)
            self.assertEqual(self.values(sh, "pycinspect scan --pycache-prefix "), {"adir"})
            self.assertEqual(self.values(sh, "pycinspect scan --exclude a"), set())
            self.assertEqual(self.values(sh, "pycinspect magic a"), set())
        self.each_shell(check)


if __name__ == "__main__":
    clitest.main()
