"""What a grading batch reports: one result per student, the batch's, and the class table.

Shared by the batch (:mod:`grader.grading.batch`, which fills them in), the summary JSON and
the command's table (:func:`format_table`).

A student's status is ``graded``, ``skipped`` (graded before, nothing changed), ``failed``
(the submission cannot be graded: refused at intake, not a notebook nbgrader reads; the LMS
exports give 0 with the reason) or ``error`` (the *grader* could not grade it: its own
failure, a full disk; nothing was written, the next batch grades it again, and no export
shows a score for it).  ``grader_errors`` lists every failure of the grader's own machinery
met while grading the student, also when a second attempt then graded it: the batch exits
non-zero and the table lists them, so that they are reported, never silently absorbed.

Everything a student controls (ids, file names, reasons quoting them) goes through
:func:`grader.grading.viewers.for_terminal` in the table.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from grader.grading.viewers import for_terminal


class BatchError(RuntimeError):
    """The batch cannot grade anyone (the canary failed, the assignment is unknown...)."""


@dataclass
class StudentResult:
    student: str
    status: str = "pending"          # graded, skipped, failed, error
    reason: str = ""
    score: float | None = None
    max_score: float | None = None
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)       # intake: files left out...
    incidents: list[str] = field(default_factory=list)   # crashes, timeouts, restarts
    nbgrader_warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    seconds_late: float = 0.0        # nbgrader's, from timestamp.txt and the due date
    late_penalty: float = 0.0        # nbgrader's, by the course's late policy
    grader_errors: list[str] = field(default_factory=list)   # the grader's own failures
    attempts: int = 0                # times nbgrader's pipeline ran for this student

    @property
    def final(self) -> float | None:
        """The score minus the late penalty (what the reports and LMS exports give)."""
        return None if self.score is None else max(0.0, self.score - self.late_penalty)


@dataclass
class BatchResult:
    assignment: str
    course: str
    sandboxed: bool
    jobs: int
    seconds: float
    students: list[StudentResult]
    canary_seconds: float = 0.0
    summary_path: str = ""
    scheduler: str = ""              # the Dask scheduler the kernels ran on, if any
    canary_errors: list[str] = field(default_factory=list)   # grader faults met by the canary

    @property
    def failures(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == "failed"]

    @property
    def errors(self) -> list[StudentResult]:
        """Not graded through no fault of the submission: graded again by the next batch."""
        return [s for s in self.students if s.status == "error"]

    @property
    def grader_errors(self) -> list[tuple[str, str]]:
        return ([("(the canary)", e) for e in self.canary_errors]
                + [(s.student, e) for s in self.students for e in s.grader_errors])

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment, "course": self.course, "sandboxed": self.sandboxed,
            "jobs": self.jobs, "seconds": round(self.seconds, 2),
            "canary_seconds": round(self.canary_seconds, 2), "scheduler": self.scheduler,
            "graded": sum(s.status == "graded" for s in self.students),
            "skipped": sum(s.status == "skipped" for s in self.students),
            "failed": [{"student": s.student, "reason": s.reason} for s in self.failures],
            "errors": [{"student": s.student, "reason": s.reason} for s in self.errors],
            "grader_errors": [{"student": who, "error": e} for who, e in self.grader_errors],
            "students": [asdict(s) for s in self.students],
        }


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__


def format_table(batch: BatchResult) -> str:
    """The class table: one line per student (a late one's penalty and final score
    first), then what went wrong, explained.  Safe to print: control characters in what a
    student named are shown as escapes."""
    from grader.grading.report import late_text

    rows = [("student", "score", "status", "notes")]
    for s in batch.students:
        score = "" if s.score is None else f"{s.score:g}/{s.max_score:g}"
        notes = list(s.notes)
        if s.score is not None and s.seconds_late > 0:
            notes.insert(0, f"late by {late_text(s.seconds_late)}: penalty {s.late_penalty:g}, "
                            f"final {s.final:g}/{s.max_score:g}")
        if s.incidents:
            notes.append(f"{len(s.incidents)} incident(s)")
        if s.grader_errors and s.status != "error":
            notes.append(f"graded again after {len(s.grader_errors)} grader error(s)")
        if s.status in ("failed", "error"):
            notes.append(s.reason)
        rows.append(tuple(for_terminal(x, keep_newlines=False)
                          for x in (s.student, score, s.status, "; ".join(notes))))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
             for r in rows]
    lines.insert(1, "-" * min(100, sum(widths) + 6 + max(len(r[3]) for r in rows)))
    details = [for_terminal(f"  {s.student}: {inc}", keep_newlines=False)
               for s in batch.students for inc in s.incidents]
    if details:
        lines += ["", "Details:"] + details[:200]
    faults = [for_terminal(f"  {who}: {error}", keep_newlines=False) for who, error in batch.grader_errors]
    if faults:
        lines += ["", "GRADER ERRORS (the grader's own failures, not the students'; each student "
                      "was graded again, and one still marked 'error' is graded by the next "
                      "batch; please report these):"] + faults[:200]
    graded = sum(s.status == "graded" for s in batch.students)
    errors = f", {len(batch.errors)} not graded (grader error or disk: run again)" if batch.errors else ""
    lines += ["", f"{graded} graded, {sum(s.status == 'skipped' for s in batch.students)} skipped, "
                  f"{len(batch.failures)} failed{errors} in {batch.seconds:.1f} s "
                  f"(canary {batch.canary_seconds:.1f} s; "
                  f"{'sandboxed' if batch.sandboxed else 'NOT sandboxed'}, {batch.jobs} jobs"
                  f"{f', kernels on Dask at {batch.scheduler}' if batch.scheduler else ''}); "
                  f"summary: {for_terminal(batch.summary_path)}"]
    return "\n".join(lines)
