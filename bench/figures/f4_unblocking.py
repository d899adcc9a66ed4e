"""Figure 4: the unblocking kernel against the set-based SQL reference."""

from __future__ import annotations

import os
import time

from harness import Figure, random_dag_specs

from torc_core import _reference, kernels, store
from torc_core.engine import Engine
from torc_core.models import (
    JobBatch,
    WorkflowSpec,
)
from torc_core.store import open_connection


def f4_unblocking_kernel(tmp: str, size: dict) -> list[Figure]:
    n, batch = size["f4_jobs"], 10_000
    engine = Engine(os.path.join(tmp, "f4.db"))
    try:
        wf, _ = engine.create_workflow(WorkflowSpec(name="f4"))
        specs = random_dag_specs(n, 2, seed=4)
        engine.add_jobs(JobBatch(wf.id, tuple(specs[k:k + 20_000])) for k in range(0, n, 20_000))
        engine.start_workflow(wf.id)
    finally:
        engine.close()
    conn = open_connection(os.path.join(tmp, "f4.db"))
    try:
        arrays = store.load_graph_arrays(conn, wf.id)
        edges = len(arrays[3])
        t0 = time.perf_counter()
        kernels.Graph(*arrays).initialize(False)
        init_s = time.perf_counter() - t0
        ready = [j for j, s in zip(arrays[0], arrays[1]) if s == 2][:batch]
        timings = {}
        for label, cls in (("kernel", kernels.Graph), ("twin", _reference.Graph)):
            graph = cls(*arrays)
            t0 = time.perf_counter()
            newly, canceled = graph.complete(ready, [5] * len(ready))
            timings[label] = time.perf_counter() - t0
        conn.execute("BEGIN IMMEDIATE")  # both write paths are measured, then rolled back
        t0 = time.perf_counter()
        store.write_unblocked(conn, ready, newly, canceled)
        timings["kernel_writes"] = time.perf_counter() - t0 + timings["kernel"]
        conn.execute("ROLLBACK")
        conn.execute("BEGIN IMMEDIATE")
        for j in ready:
            store.complete_job(conn, j, 5, True)
        conn.execute("SAVEPOINT before")
        t0 = time.perf_counter()
        store.sql_unblock_batch(conn, ready)
        timings["sql"] = time.perf_counter() - t0
        after_batch = len(store.ready_job_ids(conn, wf.id))
        conn.execute("ROLLBACK TO before")
        t0 = time.perf_counter()
        store.sql_unblock(conn, wf.id)
        timings["sql_whole_workflow"] = time.perf_counter() - t0
        after_full = len(store.ready_job_ids(conn, wf.id))
        conn.execute("ROLLBACK")
        if after_batch != after_full:
            raise AssertionError(f"the two SQL references disagree: {after_batch} vs {after_full} ready")
    finally:
        conn.close()
    ready_set = set(ready)
    out_edges = sum(1 for b in arrays[4] if b in ready_set)
    speedup = timings["sql"] / timings["kernel"]
    return [
        Figure("Unblocking kernel vs SQL reference", f"{speedup:.0f}x (kernel {timings['kernel'] * 1000:.1f} ms, "
               f"SQL {timings['sql'] * 1000:.0f} ms, twin {timings['twin'] * 1000:.0f} ms; kernel + its writes "
               f"{timings['kernel_writes'] * 1000:.0f} ms; SQL over the whole workflow "
               f"{timings['sql_whole_workflow'] * 1000:.0f} ms)", ">= 20x",
               "set-based SQL (torc's approach: the batch's dependents)", speedup >= 20,
               f"{batch:,} completions in a {n:,}-job / {edges:,}-edge random DAG; the same batch for the kernel "
               "(Graph.complete), its pure-Python twin, store.sql_unblock_batch (dependents of the batch) and "
               "store.sql_unblock (every blocked job); both SQL give the same ready count",
               {**timings, "jobs": n, "edges": edges}),
        Figure("kernel edges/s", f"{edges / init_s / 1e6:.1f} M edges/s (initialize: {edges:,} edges in "
               f"{init_s * 1000:.0f} ms); batch: {out_edges:,} edges in {timings['kernel'] * 1000:.1f} ms",
               ">= 5 M edges/s", "", edges / init_s >= 5e6,
               "Graph.initialize (Kahn) over every edge, and the out-edges walked by the batch above",
               {"init_s": init_s, "edges": edges}),
    ]
