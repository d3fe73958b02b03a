#!/usr/bin/env python3
"""`pycinspect dump` (docs/dump.md): hashes, metadata, header, source, verdict, the same-second
hint, --pretty/--consts, hostile bodies, exit codes, FIFOs and non-UTF-8 names.

Nothing expected is hard-coded that a real tool can compute: hashes come from `sha256sum` and
`xxhsum -H128`, file metadata from os.lstat, header fields from struct over the file's bytes,
the SipHash from the interpreters' own importlib.util.source_hash, verdicts from `pycinspect scan
--json --all`.  Real caches come from fixtures/tree and from the pyenv interpreters (compiled
here with py_compile); hostile bodies are built here with struct, behind a valid header of 3.12,
3.6 or 2.7, and every one is dumped under an address-space limit (RLIMIT_AS) and a timeout.  The
limit is left out, and only the limit, when the binary is built with AddressSanitizer, which
cannot start under RLIMIT_AS.
"""
import atexit
import datetime
import hashlib
import json
import os
import random
import re
import resource
import shutil
import stat
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import pyenv_python, run, write_file  # noqa: E402

# absolute, so that runs with another cwd find them too (clitest.run reads clitest.BIN)
if clitest.BIN:
    clitest.BIN = os.path.abspath(clitest.BIN)
BIN = clitest.BIN
FIXTURES = os.path.abspath(clitest.FIXTURES) if clitest.FIXTURES else ""

LIMIT_AS = 256 << 20   # address-space limit of every hostile run
HOSTILE_TIMEOUT = 30   # seconds, per run of pycinspect on hostile input
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX32 = re.compile(r"^[0-9a-f]{32}$")
FAR_NS = 14831769600 * 10**9 + 1  # 2440-01-01T00:00:00.000000001Z, over 2**63 ns
HEADER_STATUSES = {"ok", "empty", "short-magic", "bad-magic", "truncated", "bad-flags", "no-body",
                   "not-code", "short-body"}

# A module every interpreter from 2.7 on compiles: nested functions, a class, constants of each
# kind.
MODULE_SRC = b'''"""doc"""
X = "hello"
N = 42
F = 1.5
B = b"by"
BIG = 12345678901234567890123


def f(a, b=2, *args, **kw):
    def g():
        return a + b
    return g


class C(object):
    def m(self):
        return [i for i in range(3)]
'''

# ------------------------------------------------------------------------------------------------
# Tools


def py_env():
    """Environment for the interpreters: they may write caches, and py_compile must not turn to
    hash-based caches because of SOURCE_DATE_EPOCH."""
    env = dict(os.environ)
    for k in ("PYTHONDONTWRITEBYTECODE", "SOURCE_DATE_EPOCH", "PYTHONPATH", "PYTHONHOME"):
        env.pop(k, None)
    return env


COMPILE = r"""
import json, sys, py_compile
for mode, src, cfile in json.loads(sys.argv[1]):
    if mode == "timestamp":
        py_compile.compile(src, cfile=cfile, doraise=True)
    else:
        py_compile.compile(src, cfile=cfile, doraise=True,
                           invalidation_mode=getattr(py_compile.PycInvalidationMode, mode))
"""


def compile_with(version, jobs):
    """Compile [(mode, src, cfile or None)] with the pyenv interpreter of version.  mode:
    timestamp, CHECKED_HASH, UNCHECKED_HASH."""
    subprocess.run([pyenv_python(version), "-c", COMPILE, json.dumps(jobs)], check=True,
                   env=py_env(), timeout=60)


def interp_eval(version, code, *args):
    """Run code under an interpreter; its stdout as text."""
    p = subprocess.run([pyenv_python(version), "-c", code] + list(args), stdout=subprocess.PIPE,
                       check=True, env=py_env(), timeout=60)
    return p.stdout.decode()


def parse_sum_output(text, tool):
    """{file name: hex digest} from the output of sha256sum or xxhsum, GNU style ("HASH  FILE",
    "HASH *FILE", with a leading backslash for escaped names), or BSD style ("ALGO (FILE) = HASH");
    an "XXH..._" prefix on the hash (as some xxhsum versions print it) is dropped."""
    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^(\S+) \((.*)\) = ([0-9A-Fa-f]+)$", line)
        if m:
            name, digest = m.group(2), m.group(3)
        else:
            m = re.match(r"^\\?(?:XXH\w*?_)?([0-9A-Fa-f]+) [ *](.*)$", line)
            if not m:
                raise AssertionError("cannot parse %s output line %r" % (tool, line))
            digest, name = m.group(1), m.group(2)
        out[name] = digest.lower()
    return out


def tool_hashes(paths):
    """{path: (sha256sum, xxhsum -H128)} for plain-named files, from the real tools."""
    res = {}
    for tool, args in (("sha256sum", ["sha256sum", "--"]), ("xxhsum", ["xxhsum", "-H128", "--"])):
        p = subprocess.run(args + list(paths), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=60)
        if p.returncode != 0:
            raise AssertionError("%s failed: %s" % (tool, p.stderr.decode(errors="replace")))
        res[tool] = parse_sum_output(p.stdout.decode("utf-8", "surrogateescape"), tool)
        missing = set(paths) - set(res[tool])
        if missing:
            raise AssertionError("%s printed nothing for %r" % (tool, sorted(missing)))
    return {p: (res["sha256sum"][p], res["xxhsum"][p]) for p in paths}


def header_size(version):
    """The header size of a language version ("3.12", "pypy3.9", "2.5"), reference section 2.1:
    16 from 3.7, 12 for 3.3-3.6, 8 before."""
    major, minor = (int(x) for x in version.replace("pypy", "").split(".")[:2])
    if (major, minor) >= (3, 7):
        return 16
    if (major, minor) >= (3, 3):
        return 12
    return 8


def utc(sec, nsec=None):
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=sec)
    text = t.strftime("%Y-%m-%dT%H:%M:%S")
    return text + ("Z" if nsec is None else ".%09dZ" % nsec)


def decode_header(data, version):
    """The header fields of docs/dump.md, decoded here with struct."""
    hs = header_size(version)
    h = {"magic_bytes": data[:4].hex(), "magic": struct.unpack("<H", data[:2])[0], "size": hs}
    if hs == 16:
        flags = struct.unpack("<I", data[4:8])[0]
        h["flags"] = flags
        h["flags_decoded"] = {"hash_based": bool(flags & 1), "check_source": flags & 3 == 3,
                              "unknown_bits": flags & ~3}
        if flags & 1:
            h["mode"] = "checked-hash" if flags & 2 else "unchecked-hash"
            h["source_hash"] = data[8:16].hex()
        else:
            h["mode"] = "timestamp"
            h["mtime"], h["source_size"] = struct.unpack("<II", data[8:16])
    elif hs == 12:
        h["mode"] = "timestamp"
        h["mtime"], h["source_size"] = struct.unpack("<II", data[4:12])
    else:
        h["mode"] = "timestamp"
        h["mtime"] = struct.unpack("<I", data[4:8])[0]
    if "mtime" in h:
        h["mtime_utc"] = utc(h["mtime"])
    return h


FILE_TYPES = ((stat.S_ISREG, "regular"), (stat.S_ISLNK, "symlink"), (stat.S_ISFIFO, "fifo"),
              (stat.S_ISSOCK, "socket"), (stat.S_ISCHR, "char-device"),
              (stat.S_ISBLK, "block-device"), (stat.S_ISDIR, "directory"))


