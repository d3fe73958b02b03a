#!/usr/bin/env python3
"""pycinspect git --fix: the same index and status as `git rm -r --cached` on a copy, the rules
appended and nothing else rewritten, and every refusal with nothing changed.

After --fix, `git status --porcelain=v2` and `git ls-files -s` are compared with those of a copy
of the repository (made before the fix) on which git itself did the work: `git rm -r --cached`
of every index entry that is a cache by name (the test's own list, from `git ls-files`), and the
same .gitignore.  The commands pycinspect prints are run by bash on another copy, with the same
result.  A refused --fix (locked index, merge or rebase in progress, conflicts, a .gitignore that
cannot be written) exits 2, says why, and leaves the index and the .gitignore byte for byte.
"""
import os
import shutil
import stat
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
import gittest  # noqa: E402
from gittest import COMMENT, is_cache, of_type, read, state  # noqa: E402

PYC = gittest.pyc()


def commands_of(text):
    """The shell commands of the text output: the lines under "to fix" or "the same with
    git", continuation lines joined, without the commit."""
    lines = text.decode("utf-8", "surrogateescape").split("\n")
    out, take = [], False
    for line in lines:
        if line.startswith("  to fix") or line.startswith("  the same with git"):
            take = True
            continue
        if take and line.startswith("    "):
            if out and out[-1].endswith(" \\"):
                out[-1] = out[-1][:-2] + " " + line.strip()
            else:
                out.append(line[4:])
        elif take:
            take = False
    return [c for c in out if not c.startswith("git commit")]


class FixCase(unittest.TestCase):
    def setUp(self):
        self.sb = gittest.Sandbox()

    def tearDown(self):
        self.sb.cleanup()

    def copy(self, repo, name):
        dst = self.sb.path(name)
        shutil.copytree(repo, dst, symlinks=True)
        return dst

    def git_rm_cached(self, repo, keep=()):
        """What git does: every cache by name in the index out of it, the files kept."""
        paths = sorted({p for _, _, _, p in gittest.ls_files_s(self.sb, repo)
                        if is_cache(p) and p not in keep})
        if paths:
            self.sb.git(repo, "--literal-pathspecs", "rm", "-r", "-q", "--cached",
                        "--pathspec-from-file=-",
                        "--pathspec-file-nul", "--sparse", input=b"\0".join(paths) + b"\0")
        return paths

    def assert_refused(self, repo, args, message):
        """--fix (and --fix -n) refused: exit 2, message on stderr, nothing changed."""
        gi = os.path.join(repo, ".gitignore")
        before = (read(os.path.join(repo, ".git/index")),
                  read(gi) if os.path.lexists(gi) else None)
        for extra in ([], ["-n"]):
            p = self.sb.pyci(["--fix"] + extra + args, repo)
            self.assertEqual(p.returncode, 2, (extra, p.stdout, p.stderr))
            self.assertIn(message, p.stderr)
            self.assertIn(b"nothing was changed", p.stderr)
            after = (read(os.path.join(repo, ".git/index")),
                     read(gi) if os.path.lexists(gi) else None)
            self.assertEqual(after, before)


# Names a shell or git's pathspecs would read otherwise: each is a legacy cache with its
# source beside it (so not the exception), or in a __pycache__.
ODD = {b"a b/__pycache__/c d.cpython-311.pyc": PYC, b"nl\nname.pyc": PYC, b"nl\nname.py": b"",
       b"bad\xff/__pycache__/y.pyo": b"junk", b"glob[1]*.pyc": PYC, b"glob[1]*.py": b"",
       b":magic.pyc": PYC, b":magic.py": b"", b"-dash/__pycache__/q.cpython-311.pyc": PYC,
       b"it's.pyc": PYC, b"it's.py": b""}


