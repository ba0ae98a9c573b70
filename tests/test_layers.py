"""Tests for grader/reference/layers.py: gradient checks, accumulation, dtype, errors."""
from __future__ import annotations

import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients, check_layer
from grader.reference.functions import softmax
from grader.reference.layers import (Dense, Embedding, RNNCell, SimpleRNN,
                                     SoftmaxCrossEntropy)

N, T, D, H, V, C = 3, 4, 5, 6, 7, 5


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# Ids with repeats both within a sequence and across the batch: the case that breaks
# ``dW[ids] += dout``.
REPEATED_IDS = np.array([[1, 3, 1, 1], [3, 0, 6, 3], [2, 2, 1, 5]])


def assert_all_small(errors: dict[str, float]) -> None:
    assert errors, "nothing was checked"
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOLERANCE, f"{worst}: relative error {errors[worst]:.2e}"


# --------------------------------------------------------------------------------------
# Gradient checks (float64)
# --------------------------------------------------------------------------------------
def test_embedding_gradcheck_with_repeated_ids(rng):
    layer = Embedding(V, D, rng=rng)
    errors = check_layer(layer, REPEATED_IDS)
    assert set(errors) == {"W"}  # ids are integers: no input gradient
    assert_all_small(errors)


class BuggyEmbedding(Embedding):
    """The classic mistake: fancy-index ``+=`` keeps only the last write for a repeated id."""

    def backward(self, dout):
        self.grads["W"][self.ids] += dout
        return None


def test_fancy_index_plus_equals_bug_is_caught(rng):
    # Same ids, same gradient check: the buggy version must fail, or the check is toothless.
    errors = check_layer(BuggyEmbedding(V, D, rng=rng), REPEATED_IDS)
    assert errors["W"] > 1e-2
    # Without repeated ids the bug is invisible, which is why the test above repeats ids.
    unique = np.arange(6).reshape(2, 3)
    assert check_layer(BuggyEmbedding(V, D, rng=rng), unique)["W"] < TOLERANCE


def test_embedding_backward_returns_none(rng):
    layer = Embedding(V, D, rng=rng)
    out = layer.forward(REPEATED_IDS)
    assert out.shape == (N, T, D)
    assert layer.backward(np.ones_like(out)) is None
    # Row i of dW counts how often id i occurs (dout of ones).
    counts = np.bincount(REPEATED_IDS.ravel(), minlength=V)
    np.testing.assert_array_equal(layer.grads["W"], np.repeat(counts[:, None], D, axis=1))


def test_dense_gradcheck_3d_input(rng):
    x = rng.standard_normal((N, T, D))
    errors = check_layer(Dense(D, H, rng=rng), x)
    assert set(errors) == {"W", "b", "input0"}
    assert_all_small(errors)


def test_dense_gradcheck_2d_input(rng):
    assert_all_small(check_layer(Dense(D, H, rng=rng), rng.standard_normal((N, D))))


def test_rnn_cell_gradcheck(rng):
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    errors = check_layer(RNNCell(D, H, rng=rng), x, h_prev)
    assert set(errors) == {"Wx", "Wh", "b", "input0", "input1"}
    assert_all_small(errors)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_simple_rnn_gradcheck(rng, return_sequences):
    layer = SimpleRNN(D, H, return_sequences, rng=rng)
    layer.params["b"][:] = rng.standard_normal(H) * 0.1  # non-zero bias exercises db
    errors = check_layer(layer, rng.standard_normal((N, T, D)))
    assert set(errors) == {"Wx", "Wh", "b", "input0"}
    assert_all_small(errors)


def test_simple_rnn_initial_state_gradient(rng):
    layer = SimpleRNN(D, H, return_sequences=True, rng=rng)
    x, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    dout = rng.standard_normal((N, T, H))

    def loss():
        return float(np.sum(layer.forward(x, h0) * dout))

    loss()
    layer.backward(dout)
    assert_all_small(check_gradients(loss, {"h0": h0}, {"h0": layer.dh0}))


def test_softmax_cross_entropy_gradcheck_2d(rng):
    logits = rng.standard_normal((N, C))
    labels = np.array([0, 4, 4])
    assert_all_small(check_layer(SoftmaxCrossEntropy(), logits, labels))


def test_softmax_cross_entropy_gradcheck_3d_with_ignored_items(rng):
    logits = rng.standard_normal((N, T, C))
    labels = rng.integers(0, C, size=(N, T))
    labels[0, :2] = -1
    loss_fn = SoftmaxCrossEntropy(ignore_index=-1)
    assert_all_small(check_layer(loss_fn, logits, labels))
    # Ignored items get no gradient, and the mean is over the labelled items only.
    loss_fn.forward(logits, labels)
    assert np.all(loss_fn.backward()[0, :2] == 0)
    kept = labels != -1
    logp = np.log(softmax(logits))
    expected = -np.mean(np.take_along_axis(logp, np.where(kept, labels, 0)[..., None], -1)[kept])
    assert loss_fn.forward(logits, labels) == pytest.approx(expected, rel=1e-12)


def test_softmax_cross_entropy_value_and_stability():
    loss_fn = SoftmaxCrossEntropy()
    # Uniform logits: loss is log(C).
    assert loss_fn.forward(np.zeros((2, C)), np.array([0, 3])) == pytest.approx(np.log(C))
    # Huge logits: log(softmax) would give log(0) = -inf; log_softmax stays exact.
    logits = np.array([[1000.0, 0.0, -1000.0]])
    assert loss_fn.forward(logits, np.array([2])) == pytest.approx(2000.0)
    assert np.all(np.isfinite(loss_fn.backward()))