def lstat_fields(path):
    """dump's `file` object, the same fields for every kind of file (docs/dump.md)."""
    st = os.lstat(path)
    kind = next(name for test, name in FILE_TYPES if test(st.st_mode))
    return {"mode": "%04o" % stat.S_IMODE(st.st_mode), "type": kind, "uid": st.st_uid,
            "gid": st.st_gid, "inode": st.st_ino, "device": st.st_dev, "links": st.st_nlink,
            "mtime_ns": st.st_mtime_ns,
            "mtime": utc(st.st_mtime_ns // 10**9, st.st_mtime_ns % 10**9)}


def parse_dump(data):
    """The objects of dump's JSON Lines output; checks the framing."""
    text = data.decode("utf-8", "surrogateescape")
    if text and not text.endswith("\n"):
        raise AssertionError("dump output does not end with a newline")
    objs = [json.loads(line) for line in text.splitlines()]
    for o in objs:
        if o.get("type") not in ("dump", "error"):
            raise AssertionError("unexpected object %r" % (o,))
    return objs


def parse_pretty(data):
    """The documents of `dump --pretty` (each one indented, one after the other)."""
    text = data.decode("utf-8", "surrogateescape")
    dec = json.JSONDecoder()
    out, i = [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            return out
        obj, i = dec.raw_decode(text, i)
        out.append(obj)


def dump(args, expect_rc=0, **kw):
    """Run `dump ARGS`; asserts the exit status; returns (dump objects, process)."""
    p = run(["dump"] + list(args), **kw)
    if expect_rc is not None and p.returncode != expect_rc:
        raise AssertionError("dump %r: exit %d, expected %d; stderr: %s" % (
            args, p.returncode, expect_rc, p.stderr.decode("utf-8", "replace")))
    return [o for o in parse_dump(p.stdout) if o["type"] == "dump"], p


def scan_verdicts(args):
    """From `scan --json --all ARGS`: {path: {status, foreign, reasons}}, the paths in order,
    and {path: the whole record}."""
    pycs, _, _, _ = clitest.scan_json(["--all"] + list(args), expect_rc=0)
    return ({o["path"]: {"status": o["status"], "foreign": o["foreign"],
                         "reasons": o["reasons"]} for o in pycs},
            [o["path"] for o in pycs], {o["path"]: o for o in pycs})


# ---- the address-space limit --------------------------------------------------------------------

_asan = []


def asan_instrumented():
    """True when the binary carries AddressSanitizer or ThreadSanitizer, whose shadow memory
    cannot live under an address-space limit (nm, ldd, or the runtime preloaded)."""
    if not _asan:
        found = "libasan" in os.environ.get("LD_PRELOAD", "")
        for cmd in (["ldd", BIN], ["nm", "-D", BIN], ["nm", BIN]):
            if found or not shutil.which(cmd[0]):
                continue
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
            found = any(m in p.stdout for m in (b"libasan", b"__asan_init", b"__tsan_init"))
        if not found:  # no nm: the dynamic symbol names are in the file
            with open(BIN, "rb") as f:
                data = f.read()
            found = b"__asan_init" in data or b"__tsan_init" in data
        _asan.append(found)
    return _asan[0]


def limit_as():
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_AS, LIMIT_AS))


def run_limited(args, timeout=HOSTILE_TIMEOUT):
    """Run pycinspect ARGS under LIMIT_AS (unless ASan) and a timeout."""
    pre = None if asan_instrumented() else limit_as
    return subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, env=clitest.env_c(), preexec_fn=pre)


# ---- shared trees -----------------------------------------------------------------------------

_shared = {}
_shared_dir = []


def shared_tmp():
    if not _shared_dir:
        d = tempfile.mkdtemp(prefix="pyci-dump-")
        _shared_dir.append(d)
        atexit.register(shutil.rmtree, d, True)
    return _shared_dir[0]


FRESH_TS = ["3.6", "3.8", "3.11", "3.12", "3.13"]
FRESH_HASH = ["3.7", "3.12", "3.13"]


def fresh_tree():
    """A tree of caches freshly compiled by real interpreters (built once, never modified):
    m.py with a 2.7 legacy m.pyc and timestamp caches of FRESH_TS, h.py with checked-hash caches
    of FRESH_HASH, u.py with an unchecked-hash 3.12 cache, pkg/__init__.py with a 3.12 cache."""
    if "fresh" not in _shared:
        root = os.path.join(shared_tmp(), "fresh")
        for rel in ("m.py", "h.py", "u.py", "pkg/__init__.py"):
            write_file(os.path.join(root, rel), MODULE_SRC)
        src = lambda rel: os.path.join(root, rel)  # noqa: E731
        compile_with("2.7", [["timestamp", src("m.py"), None]])
        for v in FRESH_TS:
            jobs = [["timestamp", src("m.py"), None]]
            if v == "3.12":
                jobs += [["UNCHECKED_HASH", src("u.py"), None],
                         ["timestamp", src("pkg/__init__.py"), None]]
            if v in FRESH_HASH:
                jobs.append(["CHECKED_HASH", src("h.py"), None])
            compile_with(v, jobs)
        for v in FRESH_HASH:
            if v not in FRESH_TS:
                compile_with(v, [["CHECKED_HASH", src("h.py"), None]])
        _shared["fresh"] = root
    return _shared["fresh"]


def all_caches(root):
    out = []
    for d, dirs, files in os.walk(root):
        out += [os.path.join(d, f) for f in files if f.endswith((".pyc", ".pyo"))]
    return sorted(out)


def load_manifest_targets():
    with open(os.path.join(FIXTURES, "MANIFEST.tsv"), encoding="utf-8") as f:
        for line in f:
            if line.startswith("# targets:"):
                return line.split(":", 1)[1].strip()
    raise AssertionError("MANIFEST.tsv has no '# targets:' line")


def fixture_copy(dest):
    """fixtures/tree copied to dest/tree, each source's mtime restored from MANIFEST.tsv."""
    shutil.copytree(os.path.join(FIXTURES, "tree"), os.path.join(dest, "tree"), symlinks=True)
    with open(os.path.join(FIXTURES, "MANIFEST.tsv"), encoding="utf-8") as f:
        rows = [l.rstrip("\n").split("\t") for l in f if not l.startswith("#") and l.strip()]
    cols = rows[0]
    for r in rows[1:]:
        r = dict(zip(cols, r))
        if r["source"] != "-":
            ns = int(r["source_mtime_ns"])
            os.utime(os.path.join(dest, r["source"]), ns=(ns, ns))
    return os.path.join(dest, "tree")


# ---- hostile bodies ---------------------------------------------------------------------------


def i32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


class Layout(object):
    """Hand-made marshal bodies of one code-object layout (reference section 6.3)."""

    def __init__(self, version, ints, objects, ref):
        self.version = version
        self.ints = ints          # i32 fields before co_code
        self.objects = objects    # object fields after consts, in order (names of builders)
        self.ref = ref            # FLAG_REF exists (marshal v3+)

    def s(self, data):            # bytes (py2: str)
        return b"s" + i32(len(data)) + data

    def name(self, text):         # a name: py3 str, py2 str
        return self.s(text) if not self.ref else b"z" + bytes([len(text)]) + text

    def tuple_head(self, n, flag=False):
        if self.ref and n < 256:
            return bytes([ord(")") | (0x80 if flag else 0)]) + bytes([n])
        return bytes([ord("(") | (0x80 if flag else 0)]) + i32(n)

    def tuple(self, items):
        return self.tuple_head(len(items)) + b"".join(items)

    def ints_head(self):
        """The type byte and the i32 fields before co_code."""
        typ = b"\xe3" if self.ref else b"c"
        ints = [0] * self.ints
        ints[-2] = 2  # stacksize is the second to last i32 field in every layout
        return typ + b"".join(i32(v) for v in ints)

    def code_head(self):
        """The code object up to and including co_code (LOAD_CONST 0, RETURN_VALUE)."""
        co_code = {"3.12": b"\x97\x00y\x00", "3.6": b"d\x00S\x00", "2.7": b"d\x00\x00S"}
        return self.ints_head() + self.s(co_code[self.version])

    def code(self, consts=None):
        """A whole valid code object whose consts are the raw bytes given (default (None,))."""
        if consts is None:
            consts = self.tuple([b"N"])
        tail = b""
        for field in self.objects:
            tail += {"tuple": self.tuple([]), "bytes": self.s(b""),
                     "filename": self.name(b"hostile.py"), "name": self.name(b"<module>"),
                     "firstlineno": i32(1)}[field]
        return self.code_head() + consts + tail

    def consts_offset(self):
        """Offset of the first member of a one-element consts tuple."""
        return len(self.code_head()) + len(self.tuple_head(1))


LAYOUTS = {
    "3.12": Layout("3.12", 5, ["tuple", "tuple", "bytes", "filename", "name", "name",
                               "firstlineno", "bytes", "bytes"], True),
    "3.6": Layout("3.6", 5, ["tuple", "tuple", "tuple", "tuple", "filename", "name",
                             "firstlineno", "bytes"], True),
    "2.7": Layout("2.7", 4, ["tuple", "tuple", "tuple", "tuple", "filename", "name",
                             "firstlineno", "bytes"], False),
}


def final_magic(version):
    """The 4 magic bytes of a version's final release, from `pycinspect magic --json`."""
    if ("magic", version) not in _shared:
        p = run(["magic", "--json", version])
        if p.returncode != 0:
            raise AssertionError("magic --json %s: exit %d" % (version, p.returncode))
        rows = [json.loads(l) for l in p.stdout.decode().splitlines()]
        finals = [r for r in rows if r["final"] and r["implementation"] == "cpython"]
        if len(finals) != 1:
            raise AssertionError("no single final magic for %s: %r" % (version, finals))
        _shared[("magic", version)] = bytes.fromhex(finals[0]["bytes"])
    return _shared[("magic", version)]


def header_for(version, mtime=1700000000, size=100):
    m = final_magic(version)
    hs = header_size(version)
    if hs == 16:
        return m + struct.pack("<III", 0, mtime, size)
    if hs == 12:
        return m + struct.pack("<II", mtime, size)
    return m + struct.pack("<I", mtime)


# ------------------------------------------------------------------------------------------------


