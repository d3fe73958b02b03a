"""Shared helpers for the tests of `pycinspect git` (tests/cli/test_git*.py); not a test itself.

git itself is the oracle: what the index holds is what `git ls-files -s` says, what the ignore
rules say is what `git check-ignore -v --no-index` says, what is untracked and not ignored is what
`git ls-files --others --exclude-standard` says.  Every repository is made by the real git, with
HOME, GIT_CONFIG_GLOBAL and XDG_CONFIG_HOME pointing into the test's own directory, so that
neither the user's configuration nor their excludes file is read, by git or by pycinspect.
"""
import json
import os
import re
import subprocess
import tempfile

import clitest

# The definition of a cache, written here on its own (not taken from pycinspect):
# anything inside a __pycache__ directory, and every *.pyc, *.pyo and *$py.class.
CACHE_RE = re.compile(rb"(^|/)__pycache__/|\.py[co]$|\$py\.class$")
RULES = ["__pycache__/", "*.py[cod]", "*$py.class"]
PROBES = [("__pycache__/", "__pycache__/"), ("pycinspect-probe.pyc", "*.py[cod]"),
          ("pycinspect-probe.pyo", "*.py[cod]"), ("pycinspect-probe$py.class", "*$py.class")]
COMMENT = "# Python bytecode caches (added by pycinspect git --fix)"


def is_cache(path):
    return CACHE_RE.search(path) is not None


class Sandbox:
    """A directory of its own with a HOME for git: every repository of a test lives in it."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="pyci-git-")
        self.dir = os.path.realpath(self.tmp.name)
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        self.env = clitest.env_c()
        for k in list(self.env):
            if k.startswith("GIT_") or k in ("XDG_CONFIG_HOME",):
                del self.env[k]
        self.env.update({
            "HOME": self.home,
            "GIT_CONFIG_GLOBAL": os.path.join(self.home, ".gitconfig"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.org",
            "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.org",
            "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
            "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        })
        with open(self.env["GIT_CONFIG_GLOBAL"], "w") as f:
            f.write("[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n")

    def cleanup(self):
        self.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def git(self, repo, *args, check=True, input=None):
        """git -C repo ARGS; stdout as bytes."""
        p = subprocess.run(["git", "-C", repo] + list(args), env=self.env, input=input,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and p.returncode != 0:
            raise AssertionError("git %r failed (%d): %s" % (args, p.returncode,
                                                             p.stderr.decode(errors="replace")))
        return p.stdout

    def repo(self, name, files=None, commit=True):
        """A new repository holding files (path -> bytes, paths as str or bytes), committed."""
        top = self.path(name)
        self.git(self.dir, "init", "-q", top)
        write(top, files or {})
        if commit:
            self.git(top, "add", "-A", "-f")
            self.git(top, "commit", "-q", "--allow-empty", "-m", "start")
        return top

    def pyci(self, args, cwd, env=None):
        """pycinspect git ARGS in cwd, in the sandbox's environment."""
        return clitest.run(["git"] + list(args), cwd=cwd, env=env or self.env)

    def pyci_json(self, args, cwd, env=None, ok=(0, 1)):
        p = self.pyci(list(args) + ["--json"], cwd, env)
        if p.returncode not in ok:
            raise AssertionError("pycinspect git %r: exit %d: %s" % (
                args, p.returncode, p.stderr.decode(errors="replace")))
        return p, parse(p.stdout)


def write(top, files):
    for path, data in files.items():
        full = os.path.join(os.fsencode(top), os.fsencode(path))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())


def parse(stdout):
    """The JSON Lines of `pycinspect git --json`: checks the framing (every line typed, one
    summary, last) and returns the objects."""
    text = stdout.decode("utf-8", "surrogateescape")
    if text and not text.endswith("\n"):
        raise AssertionError("JSON output does not end with a newline")
    objs = [json.loads(line) for line in clitest.json_lines(text)]
    if not objs or objs[-1].get("type") != "summary":
        raise AssertionError("the last JSON line is not the summary: %r" % (objs[-1:] or None))
    for o in objs:
        if "type" not in o:
            raise AssertionError("a JSON line without a type: %r" % o)
    if sum(1 for o in objs if o["type"] == "summary") != 1:
        raise AssertionError("more than one summary")
    return objs


