"""The figures of design.md section 5, one function each (bench/run.py runs them).

Each returns a Figure: the measured value beside its target and anchor, and
how it was measured. Sizes come from the run mode (SIZES in run.py). Load
comes from separate client processes on 127.0.0.1 where the figure is about
the server under load; figures about one component run in this process.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

import grpc  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from torc_core import _reference, kernels, store  # noqa: E402
from torc_core.store import open_connection  # noqa: E402
from torc_core.engine import Engine  # noqa: E402
from torc_core.models import (  # noqa: E402
    ClaimRequest,
    JobBatch,
    JobSpec,
    ResourceRequirementsSpec,
    Resources,
    WorkflowSpec,
)
from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc._pb import server_pb2 as spb  # noqa: E402
from torc_grpc._pb import worker_pb2 as kpb  # noqa: E402
from torc_grpc._pb import workflow_pb2 as wpb  # noqa: E402
from torc_grpc.client import Stubs  # noqa: E402
from torc_grpc.testing import spawn_server  # noqa: E402

GiB = 1024**3


@dataclass
class Figure:
    name: str
    value: str
    target: str
    anchor: str
    met: Optional[bool]
    how: str
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def random_dag_specs(n: int, degree: int, seed: int, prefix: str = "j") -> list[JobSpec]:
    """n jobs; each job after the first 10% depends on `degree` random earlier ones."""
    rng = random.Random(seed)
    head = max(1, n // 10)
    return [JobSpec(name=f"{prefix}{i}", command="true",
                    depends_on=tuple(sorted({f"{prefix}{rng.randrange(i)}" for _ in range(degree)})) if i >= head
                    else ()) for i in range(n)]


# ------------------------------------------------------------------ server under client load


class Server:
    """`torc-grpc serve` as its own process, for figures measured over gRPC."""

    def __init__(self, tmp: str, name: str, *args: str, profile: Optional[str] = None) -> None:
        env = {"TORC_PROFILE": profile} if profile else None
        self.proc, self.port = spawn_server(os.path.join(tmp, f"{name}.db"), os.path.join(tmp, f"{name}.log"), *args,
                                            env=env)
        self.target = f"127.0.0.1:{self.port}"
        self.stubs = Stubs.connect(self.target, options=[("grpc.max_send_message_length", 64 * 2**20),
                                                          ("grpc.max_receive_message_length", 64 * 2**20)])

    def rss_mib(self, key: str = "VmRSS") -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        self.stubs.channel.close()
        self.proc.terminate()
        self.proc.wait(120)

    def workflow(self, jobs: list, claim: bool = True) -> tuple[int, int, list[int]]:
        return make_workflow(self.stubs, jobs, claim)


def make_workflow(stubs: Stubs, jobs: list, claim: bool = True) -> tuple[int, int, list[int]]:
    """Create and start; with claim, claim every job for one node. Returns (wf, run, job ids)."""
    wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="bench")),
                                       timeout=600).workflow.id
    batches = (wpb.AddJobsRequest(workflow_id=wf, jobs=jobs[k:k + 10_000]) for k in range(0, len(jobs), 10_000))
    stubs.workflow.AddJobs(batches, timeout=3600)
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=3600).run_id
    ids: list[int] = []
    if claim:
        while True:
            got = stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf, limit=10_000), timeout=600).jobs
            if not got:
                break
            ids += [j.id for j in got]
    return wf, run, ids


def _client(target: str, kind: str, run: int, ids: list[int], threads: int, seconds: float, queue) -> None:
    """One client process: `threads` threads calling as fast as they can for
    `seconds` (or until their ids run out); puts (calls, completions, elapsed)."""
    stubs = Stubs.connect(target)
    counts = [0] * threads
    items = [0] * threads
    start = time.perf_counter()
    deadline = start + seconds
    chunks = [ids[k::threads] for k in range(threads)]

    def work(k: int) -> None:
        mine = chunks[k]
        pos = 0
        while time.perf_counter() < deadline:
            if kind == "ping":
                stubs.server.Ping(spb.PingRequest(), timeout=30)
                n = 0
            elif kind == "complete":
                if pos >= len(mine):
                    return
                stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                    job_id=mine[pos], status=c.JOB_STATUS_COMPLETED, run_id=run), timeout=30)
                pos, n = pos + 1, 1
            else:  # batch of 1,000
                if pos >= len(mine):
                    return
                batch = mine[pos:pos + 1000]
                stubs.worker.CompleteJobs(kpb.CompleteJobsRequest(completions=[
                    kpb.CompleteJobRequest(job_id=j, status=c.JOB_STATUS_COMPLETED, run_id=run) for j in batch]),
                    timeout=60)
                pos, n = pos + len(batch), len(batch)
            counts[k] += 1
            items[k] += n

    pool = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    queue.put((sum(counts), sum(items), time.perf_counter() - start))
    stubs.channel.close()


def collect(queue, processes: list, timeout: float) -> list:
    """One result per client process from `queue`; raises as soon as a
    process died without giving one (instead of waiting out the timeout)."""
    import queue as queues  # noqa: PLC0415

    got: list = []
    deadline = time.monotonic() + timeout
    while len(got) < len(processes):
        try:
            got.append(queue.get(timeout=1.0))
        except queues.Empty:
            failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
            if failed:
                raise RuntimeError(f"a client process failed (exit codes {failed}); its traceback is above") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"client processes gave {len(got)} of {len(processes)} results") from None
    return got


def client_load(target: str, kind: str, run: int, ids: list[int], procs: int, threads: int,
                seconds: float) -> tuple[float, float]:
    """(calls/s, items/s) over `procs` client processes."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    parts = [ids[k::procs] for k in range(procs)]
    workers = [ctx.Process(target=_client, args=(target, kind, run, parts[k], threads, seconds, queue))
               for k in range(procs)]
    for w in workers:
        w.start()
    got = collect(queue, workers, seconds + 300)
    for w in workers:
        w.join(60)
    elapsed = max(e for _c, _i, e in got)
    return sum(c_ for c_, _i, _e in got) / elapsed, sum(i for _c, i, _e in got) / elapsed


