#!/usr/bin/env python3
"""Benchmark pycinspect against the tools users run today, on the same warm trees.

    bench/run.sh [--dir DIR] [--parts LIST] [--runs N] [--sizes LIST] [STDLIB_CORPUS]

Parts (all but verify and dumpmem by default; BENCH_PARTS or --parts selects, comma-separated):
  scan       the standard-library corpus: the lib/ trees of every interpreter in
             ${PYENV_ROOT:-~/.pyenv}/versions copied with their caches (about 55,000 pycs on the
             development machine).  `pycinspect scan` against `find -name '*.pyc'`,
             `fdfind -u -e pyc`, bench/header_script.py (run with Debian's python3) and pyclean's
             dry run when the real pyclean (PyPI's, not Debian's py3clean) is installed; with
             two threads and with --jobs 1, each by io_uring and by plain calls (--io plain).
  progress   the cost of the progress line (docs/output.md): `scan -q` of the same corpus with
             its stderr on a pseudo-terminal (the line is drawn; the terminal is read as it
             comes), with the line from the start (PYCI_PROGRESS_DELAY_MS=0), with the
             default half second, and with --no-progress, in turn; default threads and
             --jobs 1 (issue 18: nothing measurable).
  deep       `scan --deep` (every body an import would load, read and decoded) against a plain
             `scan` on the same corpus, two threads and one: the cost of --deep (issue 16).
  prefix     a PYTHONPYCACHEPREFIX tree of the same corpus (its __pycache__ caches hard-linked
             into PREFIX/<absolute source directory>/, the sources left where they are):
             `scan --pycache-prefix PREFIX` against `scan` of the corpus, both without the
             interpreters whose caches are legacy NAME.pyc (2.x), which a prefix tree never has;
             the verdicts are checked to be the same first (issue 17: within 1.1x).
  filesfrom  `scan -0 --files-from LIST` with LIST the output of `find CORPUS -print0`, and the
             pipe `find -print0 | scan -0 --files-from -`, against `scan CORPUS`; the records
             are checked to be the walk's first (issue 17: the ratio, no target).
  cold       scan (two threads, one, and --io plain) and find with the kernel's caches dropped
             before every run (root only: /proc/sys/vm/drop_caches); the ratio, no target.
  clean      `pycinspect clean --all` against `find -name '*.pyc' -delete` (and the find that leaves
             the same tree: .pyo too, emptied __pycache__ removed), each on a fresh
             `cp -al` copy of a variant of that corpus whose caches are all stale.
  hash       `pycinspect scan --check-source=always` on a copy of one standard library compiled
             with `compileall --invalidation-mode checked-hash`, in bytes of source hashed per
             second, against `xxhsum -H3` and `cat` reading the same sources.
  synthetic  trees made by bench/gen_synthetic.py (deterministic, seed BENCH_SEED) of 10k, 100k
             and 1M caches: scan against find and fdfind, and the time per cache at each size.
  memory     peak RSS of `pycinspect scan` on the synthetic trees (`/usr/bin/time -v`).
  git        a git repository of 100,000 tracked files (bench_gitrepo(): 500 projects shaped
             like a monorepo's, 3,500 directories with Python sources, a complete .gitignore,
             20 caches committed by mistake): `pycinspect git --check` against
             `git ls-files | grep -E '__pycache__|\.py[co]$'`, and `git --staged --check`,
             wall and CPU time; with bench/probe_git (built by run.sh) the floor of each part:
             libgit2's index read, the ignore questions, the walk of the work tree.
  verify     `pycinspect verify` on the standard-library corpus (every cache compiled again by the
             pyenv interpreter of its version, given with --python) against `python -m
             compileall -f -q` of the same trees with the same interpreters, one after the
             other, once per optimisation level the tree's caches have (-O, -OO), into a
             temporary PYTHONPYCACHEPREFIX (3.8+; older versions into a scratch copy of their
             tree, made before the clock starts).  Wall time, and the CPU time of both (children
             included): verify uses every core, compileall one.  BENCH_VERIFY_RUNS runs (1).
  image      container images of the standard-library corpus (docs/archives.md): the first
             versions' trees as layers, until 1 GiB, and a top layer of whiteouts deleting every
             __pycache__ of one version, in docker save's layout with plain layer tars and in
             OCI's with gzip'd ones; `pycinspect scan` of each against `tar -tf` of one tar
             holding the same members (`tar -tzf` for gzip), and libarchive's own `bsdtar -tf`
             (the floor of reading through libarchive) when installed; scan's peak RSS.
  dumpmem    `pycinspect dump`'s memory (docs/dump.md): wall time and peak RSS on a 200 MB
             cache whose co_consts holds a tuple of 200 million None (written by a CPython 3.12
             from pyenv, else the python3 running this), plain and with --consts, and on eight
             such caches of 250 MB with --jobs 8, and on eight files of 250 MB with a bad magic
             (never decoded, so never held).  Not in the default set: it writes 700 MB under
             BENCH_DIR (each eight are hard links to one file) and reads 4.2 GB per run.

Each command is run once to warm the cache, then the commands are run in turn, BENCH_RUNS times
(default 7), and the medians are printed with their ratios, each next to the issue's target.
Corpora are built under BENCH_DIR (default /var/tmp/pycinspect-bench) and reused when present.
Only measured figures are printed; nothing is extrapolated.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
import gen_synthetic  # noqa: E402

BIN = os.environ.get("PYCI_BIN", os.path.join(ROOT, "build", "pycinspect"))
ALL_PARTS = ["scan", "progress", "deep", "prefix", "filesfrom", "cold", "clean", "hash",
             "synthetic", "memory", "git", "image", "verify", "dumpmem"]
DEFAULT_PARTS = ["scan", "progress", "deep", "prefix", "filesfrom", "cold", "clean", "hash",
                 "synthetic", "memory", "git", "image"]
DEBIAN_PYTHON = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
HEADER_SCRIPT = os.path.join(ROOT, "bench", "header_script.py")
SYNTH_TARGETS = ",".join(gen_synthetic.TARGETS)
# Variables that change what an interpreter writes; removed when caches are compiled here.
PY_WRITE_VARS = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONOPTIMIZE",
                 "SOURCE_DATE_EPOCH")

TARGET_ROWS = []  # (what, measured, target, met) for the summary at the end


def target(what, measured, goal, met):
    """Print a measured figure next to the issue's target and keep it for the summary."""
    verdict = "n/a" if met is None else ("met" if met else "NOT met")
    TARGET_ROWS.append((what, measured, goal, verdict))
    print(f"  target: {what:34s} {measured:>14s}   {goal:>18s}   {verdict}")


def note(text):
    print(f"  note: {text}")


# -- running and timing ----------------------------------------------------------------------

def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


def alternate(cmds, runs):
    """Warm every command once, then run them in turn `runs` times; name -> median seconds."""
    for name, cmd in cmds.items():
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if rc != 0:
            print(f"  warning: {name} exited with status {rc}")
    times = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd))
    return {name: statistics.median(ts) for name, ts in times.items()}


def print_medians(meds, base, base_label):
    for name, med in meds.items():
        print(f"  {name:36s} {med * 1000:9.1f} ms   {med / meds[base]:5.2f}x {base_label}")


def json_summary(cmd):
    """The summary object (last JSON line) of a `pycinspect scan --json` run."""
    last = b""
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as p:
        for line in p.stdout:
            last = line
    try:
        obj = json.loads(last)
    except ValueError:
        return None
    return obj if obj.get("type") == "summary" else None


def count_pycs(corpus):
    n = 0
    for _, _, files in os.walk(corpus):
        n += sum(1 for f in files if f.endswith(".pyc"))
    return n


def fdfind_cmd(d):
    exe = shutil.which("fdfind")
    return [exe, "-u", "-e", "pyc", ".", d] if exe else None


def py_env():
    env = dict(os.environ)
    for v in PY_WRITE_VARS:
        env.pop(v, None)
    return env


def pyenv_versions():
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    versions = os.path.join(pyenv, "versions")
    return versions, (sorted(os.listdir(versions)) if os.path.isdir(versions) else [])


