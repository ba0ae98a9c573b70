"""The student's self-check: run a notebook in a fresh kernel and report every question.

``python -m grader check NOTEBOOK`` is what a student runs before submitting.  It executes
the notebook from the top in a new kernel (working directory: the notebook's own folder),
carries on after errors so that every question is checked, and prints one row per graded
test cell: passed, failed (with the whole first failure message, written for students by
``grader.checks``, wrapped to the terminal), not attempted yet (``NotImplementedError``),
an error, or not run.  ``--json`` gives tools the same result (:meth:`SelfCheckResult.to_dict`).

It needs nothing from the instructor: the student's notebook holds only the public tests,
and this module imports only ``nbformat`` and ``nbclient`` (it is shipped in the student
bundle with ``grader.checks``; never import instructor-only modules here).  The grading
rules it mirrors are nbgrader's: a test cell earns its points when it runs without an
error *and* writes nothing to standard error; locked cells (test cells included) are
restored from the instructor's copy before grading, which the checksums stored in the
cell metadata let us detect.

A notebook of the Chinese edition (metadata ``rnns.language = "zh"``) is checked in Chinese:
its kernel gets ``RNNS_LANGUAGE=zh`` (the test helpers' messages) and the table is printed in
Chinese (:mod:`grader.i18n`); ``--json`` keeps its field names and status values.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader import i18n
from grader.i18n import t as _t

PASSED = "passed"
FAILED = "failed"
NOT_ATTEMPTED = "not attempted"
ERROR = "error"
NOT_RUN = "not run"
# why a cell did not complete (see run_notebook)
TIMED_OUT = "timed out"
DIED = "kernel died"
_TIMEOUT_ENAME = "SelfCheckCellTimeout"

DEFAULT_TIMEOUT = 120  # seconds per cell
# Messages are kept whole; only a runaway one (a test printing a huge array, an endless
# warning) is cut, with a note saying so.
MAX_MESSAGE_CHARS = 4000
LINE_WIDTH = 100  # when standard output is not a terminal
JSON_VERSION = 1

HINTS = {
    NOT_ATTEMPTED: "replace `raise NotImplementedError()` with your code (in this "
                   "question's answer cell, or in an earlier one that it uses)",
    "CheckFailure": "compare `expected` with `got`, fix your function and run the notebook "
                    "again from the top (Kernel -> Restart & Run All)",
    "AssertionError": "a test's condition is false: read its message, fix your function and "
                      "run again",
    "NameError": "a name the test uses is not defined: did you rename or delete the function, "
                 "or does its answer cell fail? Keep the names given in the question",
    "timeout": "the cell ran for too long: look for a loop that never ends",
    "died": "look for `exit()`, `os._exit` or `quit()` in your code, or for arrays far larger "
            "than the question needs",
    "stderr": "nbgrader gives no points to a test cell that writes to standard error "
              "(a warning, for example): find out what prints it and fix that",
    "no kit": "install the course kit into the Python that runs the notebook's kernel (the "
              "notebook's first cell says how), or choose a kernel that has it with --kernel",
    ERROR: "your code raised this error while the test ran it: open the notebook and run "
           "the cell to see the full traceback",
    NOT_RUN: "fix the problem reported above, then check again",
}

# A set-up cell's error that means the kernel has no kit: Python's own message, or the one of
# the exercises' first cell (grader.kit.SETUP_PREAMBLE).
_NO_KIT = re.compile(r"No module named 'grader[.']|course kit is not installed")

# why later cells were not run (translated when shown)
NEVER_FINISHED = "not run: an earlier cell never finished and could not be stopped"
KERNEL_DIED_EARLIER = ("not run: the kernel died (a crash, `exit()` or running out of memory) "
                       "in an earlier cell")

# Run once after the notebook, in the same kernel: where did the tests' helpers come from?
_PROBE = ("import sys as _rnns_sys\n"
          "print(getattr(_rnns_sys.modules.get('grader.checks'), '__file__', ''))\n"
          "del _rnns_sys")


# --------------------------------------------------------------------------------------
# nbgrader metadata (read only; the same rules nbgrader applies, without importing it)

def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test_cell(cell) -> bool:
    """An autograded test cell: a code cell marked ``grade`` and not ``solution``."""
    md = _nbgrader(cell)
    return cell.cell_type == "code" and bool(md.get("grade")) and not md.get("solution")


def is_locked(cell) -> bool:
    """nbgrader restores these cells from the instructor's copy before grading."""
    md = _nbgrader(cell)
    if not md or md.get("solution"):
        return False
    return bool(md.get("grade") or md.get("locked"))


