"""Exercise 5: correct answers in other styles."""
from variants import V

ASSIGNMENT = "05_mrnn"

VARIANTS = [
    V("noise-log1", "q1-gumbel-noise", "    return -np.log(-np.log(u))",
      "    inner = np.log(u)\n    return -np.log(-inner)"),
    V("state-probs-split", "q3-state-probabilities",
      "    xh = np.concatenate([x, h_prev], axis=1)\n    return softmax(xh @ Wz + bz)",
      "    D = x.shape[1]\n    scores = x @ Wz[:D] + h_prev @ Wz[D:] + bz\n    return softmax(scores)"),
    V("mrnn-one-hot-argmax", "q4-mrnn-step", "        z = np.eye(q.shape[1])[np.argmax(q, axis=1)]",
      "        z = np.zeros_like(q)\n        z[np.arange(q.shape[0]), q.argmax(axis=1)] = 1.0"),
    V("mixture-sum", "q5-mixture-backward", '    dz = np.einsum("nkh,nh->nk", hks, dh)',
      "    dz = (hks * dh[:, None, :]).sum(axis=2)"),
    V("entropy-probs", "q6-entropy", "    return -np.sum(np.exp(logq) * logq, axis=-1)",
      "    q = np.exp(logq)\n    return -(q * logq).sum(axis=-1)"),
    V("temperature-min", "q7-temperature", "    return float(max(tau0 * np.exp(-rate * epoch), tau_min))",
      "    tau = tau0 * np.exp(-rate * epoch)\n    if tau < tau_min:\n        tau = tau_min\n    return float(tau)"),
]
