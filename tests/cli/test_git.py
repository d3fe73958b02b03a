#!/usr/bin/env python3
"""pycinspect git: the tracked caches, the ignore answers and the caches at risk, against git.

Every expectation comes from git itself (gittest.py): the index from `git ls-files -s`, HEAD from
`git ls-tree -r HEAD`, the ignore answers from `git check-ignore -v --no-index` on the same probe
paths, what `git add .` would add from `git ls-files --others --exclude-standard`.  The
repositories hold nested .gitignore files with negations, .git/info/exclude, a global excludes
file, a linked worktree, a submodule, a sparse checkout, files deleted in the work tree, and names
with spaces, newlines and bytes that are not UTF-8.
"""
import os
import shutil
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
import gittest  # noqa: E402
from gittest import fs, is_cache, of_type  # noqa: E402

PYC = gittest.pyc()


class GitCase(unittest.TestCase):
    def setUp(self):
        self.sb = gittest.Sandbox()

    def tearDown(self):
        self.sb.cleanup()

    def assert_index_listing(self, repo, objs, top=None):
        """The "tracked" records of repository top are the index entries that are caches by
        name, field for field as `git ls-files -s` and `git ls-tree -r HEAD` give them."""
        top = top or repo
        head = gittest.head_tree(self.sb, repo)
        want = {}
        for mode, oid, stage, path in gittest.ls_files_s(self.sb, repo):
            if not is_cache(path):
                continue
            in_head = path in head
            staged = None if in_head and head[path] == (mode, oid) else (
                "modified" if in_head else "added")
            want[(path, stage)] = (mode, oid, in_head, staged)
        got = {}
        for o in of_type(objs, "tracked", top):
            got[(fs(o["path"]), o["stage"])] = (o["mode"], o["id"], o["in_head"], o["staged"])
        self.assertEqual(got, want)


