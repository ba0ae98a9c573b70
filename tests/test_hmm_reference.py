"""Tests for the chapter 2 reference (grader/reference/hmm.py and hmm_learning.py).

Oracles are independent of the code under test: hmmlearn's CategoricalHMM (a compiled
log-space implementation), brute-force enumeration of all hidden paths, hand-computed
numbers from the dice description, and the true parameters behind sampled data.
"""
from __future__ import annotations

import time

import numpy as np
import pytest
from hmmlearn.hmm import CategoricalHMM

from grader.reference.hmm import (DICE_NAMES, HMM, backward, brute_force_log_likelihood,
                                  dice_hmm, forward, joint_log_prob, naive_forward_prob,
                                  posteriors, sample, viterbi)
from grader.reference.hmm_learning import (baum_welch, best_matching_accuracy, count_estimate,
                                           random_hmm)

# (K, M, seed) for the random HMMs compared with hmmlearn.
SHAPES = [(2, 3, 0), (3, 8, 1), (4, 5, 2), (5, 2, 3)]


def make_random_hmm(K: int, M: int, seed: int) -> HMM:
    """Parameters drawn here (not with the module's random_hmm), Dirichlet(2) so no zeros."""
    rng = np.random.default_rng(1000 + seed)
    return HMM(rng.dirichlet(2 * np.ones(K)), rng.dirichlet(2 * np.ones(K), size=K),
               rng.dirichlet(2 * np.ones(M), size=K))


def to_hmmlearn(hmm: HMM) -> CategoricalHMM:
    model = CategoricalHMM(n_components=hmm.K, n_features=hmm.M, init_params="", params="")
    model.startprob_ = np.array(hmm.start)
    model.transmat_ = np.array(hmm.A)
    model.emissionprob_ = np.array(hmm.B)
    return model


def random_obs(M: int, T: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, M, size=T)


# --- the dice model and its validation --------------------------------------------------

def test_dice_hmm_matches_the_story():
    hmm = dice_hmm()
    assert DICE_NAMES == ("D4", "D6", "D8")
    assert (hmm.K, hmm.M) == (3, 8)
    np.testing.assert_allclose(hmm.start, 1 / 3)
    np.testing.assert_allclose(hmm.A, 1 / 3)
    np.testing.assert_allclose(hmm.B[0], [1 / 4] * 4 + [0] * 4)
    np.testing.assert_allclose(hmm.B[1], [1 / 6] * 6 + [0] * 2)
    np.testing.assert_allclose(hmm.B[2], [1 / 8] * 8)

    loaded = dice_hmm(loaded=True)
    np.testing.assert_allclose(loaded.B[1], [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0, 0])
    np.testing.assert_allclose(loaded.B[0], hmm.B[0])

    constrained = dice_hmm(constrained=True)
    np.testing.assert_allclose(constrained.A[1], [0.0, 0.9, 0.1])
    np.testing.assert_allclose(constrained.A[[0, 2]], 1 / 3)


def test_joint_log_prob_by_hand():
    hmm = dice_hmm(loaded=True, constrained=True)
    # D6 shows 1, D6 shows 2, D8 shows 8:  1/3 * 1/2 * 0.9 * 1/10 * 0.1 * 1/8
    expected = np.log(1 / 3 * 1 / 2 * 0.9 * 1 / 10 * 0.1 * 1 / 8)
    assert joint_log_prob(hmm, [1, 1, 2], [0, 1, 7]) == pytest.approx(expected, rel=1e-12)
    assert joint_log_prob(hmm, [1, 0, 0], [0, 1, 2]) == -np.inf  # D6 -> D4 is forbidden
    assert joint_log_prob(hmm, [0], [6]) == -np.inf  # a D4 cannot show 7


@pytest.mark.parametrize("start, A, B, message", [
    ([0.5, 0.6], np.eye(2), np.full((2, 3), 1 / 3), "start sums to"),
    ([0.5, 0.5], [[0.5, 0.4], [0.5, 0.5]], np.full((2, 3), 1 / 3), "row 0 of A sums to"),
    ([0.5, 0.5], np.eye(2), [[1.0, 0, 0], [0.5, 0.4, 0.2]], "row 1 of B sums to"),
    ([0.5, 0.5], [[1.2, -0.2], [0.5, 0.5]], np.full((2, 3), 1 / 3), "A has negative"),
    ([1.5, -0.5], np.eye(2), np.full((2, 3), 1 / 3), "start has negative"),
    ([0.5, 0.5], np.eye(3) , np.full((2, 3), 1 / 3), "A must have shape"),
    ([0.5, 0.5], np.eye(2), np.full((3, 3), 1 / 3), "B must have shape"),
    ([0.5, 0.5], np.eye(2), np.full(3, 1 / 3), "B must have shape"),
    ([[0.5, 0.5]], np.eye(2), np.full((2, 3), 1 / 3), "start must be"),
    ([0.5, 0.5], [[np.nan, 1.0], [0.5, 0.5]], np.full((2, 3), 1 / 3), "NaN"),
])
def test_hmm_validation(start, A, B, message):
    with pytest.raises(ValueError, match=message):
        HMM(start, A, B)


