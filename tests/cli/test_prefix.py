"""PYTHONPYCACHEPREFIX trees (docs/inputs.md): `scan --pycache-prefix PREFIX [SRC...]`.

Where a cache lives is asked of the interpreter running this test: its own
importlib.util.cache_from_source, with sys.pycache_prefix set (3.8+), maps each source path,
spelled as a user would spell it (relative, "./", "..", through a symlinked directory), to its
cache; pycinspect must find the cache there and name the source by the path CPython's
source_from_cache gives back.  The freshness of caches in a prefix tree is CPython's ordinary
rule, which tests/conformance/prefix.py checks against real imports; here the statuses are the
ones the hand-made headers make (fresh, stale by mtime, orphaned), and what the prefix changes:
no "sourceless", no __pycache__ removed, symlinks in the tree not followed, the summary.
"""
import json
import os
import subprocess
import sys

from clitest import (TempDirCase, header_312, main, parse_clean_jsonl, run, run_as_nobody,
                     scan_json, snapshot, write_file, CODE_BODY)

T = ["-t", "3.12"]


def cache_from_source(prefix, sources, cwd):
    """{source as spelled: its cache path} by this interpreter's own importlib, with
    sys.pycache_prefix = prefix and the working directory cwd."""
    code = ("import importlib.util, json, sys\n"
            "sys.pycache_prefix = sys.argv[1]\n"
            "print(json.dumps({s: importlib.util.cache_from_source(s) for s in sys.argv[2:]}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([sys.executable, "-c", code, prefix] + list(sources), cwd=cwd,
                         env=env, check=True, stdout=subprocess.PIPE).stdout
    got = json.loads(out)
    # its tag is this interpreter's: the caches here are 3.12's
    tag = sys.implementation.cache_tag
    return {s: c.replace("." + tag + ".", ".cpython-312.") for s, c in got.items()}


def write_cache(cache, source, fresh=True):
    st = os.stat(source)
    write_file(cache, header_312(int(st.st_mtime) + (0 if fresh else 10), st.st_size) + CODE_BODY)


def by_path(pycs):
    return {r["path"]: r for r in pycs}


