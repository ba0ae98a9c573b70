"""Tests for the chapter-5 reference: grader/reference/gumbel.py and grader/reference/mrnn.py.

Gradient checks are float64 with the Gumbel noise held fixed (``fixed_noise``), so the
sampled loss is a deterministic smooth function of the parameters.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients, check_layer
from grader.reference.functions import softmax
from grader.reference.gumbel import (entropy, entropy_backward, gumbel_noise, gumbel_softmax,
                                     gumbel_softmax_backward, hard_sample, kl_uniform,
                                     temperature)
from grader.reference.mrnn import (MrnnLM, MrnnTrainer, TimeMRNN, collect_states,
                                   state_recovery_accuracy)
from grader.reference.rnnlm import evaluate_perplexity
from grader.reference.time_layers import TimeLSTM, TimeRNN

N, T, D, H, V = 3, 4, 5, 6, 7


def assert_all_small(errors: dict[str, float]) -> None:
    assert errors, "nothing was checked"
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, f"{worst}: relative error {errors[worst]:.2e}"


def fixed_noise(rng, *shape):
    return gumbel_noise(shape, rng)


# --------------------------------------------------------------------------------------
# Gumbel-softmax and entropy
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("tau", [0.3, 1.0, 5.0])
def test_gumbel_softmax_gradcheck(tau):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4, 3))
    g = fixed_noise(rng, 4, 3)
    w = rng.standard_normal((4, 3))

    def loss():
        return float(np.sum(w * gumbel_softmax(a, g, tau)))

    dz = gumbel_softmax_backward(w, gumbel_softmax(a, g, tau), tau)
    assert_all_small(check_gradients(loss, {"a": a}, {"a": dz}))


def test_gumbel_softmax_ignores_normalisation():
    # softmax((log q + g)/tau) == softmax((a + g)/tau): the logits need not be normalised.
    rng = np.random.default_rng(1)
    a = rng.standard_normal((5, 4))
    g = fixed_noise(rng, 5, 4)
    logq = np.log(softmax(a))
    np.testing.assert_allclose(gumbel_softmax(a, g, 0.5), gumbel_softmax(logq, g, 0.5),
                               rtol=1e-12, atol=1e-15)
    with pytest.raises(ValueError):
        gumbel_softmax(a, g, 0.0)


def test_entropy_gradcheck_and_values():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((6, 4)) * 2
    w = rng.standard_normal(6)

    def loss():
        return float(np.sum(w * entropy(a)))

    assert_all_small(check_gradients(loss, {"a": a}, {"a": entropy_backward(w, a)}))
    # A scalar upstream gradient means the same weight for every row.
    np.testing.assert_allclose(entropy_backward(0.3, a), entropy_backward(np.full(6, 0.3), a))
    # Uniform: H = log K, KL = 0; nearly one-hot: H -> 0, KL -> log K; never nan.
    assert np.allclose(entropy(np.zeros((2, 4))), math.log(4))
    assert np.allclose(kl_uniform(np.zeros((2, 4))), 0.0)
    peaked = np.array([[0.0, -1e4, -1e4]])
    assert entropy(peaked)[0] == pytest.approx(0.0, abs=1e-12)
    assert kl_uniform(peaked)[0] == pytest.approx(math.log(3))
    assert np.all(np.isfinite(entropy_backward(1.0, peaked)))


def test_gumbel_max_samples_follow_q():
    # argmax(log q + g) is an exact sample from q: chi-square over 20,000 draws.
    rng = np.random.default_rng(3)
    q = np.array([0.5, 0.25, 0.15, 0.07, 0.03])
    draws = 20_000
    z = hard_sample(np.tile(np.log(q), (draws, 1)), gumbel_noise((draws, q.size), rng))
    assert np.all(z.sum(axis=1) == 1)
    counts = z.sum(axis=0)
    expected = draws * q
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert chi2 < 18.47, f"chi-square {chi2:.1f} with 4 dof (p = 0.001 critical value 18.47)"


def test_low_temperature_approaches_one_hot():
    rng = np.random.default_rng(4)
    a = rng.standard_normal((2000, 3))
    g = fixed_noise(rng, 2000, 3)
    hard = hard_sample(a, g)
    peaks = []
    for tau in (5.0, 1.0, 0.1, 0.01):
        z = gumbel_softmax(a, g, tau)
        np.testing.assert_allclose(z.sum(axis=1), 1.0)
        peaks.append(z.max(axis=1).mean())
    assert peaks == sorted(peaks), peaks            # sharper as tau falls
    z = gumbel_softmax(a, g, 0.001)
    assert np.mean(np.abs(z - hard).max(axis=1) < 1e-3) > 0.99
    assert np.array_equal(z.argmax(axis=1), hard.argmax(axis=1))
    # At high temperature the sample tends to the uniform vector.
    assert np.abs(gumbel_softmax(a, g, 1e4) - 1 / 3).max() < 1e-3


def test_temperature_schedule():
    assert temperature(0) == 5.0
    assert temperature(1) == pytest.approx(5.0 * math.exp(-0.1))
    assert temperature(10) == pytest.approx(5.0 * math.exp(-1.0))
    assert temperature(39) == pytest.approx(5.0 * math.exp(-3.9))   # still above the floor
    assert temperature(40) == 0.1 and temperature(1000) == 0.1   # floored at tau_min
    assert temperature(2, tau0=1.0, rate=0.5, tau_min=0.0) == pytest.approx(math.exp(-1))
    with pytest.raises(ValueError):
        temperature(-1)


# --------------------------------------------------------------------------------------
# TimeMRNN
# --------------------------------------------------------------------------------------
def make_layer(cell, K, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    layer = TimeMRNN(D, H, K, cell=cell, dtype=np.float64, rng=rng, tau=0.7, **kwargs)
    layer.fixed_noise = fixed_noise(rng, N, T, K)
    return layer, rng


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("K", [1, 2, 3])
def test_time_mrnn_gradcheck(cell, K):
    layer, rng = make_layer(cell, K, seed=K)
    xs = rng.standard_normal((N, T, D))
    errors = check_layer(layer, xs)
    assert set(errors) == {"Wx", "Wh", "b", "Wz", "bz", "input0"}
    assert_all_small(errors)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
@pytest.mark.parametrize("K", [1, 3])
def test_time_mrnn_gradcheck_with_carried_state_and_entropy(cell, K):
    # Non-zero initial state (checked through the layer's own state arrays) and the
    # entropy term of the cost, entering with weight c through backward(..., dentropy=c).
    layer, rng = make_layer(cell, K, seed=10 + K, stateful=False)
    xs = rng.standard_normal((N, T, D))
    layer.set_state(rng.standard_normal((N, H)),
                    rng.standard_normal((N, H)) if cell == "lstm" else None)
    dout = rng.standard_normal((N, T, H))
    c = -0.7

    def loss():
        return float(np.sum(layer.forward(xs) * dout) + c * layer.entropy)

    loss()
    layer.zero_grad()
    dxs = layer.backward(dout, dentropy=c)
    arrays = dict(layer.params, xs=xs, h0=layer.h)
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    analytic.update(xs=dxs, h0=layer.dh)
    if cell == "lstm":
        arrays["c0"], analytic["c0"] = layer.c, layer.dc
    assert_all_small(check_gradients(loss, arrays, analytic))
    assert np.abs(layer.dh).max() > 0


def test_entropy_term_alone_reaches_the_state_logits():
    layer, rng = make_layer("lstm", 3, seed=5, stateful=False)
    xs = rng.standard_normal((N, T, D))

    def loss():
        layer.forward(xs)
        return layer.entropy

    loss()
    layer.zero_grad()
    layer.backward(np.zeros((N, T, H)), dentropy=1.0)
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    errors = check_gradients(loss, dict(layer.params), analytic)
    assert_all_small(errors)
    assert np.abs(layer.grads["Wz"]).max() > 1e-3
    assert layer.kl == pytest.approx(math.log(3) - layer.entropy)


def test_fused_views_write_into_the_cache():
    # The per-encoder blocks are reshaped views of one (N, K*G + K) row block: if NumPy
    # ever copied instead, the in-place activations would be lost (and gradchecks fail).
    acts = np.zeros((2, 3 * 24 + 3))
    assert np.shares_memory(acts[:, :72].reshape(2, 3, 24), acts)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_k1_equals_plain_recurrent_layer(cell):
    rng = np.random.default_rng(6)
    mrnn = TimeMRNN(D, H, 1, cell=cell, dtype=np.float64, rng=rng)
    plain = (TimeLSTM if cell == "lstm" else TimeRNN)(D, H, dtype=np.float64, rng=rng)
    for name in ("Wx", "Wh", "b"):
        plain.params[name][...] = mrnn.params[name]
    mrnn.tau = 0.3
    for _ in range(2):   # the second batch starts from the carried state
        xs = rng.standard_normal((N, T, D))
        dout = rng.standard_normal((N, T, H))
        h1, h2 = mrnn.forward(xs), plain.forward(xs)
        assert np.array_equal(h1, h2)
        mrnn.zero_grad()
        plain.zero_grad()
        dx1, dx2 = mrnn.backward(dout, dentropy=0.5), plain.backward(dout)
        np.testing.assert_allclose(dx1, dx2, rtol=1e-13, atol=1e-15)
        for name in ("Wx", "Wh", "b"):
            np.testing.assert_allclose(mrnn.grads[name], plain.grads[name], rtol=1e-13,
                                       atol=1e-15)
        assert not mrnn.grads["Wz"].any() and not mrnn.grads["bz"].any()
    assert mrnn.entropy == 0.0 and np.all(mrnn.z == 1.0)


def test_eval_mode_gives_one_hot_argmax_without_noise():
    layer, rng = make_layer("lstm", 3, seed=7)
    layer.fixed_noise = None
    xs = rng.standard_normal((N, T, D)) * 3
    layer.training = False
    before = layer.rng.bit_generator.state
    layer.forward(xs)
    assert layer.rng.bit_generator.state == before            # no noise drawn
    assert layer.noise is None
    z, q = layer.z, layer.q
    assert set(np.unique(z)) <= {0.0, 1.0} and np.all(z.sum(axis=-1) == 1)
    assert np.array_equal(z.argmax(axis=-1), q.argmax(axis=-1))
    np.testing.assert_allclose(q.sum(axis=-1), 1.0)
    # Training mode draws fresh noise each call: the samples are soft and differ.
    layer.training = True
    layer.reset_state()
    z1 = layer.forward(xs) is not None and layer.z
    layer.reset_state()
    layer.forward(xs)
    assert not np.array_equal(z1, layer.z)
    assert np.all((layer.z > 0) & (layer.z < 1))


def test_float32_preserved():
    rng = np.random.default_rng(8)
    for cell in ("lstm", "rnn"):
        layer = TimeMRNN(D, H, 2, cell=cell, rng=rng)
        xs = rng.standard_normal((N, T, D)).astype(np.float32)
        hs = layer.forward(xs)
        dxs = layer.backward(np.ones_like(hs), dentropy=-0.01)
        assert hs.dtype == dxs.dtype == layer.q.dtype == layer.z.dtype == np.float32
        assert all(g.dtype == np.float32 for g in layer.grads.values())
    a = rng.standard_normal((4, 3)).astype(np.float32)
    g = gumbel_noise((4, 3), rng, np.float32)
    assert g.dtype == np.float32
    for out in (gumbel_softmax(a, g, 0.5), hard_sample(a, g), entropy(a), kl_uniform(a),
                entropy_backward(0.1, a), gumbel_softmax_backward(a, softmax(a), 0.5)):
        assert out.dtype == np.float32
    model = MrnnLM(V, D, H, 2, rng=rng)
    xs = rng.integers(0, V, (N, T))
    loss = model.forward(xs, xs)
    model.backward()
    assert isinstance(loss, float)
    assert all(g.dtype == np.float32 for g in model.grads.values())


def test_noise_shape_is_checked():
    layer, rng = make_layer("rnn", 2)
    with pytest.raises(ValueError, match="noise"):
        layer.forward(rng.standard_normal((N, T + 1, D)))
    with pytest.raises(ValueError):
        TimeMRNN(D, H, 2, cell="gru")


# --------------------------------------------------------------------------------------
# The language model, trainer and analysis
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_mrnn_lm_gradcheck_of_the_whole_objective(cell):
    rng = np.random.default_rng(9)
    model = MrnnLM(V, D, H, 2, cell=cell, beta=0.3, dtype=np.float64, rng=rng)
    # Unit-scale embeddings: with the default 0.01 the state logits barely move and their
    # gradients (~1e-5) drown in the round-off of the numerical differences.
    model.params["embed.W"][...] = rng.standard_normal((V, D))
    model.tau = 0.8
    model.mrnn.fixed_noise = fixed_noise(rng, N, T, 2)
    xs = np.array([[1, 3, 1, 1], [3, 0, 6, 3], [2, 2, 1, 5]])   # repeated ids
    ts = np.roll(xs, -1, axis=1)

    def loss():
        model.reset_state()
        model.forward(xs, ts)
        return model.objective

    model.reset_state()
    nll = model.forward(xs, ts)
    assert model.objective == pytest.approx(nll - 0.3 * model.mrnn.entropy)
    model.zero_grad()
    model.backward()
    analytic = {k: g.copy() for k, g in model.grads.items()}
    assert_all_small(check_gradients(loss, model.params, analytic))
    assert sorted(model.params) == sorted(
        ["embed.W", "mrnn.Wx", "mrnn.Wh", "mrnn.b", "mrnn.Wz", "mrnn.bz", "affine.W", "affine.b"])


def test_beta_zero_is_maximum_likelihood():
    rng = np.random.default_rng(10)
    model = MrnnLM(V, D, H, 3, beta=0.0, dtype=np.float64, rng=rng)
    xs = rng.integers(0, V, (N, T))
    model.mrnn.fixed_noise = fixed_noise(rng, N, T, 3)
    nll = model.forward(xs, xs)
    assert model.objective == nll
    assert 0.0 <= model.entropy <= math.log(3) + 1e-12
    assert model.kl == pytest.approx(math.log(3) - model.entropy)


def _toy_corpus(rng, n=4000):
    """A two-regime toy text: ids 0..3 in one regime, 4..7 in the other, sticky switches."""
    states = np.zeros(n, dtype=np.int32)
    for t in range(1, n):
        states[t] = states[t - 1] if rng.random() < 0.95 else 1 - states[t - 1]
    tokens = (rng.integers(0, 4, n) + 4 * states).astype(np.int32)
    return tokens, states


def test_trainer_anneals_tau_and_evaluates_in_eval_mode():
    rng = np.random.default_rng(11)
    tokens, _ = _toy_corpus(rng, 3000)
    model = MrnnLM(8, 8, 8, 2, rng=rng)
    seen = []
    trainer = MrnnTrainer(model, lr=1.0, progress=False)
    history = trainer.fit(tokens[:2500], tokens[2500:], epochs=3, batch_size=5, time_size=10,
                          eval_batch_size=5, callback=seen.append)
    assert history["tau"] == pytest.approx([temperature(e) for e in range(3)])
    assert len(history["entropy"]) == len(history["kl"]) == 3
    assert [r["tau"] for r in seen] == history["tau"] and "entropy" in seen[0]
    assert not model.training and not model.mrnn.training       # left in evaluation mode
    assert all(p is not None and np.isfinite(p) for p in history["valid_ppl"])
    assert evaluate_perplexity(model, tokens[2500:], 5, 10) == pytest.approx(
        trainer.best_valid_ppl, rel=1e-4)


def test_collect_states_and_state_recovery():
    rng = np.random.default_rng(12)
    tokens, states = _toy_corpus(rng, 1200)
    model = MrnnLM(8, 8, 8, 2, rng=rng)
    res = collect_states(model, tokens, batch_size=2, time_size=7, max_tokens=101)
    M = 2 * 50
    assert res["h"].shape == (M, 8) and res["z"].shape == res["q"].shape == (M, 2)
    assert res["logits"].shape == (M, 8) and res["state"].shape == (M,)
    np.testing.assert_array_equal(res["inputs"], tokens[res["positions"]])
    np.testing.assert_array_equal(res["targets"], tokens[res["positions"] + 1])
    assert np.all(np.diff(res["positions"][:50]) == 1)       # each stream in time order
    assert set(np.unique(res["z"])) <= {0.0, 1.0}
    lp = res["logits"] - np.log(np.exp(res["logits"]).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(res["log_prob"], lp[np.arange(M), res["targets"]], rtol=1e-5)
    assert model.training                                     # mode restored
    # A hand-built model whose state logits read the regime off the input id.
    model.params["mrnn.Wz"][...] = 0
    model.params["embed.W"][...] = 0
    model.params["embed.W"][4:, 0] = 1.0
    model.params["mrnn.Wz"][0] = [-50.0, 50.0]
    corpus = {"tokens": {"valid": tokens}, "states": {"valid": states}}
    assert state_recovery_accuracy(model, corpus, "valid") == 1.0
    assert 0.9 < state_recovery_accuracy(model, corpus, "valid", align="target") < 1.0


def test_plots_return_figures():
    from matplotlib.figure import Figure

    from grader.reference.mrnn_plots import (plot_perplexity, plot_state_usage,
                                             plot_state_windows, plot_tsne)

    rng = np.random.default_rng(13)
    h = rng.standard_normal((120, 5))
    q = softmax(rng.standard_normal((120, 3)))
    z = hard_sample(np.log(q))
    figs = [plot_tsne(h, z.argmax(axis=1), max_points=60, perplexity=10, max_iter=250),
            plot_state_windows(z, q, window=20, n_windows=2, tokens=rng.integers(0, 8, 120)),
            plot_state_usage(z),
            plot_perplexity({"epoch": [1, 2], "train_ppl": [9.0, 7.0], "valid_ppl": [8.0, 7.5]})]
    for fig in figs:
        assert isinstance(fig, Figure)
        fig.canvas.draw()   # renders without pyplot or a display
