"""Resets, restarts, retries, failure handlers and leases through a real server."""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import (
    BIG,
    assert_refused,
    local_server,
    run_job,
    setup,
    status_of,
    wait_until,
)

S = c.JobStatus


def claim_all(stubs, wf, node, limit=0):
    return list(stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
        workflow_id=wf, compute_node_id=node, resources=BIG, limit=limit)).jobs)


def status(stubs, wf):
    return stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf))


def results(stubs, wf, job_id=0, all_runs=True):
    return list(stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf, job_id=job_id, all_runs=all_runs)).results)


def test_reinitialization_after_failure(served):
    running, stubs = served
    jobs = [c.JobSpec(name="setup", command="x"),
            *[c.JobSpec(name=n, command="x", depends_on=["setup"]) for n in ("work_a", "work_b", "work_fail")],
            c.JobSpec(name="finalize", command="x", depends_on=["work_a", "work_b", "work_fail"])]
    wf, ids, run, node = setup(stubs, jobs)
    engine = running.engine

    def drive(fail=()):
        while True:
            got = claim_all(stubs, wf, node)
            if not got:
                assert engine.unblocker.flush(30)
                got = claim_all(stubs, wf, node)
                if not got:
                    return
            for j in got:
                bad = j.id in fail
                run_job(stubs, j.id, run_id, node, status=S.JOB_STATUS_FAILED if bad else S.JOB_STATUS_COMPLETED,
                        rc=1 if bad else 0)

    run_id = run
    drive(fail={ids["work_fail"]})
    assert engine.unblocker.flush(30)
    assert status_of(stubs, ids["finalize"]) == S.JOB_STATUS_CANCELED
    assert status(stubs, wf).is_complete
    reset = stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, failed_only=True))
    assert reset.updated_count == 2  # work_fail and what its failure canceled
    run_id = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
    assert run_id == run + 1
    got = {n: status_of(stubs, ids[n]) for n in ("setup", "work_a", "work_b", "work_fail", "finalize")}
    assert got == {"setup": S.JOB_STATUS_COMPLETED, "work_a": S.JOB_STATUS_COMPLETED,
                   "work_b": S.JOB_STATUS_COMPLETED, "work_fail": S.JOB_STATUS_READY,
                   "finalize": S.JOB_STATUS_BLOCKED}
    drive()
    assert engine.unblocker.flush(30)
    assert all(status_of(stubs, j) == S.JOB_STATUS_COMPLETED for j in ids.values())
    assert status(stubs, wf).is_complete
    # Results are kept per (job, run, attempt): work_fail has one per run.
    per_run = sorted((r.run_id, r.return_code) for r in results(stubs, wf, ids["work_fail"]))
    assert per_run == [(run, 1), (run + 1, 0)]
    current = results(stubs, wf, all_runs=False)
    assert len(current) == 5 and {r.job_id for r in current} == set(ids.values())
    kinds = [e.event_type for e in running.engine.list_events(wf).items]
    assert "user_action" in kinds


def test_reset_all_and_the_force_guard(stubs, db_path):
    jobs = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]
    wf, ids, run, node = setup(stubs, jobs)
    claim_all(stubs, wf, node)
    assert_refused(lambda: stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf)),
                   grpc.StatusCode.FAILED_PRECONDITION, db_path, stubs, "pending or running")
    assert_refused(lambda: stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=999)),
                   grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")
    forced = stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, force=True))
    assert forced.updated_count == 2
    assert {status_of(stubs, j) for j in ids.values()} == {S.JOB_STATUS_UNINITIALIZED}
    # The node that held a reset job can no longer complete it.
    with pytest.raises(grpc.RpcError) as err:
        run_job(stubs, ids["a"], run, node)
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # A cancel is undone by a reset; StartWorkflow runs everything again.
    stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf))
    stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf))
    assert not status(stubs, wf).is_canceled
    new_run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
    assert [j.id for j in claim_all(stubs, wf, node)] == [ids["a"]] and new_run == run + 1


