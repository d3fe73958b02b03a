#!/usr/bin/env python3
"""Conformance test: a module shadowed by a package or an extension module, decided by real finders.

A module's source NAME.py, and every cache of it, is never loaded when the interpreter's path
finder takes something else first: the package NAME/ (a directory with an __init__ of one of
its suffixes), or an extension module NAME + one of its extension suffixes.  pycinspect calls
such a cache orphaned, with the reason "shadowed by a package ..." or "shadowed by an extension
module ...".  Here every interpreter py finds (pyenv's 2.7 and 3.6-3.13, Debian's
python3, PyPy, Pyodide's 3.14 and 3.15) is the oracle:

  for each case, a directory holding m.py, a cache of it the interpreter writes itself
  (__pycache__/m.TAG.pyc; for 2.7 the legacy m.pyc; for the "legacy" cases a sourceless m.pyc
  as `compileall -b` writes it), and beside them what might shadow it: a package m/ with an
  __init__ of every suffix the interpreter has, a directory m/ without one (a namespace
  package, which does not shadow), an __init__.py that is a directory or a dangling symlink, a
  symlink m -> a package, a file m + each of the interpreter's own extension suffixes (as a
  regular file, a directory, a symlink, a dangling symlink), and m + the suffixes of other
  versions, other builds (debug "d", free-threaded "t"), another platform, ".so",
  "module.so", ".abi3.so", ".abi3t.so";

  the interpreter's own finder says what it takes: importlib.machinery.PathFinder.find_spec
  ("m", [dir]).origin, imp.find_module for 2.7 (a file it opens that is no module, an
  IOError, still names what it took).  The cache can be read only when that is m.py (or, for
  a sourceless m.pyc, m.pyc itself; 2.7 reads m.pyc as m.py's cache);

  `pycinspect scan --json --all --target VERSION` must agree: a "shadowed" reason and status
  orphaned exactly when the finder took something else, a package reason for a package, an
  extension reason for a file.  Nothing is loaded, so the files beside m.py need not be real
  extension modules.

pycinspect judges extension suffixes as the interpreter of the cache's version built for this
machine would (its platform triplet).  Pyodide's suffixes name the wasm32-emscripten platform
instead: the cases whose suffix names it are left out for a Pyodide interpreter, and logged
(and none has the native triplet's suffix of its own version, which Pyodide ignores).

Environment and options as py (PYCI_BIN, PYENV_ROOT, PYCI_PYODIDE_DIRS,
PYCI_PYODIDE_ROOT, PYCI_REQUIRE_PYODIDE=1; --only, --keep, -v).  Output: one line per failed
case, then exactly "N passed, M failed".  Exit 0 iff M == 0.  Standard library only.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the import below
from conformance import (TIMEOUT, clean_env, discover, marker_line,  # noqa: E402
                         missing_pyodide, pyci_binary, run, run_runners, runner_args)

# Child script, for every interpreter (2.7 included).  argv[1]: a JSON file of cases
# [dir, kind, keep_source]; compiles m.py in each (kind "pycache": the interpreter's own
# cache; "legacy": m.pyc beside it), removes m.py when not kept, then asks the finder.
CHILD = r"""
import sys, json, os, py_compile
cases = json.load(open(sys.argv[1]))
for d, kind, keep in cases:
    src = os.path.join(d, "m.py")
    if kind == "legacy" and sys.version_info[0] >= 3:
        py_compile.compile(src, cfile=os.path.join(d, "m.pyc"), doraise=True)
    else:
        py_compile.compile(src, doraise=True)
    if not keep:
        os.unlink(src)
try:
    import importlib.machinery
    def origin(d):
        spec = importlib.machinery.PathFinder.find_spec("m", [d])
        if spec is None:
            return None
        return spec.origin if spec.origin not in (None, "namespace") else d + "/m/"
except ImportError:
    import imp
    def origin(d):
        try:
            f, path, desc = imp.find_module("m", [d])
        except IOError as e:  # fopen took it, then it was no module (a directory m.so)
            return e.filename
        except ImportError:
            return None
        if f:
            f.close()
        return path + "/" if desc[2] == imp.PKG_DIRECTORY else path
out = {}
for d, kind, keep in cases:
    o = origin(d)
    out[d] = None if o is None else os.path.normpath(os.path.join(d, o)) + ("/" if o.endswith("/") else "")
try:
    import importlib.machinery as m
    ext = list(m.EXTENSION_SUFFIXES)
    byte = m.BYTECODE_SUFFIXES[0]
except ImportError:
    import imp
    ext = [s for s, mode, t in imp.get_suffixes() if t == imp.C_EXTENSION]
    byte = ".pyc"
import sysconfig
sys.stdout.write("@@RESULT@@" + json.dumps({"origin": out, "ext": ext, "byte": byte,
    "multiarch": sysconfig.get_config_var("MULTIARCH") or ""}) + "\n")
