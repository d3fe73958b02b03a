"""Staging roots (docs/packaging.md): `scan|clean --root DIR [PATH...]`.

A fake root file system is made in a temporary directory as a package build makes its DESTDIR:
a small package copied into DIR/usr/lib/python3.12/site-packages, its caches written there by
the real interpreters (pyenv's CPython 3.12 and 3.11, `-m compileall`), and DIR/usr/bin/python3.12
a dummy executable (nothing in DIR is ever run).  Checked against outside truth:

- a source edited in DIR makes its cache stale, and the interpreter itself, importing from DIR's
  site-packages, rewrites exactly the caches called stale and keeps the ones called fresh;
- a source that is an absolute symlink (/usr/lib/python3.11/os.py, which exists on this host
  with other contents) or a "../../.." escape resolves to DIR's file, as in a chroot: the cache
  that py_compile wrote from DIR's file is fresh with --root and stale without it (so the test
  can fail), and clean --root --stale keeps it;
- the targets are DIR's interpreters, never the host's PATH (PATH holding a python3.9 link);
  a pyvenv.cfg inside DIR names its own, one above DIR is never read;
- a PATH is a path inside DIR, resolved inside it (an absolute symlinked directory too);
- with --pycache-prefix, the tree is DIR's and its caches map to DIR's sources, by the mapping
  importlib.util.cache_from_source gives for a sys.pycache_prefix inside the root;
- clean removes inside DIR only, and its JSON records name both paths.
"""
import os
import shutil
import subprocess
import zipfile

from clitest import (TempDirCase, interp_env, main, parse_clean_jsonl, run,  # noqa: F401
                     scan_json, sh, snapshot, write_file)

PYENV = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
PY312 = os.path.join(PYENV, "versions", "3.12.1", "bin", "python")
PY311 = os.path.join(PYENV, "versions", "3.11.7", "bin", "python")
PY39 = os.path.join(PYENV, "versions", "3.9.18", "bin", "python")
HOST_OS = "/usr/lib/python3.11/os.py"  # Debian's python3.11: on the host, not in the root
SITE = "usr/lib/python3.12/site-packages"


def statuses(pycs, key="installed"):
    """{path inside the root: status}."""
    return {r[key]["path"]: r["status"] for r in pycs}


def staging_root(tmp):
    """A DESTDIR in tmp as `install` makes one: a package copied with cp -a into its
    site-packages, compiled there by CPython 3.12 and 3.11, and a dummy usr/bin/python3.12.
    Returns (root, site)."""
    root = os.path.join(tmp, "destdir")
    site = os.path.join(root, SITE)
    pkg = os.path.join(tmp, "build", "pkg")
    write_file(os.path.join(pkg, "__init__.py"), b"from . import core\n")
    write_file(os.path.join(pkg, "core.py"), b"VALUE = 1\n")
    write_file(os.path.join(pkg, "util.py"), b"def f():\n    return 2\n")
    os.makedirs(site)
    sh(["cp", "-a", pkg, site])
    write_file(os.path.join(root, "usr/bin/python3.12"), b"#!/bin/false\n", 0o755)
    os.symlink("python3.12", os.path.join(root, "usr/bin/python3"))
    for py in (PY312, PY311):
        sh([py, "-m", "compileall", "-q", site])
    return root, site


def linked_sources(root, site):
    """pkg/absolute.py, a link to HOST_OS, and pkg/escape.py, one that climbs out of the root
    with twelve "..", both to the root's own HOST_OS (other contents than the host's, an older
    mtime), each with the cache a python3.12 in the root writes: that of the root's file.
    Returns the root's file, and the caches' paths inside the root."""
    inside = os.path.join(root, HOST_OS.lstrip("/"))
    write_file(inside, b"ROOT_OS = 1\n")
    os.utime(inside, (1500000000, 1500000000))
    pkg = os.path.join(site, "pkg")
    os.symlink(HOST_OS, os.path.join(pkg, "absolute.py"))
    os.symlink("../" * 12 + HOST_OS.lstrip("/"), os.path.join(pkg, "escape.py"))
    for name in ("absolute", "escape"):
        sh([PY312, "-c", "import py_compile, sys; "
            "py_compile.compile(sys.argv[1], cfile=sys.argv[2], doraise=True)", inside,
            os.path.join(pkg, "__pycache__", name + ".cpython-312.pyc")])
    return inside, ["/%s/pkg/__pycache__/%s.cpython-312.pyc" % (SITE, n)
                    for n in ("absolute", "escape")]


def check_prerequisites(case):
    for exe in (PY312, PY311, PY39):
        if not os.access(exe, os.X_OK):
            case.fail("%s is missing (pyenv)" % exe)
    if not os.path.isfile(HOST_OS):
        case.fail("%s is missing (Debian's python3.11)" % HOST_OS)