HANDLER = c.FailureHandlerSpec(name="flaky", rules=[
    c.FailureRule(exit_codes=[2], max_retries=3),
    c.FailureRule(match_all_exit_codes=True, max_retries=1),
])


def test_failure_handler_retries_twice_then_success_gives_three_results(served):
    running, stubs = served
    jobs = [c.JobSpec(name="flaky", command="x", failure_handler="flaky"),
            c.JobSpec(name="after", command="x", depends_on=["flaky"])]
    wf, ids, run, node = setup(stubs, jobs, failure_handlers=[HANDLER])
    for attempt, (st, rc) in enumerate([(S.JOB_STATUS_FAILED, 2), (S.JOB_STATUS_FAILED, 2),
                                        (S.JOB_STATUS_COMPLETED, 0)], start=1):
        got = claim_all(stubs, wf, node, limit=1)
        assert [(j.id, j.attempt_id) for j in got] == [(ids["flaky"], attempt)]
        done = run_job(stubs, ids["flaky"], run, node, status=st, rc=rc).job
        if st == S.JOB_STATUS_FAILED:
            assert done.status == S.JOB_STATUS_READY and done.attempt_id == attempt + 1
    assert running.engine.unblocker.flush(30)
    assert status_of(stubs, ids["flaky"]) == S.JOB_STATUS_COMPLETED
    assert status_of(stubs, ids["after"]) == S.JOB_STATUS_READY  # no cascade from the retried failures
    rows = sorted((r.attempt_id, r.return_code, r.status) for r in results(stubs, wf, ids["flaky"]))
    assert rows == [(1, 2, S.JOB_STATUS_FAILED), (2, 2, S.JOB_STATUS_FAILED), (3, 0, S.JOB_STATUS_COMPLETED)]
    retried = [e for e in running.engine.list_events(wf).items if e.event_type == "job_retried"]
    assert len(retried) == 2


def test_max_retries_three_means_at_most_three_runs(served):
    running, stubs = served
    jobs = [c.JobSpec(name="bad", command="x", failure_handler="flaky"),
            c.JobSpec(name="after", command="x", depends_on=["bad"])]
    wf, ids, run, node = setup(stubs, jobs, failure_handlers=[HANDLER])
    runs = 0
    while claim_all(stubs, wf, node, limit=1):
        runs += 1
        run_job(stubs, ids["bad"], run, node, status=S.JOB_STATUS_FAILED, rc=2)
    assert runs == 3
    assert running.engine.unblocker.flush(30)
    assert status_of(stubs, ids["bad"]) == S.JOB_STATUS_FAILED
    assert status_of(stubs, ids["after"]) == S.JOB_STATUS_CANCELED
    # Another exit code matches the match-all rule: max_retries 1 means no retry at all.
    assert len(results(stubs, wf, ids["bad"])) == 3


