"""Why a question failed, in words an instructor can count and a student can read.

Every failed test cell gets one *record* when it is graded (:func:`from_kernel_error` for a
visible test that failed in the student's kernel, :func:`from_hidden_failure` for a hidden
test that failed in the grader's process)::

    {"stage": "visible" | "hidden", "kind": "named" | one of grader.checks.KINDS | "error"
     | "crashed", "mistake": "you forgot the tanh", "check": "step 1, state", "error": "CheckFailure"}

``kind == "named"`` when the failure is one of the classic mistakes a test names with
``mistakes=`` (:mod:`grader.checks`); ``mistake`` is then that name, exactly as the
gradebook's trusted source writes it (an f-string name is kept as its pattern, its
replacement fields shown as ``…``).  Other kinds are what any question can show (``axes``,
``factor``, ``float32``, ``none``...), ``unanswered`` (``NotImplementedError`` left in),
``error`` (the student's code raised), ``crashed`` (the kernel died or ran out of time) and
``values`` (wrong numbers, nothing recognised: the report calls it *unrecognised*).

Where the words come from, and why they can be trusted:

* a hidden test fails in the grader's process, with the grader's own :class:`~grader.checks.
  CheckFailure`, whose ``kind``/``mistake``/``label`` fields say what was recognised;
* a visible test fails in the student's kernel, which a student controls: its message is
  only *parsed*, and a mistake name found in it counts only if it is one of the strings of
  the cell's (and the notebook's locked cells') source as the gradebook keeps it
  (:class:`Known`).  A forged message can at worst mislabel its own author's failure.

Records hold no hidden-test source and no expected value.  The student-facing message of a
hidden failure (:func:`for_student`) names the mistake the same way and leaves out what a
hidden test computed: its expected values, and the student's values on its inputs (from
which, with the mistake's name, the expected ones could often be worked out).
"""
from __future__ import annotations

import ast
import re
from typing import Any

from grader import checks

# kinds that are not about the student's understanding of the question
NOT_ANSWERED = ("unanswered", "crashed")
UNRECOGNISED = "values"

# What a student reads for a hidden failure of each kind (no numbers from the hidden test).
_STUDENT_WORDS = {
    "axes": "the axes are in another order than expected (transposed, or stacked along "
            "another axis)",
    "zeros": "every value is zero: it was never computed, or never added (+=) into the array "
             "you return",
    "sign": "the sign is flipped: every value has the opposite sign",
    "factor": "every value is off by the same factor: a factor is missing or extra (a sum "
              "instead of a mean? a division forgotten?)",
    "normalise": "each row should be a probability distribution summing to 1, but yours sum "
                 "to other numbers",
    "none": "your code returned None (a missing `return`?)",
    "type": "your code did not return numbers",
    "shape": "your answer has another shape than the expected one (check which axis is time, which "
             "is the batch, and whether a vector should be a row, a column or plain)",
    "float32": "your answer is float32, but this course works in float64",
    "nonfinite": "your answer contains NaN or infinity: look for an overflow (exp of a large "
                 "number?), a division by zero or the logarithm of 0",
    "values": "your values differ from the expected ones",
    "unanswered": "it is not implemented yet",
}
HIDDEN_NOTE = ("(a hidden test, on inputs of its own; its expected values are not shown: "
               "try your code on inputs of other shapes and sizes)")


def _hint(message: str) -> str:
    """The ``Hint:`` a check appended to its message, if any."""
    _, sep, hint = message.rpartition("\n  Hint: ")
    return hint.strip() if sep else ""


def record(stage: str, kind: str, mistake: str = "", check: str = "", error: str = "") -> dict:
    return {"stage": stage, "kind": kind, "mistake": mistake, "check": check[:200],
            "error": error[:100]}


# -- hidden tests: the grader's own exceptions ---------------------------------------------

def from_hidden_failure(exc: BaseException | None, ename: str, message: str) -> dict:
    """The record of a hidden test that raised ``exc`` in the grader's process."""
    from grader.grading.remote import StudentCrash, StudentTimeout

    if isinstance(exc, checks.CheckFailure) and getattr(exc, "kind", ""):
        return record("hidden", exc.kind, exc.mistake if exc.kind == "named" else "",
                      exc.label, ename)
    if isinstance(exc, (StudentCrash, StudentTimeout)):
        return record("hidden", "crashed", error=ename)
    if isinstance(exc, NotImplementedError):
        return record("hidden", "unanswered", error=ename)
    if isinstance(exc, AssertionError):   # an instructor's own assert or CheckFailure
        named = _named_in(message, None)
        return record("hidden", "named" if named else UNRECOGNISED, named,
                      message.splitlines()[0] if message else "", ename)
    return record("hidden", "error", error=ename)


def for_student(exc: BaseException | None, message: str) -> str:
    """What the student's feedback shows for a hidden failure: the mistake named, no values.

    A failure of a :mod:`grader.checks` helper is written again from its fields (its message
    quotes the expected values); anything else -- the student's own exception, an
    instructor's assert message -- is shown as it was.
    """
    if not (isinstance(exc, checks.CheckFailure) and getattr(exc, "kind", "")):
        return message
    label = exc.label or "the result"
    if exc.kind == "named":
        text = f"{label} is wrong: it looks like {exc.mistake}."
    elif exc.kind == "raises":
        text = message.split("\n")[0]     # inputs and the exception expected: no values
    else:
        text = f"{label} is wrong: {_STUDENT_WORDS.get(exc.kind, _STUDENT_WORDS['values'])}."
    hint = _hint(message)
    if hint and exc.kind != "named":
        text += f"\n  Hint: {hint}"
    return f"{text}\n  {HIDDEN_NOTE}"


