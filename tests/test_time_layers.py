"""Gradient checks and behaviour of the chapter-4 cells and Time layers."""
from __future__ import annotations

import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients, check_layer
from grader.reference import cells
from grader.reference.time_layers import (TimeAffine, TimeAffineSoftmaxWithLoss, TimeDropout,
                                          TimeEmbedding, TimeLSTM, TimeRNN, TimeSoftmaxWithLoss)

N, T, D, H, V = 3, 4, 5, 6, 7
F64 = np.float64


def assert_small(errors: dict[str, float]) -> None:
    assert errors, "nothing was checked"
    bad = {k: e for k, e in errors.items() if not e < TOLERANCE}
    assert not bad, f"gradient check failed: {bad} (all: {errors})"


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


def targets(rng, ignore: bool = True) -> np.ndarray:
    ts = rng.integers(0, V, (N, T))
    if ignore:
        ts[0, 1] = -1
        ts[2, 3] = -1
    return ts


# ----------------------------------------------------------------------------- cells


def test_rnn_step_gradients(rng):
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = rng.standard_normal((D, H)), rng.standard_normal((H, H)), rng.standard_normal(H)
    dh = rng.standard_normal((N, H))

    def loss():
        return float(np.sum(cells.rnn_step_forward(x, h_prev, Wx, Wh, b)[0] * dh))

    _, cache = cells.rnn_step_forward(x, h_prev, Wx, Wh, b)
    dx, dh_prev, dWx, dWh, db = cells.rnn_step_backward(dh, cache)
    assert_small(check_gradients(loss, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "b": b},
                                 {"x": dx, "h_prev": dh_prev, "Wx": dWx, "Wh": dWh, "b": db}))


def test_lstm_step_gradients(rng):
    x, h_prev, c_prev = (rng.standard_normal((N, D)), rng.standard_normal((N, H)),
                         rng.standard_normal((N, H)))
    Wx, Wh, b = (rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)),
                 rng.standard_normal(4 * H))
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        h, c, _ = cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        return float(np.sum(h * dh) + np.sum(c * dc))

    _, _, cache = cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    grads = cells.lstm_step_backward(dh, dc, cache)
    names = ("x", "h_prev", "c_prev", "Wx", "Wh", "b")
    assert_small(check_gradients(loss, dict(zip(names, (x, h_prev, c_prev, Wx, Wh, b))),
                                 dict(zip(names, grads))))


def test_lstm_step_matches_the_equations(rng):
    x, h_prev, c_prev = (rng.standard_normal((N, D)), rng.standard_normal((N, H)),
                         rng.standard_normal((N, H)))
    Wx, Wh, b = (rng.standard_normal((D, 4 * H)), rng.standard_normal((H, 4 * H)),
                 rng.standard_normal(4 * H))
    a = x @ Wx + h_prev @ Wh + b
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    f, i, o, g = sig(a[:, :H]), sig(a[:, H:2 * H]), sig(a[:, 2 * H:3 * H]), np.tanh(a[:, 3 * H:])
    c = f * c_prev + i * g
    h, c_got, _ = cells.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
    np.testing.assert_allclose(c_got, c, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h, o * np.tanh(c), rtol=1e-12, atol=1e-12)


def test_cells_do_not_modify_their_arguments(rng):
    args = [rng.standard_normal(s) for s in ((N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,))]
    copies = [a.copy() for a in args]
    h, c, cache = cells.lstm_step_forward(*args)
    cells.lstm_step_backward(np.ones_like(h), np.ones_like(c), cache)
    for a, b in zip(args, copies):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- Time layers


def test_time_embedding_gradients_with_repeated_ids(rng):
    ids = rng.integers(0, V, (N, T))
    ids[0, :] = 2  # the same word several times: its gradient rows must add up
    assert_small(check_layer(TimeEmbedding(V, D, dtype=F64, rng=rng), ids))


