"""The student kit: the only part of ``grader`` that leaves the instructor's machine.

It is what students install, what the student bundle ships and exactly what a grading
sandbox mounts for a student's kernel: the notebooks' test helpers (``grader.checks``), the
gradient checker (``grader.gradcheck``) and the self-check command (``python -m grader
check``).  No reference implementation, no hidden test, no grading code.  The list is an
allow-list, declared once here; everything that ships the kit reads it.
"""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KIT_MODULES = (
    "grader/__init__.py",
    "grader/__main__.py",  # so that `python -m grader check` works
    "grader/checks.py",
    "grader/gradcheck.py",
    "grader/notebooks.py",
    "grader/cli/__init__.py",
    "grader/cli/check.py",
    "grader/grading/selfcheck.py",
)
# Written rather than copied: the course's grader/grading/__init__.py belongs to the
# instructor-side package and may import grading code that is not shipped.
GRADING_INIT = '"""Student subset of grader.grading: only the self-check (selfcheck.py)."""\n'
GENERATED = {"grader/grading/__init__.py": GRADING_INIT}


def kit_files(root: Path = ROOT) -> dict[str, bytes]:
    """Relative path (``grader/...``) -> bytes of every file of the kit."""
    files = {name: (root / name).read_bytes() for name in KIT_MODULES}
    files.update({name: text.encode() for name, text in GENERATED.items()})
    return dict(sorted(files.items()))


def write_kit(dest: Path, root: Path = ROOT) -> Path:
    """Write the kit's ``grader`` package under ``dest`` (emptied first); return ``dest``.

    Put ``dest`` first on ``sys.path`` and ``import grader`` finds the kit and nothing more.
    """
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    for name, data in kit_files(root).items():
        path = dest / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return dest
