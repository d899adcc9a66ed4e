"""Hostile-input numbers (issue 13): what waiting costs, and how fast a worker drains.

Usage: python bench/hostile.py [--no-write]

* Idle long polls: a server process holding 100 ClaimJobs long polls
  (wait_seconds=60, nothing becomes ready) from a client process; the
  server's CPU (utime + stime) over 10 s, against the same server idle.
* SIGTERM drain: a real `torc-grpc worker` running 4 jobs (two that trap
  SIGTERM, two that do not) gets SIGTERM; the time until it exits, with
  every job reported TERMINATED and the node deregistered.
Prints a table and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402
from harness import Server  # noqa: E402

from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc._pb import worker_pb2 as kpb  # noqa: E402
from torc_grpc._pb import workflow_pb2 as wpb  # noqa: E402
from torc_grpc.testing import BIG, spawn_worker, status_of, wait_until  # noqa: E402

POLLS = 100
SECONDS = 10.0


def server_cpu_over(server: Server, seconds: float) -> float:
    before = server.cpu_seconds()
    time.sleep(seconds)  # a measurement window, not synchronisation
    return server.cpu_seconds() - before


def idle_long_polls(tmp: str) -> dict:
    server = Server(tmp, "polls", "--max-workers", str(POLLS + 16))
    stubs = server.stubs
    try:
        jobs = [c.JobSpec(name="a", command="true"), c.JobSpec(name="b", command="true", depends_on=["a"])]
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(
            spec=c.WorkflowSpec(name="polls", jobs=jobs))).workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG))  # a: nothing else ready
        idle = server_cpu_over(server, SECONDS)
        futures = [stubs.worker.ClaimJobs.future(kpb.ClaimJobsRequest(
            workflow_id=wf, resources=BIG, wait_seconds=60), timeout=90) for _ in range(POLLS)]
        time.sleep(1.0)  # let every poll reach its wait before the window opens (a bench, not a test)
        held = server_cpu_over(server, SECONDS)
        still = sum(1 for f in futures if not f.done())
        for f in futures:
            f.cancel()
        return {"idle": idle, "held": held, "waiting": still}
    finally:
        server.close()


def sigterm_drain(tmp: str) -> dict:
    server = Server(tmp, "drain")
    stubs, port = server.stubs, server.port
    try:
        jobs = [c.JobSpec(name=f"polite{k}", supports_termination=True,
                          command="trap 'exit 0' TERM; sleep 120 & wait") for k in range(2)]
        jobs += [c.JobSpec(name=f"plain{k}", command="exec sleep 120") for k in range(2)]
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="d", jobs=jobs)))
        wf, ids = resp.workflow.id, list(resp.job_ids.values())
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        worker = spawn_worker(f"127.0.0.1:{port}", wf, os.path.join(tmp, "w"), "--cpus", "4", "--memory", "1g")
        wait_until(lambda: all(status_of(stubs, j) == c.JOB_STATUS_RUNNING for j in ids), timeout=60)
        t0 = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(60)
        took = time.monotonic() - t0
        terminated = sum(1 for j in ids if status_of(stubs, j) == c.JOB_STATUS_TERMINATED)
        return {"seconds": took, "terminated": terminated, "jobs": len(ids)}
    finally:
        server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        polls = idle_long_polls(tmp)
        drain = sigterm_drain(tmp)
    rows = [
        ["server CPU, idle", f"{polls['idle'] / SECONDS * 100:.2f}% of a core", f"{SECONDS:.0f} s window"],
        [f"server CPU, {POLLS} long polls held", f"{polls['held'] / SECONDS * 100:.2f}% of a core",
         f"{polls['waiting']} of {POLLS} still waiting at the end of the window"],
        ["SIGTERM -> worker exit", f"{drain['seconds']:.2f} s",
         f"{drain['terminated']} of {drain['jobs']} running jobs reported TERMINATED; default --term-grace 10 s"],
    ]
    text = table(["measurement", "value", "how"], rows)
    print(text)
    if not args.no_write:
        write_section("hostile input", "`python bench/hostile.py`\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