def compute_checksum(cell) -> str:
    """The checksum nbgrader stores in a cell's metadata (``nbgrader.utils.compute_checksum``).

    Computed here rather than imported so that the self-check runs without nbgrader; the
    test suite compares the two on every released cell.
    """
    md = _nbgrader(cell)
    parts = [cell.source, cell.cell_type, str(md.get("grade", False)),
             str(md.get("solution", False)), str(is_locked(cell)), md["grade_id"]]
    if md.get("grade", False):
        parts.append(str(float(md["points"])))
    digest = hashlib.md5()
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def edited_cells(nb) -> list[str]:
    """grade_ids of locked cells whose source no longer matches their stored checksum."""
    out = []
    for cell in nb.cells:
        md = _nbgrader(cell)
        if is_locked(cell) and md.get("checksum") and md.get("grade_id"):
            if compute_checksum(cell) != md["checksum"]:
                out.append(md["grade_id"])
    return out


# --------------------------------------------------------------------------------------
# results

@dataclass
class QuestionResult:
    grade_id: str
    points: float
    status: str
    message: str = ""
    hint: str = ""
    edited: bool = False

    @property
    def passed(self) -> bool:
        return self.status == PASSED


@dataclass
class SelfCheckResult:
    notebook: Path
    questions: list[QuestionResult]
    warnings: list[str] = field(default_factory=list)
    checks_module: str | None = None  # grader.checks as imported by the notebook's kernel
    language: str = "en"               # of the notebook (metadata rnns.language), "en" or "zh"

    @property
    def ok(self) -> bool:
        """True when there are questions and every public test passed."""
        return bool(self.questions) and all(q.passed for q in self.questions)

    @property
    def points(self) -> tuple[float, float]:
        return (sum(q.points for q in self.questions if q.passed),
                sum(q.points for q in self.questions))

    def to_dict(self) -> dict:
        """The result for tools (``python -m grader check --json``); see ``grader.cli.check``."""
        got, total = self.points
        return {"version": JSON_VERSION, "notebook": str(self.notebook), "ok": self.ok,
                "passed": sum(q.passed for q in self.questions),
                "questions_total": len(self.questions),
                "points": got, "points_total": total,
                "questions": [{**q.__dict__, "passed": q.passed} for q in self.questions],
                "warnings": self.warnings, "checks_module": self.checks_module,
                "language": self.language}


def _whole(text: str) -> str:
    """The message as written (outer blank lines and trailing spaces dropped), unless runaway."""
    text = "\n".join(line.rstrip() for line in text.strip("\n").splitlines()).strip()
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    return (text[:MAX_MESSAGE_CHARS].rstrip() + "\n" + _t(
        "[... {more} more characters: run the cell in the notebook to read everything]",
        more=len(text) - MAX_MESSAGE_CHARS))


def _split_hint(message: str) -> tuple[str, str]:
    """(message without its ``Hint:`` line, the hint); the table prints the hint on its own."""
    lines = message.splitlines()
    for i, line in enumerate(lines):
        label = next((h for h in _HINT_LABELS if line.strip().startswith(h)), None)
        if label:
            return "\n".join(lines[:i] + lines[i + 1:]), line.strip()[len(label):].strip()
    return message, ""


_HINT_LABELS = ("Hint:", "提示：", "提示:")  # grader.checks writes the first or, in Chinese, the second


