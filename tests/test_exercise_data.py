"""The data the exercises train on travels with the student kit, checked by its SHA-256.

Exercise 4 trains on the first 1000 words of the Penn Treebank, the chapter's words: the
kit ships them (``grader.exercise_data``), so that Colab, Binder, JupyterLite, a laptop and
the grading sandbox all read the same words, with nothing to download.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grader import exercise_data, kit
from grader.data.ptb import load_ptb

ROOT = Path(__file__).resolve().parent.parent


def test_the_excerpt_is_the_start_of_the_real_training_file(ptb_dir):
    excerpt = (exercise_data.FOLDER / exercise_data.PTB_TRAIN_START).read_bytes()
    assert (ptb_dir / "ptb.train.txt").read_bytes().startswith(excerpt)
    ptb = load_ptb(ptb_dir)
    assert exercise_data.ptb_first_words(1000) == [ptb.id_to_word[i] for i in ptb.train[:1000]]


def test_a_changed_or_missing_excerpt_is_refused(tmp_path, monkeypatch):
    text = (exercise_data.FOLDER / exercise_data.PTB_TRAIN_START).read_text(encoding="utf-8")
    (tmp_path / exercise_data.PTB_TRAIN_START).write_text(text.replace("the", "a", 1), encoding="utf-8")
    monkeypatch.setattr(exercise_data, "FOLDER", tmp_path)
    with pytest.raises(exercise_data.ExerciseDataError, match="has been changed"):
        exercise_data.ptb_first_words()
    (tmp_path / exercise_data.PTB_TRAIN_START).unlink()
    with pytest.raises(exercise_data.ExerciseDataError, match="is missing"):
        exercise_data.ptb_first_words()


def test_more_words_than_the_excerpt_holds_is_an_error():
    with pytest.raises(ValueError, match="first 1007 words"):
        exercise_data.ptb_first_words(5000)


def test_the_installed_kit_alone_reads_the_words(tmp_path):
    """The kit written out on its own (what the wheel, the bundle and the sandbox hold)."""
    kit.write_kit(tmp_path / "kit")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import grader, grader.exercise_data as d; "
            "assert grader.__file__.startswith(sys.argv[1]), grader.__file__; "
            "print(len(d.ptb_first_words(1000)), len(set(d.ptb_first_words(1000))))")
    done = subprocess.run([sys.executable, "-I", "-c", code, str(tmp_path / "kit")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["1000", str(len(set(exercise_data.ptb_first_words(1000))))]


def test_exercise_4_reads_its_words_from_the_kit_and_nowhere_else():
    for folder in ("solutions", "exercises"):
        cells = json.loads((ROOT / folder / "04_rnnlm" / "04_rnnlm.ipynb").read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        assert "ptb_first_words(1000)" in code
        assert "RNNS_DATA_DIR" not in code and "synthetic" not in code
