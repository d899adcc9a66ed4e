"""`torc-grpc run SPEC`: a whole workflow on this machine, no separate server.

An embedded server on a local SQLite file (127.0.0.1, a free port), the spec
submitted and started through it like any client would, and a local worker
until the workflow is complete; then a summary. The database keeps the
history: `torc-grpc serve --db` on it later shows everything.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from torc_core.engine import Engine

from . import commands
from .server import ServerConfig, build_server
from .worker import Worker, WorkerConfig, stop_on_signals


def run_spec(spec_path: str, db: str, worker: WorkerConfig, *, force: bool = False,
             out: TextIO = sys.stdout) -> int:
    """Run a spec to completion; returns 0 when every job completed, else 1."""
    loaded = commands.read_spec(spec_path)
    commands.check_inputs(loaded.spec, force)
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
        with stop_on_signals(local):  # SIGTERM: drain the jobs, then stop the server
            summary = local.run()
        status = commands.status_counts(stubs, submitted.workflow_id)
        print(commands.render_status(status), file=out)
        bad = [j for j in commands.list_jobs(stubs, submitted.workflow_id, [])
               if j.status not in (commands.c.JOB_STATUS_COMPLETED, commands.c.JOB_STATUS_DISABLED)]
        for job in bad[:20]:
            print(f"  {job.name}: {commands.STATUS_NAMES[job.status]} (output in {worker.output_dir})", file=out)
        if len(bad) > 20:
            print(f"  ... and {len(bad) - 20} more", file=out)
        print(f"{summary.jobs_run} jobs run in {time.monotonic() - t0:.1f} s; worker stopped: {summary.reason}",
              file=out, flush=True)
        return 0 if not bad else 1
    finally:
        stubs.channel.close()
        running.stop(grace=5.0)
