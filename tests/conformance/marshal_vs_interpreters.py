#!/usr/bin/env python3
"""Conformance test: the marshal decoder against each interpreter's own marshal.loads().

For every interpreter found (pyenv versions and python2.X/python3.X/pypy3.X on PATH, and the
Pyodide releases conformance.py finds, one per implementation and version), take a
deterministic sample of a few hundred pycs it compiled for its own standard library (every Nth
of the sorted list under its stdlib: __pycache__/*.TAG*.pyc, or for 2.7 the legacy .pyc/.pyo
beside the sources; Pyodide ships its stdlib as sources only, in python_stdlib.zip, so every Nth
of those is compiled here by the interpreter), plus the fixtures written with its magic,
plus a few modules compiled here to exercise the qualname rule (nested functions and classes,
lambdas in comprehensions, private names, names declared global or nonlocal, closures) and the
constants (floats, complex, big ints, bytes, unicode).  Then

  - the interpreter itself runs marshal.loads(body) on each file and prints the code-object
    tree, one line per code object, in pre-order over co_consts (a code object reached twice is
    printed once, where it is first reached);
  - `pycinspect dump --consts` prints the same tree from the C decoder (code.tree of each
    object, turned into the same lines below, in dump_lines());

and the two must be equal line by line.  A line is: depth, co_filename, co_name, qualname,
co_firstlineno, argcount, posonlyargcount, kwonlyargcount, nlocals, stacksize, flags,
len(co_code), names, varnames, freevars, cellvars, constants (str, bytes, int, float, complex,
None, True, False, Ellipsis; numbers as str()/repr() print them).  The qualname is co_qualname
on 3.11+; before, the interpreter side derives it with the rule the C side implements
(derive_qualnames in src/marshal.c), written again below in Python.  On 3.11 the same rule is
also checked against the real co_qualname of every code object, which shows the rule is
CPython's (3.12+ add scopes the rule does not need to know: inlined comprehensions, PEP 695).

One interpreter process and one pycinspect process per version, all versions in parallel.
Environment: PYCI_BIN (required): the pycinspect binary; PYENV_ROOT as pyenv uses it;
PYCI_PYODIDE_DIRS, PYCI_PYODIDE_ROOT and PYCI_REQUIRE_PYODIDE=1 as in conformance.py.
Options: --only 3.13,2.7,pypy3.9 (restrict), --per-version N (default 300), -v.
Output: one line per failed file, then exactly "N passed, M failed".  Exit 0 iff M == 0.
Fails when fewer than two interpreters are found.  Standard library only.
"""

import argparse
import concurrent.futures
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree for the import below
from conformance import clean_env, discover, missing_pyodide, pyci_binary  # noqa: E402

TIMEOUT = 300
HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(HERE)), "fixtures")

# ------------------------------------------------------------------------------------------
# Child scripts.  They run under every interpreter, 2.7 included: keep them 2.7-compatible.

COMPILE = r"""
import sys, json, py_compile
for src, dst in json.load(open(sys.argv[1])):
    try:
        py_compile.compile(src, cfile=dst, doraise=True)
    except py_compile.PyCompileError:
        pass  # syntax this version does not have
"""

