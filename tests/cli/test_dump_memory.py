#!/usr/bin/env python3
"""`pycinspect dump`'s memory (docs/dump.md, "Memory"): valid caches, written by CPython 3.12
itself, whose co_consts holds a tuple of millions of None, are dumped within the stated bound,
not in a multiple of the body; bodies that will not be decoded are not held; `--jobs 8` over
several such caches stays within the stated total.

Each cache is made from marshal.dumps(compile(...)) by the pyenv 3.12 interpreter, with a small
tuple of None in co_consts widened to N members in the bytes (the same bytes marshal would
write), and loaded back by that interpreter's marshal.loads before it is dumped.  pycinspect runs
under an address-space limit (RLIMIT_AS) derived from the bound docs/dump.md states, and its peak
RSS (wait4) is checked against what holding the body once allows.  A binary built with ASan or
TSan cannot start under RLIMIT_AS, and its shadow memory grows with what it touches: then the
limit is left out, and the peak RSS is checked against the stated bound instead.
"""
import json
import os
import re
import resource
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import pyenv_python, write_file  # noqa: E402

if clitest.BIN:
    clitest.BIN = os.path.abspath(clitest.BIN)
BIN = clitest.BIN

MIB = 1 << 20
# The bound of docs/dump.md (include/pycinspect/dump.h, marshal.h), for a body of n bytes and
# paths of p bytes: reading 2 MiB, the body, the decoder (64 n + 1 MiB, at most 128 MiB) and
# twice the object's JSON (the tree's 64 n + 1 MiB, at most 64 MiB; 64 KiB; 6 p).
MAX_BODY = 256 * MIB
WORKERS_MEMORY = 512 * MIB   # what the threads that prepare objects share
MAX_MEMORY = 515 * MIB       # one cache's bound at most (paths under 8 KiB)
TOTAL = WORKERS_MEMORY + MAX_MEMORY
MAX_ITEMS = 1 << 20          # members a tuple keeps for the fields it may become


def dump_bound(body, paths):
    tree = min(64 * body + MIB, 64 * MIB)
    decoder = min(64 * body + MIB, 128 * MIB)
    return 2 * MIB + body + decoder + 2 * (tree + 64 * 1024 + 6 * paths)


# The process itself (binary, libraries, stacks, stdio), under any limit: about 16 MiB is
# enough on this machine; each thread adds its stack (8 MiB) and a malloc arena (64 MiB).
BASE_AS = 64 * MIB
PER_THREAD_AS = 72 * MIB

N = 24_000_000     # None in the big tuple: a 24 MB body
N_JOBS = 16_000_000
JOBS_CACHES = 6


# Writes the cache: header (3.12 magic, timestamp mode) + marshal.dumps of a module's code whose
# co_consts ends with a tuple of n None (or, with as_consts, whose co_consts is that tuple and
# None), then loads it back with marshal.loads and checks the tuple.  The tuple is made small
# and widened in the bytes: marshal writes '(' + its length + one 'N' per member, and the small
# one ')' + one byte of length + 'N' * 7 (FLAG_REF as marshal chose, kept).
MAKE = r"""
import importlib.util, marshal, re, struct, sys
n, path, as_consts = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "1"
code = compile("X = None\n", "big.py", "exec")
if as_consts:
    code = code.replace(co_consts=(None,) * 7)
else:
    code = code.replace(co_consts=code.co_consts + ((None,) * 7,))
body = marshal.dumps(code)
m = list(re.finditer(rb"[\x29\xa9]\x07N{7}", body))
assert len(m) == 1, m
i = m[0].start()
with open(path, "wb") as f:
    f.write(importlib.util.MAGIC_NUMBER + b"\0" * 4 + struct.pack("<II", 1700000000, 9))
    f.write(body[:i] + bytes([ord("(") | body[i] & 0x80]) + struct.pack("<i", n))
    left = n
    while left:
        k = min(left, 1 << 20)
        f.write(b"N" * k)
        left -= k
    f.write(body[m[0].end():])
with open(path, "rb") as f:
    c = marshal.loads(f.read()[16:])
t = c.co_consts if as_consts else c.co_consts[-1]
assert type(t) is tuple and len(t) == n and t[0] is None and t[-1] is None
print(len(t))
"""


