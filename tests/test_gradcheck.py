"""The gradient checker is an oracle: it must pass correct gradients and catch wrong ones."""
import numpy as np
import pytest

from grader.gradcheck import TOLERANCE, check_gradients, check_layer, numerical_gradient, relative_error
from grader.reference.layer import Layer


class Scale(Layer):
    """y = x * w (elementwise); used to test the checker itself."""

    def __init__(self, w, wrong=False):
        super().__init__()
        self.add_param("w", w)
        self.wrong = wrong

    def forward(self, x):
        self.x = x
        return x * self.params["w"]

    def backward(self, dout):
        self.grads["w"] += (dout * self.x).sum(axis=0) * (2.0 if self.wrong else 1.0)
        return dout * self.params["w"]


def test_numerical_gradient_of_a_quadratic():
    x = np.array([1.0, -2.0, 3.0])
    g = numerical_gradient(lambda: float(np.sum(x ** 2)), x)
    np.testing.assert_allclose(g, 2 * x, rtol=1e-8)


def test_correct_layer_passes_and_wrong_layer_fails():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    good = check_layer(Scale(rng.standard_normal(4)), x)
    assert max(good.values()) < TOLERANCE
    bad = check_layer(Scale(rng.standard_normal(4), wrong=True), x)
    assert bad["w"] > 0.1 and bad["input0"] < TOLERANCE


def test_float32_is_refused():
    with pytest.raises(TypeError, match="float64"):
        numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))


def test_relative_error_edge_cases():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="shape"):
        relative_error(np.zeros(2), np.zeros(3))
    with pytest.raises(KeyError):
        check_gradients(lambda: 0.0, {"a": np.zeros(1)}, {})
