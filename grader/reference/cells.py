"""One time step of a recurrent network, as pure functions (chapters 4 and 5).

Each cell comes in two layers of detail:

* ``rnn_step_forward`` / ``rnn_step_backward`` (and the ``lstm_`` pair) are the whole cell:
  inputs and parameters in, output and a ``cache`` out; the backward pass takes the cache
  and returns every gradient, parameters included.  They are what a reader checks against
  the equations, and what a Time layer would call if speed did not matter.

* The *core* functions are the part of a step that a Time layer must run inside its loop
  over time, because it depends on the previous state.  Everything else is moved out of
  the loop and done for all T steps at once, with one large array operation instead of
  T small ones:

  - forward: the input projection ``x @ Wx + b`` does not depend on the state, so a Time
    layer computes it for every step in one matrix product before the loop;
  - backward: a step's local derivatives (``1 - h**2`` for tanh, ``s * (1 - s)`` for the
    gates...) depend only on the forward values, not on the gradient flowing back, so
    ``*_local_grads`` computes them for any number of steps at once (its arguments may
    have any leading shape, ``(N, ...)`` for one step or ``(T, N, ...)`` for all);
  - the parameter gradients are sums over the steps: one product each, after the loop.

  Only the small ``(N, H)`` products and a few elementwise operations stay in the loop.
  The step functions are written with these pieces, so there is one implementation of
  the equations.

Shapes: N batch rows, D input features, H hidden units.  Nothing here allocates in a
dtype of its own: float32 in, float32 out.  No function modifies its arguments; the
optional ``out`` arrays are written, nothing else.

LSTM gate layout: the fused pre-activation ``a`` has shape ``(N, 4H)`` with blocks
``[f | i | o | g]`` (forget, input, output gates, then the candidate).  The three
sigmoid gates are adjacent, so one vectorised sigmoid covers them.
"""
from __future__ import annotations

import numpy as np

# ----------------------------------------------------------------------------- tanh RNN


def rnn_core_forward(ax: np.ndarray, h_prev: np.ndarray, Wh: np.ndarray,
                     out: np.ndarray | None = None) -> np.ndarray:
    """The state-dependent part of a tanh RNN step.

    ax     (N, H)  input projection ``x @ Wx + b`` of this step
    h_prev (N, H)  previous hidden state
    Wh     (H, H)  recurrent weights
    out    (N, H)  optional array to write h_next into
    returns h_next (N, H) = tanh(ax + h_prev @ Wh)
    """
    a = np.matmul(h_prev, Wh, out=out)
    a += ax
    return np.tanh(a, out=a)


def rnn_local_grads(h_next: np.ndarray) -> np.ndarray:
    """tanh'(a) = 1 - h_next**2, from the output alone; h_next (..., H) -> same shape."""
    d = h_next * h_next
    return np.subtract(1, d, out=d)