# The tree walker.  QUALNAME RULE: the same as derive_qualnames() in src/marshal.c.
WALK = r"""
import sys, json, marshal
PY3 = sys.version_info[0] >= 3
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)
CODE = type(compile("", "", "exec"))
STORED = sys.version_info >= (3, 11)
COMPS = ("<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>")
HDR = 16 if sys.version_info >= (3, 7) else 12 if sys.version_info >= (3, 3) else 8


def raw(s):
    if PY3:
        return s if isinstance(s, bytes) else s.encode("utf-8", "surrogatepass")
    return s.encode("utf-8") if isinstance(s, unicode) else s


def esc(s):
    out = []
    for c in bytearray(raw(s)):
        if c < 0x20 or c > 0x7e or c in (0x5c, 0x2c, 0x3a):
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)


def const(c):
    if c is None:
        return "N:None"
    if c is True:
        return "T:True"
    if c is False:
        return "F:False"
    if c is Ellipsis:
        return ".:Ellipsis"
    t = type(c)
    if PY3 and t is str or not PY3 and t in (str, unicode):
        return "s:" + esc(c)
    if PY3 and t is bytes:
        return "b:" + esc(c)
    if t is int or not PY3 and t is long:
        if (abs(c).bit_length() + 14) // 15 > 1000:
            h = hex(c)
            return "i:" + (h[:-1] if h.endswith("L") else h)
        return "i:" + str(c)
    if t is float:
        return "f:" + repr(c)
    if t is complex:
        return "c:" + repr(c)
    return None


class Node(object):
    pass


def collect(top):
    nodes, seen = [], set()

    def visit(co, depth, parent):
        if id(co) in seen:
            return
        seen.add(id(co))
        n = Node()
        n.co, n.depth, n.parent = co, depth, parent
        idx = len(nodes)
        nodes.append(n)
        scan(co.co_consts, depth, idx)

    def scan(items, depth, idx):
        for c in items:
            if isinstance(c, CODE):
                visit(c, depth + 1, idx)
            elif type(c) is tuple:
                scan(c, depth, idx)

    visit(top, 0, None)
    return nodes


def is_func(co):
    return bool(co.co_flags & 1)


def private(nodes, i):
    while i is not None and nodes[i].depth > 0:
        if not is_func(nodes[i].co):
            return nodes[i].co.co_name
        i = nodes[i].parent
    return None


def mangle(priv, name):
    if priv is None or not name.startswith("__"):
        return name
    if name.endswith("__") or "." in name:
        return name
    p = priv.lstrip("_")
    if not p:
        return name
    return "_" + p + name


def rule(nodes, n):
    co = n.co
    if n.depth <= 1:
        return co.co_name
    p = nodes[n.parent]
    pfunc = is_func(p.co)
    if pfunc and co.co_name not in COMPS + ("<lambda>",):
        m = mangle(private(nodes, n.parent), co.co_name)
        if m not in p.co.co_varnames and m not in p.co.co_cellvars and \
                m not in p.co.co_freevars:
            return co.co_name  # declared global in the parent function
    base = p.qual + (".<locals>" if pfunc and p.co.co_name not in COMPS else "")
    return base + "." + co.co_name


def derive(nodes):
    # pre-order: a parent's qual is set before its children's
    for n in nodes:
        n.derived = rule(nodes, n)
        n.qual = n.co.co_qualname if STORED else n.derived


def line(n):
    co = n.co
    f = [str(n.depth), esc(co.co_filename), esc(co.co_name), esc(n.qual), str(co.co_firstlineno),
         str(co.co_argcount), str(getattr(co, "co_posonlyargcount", -1)),
         str(getattr(co, "co_kwonlyargcount", -1)), str(co.co_nlocals), str(co.co_stacksize),
         str(co.co_flags), str(len(co.co_code))]
    for names in (co.co_names, co.co_varnames, co.co_freevars, co.co_cellvars):
        f.append(",".join(esc(x) for x in names))
    f.append(",".join(c for c in (const(x) for x in co.co_consts) if c is not None))
    return "\t".join(f)


out = sys.stdout
rule_bad = 0
for path in json.load(open(sys.argv[1])):
    out.write("# %s\n" % path)
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        nodes = collect(marshal.loads(data[HDR:]))
    except Exception as e:
        out.write("ERROR\t%s\t%s: %s\n" % (path, type(e).__name__, e))
        continue
    derive(nodes)
    for n in nodes:
        if STORED and n.derived != n.qual:
            rule_bad += 1
            out.write("@@RULE@@\t%s\t%s\t%s\n" % (path, esc(n.qual), esc(n.derived)))
        out.write(line(n) + "\n")
"""

