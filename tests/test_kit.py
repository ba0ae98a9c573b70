"""The student kit: one pip command, Python 3.11-3.13, nothing of the course's environment.

A fresh Python 3.13 virtual environment gets ``pip install ./kit`` run in the published
student edition (``python -m grader publish student``), as a student with a clone of it
would, and nothing else: a real pip build, in place, through the edition's
``kit/kit_backend.py``.  Its ``python -m grader check`` must pass every exercise with the
solutions' answers filled in, and report each question of every notebook of the edition,
blank, as not attempted.  Another fresh 3.13 environment, with the kit's
dependencies but not the kit, shows what a student without the kit sees, and that the
exercises' first cell installs the kit in Colab.

The environments are made once per test run (shared by the xdist workers through a lock).
pip keeps no HTTP cache on these machines, so the kit's dependencies are kept as wheels in
``.cache/kit-wheelhouse/`` and installed from there (``--no-index``); a fresh clone (CI)
downloads them from the registry first.  Without Python 3.13 the tests are skipped, except
on CI (``CI`` set), where they fail: ``.ci/run`` points ``RNNS_KIT_PYTHON`` at pyenv's 3.13.
"""
from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from edition_helpers import published_edition
from student_helpers import ASSIGNMENTS, exercise_path, filled_exercise

from grader import kit
from grader.grading import selfcheck

ROOT = Path(__file__).resolve().parent.parent
VERSION = "3.13"
WHEELHOUSE = ROOT / ".cache" / "kit-wheelhouse" / f"cp{VERSION.replace('.', '')}"
NOT_IN_THE_KIT = {"nbgrader", "jupyter-book", "scikit-learn", "matplotlib", "hmmlearn",
                  "rnns-from-scratch-grader", "torch"}


PRINT_VERSION = "import sys; print('%d.%d' % sys.version_info[:2])"


def find_python(version: str = VERSION) -> str | None:
    """An interpreter that really is Python ``version`` (pyenv's shims answer only when the
    version is selected, so ``python3.13`` on PATH may exist and still fail)."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates = [os.environ.get("RNNS_KIT_PYTHON"), shutil.which(f"python{version}"),
                  *sorted(map(str, pyenv.glob(f"versions/{version}*/bin/python{version}")),
                          reverse=True)]
    for candidate in filter(None, candidates):
        proc = subprocess.run([candidate, "-c", PRINT_VERSION], capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip() == version:
            return candidate
    return None


def _clean_env(venv: Path) -> dict[str, str]:
    """The environment of a student's shell with ``venv`` activated: nothing of ours."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "JUPYTER", "VIRTUAL_ENV", "PYENV_VERSION"))}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["VIRTUAL_ENV"] = str(venv)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run(args: list, venv: Path, timeout: float = 900, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, env=_clean_env(venv), **kwargs)


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _pip_from_wheelhouse(venv: Path, *requirements: str, cwd: Path | None = None) -> None:
    """pip install ``requirements`` (run in ``cwd``) from the wheelhouse, filling it from the
    registry once."""
    pip = [venv / "bin" / "python", "-m", "pip", "install", "--quiet"]
    local = [*pip, "--no-index", "--find-links", WHEELHOUSE, *requirements]
    with _locked(WHEELHOUSE.parent / f"{WHEELHOUSE.name}.lock"):
        if WHEELHOUSE.is_dir() and _run(local, venv, cwd=cwd).returncode == 0:
            return
        fill = _run([venv / "bin" / "python", "-m", "pip", "wheel", "--quiet",
                     "--wheel-dir", WHEELHOUSE, *requirements], venv, cwd=cwd)
        assert fill.returncode == 0, fill.stderr[-3000:]
        for built in WHEELHOUSE.glob("rnns_from_scratch_kit-*.whl"):
            built.unlink()  # the kit itself is always built from the working tree
    proc = _run(local, venv, cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]


def _fresh_venv(tmp_path_factory, name: str, *requirements: str, cwd: Path | None = None) -> Path:
    python = find_python()
    if python is None:
        message = f"no Python {VERSION} here (pyenv's versions/{VERSION}*/bin, or RNNS_KIT_PYTHON)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # this run's folder, shared by its workers
    venv = base / name
    with _locked(base / f"{name}.lock"):
        if not (venv / ".ready").exists():
            shutil.rmtree(venv, ignore_errors=True)
            proc = subprocess.run([python, "-m", "venv", str(venv)], capture_output=True, text=True)
            assert proc.returncode == 0, proc.stderr
            _pip_from_wheelhouse(venv, *requirements, cwd=cwd)
            (venv / ".ready").touch()
    return venv


@pytest.fixture(scope="session")
def edition(tmp_path_factory) -> Path:
    """The published student edition (read only)."""
    return published_edition(tmp_path_factory)


@pytest.fixture(scope="session")
def kit_venv(tmp_path_factory, edition) -> Path:
    """Python 3.13 with ``pip install ./kit``, run in the student edition, and nothing else."""
    return _fresh_venv(tmp_path_factory, "kit-venv", "./kit", cwd=edition)


