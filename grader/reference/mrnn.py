"""The Markov recurrent neural network (MRNN) of Kuo and Chien (IEEE MLSP 2018), chapter 5.

At every step the MRNN picks one of K *states*, each with its own transition encoder
(an LSTM cell, or a tanh RNN cell for teaching), and the picked encoder writes the new
hidden state.  The pick is a sample from a learned categorical distribution::

    a_t   = W_z [x_t ; h_{t-1}] + b_z                     state logits          (N, K)
    q_t   = softmax(a_t)                                  state probabilities   (N, K)
    z_t   = softmax((log q_t + g_t) / tau)                Gumbel-softmax sample (N, K)
            (one-hot argmax of q_t when evaluating)
    h_t^k, c_t^k = cell_k(x_t, h_{t-1}, c_{t-1})          every encoder, same previous state
    h_t   = sum_k z_tk h_t^k,   c_t = sum_k z_tk c_t^k

and the next word is predicted from h_t by one softmax over the vocabulary, shared by all
states.  Training minimises ``NLL - beta * mean H(q_t)``: the entropy bonus keeps every
state in use (``beta = 0`` is plain maximum likelihood).

Why it is not K times slower than an LSTM:

* The K encoders and the state logits read the same inputs, so their weights are
  concatenated along the output axis: ``x_t`` and ``h_{t-1}`` meet ONE matrix each,
  ``[Wx_1 | ... | Wx_K | Wz_x]`` (D, K*G + K) and ``[Wh_1 | ... | Wh_K | Wz_h]``
  (H, K*G + K), G = 4H for LSTM cells and H for tanh cells.  As in chapter 4 the input
  product is done for all T steps before the loop and the parameter gradients after it.
* The vocabulary softmax, the most expensive layer with V = 10,000, sees only the mixed
  ``h_t``: it is computed once, not once per state.

Layout of the parameters of ``TimeMRNN`` (names in ``params`` / ``grads``):

* ``Wx`` (D, K*G), ``Wh`` (H, K*G), ``b`` (K*G,): encoder k owns columns ``k*G:(k+1)*G``;
  inside an LSTM block the gates are ``[f | i | o | g]`` as in ``grader.reference.cells``;
* ``Wz`` (D + H, K), ``bz`` (K,): the state logits, ``a = x @ Wz[:D] + h_prev @ Wz[D:] + bz``.

With K = 1 the MRNN is exactly an LSTM (or tanh RNN) with the weights ``Wx, Wh, b``.
"""
from __future__ import annotations

import math

import numpy as np

from grader.reference.functions import softmax
from grader.reference.gumbel import (TAU0, TAU_MIN, TAU_RATE, entropy, entropy_backward,
                                     gumbel_noise, gumbel_softmax, gumbel_softmax_backward,
                                     hard_sample, temperature)
from grader.reference.layer import collect
from grader.reference.rnnlm import Trainer
from grader.reference.time_layers import (TimeAffineSoftmaxWithLoss, TimeDropout,
                                          TimeEmbedding, _Stateful)
from grader.reference.threads import single_threaded_blas

CELLS = ("lstm", "rnn")


def _mix(z: np.ndarray, states: np.ndarray) -> np.ndarray:
    """z (N, K), states (N, K, H) -> sum_k z[:, k] * states[:, k] (N, H)."""
    return np.matmul(z[:, None, :], states)[:, 0]


def _unmix(states: np.ndarray, d: np.ndarray) -> np.ndarray:
    """states (N, K, H), d (N, H) -> <states[:, k], d> (N, K): the gradient of z in _mix."""
    return np.matmul(states, d[:, :, None])[:, :, 0]


# ----------------------------------------------------------------------------- layer