class Listing(GitCase):
    def test_index_listing_against_ls_files(self):
        odd = {b"a b/__pycache__/c d.cpython-311.pyc": PYC,
               b"nl\nname/__pycache__/m.cpython-311.pyc": PYC,
               b"bad\xff/x.pyc": b"junk"}
        files = {"pkg/mod.py": "x = 1\n", "pkg/__pycache__/mod.cpython-311.pyc": PYC,
                 "pkg/__pycache__/notes.txt": "anything in __pycache__ is a cache\n",
                 "legacy.py": "x = 1\n", "legacy.pyc": PYC, "opt.pyo": b"junk",
                 "Foo.py": "", "Foo$py.class": b"\xca\xfe\xba\xbe",
                 "data/__pycache__": "a file called __pycache__: not a cache\n",
                 "data/x.pycx": "not a cache\n", "data/pyc": "not a cache\n"}
        files.update(odd)
        repo = self.sb.repo("r", files)
        # a staged addition, a staged change, a file deleted in the work tree
        gittest.write(repo, {"new/__pycache__/n.cpython-311.pyc": PYC, "legacy.pyc": b"changed"})
        self.sb.git(repo, "add", "-f", "new", "legacy.pyc")
        os.unlink(os.path.join(repo, "opt.pyo"))
        p, objs = self.sb.pyci_json([], repo)
        self.assert_index_listing(repo, objs)
        tracked = {fs(o["path"]): o for o in of_type(objs, "tracked")}
        self.assertEqual(len(tracked), 9)
        self.assertEqual(tracked[b"opt.pyo"]["worktree"], "deleted")
        self.assertIsNone(tracked[b"opt.pyo"]["verdict"])
        self.assertEqual(tracked[b"pkg/__pycache__/mod.cpython-311.pyc"]["worktree"], "present")
        # the verdict is scan's on the same file
        scan = clitest.run(["scan", "--json", os.path.join(repo, "pkg/__pycache__/"
                                                           "mod.cpython-311.pyc")],
                           env=self.sb.env)
        pyc = [o for o in gittest.parse(scan.stdout) if o["type"] == "pyc"][0]
        verdict = tracked[b"pkg/__pycache__/mod.cpython-311.pyc"]["verdict"]
        self.assertEqual((verdict["status"], verdict["version"], verdict["reasons"]),
                         (pyc["status"], pyc["version"], pyc["reasons"]))
        # not .pyc/.pyo: in the work tree, not judged
        self.assertIsNone(tracked[b"pkg/__pycache__/notes.txt"]["verdict"])
        self.assertEqual(tracked[b"new/__pycache__/n.cpython-311.pyc"]["staged"], "added")
        self.assertEqual(tracked[b"legacy.pyc"]["staged"], "modified")
        # the text names every one of them, quoted as scan quotes names
        text = self.sb.pyci([], repo).stdout
        for path in tracked:
            if b"\n" in path or b"\xff" in path:
                continue
            self.assertIn(path, text)
        self.assertIn(b"$'nl\\nname/__pycache__/m.cpython-311.pyc'", text)
        self.assertIn(b"$'bad\\xff/x.pyc'", text)

    def test_unborn_branch(self):
        repo = self.sb.repo("r", {"__pycache__/a.cpython-311.pyc": PYC, "a.py": ""},
                            commit=False)
        self.sb.git(repo, "add", "-A")
        p, objs = self.sb.pyci_json([], repo)
        self.assert_index_listing(repo, objs)
        rec = of_type(objs, "repository")[0]
        self.assertIsNone(rec["head"])
        self.assertEqual(rec["branch"], "main")
        self.assertEqual([o["staged"] for o in of_type(objs, "tracked")], ["added"])

    def test_path_limits_the_report(self):
        repo = self.sb.repo("r", {"a/__pycache__/x.cpython-311.pyc": PYC, "a/x.py": "",
                                  "b/__pycache__/y.cpython-311.pyc": PYC, "b/y.py": ""})
        _, objs = self.sb.pyci_json(["a"], repo)
        self.assertEqual([o["path"] for o in of_type(objs, "tracked")],
                         ["a/__pycache__/x.cpython-311.pyc"])
        self.assertEqual({o["directory"] for o in of_type(objs, "ignore")}, {"a"})
        # a file, from elsewhere: the same repository
        _, objs = self.sb.pyci_json([os.path.join(repo, "b/__pycache__/y.cpython-311.pyc")],
                                    self.sb.dir)
        self.assertEqual([o["path"] for o in of_type(objs, "tracked")],
                         ["b/__pycache__/y.cpython-311.pyc"])
        self.assertEqual(of_type(objs, "repository")[0]["path"], repo)
        # two PATHs of one repository: one repository, both parts
        _, objs = self.sb.pyci_json(["a", "b"], repo)
        self.assertEqual(len(of_type(objs, "repository")), 1)
        self.assertEqual(len(of_type(objs, "tracked")), 2)


    def test_paths_of_several_repositories(self):
        one = self.sb.repo("one", {"a.py": "", "__pycache__/a.cpython-311.pyc": PYC})
        two = self.sb.repo("two", {"b.py": "", "b.pyc": PYC})
        p, objs = self.sb.pyci_json([two, os.path.join(one, "__pycache__"), one], self.sb.dir)
        self.assertEqual([o["path"] for o in of_type(objs, "repository")], [two, one])
        self.assert_index_listing(one, objs, one)
        self.assert_index_listing(two, objs, two)
        self.assertEqual(of_type(objs, "summary")[0]["repositories"], 2)
        # a PATH in the git directory is refused, the others are still reported
        p, objs = self.sb.pyci_json([os.path.join(one, ".git"), two], self.sb.dir, ok=(2,))
        self.assertEqual([o["type"] for o in objs if o["type"] in ("error", "repository")],
                         ["error", "repository"])
        self.assertIn(b"is not in the work tree of", p.stderr)


