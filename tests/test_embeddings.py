"""Tests for grader/reference/embeddings.py (chapter 3: one-hot codes versus embeddings)."""
from __future__ import annotations

import time

import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients
from grader.reference.embeddings import (ALPHABET, LETTERS, EmbeddingRNNClassifier,
                                         OneHotRNNClassifier, accuracy, encode,
                                         epochs_to_accuracy, load_weights, next_letter_dataset,
                                         one_hot, parameter_count_table, predict_next,
                                         save_weights, train)
from grader.reference.layers import Embedding
from grader.reference.optim import Adam

# The source's hyper-parameters.
H, D, LR, BATCH, EPOCHS = 3, 2, 0.01, 32, 100
REPEATS = 32  # 5 distinct samples repeated: 160 samples, 5 mini-batches per epoch


def make_model(kind: str, V: int = 5, *, seed: int = 0, dtype=np.float64, h=H, d=D):
    rng = np.random.default_rng(seed)
    if kind == "one_hot":
        return OneHotRNNClassifier(V, h, rng=rng, dtype=dtype)
    return EmbeddingRNNClassifier(V, d, h, rng=rng, dtype=dtype)


def train_abcde(kind: str, seed: int = 0, dtype=np.float64):
    model = make_model(kind, seed=seed, dtype=dtype)
    X, y = next_letter_dataset(LETTERS, repeats=REPEATS)
    start = time.perf_counter()
    history = train(model, X, y, EPOCHS, BATCH, Adam(LR), np.random.default_rng(seed))
    return model, history, time.perf_counter() - start


@pytest.fixture(scope="module")
def trained():
    """Both models trained once on "abcde" and shared by the tests that need them."""
    return {kind: train_abcde(kind) for kind in ("one_hot", "embedding")}


# --------------------------------------------------------------------------------------
# one_hot and the dataset
# --------------------------------------------------------------------------------------
def test_one_hot_values_and_dtype():
    codes = one_hot(np.array([[0, 2], [4, 2]]), 5, np.float32)
    assert codes.shape == (2, 2, 5) and codes.dtype == np.float32
    np.testing.assert_array_equal(codes.sum(-1), 1)
    np.testing.assert_array_equal(codes.argmax(-1), [[0, 2], [4, 2]])
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        one_hot(np.array([5]), 5)
    with pytest.raises(TypeError):
        one_hot(np.array([0.5]), 5)


def test_one_hot_matmul_equals_embedding_lookup_values_and_gradients():
    rng = np.random.default_rng(0)
    V_, D_ = 6, 3
    ids = np.array([[1, 4, 1], [0, 1, 4]])  # repeated ids on purpose
    emb = Embedding(V_, D_, rng=rng)
    W = emb.params["W"]
    codes = one_hot(ids, V_)
    # Values: multiplying by a one-hot row selects that row.
    np.testing.assert_allclose(codes @ W, emb.forward(ids), rtol=0, atol=0)
    # Gradients: the dense path's dW = codes^T @ dout (summed over all positions) equals
    # the embedding's scatter-add.
    dout = rng.standard_normal(ids.shape + (D_,))
    dW_dense = codes.reshape(-1, V_).T @ dout.reshape(-1, D_)
    emb.backward(dout)
    np.testing.assert_allclose(emb.grads["W"], dW_dense, rtol=1e-13, atol=1e-15)


def test_next_letter_dataset_abcde():
    X, y = next_letter_dataset()
    assert X.shape == (5, 1) and y.shape == (5,)
    pairs = ["".join(LETTERS[i] for i in x) + ">" + LETTERS[t] for x, t in zip(X, y)]
    assert pairs == ["a>b", "b>c", "c>d", "d>e", "e>a"]
    Xr, yr = next_letter_dataset(repeats=3)
    assert Xr.shape == (15, 1) and np.array_equal(yr[:5], yr[10:])


