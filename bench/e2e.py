"""End to end with real jobs (issue 16): torc-grpc against HyperQueue on the
same machine, side by side in one run, and the machine's own spawn ceiling.

Usage: python bench/e2e.py [--rounds 3] [--jobs 5000] [--no-write]

Every job is `/bin/sh -c true`. Workloads: 10 layers with 2 blockers each,
and independent jobs.
* torc-grpc: a server already up (`torc-grpc serve`); timed from
  `torc-grpc submit --start SPEC` until `torc-grpc worker --cpus 2` exits.
  Per job: the worker's calls (its summary line), the server's CPU and the
  worker's CPU (its children, the jobs, included).
* HyperQueue (PyPI wheel, `pip install ".[bench]"`; its Rust server and
  worker run in `hyperqueue.LocalCluster`, one worker with 2 cores; each round
  in a clean process, bench/hq_driver.py): timed from building the job to
  its end; default output files, as torc's.
* Spawn ceiling: `sh -c true` from Python's posix_spawn with 1 and 2
  threads (files for stdout/stderr, as a job has).
Rounds alternate torc / HyperQueue. Prints a table and rewrites its section
of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import table, write_section  # noqa: E402
from harness import Server  # noqa: E402

WORKLOADS = (("10 layers, 2 blockers each", 10), ("independent", 1))


def spec(n: int, layers: int) -> dict:
    per = n // layers
    jobs = []
    for layer in range(layers):
        for i in range(per):
            job = {"name": f"j{layer}_{i}", "command": "true"}
            if layer:
                job["depends_on"] = [f"j{layer - 1}_{i}", f"j{layer - 1}_{(i + 1) % per}"]
            jobs.append(job)
    return {"name": f"e2e_{layers}", "jobs": jobs}


def spawn_ceiling(threads: int, n: int, tmp: str) -> float:
    env = dict(os.environ)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC

    def run(k: int) -> None:
        for i in range(n // threads):
            fo = os.open(f"{tmp}/c{k}.o", flags, 0o644)
            fe = os.open(f"{tmp}/c{k}.e", flags, 0o644)
            pid = os.posix_spawn("/bin/sh", ["/bin/sh", "-c", "true"], env,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, fo, 1), (os.POSIX_SPAWN_DUP2, fe, 2)])
            os.close(fo)
            os.close(fe)
            os.waitpid(pid, 0)

    t0 = time.perf_counter()
    pool = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return n / (time.perf_counter() - t0)


def torc_round(server: Server, spec_path: str, n: int, tmp: str, k: int) -> dict:
    cli = [sys.executable, "-m", "torc_grpc.cli"]
    cpu0 = server.cpu_seconds()
    t0 = time.perf_counter()
    out = subprocess.run([*cli, "submit", "--start", spec_path, "--server", server.target], capture_output=True,
                         text=True, timeout=600, cwd=tmp)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    wf = out.stdout.strip()
    worker = subprocess.Popen([*cli, "worker", "--server", server.target, "--workflow", wf, "--cpus", "2",
                               "--output-dir", f"{tmp}/out{k}"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True, cwd=tmp)
    _pid, status, usage = os.wait4(worker.pid, 0)
    seconds = time.perf_counter() - t0
    summary = worker.stdout.read()
    worker.returncode = os.waitstatus_to_exitcode(status)
    if worker.returncode != 0 or f"{n} completed" not in summary:
        raise RuntimeError(f"worker: {summary}")
    calls = int(re.search(r"(\d+) calls", summary).group(1))
    return {"seconds": seconds, "rate": n / seconds, "calls": calls / n,
            "server_us": (server.cpu_seconds() - cpu0) / n * 1e6,
            "worker_us": (usage.ru_utime + usage.ru_stime) / n * 1e6}


def hq_round(n: int, layers: int, workdir: str) -> dict:
    """One HyperQueue round in a clean process (bench/hq_driver.py)."""
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "hq_driver.py"),
                          str(n), str(layers), workdir], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"HyperQueue round: {out.stderr[-2000:]}")
    seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
    return {"seconds": seconds, "rate": n / seconds}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    n = args.jobs
    try:
        import hyperqueue  # noqa: F401 (rounds run in bench/hq_driver.py)
    except ImportError:
        print("HyperQueue is not installed: pip install '.[bench]'", file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="torc-e2e-")
    # Byte-compile torc's packages, as `pip install .` does: from a source tree (an
    # editable install, PYTHONDONTWRITEBYTECODE set) every CLI process would
    # otherwise compile its modules again (~0.05-0.1 s a process, twice a round).
    import torc_core  # noqa: PLC0415
    import torc_grpc  # noqa: PLC0415

    for pkg in (torc_core, torc_grpc):
        compileall.compile_dir(os.path.dirname(pkg.__file__), quiet=1)
    ceiling = {t: spawn_ceiling(t, 4000, tmp) for t in (1, 2)}
    server = Server(tmp, "e2e")
    results: dict = {}
    try:
        for name, layers in WORKLOADS:
            path = os.path.join(tmp, f"spec_{layers}.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(spec(n, layers), f)
            torc, hq = [], []
            for k in range(args.rounds):
                torc.append(torc_round(server, path, n, tmp, len(results) * 10 + k))
                workdir = os.path.join(tmp, f"hq{layers}_{k}")
                os.makedirs(workdir)
                hq.append(hq_round(n, layers, workdir))
                print(f"{name}, round {k + 1}: torc {torc[-1]['rate']:.0f} jobs/s, "
                      f"HyperQueue {hq[-1]['rate']:.0f} jobs/s", flush=True)
            results[name] = (torc, hq)
    finally:
        server.close()
    rows = []
    for name, (torc, hq) in results.items():
        ratio = statistics.median(h["seconds"] for h in hq) / statistics.median(t["seconds"] for t in torc)
        best = max(t["rate"] for t in torc)
        rows.append([f"{n:,} jobs, {name}",
                     f"{min(t['rate'] for t in torc):.0f}-{best:.0f} jobs/s",
                     f"{min(h['rate'] for h in hq):.0f}-{max(h['rate'] for h in hq):.0f} jobs/s",
                     f"{ratio:.2f}", f"{statistics.median(t['rate'] for t in torc) / ceiling[2]:.2f}",
                     f"{statistics.median(t['calls'] for t in torc):.2f}",
                     f"{statistics.median(t['server_us'] for t in torc):.0f}",
                     f"{statistics.median(t['worker_us'] for t in torc):.0f}"])
    headers = ["workload", "torc-grpc", "HyperQueue", "HQ time / torc time", "torc / spawn ceiling",
               "worker calls per job", "server CPU us/job", "worker CPU us/job (jobs included)"]
    text = table(headers, rows)
    body = (f"{args.rounds} alternating rounds, every job `/bin/sh -c true`, one worker with 2 cores for each "
            f"system (torc-grpc: `submit --start` until `worker --cpus 2` exits; HyperQueue "
            f"0.27 LocalCluster, default output files). Spawn ceiling (posix_spawn of `sh -c true` "
            f"from Python with output files): {ceiling[1]:.0f}/s with 1 thread, {ceiling[2]:.0f}/s with "
            f"2.\n\n{text}\n")
    print(body)
    if not args.no_write:
        write_section("end to end with real jobs (bench/e2e.py)", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