def _stderr_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def _error(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def classify(cell, points: float, skipped: str = "",
             timeout: float = DEFAULT_TIMEOUT) -> QuestionResult:
    """The result of one test cell, from its outputs or from why it did not complete."""
    grade_id = _nbgrader(cell).get("grade_id", "?")
    if skipped == TIMED_OUT:
        return QuestionResult(grade_id, points, ERROR,
                              _t("the test did not finish within {timeout:g} s and was stopped",
                                 timeout=timeout), _hint("timeout"))
    if skipped == DIED:
        return QuestionResult(grade_id, points, ERROR,
                              _t("the kernel died while this test ran (a crash, `exit()` or "
                                 "running out of memory)"), _hint("died"))
    if skipped:
        return QuestionResult(grade_id, points, NOT_RUN, _t(skipped), _hint(NOT_RUN))
    error = _error(cell)
    if error is not None:
        ename, evalue = error.get("ename", "Error"), error.get("evalue", "")
        if ename == "NotImplementedError":
            return QuestionResult(grade_id, points, NOT_ATTEMPTED, _t("not attempted yet"),
                                  _hint(NOT_ATTEMPTED))
        if ename in ("CheckFailure", "AssertionError"):
            # a test cell's own `assert cond, "..."` speaks English in the kernel
            message, hint = _split_hint(_whole(i18n.text(evalue)))
            return QuestionResult(grade_id, points, FAILED,
                                  message or _t("{ename} (no message)", ename=ename),
                                  hint or _hint(ename))
        if ename == "KeyboardInterrupt":
            return QuestionResult(grade_id, points, ERROR, _t("interrupted"), _hint("timeout"))
        return QuestionResult(grade_id, points, ERROR, _whole(f"{ename}: {evalue}"),
                              _hint(ename if ename in HINTS else ERROR))
    stderr = _stderr_text(cell)
    if stderr.strip():
        return QuestionResult(grade_id, points, FAILED,
                              _t("the test cell wrote to standard error:") + "\n" + _whole(stderr),
                              _hint("stderr"))
    return QuestionResult(grade_id, points, PASSED)


def _hint(key: str) -> str:
    return _t(HINTS[key])


# --------------------------------------------------------------------------------------
# running the notebook

class KernelStartError(RuntimeError):
    """The notebook's kernel could not be started."""


def _timed_out(reply) -> bool:
    return bool(reply) and reply.get("content", {}).get("ename") == _TIMEOUT_ENAME


def _kernel_is_responsive(client, replies: dict, seconds: float = 10) -> bool:
    """After a timeout (nbclient has interrupted the kernel): does the kernel answer again?"""
    ping = nbformat.v4.new_code_cell("pass")
    client.nb.cells.append(ping)
    index = len(client.nb.cells) - 1
    saved, client.timeout = client.timeout, seconds
    try:
        client.execute_cell(ping, index, store_history=False)
        return not _timed_out(replies.pop(index, None))
    except Exception:
        return False
    finally:
        client.timeout = saved
        client.nb.cells.remove(ping)


def _probe_checks_module(client) -> str | None:
    probe = nbformat.v4.new_code_cell(_PROBE)
    client.nb.cells.append(probe)
    try:
        client.execute_cell(probe, len(client.nb.cells) - 1, store_history=False)
    except Exception:
        return None
    finally:
        client.nb.cells.remove(probe)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("output_type") == "stream")
    return text.strip() or None


def run_notebook(nb, folder: Path, timeout: float = DEFAULT_TIMEOUT,
                 kernel_name: str | None = None,
                 language: str = "en") -> tuple[dict[int, str], str | None]:
    """Execute ``nb`` in place, cell by cell, in a fresh kernel started in ``folder``.

    Returns ``(skipped, checks_module)``: ``skipped`` maps the index of every code cell that
    did not complete to why: ``TIMED_OUT``, ``DIED`` or a sentence for cells never run.
    """
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    replies: dict[int, dict] = {}

    def record_reply(cell, cell_index, execute_reply) -> None:
        replies[cell_index] = execute_reply

    # On timeout nbclient interrupts the kernel and hands back this reply instead of raising
    # (raising would leave its output reader running, and later cells would lose output).
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, interrupt_on_timeout=True,
                            error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "",
                                              "traceback": []},
                            on_cell_executed=record_reply,
                            kernel_name=kernel_name or "", startup_timeout=60,
                            record_timing=False,
                            resources={"metadata": {"path": str(folder)}})
    skipped: dict[int, str] = {}
    stopped = ""
    checks_module = None
    with contextlib.ExitStack() as stack:
        try:
            # The kernel process's own stderr holds only start-up chatter; what cells write
            # to stderr comes back through the kernel's messages.
            stack.enter_context(client.setup_kernel(
                stderr=subprocess.DEVNULL, env={**os.environ, i18n.ENV: language}))
        except Exception as exc:
            name = kernel_name or nb.metadata.get("kernelspec", {}).get("name", "")
            raise KernelStartError(_t("could not start the Jupyter kernel {name!r} ({kind}: "
                                      "{error}); is ipykernel installed?", name=name,
                                      kind=type(exc).__name__, error=exc)) from exc
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            if stopped:
                skipped[index] = stopped
                continue
            try:
                client.execute_cell(cell, index)
                if _timed_out(replies.get(index)):
                    skipped[index] = TIMED_OUT
                    if not _kernel_is_responsive(client, replies, min(10.0, timeout)):
                        stopped = NEVER_FINISHED
                        client.shutdown_kernel = "immediate"  # kill it, do not wait
            except DeadKernelError:
                skipped[index] = DIED
                stopped = KERNEL_DIED_EARLIER
        if not stopped:
            checks_module = _probe_checks_module(client)
    return skipped, checks_module