"""

# The same script with no cases: the interpreter's suffixes and platform only.
SUFFIXES_ONLY = CHILD.replace("cases = json.load(open(sys.argv[1]))", "cases = []")


def child(it, args, cwd):
    r = run(it.cmd + ["-E", "-s", "-c"] + args, cwd=cwd)
    line = marker_line(r.stdout.decode("utf-8", "replace"), "@@RESULT@@")
    if line is None:
        raise RuntimeError("%s failed (exit %d): %s" % (it.label, r.returncode,
                                                         r.stderr.decode("utf-8", "replace")[-2000:]))
    return json.loads(line)


class Case:
    """One directory: m.py, its cache, and what is beside them.  parts: (path, what) with what
    "file", "dir", or "->TARGET" (a symlink)."""

    def __init__(self, name, parts, kind="pycache", keep_source=True):
        self.name, self.parts, self.kind, self.keep_source = name, parts, kind, keep_source
        self.dir = None

    def build(self, root):
        self.dir = os.path.join(root, self.name)
        os.mkdir(self.dir)
        with open(os.path.join(self.dir, "m.py"), "w") as f:
            f.write("VALUE = 1\n")
        for path, what in self.parts:
            p = os.path.join(self.dir, path)
            if os.path.dirname(path):
                os.makedirs(os.path.dirname(p), exist_ok=True)
            if what == "dir":
                os.mkdir(p)
            elif what.startswith("->"):
                os.symlink(what[2:], p)
            else:
                with open(p, "w") as f:
                    f.write("not a real module\n")


def cases_for(it, ext, byte, native, other_platform):
    """Every case for interpreter it, whose extension suffixes are ext and bytecode suffix
    byte; native is the native interpreters' platform triplet."""
    cs = [
        Case("pkg_py", [("m/__init__.py", "file")]),
        Case("pkg_byte", [("m/__init__" + byte, "file")]),
        Case("pkg_link", [("real/__init__.py", "file"), ("m", "->real")]),
        Case("ns_dir", [("m/x.txt", "file")]),
        Case("ns_init_is_dir", [("m/__init__.py", "dir")]),
        Case("ns_init_dangling", [("m", "dir"), ("m/__init__.py", "->nowhere")]),
    ]
    for k, s in enumerate(ext):
        cs += [Case("pkg_ext%d" % k, [("m/__init__" + s, "file")]),
               Case("ext%d_file" % k, [("m" + s, "file")]),
               Case("ext%d_dir" % k, [("m" + s, "dir")]),
               Case("ext%d_link" % k, [("real.bin", "file"), ("m" + s, "->real.bin")]),
               Case("ext%d_dangling" % k, [("m" + s, "->nowhere")])]
    # suffixes of other versions, builds and platforms, and the bare ones
    mm = "%d%d" % (it.major, it.minor)
    other = "%d%d" % (it.major, it.minor - 1 if it.minor > 0 else it.minor + 1)
    more = {".so", "module.so", ".abi3.so", ".abi3t.so",
            ".cpython-%s-%s.so" % (other, native), ".cpython-%sm-%s.so" % (other, native),
            ".cpython-%sd-%s.so" % (mm, native), ".cpython-%st-%s.so" % (mm, native),
            ".cpython-%s-%s.so" % (mm, other_platform), ".cpython-%sm.so" % mm,
            ".pypy%s-pp73-%s.so" % (other, native)}
    for k, s in enumerate(sorted(more - set(ext))):
        cs.append(Case("other%d" % k, [("m" + s, "file")]))
    if it.major >= 3:
        # a sourceless m.pyc (compileall -b), and one beside m.py, with what may shadow it
        first = ext[0] if ext else ".so"
        cs += [Case("legacy_pkg", [("m/__init__.py", "file")], "legacy", False),
               Case("legacy_ns", [("m", "dir")], "legacy", False),
               Case("legacy_ext", [("m" + first, "file")], "legacy", False),
               Case("legacy_src_pkg", [("m/__init__.py", "file")], "legacy", True)]
    else:
        cs += [Case("sourceless_pkg", [("m/__init__.py", "file")], "pycache", False),
               Case("sourceless_ns", [("m", "dir")], "pycache", False)]
    return cs