def f1_noop_vs_complete(tmp: str, size: dict) -> list[Figure]:
    procs, threads, seconds, rounds = size["procs"], size["threads"], size["seconds"], size["f1_rounds"]
    server = Server(tmp, "f1")
    try:
        jobs = [c.JobSpec(name=f"j{i}", command="true") for i in range(size["f1_jobs"])]
        _wf, run, ids = server.workflow(jobs)
        # Alternate Ping and CompleteJob rounds, so that the shared machine's
        # drift falls on both sides of each ratio; each round uses fresh jobs.
        pings, completes = [], []
        per_round = len(ids) // rounds
        for r in range(rounds):
            pings.append(client_load(server.target, "ping", run, [], procs, threads, seconds)[0])
            mine = ids[r * per_round:(r + 1) * per_round]
            completes.append(client_load(server.target, "complete", run, mine, procs, threads, seconds)[0])
    finally:
        server.close()
    ratios = sorted(cj / p for p, cj in zip(pings, completes))
    ratio = statistics.median(ratios)
    spread = f", rounds {ratios[0]:.2f}-{ratios[-1]:.2f}" if rounds > 1 else ""
    figure = Figure(
        "no-op RPC ceiling vs CompleteJob",
        f"{ratio:.2f} ({statistics.median(completes):.0f} vs {statistics.median(pings):.0f} calls/s{spread})",
        ">= 0.7", "Torc: 2,000 completions/s", ratio >= 0.7,
        f"{procs} client processes x {threads} threads, {rounds} alternating rounds of {seconds:g} s of Ping and of "
        "CompleteJob on pre-claimed jobs; same server; median ratio",
        {"ping_per_s": pings, "complete_per_s": completes, "ratios": ratios})
    return [figure, f1_anatomy(tmp, size)]


def _busy_answer(job, micros: float):
    """A CompleteJob that only burns `micros` of this thread's CPU in Python."""
    def complete_job(_completion):
        until = time.thread_time() + micros / 1e6
        while time.thread_time() < until:
            pass
        return job
    return complete_job