def test_hmm_is_frozen_and_copies_its_arrays():
    A = np.full((2, 2), 0.5)
    hmm = HMM([0.5, 0.5], A, np.full((2, 2), 0.5))
    A[0, 0] = 7.0
    assert hmm.A[0, 0] == 0.5
    with pytest.raises(ValueError):
        hmm.A[0, 0] = 0.3  # read-only
    with pytest.raises(AttributeError):
        hmm.A = np.eye(2)


def test_bad_observations_are_rejected():
    with pytest.raises(ValueError, match="0..7"):
        forward(dice_hmm(), [0, 8])
    with pytest.raises(ValueError, match="non-empty"):
        viterbi(dice_hmm(), [])


# --- sampling ---------------------------------------------------------------------------

def test_sample_frequencies_and_support():
    hmm = dice_hmm(loaded=True, constrained=True)
    states, obs = sample(hmm, 60_000, np.random.default_rng(0))
    assert states.shape == obs.shape == (60_000,)
    assert obs[states == 0].max() <= 3 and obs[states == 1].max() <= 5  # D4 <= 4, D6 <= 6
    assert not np.any((states[:-1] == 1) & (states[1:] == 0))  # never D6 -> D4
    from_d6 = states[1:][states[:-1] == 1]
    assert np.mean(from_d6 == 1) == pytest.approx(0.9, abs=0.01)
    assert np.mean(obs[states == 1] == 0) == pytest.approx(0.5, abs=0.015)
    again = sample(hmm, 60_000, np.random.default_rng(0))
    np.testing.assert_array_equal(again[1], obs)  # deterministic under the generator


# --- inference against hmmlearn and brute force -----------------------------------------

@pytest.mark.parametrize("K, M, seed", SHAPES)
def test_forward_matches_hmmlearn(K, M, seed):
    hmm = make_random_hmm(K, M, seed)
    obs = random_obs(M, 300, seed)
    alphas, log_likelihood, scales = forward(hmm, obs)
    assert log_likelihood == pytest.approx(to_hmmlearn(hmm).score(obs.reshape(-1, 1)), rel=1e-10)
    np.testing.assert_allclose(alphas.sum(axis=1), 1.0)
    assert np.log(scales).sum() == pytest.approx(log_likelihood)


@pytest.mark.parametrize("K, M, seed", SHAPES)
def test_posteriors_match_hmmlearn(K, M, seed):
    hmm = make_random_hmm(K, M, seed)
    obs = random_obs(M, 200, seed + 10)
    expected = to_hmmlearn(hmm).predict_proba(obs.reshape(-1, 1))
    np.testing.assert_allclose(posteriors(hmm, obs), expected, atol=1e-9)
    alphas, _, scales = forward(hmm, obs)
    # alphas * betas needs no renormalisation when the scales are shared.
    np.testing.assert_allclose((alphas * backward(hmm, obs, scales)).sum(axis=1), 1.0, rtol=1e-10)


@pytest.mark.parametrize("K, M, seed", SHAPES)
def test_viterbi_matches_hmmlearn(K, M, seed):
    hmm = make_random_hmm(K, M, seed)
    obs = random_obs(M, 250, seed + 20)
    path, log_prob = viterbi(hmm, obs)
    expected_log_prob, expected_path = to_hmmlearn(hmm).decode(obs.reshape(-1, 1),
                                                               algorithm="viterbi")
    assert log_prob == pytest.approx(expected_log_prob, rel=1e-10)
    assert joint_log_prob(hmm, path, obs) == pytest.approx(log_prob, rel=1e-10)
    # Exact ties exist even for random parameters: "1 4 4 1 3 1" and "1 3 1 4 4 1" use the
    # same transitions and (for these observations) the same emissions, in another order.
    # Paths may then differ, but both must be optimal.
    assert np.mean(path == expected_path) > 0.95
    assert joint_log_prob(hmm, path, obs) == pytest.approx(
        joint_log_prob(hmm, expected_path, obs), rel=1e-12)


