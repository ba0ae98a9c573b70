"""The chapter-4 language models: batching, perplexity, training, save/load, sampling."""
from __future__ import annotations

import math

import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients
from grader.reference.rnnlm import (LanguageModel, LstmRnnlm, SimpleRnnlm, Trainer,
                                    batch_offsets, evaluate_perplexity, generate, load_params,
                                    perplexity, save_params, sequential_batches)


@pytest.fixture(scope="module")
def ptb(ptb_dir):
    directory = ptb_dir
    from grader.data.ptb import load_ptb

    return load_ptb(directory, allow_download=False)


# ----------------------------------------------------------------------------- batches


def test_batch_offsets():
    np.testing.assert_array_equal(batch_offsets(1001, 10), np.arange(10) * 100)
    np.testing.assert_array_equal(batch_offsets(1000, 10), np.arange(10) * 99)
    with pytest.raises(ValueError):
        batch_offsets(5, 10)


def test_sequential_batches_continue_rows_and_wrap():
    corpus = np.arange(23)  # 22 (input, target) pairs, 2 streams of 11
    batches = list(sequential_batches(corpus, 2, 4, n_batches=4))
    xs0, ts0 = batches[0]
    np.testing.assert_array_equal(xs0, [[0, 1, 2, 3], [11, 12, 13, 14]])
    np.testing.assert_array_equal(ts0, xs0 + 1)
    # every row continues where it stopped
    np.testing.assert_array_equal(batches[1][0], [[4, 5, 6, 7], [15, 16, 17, 18]])
    # the second stream reaches the end of the 22 pairs and wraps to the start
    np.testing.assert_array_equal(batches[2][0], [[8, 9, 10, 11], [19, 20, 21, 0]])
    np.testing.assert_array_equal(batches[2][1], [[9, 10, 11, 12], [20, 21, 22, 1]])
    # default length: one epoch
    assert len(list(sequential_batches(corpus, 2, 4))) == 22 // 8


# ----------------------------------------------------------------------------- perplexity


def test_perplexity_is_exp_of_mean_cross_entropy():
    ces = [1.0, 3.0]
    assert perplexity(np.mean(ces)) == pytest.approx(math.e ** 2)
    assert perplexity(np.mean(ces)) != pytest.approx(np.mean(np.exp(ces)))


@pytest.mark.parametrize("cls", [SimpleRnnlm, LstmRnnlm])
def test_uniform_model_has_perplexity_vocab_size(cls):
    model = cls(50, 8, 8, rng=np.random.default_rng(0))
    model.params["affine.W"][:] = 0  # equal scores for every word
    corpus = np.random.default_rng(1).integers(0, 50, 500)
    assert evaluate_perplexity(model, corpus, batch_size=4, time_size=5) == pytest.approx(50, rel=1e-5)


def test_softmax_stable_at_logits_1000():
    model = SimpleRnnlm(5, 4, 4, rng=np.random.default_rng(0))
    model.params["affine.b"][:] = [1000, 0, 0, 0, -1000]
    xs = np.zeros((2, 3), dtype=np.int64)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss_right = model.forward(xs, np.zeros((2, 3), dtype=np.int64))
        model.backward()
        loss_wrong = model.forward(xs, np.full((2, 3), 4))
    assert loss_right == pytest.approx(0.0, abs=1e-3)
    assert loss_wrong == pytest.approx(2000.0, rel=1e-3)
    assert all(np.all(np.isfinite(g)) for g in model.grads.values())


# ----------------------------------------------------------------------------- models


