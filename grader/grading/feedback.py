"""Per-student feedback HTML that shows scores and failure messages, never hidden tests.

``nbgrader generate_feedback`` renders the *autograded* notebook, and that notebook holds the
hidden tests: their source in the test cells, and their lines again in the tracebacks of
failed tests.  We run the same nbgrader converter with two more preprocessors:

* nbgrader's own ``ClearHiddenTests`` (the one code path that strips hidden tests, as in
  ``generate_assignment``) removes the hidden regions from the cells' source;
* :class:`ScrubOutputs` reduces every error output to its last line, ``ExceptionType:
  message`` (a traceback quotes the source lines it passes through, hidden tests and
  ``grader.reference`` included), and every stderr output to its warning messages.

Then every file written is *audited* with :mod:`grader.leaks`: a solution or hidden-test
line (or an nbgrader marker) that is not the student's own text makes the command delete
that student's feedback and report it, rather than publish it.  (Outputs can quote anything
a submission chose to print; the audit is the net under that.)
"""
from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from grader import leaks
from grader.release import nbgrader_command, nbgrader_env

PREPROCESSORS = (
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "grader.grading.feedback.ScrubOutputs",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
)

# ``/tmp/ipykernel_1/123.py:5: RuntimeWarning: overflow encountered in exp``
_WARNING = re.compile(r"\b([A-Za-z_][A-Za-z0-9_]*(?:Warning|Error)): (.*)$")


def scrub_stderr(text: str) -> str:
    """Only the ``Category: message`` part of warning lines; file names and quoted source go."""
    kept = [f"{m.group(1)}: {m.group(2)}" for line in text.splitlines()
            if (m := _WARNING.search(line))]
    if not kept and text.strip():
        kept = ["(output on standard error, not shown)"]
    return "\n".join(kept) + ("\n" if kept else "")


class ScrubOutputs(Preprocessor):
    """Error outputs keep ``ename: evalue`` only; stderr keeps warning messages only."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        outputs = []
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
            elif output.output_type == "stream" and output.name == "stderr":
                output.text = scrub_stderr(output.text)
                if not output.text:
                    continue
            outputs.append(output)
        cell.outputs = outputs
        return cell, resources


@dataclass
class StudentFeedback:
    student: str
    files: list[Path] = field(default_factory=list)
    problem: str = ""


def _squashed_lines(text: str) -> set[str]:
    return {" ".join(line.split()) for line in text.splitlines()}


def _own_text(course_root: Path, student: str, assignment: str) -> str:
    """Everything the student submitted (their own text can never leak to them)."""
    folder = course_root / "submitted" / student / assignment
    files = sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []
    return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in files)


def audit(files: list[Path], secrets: set[str], own_text: str) -> list[str]:
    """Secret lines and markers found in ``files`` that are not in ``own_text``."""
    own_lines = _squashed_lines(own_text)
    own_flat = " ".join(own_text.split())
    allowed = {s for s in secrets if s in own_lines}
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for item in leaks.find_leaks(text, secrets - allowed):
            if item in leaks.MARKERS and item in own_flat:
                continue
            found.append(f"{path.name}: {item}")
    return found


def _autograded_students(course_root: Path, assignment: str) -> list[str]:
    base = course_root / "autograded"
    if not base.is_dir():
        return []
    return sorted(p.name for p in base.iterdir()
                  if (p / assignment).is_dir() and any((p / assignment).glob("*.ipynb")))


def _run_nbgrader(course_root: Path, assignment: str,
                  student: str | None) -> subprocess.CompletedProcess:
    args = ["generate_feedback", assignment, "--force", "--log-level=WARN"]
    if student:
        args.append(f"--student={student}")
    args += [f"--GenerateFeedback.preprocessors={name}" for name in PREPROCESSORS]
    return subprocess.run(nbgrader_command(*args), cwd=course_root, env=nbgrader_env(),
                          capture_output=True, text=True)


def generate_feedback(course_root: Path, assignment: str,
                      students: list[str] | None = None) -> list[StudentFeedback]:
    """Feedback HTML in ``feedback/<student>/<assignment>/`` for every autograded student.

    Returns one entry per student; ``problem`` is set (and no feedback file is left) when
    nbgrader failed for that student or the audit found hidden text.
    """
    course_root = Path(course_root).resolve()
    source = sorted((course_root / "solutions" / assignment).glob("*.ipynb"))
    if not source:
        raise FileNotFoundError(f"no source notebook in {course_root / 'solutions' / assignment}"
                                " (needed to audit the feedback)")
    secrets = leaks.secret_lines(source)
    everyone = _autograded_students(course_root, assignment)
    todo = list(students) if students is not None else everyone
    for student in todo:  # never leave an older (possibly unscrubbed) file in place
        shutil.rmtree(course_root / "feedback" / student / assignment, ignore_errors=True)

    # All students in one nbgrader run when asked for all of them; one run each otherwise.
    batch = _run_nbgrader(course_root, assignment, None) if students is None and todo else None
    results = []
    for student in todo:
        entry = StudentFeedback(student)
        results.append(entry)
        expected = sorted((course_root / "autograded" / student / assignment).glob("*.ipynb"))
        if not expected:
            entry.problem = "no autograded notebook"
            continue
        out_dir = course_root / "feedback" / student / assignment

        def missing() -> list[Path]:
            return [p for p in expected if not (out_dir / (p.stem + ".html")).is_file()]

        log = batch.stdout + batch.stderr if batch else ""
        if batch is None or missing():  # (again) alone, so that its error is its own
            single = _run_nbgrader(course_root, assignment, student)
            log = single.stdout + single.stderr
        if missing():
            entry.problem = ("nbgrader generate_feedback failed: "
                             + (_last_error_line(log) or f"no output for {missing()[0].name}"))
        else:
            files = sorted(p for p in out_dir.rglob("*") if p.is_file())
            found = audit(files, secrets, _own_text(course_root, student, assignment))
            if found:
                entry.problem = ("feedback withheld: it would show hidden or solution text ("
                                 + "; ".join(found[:3]) + ")")
            else:
                entry.files = files
        if entry.problem:
            shutil.rmtree(out_dir, ignore_errors=True)
    return results


def _last_error_line(log: str) -> str:
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if "Error" in line or "error" in line:
            return line[:300]
    return lines[-1][:300] if lines else ""
