"""`--files-from` with `--root DIR` (docs/packaging.md, docs/inputs.md): a list's paths are
paths of the installed system, resolved inside DIR as PATHs are.

The staging root is test_root.py's: a package copied into DIR/usr/lib/python3.12/site-packages
and compiled there by the real CPython 3.12 and 3.11, a dummy DIR/usr/bin/python3.12.  The lists
are what packagers have: `find . -print0` and `find .` run inside DIR, and a `dpkg -L`-style
list of absolute installed paths (made with `find DIR -printf '/%P\\n'`, directories and all).
Checked against outside truth:

- each list gives exactly the records of the walk of DIR (the walk's verdicts, which
  test_root.py checks against CPython's own rewrites), byte for byte, and the walk's summary
  (its venvs too), with a virtual environment made by the real `python3.11 -m venv` inside
  DIR and a decoy pyvenv.cfg above DIR, and without;
- a source linked to /usr/lib/python3.11/os.py (the host has that file, with other contents)
  and one climbing out with twelve "..", both listed, are judged against DIR's file: fresh
  with --root, stale when the same files are listed by their host paths without it;
- a listed path climbing above DIR with ".." stays inside DIR, and a relative one is read from
  DIR's top even where the working directory holds a tree of the same shape;
- a listed path that does not resolve inside DIR is the error a missing listed path is without
  --root (same message and JSON, exit 2), and the other paths are still judged;
- clean --root --files-from removes exactly the caches the list names or brings, and nothing
  outside DIR (a decoy tree of the same shape beside it, at the relative paths listed);
- dump takes the same list.
The same runs without openat2 are test_fault_root.py's.
"""
import os
import subprocess

from clitest import (TempDirCase, main, parse_clean_jsonl, parse_jsonl, run, scan_json,
                     snapshot, snapshot_diff, write_file)
from test_root import PY311, SITE, check_prerequisites, linked_sources, sh, staging_root


def find_list(root, null):
    """`find . [-print0]` run inside root: its output, as bytes."""
    args = ["find", "."] + (["-print0"] if null else [])
    return subprocess.run(args, cwd=root, stdout=subprocess.PIPE, check=True).stdout


def dpkg_list(root):
    """What `dpkg -L` prints for a package built into root: every installed path, absolute,
    directories included ("/." first), one a line; no cache (Debian ships none)."""
    out = subprocess.run(["find", root, "-name", "__pycache__", "-prune", "-o", "-printf",
                          "/%P\\n"], stdout=subprocess.PIPE, check=True).stdout
    return b"/.\n" + b"".join(l + b"\n" for l in out.split(b"\n")[1:] if l)


def key(r):
    return (r["path"], r["installed"]["path"], r["source"], r["installed"]["source"],
            r["status"], tuple(r["reasons"]))