def f1_anatomy(tmp: str, size: dict) -> Figure:
    """Why CompleteJob sits where it does against Ping: the same client load
    against handlers of known cost in one in-process server (this process
    serves; the clients are separate processes), with the server's CPU and
    context switches per call (getrusage covers every thread)."""
    import resource  # noqa: PLC0415

    from torc_grpc.testing import local_server  # noqa: PLC0415

    procs, threads, seconds = size["procs"], size["threads"], size["seconds"]
    with local_server(os.path.join(tmp, "anatomy.db")) as (running, stubs):
        engine = running.engine
        _wf, run, ids = make_workflow(stubs, [c.JobSpec(name=f"j{i}", command="true")
                                              for i in range(size["f1_jobs"] // 2)])
        sample_job = engine.job_brief(ids[-1])
        real = engine.complete_job
        target = f"127.0.0.1:{running.port}"
        cases = [("Ping", "ping", None), ("CompleteJob answered at once (gRPC + conversion)", "complete",
                                          lambda _c: sample_job),
                 ("CompleteJob burning 70 us of Python", "complete", _busy_answer(sample_job, 70)),
                 ("CompleteJob burning 150 us of Python", "complete", _busy_answer(sample_job, 150)),
                 ("CompleteJob (the real one)", "complete", real)]
        rows = []
        for name, kind, handler in cases:
            engine.complete_job = handler or real
            before, cpu0 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
            per_s, _ = client_load(target, kind, run, ids if handler is real else ids[:1] * 100_000, procs, threads,
                                   seconds)
            after, cpu1 = resource.getrusage(resource.RUSAGE_SELF), time.process_time()
            calls = per_s * seconds
            switches = (after.ru_nvcsw + after.ru_nivcsw - before.ru_nvcsw - before.ru_nivcsw) / max(calls, 1)
            rows.append({"case": name, "calls_per_s": per_s, "server_cpu_us": (cpu1 - cpu0) / max(calls, 1) * 1e6,
                         "switches_per_call": switches})
        engine.complete_job = real
        # The engine's own CPU per completion, single-threaded, no gRPC:
        # batches of 8 (a typical group commit under the load above), the
        # unblocker included.
        from torc_core.models import Completion  # noqa: PLC0415

        rest = []
        for j in reversed(ids):  # the clients took their jobs from the front
            if len(rest) == 4000:
                break
            if engine.job_brief(j).status == c.JOB_STATUS_PENDING:
                rest.append(Completion(j, c.JOB_STATUS_COMPLETED, run))
        engine.unblocker.flush(60)
        cpu0 = time.process_time()
        for k in range(0, len(rest), 8):
            engine._completer.group_commit(rest[k:k + 8], answer=True)
        engine.unblocker.flush(60)
        engine_us = (time.process_time() - cpu0) / max(len(rest), 1) * 1e6
    ping = rows[0]["calls_per_s"]
    for row in rows:
        row["ratio"] = row["calls_per_s"] / ping
    value = "; ".join(f"{r['case']}: {r['ratio']:.2f} ({r['server_cpu_us']:.0f} us server CPU, "
                      f"{r['switches_per_call']:.0f} switches a call)" for r in rows)
    return Figure(
        "CompleteJob anatomy (why figure 1 sits where it does)",
        f"{value}; the engine alone: {engine_us:.0f} us CPU a completion", "(explains figure 1)", "", None,
        f"one in-process server, {procs} client processes x {threads} threads, {seconds:g} s a case: handlers of "
        "known cost in place of Engine.complete_job; server CPU and context switches per call from getrusage; "
        "the engine alone: 4,000 completions in group commits of 8, unblocker included, no gRPC",
        {"cases": rows, "engine_us_per_completion": engine_us})


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


# ------------------------------------------------------------------ components in process


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


# ------------------------------------------------------------------ streams


def push_latency(stubs: Stubs, count: int, rate: float, threads: int = 4) -> tuple[list[float], float]:
    """Pairs a_i -> b_i: CompleteJob(a_i) paced at `rate`/s from `threads`
    threads; per pair the ms from its return to b_i's id arriving on an
    observer stream. Returns (latencies, achieved completions/s)."""
    jobs = []
    for i in range(count):
        jobs += [c.JobSpec(name=f"a{i}", command="x"), c.JobSpec(name=f"b{i}", command="x", depends_on=[f"a{i}"])]
    resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="latency", jobs=jobs)),
                                         timeout=300)
    wf, ids = resp.workflow.id, dict(resp.job_ids)
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=300).run_id
    claimed = 0
    while claimed < count:  # only the a_i are ready
        claimed += len(stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf, limit=1000),
                                                  timeout=60).jobs)
    arrived: dict[int, float] = {}
    stream = stubs.worker.WatchReadyJobs(kpb.WatchReadyJobsRequest(workflow_id=wf), timeout=600)
    next(stream)
    b_ids = {ids[f"b{i}"] for i in range(count)}

    def reader() -> None:
        for msg in stream:
            now = time.perf_counter()
            for j in msg.job_ids:
                arrived[j] = now
            if b_ids <= arrived.keys():
                return

    reading = threading.Thread(target=reader)
    reading.start()
    returned: dict[int, float] = {}
    start = time.perf_counter() + 0.1

    def driver(k: int) -> None:
        for i in range(k, count, threads):
            pause = start + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # pacing the offered load
            stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                job_id=ids[f"a{i}"], status=c.JOB_STATUS_COMPLETED, run_id=run), timeout=30)
            returned[i] = time.perf_counter()

    drivers = [threading.Thread(target=driver, args=(k,)) for k in range(threads)]
    for t in drivers:
        t.start()
    for t in drivers:
        t.join(600)
    reading.join(600)
    stream.cancel()
    achieved = count / (max(returned.values()) - start)
    return [max(0.0, arrived[ids[f"b{i}"]] - returned[i]) * 1000 for i in range(count)], achieved


