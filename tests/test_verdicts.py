"""The pieces of trusted grading without a kernel: the wire format, remote calls, the hidden
tests' namespace, and a lint of every hidden test the course ships.

Remote calls are served here by the very code a kernel runs (``remote.KERNEL_SOURCE``, loaded
as a module of its own), so the tests exercise the real protocol, JSON included.
"""
from __future__ import annotations

import builtins
import json
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.grading import wire
from grader.grading.remote import KERNEL_SOURCE, MISSING, Remote, Session, StudentError, assign, modified
from grader.grading.verdicts import HiddenTests, definitions, global_names, split

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("*/*.ipynb"))


def kernel(user_ns: dict) -> Session:
    """A session whose 'kernel' is the kernel-side code, run in this process."""
    module = types.ModuleType("__rnns_probe__")
    exec(KERNEL_SOURCE, module.__dict__)

    def link(request, what):
        return json.loads(module.serve(json.dumps(request), user_ns))
    session = Session(link)
    module._ask = session.answer_callback        # a kernel's stdin channel, short-circuited
    return session


# --- the wire ------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    None, True, 3, -2**70, 1.5, float("nan"), float("-inf"), 2 + 3j, "字", (1, [2.0, "x"]),
    {"W": np.arange(6.0).reshape(2, 3), 3: np.float32(1.5)}, np.array(["a", "bc"]),
    np.zeros((0, 4), np.int8), np.array([True, False]), np.complex64(1j)])
def test_wire_round_trip(value):
    back = wire.decode(json.loads(json.dumps(wire.encode(value))))
    if isinstance(value, float) and value != value:
        assert back != back
    elif isinstance(value, dict):
        assert back.keys() == value.keys()
        assert back["W"].dtype == np.float64 and (back["W"] == value["W"]).all()
        assert type(back[3]) is np.float32 and back[3] == 1.5
    elif isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and back.shape == value.shape and (back == value).all()
    else:
        assert back == value and type(back) is type(value)


def test_wire_refuses_what_is_not_data():
    with pytest.raises(wire.WireError):
        wire.encode(lambda: 1)
    with pytest.raises(wire.WireError):
        wire.encode(np.array([object()]))
    bad = [{"a": ["|O", [1], "AAAAAAAAAAA="]},                    # object dtype
           {"a": ["<f8", [1000], "AAAAAAAAAAA="]},                # shape larger than its data
           {"i": "9" * 1000},                                     # a huge int
           {"h": 3},                                              # a handle where none may be
           {"zz": 1}, [1, 2], {"s": 1}]
    for node in bad:
        with pytest.raises(wire.WireError):
            wire.decode(node)
    deep = None
    for _ in range(100):
        deep = {"l": [deep]}
    with pytest.raises(wire.WireError, match="deeply"):
        wire.decode(deep)
    with pytest.raises(wire.WireError, match="too large"):
        wire.decode({"s": "x" * 2000}, max_bytes=1000)


# --- remote calls ----------------------------------------------------------------------------

STUDENT = '''
import numpy as np

def scale(x, k=2.0):
    return x * k

def fill(params, value):
    for v in params.values():
        v[...] = value

def draw(rng):
    return rng.random(3)

def zero_and_lie(W, ids):
    W[...] = 0
    return W[ids]

class Layer:
    def __init__(self, W):
        self.params = {"W": W}
        self.grads = {"W": np.zeros_like(W)}
    def forward(self, x):
        return x @ self.params["W"]
    def backward(self, dout):
        self.grads["W"] += np.ones_like(self.grads["W"]) * dout.sum()

class MyError(ValueError):
    pass

def picky(x):
    if x < 0:
        raise MyError("negative")
    raise StopIteration

def twice_scaled(x):
    return 2 * scale(x)

def batches(n):
    for i in range(n):
        yield i, i * i
'''


@pytest.fixture
def session():
    ns: dict = {}
    exec(STUDENT, ns)
    return kernel(ns)


def test_remote_calls_and_objects(session):
    scale = session.lookup("scale")
    assert isinstance(scale, Remote) and repr(scale) == "<your scale>"
    assert (scale(np.ones(2), k=3.0) == 3).all()
    layer = session.lookup("Layer")(np.eye(2))
    assert isinstance(layer, Remote)
    assert (layer.forward(np.array([[1.0, 2.0]])) == [[1.0, 2.0]]).all()
    layer.backward(np.ones((1, 2)))
    grads = layer.grads                       # a copy
    grads["W"][...] = 99
    assert (layer.grads["W"] == 2).all()      # unchanged in the 'kernel'
    assign(layer, "grads", "W", np.zeros((2, 2)))
    assert (layer.grads["W"] == 0).all()
    assert list(session.lookup("batches")(3)) == [(0, 0), (1, 1), (2, 4)]
    assert session.lookup("nothing") is MISSING


