#!/usr/bin/env python3
"""Conformance test for PYTHONPYCACHEPREFIX trees: real interpreters decide, as for __pycache__.

For every interpreter py finds that has sys.pycache_prefix (CPython and PyPy 3.8+,
and 3.14/3.15 through Pyodide, which passes the environment to CPython's startup), with
PYTHONPYCACHEPREFIX=PREFIX in its environment:
  1. the interpreter writes the caches: it imports modules of a source tree by an absolute
     sys.path entry, one module with -O (a .opt-1 cache), two by the relative entry
     "./up/../rel" (3.8-3.11 keep "./", 3.12+ drop it; the kernel resolves "up/.." in the
     tree), and py_compile writes a checked-hash and an unchecked-hash cache; no __pycache__
     may appear beside the sources;
  2. the sources are changed: touched, edited keeping size and mtime, edited to another size,
     deleted, hash-based ones edited;
  3. `pycinspect scan --json --all --pycache-prefix PREFIX` judges the whole tree, and
     `... --pycache-prefix PREFIX SRC` each source tree as spelled (the same records);
  4. the interpreter imports every module again with -v, and what it does is the verdict:
     a cache it rewrote must be stale or invalid; one it loaded ("code object from" the
     cache, in the -v trace) and left must be fresh, or stale with "still runs" for an
     unchecked-hash cache whose source changed; a cache whose source is gone must be
     orphaned, and its import must fail.  Each case also says what it is built to be, so that
     an interpreter that did not do what the case meant fails it rather than passing quietly.
  5. the tree is judged again: every cache the interpreter just wrote is fresh.
Every record must have layout "prefix" and name its source by the absolute path CPython's
source_from_cache gives.

Environment and options as py (PYCI_BIN required; PYCI_REQUIRE_PYODIDE=1;
--only 3.13,pypy3.9; --keep; -v).  Output: one line per failed case, then exactly
"N passed, M failed".  Exit 0 iff M == 0.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from conformance import (clean_env, discover, marker_line, missing_pyodide,  # noqa: E402
                         pyci_binary, run_runners, runner_args)

TIMEOUT = 300
BASE = 1600000000           # every source's mtime, whole seconds (Pyodide reads milliseconds)
OLD_PYC_NS = 1000000000 * 10**9  # each cache's own mtime before the imports, to see rewrites

TEMPLATE = 'VALUE = "{value}"\n'

# name: (sys.path entry: "abs", "rel" or "opt" (-O), how it is made, mutation, built to be)
CASES = {
    "m_none": ("abs", "import", "none", "fresh"),
    "m_touch": ("abs", "import", "touch", "stale"),
    "m_same": ("abs", "import", "same_size", "fresh"),   # and the old code runs
    "m_size": ("abs", "import", "other_size", "stale"),
    "m_del": ("abs", "import", "delete", "orphaned"),
    "m_ch": ("abs", "CHECKED_HASH", "same_size", "stale"),
    "m_uh": ("abs", "UNCHECKED_HASH", "same_size", "stale"),  # still runs
    "pkg.m_sub": ("abs", "import", "none", "fresh"),
    "m_opt": ("opt", "import", "touch", "stale"),
    "m_optnone": ("opt", "import", "none", "fresh"),
    "m_rel": ("rel", "import", "none", "fresh"),
    "m_reltouch": ("rel", "import", "touch", "stale"),
}
REL_ENTRY = "./up/../rel"

BUILD = r"""
import sys, json, py_compile
entry, names, hashed = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path.insert(0, entry)
for src, mode in hashed:
    py_compile.compile(src, doraise=True,
                       invalidation_mode=getattr(py_compile.PycInvalidationMode, mode))
for n in names.split(","):
    if n:
        __import__(n)
sys.stdout.write("@@BUILT@@%s\n" % json.dumps(sys.pycache_prefix))
"""

IMPORT = r"""
import sys, json, importlib
sys.path.insert(0, sys.argv[1])
out = {}
for name in sys.argv[2].split(","):
    try:
        m = importlib.import_module(name)
        out[name] = {"ok": True, "value": getattr(m, "VALUE", None)}
    except BaseException as e:
        out[name] = {"ok": False, "exc": type(e).__name__, "msg": str(e)[:300]}
