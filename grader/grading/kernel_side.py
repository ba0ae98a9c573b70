"""What runs in the student's kernel when a hidden test calls the student's code.

Never imported by the grader: when a kernel starts, its source, after
:mod:`grader.grading.wire`'s, is sent once and run by ``exec`` as a module of its own
(``sys.modules["__rnns_probe__"]``), so that it binds no name in the student's namespace;
then :func:`listen` opens the grader's channel: a ZeroMQ PAIR socket on a Unix socket in
the kernel's runtime folder, served by one thread.  Each request (JSON text) is answered by
:func:`serve` against the student's namespace, and the answer goes back as JSON text (see
:mod:`grader.grading.channel`).  A plain socket rather than Jupyter execute requests: a call
costs a fraction of a millisecond instead of a shell round trip with its status messages,
and a hidden test makes hundreds of calls.  Objects that are not data (the student's layers,
bound methods, generators) stay in the kernel in a handle table and cross as handles.

The kernel's main thread is idle while the grader's hidden tests run (they run between
cells), so the student's code runs in the channel's thread with nothing else running.

Nothing here is trusted: a student may replace any of it.  The grader only ever reads
plain data back, within limits, and compares it itself.
"""
import json as _json

_HANDLES: dict = {}
_COUNTER = [0]


def _handle_of(obj):
    _COUNTER[0] += 1
    _HANDLES[_COUNTER[0]] = obj
    return _COUNTER[0]


def _from_handle(number):
    try:
        return _HANDLES[number]
    except KeyError:
        raise WireError(f"unknown handle {number}") from None


_SAVED: dict = {}
_ABSENT = object()


_CHANNEL: dict = {}


def _ask(question):
    """A question to the grader while it waits for the answer to the current call (the
    stand-ins of ``provide``): sent on the channel as ``C<question>``; the next message
    the grader sends is the answer."""
    _CHANNEL["socket"].send_string("C" + question)
    return _CHANNEL["socket"].recv_string()


def listen(address, user_ns):
    """Serve the grader's requests on a PAIR socket bound at ``address``, in a thread."""
    import threading
    import zmq

    try:   # the kernel's own context: no second I/O thread under the sandbox's memory limit
        from ipykernel.kernelapp import IPKernelApp
        context = IPKernelApp.instance().context or zmq.Context.instance()
    except Exception:
        context = zmq.Context.instance()
    socket = context.socket(zmq.PAIR)
    socket.bind(address)
    _CHANNEL["socket"] = socket

    def loop():
        while True:
            try:
                request = socket.recv_string()
            except Exception:
                return
            socket.send_string("R" + serve(request, user_ns))

    threading.Thread(target=loop, name="rnns-probe", daemon=True).start()
    return "listening"


def _stand_in(name):
    """A function of the student's namespace that the grader answers: the call goes out as
    an input request (the kernel's stdin channel) and the grader's value comes back."""
    def stand_in(*args, **kwargs):
        question = _json.dumps({"rnns_callback": name, "args": encode(list(args)),
                                "kwargs": encode(dict(kwargs))})
        answer = _json.loads(_ask(question))
        if "raised" in answer:
            raise RuntimeError(f"{name}: {answer['raised']}")
        return decode(answer["value"])
    stand_in.__name__ = stand_in.__qualname__ = name
    return stand_in


def _state(value):
    """What a call may change in place: an array's bytes, a generator's state."""
    return value.tobytes() if hasattr(value, "tobytes") else repr(value.bit_generator.state)


def _raised(exc):
    try:
        message = str(exc)[:4000]
    except Exception:
        message = "(the exception's message could not be read)"
    return {"raised": {"type": type(exc).__name__[:200],
                       "mro": [c.__name__[:200] for c in type(exc).__mro__][:20],
                       "message": message}}


def _serve(request, user_ns):
    op = request["op"]
    if op == "release":
        _HANDLES.clear()
        return {"value": None}
    if op == "lookup":
        name = request["name"]
        if name not in user_ns:
            return {"missing": True}
        return {"value": encode(user_ns[name], _handle_of)}
    if op == "provide":   # stand-ins that ask the grader (see remote.provide)
        for name in request["names"]:
            _SAVED.setdefault(name, user_ns.get(name, _ABSENT))
            user_ns[name] = _stand_in(name)
        return {"value": None}
    if op == "unprovide":
        for name, value in list(_SAVED.items()):
            if value is _ABSENT:
                user_ns.pop(name, None)
            else:
                user_ns[name] = value
        _SAVED.clear()
        return {"value": None}
    target = _from_handle(request["target"])
    if op == "call":
        arrays = []
        args = decode(request["args"], _from_handle, arrays=arrays)
        kwargs = decode(request["kwargs"], _from_handle, arrays=arrays)
        watched = [i for i in request.get("watch", ()) if 0 <= i < len(arrays)]
        before = {i: _state(arrays[i]) for i in watched}
        result = target(*args, **kwargs)
        changed = [[i, encode(arrays[i])] for i in watched if _state(arrays[i]) != before[i]]
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


def serve(request_text, user_ns):
    """Answer one request (JSON text) against ``user_ns``, the student's namespace."""
    try:
        return _json.dumps(_serve(_json.loads(request_text), user_ns))
    except BaseException as exc:  # noqa: BLE001 - the student's error is the answer
        return _json.dumps(_raised(exc))