# -- visible tests: the kernel's message, parsed and checked against trusted source ----------

class Known:
    """The strings a notebook's trusted source could name a mistake with: every string
    constant of the test cells and locked cells (implicit concatenations joined), and every
    f-string as a pattern (its replacement fields match anything)."""

    def __init__(self, sources: list[str]) -> None:
        self.constants: set[str] = set()
        self.patterns: list[tuple[re.Pattern, str]] = []
        for source in sources:
            self._add(source)

    def _add(self, source: str) -> None:
        lines = [line for line in source.splitlines()
                 if not line.lstrip().startswith(("%", "!", "### BEGIN HIDDEN", "### END HIDDEN"))]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            return
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value) > 5:
                self.constants.add(node.value)
            elif isinstance(node, ast.JoinedStr):
                parts, shown = [], []
                for value in node.values:
                    if isinstance(value, ast.Constant):
                        parts.append(re.escape(str(value.value)))
                        shown.append(str(value.value))
                    else:
                        parts.append(".+?")
                        shown.append("…")
                if any(isinstance(v, ast.Constant) and len(str(v.value)) > 5 for v in node.values):
                    self.patterns.append((re.compile("".join(parts), re.S), "".join(shown)))

    def name_of(self, phrase: str) -> str:
        """The canonical name of ``phrase`` when the source holds it, else ""."""
        if phrase in self.constants:
            return phrase
        for pattern, shown in self.patterns:
            if pattern.fullmatch(phrase):
                return shown
        return ""


_LOOKS_LIKE = re.compile(r"it looks like (.+?)\.(?:\n|$)", re.S)
# grader.checks' generic diagnoses, as its messages word them (tests/test_misconceptions.py
# makes every kind of failure with the real helpers and checks that it is recognised here)
_GENERIC = (
    ("axes", re.compile(r"^(your axes are \(|the rows and columns are swapped|the axes are in "
                        r"another order)")),
    ("zeros", re.compile(r"^every value is zero")),
    ("sign", re.compile(r"^the sign is flipped")),
    ("factor", re.compile(r"^every value is \S+ times the expected one")),
    ("normalise", re.compile(r"^each row should be a probability distribution")),
)
_MESSAGE_KINDS = (
    ("unanswered", re.compile(r" is not implemented yet\.$", re.M)),
    ("none", re.compile(r": your code returned None\. ")),
    ("type", re.compile(r": expected numbers, got ")),
    ("axes", re.compile(r"the axes are in (the wrong|another) order")),
    ("shape", re.compile(r": (expected shape \(|the numbers may be right but the shape is )")),
    ("float32", re.compile(r" \(single precision\), but this course works in float64")),
    ("nonfinite", re.compile(r": contains NaN or infinity")),
    ("raises", re.compile(r" should raise \w+")),
)
_LABEL_END = re.compile(r" is wrong[.:]| is not implemented yet|: | should raise | is float| is "
                        r"(?:int|uint|complex)")
_CRASHES = {"DeadKernelError", "CellTimeoutError", "NotExecuted", "KernelError", "TimeoutError",
            "KeyboardInterrupt"}


def _named_in(message: str, known: Known | None) -> str:
    for phrase in _LOOKS_LIKE.findall(message):
        phrase = phrase.strip()
        if any(p.match(phrase) for _, p in _GENERIC):
            continue
        if known is None:
            return phrase
        name = known.name_of(phrase)
        if name:
            return name
    return ""


def kind_of_message(message: str) -> str:
    """The kind of a :mod:`grader.checks` failure, read from its message alone."""
    for phrase in _LOOKS_LIKE.findall(message):
        for kind, pattern in _GENERIC:
            if pattern.match(phrase.strip()):
                return kind
    for kind, pattern in _MESSAGE_KINDS:
        if pattern.search(message):
            return kind
    return UNRECOGNISED


def from_kernel_error(ename: str, evalue: str, known: Known) -> dict:
    """The record of a test cell whose visible part failed in the kernel with this error."""
    ename, evalue = str(ename)[:100], str(evalue)[:20_000]
    if ename in _CRASHES:
        return record("visible", "crashed", error=ename)
    if ename == "NotImplementedError":
        return record("visible", "unanswered", error=ename)
    first = evalue.split("\n", 1)[0]
    match = _LABEL_END.search(first)
    label = first[:match.start()] if match else ""
    if ename in ("CheckFailure", "AssertionError"):
        named = _named_in(evalue, known)
        if named:
            return record("visible", "named", named, label, ename)
        return record("visible", kind_of_message(evalue), "", label, ename)
    return record("visible", "error", error=ename)


def describe(rec: dict) -> str:
    """The words of a record for an instructor: the mistake's name, or what was seen."""
    kind = rec.get("kind", "")
    if kind == "named":
        return rec.get("mistake", "")
    if kind == "error":
        return f"the code raised {rec.get('error') or 'an error'}"
    if kind == "crashed":
        return "crashed or ran out of time"
    if kind == UNRECOGNISED:
        return "unrecognised"
    return checks.KINDS.get(kind, kind or "unrecognised")


def summary_key(rec: dict[str, Any]) -> tuple[str, str]:
    """(kind, words): how the report groups failures."""
    return rec.get("kind", UNRECOGNISED), describe(rec)
