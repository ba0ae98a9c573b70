"""When to grade a submission again: what was graded, against which tests, by which grader.

A submission is graded again when any of three hashes changed since it was last graded:

``submission``  the bytes intake staged for nbgrader (the notebooks, under the names graded,
                and ``timestamp.txt``: a new timestamp changes the late penalty);
``source``      the assignment as the gradebook holds it (every source cell's name, type,
                lock and text, every test's points): a changed hidden test regrades;
``grader``      ``grader.__version__`` and the text of ``grader/grading/*.py`` and
                ``grader/reference/*.py``: a fixed grader regrades.

Modification times decide nothing (a copy, ``touch`` or a restored backup changes them
without changing what is graded).  The fingerprint is stored next to the autograded notebook,
``autograded/<student>/<assignment>/.grader-fingerprint.json``, written only after nbgrader
saved the grades.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path

FILE = ".grader-fingerprint.json"
PARTS = ("submission", "source", "grader")
_WHY = {"submission": "the submission changed", "source": "the assignment's tests changed",
        "grader": "the grader changed"}


def _sha(chunks) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        data = chunk if isinstance(chunk, bytes) else str(chunk).encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))   # length-prefixed: no two splits collide
        h.update(data)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def grader_hash() -> str:
    import grader

    package = Path(grader.__file__).parent
    files = sorted([*package.glob("grading/*.py"), *package.glob("reference/*.py")])
    return _sha([grader.__version__] + [x for p in files
                                        for x in (p.relative_to(package).as_posix(), p.read_bytes())])


def submission_hash(notebooks: dict[str, bytes], timestamp: bytes | None) -> str:
    """Of what intake accepted (:class:`grader.grading.intake.Inspection`)."""
    return _sha([x for name in sorted(notebooks) for x in (name, notebooks[name])]
                + [b"timestamp", timestamp if timestamp is not None else b"-"])


def source_hash(assignment_record) -> str:
    """Of an nbgrader ``Assignment`` row: its notebooks' source cells and tests' points."""
    chunks = []
    for nb in sorted(assignment_record.notebooks, key=lambda n: n.name):
        chunks.append(f"notebook {nb.name}")
        for c in sorted(nb.source_cells, key=lambda c: c.name):
            chunks += [c.name, c.cell_type, str(bool(c.locked)), c.source]
        for g in sorted(nb.grade_cells, key=lambda g: g.name):
            chunks += [f"grade {g.name}", repr(float(g.max_score or 0))]
    return _sha(chunks)


def make(inspection, source: str) -> dict[str, str]:
    return {"submission": submission_hash(inspection.notebooks, inspection.timestamp),
            "source": source, "grader": grader_hash()}


def read(folder: Path, name: str = FILE) -> dict:
    """The JSON object the grader keeps beside a graded notebook (``name`` in ``folder``:
    this fingerprint, or another sidecar), or {} when it is missing or not an object."""
    try:
        data = json.loads((Path(folder) / name).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def write(folder: Path, fingerprint: dict[str, str]) -> None:
    (Path(folder) / FILE).write_text(json.dumps(fingerprint, indent=1) + "\n", encoding="utf-8")


def changes(stored: dict, current: dict[str, str]) -> list[str]:
    """Why ``current`` differs from ``stored``, for people (empty: nothing changed)."""
    if not stored:
        return ["never graded by this grader"]
    return [_WHY[p] for p in PARTS if stored.get(p) != current.get(p)]