class IgnoreRules(GitCase):
    def probe_paths(self, objs):
        return {o["probe"]: o for o in of_type(objs, "ignore")}

    def assert_against_check_ignore(self, repo, objs):
        """ignored: git's answer; ignored_by: "gitignore" when the work tree's .gitignore
        files alone ignore the probe (git asked as a fresh clone would be), else "local"."""
        probes = self.probe_paths(objs)
        truth = gittest.check_ignore(self.sb, repo, list(probes))
        tree = gittest.check_ignore(self.sb, repo, list(probes), tree_only=True)
        self.assertEqual(set(truth), set(probes))
        for path, o in probes.items():
            ignored, source = truth[path]
            with self.subTest(probe=path):
                self.assertEqual(o["ignored"], ignored, "git check-ignore: %r" % (truth[path],))
                if ignored:
                    self.assertEqual(o["ignored_by"], "gitignore" if tree[path][0] else "local",
                                     "git check-ignore: %r, as a clone: %r" % (truth[path],
                                                                               tree[path]))
                else:
                    self.assertIsNone(o["ignored_by"])
                self.assertEqual(o["missing"], o["ignored_by"] != "gitignore")
        return probes

    def test_nested_gitignores_negations_exclude_and_global(self):
        excl = self.sb.path("home", "global-excludes")
        with open(excl, "w") as f:
            f.write("# global\n*$py.class\n")
        with open(self.sb.env["GIT_CONFIG_GLOBAL"], "a") as f:
            f.write("[core]\n\texcludesFile = %s\n" % excl)
        files = {".gitignore": "*.pyc\n/only_top/*.pyo\n!keep/*.pyc\n",
                 "sub/.gitignore": "__pycache__/\n!*.pyc\n",
                 "sub/deep/.gitignore": "*.pyc\n",
                 "odd dir/.gitignore": "!__pycache__/\n",
                 "build/.gitignore": "*\n"}
        for d in (".", "sub", "sub/deep", "keep", "only_top", "other", "odd dir",
                  "other/nested/x"):
            files[os.path.join(d, "m.py")] = "x = 1\n"
        repo = self.sb.repo("r", files)
        with open(os.path.join(repo, ".git/info/exclude"), "a") as f:
            f.write("other/\n")
        p, objs = self.sb.pyci_json([], repo)
        probes = self.assert_against_check_ignore(repo, objs)
        # every directory holding a source, four probes each
        dirs = {os.path.dirname(p) or "." for m, o, s, p in
                [(m, o, s, os.fsdecode(p)) for m, o, s, p in gittest.ls_files_s(self.sb, repo)]
                if p.endswith(".py")}
        self.assertEqual({o["directory"] for o in probes.values()}, dirs)
        self.assertEqual(len(probes), 4 * len(dirs))
        # all three kinds of answer are in this tree
        self.assertEqual({o["ignored_by"] for o in probes.values()}, {None, "gitignore", "local"})

    def test_many_directories(self):
        """Enough directories that those of the index are asked about on a thread of their own
        while the work tree is walked (gitfind.c: 64 or more)."""
        files = {".gitignore": "__pycache__/\n*.pyc\n/d1*/*.pyo\n"}
        for i in range(90):
            files["d%02d/m.py" % i] = ""
            if i % 7 == 0:
                files["d%02d/.gitignore" % i] = "!*.pyc\n*$py.class\n"
            if i % 11 == 0:
                files["d%02d/sub/n.py" % i] = ""
        repo = self.sb.repo("r", files)
        gittest.write(repo, {"new%d/x.py" % i: "" for i in range(5)})  # found by the walk
        gittest.write(repo, {"d03/stray.pyo": "at risk"})
        p, objs = self.sb.pyci_json([], repo)
        probes = self.assert_against_check_ignore(repo, objs)
        self.assertEqual(len({o["directory"] for o in probes.values()}), 90 + 9 + 5)
        self.assertEqual([o["path"] for o in of_type(objs, "at-risk")], ["d03/stray.pyo"])

    def test_default_excludes_file_of_xdg(self):
        os.makedirs(self.sb.path("home", ".config", "git"))
        with open(self.sb.path("home", ".config", "git", "ignore"), "w") as f:
            f.write("__pycache__/\n*.py[cod]\n*$py.class\n")
        repo = self.sb.repo("r", {"m.py": "", "pkg/n.py": ""})
        p, objs = self.sb.pyci_json(["--check"], repo)
        self.assertEqual(p.returncode, 1)  # a clone does not have these rules
        probes = self.assert_against_check_ignore(repo, objs)
        self.assertEqual({o["ignored_by"] for o in probes.values()}, {"local"})
        self.assertEqual(of_type(objs, "summary")[0]["local_only"],
                         {"__pycache__/": 2, "*.py[cod]": 2, "*$py.class": 2})

    def test_git_config_global_is_followed(self):
        """GIT_CONFIG_GLOBAL names another file than ~/.gitconfig: git reads that one (libgit2
        1.5 alone would read ~/.gitconfig), and so does pycinspect."""
        other = self.sb.path("other-gitconfig")
        excl = self.sb.path("other-excludes")
        with open(excl, "w") as f:
            f.write("*.py[cod]\n")
        with open(other, "w") as f:
            f.write("[core]\n\texcludesFile = %s\n" % excl)
        env = dict(self.sb.env, GIT_CONFIG_GLOBAL=other)
        repo = self.sb.repo("r", {"m.py": ""})
        _, objs = self.sb.pyci_json([], repo, env=env)
        self.sb.env = env  # for check-ignore
        probes = self.assert_against_check_ignore(repo, objs)
        self.assertEqual(probes["pycinspect-probe.pyc"]["ignored_by"], "local")

    def test_complete_rules_pass(self):
        repo = self.sb.repo("r", {".gitignore": "__pycache__/\n*.py[cod]\n*$py.class\n",
                                  "m.py": "", "pkg/n.py": "", "pkg/sub/o.py": ""})
        p, objs = self.sb.pyci_json(["--check"], repo)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_against_check_ignore(repo, objs)
        p = self.sb.pyci(["--check"], repo)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"no tracked caches; git ignores new caches in every directory with "
                      b"Python sources (3); none at risk", p.stdout)

    def test_missing_rule_fails_check(self):
        repo = self.sb.repo("r", {".gitignore": "__pycache__/\n*.pyc\n", "m.py": ""})
        p, objs = self.sb.pyci_json(["--check"], repo)
        self.assertEqual(p.returncode, 1)
        self.assert_against_check_ignore(repo, objs)
        self.assertEqual(of_type(objs, "summary")[0]["missing"],
                         {"__pycache__/": 0, "*.py[cod]": 1, "*$py.class": 1})
        self.assertEqual(self.sb.pyci([], repo).returncode, 0)  # no --check: 0

    def test_tracked_cache_ignored_once_untracked(self):
        repo = self.sb.repo("r", {".gitignore": "*.pyc\n!keep.pyc\n", "a.pyc": PYC,
                                  "keep.pyc": PYC, "a.py": "", "keep.py": ""})
        _, objs = self.sb.pyci_json([], repo)
        tracked = {o["path"]: o for o in of_type(objs, "tracked")}
        truth = gittest.check_ignore(self.sb, repo, list(tracked))
        for path, o in tracked.items():
            self.assertEqual(o["ignored"], truth[path][0], path)
        self.assertEqual((tracked["a.pyc"]["ignored"], tracked["keep.pyc"]["ignored"]),
                         (True, False))


