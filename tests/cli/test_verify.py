#!/usr/bin/env python3
"""`pycinspect verify` against caches that real interpreters write, and the attacks on them.

Every interpreter the conformance test finds (pyenv's 2.7 and 3.6-3.13, PyPy, and Pyodide's
3.14 and 3.15 when installed; PYCI_REQUIRE_PYODIDE=1 makes them required) writes the caches:

  - what must not be flagged: a set of sources (docstrings, asserts, __debug__, frozensets
    whose order follows randomised hashes, nested functions and lambdas, big and odd constants,
    a latin-1, a cp1252 and a shift_jis source with a coding cookie, CRLF, a BOM, an empty file,
    no final newline), compiled in every invalidation mode and optimisation level the
    interpreter has: every cache must match;
  - the attacks, each made from the interpreter's own output: a timestamp cache whose header is
    the real source's over another module's code; an unchecked-hash cache whose hash matches
    the harmless source and whose code is another's (the skill-scanner bypass); the same with
    a checked hash; an opt-1 cache holding opt-0 code; a one-constant change (a URL); a cache
    edited in place (marshal.loads, code.replace, marshal.dumps) to add a name.  scan calls
    every one of them fresh: the header is right.  verify must say differs, and where;
  - what cannot be checked: orphaned and sourceless caches list their imports (read from the
    bytecode with each version's opcodes: the interpreter's own import statements are the
    oracle) and watched names; a cache of a version no interpreter has; a source with a
    SyntaxError.

Then bad interpreters given with --python (not Python, one that exits at once, one that never
answers, one that crashes when asked to compile), a 10 MB source, JSON, --check and --jobs.
"""
import json
import os
import re
import struct
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import run  # noqa: E402

sys.path.insert(0, os.path.join(clitest.ROOT, "tests", "conformance"))
import conformance as conf  # noqa: E402

PYODIDE_PYTHON = os.path.join(clitest.ROOT, "tools", "pyodide-python")

# A module in the language 2.7 and every 3.x share.
COMMON = b'''"""The module's docstring."""
import os
from os import path as _p

GOOD_URL = "https://example.org/api"
BIG = 12345678901234567890123456789
NUMBERS = (1, 2.5, -0.0, 3j, 1e300, 2**62, -2**63)
TEXT = u"\\u00e9t\\u00e9 \\U0001f600"
RAW = b"\\x00\\xff"
assert GOOD_URL, "an assert"
if __debug__:
    DEBUG = True


def fetch(x, y=2, *args, **kw):
    """fetch's docstring."""
    assert x is not None
    if x in ("a", "b", "c", "d", "e", "f", "g"):
        return GOOD_URL
    if x in {"p", "q", "r", "s", "t", "u", "v", "w"}:
        return [i * 2 for i in range(3)]
    return lambda z: z + y, lambda w: w


class Klass(object):
    """A class."""
    attr = frozenset(["one", "two", "three", "four"])

    def method(self):
        def inner():
            return self.attr
        return inner

    def __private(self):
        return {k: v for k, v in self.__dict__.items()}


def gen():
    try:
        yield 1
    except ValueError:
        pass
    finally:
        x = 2
'''

# Sources only Python 3.6+ reads.
PY36 = b'''
import asyncio


async def run(x: int = 1) -> int:
    async with x as y:
        await y
    return f"{x!r:>10} and {y}"


def outer():
    n = 0

    def inner():
        nonlocal n
        n += 1
        return n
    return inner
'''

SOURCES = {
    "common": COMMON,
    "latin1": b"# -*- coding: latin-1 -*-\nS = '\xe9t\xe9'\nU = u'\xe9'\n",
    "cp1252": b"# vim: set fileencoding=cp1252 :\nS = u'\x80 \x93quoted\x94'\n",
    "sjis": b"# coding: shift_jis\nS = u'\x82\xa0\x82\xa2'\n",
    "crlf": b"x = 1\r\ndef f():\r\n    return x\r\n",
    "bom": b"\xef\xbb\xbfx = 'with a BOM'\n",
    "empty": b"",
    "nonl": b"x = 1",
}


