"""`pycinspect clean --dry-run` says what the real run will do, failures included (issue 11,
/work/spec-clean.md points 6, 7 and 9), as root and as nobody:

- point 6: a sticky (1777) __pycache__ holding root's caches, cleaned by nobody; an immutable
  (chattr +i) or append-only (+a) cache or __pycache__; a read-only bind mount.  The dry run
  and then the real run, on the same tree: the same records but would-remove for removed, the
  same summary but dry_run, the same stderr, the same exit status; and the real run true
  against the tree (cleantruth.check_log).
- point 7: a file bind-mounted over a cache's name is not judged nor removed, with or without
  --cross-mounts: an error record "mount point, not judged" (errno 0), counted in
  mounts_not_crossed, exit status unchanged; the mounted file and the file under it untouched.
- point 9: a source that exists but cannot be stat'ed (a symlink into a root-only directory,
  for nobody; a symlink loop, for anyone) makes its cache invalid ("source cannot be read",
  not "source is gone"): --orphaned leaves it, --unused keeps it with "source exists but cannot be
  checked: ..." and exits 1.  The caches are written by a real CPython 3.12 (py_compile).

Mounts are made in a private mount namespace (cleantruth.py); chattr needs a filesystem that
has it (ext4, xfs, btrfs, tmpfs since Linux 6.0): where the temporary directory lacks it, the
attribute tests say so and pass.
"""
import glob
import os
import shutil
import subprocess

from clitest import (CODE_BODY, TempDirCase, env_c, header_312, main, make_cache, run,
                     run_as_nobody, snapshot, snapshot_diff, write_file)
from cleantruth import check_log, json_lines, private_mount_namespace, tree_paths

T = ["-t", "3.12"]
EPERM = "Operation not permitted"


def stale_tree(root):
    """pkg/: three stale caches and an orphan in one __pycache__; other/: one stale cache.
    Returns the cache paths of pkg/__pycache__ by name."""
    caches = {}
    for name in ("a", "b", "c"):
        src = os.path.join(root, "pkg", name + ".py")
        write_file(src)
        caches[name] = make_cache(src, fresh=False)
    caches["gone"] = os.path.join(root, "pkg", "__pycache__", "gone.cpython-312.pyc")
    write_file(caches["gone"], header_312(0, 0) + CODE_BODY)
    src = os.path.join(root, "other", "o.py")
    write_file(src)
    make_cache(src, fresh=False)
    return caches