def f3_ready_latency(tmp: str, size: dict) -> Figure:
    server = Server(tmp, "f3")
    try:
        lat, achieved = push_latency(server.stubs, size["f3_completions"], 1000.0)
    finally:
        server.close()
    p50, p99 = statistics.median(lat), pct(lat, 0.99)
    return Figure("ready latency", f"p50 {p50:.1f} ms, p99 {p99:.1f} ms at {achieved:.0f} completions/s",
                  "p99 <= 50 ms at 1,000/s", "Torc: its 5-60 s unblocking interval", p99 <= 50,
                  f"CompleteJob(a_i) returns -> b_i's id on an observer WatchReadyJobs stream; "
                  f"{size['f3_completions']:,} pairs offered at 1,000/s by 4 client threads",
                  {"p50_ms": p50, "p99_ms": p99, "achieved_per_s": achieved})


def _subscribers(target: str, requests: list, ready, stop, received, queue) -> None:
    """One client process holding WatchReadyJobs streams (aio) for `requests`,
    (workflow_id, compute_node_id) pairs:
    subscribe, count up `ready` once every acknowledgement arrived, then note
    the wall-clock time of each stream's next message until `stop` is set."""
    import asyncio  # noqa: PLC0415

    from torc_grpc._pb import worker_pb2_grpc  # noqa: PLC0415

    async def main() -> list[float]:
        channels = [grpc.aio.insecure_channel(target) for _ in range(2)]
        stubs = [worker_pb2_grpc.WorkerServiceStub(ch) for ch in channels]
        calls = [stubs[k % 2].WatchReadyJobs(kpb.WatchReadyJobsRequest(workflow_id=wf, compute_node_id=node),
                                             timeout=600) for k, (wf, node) in enumerate(requests)]
        await asyncio.gather(*(call.read() for call in calls))
        with ready.get_lock():
            ready.value += 1
        stamps: list[float] = []

        async def next_message(call) -> None:
            await call.read()
            stamps.append(time.time())
            with received.get_lock():
                received.value += 1

        tasks = [asyncio.ensure_future(next_message(call)) for call in calls]
        await asyncio.get_running_loop().run_in_executor(None, stop.wait, 900)
        for task in tasks:
            task.cancel()
        for call in calls:
            call.cancel()
        for ch in channels:
            await ch.close()
        return stamps

    queue.put(asyncio.run(main()))