def notebook_language(nb) -> str:
    """``"zh"`` for a notebook of the Chinese edition (metadata ``rnns.language``), else ``"en"``."""
    rnns = nb.get("metadata", {}).get("rnns", {})
    return i18n.normalise(rnns.get("language", "") if isinstance(rnns, dict) else "")


def check_notebook(path: Path, timeout: float = DEFAULT_TIMEOUT,
                   kernel_name: str | None = None) -> SelfCheckResult:
    """Run the notebook at ``path`` (never modified) and report every graded test cell."""
    path = Path(path).resolve()
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        # unreadable: its name says its language (the Chinese edition's is <a>.zh.ipynb)
        with i18n.using("zh" if path.name.endswith(".zh.ipynb") else "en"):
            raise ValueError(_t("{path}: not a readable Jupyter notebook ({error})", path=path,
                                error=exc)) from exc
    language = notebook_language(nb)
    with i18n.using(language):
        result = _check(nb, path, timeout, kernel_name, language)
    result.language = language
    return result


def _check(nb, path: Path, timeout: float, kernel_name: str | None,
           language: str) -> SelfCheckResult:

    warnings: list[str] = []
    seen: dict[str, int] = {}
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id:
            seen[grade_id] = seen.get(grade_id, 0) + 1
    for grade_id, count in seen.items():
        if count > 1:
            warnings.append(_t("the cell '{grade_id}' appears {count} times (copied?): "
                               "nbgrader refuses a notebook with duplicate cells; delete the "
                               "copies", grade_id=grade_id, count=count))
    edited = set(edited_cells(nb))
    for cell in nb.cells:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in edited:
            if is_test_cell(cell):
                warnings.append(_t("{grade_id}: your test cell was edited; it will be restored "
                                   "before grading", grade_id=grade_id))
            else:
                warnings.append(_t("{grade_id}: this read-only cell was edited; it will be "
                                   "restored before grading", grade_id=grade_id))

    tests = [(i, c) for i, c in enumerate(nb.cells) if is_test_cell(c)]
    if not tests:
        return SelfCheckResult(path, [], warnings + [
            _t("no graded test cells found: is this an exercise notebook of the course?")])

    skipped, checks_module = run_notebook(nb, path.parent, timeout, kernel_name, language)

    kit_missing = False
    for index, cell in enumerate(nb.cells):  # answer and set-up cells
        if cell.cell_type != "code" or is_test_cell(cell):
            continue
        name = _nbgrader(cell).get("grade_id") or _t("cell {number}", number=index + 1)
        error = _error(cell)
        if skipped.get(index) == TIMED_OUT:
            warnings.append(_t("{name} did not finish within {timeout:g} s and was stopped",
                               name=name, timeout=timeout))
        elif skipped.get(index) == DIED:
            warnings.append(_t("the kernel died while {name} ran", name=name))
        elif error is not None and error.get("ename") != "NotImplementedError":
            text = f"{error.get('ename', 'Error')}: {error.get('evalue', '')}"
            warnings.append(_t("{name} raised {error}", name=name, error=_whole(text)))
            if error.get("ename") == "ModuleNotFoundError" and _NO_KIT.search(text):
                kit_missing = True
                warnings.append(_t("the notebook's kernel cannot import the course kit: ")
                                + _hint("no kit"))

    questions = []
    for index, cell in tests:
        result = classify(cell, float(_nbgrader(cell).get("points", 0)),
                          skipped.get(index, ""), timeout)
        result.edited = result.grade_id in edited
        if kit_missing and result.message.startswith("NameError"):
            # the test's helpers were never imported: one cause, reported once above
            result.status, result.hint = NOT_RUN, _hint("no kit")
            result.message = _t("not run: the course kit is missing in the notebook's kernel")
        questions.append(result)
    return SelfCheckResult(path, questions, warnings, checks_module)


