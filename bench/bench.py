#!/usr/bin/env python3
"""Benchmark pycinspect against the tools users run today, on the same warm tree.

    bench/run.sh [CORPUS_DIR]

Builds (once) a corpus from the standard-library trees of every interpreter in
${PYENV_ROOT:-~/.pyenv}/versions (copied with their caches, about 55,000 pycs on the development
machine), then runs each command alternately several times on a warm cache and prints medians
and ratios.  Only measured figures are printed; nothing is extrapolated.
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


if __name__ == "__main__":
    main()
