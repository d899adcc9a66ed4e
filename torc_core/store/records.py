"""Named rows the store returns where a full model would be more than the
caller needs (hot paths). NamedTuples: built from a row in one call."""

from __future__ import annotations

from typing import NamedTuple, Optional


class JobState(NamedTuple):
    """What completing, starting or retrying a job checks (one indexed lookup)."""

    id: int
    workflow_id: int
    status: int
    attempt_id: int
    name: str
    #: The workflow's current run.
    run_id: int
    is_canceled: int
    #: The compute node holding the job (None when none does).
    compute_node_id: Optional[int]


class WorkflowBrief(NamedTuple):
    """What a claim or the unblocker checks of a workflow (no JSON decoded)."""

    run_id: int
    is_canceled: int
    jobs_sort_method: str


class ReadyRow(NamedTuple):
    """A job's claim class: what the ready index and the notifier bucket by."""

    job_id: int
    priority: int
    label: str
    scheduler_id: Optional[int]
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    runtime_s: int


class JobAndStatus(NamedTuple):
    job_id: int
    status: int


class NodeOwner(NamedTuple):
    workflow_id: int
    is_active: int


class NodeLease(NamedTuple):
    workflow_id: int
    is_active: int
    lease_expires_at: float
    hostname: str


class ExpiredNode(NamedTuple):
    id: int
    workflow_id: int
    hostname: str
