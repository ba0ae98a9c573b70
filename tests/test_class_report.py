"""The class report of each chapter's scripted class: what the class got wrong, and whose work
to look at (issue 25), read from the small scripted class that ``tests/scripted_class.py``
grades once per test run (no batch of its own).

Shown for every chapter: the planted classic mistakes (``make_class.MISTAKES``: two students
make one, a third another) are in ``misconceptions.json`` and ``.csv`` under their question,
by name, with the right students and counts; difficulty and discrimination are those of the
scores; the planted copy, the pair with the same wrong answer, the reference code handed in
and the instructor's notebook handed in are found, and no other pair is; the HTML page shows
them side by side.  And no hidden-test line or expected value of a hidden input reaches what a
student sees: the autograded notebook's messages (which feedback shows) and, for chapter 1,
the feedback pages themselves.
"""
from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import nbformat
import numpy as np
import pytest
from scripted_class import ASSIGNMENTS  # first: it puts tests/submissions on sys.path

import make_class  # noqa: E402,I001

from grader import leaks
from grader.grading import classreport, misconceptions, similarity, verdicts
from grader.grading.viewers import for_html

ROOT = Path(__file__).resolve().parent.parent
FIRST = ASSIGNMENTS[0]


def each(graded):
    for a in ASSIGNMENTS:
        yield a, graded.rosters[a], graded.courses["local"], graded.exports["local"] / a / "report"


def test_every_question_has_a_section_that_exists():
    """sections.json maps every test cell to a heading of its chapter's page (the anchor the
    site gives it is docutils' id of the heading)."""
    for a in ASSIGNMENTS:
        tests = [c.metadata["nbgrader"]["grade_id"]
                 for c in nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4).cells
                 if c.metadata.get("nbgrader", {}).get("grade")]
        mapped = classreport.sections(a)
        assert sorted(mapped) == sorted(tests), a
        for q, s in mapped.items():
            page = (ROOT / f"{s['page']}.md").read_text(encoding="utf-8")
            headings = {classreport.anchor(m) for m in re.findall(r"^#{1,4} (.+)$", page, re.M)}
            assert s["anchor"] in headings, (a, q, s)


def test_planted_mistakes_by_name_with_their_students(small_class):
    for a, roster, course, out in each(small_class):
        data = json.loads((out / "misconceptions.json").read_text(encoding="utf-8"))
        questions = {q["question"]: q for q in data["questions"]}
        planted = defaultdict(list)
        for who in roster:
            if who.kind == "mistake":
                planted[who.source].append(who.student)
        assert len(planted) == 2 and sorted(map(len, planted.values())) == [1, 2], (a, planted)
        catalogue = {m.id: m for m in make_class._catalogue(a)}
        with (out / "misconceptions.csv").open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for mistake_id, students in planted.items():
            m = catalogue[mistake_id]
            named = [x for x in questions[m.test]["mistakes"] if x["kind"] == "named"
                     and all(w.lower() in x["message"].lower() for w in m.words)]
            assert len(named) == 1, (a, m.id, questions[m.test]["mistakes"])
            assert named[0]["students"] == sorted(students), (a, m.id, named[0])
            assert named[0]["count"] == len(students)
            (row,) = [r for r in rows if r["question"] == m.test and r["mistake"] == named[0]["message"]]
            assert row["count"] == str(len(students)) and row["students"] == "; ".join(sorted(students))
        # every failure is counted once, under one mistake, and a question left unanswered says so
        scores = {r["student"]: r for r in csv.DictReader(
            (out / "scores.csv").open(newline="", encoding="utf-8"))}
        for q in data["questions"]:
            assert sum(m["count"] for m in q["mistakes"]) == q["failed"], (a, q)
            failed = sorted(s for s, r in scores.items() if r["status"] == "graded"
                            and float(r[q["question"]]) < q["max_score"])
            assert sorted(s for m in q["mistakes"] for s in m["students"]) == failed, (a, q["question"])
        unanswered = [w for w in roster if w.kind == "unanswered"]
        for who in unanswered:
            for test in who.lost:
                kinds = {m["kind"] for m in questions[test]["mistakes"] if who.student in m["students"]}
                assert kinds == {"unanswered"}, (a, who, test, kinds)


