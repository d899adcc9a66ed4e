"""Lifecycle numbers (issue 5): lease expiry to jobs ready again, restart time.

Usage: python bench/lifecycle.py [--no-write]

* Lease lag: a node claims jobs and goes silent; the time from its lease
  expiring (lease_expires_at) to its jobs being READY again, per lease
  length (the expiry thread ticks every lease/10, at most every second).
* Restart: `torc-grpc serve` killed with SIGKILL on a database holding a
  running 20,000-job workflow, then started again: time until it prints its
  port (accepting calls) and until the first GetWorkflowStatus answers.
Prints a table and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402

from torc_core import store  # noqa: E402
from torc_core.engine import Engine  # noqa: E402
from torc_core.models import ComputeNodeSpec, JobSpec, JobStatus, Resources, WorkflowSpec  # noqa: E402
from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc._pb import workflow_pb2 as wpb  # noqa: E402
from torc_grpc.testing import Stubs, spawn_server  # noqa: E402


def lease_lag(tmp: str, lease: float, samples: int) -> list[float]:
    engine = Engine(os.path.join(tmp, f"lease{lease}.db"), lease_seconds=lease)
    lags = []
    try:
        for k in range(samples):
            wf, ids = engine.create_workflow(WorkflowSpec(name=f"l{k}", jobs=tuple(
                JobSpec(name=f"j{i}", command="x") for i in range(10))))
            engine.start_workflow(wf.id)
            time.sleep(random.uniform(0, min(1.0, lease / 10)))  # a random phase against the expiry tick
            node = engine.register_compute_node(ComputeNodeSpec(wf.id, "silent", resources=Resources(64, 2**36, 0, 1)))
            engine.claim_next_jobs(wf.id, node, limit=10)
            expires = store.node_lease(engine._core.reader(), node).lease_expires_at
            probe = ids["j9"]
            deadline = time.time() + lease + 30
            while engine.get_job(probe).status != JobStatus.READY and time.time() < deadline:
                time.sleep(0.001)  # sampling the state for the measurement
            lags.append((time.time() - expires) * 1000)
    finally:
        engine.close()
    return lags


def restart(tmp: str) -> tuple[float, float]:
    db = os.path.join(tmp, "restart.db")
    proc, port = spawn_server(db, os.path.join(tmp, "r0.log"))
    stubs = Stubs.connect(f"127.0.0.1:{port}")

    jobs = [c.JobSpec(name=f"j{i}", command="x", depends_on=[f"j{i - 1}"] if i % 100 else [])
            for i in range(20_000)]
    wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="r", jobs=jobs)),
                                       timeout=120).workflow.id
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=120)
    stubs.channel.close()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    t0 = time.perf_counter()
    proc, _ = spawn_server(db, os.path.join(tmp, "r1.log"), "--port", str(port))
    listening = time.perf_counter() - t0
    stubs = Stubs.connect(f"127.0.0.1:{port}")
    stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=60)
    answering = time.perf_counter() - t0
    stubs.channel.close()
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    return listening * 1000, answering * 1000


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for lease, samples in ((1.0, 5), (10.0, 3)):
            lags = lease_lag(tmp, lease, samples)
            rows.append([f"lease {lease:g} s expired -> its pending jobs READY ({samples} nodes)",
                         f"median {statistics.median(lags):.0f} ms", f"max {max(lags):.0f} ms"])
        listening, answering = restart(tmp)
    rows.append(["SIGKILL, restart on a 20,000-job running workflow: port printed / first status answered",
                 f"{listening:.0f} ms", f"{answering:.0f} ms"])
    text = table(["measurement", "result", "note"], rows)
    print(text)
    if "--no-write" not in sys.argv:
        write_section("lifecycle", text + "\n\nCommand: `python bench/lifecycle.py`. The kill test "
                      "(tests/grpc/test_crash.py) prints its own counts.")


if __name__ == "__main__":
    main()
