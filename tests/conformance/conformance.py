#!/usr/bin/env python3
"""Conformance test: real interpreters are the oracle for pycinspect's verdicts.

For every interpreter found (pyenv versions and python2.X/python3.X/pypy3.X on PATH, and the
Pyodide releases below), build
trees of modules in a temporary directory, compile them in every invalidation mode and
optimisation level the interpreter has, damage or age them in many ways, ask
`pycinspect scan --json --all --target VERSION --check-source MODE`, and then let the
interpreter itself import every module (with -O/-OO and --check-hash-based-pycs MODE) and
watch what it does with each cache file:

  rewritten by the import                       -> pycinspect must say stale or invalid
  loaded from the cache, not rewritten          -> fresh; except an unchecked-hash cache whose
                                                   source changed under "default": stale, with
                                                   a reason containing "still runs"
  __pycache__ entry, source deleted             -> orphaned, and the import fails
  legacy NAME.pyc, source deleted, imported     -> sourceless
  import fails while the cache stays            -> invalid (the cache breaks the import)
  source recompiled but cache left as it is     -> stale or invalid

Whether the code came from the cache is read from the interpreter's own -v trace ("code object
from <pyc>" in Python 3, "precompiled from <pyc>" in Python 2); whether the cache was rewritten
is seen by comparing its bytes, inode and mtime (reset to an old value before each import).
Every tree is judged twice: as built, and again after the first round of imports rewrote
what the interpreter did not accept (a cache an interpreter has just written must be fresh,
unless that interpreter rewrites it on every import).

Also checked: "version", "implementation" and "magic" equal the interpreter's own
MAGIC_NUMBER for every cache that carries it, and "mode" is what the header / compile says.

CPython versions no package on the machine provides (3.14, 3.15) come from Pyodide: CPython
compiled to WebAssembly, from npm, run by Node.js through tools/pyodide-python, which gives it
CPython's command line (the options are parsed by the interpreter's own startup, so -O/-OO,
-v and --check-hash-based-pycs are real) and the host's files at their own paths.  The
versions are listed in tools/pyodide-versions and installed by tools/install-pyodide.sh.  It
sees file times through Emscripten's NODEFS, in rounded milliseconds and wrong before 1970, so
the cases about those (PYODIDE_SKIP) are left out for Pyodide only, and logged; everything else
runs as for a native interpreter.  A native interpreter of the same version takes precedence.
Each Pyodide start costs 2-3 s of CPU, which makes them the slowest runs: they start first.

Environment: PYCI_BIN (required) is the pycinspect binary; PYENV_ROOT as pyenv uses it.
PYCI_PYODIDE_DIRS (os.pathsep-separated Pyodide installs) replaces the default search,
${PYCI_PYODIDE_ROOT:-${XDG_CACHE_HOME:-~/.cache}/pycinspect/pyodide}/*/node_modules/pyodide.
PYCI_REQUIRE_PYODIDE=1 (.ci/run sets it) fails the test unless every version in
tools/pyodide-versions is installed and runs; without it a missing one is only logged.
Options: --keep (leave the temporary trees), --only 3.13,2.7,pypy3.9 (restrict), -v.
Output: one line per failed case, then exactly "N passed, M failed".  Exit 0 iff M == 0.
Standard library only.
"""

import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

TIMEOUT = 300
TOOLS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                     "tools")
PYODIDE_PYTHON = os.path.join(TOOLS, "pyodide-python")

# ------------------------------------------------------------------------------------------
# Child scripts.  They run under every interpreter, 2.7 included: keep them 2.7-compatible.

PROBE = r"""
import sys, json, binascii, sysconfig
impl = getattr(getattr(sys, "implementation", None), "name", None)
tag = getattr(getattr(sys, "implementation", None), "cache_tag", None)
try:
    import importlib.util
    magic = importlib.util.MAGIC_NUMBER
except (ImportError, AttributeError):
    import imp
    magic = imp.get_magic()
if impl is None:
    import platform
    impl = platform.python_implementation().lower()
sys.stdout.write("@@PROBE@@" + json.dumps({
    "impl": impl, "version": list(sys.version_info[:3]), "tag": tag,
    "magic": binascii.hexlify(magic).decode("ascii"),
    "executable": sys.executable, "stdlib": sysconfig.get_paths()["stdlib"]}) + "\n")
"""

COMPILE = r"""
import sys, json, py_compile
jobs = json.load(open(sys.argv[1]))
for src, opt, mode in jobs:
    kw = {}
    if sys.version_info[0] >= 3:
        kw["optimize"] = opt
    if mode is not None:
        kw["invalidation_mode"] = getattr(py_compile.PycInvalidationMode, mode)
    py_compile.compile(src, doraise=True, **kw)
sys.stdout.write("@@COMPILED@@%d\n" % len(jobs))
"""

