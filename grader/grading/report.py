"""Class report for one assignment, read from nbgrader's gradebook.

:func:`write_class_report` writes into ``out_dir``:

``scores.csv``      one row per student: score per question, total, time late, late
                    penalty, final score (total minus penalty), status and a note;
``summary.json``    the numbers below, for programs;
``summary.md``      the same for people: pass rate per question, mean and median final
                    score, the late submissions;
``histogram.png``   the distribution of final scores.

Late penalties are nbgrader's: its ``AssignLatePenalties`` step stores one per notebook in the
gradebook, by the policy of ``nbgrader_config.py`` (:mod:`grader.grading.late`); this module
only reads them back (:func:`late_info`).  Pass rates are per question, before any penalty.

Students are everyone the gradebook knows plus everyone with a folder in ``submitted/`` or
``autograded/``.  Only *graded* submissions enter the statistics; the others are listed
with a note (no submission, submitted but not autograded, autograde failed, or waiting
for manual grading).  A question is *passed* when it earned its full points.

A submission whose grading did not finish is **pending**, never shown with a score (in
the CSV, the summaries and the LMS exports): ``interrupted`` when the batch grading it was
killed (its marker, :mod:`grader.grading.inflight`, or autogradable cells without a score),
``being graded`` while a batch grades it, and ``not graded`` with the grader's reason when
the grader could not grade it (its own error, a full disk): the next batch grades them.

Every text a student controls (ids, file names in the notes) is escaped for the program
that opens the file (:mod:`grader.grading.viewers`): CSV cells cannot become formulas,
Markdown shows it literally.

Why a submission is not graded, or what was odd about a graded one (two notebooks, a renamed
notebook accepted, files left out), comes from the last ``python -m grader autograde`` run
that saw the student (``autograded/<assignment>-autograde-summary.json``) and goes into the
``note`` of every output, and so into the LMS exports.
"""
from __future__ import annotations

import csv
import json
import os
import statistics
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from grader.grading import classreport, inflight, insight
from grader.grading.viewers import for_csv_row, for_markdown

GRADED = "graded"
NOT_GRADED = "not graded"
MISSING = "no submission"
INTERRUPTED = "interrupted"
BEING_GRADED = "being graded"
REGRADE = "regrade pending: python -m grader autograde grades it"

FILES = {"csv": "scores.csv", "json": "summary.json", "markdown": "summary.md",
         "histogram": "histogram.png"}


@dataclass
class Question:
    notebook: str
    grade_id: str
    max_score: float

    def column(self, several_notebooks: bool) -> str:
        return f"{self.notebook}:{self.grade_id}" if several_notebooks else self.grade_id


@dataclass
class StudentRow:
    student: str
    status: str
    note: str = ""
    scores: dict[tuple[str, str], float] = field(default_factory=dict)
    seconds_late: float = 0.0
    penalty: float = 0.0
    pending: bool = False       # the grader's side is unfinished: no score may be shown

    @property
    def total(self) -> float:
        return sum(self.scores.values())

    @property
    def final(self) -> float:
        """The total minus the late penalty (nbgrader caps the penalty at the score)."""
        return max(0.0, self.total - self.penalty)


class LateInfo(NamedTuple):
    seconds_late: float
    penalty: float
    final: float


