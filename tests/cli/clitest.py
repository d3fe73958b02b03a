"""Shared helpers for the CLI tests (tests/cli/test_*.py); not a test itself.

Each test file is run by CTest as `python3 test_x.py` with PYCI_BIN (the pycinspect binary) and
PYCI_FIXTURES (the fixtures directory) in the environment.  main() runs the file's unittest cases
and ends with the line "N passed, M failed"; the exit status is non-zero on any failure.  There
are no skips: a missing prerequisite is a failure.
"""
import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import unittest

BIN = os.environ.get("PYCI_BIN", "")
FIXTURES = os.environ.get("PYCI_FIXTURES", "")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Magic of CPython 3.12's final release, and the JSON keys of a "pyc" record (docs/json.md).
MAGIC_312 = 3531
PYC_KEYS = ["type", "path", "status", "version", "implementation", "magic", "magic_label", "mode",
            "source", "foreign", "reasons", "size", "layout", "tag", "optimization"]
STATUSES = ["fresh", "stale", "orphaned", "sourceless", "invalid", "foreign"]
# What follows a hand-made header: the marshal code type with FLAG_REF (0xe3), then enough bytes
# for the smallest code object of any version.  scan reads no further.
CODE_BODY = b"\xe3" + bytes(63)


def env_c():
    """The environment for the binary: C locale, so strerror texts are the English ones, and
    no PYTHONPYCACHEPREFIX of the caller's."""
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env.pop("LANGUAGE", None)
    env.pop("PYTHONPYCACHEPREFIX", None)  # the summary names it: tests that want it set it
    return env


# In the sanitizer build (tools/test.sh) every report aborts the binary.  A test that reads only
# stdout could pass over an abort that comes after the output (LeakSanitizer runs at exit).
SANITIZER_REPORTS = (b"ERROR: AddressSanitizer", b"ERROR: LeakSanitizer", b"runtime error: ",
                     b"WARNING: ThreadSanitizer")


def not_aborted(p, args):
    """p, unless pycinspect died of SIGABRT or printed a sanitizer report: then fail."""
    err = p.stderr if isinstance(p.stderr, bytes) else b""
    if p.returncode == -signal.SIGABRT or any(m in err for m in SANITIZER_REPORTS):
        raise AssertionError("pycinspect %r aborted (exit %d): %s" % (
            list(args), p.returncode, err.decode("utf-8", "replace")[-4000:]))
    return p


def run(args, cwd=None, timeout=60, **kw):
    """Run pycinspect with args (str or bytes each); returns CompletedProcess with bytes.
    Fails on an abort or a sanitizer report, whatever the test expects."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return not_aborted(subprocess.run([BIN] + list(args), cwd=cwd, timeout=timeout,
                                      env=kw.pop("env", env_c()), **kw), args)


def json_lines(text):
    """The lines of JSON Lines text: split at "\n" only.  str.splitlines would also split at
    U+0085, U+2028 and U+2029, which JSON strings (file names) hold as they are."""
    lines = text.split("\n")
    return lines[:-1] if lines[-1] == "" else lines


def parse_jsonl(data):
    """(pyc records, error records, summary) from JSON Lines bytes; checks the framing."""
    text = data.decode("utf-8", "surrogateescape")
    if text and not text.endswith("\n"):
        raise AssertionError("JSON output does not end with a newline")
    objs = [json.loads(line) for line in json_lines(text)]
    if not objs or objs[-1].get("type") != "summary":
        raise AssertionError("the last JSON line is not the summary: %r" % (objs[-1:] or None))
    for o in objs[:-1]:
        if o.get("type") not in ("pyc", "error"):
            raise AssertionError("unexpected JSON object: %r" % o)
    pycs = [o for o in objs if o["type"] == "pyc"]
    errors = [o for o in objs if o["type"] == "error"]
    return pycs, errors, objs[-1]


def scan_json(args, cwd=None, expect_rc=0, **kw):
    """Run `scan --json ARGS`; asserts the exit status and returns (pycs, errors, summary, proc)."""
    p = run(["scan", "--json"] + list(args), cwd=cwd, **kw)
    if p.returncode != expect_rc:
        raise AssertionError("exit %d, expected %d; stderr: %s" % (
            p.returncode, expect_rc, p.stderr.decode("utf-8", "replace")))
    pycs, errors, summary = parse_jsonl(p.stdout)
    return pycs, errors, summary, p


def fs(path_text):
    """The bytes of a JSON path (surrogateescape, as docs/json.md says)."""
    return os.fsencode(path_text)


def write_file(path, data=b"x = 1\n", mode=0o644):
    d = os.path.dirname(path)
    if d:
        os.makedirs(d, exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def header_312(mtime, size, flags=0):
    return struct.pack("<HBBIII", MAGIC_312, 0x0D, 0x0A, flags, mtime & 0xFFFFFFFF,
                       size & 0xFFFFFFFF)


def make_cache(src, fresh=True, tag="cpython-312", body=CODE_BODY):
    """Write a 3.12 timestamp cache for source path src (str or bytes) into its __pycache__.
    fresh: the header matches the source's mtime and size; else its mtime is 10 s off.
    Returns the cache path, of the same type as src."""
    bsrc = os.fsencode(src)
    st = os.stat(bsrc)
    mtime = int(st.st_mtime) + (0 if fresh else 10)
    d, base = os.path.split(bsrc)
    cache = os.path.join(d, b"__pycache__", base.rsplit(b".", 1)[0] + b"." + tag.encode() + b".pyc")
    write_file(cache, header_312(mtime, st.st_size) + body)
    return cache if isinstance(src, bytes) else os.fsdecode(cache)


def module(root, relpath, fresh=True, data=b"x = 1\n"):
    """Write source root/relpath and a 3.12 cache for it; returns the cache path."""
    src = os.path.join(root, relpath)
    write_file(src, data)
    return make_cache(src, fresh=fresh)


class TempDirCase(unittest.TestCase):
    """A test case with a fresh temporary directory self.tmp (removed afterwards, even when
    deep or made unreadable)."""

    def setUp(self):
        if not BIN or not os.access(BIN, os.X_OK):
            self.fail("PYCI_BIN is not set to an executable pycinspect (got %r)" % BIN)
        self.tmp = tempfile.mkdtemp(prefix="pyci-cli-")

    def tearDown(self):
        # GNU chmod and rm cope with trees deeper than Python's recursion limit
        subprocess.run(["chmod", "-R", "u+rwX", "--", self.tmp], check=False,
                       stderr=subprocess.DEVNULL)
        subprocess.run(["rm", "-rf", "--", self.tmp], check=False)


def interp_env():
    """The environment for a real interpreter that must write its caches: no PYTHON*
    variable (this machine exports PYTHONDONTWRITEBYTECODE=1)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}


