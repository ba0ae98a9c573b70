"""The sandboxed kernel of one notebook, seen from the grader: start (or take one started in
advance), wait until it answers and its call handler is installed, ask, probe, drain, stop.

:class:`SandboxedKernel` is a part of :class:`grader.grading.executor.TrustedExecute` (an
nbclient ``NotebookClient``): it sets the client's ``km`` and ``kc`` and the call channel that
the hidden tests use, so that nbclient runs cells on the kernel it started.
"""
from __future__ import annotations

import contextlib
import time
from queue import Empty

import zmq
import zmq.asyncio
from jupyter_core.utils import ensure_async

from grader.grading.channel import Channel
from grader.grading.remote import install_expression
from grader.grading.sandbox import launch_kernel

MAX_MESSAGE_BYTES = 64 * 2**20   # a kernel message larger than this is dropped by ZeroMQ


class SandboxedKernel:
    """Kernel lifecycle for :class:`~grader.grading.executor.TrustedExecute` (uses its
    ``_job``, ``startup_timeout``, ``notebook_timeout``, ``nb`` and ``_incident``)."""

    async def _start_kernel(self) -> None:
        launched = self._job.take_prestarted()
        if launched is not None:
            try:
                return await self._connect(launched)
            except Exception as exc:   # it died while waiting for us: start a fresh one
                self._incident(f"a kernel started in advance did not answer ({str(exc)[:200]})")
        job = self._job
        job.kernels += 1
        await self._connect(await launch_kernel(
            job.sandbox, scratch=job.scratch, kit_dir=job.kit_dir, slot=job.slot,
            number=job.kernels, notebook_timeout=self.notebook_timeout))

    async def _connect(self, launched) -> None:
        job = self._job
        self.km, self._log = launched.km, launched.log
        ctx = zmq.asyncio.Context()   # our own, so that its sockets refuse huge messages
        ctx.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        self._zmq_contexts.append(ctx)
        self.kc = self.km.client(context=ctx)
        await ensure_async(self.kc.start_channels())
        try:
            await self._wait_ready(launched.calls_for_kernel)
        except Exception as exc:
            text = self._log.text().strip() if self._log is not None else ""
            # the last line first (a traceback's error), since messages are cut further on
            last = text.splitlines()[-1].strip() if text else ""
            said = " ".join(text.split()[-40:])
            await self._stop_kernel()
            if said:
                raise RuntimeError(f"{exc}: {last[-300:]} (the kernel's last output: "
                                   f"{said[-600:]})") from exc
            raise
        self.kc.allow_stdin = False
        self._channel = Channel(ctx, launched.calls_for_grader)
        hook, job.after_first_kernel = job.after_first_kernel, None
        if hook is not None:   # e.g. the batch boots the next student's kernel meanwhile
            try:
                await hook()
            except Exception as exc:
                self._incident(f"preparing the next kernel failed: {str(exc)[:200]}")

    async def _wait_ready(self, address: str) -> None:
        """Wait until the kernel answers, its IOPub reaches us, and the call handler is
        installed.  Like jupyter_client's ``wait_for_ready`` (a kernel_info request, repeated
        until a reply and an IOPub message arrive) without its fixed pauses, with the
        handler's installation sent right behind it."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the kernel did not answer within {self.startup_timeout} s")
            info = await self._request_reply(self.kc.kernel_info(), min(5.0, self._left(deadline)))
            if info is None:
                if not await self._alive():
                    raise RuntimeError("the kernel died before answering")
                continue
            try:   # IOPub connects asynchronously: a cell's output must not be lost
                await self.kc.iopub_channel.get_msg(timeout=0.5)
                break
            except Empty:
                continue
        if "language_info" in info["content"]:
            self.nb.metadata["language_info"] = info["content"]["language_info"]
        reply = await self._request_reply(self.kc.execute(
            "", silent=True, store_history=False,
            user_expressions={"r": install_expression(address)}), 60)
        installed = (reply or {}).get("content", {}).get("user_expressions", {}).get("r", {})
        if installed.get("status") != "ok":
            raise RuntimeError(f"the kernel could not load the grader's call handler: "
                               f"{str(installed.get('evalue', 'no answer'))[:200]}")

    @staticmethod
    def _left(deadline: float) -> float:
        return max(0.1, deadline - time.monotonic())

    async def _stop_kernel(self) -> None:
        kc, km, channel = self.kc, self.km, getattr(self, "_channel", None)
        self.kc = self.km = self._channel = None
        if channel is not None:
            channel.close()
        if kc is not None:
            with contextlib.suppress(Exception):
                await ensure_async(kc.stop_channels())
        if km is not None:
            with contextlib.suppress(Exception):
                await km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                await ensure_async(km.cleanup_resources())
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    async def _alive(self) -> bool:
        try:
            return bool(self.km is not None and await self.km.is_alive())
        except Exception:
            return False

    async def _request_reply(self, msg_id: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=min(1.0, left))
            except Empty:
                if not await self._alive():
                    return None
                continue
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    async def _drain_iopub(self) -> None:
        """Drop what the kernel published since the last cell (the student's prints during
        the hidden tests' calls, stray status messages) unread: nbclient would otherwise wade
        through them within its IOPub timeout at the next cell."""
        if self.kc is None:
            return
        socket = self.kc.iopub_channel.socket
        for _ in range(100_000):
            try:
                await socket.recv_multipart(flags=zmq.NOBLOCK)
            except zmq.Again:
                return
            except Exception:
                return

    async def _probe(self) -> bool:
        """Does the kernel still answer (after an interrupted cell)?"""
        if self.kc is None or not await self._alive():
            return False
        reply = await self._request_reply(self.kc.execute("", silent=True, store_history=False), 10)
        return reply is not None
