#!/usr/bin/env python3
"""Generate a synthetic tree of Python sources and .pyc caches for the benchmark.

    bench/gen_synthetic.py [--seed N] [--jobs N] COUNT OUTDIR   (COUNT: 10000, 10k, 100k, 1M)

Deterministic: the same COUNT, seed and generator version give the same tree (names, file
contents, headers and mtimes), whatever the number of processes writing it (each project of the
tree has its own seeded generator).  Exactly COUNT caches are written, mixed as an old,
much-used machine has them, judged for the targets 3.12 and 3.13 (pass `--target 3.12,3.13` to
pycinspect):
  fresh      timestamp caches of 3.12/3.13 (some .opt-1/.opt-2) whose header holds
             int(source mtime) and source size & 0xFFFFFFFF, CPython's rule; the source mtime is
             set with os.utime (whole seconds plus nanoseconds below .999, so int(st_mtime) is
             the second)
  stale      the same with the mtime or the size field off
  orphaned   caches in __pycache__ whose source is gone
  foreign    fresh caches of 3.6 (12-byte header), 3.8, 3.10, 3.11, PyPy 3.9, and legacy 2.7
             NAME.pyc beside NAME.py (8-byte header)
  hash-based checked (flags 3) and unchecked (flags 1) caches of 3.12/3.13 whose SipHash-1-3 of
             the source is right (fresh) or wrong (stale)
Directories look like installed distributions: packages with __init__.py, 10-50 modules and a
__pycache__ each, nested subpackages, tests/ packages and docs/ folders without Python.
Bodies are small: the marshal code type byte (0xe3) and filler bytes, enough for the header
checks of `scan`; they are not loadable code objects.  Nothing is compiled: bytes are written
directly, magic numbers come from data/magic_numbers.tsv.

The tree is built in OUTDIR.tmp and renamed; OUTDIR/.manifest.json records the parameters and the
expected count of each status.  An OUTDIR whose manifest matches is reused as it is; one with a
different manifest is replaced; a directory without a manifest is never touched.
"""
import argparse
import json
import math
import os
import random
import shutil
import sys
import time

GENERATOR_VERSION = 3
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MAGIC_TSV = os.path.join(ROOT, "data", "magic_numbers.tsv")
MANIFEST = ".manifest.json"
TARGETS = ["3.12", "3.13"]

# tag -> (implementation, version) of the interpreter that writes it
TARGET_TAGS = [("cpython-313", 0.55), ("cpython-312", 0.45)]
FOREIGN_TAGS = [("cpython-311", 0.3), ("cpython-310", 0.25), ("cpython-38", 0.2),
                ("pypy39", 0.15), ("cpython-36", 0.1)]
TAG_VERSION = {"cpython-313": ("cpython", "3.13"), "cpython-312": ("cpython", "3.12"),
               "cpython-311": ("cpython", "3.11"), "cpython-310": ("cpython", "3.10"),
               "cpython-38": ("cpython", "3.8"), "cpython-36": ("cpython", "3.6"),
               "pypy39": ("pypy", "3.9"), "legacy27": ("cpython", "2.7")}
OPT_LEVELS = [("", 0.82), (".opt-1", 0.13), (".opt-2", 0.05)]

# What each cache of a source is (orphans and legacy 2.7 caches are drawn separately).
KINDS = [("fresh", 0.60), ("stale-mtime", 0.07), ("stale-size", 0.03), ("foreign", 0.13),
         ("checked-fresh", 0.06), ("checked-stale", 0.02), ("unchecked-fresh", 0.06),
         ("unchecked-stale", 0.03)]
KIND_STATUS = {"fresh": "fresh", "stale-mtime": "stale", "stale-size": "stale",
               "foreign": "foreign", "legacy27": "foreign", "orphaned": "orphaned",
               "checked-fresh": "fresh", "checked-stale": "stale",
               "unchecked-fresh": "fresh", "unchecked-stale": "stale"}
