"""Shared by the tests of what `clean` says against what it did (docs/clean.md, issue 11): is the
log true against the tree?  Not a test itself (CTest runs only test_*.py).

The properties, checked by check_log():
  - every "removed" record (text: a `removed '...'` line) names a path that was there before
    and is gone now;
  - every cache and __pycache__ that is gone has exactly one record saying "removed", and no
    path has more than one record of its kind (spec 1: one record per cache, written after the
    act; nothing is recorded that was not done);
  - nothing else changed: nothing gone without its record, nothing added;
  - the summary, when there is one, counts what the records say.
The records are those that reached stdout and, when output failed, those written to stderr
after "cannot write output: ...; these N records were not written" (spec 4).
"""
import ctypes
import json
import os
import re
import subprocess
from collections import Counter

from clitest import BIN

CLONE_NEWNS = 0x00020000


def private_mount_namespace():
    """Move this process (and the commands it runs) into a mount namespace of its own, with
    private propagation: the mounts a test makes go away with it, even if it dies, and none
    leaks to the machine.  Call it before any thread is started (unshare refuses otherwise)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNS) != 0:
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNS) failed: these tests need root")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)


def sanitized():
    """Names of the sanitizer runtimes BIN carries: shared ones that ldd lists (gcc's ASan,
    UBSan) and static ones (clang's TSan), found by their init symbols."""
    found = []
    out = subprocess.run(["ldd", BIN], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         check=False).stdout.decode("utf-8", "replace")
    for name in re.findall(r"\blib((?:a|t|ub|l|hwa)san)\.so", out):
        if name not in found:
            found.append(name)
    syms = subprocess.run(["nm", "-D", "--defined-only", BIN], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, check=False).stdout.decode("utf-8",
                                                                                "replace")
    for name in ("asan", "tsan", "msan", "hwasan"):
        if re.search(r"\b__%s_init\b" % name, syms) and name not in found:
            found.append(name)
    return found


def tree_paths(parent, name):
    """Every entry of the tree parent/name, not following symlinks: {path as clean prints it
    when run in `parent` on PATH `name` (str): 'd' directory, 'f' regular file, 'o' other}."""
    out = {}
    top = os.path.join(parent, name)
    for dirpath, dirnames, filenames in os.walk(top):
        rel = os.path.relpath(dirpath, parent)
        out[rel] = "d"
        for n in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            st = os.lstat(os.path.join(dirpath, n))
            out[os.path.join(rel, n)] = "f" if (st.st_mode & 0o170000) == 0o100000 else "o"
    return out


def json_lines(data, what="stdout", partial_tail=False):
    """The objects of JSON Lines bytes.  Every line must be whole, valid JSON; with partial_tail
    a last line without its newline (a write cut short) is returned apart: (objs, tail)."""
    text = data.decode("utf-8", "surrogateescape")
    lines = text.split("\n")
    tail = lines.pop()
    if tail and not partial_tail:
        raise AssertionError("%s does not end with a whole line: ...%r" % (what, tail[-120:]))
    objs = []
    for i, line in enumerate(lines):
        try:
            objs.append(json.loads(line))
        except ValueError as e:
            raise AssertionError("%s line %d is not valid JSON (%s): %r" % (what, i + 1, e,
                                                                              line[:300]))
    return (objs, tail) if partial_tail else objs


# Spec 4: the line on stderr before the records that could not be written, and their number.
UNWRITTEN = re.compile(r"^pycinspect: cannot write output: (?P<err>[^;\n]*); these (?P<n>\d+) "
                       r"records? (?:were|was) not written \(the files they name are removed\):$")
# What clean writes instead (main at f1488c8): "cannot write output: E" on a line of its own,
# then this line, then the records to the end of stderr, not counted.  Read too, so that the
# truth of the records is checked whatever the wording; test_clean_truth checks the wording.
UNWRITTEN_OTHER = re.compile(r"^pycinspect: these records were not written to the output, and "
                             r"what they record was done:$")
CANNOT_WRITE = re.compile(r"^pycinspect: cannot write output: (?P<err>[^;\n]*)$")
TEXT_RECORD = re.compile(r"^(?P<verb>removed|would remove)(?P<dir> directory)? '(?P<path>[^']*)'$")
TEXT_SUMMARY = re.compile(r"^(?P<verb>removed|would remove) (?P<files>\d+) files? \(.*\) and "
                          r"(?P<dirs>\d+) director(?:y|ies)$")


def text_records(lines, dry_run=False):
    """Records (as JSON's, without size) of text-mode lines `removed '...'`,
    `removed directory '...'`; other lines are ignored."""
    out = []
    for line in lines:
        m = TEXT_RECORD.match(line)
        if m:
            out.append({"type": "dir" if m.group("dir") else "pyc", "path": m.group("path"),
                        "action": "would-remove" if m.group("verb") == "would remove"
                        else "removed"})
    return out


def text_summary(stdout_text):
    """(files, directories) of the text summary's first line, or None when it is missing."""
    for line in stdout_text.splitlines():
        m = TEXT_SUMMARY.match(line)
        if m:
            return int(m.group("files")), int(m.group("dirs"))
    return None


def unwritten_form(stderr):
    """Which header announces the unwritten records on stderr: "spec" (spec 4's, with their
    number), "other" (UNWRITTEN_OTHER), or None."""
    lines = stderr.decode("utf-8", "surrogateescape").split("\n")
    if any(UNWRITTEN.match(line) for line in lines):
        return "spec"
    if any(UNWRITTEN_OTHER.match(line) for line in lines):
        return "other"
    return None


def unwritten(stderr, json_mode):
    """(strerror or None, records) of spec 4's block on stderr: the N lines after its header,
    each a whole JSON record (--json) or a text line; or, under UNWRITTEN_OTHER's header, every
    line after it.  None and [] when there is none."""
    lines = stderr.decode("utf-8", "surrogateescape").split("\n")
    heads = [i for i, line in enumerate(lines) if UNWRITTEN.match(line) or
             UNWRITTEN_OTHER.match(line)]
    if not heads:
        return None, []
    if len(heads) > 1:
        raise AssertionError("more than one 'these records were not written' on stderr")
    i = heads[0]
    m = UNWRITTEN.match(lines[i])
    if m:
        err, n = m.group("err"), int(m.group("n"))
        body = lines[i + 1:i + 1 + n]
        if len(body) < n:
            raise AssertionError("stderr promises %d unwritten records and holds %d" % (
                n, len(body)))
    else:
        errs = [CANNOT_WRITE.match(line) for line in lines[:i]]
        errs = [e.group("err") for e in errs if e]
        err = errs[-1] if errs else None
        body = lines[i + 1:]
        if body and body[-1] == "":
            body.pop()
    if json_mode:
        recs = json_lines(("\n".join(body) + "\n").encode("utf-8", "surrogateescape") if body
                          else b"", what="stderr's unwritten records")
    else:
        recs = text_records(body)
        others = [line for line in body if not TEXT_RECORD.match(line) and
                  not line.startswith("kept directory ")]
        if others:
            raise AssertionError("stderr's unwritten records hold other lines: %r" % others)
    return err, recs


def check_log(tc, before, after, records, dry_run=False, summary=None, what=""):
    """Assert that the records (pyc and dir, in any mix with others) are true against the tree:
    before and after are tree_paths() of it.  summary: the JSON summary, or (files, dirs) of a
    text one.  Returns (removed files, removed dirs) as sets of paths."""
    verb = "would-remove" if dry_run else "removed"
    pyc = [r for r in records if r.get("type") == "pyc"]
    dirs = [r for r in records if r.get("type") == "dir"]
    for kind, recs in (("pyc", pyc), ("dir", dirs)):
        twice = sorted(p for p, n in Counter(r["path"] for r in recs).items() if n > 1)
        tc.assertEqual(twice, [], "%s: more than one %s record for a path (spec 1: one record, "
                       "after the act)" % (what, kind))
    files = {r["path"] for r in pyc if r["action"] == verb}
    ddirs = {r["path"] for r in dirs if r["action"] == verb}
    gone = set(before) - set(after)
    tc.assertEqual(sorted(set(after) - set(before)), [], "%s: entries appeared" % what)
    tc.assertEqual(sorted(p for p in files if before.get(p) != "f"), [],
                   "%s: a record names a file that was not there" % what)
    tc.assertEqual(sorted(p for p in ddirs if before.get(p) != "d"), [],
                   "%s: a record names a directory that was not there" % what)
    if dry_run:
        tc.assertEqual(sorted(gone), [], "%s: a dry run removed something" % what)
    else:
        tc.assertEqual(sorted((files | ddirs) - gone), [],
                       "%s: recorded as removed, but still there" % what)
        tc.assertEqual(sorted(gone - files - ddirs), [],
                       "%s: gone without a record of its removal (of %d gone)" % (what,
                                                                                len(gone)))
    if isinstance(summary, dict):
        tc.assertEqual(summary["files"], len(files), "%s: summary's files" % what)
        tc.assertEqual(summary["directories"], len(ddirs), "%s: summary's directories" % what)
        tc.assertEqual(summary["bytes"], sum(r["size"] for r in pyc if r["action"] == verb),
                       "%s: summary's bytes" % what)
        tc.assertEqual(summary["failed"], sum(r["action"] == "failed" for r in pyc + dirs),
                       "%s: summary's failed" % what)
        tc.assertEqual(summary["kept"], sum(r["action"] == "kept" for r in pyc),
                       "%s: summary's kept" % what)
    elif summary is not None:
        tc.assertEqual(summary, (len(files), len(ddirs)),
                       "%s: the text summary's files and directories" % what)
    return files, ddirs
