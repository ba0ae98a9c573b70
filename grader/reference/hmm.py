"""Chapter 2 reference: hidden Markov models, with three dice as the running example.

Conventions used throughout this module and :mod:`grader.reference.hmm_learning`:

* hidden states are the integers ``0..K-1``; observation symbols are ``0..M-1``.
  For the dice the states are D4, D6, D8 (in that order, see ``DICE_NAMES``) and the
  faces 1..8 are the symbols 0..7, so ``M = 8``;
* an :class:`HMM` holds ``start`` (K,), ``A`` (K, K) and ``B`` (K, M) with
  ``start[i] = P(x_0 = i)``, ``A[i, j] = P(x_t = j | x_{t-1} = i)`` and
  ``B[i, m] = P(o_t = m | x_t = i)``; every row of ``A`` and ``B`` sums to one;
* a sequence of length T is a 1-D integer array of shape (T,); time runs 0..T-1.

Learning (counting, Baum-Welch) and evaluation live in :mod:`grader.reference.hmm_learning`.
"""
from __future__ import annotations

import itertools
from bisect import bisect_right
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

DICE_NAMES: tuple[str, ...] = ("D4", "D6", "D8")
D4, D6, D8 = 0, 1, 2
N_FACES = 8
ROW_SUM_TOLERANCE = 1e-8


def _check_distributions(name: str, rows: np.ndarray) -> None:
    """Raise ValueError unless every row of ``rows`` (R, N) is a probability distribution."""
    if not np.all(np.isfinite(rows)):
        raise ValueError(f"{name} contains NaN or infinite entries")
    if np.any(rows < 0):
        where = tuple(int(i) for i in np.argwhere(rows < 0)[0])
        raise ValueError(f"{name} has negative entries, e.g. {rows[where]:.6g} at row {where[0]}, "
                         f"column {where[1]}")
    sums = rows.sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > ROW_SUM_TOLERANCE)
    if bad.size:
        row = int(bad[0])
        what = "start" if name == "start" else f"row {row} of {name}"
        raise ValueError(f"{what} sums to {sums[row]:.10g}, not 1")


@dataclass(frozen=True, eq=False)
class HMM:
    """A discrete hidden Markov model: ``start`` (K,), ``A`` (K, K), ``B`` (K, M).

    The arrays are copied to float64 and made read-only, so an HMM never changes after
    construction; invalid parameters raise ValueError with a message naming the problem.
    """

    start: np.ndarray
    A: np.ndarray
    B: np.ndarray

    def __post_init__(self) -> None:
        for name in ("start", "A", "B"):
            array = np.array(getattr(self, name), dtype=np.float64)  # a private copy
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        if self.start.ndim != 1 or self.start.size == 0:
            raise ValueError(f"start must be a non-empty 1-D array of shape (K,), "
                             f"got shape {self.start.shape}")
        K = self.start.size
        if self.A.shape != (K, K):
            raise ValueError(f"A must have shape (K, K) = ({K}, {K}) to match start (K={K}), "
                             f"got shape {self.A.shape}")
        if self.B.ndim != 2 or self.B.shape[0] != K or self.B.shape[1] == 0:
            raise ValueError(f"B must have shape (K, M) with K={K} rows to match start, "
                             f"got shape {self.B.shape}")
        _check_distributions("start", self.start[None, :])
        _check_distributions("A", self.A)
        _check_distributions("B", self.B)

    @property
    def K(self) -> int:
        """Number of hidden states."""
        return self.start.size

    @property
    def M(self) -> int:
        """Number of observation symbols."""
        return self.B.shape[1]


def dice_hmm(loaded: bool = False, constrained: bool = False) -> HMM:
    """The course's dice HMM: states D4, D6, D8 (K=3), faces 1..8 as symbols 0..7 (M=8).

    By default a die is picked uniformly at random before every roll, whatever came before.
    ``loaded``: the D6 shows a 1 with probability 1/2 and each other face with 1/10.
    ``constrained``: after a D6 never a D4; D6 -> D6 with 0.9 and D6 -> D8 with 0.1
    (the rows of D4 and D8 stay uniform).
    """
    start = np.full(3, 1 / 3)
    A = np.full((3, 3), 1 / 3)
    if constrained:
        A[D6] = [0.0, 0.9, 0.1]
    B = np.zeros((3, N_FACES))
    for state, n_faces in zip((D4, D6, D8), (4, 6, 8)):
        B[state, :n_faces] = 1 / n_faces
    if loaded:
        B[D6, :6] = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1]
    return HMM(start, A, B)


