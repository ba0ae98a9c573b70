"""The wire format between the grader and a student's kernel: plain data only, no pickle.

Hidden tests run on the grader's side and call the student's functions in the student's
kernel (:mod:`grader.grading.remote`).  Values cross the boundary as JSON with tagged nodes::

    null / true / false           None and booleans
    {"i": "12"}                   int (as text: any size up to MAX_INT_DIGITS digits)
    {"f": "0x1.8p+1"}             float, exactly (float.hex: NaN and infinities included)
    {"c": [re, im]}               complex (two float.hex strings)
    {"s": "text"}                 str
    {"l": [...]} / {"t": [...]}   list / tuple
    {"d": [[key, value], ...]}    dict (keys encoded like values)
    {"a": [dtype, shape, b64]}    numpy array: little-endian bytes of a numeric dtype
    {"n": [dtype, b64]}           numpy scalar (np.float32(1.5) stays a float32)
    {"g": state}                  a numpy Generator (PCG64 state), so a test can pass an rng
    {"h": 7}                      a handle: an object that stays in the kernel

This one module is used on both sides: the grader encodes arguments and decodes results with
:func:`decode` (bounded depth, bytes and element counts; only numeric, boolean and unicode
dtypes; never an object array), and its source is sent to the kernel, which uses the same
functions for the other direction.  A student's kernel can return anything it likes: the
worst it can send is wrong numbers, which earn no points.
"""
from __future__ import annotations

import base64
import math

import numpy as np

MAX_DEPTH = 32
MAX_BYTES = 64 * 2**20          # array bytes and text in one message
MAX_ITEMS = 1_000_000           # list/tuple/dict entries in one message
MAX_INT_DIGITS = 200
DTYPE_KINDS = "biufcU"          # bool, int, uint, float, complex, unicode: never object


class WireError(ValueError):
    """A value cannot cross (a function, an object array) or a message breaks the limits."""


