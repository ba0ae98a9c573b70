"""Generic layers for chapters 3 to 5: Embedding, Dense, RNNCell, SimpleRNN, SoftmaxCrossEntropy.

Every layer follows the protocol in ``grader.reference.layer``: ``params`` and ``grads``
are dicts with the same keys, ``forward`` caches what ``backward`` needs, and
``backward`` **adds** parameter gradients into ``grads`` (call ``zero_grad()`` between
updates).  Each backward pass is written right below its forward pass, so the two can be
read side by side.

Shape letters used in the docstrings:

    N  batch size            T  time steps         V  vocabulary size (number of ids)
    D  input features        H  hidden units       C  classes
    ...  any number of leading axes

Constructors take keyword-only ``rng`` (a ``np.random.Generator``, so initialisation is
seeded; ``None`` means ``np.random.default_rng(0)``) and ``dtype`` (float64 for gradient
checks, float32 for speed).  Parameters are created in that dtype and stay in it.
"""
from __future__ import annotations

import numpy as np

from grader.reference.cells import rnn_step_backward, rnn_step_forward
from grader.reference.functions import log_softmax
from grader.reference.layer import Layer


def _generator(rng: np.random.Generator | None) -> np.random.Generator:
    """The caller's generator, or a fixed-seed one so that omitting ``rng`` is still reproducible."""
    return np.random.default_rng(0) if rng is None else rng


def _check_ids(ids: np.ndarray, V: int, what: str = "ids") -> np.ndarray:
    """Return ``ids`` as an integer array, or raise if any id is outside ``[0, V)``.

    Negative ids are rejected too: NumPy would silently read row ``V + id`` instead.
    """
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"{what} must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"{what} must lie in [0, {V}), got values from {ids.min()} "
                         f"to {ids.max()}")
    return ids