P_ORPHAN = 0.07     # per source: one more cache, of a module that was removed
P_LEGACY27 = 0.015  # per source: a 2.7 NAME.pyc beside it
P_NO_CACHES = 0.06  # per package: never imported, no caches at all

WORDS = ("core util utils api models views io net db cli config handlers plugins compat "
         "internal backends schema parsers formats tasks auth cache client server events "
         "errors types helpers storage render widgets forms query session signals loader "
         "registry metrics logging tracing policy resources mixins fields encoders decoders "
         "transport streams buffers workers jobs scheduler protocol messages http json xml "
         "yaml csv image text color math stats geo time locale crypto hashing random").split()

MTIME_LO = 1_500_000_000  # 2017, inside 32 bits for every version's rule
MTIME_HI = 1_760_000_000


# SipHash (k0 = the magic word, k1 = 0), as CPython's _Py_KeyedHash: SipHash-1-3 for 3.11+,
# SipHash-2-4 before.  Used when the running interpreter cannot compute the variant itself.
def _siphash(key, data, c_rounds, d_rounds):
    M = 0xFFFFFFFFFFFFFFFF

    def rounds(v0, v1, v2, v3, n):
        for _ in range(n):
            v0 = (v0 + v1) & M; v1 = ((v1 << 13) | (v1 >> 51)) & M; v1 ^= v0
            v0 = ((v0 << 32) | (v0 >> 32)) & M
            v2 = (v2 + v3) & M; v3 = ((v3 << 16) | (v3 >> 48)) & M; v3 ^= v2
            v0 = (v0 + v3) & M; v3 = ((v3 << 21) | (v3 >> 43)) & M; v3 ^= v0
            v2 = (v2 + v1) & M; v1 = ((v1 << 17) | (v1 >> 47)) & M; v1 ^= v2
            v2 = ((v2 << 32) | (v2 >> 32)) & M
        return v0, v1, v2, v3

    k0, k1 = key, 0
    v0 = k0 ^ 0x736F6D6570736575
    v1 = k1 ^ 0x646F72616E646F6D
    v2 = k0 ^ 0x6C7967656E657261
    v3 = k1 ^ 0x7465646279746573
    n = len(data)
    end = n - n % 8
    for i in range(0, end, 8):
        m = int.from_bytes(data[i:i + 8], "little")
        v3 ^= m
        v0, v1, v2, v3 = rounds(v0, v1, v2, v3, c_rounds)
        v0 ^= m
    b = ((n & 0xFF) << 56) | int.from_bytes(data[end:], "little")
    v3 ^= b
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, c_rounds)
    v0 ^= b
    v2 ^= 0xFF
    v0, v1, v2, v3 = rounds(v0, v1, v2, v3, d_rounds)
    return ((v0 ^ v1 ^ v2 ^ v3) & M).to_bytes(8, "little")


def source_hash(magic_word, data, variant):
    """The 8 bytes CPython writes in a hash-based cache (importlib.util.source_hash)."""
    key = int.from_bytes(magic_word, "little")
    own = "siphash13" if sys.version_info >= (3, 11) else "siphash24"
    if variant == own and sys.version_info >= (3, 7) and sys.implementation.name == "cpython":
        import _imp
        return _imp.source_hash(key, data)
    return _siphash(key, data, *((1, 3) if variant == "siphash13" else (2, 4)))