class AtRisk(GitCase):
    def test_untracked_caches_against_ls_files_others(self):
        repo = self.sb.repo("r", {".gitignore": "build/\nsub/__pycache__/\n*.pyc\n",
                                  "m.py": "", "sub/n.py": "", "sub/deep/o.py": ""})
        gittest.write(repo, {
            "__pycache__/m.cpython-311.pyc": PYC,            # *.pyc: ignored
            "__pycache__/m.cpython-311.opt-1.pyc": PYC,
            "__pycache__/stray.txt": "at risk: no rule for __pycache__/",
            "m.pyo": "at risk: no rule for .pyo",
            "sub/__pycache__/n.cpython-311.pyo": "ignored (sub/__pycache__/)",
            "sub/deep/__pycache__/o.cpython-34.pyo": "at risk",
            "build/__pycache__/x.cpython-311.pyo": "ignored (build/)",
            "newdir/__pycache__/p.cpython-34.pyo": "at risk, in an untracked directory",
            "newdir/p.py": "",
            "Foo$py.class": "at risk",
            "with space/$py.class": "at risk",
            "nested/__pycache__/q.pyo": "another repository's: not ours",
        })
        self.sb.git(os.path.join(repo, "nested"), "init", "-q")
        gittest.write(repo, {b"odd\xfe/z.pyo": b"at risk", b"nl\nx/y.pyo": b"at risk"})
        p, objs = self.sb.pyci_json([], repo)
        want = {path for path in gittest.others(self.sb, repo) if is_cache(path)}
        got = {fs(o["path"]) for o in of_type(objs, "at-risk")}
        self.assertEqual(got, want)
        self.assertEqual(len(got), 8)
        # the directories of those caches are asked about too: newdir holds an untracked source
        dirs = {o["directory"] for o in of_type(objs, "ignore")}
        self.assertTrue({"newdir", "with space", "sub/deep", "."} <= dirs, dirs)

    def test_submodule_not_checked_out(self):
        """A submodule's directory holding no .git (deinit'ed) is still not looked into: the
        index says it is a submodule, and git add . does not go there either."""
        sub = self.sb.repo("subsrc", {"s.py": ""})
        sup = self.sb.repo("super", {"t.py": ""})
        self.sb.git(sup, "submodule", "add", "-q", sub, "lib/sub")
        self.sb.git(sup, "commit", "-q", "-m", "submodule")
        self.sb.git(sup, "submodule", "deinit", "-q", "-f", "lib/sub")
        self.assertEqual(os.listdir(os.path.join(sup, "lib/sub")), [])
        gittest.write(sup, {"lib/sub/__pycache__/u.cpython-311.pyc": PYC, "lib/sub/v.pyc": PYC,
                            "lib/w.pyc": PYC})
        _, objs = self.sb.pyci_json([], sup)
        want = {p for p in gittest.others(self.sb, sup) if is_cache(p)}
        self.assertEqual(want, {b"lib/w.pyc"})
        self.assertEqual({fs(o["path"]) for o in of_type(objs, "at-risk")}, want)
        self.assertEqual([r["path"] for r in of_type(objs, "repository")], [sup])

    def test_directory_excluded_before_its_files(self):
        """git: a file in an ignored directory is ignored, whatever a rule says of the file
        (gitignore(5)); libgit2 alone asks the file first (libgit2 issue #7283)."""
        repo = self.sb.repo("r", {".gitignore": "__pycache__/\n", "sub/.gitignore": "!*.pyc\n",
                                  "sub/n.py": "", "sub/__pycache__/t.cpython-311.pyc": PYC})
        gittest.write(repo, {"sub/__pycache__/n.cpython-311.pyc": PYC, "sub/x.pyc": PYC})
        _, objs = self.sb.pyci_json([], repo)
        want = {p for p in gittest.others(self.sb, repo) if is_cache(p)}
        self.assertEqual(want, {b"sub/x.pyc"})
        self.assertEqual({fs(o["path"]) for o in of_type(objs, "at-risk")}, want)
        tracked = of_type(objs, "tracked")[0]
        self.assertEqual((tracked["ignored"], tracked["ignored_by"]), (True, "gitignore"))

    def test_literal_negation_below_the_top(self):
        """libgit2 1.5 drops a negation without wildcards that negates nothing in its own
        .gitignore (libgit2 issue #7284): git re-includes sub/keep.pyc, libgit2 may not.
        Either pycinspect agrees with git here, or it warned about that very line."""
        repo = self.sb.repo("r", {".gitignore": "*.pyc\n", "sub/.gitignore": "!keep.pyc\n",
                                  "sub/keep.py": ""})
        gittest.write(repo, {"sub/keep.pyc": PYC})
        p, objs = self.sb.pyci_json([], repo)
        git_says = b"sub/keep.pyc" in gittest.others(self.sb, repo)
        self.assertTrue(git_says)
        warned = [o for o in of_type(objs, "warning") if o["rule"] == "sub/.gitignore:1: !keep.pyc"]
        self.assertEqual(len(warned), 1)
        self.assertIn(b"sub/.gitignore:1: !keep.pyc: libgit2 may disregard this negation",
                      p.stderr)
        agrees = "sub/keep.pyc" in [o["path"] for o in of_type(objs, "at-risk")]
        self.assertTrue(agrees or warned)


