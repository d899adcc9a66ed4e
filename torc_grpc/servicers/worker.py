"""WorkerService: what compute nodes call (claims, starts, completions)."""

from __future__ import annotations

import dataclasses

from torc_core.engine import Cancel, Engine

from .. import convert
from .._pb import worker_pb2 as pb
from .._pb import worker_pb2_grpc as pb_grpc
from ..auth import current_owner
from ..boundary import DEFAULT, Boundary
from ..convert.slurm import action_to_pb
from ..errors import translate_errors, translate_stream_errors
from ..streams import attached


class WorkerServiceServicer(pb_grpc.WorkerServiceServicer):
    def __init__(self, engine: Engine, boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.boundary = boundary

    @translate_errors
    def RegisterComputeNode(self, request, context):
        node_id = self.engine.register_compute_node(convert.compute_node_spec_from_pb(request))
        monitor = convert.resource_monitor_to_pb(self.engine.resource_monitor(request.workflow_id))
        return pb.RegisterComputeNodeResponse(compute_node_id=node_id, lease_seconds=self.engine.lease_seconds,
                                              resource_monitor=monitor)

    @translate_errors
    def ClaimJobs(self, request, context):
        budget = convert.AnswerBudget(self.boundary.answer_bytes)
        req = convert.claim_request_from_pb(request)
        cancel = None
        if req.wait_seconds > 0:  # a long poll ends at the client's deadline and when it goes away
            cancel = Cancel()
            context.add_callback(cancel.set)
            left = context.time_remaining()
            if left is not None:
                req = dataclasses.replace(req, wait_seconds=max(0.0, min(req.wait_seconds, left - 0.05)))
        if not request.completions and not request.started:
            return convert.claim_outcome_to_pb(self.engine.claim_jobs(req, budget, cancel), budget)
        items = [convert.completion_from_pb(c, req.workflow_id, req.compute_node_id) for c in request.completions]
        cycle = self.engine.complete_and_claim(req, items, budget, cancel)
        answer = convert.claim_outcome_to_pb(cycle.claimed, budget)
        answer.completed.extend(convert.completion_outcomes_to_pb(items, cycle.completed).results)
        answer.not_started.extend(cycle.not_started)
        return answer

    @translate_errors
    def ClaimNextJobs(self, request, context):
        budget = convert.AnswerBudget(self.boundary.answer_bytes)
        outcome = self.engine.claim_next_jobs(request.workflow_id, request.compute_node_id,
                                              request.limit, budget)
        return pb.ClaimNextJobsResponse(jobs=budget.jobs_pb(outcome.jobs))

    @translate_errors
    def StartJob(self, request, context):
        job = self.engine.start_job(request.job_id, request.run_id, request.compute_node_id)
        return pb.StartJobResponse(job=convert.job_to_pb(job))

    @translate_errors
    def CompleteJob(self, request, context):
        job = self.engine.complete_job(convert.completion_from_pb(request))
        return pb.CompleteJobResponse(job=convert.job_to_pb(job))

    @translate_errors
    def CompleteJobs(self, request, context):
        items = [convert.completion_from_pb(c) for c in request.completions]
        return convert.completion_outcomes_to_pb(items, self.engine.complete_jobs_detailed(items))

    @translate_stream_errors
    def WatchReadyJobs(self, request, context):
        sub = self.engine.watch_ready(request.workflow_id, request.compute_node_id, current_owner())
        with attached(sub, context):
            for msg in sub.messages():
                yield pb.WatchReadyJobsResponse(
                    job_ids=msg.job_ids,
                    workflow_complete=msg.workflow_complete,
                    workflow_canceled=msg.workflow_canceled,
                )

    @translate_errors
    def DeregisterComputeNode(self, request, context):
        requeued, failed = self.engine.deregister_compute_node(request.compute_node_id)
        return pb.DeregisterComputeNodeResponse(requeued_job_ids=requeued, failed_job_ids=failed)

    @translate_errors
    def Heartbeat(self, request, context):
        lease, pending, running = self.engine.heartbeat(request.compute_node_id)
        return pb.HeartbeatResponse(lease_seconds=lease, pending_job_ids=pending, running_job_ids=running)

    @translate_errors
    def ClaimActions(self, request, context):
        actions = self.engine.actions.claim(request.workflow_id, request.compute_node_id,
                                            list(request.trigger_types))
        return pb.ClaimActionsResponse(actions=[action_to_pb(a) for a in actions])

    @translate_errors
    def CompleteAction(self, request, context):
        self.engine.actions.complete(request.action_id, request.compute_node_id, request.return_code,
                                     request.message)
        return pb.CompleteActionResponse()
