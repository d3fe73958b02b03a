"""-q/--quiet for scan and clean: only the summary on stdout; twice, nothing; the exit status,
what is removed and what goes to stderr stay as without it."""
import os

from clitest import TempDirCase, main, module, run


class Quiet(TempDirCase):
    def tree(self):
        module(self.tmp, "a/m.py", fresh=False)
        module(self.tmp, "a/n.py")
        module(self.tmp, "b/o.py", fresh=False)

    def outs(self, args):
        full = run(args)
        q = run(args[:1] + ["-q"] + args[1:])
        qq = run(args[:1] + ["--quiet", "-q"] + args[1:])
        return full, q, qq

    def test_scan(self):
        self.tree()
        for fmt in ([], ["--json"]):
            with self.subTest(fmt=fmt):
                full, q, qq = self.outs(["scan", "--check", "-t", "3.12"] + fmt + [self.tmp])
                self.assertEqual([p.returncode for p in (full, q, qq)], [1, 1, 1])
                lines = full.stdout.decode().splitlines()
                if fmt:
                    self.assertEqual(q.stdout.decode().splitlines(), lines[-1:])
                else:  # the summary is what follows the blank line after the caches
                    self.assertEqual(q.stdout.decode().splitlines(),
                                     lines[lines.index("") + 1:])
                self.assertEqual(qq.stdout, b"")

    def test_clean(self):
        for fmt in ([], ["--json"]):
            with self.subTest(fmt=fmt):
                self.tree()
                args = ["clean", "--stale", "-t", "3.12"] + fmt + [self.tmp]
                dry = run(args[:1] + ["-n"] + args[1:])
                q = run(args[:1] + ["-q"] + args[1:])
                self.assertEqual(q.returncode, 0, q.stderr)
                lines = dry.stdout.decode().splitlines()
                got = q.stdout.decode().replace("removed", "would remove").replace(
                    '"dry_run":false', '"dry_run":true').splitlines()
                self.assertEqual(got, lines[-1:] if fmt else lines[lines.index("") + 1:])
                for rel in ("a/__pycache__/m.cpython-312.pyc", "b/__pycache__"):
                    self.assertFalse(os.path.exists(os.path.join(self.tmp, rel)), rel)
                self.assertTrue(os.path.exists(os.path.join(self.tmp,
                                                            "a/__pycache__/n.cpython-312.pyc")))
                self.tree()
                qq = run(args[:1] + ["-qq"] + args[1:])
                self.assertEqual((qq.returncode, qq.stdout), (0, b""))


if __name__ == "__main__":
    main()
