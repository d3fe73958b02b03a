"""The two I/O paths (src/peek.c): io_uring and plain system calls give the same output, byte
for byte, for every kind of entry a tree can hold, and --io / PYCI_IO choose between them.

Whether the ring was really used is asked of the kernel: strace counts io_uring_enter calls.
When the kernel has no io_uring for us (io_uring_disabled, seccomp), the test says so and fails,
unless PYCI_NO_URING=1 says that is expected on this machine.
"""
import os
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from clitest import (BIN, FIXTURES, TempDirCase, env_c, header_312, main, make_cache,  # noqa: E402
                     module, run, write_file)

COMMANDS = [
    ["scan", "--json", "-t", "3.12"],
    ["scan", "--all", "-t", "3.12"],
    ["scan", "--json", "--jobs", "1", "-t", "3.12"],
    ["scan", "--json", "--check-source", "always", "-t", "3.12"],
    ["clean", "--all", "--sourceless", "-n", "--json", "-t", "3.12"],
    ["dump", "-t", "3.12"],
]


def io_env(mode):
    env = env_c()
    env["PYCI_IO"] = mode
    return env


def ring_entries(args, env):
    """How many io_uring_enter calls the command made (strace -f -c), or None without strace."""
    strace = shutil.which("strace")
    if not strace:
        return None
    p = subprocess.run([strace, "-f", "-qq", "-c", "-U", "name,calls", "-e", "trace=io_uring_enter",
                        BIN] + args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       timeout=120)
    for line in p.stderr.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if parts and parts[0] == "io_uring_enter":
            return int(parts[1])
    return 0


class IoPaths(TempDirCase):
    def tree(self):
        root = os.path.join(self.tmp, "t")
        # many caches in one directory (batches of 32 and a rest), fresh and stale, legacy ones
        for i in range(75):
            module(root, "big/m%02d.py" % i, fresh=i % 3 != 0)
        write_file(os.path.join(root, "big", "legacy.pyc"), header_312(0, 0) + b"\xe3" + bytes(63))
        # sources shared by several caches (opt levels, another tag)
        src = os.path.join(root, "shared", "s.py")
        write_file(src)
        make_cache(src)
        make_cache(src, tag="cpython-312.opt-1")
        make_cache(src, tag="cpython-311")
        # a hash-based cache (flags 3), checked against its source
        hb = os.path.join(root, "hash", "h.py")
        write_file(hb)
        c = make_cache(hb)
        with open(c, "r+b") as f:
            f.seek(4)
            f.write(b"\x03\x00\x00\x00")
        # what is not a regular file, named like a cache
        pc = os.path.join(root, "odd", "__pycache__")
        os.makedirs(pc)
        os.mkfifo(os.path.join(pc, "fifo.cpython-312.pyc"))
        os.symlink("nowhere", os.path.join(pc, "link.cpython-312.pyc"))
        os.mkdir(os.path.join(pc, "dir.cpython-312.pyc"))
        s = socket.socket(socket.AF_UNIX)
        s.bind(os.path.join(pc, "sock.cpython-312.pyc"))
        s.close()
        # empty, short, orphaned, a source that is a loop of symlinks, an unreadable cache
        write_file(os.path.join(pc, "empty.cpython-312.pyc"), b"")
        write_file(os.path.join(pc, "short.cpython-312.pyc"), b"\xcb\x0d")
        write_file(os.path.join(pc, "gone.cpython-312.pyc"), header_312(0, 0) + b"\xe3" + bytes(63))
        os.symlink("loop.py", os.path.join(root, "odd", "loop.py"))
        write_file(os.path.join(pc, "loop.cpython-312.pyc"), header_312(0, 0) + b"\xe3" + bytes(63))
        write_file(os.path.join(pc, "secret.cpython-312.pyc"), header_312(0, 0) + bytes(20), 0o000)
        write_file(os.path.join(root, "odd", "secret.py"))
        return root

    def compare(self, paths, cwd=None):
        for args in COMMANDS:
            with self.subTest(args=args, paths=paths):
                outs = {}
                for mode in ("uring", "plain"):
                    p = run(args + paths, cwd=cwd, env=io_env(mode))
                    outs[mode] = (p.returncode, p.stdout, p.stderr)
                self.assertEqual(outs["uring"], outs["plain"])

    def test_the_same_output_both_ways(self):
        root = self.tree()
        self.compare([root])
        if FIXTURES:
            self.compare([FIXTURES])

    def test_the_same_output_as_another_user(self):
        # O_NOATIME is refused for files that are not ours: the ring's opens are redone plainly
        root = self.tree()
        subprocess.run(["chmod", "-R", "a+rX", root], check=True)
        os.chmod(self.tmp, 0o755)
        for args in COMMANDS[:2]:
            outs = {}
            for mode in ("uring", "plain"):
                cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", BIN]
                p = subprocess.run(cmd + args + [root], env=io_env(mode), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, timeout=60)
                outs[mode] = (p.returncode, p.stdout, p.stderr)
            self.assertEqual(outs["uring"], outs["plain"], args)
            self.assertIn(b"3.12", outs["uring"][1], "nobody saw no cache: %r" % (outs["uring"],))

    def test_the_ring_is_used_and_plain_is_plain(self):
        root = self.tree()
        args = ["scan", "--json", root]
        ring = ring_entries(args, io_env("uring"))
        if ring is None:
            self.fail("strace is not installed: cannot tell which path ran")
        plain = ring_entries(args, io_env("plain"))
        self.assertEqual(plain, 0, "PYCI_IO=plain made io_uring calls")
        if ring == 0 and os.environ.get("PYCI_NO_URING") == "1":
            print("io_uring is not available here (PYCI_NO_URING=1): only the plain path ran")
            return
        self.assertGreater(ring, 0, "PYCI_IO=uring made no io_uring call: is io_uring disabled "
                           "(/proc/sys/kernel/io_uring_disabled)? Set PYCI_NO_URING=1 if so")
        # the option wins over the environment
        self.assertEqual(ring_entries(["scan", "--io", "plain"] + args[1:], io_env("uring")), 0)

    def test_bad_mode(self):
        p = run(["scan", "--io", "fast", self.tmp])
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"invalid --io 'fast' (auto, uring or plain)", p.stderr)
        p = run(["scan", self.tmp], env=io_env("fast"))
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"invalid PYCI_IO 'fast'", p.stderr)


if __name__ == "__main__":
    main()