# Modules compiled by every interpreter that can: the qualname rule and the constants.
SOURCES = {
    "qn_common.py": r'''
"""Module docstring."""
import sys
X, Y, Z, W, V = 1.5, -0.0, 1e16, 1e-05, 0.1
BIG, NEG, I31, I63 = 123456789012345678901234567890, -2 ** 70, 2 ** 31, -2 ** 63
HUGE = 0x%s
MID = -0x%s
C1, C2, C3, C4 = 3j, (1 + 2j), (-1.5 - 0.25j), 1e300 * 1e300j
B, U = b"bytes\x00\xff,:\\", u"unicode \u00e9\u4e2d\t"
INF, NINF, TINY = 1e400, -1e400, 5e-324
E = Ellipsis


def outer(a, b=2, *args, **kw):
    x = 1

    def inner(c):
        return c + x

    class Local(object):
        def meth(self):
            return lambda q: q

    g = (i for i in range(3))
    l = [lambda: i for i in range(3)]
    s = {(lambda: j) for j in range(2)}
    d = {k: (lambda: k) for k in range(2)}
    return inner, Local, g, l, s, d


class K(object):
    def __priv(self):
        def __deep():
            pass
        return __deep

    def method(self):
        class __Inner(object):
            def m(self):
                pass
        return __Inner

    class Nested(object):
        def f(self):
            def g():
                pass
            return g


class __Under(object):
    def m(self):
        def __x():
            pass
        return __x


def declares_global():
    global gfunc, GClass

    def gfunc():
        def in_g():
            pass
        return in_g

    class GClass(object):
        def m(self):
            pass
    return gfunc


def closure_arg(a):
    def use():
        return a
    return use


lam = lambda: (lambda: 1)
''' % ("f" * 12001, "9" * 4000),
    "qn_py3.py": r'''
def kw(a, *, b, c=3):
    count = 1

    def inner():
        nonlocal count
        count += 1

        def deeper():
            return count
        return deeper
    return inner


async def coro():
    async def inner():
        pass
    return inner


class M:
    def __init__(self):
        super().__init__()


def nonlocal_def():
    def f():
        pass

    def g():
        nonlocal f

        def f():
            pass
    return g
''',
    "qn_py36.py": r'''
async def agen():
    return [x async for x in aiter()]

F = f"{1!r:>10}"
''',
    "qn_py38.py": r'''
def po(a, b, /, c, *, d):
    if (n := a) > 5:
        return n
''',
}

# ------------------------------------------------------------------------------------------


def run(cmd, timeout=TIMEOUT, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                          **kw)


def child_env():
    env = clean_env()
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def has_magic(path, magic):
    try:
        with open(path, "rb") as f:
            return f.read(4) == magic
    except OSError:
        return False


def stdlib_pycs(it):
    legacy = it.major == 2 or not it.tag
    found = []
    for dirpath, dirnames, filenames in os.walk(it.stdlib):
        dirnames.sort()
        inside = os.path.basename(dirpath) == "__pycache__"
        for n in sorted(filenames):
            if legacy:
                ok = not inside and (n.endswith(".pyc") or n.endswith(".pyo"))
            else:
                ok = inside and n.endswith(".pyc") and ("." + it.tag + ".") in n
            if ok:
                found.append(os.path.join(dirpath, n))
    return sorted(found)


def pyodide_stdlib_jobs(it, work, want):
    """Pyodide's standard library is sources only, in python_stdlib.zip: take a sample of them
    out, to be compiled by the interpreter with the test modules.  Returns [[src, dst]]."""
    with zipfile.ZipFile(os.path.join(it.pyodide_dir, "python_stdlib.zip")) as z:
        names = sorted(n for n in z.namelist() if n.endswith(".py"))
        jobs = []
        for n in sample(names, want):
            src = os.path.join(work, "stdlib", n)
            os.makedirs(os.path.dirname(src), exist_ok=True)
            with open(src, "wb") as f:
                f.write(z.read(n))
            jobs.append([src, src + "c"])
    return jobs, len(names)


def sample(paths, want):
    if len(paths) <= want:
        return paths
    step = len(paths) / float(want)
    return [paths[int(i * step)] for i in range(want)]


