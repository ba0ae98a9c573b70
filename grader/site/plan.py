"""How long each chapter and exercise takes, measured from the material, and a term built on it.

The instructor guide (``book/instructor_guide.md``) runs this at build time and glues the
tables into the page, so the estimates follow the material: add a question, and the plan
changes.  What is *measured* (by the code below, from the files):

* a chapter: the words of its prose (code, math, front matter and directive options left
  out; a run of Chinese characters counts as one word), its display equations, and the
  lines of code it shows (code cells without a ``remove-*`` or ``hide-input`` tag);
* an exercise: its questions and points (the nbgrader test cells), the words of its
  instructions, and the lines of code a student must write: the non-blank, non-comment
  lines inside ``### BEGIN SOLUTION`` / ``### END SOLUTION`` of the instructor's notebook.

What is *assumed* (the rates below, stated on the page, one place to change them): how fast
students read technical prose, equations and code, and how many lines of new, tested NumPy
code they write in an hour.  Minutes are rates times measures; nothing else is added.

The page's code never changes when the material does, so neither myst-nb's cache nor
Sphinx would run it again: the page is executed on every read (``execution_mode: force``
in its front matter), and :func:`setup` (a Sphinx extension, loaded by
``grader.site.launch``) makes Sphinx read it again whenever a file it measures changes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from grader import leaks

ROOT = Path(__file__).resolve().parent.parent.parent

# The assumed rates (the page prints them).
READING_WORDS_PER_MINUTE = 100      # technical prose, studied rather than skimmed
MINUTES_PER_EQUATION = 2.0          # a display equation, worked through
CODE_LINES_PER_MINUTE = 10          # reading the code a chapter shows
MINUTES_PER_QUESTION = 5            # reading a question, running its tests once more
SOLUTION_LINES_PER_HOUR = 15        # new NumPy code, written, debugged and passing its tests

_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_FENCE = re.compile(r"^(`{3,}|~{3,}|:{3,})\s*(\{[\w:-]+\})?([^\n]*)\n(.*?)^\1\s*$", re.S | re.M)
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$", re.S)
_INLINE_MATH = re.compile(r"(?<!\\)\$[^$\n]+?(?<!\\)\$")
_ROLE = re.compile(r"\{[\w:-]+\}`([^`]*)`")
_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*|[\u3400-\u9fff]+")
_HIDDEN_TAGS = ("remove-cell", "remove-input", "hide-input")


@dataclass(frozen=True)
class Chapter:
    name: str
    title: str
    words: int
    equations: int
    code_lines: int

    @property
    def minutes(self) -> float:
        return (self.words / READING_WORDS_PER_MINUTE + self.equations * MINUTES_PER_EQUATION
                + self.code_lines / CODE_LINES_PER_MINUTE)


@dataclass(frozen=True)
class Exercise:
    name: str
    questions: int
    points: float
    words: int
    solution_lines: int

    @property
    def minutes(self) -> float:
        return (self.questions * MINUTES_PER_QUESTION + self.words / READING_WORDS_PER_MINUTE
                + self.solution_lines * 60 / SOLUTION_LINES_PER_HOUR)


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def measure_chapter(page: Path) -> Chapter:
    """Prose words, display equations and shown code lines of one MyST chapter page."""
    text = _FRONT_MATTER.sub("", page.read_text(encoding="utf-8"))
    heading = re.search(r"^# (.+)$", text, re.M)
    code_lines, prose_parts, last = 0, [], 0
    for fence in _FENCE.finditer(text):
        prose_parts.append(text[last:fence.start()])
        last = fence.end()
        kind, title, body = fence.group(2) or "", fence.group(3), fence.group(4)
        if kind == "{code-cell}":
            options = re.match(r"(?:---\n.*?\n---\n|(?::[\w-]+:.*\n)*)", body, re.S).group(0)
            if not any(tag in options for tag in _HIDDEN_TAGS):
                code_lines += sum(1 for line in body[len(options):].splitlines()
                                  if line.strip() and not line.strip().startswith("#"))
        elif kind in ("{math}",):
            prose_parts.append("$$ $$")
        elif kind.startswith("{") and kind not in ("{code}", "{code-block}", "{eval-rst}"):
            # admonitions, figures, glossaries: prose (their titles too), without options
            prose_parts.append(title + "\n" + re.sub(r"^:[\w-]+:.*$", "", body, flags=re.M))
    prose_parts.append(text[last:])
    prose = "\n".join(prose_parts)
    equations = len(_DISPLAY_MATH.findall(prose))
    prose = _DISPLAY_MATH.sub(" ", prose)
    prose = _INLINE_MATH.sub(" x ", prose)      # a symbol reads as one word
    prose = _ROLE.sub(r" \1 ", prose)
    prose = re.sub(r"`[^`\n]*`", " x ", prose)  # inline code: one word
    prose = re.sub(r"\]\([^)]*\)", "]", prose)   # link targets
    return Chapter(page.stem, heading.group(1).strip() if heading else page.stem,
                   count_words(prose), equations, code_lines)


def measure_exercise(solution: Path) -> Exercise:
    """Questions, points, instruction words and solution lines of one instructor notebook."""
    from grader import notebooks

    nb = notebooks.read(solution)
    questions, points, words, lines = 0, 0.0, 0, 0
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            questions += 1
            points += float(meta.get("points", 0))
        if cell.cell_type == "markdown":
            words += count_words(cell.source)
    for kind, _grade_id, part in leaks.notebook_regions(solution):
        if kind == "solution":
            lines += sum(1 for line in part if line.strip() and not line.strip().startswith("#"))
    return Exercise(solution.parent.name, questions, points, words, lines)


def measure(root: Path = ROOT) -> list[tuple[Chapter, Exercise]]:
    """Every chapter that has an exercise, in the course's order."""
    root = Path(root)
    out = []
    for solution in sorted((root / "solutions").glob("*/*.ipynb")):
        name = solution.parent.name
        if solution.name != f"{name}.ipynb" or not (root / "book" / f"{name}.md").is_file():
            continue
        out.append((measure_chapter(root / "book" / f"{name}.md"), measure_exercise(solution)))
    return out