def of_type(objs, t, repo=None):
    return [o for o in objs if o["type"] == t and (repo is None or o.get("repository") == repo)]


def fs(path):
    """A JSON path as the bytes of the file name (surrogateescape, docs/json.md)."""
    return os.fsencode(path)


def ls_files_s(sb, repo):
    """git ls-files -s -z: [(mode, id, stage, path bytes)]."""
    out = []
    for rec in sb.git(repo, "ls-files", "-s", "-z").split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, oid, stage = meta.split(b" ")
        out.append((mode.decode(), oid.decode(), int(stage), path))
    return out


def head_tree(sb, repo):
    """git ls-tree -r -z HEAD: {path bytes: (mode, id)}, {} without a commit."""
    if sb.git(repo, "rev-parse", "-q", "--verify", "HEAD", check=False) == b"":
        return {}
    out = {}
    for rec in sb.git(repo, "ls-tree", "-r", "-z", "HEAD").split(b"\0"):
        if rec:
            meta, path = rec.split(b"\t", 1)
            mode, _, oid = meta.split(b" ")
            out[path] = (mode.decode(), oid.decode())
    return out


def check_ignore(sb, repo, paths, tree_only=False):
    """git check-ignore -v -n --no-index on each path: {path: (ignored, source)}, source the
    file of the deciding rule ('' when none).  tree_only: what the work tree's .gitignore files
    alone say, as a fresh clone sees them: git run with a git directory of its own (no
    info/exclude rules) and core.excludesFile=/dev/null."""
    data = b"".join(os.fsencode(p) + b"\0" for p in paths)
    cmd = ["git", "-C", repo]
    if tree_only:
        scratch = os.path.join(sb.dir, "scratch-gitdir.git")
        if not os.path.isdir(scratch):
            sb.git(sb.dir, "init", "-q", "--bare", scratch)
        cmd += ["--git-dir=" + scratch, "--work-tree=" + repo, "-c", "core.excludesFile=/dev/null"]
    p = subprocess.run(cmd + ["check-ignore", "-v", "-n", "-z", "--no-index", "--stdin"],
                       input=data, env=sb.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode not in (0, 1):
        raise AssertionError("git check-ignore failed: %s" % p.stderr.decode(errors="replace"))
    fields = p.stdout.split(b"\0")
    out = {}
    for i in range(0, len(fields) - 3, 4):
        source, _line, pattern, path = fields[i:i + 4]
        ignored = pattern != b"" and not pattern.startswith(b"!")
        out[os.fsdecode(path)] = (ignored, os.fsdecode(source))
    return out


def others(sb, repo):
    """Untracked files git does not ignore (what `git add .` would add): a set of bytes."""
    return {p for p in sb.git(repo, "ls-files", "--others", "--exclude-standard", "-z")
            .split(b"\0") if p}


def state(sb, repo):
    """What --fix may change: git status --porcelain=v2 and git ls-files -s, as bytes."""
    return (sb.git(repo, "status", "--porcelain=v2", "-z", "--untracked-files=all"),
            sb.git(repo, "ls-files", "-s", "-z"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def pyc(source_text="x = 1\n"):
    """A real cache of Debian's python3 for a module with source_text (its bytes)."""
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "m.py")
        with open(src, "w") as f:
            f.write(source_text)
        env = dict(os.environ)
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run(["python3", "-c", "import py_compile,sys; py_compile.compile(sys.argv[1],"
                        " cfile=sys.argv[2], doraise=True)", src, src + "c"], check=True,
                       env=env)
        return read(src + "c")