def parse_output(text, paths):
    """Split '# PATH' sections into {path: [lines]}."""
    res, cur = {}, None
    for l in text.splitlines():
        if l.startswith("# ") and l[2:] in paths:
            cur = l[2:]
            res[cur] = []
        elif l.startswith("ERROR\t"):
            parts = l.split("\t")
            p = parts[1] if len(parts) > 1 else cur
            res.setdefault(p, []).append(l)
        elif cur is not None:
            res[cur].append(l)
    if len(paths) == 1 and not res:
        res[paths[0]] = text.splitlines()
    return res


def dump_esc(s):
    """The escaping of esc() in the child, applied to a JSON string from pycinspect (whose
    non-UTF-8 bytes come back as lone surrogates U+DC80..U+DCFF, docs/json.md)."""
    out = []
    for c in s.encode("utf-8", "surrogateescape"):
        if c < 0x20 or c > 0x7e or c in (0x5c, 0x2c, 0x3a):
            out.append("\\x%02x" % c)
        else:
            out.append(chr(c))
    return "".join(out)


def dump_lines(text):
    """{path: [lines]} from `pycinspect dump --consts` JSON Lines, in the child's format."""
    res = {}
    for l in text.split("\n"):  # not splitlines(): strings may hold U+2028 and friends
        if not l:
            continue
        o = json.loads(l)
        if o.get("type") != "dump":
            continue
        path = o["path"].encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        code = o.get("code")
        if code is None or code.get("error") is not None:
            why = "no body" if code is None else "%s at %s" % (code["error"], code["error_offset"])
            res[path] = ["ERROR\t%s\t%s" % (path, why)]
            continue
        lines = []
        for c in code["tree"]:
            num = lambda v: str(-1 if v is None else v)
            f = [str(c["depth"]), dump_esc(c["filename"]), dump_esc(c["name"]),
                 dump_esc(c["qualname"]), num(c["firstlineno"]), num(c["argcount"]),
                 num(c["posonlyargcount"]), num(c["kwonlyargcount"]), num(c["nlocals"]),
                 num(c["stacksize"]), num(c["flags"]), num(c["code_size"])]
            for k in ("names", "varnames", "freevars", "cellvars"):
                f.append(",".join(dump_esc(x) for x in c[k]))
            f.append(",".join("%s:%s" % (k["type"], dump_esc(k["value"])) for k in c["consts"]))
            lines.append("\t".join(f))
        res[path] = lines
    return res


