"""exercises/ is generated from solutions/ by nbgrader, and kept in sync."""
import shutil
from pathlib import Path

import nbformat
import pytest

from grader import leaks, notebooks
from grader.release import ReleaseError, assignments, release

ROOT = Path(__file__).resolve().parent.parent


def _copy_course(tmp_path: Path) -> Path:
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copyfile(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    return tmp_path


def test_every_chapter_has_an_assignment():
    names = assignments()
    assert "01_rnn_by_hand" in names
    assert all((ROOT / "exercises" / n).is_dir() for n in names)


def test_exercises_are_in_sync_with_solutions():
    problems = release(check=True)
    assert problems == [], "run `python -m grader release`: " + ", ".join(problems)


def test_check_detects_a_hand_edited_exercise(tmp_path):
    root = _copy_course(tmp_path)
    target = root / "exercises" / "01_rnn_by_hand" / "01_rnn_by_hand.ipynb"
    nb = nbformat.read(target, as_version=4)
    nb.cells[0].source += "\nedited by hand"
    target.write_text(notebooks.dumps(nb))
    assert release(["01_rnn_by_hand"], check=True, root=root) == [
        "exercises/01_rnn_by_hand/01_rnn_by_hand.ipynb"]
    release(["01_rnn_by_hand"], root=root)  # regenerating repairs it
    assert release(["01_rnn_by_hand"], check=True, root=root) == []


def test_a_source_with_outputs_is_refused(tmp_path):
    root = _copy_course(tmp_path)
    source = root / "solutions" / "01_rnn_by_hand" / "01_rnn_by_hand.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", text="hello")]
    nbformat.write(nb, source)
    with pytest.raises(ReleaseError, match="not canonical"):
        release(["01_rnn_by_hand"], check=True, root=root)


def test_released_notebooks_hold_no_solution_text():
    for name in assignments():
        secrets = leaks.secret_lines(sorted((ROOT / "solutions" / name).glob("*.ipynb")))
        assert secrets, f"{name}: no solution or hidden-test lines found (markers missing?)"
        for path in (ROOT / "exercises" / name).glob("*.ipynb"):
            assert leaks.find_leaks(path.read_text(), secrets) == []
            assert "NotImplementedError" in path.read_text()


def test_leak_audit_catches_a_solution_line():
    secrets = leaks.secret_lines([ROOT / "solutions/01_rnn_by_hand/01_rnn_by_hand.ipynb"])
    line = "before_activation = np.dot(h_prev, W_state) + input_term + b_cell"
    assert line in secrets
    assert leaks.find_leaks(f"<pre>{line.replace('>', '&gt;')}</pre>", secrets) == [line]
    assert leaks.find_leaks("### BEGIN HIDDEN TESTS", set()) == ["BEGIN HIDDEN TESTS"]


def test_notebooks_are_canonical():
    paths = sorted((ROOT / "solutions").rglob("*.ipynb")) + sorted((ROOT / "exercises").rglob("*.ipynb"))
    bad = [str(p.relative_to(ROOT)) for p in paths if not notebooks.is_canonical(p)]
    assert bad == [], "run `python -m grader nbfmt`"


def test_cell_ids_are_deterministic():
    nb = notebooks.normalise(notebooks.read(ROOT / "solutions/01_rnn_by_hand/01_rnn_by_hand.ipynb"))
    ids = [c.id for c in nb.cells]
    assert len(set(ids)) == len(ids)
    assert "q3-rnn-cell" in ids
