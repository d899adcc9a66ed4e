"""Pinned regressions of hostile and careless input: each case once failed
(INTERNAL, a hang, a wedge or a dead worker) and now gets a clear status
that names the field, with the database unchanged."""

from __future__ import annotations

import math
import threading
import time

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import BIG, assert_refused, local_server, setup, status_of, wait_until

S = c.JobStatus
MiB = 1024 * 1024


def create(stubs, spec):
    return stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec), timeout=60)


def one_job(**job):
    return c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="true", **job)])


BAD_REQUESTS = {
    "deep JSON in user data": (
        lambda: c.WorkflowSpec(name="w", user_data=[c.UserDataSpec(name="u", data="[" * 985 + "]" * 985)]),
        "spec.user_data[0].data: JSON nests deeper than 64 levels"),
    "runtime of 400 digits": (
        lambda: c.WorkflowSpec(name="w", resource_requirements=[
            c.ResourceRequirementsSpec(name="r", runtime="P" + "9" * 400 + "D")]),
        "spec.resource_requirements[0].runtime: is longer than 64 bytes"),
    "runtime past 100 years": (
        lambda: c.WorkflowSpec(name="w", resource_requirements=[
            c.ResourceRequirementsSpec(name="r", runtime="P99999999999999999Y")]),
        "longer than 100 years"),
    "10 MB workflow name": (lambda: c.WorkflowSpec(name="n" * 10 * MiB), "spec.name: is longer than 1024 bytes"),
    "10 MB description": (lambda: c.WorkflowSpec(name="w", description="d" * 10 * MiB),
                          "spec.description: is longer than 16384 bytes"),
    "env name with =": (lambda: one_job(env={"A=B": "x"}), "spec.jobs[0].env: 'A=B' is not a valid"),
    "NUL in an env value": (lambda: one_job(env={"A": "x\x00y"}), "spec.jobs[0].env[A]: contains a NUL byte"),
    "NUL in a command": (lambda: c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="echo \x00")]),
                         "spec.jobs[0].command: contains a NUL byte"),
    "env name starting with a digit": (lambda: one_job(env={"1X": "x"}), "is not a valid environment"),
}


@pytest.mark.parametrize("case", BAD_REQUESTS)
def test_bad_definitions_are_invalid_argument(stubs, db_path, case):
    create(stubs, c.WorkflowSpec(name="keep", jobs=[c.JobSpec(name="k", command="true")]))
    make, message = BAD_REQUESTS[case]
    assert_refused(lambda: create(stubs, make()), grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs,
                   contains=message)


def test_non_finite_numbers_are_invalid_argument_naming_the_field(stubs, db_path):
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="true")])
    nan = float("nan")
    cases = [
        (lambda: stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, resources=c.Resources(num_cpus=1, time_limit_seconds=nan))),
         "resources.time_limit_seconds: must be a finite number"),
        (lambda: stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, resources=c.Resources(num_cpus=1, time_limit_seconds=math.inf))),
         "resources.time_limit_seconds"),
        (lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG, wait_seconds=nan),
                                        timeout=10), "wait_seconds: must be a finite number"),
        (lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG, wait_seconds=-1)),
         "wait_seconds: must be between 0"),
        (lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(
            job_id=ids["a"], status=S.JOB_STATUS_COMPLETED, run_id=run,
            result=c.JobResult(exec_time_seconds=nan))), "result.exec_time_seconds: must be a finite"),
        (lambda: stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[kpb.CompleteJobRequest(
            job_id=ids["a"], status=S.JOB_STATUS_COMPLETED, run_id=run,
            result=c.JobResult(peak_cpu_percent=-math.inf))])), "completions[0].result.peak_cpu_percent"),
        (lambda: stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf, after_id=-5)), "after_id: must be"),
        (lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, sort_method=99)),
         "sort_method: 99 is not a SortMethod value"),
    ]
    for call, message in cases:
        assert_refused(call, grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs, contains=message)


def test_a_long_poll_ends_at_the_clients_deadline(stubs):
    wf, _ids, _run, node = setup(stubs, [c.JobSpec(name="a", command="true", depends_on=[]),
                                         c.JobSpec(name="b", command="true", depends_on=["a"])])
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    t0 = time.monotonic()
    try:  # nothing becomes ready: the poll would wait 60 s; the server ends it just before the deadline
        resp = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG,
                                                           wait_seconds=60), timeout=1.0)
        assert not resp.jobs and resp.reason == "no ready job fits"
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert 0.5 < time.monotonic() - t0 < 3
    stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=5)


def test_list_pages_never_exceed_the_answer_budget(db_path):
    budget = 64 * 1024
    with local_server(db_path, answer_bytes=budget) as (_running, stubs):
        for k in range(12):  # 12 descriptions of 15 KiB: 180 KiB of workflows
            create(stubs, c.WorkflowSpec(name=f"w{k}", description="d" * 15_000))
        seen, after, pages = [], 0, 0
        while True:
            resp = stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest(after_id=after))
            assert resp.ByteSize() <= budget + 16 * 1024
            seen += [w.name for w in resp.workflows]
            pages += 1
            if not resp.next_after_id:
                break
            after = resp.next_after_id
        assert seen == [f"w{k}" for k in range(12)] and pages >= 3