def final_magics(path=MAGIC_TSV):
    """(impl, version) -> magic number that the final releases write (the last such row)."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            magic, impl, version, final = cols[0], cols[1], cols[2], cols[4]
            if final and not magic.startswith("0x"):
                out[(impl, version)] = int(magic)
    return out


def parse_count(text):
    t = text.strip().lower().replace("_", "")
    mult = 1
    if t.endswith("k"):
        mult, t = 1000, t[:-1]
    elif t.endswith("m"):
        mult, t = 1000000, t[:-1]
    return int(float(t) * mult)


def count_label(n):
    if n % 1000000 == 0:
        return "%dM" % (n // 1000000)
    if n % 1000 == 0:
        return "%dk" % (n // 1000)
    return str(n)


def weighted(rng, table):
    x = rng.random() * sum(w for _, w in table)
    for item, w in table:
        x -= w
        if x < 0:
            return item
    return table[-1][0]


class Generator:
    """Writes projects into tmp; each project from its own seeded generator, so that projects
    can be written in any order, by several processes, with the same result."""

    def __init__(self, tmp, seed):
        self.tmp = tmp
        self.seed = seed
        magics = final_magics()
        self.header = {}  # tag -> (magic word, header size, hash variant)
        for tag, (impl, version) in TAG_VERSION.items():
            number = magics[(impl, version)]
            word = number.to_bytes(2, "little") + b"\r\n"
            size = {"legacy27": 8, "cpython-36": 12}.get(tag, 16)
            newer = impl == "cpython" and tuple(map(int, version.split("."))) >= (3, 11)
            variant = "siphash13" if newer else "siphash24"
            self.header[tag] = (word, size, variant)
        # Source texts: a pool, so that hashes can be computed once per (text, tag).
        self.pool = [self._source_text(i) for i in range(384)]
        self.hashes = {}
        fr = random.Random("body-%d" % seed)
        self.body = b"\xe3" + bytes(fr.getrandbits(8) for _ in range(4096))
        self.flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)

    def _source_text(self, i):
        r = random.Random("src-%d-%d" % (self.seed, i))
        if i < 24:
            return b"" if i < 12 else b'"""Package."""\n'
        size = int(math.exp(r.uniform(math.log(120), math.log(12000))))
        parts = ['"""Module %d: generated for the pycinspect benchmark."""\nimport os\n\n' % i]
        n = 0
        while sum(len(p) for p in parts) < size:
            w = r.choice(WORDS)
            parts.append("\ndef %s_%d(value, scale=%d):\n    \"\"\"Return %s.\"\"\"\n"
                         "    return (value * scale + %d) %% %d\n" % (
                             w, n, r.randrange(1, 99), w, r.randrange(1000), r.randrange(2, 97)))
            n += 1
        return "".join(parts).encode()[:size]

    # -- writing ---------------------------------------------------------------------------
    def _write(self, path, data, mtime_ns=MTIME_LO * 10**9):
        fd = os.open(path, self.flags, 0o644)
        try:
            os.write(fd, data)
            os.utime(fd, ns=(mtime_ns, mtime_ns))
        finally:
            os.close(fd)
        self.bytes += len(data)

    def _cache_bytes(self, tag, kind, text, idx, sec):
        word, hsize, variant = self.header[tag]
        rng = self.rng
        size = len(text)
        if kind.startswith("checked") or kind.startswith("unchecked"):
            flags = 3 if kind.startswith("checked") else 1
            if kind.endswith("fresh"):
                h = self.hashes.get((idx, tag))
                if h is None:
                    h = self.hashes[(idx, tag)] = source_hash(word, text, variant)
            else:
                h = rng.getrandbits(64).to_bytes(8, "little")
            head = word + flags.to_bytes(4, "little") + h
        else:
            mtime = sec
            if kind == "stale-mtime":
                mtime = sec - rng.randrange(1, 10_000_000)
            elif kind == "stale-size":
                size = size + rng.randrange(1, 400)
            mtime &= 0xFFFFFFFF
            size &= 0xFFFFFFFF
            if hsize == 16:
                head = word + b"\0\0\0\0" + mtime.to_bytes(4, "little") + size.to_bytes(4, "little")
            elif hsize == 12:
                head = word + mtime.to_bytes(4, "little") + size.to_bytes(4, "little")
            else:
                head = word + mtime.to_bytes(4, "little")
        return head + self.body[:rng.randrange(48, 640)]

    def _add(self, kind):
        self.caches += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def _full(self):
        return self.caches >= self.count

    def package(self, path, depth):
        rng = self.rng
        os.mkdir(path)
        self.dirs += 1
        n_modules = rng.randint(10, 50)
        names = ["__init__"]
        used = {"__init__"}
        while len(names) < n_modules:
            w = rng.choice(WORDS)
            if w in used:
                w = "%s_%d" % (w, rng.randrange(100))
            if w not in used:
                used.add(w)
                names.append(w)
        with_caches = rng.random() >= P_NO_CACHES
        pycache = os.path.join(path, "__pycache__")
        made_pycache = False

        def in_pycache(fname, data, mtime):
            """Write a cache into __pycache__, making it on first use."""
            nonlocal made_pycache
            if not made_pycache:
                os.mkdir(pycache)
                self.dirs += 1
                made_pycache = True
            self._write(os.path.join(pycache, fname), data, mtime)

        for name in names:
            idx = rng.randrange(24) if name == "__init__" else rng.randrange(24, len(self.pool))
            text = self.pool[idx]
            sec = rng.randrange(MTIME_LO, MTIME_HI)
            mtime_ns = sec * 10**9 + rng.randrange(0, 999_000_000)
            self._write(os.path.join(path, name + ".py"), text, mtime_ns)
            self.sources += 1
            if not with_caches or self._full():
                continue
            r = rng.random()
            n_caches = 1 if r < 0.6 else 2 if r < 0.9 else 3
            taken = set()
            for _ in range(n_caches):
                if self._full():
                    break
                kind = weighted(rng, KINDS)
                tag = weighted(rng, FOREIGN_TAGS if kind == "foreign" else TARGET_TAGS)
                opt = weighted(rng, OPT_LEVELS)
                fname = "%s.%s%s.pyc" % (name, tag, opt)
                if fname in taken:
                    continue
                taken.add(fname)
                in_pycache(fname, self._cache_bytes(tag, kind, text, idx, sec), mtime_ns + 10**9)
                self._add(kind)
            if not self._full() and rng.random() < P_LEGACY27:
                self._write(os.path.join(path, name + ".pyc"),
                            self._cache_bytes("legacy27", "fresh", text, idx, sec),
                            mtime_ns + 10**9)
                self._add("legacy27")
            if not self._full() and rng.random() < P_ORPHAN:
                tag = weighted(rng, TARGET_TAGS + FOREIGN_TAGS)
                fname = "old_%s_%d.%s.pyc" % (name.strip("_"), rng.randrange(1000), tag)
                if fname not in taken:
                    taken.add(fname)
                    in_pycache(fname, self._cache_bytes(tag, "fresh", text, idx, sec),
                               mtime_ns + 10**9)
                    self._add("orphaned")
        # subpackages: fewer the deeper
        if depth < 5:
            n_sub = 0
            for _ in range(4):
                if rng.random() < 0.55 / (depth + 1):
                    n_sub += 1
            if depth == 0:
                n_sub += 1  # tests/
            for i in range(n_sub):
                if self._full():
                    break
                sub = "tests" if depth == 0 and i == n_sub - 1 else rng.choice(WORDS)
                sp = os.path.join(path, sub)
                if os.path.exists(sp):
                    sp = "%s_%d" % (sp, i)
                self.package(sp, depth + 1)

    def project(self, n, quota):
        """Write project n, with exactly `quota` caches; returns its counts."""
        rng = self.rng = random.Random("pycinspect-bench-%d-project-%d" % (self.seed, n))
        self.count, self.caches, self.sources, self.dirs, self.bytes = quota, 0, 0, 0, 0
        self.kinds = {}
        top = os.path.join(self.tmp, "dist%04d" % n)
        os.mkdir(top)
        self.dirs += 1
        for extra in ("README.txt", "LICENSE.txt", "setup.cfg"):
            self._write(os.path.join(top, extra), self.pool[rng.randrange(len(self.pool))][:900])
        if rng.random() < 0.5:
            docs = os.path.join(top, "docs")
            os.mkdir(docs)
            self.dirs += 1
            for i in range(rng.randint(5, 20)):
                self._write(os.path.join(docs, "page%d.rst" % i),
                            self.pool[rng.randrange(24, 64)][:2000])
        while not self._full():  # a project may hold several top-level packages
            name = rng.choice(WORDS) + rng.choice(["", "lib", "kit", "py", "tools", "x"])
            path = os.path.join(top, name)
            if os.path.exists(path):
                continue
            self.package(path, 0)
        return {"caches": self.caches, "sources": self.sources, "directories": self.dirs,
                "bytes_written": self.bytes, "kinds": self.kinds}


def plan(count, seed):
    """The projects of a tree of `count` caches: their sizes in caches (the last one trimmed)."""
    rng = random.Random("pycinspect-bench-%d-plan-%d" % (seed, count))
    quotas = []
    total = 0
    while total < count:
        q = min(rng.randint(150, 1500), count - total)
        quotas.append(q)
        total += q
    return quotas


_worker = None


def _project(args):
    global _worker
    tmp, seed, n, quota = args
    if _worker is None:
        _worker = Generator(tmp, seed)
    return _worker.project(n, quota)


def generate(out, count, seed, jobs=None):
    """Write the tree in OUT.tmp with `jobs` processes, then rename it OUT; returns the manifest."""
    tmp = out + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    os.makedirs(tmp)
    quotas = plan(count, seed)
    work = [(tmp, seed, n, q) for n, q in enumerate(quotas)]
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(work)))
    if jobs == 1:
        results = [_project(w) for w in work]
    else:
        import multiprocessing
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(_project, work, chunksize=1)
    totals = {"caches": 0, "sources": 0, "directories": 1, "bytes_written": 0}
    kinds = {}
    for r in results:
        for k in totals:
            totals[k] += r[k]
        for k, c in r["kinds"].items():
            kinds[k] = kinds.get(k, 0) + c
    expected = {}
    for kind, c in kinds.items():
        expected[KIND_STATUS[kind]] = expected.get(KIND_STATUS[kind], 0) + c
    manifest = dict({"generator": GENERATOR_VERSION, "seed": seed, "count": count,
                     "targets": TARGETS, "projects": len(quotas)}, **totals)
    manifest["expected_status"] = dict(sorted(expected.items()))
    manifest["kinds"] = dict(sorted(kinds.items()))
    if manifest["caches"] != count:
        raise SystemExit("generator bug: %d caches written, %d asked" % (manifest["caches"], count))
    with open(os.path.join(tmp, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.rename(tmp, out)
    return manifest


def read_manifest(out):
    try:
        with open(os.path.join(out, MANIFEST)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ensure(out, count, seed=1, log=print, jobs=None):
    """The manifest of a synthetic tree of COUNT caches at OUT, generated if not already there."""
    m = read_manifest(out)
    if m and m.get("generator") == GENERATOR_VERSION and m.get("seed") == seed \
            and m.get("count") == count:
        return m
    if os.path.exists(out):
        if m is None:
            raise SystemExit("%s exists and was not made by gen_synthetic.py: not touching it"
                             % out)
        log("  replacing %s (made with other parameters)" % out)
        shutil.rmtree(out)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    t0 = time.perf_counter()
    log("  generating %s caches in %s ..." % (count_label(count), out))
    m = generate(out, count, seed, jobs)
    log("  generated in %.1f s: %d caches, %d sources, %d directories, %.0f MiB written" % (
        time.perf_counter() - t0, m["caches"], m["sources"], m["directories"],
        m["bytes_written"] / 2**20))
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("count", help="number of caches: 10000, 10k, 100k, 1M")
    ap.add_argument("outdir")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", "1")))
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("BENCH_GEN_JOBS", "0")),
                    help="processes writing the tree (default: one per CPU; the tree is the same)")
    args = ap.parse_args()
    m = ensure(args.outdir, parse_count(args.count), args.seed, jobs=args.jobs or None)
    print(json.dumps(m["expected_status"]))


if __name__ == "__main__":
    main()
