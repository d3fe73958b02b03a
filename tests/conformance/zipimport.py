#!/usr/bin/env python3
"""Conformance of the zipimport rules: every interpreter imports from the same zips that
pycinspect judges, and the cache it uses, or passes over, is the one pycinspect says.

For each interpreter conformance.py finds (pyenv's 2.7 and 3.6-3.13, PyPy, and CPython 3.14
and 3.15 through Pyodide), one zip holds a module per case, each a legacy NAME.pyc (or .pyo)
beside NAME.py, or not, whose header is that interpreter's own layout around a code body its
marshal wrote: the mtime field one to three seconds off the source member's DOS time either
way, the size field off by one, a DOS date after 2038, no source, only a __pycache__ cache, a
.pyo, another version's magic, and from 3.7 checked and unchecked hashes (the source's SipHash
by the interpreter's _imp.source_hash, or a wrong one), flags 2 and flags 4.  The interpreter
imports every module (-v, and --check-hash-based-pycs MODE for each mode it has) and says which
member each came from (its __file__); `pycinspect scan --json --target VERSION --check-source
MODE` of the same zip must call the cache fresh (or sourceless, or stale with "still runs",
for an unchecked hash) exactly when the interpreter used it, invalid when the import failed,
and anything else when it compiled the source instead.  Once more with TZ=America/New_York for
both: the DOS times were written in UTC, and zipimport reads them in local time.  Then a zip
with a member name flagged UTF-8 that is not: refused by pycinspect exactly when the
interpreter's import from it fails.

Environment and options as conformance.py (PYCI_BIN, PYENV_ROOT, Pyodide); --only 3.13,2.7.
Output: one line per failed case, then exactly "N passed, M failed".  Standard library only.
"""
import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zipfile

sys.dont_write_bytecode = True
import conformance as conf  # noqa: E402  (discovery, interpreters, environment)

# Run by every interpreter, 2.7 included.
IMPORT = r"""
import sys, json
sys.path.insert(0, sys.argv[1])
out = {}
for name in sys.argv[2].split(","):
    try:
        m = __import__(name)
        out[name] = m.__file__
    except BaseException as e:
        out[name] = "!" + type(e).__name__
sys.stdout.write("@@RESULT@@" + json.dumps(out) + "\n")
"""

FACTS = r"""
import sys, marshal, binascii, json
try:
    import importlib.util
    magic = importlib.util.MAGIC_NUMBER
except (ImportError, AttributeError):
    import imp
    magic = imp.get_magic()
src = sys.argv[1].encode("ascii")
body = marshal.dumps(compile(src, "m.py", "exec"))
h = None
if sys.version_info[:2] >= (3, 7):
    import _imp
    h = binascii.hexlify(_imp.source_hash(int.from_bytes(magic, "little"), src)).decode()
sys.stdout.write("@@FACTS@@" + json.dumps({"body": binascii.hexlify(body).decode(),
                                           "hash": h}) + "\n")
"""

SRC = "x = 1\n"
# DOS times are written in this zone (the zips' "local" time); zipimport reads them in its own
WRITE_TZ = "UTC"
OTHER_TZ = "America/New_York"
T = 1683360490   # 2023-05-06 08:08:10 UTC: an even second, as DOS times are
T2040 = 2219814490  # 2040-05-06: a field >= 2**31
STILL_RUNS = "unchecked hash: source changed but Python still runs this outdated code"


def dos(t):
    return time.gmtime(t)[:6]  # WRITE_TZ is UTC