class Prefix(TempDirCase):
    def setUp(self):
        super().setUp()
        self.tmp = os.path.realpath(self.tmp)  # getcwd() is physical: as CPython maps it
        self.prefix = os.path.join(self.tmp, "pyc")
        os.mkdir(self.prefix)
        self.src = os.path.join(self.tmp, "src")

    def mapped(self, rel):
        """The tree's place for the absolute path rel (of a source directory or a cache)."""
        return self.prefix + rel

    def project(self):
        """src/app with a fresh, a stale and an orphaned cache in the prefix tree, the caches
        written where CPython's cache_from_source puts them.  Returns {name: cache path}."""
        app = os.path.join(self.src, "app")
        for name in ("fresh", "stale", "gone", "pkg/__init__", "pkg/mod"):
            write_file(os.path.join(app, name + ".py"), b"x = %r\n" % name.encode())
        where = cache_from_source(self.prefix, ["fresh.py", "./stale.py", "gone.py",
                                                "pkg/__init__.py", "../app/pkg/mod.py"], app)
        write_cache(where["fresh.py"], os.path.join(app, "fresh.py"))
        write_cache(where["./stale.py"], os.path.join(app, "stale.py"), fresh=False)
        write_cache(where["gone.py"], os.path.join(app, "gone.py"))
        write_cache(where["pkg/__init__.py"], os.path.join(app, "pkg/__init__.py"))
        write_cache(where["../app/pkg/mod.py"], os.path.join(app, "pkg/mod.py"))
        os.unlink(os.path.join(app, "gone.py"))
        # an ordinary __pycache__ cache too: not the prefix tree's business
        write_cache(os.path.join(app, "__pycache__", "fresh.cpython-312.pyc"),
                    os.path.join(app, "fresh.py"))
        return {k: os.path.normpath(v) for k, v in where.items()}

    def test_cache_from_source_places_are_found(self):
        where = self.project()
        app = os.path.join(self.src, "app")
        pycs, errors, summary, _ = scan_json(T + ["--pycache-prefix", self.prefix])
        self.assertEqual(errors, [])
        got = by_path(pycs)
        self.assertEqual(sorted(got), sorted(where.values()))
        want = {"fresh.py": ("fresh", "fresh.py"), "./stale.py": ("stale", "stale.py"),
                "gone.py": ("orphaned", "gone.py"), "pkg/__init__.py": ("fresh", "pkg/__init__.py"),
                "../app/pkg/mod.py": ("fresh", "pkg/mod.py")}
        for spelled, (status, src) in want.items():
            r = got[where[spelled]]
            self.assertEqual(r["status"], status, r)
            self.assertEqual(r["source"], os.path.join(app, src))
            self.assertEqual(r["layout"], "prefix")
            self.assertEqual(r["tag"], "cpython-312")
            self.assertNotIn("no source beside it: imported as a sourceless module", r["reasons"])
        self.assertEqual(got[where["gone.py"]]["reasons"], ["source is gone"])
        self.assertEqual(got[where["./stale.py"]]["reasons"], ["source mtime differs"])
        self.assertEqual(summary["pycache_prefix"], self.prefix)
        self.assertEqual(summary["pycache_prefix_from"], "option")
        self.assertNotIn("env_pycache_prefix", summary)
        self.assertEqual(summary["by_status"]["sourceless"]["count"], 0)

    def test_an_ordinary_walk_of_the_tree_calls_no_cache_sourceless(self):
        """Without --pycache-prefix the tree is an ordinary one (the complaint of issue 17):
        NAME.TAG.pyc outside __pycache__ is no legacy sourceless module, as no import looks
        that name up (a finder looks for the last part of a dotted module name), which the
        interpreter running this test confirms in each cache's directory, beside a legacy
        NAME.pyc it does import.  Orphaned, with no source, and left by clean --orphaned (it
        is what Python reads from a prefix tree): only --unused and --all remove it."""
        where = self.project()
        pycs, _, _, _ = scan_json(T + ["--all", self.prefix])
        self.assertEqual(sorted(r["path"] for r in pycs), sorted(where.values()))
        why = ("a __pycache__ name outside __pycache__: no import reads it here, only from a "
               "PYTHONPYCACHEPREFIX tree (--pycache-prefix judges it)")
        for r in pycs:
            self.assertEqual((r["status"], r["reasons"], r["source"], r["layout"]),
                             ("orphaned", [why], None, "legacy"), r)
        code = ("import importlib, py_compile, sys, os\n"
                "sys.path.insert(0, os.getcwd())\n"
                "open('ok_legacy.py', 'w').write('x = 1')\n"
                "py_compile.compile('ok_legacy.py', cfile='ok_legacy.pyc')\n"
                "os.unlink('ok_legacy.py')\n"
                "importlib.import_module('ok_legacy')\n"
                "for stem in sys.argv[1:]:\n"
                "    try:\n"
                "        importlib.import_module(stem)\n"
                "    except ImportError:\n"
                "        continue\n"
                "    sys.exit('imported ' + stem)\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        dirs = {}
        for c in where.values():
            dirs.setdefault(os.path.dirname(c), []).append(os.path.basename(c)[:-len(".pyc")])
        for d, stems in dirs.items():
            subprocess.run([sys.executable, "-c", code] + stems, cwd=d, env=env, check=True)
            os.unlink(os.path.join(d, "ok_legacy.pyc"))
        # clean: debris, as __pycache__/x.pyc is
        before = snapshot(self.tmp)
        p = run(["clean", "--orphaned", "--json"] + T + [self.prefix])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(snapshot(self.tmp), before)
        p = run(["clean", "--unused"] + T + [self.prefix])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertFalse(any(os.path.exists(c) for c in where.values()))

    def test_scope_of_a_source_directory(self):
        where = self.project()
        app = os.path.join(self.src, "app")
        pkg = os.path.join(app, "pkg")
        want = sorted([where["pkg/__init__.py"], where["../app/pkg/mod.py"]])
        spellings = [(pkg, self.tmp), ("pkg", app), ("./pkg/", app), ("../app/pkg", app),
                     ("app//pkg/.", self.src), (self.mapped(pkg), self.tmp),
                     (os.path.relpath(self.mapped(pkg), app), app)]
        for path, cwd in spellings:
            with self.subTest(path=path):
                pycs, errors, _, p = scan_json(T + ["--pycache-prefix", self.prefix, path],
                                               cwd=cwd)
                self.assertEqual((errors, p.stderr), ([], b""))
                self.assertEqual(sorted(by_path(pycs)), want)
        # the whole project: its caches, none of anything else in the tree
        write_cache(self.mapped(os.path.join(self.tmp, "other", "x.cpython-312.pyc")),
                    os.path.join(app, "fresh.py"))
        pycs, _, _, _ = scan_json(T + ["--pycache-prefix", self.prefix, app])
        self.assertEqual(sorted(by_path(pycs)), sorted(where.values()))

    def test_source_directory_gone(self):
        """The caches of a deleted project are orphans: its directory need not exist."""
        where = self.project()
        app = os.path.join(self.src, "app")
        subprocess.run(["rm", "-rf", "--", app], check=True)
        pycs, errors, _, p = scan_json(T + ["--pycache-prefix", self.prefix, app])
        self.assertEqual((errors, p.stderr), ([], b""))
        self.assertEqual(sorted(by_path(pycs)), sorted(where.values()))
        for r in pycs:
            self.assertEqual((r["status"], r["reasons"]), ("orphaned", ["source is gone"]))
        # neither sources nor caches: an error, as a missing PATH is
        pycs, errors, _, p = scan_json(T + ["--pycache-prefix", self.prefix,
                                            os.path.join(self.tmp, "nothing")], expect_rc=2)
        self.assertEqual(pycs, [])
        self.assertEqual([e["errno"] for e in errors], [2])

    def test_source_directory_without_caches_is_a_warning(self):
        self.project()
        other = os.path.join(self.tmp, "other")
        os.mkdir(other)
        pycs, errors, _, p = scan_json(T + ["--pycache-prefix", self.prefix, other])
        self.assertEqual((pycs, errors), ([], []))
        self.assertIn(b"warning: '%s': the prefix tree has no '%s'" % (
            other.encode(), self.mapped(other).encode()), p.stderr)

    def test_symlinked_source_directory_hint(self):
        """CPython maps the path as spelled, symlinks and all: a project imported by its real
        path has its caches there, and naming it through a symlink gets a hint."""
        self.project()
        link = os.path.join(self.tmp, "link")
        os.symlink(self.src, link)
        pycs, _, _, p = scan_json(T + ["--pycache-prefix", self.prefix,
                                       os.path.join(link, "app")])
        self.assertEqual(pycs, [])
        self.assertIn(b"'%s' (its real path) has caches there" % os.path.join(
            self.src, "app").encode(), p.stderr)
        # a source spelled through the link has its cache under the link's spelling; one
        # spelled relative to a working directory reached through it, under the real path
        # (getcwd() is physical)
        spelled = os.path.join(link, "app", "fresh.py")
        where = cache_from_source(self.prefix, [spelled], self.tmp)
        self.assertEqual(os.path.dirname(where[spelled]), self.mapped(os.path.join(link, "app")))
        where = cache_from_source(self.prefix, ["fresh.py"], os.path.join(link, "app"))
        self.assertEqual(os.path.dirname(where["fresh.py"]),
                         self.mapped(os.path.join(self.src, "app")))

    def test_unreadable_source_directory(self):
        """A source directory that cannot be searched is neither gone nor checkable: invalid,
        and clean keeps the cache (as nobody, since root can search anything)."""
        app = os.path.join(self.src, "app")
        write_file(os.path.join(app, "m.py"))
        cache = self.mapped(os.path.join(app, "m.cpython-312.pyc"))
        write_cache(cache, os.path.join(app, "m.py"))
        os.chmod(self.tmp, 0o755)
        os.chmod(self.src, 0o700)
        p = run_as_nobody(["scan", "--json"] + T + ["--pycache-prefix", self.prefix])
        rec = json.loads(p.stdout.splitlines()[0])
        self.assertEqual((rec["status"], rec["reasons"]), ("invalid", ["source cannot be read"]))
        p = run_as_nobody(["clean", "--all", "--json"] + T + ["--pycache-prefix", self.prefix])
        records, summary = parse_clean_jsonl(p.stdout)
        self.assertEqual([r["action"] for r in records], ["kept"])
        self.assertTrue(os.path.exists(cache))

    def test_debris_and_symlinks_in_the_tree(self):
        app = os.path.join(self.src, "app")
        write_file(os.path.join(app, "m.py"))
        tree = self.mapped(app)
        write_cache(os.path.join(tree, "m.cpython-312.pyc"), os.path.join(app, "m.py"))
        write_cache(os.path.join(tree, "m.pyc"), os.path.join(app, "m.py"))  # no tag
        write_cache(os.path.join(tree, "m.cpython-312.pyc.12345"), os.path.join(app, "m.py"))
        os.symlink("m.cpython-312.pyc", os.path.join(tree, "l.cpython-312.pyc"))
        # a directory of the tree that is a symlink: not followed
        elsewhere = os.path.join(self.tmp, "elsewhere")
        write_cache(os.path.join(elsewhere, "m.cpython-312.pyc"), os.path.join(app, "m.py"))
        os.symlink(elsewhere, os.path.join(tree, "sub"))
        pycs, errors, _, _ = scan_json(T + ["--pycache-prefix", self.prefix])
        self.assertEqual(errors, [])
        got = {os.path.basename(r["path"]): (r["status"], r["reasons"]) for r in pycs}
        self.assertEqual(got, {
            "m.cpython-312.pyc": ("fresh", []),
            "m.pyc": ("orphaned", ["not a cache name any import looks up"]),
            "m.cpython-312.pyc.12345": ("orphaned", ["leftover of an interrupted cache write"]),
            "l.cpython-312.pyc": ("invalid", ["not a regular file"])})
        before = snapshot(self.tmp)
        p = run(["clean", "--all", "--unused", "--json"] + T + ["--pycache-prefix", self.prefix])
        self.assertEqual(p.returncode, 1, p.stderr)  # the symlink is kept for safety
        records, summary = parse_clean_jsonl(p.stdout)
        self.assertEqual({os.path.basename(r["path"]): r["action"] for r in records}, {
            "m.cpython-312.pyc": "removed", "m.pyc": "removed",
            "m.cpython-312.pyc.12345": "removed", "l.cpython-312.pyc": "kept"})
        self.assertEqual(summary["directories"], 0)  # the tree's directories stay
        after = snapshot(self.tmp)
        gone = sorted(set(before) - set(after))
        self.assertEqual(gone, sorted(os.path.relpath(os.path.join(tree, n), self.tmp).encode()
                                      for n in ("m.cpython-312.pyc", "m.pyc",
                                                "m.cpython-312.pyc.12345")))
        self.assertTrue(os.path.exists(os.path.join(elsewhere, "m.cpython-312.pyc")))

    def test_shadowed_module(self):
        """What shadows a module is beside its source, wherever its cache is: a package m/
        beside m.py makes the prefix tree's cache of m.py one no import loads."""
        app = os.path.join(self.src, "app")
        write_file(os.path.join(app, "m.py"))
        write_file(os.path.join(app, "m", "__init__.py"))
        write_cache(self.mapped(os.path.join(app, "m.cpython-312.pyc")), os.path.join(app, "m.py"))
        pycs, _, _, _ = scan_json(T + ["--pycache-prefix", self.prefix])
        self.assertEqual([(r["status"], r["reasons"]) for r in pycs], [
            ("orphaned", ["shadowed by a package of the same name: never loaded"])])

    def test_prefix_itself_a_symlink_is_followed(self):
        where = self.project()
        link = os.path.join(self.tmp, "pyc-link")
        os.symlink(self.prefix, link)
        pycs, errors, _, _ = scan_json(T + ["--pycache-prefix", link])
        self.assertEqual(errors, [])
        self.assertEqual(sorted(r["path"] for r in pycs),
                         sorted(link + p[len(self.prefix):] for p in where.values()))

    def test_clean_removes_orphans_and_keeps_the_rest(self):
        where = self.project()
        before = snapshot(self.tmp)
        for dry in (True, False):
            p = run(["clean", "--orphaned", "--stale", "--json"] + (["-n"] if dry else []) + T +
                    ["--pycache-prefix", self.prefix, os.path.join(self.src, "app")])
            self.assertEqual(p.returncode, 0, p.stderr)
            records, summary = parse_clean_jsonl(p.stdout)
            self.assertEqual(sorted((r["path"], r["action"]) for r in records), sorted([
                (where["gone.py"], "would-remove" if dry else "removed"),
                (where["./stale.py"], "would-remove" if dry else "removed")]))
            self.assertEqual(summary["pycache_prefix"], self.prefix)
        removed, added, _ = (set(before) - set(snapshot(self.tmp)),
                             set(snapshot(self.tmp)) - set(before), None)
        self.assertEqual(sorted(removed), sorted(os.path.relpath(where[k], self.tmp).encode()
                                                 for k in ("gone.py", "./stale.py")))
        self.assertEqual(added, set())

    def test_clean_refuses_overlapping_paths(self):
        self.project()
        app = os.path.join(self.src, "app")
        for paths in ([app, os.path.join(app, "pkg")], [app, app + "/"],
                      [app, self.mapped(app)]):
            with self.subTest(paths=paths):
                before = snapshot(self.tmp)
                p = run(["clean", "--all"] + T + ["--pycache-prefix", self.prefix] + paths)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(b"name each tree once (nothing was removed)", p.stderr)
                self.assertEqual(snapshot(self.tmp), before)

    def test_a_file_path_is_refused(self):
        self.project()
        p = run(["scan"] + T + ["--pycache-prefix", self.prefix,
                                os.path.join(self.src, "app", "fresh.py")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"not a directory (with --pycache-prefix", p.stderr)

    def test_environment(self):
        where = self.project()
        env = dict(os.environ, LC_ALL="C", PYTHONPYCACHEPREFIX=self.prefix)
        # a plain scan says where Python run with this environment writes
        pycs, _, summary, p = scan_json(T + [os.path.join(self.src, "app")], env=env)
        self.assertEqual(summary["env_pycache_prefix"], self.prefix)
        self.assertNotIn("pycache_prefix", summary)
        p = run(["scan"] + T + [os.path.join(self.src, "app")], env=env)
        self.assertIn(b"PYTHONPYCACHEPREFIX is %s: Python run with this environment writes and "
                      b"reads its caches there, not in __pycache__ (--pycache-prefix-env judges "
                      b"them)" % self.prefix.encode(), p.stdout)
        # and --pycache-prefix-env judges them
        pycs, _, summary, _ = scan_json(T + ["--pycache-prefix-env"], env=env)
        self.assertEqual(sorted(by_path(pycs)), sorted(where.values()))
        self.assertEqual((summary["pycache_prefix"], summary["pycache_prefix_from"]),
                         (self.prefix, "environment"))
        p = run(["scan", "-q"] + T + ["--pycache-prefix-env"], env=env)
        self.assertIn(b"pycache prefix: %s (from PYTHONPYCACHEPREFIX)\n" % self.prefix.encode(),
                      p.stdout)
        self.assertNotIn(b"PYTHONPYCACHEPREFIX is", p.stdout)
        # an empty one is no prefix, as for Python
        env["PYTHONPYCACHEPREFIX"] = ""
        _, _, summary, _ = scan_json(T + [self.src], env=env)
        self.assertNotIn("env_pycache_prefix", summary)

    def test_excludes_and_jobs(self):
        where = self.project()
        pycs, _, _, _ = scan_json(T + ["--pycache-prefix", self.prefix, "--exclude", "pkg"])
        self.assertEqual(sorted(by_path(pycs)), sorted(
            where[k] for k in ("fresh.py", "./stale.py", "gone.py")))
        outs = {run(["scan", "--json", "-j", j] + T + ["--pycache-prefix", self.prefix]).stdout
                for j in ("1", "2", "8")}
        self.assertEqual(len(outs), 1)


if __name__ == "__main__":
    main()