IMPORT = r"""
import sys, json
sys.path.insert(0, sys.argv[1])
out = {}
for name in sys.argv[2].split(","):
    try:
        m = __import__(name)
        out[name] = {"ok": True, "value": getattr(m, "VALUE", None)}
    except BaseException as e:
        out[name] = {"ok": False, "exc": type(e).__name__, "msg": str(e)[:300]}
sys.stdout.write("@@RESULT@@" + json.dumps(out) + "\n")
"""

# ------------------------------------------------------------------------------------------

# Final magic numbers of CPython releases, for the "magic of another version" case.
CPY3_MAGIC = {4: 3310, 5: 3351, 6: 3379, 7: 3394, 8: 3413, 9: 3425, 10: 3439, 11: 3495,
              12: 3531, 13: 3571, 14: 3627}
CPY2_MAGIC = {5: 62131, 6: 62161, 7: 62211}

BASE_NS = 1600000000 * 10**9          # source mtime of every case not about mtimes
OLD_PYC_NS = 1000000000 * 10**9 + 123  # a cache's own mtime before each import round

SRC_TEMPLATE = '''"""conformance module {name}"""
VALUE = "{value}"
assert VALUE
def f():
    """docstring"""
    return VALUE
'''

# Mutations applied before compiling: source mtime (ns) when the cache is written.
PRE = [
    ("pre_ns999", 1600000000 * 10**9 + 999999999),
    ("pre_ns880", 1600000000 * 10**9 + 999999880),
    ("pre_neg", -1500000000),
    ("pre_2038", (2**31 + 5) * 10**9),
    ("pre_2106", (2**32 + 5) * 10**9),
]
# Mutations applied after compiling (the source had BASE_NS unless "none_now").
POST = ["none", "none_now", "same_size", "same_second", "diff_size", "mtime_ns880", "mtime_ns999",
        "mtime_plus1", "mtime_neg", "mtime_2038", "mtime_2106", "deleted", "trunc10",
        "body_half", "body_last", "body_trailing",
        "flags2", "flags4", "foreign_magic", "foreign_magic_py3", "empty"]
HASH_ONLY = {"flags2", "flags4"}      # 3.7+ headers have a flags word
LEGACY_ONLY = {"foreign_magic_py3"}   # a Python 3 magic in a legacy NAME.pyc (compileall -b)
POST_MTIME = {
    "mtime_ns880": 1600000000 * 10**9 + 999999880,
    "mtime_ns999": 1600000000 * 10**9 + 999999999,
    "mtime_plus1": 1600000001 * 10**9,
    "mtime_neg": -1500000000,
    "mtime_2038": (2**31 + 5) * 10**9,
    "mtime_2106": (2**32 + 5) * 10**9,
}
# Cases a Pyodide interpreter cannot decide as a native CPython would, left out for Pyodide only
# (and logged).  Pyodide sees host files through Emscripten's NODEFS, which has their times
# from Node's fs.stat in whole milliseconds, rounded, and which garbles times before 1970.
# (ns999 stays: .999999999 is the next second for a native CPython too, whose float st_mtime
# rounds it up; and sources meant to have the current time get a safe sub-second part instead,
# in Runner.build.)
PYODIDE_MS = "NODEFS rounds mtimes to milliseconds: .999999880 s reads as the next second"
PYODIDE_NEG = "NODEFS garbles mtimes before 1970: -1.5 s reads as +1.79 s"
PYODIDE_SKIP = {"pre_ns880": PYODIDE_MS, "mtime_ns880": PYODIDE_MS,
                "pre_neg": PYODIDE_NEG, "mtime_neg": PYODIDE_NEG}
# same_second: the cache file written at SS_PYC_NS, then the source rewritten (same size) at
# SS_SRC_NS, both within the second its header records (BASE_NS): the interpreter cannot see
# the edit and runs the old code; pycinspect must say so in the reasons of that fresh cache.
SS_PYC_NS = BASE_NS + 300000000
SS_SRC_NS = BASE_NS + 600000000
SAME_SECOND_REASON = "within the second its header records"
HEADER_MUTATIONS = {"trunc10", "flags2", "flags4", "foreign_magic", "foreign_magic_py3", "empty"}
MODE_ABBR = {"timestamp": "ts", "checked-hash": "ch", "unchecked-hash": "uh"}
PYC_MODE = {"timestamp": "TIMESTAMP", "checked-hash": "CHECKED_HASH",
            "unchecked-hash": "UNCHECKED_HASH"}