def encode(value, handle_of=None, arrays=None, depth: int = 0):
    """``value`` as tagged JSON.  ``handle_of(obj) -> int`` turns what is not data into a
    handle (``None``: refuse with :class:`WireError`); ``arrays`` collects every array and
    generator encoded, in order (for the write-back of what a function changed in place:
    an array's values, a generator's state)."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if value is None or value is True or value is False:
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in DTYPE_KINDS:
            return _handle(value, handle_of, f"an array of dtype {value.dtype}")
        if arrays is not None:
            arrays.append(value)
        little = value.astype(value.dtype.newbyteorder("<"), copy=False)
        return {"a": [little.dtype.str, list(value.shape),
                      base64.b64encode(np.ascontiguousarray(little).tobytes()).decode()]}
    if isinstance(value, np.generic):
        if value.dtype.kind not in DTYPE_KINDS:
            return _handle(value, handle_of, f"a numpy scalar of dtype {value.dtype}")
        little = np.asarray(value).astype(value.dtype.newbyteorder("<"))
        return {"n": [little.dtype.str, base64.b64encode(little.tobytes()).decode()]}
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return {"i": str(int(value))}
    if isinstance(value, float):
        return {"f": float(value).hex()}
    if isinstance(value, complex):
        return {"c": [value.real.hex(), value.imag.hex()]}
    if isinstance(value, str):
        return {"s": str(value)}
    if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
        items = [encode(v, handle_of, arrays, depth + 1) for v in value]
        return {"l": items} if isinstance(value, list) else {"t": items}
    if type(value) is dict:
        return {"d": [[encode(k, handle_of, arrays, depth + 1), encode(v, handle_of, arrays, depth + 1)]
                      for k, v in value.items()]}
    if isinstance(value, np.random.Generator) and type(value.bit_generator).__name__ == "PCG64":
        if arrays is not None:
            arrays.append(value)
        return {"g": encode(value.bit_generator.state, None, None, depth + 1)}
    return _handle(value, handle_of, f"a {type(value).__name__}")


def _handle(value, handle_of, what: str):
    if handle_of is None:
        raise WireError(f"{what} cannot be sent to or from a student's kernel")
    return {"h": int(handle_of(value))}


class _Budget:
    def __init__(self, max_bytes: int, max_items: int) -> None:
        self.bytes, self.items = max_bytes, max_items
        self.arrays = None

    def spend(self, n_bytes: int = 0, n_items: int = 0) -> None:
        self.bytes -= n_bytes
        self.items -= n_items
        if self.bytes < 0:
            raise WireError("message too large")
        if self.items < 0:
            raise WireError("message has too many items")


def decode(node, from_handle=None, *, arrays=None, max_bytes: int = MAX_BYTES,
           max_items: int = MAX_ITEMS):
    """The value of a tagged-JSON node, within limits; ``from_handle(int)`` maps a handle
    to an object (``None``: a handle is an error); ``arrays`` collects the arrays decoded,
    in the order :func:`encode` met them."""
    budget = _Budget(max_bytes, max_items)
    budget.arrays = arrays
    return _decode(node, from_handle, budget, 0)


def _b64(text, budget: _Budget) -> bytes:
    if not isinstance(text, str):
        raise WireError("malformed bytes")
    budget.spend(len(text) * 3 // 4)
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except Exception:
        raise WireError("malformed base64") from None


def _dtype(text) -> np.dtype:
    if not isinstance(text, str) or len(text) > 12:
        raise WireError("malformed dtype")
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise WireError(f"unknown dtype {text!r}") from None
    if dtype.kind not in DTYPE_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise WireError(f"dtype {text!r} is not allowed")
    return dtype


def _decode(node, from_handle, budget: _Budget, depth: int):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    if node is None or node is True or node is False:
        return node
    if type(node) is not dict or len(node) != 1:
        raise WireError("malformed value")
    (tag, body), = node.items()
    budget.spend(n_items=1)
    if tag == "i":
        if not isinstance(body, str) or len(body) > MAX_INT_DIGITS:
            raise WireError("malformed or huge int")
        try:
            return int(body)
        except ValueError:
            raise WireError("malformed int") from None
    if tag == "f":
        return _float(body)
    if tag == "c":
        if not isinstance(body, list) or len(body) != 2:
            raise WireError("malformed complex")
        return complex(_float(body[0]), _float(body[1]))
    if tag == "s":
        if not isinstance(body, str):
            raise WireError("malformed str")
        budget.spend(len(body))
        return body
    if tag in ("l", "t"):
        if not isinstance(body, list):
            raise WireError("malformed sequence")
        budget.spend(n_items=len(body))
        items = [_decode(v, from_handle, budget, depth + 1) for v in body]
        return items if tag == "l" else tuple(items)
    if tag == "d":
        if not isinstance(body, list):
            raise WireError("malformed dict")
        budget.spend(n_items=len(body))
        out = {}
        for pair in body:
            if not isinstance(pair, list) or len(pair) != 2:
                raise WireError("malformed dict entry")
            key = _decode(pair[0], None, budget, depth + 1)
            try:
                hash(key)
            except TypeError:
                raise WireError("unhashable dict key") from None
            out[key] = _decode(pair[1], from_handle, budget, depth + 1)
        return out
    if tag == "a":
        if not isinstance(body, list) or len(body) != 3 or not isinstance(body[1], list):
            raise WireError("malformed array")
        dtype = _dtype(body[0])
        shape = body[1]
        if len(shape) > 32 or not all(type(s) is int and 0 <= s <= 2**40 for s in shape):
            raise WireError("malformed array shape")
        data = _b64(body[2], budget)
        count = math.prod(shape)
        if count * dtype.itemsize != len(data):
            raise WireError("array data does not match its shape")
        array = np.frombuffer(data, dtype=dtype).reshape(shape).copy()
        if budget.arrays is not None:
            budget.arrays.append(array)
        return array
    if tag == "n":
        if not isinstance(body, list) or len(body) != 2:
            raise WireError("malformed scalar")
        dtype = _dtype(body[0])
        data = _b64(body[1], budget)
        if len(data) != dtype.itemsize:
            raise WireError("scalar data does not match its dtype")
        return np.frombuffer(data, dtype=dtype)[0]
    if tag == "g":
        state = _decode(body, None, budget, depth + 1)
        rng = np.random.Generator(np.random.PCG64())
        try:
            rng.bit_generator.state = state
        except Exception:
            raise WireError("malformed generator state") from None
        if budget.arrays is not None:
            budget.arrays.append(rng)
        return rng
    if tag == "h":
        if from_handle is None or type(body) is not int:
            raise WireError("unexpected handle")
        return from_handle(body)
    raise WireError(f"unknown tag {tag!r}")


def _float(text) -> float:
    if not isinstance(text, str) or len(text) > 40:
        raise WireError("malformed float")
    try:
        return float.fromhex(text)
    except (ValueError, OverflowError):
        raise WireError("malformed float") from None
