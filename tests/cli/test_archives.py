#!/usr/bin/env python3
"""Archives and images named as PATHs (docs/archives.md): judged in place, never extracted.

The archives are made here by the tools their users use: zipapp and compileall (-b and
__pycache__, every invalidation mode) for zips on sys.path, the interpreter's own import from
the zip (-v) deciding which cache it uses; `pip wheel` (Debian's python3, offline) and wheels
written with zipfile; sdists as tarfile writes them; container images in both layouts (docker
save's, with layers shared through symlinks, and OCI's image layout), built from layer tars with
whiteouts and opaque directories.  The verdicts and the sizes are checked against what those
tools and interpreters say (SipHash from _imp.source_hash, SHA-256 from hashlib, sizes from
zipfile and tarfile), never against pycinspect's own earlier output.  Then hostile archives:
truncated, corrupt, bombs past the ratio and size limits, names that leave the archive or are
not UTF-8, links and devices, a million members, with their memory measured (wait4); and clean,
which refuses archives.  zipimport across every interpreter: tests/conformance/zipimport.py.
"""
import gzip
import hashlib
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tarfile
import time
import zipfile

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
from clitest import pyenv_python, run, write_file  # noqa: E402

if clitest.BIN:
    clitest.BIN = os.path.abspath(clitest.BIN)  # runs happen in other directories

PY3 = "/usr/bin/python3"  # Debian's: the one with pip, setuptools and wheel
SRC = b"x = 1\n"


def py_env():
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["LC_ALL"] = "C"
    return env


