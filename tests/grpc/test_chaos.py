"""Chaos: 32 worker threads claim, start and complete while another thread
cancels, resets (forced or not), initializes and restarts the workflow at
random. No (job, run, attempt) is ever started (so run) by two nodes, no request gets
INTERNAL or UNKNOWN, and afterwards one restart and an honest drain finish
the workflow: nothing is wedged, every job ends in a final state."""

from __future__ import annotations

import collections
import random
import threading
import time

import grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import BIG, integrity_ok, local_server, wait_until

S = c.JobStatus
DONE = {S.JOB_STATUS_COMPLETED, S.JOB_STATUS_FAILED, S.JOB_STATUS_CANCELED, S.JOB_STATUS_TERMINATED,
        S.JOB_STATUS_DISABLED}
CHAOS_SECONDS = 6.0
WORKERS = 32


def test_chaos_never_double_runs_never_wedges(db_path):
    jobs = [c.JobSpec(name=f"j{i}", command="true",
                      depends_on=[f"j{i - 1 - k}" for k in range(min(i % 4, i))])
            for i in range(200)]
    stop = threading.Event()
    bad_codes: collections.Counter = collections.Counter()
    held: dict[tuple, int] = {}  # (job, run, attempt) -> the node that started it
    doubles: list = []
    lock = threading.Lock()
    with local_server(db_path, node_lease=0) as (_running, stubs):
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(
            spec=c.WorkflowSpec(name="chaos", jobs=jobs))).workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))

        def guarded(fn):
            try:
                return fn()
            except grpc.RpcError as err:
                if err.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                    with lock:
                        bad_codes[f"{err.code().name}: {err.details()}"] += 1
                return None

        def worker(seed: int) -> None:
            rng = random.Random(seed)
            node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
                workflow_id=wf, hostname=f"n{seed}", resources=BIG)).compute_node_id
            deadline = time.monotonic() + CHAOS_SECONDS + 5
            while not stop.is_set() and time.monotonic() < deadline:
                resp = guarded(lambda: stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
                    workflow_id=wf, compute_node_id=node, resources=BIG, limit=2), timeout=10))
                if resp is None:
                    continue
                run = guarded(lambda: stubs.workflow.GetWorkflowStatus(
                    wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=10))
                for job in resp.jobs:
                    run_id = run.run_id if run else 0
                    started = guarded(lambda: stubs.worker.StartJob(kpb.StartJobRequest(
                        job_id=job.id, run_id=run_id, compute_node_id=node), timeout=10))
                    if started is None:
                        continue  # fenced: another run, reset, or held by another node
                    key = (job.id, run_id, started.job.attempt_id)
                    with lock:  # a started job runs: it must never run twice at once
                        if key in held and held[key] != node:
                            doubles.append((key, held[key], node))
                        held[key] = node
                    status = S.JOB_STATUS_FAILED if rng.random() < 0.1 else S.JOB_STATUS_COMPLETED
                    guarded(lambda: stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                        job_id=job.id, status=status, run_id=key[1], result=c.JobResult(
                            return_code=0 if status == S.JOB_STATUS_COMPLETED else 1,
                            compute_node_id=node, attempt_id=key[2])), timeout=10))

        def chaos() -> None:
            rng = random.Random(7)
            actions = [
                lambda: stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf)),
                lambda: stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf, force=True)),
                lambda: stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf)),
                lambda: stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(
                    workflow_id=wf, failed_only=True, force=rng.random() < 0.5)),
                lambda: stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(
                    workflow_id=wf, only_uninitialized=rng.random() < 0.5)),
                lambda: stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)),
            ]
            end = time.monotonic() + CHAOS_SECONDS
            count = 0
            while time.monotonic() < end and count < 2000:
                guarded(rng.choice(actions))
                count += 1
                stop.wait(rng.uniform(0.0, 0.05))  # pacing between actions, not synchronisation

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(WORKERS)]
        threads.append(threading.Thread(target=chaos))
        for t in threads:
            t.start()
        threads[-1].join(CHAOS_SECONDS + 30)
        stop.set()
        for t in threads[:-1]:
            t.join(30)
        assert not any(t.is_alive() for t in threads)

        # One restart and an honest drain must finish the workflow.
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        drain = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="drain", resources=BIG)).compute_node_id
        run = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf)).run_id

        def drained() -> bool:
            resp = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=drain,
                                                               resources=BIG, wait_seconds=1), timeout=10)
            for job in resp.jobs:
                stubs.worker.StartJob(kpb.StartJobRequest(job_id=job.id, run_id=run, compute_node_id=drain))
                stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                    job_id=job.id, status=S.JOB_STATUS_COMPLETED, run_id=run,
                    result=c.JobResult(compute_node_id=drain, attempt_id=job.attempt_id)))
            return stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete

        wait_until(drained, timeout=120, interval=0, what="the workflow completes after the chaos")
        listed = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf, limit=1000)).jobs
        assert {j.status for j in listed} <= DONE
        results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf, all_runs=True,
                                                               limit=10_000)).results
        keys = [(r.job_id, r.run_id, r.attempt_id) for r in results]
        assert len(keys) == len(set(keys))
    assert not bad_codes, bad_codes
    assert not doubles, doubles[:5]
    assert integrity_ok(db_path)
    print(f"\nchaos: {len(held)} starts by {WORKERS} workers, {len(results)} results")
