"""Chapter 2 reference: learning HMM parameters, and judging what was learned.

* :func:`count_estimate`: supervised, from paired hidden states and observations (counting);
* :func:`baum_welch`: unsupervised, from observations alone (expectation-maximisation);
* :func:`best_matching_accuracy`: how well unsupervised states match the true ones, given
  that an unsupervised learner cannot know which of its states is "D4".

Shapes and conventions are those of :mod:`grader.reference.hmm`. Wherever a sequence is
expected, a list of sequences (of any lengths) is accepted too.
"""
from __future__ import annotations

import itertools

import numpy as np

from grader.reference.hmm import HMM, _check_sequence, backward, forward


def _as_sequences(values) -> list[np.ndarray]:
    """One sequence (T,) or a list of sequences, as a list of 1-D arrays."""
    if isinstance(values, np.ndarray):
        return [values] if values.ndim == 1 else list(values)
    values = list(values)
    if values and np.ndim(values[0]) == 0:  # a plain list of numbers is one sequence
        return [np.asarray(values)]
    return [np.asarray(sequence) for sequence in values]


def _normalise_rows(counts: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """Divide each row of ``counts`` (R, N) by its sum; rows that sum to 0 (nothing was ever
    seen there, so the data say nothing) are taken from ``fallback`` (R, N) instead."""
    totals = counts.sum(axis=1, keepdims=True)
    empty = totals[:, 0] == 0
    rows = counts / np.where(totals == 0, 1.0, totals)
    rows[empty] = fallback[empty]
    return rows


def count_estimate(states, obs, K: int, M: int, pseudocount: float = 0.0) -> HMM:
    """Maximum-likelihood HMM from hidden ``states`` and ``obs`` (each (T,) or a list of them).

    Counts first states, transitions i -> j and emissions i -> m, adds ``pseudocount`` to every
    count (additive smoothing; 0 gives the plain maximum-likelihood estimate) and normalises.
    A row with no counts at all (a state never seen) becomes uniform.
    """
    if pseudocount < 0:
        raise ValueError(f"pseudocount must be >= 0, got {pseudocount}")
    state_seqs, obs_seqs = _as_sequences(states), _as_sequences(obs)
    if len(state_seqs) != len(obs_seqs):
        raise ValueError(f"{len(state_seqs)} state sequences but {len(obs_seqs)} observation ones")
    start_counts = np.zeros(K)
    transition_counts = np.zeros((K, K))
    emission_counts = np.zeros((K, M))
    for x, o in zip(state_seqs, obs_seqs):
        x, o = _check_sequence(x, K, "states"), _check_sequence(o, M, "obs")
        if x.size != o.size:
            raise ValueError(f"states and obs differ in length: {x.size} vs {o.size}")
        start_counts[x[0]] += 1
        # Encode each pair as one integer so that a single bincount counts all of them.
        transition_counts += np.bincount(x[:-1] * K + x[1:], minlength=K * K).reshape(K, K)
        emission_counts += np.bincount(x * M + o, minlength=K * M).reshape(K, M)
    start = _normalise_rows(start_counts[None, :] + pseudocount, np.full((1, K), 1 / K))[0]
    A = _normalise_rows(transition_counts + pseudocount, np.full((K, K), 1 / K))
    B = _normalise_rows(emission_counts + pseudocount, np.full((K, M), 1 / M))
    return HMM(start, A, B)


def _expected_counts(hmm: HMM, obs: np.ndarray):
    """E-step for one sequence (T,): expected first-state (K,), transition (K, K) and
    emission (K, M) counts under the posterior over hidden paths, and log P(obs)."""
    alphas, log_likelihood, scales = forward(hmm, obs)
    if not np.isfinite(log_likelihood):
        raise ValueError("a training sequence has probability 0 under the current parameters")
    betas = backward(hmm, obs, scales)
    gamma = alphas * betas  # (T, K): P(x_t = i | obs)
    emission = hmm.B[:, obs].T  # (T, K)
    # sum_t P(x_{t-1} = i, x_t = j | obs)
    #   = sum_t alphas[t-1, i] A[i, j] emission[t, j] betas[t, j] / scales[t],
    # and the sum over t is a single matrix product.
    transitions = hmm.A * (alphas[:-1].T @ (emission[1:] * betas[1:] / scales[1:, None]))
    emissions = np.stack([np.bincount(obs, weights=gamma[:, i], minlength=hmm.M)
                          for i in range(hmm.K)])
    return gamma[0], transitions, emissions, log_likelihood


def _e_step(hmm: HMM, sequences: list[np.ndarray]):
    """Expected counts summed over all sequences, and the total log-likelihood."""
    totals = [np.zeros(hmm.K), np.zeros((hmm.K, hmm.K)), np.zeros((hmm.K, hmm.M)), 0.0]
    for obs in sequences:
        for i, part in enumerate(_expected_counts(hmm, obs)):
            totals[i] = totals[i] + part
    return totals


def random_hmm(K: int, M: int, rng: np.random.Generator) -> HMM:
    """An HMM with every distribution drawn uniformly from the simplex (Dirichlet(1, ..., 1))."""
    return HMM(rng.dirichlet(np.ones(K)), rng.dirichlet(np.ones(K), size=K),
               rng.dirichlet(np.ones(M), size=K))


def baum_welch(obs, K: int, M: int, n_iter: int = 100, init=None,
               tol: float = 1e-4) -> tuple[HMM, list[float]]:
    """Fit an HMM to observations alone (Baum-Welch, i.e. expectation-maximisation).

    ``obs``: one sequence (T,) or a list of sequences. ``init``: an HMM to start from, or an
    ``np.random.Generator`` / integer seed / None for a random start (:func:`random_hmm`).
    Stops after ``n_iter`` updates, or earlier once an update gains less than ``tol`` in total
    log-likelihood.

    Returns the learned HMM and ``history``, the total log-likelihood before the first update
    and after each one (so ``history[-1]`` belongs to the returned HMM). EM guarantees that
    it never decreases.
    """
    sequences = [_check_sequence(o, M, "obs") for o in _as_sequences(obs)]
    hmm = init if isinstance(init, HMM) else random_hmm(K, M, np.random.default_rng(init))
    if (hmm.K, hmm.M) != (K, M):
        raise ValueError(f"init has K={hmm.K}, M={hmm.M} but K={K}, M={M} were asked for")
    start_counts, transition_counts, emission_counts, log_likelihood = _e_step(hmm, sequences)
    history = [log_likelihood]
    for _ in range(n_iter):
        # M-step: the expected counts play the role of the counts in count_estimate. A state
        # with no expected visits keeps its old rows instead of dividing 0 by 0.
        hmm = HMM(_normalise_rows(start_counts[None, :], hmm.start[None, :])[0],
                  _normalise_rows(transition_counts, hmm.A),
                  _normalise_rows(emission_counts, hmm.B))
        start_counts, transition_counts, emission_counts, log_likelihood = _e_step(hmm, sequences)
        history.append(log_likelihood)
        if history[-1] - history[-2] < tol:
            break
    return hmm, history


def best_matching_accuracy(true_states, pred_states, K: int) -> float:
    """Fraction of positions where ``pred_states`` (T,) equals ``true_states`` (T,) after the
    best renaming of predicted states (tries all K! permutations, fine for K <= 8)."""
    true_states = _check_sequence(true_states, K, "true_states")
    pred_states = _check_sequence(pred_states, K, "pred_states")
    if true_states.size != pred_states.size:
        raise ValueError(f"lengths differ: {true_states.size} vs {pred_states.size}")
    # confusion[t, p]: how often true state t was predicted as p.
    confusion = np.bincount(true_states * K + pred_states, minlength=K * K).reshape(K, K)
    renamings = np.array(list(itertools.permutations(range(K))))  # (K!, K): p -> renaming[p]
    correct = confusion[renamings, np.arange(K)].sum(axis=1)  # (K!,)
    return float(correct.max() / true_states.size)