class _Subscribed:
    """WatchReadyJobs streams for `requests` ((workflow_id, compute_node_id)
    pairs) held by `procs` client processes; as a context manager, open on
    entry (every acknowledgement read) and released on exit, which sets
    `stamps`: the sorted wall-clock times at which streams got their next message."""

    def __init__(self, server: "Server", requests: list, procs: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.ready, self.received, self.stop, self.queue = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Event(), ctx.Queue()
        parts = [requests[k::procs] for k in range(procs)]
        self.clients = [ctx.Process(target=_subscribers, args=(server.target, part, self.ready, self.stop,
                                                                self.received, self.queue)) for part in parts]
        self.stamps: list[float] = []

    def __enter__(self) -> "_Subscribed":
        for p in self.clients:
            p.start()
        deadline = time.monotonic() + 300
        while self.ready.value < len(self.clients):
            if any(p.exitcode not in (None, 0) for p in self.clients):
                raise RuntimeError("a subscriber process failed; its traceback is above")
            if time.monotonic() > deadline:
                raise TimeoutError("the subscriber processes did not subscribe within 300 s")
            time.sleep(0.05)  # waiting (bounded) for the client processes to subscribe
        return self

    def wait_received(self, expected: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.received.value < expected and time.monotonic() < deadline:
            time.sleep(0.001)

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if exc[0] is None:
            self.stamps = sorted(t for part in collect(self.queue, self.clients, 120) for t in part)
        for p in self.clients:
            p.join(60)


def _fan_out(server: "Server", requests: list, trigger, expected: int, procs: int) -> dict:
    """Subscribe from `procs` processes, read the server's RSS and unary
    latency with the streams open, fire `trigger` while another thread keeps
    calling; returns reach_ms (until `expected` streams held a message),
    rss_open, unary_idle, unary_open and unary_during (from the trigger
    until `expected` streams held a message)."""
    wf = requests[0][0]
    idle = _unary(server, wf)
    with _Subscribed(server, requests, procs) as subs:
        rss_open = server.rss_mib()
        busy = _unary(server, wf)
        sampler = _UnarySampler(server, wf)
        sampler.start()
        t0 = time.time()
        trigger()
        subs.wait_received(expected)
        during = sampler.result()
    if len(subs.stamps) < expected:
        raise RuntimeError(f"only {len(subs.stamps)} of {expected} subscribers got the message")
    return {"reach_ms": (subs.stamps[expected - 1] - t0) * 1000, "rss_open": rss_open, "unary_idle": idle,
            "unary_open": busy, "unary_during": during}


def _hold(server: "Server", requests: list, procs: int, seconds: float) -> dict:
    """Hold the streams for `seconds` with nothing to send: rss_open and
    idle_cpu_share (server CPU seconds per second meanwhile)."""
    with _Subscribed(server, requests, procs):
        rss_open = server.rss_mib()
        cpu0, t0 = server.cpu_seconds(), time.monotonic()
        time.sleep(seconds)  # the measurement window itself
        idle_cpu = (server.cpu_seconds() - cpu0) / (time.monotonic() - t0)
    return {"rss_open": rss_open, "idle_cpu_share": idle_cpu}


def _unary(server: "Server", wf: int, count: int = 1000) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        server.stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=30)
        out.append((time.perf_counter() - t0) * 1000)
    return out


class _UnarySampler(threading.Thread):
    """GetWorkflowStatus in a loop until stopped: unary latency during a fan-out."""

    def __init__(self, server: "Server", wf: int) -> None:
        super().__init__(daemon=True)
        self.server, self.wf, self.stop, self.samples = server, wf, threading.Event(), []

    def run(self) -> None:
        while not self.stop.is_set() and len(self.samples) < 100_000:
            self.samples += _unary(self.server, self.wf, 1)

    def result(self) -> list[float]:
        self.stop.set()
        self.join(60)
        return self.samples


def f7_subscribers(tmp: str, size: dict) -> list[Figure]:
    out = []
    procs = size["procs"]
    for n in size["f7_subscribers"]:
        # Observers: every subscriber gets the batch.
        server = Server(tmp, f"f7-{n}", "--max-streams", str(n + 100))
        try:
            jobs = [c.JobSpec(name="gate", command="true"), c.JobSpec(name="next", command="true", depends_on=["gate"])]
            wf, run, ids = server.workflow(jobs)
            rss_idle = server.rss_mib()
            requests = [(wf, 0)] * n

            def fire() -> None:
                server.stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                    job_id=ids[0], status=c.JOB_STATUS_COMPLETED, run_id=run), timeout=30)

            got = _fan_out(server, requests, fire, n, procs)
        finally:
            server.close()
        reach_all = got["reach_ms"]
        per_sub = (got["rss_open"] - rss_idle) * 1024 / n
        idle99, open99 = pct(got["unary_idle"], 0.99), pct(got["unary_open"], 0.99)
        stall = max(got["unary_during"], default=0.0)
        out.append(Figure(
            f"subscriber fan-out ({n:,} observers)", f"all {n:,} hold the batch after {reach_all:.0f} ms; "
            f"{per_sub:.0f} KiB per subscriber; unary p99 {idle99:.1f} ms idle, {open99:.1f} ms with the streams "
            f"open; slowest unary call during this fan-out {stall:.0f} ms",
            "unary p99 within 2x (streams open); ~50 KB each", "", open99 <= 2 * max(idle99, 1.0),
            f"{n:,} observer streams from {procs} client processes (aio); CompleteJob returns -> the last "
            "observer holds the new id (wall clock across processes); unary = GetWorkflowStatus, 1,000 calls "
            "idle and 1,000 with the streams open, and a caller looping during the fan-out",
            {"reach_all_ms": reach_all, "kib_per_subscriber": per_sub, "unary_p99_idle": idle99,
             "unary_p99_open": open99, "unary_max_during_ms": stall, "unary_during_calls": len(got["unary_during"])}))
        # Waiting workers: each batch goes to about as many workers as it can
        # feed; a told worker waits no more, so each batch reaches new ones.
        k, batches = size["f7_new_jobs"], size["f7_batches"]
        server = Server(tmp, f"f7w-{n}", "--max-streams", str(n + 100))
        try:
            jobs = []
            for b in range(batches):
                jobs.append(c.JobSpec(name=f"gate{b}", command="true"))
                jobs += [c.JobSpec(name=f"n{b}-{i}", command="true", depends_on=[f"gate{b}"]) for i in range(k)]
            wf, run, _ = server.workflow(jobs, claim=False)
            gates = [j.id for j in server.stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(
                workflow_id=wf, limit=batches), timeout=60).jobs]
            one_cpu = c.Resources(num_cpus=1, memory_bytes=GiB, num_nodes=1)
            nodes = [server.stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
                workflow_id=wf, hostname=f"w{i}", resources=one_cpu), timeout=30).compute_node_id for i in range(n)]
            requests = [(wf, node) for node in nodes]

            def fire_workers() -> None:
                for gate in gates:  # one batch of k new jobs every 50 ms (the load's schedule)
                    server.stubs.worker.CompleteJob(kpb.CompleteJobRequest(
                        job_id=gate, status=c.JOB_STATUS_COMPLETED, run_id=run), timeout=30)
                    time.sleep(0.05)

            got = _fan_out(server, requests, fire_workers, k, procs)
        finally:
            server.close()
        reach_k = got["reach_ms"]
        idle99, during99 = pct(got["unary_idle"], 0.99), pct(got["unary_during"], 0.99)
        out.append(Figure(
            f"waiting workers reached ({n:,} subscribed, {k} new jobs)",
            f"{k} workers told within {reach_k:.0f} ms; unary p99 {idle99:.1f} ms idle, {during99:.1f} ms during "
            f"{batches} such fan-outs", "within 200 ms; unary p99 within 2x", "",
            reach_k <= 200 and during99 <= 2 * max(idle99, 1.0),
            f"{n:,} worker streams (1-CPU nodes, all waiting) from {procs} client processes; {batches} batches of "
            f"{k} new 1-CPU jobs, 50 ms apart; CompleteJob returns -> the k-th worker of the first batch holds its "
            "offer; unary = GetWorkflowStatus looping meanwhile",
            {"reach_ms": reach_k, "unary_p99_idle": idle99, "unary_p99_during": during99,
             "unary_during_calls": len(got["unary_during"])}))
    for n in size["f7_hold"]:
        server = Server(tmp, f"f7h-{n}", "--max-streams", str(n + 100))
        try:
            wf, _run, _ids = server.workflow([c.JobSpec(name="only", command="true")])
            rss_idle = server.rss_mib()
            got = _hold(server, [(wf, 0)] * n, procs, size["f7_hold_seconds"])
        finally:
            server.close()
        per_sub = (got["rss_open"] - rss_idle) * 1024 / n
        out.append(Figure(
            f"subscribers held ({n:,} idle streams)",
            f"{n:,} held; {per_sub:.0f} KiB per subscriber; server CPU while idle {got['idle_cpu_share']:.1%} of a core",
            "~0 CPU, ~50 KB each", "", got["idle_cpu_share"] < 0.05 and per_sub <= 64,
            f"{n:,} observer streams from {procs} client processes (aio), all registered, then "
            f"{size['f7_hold_seconds']:g} s with nothing to send: server RSS growth per stream and server CPU "
            "(utime + stime) per second", {"kib_per_subscriber": per_sub, "idle_cpu_share": got["idle_cpu_share"]}))
    return out


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
            elif "complete" in resp.reason:
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


def _has_yappi() -> bool:
    try:
        import yappi  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


FIGURES = {
    "f1": f1_noop_vs_complete,
    "f2": f2_batched_completions,
    "f3": f3_ready_latency,
    "f4": f4_unblocking_kernel,
    "f5": f5_claims,
    "f6": f6_million,
    "f7": f7_subscribers,
    "f8": f8_end_to_end,
}


def run_figure(key: str, size: dict) -> list[Figure]:
    with tempfile.TemporaryDirectory() as tmp:
        got = FIGURES[key](tmp, size)
    return got if isinstance(got, list) else [got]


__all__ = ["FIGURES", "Figure", "run_figure"]
