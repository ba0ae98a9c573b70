"""Recurrent language models on a word corpus, and how to train and use them (chapter 4).

The pieces, in the order the chapter uses them:

* ``batch_offsets`` and ``sequential_batches``: cut one long corpus into N parallel
  streams that all advance T words per batch, so that the hidden state left by one batch
  is the right initial state for the next (truncated BPTT).
* ``SimpleRnnlm`` and ``LstmRnnlm``: Embedding -> recurrent layer -> Affine + softmax loss.
* ``perplexity`` and ``evaluate_perplexity``.
* ``Trainer``: SGD with gradient clipping and learning-rate decay, with a history to plot.
* ``save_params`` / ``load_params`` (from ``grader.reference.layer``) and ``generate``.

The ``Trainer``, ``evaluate_perplexity`` and ``generate`` work with any object that has the
``LanguageModel`` interface below (chapter 5 trains another model with them).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np

from grader.reference.layer import collect, load_params, save_params  # noqa: F401 (re-exported)
from grader.reference.optim import SGD, clip_scale, global_norm
from grader.reference.threads import default_workers, single_threaded_blas
from grader.reference.time_layers import (TimeAffineSoftmaxWithLoss, TimeEmbedding, TimeLSTM,
                                          TimeRNN)


# ----------------------------------------------------------------------------- interface


@runtime_checkable
class LanguageModel(Protocol):
    """What ``Trainer``, ``evaluate_perplexity``, ``save_params`` and ``generate`` need.

    * ``params``, ``grads``: ``{name: array}`` with the same keys (``layer.collect``);
      the optimiser updates ``params`` in place.
    * ``forward(xs, ts) -> float``: xs, ts (N, T) int word ids; the mean cross-entropy
      of predicting ``ts[n, t]`` after reading ``xs[n, :t+1]``, carrying the state.
    * ``backward(dout=1.0) -> None``: accumulate gradients into ``grads``.
    * ``reset_state() -> None``: forget the carried state (new text, new epoch).
    * ``predict(xs) -> scores`` (N, T, V): only ``generate`` needs it.
    """

    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float: ...

    def backward(self, dout: float = 1.0) -> None: ...

    def reset_state(self) -> None: ...


def _zero_grads(model) -> None:
    for g in model.grads.values():
        g.fill(0)


def _set_training(model, training: bool) -> None:
    """Dropout on or off, for models that have it (``set_training``); others have no modes."""
    if hasattr(model, "set_training"):
        model.set_training(training)


# ----------------------------------------------------------------------------- models


class _Rnnlm:
    """Embedding (V, D) -> recurrent layer (D -> H) -> Affine (H, V) + softmax cross-entropy."""

    recurrent_class: type = TimeRNN
    recurrent_name: str = "rnn"

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 100,
                 hidden_size: int = 100, *, dtype=np.float32,
                 rng: np.random.Generator | None = None, **recurrent_options) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.vocab_size = V
        # Small embedding (randn / 100): at the start every word looks about the same.
        # Recurrent and output weights are Xavier (randn / sqrt(fan_in)), set by the layers.
        self.embed = TimeEmbedding(V, D, scale=0.01, dtype=dtype, rng=rng)
        self.rnn = self.recurrent_class(D, H, stateful=True, dtype=dtype, rng=rng,
                                        **recurrent_options)
        self.affine = TimeAffineSoftmaxWithLoss(H, V, dtype=dtype, rng=rng)
        self.layers = {"embed": self.embed, self.recurrent_name: self.rnn, "affine": self.affine}
        self.params, self.grads = collect(self.layers)

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        """xs, ts (N, T) word ids -> mean cross-entropy over the N*T predictions."""
        return self.affine.forward(self.rnn.forward(self.embed.forward(xs)), ts)

    def backward(self, dout: float = 1.0) -> None:
        """Accumulate the gradients of ``dout * loss`` into ``grads``.

        The output layer's ``dW`` is computed on another core while the recurrent layer
        runs its backward (see ``TimeAffineSoftmaxWithLoss``); it is complete on return.
        """
        dhs = self.affine.backward(dout, defer_param_grads=True)
        try:
            self.embed.backward(self.rnn.backward(dhs))
        finally:
            self.affine.finish_backward()

    def predict(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T) word ids -> scores (N, T, V) (unnormalised log-probabilities), carrying the state."""
        return self.affine.scores(self.rnn.forward(self.embed.forward(xs)))

    def reset_state(self) -> None:
        self.rnn.reset_state()

    def zero_grad(self) -> None:
        _zero_grads(self)


class SimpleRnnlm(_Rnnlm):
    """Language model with a tanh RNN.  Parameters: embed.W, rnn.Wx, rnn.Wh, rnn.b, affine.W, affine.b."""

    recurrent_class = TimeRNN
    recurrent_name = "rnn"


