"""`pycinspect clean --debris[=TOPICS]` and `--empty-dirs` (issue 14, "Debris, as pyclean users
expect").

- The data: data/debris.tsv against a copy of pyclean's own lists (pyclean 3.7.0,
  pyclean/debris.py DEBRIS_TOPICS and pyclean/cli.py's default, optional and ignore lists,
  copied below), so that a change on either side shows; with PYCLEAN_SRC naming a checkout of
  pyclean's source, the copy is checked against that source too.  The --help text names the
  same default and optional topics.
- What is removed: a tree holding every name of every topic, at the top and nested, with
  near misses (a file named like a debris directory, a directory named like a debris file,
  names that only start like one), must lose exactly what a model of pyclean's rules, written
  here from pyclean's globs, says: per topic, and for all of them.  With PYCLEAN_SRC, pyclean
  itself runs on a copy of the same tree (python3 -m pyclean --debris TOPIC) and must remove
  the same paths.  pyclean is not in Debian and PyPI is not reachable from CI: without
  PYCLEAN_SRC that comparison is not made, and the test says so.
- Safety: a symlink named like debris is removed as the link, its target untouched; a symlink
  inside debris too; a mount point at a debris name or inside debris is never entered nor
  removed, with or without --cross-mounts; excluded entries inside debris stay, with every
  directory above them; nothing below .venv, venv, .tox, .direnv (pyclean's ignores) nor
  site-packages or dist-packages is debris, nor anything in a PATH inside site-packages.
- The log: --dry-run gives the records the real run gives (would-remove for removed), the same
  stderr and exit status, on trees with immutable and append-only entries, a read-only mount,
  and run as nobody; every "removed" record names a path that is gone, every path gone has one
  record, directories after what was in them; SIGTERM and SIGINT during a large removal stop
  it with that still true.
- --empty-dirs: an empty __pycache__ goes (a "dir" record); one holding a file that is not a
  cache, or a cache not selected, stays.

Mounts are made in a private mount namespace (cleantruth.py); chattr needs a filesystem that
has it, which the temporary directory's is (the test fails otherwise).
"""
import ast
import fnmatch
import json
import os
import signal
import subprocess
import time

from clitest import (BIN, ROOT, TempDirCase, env_c, main, module, not_aborted, run,
                     run_as_nobody, snapshot, snapshot_diff, write_file)
from cleantruth import private_mount_namespace

T = ["-t", "3.12"]
TSV = os.path.join(ROOT, "data", "debris.tsv")

# ---- pyclean's lists, copied from pyclean 3.7.0 (github.com/bittner/pyclean, tag 3.7.0, commit
# 770738b5e5579738ff37b817da49a8fa1c37d0f1): pyclean/debris.py and pyclean/cli.py
PYCLEAN_VERSION = "3.7.0"
PYCLEAN_DEBRIS_TOPICS = {
    'cache': [
        '.cache/**/*',
        '.cache/',
    ],
    'complexipy': [
        '.complexipy_cache/**/*',
        '.complexipy_cache/',
    ],
    'coverage': [
        '.coverage',
        'coverage.json',
        'coverage.lcov',
        'coverage.xml',
        'htmlcov/**/*',
        'htmlcov/',
    ],
    'jupyter': [
        '.ipynb_checkpoints/**/*',
        '.ipynb_checkpoints/',
    ],
    'mypy': [
        '.mypy_cache/**/*',
        '.mypy_cache/',
    ],
    'package': [
        'build/bdist.*/**/*',
        'build/bdist.*/',
        'build/lib/**/*',
        'build/lib/',
        'build/',
        'dist/**/*',
        'dist/',
        'sdist/**/*',
        'sdist/',
        '*.egg-info/**/*',
        '*.egg-info/',
    ],
    'pyright': [
        '.pyright-app-cache-*/**/*',
        '.pyright-app-cache-*/',
        '.pyright-stubs-*/**/*',
        '.pyright-stubs-*/',
        '.pyright/',
    ],
    'pytest': [
        '.pytest_cache/**/*',
        '.pytest_cache/',
        'pytestdebug.log',
    ],
    'ruff': [
        '.ruff_cache/**/*',
        '.ruff_cache/',
    ],
    'tox': [
        '.tox/**/*',
        '.tox/',
    ],
}
PYCLEAN_DEFAULT = ['cache', 'coverage', 'package', 'pytest', 'ruff']
PYCLEAN_OPTIONAL = ['complexipy', 'jupyter', 'mypy', 'pyright', 'tox']
PYCLEAN_IGNORE = ['.direnv', '.git', '.hg', '.svn', '.tox', '.venv', 'node_modules', 'venv']
# ---- end of the copy

DEFAULT_EXCLUDES = ['.git', '.hg', '.svn', 'node_modules']  # pycinspect's (scan.h)
INSTALLED = ['site-packages', 'dist-packages']  # never searched: what is there was installed


def derive(globs):
    """pyclean's globs of one topic as (parent, pattern, kind) rows: 'P/**/*' with 'P/' is a
    tree, 'P/' alone a directory removed only if empty, 'P' a file."""
    rows, trees = [], set()
    for g in globs:
        if g.endswith("/**/*"):
            trees.add(g[:-5])
            continue
        if g.endswith("/"):
            base, kind = g[:-1], ("tree" if g[:-1] in trees else "if-empty")
        else:
            base, kind = g, "file"
        parent, _, pattern = base.rpartition("/")
        rows.append((parent or None, pattern, kind))
    return rows


def pyclean_rows():
    return [(t, parent, pattern, kind) for t in sorted(PYCLEAN_DEBRIS_TOPICS)
            for parent, pattern, kind in derive(PYCLEAN_DEBRIS_TOPICS[t])]


