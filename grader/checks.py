"""Assertion helpers for the notebooks' test cells.

Every failure message is written for a student: what was checked, what was expected,
what came back, and, where a classic mistake is recognised, its name.  The helpers
are shipped to students (the public tests use them); nothing here knows any solution.

``check_close`` accepts ``mistakes={"you forgot the tanh": value_that_mistake_gives}``:
when the answer matches one of those values instead of the expected one, the message
names the mistake rather than only printing numbers.  Without a match it still looks for
the mistakes any question can hide (:func:`_diagnose`): the right numbers along axes in
another order, a constant factor or a flipped sign, all zeros, rows that are not
normalised.  ``axes=("N", "T", "H")`` names the axes, so that a ``(T, N, H)`` answer is
called that.

Messages speak the notebook's language (:mod:`grader.i18n`): the templates below and the
names, hints and mistakes a test cell passes are keyed by their English text.

The dtype rule, the same in every notebook and in the hidden tests: answers are float64
(NumPy's default).  A float32 or float16 answer fails with a message that says so, unless
the expected value itself has that dtype.
"""
from __future__ import annotations

from itertools import permutations
from typing import Any, Callable, Mapping, Sequence
from unicodedata import east_asian_width as _east_asian_width

import numpy as _np

from grader.i18n import t as _t, text as _text

# Bound once, when the test helpers are imported (before any student cell runs), so
# that a notebook which later replaces numpy's comparison functions cannot change what
# these checks compute.
_asarray = _np.asarray
_isclose = _np.isclose
_isfinite = _np.isfinite
_isnan = _np.isnan
_ones = _np.ones
_INF = float("inf")
_abs = _np.abs
_argmax = _np.argmax
_unravel = _np.unravel_index
_array2string = _np.array2string
_generic = _np.generic
_ndarray = _np.ndarray

RTOL = 1e-6
ATOL = 1e-8


class CheckFailure(AssertionError):
    """A test failed; the message is meant for the student, in the notebook's language (a test
    cell's own ``raise CheckFailure(f"...")`` is translated like its names and hints).

    Besides the message, a failure says what was recognised, for the class analytics and for
    feedback that must not quote a hidden test's expected values: ``label`` (the check's
    ``name``), ``kind`` (``"named"`` when a ``mistakes=`` entry matched, else one of
    :data:`KINDS`) and ``mistake`` (the matched entry's name, as the test cell wrote it:
    the same in every language).
    """

    def __init__(self, *args: object, kind: str = "", mistake: str = "", label: str = "",
                 got: Any = None) -> None:
        super().__init__(*((_text(args[0]),) + args[1:] if args else ()))
        self.kind, self.mistake, self.label = kind, mistake, label
        self.got = got   # the wrong answer itself (the grader digests it; never shown)


# What a failure can be recognised as without a named mistake (``CheckFailure.kind``).
KINDS = {
    "unanswered": "not answered yet", "none": "returned None", "type": "not numbers", "shape": "a wrong shape",
    "axes": "axes in another order", "float32": "float32 instead of float64",
    "nonfinite": "NaN or infinity", "zeros": "all zeros", "sign": "the sign flipped",
    "factor": "off by a constant factor", "normalise": "rows not normalised",
    "raises": "an error raised or not raised", "values": "wrong values (not recognised)",
}


def _fmt(x: Any, prefix: str = "") -> str:
    """An array as NumPy prints it (6 digits, long arrays elided), rows aligned after ``prefix``."""
    arr = _asarray(x)
    if arr.dtype == object:
        return prefix + repr(_plain(arr.tolist()))
    # rows align under the first in a terminal: a Chinese label is two columns a character
    indent = " " * sum(2 if _east_asian_width(c) in "WF" else 1 for c in prefix)
    return prefix + _array2string(arr, precision=6, threshold=20, edgeitems=3,
                                  suppress_small=True, prefix=indent)


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


def _same(a: Any, b: Any) -> bool:
    """``a == b`` as plain values; False when they cannot be compared that way (arrays)."""
    try:
        return bool(_plain(a) == _plain(b))
    except (TypeError, ValueError):
        return False


def _show(x: Any, limit: int = 200) -> str:
    """A value as a student would write it: arrays as NumPy prints them, plain numbers."""
    text = _fmt(x) if isinstance(x, _ndarray) else repr(_plain(x))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _EXPECTED() -> str:
    """The label before the expected value: the values line up under it in either language."""
    return "  " + _t("expected: ")


def _GOT() -> str:
    return "  " + _t("got:      ")


def _hint(hint: str) -> str:
    """The hint line; ``python -m grader check`` finds it by its label (``Hint:``/``提示：``)."""
    return _t("Hint: {hint}", hint=hint)


