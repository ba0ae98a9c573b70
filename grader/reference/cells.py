"""One time step of a recurrent network, as pure functions (chapters 4 and 5).

Each cell comes in two layers of detail:

* ``rnn_step_forward`` / ``rnn_step_backward`` (and the ``lstm_`` pair) are the whole cell:
  inputs and parameters in, output and a ``cache`` out; the backward pass takes the cache
  and returns every gradient, parameters included.  They are what a reader checks against
  the equations, and what a Time layer would call if speed did not matter.

* ``rnn_core_forward`` / ``rnn_core_backward`` (and the ``lstm_`` pair) are the part of the
  step that depends on the previous state.  The input projection ``x @ Wx + b`` does not
  depend on the state, so a Time layer computes it for all T steps in one big matrix
  product before the loop; likewise the parameter gradients are sums over the steps, so a
  Time layer computes them after the loop in one product each.  Only the small ``(N, H)``
  work stays inside the loop.  The step functions above are written with these cores, so
  there is one implementation of the equations.

Shapes: N batch rows, D input features, H hidden units.  Nothing here allocates in a
dtype of its own: float32 in, float32 out.  No function modifies its arguments.

LSTM gate layout: the fused pre-activation ``a`` has shape ``(N, 4H)`` with blocks
``[f | i | o | g]`` (forget, input, output gates, then the candidate).  The three
sigmoid gates are adjacent, so one vectorised sigmoid covers them.
"""
from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- tanh RNN


def rnn_core_forward(ax: np.ndarray, h_prev: np.ndarray, Wh: np.ndarray) -> np.ndarray:
    """The state-dependent part of a tanh RNN step.

    ax     (N, H)  input projection ``x @ Wx + b`` of this step
    h_prev (N, H)  previous hidden state
    Wh     (H, H)  recurrent weights
    returns h_next (N, H) = tanh(ax + h_prev @ Wh)
    """
    a = h_prev @ Wh
    a += ax  # in place on our own temporary: one allocation per step instead of two
    return np.tanh(a, out=a)


def rnn_core_backward(dh_next: np.ndarray, h_next: np.ndarray,
                      Wh: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Backward of ``rnn_core_forward``.

    dh_next (N, H)  gradient of the loss with respect to h_next
    h_next  (N, H)  the forward output (tanh' = 1 - tanh^2 needs only the output)
    Wh      (H, H)
    returns da (N, H), the gradient with respect to the pre-activation (and so to ax),
            dh_prev (N, H)
    """
    da = h_next * h_next
    np.subtract(1, da, out=da)
    da *= dh_next
    return da, da @ Wh.T


def rnn_step_forward(x: np.ndarray, h_prev: np.ndarray, Wx: np.ndarray, Wh: np.ndarray,
                     b: np.ndarray) -> tuple[np.ndarray, tuple]:
    """One tanh RNN step: h_next = tanh(x @ Wx + h_prev @ Wh + b).

    x      (N, D)
    h_prev (N, H)
    Wx     (D, H), Wh (H, H), b (H,)
    returns h_next (N, H) and the cache for ``rnn_step_backward``
    """
    h_next = rnn_core_forward(x @ Wx + b, h_prev, Wh)
    return h_next, (x, h_prev, h_next, Wx, Wh)


def rnn_step_backward(dh_next: np.ndarray, cache: tuple):
    """Backward of ``rnn_step_forward``.

    dh_next (N, H)
    returns dx (N, D), dh_prev (N, H), dWx (D, H), dWh (H, H), db (H,)
    """
    x, h_prev, h_next, Wx, Wh = cache
    da, dh_prev = rnn_core_backward(dh_next, h_next, Wh)
    return da @ Wx.T, dh_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# ----------------------------------------------------------------------------- LSTM


def lstm_core_forward(ax: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray,
                      Wh: np.ndarray) -> tuple[np.ndarray, np.ndarray, tuple]:
    """The state-dependent part of an LSTM step.

    ax     (N, 4H)  input projection ``x @ Wx + b`` of this step, blocks [f | i | o | g]
    h_prev (N, H), c_prev (N, H)
    Wh     (H, 4H)
    returns h_next (N, H), c_next (N, H) and a cache for ``lstm_core_backward``

        f, i, o = sigmoid(a[:, :3H]),  g = tanh(a[:, 3H:])  with a = ax + h_prev @ Wh
        c_next = f * c_prev + i * g
        h_next = o * tanh(c_next)
    """
    H = h_prev.shape[1]
    gates = h_prev @ Wh
    gates += ax
    # sigmoid(x) = (tanh(x/2) + 1) / 2: never overflows, and runs in place on one block.
    s = gates[:, :3 * H]
    s *= 0.5
    np.tanh(s, out=s)
    s += 1.0
    s *= 0.5
    np.tanh(gates[:, 3 * H:], out=gates[:, 3 * H:])
    f, i, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    c_next = f * c_prev
    c_next += i * g
    tanh_c = np.tanh(c_next)
    h_next = o * tanh_c
    return h_next, c_next, (gates, c_prev, tanh_c)


def lstm_core_backward(dh_next: np.ndarray, dc_next: np.ndarray, cache: tuple,
                       Wh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward of ``lstm_core_forward``.

    dh_next (N, H), dc_next (N, H)  gradients arriving from later steps and from the output
    returns da (N, 4H) (gradient with respect to the pre-activation, and so to ax),
            dh_prev (N, H), dc_prev (N, H)
    """
    gates, c_prev, tanh_c = cache
    H = c_prev.shape[1]
    f, i, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    # The cell state receives gradient both directly (dc_next) and through h = o*tanh(c).
    dc = dh_next * o
    dc *= 1.0 - tanh_c * tanh_c
    dc += dc_next
    da = np.empty_like(gates)
    np.multiply(dc, c_prev, out=da[:, :H])              # d f
    np.multiply(dc, g, out=da[:, H:2 * H])              # d i
    np.multiply(dh_next, tanh_c, out=da[:, 2 * H:3 * H])  # d o
    np.multiply(dc, i, out=da[:, 3 * H:])               # d g
    # Through the nonlinearities: sigmoid' = s(1-s) on the three gates, tanh' = 1-g^2.
    s = gates[:, :3 * H]
    da[:, :3 * H] *= s * (1.0 - s)
    da[:, 3 * H:] *= 1.0 - g * g
    return da, da @ Wh.T, dc * f


def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, Wx: np.ndarray,
                      Wh: np.ndarray, b: np.ndarray):
    """One LSTM step with fused weights.

    x      (N, D)
    h_prev (N, H), c_prev (N, H)
    Wx     (D, 4H), Wh (H, 4H), b (4H,)   gate blocks [f | i | o | g]
    returns h_next (N, H), c_next (N, H) and the cache for ``lstm_step_backward``
    """
    h_next, c_next, core = lstm_core_forward(x @ Wx + b, h_prev, c_prev, Wh)
    return h_next, c_next, (x, h_prev, Wx, Wh, core)


def lstm_step_backward(dh_next: np.ndarray, dc_next: np.ndarray, cache: tuple):
    """Backward of ``lstm_step_forward``.

    dh_next (N, H), dc_next (N, H)
    returns dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)
    """
    x, h_prev, Wx, Wh, core = cache
    da, dh_prev, dc_prev = lstm_core_backward(dh_next, dc_next, core, Wh)
    return da @ Wx.T, dh_prev, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)
