"""Feedback that students get: their own code, no hidden test, no script of theirs running.

One throw-away course (grader.course.make_course) of chapter 1, graded with plain nbgrader:

``sol``    the exercise notebook with every answer written exactly as the solution writes it
           (the case that used to be withheld: a correct student's lines are solution lines);
``xss``    the same answers plus cells whose outputs carry ``<script>``, ``onerror=``,
           ``javascript:`` links, HTML, SVG and JavaScript display data, a markdown cell of raw
           HTML, and an exception message laden with terminal escapes;
``smuggle`` a correct student with an extra cell that prints a hidden-test line it decodes
           from base64 (so that the line is in the output but not in their own source): that
           feedback must be withheld, with the reason.

The feedback pages are opened in headless Chromium (the fixture of test_browser.py): no
payload may run, and the page must still show the scores and the student's code.
"""
from __future__ import annotations

import base64
import re
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell
from test_browser import browser  # noqa: F401 - the fixture (Debian's Chromium, offline)

from grader import leaks
from grader.cli import main
from grader.course import make_course
from grader.grading import feedback

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
SOURCE = ROOT / "solutions" / A / f"{A}.ipynb"
SECRETS = leaks.secret_lines([SOURCE])
MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION.*\n?", re.M)


def solved_exercise(target: Path, extra_cells=(), assignment: str = A) -> Path:
    """The released exercise notebook with each answer cell holding the solution's code.

    What a correct student who wrote exactly the solution's lines submits: the solution
    regions without their markers, in the student's notebook (no hidden test in it).
    """
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    answers = {c.metadata.nbgrader["grade_id"]: MARKER.sub("", c.source) for c in source.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    nb = nbformat.read(ROOT / "exercises" / assignment / f"{assignment}.ipynb", as_version=4)
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    nb.cells.extend(extra_cells)
    nbformat.write(nb, target)
    return target


# Every payload sets window.__pwned (or the title) if it ever runs.
SCRIPT = "<script>document.title='pwned'; window.__pwned = 'script'</script>"
PAYLOAD_CELL = f'''\
from IPython.display import HTML, SVG, Javascript, Markdown, display
print("{SCRIPT}")
display(HTML("{SCRIPT}<img src=x onerror=\\"window.__pwned='onerror'\\">"
             "<a id=jslink href=\\"javascript:window.__pwned='link'\\">click me</a>"))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=\\'svg\\'">'
            '<script>window.__pwned="svg script"</script><circle r="5"/></svg>'))
display(Javascript("window.__pwned = 'javascript'; document.title = 'pwned'"))
display(Markdown("[md link](javascript:window.__pwned='md') <img src=x onerror=\\"window.__pwned='md img'\\">"))
display({{"text/html": "{SCRIPT}", "text/plain": "plain fallback shown"}}, raw=True)
'''
ESCAPE_CELL = '''\
raise ValueError("\\x1b[31mred\\x1b[0m \\x1b]8;;javascript:window.__pwned='osc'\\x07osc link\\x1b]8;;\\x07"
                 " \\x1b[2J\\x1b]0;pwned\\x07<script>window.__pwned='traceback'</script>")
'''
MARKDOWN_CELL = ("My notes <script>window.__pwned = 'markdown'</script>\n\n"
                 "<img src=x onerror=\"window.__pwned = 'markdown img'\">\n\n"
                 "[a link](javascript:window.__pwned='markdown link')\n")


def wrong_exercise(target: Path) -> Path:
    """The solved exercise with ``as_row`` returning a column: its hidden tests fail."""
    solved_exercise(target)
    nb = nbformat.read(target, as_version=4)
    (cell,) = [c for c in nb.cells if "np.asarray(v).reshape(1, -1)" in c.source]
    cell.source = cell.source.replace("reshape(1, -1)", "reshape(-1, 1)")
    nbformat.write(nb, target)
    return target


def hidden_line() -> str:
    """A secret line that is in no cell of the solved exercise: a hidden-test line."""
    with tempfile.TemporaryDirectory(prefix="rnns-solved-") as tmp:
        cells = nbformat.read(solved_exercise(Path(tmp) / f"{A}.ipynb"), as_version=4).cells
    lines = {leaks.squash(line) for cell in cells for line in cell.source.splitlines()}
    return sorted(SECRETS - lines)[0]


def smuggle(line: str) -> str:
    """A cell that prints ``line`` without writing it: it decodes it from base64."""
    return f"import base64\nprint(base64.b64decode({base64.b64encode(line.encode())!r}).decode())\n"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("feedback")
    course = make_course(tmp / "course", [A])
    name = f"{A}.ipynb"
    course.submit("sol", A, solved_exercise(tmp / "sol.ipynb"), name=name)
    course.submit("xss", A, solved_exercise(tmp / "xss.ipynb", [
        new_code_cell(PAYLOAD_CELL), new_markdown_cell(MARKDOWN_CELL), new_code_cell(ESCAPE_CELL)]),
        name=name)
    course.hidden_line = hidden_line()
    course.submit("smuggle", A, solved_exercise(tmp / "smuggle.ipynb", [
        new_code_cell(smuggle(course.hidden_line))]), name=name)
    course.submit("wrong", A, wrong_exercise(tmp / "wrong.ipynb"), name=name)
    proc = course.autograde(A, "*")  # one nbgrader run for the four
    assert proc.returncode == 0, proc.stderr[-3000:]
    return course


def _page(course, student: str) -> Path:
    return course.root / "feedback" / student / A / f"{A}.html"


def _visible_text(page: str) -> str:
    """The page's text, one line per line (tags dropped without a space: code is in spans)."""
    page = re.sub(r"<(style|script)\b.*?</\1>", "\n", page, flags=re.S)
    return "\n".join(feedback.visible_lines(page))


def test_the_premise(course):
    """Full marks for all three, and the solution's lines are the sol student's own."""
    for student in ("sol", "xss", "smuggle"):
        assert course.total(A, student) == (11, 11), student
    own = feedback.own_lines(course.root, "sol", A)
    assert len(SECRETS & own) >= 10  # what used to withhold this student's feedback
    assert not (SECRETS & own) >= SECRETS  # the hidden tests are not theirs


def test_feedback_for_a_correct_student_and_withheld_for_a_leak(course, capsys):
    code = main(["feedback", A, "--course", str(course.root)])
    printed = capsys.readouterr().out
    assert code == 1, printed  # one student has no feedback: the command says so
    assert f"sol: feedback/sol/{A}/{A}.html" in printed
    assert f"xss: feedback/xss/{A}/{A}.html" in printed
    (line,) = [x for x in printed.splitlines() if x.startswith("smuggle:")]
    assert "NO FEEDBACK: feedback withheld" in line and course.hidden_line in line, line
    assert not _page(course, "smuggle").exists()

    for student in ("sol", "xss"):
        page = _page(course, student).read_text()
        own = feedback.own_lines(course.root, student, A)
        assert feedback.audit([_page(course, student)], SECRETS, own) == []
        text = _visible_text(page)
        assert "(Score: 11.0 / 11.0)" in text
        # their own code, solution lines included
        for answer in ("return np.asarray(v).reshape(1, -1)",
                       "before_activation = np.dot(h_prev, W_state) + input_term + b_cell"):
            assert answer in text, (student, answer)
        # and no hidden-test line
        assert course.hidden_line not in text and "BEGIN HIDDEN" not in text
        hidden_only = SECRETS - own
        assert not [s for s in hidden_only if s in text]


def test_plain_nbgrader_feedback_is_as_safe(course):
    """`nbgrader generate_feedback` itself (the formgrader's button) runs the same scrubbing:
    no hidden-test line in a failing student's page, no live payload in the xss page."""
    from bs4 import BeautifulSoup

    assert course.total(A, "wrong")[0] < 11  # hidden tests failed, with tracebacks
    proc = course.nbgrader("generate_feedback", A, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    for student in ("wrong", "sol", "xss"):
        page = _page(course, student)
        own = feedback.own_lines(course.root, student, A)
        assert feedback.audit([page], SECRETS, own) == [], student
    text = _visible_text(_page(course, "wrong").read_text())
    assert "Traceback" not in text and "BEGIN HIDDEN" not in text
    soup = BeautifulSoup(_page(course, "xss").read_text(), "html.parser")
    assert not [s for s in soup.find_all("script") if "__pwned" in s.get_text()]
    assert not soup.find_all(["svg", "iframe", "object", "embed"])


def _external_scripts(page: Path) -> list[dict]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(), "html.parser")
    return [dict(tag.attrs) for tag in soup.find_all("script") if tag.get("src")]


def test_mathjax_is_pinned_and_hash_checked_on_both_paths(course):
    """The one script a feedback page loads is the site's MathJax version, and the browser
    runs it only if it is byte for byte the file `make book` checked (SRI hash)."""
    import hashlib

    version = re.search(r"^MATHJAX_VERSION\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(),
                        re.M).group(1)
    vendored = ROOT / "_build" / "vendor" / "mathjax" / "tex-mml-chtml.js"
    if not vendored.is_file():
        pytest.skip("make book fetches MathJax into _build/vendor (make test builds it first)")
    digest = base64.b64encode(hashlib.sha384(vendored.read_bytes()).digest()).decode()
    for run in (lambda: course.nbgrader("generate_feedback", A, "--force"),
                lambda: main(["feedback", A, "--course", str(course.root), "--student", "sol"])):
        run()
        (script,) = _external_scripts(_page(course, "sol"))
        assert script["src"] == f"https://cdn.jsdelivr.net/npm/mathjax@{version}/tex-mml-chtml.js"
        assert script["integrity"] == f"sha384-{digest}"
        assert script["crossorigin"] == "anonymous"


def test_mathjax_settings_are_the_sites(course):
    """A feedback page typesets as the site does: long equations broken to fit, screen
    readers given MathML, no speech computed (the settings of _config.yml)."""
    import json

    import yaml
    from bs4 import BeautifulSoup

    site = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]["mathjax3_config"]
    main(["feedback", A, "--course", str(course.root), "--student", "sol"])
    soup = BeautifulSoup(_page(course, "sol").read_text(), "html.parser")
    (config,) = [s.get_text() for s in soup.find_all("script") if "window.MathJax" in s.get_text()]
    page = json.loads(config.split("=", 1)[1].strip().rstrip(";"))
    assert page["output"] == site["output"]
    assert page["options"] == site["options"]


