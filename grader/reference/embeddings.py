"""Chapter 3 reference: one-hot codes versus embeddings, on next-letter prediction.

The task: given a letter (or the previous four), predict the next one in a cycle, e.g.
a->b, b->c, c->d, d->e, e->a for "abcde".  Two models solve it:

* ``OneHotRNNClassifier``:   one-hot (V features) -> SimpleRNN(H) -> Dense(V) -> softmax
* ``EmbeddingRNNClassifier``: ids -> Embedding(V, D) -> SimpleRNN(H) -> Dense(V) -> softmax

The second differs only in its first step: a row lookup in a learned (V, D) table instead
of a (V, H) matrix product with a vector that is zero everywhere but one place.

Training set choice: "abcde" has only 5 distinct samples, which would make one
mini-batch of 5 per epoch.  ``next_letter_dataset(..., repeats=k)`` repeats the cycle
``k`` times; the course uses ``repeats=32`` (160 samples, 5 mini-batches of 32 per
epoch) with the source's Adam lr 0.01, batch 32, 100 epochs.  Both models then reach
100% accuracy after 10 to 25 epochs (about 0.12 s for all 100 epochs on one core).

The larger example, the next letter from the previous four of the 26-letter alphabet,
uses ``next_letter_dataset(ALPHABET, window=4, repeats=4)`` (104 samples, cyclic so
"zabc" -> "d" is included), H = 16 and D = 4 with the same optimiser and batch size:
100% within about 12 epochs.  (With H = 3 and D = 2 it reaches only 55% to 85% in 100 epochs.)
"""
from __future__ import annotations

import string
from typing import Mapping

import numpy as np

from grader.reference.layer import Layer, collect, load_params, save_params
from grader.reference.layers import Dense, Embedding, SimpleRNN, SoftmaxCrossEntropy
from grader.reference.optim import clip_grads