class PredictCase(TempDirCase):
    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)  # nobody walks in
        self.attrs = []   # paths given chattr attributes, cleared before the tree is removed
        self.mounts = []  # unmounted before the tree is removed

    def tearDown(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL, check=False)
        for p in self.attrs:
            subprocess.run(["chattr", "-i", "-a", p], stderr=subprocess.DEVNULL, check=False)
        super().tearDown()

    def chattr(self, flag, path):
        p = subprocess.run(["chattr", flag, path], stderr=subprocess.PIPE)
        self.attrs.append(path)
        self.assertEqual(p.returncode, 0, "chattr %s %s: %s" % (flag, path, p.stderr))

    def chattr_supported(self):
        """Whether the temporary directory's filesystem keeps +i and +a (printed when not)."""
        probe = os.path.join(self.tmp, "probe")
        write_file(probe)
        self.attrs.append(probe)
        for flag in ("+i", "+a"):
            p = subprocess.run(["chattr", flag, probe], stderr=subprocess.PIPE)
            out = subprocess.run(["lsattr", "-d", probe], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE).stdout.decode()
            subprocess.run(["chattr", "-" + flag[1], probe], check=False)
            if p.returncode != 0 or not out or flag[1] not in out.split()[0]:
                fstype = subprocess.run(["stat", "-f", "-c", "%T", self.tmp],
                                        stdout=subprocess.PIPE).stdout.decode().strip()
                print("  skipped: %s (%s) does not keep chattr %s: %s" % (
                    self.tmp, fstype, flag, p.stderr.decode().strip() or out.strip()))
                return False
        return True

    def mount(self, *args):
        target = args[-1]
        p = subprocess.run(["mount"] + list(args), stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, "mount %r: %s" % (args, p.stderr))
        self.mounts.append(target)

    def umount(self, target):
        subprocess.run(["umount", target], check=True)
        self.mounts.remove(target)

    def give_to_nobody(self, path):
        subprocess.run(["chown", "-R", "-h", "65534:65534", path], check=True)

    def clean(self, args, nobody, json_mode=True):
        return (run_as_nobody if nobody else run)(
            ["clean"] + (["--json"] if json_mode else []) + list(args), cwd=self.tmp)

    def twin(self, name, attrs=True):
        """A copy of self.tmp/name at name + "-text", with the same chattr attributes."""
        src, dst = os.path.join(self.tmp, name), os.path.join(self.tmp, name + "-text")
        subprocess.run(["cp", "-a", src, dst], check=True)
        for p in list(self.attrs) if attrs else []:
            if p.startswith(src + "/"):
                out = subprocess.run(["lsattr", "-d", p], stdout=subprocess.PIPE).stdout.decode()
                for letter in "ia":
                    if letter in out.split()[0]:
                        self.chattr("+" + letter, dst + p[len(src):])
        return name + "-text"

    def dry_then_real(self, name, args, nobody, rc, text_name=None):
        """clean --dry-run, then the real run, on self.tmp/name in JSON and on text_name
        (default: a twin made now) in text: they must agree, and the real run must be true.
        Returns ({path: record} of the real JSON run's pyc and dir records, its error records,
        its summary, the real text run's CompletedProcess)."""
        who = "nobody" if nobody else "root"
        if text_name is None:
            text_name = self.twin(name)
        out = []
        for tree, json_mode in ((name, True), (text_name, False)):
            snap = snapshot(os.path.join(self.tmp, tree))
            before = tree_paths(self.tmp, tree)
            pd = self.clean(["-n"] + list(args) + [tree], nobody, json_mode)
            self.assertEqual(snapshot_diff(snap, snapshot(os.path.join(self.tmp, tree))),
                             ([], [], []), "the dry run changed the tree")
            pr = self.clean(list(args) + [tree], nobody, json_mode)
            after = tree_paths(self.tmp, tree)
            what = "%s, %s, as %s" % (" ".join(args), "json" if json_mode else "text", who)
            self.assertEqual(pr.returncode, rc, "%s: the real run exits %d; stderr: %s" % (
                what, pr.returncode, pr.stderr.decode("utf-8", "replace")))
            self.assertEqual(pd.returncode, pr.returncode, "%s: the dry run exits %d, the real "
                             "run %d" % (what, pd.returncode, pr.returncode))
            self.assertEqual(pd.stderr, pr.stderr, "%s: stderr differs" % what)
            if json_mode:
                rd, rr = json_lines(pd.stdout), json_lines(pr.stdout)
                self.assertEqual([dict(r, action="removed") if r.get("action") == "would-remove"
                                  else r for r in rd[:-1]], rr[:-1],
                                 "%s: the dry run's records are not the real run's" % what)
                self.assertNotIn("would-remove", [r.get("action") for r in rr])
                sd, sr = dict(rd[-1]), dict(rr[-1])
                self.assertEqual((sd.pop("dry_run"), sr.pop("dry_run")), (True, False))
                self.assertEqual(sd, sr, "%s: the summaries differ" % what)
                self.assertNotIn("interrupted", sr, "only an interrupted run says so")
                check_log(self, before, after, rr[:-1], summary=rr[-1], what=what)
                out += [{r["path"]: r for r in rr if r["type"] in ("pyc", "dir")},
                        [r for r in rr if r["type"] == "error"], rr[-1]]
            else:
                self.assertEqual(pd.stdout.replace(b"would remove", b"removed"), pr.stdout,
                                 "%s: the dry run's lines are not the real run's" % what)
                self.assertNotIn(b"would remove", pr.stdout)
                out.append(pr)
        return out

    def assert_failed(self, recs, paths, error):
        for p in paths:
            self.assertIn(p, recs, "no record for %s" % p)
            self.assertEqual((recs[p]["action"], recs[p].get("error")), ("failed", error), p)

    def assert_removed(self, recs, paths):
        for p in paths:
            self.assertIn(p, recs, "no record for %s" % p)
            self.assertEqual(recs[p]["action"], "removed", p)


