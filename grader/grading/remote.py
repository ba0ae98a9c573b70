"""The student's functions and objects, seen from the grader's process.

A hidden test runs in the grader (see :mod:`grader.grading.verdicts`); each name it uses
that the student defines (``rnn_cell``, ``TimeRNN``) is bound to a :class:`Remote`.  Calling
it sends the arguments to the student's kernel (:mod:`grader.grading.wire`: plain data, no
pickle), runs the student's code there, and brings the result back as plain data -- arrays,
numbers, strings, lists, tuples and dicts -- or, for anything else (a layer instance, a bound
method, a generator), as another :class:`Remote`.  So a hidden test reads like ordinary code::

    layer = TimeRNN(Wx, Wh, b)          # a Remote: the instance lives in the kernel
    hs = layer.forward(xs)              # an ndarray, decoded in the grader
    check_close(hs, ref.forward(xs))    # compared in the grader, by the grader's numpy

Semantics to know when writing a hidden test:

* arguments are copies: what the student's function does to them in place stays in the
  kernel, so a hidden test may compute its expected value from the same arrays after the
  call.  Where a test checks an update in place, it says so: ``train(modified(params), ...)``
  copies back into ``params`` the arrays (and generators) inside it that the call changed;
* an attribute read (``layer.grads``) is a *copy*: to change state inside the kernel, call
  the student's methods, or use :func:`assign` (``assign(layer, "params", "W", W)`` is
  ``layer.params["W"][...] = W`` done in the kernel);
* exceptions raised by student code are raised again here as the nearest built-in exception
  type (a ``ValueError`` subclass is a ``ValueError``), named after the student's class, so
  ``check_raises`` works; ``StopIteration`` and other control-flow exceptions arrive as
  :class:`StudentError`, so they cannot end a loop of the test early;
* a call that does not return in time, or kills the kernel, raises :class:`StudentTimeout`
  or :class:`StudentCrash`: the test fails with that message.
"""
from __future__ import annotations

import builtins
import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

from grader.grading import wire

_HERE = Path(__file__).resolve().parent
KERNEL_SOURCE = ((_HERE / "wire.py").read_text(encoding="utf-8") + "\n"
                 + (_HERE / "kernel_side.py").read_text(encoding="utf-8"))


class StudentError(RuntimeError):
    """Student code raised something that must not steer the test (StopIteration, exit)."""


class StudentTimeout(StudentError):
    """The student's code did not return in time."""


class StudentCrash(StudentError):
    """The student's kernel died or stopped answering."""


MODULE = "__rnns_probe__"


def install_expression(address: str) -> str:
    """The ``user_expressions`` entry, sent once per kernel, that installs the call handler
    as a module of its own (nothing is bound in the student's namespace) and opens its
    channel at ``address`` (:mod:`grader.grading.channel`); ``globals()`` there is the
    student's namespace."""
    return ("(lambda m: (__import__('builtins').exec(" + repr(KERNEL_SOURCE) + ", m.__dict__), "
            "__import__('sys').modules.__setitem__(" + repr(MODULE) + ", m), "
            "m.listen(" + repr(address) + ", globals()))[2])"
            "(__import__('types').ModuleType(" + repr(MODULE) + "))")


# A link sends one request and returns the decoded JSON reply (a dict), or raises
# StudentTimeout / StudentCrash.  The executor provides it (a kernel client on an event
# loop); tests can provide their own.
Link = Callable[[dict, str], dict]

_FLOW = {"StopIteration", "StopAsyncIteration", "GeneratorExit", "KeyboardInterrupt",
         "SystemExit", "BaseException"}


def _exception(info: Any, what: str) -> BaseException:
    if not isinstance(info, dict):
        return StudentError(f"{what} failed")
    name = str(info.get("type", "Exception"))[:200]
    message = str(info.get("message", ""))[:4000]
    mro = [str(n) for n in info.get("mro", [])][:20] if isinstance(info.get("mro"), list) else []
    if name in _FLOW or not mro:
        return StudentError(f"{what} raised {name}: {message}".rstrip(": "))
    base = StudentError
    for candidate in mro:
        cls = getattr(builtins, candidate, None)
        if isinstance(cls, type) and issubclass(cls, Exception) and candidate not in _FLOW:
            base = cls
            break
    if base.__name__ == name:
        return base(message)
    try:
        return type(name, (base,), {"__module__": "student"})(message)
    except TypeError:
        return base(message)