@pytest.mark.parametrize("cls", [SimpleRnnlm, LstmRnnlm])
def test_model_gradients(cls):
    rng = np.random.default_rng(0)
    model = cls(11, 5, 6, dtype=np.float64, rng=rng)
    model.params["affine.b"][:] = rng.standard_normal(11)
    # Unit-scale embeddings: with the default randn / 100 the recurrent gradients are so
    # small that the finite differences' round-off dominates their relative error.
    model.params["embed.W"][:] = rng.standard_normal(model.params["embed.W"].shape)
    xs, ts = rng.integers(0, 11, (3, 4)), rng.integers(0, 11, (3, 4))

    def loss():
        model.reset_state()
        return model.forward(xs, ts)

    loss()
    model.zero_grad()
    model.backward()
    errors = check_gradients(loss, model.params, {k: g.copy() for k, g in model.grads.items()})
    assert max(errors.values()) < TOLERANCE, errors


def test_models_follow_the_interface():
    for cls in (SimpleRnnlm, LstmRnnlm):
        model = cls(7, 3, 4)
        assert isinstance(model, LanguageModel)
        assert model.params.keys() == model.grads.keys()
    assert set(SimpleRnnlm(7, 3, 4).params) == {"embed.W", "rnn.Wx", "rnn.Wh", "rnn.b",
                                                 "affine.W", "affine.b"}
    assert set(LstmRnnlm(7, 3, 4).params) == {"embed.W", "lstm.Wx", "lstm.Wh", "lstm.b",
                                               "affine.W", "affine.b"}


def test_initialisation_scales():
    model = SimpleRnnlm(2000, 100, 100, rng=np.random.default_rng(0))
    assert model.params["embed.W"].std() == pytest.approx(0.01, rel=0.05)
    assert model.params["rnn.Wx"].std() == pytest.approx(0.1, rel=0.05)
    assert model.params["affine.W"].std() == pytest.approx(0.1, rel=0.05)
    assert not model.params["affine.b"].any()
    assert all(p.dtype == np.float32 for p in model.params.values())


def test_thousand_words_experiment(ptb):
    """The source's first experiment: 1000 PTB words, batch 10, T = 5, D = H = 100, SGD lr 0.1,
    100 epochs, no clipping; the source reports a final training perplexity of 5.48."""
    corpus = ptb.train[:1000]
    vocab = int(corpus.max()) + 1
    model = SimpleRnnlm(vocab, 100, 100, rng=np.random.default_rng(0))
    trainer = Trainer(model, lr=0.1, clip=None, progress=False)
    history = trainer.fit(corpus, epochs=100, batch_size=10, time_size=5)
    ppl = history["train_ppl"]
    assert len(ppl) == 100
    assert ppl[0] > 300          # about the vocabulary size (418) at the start
    assert ppl[-1] < 8, ppl[-10:]  # well below ~10
    assert history["valid_ppl"] == [None] * 100


# ----------------------------------------------------------------------------- trainer


class ScriptedModel:
    """A LanguageModel whose losses follow a script: checks the Trainer's bookkeeping
    with nothing but the interface (as chapter 5's model will use it)."""

    def __init__(self, valid_losses):
        self.params = {"w": np.zeros(3)}
        self.grads = {"w": np.zeros(3)}
        self.valid_losses = list(valid_losses)
        self.training = True
        self.resets = 0

    def forward(self, xs, ts):
        return 2.0

    def backward(self, dout=1.0):
        self.grads["w"] += 1.0

    def reset_state(self):
        self.resets += 1


