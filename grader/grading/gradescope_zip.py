"""Building a Gradescope autograder zip for one assignment (``python -m grader gradescope``).

The zip holds, at its root (Gradescope extracts it into ``/autograder/source``):

``setup.sh``, ``run_autograder``   the two scripts Gradescope runs (``templates/gradescope/``)
``requirements.txt``              the pinned grading requirements: the packages the grader
                                  needs to grade (nbgrader, nbclient, ipykernel, NumPy, the
                                  reference's dependencies, and everything they need), each at
                                  its version in ``requirements.lock``
``wheels/``                       the grader itself, as a wheel built from this repository
``course/``                       the course's ``nbgrader_config.py``, the instructor's
                                  notebook of the assignment (the canary; the questions'
                                  names) and a gradebook in which the assignment is registered
                                  (its cells and points, what ``python -m grader register``
                                  writes; the due date if one is given)
``gradescope.json``               the assignment, the tests' visibility and this run's
                                  settings (:mod:`grader.grading.gradescope` applies them)

Nothing in it is for students: it holds the solutions and the hidden tests, and Gradescope
keeps it to the instructors.  Students' kernels never read it (``setup.sh`` and ``run``
make it unreadable to their uids, and the container sandbox checks).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from grader.release import ROOT, ReleaseError, run_generate_assignment, utc_time

TEMPLATES = Path(__file__).resolve().parent / "templates" / "gradescope"
# what the grader imports to grade (the closure of their requirements is added)
GRADING_ROOTS = ("nbgrader", "nbclient", "nbformat", "ipykernel", "jupyter-client", "pyzmq",
                 "numpy", "matplotlib", "scikit-learn", "tqdm", "threadpoolctl", "zhconv",
                 "pypinyin", "jsonschema", "python-dateutil")


def _canon(name: str) -> str:
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


def lock_pins(lock: Path) -> dict[str, str]:
    """name -> the line of ``requirements.lock`` that pins it."""
    pins = {}
    for line in lock.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "-")) and "==" in line:
            pins[_canon(line.split("==", 1)[0].split("[")[0])] = line
    return pins


def grading_requirements(lock: Path = ROOT / "requirements.lock") -> list[str]:
    """The pinned lines of ``lock`` the grader needs: :data:`GRADING_ROOTS` and every package
    they require, extras included (``jsonschema[format-nongpl]``), read from the installed
    metadata with the markers evaluated for this interpreter."""
    import importlib.metadata as md

    from packaging.requirements import Requirement

    pins = lock_pins(lock)
    seen: set[tuple[str, str]] = set()
    names: set[str] = set()
    todo = [(_canon(n), "") for n in GRADING_ROOTS]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        names.add(name)
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            raise ReleaseError(f"{name} is not installed here: install requirements.lock first "
                               "(make install)") from None
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({"extra": extra}):
                todo.append((_canon(req.name), ""))
                todo += [(_canon(req.name), _canon(e)) for e in req.extras]
    missing = sorted(n for n in names if n not in pins and n not in ("setuptools", "pip"))
    if missing:
        raise ReleaseError(f"not pinned in {lock.name}: {', '.join(missing)}")
    return sorted(pins[n] for n in names if n in pins)


def build_grader_wheel(dest: Path, root: Path = ROOT) -> Path:
    """The grader package as a wheel (``pip wheel`` of this repository, no dependencies)."""
    if not (root / "pyproject.toml").is_file():
        raise ReleaseError(f"{root} is not the course repository (no pyproject.toml): build "
                           "the Gradescope zip from a clone")
    with tempfile.TemporaryDirectory(prefix="rnns-wheel-") as tmp:
        # a copy without build/ or egg-info leftovers, so that the wheel holds exactly grader/
        src = Path(tmp) / "src"
        src.mkdir()
        shutil.copy2(root / "pyproject.toml", src / "pyproject.toml")
        shutil.copytree(root / "grader", src / "grader",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                               "--no-build-isolation", "--quiet", "-w", str(dest), str(src)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise ReleaseError(f"building the grader's wheel failed:\n{proc.stderr[-2000:]}")
    (wheel,) = Path(dest).glob("*.whl")
    return wheel


def register_assignment(course_root: Path, assignment: str, dest: Path,
                        duedate: str | None) -> None:
    """``dest``: nbgrader_config.py, solutions/<assignment>/, and gradebook.db with the
    assignment registered (nbgrader's generate_assignment, release written to scratch)."""
    dest.mkdir(parents=True)
    shutil.copy2(course_root / "nbgrader_config.py", dest / "nbgrader_config.py")
    shutil.copytree(course_root / "solutions" / assignment, dest / "solutions" / assignment,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    with tempfile.TemporaryDirectory(prefix="rnns-gs-release-") as tmp:
        proc = run_generate_assignment(dest, assignment, Path(tmp) / "release",
                                       dest / "gradebook.db")
    if proc.returncode != 0:
        raise ReleaseError(f"registering {assignment} failed:\n{proc.stdout}{proc.stderr}")
    if duedate:
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{dest / 'gradebook.db'}") as gb:
            gb.update_or_create_assignment(assignment, duedate=utc_time(duedate))


def _course_duedate(course_root: Path, assignment: str) -> str | None:
    """The due date registered in the course's own gradebook, if any."""
    db = course_root / "gradebook.db"
    if not db.is_file():
        return None
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(f"sqlite:///{db}") as gb:
        try:
            due = gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None
    return f"{due:%Y-%m-%d %H:%M:%S} UTC" if due else None


def settings(assignment: str, *, visibility: str, cell_timeout: int, notebook_timeout: int,
             memory_mb: int, sandbox: str, canary: bool) -> dict:
    return {"assignment": assignment, "visibility": visibility, "canary": canary,
            "config": {"Sandbox": {"mode": sandbox, "memory_mb": memory_mb},
                       "Execute": {"timeout": cell_timeout},
                       "TrustedExecute": {"notebook_timeout": notebook_timeout}}}


def build(assignment: str, out: Path, *, course_root: Path = ROOT, duedate: str | None = None,
          visibility: str = "visible", cell_timeout: int = 120, notebook_timeout: int = 240,
          memory_mb: int = 1024, sandbox: str = "container", canary: bool = True) -> dict:
    """Write the autograder zip for ``assignment`` to ``out``; returns what it holds."""
    course_root = Path(course_root).resolve()
    if not (course_root / "solutions" / assignment / f"{assignment}.ipynb").is_file():
        raise ReleaseError(f"no solutions/{assignment}/{assignment}.ipynb in {course_root}")
    duedate = duedate or _course_duedate(course_root, assignment)
    with tempfile.TemporaryDirectory(prefix="rnns-gradescope-") as tmp:
        stage = Path(tmp) / "zip"
        (stage / "wheels").mkdir(parents=True)
        wheel = build_grader_wheel(stage / "wheels")
        register_assignment(course_root, assignment, stage / "course", duedate)
        requirements = grading_requirements(course_root / "requirements.lock"
                                            if (course_root / "requirements.lock").is_file()
                                            else ROOT / "requirements.lock")
        (stage / "requirements.txt").write_text(
            "# the grading subset of the course's requirements.lock (python -m grader gradescope)\n"
            + "\n".join(requirements) + "\n", encoding="utf-8")
        info = settings(assignment, visibility=visibility, cell_timeout=cell_timeout,
                        notebook_timeout=notebook_timeout, memory_mb=memory_mb, sandbox=sandbox,
                        canary=canary)
        info["duedate"] = duedate
        (stage / "gradescope.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        for name in ("setup.sh", "run_autograder"):
            shutil.copy2(TEMPLATES / name, stage / name)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        files = sorted(p for p in stage.rglob("*") if p.is_file())
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                rel = path.relative_to(stage).as_posix()
                entry = zipfile.ZipInfo(rel, date_time=(2026, 1, 1, 0, 0, 0))
                entry.compress_type = zipfile.ZIP_DEFLATED
                mode = 0o755 if rel in ("setup.sh", "run_autograder") else 0o644
                entry.external_attr = (0o100000 | mode) << 16
                zf.writestr(entry, path.read_bytes())
        return {"zip": str(out), "bytes": out.stat().st_size, "wheel": wheel.name,
                "requirements": len(requirements), "duedate": duedate,
                "files": [p.relative_to(stage).as_posix() for p in files],
                "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
