"""The student bundle is the student edition as one zip: the same files, the same audit.

The self-check is run from an unpacked bundle with nothing of this repository importable:
``python -S`` skips site-packages' ``.pth`` files (among them the editable install of this
repository, whose finder would otherwise serve any module the bundle lacks), and
``PYTHONPATH`` holds only the bundle's kit and the plain site-packages folder.  The
notebook's kernel runs the same way, through a kernel spec made for the test.
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
from edition_helpers import copy_course, published_edition
from student_helpers import filled_exercise

from grader.grading import bundle
from grader.kit import kit_files

ROOT = Path(__file__).resolve().parent.parent
A = "01_rnn_by_hand"


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


def test_the_bundle_is_the_published_edition(built, tmp_path_factory):
    edition = published_edition(tmp_path_factory)
    published = {p.relative_to(edition).as_posix(): p for p in edition.rglob("*") if p.is_file()}
    with zipfile.ZipFile(built) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        assert {n.split("/", 1)[0] for n in infos} == {bundle.TOP}
        files = {n.split("/", 1)[1]: zf.read(n) for n in infos}
    assert files.keys() == published.keys()
    assert all(files[name] == path.read_bytes() for name, path in published.items())
    modes = {n.split("/", 1)[1]: info.external_attr >> 16 for n, info in infos.items()}
    assert modes["binder/postBuild"] == 0o755 and modes["README.md"] == 0o644
    assert f"exercises/{A}/{A}.ipynb" in files
    assert not any(n.startswith(("solutions/", "grader/", "kit/grader/reference")) for n in files)


def test_the_bundle_is_reproducible(built, tmp_path):
    again = tmp_path / "again.zip"
    bundle.build_bundle(again)
    assert again.read_bytes() == built.read_bytes()


def test_a_leak_in_the_source_refuses_the_bundle(tmp_path):
    """A hidden test's line pasted into the kit of the instructor's repository: no zip."""
    from grader import leaks

    course = copy_course(tmp_path / "course")
    secret = sorted(leaks.secret_lines(sorted((course / "solutions").glob("*/*.ipynb"))))[0]
    checks = course / "grader" / "checks.py"
    checks.write_text(checks.read_text() + f"\n# {secret}\n")
    with pytest.raises(bundle.BundleError, match="kit/grader/checks.py"):
        bundle.build_bundle(tmp_path / "leaky.zip", root=course)
    assert not (tmp_path / "leaky.zip").exists()


def test_the_bundle_installs(unpacked, tmp_path):
    """pip builds a wheel of exactly the kit from the bundle's kit/, whose pyproject.toml is
    the kit's: one dependency list for the bundle and the pip-installed kit."""
    assert (unpacked / "kit" / "pyproject.toml").read_bytes() == (ROOT / "kit" / "pyproject.toml").read_bytes()
    source = tmp_path / "src"
    subprocess.run(["cp", "-r", str(unpacked / "kit"), str(source)], check=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                           "--no-build-isolation", "-q", "-w", str(tmp_path / "wheel"),
                           str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert {n for n in zf.namelist() if not n.split("/")[0].endswith(".dist-info")} == set(kit_files())
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
    env.update(PYTHONPATH=os.pathsep.join([str(unpacked / "kit"), site_packages]),
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
             "PYTHONPATH": f"{unpacked / 'kit'}{os.pathsep}{sysconfig.get_paths()['purelib']}"})
    assert probe.stdout.split() == [str(unpacked / "kit/grader/grading/selfcheck.py"),
                                    str(unpacked / "kit/grader/cli/check.py"), "no", "reference"]

    blank = tmp_path / "student"
    blank.mkdir()
    exercise = unpacked / "exercises" / A / f"{A}.ipynb"
    (blank / exercise.name).write_bytes(exercise.read_bytes())
    code, result = _isolated_check(unpacked, blank, blank / exercise.name)
    assert code == 1 and not result["ok"]
    assert {q["status"] for q in result["questions"]} == {"not attempted"}
    assert len(result["questions"]) == 6
    assert result["checks_module"] == str(unpacked / "kit" / "grader" / "checks.py")


def test_the_solution_passes_from_the_bundle(unpacked, tmp_path):
    """The solution notebook's answers, in the released notebook (the hidden tests, which need
    grader.reference, are not something a student's notebook holds)."""
    work = tmp_path / "student"
    work.mkdir()
    notebook = filled_exercise(A, work / f"{A}.ipynb", unpacked / "exercises" / A / f"{A}.ipynb")
    code, result = _isolated_check(unpacked, work, notebook)
    assert code == 0 and result["ok"], result
    assert result["warnings"] == []
    assert result["checks_module"] == str(unpacked / "kit" / "grader" / "checks.py")
