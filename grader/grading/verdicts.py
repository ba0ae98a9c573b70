"""Hidden tests, run where the student cannot reach them: on the grader's side.

A batch runs each test cell's hidden part in a process of its own, bounded in memory and
time (:mod:`grader.grading.hidden_process`, which calls :meth:`HiddenTests.run_code`);
:meth:`HiddenTests.run` runs one in the calling process (the tests of the course do).  A
failure of the grader's own machinery is a :class:`GraderFault`, never a failed test.

How a hidden test is written (the instructor's side)
----------------------------------------------------
Exactly as before, in the solutions notebook, below the visible tests of a test cell::

    check_close(rnn_cell(1.0, ...)[1], [0.537, 0.462], "step 1")     # visible: runs in the kernel
    ### BEGIN HIDDEN TESTS
    from grader.reference import rnn_by_hand as ref                   # the grader's reference
    rng = hidden_rng(303)                                             # new inputs per submission
    for case in range(12):
        ...
        check_close(rnn_cell(x, h, W, U, b)[1], ref.rnn_step(x, h, W, U, b)[1], f"case {case}")
    ### END HIDDEN TESTS

When a submission is graded, the kernel (in the sandbox) runs only the visible part.  The
hidden part runs here, in a namespace that holds

* everything the notebook's locked cells that are not tests define (``np``, ``check_close``,
  ``dice_parameters``...), executed here from the gradebook's copy;
* from the visible part of the same cell: its imports, ``def``s and ALL-CAPS constants
  (``SCATTER_BUG = "..."``), so that the hidden part can name a mistake once;
* ``hidden_rng(seed)``: a generator seeded by ``seed`` *and* by the submission, so that every
  student's hidden inputs differ and no table of answers helps; ``assign``, ``provide`` and
  ``modified`` (see :mod:`grader.grading.remote`: ``with provide(gumbel_softmax=ref.gumbel_softmax):``
  checks a later question on its own, whatever the student's earlier answer;
  ``train(modified(params), ...)`` brings back what ``train`` changed in ``params``, while every
  unmarked argument is a copy whose changes stay in the kernel);
* and, for every other name the code uses, the student's object of that name, as a
  :class:`~grader.grading.remote.Remote` (functions, classes, instances) or a copy (data).

The test earns its points when the kernel ran the visible part without an error **and** the
hidden part raised nothing here.  No score rests on anything the student's process says about
itself: the grader chose the inputs, computed the expected values with the reference, and
compared them with its own numpy.  Rules for a hidden part: call the student's code only through
their names; to change an object's state in the kernel call its methods or use ``assign``
(attribute reads are copies); pass no functions to student code (only data and objects that
came from the kernel).
"""
from __future__ import annotations

import ast
import builtins
import functools
import hashlib
import hmac
import os
import re
import symtable
import threading
from typing import Any

import numpy as np

from grader import i18n
from grader.grading.remote import MISSING, Remote, Session, assign, modified, provide

_current = threading.local()


class GraderFault(RuntimeError):
    """The grader's own machinery failed, not the student's code: the parse of a test, the
    hidden tests' process, the interpreter (``SystemError``).  It never costs a point: the
    notebook is not graded, the batch says so and grades the student again."""


# CPython 3.11 shares the AST constructor's recursion counter between threads
# (python/cpython#106905): two threads in ``ast.parse`` at once can raise "SystemError: AST
# constructor recursion depth mismatch".  Every ``ast.parse`` of the grader goes through this
# lock, and its results are kept (a batch parses each test cell once, not once per student).
_AST_LOCK = threading.Lock()


def _reset_ast_lock() -> None:   # a forked child has one thread: nobody holds the lock there
    global _AST_LOCK
    _AST_LOCK = threading.Lock()


os.register_at_fork(after_in_child=_reset_ast_lock)


def parse(source: str) -> ast.Module:
    """``ast.parse(source)`` under :data:`_AST_LOCK`: for every module of the grader whose
    parses can run on a grading thread (:mod:`grader.grading.misconceptions`...)."""
    with _AST_LOCK:
        return ast.parse(source)


def current_session() -> Session:
    """The session of the hidden test running in this thread (for :class:`provide`)."""
    session = getattr(_current, "session", None)
    if session is None:
        raise RuntimeError("provide() works only inside a hidden test")
    return session

HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS[ \t]*$(.*?)^[ \t]*### END HIDDEN TESTS[ \t]*$",
                    re.M | re.S)
_CONSTANT = re.compile(r"^[A-Z][A-Z0-9_]{2,}$")   # SCATTER_BUG, TOL: not W or X


def split(source: str) -> tuple[str, str]:
    """(visible part, hidden part) of a test cell's source; the visible part is what nbgrader
    releases (the hidden blocks removed), the hidden part the blocks' contents joined."""
    hidden = "\n".join(m.group(1).strip("\n") for m in HIDDEN.finditer(source))
    visible = HIDDEN.sub("", source)
    return visible, hidden


def definitions(source: str) -> str:
    """The imports, ``def``s, classes and ALL-CAPS assignments of ``source``, in order.

    Thread-safe (parsed under :data:`_AST_LOCK`) and remembered per source."""
    with _AST_LOCK:
        return _definitions(source)


