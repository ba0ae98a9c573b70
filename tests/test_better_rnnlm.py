"""The better language model: stacked LSTMs, dropout, weight tying; the trainer's time budget;
the ``train rnnlm`` options that build it."""
from __future__ import annotations

import numpy as np
import pytest

from test_rnnlm import _cli, _json_lines

from grader.gradcheck import TOLERANCE, check_gradients
from grader.reference.better_rnnlm import BetterRnnlm, tie_embedding
from grader.reference.layer import load_params, save_params
from grader.reference.rnnlm import LanguageModel, Trainer, evaluate_perplexity
from grader.reference.time_layers import TimeAffineSoftmaxWithLoss, TimeEmbedding

V, D = 11, 6


def _model(rng, **kwargs) -> BetterRnnlm:
    model = BetterRnnlm(V, D, D, dtype=np.float64, rng=rng, **kwargs)
    model.params["affine.b"][:] = rng.standard_normal(V)
    # Unit-scale embeddings (see test_rnnlm.test_model_gradients): with randn / 100 the
    # finite differences' round-off would dominate the recurrent layers' small gradients.
    model.params["embed.W"][:] = rng.standard_normal(model.params["embed.W"].shape)
    return model


@pytest.mark.parametrize("layers, dropout, tie", [(2, 0.3, True), (2, 0.3, False),
                                                  (1, 0.0, True), (3, 0.5, True)])
def test_gradients_float64(layers, dropout, tie):
    rng = np.random.default_rng(layers)
    model = _model(rng, num_layers=layers, dropout=dropout, tie_weights=tie)
    xs, ts = rng.integers(0, V, (3, 4)), rng.integers(0, V, (3, 4))

    def loss():
        model.reset_state()
        for k, drop in enumerate(model.dropouts):  # the same masks at every evaluation
            drop.rng = np.random.default_rng(100 + k)
        return model.forward(xs, ts)

    loss()
    model.zero_grad()
    model.backward()
    errors = check_gradients(loss, model.params, {k: g.copy() for k, g in model.grads.items()})
    assert max(errors.values()) < TOLERANCE, errors
    if dropout:  # the masks really dropped something, so the check covered them
        assert any((d._mask == 0).any() for d in model.dropouts)


def test_parameter_names_and_the_tied_matrix():
    rng = np.random.default_rng(0)
    tied = BetterRnnlm(V, D, D, num_layers=2, rng=rng)
    assert isinstance(tied, LanguageModel)
    assert tied.params.keys() == tied.grads.keys()
    assert set(tied.params) == {"embed.W", "affine.b", "lstm1.Wx", "lstm1.Wh", "lstm1.b",
                                "lstm2.Wx", "lstm2.Wh", "lstm2.b"}
    # One matrix: the embedding reads the output layer's weights through a transposed view.
    assert np.shares_memory(tied.embed.params["W"], tied.affine.params["W"])
    np.testing.assert_array_equal(tied.embed.params["W"], tied.affine.params["W"].T)
    assert np.shares_memory(tied.embed.grads["W"], tied.affine.grads["W"])
    # ... and the fused layer still uses its own stacked storage (the fast path).
    assert tied.affine._stacked_weights() is tied.affine._Wb
    untied = BetterRnnlm(V, D, D, num_layers=2, tie_weights=False, rng=rng)
    assert set(untied.params) == set(tied.params) | {"affine.W"}
    assert not np.shares_memory(untied.embed.params["W"], untied.affine.params["W"])
    assert sum(p.size for p in untied.params.values()) - sum(
        p.size for p in tied.params.values()) == V * D
    assert all(p.dtype == np.float32 for p in tied.params.values())
    with pytest.raises(ValueError, match="wordvec_size == hidden_size"):
        BetterRnnlm(V, 4, 5, tie_weights=True)
    assert BetterRnnlm(V, 4, 5, tie_weights=False).lstms[1].params["Wx"].shape == (5, 20)


