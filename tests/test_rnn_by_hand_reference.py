"""Chapter 1: the reference reproduces every number of the source material."""
import numpy as np
import pytest

from grader.reference import rnn_by_hand as ref

E = ref.SOURCE_EXAMPLE
PARAMS = {k: E[k] for k in ("W_state", "W_input", "b_cell", "W_output", "b_output")}


def test_tanh_network_matches_the_source_numbers():
    r = ref.rnn_forward(E["X"], E["state"], **PARAMS)
    np.testing.assert_allclose(r["before_activation"], [[0.6, 0.5], [1.2923401, 1.39225678]],
                               rtol=1e-8)
    np.testing.assert_allclose(r["states"], [[0.53704957, 0.46211716],
                                             [0.85973818, 0.88366641]], rtol=1e-8)
    np.testing.assert_allclose(r["outputs"], [[1.56128388], [2.72707101]], rtol=1e-8)


def test_linear_network_matches_the_hand_computation():
    r = ref.rnn_forward(E["X"], E["state"], activation="linear", **PARAMS)
    np.testing.assert_allclose(r["states"], [[0.6, 0.5], [1.31, 1.42]])
    np.testing.assert_allclose(r["outputs"].ravel(), [1.7, 4.25])


def test_np_dot_semantics_quoted_in_the_chapter():
    A, B = np.array([[1, 2], [3, 4]]), np.array([[5, 6], [7, 8]])
    assert np.dot(A, B).tolist() == [[19, 22], [43, 50]]
    assert np.dot([1, 2], B).tolist() == [19, 22]
    assert np.dot([3, 4], [1.0, 2.0]) == 11.0


@pytest.mark.parametrize("a,b", [((2,), (2,)), ((3, 2), (2, 4)), ((2,), (2, 5)), ((4, 2), (2,))])
def test_dot_result_shape_agrees_with_numpy(a, b):
    assert ref.dot_result_shape(a, b) == np.dot(np.ones(a), np.ones(b)).shape


def test_dot_result_shape_rejects_misaligned_shapes():
    with pytest.raises(ValueError, match="not aligned"):
        ref.dot_result_shape((2, 3), (2, 3))


def test_batch_equals_one_sequence_at_a_time():
    rng = np.random.default_rng(0)
    N, T, D, H, O = 3, 4, 2, 5, 2
    p = dict(W_state=rng.standard_normal((H, H)), W_input=rng.standard_normal((D, H)),
             b_cell=rng.standard_normal(H), W_output=rng.standard_normal((H, O)),
             b_output=rng.standard_normal(O))
    X, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    batch = ref.rnn_forward_batch(X, h0, **p)
    for n in range(N):
        single = ref.rnn_forward(X[n], h0[n], **p)
        np.testing.assert_allclose(batch["states"][n], single["states"])
        np.testing.assert_allclose(batch["outputs"][n], single["outputs"])


def test_tanh_state_stays_bounded_and_linear_state_explodes():
    W = np.array([[1.1, 0.2], [0.3, 0.9]])
    X = np.ones(80)
    assert ref.state_norms(W, E["W_input"], E["b_cell"], X).max() < np.sqrt(2)
    assert ref.state_norms(W, E["W_input"], E["b_cell"], X, "linear")[-1] > 1e6
