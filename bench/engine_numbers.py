"""Engine-level numbers for the execution issue (bench/, not a timed test).

Usage: python bench/engine_numbers.py
Prints: unblocking 10,000 completions in a 100,000-job graph (kernel and
end to end through Engine.complete_jobs + the unblocker), and ClaimJobs
latency (Engine.claim_jobs, in process) with 1,000 vs 100,000 ready jobs.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
import tempfile
import time
from array import array

import apsw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402

from torc_core import kernels
from torc_core.engine import Engine
from torc_core.models import (
    ClaimRequest,
    Completion,
    JobBatch,
    JobSpec,
    ResourceRequirementsSpec,
    Resources,
    WorkflowSpec,
)

GiB = 1024**3


def header():
    print(f"python {platform.python_version()}, apsw {apsw.apsw_version()}, sqlite {apsw.sqlite_lib_version()}, "
          f"kernels {kernels.IMPLEMENTATION}, cpu {platform.processor() or platform.machine()}, {os.cpu_count()} cores")


def kernel_unblock(n=100_000, m=200_000, batch=10_000):
    rng = random.Random(1)
    ej, eb = array("q"), array("q")
    for _ in range(m):
        a, b = sorted(rng.sample(range(n), 2))
        ej.append(b + 1)
        eb.append(a + 1)
    g = kernels.Graph(array("q", range(1, n + 1)), array("q", [0] * n), array("q", [1] * n), ej, eb)
    g.initialize(False)
    ready = [i for i, s in zip(range(1, n + 1), g.statuses()) if s == 2][:batch]
    t0 = time.perf_counter()
    r, c = g.complete(ready, [5] * len(ready))
    return (time.perf_counter() - t0) * 1000, len(ready), len(r)


def engine_numbers(tmp):
    engine = Engine(os.path.join(tmp, "b.db"))
    n = 100_000
    wf, _ = engine.create_workflow(WorkflowSpec(name="b", resource_requirements=tuple(
        ResourceRequirementsSpec(name=f"r{k}", num_cpus=1 + k % 4, memory=f"{1 + k}g") for k in range(20))))
    rng = random.Random(2)
    jobs = [JobSpec(name=f"j{i}", command="x", resource_requirements=f"r{i % 20}",
                    depends_on=(f"j{rng.randrange(i)}", f"j{rng.randrange(i)}") if i >= 20_000 else ())
            for i in range(n)]
    engine.add_jobs([JobBatch(wf.id, tuple(jobs[k:k + 10_000])) for k in range(0, n, 10_000)])
    run = engine.start_workflow(wf.id).run_id
    claimed = []
    while len(claimed) < 10_000:
        claimed += [j.id for j in engine.claim_next_jobs(wf.id, limit=1000).jobs]
    t0 = time.perf_counter()
    engine.complete_jobs([Completion(job_id=j, status=5, run_id=run) for j in claimed])
    t1 = time.perf_counter()
    engine.unblocker.flush()
    t2 = time.perf_counter()
    lat = {}
    flat, _ = engine.create_workflow(WorkflowSpec(name="flat", resource_requirements=tuple(
        ResourceRequirementsSpec(name=f"r{k}", num_cpus=1 + k % 4, memory=f"{1 + k}g") for k in range(20))))
    engine.add_jobs([JobBatch(flat.id, tuple(JobSpec(name=f"f{i}", command="x", resource_requirements=f"r{i % 20}")
                                             for i in range(k, k + 10_000))) for k in range(0, 100_000, 10_000)])
    engine.start_workflow(flat.id)
    for keep in (None, 1000):
        if keep:
            excess = engine.get_workflow_status(flat.id).counts[2] - keep
            while excess > 0:
                excess -= len(engine.claim_next_jobs(flat.id, limit=min(excess, 10_000)).jobs)
        ready = engine.get_workflow_status(flat.id).counts[2]
        samples = []
        for _ in range(200):
            t = time.perf_counter()
            engine.claim_jobs(ClaimRequest(flat.id, resources=Resources(8, 32 * GiB, 0, 1), limit=4))
            samples.append((time.perf_counter() - t) * 1000)
        lat[f"{ready} ready at start"] = (statistics.median(samples), sorted(samples)[int(0.99 * len(samples))])
    engine.close()
    return (t1 - t0) * 1000, (t2 - t0) * 1000, lat


if __name__ == "__main__":
    header()
    ms, nb, nr = kernel_unblock()
    with tempfile.TemporaryDirectory() as tmp:
        commit_ms, total_ms, lat = engine_numbers(tmp)
    rows = [[f"kernel: {nb} completions in a 100,000-job / 200,000-edge graph", f"{ms:.1f} ms", f"{nr} ready"],
            ["engine: CompleteJobs(10,000) commit", f"{commit_ms:.0f} ms", ""],
            ["engine: CompleteJobs(10,000) until the dependents are unblocked", f"{total_ms:.0f} ms", ""]]
    rows += [[f"ClaimJobs (in process, limit 4) with {k}", f"p50 {p50:.3f} ms", f"p99 {p99:.3f} ms"]
             for k, (p50, p99) in lat.items()]
    text = table(["measurement", "result", "note"], rows)
    print(text)
    if "--no-write" not in sys.argv:
        write_section("engine", text + "\n\nCommand: `python bench/engine_numbers.py` (in process).")