def test_tied_gradient_is_the_sum_of_both_uses():
    rng = np.random.default_rng(3)
    embed = TimeEmbedding(V, D, dtype=np.float64, rng=rng)
    affine = TimeAffineSoftmaxWithLoss(D, V, dtype=np.float64, rng=rng)
    W0 = embed.params["W"].copy()
    tie_embedding(embed, affine)
    np.testing.assert_array_equal(affine.params["W"], W0.T)  # the embedding's values kept
    xs, ts = rng.integers(0, V, (2, 3)), rng.integers(0, V, (2, 3))
    affine.forward(embed.forward(xs), ts)
    embed.backward(affine.backward())
    # The same passes on untied copies: the tied gradient is their sum.
    e2 = TimeEmbedding(V, D, dtype=np.float64, rng=rng)
    a2 = TimeAffineSoftmaxWithLoss(D, V, dtype=np.float64, rng=rng)
    e2.params["W"][...] = W0
    a2.params["W"][...] = W0.T
    a2.params["b"][...] = affine.params["b"]
    a2.forward(e2.forward(xs), ts)
    e2.backward(a2.backward())
    np.testing.assert_allclose(affine.grads["W"], a2.grads["W"] + e2.grads["W"].T, atol=1e-12)


def test_dropout_only_in_training_mode():
    rng = np.random.default_rng(1)
    model = BetterRnnlm(V, D, D, num_layers=2, dropout=0.5, dtype=np.float64, rng=rng)
    xs = rng.integers(0, V, (2, 5))
    model.set_training(False)
    model.reset_state()
    a = model.predict(xs)
    model.reset_state()
    b = model.predict(xs)
    np.testing.assert_array_equal(a, b)  # deterministic: no dropout
    model.set_training(True)
    model.reset_state()
    assert not np.allclose(model.predict(xs), a)
    # evaluate_perplexity switches dropout off (twice the same value), and so does
    # the Trainer after each of its steps.
    corpus = rng.integers(0, V, 200)
    model.set_training(True)
    p1 = evaluate_perplexity(model, corpus, 2, 5)
    assert not model.training
    model.set_training(True)
    assert evaluate_perplexity(model, corpus, 2, 5) == p1
    trainer = Trainer(model, lr=0.1, progress=False)
    trainer.train_step(xs, xs)
    assert not model.training


def test_save_and_load_a_tied_model(tmp_path):
    a = BetterRnnlm(V, D, D, num_layers=2, rng=np.random.default_rng(0))
    b = BetterRnnlm(V, D, D, num_layers=2, rng=np.random.default_rng(1))
    load_params(b, save_params(a, tmp_path / "m"))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    np.testing.assert_array_equal(b.affine.params["W"], a.embed.params["W"].T)


def test_training_lowers_the_loss_and_repeats_under_a_seed():
    corpus = np.tile(np.arange(V), 40)  # a cycle: easy to learn

    def train(seed):
        model = BetterRnnlm(V, 8, 8, num_layers=2, dropout=0.2,
                            rng=np.random.default_rng(seed))
        trainer = Trainer(model, lr=5.0, progress=False)
        return trainer.fit(corpus, corpus, epochs=6, batch_size=4, time_size=5,
                           eval_batch_size=4)

    h = train(0)
    assert h["valid_ppl"][-1] < 3 < V - 0.5 < h["valid_ppl"][0]  # from guessing to knowing
    assert train(0)["valid_ppl"] == h["valid_ppl"]


# ----------------------------------------------------------------------------- time budget


class _Clocked:
    """A tiny model whose every forward takes one second of a fake clock."""

    def __init__(self, clock):
        self.params, self.grads = {"w": np.zeros(2)}, {"w": np.zeros(2)}
        self.clock = clock

    def forward(self, xs, ts):
        self.clock[0] += 1.0
        return 1.0

    def backward(self, dout=1.0):
        pass

    def reset_state(self):
        pass


def test_trainer_time_budget_stops_and_decays_the_last_epochs(monkeypatch):
    import grader.reference.rnnlm as rnnlm

    clock = [0.0]
    monkeypatch.setattr(rnnlm.time, "perf_counter", lambda: clock[0])
    trainer = Trainer(_Clocked(clock), lr=16.0, clip=None, lr_decay=2.0, max_seconds=3.5,
                      decay_last=2, progress=False)
    # One batch per epoch, no validation: each epoch takes one (fake) second, so three
    # fit in 3.5 s, and the last two of those start with a decay.
    history = trainer.fit(np.arange(11), epochs=10, batch_size=2, time_size=5)
    assert history["epoch"] == [1, 2, 3]
    assert history["lr"] == [16.0, 8.0, 4.0]
    assert trainer.scheduled_decay_from == 2