class RootFileList(TempDirCase):
    def setUp(self):
        super().setUp()
        check_prerequisites(self)
        self.root, self.site = staging_root(self.tmp)
        self.pkg = "/" + SITE + "/pkg"

    def listed(self, data, *args, null=False, expect_rc=0, cwd=None):
        return scan_json(["--root", self.root] + (["-0"] if null else []) +
                         ["--files-from", "-"] + list(args), input=data, cwd=cwd,
                         expect_rc=expect_rc)

    def assert_lists_give_the_walk(self):
        """Each list's JSON records are the walk's, byte for byte (sorted: a list comes a
        directory at a time in its own order), and so is its summary but for "listed" (the
        venvs sorted), and its stderr.  The walk's records and summary."""
        def lines(p, data):
            self.assertEqual(p.returncode, 0, (data[:40], p.stderr))
            pycs, errors, summary = parse_jsonl(p.stdout)
            self.assertEqual(errors, [])
            summary.pop("listed", None)
            summary["venvs"].sort(key=lambda v: v["config"])
            return sorted(p.stdout.split(b"\n")[:-2]), summary, p.stderr
        wp = run(["scan", "--json", "--root", self.root])
        walked = lines(wp, b"(the walk)")
        for data, null in ((find_list(self.root, True), True),
                           (find_list(self.root, False), False),
                           (dpkg_list(self.root), False)):
            p = run(["scan", "--json", "--root", self.root] + (["-0"] if null else []) +
                    ["--files-from", "-"], input=data)
            got = lines(p, data)
            self.assertEqual(got[0], walked[0], data[:40])
            self.assertEqual(got[1:], walked[1:], data[:40])
        return parse_jsonl(wp.stdout)[0], walked[1]

    def test_lists_give_the_walk(self):
        inside, caches = linked_sources(self.root, self.site)
        walk, wsum = self.assert_lists_give_the_walk()
        self.assertEqual(len(walk), 8)
        # usr/bin/python3.12, and linked_sources' usr/lib/python3.11/os.py (a library)
        self.assertEqual((wsum["venvs"], wsum["targets"], wsum["root"]),
                         ([], ["3.11", "3.12"], self.root))
        # the dpkg list names only sources (pkg's five, the root's os.py): they bring the caches
        _, _, summary, _ = self.listed(dpkg_list(self.root))
        self.assertEqual(summary["listed"]["caches"], 0)
        self.assertEqual(summary["listed"]["sources"], 6)  # and the root's os.py
        by = {r["installed"]["path"]: r["status"] for r in walk}
        self.assertEqual([by[c] for c in caches], ["fresh", "fresh"])

    def test_lists_give_the_walk_in_a_virtual_environment(self):
        """A 3.11 environment inside DIR holding the package with its 3.12 and 3.11 caches:
        listed, its caches get 3.11 as the target, as walked (the 3.12 ones foreign, the
        others fresh), and the pyvenv.cfg above DIR (the host's) is never read."""
        venv = os.path.join(self.root, "opt/app")
        sh([PY311, "-m", "venv", "--without-pip", venv])
        vsite = os.path.join(venv, "lib/python3.11/site-packages")
        sh(["cp", "-a", os.path.join(self.site, "pkg"), vsite])
        write_file(os.path.join(self.tmp, "pyvenv.cfg"), b"version = 3.9.18\n")
        walk, wsum = self.assert_lists_give_the_walk()
        self.assertEqual([(v["root"], v["target"]) for v in wsum["venvs"]], [(venv, "3.11")])
        by = {r["installed"]["path"]: r["status"] for r in walk}
        self.assertEqual(len(by), 12)
        for path, status in by.items():
            tag = ".cpython-312." if path.startswith("/opt/app/") else ".cpython-311."
            self.assertEqual(status, "foreign" if tag in path else "fresh", path)

    def test_linked_sources_lead_to_the_root(self):
        inside, caches = linked_sources(self.root, self.site)
        names = [self.pkg + "/absolute.py", self.pkg + "/escape.py"]
        lst = "".join(n + "\n" for n in names).encode()
        pycs, errors, _, _ = self.listed(lst, "-t", "3.12")
        self.assertEqual(errors, [])
        self.assertEqual(sorted((r["installed"]["path"], r["status"]) for r in pycs),
                         [(c, "fresh") for c in caches])
        # the caches listed themselves: judged against the same file
        pycs, _, _, _ = self.listed("".join(c + "\n" for c in caches).encode(), "-t", "3.12")
        self.assertEqual([r["status"] for r in pycs], ["fresh", "fresh"])
        # on the host the links lead to the host's os.py: stale, so the test can fail
        host = "".join(self.root + n + "\n" for n in names).encode()
        pycs, _, _, _ = scan_json(["-t", "3.12", "--files-from", "-"], input=host)
        self.assertEqual(sorted((r["path"], r["status"]) for r in pycs),
                         [(self.root + c, "stale") for c in caches])

    def test_climbing_and_relative_paths_stay_inside(self):
        core = self.pkg + "/core.py"
        want, _, _, _ = self.listed((core + "\n").encode())
        self.assertEqual(len(want), 2)
        # a decoy of the same shape in the working directory, and above the root
        decoy = os.path.join(self.tmp, SITE, "pkg")
        write_file(os.path.join(decoy, "core.py"), b"DECOY = 1\n")
        write_file(os.path.join(decoy, "__pycache__", "core.cpython-312.pyc"), b"junk")
        for spelled in ("/../../.." + core, core.lstrip("/"), "./" + core.lstrip("/"),
                        "../" * 9 + core.lstrip("/"), "/usr/../usr/lib/./python3.12//site-packages/pkg/core.py"):
            pycs, errors, _, _ = self.listed((spelled + "\n").encode(), cwd=self.tmp)
            self.assertEqual(errors, [])
            self.assertEqual(sorted(map(key, pycs)), sorted(map(key, want)), spelled)
        # an absolute symlinked directory on the way resolves inside the root too
        os.symlink("/usr/lib/python3.12", os.path.join(self.root, "usr/lib/python3"))
        pycs, _, _, _ = self.listed(b"/usr/lib/python3/site-packages/pkg/core.py\n")
        self.assertEqual(sorted(map(key, pycs)), sorted(map(key, want)))

    def test_a_path_that_does_not_resolve_is_a_listed_error(self):
        # without --root: the error of a missing listed path
        lst = b"nowhere/x.py\n"
        _, herrors, _, hp = scan_json(["--files-from", "-"], input=lst, cwd=self.tmp,
                                      expect_rc=2)
        self.assertEqual(len(herrors), 1)
        core = self.pkg + "/core.py"
        lst = ("/usr/lib/nowhere/x.py\n%s\n%s/__pycache__/gone.cpython-312.pyc\n"
               % (core, self.pkg)).encode()
        pycs, errors, summary, p = self.listed(lst, expect_rc=2)
        self.assertEqual(len(pycs), 2)  # core.py's caches are still judged
        self.assertEqual([(e["path"], e["message"], e["errno"]) for e in errors],
                         [("/usr/lib/nowhere/x.py", herrors[0]["message"], 2),
                          (self.pkg + "/__pycache__/gone.cpython-312.pyc",
                           herrors[0]["message"], 2)])
        self.assertEqual(summary["listed"]["missing"], 2)
        self.assertIn(b"pycinspect: cannot judge listed path '/usr/lib/nowhere/x.py': "
                      b"No such file or directory\n", p.stderr)
        self.assertIn(hp.stderr.split(b"'")[0], p.stderr)
        # a symlink inside the root whose target is only on the host does not resolve
        os.symlink(self.tmp, os.path.join(self.root, "usr", "host"))
        write_file(os.path.join(self.tmp, "m.py"))
        _, errors, _, _ = self.listed(b"/usr/host/m.py\n", expect_rc=2)
        self.assertEqual([e["errno"] for e in errors], [2])
        # a file on the way: ENOTDIR, as for a missing listed path's directory
        _, errors, _, _ = self.listed(("%s/core.py/x.py\n" % self.pkg).encode(), expect_rc=2)
        self.assertEqual([e["errno"] for e in errors], [20])

    def test_clean_removes_exactly_what_is_listed_inside_the_root(self):
        decoy = os.path.join(self.tmp, SITE, "pkg")
        write_file(os.path.join(decoy, "core.py"), b"VALUE = 1\n")
        write_file(os.path.join(decoy, "__pycache__", "core.cpython-312.pyc"), b"junk")
        write_file(os.path.join(decoy, "__pycache__", "util.cpython-311.pyc"), b"junk")
        lst = (SITE + "/pkg/core.py\n/" + SITE + "/pkg/__pycache__/util.cpython-311.pyc\n"
               + "/../" + SITE + "/pkg/core.py\n").encode()
        before = snapshot(self.tmp)
        p = run(["clean", "--root", self.root, "--all", "--json", "--files-from", "-"],
                input=lst, cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        records, summary = parse_clean_jsonl(p.stdout)
        removed, added, changed = snapshot_diff(before, snapshot(self.tmp), dir_mtimes=False)
        pc = os.path.relpath(os.path.join(self.site, "pkg", "__pycache__"), self.tmp)
        want = sorted(os.fsencode(os.path.join(pc, n)) for n in
                      ("core.cpython-312.pyc", "core.cpython-311.pyc", "util.cpython-311.pyc"))
        self.assertEqual((removed, added, changed), (want, [], []))
        self.assertEqual(sorted(r["installed"]["path"] for r in records
                                if r["type"] == "pyc" and r["action"] == "removed"),
                         sorted("/" + os.fsdecode(w)[len("destdir/"):] for w in want))
        self.assertEqual(summary["root"], self.root)

    def test_dump_and_refusals(self):
        core = (self.pkg + "/core.py\n").encode()
        p = run(["dump", "--json", "--root", self.root, "--files-from", "-"], input=core)
        self.assertEqual(p.returncode, 0, p.stderr)
        paths = sorted(l.split(b'"path":"')[1].split(b'"')[0] for l in p.stdout.split(b"\n")
                       if l.startswith(b'{"type":"dump"'))
        self.assertEqual(paths, sorted(os.fsencode(self.site + "/pkg/__pycache__/core." + t +
                                                   ".pyc") for t in ("cpython-311",
                                                                     "cpython-312")))
        p = run(["scan", "--root", self.root, "--files-from", "-", "--pycache-prefix", "/var/c"],
                input=core)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--root, --files-from and --pycache-prefix: not done", p.stderr)
        p = run(["scan", "--root", self.root, "--files-from", "-", "/usr"], input=core)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--files-from judges the paths it lists, and no PATH", p.stderr)


if __name__ == "__main__":
    main()
