"""Exercise 3: correct answers in other styles."""
from variants import V

ASSIGNMENT = "03_embeddings"

VARIANTS = [
    V("one-hot-zeros", "q1-one-hot", "    return np.eye(V)[ids]",
      "    codes = np.zeros(ids.shape + (V,))\n    np.put_along_axis(codes, ids[..., None], 1.0, axis=-1)\n"
      "    return codes"),
    V("embedding-take", "q2-embedding-forward", "    return np.asarray(W)[np.asarray(ids)]",
      "    return np.take(np.asarray(W), np.asarray(ids), axis=0)"),
    V("backward-flat-loop", "q3-embedding-backward", "    np.add.at(dW, np.asarray(ids), dout)",
      "    flat_ids = np.asarray(ids).reshape(-1)\n    flat_dout = dout.reshape(-1, dout.shape[-1])\n"
      "    for i, row in zip(flat_ids, flat_dout):\n        dW[i] += row"),
    V("states-list", "q5-rnn-states",
      "    states = np.empty((N, T, Wh.shape[0]))\n    for t in range(T):\n"
      "        h = np.tanh(x[:, t] @ Wx + h @ Wh + b)\n        states[:, t] = h\n    return states",
      "    collected = []\n    for t in range(T):\n        h = np.tanh(np.dot(x[:, t], Wx) + np.dot(h, Wh) + b)\n"
      "        collected.append(h)\n    return np.stack(collected, axis=1)"),
    V("softmax-probs-first", "q6-softmax-ce",
      "    loss = -log_probs[rows, labels].mean()\n    dlogits = np.exp(log_probs)",
      "    probs = np.exp(log_probs)\n    loss = -np.mean(log_probs[rows, labels])\n    dlogits = probs.copy()"),
    V("train-shuffle-index", "q8-train",
      "        for first in range(0, len(X), batch_size):\n            rows = order[first:first + batch_size]",
      "        for rows in np.array_split(order, range(batch_size, len(X), batch_size)):"),
]
