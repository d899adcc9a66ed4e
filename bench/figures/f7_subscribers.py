"""Figure 7: thousands of WatchReadyJobs subscribers: fan-out, targeting, unary latency."""

from __future__ import annotations

import multiprocessing
import threading
import time

import grpc
from harness import Figure, GiB, Server, collect, pct

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb


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
