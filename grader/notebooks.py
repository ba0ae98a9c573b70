"""Notebooks are reviewed as code: this module puts them in their one canonical form.

Canonical means: nbformat 4.5; no outputs or execution counts; cell ids that come from
the nbgrader ``grade_id`` when there is one and from the cell's position otherwise (so
they never change from one save to the next); cell metadata reduced to ``nbgrader`` and
``tags``, plus the read-only flags nbgrader's ``LockCells`` sets on locked cells
(``editable``/``deletable`` false, which Jupyter honours); notebook metadata reduced to the
kernel spec; JSON written with sorted keys, one-space indent and a final newline.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
KEPT_CELL_METADATA = ("nbgrader", "tags")
# Kept only when false: that is how nbgrader's LockCells marks a released cell read-only.
LOCK_FLAGS = ("editable", "deletable")


def normalise(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the canonical form of ``nb`` (a new object; ``nb`` is left as it was)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    nb.nbformat, nb.nbformat_minor = 4, 5
    nb.metadata = nbformat.from_dict({"kernelspec": KERNELSPEC,
                                      "language_info": {"name": "python"}})
    counts: dict[str, int] = {}
    for cell in nb.cells:
        kept = {k: cell.metadata[k] for k in KEPT_CELL_METADATA if k in cell.metadata}
        kept.update({k: False for k in LOCK_FLAGS if cell.metadata.get(k) is False})
        cell.metadata = nbformat.from_dict(kept)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id:
            cell.id = grade_id
        else:
            counts[cell.cell_type] = counts.get(cell.cell_type, 0) + 1
            cell.id = f"{cell.cell_type}-{counts[cell.cell_type]}"
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if not cell.get("attachments"):
                cell.pop("attachments", None)
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    """Serialise deterministically."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, with an error that names the file when it is not one."""
    try:
        return nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise ValueError(f"{path}: not a readable Jupyter notebook ({exc})") from exc


def is_canonical(path: Path) -> bool:
    return Path(path).read_text(encoding="utf-8") == dumps(normalise(read(path)))


def write_canonical(path: Path) -> bool:
    """Rewrite ``path`` in canonical form; return True when it changed."""
    canonical = dumps(normalise(read(path)))
    if Path(path).read_text(encoding="utf-8") == canonical:
        return False
    Path(path).write_text(canonical, encoding="utf-8")
    return True
