"""Targets taken from the tree: a directory holding a pyvenv.cfg is for the interpreter it names.

Real virtual environments are made in a temporary directory by the interpreters on the machine:
`python -m venv` of pyenv's CPython 3.12 and of Debian's python3 (3.11), `pypy3 -m venv`
(PyPy's venv writes no key naming PyPy), and Debian's virtualenv (20.17: implementation and
version_info keys) for PyPy and for pyenv's CPython 2.7 (Debian's virtualenv still makes 2.7
environments without pip: --no-seed).  Each writes caches of its own: its own interpreter
imports and compileall's a package in its site-packages, with PYTHONDONTWRITEBYTECODE unset.
What each interpreter is, is asked of it (sys.implementation, sys.version_info), not assumed.

pycinspect runs with PATH=/usr/bin:/bin, whose interpreters (Debian's 3.11 and PyPy 3.9) are the
targets outside the environments.  Checked: no cache an environment's interpreter wrote is
foreign; caches of another interpreter put inside one are; clean --unused --dry-run (the caches
no import would use: what --all meant before issue 14) selects only those, and warns about
PATH's targets only for a cache outside the environments; --target
overrides the environments; a venv nested in a venv, and the tree after it; broken pyvenv.cfg
files (said once each on stderr, the targets around them apply); a PATH inside a venv (a
directory, a cache, through a symlink, across a mount point only with --cross-mounts); the
summary's lines and its JSON "venvs"; the same bytes for --jobs 1 and 2 and --io plain and
uring, with environments deeper than the parallel walk goes.  The reading of tricky pyvenv.cfg
texts is checked against the statements of CPython's Lib/site.py, run by Python.
"""
import json
import os
import re
import subprocess

from clitest import TempDirCase, env_c, json_lines, main, run, run_as_nobody, sh, write_file

PYENV = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
PY312 = os.path.join(PYENV, "versions", "3.12.1", "bin", "python")
PY27 = os.path.join(PYENV, "versions", "2.7.18", "bin", "python")
DEBIAN_PY = "/usr/bin/python3"
PYPY = "/usr/bin/pypy3"
VIRTUALENV = "/usr/bin/virtualenv"
SYSTEM_PATH = "/usr/bin:/bin"


def tool_env(path=SYSTEM_PATH):
    env = env_c()
    env["PATH"] = path
    return env


# Who answers what: the target name pycinspect gives an interpreter, asked of the interpreter.
WHO = ("import sys, platform; "
       "print('%s%d.%d' % ('pypy' if platform.python_implementation() == 'PyPy' else '', "
       "sys.version_info[0], sys.version_info[1]))")


