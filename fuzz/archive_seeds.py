#!/usr/bin/env python3
"""Seeds for fuzz_archive: small archives of every kind pycinspect reads, holding real caches
from fixtures/ beside their sources.  Usage: archive_seeds.py FIXTURES_DIR OUT_DIR.  Standard
library only; the same bytes every run (fixed times)."""
import bz2
import gzip
import hashlib
import io
import json
import lzma
import os
import sys
import tarfile
import zipfile

T = (2023, 5, 6, 7, 8, 10)


def tar(entries, mode="w"):
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode=mode, format=tarfile.PAX_FORMAT) as t:
        for name, data, kind in entries:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1683360490
            if kind == "dir":
                ti.type = tarfile.DIRTYPE
                t.addfile(ti)
            elif kind == "link":
                ti.type = tarfile.SYMTYPE
                ti.linkname = data.decode()
                t.addfile(ti)
            else:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
    return bio.getvalue()


def zipped(entries):
    bio = io.BytesIO()
    with zipfile.ZipFile(bio, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, T), data)
    return bio.getvalue()


def digest(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def main():
    fixtures, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    tree = os.path.join(fixtures, "tree")
    src = open(os.path.join(tree, "mod_ts.py"), "rb").read()
    caches = sorted(f for f in os.listdir(os.path.join(tree, "__pycache__"))
                    if f.startswith("mod_ts."))[:3]
    pycs = [(f, open(os.path.join(tree, "__pycache__", f), "rb").read()) for f in caches]
    legacy = open(os.path.join(tree, "mod27.pyc"), "rb").read()
    files = [("pkg/mod_ts.py", src), ("pkg/mod27.py", src), ("pkg/mod27.pyc", legacy)]
    files += [("pkg/__pycache__/" + f, d) for f, d in pycs]
    seeds = {}
    seeds["app.zip"] = zipped(files)
    seeds["app.pyz"] = b"#!/usr/bin/env python3\n" + zipped(files)
    seeds["w-1.0-py3-none-any.whl"] = zipped(files + [("w-1.0.dist-info/WHEEL",
                                                       b"Wheel-Version: 1.0\n")])
    plain = tar([("p-1.0/", b"", "dir"), ("p-1.0/PKG-INFO", b"Name: p\n", "file")] +
                [("p-1.0/" + n, d, "file") for n, d in files] +
                [("p-1.0/link.py", b"pkg/mod_ts.py", "link")])
    seeds["sdist.tar.gz"] = gzip.compress(plain, mtime=0)
    seeds["sdist.tar.bz2"] = bz2.compress(plain)
    seeds["sdist.tar.xz"] = lzma.compress(plain)
    l1 = gzip.compress(tar([("usr/lib/" + n, d, "file") for n, d in files]), mtime=0)
    l2 = gzip.compress(tar([("usr/lib/pkg/.wh.mod_ts.py", b"", "file"),
                            ("usr/lib/pkg/__pycache__/.wh..wh..opq", b"", "file")]), mtime=0)
    cfg = b"{}"
    man = json.dumps({"schemaVersion": 2, "config": {"digest": digest(cfg)},
                      "layers": [{"digest": digest(x)} for x in (l1, l2)]}).encode()
    idx = json.dumps({"schemaVersion": 2, "manifests": [{"digest": digest(man)}]}).encode()
    seeds["oci.tar"] = tar([("blobs/sha256/" + digest(b)[7:], b, "file")
                            for b in (l1, l2, cfg, man)] + [("index.json", idx, "file")])
    ids = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(2)]
    dman = json.dumps([{"Config": "c.json", "RepoTags": ["t:1"],
                        "Layers": [i + "/layer.tar" for i in ids]}]).encode()
    seeds["docker.tar"] = tar([(ids[0] + "/layer.tar", gzip.decompress(l1), "file"),
                               (ids[1] + "/layer.tar", gzip.decompress(l2), "file"),
                               ("manifest.json", dman, "file")])
    for name, data in sorted(seeds.items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
    print("%d seeds in %s" % (len(seeds), out))


if __name__ == "__main__":
    main()