class Exception_(GitCase):
    def test_sourceless_distribution_apart(self):
        repo = self.sb.repo("r", {
            ".gitignore": "__pycache__/\n*.py[cod]\n*$py.class\n",
            "vendor/lib.pyc": PYC, "vendor/Lib$py.class": b"\xca\xfe",
            "pkg/__pycache__/gone.cpython-311.pyc": PYC,   # no source: orphaned, not deliberate
            "tool.py": "", "tool.pyc": PYC})
        _, objs = self.sb.pyci_json([], repo)
        ex = {o["path"]: o["exception"] for o in of_type(objs, "tracked")}
        self.assertEqual(ex, {"vendor/lib.pyc": True, "vendor/Lib$py.class": True,
                              "pkg/__pycache__/gone.cpython-311.pyc": False,
                              "tool.pyc": False})
        text = self.sb.pyci([], repo).stdout
        self.assertIn(b"possibly deliberate", text)
        self.assertEqual(self.sb.pyci(["--check"], repo).returncode, 1)
        self.sb.git(repo, "rm", "-q", "--cached", "tool.pyc",
                    "pkg/__pycache__/gone.cpython-311.pyc")
        self.sb.git(repo, "commit", "-q", "-m", "untrack")
        p = self.sb.pyci(["--check"], repo)
        self.assertEqual(p.returncode, 0, p.stdout)  # only the possibly deliberate ones left