def messy_repo(sb, name):
    files = {"m.py": "x = 1\n", "__pycache__/m.cpython-311.pyc": PYC,
             "pkg/n.py": "", "pkg/__pycache__/n.cpython-311.pyc": PYC,
             "pkg/__pycache__/n.cpython-311.opt-1.pyc": PYC, "pkg/__pycache__/README": "x",
             "legacy.py": "", "legacy.pyc": PYC, "J.py": "", "J$py.class": b"\xca\xfe"}
    files.update(ODD)
    repo = sb.repo(name, files)
    gittest.write(repo, {"staged/__pycache__/s.cpython-311.pyc": PYC, "staged/s.py": ""})
    sb.git(repo, "add", "-f", "staged")
    os.unlink(os.path.join(repo, "legacy.pyc"))  # deleted in the work tree
    return repo


class Fix(FixCase):
    def test_fix_equals_git_rm_cached(self):
        repo = messy_repo(self.sb, "r")
        by_git = self.copy(repo, "by-git")
        by_commands = self.copy(repo, "by-commands")
        text = self.sb.pyci([], repo).stdout
        p, objs = self.sb.pyci_json(["--fix"], repo)
        self.assertEqual(p.returncode, 0, p.stderr)
        fix = of_type(objs, "fix")[0]
        self.assertTrue(fix["done"])
        self.assertEqual(fix["rules"], gittest.RULES)
        self.assertTrue(fix["gitignore_created"])
        self.assertEqual(read(os.path.join(repo, ".gitignore")).decode(),
                         COMMENT + "\n" + "".join(r + "\n" for r in gittest.RULES))
        removed = self.git_rm_cached(by_git)
        self.assertEqual(len(removed), 14)
        shutil.copy(os.path.join(repo, ".gitignore"), os.path.join(by_git, ".gitignore"))
        self.assertEqual(state(self.sb, repo), state(self.sb, by_git))
        # every cache is still in the work tree, and now ignored
        for path in removed:
            if path != b"legacy.pyc":
                self.assertTrue(os.path.lexists(os.path.join(os.fsencode(repo), path)), path)
        self.assertEqual([p for p in gittest.others(self.sb, repo) if is_cache(p)], [])
        # the commands of the report, run by bash, do the same (they also `git add .gitignore`)
        cmds = commands_of(text)
        self.assertTrue(cmds[0].startswith("git --literal-pathspecs rm -r --cached"), cmds)
        for cmd in cmds:
            subprocess.run(["bash", "-c", cmd], cwd=by_commands, env=self.sb.env, check=True)
        self.sb.git(repo, "add", ".gitignore")
        self.assertEqual(state(self.sb, repo), state(self.sb, by_commands))
        self.assertEqual(read(os.path.join(repo, ".gitignore")),
                         read(os.path.join(by_commands, ".gitignore")))
        # a second run finds nothing to do
        p = self.sb.pyci(["--fix"], repo)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"--fix: nothing to do", p.stdout)
        self.assertEqual(self.sb.pyci(["--check"], repo).returncode, 0)

    def test_appends_never_rewrites(self):
        old = b"build/\n# mine\n*.pyc\n!important.pyc\n*.log"  # no final newline
        repo = self.sb.repo("r", {".gitignore": old, "m.py": ""})
        p = self.sb.pyci(["--fix"], repo)
        self.assertEqual(p.returncode, 0, p.stderr)
        want = old + b"\n\n" + COMMENT.encode() + b"\n__pycache__/\n*.py[cod]\n*$py.class\n"
        self.assertEqual(read(os.path.join(repo, ".gitignore")), want)
        # only the rules still missing, after a blank line
        repo2 = self.sb.repo("r2", {".gitignore": "__pycache__/\n*.py[cod]\n", "m.py": ""})
        by_commands = self.copy(repo2, "r2-commands")
        cmds = commands_of(self.sb.pyci([], repo2).stdout)
        self.assertEqual(self.sb.pyci(["--fix"], repo2).returncode, 0)
        self.assertEqual(read(os.path.join(repo2, ".gitignore")),
                         b"__pycache__/\n*.py[cod]\n\n" + COMMENT.encode() + b"\n*$py.class\n")
        for cmd in cmds:
            subprocess.run(["bash", "-c", cmd], cwd=by_commands, env=self.sb.env, check=True)
        self.assertEqual(read(os.path.join(by_commands, ".gitignore")),
                         read(os.path.join(repo2, ".gitignore")))

    def test_dry_run_changes_nothing(self):
        repo = messy_repo(self.sb, "r")
        before = state(self.sb, repo)
        index = read(os.path.join(repo, ".git/index"))
        p = self.sb.pyci(["--fix", "-n"], repo)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(b"--fix would take 14 caches out of the index", p.stdout)
        self.assertIn(b"  the same with git:\n", p.stdout)
        self.assertEqual(state(self.sb, repo), before)
        self.assertEqual(read(os.path.join(repo, ".git/index")), index)
        self.assertFalse(os.path.lexists(os.path.join(repo, ".gitignore")))
        p, objs = self.sb.pyci_json(["--fix", "--dry-run"], repo)
        self.assertEqual(of_type(objs, "fix")[0]["done"], False)
        self.assertTrue(of_type(objs, "command"))

    def test_fix_from_a_subdirectory(self):
        repo = self.sb.repo("r", {"pkg/n.py": "", "pkg/__pycache__/n.cpython-311.pyc": PYC})
        sub = os.path.join(repo, "pkg")
        text = self.sb.pyci([], sub).stdout
        self.assertIn(b"    cd " + os.fsencode(repo) + b"\n", text)
        by_git = self.copy(repo, "by-git")
        self.assertEqual(self.sb.pyci(["--fix"], sub).returncode, 0)
        self.assertTrue(os.path.exists(os.path.join(repo, ".gitignore")))  # at the top
        self.git_rm_cached(by_git)
        shutil.copy(os.path.join(repo, ".gitignore"), os.path.join(by_git, ".gitignore"))
        self.assertEqual(state(self.sb, repo), state(self.sb, by_git))

    def test_exception_untracked_only_by_name(self):
        repo = self.sb.repo("r", {".gitignore": "__pycache__/\n*.py[cod]\n*$py.class\n",
                                  "vendor/lib.pyc": PYC, "tool.py": "", "tool.pyc": PYC})
        self.assertEqual(self.sb.pyci(["--fix"], repo).returncode, 0)
        self.assertEqual([p for _, _, _, p in gittest.ls_files_s(self.sb, repo) if is_cache(p)],
                         [b"vendor/lib.pyc"])
        p = self.sb.pyci(["--fix", "vendor/lib.pyc"], repo)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([p for _, _, _, p in gittest.ls_files_s(self.sb, repo) if is_cache(p)],
                         [])

    def test_negation_below_the_top_is_left(self):
        repo = self.sb.repo("r", {"m.py": "", "sub/n.py": "", "sub/.gitignore": "!*.py[cod]\n",
                                  "sub/__pycache__/n.cpython-311.pyc": PYC})
        p, objs = self.sb.pyci_json(["--fix"], repo)
        self.assertEqual(p.returncode, 1)  # done, but something is left
        fix = of_type(objs, "fix")[0]
        self.assertEqual(fix["still_missing"], ["sub"])
        # the cache itself is ignored now: its directory is (git does not look inside it)
        self.assertEqual(fix["not_ignored"], [])
        self.assertEqual(gittest.others(self.sb, repo), {b".gitignore"})
        self.assertEqual(of_type(objs, "summary")[0]["fix"]["left"], 1)

    def test_sparse_entries(self):
        repo = self.sb.repo("r", {"a/m.py": "", "a/__pycache__/m.cpython-311.pyc": PYC,
                                  "b/n.py": "", "b/__pycache__/n.cpython-311.pyc": PYC})
        self.sb.git(repo, "sparse-checkout", "set", "a")
        by_git = self.copy(repo, "by-git")
        by_commands = self.copy(repo, "by-commands")
        cmds = commands_of(self.sb.pyci([], repo).stdout)
        self.assertIn("--sparse", cmds[0])
        self.assertEqual(self.sb.pyci(["--fix"], repo).returncode, 0)
        self.git_rm_cached(by_git)
        shutil.copy(os.path.join(repo, ".gitignore"), os.path.join(by_git, ".gitignore"))
        self.assertEqual(state(self.sb, repo), state(self.sb, by_git))
        for cmd in cmds:
            subprocess.run(["bash", "-c", cmd], cwd=by_commands, env=self.sb.env, check=True)
        self.sb.git(repo, "add", ".gitignore")
        self.assertEqual(state(self.sb, repo), state(self.sb, by_commands))

    def test_linked_worktree(self):
        main = self.sb.repo("main", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC})
        wt = self.sb.path("wt")
        self.sb.git(main, "worktree", "add", "-q", "-b", "other", wt)
        main_index = read(os.path.join(main, ".git/index"))
        self.assertEqual(self.sb.pyci(["--fix"], wt).returncode, 0)
        self.assertEqual([p for _, _, _, p in gittest.ls_files_s(self.sb, wt) if is_cache(p)],
                         [])
        self.assertEqual(read(os.path.join(main, ".git/index")), main_index)
        self.assertEqual(self.sb.git(wt, "status", "--porcelain"),
                         b" D __pycache__/m.cpython-311.pyc\n?? .gitignore\n".replace(
                             b" D", b"D "))


