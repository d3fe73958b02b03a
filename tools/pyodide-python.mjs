// A CPython command line on top of Pyodide (CPython compiled to WebAssembly, run by Node.js), so
// that the conformance tests can use a CPython version the machine has no native build of as
// one more real interpreter.  tools/pyodide-python runs this; see there for the usage.
//
// The Python options are CPython's own business: the whole argument list goes to the
// interpreter's startup (loadPyodide's `args` reach Py_InitializeFromConfig with parse_argv), so
// -O/-OO set sys.flags.optimize (and with it the .opt-N.pyc names), -v prints the import trace
// to stderr, --check-hash-based-pycs sets _imp.check_hash_based_pycs, -E/-s/-I/-X as in CPython.
// CPython parses -c CODE but Pyodide never calls Py_RunMain, so this script runs the command
// (or the script, or -m MODULE) itself, the way Py_RunMain would: in __main__, with
// SystemExit turned into the exit status and any other uncaught exception printed by
// sys.excepthook with status 1, then atexit functions and a flush of sys.stdout/sys.stderr.
//
// Differences from a native CPython that a caller must know:
//   - Pyodide starts with sys.dont_write_bytecode true; it is set back to what CPython would
//     have (false unless -B, or PYTHONDONTWRITEBYTECODE without -E/-I).  sys.flags keeps
//     dont_write_bytecode=1 (a read-only struct), and inspect=1.
//   - The host filesystem is seen through Emscripten's NODEFS: every top-level host directory
//     except /dev, /proc, /sys and /lib (Pyodide's standard library lives there) and symlinks
//     is mounted at its own path, so host paths mean the same inside; the working directory is
//     the host's.  NODEFS gets times from Node's fs.stat as whole milliseconds, rounded: a file
//     modified in the last half millisecond of a second looks modified in the next second, so
//     importlib's int(st_mtime) can differ from a native interpreter's; and times before 1970
//     come out wrong (-1.5 s reads as +1.79 s).  Times written by os.utime go through the same
//     milliseconds.
//   - Interactive mode and a script read from stdin are not supported (exit status 2).
//
// Exit status: the Python program's, or 2 for a usage error of this script, 70 if Pyodide
// itself fails (13, Node's, if its WebAssembly does not even instantiate).

import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const PROG = "pyodide-python";

function writeAll(fd, buf) {
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);  // a full pipe: retry
    }
  }
  return buf.length;
}

