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
from grader.experiments.poems import (OPENINGS, fit_poems, poem_batches, poem_log_probs,
                                      poem_rows, positions_in_poem, sample_poems, score,
                                      stream_log_probs)
from grader.reference.optim import Adam
from grader.reference.rnnlm import LstmRnnlm, Trainer, evaluate_perplexity

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


@pytest.mark.parametrize("text, finished, error", [
    ("床前明月光，疑是地上霜。举头望明月，低头思故乡。", True, None),
    ("床前明月光深水。不知何处是苍苔，却是人间一夜灯。", True, "first line"),   # the old chapter's
    ("床前明月光，疑是地上霜了。举头望明月，低头思故乡。", True, "line length"),
    ("床前明月光，疑是地上霜霜霜", False, "line length"),                       # cut inside a long line
    ("床前明月光，疑是地上霜。举头望明月。低头思故乡。", True, "punctuation"),
    ("床前明月光，疑是地上霜。举头望明月，", True, "too few lines"),
    ("床前明月光，疑是地上霜。举头望明月，低头思故乡。床前明月光，", False, "too many lines"),
    ("床前明月光，疑是地上霜。举头望明月，低头思故乡。", False, "not ended"),
    ("床前明月光，疑是地上", False, "not ended"),
])
def test_form_error_names_what_broke_the_quatrain(text, finished, error):
    assert pm.form_error(text, finished, 5) == error
    assert (error is None) == pm.is_well_formed(text, finished, 5)


def test_form_errors_are_shares_that_add_up_with_the_well_formed():
    samples = [("床前明月光，疑是地上霜。举头望明月，低头思故乡。", True),
               ("床前明月光深水。不知何处是苍苔，却是人间一夜灯。", True),
               ("床前明月光，疑是地上霜。举头望明月，", True), ("", True)]
    errors = pm.form_errors(samples, 5)
    assert set(errors) == set(pm.FORM_ERRORS)
    assert errors["first line"] == 0.5 and errors["too few lines"] == 0.25
    assert sum(errors.values()) + pm.shape(samples, 5)["well_formed"] == pytest.approx(1)


# ----------------------------------------------------------------------------- tones


def test_tones_level_and_oblique():
    assert pm.tones("床前明月光") == ["P", "P", "P", "Z", "P"]
    assert pm.tones("长安") == ["P", "P"]                  # in context: chang'an
    assert pm.tones("啼不住") == ["P", "Z", "Z"]           # 不 keeps its own tone (bu4)
    assert pm.tones("a") == [None]


def test_a_regulated_quatrain_keeps_every_tone_rule():
    # 王之涣《登鹳雀楼》: a regulated five-character quatrain.
    climbing = ["白日依山尽", "黄河入海流", "欲穷千里目", "更上一层楼"]
    assert pm.tone_rules(climbing) == [True] * 7
    # 静夜思 is an old-style quatrain: 前/月 alternate, 是/上 do not, ...
    quiet = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    assert pm.tone_rules(quiet) == [True, False, False, True, True, False, False]
    m = pm.tone_measures([climbing, quiet])
    assert m == {"tone_rules": pytest.approx((1 + 3 / 7) / 2), "tone_pattern": 0.5}
    assert pm.tone_measures([]) == {"tone_rules": None, "tone_pattern": None}
    assert len(pm.tone_rules(["两个黄鹂鸣翠柳", "一行白鹭上青天", "窗含西岭千秋雪",
                              "门泊东吴万里船"])) == 11


def test_chance_tone_measures_from_the_level_share():
    # Even places: 前月 是上 头明 头故 (P Z, Z Z, P P, P Z) and 眠觉 处啼 来雨 落多
    # (P P, Z P, P Z, Z P): 9 level of 16.
    quiet = ["床前明月光", "疑是地上霜", "举头望明月", "低头思故乡"]
    spring = ["春眠不觉晓", "处处闻啼鸟", "夜来风雨声", "花落知多少"]
    c = pm.chance_tone_measures([quiet, spring])
    p = 9 / 16
    assert c["level_share"] == pytest.approx(p)
    assert c["chance_tone_rules"] == pytest.approx((6 * 2 * p * (1 - p) + p * p + (1 - p) ** 2) / 7)
    assert c["chance_tone_pattern"] == pytest.approx(2 * p ** 4 * (1 - p) ** 4)
    assert pm.tone_of_line("床前明月光") == {"tones": "平平平仄平", "alternates": True}
    assert pm.tone_of_line("春眠不觉晓")["alternates"] is False  # 眠 and 觉 (jue2) both level


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


