"""A 100,000-job workflow created through AddJobs and initialized (marked slow).

The 1,000,000-job figure belongs to bench/; this proves the path works at
scale in CI and prints the time so regressions are visible in the log.
"""

from __future__ import annotations

import random
import time

import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import integrity_ok

N_JOBS = 100_000
BATCH = 10_000


def batches(workflow_id: int, rng: random.Random):
    """Layered DAG: each job after the first thousand depends on two earlier jobs."""
    for start in range(0, N_JOBS, BATCH):
        jobs = []
        for i in range(start, start + BATCH):
            deps = [] if i < 1000 else [f"j{rng.randrange(i)}", f"j{rng.randrange(i)}"]
            jobs.append(c.JobSpec(name=f"j{i}", command="true", depends_on=sorted(set(deps))))
        yield wpb.AddJobsRequest(workflow_id=workflow_id, jobs=jobs)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_100k_jobs_add_and_initialize(stubs, db_path):
    wf_id = stubs.workflow.CreateWorkflow(
        wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="large"))).workflow.id
    t0 = time.perf_counter()
    added = stubs.workflow.AddJobs(batches(wf_id, random.Random(1)), timeout=300)
    t1 = time.perf_counter()
    started = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf_id), timeout=300)
    t2 = time.perf_counter()
    assert added.count == N_JOBS
    assert started.num_ready == 1000 and started.num_blocked == N_JOBS - 1000
    status = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf_id))
    assert status.num_jobs == N_JOBS and status.run_id == 1
    print(f"\n100k jobs: AddJobs {t1 - t0:.2f} s, StartWorkflow (initialize) {t2 - t1:.2f} s, "
          f"total {t2 - t0:.2f} s")
    assert integrity_ok(db_path)