@pytest.mark.parametrize("K, M, seed", SHAPES)
@pytest.mark.parametrize("T", [1, 2, 5, 7])
def test_forward_and_viterbi_match_brute_force(K, M, seed, T):
    hmm = make_random_hmm(K, M, seed)
    obs = random_obs(M, T, seed + T)
    assert forward(hmm, obs).log_likelihood == pytest.approx(
        brute_force_log_likelihood(hmm, obs), rel=1e-12)
    assert naive_forward_prob(hmm, obs) == pytest.approx(
        np.exp(brute_force_log_likelihood(hmm, obs)), rel=1e-12)
    # Viterbi's log prob is the best joint log prob over all K**T paths.
    grid = np.stack(np.meshgrid(*[np.arange(K)] * T, indexing="ij"), -1).reshape(-1, T)
    best = np.max(np.log(hmm.start[grid[:, 0]]) + np.log(hmm.A[grid[:, :-1], grid[:, 1:]]).sum(1)
                  + np.log(hmm.B[grid, obs]).sum(1))
    assert viterbi(hmm, obs)[1] == pytest.approx(best, rel=1e-12)


def test_brute_force_single_step_by_hand():
    hmm = dice_hmm()
    # P(first roll shows 3) = 1/3 (1/4 + 1/6 + 1/8); P(shows 7) = 1/3 * 1/8
    assert brute_force_log_likelihood(hmm, [2]) == pytest.approx(np.log((1/4 + 1/6 + 1/8) / 3))
    assert brute_force_log_likelihood(hmm, [6]) == pytest.approx(np.log(1 / 24))
    # With uniform picks, rolls are independent: P(3, 7) is the product.
    assert brute_force_log_likelihood(hmm, [2, 6]) == pytest.approx(
        np.log((1/4 + 1/6 + 1/8) / 3 / 24))
    with pytest.raises(ValueError, match="too many"):
        brute_force_log_likelihood(hmm, np.zeros(30, dtype=int))


def test_impossible_observations():
    hmm = dice_hmm(constrained=True)
    hmm = HMM([1.0, 0.0, 0.0], hmm.A, hmm.B)  # always start with the D4
    alphas, log_likelihood, _ = forward(hmm, [6, 0])  # a D4 cannot show 7
    assert log_likelihood == -np.inf and brute_force_log_likelihood(hmm, [6, 0]) == -np.inf
    with pytest.raises(ValueError, match="probability 0"):
        posteriors(hmm, [6, 0])


# --- long sequences: scaling versus underflow -------------------------------------------

def test_forward_on_100k_steps_is_stable_fast_and_exact():
    hmm = dice_hmm(loaded=True, constrained=True)
    _, obs = sample(hmm, 100_000, np.random.default_rng(5))
    began = time.perf_counter()
    _, log_likelihood, _ = forward(hmm, obs)
    elapsed = time.perf_counter() - began
    assert np.isfinite(log_likelihood)
    # hmmlearn's default implementation works in log space: an independent reference.
    reference = to_hmmlearn(hmm).score(obs.reshape(-1, 1))
    assert log_likelihood == pytest.approx(reference, rel=1e-10)
    # Each roll carries between log(1/8) and log(1/2) nats: a sanity band for the total.
    assert 100_000 * np.log(1 / 8) < log_likelihood < 100_000 * np.log(1 / 2)
    assert elapsed < 5.0, f"forward took {elapsed:.2f} s on 100,000 steps"  # ~0.5 s alone
    assert naive_forward_prob(hmm, obs) == 0.0  # the unscaled product underflows
    assert naive_forward_prob(hmm, obs[:20]) > 0.0


# --- learning ---------------------------------------------------------------------------

def test_counting_recovers_parameters():
    true = dice_hmm(loaded=True, constrained=True)
    rng = np.random.default_rng(7)
    pairs = [sample(true, 2_000, rng) for _ in range(100)]
    states, obs = [p[0] for p in pairs], [p[1] for p in pairs]
    learned = count_estimate(states, obs, K=3, M=8)
    np.testing.assert_allclose(learned.A, true.A, atol=0.02)
    np.testing.assert_allclose(learned.B, true.B, atol=0.02)
    np.testing.assert_allclose(learned.start, true.start, atol=0.15)  # only 100 first states
    assert learned.A[1, 0] == 0.0 and np.all(learned.B[0, 4:] == 0.0)  # zeros stay zeros