# ------------------------------------------------------------------------------------------
# a term

@dataclass(frozen=True)
class Week:
    number: int
    chapters: tuple[int, ...]       # 1-based chapter numbers studied this week
    part: tuple[int, int]           # (k, n): the k-th of n weeks given to a spread chapter
    minutes: float
    due: tuple[int, ...]            # exercises due at the end of this week


def plan(minutes: list[float], weeks: int) -> list[Week]:
    """Chapters, in order, over ``weeks`` weeks, with the busiest week as light as it can be.

    A week holds whole consecutive chapters, or one chapter is spread over several weeks
    (its load shared evenly); each exercise is due at the end of its chapter's last week.
    Exhaustive over these layouts (dynamic programming): the smallest possible maximum
    week, then, among layouts with that maximum, the one whose weeks are most even.
    """
    n = len(minutes)
    if not 1 <= weeks or n == 0:
        raise ValueError("a plan needs at least one week and one chapter")
    from functools import lru_cache

    @lru_cache(maxsize=None)
    def best(i: int, w: int) -> tuple[float, float, tuple]:
        """(max week, sum of squares, blocks) for chapters i.. in w weeks."""
        if i == n:
            return (0.0, 0.0, ()) if w == 0 else (float("inf"), float("inf"), ())
        if w == 0:
            return (float("inf"), float("inf"), ())
        options = []
        for j in range(i + 1, n + 1):           # chapters i..j-1 together in one week
            load = sum(minutes[i:j])
            rest = best(j, w - 1)
            options.append((max(load, rest[0]), load ** 2 + rest[1], (("whole", i, j, 1),) + rest[2]))
        for k in range(2, w + 1):               # chapter i over k weeks
            load = minutes[i] / k
            rest = best(i + 1, w - k)
            options.append((max(load, rest[0]), k * load ** 2 + rest[1], (("spread", i, i + 1, k),) + rest[2]))
        return min(options, key=lambda o: (round(o[0], 6), round(o[1], 6)))

    peak, _, blocks = best(0, weeks)
    if peak == float("inf"):
        raise ValueError(f"{n} chapters cannot fill {weeks} weeks")
    out, number = [], 1
    for kind, i, j, k in blocks:
        chapters = tuple(range(i + 1, j + 1))
        for part in range(1, k + 1):
            out.append(Week(number, chapters, (part, k), sum(minutes[i:j]) / k,
                            chapters if part == k else ()))
            number += 1
    return out


# ------------------------------------------------------------------------------------------
# the page's tables (Markdown, rendered by myst-nb)