class Session:
    """The remote side of one student's kernel, for one test cell."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self.provided: dict[str, Callable] = {}

    def answer_callback(self, question: str) -> str:
        """The grader's answer to a stand-in's call from the kernel (see :func:`provide`):
        the arguments are the student's data, decoded within limits; the answer is data,
        at most :data:`wire.MAX_BYTES` of it.  The student chose the arguments, so the
        reference call may be as large as they like: a batch makes it in the hidden tests'
        own bounded process (:mod:`grader.grading.hidden_process`), where running out of
        memory is a ``MemoryError`` answered here."""
        try:
            request = json.loads(question) if len(question) < wire.MAX_BYTES else None
            function = self.provided[request["rnns_callback"]]
            args = wire.decode(request["args"])
            kwargs = wire.decode(request["kwargs"])
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise wire.WireError("malformed call")
            answer = json.dumps({"value": wire.encode(function(*args, **kwargs))})
        except Exception as exc:   # the stand-in raises it in the kernel
            return json.dumps({"raised": f"{type(exc).__name__}: {str(exc)[:500]}"})
        if len(answer) > wire.MAX_BYTES:
            return json.dumps({"raised": f"the answer is too large ({len(answer)} bytes of JSON; "
                                         f"at most {wire.MAX_BYTES})"})
        return answer

    def send(self, request: dict, what: str) -> dict:
        reply = self._link(request, what)
        if "raised" in reply:
            raise _exception(reply["raised"], what)
        return reply

    def value(self, node: Any, arrays: list | None = None) -> Any:
        return wire.decode(node, lambda h: Remote(self, h, "object"), arrays=arrays)

    def lookup(self, name: str) -> Any:
        """The student's ``name``: data, a :class:`Remote`, or :data:`MISSING`."""
        reply = self.send({"op": "lookup", "name": name}, f"looking up {name}")
        if reply.get("missing"):
            return MISSING
        value = self.value(reply.get("value"))
        if isinstance(value, Remote):
            object.__setattr__(value, "_label", name)
        return value

    def release(self) -> None:
        self._link({"op": "release"}, "releasing handles")


MISSING = object()


def _encode_arg(value, arrays):
    return wire.encode(value, _handle_of_remote, arrays)


def _handle_of_remote(value) -> int:
    if isinstance(value, Remote):
        return object.__getattribute__(value, "_handle")
    raise wire.WireError(f"a {type(value).__name__} cannot be passed to the student's code "
                         "(only data, and objects that came from the student's kernel)")


class Remote:
    """An object that lives in the student's kernel (a function, a class, an instance...)."""

    __slots__ = ("_session", "_handle", "_label")

    def __init__(self, session: Session, handle: int, label: str) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_handle", handle)
        object.__setattr__(self, "_label", label)

    def __repr__(self) -> str:
        return f"<your {object.__getattribute__(self, '_label')}>"

    def _label_of(self, suffix: str = "") -> str:
        return object.__getattribute__(self, "_label") + suffix

    def __call__(self, *args, **kwargs):
        session = object.__getattribute__(self, "_session")
        writable: set[int] = set()
        args = [_unmark(value, writable) for value in args]
        kwargs = {key: _unmark(value, writable) for key, value in kwargs.items()}
        sent: list = []
        request = {"op": "call", "target": object.__getattribute__(self, "_handle"),
                   "args": _encode_arg(args, sent), "kwargs": _encode_arg(kwargs, sent)}
        request["watch"] = [i for i, value in enumerate(sent) if id(value) in writable]
        reply = session.send(request, f"your {self._label_of()}")
        for item in reply.get("changed", []) if isinstance(reply.get("changed"), list) else []:
            try:
                index, node = item
                if index not in request["watch"]:   # only what the test marked comes back
                    continue
                new, old = wire.decode(node), sent[index]
                if isinstance(old, np.random.Generator) and isinstance(new, np.random.Generator):
                    old.bit_generator.state = new.bit_generator.state
                elif (isinstance(new, np.ndarray) and old.flags.writeable
                      and new.shape == old.shape and new.dtype == old.dtype):
                    old[...] = new
            except Exception:   # a malformed write-back is ignored: the result decides
                continue
        result = session.value(reply.get("value"))
        if isinstance(result, Remote):
            object.__setattr__(result, "_label", f"{self._label_of()}(...)")
        return result

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        session = object.__getattribute__(self, "_session")
        reply = session.send({"op": "getattr", "target": object.__getattribute__(self, "_handle"),
                              "name": name}, f"your {self._label_of('.' + name)}")
        value = session.value(reply.get("value"))
        if isinstance(value, Remote):
            object.__setattr__(value, "_label", self._label_of("." + name))
        return value

    def __setattr__(self, name: str, value) -> None:
        session = object.__getattribute__(self, "_session")
        session.send({"op": "setattr", "target": object.__getattribute__(self, "_handle"),
                      "name": name, "value": _encode_arg(value, None)},
                     f"setting your {self._label_of('.' + name)}")

    def __getitem__(self, key):
        session = object.__getattribute__(self, "_session")
        reply = session.send({"op": "getitem", "target": object.__getattribute__(self, "_handle"),
                              "key": wire.encode(key)}, f"your {self._label_of('[...]')}")
        return session.value(reply.get("value"))

    def __iter__(self):
        session = object.__getattribute__(self, "_session")
        reply = session.send({"op": "iter", "target": object.__getattribute__(self, "_handle")},
                             f"iterating over your {self._label_of()}")
        iterator = session.value(reply.get("value"))
        if not isinstance(iterator, Remote):
            raise StudentError(f"iter() of your {self._label_of()} did not give an iterator")
        while True:
            reply = session.send({"op": "next", "target": object.__getattribute__(iterator, "_handle")},
                                 f"the next item of your {self._label_of()}")
            if reply.get("stop"):
                return
            yield session.value(reply.get("value"))


