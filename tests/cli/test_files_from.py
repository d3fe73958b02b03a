"""--files-from FILE (docs/inputs.md): judge exactly the listed paths.

The lists are what the tools users have write: `find -print0`, `git ls-files -z`, the real
`dpkg -L python3-minimal` of this machine, and a dpkg-like newline list made here.  The oracle
for which caches a list names is computed here, by the rule docs/inputs.md states (a listed
source brings the entries of its __pycache__ that map to it and a legacy NAME.pyc/.pyo beside
it; a listed cache is itself; nothing else), independently of pycinspect; the verdict of each
cache must be the one the walk of its directory gives, record for record.
"""
import json
import os
import shutil
import subprocess

from clitest import (BIN, TempDirCase, env_c, header_312, main, make_cache, parse_clean_jsonl,
                     parse_jsonl, run, scan_json, snapshot, write_file, CODE_BODY)
from test_root import PY311, PY312, sh

T = ["-t", "3.12"]


def scan_list(data, args=(), expect_rc=0, null=True, cwd=None, env=None):
    """`scan --json --files-from -` with data on stdin: (pycs, errors, summary, proc)."""
    kw = {"env": env} if env else {}
    return scan_json(T + (["-0"] if null else []) + ["--files-from", "-"] + list(args),
                     cwd=cwd, expect_rc=expect_rc, input=data, **kw)


def expected_caches(listed, cwd):
    """The cache paths a list names, by docs/inputs.md's rule, spelled as pycinspect spells
    them (a brought cache under the directory its source was first listed in): a source brings
    the __pycache__ entries of its name, and NAME.pyc, NAME.pyo, NAME$py.class beside it."""
    out, seen = [], set()

    def add(path):
        key = (os.stat(os.path.dirname(os.path.join(cwd, path)) or ".").st_ino,
               os.path.basename(path))
        if key not in seen:
            seen.add(key)
            out.append(path)

    for p in listed:
        full = os.path.join(cwd, p)
        d, base = os.path.split(p)
        if base.endswith(b".py") and len(base) > 3:
            stem = base[:-3]
            pc = os.path.join(os.path.join(cwd, d), b"__pycache__")
            if os.path.isdir(pc) and not os.path.islink(pc):
                for n in sorted(os.listdir(pc)):
                    core = n[:-4] if n.endswith((b".pyc", b".pyo")) else None
                    if core is None and b".pyc." in n and n.rsplit(b".", 1)[1].isdigit():
                        core = n.rsplit(b".", 1)[0][:-4]  # leftover NAME.TAG.pyc.<digits>
                    if core is None:
                        continue
                    parts = core.split(b".")
                    if parts[-1].startswith(b"opt-"):
                        parts = parts[:-1]
                    name = b".".join(parts[:-1]) if len(parts) > 1 else parts[0]
                    if name == stem:
                        add(os.path.join(d, b"__pycache__", n))
            for ext in (b".pyc", b".pyo", b"$py.class"):
                if os.path.lexists(os.path.join(cwd, d, stem + ext)):
                    add(os.path.join(d, stem + ext))
        elif base.endswith((b".pyc", b".pyo", b"$py.class")) and os.path.lexists(full):
            add(p)
    return out