def read_tsv():
    """(topics [(name, default)], rules [(topic, parent, pattern, kind)], ignores [(name, who)])
    of data/debris.tsv."""
    topics, rules, ignores = [], [], []
    with open(TSV, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if cols[0] == "topic":
                topics.append((cols[1], cols[2] == "default"))
            elif cols[0] == "name":
                parent, _, pattern = cols[2].rpartition("/")
                rules.append((cols[1], parent or None, pattern, cols[3]))
            elif cols[0] == "ignore":
                ignores.append((cols[1], cols[2]))
    return topics, rules, ignores


# ---- a model of pyclean's rules, from the copy above -------------------------------------------

def model(top, topics, no_default_excludes=False, excludes=()):
    """The paths (relative to top's parent, as clean prints them when run there on
    basename(top)) that --debris=topics removes below top, by pyclean's rules as derive() reads
    them: at every directory but a PATH's parent rule, a tree goes whole (every path in it that
    is not excluded, and it only if nothing in it is), a file alone, a symlink named like
    either as the link; an if-empty directory is walked, and goes when everything in it went.
    Not searched: excluded directories, __pycache__, pyclean's other ignores, installed
    packages.  excludes: names (fnmatch) left out."""
    rules = [r for r in pyclean_rows() if r[0] in topics]
    stops = set(INSTALLED) | {"__pycache__"}
    if not no_default_excludes:
        stops |= set(PYCLEAN_IGNORE) - set(DEFAULT_EXCLUDES)
    left_out = ([] if no_default_excludes else DEFAULT_EXCLUDES) + list(excludes)
    base = os.path.dirname(top)
    removed = set()

    def rel(p):
        return os.path.relpath(p, base)

    def excluded(name):
        return any(fnmatch.fnmatchcase(name, g) for g in left_out)

    def whole(p):
        """Remove the tree p bottom-up, leaving excluded entries: whether p went."""
        if not os.path.isdir(p) or os.path.islink(p):
            removed.add(rel(p))
            return True
        kept = 0
        for n in sorted(os.listdir(p)):
            if excluded(n):
                kept += 1
            elif not whole(os.path.join(p, n)):
                kept += 1
        if kept == 0:
            removed.add(rel(p))
        return kept == 0

    def match(parent, name, p):
        is_link = os.path.islink(p)
        is_dir = os.path.isdir(p) and not is_link
        is_reg = os.path.isfile(p) and not is_link
        for _, rparent, pattern, kind in rules:
            if rparent and rparent != parent:
                continue
            if not fnmatch.fnmatchcase(name, pattern):
                continue
            if is_link or (kind == "tree" and is_dir) or (kind == "file" and is_reg):
                return True
        return False

    def visit(d, depth):
        """Search d; whether everything in it went."""
        names = sorted(os.listdir(d))
        went = 0
        for n in names:
            p = os.path.join(d, n)
            if excluded(n):
                continue
            if match(os.path.basename(d) if depth else None, n, p):
                went += whole(p)
                continue
            if os.path.isdir(p) and not os.path.islink(p) and n not in stops:
                if visit(p, depth + 1) and any(r[3] == "if-empty" and
                                                 fnmatch.fnmatchcase(n, r[2]) for r in rules):
                    removed.add(rel(p))
                    went += 1
        return went == len(names)

    visit(top, 0)
    return removed


def rich_tree(top, symlinks=True, pyclean_safe=False):
    """Every name of every topic, at the top and two levels down, with near misses.
    pyclean_safe: leave out what pyclean is known to treat otherwise (see docs/clean.md):
    symlinks, .tox (pyclean ignores it, so its tox topic removes nothing), __pycache__ (pyclean
    removes their caches first), site-packages."""
    def f(rel, data=b"x\n"):
        write_file(os.path.join(top, rel), data)

    def d(rel):
        os.makedirs(os.path.join(top, rel), exist_ok=True)

    for where in ("", "a/b/"):
        for _, parent, pattern, kind in pyclean_rows():
            name = pattern.replace("*", "x")
            if parent:
                f(where + parent + "/" + name + "/m.py")
                f(where + parent + "/" + name + "/sub/n.txt")
            elif kind == "file":
                f(where + name, b"data of " + name.encode() + b"\n")
            elif kind == "tree":
                if name == ".tox" and pyclean_safe:
                    continue
                f(where + name + "/v/cache/lastfailed", b"{}\n")
                f(where + name + "/.hidden")
                d(where + name + "/empty")
            else:  # if-empty: an empty one goes, one with a file stays
                d(where + name)
                f(where + "keep/" + name + "/notes.txt")
    # build/ that keeps what is not lib/ or bdist.*/; lib/ not in a build/
    f("build/scripts-3.12/tool")
    f("lib/f.py")
    f("src/lib/f.py")
    f("build.py")
    # near misses
    f("c/.cache")                      # a file named like a debris directory
    f("e/coverage.xml/inside.txt")     # a directory named like a debris file
    f("g/.coverage.host.1234.567")     # coverage's parallel data: not pyclean's
    f("g/pkg.egg-info.bak/PKG-INFO")
    f("g/.pytest_cache_old/x")
    f("g/.pyright-app-cache/x")        # no '-' after cache: not .pyright-app-cache-*
    f("g/Dist/x")                      # case matters
    # not searched
    f(".venv/.pytest_cache/x")
    f("venv/dist/x")
    f(".direnv/htmlcov/x")
    f(".git/dist/x")
    f("node_modules/pkg/dist/index.js")
    if not pyclean_safe:
        f("lib/python3.12/site-packages/pkg.egg-info/RECORD")
        f("lib/python3.12/site-packages/pkg/dist/x")
        f("m/__pycache__/.cache/x")
        f(".tox/py312/.pytest_cache/x")
    if symlinks and not pyclean_safe:
        outside = os.path.join(os.path.dirname(top), "outside")
        write_file(os.path.join(outside, "precious"), b"keep me\n")
        write_file(os.path.join(outside, "dist", "x"), b"keep me too\n")
        os.symlink(outside, os.path.join(top, ".cache-link"))   # not debris: not followed
        os.makedirs(os.path.join(top, "s"))
        os.symlink(outside, os.path.join(top, "s", ".mypy_cache"))
        os.symlink(outside, os.path.join(top, "s", "build"))
        os.symlink(os.path.join(outside, "precious"), os.path.join(top, "s", "coverage.xml"))
        os.symlink(outside, os.path.join(top, "htmlcov", "link"))


def clean(args, cwd, expect_rc=0, nobody=False, tc=None):
    """clean --json ARGS: (records but the summary, summary, proc)."""
    p = (run_as_nobody if nobody else run)(["clean", "--json"] + list(args), cwd=cwd)
    if tc is not None:
        tc.assertEqual(p.returncode, expect_rc, "clean %r exits %d; stderr: %s" % (
            args, p.returncode, p.stderr.decode("utf-8", "replace")[-3000:]))
    objs = [json.loads(line) for line in p.stdout.decode("utf-8", "surrogateescape")
            .split("\n") if line]
    return objs[:-1], objs[-1], p


def tree(parent, name):
    """{path as clean prints it when run in parent on name: kind} of every entry, not following
    symlinks."""
    out = {}
    top = os.path.join(parent, name)
    for dirpath, dirnames, filenames in os.walk(top):
        out[os.path.relpath(dirpath, parent)] = "directory"
        for n in filenames + [x for x in dirnames if os.path.islink(os.path.join(dirpath, x))]:
            p = os.path.join(dirpath, n)
            out[os.path.relpath(p, parent)] = "symlink" if os.path.islink(p) else "file"
    return out


def check_truth(tc, before, after, records, dry_run=False, what=""):
    """Every record of an act names what was there; "removed" ones what is gone now; every
    path gone has exactly one record; a directory's record comes after the records of what was
    in it; the kinds are right.  Returns the set of paths recorded as removed."""
    verb = "would-remove" if dry_run else "removed"
    acts = [r for r in records if r["type"] in ("debris", "pyc", "dir")]
    paths = [r["path"] for r in acts]
    tc.assertEqual(len(paths), len(set(paths)), "%s: a path with two records" % what)
    done = {r["path"] for r in acts if r["action"] == verb}
    gone = set(before) - set(after)
    tc.assertEqual(sorted(set(after) - set(before)), [], "%s: entries appeared" % what)
    tc.assertEqual(sorted(p for p in paths if p not in before), [],
                   "%s: records of paths that were not there" % what)
    if dry_run:
        tc.assertEqual(sorted(gone), [], "%s: the dry run removed something" % what)
    else:
        tc.assertEqual(sorted(done - gone), [], "%s: recorded as removed, still there" % what)
        tc.assertEqual(sorted(gone - done), [], "%s: gone without a record" % what)
    order = {p: i for i, p in enumerate(paths)}
    for r in acts:
        if r["type"] == "debris":
            tc.assertEqual(r["kind"], before[r["path"]], "%s: kind of %s" % (what, r["path"]))
            tc.assertEqual("size" in r, r["kind"] != "directory", r)
        parent = os.path.dirname(r["path"])
        if parent in order and r["action"] == verb:
            tc.assertLess(order[r["path"]], order[parent],
                          "%s: %s recorded before what was in it" % (what, parent))
    return done


class Data(TempDirCase):
    def test_tsv_is_pyclean_lists(self):
        topics, rules, ignores = read_tsv()
        self.assertEqual(sorted((r for r in rules), key=str), sorted(pyclean_rows(), key=str),
                         "data/debris.tsv's names are not pyclean %s's" % PYCLEAN_VERSION)
        self.assertEqual(sorted(t for t, d in topics if d), sorted(PYCLEAN_DEFAULT))
        self.assertEqual(sorted(t for t, d in topics if not d), sorted(PYCLEAN_OPTIONAL))
        self.assertEqual(sorted(n for n, who in ignores if who == "pyclean"),
                         sorted(set(PYCLEAN_IGNORE) - set(DEFAULT_EXCLUDES)))
        self.assertEqual(sorted(n for n, who in ignores if who == "installed"), sorted(INSTALLED))

    def test_copy_is_pyclean_source(self):
        src = os.environ.get("PYCLEAN_SRC")
        if not src:
            print("  PYCLEAN_SRC not set: the copy of pyclean %s's lists was not compared with "
                  "pyclean's source (a checkout of github.com/bittner/pyclean)" % PYCLEAN_VERSION)
            return
        with open(os.path.join(src, "pyclean", "debris.py"), encoding="utf-8") as f:
            mod = ast.parse(f.read())
        found = [ast.literal_eval(n.value) for n in mod.body if isinstance(n, ast.Assign) and
                 [t.id for t in n.targets if isinstance(t, ast.Name)] == ["DEBRIS_TOPICS"]]
        self.assertEqual(found, [PYCLEAN_DEBRIS_TOPICS], "pyclean's DEBRIS_TOPICS changed")
        with open(os.path.join(src, "pyclean", "cli.py"), encoding="utf-8") as f:
            lists = {}
            for n in ast.walk(ast.parse(f.read())):
                if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name):
                    try:
                        lists[n.targets[0].id] = ast.literal_eval(n.value)
                    except ValueError:
                        pass
        self.assertEqual(lists.get("debris_default_topics"), PYCLEAN_DEFAULT)
        self.assertEqual(lists.get("debris_optional_topics"), PYCLEAN_OPTIONAL)
        self.assertEqual(lists.get("ignore_default_items"), PYCLEAN_IGNORE)
        print("  pyclean's source at %s has the lists copied here" % src)

    def test_help_names_the_topics(self):
        text = " ".join(run(["clean", "--help"]).stdout.decode().split())
        topics, _, _ = read_tsv()
        self.assertIn("%s without a list; also %s; all" % (
            ", ".join(t for t, d in topics if d), ", ".join(t for t, d in topics if not d)),
            text)

    def test_bad_topic(self):
        for arg in ("--debris=nope", "--debris=", "--debris=pytest,", "--debris=Pytest"):
            p = run(["clean", arg, self.tmp])
            self.assertEqual(p.returncode, 2, arg)
            self.assertIn(b"invalid --debris", p.stderr)
        p = run(["clean", self.tmp])
        self.assertIn(b"--debris, --empty-dirs)", p.stderr)