def clean_env():
    """The environment of every child: no PYTHON* (PYTHONDONTWRITEBYTECODE, PYTHONPYCACHEPREFIX,
    PYTHONPATH...), no SOURCE_DATE_EPOCH (it turns py_compile's default to checked-hash)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PYTHON") and k != "SOURCE_DATE_EPOCH"}
    env["LC_ALL"] = "C"
    return env


def run(cmd, cwd=None, timeout=TIMEOUT):
    return subprocess.run(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)


def marker_line(text, marker):
    for line in text.splitlines():
        if line.startswith(marker):
            return line[len(marker):]
    return None


# ------------------------------------------------------------------------------------------
# Discovery


class Interp:
    def __init__(self, cand, info):
        self.path = cand.name        # what the messages call it
        self.cmd = cand.cmd          # the command line before the Python options
        self.pyodide = cand.pyodide  # the Pyodide version, or None for a native interpreter
        self.impl = info["impl"]
        self.version = tuple(info["version"])
        self.major, self.minor = self.version[:2]
        self.tag = info["tag"]
        self.magic_bytes = bytes.fromhex(info["magic"])
        self.magic = int.from_bytes(self.magic_bytes[:2], "little")
        self.stdlib = info["stdlib"]
        self.pyodide_dir = cand.cmd[-1] if cand.pyodide else None  # its package directory

    @property
    def key(self):
        return (self.impl, self.major, self.minor)

    @property
    def label(self):
        name = "PyPy" if self.impl == "pypy" else "CPython" if self.impl == "cpython" else self.impl
        label = "%s %s" % (name, ".".join(map(str, self.version)))
        return label + (" (Pyodide %s)" % self.pyodide if self.pyodide else "")

    @property
    def target(self):
        return ("pypy" if self.impl == "pypy" else "") + "%d.%d" % (self.major, self.minor)

    @property
    def legacy(self):
        return self.major < 3 or (self.major == 3 and self.minor < 2)

    @property
    def hash_pycs(self):
        return (self.major, self.minor) >= (3, 7)

    def modes(self):
        return ["timestamp", "checked-hash", "unchecked-hash"] if self.hash_pycs else ["timestamp"]

    def check_modes(self):
        return ["default", "always", "never"] if self.hash_pycs else ["default"]

    def opts(self):
        if self.legacy or (self.major, self.minor) >= (3, 5):
            return [0, 1, 2]
        return [0]

    def header_size(self):
        return 16 if self.hash_pycs else 8 if self.legacy or (self.major, self.minor) < (3, 3) \
            else 12

    def cache_path(self, tree, name, opt):
        if self.legacy:
            return os.path.join(tree, name + (".pyo" if opt else ".pyc"))
        suffix = ".opt-%d.pyc" % opt if opt else ".pyc"
        return os.path.join(tree, "__pycache__", "%s.%s%s" % (name, self.tag, suffix))

    def other_magic(self):
        """A magic number of another version, as 4 bytes."""
        if self.major == 2:
            m = CPY2_MAGIC[6] if self.minor != 6 else CPY2_MAGIC[7]
        elif self.impl != "cpython" and self.minor in CPY3_MAGIC:
            m = CPY3_MAGIC[self.minor]
        else:
            m = CPY3_MAGIC.get(self.minor - 1) or CPY3_MAGIC.get(self.minor + 1) or 3379
            if m == self.magic:
                m = 3379 if self.magic != 3379 else 3394
        return m.to_bytes(2, "little") + b"\r\n"


class Candidate:
    def __init__(self, name, cmd, real, pyodide=None):
        self.name, self.cmd, self.real, self.pyodide = name, cmd, real, pyodide


def pyodide_versions():
    """The Pyodide versions tools/install-pyodide.sh installs (tools/pyodide-versions)."""
    with open(os.path.join(TOOLS, "pyodide-versions")) as f:
        return [line.split()[0] for line in f if line.strip() and not line.startswith("#")]


def pyodide_dirs():
    """{version: install directory} of the Pyodide installs to use: PYCI_PYODIDE_DIRS
    (os.pathsep-separated), else every VERSION under tools/install-pyodide.sh's root."""
    found = {}
    if os.environ.get("PYCI_PYODIDE_DIRS"):
        dirs = [d for d in os.environ["PYCI_PYODIDE_DIRS"].split(os.pathsep) if d]
    else:
        root = os.environ.get("PYCI_PYODIDE_ROOT") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"),
            "pycinspect", "pyodide")
        dirs = sorted(glob.glob(os.path.join(root, "*", "node_modules", "pyodide")))
    for d in dirs:
        pkg = d if os.path.isfile(os.path.join(d, "pyodide.mjs")) else \
            os.path.join(d, "node_modules", "pyodide")
        try:
            with open(os.path.join(pkg, "package.json")) as f:
                version = json.load(f)["version"]
        except (OSError, ValueError, KeyError):
            version = "?"
        found.setdefault(version, pkg)
    return found


