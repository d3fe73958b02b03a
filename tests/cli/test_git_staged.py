#!/usr/bin/env python3
"""pycinspect git --staged: the caches the next commit would add or change, from the index and
HEAD alone, and the pre-commit hook built on it.

The staged changes are git's own: `git diff --cached --name-status`.  That --staged reads nothing
but the git directory is checked with strace: no file or directory of the work tree is opened or
listed.  The hook is run by the real pre-commit, from this repository's .pre-commit-hooks.yaml,
and from the `repo: local` lines README.md shows.
"""
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no caches in tests/cli
import clitest  # noqa: E402
import gittest  # noqa: E402
from gittest import fs, is_cache, of_type  # noqa: E402

PYC = gittest.pyc()


def staged_by_git(sb, repo):
    """{path bytes: "added" | "modified"} of the caches git diff --cached names."""
    out = {}
    fields = sb.git(repo, "diff", "--cached", "--name-status", "-z", "--no-renames").split(b"\0")
    for i in range(0, len(fields) - 1, 2):
        status, path = fields[i], fields[i + 1]
        if is_cache(path) and status in (b"A", b"M", b"T"):
            out[path] = "added" if status == b"A" else "modified"
    return out


class Staged(unittest.TestCase):
    def setUp(self):
        self.sb = gittest.Sandbox()

    def tearDown(self):
        self.sb.cleanup()

    def repo_with_changes(self):
        repo = self.sb.repo("r", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC,
                                  "old/__pycache__/o.cpython-311.pyc": PYC, "old/o.py": "",
                                  "changed.py": "", "changed.pyc": PYC})
        gittest.write(repo, {"new/__pycache__/n.cpython-311.pyc": PYC, "new/n.py": "",
                             "changed.pyc": b"other bytes", b"sp ace\n\xff.pyo": b"x",
                             "vendor/lib.pyc": PYC})
        self.sb.git(repo, "add", "-f", "new", "changed.pyc", "vendor", os.fsdecode(b"sp ace\n\xff.pyo"))
        self.sb.git(repo, "rm", "-q", "--cached", "old/__pycache__/o.cpython-311.pyc")
        return repo

    def test_staged_against_git_diff_cached(self):
        repo = self.repo_with_changes()
        p, objs = self.sb.pyci_json(["--staged"], repo)
        self.assertEqual(p.returncode, 0)
        got = {fs(o["path"]): o["staged"] for o in of_type(objs, "tracked")}
        self.assertEqual(got, staged_by_git(self.sb, repo))
        self.assertEqual(len(got), 4)
        ex = {o["path"]: o["exception"] for o in of_type(objs, "tracked")}
        self.assertEqual(ex["vendor/lib.pyc"], True)
        for o in of_type(objs, "tracked"):  # the work tree is not looked at
            self.assertIsNone(o["worktree"])
            self.assertIsNone(o["verdict"])
        self.assertEqual(of_type(objs, "ignore"), [])
        self.assertEqual(of_type(objs, "summary")[0]["staged"], True)

    def test_check(self):
        repo = self.repo_with_changes()
        p = self.sb.pyci(["--staged", "--check"], repo)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"staged caches: 2 (the next commit would add or change them)", p.stdout)
        self.assertIn(b"staged, possibly deliberate (no source beside them: a sourceless "
                      b"distribution?): 2", p.stdout)
        self.assertIn(b"    added     new/__pycache__/n.cpython-311.pyc\n", p.stdout)
        self.assertIn(b"    modified  changed.pyc\n", p.stdout)
        self.assertIn(b"git rm -r --cached --quiet -- changed.pyc", p.stdout)
        self.assertNotIn(b"git commit", p.stdout)
        # unstage them as the text says, and the check passes (the possibly deliberate one stays)
        self.sb.git(repo, "rm", "-q", "--cached", "changed.pyc",
                    "new/__pycache__/n.cpython-311.pyc")
        p = self.sb.pyci(["--staged", "--check"], repo)
        self.assertEqual(p.returncode, 0, p.stdout)
        # a repository whose caches are committed but unchanged: nothing staged, 0
        clean = self.sb.repo("c", {"m.py": "", "__pycache__/m.cpython-311.pyc": PYC})
        p = self.sb.pyci(["--staged", "--check"], clean)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"  no staged caches\n", p.stdout)
        self.assertEqual(self.sb.pyci(["--check"], clean).returncode, 1)

    def test_reads_only_the_git_directory(self):
        repo = self.repo_with_changes()
        log = self.sb.path("strace.log")
        env = dict(self.sb.env)
        # LeakSanitizer cannot run under ptrace (the sanitizer build): leaks are the other
        # tests' to find
        env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "detect_leaks=0"]))
        p = subprocess.run(["strace", "-f", "-qq", "-o", log, "-e",
                            "trace=open,openat,openat2,stat,lstat,newfstatat,statx,access,"
                            "faccessat,faccessat2,readlink,readlinkat,getdents64",
                            clitest.BIN, "git", "--staged", "--check"], cwd=repo, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 1, p.stderr)
        paths = re.findall(rb'"((?:[^"\\]|\\.)*)"', gittest.read(log))
        self.assertTrue(paths)
        top = os.fsencode(repo)
        inside = [x for x in paths if x == top or x.startswith(top + b"/")]
        self.assertTrue(any(x.startswith(top + b"/.git/") for x in inside))
        worktree = [x for x in inside if x != top and x != top + b"/" and
                    not x.startswith(top + b"/.git")]
        self.assertEqual(worktree, [])


