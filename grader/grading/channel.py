"""The grader's end of the channel to a student's kernel, for the hidden tests' calls.

The kernel's end is :func:`grader.grading.kernel_side.listen`: a ZeroMQ PAIR socket bound on a
Unix socket in the kernel's runtime folder (inside the sandbox, bound read-write), served by
one thread of the kernel.  One call is::

    grader -> kernel   the request, JSON text (see kernel_side._serve)
    kernel -> grader   "C" + question     a stand-in of ``provide`` asks the grader; the
    grader -> kernel   answer             grader answers, and waits again (any number)
    kernel -> grader   "R" + reply        the answer to the request, JSON text

Calls never overlap: the hidden tests make one at a time, and a call that times out makes
the executor restart the kernel (a new channel) before anything else is asked of it, so a
late answer can never be read as the answer to another question.  Nothing that arrives is
trusted: sizes are capped by the socket (``MAXMSGSIZE`` of the context), JSON depth is
checked before parsing, and a malformed message fails the call.
"""
from __future__ import annotations

import json
import time
from typing import Awaitable, Callable

import zmq
import zmq.asyncio

from grader.grading import intake

MAX_DEPTH = 64


class ChannelError(ValueError):
    """The kernel's end sent something that is not an answer (a changed or broken handler)."""


class Channel:
    """One kernel's channel, used from the executor's event loop only."""

    def __init__(self, context: zmq.asyncio.Context, address: str) -> None:
        self.socket = context.socket(zmq.PAIR)
        self.socket.setsockopt(zmq.LINGER, 0)
        self.socket.connect(address)

    async def call(self, request: dict, timeout: float, answer: Callable[[str], str],
                   alive: Callable[[], Awaitable[bool]]) -> dict | None:
        """The kernel's reply to ``request`` (a dict), answering its questions with
        ``answer``; ``None`` when no reply came within ``timeout`` seconds or the kernel
        died (checked every second while waiting)."""
        deadline = time.monotonic() + timeout
        await self.socket.send_string(json.dumps(request))
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not await self.socket.poll(timeout=int(1000 * min(1.0, left)), flags=zmq.POLLIN):
                if not await alive():
                    return None
                continue
            frame = await self.socket.recv()
            kind, body = frame[:1], frame[1:]
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                raise ChannelError("not UTF-8") from None
            if kind == b"C":
                await self.socket.send_string(answer(text))
            elif kind == b"R":
                return _parse(text)
            else:
                raise ChannelError("unknown message")

    def close(self) -> None:
        self.socket.close(linger=0)


def _parse(text: str) -> dict:
    if intake.json_depth(text) > MAX_DEPTH:
        raise ChannelError("nested too deeply")
    try:
        reply = json.loads(text)
    except ValueError:
        raise ChannelError("not JSON") from None
    if not isinstance(reply, dict):
        raise ChannelError("not an object")
    return reply
