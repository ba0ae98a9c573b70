"""Exercise 2: correct answers in other styles."""
from variants import V

ASSIGNMENT = "02_hmm_dice"

VARIANTS = [
    V("joint-loop", "q2-joint",
      "        log_moves = np.log(A[states[:-1], states[1:]]).sum()",
      "        log_moves = 0.0\n        for previous, current in zip(states[:-1], states[1:]):\n"
      "            log_moves += np.log(A[previous, current])"),
    V("forward-first-step-apart", "q3-forward",
      "    unnormalised = start * B[:, obs[0]]\n    for t in range(T):\n        if t > 0:\n"
      "            unnormalised = (alphas[t - 1] @ A) * B[:, obs[t]]\n",
      "    for t in range(T):\n        if t == 0:\n            unnormalised = start * B[:, obs[0]]\n"
      "        else:\n            unnormalised = np.dot(alphas[t - 1], A) * B[:, obs[t]]\n"),
    V("viterbi-backtrack-list", "q5-viterbi",
      "    path = np.zeros(T, dtype=int)\n    path[-1] = delta.argmax()\n    for t in range(T - 1, 0, -1):\n"
      "        path[t - 1] = psi[t, path[t]]\n    return path, float(delta.max())",
      "    best = [int(np.argmax(delta))]\n    for t in range(T - 1, 0, -1):\n"
      "        best.append(int(psi[t, best[-1]]))\n    return np.array(best[::-1]), float(np.max(delta))"),
    V("counting-loops", "q6-counting",
      "    np.add.at(moves, (states[:-1], states[1:]), 1)\n    np.add.at(shows, (states, obs), 1)",
      "    for i, j in zip(states[:-1], states[1:]):\n        moves[i, j] += 1\n"
      "    for i, m in zip(states, obs):\n        shows[i, m] += 1"),
    V("posteriors-normalise-apart", "q7-posteriors",
      "    return gammas / gammas.sum(axis=1, keepdims=True)",
      "    totals = gammas.sum(axis=1)\n    return gammas / totals[:, None]"),
    V("baum-welch-shows-loop", "q8-baum-welch",
      "    for m in range(B.shape[1]):\n        expected_shows[:, m] = gammas[obs == m].sum(axis=0)",
      "    for t, m in enumerate(obs):\n        expected_shows[:, m] += gammas[t]"),
]
