"""What runs in the student's kernel when a hidden test calls the student's code.

Never imported by the grader: its source, after :mod:`grader.grading.wire`'s, is sent with
each request (see :func:`grader.grading.remote.request_expression`) and run by ``exec`` in a
fresh dictionary, so that it binds no name in the student's namespace.  That dictionary
holds ``REQUEST`` (JSON text) and ``USER_NS`` (the student's namespace); the answer is left
in ``RESULT`` (JSON text).  Objects that are not data (the student's layers, bound methods,
generators) stay in the kernel in a handle table and cross as handles.

Nothing here is trusted: a student may replace any of it.  The grader only ever reads
plain data back, within limits, and compares it itself.
"""
import json as _json
import sys as _sys
import types as _types


def _table():
    store = _sys.modules.get("__rnns_handles__")
    if store is None or not isinstance(getattr(store, "table", None), dict):
        store = _types.ModuleType("__rnns_handles__")
        store.table, store.next = {}, 1
        _sys.modules["__rnns_handles__"] = store
    return store


def _handle_of(obj):
    store = _table()
    number = store.next
    store.next += 1
    store.table[number] = obj
    return number


def _from_handle(number):
    try:
        return _table().table[number]
    except KeyError:
        raise WireError(f"unknown handle {number}") from None


def _raised(exc):
    try:
        message = str(exc)[:4000]
    except Exception:
        message = "(the exception's message could not be read)"
    return {"raised": {"type": type(exc).__name__[:200],
                       "mro": [c.__name__[:200] for c in type(exc).__mro__][:20],
                       "message": message}}


def _serve(request):
    op = request["op"]
    if op == "release":
        _table().table.clear()
        return {"value": None}
    if op == "lookup":
        name = request["name"]
        if name not in USER_NS:  # noqa: F821 - given by the grader
            return {"missing": True}
        return {"value": encode(USER_NS[name], _handle_of)}  # noqa: F821
    target = _from_handle(request["target"])
    if op == "call":
        arrays = []
        args = decode(request["args"], _from_handle, arrays=arrays)
        kwargs = decode(request["kwargs"], _from_handle, arrays=arrays)
        before = [a.tobytes() for a in arrays]
        result = target(*args, **kwargs)
        changed = [[i, encode(a)] for i, (a, b) in enumerate(zip(arrays, before))
                   if a.tobytes() != b]
        return {"value": encode(result, _handle_of), "changed": changed}
    if op == "getattr":
        return {"value": encode(getattr(target, request["name"]), _handle_of)}
    if op == "setattr":
        setattr(target, request["name"], decode(request["value"], _from_handle))
        return {"value": None}
    if op == "getitem":
        return {"value": encode(target[decode(request["key"])], _handle_of)}
    if op == "assign":   # target.<attr>[key][...] = value (in place when it is an array)
        container = getattr(target, request["attr"]) if request.get("attr") else target
        key, value = decode(request["key"]), decode(request["value"], _from_handle)
        old = container[key]
        if hasattr(old, "shape") and hasattr(old, "__setitem__"):
            old[...] = value
        else:
            container[key] = value
        return {"value": None}
    if op == "iter":
        return {"value": encode(iter(target), _handle_of)}
    if op == "next":
        try:
            return {"value": encode(next(target), _handle_of)}
        except StopIteration:
            return {"stop": True}
    raise WireError(f"unknown operation {op!r}")


try:
    RESULT = _json.dumps(_serve(_json.loads(REQUEST)))  # noqa: F821 - given by the grader
except BaseException as _exc:  # noqa: BLE001 - the student's error is the answer
    RESULT = _json.dumps(_raised(_exc))
