"""A scripted class graded through both paths: the same gradebook, every anomaly reported.

The class (``tests/submissions/make_class.py``, graded by ``tests/scripted_class.py``): in
every chapter, correct, partly unanswered, partly wrong, blank, crashing (an exception, a
kernel killed by ``os._exit``) and misfiled submissions (two notebooks, extra files, a
renamed notebook, no notebook, an empty folder, a symbolic link, a notebook nested too
deep, one with too many cells, a file that is not a notebook, another chapter's notebook),
late by amounts from inside the grace period to past the cap, a student id in Chinese; in
chapter 1 also an answer that loops until its cell's time limit.  Each chapter is graded on
this machine and on a local Dask cluster, one of whose two workers is killed mid-batch.

Shown for every chapter and both paths: each submission is graded or refused as scripted;
the two gradebooks, class reports and LMS CSVs are identical; every anomaly is one line of
the table and a row with its reason in ``scores.csv`` and the Canvas and Moodle CSVs; every
late penalty is the course policy's and appears in the table, ``scores.csv``, the report and
the LMS CSVs.  ``make test`` grades the small class (every kind once per chapter);
``make test-scale`` the 60-student class.
"""
from __future__ import annotations

import csv
import json
import math
from collections import Counter
from pathlib import Path

import pytest
from scripted_class import ABSENT, ASSIGNMENTS, PATHS

from grader.grading import late, report
from grader.grading.autograde import CANARY, format_table
from grader.grading.viewers import for_markdown
from grader.grading.lms import _number

POLICY = late.HourlyPenalty()   # its defaults are the course's (nbgrader_config.py)
FILES = ("report/scores.csv", "report/summary.json", "report/summary.md", "canvas.csv",
         "canvas-reasons.csv", "moodle.csv")


def line(table: str, student: str) -> str:
    """The one line of ``table`` for ``student``."""
    (found,) = [ln for ln in table.splitlines() if ln.startswith(student + " ")]
    return found


