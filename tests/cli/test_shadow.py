"""`scan` and `clean` on caches of modules shadowed by a package or an extension module, with the
Python that runs this test as the oracle for what an import does.

- A project where python3 wrote the caches of four modules, then a package or an extension module
  of the same name came beside three (a refactoring that turned util.py into util/, a compiled
  speedups extension left beside its speedups.py): `scan` says exactly those three are orphaned,
  with the shadow reasons, and the fourth fresh; the same when the PATH named is the
  __pycache__ itself, or the single cache file.
- `clean --orphaned` removes exactly those three caches (the dry run says the same), no source,
  no package, no extension module; an import of each module afterwards takes what it took
  before, and writes no cache of the shadowed ones again.  `clean --stale` leaves them.
- A directory beside the source without an __init__ (a namespace package) shadows nothing.
"""
import os
import subprocess
import sys

from clitest import TempDirCase, env_c, main, parse_clean_jsonl, run, scan_json, write_file

PY = sys.executable


def interp(args, cwd):
    """This Python, in an environment where it writes caches (no PYTHONDONTWRITEBYTECODE)."""
    env = {k: v for k, v in env_c().items() if not k.startswith("PYTHON")}
    return subprocess.run([PY, "-E", "-s"] + args, cwd=cwd, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=True)


class Shadowed(TempDirCase):
    def setUp(self):
        super().setUp()
        out = interp(["-c", "import sys, importlib.machinery as m; "
                            "print(sys.implementation.cache_tag, m.EXTENSION_SUFFIXES[0])"],
                     self.tmp).stdout.decode().split()
        self.tag, self.ext = out
        v = interp(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], self.tmp)
        self.target = v.stdout.decode().strip()
        self.proj = os.path.join(self.tmp, "proj")
        for m in ("util", "speedups", "plain", "nsdir"):
            write_file(os.path.join(self.proj, m + ".py"), b"WHERE = 'module'\n")
        interp(["-m", "compileall", "-q", "proj"], self.tmp)
        # then the refactoring: util/ is a package now; speedups is compiled; nsdir/ has no
        # __init__
        write_file(os.path.join(self.proj, "util", "__init__.py"), b"WHERE = 'package'\n")
        write_file(os.path.join(self.proj, "speedups" + self.ext), b"not an ELF file\n")
        write_file(os.path.join(self.proj, "nsdir", "data.txt"), b"x\n")
        self.cache = {m: os.path.join("proj", "__pycache__", "%s.%s.pyc" % (m, self.tag))
                      for m in ("util", "speedups", "plain", "nsdir")}

    def finder(self):
        """What the finder takes for each module, by module."""
        code = ("import sys, importlib.util as u, os; sys.path.insert(0, 'proj'); "
                "print(' '.join(os.path.relpath(u.find_spec(m).origin, 'proj') "
                "for m in ('util', 'speedups', 'plain', 'nsdir')))")
        return dict(zip(("util", "speedups", "plain", "nsdir"),
                        interp(["-c", code], self.tmp).stdout.decode().split()))

    def test_scan(self):
        took = self.finder()
        self.assertEqual(took, {"util": os.path.join("util", "__init__.py"),
                                "speedups": "speedups" + self.ext, "plain": "plain.py",
                                "nsdir": "nsdir.py"})
        for path in (self.proj, os.path.join(self.proj, "__pycache__")):
            pycs, _, _, _ = scan_json(["--all", "-t", self.target, path], cwd=self.tmp)
            got = {os.path.relpath(r["path"], self.tmp): (r["status"], r["reasons"])
                   for r in pycs}
            self.assertEqual(got[self.cache["util"]],
                             ("orphaned", ["shadowed by a package of the same name: never "
                                           "loaded"]))
            self.assertEqual(got[self.cache["speedups"]],
                             ("orphaned", ["shadowed by an extension module of the same name: "
                                           "never loaded"]))
            self.assertEqual(got[self.cache["plain"]], ("fresh", []))
            self.assertEqual(got[self.cache["nsdir"]], ("fresh", []))
        # a single cache named
        for m, status in (("util", "orphaned"), ("plain", "fresh")):
            pycs, _, _, _ = scan_json(["--all", "-t", self.target, self.cache[m]], cwd=self.tmp)
            self.assertEqual([r["status"] for r in pycs], [status])
        # the text output says it too
        p = run(["scan", "-t", self.target, "proj"], cwd=self.tmp)
        self.assertIn("%s: shadowed by a package of the same name: never loaded"
                      % self.cache["util"], p.stdout.decode())

    def test_clean(self):
        took = self.finder()
        p = run(["clean", "--stale", "-t", self.target, "--json", "proj"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        for m in self.cache:
            self.assertTrue(os.path.exists(os.path.join(self.tmp, self.cache[m])), m)
        for dry in (True, False):
            p = run(["clean", "--orphaned", "-t", self.target, "--json", "proj"]
                    + (["--dry-run"] if dry else []), cwd=self.tmp)
            self.assertEqual(p.returncode, 0, p.stderr)
            recs, _ = parse_clean_jsonl(p.stdout)
            acted = sorted(r["path"] for r in recs  # "proj/...": as given, from self.tmp
                           if r.get("action") in ("removed", "would-remove"))
            self.assertEqual(acted, sorted([self.cache["util"], self.cache["speedups"]]))
        for m in ("util", "speedups"):
            self.assertFalse(os.path.exists(os.path.join(self.tmp, self.cache[m])), m)
        for m in ("plain", "nsdir"):
            self.assertTrue(os.path.exists(os.path.join(self.tmp, self.cache[m])), m)
        for f in ("util.py", "speedups.py", os.path.join("util", "__init__.py"),
                  "speedups" + self.ext, "nsdir"):
            self.assertTrue(os.path.exists(os.path.join(self.proj, f)), f)
        # imports take what they took, and no cache of a shadowed module comes back
        self.assertEqual(self.finder(), took)
        interp(["-c", "import sys; sys.path.insert(0, 'proj'); import util, plain, nsdir; "
                      "assert util.WHERE == 'package'"], self.tmp)
        for m in ("util", "speedups"):
            self.assertFalse(os.path.exists(os.path.join(self.tmp, self.cache[m])), m)


if __name__ == "__main__":
    main()