def test_time_embedding_scatter_matches_add_at(rng):
    layer = TimeEmbedding(V, D, dtype=F64, rng=rng)
    ids = rng.integers(0, V, (N, T))
    dout = rng.standard_normal((N, T, D))
    layer.forward(ids)
    layer.backward(dout)
    expected = np.zeros((V, D))
    np.add.at(expected, ids.reshape(-1), dout.reshape(-1, D))
    np.testing.assert_allclose(layer.grads["W"], expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("cls", [TimeRNN, TimeLSTM])
def test_recurrent_gradients_from_zero_state(cls, rng):
    xs = rng.standard_normal((N, T, D))
    assert_small(check_layer(cls(D, H, dtype=F64, rng=rng), xs))


@pytest.mark.parametrize("cls", [TimeRNN, TimeLSTM])
@pytest.mark.parametrize("stateful", [True, False])
def test_recurrent_gradients_with_carried_state(cls, stateful, rng):
    """A non-zero initial state, as truncated BPTT carries from the previous batch:
    gradients of the parameters, the inputs and the initial state(s)."""
    layer = cls(D, H, stateful=stateful, dtype=F64, rng=rng)
    xs = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    dout = rng.standard_normal((N, T, H))
    lstm = cls is TimeLSTM

    def loss():
        layer.set_state(h0, c0) if lstm else layer.set_state(h0)
        return float(np.sum(layer.forward(xs) * dout))

    loss()
    layer.zero_grad()
    dxs = layer.backward(dout)
    arrays = dict(layer.params, xs=xs, h0=h0)
    analytic = {k: g.copy() for k, g in layer.grads.items()}
    analytic.update(xs=dxs, h0=layer.dh)
    if lstm:
        arrays["c0"], analytic["c0"] = c0, layer.dc
    assert_small(check_gradients(loss, arrays, analytic))


def test_time_affine_gradients(rng):
    assert_small(check_layer(TimeAffine(D, V, dtype=F64, rng=rng), rng.standard_normal((N, T, D))))


def test_time_softmax_with_loss_gradients_with_ignored_labels(rng):
    xs = rng.standard_normal((N, T, V)) * 3
    assert_small(check_layer(TimeSoftmaxWithLoss(), xs, targets(rng)))


@pytest.mark.parametrize("workers,block_rows", [(1, 128), (1, 2), (3, 2), (2, 5)])
def test_fused_affine_softmax_gradients(workers, block_rows, rng):
    layer = TimeAffineSoftmaxWithLoss(D, V, workers=workers, block_rows=block_rows,
                                      dtype=F64, rng=rng)
    layer.parallel_min_size = 0  # use the threads even on this tiny problem
    layer.params["b"][:] = rng.standard_normal(V)
    assert_small(check_layer(layer, rng.standard_normal((N, T, D)), targets(rng)))


def test_fused_layer_with_more_workers_than_rows(rng):
    layer = TimeAffineSoftmaxWithLoss(D, V, workers=4, dtype=F64, rng=rng)
    layer.parallel_min_size = 0
    assert_small(check_layer(layer, rng.standard_normal((1, 1, D)), np.array([[3]])))


def test_fused_layer_equals_affine_then_softmax(rng):
    fused = TimeAffineSoftmaxWithLoss(D, V, workers=2, block_rows=5, dtype=F64, rng=rng)
    fused.parallel_min_size = 0
    fused.params["b"][:] = rng.standard_normal(V)
    affine, softmax = TimeAffine(D, V, dtype=F64), TimeSoftmaxWithLoss()
    affine.params["W"][:] = fused.params["W"]
    affine.params["b"][:] = fused.params["b"]
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    loss_fused = fused.forward(xs, ts)
    loss_plain = softmax.forward(affine.forward(xs), ts)
    assert loss_fused == pytest.approx(loss_plain, rel=1e-12)
    np.testing.assert_allclose(fused.backward(0.7), affine.backward(softmax.backward(0.7)),
                               rtol=1e-10, atol=1e-14)
    for name in ("W", "b"):
        np.testing.assert_allclose(fused.grads[name], affine.grads[name], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("make", [lambda: TimeSoftmaxWithLoss(),
                                  lambda: "fused"])
def test_ignored_labels_are_out_of_loss_and_gradient(make, rng):
    xs = rng.standard_normal((N, T, V))
    ts = targets(rng)
    valid = ts != -1
    expected = -np.mean(np.log(np.exp(xs) / np.exp(xs).sum(-1, keepdims=True))[valid, ts[valid]])
    if make() == "fused":  # the fused layer sees hidden states; make W the identity map
        layer = TimeAffineSoftmaxWithLoss(V, V, dtype=F64)
        layer.params["W"][:] = np.eye(V)
    else:
        layer = make()
    assert layer.forward(xs, ts) == pytest.approx(expected, rel=1e-12)
    dx = layer.backward()
    assert np.all(dx[~valid] == 0)
    # Over all ignored: loss 0 and no gradient (and no division by zero).
    assert layer.forward(xs, np.full((N, T), -1)) == 0.0
    assert np.all(layer.backward() == 0)


@pytest.mark.parametrize("fused", [False, True])
def test_softmax_is_stable_at_large_logits(fused):
    xs = np.array([[[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 1000.0]]], dtype=np.float32)
    ts = np.array([[0, 2]])
    if fused:
        layer = TimeAffineSoftmaxWithLoss(3, 3, dtype=np.float32)
        layer.params["W"][:] = np.eye(3)
    else:
        layer = TimeSoftmaxWithLoss()
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        loss = layer.forward(xs, ts)
        dx = layer.backward()
    # step 1: p = (1, 0, 0), -log 1 = 0; step 2: uniform, -log(1/3).
    assert loss == pytest.approx(np.log(3) / 2, rel=1e-6)
    assert np.all(np.isfinite(dx))


def test_dropout_gradients(rng):
    class FixedMaskDropout(TimeDropout):
        def reset_state(self):  # check_layer calls this before every forward: same mask
            self.rng = np.random.default_rng(5)

    assert_small(check_layer(FixedMaskDropout(0.3), rng.standard_normal((N, T, D))))


def test_dropout(rng):
    layer = TimeDropout(0.5, rng=rng)
    xs = rng.standard_normal((N, T, D))
    out = layer.forward(xs)
    kept = out != 0
    np.testing.assert_allclose(out[kept], 2 * xs[kept])
    dout = rng.standard_normal(xs.shape)
    np.testing.assert_allclose(layer.backward(dout), np.where(kept, 2 * dout, 0))
    layer.train = False
    np.testing.assert_array_equal(layer.forward(xs), xs)


# ----------------------------------------------------------------------------- state


@pytest.mark.parametrize("cls", [TimeRNN, TimeLSTM])
def test_truncated_bptt_carries_the_state(cls, rng):
    """Two batches of T/2 steps give the same states as one batch of T steps."""
    layer = cls(D, H, dtype=F64, rng=rng)
    xs = rng.standard_normal((N, 6, D))
    whole = layer.forward(xs)
    layer.reset_state()
    first, second = layer.forward(xs[:, :3]), layer.forward(xs[:, 3:])
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, rtol=1e-12)
    # ... and the gradient stops at the batch boundary: dh of the second batch only.
    dout = rng.standard_normal((N, 3, H))
    layer.backward(dout)
    assert layer.dh.shape == (N, H)
    # reset_state goes back to zeros
    layer.reset_state()
    np.testing.assert_allclose(layer.forward(xs[:, :3]), first, rtol=1e-12)


@pytest.mark.parametrize("cls", [TimeRNN, TimeLSTM])
def test_stateless_layers_start_from_zero_every_time(cls, rng):
    layer = cls(D, H, stateful=False, dtype=F64, rng=rng)
    xs = rng.standard_normal((N, T, D))
    np.testing.assert_array_equal(layer.forward(xs), layer.forward(xs))


def test_batch_size_change_needs_a_reset(rng):
    layer = TimeRNN(D, H, dtype=F64, rng=rng)
    layer.forward(rng.standard_normal((N, T, D)))
    with pytest.raises(ValueError, match="reset_state"):
        layer.forward(rng.standard_normal((N + 1, T, D)))
    layer.reset_state()
    layer.forward(rng.standard_normal((N + 1, T, D)))


# ----------------------------------------------------------------------------- dtype, accumulation


def test_float32_is_preserved_everywhere(rng):
    f32 = np.float32
    ids, ts = rng.integers(0, V, (N, T)), targets(rng)
    emb = TimeEmbedding(V, D, dtype=f32, rng=rng)
    x = emb.forward(ids)
    assert x.dtype == f32
    for cls in (TimeRNN, TimeLSTM):
        layer = cls(D, H, dtype=f32, rng=rng)
        hs = layer.forward(x)
        assert hs.dtype == f32 and layer.h.dtype == f32
        assert layer.backward(np.ones_like(hs)).dtype == f32
        assert all(g.dtype == f32 for g in layer.grads.values())
    affine = TimeAffine(H, V, dtype=f32, rng=rng)
    scores = affine.forward(hs)
    assert scores.dtype == f32
    softmax = TimeSoftmaxWithLoss()
    softmax.forward(scores, ts)
    assert softmax.backward().dtype == f32
    fused = TimeAffineSoftmaxWithLoss(H, V, dtype=f32, rng=rng)
    fused.forward(hs, ts)
    assert fused.backward().dtype == f32
    assert fused.backward(np.float64(2.0)).dtype == f32
    assert all(g.dtype == f32 for g in fused.grads.values())
    emb.backward(np.ones((N, T, D), dtype=f32))
    assert emb.grads["W"].dtype == f32


def test_gradients_accumulate(rng):
    layer = TimeAffineSoftmaxWithLoss(D, V, dtype=F64, rng=rng)
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    layer.forward(xs, ts)
    layer.backward()
    once = {k: g.copy() for k, g in layer.grads.items()}
    layer.backward()
    for k in once:
        np.testing.assert_allclose(layer.grads[k], 2 * once[k])
    layer.zero_grad()
    assert all(not g.any() for g in layer.grads.values())


def test_layers_do_not_modify_their_inputs(rng):
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    copy = xs.copy()
    for layer in (TimeRNN(D, H, dtype=F64, rng=rng), TimeLSTM(D, H, dtype=F64, rng=rng)):
        hs = layer.forward(xs)
        dout = np.ones_like(hs)
        layer.backward(dout)
        assert np.all(dout == 1)
    fused = TimeAffineSoftmaxWithLoss(D, V, dtype=F64, rng=rng)
    fused.forward(xs, ts)
    fused.backward()
    np.testing.assert_array_equal(xs, copy)


# ----------------------------------------------------------------------------- fused layer: threads


def _fused_pair(rng, workers=2):
    layer = TimeAffineSoftmaxWithLoss(D, V, workers=workers, block_rows=2, dtype=F64, rng=rng)
    layer.parallel_min_size = 0
    layer.chunk_size = 8  # several column blocks even on this tiny problem
    layer.params["b"][:] = rng.standard_normal(V)
    return layer


def test_deferred_parameter_gradients_equal_the_direct_ones(rng):
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    direct, deferred = _fused_pair(np.random.default_rng(3)), _fused_pair(np.random.default_rng(3))
    direct.forward(xs, ts)
    dx_direct = direct.backward(0.5)
    deferred.forward(xs, ts)
    dx_deferred = deferred.backward(0.5, defer_param_grads=True)
    np.testing.assert_array_equal(dx_deferred, dx_direct)  # dh is complete at once
    deferred.finish_backward()
    for name in ("W", "b"):
        np.testing.assert_allclose(deferred.grads[name], direct.grads[name], rtol=1e-12)
    # A pending backward is finished before anything that would race with it.
    deferred.backward(0.5, defer_param_grads=True)
    deferred.zero_grad()
    assert not any(g.any() for g in deferred.grads.values())
    deferred.backward(0.5, defer_param_grads=True)
    deferred.forward(xs, ts)  # overwrites the scores buffer: must wait for the pending work
    np.testing.assert_allclose(deferred.grads["W"], direct.grads["W"], rtol=1e-12)


def test_fused_layer_is_deterministic_whichever_thread_takes_which_block(rng):
    """Blocks go to whichever thread is free, but each block's numbers do not depend on
    the thread: the same inputs give bit-identical results, run after run.  (Another
    number of workers cuts other blocks, which changes the last bits only.)"""
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    results = {}
    for workers in (1, 3, 3, 3):
        layer = _fused_pair(np.random.default_rng(4), workers=workers)
        loss = layer.forward(xs, ts)
        results.setdefault(workers, []).append((loss, layer.backward(), layer.grads["W"].copy()))
    first = results[3][0]
    for loss, dx, dW in results[3][1:]:
        assert loss == first[0]
        np.testing.assert_array_equal(dx, first[1])
        np.testing.assert_array_equal(dW, first[2])
    np.testing.assert_allclose(results[1][0][2], first[2], rtol=1e-12, atol=1e-15)


def test_fused_layer_uses_replaced_parameter_arrays(rng):
    """W and b are views of one stacked array; arrays put in their place still count."""
    fused = _fused_pair(rng)
    affine, softmax = TimeAffine(D, V, dtype=F64), TimeSoftmaxWithLoss()
    new_W, new_b = rng.standard_normal((D, V)), rng.standard_normal(V)
    fused.params["W"], fused.params["b"] = new_W, new_b
    affine.params["W"][:], affine.params["b"][:] = new_W, new_b
    xs, ts = rng.standard_normal((N, T, D)), targets(rng)
    assert fused.forward(xs, ts) == pytest.approx(softmax.forward(affine.forward(xs), ts),
                                                  rel=1e-12)
    np.testing.assert_allclose(fused.backward(), affine.backward(softmax.backward()),
                               rtol=1e-10, atol=1e-14)