def test_a_claim_that_could_not_be_sent_is_never_committed(db_path):
    budget = 300 * 1024
    with local_server(db_path, answer_bytes=budget) as (_running, stubs):
        jobs = [c.JobSpec(name=f"j{k}", command="true #" + "x" * 100_000) for k in range(10)]
        wf, ids, run, node = setup(stubs, jobs)
        got = []
        for _ in range(10):
            resp = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                               resources=BIG))
            assert 1 <= len(resp.jobs) <= 3 and resp.ByteSize() <= budget + 16 * 1024
            got += [j.id for j in resp.jobs]
            pending = {j for j in ids.values() if status_of(stubs, j) == S.JOB_STATUS_PENDING}
            assert pending == set(got)  # nothing claimed that was not sent
            if len(got) == 10:
                break
        assert sorted(got) == sorted(ids.values())


def test_force_reset_then_initialize_runs_again_and_completes(stubs, db_path):
    """Was a wedge: the rerun's completion was refused forever ("a result for
    run 1 attempt 1 already exists") and the workflow never completed."""
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="true")])
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["a"], run_id=run, compute_node_id=node))
    stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, force=True))
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf))
    # The old holder is fenced: it can neither complete nor start the job again.
    for call in (
        lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(
            job_id=ids["a"], status=S.JOB_STATUS_COMPLETED, run_id=run,
            result=c.JobResult(compute_node_id=node, attempt_id=1))),
        lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(
            job_id=ids["a"], status=S.JOB_STATUS_COMPLETED, run_id=run, result=c.JobResult(attempt_id=1))),
    ):
        assert_refused(call, grpc.StatusCode.FAILED_PRECONDITION, db_path, stubs)
    other = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, resources=BIG)).compute_node_id
    (job,) = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=other,
                                                         resources=BIG)).jobs
    assert job.attempt_id == 2
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=job.id, run_id=run, compute_node_id=other))
    stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=job.id, status=S.JOB_STATUS_COMPLETED, run_id=run,
                                                    result=c.JobResult(compute_node_id=other, attempt_id=2)))
    wait_until(lambda: stubs.workflow.GetWorkflowStatus(
        wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete, what="workflow complete")


def test_a_failed_job_reset_and_initialized_in_the_same_run_completes(stubs):
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="true")])
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["a"], run_id=run, compute_node_id=node))
    stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=ids["a"], status=S.JOB_STATUS_FAILED, run_id=run,
                                                    result=c.JobResult(return_code=1, compute_node_id=node)))
    stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, failed_only=True))
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf))
    (job,) = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG)).jobs
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=job.id, run_id=run, compute_node_id=node))
    stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=job.id, status=S.JOB_STATUS_COMPLETED, run_id=run,
                                                    result=c.JobResult(compute_node_id=node)))
    wait_until(lambda: stubs.workflow.GetWorkflowStatus(
        wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete, what="workflow complete")


def test_initialize_keeps_the_claims_of_live_nodes(stubs):
    """Was a double run: InitializeJobs made a job RUNNING on a live node READY again."""
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="true"), c.JobSpec(name="b", command="true")])
    claimed = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                          resources=BIG, limit=1)).jobs
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=claimed[0].id, run_id=run, compute_node_id=node))
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf))
    assert status_of(stubs, claimed[0].id) == S.JOB_STATUS_RUNNING
    rest = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG)).jobs
    assert [j.id for j in rest] != [claimed[0].id] and len(rest) == 1
    stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=claimed[0].id, status=S.JOB_STATUS_COMPLETED,
                                                    run_id=run, result=c.JobResult(compute_node_id=node)))
    assert status_of(stubs, claimed[0].id) == S.JOB_STATUS_COMPLETED


def test_deregister_gives_claims_back_at_once_and_fences_the_node(stubs, db_path):
    wf, ids, run, node = setup(stubs, [c.JobSpec(name="a", command="true"), c.JobSpec(name="b", command="true")])
    a, b = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG)).jobs
    stubs.worker.StartJob(kpb.StartJobRequest(job_id=a.id, run_id=run, compute_node_id=node))
    resp = stubs.worker.DeregisterComputeNode(kpb.DeregisterComputeNodeRequest(compute_node_id=node))
    assert list(resp.requeued_job_ids) == [b.id] and list(resp.failed_job_ids) == [a.id]
    assert status_of(stubs, b.id) == S.JOB_STATUS_READY
    assert_refused(lambda: stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node)),
                   grpc.StatusCode.FAILED_PRECONDITION, db_path, stubs)
    stubs.worker.DeregisterComputeNode(kpb.DeregisterComputeNodeRequest(compute_node_id=node))  # a no-op


def test_a_cancelled_long_poll_frees_its_thread(served):
    running, stubs = served
    wf, _ids, _run, node = setup(stubs, [c.JobSpec(name="a", command="true"),
                                         c.JobSpec(name="b", command="true", depends_on=["a"])])
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    before = threading.active_count()
    future = stubs.worker.ClaimJobs.future(kpb.ClaimJobsRequest(
        workflow_id=wf, compute_node_id=node, resources=BIG, wait_seconds=60))
    state = running.engine._core.states[wf]
    wait_until(lambda: state.changed._waiters, what="the long poll is waiting")  # noqa: SLF001
    future.cancel()
    wait_until(lambda: not state.changed._waiters, timeout=5, what="the long poll ended on cancel")
    assert threading.active_count() <= before + 1
