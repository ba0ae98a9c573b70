"""Exercise 6: correct answers in other styles."""
from variants import V

ASSIGNMENT = "06_tang_poems"

VARIANTS = [
    V("tokens-plus", "q1-poem-tokens",
      "        tokens.extend(line)\n        tokens.append(end)",
      "        tokens += list(line) + [end]"),
    V("vocabulary-loop", "q2-vocabulary",
      "    counts = Counter(c for lines in poems for line in lines for c in line)",
      "    counts = Counter()\n    for lines in poems:\n        for line in lines:\n            counts.update(line)"),
    V("sample-softmax-apart", "q3-sample-next",
      "    p = np.exp(z - z.max())\n    cdf = np.cumsum(p / p.sum())",
      "    weights = np.exp(z - np.max(z))\n    probabilities = weights / np.sum(weights)\n"
      "    cdf = np.cumsum(probabilities)"),
    V("poem-step-helper", "q4-write-poem", "    h = np.zeros(Wh.shape[0])\n",
      "    h = np.zeros(Wh.shape[0])\n\n    def step(c, h):\n        return np.tanh(E[c] @ Wx + h @ Wh + b)\n\n"),
    V("quatrain-lines-split", "q5-is-quatrain",
      "    lines = text.replace(COMMA, STOP).split(STOP)[:-1]",
      "    lines = text[:-1].replace(COMMA, STOP).split(STOP)"),
]
