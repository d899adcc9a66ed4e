"""WatchWorkflowStatus through a real server: the status now, then each change
(the unblocker's ready jobs included, though they carry no event), at most
once per interval, ending with the message that says complete or canceled;
bad requests refused with the field named, nothing changed."""

from __future__ import annotations

import time

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import watch_status
from torc_grpc.testing import assert_refused, run_job, setup

from .test_streams import claim

S = c.JobStatus
CHAIN = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]


def counts(msg) -> dict:
    return {c.JobStatus.Name(n.status).removeprefix("JOB_STATUS_").lower(): n.count for n in msg.counts if n.count}


def watch(stubs, wf, interval=0.05):
    return stubs.workflow.WatchWorkflowStatus(
        wpb.WatchWorkflowStatusRequest(workflow_id=wf, min_interval_seconds=interval), timeout=60)


def next_until(stream, predicate):
    """Messages until one satisfies predicate (the stream's own timeout bounds it)."""
    for msg in stream:
        if predicate(msg):
            return msg
    raise AssertionError("the stream ended first")


def test_each_change_then_the_end(stubs):
    wf, ids, run, node = setup(stubs, CHAIN)
    stream = watch(stubs, wf)
    first = next(stream)
    assert counts(first) == {"ready": 1, "blocked": 1} and not first.is_complete and first.run_id == run
    claim(stubs, wf, node)
    run_job(stubs, ids["a"], run, node)
    # b becomes ready in the unblocker's own commit, which has no event: the stream still shows it.
    assert counts(next_until(stream, lambda m: counts(m).get("ready"))) == {"completed": 1, "ready": 1}
    claim(stubs, wf, node)
    run_job(stubs, ids["b"], run, node)
    last = next_until(stream, lambda m: m.is_complete)
    assert counts(last) == {"completed": 2}
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.code() == grpc.StatusCode.OK


def test_at_most_one_message_per_interval(stubs):
    jobs = [c.JobSpec(name=f"j{i}", command="x") for i in range(30)]
    wf, ids, run, node = setup(stubs, jobs)
    stream = watch(stubs, wf, interval=0.5)
    arrivals = [time.monotonic()]
    next(stream)
    claim(stubs, wf, node)
    for name in sorted(ids):
        run_job(stubs, ids[name], run, node)  # 30 completions as fast as they go
    for msg in stream:
        arrivals.append(time.monotonic())
        if msg.is_complete:
            break
    assert counts(msg) == {"completed": 30}
    gaps = [b - a for a, b in zip(arrivals[1:], arrivals[2:])]
    assert all(g >= 0.45 for g in gaps), gaps  # the server's rate limit (a lower bound only)


def test_cancel_is_the_last_message(stubs):
    wf, _ids, _run, _node = setup(stubs, CHAIN)
    stream = watch(stubs, wf)
    next(stream)
    stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf))
    last = next_until(stream, lambda m: m.is_complete)
    assert last.is_canceled
    with pytest.raises(StopIteration):
        next(stream)


def test_a_complete_workflow_answers_once(stubs):
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="x")])
    claim(stubs, wf, node)
    run_job(stubs, ids["a"], run, node)
    assert [m.is_complete for m in watch(stubs, wf)] == [True]
    assert [counts(m) for m in watch_status(stubs.channel, wf)] == [{"completed": 1}]


@pytest.mark.parametrize("interval", [0.01, 61.0, -1.0, float("nan"), float("inf")])
def test_bad_intervals_are_refused(stubs, db_path, interval):
    wf, _ids, _run, _node = setup(stubs, CHAIN)
    assert "min_interval_seconds" in assert_refused(lambda: next(watch(stubs, wf, interval)),
                                                    grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs)


def test_unknown_workflow(stubs, db_path):
    assert_refused(lambda: next(watch(stubs, 999)), grpc.StatusCode.NOT_FOUND, db_path, stubs)