class Permissions(PredictCase):
    def test_sticky_directory_of_another_user(self):
        for nobody in (True, False):
            with self.subTest(as_nobody=nobody):
                name = "sticky-%s" % ("nobody" if nobody else "root")
                root = os.path.join(self.tmp, name)
                caches = stale_tree(root)
                pc = os.path.join(root, "pkg", "__pycache__")
                os.chmod(pc, 0o1777)
                # one cache in it is nobody's own: that one nobody may remove
                src = os.path.join(root, "pkg", "mine.py")
                write_file(src)
                mine = make_cache(src, fresh=False)
                os.chown(mine, 65534, 65534)
                self.give_to_nobody(os.path.join(root, "other"))
                rel = {k: os.path.relpath(v, self.tmp) for k, v in caches.items()}
                recs, _, _, text = self.dry_then_real(name, ["--unused"] + T, nobody,
                                                      rc=1 if nobody else 0)
                self.assert_removed(recs, [os.path.relpath(mine, self.tmp),
                                           name + "/other/__pycache__/o.cpython-312.pyc",
                                           name + "/other/__pycache__"])
                if nobody:
                    self.assert_failed(recs, rel.values(), EPERM)
                    err = text.stderr.decode()
                    for p in rel.values():
                        self.assertIn("pycinspect: cannot remove '%s-text%s': %s\n" % (
                            name, p[len(name):], EPERM), err)
                else:
                    self.assert_removed(recs, list(rel.values()) + [name + "/pkg/__pycache__"])

    def attribute_case(self, flag, on_dir):
        if not self.chattr_supported():
            return
        for nobody in (False, True):
            with self.subTest(attribute=flag, on_pycache=on_dir, as_nobody=nobody):
                name = "attr%s-%s-%s" % (flag[1], "dir" if on_dir else "file",
                                         "nobody" if nobody else "root")
                root = os.path.join(self.tmp, name)
                caches = stale_tree(root)
                if nobody:
                    self.give_to_nobody(root)
                pc = os.path.join(root, "pkg", "__pycache__")
                self.chattr(flag, pc if on_dir else caches["a"])
                rel = {k: os.path.relpath(v, self.tmp) for k, v in caches.items()}
                recs, _, summary, _ = self.dry_then_real(name, ["--unused"] + T, nobody, rc=1)
                blocked = list(rel.values()) if on_dir else [rel["a"]]
                self.assert_failed(recs, blocked, EPERM)
                self.assert_removed(recs, [p for p in rel.values() if p not in blocked] +
                                    [name + "/other/__pycache__/o.cpython-312.pyc",
                                     name + "/other/__pycache__"])
                self.assertNotEqual(recs.get(name + "/pkg/__pycache__", {}).get("action"),
                                    "removed")
                self.assertEqual(summary["failed"], len(blocked))

    def test_immutable_cache(self):
        self.attribute_case("+i", on_dir=False)

    def test_append_only_cache(self):
        self.attribute_case("+a", on_dir=False)

    def test_immutable_pycache(self):
        self.attribute_case("+i", on_dir=True)

    def test_append_only_pycache(self):
        self.attribute_case("+a", on_dir=True)

    def test_read_only_bind_mount(self):
        for nobody in (False, True):
            with self.subTest(as_nobody=nobody):
                name = "ro-%s" % ("nobody" if nobody else "root")
                root = os.path.join(self.tmp, name)
                caches = stale_tree(root)
                if nobody:
                    self.give_to_nobody(root)
                text_name = self.twin(name)
                # each tree becomes a read-only mount of itself (the PATH is the mount's root,
                # so it is walked; a mount inside would not be crossed)
                for tree in (name, text_name):
                    path = os.path.join(self.tmp, tree)
                    self.mount("--bind", path, path)
                    p = subprocess.run(["mount", "-o", "remount,bind,ro", path],
                                       stderr=subprocess.PIPE)
                    self.assertEqual(p.returncode, 0, p.stderr)
                recs, _, summary, text = self.dry_then_real(name, ["--unused"] + T, nobody, rc=1,
                                                            text_name=text_name)
                every = [os.path.relpath(v, self.tmp) for v in caches.values()] + \
                    [name + "/other/__pycache__/o.cpython-312.pyc"]
                self.assert_failed(recs, every, "Read-only file system")
                self.assertEqual((summary["files"], summary["failed"]), (0, len(every)))
                self.assertIn(b"Read-only file system", text.stderr)