@pytest.fixture(scope="session")
def no_kit_venv(tmp_path_factory) -> Path:
    """Python 3.13 with the kit's dependencies but not the kit (the test installs it)."""
    project = tomllib.loads((ROOT / "kit" / "pyproject.toml").read_text())["project"]
    return _fresh_venv(tmp_path_factory, "no-kit-venv", *project["dependencies"])


# ------------------------------------------------------------------------------------------
# what the kit is

def _wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def test_the_wheel_holds_the_kit_and_declares_only_its_dependencies(tmp_path):
    wheel = kit.build_wheel(tmp_path / "a")
    assert wheel.name == f"rnns_from_scratch_kit-{kit_version()}-py3-none-any.whl"
    files = _wheel_files(wheel)
    code = {n: d for n, d in files.items() if not n.split("/")[0].endswith(".dist-info")}
    assert code == kit.kit_files()
    assert not any("reference" in n or "release" in n for n in code)
    metadata = next(d for n, d in files.items() if n.endswith("/METADATA")).decode()
    requires = [line.split(": ", 1)[1] for line in metadata.splitlines()
                if line.startswith("Requires-Dist: ") and "extra ==" not in line]
    assert [re.split(r"[<>=!~ ]", r)[0] for r in requires] == [
        "numpy", "nbformat", "nbclient", "ipykernel"]
    assert "Requires-Python: >=3.11" in metadata.splitlines()
    # RECORD lists every other file with its hash, and the build is reproducible
    record = next(d for n, d in files.items() if n.endswith("/RECORD")).decode()
    assert {line.split(",")[0] for line in record.splitlines()} == set(files)
    assert kit.build_wheel(tmp_path / "b").read_bytes() == wheel.read_bytes()


def kit_version() -> str:
    from grader import __version__
    return __version__


