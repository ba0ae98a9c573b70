"""Threads for the reference layers: BLAS held to one thread, large work split by us.

NumPy's BLAS (OpenBLAS) splits a large matrix product over threads of its own, and
after the product those threads keep spinning for a while, waiting for more work.  On
the course's 2-core machine, one 700 x 100 x 400 product left 0.10 s of CPU burnt during
the next 0.2 s of sleep.  During a training step, that spinning takes a core away from
everything else: letting BLAS thread the medium products of the recurrent layers made
training about half as fast (10,700 instead of 19,500 tokens/s, measured in the same
run).  Small products lose anyway: for ``(20, 100) @ (100, 400)`` the threads' start and
wait cost more than the product.

So the layers follow one rule: **while they compute, BLAS runs single-threaded**, in
whichever thread calls it, and the layers split their large work themselves:

* ``single_threaded_blas()``: the context in which they compute.  It is counted, so it
  nests and may be held by several threads at once: BLAS gets its threads back when the
  last holder leaves.  (OpenBLAS was seen to ignore a request for more threads made from
  a pool thread, so only the calling thread holds and releases it; the pool's threads
  never do.)
* ``parallel(fn, args, workers)``: run calls side by side on a small pool of threads
  (NumPy releases the GIL inside its loops and products, so they do run in parallel).
* ``matmul(a, b)``: a product split over ``parallel`` when it is large enough.
* ``Background``: calls that run on the pool while the calling thread does something
  else, then ``join()`` (the calling thread helps with what is left).

Threads are chosen by problem size (``workers_for`` and the thresholds below): small
work stays in the calling thread, where it pays no hand-off.  And since setting BLAS's
thread count is itself a cost (about 30 us a time), a whole training step holds BLAS once
(``Trainer.train_step``), so that the layers' own holds inside it are mere counts.

Without ``threadpoolctl`` BLAS cannot be limited, and everything runs in the calling
thread.
"""
from __future__ import annotations

import itertools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterable

import numpy as np

# Below this many multiply-adds, a product stays in the calling thread: handing work to
# another thread costs about 0.1 ms, as much as a 10-million multiply-add product saves.
PARALLEL_MIN_MACS = 16_000_000

# Below this many parameters, an elementwise pass over all of a model's parameters (the
# SGD update) stays in the calling thread.  Measured on the course's 2-core machine
# (float32, BLAS held): 140,700 parameters took 118 us in one thread and 192 us on two
# (the hand-off costs more than the half it saves); 160,800 took 243 us and 168 us.
PARALLEL_MIN_ELEMENTS = 150_000


def workers_for(size: int, min_size: int, workers: int | None = None) -> int:
    """Threads for a piece of work of ``size``: ``workers`` (default ``default_workers()``)
    when it reaches ``min_size``, else 1 (the caller's thread, no hand-off)."""
    workers = default_workers() if workers is None else workers
    return workers if size >= min_size else 1