def test_decay_last_without_a_budget_counts_from_the_planned_epochs():
    trainer = Trainer(_Clocked([0.0]), lr=8.0, clip=None, lr_decay=2.0, decay_last=2,
                      progress=False)
    history = trainer.fit(np.arange(11), epochs=4, batch_size=2, time_size=5)
    assert history["lr"] == [8.0, 8.0, 4.0, 2.0]
    assert trainer.scheduled_decay_from == 3


# ----------------------------------------------------------------------------- command


def _train_cli(argv):
    return _cli("train", argv)


def test_train_cli_builds_the_better_model(tmp_path, capsys):
    pytest.importorskip("grader.corpus.dice")
    from grader.corpus.dice import make_dice_corpus

    make_dice_corpus(tmp_path / "dice", sizes={"train": 3000, "valid": 600, "test": 600})
    capsys.readouterr()
    argv = ["rnnlm", "--corpus", "dice", "--data-dir", str(tmp_path / "dice"), "--layers", "2",
            "--dropout", "0.2", "--tie-weights", "--hidden", "8", "--batch", "5", "--bptt",
            "10", "--epochs", "3", "--lr", "1", "--decay-last", "1", "--max-minutes", "60",
            "--no-progress"]
    assert _train_cli(argv) == 0
    lines = _json_lines(capsys.readouterr().out)
    config, final = lines[0], lines[-1]
    assert [r["event"] for r in lines] == ["config", "epoch", "epoch", "epoch", "final"]
    assert config["class"] == "BetterRnnlm" and config["layers"] == 2
    assert config["tie_weights"] and config["dropout"] == 0.2
    assert config["command"].startswith("python -m grader train rnnlm --model lstm")
    assert "--tie-weights" in config["command"] and "--layers 2" in config["command"]
    assert [r["lr"] for r in lines[1:4]] == [1.0, 1.0, 0.25]
    assert final["epochs_run"] == 3 and 1.0 < final["test_ppl"] < 8.5
    # The run again without the clock: the same epochs and decays, the same numbers.
    repeat = final["repeat_command"].split()
    assert "--max-minutes" not in repeat and repeat[repeat.index("--decay-from") + 1] == "3"
    assert _train_cli(repeat[4:]) == 0
    assert _json_lines(capsys.readouterr().out)[-1]["test_ppl"] == final["test_ppl"]


