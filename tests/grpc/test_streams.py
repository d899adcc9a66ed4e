"""WatchReadyJobs and WatchEvents through a real server: readiness, the end of a
workflow, replay, coalescing, targeting, slow subscribers, limits, shutdown."""

from __future__ import annotations

import threading

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import event_pb2 as epb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Backoff, watch_events, watch_ready_jobs
from torc_grpc.testing import (
    BIG,
    Stubs,
    assert_refused,
    local_server,
    run_job,
    setup,
    status_of,
    wait_until,
)

S = c.JobStatus
CHAIN = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]


def ready_stream(stubs, wf, node=0):
    return stubs.worker.WatchReadyJobs(kpb.WatchReadyJobsRequest(workflow_id=wf, compute_node_id=node), timeout=60)


def events_of(stubs, wf, after=0):
    return list(stubs.event.ListEvents(epb.ListEventsRequest(workflow_id=wf, after=after)).events)


def claim(stubs, wf, node, limit=0, resources=BIG):
    return stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
        workflow_id=wf, compute_node_id=node, resources=resources, limit=limit)).jobs


def test_dependent_arrives_after_blocker_then_workflow_complete(stubs):
    wf, ids, run, node = setup(stubs, CHAIN)
    stream = ready_stream(stubs, wf)
    assert list(next(stream).job_ids) == [ids["a"]]  # the jobs ready now
    assert [j.id for j in claim(stubs, wf, node)] == [ids["a"]]
    run_job(stubs, ids["a"], run, node)
    assert list(next(stream).job_ids) == [ids["b"]]
    assert [j.id for j in claim(stubs, wf, node)] == [ids["b"]]
    run_job(stubs, ids["b"], run, node)
    final = next(stream)
    assert final.workflow_complete and not final.workflow_canceled and not final.job_ids
    with pytest.raises(StopIteration):
        next(stream)
    assert stream.code() == grpc.StatusCode.OK
    kinds = [e.event_type for e in events_of(stubs, wf)]
    assert kinds[-1] == "workflow_complete"


def test_cancel_ends_observers_and_workers_and_cancels_running_jobs(served):
    running, stubs = served
    jobs = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x"),
            c.JobSpec(name="c", command="x", depends_on=["a"])]
    wf, ids, run, node = setup(stubs, jobs)
    observer, worker = ready_stream(stubs, wf), ready_stream(stubs, wf, node)
    assert sorted(next(observer).job_ids) == [ids["a"], ids["b"]]
    assert not next(worker).job_ids  # a worker's first message only acknowledges
    claim(stubs, wf, node, limit=2)
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["a"], run_id=run, compute_node_id=node))
    resp = stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf))
    assert resp.num_canceled == 2
    for stream in (observer, worker):
        final = next(stream)
        assert final.workflow_canceled and not final.workflow_complete
        with pytest.raises(StopIteration):
            next(stream)
    status = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf))
    assert status.is_canceled and status.is_complete
    got = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    assert not got.jobs and "canceled" in got.reason
    # The worker's late completion is refused (torc: "already complete"); a new subscriber ends at once.
    with pytest.raises(grpc.RpcError) as err:
        stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=ids["a"], status=S.JOB_STATUS_TERMINATED, run_id=run))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert [m.workflow_canceled for m in ready_stream(stubs, wf)] == [True]
    canceled = [e for e in events_of(stubs, wf) if e.event_type == "workflow_canceled"]
    assert len(canceled) == 1 and canceled[0].severity == c.SEVERITY_WARNING
    assert stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf)).num_canceled == 0
    wait_until(lambda: running.engine.notifier.open_streams == 0, what="streams released")


def test_unknown_workflow_or_node_is_refused(stubs, db_path):
    wf, _ids, _run, node = setup(stubs, CHAIN)
    other, _, _, other_node = setup(stubs, CHAIN)

    def drain(stream):
        return lambda: list(stream)

    assert_refused(drain(ready_stream(stubs, 999)), grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")
    assert_refused(drain(ready_stream(stubs, wf, 999)), grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")
    assert_refused(drain(ready_stream(stubs, wf, other_node)), grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs,
                   f"belongs to workflow {other}")
    assert_refused(drain(stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=999))),
                   grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")
    assert_refused(drain(stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf, replay_after=-1))),
                   grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs, "replay_after")
    assert_refused(lambda: stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=999)),
                   grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")