# -- scan: the standard-library corpus ----------------------------------------------------------

def build_corpus(corpus):
    if os.path.isdir(corpus):
        return
    versions, names = pyenv_versions()
    if not names:
        sys.exit(f"no interpreters in {versions}: cannot build the standard-library corpus")
    print(f"  building the standard-library corpus in {corpus} ...")
    os.makedirs(corpus + ".tmp", exist_ok=True)
    for v in names:
        lib = os.path.join(versions, v, "lib")
        if os.path.isdir(lib):
            shutil.copytree(lib, os.path.join(corpus + ".tmp", v), symlinks=True)
    os.rename(corpus + ".tmp", corpus)


def pyclean_cmd(d):
    """The real pyclean (PyPI, bittner) with its dry run, or (None, why not)."""
    exe = os.environ.get("PYCLEAN") or shutil.which("pyclean")
    if exe:
        try:
            helptext = subprocess.run([exe, "--help"], capture_output=True, text=True,
                                      timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            helptext = ""
        if "--dry-run" in helptext:
            return [exe, "--dry-run", d], None
        why = f"{exe} has no --dry-run (Debian's pyclean/py3clean, another tool)"
    else:
        why = "no pyclean on PATH (set PYCLEAN=/path/to/pyclean to use one)"
    in_debian = ""
    if shutil.which("apt-cache"):
        found = subprocess.run(["apt-cache", "search", "--names-only", "pyclean"],
                               capture_output=True, text=True).stdout.strip()
        in_debian = ("; Debian has: " + found.replace("\n", ", ")) if found else \
            "; not packaged in Debian (apt-cache search pyclean finds nothing)"
    return None, why + in_debian


def part_scan(cfg):
    corpus = cfg.corpus
    build_corpus(corpus)
    n = count_pycs(corpus)
    print(f"\n== scan: standard-library corpus {corpus} ({n} pycs), {cfg.runs} alternating runs,"
          " warm cache, medians")
    cmds = {
        "find -name '*.pyc'": ["find", corpus, "-name", "*.pyc"],
        "pycinspect scan --json": [BIN, "scan", "--json", corpus],
        "pycinspect scan --json --io plain": [BIN, "scan", "--json", "--io", "plain", corpus],
        "pycinspect scan --jobs 1 --json": [BIN, "scan", "--jobs", "1", "--json", corpus],
        "pycinspect scan --jobs 1 --json --io plain": [BIN, "scan", "--jobs", "1", "--json",
                                                       "--io", "plain", corpus],
        "pycinspect scan": [BIN, "scan", corpus],
    }
    fd = fdfind_cmd(corpus)
    if fd:
        cmds["fdfind -u -e pyc"] = fd
    cmds["header_script.py (Debian python3)"] = [DEBIAN_PYTHON, HEADER_SCRIPT, corpus]
    pyclean, why = pyclean_cmd(corpus)
    if pyclean:
        cmds["pyclean --dry-run"] = pyclean
    meds = alternate(cmds, cfg.runs)
    print_medians(meds, "find -name '*.pyc'", "find")
    scan = meds["pycinspect scan --json"]
    r = scan / meds["find -name '*.pyc'"]
    target("scan --json / find (stdlib)", f"{r:.2f}x", "<= 0.80x", r <= 0.80)
    r = meds["pycinspect scan --jobs 1 --json"] / meds["find -name '*.pyc'"]
    target("scan --jobs 1 --json / find (stdlib)", f"{r:.2f}x", "<= 1.10x", r <= 1.10)
    r = scan / meds["pycinspect scan --json --io plain"]
    note(f"io_uring against plain calls (2 threads): {r:.2f}x; one thread: "
         f"{meds['pycinspect scan --jobs 1 --json'] / meds['pycinspect scan --jobs 1 --json --io plain']:.2f}x")
    if fd:
        r = scan / meds["fdfind -u -e pyc"]
        target("scan --json / fdfind (stdlib)", f"{r:.2f}x", "<= 1.20x", r <= 1.20)
    else:
        note("fdfind not installed (Debian package fd-find): that comparison is skipped")
        target("scan --json / fdfind (stdlib)", "not measured", "<= 1.20x", None)
    r = meds["header_script.py (Debian python3)"] / scan
    note(f"header script / scan --json (stdlib): {r:.1f}x faster (no target)")
    if pyclean:
        r = meds["pyclean --dry-run"] / scan
        note(f"pyclean --dry-run / scan --json: {r:.1f}x faster (no target)")
    else:
        note(f"pyclean (PyPI's, by bittner) is not available here: {why}. Not compared: "
             "Debian's py3clean has no dry run, and nothing stands in for pyclean.")
        note("pyclean --dry-run / scan --json: not measured")


# -- progress -----------------------------------------------------------------------------------

def timed_pty(cmd, env):
    """Run cmd with stdout to /dev/null and stderr on a new pseudo-terminal, read as it comes;
    (seconds, bytes the terminal received, CPU seconds: user + system)."""
    master, slave = os.openpty()
    r0 = os.times()
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=slave, env=env)
    os.close(slave)
    got = 0
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child, the terminal's last writer, is gone
            break
        if not data:
            break
        got += len(data)
    p.wait()
    dt = time.perf_counter() - t0
    r1 = os.times()
    os.close(master)
    return dt, got, (r1.children_user - r0.children_user) + (r1.children_system -
                                                            r0.children_system)


def part_progress(cfg):
    """scan with its progress line against scan without, stderr on a terminal: issue 18 says the
    line must cost nothing measurable."""
    corpus = cfg.corpus
    build_corpus(corpus)
    n = count_pycs(corpus)
    print(f"\n== progress: scan -q with and without the progress line, stderr on a "
          f"pseudo-terminal, stdlib corpus ({n} pycs), {cfg.runs} alternating runs, medians")
    env = dict(os.environ, TERM="xterm")
    env.pop("PYCI_PROGRESS_DELAY_MS", None)
    now = dict(env, PYCI_PROGRESS_DELAY_MS="0")
    cmds = {}
    for jobs in ([], ["--jobs", "1"]):
        j = " ".join(jobs) + " " if jobs else ""
        cmds[f"scan -q {j}--no-progress"] = ([BIN, "scan", "-q"] + jobs + ["--no-progress",
                                                                          corpus], env)
        cmds[f"scan -q {j}(line from the start)"] = ([BIN, "scan", "-q"] + jobs + [corpus], now)
        cmds[f"scan -q {j}(line after 0.5 s)"] = ([BIN, "scan", "-q"] + jobs + [corpus], env)
    drawn = {}
    for name, (cmd, e) in cmds.items():  # warm
        drawn[name] = timed_pty(cmd, e)[1]
    times = {name: [] for name in cmds}
    cpus = {name: [] for name in cmds}
    for _ in range(cfg.runs):
        for name, (cmd, e) in cmds.items():
            wall, _, cpu = timed_pty(cmd, e)
            times[name].append(wall)
            cpus[name].append(cpu)
    meds = {name: statistics.median(ts) for name, ts in times.items()}
    cmeds = {name: statistics.median(ts) for name, ts in cpus.items()}
    for name, med in meds.items():
        base = "scan -q --jobs 1 --no-progress" if "--jobs 1" in name else "scan -q --no-progress"
        print(f"  {name:42s} {med * 1000:9.1f} ms   {med / meds[base]:5.3f}x no progress   "
              f"CPU {cmeds[name] * 1000:7.1f} ms {cmeds[name] / cmeds[base]:5.3f}x   "
              f"({drawn[name]} bytes on the terminal in the warm-up run)")
    r = meds["scan -q (line from the start)"] / meds["scan -q --no-progress"]
    rc = cmeds["scan -q (line from the start)"] / cmeds["scan -q --no-progress"]
    target("scan, progress line / none", f"{r:.3f}x wall, {rc:.3f}x CPU", "nothing measurable",
           None)
    r1 = meds["scan -q --jobs 1 (line from the start)"] / meds["scan -q --jobs 1 --no-progress"]
    note(f"--jobs 1: {r1:.3f}x.  The spread of the runs of one command says what is within the "
         "noise: " + ", ".join(f"{name} {min(ts) * 1000:.0f}-{max(ts) * 1000:.0f} ms"
                               for name, ts in times.items() if "start" in name or "no-" in name))