def test_trainer_decays_lr_when_validation_gets_worse_and_keeps_best():
    corpus = np.arange(101)
    # epoch valid losses: 3 (best), 4 (worse -> lr/4), 2 (best), 5 (worse -> lr/4)
    per_epoch = [3.0, 4.0, 2.0, 5.0]
    model = ScriptedModel(per_epoch)
    epoch_box = {"k": -1}

    def forward(xs, ts):
        return per_epoch[epoch_box["k"]] if model.training is False else 2.0

    model.forward = forward
    trainer = Trainer(model, lr=1.0, clip=None, progress=False)
    records = []

    def callback(record):
        records.append(record)

    # Tell the scripted model which epoch it is in, and when evaluation starts.
    import grader.reference.rnnlm as rnnlm

    real_eval = rnnlm.evaluate_perplexity

    def fake_eval(m, corpus, *args, **kwargs):
        model.training = False
        epoch_box["k"] += 1
        try:
            return real_eval(m, corpus, *args, **kwargs)
        finally:
            model.training = True

    rnnlm.evaluate_perplexity = fake_eval
    try:
        history = trainer.fit(corpus, corpus, epochs=4, batch_size=2, time_size=5,
                              eval_batch_size=2, callback=callback)
    finally:
        rnnlm.evaluate_perplexity = real_eval
    assert history["valid_ppl"] == pytest.approx([math.exp(v) for v in per_epoch])
    assert history["lr"] == [1.0, 1.0, 0.25, 0.25]  # lr in force during each epoch
    assert trainer.optimizer.lr == pytest.approx(1 / 16)
    assert trainer.best_epoch == 3
    assert history["train_ppl"] == pytest.approx([math.exp(2.0)] * 4)
    assert len(records) == 4 and records[0]["epoch"] == 1
    assert len(history["grad_norm"]) == 4 * (100 // 10)


def test_trainer_decay_from_divides_the_lr_every_epoch_from_then_on():
    corpus = np.random.default_rng(0).integers(0, 20, 400)
    trainer = Trainer(SimpleRnnlm(20, 8, 8, rng=np.random.default_rng(0)), lr=1.0, clip=0.25,
                      lr_decay=2.0, decay_from=3, progress=False)
    history = trainer.fit(corpus, epochs=5, batch_size=4, time_size=5)  # no validation
    assert history["lr"] == [1.0, 1.0, 0.5, 0.25, 0.125]


def test_trainer_restores_best_parameters():
    corpus = np.random.default_rng(0).integers(0, 20, 400)
    model = SimpleRnnlm(20, 8, 8, rng=np.random.default_rng(0))
    # A huge learning rate makes validation worse after the first epoch.
    trainer = Trainer(model, lr=500.0, clip=None, progress=False, keep_best=True)
    history = trainer.fit(corpus, corpus, epochs=3, batch_size=4, time_size=5, eval_batch_size=4)
    best = int(np.argmin(history["valid_ppl"]))
    assert trainer.best_epoch == best + 1
    assert evaluate_perplexity(model, corpus, 4, 5) == pytest.approx(history["valid_ppl"][best],
                                                                     rel=1e-5)


# ----------------------------------------------------------------------------- save / load


def test_save_load_round_trip(tmp_path):
    a = LstmRnnlm(30, 6, 7, rng=np.random.default_rng(0))
    b = LstmRnnlm(30, 6, 7, rng=np.random.default_rng(1))
    save_params(a, tmp_path / "w.npz")
    load_params(b, tmp_path / "w.npz")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
        assert b.params[k].dtype == np.float32
    xs = np.random.default_rng(2).integers(0, 30, (2, 5))
    assert a.forward(xs, xs) == b.forward(xs, xs)


def test_load_reports_name_and_shape_mismatches(tmp_path):
    save_params(SimpleRnnlm(30, 6, 7), tmp_path / "rnn.npz")
    with pytest.raises(ValueError, match=r"missing from the file: \['lstm\.Wh', 'lstm\.Wx', "
                                         r"'lstm\.b'\]; not in the model: \['rnn\.Wh'"):
        load_params(LstmRnnlm(30, 6, 7), tmp_path / "rnn.npz")
    with pytest.raises(ValueError, match=r"embed\.W: the file has shape \(30, 6\), the model "
                                         r"\(31, 6\)"):
        load_params(SimpleRnnlm(31, 6, 7), tmp_path / "rnn.npz")


# ----------------------------------------------------------------------------- generate


def test_generate_is_deterministic_under_a_seed():
    model = SimpleRnnlm(40, 8, 8, rng=np.random.default_rng(0))
    model.params["affine.W"] *= 10  # a peaked but not one-hot distribution
    a = generate(model, [1, 2, 3], 30, rng=np.random.default_rng(7))
    b = generate(model, [1, 2, 3], 30, rng=np.random.default_rng(7))
    c = generate(model, [1, 2, 3], 30, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == (30,) and a.min() >= 0 and a.max() < 40
    assert not np.isin(generate(model, [1], 200, rng=np.random.default_rng(0), skip_ids=[5, 6]),
                       [5, 6]).any()
    greedy = generate(model, [1, 2, 3], 10, temperature=0)
    np.testing.assert_array_equal(greedy, generate(model, [1, 2, 3], 10, temperature=0))


# ----------------------------------------------------------------------------- command line


def _cli(command: str, argv: list[str]) -> int:
    """Run one ``python -m grader`` command without importing all the others (fast)."""
    import argparse
    import importlib

    from grader.cli import COMMANDS

    module = importlib.import_module(COMMANDS[command])
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return module.run(parser.parse_args(argv))


def _json_lines(text: str) -> list[dict]:
    import json

    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_train_cli_on_the_dice_corpus(tmp_path, capsys):
    pytest.importorskip("grader.corpus.dice")
    from grader.corpus.dice import make_dice_corpus

    make_dice_corpus(tmp_path / "dice", sizes={"train": 3000, "valid": 600, "test": 600})
    capsys.readouterr()
    rc = _cli("train", ["rnnlm", "--corpus", "dice", "--data-dir", str(tmp_path / "dice"),
               "--model", "lstm", "--epochs", "2", "--lr", "1", "--hidden", "8", "--batch", "5",
               "--bptt", "10", "--no-progress", "--out", str(tmp_path / "out")])
    assert rc == 0
    lines = _json_lines(capsys.readouterr().out)
    assert [r["event"] for r in lines] == ["config", "epoch", "epoch", "final"]
    final = lines[-1]
    assert 1.0 < final["test_ppl"] < 8.5  # 8 faces: uniform guessing gives 8
    assert final["bayes_ppl"]["test"] < 8
    assert (tmp_path / "out" / "params.npz").is_file()
    assert (tmp_path / "out" / "history.json").is_file()


def test_train_cli_reports_missing_ptb(tmp_path, monkeypatch, capsys):
    import grader.data.ptb as ptb_module

    monkeypatch.delenv("RNNS_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    def offline(url, timeout=None):
        raise OSError("offline (test)")

    monkeypatch.setattr(ptb_module, "_download", offline)
    assert _cli("train", ["rnnlm", "--data-dir", str(tmp_path), "--no-progress"]) == 2
    assert "dice" in capsys.readouterr().err


def test_bench_cli_smoke(ptb, capsys):

    rc = _cli("bench", ["rnnlm", "--data-dir", str(ptb.directory), "--models", "rnn",
               "--iters", "2", "--warmup", "0", "--repeats", "1", "--baseline-iters", "2",
               "--no-torch"])
    assert rc == 0
    lines = _json_lines(capsys.readouterr().out)
    impls = {r["impl"]: r for r in lines}
    assert set(impls) == {"reference", "textbook"}
    assert impls["reference"]["tokens_per_s"] > 0 and "speedup_vs_textbook" in impls["reference"]
    # same initial weights and batches: the first steps' perplexities agree
    assert impls["reference"]["train_ppl"] == pytest.approx(impls["textbook"]["train_ppl"], rel=0.05)


# ----------------------------------------------------------------------------- the training step


def test_trainer_step_equals_clip_then_sgd():
    """Trainer folds clipping into the update (one pass less): same step as the textbook's
    clip_grads(grads, 0.25) followed by p -= lr * g."""
    from grader.reference.optim import SGD, clip_grads

    rng = np.random.default_rng(0)
    xs, ts = rng.integers(0, 50, (4, 6)), rng.integers(0, 50, (4, 6))
    fused = LstmRnnlm(50, 8, 8, dtype=np.float64, rng=np.random.default_rng(1))
    plain = LstmRnnlm(50, 8, 8, dtype=np.float64, rng=np.random.default_rng(1))
    trainer = Trainer(fused, lr=20.0, clip=0.25, progress=False)
    loss = trainer.train_step(xs, ts)
    assert plain.forward(xs, ts) == loss
    plain.backward()
    norm = clip_grads(plain.grads, 0.25)
    assert trainer.history["grad_norm"] == [pytest.approx(norm, rel=1e-12)]
    assert norm > 0.25  # the step was really clipped
    SGD(20.0).step(plain.params, plain.grads)
    for name in plain.params:
        np.testing.assert_allclose(fused.params[name], plain.params[name], rtol=1e-12,
                                   atol=1e-15, err_msg=name)
    assert not any(g.any() for g in fused.grads.values())


def test_training_is_reproducible_with_threads(ptb):
    """Same seed, same batches: bit-identical weights, although threads share the work."""
    def train():
        model = SimpleRnnlm(ptb.vocab_size, 32, 32, rng=np.random.default_rng(7))
        trainer = Trainer(model, lr=1.0, clip=0.25, progress=False)
        for xs, ts in sequential_batches(ptb.train, 20, 35, n_batches=4):
            trainer.train_step(xs, ts)
        return model.params

    first, second = train(), train()
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)


def test_forget_bias_sets_the_forget_block_only():
    model = LstmRnnlm(30, 4, 5, forget_bias=1.0, rng=np.random.default_rng(0))
    b = model.params["lstm.b"]
    np.testing.assert_array_equal(b[:5], 1.0)
    assert not b[5:].any()
    with pytest.raises(TypeError):
        SimpleRnnlm(30, 4, 5, forget_bias=1.0)


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_torch_comparison_model_matches_the_reference(kind, ptb):
    """The benchmark's PyTorch model computes the same losses from the same weights, step
    after step.  torch is never a dependency: the test runs where it is importable, or
    where RNNS_TORCH_PATH names a folder holding it (.ci/run installs the CPU wheel that
    these machines keep on disk there), and is skipped elsewhere."""
    import os
    import sys

    torch_path = os.environ.get("RNNS_TORCH_PATH")
    if torch_path:
        if torch_path not in sys.path:
            sys.path.append(torch_path)
        import torch  # noqa: F401 - RNNS_TORCH_PATH set: a failing import is a failure
    else:
        pytest.importorskip("torch")
    from grader.bench.rnnlm import torch_rnnlm

    cls = SimpleRnnlm if kind == "rnn" else LstmRnnlm
    model = cls(ptb.vocab_size, 100, 100, rng=np.random.default_rng(0))
    loss_fn, torch_step = torch_rnnlm(kind, model.params, 100, lr=1.0, clip=0.25)
    batches = list(sequential_batches(ptb.train, 20, 35, n_batches=4))
    assert loss_fn(*batches[0]) == pytest.approx(model.forward(*batches[0]), rel=1e-5)
    model.reset_state()
    trainer = Trainer(model, lr=1.0, clip=0.25, progress=False)
    for xs, ts in batches:  # state carried, clipped SGD: the losses stay together
        assert torch_step(xs, ts) == pytest.approx(trainer.train_step(xs, ts), rel=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lstm_comes_within_3_percent_of_the_bayes_optimum_on_dice(seed, tmp_path):
    """The chapter's dice experiment: the generating HMM gives the best possible
    perplexity; a small LSTM trained for 5 short epochs must come within 3% of it."""
    from grader.corpus.dice import FACES, load_dice_corpus, make_dice_corpus

    make_dice_corpus(tmp_path, seed=0, sizes={"train": 20_000, "valid": 3_000, "test": 3_000})
    dice = load_dice_corpus(tmp_path)
    bayes = dice["meta"]["splits"]["valid"]["bayes_perplexity"]
    model = LstmRnnlm(len(FACES), 16, 32, rng=np.random.default_rng(seed))
    history = Trainer(model, lr=2.0, clip=1.0, progress=False).fit(
        dice["tokens"]["train"], dice["tokens"]["valid"], epochs=5, batch_size=20, time_size=35)
    assert bayes <= history["valid_ppl"][-1] <= 1.03 * bayes