def test_replay_returns_exactly_the_missed_events_in_order(stubs):
    wf, ids, run, node = setup(stubs, CHAIN)
    stream = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf, replay_after=0), timeout=60)
    history = events_of(stubs, wf)
    seen = [next(stream) for _ in history]
    assert seen == history  # the replay is the stored history
    claim(stubs, wf, node)
    run_job(stubs, ids["a"], run, node)
    live = next(stream)
    assert live.event_type == "job_started"
    stream.cancel()
    # While disconnected: b runs, the workflow completes.
    wait_until(lambda: claim(stubs, wf, node), what="b claimed")
    run_job(stubs, ids["b"], run, node)
    wait_until(lambda: events_of(stubs, wf)[-1].event_type == "workflow_complete")
    missed = events_of(stubs, wf, after=live.id)
    again = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf, replay_after=live.id), timeout=60)
    got = [next(again) for _ in missed]
    assert got == missed
    assert [e.event_type for e in got] == [
        "job_completed", "job_started", "job_completed", "workflow_complete"]
    # Live events follow the replay with nothing repeated.
    stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(workflow_id=wf, hostname="late"))
    after = next(again)
    assert after.event_type == "compute_node_registered" and after.id > got[-1].id
    again.cancel()


def test_events_carry_severity_and_filter_by_it(stubs):
    jobs = [c.JobSpec(name="ok", command="x"), c.JobSpec(name="bad", command="x"),
            c.JobSpec(name="after", command="x", depends_on=["bad"])]
    wf, ids, run, node = setup(stubs, jobs)
    warnings = stubs.event.WatchEvents(epb.WatchEventsRequest(
        workflow_id=wf, min_severity=c.SEVERITY_WARNING, replay_after=0), timeout=60)
    everything = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf, replay_after=0), timeout=60)
    claim(stubs, wf, node)
    run_job(stubs, ids["ok"], run, node)
    run_job(stubs, ids["bad"], run, node, status=S.JOB_STATUS_FAILED, rc=3)
    wait_until(lambda: events_of(stubs, wf)[-1].event_type == "workflow_complete")
    stored = events_of(stubs, wf)
    kinds = {e.event_type: e.severity for e in stored}
    assert kinds == {
        "workflow_created": c.SEVERITY_INFO, "workflow_started": c.SEVERITY_INFO,
        "compute_node_registered": c.SEVERITY_INFO, "job_started": c.SEVERITY_INFO,
        "job_completed": c.SEVERITY_INFO, "job_failed": c.SEVERITY_ERROR,
        "workflow_complete": c.SEVERITY_INFO,
    }
    assert [next(everything) for _ in stored] == stored
    assert next(warnings).event_type == "job_failed"
    warnings.cancel()
    everything.cancel()


def test_ten_thousand_ready_jobs_are_a_few_messages(stubs):
    jobs = [c.JobSpec(name="root", command="x")]
    jobs += [c.JobSpec(name=f"j{i}", command="x", depends_on=["root"]) for i in range(10_000)]
    wf, ids, run, node = setup(stubs, jobs)
    stream = ready_stream(stubs, wf)
    assert list(next(stream).job_ids) == [ids["root"]]
    claim(stubs, wf, node, limit=1)
    run_job(stubs, ids["root"], run, node)
    got, messages = set(), 0
    while len(got) < 10_000:
        got.update(next(stream).job_ids)
        messages += 1
    assert got == {ids[f"j{i}"] for i in range(10_000)}
    assert messages <= 3  # 4,096 ids per message
    stream.cancel()


def test_workers_are_told_only_while_waiting(served):
    running, stubs = served
    notifier = running.engine.notifier
    jobs = [c.JobSpec(name="root", command="x"), c.JobSpec(name="x", command="x"),
            c.JobSpec(name="later", command="x", depends_on=["root"])]
    wf, ids, run, busy = setup(stubs, jobs)
    idle = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, hostname="idle", resources=BIG)).compute_node_id
    busy_stream, idle_stream = ready_stream(stubs, wf, busy), ready_stream(stubs, wf, idle)
    assert not next(busy_stream).job_ids and not next(idle_stream).job_ids
    assert len(claim(stubs, wf, busy, limit=2)) == 2  # a full claim: busy is not waiting
    assert not claim(stubs, wf, idle, limit=2)  # a short claim: idle waits
    before = notifier.worker_wakeups
    run_job(stubs, ids["root"], run, busy)
    assert list(next(idle_stream).job_ids) == [ids["later"]]
    assert notifier.worker_wakeups == before + 1  # only the waiting node was told
    # Told once: idle left the waiting set; its next short claim puts it back.
    assert [j.id for j in claim(stubs, wf, idle, limit=2)] == [ids["later"]]
    run_job(stubs, ids["x"], run, busy)
    run_job(stubs, ids["later"], run, idle)
    for stream in (busy_stream, idle_stream):
        assert [m.workflow_complete for m in stream] == [True]
    assert notifier.worker_wakeups == before + 1


def test_a_second_subscription_of_a_node_replaces_the_first(stubs):
    wf, _ids, _run, node = setup(stubs, CHAIN)
    first = ready_stream(stubs, wf, node)
    next(first)
    second = ready_stream(stubs, wf, node)
    next(second)
    with pytest.raises(grpc.RpcError) as err:
        next(first)
    assert err.value.code() == grpc.StatusCode.ABORTED and "newer subscription" in err.value.details()
    second.cancel()