# -- deep ---------------------------------------------------------------------------------------

def part_deep(cfg):
    """scan --deep (every body an import would load, decoded) against a plain scan: issue 16
    makes --deep the default if it costs at most 1.5x."""
    corpus = cfg.corpus
    build_corpus(corpus)
    n = count_pycs(corpus)
    mib = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(corpus)
              for f in fs if f.endswith(".pyc")) / 2**20
    print(f"\n== deep: scan --deep against scan, stdlib corpus ({n} pycs, {mib:.0f} MiB), "
          f"{cfg.runs} alternating runs, warm cache, medians")
    cmds = {
        "pycinspect scan --json": [BIN, "scan", "--json", corpus],
        "pycinspect scan --json --deep": [BIN, "scan", "--json", "--deep", corpus],
        "pycinspect scan --jobs 1 --json": [BIN, "scan", "--jobs", "1", "--json", corpus],
        "pycinspect scan --jobs 1 --json --deep": [BIN, "scan", "--jobs", "1", "--json",
                                                   "--deep", corpus],
    }
    meds = alternate(cmds, cfg.runs)
    print_medians(meds, "pycinspect scan --json", "scan")
    r = meds["pycinspect scan --json --deep"] / meds["pycinspect scan --json"]
    target("scan --deep / scan (stdlib, default threads)", f"{r:.2f}x",
           "<= 1.50x to be the default", r <= 1.5)
    extra = 1000 * (meds["pycinspect scan --jobs 1 --json --deep"]
                    - meds["pycinspect scan --jobs 1 --json"])
    note(f"one thread: {extra:.0f} ms more for {mib:.0f} MiB of caches: "
         f"{extra / mib:.2f} ms per MiB of body read and decoded")


# -- prefix and filesfrom: the inputs of issue 17 -------------------------------------------------

def legacy_excludes(corpus):
    """--exclude ./VERSION for each interpreter of the corpus whose caches are legacy NAME.pyc
    (Python 2): a prefix tree holds __pycache__ caches only."""
    out = []
    for v in sorted(os.listdir(corpus)):
        if re.match(r"^2\.", v):
            out += ["--exclude", "./" + v]
    return out


def build_prefix_tree(corpus, prefix):
    """The __pycache__ caches of corpus hard-linked into prefix as PYTHONPYCACHEPREFIX=prefix
    would place them (prefix + the source directory's absolute path), built once."""
    if os.path.isdir(prefix):
        return
    print(f"  building the prefix tree {prefix} ...")
    tmp = prefix + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    skip = {os.path.join(corpus, v) for v in os.listdir(corpus) if re.match(r"^2\.", v)}
    for d, dirs, files in os.walk(corpus):
        if d in skip:
            dirs[:] = []
            continue
        if os.path.basename(d) != "__pycache__":
            continue
        dest = tmp + os.path.dirname(os.path.abspath(d))
        os.makedirs(dest, exist_ok=True)
        for f in files:
            if f.endswith((".pyc", ".pyo")):
                os.link(os.path.join(d, f), os.path.join(dest, f))
    os.rename(tmp, prefix)


def same_verdicts(a, b):
    """Whether two summaries say the same of the same number of caches."""
    return a is not None and b is not None and all(
        a[k] == b[k] for k in ("caches", "bytes", "by_status", "by_version"))


def part_prefix(cfg):
    corpus = cfg.corpus
    build_corpus(corpus)
    prefix = os.path.join(cfg.dir, "stdlib-prefix")
    build_prefix_tree(corpus, prefix)
    excl = legacy_excludes(corpus)
    walk = [BIN, "scan", "--json"] + excl + [corpus]
    tree = [BIN, "scan", "--json", "--pycache-prefix", prefix]
    a, b = json_summary(walk), json_summary(tree)
    print(f"\n== prefix: {prefix}, the {b and b['caches']} __pycache__ caches of {corpus} in a "
          f"prefix tree, {cfg.runs} alternating runs, warm cache, medians")
    if not same_verdicts(a, b):
        print("  error: the prefix tree's verdicts differ from the corpus's; not measured")
        target("scan --pycache-prefix / scan (stdlib)", "not measured", "<= 1.10x", False)
        return
    note("the same verdicts: " + ", ".join(f"{k} {v['count']}" for k, v in
                                            b["by_status"].items() if v["count"]))
    cmds = {
        "pycinspect scan --json (__pycache__)": walk,
        "pycinspect scan --json --pycache-prefix": tree,
        "pycinspect scan --jobs 1 --json (__pycache__)": walk[:2] + ["--jobs", "1"] + walk[2:],
        "pycinspect scan --jobs 1 --json --pycache-prefix": tree[:2] + ["--jobs", "1"] + tree[2:],
    }
    meds = alternate(cmds, cfg.runs)
    print_medians(meds, "pycinspect scan --json (__pycache__)", "__pycache__")
    r = meds["pycinspect scan --json --pycache-prefix"] / \
        meds["pycinspect scan --json (__pycache__)"]
    target("scan --pycache-prefix / scan (stdlib)", f"{r:.2f}x", "<= 1.10x", r <= 1.10)
    r = meds["pycinspect scan --jobs 1 --json --pycache-prefix"] / \
        meds["pycinspect scan --jobs 1 --json (__pycache__)"]
    note(f"one thread: {r:.2f}x")


def part_filesfrom(cfg):
    corpus = cfg.corpus
    build_corpus(corpus)
    listing = os.path.join(cfg.dir, "stdlib.find0")
    with open(listing, "wb") as f:
        subprocess.run(["find", corpus, "-print0"], stdout=f, check=True)
    with open(listing, "rb") as f:
        npaths = f.read().count(b"\0")
    walk = [BIN, "scan", "--json", corpus]
    lst = [BIN, "scan", "--json", "-0", "--files-from", listing]
    pipe = ["sh", "-c", 'find "$1" -print0 | "$2" scan --json -0 --files-from -', "sh", corpus,
            BIN]
    a, b = json_summary(walk), json_summary(lst)
    print(f"\n== filesfrom: find {corpus} -print0 ({npaths} paths) as --files-from, against "
          f"the walk, {cfg.runs} alternating runs, warm cache, medians")
    if not same_verdicts(a, b):
        print("  error: the list's verdicts differ from the walk's; not measured")
        return
    note(f"the same {b['caches']} caches and verdicts; listed: {b['listed']}")
    cmds = {
        "pycinspect scan --json CORPUS": walk,
        "pycinspect scan --json -0 --files-from LIST": lst,
        "find -print0 | pycinspect scan -0 --files-from -": pipe,
        "find -print0": ["find", corpus, "-print0"],
        "pycinspect scan --jobs 1 --json CORPUS": walk[:2] + ["--jobs", "1"] + walk[2:],
        "pycinspect scan --jobs 1 --json -0 --files-from LIST": lst[:2] + ["--jobs", "1"] + lst[2:],
    }
    meds = alternate(cmds, cfg.runs)
    print_medians(meds, "pycinspect scan --json CORPUS", "walk")
    r = meds["pycinspect scan --json -0 --files-from LIST"] / meds["pycinspect scan --json CORPUS"]
    note(f"--files-from LIST / walk: {r:.2f}x (no target); with find in a pipe: "
         f"{meds['find -print0 | pycinspect scan -0 --files-from -'] / meds['pycinspect scan --json CORPUS']:.2f}x; "
         f"one thread: {meds['pycinspect scan --jobs 1 --json -0 --files-from LIST'] / meds['pycinspect scan --jobs 1 --json CORPUS']:.2f}x")
    target("scan --files-from (find -print0) / walk", f"{r:.2f}x", "report", None)


# -- cold ---------------------------------------------------------------------------------------