def hours(minutes: float) -> str:
    return f"{minutes / 60:.1f}"


def reading_table(measured: list[tuple[Chapter, Exercise]]) -> str:
    """What each chapter gives to read, and its time. With :func:`exercise_table` it was one
    table of ten columns, wider than the column of a 1280 px page (773 px in 674)."""
    rows = ["| chapter | prose words | display equations | code lines shown | reading (h) |",
            "|---|--:|--:|--:|--:|"]
    for number, (chapter, _) in enumerate(measured, start=1):
        rows.append(f"| {number}. {chapter.title} | {chapter.words:,} | {chapter.equations} | "
                    f"{chapter.code_lines} | {hours(chapter.minutes)} |")
    rows.append(f"| **all** | {sum(c.words for c, _ in measured):,} | "
                f"{sum(c.equations for c, _ in measured)} | {sum(c.code_lines for c, _ in measured)} | "
                f"{hours(sum(c.minutes for c, _ in measured))} |")
    return "\n".join(rows)


def exercise_table(measured: list[tuple[Chapter, Exercise]]) -> str:
    """What each exercise asks, its time, and the chapter's and exercise's time together."""
    rows = ["| chapter | questions | points | solution lines to write | exercise (h) | total (h) |",
            "|---|--:|--:|--:|--:|--:|"]
    for number, (chapter, exercise) in enumerate(measured, start=1):
        rows.append(f"| {number}. {chapter.title} | {exercise.questions} | {exercise.points:g} | "
                    f"{exercise.solution_lines} | {hours(exercise.minutes)} | "
                    f"{hours(chapter.minutes + exercise.minutes)} |")
    total_c = sum(c.minutes for c, _ in measured)
    total_e = sum(e.minutes for _, e in measured)
    rows.append(f"| **all** | {sum(e.questions for _, e in measured)} | "
                f"{sum(e.points for _, e in measured):g} | "
                f"{sum(e.solution_lines for _, e in measured)} | {hours(total_e)} | "
                f"{hours(total_c + total_e)} |")
    return "\n".join(rows)


def rates_table() -> str:
    return "\n".join([
        "| assumed rate | value |", "|---|--:|",
        f"| reading the chapters' prose, words a minute | {READING_WORDS_PER_MINUTE} |",
        f"| working through a display equation, minutes | {MINUTES_PER_EQUATION:g} |",
        f"| reading the code a chapter shows, lines a minute | {CODE_LINES_PER_MINUTE} |",
        f"| reading a question and running its tests, minutes | {MINUTES_PER_QUESTION} |",
        f"| writing solution code that passes its tests, lines an hour | {SOLUTION_LINES_PER_HOUR} |",
    ])


def plan_table(measured: list[tuple[Chapter, Exercise]], weeks: int) -> str:
    minutes = [c.minutes + e.minutes for c, e in measured]
    rows = ["| week | chapter | work | hours | due at the end of the week |", "|--:|---|---|--:|---|"]
    for week in plan(minutes, weeks):
        chapters = "; ".join(f"{n} · {measured[n - 1][0].title}" for n in week.chapters)
        part, of = week.part
        if of == 1:
            work = "read, do the exercise" if len(week.chapters) == 1 else "read, do the exercises"
        else:
            work = ("read, start the exercise" if part == 1 else
                    "finish the exercise" if part == of else "the exercise")
        due = (f"exercise{'s' if len(week.due) > 1 else ''} "
               + " and ".join(str(n) for n in week.due)) if week.due else ""
        rows.append(f"| {week.number} | {chapters} | {work} | {hours(week.minutes)} | {due} |")
    return "\n".join(rows)


# ------------------------------------------------------------------------------------------
# the page is read again when what it measures changes

GUIDE = "book/instructor_guide"


def inputs(root: Path = ROOT) -> list[Path]:
    """The files the guide's numbers come from (and this module, which holds the rates)."""
    root = Path(root)
    solutions = sorted((root / "solutions").glob("*/*.ipynb"))
    pages = [root / "book" / f"{p.parent.name}.md" for p in solutions]
    return [Path(__file__).resolve(), *solutions, *(p for p in pages if p.is_file())]


def _note_inputs(app, docname, source):
    if docname == GUIDE:
        for path in inputs(Path(app.srcdir)):
            app.env.note_dependency(str(path))


def setup(app):
    app.connect("source-read", _note_inputs)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
