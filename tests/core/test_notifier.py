"""The notifier through a real Engine on a real file: which waiting workers are
told (resources, labels, limits), ordering, events only after commit, and the
registry's bookkeeping."""

from __future__ import annotations

import pytest

from torc_core.engine import Engine
from torc_core.errors import ResourceExhausted
from torc_core.models import (
    ClaimRequest,
    Completion,
    ComputeNodeSpec,
    JobSpec,
    JobStatus,
    ResourceRequirementsSpec,
    Resources,
    Severity,
    WorkflowSpec,
)
from torc_core.notifier import CHUNK, End, Shape

GiB = 1024**3


@pytest.fixture
def engine(tmp_path):
    eng = Engine(str(tmp_path / "n.db"))
    yield eng
    eng.close()


def told(sub) -> list[int]:
    """What a subscription holds right now (without blocking)."""
    ids, _end = sub.take(timeout=0)
    return sorted(ids)


def node(engine, wf, cpus=1, gpus=0, mem=GiB):
    return engine.register_compute_node(ComputeNodeSpec(
        wf, "h", resources=Resources(num_cpus=cpus, memory_bytes=mem, num_gpus=gpus, num_nodes=1)))


def gated(engine, dependents, rr=()):
    """root -> dependents; started, root claimed by a node of its own."""
    jobs = [JobSpec(name="root", command="x"), *dependents]
    wf, ids = engine.create_workflow(WorkflowSpec(name="w", jobs=tuple(jobs), resource_requirements=tuple(rr)))
    run = engine.start_workflow(wf.id).run_id
    engine.claim_next_jobs(wf.id, limit=1)
    return wf.id, ids, run


def release(engine, ids, run):
    assert engine.complete_jobs([Completion(ids["root"], JobStatus.COMPLETED, run)]) == [None]
    assert engine.unblocker.flush(30)


def test_shape_absorbs_what_fits():
    demand = {("", 2, GiB, 0, 1, 60): [1, 2, 3], ("", 1, GiB, 1, 1, 60): [4], ("gpu", 1, 0, 0, 1, 60): [5]}
    assert sorted(Shape(4, 8 * GiB, 0, 1, 0).absorb(demand)) == [2, 3]  # 2 of the 2-CPU jobs, no GPU
    assert demand[("", 2, GiB, 0, 1, 60)] == [1]
    assert Shape(4, 8 * GiB, 1, 1, 30).absorb(demand) == []  # 60 s jobs, 30 s left
    assert sorted(Shape(8, 8 * GiB, 1, 1, 0, limit=1).absorb(demand)) == [1]  # claim limit
    assert Shape(8, 8 * GiB, 1, 1, 0, label="gpu").absorb(demand) == [5]  # labels match exactly
    assert Shape(8, 8 * GiB, 1, 1, 0).absorb(demand) == [4]


def test_each_new_job_goes_to_a_worker_that_fits_it(engine):
    rr = [ResourceRequirementsSpec(name="gpu", num_cpus=1, num_gpus=1, memory="1g", runtime="PT1M")]
    wf, ids, _run = gated(engine, [JobSpec(name="g", command="x", depends_on=("root",), resource_requirements="gpu"),
                                   JobSpec(name="c", command="x", depends_on=("root",))], rr)
    cpu_nodes = [node(engine, wf) for _ in range(3)]
    gpu_node = node(engine, wf, gpus=1)
    subs = {n: engine.watch_ready(wf, n) for n in (*cpu_nodes, gpu_node)}
    assert all(told(s) == [] for s in subs.values())  # acknowledgements
    release(engine, ids, _run)
    # In waiting order: the first CPU node takes c, the other two cannot run g, the GPU node takes g.
    assert [told(subs[n]) for n in (*cpu_nodes, gpu_node)] == [[ids["c"]], [], [], [ids["g"]]]
    assert engine.notifier.worker_wakeups == 2
    # Examined but unable to help: they move behind the others for the next batch.
    assert list(engine.notifier._workflows[wf].waiting) == cpu_nodes[1:]
    for s in subs.values():
        s.close()


