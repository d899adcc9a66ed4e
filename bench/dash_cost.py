"""What an open dashboard costs the server (issue 18): a running 100,000-job
workflow (10 layers of `true`, one real worker with 2 CPUs), measured in
alternating windows with no dashboard page open and with one open (a real
headless Chromium on `torc-grpc dash`, pushed counts, the collapsed DAG).

Usage: python bench/dash_cost.py [--rounds 2] [--window 12] [--no-write]

Per window: the server's CPU (share of one core, and microseconds per job
completed, since the worker's pace moves with the machine's load), unary
latency p50/p99 of a probe (GetWorkflowStatus at 50 calls/s), jobs/s, and the
dash process's own CPU. Chromium's CPU is not counted: it runs on the user's
desktop, not on the login node. Prints a table and rewrites its section of
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402
from harness import Server, make_workflow, process_cpu_seconds  # noqa: E402

from torc_grpc._pb import common_pb2 as c  # noqa: E402
from torc_grpc._pb import workflow_pb2 as wpb  # noqa: E402
from torc_grpc.testing import spawn_worker  # noqa: E402

N_JOBS, LAYERS = 100_000, 10
PROBE_HZ = 50


def jobs() -> list:
    per = N_JOBS // LAYERS
    return [c.JobSpec(name=f"layer{layer}_{i}", command="true",
                      depends_on=[f"layer{layer - 1}_{i}"] if layer else [])
            for layer in range(LAYERS) for i in range(per)]


class Probe:
    """GetWorkflowStatus at PROBE_HZ: latencies and the completed count."""

    def __init__(self, server: Server, wf: int) -> None:
        self.server, self.wf = server, wf
        self.latencies: list[float] = []
        self.done = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        request = wpb.GetWorkflowStatusRequest(workflow_id=self.wf)
        while not self._stop.wait(1 / PROBE_HZ):
            t0 = time.perf_counter()
            status = self.server.stubs.workflow.GetWorkflowStatus(request, timeout=30)
            self.latencies.append(time.perf_counter() - t0)
            self.done = sum(n.count for n in status.counts if n.status >= c.JOB_STATUS_COMPLETED)

    def take(self) -> list[float]:
        out, self.latencies = self.latencies, []
        return out

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)


def start_dash(target: str, tmp: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "dash", "--server", target, "--port", "0"],
                            cwd=tmp, stdout=subprocess.PIPE, stderr=open(os.path.join(tmp, "dash.log"), "w"),
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    return proc, lines.get(timeout=60).strip().split("=", 1)[1]


def window(server: Server, probe: Probe, dash: subprocess.Popen, seconds: float) -> dict:
    probe.take()
    cpu0, dash0, done0, t0 = server.cpu_seconds(), process_cpu_seconds(dash.pid), probe.done, time.perf_counter()
    time.sleep(seconds)  # the measured window (a duration, not a synchronisation)
    wall = time.perf_counter() - t0
    lat = sorted(probe.take())
    cpu, jobs_done = server.cpu_seconds() - cpu0, probe.done - done0
    return {"server_cpu": cpu / wall, "us_per_job": 1e6 * cpu / max(jobs_done, 1), "jobs_s": jobs_done / wall,
            "p50": 1e3 * lat[len(lat) // 2], "p99": 1e3 * lat[int(len(lat) * 0.99)],
            "dash_cpu": (process_cpu_seconds(dash.pid) - dash0) / wall, "calls": len(lat)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--window", type=float, default=12.0)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (the test extra)

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        server = Server(tmp, "dash")
        wf, _run, _ids = make_workflow(server.stubs, jobs(), claim=False)
        dash, url = start_dash(server.target, tmp)
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        worker = spawn_worker(server.target, wf, os.path.join(tmp, "w"), "--cpus", "2", "--memory", "2g")
        probe = Probe(server, wf)
        rows: dict[str, list[dict]] = {"none": [], "dashboard": []}
        try:
            window(server, probe, dash, 3.0)  # warm up: the worker reaches its pace
            for _ in range(args.rounds):
                rows["none"].append(window(server, probe, dash, args.window))
                page = browser.new_page()
                page.goto(url)
                page.goto(url.split("?")[0] + f"#/workflow/{wf}")
                page.wait_for_selector("svg.dag g.node", timeout=60_000)
                rows["dashboard"].append(window(server, probe, dash, args.window))
                page.close()
                if worker.poll() is not None:
                    raise SystemExit("the workflow ended before the windows did: fewer rounds or a shorter --window")
        finally:
            probe.stop()
            worker.kill()
            browser.close()
            dash.terminate()
            dash.wait(30)
            server.close()
    med = {k: {m: statistics.median(r[m] for r in v) for m in v[0]} for k, v in rows.items()}
    n, d = med["none"], med["dashboard"]
    body = table(["measure", "no dashboard", "dashboard open", "open / none"], [
        ["server CPU (share of one core)", f"{n['server_cpu']:.2f}", f"{d['server_cpu']:.2f}",
         f"{d['server_cpu'] / n['server_cpu']:.2f}"],
        ["server CPU per job completed (us)", f"{n['us_per_job']:.0f}", f"{d['us_per_job']:.0f}",
         f"{d['us_per_job'] / n['us_per_job']:.2f}"],
        ["unary p50 (ms, GetWorkflowStatus)", f"{n['p50']:.2f}", f"{d['p50']:.2f}", f"{d['p50'] / n['p50']:.2f}"],
        ["unary p99 (ms, GetWorkflowStatus)", f"{n['p99']:.2f}", f"{d['p99']:.2f}", f"{d['p99'] / n['p99']:.2f}"],
        ["jobs/s (the worker)", f"{n['jobs_s']:.0f}", f"{d['jobs_s']:.0f}", f"{d['jobs_s'] / n['jobs_s']:.2f}"],
        ["dash process CPU (share of one core)", f"{n['dash_cpu']:.3f}", f"{d['dash_cpu']:.3f}", ""],
    ])
    body = (f"`python bench/dash_cost.py --rounds {args.rounds} --window {args.window:g}`\n\n{body}\n\n"
            f"Medians of {args.rounds} alternated windows of {args.window:g} s on a running {N_JOBS:,}-job workflow "
            f"({LAYERS} layers of `true`, one worker with 2 CPUs); the probe calls GetWorkflowStatus "
            f"{PROBE_HZ} times a second. With the page open the server also serves its two streams "
            "(WatchWorkflowStatus: the counts, at most 4 a second; WatchEvents at WARNING and above) and the "
            "page's reads (workflow, collapsed DAG, a page of jobs, failed jobs). Chromium shares the 2 cores "
            "with server and worker here; its CPU is not counted.\n\n"
            "Before WatchWorkflowStatus, the page followed every INFO event (WatchEvents, about two a job) and "
            "asked GetWorkflowStatus after them: in the same bench, server CPU per job 684 -> 997 us (1.46), "
            "unary p99 6.34 -> 9.53 ms (1.50), jobs/s 647 -> 514 (0.79), the dash process 26% of a core.")
    print(body)
    if not args.no_write:
        write_section("dashboard cost (bench/dash_cost.py)", body)


if __name__ == "__main__":
    main()