def test_audit_compares_lines_not_json(course, tmp_path):
    secret = course.hidden_line
    page = tmp_path / "page.html"
    page.write_text(f"<pre><span>x = 1</span>\n{secret}</pre>")
    assert feedback.audit([page], SECRETS, set()) != []
    assert feedback.audit([page], SECRETS, {secret}) == []  # their own line
    # a secret inside a longer line (an output quoting it) is a leak, unless theirs
    page.write_text(f"<div>printed: {secret}</div>")
    assert feedback.audit([page], SECRETS, {"x = 1"}) != []
    assert feedback.audit([page], SECRETS, {secret}) == []
    # a submitted notebook's JSON lines ("    x = 1\\n",) are never the comparison
    own = feedback.own_lines(course.root, "sol", A)
    assert "return np.asarray(v).reshape(1, -1)" in own
    assert not any(line.endswith('\\n",') for line in own)


def test_payloads_are_inert_in_the_html(course):
    from bs4 import BeautifulSoup

    main(["feedback", A, "--course", str(course.root), "--student", "xss"])
    page = _page(course, "xss").read_text()
    assert "window.__pwned" in page  # the payloads are there, as text
    soup = BeautifulSoup(page, "html.parser")
    assert not [s for s in soup.find_all("script") if "__pwned" in s.get_text()]
    assert not soup.find_all(["svg", "iframe", "object", "embed"])
    handlers = [(tag.name, name) for tag in soup.find_all(True) for name in tag.attrs
                if name.lower().startswith("on")]
    assert handlers == []
    urls = [value for tag in soup.find_all(True) for name, value in tag.attrs.items()
            if name in ("href", "src", "action", "formaction", "data")]
    assert not [u for u in urls if str(u).strip().lower().startswith(("javascript:", "data:text"))]
    assert "\x1b" not in page and "\x07" not in page
    text = _visible_text(page)
    assert "plain fallback shown" in text and "My notes <script>" in text
    assert "ValueError: red osc link" in text


def test_no_script_from_a_submission_runs_in_a_browser(course, browser):  # noqa: F811
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    main(["feedback", A, "--course", str(course.root)])
    for student in ("sol", "xss"):
        browser.get(_page(course, student).as_uri())
        for link in browser.find_elements(By.CSS_SELECTOR, "a"):
            href = link.get_attribute("href") or ""
            if not href.startswith(("http", "file")):  # what a curious student would click
                browser.execute_script("arguments[0].click()", link)
        assert browser.execute_script("return window.__pwned === undefined"), \
            browser.execute_script("return String(window.__pwned)")
        assert browser.title == A
        with pytest.raises(NoAlertPresentException):
            browser.switch_to.alert.text
        body = browser.find_element(By.TAG_NAME, "body").text
        assert "Score: 11.0 / 11.0" in body
        assert "return np.asarray(v).reshape(1, -1)" in body
    body = browser.find_element(By.TAG_NAME, "body").text  # the xss student's page
    assert "My notes <script>window.__pwned = 'markdown'</script>" in body
    assert "ValueError: red osc link" in body and "plain fallback shown" in body