class modified:
    """``train(modified(params), ...)``: this argument may be changed in place by the call,
    and the test wants to see it.  The arrays and generators inside it that the call
    changed are copied back (same shape and dtype only); every other argument is a copy
    whose changes stay in the kernel.

    Mark only what the question asks to be updated in place: a marked array is something
    the student's code writes, so compute expected values before the call (or check the
    update itself, as "the logits must not change" does)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _unmark(value: Any, writable: set[int]) -> Any:
    """``value`` without its :class:`modified` marker; the ids of the arrays and generators
    inside a marked value go into ``writable``."""
    if not isinstance(value, modified):
        return value
    stack = [value.value]
    while stack:
        item = stack.pop()
        if isinstance(item, (np.ndarray, np.random.Generator)):
            writable.add(id(item))
        elif type(item) in (list, tuple):
            stack.extend(item)
        elif type(item) is dict:
            stack.extend(item.values())
    return value.value


class provide:
    """``with provide(gumbel_softmax=ref.gumbel_softmax): ...`` -- while the block runs, the
    student's ``gumbel_softmax`` in the kernel is a stand-in whose calls the grader answers
    with the given function (the student's own comes back afterwards).

    So a hidden test checks one question on its own even when the student's answer to it
    calls an earlier answer, as ``mrnn_step`` calls ``gumbel_softmax``: the reference code
    never enters the kernel, only its values for the inputs the student's code asks about."""

    def __init__(self, **functions: Callable) -> None:
        self.functions = functions
        self.session: Session | None = None

    def __enter__(self) -> "provide":
        from grader.grading import verdicts

        self.session = verdicts.current_session()
        self.session.provided.update(self.functions)
        self.session.send({"op": "provide", "names": sorted(self.functions)}, "preparing the test")
        return self

    def __exit__(self, *exc) -> None:
        self.session.send({"op": "unprovide"}, "finishing the test")
        for name in self.functions:
            self.session.provided.pop(name, None)


def assign(target: Remote, attr: str, key, value) -> None:
    """``target.<attr>[key][...] = value`` inside the kernel (``attr=""``: ``target[key]``).

    For hidden tests that set a student object's parameters in place, as the layer protocol
    allows (``assign(model, "params", "W", W)``)."""
    if not isinstance(target, Remote):
        raise TypeError("assign() works on objects of the student's kernel")
    session = object.__getattribute__(target, "_session")
    session.send({"op": "assign", "target": object.__getattribute__(target, "_handle"),
                  "attr": attr, "key": wire.encode(key), "value": _encode_arg(value, None)},
                 f"setting your {target._label_of('.' + attr if attr else '')}[{key!r}]")