class Topics(TempDirCase):
    def setUp(self):
        super().setUp()
        self.top = os.path.join(self.tmp, "t")
        rich_tree(self.top)
        self.template = os.path.join(self.tmp, "template")
        subprocess.run(["cp", "-a", self.top, self.template], check=True)

    def fresh_copy(self):
        subprocess.run(["rm", "-rf", self.top], check=True)
        subprocess.run(["cp", "-a", self.template, self.top], check=True)

    def removes_what_pyclean_rules_say(self, arg, topics, extra=()):
        self.fresh_copy()
        before = tree(self.tmp, "t")
        snap = snapshot(os.path.join(self.tmp, "outside"))
        expect = model(self.top, topics, no_default_excludes="--no-default-excludes" in extra)
        recs, summary, _ = clean([arg] + list(extra) + T + ["t"], self.tmp, tc=self)
        after = tree(self.tmp, "t")
        done = check_truth(self, before, after, recs, what=arg)
        self.assertEqual(sorted(done - expect), [], "%s removed more than pyclean's rules" % arg)
        self.assertEqual(sorted(expect - done), [], "%s left what pyclean's rules remove" % arg)
        self.assertEqual(snapshot_diff(snap, snapshot(os.path.join(self.tmp, "outside"))),
                         ([], [], []), "what a symlink points to changed")
        d = summary["debris"]
        self.assertEqual(d["topics"], sorted(topics))
        self.assertEqual(d["files"], sum(r["kind"] != "directory" for r in recs
                                         if r["type"] == "debris" and r["action"] == "removed"))
        self.assertEqual(d["directories"], sum(r["kind"] == "directory" for r in recs
                                               if r["type"] == "debris" and
                                               r["action"] == "removed"))
        self.assertEqual(d["bytes"], sum(r.get("size", 0) for r in recs
                                         if r["type"] == "debris" and r["action"] == "removed"))
        for t in topics:
            got = [r for r in recs if r["type"] == "debris" and r.get("topic") == t and
                   r["action"] == "removed"]
            self.assertEqual(d["by_topic"][t]["files"], sum(r["kind"] != "directory"
                                                            for r in got), t)
        self.assertEqual((d["failed"], d["kept"], summary["errors"]), (0, 0, 0))
        return recs

    def test_each_topic(self):
        for t in sorted(PYCLEAN_DEBRIS_TOPICS):
            with self.subTest(topic=t):
                recs = self.removes_what_pyclean_rules_say("--debris=" + t, [t])
                self.assertTrue([r for r in recs if r["action"] == "removed"],
                                "the tree has debris of %s" % t)
                self.assertEqual({r["topic"] for r in recs if r["type"] == "debris"}, {t})

    def test_default_all_and_lists(self):
        self.removes_what_pyclean_rules_say("--debris", PYCLEAN_DEFAULT)
        self.removes_what_pyclean_rules_say("--debris=all", PYCLEAN_DEFAULT + PYCLEAN_OPTIONAL)
        self.removes_what_pyclean_rules_say("--debris=tox,mypy", ["mypy", "tox"])
        recs = self.removes_what_pyclean_rules_say("--debris=all", PYCLEAN_DEFAULT +
                                                   PYCLEAN_OPTIONAL,
                                                   extra=["--no-default-excludes"])
        paths = {r["path"] for r in recs if r["action"] == "removed"}
        self.assertIn("t/.venv/.pytest_cache", paths)
        self.assertIn("t/.git/dist", paths)
        self.assertNotIn("t/lib/python3.12/site-packages/pkg.egg-info", paths)

    def test_the_same_at_every_jobs_and_io(self):
        """One walk finds the debris, whatever the threads: the same records in the same
        order."""
        outs = []
        for extra in (["-j", "1"], ["-j", "4"], ["--io", "plain"]):
            self.fresh_copy()
            recs, _, _ = clean(["--debris=all", "-n"] + extra + T + ["t"], self.tmp, tc=self)
            outs.append(recs)
        self.assertEqual(outs[0], outs[1])
        self.assertEqual(outs[0], outs[2])

    def test_text_output(self):
        self.fresh_copy()
        self.before = tree(self.tmp, "t")
        p = run(["clean", "--debris=pytest", "-t", "3.12", "t"], cwd=self.tmp)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.decode().split("\n")
        self.assertIn("removed 't/.pytest_cache/v/cache/lastfailed'", lines)
        self.assertIn("removed directory 't/.pytest_cache'", lines)
        self.assertIn("removed 't/pytestdebug.log'", lines)
        self.assertLess(lines.index("removed directory 't/.pytest_cache/v'"),
                        lines.index("removed directory 't/.pytest_cache'"))
        files = [p for p, kind in self.before.items() if kind == "file" and
                 (".pytest_cache/" in p or p.endswith("/pytestdebug.log")) and
                 "/.venv/" not in p and "/m/__pycache__/" not in p and "/.tox/" not in p]
        size = sum(os.lstat(os.path.join(self.template, os.path.relpath(p, "t"))).st_size
                   for p in files)
        self.assertEqual(len(files), 6)
        self.assertIn("debris: removed 6 files (%d B) and 8 directories" % size, lines)
        self.assertIn("  pytest            6  %d B, 8 directories" % size, lines)
        self.fresh_copy()
        q = run(["clean", "--debris=pytest", "-n", "-t", "3.12", "t"], cwd=self.tmp)
        self.assertEqual(q.stdout, p.stdout.replace(b"removed", b"would remove"))