def test_train_cli_goes_on_from_a_checkpoint_to_the_same_result(tmp_path, capsys):
    """Stopped after 2 of 4 epochs and started again: the uninterrupted run's numbers, exactly
    (dropout draws included), and the earlier epochs printed again, marked as resumed."""
    pytest.importorskip("grader.corpus.dice")
    from grader.corpus.dice import make_dice_corpus

    make_dice_corpus(tmp_path / "dice", sizes={"train": 3000, "valid": 600, "test": 600})
    capsys.readouterr()
    base = ["rnnlm", "--corpus", "dice", "--data-dir", str(tmp_path / "dice"), "--layers", "2",
            "--dropout", "0.3", "--tie-weights", "--hidden", "8", "--batch", "5", "--bptt",
            "10", "--lr", "1", "--lr-decay", "2", "--decay-from", "4", "--no-progress"]
    assert _train_cli([*base, "--epochs", "4"]) == 0
    whole = _json_lines(capsys.readouterr().out)

    folder = str(tmp_path / "ckpt")
    assert _train_cli([*base, "--epochs", "2", "--checkpoint", folder]) == 0
    first = _json_lines(capsys.readouterr().out)
    assert [r["event"] for r in first] == ["config", "epoch", "epoch", "final"]
    assert _train_cli([*base, "--epochs", "4", "--checkpoint", folder]) == 0
    second = _json_lines(capsys.readouterr().out)
    assert [(r["event"], r.get("resumed", False)) for r in second] == [
        ("config", False), ("epoch", True), ("epoch", True), ("epoch", False), ("epoch", False),
        ("final", False)]
    for mine, theirs in zip(second[1:5], whole[1:5]):
        assert {k: mine[k] for k in ("epoch", "train_ppl", "valid_ppl", "lr")} == \
            {k: theirs[k] for k in ("epoch", "train_ppl", "valid_ppl", "lr")}
    assert second[-1]["test_ppl"] == whole[-1]["test_ppl"]
    assert second[-1]["seconds"] > first[-1]["seconds"] * 0.9  # the earlier time counts
    assert "--checkpoint" in second[0]["command"]

    # Everything ran: the same command again only measures the kept parameters.
    assert _train_cli([*base, "--epochs", "4", "--checkpoint", folder]) == 0
    again = _json_lines(capsys.readouterr().out)
    assert [r["event"] for r in again] == ["config"] + ["epoch"] * 4 + ["final"]
    assert again[-1]["test_ppl"] == whole[-1]["test_ppl"]

    # Another model in the same folder is refused, by name, and the checkpoint survives.
    changed = [*base, "--epochs", "4", "--checkpoint", folder]
    changed[changed.index("--dropout") + 1] = "0.2"
    assert _train_cli(changed) == 2
    err = capsys.readouterr().err
    assert "another run" in err and "dropout: checkpoint 0.3, now 0.2" in err
    assert _train_cli([*base, "--epochs", "4", "--checkpoint", folder]) == 0


def test_a_crash_while_saving_leaves_a_consistent_checkpoint(tmp_path, monkeypatch):
    """Killed after the new arrays are written but before the JSON names them: the
    checkpoint still restores one epoch whole, parameters and trainer state together."""
    import grader.reference.checkpoint as checkpoint

    corpus = np.tile(np.arange(V), 20)
    model = BetterRnnlm(V, 8, 8, num_layers=2, dropout=0.2, rng=np.random.default_rng(0))
    trainer = Trainer(model, lr=5.0, progress=False)
    key = {"model": "test"}
    trainer.fit(corpus, epochs=1, batch_size=4, time_size=5)
    checkpoint.save_checkpoint(tmp_path, model, trainer, key)
    after_one = {k: p.copy() for k, p in model.params.items()}
    trainer.fit(corpus, epochs=1, batch_size=4, time_size=5)

    real_replace = checkpoint._replace

    def crash_on_json(path, write):
        if path.name == checkpoint.STATE_FILE:
            raise KeyboardInterrupt
        real_replace(path, write)

    monkeypatch.setattr(checkpoint, "_replace", crash_on_json)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint(tmp_path, model, trainer, key)
    monkeypatch.undo()
    assert len(list(tmp_path.glob(checkpoint.PARAMS_GLOB))) == 2  # the new one, unnamed

    fresh = BetterRnnlm(V, 8, 8, num_layers=2, dropout=0.2, rng=np.random.default_rng(9))
    fresh_trainer = Trainer(fresh, lr=5.0, progress=False)
    checkpoint.load_checkpoint(tmp_path, fresh, fresh_trainer, key)
    assert len(fresh_trainer.history["epoch"]) == 1
    for name, p in fresh.params.items():
        np.testing.assert_array_equal(p, after_one[name])
    # The next save completes and tidies up: one arrays file, the one the JSON names.
    checkpoint.save_checkpoint(tmp_path, model, trainer, key)
    assert len(list(tmp_path.glob(checkpoint.PARAMS_GLOB))) == 1
    # A JSON file naming a path outside the folder is refused, not followed.
    state_file = tmp_path / checkpoint.STATE_FILE
    state_file.write_text(state_file.read_text().replace(
        '"params_file": "checkpoint-', '"params_file": "../checkpoint-'))
    with pytest.raises(ValueError, match="names no arrays file"):
        checkpoint.load_checkpoint(tmp_path, fresh, fresh_trainer, key)


