#!/usr/bin/env python3
"""Conformance test for Jython's NAME$py.class: Debian's jython is the oracle.

One tree of modules (and packages) is compiled by one jython process, which writes
NAME$py.class (and PKG/__init__$py.class) beside each source.  The classes and their sources are
then aged, edited, patched, cut or deleted, one way per module, and each class is given a known
mtime.  `pycinspect scan --json --all --target jython2.7` judges the tree, and then a second jython
process imports every module with -v, catching Java exceptions too, and we watch what it does:

  the -v trace says "precompiled from NAME$py.class", the class untouched
      with the source                    -> fresh (even when the source changed and the
                                            class's mtime hides it: Jython runs the old code)
      without it                         -> sourceless
  the trace says "from NAME.py" and the class was rewritten (its mtime, size or bytes)
                                         -> stale or invalid
  the import failed and the class stayed
      ImportError "compiled unit contains version N code (39 required)" without a source
                                         -> sourceless, foreign (another release's class,
                                            which Jython refuses; docs/statuses.md)
      anything else                      -> invalid

Then the tree is judged and imported once more, as Jython left it: what it has just written
must be fresh.  A record of an unmodified class must also say version jython2.7 and API 39.
Starting jython takes 2-5 s, so the whole test is three jython runs.

Environment: PYCI_BIN (required) is the pycinspect binary; PYCI_JYTHON the jython command
(default: jython on PATH).  Without a jython the test fails: tools/install-deps.sh installs
Debian's.  Options: --keep (leave the tree), -v (log every case).  Output: one line per failed
case, then exactly "N passed, M failed".  Exit 0 iff M == 0.  Standard library only.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from conformance import pyci_binary  # noqa: E402

TIMEOUT = 300
SEC = 10**9
MS = 10**6
BASE_NS = 1600000000 * SEC + 451900000  # a source's mtime: .4519 s, so .451 ms in Java
NEG_NS = -1500000000 + 900000           # -1.4991 s: Java reads -1500 ms
FAR_NS = (2**31 + 5) * SEC + 123456789  # after 2038

# Runs inside Jython 2.7: Python 2 syntax.  Java exceptions are not BaseExceptions there.
IMPORT = r"""
import sys, json
from java.lang import Throwable
sys.path.insert(0, sys.argv[1])
out = {}
for name in sys.argv[2].split(","):
    try:
        m = __import__(name)
        out[name] = {"ok": True, "value": getattr(m, "VALUE", None)}
    except (Exception, Throwable), e:
        out[name] = {"ok": False, "exc": type(e).__name__, "msg": str(e)[:300]}
