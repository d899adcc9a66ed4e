"""What the dashboard's pages show, read through the server's RPCs as
JSON-ready dicts (the CLI's records, torc_grpc.views, so both say the same)."""

from __future__ import annotations

import os
from typing import Optional

import grpc

from .. import commands, views
from .._pb import common_pb2 as c
from .._pb import job_pb2 as jpb
from .._pb import workflow_pb2 as wpb
from ..client import Stubs

#: Jobs per page of the job table, and failed jobs listed.
PAGE = 20
FAILED_LISTED = 20
#: The end of a stderr file the dashboard shows.
STDERR_TAIL_BYTES = 16_384
_STATUS_BY_NAME = {name: number for number, name in views.STATUS_NAMES.items()}
#: gRPC status -> HTTP status of the dashboard's answer.
HTTP_STATUS = {grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.UNAUTHENTICATED: 401,
               grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404,
               grpc.StatusCode.FAILED_PRECONDITION: 409, grpc.StatusCode.ALREADY_EXISTS: 409,
               grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.UNAVAILABLE: 503,
               grpc.StatusCode.DEADLINE_EXCEEDED: 504}


class BadQuery(ValueError):
    """A query parameter the dashboard cannot use (HTTP 400)."""


def workflows(stubs: Stubs) -> list[dict]:
    return [views.workflow_record(wf, commands.status_counts(stubs, wf.id)) for wf in commands.list_workflows(stubs)]


def workflow(stubs: Stubs, workflow_id: int) -> dict:
    wf = stubs.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=workflow_id), timeout=30).workflow
    record = views.workflow_record(wf, commands.status_counts(stubs, workflow_id))
    record["description"] = wf.description
    return record


def graph(stubs: Stubs, workflow_id: int, max_nodes: int = 0) -> dict:
    g = stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(workflow_id=workflow_id, max_nodes=max_nodes),
                                        timeout=120)
    return {"grouping": views.GROUPING_NAMES.get(g.grouping, str(g.grouping)),
            "num_jobs": g.num_jobs, "num_edges": g.num_edges,
            "nodes": [{"id": n.id, "label": n.label, "depth": n.depth, "num_jobs": n.num_jobs,
                       "job_id": n.job_id or None,
                       "counts": {views.status_name(x.status): x.count for x in n.counts}} for n in g.nodes],
            "edges": [{"blocker": e.blocker, "dependent": e.dependent, "count": e.count} for e in g.edges]}


def status_numbers(names: str) -> list[int]:
    """'failed,running' -> their numbers; BadQuery names an unknown one."""
    out = []
    for name in filter(None, (x.strip() for x in names.split(","))):
        if name not in _STATUS_BY_NAME:
            raise BadQuery(f"status: {name!r} is not one of {', '.join(_STATUS_BY_NAME)}")
        out.append(_STATUS_BY_NAME[name])
    return out


def jobs(stubs: Stubs, workflow_id: int, statuses: list[int], after_id: int, limit: int = PAGE) -> dict:
    page = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=workflow_id, statuses=statuses, after_id=after_id,
                                                  limit=limit), timeout=30)
    return {"jobs": [views.job_record(j) for j in page.jobs], "next_after_id": page.next_after_id}


def failed(stubs: Stubs, workflow_id: int) -> list[dict]:
    return jobs(stubs, workflow_id, [c.JOB_STATUS_FAILED], 0, FAILED_LISTED)["jobs"]


def job(stubs: Stubs, job_id: int) -> dict:
    """A job, its command and every reported attempt with its resource use."""
    j = stubs.job.GetJob(jpb.GetJobRequest(job_id=job_id), timeout=30).job
    results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=j.workflow_id, job_id=job_id, all_runs=True,
                                                           limit=1000), timeout=30).results
    r = j.resource_requirements.resources
    record = views.job_record(j)
    record.update({"command": j.command, "workflow_id": j.workflow_id,
                   "requested": {"num_cpus": r.num_cpus, "memory_bytes": r.memory_bytes, "num_gpus": r.num_gpus,
                                 "runtime_seconds": r.time_limit_seconds},
                   "results": [views.result_record(x, {j.id: j.name}) for x in results]})
    return record


def stderr_tail(stubs: Stubs, job_id: int) -> dict:
    """The end of the job's latest stderr, read where its node wrote it (a shared file system)."""
    out = commands.job_output(stubs, job_id, stderr=True)
    text: Optional[str] = None
    note = ""
    if not out.path:
        note = "its compute node did not say where it writes"
    else:
        try:
            with open(out.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(0, size - STDERR_TAIL_BYTES))
                text = f.read().decode(errors="replace")
            if size > STDERR_TAIL_BYTES:
                note = f"the last {STDERR_TAIL_BYTES:,} of {size:,} bytes"
        except OSError as exc:
            note = f"cannot read {out.path} on this machine ({exc.strerror}); it was written on {out.hostname}"
    return {"job_id": job_id, "path": out.path, "attempt_id": out.attempt_id, "text": text, "note": note}


def cancel(stubs: Stubs, workflow_id: int) -> dict:
    done = stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=workflow_id), timeout=60)
    return {"num_canceled": done.num_canceled}


def restart_failed(stubs: Stubs, workflow_id: int) -> dict:
    """Reset the failed jobs (and what depends on them), then start the next run."""
    reset = stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=workflow_id, failed_only=True),
                                          timeout=300).updated_count
    started = commands.start(stubs, workflow_id)
    return {"reset": reset, "run_id": started.run_id, "num_ready": started.num_ready}
