"""Exercise 1: correct answers in other styles."""
from variants import V

ASSIGNMENT = "01_rnn_by_hand"

VARIANTS = [
    V("dot-shape-check-first", "q1-dot-shape", "    a_shape, b_shape = tuple(a_shape), tuple(b_shape)\n",
      "    a_shape = tuple(a_shape)\n    b_shape = tuple(b_shape)\n"),
    V("dot-shape-concatenate", "q1-dot-shape", "    return a_shape[:-1] + b_shape[1:]",
      "    result = list(a_shape[:-1])\n    result.extend(b_shape[1:])\n    return tuple(result)"),
    V("row-by-indexing", "q2-row-column", "    return np.asarray(v).reshape(1, -1)",
      "    v = np.asarray(v)\n    return v[np.newaxis, :]"),
    V("column-by-indexing", "q2-row-column", "    return np.asarray(v).reshape(-1, 1)",
      "    return np.asarray(v)[:, None]"),
    V("cell-matmul", "q3-rnn-cell", "    before_activation = np.dot(h_prev, W_state) + input_term + b_cell",
      "    before_activation = h_prev @ W_state\n    before_activation = before_activation + input_term\n"
      "    before_activation = before_activation + b_cell"),
    V("cell-named-state", "q3-rnn-cell", "    return before_activation, np.tanh(before_activation)",
      "    h_next = np.tanh(before_activation)\n    return before_activation, h_next"),
    V("forward-preallocated", "q4-rnn-forward",
      "    states, outputs = [], []\n    for x_t in X:\n        _, h = rnn_cell(x_t, h, W_state, W_input, b_cell)\n"
      "        states.append(h)\n        outputs.append(np.dot(h, W_output) + b_output)\n"
      "    return np.array(states), np.array(outputs)",
      "    states = np.zeros((len(X), h.shape[-1]))\n    for t in range(len(X)):\n"
      "        h = rnn_cell(X[t], h, W_state, W_input, b_cell)[1]\n        states[t] = h\n"
      "    outputs = states @ W_output + b_output\n    return states, outputs"),
    V("linear-index-loop", "q5-linear",
      "    for x_t in X:\n        h, _ = rnn_cell(x_t, h, W_state, W_input, b_cell)",
      "    for t in range(len(X)):\n        h = rnn_cell(X[t], h, W_state, W_input, b_cell)[0]"),
    V("batch-transpose", "q6-batch", "    states = np.stack(states, axis=1)",
      "    states = np.array(states).transpose(1, 0, 2)"),
    V("batch-einsum-output", "q6-batch", "    return states, np.dot(states, W_output) + b_output",
      "    outputs = np.einsum('nth,ho->nto', states, W_output) + b_output\n    return states, outputs"),
]
