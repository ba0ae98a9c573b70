"""The student bundle holds the exercises and the self-check, and nothing of the solutions.

The self-check is run from an unpacked bundle with nothing of this repository importable:
``python -S`` skips site-packages' ``.pth`` files (among them the editable install of this
repository, whose finder would otherwise serve any module the bundle lacks), and
``PYTHONPATH`` holds only the bundle and the plain site-packages folder.  The notebook's
kernel runs the same way, through a kernel spec made for the test.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from student_helpers import filled_exercise

from grader import leaks
from grader.grading import bundle

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"
MODULES = {"grader/__init__.py", "grader/__main__.py", "grader/checks.py", "grader/gradcheck.py",
           "grader/i18n.py", "grader/i18n_zh.py",
           "grader/notebooks.py", "grader/cli/__init__.py", "grader/cli/check.py",
           "grader/grading/__init__.py", "grader/grading/selfcheck.py",
           # the data exercise 4 trains on (grader.exercise_data)
           "grader/exercise_data.py", "grader/excerpts/ptb.train.first-45-lines.txt"}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist") / "student.zip"
    proc = subprocess.run([sys.executable, "-m", "grader", "bundle", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(scope="module")
def unpacked(built, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(built) as zf:
        zf.extractall(target)
    (top,) = target.iterdir()
    return top


def test_only_exercises_and_the_self_check_tool(built):
    with zipfile.ZipFile(built) as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
    exercises = {p.relative_to(ROOT).as_posix() for p in (ROOT / "exercises").rglob("*")
                 if p.is_file() and ".ipynb_checkpoints" not in p.parts}
    assert f"exercises/{A}/{A}.ipynb" in exercises
    assert names == MODULES | exercises | {"README.md", "pyproject.toml", "kit_backend.py"}
    assert not any(n.startswith(("solutions/", "grader/reference")) for n in names)


def test_no_solution_hidden_test_or_marker_in_any_file(built):
    secrets = leaks.secret_lines(sorted((ROOT / "solutions").glob("*/*.ipynb")))
    assert len(secrets) > 20
    with zipfile.ZipFile(built) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            text = data.decode("utf-8")
            assert not any(m in text for m in leaks.MARKERS), name
            # whole lines (notebooks: cell sources and outputs); see bundle.audit for why
            # the shipped modules are not searched for substrings
            assert not secrets.intersection(leaks.text_lines(name, data)), name
            if name.endswith(".ipynb"):
                assert leaks.find_leaks(text, secrets) == [], name


def test_the_audit_refuses_a_leak(tmp_path):
    contents = bundle.bundle_contents()
    secret = sorted(leaks.secret_lines(sorted((ROOT / "solutions").glob("*/*.ipynb"))))[0]
    leaky = dict(contents)
    leaky[f"{bundle.TOP}/grader/checks.py"] += f"\n{secret}\n".encode()
    assert bundle.audit(leaky) and not bundle.audit(contents)
    sneaky = dict(contents)
    sneaky[f"{bundle.TOP}/grader/reference/__init__.py"] = b'"""reference"""\n'
    assert bundle.audit(sneaky)
    del sneaky[f"{bundle.TOP}/grader/gradcheck.py"]
    assert bundle.missing_modules(sneaky)  # chapter 3's notebook imports grader.gradcheck


def test_the_bundle_installs(unpacked, tmp_path):
    """pip builds a wheel of exactly the shipped modules from the bundle's pyproject.toml,
    which is the kit's (kit/): one dependency list for the bundle and the pip-installed kit."""
    kit_pyproject = (ROOT / "kit" / "pyproject.toml").read_bytes()
    assert (unpacked / "pyproject.toml").read_bytes() == kit_pyproject
    source = tmp_path / "src"
    subprocess.run(["cp", "-r", str(unpacked), str(source)], check=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                           "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"),
                           str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert {n for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")} == MODULES
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith("/METADATA"))).decode()
    assert "Requires-Dist: nbclient" in metadata and "nbgrader" not in metadata


def _isolated_check(unpacked: Path, workdir: Path, notebook: Path) -> tuple[int, dict]:
    site_packages = sysconfig.get_paths()["purelib"]
    kernels = workdir / "jupyter" / "kernels" / "bundle-only"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-S", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bundle only", "language": "python"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "JUPYTER"))}
    env.update(PYTHONPATH=os.pathsep.join([str(unpacked), site_packages]),
               JUPYTER_PATH=str(workdir / "jupyter"), PYTHONDONTWRITEBYTECODE="1")
    proc = subprocess.run([sys.executable, "-S", "-m", "grader", "check", str(notebook),
                           "--kernel", "bundle-only", "--json"],
                          cwd=workdir, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_the_self_check_runs_from_the_bundle_alone(unpacked, tmp_path):
    probe = subprocess.run(
        [sys.executable, "-S", "-c", "import grader.grading.selfcheck as s, grader.cli.check as c;"
         "print(s.__file__, c.__file__)\ntry:\n import grader.reference\nexcept ImportError:\n"
         " print('no reference')"],
        cwd=tmp_path, capture_output=True, text=True,
        env={**os.environ,
             "PYTHONPATH": f"{unpacked}{os.pathsep}{sysconfig.get_paths()['purelib']}"})
    assert probe.stdout.split() == [str(unpacked / "grader/grading/selfcheck.py"),
                                    str(unpacked / "grader/cli/check.py"), "no", "reference"]

    blank = tmp_path / "student"
    blank.mkdir()
    exercise = unpacked / "exercises" / A / f"{A}.ipynb"
    (blank / exercise.name).write_bytes(exercise.read_bytes())
    code, result = _isolated_check(unpacked, blank, blank / exercise.name)
    assert code == 1 and not result["ok"]
    assert {q["status"] for q in result["questions"]} == {"not attempted"}
    assert len(result["questions"]) == 6
    assert result["checks_module"] == str(unpacked / "grader" / "checks.py")


def test_the_solution_passes_from_the_bundle(unpacked, tmp_path):
    """The solution notebook's answers, in the released notebook (the hidden tests, which need
    grader.reference, are not something a student's notebook holds)."""
    work = tmp_path / "student"
    work.mkdir()
    notebook = filled_exercise(A, work / f"{A}.ipynb", unpacked / "exercises" / A / f"{A}.ipynb")
    code, result = _isolated_check(unpacked, work, notebook)
    assert code == 0 and result["ok"], result
    assert result["warnings"] == []
    assert result["checks_module"] == str(unpacked / "grader" / "checks.py")