class Repositories(GitCase):
    def test_linked_worktree(self):
        main = self.sb.repo("main", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC})
        wt = self.sb.path("wt")
        self.sb.git(main, "worktree", "add", "-q", "-b", "other", wt)
        gittest.write(wt, {"w/__pycache__/w.cpython-311.pyc": PYC, "w/w.py": ""})
        self.sb.git(wt, "add", "-f", "w")
        _, objs = self.sb.pyci_json([], wt)
        rec = of_type(objs, "repository")[0]
        self.assertEqual((rec["path"], rec["worktree"], rec["branch"]), (wt, True, "other"))
        self.assert_index_listing(wt, objs)
        self.assertEqual(len(of_type(objs, "tracked")), 2)
        _, objs = self.sb.pyci_json([], main)
        self.assert_index_listing(main, objs)
        self.assertEqual(len(of_type(objs, "tracked")), 1)

    def test_submodule_is_its_own_repository(self):
        sub = self.sb.repo("subsrc", {"s.py": "", "__pycache__/s.cpython-311.pyc": PYC})
        sup = self.sb.repo("super", {"t.py": "", "__pycache__/t.cpython-311.pyc": PYC})
        self.sb.git(sup, "submodule", "add", "-q", sub, "lib/sub")
        self.sb.git(sup, "commit", "-q", "-m", "submodule")
        inner = os.path.join(sup, "lib/sub")
        gittest.write(inner, {"__pycache__/u.cpython-311.pyc": PYC})  # untracked, in sub
        _, objs = self.sb.pyci_json([], sup)
        repos = of_type(objs, "repository")
        self.assertEqual([(r["path"], r["submodule_of"]) for r in repos],
                         [(sup, None), (inner, sup)])
        self.assert_index_listing(sup, objs)
        self.assert_index_listing(inner, objs, inner)
        self.assertEqual([o["path"] for o in of_type(objs, "tracked", sup)],
                         ["__pycache__/t.cpython-311.pyc"])
        self.assertEqual([o["path"] for o in of_type(objs, "at-risk", inner)],
                         ["__pycache__/u.cpython-311.pyc"])
        self.assertEqual(of_type(objs, "at-risk", sup), [])
        self.assertNotIn("lib/sub", {o["directory"] for o in of_type(objs, "ignore", sup)})

    def test_sparse_checkout(self):
        repo = self.sb.repo("r", {"a/m.py": "", "a/__pycache__/m.cpython-311.pyc": PYC,
                                  "b/n.py": "", "b/__pycache__/n.cpython-311.pyc": PYC})
        self.sb.git(repo, "sparse-checkout", "set", "a")
        self.assertFalse(os.path.exists(os.path.join(repo, "b")))
        _, objs = self.sb.pyci_json([], repo)
        self.assert_index_listing(repo, objs)
        wt = {o["path"]: o["worktree"] for o in of_type(objs, "tracked")}
        self.assertEqual(wt, {"a/__pycache__/m.cpython-311.pyc": "present",
                              "b/__pycache__/n.cpython-311.pyc": "sparse"})


class BadInput(GitCase):
    def test_not_a_repository(self):
        d = self.sb.path("plain")
        os.makedirs(d)
        p = self.sb.pyci([], d)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"is not in a git repository", p.stderr)
        self.assertEqual(p.stdout, b"")
        p, objs = self.sb.pyci_json([], d, ok=(2,))
        self.assertEqual([o["type"] for o in objs], ["error", "summary"])
        self.assertIn("is not in a git repository", objs[0]["message"])
        p = self.sb.pyci([d], self.sb.dir)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"'%s' is not in a git repository" % os.fsencode(d), p.stderr)

    def test_bare_repository(self):
        bare = self.sb.path("bare.git")
        self.sb.git(self.sb.dir, "init", "-q", "--bare", bare)
        p = self.sb.pyci([bare], self.sb.dir)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"is a bare git repository", p.stderr)

    def test_corrupt_index(self):
        repo = self.sb.repo("r", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC})
        index = os.path.join(repo, ".git/index")
        data = bytearray(gittest.read(index))
        data[40] ^= 0xFF  # inside the first entry: the checksum no longer matches
        with open(index, "wb") as f:
            f.write(data)
        p = self.sb.pyci([], repo)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"cannot read the index of", p.stderr)
        self.assertEqual(gittest.read(index), bytes(data))
        p, objs = self.sb.pyci_json([], repo, ok=(2,))
        self.assertEqual(of_type(objs, "summary")[0]["repositories"], 0)


if __name__ == "__main__":
    clitest.main()
