"""Time layers: each processes all T steps of a batch of sequences at once (chapter 4).

Inputs are batch-major, ``(N, T, ...)``: N sequences (rows) of T steps.  The layers follow
the course's layer protocol (``grader.reference.layer``): named ``params``/``grads``,
gradients accumulate with ``+=``, ``zero_grad()``, dtype chosen by the caller.

Why these layers are faster than a literal translation of the equations:

* Everything that does not depend on the recurrent state is done for all N*T positions
  in one matrix product: the embedding lookup, the input projection ``x @ Wx + b`` of the
  recurrent layers, their parameter gradients, and the output Affine.  The Python loop
  over time keeps only the small ``(N, H)`` work (see ``grader.reference.cells``).
* Recurrent layers store their states time-major, ``(T, N, H)``, so that the state of
  step t is one contiguous block and the states shifted by one step (the ``h_prev`` of
  every step, needed for ``dWh``) are a plain slice.
* ``TimeAffineSoftmaxWithLoss`` fuses the output projection, the softmax and the
  cross-entropy on one preallocated ``(N*T, V)`` buffer.  With V = 10,000 that buffer is
  the largest array of the model and its passes dominate the running time.  It is also
  the one place where the work is split over threads (NumPy releases the GIL in its
  loops); the recurrent layers run their small products with single-threaded BLAS,
  whose thread synchronisation would cost more than it saves.

Returned arrays are never overwritten later by the layer (each forward allocates what it
returns), and no layer writes into an array it was given.
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext

import numpy as np

from grader.reference.cells import (lstm_core_backward, lstm_core_forward, rnn_core_backward,
                                    rnn_core_forward)
from grader.reference.layer import Layer

IGNORE_LABEL = -1


def _rng(rng: np.random.Generator | None) -> np.random.Generator:
    return rng if rng is not None else np.random.default_rng()


# ----------------------------------------------------------------------------- embedding


class TimeEmbedding(Layer):
    """Word ids to vectors: ``out[n, t] = W[ids[n, t]]``.

    W (V, D), initialised ``randn * scale``.
    """

    def __init__(self, vocab_size: int, embed_size: int, *, scale: float = 0.01,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        W = _rng(rng).standard_normal((vocab_size, embed_size)) * scale
        self.add_param("W", W.astype(dtype))
        self._ids: np.ndarray | None = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """ids (N, T) integers in [0, V) -> out (N, T, D)."""
        self._ids = np.asarray(ids)
        return self.params["W"][self._ids]

    def backward(self, dout: np.ndarray) -> None:
        """dout (N, T, D) -> None (ids are not differentiable); dW[v] += sum of dout rows with id v.

        A word seen k times in the batch receives k gradient rows, so a plain
        ``dW[ids] += dout`` would lose all but one of them.  Sorting the ids groups the
        repeats, ``np.add.reduceat`` sums each group, and the groups' ids are then unique,
        so one fancy-indexed ``+=`` is correct.  (``np.add.at`` is the one-line
        equivalent; this is about twice as fast on a 700-token batch.)
        """
        D = self.params["W"].shape[1]
        ids = self._ids.reshape(-1)
        rows = dout.reshape(-1, D)
        order = np.argsort(ids, kind="stable")
        sorted_ids = ids[order]
        starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))
        self.grads["W"][sorted_ids[starts]] += np.add.reduceat(rows[order], starts, axis=0)
        return None


# ----------------------------------------------------------------------------- recurrent


def _small_products(method):
    """Run a recurrent layer's forward or backward with single-threaded BLAS.

    Its products are small ((N, H) @ (H, H) inside the time loop, (N*T, D) @ (D, H)
    outside), and for small products a multi-threaded BLAS spends more time making its
    threads wait for each other than computing; see ``single_threaded_blas``.
    """
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with single_threaded_blas():
            return method(*args, **kwargs)
    return wrapper


class _Stateful(Layer):
    """Shared state handling of TimeRNN and TimeLSTM.

    With ``stateful=True`` the last hidden state of a forward pass becomes the initial
    state of the next one (truncated backpropagation through time: the state flows
    across batches, the gradient stops at the batch boundary).  ``reset_state()`` goes
    back to zeros (start of an epoch, or of a new text); ``set_state`` sets it explicitly.
    With ``stateful=False`` every forward starts from the state given by ``set_state``
    (zeros if none), which is what the gradient checks use.
    """

    _state_names: tuple[str, ...] = ()

    def __init__(self, stateful: bool) -> None:
        super().__init__()
        self.stateful = stateful
        self.reset_state()

    def reset_state(self) -> None:
        """Forget the carried state: the next forward starts from zeros."""
        for name in self._state_names:
            setattr(self, name, None)
            setattr(self, "d" + name, None)

    @staticmethod
    def _input_projection(xs: np.ndarray, Wx: np.ndarray, b: np.ndarray):
        """The input's part of every step at once, outside the time loop.

        xs (N, T, D), Wx (D, G), b (G,) -> x2 (T*N, D), a time-major copy of the input
        (each step's rows contiguous, kept for the backward pass), and
        ax (T, N, G) = x_t @ Wx + b for every step t, from one matrix product.
        """
        N, T, D = xs.shape
        x2 = xs.transpose(1, 0, 2).reshape(T * N, D)
        ax = x2 @ Wx
        ax += b
        return x2, ax.reshape(T, N, -1)

    def _initial(self, name: str, N: int, H: int, dtype) -> np.ndarray:
        s = getattr(self, name)
        if s is None:
            return np.zeros((N, H), dtype=dtype)
        if s.shape != (N, H):
            raise ValueError(f"carried state {name} has shape {s.shape} but this batch needs "
                             f"{(N, H)}; call reset_state() when the batch size changes")
        return s


class TimeRNN(_Stateful):
    """A tanh RNN over T steps: ``h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)``.

    Wx (D, H), Wh (H, H) Xavier-initialised (``randn / sqrt(fan_in)``), b (H,) zeros.
    Attributes: ``h`` (N, H) carried state or None; after backward, ``dh`` (N, H) is the
    gradient with respect to the initial state of the batch.
    """

    _state_names = ("h",)

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = True,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__(stateful)
        rng = _rng(rng)
        D, H = input_size, hidden_size
        self.add_param("Wx", (rng.standard_normal((D, H)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (rng.standard_normal((H, H)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(H, dtype=dtype))

    def set_state(self, h: np.ndarray) -> None:
        """Set the initial state h (N, H) of the next forward (copied, in the layer's dtype)."""
        self.h = np.array(h, dtype=self.params["Wh"].dtype)

    @_small_products
    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> hs (N, T, H)."""
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        N, T, _ = xs.shape
        H = Wh.shape[0]
        x2, ax = self._input_projection(xs, Wx, b)
        # states[0] is the initial state, states[t + 1] the output of step t.
        states = np.empty((T + 1, N, H), dtype=ax.dtype)
        states[0] = self._initial("h", N, H, ax.dtype)
        for t in range(T):
            states[t + 1] = rnn_core_forward(ax[t], states[t], Wh)
        if self.stateful:
            self.h = states[T].copy()
        self._cache = (x2, states)
        return states[1:].transpose(1, 0, 2)

    @_small_products
    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """dhs (N, T, H) -> dxs (N, T, D); also sets ``self.dh`` (N, H)."""
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        x2, states = self._cache
        T, N, H = states.shape[0] - 1, states.shape[1], states.shape[2]
        dhs_t = dhs.transpose(1, 0, 2)
        das = np.empty((T, N, H), dtype=states.dtype)
        dh = np.zeros((N, H), dtype=states.dtype)
        for t in reversed(range(T)):
            # The state h_t feeds the output at t and the step t + 1: its gradients add.
            das[t], dh = rnn_core_backward(dhs_t[t] + dh, states[t + 1], Wh)
        self.dh = dh
        da2 = das.reshape(T * N, H)
        # Parameter gradients are sums over steps: one product each over all T*N rows.
        self.grads["Wx"] += x2.T @ da2
        self.grads["Wh"] += states[:-1].reshape(T * N, H).T @ da2
        self.grads["b"] += da2.sum(axis=0)
        return (da2 @ Wx.T).reshape(T, N, -1).transpose(1, 0, 2)


class TimeLSTM(_Stateful):
    """An LSTM over T steps, fused weights with gate blocks [f | i | o | g].

    Wx (D, 4H), Wh (H, 4H) Xavier-initialised (``randn / sqrt(fan_in)``), b (4H,) zeros.
    Attributes: carried ``h``, ``c`` (N, H) or None; after backward, ``dh``, ``dc`` (N, H)
    are the gradients with respect to the initial states.
    """

    _state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = True,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        super().__init__(stateful)
        rng = _rng(rng)
        D, H = input_size, hidden_size
        self.add_param("Wx", (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(4 * H, dtype=dtype))

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        """Set the initial states h, c (N, H) of the next forward (c defaults to zeros)."""
        dtype = self.params["Wh"].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    @_small_products
    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> hs (N, T, H)."""
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        N, T, _ = xs.shape
        H = Wh.shape[0]
        x2, ax = self._input_projection(xs, Wx, b)
        states = np.empty((T + 1, N, H), dtype=ax.dtype)
        states[0] = self._initial("h", N, H, ax.dtype)
        c = self._initial("c", N, H, ax.dtype)
        caches = []
        for t in range(T):
            states[t + 1], c, cache = lstm_core_forward(ax[t], states[t], c, Wh)
            caches.append(cache)
        if self.stateful:
            self.h, self.c = states[T].copy(), c
        self._cache = (x2, states, caches)
        return states[1:].transpose(1, 0, 2)

    @_small_products
    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """dhs (N, T, H) -> dxs (N, T, D); also sets ``self.dh``, ``self.dc`` (N, H)."""
        Wx, Wh = self.params["Wx"], self.params["Wh"]
        x2, states, caches = self._cache
        T, N, H = states.shape[0] - 1, states.shape[1], states.shape[2]
        dhs_t = dhs.transpose(1, 0, 2)
        das = np.empty((T, N, 4 * H), dtype=states.dtype)
        dh = np.zeros((N, H), dtype=states.dtype)
        dc = np.zeros((N, H), dtype=states.dtype)
        for t in reversed(range(T)):
            das[t], dh, dc = lstm_core_backward(dhs_t[t] + dh, dc, caches[t], Wh)
        self.dh, self.dc = dh, dc
        da2 = das.reshape(T * N, 4 * H)
        self.grads["Wx"] += x2.T @ da2
        self.grads["Wh"] += states[:-1].reshape(T * N, H).T @ da2
        self.grads["b"] += da2.sum(axis=0)
        return (da2 @ Wx.T).reshape(T, N, -1).transpose(1, 0, 2)


# ----------------------------------------------------------------------------- output


class TimeAffine(Layer):
    """The same affine map at every step, as one matrix product: ``out = xs @ W + b``.

    W (D, V) Xavier-initialised (``randn / sqrt(D)``), b (V,) zeros.
    """

    def __init__(self, input_size: int, output_size: int, *, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        D, V = input_size, output_size
        self.add_param("W", (_rng(rng).standard_normal((D, V)) / np.sqrt(D)).astype(dtype))
        self.add_param("b", np.zeros(V, dtype=dtype))

    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> out (N, T, V)."""
        N, T, D = xs.shape
        self._x2 = xs.reshape(N * T, D)
        out = self._x2 @ self.params["W"]
        out += self.params["b"]
        return out.reshape(N, T, -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, T, V) -> dxs (N, T, D)."""
        N, T, V = dout.shape
        d2 = dout.reshape(N * T, V)
        self.grads["W"] += self._x2.T @ d2
        self.grads["b"] += d2.sum(axis=0)
        return (d2 @ self.params["W"].T).reshape(N, T, -1)


def _cross_entropy_counts(ts: np.ndarray, ignore_label: int):
    t = np.asarray(ts).reshape(-1)
    valid = t != ignore_label
    return t, valid, int(valid.sum())


class TimeSoftmaxWithLoss(Layer):
    """Softmax and cross-entropy at every step, averaged over the scored tokens.

    The loss is ``mean over (n, t) with ts[n, t] != ignore_label of -log softmax(xs[n, t])[ts[n, t]]``:
    positions labelled ``ignore_label`` (-1, e.g. padding) contribute neither to the loss
    nor to the gradient, and the mean divides by the number of the others.
    """

    def __init__(self, ignore_label: int = IGNORE_LABEL) -> None:
        super().__init__()
        self.ignore_label = ignore_label

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        """xs (N, T, V) scores, ts (N, T) integer targets -> mean cross-entropy (float)."""
        N, T, V = xs.shape
        x2 = xs.reshape(N * T, V)
        t, valid, count = _cross_entropy_counts(ts, self.ignore_label)
        # Subtracting the row maximum makes every exponent <= 0: no overflow, and the
        # largest term is exactly 1, so the sum is >= 1 and its log is safe.
        z = x2 - x2.max(axis=1, keepdims=True)
        rows = np.flatnonzero(valid)
        z_t = z[rows, t[rows]]
        e = np.exp(z)
        s = e.sum(axis=1)
        e /= s[:, None]
        self._cache = (e, t, valid, rows, count, xs.shape)
        if count == 0:
            return 0.0
        # -log p_t = log(sum exp z) - z_t, exact even when p_t underflows to 0.
        return float(np.sum(np.log(s[rows]) - z_t, dtype=np.float64) / count)

    def backward(self, dout=1.0) -> np.ndarray:
        """dout scalar (gradient of the final loss w.r.t. this loss) -> dxs (N, T, V)."""
        probs, t, valid, rows, count, shape = self._cache
        dx = probs.copy()
        dx[rows, t[rows]] -= 1.0
        scale = np.where(valid, float(dout) / max(count, 1), 0.0).astype(dx.dtype)
        dx *= scale[:, None]
        return dx.reshape(shape)


class TimeAffineSoftmaxWithLoss(Layer):
    """``TimeAffine`` followed by ``TimeSoftmaxWithLoss``, fused to save memory passes.

    Same parameters as ``TimeAffine`` (W (D, V), b (V,), so weights are interchangeable)
    and the same loss and ignore-label rule as ``TimeSoftmaxWithLoss``.

    With N*T = 700 and V = 10,000 the scores are a 7-million-entry array, and every pass
    over it costs about as much as all the small matrix products of the recurrent layer.
    This layer therefore

    * keeps one ``(N*T, V)`` buffer from call to call instead of allocating a new one;
    * works on it in blocks of ``block_rows`` rows, so that the bias, max, subtract, exp
      and sum passes over a block run while it is still in the CPU cache after its matrix
      product;
    * never normalises the buffer: with ``E = exp(z - max)`` and row sums ``s``, the
      gradient of the scores is ``(E - s * onehot) * d`` with ``d = 1 / (s * count)`` per
      row (0 for ignored rows).  Forward subtracts ``s`` at the targets (N*T scalars);
      backward folds the row scale ``d`` into the small operands of the two products,
      ``dW = (h * d).T @ E'`` and ``dh = (E' @ W.T) * d``, and gets ``db = d @ E'`` as one
      extra row of the first product.  So backward makes no elementwise pass over the
      big buffer at all;
    * splits the work over ``workers`` threads (rows in forward; columns for ``dW`` and rows
      for ``dh`` in backward).  NumPy releases the GIL inside ufuncs and matrix products,
      so the threads run in parallel; the BLAS library is held to one thread meanwhile, so
      that it does not compete with them.  ``workers=1`` runs everything in the caller's
      thread (and so does a machine without ``threadpoolctl``).
    """

    def __init__(self, input_size: int, output_size: int, *, ignore_label: int = IGNORE_LABEL,
                 block_rows: int = 128, workers: int | None = None, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        D, V = input_size, output_size
        self.add_param("W", (_rng(rng).standard_normal((D, V)) / np.sqrt(D)).astype(dtype))
        self.add_param("b", np.zeros(V, dtype=dtype))
        self.ignore_label = ignore_label
        self.block_rows = block_rows
        self.workers = default_workers() if workers is None else max(1, int(workers))
        # Below this many scores, handing work to threads costs more than it saves.
        self.parallel_min_size = 1 << 18
        self._buffer = np.empty(0, dtype=dtype)

    def _scores_buffer(self, rows: int, V: int, dtype) -> np.ndarray:
        # Reuse the buffer whenever it is large enough: a fresh 28 MB array costs
        # thousands of page faults on first touch, every iteration.
        if self._buffer.size < rows * V or self._buffer.dtype != dtype:
            self._buffer = np.empty(rows * V, dtype=dtype)
        return self._buffer[:rows * V].reshape(rows, V)

    def scores(self, hs: np.ndarray) -> np.ndarray:
        """hs (N, T, D) -> scores (N, T, V) (a new array; for prediction and sampling)."""
        out = hs @ self.params["W"]
        out += self.params["b"]
        return out

    def forward(self, hs: np.ndarray, ts: np.ndarray) -> float:
        """hs (N, T, D), ts (N, T) integer targets -> mean cross-entropy (float)."""
        W, b = self.params["W"], self.params["b"]
        N, T, D = hs.shape
        M, V = N * T, W.shape[1]
        h2 = hs.reshape(M, D)
        t, valid, count = _cross_entropy_counts(ts, self.ignore_label)
        t_safe = np.where(valid, t, 0)  # any column will do for ignored rows
        E = self._scores_buffer(M, V, W.dtype)
        s = np.empty(M, dtype=W.dtype)
        z_t = np.empty(M, dtype=W.dtype)
        R = self.block_rows
        local = np.arange(min(R, M))

        def rows_forward(lo: int, hi: int) -> None:
            for a in range(lo, hi, R):
                c = min(a + R, hi)
                blk = E[a:c]
                np.matmul(h2[a:c], W, out=blk)
                blk += b
                blk -= blk.max(axis=1, keepdims=True)
                z_t[a:c] = blk[local[:c - a], t_safe[a:c]]
                np.exp(blk, out=blk)
                np.sum(blk, axis=1, out=s[a:c])

        workers = self.workers if M * V >= self.parallel_min_size else 1
        self._workers = workers  # backward uses the same decision
        parallel(rows_forward, _split(M, workers), workers)
        rows = np.flatnonzero(valid)
        # E' = E - s * onehot (see the class docstring); only the scored rows.
        E[rows, t[rows]] -= s[rows]
        d = np.zeros(M, dtype=W.dtype)
        if count:
            d[rows] = 1.0 / (s[rows] * count)
        self._cache = (h2, d, (N, T, D))
        if count == 0:
            return 0.0
        return float(np.sum(np.log(s[rows]) - z_t[rows], dtype=np.float64) / count)

    def backward(self, dout=1.0) -> np.ndarray:
        """dout scalar -> dhs (N, T, D)."""
        W, dW, db = self.params["W"], self.grads["W"], self.grads["b"]
        h2, d, shape = self._cache
        M, D = h2.shape
        V = W.shape[1]
        E = self._buffer[:M * V].reshape(M, V)
        d = d * np.asarray(dout, dtype=d.dtype)
        # [h * d | d].T @ E' gives dW in its first D rows and db in the last one.
        hd = np.empty((M, D + 1), dtype=h2.dtype)
        np.multiply(h2, d[:, None], out=hd[:, :D])
        hd[:, D] = d
        dh = np.empty((M, D), dtype=h2.dtype)
        workers = self._workers
        parts = max(1, min(workers, M, V))  # the same number of row and column parts
        row_parts, col_parts = _split(M, parts), _split(V, parts)

        def part_backward(k: int) -> None:
            lo, hi = col_parts[k]
            G = hd.T @ E[:, lo:hi]
            dW[:, lo:hi] += G[:D]
            db[lo:hi] += G[D]
            lo, hi = row_parts[k]
            np.matmul(E[lo:hi], W.T, out=dh[lo:hi])

        parallel(part_backward, [(k,) for k in range(parts)], workers)
        dh *= d[:, None]
        return dh.reshape(shape)


# ----------------------------------------------------------------------------- threads


def default_workers() -> int:
    """Threads for the big fused layer: the CPUs this process may use, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def _split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (lo, hi) ranges covering range(n), as equal as possible."""
    parts = max(1, min(parts, n))
    edges = [n * k // parts for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts)]


_POOL: ThreadPoolExecutor | None = None
_BLAS = None  # a threadpoolctl.ThreadpoolController, or False if threadpoolctl is missing


def _blas_controller():
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController
            _BLAS = ThreadpoolController()
        except ImportError:
            _BLAS = False
    return _BLAS


def single_threaded_blas():
    """Context manager: matrix products run in the calling thread while it is active.

    A BLAS library splits every product over its own threads and makes them wait for each
    other at the end.  For the small products of a time loop ((N, H) @ (H, H) with N = 20,
    H = 100) that synchronisation costs more than the product, and on a busy machine,
    where the other threads must wait for a free core, it can make training 10 times
    slower.  (A no-op without ``threadpoolctl``.)
    """
    controller = _blas_controller()
    return controller.limit(limits=1, user_api="blas") if controller else nullcontext()


def parallel(fn, arg_tuples, workers: int) -> None:
    """Run ``fn(*args)`` for each args in ``arg_tuples``, on up to ``workers`` threads.

    The calls must write to disjoint parts of their arrays.  The BLAS library is limited
    to one thread meanwhile (also when the calls run one after the other here): otherwise
    each concurrent product would start its own BLAS threads and they would all fight
    for the same cores.
    """
    global _POOL
    arg_tuples = list(arg_tuples)
    with single_threaded_blas():
        if workers <= 1 or len(arg_tuples) <= 1 or not _blas_controller():
            for args in arg_tuples:
                fn(*args)
            return
        if _POOL is None or _POOL._max_workers < workers - 1:
            _POOL = ThreadPoolExecutor(max_workers=max(1, workers - 1),
                                       thread_name_prefix="time-layers")
        futures = [_POOL.submit(fn, *args) for args in arg_tuples[1:]]
        fn(*arg_tuples[0])  # the calling thread does its share instead of waiting idle
        for f in futures:
            f.result()


# ----------------------------------------------------------------------------- dropout


class TimeDropout(Layer):
    """Inverted dropout: in training keep each entry with probability 1 - ratio and scale
    the kept ones by 1 / (1 - ratio), so that nothing changes at evaluation time.

    Set ``layer.train = False`` to evaluate (identity).
    """

    def __init__(self, ratio: float = 0.5, *, rng: np.random.Generator | None = None) -> None:
        super().__init__()
        if not 0.0 <= ratio < 1.0:
            raise ValueError(f"dropout ratio must be in [0, 1), got {ratio}")
        self.ratio = ratio
        self.rng = _rng(rng)
        self.train = True
        self._mask = None

    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> same shape."""
        if not self.train or self.ratio == 0.0:
            self._mask = None
            return xs.copy()
        keep = self.rng.random(xs.shape) >= self.ratio
        self._mask = keep.astype(xs.dtype) * xs.dtype.type(1.0 / (1.0 - self.ratio))
        return xs * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """dout (N, T, D) -> dxs (N, T, D)."""
        return dout.copy() if self._mask is None else dout * self._mask