class GitHook(unittest.TestCase):
    """A plain git pre-commit hook: git runs it with GIT_INDEX_FILE naming the index of the
    commit being made, which is not .git/index for `git commit PATH` and `git commit -a`."""

    def setUp(self):
        self.sb = gittest.Sandbox()

    def tearDown(self):
        self.sb.cleanup()

    def test_the_index_of_the_commit(self):
        repo = self.sb.repo("r", {"a.py": "a\n", "__pycache__/a.cpython-311.pyc": PYC})
        hook = os.path.join(repo, ".git/hooks/pre-commit")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\nexec %s git --staged --check\n" % os.path.abspath(clitest.BIN))
        os.chmod(hook, 0o755)
        gittest.write(repo, {"a.py": "b\n", "__pycache__/a.cpython-311.pyc": b"changed"})
        # only a.py: the cache's change is not in this commit
        p = subprocess.run(["git", "-C", repo, "commit", "-q", "-m", "a", "--", "a.py"],
                           env=self.sb.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        # -a: it is
        p = subprocess.run(["git", "-C", repo, "commit", "-q", "-a", "-m", "all"],
                           env=self.sb.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 1)
        # git gives a hook's stdout to stderr
        self.assertIn(b"modified  __pycache__/a.cpython-311.pyc", p.stderr)
        self.assertEqual(self.sb.git(repo, "log", "--format=%s"), b"a\nstart\n")


class PreCommit(unittest.TestCase):
    """The real pre-commit runs the hook.  Debian 12 has pre-commit 3.0.4, older than 4.4:
    there `language: unsupported` must be refused (why the manifest says `system`); from 4.4 on
    both spellings must work."""

    def setUp(self):
        self.sb = gittest.Sandbox()
        self.env = dict(self.sb.env)
        self.env["PATH"] = os.path.dirname(os.path.abspath(clitest.BIN)) + ":" + self.env["PATH"]
        self.env["PRE_COMMIT_HOME"] = self.sb.path("pre-commit-home")
        p = subprocess.run(["pre-commit", "--version"], stdout=subprocess.PIPE, env=self.env)
        self.version = tuple(int(x) for x in p.stdout.split()[-1].split(b".")[:2])

    def tearDown(self):
        self.sb.cleanup()

    def hooks_repo(self, manifest):
        hooks = self.sb.repo("hooks", {".pre-commit-hooks.yaml": manifest})
        return hooks

    def project(self):
        return self.sb.repo("proj", {"m.py": "x = 1\n", ".gitignore": "__pycache__/\n"})

    def pre_commit(self, args, cwd):
        return subprocess.run(["pre-commit"] + args, cwd=cwd, env=self.env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    def test_manifest_of_this_repository(self):
        manifest = gittest.read(os.path.join(clitest.ROOT, ".pre-commit-hooks.yaml"))
        hooks = self.hooks_repo(manifest)
        proj = self.project()
        gittest.write(proj, {"n.py": "y = 2\n"})
        self.sb.git(proj, "add", "n.py")
        p = self.pre_commit(["try-repo", hooks, "pycinspect-git"], proj)
        self.assertEqual(p.returncode, 0, p.stdout)
        gittest.write(proj, {"__pycache__/m.cpython-311.pyc": PYC})
        self.sb.git(proj, "add", "-f", "__pycache__")
        p = self.pre_commit(["try-repo", hooks, "pycinspect-git"], proj)
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn(b"added     __pycache__/m.cpython-311.pyc", p.stdout)
        self.assertIn(b"Failed", p.stdout)

    def readme_config(self, language):
        """The `repo: local` lines of README.md for that spelling of the language."""
        readme = gittest.read(os.path.join(clitest.ROOT, "README.md")).decode()
        for block in re.findall(r"```yaml\n(.*?)```", readme, re.S):
            if "repo: local" in block and re.search(r"language: %s\b" % language, block):
                return block
        raise AssertionError("README.md shows no repo: local config with language: %s"
                             % language)

    def test_readme_local_hook(self):
        proj = self.project()
        for language in ("system", "unsupported"):
            config = self.readme_config(language)
            with open(os.path.join(proj, ".pre-commit-config.yaml"), "w") as f:
                f.write(config)
            gittest.write(proj, {"__pycache__/m.cpython-311.pyc": PYC})
            self.sb.git(proj, "add", "-f", "__pycache__", ".pre-commit-config.yaml")
            p = self.pre_commit(["run"], proj)
            if language == "unsupported" and self.version < (4, 4):
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(b"unsupported", p.stdout)
                continue
            self.assertEqual(p.returncode, 1, (language, p.stdout))
            self.assertIn(b"added     __pycache__/m.cpython-311.pyc", p.stdout)
            self.sb.git(proj, "rm", "-q", "-r", "--cached", "__pycache__")
            p = self.pre_commit(["run"], proj)
            self.assertEqual(p.returncode, 0, (language, p.stdout))

    def test_unsupported_in_a_manifest(self):
        manifest = gittest.read(os.path.join(clitest.ROOT, ".pre-commit-hooks.yaml"))
        variant = manifest.replace(b"language: system", b"language: unsupported")
        self.assertNotEqual(variant, manifest)
        hooks = self.hooks_repo(manifest + variant.replace(b"id: pycinspect-git",
                                                           b"id: pycinspect-git-unsupported"))
        proj = self.project()
        gittest.write(proj, {"__pycache__/m.cpython-311.pyc": PYC})
        self.sb.git(proj, "add", "-f", "__pycache__")
        p = self.pre_commit(["try-repo", hooks, "pycinspect-git"], proj)
        if self.version < (4, 4):
            # the manifest is refused whole, the `system` hook with it
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"InvalidManifestError", p.stdout)
        else:
            self.assertEqual(p.returncode, 1)
            self.assertIn(b"added     __pycache__/m.cpython-311.pyc", p.stdout)


if __name__ == "__main__":
    clitest.main()
