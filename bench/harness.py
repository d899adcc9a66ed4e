"""The benchmark harness: the Figure record, a server process under load from
client processes, shared workflow setup and statistics. Each figure lives in
its own module of bench/figures/ and returns Figures (bench/run.py runs them).
"""

from __future__ import annotations

import multiprocessing
import os
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Optional

from torc_core.models import JobSpec
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import server_pb2 as spb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Stubs
from torc_grpc.testing import spawn_server

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


def process_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        return process_cpu_seconds(self.proc.pid)

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


def _has_yappi() -> bool:
    try:
        import yappi  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True
