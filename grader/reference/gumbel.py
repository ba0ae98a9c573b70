"""Gumbel noise, the Gumbel-softmax relaxation and the entropy regulariser (chapter 5).

The Markov RNN picks one of K states at every step by sampling from a categorical
distribution ``q = softmax(a)`` (``a``: the state logits, shape ``(N, K)``).  A sample is
not differentiable, so training uses the Gumbel-softmax relaxation (Jang et al., 2017;
Maddison et al., 2017):

* **Gumbel-max trick.**  With ``g_k = -log(-log U_k)``, ``U_k ~ Uniform(0, 1)`` independent,
  ``argmax_k (log q_k + g_k)`` is distributed exactly as ``q`` (:func:`hard_sample`).
* **Relaxation.**  Replace the argmax by a softmax at temperature ``tau``:
  ``z = softmax((log q + g) / tau)`` (:func:`gumbel_softmax`).  As ``tau -> 0`` the sample
  becomes the one-hot argmax; for large ``tau`` it tends to the uniform vector.  For a
  fixed noise ``g`` it is a smooth function of the logits, so gradients flow into ``a``.

``log q = a - logsumexp(a)`` differs from ``a`` by the same constant in every entry of a
row, and a softmax ignores such constants: ``softmax((log q + g) / tau) =
softmax((a + g) / tau)``.  So every function here takes the raw logits ``a`` and the
gradients are with respect to ``a``; nothing needs to form ``log q`` first.

Regulariser: the entropy ``H(q) = -sum_k q_k log q_k`` (:func:`entropy`), maximised with
weight ``beta`` to keep all states in use; ``KL(q || uniform) = log K - H(q)`` is what the
reports show (:func:`kl_uniform`).  Temperatures follow :func:`temperature`, annealed once
per epoch.

Shapes: any ``(..., K)``; rows are the leading axes.  Every function keeps the dtype it
is given and modifies none of its arguments.
"""
from __future__ import annotations

import math

import numpy as np

from grader.reference.functions import log_softmax, softmax

TAU0, TAU_RATE, TAU_MIN = 5.0, 0.1, 0.1  # the source's schedule


def gumbel_noise(shape, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
    """Standard Gumbel noise ``g = -log(-log U)``, ``U ~ Uniform(0, 1)``, of the given shape.

    ``rng.random`` draws from [0, 1); a draw of exactly 0 (probability 2**-53) is moved to
    the smallest positive double, so ``g`` is always finite.
    """
    u = rng.random(shape)
    np.maximum(u, np.finfo(np.float64).tiny, out=u)
    g = -np.log(-np.log(u))
    return g.astype(dtype, copy=False)


def gumbel_softmax(logits: np.ndarray, noise: np.ndarray, tau: float) -> np.ndarray:
    """The relaxed sample ``z = softmax((logits + noise) / tau)`` (along the last axis).

    logits (..., K)  unnormalised log-probabilities ``a`` (or ``log q``: same result)
    noise  (..., K)  Gumbel noise, e.g. from :func:`gumbel_noise`
    tau    > 0       temperature
    """
    if not tau > 0:
        raise ValueError(f"the temperature must be positive, got {tau}")
    y = logits + noise
    y /= np.asarray(tau, dtype=y.dtype)
    return softmax(y)


def gumbel_softmax_backward(dz: np.ndarray, z: np.ndarray, tau: float) -> np.ndarray:
    """Vector-Jacobian product of :func:`gumbel_softmax` with the noise held fixed.

    dz (..., K)  gradient of the loss with respect to the sample z
    z  (..., K)  the forward output
    returns d logits (..., K) = z * (dz - sum_k dz_k z_k) / tau

    (The softmax Jacobian is ``diag(z) - z z^T``; the 1/tau is the chain rule through the
    division by the temperature.)
    """
    d = dz - np.sum(dz * z, axis=-1, keepdims=True)
    d *= z
    d /= np.asarray(tau, dtype=d.dtype)
    return d


def hard_sample(logits: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
    """One-hot of ``argmax(logits + noise)`` (..., K), in the logits' dtype.

    With Gumbel ``noise`` this is an exact sample from ``softmax(logits)`` (the Gumbel-max
    trick); without noise it is the most probable state (what evaluation uses).
    """
    scores = logits if noise is None else logits + noise
    K = scores.shape[-1]
    return (np.argmax(scores, axis=-1)[..., None] == np.arange(K)).astype(logits.dtype)


def entropy(logits: np.ndarray) -> np.ndarray:
    """``H(q) = -sum_k q_k log q_k`` with ``q = softmax(logits)``, one value per row (...,).

    Computed from ``log_softmax``, so a probability that underflows to 0 contributes
    exactly 0 (``q log q -> 0``) instead of ``0 * -inf = nan``.
    """
    logq = log_softmax(logits)
    return -np.sum(np.exp(logq) * logq, axis=-1)


def entropy_backward(dH: np.ndarray | float, logits: np.ndarray) -> np.ndarray:
    """Gradient of ``sum(dH * entropy(logits))`` with respect to the logits (..., K).

    dH     (...,) or scalar: gradient of the loss with respect to each row's entropy
    logits (..., K)
    returns dH * dH(q)/da with dH(q)/da_k = -q_k (log q_k + H(q))

    (From dH/dq_k = -(log q_k + 1) and the softmax Jacobian dq_i/da_k = q_i (d_ik - q_k);
    the "+1" cancels because the q_i sum to one.)
    """
    logq = log_softmax(logits)
    q = np.exp(logq)
    H = -np.sum(q * logq, axis=-1, keepdims=True)
    d = logq + H
    d *= q
    d *= -np.asarray(dH, dtype=d.dtype)[..., None]  # a scalar dH becomes shape (1,)
    return d


def kl_uniform(logits: np.ndarray) -> np.ndarray:
    """``KL(q || uniform) = sum_k q_k log(K q_k) = log K - H(q)``, one value per row (...,).

    0 when q is uniform, log K when q is one-hot.
    """
    K = logits.shape[-1]
    return np.asarray(math.log(K), dtype=logits.dtype) - entropy(logits)


def temperature(epoch: int, tau0: float = TAU0, rate: float = TAU_RATE,
                tau_min: float = TAU_MIN) -> float:
    """The annealed temperature of epoch ``epoch`` (counted from 0):
    ``max(tau0 * exp(-rate * epoch), tau_min)``."""
    if epoch < 0:
        raise ValueError(f"epochs are counted from 0, got {epoch}")
    return float(max(tau0 * math.exp(-rate * epoch), tau_min))