# --------------------------------------------------------------------------------------
# Gradients accumulate across backward calls
# --------------------------------------------------------------------------------------
def _grads_after(layer, inputs, dout, times):
    layer.zero_grad()
    for _ in range(times):
        layer.forward(*inputs)
        layer.backward(dout)
    return {k: g.copy() for k, g in layer.grads.items()}


@pytest.mark.parametrize("make", [
    lambda rng: (Embedding(V, D, rng=rng), (REPEATED_IDS,), (N, T, D)),
    lambda rng: (Dense(D, H, rng=rng), (rng.standard_normal((N, T, D)),), (N, T, H)),
    lambda rng: (RNNCell(D, H, rng=rng),
                 (rng.standard_normal((N, D)), rng.standard_normal((N, H))), (N, H)),
    lambda rng: (SimpleRNN(D, H, rng=rng), (rng.standard_normal((N, T, D)),), (N, H)),
    lambda rng: (SimpleRNN(D, H, True, rng=rng), (rng.standard_normal((N, T, D)),), (N, T, H)),
], ids=["Embedding", "Dense", "RNNCell", "SimpleRNN", "SimpleRNN-seq"])
def test_gradients_accumulate(rng, make):
    layer, inputs, out_shape = make(rng)
    dout = rng.standard_normal(out_shape)
    once = _grads_after(layer, inputs, dout, 1)
    twice = _grads_after(layer, inputs, dout, 2)
    for name in once:
        np.testing.assert_allclose(twice[name], 2 * once[name], rtol=1e-12, atol=1e-14)
        assert np.any(once[name] != 0)
    layer.zero_grad()
    assert all(np.all(g == 0) for g in layer.grads.values())


# --------------------------------------------------------------------------------------
# Structure: shared parameters, protocol, dtype
# --------------------------------------------------------------------------------------
def test_simple_rnn_equals_cell_unrolled(rng):
    x = rng.standard_normal((N, T, D))
    rnn = SimpleRNN(D, H, return_sequences=True, rng=np.random.default_rng(5))
    cell = RNNCell(D, H, rng=np.random.default_rng(5))
    for name in ("Wx", "Wh", "b"):  # same seed, same initialisation
        np.testing.assert_array_equal(rnn.params[name], cell.params[name])
    h = np.zeros((N, H))
    expected = []
    for t in range(T):
        h = cell.forward(x[:, t], h)
        expected.append(h)
    np.testing.assert_allclose(rnn.forward(x), np.stack(expected, axis=1), rtol=1e-14)
    rnn.return_sequences = False
    np.testing.assert_allclose(rnn.forward(x), expected[-1], rtol=1e-14)


@pytest.mark.parametrize("layer", [
    Embedding(V, D), Dense(D, H), RNNCell(D, H), SimpleRNN(D, H), SoftmaxCrossEntropy()])
def test_protocol_params_and_grads_match(layer):
    assert layer.params.keys() == layer.grads.keys()
    for name, p in layer.params.items():
        assert layer.grads[name].shape == p.shape and layer.grads[name].dtype == p.dtype


def test_float32_in_float32_out(rng):
    f32 = np.float32
    emb = Embedding(V, D, rng=rng, dtype=f32)
    dense = Dense(H, C, rng=rng, dtype=f32)
    cell = RNNCell(D, H, rng=rng, dtype=f32)
    rnn = SimpleRNN(D, H, True, rng=rng, dtype=f32)
    loss_fn = SoftmaxCrossEntropy()
    for layer in (emb, dense, cell, rnn):
        assert all(p.dtype == f32 for p in layer.params.values())
        assert all(g.dtype == f32 for g in layer.grads.values())

    e = emb.forward(REPEATED_IDS)
    h = rnn.forward(e)
    logits = dense.forward(h)
    assert e.dtype == h.dtype == logits.dtype == f32
    loss = loss_fn.forward(logits, REPEATED_IDS % C)
    assert np.isfinite(loss)
    dlogits = loss_fn.backward()
    assert dlogits.dtype == f32
    dh = dense.backward(dlogits)
    dx = rnn.backward(dh)
    emb.backward(dx)
    assert dh.dtype == dx.dtype == f32
    h1 = cell.forward(e[:, 0], np.zeros((N, H), f32))
    dx1, dh0 = cell.backward(np.ones_like(h1))
    assert h1.dtype == dx1.dtype == dh0.dtype == f32
    for layer in (emb, dense, cell, rnn):
        assert all(g.dtype == f32 for g in layer.grads.values())


def test_seeded_initialisation():
    a = SimpleRNN(D, H, rng=np.random.default_rng(7))
    b = SimpleRNN(D, H, rng=np.random.default_rng(7))
    c = SimpleRNN(D, H, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a.params["Wx"], b.params["Wx"])
    assert not np.array_equal(a.params["Wx"], c.params["Wx"])


# --------------------------------------------------------------------------------------
# Clear errors
# --------------------------------------------------------------------------------------
def test_embedding_rejects_bad_ids():
    emb = Embedding(V, D)
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        emb.forward(np.array([0, V]))
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        emb.forward(np.array([-1, 2]))  # NumPy would silently read row V-1
    with pytest.raises(TypeError, match="integers"):
        emb.forward(np.array([0.0, 1.0]))


def test_cross_entropy_rejects_bad_labels():
    loss_fn = SoftmaxCrossEntropy()
    with pytest.raises(ValueError, match="shape"):
        loss_fn.forward(np.zeros((2, C)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        loss_fn.forward(np.zeros((2, C)), np.array([0, C]))