def test_stream_log_probs_agree_with_evaluate_perplexity(model, poetry):
    lp = stream_log_probs(model, poetry.train, chunk=7)
    assert lp.shape == (len(poetry.train) - 1,) and np.all(lp < 0)
    T = 5
    n = (len(poetry.train) - 1) // T
    assert np.exp(-lp[:n * T].mean()) == pytest.approx(
        evaluate_perplexity(model, poetry.train, batch_size=1, time_size=T), rel=1e-10)


def test_poem_rows_are_the_poems_with_their_start_and_end(poetry):
    eos = poetry.char_to_id[EOS]
    rows = poem_rows(poetry.train, eos)
    assert set(rows) == {25, 33}
    assert sum(len(r) for _, r in rows.values()) == len(poetry.poems["train"])
    for n, (starts, group) in rows.items():
        assert group.shape == (len(starts), n + 1)
        assert np.all(group[:, 0] == eos) and np.all(group[:, -1] == eos)
        assert np.all(group[:, 1:-1] != eos)
        for a, row in zip(starts, group):
            assert np.array_equal(poetry.train[a:a + n + 1], row)


def test_poem_batches_hold_every_poem_once_and_one_length_each(poetry):
    rows = poem_rows(poetry.train, poetry.char_to_id[EOS])
    batches = poem_batches(rows, 3, np.random.default_rng(0))
    assert all(len(b) <= 3 and b.shape[1] in (26, 34) for b in batches)
    seen = sorted(tuple(r) for b in batches for r in b)
    assert seen == sorted(tuple(r) for _, group in rows.values() for r in group)
    again = poem_batches(rows, 3, np.random.default_rng(1))
    assert [b.tolist() for b in again] != [b.tolist() for b in batches]  # reshuffled


def test_poem_log_probs_read_each_poem_from_a_zero_state(model, poetry):
    eos = poetry.char_to_id[EOS]
    lp = poem_log_probs(model, poetry.train, eos, chunk=2)
    assert lp.shape == (len(poetry.train) - 1,) and np.all(lp < 0)
    # The same as the training loss of the poems, read as one batch per length.
    for n, (starts, group) in poem_rows(poetry.train, eos).items():
        model.reset_state()
        loss = model.forward(group[:, :-1], group[:, 1:])
        mine = lp[(starts[:, None] + np.arange(n)).ravel()]
        assert -mine.mean() == pytest.approx(loss, rel=1e-10)
    model.reset_state()
    # A poem's scores do not depend on the poem before it: reverse the order of the poems.
    parts = np.split(poetry.train[1:], np.flatnonzero(poetry.train[1:] == eos)[:-1] + 1)
    reversed_stream = np.concatenate([[eos], *parts[::-1]])
    lp_rev = poem_log_probs(model, reversed_stream, eos)
    assert sorted(np.round(lp, 10)) == sorted(np.round(lp_rev, 10))


def test_fit_poems_learns_and_keeps_the_best_epoch(poetry):
    model = LstmRnnlm(poetry.vocab_size, 8, 16, dtype=np.float64, rng=np.random.default_rng(0))
    eos = poetry.char_to_id[EOS]
    trainer = Trainer(model, Adam(0.05), clip=5.0, lr_decay=2.0, progress=False)
    records = []
    history = fit_poems(trainer, poetry.train, poetry.valid, eos, epochs=4, batch_size=4,
                        rng=np.random.default_rng(0), log_every=2, callback=records.append)
    assert [r["epoch"] for r in records] == history["epoch"] == [1, 2, 3, 4]
    assert history["train_ppl"][-1] < history["train_ppl"][0]
    assert history["iter"] == list(range(2, 2 * len(history["iter"]) + 1, 2))
    best = int(np.argmin(history["valid_ppl"]))
    assert trainer.best_epoch == best + 1
    # The model ends with the parameters of the best epoch.
    final_valid = np.exp(-poem_log_probs(model, poetry.valid, eos).mean())
    assert final_valid == pytest.approx(history["valid_ppl"][best], rel=1e-10)
    # Each epoch with a worse validation perplexity than the best so far halved the rate.
    worse = sum(v >= min(history["valid_ppl"][:k]) for k, v in enumerate(history["valid_ppl"]) if k)
    assert trainer.optimizer.lr == pytest.approx(0.05 / 2 ** worse)


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