LETTERS = "abcde"
ALPHABET = string.ascii_lowercase


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------
def one_hot(ids: np.ndarray, V: int, dtype=np.float64) -> np.ndarray:
    """Integer ids (...) in [0, V)  ->  one-hot codes (..., V) of ``dtype``."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= V):
        raise ValueError(f"ids must lie in [0, {V}), got values from {ids.min()} to {ids.max()}")
    # Comparing against 0..V-1 broadcasts to (..., V) with a single True per row.
    return (ids[..., None] == np.arange(V)).astype(dtype)


def encode(letters: str, alphabet: str) -> np.ndarray:
    """A string -> its ids (len,) in ``alphabet``; ValueError naming any unknown letter."""
    unknown = sorted({ch for ch in letters if ch not in alphabet})
    if unknown:
        raise ValueError(f"letter(s) {', '.join(map(repr, unknown))} not in the alphabet "
                         f"{alphabet!r}")
    return np.array([alphabet.index(ch) for ch in letters], dtype=np.int64)


def next_letter_dataset(text: str = LETTERS, window: int = 1, *, cyclic: bool = True,
                        repeats: int = 1, alphabet: str | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """Windows of ``window`` letters and the letter that follows each.

    Returns X (N, window) int64 ids and y (N,) int64 ids, indices into ``alphabet``
    (default: ``text`` itself when its letters are distinct, as for "abcde" and
    ``ALPHABET``; otherwise the sorted set of its letters).

    ``cyclic=True`` wraps around, so "abcde" gives a->b, ..., e->a (N = len(text)) and
    the 26-letter alphabet with window 4 gives "abcd"->e, ..., "zabc"->d (N = 26).
    ``cyclic=False`` keeps only windows inside the text (N = len(text) - window).
    ``repeats`` tiles the whole set (N multiplied by ``repeats``) to make mini-batches of
    a useful size from a tiny task.

    >>> next_letter_dataset("abcde")[1]
    array([1, 2, 3, 4, 0])
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    if alphabet is None:
        alphabet = text if len(set(text)) == len(text) else "".join(sorted(set(text)))
    ids = encode(text, alphabet)
    L = len(ids)
    starts = range(L) if cyclic else range(L - window)
    if len(starts) == 0:
        raise ValueError(f"text of length {L} is too short for window {window}")
    X = np.array([[ids[(s + k) % L] for k in range(window)] for s in starts], dtype=np.int64)
    y = np.array([ids[(s + window) % L] for s in starts], dtype=np.int64)
    return np.tile(X, (repeats, 1)), np.tile(y, repeats)


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------
class _SequenceClassifier:
    """Shared plumbing: a dict of layers, the loss, and the flattened params/grads.

    Subclasses build ``self.layers`` (an ordered dict name -> layer) and ``_embed(X)`` /
    ``_embed_backward(dx)`` for their first step.
    """

    def _finish_init(self, V: int, alphabet: str | None, dtype) -> None:
        self.V = V
        self.dtype = np.dtype(dtype)
        # Letters a, b, c, ... by default: "abcde" for V = 5, the whole alphabet for V = 26.
        self.alphabet = alphabet if alphabet is not None else (
            ALPHABET[:V] if V <= len(ALPHABET) else None)
        if self.alphabet is not None and len(self.alphabet) != V:
            raise ValueError(f"alphabet {self.alphabet!r} has {len(self.alphabet)} letters, "
                             f"but V = {V}")
        self.loss_fn = SoftmaxCrossEntropy()
        # The same arrays as the layers hold, so an optimiser's in-place update reaches them.
        self.params, self.grads = collect(self.layers)

    def forward(self, X: np.ndarray) -> np.ndarray:
        """X (N, T) integer ids  ->  logits (N, V) for the letter after each sequence."""
        h = self.layers["rnn"].forward(self._embed(X))
        return self.layers["dense"].forward(h)

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy of predicting ``y`` (N,) from ``X``; caches for ``backward``."""
        return self.loss_fn.forward(self.forward(X), y)

    def backward(self) -> None:
        """Add the gradients of the last ``loss`` into ``self.grads`` (they accumulate)."""
        dlogits = self.loss_fn.backward()
        dh = self.layers["dense"].backward(dlogits)
        dx = self.layers["rnn"].backward(dh)
        self._embed_backward(dx)

    def zero_grad(self) -> None:
        for layer in self.layers.values():
            layer.zero_grad()

    def predict(self, X: np.ndarray) -> np.ndarray:
        """X (N, T) ids  ->  predicted next ids (N,)."""
        return self.forward(X).argmax(axis=-1)

    def parameter_count(self) -> int:
        """Total number of trainable numbers."""
        return sum(p.size for p in self.params.values())


class OneHotRNNClassifier(_SequenceClassifier):
    """one-hot (V) -> SimpleRNN(V, H) -> Dense(H, V); softmax in the loss.

    Params (via ``collect``): ``rnn.Wx`` (V, H), ``rnn.Wh`` (H, H), ``rnn.b`` (H,),
    ``dense.W`` (H, V), ``dense.b`` (V,).  Count: V*H + H*H + H + H*V + V.

    ``forward`` accepts ids (N, T) and one-hot encodes them, or an already one-hot float
    array (N, T, V), the source's [samples, time steps, features] layout.
    """

    def __init__(self, V: int, H: int, *, alphabet: str | None = None,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        self.layers: dict[str, Layer] = {
            "rnn": SimpleRNN(V, H, rng=rng, dtype=dtype),
            "dense": Dense(H, V, rng=rng, dtype=dtype),
        }
        self._finish_init(V, alphabet, dtype)

    def _embed(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim == 3 and np.issubdtype(X.dtype, np.floating):
            return X
        return one_hot(X, self.V, self.dtype)

    def _embed_backward(self, dx: np.ndarray) -> None:
        pass  # one-hot codes are fixed inputs: nothing to learn


class EmbeddingRNNClassifier(_SequenceClassifier):
    """ids -> Embedding(V, D) -> SimpleRNN(D, H) -> Dense(H, V); softmax in the loss.

    Params: ``embed.W`` (V, D), ``rnn.Wx`` (D, H), ``rnn.Wh`` (H, H), ``rnn.b`` (H,),
    ``dense.W`` (H, V), ``dense.b`` (V,).  Count: V*D + D*H + H*H + H + H*V + V.
    """

    def __init__(self, V: int, D: int, H: int, *, alphabet: str | None = None,
                 rng: np.random.Generator | None = None, dtype=np.float64) -> None:
        rng = np.random.default_rng(0) if rng is None else rng
        self.layers: dict[str, Layer] = {
            "embed": Embedding(V, D, rng=rng, dtype=dtype),
            "rnn": SimpleRNN(D, H, rng=rng, dtype=dtype),
            "dense": Dense(H, V, rng=rng, dtype=dtype),
        }
        self._finish_init(V, alphabet, dtype)

    def _embed(self, X: np.ndarray) -> np.ndarray:
        return self.layers["embed"].forward(X)

    def _embed_backward(self, dx: np.ndarray) -> None:
        self.layers["embed"].backward(dx)


def parameter_count_table(vocab_sizes, D: int, H: int) -> list[dict[str, int | float]]:
    """Compare parameter counts as the vocabulary grows, one dict per V.

    Keys: ``V``; ``one_hot_input`` = V*H (the RNN's input weights on one-hot codes);
    ``embedding_input`` = V*D + D*H (table plus the RNN's input weights); ``one_hot`` and
    ``embedding``, the whole models' counts (both include the Dense(H, V) output layer,
    which grows with V either way); ``ratio`` = one_hot_input / embedding_input.
    Computed by formula, so huge V costs nothing; the tests check it against
    ``parameter_count()`` of real models.
    """
    rows = []
    for V in vocab_sizes:
        recurrent = H * H + H
        output = H * V + V
        one_hot_input = V * H
        embedding_input = V * D + D * H
        rows.append(dict(V=int(V), one_hot_input=one_hot_input, embedding_input=embedding_input,
                         one_hot=one_hot_input + recurrent + output,
                         embedding=embedding_input + recurrent + output,
                         ratio=one_hot_input / embedding_input))
    return rows


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
def accuracy(model, X: np.ndarray, y: np.ndarray) -> float:
    """Fraction of sequences whose next letter is predicted correctly."""
    return float(np.mean(model.predict(X) == y))


def train(model, X: np.ndarray, y: np.ndarray, epochs: int, batch_size: int, optimizer,
          rng: np.random.Generator, *, clip_norm: float | None = None, verbose: bool = False
          ) -> dict[str, list[float]]:
    """Mini-batch training with a fresh shuffle every epoch.

    X (N, T) ids, y (N,) ids; ``optimizer`` has ``step(params, grads)`` (SGD, Adam);
    ``rng`` draws the shuffles.  Each mini-batch: zero_grad, loss, backward, optional
    ``clip_grads(model.grads, clip_norm)``, optimizer step.  ``verbose`` prints each epoch.
    Returns ``dict(loss=[...], accuracy=[...])``; entry e of ``loss`` and
    ``accuracy`` is measured on the whole training set *after* epoch e (one extra forward
    pass, so the numbers describe one model rather than a blend of batches).
    """
    X, y = np.asarray(X), np.asarray(y)
    N = len(X)
    history: dict[str, list[float]] = dict(loss=[], accuracy=[])
    for epoch in range(epochs):
        order = rng.permutation(N)
        for first in range(0, N, batch_size):
            batch = order[first:first + batch_size]
            model.zero_grad()
            model.loss(X[batch], y[batch])
            model.backward()
            if clip_norm is not None:
                clip_grads(model.grads, clip_norm)
            optimizer.step(model.params, model.grads)
        history["loss"].append(model.loss(X, y))
        history["accuracy"].append(accuracy(model, X, y))
        if verbose:
            print(f"epoch {epoch + 1:4d}  loss {history['loss'][-1]:.4f}  "
                  f"accuracy {history['accuracy'][-1]:.3f}")
    return history


def epochs_to_accuracy(history: Mapping[str, list[float]], target: float = 1.0) -> int | None:
    """First epoch (counting from 1) whose accuracy reached ``target``; None if never."""
    for epoch, acc in enumerate(history["accuracy"], start=1):
        if acc >= target:
            return epoch
    return None


# --------------------------------------------------------------------------------------
# Saving, loading, predicting
# --------------------------------------------------------------------------------------
# The chapter-3 names of the course's one saver and loader (grader.reference.layer): the
# chapter's exercise has students write their own load_params(path), which returns a
# dict, so the reference loader that fills a model goes by another name here.
save_weights = save_params
load_weights = load_params


def predict_next(model, letters: str) -> str:
    """The letter the model predicts after ``letters`` (e.g. "a" -> "b", or "abcd" -> "e").

    Raises ValueError for an empty string or a letter outside ``model.alphabet``.
    """
    if model.alphabet is None:
        raise ValueError("the model has no alphabet; construct it with alphabet=...")
    if not isinstance(letters, str) or len(letters) == 0:
        raise ValueError(f"give at least one letter from {model.alphabet!r}, got {letters!r}")
    ids = encode(letters, model.alphabet)[None, :]  # a batch of one sequence: (1, T)
    return model.alphabet[int(model.predict(ids)[0])]


__all__ = ["LETTERS", "ALPHABET", "one_hot", "encode", "next_letter_dataset",
           "OneHotRNNClassifier", "EmbeddingRNNClassifier", "parameter_count_table",
           "accuracy", "train", "epochs_to_accuracy", "save_weights", "load_weights",
           "predict_next"]