class TimeMRNN(_Stateful):
    """A Markov RNN over T steps: ``xs (N, T, D) -> hs (N, T, H)``.

    Arguments: ``input_size`` D, ``hidden_size`` H, ``num_states`` K; ``cell`` "lstm" or
    "rnn"; ``stateful`` as in ``TimeLSTM`` (carry h, c across batches; ``reset_state()``,
    ``set_state(h, c=None)``); ``tau`` the Gumbel-softmax temperature; ``dtype``; ``rng``
    initialises the weights and draws the Gumbel noise.

    Attributes read and set by the caller:

    * ``training`` (default True): soft Gumbel-softmax samples with fresh noise; False:
      ``z`` is the one-hot of the most probable state (no noise, no gradient through z).
    * ``tau``: the temperature of the soft samples.
    * ``fixed_noise``: None (draw fresh noise each forward) or an ``(N, T, K)`` array used
      instead, e.g. to hold the noise still in gradient checks.  ``forward(xs, noise=g)``
      does the same for one call.

    Recorded by every forward (fresh arrays, never overwritten later):
    ``q``, ``z`` (N, T, K); ``noise`` (N, T, K) or None; ``entropy`` (float, mean of
    H(q_t) over the N*T steps) and ``kl`` (float, mean KL(q_t || uniform) = log K - entropy).

    After backward: ``dh`` (and ``dc`` for LSTM cells), the gradient with respect to the
    initial state(s).
    """

    def __init__(self, input_size: int, hidden_size: int, num_states: int, *,
                 cell: str = "lstm", stateful: bool = True, tau: float = TAU0,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
        if num_states < 1:
            raise ValueError(f"num_states must be at least 1, got {num_states}")
        self.cell = cell
        self._state_names = ("h", "c") if cell == "lstm" else ("h",)
        super().__init__(stateful)
        self.rng = rng if rng is not None else np.random.default_rng()
        D, H, K = input_size, hidden_size, num_states
        G = 4 * H if cell == "lstm" else H
        self.D, self.H, self.K, self.G = D, H, K, G
        r = self.rng
        # Xavier (randn / sqrt(fan_in)) as TimeLSTM; every encoder gets its own draw.
        self.add_param("Wx", (r.standard_normal((D, K * G)) / np.sqrt(D)).astype(dtype))
        self.add_param("Wh", (r.standard_normal((H, K * G)) / np.sqrt(H)).astype(dtype))
        self.add_param("b", np.zeros(K * G, dtype=dtype))
        self.add_param("Wz", (r.standard_normal((D + H, K)) / np.sqrt(D + H)).astype(dtype))
        self.add_param("bz", np.zeros(K, dtype=dtype))
        self.training = True
        self.tau = float(tau)
        self.fixed_noise: np.ndarray | None = None
        self.q = self.z = self.noise = None
        self.entropy = self.kl = float("nan")

    # -- state ---------------------------------------------------------------------------

    def set_state(self, h: np.ndarray, c: np.ndarray | None = None) -> None:
        """Set the next forward's initial state h (N, H) (and c for LSTM cells, default zeros)."""
        dtype = self.params["Wh"].dtype
        self.h = np.array(h, dtype=dtype)
        if self.cell == "lstm":
            self.c = np.zeros_like(self.h) if c is None else np.array(c, dtype=dtype)

    # -- helpers -------------------------------------------------------------------------

    def _fused(self):
        """The fused weights [Wx | Wz_x], [Wh | Wz_h], [b | bz] (new arrays, a few hundred kB)."""
        p, D = self.params, self.D
        return (np.concatenate([p["Wx"], p["Wz"][:D]], axis=1),
                np.concatenate([p["Wh"], p["Wz"][D:]], axis=1),
                np.concatenate([p["b"], p["bz"]]))

    def _noise(self, noise, T: int, N: int, dtype) -> np.ndarray:
        """Gumbel noise, time-major (T, N, K)."""
        if noise is None:
            noise = self.fixed_noise
        if noise is None:
            return gumbel_noise((T, N, self.K), self.rng, dtype)
        noise = np.asarray(noise)
        if noise.shape != (N, T, self.K):
            raise ValueError(f"noise must have shape {(N, T, self.K)} (N, T, K), got {noise.shape}")
        return noise.astype(dtype, copy=False).transpose(1, 0, 2)

    # -- forward / backward --------------------------------------------------------------

    def forward(self, xs: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """xs (N, T, D) -> hs (N, T, H).  ``noise`` (N, T, K): Gumbel noise for this call."""
        # Small products only: single-threaded BLAS, as in TimeLSTM (see single_threaded_blas).
        with single_threaded_blas():
            return self._forward(xs, noise)

    def _forward(self, xs: np.ndarray, noise: np.ndarray | None) -> np.ndarray:
        N, T, _ = xs.shape
        H, K, G = self.H, self.K, self.G
        KG = K * G
        lstm = self.cell == "lstm"
        Wx_all, Wh_all, b_all = self._fused()
        dtype = Wx_all.dtype
        x2, ax = self._input_projection(xs, Wx_all, b_all)      # ax (T, N, KG + K)
        g = self._noise(noise, T, N, dtype) if self.training else None
        tau = self.tau

        # acts[t] = [activated gates of the K encoders | raw state logits a_t]
        acts = np.empty((T, N, KG + K), dtype=dtype)
        hs = np.empty((T + 1, N, H), dtype=dtype)      # hs[0]: initial state
        hs[0] = self._initial("h", N, H, dtype)
        qs = np.empty((T, N, K), dtype=dtype)
        zs = np.empty((T, N, K), dtype=dtype)
        if lstm:
            cs = np.empty((T + 1, N, H), dtype=dtype)
            cs[0] = self._initial("c", N, H, dtype)
            cks = np.empty((T, N, K, H), dtype=dtype)     # c_t^k
            tanh_cks = np.empty((T, N, K, H), dtype=dtype)
            hks = np.empty((T, N, K, H), dtype=dtype)     # h_t^k
        for t in range(T):
            A = acts[t]
            np.matmul(hs[t], Wh_all, out=A)
            A += ax[t]
            a = A[:, KG:]
            qs[t] = softmax(a)
            zs[t] = gumbel_softmax(a, g[t], tau) if self.training else hard_sample(a)
            enc = A[:, :KG].reshape(N, K, G)  # a view: in-place activations land in acts
            if lstm:
                s = enc[..., :3 * H]   # f, i, o: sigmoid(x) = (tanh(x/2) + 1) / 2
                s *= 0.5
                np.tanh(s, out=s)
                s += 1.0
                s *= 0.5
                np.tanh(enc[..., 3 * H:], out=enc[..., 3 * H:])
                f, i, o, gg = (enc[..., :H], enc[..., H:2 * H], enc[..., 2 * H:3 * H],
                               enc[..., 3 * H:])
                ck = cks[t]
                np.multiply(f, cs[t][:, None, :], out=ck)
                ck += i * gg
                np.tanh(ck, out=tanh_cks[t])
                np.multiply(o, tanh_cks[t], out=hks[t])
                cs[t + 1] = _mix(zs[t], ck)
                hs[t + 1] = _mix(zs[t], hks[t])
            else:
                np.tanh(enc, out=enc)   # h_t^k is the activated block itself
                hs[t + 1] = _mix(zs[t], enc)
        if self.stateful:
            self.h = hs[T].copy()
            if lstm:
                self.c = cs[T].copy()
        logits = acts[:, :, KG:]
        self.entropy = float(np.mean(entropy(logits), dtype=np.float64))
        self.kl = math.log(K) - self.entropy
        self.q = qs.transpose(1, 0, 2)
        self.z = zs.transpose(1, 0, 2)
        self.noise = None if g is None else g.transpose(1, 0, 2)
        self._cache = (x2, hs, acts, zs, g, tau, self.training, Wx_all, Wh_all,
                       (cs, cks, tanh_cks, hks) if lstm else None)
        return hs[1:].transpose(1, 0, 2)

    def backward(self, dhs: np.ndarray, dentropy: float = 0.0) -> np.ndarray:
        """dhs (N, T, H) -> dxs (N, T, D).

        ``dentropy`` is the gradient of the final loss with respect to ``self.entropy`` (the
        mean entropy of this forward), e.g. ``-beta`` for the cost ``NLL - beta * entropy``.
        Also sets ``self.dh`` (and ``self.dc``), the gradients of the initial state(s).
        """
        with single_threaded_blas():
            return self._backward(dhs, dentropy)

    def _backward(self, dhs: np.ndarray, dentropy: float) -> np.ndarray:
        x2, hs, acts, zs, g, tau, training, Wx_all, Wh_all, lstm_cache = self._cache
        T, N, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        K, G, D = self.K, self.G, self.D
        KG = K * G
        dtype = acts.dtype
        dhs_t = dhs.transpose(1, 0, 2)
        dacts = np.empty_like(acts)
        # The entropy term depends only on the logits of each step: all steps at once.
        if dentropy:
            dacts[:, :, KG:] = entropy_backward(dentropy / (N * T), acts[:, :, KG:])
        else:
            dacts[:, :, KG:] = 0
        dh = np.zeros((N, H), dtype=dtype)
        dc = np.zeros((N, H), dtype=dtype)
        for t in reversed(range(T)):
            dh = dhs_t[t] + dh            # h_t feeds the output at t and the step t + 1
            z = zs[t]
            dA = dacts[t]
            enc = acts[t][:, :KG].reshape(N, K, G)
            denc = dA[:, :KG].reshape(N, K, G)
            dhk = z[:, :, None] * dh[:, None, :]   # through h_t = sum_k z_k h_t^k
            if lstm_cache is not None:
                cs, cks, tanh_cks, hks = lstm_cache
                dz = _unmix(hks[t], dh)
                dz += _unmix(cks[t], dc)
                f, i, o, gg = (enc[..., :H], enc[..., H:2 * H], enc[..., 2 * H:3 * H],
                               enc[..., 3 * H:])
                tc = tanh_cks[t]
                # c_t^k gets gradient through c_t = sum_k z_k c_t^k and through h_t^k.
                dck = z[:, :, None] * dc[:, None, :]
                dck += dhk * o * (1.0 - tc * tc)
                np.multiply(dck, cs[t][:, None, :], out=denc[..., :H])       # d f
                np.multiply(dck, gg, out=denc[..., H:2 * H])                 # d i
                np.multiply(dhk, tc, out=denc[..., 2 * H:3 * H])             # d o
                np.multiply(dck, i, out=denc[..., 3 * H:])                   # d g
                s = enc[..., :3 * H]
                denc[..., :3 * H] *= s * (1.0 - s)
                denc[..., 3 * H:] *= 1.0 - gg * gg
                dc = np.sum(dck * f, axis=1)      # every encoder started from c_{t-1}
            else:
                dz = _unmix(enc, dh)
                np.multiply(dhk, 1.0 - enc * enc, out=denc)
            if training:   # hard samples are piecewise constant: no gradient through z
                dA[:, KG:] += gumbel_softmax_backward(dz, z, tau)
            dh = dA @ Wh_all.T                    # every encoder and the logits read h_{t-1}
        self.dh = dh
        if lstm_cache is not None:
            self.dc = dc
        dA2 = dacts.reshape(T * N, KG + K)
        dWx = x2.T @ dA2
        dWh = hs[:-1].reshape(T * N, H).T @ dA2
        db = dA2.sum(axis=0)
        gr = self.grads
        gr["Wx"] += dWx[:, :KG]
        gr["Wh"] += dWh[:, :KG]
        gr["b"] += db[:KG]
        gr["Wz"][:D] += dWx[:, KG:]
        gr["Wz"][D:] += dWh[:, KG:]
        gr["bz"] += db[KG:]
        return (dA2 @ Wx_all.T).reshape(T, N, D).transpose(1, 0, 2)


# ----------------------------------------------------------------------------- model


class MrnnLM:
    """Language model: TimeEmbedding (V, D) -> [TimeDropout] -> TimeMRNN (D -> H, K states)
    -> TimeAffineSoftmaxWithLoss (H, V), the vocabulary softmax shared by all states.

    Follows the chapter-4 ``LanguageModel`` interface (``params``, ``grads``,
    ``forward(xs, ts) -> mean NLL``, ``backward(dout=1.0)``, ``reset_state()``,
    ``predict(xs)``, ``zero_grad()``), so ``Trainer``, ``evaluate_perplexity``,
    ``save_params`` and ``generate`` work unchanged.  Parameter names: ``embed.W``,
    ``mrnn.Wx``, ``mrnn.Wh``, ``mrnn.b``, ``mrnn.Wz``, ``mrnn.bz``, ``affine.W``, ``affine.b``.

    ``forward`` returns the mean negative log-likelihood (what perplexity needs) and
    records ``entropy`` (mean H(q_t)), ``kl`` (mean KL(q_t || uniform)) and
    ``objective = nll - beta * entropy``; ``backward`` differentiates the objective.

    ``training`` (default True; see ``set_training``) chooses soft noisy samples and
    dropout, or hard argmax states without dropout.  ``MrnnTrainer`` switches it on only
    inside its training steps.  ``tau`` is the current temperature; ``start_epoch(e)``
    sets it from the schedule ``max(tau0 * exp(-rate * e), tau_min)``, ``e`` counted from 0.

    ``init_scale``: None keeps the layers' own initialisation (as ``LstmRnnlm``); a number
    s draws every parameter from Uniform(-s, s) (the source's ``init_scale 0.2``).
    ``dropout``: ratio of the inverted dropout applied to the embedded inputs (0: none).
    """

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 100,
                 hidden_size: int = 100, num_states: int = 2, *, cell: str = "lstm",
                 beta: float = 0.01, dropout: float = 0.0, init_scale: float | None = None,
                 tau0: float = TAU0, tau_rate: float = TAU_RATE, tau_min: float = TAU_MIN,
                 dtype=np.float32, rng: np.random.Generator | None = None) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        V, D, H, K = vocab_size, wordvec_size, hidden_size, num_states
        self.vocab_size, self.num_states = V, K
        self.beta = float(beta)
        self.tau_schedule = (float(tau0), float(tau_rate), float(tau_min))
        self.embed = TimeEmbedding(V, D, scale=0.01, dtype=dtype, rng=rng)
        self.dropout = TimeDropout(dropout, rng=rng) if dropout else None
        self.mrnn = TimeMRNN(D, H, K, cell=cell, stateful=True, tau=tau0, dtype=dtype, rng=rng)
        self.affine = TimeAffineSoftmaxWithLoss(H, V, dtype=dtype, rng=rng)
        self.layers = {"embed": self.embed, "mrnn": self.mrnn, "affine": self.affine}
        self.params, self.grads = collect(self.layers)
        if init_scale is not None:
            for p in self.params.values():
                p[...] = rng.uniform(-init_scale, init_scale, p.shape)
        self.training = True
        self.entropy = self.kl = self.objective = float("nan")

    # -- modes and temperature -----------------------------------------------------------

    def set_training(self, training: bool) -> None:
        """True: soft Gumbel-softmax samples and dropout; False: argmax states, no dropout."""
        self.training = bool(training)
        self.mrnn.training = self.training
        if self.dropout is not None:
            self.dropout.train = self.training

    @property
    def tau(self) -> float:
        return self.mrnn.tau

    @tau.setter
    def tau(self, value: float) -> None:
        self.mrnn.tau = float(value)

    def start_epoch(self, epoch: int) -> float:
        """Per-epoch hook: set and return ``tau = temperature(epoch, *tau_schedule)`` (from 0)."""
        self.tau = temperature(epoch, *self.tau_schedule)
        return self.tau

    # -- language-model interface --------------------------------------------------------

    def hidden(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T) word ids -> the MRNN's hs (N, T, H), carrying the state."""
        e = self.embed.forward(xs)
        if self.dropout is not None:
            e = self.dropout.forward(e)
        return self.mrnn.forward(e)

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        """xs, ts (N, T) word ids -> mean negative log-likelihood; sets entropy, kl, objective."""
        nll = self.affine.forward(self.hidden(xs), ts)
        self.entropy, self.kl = self.mrnn.entropy, self.mrnn.kl
        self.objective = nll - self.beta * self.entropy
        return nll

    def backward(self, dout: float = 1.0) -> None:
        """Accumulate the gradients of ``dout * (nll - beta * entropy)`` into ``grads``.

        As in the chapter-4 models, the output layer's ``dW`` is computed on another core
        while the recurrent part runs its backward; it is complete on return.
        """
        dhs = self.affine.backward(dout, defer_param_grads=True)
        try:
            dxs = self.mrnn.backward(dhs, dentropy=-self.beta * float(dout))
            if self.dropout is not None:
                dxs = self.dropout.backward(dxs)
            self.embed.backward(dxs)
        finally:
            self.affine.finish_backward()

    def predict(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T) word ids -> scores (N, T, V), carrying the state."""
        return self.affine.scores(self.hidden(xs))

    def reset_state(self) -> None:
        self.mrnn.reset_state()

    def zero_grad(self) -> None:
        self.affine.finish_backward()
        for g in self.grads.values():
            g.fill(0)


# ----------------------------------------------------------------------------- training


class MrnnTrainer(Trainer):
    """The chapter-4 ``Trainer`` with the three things the MRNN adds.

    * Training mode only inside ``train_step``: the model samples softly (and drops out)
      while it learns and is left in evaluation mode (argmax states) in between, so the
      validation perplexity that ``Trainer.fit`` measures is the hard-state one.
    * The temperature: before the first step of each epoch ``model.start_epoch(e)`` sets
      ``tau`` (e = number of epochs already trained).
    * History: per epoch ``tau``, ``entropy`` and ``kl`` (training means), also added to
      the record passed to ``callback``.

    Defaults follow the source: SGD lr 20, clipping 0.25, the learning rate multiplied by
    0.3 when the validation perplexity gets worse (``lr_decay = 1 / 0.3``).
    """

    def __init__(self, model: MrnnLM, optimizer=None, *, lr: float = 20.0,
                 clip: float | None = 0.25, lr_decay: float = 1 / 0.3, keep_best: bool = True,
                 progress: bool = True) -> None:
        super().__init__(model, optimizer, lr=lr, clip=clip, lr_decay=lr_decay,
                         keep_best=keep_best, progress=progress)
        for key in ("tau", "entropy", "kl"):
            self.history[key] = []
        self._tau_epoch: int | None = None
        self._sums = [0.0, 0.0, 0]   # entropy, kl, steps in this epoch

    def train_step(self, xs: np.ndarray, ts: np.ndarray) -> float:
        model = self.model
        done = len(self.history["epoch"])
        if self._tau_epoch != done:
            model.start_epoch(done)
            self._tau_epoch = done
        model.set_training(True)
        try:
            loss = super().train_step(xs, ts)
        finally:
            model.set_training(False)
        self._sums[0] += model.entropy
        self._sums[1] += model.kl
        self._sums[2] += 1
        return loss

    def fit(self, train_corpus, valid_corpus=None, *, callback=None, **kwargs):
        """As ``Trainer.fit``; the record passed to ``callback`` also has tau, entropy, kl."""

        def on_epoch(record: dict) -> None:
            n = max(self._sums[2], 1)
            extra = {"tau": self.model.tau, "entropy": self._sums[0] / n,
                     "kl": self._sums[1] / n}
            self._sums = [0.0, 0.0, 0]
            for key, value in extra.items():
                self.history[key].append(value)
            record.update(extra)
            if callback is not None:
                callback(record)

        return super().fit(train_corpus, valid_corpus, callback=on_epoch, **kwargs)


# ----------------------------------------------------------------------------- analysis


def collect_states(model: MrnnLM, tokens: np.ndarray, *, batch_size: int = 1,
                   time_size: int = 35, max_tokens: int | None = 5000,
                   logits: bool = True, training: bool = False) -> dict[str, np.ndarray]:
    """Run ``model`` over ``tokens`` and keep everything the chapter's figures need.

    The text is read as ``batch_size`` streams (each a contiguous stretch, as
    ``sequential_batches`` cuts them) from a reset state; at most ``max_tokens`` inputs in
    all (None: the whole text).  Rows of the results are ordered stream by stream, so each
    stream is in time order (with ``batch_size=1`` the whole result is).  Evaluation mode
    (argmax states) unless ``training=True``; the model's mode and state are restored/reset.

    Returns a dict of arrays with M rows:
    ``h`` (M, H) hidden states; ``z`` (M, K) samples; ``q`` (M, K) state probabilities;
    ``state`` (M,) chosen state argmax z; ``inputs`` (M,) input ids; ``targets`` (M,) next
    ids; ``positions`` (M,) index of each input in ``tokens``; ``log_prob`` (M,) log p of the
    target; ``logits`` (M, V) scores (only with ``logits=True``; M * V floats!).
    """
    tokens = np.asarray(tokens)
    pairs = len(tokens) - 1
    total = pairs if max_tokens is None else min(pairs, int(max_tokens))
    L = total // batch_size
    if L < 1:
        raise ValueError(f"{len(tokens)} tokens cannot feed {batch_size} streams")
    starts = np.arange(batch_size) * (pairs // batch_size)
    was_training = model.training
    model.set_training(training)
    model.reset_state()
    parts: dict[str, list] = {k: [] for k in ("h", "z", "q", "inputs", "targets", "positions",
                                              "log_prob", "logits")}
    try:
        for a in range(0, L, time_size):
            idx = starts[:, None] + np.arange(a, min(a + time_size, L))[None, :]
            xs, ts = tokens[idx], tokens[idx + 1]
            hs = model.hidden(xs)
            scores = model.affine.scores(hs)
            m = scores.max(axis=-1, keepdims=True)
            lse = (m[..., 0] + np.log(np.exp(scores - m).sum(axis=-1)))
            lp = np.take_along_axis(scores, ts[..., None], axis=-1)[..., 0] - lse
            for key, value in (("h", hs), ("z", model.mrnn.z), ("q", model.mrnn.q),
                               ("inputs", xs), ("targets", ts), ("positions", idx),
                               ("log_prob", lp)):
                parts[key].append(value)
            if logits:
                parts["logits"].append(scores)
    finally:
        model.reset_state()
        model.set_training(was_training)
    out = {}
    for key, chunks in parts.items():
        if not chunks:
            continue
        arr = np.concatenate(chunks, axis=1)          # (streams, L, ...)
        out[key] = arr.reshape(batch_size * L, *arr.shape[2:])
    out["state"] = out["z"].argmax(axis=1)
    return out


def state_recovery_accuracy(model: MrnnLM, corpus: dict, split: str = "valid", *,
                            align: str = "input", batch_size: int = 10,
                            max_tokens: int | None = None) -> float:
    """How well the MRNN's chosen states match the true dice, under the best renaming.

    ``corpus`` is ``grader.corpus.dice.load_dice_corpus(dir)``.  The state chosen at step t
    (``argmax q_t``, evaluation mode) is compared with the die that rolled the input x_t
    (``align="input"``; the step sees x_t) or the one that rolled the target x_{t+1}
    (``align="target"``; the state the prediction needs), after the best one-to-one
    renaming of the model's states (``best_matching_accuracy`` with max(K, 3) labels).
    The true parameters reach the corpus's ``viterbi_accuracy`` / ``posterior_accuracy``
    (meta.json), which use the whole sequence; a left-to-right model sees only the past.
    """
    from grader.reference.hmm_learning import best_matching_accuracy

    if align not in ("input", "target"):
        raise ValueError(f"align must be 'input' or 'target', got {align!r}")
    tokens = corpus["tokens"][split]
    true = corpus["states"][split]
    res = collect_states(model, tokens, batch_size=batch_size, max_tokens=max_tokens,
                         logits=False)
    pos = res["positions"] + (1 if align == "target" else 0)
    K = max(model.num_states, int(true.max()) + 1)
    return best_matching_accuracy(true[pos], res["q"].argmax(axis=1), K)
