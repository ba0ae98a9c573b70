"""Late work and LMS exports, from one class graded by plain nbgrader with a due date.

The course is registered with ``python -m grader register A --duedate ...``; submissions are
the exercise notebook with the solution's answers (full marks) and a ``timestamp.txt``:
on time, 10 minutes late (inside the grace period), 6 h 30 min late (the issue's 23,400 s)
and 50 hours late (past the cap); one more student submitted a file that is not a notebook,
and one on the roster submitted nothing.  The policy is the course's (nbgrader_config.py):
1 % of the earned score per started hour after 15 minutes, at most 50 %.
"""
from __future__ import annotations

import csv
import json

import pytest
from test_feedback import solved_exercise

from grader.cli import main
from grader.course import make_course
from grader.grading import feedback, late, report

A = "01_rnn_by_hand"
DUE = "2026-03-01 12:00:00 UTC"
STAMPS = {"ontime": "2026-03-01 11:00:00.000000 UTC", "grace": "2026-03-01 12:10:00.000000 UTC",
          "hours": "2026-03-01 18:30:00.000000 UTC", "days": "2026-03-03 14:00:00.000000 UTC"}
# (seconds late, penalty, final) by the course's policy, on 11 points
EXPECTED = {"ontime": (0, 0, 11), "grace": (600, 0, 11), "hours": (23400, 0.77, 10.23),
            "days": (180000, 5.5, 5.5)}


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("late")
    course = make_course(tmp / "course", [A])
    assert main(["register", A, "--course", str(course.root), "--duedate", DUE]) == 0
    proc = course.nbgrader("db", "student", "add", "hours", "--first-name=Hua", "--last-name=Li",
                           "--email=hua@example.edu", "--lms-user-id=4242")
    assert proc.returncode == 0, proc.stderr
    assert course.nbgrader("db", "student", "add", "absent", "--email=abs@example.edu").returncode == 0
    notebook = solved_exercise(tmp / "solved.ipynb")
    for student, stamp in STAMPS.items():
        course.submit(student, A, notebook, name=f"{A}.ipynb").with_name("timestamp.txt") \
            .write_text(stamp)
    proc = course.autograde(A, "*")
    assert proc.returncode == 0, proc.stderr[-3000:]
    (tmp / "broken.ipynb").write_text("this is not a notebook")
    course.submit("broken", A, tmp / "broken.ipynb", name=f"{A}.ipynb")
    assert course.autograde(A, "broken").returncode != 0
    return course


def test_policy():
    policy = late.HourlyPenalty()  # the defaults are the course's (nbgrader_config.py)
    assert policy.fraction(0) == 0 and policy.fraction(15 * 60) == 0
    assert policy.fraction(15 * 60 + 1) == 0.01  # the first started hour
    assert policy.fraction(23400) == 0.07 and policy.fraction(10 * 24 * 3600) == 0.5
    assert policy.late_submission_penalty("x", 0.0, 23400) == 0  # a late blank loses nothing
    assert policy.late_submission_penalty("x", 11.0, 23400) == 0.77


def test_nbgrader_stored_the_penalties(course):
    info = report.late_info(course.root, A)
    assert set(info) >= set(EXPECTED)
    for student, (seconds, penalty, final) in EXPECTED.items():
        got = info[student]
        assert (got.seconds_late, round(got.penalty, 4), round(got.final, 4)) == \
            (seconds, penalty, final), student


def test_late_work_in_every_report_output(course, tmp_path):
    out = tmp_path / "report"
    summary = report.write_class_report(course.root, A, out)

    with (out / "scores.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    hours = rows["hours"]
    assert (hours["total"], hours["seconds_late"], hours["late"], hours["late_penalty"],
            hours["final"]) == ("11", "23400", "6h 30m", "0.77", "10.23")
    assert (rows["days"]["late"], rows["days"]["final"]) == ("2d 2h 00m", "5.5")
    assert (rows["ontime"]["late"], rows["ontime"]["final"]) == ("", "11")

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["scores"].startswith("final")
    assert on_disk["mean"] == round((11 + 11 + 10.23 + 5.5) / 4, 4)
    assert on_disk["min"] == 5.5
    late_rows = {s["student"]: s for s in on_disk["late"]}
    assert set(late_rows) == {"grace", "hours", "days"}
    assert late_rows["hours"] == {"student": "hours", "seconds_late": 23400, "late": "6h 30m",
                                  "total": 11, "penalty": 0.77, "final": 10.23}

    markdown = (out / "summary.md").read_text()
    assert "final score (total minus late penalty) out of 11: mean 9.43" in markdown
    assert "| hours | 6h 30m | 11 | 0.77 | 10.23 |" in markdown

    fig = report.histogram_figure(summary, [11, 11, 10.23, 5.5])
    ax = fig.axes[0]
    assert "final scores" in ax.get_title() and "3 late (penalty applied)" in ax.get_title()
    assert "late penalty" in ax.get_xlabel()
    counts = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in ax.patches}
    assert counts[11] == 2 and counts[10] == 1 and counts[6] == 1  # not four at 11
    assert (out / "histogram.png").read_bytes().startswith(b"\x89PNG")


def test_feedback_shows_the_penalty(course):
    (entry,) = feedback.generate_feedback(course.root, A, ["hours"])
    assert not entry.problem, entry.problem
    text = feedback.visible_lines(entry.files[0].read_text())
    assert "Late submission penalty (Score: -0.77)" in text


def _rows(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_canvas_export(course, tmp_path, capsys):
    out = tmp_path / "canvas.csv"
    code = main(["export", A, "--format", "canvas", "--course", str(course.root),
                 "--out", str(out), "--title", "Chapter 1", "--canvas-id", "77"])
    assert code == 0, capsys.readouterr()
    header, points, *rows = _rows(out)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 1 (77)"]
    assert points[0].strip() == "Points Possible" and points[5] == "11"
    by_login = {r[3]: r for r in rows}
    assert by_login["hours"] == ["Li, Hua", "4242", "hours", "hours", "", "10.23"]
    assert by_login["days"][5] == "5.5" and by_login["ontime"][5] == "11"
    assert by_login["broken"][5] == "0" and by_login["absent"][5] == "0"

    reasons = {r[0]: r for r in _rows(tmp_path / "canvas-reasons.csv")[1:]}
    assert reasons["absent"][2] == "no submission"
    assert reasons["broken"][1] == "0" and reasons["broken"][2]
    assert reasons["hours"][2] == "late by 6h 30m: penalty 0.77 of 11"
    assert "ontime" not in reasons


def test_moodle_export(course, tmp_path):
    out = tmp_path / "moodle.csv"
    assert main(["export", A, "--format", "moodle", "--course", str(course.root),
                 "--out", str(out)]) == 0
    header, *rows = _rows(out)
    assert header == ["Username", "Email address", "First name", "Last name",
                      f"{A} (out of 11)", "Feedback"]
    by_user = {r[0]: r for r in rows}
    assert by_user["hours"] == ["hours", "hua@example.edu", "Hua", "Li", "10.23",
                                "late by 6h 30m: penalty 0.77 of 11"]
    assert by_user["absent"][1:] == ["abs@example.edu", "", "", "0", "no submission"]
    assert by_user["broken"][4] == "0" and by_user["broken"][5]
    assert by_user["ontime"][4:] == ["11", ""]