def test_remote_writes_back_only_what_the_test_marks(session):
    """Arguments are copies; ``modified(x)`` brings back what the call changed inside x."""
    params = {"a": np.zeros(2), "b": np.zeros((2, 2))}
    session.lookup("fill")(params, 7.0)
    assert (params["a"] == 0).all() and (params["b"] == 0).all()
    session.lookup("fill")(modified(params), 7.0)
    assert (params["a"] == 7).all() and (params["b"] == 7).all()
    rng, twin = np.random.default_rng(5), np.random.default_rng(5)
    draw = session.lookup("draw")
    first, second = draw(modified(rng)), draw(modified(rng))
    assert (first == twin.random(3)).all() and (second == twin.random(3)).all()
    third = draw(rng)                           # unmarked: the grader's generator stays put
    assert (third == draw(rng)).all()


def test_student_cannot_steer_the_expected_value_through_an_argument(session):
    """A function that zeroes its inputs in place and returns zeros would agree with a
    reference computed afterwards from the same arrays, if changes came back unasked."""
    W = np.arange(6.0).reshape(3, 2)
    result = session.lookup("zero_and_lie")(W, np.array([0, 2]))
    assert (result == 0).all()
    assert (W == np.arange(6.0).reshape(3, 2)).all()            # the grader's copy is intact
    assert not np.allclose(result, W[[0, 2]])                   # so the lie is caught


def test_remote_exceptions(session):
    picky = session.lookup("picky")
    with pytest.raises(ValueError, match="negative") as info:
        picky(-1)
    assert type(info.value).__name__ == "MyError"
    with pytest.raises(StudentError, match="StopIteration"):   # cannot end a loop early
        picky(1)
    with pytest.raises(wire.WireError):
        session.lookup("scale")(lambda: 0)                     # no functions into the kernel


def test_provide_checks_a_question_on_its_own(session):
    """Inside ``provide``, the student's ``scale`` is a stand-in the grader answers; the
    student's own comes back afterwards."""
    tests = HiddenTests(["import numpy as np\nfrom grader.checks import check_close\n"], key=0)
    passed = tests.run("### BEGIN HIDDEN TESTS\n"
                       "with provide(scale=lambda x: x + 100):\n"
                       "    check_close(twice_scaled(np.ones(2)), [202, 202], 'with the grader\\'s scale')\n"
                       "check_close(twice_scaled(np.ones(2)), [4, 4], 'with the student\\'s scale')\n"
                       "### END HIDDEN TESTS\n", session)
    assert passed == (True, "", ""), passed


# --- the hidden tests' namespace -----------------------------------------------------------

def test_split_definitions_and_names():
    source = ("BUG = 'x'\nW = np.ones(2)\ndef helper(a):\n    return mine(a)\ncheck_close(f(W), 1)\n"
              "### BEGIN HIDDEN TESTS\nrng = hidden_rng(1)\nfor i in range(2):\n"
              "    check_close(f(rng.random(2)), ref(i), mistakes={BUG: 0})\n### END HIDDEN TESTS\n")
    visible, hidden = split(source)
    assert "HIDDEN" not in visible and "check_close(f(W), 1)" in visible
    assert hidden.startswith("rng = hidden_rng(1)")
    assert definitions(visible) == "BUG = 'x'\n\ndef helper(a):\n    return mine(a)"
    assert global_names(definitions(visible) + "\n" + hidden) == {
        "mine", "hidden_rng", "check_close", "f", "ref"}


def test_hidden_inputs_differ_per_submission():
    a, b = HiddenTests([], key=1).ns["hidden_rng"](7), HiddenTests([], key=2).ns["hidden_rng"](7)
    assert a.random() != b.random()
    assert HiddenTests([], key=1).ns["hidden_rng"](7).random() == HiddenTests([], key=1).ns["hidden_rng"](7).random()


