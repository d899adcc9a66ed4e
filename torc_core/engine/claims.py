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
from dataclasses import dataclass
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
from .core import EngineCore, StatusChange, Tx
from .reads import Reads
from .state import Cancel, WorkflowState

#: Jobs one ClaimJobs may report started (claim-ahead).
MAX_STARTED = 10_000
#: Most rounds of claim-ahead (each one node-full) in one ClaimJobs.
MAX_CLAIM_AHEAD = 16
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
    #: Claim-ahead: more rounds, each packed against the node's whole registered
    #: capacity, left PENDING for the node to start as its running jobs end.
    ahead: int = 0

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
        if not 0 <= req.claim_ahead <= MAX_CLAIM_AHEAD:
            raise InvalidArgument(f"claim_ahead must be 0 to {MAX_CLAIM_AHEAD}, not {req.claim_ahead}")
        if req.claim_ahead and req.compute_node_id <= 0:
            raise InvalidArgument("claim_ahead needs the compute_node_id that will run the jobs")
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
            ahead=req.claim_ahead,
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
                wf = core.workflow_brief(core.writer, workflow_id)
                node = core.active_node(core.writer, node_id, workflow_id)
                if wf.is_canceled:
                    return ClaimOutcome((), ClaimEnd.WORKFLOW_CANCELED)
                state = core.state_locked(workflow_id)
                sort = spec.sort_method
                if sort is None:
                    sort = SortMethod.from_name(wf.jobs_sort_method)
                jobs = self._claim_locked(workflow_id, state, node, sort, spec, answer_fits, wf.run_id)
                if node:
                    ahead = any(j.status == JobStatus.PENDING for j in jobs) and spec.ahead
                    core.notifier.node_claimed(workflow_id, node, None if ahead else spec.still_free(jobs))
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
        picked = self._pick(state, spec.free, spec, spec.limit, sort, label_id)
        now = len(picked)  # fit the node's free capacity now; the rest is claimed ahead
        if spec.ahead and node:
            capacity = store.compute_node_resources(self._core.writer, node)
            whole = Capacity(capacity.num_cpus, capacity.memory_bytes, capacity.num_gpus,
                             max(1, capacity.num_nodes))
            for _ in range(spec.ahead):  # each round packed against the whole node
                left = spec.limit - len(picked) if spec.limit else 0  # 0 = no limit
                if spec.limit and left <= 0:
                    break
                more = self._pick(state, whole, spec, left, sort, label_id)
                if not more:
                    break
                picked += more
        if not picked:
            return []
        core = self._core
        ids = state.graph.ids_at(picked)
        try:
            now_status = JobStatus.RUNNING if spec.start else JobStatus.PENDING
            statuses = [now_status] * now + [JobStatus.PENDING] * (len(ids) - now)
            jobs = store.claimed_jobs(core.writer, ids, statuses, node or 0)  # claim order
            if answer_fits is not None and len(jobs) > 1:
                keep = max(1, min(len(jobs), answer_fits(jobs)))
                if keep < len(jobs):  # the rest stays ready: never claim what cannot be sent
                    state.add_ready_rows(store.class_rows(core.writer, ids[keep:]))
                    ids, jobs = ids[:keep], jobs[:keep]
                    now = min(now, keep)
            with core.transaction() as tx:
                if store.claim_jobs(tx.conn, ids, node) != len(ids):
                    raise RuntimeError("ready index and database disagree")  # rolled back
                if spec.start:  # as StartJob does, for each (the graph learns below, at once)
                    for job in jobs[:now]:
                        _write_start(tx, workflow_id, job.id, job.name, node, run_id, mirror=False)
        except BaseException:
            core.drop_state_locked(workflow_id)
            raise
        state.graph.set_statuses(ids, [job.status for job in jobs])
        return jobs

    @staticmethod
    def _pick(state: WorkflowState, free: Capacity, spec: ClaimSpec, limit: int, sort: SortMethod,
              label_id: int) -> list:
        """Take jobs that fit `free` out of the ready index (their dense indices)."""
        return list(state.ready.claim(free.num_cpus, free.memory_bytes, free.num_gpus, free.num_nodes,
                                      spec.time_limit, limit, int(sort), label_id, spec.scheduler,
                                      int(spec.mode)))

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
            _write_start(tx, job.workflow_id, job_id, job.name, node, run_id)
        return self._reads.job_brief(job_id)

    def start_claimed(self, workflow_id: int, compute_node_id: int, job_ids: Sequence[int]) -> tuple[int, ...]:
        """Claim-ahead (ClaimJobs `started`): jobs a claim gave this node PENDING
        that it has started since go RUNNING, as StartJob would, in one
        transaction. A job already RUNNING for the node is a repeat (a lost
        answer) and is left alone; one the node no longer holds (reset,
        canceled, given back) is returned: the node must stop it."""
        if not job_ids:
            return ()
        if compute_node_id <= 0:
            raise InvalidArgument("started: needs the compute_node_id that started the jobs")
        if len(job_ids) > MAX_STARTED:
            raise InvalidArgument(f"started: at most {MAX_STARTED} jobs in one call")
        core = self._core
        refused: list[int] = []
        with core.write_lock, core.transaction() as tx:
            node = core.active_node(tx.conn, compute_node_id, workflow_id)
            run_id = core.workflow_brief(tx.conn, workflow_id).run_id
            for job_id in dict.fromkeys(job_ids):
                job = store.job_state(tx.conn, job_id)
                if job is None or job.workflow_id != workflow_id or job.compute_node_id != node \
                        or job.status not in (JobStatus.PENDING, JobStatus.RUNNING):
                    refused.append(job_id)
                elif job.status == JobStatus.PENDING:
                    _write_start(tx, workflow_id, job_id, job.name, node, run_id)
        return tuple(refused)


def _write_start(tx: Tx, workflow_id: int, job_id: int, name: str, node: Optional[int], run_id: int,
                 mirror: bool = True) -> None:
    """The one write of a start: RUNNING on the node and its event; with
    mirror, the in-memory graph learns the status after the commit."""
    store.start_job(tx.conn, job_id, node)
    tx.event(workflow_id, "job_started", Severity.INFO, job_id=job_id, job_name=name,
             compute_node_id=node or 0, run_id=run_id)
    if mirror:
        tx.status_changes.append(StatusChange(workflow_id, job_id, JobStatus.RUNNING))


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
