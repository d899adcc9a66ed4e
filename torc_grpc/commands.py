"""What the CLI's client commands do (torc_grpc.cli parses, this acts).

Every command talks to a server over gRPC, the same way any client would;
`run` starts its own server first (torc_grpc.run).
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional, TextIO

import grpc

from torc_core import diagnose
from torc_core.errors import InvalidArgument
from torc_core.models import WorkflowSpec
from torc_core.resources import Capacity
from torc_core.spec import LoadedSpec, load_spec

from . import convert, views
from ._pb import common_pb2 as c
from ._pb import event_pb2 as epb
from ._pb import job_pb2 as jpb
from ._pb import workflow_pb2 as wpb
from .auth import ClientAuth
from .client import Stubs, watch_events, watch_status

#: Jobs per AddJobs message when a spec is too large for one CreateWorkflow.
BATCH = 10_000


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


def render_status(status: wpb.GetWorkflowStatusResponse, workflow_id: int = 0) -> str:
    return views.progress_bar(views.status_record(workflow_id, status))


def status_changes(stubs: Stubs, workflow_id: int) -> Iterator[wpb.GetWorkflowStatusResponse]:
    """The workflow's status now, then again whenever it changes (pushed by the
    server, at most 4 a second), until it completes or is canceled."""
    yield from watch_status(stubs.channel, workflow_id)


def table(headers: list[str], rows: list[list]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)] if rows else [len(h) for h in headers]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*headers), *(fmt.format(*map(str, r)) for r in rows)])


def _pages(call, request, items: str, cursor: str = "next_after_id", after: str = "after_id") -> list:
    """Every item of a paged list RPC."""
    out = []
    while True:
        page = call(request, timeout=60)
        out += getattr(page, items)
        nxt = getattr(page, cursor)
        if not nxt:
            return out
        setattr(request, after, nxt)


def list_jobs(stubs: Stubs, workflow_id: int, statuses: list[int]) -> list:
    return _pages(stubs.job.ListJobs, jpb.ListJobsRequest(workflow_id=workflow_id, statuses=statuses,
                                                          limit=10_000), "jobs")


def list_results(stubs: Stubs, workflow_id: int, all_runs: bool) -> list:
    return _pages(stubs.job.ListResults, jpb.ListResultsRequest(workflow_id=workflow_id, all_runs=all_runs,
                                                                limit=10_000), "results")


def list_workflows(stubs: Stubs, user: str = "") -> list:
    return _pages(stubs.workflow.ListWorkflows, wpb.ListWorkflowsRequest(user=user, limit=10_000), "workflows")


def list_nodes(stubs: Stubs, workflow_id: int, active_only: bool) -> list:
    return _pages(stubs.workflow.ListComputeNodes, wpb.ListComputeNodesRequest(
        workflow_id=workflow_id, active_only=active_only, limit=10_000), "nodes")


@dataclass(frozen=True)
class Output:
    """Where one attempt of a job wrote its stdout or stderr."""

    job_id: int
    workflow_id: int
    run_id: int
    attempt_id: int
    hostname: str
    #: Empty when the node did not say where it writes.
    path: str
    #: The attempt still runs (its file may grow).
    running: bool


def job_output(stubs: Stubs, job_id: int, attempt: int = 0, stderr: bool = False) -> Output:
    """The output file of a job's attempt (default: the running one, else the
    latest reported), from the node that ran it (ListComputeNodes)."""
    job = stubs.job.GetJob(jpb.GetJobRequest(job_id=job_id), timeout=30).job
    wf = job.workflow_id
    results = _pages(stubs.job.ListResults, jpb.ListResultsRequest(workflow_id=wf, job_id=job_id, all_runs=True,
                                                                   limit=10_000), "results")
    live = job.status in (c.JOB_STATUS_PENDING, c.JOB_STATUS_RUNNING) and job.compute_node_id
    if live and attempt in (0, job.attempt_id):
        node_id, run_id, attempt_id = job.compute_node_id, status_counts(stubs, wf).run_id, job.attempt_id
    else:
        chosen = [r for r in results if attempt in (0, r.attempt_id)]
        if not chosen:
            what = f"attempt {attempt}" if attempt else "attempt"
            raise InvalidArgument(f"job {job_id} ({job.name}) has no reported {what} yet "
                                  f"(it is {views.status_name(job.status)})")
        last = max(chosen, key=lambda r: r.id)
        node_id, run_id, attempt_id = last.compute_node_id, last.run_id, last.attempt_id
    node = next((n for n in list_nodes(stubs, wf, False) if n.id == node_id), None)
    stem = f"job_{job_id}_{run_id}_{attempt_id}.{'e' if stderr else 'o'}"
    path = os.path.join(node.output_dir, stem) if node is not None and node.output_dir else ""
    return Output(job_id, wf, run_id, attempt_id, node.hostname if node else "", path, bool(live))


def job_need(job) -> diagnose.JobNeed:
    """A stored job's needs, for diagnose.shortfalls."""
    r = job.resource_requirements.resources
    return diagnose.JobNeed(job.name, job.resource_requirements.name or "default",
                            Capacity(r.num_cpus, r.memory_bytes, r.num_gpus, r.num_nodes), r.time_limit_seconds)


def warn_insane(spec: WorkflowSpec, out: TextIO = sys.stderr) -> None:
    """Warn about jobs that no node anywhere could run (a typo such as 5000g for 5g), and
    about jobs that none of the declared Slurm schedulers could hold."""
    for found in diagnose.shortfalls(diagnose.spec_needs(spec), diagnose.SANE_NODE):
        print(f"torc-grpc: warning: {found.describe('no single node')}: check the resource set",
              file=out)
    for line in diagnose.beyond_schedulers(spec):
        print(f"torc-grpc: warning: {line}", file=out)


def job_names(stubs: Stubs, workflow_id: int) -> dict[int, str]:
    return {j.id: j.name for j in list_jobs(stubs, workflow_id, [])}


def events_after(stubs: Stubs, workflow_id: int, event_id: int) -> Iterator:
    """The workflow's events after `event_id`, as they happen (pushed)."""
    yield from watch_events(stubs.channel, workflow_id, replay_after=event_id)


def events(stubs: Stubs, workflow_id: int, follow: bool) -> Iterator:
    """The workflow's events in order; with follow, then the new ones as they happen."""
    if follow:
        yield from watch_events(stubs.channel, workflow_id, replay_after=0)
        return
    request = epb.ListEventsRequest(workflow_id=workflow_id, limit=10_000)
    while True:
        page = stubs.event.ListEvents(request, timeout=60)
        yield from page.events
        if not page.next_after:
            return
        request.after = page.next_after