# --------------------------------------------------------------------------------------
# Embedding
# --------------------------------------------------------------------------------------
class Embedding(Layer):
    """A lookup table: id ``i`` becomes row ``W[i]``.

    Params: ``W`` (V, D), initialised N(0, 1) so that the next layer's randn/sqrt(fan_in)
    weights see inputs of unit variance.

    Multiplying a one-hot row by ``W`` selects the same row, so an embedding is a dense
    layer (without bias) on one-hot inputs that skips the multiplications by zero.
    """

    def __init__(self, V: int, D: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = _generator(rng)
        self.V, self.D = V, D
        self.add_param("W", rng.standard_normal((V, D)).astype(dtype))
        self.ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """ids: integer array (...) with values in [0, V)  ->  vectors (..., D)."""
        self.ids = _check_ids(ids, self.V)
        return self.params["W"][self.ids]

    def backward(self, dout: np.ndarray) -> None:
        """dout: (..., D).  Adds into ``grads["W"]`` (V, D); returns None (ids have no gradient).

        Row ``i`` of dW is the sum of ``dout`` over every position where id ``i`` occurs.
        ``np.add.at`` performs that sum.  The tempting ``dW[ids] += dout`` is wrong: it
        is ``dW[ids] = dW[ids] + dout``, a fancy-index *assignment*, and when an id is
        repeated each write overwrites the previous one, so only the last occurrence
        counts.
        """
        np.add.at(self.grads["W"], self.ids, dout)
        return None


# --------------------------------------------------------------------------------------
# Dense (affine)
# --------------------------------------------------------------------------------------
class Dense(Layer):
    """Affine map ``y = x @ W + b`` applied to the last axis.

    Params: ``W`` (D_in, D_out) initialised randn/sqrt(D_in) (Xavier-like: keeps the output
    variance near the input variance); ``b`` (D_out,) zeros.
    """

    def __init__(self, D_in: int, D_out: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = _generator(rng)
        self.D_in, self.D_out = D_in, D_out
        self.add_param("W", (rng.standard_normal((D_in, D_out)) / np.sqrt(D_in)).astype(dtype))
        self.add_param("b", np.zeros(D_out, dtype=dtype))
        self.x: np.ndarray | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """x: (..., D_in)  ->  (..., D_out).  Works for (N, D_in) and (N, T, D_in) alike."""
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout: (..., D_out)  ->  dx (..., D_in); adds into grads W (D_in, D_out), b (D_out,)."""
        # Every leading position (batch item, time step) used the same W and b, so their
        # contributions are summed: flatten the leading axes into one.
        x2 = self.x.reshape(-1, self.D_in)
        d2 = dout.reshape(-1, self.D_out)
        self.grads["W"] += x2.T @ d2
        self.grads["b"] += d2.sum(axis=0)
        return dout @ self.params["W"].T


class RNNCell(Layer):
    """A single tanh step: ``h_next = tanh(x @ Wx + h_prev @ Wh + b)``.

    Params: ``Wx`` (D, H) randn/sqrt(D), ``Wh`` (H, H) randn/sqrt(H), ``b`` (H,) zeros.
    Caches one step only; to unroll over time use ``SimpleRNN``, which shares one set of
    parameters across all steps.
    """

    def __init__(self, D: int, H: int, *, rng: np.random.Generator | None = None,
                 dtype=np.float64) -> None:
        super().__init__()
        rng = _generator(rng)
        self.D, self.H = D, H
        self.add_param("Wx", (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(H, dtype=dtype))
        self.cache: tuple | None = None

    def forward(self, x: np.ndarray, h_prev: np.ndarray) -> np.ndarray:
        """x (N, D), h_prev (N, H)  ->  h_next (N, H)."""
        p = self.params
        h_next, self.cache = rnn_step_forward(x, h_prev, p["Wx"], p["Wh"], p["b"])
        return h_next

    def backward(self, dh_next: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """dh_next (N, H)  ->  (dx (N, D), dh_prev (N, H)); adds into grads Wx, Wh, b."""
        dx, dh_prev, dWx, dWh, db = rnn_step_backward(dh_next, self.cache)
        self.grads["Wx"] += dWx
        self.grads["Wh"] += dWh
        self.grads["b"] += db
        return dx, dh_prev


# --------------------------------------------------------------------------------------
# SimpleRNN: the step unrolled over T
# --------------------------------------------------------------------------------------
class SimpleRNN(Layer):
    """A tanh RNN over a whole sequence, with parameters shared by every time step.

    Params: ``Wx`` (D, H), ``Wh`` (H, H), ``b`` (H,), initialised as in ``RNNCell``.

    ``forward(x)`` with x (N, T, D) returns the last hidden state (N, H), or every hidden
    state (N, T, H) when ``return_sequences=True``.  The state starts at zero unless an
    initial state ``h0`` (N, H) is passed; its gradient is left in ``self.dh0``.
    """

    def __init__(self, D: int, H: int, return_sequences: bool = False, *,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        super().__init__()
        rng = _generator(rng)
        self.D, self.H = D, H
        self.return_sequences = return_sequences
        # Same draws, in the same order, as RNNCell(D, H, rng=...).
        self.add_param("Wx", (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(H, dtype=dtype))
        self.caches: list[tuple] = []
        self.x_shape: tuple[int, int, int] | None = None
        self.dh0: np.ndarray | None = None

    def forward(self, x: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """x (N, T, D), optional h0 (N, H)  ->  (N, H) last state, or (N, T, H) all states."""
        N, T, _ = x.shape
        p = self.params
        dtype = np.result_type(x, p["Wx"])
        h = np.zeros((N, self.H), dtype=dtype) if h0 is None else h0
        hs = np.empty((N, T, self.H), dtype=dtype)
        self.caches = []
        for t in range(T):
            h, cache = rnn_step_forward(x[:, t], h, p["Wx"], p["Wh"], p["b"])
            self.caches.append(cache)
            hs[:, t] = h
        self.x_shape = x.shape
        return hs if self.return_sequences else h

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, H) or (N, T, H) matching forward's output  ->  dx (N, T, D).

        Backpropagation through time: walk the steps in reverse, carrying ``dh`` (the
        gradient reaching h_t from later steps) and adding the gradient that arrives
        directly from the output at step t.  The shared weights collect the sum over steps.
        """
        N, T, D = self.x_shape
        p = self.params
        dx = np.empty((N, T, D), dtype=np.result_type(dout, p["Wx"]))
        if self.return_sequences:
            dh = np.zeros((N, self.H), dtype=dx.dtype)
        else:
            dh = dout  # only the last state was output
        for t in reversed(range(T)):
            if self.return_sequences:
                dh = dh + dout[:, t]
            dx[:, t], dh, dWx, dWh, db = rnn_step_backward(dh, self.caches[t])
            self.grads["Wx"] += dWx
            self.grads["Wh"] += dWh
            self.grads["b"] += db
        self.dh0 = dh
        return dx


# --------------------------------------------------------------------------------------
# Loss
# --------------------------------------------------------------------------------------
class SoftmaxCrossEntropy(Layer):
    """Sparse categorical cross-entropy from logits, averaged over the labelled items.

    ``forward(logits (..., C), labels (...))`` -> Python float, e.g. logits (N, C) with
    labels (N,), or logits (N, T, C) with labels (N, T).  Labels are integer class ids in
    [0, C).  If ``ignore_index`` is set, items carrying that label (padding) contribute
    nothing and are not counted in the mean.

    Uses ``log_softmax`` rather than ``log(softmax)``: a very negative logit would make
    softmax underflow to 0 and its log -inf.  No parameters.
    """

    def __init__(self, ignore_index: int | None = None) -> None:
        super().__init__()
        self.ignore_index = ignore_index
        self.probs: np.ndarray | None = None

    def forward(self, logits: np.ndarray, labels: np.ndarray) -> float:
        """logits (..., C), labels integer (...)  ->  mean negative log-likelihood (float)."""
        labels = np.asarray(labels)
        C = logits.shape[-1]
        if labels.shape != logits.shape[:-1]:
            raise ValueError(f"labels shape {labels.shape} must equal logits shape "
                             f"{logits.shape} without its last axis")
        mask = np.ones(labels.shape, dtype=bool)
        if self.ignore_index is not None:
            mask = labels != self.ignore_index
        safe = np.where(mask, labels, 0)  # any valid index for ignored items; masked below
        _check_ids(safe, C, what="labels")
        logp = log_softmax(logits)
        picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
        self.count = int(mask.sum())
        self.mask, self.labels = mask, safe
        self.probs = np.exp(logp)
        if self.count == 0:
            return 0.0
        return float(-(picked * mask).sum() / self.count)

    def backward(self, dout: float | np.ndarray = 1.0) -> np.ndarray:
        """dout: scalar gradient of the final loss w.r.t. this loss  ->  dlogits (..., C).

        d(-log softmax(z)[y]) / dz = softmax(z) - onehot(y), divided by the count of the mean.
        """
        dlogits = self.probs.copy()
        np.put_along_axis(dlogits, self.labels[..., None],
                          np.take_along_axis(dlogits, self.labels[..., None], axis=-1) - 1.0,
                          axis=-1)
        dlogits *= self.mask[..., None]
        dlogits *= np.asarray(dout, dtype=dlogits.dtype) / max(self.count, 1)
        return dlogits


__all__ = ["Embedding", "Dense", "RNNCell", "SimpleRNN", "SoftmaxCrossEntropy",
           "rnn_step_forward", "rnn_step_backward"]
