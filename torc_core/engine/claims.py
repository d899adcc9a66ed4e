"""Claims: RegisterComputeNode, ClaimJobs (with long poll), ClaimNextJobs, StartJob.

Hot path: under the write lock the ready index (_ready.pyx) picks jobs that
fit the node, one transaction marks them PENDING for the node, commit,
return. The notifier learns what the node can still take, so that it is told
about new jobs only while it waits for work.
"""

from __future__ import annotations

import enum
import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

from .. import store
from ..errors import InvalidArgument, InvalidTransition
from ..models import (
    NO_SCHEDULER,
    ClaimEnd,
    ClaimOutcome,
    ClaimRequest,
    ComputeNodeSpec,
    Job,
    JobStatus,
    Resources,
    Severity,
    SortMethod,
)
from ..notifier import Shape
from ..resources import Capacity
from .allocations import link_node_locked
from .core import EngineCore, StatusChange
from .reads import Reads
from .state import Cancel, WorkflowState

#: Longest long poll of one ClaimJobs.
MAX_WAIT_SECONDS = 60.0
#: "No limit" for a resource (ClaimNextJobs ignores resources).
UNBOUNDED = 2**62
#: How many of these jobs (in claim order) fit in one answer (the transport's size budget).
AnswerFits = Callable[[Sequence[Job]], int]


class SchedulerMode(enum.IntEnum):
    """How the ready index treats a job's scheduler (its codes)."""

    #: Jobs without a scheduler or with the node's; any job when none of those fits.
    MATCH = 0
    #: Jobs without a scheduler or with the node's, no fallback.
    STRICT = 1
    #: Every job (ClaimNextJobs).
    IGNORE = 2


@dataclass(frozen=True)
class ClaimSpec:
    """One claim, decoded once: what the node offers and how to pick."""

    free: Capacity
    #: Seconds left on the node (0 = unbounded).
    time_limit: float
    #: Most jobs (0 = no limit), applied after packing.
    limit: int
    #: None = the workflow's jobs_sort_method.
    sort_method: Optional[SortMethod]
    label: str
    scheduler: int
    mode: SchedulerMode
    #: Start the claimed jobs too (RUNNING for the node).
    start: bool = False

    def still_free(self, jobs: Sequence[Job]) -> Optional[Shape]:
        """What the node can still take after claiming `jobs`, or None when
        the claim was full (the node is not waiting for work)."""
        if self.limit and len(jobs) >= self.limit:
            return None
        free = self.free
        for job in jobs:
            rr = job.resource_requirements
            free = free.minus(Capacity(rr.num_cpus, rr.memory_bytes, rr.num_gpus, rr.num_nodes))
        return Shape(*free, self.time_limit, self.label, self.limit - len(jobs) if self.limit else 0)


def check_resources(r: Resources, where: str) -> None:
    """A node's resources: counts >= 0 and a finite time limit >= 0 (NaN would
    be stored as NULL and never compare)."""
    for name in ("num_cpus", "memory_bytes", "num_gpus", "num_nodes"):
        if getattr(r, name) < 0:
            raise InvalidArgument(f"{where}.{name} must be >= 0, not {getattr(r, name)}")
    if not (math.isfinite(r.time_limit_seconds) and r.time_limit_seconds >= 0):
        raise InvalidArgument(
            f"{where}.time_limit_seconds must be a finite number >= 0, not {r.time_limit_seconds}"
        )


