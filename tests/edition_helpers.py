"""The student edition for tests: published once per run, and throw-away copies of the course.

:func:`published_edition` runs ``python -m grader publish student`` once per test run (shared
by the pytest-xdist workers) and returns the tree, which the kit, bundle, launch-link and
edition tests all read: what they check is what students get.  :func:`copy_course` lays out
the parts of this repository that publishing reads, so that a test can plant something in
the *source* (a reference function pasted into the kit, an answers file) and see the
edition refused, without touching the repository.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from grading_helpers import build_once

ROOT = Path(__file__).resolve().parent.parent
COURSE_PARTS = ("_config.yml", "pyproject.toml", "LICENSE", "binder", "kit", "grader",
                "solutions", "exercises", "book")
_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "results",
                                  "_static", "_extra")


def _publish(folder: Path) -> Path:
    out = folder / "edition"
    proc = subprocess.run([sys.executable, "-m", "grader", "publish", "student", str(out),
                           "--no-release-check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def published_edition(tmp_path_factory) -> Path:
    """The student edition of this repository (do not modify it: copy it first)."""
    return build_once(tmp_path_factory, "student-edition", _publish)


def copy_course(dest: Path) -> Path:
    """A copy of what publishing reads from this repository, at ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COURSE_PARTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORED)
        else:
            shutil.copy2(source, dest / name)
    return dest