class Refusals(FixCase):
    def repo_to_fix(self):
        return self.sb.repo("r", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC})

    def test_locked_index(self):
        repo = self.repo_to_fix()
        open(os.path.join(repo, ".git/index.lock"), "w").close()
        self.assert_refused(repo, [], b"index.lock' exists")
        # a report only reads: it works with the lock there
        self.assertEqual(self.sb.pyci(["--check"], repo).returncode, 1)

    def test_merge_in_progress(self):
        repo = self.repo_to_fix()
        self.sb.git(repo, "checkout", "-q", "-b", "side")
        gittest.write(repo, {"m.py": "side\n"})
        self.sb.git(repo, "commit", "-q", "-am", "side")
        self.sb.git(repo, "checkout", "-q", "main")
        gittest.write(repo, {"m.py": "main\n"})
        self.sb.git(repo, "commit", "-q", "-am", "main")
        self.sb.git(repo, "merge", "-q", "side", check=False)  # a conflict
        self.assertTrue(os.path.exists(os.path.join(repo, ".git/MERGE_HEAD")))
        self.assert_refused(repo, [], b"a merge is in progress")

    def test_conflicts_without_a_merge(self):
        repo = self.repo_to_fix()
        oid = self.sb.git(repo, "hash-object", "-w", "m.py").strip()
        info = b"".join(b"100644 %s %d\tm.py\n" % (oid, s) for s in (1, 2, 3))
        self.sb.git(repo, "update-index", "--index-info", input=b"0 " + b"0" * 40 + b"\tm.py\n")
        self.sb.git(repo, "update-index", "--index-info", input=info)
        self.assertEqual(len([e for e in gittest.ls_files_s(self.sb, repo) if e[2]]), 3)
        self.assert_refused(repo, [], b"the index has unresolved conflicts")

    def test_rebase_in_progress(self):
        repo = self.repo_to_fix()
        self.sb.git(repo, "checkout", "-q", "-b", "side")
        gittest.write(repo, {"m.py": "side\n"})
        self.sb.git(repo, "commit", "-q", "-am", "side")
        self.sb.git(repo, "checkout", "-q", "main")
        gittest.write(repo, {"m.py": "main\n"})
        self.sb.git(repo, "commit", "-q", "-am", "main")
        self.sb.git(repo, "rebase", "side", check=False)  # stops on the conflict
        self.assertTrue(os.path.isdir(os.path.join(repo, ".git/rebase-merge")))
        self.assert_refused(repo, [], b"a rebase is in progress")

    def test_read_only_gitignore(self):
        repo = self.repo_to_fix()
        gi = os.path.join(repo, ".gitignore")
        with open(gi, "w") as f:
            f.write("*.log\n")
        os.chmod(gi, 0o444)
        if os.geteuid() == 0:  # root writes anyway: the run is made by nobody, who owns it
            subprocess.run(["chown", "-R", "65534:65534", self.sb.dir], check=True)
            os.chmod(self.sb.dir, 0o755)
            before = (read(os.path.join(repo, ".git/index")), read(gi))
            for extra in ([], ["-n"]):
                p = clitest.run_as_nobody(["git", "--fix"] + extra, cwd=repo, env=self.sb.env)
                self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
                self.assertIn(b"cannot append to '%s/.gitignore': Permission denied"
                              % os.fsencode(repo), p.stderr)
                self.assertEqual((read(os.path.join(repo, ".git/index")), read(gi)), before)
        else:
            self.assert_refused(repo, [], b"Permission denied")

    def test_gitignore_symlink(self):
        repo = self.repo_to_fix()
        with open(self.sb.path("elsewhere"), "w") as f:
            f.write("x\n")
        os.symlink(self.sb.path("elsewhere"), os.path.join(repo, ".gitignore"))
        self.assert_refused(repo, [], b"not a regular file")
        self.assertEqual(read(self.sb.path("elsewhere")), b"x\n")

    def test_index_write_fails_gitignore_put_back(self):
        """The index cannot be written after the .gitignore was appended (here: the git
        directory is not writable, so libgit2 cannot create index.lock, as when another git
        command takes the lock in between): the .gitignore is put back as it was, whether it
        was there (cut back) or created by the run (removed)."""
        for old in (b"*.log", None):
            repo = self.sb.repo("r%d" % (old is None), {"m.py": "",
                                                        "__pycache__/m.cpython-311.pyc": PYC})
            gi = os.path.join(repo, ".gitignore")
            if old is not None:
                with open(gi, "wb") as f:
                    f.write(old)
            index = read(os.path.join(repo, ".git/index"))
            gitdir = os.path.join(repo, ".git")
            run = clitest.run
            if os.geteuid() == 0:  # root writes anyway: the run is made by nobody
                subprocess.run(["chown", "-R", "65534:65534", self.sb.dir], check=True)
                os.chmod(self.sb.dir, 0o755)
                run = clitest.run_as_nobody
            os.chmod(gitdir, 0o555)
            try:
                p = run(["git", "--fix"], cwd=repo, env=self.sb.env)
            finally:
                os.chmod(gitdir, 0o755)
            self.assertEqual(p.returncode, 2, (p.stdout, p.stderr))
            self.assertIn(b"cannot write the index of", p.stderr)
            self.assertIn(b"nothing was changed", p.stderr)
            self.assertEqual(read(os.path.join(repo, ".git/index")), index)
            self.assertEqual(read(gi) if os.path.lexists(gi) else None, old)

    def test_corrupt_index(self):
        repo = self.repo_to_fix()
        index = os.path.join(repo, ".git/index")
        data = bytearray(read(index))
        data[-1] ^= 0xFF  # the checksum
        with open(index, "wb") as f:
            f.write(data)
        for extra in ([], ["-n"]):
            p = self.sb.pyci(["--fix"] + extra, repo)
            self.assertEqual(p.returncode, 2)
            self.assertIn(b"cannot read the index", p.stderr)
            self.assertEqual(read(index), bytes(data))
            self.assertFalse(os.path.lexists(os.path.join(repo, ".gitignore")))


class Usage(unittest.TestCase):
    def test_combinations(self):
        for args, msg in ((["-n"], b"--dry-run goes with --fix"),
                          (["--fix", "--staged"], b"--fix and --staged do not go together"),
                          (["--fix", "--check"], b"--fix and --check do not go together")):
            p = clitest.run(["git"] + args)
            self.assertEqual(p.returncode, 2)
            self.assertIn(msg, p.stderr)


if __name__ == "__main__":
    clitest.main()
