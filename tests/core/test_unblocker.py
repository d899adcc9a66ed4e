"""The unblocker through a real Engine on a real file: deliberate batching
(TORC_UNBLOCK_INTERVAL), flushing on close, and barrier fan-in."""

from __future__ import annotations

import logging
import re
import time

import pytest

from torc_core import store
from torc_core.engine import Engine
from torc_core.models import Completion, JobSpec, JobStatus, WorkflowSpec
from torc_core.engine.unblocker import interval_from_env


def batches_logged(caplog) -> list[int]:
    return [int(m.group(1)) for r in caplog.records
            if (m := re.search(r": (\d+) completions processed", r.getMessage()))]


def fan_in(n: int) -> WorkflowSpec:
    jobs = [JobSpec(name=f"b{i}", command="x") for i in range(n)]
    jobs.append(JobSpec(name="sink", command="x", depends_on=tuple(f"b{i}" for i in range(n))))
    return WorkflowSpec(name="fan-in", jobs=tuple(jobs))


def test_interval_batches_completions_together(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="torc_core.engine")
    engine = Engine(str(tmp_path / "i.db"), unblock_interval=3.0)
    try:
        wf, ids = engine.create_workflow(fan_in(2))
        run = engine.start_workflow(wf.id).run_id
        engine.claim_next_jobs(wf.id)
        for name in ("b0", "b1"):  # two calls, well inside one interval
            assert engine.complete_jobs([Completion(ids[name], 5, run)]) == [None]
        # The second submission must not cut the interval short.
        assert batches_logged(caplog) == []
        assert engine.get_job(ids["sink"]).status == JobStatus.BLOCKED
        assert engine.unblocker.flush(timeout=30)
        assert batches_logged(caplog) == [2]
        assert engine.get_job(ids["sink"]).status == JobStatus.READY
    finally:
        engine.close()


def test_close_flushes_without_waiting_for_the_interval(tmp_path):
    path = str(tmp_path / "f.db")
    engine = Engine(path, unblock_interval=60.0)
    wf, ids = engine.create_workflow(fan_in(1))
    run = engine.start_workflow(wf.id).run_id
    engine.claim_next_jobs(wf.id)
    engine.complete_jobs([Completion(ids["b0"], 5, run)])
    t0 = time.monotonic()
    engine.close()
    assert time.monotonic() - t0 < 10
    reopened = Engine(path)
    try:
        assert reopened.get_job(ids["sink"]).status == JobStatus.READY
    finally:
        reopened.close()


def test_interval_from_env(monkeypatch):
    monkeypatch.delenv("TORC_UNBLOCK_INTERVAL", raising=False)
    assert interval_from_env() == 0.0
    monkeypatch.setenv("TORC_UNBLOCK_INTERVAL", "0.5")
    assert interval_from_env() == 0.5
    for bad in ("soon", "-1"):
        monkeypatch.setenv("TORC_UNBLOCK_INTERVAL", bad)
        with pytest.raises(ValueError, match="TORC_UNBLOCK_INTERVAL"):
            interval_from_env()


def test_barrier_fan_in_of_1000_ready_only_after_the_last(tmp_path):
    n = 1000
    engine = Engine(str(tmp_path / "b.db"))
    try:
        wf, ids = engine.create_workflow(fan_in(n))
        run = engine.start_workflow(wf.id).run_id
        claimed = []
        while len(claimed) < n:
            claimed += [j.id for j in engine.claim_next_jobs(wf.id, limit=500).jobs]
        assert ids["sink"] not in claimed
        last = claimed.pop()
        for k in range(0, n - 1, 100):  # several batches, one of them partial
            assert engine.complete_jobs([Completion(j, 5, run) for j in claimed[k:k + 100]]) \
                == [None] * len(claimed[k:k + 100])
        assert engine.unblocker.flush(timeout=30)
        assert engine.get_job(ids["sink"]).status == JobStatus.BLOCKED
        assert engine.claim_next_jobs(wf.id).jobs == ()
        engine.complete_jobs([Completion(last, 5, run)])
        assert engine.unblocker.flush(timeout=30)
        assert engine.get_job(ids["sink"]).status == JobStatus.READY
        assert [j.name for j in engine.claim_next_jobs(wf.id).jobs] == ["sink"]
    finally:
        engine.close()


def test_completions_nothing_depends_on_skip_the_unblocker_but_the_last_completes_the_workflow(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="torc_core.engine")
    path = str(tmp_path / "leaves.db")
    engine = Engine(path)
    jobs = [JobSpec(name=f"a{i}", command="x") for i in range(5)]
    jobs += [JobSpec(name="p", command="x"), JobSpec(name="q", command="x", depends_on=("p",))]
    try:
        wf, ids = engine.create_workflow(WorkflowSpec(name="leaves", jobs=tuple(jobs)))
        run = engine.start_workflow(wf.id).run_id
        engine.claim_next_jobs(wf.id, limit=10)
        assert engine.complete_jobs([Completion(ids[f"a{i}"], JobStatus.COMPLETED, run) for i in range(4)]) == [None] * 4
        assert engine.unblocker.flush(timeout=30)
        assert batches_logged(caplog) == []  # nothing for the unblocker: no dependents, not the last
        assert _pending(path, wf.id) == []
        assert engine.complete_jobs([Completion(ids["p"], JobStatus.COMPLETED, run)]) == [None]
        assert engine.unblocker.flush(timeout=30) and batches_logged(caplog) == [1]
        assert engine.get_job(ids["q"]).status == JobStatus.READY
        engine.claim_next_jobs(wf.id)
        assert engine.complete_jobs([Completion(ids["a4"], JobStatus.FAILED, run)]) == [None]
        assert engine.unblocker.flush(timeout=30) and batches_logged(caplog) == [1]  # q is still to do
        assert not engine.get_workflow_status(wf.id).is_complete
        assert engine.complete_jobs([Completion(ids["q"], JobStatus.COMPLETED, run)]) == [None]  # the last
        assert engine.unblocker.flush(timeout=30) and batches_logged(caplog) == [1, 1]
        assert engine.get_workflow_status(wf.id).is_complete
        events = [e.event_type for e in engine.list_events(wf.id, limit=1000).items]
        assert events.count("workflow_complete") == 1
    finally:
        engine.close()
    reopened = Engine(path)  # nothing left to recover, and still complete
    try:
        assert reopened.unblocker.flush(timeout=30) and reopened.get_workflow_status(wf.id).is_complete
        assert _pending(path, wf.id) == []
    finally:
        reopened.close()


def _pending(path: str, workflow_id: int) -> list:
    """Completions whose unblocking is not committed, read on a connection of its own."""
    conn = store.open_connection(path)
    try:
        return store.pending_unblock(conn, workflow_id)
    finally:
        conn.close()
