"""Chapter 6's poem model: sampling, scoring and the measures of what it learned.

A small untrained model on the shipped slice (tests/poetry_slice) is enough to check
that sampling and scoring are right; the measures are checked on poems written here.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from grader.data.poetry import EOS, UNK, make_poetry, read_quatrains
from grader.experiments import poem_measures as pm
from grader.experiments.poems import (positions_in_poem, sample_poems, score,
                                      token_log_probs)
from grader.reference.rnnlm import LstmRnnlm, evaluate_perplexity

SLICE = Path(__file__).resolve().parent / "poetry_slice"


@pytest.fixture(scope="module")
def poetry():
    return make_poetry(read_quatrains(SLICE), min_count=1, valid_fraction=0.2,
                       test_fraction=0.2)


@pytest.fixture(scope="module")
def model(poetry):
    return LstmRnnlm(poetry.vocab_size, 8, 16, dtype=np.float64, rng=np.random.default_rng(0))


# ----------------------------------------------------------------------------- rhyme


@pytest.mark.parametrize("a, b", [("霜", "乡"), ("光", "霜"), ("人", "春"), ("花", "家"),
                                  ("月", "雪"), ("流", "愁"), ("归", "飞"), ("东", "情")])
def test_rhyming_pairs(a, b):
    assert pm.rhymes(a, b)


@pytest.mark.parametrize("a, b", [("霜", "人"), ("花", "月"), ("山", "风"), ("时", "来")])
def test_non_rhyming_pairs(a, b):
    assert not pm.rhymes(a, b)


def test_every_final_has_one_class():
    finals = [f for fs in pm.THIRTEEN_RHYMES.values() for f in fs]
    assert len(finals) == len(set(finals)) and len(pm.THIRTEEN_RHYMES) == 13


def test_rhyme_rates():
    poems = [["床前看月光", "疑是地上霜", "举头望山月", "低头思故乡"],   # rhymes
             ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"],   # 鸟/少 niao/shao: rhymes
             ["一二三四五", "一二三四山", "一二三四五", "一二三四风"]]   # an/eng: no
    rate, count = pm.rhyme_rate(poems)
    assert count == 3 and rate == pytest.approx(2 / 3)
    assert pm.rhyme_rate([]) == (None, 0)
    # Line-2 ends: 霜 鸟 山 (ang, ao, an); line-4 ends: 乡 少 风 (ang, ao, eng).
    assert pm.chance_rhyme_rate(poems) == pytest.approx((1 * 1 + 1 * 1) / 9)


# ----------------------------------------------------------------------------- shape


def test_shape_statistics():
    samples = [("床前看月光，疑是地上霜。举头望山月，低头思故乡。", True),  # good
               ("床前看月光，疑是地上霜。举头望山月，低头思故乡。", False),  # no <eos>
               ("床前看月光，疑是地上霜。举头望山月。低头思故乡。", True),  # 。 for ，
               ("床前看月光，疑是地上霜了。举头望山月，低头思故乡。", True),  # a 6-character line
               ("床前看月光，疑是", True)]                                     # cut short
    s = pm.shape(samples, line_length=5)
    assert s["poems"] == 5 and s["well_formed"] == pytest.approx(1 / 5)
    # Right-length lines among the first four of each poem: 4 + 4 + 4 + 3 + 1 of 20.
    assert s["lines_right_length"] == pytest.approx(16 / 20)
    assert s["length_5"] == 1.0 and s["length_7"] == 0.0
    seven = "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    assert pm.is_well_formed(seven, True) and not pm.is_well_formed(seven, True, line_length=5)


def test_characters_and_copies():
    p = Counter("aab")
    assert pm.total_variation(p, p) == 0.0
    assert pm.total_variation(Counter("ab"), Counter("cd")) == 1.0
    assert pm.total_variation(Counter("aab"), Counter("ab")) == pytest.approx(1 / 6)
    assert pm.char_distribution(["床前，月。"]) == Counter("床前月")
    corpus = {"疑是地上霜", "低头思故乡"}
    rate, total = pm.copied_lines(["床前明月光，疑是地上霜。举头望明月，低头思故"], corpus,
                                  skip_first=1)
    assert (rate, total) == (pytest.approx(1 / 2), 2)  # the unfinished last line is not counted


def test_unigram_log_probs_are_normalised_frequencies():
    train = np.array([0, 2, 2, 3, 0])
    lp = pm.unigram_log_probs(train, np.array([0, 1, 2, 3]), 4)
    # Counts of train[1:] plus one: [2, 1, 3, 2] of 8.
    assert np.allclose(np.exp(lp), [1 / 8, 3 / 8, 2 / 8])


# ----------------------------------------------------------------------------- model


def test_token_log_probs_agree_with_evaluate_perplexity(model, poetry):
    lp = token_log_probs(model, poetry.train, chunk=7)
    assert lp.shape == (len(poetry.train) - 1,) and np.all(lp < 0)
    T = 5
    n = (len(poetry.train) - 1) // T
    assert np.exp(-lp[:n * T].mean()) == pytest.approx(
        evaluate_perplexity(model, poetry.train, batch_size=1, time_size=T), rel=1e-10)


def test_positions_in_poem(poetry):
    pos = positions_in_poem(poetry.valid, poetry.char_to_id[EOS])
    eos_at = np.flatnonzero(poetry.valid[1:] == poetry.char_to_id[EOS])
    assert pos[0] == 0 and set(pos[eos_at]) <= {24, 32}
    assert np.all(pos[eos_at[:-1] + 1] == 0)


def test_score_fields(model, poetry):
    s = score(model, poetry)
    assert s["test_tokens"] == len(poetry.test) - 1
    assert s["model_ppl"] > 1 and s["unigram_ppl"] > 1
    for name in ("model", "unigram"):
        for n in ("5", "7"):
            values = s[f"{name}_loss_by_position"][n]
            assert len(values) == 4 * int(n) + 5


def test_sample_poems_start_with_the_opening_and_are_seeded(model, poetry):
    a = sample_poems(model, poetry, "床前", 4, 1.0, np.random.default_rng(3), max_tokens=12)
    b = sample_poems(model, poetry, "床前", 4, 1.0, np.random.default_rng(3), max_tokens=12)
    assert a == b and len(a) == 4
    for text, finished in a:
        assert text.startswith("床前") and UNK not in text and EOS not in text
        assert finished or len(text) == 2 + 12
    greedy = sample_poems(model, poetry, "", 3, 1e-6, np.random.default_rng(0), max_tokens=10)
    assert len({text for text, _ in greedy}) == 1  # temperature -> 0: the same argmax path


# ----------------------------------------------------------------------------- the stored run


def test_stored_run_is_complete_and_consistent(repo_root):
    """book/results/poems.json, which chapter 6 quotes: made by the command it records,
    with the outline's sizes, and every stored poem starts with its opening."""
    import json

    run = json.loads((repo_root / "book" / "results" / "poems.json").read_text(encoding="utf-8"))
    assert run["command"].startswith("python -m grader.experiments.poems ")
    config, final = run["config"], run["final"]
    assert (config["embed"], config["hidden"]) == (64, 128)
    assert len(run["history"]["epoch"]) == config["epochs"]
    assert 1 <= final["best_epoch"] <= config["epochs"]
    assert final["model_ppl"] < final["unigram_ppl"]
    for opening, by_temperature in run["samples"].items():
        for poems in by_temperature.values():
            assert poems and all(p.startswith(opening) for p in poems)
    for t, m in run["free"].items():
        assert 0 <= m["well_formed"] <= 1 and 0 <= m["tv_vs_train"] <= 1
        assert set(run["opened"][t]) == {"5", "7"}
    assert 0 < run["corpus"]["chance_rhyme_rate"] < run["corpus"]["rhyme_rate"] < 1


def test_adam_with_folded_clipping_is_adam_on_clipped_gradients():
    """Chapter 6 trains with Adam through Trainer, which folds clipping into
    ``step(..., grad_scale=c)``: that must be Adam on ``c * g``, by the textbook formula."""
    from grader.reference.optim import Adam

    rng = np.random.default_rng(0)
    p0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(3)]
    scales = [0.5, 1.0, 0.25]
    folded, explicit = {"w": p0.copy()}, {"w": p0.copy()}
    a, b = Adam(0.01), Adam(0.01)
    m = v = np.zeros_like(p0)
    by_hand = p0.copy()
    for t, (g, c) in enumerate(zip(grads, scales), start=1):
        a.step(folded, {"w": g}, grad_scale=c)
        b.step(explicit, {"w": g * c})
        m = 0.9 * m + 0.1 * (g * c)
        v = 0.999 * v + 0.001 * (g * c) ** 2
        by_hand -= 0.01 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    assert np.allclose(folded["w"], explicit["w"], rtol=0, atol=1e-15)
    assert np.allclose(folded["w"], by_hand, rtol=1e-12, atol=1e-14)
