"""Optimisers and gradient clipping for ``{name: array}`` parameter dicts.

``params`` and ``grads`` share keys (see ``grader.reference.layer.collect``).  Updates are
in place on the parameter arrays, so the layers that own them see the new values.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

from grader.reference.threads import PARALLEL_MIN_ELEMENTS, parallel, workers_for


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """sqrt of the sum of squares of every gradient entry."""
    # Each array flattened in its memory order: a view, not a copy, even for a transposed
    # array (the tied embedding's gradient is the output layer's, transposed).
    flat = (g.ravel(order="K") for g in grads.values())
    return float(np.sqrt(sum(float(np.vdot(f, f)) for f in flat)))


def clip_scale(norm: float, max_norm: float) -> float:
    """The factor that brings a global gradient norm down to ``max_norm`` (1.0 if below)."""
    return max_norm / (norm + 1e-6) if norm > max_norm else 1.0


def clip_grads(grads: Mapping[str, np.ndarray], max_norm: float) -> float:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    Returns the norm before clipping (useful to plot exploding gradients).  A training
    loop can save this pass over the gradients by giving ``clip_scale(norm, max_norm)``
    to the optimiser's ``step(..., grad_scale=...)`` instead.
    """
    norm = global_norm(grads)
    scale = clip_scale(norm, max_norm)
    if scale != 1.0:
        for g in grads.values():
            g *= scale
    return norm


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * g``.

    ``step(params, grads, grad_scale=c)`` uses ``c * g`` for ``g`` (clipping folded into
    the update), and ``workers > 1`` updates several parameters at once on the threads of
    ``grader.reference.threads``: with V = 10,000 the embedding and the output matrix are
    a million numbers each.  The product ``lr * c * g`` goes into a buffer kept per
    parameter, so that no step allocates (a new 4 MB array costs a thousand page faults).
    Models with fewer than ``threads.PARALLEL_MIN_ELEMENTS`` parameters are updated in the
    calling thread whatever ``workers`` says: for them the hand-off costs more than it saves.
    """

    def __init__(self, lr: float = 0.1, *, workers: int = 1) -> None:
        self.lr = lr
        self.workers = workers
        self._buffers: dict[str, np.ndarray] = {}

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], *,
             grad_scale: float = 1.0) -> None:
        rate = self.lr * grad_scale

        def update(name: str) -> None:
            p, g = params[name], grads[name]
            buffer = self._buffers.get(name)
            if buffer is None or buffer.shape != g.shape or buffer.dtype != g.dtype:
                buffer = self._buffers[name] = np.empty_like(g)
            np.multiply(g, rate, out=buffer)
            p -= buffer

        # Largest first, so that the threads finish together.
        names = sorted(params, key=lambda n: -params[n].size)
        size = sum(params[n].size for n in names)
        parallel(update, [(n,) for n in names],
                 workers_for(size, PARALLEL_MIN_ELEMENTS, self.workers))


class Adam:
    """Adam (Kingma and Ba, 2015) with bias correction; moments kept per parameter name."""

    def __init__(self, lr: float = 0.001, beta1: float = 0.9, beta2: float = 0.999,
                 eps: float = 1e-8) -> None:
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}

    def step(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray], *,
             grad_scale: float = 1.0) -> None:
        self.t += 1
        correction1 = 1.0 - self.beta1 ** self.t
        correction2 = 1.0 - self.beta2 ** self.t
        for name, p in params.items():
            g = grads[name] * grad_scale if grad_scale != 1.0 else grads[name]
            if name not in self.m:
                self.m[name] = np.zeros_like(p)
                self.v[name] = np.zeros_like(p)
            m, v = self.m[name], self.v[name]
            m += (1.0 - self.beta1) * (g - m)
            v += (1.0 - self.beta2) * (g * g - v)
            p -= (self.lr / correction1) * m / (np.sqrt(v / correction2) + self.eps)
