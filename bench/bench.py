#!/usr/bin/env python3
"""Benchmark pycinspect against the tools users run today, on the same warm tree.

    bench/run.sh [CORPUS_DIR]

Builds (once) a corpus from the standard-library trees of every interpreter in
${PYENV_ROOT:-~/.pyenv}/versions (copied with their caches, about 55,000 pycs on the development
machine), then runs each command alternately several times on a warm cache and prints medians
and ratios: scan against find, then clean --all against find -delete on fresh copies of a
variant of the corpus whose caches are all stale (BENCH_CLEAN=0 skips that part).  Only
measured figures are printed; nothing is extrapolated.
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("PYCI_BIN", os.path.join(ROOT, "build", "pycinspect"))
RUNS = int(os.environ.get("BENCH_RUNS", "7"))


def build_corpus(corpus):
    if os.path.isdir(corpus):
        return
    pyenv = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    versions = os.path.join(pyenv, "versions")
    os.makedirs(corpus + ".tmp", exist_ok=True)
    for v in sorted(os.listdir(versions)):
        lib = os.path.join(versions, v, "lib")
        if os.path.isdir(lib):
            shutil.copytree(lib, os.path.join(corpus + ".tmp", v), symlinks=True)
    os.rename(corpus + ".tmp", corpus)


def count_pycs(corpus):
    n = 0
    for _, _, files in os.walk(corpus):
        n += sum(1 for f in files if f.endswith(".pyc"))
    return n


def timed(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - t0


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


def bench_clean(corpus, runs):
    """clean --all against find -delete, each on a fresh hard-link copy of the stale corpus
    (cp -al: the copy is not timed; removing a link costs what removing a file costs)."""
    stale = make_stale(corpus)
    work = stale + "-run"
    cmds = {
        "find -name '*.pyc' -delete": lambda d: ["find", d, "-name", "*.pyc", "-delete"],
        "pycinspect clean --all": lambda d: [BIN, "clean", "--all", d],
    }
    times = {name: [] for name in cmds}
    for _ in range(runs):
        for name, cmd in cmds.items():
            subprocess.run(["rm", "-rf", work], check=True)
            subprocess.run(["cp", "-al", stale, work], check=True)
            subprocess.run(["sync"], check=False)
            times[name].append(timed(cmd(work)))
            left = sum(1 for _, _, fs in os.walk(work) for f in fs if f.endswith(".pyc"))
            if left:
                print(f"  warning: {name} left {left} pycs")
    subprocess.run(["rm", "-rf", work], check=True)
    base = statistics.median(times["find -name '*.pyc' -delete"])
    print(f"clean, all caches stale ({stale}), {runs} alternating runs on fresh copies, medians")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:32s} {med * 1000:8.1f} ms   {med / base:5.2f}x find -delete")


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench", "corpus", "stdlib")
    build_corpus(corpus)
    n = count_pycs(corpus)
    cmds = {
        "find -name '*.pyc'": ["find", corpus, "-name", "*.pyc"],
        "pycinspect scan": [BIN, "scan", corpus],
        "pycinspect scan --all --json": [BIN, "scan", "--all", "--json", corpus],
    }
    if shutil.which("fdfind"):
        cmds["fdfind -u -e pyc"] = ["fdfind", "-u", "-e", "pyc", ".", corpus]
    for cmd in cmds.values():  # warm the caches
        timed(cmd)
    times = {name: [] for name in cmds}
    for _ in range(RUNS):
        for name, cmd in cmds.items():
            times[name].append(timed(cmd))
    base = statistics.median(times["find -name '*.pyc'"])
    print(f"corpus: {corpus} ({n} pycs), {RUNS} alternating runs, warm cache, medians")
    print(f"machine: {os.cpu_count()} cores, {os.uname().sysname} {os.uname().release}")
    for name, ts in times.items():
        med = statistics.median(ts)
        print(f"  {name:32s} {med * 1000:8.1f} ms   {med / base:5.2f}x find")
    if os.environ.get("BENCH_CLEAN", "1") != "0":
        bench_clean(corpus, int(os.environ.get("BENCH_CLEAN_RUNS", "5")))


if __name__ == "__main__":
    main()