class MountedFile(PredictCase):
    def test_file_mounted_over_a_cache_name(self):
        outside = os.path.join(self.tmp, "outside.pyc")
        write_file(outside, b"a file of somebody else's, mounted here\n")
        for extra in ([], ["--cross-mounts"]):
            with self.subTest(options=extra):
                name = "mnt%d" % len(extra)
                root = os.path.join(self.tmp, name)
                caches = stale_tree(root)
                text_name = self.twin(name)
                victims = [os.path.relpath(caches["b"], self.tmp),
                           os.path.join(text_name, os.path.relpath(caches["b"], root))]
                for v in victims:
                    self.mount("--bind", outside, os.path.join(self.tmp, v))
                snap_out = snapshot(outside)
                recs, errors, summary, text = self.dry_then_real(
                    name, ["--unused"] + extra + T, False, rc=0, text_name=text_name)
                self.assertNotIn(victims[0], recs, "a mount point was judged")
                self.assertEqual(errors, [{"type": "error", "path": victims[0],
                                           "message": "mount point, not judged", "errno": 0}])
                self.assertEqual((summary["mounts_not_crossed"], summary["errors"]), (1, 0))
                self.assert_removed(recs, [os.path.relpath(caches[k], self.tmp)
                                           for k in ("a", "c", "gone")])
                self.assertNotEqual(recs.get(name + "/pkg/__pycache__", {}).get("action"),
                                    "removed")
                self.assertIn(("pycinspect: '%s': mount point, not judged\n" % victims[1])
                              .encode(), text.stderr)
                # scan says the same, and judges nothing there either
                p = run(["scan", "--json", "--all"] + extra + T + [name], cwd=self.tmp)
                objs = json_lines(p.stdout)
                self.assertNotIn(victims[0], [o.get("path") for o in objs
                                              if o["type"] == "pyc"])
                self.assertIn({"type": "error", "path": victims[0],
                               "message": "mount point, not judged", "errno": 0}, objs)
                p = run(["scan", "--all"] + extra + T + [name], cwd=self.tmp)
                self.assertIn(("pycinspect: '%s': mount point, not judged\n" % victims[0])
                              .encode(), p.stderr)
                # the mounted file is untouched, and so is the cache under it
                self.assertEqual(snapshot_diff(snap_out, snapshot(outside)), ([], [], []))
                for v in victims:
                    with open(os.path.join(self.tmp, v), "rb") as f:
                        self.assertEqual(f.read(), b"a file of somebody else's, mounted here\n")
                    self.umount(os.path.join(self.tmp, v))
                    with open(os.path.join(self.tmp, v), "rb") as f:
                        self.assertEqual(f.read()[:4], header_312(0, 0)[:4], "the cache under "
                                         "the mount changed")


def python312():
    """A real CPython 3.12, or None."""
    home = os.path.expanduser("~")
    found = sorted(glob.glob(os.path.join(os.environ.get("PYENV_ROOT", home + "/.pyenv"),
                                          "versions", "3.12*", "bin", "python")))
    found += [p for p in [shutil.which("python3.12")] if p]
    return found[0] if found else None