def _call(name: str, args: tuple) -> str:
    return f"{name}({', '.join(_show(a, 60) for a in args)})"


def _as_numeric(value: Any, name: str, label: str = "") -> _np.ndarray:
    if value is None:
        raise CheckFailure(_t("{name}: your code returned None. Did you forget a `return` "
                              "statement, or leave `raise NotImplementedError()` in place?",
                              name=name), kind="none", label=label or name)
    try:
        arr = _asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise CheckFailure(_t("{name}: expected numbers, got {kind}: {value}", name=name,
                              kind=type(value).__name__, value=_show(value)),
                           kind="type", label=label or name) from None
    return arr


def _low_precision(value: Any) -> Any:
    """The dtype of ``value`` when it is a float type narrower than float64, else None."""
    try:
        dtype = _asarray(value).dtype
    except (TypeError, ValueError):
        return None
    return dtype if dtype.kind in "fc" and dtype.itemsize < (8 if dtype.kind == "f" else 16) \
        else None


def _reordered(got: tuple, expected: tuple) -> list[tuple[int, ...]]:
    """Axis orders ``p`` with ``got[p[i]] == expected[i]``, fewest axes moved first."""
    if len(got) != len(expected) or len(got) > 5 or sorted(got) != sorted(expected):
        return []
    orders = [p for p in permutations(range(len(got)))
              if p != tuple(range(len(got))) and all(got[j] == e for j, e in zip(p, expected))]
    return sorted(orders, key=lambda p: sum(i != j for i, j in enumerate(p)))


def _axes_sentence(order: tuple[int, ...], got: tuple, expected: tuple,
                   axes: Sequence[str] | None) -> str:
    """How the axes of an answer of shape ``got`` map onto the expected ones, in words."""
    if axes and len(axes) == len(expected):
        yours = [""] * len(order)
        for i, j in enumerate(order):
            yours[j] = axes[i]
        return _t("your axes are ({yours}) = {got}, but the expected order is "
                  "({axes}) = {expected}", yours=", ".join(yours), got=got,
                  axes=", ".join(axes), expected=expected)
    shapes = _t(" ({got} instead of {expected})", got=got, expected=expected) \
        if got != expected else ""
    if len(order) == 2:
        return _t("the rows and columns are swapped (transposed){shapes}", shapes=shapes)
    return _t("the axes are in another order{shapes}", shapes=shapes)


def check_shape(value: Any, expected_shape: tuple, name: str = "result",
                axes: Sequence[str] | None = None) -> None:
    """Fail unless ``value`` is array-like with exactly ``expected_shape``.

    ``axes`` names the expected axes, e.g. ``("N", "T", "H")``, for the message.
    """
    label, name = name, _text(name)
    arr = _as_numeric(value, name, label)
    expected_shape = tuple(expected_shape)
    if arr.shape != expected_shape:
        orders = _reordered(arr.shape, expected_shape)
        if orders and axes:
            raise CheckFailure(_t(
                "{name}: expected shape {expected}, got {got}: the axes are in the wrong "
                "order: {axes}. Stack or transpose so that the axes come in the expected order.",
                name=name, expected=expected_shape, got=arr.shape,
                axes=_axes_sentence(orders[0], arr.shape, expected_shape, axes)),
                kind="axes", label=label)
        raise CheckFailure(_t(
            "{name}: expected shape {expected}, got {got}. Check which axis is time, which is "
            "the batch, and whether a vector should be a row (1, n), a column (n, 1) or plain "
            "(n,).", name=name, expected=expected_shape, got=arr.shape), kind="shape", label=label)


def _close(a: _np.ndarray, b: _np.ndarray, rtol: float, atol: float) -> bool:
    return a.shape == b.shape and bool(_isclose(a, b, rtol=rtol, atol=atol).all())


