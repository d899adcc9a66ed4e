"""Running workflows: compute nodes, claims, starts, completions, unblocking.

Mixed into Engine (engine.py documents the concurrency contract). Hot paths:
* claim: under the write lock the ready index picks jobs that fit, one
  transaction marks them PENDING for the node, commit, return.
* complete: validate, write the result and the new status in one short
  transaction, hand the job to the unblocker, return; no downstream work on
  the caller's thread.
* unblock (the unblocker thread): the graph kernel computes newly ready and
  cascade-canceled jobs for a whole batch, one transaction writes them, then
  the ready index and the waiting long polls are updated.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Optional, Sequence

import apsw

from . import store
from .errors import InvalidArgument, InvalidTransition, NotFound, TorcError
from .models import (
    COMPLETE_STATUSES,
    SORT_METHODS,
    TERMINAL_STATUSES,
    ClaimOutcome,
    ClaimRequest,
    Completion,
    ComputeNodeSpec,
    NO_SCHEDULER,
    JobStatus,
    Page,
    Severity,
)
from .notifier import Shape
from .state import WorkflowState

log = logging.getLogger("torc_core.execution")

MAX_WAIT_SECONDS = 60.0
UNBOUNDED = 2**62
_SORT_CODE = {name: code for code, name in enumerate(SORT_METHODS)}
SCHED_MATCH, SCHED_STRICT, SCHED_IGNORE = 0, 1, 2
_EVENT_FOR_STATUS = {
    5: ("job_completed", Severity.INFO),
    6: ("job_failed", Severity.ERROR),
    7: ("job_canceled", Severity.WARNING),
    8: ("job_terminated", Severity.WARNING),
    10: ("job_pending_failed", Severity.WARNING),
}


class ExecutionMixin:
    """Claim/start/complete and the unblocker's batch step (see module docstring)."""

    # ------------------------------------------------------------ compute nodes
    def register_compute_node(self, spec: ComputeNodeSpec) -> int:
        """Record a compute node of a workflow; returns its id."""
        r = spec.resources
        with self._write_lock, self._tx() as c:
            self._workflow(c, spec.workflow_id)
            node_id = store.insert_compute_node(
                c,
                (spec.workflow_id, spec.hostname, spec.pid, self._now_iso(), r.num_cpus,
                 r.memory_bytes, r.num_gpus, max(1, r.num_nodes), r.time_limit_seconds,
                 spec.scheduler_config_id, spec.compute_node_type or "local",
                 time.time() + self.lease_seconds),
            )
            self._event(c, spec.workflow_id, "compute_node_registered", Severity.INFO,
                        compute_node_id=node_id, hostname=spec.hostname, pid=spec.pid)
        return node_id

    def _check_node(self, c: apsw.Connection, node_id: int, workflow_id: int) -> Optional[int]:
        """The node id (None for 0) after checking it exists, belongs to the
        workflow and still holds its lease."""
        if not node_id:
            return None
        row = store.compute_node_workflow(c, node_id)
        if row is None:
            raise NotFound(f"compute node {node_id} not found", compute_node_id=node_id)
        owner, active = row
        if owner != workflow_id:
            raise InvalidArgument(f"compute node {node_id} belongs to workflow {owner}, not {workflow_id}")
        if not active:
            raise InvalidTransition(
                f"compute node {node_id} is no longer active (its lease expired and its jobs were "
                "given back); stop, and register again to continue"
            )
        return node_id

    # ------------------------------------------------------------ claims
    def claim_jobs(self, req: ClaimRequest) -> ClaimOutcome:
        """Claim ready jobs that fit the node; long-poll up to wait_seconds when none do."""
        if req.limit < 0:
            raise InvalidArgument(f"limit must be >= 0, not {req.limit}")
        if req.wait_seconds < 0:
            raise InvalidArgument("wait_seconds must be >= 0")
        if req.sort_method and req.sort_method not in _SORT_CODE:
            raise InvalidArgument(f"unknown sort_method {req.sort_method!r}")
        r = req.resources
        sched_mode = SCHED_STRICT if req.strict_scheduler_match else SCHED_MATCH
        scheduler = NO_SCHEDULER if req.scheduler_config_id is None else req.scheduler_config_id
        args = (r.num_cpus, r.memory_bytes, r.num_gpus, max(1, r.num_nodes), r.time_limit_seconds,
                req.limit, req.sort_method, req.label, scheduler, sched_mode)
        return self._claim(req.workflow_id, req.compute_node_id, args, min(req.wait_seconds, MAX_WAIT_SECONDS))

    def claim_next_jobs(self, workflow_id: int, compute_node_id: int = 0, limit: int = 0) -> ClaimOutcome:
        """Claim ready unlabeled jobs in id order, without any resource filter (default 10)."""
        if limit < 0:
            raise InvalidArgument(f"limit must be >= 0, not {limit}")
        args = (UNBOUNDED, UNBOUNDED, UNBOUNDED, UNBOUNDED, 0.0, limit or 10, "none", "",
                NO_SCHEDULER, SCHED_IGNORE)
        return self._claim(workflow_id, compute_node_id, args, 0.0)

    def _claim(self, workflow_id: int, node_id: int, args: tuple, wait: float) -> ClaimOutcome:
        deadline = time.monotonic() + wait
        while True:
            with self._write_lock:
                wf = self._workflow(self._writer, workflow_id)
                node = self._check_node(self._writer, node_id, workflow_id)
                if wf.is_canceled:
                    return ClaimOutcome((), "workflow is canceled")
                state = self._state_locked(workflow_id)
                jobs = self._claim_locked(workflow_id, state, node, wf.jobs_sort_method, args)
                if node:
                    self.notifier.node_claimed(workflow_id, node, _still_free(args, jobs))
                if jobs:
                    return ClaimOutcome(tuple(jobs))
                if state.is_complete():
                    return ClaimOutcome((), "workflow is complete")
                seen = state.version
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return ClaimOutcome((), "no ready job fits")
            state.wait_for_change(seen, remaining)  # no lock held while waiting

    def _claim_locked(
        self, workflow_id: int, state: WorkflowState, node: Optional[int], default_sort: str, args: tuple
    ):
        cpus, mem, gpus, nodes, tl, limit, sort, label, scheduler, mode = args
        label_id = state.label_id(label)
        if label_id is None or len(state.ready) == 0:
            return []
        sort_code = _SORT_CODE[sort or default_sort]
        picked = state.ready.claim(cpus, mem, gpus, nodes, tl, limit, sort_code, label_id, scheduler, mode)
        if not picked:
            return []
        ids = state.graph.ids_at(picked)
        try:
            with self._tx() as c:
                if store.claim_jobs(c, ids, node) != len(ids):
                    raise RuntimeError("ready index and database disagree")  # rolled back
        except BaseException:
            self._drop_state_locked(workflow_id)
            raise
        state.graph.set_statuses(ids, [JobStatus.PENDING] * len(ids))
        jobs = store.jobs_by_ids(self._writer, ids)
        paths = store.output_paths(self._writer, ids)
        return [replace(jobs[j], output_file_paths=tuple(paths[j])) if j in paths else jobs[j]
                for j in ids]  # claim order

    # ------------------------------------------------------------ start / complete
    def start_job(self, job_id: int, run_id: int, compute_node_id: int = 0):
        """PENDING -> RUNNING for the current run; records the compute node."""
        with self._write_lock:
            with self._tx() as c:
                _id, wf_id, status, _attempt, name, current_run, _canceled, holder = job_row(c, job_id)
                if status != JobStatus.PENDING:
                    raise InvalidTransition(f"job {job_id} is {JobStatus(status).name}, not PENDING")
                check_run(job_id, wf_id, run_id, current_run)
                node = self._check_node(c, compute_node_id, wf_id)
                _check_holder(job_id, status, holder, node)
                store.start_job(c, job_id, node)
                self._event(c, wf_id, "job_started", Severity.INFO, job_id=job_id, job_name=name,
                            compute_node_id=compute_node_id, run_id=run_id)
            state = self._states.get(wf_id)
            if state is not None:
                state.graph.set_statuses([job_id], [JobStatus.RUNNING])
        return self.job_brief(job_id)

    def complete_job(self, completion: Completion):
        """Record a terminal status and result; refusals raise with nothing
        written. Returns the job as the completion left it."""
        ticket = self._group_commit([completion], answer=True)
        if ticket.outcomes[0] is not None:
            raise ticket.outcomes[0]
        return ticket.jobs[completion.job_id]

    def complete_jobs(self, completions: Sequence[Completion]) -> list[Optional[TorcError]]:
        """Complete many jobs in one transaction; per item None (ok) or the refusal."""
        return self.complete_jobs_detailed(completions)[0]

    def complete_jobs_detailed(
        self, completions: Sequence[Completion]
    ) -> tuple[list[Optional[TorcError]], dict[int, str]]:
        """complete_jobs, plus the jobs a failure handler retried (job id ->
        its rule's recovery script, "" for none).

        Group commit: the call queues its completions, then takes the write
        lock; whoever gets the lock first commits every queued call's
        completions in one transaction and the others find theirs done. A
        refusal is per item and writes nothing for that item, so calls never
        see each other's refusals; an unexpected error fails every call of
        the transaction (nothing of it was committed).
        """
        ticket = self._group_commit(completions)
        return ticket.outcomes, ticket.retried

    def _group_commit(self, completions: Sequence[Completion], answer: bool = False) -> "_Ticket":
        """Commit `completions` with whatever else is queued (see
        complete_jobs_detailed). With answer, the ticket also carries the
        completed jobs as the commit left them: one query on the writer per
        transaction, where a read transaction per call cost 4x more under load."""
        ticket = _Ticket(completions, answer)
        with self._queue_lock:
            self._queued.append(ticket)
        with self._write_lock:
            if not ticket.done:
                self._commit_queued_locked()
        if ticket.error is not None:
            raise ticket.error
        return ticket

    def _commit_queued_locked(self) -> None:
        with self._queue_lock:
            tickets, self._queued = self._queued, []
        done = AfterCommit(self._now_iso())
        try:
            with self._tx() as c:
                for ticket in tickets:
                    for item in ticket.items:
                        try:
                            self._complete_one(c, item, done)
                        except TorcError as exc:
                            ticket.outcomes.append(exc)
                        else:
                            ticket.outcomes.append(None)
            self._after_completions_locked(done)
            answered = [item.job_id for ticket in tickets if ticket.answer
                        for item, err in zip(ticket.items, ticket.outcomes) if err is None]
            jobs = store.jobs_by_ids(self._writer, answered) if answered else {}
        except Exception as exc:  # handed to every waiting call; the leader raises it too
            for ticket in tickets:
                ticket.error, ticket.done = exc, True
            return
        for ticket in tickets:
            ticket.retried = {j.job_id: done.retried[j.job_id] for j in ticket.items if j.job_id in done.retried}
            if ticket.answer:
                ticket.jobs = {j.job_id: jobs[j.job_id] for j in ticket.items if j.job_id in jobs}
            ticket.done = True
        self.unblocker.submit(done.handoff)

    def _after_completions_locked(self, done: "AfterCommit") -> None:
        """Bring the in-memory state in line after a commit of completions
        (write lock held); the caller submits done.handoff to the unblocker."""
        for wf_id, job_id, status in done.direct:
            state = self._states.get(wf_id)
            if state is not None:
                state.graph.set_statuses([job_id], [status])
        by_wf: dict[int, list[int]] = {}
        for wf_id, job_id in done.ready:
            by_wf.setdefault(wf_id, []).append(job_id)
        for wf_id, ids in by_wf.items():
            state = self._states.get(wf_id)
            if state is None:
                continue  # built from the database on next use
            state.graph.set_statuses(ids, [JobStatus.READY] * len(ids))
            rows = store.class_rows(self._writer, ids)
            state.add_ready_rows(rows)
            state.notify()
            self._announce_locked(wf_id, rows, False)

    def _complete_one(self, c: apsw.Connection, item: Completion, done: "AfterCommit") -> None:
        """Validate and write one completion (a refusal writes nothing)."""
        if item.status not in TERMINAL_STATUSES:
            raise InvalidArgument(
                f"job {item.job_id}: status {item.status} is not terminal "
                "(COMPLETED, FAILED, CANCELED, TERMINATED or PENDING_FAILED)"
            )
        _id, wf_id, status, attempt, name, current_run, _canceled, holder = job_row(c, item.job_id)
        if status in COMPLETE_STATUSES:
            raise InvalidTransition(f"job {item.job_id} is already complete ({JobStatus(status).name})")
        check_run(item.job_id, wf_id, item.run_id, current_run)
        _check_holder(item.job_id, status, holder, item.compute_node_id)
        attempt_id = item.attempt_id or attempt
        try:
            store.insert_result(c, (
                wf_id, item.job_id, item.run_id, attempt_id, item.compute_node_id or None,
                item.return_code, item.exec_time_seconds, item.completion_time or done.received,
                item.status, item.peak_memory_bytes, item.avg_memory_bytes, item.peak_cpu_percent,
                item.avg_cpu_percent,
            ))
        except apsw.ConstraintError:
            raise InvalidTransition(
                f"job {item.job_id}: a result for run {item.run_id} attempt {attempt_id} already exists"
            ) from None
        event, severity = _EVENT_FOR_STATUS[item.status]
        self._event(c, wf_id, event, severity, job_id=item.job_id, job_name=name,
                    status=int(item.status), return_code=item.return_code)
        if item.status == JobStatus.FAILED:
            script = self._auto_retry(c, wf_id, item, name, attempt)
            if script is not None:
                done.ready.append((wf_id, item.job_id))
                done.retried[item.job_id] = script
                return
        store.complete_job(c, item.job_id, item.status, item.status in COMPLETE_STATUSES)
        if item.status in COMPLETE_STATUSES:
            done.handoff.append((wf_id, item.job_id, item.status))
        else:
            done.direct.append((wf_id, item.job_id, item.status))

    # ------------------------------------------------------------ unblocking
    def _unblock(self, workflow_id: int, items: list[tuple[int, int]]) -> None:
        """One batch of one workflow (called on the unblocker thread)."""
        t0 = time.perf_counter()
        with self._write_lock:
            wf = store.get_workflow(self._writer, workflow_id)
            if wf is None:
                return  # deleted meanwhile
            state = self._state_locked(workflow_id)
            ids = [j for j, _s in items]
            try:
                was_complete = state.is_complete()
                ready, canceled = state.graph.complete(ids, [s for _j, s in items])
                complete = state.is_complete()
                with self._tx() as c:
                    store.write_unblocked(c, ids, ready, canceled)
                    if complete and not was_complete:
                        self._complete_event(c, workflow_id, wf.run_id, state.graph)
                rows = store.class_rows(self._writer, ready)
                state.add_ready_rows(rows)
            except BaseException:
                self._drop_state_locked(workflow_id)  # rebuilt from the database
                raise
            state.notify()
            self._announce_locked(workflow_id, rows, complete)
        log.info(
            "workflow %d: %d completions processed, %d jobs ready, %d canceled, %.1f ms",
            workflow_id, len(items), len(ready), len(canceled), (time.perf_counter() - t0) * 1000,
        )

    def recover_pending_unblocking(self) -> int:
        """Re-submit completions whose unblocking was never committed (idempotent)."""
        items = []
        with self._write_lock:
            for wf_id in store.workflows_pending_unblock(self._writer):
                items += [(wf_id, j, s) for j, s in store.pending_unblock(self._writer, wf_id)]
        self.unblocker.submit(items)
        if items:
            log.info("recovering %d completions whose unblocking was not committed", len(items))
        return len(items)

    # ------------------------------------------------------------ results
    def list_results(self, workflow_id: int, all_runs: bool = False, job_id: int = 0,
                     statuses: Sequence[int] = (), after_id: int = 0, limit: int = 0) -> Page:
        """Results of the current run (latest per complete job) or of every run."""
        limit = self._page_limit(limit, 1000)
        conn = self._reader()
        self._workflow(conn, workflow_id)
        rows = store.list_results(conn, workflow_id, all_runs, job_id, sorted(set(statuses)), after_id, limit)
        return Page.of(rows, limit)