@pytest.mark.parametrize("argv, message", [
    (["--model", "rnn", "--dropout", "0.5"], "--dropout needs --model lstm"),
    (["--tie-weights", "--embed", "4", "--hidden", "8"], "wordvec_size == hidden_size"),
])
def test_train_cli_rejects_impossible_models(tmp_path, capsys, argv, message):
    pytest.importorskip("grader.corpus.dice")
    from grader.corpus.dice import make_dice_corpus

    make_dice_corpus(tmp_path / "dice", sizes={"train": 300, "valid": 100, "test": 100})
    capsys.readouterr()
    rc = _train_cli(["rnnlm", "--corpus", "dice", "--data-dir", str(tmp_path / "dice"),
                     "--no-progress", *argv])
    assert rc == 2
    assert message in capsys.readouterr().err


# ----------------------------------------------------------------------------- benchmark


def _import_torch_or_skip():
    """torch where importable, or from RNNS_TORCH_PATH (as test_rnnlm's comparison test)."""
    import os
    import sys

    torch_path = os.environ.get("RNNS_TORCH_PATH")
    if torch_path:
        if torch_path not in sys.path:
            sys.path.append(torch_path)
        import torch  # noqa: F401 - RNNS_TORCH_PATH set: a failing import is a failure
    else:
        pytest.importorskip("torch")


def test_torch_twin_of_the_better_model_matches_the_reference():
    """The benchmark's PyTorch 2-layer tied model computes the same losses from the same
    weights, step after step (dropout 0 here: the two libraries draw different masks)."""
    _import_torch_or_skip()
    from grader.bench.rnnlm import torch_rnnlm
    from grader.reference.rnnlm import sequential_batches

    rng = np.random.default_rng(0)
    corpus = rng.integers(0, 50, 2000)
    model = BetterRnnlm(50, 16, 16, num_layers=2, dropout=0.0, rng=rng)
    loss_fn, torch_step = torch_rnnlm("lstm", model.params, 16, lr=1.0, clip=0.25, layers=2,
                                      dropout=0.0)
    batches = list(sequential_batches(corpus, 5, 7, n_batches=4))
    assert loss_fn(*batches[0]) == pytest.approx(model.forward(*batches[0]), rel=1e-5)
    model.reset_state()
    trainer = Trainer(model, lr=1.0, clip=0.25, progress=False)
    for xs, ts in batches:
        assert torch_step(xs, ts) == pytest.approx(trainer.train_step(xs, ts), rel=1e-4)


def test_bench_times_the_better_model_and_the_small_size(ptb_dir, capsys):
    import argparse

    from grader.bench import rnnlm as bench

    parser = argparse.ArgumentParser()
    bench.add_arguments(parser)
    args = parser.parse_args(["--data-dir", str(ptb_dir), "--models", "rnn,lstm2,lstm650", "--iters",
                              "1", "--warmup", "0", "--repeats", "1", "--baseline-iters", "1",
                              "--no-torch"])
    capsys.readouterr()
    assert bench.run(args) == 0
    lines = {(r["model"], r["size"], r["impl"]): r for r in _json_lines(capsys.readouterr().out)}
    assert set(lines) == {("rnn", "book", "reference"), ("rnn", "book", "textbook"),
                          ("lstm2", "book", "reference"), ("lstm650", "book", "reference"),
                          ("rnn", "small", "reference"), ("rnn", "small", "textbook")}
    better = lines["lstm2", "book", "reference"]
    assert (better["hidden"], better["layers"], better["tie_weights"]) == (300, 2, True)
    textbook_size = lines["lstm650", "book", "reference"]
    assert (textbook_size["hidden"], textbook_size["dropout"], textbook_size["layers"]) == (650, 0.5, 2)
    small = lines["rnn", "small", "reference"]
    assert (small["vocab"], small["batch"], small["bptt"], small["clip"]) == (418, 10, 5, None)
    assert "speedup_vs_textbook" in small and "meets_target" not in small
    assert lines["rnn", "small", "textbook"]["blas_threads"] == 1
    # same weights, same batches, no dropout: the two implementations agree
    assert small["train_ppl"] == pytest.approx(lines["rnn", "small", "textbook"]["train_ppl"],
                                               rel=1e-3)
