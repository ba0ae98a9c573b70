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