def default_workers() -> int:
    """Threads for the large work: the CPUs this process may use, at most 4."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(4, n))


def split(n: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous (lo, hi) ranges covering range(n), as equal as possible."""
    parts = max(1, min(parts, n))
    edges = [n * k // parts for k in range(parts + 1)]
    return [(edges[k], edges[k + 1]) for k in range(parts)]


# ----------------------------------------------------------------------------- BLAS threads

_CONTROLLER = None  # a threadpoolctl.ThreadpoolController, or False without threadpoolctl
_HOLD_LOCK = threading.Lock()
_holds = 0
_limiter = None


def _controller():
    global _CONTROLLER
    if _CONTROLLER is None:
        try:
            from threadpoolctl import ThreadpoolController
            _CONTROLLER = ThreadpoolController()
        except ImportError:
            _CONTROLLER = False
    return _CONTROLLER


def _hold() -> None:
    global _holds, _limiter
    with _HOLD_LOCK:
        if _holds == 0 and _controller():
            _limiter = _controller().limit(limits=1, user_api="blas")
        _holds += 1


def _release() -> None:
    global _holds, _limiter
    with _HOLD_LOCK:
        _holds -= 1
        if _holds == 0 and _limiter is not None:
            _limiter.restore_original_limits()
            _limiter = None


@contextmanager
def single_threaded_blas():
    """Context manager: BLAS uses one thread (the caller's) until the last holder leaves."""
    _hold()
    try:
        yield
    finally:
        _release()


# ----------------------------------------------------------------------------- our threads

_POOL: ThreadPoolExecutor | None = None
_background_jobs = 0  # while > 0 the pool is busy: parallel() runs in the caller


def _pool(workers: int) -> ThreadPoolExecutor:
    """The shared pool, grown when a caller wants more threads than it has."""
    global _POOL
    if _POOL is None or _POOL._max_workers < workers - 1:
        old, _POOL = _POOL, ThreadPoolExecutor(max_workers=max(1, workers - 1),
                                               thread_name_prefix="rnns-layers")
        if old is not None:
            old.shutdown(wait=False)  # its threads end once their current work is done
    return _POOL


def _threads_usable(workers: int, n_calls: int) -> bool:
    return workers > 1 and n_calls > 1 and bool(_controller()) and _background_jobs == 0


def parallel(fn: Callable, arg_tuples: Iterable[tuple], workers: int) -> None:
    """Run ``fn(*args)`` for each args in ``arg_tuples``, on up to ``workers`` threads.

    The calls must write to disjoint parts of their arrays.  Threads take the next call
    as soon as they are free (the calling thread too), so many small calls balance the
    load better than one big call per thread when a core is slowed down by other work.
    BLAS is single-threaded meanwhile.  While a ``Background`` job occupies the pool, the
    calls run one after the other in the calling thread.
    """
    Background(fn, arg_tuples, workers).join()


def matmul(a: np.ndarray, b: np.ndarray, workers: int | None = None) -> np.ndarray:
    """``a @ b`` for 2-D arrays, split over ``parallel`` when large enough to gain.

    a (M, K), b (K, P) -> (M, P): the longer side of the result is cut into ``workers``
    parts.  Same numbers as ``a @ b`` up to rounding; BLAS single-threaded either way.
    """
    M, K = a.shape
    P = b.shape[1]
    workers = default_workers() if workers is None else workers
    if workers <= 1 or M * K * P < PARALLEL_MIN_MACS:
        with single_threaded_blas():
            return a @ b
    out = np.empty((M, P), dtype=np.result_type(a, b))
    if M >= P:
        def part(lo: int, hi: int) -> None:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
    else:
        def part(lo: int, hi: int) -> None:
            out[:, lo:hi] = a @ b[:, lo:hi]
    parallel(part, split(max(M, P), workers), workers)
    return out


class Background:
    """Calls ``fn(*args)`` for each args, on the pool, while the caller goes on.

    ``join()`` must follow (a ``try/finally`` is the safe way): the calling thread then
    takes the calls nobody has started, waits for the others, and re-raises their first
    exception.  Until then BLAS stays single-threaded and ``parallel`` runs in its caller.
    The calls must write to disjoint parts of their arrays.  Without threads to use, all
    calls run in ``join()``.
    """

    def __init__(self, fn: Callable, arg_tuples: Iterable[tuple], workers: int) -> None:
        global _background_jobs
        self._fn = fn
        self._calls = list(arg_tuples)
        self._next = itertools.count()  # next() is atomic under the GIL: a lock-free queue
        self._futures = []
        self._joined = False
        _hold()
        if _threads_usable(workers, len(self._calls)):
            with _HOLD_LOCK:
                _background_jobs += 1  # before any call starts: a call's parallel() stays here
            pool = _pool(workers)
            self._futures = [pool.submit(self._drain) for _ in range(min(workers - 1,
                                                                         len(self._calls)))]

    def _drain(self) -> None:
        while (k := next(self._next)) < len(self._calls):
            self._fn(*self._calls[k])

    def join(self) -> None:
        global _background_jobs
        if self._joined:
            return
        self._joined = True
        error = None
        try:
            self._drain()
        except BaseException as exc:  # noqa: BLE001 - re-raised below, after the others end
            error = exc
        for f in self._futures:  # never return while a pool thread still writes
            try:
                f.result()
            except BaseException as exc:  # noqa: BLE001
                error = error or exc
        if self._futures:
            with _HOLD_LOCK:
                _background_jobs -= 1
        _release()
        if error is not None:
            raise error
