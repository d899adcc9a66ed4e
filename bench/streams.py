"""Stream numbers (issue 4): fan-out, memory per subscriber, push latency.

Usage: python bench/streams.py [--subscribers 1000] [--completions 1000] [--rate 1000]

Runs `torc-grpc serve` as its own process (so its RSS and threads are its
own) and measures, in one run:
* fan-out: from CompleteJob returning to the last of N observers holding the
  newly ready job ids (5 rounds; median and worst);
* memory: the server's RSS and thread count idle, with N idle subscribers,
  and after they disconnected (per subscriber = RSS delta / N);
* unary latency: GetWorkflowStatus p50/p99 idle and with N streams open;
* push latency: CompleteJob(a_i) returning -> b_i's id arriving on an
  observer stream, p50/p99 over --completions pairs at --rate completions/s
  (4 client threads).
Prints a table and rewrites its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time

import grpc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402

from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc._pb import worker_pb2 as kpb  # noqa: E402
from torc_grpc._pb import worker_pb2_grpc  # noqa: E402
from torc_grpc._pb import workflow_pb2 as wpb  # noqa: E402
from torc_grpc.testing import Stubs, spawn_server  # noqa: E402

DEADLINE = 120.0


def proc_status(pid: int) -> tuple[float, int]:
    """(RSS in MiB, threads) of a process."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return int(fields["VmRSS"][0]) / 1024, int(fields["Threads"][0])


def pct(samples: list[float], q: float) -> float:
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def unary(stubs: Stubs, wf: int, count: int = 200) -> list[float]:
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf), timeout=10)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def create(stubs: Stubs, jobs: list) -> tuple[int, dict, int, int]:
    resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="bench", jobs=jobs)))
    wf = resp.workflow.id
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
    node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, hostname="bench", resources=c.Resources(num_cpus=1024, memory_bytes=2**44, num_nodes=1)))
    return wf, dict(resp.job_ids), run, node.compute_node_id


def complete(stubs: Stubs, job: int, run: int) -> None:
    stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=job, status=c.JOB_STATUS_COMPLETED, run_id=run), timeout=10)


def fan_out_and_memory(stubs: Stubs, pid: int, port: int, n: int, rounds: int = 5,
                       settle_threads: bool = True) -> dict:
    jobs = []
    for r in range(rounds):
        jobs.append(c.JobSpec(name=f"gate{r}", command="x"))
        jobs.append(c.JobSpec(name=f"next{r}", command="x", depends_on=[f"gate{r}"]))
    wf, ids, run, node = create(stubs, jobs)
    stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf, compute_node_id=node, limit=rounds))
    out: dict = {"idle": proc_status(pid), "unary_idle": unary(stubs, wf)}

    async def scenario():
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{port}") for _ in range(4)]
        stub = [worker_pb2_grpc.WorkerServiceStub(ch) for ch in channels]
        request = kpb.WatchReadyJobsRequest(workflow_id=wf)
        t0 = time.perf_counter()
        calls = [stub[k % 4].WatchReadyJobs(request, timeout=DEADLINE) for k in range(n)]
        await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), DEADLINE)
        out["subscribe_s"] = time.perf_counter() - t0
        await asyncio.sleep(1.0)  # let the server settle before reading its RSS (a measurement, not a sync)
        out["open"] = proc_status(pid)
        loop = asyncio.get_running_loop()
        out["unary_open"] = await loop.run_in_executor(None, unary, stubs, wf)
        fan = []
        for r in range(rounds):
            t0 = time.perf_counter()
            await loop.run_in_executor(None, complete, stubs, ids[f"gate{r}"], run)
            msgs = await asyncio.wait_for(asyncio.gather(*(call.read() for call in calls)), DEADLINE)
            fan.append((time.perf_counter() - t0) * 1000)
            assert all(list(m.job_ids) == [ids[f"next{r}"]] for m in msgs)
        out["fan_out_ms"] = fan
        for call in calls:
            call.cancel()
        for ch in channels:
            await ch.close()

    asyncio.run(scenario())
    deadline = time.monotonic() + (DEADLINE if settle_threads else 0)
    while proc_status(pid)[1] > out["idle"][1] and time.monotonic() < deadline:
        time.sleep(0.5)  # wait (bounded) for the pool's idle threads to exit
    out["closed"] = proc_status(pid)
    return out