def test_a_hidden_test_binds_nothing_and_names_the_failure(session):
    tests = HiddenTests(["import numpy as np\nfrom grader.checks import check_close\n"], key=0)
    ok = tests.run("check_close(1, 1)\n### BEGIN HIDDEN TESTS\n"
                   "check_close(scale(np.ones(2)), [2, 2], 'scale')\n### END HIDDEN TESTS\n", session)
    assert ok == (True, "", "")
    assert "scale" not in tests.ns                     # the student's names are unbound again
    failed = tests.run("### BEGIN HIDDEN TESTS\ncheck_close(scale(np.ones(2)), [3, 3], 'scale')\n"
                       "### END HIDDEN TESTS\n", session)
    assert failed[0] is False and failed[1] == "CheckFailure" and "scale is wrong" in failed[2]
    missing = tests.run("### BEGIN HIDDEN TESTS\nundefined_answer(1)\n### END HIDDEN TESTS\n", session)
    assert missing[:2] == (False, "NameError")


# --- the course's hidden tests ---------------------------------------------------------------

def _cells(path: Path):
    nb = nbformat.read(path, as_version=4)
    return [(c, c.metadata.get("nbgrader", {})) for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_hidden_tests_reach_students_only_through_their_answers(path):
    """What a hidden test reads from the student's kernel must be an answer name: a name the
    solution cells define.  Everything else (locked cells, the visible part's definitions,
    the hidden part itself, hidden_rng and assign) lives in the grader."""
    cells = _cells(path)
    answers: set[str] = set()
    locked: set[str] = set()
    for cell, meta in cells:
        if meta.get("solution"):
            answers |= _assigned(cell.source)
        elif meta.get("locked") and not meta.get("grade"):
            locked |= _assigned(cell.source)
    grader_side = locked | {"hidden_rng", "assign", "provide", "modified"} | set(dir(builtins))
    for cell, meta in cells:
        if not meta.get("grade"):
            continue
        visible, hidden = split(cell.source)
        if not hidden.strip():
            continue
        reads = global_names(definitions(visible) + "\n\n" + hidden) - grader_side
        assert reads <= answers, f"{meta['grade_id']} reads {sorted(reads - answers)} from the kernel"
        assert "globals()" not in hidden and "tempfile" not in hidden, meta["grade_id"]
        assert "default_rng(" not in hidden.split("\n", 3)[0] or "hidden_rng" in hidden


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_nothing_the_kernel_runs_needs_the_reference(path):
    """The kernel has only the student kit: no visible test and no locked cell may import
    the reference (it is not there), nor use hidden_rng (a grader-only name)."""
    for cell, meta in _cells(path):
        if meta.get("locked") or meta.get("grade"):
            visible, _ = split(cell.source)
            assert "grader.reference" not in visible, meta.get("grade_id")
            assert "hidden_rng" not in visible, meta.get("grade_id")


def _assigned(source: str) -> set[str]:
    import symtable
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return set()
    return {s.get_name() for s in top.get_symbols()
            if s.is_assigned() or s.is_imported() or s.is_namespace()}


# --- the channel (the real sockets, the kernel's end in a thread of this process) ------------

def test_channel_calls_and_questions(tmp_path):
    """Requests and the stand-ins' questions cross a real PAIR socket, in order."""
    import asyncio
    import zmq.asyncio
    from grader.grading.channel import Channel

    module = types.ModuleType("__rnns_probe__")
    exec(KERNEL_SOURCE, module.__dict__)
    user_ns: dict = {}
    exec(STUDENT, user_ns)
    address = f"ipc://{tmp_path}/calls"
    assert module.listen(address, user_ns) == "listening"

    async def main():
        context = zmq.asyncio.Context()
        channel = Channel(context, address)
        session = Session(None)

        async def alive():
            return True

        async def link(request, what):
            reply = await channel.call(request, 10.0, session.answer_callback, alive)
            if "raised" in reply:
                raise ValueError(reply["raised"])
            return reply

        loop = asyncio.get_running_loop()
        session._link = lambda request, what: asyncio.run_coroutine_threadsafe(
            link(request, what), loop).result()

        def hidden():
            scale = session.lookup("scale")
            assert (scale(np.ones(3), k=2.0) == 2).all()
            session.provided["scale"] = lambda x: x + 100          # as provide() does
            session.send({"op": "provide", "names": ["scale"]}, "providing")
            assert session.lookup("twice_scaled")(1.0) == 202.0    # asked the grader, twice
            session.send({"op": "unprovide"}, "unproviding")
            return [session.lookup("twice_scaled")(1.0) for _ in range(200)]

        results = await loop.run_in_executor(None, hidden)
        assert results == [4.0] * 200
        channel.close()
        context.destroy(linger=0)

    asyncio.run(main())