def check(it, pyci, tmp, per_version, verbose):
    """Returns (passed, [failure lines], [notes])."""
    notes, failures = [], []
    work = os.path.join(tmp, it.target)
    os.makedirs(work)

    # modules compiled here
    jobs = []
    for name, text in sorted(SOURCES.items()):
        src = os.path.join(work, name)
        with open(src, "w") as f:
            f.write(text)
        jobs.append([src, src + "c"])
    std_jobs, std_total = [], 0
    if it.pyodide:  # one process compiles both: Pyodide takes seconds to start
        std_jobs, std_total = pyodide_stdlib_jobs(it, work, per_version)
    jf = os.path.join(work, "compile.json")
    with open(jf, "w") as f:
        json.dump(jobs + std_jobs, f)
    r = run(it.cmd + ["-E", "-s", "-c", COMPILE, jf], env=child_env())
    if r.returncode != 0:
        failures.append("%s: compiling the test modules failed: %s" % (
            it.label, r.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]))
    own = [dst for _, dst in jobs if os.path.exists(dst)]
    fixtures = []
    for dirpath, _, filenames in os.walk(FIXTURES):
        if os.path.basename(os.path.dirname(dirpath)) == "broken" or \
                os.path.basename(dirpath) == "broken":
            continue  # damaged headers: not the decoder's business
        for n in filenames:
            p = os.path.join(dirpath, n)
            if n.endswith(".pyc") and has_magic(p, it.magic_bytes):
                fixtures.append(p)
    if it.pyodide:
        picked = [dst for _, dst in std_jobs if has_magic(dst, it.magic_bytes)]
        notes.append("%s: Pyodide %s: %d own modules, %d fixtures, %d stdlib pycs compiled from "
                     "a sample of its %d stdlib sources" % (it.label, it.pyodide, len(own),
                                                            len(fixtures), len(picked),
                                                            std_total))
    else:
        std = [p for p in stdlib_pycs(it) if has_magic(p, it.magic_bytes)]
        picked = sample(std, per_version)
        notes.append("%s: %d own modules, %d fixtures, %d of %d stdlib pycs" % (
            it.label, len(own), len(fixtures), len(picked), len(std)))
    paths = own + sorted(fixtures) + picked
    if len(picked) < min(per_version, 50):
        failures.append("%s: only %d stdlib pycs found under %s" % (it.label, len(picked),
                                                                    it.stdlib))

    lf = os.path.join(work, "files.json")
    with open(lf, "w") as f:
        json.dump(paths, f)
    want = run(it.cmd + ["-E", "-s", "-c", WALK, lf], env=child_env())
    got = run([pyci, "dump", "--consts", "--no-default-excludes", "--"] + paths)
    if want.returncode != 0:
        failures.append("%s: the interpreter's walker failed: %s" % (
            it.label, want.stderr.decode("utf-8", "replace").strip()[-500:]))
        return 0, failures, notes
    wtext = want.stdout.decode("utf-8")
    rule = [l for l in wtext.splitlines() if l.startswith("@@RULE@@")]
    wtext = "\n".join(l for l in wtext.splitlines() if not l.startswith("@@RULE@@"))
    if rule and (it.impl, it.major, it.minor) == ("cpython", 3, 11):
        for l in rule:
            failures.append("%s: the qualname rule differs from co_qualname: %s" % (it.label, l))
    elif rule:
        notes.append("%s: the qualname rule differs from co_qualname on %d code objects (%s)"
                     % (it.label, len(rule), "PEP 695/709 scopes; not used for this version"))
    w = parse_output(wtext, set(paths))
    if got.returncode not in (0, 1) or got.stderr:
        failures.append("%s: pycinspect dump exited %d: %s" % (
            it.label, got.returncode, got.stderr.decode("utf-8", "replace").strip()[-500:]))
    g = dump_lines(got.stdout.decode("utf-8"))
    passed = 0
    for p in paths:
        a, b = w.get(p), g.get(p)
        if a is None or b is None:
            failures.append("%s %s: no output (%s)" % (it.label, p,
                                                       "interpreter" if a is None else "C"))
            continue
        if a == b or (len(a) == len(b) == 1 and a[0].startswith("ERROR\t") and
                      b[0].startswith("ERROR\t")):
            passed += 1  # the same tree, or both refuse the file
            continue
        for i in range(max(len(a), len(b))):
            x = a[i] if i < len(a) else "<missing>"
            y = b[i] if i < len(b) else "<missing>"
            if x != y:
                failures.append("%s %s: line %d\n    interpreter: %s\n    dump:        %s" % (
                    it.label, p, i + 1, x, y))
                break
    return passed, failures, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", default="")
    ap.add_argument("--per-version", type=int, default=300)
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    pyci = pyci_binary()
    if not pyci:
        return 1

    def log(msg):
        if args.v:
            print(msg)

    interps, pyodide_ok = discover(log)
    if missing_pyodide(pyodide_ok):
        print("0 passed, 1 failed")
        return 1
    if args.only:
        keep = set(args.only.split(","))
        interps = [i for i in interps if i.target in keep]
    log("interpreters: %s" % ", ".join(i.label for i in interps))
    if len(interps) < 2:
        print("fewer than two interpreters found (%s)" % ", ".join(i.label for i in interps))
        print("0 passed, 1 failed")
        return 1

    tmp = tempfile.mkdtemp(prefix="pyci-marshal-")
    passed, failed = 0, 0
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, len(interps))) as ex:
            futs = [ex.submit(check, it, pyci, tmp, args.per_version, args.v)
                    for it in interps]
            for it, fut in zip(interps, futs):
                try:
                    p, fails, notes = fut.result()
                except (OSError, subprocess.TimeoutExpired) as e:
                    p, fails, notes = 0, ["%s: %s" % (it.label, e)], []
                passed += p
                failed += len(fails)
                for n in notes:
                    log(n)
                for f in fails:
                    print(f)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
