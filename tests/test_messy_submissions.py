"""A messy class, graded for real: every anomaly reported everywhere, and regrading by content.

Chapter 1 of the scripted class (``tests/scripted_class.py``, the local path), among others: a
complete submission; two notebooks (the assignment's and another); a renamed notebook
(refused, then accepted by the instructor with ``python -m grader accept``); extra files; no
notebook; an empty folder.  Each anomaly is a line of the table, a note in
``scores.csv``/``summary.json`` and a reason in the LMS CSVs (every chapter and both paths:
``tests/test_scripted_class.py``).

Then regrading, in a copy of that graded course: nothing changed, or only modification times
changed -> skipped; the notebook's content, the assignment's tests in the gradebook, or the
grader's version changed -> graded again, with the reason in the table.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from scripted_class import ABSENT, FIRST

import grader
from grader.cli import main
from grader.course import Course
from grader.grading import fingerprint, report
from grader.grading.autograde import autograde, format_table

A = FIRST
NB = f"{A}.ipynb"
RENAMED = f"Copy of {A}.ipynb"
# the students of chapter 1 (tests/submissions/make_class.py's CORE)
COMPLETE, TWO_NOTEBOOKS, EXTRA_FILES = "s14-correct", "s05-crash", "s02-unanswered"
RENAMED_ONE, NO_NOTEBOOK, EMPTY = "s06-renamed", "s07-no-notebook", "s08-empty"


@pytest.fixture(scope="module")
def klass(small_class, tmp_path_factory):
    """The first batch; a copy of its graded course in which the instructor accepted the
    renamed notebook (an unknown file first), and the second batch that graded it.  Each test
    reads it whichever pytest-xdist worker runs it; the regrading test changes a copy of it."""
    tmp = tmp_path_factory.mktemp("messy")
    course = Course(shutil.copytree(small_class.courses["local"], tmp / "course", symlinks=True))
    roster = small_class.rosters[A]
    codes = [main(["accept", A, RENAMED_ONE, name, "--course", str(course.root)])
             for name in ("nothing.ipynb", RENAMED)]
    second = autograde(course.root, A, jobs=2, progress=False)
    return {"course": course, "first": small_class.batches["local"][A], "tmp": tmp,
            "accept_codes": codes, "second": second,
            "graded": {s.student for s in roster if s.graded},
            "refused": {s.student for s in roster if not s.graded}}


def _by(batch):
    return {s.student: s for s in batch.students}


def _line(table: str, student: str) -> str:
    (line,) = [ln for ln in table.splitlines() if ln.startswith(student + " ")]
    return line


def test_every_anomaly_is_one_clear_line(klass):
    table, by = format_table(klass["first"]), _by(klass["first"])
    assert by[COMPLETE].status == "graded" and by[COMPLETE].score == by[COMPLETE].max_score
    assert by[TWO_NOTEBOOKS].status == "graded" and by[TWO_NOTEBOOKS].score == 11
    assert "2 notebooks: graded 01_rnn_by_hand.ipynb; not graded: scratch.ipynb" in _line(table, TWO_NOTEBOOKS)
    assert by[EXTRA_FILES].status == "graded"
    assert "ignored (not part of the assignment): data.csv, figures/" in _line(table, EXTRA_FILES)
    assert by[RENAMED_ONE].status == "failed"
    assert (f"renamed notebook: found {RENAMED}, expected {NB}; if it is the student's work: "
            f"python -m grader accept -- {A} {RENAMED_ONE} '{RENAMED}'") in _line(table, RENAMED_ONE)
    assert "no notebook of this assignment: expected 01_rnn_by_hand.ipynb, found answers.txt" \
        in _line(table, NO_NOTEBOOK)
    assert "empty submission: the folder holds no file" in _line(table, EMPTY)
    assert "not graded" not in _line(table, COMPLETE).split("graded", 1)[1]


def test_accepting_a_renamed_notebook(klass):
    course = klass["course"]
    assert klass["accept_codes"] == [1, 0]   # an unknown file refused, the renamed one accepted
    recorded = json.loads((course.root / "accepted-notebooks.json").read_text())
    assert recorded == {A: {RENAMED_ONE: {RENAMED: NB}}}
    second = klass["second"]
    by = _by(second)
    assert by[RENAMED_ONE].status == "graded" and by[RENAMED_ONE].score == 11
    assert f"renamed notebook {RENAMED} graded as {NB}" in _line(format_table(second), RENAMED_ONE)
    # the student's files are as submitted; the others were not graded again
    assert sorted(p.name for p in (course.root / "submitted" / RENAMED_ONE / A).iterdir()) == [RENAMED]
    assert {s for s, r in by.items() if r.status == "skipped"} == klass["graded"]
    assert (course.root / "autograded" / RENAMED_ONE / A / NB).is_file()


def test_every_export_carries_the_reasons(klass, tmp_path):
    course = klass["course"]
    report.write_class_report(course.root, A, tmp_path)
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "scores.csv").open())}
    assert "not graded: scratch.ipynb" in rows[TWO_NOTEBOOKS]["note"]
    assert rows[TWO_NOTEBOOKS]["final"] == "11"
    assert "data.csv" in rows[EXTRA_FILES]["note"]
    assert f"renamed notebook {RENAMED} graded as {NB}" in rows[RENAMED_ONE]["note"]
    assert "empty submission" in rows[EMPTY]["note"] and rows[EMPTY]["final"] == ""
    assert "no notebook of this assignment" in rows[NO_NOTEBOOK]["note"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {s["student"] for s in summary["not_graded"]} == \
        klass["refused"] - {RENAMED_ONE} | {ABSENT["student"]}   # the renamed one was accepted
    assert main(["export", A, "--format", "moodle", "--course", str(course.root),
                 "--out", str(tmp_path / "moodle.csv")]) == 0
    moodle = {r["Username"]: r for r in csv.DictReader((tmp_path / "moodle.csv").open())}
    assert "empty submission" in moodle[EMPTY]["Feedback"] and moodle[EMPTY]["01_rnn_by_hand (out of 11)"] == "0"
    assert "not graded: scratch.ipynb" in moodle[TWO_NOTEBOOKS]["Feedback"]
    assert main(["export", A, "--format", "canvas", "--course", str(course.root),
                 "--out", str(tmp_path / "canvas.csv")]) == 0
    reasons = {r["SIS Login ID"]: r["Reason"] for r in csv.DictReader((tmp_path / "canvas-reasons.csv").open())}
    assert "no notebook of this assignment" in reasons[NO_NOTEBOOK]
    assert "data.csv" in reasons[EXTRA_FILES]


def test_regrade_only_when_it_matters(klass, monkeypatch, tmp_path):
    root = Path(shutil.copytree(klass["course"].root, tmp_path / "course", symlinks=True))
    # modification times alone: nothing is graded again
    for path in (root / "submitted").rglob("*.ipynb"):
        os.utime(path, (1e9, 2e9))
    by = _by(autograde(root, A, jobs=2, progress=False))
    assert {s for s, r in by.items() if r.status == "skipped"} == klass["graded"] | {RENAMED_ONE}
    stored = fingerprint.read(root / "autograded" / COMPLETE / A)
    assert set(stored) == set(fingerprint.PARTS)

    # the notebook's content: that student only
    nb = nbformat.read(root / "submitted" / COMPLETE / A / NB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("# one more line"))
    nbformat.write(nb, root / "submitted" / COMPLETE / A / NB)
    batch = autograde(root, A, jobs=2, progress=False)
    by = _by(batch)
    assert by[COMPLETE].status == "graded" and by[COMPLETE].score == 11
    assert "graded again: the submission changed" in _line(format_table(batch), COMPLETE)
    assert by[TWO_NOTEBOOKS].status == "skipped"

    # the assignment's tests, as the gradebook holds them: revised and registered again
    source = root / "solutions" / A / NB
    nb = nbformat.read(source, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-tests"]
    cell.source += "\n# revised by the instructor"
    nbformat.write(nb, source)
    assert main(["register", A, "--course", str(root)]) == 0
    batch = autograde(root, A, jobs=2, progress=False, students=[TWO_NOTEBOOKS])
    assert _by(batch)[TWO_NOTEBOOKS].status == "graded"
    assert "the assignment's tests changed" in _line(format_table(batch), TWO_NOTEBOOKS)

    # the grader's version
    monkeypatch.setattr(grader, "__version__", grader.__version__ + "+next")
    fingerprint.grader_hash.cache_clear()
    try:
        batch = autograde(root, A, jobs=2, progress=False, students=[EXTRA_FILES])
    finally:
        fingerprint.grader_hash.cache_clear()
    assert _by(batch)[EXTRA_FILES].status == "graded"
    assert "the grader changed" in _line(format_table(batch), EXTRA_FILES)
    # a batch of some students keeps the others' entries in the summary
    summary = json.loads(Path(batch.summary_path).read_text())
    assert {s["student"] for s in summary["students"]} >= {EMPTY, RENAMED_ONE, COMPLETE}
