"""The small data sets the exercises train on, shipped inside the student kit.

Every place a student works (Colab, Binder, JupyterLite, a laptop) and the grading sandbox
install the kit, so an exercise that reads its data from here trains on the same words
everywhere, with nothing to download and no environment variable to set.  Each file is
checked against its SHA-256 before it is read.

* ``excerpts/ptb.train.first-45-lines.txt``: the first 45 lines of the Penn Treebank's
  ``ptb.train.txt`` (Mikolov's split), byte for byte: 1,007 words once every line break
  is the word ``<eos>``.  Exercise 4 and chapter 4 train on the first 1000 of them.

Standard library only: this module is part of the kit (``grader/kit.py``).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "excerpts"
PTB_TRAIN_START = "ptb.train.first-45-lines.txt"
SHA256 = {PTB_TRAIN_START: "4686d3f7c02dc6b5511100d106c729685e0aff727a2dc2adbb51e25fcfb6dff3"}
EOS = "<eos>"


class ExerciseDataError(ValueError):
    """A data file of the kit is missing or is not the file the course shipped."""


def read_checked(name: str) -> str:
    """The text of the kit's data file ``name``, after checking its SHA-256."""
    path = FOLDER / name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ExerciseDataError(f"{path} is missing: reinstall the course kit") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != SHA256[name]:
        raise ExerciseDataError(f"{path} has been changed (SHA-256 {digest}, expected "
                                f"{SHA256[name]}): reinstall the course kit")
    return data.decode("utf-8")


def ptb_first_words(n_words: int = 1000) -> list[str]:
    """The first ``n_words`` words of the PTB training text, each line break the word ``<eos>``.

    The same words as ``grader.data.ptb`` reads from the full file, for ``n_words`` up to
    1,007 (what the shipped excerpt holds).
    """
    words = [w for line in read_checked(PTB_TRAIN_START).splitlines() for w in line.split() + [EOS]]
    if not 1 <= n_words <= len(words):
        raise ValueError(f"the kit holds the first {len(words)} words of ptb.train.txt; "
                         f"asked for {n_words}")
    return words[:n_words]