def drop_caches():
    """Empty the page, dentry and inode caches (root only).  True when it was done."""
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def part_cold(cfg):
    """scan and find on a cold cache: the caches dropped before every run (issue 13 asks for
    the ratio, with no target).  Reading headers on two threads may hide latency find cannot."""
    corpus = cfg.corpus
    build_corpus(corpus)
    runs = min(cfg.runs, 5)
    print(f"\n== cold: {corpus}, caches dropped before each run, {runs} alternating runs, medians")
    if not drop_caches():
        note("cannot write /proc/sys/vm/drop_caches (not root, or not allowed here): not measured")
        return
    cmds = {
        "find -name '*.pyc'": ["find", corpus, "-name", "*.pyc"],
        "pycinspect scan --json": [BIN, "scan", "--json", corpus],
        "pycinspect scan --json --io plain": [BIN, "scan", "--json", "--io", "plain", corpus],
        "pycinspect scan --jobs 1 --json": [BIN, "scan", "--jobs", "1", "--json", corpus],
    }
    times = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            drop_caches()
            times[name].append(timed(cmd))
    meds = {name: statistics.median(ts) for name, ts in times.items()}
    print_medians(meds, "find -name '*.pyc'", "find")
    r = meds["pycinspect scan --json"] / meds["find -name '*.pyc'"]
    note(f"cold scan --json / find: {r:.2f}x (no target)")


# -- clean --------------------------------------------------------------------------------------

def make_stale(corpus):
    """A copy of the corpus whose every source is newer than its caches (built once)."""
    stale = corpus.rstrip("/") + "-stale"
    if not os.path.isdir(stale):
        subprocess.run(["cp", "-a", corpus, stale + ".tmp"], check=True)
        for d, _, files in os.walk(stale + ".tmp"):
            for f in files:
                if f.endswith(".py"):
                    os.utime(os.path.join(d, f), ns=(1700000000 * 10**9, 1700000000 * 10**9))
        os.rename(stale + ".tmp", stale)
    return stale


def part_clean(cfg):
    """clean --all against find -delete, each on a fresh hard-link copy of the stale corpus
    (cp -al: the copy is not timed; removing a link costs what removing a file costs)."""
    build_corpus(cfg.corpus)
    stale = make_stale(cfg.corpus)
    runs = cfg.clean_runs
    work = stale + "-run"
    # find -delete as the issue names it, and the find that leaves the tree as clean --all does:
    # .pyo too, and the __pycache__ directories it empties (-delete implies -depth, so -empty
    # sees a directory after its caches went)
    same = "find, same result as clean --all"
    cmds = {
        "find -name '*.pyc' -delete": lambda d: ["find", d, "-name", "*.pyc", "-delete"],
        same: lambda d: ["find", d, "(", "-name", "*.py[co]", "-type", "f", "-delete", ")",
                         "-o", "(", "-name", "__pycache__", "-type", "d", "-empty", "-delete",
                         ")"],
        "pycinspect clean --all": lambda d: [BIN, "clean", "--all", d],
    }
    times = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            subprocess.run(["rm", "-rf", work], check=True)
            subprocess.run(["cp", "-al", stale, work], check=True)
            # the caches' first pages in memory for every command alike: this machine's kernel
            # may page out what was not touched for a minute (DAMON), and clean reads headers
            subprocess.run([BIN, "scan", "--jobs", "1", stale], stdout=subprocess.DEVNULL,
                           check=False)
            subprocess.run(["sync"], check=False)
            times[name].append(timed(cmd(work)))
            left = sum(1 for _, _, fs in os.walk(work) for f in fs if f.endswith(".pyc"))
            if left:
                print(f"  warning: {name} left {left} pycs")
    subprocess.run(["rm", "-rf", work], check=True)
    meds = {name: statistics.median(ts) for name, ts in times.items()}
    base = "find -name '*.pyc' -delete"
    print(f"\n== clean: all caches stale ({stale}), {runs} alternating runs on fresh copies,"
          " medians")
    print_medians(meds, base, "find -delete")
    r = meds["pycinspect clean --all"] / meds[base]
    target("clean --all / find -delete (issue 3)", f"{r:.2f}x", "<= 1.00x", r <= 1.0)
    r = meds["pycinspect clean --all"] / meds[same]
    print(f"  (against the find that leaves the same tree: {r:.2f}x)")


# -- hash: checked-hash caches, sources hashed ---------------------------------------------------

