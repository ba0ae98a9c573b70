"""A course folder in nbgrader's layout, and plain nbgrader runs on it.

Used by the tests (real nbgrader runs, no mocks) and by the grading commands.  A course is a
folder holding ``nbgrader_config.py``, ``solutions/<assignment>/`` and the nbgrader working
folders (``submitted/``, ``autograded/``, ``gradebook.db``); :func:`make_course` lays a
throw-away one out from this repository.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from grader.release import ROOT, assignments as source_assignments, nbgrader_command, nbgrader_env


@dataclass(frozen=True)
class QuestionScore:
    grade_id: str
    score: float
    max_score: float


class Course:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def nbgrader(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        """Run one nbgrader command in the course folder (output captured, never raises)."""
        return subprocess.run(nbgrader_command(*args), cwd=self.root, env=nbgrader_env(),
                              capture_output=True, text=True, timeout=timeout)

    def generate(self, assignment: str) -> None:
        """nbgrader generate_assignment: registers the assignment and its cells in the gradebook."""
        proc = self.nbgrader("generate_assignment", assignment, "--force")
        if proc.returncode != 0:
            raise RuntimeError(f"generate_assignment {assignment} failed:\n{proc.stdout}{proc.stderr}")

    def submit(self, student: str, assignment: str, notebook: Path, name: str | None = None) -> Path:
        """Place a file as a student's submission (nbgrader's submitted/ layout)."""
        name = name or notebook.name
        target = self.root / "submitted" / student / assignment / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(notebook, target)
        return target

    def autograde(self, assignment: str, student: str, *extra: str) -> subprocess.CompletedProcess:
        return self.nbgrader("autograde", assignment, f"--student={student}", "--force", *extra)

    def scores(self, assignment: str, student: str) -> dict[str, QuestionScore]:
        """Auto-scores per graded cell, read from the gradebook."""
        from nbgrader.api import Gradebook

        with Gradebook(self.db_url) as gb:
            submission = gb.find_submission(assignment, student)
            result = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.cell_type != "code" and grade.max_score == 0:
                        continue
                    result[grade.name] = QuestionScore(grade.name, float(grade.score or 0.0),
                                                       float(grade.max_score))
            return result

    def total(self, assignment: str, student: str) -> tuple[float, float]:
        s = self.scores(assignment, student)
        return sum(q.score for q in s.values()), sum(q.max_score for q in s.values())


def make_course(target: Path, assignments: list[str] | None = None, source_root: Path = ROOT) -> Course:
    """A fresh course folder with this repository's config and instructor notebooks.

    By default every assignment of ``solutions/``: its folders that hold a notebook (not
    ``solutions/answers/``, the instructors' answers to the chapters' questions).
    """
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source_root / "nbgrader_config.py", target / "nbgrader_config.py")
    names = assignments or source_assignments(source_root)
    for name in names:
        shutil.copytree(source_root / "solutions" / name, target / "solutions" / name,
                        dirs_exist_ok=True)
    course = Course(target)
    for name in names:
        course.generate(name)
    return course