class Venvs(TempDirCase):
    def setUp(self):
        super().setUp()
        self.mounts = []
        for exe in (PY312, PY27, DEBIAN_PY, PYPY, VIRTUALENV):
            if not os.access(exe, os.X_OK):
                self.fail("%s is missing (tools/install-deps.sh, pyenv)" % exe)
        self.appdata = os.path.join(self.tmp, ".virtualenv-appdata")

    def tearDown(self):
        for mnt in self.mounts:  # before the tree is removed
            subprocess.run(["umount", "-l", mnt], check=False)
        super().tearDown()

    # ---- making environments ---------------------------------------------------------------

    def make(self, kind, rel):
        """A virtual environment of `kind` at tmp/rel, with caches its interpreter wrote; returns
        (its path, the target its own interpreter says it is)."""
        dest = os.path.join(self.tmp, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        if kind == "venv-3.12":
            sh([PY312, "-m", "venv", "--without-pip", dest])
        elif kind == "venv-debian":
            sh([DEBIAN_PY, "-m", "venv", "--without-pip", dest])
        elif kind == "venv-pypy":
            sh([PYPY, "-m", "venv", "--without-pip", dest])
        elif kind in ("virtualenv-pypy", "virtualenv-2.7"):
            sh([VIRTUALENV, "--no-seed", "--no-vcs-ignore", "--app-data", self.appdata, "-p",
                PYPY if kind == "virtualenv-pypy" else PY27, dest])
        else:
            raise ValueError(kind)
        who = sh([os.path.join(dest, "bin", "python"), "-c", WHO]).strip()
        self.populate(dest)
        return dest, who

    def site_packages(self, venv):
        lib = os.path.join(venv, "lib")
        names = [n for n in os.listdir(lib) if os.path.isdir(os.path.join(lib, n, "site-packages"))]
        self.assertEqual(len(names), 1, names)
        return os.path.join(lib, names[0], "site-packages")

    def populate(self, venv, python=None, pkg="pkg"):
        """A package in venv's site-packages, imported and compiled by python (default: the
        venv's own)."""
        sp = self.site_packages(venv)
        for rel, text in (("__init__.py", "x = 1\n"), ("m.py", "def f():\n    return 2\n"),
                          ("sub/__init__.py", ""), ("sub/deep.py", "y = [1, 2]\n")):
            path = os.path.join(sp, pkg, rel)
            if not os.path.exists(path):
                write_file(path, text.encode())
        python = python or os.path.join(venv, "bin", "python")
        sh([python, "-c", "import %s.m, %s.sub.deep" % (pkg, pkg)], cwd=sp)
        sh([python, "-m", "compileall", "-q", os.path.join(sp, pkg)])

    def compile_with(self, python, src):
        """Compile src with python (a cache of that interpreter beside it)."""
        sh([python, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], doraise=True)",
            src])

    # ---- running pycinspect ----------------------------------------------------------------

    def scan(self, args, rc=0, path=SYSTEM_PATH, cwd=None):
        p = run(["scan", "--json"] + args, env=tool_env(path), cwd=cwd or self.tmp)
        self.assertEqual(p.returncode, rc, p.stderr)
        objs = [json.loads(line) for line in
                json_lines(p.stdout.decode("utf-8", "surrogateescape"))]
        return [o for o in objs if o["type"] == "pyc"], objs[-1], p

    def text(self, args, cmd="scan", rc=0, path=SYSTEM_PATH, cwd=None):
        p = run([cmd] + args, env=tool_env(path), cwd=cwd or self.tmp)
        self.assertEqual(p.returncode, rc, p.stderr)
        return p.stdout.decode(), p.stderr.decode()

    def under(self, pycs, rel):
        """The records whose path is below ./rel."""
        prefix = "./" + rel + "/"
        return [r for r in pycs if r["path"].startswith(prefix)]

    def path_targets(self):
        """What pycinspect takes from PATH=/usr/bin:/bin (and the summary says)."""
        empty = os.path.join(self.tmp, "empty-for-targets")
        os.mkdir(empty)
        _, summary, _ = self.scan([empty])
        os.rmdir(empty)
        return summary["targets"]

    # ---- tests -------------------------------------------------------------------------------

    def test_each_environment_is_for_its_own_interpreter(self):
        kinds = ["venv-3.12", "venv-debian", "venv-pypy", "virtualenv-pypy", "virtualenv-2.7"]
        made = {}
        for i, kind in enumerate(kinds):
            made["e%d-%s" % (i, kind)] = self.make(kind, "e%d-%s" % (i, kind))[1]
        self.assertEqual(sorted(set(made.values())), ["2.7", "3.11", "3.12", "pypy3.9"])
        pycs, summary, p = self.scan(["."])
        self.assertEqual(summary["targets_from"], "PATH")
        self.assertNotIn("3.12", summary["targets"])  # so a 3.12 cache would be foreign there
        self.assertEqual(p.stderr, b"")
        self.assertEqual(summary["venvs"], [
            {"root": "./" + rel, "config": "./%s/pyvenv.cfg" % rel, "target": who, "error": None}
            for rel, who in sorted(made.items())])
        for rel, who in made.items():
            mine = self.under(pycs, rel)
            pkg = [r for r in mine if "/pkg/" in r["path"]]
            self.assertGreaterEqual(len(pkg), 4, rel)
            for r in mine:
                self.assertFalse(r["foreign"], r)
            for r in pkg:
                self.assertEqual(r["status"], "fresh", r)
                self.assertEqual(r["version"], who, r)
        self.assertEqual(summary["foreign"], 0)
        # the same tree judged against PATH's targets alone: the 3.12 and 2.7 caches are foreign
        pycs, summary, _ = self.scan(["--target", ",".join(summary["targets"]), "."])
        self.assertIsNone(summary["venvs"])
        foreign = {r["version"] for r in pycs if r["foreign"]}
        self.assertEqual(foreign, {"3.12", "2.7"})

    def test_another_interpreters_caches_in_a_venv_are_foreign(self):
        venv, who = self.make("venv-3.12", "proj/.venv")
        self.assertEqual(who, "3.12")
        sp = self.site_packages(venv)
        # Debian's 3.11, a target on PATH, writes caches inside the 3.12 environment
        self.populate(venv, python=DEBIAN_PY, pkg="other")
        theirs = sorted(os.path.relpath(os.path.join(d, n), self.tmp)
                        for d, _, names in os.walk(sp) for n in names if ".cpython-311." in n)
        self.assertGreaterEqual(len(theirs), 4)
        pycs, summary, _ = self.scan(["proj"])
        self.assertIn("3.11", summary["targets"])
        for r in pycs:
            self.assertEqual(r["foreign"], r["version"] == "3.11", r)
            if r["version"] == "3.11":
                self.assertEqual(r["status"], "foreign", r)
                self.assertIn("interpreter is not a target", r["reasons"])
        self.assertEqual(summary["foreign"], len(theirs))
        # clean --unused: exactly the 3.11 caches, and no warning (their targets are the venv's)
        out, err = self.text(["--unused", "--dry-run", "proj"], cmd="clean")
        removed = sorted(re.findall(r"^would remove '(.*)'$", out, re.M))
        self.assertEqual(removed, theirs)
        self.assertNotIn("warning", err)
        # a 3.12 cache outside the environment is foreign by PATH's targets: that one warns
        write_file(os.path.join(self.tmp, "proj", "tool.py"), b"z = 3\n")
        self.compile_with(PY312, os.path.join(self.tmp, "proj", "tool.py"))
        out, err = self.text(["--unused", "--dry-run", "proj"], cmd="clean")
        self.assertIn("would remove 'proj/__pycache__/tool.cpython-312.pyc'", out)
        self.assertEqual(err.count("warning"), 1, err)
        self.assertIn("warning: the targets were found on PATH (%s); the caches of every other "
                      "interpreter are foreign and selected for removal, except in and below a "
                      "directory whose pyvenv.cfg names its interpreter (name the interpreters "
                      "to keep with --target)" % ", ".join(summary["targets"]), err)
        # --all removes every cache whoever its interpreter: no targets to warn about
        out, err = self.text(["--all", "--dry-run", "proj"], cmd="clean")
        self.assertIn("would remove 'proj/__pycache__/tool.cpython-312.pyc'", out)
        self.assertIn("/pkg/__pycache__/m.cpython-312.pyc'", out)
        self.assertNotIn("warning", err)
        # and the real run removes what the dry run said, nothing of the venv's own
        out, _ = self.text(["--unused", "proj"], cmd="clean")
        for rel in theirs:
            self.assertFalse(os.path.exists(os.path.join(self.tmp, rel)), rel)
        pycs, summary, _ = self.scan(["proj"])
        self.assertEqual(summary["foreign"], 0)
        self.assertGreaterEqual(len(pycs), 4)
        self.assertTrue(all(r["version"] == "3.12" and r["status"] == "fresh" for r in pycs))

    def test_target_option_wins_everywhere(self):
        self.make("venv-3.12", "a")
        self.make("venv-pypy", "b")
        pycs, summary, p = self.scan(["-t", "3.12", "."])
        self.assertEqual(summary["targets"], ["3.12"])
        self.assertEqual(summary["targets_from"], "option")
        self.assertIsNone(summary["venvs"])
        for r in pycs:
            self.assertEqual(r["foreign"], r["version"] != "3.12", r)
        self.assertTrue(any(r["foreign"] for r in self.under(pycs, "b")))
        out, _ = self.text(["-t", "3.12", "."])
        self.assertIn("\ntargets: 3.12 (from --target)\n", out)
        self.assertNotIn(" below ", out)
        self.assertNotIn(b"pyvenv.cfg", p.stderr)
        # clean follows: the PyPy environment's caches go, with -t no warning
        out, err = self.text(["--foreign", "-n", "-t", "3.12", "."], cmd="clean")
        self.assertIn("would remove './b/", out)
        self.assertNotIn("warning", err)

    def test_nested_venvs(self):
        outer, _ = self.make("venv-3.12", "outer")
        inner, who = self.make("venv-debian", "outer/inner")
        self.assertEqual(who, "3.11")
        # a 3.12 cache in the inner (3.11) environment, and 3.12 caches in a directory of the
        # outer one that comes after the inner in the walk
        write_file(os.path.join(inner, "x312.py"), b"a = 1\n")
        self.compile_with(PY312, os.path.join(inner, "x312.py"))
        write_file(os.path.join(outer, "zafter", "y.py"), b"b = 2\n")
        self.compile_with(PY312, os.path.join(outer, "zafter", "y.py"))
        for jobs in ("1", "2"):
            pycs, summary, _ = self.scan(["--jobs", jobs, "outer"])
            self.assertEqual([(v["root"], v["target"]) for v in summary["venvs"]],
                             [("outer", "3.12"), ("outer/inner", "3.11")])
            inner_pycs = [r for r in pycs if r["path"].startswith("outer/inner/")]
            outer_pycs = [r for r in pycs if not r["path"].startswith("outer/inner/")]
            self.assertTrue(inner_pycs and outer_pycs)
            for r in inner_pycs:
                self.assertEqual(r["foreign"], r["version"] == "3.12", r)
            for r in outer_pycs:
                self.assertEqual(r["version"], "3.12", r)
                self.assertFalse(r["foreign"], r)
            self.assertIn("outer/zafter/__pycache__/y.cpython-312.pyc",
                          [r["path"] for r in outer_pycs])
            self.assertEqual(summary["foreign"], 1)
        out, _ = self.text(["outer"])
        self.assertIn("  3.12 below outer (from outer/pyvenv.cfg)\n"
                      "  3.11 below outer/inner (from outer/inner/pyvenv.cfg)\n", out)

    def test_broken_pyvenv_cfg(self):
        good, _ = self.make("venv-3.12", "good")
        cases = {
            "noversion": b"home = /usr/bin\ninclude-system-site-packages = false\n",
            "badversion": b"home = /usr/bin\nversion = twelve\n",
            "notutf8": b"home = /usr/bin\nversion = 3.12.1\n\xff\n",
            "graal": b"home = /usr/bin\nimplementation = GraalVM\nversion_info = 3.11.7\n",
            "toolarge": b"version = 3.12.1\n" + b"#" * (64 * 1024),
        }
        why = {"noversion": "no 'version' or 'version_info' key",
               "badversion": "its version is not MAJOR.MINOR",
               "notutf8": "not UTF-8",
               "graal": "its implementation is neither CPython nor PyPy",
               "toolarge": "larger than 64 KiB, not read",
               "symlink": "a symbolic link, not followed",
               "good/nested": "no 'version' or 'version_info' key"}
        for name, data in cases.items():
            write_file(os.path.join(self.tmp, name, "pyvenv.cfg"), data)
        os.mkdir(os.path.join(self.tmp, "symlink"))
        os.symlink(os.path.join(good, "pyvenv.cfg"), os.path.join(self.tmp, "symlink", "pyvenv.cfg"))
        write_file(os.path.join(good, "nested", "pyvenv.cfg"), b"home = /usr/bin\n")
        # in each, a 3.12 cache: foreign by PATH's targets, but in good/nested (good's: 3.12)
        for name in list(why):
            src = os.path.join(self.tmp, name, "mod.py")
            write_file(src, b"v = 1\n")
            self.compile_with(PY312, src)
        pycs, summary, p = self.scan(["."])
        err = p.stderr.decode()
        self.assertEqual(len(err.splitlines()), len(why), err)
        for name, text in why.items():
            line = ("pycinspect: warning: ignoring './%s/pyvenv.cfg' (%s): the caches below "
                    "'./%s' are judged against the targets around it\n" % (name, text, name))
            self.assertEqual(err.count(line), 1, (line, err))
        venvs = {v["root"]: v for v in summary["venvs"]}
        for name, text in why.items():
            self.assertEqual(venvs["./" + name],
                             {"root": "./" + name, "config": "./%s/pyvenv.cfg" % name,
                              "target": None, "error": text})
        self.assertEqual(venvs["./good"]["target"], "3.12")
        by_path = {r["path"]: r for r in pycs}
        for name in why:
            r = by_path["./%s/__pycache__/mod.cpython-312.pyc" % name]
            self.assertEqual(r["foreign"], name != "good/nested", r)
        # the text summary lists the environments that name an interpreter only
        out, _ = self.text(["."])
        self.assertEqual(re.findall(r"^  \S+ below .*$", out, re.M),
                         ["  3.12 below ./good (from ./good/pyvenv.cfg)"])
        # one that cannot be read
        os.chmod(self.tmp, 0o755)
        os.chmod(os.path.join(self.tmp, "noversion", "pyvenv.cfg"), 0)
        p = run_as_nobody(["scan", "noversion"], cwd=self.tmp, env=tool_env())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"warning: ignoring 'noversion/pyvenv.cfg' (cannot be read: Permission "
                      b"denied): the caches below 'noversion' are judged", p.stderr)

    def test_broken_cfg_met_from_two_paths_is_said_once(self):
        write_file(os.path.join(self.tmp, "a", "b", "pyvenv.cfg"), b"home = /x\n")
        write_file(os.path.join(self.tmp, "a", "b", "c", "m.py"), b"q = 1\n")
        self.compile_with(PY312, os.path.join(self.tmp, "a", "b", "c", "m.py"))
        for paths in (["a", "a/b/c"], ["a", "./a/b/c"], ["./a/b/c/", "a/b"]):
            _, summary, p = self.scan(paths)
            self.assertEqual(p.stderr.decode().count("warning: ignoring"), 1, p.stderr)
            self.assertEqual(len(summary["venvs"]), 1, summary["venvs"])
            self.assertTrue(os.path.samefile(os.path.join(self.tmp, summary["venvs"][0]["root"]),
                                             os.path.join(self.tmp, "a", "b")))

    def test_path_inside_a_venv(self):
        venv, _ = self.make("venv-3.12", "v")
        sp = os.path.relpath(self.site_packages(venv), self.tmp)
        for path in (sp, sp + "/", sp + "/pkg/__pycache__/m.cpython-312.pyc",
                     sp + "/pkg/sub"):
            with self.subTest(path=path):
                pycs, summary, _ = self.scan([path])
                self.assertTrue(pycs)
                self.assertTrue(all(not r["foreign"] and r["status"] == "fresh" for r in pycs))
                self.assertEqual(summary["venvs"], [
                    {"root": "v", "config": "v/pyvenv.cfg", "target": "3.12", "error": None}])
                out, _ = self.text([path])
                self.assertIn("\n  3.12 below v (from v/pyvenv.cfg)\n", out)
        # from inside, relative: ".." and up
        pycs, summary, _ = self.scan(["."], cwd=os.path.join(self.tmp, sp))
        self.assertEqual(summary["venvs"][0]["root"], "../../..")
        self.assertTrue(os.path.samefile(os.path.join(self.tmp, sp, "../../.."), venv))
        self.assertFalse(any(r["foreign"] for r in pycs))
        # through a symlink: the text would name another directory; the summary says how the
        # kernel went
        os.symlink(os.path.join(venv, "lib"), os.path.join(self.tmp, "link"))
        pycs, summary, _ = self.scan(["link/"])
        root = summary["venvs"][0]["root"]
        self.assertEqual(root, "link/..")
        self.assertTrue(os.path.samefile(os.path.join(self.tmp, root), venv))
        self.assertFalse(any(r["foreign"] for r in pycs))
        # the venv itself: no search above it is needed, and none is told twice
        _, summary, _ = self.scan(["v"])
        self.assertEqual([v["root"] for v in summary["venvs"]], ["v"])

    def test_search_above_stops_at_a_mount(self):
        venv, _ = self.make("venv-3.12", "v")
        mnt = os.path.join(venv, "mnt")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "none", mnt], stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount a tmpfs (needs root): %s" % p.stderr.decode().strip())
        self.mounts.append(mnt)
        write_file(os.path.join(mnt, "m.py"), b"k = 1\n")
        self.compile_with(PY312, os.path.join(mnt, "m.py"))
        pycs, summary, _ = self.scan(["v/mnt"])
        self.assertEqual(summary["venvs"], [])
        self.assertEqual([r["foreign"] for r in pycs], [True])
        pycs, summary, _ = self.scan(["--cross-mounts", "v/mnt"])
        self.assertEqual([v["root"] for v in summary["venvs"]], ["v"])
        self.assertEqual([r["foreign"] for r in pycs], [False])

    def test_summary_lines(self):
        self.make("venv-3.12", "a")
        self.make("virtualenv-pypy", "b")
        targets = self.path_targets()
        out, _ = self.text(["."])
        tail = out[out.index("\ntargets: "):]
        self.assertEqual(tail, "\ntargets: %s (from PATH)\n"
                               "  3.12 below ./a (from ./a/pyvenv.cfg)\n"
                               "  pypy3.9 below ./b (from ./b/pyvenv.cfg)\n" % ", ".join(targets))
        # clean's summary says the same
        out, _ = self.text(["--stale", "-n", "."], cmd="clean")
        self.assertTrue(out.endswith(tail[1:]), out)
        # with no interpreter on PATH, only the environments' caches can be foreign
        empty = os.path.join(self.tmp, "emptybin")
        os.mkdir(empty)
        out, _ = self.text(["."], path=empty)
        self.assertIn("\ntargets: none found on PATH (use --target), so no cache is judged "
                      "foreign but in these virtual environments:\n"
                      "  3.12 below ./a (from ./a/pyvenv.cfg)\n"
                      "  pypy3.9 below ./b (from ./b/pyvenv.cfg)\n", out)
        # no environment at all: the line of before
        out, _ = self.text(["a/lib"], path=empty)
        self.assertIn("  3.12 below a (from a/pyvenv.cfg)\n", out)
        out, _ = self.text(["emptybin"], path=empty)
        self.assertTrue(out.endswith("targets: none found on PATH, so no cache is judged foreign "
                                     "(use --target)\n"), out)

    def test_same_output_for_jobs_and_io(self):
        """Environments deeper than the parallel walk goes (40 levels): one whose root is below
        that depth, one with a subtree past it, and directories after each."""
        deep = "d/" + "/".join("l%02d" % i for i in range(43))
        self.make("venv-3.12", deep + "/venv")
        top, _ = self.make("venv-pypy", "top")
        down = os.path.join(top, "x", *["k%02d" % i for i in range(45)])
        s312, _ = self.make("venv-3.12", "s312")
        sdown = os.path.join(s312, "y", *["j%02d" % i for i in range(45)])
        for where, python in ((down, PY312), (os.path.join(top, "x"), PY312),
                              (sdown, PY312), (sdown + "/n", DEBIAN_PY),
                              (os.path.join(self.tmp, "d", "zz"), PY312),
                              (os.path.join(self.tmp, deep, "zz"), PY312),
                              (os.path.join(self.tmp, deep, "venv", "zz"), DEBIAN_PY)):
            write_file(os.path.join(where, "m.py"), b"w = 1\n")
            self.compile_with(python, os.path.join(where, "m.py"))
        outs = {"--json": set(), "-a": set()}
        for form in outs:
            for jobs in ("1", "2"):
                for io in ("plain", "uring"):
                    p = run(["scan", form, "--jobs", jobs, "--io", io, "."], env=tool_env(),
                            cwd=self.tmp)
                    self.assertEqual(p.returncode, 0, p.stderr)
                    outs[form].add(p.stdout)
        self.assertEqual(len(outs["--json"]), 1)
        self.assertEqual(len(outs["-a"]), 1)
        self.assertIn(b"  pypy3.9 below ./top (from ./top/pyvenv.cfg)\n", outs["-a"].pop())
        objs = [json.loads(line) for line in json_lines(outs["--json"].pop().decode())]
        foreign = {o["path"] for o in objs if o["type"] == "pyc" and o["foreign"]}
        # 3.12 caches in the PyPy environment (deep and not), 3.12 caches outside any
        # environment, the 3.11 caches in the 3.12 environments (deep, and below a deep root)
        self.assertEqual(foreign, {
            "./%s/__pycache__/m.cpython-312.pyc" % os.path.relpath(down, self.tmp),
            "./%s/n/__pycache__/m.cpython-311.pyc" % os.path.relpath(sdown, self.tmp),
            "./top/x/__pycache__/m.cpython-312.pyc",
            "./d/zz/__pycache__/m.cpython-312.pyc",
            "./%s/zz/__pycache__/m.cpython-312.pyc" % deep,
            "./%s/venv/zz/__pycache__/m.cpython-311.pyc" % deep})
        self.assertEqual([(v["root"], v["target"]) for v in objs[-1]["venvs"]],
                         [("./%s/venv" % deep, "3.12"), ("./s312", "3.12"),
                          ("./top", "pypy3.9")])

    def test_reading_as_site_py_does(self):
        """Tricky pyvenv.cfg texts, read by pycinspect and by the statements of CPython's
        Lib/site.py venv() (open as UTF-8 text, for line in f, '=' in line, partition,
        strip().lower(), strip()), then the keys pycinspect documents: version, else
        version_info, MAJOR.MINOR and optionally '.' and anything."""
        texts = [
            "VERSION = 3.12.1\r\n",
            "\tversion\t=\t3.12\x0c\n",
            "version\u00a0=\u30003.12\u0085\n",
            "version = 3.12\u200b\n",
            "home = /x\rversion = 3.10.2\r",
            "version = 3.\r12\n",
            "# version = 3.12\n",
            "version = 3.11\nversion = 3.12\n",
            "version_info = 3.12.0.final.0\n",
            "Version_Info = 3.9.1\nversion_info=3.8\n",
            "version = 3.12\x1c\nversion_info = 3.7.1\n",
            "\ufeffversion = 3.12\n",
            "version 3.12\nversion= 3.6.15 \n",
            "version = 3.12.1 (main)\n",
        ]

        def site_py(path):
            keys = {}
            with open(path, encoding="utf-8") as f:  # as site.py: universal newlines
                for line in f:
                    if "=" in line:
                        key, _, value = line.partition("=")
                        keys[key.strip().lower()] = value.strip()
            value = keys.get("version", keys.get("version_info"))
            m = re.fullmatch(r"([0-9]{1,3})\.([0-9]{1,3})(\..*)?", value or "", re.S)
            return "%s.%s" % (m.group(1), m.group(2)) if m else None

        expected = {}
        for i, text in enumerate(texts):
            cfg = os.path.join(self.tmp, "c%02d" % i, "pyvenv.cfg")
            write_file(cfg, text.encode("utf-8"))
            expected["./c%02d" % i] = site_py(cfg)
        self.assertEqual(sum(v is None for v in expected.values()), 4, expected)
        _, summary, _ = self.scan(["."])
        got = {v["root"]: v["target"] for v in summary["venvs"]}
        self.assertEqual(got, expected)


if __name__ == "__main__":
    main()
