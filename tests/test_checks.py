"""The notebook test helpers: failures a student can understand."""
import numpy as np
import pytest

from grader.checks import CheckFailure, check_close, check_equal, check_raises, check_shape


def test_passes_silently():
    check_close([1.0, 2.0], np.array([1.0, 2.0]))
    check_shape(np.zeros((2, 3)), (2, 3))
    check_equal((2,), (2,))


def test_none_means_a_missing_return():
    with pytest.raises(CheckFailure, match="return"):
        check_close(None, [1.0], "h")


def test_named_mistake_is_reported():
    with pytest.raises(CheckFailure, match="you forgot the tanh"):
        check_close([0.6, 0.5], np.tanh([0.6, 0.5]), "h", mistakes={"you forgot the tanh": [0.6, 0.5]})


def test_shape_and_values_messages():
    with pytest.raises(CheckFailure, match=r"transposed.*\(2, 1\) instead of \(1, 2\)"):
        check_close(np.ones((2, 1)), np.ones((1, 2)))
    with pytest.raises(CheckFailure, match=r"shape is \(3, 2\)"):
        check_close(np.arange(6.0).reshape(3, 2), np.ones((1, 6)))
    with pytest.raises(CheckFailure, match="largest difference"):
        check_close([1.0, 2.5], [1.0, 2.0])
    with pytest.raises(CheckFailure, match="NaN"):
        check_close([np.nan], [1.0])


def test_check_raises():
    check_raises(lambda: 1 / 0, (), ZeroDivisionError)
    with pytest.raises(CheckFailure, match="returned normally"):
        check_raises(lambda: 1, (), ValueError)


def test_helpers_survive_a_replaced_numpy_comparison(monkeypatch):
    # A notebook that swaps numpy's comparison for one that always agrees must not pass.
    monkeypatch.setattr(np, "isclose", lambda *a, **k: np.ones(np.shape(a[0]), bool))
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    with pytest.raises(CheckFailure):
        check_close([1.0], [2.0])


def _message(check, *args, **kwargs) -> str:
    with pytest.raises(CheckFailure) as info:
        check(*args, **kwargs)
    return str(info.value)


def test_numbers_read_as_a_student_writes_them():
    """No ``np.int64(1)`` or ``np.float64(...)`` reprs (NumPy 2) in any message."""
    messages = [
        _message(check_equal, np.int64(3), 2, "n"),
        _message(check_equal, (np.int64(2), np.intp(3)), (2, 4), "shape"),
        _message(check_equal, [np.float64(0.5)], [0.25], "p"),
        _message(check_raises, lambda *a: 1, (np.zeros(2), (np.int64(2),)), ValueError, "f"),
        _message(check_close, np.float64(0.5), np.float64(0.25), "p"),
        _message(check_close, np.arange(6.0).reshape(2, 3), np.ones((2, 3)), "h"),
    ]
    assert not any("np." in m or "int64" in m or "float64" in m for m in messages), messages
    assert messages[0] == "n: expected 2, got 3."
    assert messages[1] == "shape: expected (2, 4), got (2, 3)."
    assert messages[3].startswith("f([0. 0.], (2,)) should raise ValueError")
    assert "The difference is 0.25." in messages[4]
    assert "largest difference is 4 at index (1, 2)." in messages[5]


def test_array_rows_line_up_under_their_label():
    lines = _message(check_close, np.arange(6.0).reshape(2, 3), np.ones((2, 3)), "h").splitlines()
    assert lines[1:5] == ["  expected: [[1. 1. 1.]",
                          "             [1. 1. 1.]]",
                          "  got:      [[0. 1. 2.]",
                          "             [3. 4. 5.]]"]


def test_float32_answers_are_named():
    """The dtype rule: float64 answers; float32 fails by name unless expected is float32 too."""
    message = _message(check_close, np.float32([0.1, 0.2]), [0.1, 0.2], "h")
    assert "h is float32" in message and "float64" in message and "agree" in message
    message = _message(check_close, np.float32([0.5, 0.2]), [0.1, 0.2], "h")
    assert "float32" in message and "differ" in message and "expected:" in message
    with pytest.raises(CheckFailure, match="float16"):
        check_close(np.float16(0.5), 0.5)
    check_close(np.float32([0.1, 0.2]), np.float32([0.1, 0.2]), rtol=0, atol=0)
    check_close(np.array([1, 2]), [1.0, 2.0])                 # integers are fine
    check_close([np.float64(0.5)], [0.5])


def test_axes_in_another_order_are_named():
    tnh = np.arange(12.0).reshape(2, 3, 2)                    # (T, N, H) for N=3, T=2, H=2
    message = _message(check_shape, tnh, (3, 2, 2), "states", axes=("N", "T", "H"))
    assert "your axes are (T, N, H) = (2, 3, 2)" in message
    assert "expected order is (N, T, H) = (3, 2, 2)" in message
    message = _message(check_close, tnh, tnh.transpose(1, 0, 2), "states", axes=("N", "T", "H"))
    assert "numbers are right" in message and "(T, N, H)" in message
    square = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert "transposed" in _message(check_close, square.T, square, "W")


def test_mistakes_any_question_can_hide_are_named():
    expected = np.array([[0.2, 0.8], [0.5, 0.5]])
    assert "sign is flipped" in _message(check_close, -expected, expected, "g")
    assert "sign is flipped" in _message(check_close, -2.5, 2.5, "g")
    assert "2 times the expected" in _message(check_close, 2 * expected, expected, "g")
    assert "every value is zero" in _message(check_close, 0 * expected, expected, "g")
    assert "normalise each row" in _message(check_close, expected * [[2.0], [3.0]], expected, "A")
    # a scalar that is merely wrong is not "a factor"
    assert "times the expected" not in _message(check_close, 3.0, 2.0, "x")
    # a named mistake wins over a diagnosis, and carries no hint after it
    message = _message(check_close, -expected, expected, "g", mistakes={"you swapped p and y": -expected},
                       hint="look at the sign")
    assert "you swapped p and y" in message and "Hint" not in message


def test_hints_follow_nan_none_and_diagnosed_failures():
    assert "Hint: use logs" in _message(check_close, [np.nan], [1.0], "p", hint="use logs")
    assert "Hint: keep h" in _message(check_close, None, [1.0], "self.h", hint="keep h")
    assert "Hint: add" in _message(check_close, [0.0, 0.0], [1.0, 2.0], "g", hint="add")
    assert "logarithm of 0" in _message(check_close, -np.inf, -3.0, "log p")


def test_missing_and_unexpected_names_are_listed():
    message = _message(check_equal, ["W", "c"], ["W", "b"], "keys")
    assert "Missing: ['b']." in message and "Not expected: ['c']." in message


def test_the_dtype_rule_is_the_same_for_hidden_tests():
    """Hidden tests compare in the grader's process a copy of the kernel's answer: its dtype
    crosses the wire unchanged, so a float32 answer is named there as in the notebook."""
    from grader.grading import wire

    for answer in (np.float32([0.5, 0.25]), np.float32(0.5)):
        copy = wire.decode(wire.encode(answer))
        assert copy.dtype == np.float32
        assert "float32" in _message(check_close, copy, np.float64(answer), "hidden")