def rows(path: Path, key: str) -> dict[str, dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return {r[key]: r for r in csv.DictReader(f)}


def canvas(folder: Path) -> dict[str, list[str]]:
    """SIS Login ID -> row of Canvas's CSV (its second line is Points Possible)."""
    with (folder / "canvas.csv").open(newline="", encoding="utf-8") as f:
        return {r[3]: r for r in list(csv.reader(f))[2:]}


def each(graded):
    """(path, assignment, roster, results by student, the exports' folder) for every batch."""
    for path in PATHS:
        for a in ASSIGNMENTS:
            yield path, a, graded.rosters[a], graded.results(path, a), graded.exports[path] / a


def test_each_submission_is_graded_or_refused_as_scripted(scripted_class):
    for path, a, roster, results, _ in each(scripted_class):
        assert set(results) == {s.student for s in roster}, (path, a)
        for who in roster:
            r, where = results[who.student], (path, a, who)
            if not who.graded:
                assert r.status == "failed" and r.reason.startswith("refused: "), where
                assert r.score is None and not r.scores, where
                continue
            assert r.status == "graded", (where, r.reason)
            if who.outcome == "full":
                assert r.score == r.max_score > 0, (where, r.scores)
            elif who.outcome == "zero":
                assert r.score == 0, (where, r.scores)
            else:
                assert 0 < r.score < r.max_score, (where, r.scores)
                assert all(r.scores[t] == 0 for t in who.lost), (where, r.scores)


def test_local_and_dask_grade_identically(scripted_class):
    """Same statuses, reasons, notes, points per question and late penalties; and the
    gradebooks read back, the reports and the LMS CSVs are the same, byte for byte."""
    def key(r):
        return (r.status, r.reason, r.notes, r.scores, r.score, r.max_score, r.seconds_late,
                r.late_penalty)

    local, dask = scripted_class.courses["local"], scripted_class.courses["dask"]
    for a in ASSIGNMENTS:
        here, there = scripted_class.results("local", a), scripted_class.results("dask", a)
        assert {s: key(r) for s, r in there.items()} == {s: key(r) for s, r in here.items()}, a
        assert report.read_gradebook(dask, a) == report.read_gradebook(local, a), a
        for name in FILES:
            ours = (scripted_class.exports["local"] / a / name).read_text(encoding="utf-8")
            theirs = (scripted_class.exports["dask"] / a / name).read_text(encoding="utf-8")
            assert theirs == ours, (a, name)


def test_every_anomaly_is_one_clear_line_of_the_table(scripted_class):
    for path, a, roster, _, _ in each(scripted_class):
        table = format_table(scripted_class.batches[path][a])
        for who in roster:
            text = line(table, who.student)
            for phrase in who.anomalies(a):
                assert phrase in text, (path, a, text)
            if not who.graded:
                assert " failed  refused: " in text, text
            if who.kind in ("correct", "blank") and not who.extras and (who.late or 0) <= 0:
                assert text.endswith("  graded"), text   # nothing to report: no notes


def test_every_export_has_a_row_with_the_reason(scripted_class):
    for path, a, roster, results, out in each(scripted_class):
        scores, moodle = rows(out / "report/scores.csv", "student"), rows(out / "moodle.csv", "Username")
        lms, reasons = canvas(out), rows(out / "canvas-reasons.csv", "SIS Login ID")
        everyone = {s.student for s in roster} | {ABSENT["student"]}
        assert set(scores) >= everyone and set(moodle) >= everyone and set(lms) >= everyone
        grade_column = [c for c in next(iter(moodle.values())) if "(out of" in c][0]
        for who in roster:
            s = who.student
            for phrase in who.anomalies(a):
                assert phrase in scores[s]["note"], (path, a, scores[s])
                assert phrase in moodle[s]["Feedback"] and phrase in reasons[s]["Reason"], (path, a, s)
            if not who.graded:   # in every export, as 0 with the reason
                assert scores[s]["final"] == "" and scores[s]["status"] != "graded", scores[s]
                assert "autograde failed: refused: " in scores[s]["note"], scores[s]
                assert moodle[s][grade_column] == "0" and lms[s][5] == "0", (path, a, s)
                assert reasons[s]["Reason"] == moodle[s]["Feedback"] != "", (path, a, s)
            else:
                assert scores[s]["status"] == "graded" and scores[s]["total"] == f"{results[s].score:g}"
        absent = ABSENT["student"]
        assert scores[absent]["note"] == "no submission" and lms[absent][5] == "0"
        assert reasons[absent]["Reason"] == moodle[absent]["Feedback"] == "no submission"
        summary = json.loads((out / "report/summary.json").read_text())
        # the gradebook's students (the roster, everyone graded in some chapter) and this
        # chapter's folders: refused here, or handed nothing in for this chapter
        known = {s.student for r in scripted_class.rosters.values() for s in r if s.graded}
        assert {r["student"] for r in summary["not_graded"]} == \
            (known | {s.student for s in roster} | {absent}) - {s.student for s in roster if s.graded}


def test_late_penalties_are_the_policy_and_shown_everywhere(scripted_class):
    """Every late student's time late, penalty (the course's policy on the earned score) and
    final score: in the table, scores.csv, summary.json/.md, the histogram's title and both
    LMS CSVs; an on-time student shows none."""
    for path, a, roster, results, out in each(scripted_class):
        table = format_table(scripted_class.batches[path][a])
        scores, moodle = rows(out / "report/scores.csv", "student"), rows(out / "moodle.csv", "Username")
        lms, reasons = canvas(out), rows(out / "canvas-reasons.csv", "SIS Login ID")
        summary = json.loads((out / "report/summary.json").read_text())
        markdown = (out / "report/summary.md").read_text()
        late_rows = {r["student"]: r for r in summary["late"]}
        late_ones = [w for w in roster if w.graded and w.late and w.late > 0]
        assert set(late_rows) == {w.student for w in late_ones}, (path, a)
        grade_column = [c for c in next(iter(moodle.values())) if "(out of" in c][0]
        for who in (w for w in roster if w.graded):
            r, s = results[who.student], who.student
            if not (who.late and who.late > 0):
                assert r.seconds_late == 0 and r.late_penalty == 0 and "late by" not in line(table, s)
                assert scores[s]["late"] == "" and scores[s]["final"] == scores[s]["total"]
                assert "late by" not in moodle[s]["Feedback"]
                continue
            penalty = round(r.score * POLICY.fraction(who.late), 4)
            final, when = r.score - penalty, report.late_text(who.late)
            assert (r.seconds_late, r.late_penalty) == (who.late, pytest.approx(penalty)), (path, a, s)
            assert f"late by {when}: penalty {penalty:g}, final {final:g}/{r.max_score:g}" \
                in line(table, s), (path, a)
            assert (scores[s]["seconds_late"], scores[s]["late"], scores[s]["late_penalty"],
                    scores[s]["final"]) == (str(who.late), when, f"{penalty:g}", f"{final:g}")
            assert late_rows[s] == {"student": s, "seconds_late": who.late, "late": when,
                                    "total": r.score, "penalty": penalty, "final": round(final, 4)}
            assert f"| {for_markdown(s)} | {when} | {r.score:g} | {penalty:g} | {final:g} |" in markdown
            text = f"late by {when}: penalty {_number(penalty)} of {_number(r.score)}"
            assert moodle[s][grade_column] == lms[s][5] == _number(final), (path, a, s)
            assert text in moodle[s]["Feedback"] and text in reasons[s]["Reason"], (path, a, s)
        finals = [results[w.student].final for w in roster if w.graded]
        assert (summary["mean"], summary["min"]) == \
            (pytest.approx(sum(finals) / len(finals), abs=1e-4), pytest.approx(min(finals)))
        fig = report.histogram_figure(summary, finals)
        assert f"{len(late_ones)} late (penalty applied)" in fig.axes[0].get_title()
        counts = {round(p.get_x() + p.get_width() / 2): p.get_height() for p in fig.axes[0].patches}
        assert {k: v for k, v in counts.items() if v} == Counter(math.floor(f + 0.5) for f in finals)


def test_crashes_and_time_limits_are_recorded(scripted_class):
    for path, a, roster, results, _ in each(scripted_class):
        for who in roster:
            incidents = " | ".join(results[who.student].incidents)
            if who.kind == "crash":
                assert "kernel died" in incidents and "kernel restarted" in incidents, (path, a, incidents)
            elif who.kind == "loop":
                assert "timed out" in incidents, (path, a, incidents)


def test_the_dask_path_survives_a_killed_worker(scripted_class):
    """Worker w2 was SIGKILLed (with its nanny) while it held a student's submission of
    chapter 1: every submission was still graded, as locally (the tests above)."""
    assert scripted_class.killed, "worker w2 never held a submission: nothing was shown"
    assert scripted_class.w2_dead
    for a in ASSIGNMENTS:
        assert scripted_class.batches["dask"][a].scheduler == scripted_class.scheduler
        assert not scripted_class.batches["local"][a].scheduler
    # the canary ran on the workers: nothing of it was written into the course
    assert not (scripted_class.courses["dask"] / "autograded" / CANARY).exists()
