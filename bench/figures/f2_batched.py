"""Figure 2: batched CompleteJobs throughput."""

from __future__ import annotations

from harness import Figure, Server, client_load

from torc_grpc._pb import common_pb2 as c


def f2_batched_completions(tmp: str, size: dict) -> Figure:
    server = Server(tmp, "f2")
    try:
        jobs = [c.JobSpec(name=f"j{i}", command="true") for i in range(size["f2_jobs"])]
        _wf, run, ids = server.workflow(jobs)
        _calls, per_s = client_load(server.target, "batch", run, ids, size["procs"], 2, 600)
    finally:
        server.close()
    return Figure("CompleteJobs (batched)", f"{per_s:,.0f} completions/s", ">= 20,000/s", "Torc: 2,000/s",
                  per_s >= 20_000, f"{len(ids):,} pre-claimed jobs completed in batches of 1,000 by "
                  f"{size['procs']} processes x 2 threads", {"completions_per_s": per_s})