class FilesFrom(TempDirCase):
    def tree(self):
        """src/ with fresh, stale, orphaned, opt-1, debris, legacy and odd-named caches."""
        src = os.path.join(self.tmp, "src")
        write_file(os.path.join(src, "a.py"))
        make_cache(os.path.join(src, "a.py"))
        write_file(os.path.join(src, "b.py"), b"b = 2\n")
        make_cache(os.path.join(src, "b.py"), fresh=False)
        write_file(os.path.join(src, "pkg", "__init__.py"))
        make_cache(os.path.join(src, "pkg", "__init__.py"))
        write_file(os.path.join(src, "pkg", "c.py"), b"c = 3\n")
        make_cache(os.path.join(src, "pkg", "c.py"))
        cache = make_cache(os.path.join(src, "pkg", "c.py"))
        os.link(cache, cache.replace(".pyc", ".opt-1.pyc"))
        write_file(os.path.join(src, "gone.py"))
        make_cache(os.path.join(src, "gone.py"))
        os.unlink(os.path.join(src, "gone.py"))
        write_file(os.path.join(src, "__pycache__", "x.pyc"), header_312(0, 0) + CODE_BODY)
        write_file(os.path.join(src, "__pycache__", "a.cpython-312.pyc.4242"),
                   header_312(0, 0) + CODE_BODY)
        write_file(os.path.join(src, "old.pyc"), header_312(0, 0) + CODE_BODY)  # sourceless
        write_file(os.path.join(src, "d.py"))
        st = os.stat(os.path.join(src, "d.py"))
        write_file(os.path.join(src, "d.pyc"), header_312(int(st.st_mtime), st.st_size) +
                   CODE_BODY)
        odd = os.path.join(os.fsencode(src), b"new\nline.py")
        write_file(odd)
        make_cache(odd)
        write_file(os.path.join(src, "README"), b"not python\n")
        write_file(os.path.join(src, "b$py.class"), b"\xca\xfe\xba\xbe")  # Jython's, for b.py
        write_file(os.path.join(src, "s.py"))  # shadowed by the package s/ beside it
        make_cache(os.path.join(src, "s.py"))
        write_file(os.path.join(src, "s", "__init__.py"))
        return src

    def walk(self, root):
        pycs, errors, _, _ = scan_json(T + [root], cwd=self.tmp)
        self.assertEqual(errors, [])
        return {os.fsencode(r["path"]): r for r in pycs}

    def test_find_print0_is_the_walk(self):
        """Every file of the tree listed: the very records of the walk, odd names included."""
        self.tree()
        walked = self.walk("src")
        data = subprocess.run(["find", "src", "-print0"], cwd=self.tmp, check=True,
                              stdout=subprocess.PIPE).stdout
        pycs, errors, summary, _ = scan_list(data, cwd=self.tmp)
        self.assertEqual(errors, [])
        got = {os.fsencode(r["path"]): r for r in pycs}
        self.assertEqual(got, walked)
        self.assertIn(b"src/__pycache__/new\nline.cpython-312.pyc", got)
        self.assertEqual(len(pycs), len(got))  # each once, though listed and brought
        listed = data.split(b"\0")[:-1]
        self.assertEqual(summary["listed"]["paths"], len(listed))
        self.assertEqual(summary["listed"]["sources"],
                         sum(p.endswith(b".py") for p in listed))
        self.assertEqual(summary["listed"]["missing"], 0)

    def test_git_ls_files(self):
        """A repository lists its sources, never its caches: each source brings its own."""
        src = self.tree()
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "init.defaultBranch=m"]
        subprocess.run(git + ["init", "-q"], cwd=src, check=True)
        subprocess.run(git + ["add", "a.py", "b.py", "pkg", "d.py", "new\nline.py", "README",
                              "s.py", "s"], cwd=src, check=True)
        data = subprocess.run(["git", "ls-files", "-z"], cwd=src, check=True,
                              stdout=subprocess.PIPE).stdout
        listed = data.split(b"\0")[:-1]
        self.assertIn(b"new\nline.py", listed)
        pycs, errors, _, _ = scan_list(data, cwd=src)
        self.assertEqual(errors, [])
        got = [os.fsencode(r["path"]) for r in pycs]
        self.assertEqual(sorted(got), sorted(expected_caches(listed, os.fsencode(src))))
        self.assertIn(b"d.pyc", got)
        self.assertIn(b"b$py.class", got)  # Jython's cache of b.py comes with it too
        self.assertIn(b"__pycache__/s.cpython-312.pyc", got)
        self.assertIn(b"__pycache__/a.cpython-312.pyc.4242", got)  # a's debris comes with it
        self.assertNotIn(b"__pycache__/gone.cpython-312.pyc", got)  # not tracked: not listed
        # the verdicts are the walk's
        walked = self.walk("src")
        for r in pycs:
            self.assertEqual({k: v for k, v in r.items() if k not in ("path", "source")},
                             {k: v for k, v in walked[b"src/" + os.fsencode(r["path"])].items()
                              if k not in ("path", "source")})

    def test_dpkg_style_list(self):
        """Absolute paths, one a line, every directory named, other files, "/." first."""
        src = self.tree()
        lines = [b"/.", os.fsencode(self.tmp), os.fsencode(src),
                 os.fsencode(os.path.join(src, "a.py")), os.fsencode(os.path.join(src, "README")),
                 os.fsencode(os.path.join(src, "pkg")),
                 os.fsencode(os.path.join(src, "pkg", "c.py")),
                 os.fsencode(os.path.join(src, "old.pyc"))]
        pycs, errors, summary, p = scan_list(b"\n".join(lines) + b"\n", null=False)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(os.fsencode(r["path"]) for r in pycs),
                         sorted(expected_caches(lines, b"/")))
        self.assertEqual(summary["listed"], {"paths": 8, "sources": 2, "caches": 1, "others": 5,
                                             "missing": 0})
        text = run(["scan", "-q"] + T + ["--files-from", "-"], input=b"\n".join(lines)).stdout
        self.assertIn(b"listed: 8 paths: 2 sources, 1 cache, 5 not judged (directories, other "
                      b"files)\n", text)

    def test_real_dpkg_list(self):
        """dpkg -L of a package of this machine: the caches Debian's py3compile made for it."""
        data = subprocess.run(["dpkg", "-L", "python3-minimal"], check=True,
                              stdout=subprocess.PIPE).stdout
        listed = data.splitlines()
        pycs, errors, _, _ = scan_list(data, null=False)
        self.assertEqual(errors, [])
        want = expected_caches(listed, b"/")
        self.assertEqual(sorted(os.fsencode(r["path"]) for r in pycs), sorted(want))
        self.assertTrue(want, "python3-minimal's sources have no caches on this machine")

    def test_many_sources_in_one_directory(self):
        """Past a few named sources a directory is listed once rather than looked up per
        source (filelist.c, LIST_AT): the same caches, and the same errors, either way."""
        d = os.path.join(self.tmp, "many")
        names = [b"m%02d" % i for i in range(12)]
        for n in names:
            write_file(os.path.join(os.fsencode(d), n + b".py"))
            make_cache(os.path.join(os.fsencode(d), n + b".py"))
        st = os.stat(os.path.join(d, "m03.py"))
        write_file(os.path.join(d, "m03.pyc"), header_312(int(st.st_mtime), st.st_size) +
                   CODE_BODY)
        os.mkdir(os.path.join(d, "dir.py"))  # a directory named like a source: it is there
        for listed in (names[:3], names):
            paths = [b"many/" + n + b".py" for n in listed] + [b"many/missing.py",
                                                                b"many/dir.py"]
            with self.subTest(n=len(listed)):
                pycs, errors, summary, _ = scan_list(b"\0".join(paths) + b"\0", cwd=self.tmp,
                                                     expect_rc=2)
                self.assertEqual([e["path"] for e in errors], ["many/missing.py"])
                self.assertEqual(sorted(os.fsencode(r["path"]) for r in pycs),
                                 sorted(expected_caches(paths, os.fsencode(self.tmp))))

    def test_newline_list_with_nul_bytes_is_refused(self):
        self.tree()
        p = run(["scan"] + T + ["--files-from", "-"], input=b"src/a.py\0src/b.py\0",
                cwd=self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"'standard input' holds NUL bytes: a NUL-separated list is read with -0",
                      p.stderr)

    def test_missing_paths(self):
        """Each is an error, the exit status is 2, and the rest is still judged; a listed
        source that is gone still brings its caches, orphans."""
        self.tree()
        data = b"\0".join([b"src/a.py", b"src/missing.py", b"src/gone.py",
                           b"src/__pycache__/missing.cpython-312.pyc", b"nodir/x.py",
                           b"nodir/__pycache__/x.cpython-312.pyc", b"src/missing.pyc"]) + b"\0"
        pycs, errors, summary, p = scan_list(data, cwd=self.tmp, expect_rc=2)
        self.assertEqual(sorted(e["path"] for e in errors), sorted([
            "src/missing.py", "src/gone.py", "src/__pycache__/missing.cpython-312.pyc",
            "nodir/x.py", "nodir/__pycache__/x.cpython-312.pyc", "src/missing.pyc"]))
        for e in errors:
            self.assertEqual((e["message"], e["errno"]), ("cannot judge listed path", 2))
        self.assertEqual({r["path"]: r["status"] for r in pycs}, {
            "src/__pycache__/a.cpython-312.pyc": "fresh",
            "src/__pycache__/a.cpython-312.pyc.4242": "orphaned",
            "src/__pycache__/gone.cpython-312.pyc": "orphaned"})
        self.assertEqual((summary["errors"], summary["listed"]["missing"]), (6, 6))
        self.assertIn(b"cannot judge listed path 'nodir/x.py': No such file or directory",
                      p.stderr)

    def test_directories_are_not_walked(self):
        self.tree()
        pycs, errors, summary, _ = scan_list(b"src\0src/pkg\0src/__pycache__\0", cwd=self.tmp)
        self.assertEqual((pycs, errors), ([], []))
        self.assertEqual(summary["listed"]["others"], 3)

    def test_duplicates_are_judged_once(self):
        src = self.tree()
        os.symlink("src", os.path.join(self.tmp, "link"))
        data = b"\0".join([b"src/a.py", b"./src/a.py", b"src//a.py", b"link/a.py",
                           b"src/__pycache__/a.cpython-312.pyc",
                           b"link/__pycache__/a.cpython-312.pyc",
                           os.fsencode(os.path.join(src, "a.py")), b"src/a.py"]) + b"\0"
        pycs, errors, _, _ = scan_list(data, cwd=self.tmp)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(r["path"] for r in pycs), [
            "src/__pycache__/a.cpython-312.pyc", "src/__pycache__/a.cpython-312.pyc.4242"])
        # and clean removes each once: nothing fails for having gone already
        p = run(["clean", "--all", "--json"] + T + ["-0", "--files-from", "-"], input=data,
                cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        records, summary = parse_clean_jsonl(p.stdout)
        self.assertEqual([r["action"] for r in records if r["type"] == "pyc"],
                         ["removed", "removed"])
        self.assertEqual((summary["failed"], summary["kept"]), (0, 0))

    def test_clean(self):
        """Only what the list names goes; a __pycache__ emptied by it goes too, one that keeps
        other caches stays, and the dry run says the same as the real run."""
        src = self.tree()
        data = b"src/pkg/__init__.py\0src/pkg/c.py\0src/b.py\0"
        before = snapshot(src)
        outs = []
        for dry in (True, False):
            p = run(["clean", "--all", "--json"] + (["-n"] if dry else []) + T +
                    ["-0", "--files-from", "-"], input=data, cwd=self.tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            records, _ = parse_clean_jsonl(p.stdout)
            outs.append([(r["type"], r["path"], r["action"].replace("would-remove", "removed"))
                         for r in records])
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[1], [  # in the order the directories were first listed
            ("pyc", "src/pkg/__pycache__/__init__.cpython-312.pyc", "removed"),
            ("pyc", "src/pkg/__pycache__/c.cpython-312.opt-1.pyc", "removed"),
            ("pyc", "src/pkg/__pycache__/c.cpython-312.pyc", "removed"),
            ("dir", "src/pkg/__pycache__", "removed"),
            ("pyc", "src/b$py.class", "removed"),
            ("pyc", "src/__pycache__/b.cpython-312.pyc", "removed"),
            ("dir", "src/__pycache__", "kept")])
        removed = sorted(set(before) - set(snapshot(src)))
        self.assertEqual(removed, [b"__pycache__/b.cpython-312.pyc", b"b$py.class",
                                   b"pkg/__pycache__",
                                   b"pkg/__pycache__/__init__.cpython-312.pyc",
                                   b"pkg/__pycache__/c.cpython-312.opt-1.pyc",
                                   b"pkg/__pycache__/c.cpython-312.pyc"])

    def test_paths_besides_the_list_are_refused(self):
        """A usage error: said on stderr, exit 2, and nothing on stdout (no summary), as for
        the other usage errors, for every command that reads a list."""
        self.tree()
        for cmd in (["scan"], ["scan", "--json"], ["scan", "-q"], ["clean", "--all"],
                    ["clean", "--all", "--json"], ["dump"], ["dump", "--json"]):
            with self.subTest(cmd=cmd):
                p = run(cmd + ["--files-from", "-", "src"], input=b"src/a.py\n", cwd=self.tmp)
                self.assertEqual((p.returncode, p.stdout), (2, b""))
                self.assertEqual(p.stderr, b"pycinspect: --files-from judges the paths it "
                                 b"lists, and no PATH ('src' given)\n")
        # and nothing was judged, let alone removed
        self.assertTrue(os.path.exists(os.path.join(self.tmp, "src", "__pycache__",
                                                    "a.cpython-312.pyc")))
        # the other usage errors write nothing either (what this one now matches)
        for args in (["--bogus"], ["-0", "."]):
            p = run(["scan", "--json"] + args, cwd=self.tmp)
            self.assertEqual((p.returncode, p.stdout), (2, b""))

    def venv_tree(self, with_venv):
        """proj/: a package compiled by the real CPython 3.12 and 3.11, and with_venv, a 3.11
        virtual environment made by the real `python3.11 -m venv` holding three more (two
        sites under one pyvenv.cfg, and one below a pyvenv.cfg that names no interpreter),
        compiled by both as well.  A PATH holding only a python3.12 (a dummy): outside the
        environment 3.12 is the target, inside it 3.11, so each cache's verdict says which
        targets it was judged against."""
        proj = os.path.join(self.tmp, "proj")
        pkgs = [os.path.join(proj, "app")]
        if with_venv:
            venv = os.path.join(proj, "venv")
            sh([PY311, "-m", "venv", "--without-pip", venv])
            site = os.path.join(venv, "lib", "python3.11", "site-packages")
            pkgs += [os.path.join(site, "p"), os.path.join(site, "p", "deep"),
                     os.path.join(site, "q", "sub")]
            write_file(os.path.join(site, "q", "pyvenv.cfg"), b"home = /nowhere\n")
        for pkg in pkgs:
            write_file(os.path.join(pkg, "__init__.py"), b"X = 1\n")
            write_file(os.path.join(pkg, "m.py"), b"Y = 2\n")
        for py in (PY312, PY311):
            sh([py, "-m", "compileall", "-q", proj])
        bindir = os.path.join(self.tmp, "bin")
        write_file(os.path.join(bindir, "python3.12"), b"#!/bin/false\n", 0o755)
        env = env_c()
        env["PATH"] = bindir
        return env

    def assert_list_is_the_walk(self, walk_args, list_args, data, cwd, env):
        """The list's run gives the walk's JSON records byte for byte (sorted: the list comes a
        directory at a time in the list's order), the walk's summary but for "listed" (its
        venvs sorted), the walk's text records and summary lines, and the walk's stderr."""
        def runs(args, stdin):
            j = run(["scan", "--json"] + args, input=stdin, cwd=cwd, env=env)
            t = run(["scan"] + args, input=stdin, cwd=cwd, env=env)
            self.assertEqual((j.returncode, t.returncode), (0, 0), j.stderr + t.stderr)
            pycs, errors, summary = parse_jsonl(j.stdout)
            self.assertEqual(errors, [])
            summary.pop("listed", None)
            summary["venvs"].sort(key=lambda v: v["config"])
            lines = j.stdout.split(b"\n")[:-2]
            text = [l for l in t.stdout.split(b"\n") if not l.startswith(b"listed: ")]
            return sorted(lines), summary, sorted(text), sorted(t.stderr.split(b"\n")), pycs
        walked = runs(walk_args, None)
        listed = runs(list_args, data)
        for w, l in zip(walked[:4], listed[:4]):
            self.assertEqual(l, w)
        return walked[1], walked[4]

    def test_a_list_gets_the_targets_of_virtual_environments(self):
        """A listed path inside a virtual environment is judged against the interpreter its
        pyvenv.cfg names, as the walk judges it: the same records, venvs and warnings, for a
        tree with an environment and one without."""
        for with_venv in (True, False):
            with self.subTest(with_venv=with_venv):
                if not with_venv:
                    sh(["rm", "-rf", os.path.join(self.tmp, "proj")])
                env = self.venv_tree(with_venv)
                for spelled in ("proj", "./proj"):
                    data = subprocess.run(["find", spelled, "-print0"], cwd=self.tmp,
                                          check=True, stdout=subprocess.PIPE).stdout
                    summary, pycs = self.assert_list_is_the_walk(
                        [spelled], ["-0", "--files-from", "-"], data, self.tmp, env)
                self.assertEqual(summary["targets"], ["3.12"])
                # the walk's verdicts are what the test means: 3.11's caches fresh in the
                # environment (below q/ too, whose pyvenv.cfg names no interpreter: the
                # environment around it applies), 3.12's outside
                want = {r["path"]: ("cpython-311" in r["path"]) != ("/venv/" in r["path"])
                        for r in pycs}
                self.assertEqual({r["path"]: r["foreign"] for r in pycs}, want)
                self.assertEqual(len(pycs), 16 if with_venv else 4)
                venvs = [(v["root"], v["target"], v["error"]) for v in summary["venvs"]]
                site = "./proj/venv/lib/python3.11/site-packages"
                self.assertEqual(venvs, [  # by config: "lib/..." before "pyvenv.cfg"
                    (site + "/q", None, "no 'version' or 'version_info' key"),
                    ("./proj/venv", "3.11", None)] if with_venv else [])

    def test_each_directory_is_asked_once(self):
        """The search for a pyvenv.cfg above a listed directory stops at a directory asked
        before: 300 listed directories eight levels below an environment cost one lookup of
        pyvenv.cfg each and one per ancestor (strace counts them), not a climb each; and each
        cache gets the environment's target (3.11: the 3.12 caches are foreign)."""
        strace = shutil.which("strace")
        if not strace:
            self.fail("strace is not installed (tools/install-deps.sh)")
        write_file(os.path.join(self.tmp, "env", "pyvenv.cfg"), b"version = 3.11.7\n")
        deep = os.path.join("env", *"abcdefgh")
        listed = []
        for i in range(300):
            src = os.path.join(deep, "d%03d" % i, "m.py")
            write_file(os.path.join(self.tmp, src))
            make_cache(os.path.join(self.tmp, src))
            listed.append(src.encode())
        write_file(os.path.join(self.tmp, "list"), b"\0".join(listed) + b"\0")
        log = os.path.join(self.tmp, "strace.log")
        env = env_c()  # LeakSanitizer cannot run under ptrace (the sanitizer build)
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        p = subprocess.run([strace, "-f", "-qq", "-o", log, "-e", "trace=%file", BIN, "scan",
                            "--json", "-0", "--files-from", "list"], cwd=self.tmp, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        pycs, errors, summary = parse_jsonl(p.stdout)
        self.assertEqual((len(pycs), errors), (300, []))
        self.assertEqual({r["status"] for r in pycs}, {"foreign"})
        self.assertEqual([(v["root"], v["target"]) for v in summary["venvs"]], [("env", "3.11")])
        with open(log, "rb") as f:
            asked = sum(b'"pyvenv.cfg"' in line for line in f)
        # each listed directory, a..h and env (found there: the search ends), and its read
        self.assertEqual(asked, 300 + 9 + 1)

    def test_from_a_file(self):
        self.tree()
        write_file(os.path.join(self.tmp, "list"), b"src/a.py\n\nsrc/b.py\n")
        pycs, errors, summary, _ = scan_json(T + ["--files-from", "list"], cwd=self.tmp)
        self.assertEqual(sorted(r["path"] for r in pycs), [
            "src/__pycache__/a.cpython-312.pyc", "src/__pycache__/a.cpython-312.pyc.4242",
            "src/__pycache__/b.cpython-312.pyc", "src/b$py.class"])
        self.assertEqual(summary["listed"]["paths"], 2)  # the empty line is no path

    def test_with_a_prefix(self):
        """With --pycache-prefix a source brings its caches in the prefix tree, not those of
        its __pycache__; a listed cache inside the tree is judged by the prefix rule."""
        src = os.path.realpath(self.tree())
        prefix = os.path.join(os.path.realpath(self.tmp), "pyc")
        st = os.stat(os.path.join(src, "a.py"))
        cache = prefix + os.path.join(src, "a.cpython-312.pyc")
        write_file(cache, header_312(int(st.st_mtime), st.st_size) + CODE_BODY)
        orphan = prefix + os.path.join(src, "pkg", "zz.cpython-312.pyc")
        write_file(orphan, header_312(0, 0) + CODE_BODY)
        data = b"src/a.py\0src/b.py\0" + os.fsencode(orphan) + b"\0"
        pycs, errors, summary, _ = scan_list(data, ["--pycache-prefix", prefix], cwd=self.tmp)
        self.assertEqual(errors, [])
        self.assertEqual([(r["path"], r["status"], r["layout"], r["source"]) for r in pycs], [
            (cache, "fresh", "prefix", os.path.join(src, "a.py")),
            (orphan, "orphaned", "prefix", os.path.join(src, "pkg", "zz.py"))])
        self.assertEqual(summary["pycache_prefix"], prefix)


if __name__ == "__main__":
    main()