def _check_sequence(values, n_values: int, what: str) -> np.ndarray:
    """``values`` as a non-empty 1-D int64 array (T,) with entries in 0..n_values-1."""
    values = np.asarray(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{what} must be a non-empty 1-D sequence, got shape {values.shape}")
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{what} must contain integers, got dtype {values.dtype}")
    if values.min() < 0 or values.max() >= n_values:
        raise ValueError(f"{what} must lie in 0..{n_values - 1}, "
                         f"got values in {values.min()}..{values.max()}")
    return values.astype(np.int64, copy=False)


def _cumulative(probabilities: np.ndarray) -> np.ndarray:
    """Cumulative sums (N,) whose tail is exactly 1.0, so that inverse-CDF sampling with
    uniforms in [0, 1) can never land on a zero-probability entry because of round-off."""
    cumulative = np.cumsum(probabilities)
    cumulative[np.flatnonzero(probabilities)[-1]:] = 1.0
    return cumulative


def sample(hmm: HMM, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw one sequence of length T: returns ``states`` (T,) and ``obs`` (T,), both int64."""
    if T < 1:
        raise ValueError(f"T must be a positive length, got {T}")
    state_uniforms = rng.random(T)
    symbol_uniforms = rng.random(T)
    # Each state depends on the one before, so this loop is inherently sequential; bisect on
    # plain lists is much faster than a NumPy call per step on 3-element arrays.
    start_cdf = _cumulative(hmm.start).tolist()
    transition_cdfs = [_cumulative(row).tolist() for row in hmm.A]
    states = [bisect_right(start_cdf, state_uniforms[0])]
    for u in state_uniforms[1:].tolist():
        states.append(bisect_right(transition_cdfs[states[-1]], u))
    states = np.array(states, dtype=np.int64)
    # Given the states, the symbols are independent: draw them one state at a time.
    obs = np.empty(T, dtype=np.int64)
    for state in range(hmm.K):
        here = states == state
        obs[here] = np.searchsorted(_cumulative(hmm.B[state]), symbol_uniforms[here], side="right")
    return states, obs


def joint_log_prob(hmm: HMM, states, obs) -> float:
    """log P(x, o) for hidden ``states`` (T,) and ``obs`` (T,); -inf for an impossible pair."""
    states = _check_sequence(states, hmm.K, "states")
    obs = _check_sequence(obs, hmm.M, "obs")
    if states.size != obs.size:
        raise ValueError(f"states and obs differ in length: {states.size} vs {obs.size}")
    with np.errstate(divide="ignore"):  # log(0) = -inf is the right answer for zero terms
        return float(np.log(hmm.start[states[0]])
                     + np.log(hmm.A[states[:-1], states[1:]]).sum()
                     + np.log(hmm.B[states, obs]).sum())


class ForwardResult(NamedTuple):
    """What :func:`forward` returns; unpack as ``alphas, log_likelihood, scales``."""

    alphas: np.ndarray       # (T, K): alphas[t, i] = P(x_t = i | o_0..o_t), rows sum to 1
    log_likelihood: float    # log P(o_0..o_{T-1})
    scales: np.ndarray       # (T,): scales[t] = P(o_t | o_0..o_{t-1}); their logs sum to the above


def forward(hmm: HMM, obs) -> ForwardResult:
    """Scaled forward pass over ``obs`` (T,), stable for any T (see :class:`ForwardResult`).

    The unscaled alpha_t(i) = P(o_0..o_t, x_t = i) shrinks geometrically and underflows
    after a few hundred steps; dividing each row by its sum keeps it a distribution, and the
    divisors are exactly the conditional probabilities whose product is the likelihood.
    If some observation is impossible, ``log_likelihood`` is -inf and the remaining rows NaN.
    """
    obs = _check_sequence(obs, hmm.M, "obs")
    T, K = obs.size, hmm.K
    emission = hmm.B[:, obs].T.copy()  # (T, K): emission[t, i] = P(o_t | x_t = i)
    alphas = np.empty((T, K))
    scales = np.empty(T)
    alpha = hmm.start * emission[0]
    for t in range(T):
        if t > 0:
            alpha = (alphas[t - 1] @ hmm.A) * emission[t]
        scale = alpha.sum()
        if scale == 0.0:
            alphas[t:], scales[t:] = np.nan, 0.0
            return ForwardResult(alphas, -np.inf, scales)
        alphas[t] = alpha / scale
        scales[t] = scale
    return ForwardResult(alphas, float(np.log(scales).sum()), scales)


def backward(hmm: HMM, obs, scales: np.ndarray) -> np.ndarray:
    """Scaled backward pass: ``betas`` (T, K), using the ``scales`` (T,) from :func:`forward`.

    betas[t, i] = P(o_{t+1}..o_{T-1} | x_t = i) / P(o_{t+1}..o_{T-1} | o_0..o_t). Dividing by
    the same scales as the forward pass makes ``alphas * betas`` the posteriors directly.
    """
    obs = _check_sequence(obs, hmm.M, "obs")
    emission = hmm.B[:, obs].T  # (T, K)
    betas = np.empty((obs.size, hmm.K))
    betas[-1] = 1.0
    for t in range(obs.size - 2, -1, -1):
        betas[t] = hmm.A @ (emission[t + 1] * betas[t + 1]) / scales[t + 1]
    return betas


def posteriors(hmm: HMM, obs) -> np.ndarray:
    """P(x_t = i | o_0..o_{T-1}) as an array (T, K) whose rows sum to 1."""
    alphas, log_likelihood, scales = forward(hmm, obs)
    if not np.isfinite(log_likelihood):
        raise ValueError("the observations have probability 0 under this HMM")
    gamma = alphas * backward(hmm, obs, scales)
    return gamma / gamma.sum(axis=1, keepdims=True)  # the sums are 1 up to round-off


def viterbi(hmm: HMM, obs) -> tuple[np.ndarray, float]:
    """Most probable hidden path for ``obs`` (T,): returns ``path`` (T,) and log P(path, obs).

    Works with sums of logs, so nothing underflows; ties go to the lowest state index.
    """
    obs = _check_sequence(obs, hmm.M, "obs")
    T, K = obs.size, hmm.K
    with np.errstate(divide="ignore"):  # impossible moves become -inf, never chosen
        log_A = np.log(hmm.A)
        log_emission = np.log(hmm.B[:, obs].T)  # (T, K)
        best = np.log(hmm.start) + log_emission[0]  # (K,): best log-prob of a path ending in i
    came_from = np.zeros((T, K), dtype=np.int64)  # came_from[t, j]: best state at t-1 before j
    for t in range(1, T):
        candidates = best[:, None] + log_A  # (K, K): arrive in j from i
        came_from[t] = candidates.argmax(axis=0)
        best = candidates[came_from[t], np.arange(K)] + log_emission[t]
    path = np.empty(T, dtype=np.int64)
    path[-1] = best.argmax()
    for t in range(T - 1, 0, -1):
        path[t - 1] = came_from[t, path[t]]
    return path, float(best.max())


def naive_forward_prob(hmm: HMM, obs) -> float:
    """P(o_0..o_{T-1}) by the textbook unscaled forward recursion, as a plain probability.

    Correct for short sequences, but each step multiplies by numbers below 1, so after a few
    hundred dice rolls the result underflows float64 and this returns exactly 0.0.
    """
    obs = _check_sequence(obs, hmm.M, "obs")
    alpha = hmm.start * hmm.B[:, obs[0]]  # (K,)
    for symbol in obs[1:]:
        alpha = (alpha @ hmm.A) * hmm.B[:, symbol]
    return float(alpha.sum())


def brute_force_log_likelihood(hmm: HMM, obs, max_paths: int = 2**20) -> float:
    """log P(obs) by summing P(x, obs) over all K**T hidden paths: a test oracle for T <= 8.

    Shares no code with :func:`forward`; refuses (ValueError) when K**T exceeds ``max_paths``.
    """
    obs = _check_sequence(obs, hmm.M, "obs")
    T, K = obs.size, hmm.K
    if K**T > max_paths:
        raise ValueError(f"{K}**{T} paths is too many to enumerate (limit {max_paths})")
    paths = np.array(list(itertools.product(range(K), repeat=T)), dtype=np.int64)  # (K**T, T)
    with np.errstate(divide="ignore"):
        log_joint = (np.log(hmm.start[paths[:, 0]])
                     + np.log(hmm.A[paths[:, :-1], paths[:, 1:]]).sum(axis=1)
                     + np.log(hmm.B[paths, obs]).sum(axis=1))  # (K**T,)
    largest = log_joint.max()
    if largest == -np.inf:
        return -np.inf
    return float(largest + np.log(np.exp(log_joint - largest).sum()))  # log-sum-exp