def candidates():
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for p in sorted(glob.glob(os.path.join(root, "versions", "*", "bin", "python"))):
        yield Candidate(p, [p], os.path.realpath(p))
    pat = re.compile(r"^(python[23]\.\d+|pypy3\.\d+)$")
    for d in os.environ.get("PATH", "").split(os.pathsep):
        if not d or not os.path.isdir(d):
            continue
        try:
            names = sorted(os.listdir(d))
        except OSError:
            continue
        for n in names:
            p = os.path.join(d, n)
            if pat.match(n) and os.path.isfile(p) and os.access(p, os.X_OK):
                yield Candidate(p, [p], os.path.realpath(p))
    for version, pkg in sorted(pyodide_dirs().items()):
        yield Candidate("pyodide " + pkg, [PYODIDE_PYTHON, "--pyodide", pkg],
                        os.path.realpath(pkg), version)


def version_key(i):
    return (i.impl != "cpython", i.major, i.minor)


def discover(log):
    """The interpreters to test, and the Pyodide versions that ran as one."""
    seen_real, cands = set(), []
    for c in candidates():
        if c.real not in seen_real:
            seen_real.add(c.real)
            cands.append(c)

    def probe(c):
        try:
            return run(c.cmd + ["-E", "-s", "-c", PROBE], timeout=120)
        except (OSError, subprocess.TimeoutExpired) as e:
            return e

    # Pyodide takes seconds to start: probe in parallel, judge in order
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(probe, cands))
    seen_key, found, pyodide_ok = {}, [], set()
    for c, r in zip(cands, results):
        p = c.name
        if isinstance(r, Exception):
            log("skip %s: %s" % (p, r))
            continue
        line = marker_line(r.stdout.decode("utf-8", "replace"), "@@PROBE@@")
        if r.returncode != 0 or line is None:
            err = r.stderr.decode("utf-8", "replace").strip().splitlines()
            log("skip %s: does not run (%s)" % (p, err[-1] if err else "exit %d" % r.returncode))
            continue
        it = Interp(c, json.loads(line))
        if c.pyodide:
            pyodide_ok.add(c.pyodide)
        if it.key in seen_key:
            log("skip %s: %s already covered by %s" % (p, it.label, seen_key[it.key].path))
            continue
        if not it.legacy and not it.tag:
            log("skip %s: %s has no cache tag" % (p, it.label))
            continue
        seen_key[it.key] = it
        found.append(it)
    found.sort(key=version_key)
    return found, pyodide_ok


# ------------------------------------------------------------------------------------------
# One interpreter


class Case:
    def __init__(self, tree, check, mode, opt, mutation, interp):
        self.tree, self.check, self.mode, self.opt, self.mutation = tree, check, mode, opt, mutation
        self.name = "c_%s_o%d_%s" % (MODE_ABBR[mode], opt, mutation)
        self.src = os.path.join(tree, self.name + ".py")
        self.pyc = interp.cache_path(tree, self.name, opt)
        self.value = "v1"  # VALUE in the source on disk now

    def ident(self):
        return "check=%s %s opt=%d %s" % (self.check, self.mode, self.opt, self.mutation)


# ------------------------------------------------------------------------------------------
# What every conformance script's main() does: find the binary, say which Pyodide is missing,
# run one Runner per interpreter and add up.