@functools.lru_cache(maxsize=1024)
def _definitions(source: str) -> str:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    kept = []
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            kept.append(node)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) and _CONSTANT.match(t.id) for t in targets):
                kept.append(node)
    return "\n\n".join(ast.unparse(n) for n in kept)


def hidden_code(cell_source: str) -> str:
    """What runs in the grader for a test cell: the visible part's definitions, then the
    hidden part ("" when the cell has no hidden part).  Raises :class:`GraderFault` when the
    grader cannot read the cell (the parse is the grader's, not the student's)."""
    try:
        visible, hidden = split(cell_source)
        if not hidden.strip():
            return ""
        return definitions(visible) + "\n\n" + hidden
    except Exception as exc:
        raise GraderFault(f"the grader could not read a test cell: {type(exc).__name__}: {exc}") from exc


def global_names(code: str) -> set[str]:
    """Names ``code`` reads from its global namespace (its own functions' included) and does
    not assign at the top level, builtins left out."""
    try:
        top = symtable.symtable(code, "<test>", "exec")
    except SyntaxError:
        return set()
    assigned = {s.get_name() for s in top.get_symbols()
                if s.is_assigned() or s.is_imported() or s.is_namespace()}
    used: set[str] = set()

    def walk(table) -> None:
        for sym in table.get_symbols():
            if sym.is_referenced() and (table.get_type() == "module" or sym.is_global()):
                used.add(sym.get_name())
        for child in table.get_children():
            walk(child)

    walk(top)
    return used - assigned - set(dir(builtins))


def submission_key(secret: bytes, assignment: str, student: str) -> int:
    """A number that differs per submission and cannot be guessed without the course secret."""
    digest = hmac.new(secret, f"{assignment}\0{student}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "little")


def notebook_language(nb) -> str:
    """``"zh"`` for a notebook of the Chinese edition, else ``"en"``: only the language of the
    messages depends on it (the metadata is the student's; nothing else reads it)."""
    from grader.grading.selfcheck import notebook_language as language_of

    return language_of(nb)


class HiddenTests:
    """The grader's side of one notebook's tests for one submission."""

    language = "en"   # of the failure messages (the submission's notebook, notebook_language)
    failure: BaseException | None = None   # what the last failed hidden part raised

    def __init__(self, locked_sources: list[str], key: int) -> None:
        self.ns: dict[str, Any] = {"__name__": "__hidden_tests__", "__builtins__": builtins,
                                   "hidden_rng": self._rng_factory(key), "assign": assign,
                                   "provide": provide, "modified": modified}
        self.helper_names: set[str] = set()
        for source in locked_sources:
            code = source if not source.lstrip().startswith(("%", "!")) else ""
            exec(compile(code, "<locked cell>", "exec"), self.ns)  # noqa: S102 - the gradebook's code
            self.helper_names |= global_names(code)

    @staticmethod
    def _rng_factory(key: int):
        def hidden_rng(seed: int) -> np.random.Generator:
            """A generator for the hidden inputs: ``seed`` and this submission's key."""
            return np.random.default_rng([int(seed), key])
        return hidden_rng

    def run(self, cell_source: str, session: Session) -> tuple[bool, str, str]:
        """Run the hidden part of a test cell here: (passed, error name, message).

        Raises :class:`GraderFault` when the grader itself fails (nothing is decided then).
        A batch runs the hidden part in a process of its own instead
        (:mod:`grader.grading.hidden_process`, which calls :meth:`run_code`)."""
        code = hidden_code(cell_source)
        if not code:
            return True, "", ""
        return self.run_code(code, session)

    def run_code(self, code: str, session: Session) -> tuple[bool, str, str]:
        """Run ``code`` (:func:`hidden_code`'s) against the student's names in ``session``."""
        try:
            wanted = sorted((global_names(code) | self.helper_names) - self.ns.keys())
        except Exception as exc:
            raise GraderFault(f"the grader could not read a hidden test: {type(exc).__name__}: "
                              f"{exc}") from exc
        bound: dict[str, Any] = {}
        self.failure = None
        ended = True
        _current.session = session
        try:
            for name in wanted:
                value = session.lookup(name)
                if value is not MISSING:
                    bound[name] = value
            self.ns.update(bound)
            with i18n.using(self.language):   # a Chinese notebook's failures in Chinese
                exec(compile(code, "<hidden tests>", "exec"), self.ns)  # noqa: S102 - the gradebook's code
            return True, "", ""
        except GraderFault:
            raise
        except SystemError as exc:   # the interpreter's own failure, never the student's
            raise GraderFault(f"the interpreter failed in a hidden test: {exc}") from exc
        except Exception as exc:  # every other failure of a hidden test costs its points
            self.failure = exc    # for grader.grading.misconceptions (what was recognised)
            message = str(exc)
            if isinstance(exc, AssertionError):   # a hidden test's own `assert` message too
                with i18n.using(self.language):
                    message = i18n.text(message)
            return False, type(exc).__name__, message or type(exc).__name__
        except BaseException:     # a deadline: the process ends, no more calls
            ended = False
            raise
        finally:
            _current.session = None
            for name, value in bound.items():
                if self.ns.get(name) is value:
                    del self.ns[name]
            if ended:
                try:
                    session.release()
                except Exception:
                    pass
