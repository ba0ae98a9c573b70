"""A DELIBERATELY NAIVE baseline for the rnnlm benchmark: the language models written the
straightforward "textbook" way, to show what the reference implementation's care buys.

It computes the same function as ``grader.reference.rnnlm`` (same parameters, same loss,
same gradients up to round-off), but the way a first implementation usually does:

* float64 everywhere;
* the recurrent layer calls a complete cell at every step, including the input
  projection ``x_t @ Wx`` and the parameter-gradient products (three small products per
  step instead of one big one for all steps);
* the embedding is looked up and its gradient scattered step by step, with ``np.add.at``;
* the softmax allocates its exponentials and probabilities, the loss takes the log of
  the picked probabilities, and the gradient is a fresh copy of the probabilities;
* gradients are zeroed by allocating new arrays.

Do not use it for anything but comparisons; it is not part of the course material.
"""
from __future__ import annotations

import numpy as np


class TextbookRnnlm:
    """Embedding -> tanh RNN or LSTM (per-step cells) -> Affine -> softmax with loss, float64.

    Parameter names are those of ``SimpleRnnlm`` ("rnn.*") or ``LstmRnnlm`` ("lstm.*"),
    so ``from_params`` can start from exactly the same weights as a reference model.
    """

    def __init__(self, params: dict[str, np.ndarray], cell: str = "rnn") -> None:
        if cell not in ("rnn", "lstm"):
            raise ValueError(f"cell must be 'rnn' or 'lstm', got {cell!r}")
        self.cell = cell
        self.params = {k: np.array(v, dtype=np.float64) for k, v in params.items()}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.h = None
        self.c = None

    @classmethod
    def from_model(cls, model) -> "TextbookRnnlm":
        cell = "lstm" if any(k.startswith("lstm.") for k in model.params) else "rnn"
        return cls(model.params, cell)

    def reset_state(self) -> None:
        self.h = None
        self.c = None

    def zero_grad(self) -> None:
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    # --- forward ---------------------------------------------------------------------

    def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
        p, c = self.params, self.cell
        W_emb = p["embed.W"]
        Wx, Wh, b = p[f"{c}.Wx"], p[f"{c}.Wh"], p[f"{c}.b"]
        N, T = xs.shape
        H = Wh.shape[0]
        self.xs, self.ts = xs, ts
        # embedding, one step at a time
        self.emb = np.empty((N, T, W_emb.shape[1]))
        for t in range(T):
            self.emb[:, t, :] = W_emb[xs[:, t]]
        # recurrent layer, one complete cell per step
        h = np.zeros((N, H)) if self.h is None else self.h
        cs = np.zeros((N, H)) if self.c is None else self.c
        self.hs = np.empty((N, T, H))
        self.steps = []
        for t in range(T):
            x = self.emb[:, t, :]
            if c == "rnn":
                h_new = np.tanh(np.dot(x, Wx) + np.dot(h, Wh) + b)
                self.steps.append((x, h, h_new))
            else:
                a = np.dot(x, Wx) + np.dot(h, Wh) + b
                f = 1 / (1 + np.exp(-a[:, :H]))
                i = 1 / (1 + np.exp(-a[:, H:2 * H]))
                o = 1 / (1 + np.exp(-a[:, 2 * H:3 * H]))
                g = np.tanh(a[:, 3 * H:])
                c_new = f * cs + i * g
                h_new = o * np.tanh(c_new)
                self.steps.append((x, h, cs, f, i, o, g, c_new))
                cs = c_new
            h = h_new
            self.hs[:, t, :] = h
        self.h, self.c = h, cs
        # affine
        self.h2 = self.hs.reshape(N * T, H)
        scores = np.dot(self.h2, p["affine.W"]) + p["affine.b"]
        # softmax with loss: separate temporaries
        m = np.max(scores, axis=1, keepdims=True)
        exps = np.exp(scores - m)
        self.probs = exps / np.sum(exps, axis=1, keepdims=True)
        t_flat = ts.reshape(N * T)
        mask = t_flat != -1
        picked = self.probs[np.arange(N * T), np.where(mask, t_flat, 0)]
        self.mask, self.t_flat = mask, t_flat
        # (the usual ``log(p + 1e-7)`` would cap the loss and make the perplexity printed
        # next to the reference's disagree; the tiny floor only guards log(0))
        logp = np.log(np.maximum(picked, np.finfo(np.float64).tiny))
        return float(-np.sum(logp * mask) / max(mask.sum(), 1))

    # --- backward --------------------------------------------------------------------

    def backward(self, dout: float = 1.0) -> None:
        p, g, c = self.params, self.grads, self.cell
        Wx, Wh = p[f"{c}.Wx"], p[f"{c}.Wh"]
        N, T = self.xs.shape
        H = Wh.shape[0]
        dx = self.probs.copy()
        rows = np.arange(N * T)
        dx[rows[self.mask], self.t_flat[self.mask]] -= 1
        dx = dx * self.mask[:, None] * dout / max(self.mask.sum(), 1)
        g["affine.W"] += np.dot(self.h2.T, dx)
        g["affine.b"] += np.sum(dx, axis=0)
        dhs = np.dot(dx, p["affine.W"].T).reshape(N, T, H)
        demb = np.empty_like(self.emb)
        dh = np.zeros((N, H))
        dc = np.zeros((N, H))
        for t in reversed(range(T)):
            dh_t = dhs[:, t, :] + dh
            if c == "rnn":
                x, h_prev, h_new = self.steps[t]
                da = dh_t * (1 - h_new ** 2)
            else:
                x, h_prev, c_prev, f, i, o, gg, c_new = self.steps[t]
                tc = np.tanh(c_new)
                dc_t = dc + dh_t * o * (1 - tc ** 2)
                da = np.hstack((dc_t * c_prev * f * (1 - f), dc_t * gg * i * (1 - i),
                                dh_t * tc * o * (1 - o), dc_t * i * (1 - gg ** 2)))
                dc = dc_t * f
            g[f"{c}.Wx"] += np.dot(x.T, da)
            g[f"{c}.Wh"] += np.dot(h_prev.T, da)
            g[f"{c}.b"] += np.sum(da, axis=0)
            demb[:, t, :] = np.dot(da, Wx.T)
            dh = np.dot(da, Wh.T)
        for t in range(T):
            np.add.at(g["embed.W"], self.xs[:, t], demb[:, t, :])
