"""Stable elementwise and row-wise functions shared by the reference layers.

All functions keep the dtype they are given (float32 stays float32).
"""
from __future__ import annotations

import numpy as np


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``; subtracting the maximum first keeps exp() from overflowing."""
    z = x - x.max(axis=axis, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=axis, keepdims=True)
    return z


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """log(softmax(x)) without forming softmax, exact for very negative logits."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=axis, keepdims=True))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function, written through tanh so that large |x| never overflows."""
    return 0.5 * (np.tanh(0.5 * x) + 1.0)
