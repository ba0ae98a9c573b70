"""Gradebook CSVs that Canvas and Moodle import, read from nbgrader's gradebook.

Every student the class report lists (:func:`grader.grading.report.read_gradebook`) gets a
row; the grade is the *final* score (autograded total minus nbgrader's late penalty).  A
student whose submission could not be graded, or who submitted nothing, gets 0, with the
reason: Moodle's import maps a column to a grade item's feedback, so the reason is the
``Feedback`` column; Canvas would turn any extra column into a new assignment, so the
reasons go into a companion file (``<name>-reasons.csv``) instead.

Canvas (Grades > Import): the columns of Canvas's own export, ``Student, ID, SIS User ID,
SIS Login ID, Section``, then one column per assignment, named ``Assignment name (canvas
id)`` to update an existing assignment (without an id Canvas offers to create one), and a
first row ``Points Possible``.  Students are matched by ID (the Canvas user id, nbgrader's
``lms_user_id``) or by SIS Login ID (nbgrader's student id, the hub user name).

Moodle (Grades > Import > CSV file): any columns; at import one maps an identifier column
(``Username`` or ``Email address``) to the user field, the grade column to the grade item
and ``Feedback`` to that item's feedback.

A student whose grading is unfinished (interrupted, being graded, not graded through the
grader's fault: :attr:`grader.grading.report.StudentRow.pending`) gets an *empty* grade
cell, which both importers leave alone, and the reason -- never a 0 that looks like a grade.
Every cell goes through :func:`grader.grading.viewers.for_csv_row`: an id, a name or a
reason that a spreadsheet would read as a formula starts with ``'`` (so such an id does not
match in the LMS either, and the import reports it).
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from grader.grading.report import GRADED, MISSING, late_text, read_gradebook
from grader.grading.viewers import for_csv_row

FORMATS = ("canvas", "moodle")


@dataclass
class LmsRow:
    student: str
    first_name: str
    last_name: str
    email: str
    lms_user_id: str
    grade: float | None          # None: unfinished grading, no grade given
    reason: str


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}".rstrip("0").rstrip(".")


def lms_rows(course_root: Path, assignment: str) -> tuple[float, list[LmsRow]]:
    """``(max_score, rows)``: one row per student, grade = final score or 0, and why."""
    from nbgrader.api import Gradebook, MissingEntry

    questions, rows = read_gradebook(Path(course_root), assignment)
    max_score = sum(q.max_score for q in questions)
    out = []
    with Gradebook(f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}") as gb:
        for r in rows:
            try:
                s = gb.find_student(r.student)
                who = (s.first_name or "", s.last_name or "", s.email or "", s.lms_user_id or "")
            except MissingEntry:
                who = ("", "", "", "")
            if r.pending:
                grade, reason = None, r.note or r.status
            elif r.status == MISSING or (r.status != GRADED and not r.scores):
                grade, reason = 0.0, r.note or r.status
            else:
                grade, reason = r.final, r.note
                if r.seconds_late > 0:
                    late = (f"late by {late_text(r.seconds_late)}: penalty {_number(r.penalty)} "
                            f"of {_number(r.total)}")
                    reason = f"{reason}; {late}" if reason else late
            out.append(LmsRow(r.student, *who, grade=grade, reason=reason))
    return max_score, out


def write_canvas(path: Path, title: str, max_score: float, rows: list[LmsRow],
                 canvas_id: str | None = None) -> list[Path]:
    """Canvas's gradebook CSV, and ``<stem>-reasons.csv`` beside it."""
    column = f"{title} ({canvas_id})" if canvas_id else title
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(for_csv_row(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", column]))
        writer.writerow(["    Points Possible", "", "", "", "", _number(max_score)])
        for r in rows:
            name = ", ".join(p for p in (r.last_name, r.first_name) if p) or r.student
            writer.writerow(for_csv_row([name, r.lms_user_id, r.student, r.student, "",
                                         _number(r.grade)]))
    reasons = Path(path).with_name(Path(path).stem + "-reasons.csv")
    with reasons.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(for_csv_row(["SIS Login ID", column, "Reason"]))
        writer.writerows(for_csv_row([r.student, _number(r.grade), r.reason])
                         for r in rows if r.reason)
    return [Path(path), reasons]


def write_moodle(path: Path, title: str, max_score: float, rows: list[LmsRow]) -> list[Path]:
    """Moodle's CSV grade import: identifiers, the grade column, and its feedback."""
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(for_csv_row(["Username", "Email address", "First name", "Last name",
                                     f"{title} (out of {_number(max_score)})", "Feedback"]))
        for r in rows:
            writer.writerow(for_csv_row([r.student, r.email, r.first_name, r.last_name,
                                         _number(r.grade), r.reason]))
    return [Path(path)]


def export(course_root: Path, assignment: str, fmt: str, out: Path, title: str | None = None,
           canvas_id: str | None = None) -> list[Path]:
    """Write the ``fmt`` ("canvas" or "moodle") CSV for ``assignment``; return the files."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown LMS format {fmt!r} (choose from {', '.join(FORMATS)})")
    max_score, rows = lms_rows(course_root, assignment)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    if fmt == "canvas":
        return write_canvas(out, title or assignment, max_score, rows, canvas_id)
    return write_moodle(out, title or assignment, max_score, rows)