# Sources get this mtime before they are compiled: Pyodide sees times in rounded milliseconds
# (conformance.py), so a time within half a millisecond of a second would read as the next.
SRC_NS = 1600000000 * 10**9 + 500000000


def write_source(path, data):
    clitest.write_file(path, data)
    os.utime(path, ns=(SRC_NS, SRC_NS))


def log(msg):
    sys.stdout.write("# %s\n" % msg)
    sys.stdout.flush()


_FOUND = []


def interpreters():
    """The interpreters of the conformance test: (found, pyodide versions that ran)."""
    if not _FOUND:
        found, pyodide_ok = conf.discover(log)
        if os.environ.get("PYCI_REQUIRE_PYODIDE") == "1":
            missing = set(conf.pyodide_versions()) - pyodide_ok
            if missing:
                raise AssertionError("Pyodide required, missing: %s" % sorted(missing))
        if len([i for i in found if not i.pyodide]) < 2:
            raise AssertionError("fewer than two native interpreters found")
        _FOUND.extend(found)
        log("interpreters: " + ", ".join(i.label for i in found))
    return _FOUND


def python_args(tmp, interps):
    """--python VERSION=PATH for each interpreter (Pyodide through a wrapper script)."""
    args = []
    for it in interps:
        path = it.cmd[0]
        if it.pyodide:
            path = os.path.join(tmp, "pyodide-%s" % it.target)
            with open(path, "w") as f:
                f.write('#!/bin/sh\nexec %s --pyodide %s "$@"\n' % (it.cmd[0], it.cmd[2]))
            os.chmod(path, 0o755)
        args += ["--python", "%s=%s" % (it.target, path)]
    return args


def compile_jobs(it, root, jobs):
    """Have `it` write the caches of jobs [(source, opt, mode or None)], one process per level
    (2.7 takes the level from -O; Pyodide's py_compile takes optimize= at -O0)."""
    for opt in sorted({j[1] for j in jobs}):
        mine = [[s, o, conf.PYC_MODE[m] if m else None] for s, o, m in jobs
                if o == opt or it.pyodide]
        if not mine:
            continue
        jf = os.path.join(root, "jobs-%d.json" % opt)
        with open(jf, "w") as f:
            json.dump(mine, f)
        flags = ["-E", "-s"] + (["-" + "O" * opt] if opt and not it.pyodide else [])
        r = conf.run(it.cmd + flags + ["-c", conf.COMPILE, jf], cwd=root)
        os.unlink(jf)
        if r.returncode != 0:
            raise AssertionError("%s could not compile: %s" % (
                it.label, r.stderr.decode("utf-8", "replace")[-2000:]))
        if it.pyodide:
            break


def run_python(it, code, *args):
    r = conf.run(it.cmd + ["-E", "-s", "-c", code] + list(args))
    if r.returncode != 0:
        raise AssertionError("%s: %s" % (it.label, r.stderr.decode("utf-8", "replace")[-2000:]))
    return r.stdout


def verify_json(args, expect_rc=None, timeout=900):
    """`verify --json ARGS`: ({path: record}, summary, proc)."""
    p = run(["verify", "--json"] + list(args), timeout=timeout)
    if expect_rc is not None and p.returncode != expect_rc:
        raise AssertionError("exit %d, expected %d; stderr: %s" % (
            p.returncode, expect_rc, p.stderr.decode("utf-8", "replace")[-3000:]))
    text = p.stdout.decode("utf-8", "surrogateescape")
    objs = [json.loads(line) for line in clitest.json_lines(text)]
    if not objs or objs[-1].get("type") != "summary":
        raise AssertionError("no summary last: %r; stderr %s" % (
            objs[-1:], p.stderr.decode("utf-8", "replace")[-2000:]))
    recs = {}
    for o in objs[:-1]:
        if o["type"] != "pyc":
            raise AssertionError("unexpected object %r" % o)
        for key in ("verdict", "why", "where", "cache", "source", "offset", "interpreter",
                    "optimize", "imports", "watched"):
            if key not in o["verify"]:
                raise AssertionError("no verify.%s in %r" % (key, o))
        recs[o["path"]] = o
    return recs, objs[-1], p


