"""The student kit: the only part of ``grader`` that leaves the instructor's machine.

It is what students install, what the student bundle ships and exactly what a grading
sandbox mounts for a student's kernel: the notebooks' test helpers (``grader.checks``, with
their messages in English and Chinese: ``grader.i18n``), the gradient checker
(``grader.gradcheck``), the self-check command (``python -m grader check``) and the small data
the exercises train on (``grader.exercise_data``).  No reference implementation, no hidden
test, no grading code.  The list is an allow-list, declared once here; everything that ships
the kit reads it.

How it is packaged lives in ``kit/`` (:data:`PACKAGING`): ``kit/pyproject.toml`` (name and
dependencies, the only list of them) and ``kit/kit_backend.py``, a build backend that makes
the wheel from this list with the standard library alone, so that ``pip install ./kit`` and
``pip install "git+<repository>#subdirectory=kit"`` (:func:`pip_requirement`) both work.
This module must keep importing nothing but the standard library at its top: the backend
loads it on its own, inside pip's build environment.
"""
from __future__ import annotations

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

KIT_MODULES = (
    "grader/__init__.py",
    "grader/__main__.py",  # so that `python -m grader check` works
    "grader/checks.py",
    "grader/i18n.py",      # the messages' language, and the Chinese catalogue it reads
    "grader/i18n_zh.py",
    "grader/gradcheck.py",
    "grader/notebooks.py",
    "grader/cli/__init__.py",
    "grader/cli/check.py",
    "grader/grading/selfcheck.py",
    # The data exercise 4 trains on, so that every environment reads the same words.
    "grader/exercise_data.py",
    "grader/excerpts/ptb.train.first-45-lines.txt",
)
# Written rather than copied: the course's grader/grading/__init__.py belongs to the
# instructor-side package and may import grading code that is not shipped.
GRADING_INIT = '"""Student subset of grader.grading: only the self-check (selfcheck.py)."""\n'
GENERATED = {"grader/grading/__init__.py": GRADING_INIT}
# What makes the kit installable; the student bundle ships these beside its grader/.
PACKAGING = ("kit/pyproject.toml", "kit/kit_backend.py")


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


def repository_url(root: Path = ROOT) -> str:
    """The student edition's repository (``student_edition.url`` of ``_config.yml``), which
    holds the kit students install: the instructor's repository may be private."""
    from grader.edition.config import student_edition

    return student_edition(root).url


def pip_requirement(root: Path = ROOT) -> str:
    """What students give ``pip install`` to get the kit from the student edition."""
    from grader.edition.config import student_edition

    return student_edition(root).pip_requirement()


def build_wheel(dest: Path, root: Path = ROOT) -> Path:
    """Build the kit's wheel into ``dest`` in this process (what pip does through the backend)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_rnns_kit_backend",
                                                  root / "kit" / "kit_backend.py")
    backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend)
    return Path(dest) / backend.build_wheel(str(dest))


# The opening lines of every exercise's first code cell (grade_id "setup"), generated from
# the student edition's address: they find the kit, install it in Colab, and otherwise say in one
# sentence how to install it, before any test helper is imported.  The cell is locked (the
# grading sandbox runs the instructor's copy, where the kit is importable and there is no
# network), so it installs nothing unless it runs in Colab.
SETUP_PREAMBLE = '''\
# The tests use the course kit (the Python package `grader`); in Colab this cell installs it.
import importlib.util
import sys

KIT = "{requirement}"
if importlib.util.find_spec("grader") is None and "google.colab" in sys.modules:
    import subprocess

    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", KIT])
    importlib.invalidate_caches()
if importlib.util.find_spec("grader") is None:
    raise ModuleNotFoundError(
        f'The course kit is not installed in this kernel: run  %pip install "{{KIT}}"  in a '
        "new cell (or pip install it in a terminal), then restart the kernel.")
'''
SETUP_ID = "setup"


def setup_preamble(root: Path = ROOT) -> str:
    """The block that opens each exercise's set-up cell, for this repository's URL."""
    return SETUP_PREAMBLE.format(requirement=pip_requirement(root))


def with_preamble(source: str, root: Path = ROOT) -> str:
    """``source`` (a set-up cell) opened by the current preamble, replacing an older one.

    An older preamble is recognised by the template's first and last lines.
    """
    first, last = SETUP_PREAMBLE.splitlines()[0], SETUP_PREAMBLE.splitlines()[-1]
    if source.startswith(first + "\n") and last in source:
        source = source[source.index(last) + len(last):]
    return setup_preamble(root) + "\n" + source.lstrip("\n")


def sync_setup_cells(root: Path = ROOT) -> list[Path]:
    """Give every source notebook's set-up cell the current preamble; return those changed.

    Touches only the cell whose grade_id is ``setup`` (read, change, write back at once);
    run ``python -m grader nbfmt`` and ``python -m grader release`` afterwards.
    """
    import nbformat

    changed = []
    for path in sorted((root / "solutions").glob("*/*.ipynb")):
        nb = nbformat.read(str(path), as_version=4)
        cells = [c for c in nb.cells
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == SETUP_ID]
        if len(cells) != 1:
            raise ValueError(f"{path}: expected one cell with grade_id {SETUP_ID!r}, "
                             f"found {len(cells)}")
        new = with_preamble(cells[0].source, root)
        if new != cells[0].source:
            cells[0].source = new
            nbformat.write(nb, str(path))
            changed.append(path)
    return changed