def test_retry_job_rpc_guards_and_effects(served, db_path):
    running, stubs = served
    jobs = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"]),
            c.JobSpec(name="r", command="x")]
    wf, ids, run, node = setup(stubs, jobs)

    def retry(job, run_id=run, max_retries=0):
        return lambda: stubs.job.RetryJob(jpb.RetryJobRequest(job_id=job, run_id=run_id, max_retries=max_retries))

    code = grpc.StatusCode
    assert_refused(retry(999), code.NOT_FOUND, db_path, stubs, "999")
    assert_refused(retry(ids["a"]), code.FAILED_PRECONDITION, db_path, stubs, "is READY")
    assert_refused(retry(ids["a"], run_id=run + 5), code.FAILED_PRECONDITION, db_path, stubs, "stale run_id")
    assert_refused(retry(ids["a"], max_retries=-1), code.INVALID_ARGUMENT, db_path, stubs, "max_retries")
    claim_all(stubs, wf, node)
    # From RUNNING (the worker decided before completing): READY with attempt 2, no result.
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["r"], run_id=run, compute_node_id=node))
    job = retry(ids["r"])().job
    assert job.status == S.JOB_STATUS_READY and job.attempt_id == 2
    assert_refused(retry(ids["r"]), code.FAILED_PRECONDITION, db_path, stubs, "is READY")
    # From FAILED after its cascade: the canceled dependent comes back blocked.
    run_job(stubs, ids["a"], run, node, status=S.JOB_STATUS_FAILED, rc=1)
    assert running.engine.unblocker.flush(30)
    assert status_of(stubs, ids["b"]) == S.JOB_STATUS_CANCELED
    assert_refused(retry(ids["a"], max_retries=1), code.FAILED_PRECONDITION, db_path, stubs, "used its 1 attempts")
    job = retry(ids["a"])().job
    assert job.status == S.JOB_STATUS_READY and job.attempt_id == 2
    assert status_of(stubs, ids["b"]) == S.JOB_STATUS_BLOCKED
    got = {j.id: j.attempt_id for j in claim_all(stubs, wf, node)}
    assert got == {ids["a"]: 2, ids["r"]: 2}
    run_job(stubs, ids["a"], run, node)
    assert running.engine.unblocker.flush(30)
    assert status_of(stubs, ids["b"]) == S.JOB_STATUS_READY


def test_lease_expiry_gives_jobs_back_and_fences_the_node(db_path):
    with local_server(db_path, node_lease=0.5) as (running, stubs):
        jobs = [c.JobSpec(name="p", command="x"), c.JobSpec(name="r", command="x"),
                c.JobSpec(name="after_r", command="x", depends_on=["r"])]
        wf, ids, run, node = setup(stubs, jobs)
        keeper = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="alive", resources=BIG)).compute_node_id
        stop = threading.Event()

        def heartbeat():
            while not stop.wait(0.1):  # a worker's heartbeat loop (the behaviour under test)
                stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=keeper), timeout=5)

        beating = threading.Thread(target=heartbeat)
        beating.start()
        try:
            held = claim_all(stubs, wf, node)
            assert sorted(j.id for j in held) == sorted([ids["p"], ids["r"]])
            stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["r"], run_id=run, compute_node_id=node))
            t0 = time.monotonic()
            wait_until(lambda: status_of(stubs, ids["p"]) == S.JOB_STATUS_READY, timeout=30, what="p given back")
            given_back = time.monotonic() - t0
            assert status_of(stubs, ids["r"]) == S.JOB_STATUS_FAILED
            (res,) = results(stubs, wf, ids["r"])
            assert res.return_code == -128
            assert running.engine.unblocker.flush(30)
            assert status_of(stubs, ids["after_r"]) == S.JOB_STATUS_CANCELED  # cascades apply
            expired = [e for e in running.engine.list_events(wf).items if e.event_type == "compute_node_expired"]
            assert len(expired) == 1 and expired[0].severity == c.SEVERITY_WARNING
            print(f"\nlease 0.5 s: pending job ready again {given_back * 1000:.0f} ms after the claim")
            # The heartbeating node kept its lease all along and can claim the job given back.
            assert [j.id for j in claim_all(stubs, wf, keeper)] == [ids["p"]]
        finally:
            stop.set()
            beating.join(10)
        code = grpc.StatusCode.FAILED_PRECONDITION
        assert_refused(lambda: stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node)),
                       code, db_path, stubs, "lease expired")
        assert_refused(lambda: claim_all(stubs, wf, node), code, db_path, stubs, "no longer active")
        assert_refused(lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(
            job_id=ids["p"], status=S.JOB_STATUS_COMPLETED, run_id=run,
            result=c.JobResult(compute_node_id=node))), code, db_path, stubs, "held by compute node")
        assert_refused(lambda: stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=999)),
                       grpc.StatusCode.NOT_FOUND, db_path, stubs, "999")
