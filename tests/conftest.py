"""Shared fixtures.  Real files, real nbgrader runs: nothing here is mocked."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def site() -> Path:
    """The built book (``make book``; ``make test`` builds it first)."""
    if not (SITE / "index.html").exists():
        pytest.fail("the site is not built: run `make book` (make test does it first)")
    return SITE


@pytest.fixture(scope="session")
def ptb_dir() -> Path:
    """The Penn Treebank files, from RNNS_DATA_DIR (the Makefile points it at shared data)."""
    value = os.environ.get("RNNS_DATA_DIR")
    if not value or not (Path(value) / "ptb.train.txt").exists():
        pytest.fail("RNNS_DATA_DIR must point at a folder with ptb.{train,valid,test}.txt")
    return Path(value)


def _scripted_class(tmp_path_factory, size: str):
    """The scripted class graded on both paths (tests/scripted_class.py), once per run."""
    import shutil

    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    pytest.importorskip("distributed")
    from grading_helpers import build_once
    from scripted_class import grade_class

    return build_once(tmp_path_factory, f"scripted-class-{size}",
                      lambda folder: grade_class(folder, size))


@pytest.fixture(scope="session", params=["small", pytest.param("full", marks=pytest.mark.scale)])
def scripted_class(request, tmp_path_factory):
    """Every class size: the small one in `make test`, 60 per chapter under `-m scale`."""
    return _scripted_class(tmp_path_factory, request.param)


@pytest.fixture(scope="session")
def small_class(tmp_path_factory):
    """The small scripted class, for tests written about particular students of chapter 1."""
    return _scripted_class(tmp_path_factory, "small")


@pytest.fixture(scope="session")
def installed_autograder(tmp_path_factory):
    """The grader installed as a container installs it: the Gradescope zip of chapter 1, laid
    out as /autograder and its setup.sh run (tests/container_env.py), once per test run."""
    import container_env
    from grading_helpers import build_once

    why = container_env.available()
    if why:
        pytest.skip(why)
    keep = os.environ.get("RNNS_TEST_AUTOGRADER_CACHE")   # a developer's: reuse one install
    if keep:
        return container_env.cached_install(Path(keep))
    return build_once(tmp_path_factory, "installed-autograder",
                      lambda folder: container_env.install_autograder(folder / "autograder"))
