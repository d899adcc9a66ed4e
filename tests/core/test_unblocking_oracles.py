"""Unblocking in the engine against its oracles: the graph kernel's twin and
torc's set-based SQL, on random DAGs; and the crash-safety replay of
completions whose unblocking was never committed."""

from __future__ import annotations

import random
import time

from torc_core import _reference, store
from torc_core.engine import Engine
from torc_core.models import Completion, JobSpec, WorkflowSpec
from torc_core.store import open_connection, transaction


def _random_dag(rng, n):
    jobs = []
    for i in range(n):
        deps = sorted({f"j{rng.randrange(i)}" for _ in range(rng.randint(0, 3))}) if i else []
        jobs.append(JobSpec(name=f"j{i}", command="x", depends_on=tuple(deps),
                            cancel_on_blocking_job_failure=rng.random() < 0.8))
    return jobs


def test_random_dags_engine_twin_and_sql_agree(tmp_path):
    rng = random.Random(2026)
    for case in range(12):
        path = str(tmp_path / f"r{case}.db")
        engine = Engine(path)
        try:
            wf, ids = engine.create_workflow(WorkflowSpec(name="r", jobs=tuple(_random_dag(rng, rng.randint(5, 80)))))
            run = engine.start_workflow(wf.id).run_id
            outcomes, deadline = {}, time.monotonic() + 60
            while time.monotonic() < deadline:
                jobs = engine.claim_next_jobs(wf.id, limit=rng.randint(1, 6)).jobs
                if not jobs:
                    engine.unblocker.flush()
                    if engine.get_workflow_status(wf.id).is_complete:
                        break
                    continue
                batch = []
                for j in jobs:
                    st = rng.choice([5, 5, 5, 6, 8])
                    outcomes[j.id] = st
                    batch.append(Completion(job_id=j.id, status=st, run_id=run, return_code=0 if st == 5 else 1))
                assert engine.complete_jobs(batch) == [None] * len(batch)
            engine.unblocker.flush()
            assert engine.get_workflow_status(wf.id).is_complete, f"case {case} stuck"
            final = {j.id: int(j.status) for j in engine.list_jobs(wf.id).items}
            # Replay the same outcomes in the twin and in set-based SQL from the initial state.
            conn = open_connection(path)
            arrays = store.load_graph_arrays(conn, wf.id)
            conn.close()
            flags = [int(j.cancel_on_blocking_job_failure) for j in engine.list_jobs(wf.id).items]
            twin = _reference.Graph(arrays[0], [0] * len(arrays[0]), flags, arrays[3], arrays[4])
            twin.initialize(False)
            pending = dict(outcomes)
            while pending:
                ready = [j for j in pending if twin.status_of(j) == 2]
                twin.complete(ready, [pending.pop(j) for j in ready])
            assert dict(zip(arrays[0], twin.statuses())) == final, f"case {case}"
        finally:
            engine.close()
        _sql_oracle_agrees(path, wf.id, outcomes, final)


def _sql_oracle_agrees(path, wf_id, outcomes, final):
    """Both set-based references (the whole workflow, and the batch's dependents
    only) reach the same statuses as the engine."""
    for targeted in (False, True):
        conn = open_connection(path)
        with transaction(conn) as c:
            store.set_initialized_statuses(c, list(final), [0] * len(final))
        engine = Engine(path)
        engine.initialize_jobs(wf_id)
        engine.close()
        pending = dict(outcomes)
        while pending:
            with transaction(conn) as c:
                now = {j.id: int(j.status) for j in store.list_jobs(c, wf_id, (), 0, 10_000)}
                ready = [j for j in pending if now[j] == 2]
                for j in ready:
                    store.complete_job(c, j, pending.pop(j), True)
                if targeted:
                    store.sql_unblock_batch(c, ready)
                else:
                    store.sql_unblock(c, wf_id)
        got = {j.id: int(j.status) for j in store.list_jobs(conn, wf_id, (), 0, 10_000)}
        conn.close()
        assert got == final, "targeted" if targeted else "whole workflow"


def test_restart_reprocesses_uncommitted_unblocking(tmp_path):
    path = str(tmp_path / "restart.db")
    engine = Engine(path)
    wf, ids = engine.create_workflow(WorkflowSpec(name="r", jobs=(
        JobSpec(name="a", command="x"), JobSpec(name="b", command="x", depends_on=("a",)),
        JobSpec(name="c", command="x", depends_on=("a",)), JobSpec(name="d", command="x", depends_on=("b", "c")))))
    run = engine.start_workflow(wf.id).run_id
    engine.claim_next_jobs(wf.id)
    engine.unblocker.stop()  # completions are acknowledged but never unblocked (a crash)
    assert engine.complete_jobs([Completion(job_id=ids["a"], status=6, run_id=run, return_code=2)]) == [None]
    engine._core.closed = True  # simulate the kill: no flush, no checkpoint
    conn = open_connection(path)
    assert store.pending_unblock(conn, wf.id) == [(ids["a"], 6)]
    conn.close()
    for _ in range(2):  # idempotent: a second restart changes nothing
        engine = Engine(path)
        engine.unblocker.flush()
        statuses = {j.name: int(j.status) for j in engine.list_jobs(wf.id).items}
        assert statuses == {"a": 6, "b": 7, "c": 7, "d": 7}
        assert engine.get_workflow_status(wf.id).is_complete
        engine.close()