# --------------------------------------------------------------------------------------
# the printed report

LABELS = {PASSED: "PASS", FAILED: "FAIL", NOT_ATTEMPTED: "TODO", ERROR: "ERROR", NOT_RUN: "SKIP"}


def _extra_width(text: str) -> int:
    """Terminal columns beyond ``len(text)``: a Chinese character takes two."""
    import unicodedata

    return sum(unicodedata.east_asian_width(c) in "WF" for c in text)


def _pts(points: float) -> str:
    value = f"{points:g}"
    return _t("{points} pt", points=value) if value == "1" else _t("{points} pts", points=value)


# A line NumPy printed (an array, maybe after a label such as "expected:"): NumPy has
# already broken it into rows; wrapping it again would scramble the columns.
_ARRAY_LINE = re.compile(r"^\s*([\w ]+[:：]\s*)?\[")
MIN_TEXT_WIDTH = 40


def _wrapped(text: str, head: str, indent: str, width: int) -> list[str]:
    """``text`` after ``head``, then under it at ``indent``; long lines wrapped to ``width``.

    Each line keeps its own leading spaces (the messages indent their details), nothing is
    cut, and words longer than a line stay whole.
    """
    out = []
    for i, line in enumerate(text.splitlines() or [""]):
        prefix = head if i == 0 else indent
        if len(prefix) + len(line) <= width or _ARRAY_LINE.match(line):
            out.append((prefix + line).rstrip())
            continue
        lead = " " * (len(line) - len(line.lstrip()))
        out.extend(textwrap.wrap(line.strip(), width=max(width, len(indent) + MIN_TEXT_WIDTH),
                                 initial_indent=prefix + lead, subsequent_indent=indent + lead,
                                 break_long_words=False, break_on_hyphens=False))
    return out


def format_result(result: SelfCheckResult, width: int | None = None) -> str:
    """The table a student reads: one row per question, each message whole and wrapped."""
    with i18n.using(result.language):
        return _format(result, width)


def _format(result: SelfCheckResult, width: int | None) -> str:
    width = width or shutil.get_terminal_size((LINE_WIDTH, 24)).columns
    out = [_t("Self-check of {notebook} (run from the top in a fresh kernel)",
              notebook=result.notebook.name), ""]
    for warning in result.warnings:
        out.extend(_wrapped(warning, _t("WARNING: "), "  ", width))
    if result.warnings:
        out.append("")
    if result.questions:
        id_width = max(len(q.grade_id) for q in result.questions)
        pts_width = max(len(_pts(q.points)) for q in result.questions)
        for q in result.questions:
            label = _t(LABELS[q.status])
            head = (f"{q.grade_id:<{id_width}}  {_pts(q.points):<{pts_width}}  "
                    f"{label:<{5 - _extra_width(label)}}  ")
            indent = " " * (len(head) + _extra_width(head))
            out.extend(_wrapped(q.message, head, indent, width))
            if q.hint and not q.passed:
                hint = _t("hint: ")
                out.extend(_wrapped(q.hint, indent + hint,
                                    indent + " " * (len(hint) + _extra_width(hint)), width))
        got, total = result.points
        passed = sum(q.passed for q in result.questions)
        out += ["", _t("Public tests passed: {passed} of {questions} questions ({got:g} of "
                       "{total:g} points).", passed=passed, questions=len(result.questions),
                       got=got, total=total)]
        if result.ok:
            out.append(_t("All public tests pass. Hidden tests with other inputs also run when "
                          "your work is graded."))
    return "\n".join(out)