def sh(args, **kw):
    """Run a tool or an interpreter (interp_env unless env= is given); its stdout as text, or
    the test fails with its stderr."""
    p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=kw.pop("env", interp_env()), **kw)
    if p.returncode != 0:
        raise AssertionError("%r failed: %s" % (args, p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def pyenv_python(version):
    """The newest pyenv interpreter of a version ("3.12", "2.7"): the real interpreter a test
    asks; fails the test when it is missing (never a skip)."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    versions = os.path.join(root, "versions")
    found = sorted(os.path.join(versions, v, "bin", "python") for v in os.listdir(versions)
                   if v.startswith(version + ".")) if os.path.isdir(versions) else []
    if not found:
        raise AssertionError("no pyenv interpreter for %s under %s" % (version, root))
    return found[-1]


def main():
    suite = unittest.defaultTestLoader.loadTestsFromModule(sys.modules["__main__"])
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2)
    result = runner.run(suite)
    # count tests, not subtests; a skip is not a pass: every test here must be able to fail
    bad = result.failures + result.errors + result.skipped + [(t, "") for t in
                                                              result.unexpectedSuccesses]
    failed = len({getattr(t, "test_case", t).id() for t, _ in bad})
    passed = result.testsRun - failed
    sys.stdout.flush()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or result.testsRun == 0 else 0)


# ---- helpers for the clean tests (test_clean*.py) ----------------------------------------------

# Prefix that runs a command as nobody, without supplementary groups (the tests run as root).
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run_as_nobody(args, cwd=None, timeout=60, **kw):
    """Like run(), but the binary runs as uid/gid 65534."""
    kw.setdefault("stdout", subprocess.PIPE)
    kw.setdefault("stderr", subprocess.PIPE)
    return not_aborted(subprocess.run(NOBODY + [BIN] + list(args), cwd=cwd, timeout=timeout,
                                      env=kw.pop("env", env_c()), **kw), args)


def _kind(mode):
    import stat
    for test, name in ((stat.S_ISREG, "reg"), (stat.S_ISDIR, "dir"), (stat.S_ISLNK, "lnk"),
                       (stat.S_ISFIFO, "fifo"), (stat.S_ISSOCK, "sock"), (stat.S_ISCHR, "chr"),
                       (stat.S_ISBLK, "blk")):
        if test(mode):
            return name
    return "?"


def snapshot(root):
    """The state of the tree at root, without following a symlink or opening anything but
    regular files: {relative path (bytes, b"" for root): (kind, mode bits, data, inode,
    mtime_ns)}, data being the contents of a regular file, the target of a symlink, the rdev of
    a device, else None.  Two snapshots compare equal only if nothing was added, removed,
    replaced, written, chmod-ed or renamed."""
    import stat
    broot = os.fsencode(root)
    out = {}
    todo = [b""]
    while todo:
        rel = todo.pop()
        full = os.path.join(broot, rel) if rel else broot
        st = os.lstat(full)
        kind = _kind(st.st_mode)
        data = None
        if kind == "reg":
            with open(full, "rb") as f:
                data = f.read()
        elif kind == "lnk":
            data = os.readlink(full)
        elif kind in ("chr", "blk"):
            data = st.st_rdev
        out[rel] = (kind, stat.S_IMODE(st.st_mode), data, st.st_ino, st.st_mtime_ns)
        if kind == "dir":
            for name in os.listdir(full):
                todo.append(os.path.join(rel, name) if rel else name)
    return out


def snapshot_diff(before, after, dir_mtimes=True):
    """What changed between two snapshots: (removed paths, added paths, changed paths), each a
    sorted list of bytes.  dir_mtimes=False: a directory whose only change is its mtime (an
    entry removed from it) is not counted as changed."""
    removed = sorted(set(before) - set(after))
    added = sorted(set(after) - set(before))
    changed = []
    for p in sorted(set(before) & set(after)):
        b, a = before[p], after[p]
        if not dir_mtimes and b[0] == "dir" and a[0] == "dir":
            b, a = b[:4], a[:4]
        if b != a:
            changed.append(p)
    return removed, added, changed


def parse_clean_jsonl(data):
    """(records, summary) of `clean --json` output: records are the "pyc", "dir" and "error"
    objects in order; checks the framing and that the summary comes last."""
    text = data.decode("utf-8", "surrogateescape")
    if text and not text.endswith("\n"):
        raise AssertionError("JSON output does not end with a newline")
    objs = [json.loads(line) for line in json_lines(text)]
    if not objs or objs[-1].get("type") != "summary":
        raise AssertionError("the last JSON line is not the summary: %r" % (objs[-1:] or None))
    for o in objs[:-1]:
        if o.get("type") not in ("pyc", "dir", "error"):
            raise AssertionError("unexpected JSON object: %r" % o)
    return objs[:-1], objs[-1]


def last_actions(records):
    """{(type, path): the action of the last record of that path} ("the last record of a path
    is what happened", docs/clean.md)."""
    out = {}
    for r in records:
        if r["type"] in ("pyc", "dir"):
            out[(r["type"], r["path"])] = r["action"]
    return out


# ---- a terminal for the child (test_color.py, test_progress.py) --------------------------------

def run_tty(args, env, tty=("stdout",), hold_stdout=None, columns=200, timeout=60):
    """Run pycinspect with the streams named in tty on one pseudo-terminal (200 columns), the
    others on pipes.  hold_stdout: a function of the terminal's bytes so far, when stdout is a
    pipe: stdout is not read (so the child blocks once the pipe is full) until it returns True
    (or the child exits, or timeout).  Returns (returncode, terminal bytes, stdout bytes, stderr
    bytes); the bytes of a stream on the terminal are in the terminal's.  Fails on an abort or a
    sanitizer report, as run() does."""
    import fcntl
    import select
    import termios
    import time
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    kw = {"stdin": subprocess.DEVNULL}
    for name in ("stdout", "stderr"):
        kw[name] = slave if name in tty else subprocess.PIPE
    p = subprocess.Popen([BIN] + list(args), env=env, **kw)
    os.close(slave)
    term, out, err = bytearray(), bytearray(), bytearray()
    fds = {master: term}
    if p.stdout:
        fds[p.stdout.fileno()] = out
    if p.stderr:
        fds[p.stderr.fileno()] = err
    held = hold_stdout is not None and p.stdout is not None
    deadline = time.monotonic() + timeout
    while fds:
        if time.monotonic() > deadline:
            p.kill()
            raise AssertionError("pycinspect %r did not end in %d s" % (list(args), timeout))
        if held and hold_stdout(bytes(term)):
            held = False
        want = [fd for fd in fds if not (held and p.stdout and fd == p.stdout.fileno())]
        ready, _, _ = select.select(want, [], [], 0.05)
        if held and not ready and p.poll() is not None:
            held = False
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                data = b""
            if data:
                fds[fd] += data
            else:
                del fds[fd]
    os.close(master)
    p.wait(timeout=timeout)
    if p.returncode == -signal.SIGABRT or any(m in term or m in err for m in SANITIZER_REPORTS):
        said = (bytes(term) + bytes(err)).decode("utf-8", "replace")[-4000:]
        raise AssertionError("pycinspect %r aborted (exit %d): %s" % (list(args), p.returncode,
                                                                       said))
    return p.returncode, bytes(term), bytes(out), bytes(err)


def screen(data):
    """The lines a terminal shows after data: "\\r" returns to the left margin, ESC [K erases
    to the end of the line, other escape sequences show nothing, "\\n" starts a new line."""
    import re
    lines, cur, col = [], [], 0
    for tok in re.finditer(rb"\x1b\[[0-9;]*[A-Za-z]|\r|\n|[^\x1b\r\n]", data):
        t = tok.group()
        if t == b"\r":
            col = 0
        elif t == b"\n":
            lines.append(b"".join(cur))
            cur, col = [], 0
        elif t.startswith(b"\x1b["):
            if t == b"\x1b[K":
                del cur[col:]
        else:
            if col < len(cur):
                cur[col] = t
            else:
                cur.append(t)
            col += 1
    if cur:
        lines.append(b"".join(cur))
    return lines
