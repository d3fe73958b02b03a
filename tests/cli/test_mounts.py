"""scan does not cross mount points unless --cross-mounts, bind mounts of the same filesystem
included (the mount id from statx, not only st_dev).  Needs root to mount: CI runs as root, so a
mount that cannot be made is a failure, not a skip."""
import os
import subprocess

from clitest import TempDirCase, main, module, run, scan_json


class Mounts(TempDirCase):
    def mount(self, *args):
        p = subprocess.run(["mount"] + list(args), stderr=subprocess.PIPE)
        if p.returncode != 0:
            self.fail("cannot mount (%s): this test needs root" % p.stderr.decode().strip())
        self.addCleanup(subprocess.run, ["umount", "-l", args[-1]], check=False)

    def tree(self):
        top, other = os.path.join(self.tmp, "top"), os.path.join(self.tmp, "other")
        module(top, "here.py")
        module(other, "there.py")
        os.makedirs(os.path.join(top, "sub"))
        return top, other

    def test_bind_mount_of_the_same_filesystem_is_not_crossed(self):
        top, other = self.tree()
        self.mount("--bind", other, os.path.join(top, "sub"))
        self.assertEqual(os.stat(other).st_dev, os.stat(os.path.join(top, "sub")).st_dev)
        pycs, errors, summary, p = scan_json(["--all", "-t", "3.12", top])
        self.assertEqual([os.path.basename(r["path"]) for r in pycs], ["here.cpython-312.pyc"])
        self.assertEqual(summary["mounts_not_crossed"], 1)
        self.assertEqual(summary["errors"], 0)
        self.assertIn(b"mount point not crossed", p.stderr)
        self.assertEqual([e["path"] for e in errors], [os.path.join(top, "sub")])

    def test_cross_mounts_descends(self):
        top, other = self.tree()
        self.mount("--bind", other, os.path.join(top, "sub"))
        pycs, _, summary, _ = scan_json(["--all", "--cross-mounts", "-t", "3.12", top])
        self.assertEqual(sorted(os.path.basename(r["path"]) for r in pycs),
                         ["here.cpython-312.pyc", "there.cpython-312.pyc"])
        self.assertEqual(summary["mounts_not_crossed"], 0)

    def test_other_filesystem_is_not_crossed_and_check_still_passes(self):
        top, _ = self.tree()
        self.mount("-t", "tmpfs", "none", os.path.join(top, "sub"))
        module(os.path.join(top, "sub"), "t.py")
        p = run(["scan", "--check", "-t", "3.12", top])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"mount points not crossed: 1", p.stdout)


if __name__ == "__main__":
    main()
