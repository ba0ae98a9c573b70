"""What the student edition holds, declared as data.

:data:`PARTS` lists the edition's parts in the order its README describes them; each is a
function of the instructor's tree that returns the files it contributes (edition path ->
:class:`EditionFile`).  Adding to the edition is adding a part, or a file where a part
already looks:

* a data file an exercise reads goes into the kit (``grader/kit.py``'s allow-list, which
  JupyterLite, Colab, Binder and the grading sandbox all install), or beside the exercise
  in ``solutions/<assignment>/``, which nbgrader's release copies into
  ``exercises/<assignment>/`` and this edition then carries;
* another notebook of an assignment that nbgrader releases beside the first is published
  with it: the edition takes every file of each released assignment folder;
* the Chinese edition's notebooks (``zh/exercises/<a>/<a>.zh.ipynb``, written by ``python -m
  grader zh release``) are published beside their English twins,
  ``exercises/<a>/<a>.zh.ipynb``: where the Chinese site's launch buttons open them on Colab
  and Binder, and where they read the same data files.

Nothing here selects by "everything but ...": each part names what it takes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from grader.edition.config import ROOT
from grader.kit import PACKAGING, kit_files

SKIPPED_NAMES = {".ipynb_checkpoints", "__pycache__", ".DS_Store"}
GITIGNORE = """\
# Made while you work; never part of the course.
.ipynb_checkpoints/
__pycache__/
*.egg-info/
build/
.venv/
"""


@dataclass(frozen=True)
class EditionFile:
    data: bytes
    executable: bool = False


Files = dict[str, EditionFile]


def _read(path: Path) -> EditionFile:
    return EditionFile(path.read_bytes(), executable=bool(path.stat().st_mode & 0o111))


def released_exercises(root: Path) -> Files:
    """Every file of every released assignment folder, ``exercises/<assignment>/**``."""
    base = Path(root) / "exercises"
    files = {}
    for folder in sorted(p for p in base.iterdir() if p.is_dir()):
        if not (folder / f"{folder.name}.ipynb").is_file():
            continue
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not SKIPPED_NAMES.intersection(path.relative_to(base).parts):
                files[path.relative_to(root).as_posix()] = _read(path)
    return files


def chinese_exercises(root: Path) -> Files:
    """``exercises/<a>/<a>.zh.ipynb``: each released assignment's Chinese notebook, from
    ``zh/exercises/`` (the audit checks that it is its English twin's code, cell for cell)."""
    from grader.translate.exercises import zh_name, zh_path

    files = {}
    for folder in sorted(p for p in (Path(root) / "exercises").iterdir() if p.is_dir()):
        source = zh_path(folder.name, Path(root))
        if (folder / f"{folder.name}.ipynb").is_file() and source.is_file():
            files[f"exercises/{folder.name}/{zh_name(folder.name)}"] = _read(source)
    return files


def kit(root: Path) -> Files:
    """``kit/``: the kit's packaging beside its ``grader/`` package, already reduced to the
    kit, so that ``pip install ./kit`` (and pip from the repository's URL) builds it alone."""
    files = {f"kit/{Path(name).name}": _read(Path(root) / name) for name in PACKAGING}
    files.update({f"kit/{name}": EditionFile(data) for name, data in kit_files(root).items()})
    return files


def binder(root: Path) -> Files:
    """``binder/``: Binder's environment, as the instructor's repository writes it."""
    return {path.relative_to(root).as_posix(): _read(path)
            for path in sorted((Path(root) / "binder").iterdir()) if path.is_file()}


def readme(root: Path) -> Files:
    from grader.edition.readme import student_readme

    return {"README.md": EditionFile(student_readme(root).encode("utf-8"))}


def licence(root: Path) -> Files:
    return {"LICENSE": _read(Path(root) / "LICENSE")}


def gitignore(root: Path) -> Files:
    return {".gitignore": EditionFile(GITIGNORE.encode("utf-8"))}


@dataclass(frozen=True)
class Part:
    path: str
    holds: str
    files: Callable[[Path], Files]


PARTS: tuple[Part, ...] = (
    Part("exercises/", "the exercise notebooks, one folder per chapter, exactly as on the site",
         released_exercises),
    Part("exercises/*/*.zh.ipynb", "each exercise notebook in Chinese (中文版): the same code, "
         "tests and points, its text and test messages in Chinese", chinese_exercises),
    Part("kit/", "the course kit: the notebooks' test helpers (`grader.checks`), the gradient "
                 "checker, the self-check `python -m grader check` and the small data the "
                 "exercises read; `pip install ./kit` installs it", kit),
    Part("binder/", "Binder's environment (NumPy, JupyterLab, then the kit)", binder),
    Part("README.md", "this page", readme),
    Part("LICENSE", "the licence", licence),
    Part(".gitignore", "files your work creates that are not part of the course", gitignore),
)


def contents(root: Path = ROOT) -> Files:
    """Edition path -> file, for every part, sorted."""
    files: Files = {}
    for part in PARTS:
        for name, item in part.files(Path(root)).items():
            if name in files:
                raise ValueError(f"{name} is written by two parts of the student edition")
            files[name] = item
    return dict(sorted(files.items()))
