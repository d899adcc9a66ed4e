"""What the CLI shows of the server's messages, as named records: one home
for status and severity names, job names on results and events, and the
workflow's state in words. Tables and `--json` are both built from these
records, so the two never disagree."""

from __future__ import annotations

import datetime
import json
from typing import Any, Mapping

from ._pb import common_pb2 as c
from ._pb import workflow_pb2 as wpb

#: JobStatus number -> its name in lower case ("completed").
STATUS_NAMES = {v: k.removeprefix("JOB_STATUS_").lower() for k, v in c.JobStatus.items()}
#: GraphGrouping number -> its name ("name", "depth"): the dag command's words and the dashboard's.
GROUPING_NAMES = {v: k.removeprefix("GRAPH_GROUPING_").lower() for k, v in wpb.GraphGrouping.items()}
#: Statuses after which a job no longer runs in this run.
DONE = ("completed", "failed", "canceled", "terminated", "disabled")
#: Status name -> its colour in pictures (`dag`, the dashboard): one palette.
STATUS_COLOURS = {
    "uninitialized": "#e0e0e0", "blocked": "#b0b7c3", "ready": "#f6d365",
    "pending": "#9ecae1", "running": "#3182bd", "completed": "#31a354", "failed": "#de2d26",
    "canceled": "#fd8d3c", "terminated": "#a63603", "disabled": "#777777", "pending_failed": "#fb6a4a",
}


def status_name(value: int) -> str:
    return STATUS_NAMES.get(value, str(value))


def severity_name(value: int) -> str:
    return c.Severity.Name(value).removeprefix("SEVERITY_").lower() if value in c.Severity.values() else str(value)


def iso_ms(timestamp_ms: int) -> str:
    return datetime.datetime.fromtimestamp(timestamp_ms / 1000, datetime.timezone.utc).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def state(status) -> str:
    """A workflow's state from GetWorkflowStatus: not started, running, complete or canceled."""
    if status.is_canceled:
        return "canceled"
    if status.is_complete:
        return "complete"
    return "running" if status.run_id else "not started"


def status_record(workflow_id: int, status) -> dict:
    counts = {status_name(n.status): n.count for n in status.counts if n.count}
    total = status.num_jobs or sum(counts.values())
    return {"workflow_id": workflow_id, "state": state(status), "run_id": status.run_id, "num_jobs": total,
            "done": sum(counts.get(k, 0) for k in DONE), "counts": counts}


def workflow_record(wf, status) -> dict:
    record = {"id": wf.id, "name": wf.name, "user": wf.user, "created_at": wf.created_at}
    record.update({k: v for k, v in status_record(wf.id, status).items() if k != "workflow_id"})
    return record


def job_record(job) -> dict:
    return {"id": job.id, "name": job.name, "status": status_name(job.status), "attempt_id": job.attempt_id,
            "compute_node_id": job.compute_node_id or None,
            "resource_requirements": job.resource_requirements.name or None}


def result_record(result, names: Mapping[int, str]) -> dict:
    return {"job_id": result.job_id, "job_name": names.get(result.job_id, ""), "run_id": result.run_id,
            "attempt_id": result.attempt_id, "status": status_name(result.status),
            "return_code": result.return_code, "exec_time_seconds": round(result.exec_time_seconds, 3),
            "compute_node_id": result.compute_node_id or None, "completion_time": result.completion_time,
            "error": result.error or None, "peak_memory_bytes": result.peak_memory_bytes,
            "avg_memory_bytes": result.avg_memory_bytes, "peak_cpu_percent": round(result.peak_cpu_percent, 1),
            "avg_cpu_percent": round(result.avg_cpu_percent, 1),
            "samples": [[s.seconds, s.cpu_percent, s.memory_bytes] for s in result.samples]}


def event_record(event) -> dict:
    """An event with its data decoded, statuses named."""
    try:
        data: Any = json.loads(event.data) if event.data else {}
    except ValueError:
        data = {"raw": event.data}
    if isinstance(data, dict) and isinstance(data.get("status"), int):
        data["status"] = status_name(data["status"])
    return {"id": event.id, "time": iso_ms(event.timestamp_ms), "severity": severity_name(event.severity),
            "event_type": event.event_type, "data": data}


def node_record(node) -> dict:
    r = node.resources
    return {"id": node.id, "hostname": node.hostname, "pid": node.pid, "type": node.compute_node_type,
            "slurm_job_id": node.slurm_job_id or None, "active": node.is_active,
            "started": node.start_time, "lease_left_seconds": round(node.lease_left_seconds, 1),
            "duration_seconds": round(node.duration_seconds, 1) or None,
            "num_cpus": r.num_cpus, "memory_bytes": r.memory_bytes, "num_gpus": r.num_gpus,
            "time_limit_seconds": r.time_limit_seconds or None,
            "pending_jobs": node.pending_jobs, "running_jobs": node.running_jobs,
            "output_dir": node.output_dir or None}


def event_line(record: dict) -> str:
    """One event for a terminal: id, local time, severity, type, data."""
    stamp = datetime.datetime.fromisoformat(record["time"].replace("Z", "+00:00")).astimezone().strftime(
        "%Y-%m-%d %H:%M:%S")
    data = record["data"]
    text = ", ".join(f"{k}={v}" for k, v in data.items()) if isinstance(data, dict) else str(data)
    return f"{record['id']:>8}  {stamp}  {record['severity']:<7}  {record['event_type']:<24}  {text}"


def progress_bar(record: dict, width: int = 40) -> str:
    """A status record as one line: bar, done/total, run, state, counts."""
    total, done = record["num_jobs"], record["done"]
    filled = int(width * done / total) if total else width
    parts = ", ".join(f"{k} {v}" for k, v in record["counts"].items())
    return (f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} done, run {record['run_id']}, "
            f"{record['state']}: {parts}")