def test_next_letter_dataset_previous_four():
    X, y = next_letter_dataset(ALPHABET, window=4)
    assert X.shape == (26, 4) and X.dtype == np.int64
    assert "".join(ALPHABET[i] for i in X[0]) + ALPHABET[y[0]] == "abcde"
    assert "".join(ALPHABET[i] for i in X[-1]) + ALPHABET[y[-1]] == "zabcd"
    Xn, yn = next_letter_dataset(ALPHABET, window=4, cyclic=False)
    assert Xn.shape == (22, 4) and ALPHABET[yn[-1]] == "z"
    with pytest.raises(ValueError, match="window"):
        next_letter_dataset("abc", window=3, cyclic=False)


def test_encode_names_unknown_letters():
    np.testing.assert_array_equal(encode("eab", LETTERS), [4, 0, 1])
    with pytest.raises(ValueError, match="'z'.*'abcde'"):
        encode("az", LETTERS)


# --------------------------------------------------------------------------------------
# Models: gradients, accumulation, dtype, parameter counts
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["one_hot", "embedding"])
def test_model_gradcheck(kind):
    model = make_model(kind, V=5, seed=1)
    X = np.array([[0, 1, 1], [4, 4, 2], [3, 0, 4], [1, 1, 1]])
    y = np.array([2, 0, 1, 2])
    for p in model.params.values():  # move off the initial zero biases
        p += np.random.default_rng(2).standard_normal(p.shape) * 0.1
    model.zero_grad()
    model.loss(X, y)
    model.backward()
    errors = check_gradients(lambda: model.loss(X, y), model.params, model.grads)
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("kind", ["one_hot", "embedding"])
def test_model_gradients_accumulate(kind):
    model = make_model(kind)
    X, y = next_letter_dataset(LETTERS)
    model.zero_grad()
    model.loss(X, y)
    model.backward()
    once = {k: g.copy() for k, g in model.grads.items()}
    model.loss(X, y)
    model.backward()
    for name, g in model.grads.items():
        np.testing.assert_allclose(g, 2 * once[name], rtol=1e-12, atol=1e-15)


def test_model_params_are_the_layers_arrays():
    model = make_model("embedding")
    assert set(model.params) == {"embed.W", "rnn.Wx", "rnn.Wh", "rnn.b", "dense.W", "dense.b"}
    assert model.params["embed.W"] is model.layers["embed"].params["W"]
    assert set(make_model("one_hot").params) == {"rnn.Wx", "rnn.Wh", "rnn.b", "dense.W",
                                                  "dense.b"}


def test_one_hot_model_accepts_one_hot_input():
    model = make_model("one_hot")
    X, _ = next_letter_dataset(LETTERS)
    np.testing.assert_array_equal(model.forward(X), model.forward(one_hot(X, 5)))


def test_parameter_counts():
    # Source sizes: V=5, H=3, D=2.
    assert make_model("one_hot").parameter_count() == 5 * 3 + 3 * 3 + 3 + 3 * 5 + 5 == 47
    assert make_model("embedding").parameter_count() == 5 * 2 + 2 * 3 + 3 * 3 + 3 + 3 * 5 + 5
    rows = parameter_count_table([5, 26, 1000], D=2, H=3)
    for row in rows[:2]:
        assert row["one_hot"] == make_model("one_hot", V=row["V"]).parameter_count()
        assert row["embedding"] == make_model("embedding", V=row["V"]).parameter_count()
    big = rows[-1]
    assert big["one_hot_input"] == 3000 and big["embedding_input"] == 2006
    assert big["ratio"] == pytest.approx(3000 / 2006)