def test_sample_poems_start_from_zeros_and_the_start_token(model, poetry):
    """Writing reads <eos> from a zero state, as every poem was read in training: the
    first scores are those of the training rows' first step."""
    eos = poetry.char_to_id[EOS]
    rows = poem_rows(poetry.train, eos)[25][1]
    model.reset_state()
    first = model.predict(rows[:1, :1])[0, -1]
    model.reset_state()
    greedy = sample_poems(model, poetry, "", 1, 1e-9, np.random.default_rng(0), max_tokens=1)
    unk = poetry.char_to_id[UNK]
    first[unk] = -np.inf
    assert greedy[0][0] == poetry.id_to_char[int(np.argmax(first))] or int(np.argmax(first)) == eos
    # With ``before``, the rows are read first (here: a whole poem), then the opening.
    after = sample_poems(model, poetry, "床前，", 2, 1.0, np.random.default_rng(3), max_tokens=6,
                         before=rows[:2])
    assert all(text.startswith("床前，") for text, _ in after)


# ----------------------------------------------------------------------------- the stored run


def test_stored_run_is_complete_and_consistent(repo_root):
    """book/results/poems.json, which chapter 6 quotes: made by the command it records,
    with the outline's sizes; every stored poem starts with its opening and its comma; and
    the chapter's promise holds: at each temperature up to 0.8, at least 100 poems from each
    of at least six openings, 80 % or more of them well-formed quatrains."""
    import json

    run = json.loads((repo_root / "book" / "results" / "poems.json").read_text(encoding="utf-8"))
    assert run["command"].startswith("python -m grader.experiments.poems ")
    config, final = run["config"], run["final"]
    assert (config["embed"], config["hidden"], config["training"]) == (64, 128, "poems")
    assert len(run["history"]["epoch"]) == config["epochs"]
    assert 1 <= final["best_epoch"] <= config["epochs"]
    assert final["model_ppl"] < final["unigram_ppl"]
    for opening, by_temperature in run["samples"].items():
        for poems in by_temperature.values():
            assert poems and all(p.startswith(opening + "，") for p in poems)
    assert len(run["opened"]) == len(run["free"]) and len(OPENINGS) >= 6
    for t, by_opening in run["opened"].items():
        assert set(by_opening) == set(OPENINGS) == set(run["openings"])
        assert 0 <= run["free"][t]["well_formed"] <= 1 and 0 <= run["free"][t]["tv_vs_train"] <= 1
        if float(t) <= 0.8:
            for opening, m in by_opening.items():
                assert m["poems"] >= 100 and m["well_formed"] >= 0.8, (t, opening, m["well_formed"])
    corpus = run["corpus"]
    assert 0 < corpus["chance_rhyme_rate"] < corpus["rhyme_rate"] < 1
    for n in ("5", "7"):
        c = corpus["by_length"][n]
        assert 0 < c["chance_tone_rules"] < c["tone_rules"] < 1
        assert 0 < c["chance_tone_pattern"] < c["tone_pattern"] < 1


def test_stored_ablation_is_complete(repo_root):
    """book/results/poems_ablation.json: both trainings, every prompt variant, every opening."""
    import json

    from grader.experiments.poem_ablation import VARIANTS

    ablation = json.loads((repo_root / "book" / "results" / "poems_ablation.json")
                          .read_text(encoding="utf-8"))
    assert ablation["command"].startswith("python -m grader.experiments.poem_ablation ")
    assert set(ablation["models"]) == {"poems", "stream"}
    assert list(ablation["variants"]) == [name for name, *_ in VARIANTS]
    for v in ablation["variants"].values():
        assert set(v["by_opening"]) == set(OPENINGS)
        assert sum(v["errors"].values()) + v["well_formed"] == pytest.approx(1)


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


def test_ablation_measures_add_up(model, poetry):
    """poem_ablation.measure on a small untrained model: every poem is either well-formed or
    counted under exactly one form error, for every opening; and the run is seeded."""
    from grader.experiments import poem_ablation

    kwargs = dict(comma=True, after_poem=False, samples=6, temperature=1.0, seed=3)
    m = poem_ablation.measure(model, poetry, **kwargs)
    assert set(m["by_opening"]) == set(OPENINGS)
    assert m["well_formed"] + sum(m["errors"].values()) == pytest.approx(1)
    assert m["errors"]["first line"] == 0  # with the comma, the first line is the opening
    for o, per in m["by_opening"].items():
        assert per["well_formed"] + sum(per["errors"].values()) == pytest.approx(1)
    assert poem_ablation.measure(model, poetry, **kwargs) == m
    free = poem_ablation.measure_free(model, poetry, after_poem=False, n=5, temperature=1.0,
                                      seed=0)
    assert 0 <= free <= 1