def job_row(c: apsw.Connection, job_id: int) -> tuple:
    """store.job_state's row, or NotFound."""
    row = store.job_state(c, job_id)
    if row is None:
        raise NotFound(f"job {job_id} not found", job_id=job_id)
    return row


def check_run(job_id: int, workflow_id: int, run_id: int, current_run: int) -> None:
    """Fence off workers of an earlier run."""
    if run_id != current_run:
        raise InvalidTransition(
            f"job {job_id}: stale run_id {run_id}, workflow {workflow_id} is on run {current_run}"
        )


class _Ticket:
    """One complete_jobs call waiting in the group commit."""

    __slots__ = ("items", "answer", "outcomes", "retried", "jobs", "error", "done")

    def __init__(self, items: Sequence[Completion], answer: bool = False) -> None:
        self.items = list(items)
        self.answer = answer
        #: With answer: job id -> the job after the commit (accepted items).
        self.jobs: dict = {}
        self.outcomes: list[Optional[TorcError]] = []
        self.retried: dict[int, str] = {}
        self.error: Optional[Exception] = None
        self.done = False


class AfterCommit:
    """What a transaction of completions changed, to apply in memory after its commit."""

    def __init__(self, received: str) -> None:
        #: When the transaction began: the completion time of results that name none.
        self.received = received
        #: (workflow, job, status) for the unblocker.
        self.handoff: list[tuple[int, int, int]] = []
        #: (workflow, job, status) that only change the job itself.
        self.direct: list[tuple[int, int, int]] = []
        #: (workflow, job) back to READY (retried or requeued).
        self.ready: list[tuple[int, int]] = []
        #: job id -> recovery script of the failure-handler rule that retried it.
        self.retried: dict[int, str] = {}


def _check_holder(job_id: int, status: int, holder: Optional[int], node: Optional[int]) -> None:
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


def _still_free(args: tuple, jobs: Sequence) -> Optional[Shape]:
    """What a node can still take after a claim, or None when the claim was full."""
    cpus, mem, gpus, nodes, time_limit, limit, _sort, label, _sched, _mode = args
    if limit and len(jobs) >= limit:
        return None
    for job in jobs:
        rr = job.resource_requirements
        if rr.num_nodes > 1:
            nodes -= rr.num_nodes
        else:
            cpus, mem, gpus = cpus - rr.num_cpus, mem - rr.memory_bytes, gpus - rr.num_gpus
    return Shape(cpus, mem, gpus, nodes, time_limit, label, limit - len(jobs) if limit else 0)