def test_float32_model_stays_float32():
    model, history, _ = train_abcde("embedding", dtype=np.float32)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(g.dtype == np.float32 for g in model.grads.values())
    X, _ = next_letter_dataset(LETTERS)
    assert model.forward(X).dtype == np.float32
    assert history["accuracy"][-1] == 1.0


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["one_hot", "embedding"])
def test_abcde_reaches_full_accuracy_within_seconds(trained, kind):
    model, history, seconds = trained[kind]
    assert len(history["loss"]) == len(history["accuracy"]) == EPOCHS
    assert history["accuracy"][-1] == 1.0
    assert epochs_to_accuracy(history) is not None
    assert history["loss"][-1] < history["loss"][0]
    assert seconds < 10.0  # about 0.15 s on one core; generous for a shared machine
    assert [predict_next(model, ch) for ch in LETTERS] == list("bcdea")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_abcde_robust_to_seed(seed):
    for kind in ("one_hot", "embedding"):
        _, history, _ = train_abcde(kind, seed=seed)
        assert history["accuracy"][-1] == 1.0, (kind, seed)


@pytest.mark.parametrize("kind", ["one_hot", "embedding"])
def test_previous_four_letters_26(kind):
    model = make_model(kind, V=26, h=16, d=4)
    X, y = next_letter_dataset(ALPHABET, window=4, repeats=4)
    history = train(model, X, y, 40, BATCH, Adam(LR), np.random.default_rng(0))
    assert history["accuracy"][-1] == 1.0
    assert predict_next(model, "wxyz") == "a"
    assert predict_next(model, "hijk") == "l"


def test_train_history_reports_whole_set_after_each_epoch():
    model = make_model("one_hot")
    X, y = next_letter_dataset(LETTERS, repeats=2)
    history = train(model, X, y, 3, 4, Adam(LR), np.random.default_rng(0))
    assert set(history) == {"loss", "accuracy"}
    assert history["loss"][-1] == pytest.approx(model.loss(X, y))
    assert history["accuracy"][-1] == accuracy(model, X, y)


# --------------------------------------------------------------------------------------
# Saving, loading, predicting
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["one_hot", "embedding"])
def test_save_load_round_trip(trained, kind, tmp_path):
    model = trained[kind][0]
    written = save_weights(model, tmp_path / "weights")
    assert written.endswith(".npz")
    fresh = make_model(kind, seed=99)
    X, _ = next_letter_dataset(LETTERS)
    assert not np.array_equal(fresh.predict(X), model.predict(X))
    arrays_before = {k: id(p) for k, p in fresh.params.items()}
    load_weights(fresh, tmp_path / "weights")  # the ".npz" is found without being given
    for name, p in model.params.items():
        np.testing.assert_array_equal(fresh.params[name], p)
    # Loaded in place: layers and model.params still share the same arrays.
    assert {k: id(p) for k, p in fresh.params.items()} == arrays_before
    assert fresh.params["dense.W"] is fresh.layers["dense"].params["W"]
    assert [predict_next(fresh, ch) for ch in LETTERS] == list("bcdea")


def test_load_errors_name_the_mismatch(trained, tmp_path):
    path = save_weights(trained["embedding"][0], tmp_path / "emb.npz")
    wrong_size = make_model("embedding", V=26)
    before = {k: p.copy() for k, p in wrong_size.params.items()}
    with pytest.raises(ValueError, match=r"embed\.W: the file has shape \(5, 2\), the model "
                                         r"\(26, 2\)"):
        load_weights(wrong_size, path)
    for name, p in wrong_size.params.items():  # nothing was half-loaded
        np.testing.assert_array_equal(p, before[name])
    with pytest.raises(ValueError, match=r"not in the model: \['embed\.W'\]"):
        load_weights(make_model("one_hot"), path)
    path_oh = save_weights(trained["one_hot"][0], tmp_path / "oh.npz")
    with pytest.raises(ValueError, match=r"missing from the file: \['embed\.W'\]"):
        load_weights(make_model("embedding"), path_oh)


def test_predict_next_rejects_unknown_letters(trained):
    model = trained["embedding"][0]
    with pytest.raises(ValueError, match="'z'.*'abcde'"):
        predict_next(model, "z")
    with pytest.raises(ValueError, match="at least one letter"):
        predict_next(model, "")
    assert predict_next(model, "abcde") in LETTERS  # longer input is fine: the RNN unrolls
