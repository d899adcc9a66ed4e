"""Figure 6: a 1,000,000-job workflow created and initialized."""

from __future__ import annotations

import time

from harness import Figure, Server, random_dag_specs

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb


def f6_million(tmp: str, size: dict) -> Figure:
    n = size["f6_jobs"]
    server = Server(tmp, "f6")
    try:
        specs = random_dag_specs(n, 2, seed=6)
        pb_jobs = [c.JobSpec(name=j.name, command=j.command, depends_on=j.depends_on) for j in specs]
        edges = sum(len(j.depends_on) for j in specs)
        base = server.rss_mib()
        t0 = time.perf_counter()
        wf = server.stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="big")),
                                                  timeout=600).workflow.id
        server.stubs.workflow.AddJobs((wpb.AddJobsRequest(workflow_id=wf, jobs=pb_jobs[k:k + 10_000])
                                       for k in range(0, n, 10_000)), timeout=3600)
        created = time.perf_counter() - t0
        server.stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=3600)
        total = time.perf_counter() - t0
        peak = server.rss_mib("VmHWM")
    finally:
        server.close()
    return Figure(f"{n:,} jobs", f"create + initialize {total:.1f} s (AddJobs {created:.1f} s); server peak RSS "
                  f"{peak:,.0f} MiB (idle {base:.0f})", "<= 60 s, <= 1.5 GB (at 1,000,000 jobs)", "",
                  total <= 60 * n / 1_000_000 and peak <= 1536 * max(0.1, n / 1_000_000),
                  f"{n:,} jobs, {edges:,} edges (2 random earlier blockers each) over AddJobs batches of 10,000 "
                  "from one client, then StartWorkflow; server as its own process",
                  {"create_s": created, "total_s": total, "peak_rss_mib": peak, "edges": edges})
