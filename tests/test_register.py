"""Registration without touching exercises/, and the release's locked-cell flags."""
from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from grader.cli import main
from grader.release import ReleaseError, utc_time

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def test_register_leaves_exercises_alone(tmp_path, capsys):
    course = tmp_path / "course"
    shutil.copytree(ROOT / "solutions" / A, course / "solutions" / A)
    shutil.copytree(ROOT / "exercises" / A, course / "exercises" / A)
    shutil.copyfile(ROOT / "nbgrader_config.py", course / "nbgrader_config.py")
    before = _tree(course / "exercises")

    code = main(["register", A, "--course", str(course), "--duedate", "2026-03-01 23:59:00 +08:00"])
    assert code == 0, capsys.readouterr()
    assert _tree(course / "exercises") == before
    assert sorted(p.name for p in course.iterdir()) == ["exercises", "gradebook.db",
                                                         "nbgrader_config.py", "solutions"]
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        assignment = gb.find_assignment(A)
        assert [nb.name for nb in assignment.notebooks] == [A]
        assert assignment.max_score == 11
        assert assignment.duedate.isoformat() == "2026-03-01T15:59:00"  # stored in UTC

    assert main(["register", "no_such_assignment", "--course", str(course)]) == 2


def test_due_dates_need_a_zone():
    assert utc_time("2026-03-01 23:59:00 Asia/Shanghai") == "2026-03-01 15:59:00 UTC"
    assert utc_time("2026-03-01T23:59:00Z") == "2026-03-01 23:59:00 UTC"
    assert utc_time("2026-03-01 12:00:00 UTC") == "2026-03-01 12:00:00 UTC"
    with pytest.raises(ReleaseError, match="no zone"):
        utc_time("2026-03-01 23:59")
    with pytest.raises(ReleaseError, match="cannot read"):
        utc_time("next friday-ish")


def test_release_carries_locked_cell_flags():
    for path in sorted((ROOT / "exercises").glob("*/*.ipynb")):
        locked = [c for c in nbformat.read(path, as_version=4).cells
                  if c.metadata.get("nbgrader", {}).get("locked")]
        assert locked, path
        for cell in locked:
            assert cell.metadata.get("editable") is False, (path.name, cell.id)
            assert cell.metadata.get("deletable") is False, (path.name, cell.id)
