"""The layer protocol shared by chapters 3 to 5.

Every layer keeps its parameters and their gradients side by side, under the same names::

    layer.params = {"W": (D, H) array, "b": (H,) array}
    layer.grads  = {"W": (D, H) array, "b": (H,) array}   # same keys, shapes and dtype

* ``forward(*inputs)`` caches what ``backward`` needs and returns the output.
* ``backward(dout)`` returns the gradient with respect to the input(s) and **adds** the
  parameter gradients into ``grads`` (they accumulate, as in micrograd, so a layer used at
  several time steps or by several callers sums its gradients; call ``zero_grad()`` between
  updates).
* The dtype is the caller's choice at construction: float64 for gradient checks, float32
  for speed.  Layers never change the dtype of what they are given.
* Optimisers update ``params`` arrays in place (``p -= lr * g``); nothing else writes to
  another object's arrays, so there is no hidden aliasing contract to remember.
"""
from __future__ import annotations

import os

import numpy as np


class Layer:
    """Base class: a layer with no parameters unless a subclass adds them."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def add_param(self, name: str, value: np.ndarray) -> np.ndarray:
        """Register a parameter and a zero gradient of the same shape and dtype."""
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)
        return value

    def forward(self, *inputs):  # pragma: no cover - interface
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - interface
        raise NotImplementedError

    def zero_grad(self) -> None:
        for g in self.grads.values():
            g[...] = 0


def collect(layers: dict[str, "Layer"]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Flatten ``{"rnn": layer, ...}`` into ``{"rnn.W": array, ...}`` for params and grads.

    The returned dicts hold the layers' own arrays (no copies), so an optimiser that
    updates them in place updates the layers.
    """
    params, grads = {}, {}
    for prefix, layer in layers.items():
        for name, p in layer.params.items():
            params[f"{prefix}.{name}"] = p
            grads[f"{prefix}.{name}"] = layer.grads[name]
    return params, grads


def save_params(model, path: str | os.PathLike) -> str:
    """Write ``model.params`` to an ``.npz`` file, one array per (flattened) name.

    ``np.savez`` appends ".npz" when the name lacks it; the path actually written is
    returned.
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    np.savez(path, **model.params)
    return path


def load_params(model, path: str | os.PathLike) -> None:
    """Copy the arrays saved by ``save_params`` into ``model.params``, in place.

    The file must hold exactly the model's parameter names with the same shapes;
    otherwise a ValueError names everything missing, unexpected or mis-shaped, and the
    model is left unchanged.  Values are cast to the model's dtype.  Copying into the
    existing arrays (rather than replacing them) keeps the layers, ``model.params`` and
    any optimiser state pointing at the same arrays.  "path" may omit its ".npz".
    """
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".npz"):
        path += ".npz"
    with np.load(path, allow_pickle=False) as saved:
        stored = {name: saved[name] for name in saved.files}
    problems = []
    missing = sorted(set(model.params) - set(stored))
    unexpected = sorted(set(stored) - set(model.params))
    if missing:
        problems.append(f"missing from the file: {missing}")
    if unexpected:
        problems.append(f"not in the model: {unexpected}")
    for name in sorted(set(model.params) & set(stored)):
        if stored[name].shape != model.params[name].shape:
            problems.append(f"{name}: the file has shape {stored[name].shape}, "
                            f"the model {model.params[name].shape}")
    if problems:
        raise ValueError(f"cannot load {path!r} into {type(model).__name__}: "
                         + "; ".join(problems))
    for name, p in model.params.items():
        p[...] = stored[name]