def test_item_statistics_are_the_scores(small_class):
    for a, _, _, out in each(small_class):
        data = json.loads((out / "misconceptions.json").read_text(encoding="utf-8"))
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        with (out / "scores.csv").open(newline="", encoding="utf-8") as f:
            graded = [r for r in csv.DictReader(f) if r["status"] == "graded"]
        for q, s in zip(data["questions"], summary["questions"]):
            assert q["question"] == s["question"] and q["difficulty"] == pytest.approx(s["pass_rate"], abs=1e-3)
            item = np.array([float(r[q["question"]]) / q["max_score"] for r in graded])
            rest = np.array([float(r["total"]) - float(r[q["question"]]) for r in graded])
            if item.std() == 0 or rest.std() == 0:
                assert q["discrimination"] is None
            else:
                assert q["discrimination"] == pytest.approx(np.corrcoef(item, rest)[0, 1], abs=1e-3), (a, q)
        assert any(q["discrimination"] is not None for q in data["questions"]), a


def test_planted_copies_are_found_and_nothing_else(small_class):
    for a, roster, course, out in each(small_class):
        result = similarity.analyse(course, a)
        flagged = set(result.flagged_pairs())
        pairs = make_class.planted_pairs(roster)
        copy = next(p for p, why in pairs.items() if why == "copy")
        bug = next(p for p, why in pairs.items() if why == "shared-bug")
        assert copy in flagged and bug in flagged, (a, [f.to_json() for f in result.findings[:10]])
        assert flagged <= set(pairs), (a, flagged - set(pairs))
        evidence = {frozenset(f.students): set(f.evidence) for f in result.findings if not f.source}
        assert "code" in evidence[copy] and "behaviour" in evidence[bug], (a, evidence)
        by_source = defaultdict(set)
        for f in result.findings:
            if f.source:
                by_source[f.students[0]].add(f.source)
        (reference,) = [w.student for w in roster if w.kind == "reference"]
        answer = make_class.REFERENCE[a][1][0][0]
        assert f"reference:{answer}" in by_source[reference], (a, by_source)
        for who in roster:
            if who.kind == "solution-copy":
                assert any(f.students == [who.student] and "markers" in f.evidence
                           for f in result.findings), (a, who)
        others = set(by_source) - {reference} - {w.student for w in roster if w.kind == "solution-copy"}
        assert not others, (a, {s: by_source[s] for s in others})
        page = (out / "index.html").read_text(encoding="utf-8")
        for student in (*copy, *bug, reference):
            assert for_html(student) in page
        assert page.count("<details><summary>side by side") >= 3


def _error_outputs(course: Path, a: str, student: str) -> dict[str, str]:
    nb = nbformat.read(course / "autograded" / student / a / f"{a}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: f"{o.ename}: {o.evalue}" for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("grade") for o in c.get("outputs", [])
            if o.output_type == "error"}


def _hidden_lines(a: str) -> set[str]:
    nb = nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4)
    return {leaks.squash(line) for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
            for line in verdicts.split(c.source)[1].splitlines() if len(leaks.squash(line)) > 12}


def test_hidden_failures_name_the_mistake_and_show_no_hidden_line(small_class):
    seen = 0
    for a, roster, course, _ in each(small_class):
        hidden = _hidden_lines(a)
        for who in roster:
            side = (course / "autograded" / who.student / a / ".grader-verdicts.json")
            if not side.is_file():
                continue
            failures = {q: e["failure"] for q, e in json.loads(side.read_text())["questions"].items()
                        if e.get("failure") and e["failure"]["stage"] == "hidden"}
            shown = _error_outputs(course, a, who.student)
            for q, record in failures.items():
                seen += 1
                text = shown[q]
                assert "\n  expected: " not in text and "\n  got: " not in text, (a, who, text)
                if record["kind"] == "named":
                    assert record["mistake"] in text and misconceptions.HIDDEN_NOTE in text
                squashed = leaks.squash(text)
                assert not [h for h in hidden if h in squashed], (a, who, q)
    assert seen >= 6, seen   # the shared wrong answers of chapter 1 fail only the hidden tests


def _hidden_expected_values(course: Path, a: str, student: str, tests: list[str]) -> list:
    """The expected values the hidden tests of ``tests`` computed for ``student``: their code
    run again here, the solution's answers standing in for the student's, every check
    recording its expected value."""
    from grader.grading.job import course_secret

    key = verdicts.submission_key(course_secret(course), a, student)
    nb = nbformat.read(ROOT / "solutions" / a / f"{a}.ipynb", as_version=4)
    ns: dict = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and (meta.get("solution") or (meta.get("locked") and not meta.get("grade"))):
            exec(compile(cell.source, "<cell>", "exec"), ns)   # noqa: S102 - the course's own cells
    recorded = []

    def record(value, expected, *args, **kwargs):
        recorded.append(expected)

    ns.update(check_close=record, check_equal=record, check_shape=lambda *a, **k: None,
              check_raises=lambda *a, **k: None,
              hidden_rng=verdicts.HiddenTests._rng_factory(key))
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") in tests:
            visible, hidden = verdicts.split(cell.source)
            exec(compile(verdicts.definitions(visible) + "\n" + hidden, "<hidden>", "exec"), ns)  # noqa: S102
    return recorded


