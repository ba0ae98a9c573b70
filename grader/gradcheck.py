"""Centred-difference gradient checking, the oracle for every backward pass in the course.

The relative error is measured on whole arrays, ``||a - n|| / max(||a|| + ||n||, tiny)``,
rather than element by element: an element whose true gradient is 1e-12 would otherwise
dominate the error with nothing but round-off.  In float64 with ``eps=1e-6`` a correct
backward pass gives errors around 1e-9 to 1e-11; the course's threshold is 1e-6.
"""
from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

TOLERANCE = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """Relative error between two arrays of the same shape (0.0 when both are zero)."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        raise ValueError(f"shape mismatch: analytic {analytic.shape} vs numeric {numeric.shape}")
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale < 1e-300:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """d f() / d x by centred differences, perturbing ``x`` in place and restoring it.

    ``f`` takes no argument: it must read ``x`` (the same array object) when called.
    ``x`` must be float64, or the differences drown in round-off.
    """
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need float64 arrays, got {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def check_gradients(
    loss: Callable[[], float],
    arrays: Mapping[str, np.ndarray],
    analytic: Mapping[str, np.ndarray],
    eps: float = 1e-6,
) -> dict[str, float]:
    """Compare analytic gradients with numerical ones.

    ``arrays`` maps names to the very arrays ``loss()`` reads (perturbed in place);
    ``analytic`` maps the same names to the gradients computed by backward passes.
    Returns ``{name: relative error}``.
    """
    missing = set(arrays) - set(analytic)
    if missing:
        raise KeyError(f"no analytic gradient for {sorted(missing)}")
    return {name: relative_error(analytic[name], numerical_gradient(loss, x, eps))
            for name, x in arrays.items()}


def check_layer(layer, *inputs: np.ndarray, seed: int = 0, eps: float = 1e-6) -> dict[str, float]:
    """Gradient-check a layer that follows the course's layer protocol.

    The scalar loss is ``sum(forward(*inputs) * dout)`` for a fixed random ``dout``, so
    ``backward(dout)`` must return the gradient of that loss with respect to the inputs
    (a single array, or a tuple with one entry per input; integer inputs such as token
    ids get ``None``).  Parameter gradients are read from ``layer.grads`` after zeroing.
    A layer with ``reset_state()`` (stateful over batches) is reset before every forward.

    Returns ``{"W": err, ..., "input0": err, ...}``.
    """
    rng = np.random.default_rng(seed)

    def run_forward():
        if hasattr(layer, "reset_state"):
            layer.reset_state()
        return layer.forward(*inputs)

    out = run_forward()
    dout = rng.standard_normal(np.shape(out))

    def loss() -> float:
        return float(np.sum(run_forward() * dout))

    run_forward()
    layer.zero_grad()
    dinputs = layer.backward(dout)
    if not isinstance(dinputs, tuple):
        dinputs = (dinputs,)

    arrays: dict[str, np.ndarray] = {}
    analytic: dict[str, np.ndarray] = {}
    for name, p in layer.params.items():
        arrays[name] = p
        analytic[name] = layer.grads[name].copy()
    for i, (x, dx) in enumerate(zip(inputs, dinputs)):
        if dx is None or not np.issubdtype(np.asarray(x).dtype, np.floating):
            continue
        arrays[f"input{i}"] = x
        analytic[f"input{i}"] = dx
    return check_gradients(loss, arrays, analytic, eps)
