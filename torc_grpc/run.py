"""`torc-grpc run SPEC`: a whole workflow on this machine, no separate server.

An embedded server on a local SQLite file (127.0.0.1, a free port), the spec
submitted and started through it like any client would, and a local worker
until the workflow is complete; then a summary. The database keeps the
history: `torc-grpc serve --db` on it later shows everything.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

from torc_core import diagnose
from torc_core.engine import Engine
from torc_core.resources import Capacity

from . import commands, views
from ._pb import common_pb2 as c
from .progress import Progress
from .server import ServerConfig, build_server
from .worker import StopReason, Worker, WorkerConfig, stop_on_signals


class _Live:
    """The run's progress (progress.py), fed on a thread by the server's pushed changes."""

    def __init__(self, stubs, workflow_id: int, out: TextIO) -> None:
        self._progress = Progress(out)
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._follow, args=(stubs, workflow_id), daemon=True,
                         name="torc-run-progress").start()

    def _follow(self, stubs, workflow_id: int) -> None:
        try:
            for status in commands.status_changes(stubs, workflow_id):
                with self._lock:
                    if self._closed:
                        return
                    self._progress.update(views.status_record(workflow_id, status))
        except Exception:  # noqa: BLE001 (the server stops when the run ends: nothing more to show)
            return

    def close(self, record: dict) -> None:
        with self._lock:
            self._closed = True
            self._progress.close(record)


def run_spec(spec_path: str, db: str, worker: WorkerConfig, *, force: bool = False,
             out: TextIO = sys.stdout) -> int:
    """Run a spec to completion; returns 0 when every job completed, else 1."""
    loaded = commands.read_spec(spec_path)
    commands.check_inputs(loaded.spec, force)
    offer = Capacity(worker.num_cpus, worker.memory_bytes, worker.num_gpus, worker.num_nodes)
    time_limit = max(1.0, worker.end_time - time.time()) if worker.end_time else 0.0
    for found in diagnose.shortfalls(diagnose.spec_needs(loaded.spec), offer, time_limit):
        print(f"torc-grpc: warning: {found.describe('this machine')}: never runnable here",
              file=sys.stderr)
    t0 = time.monotonic()
    engine = Engine(db)
    running = build_server(ServerConfig(db=db, host="127.0.0.1", port=0, max_streams=64), engine)
    target = f"127.0.0.1:{running.port}"
    stubs = commands.connect(target)
    try:
        submitted = commands.submit(stubs, loaded.spec)
        run = commands.start(stubs, submitted.workflow_id)
        print(f"workflow {submitted.workflow_id} ({loaded.spec.name!r}): {submitted.num_jobs} jobs, "
              f"run {run.run_id}, {run.num_ready} ready; database {db}", file=out, flush=True)
        worker.target, worker.workflow_id = target, submitted.workflow_id
        worker.stop_when_stuck = True  # the only worker: nobody else could take what it cannot
        local = Worker(worker, stubs.channel)
        live = _Live(stubs, submitted.workflow_id, out)
        with stop_on_signals(local):  # SIGTERM: drain the jobs, then stop the server
            summary = local.run()
        status = commands.status_counts(stubs, submitted.workflow_id)
        live.close(views.status_record(submitted.workflow_id, status))
        bad = [j for j in commands.list_jobs(stubs, submitted.workflow_id, [])
               if j.status not in (c.JOB_STATUS_COMPLETED, c.JOB_STATUS_DISABLED)]
        for job in bad[:20]:
            stderr = os.path.join(worker.output_dir, f"job_{job.id}_{status.run_id}_{job.attempt_id}.e")
            where = f"stderr: {stderr}" if os.path.exists(stderr) else "it did not run"
            print(f"  {job.name}: {views.status_name(job.status)} ({where})", file=out)
        if len(bad) > 20:
            print(f"  ... and {len(bad) - 20} more", file=out)
        if summary.reason is StopReason.STUCK:
            ready = [commands.job_need(j) for j in bad if j.status == c.JOB_STATUS_READY]
            for found in diagnose.shortfalls(ready, offer, time_limit):
                print(f"stuck: {found.describe('this machine')}", file=out)
        print(f"{summary.jobs_run} jobs run in {time.monotonic() - t0:.1f} s; worker stopped: {summary.reason}",
              file=out, flush=True)
        return 0 if not bad else 1
    finally:
        stubs.channel.close()
        running.stop(grace=5.0)