def py(args, **kw):
    return subprocess.run([PY3] + list(args), env=kw.pop("env", py_env()), check=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def py_value(code):
    return py(["-c", code]).stdout.decode().strip()


MAGIC = bytes.fromhex(py_value("import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"))
TAG = py_value("import sys; print(sys.implementation.cache_tag)")
VERSION = py_value("import sys; print('%d.%d' % sys.version_info[:2])")


def siphash(data):
    """The SipHash a hash-based header of PY3 holds for source bytes data, by PY3 itself."""
    return bytes.fromhex(py_value(
        "import _imp, importlib.util, sys; sys.stdout.write(_imp.source_hash("
        "int.from_bytes(importlib.util.MAGIC_NUMBER, 'little'), %r).hex())" % (data,)))


def code_body():
    return py(["-c", "import marshal, sys; sys.stdout.buffer.write(marshal.dumps("
                     "compile('x = 1\\n', 'm.py', 'exec')))"]).stdout


BODY = code_body()


def header(flags=0, mtime=0, size=0, digest=None):
    if digest is not None:
        return MAGIC + struct.pack("<I", flags) + digest
    return MAGIC + struct.pack("<III", flags, mtime & 0xFFFFFFFF, size)


def tar_bytes(entries, compress=None):
    """A tar of entries (name, data or None for a directory, dict of TarInfo fields), in
    order, gzip-compressed when compress == "gz"."""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode="w", format=tarfile.PAX_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as t:
        for name, data, kw in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is None and ti.type == tarfile.REGTYPE:
                ti.type = tarfile.DIRTYPE
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    raw = bio.getvalue()
    return gzip.compress(raw, mtime=0) if compress == "gz" else raw


def by_member(pycs):
    return {p["archive"]["member"]: p for p in pycs}


def archive_json(args, cwd, expect_rc=0, **kw):
    """scan --json ARGS: (pycs, errors, archive lines, summary)."""
    p = run(["scan", "--json"] + list(args), cwd=cwd, **kw)
    if p.returncode != expect_rc:
        raise AssertionError("exit %d, expected %d; stderr: %s" % (
            p.returncode, expect_rc, p.stderr.decode("utf-8", "replace")))
    objs = [json.loads(line) for line in clitest.json_lines(
        p.stdout.decode("utf-8", "surrogateescape"))]
    assert objs[-1]["type"] == "summary", objs[-1:]
    kinds = {o["type"] for o in objs}
    assert kinds <= {"pyc", "error", "archive", "summary"}, kinds
    return ([o for o in objs if o["type"] == "pyc"], [o for o in objs if o["type"] == "error"],
            [o for o in objs if o["type"] == "archive"], objs[-1], p)


# ---- zips on sys.path ----------------------------------------------------------------------


class ZipApp(clitest.TempDirCase):
    """A zipapp with the caches compileall writes (-b beside the sources, and __pycache__):
    what the interpreter loads from it, with -v, is what pycinspect calls fresh."""

    def build(self, tz="UTC"):
        app = os.path.join(self.tmp, "app")
        write_file(os.path.join(app, "pkg", "__init__.py"), b"")
        write_file(os.path.join(app, "pkg", "mod.py"), SRC)
        write_file(os.path.join(app, "pkg", "old.py"), SRC)
        write_file(os.path.join(app, "__main__.py"), b"import pkg.mod, pkg.old\n")
        env = py_env()
        env["TZ"] = tz
        py(["-m", "compileall", "-q", "-b", app], env=env)
        py(["-m", "compileall", "-q", app], env=env)
        # an edit after compiling, two seconds later: its legacy cache is stale in the zip
        t = os.stat(os.path.join(app, "pkg", "old.py")).st_mtime + 4
        write_file(os.path.join(app, "pkg", "old.py"), b"x = 2\n")
        os.utime(os.path.join(app, "pkg", "old.py"), (t, t))
        out = os.path.join(self.tmp, "app.pyz")
        py(["-m", "zipapp", app, "-o", out, "-p", "/usr/bin/env python3"], env=env)
        return out

    def loaded(self, pyz, tz="UTC"):
        """{module: the member the interpreter loaded it from}, by its import from the zip,
        and the modules whose bytecode it found stale, by its -v."""
        env = py_env()
        env["TZ"] = tz
        code = ("import sys; sys.path.insert(0, %r)\n"
                "import pkg.mod, pkg.old\n"
                "for m in (pkg, pkg.mod, pkg.old): print(m.__name__, m.__file__)" % pyz)
        p = subprocess.run([PY3, "-v", "-c", code], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, check=True)
        out = {}
        for line in p.stdout.decode().splitlines():
            mod, where = line.split(" ", 1)
            out[mod] = os.path.relpath(where, pyz)
        stale = {line.split("'")[1] for line in p.stderr.decode().splitlines()
                 if line.startswith("# bytecode is stale for ")}
        for mod, where in out.items():  # -v and __file__ agree
            self.assertEqual(mod in stale, where.endswith(".py"), (mod, where, stale))
        return out

    def test_statuses_are_the_interpreters(self):
        pyz = self.build()
        with open(pyz, "rb") as f:
            self.assertTrue(f.read(2) == b"#!")  # the shebang before the zip
        loaded = self.loaded(pyz)
        self.assertEqual(loaded["pkg.mod"], "pkg/mod.pyc")
        self.assertEqual(loaded["pkg.old"], "pkg/old.py")  # stale: compiled from source
        self.assertEqual(loaded["pkg"], "pkg/__init__.pyc")
        env = clitest.env_c()
        env["TZ"] = "UTC"
        pycs, errors, archives, summary, _ = archive_json([pyz], self.tmp, env=env)
        self.assertEqual(errors, [])
        got = by_member(pycs)
        self.assertEqual(got["pkg/mod.pyc"]["status"], "fresh")
        self.assertEqual(got["pkg/old.pyc"]["status"], "stale")
        self.assertIn("zipimport never rewrites it: the source is compiled at every import",
                      got["pkg/old.pyc"]["reasons"])
        self.assertEqual(got["pkg/__init__.pyc"]["status"], "fresh")
        # the .py beside it does not win in a zip, as it does in a directory
        self.assertNotIn("never loaded by Python 3: the .py beside it wins",
                         got["pkg/mod.pyc"]["reasons"])
        for name in ("pkg/__pycache__/mod.%s.pyc" % TAG, "__pycache__/__main__.%s.pyc" % TAG):
            self.assertEqual(got[name]["status"], "orphaned")
            self.assertEqual(got[name]["reasons"], ["zipimport never reads __pycache__"])
        fresh = {m for m, p in got.items() if p["status"] == "fresh"}
        used = {v for v in loaded.values() if v.endswith(".pyc")}
        self.assertTrue(used <= fresh, (used, fresh))
        self.assertEqual(archives[0]["kind"], "zip")
        self.assertEqual(archives[0]["path"], pyz)
        # an egg is a zip on sys.path too, whatever it holds
        egg = os.path.join(self.tmp, "app-1.0-py3.11.egg")
        shutil.copyfile(pyz, egg)
        egg_pycs, _, egg_archives, _, _ = archive_json([egg], self.tmp, env=env)
        self.assertEqual(egg_archives[0]["kind"], "zip")
        self.assertEqual([(p["archive"]["member"], p["status"]) for p in egg_pycs],
                         [(p["archive"]["member"], p["status"]) for p in pycs])
        # sizes: zipfile's
        with zipfile.ZipFile(pyz) as z:
            for name, p in got.items():
                self.assertEqual(p["size"], z.getinfo(name).file_size)
        self.assertEqual(summary["archives"], 1)
        self.assertEqual(summary["shipped"], 0)
        self.assertEqual(got["pkg/mod.pyc"]["path"], pyz + "!/pkg/mod.pyc")
        self.assertEqual(got["pkg/mod.pyc"]["source"], pyz + "!/pkg/mod.py")

    def test_findings_line_zip_stale_is_not_harmless(self):
        """The interpreter compiles pkg/old.py at every import from the zip (its cache is stale
        and never rewritten): the findings line counts it to look at, not harmless, each cache
        once."""
        pyz = self.build()
        self.assertEqual(self.loaded(pyz)["pkg.old"], "pkg/old.py")
        self.assertEqual(self.loaded(pyz)["pkg.old"], "pkg/old.py")  # again: still the source
        with zipfile.ZipFile(pyz) as z:  # the zip's caches, as the import left it
            caches = [n for n in z.namelist() if n.endswith(".pyc")]
        env = clitest.env_c()
        env["TZ"] = "UTC"
        pycs = archive_json([pyz], self.tmp, env=env)[0]
        stale = [p for p in pycs if p["status"] == "stale"]
        self.assertEqual([p["archive"]["member"] for p in stale], ["pkg/old.pyc"])
        out = run(["scan", pyz], env=env).stdout.decode()
        line = [x for x in out.splitlines() if x.startswith("findings: ")][0]
        look = len(caches) - sum(p["status"] == "fresh" for p in pycs)
        self.assertTrue(line.startswith("findings: 0 harmless (stale: rewritten on the next "
                                        "import), %d to look at (1 stale in a zip: never "
                                        "rewritten, " % look), line)

    def test_dos_time_is_local_time(self):
        """zipimport reads the DOS time in the local time of the importing process: a zip
        written in UTC is stale for a process in New York, for the interpreter and for
        pycinspect alike."""
        pyz = self.build(tz="UTC")
        loaded = self.loaded(pyz, tz="America/New_York")
        self.assertEqual(loaded["pkg.mod"], "pkg/mod.py")
        env = clitest.env_c()
        env["TZ"] = "America/New_York"
        pycs, _, _, _, _ = archive_json([pyz], self.tmp, env=env)
        got = by_member(pycs)
        self.assertEqual(got["pkg/mod.pyc"]["status"], "stale")
        self.assertIn("source mtime differs", got["pkg/mod.pyc"]["reasons"])

    def test_extended_timestamps_are_not_zipimports(self):
        """Info-ZIP's zip adds an extended timestamp (UTC) that libarchive prefers; zipimport
        reads only the DOS time.  A crafted zip whose two times disagree is judged by the DOS
        time, as the interpreter's import shows."""
        mtime = 1700000000
        pyc = header(0, mtime, len(SRC)) + BODY
        zpath = os.path.join(self.tmp, "ut.zip")
        with zipfile.ZipFile(zpath, "w") as z:
            for name, data in (("mod.py", SRC), ("mod.pyc", pyc)):
                zi = zipfile.ZipInfo(name, time.localtime(mtime + 3600)[:6])
                # UT extra field: flags 1 (mtime), the cache's own time
                zi.extra = struct.pack("<HHBI", 0x5455, 5, 1, mtime)
                z.writestr(zi, data)
        env = py_env()
        env["TZ"] = "UTC"
        p = subprocess.run([PY3, "-v", "-c", "import sys; sys.path.insert(0, %r); import mod"
                            % zpath], env=env, stderr=subprocess.PIPE, check=True)
        self.assertIn(b"# bytecode is stale for 'mod'\n", p.stderr)
        cenv = clitest.env_c()
        cenv["TZ"] = "UTC"
        pycs, _, _, _, _ = archive_json([zpath], self.tmp, env=cenv)
        self.assertEqual(by_member(pycs)["mod.pyc"]["status"], "stale")

    def test_member_path_and_dump(self):
        pyz = self.build()
        env = clitest.env_c()
        env["TZ"] = "UTC"
        p = run(["dump", pyz + "!/pkg/mod.pyc"], cwd=self.tmp, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        objs = [json.loads(line) for line in p.stdout.decode().splitlines()]
        self.assertEqual(len(objs), 1)
        o = objs[0]
        with zipfile.ZipFile(pyz) as z:
            data = z.read("pkg/mod.pyc")
            src = z.read("pkg/mod.py")
        self.assertEqual(o["path"], pyz + "!/pkg/mod.pyc")
        self.assertEqual(o["archive"], {"path": pyz, "kind": "zip", "member": "pkg/mod.pyc"})
        self.assertEqual(o["sha256"], hashlib.sha256(data).hexdigest())
        self.assertEqual(o["size"], len(data))
        self.assertEqual(o["verdict"]["status"], "fresh")
        self.assertEqual(o["source"]["size"], len(src))
        self.assertEqual(o["source"]["siphash"], siphash(src).hex())
        self.assertEqual(o["code"]["error"], None)
        self.assertEqual(o["file"]["inode"], None)
        # every cache of the archive, in its order
        p = run(["dump", pyz], cwd=self.tmp, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        names = [json.loads(line)["archive"]["member"] for line in p.stdout.decode().splitlines()]
        with zipfile.ZipFile(pyz) as z:
            order = [n for n in z.namelist() if n.endswith(".pyc")]
        self.assertEqual(names, order)
        # scan takes the same spelling, and a member that is not there is said
        pycs, _, _, _, _ = archive_json([pyz + "!/pkg/old.pyc"], self.tmp, env=env)
        self.assertEqual([p["archive"]["member"] for p in pycs], ["pkg/old.pyc"])
        pycs, errors, _, _, p = archive_json([pyz + "!/pkg/nope.pyc"], self.tmp, expect_rc=2)
        self.assertEqual(pycs, [])
        self.assertEqual(errors[0]["message"], "no cache of that name in the archive")

    def test_a_file_whose_name_holds_the_separator(self):
        """A PATH that exists is a file, whatever its name: "app.pyz!/__pycache__/m...pyc"
        names a cache in a directory "app.pyz!" when there is one, even beside an archive
        app.pyz; one that does not exist is split at its "!/"."""
        pyz = self.build()
        odd = os.path.join(self.tmp, "app.pyz!")
        clitest.module(odd, "m.py")
        on_disk = pyz + "!/__pycache__/m.cpython-312.pyc"
        pycs, _, archives, _, _ = archive_json([on_disk], self.tmp)
        self.assertEqual([p["path"] for p in pycs], [on_disk])
        self.assertNotIn("archive", pycs[0])
        self.assertEqual(archives, [])
        pycs, _, archives, _, _ = archive_json([pyz + "!/pkg/mod.pyc"], self.tmp)
        self.assertEqual([p["archive"]["member"] for p in pycs], ["pkg/mod.pyc"])
        self.assertEqual(len(archives), 1)

    def test_archives_in_a_tree_are_not_entered(self):
        pyz = self.build()
        pycs, _, archives, _, _ = archive_json([self.tmp], self.tmp)
        self.assertEqual(archives, [])
        self.assertFalse(any("!/" in p["path"] for p in pycs))
        self.assertTrue(os.path.exists(pyz))


# ---- wheels ---------------------------------------------------------------------------------


class Wheels(clitest.TempDirCase):
    def test_pip_wheel(self):
        """A real wheel, by `pip wheel` (offline, setuptools), shipping the caches compileall
        wrote into the package in every mode."""
        proj = os.path.join(self.tmp, "proj")
        write_file(os.path.join(proj, "demo", "__init__.py"), b"")
        write_file(os.path.join(proj, "demo", "mod.py"), SRC)
        write_file(os.path.join(proj, "demo", "leg.py"), SRC)
        write_file(os.path.join(proj, "pyproject.toml"), b"""[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"
[project]
name = "demo"
version = "1.0"
[tool.setuptools.package-data]
demo = ["__pycache__/*.pyc", "*.pyc"]
""")
        d = os.path.join(proj, "demo")
        py(["-m", "compileall", "-q", "--invalidation-mode", "checked-hash", d])
        py(["-m", "compileall", "-q", "-b", "--invalidation-mode", "unchecked-hash",
            os.path.join(d, "leg.py")])
        out = os.path.join(self.tmp, "out")
        p = subprocess.run([PY3, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", out, proj], env=py_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        whl = os.path.join(out, "demo-1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl) as z:
            caches = sorted(n for n in z.namelist() if n.endswith(".pyc"))
        self.assertEqual(caches, sorted(["demo/leg.pyc", "demo/__pycache__/__init__.%s.pyc" % TAG,
                                         "demo/__pycache__/mod.%s.pyc" % TAG,
                                         "demo/__pycache__/leg.%s.pyc" % TAG]))
        pycs, errors, archives, summary, _ = archive_json([whl], self.tmp, expect_rc=0)
        self.assertEqual(errors, [])
        self.assertEqual(archives[0]["kind"], "wheel")
        got = by_member(pycs)
        self.assertEqual(sorted(got), caches)
        for p in pycs:  # every cache a finding, with its version and mode
            self.assertIn("shipped in a wheel: installed as it is", p["reasons"])
            self.assertEqual(p["version"], VERSION)
        mod = got["demo/__pycache__/mod.%s.pyc" % TAG]
        self.assertEqual(mod["mode"], "checked-hash")
        self.assertEqual(mod["status"], "fresh")  # its hash is the .py's in the wheel
        leg = got["demo/leg.pyc"]
        self.assertEqual(leg["mode"], "unchecked-hash")
        self.assertIn("unchecked hash in a wheel: runs whatever source is installed beside it",
                      leg["reasons"])
        self.assertEqual(summary["shipped"], 4)
        # --check fails on shipped caches, fresh or not; --check=shipped names them
        self.assertEqual(run(["scan", "-q", "--check", whl]).returncode, 1)
        self.assertEqual(run(["scan", "-q", "--check=shipped", whl]).returncode, 1)
        self.assertEqual(run(["scan", "-q", "--check=stale", whl]).returncode, 0)
        # the text output lists them without --all
        p = run(["scan", whl])
        self.assertIn(b"4 shipped in a wheel or sdist", p.stdout)
        self.assertEqual(p.stdout.count(b"shipped in a wheel: installed as it is"), 4)

    def test_findings_line_counts_each_cache_once(self):
        """A wheel of five caches, some stale, one sourceless and one orphaned: five to look
        at, all shipped, none harmless, none counted twice."""
        whl = os.path.join(self.tmp, "f-1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr("f/__init__.py", SRC)
            z.writestr("f/__pycache__/__init__.%s.pyc" % TAG, header(0, 1, len(SRC)) + BODY)
            z.writestr("f/mod.py", SRC)
            z.writestr("f/__pycache__/mod.%s.pyc" % TAG, header(0, 1, len(SRC)) + BODY)
            z.writestr("f/gone.pyc", header(0, 1, len(SRC)) + BODY)
            z.writestr("f/__pycache__/orphan.%s.pyc" % TAG, header(0, 1, len(SRC)) + BODY)
            z.writestr("f/__pycache__/hash.%s.pyc" % TAG, header(3, digest=siphash(SRC)) +
                       BODY)
            z.writestr("f/hash.py", SRC)
            z.writestr("f-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
        with zipfile.ZipFile(whl) as z:
            n = sum(name.endswith(".pyc") for name in z.namelist())
        self.assertEqual(n, 5)
        out = run(["scan", "-t", VERSION, whl]).stdout.decode()
        line = [x for x in out.splitlines() if x.startswith("findings: ")][0]
        self.assertEqual(line, "findings: 0 harmless (stale: rewritten on the next import), "
                         "%d to look at (%d shipped in a wheel or sdist)" % (n, n))
        self.assertIn("\n  stale             2  ", out)  # the statuses are in the table
        self.assertIn("\n  sourceless        1  ", out)

    def test_timestamp_cache_is_stale_once_pip_installs_it(self):
        """pip gives an installed file the time of the install, not the wheel's
        (pypa/pip#13207): a timestamp cache fresh in the wheel is stale once installed, as the
        interpreter importing the installed package says; the wheel's record says so."""
        dt = (2023, 5, 6, 8, 8, 10)
        t = 1683360490  # dt in UTC
        whl = os.path.join(self.tmp, "tpip-1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl, "w") as z:
            for name, data in (
                    ("tpip/__init__.py", SRC),
                    ("tpip/__pycache__/__init__.%s.pyc" % TAG, header(0, t, len(SRC)) + BODY),
                    ("tpip-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\nGenerator: test\n"
                     b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
                    ("tpip-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: tpip\n"
                     b"Version: 1.0\n"),
                    ("tpip-1.0.dist-info/RECORD", b"")):
                z.writestr(zipfile.ZipInfo(name, dt), data)
        env = clitest.env_c()
        env["TZ"] = "UTC"
        pycs, _, _, _, _ = archive_json(["-t", VERSION, whl], self.tmp, env=env)
        self.assertEqual([p["status"] for p in pycs], ["fresh"])
        reason = "stale once installed by an installer that does not keep times (pip)"
        self.assertIn(reason, pycs[0]["reasons"])
        target = os.path.join(self.tmp, "site")
        penv = py_env()
        penv["TZ"] = "UTC"
        p = subprocess.run([PY3, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                            "--no-compile", "--target", target, whl], env=penv,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertNotEqual(int(os.stat(os.path.join(target, "tpip", "__init__.py")).st_mtime), t)
        pycs = archive_json(["-t", VERSION, target], self.tmp, env=env)[0]
        self.assertEqual([p["status"] for p in pycs], ["stale"])
        p = subprocess.run([PY3, "-v", "-c", "import sys; sys.path.insert(0, %r); import tpip"
                            % target], env=penv, stderr=subprocess.PIPE, check=True)
        self.assertIn(b"# bytecode is stale for 'tpip'\n", p.stderr)
        # only there: not on a stale one (test_findings_line...) nor a hash-based one
        whl2 = os.path.join(self.tmp, "tpip2-1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl2, "w") as z:
            z.writestr("tpip2/__init__.py", SRC)
            z.writestr("tpip2/__pycache__/__init__.%s.pyc" % TAG, header(0, 1, len(SRC)) + BODY)
            z.writestr("tpip2/a.py", SRC)
            z.writestr("tpip2/__pycache__/a.%s.pyc" % TAG, header(3, digest=siphash(SRC)) + BODY)
        pycs = archive_json(["-t", VERSION, whl2], self.tmp, env=env)[0]
        self.assertEqual(sorted(p["status"] for p in pycs), ["fresh", "stale"])
        self.assertFalse(any(reason in p["reasons"] for p in pycs))

    def test_checked_hash_against_the_source_in_the_wheel(self):
        good, bad = siphash(SRC), siphash(b"x = 2\n")
        whl = os.path.join(self.tmp, "w-1.0-py3-none-any.whl")
        with zipfile.ZipFile(whl, "w") as z:
            z.writestr("w/__init__.py", SRC)
            z.writestr("w/__pycache__/__init__.%s.pyc" % TAG, header(3, digest=good) + BODY)
            z.writestr("w/b.py", SRC)
            z.writestr("w/__pycache__/b.%s.pyc" % TAG, header(3, digest=bad) + BODY)
            z.writestr("w/c.py", SRC)
            z.writestr("w/__pycache__/c.%s.pyc" % TAG, header(1, digest=bad) + BODY)
            z.writestr("w/__pycache__/gone.%s.pyc" % TAG, header(1, digest=bad) + BODY)
            z.writestr("w-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n")
        pycs, _, archives, _, _ = archive_json([whl], self.tmp)
        got = by_member(pycs)
        self.assertEqual(got["w/__pycache__/__init__.%s.pyc" % TAG]["status"], "fresh")
        b = got["w/__pycache__/b.%s.pyc" % TAG]
        self.assertEqual(b["status"], "stale")
        self.assertIn("source hash differs", b["reasons"])
        c = got["w/__pycache__/c.%s.pyc" % TAG]
        self.assertEqual(c["status"], "stale")
        self.assertIn("unchecked hash: source changed but Python still runs this outdated code",
                      c["reasons"])
        self.assertEqual(got["w/__pycache__/gone.%s.pyc" % TAG]["status"], "orphaned")
        # the same verdicts with the checked one's source hashed by pass 2 only on demand
        pycs, _, _, _, _ = archive_json(["--check-source=never", whl], self.tmp)
        self.assertEqual(by_member(pycs)["w/__pycache__/b.%s.pyc" % TAG]["status"], "fresh")


# ---- sdists and tarballs ---------------------------------------------------------------------


class Sdists(clitest.TempDirCase):
    def test_tar_sdist(self):
        st = 1700000000
        cache = header(0, st, len(SRC)) + BODY
        data = tar_bytes([
            ("demo-1.0/", None, {}),
            ("demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\nName: demo\n", {}),
            ("demo-1.0/demo/__init__.py", SRC, {"mtime": st}),
            ("demo-1.0/demo/__pycache__/__init__.%s.pyc" % TAG, cache, {}),
            ("demo-1.0/demo/mod.py", SRC, {"mtime": st + 60}),
            ("demo-1.0/demo/__pycache__/mod.%s.pyc" % TAG, cache, {}),
        ], compress="gz")
        path = os.path.join(self.tmp, "demo-1.0.tar.gz")
        write_file(path, data)
        pycs, errors, archives, summary, _ = archive_json([path], self.tmp)
        self.assertEqual(archives[0]["kind"], "sdist")
        self.assertEqual(errors, [])
        got = by_member(pycs)
        init = got["demo-1.0/demo/__pycache__/__init__.%s.pyc" % TAG]
        self.assertEqual(init["status"], "fresh")  # as extracted with its times
        self.assertIn("shipped in an sdist or tarball: unpacked as it is", init["reasons"])
        mod = got["demo-1.0/demo/__pycache__/mod.%s.pyc" % TAG]
        self.assertEqual(mod["status"], "stale")
        self.assertEqual(summary["shipped"], 2)
        for comp, fn in (("bz2", "demo-1.0.tar.bz2"), ("xz", "demo-1.0.tar.xz")):
            raw = gzip.decompress(data)
            p2 = os.path.join(self.tmp, fn)
            import bz2
            import lzma
            write_file(p2, bz2.compress(raw) if comp == "bz2" else lzma.compress(raw))
            pycs2, _, a2, _, _ = archive_json([p2], self.tmp)
            self.assertEqual(a2[0]["kind"], "sdist")
            self.assertEqual(by_member(pycs2).keys(), got.keys())

    def test_blank_line_before_the_summary(self):
        """Shipped caches are listed even when fresh: a blank line parts them from the
        summary, as it parts a directory's listed caches (scan --all of the same tree)."""
        st = 1700000000
        cache = header(0, st, len(SRC)) + BODY
        path = os.path.join(self.tmp, "demo-1.0.tar.gz")
        write_file(path, tar_bytes([
            ("demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\n", {}),
            ("demo-1.0/demo/__init__.py", SRC, {"mtime": st}),
            ("demo-1.0/demo/__pycache__/__init__.%s.pyc" % TAG, cache, {}),
        ], compress="gz"))
        tree = os.path.join(self.tmp, "tree")
        with tarfile.open(path) as t:
            t.extractall(tree)
        for args in (["-t", VERSION, path], ["--all", "-t", VERSION, tree]):
            lines = run(["scan"] + args).stdout.decode().splitlines()
            self.assertTrue(lines[0].startswith("fresh "), lines)
            self.assertEqual(lines[1:3], ["", "1 cache, %d B" % len(cache)], args)

    def test_zip_sdist(self):
        path = os.path.join(self.tmp, "demo-1.0.zip")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\n")
            z.writestr("demo-1.0/demo.py", SRC)
            z.writestr("demo-1.0/demo.pyc", header(0, 1, 6) + BODY)
        pycs, _, archives, _, _ = archive_json([path], self.tmp)
        self.assertEqual(archives[0]["kind"], "sdist")
        self.assertIn("shipped in an sdist or tarball: unpacked as it is", pycs[0]["reasons"])

    def test_symlinked_source_inside_the_tree(self):
        """Sources are followed through links inside the archive, never out of it."""
        cache = header(0, 1700000000, len(SRC)) + BODY
        data = tar_bytes([
            ("p/real/a.py", SRC, {}),
            ("p/a.py", None, {"type": tarfile.SYMTYPE, "linkname": "real/a.py"}),
            ("p/__pycache__/a.%s.pyc" % TAG, cache, {}),
            ("p/b.py", None, {"type": tarfile.SYMTYPE, "linkname": "../../../etc/passwd"}),
            ("p/__pycache__/b.%s.pyc" % TAG, cache, {}),
            ("p/c.py", None, {"type": tarfile.SYMTYPE, "linkname": "/p/real/a.py"}),
            ("p/__pycache__/c.%s.pyc" % TAG, cache, {}),
            ("p/d.py", None, {"type": tarfile.SYMTYPE, "linkname": "d.py"}),
            ("p/__pycache__/d.%s.pyc" % TAG, cache, {}),
        ])
        path = os.path.join(self.tmp, "links.tar")
        write_file(path, data)
        got = by_member(archive_json([path], self.tmp)[0])
        self.assertEqual(got["p/__pycache__/a.%s.pyc" % TAG]["status"], "fresh")
        self.assertEqual(got["p/__pycache__/b.%s.pyc" % TAG]["status"], "orphaned")
        self.assertEqual(got["p/__pycache__/c.%s.pyc" % TAG]["status"], "fresh")  # from the root
        d = got["p/__pycache__/d.%s.pyc" % TAG]
        self.assertEqual(d["status"], "invalid")  # a loop: ELOOP, as the kernel says
        self.assertIn("source cannot be read", d["reasons"])


# ---- images ---------------------------------------------------------------------------------


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def oci_image(layers, name="test:1"):
    """An OCI image-layout tarball of gzip'd layer tars (bottom first)."""
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"digest": digest(cfg), "size": len(cfg),
                                 "mediaType": "application/vnd.oci.image.config.v1+json"},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": digest(x), "size": len(x)} for x in layers]}).encode()
    idx = json.dumps({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest(man),
        "size": len(man), "annotations": {"org.opencontainers.image.ref.name": name}}]}).encode()
    blobs = {digest(x)[7:]: x for x in list(layers) + [cfg, man]}
    ents = [("blobs/", None, {}), ("blobs/sha256/", None, {})]
    ents += [("blobs/sha256/" + h, b, {}) for h, b in sorted(blobs.items())]
    ents += [("index.json", idx, {}), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}', {})]
    return tar_bytes(ents)


def docker_save(layers, tag="test:1", shared=None, hard=False):
    """A `docker save` tarball of its pre-25 layout: <id>/layer.tar (plain tars); shared maps
    a layer's index to the one whose layer.tar it links to, as docker saves a layer used
    twice (a symbolic link, or a hard link when hard)."""
    shared = shared or {}
    ids = [hashlib.sha256(b"layer%d" % i).hexdigest() for i in range(len(layers))]
    ents = []
    for i, (lid, data) in enumerate(zip(ids, layers)):
        ents.append((lid + "/", None, {}))
        ents.append((lid + "/VERSION", b"1.0", {}))
        if i in shared and hard:
            ents.append((lid + "/layer.tar", None, {"type": tarfile.LNKTYPE,
                                                    "linkname": "%s/layer.tar" % ids[shared[i]]}))
        elif i in shared:
            ents.append((lid + "/layer.tar", None, {"type": tarfile.SYMTYPE,
                                                    "linkname": "../%s/layer.tar" % ids[shared[i]]}))
        else:
            ents.append((lid + "/layer.tar", data, {}))
    cfg = b"{}"
    cid = hashlib.sha256(cfg).hexdigest()
    ents.append((cid + ".json", cfg, {}))
    man = json.dumps([{"Config": cid + ".json", "RepoTags": [tag],
                       "Layers": [lid + "/layer.tar" for lid in ids]}]).encode()
    ents.append(("manifest.json", man, {}))
    return tar_bytes(ents)


class Images(clitest.TempDirCase):
    def layers(self):
        st = 1700000000
        c = header(0, st, len(SRC)) + BODY
        t = TAG
        l1 = tar_bytes([
            ("usr/", None, {}), ("usr/lib/", None, {}),
            ("usr/lib/a.py", SRC, {"mtime": st}),
            ("usr/lib/__pycache__/a.%s.pyc" % t, c, {}),
            ("usr/lib/b.py", SRC, {"mtime": st}),
            ("usr/lib/__pycache__/b.%s.pyc" % t, c, {}),
            ("usr/lib/gone/c.py", SRC, {"mtime": st}),
            ("usr/lib/gone/__pycache__/c.%s.pyc" % t, c, {}),
            ("usr/lib/dir/d.py", SRC, {"mtime": st}),
            ("usr/lib/dir/__pycache__/d.%s.pyc" % t, c, {}),
            ("usr/lib/e.py", SRC, {"mtime": st}),
            ("usr/lib/__pycache__/e.%s.pyc" % t, c, {}),
        ], compress="gz")
        l2 = tar_bytes([
            ("usr/lib/.wh.b.py", b"", {}),                  # b's source deleted
            ("usr/lib/gone/.wh..wh..opq", b"", {}),         # gone/ emptied
            ("usr/lib/a.py", b"x = 22\n", {"mtime": st + 100}),  # a's source changed
            ("usr/lib/dir", b"not a directory any more", {}),    # dir/ replaced by a file
            ("usr/lib/__pycache__/.wh.e.%s.pyc" % t, b"", {}),   # e's cache deleted
        ], compress="gz")
        return l1, l2, len(c)

    def check(self, path, size, label):
        pycs, errors, archives, summary, p = archive_json(["-t", VERSION, path], self.tmp)
        self.assertEqual(errors, [])
        got = by_member(pycs)
        self.assertEqual(sorted(got), sorted(["usr/lib/__pycache__/a.%s.pyc" % TAG,
                                              "usr/lib/__pycache__/b.%s.pyc" % TAG]))
        self.assertEqual(got["usr/lib/__pycache__/a.%s.pyc" % TAG]["status"], "stale")
        self.assertEqual(got["usr/lib/__pycache__/b.%s.pyc" % TAG]["status"], "orphaned")
        a = archives[0]
        self.assertEqual(a["kind"], "image")
        self.assertEqual(a["image"], "test:1")
        self.assertEqual(len(a["layers"]), 2)
        bottom, top = a["layers"]
        self.assertEqual(bottom["caches"], 2)
        self.assertEqual(bottom["bytes"], 2 * size)
        self.assertEqual(bottom["by_status"]["stale"]["count"], 1)
        self.assertEqual(bottom["by_status"]["orphaned"]["count"], 1)
        self.assertEqual(bottom["deleted_above"], {"count": 3, "bytes": 3 * size})
        self.assertEqual(top["caches"], 0)
        self.assertEqual(bottom["layer"], label)
        self.assertEqual(got["usr/lib/__pycache__/a.%s.pyc" % TAG]["archive"]["layer"], label)
        # the text summary says it per layer
        p = run(["scan", "-t", VERSION, path])
        self.assertIn(b"image " + path.encode() + b" (test:1), 2 layers", p.stdout)
        self.assertIn(b"3 deleted above, still", p.stdout)
        return summary

    def test_oci_layout(self):
        l1, l2, size = self.layers()
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, oci_image([l1, l2]))
        self.check(path, size, digest(l1))

    def test_docker_save(self):
        l1, l2, size = self.layers()
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, docker_save([gzip.decompress(l1), gzip.decompress(l2)]))
        self.check(path, size, hashlib.sha256(b"layer0").hexdigest() + "/layer.tar")

    def test_shared_layer(self):
        """A layer docker saved once and linked to: both places of the stack read it."""
        st = 1700000000
        l1 = tar_bytes([("a.py", SRC, {"mtime": st}),
                        ("__pycache__/a.%s.pyc" % TAG, header(0, st, len(SRC)) + BODY, {})])
        l2 = tar_bytes([(".wh.a.py", b"", {})])
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, docker_save([l1, l2, l1], shared={2: 0}))
        pycs, errors, archives, _, _ = archive_json([path], self.tmp)
        self.assertEqual(errors, [])
        # the third layer (the first one again) brings a.py back above the whiteout
        self.assertEqual([p["status"] for p in pycs], ["fresh"])

    def test_image_missing_layer(self):
        l1, l2, _ = self.layers()
        data = oci_image([l1, l2])
        # the same tarball without the second layer's blob
        src = tarfile.open(fileobj=io.BytesIO(data))
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w") as t:
            for m in src.getmembers():
                if m.name != "blobs/sha256/" + digest(l2)[7:]:
                    t.addfile(m, src.extractfile(m) if m.isfile() else None)
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, bio.getvalue())
        pycs, errors, _, _, _ = archive_json([path], self.tmp, expect_rc=2)
        self.assertEqual(pycs, [])
        self.assertEqual(errors[0]["message"],
                         "archive not judged: a layer its manifest names is not in it")


class ImageThreads(clitest.TempDirCase):
    """The layers of an image read on threads (--jobs N; by default one per CPU) give the bytes
    one thread gives (--jobs 1): every record, error, summary line and exit status, in both
    layouts, with whiteouts and opaque directories across layers, layers linked (symbolic and
    hard links), hard links and symbolic links in layers, member errors in every layer past
    their cap, hash-based caches (a second pass), corrupt layers, limits passed, and dump."""

    JOBS = (["--jobs", "1"], [], ["--jobs", "2"], ["--jobs", "8"])

    def same(self, args, env=None):
        """(status, stdout, stderr) of pycinspect ARGS, the same whatever the threads."""
        outs = []
        for jobs in self.JOBS:
            p = run(args[:1] + jobs + args[1:], cwd=self.tmp, env=env)
            outs.append((p.returncode, p.stdout, p.stderr))
        for jobs, o in zip(self.JOBS[1:], outs[1:]):
            self.assertEqual(o[0], outs[0][0], (args, jobs, o[2]))
            self.assertEqual(o[2], outs[0][2], (args, jobs))
            self.assertEqual(o[1], outs[0][1], (args, jobs))
        return outs[0]

    @staticmethod
    def layer(k, per, checked):
        st = 1700000000 + k
        c = header(0, st, len(SRC)) + BODY
        ents = []
        for i in range(per):
            d = "usr/lib/p%d" % (i % 10)
            ents.append(("%s/m%d_%d.py" % (d, k, i), SRC, {"mtime": st}))
            ents.append(("%s/__pycache__/m%d_%d.%s.pyc" % (d, k, i, TAG), c, {}))
            # the same path in every layer: the top one's is seen
            ents.append(("%s/__pycache__/s%d.%s.pyc" % (d, i, TAG), c, {}))
            if i % 5 == 0:  # a member error in every layer
                ents.append(("../../up%d_%d.pyc" % (k, i), c, {}))
        ents.append(("usr/lib/s0.py", SRC, {"mtime": st}))
        ents.append(("usr/lib/h%d.pyc" % k, None, {
            "type": tarfile.LNKTYPE, "linkname": "usr/lib/p1/__pycache__/m%d_1.%s.pyc" % (k, TAG)}))
        ents.append(("usr/lib/via%d" % k, None, {"type": tarfile.SYMTYPE, "linkname": "p2"}))
        ents.append(("usr/lib/__pycache__/via%d.%s.pyc" % (k, TAG), c, {}))
        ents.append(("usr/lib/hashed.py", SRC, {"mtime": st}))
        ents.append(("usr/lib/__pycache__/hashed.%s.pyc" % TAG,
                     header(3, digest=checked) + BODY, {}))
        if k > 0:
            ents.append(("usr/lib/p%d/.wh..wh..opq" % k, b"", {}))  # lower p<k>/ hidden
            ents.append(("usr/lib/p3/.wh.m%d_3.py" % (k - 1), b"", {}))  # a source deleted
            ents.append(("usr/lib/p4/__pycache__/.wh.m%d_4.%s.pyc" % (k - 1, TAG), b"", {}))
            ents.append(("usr/lib/p5", b"a file in place of a directory", {}))
        return tar_bytes(ents)

    def layers(self, n=6, per=150):
        checked = siphash(SRC)
        return [self.layer(k, per, checked) for k in range(n)]

    def check_all(self, path, member, env=None):
        """Every command on path: scan (JSON, text, -q), dump of the image and of a member."""
        got = {}
        for args in (["scan", "--json", "-t", VERSION, path],
                     ["scan", "-t", VERSION, path],
                     ["scan", "-q", "-t", VERSION, path],
                     ["dump", "--json", "-t", VERSION, path],
                     ["dump", "-t", VERSION, path + "!/" + member]):
            got[" ".join(args[:2])] = self.same(args, env=env)
        return got

    def test_docker_save(self):
        ls = self.layers()
        path = os.path.join(self.tmp, "img.tar")
        # a seventh layer: the first again, linked to
        write_file(path, docker_save(ls + [ls[0]], shared={6: 0}))
        got = self.check_all(path, "usr/lib/p1/__pycache__/m0_1.%s.pyc" % TAG)
        status, out, err = got["scan --json"]
        objs = [json.loads(x) for x in clitest.json_lines(out.decode())]
        a = [o for o in objs if o["type"] == "archive"][0]
        self.assertEqual(a["kind"], "image")
        self.assertEqual(len(a["layers"]), 7)
        self.assertEqual(a["member_errors"], 6 * 30)  # read once, the linked one too
        self.assertEqual(len([o for o in objs if o["type"] == "error"]), 100)
        pycs = {o["archive"]["member"]: o for o in objs if o["type"] == "pyc"}
        # the top layer (the first again) brings its caches back; layer 2's opaque p2/
        # hides layer 1's, not its own
        self.assertTrue("usr/lib/p0/__pycache__/m0_0.%s.pyc" % TAG in pycs)
        self.assertFalse("usr/lib/p2/__pycache__/m1_2.%s.pyc" % TAG in pycs)
        self.assertTrue("usr/lib/p2/__pycache__/m2_2.%s.pyc" % TAG in pycs)
        self.assertEqual(pycs["usr/lib/__pycache__/hashed.%s.pyc" % TAG]["status"], "fresh")
        hidden = sum(x["deleted_above"]["count"] for x in a["layers"])
        self.assertGreater(hidden, 0)
        self.assertIn(b"m0_1.%s.pyc" % TAG.encode(), got["dump -t"][1])  # the member dumped

    def test_hard_linked_layer(self):
        ls = self.layers(n=3, per=40)
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, docker_save(ls + [ls[1]], shared={3: 1}, hard=True))
        self.check_all(path, "usr/lib/p1/__pycache__/m1_1.%s.pyc" % TAG)

    def test_oci_layout(self):
        ls = [gzip.compress(x, mtime=0) for x in self.layers()]
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, oci_image(ls))
        status, out, err = self.check_all(path, "usr/lib/__pycache__/hashed.%s.pyc" % TAG)[
            "scan --json"]
        self.assertIn(b'"kind":"image"', out)

    def test_image_fixtures(self):
        """The images of the tests above, the same whatever the threads."""
        l1, l2, _ = Images.layers(self)
        path = os.path.join(self.tmp, "img.tar")
        member = "usr/lib/__pycache__/a.%s.pyc" % TAG
        p1, p2 = gzip.decompress(l1), gzip.decompress(l2)
        for data, status in ((oci_image([l1, l2]), b"stale"),
                             (docker_save([p1, p2]), b"stale"),
                             # the first layer again on top: a.py as it was
                             (docker_save([p1, p2, p1], shared={2: 0}), b"fresh")):
            write_file(path, data)
            got = self.check_all(path, member)
            self.assertIn(b'"status":"' + status + b'"', got["scan --json"][1])

    def test_corrupt_layers(self):
        """A corrupt layer stops the walk where one thread would: the member errors of the
        layers after it are not said, and the error is the same."""
        ls = self.layers(n=5, per=60)
        ls[2] = ls[2][:len(ls[2]) // 2 + 100]  # cut in the middle of a member
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, docker_save(ls))
        status, out, err = self.same(["scan", "--json", "-t", VERSION, path])
        self.assertEqual(status, 2)
        self.assertIn(b"archive not judged: a layer is corrupt or truncated", err)
        self.assertNotIn(b"up3_", err)  # a layer after it
        self.assertIn(b"up1_", err)  # a layer before it
        # a gzip'd layer cut short, in the OCI layout
        gz = [gzip.compress(x, mtime=0) for x in self.layers(n=4, per=60)]
        gz[1] = gz[1][:len(gz[1]) // 2]
        write_file(path, oci_image(gz))
        status, out, err = self.same(["scan", "--json", "-t", VERSION, path])
        self.assertEqual(status, 2)
        self.assertTrue(err.endswith(b"archive not judged: a layer is corrupt or truncated "
                                     b"(truncated gzip input)\n"), err[-200:])
        # a layer missing (the manifest names it, the tarball does not hold it)
        ls = self.layers(n=3, per=20)
        data = docker_save(ls)
        src = tarfile.open(fileobj=io.BytesIO(data))
        bio = io.BytesIO()
        with tarfile.open(fileobj=bio, mode="w") as t:
            for m in src.getmembers():
                if m.name != hashlib.sha256(b"layer1").hexdigest() + "/layer.tar":
                    t.addfile(m, src.extractfile(m) if m.isfile() else None)
        write_file(path, bio.getvalue())
        status, _, err = self.same(["scan", "--json", "-t", VERSION, path])
        self.assertEqual(status, 2)
        self.assertIn(b"a layer its manifest names is not in it", err)

    def test_limits(self):
        """Limits passed across threads: the same error, and a bomb stops early."""
        ls = self.layers(n=6, per=150)
        path = os.path.join(self.tmp, "img.tar")
        write_file(path, oci_image([gzip.compress(x, mtime=0) for x in ls]))
        env = clitest.env_c()
        for limit, message in (
                ("max-bytes=300000", b"more decompressed bytes than the limit"),
                ("max-table=60000", b"its tables would pass the memory limit"),
                ("max-layers=3", b"more layers than the limit"),
                ("max-member-errors=7", None)):
            env["PYCI_ARCHIVE_LIMITS"] = limit
            status, out, err = self.same(["scan", "--json", "-t", VERSION, path], env=env)
            if message:
                self.assertEqual(status, 2, limit)
                self.assertIn(b"archive not judged: " + message, err, limit)
            else:
                self.assertEqual(err.count(b"leaves the archive"), 7)
        # layers of zeros, 64 MiB each from 64 KiB: the ratio's limit, early
        def zeros(i):
            ti = tarfile.TarInfo("zeros%d" % i)
            ti.size = 64 << 20
            return gzip.compress(ti.tobuf(format=tarfile.USTAR_FORMAT) + bytes(ti.size) +
                                 bytes(1024), compresslevel=9, mtime=0)
        bomb = oci_image([zeros(i) for i in range(4)] + [gzip.compress(ls[0], mtime=0)])
        write_file(path, bomb)
        env = clitest.env_c()
        env["PYCI_ARCHIVE_LIMITS"] = "max-ratio=100"
        t0 = time.monotonic()
        status, _, err = self.same(["scan", "--json", path], env=env)
        self.assertEqual(status, 2)
        self.assertIn(b"decompression ratio over the limit", err)
        self.assertLess(time.monotonic() - t0, 30)


# ---- hostile archives -----------------------------------------------------------------------


def fast_tar_headers(names, out):
    """Write ustar headers of empty regular files named names to out (a file object): what
    tarfile does, a hundred times faster, for a million members."""
    tmpl = bytearray(512)
    tmpl[100:108] = b"0000644\0"
    tmpl[108:116] = b"0000000\0"
    tmpl[116:124] = b"0000000\0"
    tmpl[124:136] = b"00000000000\0"
    tmpl[136:148] = b"14625313400\0"
    tmpl[156:157] = b"0"
    tmpl[257:265] = b"ustar\x0000"
    for name in names:
        h = bytearray(tmpl)
        h[0:len(name)] = name
        h[148:156] = b"        "
        h[148:156] = b"%06o\0 " % sum(h)
        out.write(h)
    out.write(bytes(1024))


def is_sanitized():
    with open(clitest.BIN, "rb") as f:
        data = f.read()
    return b"__asan_init" in data or b"__tsan_init" in data or b"libasan" in data


def peak_rss(args, cwd):
    """(exit status, stdout, stderr, peak RSS in bytes) of pycinspect ARGS."""
    out, err = os.path.join(cwd, ".out"), os.path.join(cwd, ".err")
    with open(out, "wb") as o, open(err, "wb") as e:
        p = subprocess.Popen([clitest.BIN] + list(args), stdout=o, stderr=e, cwd=cwd,
                             env=clitest.env_c())
        _, status, ru = os.wait4(p.pid, 0)
    with open(out, "rb") as o, open(err, "rb") as e:
        res = (os.waitstatus_to_exitcode(status), o.read(), e.read(), ru.ru_maxrss * 1024)
    os.unlink(out)
    os.unlink(err)
    return res


class Hostile(clitest.TempDirCase):
    def good(self):
        path = os.path.join(self.tmp, "good.zip")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("m.py", SRC)
            z.writestr("m.pyc", header(0, 1, 6) + BODY)
        return path

    def test_truncated_and_corrupt(self):
        """Each is an error, the others in the run are still judged, exit 2."""
        cache = header(0, 1, 6) + BODY
        full = tar_bytes([("p/m.py", SRC, {}), ("p/m.pyc", cache * 200, {})], compress="gz")
        trunc = os.path.join(self.tmp, "trunc.tar.gz")
        write_file(trunc, full[:len(full) // 2])
        head = os.path.join(self.tmp, "head.tar.gz")
        write_file(head, full[:20])
        good = self.good()
        with open(good, "rb") as f:
            z = f.read()
        corrupt = os.path.join(self.tmp, "corrupt.zip")
        write_file(corrupt, z[:30] + b"\xff" * 40 + z[70:])
        bad_cd = os.path.join(self.tmp, "badcd.zip")
        write_file(bad_cd, z[:-6] + b"\xff\xff\xff\x7f" + z[-2:])  # directory offset
        pycs, errors, archives, summary, p = archive_json(
            [trunc, head, corrupt, bad_cd, good], self.tmp, expect_rc=2)
        self.assertEqual([a["path"] for a in archives], [good])
        self.assertEqual([p["archive"]["path"] for p in pycs], [good])
        paths = [e["path"] for e in errors]
        self.assertEqual(paths, [trunc, head, corrupt, bad_cd])
        for e in errors:
            self.assertTrue(e["message"].startswith("archive not judged: "), e)
        self.assertEqual(summary["errors"], 4)
        self.assertEqual(p.stderr.count(b"archive not judged"), 4)

    def test_truncated_wheel_and_zip_sdist(self):
        """A wheel, or an sdist that is a zip, cut before its central directory: zipfile (and
        so pip) cannot open it, so it is corrupt or truncated, though libarchive's streaming
        reader would still read every member; a zip on sys.path cut the same way is said in
        zipimport's words."""
        cache = header(0, 1, 6) + BODY
        cut = {}
        for name, members in (
                ("demo-1.0-py3-none-any.whl", [("demo/__init__.py", SRC),
                                               ("demo/__init__.pyc", cache),
                                               ("demo-1.0.dist-info/WHEEL", b"Wheel-Version: 1.0\n"),
                                               ("demo-1.0.dist-info/RECORD", b"")]),
                ("demo-1.0.zip", [("demo-1.0/PKG-INFO", b"Metadata-Version: 2.1\n"),
                                  ("demo-1.0/demo.py", SRC), ("demo-1.0/demo.pyc", cache)]),
                ("app.zip", [("m.py", SRC), ("m.pyc", cache)])):
            whole = os.path.join(self.tmp, "whole-" + name)
            with zipfile.ZipFile(whole, "w") as z:
                for m, data in members:
                    z.writestr(m, data)
            with open(whole, "rb") as f:
                data = f.read()
            with zipfile.ZipFile(whole) as z:  # where the directory starts: cut inside it
                start = min(z.getinfo(n).header_offset for n in z.namelist())
                first_cd = data.index(b"PK\x01\x02")
            self.assertEqual(start, 0)
            path = os.path.join(self.tmp, name)
            write_file(path, data[:first_cd + 10])
            with self.assertRaises(zipfile.BadZipFile):
                zipfile.ZipFile(path)
            kind = archive_json([whole], self.tmp)[2][0]["kind"]
            cut[kind] = path
        self.assertEqual(sorted(cut), ["sdist", "wheel", "zip"])
        for kind, path in cut.items():
            pycs, errors, archives, summary, p = archive_json([path], self.tmp, expect_rc=2)
            self.assertEqual((pycs, archives), ([], []))
            self.assertEqual([e["path"] for e in errors], [path])
            self.assertEqual(errors[0]["message"],
                             "archive not judged: zipimport cannot read it" if kind == "zip"
                             else "archive not judged: corrupt or truncated")
            self.assertEqual(summary["errors"], 1)
            self.assertEqual(run(["scan", "-q", path]).returncode, 2)

    def test_ratio_and_size_limits(self):
        """A tarball of 300 MiB of zeros in 300 bytes: stopped at the ratio, early."""
        import bz2
        path = os.path.join(self.tmp, "bomb.tar.bz2")
        c = bz2.BZ2Compressor(9)
        ti = tarfile.TarInfo("zeros")
        ti.size = 300 << 20
        with open(path, "wb") as f:
            f.write(c.compress(ti.tobuf(format=tarfile.USTAR_FORMAT)))
            z = bytes(1 << 20)
            for _ in range(300):
                f.write(c.compress(z))
            f.write(c.compress(bytes(1024)))
            f.write(c.flush())
        self.assertLess(os.path.getsize(path), 4096)
        t0 = time.monotonic()
        _, errors, _, _, _ = archive_json([path, self.good()], self.tmp, expect_rc=2)
        self.assertEqual(errors[0]["message"],
                         "archive not judged: decompression ratio over the limit (a zip bomb?)")
        self.assertIn("over 1000:1 past 67108864 bytes", errors[0]["detail"])
        self.assertLess(time.monotonic() - t0, 60)
        env = clitest.env_c()
        env["PYCI_ARCHIVE_LIMITS"] = "max-ratio=100000000,max-bytes=10000000"
        _, errors, _, _, _ = archive_json([path], self.tmp, expect_rc=2, env=env)
        self.assertEqual(errors[0]["message"],
                         "archive not judged: more decompressed bytes than the limit")
        env["PYCI_ARCHIVE_LIMITS"] = "max-table=1000"
        pycs, errors, _, _, _ = archive_json([self.good()], self.tmp, expect_rc=2, env=env)
        self.assertEqual(errors[0]["message"],
                         "archive not judged: its tables would pass the memory limit")
        env["PYCI_ARCHIVE_LIMITS"] = "max-ratio=x"
        p = run(["scan", self.good()], env=env)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"invalid PYCI_ARCHIVE_LIMITS", p.stderr)

    def test_names_links_devices(self):
        cache = header(0, 1700000000, len(SRC)) + BODY
        bad = os.fsdecode(b"p/caf\xff.py")
        data = tar_bytes([
            ("p/ok.py", SRC, {}),
            ("p/__pycache__/ok.%s.pyc" % TAG, cache, {}),
            ("../../evil.pyc", cache, {}),
            ("/abs/evil.pyc", cache, {}),
            ("p/../../up.py", SRC, {}),
            ("p/link.pyc", None, {"type": tarfile.SYMTYPE, "linkname": "/etc/shadow"}),
            ("p/dev.pyc", None, {"type": tarfile.CHRTYPE, "devmajor": 1, "devminor": 3}),
            ("p/fifo.pyc", None, {"type": tarfile.FIFOTYPE}),
            (bad, SRC, {}),
            (os.fsdecode(b"p/__pycache__/caf\xff.%s.pyc" % TAG.encode()), cache, {}),
        ])
        path = os.path.join(self.tmp, "names.tar")
        write_file(path, data)
        pycs, errors, archives, summary, p = archive_json([path], self.tmp)
        got = by_member(pycs)
        self.assertEqual(got["p/__pycache__/ok.%s.pyc" % TAG]["status"], "fresh")
        for name in ("p/link.pyc", "p/dev.pyc", "p/fifo.pyc"):
            self.assertEqual(got[name]["status"], "invalid")
            self.assertIn("not a regular file", got[name]["reasons"])
        odd = os.fsdecode(b"p/__pycache__/caf\xff.%s.pyc" % TAG.encode())
        self.assertEqual(got[odd]["status"], "fresh")  # its source found by its bytes
        self.assertEqual(clitest.fs(got[odd]["path"]),
                         os.fsencode(path) + b"!/p/__pycache__/caf\xff.%s.pyc" % TAG.encode())
        self.assertEqual(sorted(e["path"] for e in errors),
                         sorted([path + "!/../../evil.pyc", path + "!//abs/evil.pyc",
                                 path + "!/p/../../up.py"]))
        for e in errors:
            self.assertEqual(e["message"],
                             "member name leaves the archive (absolute or ..): not judged")
        self.assertEqual(archives[0]["member_errors"], 3)
        self.assertEqual(summary["errors"], 3)
        self.assertEqual(run(["scan", "-q", "--check", path]).returncode, 1)

    def test_one_member_reports_its_own_errors(self):
        """dump or scan of ARCHIVE!/MEMBER says the errors of that member (or of the whole
        archive), not those of the others; a member that is not there is named as asked."""
        cache = header(0, 1700000000, len(SRC)) + BODY
        path = os.path.join(self.tmp, "evil.tar")
        write_file(path, tar_bytes([("ok/z.py", SRC, {"mtime": 1700000000}),
                                    ("ok/z.pyc", cache, {}), ("../x.pyc", cache, {}),
                                    ("/abs/y.pyc", cache, {})]))
        with tarfile.open(path) as t:
            self.assertEqual(t.getnames(), ["ok/z.py", "ok/z.pyc", "../x.pyc", "/abs/y.pyc"])
        p = run(["dump", path + "!/ok/z.pyc"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, b"")
        objs = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual([(o["type"], o["path"]) for o in objs], [("dump", path + "!/ok/z.pyc")])
        pycs, errors, archives, summary, _ = archive_json([path + "!/ok/z.pyc"], self.tmp)
        self.assertEqual((len(pycs), errors, summary["errors"]), (1, [], 0))
        self.assertEqual(archives[0]["member_errors"], 0)
        # the member asked for is one that leaves the archive: its error is said
        p = run(["dump", path + "!/../x.pyc"], cwd=self.tmp)
        self.assertEqual(p.returncode, 2)
        self.assertEqual([(o["path"], o["message"]) for o in map(json.loads,
                                                                  p.stdout.splitlines())],
                         [(path + "!/../x.pyc",
                           "member name leaves the archive (absolute or ..): not judged"),
                          (path + "!/../x.pyc", "no cache of that name in the archive")])
        # a member not there: its own path
        for cmd in (["dump"], ["scan", "--json"]):
            p = run(cmd + [path + "!/nothere.pyc"], cwd=self.tmp)
            self.assertEqual(p.returncode, 2)
            errs = [o for o in map(json.loads, p.stdout.splitlines()) if o["type"] == "error"]
            self.assertEqual([(e["path"], e["message"]) for e in errs],
                             [(path + "!/nothere.pyc", "no cache of that name in the archive")])

    def test_zip_name_not_utf8(self):
        """A zip that says its names are UTF-8 (flag 0x800) and holds one that is not: Python
        3's zipimport decodes the names strictly and cannot import anything from it, so the
        zip is not judged; Python 2's reads names as bytes, so a zip of 2.7's caches alone is
        judged (the undecodable member said, as elsewhere).  Each interpreter decides."""
        def bad_zip(path, members):
            with zipfile.ZipFile(path, "w") as z:
                z.writestr(zipfile.ZipInfo("XXX\u00e9.py", (2023, 5, 6, 8, 8, 10)), SRC)
                for name, data in members:
                    z.writestr(zipfile.ZipInfo(name, (2023, 5, 6, 8, 8, 10)), data)
            with open(path, "rb") as f:
                data = f.read()
            self.assertEqual(data.count("XXX\u00e9".encode()), 2)  # local and central
            write_file(path, data.replace("XXX\u00e9".encode(), b"XXX\xff\xfe"))

        def import_ok(python, path):
            env = py_env()
            env["TZ"] = "UTC"
            return subprocess.run([python, "-c", "import sys; sys.path.insert(0, %r); import ok; "
                                   "sys.stdout.write(ok.__file__)" % path], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        env = clitest.env_c()
        env["TZ"] = "UTC"
        t = 1683360490  # 2023-05-06 08:08:10 UTC, the members' DOS time
        path = os.path.join(self.tmp, "names.zip")
        bad_zip(path, [("ok.py", SRC), ("ok.pyc", header(0, t, len(SRC)) + BODY)])
        p = import_ok(PY3, path)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"UnicodeDecodeError", p.stderr)
        pycs, errors, archives, summary, p = archive_json([path], self.tmp, expect_rc=2, env=env)
        self.assertEqual((pycs, archives), ([], []))
        self.assertEqual([(e["path"], e["message"], e["detail"]) for e in errors],
                         [(path, "archive not judged: zipimport cannot read it",
                           "a member name flagged UTF-8 is not UTF-8: zipimport cannot read "
                           "this zip")])
        self.assertEqual(summary["errors"], 1)
        p = run(["dump", path + "!/ok.pyc"], env=env)
        self.assertEqual(p.returncode, 2)
        self.assertEqual([json.loads(line)["message"] for line in p.stdout.splitlines()],
                         ["archive not judged: zipimport cannot read it"])

        # the caches of Python 2.7 alone: 2.7 imports from it and uses its cache
        py27 = pyenv_python("2.7")
        facts = subprocess.run([py27, "-c", "import imp, marshal, sys; sys.stdout.write("
                                "(imp.get_magic() + marshal.dumps(compile('x = 1\\n', 'm.py', "
                                "'exec'))).encode('hex'))"], stdout=subprocess.PIPE,
                               check=True).stdout
        magic, body = bytes.fromhex(facts.decode())[:4], bytes.fromhex(facts.decode())[4:]
        path2 = os.path.join(self.tmp, "names27.zip")
        bad_zip(path2, [("ok.py", SRC), ("ok.pyc", magic + struct.pack("<I", t) + body)])
        p = import_ok(py27, path2)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.decode(), os.path.join(path2, "ok.pyc"))
        pycs, errors, archives, _, _ = archive_json([path2], self.tmp, env=env)
        self.assertEqual([(p["archive"]["member"], p["version"], p["status"]) for p in pycs],
                         [("ok.pyc", "2.7", "fresh")])
        self.assertEqual([(e["path"], e["message"]) for e in errors],
                         [(path2, "member name cannot be decoded: not judged")])
        self.assertEqual(archives[0]["member_errors"], 1)

    def test_member_errors_are_capped(self):
        cache = header(0, 1, 6) + BODY
        data = tar_bytes([("/e%04d.pyc" % i, cache, {}) for i in range(250)])
        path = os.path.join(self.tmp, "many.tar")
        write_file(path, data)
        _, errors, archives, summary, p = archive_json([path], self.tmp)
        self.assertEqual(len(errors), 100)
        self.assertEqual(archives[0]["member_errors"], 250)
        self.assertEqual(summary["errors"], 100)

    def test_a_million_members(self):
        """A tarball of a million members, one of them a cache with its source: judged, in
        bounded memory (docs/archives.md: the tables' budget and libarchive's own)."""
        path = os.path.join(self.tmp, "million.tar.gz")
        with gzip.open(path, "wb", compresslevel=1) as f:
            names = (b"d%03d/f%07d.txt" % (i % 1000, i) for i in range(1_000_000))
            fast_tar_headers(names, f)
        small = self.good()
        floor = peak_rss(["scan", small], self.tmp)[3]  # this process's own, through fork
        rc, out, err, rss = peak_rss(["scan", "--json", path], self.tmp)
        self.assertEqual(rc, 0, err)
        objs = [json.loads(line) for line in out.decode().splitlines()]
        self.assertEqual(objs[-2]["members"], 1_000_000)
        if not is_sanitized():
            self.assertLess(rss - floor, 32 << 20)  # nothing of them is kept
        # the same members in a zip: libarchive indexes its whole central directory
        zpath = os.path.join(self.tmp, "many.zip")
        n = 200_000
        with zipfile.ZipFile(zpath, "w", compression=zipfile.ZIP_STORED) as z:
            for i in range(n):
                z.writestr(zipfile.ZipInfo("f%07d.txt" % i), b"")
        floor = peak_rss(["scan", small], self.tmp)[3]
        rc, out, err, rss = peak_rss(["scan", "--json", zpath], self.tmp)
        self.assertEqual(rc, 0, err)
        if not is_sanitized():  # within the ZIP_INDEX_COST counted for it
            self.assertLess(rss - floor, n * (192 + 16))


class Clean(clitest.TempDirCase):
    def test_clean_refuses_archives(self):
        path = os.path.join(self.tmp, "a.zip")
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("m.pyc", header(0, 1, 6) + BODY)
        before = clitest.snapshot(self.tmp)
        for args in (["--all", path], ["--all", "--dry-run", path], ["--all", path + "!/m.pyc"],
                     ["--stale", self.tmp, path]):
            p = run(["clean"] + args)
            self.assertEqual(p.returncode, 2, args)
            self.assertIn(b"clean never modifies archives", p.stderr)
        self.assertEqual(clitest.snapshot(self.tmp), before)


if __name__ == "__main__":
    clitest.main()