def test_counting_by_hand_with_smoothing():
    states, obs = [0, 0, 1, 0], [1, 1, 0, 2]
    plain = count_estimate(states, obs, K=2, M=3)
    np.testing.assert_allclose(plain.start, [1, 0])
    np.testing.assert_allclose(plain.A, [[1 / 2, 1 / 2], [1, 0]])
    np.testing.assert_allclose(plain.B, [[0, 2 / 3, 1 / 3], [1, 0, 0]])
    smoothed = count_estimate(states, obs, K=2, M=3, pseudocount=1.0)
    np.testing.assert_allclose(smoothed.start, [2 / 3, 1 / 3])
    np.testing.assert_allclose(smoothed.A, [[2 / 4, 2 / 4], [2 / 3, 1 / 3]])
    np.testing.assert_allclose(smoothed.B, [[1 / 6, 3 / 6, 2 / 6], [2 / 4, 1 / 4, 1 / 4]])
    # A state never visited gets uniform rows rather than 0 / 0.
    unseen = count_estimate([0, 0], [1, 2], K=2, M=3)
    np.testing.assert_allclose(unseen.B[1], 1 / 3)
    # A list of sequences counts each one's first state and never links across them.
    two = count_estimate([[0, 0], [1, 0]], [[1, 1], [0, 2]], K=2, M=3)
    np.testing.assert_allclose(two.start, [1 / 2, 1 / 2])
    np.testing.assert_allclose(two.A, [[1, 0], [1, 0]])


def test_one_baum_welch_step_matches_hmmlearn():
    init = make_random_hmm(3, 4, 9)
    obs = random_obs(4, 400, 9)
    learned, history = baum_welch(obs, 3, 4, n_iter=1, init=init, tol=-np.inf)
    model = CategoricalHMM(n_components=3, n_features=4, init_params="", params="ste", n_iter=1)
    model.startprob_, model.transmat_, model.emissionprob_ = (
        np.array(init.start), np.array(init.A), np.array(init.B))
    model.fit(obs.reshape(-1, 1))
    np.testing.assert_allclose(learned.start, model.startprob_, atol=1e-9)
    np.testing.assert_allclose(learned.A, model.transmat_, atol=1e-9)
    np.testing.assert_allclose(learned.B, model.emissionprob_, atol=1e-9)
    assert len(history) == 2
    assert history[0] == pytest.approx(to_hmmlearn(init).score(obs.reshape(-1, 1)), rel=1e-10)
    assert history[1] == pytest.approx(model.score(obs.reshape(-1, 1)), rel=1e-10)


def test_baum_welch_never_decreases_and_improves():
    true = HMM([1 / 3] * 3, [[0.9, 0.05, 0.05], [0.05, 0.9, 0.05], [0.05, 0.05, 0.9]],
               dice_hmm(loaded=True).B)
    rng = np.random.default_rng(11)
    sequences = [sample(true, 1_500, rng)[1] for _ in range(4)]
    learned, history = baum_welch(sequences, 3, 8, n_iter=40, init=np.random.default_rng(3),
                                  tol=0.0)
    history = np.array(history)
    assert np.all(np.diff(history) >= -1e-9 * np.abs(history[1:]))
    assert history[-1] > history[0] + 100  # far better than the random start
    total = sum(forward(learned, s).log_likelihood for s in sequences)
    assert history[-1] == pytest.approx(total, rel=1e-12)  # history ends with the returned HMM
    # The zeros of a D4 row survive EM only if they were there at the start, which they are
    # not here; but every learned row must still be a distribution (HMM validates it).
    assert learned.K == 3 and learned.M == 8


def test_baum_welch_accepts_a_seed_and_stops_at_tol():
    obs = sample(dice_hmm(), 500, np.random.default_rng(0))[1]
    first, history = baum_welch(obs, 2, 8, n_iter=500, init=4, tol=1e-3)
    again, _ = baum_welch(obs, 2, 8, n_iter=500, init=4, tol=1e-3)
    np.testing.assert_array_equal(first.B, again.B)
    assert len(history) < 501 and history[-1] - history[-2] < 1e-3
    with pytest.raises(ValueError, match="K=3"):
        baum_welch(obs, 2, 8, init=random_hmm(3, 8, np.random.default_rng(0)))


def test_best_matching_accuracy():
    true = np.array([0, 0, 1, 1, 2, 2, 2, 0])
    assert best_matching_accuracy(true, true, 3) == 1.0
    renamed = np.array([2, 1, 0])[true]
    assert best_matching_accuracy(true, renamed, 3) == 1.0
    # Predicting all 0 can match at most the largest true class (3 of 8).
    assert best_matching_accuracy(true, np.zeros(8, dtype=int), 3) == pytest.approx(3 / 8)
    # 0->1, 1->0, 2->2 renaming, with one mistake at the end.
    pred = np.array([1, 1, 0, 0, 2, 2, 2, 2])
    assert best_matching_accuracy(true, pred, 3) == pytest.approx(7 / 8)
    with pytest.raises(ValueError):
        best_matching_accuracy(true, pred[:-1], 3)