class Runner:
    def __init__(self, it, pyci, keep):
        self.it, self.pyci, self.keep = it, pyci, keep
        self.lines, self.passed, self.failed = [], 0, 0
        self.tmp = tempfile.mkdtemp(prefix="pyci-zipimport-")

    def fail(self, msg):
        self.failed += 1
        self.lines.append("FAIL %s: %s" % (self.it.label, msg))

    def header(self, mtime, size, flags=0, digest=None, magic=None):
        it = self.it
        magic = magic or it.magic_bytes
        if it.header_size() == 8:
            return magic + struct.pack("<I", mtime & 0xFFFFFFFF)
        if it.header_size() == 12:
            return magic + struct.pack("<II", mtime & 0xFFFFFFFF, size)
        if digest is not None:
            return magic + struct.pack("<I", flags) + digest
        return magic + struct.pack("<III", flags, mtime & 0xFFFFFFFF, size)

    def cases(self, body, good):
        """{case: [(member, data, time)]}, the cache of each being the member "z_CASE.py?"."""
        it, src, n = self.it, SRC.encode(), len(SRC)
        bad = b"\x5a" * 8
        c = {}

        def legacy(case, cache, source=True, t=T, ext=".pyc"):
            name = "z_" + case
            c[case] = ([(name + ".py", src, t)] if source else []) + \
                [(name + ext, cache + body, t)]

        for d in (-3, -2, -1, 0, 1, 2, 3):
            legacy("d%+d" % d, self.header(T + d, n))
        if it.header_size() >= 12:
            legacy("size", self.header(T, n + 1))
        legacy("y2040", self.header(T2040, n), t=T2040)
        legacy("sourceless", self.header(T + 100, n), source=False)
        legacy("pyo", self.header(T, n), ext=".pyo")
        legacy("magic", self.header(T, n, magic=it.other_magic()))
        if it.tag:
            c["pycache"] = [("z_pycache.py", src, T),
                            ("__pycache__/z_pycache.%s.pyc" % it.tag, self.header(T, n) + body, T)]
        if it.hash_pycs:
            for flags, kind in ((3, "ch"), (1, "uh")):
                legacy(kind + "_good", self.header(0, 0, flags, good))
                legacy(kind + "_bad", self.header(0, 0, flags, bad))
                legacy(kind + "_sourceless", self.header(0, 0, flags, bad), source=False)
            legacy("flags2", self.header(T, n, 2))
            legacy("flags4", self.header(T, n, 4))
        return c

    def cache_member(self, members):
        return [m for m, _, _ in members if not m.endswith(".py")][0]

    def facts(self):
        r = conf.run(self.it.cmd + ["-E", "-s", "-c", FACTS, SRC])
        line = conf.marker_line(r.stdout.decode("utf-8", "replace"), "@@FACTS@@")
        if r.returncode != 0 or line is None:
            raise RuntimeError("facts: %s" % r.stderr.decode("utf-8", "replace")[-500:])
        f = json.loads(line)
        return bytes.fromhex(f["body"]), bytes.fromhex(f["hash"]) if f["hash"] else None

    def imports(self, zpath, names, check, tz):
        env = conf.clean_env()
        env["TZ"] = tz
        opts = ["--check-hash-based-pycs", check] if self.it.hash_pycs else []
        r = subprocess.run(self.it.cmd + ["-E", "-s", "-v"] + opts +
                           ["-c", IMPORT, zpath, ",".join(names)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=conf.TIMEOUT)
        line = conf.marker_line(r.stdout.decode("utf-8", "replace"), "@@RESULT@@")
        if r.returncode != 0 or line is None:
            raise RuntimeError("import: %s" % r.stderr.decode("utf-8", "replace")[-500:])
        return json.loads(line)

    def judge(self, zpath, check, tz):
        env = conf.clean_env()
        env["TZ"] = tz
        r = subprocess.run([self.pyci, "scan", "--json", "--target", self.it.target,
                            "--check-source", check, zpath], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=conf.TIMEOUT)
        if r.returncode != 0:
            raise RuntimeError("pycinspect: %s" % r.stderr.decode("utf-8", "replace"))
        out = {}
        for line in r.stdout.decode("utf-8", "surrogateescape").splitlines():
            o = json.loads(line)
            if o["type"] == "pyc":
                out[o["archive"]["member"]] = o
        return out

    def round(self, zpath, cases, check, tz):
        names = sorted("z_" + k for k in cases)
        got = self.imports(zpath, names, check, tz)
        verdicts = self.judge(zpath, check, tz)
        for case, members in sorted(cases.items()):
            where = got["z_" + case]
            used = "fail" if where.startswith("!") else \
                "cache" if where.endswith((".pyc", ".pyo")) else "source"
            member = self.cache_member(members)
            v = verdicts.get(member)
            what = "%s (check %s, TZ %s)" % (case, check, tz)
            if v is None:
                self.fail("%s: no record of %s" % (what, member))
                continue
            said = "fail" if v["status"] == "invalid" and not any(
                m.endswith(".py") for m, _, _ in members) else \
                "cache" if v["status"] in ("fresh", "sourceless") or STILL_RUNS in v["reasons"] \
                else "source"
            if said != used:
                self.fail("%s: the interpreter %s, pycinspect says %s %s" % (
                    what, {"fail": "failed to import it", "cache": "used the cache",
                           "source": "compiled the source"}[used], v["status"], v["reasons"]))
            else:
                self.passed += 1

    def undecodable(self, body):
        """A zip whose member name is flagged UTF-8 (0x800) and is not: Python 3's zipimport
        decodes names strictly and imports nothing from it (UnicodeDecodeError), Python 2's
        reads names as bytes and uses the fresh cache beside it.  pycinspect must refuse the
        zip ("zipimport cannot read it", exit 2) exactly when the import failed, and call the
        cache fresh when it was used."""
        zpath = os.path.join(self.tmp, "names.zip")
        with zipfile.ZipFile(zpath, "w") as z:
            z.writestr(zipfile.ZipInfo("z_bad\u00e9.py", dos(T)), SRC.encode())
            z.writestr(zipfile.ZipInfo("z_ok.py", dos(T)), SRC.encode())
            z.writestr(zipfile.ZipInfo("z_ok.pyc", dos(T)), self.header(T, len(SRC)) + body)
        with open(zpath, "rb") as f:
            data = f.read().replace("z_bad\u00e9".encode(), b"z_bad\xff\xfe")
        with open(zpath, "wb") as f:
            f.write(data)
        where = self.imports(zpath, ["z_ok"], "default", WRITE_TZ)["z_ok"]
        env = conf.clean_env()
        env["TZ"] = WRITE_TZ
        r = subprocess.run([self.pyci, "scan", "--json", "--target", self.it.target, zpath],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=conf.TIMEOUT)
        objs = [json.loads(line) for line in
                r.stdout.decode("utf-8", "surrogateescape").splitlines()]
        refused = r.returncode == 2 and [o.get("message") for o in objs if o["type"] == "error"] \
            == ["archive not judged: zipimport cannot read it"]
        used = r.returncode == 0 and [o["status"] for o in objs if o["type"] == "pyc"] == ["fresh"]
        if where.startswith("!") and refused or where.endswith(".pyc") and used:
            self.passed += 1
        else:
            self.fail("undecodable name: the interpreter %s, pycinspect exits %d with %s" % (
                "failed (%s)" % where[1:] if where.startswith("!") else "imported " + where,
                r.returncode, [o.get("status", o.get("message", o["type"])) for o in objs]))

    def main(self):
        try:
            body, good = self.facts()
            cases = self.cases(body, good)
            zpath = os.path.join(self.tmp, "cases.zip")
            with zipfile.ZipFile(zpath, "w") as z:
                for case in sorted(cases):
                    for member, data, t in cases[case]:
                        z.writestr(zipfile.ZipInfo(member, dos(t)), data)
            for check in self.it.check_modes():
                self.round(zpath, cases, check, WRITE_TZ)
            self.round(zpath, cases, "default", OTHER_TZ)
            self.undecodable(body)
        except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as e:
            self.fail(str(e))
        if not self.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return self


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", action="store_true", help="keep the temporary zips")
    ap.add_argument("--only", help="comma-separated targets to run (3.13,2.7,pypy3.9)")
    args = ap.parse_args()
    pyci = conf.pyci_binary()
    if not pyci:
        return 1
    interps, pyodide_ok = conf.discover(print)
    failed = conf.missing_pyodide(pyodide_ok)
    if len(interps) < 2:
        print("FAIL: need at least two interpreters, found %d" % len(interps))
        failed += 1
    if failed:
        print("0 passed, %d failed" % failed)
        return 1
    if args.only:
        interps = [i for i in interps if i.target in set(args.only.split(","))]
    interps.sort(key=conf.version_key)
    passed, failed = conf.run_runners(interps, lambda i: Runner(i, pyci, args.keep))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