class Hashes(clitest.TempDirCase):
    def check_hashes(self, objs, paths):
        """Every object's sha256/xxh3_128/body_xxh3_128 against sha256sum and xxhsum."""
        by_path = {o["path"]: o for o in objs}
        self.assertEqual(sorted(by_path), sorted(paths))
        bodies = {}
        for i, p in enumerate(paths):
            with open(p, "rb") as f:
                data = f.read()
            version = by_path[p]["header"].get("version")
            hs = header_size(version) if version else 0  # unknown magic: no header to skip
            bodies[p] = os.path.join(self.tmp, "body%d" % i)
            with open(bodies[p], "wb") as f:
                f.write(data[hs:])
        whole = tool_hashes(paths)
        body = tool_hashes(list(bodies.values()))
        for p in paths:
            with self.subTest(path=p):
                o = by_path[p]
                self.assertRegex(o["sha256"], HEX64)
                self.assertEqual(o["sha256"], whole[p][0])
                self.assertEqual(o["xxh3_128"], whole[p][1])
                self.assertEqual(o["body_xxh3_128"], body[bodies[p]][1])
                self.assertNotIn("read_error", o)

    def test_every_fixture_cache(self):
        objs, _ = dump([os.path.join(FIXTURES, "tree")], expect_rc=None)
        paths = all_caches(os.path.join(FIXTURES, "tree"))
        self.assertGreaterEqual(len(paths), 30)
        self.check_hashes(objs, paths)

    def test_fresh_caches(self):
        root = fresh_tree()
        objs, _ = dump([root])
        paths = all_caches(root)
        self.assertEqual(len(paths), 1 + len(FRESH_TS) + len(FRESH_HASH) + 2)
        self.check_hashes(objs, paths)

    def test_same_code_other_mtime_same_body_hash(self):
        src = os.path.join(self.tmp, "s.py")
        write_file(src, MODULE_SRC)
        a, b = os.path.join(self.tmp, "a", "s.pyc"), os.path.join(self.tmp, "b", "s.pyc")
        os.utime(src, (1600000000, 1600000000))
        compile_with("3.12", [["timestamp", src, a]])
        os.utime(src, (1700000000, 1700000000))
        compile_with("3.12", [["timestamp", src, b]])
        with open(a, "rb") as f:
            da = f.read()
        with open(b, "rb") as f:
            db = f.read()
        self.assertNotEqual(da[8:12], db[8:12])  # the header mtimes differ
        self.assertEqual(da[16:], db[16:])       # the code does not
        (oa,), _ = dump([a])
        (ob,), _ = dump([b])
        self.assertNotEqual(oa["sha256"], ob["sha256"])
        self.assertNotEqual(oa["xxh3_128"], ob["xxh3_128"])
        self.assertEqual(oa["body_xxh3_128"], ob["body_xxh3_128"])
        self.assertEqual((oa["header"]["mtime"], ob["header"]["mtime"]), (1600000000, 1700000000))
        self.check_hashes([oa, ob], [a, b])


class Metadata(clitest.TempDirCase):
    def check_object(self, o):
        p = clitest.fs(o["path"])
        with open(p, "rb") as f:
            data = f.read()
        self.assertEqual(o["size"], len(data))
        self.assertEqual(o["size"], os.lstat(p).st_size)
        self.assertEqual(o["file"], lstat_fields(p))
        h = o["header"]
        self.assertIn(h["status"], HEADER_STATUSES)
        if h["status"] in ("ok", "no-body", "not-code", "short-body"):
            want = decode_header(data, h["version"])
            for k, v in want.items():
                self.assertEqual(h.get(k), v, k)
            for k in ("flags", "flags_decoded", "mtime", "mtime_utc", "source_size",
                      "source_hash"):
                if k not in want:
                    self.assertNotIn(k, h)
        elif h["status"] not in ("empty", "short-magic"):
            self.assertEqual(h["magic_bytes"], data[:4].hex())
            self.assertEqual(h["magic"], struct.unpack("<H", data[:2])[0])

    def test_file_and_header_fields(self):
        fixtures = fixture_copy(self.tmp)
        fresh = os.path.join(self.tmp, "fresh")
        shutil.copytree(fresh_tree(), fresh)
        # odd metadata: a mode, an owner, a second link, a mtime with nanoseconds
        c312 = os.path.join(fresh, "__pycache__", "m.cpython-312.pyc")
        os.chmod(c312, 0o640)
        os.link(c312, os.path.join(fresh, "__pycache__", "m.cpython-312.opt-1.pyc"))
        os.utime(c312, ns=(1234567890123456789, 1234567890123456789))
        if os.geteuid() == 0:
            os.chown(c312, 12345, 23456)
        os.chmod(os.path.join(fresh, "m.pyc"), 0o600)
        # mtimes before 1970 (negative seconds, positive nanoseconds) and after 2262, where
        # nanoseconds no longer fit in 64 bits (ext4 keeps times up to 2446), on caches and on
        # a source
        os.utime(os.path.join(fresh, "__pycache__", "m.cpython-313.pyc"),
                 ns=(-1500000000, -1500000000))
        os.utime(os.path.join(fresh, "__pycache__", "m.cpython-311.pyc"), ns=(FAR_NS, FAR_NS))
        os.utime(os.path.join(fresh, "h.py"), ns=(FAR_NS, FAR_NS))
        n = 0
        for root in (fixtures, fresh):
            objs, _ = dump([root], expect_rc=None)
            self.assertEqual(len(objs), len(all_caches(root)))
            for o in objs:
                with self.subTest(path=o["path"]):
                    self.check_object(o)
                    n += 1
        self.assertGreater(n, 40)
        (o,), _ = dump([c312])
        self.assertEqual((o["file"]["links"], o["file"]["mode"], o["file"]["mtime_ns"]),
                         (2, "0640", 1234567890123456789))
        self.assertEqual(o["file"]["mtime"], "2009-02-13T23:31:30.123456789Z")
        (o,), _ = dump([os.path.join(fresh, "__pycache__", "m.cpython-313.pyc")])
        self.assertEqual(o["file"]["mtime"], "1969-12-31T23:59:58.500000000Z")
        (o,), _ = dump([os.path.join(fresh, "__pycache__", "m.cpython-311.pyc")])
        self.assertEqual((o["file"]["mtime_ns"], o["file"]["mtime"]),
                         (FAR_NS, "2440-01-01T00:00:00.000000001Z"))
        objs, _ = dump([fresh])
        for o in objs:
            st = os.stat(o["source"]["path"])
            self.assertEqual(o["source"]["mtime_ns"], st.st_mtime_ns)
            self.assertEqual(o["source"]["mtime"], utc(st.st_mtime_ns // 10**9,
                                                       st.st_mtime_ns % 10**9))
        self.assertIn(FAR_NS, [o["source"]["mtime_ns"] for o in objs])

    def test_source_fields(self):
        root = fresh_tree()
        objs, _ = dump([root])
        for o in objs:
            with self.subTest(path=o["path"]):
                s = o["source"]
                want = re.sub(r"(__pycache__/)?([^/]+?)(\.[a-z]+-?\d+)?\.pyc$", r"\2.py",
                              o["path"])
                self.assertEqual(s["path"], want)
                st = os.stat(s["path"])
                self.assertEqual((s["exists"], s["regular"], s["mtime_ns"], s["size"]),
                                 (True, True, st.st_mtime_ns, st.st_size))

    def test_siphash_of_checked_hash_caches(self):
        root = os.path.join(self.tmp, "h")
        shutil.copytree(fresh_tree(), root)
        with open(os.path.join(root, "h.py"), "rb") as f:
            src = f.read()
        for phase in ("fresh", "edited"):
            objs, _ = dump([root])
            by = {os.path.basename(o["path"]): o for o in objs}
            for v in FRESH_HASH:
                name = "h.cpython-%s.pyc" % v.replace(".", "")
                with self.subTest(version=v, phase=phase):
                    o = by[name]
                    self.assertEqual(o["header"]["mode"], "checked-hash")
                    with open(clitest.fs(o["path"]), "rb") as f:
                        stored = f.read()[8:16].hex()
                    self.assertEqual(o["header"]["source_hash"], stored)
                    # what the interpreter itself computes for the source as it is now
                    real = interp_eval(v, "import sys, importlib.util; sys.stdout.write("
                                       "importlib.util.source_hash(open(sys.argv[1], 'rb')"
                                       ".read()).hex())", os.path.join(root, "h.py"))
                    self.assertEqual(o["source"]["siphash"], real)
                    if phase == "fresh":
                        self.assertEqual(o["source"]["siphash"], o["header"]["source_hash"])
                        self.assertEqual(o["verdict"]["status"], "fresh")
                    else:
                        self.assertNotEqual(o["source"]["siphash"], o["header"]["source_hash"])
                        self.assertEqual(o["verdict"]["status"], "stale")
            # no SipHash for a layout without hash-based caches
            self.assertIsNone(by["m.cpython-36.pyc"]["source"]["siphash"])
            self.assertIsNone(by["m.pyc"]["source"]["siphash"])
            with open(os.path.join(root, "h.py"), "ab") as f:
                f.write(b"Y = 1\n")
        self.assertNotEqual(src, open(os.path.join(root, "h.py"), "rb").read())

    def test_siphash_of_every_fixture_hash_cache(self):
        """The committed hash-based caches (3.7-3.13, PyPy 3.9; their sources are committed
        unchanged): the SipHash dump computes equals the one each interpreter stored."""
        objs, _ = dump([os.path.join(FIXTURES, "tree")], expect_rc=None)
        n = 0
        for o in objs:
            if o["header"].get("mode") in ("checked-hash", "unchecked-hash"):
                with self.subTest(path=o["path"]):
                    self.assertEqual(o["source"]["siphash"], o["header"]["source_hash"])
                    n += 1
        with open(os.path.join(FIXTURES, "MANIFEST.tsv"), encoding="utf-8") as f:
            want = sum(1 for l in f if not l.startswith("#") and
                       l.split("\t")[4:5] in (["checked-hash"], ["unchecked-hash"]))
        self.assertGreaterEqual(want, 15)
        self.assertEqual(n, want)

    def test_verdict_equals_scan(self):
        fixtures = fixture_copy(self.tmp)
        targets = ["--target", load_manifest_targets()]
        edited = os.path.join(self.tmp, "fresh")
        shutil.copytree(fresh_tree(), edited)
        with open(os.path.join(edited, "u.py"), "ab") as f:
            f.write(b"# changed\n")  # the unchecked cache becomes stale
        os.utime(os.path.join(edited, "m.py"), (1, 1))  # the timestamp caches become stale
        for args in (targets + [fixtures], targets + [edited],
                     ["--target", "3.12", "--check-source", "always", edited],
                     ["--target", "3.11", fixtures]):
            verdicts, order, recs = scan_verdicts(args)
            objs, _ = dump(args, expect_rc=None)
            self.assertEqual([o["path"] for o in objs], order)
            statuses = set()
            for o in objs:
                with self.subTest(args=args, path=o["path"]):
                    self.assertEqual(o["verdict"], verdicts[o["path"]])
                    self.assertEqual(o["size"], recs[o["path"]]["size"])
                    statuses.add(o["verdict"]["status"])
            self.assertGreaterEqual(len(statuses), 2, args)


