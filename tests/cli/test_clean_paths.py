"""PATHs for clean: '/' among other PATHs stops the whole run before any is touched (only ever
tried with --dry-run here: the real run is tested in a chroot by test_clean.py), and a cache in a
__pycache__ nested in another gets the same verdict whichever PATH the walk starts from."""
import os

from clitest import TempDirCase, main, module, run, scan_json


class CleanPaths(TempDirCase):
    def test_root_among_paths_stops_everything(self):
        module(self.tmp, "a/m.py", fresh=False)
        for paths in ([self.tmp, "/"], ["/", self.tmp]):
            p = run(["clean", "--unused", "--dry-run", "-t", "3.12"] + paths)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn(b"refusing to clean '/'", p.stderr)
            self.assertNotIn(b"would remove '", p.stdout)
            self.assertEqual(p.stdout, b"")

    def test_empty_root(self):
        """The first directory listed is empty (an empty listing once reached qsort as NULL)."""
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        for args in (["scan", "--json", empty], ["clean", "--all", "-t", "3.12", "--json", empty]):
            p = run(args)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stderr, b"")
            self.assertEqual(len(p.stdout.splitlines()), 1)  # the summary alone

    def test_nested_pycache_same_verdict_from_any_root(self):
        inner = os.path.join(self.tmp, "a", "__pycache__")
        module(self.tmp, "a/__pycache__/x.py", fresh=False)
        cache = os.path.join(inner, "__pycache__", "x.cpython-312.pyc")
        seen = []
        for root in (self.tmp, os.path.join(self.tmp, "a"), inner,
                     os.path.join(inner, "__pycache__")):
            pycs, _, _, _ = scan_json(["--all", "-t", "3.12", root])
            recs = [r for r in pycs if r["path"].endswith("/__pycache__/__pycache__/x.cpython-312.pyc")]
            self.assertEqual(len(recs), 1, root)
            self.assertEqual(os.path.normpath(recs[0]["path"]), cache)
            seen.append((recs[0]["status"], os.path.normpath(recs[0]["source"]), recs[0]["reasons"]))
        self.assertEqual(seen[0][0], "stale")
        self.assertEqual(seen[0][1], os.path.join(inner, "x.py"))
        self.assertEqual(len(set(map(repr, seen))), 1, seen)


if __name__ == "__main__":
    main()
