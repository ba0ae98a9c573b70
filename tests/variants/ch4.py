"""Exercise 4: correct answers in other styles."""
from variants import V

ASSIGNMENT = "04_rnnlm"

VARIANTS = [
    V("embedding-take", "q1-time-embedding", '        return self.params["W"][self.ids]',
      '        W = self.params["W"]\n        return np.take(W, self.ids, axis=0)'),
    V("rnn-dot", "q2-time-rnn", "            h = np.tanh(xs[:, t] @ Wx + h @ Wh + b)",
      "            a = np.dot(xs[:, t], Wx) + np.dot(h, Wh)\n            h = np.tanh(a + b)"),
    V("rnn-backward-tanh-grad", "q2-time-rnn", "            da = (dhs[:, t] + dh) * (1 - hs[:, t] ** 2)",
      "            dtanh = 1.0 - hs[:, t] * hs[:, t]\n            da = dtanh * (dhs[:, t] + dh)"),
    V("affine-einsum", "q4-time-affine",
      "        return (self.x2 @ self.params[\"W\"] + self.params[\"b\"]).reshape(N, T, -1)",
      "        out = np.einsum('nth,hv->ntv', xs, self.params[\"W\"])\n        return out + self.params[\"b\"]"),
    V("batches-loop", "q6-batches",
      "    positions = (offsets[:, None] + k * time_size + np.arange(time_size)[None, :]) % (len(corpus) - 1)",
      "    positions = np.empty((batch_size, time_size), dtype=int)\n    for i in range(batch_size):\n"
      "        for j in range(time_size):\n            positions[i, j] = (offsets[i] + k * time_size + j) % (len(corpus) - 1)"),
    V("perplexity-average", "q7-perplexity", "    return float(np.exp(np.mean(batch_losses)))",
      "    losses = np.asarray(batch_losses, dtype=float)\n    return float(np.exp(losses.sum() / losses.size))"),
]