def hash_interpreter():
    """(python, X.Y, lib dir) of the newest CPython 3.7+ in pyenv, or BENCH_HASH_PYTHON."""
    forced = os.environ.get("BENCH_HASH_PYTHON")
    cands = []
    if forced:
        out = subprocess.run([forced, "-c", "import sys, sysconfig; print('%d.%d' % "
                              "sys.version_info[:2]); print(sysconfig.get_paths()['stdlib'])"],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        return forced, out[0], out[1]
    versions, names = pyenv_versions()
    for v in names:
        m = re.match(r"^(\d+)\.(\d+)\.\d+$", v)
        if not m or (int(m[1]), int(m[2])) < (3, 7):
            continue
        xy = f"{m[1]}.{m[2]}"
        py = os.path.join(versions, v, "bin", "python")
        lib = os.path.join(versions, v, "lib", "python" + xy)
        if os.access(py, os.X_OK) and os.path.isdir(lib):
            cands.append(((int(m[1]), int(m[2])), py, xy, lib))
    if not cands:
        return None
    _, py, xy, lib = max(cands)
    return py, xy, lib


def build_hash_tree(tree, python, lib):
    if os.path.isdir(tree):
        return
    print(f"  copying {lib} and compiling it in checked-hash mode ...")
    tmp = tree + ".tmp"
    if os.path.exists(tmp):
        shutil.rmtree(tmp)
    shutil.copytree(lib, tmp, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", "site-packages"))
    # Some test files do not compile on purpose: the exit status is not checked.
    subprocess.run([python, "-m", "compileall", "-qq", "-j", "0",
                    "--invalidation-mode", "checked-hash", tmp],
                   env=py_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.rename(tmp, tree)


def part_hash(cfg):
    found = hash_interpreter()
    if not found:
        print("\n== hash: skipped (no CPython 3.7+ in pyenv; set BENCH_HASH_PYTHON)")
        return
    python, xy, lib = found
    tree = os.path.join(cfg.dir, f"hash-checked-{xy}")
    build_hash_tree(tree, python, lib)
    tag = ".cpython-%s." % xy.replace(".", "")
    sources = []
    for d, _, files in os.walk(tree):
        if os.path.basename(d) != "__pycache__":
            continue
        for f in files:
            if f.endswith(".pyc") and tag in f:
                src = os.path.join(os.path.dirname(d), f.split(".", 1)[0] + ".py")
                if os.path.isfile(src):
                    sources.append(src)
    total = sum(os.path.getsize(s) for s in sources)
    listfile = tree + ".sources"
    with open(listfile, "wb") as f:
        f.write(b"".join(os.fsencode(s) + b"\0" for s in sources))
    summ = json_summary([BIN, "scan", "--json", "--check-source=always", tree])
    print(f"\n== hash: {tree}: {len(sources)} checked-hash caches of {xy}, "
          f"{total / 2**20:.1f} MiB of source, {cfg.runs} alternating runs, warm cache, medians")
    if summ:
        fresh = summ["by_status"]["fresh"]["count"]
        modes = "all fresh" if fresh == summ["caches"] else f"{fresh} fresh (expected all)"
        print(f"  scan --check-source=always judges {summ['caches']} caches: {modes}")
    cmds = {"pycinspect scan --check-source=always": [BIN, "scan", "--check-source=always", tree],
            "pycinspect scan --check-source=never": [BIN, "scan", "--check-source=never", tree]}
    xxh = shutil.which("xxhsum")
    if xxh:
        cmds["xargs xxhsum -H3 (same sources)"] = ["xargs", "-0", "-a", listfile, xxh, "-H3"]
    cmds["xargs cat (same sources)"] = ["xargs", "-0", "-a", listfile, "cat"]
    meds = alternate(cmds, cfg.runs)
    base = "pycinspect scan --check-source=always"
    for name, med in meds.items():
        print(f"  {name:40s} {med * 1000:9.1f} ms   {total / med / 2**20:8.1f} MiB/s of source")
    ref = "xargs xxhsum -H3 (same sources)" if xxh else "xargs cat (same sources)"
    if not xxh:
        note("xxhsum not installed (Debian package xxhash): compared with cat instead")
    r = meds[ref] / meds[base]
    target(f"hashing speed / {ref.split()[1]} reading", f"{r * 100:.0f}%", ">= 80%", r >= 0.80)
    # for the record, not the target: what hashing adds to the same scan
    extra = meds[base] - meds["pycinspect scan --check-source=never"]
    if extra > 0:
        print(f"  (hashing alone, always minus never: {total / extra / 2**20:.0f} MiB/s)")


# -- synthetic trees: time per cache, memory ------------------------------------------------------

def synth_dir(cfg, size):
    return os.path.join(cfg.dir, f"synthetic-{gen_synthetic.count_label(size)}-s{cfg.seed}")


def ensure_synthetic(cfg, size):
    m = gen_synthetic.ensure(synth_dir(cfg, size), size, cfg.seed)
    subprocess.run(["sync"], check=False)
    return m


def part_synthetic(cfg):
    per_cache = {}
    for size in cfg.sizes:
        d = synth_dir(cfg, size)
        print(f"\n== synthetic {gen_synthetic.count_label(size)}: {d}")
        m = ensure_synthetic(cfg, size)
        summ = json_summary([BIN, "scan", "--json", "--target", SYNTH_TARGETS, d])
        got = {k: v["count"] for k, v in summ["by_status"].items() if v["count"]} if summ else None
        ok = got == m["expected_status"]
        print(f"  {m['caches']} caches, {m['sources']} sources, {m['directories']} directories;"
              f" verdicts (--target {SYNTH_TARGETS}) {'as generated' if ok else 'DIFFER'}:"
              f" {json.dumps(got)}")
        if not ok:
            print(f"  warning: the generator expected {json.dumps(m['expected_status'])}")
        cmds = {"find -name '*.pyc'": ["find", d, "-name", "*.pyc"],
                "pycinspect scan": [BIN, "scan", "--target", SYNTH_TARGETS, d]}
        fd = fdfind_cmd(d)
        if fd:
            cmds["fdfind -u -e pyc"] = fd
        # a small tree's runs are short and one noisy moment moves their median: more of them
        runs = cfg.runs * min(5, max(1, 100000 // size))
        print(f"  {runs} alternating runs, warm cache, medians")
        meds = alternate(cmds, runs)
        print_medians(meds, "find -name '*.pyc'", "find")
        per_cache[size] = meds["pycinspect scan"] / m["caches"]
        print(f"  pycinspect scan: {per_cache[size] * 1e9:.0f} ns per cache")
    if len(per_cache) == 1:
        note("one size only: no spread of the time per cache (BENCH_SIZES=10k,100k,1M)")
    if len(per_cache) > 1:
        print("\n== time per cache (pycinspect scan, synthetic trees)")
        for size, t in per_cache.items():
            print(f"  {gen_synthetic.count_label(size):>6s} {t * 1e9:8.0f} ns per cache")
        lo, hi = min(per_cache.values()), max(per_cache.values())
        spread = hi / lo - 1
        labels = "-".join(gen_synthetic.count_label(s) for s in (min(cfg.sizes), max(cfg.sizes)))
        target(f"time per cache spread {labels}", f"{spread * 100:.0f}%", "<= 25%", spread <= 0.25)


def max_rss_kib(cmd):
    """Peak RSS in KiB of cmd: /usr/bin/time -v when it is there, else wait4's rusage."""
    if os.access("/usr/bin/time", os.X_OK):
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True)
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
        if m:
            return int(m[1])
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, ru = os.wait4(p.pid, 0)
    p.returncode = 0
    return ru.ru_maxrss


def part_memory(cfg):
    if not os.access("/usr/bin/time", os.X_OK):
        note("/usr/bin/time not installed (Debian package time): peak RSS from wait4 instead")
    print(f"\n== memory: peak RSS of pycinspect scan --target {SYNTH_TARGETS} (largest of "
          f"{cfg.memory_runs} runs)")
    rss = {}
    for size in cfg.sizes:
        d = synth_dir(cfg, size)
        m = ensure_synthetic(cfg, size)
        rss[size] = max(max_rss_kib([BIN, "scan", "--target", SYNTH_TARGETS, d])
                        for _ in range(cfg.memory_runs))
        print(f"  {gen_synthetic.count_label(size):>6s} caches {rss[size] / 1024:8.1f} MiB"
              f"   ({m['caches']} caches)")
    top = max(cfg.sizes)
    mib = rss[top] / 1024
    what = f"peak RSS at {gen_synthetic.count_label(top)}"
    if top < 1000000:
        what += " (target is for 1M)"
    target(what, f"{mib:.1f} MiB", "< 16 MiB", mib < 16 if top >= 1000000 else None)


# -- image: container images of the corpus ----------------------------------------------------

IMAGE_BYTES = 1 << 30  # layers are added until the image holds this much


def layer_members(corpus, version):
    """(path in the corpus, name in the layer) of one version's tree, sorted."""
    top = os.path.join(corpus, version)
    out = []
    for d, dirs, files in os.walk(top):
        dirs.sort()
        rel = os.path.relpath(d, corpus)
        out.append((d, "usr/lib/" + rel))
        for f in sorted(files):
            out.append((os.path.join(d, f), "usr/lib/" + rel + "/" + f))
    return out


def build_images(cfg):
    """docker save (plain layers), OCI (gzip'd layers), and the flat tars of the same members,
    under BENCH_DIR/image; built once."""
    import gzip
    import hashlib
    import json as js
    import tarfile
    d = os.path.join(cfg.dir, "image")
    names = ["docker.tar", "oci.tar", "flat.tar", "flat.tar.gz"]
    if all(os.path.exists(os.path.join(d, n)) for n in names):
        return d
    build_corpus(cfg.corpus)
    tmp = d + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    print(f"  building images of {cfg.corpus} in {d} ...")
    versions = sorted(os.listdir(cfg.corpus))
    layers, total = [], 0
    flat = tarfile.open(os.path.join(tmp, "flat.tar"), "w", format=tarfile.PAX_FORMAT)
    for v in versions:
        if total >= IMAGE_BYTES:
            break
        path = os.path.join(tmp, f"layer-{v}.tar")
        with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
            for src, name in layer_members(cfg.corpus, v):
                t.add(src, name, recursive=False)
                flat.add(src, name, recursive=False)
        layers.append(path)
        total += os.path.getsize(path)
    # the top layer: every __pycache__ of the first version that has them emptied (opaque),
    # as an image that deletes caches in a later step does
    top = os.path.join(tmp, "layer-top.tar")
    py3 = [v for v in versions[:len(layers)] if not v.startswith("2.")][0]
    with tarfile.open(top, "w", format=tarfile.PAX_FORMAT) as t:
        for src, name in layer_members(cfg.corpus, py3):
            if os.path.isdir(src) and name.endswith("/__pycache__"):
                ti = tarfile.TarInfo(name + "/.wh..wh..opq")
                t.addfile(ti)
                flat.addfile(tarfile.TarInfo(name + "/.wh..wh..opq"))
    layers.append(top)
    flat.close()
    with open(os.path.join(tmp, "flat.tar"), "rb") as f, \
            gzip.open(os.path.join(tmp, "flat.tar.gz"), "wb", compresslevel=1) as g:
        shutil.copyfileobj(f, g, 1 << 20)
    # docker save: <id>/layer.tar, plain
    ids = [hashlib.sha256(os.path.basename(p).encode()).hexdigest() for p in layers]
    man = js.dumps([{"Config": "config.json", "RepoTags": ["corpus:1"],
                     "Layers": [i + "/layer.tar" for i in ids]}]).encode()
    with tarfile.open(os.path.join(tmp, "docker.tar"), "w") as t:
        for i, p in zip(ids, layers):
            t.add(p, i + "/layer.tar")
        for name, data in (("config.json", b"{}"), ("manifest.json", man)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io_bytes(data))
    # OCI: blobs/sha256/<digest of the gzip'd layer>
    blobs = []
    for p in layers:
        with open(p, "rb") as f, gzip.open(p + ".gz", "wb", compresslevel=1) as g:
            shutil.copyfileobj(f, g, 1 << 20)
        h = hashlib.sha256()
        with open(p + ".gz", "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        blobs.append((p + ".gz", h.hexdigest()))
    cfgb = b"{}"
    mani = js.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" +
                                                    hashlib.sha256(cfgb).hexdigest()},
                     "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                 "digest": "sha256:" + h} for _, h in blobs]}).encode()
    idx = js.dumps({"schemaVersion": 2, "manifests": [{
        "digest": "sha256:" + hashlib.sha256(mani).hexdigest(),
        "annotations": {"org.opencontainers.image.ref.name": "corpus:1"}}]}).encode()
    with tarfile.open(os.path.join(tmp, "oci.tar"), "w") as t:
        for p, h in blobs:
            t.add(p, "blobs/sha256/" + h)
        for data in (cfgb, mani):
            ti = tarfile.TarInfo("blobs/sha256/" + hashlib.sha256(data).hexdigest())
            ti.size = len(data)
            t.addfile(ti, io_bytes(data))
        for name, data in (("index.json", idx), ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            t.addfile(ti, io_bytes(data))
    for p in layers:
        os.unlink(p)
        os.unlink(p + ".gz")
    shutil.rmtree(d, ignore_errors=True)
    os.rename(tmp, d)
    return d


def io_bytes(data):
    import io
    return io.BytesIO(data)


def part_image(cfg):
    d = build_images(cfg)
    sizes = {n: os.path.getsize(os.path.join(d, n)) / (1 << 20)
             for n in ("docker.tar", "oci.tar", "flat.tar", "flat.tar.gz")}
    print(f"\n== image: pycinspect scan of container images of the corpus against tar -tf "
          f"(docker.tar {sizes['docker.tar']:.0f} MiB plain, oci.tar {sizes['oci.tar']:.0f} MiB "
          f"gzip; {cfg.runs} runs)")
    found = {}
    for image in ("docker.tar", "oci.tar"):
        summary = json_summary([BIN, "scan", "--json", os.path.join(d, image)])
        found[image] = (summary["caches"], summary["bytes"], summary["errors"]) if summary \
            else None
    if found["docker.tar"] != found["oci.tar"] or not found["oci.tar"] or found["oci.tar"][2]:
        print(f"  warning: the two images are not judged alike: {found}")
    else:
        print(f"  {found['oci.tar'][0]} caches in the final file system, "
              f"{found['oci.tar'][1] / (1 << 20):.1f} MiB, in both")
    tar = shutil.which("tar") or "tar"
    bsdtar = shutil.which("bsdtar")
    if not bsdtar:
        note("no bsdtar (Debian package libarchive-tools): libarchive's own floor not measured")
    for image, flat, topt in (("docker.tar", "flat.tar", "-tf"), ("oci.tar", "flat.tar.gz", "-tzf")):
        cmds = {f"tar {topt} {flat}": [tar, topt, os.path.join(d, flat)]}
        if bsdtar:
            cmds[f"bsdtar -tf {flat}"] = [bsdtar, "-tf", os.path.join(d, flat)]
        cmds[f"pycinspect scan {image}"] = [BIN, "scan", "-q", os.path.join(d, image)]
        cmds[f"pycinspect scan --json {image}"] = [BIN, "scan", "--json", os.path.join(d, image)]
        meds = alternate(cmds, cfg.runs)
        print_medians(meds, f"tar {topt} {flat}", "tar")
        ratio = meds[f"pycinspect scan --json {image}"] / meds[f"tar {topt} {flat}"]
        target(f"image scan ({image}) / tar {topt}", f"{ratio:.2f}x", "<= 1.5x", ratio <= 1.5)
        if bsdtar:
            floor = meds[f"bsdtar -tf {flat}"] / meds[f"tar {topt} {flat}"]
            note(f"bsdtar -tf {flat} takes {floor:.2f}x tar {topt}: reading through libarchive")
    for image in ("docker.tar", "oci.tar"):
        rss = max(max_rss_kib([BIN, "scan", "-q", os.path.join(d, image)])
                  for _ in range(cfg.memory_runs)) / 1024
        print(f"  peak RSS of scan {image}: {rss:.1f} MiB")
        target(f"image scan ({image}): peak RSS", f"{rss:.1f} MiB", "<= 256 MiB + decoders",
               rss <= 300)


# -- dumpmem: dump's memory on huge valid caches -------------------------------------------------

# A valid cache of n None in a tuple in co_consts: marshal.dumps of a compiled module with a
# tuple of 7 None widened in the bytes to n members (what marshal itself writes for n), behind a
# 16-byte header of the interpreter's magic.  Checked by loading a small one back.
MAKE_NONE_TUPLE = r"""
import importlib.util, marshal, re, struct, sys
n, path = int(sys.argv[1]), sys.argv[2]
code = compile("X = None\n", "big.py", "exec")
code = code.replace(co_consts=code.co_consts + ((None,) * 7,))
body = marshal.dumps(code)
m = list(re.finditer(rb"[\x29\xa9]\x07N{7}", body))
assert len(m) == 1, m
i = m[0].start()
head = importlib.util.MAGIC_NUMBER + b"\0" * 4 + struct.pack("<II", 1700000000, 9)
small = body[:i] + bytes([ord("(") | body[i] & 0x80]) + struct.pack("<i", 1000) + b"N" * 1000
assert len(marshal.loads(small + body[m[0].end():]).co_consts[-1]) == 1000
with open(path + ".tmp", "wb") as f:
    f.write(head + body[:i] + bytes([ord("(") | body[i] & 0x80]) + struct.pack("<i", n))
    for k in range(0, n, 1 << 20):
        f.write(b"N" * min(1 << 20, n - k))
    f.write(body[m[0].end():])
"""


def none_tuple_cache(path, n):
    """Make (once) the cache of n None at path; the interpreter that wrote it."""
    versions, names = pyenv_versions()
    py312 = [os.path.join(versions, v, "bin", "python") for v in names if v.startswith("3.12.")]
    python = py312[-1] if py312 else sys.executable
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        print(f"  writing {path} ({n:,} None) with {python} ...")
        subprocess.run([python, "-c", MAKE_NONE_TUPLE, str(n), path], check=True, env=py_env())
        os.rename(path + ".tmp", path)
    return python


def bad_magic_cache(path, size):
    """Make (once) a file of size bytes named like a cache, whose magic is no Python's."""
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "wb") as f:
        f.write(b"\xff\xfe\r\n" + bytes(12))
        for k in range(16, size, 1 << 20):
            f.write(b"N" * min(1 << 20, size - k))
    os.rename(path + ".tmp", path)


def eight_links(first, d):
    """d/d0/big.pyc (first) and seven hard links to it, d/d1 ... d/d7."""
    for i in range(1, 8):
        link = os.path.join(d, f"d{i}", "big.pyc")
        if not os.path.exists(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.link(first, link)


def time_and_rss(cmd):
    """Wall seconds and peak RSS in KiB of one run of cmd (wait4's rusage), and its status."""
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - t0, ru.ru_maxrss, p.returncode


def part_dumpmem(cfg):
    base = os.path.join(cfg.dir, "dumpmem")
    big = os.path.join(base, "200M", "big.pyc")
    python = none_tuple_cache(big, 200_000_000)
    jobs_dir = os.path.join(base, "8x250M")
    none_tuple_cache(os.path.join(jobs_dir, "d0", "big.pyc"), 250_000_000)
    eight_links(os.path.join(jobs_dir, "d0", "big.pyc"), jobs_dir)
    bad_dir = os.path.join(base, "8x250M-bad-magic")
    bad_magic_cache(os.path.join(bad_dir, "d0", "big.pyc"), 250_000_016)
    eight_links(os.path.join(bad_dir, "d0", "big.pyc"), bad_dir)
    runs = cfg.memory_runs
    print(f"\n== dumpmem: pycinspect dump on caches of a tuple of None (written by {python}; "
          f"median time and largest peak RSS of {runs} runs, after one to warm the cache)")
    cases = [  # name, command, exit status (1: a header dump cannot decode)
        ("dump, one 200 MB cache", [BIN, "dump", big], 0),
        ("dump --consts, one 200 MB cache", [BIN, "dump", "--consts", big], 0),
        ("dump --jobs 8, 8 caches of 250 MB", [BIN, "dump", "--jobs", "8", jobs_dir], 0),
        ("the same, 8 bad-magic files", [BIN, "dump", "--jobs", "8", bad_dir], 1),
    ]
    rss = {}
    for name, cmd, want in cases:
        _, _, rc = time_and_rss(cmd)
        if rc != want:
            print(f"  warning: {name} exited with status {rc}, not {want}")
        res = [time_and_rss(cmd) for _ in range(runs)]
        t = statistics.median(r[0] for r in res)
        rss[name] = max(r[1] for r in res) / 1024
        print(f"  {name:34s} {t:7.2f} s   peak RSS {rss[name]:8.1f} MiB")
    one = rss[cases[0][0]]
    target("dump 200 MB: peak RSS", f"{one:.1f} MiB", "<= 515 MiB", one <= 515)  # docs/dump.md
    alls = rss[cases[2][0]]
    target("dump --jobs 8, 8 x 250 MB: peak RSS", f"{alls:.1f} MiB", "<= 1027 MiB",
           alls <= 1027)  # docs/dump.md: 512 MiB for the threads, one cache's 515 MiB
    bad = rss[cases[3][0]]
    target("dump --jobs 8, 8 bad magic: peak RSS", f"{bad:.1f} MiB", "< 64 MiB (not held)",
           bad < 64)


# -- git: a repository of 100,000 tracked files -------------------------------------------------

GITREPO_VERSION = 1
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org",
           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
           "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": "/dev/null"}


def project_files(n):
    """The 200 files of project n: what a monorepo's Python project holds (sources, tests,
    data, templates, docs, images, scripts, translations)."""
    pkg = f"p{n:03d}/src/pkg{n:03d}"
    files = [f"p{n:03d}/README.md", f"p{n:03d}/pyproject.toml", f"p{n:03d}/setup.cfg",
             f"{pkg}/__init__.py"]
    files += [f"{pkg}/mod{i:02d}.py" for i in range(15)]
    files += [f"{pkg}/data/table{i:02d}.json" for i in range(12)]
    for k in range(4):
        files += [f"{pkg}/sub{k}/__init__.py"] + [f"{pkg}/sub{k}/m{i:02d}.py" for i in range(11)]
        files += [f"{pkg}/sub{k}/templates/t{i}.html" for i in range(6)]
    files += [f"p{n:03d}/tests/conftest.py"] + [f"p{n:03d}/tests/test_{i:02d}.py"
                                                 for i in range(19)]
    files += [f"p{n:03d}/tests/fixtures/f{i:02d}.txt" for i in range(15)]
    files += [f"p{n:03d}/docs/page{i:02d}.rst" for i in range(20)]
    files += [f"p{n:03d}/docs/_static/img{i:02d}.png" for i in range(15)]
    files += [f"p{n:03d}/scripts/tool{i}.py" for i in range(7)]
    files += [f"p{n:03d}/scripts/run{i}.sh" for i in range(5)]
    for lang in ("de", "fr", "ja"):
        files += [f"p{n:03d}/locale/{lang}/LC_MESSAGES/dom{i}.po" for i in range(5)]
    return files


def bench_gitrepo(d):
    """The repository (built once, reused while its marker matches): 100,000 tracked files and
    20 committed caches in 5 __pycache__ directories."""
    marker = os.path.join(d, ".git", "pycinspect-bench")
    want = f"gitrepo {GITREPO_VERSION}\n"
    if os.path.exists(marker) and open(marker).read() == want:
        return
    if os.path.lexists(d):
        shutil.rmtree(d)
    print(f"  building the git repository in {d} ...")
    tmp = d + ".tmp"
    if os.path.lexists(tmp):
        shutil.rmtree(tmp)
    env = dict(os.environ, **GIT_ENV)
    subprocess.run(["git", "init", "-q", tmp], check=True, env=env)
    n = 0
    for p in range(500):
        for f in project_files(p):
            path = os.path.join(tmp, f)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as out:
                out.write(f"# {f}\n")
            n += 1
    with open(os.path.join(tmp, ".gitignore"), "w") as out:
        out.write("__pycache__/\n*.py[cod]\n*$py.class\n")
    caches = []
    for p in range(0, 500, 100):  # the mistake: 4 caches in each of 5 __pycache__
        for i in range(4):
            caches.append(f"p{p:03d}/src/pkg{p:03d}/__pycache__/mod{i:02d}.cpython-312.pyc")
    for c in caches:
        path = os.path.join(tmp, c)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(b"\xcb\x0d\x0d\x0a" + bytes(12) + b"\xe3" + bytes(63))
    assert n + 1 + len(caches) == 100000 + 21, n  # the files, .gitignore, the caches
    subprocess.run(["git", "-C", tmp, "add", "-A"], check=True, env=env)
    subprocess.run(["git", "-C", tmp, "add", "-f"] + caches, check=True, env=env)
    subprocess.run(["git", "-C", tmp, "commit", "-q", "-m", "bench"], check=True, env=env)
    with open(os.path.join(tmp, ".git", "pycinspect-bench"), "w") as out:
        out.write(want)
    os.rename(tmp, d)
    # the work tree moved: let git see that nothing changed, as a user's repository would be
    subprocess.run(["git", "-C", d, "status", "--porcelain"], check=True, env=env,
                   stdout=subprocess.DEVNULL)


def alternate_cpu(cmds, runs):
    """As alternate(), with the CPU time too (timed_cpu): name -> (median wall, median CPU) in
    seconds."""
    for name, cmd in cmds.items():
        rc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
        if rc not in (0, 1):
            print(f"  warning: {name} exited with status {rc}")
    got = {name: ([], []) for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            wall, cpu = timed_cpu(cmd)
            got[name][0].append(wall)
            got[name][1].append(cpu)
    return {name: (statistics.median(w), statistics.median(c)) for name, (w, c) in got.items()}


def part_git(cfg):
    d = os.path.join(cfg.dir, "gitrepo-100k")
    bench_gitrepo(d)
    tracked = int(subprocess.run(["git", "-C", d, "ls-files"], capture_output=True,
                                 check=True).stdout.count(b"\n"))
    print(f"\n== git: {d} ({tracked} tracked files), {cfg.runs} alternating runs, warm cache,"
          " medians of wall and CPU (user + system) time")
    print("  load average at start: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    grep = "git -C " + d + " ls-files | grep -E '__pycache__|\\.py[co]$'"
    base = "git ls-files | grep -E ..."
    cmds = {
        base: ["sh", "-c", grep],
        "pycinspect git --check": [BIN, "git", "--check", d],
        "pycinspect git --staged --check": [BIN, "git", "--staged", "--check", d],
    }
    # the floor of each part (bench/probe_git.c, built by bench/run.sh): what git --check cannot
    # do without, one part at a time, through the same libgit2
    probe = os.path.join(os.path.dirname(BIN), "probe_git")
    if os.access(probe, os.X_OK):
        cmds["floor: libgit2 reads the index (probe_git index)"] = [probe, "index", d]
        cmds["floor: 4 ignore questions per dir (probe_git ignore)"] = [probe, "ignore", d]
        cmds["floor: the walk of the work tree (probe_git walk)"] = [probe, "walk", d]
    else:
        note(f"{probe} not built (cmake -DPYCI_GIT_PROBE=ON): the floors are not measured")
    found = subprocess.run(["sh", "-c", grep], capture_output=True).stdout.count(b"\n")
    summ = json_summary([BIN, "git", "--json", d])
    print(f"  tracked caches: {found} by git ls-files | grep, "
          f"{summ['tracked'] if summ else '?'} by pycinspect git; directories asked about: "
          f"{summ['directories'] if summ else '?'}")
    meds = alternate_cpu(cmds, cfg.runs)
    bw, bc = meds[base]
    for name, (w, c) in meds.items():
        print(f"  {name:54s} {w * 1000:7.1f} ms {w / bw:5.2f}x   CPU {c * 1000:7.1f} ms "
              f"{c / bc:5.2f}x")
    print("  load average at end: " + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    r = meds["pycinspect git --check"][0] / bw
    target("git --check / ls-files|grep (100k)", f"{r:.2f}x", "<= 1.00x", r <= 1.00)
    r = meds["pycinspect git --staged --check"][0] / bw
    note(f"git --staged --check (index and HEAD only) / ls-files|grep: {r:.2f}x (no target)")


# -- verify -------------------------------------------------------------------------------------

def levels_in(tree):
    """The optimisation levels of the caches under tree: 0, 1 (opt-1, 2.x .pyo), 2 (opt-2)."""
    levels = set()
    for _, _, files in os.walk(tree):
        for f in files:
            if f.endswith(".pyo") or ".opt-1." in f:
                levels.add(1)
            elif ".opt-2." in f:
                levels.add(2)
            elif f.endswith(".pyc") and ".opt-" not in f:
                levels.add(0)
    return sorted(levels)


def timed_cpu(cmd, env=None):
    """Wall and CPU seconds (user + system, children included) of cmd."""
    r0 = os.times()
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                   check=False)
    wall = time.perf_counter() - t0
    r1 = os.times()
    return wall, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)


def part_verify(cfg):
    corpus = cfg.corpus
    build_corpus(corpus)
    versions, names = pyenv_versions()
    plan, pythons = [], []
    for v in names:
        py = os.path.join(versions, v, "bin", "python")
        tree = os.path.join(corpus, v)
        if not os.access(py, os.X_OK) or not os.path.isdir(tree):
            continue
        info = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                              capture_output=True, text=True).stdout.strip()
        if not info:
            continue
        pythons += ["--python", f"{info}={py}"]
        plan.append((v, py, tree, tuple(map(int, info.split("."))), levels_in(tree)))
    n = count_pycs(corpus) + sum(1 for _, _, fs in os.walk(corpus) for f in fs
                                 if f.endswith(".pyo"))
    runs = int(os.environ.get("BENCH_VERIFY_RUNS", "1"))
    print(f"\n== verify: standard-library corpus {corpus} ({n} caches), {len(plan)} interpreters,"
          f" {runs} run(s) each, one after the other")
    scratch = os.path.join(cfg.dir, "verify-scratch")
    walls = {"verify": [], "compileall": []}
    cpus = {"verify": [], "compileall": []}
    for _ in range(runs):
        shutil.rmtree(scratch, ignore_errors=True)
        os.makedirs(scratch)
        # compileall: each tree, each level; < 3.8 (no PYTHONPYCACHEPREFIX) into a copy
        steps = []
        for v, py, tree, ver, levels in plan:
            target_tree = tree
            env = py_env()
            if ver >= (3, 8):
                env["PYTHONPYCACHEPREFIX"] = os.path.join(scratch, "prefix-" + v)
            else:
                target_tree = os.path.join(scratch, "copy-" + v)
                shutil.copytree(tree, target_tree, symlinks=True)
            for lvl in levels:
                flags = ["-" + "O" * lvl] if lvl else []
                steps.append(([py] + flags + ["-m", "compileall", "-f", "-q", target_tree], env))
        wall = cpu = 0.0
        for cmd, env in steps:
            w, c = timed_cpu(cmd, env)
            wall += w
            cpu += c
        walls["compileall"].append(wall)
        cpus["compileall"].append(cpu)
        w, c = timed_cpu([BIN, "verify", "--json"] + pythons + [corpus])
        walls["verify"].append(w)
        cpus["verify"].append(c)
    summary = json_summary([BIN, "verify", "--json"] + pythons + [corpus]) if runs else None
    shutil.rmtree(scratch, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in walls.items()}
    cpu = {k: statistics.median(v) for k, v in cpus.items()}
    for k in ("compileall", "verify"):
        print(f"  {k:36s} {med[k]:9.1f} s wall {cpu[k]:9.1f} s CPU")
    if summary:
        vs = summary.get("verify", {})
        note(f"verify: {vs.get('matches')} match, {vs.get('differs')} differ, "
             f"{vs.get('unverifiable')} unverifiable")
    r = med["verify"] / med["compileall"]
    target("verify / compileall -f -q (wall)", f"{r:.2f}x", "<= 1.20x", r <= 1.20)
    note(f"CPU: verify / compileall {cpu['verify'] / cpu['compileall']:.2f}x (verify runs one "
         f"worker per core and interpreter; compileall one process); load average now "
         + " ".join(f"{x:.2f}" for x in os.getloadavg()))


# -- main -----------------------------------------------------------------------------------------

def parse_args():
    ap = argparse.ArgumentParser(description="pycinspect benchmark (see bench/bench.py)")
    ap.add_argument("corpus", nargs="?", default=os.environ.get("BENCH_CORPUS"),
                    help="the standard-library corpus (default: BENCH_DIR/stdlib)")
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/var/tmp/pycinspect-bench"),
                    help="where corpora are built and reused (BENCH_DIR)")
    ap.add_argument("--parts", default=os.environ.get("BENCH_PARTS", ",".join(DEFAULT_PARTS)),
                    help="comma-separated: " + ",".join(ALL_PARTS) + " (BENCH_PARTS; default "
                    + ",".join(DEFAULT_PARTS) + ")")
    ap.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "7")),
                    help="alternating runs per comparison (BENCH_RUNS, default 7)")
    ap.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", "10k,100k,1M"),
                    help="synthetic tree sizes in caches (BENCH_SIZES)")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("BENCH_SEED", "1")),
                    help="seed of the synthetic trees (BENCH_SEED)")
    cfg = ap.parse_args()
    cfg.dir = os.path.abspath(cfg.dir)
    cfg.corpus = os.path.abspath(cfg.corpus or os.path.join(cfg.dir, "stdlib"))
    cfg.parts = [p.strip() for p in cfg.parts.split(",") if p.strip()]
    if os.environ.get("BENCH_CLEAN") == "0" and "clean" in cfg.parts:
        cfg.parts.remove("clean")
    bad = [p for p in cfg.parts if p not in ALL_PARTS]
    if bad:
        ap.error(f"unknown part(s) {','.join(bad)}; parts: {','.join(ALL_PARTS)}")
    cfg.sizes = sorted({gen_synthetic.parse_count(s) for s in cfg.sizes.split(",") if s.strip()})
    cfg.clean_runs = int(os.environ.get("BENCH_CLEAN_RUNS", str(min(cfg.runs, 5))))
    cfg.memory_runs = int(os.environ.get("BENCH_MEMORY_RUNS", "3"))
    if cfg.runs < 1 or cfg.clean_runs < 1 or cfg.memory_runs < 1:
        ap.error("runs must be at least 1")
    return cfg


def main():
    cfg = parse_args()
    os.makedirs(cfg.dir, exist_ok=True)
    t0 = time.perf_counter()
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.strip()
    u = os.uname()
    print(f"pycinspect: {BIN} ({version})")
    print(f"machine: {os.cpu_count()} cores, {u.sysname} {u.release}; load average at start "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))
    print(f"parts: {','.join(cfg.parts)}; runs: {cfg.runs}; corpora in {cfg.dir}")
    for part in ALL_PARTS:  # in this order, whatever the order given
        if part in cfg.parts:
            globals()["part_" + part](cfg)
    if TARGET_ROWS:
        print("\n== the issue's targets, as measured in this run")
        for what, measured, goal, verdict in TARGET_ROWS:
            print(f"  {what:42s} {measured:>14s}   {goal:>18s}   {verdict}")
    print(f"\ntotal time {time.perf_counter() - t0:.0f} s; load average at end "
          + " ".join(f"{x:.2f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()