def _diagnose(arr: _np.ndarray, expected: _np.ndarray, rtol: float, atol: float,
              axes: Sequence[str] | None = None) -> str:
    """The name of a mistake that any question can hide, recognised from the numbers alone.

    ``arr`` and ``expected`` have the same shape and differ; "" when nothing is recognised.
    """
    for order in _reordered(arr.shape, expected.shape):
        if _close(arr.transpose(order), expected, rtol, atol):
            return "axes", _axes_sentence(order, arr.shape, expected.shape, axes)
    if expected.any() and not arr.any():
        return "zeros", _t("every value is zero: it was never computed, or never added (+=) into the "
                  "array you return")
    norm = float((expected * expected).sum())
    if norm > 0 and (expected.size > 1 or _close(arr, -expected, rtol, atol)):
        factor = float((arr * expected).sum()) / norm
        if factor != 0 and _close(arr, factor * expected, rtol, atol):
            if _close(_asarray(factor), _asarray(-1.0), 1e-6, 0.0):
                return "sign", _t("the sign is flipped: every value has the opposite sign")
            return "factor", _t("every value is {factor:.6g} times the expected one: a factor is missing "
                      "or extra (a sum instead of a mean? a division forgotten?)", factor=factor)
    if expected.ndim and expected.shape[-1] > 1 and (expected >= 0).all() and (arr >= 0).all():
        rows = expected.sum(axis=-1)
        sums = arr.sum(axis=-1, keepdims=True)
        if _close(rows, _ones(rows.shape), 1e-6, 1e-9) and (sums > 0).all() \
                and _close(arr / sums, expected, rtol, atol):
            return "normalise", _t("each row should be a probability distribution summing to 1, but yours "
                      "sum to other numbers: the rows are right up to their sum, so normalise "
                      "each row by dividing by its sum")
    return "", ""


def _not_finite(arr: _np.ndarray) -> str:
    """Where NaN or infinities usually come from, for the kinds ``arr`` holds."""
    if _isnan(arr).any():
        return _t("NaN comes from 0/0, inf - inf, 0 * log(0) or the logarithm of a negative "
                  "number, often after an overflow (exp of a large number?).")
    if (arr == -_INF).any() and not (arr == _INF).any():
        return _t("-inf is the logarithm of 0: look for a probability that underflowed to 0 "
                  "or an impossible event, or for an overflow.")
    return _t("Look for an overflow (exp of a large number?) or a division by zero.")


def check_close(value: Any, expected: Any, name: str = "result", *, rtol: float = RTOL,
                atol: float = ATOL, mistakes: Mapping[str, Any] | None = None,
                hint: str = "", axes: Sequence[str] | None = None) -> None:
    """Fail unless ``value`` equals ``expected`` within tolerances (shape and dtype included).

    ``mistakes`` maps the name of a classic mistake to the value it gives; ``axes`` names
    the expected axes (``("N", "T", "H")``) so that an answer with its axes in another
    order is called that.  A float32 (or float16) answer fails, unless ``expected`` has
    that dtype too: the tolerances are float64's.
    """
    label, (name, hint) = name, (_text(name), _text(hint))
    expected_arr = _asarray(expected, dtype=float)
    low = _low_precision(value) if value is not None else None
    try:
        arr = _as_numeric(value, name, label)
    except CheckFailure as failure:
        raise CheckFailure(f"{failure}\n  {_hint(hint)}" if hint else str(failure),
                           kind=failure.kind, label=label) from None
    if arr.shape != expected_arr.shape:
        orders = _reordered(arr.shape, expected_arr.shape)
        for order in orders:
            if _close(arr.transpose(order), expected_arr, rtol, atol):
                raise CheckFailure(_t(
                    "{name}: the numbers are right but the axes are in the wrong order: "
                    "{axes}. Stack or transpose so that the axes come in the expected order.",
                    name=name, axes=_axes_sentence(order, arr.shape, expected_arr.shape, axes)),
                    kind="axes", label=label)
        if arr.size == expected_arr.size:
            raise CheckFailure(_t(
                "{name}: the numbers may be right but the shape is {got}, expected "
                "{expected}. Reshape, or check the order of the axes.",
                name=name, got=arr.shape, expected=expected_arr.shape), kind="shape", label=label)
        check_shape(arr, expected_arr.shape, label, axes)
    if low is not None and _low_precision(expected) is None:
        agree = bool(_isclose(arr, expected_arr, rtol=1e-4, atol=1e-6).all())
        raise CheckFailure(
            _t("{name} is {dtype} (single precision), but this course works in float64, "
               "NumPy's default: the tests compare with tolerances meant for float64. Find "
               "where float32 enters (dtype=np.float32, .astype(np.float32), numbers that were "
               "float32 to begin with) and keep every array float64. ", name=name, dtype=low)
            + (_t("Apart from that, your values agree with the expected ones to float32 "
                  "precision.") if agree else
               _t("Your values also differ from the expected ones:"))
            + ("" if agree else f"\n{_fmt(expected_arr, _EXPECTED())}\n"
                                f"{_fmt(arr, _GOT())}"), kind="float32", label=label)
    if not _isfinite(arr).all():
        raise CheckFailure(_t("{name}: contains NaN or infinity: {values}. {why}", name=name,
                              values=_fmt(arr), why=_not_finite(arr))
                           + (f"\n  {_hint(hint)}" if hint else ""), kind="nonfinite", label=label)
    ok = _isclose(arr, expected_arr, rtol=rtol, atol=atol)
    if ok.all():
        return
    kind, diagnosis, named = "", "", ""
    for mistake, mistaken in (mistakes or {}).items():
        mistaken_arr = _asarray(mistaken, dtype=float)
        if _close(arr, mistaken_arr, rtol, atol):
            kind, diagnosis, named = "named", _text(mistake), mistake
            break
    # a mistake the test names is precise: no hint after it
    if not named:
        kind, diagnosis = _diagnose(arr, expected_arr, rtol, atol, axes)
    if diagnosis:
        raise CheckFailure(_t("{name} is wrong: it looks like {diagnosis}.", name=name,
                              diagnosis=diagnosis) + "\n"
                           f"{_fmt(expected_arr, _EXPECTED())}\n"
                           f"{_fmt(arr, _GOT())}"
                           + (f"\n  {_hint(hint)}" if hint and not named else ""),
                           kind=kind, mistake=named, label=label, got=arr)
    diff = _abs(arr - expected_arr)
    message = (_t("{name} is wrong.", name=name) + f"\n{_fmt(expected_arr, _EXPECTED())}\n"
               f"{_fmt(arr, _GOT())}\n")
    if diff.ndim:
        where = tuple(int(i) for i in _unravel(int(_argmax(diff)), diff.shape))
        message += "  " + _t("{wrong} of {size} values differ; the largest difference is "
                             "{largest:.3g} at index {where}.", wrong=int((~ok).sum()),
                             size=ok.size, largest=float(diff.max()), where=where)
    else:
        message += "  " + _t("The difference is {difference:.3g}.", difference=float(diff))
    if hint:
        message += f"\n  {_hint(hint)}"
    raise CheckFailure(message, kind="values", label=label, got=arr)