def runner_args(doc):
    """The command line of a script that runs one Runner per interpreter: --keep, --only,
    -v; its description, the first line of the script's doc."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary trees")
    ap.add_argument("--only", help="comma-separated targets to run (3.13,2.7,pypy3.9)")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every case")
    return ap.parse_args()


def pyci_binary():
    """PYCI_BIN as an absolute path; or None, after printing the failure."""
    pyci = os.environ.get("PYCI_BIN")
    if not pyci or not os.access(pyci, os.X_OK):
        print("FAIL: set PYCI_BIN to the pycinspect binary (got %r)" % pyci)
        print("0 passed, 1 failed")
        return None
    return os.path.abspath(pyci)


def missing_pyodide(pyodide_ok):
    """The Pyodide versions that did not run (discover's second value), said: a failure (1)
    under PYCI_REQUIRE_PYODIDE=1, as CI runs, else a "not tested" line (0)."""
    missing = [v for v in pyodide_versions() if v not in pyodide_ok]
    if not missing:
        return 0
    if os.environ.get("PYCI_REQUIRE_PYODIDE") == "1":
        print("FAIL: PYCI_REQUIRE_PYODIDE=1 and Pyodide %s not installed or not running "
              "(tools/install-pyodide.sh installs it)" % ", ".join(missing))
        return 1
    print("not tested: Pyodide %s (not installed or not running; tools/install-pyodide.sh "
          "installs it)" % ", ".join(missing))
    return 0


def run_runners(interps, make, ran=None):
    """make(interp).main() for each interpreter, two at a time at most per core, Pyodide's
    first (they start slowest); then each runner's lines and a "ran" line each (ran(r), or its
    label and counts), in the order of interps.  Returns (passed, failed)."""
    order = sorted(interps, key=lambda i: i.pyodide is None)
    workers = max(1, min(len(interps), os.cpu_count() or 1))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        done = dict(zip(order, pool.map(lambda i: make(i).main(), order)))
    runners = [done[i] for i in interps]
    passed = failed = 0
    for r in runners:
        for line in r.lines:
            print(line)
        passed += r.passed
        failed += r.failed
    for i, r in zip(interps, runners):
        print(ran(r) if ran else "ran %-30s %d passed, %d failed" % (i.label, r.passed, r.failed))
    return passed, failed


def snap(path):
    try:
        st = os.lstat(path)
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size, data)


def header_mode(data, interp):
    """The mode the header says, or None if it is not this interpreter's valid header."""
    if data is None or data[:4] != interp.magic_bytes:
        return None
    if not interp.hash_pycs:
        return "timestamp" if len(data) >= (8 if interp.legacy else 12) else None
    if len(data) < 16:
        return None
    flags = int.from_bytes(data[4:8], "little")
    if flags & ~3:
        return None
    return {0: "timestamp", 2: "timestamp", 1: "unchecked-hash", 3: "checked-hash"}[flags]


def write_source(path, name, value):
    with open(path, "w") as f:
        f.write(SRC_TEMPLATE.format(name=name, value=value))


def set_mtime_checked(path, ns):
    """Set a file's mtime; False if the filesystem refuses it or stores something else."""
    try:
        os.utime(path, ns=(ns, ns))
    except (OSError, OverflowError):
        return False
    return os.stat(path).st_mtime_ns == ns