def rnn_core_backward(dh_next: np.ndarray, dtanh: np.ndarray, WhT: np.ndarray,
                      out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Backward of ``rnn_core_forward``.

    dh_next (N, H)  gradient of the loss with respect to h_next
    dtanh   (N, H)  ``rnn_local_grads(h_next)``
    WhT     (H, H)  the recurrent weights transposed, ``Wh.T`` (a contiguous copy is twice
                    as fast in the small product as the transposed view)
    out     (N, H)  optional array to write da into
    returns da (N, H), the gradient with respect to the pre-activation (and so to ax),
            dh_prev (N, H) = da @ Wh.T
    """
    da = np.multiply(dh_next, dtanh, out=out)
    return da, da @ WhT


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
    da, dh_prev = rnn_core_backward(dh_next, rnn_local_grads(h_next), Wh.T)
    return da @ Wx.T, dh_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


# ----------------------------------------------------------------------------- LSTM
#
# The LSTM cores work *feature-major*: one column per sequence, h (H, N), gates (4H, N).
# Each of the four gate blocks is then a contiguous block of rows, and elementwise
# operations on a contiguous block are several times faster than on the strided column
# blocks of an (N, 4H) array.  The step functions take and return the usual
# batch-major arrays (one row per sequence) and transpose at the boundary.


def lstm_core_forward(ax: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, WhT: np.ndarray,
                      out: tuple[np.ndarray, ...] | None = None):
    """The state-dependent part of an LSTM step, feature-major.

    ax     (4H, N)  input projection ``(x @ Wx + b).T`` of this step, blocks [f | i | o | g]
    h_prev (H, N), c_prev (H, N)
    WhT    (4H, H)  the recurrent weights transposed, ``Wh.T`` (contiguous for speed)
    out    optional arrays (gates (4H, N), c_next (H, N), tanh_c (H, N), h_next (H, N))
           to write the results into
    returns gates (4H, N) = [f | i | o | g] after their nonlinearities, c_next (H, N),
            tanh_c (H, N) = tanh(c_next), h_next (H, N):

        f, i, o = sigmoid(a[:3H]),  g = tanh(a[3H:])  with a = ax + Wh.T @ h_prev
        c_next = f * c_prev + i * g
        h_next = o * tanh(c_next)
    """
    H = h_prev.shape[0]
    gates, c_next, tanh_c, h_next = out if out is not None else (None,) * 4
    gates = np.matmul(WhT, h_prev, out=gates)
    gates += ax
    # sigmoid(x) = (tanh(x/2) + 1) / 2: never overflows, and runs in place on one block.
    s = gates[:3 * H]
    s *= 0.5
    np.tanh(s, out=s)
    s += 1.0
    s *= 0.5
    f, i, o, g = gates[:H], gates[H:2 * H], gates[2 * H:3 * H], gates[3 * H:]
    np.tanh(g, out=g)
    c_next = np.multiply(f, c_prev, out=c_next)
    c_next += i * g
    tanh_c = np.tanh(c_next, out=tanh_c)
    h_next = np.multiply(o, tanh_c, out=h_next)
    return gates, c_next, tanh_c, h_next


def lstm_local_grads(gates: np.ndarray, c_prev: np.ndarray,
                     tanh_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The factors of an LSTM step's backward pass that depend only on its forward values.

    gates (..., 4H, N), c_prev (..., H, N), tanh_c (..., H, N) from ``lstm_core_forward``
    (any leading shape: one step, or all T steps at once)
    returns
      dc_dh (..., H, N) = o * (1 - tanh_c**2): how h_next's gradient reaches the cell state;
      P (..., 4H, N), so that the gradient of the pre-activation is ``da = [dc; dc; dh; dc] * P``
        (blocks [f | i | o | g]) with dh the gradient of h_next and dc that of c_next:
        P_f = c_prev * f(1-f),  P_i = g * i(1-i),  P_o = tanh_c * o(1-o),  P_g = i * (1-g**2)
    """
    H = c_prev.shape[-2]
    f, i, o, g = (gates[..., k * H:(k + 1) * H, :] for k in range(4))
    dc_dh = tanh_c * tanh_c
    np.subtract(1.0, dc_dh, out=dc_dh)
    dc_dh *= o
    P = np.subtract(1.0, gates)
    P[..., :3 * H, :] *= gates[..., :3 * H, :]  # sigmoid' = s(1-s) of the three gates
    P[..., :H, :] *= c_prev
    P[..., H:2 * H, :] *= g
    P[..., 2 * H:3 * H, :] *= tanh_c
    P_g = P[..., 3 * H:, :]
    np.add(g, 1.0, out=P_g)
    P_g *= 1.0 - g  # tanh' = (1 + g)(1 - g) of the candidate
    P_g *= i
    return dc_dh, P


def lstm_core_backward(dh_next: np.ndarray, dc_next: np.ndarray, dc_dh: np.ndarray,
                       P: np.ndarray, f: np.ndarray, Wh: np.ndarray,
                       out: np.ndarray | None = None):
    """Backward of ``lstm_core_forward``, feature-major.

    dh_next (H, N), dc_next (H, N)  gradients of h_next and c_next (from the output at this
                                     step and from later steps)
    dc_dh (H, N), P (4H, N)          ``lstm_local_grads`` of this step (P C-contiguous)
    f       (H, N)                   the forget gate of this step
    Wh      (H, 4H)
    out     (4H, N)                  optional C-contiguous array to write da into
    returns da (4H, N) (gradient with respect to the pre-activation, and so to ax),
            dh_prev (H, N) = Wh @ da, dc_prev (H, N)
    """
    H, N = f.shape
    # The cell state receives gradient both directly (dc_next) and through h = o*tanh(c).
    dc = dh_next * dc_dh
    dc += dc_next
    da = out if out is not None else np.empty(P.shape, dtype=P.dtype)
    # The f and i blocks both scale dc: one broadcast product over a (2, H, N) view.
    np.multiply(P[:2 * H].reshape(2, H, N), dc, out=da[:2 * H].reshape(2, H, N))
    np.multiply(P[2 * H:3 * H], dh_next, out=da[2 * H:3 * H])
    np.multiply(P[3 * H:], dc, out=da[3 * H:])
    return da, Wh @ da, dc * f


def lstm_step_forward(x: np.ndarray, h_prev: np.ndarray, c_prev: np.ndarray, Wx: np.ndarray,
                      Wh: np.ndarray, b: np.ndarray):
    """One LSTM step with fused weights.

    x      (N, D)
    h_prev (N, H), c_prev (N, H)
    Wx     (D, 4H), Wh (H, 4H), b (4H,)   gate blocks [f | i | o | g]
    returns h_next (N, H), c_next (N, H) and the cache for ``lstm_step_backward``
    """
    gates, c_next, tanh_c, h_next = lstm_core_forward((x @ Wx + b).T, h_prev.T, c_prev.T, Wh.T)
    return h_next.T, c_next.T, (x, h_prev, c_prev, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dh_next: np.ndarray, dc_next: np.ndarray, cache: tuple):
    """Backward of ``lstm_step_forward``.

    dh_next (N, H), dc_next (N, H)
    returns dx (N, D), dh_prev (N, H), dc_prev (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,)
    """
    x, h_prev, c_prev, Wx, Wh, gates, tanh_c = cache
    H = h_prev.shape[1]
    dc_dh, P = lstm_local_grads(gates, c_prev.T, tanh_c)
    da, dh_prev, dc_prev = lstm_core_backward(dh_next.T, dc_next.T, dc_dh, P, gates[:H], Wh)
    da = da.T  # back to one row per sequence: (N, 4H)
    return da @ Wx.T, dh_prev.T, dc_prev.T, x.T @ da, h_prev.T @ da, da.sum(axis=0)