class Runner:
    def __init__(self, it, pyci, native, keep, verbose):
        self.it, self.pyci, self.native, self.keep, self.verbose = it, pyci, native, keep, verbose
        self.lines, self.passed, self.failed = [], 0, 0

    def note(self, msg):
        self.lines.append("%s: %s" % (self.it.label, msg))

    def fail(self, what, expected, got):
        self.failed += 1
        self.lines.append("FAIL %s [%s]: %s: expected %s, got %s"
                          % (self.it.label, self.it.path, what, expected, got))

    def cache_of(self, case):
        if case.kind == "legacy" or self.it.legacy:
            return os.path.join(case.dir, "m.pyc")
        return os.path.join(case.dir, "__pycache__", "m.%s.pyc" % self.it.tag)

    def usable(self, case, origin):
        """Whether the finder's choice lets the cache be read."""
        d = case.dir
        if case.kind == "legacy" and not case.keep_source:
            return origin == os.path.join(d, "m.pyc")
        if self.it.legacy and not case.keep_source:  # 2.7, sourceless m.pyc
            return origin == os.path.join(d, "m.pyc")
        return origin == os.path.join(d, "m.py")

    def main(self):
        it = self.it
        root = tempfile.mkdtemp(prefix="pyci-shadow-%s%d%d-" % (it.impl, it.major, it.minor))
        try:
            info = child(it, [SUFFIXES_ONLY], root)
            ext, byte, multiarch = info["ext"], info["byte"], info["multiarch"]
            other_platform = "aarch64-linux-gnu" if self.native != "aarch64-linux-gnu" \
                else "x86_64-linux-gnu"
            cases = cases_for(it, ext, byte, self.native, other_platform)
            if multiarch and multiarch != self.native:
                # pycinspect judges as this machine's build of the version would
                def foreign(c):
                    return [p for p, _ in c.parts if multiarch in p]
                left = [c for c in cases if foreign(c)]
                self.note("left out (suffixes of %s, not of this machine's %s build): %s"
                          % (multiarch, self.native,
                             ", ".join(sorted({p for c in left for p in foreign(c)}))))
                cases = [c for c in cases if c not in left]
            for c in cases:
                c.build(root)
            jf = os.path.join(root, "cases.json")
            with open(jf, "w") as f:
                json.dump([[c.dir, c.kind, c.keep_source] for c in cases], f)
            origins = child(it, [CHILD, jf], root)["origin"]
            os.unlink(jf)
            recs = self.scan(root)
            for c in cases:
                self.check(c, origins.get(c.dir), recs.get(self.cache_of(c)))
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
            self.fail("setup", "the run to complete", "%s: %s" % (type(e).__name__, e))
        finally:
            if self.keep:
                self.note("kept %s" % root)
            else:
                shutil.rmtree(root, ignore_errors=True)
        return self

    def scan(self, root):
        cmd = [self.pyci, "scan", "--json", "--all", "--target", self.it.target, root]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env(),
                           timeout=TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode,
                                                      r.stderr.decode("utf-8", "replace")))
        recs = {}
        for line in r.stdout.decode("utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("type") == "pyc":
                recs[os.path.normpath(rec["path"])] = rec
        return recs

    def check(self, c, origin, rec):
        what = "%s (%s)" % (c.name, ", ".join(p for p, _ in c.parts))
        if rec is None:
            self.fail(what, "a record for %s" % self.cache_of(c), "none")
            return
        if origin is None:
            self.fail(what, "the finder to find something", "nothing")
            return
        reasons = rec.get("reasons") or []
        pkg = any(r.startswith("shadowed by a package") for r in reasons)
        ext = any(r.startswith("shadowed by an extension module") for r in reasons)
        if self.usable(c, origin):
            want = "not shadowed, the finder took %s" % os.path.relpath(origin, c.dir)
            ok = not pkg and not ext and rec.get("status") in ("fresh", "sourceless", "stale")
        else:
            took_pkg = origin.startswith(os.path.join(c.dir, "m") + "/")
            want = "orphaned, shadowed by %s %s" % ("a package" if took_pkg else
                                                    "an extension module",
                                                    os.path.relpath(origin, c.dir))
            ok = rec.get("status") == "orphaned" and (pkg if took_pkg else ext) and not \
                (ext if took_pkg else pkg)
        if ok:
            self.passed += 1
        else:
            self.fail(what, want, "%s %s" % (rec.get("status"), reasons))
        if self.verbose:
            self.note("%s: finder %s, pycinspect %s %s" % (c.name, origin, rec.get("status"),
                                                          reasons))


def main():
    args = runner_args(__doc__)

    pyci = pyci_binary()
    if not pyci:
        return 1
    interps, pyodide_ok = discover(print)
    failed = missing_pyodide(pyodide_ok)
    if args.only:
        interps = [i for i in interps if i.target in set(args.only.split(","))]
    # the native interpreters' platform, which every one of them must share
    natives = {}
    for i in interps:
        if i.impl == "cpython" and not i.pyodide and not i.legacy:
            natives[i.label] = child(i, [SUFFIXES_ONLY], tempfile.gettempdir())["multiarch"]
    if len(set(natives.values())) != 1 or "" in natives.values():
        print("FAIL: the native interpreters do not name one platform triplet: %r" % natives)
        failed += 1
    if len(interps) < 2 or failed:
        if len(interps) < 2:
            print("FAIL: need at least two interpreters, found %d" % len(interps))
            failed += 1
        print("0 passed, %d failed" % failed)
        return 1
    native = next(iter(natives.values()))
    print("native platform triplet: %s" % native)
    passed, failed_runs = run_runners(
        interps, lambda i: Runner(i, pyci, native, args.keep, args.verbose))
    failed += failed_runs
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
