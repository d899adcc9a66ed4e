"""Answers: claim and CompleteJobs outcomes, the version, and pages and
claims kept within the answer's size budget (torc_grpc.boundary)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Optional, Sequence

from torc_core.models import ClaimEnd, ClaimOutcome, Completion, Job, Page, StorageFacts

from .._pb import server_pb2 as sv_pb
from .._pb import worker_pb2 as wk_pb
from ..errors import status_for
from .records import job_to_pb

if TYPE_CHECKING:  # the engine is the server's; clients converting answers need not load it
    from torc_core.engine import CompletionOutcome

# ------------------------------------------------------------------ worker answers

def claim_outcome_to_pb(o: ClaimOutcome, budget: Optional["AnswerBudget"] = None
                        ) -> wk_pb.ClaimJobsResponse:
    return wk_pb.ClaimJobsResponse(
        jobs=budget.jobs_pb(o.jobs) if budget is not None else [job_to_pb(j) for j in o.jobs],
        reason=o.reason,
        workflow_complete=o.end is ClaimEnd.WORKFLOW_COMPLETE,
        workflow_canceled=o.end is ClaimEnd.WORKFLOW_CANCELED,
        actions_pending=o.actions_pending,
        run_id=o.run_id,
    )


def completion_outcomes_to_pb(
    items: Sequence[Completion], outcome: CompletionOutcome
) -> wk_pb.CompleteJobsResponse:
    """One CompleteJobOutcome per item, in request order."""
    results = []
    for item, err in zip(items, outcome.refusals):
        if err is None:
            results.append(wk_pb.CompleteJobOutcome(
                job_id=item.job_id, ok=True, retried=item.job_id in outcome.retried,
                recovery_script=outcome.retried.get(item.job_id, "")))
        else:
            results.append(wk_pb.CompleteJobOutcome(
                job_id=item.job_id, ok=False, code=status_for(err).value[0], message=err.message,
                already_complete=bool(err.details.get("already_complete"))))
    return wk_pb.CompleteJobsResponse(results=results)


def version_to_pb(version: str, facts: StorageFacts) -> sv_pb.GetVersionResponse:
    return sv_pb.GetVersionResponse(
        version=version, api="torc.v1", kernels=facts.kernels, sqlite_version=facts.sqlite_version
    )


# ------------------------------------------------------------------ answers within a size budget

#: Bytes of a repeated field's tag and length prefix, at most.
_ENVELOPE = 10


def sized_page(page: Page, to_pb: Callable, budget: int) -> tuple[list, int]:
    """A page's items converted, as many as fit in `budget` serialized bytes
    (at least one), and the cursor to continue after the last one sent."""
    out, total = [], 0
    for item in page.items:
        msg = to_pb(item)
        size = msg.ByteSize() + _ENVELOPE
        if out and total + size > budget:
            return out, page.items[len(out) - 1].id
        out.append(msg)
        total += size
    return out, page.next_after


class AnswerBudget:
    """How many claimed jobs fit in one answer (the engine asks before it
    commits a claim, so that a claim is never committed that cannot be sent);
    keeps the converted jobs for the answer."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.converted: list = []

    def __call__(self, jobs: Sequence[Job]) -> int:
        self.converted, total = [], 0
        for job in jobs:
            msg = job_to_pb(job)
            size = msg.ByteSize() + _ENVELOPE
            if self.converted and total + size > self.budget:
                break
            self.converted.append(msg)
            total += size
        return len(self.converted)

    def jobs_pb(self, jobs: Sequence[Job]) -> list:
        """The answer's jobs: the ones converted while sizing, when they are these."""
        if [m.id for m in self.converted] == [j.id for j in jobs]:
            return self.converted
        return [job_to_pb(j) for j in jobs]
