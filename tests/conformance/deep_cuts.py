#!/usr/bin/env python3
"""Conformance test for --deep: a cache cut at every byte of its code, against marshal.loads.

For every interpreter py finds (one per implementation and version, Pyodide
included), the interpreter compiles a module that uses every kind of constant, nested code,
closures and comprehensions, and for each length L of its marshalled code writes a cache with
its own magic and the first L bytes of the code (cNNNNN.pyc, no source: a sourceless module,
which an import loads), and records what marshal.loads() of those L bytes raises: the very
call importlib makes on a cache's body.  Then `pycinspect scan --deep --json` judges the
directory, and for each cut whose header is complete:
  - the interpreter raised  -> the record is invalid and its "load" names the same exception;
  - it loaded               -> the record's "load" says it loads.
The real imports of cut caches (and of a body with trailing bytes, which loads) are in
py (mutations body_half, body_last, body_trailing).

Python 2 is left out, and said so: its reader reads past the end of the data as 0xFF bytes,
so a 2.x cache cut inside a number fails with ValueError (a size of -1), or even loads; --deep
does not model that (docs/statuses.md).

Environment and options as py (PYCI_BIN required; --only 3.13,pypy3.9).
Output: one line per mismatch, then exactly "N passed, M failed".  Exit 0 iff M == 0.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from conformance import clean_env, discover, missing_pyodide, pyci_binary  # noqa: E402

SRC = '''import os
X = (1, -7, 2.5, 3j, "s", "\\u00e9\\u4e2d", b"b", None, True, False, ..., 10**40, -2**70,
     frozenset({1, 2}), (1, (2, 3)))
class C:
    attr = {"k": [1, 2]}
    def f(self, a, *b, c=1, **d):
        y = [x for x in a if x]
        return y, {1: 2}, lambda: X + (c,)
    async def g(self):
        pass
def outer(n):
    def inner():
        return n
    return inner
'''

CHILD = r'''
import sys, json, marshal, importlib.util
src, out = sys.argv[1], sys.argv[2]
magic = importlib.util.MAGIC_NUMBER
hsize = 16 if sys.version_info >= (3, 7) else 12 if sys.version_info >= (3, 3) else 8
body = marshal.dumps(compile(src, "m.py", "exec"))
res = {}
for n in range(len(body) + 1):
    with open("%s/c%05d.pyc" % (out, n), "wb") as f:
        f.write(magic + b"\0" * (hsize - 4) + body[:n])
    try:
        marshal.loads(body[:n])
        res[n] = None
    except Exception as e:
        res[n] = [type(e).__name__, str(e)]
sys.stdout.write("@@CUTS@@" + json.dumps(res) + "\n")
'''


def check(it, pyci, tmp):
    """(passed, [failure lines]) for one interpreter."""
    out = os.path.join(tmp, "%s%d%d" % (it.impl, it.major, it.minor))
    os.makedirs(out)
    r = subprocess.run(it.cmd + ["-E", "-s", "-c", CHILD, SRC, out], env=clean_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    lines = [ln for ln in r.stdout.decode("utf-8", "replace").splitlines()
             if ln.startswith("@@CUTS@@")]
    if r.returncode != 0 or not lines:
        return 0, ["%s: the interpreter's run failed: %s"
                   % (it.label, r.stderr.decode("utf-8", "replace")[-500:])]
    want = {int(k): v for k, v in json.loads(lines[0][len("@@CUTS@@"):]).items()}
    p = subprocess.run([pyci, "scan", "--deep", "--json", "--jobs", "1", "--target", it.target,
                        out], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if p.returncode != 0:
        return 0, ["%s: pycinspect exited %d: %s" % (it.label, p.returncode, p.stderr[-500:])]
    recs = {}
    for ln in p.stdout.decode("utf-8").splitlines():
        rec = json.loads(ln)
        if rec["type"] == "pyc":
            recs[int(os.path.basename(rec["path"])[1:6])] = rec
    passed, failed = 0, []
    for n, exc in sorted(want.items()):
        rec = recs.get(n)
        if rec is None:
            failed.append("%s: cut %d: no record" % (it.label, n))
            continue
        load = rec.get("load")
        if load is None:
            # the header check alone calls it invalid (no code, or shorter than any code
            # object): the interpreter must have failed too
            if rec["status"] != "invalid" or exc is None:
                failed.append("%s: cut %d: no load result, status %s, interpreter: %s"
                              % (it.label, n, rec["status"], exc))
            else:
                passed += 1
            continue
        got = None if load["result"] == "loads" else load.get("exception")
        if got != (exc[0] if exc else None) or (got and rec["status"] != "invalid"):
            failed.append("%s: cut %d of %d: interpreter %s, pycinspect %s (%s)"
                          % (it.label, n, len(want) - 1, exc, load, rec["status"]))
        else:
            passed += 1
    if want[max(want)] is not None:  # the whole code must load, or the test is wrong
        failed.append("%s: the whole code did not load in the interpreter" % it.label)
    return passed, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", help="comma-separated targets to run (3.13,pypy3.9)")
    args = ap.parse_args()
    pyci = pyci_binary()
    if not pyci:
        return 1
    interps, pyodide_ok = discover(print)
    failures = []
    if missing_pyodide(pyodide_ok):
        failures.append("Pyodide required and missing")
    for it in [i for i in interps if i.major < 3]:
        print("not tested: %s (Python 2 reads past the end of marshal data as 0xFF bytes; "
              "--deep does not model it)" % it.label)
    interps = [i for i in interps if i.major >= 3]
    if args.only:
        interps = [i for i in interps if i.target in set(args.only.split(","))]
    if len(interps) < 2:
        failures.append("need at least two Python 3 interpreters, found %d" % len(interps))
    passed = 0
    tmp = tempfile.mkdtemp(prefix="pyci-deep-")
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for it, (p, f) in zip(interps, pool.map(lambda i: check(i, pyci, tmp), interps)):
                print("ran %-22s %d cuts agree, %d do not" % (it.label, p, len(f)))
                passed += p
                failures.extend(f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL " + f)
    print("%d passed, %d failed" % (passed, len(failures)))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
