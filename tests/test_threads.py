"""The threads behind the reference layers: BLAS held to one thread, work shared out."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from grader.reference import threads
from grader.reference.threads import (Background, matmul, parallel, single_threaded_blas,
                                      split)


def blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def test_split_covers_the_range_in_order():
    assert split(10, 3) == [(0, 3), (3, 6), (6, 10)]
    assert split(2, 5) == [(0, 1), (1, 2)]
    assert split(7, 1) == [(0, 7)]


def test_single_threaded_blas_nests_and_counts_holders_across_threads():
    before = blas_threads()
    assert before, "NumPy's BLAS is not visible to threadpoolctl"
    inside, release = threading.Event(), threading.Event()

    def other_holder():
        with single_threaded_blas():
            inside.set()
            release.wait(10)

    with single_threaded_blas():
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {1}  # the outer holder still holds
        worker = threading.Thread(target=other_holder)
        worker.start()
        assert inside.wait(10)
        release.set()
        worker.join(10)
        assert set(blas_threads()) == {1}  # another thread left: this one still holds
    assert blas_threads() == before  # the last holder left: BLAS has its threads back


def test_parallel_runs_every_call_once():
    seen = np.zeros(20, dtype=int)

    def mark(lo, hi):
        seen[lo:hi] += 1

    parallel(mark, split(20, 7), workers=2)
    assert np.all(seen == 1)


def test_parallel_reraises_after_every_call_has_ended():
    finished = []

    def work(k):
        if k == 0:
            raise RuntimeError("call 0 failed")
        time.sleep(0.01)
        finished.append(k)

    with pytest.raises(RuntimeError, match="call 0 failed"):
        parallel(work, [(k,) for k in range(4)], workers=2)
    assert sorted(finished) == [1, 2, 3]
    assert threads._holds == 0 and threads._background_jobs == 0


def test_background_runs_beside_the_caller_and_parallel_does_not_wait_for_it():
    order = []

    def slow(k):
        time.sleep(0.05)
        order.append(("background", k))

    job = Background(slow, [(k,) for k in range(4)], workers=2)
    # The pool is busy: parallel() runs its calls here instead of queueing behind the job.
    start = time.perf_counter()
    parallel(lambda k: order.append(("parallel", k)), [(0,), (1,)], workers=2)
    assert time.perf_counter() - start < 0.04
    assert set(blas_threads()) == {1}  # held until join
    job.join()
    assert sorted(k for who, k in order if who == "background") == [0, 1, 2, 3]
    assert threads._holds == 0 and threads._background_jobs == 0
    job.join()  # a second join is harmless


@pytest.mark.parametrize("shape", [(300, 20, 40), (40, 20, 300)])
def test_matmul_splits_rows_or_columns_and_matches(shape, monkeypatch):
    monkeypatch.setattr(threads, "PARALLEL_MIN_MACS", 0)
    M, K, P = shape
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((M, K)), rng.standard_normal((K, P))
    np.testing.assert_allclose(matmul(a, b, workers=3), a @ b, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(matmul(a[::2], b.T.copy().T, workers=2), a[::2] @ b,
                               rtol=1e-12, atol=1e-12)