sys.stdout.write("@@RESULT@@" + json.dumps(out) + "\n")
"""


def snap(path):
    try:
        st = os.lstat(path)
        with open(path, "rb") as f:
            return (st.st_ino, st.st_mtime_ns, st.st_size, f.read())
    except FileNotFoundError:
        return None


class Runner:
    def __init__(self, it, pyci, keep, verbose):
        self.it, self.pyci, self.keep, self.verbose = it, pyci, keep, verbose
        self.lines, self.passed, self.failed = [], 0, 0

    def fail(self, what, expected, got):
        self.failed += 1
        self.lines.append("FAIL %s [%s]: %s: expected %s, got %s"
                          % (self.it.label, self.it.path, what, expected, got))

    def check(self, what, expected, got):
        if expected == got:
            self.passed += 1
        else:
            self.fail(what, expected, got)

    def env(self):
        env = clean_env()
        env["PYTHONPYCACHEPREFIX"] = self.prefix
        return env

    def py(self, args, cwd):
        r = subprocess.run(self.it.cmd + ["-s"] + args, cwd=cwd, env=self.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
        return r, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")

    # -- the tree -----------------------------------------------------------------------------

    def entry(self, kind):
        return REL_ENTRY if kind == "rel" else self.src

    def source(self, name):
        kind = CASES[name][0]
        d = os.path.join(self.root, "rel") if kind == "rel" else self.src
        return os.path.join(d, *name.split(".")) + ".py"

    def cache(self, name):
        """Where CPython puts the cache of name (prefix.h's rule, which test_prefix.py checks
        against importlib.util.cache_from_source): PREFIX + the source's absolute path."""
        src = self.source(name)
        opt = ".opt-1" if CASES[name][0] == "opt" else ""
        return self.prefix + os.path.join(os.path.dirname(src), "%s.%s%s.pyc" % (
            os.path.basename(src)[:-3], self.it.tag, opt))

    def build(self):
        os.makedirs(os.path.join(self.src, "pkg"))
        os.makedirs(os.path.join(self.root, "rel"))
        os.makedirs(os.path.join(self.root, "up"))
        with open(os.path.join(self.src, "pkg", "__init__.py"), "w"):
            pass
        for name in CASES:
            with open(self.source(name), "w") as f:
                f.write(TEMPLATE.format(value="v1"))
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                os.utime(os.path.join(dirpath, f), (BASE, BASE))
        for kind, flags, cwd in (("abs", [], self.root), ("opt", ["-O"], self.root),
                                 ("rel", [], self.root)):
            names = [n for n, c in CASES.items() if c[0] == kind and c[1] == "import"]
            hashed = [(self.source(n), c[1]) for n, c in CASES.items()
                      if c[0] == kind and c[1] != "import"]
            r, out, err = self.py(flags + ["-c", BUILD, self.entry(kind), ",".join(names),
                                           json.dumps(hashed)], cwd)
            line = marker_line(out, "@@BUILT@@")
            if line is None:
                raise RuntimeError("building the caches failed (exit %d): %s"
                                   % (r.returncode, err[-2000:]))
            self.check("sys.pycache_prefix under PYTHONPYCACHEPREFIX", self.prefix,
                       json.loads(line))
        for name in CASES:
            self.check("%s: a cache where cache_from_source puts it" % name, True,
                       os.path.isfile(self.cache(name)))
        strays = [os.path.join(d, x) for d, dirs, _ in os.walk(self.root)
                  for x in dirs if x == "__pycache__" and not d.startswith(self.prefix)]
        self.check("no __pycache__ beside the sources", [], strays)

    @staticmethod
    def value(name):
        """VALUE in the source on disk after the mutations."""
        return {"same_size": "v2", "other_size": "v2-longer"}.get(CASES[name][2], "v1")

    def mutate(self):
        for name, (_, _, mut, _) in CASES.items():
            src = self.source(name)
            if mut == "touch":
                os.utime(src, (BASE + 100, BASE + 100))
            elif mut in ("same_size", "other_size"):
                with open(src, "w") as f:
                    f.write(TEMPLATE.format(value=self.value(name)))
                os.utime(src, (BASE, BASE))
            elif mut == "delete":
                os.unlink(src)

    # -- judging ------------------------------------------------------------------------------

    def scan(self, paths=(), cwd=None):
        cmd = [self.pyci, "scan", "--json", "--all", "--target", self.it.target,
               "--pycache-prefix", self.prefix] + list(paths)
        r = subprocess.run(cmd, cwd=cwd or self.root, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, env=clean_env(), timeout=TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode,
                                                      r.stderr.decode("utf-8", "replace")))
        recs = {}
        for line in r.stdout.decode("utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("type") == "pyc":
                recs[rec["path"]] = rec
        return recs

    def import_all(self):
        """{name: (result, loaded from its cache)} after importing everything again."""
        out = {}
        for kind, flags in (("abs", []), ("opt", ["-O"]), ("rel", [])):
            names = [n for n, c in CASES.items() if c[0] == kind]
            r, stdout, trace = self.py(flags + ["-v", "-c", IMPORT, self.entry(kind),
                                                ",".join(names)], self.root)
            line = marker_line(stdout, "@@RESULT@@")
            if line is None:
                raise RuntimeError("import run failed (exit %d): %s"
                                   % (r.returncode, trace[-2000:]))
            res = json.loads(line)
            # "# code object from '<cache>'": the cache path as the interpreter spells it
            # ("./up/../rel" and all), which the kernel resolves as normpath does here
            used = {os.path.normpath(t.split("code object from ", 1)[1].strip().strip("'"))
                    for t in trace.splitlines() if "code object from " in t}
            for n in names:
                out[n] = (res.get(n, {"ok": False, "exc": "missing"}), self.cache(n) in used)
        return out

    def expect(self, name, before, after, res, loaded):
        """What the interpreter's behaviour says the verdict was."""
        if before != after:
            return {"stale", "invalid"}, None, "rewritten"
        if not os.path.exists(self.source(name)):
            if res.get("ok") or res.get("exc") not in ("ModuleNotFoundError", "ImportError"):
                return {"orphaned"}, None, "no source, yet the import gave %r" % (res,)
            return {"orphaned"}, None, "no source, the import failed"
        if not res.get("ok"):
            return {"invalid"}, None, "the import failed: %r" % (res,)
        if not loaded:
            return {"stale", "invalid"}, None, "compiled from source, cache left"
        old_code = res.get("value") != self.value(name)
        if old_code and CASES[name][1] == "UNCHECKED_HASH":
            return {"stale"}, "still runs", "unchecked hash, old code run"
        return {"fresh"}, None, "loaded" + (" (old code)" if old_code else "")

    def judge_round(self, rnd):
        for name in CASES:
            path = self.cache(name)
            if os.path.exists(path):
                os.utime(path, ns=(OLD_PYC_NS, OLD_PYC_NS))
        recs = self.scan()
        # the same records when each source tree is named, as spelled
        for paths in ([self.src], [REL_ENTRY]):
            sub = self.scan(paths)
            self.check("round %d: scan --pycache-prefix %s gives the whole tree's records"
                       % (rnd, paths[0]), {p: recs.get(p) for p in sub}, sub)
        before = {n: snap(self.cache(n)) for n in CASES}
        results = self.import_all()
        for name in CASES:
            what = "round %d %s (%s)" % (rnd, name, CASES[name][2])
            rec = recs.get(self.cache(name))
            if before[name] is None:
                if rec is not None:
                    self.fail(what, "no record for a cache that is not there", rec)
                continue
            if rec is None:
                self.fail(what, "a record for %s" % self.cache(name), "none")
                continue
            res, loaded = results[name]
            statuses, reason, why = self.expect(name, before[name], snap(self.cache(name)),
                                                res, loaded)
            problems = []
            if rec["status"] not in statuses:
                problems.append(("status %s (%s)" % ("/".join(sorted(statuses)), why),
                                 "%s %s" % (rec["status"], rec["reasons"])))
            if (reason is not None) != any("still runs" in r for r in rec["reasons"]):
                problems.append(("%s \"still runs\" reason" % ("a" if reason else "no"),
                                 rec["reasons"]))
            built = CASES[name][3] if rnd == 1 else (
                "orphaned" if CASES[name][2] == "delete" else
                "stale" if CASES[name][1] == "UNCHECKED_HASH" else "fresh")
            if built not in statuses:
                problems.append(("the interpreter to treat it as %s" % built, why))
            facts = (rec["layout"], rec["source"], rec["version"], rec["foreign"])
            want = ("prefix", self.source(name), self.it.target, False)
            if facts != want:
                problems.append(("layout, source, version, foreign %r" % (want,), facts))
            if problems:
                self.fail(what, "; ".join(p[0] for p in problems),
                          "; ".join(str(p[1]) for p in problems))
            else:
                self.passed += 1
            if self.verbose:
                self.lines.append("%s: %s: %s, import %r from cache %s" % (
                    self.it.label, what, rec["status"], res, loaded))

    def main(self):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="pyci-prefix-%s%d%d-" % (
            self.it.impl, self.it.major, self.it.minor)))
        self.prefix = os.path.join(self.root, "pyc")
        self.src = os.path.join(self.root, "src")
        try:
            self.build()
            self.mutate()
            self.judge_round(1)
            self.judge_round(2)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
            self.fail("setup", "the run to complete", "%s: %s" % (type(e).__name__, e))
        finally:
            if self.keep:
                self.lines.append("%s: kept %s" % (self.it.label, self.root))
            else:
                shutil.rmtree(self.root, ignore_errors=True)
        return self


def main():
    args = runner_args(__doc__)
    pyci = pyci_binary()
    if not pyci:
        return 1
    interps, pyodide_ok = discover(print)
    # sys.pycache_prefix is 3.8's (PyPy: of the language version it implements)
    for i in interps:
        if (i.major, i.minor) < (3, 8):
            print("not tested: %s (no PYTHONPYCACHEPREFIX before 3.8)" % i.label)
    interps = [i for i in interps if (i.major, i.minor) >= (3, 8)]
    setup_failed = missing_pyodide(pyodide_ok)
    if len(interps) < 2:
        print("FAIL: need at least two interpreters of 3.8 or later, found %d" % len(interps))
        setup_failed += 1
    if setup_failed:
        print("0 passed, %d failed" % setup_failed)
        return 1
    if args.only:
        interps = [i for i in interps if i.target in set(args.only.split(","))]
    for i in interps:
        print("interpreter: %-16s target %-8s %s" % (i.label, i.target, i.path))
    passed, failed = run_runners(
        interps, lambda i: Runner(i, pyci, args.keep, args.verbose))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
