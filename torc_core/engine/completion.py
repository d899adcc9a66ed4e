"""Completion: CompleteJob and CompleteJobs through one group commit, and the
one validation-and-write of a completion (also used by lease expiry).

Hot path: validate (status, run_id fence, holder, not already complete),
write the result and the new status in one short transaction, hand the job
to the unblocker, return; no downstream work on the caller's thread. A job
nothing depends on, in a workflow without actions, that cannot be its last
is not handed over at all: it is written as unblocked and its status is
mirrored in the graph (measured: server CPU a job 490-530 -> 464 us end to
end with independent jobs).

Group commit: a call queues its completions, then takes the write lock;
whoever gets the lock first commits every queued call's completions in one
transaction and the others find theirs done. A refusal is per item and
writes nothing for that item, so calls never see each other's refusals; an
unexpected error fails every call of the transaction (nothing of it was
committed).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

from .. import store
from ..errors import InvalidArgument, InvalidTransition, TorcError
from ..models import (
    COMPLETE_STATUSES,
    TERMINAL_STATUSES,
    ClaimOutcome,
    ClaimRequest,
    Completion,
    Job,
    JobStatus,
    Severity,
)
from .claims import AnswerFits, Claims, check_holder, check_run
from .core import EngineCore, StatusChange, Tx
from .retries import auto_retry
from .state import Cancel
from .unblocker import Handoff

#: Completions one ClaimJobs may carry (their outcomes stay well inside one answer).
MAX_CLAIM_COMPLETIONS = 10_000

_EVENT_FOR_STATUS = {
    JobStatus.COMPLETED: ("job_completed", Severity.INFO),
    JobStatus.FAILED: ("job_failed", Severity.ERROR),
    JobStatus.CANCELED: ("job_canceled", Severity.WARNING),
    JobStatus.TERMINATED: ("job_terminated", Severity.WARNING),
    JobStatus.PENDING_FAILED: ("job_pending_failed", Severity.WARNING),
}


@dataclass
class CompletionOutcome:
    """What one complete_jobs call learns from the group commit.

    Attributes:
        refusals: Per item, None (accepted) or the refusal, in request order.
        retried: Job id -> recovery script, for jobs a failure handler retried.
        jobs: With answer: job id -> the job as the commit left it (accepted items).
    """

    refusals: list[Optional[TorcError]] = field(default_factory=list)
    retried: dict[int, str] = field(default_factory=dict)
    jobs: dict[int, Job] = field(default_factory=dict)


@dataclass(frozen=True)
class Cycle:
    """What one ClaimJobs carrying starts and completions did."""

    completed: CompletionOutcome
    claimed: ClaimOutcome
    #: Of the starts it reported, the jobs the node no longer holds (it must stop them).
    not_started: tuple[int, ...] = ()


class _Ticket:
    """One complete_jobs call waiting in the group commit."""

    __slots__ = ("items", "answer", "outcome", "error", "done")

    def __init__(self, items: Sequence[Completion], answer: bool) -> None:
        self.items = list(items)
        self.answer = answer
        self.outcome = CompletionOutcome()
        self.error: Optional[Exception] = None
        self.done = False


class Completer:
    """CompleteJob(s) and the shared write of one completion."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core
        #: Calls waiting for the group commit, under _queue_lock.
        self._queue_lock = threading.Lock()
        self._queued: list[_Ticket] = []

    def complete_job(self, completion: Completion) -> Job:
        """Record a terminal status and result; a refusal raises with nothing
        written. Returns the job as the completion left it."""
        outcome = self.group_commit([completion], answer=True)
        if outcome.refusals[0] is not None:
            raise outcome.refusals[0]
        return outcome.jobs[completion.job_id]

    def complete_and_claim(self, claims: Claims, req: ClaimRequest, completions: Sequence[Completion],
                           answer_fits: Optional[AnswerFits] = None, cancel: Optional[Cancel] = None,
                           ) -> Cycle:
        """ClaimJobs carrying what happened since the last call ("these started,
        these finished, give me more"): the starts first (claim-ahead), then the
        completions, committed as CompleteJobs would, each fenced to the claiming
        node and its workflow (a job of another node or workflow is refused on
        its own); then the claim runs."""
        if len(completions) > MAX_CLAIM_COMPLETIONS:
            raise InvalidArgument(f"completions: at most {MAX_CLAIM_COMPLETIONS} with a claim "
                                  "(CompleteJobs takes more)")
        if completions and req.compute_node_id <= 0:
            raise InvalidArgument("completions with a claim need the compute_node_id that ran them")
        not_started = claims.start_claimed(req.workflow_id, req.compute_node_id, req.started)
        wf, node = req.workflow_id, req.compute_node_id
        fenced = [c if c.workflow_id == wf and c.compute_node_id == node  # fenced by the caller already
                  else replace(c, workflow_id=wf, compute_node_id=node) for c in completions]
        done = self.group_commit(fenced) if fenced else CompletionOutcome()
        return Cycle(done, claims.claim_jobs(req, answer_fits, cancel), not_started)

    def complete_jobs(self, completions: Sequence[Completion]) -> CompletionOutcome:
        """Complete many jobs in one transaction; refusals are per item."""
        return self.group_commit(completions)

    def group_commit(self, completions: Sequence[Completion], answer: bool = False) -> CompletionOutcome:
        """Commit `completions` with whatever else is queued (module docstring).
        With answer, the outcome carries the completed jobs as the commit left
        them: one query on the writer per transaction, where a read
        transaction per call cost 4x more under load."""
        ticket = _Ticket(completions, answer)
        with self._queue_lock:
            self._queued.append(ticket)
        with self._core.write_lock:
            if not ticket.done:
                self._commit_queued_locked()
        if ticket.error is not None:
            raise ticket.error
        return ticket.outcome

    def _commit_queued_locked(self) -> None:
        core = self._core
        with self._queue_lock:
            tickets, self._queued = self._queued, []
        try:
            with core.transaction() as tx:
                for ticket in tickets:
                    for item in ticket.items:
                        try:
                            self.complete_one(tx, item)
                        except TorcError as exc:
                            ticket.outcome.refusals.append(exc)
                        else:
                            ticket.outcome.refusals.append(None)
            answered = [item.job_id for ticket in tickets if ticket.answer
                        for item, err in zip(ticket.items, ticket.outcome.refusals) if err is None]
            jobs = store.jobs_by_ids(core.writer, answered) if answered else {}
        except Exception as exc:  # handed to every waiting call; the leader raises it too
            for ticket in tickets:
                ticket.error, ticket.done = exc, True
            return
        for ticket in tickets:
            out = ticket.outcome
            out.retried = {j.job_id: tx.retried[j.job_id] for j in ticket.items if j.job_id in tx.retried}
            if ticket.answer:
                out.jobs = {j.job_id: jobs[j.job_id] for j in ticket.items if j.job_id in jobs}
            ticket.done = True

    def complete_one(self, tx: Tx, item: Completion) -> None:
        """Validate and write one completion inside `tx` (a refusal writes nothing)."""
        if item.status not in TERMINAL_STATUSES:
            raise InvalidArgument(
                f"job {item.job_id}: status {item.status} is not terminal "
                "(COMPLETED, FAILED, CANCELED, TERMINATED or PENDING_FAILED)"
            )
        for name in ("exec_time_seconds", "peak_cpu_percent", "avg_cpu_percent"):
            value = getattr(item, name)
            if not (math.isfinite(value) and value >= 0):
                raise InvalidArgument(f"job {item.job_id}: result.{name} must be a finite number "
                                      f">= 0, not {value}")
        for seconds, cpu, memory in item.samples:
            if not (math.isfinite(seconds) and seconds >= 0 and math.isfinite(cpu) and cpu >= 0 and memory >= 0):
                raise InvalidArgument(f"job {item.job_id}: result.samples: ({seconds}, {cpu}, {memory}) is not "
                                      "a finite time, CPU percent and memory >= 0")
        job = self._core.job_state(tx.conn, item.job_id)
        if item.workflow_id and job.workflow_id != item.workflow_id:
            raise InvalidArgument(f"job {item.job_id} belongs to workflow {job.workflow_id}, not "
                                  f"{item.workflow_id}")
        if job.status in COMPLETE_STATUSES:
            raise InvalidTransition(
                f"job {item.job_id} is already complete ({JobStatus(job.status).name})",
                already_complete=True,
            )
        check_run(item.job_id, job.workflow_id, item.run_id, job.run_id)
        check_holder(item.job_id, job.status, job.compute_node_id, item.compute_node_id)
        if item.attempt_id and item.attempt_id != job.attempt_id:
            raise InvalidTransition(
                f"job {item.job_id}: stale attempt {item.attempt_id}, the job is on attempt "
                f"{job.attempt_id} (it was retried or reset meanwhile)"
            )
        attempt_id = job.attempt_id
        if not store.insert_result(tx.conn, job.workflow_id, item, attempt_id,
                                   item.completion_time or tx.received):
            raise InvalidTransition(
                f"job {item.job_id}: a result for run {item.run_id} attempt {attempt_id} already exists"
            )
        status = JobStatus(item.status)
        event, severity = _EVENT_FOR_STATUS[status]
        tx.event(job.workflow_id, event, severity, job_id=item.job_id, job_name=job.name,
                 status=int(status), return_code=item.return_code)
        if status == JobStatus.FAILED and auto_retry(tx, job.workflow_id, item, job.name, job.attempt_id):
            return
        complete = status in COMPLETE_STATUSES
        unblock = complete and not self._nothing_to_unblock(tx, job.workflow_id, item.job_id)
        store.complete_job(tx.conn, item.job_id, status, unblock)
        if unblock:
            tx.handoff.append(Handoff(job.workflow_id, item.job_id, status))
        else:
            tx.status_changes.append(StatusChange(job.workflow_id, item.job_id, status))

    def _nothing_to_unblock(self, tx: Tx, workflow_id: int, job_id: int) -> bool:
        """A completion the unblocker would have nothing to do for: no job depends
        on it, the workflow has no actions to count it for, and it cannot be the
        workflow's last (at least one other job is not done, counting this
        transaction's earlier such completions; a count too high only comes from
        completions still waiting for the unblocker, which then completes the
        workflow). It is then written as unblocked already and only its status
        is mirrored in the graph: no unblocker transaction, no thread handoff."""
        core = self._core
        state = core.states.get(workflow_id)
        if state is None or core.has_actions.get(workflow_id, True) or state.graph.dependents_of(job_id):
            return False
        skipped = tx.skipped_unblock.get(workflow_id, 0)
        if state.not_done() - skipped <= 1:
            return False
        tx.skipped_unblock[workflow_id] = skipped + 1
        return True
