"""Chapter 1 reference: a recurrent network computed by hand.

The source's network reads one number per step and keeps a two-unit state::

    before_activation = state @ W_state + x_t * W_input + b_cell     # (H,)
    state             = tanh(before_activation)                      # (H,)
    output            = state @ W_output + b_output                  # (O,)

Here the same computation is written for any input width D, any hidden size H, any
output size O, with or without a batch dimension.  Shapes:

* ``x_t``: a scalar, ``(D,)``, or ``(N, D)`` for a batch; a scalar input needs ``W_input``
  of shape ``(H,)`` (the source's case), otherwise ``(D, H)``.
* ``h``: ``(H,)`` or ``(N, H)``; ``W_state`` ``(H, H)``; ``b_cell`` ``(H,)``.
* ``W_output``: ``(H, O)``; ``b_output``: scalar or ``(O,)``.
"""
from __future__ import annotations

import numpy as np

ACTIVATIONS = {
    "tanh": np.tanh,
    "linear": lambda z: z,
}

#: The worked example of the chapter (source material).
SOURCE_EXAMPLE = {
    "X": np.array([1.0, 2.0]),
    "state": np.array([0.0, 0.0]),
    "W_state": np.array([[0.1, 0.2], [0.3, 0.4]]),
    "W_input": np.array([0.5, 0.6]),
    "b_cell": np.array([0.1, -0.1]),
    "W_output": np.array([[1.0], [2.0]]),
    "b_output": 0.1,
}


def _input_term(x_t, W_input: np.ndarray) -> np.ndarray:
    """x_t's contribution to the pre-activation: scalar * (H,) or (.., D) @ (D, H)."""
    x_t = np.asarray(x_t, dtype=float)
    if W_input.ndim == 1:
        # One number per step (the source's case): a scalar, or one per batch row.
        return x_t[..., None] * W_input if x_t.ndim else x_t * W_input
    return np.dot(x_t, W_input)


def rnn_step(x_t, h_prev, W_state, W_input, b_cell, activation: str = "tanh"):
    """One step.  Returns ``(before_activation, h_next)``, both shaped like ``h_prev``."""
    before_activation = np.dot(h_prev, W_state) + _input_term(x_t, W_input) + b_cell
    return before_activation, ACTIVATIONS[activation](before_activation)


def rnn_output(h, W_output, b_output):
    """Read-out: ``h @ W_output + b_output`` -> ``(O,)`` or ``(N, O)``."""
    return np.dot(h, W_output) + b_output


def rnn_forward(X, h0, W_state, W_input, b_cell, W_output, b_output, activation: str = "tanh"):
    """Unroll over the T steps of one sequence.

    ``X``: ``(T,)`` of numbers or ``(T, D)``.  Returns a dict of arrays:
    ``before_activation`` ``(T, H)``, ``states`` ``(T, H)``, ``outputs`` ``(T, O)``.
    """
    h = np.asarray(h0, dtype=float)
    pre, states, outputs = [], [], []
    for x_t in X:
        before, h = rnn_step(x_t, h, W_state, W_input, b_cell, activation)
        pre.append(before)
        states.append(h)
        outputs.append(rnn_output(h, W_output, b_output))
    return {"before_activation": np.array(pre), "states": np.array(states),
            "outputs": np.array(outputs)}


def rnn_forward_batch(X, h0, W_state, W_input, b_cell, W_output, b_output,
                      activation: str = "tanh"):
    """A batch of N sequences at once.

    ``X``: ``(N, T)`` of numbers or ``(N, T, D)``; ``h0``: ``(N, H)``.
    Returns ``states`` ``(N, T, H)`` and ``outputs`` ``(N, T, O)``.
    Time moves to the front so that each step is one matrix product for the whole batch.
    """
    X = np.asarray(X, dtype=float)
    result = rnn_forward(np.moveaxis(X, 1, 0), h0, W_state, W_input, b_cell, W_output,
                         b_output, activation)
    return {"states": np.moveaxis(result["states"], 0, 1),
            "outputs": np.moveaxis(result["outputs"], 0, 1)}


def dot_result_shape(a_shape: tuple, b_shape: tuple) -> tuple:
    """The shape ``np.dot`` returns for operands of these shapes (1-D and 2-D only).

    1-D.1-D is an inner product ``()``; 2-D.2-D a matrix product ``(n, m)``; 1-D.2-D a row
    vector times a matrix ``(m,)``; 2-D.1-D a matrix times a column ``(n,)``.
    Raises ``ValueError`` when the inner dimensions differ, as ``np.dot`` does.
    """
    a_shape, b_shape = tuple(a_shape), tuple(b_shape)
    if not (1 <= len(a_shape) <= 2 and 1 <= len(b_shape) <= 2):
        raise ValueError("only 1-D and 2-D operands")
    inner_a = a_shape[-1]
    inner_b = b_shape[0]
    if inner_a != inner_b:
        raise ValueError(f"shapes {a_shape} and {b_shape} not aligned: {inner_a} != {inner_b}")
    return a_shape[:-1] + b_shape[1:]


def state_norms(W_state, W_input, b_cell, X, activation: str = "tanh") -> np.ndarray:
    """Euclidean norm of the state after each step, from a zero state: ``(T,)``.

    Shows why tanh matters: its state can never leave [-1, 1]^H, while the linear
    network's state grows geometrically once W_state has an eigenvalue above 1.
    """
    H = W_state.shape[0]
    h = np.zeros(H)
    norms = []
    for x_t in X:
        _, h = rnn_step(x_t, h, W_state, W_input, b_cell, activation)
        norms.append(np.linalg.norm(h))
    return np.array(norms)
