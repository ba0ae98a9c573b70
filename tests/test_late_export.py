"""Late work and LMS exports, read from chapter 1 of the scripted class (the local path).

The class (``tests/scripted_class.py``) is registered with ``python -m grader register`` and
a due date; among its chapter-1 students: a correct notebook handed in an hour early
(``ontime``), a correct one 6 h 30 min late (``hours``, the issue's 23,400 s; on the roster
as Hua Li with an LMS id), a partly wrong one 10 minutes late (``grace``, inside the grace
period) and a partly unanswered one 50 hours late (``days``, past the cap); a file that is
not a notebook (``broken``) and a student on the roster who submitted nothing (``absent``).
The policy is the course's (nbgrader_config.py): 1 % of the earned score per started hour
after 15 minutes, at most 50 %.  ``tests/test_scripted_class.py`` checks the same for every
student of every chapter on both paths.
"""
from __future__ import annotations

import csv
import json
import math
import shutil
from collections import Counter

import pytest
from scripted_class import ABSENT, FIRST, NAMED

from grader.cli import main
from grader.grading import feedback, late, report

A = FIRST
ONTIME, HOURS, DAYS, GRACE = "s14-correct", NAMED["student"], "s02-unanswered", "s03-wrong"
BROKEN, ABS = "s12-not-a-notebook", ABSENT["student"]


@pytest.fixture(scope="module")
def course(small_class):
    return small_class.courses["local"]


@pytest.fixture(scope="module")
def expected(small_class):
    """(seconds late, penalty, final) by the course's policy, on each student's earned score."""
    results = small_class.results("local", A)
    days = results[DAYS].score
    assert results[GRACE].score < 11 and days < 11   # partly wrong, partly unanswered
    return {ONTIME: (0, 0, 11), GRACE: (600, 0, results[GRACE].score), HOURS: (23400, 0.77, 10.23),
            DAYS: (180000, days / 2, days / 2)}


@pytest.fixture(scope="module")
def finals(small_class):
    return [r.final for r in small_class.batches["local"][A].students if r.status == "graded"]


def test_policy():
    policy = late.HourlyPenalty()  # the defaults are the course's (nbgrader_config.py)
    assert policy.fraction(0) == 0 and policy.fraction(15 * 60) == 0
    assert policy.fraction(15 * 60 + 1) == 0.01  # the first started hour
    assert policy.fraction(23400) == 0.07 and policy.fraction(10 * 24 * 3600) == 0.5
    assert policy.late_submission_penalty("x", 0.0, 23400) == 0  # a late blank loses nothing
    assert policy.late_submission_penalty("x", 11.0, 23400) == 0.77


def test_nbgrader_stored_the_penalties(course, expected):
    info = report.late_info(course, A)
    assert set(info) >= set(expected)
    for student, (seconds, penalty, final) in expected.items():
        got = info[student]
        assert (got.seconds_late, round(got.penalty, 4), round(got.final, 4)) == \
            (seconds, penalty, final), student


def test_late_work_in_every_report_output(course, expected, finals, tmp_path):
    out = tmp_path / "report"
    summary = report.write_class_report(course, A, out)

    with (out / "scores.csv").open() as f:
        rows = {row["student"]: row for row in csv.DictReader(f)}
    hours = rows[HOURS]
    assert (hours["total"], hours["seconds_late"], hours["late"], hours["late_penalty"],
            hours["final"]) == ("11", "23400", "6h 30m", "0.77", "10.23")
    assert (rows[DAYS]["late"], rows[DAYS]["final"]) == ("2d 2h 00m", f"{expected[DAYS][2]:g}")
    assert (rows[ONTIME]["late"], rows[ONTIME]["final"]) == ("", "11")

    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["scores"].startswith("final")
    assert on_disk["mean"] == pytest.approx(sum(finals) / len(finals), abs=1e-4)
    assert on_disk["min"] == min(finals)
    late_rows = {s["student"]: s for s in on_disk["late"]}
    assert set(late_rows) >= {GRACE, HOURS, DAYS} and ONTIME not in late_rows
    assert late_rows[HOURS] == {"student": HOURS, "seconds_late": 23400, "late": "6h 30m",
                                "total": 11, "penalty": 0.77, "final": 10.23}

    markdown = (out / "summary.md").read_text()
    assert (f"final score (total minus late penalty) out of 11: mean "
            f"{sum(finals) / len(finals):.2f}") in markdown
    assert f"| {HOURS} | 6h 30m | 11 | 0.77 | 10.23 |" in markdown

    fig = report.histogram_figure(summary, finals)
    ax = fig.axes[0]
    assert "final scores" in ax.get_title()
    assert f"{len(late_rows)} late (penalty applied)" in ax.get_title()
    assert "late penalty" in ax.get_xlabel()
    counts = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in ax.patches}
    assert {k: v for k, v in counts.items() if v} == Counter(math.floor(f + 0.5) for f in finals)
    assert counts[10] >= 1   # hours' 10.23, not at its total of 11
    assert (out / "histogram.png").read_bytes().startswith(b"\x89PNG")


def test_feedback_shows_the_penalty(course, tmp_path):
    mine = shutil.copytree(course, tmp_path / "course", symlinks=True)   # feedback/ is written
    (entry,) = feedback.generate_feedback(mine, A, [HOURS])
    assert not entry.problem, entry.problem
    assert not [f for f in entry.files if f.name.startswith(".grader")]   # no grader file travels
    (page,) = [f for f in entry.files if f.suffix == ".html"]
    text = feedback.visible_lines(page.read_text())
    assert "Late submission penalty (Score: -0.77)" in text


def _rows(path):
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_canvas_export(course, expected, tmp_path, capsys):
    out = tmp_path / "canvas.csv"
    code = main(["export", A, "--format", "canvas", "--course", str(course),
                 "--out", str(out), "--title", "Chapter 1", "--canvas-id", "77"])
    assert code == 0, capsys.readouterr()
    header, points, *rows = _rows(out)
    assert header == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Chapter 1 (77)"]
    assert points[0].strip() == "Points Possible" and points[5] == "11"
    by_login = {r[3]: r for r in rows}
    assert by_login[HOURS] == ["Li, Hua", "4242", HOURS, HOURS, "", "10.23"]
    assert by_login[DAYS][5] == f"{expected[DAYS][2]:g}" and by_login[ONTIME][5] == "11"
    assert by_login[BROKEN][5] == "0" and by_login[ABS][5] == "0"

    reasons = {r[0]: r for r in _rows(tmp_path / "canvas-reasons.csv")[1:]}
    assert reasons[ABS][2] == "no submission"
    assert reasons[BROKEN][1] == "0" and reasons[BROKEN][2]
    assert reasons[HOURS][2] == "late by 6h 30m: penalty 0.77 of 11"
    assert ONTIME not in reasons


def test_moodle_export(course, tmp_path):
    out = tmp_path / "moodle.csv"
    assert main(["export", A, "--format", "moodle", "--course", str(course),
                 "--out", str(out)]) == 0
    header, *rows = _rows(out)
    assert header == ["Username", "Email address", "First name", "Last name",
                      f"{A} (out of 11)", "Feedback"]
    by_user = {r[0]: r for r in rows}
    assert by_user[HOURS] == [HOURS, "hua@example.edu", "Hua", "Li", "10.23",
                              "late by 6h 30m: penalty 0.77 of 11"]
    assert by_user[ABS][1:] == ["abs@example.edu", "", "", "0", "no submission"]
    assert by_user[BROKEN][4] == "0" and by_user[BROKEN][5]
    assert by_user[ONTIME][4:] == ["11", ""]