class SameSecond(clitest.TempDirCase):
    """same_second_hint against the interpreters themselves: each case is imported by the
    version that owns the cache, which reuses a cache it takes as fresh and rewrites one it
    takes as stale; the hint must be true exactly when the cache was reused and the source's
    mtime_ns is later than the cache's within the same second (a cache file whose mtime is
    from an earlier second was copied with its times or touched: it says nothing of when it
    was written)."""

    def case(self, name, src_ns, cache_ns, header_mtime, header_size, version):
        """A cache for source d/mod.py written with mtime src_ns, whose header says
        header_mtime (None: the source's seconds as that version compares them) and
        header_size (None: the source's size), and whose own mtime is cache_ns.  Returns the
        dump object and whether the interpreter reused the cache."""
        d = os.path.join(self.tmp, name)
        src = os.path.join(d, "mod.py")
        write_file(src, MODULE_SRC)
        os.utime(src, ns=(src_ns, src_ns))
        st = os.stat(src)
        if header_mtime is None:
            # importlib (3.3+): int(st.st_mtime), a double; 2.7's import.c: tv_sec
            header_mtime = int(st.st_mtime) if version != "2.7" else st.st_mtime_ns // 10**9
        if header_size is None:
            header_size = st.st_size
        cache = os.path.join(d, "mod.pyc") if version == "2.7" else os.path.join(
            d, "__pycache__", "mod.cpython-%s.pyc" % version.replace(".", ""))
        data = header_for(version, header_mtime, header_size) + LAYOUTS[version].code()
        write_file(cache, data)
        os.utime(cache, ns=(cache_ns, cache_ns))
        (o,), _ = dump(["--target", version, cache])
        self.assertEqual(o["source"]["mtime_ns"], src_ns)
        self.assertEqual(o["file"]["mtime_ns"], cache_ns)
        interp_eval(version, "import sys; sys.path.insert(0, sys.argv[1]); import mod", d)
        with open(cache, "rb") as f:
            reused = f.read() == data
        return o, reused

    def test_hint(self):
        S = 1700000000 * 10**9
        x = S // 10**9
        cases = [
            # name, src_ns, cache_ns, header mtime, header size, version
            ("later-source", S + 700000000, S + 300000000, None, None, "3.12"),
            ("later-source-36", S + 700000000, S + 300000000, None, None, "3.6"),
            ("later-source-27", S + 700000000, S + 300000000, None, None, "2.7"),
            # a source at x.999999999: importlib's int(st_mtime) is x + 1 (the double rounds
            # up), 2.7's import.c takes the seconds, x
            ("rounded-up", S + 999999999, S + 500000000, x + 1, None, "3.12"),
            ("rounded-up-truncated", S + 999999999, S + 500000000, x, None, "3.12"),
            ("rounded-up-36", S + 999999999, S + 500000000, x + 1, None, "3.6"),
            ("rounded-up-27", S + 999999999, S + 500000000, x + 1, None, "2.7"),
            ("truncated-27", S + 999999999, S + 500000000, x, None, "2.7"),
            ("cache-later", S + 300000000, S + 700000000, None, None, "3.12"),
            ("cache-later-27", S + 300000000, S + 700000000, None, None, "2.7"),
            ("same-ns", S + 300000000, S + 300000000, None, None, "3.12"),
            ("older-second", S + 300000000, S - 10**9, None, None, "3.12"),
            ("mtime-differs", S + 700000000, S + 300000000, x - 1, None, "3.12"),
            ("size-differs", S + 700000000, S + 300000000, None, 1, "3.12"),
            ("size-differs-36", S + 700000000, S + 300000000, None, 1, "3.6"),
        ]
        hints = {}
        for name, src_ns, cache_ns, hm, hsz, version in cases:
            with self.subTest(case=name):
                o, reused = self.case(name, src_ns, cache_ns, hm, hsz, version)
                self.assertIs(o["same_second_hint"], reused and src_ns > cache_ns and
                              src_ns // 10**9 == cache_ns // 10**9)
                self.assertEqual(o["verdict"]["status"], "fresh" if reused else "stale")
                hints[name] = o["same_second_hint"]
        # the cases do cover both answers, and the rounding of each generation
        self.assertEqual([n for n in ("later-source", "later-source-36", "later-source-27",
                                      "rounded-up", "rounded-up-36", "truncated-27")
                          if not hints.get(n)], [])
        self.assertEqual([n for n in ("older-second", "rounded-up-truncated", "rounded-up-27",
                                      "cache-later",
                                      "cache-later-27", "same-ns", "mtime-differs",
                                      "size-differs", "size-differs-36") if hints.get(n)], [])

    def test_hash_based_never_hinted(self):
        root = fresh_tree()
        objs, _ = dump([root])
        for o in objs:
            if o["header"]["mode"] != "timestamp":
                self.assertIs(o["same_second_hint"], False)


class PrettyAndConsts(clitest.TempDirCase):
    def test_pretty_equals_compact(self):
        fixtures = fixture_copy(self.tmp)
        odd = os.path.join(self.tmp, "odd")
        src = os.path.join(os.fsencode(odd), b'q"uo\\te, {x: [y]}\xff.py')
        write_file(src, MODULE_SRC)
        clitest.make_cache(src, body=LAYOUTS["3.12"].code())
        for args in ([fixtures], [fresh_tree()], ["--consts", fresh_tree()], [odd]):
            with self.subTest(args=args):
                objs, p1 = dump(args, expect_rc=None)
                p2 = run(["dump", "--pretty"] + args)
                self.assertEqual(p2.returncode, p1.returncode)
                self.assertEqual(p2.stderr, b"")
                docs = parse_pretty(p2.stdout)
                self.assertEqual(docs, objs)
                text = p2.stdout.decode("utf-8", "surrogateescape")
                self.assertGreater(text.count("\n"), 10 * len(objs))  # really indented
        self.assertEqual(len(parse_pretty(run(["dump", "--pretty", odd]).stdout)), 1)

    def test_consts(self):
        root = fresh_tree()
        plain, _ = dump([root])
        with_consts, _ = dump(["--consts", root])
        self.assertEqual(len(plain), len(with_consts))
        for a, b in zip(plain, with_consts):
            with self.subTest(path=a["path"]):
                self.assertEqual(len(a["code"]["tree"]), len(b["code"]["tree"]))
                for ca, cb in zip(a["code"]["tree"], b["code"]["tree"]):
                    self.assertNotIn("consts", ca)
                    self.assertIn("consts", cb)
                    cb = dict(cb)
                    del cb["consts"]
                    self.assertEqual(ca, cb)
                self.assertEqual({k: v for k, v in a.items() if k != "code"},
                                 {k: v for k, v in b.items() if k != "code"})
                module = b["code"]["tree"][0]["consts"]
                py2 = a["path"].endswith("/m.pyc")
                for want in ({"type": "s", "value": "hello"}, {"type": "i", "value": "42"},
                             {"type": "f", "value": "1.5"},
                             {"type": "s" if py2 else "b", "value": "by"},
                             {"type": "i", "value": "12345678901234567890123"}):
                    self.assertIn(want, module)

    def test_consts_as_documented(self):
        """Every kind of constant, compiled by 3.12 and 2.7, against the type table of
        docs/dump.md: each type printed is documented, each documented type is printed, the
        values are written as the table says, and containers are left out."""
        with open(os.path.join(clitest.ROOT, "docs", "dump.md"), encoding="utf-8") as f:
            doc = f.read()
        documented = set(re.findall(r'^\| `"(.)"` \|', doc, re.M))
        self.assertEqual(documented, set("sbifcNTF."))
        big = "0x1" + "0" * 3800  # 15,201 bits: more than 1,000 15-bit digits
        src3 = ('def f():\n'
                '    a = "t\\udc80x"\n    b = b"b\\xffy"\n    c = -5\n'
                '    d = 1267650600228229401496703205376\n    e = %s\n'
                '    g = 1.5\n    h = 1e100\n    k = 1e-07\n    m = -0.0\n'
                '    n = 2j\n    o = (1+2j)\n    p = None\n    q = True\n    r = False\n'
                '    s = ...\n    t = (7, "in a tuple")\n    u = x in {8, 9}\n'
                '    return a, b, c, d, e, g, h, k, m, n, o, p, q, r, s, t, u\n' % big)
        src2 = ('def f():\n    a = "b\\xffy"\n    b = u"\\u00e9"\n    c = 12345678901234567890L\n'
                '    return a, b, c\n')
        got = {}
        for version, src in (("3.12", src3), ("2.7", src2)):
            py = os.path.join(self.tmp, version, "k.py")
            write_file(py, src.encode("ascii"))
            cfile = os.path.join(self.tmp, version, "k.pyc")
            compile_with(version, [["timestamp", py, cfile]])
            (o,), _ = dump(["--consts", cfile])
            (f,) = [c for c in o["code"]["tree"] if c["name"] == "f"]
            got[version] = [(k["type"], k["value"]) for k in f["consts"]]
        want3 = [("s", "t\udced\udcb2\udc80x"), ("b", "b\udcffy"), ("i", "-5"),
                 ("i", "1267650600228229401496703205376"), ("i", big), ("f", "1.5"),
                 ("f", "1e+100"), ("f", "1e-07"), ("f", "-0.0"), ("c", "2j"), ("c", "(1+2j)"),
                 ("N", "None"), ("T", "True"), ("F", "False"), (".", "Ellipsis")]
        # in co_consts order: 3.12 puts None first (no docstring), where `p = None` finds it
        # again; the tuple and the frozenset are left out
        self.assertEqual(got["3.12"], [("N", "None")] + [c for c in want3 if c[0] != "N"])
        self.assertNotIn("in a tuple", [v for _, v in got["3.12"]])
        self.assertTrue(all(v != "7" and v not in ("8", "9") for _, v in got["3.12"]))
        self.assertEqual([c for c in got["2.7"] if c[0] != "N"],
                         [("s", "b\udcffy"), ("s", "\u00e9"), ("i", "12345678901234567890")])
        printed = {t for g in got.values() for t, _ in g}
        self.assertEqual(printed, documented)

    def test_deterministic_and_complete(self):
        fixtures = fixture_copy(self.tmp)
        fresh = fresh_tree()
        for args in ([fixtures], [fresh, fixtures], ["--consts", fresh]):
            with self.subTest(args=args):
                p1 = run(["dump", "--jobs", "1"] + args)
                p2 = run(["dump", "--jobs", "4"] + args)
                p3 = run(["dump"] + args)
                self.assertEqual(p1.stdout, p2.stdout)
                self.assertEqual(p1.stdout, p3.stdout)
                self.assertEqual(p1.returncode, p2.returncode)
                paths = [o["path"] for o in parse_dump(p1.stdout)]
                _, order, _ = scan_verdicts([a for a in args if a != "--consts"])
                self.assertEqual(paths, order)
                self.assertEqual(len(paths), len(set(paths)))


class Hostile(clitest.TempDirCase):
    """Bodies built to break the decoder: each must give exit 1, valid JSON with code.error and
    code.error_offset, the header, hashes and verdict, and nothing on stderr, within the
    address-space limit and the timeout."""

    def setUp(self):
        super().setUp()
        # the limit itself must not be what fails: a good cache dumps normally under it
        p = run_limited(["dump", os.path.join(FIXTURES, "tree", "__pycache__",
                                              "mod_ts.cpython-312.pyc")])
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertIsNone(json.loads(p.stdout)["code"]["error"])

    def write(self, name, version, body, mtime=1700000000):
        path = os.path.join(self.tmp, "h", name + ".pyc")
        write_file(path, header_for(version, mtime) + body)
        return path

    def check(self, o, data, hs, expect_offset=None, expect_error=True):
        """One object of a hostile file whose bytes are data and header size hs."""
        body_len = len(data) - hs
        self.assertEqual(o["sha256"], hashlib.sha256(data).hexdigest())
        self.assertTrue(HEX32.match(o["xxh3_128"]) and HEX32.match(o["body_xxh3_128"]))
        self.assertNotIn("read_error", o)
        self.assertIn(o["header"]["status"], HEADER_STATUSES)
        self.assertEqual(o["header"]["magic_bytes"], data[:4].hex())
        self.assertIn(o["verdict"]["status"], clitest.STATUSES)
        code = o["code"]
        self.assertIsInstance(code, dict)
        self.assertIsInstance(code["tree"], list)
        err, off = code["error"], code["error_offset"]
        if not expect_error and err is None:
            self.assertIsNone(off)
            self.assertGreaterEqual(len(code["tree"]), 1)
            self.assertEqual(code["trailing_bytes"], 0)
            return False
        self.assertIsInstance(err, str)
        self.assertTrue(err.strip())
        self.assertIs(type(off), int)
        self.assertTrue(0 <= off <= body_len, (off, body_len))
        if expect_offset is not None:
            self.assertEqual(off, expect_offset, err)
        return True

    def dump_one(self, path, hs, expect_offset=None):
        p = run_limited(["dump", path])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertEqual(p.stderr, b"")
        (o,) = parse_dump(p.stdout)
        with open(path, "rb") as f:
            data = f.read()
        self.check(o, data, hs, expect_offset)
        return o

    def dump_dir(self, d, hs, expect_error=True, consts=False):
        """Dump every file of directory d at once; returns {path: (object, had an error)}."""
        p = run_limited(["dump"] + (["--consts"] if consts else []) + [d], timeout=60)
        self.assertIn(p.returncode, (0, 1))
        self.assertEqual(p.stderr, b"")
        objs = parse_dump(p.stdout)
        self.assertEqual(sorted(o["path"] for o in objs), all_caches(d))
        out = {}
        for o in objs:
            with open(o["path"], "rb") as f:
                data = f.read()
            with self.subTest(path=o["path"]):
                out[o["path"]] = (o, self.check(o, data, hs, expect_error=expect_error))
        self.assertEqual(p.returncode, 1 if any(e for _, e in out.values()) else 0)
        return out

    def test_builders_make_valid_bodies(self):
        """The hand-made bodies are real code objects: the interpreter's marshal.loads takes
        them, and dump decodes them without error (so each hostile change is what breaks)."""
        for version, lay in sorted(LAYOUTS.items()):
            with self.subTest(version=version):
                body = lay.code()
                out = interp_eval(version, "import sys, marshal; c = marshal.loads(open("
                                  "sys.argv[1], 'rb').read()); sys.stdout.write(c.co_name + "
                                  "' ' + c.co_filename)", self._raw(body))
                self.assertEqual(out, "<module> hostile.py")
                magic = interp_eval(version, "import sys, binascii\ntry:\n"
                                    " import importlib.util as u; m = u.MAGIC_NUMBER\n"
                                    "except (ImportError, AttributeError):\n"
                                    " import imp; m = imp.get_magic()\n"
                                    "sys.stdout.write(binascii.hexlify(m).decode())")
                self.assertEqual(magic, final_magic(version).hex())
                path = self.write("valid" + version, version, body)
                p = run_limited(["dump", path])
                self.assertEqual((p.returncode, p.stderr), (0, b""))
                o = json.loads(p.stdout)
                self.assertEqual(o["header"]["status"], "ok")
                self.assertIsNone(o["code"]["error"])
                self.assertEqual(o["code"]["trailing_bytes"], 0)
                self.assertEqual([c["name"] for c in o["code"]["tree"]], ["<module>"])

    def _raw(self, body):
        path = os.path.join(self.tmp, "raw-%d.bin" % len(os.listdir(self.tmp)))
        with open(path, "wb") as f:
            f.write(body)
        return path

    def test_truncated_bodies(self):
        """Every prefix of a real body (the whole body decodes, so each prefix must not)."""
        tree = os.path.join(FIXTURES, "tree")
        for rel, version in (("__pycache__/mod_ts.cpython-312.pyc", "3.12"),
                             ("__pycache__/mod_ts.cpython-36.pyc", "3.6"),
                             ("mod27.pyc", "2.7")):
            with self.subTest(version=version):
                with open(os.path.join(tree, rel), "rb") as f:
                    data = f.read()
                hs = header_size(version)
                (o,), _ = dump([os.path.join(tree, rel)])
                self.assertIsNone(o["code"]["error"])
                self.assertEqual(o["code"]["trailing_bytes"], 0)
                d = os.path.join(self.tmp, "trunc" + version)
                for n in range(len(data) - hs):
                    write_file(os.path.join(d, "p%05d.pyc" % n), data[:hs + n])
                res = self.dump_dir(d, hs)
                self.assertEqual(len(res), len(data) - hs)
                for n in list(range(0, len(data) - hs, 97)) + [len(data) - hs - 1]:
                    self.dump_one(os.path.join(d, "p%05d.pyc" % n), hs)

    def test_bit_flips(self):
        """A seeded set of bit flips and byte changes in real bodies: exit 1 exactly when the
        object has an error, never a crash."""
        tree = os.path.join(FIXTURES, "tree")
        rnd = random.Random(20240601)
        for rel, version in (("__pycache__/mod_checked.cpython-312.pyc", "3.12"),
                             ("__pycache__/mod_ts.cpython-38.pyc", "3.8"),
                             ("mod27.pyc", "2.7")):
            with open(os.path.join(tree, rel), "rb") as f:
                data = f.read()
            hs = header_size(version)
            d = os.path.join(self.tmp, "flip" + version)
            for i in range(300):
                b = bytearray(data)
                for _ in range(rnd.choice((1, 1, 2, 3, 8))):
                    bit = rnd.randrange(hs * 8, len(b) * 8)
                    b[bit // 8] ^= 1 << (bit % 8)
                write_file(os.path.join(d, "f%03d.pyc" % i), bytes(b))
            with self.subTest(version=version):
                res = self.dump_dir(d, hs, expect_error=False, consts=True)
                errors = sum(1 for _, e in res.values() if e)
                self.assertGreater(errors, 50)  # the flips do break most bodies
                for i in range(0, 300, 10):
                    path = os.path.join(d, "f%03d.pyc" % i)
                    p = run_limited(["dump", path])
                    self.assertEqual(p.stderr, b"")
                    self.assertEqual(p.returncode, 1 if res[path][1] else 0)

    def test_deep_nesting(self):
        """100,000 nested tuples or lists: decoding stops at 2,000 levels (the code object and
        its consts are two of them), at the type byte of the first object too deep."""
        for version, lay in sorted(LAYOUTS.items()):
            for opener in (b"(", b"["):
                with self.subTest(version=version, opener=opener):
                    body = lay.code(consts=lay.tuple_head(1) + (opener + i32(1)) * 100000 + b"N")
                    path = self.write("deep", version, body)
                    want = lay.consts_offset() + 1998 * 5
                    o = self.dump_one(path, header_size(version), want)
                    self.assertEqual(len(o["code"]["tree"]), 1)
        # the boundary: a chain of 2,000 objects (code, consts, 1,997 tuples, None) decodes;
        # one tuple more and the None, object 2,001, is where it stops
        lay = LAYOUTS["3.12"]
        for n, ok in ((1997, True), (1998, False)):
            with self.subTest(tuples=n):
                body = lay.code(consts=lay.tuple_head(1) + b")\x01" * n + b"N")
                path = self.write("edge-deep", "3.12", body)
                if ok:
                    p = run_limited(["dump", path])
                    self.assertEqual((p.returncode, p.stderr), (0, b""))
                    self.assertIsNone(json.loads(p.stdout)["code"]["error"])
                else:
                    self.dump_one(path, 16, lay.consts_offset() + 2 * n)

    def test_nested_code_objects(self):
        """Code objects nested 2,100 deep in each other's consts: the first 1,000 (2,000 levels
        with their consts tuples) are listed, depth 0 to 999."""
        for version, lay in sorted(LAYOUTS.items()):
            with self.subTest(version=version):
                level = lay.code_head() + lay.tuple_head(1)
                body = level * 2100 + lay.code()
                path = self.write("nested", version, body)
                o = self.dump_one(path, header_size(version), 1000 * len(level))
                self.assertEqual([c["depth"] for c in o["code"]["tree"]], list(range(1000)))

    def test_huge_lengths(self):
        """Lengths of 2**31, 2**32-1 (negative as i32) and 2**31-1 (more than remains) on every
        sized type: an error at the type byte, nothing allocated for it."""
        types = {"3.12": b"suatA([<>", "3.6": b"suatA([<>", "2.7": b"sut([<>"}
        for version, lay in sorted(LAYOUTS.items()):
            hs = header_size(version)
            for t in bytearray(types[version]) + bytearray(b"l"):
                sizes = (2**31, 2**32 - 1, 2**31 - 1) if t != ord("l") else (2**31, 2**31 + 1,
                                                                              2**31 - 1)
                for size in sizes:
                    with self.subTest(version=version, type=chr(t), size=size):
                        obj = bytes([t]) + i32(size)
                        body = lay.code(consts=lay.tuple_head(1) + obj)
                        self.dump_one(self.write("len", version, body), hs, lay.consts_offset())
                        # the same in the co_code slot, right after the i32 fields
                        body = lay.ints_head() + obj + b"N" * 64
                        self.dump_one(self.write("len", version, body), hs, 1 + 4 * lay.ints)

    def test_references(self):
        """References to a slot never reserved, negative, or reserved but not yet filled: the
        code object's own slot, a container referring to itself."""
        for version in ("3.12", "3.6"):
            lay = LAYOUTS[version]
            at = lay.consts_offset()
            # slot 0 is the code object (FLAG_REF), the consts tuple below has no slot
            cases = {
                "undefined": (lay.tuple_head(1) + b"r" + i32(5), at),
                "huge": (lay.tuple_head(1) + b"r" + i32(2**31 - 1), at),
                "negative": (lay.tuple_head(1) + b"r" + i32(2**32 - 1), at),
                "code-itself": (lay.tuple_head(1) + b"r" + i32(0), at),
                "self-tuple": (lay.tuple_head(1, flag=True) + b"r" + i32(1), at),
                "self-list": (lay.tuple_head(1) + b"\xdb" + i32(1) + b"r" + i32(1), at + 5),
                "self-frozenset": (lay.tuple_head(1) + b"\xbe" + i32(1) + b"r" + i32(1), at + 5),
                "self-dict": (lay.tuple_head(1) + b"\xfbN" + b"r" + i32(1), at + 2),
                "self-nested": (lay.tuple_head(1) + b"\xa8" + i32(2) + b"N" + b"(" + i32(1) +
                                b"r" + i32(1), at + 11),
            }
            for name, (consts, want) in sorted(cases.items()):
                with self.subTest(version=version, case=name):
                    path = self.write("ref", version, lay.code(consts=consts))
                    self.dump_one(path, header_size(version), want)
        lay = LAYOUTS["2.7"]
        at = lay.consts_offset()
        for name, consts in (("stringref-undefined", b"R" + i32(0)),
                             ("stringref-negative", b"R" + i32(2**32 - 1)),
                             ("no-ref-in-2.7", b"r" + i32(0)),
                             ("no-flag-ref-in-2.7", b"\xce")):
            with self.subTest(version="2.7", case=name):
                path = self.write("ref", "2.7", lay.code(consts=lay.tuple_head(1) + consts))
                self.dump_one(path, 8, at)

    def test_repeated_references_stay_small(self):
        """1,500 tuples each holding the previous one twice (once by reference): 2**1500 leaves
        if expanded; decodes, under the limit, quickly."""
        lay = LAYOUTS["3.12"]
        n = 1500
        # slots: 0 the code object, 1 the outermost tuple ... n the innermost (pre-order)
        inner = b"\xa9\x02NN"
        body = b"\xa9\x02" * (n - 1) + inner
        for k in range(n - 1, 0, -1):
            body += b"r" + i32(k + 1)
        consts = lay.tuple_head(1) + body
        path = self.write("laughs", "3.12", lay.code(consts=consts))
        p = run_limited(["dump", "--consts", path], timeout=10)
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        self.assertIsNone(json.loads(p.stdout)["code"]["error"])

    def test_shared_strings_do_not_amplify_the_output(self):
        """2,000 code objects sharing, by reference, one names tuple of 100,000 names, one
        filename of 100,000 characters, or (with --consts) one consts tuple holding such a
        string: each would print it again, about 200 MB to 800 MB of JSON from a file of a few
        hundred kB.  The output stays within a constant times the file, the object says why the
        tree is cut, and the next cache is still dumped."""
        def z(text):
            return b"z" + bytes([len(text)]) + text

        def child(fields):
            # 3.12 layout, no FLAG_REF: the shared object is the only thing with a slot after
            # the top code object (slot 0), so it is slot 1
            f = {"consts": b")\x00", "names": b")\x00", "filename": z(b"f.py")}
            f.update(fields)
            return (b"c" + i32(0) * 3 + i32(1) + i32(0) + b"s" + i32(0) + f["consts"] +
                    f["names"] + b")\x00" + b"s" + i32(0) + f["filename"] + z(b"g") + z(b"g") +
                    i32(1) + b"s" + i32(0) + b"s" + i32(0))

        n, m = 100000, 2000
        big = b"a" + i32(n) + b"x" * n
        shared = {
            "names": b"\xa8" + i32(n) + b"".join(z(bytes([97 + i % 26])) for i in range(n)),
            "filename": b"\xe1" + big[1:],
            "consts": b"\xa8" + i32(1) + big,
        }
        for field, obj in sorted(shared.items()):
            with self.subTest(field=field):
                kids = child({field: obj}) + child({field: b"r" + i32(1)}) * (m - 1)
                body = (b"\xe3" + i32(0) * 3 + i32(1) + i32(0) + b"s" + i32(0) + b"(" + i32(m) +
                        kids + b")\x00" * 2 + b"s" + i32(0) + z(b"f.py") + z(b"m") * 2 +
                        i32(1) + b"s" + i32(0) * 2)
                d = os.path.join(self.tmp, "amp-" + field)
                path = os.path.join(d, "a.pyc")
                write_file(path, header_for("3.12") + body)
                good = os.path.join(d, "z.pyc")
                write_file(good, header_for("3.12") + LAYOUTS["3.12"].code())
                for extra in ([], ["--pretty"]):
                    p = run_limited(["dump", "--consts"] + extra + [d], timeout=60)
                    self.assertEqual((p.returncode, p.stderr), (1, b""), extra)
                    self.assertLess(len(p.stdout), 400 * len(body) + (8 << 20))
                    objs = parse_pretty(p.stdout) if extra else parse_dump(p.stdout)
                    self.assertEqual([o["path"] for o in objs], [path, good])
                    self.check(objs[0], header_for("3.12") + body, 16)
                    self.assertLess(len(objs[0]["code"]["tree"]), m + 1)
                    self.assertGreaterEqual(len(objs[0]["code"]["tree"]), 1)
                    self.assertIsNone(objs[1]["code"]["error"])

    def test_not_a_code_object_and_trailing_bytes(self):
        lay = LAYOUTS["3.12"]
        for name, body, want in (("not-code", b"N" + lay.code(), 0),
                                 ("unknown-type", lay.code(consts=lay.tuple_head(1) + b"?"),
                                  lay.consts_offset()),
                                 ("high-type", lay.code(consts=lay.tuple_head(1) + b"\xff"),
                                  lay.consts_offset())):
            with self.subTest(case=name):
                self.dump_one(self.write(name, "3.12", body), 16, want)
        # bytes after a whole code object are counted, not an error
        path = self.write("trailing", "3.12", lay.code() + b"garbage")
        p = run_limited(["dump", path])
        self.assertEqual((p.returncode, p.stderr), (0, b""))
        code = json.loads(p.stdout)["code"]
        self.assertEqual((code["error"], code["trailing_bytes"]), (None, 7))


class ExitCodes(clitest.TempDirCase):
    def test_good_tree_exits_0(self):
        objs, p = dump([fresh_tree()])
        self.assertEqual(p.stderr, b"")
        self.assertTrue(all(o["code"]["error"] is None for o in objs))
        self.assertTrue(all("read_error" not in o for o in objs))

    def test_one_undecodable_cache_exits_1(self):
        root = os.path.join(self.tmp, "t")
        shutil.copytree(fresh_tree(), root)
        bad = os.path.join(root, "__pycache__", "m.cpython-312.pyc")
        with open(bad, "rb") as f:
            data = f.read()
        with open(bad, "wb") as f:
            f.write(data[:len(data) // 2])
        objs, p = dump([root], expect_rc=1)
        self.assertEqual(p.stderr, b"")
        self.assertEqual(sorted(o["path"] for o in objs), all_caches(root))
        for o in objs:
            with self.subTest(path=o["path"]):
                if o["path"] == bad:
                    self.assertTrue(o["code"]["error"])
                else:
                    self.assertIsNone(o["code"]["error"])
                    self.assertTrue(o["code"]["tree"])
        # the good ones alone are fine again
        dump([os.path.join(root, "pkg")], expect_rc=0)

    def test_what_scan_does_not_decode(self):
        """docs/statuses.md: scan reads the body only as far as its first byte and a minimum
        length, so a body broken further in is fresh; dump decodes it all and says where it
        breaks, with the same verdict."""
        src = os.path.join(self.tmp, "t", "m.py")
        write_file(src, b"x = 1\n")
        cache = clitest.make_cache(src, body=clitest.CODE_BODY)  # code type, then zeros
        pycs, _, _, _ = clitest.scan_json(["--target", "3.12", cache])
        self.assertEqual(pycs[0]["status"], "fresh")
        (o,), _ = dump(["--target", "3.12", cache], expect_rc=1)
        self.assertEqual(o["verdict"]["status"], "fresh")
        self.assertEqual(o["header"]["status"], "ok")
        self.assertTrue(o["code"]["error"])
        self.assertGreater(o["code"]["error_offset"], 0)
        with open(os.path.join(clitest.ROOT, "docs", "statuses.md"), encoding="utf-8") as f:
            doc = f.read()
        self.assertNotIn("planned", doc)
        self.assertIn("`pycinspect dump` decodes the whole marshal body", doc)

    def test_broken_header_exits_1(self):
        # nothing to decode: the header says why, code is null, and the exit status says so
        root = os.path.join(self.tmp, "h")
        os.makedirs(os.path.join(root, "__pycache__"))
        cases = {"empty": b"", "badmagic": b"\x00\x01\x02\x03" + b"\0" * 12 + b"\xe3",
                 "short": b"\xcb\x0d\x0d\x0a\0\0"}
        for name, data in cases.items():
            open(os.path.join(root, name + ".py"), "w").close()
            with open(os.path.join(root, "__pycache__", name + ".cpython-312.pyc"), "wb") as f:
                f.write(data)
        objs, p = dump([root], expect_rc=1)
        self.assertEqual(p.stderr, b"")
        self.assertEqual(len(objs), 3)
        for o in objs:
            with self.subTest(path=o["path"]):
                self.assertIsNone(o["code"])
                self.assertNotEqual(o["header"]["status"], "ok")
                self.assertEqual(o["verdict"]["status"], "invalid")
                self.assertIsNotNone(o["sha256"])

    def test_unreadable_cache_exits_1(self):
        if os.geteuid() != 0 or not shutil.which("setpriv"):
            self.fail("this test drops privileges with setpriv and needs root")
        root = os.path.join(self.tmp, "t")
        shutil.copytree(fresh_tree(), root)
        for d, dirs, files in os.walk(self.tmp):
            os.chmod(d, 0o755)
            for f in files:
                os.chmod(os.path.join(d, f), 0o644)
        binary = os.path.join(self.tmp, "pycinspect")
        shutil.copy(BIN, binary)
        os.chmod(binary, 0o755)
        locked = os.path.join(root, "__pycache__", "m.cpython-312.pyc")
        os.chmod(locked, 0)
        os.chmod(os.path.join(root, "pkg"), 0)
        p = subprocess.run(clitest.NOBODY + [binary, "dump", root], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60, env=clitest.env_c())
        self.assertEqual(p.returncode, 1, p.stderr)
        objs = parse_dump(p.stdout)
        errors = [o for o in objs if o["type"] == "error"]
        self.assertEqual([(e["path"], e["errno"]) for e in errors],
                         [(os.path.join(root, "pkg"), 13)])
        self.assertIn(b"cannot open directory", p.stderr)
        dumps = {o["path"]: o for o in objs if o["type"] == "dump"}
        o = dumps[locked]
        self.assertEqual(o["read_error"], os.strerror(13))
        self.assertEqual((o["sha256"], o["xxh3_128"], o["body_xxh3_128"]), (None, None, None))
        self.assertEqual(o["verdict"]["status"], "invalid")
        # never read, so its header is unknown (not "empty"); lstat still gives its metadata
        self.assertIsNone(o["header"])
        self.assertIsNone(o["code"])
        self.assertEqual(o["file"], lstat_fields(locked))
        self.assertEqual(o["size"], os.lstat(locked).st_size)
        others = [x for x in dumps.values() if x["path"] != locked]
        self.assertEqual(len(others), len(all_caches(fresh_tree())) - 2)  # pkg's one too
        self.assertTrue(all(x["code"]["error"] is None for x in others))

    def test_usage_errors_exit_2(self):
        for args in (["/nonexistent/x"], ["--bogus", fresh_tree()], ["--jobs", "0", "."],
                     ["--target", "9.x", fresh_tree()], [fresh_tree(), "/nonexistent/y"]):
            with self.subTest(args=args):
                p = run(["dump"] + args)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertNotEqual(p.stderr, b"")

    def test_dev_full(self):
        with open("/dev/full", "wb") as full:
            p = run(["dump", fresh_tree()], stdout=full)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"No space left on device", p.stderr)
        with open("/dev/full", "wb") as full:
            p = run(["dump", "--pretty", "--jobs", "1", fresh_tree()], stdout=full)
        self.assertEqual(p.returncode, 2)
        self.assertTrue(p.stderr.strip())

    def test_large_output_errors_said_once(self):
        """Output past the 64 KiB buffer: /dev/full and a pipe closed by the reader stop the
        run with exit 2 and one message on stderr."""
        fixtures = os.path.join(FIXTURES, "tree")
        args = ["dump", "--pretty", "--consts", fixtures, fixtures, fixtures, fixtures]
        # the same PATH four times is dumped four times, after a warning for each repeat
        same = ["pycinspect: warning: '%s' is the same as '%s': its caches are reported again"
                % (fixtures, fixtures)] * 3
        with open("/dev/full", "wb") as full:
            p = run(args, stdout=full)
        self.assertEqual(p.returncode, 2)
        self.assertEqual(p.stderr.decode().splitlines(),
                         same + ["pycinspect: cannot write output: No space left on device"])
        self.assertGreater(len(run(args).stdout), 4 * 65536)  # it is large
        proc = subprocess.Popen([BIN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=clitest.env_c())
        proc.stdout.close()
        err = proc.stderr.read()
        proc.stderr.close()
        self.assertEqual(proc.wait(timeout=60), 2)
        self.assertEqual(err.decode().splitlines(),
                         same)  # a closed pipe ends dump without a message

    def test_help_lists_the_options_that_apply(self):
        """dump --help: the engine's options as scan lists them, but not --json (dump's output
        is always JSON) nor --quiet (scan's and clean's), nor --color (JSON is never coloured)
        nor --no-progress (no progress line with JSON), and dump's own.  --json is still
        accepted, and changes nothing."""
        def options(cmd):
            p = run([cmd, "--help"])
            self.assertEqual(p.returncode, 0, p.stderr)
            return set(re.findall(r"^ {2,6}(?:-\w, )?(--[\w-]+)", p.stdout.decode(), re.M))
        got = options("dump")
        self.assertNotIn("--json", got)
        scan_only = {"--all", "--check", "--json", "--quiet", "--color", "--no-progress"}
        self.assertEqual(got, options("scan") - scan_only | {"--pretty", "--consts"})
        self.assertTrue({"--target", "--check-source", "--exclude", "--no-default-excludes",
                         "--cross-mounts", "--jobs", "--help"} <= got)
        plain, _ = dump(["--target", "3.12", "--jobs", "1", fresh_tree()])
        with_json, p = dump(["--json", "--target", "3.12", "--jobs", "1", fresh_tree()])
        self.assertEqual(p.stderr, b"")
        self.assertEqual(with_json, plain)

    def test_default_path_is_dot(self):
        objs, p = dump(["--target", "3.12"], cwd=fresh_tree())
        self.assertEqual(p.stderr, b"")
        self.assertEqual(sorted(o["path"] for o in objs),
                         sorted("./" + os.path.relpath(c, fresh_tree())
                                for c in all_caches(fresh_tree())))
        self.assertTrue(all(o["source"]["path"].startswith("./") for o in objs))

    def test_fifo_and_symlink_not_opened(self):
        root = os.path.join(self.tmp, "t")
        write_file(os.path.join(root, "good.py"), MODULE_SRC)
        good = clitest.make_cache(os.path.join(root, "good.py"), body=LAYOUTS["3.12"].code())
        fifo = os.path.join(root, "x.pyc")
        os.mkfifo(fifo)
        os.utime(fifo, ns=(FAR_NS, FAR_NS))
        link = os.path.join(root, "y.pyc")
        os.symlink(good, link)
        for args in ([root], [fifo]):
            with self.subTest(args=args):
                # a writer that never writes: opening the FIFO without O_NONBLOCK would block
                # forever (the timeout catches it), reading would too
                objs, p = dump(["--target", "3.12"] + args, expect_rc=1, timeout=20)
                self.assertEqual(p.stderr, b"")
                by = {o["path"]: o for o in objs}
                self.assertEqual(sorted(by), sorted([fifo, link, good] if args == [root]
                                                     else [fifo]))
                for path, kind in ((fifo, "fifo"), (link, "symlink")):
                    if path not in by:
                        continue
                    o = by[path]
                    # what lstat says, the same fields as for a regular file
                    self.assertEqual(o["file"], lstat_fields(path))
                    self.assertEqual(o["file"]["type"], kind)
                    self.assertEqual(o["size"], os.lstat(path).st_size)
                    self.assertEqual((o["sha256"], o["xxh3_128"], o["body_xxh3_128"]),
                                     (None, None, None))
                    # as scan says it, and never read: no header, not an "empty" one
                    self.assertEqual(o["read_error"], "not a regular file")
                    self.assertIsNone(o["header"])
                    self.assertIsNone(o["code"])
                    self.assertEqual(o["verdict"], {"status": "invalid", "foreign": False,
                                                    "reasons": ["not a regular file"]})
                if good in by:
                    self.assertIsNone(by[good]["code"]["error"])
                    self.assertEqual(by[good]["file"], lstat_fields(good))
        # the same verdict from scan, and --pretty (the trial's command) says the same
        pycs, _, _, _ = clitest.scan_json(["--target", "3.12", fifo], expect_rc=0, timeout=20)
        self.assertEqual([(r["status"], r["reasons"]) for r in pycs],
                         [("invalid", ["not a regular file"])])
        p = run(["dump", "--pretty", "--target", "3.12", fifo], timeout=20)
        self.assertEqual(p.returncode, 1, p.stderr)
        (o,) = parse_pretty(p.stdout)
        self.assertEqual((o["read_error"], o["header"], o["file"]["type"]),
                         ("not a regular file", None, "fifo"))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))


class NonUtf8Names(clitest.TempDirCase):
    def test_round_trip(self):
        root = os.fsencode(os.path.join(self.tmp, "t"))
        d = os.path.join(root, b"d\xe9j\xe0")
        names = []
        for stem in (b"caf\xe9", b"bad\xff\xfe", b"caf\xc3\xa9", b"nl\nx"):
            src = os.path.join(d, stem + b".py")
            write_file(src, MODULE_SRC)
            names.append(clitest.make_cache(src, body=LAYOUTS["3.12"].code()))
            legacy = os.path.join(d, stem + b".pyc")
            st = os.stat(src)
            write_file(legacy, header_for("3.12", int(st.st_mtime), st.st_size) +
                       LAYOUTS["3.12"].code())
            names.append(legacy)
        for args in ([root], [d], names[:1]):
            with self.subTest(args=args):
                objs, p = dump(["--target", "3.12"] + args)
                self.assertEqual(p.stderr, b"")
                got = [clitest.fs(o["path"]) for o in objs]
                self.assertEqual(sorted(got), sorted(names if args != names[:1] else names[:1]))
                for o in objs:
                    path = clitest.fs(o["path"])
                    with open(path, "rb") as f:
                        self.assertEqual(o["sha256"], hashlib.sha256(f.read()).hexdigest())
                    self.assertEqual(o["file"]["inode"], os.lstat(path).st_ino)
                    src = clitest.fs(o["source"]["path"])
                    self.assertTrue(os.path.isfile(src))
                    self.assertEqual(o["source"]["size"], os.stat(src).st_size)
                    self.assertEqual(o["verdict"]["status"], "fresh")
                raw = p.stdout
                self.assertIn(b"\\udce9", raw)           # escaped as docs/json.md says
                self.assertNotIn(b"\xe9", raw)           # never raw invalid bytes
                raw.decode("utf-8")                      # the output itself is UTF-8
                if args == [root]:
                    self.assertIn(b"caf\xc3\xa9", raw)   # valid UTF-8 stays as it is
                    self.assertIn(b"nl\\nx", raw)


if __name__ == "__main__":
    clitest.main()