class Root(TempDirCase):
    def setUp(self):
        super().setUp()
        check_prerequisites(self)
        self.root, self.site = staging_root(self.tmp)

    def scan(self, *args, expect_rc=0, env=None):
        kw = {"env": env} if env else {}
        return scan_json(["--root", self.root] + list(args), expect_rc=expect_rc, **kw)

    def test_targets_from_the_root_and_verdicts_against_cpython(self):
        pycs, errors, summary, _ = self.scan()
        self.assertEqual(errors, [])
        self.assertEqual(summary["targets"], ["3.12"])
        self.assertEqual(summary["targets_from"], "root")
        self.assertEqual(summary["root"], self.root)
        got = statuses(pycs)
        self.assertEqual(len(got), 6)
        for path, status in got.items():
            self.assertTrue(path.startswith("/" + SITE + "/pkg/__pycache__/"), path)
            self.assertEqual(status, "foreign" if ".cpython-311." in path else "fresh", path)
        for r in pycs:  # the on-disk path is the one under the root
            self.assertEqual(r["path"], self.root + r["installed"]["path"])
            self.assertEqual(r["source"], self.root + r["installed"]["source"])
        # an edited source: stale, and the interpreter agrees by rewriting exactly that cache
        core = os.path.join(self.site, "pkg", "core.py")
        with open(core, "ab") as f:
            f.write(b"OTHER = 3\n")
        pycs, _, _, _ = self.scan("/" + SITE)
        got = statuses(pycs)
        c312 = "/%s/pkg/__pycache__/core.cpython-312.pyc" % SITE
        c311 = c312.replace("-312.", "-311.")
        self.assertEqual(sorted(p for p, s in got.items() if s == "stale"), [c311, c312])
        before = {p: os.stat(self.root + p).st_mtime_ns for p in got}
        for c in (c311, c312):
            os.utime(self.root + c, ns=(1, 1))  # so that a rewrite shows in the mtime
            before[c] = 1
        for py in (PY312, PY311):
            sh([py, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import pkg.util",
                self.site])
        after = {p: os.stat(self.root + p).st_mtime_ns for p in got}
        rewritten = sorted(p for p in got if after[p] != before[p])
        self.assertEqual(rewritten, [c311, c312])
        pycs, _, _, _ = self.scan()
        self.assertEqual(statuses(pycs)[c312], "fresh")

    def test_the_host_path_is_not_consulted(self):
        bindir = os.path.join(self.tmp, "hostbin")
        os.mkdir(bindir)
        os.symlink(PY39, os.path.join(bindir, "python3.9"))
        env = dict(os.environ, LC_ALL="C", PATH=bindir)
        env.pop("PYTHONPYCACHEPREFIX", None)
        _, _, summary, _ = scan_json([self.site], env=env)
        self.assertEqual(summary["targets"], ["3.9"])  # without --root: PATH's
        self.assertEqual(summary["targets_from"], "PATH")
        _, _, summary, p = self.scan(env=env)
        self.assertEqual(summary["targets"], ["3.12"])
        self.assertEqual(summary["targets_from"], "root")
        p = run(["scan", "--root", self.root], env=env)
        self.assertIn(b"targets: 3.12 (from the root's interpreters)\n", p.stdout)
        # no interpreter in the root: none found there, whatever PATH holds
        shutil.rmtree(os.path.join(self.root, "usr", "bin"))
        p = run(["scan", "--root", self.root], env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"targets: none found in the root, so no cache is judged foreign "
                      b"(use --target)\n", p.stdout)
        # a standard library in the root names its interpreter (usr/lib/pythonX.Y/os.py)
        write_file(os.path.join(self.root, "usr/lib/python3.11/os.py"))
        _, _, summary, _ = self.scan(env=env)
        self.assertEqual(summary["targets"], ["3.11"])
        # --target still wins
        _, _, summary, _ = self.scan("-t", "3.13", env=env)
        self.assertEqual((summary["targets"], summary["targets_from"]), (["3.13"], "option"))

    def test_symlinks_resolve_inside_the_root(self):
        inside, caches = linked_sources(self.root, self.site)
        pkg = os.path.join(self.site, "pkg")
        pycs, _, _, _ = self.scan("-t", "3.12")
        got = statuses(pycs)
        self.assertEqual([got[c] for c in caches], ["fresh", "fresh"])
        # on the host the links lead to the host's os.py: a different file, so stale
        pycs, _, _, _ = scan_json(["-t", "3.12", pkg])
        host = {r["path"]: r["status"] for r in pycs}
        self.assertEqual([host[self.root + c] for c in caches], ["stale", "stale"])
        # clean --stale follows DIR's file too, and re-checks it there before removing
        before = snapshot(self.tmp)
        p = run(["clean", "--root", self.root, "-t", "3.12", "--stale"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(snapshot(self.tmp), before)
        # DIR's file changes: stale, and removed
        with open(inside, "ab") as f:
            f.write(b"MORE = 2\n")
        p = run(["clean", "--root", self.root, "-t", "3.12", "--stale", "--json"])
        self.assertEqual(p.returncode, 0, p.stderr)
        records, summary = parse_clean_jsonl(p.stdout)
        removed = sorted(r["installed"]["path"] for r in records
                         if r["type"] == "pyc" and r["action"] == "removed")
        self.assertEqual(removed, caches)
        for c in caches:
            self.assertFalse(os.path.lexists(self.root + c))
        self.assertEqual(summary["root"], self.root)

    def test_paths_are_inside_the_root(self):
        lib = os.path.join(self.root, "usr/lib")
        os.symlink("/usr/lib/python3.12", os.path.join(lib, "python3"))  # absolute, in DIR
        whole, _, _, _ = self.scan()
        for path in ("/usr/lib/python3/site-packages", "usr/lib/python3.12/",
                     "/../../usr/lib/python3/site-packages/pkg"):
            pycs, _, _, _ = self.scan(path)
            self.assertEqual(sorted(r["path"] for r in pycs),
                             sorted(r["path"] for r in whole), path)
        p = run(["scan", "--root", self.root, "/usr/lib/nowhere"])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"'/usr/lib/nowhere': cannot resolve inside the root: No such file or "
                      b"directory", p.stderr)
        p = run(["scan", "--root", os.path.join(self.tmp, "missing")])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot open the root", p.stderr)

    def test_virtual_environments_inside_the_root(self):
        venv = os.path.join(self.root, "opt/app")
        sh([PY311, "-m", "venv", "--without-pip", venv])
        vsite = os.path.join(venv, "lib/python3.11/site-packages")
        sh(["cp", "-a", os.path.join(self.site, "pkg"), vsite])
        # a pyvenv.cfg above the root belongs to the host, not to the installed system
        write_file(os.path.join(self.tmp, "pyvenv.cfg"), b"version = 3.9.18\n")
        pycs, _, summary, _ = self.scan()
        by = {r["installed"]["path"]: r for r in pycs}
        for path, r in by.items():
            if path.startswith("/opt/app/"):
                self.assertEqual(r["status"], "foreign" if ".cpython-312." in path else "fresh")
            else:
                self.assertEqual(r["status"], "foreign" if ".cpython-311." in path else "fresh")
        self.assertEqual([(v["root"], v["target"]) for v in summary["venvs"]],
                         [(venv, "3.11")])
        # a PATH inside the environment finds its pyvenv.cfg above it, and none above the root
        pycs, _, summary, _ = self.scan("/opt/app/lib/python3.11/site-packages")
        self.assertEqual([(v["target"]) for v in summary["venvs"]], ["3.11"])
        self.assertTrue(pycs)
        os.remove(os.path.join(venv, "pyvenv.cfg"))
        _, _, summary, _ = self.scan("/opt/app/lib/python3.11/site-packages")
        self.assertEqual(summary["venvs"], [])

    def test_pycache_prefix_inside_the_root(self):
        src = "/" + SITE + "/pkg/core.py"
        code = ("import importlib.util, sys\n"
                "sys.pycache_prefix = '/var/cache/pyc'\n"
                "print(importlib.util.cache_from_source(sys.argv[1]))")
        cache = sh([PY312, "-c", code, src]).strip()
        self.assertTrue(cache.startswith("/var/cache/pyc/"), cache)
        sh([PY312, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], "
            "cfile=sys.argv[2], dfile=sys.argv[3], doraise=True)", self.root + src,
            self.root + cache, src])
        # the host has no /var/cache/pyc: the tree must be the root's
        for args in ([], ["/" + SITE]):
            pycs, errors, summary, _ = self.scan("--pycache-prefix", "/var/cache/pyc", *args)
            self.assertEqual(errors, [])
            self.assertEqual([(r["installed"]["path"], r["source"], r["status"], r["layout"])
                              for r in pycs], [(cache, src, "fresh", "prefix")], args)
            self.assertEqual(summary["pycache_prefix"], "/var/cache/pyc")
        with open(self.root + src, "ab") as f:
            f.write(b"# edited\n")
        pycs, _, _, _ = self.scan("--pycache-prefix", "/var/cache/pyc")
        self.assertEqual([r["status"] for r in pycs], ["stale"])
        os.remove(self.root + src)
        pycs, _, _, _ = self.scan("--pycache-prefix", "/var/cache/pyc")
        self.assertEqual([r["status"] for r in pycs], ["orphaned"])

    def test_text_output(self):
        p = run(["scan", "--root", self.root])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertIn("root: %s (paths, symlinks and interpreters resolved inside it)\n"
                      % self.root, out)
        self.assertIn("foreign    3.11     %s/%s/pkg/__pycache__/core.cpython-311.pyc: "
                      "interpreter is not a target\n" % (self.root, SITE), out)
        # clean --unused: the guessed targets are said to come from the root
        p = run(["clean", "--root", self.root, "--unused", "--dry-run"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"warning: the targets were found in the root (3.12)", p.stderr)
        # an archive inside the root: judged, but the root's interpreters are not its targets
        with zipfile.ZipFile(os.path.join(self.root, "opt.zip"), "w") as z:
            z.write(os.path.join(self.site, "pkg/__pycache__/core.cpython-311.pyc"),
                    "pkg/__pycache__/core.cpython-311.pyc")
        p = run(["scan", "--root", self.root, "/opt.zip"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"targets: 3.12 (from the root's interpreters; not applied to archives, "
                      b"use --target)\n", p.stdout)
        self.assertNotIn(b"foreign", p.stdout)


if __name__ == "__main__":
    main()