class Verify(clitest.TempDirCase):
    def test_written_caches_match(self):
        """Caches each interpreter writes, in every mode and level, match their sources."""
        interps = interpreters()
        jobs_by = []
        for it in interps:
            for opt in it.opts():
                # 2.7 writes -O and -OO to the same NAME.pyo: a tree per level
                root = os.path.join(self.tmp, "%s-o%d" % (it.target, opt if it.legacy else 0))
                os.makedirs(root, exist_ok=True)
                jobs = []
                names = dict(SOURCES)
                if (it.major, it.minor) >= (3, 6):
                    names["py36"] = COMMON + PY36
                for mode in it.modes():
                    for name, data in names.items():
                        src = os.path.join(root, "%s_%s.py" % (name, conf.MODE_ABBR[mode]))
                        write_source(src, data)
                        jobs.append((src, opt, mode if it.hash_pycs else None))
                jobs_by.append((it, root, jobs))
        for it, root, jobs in jobs_by:
            compile_jobs(it, root, jobs)
        # opt-3, as an import under -OOO writes it (code as -OO's)
        extra = 0
        for it in interps:
            if it.legacy or it.pyodide or it.opts() == [0]:
                continue
            root = os.path.join(self.tmp, "%s-import" % it.target)
            clitest.write_file(os.path.join(root, "imported.py"), COMMON)
            r = conf.run(it.cmd + ["-E", "-s", "-OOO", "-c", "import imported"], cwd=root)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(os.path.isfile(os.path.join(
                root, "__pycache__", "imported.%s.opt-3.pyc" % it.tag)))
            extra += 1
        recs, summary, p = verify_json(python_args(self.tmp, interps) + [self.tmp])
        bad = ["%s: %s %s %s %s" % (path, r["verify"]["verdict"], r["verify"]["why"],
                                    r["verify"]["where"], r["verify"]["cache"])
               for path, r in recs.items() if r["verify"]["verdict"] != "matches"]
        self.assertEqual(bad, [])
        want = sum(len(j) for _, _, j in jobs_by) + extra
        self.assertEqual(len(recs), want)
        self.assertEqual(summary["verify"]["matches"], want)
        used = {i["path"]: i for i in summary["interpreters"]}
        self.assertEqual(len(used), len(interps))
        for rec in recs.values():
            it = rec["verify"]["interpreter"]
            self.assertEqual(it["version"].rsplit(".", 1)[0], rec["version"].replace("pypy", ""))
        log("%d caches of %d interpreters: all match" % (want, len(interps)))

    def test_attacks_differ(self):
        """Each attack, built from each interpreter's own output, differs; scan says fresh."""
        interps = interpreters()
        expect = {}  # cache path -> (attack, check)
        for it in interps:
            root = os.path.join(self.tmp, it.target)
            os.makedirs(root)
            expect.update(self.build_attacks(it, root))
        targets = ",".join(it.target for it in interps)
        s = run(["scan", "--json", "--all", "--target", targets, self.tmp])
        pycs, _, _ = clitest.parse_jsonl(s.stdout)
        status = {o["path"]: o["status"] for o in pycs}
        recs, summary, p = verify_json(python_args(self.tmp, interps) + ["--check", self.tmp],
                                       expect_rc=1)
        for path, (attack, check) in sorted(expect.items()):
            with self.subTest(path=path, attack=attack):
                self.assertEqual(status[path], "fresh", "scan: the header must look right")
                v = recs[path]["verify"]
                self.assertEqual(v["verdict"], "differs", v)
                self.assertTrue(v["where"].startswith("<module>"), v)
                check(v)
        # the harmless caches the attacks were made from: matches
        for path, rec in recs.items():
            if path not in expect:
                self.assertEqual(rec["verify"]["verdict"], "matches", rec)
        log("%d attacks on %d interpreters: all differ" % (len(expect), len(interps)))

    def build_attacks(self, it, root):
        """The attack caches for interpreter it under root: {cache path: (attack, check)}."""
        out = {}

        def src(name, data):
            path = os.path.join(root, name + ".py")
            write_source(path, data)
            return path

        def cache(name, opt=0):
            return it.cache_path(root, name, opt)

        def read(path):
            with open(path, "rb") as f:
                return f.read()

        def write(path, data):
            with open(path, "wb") as f:
                f.write(data)

        hsize = 8 if (it.major, it.minor) < (3, 3) else 12 if (it.major, it.minor) < (3, 7) else 16
        harmless = b'def hello():\n    return "hi"\n'
        evil = b'import os\ndef hello():\n    os.system("id")\n    return "hi"\n'
        good = b'URL = "https://example.org/api"\ndef fetch():\n    return URL\n'
        bad_url = good.replace(b"example.org", b"exampl3.org")
        asserting = b'def check(x):\n    assert x > 0, "positive"\n    return x\n'
        # the sources, and the evil ones under other names, compiled by the interpreter
        names = {"ts_swap": harmless, "ts_swap_evil": evil, "url": good, "url_evil": bad_url,
                 "addname": good, "opt_swap": asserting}
        if it.hash_pycs:
            names.update({"uh_swap": harmless, "uh_swap_evil": evil, "ch_swap": harmless,
                          "ch_swap_evil": evil})
        paths = {n: src(n, d) for n, d in names.items()}
        jobs = [(paths[n], 0, None) for n in names if not n.startswith(("uh", "ch"))]
        if it.hash_pycs:
            jobs = [(p, o, m or "timestamp") for p, o, m in jobs]
            jobs += [(paths[n], 0, "unchecked-hash") for n in ("uh_swap", "uh_swap_evil")]
            jobs += [(paths[n], 0, "checked-hash") for n in ("ch_swap", "ch_swap_evil")]
        opt_ok = it.opts() != [0]
        if opt_ok:
            # opt_swap at -O too, in its own tree for 2.7 (its .pyo)
            jobs.append((paths["opt_swap"], 1, "timestamp" if it.hash_pycs else None))
        compile_jobs(it, root, jobs)

        def swap(name, why):
            victim, donor = cache(name), cache(name + "_evil")
            write(victim, read(victim)[:hsize] + read(donor)[hsize:])
            os.unlink(donor)
            os.unlink(paths[name + "_evil"])

            def check(v):
                self.assertIn("os", v["imports"] or [], v)  # what the reviewer is shown
                self.assertIn("system", v["watched"], v)
            out[victim] = (why, check)

        swap("ts_swap", "timestamp header over another module's code")
        if it.hash_pycs:
            swap("uh_swap", "unchecked hash of the harmless source over other code")
            swap("ch_swap", "checked hash of the harmless source over other code")
        # one constant
        victim, donor = cache("url"), cache("url_evil")
        write(victim, read(victim)[:hsize] + read(donor)[hsize:])
        os.unlink(donor)
        os.unlink(paths["url_evil"])

        def url_check(v):
            self.assertRegex(v["where"], r"\.co_consts\[\d+\]$")
            self.assertEqual(v["cache"], "'https://exampl3.org/api'")
            self.assertEqual(v["source"], "'https://example.org/api'")
            self.assertEqual(v["offset"], len("https://exampl"))
        # the co_filename recorded is url_evil.py's: the URL is found first all the same
        out[victim] = ("one constant", url_check)
        # a name added in place
        add = cache("addname")
        data = read(add)
        body = run_python(it, "import marshal, sys\n"
                          "c = marshal.loads(open(sys.argv[1], 'rb').read()[%d:])\n"
                          "if hasattr(c, 'replace'):\n"
                          "    c = c.replace(co_names=c.co_names + ('added_name',))\n"
                          "else:\n"
                          "    import types\n"
                          "    a = [c.co_argcount] + ([c.co_kwonlyargcount] if sys.version_info[0] > 2 else [])\n"
                          "    c = types.CodeType(*(a + [c.co_nlocals, c.co_stacksize, c.co_flags,"
                          " c.co_code, c.co_consts, c.co_names + ('added_name',), c.co_varnames,"
                          " c.co_filename, c.co_name, c.co_firstlineno, c.co_lnotab, c.co_freevars,"
                          " c.co_cellvars]))\n"
                          "out = getattr(sys.stdout, 'buffer', sys.stdout)\n"
                          "out.write(marshal.dumps(c))\n" % hsize, add)
        write(add, data[:hsize] + body)

        def name_check(v):
            self.assertRegex(v["where"], r"^<module>\.co_names\[\d+\]$")
            self.assertEqual(v["cache"], "'added_name'")
            self.assertEqual(v["source"], "(absent)")
        out[add] = ("a name added in place", name_check)
        if opt_ok:
            # the opt-1 cache holds the opt-0 code (with its assert)
            o1 = cache("opt_swap", 1)
            o0 = cache("opt_swap", 0)
            write(o1, read(o1)[:hsize] + read(o0)[hsize:])

            def opt_check(v):
                self.assertIn(".check.", v["where"])
            out[o1] = ("opt-1 holding opt-0 code", opt_check)
        return out

    def test_sourceless_names(self):
        """Orphaned and sourceless caches: unverifiable, with what their code imports, read
        from each version's bytecode."""
        interps = interpreters()
        data = (b"import socket\nimport os.path\nfrom subprocess import run\n"
                b"def f():\n    import ctypes\n    exec('1')\n    os.system('x')\n")
        want_imports = ["socket", "os.path", "subprocess", "ctypes"]
        expect = {}
        for it in interps:
            root = os.path.join(self.tmp, it.target)
            src = os.path.join(root, "gone.py")
            clitest.write_file(src, data)
            compile_jobs(it, root, [(src, 0, None)])
            os.unlink(src)
            c = it.cache_path(root, "gone", 0)
            expect[c] = "sourceless" if it.legacy else "orphaned"
        recs, summary, p = verify_json(python_args(self.tmp, interps) + [self.tmp])
        for path, kind in expect.items():
            with self.subTest(path=path):
                v = recs[path]["verify"]
                self.assertEqual(v["verdict"], "unverifiable")
                self.assertIn("no source: " + kind, v["why"])
                self.assertEqual(v["imports"], want_imports)
                self.assertEqual(set(v["watched"]), {"socket", "subprocess", "ctypes", "exec",
                                                     "system"})
        self.assertEqual(summary["verify"]["no_source"], len(expect))
        # the text says it too
        p = run(["verify"] + python_args(self.tmp, interps) + [self.tmp], timeout=900)
        line = [ln for ln in p.stdout.decode().splitlines() if "gone" in ln][0]
        self.assertIn("imports: socket, os.path, subprocess, ctypes", line)

    def native(self, major, minor):
        for it in interpreters():
            if (it.major, it.minor) == (major, minor) and not it.pyodide and it.impl == "cpython":
                return it
        self.fail("no CPython %d.%d" % (major, minor))

    def test_syntax_error_and_no_interpreter(self):
        it = self.native(3, 12)
        src = os.path.join(self.tmp, "m.py")
        clitest.write_file(src, b"x = 1\n")
        compile_jobs(it, self.tmp, [(src, 0, "timestamp")])
        clitest.write_file(src, b"x = (\n")
        # a 3.5 cache, made from a 3.6 one: no interpreter of 3.5 here
        it36 = self.native(3, 6)
        old = os.path.join(self.tmp, "old.py")
        clitest.write_file(old, b"y = 2\n")
        compile_jobs(it36, self.tmp, [(old, 0, None)])
        c36 = it36.cache_path(self.tmp, "old", 0)
        with open(c36, "rb") as f:
            data = f.read()
        c35 = os.path.join(self.tmp, "__pycache__", "old.cpython-35.pyc")
        with open(c35, "wb") as f:
            f.write(struct.pack("<H", 3351) + data[2:])
        os.unlink(c36)
        recs, summary, p = verify_json(["--check", self.tmp], expect_rc=1)
        v = recs[it.cache_path(self.tmp, "m", 0)]["verify"]
        self.assertEqual(v["verdict"], "unverifiable")
        self.assertRegex(v["why"], r"^the source does not compile: SyntaxError: .*m\.py, line 1")
        v = recs[c35]["verify"]
        self.assertEqual(v["verdict"], "unverifiable")
        self.assertEqual(v["why"], "no interpreter of 3.5 (magic 3351) on PATH or in pyenv's "
                         "versions (name one with --python 3.5=PATH)")

    def test_jython_class_files(self):
        """Jython's NAME$py.class (real ones, in fixtures/jython): Java bytecode, unverifiable."""
        import shutil
        tree = os.path.join(self.tmp, "jython")
        shutil.copytree(os.path.join(clitest.FIXTURES, "jython"), tree)
        recs, summary, p = verify_json([tree], expect_rc=0)
        classes = [r for r in recs.values() if r["layout"] == "jython"]
        self.assertTrue(classes)
        for r in classes:
            self.assertEqual(r["version"], "jython2.7")
            self.assertEqual(r["verify"]["verdict"], "unverifiable")
            self.assertEqual(r["verify"]["why"],
                             "a Jython class file: Java bytecode, not marshalled code")

    def test_bad_interpreters(self):
        it = self.native(3, 12)
        src = os.path.join(self.tmp, "m.py")
        clitest.write_file(src, b"x = 1\n")
        compile_jobs(it, self.tmp, [(src, 0, "timestamp")])
        cache = it.cache_path(self.tmp, "m", 0)
        bin_dir = os.path.join(self.tmp, "bin")
        os.mkdir(bin_dir)

        def script(name, text):
            p = os.path.join(bin_dir, name)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, 0o755)
            return p

        crash = script("crash", "#!%s\nimport os, signal, struct\n"
                       "os.write(1, struct.pack('<I', 21) + b'H' + bytes([0xcb, 0x0d, 0x0d, 0x0a,"
                       " 1, 0]) + b'cpython 3.12.9')\n"
                       "os.read(0, 1)\nos.kill(os.getpid(), signal.SIGSEGV)\n" % it.cmd[0])
        cases = [
            ("not python", script("notpy", "#!/bin/sh\necho 'I am not Python' >&2\nexit 2\n"),
             [], r"'.*/notpy' exited with status 2: I am not Python$", 20),
            ("a text file", os.path.join(self.tmp, "m.py"), [],
             r"cannot be run: Permission denied", 20),
            ("exits at once", "/bin/false", [], r"'/bin/false' exited with status 1$", 20),
            ("sleeps forever", script("sleeps", "#!/bin/sh\nexec sleep 600\n"), ["--timeout", "2"],
             r"did not start and answer within 2\.000 s$", 30),
            ("crashes when asked", crash, [],
             r"the interpreter CPython 3\.12\.9 '.*/crash' was killed by signal 11 SIGSEGV$", 20),
        ]
        for what, path, extra, want, secs in cases:
            with self.subTest(what=what):
                t0 = time.monotonic()
                recs, summary, p = verify_json(["--python", "3.12=" + path, "--check"] + extra
                                               + [self.tmp], expect_rc=1)
                took = time.monotonic() - t0
                v = recs[cache]["verify"]
                self.assertEqual(v["verdict"], "unverifiable")
                self.assertRegex(v["why"], want)
                self.assertLess(took, secs)
                self.assertEqual(summary["interpreters"][0]["path"], path)
                if path != crash:  # never usable; the crash is one failure, not three
                    self.assertIsNotNone(summary["interpreters"][0]["error"])
        # a 3.12 that is another version
        it11 = self.native(3, 11)
        recs, _, _ = verify_json(["--python", "3.12=" + it11.cmd[0], self.tmp], expect_rc=0)
        self.assertRegex(recs[cache]["verify"]["why"], r"given for 3\.12 is CPython 3\.11\.\d+$")
        # no process is left behind: the sleeper was killed (its script exec'd "sleep 600")
        time.sleep(0.5)
        ps = subprocess.run(["ps", "-eo", "args"], stdout=subprocess.PIPE).stdout.decode()
        self.assertNotIn(bin_dir, ps)
        self.assertNotIn("sleep 600", ps)

    def test_large_source(self):
        """A 10 MB source compiles and matches (its cache is some MB too)."""
        it = self.native(3, 12)
        src = os.path.join(self.tmp, "big.py")
        lines = [b"def f%d(a, b=%d):\n    return a * b + %d  # padding padding padding\n"
                 % (k, k, k) for k in range(135000)]
        clitest.write_file(src, b"".join(lines))
        self.assertGreater(os.path.getsize(src), 10 * 1000 * 1000)
        compile_jobs(it, self.tmp, [(src, 0, "timestamp")])
        t0 = time.monotonic()
        recs, _, _ = verify_json(["--timeout", "600", "--check", self.tmp], expect_rc=0)
        log("10 MB source: %.1f s" % (time.monotonic() - t0))
        self.assertEqual([r["verify"]["verdict"] for r in recs.values()], ["matches"])

    def test_text_json_check_jobs(self):
        it = self.native(3, 12)
        good = os.path.join(self.tmp, "good.py")
        clitest.write_file(good, b"x = 1\n")
        compile_jobs(it, self.tmp, [(good, 0, "timestamp")])
        # all match: --check exits 0; the text lists nothing but the summary unless --all
        p = run(["verify", "--check", self.tmp])
        self.assertEqual(p.returncode, 0, p.stderr)
        out = p.stdout.decode()
        self.assertTrue(out.startswith("1 cache: 1 matches, 0 differ, 0 unverifiable\n"), out)
        self.assertIn("interpreters:\n  CPython 3.12.", out)
        p = run(["verify", "--all", self.tmp])
        self.assertRegex(p.stdout.decode().splitlines()[0],
                         r"^matches      3\.12     .*good\.cpython-312\.pyc$")
        # one that differs: the text says where and both values.  The source becomes x = 2
        # and the header is made to fit it: the code (x = 1) is not the source's
        c = it.cache_path(self.tmp, "good", 0)
        with open(c, "rb") as f:
            data = f.read()
        clitest.write_file(good, b"x = 2\n")
        st = os.stat(good)
        with open(c, "wb") as f:
            f.write(data[:8] + struct.pack("<II", int(st.st_mtime) & 0xFFFFFFFF, st.st_size)
                    + data[16:])
        self.assertEqual(clitest.scan_json([c])[0][0]["status"], "fresh")
        p = run(["verify", "--check", self.tmp])
        self.assertEqual(p.returncode, 1)
        line = p.stdout.decode().splitlines()[0]
        self.assertRegex(line, r"^differs      3\.12     .*good\.cpython-312\.pyc: "
                         r"<module>\.co_consts\[\d\]: the cache has 1, the source compiles to 2$")
        # the same output whatever the threads
        more = os.path.join(self.tmp, "pkg")
        for k in range(20):
            clitest.write_file(os.path.join(more, "m%d.py" % k), b"v = %d\n" % k)
        compile_jobs(it, more, [(os.path.join(more, "m%d.py" % k), 0, "timestamp")
                                for k in range(20)])
        outs = set()
        for jobs in ("1", "2", "8"):
            for fmt in ([], ["--json"]):
                p = run(["verify", "--all", "-j", jobs] + fmt + [self.tmp])
                outs.add((tuple(fmt), p.stdout))
        self.assertEqual(len(outs), 2)
        # -q: the summary only; -qq: nothing
        p = run(["verify", "-q", self.tmp])
        self.assertTrue(p.stdout.decode().startswith("21 caches: 20 match, 1 differs"))
        p = run(["verify", "-qq", "--check", self.tmp])
        self.assertEqual((p.returncode, p.stdout), (1, b""))


if __name__ == "__main__":
    clitest.main()
