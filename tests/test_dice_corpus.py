"""Tests for the dice corpus (grader/corpus/dice.py and ``python -m grader corpus``).

Perplexities and decoding accuracies in meta.json are recomputed with hmmlearn from the
files on disk and the parameters written out by hand from the corpus description.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM

from grader.cli import main
from grader.corpus.dice import load_dice_corpus, make_dice_corpus

SMALL = {"train": 3_000, "valid": 500, "test": 701}  # 701: the last line is not full
FILES = ["dice.train.txt", "dice.valid.txt", "dice.test.txt", "dice.train.states.txt",
         "dice.valid.states.txt", "dice.test.states.txt", "meta.json"]


def sticky_model(stickiness: float) -> CategoricalHMM:
    """The generating HMM, built from the description: D4, D6, D8; fair dice; uniform start."""
    off = (1 - stickiness) / 2
    model = CategoricalHMM(n_components=3, n_features=8, init_params="", params="")
    model.startprob_ = np.full(3, 1 / 3)
    model.transmat_ = np.array([[stickiness, off, off], [off, stickiness, off],
                                [off, off, stickiness]])
    model.emissionprob_ = np.array([[1 / 4] * 4 + [0] * 4, [1 / 6] * 6 + [0] * 2, [1 / 8] * 8])
    return model


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory):
    out = tmp_path_factory.mktemp("dice") / "new" / "dir"  # missing parents get created
    meta = make_dice_corpus(out, seed=3, stickiness=0.8, sizes=SMALL)
    return out, meta


def test_file_layout(small_corpus):
    out, meta = small_corpus
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    for split, size in SMALL.items():
        for name, vocab in [(f"dice.{split}.txt", {str(f) for f in range(1, 9)}),
                            (f"dice.{split}.states.txt", {"D4", "D6", "D8"})]:
            text = (out / name).read_text()
            assert text.endswith("\n") and not text.endswith("\n\n")
            lines = text.splitlines()
            assert all(len(line.split(" ")) == 20 for line in lines[:-1])
            assert 1 <= len(lines[-1].split(" ")) <= 20
            tokens = text.split()
            assert len(tokens) == size and set(tokens) <= vocab
        faces = np.array((out / f"dice.{split}.txt").read_text().split(), dtype=int)
        dice = np.array((out / f"dice.{split}.states.txt").read_text().split())
        assert faces[dice == "D4"].max() <= 4 and faces[dice == "D6"].max() <= 6
    on_disk = json.loads((out / "meta.json").read_text())
    assert on_disk == json.loads(json.dumps(meta))
    assert on_disk["seed"] == 3 and on_disk["stickiness"] == 0.8
    assert {s: on_disk["splits"][s]["tokens"] for s in SMALL} == SMALL


def test_meta_matches_hmmlearn(small_corpus):
    out, meta = small_corpus
    model = sticky_model(0.8)
    np.testing.assert_allclose(meta["parameters"]["transition"], model.transmat_)
    np.testing.assert_allclose(meta["parameters"]["emission"], model.emissionprob_)
    for split in SMALL:
        faces = np.array((out / f"dice.{split}.txt").read_text().split(), dtype=int)
        dice = np.array((out / f"dice.{split}.states.txt").read_text().split())
        true_states = np.searchsorted(["D4", "D6", "D8"], dice)
        X = (faces - 1).reshape(-1, 1)
        stats = meta["splits"][split]
        perplexity = np.exp(-model.score(X) / len(faces))
        assert stats["bayes_perplexity"] == pytest.approx(perplexity, rel=1e-10)
        assert stats["posterior_accuracy"] == pytest.approx(
            np.mean(model.predict_proba(X).argmax(axis=1) == true_states), abs=1e-3)
        # Viterbi ties (common with fair dice) may be broken differently: allow a little.
        assert stats["viterbi_accuracy"] == pytest.approx(
            np.mean(model.decode(X, algorithm="viterbi")[1] == true_states), abs=0.02)
        # Knowing the hidden chain helps: better than the best context-free model, and no
        # model can beat the entropy of a fair D4 (perplexity 4).
        assert 4.0 < stats["bayes_perplexity"] < stats["unigram_perplexity"] < 8.0


def test_deterministic_under_the_seed(tmp_path, small_corpus):
    out, _ = small_corpus
    make_dice_corpus(tmp_path / "same", seed=3, stickiness=0.8, sizes=SMALL)
    for name in FILES:
        assert (tmp_path / "same" / name).read_bytes() == (out / name).read_bytes(), name
    make_dice_corpus(tmp_path / "other", seed=4, stickiness=0.8, sizes=SMALL)
    assert (tmp_path / "other" / "dice.train.txt").read_bytes() != (out / "dice.train.txt").read_bytes()
    # Splits use separate streams: a bigger training set leaves valid and test unchanged.
    make_dice_corpus(tmp_path / "bigger", seed=3, stickiness=0.8, sizes={**SMALL, "train": 4_000})
    assert (tmp_path / "bigger" / "dice.test.txt").read_bytes() == (out / "dice.test.txt").read_bytes()


def test_round_trip_load(small_corpus):
    out, meta = small_corpus
    corpus = load_dice_corpus(out)
    assert corpus["meta"] == json.loads(json.dumps(meta))
    for split, size in SMALL.items():
        tokens, states = corpus["tokens"][split], corpus["states"][split]
        assert tokens.dtype == np.int32 and states.dtype == np.int32
        assert tokens.shape == states.shape == (size,)
        faces = np.array((out / f"dice.{split}.txt").read_text().split(), dtype=int)
        np.testing.assert_array_equal(tokens, faces - 1)
        dice = (out / f"dice.{split}.states.txt").read_text().split()
        np.testing.assert_array_equal(states, [{"D4": 0, "D6": 1, "D8": 2}[d] for d in dice])


def test_load_rejects_a_damaged_corpus(tmp_path):
    make_dice_corpus(tmp_path, seed=0, sizes={"train": 50, "valid": 20, "test": 20})
    (tmp_path / "dice.valid.txt").write_text("1 2 9\n")
    with pytest.raises(ValueError, match="'9'"):
        load_dice_corpus(tmp_path)
    (tmp_path / "dice.valid.txt").write_text("1 2 3\n")
    with pytest.raises(ValueError, match="meta.json says 20"):
        load_dice_corpus(tmp_path)


def test_default_stickiness_decoding_accuracies(tmp_path):
    meta = make_dice_corpus(tmp_path, sizes={"train": 20_000, "valid": 100, "test": 100})
    assert meta["stickiness"] == 0.9 and meta["seed"] == 0
    assert meta["splits"]["train"]["viterbi_accuracy"] == pytest.approx(0.78, abs=0.03)
    assert meta["splits"]["train"]["posterior_accuracy"] == pytest.approx(0.81, abs=0.03)


def test_cli(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["corpus", "dice", "--out", str(out), "--seed", "3", "--stickiness", "0.8",
                 "--train", "3000", "--valid", "500", "--test", "701"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["split"], d["tokens"]) for d in lines] == list(SMALL.items())
    meta = json.loads((out / "meta.json").read_text())
    for d in lines:
        assert d["bayes_perplexity"] == pytest.approx(meta["splits"][d["split"]]["bayes_perplexity"])


@pytest.mark.parametrize("arguments, message", [
    (["--stickiness", "1.0"], "stickiness must lie in"),
    (["--stickiness", "-0.1"], "stickiness must lie in"),
    (["--stickiness", "nan"], "stickiness must lie in"),
    (["--train", "0"], "train size must be a positive"),
    (["--test", "-5"], "test size must be a positive"),
    (["--seed", "-1"], "seed must be"),
])
def test_cli_rejects_bad_input(tmp_path, capsys, arguments, message):
    code = main(["corpus", "dice", "--out", str(tmp_path / "bad")] + arguments)
    assert code != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()  # nothing written on bad input


def test_cli_reports_an_unusable_output_path(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert main(["corpus", "dice", "--out", str(blocker / "sub"), "--train", "10"]) != 0
    assert "error" in capsys.readouterr().err
