"""Why a question failed, read back: every kind of grader.checks failure is recognised from its
message alone (what a visible test leaves in the kernel's output) as the grader's own exception
says (what a hidden test raises in the grader), and a hidden failure's student message names
the mistake without a number of the hidden test.
"""
from __future__ import annotations

import re

import numpy as np
import pytest

from grader import checks
from grader.grading import misconceptions

EXPECTED = np.array([[0.25, 0.75], [0.6, 0.4]])
NAME = "you scaled the rows by a secret factor"
# a failure of each kind, made by the real helpers: (kind, call)
CASES = [
    ("named", lambda: checks.check_close(EXPECTED * 3.5, EXPECTED, "p", mistakes={NAME: EXPECTED * 3.5})),
    ("axes", lambda: checks.check_close(EXPECTED.T, EXPECTED, "p")),
    ("zeros", lambda: checks.check_close(np.zeros((2, 2)), EXPECTED, "p")),
    ("sign", lambda: checks.check_close(-EXPECTED, EXPECTED, "p")),
    ("factor", lambda: checks.check_close(EXPECTED * 2.5, EXPECTED, "p")),
    ("normalise", lambda: checks.check_close(EXPECTED * [[2.0], [3.0]], EXPECTED, "p")),
    ("none", lambda: checks.check_close(None, EXPECTED, "p")),
    ("type", lambda: checks.check_close("words", EXPECTED, "p")),
    ("shape", lambda: checks.check_close(np.ones(3), EXPECTED, "p")),
    ("float32", lambda: checks.check_close(EXPECTED.astype(np.float32) + 1, EXPECTED, "p")),
    ("nonfinite", lambda: checks.check_close(EXPECTED * np.nan, EXPECTED, "p")),
    ("values", lambda: checks.check_close(EXPECTED + [[0.1, 0.0], [0.0, 0.0]], EXPECTED, "p")),
    ("raises", lambda: checks.check_raises(lambda a: a, (1,), ValueError, "f")),
    ("unanswered", lambda: checks.check_raises(_unanswered, (1,), ValueError, "f")),
    ("named", lambda: checks.check_equal((2, 3), (3, 2), "s", mistakes={NAME: (2, 3)})),
    ("values", lambda: checks.check_equal((2, 4), (3, 2), "s")),
]


def _unanswered(_):
    raise NotImplementedError


def _failure(call) -> checks.CheckFailure:
    with pytest.raises(checks.CheckFailure) as info:
        call()
    return info.value


@pytest.mark.parametrize("kind, call", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_each_kind_is_recognised_from_the_exception_and_from_the_message(kind, call):
    exc = _failure(call)
    assert exc.kind == kind
    hidden = misconceptions.from_hidden_failure(exc, "CheckFailure", str(exc))
    assert hidden["kind"] == kind and hidden["stage"] == "hidden"
    known = misconceptions.Known([f"check(x, mistakes={{{NAME!r}: x}})"])
    visible = misconceptions.from_kernel_error("CheckFailure", str(exc), known)
    assert visible["kind"] == kind, (str(exc), visible)
    if kind == "named":
        assert hidden["mistake"] == visible["mistake"] == NAME


def test_a_forged_mistake_name_does_not_count():
    """The kernel's message is the student's to forge: only names the trusted source holds count."""
    forged = "p is wrong: it looks like <script>alert(1)</script>.\n  expected: 1\n  got:      2"
    record = misconceptions.from_kernel_error("CheckFailure", forged,
                                              misconceptions.Known(["check_close(x, 1.0)"]))
    assert record["kind"] == "values" and record["mistake"] == ""


def test_f_string_names_count_as_their_pattern():
    known = misconceptions.Known(['check_close(a, b, mistakes={f"you divided by {k} instead": c})'])
    record = misconceptions.from_kernel_error(
        "CheckFailure", "x is wrong: it looks like you divided by 7 instead.\n  expected: 1", known)
    assert record == misconceptions.record("visible", "named", "you divided by … instead", "x",
                                           "CheckFailure")


@pytest.mark.parametrize("kind, call", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_hidden_failures_tell_the_student_without_numbers(kind, call):
    exc = _failure(call)
    text = misconceptions.for_student(exc, str(exc))
    assert "  expected: " not in text and "  got: " not in text
    for value in ("0.25", "0.75", "0.6", "0.4", "2.5", "3.5"):
        assert value not in text, (kind, text)
    if kind == "named":
        assert NAME in text
    assert misconceptions.HIDDEN_NOTE in text


def test_instructor_messages_and_student_errors_are_kept():
    err = ValueError("shapes (3,) and (2,2) not aligned")
    assert misconceptions.for_student(err, str(err)) == str(err)
    assert misconceptions.from_hidden_failure(err, "ValueError", str(err))["kind"] == "error"
    assert misconceptions.from_kernel_error("DeadKernelError", "died", misconceptions.Known([]))[
        "kind"] == "crashed"
    assert re.search("not answered", misconceptions.describe({"kind": "unanswered"}))