def test_stalled_subscriber_is_ended_while_others_keep_receiving(db_path):
    with local_server(db_path, stream_backlog=50) as (running, stubs):
        jobs = [c.JobSpec(name=f"j{i}", command="x") for i in range(300)]
        wf, ids, run, node = setup(stubs, jobs)
        # A client that never reads, with a tiny receive window: the server's sends block at once.
        stalled_stubs = Stubs.connect(f"127.0.0.1:{running.port}", options=[
            ("grpc.http2.bdp_probe", 0), ("grpc.http2.lookahead_bytes", 1024)])
        stalled = stalled_stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf), timeout=60)
        reader = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf), timeout=60)
        wait_until(lambda: running.engine.notifier.open_streams == 2, what="both subscribed")
        received = []

        def consume():
            for event in reader:
                received.append(event.event_type)
                if event.event_type == "workflow_complete":
                    return

        consumer = threading.Thread(target=consume)
        consumer.start()
        claimed = stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf, limit=300)).jobs
        assert len(claimed) == 300
        for chunk in range(0, 300, 25):  # the reader keeps up: it has each batch before the next
            stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[
                kpb.CompleteJobRequest(job_id=j.id, status=S.JOB_STATUS_COMPLETED, run_id=run)
                for j in claimed[chunk:chunk + 25]]))
            wait_until(lambda: len(received) >= chunk + 25, what=f"reader has {chunk + 25} events")
        consumer.join(30)
        reader.cancel()
        assert received.count("job_completed") == 300
        with pytest.raises(grpc.RpcError) as err:
            list(stalled)
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "fell more than 50 messages behind" in err.value.details()
        wait_until(lambda: running.engine.notifier.open_streams == 0, what="streams released")
        stalled_stubs.channel.close()


def test_stream_cap_refuses_and_frees(db_path):
    with local_server(db_path, max_streams=3) as (running, stubs):
        wf, _ids, _run, _node = setup(stubs, CHAIN)
        streams = [ready_stream(stubs, wf) for _ in range(3)]
        for s in streams:
            next(s)
        with pytest.raises(grpc.RpcError) as err:
            next(ready_stream(stubs, wf))
        assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "--max-streams" in err.value.details()
        streams[0].cancel()
        wait_until(lambda: running.engine.notifier.open_streams == 2, what="a slot freed")
        extra = ready_stream(stubs, wf)
        assert list(next(extra).job_ids)
        for s in (*streams, extra):
            s.cancel()
        wait_until(lambda: running.engine.notifier.open_streams == 0, what="all freed")


def test_shutdown_ends_streams_promptly(db_path):
    with local_server(db_path) as (running, stubs):
        wf, _ids, _run, _node = setup(stubs, CHAIN)
        stream = ready_stream(stubs, wf)
        next(stream)
        events = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf), timeout=60)
        wait_until(lambda: running.engine.notifier.open_streams == 2)
        stopper = threading.Thread(target=running.stop, args=(30.0,))
        stopper.start()
        for s in (stream, events):
            with pytest.raises(grpc.RpcError) as err:
                next(s)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        stopper.join(10)
        assert not stopper.is_alive()  # did not wait out the 30 s grace for the streams


def test_deleting_a_workflow_ends_its_streams(stubs):
    wf, _ids, _run, _node = setup(stubs, CHAIN)
    stream = ready_stream(stubs, wf)
    next(stream)
    events = stubs.event.WatchEvents(epb.WatchEventsRequest(workflow_id=wf), timeout=60)
    stubs.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=wf))
    for s in (stream, events):
        with pytest.raises(grpc.RpcError) as err:
            next(s)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_client_helpers_reconnect_across_a_server_restart(db_path):
    fast = Backoff(initial=0.05, maximum=0.2, max_attempts=50)
    with local_server(db_path) as (running, stubs):
        port = running.port
        wf, ids, run, node = setup(stubs, CHAIN)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        events = watch_events(channel, wf, replay_after=0, backoff=fast)
        before = events_of(stubs, wf)
        assert [next(events) for _ in before] == before
        ready = watch_ready_jobs(channel, wf, backoff=fast)
        assert list(next(ready).job_ids) == [ids["a"]]
    # Same database, same port: the helpers resubscribe by themselves.
    with local_server(db_path, port=port) as (running, stubs):
        claim(stubs, wf, node)
        run_job(stubs, ids["a"], run, node)
        wait_until(lambda: status_of(stubs, ids["b"]) == S.JOB_STATUS_READY, what="b ready")
        missed = events_of(stubs, wf, before[-1].id)
        assert [e.event_type for e in missed] == ["job_started", "job_completed"]
        assert [next(events) for _ in missed] == missed
        msg = next(ready)  # the snapshot on reconnect, or the batch if it came later
        assert ids["b"] in msg.job_ids
        claim(stubs, wf, node)
        run_job(stubs, ids["b"], run, node)
        assert [m.workflow_complete for m in ready] == [True]
        events.close()
        channel.close()
