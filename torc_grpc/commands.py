"""What the CLI's client commands do (torc_grpc.cli parses, this acts).

Every command talks to a server over gRPC, the same way any client would;
`run` starts its own server first (torc_grpc.run).
"""

from __future__ import annotations

import dataclasses
import os

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, TextIO

import grpc

from torc_core.errors import InvalidArgument
from torc_core.models import WorkflowSpec
from torc_core.spec import LoadedSpec, load_spec

from . import convert
from ._pb import common_pb2 as c
from ._pb import event_pb2 as epb
from ._pb import job_pb2 as jpb
from ._pb import workflow_pb2 as wpb
from .auth import ClientAuth
from .client import Stubs, watch_events

#: Jobs per AddJobs message when a spec is too large for one CreateWorkflow.
BATCH = 10_000
STATUS_NAMES = {v: k.removeprefix("JOB_STATUS_").lower() for k, v in c.JobStatus.items()}


@dataclass
class Submitted:
    workflow_id: int
    num_jobs: int


def connect(target: str, auth: Optional[ClientAuth] = None) -> Stubs:
    """Stubs for the CLI (64 MiB messages); credentials from `auth` or the environment."""
    return Stubs.connect(target, options=[("grpc.max_receive_message_length", 64 * 1024 * 1024),
                                          ("grpc.max_send_message_length", 64 * 1024 * 1024)],
                         auth=auth)


def read_spec(path: str, out: TextIO = sys.stderr, output_dir: str = "") -> LoadedSpec:
    """Load a spec file (notes about ignored keys go to `out`); output_dir
    (made absolute) is where Slurm allocations of the workflow write."""
    loaded = load_spec(path)
    for item in loaded.ignored:
        print(f"torc-grpc: note: {item} is accepted but not used by this server", file=out)
    if output_dir:
        settings = dataclasses.replace(loaded.spec.slurm, output_dir=os.path.abspath(output_dir))
        loaded = dataclasses.replace(loaded, spec=dataclasses.replace(loaded.spec, slurm=settings))
    return loaded


def missing_inputs(spec: WorkflowSpec, base: Path = Path(".")) -> list[str]:
    """Input files that no job writes and that do not exist (the client's check before a start)."""
    written = {name for j in spec.jobs for name in j.output_files}
    paths = {f.name: f.path for f in spec.files}
    needed = {name for j in spec.jobs for name in j.input_files} - written
    return sorted(paths[n] for n in needed if paths.get(n) and not (base / paths[n]).exists())


def submit(stubs: Stubs, spec: WorkflowSpec) -> Submitted:
    """Create the workflow: one CreateWorkflow, or CreateWorkflow + AddJobs
    batches for large specs (jobs are in dependency order already). A failed
    AddJobs deletes the half-made workflow: nothing is left behind."""
    if len(spec.jobs) <= BATCH:
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=convert.workflow_spec_to_pb(spec)),
                                             timeout=300)
        return Submitted(resp.workflow.id, len(spec.jobs))
    resp = stubs.workflow.CreateWorkflow(
        wpb.CreateWorkflowRequest(spec=convert.workflow_spec_to_pb(spec, with_jobs=False)), timeout=300)
    wf = resp.workflow.id

    def batches() -> Iterator[wpb.AddJobsRequest]:
        for k in range(0, len(spec.jobs), BATCH):
            yield wpb.AddJobsRequest(workflow_id=wf, jobs=[convert.job_spec_to_pb(j) for j in spec.jobs[k:k + BATCH]])

    try:
        count = stubs.workflow.AddJobs(batches(), timeout=3600).count
    except BaseException:
        delete(stubs, wf)
        raise
    return Submitted(wf, count)


def delete(stubs: Stubs, workflow_id: int) -> None:
    """Delete a workflow (best effort: used to leave nothing half-made behind)."""
    try:
        stubs.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=workflow_id), timeout=300)
    except grpc.RpcError:
        pass


def start(stubs: Stubs, workflow_id: int, rerun_all: bool = False) -> wpb.StartWorkflowResponse:
    return stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=workflow_id, rerun_all=rerun_all),
                                        timeout=600)


def check_inputs(spec: WorkflowSpec, force: bool) -> None:
    missing = missing_inputs(spec)
    if missing and not force:
        raise InvalidArgument("input files do not exist: " + ", ".join(missing[:10])
                              + (" ..." if len(missing) > 10 else "") + " (create them, or pass --force)")


# ------------------------------------------------------------------ reading


def status_counts(stubs: Stubs, workflow_id: int) -> wpb.GetWorkflowStatusResponse:
    return stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=workflow_id), timeout=30)


def render_status(status: wpb.GetWorkflowStatusResponse, width: int = 40) -> str:
    counts = {STATUS_NAMES[n.status]: n.count for n in status.counts if n.count}
    total = status.num_jobs or sum(counts.values())
    done = sum(counts.get(k, 0) for k in ("completed", "failed", "canceled", "terminated", "disabled"))
    filled = int(width * done / total) if total else width
    state = "canceled" if status.is_canceled else "complete" if status.is_complete else "running"
    parts = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} done, run {status.run_id}, {state}: {parts}"


def watch_status(stubs: Stubs, workflow_id: int, out: TextIO) -> None:
    """Re-render the status line whenever the server records an event (pushed, not polled)."""
    status = status_counts(stubs, workflow_id)
    print(render_status(status), file=out, flush=True)
    if status.is_complete:
        return
    last = 0.0
    for event in watch_events(stubs.channel, workflow_id, replay_after=status.last_event_id):
        now = time.monotonic()
        final = event.event_type in ("workflow_complete", "workflow_canceled")
        if final or now - last >= 0.25:
            last = now
            print(render_status(status_counts(stubs, workflow_id)), file=out, flush=True)
        if final:
            return


def table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*headers), *(fmt.format(*map(str, r)) for r in rows)])


def list_jobs(stubs: Stubs, workflow_id: int, statuses: list[int]) -> list:
    jobs, after = [], 0
    while True:
        page = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=workflow_id, statuses=statuses, after_id=after,
                                                      limit=10_000), timeout=60)
        jobs += page.jobs
        if not page.next_after_id:
            return jobs
        after = page.next_after_id


def list_results(stubs: Stubs, workflow_id: int, all_runs: bool) -> list:
    rows, after = [], 0
    while True:
        page = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=workflow_id, all_runs=all_runs,
                                                            after_id=after, limit=10_000), timeout=60)
        rows += page.results
        if not page.next_after_id:
            return rows
        after = page.next_after_id


def print_events(stubs: Stubs, workflow_id: int, follow: bool, out: TextIO) -> None:
    def show(e) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(e.timestamp_ms / 1000))
        severity = c.Severity.Name(e.severity).removeprefix("SEVERITY_").lower()
        print(f"{e.id:>8}  {stamp}  {severity:<7}  {e.event_type:<24}  {e.data}", file=out, flush=True)

    if follow:
        for event in watch_events(stubs.channel, workflow_id, replay_after=0):
            show(event)
        return
    after = 0
    while True:
        page = stubs.event.ListEvents(epb.ListEventsRequest(workflow_id=workflow_id, after=after, limit=10_000),
                                      timeout=60)
        for event in page.events:
            show(event)
        if not page.next_after:
            return
        after = page.next_after

