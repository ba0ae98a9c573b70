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
    with pytest.raises(CheckFailure, match=r"shape is \(2, 1\)"):
        check_close(np.ones((2, 1)), np.ones((1, 2)))
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