def make_cache(path, n, as_consts=False):
    """A valid 3.12 cache at path (see MAKE); its body size."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    p = subprocess.run([pyenv_python("3.12"), "-c", MAKE, str(n), path, "1" if as_consts else "0"],
                       stdout=subprocess.PIPE, check=True, timeout=120)
    assert int(p.stdout) == n
    return os.path.getsize(path) - 16


_sanitized = []


def sanitized():
    """"asan" or "tsan" when BIN carries AddressSanitizer or ThreadSanitizer, else None: ldd
    shows gcc's shared runtimes; clang links its own statically, and then its entry point is in
    the binary."""
    if not _sanitized:
        out = subprocess.run(["ldd", BIN], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             check=False).stdout.decode("utf-8", "replace")
        found = re.search(r"\blib(asan|tsan)\.so", out)
        if found:
            _sanitized.append(found.group(1))
        else:
            with open(BIN, "rb") as f:
                data = f.read()
            _sanitized.append("asan" if b"__asan_init" in data else
                              "tsan" if b"__tsan_init" in data else None)
    return _sanitized[0]


def run_measured(args, limit_as, cwd):
    """Run pycinspect ARGS under RLIMIT_AS limit_as (left out when sanitized); returns
    (exit status, stdout bytes, stderr bytes, peak RSS in bytes) of that one process.

    The peak RSS the kernel reports for a process counts the process it was before exec: a
    fork of this one, whose RSS then is this test's.  Always through fork (a preexec_fn), never
    vfork, whose exec would count this process's own peak instead; setUp measures the same way
    on a tiny cache, so only what pycinspect adds on top of that floor is compared."""
    def limit():
        if not sanitizer:
            resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    sanitizer = sanitized()  # found before the fork
    out_path, err_path = os.path.join(cwd, "out"), os.path.join(cwd, "err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen([BIN] + list(args), stdout=out, stderr=err, env=clitest.env_c(),
                             preexec_fn=limit)
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as f:
        stdout = f.read()
    with open(err_path, "rb") as f:
        stderr = f.read()
    os.unlink(out_path)
    os.unlink(err_path)
    p.stdout, p.stderr = stdout, stderr
    clitest.not_aborted(p, args)
    return p.returncode, stdout, stderr, ru.ru_maxrss * 1024


def peak_allowed(tight, bound):
    """What pycinspect may add to the peak RSS of a tiny dump: tight, what the test expects of
    it; or, in a sanitized binary, whose shadow memory (TSan: about twice what the program
    touches) and quarantine of freed blocks (ASan) come on top, the stated bound itself."""
    return bound if sanitized() else tight


def parse_dump(data):
    return [json.loads(line) for line in data.decode("utf-8", "surrogateescape").splitlines()]


class Memory(clitest.TempDirCase):
    def setUp(self):
        super().setUp()
        # the same process on a cache of a few hundred bytes: what the runtime, the libraries
        # and the engine take without any body
        small = os.path.join(self.tmp, "small", "s.pyc")
        make_cache(small, 7)
        rc, out, err, self.rss0 = run_measured(["dump", small], BASE_AS + dump_bound(200, 4096),
                                               self.tmp)
        self.assertEqual((rc, err), (0, b""))

    def check_object(self, o, path, n):
        self.assertEqual(o["path"], path)
        self.assertEqual(o["header"]["status"], "ok")
        code = o["code"]
        self.assertIsNone(code["error"], code["error"])
        self.assertEqual(code["trailing_bytes"], 0)
        self.assertEqual(code["objects"]["none"], n + 1)
        (top,) = code["tree"]
        self.assertEqual((top["name"], top["filename"], top["names"]), ("<module>", "big.py", ["X"]))
        return top

    def test_huge_tuple_of_none(self):
        """24 million None in co_consts (a 24 MB body; one node each was 32 bytes and more,
        770 MB): exit 0, the whole tree, under the stated bound, and a peak RSS of the body held
        once (plus 32 MiB), with and without --consts."""
        path = os.path.join(self.tmp, "t", "big.pyc")
        body = make_cache(path, N)
        for extra in ([], ["--consts"]):
            with self.subTest(args=extra):
                bound = dump_bound(body, len(path))
                self.assertLess(bound, 32 * body)
                rc, out, err, rss = run_measured(["dump"] + extra + [path], BASE_AS + bound,
                                                 self.tmp)
                self.assertEqual((rc, err), (0, b""))
                (o,) = parse_dump(out)
                top = self.check_object(o, path, N)
                if extra:  # the big tuple is nested: not a constant listed, nothing elided
                    self.assertEqual(top["consts"], [{"type": "N", "value": "None"}])
                self.assertNotIn("elided", top)
                self.assertLess(rss, self.rss0 + peak_allowed(body + 32 * MIB, bound),
                                (rss, self.rss0))

    def test_consts_summarised(self):
        """co_consts itself of MAX_ITEMS + 5 None: --consts lists MAX_ITEMS of them and says
        that 5 were left out ("elided"); without --consts nothing is said."""
        path = os.path.join(self.tmp, "c", "consts.pyc")
        n = MAX_ITEMS + 5
        body = make_cache(path, n, as_consts=True)
        for extra in ([], ["--consts"]):
            with self.subTest(args=extra):
                rc, out, err, rss = run_measured(["dump"] + extra + [path],
                                                 BASE_AS + dump_bound(body, len(path)), self.tmp)
                self.assertEqual((rc, err), (0, b""))
                (o,) = parse_dump(out)
                top = self.check_object(o, path, n - 1)
                if extra:
                    self.assertEqual(len(top["consts"]), MAX_ITEMS)
                    self.assertEqual(top["consts"][-1], {"type": "N", "value": "None"})
                    self.assertEqual(top["elided"], {"consts": 5})
                    self.assertEqual(list(top)[-2:], ["consts", "elided"])
                else:
                    self.assertNotIn("consts", top)
                    self.assertNotIn("elided", top)

    def test_bodies_not_decoded_are_not_held(self):
        """40 MB after a header that will not be decoded: an unknown magic, a 3.11 alpha's
        (a code layout the decoder does not read), a 3.12 header followed by None instead of a
        code object.  Hashed, never held: peak RSS within 16 MiB of a tiny cache's."""
        n = 40 * MIB
        good = os.path.join(self.tmp, "t", "big.pyc")
        make_cache(good, 7)
        with open(good, "rb") as f:
            header = f.read(16)
        cases = {  # header and the first byte of the body, header status, code.error
            "bad-magic": (b"\xff\xfe\r\n" + header[4:] + b"N", "bad-magic", None),
            "alpha": (struct.pack("<H", 3450) + b"\r\n" + header[4:] + b"\xe3", "ok",
                      "unsupported code layout: 3.11 alpha (magic 3450-3459)"),
            "not-code": (header + b"N", "not-code",
                         "bad marshal data (the body is not a code object)"),
        }
        for name, (head, status, error) in sorted(cases.items()):
            with self.subTest(case=name):
                path = os.path.join(self.tmp, name, "x.pyc")
                write_file(path, head)
                with open(path, "ab") as f:
                    f.write(b"N" * (n - 1))
                rc, out, err, rss = run_measured(["dump", path], BASE_AS + dump_bound(0, 4096),
                                                 self.tmp)
                self.assertEqual((rc, err), (1, b""))
                (o,) = parse_dump(out)
                self.assertEqual(o["size"], n + 16)
                self.assertRegex(o["sha256"], "^[0-9a-f]{64}$")
                self.assertEqual(o["header"]["status"], status)
                if error is None:
                    self.assertIsNone(o["code"])
                else:
                    self.assertEqual((o["code"]["error"], o["code"]["error_offset"]), (error, 0))
                self.assertLess(rss, self.rss0 + 16 * MIB, (rss, self.rss0))

    def test_jobs_total(self):
        """Six caches of 16 million None, each in its own directory, with --jobs 8: every one
        decoded, in the walk's order, under the stated total (the threads' share and one cache
        on the writing thread) and not six bodies at once: at most what three held bodies take
        (the share has room for one of these at a time, and the writing thread does one)."""
        paths = [os.path.join(self.tmp, "j", "d%d" % i, "big.pyc") for i in range(JOBS_CACHES)]
        body = make_cache(paths[0], N_JOBS)
        for p in paths[1:]:
            os.makedirs(os.path.dirname(p))
            os.link(paths[0], p)
        limit = BASE_AS + TOTAL + 8 * PER_THREAD_AS
        self.assertLess(limit, JOBS_CACHES * 32 * body)  # what they took (32 bytes a None)
        rc, out, err, rss = run_measured(["dump", "--jobs", "8", os.path.join(self.tmp, "j")],
                                         limit, self.tmp)
        self.assertEqual((rc, err), (0, b""))
        objs = parse_dump(out)
        self.assertEqual([o["path"] for o in objs], paths)
        for o, p in zip(objs, paths):
            self.check_object(o, p, N_JOBS)
        self.assertLess(rss, self.rss0 + peak_allowed(3 * body + 32 * MIB, TOTAL),
                        (rss, self.rss0))

    def test_docs_state_these_bounds(self):
        """The figures this test derives its limits from are the ones docs/dump.md states."""
        with open(os.path.join(clitest.ROOT, "docs", "dump.md"), encoding="utf-8") as f:
            doc = f.read()
        memory = doc[doc.index("## Memory"):]
        for text in ("2 MiB", "at most 256 MiB", "64 bytes per body byte plus 1 MiB, at most "
                     "128 MiB", "at most 64 MiB", "plus 64 KiB", "6 bytes per byte",
                     "**515 MiB**", "**512 MiB**", "512 MiB + 515 MiB"):
            self.assertIn(text, memory)
        self.assertIn("1,048,576", doc)  # MAX_ITEMS
        self.assertEqual(MAX_MEMORY, 515 * MIB)
        self.assertLessEqual(dump_bound(MAX_BODY, 8191), MAX_MEMORY)


if __name__ == "__main__":
    clitest.main()
