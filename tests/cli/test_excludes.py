"""Default excludes (.git, .hg, .svn, node_modules), --exclude GLOB on names and on paths below
the root, --no-default-excludes, and a PATH named on the command line is never left out."""
import os

from clitest import TempDirCase, main, module, run, scan_json


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

    def test_spellings_users_write(self):
        # .venv/ and ./.venv mean what .gitignore and fd mean: a directory, and one at the root
        for sub in ("app", ".venv/lib", "deep/.venv/lib"):
            module(self.tmp, sub + "/m.py")
        every = ["app/__pycache__/m.cpython-312.pyc", "deep/.venv/lib/__pycache__/m.cpython-312.pyc",
                 ".venv/lib/__pycache__/m.cpython-312.pyc"]
        cases = {
            ".venv": every[:1], ".venv/": every[:1], "./.venv": [every[0], every[1]],
            "./.venv/": [every[0], every[1]], "/.venv": [every[0], every[1]],
            ".//.venv//": [every[0], every[1]], "deep/.venv/": [every[0], every[2]],
        }
        for glob, want in cases.items():
            with self.subTest(glob=glob):
                pycs, _, _, p = scan_json(["--all", "-t", "3.12", "--exclude", glob, self.tmp])
                self.assertEqual(names(pycs, self.tmp), sorted(want))
                self.assertNotIn(b"matched nothing", p.stderr)
        # a trailing '/' is for directories only: a cache of that name stays
        pycs, _, _, p = scan_json(["--all", "-t", "3.12", "--exclude", "m.cpython-312.pyc/",
                                   self.tmp])
        self.assertEqual(names(pycs, self.tmp), sorted(every))
        self.assertIn(b"warning: --exclude 'm.cpython-312.pyc/' matched nothing", p.stderr)

    def test_a_glob_that_matched_nothing_is_said(self):
        self.tree()
        pycs, _, _, p = scan_json(["--all", "-t", "3.12", "--exclude", "bulid", "--exclude",
                                   "build", "--exclude", "nowhere/", self.tmp])
        self.assertEqual(len(pycs), 3)
        err = p.stderr.decode()
        self.assertIn("warning: --exclude 'bulid' matched nothing", err)
        self.assertIn("warning: --exclude 'nowhere/' matched nothing", err)
        self.assertNotIn("'build' matched nothing", err)
        # the same in clean, whose dry run says it too, and over two PATHs: one hit is enough
        p = run(["clean", "--unused", "-n", "-t", "3.12", "--exclude", "skipme*",
                 os.path.join(self.tmp, "docs"), os.path.join(self.tmp, "app")])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn(b"matched nothing", p.stderr)

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