def push_latency(stubs: Stubs, count: int, rate: float, threads: int = 4) -> list[float]:
    jobs = []
    for i in range(count):
        jobs += [c.JobSpec(name=f"a{i}", command="x"), c.JobSpec(name=f"b{i}", command="x", depends_on=[f"a{i}"])]
    wf, ids, run, node = create(stubs, jobs)
    claimed = 0
    while claimed < count:
        claimed += len(stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(
            workflow_id=wf, compute_node_id=node, limit=min(1000, count - claimed))).jobs)
    arrived: dict[int, float] = {}
    stream = stubs.worker.WatchReadyJobs(kpb.WatchReadyJobsRequest(workflow_id=wf), timeout=DEADLINE * 5)
    next(stream)
    b_ids = {ids[f"b{i}"] for i in range(count)}

    def reader():
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

    def driver(k: int):
        for i in range(k, count, threads):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)  # pacing the offered load
            complete(stubs, ids[f"a{i}"], run)
            returned[i] = time.perf_counter()

    drivers = [threading.Thread(target=driver, args=(k,)) for k in range(threads)]
    for t in drivers:
        t.start()
    for t in drivers:
        t.join(DEADLINE)
    reading.join(DEADLINE)
    stream.cancel()
    achieved = count / (max(returned.values()) - start)
    lat = [max(0.0, arrived[ids[f"b{i}"]] - returned[i]) * 1000 for i in range(count)]
    return lat, achieved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--completions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        proc, port = spawn_server(db, os.path.join(tmp, "server.log"), "--max-streams", str(args.subscribers + 100))
        stubs = Stubs.connect(f"127.0.0.1:{port}")
        try:
            fo = fan_out_and_memory(stubs, proc.pid, port, args.subscribers)
            lat, achieved = push_latency(stubs, args.completions, args.rate)
        finally:
            stubs.channel.close()
            proc.terminate()
            proc.wait(60)
    n = args.subscribers
    per_sub_kib = (fo["open"][0] - fo["idle"][0]) * 1024 / n
    rows = [
        [f"subscribe {n} observers in a burst (4 channels)", f"{fo['subscribe_s'] * 1000:.0f} ms", "all registered"],
        [f"fan-out: CompleteJob returns -> all {n} observers hold the new id",
         f"median {statistics.median(fo['fan_out_ms']):.0f} ms", f"worst {max(fo['fan_out_ms']):.0f} ms (5 rounds)"],
        ["server RSS idle / with streams / after disconnect",
         f"{fo['idle'][0]:.0f} / {fo['open'][0]:.0f} / {fo['closed'][0]:.0f} MiB", f"{per_sub_kib:.0f} KiB per subscriber"],
        ["server threads idle / with streams / after disconnect",
         f"{fo['idle'][1]} / {fo['open'][1]} / {fo['closed'][1]}", "pool threads exit when idle"],
        [f"GetWorkflowStatus p50 / p99, idle vs {n} streams open",
         f"{statistics.median(fo['unary_idle']):.2f} / {pct(fo['unary_idle'], 0.99):.2f} ms",
         f"{statistics.median(fo['unary_open']):.2f} / {pct(fo['unary_open'], 0.99):.2f} ms"],
        [f"push latency: CompleteJob returns -> dependent id on the stream ({args.completions} completions)",
         f"p50 {statistics.median(lat):.1f} ms, p99 {pct(lat, 0.99):.1f} ms",
         f"offered {args.rate:.0f}/s, achieved {achieved:.0f}/s"],
    ]
    text = table(["measurement", "result", "note"], rows)
    print(text)
    if not args.no_write:
        write_section("streams", text + "\n\nCommand: `python bench/streams.py` (server as its own process, "
                      "clients in this one; loopback).")


if __name__ == "__main__":
    main()
