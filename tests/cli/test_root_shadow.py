"""What shadows a module inside a staging root (docs/packaging.md, docs/statuses.md): a package
directory or an extension module beside NAME.py that is a symlink resolves inside DIR, as the
installed system's finder follows it.

The oracle is the real CPython 3.12 running in DIR as its root: `unshare -rm` (a user and a mount
namespace), pyenv's interpreter and the host's C library bind-mounted into DIR at their own
paths, then `chroot DIR`; there importlib.util.find_spec says what the path finder takes (it
stats each candidate, following links: _path_isdir, _path_isfile).  The same question on the
host, from DIR's site-packages as a plain directory, is the oracle without --root.  The root
holds, beside m.py, n.py, e.py and p.py (each with the cache CPython 3.12 writes):

- m -> /usr/share/pycishadow/pkg, a package that exists in DIR and not on the host;
- n -> /usr/lib/python3.11/json, a package that exists on the host (Debian's python3.11) and
  not in DIR;
- e.cpython-312-x86_64-linux-gnu.so -> /usr/lib/pycishadow/e.so, a file only DIR has;
- p/, a package directory itself (no link: shadowed on either side).

`scan --root` must call orphaned ("shadowed by ...") exactly the caches whose module the
interpreter in DIR does not take from NAME.py, and `scan` without --root exactly those the host's
interpreter does not; `clean --root --orphaned` removes the former and keeps the others.
"""
import os
import subprocess

from clitest import TempDirCase, main, parse_clean_jsonl, run, scan_json, write_file
from test_root import PY312, SITE, check_prerequisites, interp_env, sh

PYHOME = os.path.dirname(os.path.dirname(os.path.realpath(PY312)))
EXT = "e.cpython-312-x86_64-linux-gnu.so"
FIND = ("import importlib.util, sys; sys.path.insert(0, sys.argv[1]); "
        "print(' '.join(importlib.util.find_spec(n).origin for n in sys.argv[2:]))")

# bind the interpreter and the C library into the root, then chroot into it (run under
# `unshare -rm`, so the mounts vanish with it and nothing on the host changes)
IN_ROOT = r"""
set -e
R=$1; shift
[ -e "$R/lib" ] || ln -s usr/lib "$R/lib"
[ -e "$R/lib64" ] || ln -s usr/lib64 "$R/lib64"
for d in "$PYHOME" /usr/lib/x86_64-linux-gnu /usr/lib64; do
  mkdir -p "$R$d"
  mount --bind "$d" "$R$d"
done
exec chroot "$R" "$@"
"""


class RootShadow(TempDirCase):
    def setUp(self):
        super().setUp()
        check_prerequisites(self)
        self.root = os.path.join(self.tmp, "destdir")
        self.site = os.path.join(self.root, SITE)
        for name in ("m", "n", "e", "p"):
            write_file(os.path.join(self.site, name + ".py"), b"X = 1\n")
        write_file(os.path.join(self.root, "usr/share/pycishadow/pkg/__init__.py"))
        write_file(os.path.join(self.root, "usr/lib/pycishadow/e.so"), b"\x7fELF")
        write_file(os.path.join(self.site, "p", "__init__.py"))
        os.symlink("/usr/share/pycishadow/pkg", os.path.join(self.site, "m"))
        os.symlink("/usr/lib/python3.11/json", os.path.join(self.site, "n"))
        os.symlink("/usr/lib/pycishadow/e.so", os.path.join(self.site, EXT))
        # the premises: each link's target is on one side only
        for path in ("/usr/share/pycishadow", "/usr/lib/pycishadow"):
            self.assertFalse(os.path.lexists(path), path)
        self.assertTrue(os.path.isfile("/usr/lib/python3.11/json/__init__.py"))
        self.assertFalse(os.path.lexists(os.path.join(self.root, "usr/lib/python3.11")))
        sh([PY312, "-m", "compileall", "-q", self.site])

    def finder(self, in_root):
        """{module: True when the finder takes something other than NAME.py}."""
        args = [PY312, "-c", FIND, "/" + SITE if in_root else self.site, "m", "n", "e", "p"]
        if in_root:
            env = dict(interp_env(), PYHOME=PYHOME)
            p = subprocess.run(["unshare", "-rm", "sh", "-c", IN_ROOT, "sh", self.root] + args,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            if p.returncode != 0:
                self.fail("cannot run CPython chrooted in the root (unshare -rm, a user "
                          "namespace): %s" % p.stderr.decode(errors="replace"))
            out = p.stdout.decode()
        else:
            out = sh(args)
        origins = out.split()
        self.assertEqual(len(origins), 4, out)
        return {n: not o.endswith("/%s.py" % n) for n, o in zip("mnep", origins)}

    def shadowed(self, pycs):
        out = {}
        for r in pycs:
            name = os.path.basename(r["path"]).split(".")[0]
            if name == "__init__":
                continue  # p's own
            out[name] = r["status"] == "orphaned" and any("shadowed" in x for x in r["reasons"])
        return out

    def test_links_resolve_as_the_installed_system_resolves_them(self):
        in_root, on_host = self.finder(True), self.finder(False)
        # the oracle itself differs by side, so that the test can fail
        self.assertEqual(in_root, {"m": True, "n": False, "e": True, "p": True})
        self.assertEqual(on_host, {"m": False, "n": True, "e": False, "p": True})
        pycs, errors, _, _ = scan_json(["-t", "3.12", "--root", self.root, "/" + SITE])
        self.assertEqual(errors, [])
        self.assertEqual(self.shadowed(pycs), in_root)
        pycs, _, _, _ = scan_json(["-t", "3.12", self.site])
        self.assertEqual(self.shadowed(pycs), on_host)
        # a file list under --root judges them alike
        lst = "".join("/%s/%s.py\n" % (SITE, n) for n in "mnep").encode()
        pycs, _, _, _ = scan_json(["-t", "3.12", "--root", self.root, "--files-from", "-"],
                                  input=lst)
        self.assertEqual(self.shadowed(pycs), in_root)

    def test_clean_removes_what_the_root_shadows(self):
        p = run(["clean", "-t", "3.12", "--root", self.root, "--orphaned", "--json",
                 "/" + SITE])
        self.assertEqual(p.returncode, 0, p.stderr)
        records, _ = parse_clean_jsonl(p.stdout)
        removed = sorted(os.path.basename(r["path"]) for r in records
                         if r["type"] == "pyc" and r["action"] == "removed")
        self.assertEqual(removed, ["e.cpython-312.pyc", "m.cpython-312.pyc",
                                   "p.cpython-312.pyc"])
        self.assertTrue(os.path.isfile(os.path.join(self.site, "__pycache__",
                                                    "n.cpython-312.pyc")))


if __name__ == "__main__":
    main()
