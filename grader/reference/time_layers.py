"""Time layers: each processes all T steps of a batch of sequences at once (chapter 4).

Inputs are batch-major, ``(N, T, ...)``: N sequences (rows) of T steps.  The layers follow
the course's layer protocol (``grader.reference.layer``): named ``params``/``grads``,
gradients accumulate with ``+=``, ``zero_grad()``, dtype chosen by the caller.

Why these layers are faster than a literal translation of the equations:

* Everything that does not depend on the recurrent state is done for all N*T positions
  in one matrix product: the embedding lookup, the input projection ``x @ Wx + b`` of the
  recurrent layers, their parameter gradients, and the output Affine.  The Python loop
  over time keeps only the small ``(N, H)`` work (see ``grader.reference.cells``), and
  the backward loop gets each step's local derivatives computed beforehand, for all
  steps at once.
* Recurrent layers store their states time-major, ``(T, N, H)`` (the LSTM feature-major,
  ``(T, H, N)``, so that its four gate blocks are contiguous rows), so that the state of
  step t is one contiguous block and the states shifted by one step (the ``h_prev`` of
  every step, needed for ``dWh``) are a plain slice.
* ``TimeAffineSoftmaxWithLoss`` fuses the output projection, the softmax and the
  cross-entropy on one preallocated ``(N*T, V)`` buffer.  With V = 10,000 its three
  matrix products are most of a training step.
* All the work runs with BLAS held to one thread (``grader.reference.threads``): the
  large products are shared out over our own threads instead, and the small products of
  the time loops stay in the calling thread, where a multi-threaded BLAS would spend more
  on synchronisation than on arithmetic.

Returned arrays are never overwritten later by the layer (each forward allocates what it
returns), and no layer writes into an array it was given.
"""
from __future__ import annotations

import numpy as np

from grader.reference.cells import (lstm_core_backward, lstm_core_forward, lstm_local_grads,
                                    rnn_core_backward, rnn_core_forward, rnn_local_grads)