def late_text(seconds: float) -> str:
    """``2d 3h 05m`` style, for people; empty when on time."""
    if seconds <= 0:
        return ""
    minutes = int(round(seconds / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    return (f"{days}d " if days else "") + (f"{hours}h " if days or hours else "") + f"{minutes:02d}m"


def _ensure_alembic_on_path() -> None:
    """nbgrader may start ``alembic`` through PATH when it opens a gradebook."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _source_order(course_root: Path, assignment: str, notebook: str) -> dict[str, int]:
    path = course_root / "solutions" / assignment / f"{notebook}.ipynb"
    if not path.is_file():
        return {}
    import nbformat

    cells = nbformat.read(str(path), as_version=4).cells
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in cells]
    return {grade_id: i for i, grade_id in enumerate(ids) if grade_id}


def _folders(course_root: Path, kind: str, assignment: str) -> set[str]:
    base = course_root / kind
    if not base.is_dir():
        return set()
    return {p.name for p in base.iterdir() if not p.name.startswith(".") and (p / assignment).is_dir()}


def _batch_entries(course_root: Path, assignment: str) -> dict[str, dict]:
    """Student -> the latest autograde batch's entry (status, reason, notes), if any."""
    path = course_root / "autograded" / f"{assignment}-autograde-summary.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {s["student"]: s for s in data.get("students", []) if isinstance(s, dict)}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


def _note(entry: dict | None, default: str) -> str:
    """The batch's reason (failed) or anomalies (graded), else ``default``."""
    if not entry:
        return default
    notes = [n for n in entry.get("notes", []) if not n.startswith("graded again:")]
    if entry.get("status") == "failed":
        return "; ".join([f"autograde failed: {entry.get('reason', '')}"] + notes)
    if entry.get("status") == "error":
        return "; ".join([f"{entry.get('reason', 'not graded')} (the grader's failure, not the "
                          f"submission's; {REGRADE})"] + notes)
    return "; ".join(notes) or default


def _pending_row(name: str, entry: dict | None, marker: str) -> StudentRow | None:
    """The row of a student whose grading is unfinished, or None."""
    if marker == "interrupted":
        return StudentRow(name, INTERRUPTED, f"interrupted, {REGRADE} (the batch grading it "
                                             "was stopped)", pending=True)
    if marker == "live":
        return StudentRow(name, BEING_GRADED, "a batch is grading it now", pending=True)
    if entry and entry.get("status") == "error":
        return StudentRow(name, NOT_GRADED, _note(entry, ""), pending=True)
    return None


def read_gradebook(course_root: Path, assignment: str) -> tuple[list[Question], list[StudentRow]]:
    """Questions (in notebook order) and one row per student, from ``gradebook.db``."""
    from nbgrader.api import Gradebook, MissingEntry

    course_root = Path(course_root).resolve()
    db = course_root / "gradebook.db"
    if not db.is_file():
        raise FileNotFoundError(f"no gradebook at {db}: run nbgrader (generate_assignment, "
                                "autograde) in that course folder first")
    _ensure_alembic_on_path()
    submitted = _folders(course_root, "submitted", assignment)
    autograded = _folders(course_root, "autograded", assignment)
    batch = _batch_entries(course_root, assignment)
    in_flight = inflight.markers(course_root, assignment)
    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"the gradebook has no assignment {assignment!r}") from None
        questions = []
        for nb in record.notebooks:
            order = _source_order(course_root, assignment, nb.name)
            cells = sorted(nb.grade_cells, key=lambda c: (order.get(c.name, len(order)), c.name))
            questions += [Question(nb.name, c.name, float(c.max_score)) for c in cells
                          if c.max_score > 0]
        names = sorted({s.id for s in gb.students} | submitted | autograded)
        rows = []
        for name in names:
            pending = _pending_row(name, batch.get(name), in_flight.get(name, ""))
            if pending is not None:
                rows.append(pending)
                continue
            try:
                submission = gb.find_submission(assignment, name)
            except MissingEntry:
                note = ("submitted but not autograded yet" if name in submitted
                        else "no submission")
                rows.append(StudentRow(name, MISSING, _note(batch.get(name), note)
                                       if name in submitted else note))
                continue
            late = {"seconds_late": float(submission.total_seconds_late or 0.0),
                    "penalty": float(sum(nb.late_submission_penalty or 0.0
                                         for nb in submission.notebooks))}
            grades = {(nb.name, g.name): g for nb in submission.notebooks for g in nb.grades}
            scores = {(q.notebook, q.grade_id): float(grades[(q.notebook, q.grade_id)].score or 0)
                      for q in questions if (q.notebook, q.grade_id) in grades}
            ungraded = [g for g in grades.values() if g.max_score > 0
                        and g.auto_score is None and g.manual_score is None]
            if name not in autograded:
                rows.append(StudentRow(name, NOT_GRADED, _note(batch.get(name), "autograde failed: "
                                       "not graded (see nbgrader's log for this submission)")))
            elif any(g.cell_type == "code" for g in ungraded):   # autograding never finished
                rows.append(StudentRow(name, INTERRUPTED, f"autograding did not finish, {REGRADE}",
                                       pending=True))
            elif ungraded:
                rows.append(StudentRow(name, NOT_GRADED, f"{len(ungraded)} cell(s) wait for "
                                       "manual grading", scores, **late))
            else:
                entry = batch.get(name)
                note = _note(entry, "")
                if entry and entry.get("status") == "failed":
                    note = f"latest submission not graded ({note}); the score is an earlier one's"
                regraded = insight.policy_note(insight.read(course_root / "autograded" / name / assignment))
                note = "; ".join(x for x in (note, regraded) if x)   # what never_lower did
                rows.append(StudentRow(name, GRADED, note, scores, **late))
    return questions, rows


def late_info(course_root: Path, assignment: str) -> dict[str, LateInfo]:
    """``student -> (seconds_late, penalty, final)`` for every submission in the gradebook.

    ``final`` is the autograded total minus nbgrader's late penalty; on-time submissions
    have ``(0.0, 0.0, total)``.
    """
    _, rows = read_gradebook(course_root, assignment)
    return {r.student: LateInfo(r.seconds_late, r.penalty, r.final)
            for r in rows if r.status != MISSING and not r.pending}


def _summary(assignment: str, questions: list[Question], rows: list[StudentRow]) -> dict:
    graded = [r for r in rows if r.status == GRADED]
    totals = [r.final for r in graded]
    max_score = sum(q.max_score for q in questions)

    def stat(fn):
        return round(float(fn(totals)), 4) if totals else None

    per_question = []
    for q in questions:
        key = (q.notebook, q.grade_id)
        got = [r.scores.get(key, 0.0) for r in graded]
        passed = sum(score >= q.max_score - 1e-9 for score in got)
        per_question.append({
            "notebook": q.notebook, "question": q.grade_id, "max_score": q.max_score,
            "passed": passed,
            "pass_rate": round(passed / len(graded), 4) if graded else None,
            "mean_score": round(statistics.fmean(got), 4) if got else None})
    return {
        "assignment": assignment,
        "max_score": max_score,
        "students": len(rows),
        "graded": len(graded),
        "scores": "final (total minus late penalty)",
        "mean": stat(statistics.fmean),
        "median": stat(statistics.median),
        "min": stat(min),
        "max": stat(max),
        "questions": per_question,
        "late": [{"student": r.student, "seconds_late": round(r.seconds_late, 1),
                  "late": late_text(r.seconds_late), "total": r.total,
                  "penalty": round(r.penalty, 4), "final": round(r.final, 4)}
                 for r in rows if r.status != MISSING and not r.pending and r.seconds_late > 0],
        "not_graded": [{"student": r.student, "status": r.status, "note": r.note,
                        "pending": r.pending} for r in rows if r.status != GRADED],
    }


def _write_csv(path: Path, questions: list[Question], rows: list[StudentRow]) -> None:
    several = len({q.notebook for q in questions}) > 1
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(for_csv_row(["student", *(q.column(several) for q in questions), "total",
                                     "seconds_late", "late", "late_penalty", "final", "max_score",
                                     "status", "note"]))
        max_score = sum(q.max_score for q in questions)
        for r in rows:
            if r.pending or r.status == MISSING or (r.status == NOT_GRADED and not r.scores):
                cells = [""] * (len(questions) + 5)
            else:
                cells = [f"{r.scores.get((q.notebook, q.grade_id), 0.0):g}" for q in questions]
                cells += [f"{r.total:g}", f"{r.seconds_late:.0f}", late_text(r.seconds_late),
                          f"{r.penalty:g}", f"{r.final:g}"]
            writer.writerow(for_csv_row([r.student, *cells, f"{max_score:g}", r.status, r.note]))


def _fmt(value, pattern="{:.2f}") -> str:
    return "n/a" if value is None else pattern.format(value)


def _write_markdown(path: Path, summary: dict, several_notebooks: bool) -> None:
    lines = [f"# Class report: {summary['assignment']}", "",
             f"- students: {summary['students']} ({summary['graded']} graded)",
             f"- final score (total minus late penalty) out of {summary['max_score']:g}: "
             f"mean {_fmt(summary['mean'])}, "
             f"median {_fmt(summary['median'])}, min {_fmt(summary['min'], '{:g}')}, "
             f"max {_fmt(summary['max'], '{:g}')}",
             "", "| question | points | passed | pass rate | mean score |",
             "|---|---:|---:|---:|---:|"]
    for q in summary["questions"]:
        name = f"{q['notebook']}:{q['question']}" if several_notebooks else q["question"]
        rate = _fmt(None if q["pass_rate"] is None else 100 * q["pass_rate"], "{:.0f} %")
        lines.append(f"| {name} | {q['max_score']:g} | {q['passed']} of {summary['graded']} | "
                     f"{rate} | {_fmt(q['mean_score'])} |")
    if summary["late"]:
        lines += ["", "Late submissions (penalty by the policy in `nbgrader_config.py`):", "",
                  "| student | late by | total | penalty | final |", "|---|---|---:|---:|---:|"]
        lines += [f"| {for_markdown(s['student'])} | {s['late']} | {s['total']:g} | {s['penalty']:g} | "
                  f"{s['final']:g} |" for s in summary["late"]]
    if summary["not_graded"]:
        lines += ["", "Not in the statistics:", ""]
        lines += [f"- {for_markdown(s['student'])}: {for_markdown(s['note'] or s['status'])}"
                  for s in summary["not_graded"]]
    lines += ["", f"![histogram of final scores]({FILES['histogram']})", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def histogram_figure(summary: dict, finals: list[float]):
    """The histogram of final scores (after late penalties), as a matplotlib Figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    max_score = summary["max_score"] or 1.0
    fig = Figure(figsize=(6, 3.5), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    if max_score <= 50:
        edges = [x - 0.5 for x in range(int(max_score) + 2)]
    else:
        edges = [max_score * i / 20 for i in range(21)]
    ax.hist(finals, bins=edges, color="#4477aa", edgecolor="white")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel(f"final score: total minus late penalty (out of {max_score:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    missing = summary["students"] - summary["graded"]
    counts = f"{summary['graded']} graded" + (f", {missing} not graded" if missing else "")
    late = len(summary["late"])
    counts += f", {late} late (penalty applied)" if late else ""
    ax.set_title(f"{summary['assignment']}: final scores (after late penalties)\n{counts}",
                 fontsize=10)
    fig.tight_layout()
    return fig


def write_class_report(course_root: Path, assignment: str, out_dir: Path) -> dict:
    """Write the CSV, summaries and histogram into ``out_dir``; return the summary.

    The returned dict is what ``summary.json`` holds, plus ``files`` (name -> path).
    """
    questions, rows = read_gradebook(Path(course_root), assignment)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = _summary(assignment, questions, rows)
    several = len({q.notebook for q in questions}) > 1
    _write_csv(out_dir / FILES["csv"], questions, rows)
    _write_markdown(out_dir / FILES["markdown"], summary, several)
    histogram_figure(summary, [r.final for r in rows if r.status == GRADED]).savefig(
        out_dir / FILES["histogram"])
    (out_dir / FILES["json"]).write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    summary["files"] = {kind: str(out_dir / name) for kind, name in FILES.items()}
    # why questions failed, item statistics, similarity, regrades: index.html and its data
    summary["files"].update(classreport.write(course_root, assignment, out_dir, questions, rows, summary))
    return summary