class Runner:
    def __init__(self, interp, pyci, keep, verbose):
        self.it = interp
        self.pyci = pyci
        self.keep = keep
        self.verbose = verbose
        self.lines = []     # failure and info lines, printed by the caller
        self.passed = 0
        self.failed = 0
        self.cases = []
        self.skipped = []

    def note(self, msg):
        self.lines.append("%s: %s" % (self.it.label, msg))

    def fail(self, what, expected, got):
        self.failed += 1
        self.lines.append("FAIL %s [%s]: %s: expected %s, got %s"
                          % (self.it.label, self.it.path, what, expected, got))

    def flags(self, opt):
        return ["-E", "-s"] + (["-" + "O" * opt] if opt else [])

    # -- building -------------------------------------------------------------------------

    def build(self, root):
        it = self.it
        trees = {}
        for check in it.check_modes():
            tree = os.path.join(root, "check-" + check)
            os.mkdir(tree)
            trees[check] = tree
            for mode in it.modes():
                for opt in it.opts():
                    for mut, _ in PRE:
                        self.cases.append(Case(tree, check, mode, opt, mut, it))
                    for mut in POST:
                        if mut in HASH_ONLY and not it.hash_pycs:
                            continue
                        if mut in LEGACY_ONLY and not it.legacy:
                            continue
                        self.cases.append(Case(tree, check, mode, opt, mut, it))

        if it.pyodide:
            why = {}
            for c in self.cases:
                if c.mutation in PYODIDE_SKIP:
                    why.setdefault(PYODIDE_SKIP[c.mutation], set()).add(c.mutation)
            for reason, muts in sorted(why.items()):
                self.note("skipped for Pyodide (%s): %s" % (reason, ", ".join(sorted(muts))))
            self.cases = [c for c in self.cases if c.mutation not in PYODIDE_SKIP]

        # sources, and source mtimes for the cache to record
        pre = dict(PRE)
        rejected = set()
        keep = []
        for c in self.cases:
            write_source(c.src, c.name, c.value)
            if c.mutation == "none_now":
                if it.pyodide:
                    # now, but not in a second's last half millisecond, which NODEFS's
                    # rounding would move to the next second
                    now = os.stat(c.src).st_mtime_ns // 10**9 * 10**9 + 250000000
                    os.utime(c.src, ns=(now, now))
            elif c.mutation in pre:
                if not set_mtime_checked(c.src, pre[c.mutation]):
                    rejected.add(c.mutation)
                    os.unlink(c.src)
                    continue
            else:
                os.utime(c.src, ns=(BASE_NS, BASE_NS))
            keep.append(c)
        # post-compile mtimes the filesystem cannot store
        probe = os.path.join(root, "mtime-probe")
        open(probe, "w").close()
        for mut, ns in POST_MTIME.items():
            if not set_mtime_checked(probe, ns):
                rejected.add(mut)
        os.unlink(probe)
        if rejected:
            for c in keep:
                if c.mutation in rejected:
                    os.unlink(c.src)
            keep = [c for c in keep if c.mutation not in rejected]
            self.note("skipped (the filesystem does not store that mtime): "
                      + ", ".join(sorted(rejected)))
        self.cases = keep

        # compile: one process per optimisation level (2.7 picks .pyc/.pyo from -O); Pyodide
        # starts in seconds, so one process at -O0 compiles every level (py_compile's optimize=
        # names and compiles the cache as the level's own interpreter would)
        for opt in ([0] if it.pyodide else it.opts()):
            jobs = [[c.src, c.opt, PYC_MODE[c.mode] if it.hash_pycs else None]
                    for c in self.cases if c.opt == opt or it.pyodide]
            jf = os.path.join(root, "jobs-%d.json" % opt)
            with open(jf, "w") as f:
                json.dump(jobs, f)
            r = run(it.cmd + self.flags(opt) + ["-c", COMPILE, jf], cwd=root)
            if r.returncode != 0 or marker_line(r.stdout.decode(), "@@COMPILED@@") is None:
                raise RuntimeError("compiling at opt %d failed: %s"
                                   % (opt, r.stderr.decode("utf-8", "replace")[-2000:]))
            os.unlink(jf)
        for c in self.cases:
            if not os.path.isfile(c.pyc):
                raise RuntimeError("compiling %s did not write %s" % (c.src, c.pyc))

        # post-compile mutations
        for c in self.cases:
            m = c.mutation
            if m in ("same_size", "diff_size", "same_second"):
                st = os.stat(c.src)
                c.value = "v22" if m == "diff_size" else "v2"
                write_source(c.src, c.name, c.value)
                ns = SS_SRC_NS if m == "same_second" else st.st_mtime_ns
                os.utime(c.src, ns=(st.st_atime_ns, ns))
            elif m in POST_MTIME:
                os.utime(c.src, ns=(POST_MTIME[m], POST_MTIME[m]))
            elif m == "deleted":
                os.unlink(c.src)
            elif m in ("trunc10", "empty"):
                os.truncate(c.pyc, 10 if m == "trunc10" else 0)
            elif m in ("body_half", "body_last"):
                # the header intact, the code cut short: the import fails (--deep says how)
                size, hsize = os.stat(c.pyc).st_size, it.header_size()
                os.truncate(c.pyc, hsize + (size - hsize) // 2 if m == "body_half" else size - 1)
            elif m == "body_trailing":
                with open(c.pyc, "ab") as f:  # ignored by marshal.loads: still fresh
                    f.write(b"\0trailing bytes")
            elif m in ("flags2", "flags4"):
                with open(c.pyc, "r+b") as f:
                    f.seek(4)
                    f.write((2 if m == "flags2" else 4).to_bytes(4, "little"))
            elif m in ("foreign_magic", "foreign_magic_py3"):
                with open(c.pyc, "r+b") as f:
                    if m == "foreign_magic":
                        f.write(it.other_magic())
                    else:
                        f.write(CPY3_MAGIC[6].to_bytes(2, "little") + b"\r\n")
            c.compiled_mode = c.mode
        return trees

    # -- judging --------------------------------------------------------------------------

    def scan(self, tree, check):
        cmd = [self.pyci, "scan", "--json", "--all", "--deep", "--target", self.it.target,
               "--check-source", check, tree]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=clean_env(), timeout=TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode,
                                                      r.stderr.decode("utf-8", "replace")))
        recs = {}
        for line in r.stdout.decode("utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            if rec.get("type") == "pyc":
                recs[os.path.normpath(rec["path"])] = rec
        return recs

    def import_all(self, tree, check, opt, cases):
        """Import every case; returns ({name: result}, verbose trace)."""
        cmd = self.it.cmd + self.flags(opt)
        if self.it.hash_pycs:
            cmd += ["--check-hash-based-pycs", check]
        cmd += ["-v", "-c", IMPORT, tree, ",".join(c.name for c in cases)]
        r = run(cmd, cwd=tree)
        line = marker_line(r.stdout.decode("utf-8", "replace"), "@@RESULT@@")
        if line is None:
            raise RuntimeError("import run failed (exit %d): %s"
                               % (r.returncode, r.stderr.decode("utf-8", "replace")[-2000:]))
        return json.loads(line), r.stderr.decode("utf-8", "replace")

    @staticmethod
    def loaded_from(trace, pyc):
        for line in trace.splitlines():
            if ("code object from" in line or "precompiled from" in line) and pyc in line:
                return True
        return False

    def expect(self, c, before, after, res, trace):
        """What pycinspect must have said, from what the interpreter did.

        Returns (acceptable statuses, "still-runs"/"no-still-runs"/None, a problem with the
        oracle's own assumptions or None, why)."""
        it = self.it
        rewritten = before != after
        src_exists = os.path.exists(c.src)
        ok = res.get("ok", False)
        from_cache = self.loaded_from(trace, c.pyc)
        if rewritten:
            data = before[3]
            if (it.legacy and data is not None and data[:4] != it.magic_bytes
                    and data[2:4] == b"\r\n"):
                # NAME.pyc beside NAME.py is read by every legacy-layout interpreter; one written
                # by another version (2.6's magic under 2.7) is that version's valid cache, so
                # pycinspect calls it foreign to the 2.7 target, which indeed rejected it.
                return ({"stale", "invalid", "foreign"}, "no-still-runs", None,
                        "the target rewrote a legacy cache of another interpreter")
            return ({"stale", "invalid"}, "no-still-runs", None,
                    "the interpreter rewrote it")
        if not src_exists:
            if it.legacy:
                if ok and from_cache:
                    return ({"sourceless"}, None, None, "imported without source")
                return ({"invalid"}, None, None, "sourceless import failed: %s" % res.get("exc"))
            problem = None
            if ok or res.get("exc") not in ("ModuleNotFoundError", "ImportError"):
                problem = "import of a module without source did not fail with " \
                          "ModuleNotFoundError: %r" % (res,)
            return ({"orphaned"}, None, problem, "import failed: %s" % res.get("exc"))
        if not ok:
            return ({"invalid"}, None, None,
                    "import failed, cache kept: %s: %s" % (res.get("exc"), res.get("msg")))
        if not from_cache:
            return ({"stale", "invalid"}, "no-still-runs", None,
                    "the interpreter compiled the source and left the cache")
        stale_code = res.get("value") != c.value
        mode = header_mode(before[3], it)
        if stale_code and mode == "unchecked-hash" and c.check == "default":
            return ({"stale"}, "still-runs", None,
                    "unchecked hash, source changed, interpreter ran the old code")
        return ({"fresh"}, "no-still-runs", None,
                "the interpreter used it" + (" (outdated code)" if stale_code else ""))

    def check_case(self, rnd, c, rec, before, after, res, trace):
        it = self.it
        what = "round %d %s (%s)" % (rnd, c.ident(), os.path.relpath(c.pyc, os.path.dirname(c.tree)))
        problems = []
        if rec is None:
            self.fail(what, "a record for the cache", "none")
            return
        statuses, extra, oracle, why = self.expect(c, before, after, res, trace)
        if oracle:
            problems.append(("interpreter behaves as assumed", oracle))
        reasons = rec.get("reasons") or []
        still = any("still runs" in r for r in reasons)
        if rec.get("status") not in statuses:
            problems.append(("status %s (%s)" % ("/".join(sorted(statuses)), why),
                             "%s %s" % (rec.get("status"), reasons)))
        elif extra == "still-runs" and not still:
            problems.append(("a reason containing \"still runs\" (%s)" % why, reasons))
        elif extra == "no-still-runs" and still:
            problems.append(("no \"still runs\" reason (%s)" % why, reasons))
        # --deep: a cache whose import failed is invalid with the exception the interpreter
        # raised; every other cache loaded
        load = rec.get("load") or {}
        if not res.get("ok", False) and os.path.exists(c.src) and before == after:
            # the exception; its wording varies between versions (docs/statuses.md)
            if load.get("result") == "fails" and load.get("exception") != res.get("exc"):
                problems.append(("load exception %s (%s)" % (res.get("exc"), res.get("msg")),
                                 "%s: %s" % (load.get("exception"), load.get("message"))))
        elif load.get("result") == "fails":
            problems.append(("a body that loads (the import did not fail on it)", load))
        # the same-second hint: exactly for the fresh timestamp cache of the same_second case,
        # which the interpreter ran with its outdated code
        hinted = any(SAME_SECOND_REASON in r for r in reasons)
        unseen = (c.mutation == "same_second" and rec.get("status") == "fresh"
                  and rec.get("mode") == "timestamp" and res.get("value") != c.value)
        if c.mutation == "same_second" and rec.get("mode") == "timestamp" and not unseen:
            problems.append(("the interpreter to run the old code of a same-second edit",
                             "%r" % (res,)))
        if hinted != unseen:
            problems.append(("%s same-second reason" % ("a" if unseen else "no"), reasons))
        # header facts
        data = before[3]
        if data is not None and data[:4] == it.magic_bytes:
            got = (rec.get("implementation"), rec.get("version"), rec.get("magic"))
            # "version" is the label pycinspect uses everywhere: "3.12", "pypy3.9"
            want = (it.impl, it.target, it.magic)
            if got != want:
                problems.append(("implementation/version/magic %r" % (want,), repr(got)))
            hm = header_mode(data, it)
            if hm is not None and rec.get("mode") != hm:
                problems.append(("mode %s (header)" % hm, rec.get("mode")))
            if rnd == 1 and c.mutation not in HEADER_MUTATIONS and hm != c.compiled_mode:
                problems.append(("the header mode to be the compiled mode %s" % c.compiled_mode,
                                 hm))
            if rec.get("foreign"):
                problems.append(("foreign false (the cache is the target's own)", "true"))
        if problems:
            self.fail(what, "; ".join(p[0] for p in problems), "; ".join(str(p[1]) for p in problems))
        else:
            self.passed += 1

    def run_round(self, rnd, trees):
        it = self.it
        for c in self.cases:
            if os.path.exists(c.pyc):
                ns = SS_PYC_NS if c.mutation == "same_second" else OLD_PYC_NS
                os.utime(c.pyc, ns=(ns, ns))
        for check, tree in trees.items():
            recs = self.scan(tree, check)
            tcases = [c for c in self.cases if c.tree == tree]
            before = {c.name: snap(c.pyc) for c in tcases}
            results, traces = {}, {}
            for opt in it.opts():
                oc = [c for c in tcases if c.opt == opt]
                res, trace = self.import_all(tree, check, opt, oc)
                for c in oc:
                    results[c.name] = res.get(c.name, {"ok": False, "exc": "missing result"})
                    traces[c.name] = trace
            for c in tcases:
                after = snap(c.pyc)
                if before[c.name] is None:
                    if rnd == 1:
                        self.fail("round %d %s" % (rnd, c.ident()), "a cache file", "none")
                    continue
                self.check_case(rnd, c, recs.get(os.path.normpath(c.pyc)), before[c.name],
                                after, results[c.name], traces[c.name])
                if self.verbose:
                    rec = recs.get(os.path.normpath(c.pyc)) or {}
                    self.note("round %d %s: rewritten=%s import=%s pycinspect=%s %s"
                              % (rnd, c.ident(), before[c.name] != after, results[c.name],
                                 rec.get("status"), rec.get("reasons")))

    def main(self):
        root = tempfile.mkdtemp(prefix="pyci-conf-%s%d%d-" % (self.it.impl, self.it.major,
                                                              self.it.minor))
        try:
            trees = self.build(root)
            for rnd in (1, 2):
                self.run_round(rnd, trees)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
            self.fail("setup", "the run to complete", "%s: %s" % (type(e).__name__, e))
        finally:
            if self.keep:
                self.note("kept %s" % root)
            else:
                shutil.rmtree(root, ignore_errors=True)
        return self


# ------------------------------------------------------------------------------------------


def main():
    args = runner_args(__doc__)

    pyci = pyci_binary()
    if not pyci:
        return 1
    interps, pyodide_ok = discover(print)
    setup_failed = 0
    if len(interps) < 2:
        print("FAIL: need at least two interpreters, found %d: %s"
              % (len(interps), ", ".join(i.label for i in interps) or "none"))
        setup_failed += 1
    setup_failed += missing_pyodide(pyodide_ok)
    if setup_failed:
        print("0 passed, %d failed" % setup_failed)
        return 1
    if args.only:
        wanted = set(args.only.split(","))
        interps = [i for i in interps if i.target in wanted]
    for i in interps:
        print("interpreter: %-16s target %-8s magic %d  %s" % (i.label, i.target, i.magic, i.path))

    passed, failed = run_runners(
        interps, lambda i: Runner(i, pyci, args.keep, args.verbose),
        lambda r: "ran %-16s %4d cases: %d passed, %d failed"
        % (r.it.label, len(r.cases), r.passed, r.failed))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