sys.stdout.write("@@RESULT@@" + json.dumps(out) + "\n")
"""

API39 = b"\x03\x00\x00\x00\x27"  # the CONSTANT_Integer of the APIVersion annotation


class Case:
    """One module: name, package or not, its source's mtime when compiled, and what is done to
    it after (a function of the case)."""

    def __init__(self, name, mutate, pre_ns=BASE_NS, package=False):
        self.name, self.mutate, self.pre_ns, self.package = name, mutate, pre_ns, package
        self.value = "v1"

    def setup(self, tree):
        self.tree = tree
        if self.package:
            os.mkdir(os.path.join(tree, self.name))
            self.src = os.path.join(tree, self.name, "__init__.py")
            self.cls = os.path.join(tree, self.name, "__init__$py.class")
        else:
            self.src = os.path.join(tree, self.name + ".py")
            self.cls = os.path.join(tree, self.name + "$py.class")
        write_source(self.src, self.value)
        set_ns(self.src, self.pre_ns)


def write_source(path, value):
    with open(path, "w") as f:
        f.write('"""conformance module"""\nVALUE = "%s"\n' % value)


def set_ns(path, ns):
    os.utime(path, ns=(ns, ns))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def patch_api(c, api):
    data = read(c.cls)
    if data.count(API39) != 1:
        raise RuntimeError("%s: %d APIVersion constants" % (c.cls, data.count(API39)))
    i = data.index(API39)
    write(c.cls, data[:i + 4] + bytes([api]) + data[i + 5:])


def rename_api_annotation(c):
    data = read(c.cls)
    old = b"Lorg/python/compiler/APIVersion;"
    if data.count(old) != 1:
        raise RuntimeError("%s: no APIVersion annotation type" % c.cls)
    write(c.cls, data.replace(old, b"Lorg/python/compiler/APIVersioX;"))


def class_at(c, ns):
    set_ns(c.cls, ns)


def source_at(c, ns):
    set_ns(c.src, ns)


def ms_floor(ns):
    return ns // MS * MS


# What is done to each case after compiling; every class then gets the mtime `class_ns` unless
# the mutation sets its own.  The source keeps the mtime it was compiled with unless changed.
def m_none(c):
    pass


def m_same_ms(c):  # the class in the source's very millisecond, a few hundred us before it
    class_at(c, ms_floor(c.pre_ns))


def m_prev_ms(c):  # one nanosecond before the source's millisecond
    class_at(c, ms_floor(c.pre_ns) - 1)


def m_touched(c):  # the source edited after the class
    source_at(c, c.pre_ns + 10 * SEC)


def m_touched_both(c):  # ... and the class touched after that: Jython runs the old code
    c.value = "v2"
    write_source(c.src, c.value)
    source_at(c, c.pre_ns + 10 * SEC)
    class_at(c, c.pre_ns + 20 * SEC)


def m_same_mtime(c):  # new content, the same size and mtime
    c.value = "v2"
    write_source(c.src, c.value)
    source_at(c, c.pre_ns)


def m_diff_size(c):
    c.value = "v22"
    write_source(c.src, c.value)
    source_at(c, c.pre_ns)


def m_back_2000(c):  # the source set back: MTime exactly 2000 ms after it
    source_at(c, ms_floor(c.pre_ns) - 2000 * MS)


def m_back_2001(c):
    source_at(c, ms_floor(c.pre_ns) - 2001 * MS)


def m_deleted(c):
    os.unlink(c.src)


def m_source_dir(c):  # NAME.py a directory: not a file, so no source
    os.unlink(c.src)
    os.mkdir(c.src)


def m_api38(c):
    patch_api(c, 38)


def m_api38_deleted(c):
    patch_api(c, 38)
    os.unlink(c.src)


def m_api_missing(c):
    rename_api_annotation(c)


def m_api_missing_deleted(c):
    rename_api_annotation(c)
    os.unlink(c.src)


def m_cut_pool(c):
    write(c.cls, read(c.cls)[:60])


def m_cut_end(c):
    write(c.cls, read(c.cls)[:-10])


def m_cut_end_deleted(c):
    m_cut_end(c)
    os.unlink(c.src)


def m_bad_magic(c):
    data = read(c.cls)
    write(c.cls, b"\xca\xfe\xba\xbf" + data[4:])


def m_bad_magic_deleted(c):
    m_bad_magic(c)
    os.unlink(c.src)


def m_trailing(c):
    write(c.cls, read(c.cls) + b"\0\0\0")


def m_bad_tag(c):  # the first constant pool entry's tag
    data = read(c.cls)
    write(c.cls, data[:10] + b"\x02" + data[11:])


def m_empty(c):
    write(c.cls, b"")


def m_neg_prev(c):
    class_at(c, ms_floor(c.pre_ns) - 1)


CASES = [
    Case("c_fresh", m_none),
    Case("c_same_ms", m_same_ms),
    Case("c_prev_ms", m_prev_ms),
    Case("c_touched", m_touched),
    Case("c_touched_both", m_touched_both),
    Case("c_same_mtime", m_same_mtime),
    Case("c_diff_size", m_diff_size),
    Case("c_back_2000", m_back_2000),
    Case("c_back_2001", m_back_2001),
    Case("c_deleted", m_deleted),
    Case("c_source_dir", m_source_dir),
    Case("c_api38", m_api38),
    Case("c_api38_deleted", m_api38_deleted),
    Case("c_api_missing", m_api_missing),
    Case("c_api_missing_deleted", m_api_missing_deleted),
    Case("c_cut_pool", m_cut_pool),
    Case("c_cut_end", m_cut_end),
    Case("c_cut_end_deleted", m_cut_end_deleted),
    Case("c_bad_magic", m_bad_magic),
    Case("c_bad_magic_deleted", m_bad_magic_deleted),
    Case("c_trailing", m_trailing),
    Case("c_bad_tag", m_bad_tag),
    Case("c_empty", m_empty),
    Case("c_neg", m_none, pre_ns=NEG_NS),
    Case("c_neg_same_ms", m_same_ms, pre_ns=NEG_NS),
    Case("c_neg_prev", m_neg_prev, pre_ns=NEG_NS),
    Case("c_2038", m_none, pre_ns=FAR_NS),
    Case("p_fresh", m_none, package=True),
    Case("p_touched", m_touched, package=True),
    Case("p_deleted", m_deleted, package=True),
    Case("p_api38_deleted", m_api38_deleted, package=True),
]


def clean_env():
    """No PYTHON* (PYTHONDONTWRITEBYTECODE stops Jython writing classes too)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["LC_ALL"] = "C"
    return env


