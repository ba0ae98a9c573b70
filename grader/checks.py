"""Assertion helpers for the notebooks' test cells.

Every failure message is written for a student: what was checked, what was expected,
what came back, and, where a classic mistake is recognised, its name.  The helpers
are shipped to students (the public tests use them); nothing here knows any solution.

``check_close`` accepts ``mistakes={"you forgot the tanh": value_that_mistake_gives}``:
when the answer matches one of those values instead of the expected one, the message
names the mistake rather than only printing numbers.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as _np

# Bound once, when the test helpers are imported (before any student cell runs), so
# that a notebook which later replaces numpy's comparison functions cannot change what
# these checks compute.
_asarray = _np.asarray
_isclose = _np.isclose
_isfinite = _np.isfinite
_abs = _np.abs
_argmax = _np.argmax
_unravel = _np.unravel_index
_array2string = _np.array2string
_generic = _np.generic
_ndarray = _np.ndarray

RTOL = 1e-6
ATOL = 1e-8


class CheckFailure(AssertionError):
    """A test failed; the message is meant for the student."""


def _fmt(x: Any, prefix: str = "") -> str:
    """An array as NumPy prints it (6 digits, long arrays elided), rows aligned after ``prefix``."""
    arr = _asarray(x)
    if arr.dtype == object:
        return prefix + repr(_plain(arr.tolist()))
    return prefix + _array2string(arr, precision=6, threshold=20, edgeitems=3,
                                  suppress_small=True, prefix=prefix)


def _plain(x: Any) -> Any:
    """``x`` with NumPy scalars turned into Python numbers, inside tuples, lists and dicts too.

    NumPy 2 writes ``np.int64(1)`` for ``repr(np.int64(1))``: a student's ``return
    a.shape[0]`` then reads as if it were wrong.
    """
    if isinstance(x, _generic):
        return x.item()
    if type(x) in (tuple, list):
        return type(x)(map(_plain, x))
    if type(x) is dict:
        return {_plain(k): _plain(v) for k, v in x.items()}
    return x


def _show(x: Any, limit: int = 200) -> str:
    """A value as a student would write it: arrays as NumPy prints them, plain numbers."""
    text = _fmt(x) if isinstance(x, _ndarray) else repr(_plain(x))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _call(name: str, args: tuple) -> str:
    return f"{name}({', '.join(_show(a, 60) for a in args)})"


def _as_numeric(value: Any, name: str) -> _np.ndarray:
    if value is None:
        raise CheckFailure(f"{name}: your code returned None. Did you forget a `return` "
                           "statement, or leave `raise NotImplementedError()` in place?")
    try:
        arr = _asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailure(f"{name}: expected numbers, got {type(value).__name__}: "
                           f"{_show(value)}") from None
    return arr


def check_shape(value: Any, expected_shape: tuple, name: str = "result") -> None:
    """Fail unless ``value`` is array-like with exactly ``expected_shape``."""
    arr = _as_numeric(value, name)
    if arr.shape != tuple(expected_shape):
        raise CheckFailure(
            f"{name}: expected shape {tuple(expected_shape)}, got {arr.shape}. "
            "Check which axis is time, which is the batch, and whether a vector should be a "
            "row (1, n), a column (n, 1) or plain (n,).")


def check_close(value: Any, expected: Any, name: str = "result", *, rtol: float = RTOL,
                atol: float = ATOL, mistakes: Mapping[str, Any] | None = None,
                hint: str = "") -> None:
    """Fail unless ``value`` equals ``expected`` within tolerances (shape included)."""
    expected_arr = _asarray(expected, dtype=float)
    arr = _as_numeric(value, name)
    if arr.shape != expected_arr.shape:
        if arr.size == expected_arr.size:
            raise CheckFailure(
                f"{name}: the numbers may be right but the shape is {arr.shape}, expected "
                f"{expected_arr.shape}. Reshape, or check the order of the axes.")
        check_shape(arr, expected_arr.shape, name)
    if not _isfinite(arr).all():
        raise CheckFailure(f"{name}: contains NaN or infinity: {_fmt(arr)}. "
                           "Look for an overflow (exp of a large number?) or a division by zero.")
    ok = _isclose(arr, expected_arr, rtol=rtol, atol=atol)
    if ok.all():
        return
    for mistake, mistaken in (mistakes or {}).items():
        mistaken_arr = _asarray(mistaken, dtype=float)
        if mistaken_arr.shape == arr.shape and _isclose(arr, mistaken_arr, rtol=rtol,
                                                         atol=atol).all():
            raise CheckFailure(f"{name} is wrong: it looks like {mistake}.\n"
                               f"{_fmt(expected_arr, '  expected: ')}\n"
                               f"{_fmt(arr, '  got:      ')}")
    diff = _abs(arr - expected_arr)
    message = (f"{name} is wrong.\n{_fmt(expected_arr, '  expected: ')}\n"
               f"{_fmt(arr, '  got:      ')}\n")
    if diff.ndim:
        where = tuple(int(i) for i in _unravel(int(_argmax(diff)), diff.shape))
        message += (f"  {int((~ok).sum())} of {ok.size} values differ; the largest difference "
                    f"is {float(diff.max()):.3g} at index {where}.")
    else:
        message += f"  The difference is {float(diff):.3g}."
    if hint:
        message += f"\n  Hint: {hint}"
    raise CheckFailure(message)


def check_raises(func: Callable, args: tuple, exception: type[BaseException],
                 name: str = "your function", why: str = "") -> None:
    """Fail unless ``func(*args)`` raises ``exception``."""
    try:
        func(*args)
    except exception:
        return
    except NotImplementedError:
        raise CheckFailure(f"{name} is not implemented yet.") from None
    except Exception as exc:  # the wrong error is still a clear failure
        raise CheckFailure(f"{_call(name, args)} should raise {exception.__name__}, "
                           f"but raised {type(exc).__name__}: {exc}") from None
    raise CheckFailure(f"{_call(name, args)} should raise {exception.__name__}"
                       f"{': ' + why if why else ''}, but returned normally.")


def check_equal(value: Any, expected: Any, name: str = "result", hint: str = "") -> None:
    """Exact equality for non-numeric answers (shapes, strings, integers)."""
    if value is None and expected is not None:
        _as_numeric(value, name)
    if value != expected:
        message = f"{name}: expected {_show(expected)}, got {_show(value)}."
        if hint:
            message += f"\n  Hint: {hint}"
        raise CheckFailure(message)


def random_shapes(rng: _np.random.Generator, n: int, low: int = 1, high: int = 6) -> list[int]:
    """``n`` random sizes in ``[low, high]`` for the hidden tests' random cases."""
    return [int(s) for s in rng.integers(low, high + 1, size=n)]