def test_no_hidden_expected_value_reaches_the_feedback(small_class, tmp_path):
    """Chapter 1's students whose answers fail only the hidden tests (the shared wrong
    answer): their feedback pages (python -m grader feedback, audited) name what failed and
    hold none of the numbers the hidden tests expected of them."""
    import shutil

    from grader.grading import feedback

    course = Path(shutil.copytree(small_class.courses["local"], tmp_path / "course", symlinks=True))
    bugs = [w for w in small_class.rosters[FIRST] if w.kind == "shared-bug"]
    results = feedback.generate_feedback(course, FIRST, [w.student for w in bugs])
    assert [r.problem for r in results] == ["" for _ in bugs]
    for who in bugs:
        page = "\n".join(p.read_text(encoding="utf-8") for p in (course / "feedback" / who.student
                                                                   / FIRST).glob("*.html"))
        assert misconceptions.HIDDEN_NOTE.split(";")[0] in page.replace("&#39;", "'")
        expected = _hidden_expected_values(course, FIRST, who.student, list(who.lost))
        numbers = {t for value in expected for t in re.findall(
            r"-?\d+\.\d{4,}", np.array2string(np.asarray(value, dtype=float), precision=6,
                                              threshold=10**6))}
        assert len(numbers) > 20, numbers          # the check can fail: there are values to find
        assert not [n for n in numbers if n in page], (who.student, [n for n in numbers if n in page][:5])


def test_the_report_page_in_a_browser(small_class):
    """index.html of chapter 1 in headless Chromium: no console error, nothing requested from
    another host, the figure loaded, a side-by-side view opens."""
    check_page_in_browser(small_class.exports["local"] / FIRST / "report")


def check_page_in_browser(folder: Path) -> None:
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from test_browser import _require_browser

    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from test_browser import CHROMEDRIVER, CHROMIUM, CHROMIUM_FLAGS

    handler = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        driver.get(f"{origin}/index.html")
        assert driver.title == f"Class report: {FIRST}"
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert errors == [], errors
        requested = {json.loads(e["message"])["message"].get("params", {}).get("request", {}).get("url", "")
                     for e in driver.get_log("performance")}
        assert {u for u in requested if u and not u.startswith(origin)} == set()
        assert driver.execute_script("return [...document.images].every(i => i.naturalWidth > 0)")
        summary = driver.find_elements(By.XPATH, "//summary[starts-with(., 'side by side')]")[0]
        summary.click()
        assert summary.find_element(By.XPATH, "..").find_element(By.TAG_NAME, "pre").is_displayed()
        driver.save_screenshot(str(ROOT / "artifacts" / "class-report.png")) if (ROOT / "artifacts").is_dir() else None
    finally:
        driver.quit()
        httpd.shutdown()
        httpd.server_close()


def test_a_hostile_student_id_and_code_stay_text(tmp_path):
    """Ids, code and kernel-made words are escaped on the page (no fixture: made-up data)."""
    evil_id, evil_code = '"><img src=x onerror=alert(1)>', "x = 1\n</pre><script>alert(2)</script>\n"
    questions = [f"q{k}-a" for k in range(1, 5)]
    shared = {q: evil_code + "".join(f"v{k} = {k} * {j} + {q[1]}\n" for j in range(6)) for k, q in
              enumerate(questions)}
    cells = {evil_id: dict(shared), "other": dict(shared)}
    cells.update({f"s{i}": {q: f"y = {i}\n" for q in questions} for i in range(10)})
    analysis = similarity.analyse_cells("a", cells, {q: "def f():\n    pass\n" for q in questions}, {}, {})
    assert analysis.findings, "the two alike cells are a finding"
    data = {"assignment": "a", "graded": 12, "questions": [
        {"question": "q1-tests", "failed": 1, "graded": 12, "difficulty": 0.9, "discrimination": 0.1,
         "max_score": 1.0, "notebook": "a", "section": None,
         "mistakes": [{"kind": "values", "message": "<b>unrecognised</b>", "count": 1,
                       "students": [evil_id]}]}]}
    page = classreport._page(data, {"students": 12, "max_score": 1.0}, [("values", "<b>unrecognised</b>")],
                             analysis, "", None)
    assert "<script" not in page and "<img src=x" not in page and "<b>unrecognised" not in page
    assert for_html(evil_id) in page
