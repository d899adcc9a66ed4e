"""Claim, start, complete and background unblocking through a real server."""

from __future__ import annotations

import threading
import time

import grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import BIG, GiB, assert_refused, run_job, setup, status_of, wait_until

S = c.JobStatus


def test_chain_claim_start_complete_unblocks(stubs):
    jobs = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"]),
            c.JobSpec(name="c", command="x", depends_on=["b"])]
    wf, ids, run, node = setup(stubs, jobs)
    claimed = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    assert [j.name for j in claimed.jobs] == ["a"] and claimed.jobs[0].status == S.JOB_STATUS_PENDING
    done = run_job(stubs, ids["a"], run, node)
    assert done.job.status == S.JOB_STATUS_COMPLETED
    wait_until(lambda: status_of(stubs, ids["b"]) == S.JOB_STATUS_READY, what="b ready")
    assert status_of(stubs, ids["c"]) == S.JOB_STATUS_BLOCKED
    # Long poll: the claim waits for b to finish and returns c as soon as it is ready.
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    result = {}
    waiter = threading.Thread(target=lambda: result.update(r=stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
        workflow_id=wf, compute_node_id=node, resources=BIG, wait_seconds=30), timeout=40)))
    waiter.start()
    t0 = time.monotonic()
    run_job(stubs, ids["b"], run, node)
    waiter.join(40)
    assert [j.name for j in result["r"].jobs] == ["c"] and time.monotonic() - t0 < 10
    run_job(stubs, ids["c"], run, node)
    wait_until(lambda: stubs.workflow.GetWorkflowStatus(
        wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete, what="workflow complete")
    results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
    assert sorted(r.job_id for r in results) == sorted(ids.values())
    assert all(r.run_id == run and r.attempt_id == 1 and r.return_code == 0 for r in results)


def test_claim_packing_filters_and_next_jobs(stubs):
    rr = [c.ResourceRequirementsSpec(name="r", num_cpus=2, memory="4g", runtime="PT1H")]
    jobs = [c.JobSpec(name=f"j{i}", command="x", resource_requirements="r") for i in range(4)]
    jobs += [c.JobSpec(name="gpu", command="x", priority=5, label="gpu")]
    wf, ids, run, node = setup(stubs, jobs, resource_requirements=rr)
    small = c.Resources(num_cpus=4, memory_bytes=8 * GiB, num_gpus=0, num_nodes=1)
    got = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=small, limit=10))
    assert [j.name for j in got.jobs] == ["j0", "j1"]
    short = c.Resources(num_cpus=4, memory_bytes=8 * GiB, num_nodes=1, time_limit_seconds=600)
    assert not stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=short)).jobs
    labeled = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=small, label="gpu"))
    assert [j.name for j in labeled.jobs] == ["gpu"]
    rest = stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf))
    assert [j.name for j in rest.jobs] == ["j2", "j3"]


def test_refusals_leave_database_unchanged(stubs, db_path):
    jobs = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]
    wf, ids, run, node = setup(stubs, jobs)
    stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node, resources=BIG))
    run_job(stubs, ids["a"], run, node)
    wait_until(lambda: status_of(stubs, ids["b"]) == S.JOB_STATUS_READY)

    def refused(call, code, text):
        assert_refused(call, code, db_path, stubs, contains=text)

    def complete(job, status=S.JOB_STATUS_COMPLETED, run_id=run):
        return lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=job, status=status, run_id=run_id))

    refused(complete(ids["a"]), grpc.StatusCode.FAILED_PRECONDITION, "already complete")
    refused(complete(ids["b"], run_id=run + 7), grpc.StatusCode.FAILED_PRECONDITION, "stale run_id")
    refused(complete(ids["b"], status=S.JOB_STATUS_RUNNING), grpc.StatusCode.INVALID_ARGUMENT, "not terminal")
    refused(complete(ids["b"], status=77), grpc.StatusCode.INVALID_ARGUMENT, "status: 77 is not a JobStatus value")
    refused(complete(ids["b"], status=c.JOB_STATUS_READY), grpc.StatusCode.INVALID_ARGUMENT, "not terminal")
    refused(complete(999_999), grpc.StatusCode.NOT_FOUND, "999999")
    refused(lambda: stubs.worker.StartJob(kpb.StartJobRequest(job_id=ids["b"], run_id=run)),
            grpc.StatusCode.FAILED_PRECONDITION, "not PENDING")
    refused(lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=424242)),
            grpc.StatusCode.NOT_FOUND, "compute node 424242")
    refused(lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=4242)), grpc.StatusCode.NOT_FOUND, "4242")
    refused(lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, sort_method=9)),
            grpc.StatusCode.INVALID_ARGUMENT, "sort_method")
    # CompleteJobs reports each item on its own; the good one is written.
    resp = stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[
        kpb.CompleteJobRequest(job_id=ids["a"], status=S.JOB_STATUS_COMPLETED, run_id=run),
        kpb.CompleteJobRequest(job_id=ids["b"], status=S.JOB_STATUS_FAILED, run_id=run,
                               result=c.JobResult(return_code=3)),
    ]))
    assert [(r.ok, r.code) for r in resp.results] == [(False, grpc.StatusCode.FAILED_PRECONDITION.value[0]), (True, 0)]
    assert status_of(stubs, ids["b"]) == S.JOB_STATUS_FAILED


def test_exactly_once_with_16_threads(stubs):
    n = 10_000
    wf_id = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="many"))).workflow.id
    stubs.workflow.AddJobs(iter([wpb.AddJobsRequest(workflow_id=wf_id, jobs=[
        c.JobSpec(name=f"j{i}", command="x") for i in range(n)])]))
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf_id)).run_id
    claimed, lock, errors = [], threading.Lock(), []
    deadline = time.monotonic() + 120

    def worker():
        try:
            while time.monotonic() < deadline:
                jobs = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf_id, resources=c.Resources(
                    num_cpus=8, memory_bytes=64 * GiB, num_nodes=1), limit=8), timeout=30).jobs
                if not jobs:
                    return
                with lock:
                    claimed.extend(j.id for j in jobs)
                resp = stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[
                    kpb.CompleteJobRequest(job_id=j.id, status=S.JOB_STATUS_COMPLETED, run_id=run) for j in jobs]),
                    timeout=30)
                assert all(r.ok for r in resp.results)
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(150)
    assert not errors
    assert len(claimed) == n and len(set(claimed)) == n
    results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf_id, all_runs=True, limit=10_000)).results
    assert len(results) == n and len({r.job_id for r in results}) == n
    st = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf_id))
    wait_until(lambda: stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf_id)).is_complete)
    assert st.num_jobs == n
