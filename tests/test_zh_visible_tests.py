"""Visible tests speak the notebook's language in Jupyter itself, not only under grading.

A visible test's ``assert cond, "..."`` shows its message in English in Jupyter even in a
Chinese notebook (grading and ``grader check`` translate it afterwards, a student running the
cell does not get that far): the test cells raise ``CheckFailure`` (or call a helper), whose
message goes through :mod:`grader.i18n` in the kernel.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def assignments() -> list[str]:
    return sorted(p.name for p in (ROOT / "solutions").iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def _visible_part(source: str) -> str:
    return source.split("### BEGIN HIDDEN TESTS")[0]


@pytest.mark.parametrize("assignment", assignments())
def test_visible_tests_raise_their_messages_through_the_kit(assignment):
    """A visible test's ``assert cond, "..."`` would show its message in English in Jupyter,
    even in a Chinese notebook (only grading and ``grader check`` translate it afterwards):
    the visible tests raise ``CheckFailure`` (or call a helper), whose message is translated
    in the kernel itself."""
    import nbformat

    found = []
    path = ROOT / "solutions" / assignment / f"{assignment}.ipynb"
    for cell in nbformat.read(str(path), as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not meta.get("grade"):
            continue
        for node in ast.walk(ast.parse(_visible_part(cell.source))):
            if isinstance(node, ast.Assert) and node.msg is not None:
                found.append(f"{meta['grade_id']} line {node.lineno}: {ast.unparse(node)[:70]}")
    assert found == []


def test_a_visible_test_fails_in_chinese_in_the_notebooks_own_kernel(tmp_path):
    """Run in a kernel as Jupyter runs it (nbclient; no grader check, no grading), the Chinese
    notebook's visible test of chapter 3 fails with its message in Chinese."""
    import nbformat
    from nbclient import NotebookClient
    from student_helpers import answered, solution_answers

    from grader.translate import exercises

    a = "03_embeddings"
    answers = solution_answers(a)
    answers["q9-predict-save"] = answers["q9-predict-save"].replace(
        "    np.savez(path, **params)", "    pass   # forgot to write the file")
    notebook = answered(tmp_path / f"{a}.zh.ipynb", answers, exercises.zh_path(a))
    nb = nbformat.read(str(notebook), as_version=4)
    last = next(i for i, c in enumerate(nb.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == "q9-tests")
    nb.cells = nb.cells[:last + 1]
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.output_type == "error"]
    assert len(errors) == 1, [(e.ename, e.evalue[:80]) for e in errors]
    assert errors[0].ename == "CheckFailure"
    assert errors[0].evalue.startswith("save_params 没有写出 ") and errors[0].evalue.endswith("shift.npz")