class Pyclean(TempDirCase):
    """pyclean itself, from its source (PYCLEAN_SRC), on the same trees."""

    def test_pyclean_removes_the_same(self):
        src = os.environ.get("PYCLEAN_SRC")
        if not src:
            print("  PYCLEAN_SRC not set: pyclean was not run (it is not packaged in Debian; "
                  "set PYCLEAN_SRC to a checkout of github.com/bittner/pyclean, tag %s)" %
                  PYCLEAN_VERSION)
            return
        env = dict(env_c(), PYTHONPATH=src)
        version = subprocess.run(["python3", "-m", "pyclean", "--version"], env=env,
                                 stdout=subprocess.PIPE, check=True).stdout.decode().strip()
        self.assertEqual(version, PYCLEAN_VERSION)
        for arg, topics in ((None, PYCLEAN_DEFAULT), ("all", PYCLEAN_DEFAULT + PYCLEAN_OPTIONAL),
                            ("package", ["package"]), ("pyright", ["pyright"])):
            with self.subTest(debris=arg):
                ours, theirs = (os.path.join(self.tmp, n) for n in ("ours", "theirs"))
                for top in (ours, theirs):
                    subprocess.run(["rm", "-rf", top], check=True)
                    rich_tree(top, pyclean_safe=True)
                before = tree(self.tmp, "theirs")
                cmd = ["python3", "-m", "pyclean", "theirs", "--debris"] + ([arg] if arg else [])
                subprocess.run(cmd, cwd=self.tmp, env=env, check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                gone_theirs = {"ours" + p[len("theirs"):]
                               for p in set(before) - set(tree(self.tmp, "theirs"))}
                expect = model(ours, topics)
                recs, _, _ = clean(["--debris" + ("=" + arg if arg else "")] + T + ["ours"],
                                   self.tmp, tc=self)
                done = {r["path"] for r in recs if r["action"] == "removed"}
                self.assertEqual(sorted(done ^ gone_theirs), [],
                                 "pycinspect and pyclean differ on these")
                self.assertEqual(sorted(expect ^ gone_theirs), [],
                                 "the model of pyclean's rules and pyclean differ on these")
                print("  --debris %s: both removed the same %d paths" % (arg or "", len(done)))


class Safety(TempDirCase):
    def test_symlinks_are_removed_as_links(self):
        top = os.path.join(self.tmp, "t")
        outside = os.path.join(self.tmp, "outside")
        write_file(os.path.join(outside, "precious"), b"keep\n")
        write_file(os.path.join(outside, ".pytest_cache", "x"), b"not below PATH\n")
        os.makedirs(top)
        links = {".cache": outside, "build": outside, "dist": os.path.join(outside, "precious"),
                 "coverage.xml": os.path.join(outside, "precious"),
                 "htmlcov": "/nonexistent/dangling", "other": outside}
        for name, target in links.items():
            os.symlink(target, os.path.join(top, name))
        write_file(os.path.join(top, ".ruff_cache", "f"))
        os.symlink(outside, os.path.join(top, ".ruff_cache", "link"))
        snap = snapshot(outside)
        before = tree(self.tmp, "t")
        recs, _, _ = clean(["--debris=all"] + T + ["t"], self.tmp, tc=self)
        done = check_truth(self, before, tree(self.tmp, "t"), recs)
        self.assertEqual(sorted(done), sorted(["t/.cache", "t/build", "t/dist", "t/coverage.xml",
                                               "t/htmlcov", "t/.ruff_cache/f",
                                               "t/.ruff_cache/link", "t/.ruff_cache"]))
        for r in recs:
            if os.path.basename(r["path"]) in links or r["path"].endswith("/link"):
                self.assertEqual(r["kind"], "symlink", r)
        self.assertTrue(os.path.islink(os.path.join(top, "other")))
        self.assertEqual(snapshot_diff(snap, snapshot(outside)), ([], [], []),
                         "the target of a symlink changed")

    def test_excludes_apply_inside_debris(self):
        top = os.path.join(self.tmp, "t")
        for rel in ("dist/keep.txt", "dist/a/b.whl", "dist/.git/HEAD", "a/dist/x",
                    "htmlcov/index.html", "sub/htmlcov/index.html"):
            write_file(os.path.join(top, rel))
        before = tree(self.tmp, "t")
        recs, summary, p = clean(["--debris", "--exclude", "keep.txt", "--exclude", "sub/htmlcov"]
                                 + T + ["t"], self.tmp, tc=self)
        done = check_truth(self, before, tree(self.tmp, "t"), recs)
        self.assertEqual(sorted(done), sorted(["t/dist/a/b.whl", "t/dist/a", "t/a/dist/x",
                                               "t/a/dist", "t/htmlcov/index.html",
                                               "t/htmlcov"]))
        kept = {r["path"]: r for r in recs if r["action"] == "kept"}
        self.assertEqual(kept, {"t/dist": {"type": "debris", "path": "t/dist",
                                           "topic": "package", "kind": "directory",
                                           "action": "kept",
                                           "error": "it still holds 2 entries"}})
        self.assertEqual((summary["debris"]["kept"], summary["debris"]["failed"]), (0, 0))
        self.assertEqual(p.stderr, b"")  # both globs matched something

    def test_installed_packages_and_venvs(self):
        sp = os.path.join(self.tmp, "venv-like", "lib", "python3.12", "site-packages")
        for rel in ("pkg-1.0.egg-info/PKG-INFO", "pkg/dist/x", "pkg/.cache/x"):
            write_file(os.path.join(sp, rel))
        for root in (sp, os.path.join(sp, "pkg")):
            with self.subTest(path=root):
                snap = snapshot(sp)
                recs, summary, _ = clean(["--debris=all", "--no-default-excludes"] + T + [root],
                                         self.tmp, tc=self)
                self.assertEqual([r for r in recs if r["type"] == "debris"], [])
                self.assertEqual(snapshot_diff(snap, snapshot(sp)), ([], [], []))
        # through a symlink to it, written link/: the real path is what counts
        os.symlink(sp, os.path.join(self.tmp, "sp-link"))
        recs, _, _ = clean(["--debris=all"] + T + ["sp-link/"], self.tmp, tc=self)
        self.assertEqual([r for r in recs if r["type"] == "debris"], [])

    def test_pycache_debris_goes_with_debris(self):
        """__pycache__/x.pyc, a name no import looks up, and the leftover of an interrupted
        write (statuses.md) are debris of pycinspect's own: --debris removes them as --unused
        does, whatever the topics."""
        top = os.path.join(self.tmp, "t")
        write_file(os.path.join(top, "__pycache__", "x.pyc"), b"whatever\n")
        cache = module(top, "m.py")
        with open(cache, "rb") as f:
            write_file(cache + ".140234", f.read())
        recs, summary, _ = clean(["--debris=ruff"] + T + ["t"], self.tmp, tc=self)
        self.assertEqual([(r["type"], r["path"], r["action"]) for r in recs],
                         [("pyc", "t/__pycache__/m.cpython-312.pyc.140234", "removed"),
                          ("pyc", "t/__pycache__/x.pyc", "removed"),
                          ("dir", "t/__pycache__", "kept")])  # m's fresh cache stays
        self.assertEqual(summary["files"], 2)

    def test_a_path_is_never_debris(self):
        top = os.path.join(self.tmp, "dist")
        write_file(os.path.join(top, "lib", "x"))
        write_file(os.path.join(top, "build", "lib", "y"))
        recs, _, _ = clean(["--debris"] + T + ["dist"], self.tmp, tc=self)
        self.assertEqual(sorted(r["path"] for r in recs if r["action"] == "removed"),
                         ["dist/build", "dist/build/lib", "dist/build/lib/y"])
        self.assertTrue(os.path.isdir(top))

    def test_deep_debris_within_bounds(self):
        """3000 levels: no recursion limit, no PATH_MAX, and descriptors bounded (a limit of
        32 descriptors suffices)."""
        top = os.path.join(self.tmp, "t")
        d = os.path.join(top, ".mypy_cache")
        os.makedirs(d)
        fd = os.open(d, os.O_RDONLY)
        for i in range(3000):
            os.mkdir("d%d" % (i % 10), dir_fd=fd)
            nfd = os.open("d%d" % (i % 10), os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = nfd
            os.close(os.open("f", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
        os.close(fd)
        p = subprocess.run(["sh", "-c", 'ulimit -n 32 && exec "$@"', "sh", BIN, "clean", "-q",
                            "--json", "--debris=mypy"] + T + ["t"], cwd=self.tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_c())
        not_aborted(p, ["clean"])
        self.assertEqual(p.returncode, 0, p.stderr)
        summary = json.loads(p.stdout.decode().split("\n")[-2])
        self.assertEqual((summary["debris"]["files"], summary["debris"]["directories"]),
                         (3000, 3001))
        self.assertEqual(os.listdir(top), [])


class Mounts(TempDirCase):
    def setUp(self):
        super().setUp()
        self.mounts = []

    def tearDown(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", m], stderr=subprocess.DEVNULL, check=False)
        super().tearDown()

    def mount(self, *args):
        p = subprocess.run(["mount"] + list(args), stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 0, "mount %r: %s (this test needs root)" % (args,
                                                                                  p.stderr))
        self.mounts.append(args[-1])

    def test_mount_at_a_debris_name_and_inside_debris(self):
        top = os.path.join(self.tmp, "t")
        other = os.path.join(self.tmp, "other")
        write_file(os.path.join(other, "precious"), b"keep\n")
        write_file(os.path.join(top, "dist", "a.whl"))
        os.makedirs(os.path.join(top, "dist", "mnt"))
        os.makedirs(os.path.join(top, ".cache"))
        self.mount("--bind", other, os.path.join(top, "dist", "mnt"))
        self.mount("-t", "tmpfs", "none", os.path.join(top, ".cache"))
        write_file(os.path.join(top, ".cache", "on-tmpfs"))
        for extra in ([], ["--cross-mounts"]):
            with self.subTest(options=extra):
                snap = snapshot(other)
                recs, summary, p = clean(["--debris"] + extra + T + ["t"], self.tmp, tc=self)
                acts = {r["path"]: r for r in recs if r["type"] == "debris"}
                errors = sorted(r["path"] for r in recs if r["type"] == "error")
                self.assertEqual(errors, ["t/.cache", "t/dist/mnt"])
                self.assertEqual(summary["mounts_not_crossed"], 2)
                if not extra:
                    self.assertEqual(acts["t/dist/a.whl"]["action"], "removed")
                self.assertEqual(acts["t/dist"]["action"], "kept")
                self.assertNotIn("t/.cache", acts)
                self.assertNotIn("t/dist/mnt", acts)
                self.assertEqual(snapshot_diff(snap, snapshot(other)), ([], [], []))
                self.assertTrue(os.path.exists(os.path.join(top, ".cache", "on-tmpfs")))
                self.assertIn(b"'t/dist/mnt': mount point not crossed", p.stderr)

    def test_debris_on_another_filesystem(self):
        top = os.path.join(self.tmp, "t")
        os.makedirs(os.path.join(top, "m"))
        self.mount("-t", "tmpfs", "none", os.path.join(top, "m"))
        write_file(os.path.join(top, "m", ".pytest_cache", "x"))
        recs, _, _ = clean(["--debris"] + T + ["t"], self.tmp, tc=self)
        self.assertEqual([r for r in recs if r["type"] == "debris"], [])
        recs, _, _ = clean(["--debris", "--cross-mounts"] + T + ["t"], self.tmp, tc=self)
        self.assertEqual(sorted(r["path"] for r in recs if r["action"] == "removed"),
                         ["t/m/.pytest_cache", "t/m/.pytest_cache/x"])


class Predict(TempDirCase):
    """--dry-run says what the real run does: failures, records, stderr, exit status."""

    def setUp(self):
        super().setUp()
        os.chmod(self.tmp, 0o755)
        self.attrs, self.mounts = [], []

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

    def debris_tree(self, name):
        top = os.path.join(self.tmp, name)
        for rel in ("dist/a.whl", "dist/sub/b.whl", "dist/sub/c.whl", "dist/ok/d",
                    ".pytest_cache/v/x", "coverage.xml", "src/m.py"):
            write_file(os.path.join(top, rel))
        os.makedirs(os.path.join(top, "pkg", "__pycache__"))
        return top

    def dry_then_real(self, name, args, rc, nobody=False):
        before = tree(self.tmp, name)
        snap = snapshot(os.path.join(self.tmp, name))
        dr, ds, dp = clean(["-n"] + args + T + [name], self.tmp, rc, nobody, tc=self)
        self.assertEqual(snapshot_diff(snap, snapshot(os.path.join(self.tmp, name))),
                         ([], [], []), "the dry run changed the tree")
        check_truth(self, before, before, dr, dry_run=True, what="dry run")
        rr, rs, rp = clean(args + T + [name], self.tmp, rc, nobody, tc=self)
        self.assertEqual([dict(r, action="removed") if r.get("action") == "would-remove" else r
                          for r in dr], rr, "the dry run's records are not the real run's")
        self.assertEqual(dp.stderr, rp.stderr)
        self.assertEqual(dict(ds, dry_run=False), rs)
        check_truth(self, before, tree(self.tmp, name), rr, what=" ".join(args))
        return {r["path"]: r for r in rr}, rs

    def test_immutable_and_append_only(self):
        top = self.debris_tree("attr")
        self.chattr("+i", os.path.join(top, "dist", "sub"))
        self.chattr("+a", os.path.join(top, "coverage.xml"))
        recs, summary = self.dry_then_real("attr", ["--debris", "--empty-dirs"], rc=1)
        eperm = "Operation not permitted"
        for p in ("attr/dist/sub/b.whl", "attr/dist/sub/c.whl", "attr/coverage.xml"):
            self.assertEqual((recs[p]["action"], recs[p]["error"]), ("failed", eperm), p)
        for p in ("attr/dist/sub", "attr/dist"):
            self.assertEqual(recs[p]["action"], "kept", p)
        for p in ("attr/dist/a.whl", "attr/dist/ok", "attr/.pytest_cache", "attr/pkg/__pycache__"):
            self.assertEqual(recs[p]["action"], "removed", p)
        self.assertEqual((summary["debris"]["failed"], summary["debris"]["kept"]), (3, 0))

    def test_read_only_mount(self):
        top = self.debris_tree("ro")
        self.mount_ro(top)
        recs, summary = self.dry_then_real("ro", ["--debris", "--empty-dirs"], rc=1)
        erofs = "Read-only file system"
        failed = sorted(p for p, r in recs.items() if r["action"] == "failed")
        self.assertEqual(failed, sorted(["ro/dist/a.whl", "ro/dist/sub/b.whl",
                                         "ro/dist/sub/c.whl", "ro/dist/ok/d", "ro/coverage.xml",
                                         "ro/.pytest_cache/v/x", "ro/pkg/__pycache__"]))
        self.assertTrue(all(recs[p]["error"] == erofs for p in failed))
        self.assertEqual(summary["debris"]["files"], 0)

    def mount_ro(self, path):
        subprocess.run(["mount", "--bind", path, path], check=True)
        self.mounts.append(path)
        subprocess.run(["mount", "-o", "remount,bind,ro", path], check=True)

    def test_as_nobody(self):
        top = self.debris_tree("nb")
        subprocess.run(["chown", "-R", "65534:65534", os.path.join(top, "dist")], check=True)
        os.chown(os.path.join(top, "dist", "sub"), 0, 0)  # root's: nobody cannot empty it
        recs, summary = self.dry_then_real("nb", ["--debris"], rc=1, nobody=True)
        eacces = "Permission denied"
        for p in ("nb/dist/sub/b.whl", "nb/dist/sub/c.whl", "nb/coverage.xml",
                  "nb/.pytest_cache/v/x"):
            self.assertEqual((recs[p]["action"], recs[p]["error"]), ("failed", eacces), p)
        for p in ("nb/dist/a.whl", "nb/dist/ok/d", "nb/dist/ok"):
            self.assertEqual(recs[p]["action"], "removed", p)

    def test_text_dry_run_is_the_real_run(self):
        top = self.debris_tree("txt")
        self.chattr("+i", os.path.join(top, "dist", "sub"))
        dp = run(["clean", "-n", "--debris", "--empty-dirs"] + T + ["txt"], cwd=self.tmp)
        rp = run(["clean", "--debris", "--empty-dirs"] + T + ["txt"], cwd=self.tmp)
        self.assertEqual((dp.returncode, rp.returncode), (1, 1))
        self.assertEqual(dp.stdout.replace(b"would remove", b"removed"), rp.stdout)
        self.assertEqual(dp.stderr, rp.stderr)
        self.assertIn(b"pycinspect: cannot remove 'txt/dist/sub/b.whl': Operation not "
                      b"permitted\n", rp.stderr)
        self.assertIn(b"pycinspect: kept directory 'txt/dist': it still holds 1 entry\n",
                      rp.stderr)
        self.assertIn(b"removed directory 'txt/pkg/__pycache__'\n", rp.stdout)


class EmptyDirs(TempDirCase):
    def test_empty_pycache(self):
        top = os.path.join(self.tmp, "t")
        os.makedirs(os.path.join(top, "a", "__pycache__"))                 # empty: goes
        write_file(os.path.join(top, "b", "__pycache__", "README"))        # not a cache: stays
        module(top, "c/m.py")                                              # a fresh cache
        os.makedirs(os.path.join(top, "d", "__pycache__", "__pycache__"))  # holds a directory
        os.makedirs(os.path.join(top, "__pycache__"))                      # at the PATH
        before = tree(self.tmp, "t")
        for args in (["--stale", "--orphaned"], []):
            with self.subTest(also=args):
                recs, summary, _ = clean(args + ["--empty-dirs", "-n"] + T + ["t"], self.tmp,
                                         tc=self)
                self.assertEqual(sorted(r["path"] for r in recs),
                                 ["t/__pycache__", "t/a/__pycache__",
                                  "t/d/__pycache__/__pycache__"])
                self.assertEqual(summary["directories"], 3)
                self.assertNotIn("debris", summary)
        recs, summary, _ = clean(["--empty-dirs"] + T + ["t"], self.tmp, tc=self)
        self.assertEqual(recs[0], {"type": "dir", "path": "t/__pycache__", "action": "removed",
                                   "entries": 0, "kept_by": [], "other_entries": 0,
                                   "caches_left": 0, "caches_not_removed": 0})
        check_truth(self, before, tree(self.tmp, "t"), recs)
        self.assertTrue(os.path.isdir(os.path.join(top, "b", "__pycache__")))
        self.assertTrue(os.path.isdir(os.path.join(top, "c", "__pycache__")))
        # without --empty-dirs an empty __pycache__ is not selected
        os.makedirs(os.path.join(top, "a", "__pycache__"))
        recs, _, _ = clean(["--orphaned"] + T + ["t"], self.tmp, tc=self)
        self.assertEqual(recs, [])


    def test_build_emptied_by_caches_and_debris(self):
        """build/ goes when what emptied it is caches (--orphaned), its __pycache__ and its
        lib/ (--debris); a build/ that keeps a cache not selected stays."""
        top = os.path.join(self.tmp, "t")
        for b in ("build", "kept/build"):
            write_file(os.path.join(top, b, "lib", "x.py"))
            write_file(os.path.join(top, b, "gone.py"))
            cache = module(top, b + "/gone.py")  # orphaned once its source goes
            os.unlink(os.path.join(top, b, "gone.py"))
            self.assertTrue(os.path.exists(cache))
        module(top, "kept/build/stays.py")  # a fresh cache and its source: not selected
        before = tree(self.tmp, "t")
        for dry in (["-n"], []):
            recs, summary, _ = clean(dry + ["--orphaned", "--debris=package"] + T + ["t"],
                                     self.tmp, tc=self)
            done = check_truth(self, before, tree(self.tmp, "t") if not dry else before, recs,
                               dry_run=bool(dry))
            self.assertIn("t/build", done)
            self.assertIn("t/build/__pycache__", done)
            self.assertNotIn("t/kept/build", done)
            self.assertIn("t/kept/build/lib", done)
            self.assertEqual(summary["files"], 2)


class Interrupted(TempDirCase):
    """A signal during a large removal stops it before the next act; the log stays true."""

    def template(self):
        t = os.path.join(self.tmp, "template")
        for env in range(8):
            for d in range(50):
                base = os.path.join(t, ".tox", "py%d" % env, "lib", "d%02d" % d)
                os.makedirs(base)
                for f in range(20):
                    os.close(os.open(os.path.join(base, "f%02d" % f),
                                     os.O_WRONLY | os.O_CREAT, 0o644))
        return t

    def test_signals(self):
        template = self.template()
        for n, (sig, k, json_mode, jobs) in enumerate([
                (signal.SIGTERM, 1, True, []), (signal.SIGINT, 700, False, ["-j", "1"]),
                (signal.SIGHUP, 3000, True, ["-j", "1"]), (signal.SIGTERM, 6000, False, [])]):
            with self.subTest(signal=sig, k=k, json=json_mode):
                name = "run%d" % n
                subprocess.run(["cp", "-a", template, os.path.join(self.tmp, name)], check=True)
                before = tree(self.tmp, name)
                args = ["clean", "--debris=tox"] + (["--json"] if json_mode else []) + jobs + \
                    T + [name]
                p = subprocess.Popen([BIN] + args, cwd=self.tmp, env=env_c(),
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=lambda: [signal.signal(s, signal.SIG_DFL) for s
                                                         in (signal.SIGINT, signal.SIGTERM,
                                                             signal.SIGHUP)])
                out, seen, sent = b"", 0, None
                mark = b'{"type":"debris"' if json_mode else b"removed "
                deadline = time.monotonic() + 120
                while True:
                    self.assertLess(time.monotonic(), deadline)
                    chunk = p.stdout.read1(65536)
                    if not chunk:
                        break
                    out += chunk
                    seen = out.count(b"\n" + mark) + out.startswith(mark)
                    if sent is None and seen >= k:
                        p.send_signal(sig)
                        sent = seen
                err = p.stderr.read()
                rc = p.wait()
                not_aborted(subprocess.CompletedProcess(args, rc, out, err), args)
                self.assertIsNotNone(sent, "the run ended before %d records" % k)
                self.assertEqual(rc, -sig, err.decode("utf-8", "replace")[-2000:])
                after = tree(self.tmp, name)
                if json_mode:
                    objs = [json.loads(line) for line in out.decode().split("\n") if line]
                    self.assertEqual(objs[-2]["type"], "interrupted")
                    recs = objs[:-2]
                    summary = objs[-1]
                    done = check_truth(self, before, after, recs, what="signal %d" % sig)
                    self.assertEqual(summary["debris"]["files"] + summary["debris"]["directories"],
                                     len(done))
                else:
                    lines = out.decode().split("\n")
                    recs = []
                    for line in lines:
                        for verb, kind in (("removed directory '", "directory"),
                                           ("removed '", "file")):
                            if line.startswith(verb):
                                recs.append({"type": "debris", "path": line[len(verb):-1],
                                             "kind": kind, "action": "removed"})
                                if kind == "file":
                                    recs[-1]["size"] = 0
                                break
                    check_truth(self, before, after, recs, what="signal %d" % sig)
                    self.assertIn(b"interrupted by", err)
                gone = len(set(before) - set(after))
                self.assertLess(gone, len(before) - 1, "the signal came after the run")
                # it stopped before its next act: no more went than what was in flight (the
                # pipe's content, one batch, a few more while the signal is delivered)
                self.assertLessEqual(gone, sent + 128 + 65536 // 40 + 64)
                print("  signal %d after %d records: %d removed" % (sig, sent, len(
                    set(before) - set(after))))
                subprocess.run(["rm", "-rf", os.path.join(self.tmp, name)], check=True)


if __name__ == "__main__":
    private_mount_namespace()
    main()
