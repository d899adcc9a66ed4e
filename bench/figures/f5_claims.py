"""Figure 5: ClaimJobs latency with 1,000 vs many ready jobs."""

from __future__ import annotations

import os
import statistics
import time

from harness import Figure, GiB, pct

from torc_core.engine import Engine
from torc_core.models import (
    ClaimRequest,
    JobBatch,
    JobSpec,
    ResourceRequirementsSpec,
    Resources,
    WorkflowSpec,
)


def f5_claims(tmp: str, size: dict) -> Figure:
    engine = Engine(os.path.join(tmp, "f5.db"))
    rows = {}
    try:
        for classes in (20, 2000):
            rr = tuple(ResourceRequirementsSpec(name=f"r{k}", num_cpus=1 + k % 4, memory=f"{64 + k}m")
                       for k in range(classes))
            for ready in size["f5_ready"]:
                wf, _ = engine.create_workflow(WorkflowSpec(name=f"c{classes}-{ready}", resource_requirements=rr))
                engine.add_jobs(JobBatch(wf.id, tuple(
                    JobSpec(name=f"f{i}", command="x", resource_requirements=f"r{i % classes}")
                    for i in range(k, min(ready, k + 20_000)))) for k in range(0, ready, 20_000))
                engine.start_workflow(wf.id)
                samples = []
                for _ in range(200):  # 800 jobs at most: every claim still finds ready jobs
                    t0 = time.perf_counter()
                    engine.claim_jobs(ClaimRequest(wf.id, resources=Resources(8, 32 * GiB, 0, 1), limit=4))
                    samples.append((time.perf_counter() - t0) * 1000)
                rows[(classes, ready)] = (statistics.median(samples), pct(samples, 0.99))
                engine.delete_workflow(wf.id)
    finally:
        engine.close()
    small, big = min(size["f5_ready"]), max(size["f5_ready"])
    worst = max(rows[(k, big)][0] / rows[(k, small)][0] for k in (20, 2000))
    table = "; ".join(f"{k} classes/{r:,} ready p50 {p50:.3f} p99 {p99:.3f} ms" for (k, r), (p50, p99) in rows.items())
    return Figure("ClaimJobs", f"p50 ratio {big:,}/{small:,} ready: {worst:.2f} (worst of 20 and 2,000 classes)",
                  "<= 1.5", "single ORDER BY LIMIT: 11 ms at 100k ready", worst <= 1.5,
                  "Engine.claim_jobs in process (limit 4, 8 CPUs/32 GiB), 200 claims per case: " + table,
                  {f"{k}/{r}": v for (k, r), v in rows.items()})
