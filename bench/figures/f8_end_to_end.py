"""Figure 8: simulated workers through a 100k-job DAG, server CPU by part."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import signal
import threading
import time
from typing import Optional

from harness import Figure, GiB, Server, _has_yappi, collect

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc.client import Stubs


def _sim_workers(target: str, wf: int, run: int, workers: int, queue) -> None:
    """One client process of simulated workers: each claims up to 4 zero-length
    jobs (long poll), completes them in one CompleteJobs, until the workflow is complete."""
    stubs = Stubs.connect(target)
    done = [0] * workers

    def worker(k: int) -> None:
        node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname=f"sim{os.getpid()}-{k}", resources=c.Resources(num_cpus=4, memory_bytes=16 * GiB,
                                                                                    num_nodes=1)), timeout=60)
        nodes.append(node.compute_node_id)
        res = c.Resources(num_cpus=4, memory_bytes=16 * GiB, num_nodes=1)
        while True:
            resp = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
                workflow_id=wf, compute_node_id=node.compute_node_id, resources=res, limit=4, wait_seconds=10),
                timeout=60)
            if resp.jobs:
                stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[
                    kpb.CompleteJobRequest(job_id=j.id, status=c.JOB_STATUS_COMPLETED, run_id=run,
                                           result=c.JobResult(compute_node_id=node.compute_node_id))
                    for j in resp.jobs]), timeout=60)
                done[k] += len(resp.jobs)
            elif resp.workflow_complete:
                return

    def heartbeats() -> None:  # as real workers do: the run may outlast a lease
        while not finished.wait(20):
            for node in list(nodes):
                stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node), timeout=60)

    nodes: list[int] = []
    finished = threading.Event()
    beat = threading.Thread(target=heartbeats, daemon=True)
    beat.start()
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(workers)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    finished.set()
    beat.join(60)
    queue.put(sum(done))
    stubs.channel.close()


def _f8_run(tmp: str, jobs: list, workers: int, procs: int, profile: Optional[str]) -> tuple[int, float]:
    server = Server(tmp, "f8-profiled" if profile else "f8", "--max-workers", str(workers + 32), profile=profile)
    try:
        wf, run, _ = server.workflow(jobs, claim=False)
        if profile:
            server.proc.send_signal(signal.SIGUSR1)  # count only the run itself
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        t0 = time.perf_counter()
        clients = [ctx.Process(target=_sim_workers, args=(server.target, wf, run, workers // procs, queue))
                   for _ in range(procs)]
        for p in clients:
            p.start()
        completed = sum(collect(queue, clients, 1800))
        elapsed = time.perf_counter() - t0
        if completed != len(jobs):
            raise RuntimeError(f"the simulated workers completed {completed} of {len(jobs)} jobs")
        for p in clients:
            p.join(60)
    finally:
        server.close()
    return completed, elapsed


def f8_end_to_end(tmp: str, size: dict) -> list[Figure]:
    n, layer, workers, procs = size["f8_jobs"], size["f8_layer"], size["f8_workers"], size["procs"]
    rng = random.Random(8)
    jobs = []
    for i in range(n):
        lay, _k = divmod(i, layer)
        deps = sorted({f"j{(lay - 1) * layer + rng.randrange(layer)}" for _ in range(2)}) if lay else []
        jobs.append(c.JobSpec(name=f"j{i}", command="true", depends_on=deps))
    completed, elapsed = _f8_run(tmp, jobs, workers, procs, None)
    figures = [Figure("end to end", f"{completed / elapsed:,.0f} jobs/s ({completed:,} jobs in {elapsed:.1f} s)",
                      "(no target)", "Torc: 2,000 completions/s", None,
                      f"{workers} simulated workers ({procs} processes, threads) on a {n:,}-job layered DAG "
                      f"({layer} per layer, 2 blockers each), zero-length jobs: long-poll ClaimJobs (limit 4) + "
                      "CompleteJobs", {"jobs": completed, "seconds": elapsed})]
    if size.get("f8_profile") and _has_yappi():
        profile = os.path.join(tmp, "f8-profile.json")
        _f8_run(tmp, jobs, workers, procs, profile)
        with open(profile) as f:
            data = json.load(f)
        shares = ", ".join(f"{part} {share:.0%}" for part, share in data["shares"].items())
        figures.append(Figure("end to end: server CPU by part", shares, "(where the time goes)", "", None,
                              "the same run repeated under TORC_PROFILE (yappi: every thread, CPU clock, self time "
                              "per part, the run only; it slows the server); top functions in the JSON result",
                              data))
    return figures