def check_raises(func: Callable, args: tuple, exception: type[BaseException],
                 name: str = "your function", why: str = "") -> None:
    """Fail unless ``func(*args)`` raises ``exception``."""
    label, (name, why) = name, (_text(name), _text(why))
    try:
        func(*args)
    except exception:
        return
    except NotImplementedError:
        raise CheckFailure(_t("{name} is not implemented yet.", name=name), kind="unanswered",
                           label=label) from None
    except Exception as exc:  # the wrong error is still a clear failure
        raise CheckFailure(_t("{call} should raise {wanted}, but raised {kind}: {error}",
                              call=_call(name, args), wanted=exception.__name__,
                              kind=type(exc).__name__, error=exc), kind="raises",
                           label=label) from None
    raise CheckFailure(_t("{call} should raise {wanted}{why}, but returned normally.",
                          call=_call(name, args), wanted=exception.__name__,
                          why=_t(": {why}", why=why) if why else ""), kind="raises", label=label)


def check_equal(value: Any, expected: Any, name: str = "result", hint: str = "", *,
                mistakes: Mapping[str, Any] | None = None) -> None:
    """Exact equality for non-numeric answers (shapes, strings, integers, lists of them).

    ``mistakes`` maps the name of a classic mistake to the value it gives, as in
    :func:`check_close`.
    """
    label, (name, hint) = name, (_text(name), _text(hint))
    if value is None and expected is not None:
        _as_numeric(value, name, label)
    if value != expected:
        for mistake, mistaken in (mistakes or {}).items():
            if not _same(mistaken, expected) and _same(value, mistaken):
                raise CheckFailure(_t("{name} is wrong: it looks like {diagnosis}.", name=name,
                                      diagnosis=_text(mistake)) + "\n"
                                   f"{_EXPECTED()}{_show(expected)}\n{_GOT()}{_show(value)}",
                                   kind="named", mistake=mistake, label=label, got=value)
        message = _t("{name}: expected {expected}, got {got}.", name=name,
                     expected=_show(expected), got=_show(value))
        if type(value) in (list, tuple) and type(expected) in (list, tuple) and \
                all(type(x) is str for x in [*value, *expected]):  # names, e.g. dict keys
            missing = [x for x in expected if x not in value]
            extra = [x for x in value if x not in expected]
            if missing:
                message += "\n  " + _t("Missing: {names}.", names=_show(missing))
            if extra:
                message += "\n  " + _t("Not expected: {names}.", names=_show(extra))
        if hint:
            message += f"\n  {_hint(hint)}"
        raise CheckFailure(message, kind="values", label=label, got=value)


def random_shapes(rng: _np.random.Generator, n: int, low: int = 1, high: int = 6) -> list[int]:
    """``n`` random sizes in ``[low, high]`` for the hidden tests' random cases."""
    return [int(s) for s in rng.integers(low, high + 1, size=n)]