class UnreadableSource(PredictCase):
    """Spec 9: the source exists, but stat fails (EACCES for nobody, ELOOP for anyone)."""

    def tree(self, name):
        """name/: m.py and l.py symlinks into self.tmp/secret (root, 0700) with their caches
        (m in __pycache__, l legacy l.pyc) written by CPython 3.12 through the symlinks; loop.py
        a symlink to itself, with a cache; gone.py a dangling symlink, with a cache (its source
        is gone: the control).  Owned by nobody, but for the secret.  Returns the caches."""
        secret = os.path.join(self.tmp, "secret")
        root = os.path.join(self.tmp, name)
        os.makedirs(root)
        if not os.path.isdir(secret):
            os.mkdir(secret, 0o700)
            for n in ("m", "l"):
                write_file(os.path.join(secret, n + ".py"), b"def f():\n    return %r\n" % n)
        for n in ("m", "l"):
            os.symlink(os.path.join(secret, n + ".py"), os.path.join(root, n + ".py"))
        caches = {"m": os.path.join(root, "__pycache__", "m.cpython-312.pyc"),
                  "l": os.path.join(root, "l.pyc")}
        py = python312()
        if py:
            env = dict(env_c())
            for k in ("PYTHONDONTWRITEBYTECODE", "SOURCE_DATE_EPOCH", "PYTHONPYCACHEPREFIX"):
                env.pop(k, None)
            for n in ("m", "l"):
                subprocess.run([py, "-c", "import py_compile, sys; py_compile.compile(sys.argv[1], "
                                "cfile=sys.argv[2], doraise=True)",
                                os.path.join(root, n + ".py"), caches[n]], check=True, env=env)
        else:
            print("  no CPython 3.12 found: the caches are made by hand")
            make_cache(os.path.join(root, "m.py"))
            st = os.stat(os.path.join(root, "l.py"))
            write_file(caches["l"], header_312(int(st.st_mtime), st.st_size) + CODE_BODY)
        os.symlink("loop.py", os.path.join(root, "loop.py"))
        caches["loop"] = os.path.join(root, "__pycache__", "loop.cpython-312.pyc")
        write_file(caches["loop"], header_312(0, 0) + CODE_BODY)
        os.symlink("nowhere.py", os.path.join(root, "gone.py"))
        caches["gone"] = os.path.join(root, "__pycache__", "gone.cpython-312.pyc")
        write_file(caches["gone"], header_312(0, 0) + CODE_BODY)
        self.give_to_nobody(root)
        return {k: os.path.relpath(v, self.tmp) for k, v in caches.items()}

    def test_scan_says_invalid_not_orphaned(self):
        caches = self.tree("scan")

        def byp(p):
            return {o["path"]: o for o in json_lines(p.stdout) if o["type"] == "pyc"}
        # root reads the secret: the caches are fresh (CPython's own, through the symlinks)
        p = run(["scan", "--json", "--all"] + T + ["scan"], cwd=self.tmp)
        recs = byp(p)
        self.assertEqual((recs[caches["m"]]["status"], recs[caches["l"]]["status"]),
                         ("fresh", "fresh"), "the caches are not CPython 3.12's fresh ones")
        p = run_as_nobody(["scan", "--json", "--all"] + T + ["scan"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        recs = byp(p)
        for k in ("m", "l", "loop"):
            r = recs[caches[k]]
            self.assertEqual(r["status"], "invalid", r)
            self.assertIn("source cannot be read", r["reasons"], r)
            self.assertNotIn("source is gone", r["reasons"], r)
        self.assertEqual(recs[caches["gone"]]["status"], "orphaned")
        self.assertIn("source is gone", recs[caches["gone"]]["reasons"])

    def test_orphaned_leaves_them(self):
        caches = self.tree("orph")
        recs, _, summary, text = self.dry_then_real("orph", ["--orphaned"] + T, True, rc=0)
        self.assertEqual(sorted(p for p, r in recs.items() if r["type"] == "pyc"),
                         [caches["gone"]])
        self.assert_removed(recs, [caches["gone"]])
        self.assertEqual(recs["orph/__pycache__"]["action"], "kept")
        for k in ("m", "l", "loop"):
            self.assertTrue(os.path.exists(os.path.join(self.tmp, caches[k])), k)
        self.assertEqual(text.stderr, b"")
        # --sourceless does not take the legacy one either: it is invalid, not sourceless
        caches = self.tree("srcless")
        recs, _, _, _ = self.dry_then_real("srcless", ["--sourceless"] + T, True, rc=0)
        self.assertEqual(recs, {}, "the legacy cache of an unreadable source was selected")

    def test_all_keeps_them_and_says_why(self):
        for sel in ("--unused", "--invalid"):
            with self.subTest(selector=sel):
                name = "all" + sel[2:]
                caches = self.tree(name)
                recs, _, summary, text = self.dry_then_real(name, [sel] + T, True, rc=1)
                why = {"m": "Permission denied", "l": "Permission denied",
                       "loop": "Too many levels of symbolic links"}
                for k, err in why.items():
                    r = recs.get(caches[k])
                    self.assertIsNotNone(r, "no record for %s" % k)
                    self.assertEqual(r["action"], "kept", r)
                    self.assertEqual(r["error"], "source exists but cannot be checked: " + err, r)
                    self.assertTrue(os.path.exists(os.path.join(self.tmp, caches[k])), k)
                    self.assertIn(("pycinspect: kept '%s': source exists but cannot be checked: "
                                   "%s\n" % (os.path.join(name + "-text", os.path.relpath(
                                       caches[k], name)), err)).encode(), text.stderr)
                self.assertEqual(summary["kept"], 3)
                if sel == "--unused":
                    self.assert_removed(recs, [caches["gone"]])


if __name__ == "__main__":
    private_mount_namespace()
    main()