def test_a_full_claim_leaves_the_waiting_set_and_a_short_one_rejoins(engine):
    wf, ids, run = gated(engine, [JobSpec(name=f"j{i}", command="x", depends_on=("root",)) for i in range(3)])
    n = node(engine, wf, cpus=4)
    sub = engine.watch_ready(wf, n)
    told(sub)
    big = Resources(num_cpus=4, memory_bytes=4 * GiB, num_nodes=1)
    assert not engine.claim_jobs(ClaimRequest(wf, n, big)).jobs  # short: waiting
    release(engine, ids, run)
    assert len(told(sub)) == 3  # 4 free CPUs: it can take all three
    assert len(engine.claim_jobs(ClaimRequest(wf, n, big, limit=2)).jobs) == 2  # full: busy
    wf2 = engine.notifier._workflows[wf]
    assert n not in wf2.waiting
    assert len(engine.claim_jobs(ClaimRequest(wf, n, big, limit=2)).jobs) == 1  # short again
    assert n in wf2.waiting and wf2.waiting[n].shape.num_cpus == 3
    sub.close()


def test_observer_snapshot_then_batches_then_the_end(engine):
    wf, ids, run = gated(engine, [JobSpec(name=f"j{i}", command="x", depends_on=("root",))
                                  for i in range(CHUNK + 10)])
    sub = engine.watch_ready(wf)
    first = next(sub.messages(wait=5))
    assert first.job_ids == ()  # root was claimed: nothing is ready right now
    release(engine, ids, run)
    msgs = sub.messages(wait=5)
    got = [next(msgs), next(msgs)]
    assert [len(m.job_ids) for m in got] == [CHUNK, 10]
    engine.claim_next_jobs(wf, limit=CHUNK + 10)
    engine.complete_jobs([Completion(ids[f"j{i}"], JobStatus.COMPLETED, run) for i in range(CHUNK + 10)])
    assert engine.unblocker.flush(30)
    assert next(msgs).workflow_complete
    assert list(msgs) == [] and sub.end is End.COMPLETE
    sub.close()
    assert engine.notifier.open_streams == 0 and not engine.notifier._workflows


def test_events_of_a_rolled_back_transaction_are_never_published(engine):
    wf, _ = engine.create_workflow(WorkflowSpec(name="w", jobs=(JobSpec(name="a", command="x"),)))
    sub, events = engine.watch_events(wf.id, Severity.DEBUG)
    core = engine._core
    with core.write_lock:
        with pytest.raises(RuntimeError):
            with core.transaction() as tx:
                tx.event(wf.id, "doomed", Severity.INFO)
                raise RuntimeError("roll back")
    engine.cancel_workflow(wf.id)
    assert next(events).event_type == "workflow_canceled"
    assert [e.event_type for e in engine.list_events(wf.id).items] == ["workflow_created", "workflow_canceled"]
    sub.close()


def test_limit_and_bookkeeping(engine):
    engine.notifier.configure(max_streams=2, backlog=10)
    wf, _ = engine.create_workflow(WorkflowSpec(name="w", jobs=(JobSpec(name="a", command="x"),)))
    a = engine.watch_ready(wf.id)
    b, _events = engine.watch_events(wf.id)
    with pytest.raises(ResourceExhausted, match="stream limit"):
        engine.watch_ready(wf.id)
    a.close()
    a.close()  # idempotent: counted once
    assert engine.notifier.open_streams == 1
    c = engine.watch_ready(wf.id)
    for sub in (b, c):
        sub.close()
    assert engine.notifier.open_streams == 0 and not engine.notifier._workflows
    with pytest.raises(ValueError):
        engine.notifier.configure(max_streams=0, backlog=1)