from grader.reference.layer import Layer
from grader.reference.threads import (Background, default_workers, matmul, parallel,
                                      single_threaded_blas, split)

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
        ax = matmul(x2, Wx)
        ax += b
        return x2, ax.reshape(T, N, -1)

    def _parameter_gradients(self, x2: np.ndarray, h_prevs: np.ndarray,
                             das: np.ndarray) -> np.ndarray:
        """After the loop: the parameter gradients, sums over the steps, one product each.

        x2 (T*N, D) time-major inputs, h_prevs (T, N, H) the state entering each step,
        das (T, N, G) the gradients of each step's pre-activation.  Adds to
        ``grads["Wx"]``, ``grads["Wh"]``, ``grads["b"]``; returns dxs (N, T, D).
        """
        T, N, G = das.shape
        da2 = das.reshape(T * N, G)  # a copy if das is a transposed view
        self.grads["Wx"] += matmul(x2.T, da2)
        self.grads["Wh"] += matmul(h_prevs.reshape(T * N, -1).T, da2)
        self.grads["b"] += da2.sum(axis=0)
        return matmul(da2, self.params["Wx"].T).reshape(T, N, -1).transpose(1, 0, 2)

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

    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> hs (N, T, H)."""
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        N, T, _ = xs.shape
        H = Wh.shape[0]
        x2, ax = self._input_projection(xs, Wx, b)
        # states[0] is the initial state, states[t + 1] the output of step t.
        states = np.empty((T + 1, N, H), dtype=ax.dtype)
        states[0] = self._initial("h", N, H, ax.dtype)
        with single_threaded_blas():
            for t in range(T):
                rnn_core_forward(ax[t], states[t], Wh, out=states[t + 1])
        if self.stateful:
            self.h = states[T].copy()
        self._cache = (x2, states)
        return states[1:].transpose(1, 0, 2)

    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """dhs (N, T, H) -> dxs (N, T, D); also sets ``self.dh`` (N, H)."""
        Wh = self.params["Wh"]
        x2, states = self._cache
        T, N, H = states.shape[0] - 1, states.shape[1], states.shape[2]
        dhs_t = np.ascontiguousarray(dhs.transpose(1, 0, 2))  # (T, N, H), our own copy
        dtanh = rnn_local_grads(states[1:])  # every step's tanh' at once, before the loop
        WhT = np.ascontiguousarray(Wh.T)
        das = np.empty((T, N, H), dtype=states.dtype)
        dh = np.zeros((N, H), dtype=states.dtype)
        with single_threaded_blas():
            for t in reversed(range(T)):
                # The state h_t feeds the output at t and the step t + 1: its gradients add.
                dh += dhs_t[t]
                _, dh = rnn_core_backward(dh, dtanh[t], WhT, out=das[t])
        self.dh = dh
        return self._parameter_gradients(x2, states[:-1], das)


class TimeLSTM(_Stateful):
    """An LSTM over T steps, fused weights with gate blocks [f | i | o | g].

    Wx (D, 4H), Wh (H, 4H) Xavier-initialised (``randn / sqrt(fan_in)``), b (4H,) zeros
    except the forget gate's block, ``b[:H] = forget_bias`` (0 as in the textbook; 1 is the
    usual advice since Gers et al. 2000: the cell starts by remembering, f = 0.73).
    Attributes: carried ``h``, ``c`` (N, H) or None; after backward, ``dh``, ``dc`` (N, H)
    are the gradients with respect to the initial states.
    """

    _state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = True,
                 forget_bias: float = 0.0, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__(stateful)
        rng = _rng(rng)
        D, H = input_size, hidden_size
        self.add_param("Wx", (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(4 * H, dtype=dtype))
        self.params["b"][:H] = forget_bias

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        """Set the initial states h, c (N, H) of the next forward (c defaults to zeros)."""
        dtype = self.params["Wh"].dtype
        self.h = np.array(h, dtype=dtype)
        self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    def forward(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T, D) -> hs (N, T, H)."""
        Wx, Wh, b = self.params["Wx"], self.params["Wh"], self.params["b"]
        N, T, _ = xs.shape
        H = Wh.shape[0]
        x2, ax = self._input_projection(xs, Wx, b)
        # The loop works feature-major (see grader.reference.cells): one column per row of
        # the batch, so each step's input projection is ax[t].T, copied once for all steps.
        ax_fm = np.ascontiguousarray(ax.transpose(0, 2, 1))  # (T, 4H, N)
        WhT = np.ascontiguousarray(Wh.T)
        dtype = ax.dtype
        # Index t + 1 holds the output of step t; index 0 the initial states.
        states = np.empty((T + 1, H, N), dtype=dtype)
        cells = np.empty((T + 1, H, N), dtype=dtype)
        gates = np.empty((T, 4 * H, N), dtype=dtype)
        tanh_cs = np.empty((T, H, N), dtype=dtype)
        states[0] = self._initial("h", N, H, dtype).T
        cells[0] = self._initial("c", N, H, dtype).T
        with single_threaded_blas():
            for t in range(T):
                lstm_core_forward(ax_fm[t], states[t], cells[t], WhT,
                                  out=(gates[t], cells[t + 1], tanh_cs[t], states[t + 1]))
        if self.stateful:
            self.h, self.c = states[T].T.copy(), cells[T].T.copy()
        self._cache = (x2, states, cells, gates, tanh_cs)
        return states[1:].transpose(2, 0, 1)

    def backward(self, dhs: np.ndarray) -> np.ndarray:
        """dhs (N, T, H) -> dxs (N, T, D); also sets ``self.dh``, ``self.dc`` (N, H)."""
        Wh = self.params["Wh"]
        x2, states, cells, gates, tanh_cs = self._cache
        T, H, N = states.shape[0] - 1, states.shape[1], states.shape[2]
        dhs_fm = np.ascontiguousarray(dhs.transpose(1, 2, 0))  # (T, H, N)
        # Every step's local derivatives at once, before the loop (see cells.lstm_local_grads).
        dc_dh, P = lstm_local_grads(gates, cells[:-1], tanh_cs)
        das = np.empty((T, 4 * H, N), dtype=states.dtype)
        dh = np.zeros((H, N), dtype=states.dtype)
        dc = np.zeros((H, N), dtype=states.dtype)
        with single_threaded_blas():
            for t in reversed(range(T)):
                dh += dhs_fm[t]  # h_t feeds the output at t and the step t + 1: gradients add
                _, dh, dc = lstm_core_backward(dh, dc, dc_dh[t], P[t], gates[t, :H], Wh,
                                               out=das[t])
        self.dh, self.dc = dh.T.copy(), dc.T.copy()
        # Back to one row per (step, sequence) for the parameter gradients.
        das_rows = das.transpose(0, 2, 1)  # (T, N, 4H)
        h_prevs = states[:-1].transpose(0, 2, 1)  # (T, N, H)
        return self._parameter_gradients(x2, h_prevs, das_rows)


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

    With N*T = 700 and V = 10,000 the scores are a 7-million-entry array: its three matrix
    products (scores, ``dW``, ``dh``) are most of a training step, and every elementwise
    pass over it costs about as much as all the small products of the recurrent layer.
    This layer therefore

    * keeps one ``(N*T, V)`` buffer from call to call instead of allocating a new one,
      with its rows in time-major order (row ``t * N + n``), the order in which the
      recurrent layers store their states, so that no copy is needed on either side;
    * stores W and b as the first D rows and the last row of one ``(D + 1, V)`` array
      (``params["W"]`` and ``params["b"]`` are views of it), so that with a column of ones
      appended to the hidden states the bias rides along in the matrix product instead of
      costing a pass of its own.  (If someone replaces those arrays, forward copies the
      new ones into a stacked array: slower, still right.);
    * works on the buffer in blocks of ``block_rows`` rows, so that the max, subtract and
      exp passes over a block run while it is still in the CPU cache after its matrix
      product; the row sums are one more (matrix-vector) product, ``E @ 1``, which reads
      the block once, several times faster than ``E.sum(axis=1)``;
    * never normalises the buffer: with ``E = exp(z - max)`` and row sums ``s``, the
      gradient of the scores is ``(E - s * onehot) * d`` with ``d = 1 / (s * count)`` per
      row (0 for ignored rows).  Forward subtracts ``s`` at the targets (N*T scalars);
      backward folds the row scale ``d`` into the small operands of the two products,
      ``[dW; db] = [h | 1].T * d @ E'`` and ``dh = (E' @ W.T) * d``.  So backward makes no
      elementwise pass over the big buffer at all;
    * splits the work over ``workers`` threads (``grader.reference.threads``): blocks of
      rows in forward; in backward first the rows of ``dh``, which the recurrent layer is
      waiting for, then column blocks of ``dW`` and ``db``;
    * with ``backward(dout, defer_param_grads=True)``, returns ``dh`` as soon as it is ready
      and leaves ``dW`` and ``db`` to the pool's threads, so that the recurrent layer's
      backward (single-threaded: a loop of small steps) runs meanwhile on the other core.
      ``finish_backward()`` then completes them; until it returns, ``grads`` are
      incomplete.  A model that defers calls it in a ``finally`` at the end of its own
      backward, so nothing outside the model ever sees the difference.

    ``workers=1`` runs everything in the caller's thread (and so does a machine without
    ``threadpoolctl``).
    """

    def __init__(self, input_size: int, output_size: int, *, ignore_label: int = IGNORE_LABEL,
                 block_rows: int = 128, workers: int | None = None, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        super().__init__()
        D, V = input_size, output_size
        self._Wb = np.empty((D + 1, V), dtype=dtype)
        self._Wb[:D] = _rng(rng).standard_normal((D, V)) / np.sqrt(D)
        self._Wb[D] = 0
        self._views = (self.add_param("W", self._Wb[:D]), self.add_param("b", self._Wb[D]))
        self.ignore_label = ignore_label
        self.block_rows = block_rows
        self.workers = default_workers() if workers is None else max(1, int(workers))
        # Below this many scores, handing work to threads costs more than it saves.
        self.parallel_min_size = 1 << 18
        # dW is computed in column blocks of about this many scores (work-sharing grain).
        self.chunk_size = 1 << 20
        self._buffer = np.empty(0, dtype=dtype)
        self._pending: Background | None = None

    def _stacked_weights(self) -> np.ndarray:
        """[W; b] (D + 1, V): our own storage, or a fresh copy if W or b was replaced."""
        W, b = self.params["W"], self.params["b"]
        if W is self._views[0] and b is self._views[1]:
            return self._Wb
        return np.concatenate([W, b[None, :]]).astype(W.dtype, copy=False)

    def _scores_buffer(self, rows: int, V: int, dtype) -> np.ndarray:
        # Reuse the buffer whenever it is large enough: a fresh 28 MB array costs
        # thousands of page faults on first touch, every iteration.
        if self._buffer.size < rows * V or self._buffer.dtype != dtype:
            self._buffer = np.empty(rows * V, dtype=dtype)
        return self._buffer[:rows * V].reshape(rows, V)

    def _row_chunks(self, M: int, workers: int) -> list[tuple[int, int]]:
        """Row ranges of at most ``block_rows`` rows, at least two per thread."""
        if workers <= 1:
            return [(0, M)]
        return split(M, max(2 * workers, -(-M // self.block_rows)))

    def scores(self, hs: np.ndarray) -> np.ndarray:
        """hs (N, T, D) -> scores (N, T, V) (a new array; for prediction and sampling)."""
        with single_threaded_blas():
            out = hs @ self.params["W"]
        out += self.params["b"]
        return out

    def forward(self, hs: np.ndarray, ts: np.ndarray) -> float:
        """hs (N, T, D), ts (N, T) integer targets -> mean cross-entropy (float)."""
        self.finish_backward()  # never overwrite the buffer under a pending backward
        Wb = self._stacked_weights()
        N, T, D = hs.shape
        M, V = N * T, Wb.shape[1]
        # [h | 1], one row per (t, n), time-major.
        ha = np.empty((T, N, D + 1), dtype=Wb.dtype)
        ha[:, :, :D] = hs.transpose(1, 0, 2)
        ha[:, :, D] = 1
        ha = ha.reshape(M, D + 1)
        t, valid, count = _cross_entropy_counts(np.asarray(ts).T, self.ignore_label)
        t_safe = np.where(valid, t, 0)  # any column will do for ignored rows
        E = self._scores_buffer(M, V, Wb.dtype)
        s = np.empty(M, dtype=Wb.dtype)
        z_t = np.empty(M, dtype=Wb.dtype)
        ones = np.ones(V, dtype=Wb.dtype)

        def rows_forward(lo: int, hi: int) -> None:
            for a in range(lo, hi, self.block_rows):
                c = min(a + self.block_rows, hi)
                blk = E[a:c]
                np.matmul(ha[a:c], Wb, out=blk)
                blk -= blk.max(axis=1, keepdims=True)
                z_t[a:c] = blk[np.arange(c - a), t_safe[a:c]]
                np.exp(blk, out=blk)
                np.matmul(blk, ones, out=s[a:c])

        workers = self.workers if M * V >= self.parallel_min_size else 1
        self._workers = workers  # backward uses the same decision
        parallel(rows_forward, self._row_chunks(M, workers), workers)
        rows = np.flatnonzero(valid)
        # E' = E - s * onehot (see the class docstring); only the scored rows.
        E[rows, t[rows]] -= s[rows]
        d = np.zeros(M, dtype=Wb.dtype)
        if count:
            d[rows] = 1.0 / (s[rows] * count)
        self._cache = (ha, d, Wb, (N, T, D))
        if count == 0:
            return 0.0
        return float(np.sum(np.log(s[rows]) - z_t[rows], dtype=np.float64) / count)

    def backward(self, dout=1.0, *, defer_param_grads: bool = False) -> np.ndarray:
        """dout scalar -> dhs (N, T, D); adds to ``grads["W"]``, ``grads["b"]``.

        With ``defer_param_grads=True`` the parameter gradients are still being computed
        when this returns: call ``finish_backward()`` before reading ``grads``.
        """
        self.finish_backward()
        dW, db = self.grads["W"], self.grads["b"]
        ha, d, Wb, (N, T, D) = self._cache
        M, V = ha.shape[0], Wb.shape[1]
        E = self._buffer[:M * V].reshape(M, V)
        d = d * np.asarray(dout, dtype=d.dtype)
        workers = self._workers
        # dh = (E' @ W.T) * d, one block of rows per thread: with its long inner dimension
        # (V) this product runs faster in few large blocks than in many small ones.
        dh = np.empty((M, D), dtype=ha.dtype)
        WT = Wb[:D].T

        def rows_dh(lo: int, hi: int) -> None:
            np.matmul(E[lo:hi], WT, out=dh[lo:hi])

        parallel(rows_dh, split(M, workers), workers)
        dh *= d[:, None]
        # [h * d | d].T @ E' gives dW in its first D rows and db in the last one.
        hd = ha * d[:, None]

        def columns_dW(lo: int, hi: int) -> None:
            G = hd.T @ E[:, lo:hi]
            dW[:, lo:hi] += G[:D]
            db[lo:hi] += G[D]

        blocks = max(workers, -(-M * V // self.chunk_size)) if workers > 1 else 1
        self._pending = Background(columns_dW, split(V, blocks), workers)
        if not defer_param_grads:
            self.finish_backward()
        return dh.reshape(T, N, D).transpose(1, 0, 2)

    def finish_backward(self) -> None:
        """Complete the parameter gradients of a deferred backward (no-op if none)."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.join()

    def zero_grad(self) -> None:
        self.finish_backward()
        super().zero_grad()


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
