"""Exercise 3 (embeddings versus one-hot codes): classic wrong answers and their words."""
from mistakes import M

ASSIGNMENT = "03_embeddings"

_SCATTER = ("    np.add.at(dW, np.asarray(ids), dout)", "    dW[ids] += dout")

MISTAKES = [
    M("one-hot-accepts-negative-ids", "q1-one-hot", "q1-tests",
      "(ids.min() < 0 or ids.max() >= V)", "ids.max() >= V", "-1 is not an id"),
    M("scatter-plus-equals", "q3-embedding-backward", "q3-tests", *_SCATTER,
      "dW[ids] += dout", "np.add.at"),
    M("scatter-assign", "q3-embedding-backward", "q3-tests",
      "    np.add.at(dW, np.asarray(ids), dout)", "    dW[ids] = dout", "dW[ids] = dout"),
    # the same mistake, seen again by the whole model's tests (repeated ids there too)
    M("scatter-seen-by-the-model", "q3-embedding-backward", "q7-tests", *_SCATTER,
      "embed.W", "repeat", "Question 3"),
    M("scatter-seen-by-training", "q3-embedding-backward", "q8-tests", *_SCATTER,
      "embed.W", "repeat", "Question 3"),
    M("one-hot-linear-backward-transposed", "q4-one-hot-linear", "q4-tests",
      "    return codes.T @ np.asarray(dout).reshape(-1, np.shape(dout)[-1])",
      "    return np.asarray(dout).reshape(-1, np.shape(dout)[-1]).T @ codes", "transposed"),
    M("rnn-forgot-tanh", "q5-rnn-states", "q5-tests",
      "        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)", "        h = x[:, t] @ Wx + h @ Wh + b",
      "forgot the tanh"),
    M("rnn-state-on-the-right", "q5-rnn-states", "q5-tests",
      "        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)",
      "        h = np.tanh(x[:, t] @ Wx + (Wh @ h.T).T + b)", "Wh @ h"),
    M("rnn-restarts-from-h0", "q5-rnn-states", "q5-tests",
      "        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)",
      "        h = np.tanh(x[:, t] @ Wx + (np.zeros((N, Wh.shape[0])) if h0 is None else h0) @ Wh + b)",
      "starts again from h0"),
    M("rnn-time-major-TNH", "q5-rnn-states", "q5-tests",
      "    return states", "    return states.transpose(1, 0, 2)", "(T, N, H)", "(N, T, H)"),
    M("rnn-ignores-h0", "q5-rnn-states", "q5-tests",
      "    h = np.zeros((N, Wh.shape[0])) if h0 is None else h0",
      "    h = np.zeros((N, Wh.shape[0]))", "ignored the given h0"),
    M("softmax-no-max-shift-overflows", "q6-softmax-ce", "q6-tests",
      "    shifted = logits - logits.max(axis=1, keepdims=True)", "    shifted = logits",
      "subtract the row's maximum", "overflow"),
    M("cross-entropy-summed", "q6-softmax-ce", "q6-tests",
      "    loss = -log_probs[rows, labels].mean()", "    loss = -log_probs[rows, labels].sum()",
      "summed over the batch"),
    M("gradient-not-divided-by-N", "q6-softmax-ce", "q6-tests",
      "    return float(loss), dlogits / N", "    return float(loss), dlogits",
      "forgot to divide the gradient by N"),
    M("gradient-sign-flipped", "q6-softmax-ce", "q6-tests",
      "    return float(loss), dlogits / N", "    return float(loss), -dlogits / N",
      "sign is flipped"),
    M("gradient-float32", "q6-softmax-ce", "q6-tests",
      "    dlogits = np.exp(log_probs)", "    dlogits = np.exp(log_probs).astype(np.float32)",
      "float32", "float64"),
    M("model-forgot-bias-gradient", "q7-model", "q7-tests",
      '"dense.W": last.T @ dlogits, "dense.b": dlogits.sum(axis=0)}', '"dense.W": last.T @ dlogits}',
      "missing", "dense.b"),
    M("model-bias-gradient-mean", "q7-model", "q7-tests",
      '"dense.b": dlogits.sum(axis=0)', '"dense.b": dlogits.mean(axis=0)',
      "gradient for dense.b"),
]
MISTAKES += [
    M("predict-from-the-first-letter", "q9-predict-save", "q9-tests",
      "    ids = np.array([[alphabet.index(ch) for ch in letters]])",
      "    ids = np.array([[alphabet.index(letters[0])]])", "after the last letter"),
]
MISTAKES += [
    M("one-hot-transposed", "q1-one-hot", "q1-tests",
      "    return np.eye(V)[ids]", "    return np.eye(V)[:, ids]", "transposed"),
]