def test_the_sdist_builds_the_same_wheel(tmp_path):
    """An sdist carries grader/ already reduced to the kit, and builds the same package."""
    sys.path.insert(0, str(ROOT / "kit"))
    try:
        import kit_backend
        sdist = tmp_path / kit_backend.build_sdist(str(tmp_path))
    finally:
        sys.path.remove(str(ROOT / "kit"))
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    (top,) = (tmp_path / "unpacked").iterdir()
    assert "grader/reference" not in {p.relative_to(top).parent.as_posix() for p in top.rglob("*")}
    proc = subprocess.run([sys.executable, "-c", "import kit_backend, sys; "
                           "print(kit_backend.build_wheel(sys.argv[1]))", str(tmp_path / "w")],
                          cwd=top, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    from_sdist = _wheel_files(tmp_path / "w" / proc.stdout.strip())
    assert from_sdist == _wheel_files(kit.build_wheel(tmp_path / "repo"))


def test_one_repository_url_for_notebooks_and_readme():
    """The exercises' first cell and the README install the kit from the student edition of
    _config.yml, never from the instructor's repository."""
    from grader.edition.config import instructor_repository, student_edition

    edition = student_edition()
    requirement = kit.pip_requirement()
    assert requirement == f"git+{edition.url}@{edition.branch}#subdirectory=kit"
    assert kit.repository_url() == edition.url != instructor_repository()
    preamble = kit.setup_preamble()
    assert f'KIT = "{requirement}"' in preamble
    for folder in ("solutions", "exercises"):
        for assignment in ASSIGNMENTS:
            nb = nbformat.read(ROOT / folder / assignment / f"{assignment}.ipynb", as_version=4)
            code = [c for c in nb.cells if c.cell_type == "code"]
            assert code[0].metadata["nbgrader"]["grade_id"] == kit.SETUP_ID
            assert code[0].source.startswith(preamble), (
                f"{folder}/{assignment}: its first cell lacks the current kit preamble: run "
                "`python -m grader kit sync-notebooks`, then `nbfmt` and `release`")
    assert f'pip install "{requirement}"' in (ROOT / "README.md").read_text()


# ------------------------------------------------------------------------------------------
# a student's Python 3.13 with only the kit

def test_only_the_kit_is_installed(kit_venv, edition):
    python = kit_venv / "bin" / "python"
    listed = _run([python, "-m", "pip", "list", "--format", "json"], kit_venv)
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "rnns-from-scratch-kit" in names and not names & NOT_IN_THE_KIT
    assert _run([python, "-m", "pip", "check"], kit_venv).returncode == 0
    probe = _run([python, "-c", "import sys, grader, grader.checks\n"
                  "print(sys.version_info[:2] == (3, 13), grader.__file__)\n"
                  "try:\n import grader.reference\nexcept ImportError:\n print('no reference')"],
                 kit_venv, cwd=kit_venv)
    ok, location, *rest = probe.stdout.strip().split(maxsplit=2)
    assert ok == "True" and rest == ["no reference"], probe.stdout + probe.stderr
    assert Path(location).is_relative_to(kit_venv / "lib")
    # pip built it in place from the edition's kit/: no build folder or metadata left there
    assert sorted(p.name for p in (edition / "kit").iterdir()) == [
        "grader", "kit_backend.py", "pyproject.toml"]


# a blank question as the self-check lists it, in the notebook's language
TODO_EN = r"^\S+\s+\d+ pts?\s+TODO\s+not attempted yet$"
TODO_ZH = r"^\S+\s+\d+ 分\s+待做\s+还没有作答$"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_an_exercise_in_a_kit_only_environment(kit_venv, edition, assignment, tmp_path):
    """The edition's exercise with answers filled in: exit 0, every question passes; each
    notebook of the edition's assignment folder, blank: exit 1, one TODO per question."""
    python = kit_venv / "bin" / "python"
    done = tmp_path / "done"
    done.mkdir()
    released = edition / "exercises" / assignment / f"{assignment}.ipynb"
    assert released.read_bytes() == exercise_path(assignment).read_bytes()
    notebook = filled_exercise(assignment, done / f"{assignment}.ipynb", released)
    proc = _run([python, "-m", "grader", "check", notebook, "--json"], kit_venv, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    assert result["ok"] and result["warnings"] == []
    assert result["passed"] == result["questions_total"] > 0
    assert Path(result["checks_module"]).is_relative_to(kit_venv / "lib")

    blank = tmp_path / "blank"
    blank.mkdir()
    notebooks = sorted((edition / "exercises" / assignment).glob("*.ipynb"))
    assert released in notebooks
    for original in notebooks:  # every language of the exercise
        shutil.copy(original, blank)
        proc = _run([python, "-m", "grader", "check", blank / original.name], kit_venv,
                    cwd=tmp_path)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        tests = [c for c in nbformat.read(original, as_version=4).cells
                 if selfcheck.is_test_cell(c)]
        todo = [line for line in proc.stdout.splitlines()
                if re.match(TODO_ZH if original.name.endswith(".zh.ipynb") else TODO_EN, line)]
        assert tests and [line.split()[0] for line in todo] == [
            c.metadata.nbgrader.grade_id for c in tests], proc.stdout
        assert "WARNING" not in proc.stdout


# ------------------------------------------------------------------------------------------
# a student without the kit, and Colab

def test_without_the_kit_one_sentence_then_colab_installs_it(no_kit_venv, edition, tmp_path,
                                                            monkeypatch):
    python = no_kit_venv / "bin" / "python"
    assert _run([python, "-c", "import grader"], no_kit_venv, cwd=tmp_path).returncode == 1

    # Jupyter with a kernel that lacks the kit: the first cell says how to install it, and
    # the self-check reports that once instead of a NameError per question.
    kernels = tmp_path / "jupyter" / "kernels" / "no-kit"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "no kit", "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    notebook = filled_exercise(ASSIGNMENTS[0], tmp_path / f"{ASSIGNMENTS[0]}.ipynb")
    result = selfcheck.check_notebook(notebook, timeout=60, kernel_name="no-kit")
    assert not result.ok
    assert {q.status for q in result.questions} == {selfcheck.NOT_RUN}
    assert not any("NameError" in q.message for q in result.questions)
    sentence = next(w for w in result.warnings if w.startswith("setup raised"))
    assert sentence == (f"setup raised ModuleNotFoundError: The course kit is not installed in "
                        f'this kernel: run  %pip install "{kit.pip_requirement()}"  in a new '
                        "cell (or pip install it in a terminal), then restart the kernel.")
    assert _run([python, "-c", "import grader"], no_kit_venv, cwd=tmp_path).returncode == 1

    # Colab (google.colab imported): the same cell installs the kit, here from the published
    # edition's kit/ instead of its URL, and the rest of the cell imports it at once.
    setup = next(c.source for c in nbformat.read(exercise_path(ASSIGNMENTS[0]), as_version=4).cells
                 if c.cell_type == "code")
    assert setup.count(kit.pip_requirement()) == 1
    script = ("import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"
              + setup.replace(kit.pip_requirement(), str(edition / "kit"))
              + "\nprint(check_close.__module__, sys.modules['grader'].__file__)\n")
    proc = _run([python, "-c", script], no_kit_venv, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    module, location = proc.stdout.split()
    assert module == "grader.checks" and Path(location).is_relative_to(no_kit_venv / "lib")


def test_every_data_file_of_the_package_is_installed():
    """A file of ``grader/`` that is not Python reaches a non-editable install (``pip install
    .``, a wheel: Gradescope's, a Dask worker's) only through pyproject's package-data; a
    missing glob breaks grading there and nowhere else (the PTB excerpt did)."""
    import fnmatch

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(["git", "ls-files", "grader"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    missing = []
    for name in tracked:
        if name.endswith(".py") or "/__pycache__/" in name:
            continue
        covered = False
        for package, patterns in globs.items():
            prefix = package.replace(".", "/") + "/"
            if name.startswith(prefix) and any(
                    fnmatch.fnmatch(name[len(prefix):], p) for p in patterns):
                covered = True
        if not covered:
            missing.append(name)
    assert missing == [], f"not in [tool.setuptools.package-data]: {missing}"
