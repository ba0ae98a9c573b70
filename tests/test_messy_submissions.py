"""A messy class, graded for real: every anomaly reported everywhere, and regrading by content.

Chapter 1, one batch (``grader.grading.autograde``): a complete submission; two notebooks (the
assignment's and another); a renamed notebook (refused, then accepted by the instructor with
``python -m grader accept``); extra files; no notebook; an empty folder.  Each anomaly is a
line of the table, a note in ``scores.csv``/``summary.json`` and a reason in the LMS CSVs.

Then regrading: nothing changed, or only modification times changed -> skipped; the notebook's
content, the assignment's tests in the gradebook, or the grader's version changed -> graded again,
with the reason in the table.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from test_feedback import solved_exercise

import grader
from grader.cli import main
from grader.course import make_course
from grader.grading import fingerprint, report
from grader.grading.autograde import autograde, format_table

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
NB = f"{A}.ipynb"
RENAMED = f"Copy of {A}.ipynb"


@pytest.fixture(scope="module")
def klass(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("messy")
    course = make_course(tmp / "course", [A])
    solved = solved_exercise(tmp / "solved.ipynb")
    blank = ROOT / "exercises" / A / NB

    def folder(student: str) -> Path:
        path = course.root / "submitted" / student / A
        path.mkdir(parents=True)
        return path

    shutil.copyfile(solved, folder("complete") / NB)
    shutil.copyfile(solved, folder("two-notebooks") / NB)
    shutil.copyfile(blank, course.root / "submitted" / "two-notebooks" / A / "scratch.ipynb")
    shutil.copyfile(solved, folder("renamed") / RENAMED)
    shutil.copyfile(solved, folder("extra-files") / NB)
    (course.root / "submitted" / "extra-files" / A / "data.csv").write_text("x\n1\n")
    (course.root / "submitted" / "extra-files" / A / "figures").mkdir()
    (folder("no-notebook") / "answers.txt").write_text("I did it on paper")
    folder("empty")
    first = autograde(course.root, A, jobs=2, progress=False)
    print(format_table(first))
    return {"course": course, "first": first, "tmp": tmp}


def _by(batch):
    return {s.student: s for s in batch.students}


def _line(table: str, student: str) -> str:
    (line,) = [ln for ln in table.splitlines() if ln.startswith(student + " ")]
    return line


def test_every_anomaly_is_one_clear_line(klass):
    table, by = format_table(klass["first"]), _by(klass["first"])
    assert by["complete"].status == "graded" and by["complete"].score == by["complete"].max_score
    assert by["two-notebooks"].status == "graded" and by["two-notebooks"].score == 11
    assert "2 notebooks: graded 01_rnn_by_hand.ipynb; not graded: scratch.ipynb" in _line(table, "two-notebooks")
    assert by["extra-files"].status == "graded"
    assert "ignored (not part of the assignment): data.csv, figures/" in _line(table, "extra-files")
    assert by["renamed"].status == "failed"
    assert (f"renamed notebook: found {RENAMED}, expected {NB}; if it is the student's work: "
            f"python -m grader accept {A} renamed '{RENAMED}'") in _line(table, "renamed")
    assert "no notebook of this assignment: expected 01_rnn_by_hand.ipynb, found answers.txt" \
        in _line(table, "no-notebook")
    assert "empty submission: the folder holds no file" in _line(table, "empty")
    assert "not graded" not in _line(table, "complete").split("graded", 1)[1]


def test_accepting_a_renamed_notebook(klass):
    course = klass["course"]
    assert main(["accept", A, "renamed", "nothing.ipynb", "--course", str(course.root)]) == 1
    assert main(["accept", A, "renamed", RENAMED, "--course", str(course.root)]) == 0
    recorded = json.loads((course.root / "accepted-notebooks.json").read_text())
    assert recorded == {A: {"renamed": {RENAMED: NB}}}
    second = autograde(course.root, A, jobs=2, progress=False)
    by = _by(second)
    assert by["renamed"].status == "graded" and by["renamed"].score == 11
    assert f"renamed notebook {RENAMED} graded as {NB}" in _line(format_table(second), "renamed")
    # the student's files are as submitted; the others were not graded again
    assert sorted(p.name for p in (course.root / "submitted" / "renamed" / A).iterdir()) == [RENAMED]
    assert {s for s, r in by.items() if r.status == "skipped"} == {"complete", "two-notebooks", "extra-files"}
    assert (course.root / "autograded" / "renamed" / A / NB).is_file()


def test_every_export_carries_the_reasons(klass, tmp_path):
    course = klass["course"]
    report.write_class_report(course.root, A, tmp_path)
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "scores.csv").open())}
    assert "not graded: scratch.ipynb" in rows["two-notebooks"]["note"]
    assert rows["two-notebooks"]["final"] == "11"
    assert "data.csv" in rows["extra-files"]["note"]
    assert f"renamed notebook {RENAMED} graded as {NB}" in rows["renamed"]["note"]
    assert "empty submission" in rows["empty"]["note"] and rows["empty"]["final"] == ""
    assert "no notebook of this assignment" in rows["no-notebook"]["note"]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert {s["student"] for s in summary["not_graded"]} == {"empty", "no-notebook"}
    assert main(["export", A, "--format", "moodle", "--course", str(course.root),
                 "--out", str(tmp_path / "moodle.csv")]) == 0
    moodle = {r["Username"]: r for r in csv.DictReader((tmp_path / "moodle.csv").open())}
    assert "empty submission" in moodle["empty"]["Feedback"] and moodle["empty"]["01_rnn_by_hand (out of 11)"] == "0"
    assert "not graded: scratch.ipynb" in moodle["two-notebooks"]["Feedback"]
    assert main(["export", A, "--format", "canvas", "--course", str(course.root),
                 "--out", str(tmp_path / "canvas.csv")]) == 0
    reasons = {r["SIS Login ID"]: r["Reason"] for r in csv.DictReader((tmp_path / "canvas-reasons.csv").open())}
    assert "no notebook of this assignment" in reasons["no-notebook"]
    assert "data.csv" in reasons["extra-files"]


def test_regrade_only_when_it_matters(klass, monkeypatch):
    course = klass["course"]
    root = course.root
    # modification times alone: nothing is graded again
    for path in (root / "submitted").rglob("*.ipynb"):
        os.utime(path, (1e9, 2e9))
    by = _by(autograde(root, A, jobs=2, progress=False))
    assert {s for s, r in by.items() if r.status == "skipped"} == {"complete", "two-notebooks", "extra-files", "renamed"}
    stored = fingerprint.read(root / "autograded" / "complete" / A)
    assert set(stored) == set(fingerprint.PARTS)

    # the notebook's content: that student only
    nb = nbformat.read(root / "submitted" / "complete" / A / NB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("# one more line"))
    nbformat.write(nb, root / "submitted" / "complete" / A / NB)
    batch = autograde(root, A, jobs=2, progress=False)
    by = _by(batch)
    assert by["complete"].status == "graded" and by["complete"].score == 11
    assert "graded again: the submission changed" in _line(format_table(batch), "complete")
    assert by["two-notebooks"].status == "skipped"

    # the assignment's tests, as the gradebook holds them: revised and registered again
    source = root / "solutions" / A / NB
    nb = nbformat.read(source, as_version=4)
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "q1-tests"]
    cell.source += "\n# revised by the instructor"
    nbformat.write(nb, source)
    assert main(["register", A, "--course", str(root)]) == 0
    batch = autograde(root, A, jobs=2, progress=False, students=["two-notebooks"])
    assert _by(batch)["two-notebooks"].status == "graded"
    assert "the assignment's tests changed" in _line(format_table(batch), "two-notebooks")

    # the grader's version
    monkeypatch.setattr(grader, "__version__", grader.__version__ + "+next")
    fingerprint.grader_hash.cache_clear()
    try:
        batch = autograde(root, A, jobs=2, progress=False, students=["extra-files"])
    finally:
        fingerprint.grader_hash.cache_clear()
    assert _by(batch)["extra-files"].status == "graded"
    assert "the grader changed" in _line(format_table(batch), "extra-files")
    # a batch of some students keeps the others' entries in the summary
    summary = json.loads(Path(batch.summary_path).read_text())
    assert {s["student"] for s in summary["students"]} >= {"empty", "renamed", "complete"}
