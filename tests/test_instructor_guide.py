"""The instructor guide's times are measured from the material, and its plans are the best ones.

The measuring code is checked on small pages and notebooks whose counts are known; the term
planner against every possible layout of small cases; and the built page against the code:
what the page shows is what the course's files give today.
"""
from __future__ import annotations

import html
import itertools
import re
from pathlib import Path

import nbformat
import pytest

from grader.site import plan

ROOT = Path(__file__).resolve().parent.parent

PAGE = """---
jupytext:
  text_representation:
    extension: .md
---

# A small chapter

Seven plain words, and `code` counts once, and $x_t$ too.

$$
a = b
$$

```{admonition} A note
:class: tip
Three more words.
```

```{code-cell} ipython3
import numpy as np
# a comment is not code
x = np.ones(3)
```

```{code-cell} ipython3
:tags: [remove-input]
print("hidden")
```

```{code-cell} ipython3
---
tags: [hide-input]
---
print("folded away")
```

```{math}
c = d
```
"""


def test_a_chapter_is_measured_as_stated(tmp_path):
    page = tmp_path / "small.md"
    page.write_text(PAGE)
    chapter = plan.measure_chapter(page)
    # "A small chapter" (3) + "Seven plain words, and `code` counts once, and $x_t$ too" (11:
    # each code span and inline formula one word: 10) + the note's title and text (2 + 3)
    assert (chapter.title, chapter.words, chapter.equations, chapter.code_lines) == (
        "A small chapter", 18, 2, 2)
    assert chapter.minutes == pytest.approx(18 / plan.READING_WORDS_PER_MINUTE
                                            + 2 * plan.MINUTES_PER_EQUATION
                                            + 2 / plan.CODE_LINES_PER_MINUTE)


def test_an_exercise_is_measured_as_stated(tmp_path):
    nb = nbformat.v4.new_notebook()
    answer = nbformat.v4.new_code_cell(
        "def f(x):\n    ### BEGIN SOLUTION\n    # why\n    y = x + 1\n\n    return y\n"
        "    ### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "grade_id": "f",
                                   "locked": False, "schema_version": 3}
    test = nbformat.v4.new_code_cell("assert f(1) == 2\n### BEGIN HIDDEN TESTS\nassert f(2) == 3\n"
                                     "### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "f-test",
                                 "points": 3, "locked": True, "schema_version": 3}
    nb.cells = [nbformat.v4.new_markdown_cell("Write f, which adds one."), answer, test]
    path = tmp_path / "ex.ipynb"
    nbformat.write(nb, path)
    exercise = plan.measure_exercise(path)
    assert (exercise.questions, exercise.points, exercise.words, exercise.solution_lines) == (
        1, 3.0, 5, 2)


def test_the_course_is_measured(tmp_path):
    measured = plan.measure(ROOT)
    assert [c.name for c, _ in measured] == sorted(
        p.name for p in (ROOT / "solutions").iterdir() if (p / f"{p.name}.ipynb").is_file())
    for chapter, exercise in measured:
        assert chapter.words > 300 and exercise.questions >= 3 and exercise.solution_lines >= 10
        assert exercise.name == chapter.name


def _every_layout(minutes: list[float], weeks: int):
    """Every way to give the chapters, in order, ``weeks`` weeks: each week either whole
    consecutive chapters, or a share of one chapter spread over several weeks."""
    n = len(minutes)

    def layouts(i, w):
        if i == n:
            if w == 0:
                yield []
            return
        for j in range(i + 1, n + 1):
            for rest in layouts(j, w - 1):
                yield [sum(minutes[i:j])] + rest
        for k in range(2, w + 1):
            for rest in layouts(i + 1, w - k):
                yield [minutes[i] / k] * k + rest

    yield from layouts(0, weeks)


@pytest.mark.parametrize("weeks", [2, 3, 5, 7])
def test_the_plan_has_the_lightest_busiest_week(weeks):
    for minutes in itertools.islice(itertools.product([60, 150, 400], repeat=4), 0, 81, 7):
        minutes = list(minutes)
        weeks_planned = plan.plan(minutes, weeks)
        assert [w.number for w in weeks_planned] == list(range(1, weeks + 1))
        loads = [w.minutes for w in weeks_planned]
        assert sum(loads) == pytest.approx(sum(minutes))
        best = min(max(layout) for layout in _every_layout(minutes, weeks))
        assert max(loads) == pytest.approx(best)
        # chapters in order, each exercise due once, at the end of its chapter's last week
        seen = [c for w in weeks_planned for c in w.chapters]
        assert seen == sorted(seen) and set(seen) == set(range(1, 5))
        assert sorted(c for w in weeks_planned for c in w.due) == [1, 2, 3, 4]
        for w in weeks_planned:
            assert all(max(x.number for x in weeks_planned if c in x.chapters) == w.number
                       for c in w.due)


def test_a_term_without_weeks_is_refused():
    with pytest.raises(ValueError, match="at least one week"):
        plan.plan([60.0] * 3, 0)


@pytest.mark.book
def test_the_page_shows_what_the_material_gives_today(site):
    page = (site / "book" / "instructor_guide.html").read_text(encoding="utf-8")
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    cells = " ".join(text.replace("\u2019", "'").split())
    measured = plan.measure(ROOT)
    for table in (plan.reading_table(measured), plan.exercise_table(measured), plan.plan_table(measured, 10),
                  plan.plan_table(measured, 6), plan.rates_table()):
        for row in table.splitlines()[2:]:
            shown = " ".join(c.strip().replace("**", "") for c in row.strip("|").split("|"))
            assert " ".join(shown.split()) in cells, f"the page lacks the row {row!r}"
    total = sum(c.minutes + e.minutes for c, e in measured) / 60
    assert f"about {total:.0f} hours" in cells
    intro = (site / "book" / "intro.html").read_text(encoding="utf-8")
    assert 'href="instructor_guide.html"' in intro, "the landing page does not link the guide"