class LstmRnnlm(_Rnnlm):
    """Language model with an LSTM.  Parameters: embed.W, lstm.Wx, lstm.Wh, lstm.b, affine.W, affine.b.

    ``forget_bias=...`` is passed on to ``TimeLSTM`` (default 0, as in the textbook).
    """

    recurrent_class = TimeLSTM
    recurrent_name = "lstm"


# ----------------------------------------------------------------------------- batches


def batch_offsets(corpus_size: int, batch_size: int) -> np.ndarray:
    """Start of each of the ``batch_size`` streams: ``i * ((corpus_size - 1) // batch_size)``.

    There are ``corpus_size - 1`` (input, target) pairs; the streams split them evenly.
    """
    jump = (corpus_size - 1) // batch_size
    if jump < 1:
        raise ValueError(f"a corpus of {corpus_size} words cannot feed {batch_size} streams")
    return np.arange(batch_size, dtype=np.int64) * jump


def sequential_batches(corpus: np.ndarray, batch_size: int, time_size: int, *,
                       n_batches: int | None = None,
                       start: int = 0) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield (xs, ts), both (batch_size, time_size), with ``ts = the word after xs``.

    Row i reads the corpus from ``batch_offsets(...)[i] + start`` onwards, and every batch
    moves all rows ``time_size`` words on, so row i of one batch continues row i of the
    previous one.  Positions wrap around the ``len(corpus) - 1`` pairs.
    ``n_batches`` defaults to one epoch, ``(len(corpus) - 1) // (batch_size * time_size)``.
    """
    corpus = np.asarray(corpus)
    pairs = len(corpus) - 1
    offsets = batch_offsets(len(corpus), batch_size)
    if n_batches is None:
        n_batches = pairs // (batch_size * time_size)
    steps = np.arange(time_size, dtype=np.int64)
    for k in range(n_batches):
        idx = (offsets[:, None] + (start + k * time_size) + steps[None, :]) % pairs
        yield corpus[idx], corpus[idx + 1]


# ----------------------------------------------------------------------------- perplexity


def perplexity(mean_cross_entropy: float) -> float:
    """exp(mean cross-entropy in nats): the exponential of the mean, not the mean of exps."""
    return float(math.exp(mean_cross_entropy))


def evaluate_perplexity(model, corpus: np.ndarray, batch_size: int = 10,
                        time_size: int = 35, *, progress: bool = False) -> float:
    """Perplexity of ``model`` on ``corpus`` read as ``batch_size`` sequential streams.

    Resets the model's state before and after (the evaluation text is unrelated to
    whatever the model was reading).  Scores ``n * batch_size * time_size`` words with
    ``n = (len(corpus) - 1) // (batch_size * time_size)``.
    """
    from tqdm.auto import tqdm

    n = (len(corpus) - 1) // (batch_size * time_size)
    if n < 1:
        raise ValueError(f"corpus of {len(corpus)} words is too short for batches of "
                         f"{batch_size} x {time_size}")
    model.reset_state()
    _set_training(model, False)  # no dropout while measuring
    total = 0.0
    batches = sequential_batches(corpus, batch_size, time_size, n_batches=n)
    for xs, ts in tqdm(batches, total=n, desc="evaluate", disable=not progress, leave=False):
        total += model.forward(xs, ts)  # every batch scores the same number of words
    model.reset_state()
    return perplexity(total / n)


# ----------------------------------------------------------------------------- training


class Trainer:
    """Train a ``LanguageModel`` with SGD, gradient clipping and learning-rate decay.

    Each epoch resets the state, reads the training corpus once as ``batch_size``
    sequential streams of ``time_size`` words (truncated BPTT), then measures the
    validation perplexity.  When it gets worse than the best so far, the learning rate
    is divided by ``lr_decay`` (as in PyTorch's word-level example); with ``decay_from=k``
    it is also divided at the start of epoch k and of every later one, whatever the
    validation says (the schedule of Zaremba et al. 2014: big steps first, then smaller and
    smaller ones to settle).  With ``keep_best`` the parameters of the best epoch are
    restored at the end.

    ``max_seconds`` bounds the time of ``fit`` on a shared machine: before each epoch it
    predicts from the mean time of the epochs so far (validation included) how many more
    fit, and stops when none does; ``decay_last=k`` divides the learning rate at the start
    of every epoch from the first one that the prediction places among the last k (of
    ``epochs``, or of the predicted ones when fewer) until training stops.  The prediction
    only ever shrinks, and a run whose later epochs are faster than predicted goes on past
    it, halving every epoch: so a run cut short ends with its small steps, and may take
    more than k of them (chapter 4's better model took 9 with k = 5).  The lr of every epoch is in the
    history, and ``scheduled_decay_from`` is the m of ``--epochs n --decay-from m`` that
    repeats such a run exactly.

    Models with ``set_training(bool)`` (dropout) are switched to training mode for each
    step only, and evaluated with it off.

    ``history`` (also returned by ``fit``) holds lists for plots: per epoch ``epoch``,
    ``train_ppl``, ``valid_ppl`` (None without a validation corpus), ``lr``, ``seconds``,
    ``tokens_per_s``; per iteration ``grad_norm`` (before clipping); and every
    ``log_every`` iterations ``iter`` / ``iter_ppl`` (running training perplexity).

    ``optimizer`` (default ``SGD(lr)`` on all cores) needs an ``lr`` attribute and
    ``step(params, grads, *, grad_scale)``, as ``grader.reference.optim``'s have.
    """

    def __init__(self, model, optimizer=None, *, lr: float = 20.0, clip: float | None = 0.25,
                 lr_decay: float = 4.0, decay_from: int | None = None, keep_best: bool = True,
                 max_seconds: float | None = None, decay_last: int | None = None,
                 progress: bool = True) -> None:
        self.model = model
        self.optimizer = optimizer if optimizer is not None else SGD(lr, workers=default_workers())
        self.clip = clip
        self.lr_decay = lr_decay
        self.decay_from = decay_from
        self.max_seconds = max_seconds
        self.decay_last = decay_last
        # The first epoch that started with a scheduled decay (every later one did too).
        self.scheduled_decay_from: int | None = None
        self.keep_best = keep_best
        self.progress = progress
        self.history: dict[str, list] = {k: [] for k in (
            "epoch", "train_ppl", "valid_ppl", "lr", "seconds", "tokens_per_s",
            "iter", "iter_ppl", "grad_norm")}
        self.best_valid_ppl = math.inf
        self.best_epoch: int | None = None
        self._best_params: dict[str, np.ndarray] | None = None
        self._iteration = 0

    @property
    def best_params(self) -> dict[str, np.ndarray] | None:
        """Copies of the parameters at the best validation perplexity so far (keep_best)."""
        return self._best_params

    def state(self) -> dict:
        """What ``restore`` needs to go on from here (JSON-serialisable; no arrays)."""
        return {"history": self.history, "lr": float(self.optimizer.lr),
                "best_valid_ppl": self.best_valid_ppl, "best_epoch": self.best_epoch,
                "iteration": self._iteration, "scheduled_decay_from": self.scheduled_decay_from}

    def restore(self, state: dict, best_params: dict[str, np.ndarray] | None) -> None:
        """Go on from ``state()`` (and the best parameters saved beside it)."""
        self.history = {k: list(state["history"].get(k, [])) for k in self.history}
        self.optimizer.lr = state["lr"]
        self.best_valid_ppl = state["best_valid_ppl"]
        self.best_epoch = state["best_epoch"]
        self._iteration = state["iteration"]
        self.scheduled_decay_from = state["scheduled_decay_from"]
        self._best_params = ({k: np.array(v, dtype=self.model.params[k].dtype)
                              for k, v in best_params.items()} if best_params else None)

    def train_step(self, xs: np.ndarray, ts: np.ndarray) -> float:
        """One forward, backward, clip and update; returns the batch's mean cross-entropy."""
        model = self.model
        # BLAS held once for the whole step: the layers' own holds inside are then counts,
        # not calls into BLAS (about 30 us each, six a step: 5% of a 50-token step).
        with single_threaded_blas():
            _set_training(model, True)  # dropout on for this step only
            try:
                loss = model.forward(xs, ts)
                model.backward()
            finally:
                _set_training(model, False)
            norm = global_norm(model.grads)
            self.history["grad_norm"].append(norm)
            # Clipping folded into the update: the same step as clip_grads then step(),
            # with one pass less over the gradients.
            scale = clip_scale(norm, self.clip) if self.clip is not None else 1.0
            self.optimizer.step(model.params, model.grads, grad_scale=scale)
            _zero_grads(model)
        return loss

    def fit(self, train_corpus: np.ndarray, valid_corpus: np.ndarray | None = None, *,
            epochs: int = 4, batch_size: int = 20, time_size: int = 35,
            eval_batch_size: int = 10, log_every: int = 100,
            callback: Callable[[dict], None] | None = None) -> dict[str, list]:
        """Train for ``epochs`` passes; ``callback(record)`` receives each epoch's summary dict."""
        from tqdm.auto import tqdm

        n = (len(train_corpus) - 1) // (batch_size * time_size)
        if n < 1:
            raise ValueError(f"training corpus of {len(train_corpus)} words is too short for "
                             f"batches of {batch_size} x {time_size}")
        first = len(self.history["epoch"]) + 1
        last = first + epochs - 1
        fit_start, epoch_seconds = time.perf_counter(), []
        for epoch in range(first, first + epochs):
            if self.max_seconds is not None and epoch_seconds:
                left = self.max_seconds - (time.perf_counter() - fit_start)
                fitting = int(left // (sum(epoch_seconds) / len(epoch_seconds)))
                if fitting < 1:
                    break
                last = min(last, epoch + fitting - 1)
            if ((self.decay_from is not None and epoch >= self.decay_from)
                    or (self.decay_last and epoch > last - self.decay_last)):
                self.optimizer.lr /= self.lr_decay
                if self.scheduled_decay_from is None:
                    self.scheduled_decay_from = epoch
            epoch_start = time.perf_counter()
            self.model.reset_state()
            start = time.perf_counter()
            total, running, running_n = 0.0, 0.0, 0
            bar = tqdm(total=n, desc=f"epoch {epoch}", disable=not self.progress, leave=False)
            for xs, ts in sequential_batches(train_corpus, batch_size, time_size, n_batches=n):
                loss = self.train_step(xs, ts)
                self._iteration += 1
                total += loss
                running += loss
                running_n += 1
                bar.update(1)
                if self._iteration % log_every == 0:
                    ppl = perplexity(running / running_n)
                    self.history["iter"].append(self._iteration)
                    self.history["iter_ppl"].append(ppl)
                    bar.set_postfix(ppl=f"{ppl:.1f}")
                    running, running_n = 0.0, 0
            bar.close()
            seconds = time.perf_counter() - start
            record = {"epoch": epoch, "train_ppl": perplexity(total / n), "valid_ppl": None,
                      "lr": float(self.optimizer.lr), "seconds": seconds,
                      "tokens_per_s": n * batch_size * time_size / seconds}
            if valid_corpus is not None:
                valid_ppl = evaluate_perplexity(self.model, valid_corpus, eval_batch_size,
                                                time_size, progress=self.progress)
                record["valid_ppl"] = valid_ppl
                if valid_ppl < self.best_valid_ppl:
                    self.best_valid_ppl, self.best_epoch = valid_ppl, epoch
                    if self.keep_best:
                        self._best_params = {k: p.copy() for k, p in self.model.params.items()}
                else:
                    self.optimizer.lr /= self.lr_decay
            for key, value in record.items():
                self.history[key].append(value)
            epoch_seconds.append(time.perf_counter() - epoch_start)
            if callback is not None:
                callback(record)
        if self.keep_best and self._best_params is not None:
            for k, p in self.model.params.items():
                p[...] = self._best_params[k]
        return self.history


# ----------------------------------------------------------------------------- save / load


# ----------------------------------------------------------------------------- sampling


def sample_index(scores: np.ndarray, temperature: float, u: float) -> int:
    """The index drawn from ``softmax(scores / temperature)`` by the uniform number ``u``.

    scores (V,); ``u`` in [0, 1).  Inverse CDF: the first k with ``u < p_0 + ... + p_k``
    (the last index if rounding leaves none); ``temperature=0`` takes the most likely index
    (the first of equal ones) and ignores ``u``.  Entries of ``-inf`` are never drawn.
    """
    logits = np.asarray(scores, dtype=np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    z = logits / temperature
    cdf = np.cumsum(np.exp(z - z.max()))   # unnormalised: u is scaled by the total instead
    return min(int(np.searchsorted(cdf, u * cdf[-1], side="right")), len(cdf) - 1)


def generate(model, start_ids: Sequence[int], length: int, temperature: float = 1.0,
             rng: np.random.Generator | None = None, *, skip_ids: Sequence[int] = ()) -> np.ndarray:
    """Sample ``length`` word ids following the prompt ``start_ids`` (not included in the result).

    Resets the model's state, reads the prompt, then feeds back each sampled word.
    Sampling is from ``softmax(scores / temperature)``; ``temperature=0`` takes the most
    likely word.  ``skip_ids`` (e.g. ``<unk>``) are never sampled.  The same ``rng``
    seed gives the same text.
    """
    rng = rng if rng is not None else np.random.default_rng()
    start_ids = np.asarray(start_ids, dtype=np.int64).reshape(1, -1)
    if start_ids.size == 0:
        raise ValueError("generate needs at least one start id")
    model.reset_state()
    _set_training(model, False)
    scores = model.predict(start_ids)[0, -1]
    out = np.empty(length, dtype=np.int64)
    skip = np.asarray(list(skip_ids), dtype=np.int64)
    for k in range(length):
        logits = scores.astype(np.float64)
        logits[skip] = -np.inf
        word = sample_index(logits, temperature, 0.0 if temperature == 0 else rng.random())
        out[k] = word
        scores = model.predict(np.array([[word]]))[0, -1]
    return out
