"""Default excludes (.git, .hg, .svn, node_modules), --exclude GLOB on names and on paths below
the root, --no-default-excludes, and a PATH named on the command line is never left out."""
import os

from clitest import TempDirCase, main, module, scan_json


def names(pycs, root):
    return sorted(os.path.relpath(r["path"], root) for r in pycs)


class Excludes(TempDirCase):
    def tree(self):
        for sub in ("app", ".git/hooks", "node_modules/pkg", ".hg", ".svn", "build/lib", "docs"):
            module(self.tmp, sub + "/m.py")
        module(self.tmp, "app/skipme.py")

    def test_default_excludes(self):
        self.tree()
        pycs, _, _, _ = scan_json(["--all", "-t", "3.12", self.tmp])
        self.assertEqual(names(pycs, self.tmp), [
            "app/__pycache__/m.cpython-312.pyc", "app/__pycache__/skipme.cpython-312.pyc",
            "build/lib/__pycache__/m.cpython-312.pyc", "docs/__pycache__/m.cpython-312.pyc"])

    def test_no_default_excludes(self):
        self.tree()
        pycs, _, _, _ = scan_json(["--all", "--no-default-excludes", "-t", "3.12", self.tmp])
        self.assertEqual(len(pycs), 8)
        self.assertIn(".git/hooks/__pycache__/m.cpython-312.pyc", names(pycs, self.tmp))

    def test_exclude_globs(self):
        self.tree()
        pycs, _, _, _ = scan_json(["--all", "-t", "3.12", "--exclude", "build",
                                   "--exclude", "skipme.*.pyc", "--exclude", "docs/__pycache__",
                                   self.tmp])
        self.assertEqual(names(pycs, self.tmp), ["app/__pycache__/m.cpython-312.pyc"])

    def test_named_path_is_never_left_out(self):
        self.tree()
        root = os.path.join(self.tmp, "node_modules")
        pycs, _, _, _ = scan_json(["--all", "-t", "3.12", root])
        self.assertEqual(names(pycs, root), ["pkg/__pycache__/m.cpython-312.pyc"])
        one = os.path.join(self.tmp, "app", "__pycache__", "skipme.cpython-312.pyc")
        pycs, _, _, _ = scan_json(["--all", "-t", "3.12", "--exclude", "skipme*", one])
        self.assertEqual([r["path"] for r in pycs], [one])


if __name__ == "__main__":
    main()
