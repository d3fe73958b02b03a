#!/usr/bin/env python3
"""The "few lines of Python" users write to find stale caches, for bench/run.sh to time.

    python3 bench/header_script.py DIR

Walks DIR with os.walk; for each .pyc reads the first 16 bytes, stats its source and prints the
ones that are stale (timestamp header of 3.7+ not matching int(mtime) and size) or orphaned.
It does much less than `pycinspect scan` (no version rules, no hash-based check, no validation of
the header), which makes it a lower bound for a Python script.
"""
import os
import sys


def main(top):
    out = []
    for d, _dirs, files in os.walk(top):
        in_cache = os.path.basename(d) == "__pycache__"
        for f in files:
            if not f.endswith(".pyc"):
                continue
            path = os.path.join(d, f)
            with open(path, "rb") as fh:
                head = fh.read(16)
            if in_cache:
                src = os.path.join(os.path.dirname(d), f.split(".", 1)[0] + ".py")
            else:
                src = path[:-1]
            try:
                st = os.stat(src)
            except OSError:
                out.append("orphaned " + path)
                continue
            if len(head) < 16 or int.from_bytes(head[4:8], "little") & 1:
                continue  # short or hash-based: not checked here
            mtime = int.from_bytes(head[8:12], "little")
            size = int.from_bytes(head[12:16], "little")
            if mtime != int(st.st_mtime) & 0xFFFFFFFF or size != st.st_size & 0xFFFFFFFF:
                out.append("stale " + path)
    sys.stdout.buffer.write(os.fsencode("".join(line + "\n" for line in out)))


if __name__ == "__main__":
    for arg in sys.argv[1:] or ["."]:
        main(arg)
