"""A better language model: stacked LSTMs, dropout and weight tying (chapter 4, last section).

``BetterRnnlm`` is the textbook's improved model (Saito, *Deep Learning from Scratch 2*,
ch. 6; Zaremba et al. 2014; Press and Wolf 2017; Inan et al. 2017)::

    TimeEmbedding (V, D) -> TimeDropout -> TimeLSTM (D -> H) -> TimeDropout
        -> TimeLSTM (H -> H) -> TimeDropout ... -> TimeAffineSoftmaxWithLoss (H, V)

* **Dropout** (Zaremba et al.) only between layers, never on the recurrent connections, so
  the state carried from step to step is not disturbed; at evaluation it is the identity
  (``set_training(False)``; ``Trainer`` switches it on for its steps only).
* **Weight tying** (``tie_weights=True``, needs D == H): the output layer's weights are the
  embedding matrix transposed, ``affine.W = embed.W.T``.  One (D, V) array holds them
  (the output layer's, where the large products want it contiguous) and the embedding
  reads it through a transposed view; the two layers' gradient arrays are likewise one
  array seen twice, so their gradients add up where they are written.  The model then
  lists the matrix once, as ``embed.W`` (V, D), so that the optimiser moves it once with
  the summed gradient, and clipping counts it once.  It saves V * D parameters (a third
  of the model at H = 300) and regularises: a word's input and output vectors are one.

Parameter names: ``embed.W``, ``lstm1.Wx``, ``lstm1.Wh``, ``lstm1.b``, ... ``lstmL.b``,
``affine.b`` and, untied, ``affine.W``.  The model follows the ``LanguageModel`` interface
of ``grader.reference.rnnlm``, so ``Trainer``, ``evaluate_perplexity``, ``save_params`` and
``generate`` work unchanged.
"""
from __future__ import annotations

import numpy as np

from grader.reference.layer import collect
from grader.reference.time_layers import (TimeAffineSoftmaxWithLoss, TimeDropout,
                                          TimeEmbedding, TimeLSTM)


def tie_embedding(embed: TimeEmbedding, affine: TimeAffineSoftmaxWithLoss) -> None:
    """Make ``embed.W`` (V, D) the transpose of ``affine.W`` (D, V): one array, one gradient.

    The embedding's current values are kept (copied into the output layer's storage);
    afterwards ``embed.params["W"]`` and ``embed.grads["W"]`` are transposed views of
    ``affine.params["W"]`` and ``affine.grads["W"]``, so each layer's ``+=`` adds its
    gradient into the same array.
    """
    W_e, W_a = embed.params["W"], affine.params["W"]
    if W_e.shape != W_a.T.shape:
        raise ValueError(f"cannot tie an embedding {W_e.shape} to an output layer {W_a.shape}: "
                         "weight tying needs wordvec_size == hidden_size")
    W_a[...] = W_e.T
    embed.params["W"] = W_a.T
    embed.grads["W"] = affine.grads["W"].T


class BetterRnnlm:
    """Embedding -> (dropout -> LSTM) x num_layers -> dropout -> Affine + softmax loss.

    vocab_size V, wordvec_size D, hidden_size H; ``num_layers`` stacked LSTMs (the first
    D -> H, the others H -> H); ``dropout`` the ratio of every TimeDropout (0: none);
    ``tie_weights`` shares the embedding with the output layer (needs D == H).
    Initialisation as ``LstmRnnlm``: embedding randn / 100 (tied: also the output
    weights), LSTM weights randn / sqrt(fan_in), biases 0 (``forget_bias`` for the forget
    gates).
    """

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 650,
                 hidden_size: int = 650, *, num_layers: int = 2, dropout: float = 0.5,
                 tie_weights: bool = True, forget_bias: float = 0.0, dtype=np.float32,
                 rng: np.random.Generator | None = None) -> None:
        rng = rng if rng is not None else np.random.default_rng()
        V, D, H = vocab_size, wordvec_size, hidden_size
        if num_layers < 1:
            raise ValueError(f"num_layers must be at least 1, got {num_layers}")
        if tie_weights and D != H:
            raise ValueError(f"weight tying needs wordvec_size == hidden_size, got {D} and {H}")
        self.vocab_size = V
        self.num_layers = num_layers
        self.tied = bool(tie_weights)
        self.embed = TimeEmbedding(V, D, scale=0.01, dtype=dtype, rng=rng)
        self.lstms = [TimeLSTM(D if k == 0 else H, H, stateful=True, forget_bias=forget_bias,
                               dtype=dtype, rng=rng) for k in range(num_layers)]
        self.affine = TimeAffineSoftmaxWithLoss(H, V, dtype=dtype, rng=rng)
        # One dropout before each LSTM and one before the output layer.
        self.dropouts = [TimeDropout(dropout, rng=rng) for _ in range(num_layers + 1)]
        layers = {"embed": self.embed}
        layers.update({f"lstm{k + 1}": lstm for k, lstm in enumerate(self.lstms)})
        layers["affine"] = self.affine
        if self.tied:
            tie_embedding(self.embed, self.affine)
        self.layers = layers
        self.params, self.grads = collect(layers)
        if self.tied:  # the shared matrix once, under the embedding's name
            del self.params["affine.W"], self.grads["affine.W"]
        self.set_training(True)

    def set_training(self, training: bool) -> None:
        """True: dropout on (training steps); False: dropout is the identity (evaluation)."""
        self.training = bool(training)
        for d in self.dropouts:
            d.train = self.training

    def _body(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T) word ids -> last layer's states after dropout, (N, T, H)."""
        h = self.embed.forward(xs)
        for drop, lstm in zip(self.dropouts, self.lstms):
            h = lstm.forward(drop.forward(h))
        return self.dropouts[-1].forward(h)

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        """xs, ts (N, T) word ids -> mean cross-entropy over the N*T predictions."""
        return self.affine.forward(self._body(xs), ts)

    def backward(self, dout: float = 1.0) -> None:
        """Accumulate the gradients of ``dout * loss`` into ``grads``.

        The output layer's ``dW`` runs on another core during the LSTMs' backward; it is
        joined before the embedding's backward, which (tied) adds into the same array.
        """
        dh = self.affine.backward(dout, defer_param_grads=True)
        try:
            dh = self.dropouts[-1].backward(dh)
            for drop, lstm in zip(reversed(self.dropouts[:-1]), reversed(self.lstms)):
                dh = drop.backward(lstm.backward(dh))
        finally:
            self.affine.finish_backward()
        self.embed.backward(dh)

    def predict(self, xs: np.ndarray) -> np.ndarray:
        """xs (N, T) word ids -> scores (N, T, V), carrying the state (dropout as set)."""
        return self.affine.scores(self._body(xs))

    def reset_state(self) -> None:
        for lstm in self.lstms:
            lstm.reset_state()

    def zero_grad(self) -> None:
        self.affine.finish_backward()
        for g in self.grads.values():
            g.fill(0)

