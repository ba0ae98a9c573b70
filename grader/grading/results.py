"""What a grading batch reports: one result per student, the batch's, and the class table.

Shared by the batch (:mod:`grader.grading.batch`, which fills them in), the summary JSON and
the command's table (:func:`format_table`).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field


class BatchError(RuntimeError):
    """The batch cannot grade anyone (the canary failed, the assignment is unknown...)."""


@dataclass
class StudentResult:
    student: str
    status: str = "pending"          # graded, skipped, failed
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

    @property
    def failures(self) -> list[StudentResult]:
        return [s for s in self.students if s.status == "failed"]

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment, "course": self.course, "sandboxed": self.sandboxed,
            "jobs": self.jobs, "seconds": round(self.seconds, 2),
            "canary_seconds": round(self.canary_seconds, 2), "scheduler": self.scheduler,
            "graded": sum(s.status == "graded" for s in self.students),
            "skipped": sum(s.status == "skipped" for s in self.students),
            "failed": [{"student": s.student, "reason": s.reason} for s in self.failures],
            "students": [asdict(s) for s in self.students],
        }


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__


def format_table(batch: BatchResult) -> str:
    """The class table: one line per student (a late one's penalty and final score
    first), then what went wrong, explained."""
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
        if s.status == "failed":
            notes.append(s.reason)
        rows.append((s.student, score, s.status, "; ".join(notes)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}".rstrip()
             for r in rows]
    lines.insert(1, "-" * min(100, sum(widths) + 6 + max(len(r[3]) for r in rows)))
    details = [f"  {s.student}: {inc}" for s in batch.students for inc in s.incidents]
    if details:
        lines += ["", "Details:"] + details[:200]
    graded = sum(s.status == "graded" for s in batch.students)
    lines += ["", f"{graded} graded, {sum(s.status == 'skipped' for s in batch.students)} skipped, "
                  f"{len(batch.failures)} failed in {batch.seconds:.1f} s "
                  f"(canary {batch.canary_seconds:.1f} s; "
                  f"{'sandboxed' if batch.sandboxed else 'NOT sandboxed'}, {batch.jobs} jobs"
                  f"{f', kernels on Dask at {batch.scheduler}' if batch.scheduler else ''}); "
                  f"summary: {batch.summary_path}"]
    return "\n".join(lines)