// The program's reads of fd 0 (os.read(0, n), sys.stdin) are the host's standard input, read
// as it comes: a pipe or a socket is not read to its end first (pycinspect verify's workers
// answer one request at a time over it).  A descriptor left non-blocking is waited on.
function readStdin(buffer) {
  for (;;) {
    try {
      return fs.readSync(0, buffer, 0, buffer.length, null);
    } catch (e) {
      if (e.code === "EOF") return 0;
      if (e.code !== "EAGAIN") throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function die(status, msg) {
  writeAll(2, Buffer.from(`${PROG}: ${msg}\n`));
  process.exit(status);
}

// --- arguments -------------------------------------------------------------------------------
// Only what this script needs to know is read here: --pyodide DIR (first, ours), -B/-E/-I for
// the bytecode-writing setting, and where the program is (-c, -m or a script).  Everything else
// is CPython's to parse, and CPython reports its own usage errors.

let argv = process.argv.slice(2);
let dir = process.env.PYCI_PYODIDE_DIR;
if (argv[0] === "--pyodide") {
  if (argv.length < 2) die(2, "--pyodide needs a directory");
  dir = argv[1];
  argv = argv.slice(2);
}
if (!dir) die(2, "no Pyodide: give --pyodide DIR or set PYCI_PYODIDE_DIR");

const WITH_ARG = new Set(["c", "m", "W", "X"]);
const LONG_WITH_ARG = new Set(["--check-hash-based-pycs"]);
let noWrite = false, ignoreEnv = false, program = null;
for (let i = 0; i < argv.length && program === null; i++) {
  const a = argv[i];
  if (a === "--") { program = { kind: "script", arg: argv[i + 1] }; break; }
  if (a.startsWith("--")) {
    if (LONG_WITH_ARG.has(a)) i++;
    continue;  // --version, --help...: CPython answers them at startup
  }
  if (!a.startsWith("-") || a === "-") { program = { kind: "script", arg: a }; break; }
  for (let j = 1; j < a.length; j++) {
    const o = a[j];
    if (o === "B") noWrite = true;
    if (o === "E" || o === "I") ignoreEnv = true;
    if (WITH_ARG.has(o)) {
      const value = j + 1 < a.length ? a.slice(j + 1) : argv[++i];
      if (o === "c" || o === "m") program = { kind: o, arg: value };
      break;
    }
  }
}
if (!ignoreEnv && process.env.PYTHONDONTWRITEBYTECODE) noWrite = true;

// --- Pyodide -----------------------------------------------------------------------------------

let pkg = path.resolve(dir);
if (!fs.existsSync(path.join(pkg, "pyodide.mjs")))
  pkg = path.join(pkg, "node_modules", "pyodide");
if (!fs.existsSync(path.join(pkg, "pyodide.mjs")))
  die(2, `no pyodide.mjs in '${dir}' or '${dir}/node_modules/pyodide'`);
const { loadPyodide } = await import(pathToFileURL(path.join(pkg, "pyodide.mjs")).href);

// Until Python runs, output comes line by line (the -v trace of the startup imports).
const lines = (fd) => (s) => writeAll(fd, Buffer.from(s + "\n"));
const env = { ...process.env };
delete env.PYTHONHOME;  // the standard library is Pyodide's, in /lib
delete env.PYCI_PYODIDE_ARGV0;
// A wasm that fails to instantiate leaves loadPyodide's promise unsettled: Node then exits 13
let started = false;
process.on("exit", () => {
  if (!started) writeAll(2, Buffer.from(`${PROG}: Pyodide in '${pkg}' did not start\n`));
});
let py;
try {
  py = await loadPyodide({
    indexURL: pkg + path.sep,
    args: argv,
    env,
    stdout: lines(1),
    stderr: lines(2),
    stdin: () => null,
    _sysExecutable: process.env.PYCI_PYODIDE_ARGV0 || process.argv[1],
  });
} catch (e) {
  started = true;  // what failed is said here
  // CPython's startup exits on its own for --version, -h and usage errors (status 2)
  if (e && e.name === "ExitStatus" && typeof e.status === "number") process.exit(e.status);
  die(70, `Pyodide in '${pkg}' did not start: ${e}`);
}
started = true;
// (checked only now: CPython has answered --version, -h and its usage errors at startup)
if (program === null || program.arg === undefined || program.arg === "-")
  die(2, "interactive mode and programs read from stdin are not supported; use -c, -m or a script");
py.setStdout({ write: (buf) => writeAll(1, buf) });
py.setStderr({ write: (buf) => writeAll(2, buf) });
py.setStdin({ read: readStdin, isatty: false });

const RESERVED = new Set(["dev", "proc", "sys", "lib"]);
for (const ent of fs.readdirSync("/", { withFileTypes: true })) {
  if (!ent.isDirectory() || RESERVED.has(ent.name)) continue;
  const at = "/" + ent.name;
  try {
    py.FS.mkdirTree(at);
    py.FS.mount(py.FS.filesystems.NODEFS, { root: at }, at);
  } catch (e) {
    die(70, `cannot mount '${at}': ${e}`);
  }
}

const RUN = `
def _pyci_run(kind, arg, cwd, no_write):
    import os, sys
    sys.dont_write_bytecode = no_write
    os.chdir(cwd)
    status = 0
    try:
        import __main__
        if kind == "c":
            # as pymain_run_command: sys.path[0] is "" unless -P/-I (safe_path)
            if not sys.flags.safe_path and sys.path[:1] != [""]:
                sys.path.insert(0, "")
            exec(compile(arg, "<string>", "exec"), __main__.__dict__)
        else:
            import runpy
            if sys.path[:1] == [""]:
                del sys.path[0]
            if kind == "m":
                if not sys.flags.safe_path:
                    sys.path.insert(0, os.getcwd())
                runpy._run_module_as_main(arg, alter_argv=True)
            else:
                if not sys.flags.safe_path:
                    sys.path.insert(0, os.path.dirname(os.path.abspath(arg)))
                runpy.run_path(arg, run_name="__main__")
    except SystemExit as e:
        code = e.code
        if code is None:
            status = 0
        elif isinstance(code, int):
            status = code & 0xff
        else:
            try:
                sys.stderr.write(str(code) + "\\n")
            except Exception:
                pass
            status = 1
    except BaseException:
        t, v, tb = sys.exc_info()
        sys.excepthook(t, v, tb.tb_next)  # without this function's frame
        status = 1
    try:
        import atexit
        atexit._run_exitfuncs()
    except BaseException:
        pass
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            status = status or 120
    return status
`;
let status;
try {
  const ns = py.globals.get("dict")();
  py.runPython(RUN, { globals: ns });
  status = ns.get("_pyci_run")(program.kind, program.arg, process.cwd(), noWrite);
} catch (e) {
  die(70, `Pyodide failed: ${e && e.stack ? e.stack : e}`);
}
process.exit(status);