def snap(path):
    try:
        st = os.lstat(path)
        return (st.st_ino, st.st_mtime_ns, st.st_size, read(path))
    except FileNotFoundError:
        return None


class Runner:
    def __init__(self, jython, pyci, verbose):
        self.jython, self.pyci, self.verbose = jython, pyci, verbose
        self.passed = self.failed = 0
        self.lines = []

    def fail(self, what, expected, got):
        self.failed += 1
        self.lines.append("FAIL %s: expected %s, got %s" % (what, expected, got))

    def jython_import(self, tree, names, verbose):
        cmd = [self.jython] + (["-v"] if verbose else []) + ["-c", IMPORT, tree,
                                                            ",".join(names)]
        r = subprocess.run(cmd, cwd=tree, env=clean_env(), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=TIMEOUT)
        out = r.stdout.decode("utf-8", "replace")
        line = next((l for l in out.splitlines() if l.startswith("@@RESULT@@")), None)
        if line is None:
            raise RuntimeError("jython failed (exit %d): %s" % (
                r.returncode, r.stderr.decode("utf-8", "replace")[-3000:]))
        return json.loads(line[len("@@RESULT@@"):]), r.stderr.decode("utf-8", "replace")

    def scan(self, tree):
        cmd = [self.pyci, "scan", "--json", "--all", "--target", "jython2.7", tree]
        r = subprocess.run(cmd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(cmd), r.returncode,
                                                      r.stderr.decode("utf-8", "replace")))
        recs = {}
        for line in r.stdout.decode("utf-8").splitlines():
            o = json.loads(line)
            if o["type"] == "pyc":
                recs[os.path.normpath(o["path"])] = o
        return recs

    @staticmethod
    def traced(trace, c):
        """'class', 'source' or None: where the -v trace says the module came from."""
        for line in trace.splitlines():
            if "import %s # precompiled from " % c.name in line and line.endswith(c.cls):
                return "class"
            if "import %s # from " % c.name in line and line.endswith(c.src):
                return "source"
        return None

    @staticmethod
    def expect(c, before, after, res, origin):
        """(acceptable statuses, foreign or None for either, a problem with the oracle's
        assumptions or None, why)."""
        rewritten = before != after
        has_source = os.path.isfile(c.src)
        ok = res.get("ok", False)
        if rewritten:
            if origin != "source" or not ok:
                return ({"stale", "invalid"}, None, "rewritten without a compile of the "
                        "source: %r %r" % (origin, res), "Jython rewrote it")
            return ({"stale", "invalid"}, None, None, "Jython compiled the source")
        if ok and origin == "class":
            if not has_source:
                return ({"sourceless"}, False, None, "imported without a source")
            problem = None
            if res.get("value") != c.value and c.name not in ("c_touched_both", "c_same_mtime",
                                                              "c_diff_size"):
                problem = "old code ran: %r" % (res,)
            return ({"fresh"}, False, problem, "Jython used it (value %s)" % res.get("value"))
        if ok:
            return ({"stale", "invalid"}, None, "imported from %r, class not rewritten" % origin,
                    "?")
        msg = res.get("msg", "")
        if not has_source and "compiled unit contains version" in msg:
            return ({"sourceless"}, True, None, "another release's class: %s" % msg)
        return ({"invalid"}, None, None, "the import failed: %s: %s" % (res.get("exc"), msg))

    def check(self, rnd, c, rec, before, after, res, origin):
        what = "round %d %s" % (rnd, c.name)
        if rec is None:
            if before is not None:
                self.fail(what, "a record for %s" % c.cls, "none")
            else:
                self.passed += 1  # no class (never written): nothing to judge
            return
        statuses, foreign, oracle, why = self.expect(c, before, after, res, origin)
        problems = []
        if oracle:
            problems.append(("jython behaves as assumed", oracle))
        if rec["status"] not in statuses:
            problems.append(("status %s (%s)" % ("/".join(sorted(statuses)), why),
                             "%s %s" % (rec["status"], rec["reasons"])))
        elif foreign is not None and rec["foreign"] != foreign:
            problems.append(("foreign %s (%s)" % (foreign, why), rec["foreign"]))
        data = before[3] if before else b""
        if data.count(API39) == 1 and b"APIVersion;" in data and rec["status"] != "invalid":
            if (rec["version"], rec["api_version"], rec["layout"]) != ("jython2.7", 39, "jython"):
                problems.append(("version jython2.7, API 39, layout jython",
                                 (rec["version"], rec["api_version"], rec["layout"])))
        if problems:
            self.fail(what, "; ".join(p[0] for p in problems),
                      "; ".join(str(p[1]) for p in problems))
        else:
            self.passed += 1
        if self.verbose:
            self.lines.append("round %d %s: %s, import %s, rewritten %s -> %s %s" % (
                rnd, c.name, origin, res, before != after, rec["status"], rec["reasons"]))

    def run_round(self, rnd, tree):
        recs = self.scan(tree)
        before = {c.name: snap(c.cls) for c in CASES}
        res, trace = self.jython_import(tree, [c.name for c in CASES], True)
        for c in CASES:
            after = snap(c.cls)
            self.check(rnd, c, recs.get(os.path.normpath(c.cls)), before[c.name], after,
                       res.get(c.name, {"ok": False, "exc": "no result"}), self.traced(trace, c))

    def main(self, keep):
        tree = tempfile.mkdtemp(prefix="pyci-conf-jython-")
        try:
            for c in CASES:
                c.setup(tree)
            # every class compiled by one jython, from its source's mtime
            res, _ = self.jython_import(tree, [c.name for c in CASES], False)
            for c in CASES:
                if not res.get(c.name, {}).get("ok") or not os.path.isfile(c.cls):
                    raise RuntimeError("jython did not compile %s: %r" % (c.name, res.get(c.name)))
                # the class written some time after its source, as an import would
                class_at(c, c.pre_ns + 5 * SEC)
                c.mutate(c)
            for rnd in (1, 2):
                self.run_round(rnd, tree)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
            self.fail("setup", "the run to complete", "%s: %s" % (type(e).__name__, e))
        finally:
            if keep:
                self.lines.append("kept %s" % tree)
            else:
                shutil.rmtree(tree, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary tree")
    ap.add_argument("-v", "--verbose", action="store_true", help="log every case")
    args = ap.parse_args()
    pyci = pyci_binary()
    if not pyci:
        return 1
    jython = os.environ.get("PYCI_JYTHON") or shutil.which("jython")
    if not jython:
        print("FAIL: no jython on PATH (tools/install-deps.sh installs Debian's; PYCI_JYTHON "
              "names another)")
        print("0 passed, 1 failed")
        return 1
    r = Runner(jython, pyci, args.verbose)
    print("jython: %s" % jython)
    r.main(args.keep)
    for line in r.lines:
        print(line)
    print("%d passed, %d failed" % (r.passed, r.failed))
    return 0 if r.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
