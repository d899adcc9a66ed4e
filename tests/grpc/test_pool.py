"""The elastic thread pool: grows to its cap, queues beyond it, shrinks when idle."""

from __future__ import annotations

import threading

import pytest

from torc_grpc.pool import ElasticThreadPool
from torc_grpc.testing import wait_until


def test_grows_to_the_cap_queues_beyond_and_shrinks_when_idle():
    pool = ElasticThreadPool(max_workers=8, idle_seconds=0.2)
    gate = threading.Event()
    started = []
    futures = [pool.submit(lambda k=k: (started.append(k), gate.wait(30), k)[2]) for k in range(12)]
    wait_until(lambda: len(started) == 8, what="8 tasks running")
    assert pool.num_threads == 8  # the cap; 4 tasks wait in the queue
    gate.set()
    assert sorted(f.result(timeout=30) for f in futures) == list(range(12))
    wait_until(lambda: pool.num_threads == 0, what="idle threads gone")
    assert pool.submit(lambda: "again").result(timeout=30) == "again"  # and it grows again
    pool.shutdown()


def test_reuses_idle_threads_and_reports_errors():
    pool = ElasticThreadPool(max_workers=4, idle_seconds=30)
    for k in range(20):  # sequential work needs one thread
        assert pool.submit(lambda k=k: k * 2).result(timeout=30) == k * 2
    # Deterministic: a thread counts itself idle before its caller gets the result.
    assert pool.num_threads == 1
    with pytest.raises(ZeroDivisionError):
        pool.submit(lambda: 1 / 0).result(timeout=30)
    pool.shutdown(wait=True)
    assert pool.num_threads == 0  # wait=True returned only after every thread ended
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)


def test_threads_get_small_stacks_and_the_default_is_restored():
    before = threading.stack_size()
    pool = ElasticThreadPool(max_workers=1, stack_bytes=256 * 1024)
    # Deep enough recursion for the servicers' needs runs fine on 256 KiB.
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert pool.submit(depth, 500).result(timeout=30) == 500
    assert threading.stack_size() == before
    pool.shutdown()


def test_shutdown_waits_for_running_work_and_cancels_queued_work():
    pool = ElasticThreadPool(max_workers=1, idle_seconds=30)
    gate = threading.Event()
    running = pool.submit(gate.wait, 30)
    queued = pool.submit(lambda: "never")
    wait_until(lambda: running.running(), what="first task running")
    threading.Timer(0.05, gate.set).start()
    pool.shutdown(wait=True, cancel_futures=True)
    assert running.result(timeout=0) is True and queued.cancelled()
    assert pool.num_threads == 0
