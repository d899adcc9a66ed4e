"""What a user reads: `list`, `status`, `jobs`, `results`, `events`, `nodes`,
each as a table or, with --json, one JSON document (JSON lines with --watch
and --follow), built from the same named records (views.py)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import Callable

from torc_core.units import format_bytes

from . import commands, views
from ._pb import common_pb2 as c
from ._pb import job_pb2 as jpb
from .cli_security import client_auth
from .progress import Progress

_STATUSES = [name for name in views.STATUS_NAMES.values() if name != "unspecified"]


def add_parsers(sub, server_arg: Callable[[argparse.ArgumentParser], None]) -> None:
    def command(name: str, help_text: str, workflow: bool = True) -> argparse.ArgumentParser:
        cmd = sub.add_parser(name, help=help_text, description=help_text[0].upper() + help_text[1:] + ".")
        server_arg(cmd)
        if workflow:
            cmd.add_argument("workflow", type=int, help="workflow id")
        cmd.add_argument("--json", action="store_true", help="print JSON (statuses and jobs by name) "
                         "instead of a table" + (": one object a line" if name in ("status", "events") else ""))
        cmd.set_defaults(func=_view, default_log="WARNING")
        return cmd

    listing = command("list", "list the workflows you may see: id, name, user, state, job counts",
                      workflow=False)
    listing.add_argument("--user", default="", help="only this user's workflows")
    status = command("status", "show a workflow's progress by job status")
    status.add_argument("--watch", action="store_true", help="keep showing it as it changes, until complete")
    jobs = command("jobs", "list a workflow's jobs")
    jobs.add_argument("--status", action="append", default=[], metavar="STATUS", choices=_STATUSES,
                      help="only jobs with this status (repeatable)")
    results = command("results", "list a workflow's job results (the current run), with job names")
    results.add_argument("--all-runs", action="store_true", help="every run and attempt")
    events = command("events", "list a workflow's events")
    events.add_argument("--follow", action="store_true", help="keep printing new events as they happen")
    nodes = command("nodes", "list a workflow's compute nodes: host, resources, lease, jobs held")
    nodes.add_argument("--active", action="store_true", help="only nodes still registered")
    logs = sub.add_parser("logs", help="print a job's stdout (or stderr) from the node that ran it",
                          description="Print the output file of a job's attempt (default: the running "
                          "one, else the latest), when it is reachable from here (a shared filesystem); "
                          "else say on which host and at which path it is.")
    server_arg(logs)
    logs.add_argument("job", type=int, help="job id")
    logs.add_argument("--stderr", action="store_true", help="stderr instead of stdout")
    logs.add_argument("--attempt", type=int, default=0, help="this attempt (default: the latest)")
    logs.add_argument("--follow", action="store_true", help="keep printing while the attempt runs")
    logs.set_defaults(func=_logs, default_log="WARNING")


def _view(args: argparse.Namespace) -> int:
    stubs = commands.connect(args.server, client_auth(args))
    show = _Output(args.json)
    name = args.command
    if name == "list":
        records = [views.workflow_record(wf, commands.status_counts(stubs, wf.id))
                   for wf in commands.list_workflows(stubs, args.user)]
        show.table(records, ["id", "name", "user", "state", "run_id", "done", "num_jobs", "counts"],
                   counts=lambda r: ", ".join(f"{k} {v}" for k, v in r["counts"].items()))
        return 0
    wf = args.workflow
    if name == "status":
        if args.watch and not args.json:  # a bar on a terminal, plain lines otherwise
            live, record = Progress(sys.stdout), None
            for status in commands.status_changes(stubs, wf):
                record = views.status_record(wf, status)
                live.update(record)
            live.close(record)
            return 0
        changes = commands.status_changes(stubs, wf) if args.watch else [commands.status_counts(stubs, wf)]
        for status in changes:
            show.line(views.status_record(wf, status), views.progress_bar)
    elif name == "jobs":
        statuses = [c.JobStatus.Value("JOB_STATUS_" + s.upper()) for s in args.status]
        show.table([views.job_record(j) for j in commands.list_jobs(stubs, wf, statuses)],
                   ["id", "name", "status", "attempt_id", "compute_node_id", "resource_requirements"])
    elif name == "results":
        names = commands.job_names(stubs, wf)
        show.table([views.result_record(r, names) for r in commands.list_results(stubs, wf, args.all_runs)],
                   ["job_id", "job_name", "run_id", "attempt_id", "status", "return_code",
                    "exec_time_seconds", "peak_memory", "avg_memory", "peak_cpu_percent", "avg_cpu_percent",
                    "compute_node_id", "error"],
                   peak_memory=lambda r: format_bytes(r["peak_memory_bytes"]),
                   avg_memory=lambda r: format_bytes(r["avg_memory_bytes"]))
    elif name == "events":
        records = (views.event_record(e) for e in commands.events(stubs, wf, args.follow))
        if args.json and not args.follow:
            print(json.dumps(list(records), indent=2))  # one document
        for record in records:
            show.line(record, views.event_line)
    elif name == "nodes":
        show.table([views.node_record(n) for n in commands.list_nodes(stubs, wf, args.active)],
                   ["id", "hostname", "type", "active", "num_cpus", "memory", "num_gpus", "lease_left_seconds",
                    "pending_jobs", "running_jobs", "slurm_job_id"],
                   memory=lambda r: format_bytes(r["memory_bytes"]))
    return 0


def _logs(args: argparse.Namespace) -> int:
    stubs = commands.connect(args.server, client_auth(args))
    out = commands.job_output(stubs, args.job, args.attempt, args.stderr)
    where = f"job {out.job_id} run {out.run_id} attempt {out.attempt_id}"
    if not out.path:
        print(f"torc-grpc: {where}: its node ({out.hostname or 'unknown'}) did not say where it writes "
              "(a worker older than this one)", file=sys.stderr)
        return 1
    if not os.path.exists(out.path):
        print(f"torc-grpc: {where}: the file is on {out.hostname} at {out.path} (not reachable from here)",
              file=sys.stderr)
        return 1
    ended = threading.Event()
    if args.follow and out.running:
        threading.Thread(target=_until_attempt_ends, args=(stubs, out, ended), daemon=True).start()
    else:
        ended.set()
    with open(out.path, "rb") as f:
        while True:
            chunk = f.read(1 << 16)
            if chunk:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
                continue
            if ended.is_set():  # read once more after the end: nothing written late is lost
                rest = f.read()
                sys.stdout.buffer.write(rest)
                sys.stdout.flush()
                return 0
            ended.wait(FOLLOW_SECONDS)  # tail -f: a file gives no push, look again shortly


#: How often `logs --follow` looks for new output while the attempt runs.
FOLLOW_SECONDS = 0.2
_ENDS = ("job_completed", "job_failed", "job_canceled", "job_terminated", "job_pending_failed",
         "workflow_canceled", "workflow_complete")


def _until_attempt_ends(stubs, out: "commands.Output", ended: threading.Event) -> None:
    """Set `ended` when the server records the end of the job's attempt (events, pushed)."""
    try:
        since = commands.status_counts(stubs, out.workflow_id).last_event_id
        job = stubs.job.GetJob(jpb.GetJobRequest(job_id=out.job_id), timeout=30).job
        if job.status not in (c.JOB_STATUS_PENDING, c.JOB_STATUS_RUNNING) or job.attempt_id != out.attempt_id:
            return
        for event in commands.events_after(stubs, out.workflow_id, since):
            if event.event_type in _ENDS and (event.event_type.startswith("workflow")
                                              or json.loads(event.data or "{}").get("job_id") == out.job_id):
                return
    finally:
        ended.set()


class _Output:
    """Tables for people, JSON for programs (the same records)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def table(self, records: list[dict], columns: list[str], **computed: Callable[[dict], object]) -> None:
        if self.as_json:
            print(json.dumps(records, indent=2))
            return
        rows = [[_cell(computed[c](r) if c in computed else r.get(c)) for c in columns] for r in records]
        print(commands.table(columns, rows))

    def line(self, record: dict, human: Callable[[dict], str]) -> None:
        print(json.dumps(record) if self.as_json else human(record), flush=True)


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value
