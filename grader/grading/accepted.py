"""Renamed notebooks the instructor accepted: ``accepted-notebooks.json`` in the course folder.

A student who saved ``01_rnn_by_hand.ipynb`` as ``Copy of 01_rnn_by_hand.ipynb`` is refused
at intake ("renamed notebook"), never guessed at: the file might be anything.  The instructor
looks and, if it is the student's work, runs ``python -m grader accept ASSIGNMENT STUDENT
FILE``; the mapping is recorded here and intake then grades that file under the assignment's
notebook name.  The student's files are never renamed or copied in ``submitted/``.

Format: ``{"assignment": {"student": {"submitted file.ipynb": "assignment notebook.ipynb"}}}``.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

FILE = "accepted-notebooks.json"


def load(course_root: Path) -> dict:
    try:
        data = json.loads((Path(course_root) / FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise ValueError(f"{Path(course_root) / FILE} is not valid JSON: {exc}") from None
    return data if isinstance(data, dict) else {}


def for_student(course_root: Path, assignment: str, student: str) -> dict[str, str]:
    return dict(load(course_root).get(assignment, {}).get(student, {}))


def record(course_root: Path, assignment: str, student: str, file: str, as_name: str) -> Path:
    """Add ``file -> as_name`` for the student (atomically: write, then rename)."""
    path = Path(course_root) / FILE
    data = load(course_root)
    data.setdefault(assignment, {}).setdefault(student, {})[file] = as_name
    tmp = path.with_name(f".{FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                   encoding="utf-8")
    os.replace(tmp, path)
    return path