class Claims:
    """Compute nodes taking work (see module docstring)."""

    def __init__(self, core: EngineCore, reads: Reads) -> None:
        self._core = core
        self._reads = reads

    def register_compute_node(self, spec: ComputeNodeSpec) -> int:
        """Record a compute node of a workflow with a fresh lease; returns its id."""
        core = self._core
        check_resources(spec.resources, "resources")
        with core.write_lock, core.transaction() as tx:
            core.workflow(tx.conn, spec.workflow_id)
            node_id = store.insert_compute_node(
                tx.conn, spec, tx.received, time.time() + core.lease_seconds
            )
            tx.event(spec.workflow_id, "compute_node_registered", Severity.INFO,
                     compute_node_id=node_id, hostname=spec.hostname, pid=spec.pid,
                     slurm_job_id=spec.slurm_job_id)
            if spec.slurm_job_id:
                link_node_locked(tx, spec.workflow_id, node_id, spec.slurm_job_id)
        return node_id

    def claim_jobs(self, req: ClaimRequest, answer_fits: Optional[AnswerFits] = None,
                   cancel: Optional[Cancel] = None) -> ClaimOutcome:
        """Claim ready jobs that fit the node; long-poll up to wait_seconds when none do.

        answer_fits: how many of the picked jobs (in claim order) fit in one
        answer; the rest stay ready, so a claim that cannot be sent is never
        committed. At least one job is always claimed when one fits the node.
        cancel: ends a long poll at once (the client went away); the poll
        also ends at min(wait_seconds, MAX_WAIT_SECONDS).
        """
        if req.limit < 0:
            raise InvalidArgument(f"limit must be >= 0, not {req.limit}")
        if not req.wait_seconds >= 0:  # NaN too: a long poll must end
            raise InvalidArgument(f"wait_seconds must be a number >= 0, not {req.wait_seconds}")
        if req.start and req.compute_node_id <= 0:
            raise InvalidArgument("start needs the compute_node_id that runs the jobs")
        r = req.resources
        check_resources(r, "resources")
        spec = ClaimSpec(
            free=Capacity(r.num_cpus, r.memory_bytes, r.num_gpus, max(1, r.num_nodes)),
            time_limit=r.time_limit_seconds,
            limit=req.limit,
            sort_method=req.sort_method,
            label=req.label,
            scheduler=NO_SCHEDULER if req.scheduler_config_id is None else req.scheduler_config_id,
            mode=SchedulerMode.STRICT if req.strict_scheduler_match else SchedulerMode.MATCH,
            start=req.start,
        )
        return self._claim(req.workflow_id, req.compute_node_id, spec,
                           min(req.wait_seconds, MAX_WAIT_SECONDS), answer_fits, cancel)

    def claim_next_jobs(self, workflow_id: int, compute_node_id: int = 0, limit: int = 0,
                        answer_fits: Optional[AnswerFits] = None) -> ClaimOutcome:
        """Claim ready unlabeled jobs in id order, without any resource filter (default 10)."""
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0, not {limit}")
        spec = ClaimSpec(
            free=Capacity(UNBOUNDED, UNBOUNDED, UNBOUNDED, UNBOUNDED), time_limit=0.0,
            limit=limit or 10, sort_method=SortMethod.NONE, label="", scheduler=NO_SCHEDULER,
            mode=SchedulerMode.IGNORE,
        )
        return self._claim(workflow_id, compute_node_id, spec, 0.0, answer_fits, None)

    def _claim(self, workflow_id: int, node_id: int, spec: ClaimSpec, wait: float,
               answer_fits: Optional[AnswerFits], cancel: Optional[Cancel]) -> ClaimOutcome:
        core = self._core
        deadline = time.monotonic() + wait
        while True:
            with core.write_lock:
                wf = core.workflow(core.writer, workflow_id)
                node = core.active_node(core.writer, node_id, workflow_id)
                if wf.is_canceled:
                    return ClaimOutcome((), ClaimEnd.WORKFLOW_CANCELED)
                state = core.state_locked(workflow_id)
                sort = spec.sort_method
                if sort is None:
                    sort = SortMethod.from_name(wf.jobs_sort_method)
                jobs = self._claim_locked(workflow_id, state, node, sort, spec, answer_fits, wf.run_id)
                if node:
                    core.notifier.node_claimed(workflow_id, node, spec.still_free(jobs))
                if jobs:
                    return ClaimOutcome(tuple(jobs), actions_pending=workflow_id in core.pending_actions,
                                        run_id=wf.run_id)
                if state.is_complete():
                    return ClaimOutcome((), ClaimEnd.WORKFLOW_COMPLETE, workflow_id in core.pending_actions,
                                        wf.run_id)
                seen = state.version
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (cancel is not None and cancel.is_set()):
                return ClaimOutcome((), ClaimEnd.NONE_FIT, workflow_id in core.pending_actions, wf.run_id)
            state.wait_for_change(seen, remaining, cancel)  # no lock held while waiting

    def _claim_locked(
        self, workflow_id: int, state: WorkflowState, node: Optional[int], sort: SortMethod,
        spec: ClaimSpec, answer_fits: Optional[AnswerFits], run_id: int = 0,
    ) -> list[Job]:
        label_id = state.label_id(spec.label)
        if label_id is None or len(state.ready) == 0:
            return []
        free = spec.free
        picked = state.ready.claim(free.num_cpus, free.memory_bytes, free.num_gpus, free.num_nodes,
                                   spec.time_limit, spec.limit, int(sort), label_id, spec.scheduler,
                                   int(spec.mode))
        if not picked:
            return []
        core = self._core
        ids = state.graph.ids_at(picked)
        try:
            rows = store.jobs_by_ids(core.writer, ids)
            paths = store.output_paths(core.writer, ids)
            status = JobStatus.RUNNING if spec.start else JobStatus.PENDING
            jobs = [replace(rows[j], status=status, compute_node_id=node or 0,
                            output_file_paths=tuple(paths.get(j, ()))) for j in ids]  # claim order
            if answer_fits is not None and len(jobs) > 1:
                keep = max(1, min(len(jobs), answer_fits(jobs)))
                if keep < len(jobs):  # the rest stays ready: never claim what cannot be sent
                    state.add_ready_rows(store.class_rows(core.writer, ids[keep:]))
                    ids, jobs = ids[:keep], jobs[:keep]
            with core.transaction() as tx:
                if store.claim_jobs(tx.conn, ids, node) != len(ids):
                    raise RuntimeError("ready index and database disagree")  # rolled back
                if spec.start:  # as StartJob does, for each: RUNNING, the node, the event
                    for job in jobs:
                        store.start_job(tx.conn, job.id, node)
                        tx.event(workflow_id, "job_started", Severity.INFO, job_id=job.id,
                                 job_name=job.name, compute_node_id=node or 0, run_id=run_id)
        except BaseException:
            core.drop_state_locked(workflow_id)
            raise
        state.graph.set_statuses(ids, [status] * len(ids))
        return jobs

    def start_job(self, job_id: int, run_id: int, compute_node_id: int = 0) -> Job:
        """PENDING -> RUNNING for the current run; records the compute node."""
        core = self._core
        with core.write_lock, core.transaction() as tx:
            job = core.job_state(tx.conn, job_id)
            if job.status != JobStatus.PENDING:
                raise InvalidTransition(f"job {job_id} is {JobStatus(job.status).name}, not PENDING")
            check_run(job_id, job.workflow_id, run_id, job.run_id)
            node = core.active_node(tx.conn, compute_node_id, job.workflow_id)
            check_holder(job_id, job.status, job.compute_node_id, node)
            store.start_job(tx.conn, job_id, node)
            tx.event(job.workflow_id, "job_started", Severity.INFO, job_id=job_id, job_name=job.name,
                     compute_node_id=compute_node_id, run_id=run_id)
            tx.status_changes.append(StatusChange(job.workflow_id, job_id, JobStatus.RUNNING))
        return self._reads.job_brief(job_id)


def check_run(job_id: int, workflow_id: int, run_id: int, current_run: int) -> None:
    """Fence off workers of an earlier run."""
    if run_id != current_run:
        raise InvalidTransition(
            f"job {job_id}: stale run_id {run_id}, workflow {workflow_id} is on run {current_run}"
        )


def check_holder(job_id: int, status: int, holder: Optional[int], node: Optional[int]) -> None:
    """A call naming a compute node must come from the node holding the job:
    a node whose lease expired, or whose job was reset, is refused, so a job
    given to another node is never completed twice. Calls naming no node
    keep torc's rules."""
    if not node:
        return
    if holder and holder != node:
        raise InvalidTransition(f"job {job_id} is held by compute node {holder}, not {node}")
    if status not in (JobStatus.PENDING, JobStatus.RUNNING):
        raise InvalidTransition(
            f"job {job_id} is {JobStatus(status).name}: compute node {node} no longer holds it "
            "(given back after a lease expiry, or reset)"
        )
