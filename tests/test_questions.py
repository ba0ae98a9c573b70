"""The questions to think about at the end of chapters 1-5, and their answers for instructors.

* Each chapter ends with a "Questions to think about" section of 4 to 6 numbered questions,
  some with a hint in a collapsed admonition.
* ``solutions/answers/<assignment>.md`` answers every one of them, in the same order.
* The answers are instructor material: no enumeration of assignments picks their folder up
  (``release``, ``make_course``), and the built site holds none of their text.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from grader.course import make_course
from grader.release import assignments

ROOT = Path(__file__).resolve().parent.parent
CHAPTERS = ("01_rnn_by_hand", "02_hmm_dice", "03_embeddings", "04_rnnlm", "05_mrnn", "06_tang_poems")
HEADING = "## Questions to think about"


def questions(chapter: str) -> list[str]:
    """The numbered questions of a chapter's last section, one string each."""
    text = (ROOT / "book" / f"{chapter}.md").read_text(encoding="utf-8")
    assert HEADING in text, f"{chapter}.md has no '{HEADING}' section"
    section = text.split(HEADING, 1)[1]
    assert not re.search(r"^## ", section, flags=re.M), f"{chapter}.md: the questions are not last"
    return re.split(r"^\d+\. ", section, flags=re.M)[1:]


def answers(chapter: str) -> list[str]:
    text = (ROOT / "solutions" / "answers" / f"{chapter}.md").read_text(encoding="utf-8")
    return re.split(r"^\d+\. ", text, flags=re.M)[1:]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_each_chapter_ends_with_questions_and_instructors_have_their_answers(chapter):
    asked = questions(chapter)
    assert 4 <= len(asked) <= 6, f"{chapter}: {len(asked)} questions"
    assert all(re.match(r"\*\*(Derive|Predict|Explain)\.\*\*", q) for q in asked), asked
    answered = answers(chapter)
    assert len(answered) == len(asked), f"{chapter}: {len(asked)} questions, {len(answered)} answers"
    assert all(len(a.split()) >= 25 for a in answered), f"{chapter}: an answer is a stub"


def test_some_questions_have_hints():
    hints = sum(len(re.findall(r":class: dropdown", "".join(questions(c)))) for c in CHAPTERS)
    assert hints >= len(CHAPTERS)


def test_the_answers_folder_is_not_an_assignment(tmp_path):
    assert "answers" not in assignments()
    # A course laid out from a repository with an answers folder: only the assignment is
    # copied and registered by nbgrader (a real generate_assignment run).
    source = tmp_path / "repo"
    shutil.copytree(ROOT / "solutions" / "01_rnn_by_hand", source / "solutions" / "01_rnn_by_hand")
    shutil.copytree(ROOT / "solutions" / "answers", source / "solutions" / "answers")
    shutil.copyfile(ROOT / "nbgrader_config.py", source / "nbgrader_config.py")
    assert assignments(source) == ["01_rnn_by_hand"]
    course = make_course(tmp_path / "course", source_root=source)
    assert sorted(p.name for p in (course.root / "solutions").iterdir()) == ["01_rnn_by_hand"]
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gradebook:
        assert [a.name for a in gradebook.assignments] == ["01_rnn_by_hand"]


@pytest.mark.book
def test_no_answer_is_published(site):
    lines = {line.strip() for chapter in CHAPTERS for answer in answers(chapter)
             for line in answer.splitlines() if len(line.strip()) > 50}
    assert len(lines) > 20
    leaked = {}
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".md", ".txt", ".ipynb", ".json"} \
                and "lite" not in path.relative_to(site).parts[:1]:
            text = path.read_text(encoding="utf-8", errors="replace")
            found = [line for line in lines if line in text]
            if found:
                leaked[str(path.relative_to(site))] = found[:2]
    assert leaked == {}
    assert not list(site.rglob("answers"))
