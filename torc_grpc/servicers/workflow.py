"""WorkflowService: define, initialize, start and inspect workflows."""

from __future__ import annotations

import time

from torc_core.access import visible_to
from torc_core.engine import Engine
from torc_core.errors import InvalidTransition

from .. import convert
from .._pb import workflow_pb2 as pb
from .._pb import workflow_pb2_grpc as pb_grpc
from ..auth import current_caller, current_owner
from ..boundary import DEFAULT, Boundary
from ..errors import translate_errors, translate_stream_errors
from ..streams import attached


class WorkflowServiceServicer(pb_grpc.WorkflowServiceServicer):
    def __init__(self, engine: Engine, boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.boundary = boundary

    @translate_errors
    def CreateWorkflow(self, request, context):
        wf, job_ids = self.engine.create_workflow(convert.workflow_spec_from_pb(request.spec))
        answer = pb.CreateWorkflowResponse(workflow=convert.workflow_to_pb(wf), job_ids=job_ids)
        if answer.ByteSize() > self.boundary.answer_bytes:  # created: the answer must reach the caller
            answer = pb.CreateWorkflowResponse(workflow=answer.workflow, job_ids_left_out=True)
        return answer

    @translate_errors
    def AddJobs(self, request_iterator, context):
        count = self.engine.add_jobs(convert.job_batch_from_pb(m) for m in request_iterator)
        return pb.AddJobsResponse(count=count)

    @translate_errors
    def GetWorkflow(self, request, context):
        wf = self.engine.get_workflow(request.workflow_id)
        return pb.GetWorkflowResponse(workflow=convert.workflow_to_pb(wf))

    @translate_errors
    def ListWorkflows(self, request, context):
        page = self.engine.list_workflows(request.user, request.after_id, request.limit,
                                          visible_to(current_caller()))
        items, after = convert.sized_page(page, convert.workflow_to_pb, self.boundary.answer_bytes)
        return pb.ListWorkflowsResponse(workflows=items, next_after_id=after)

    @translate_errors
    def ListComputeNodes(self, request, context):
        page = self.engine.list_compute_nodes(request.workflow_id, request.active_only, request.after_id,
                                              request.limit)
        now = time.time()
        items, after = convert.sized_page(page, lambda n: convert.compute_node_to_pb(n, now),
                                          self.boundary.answer_bytes)
        return pb.ListComputeNodesResponse(nodes=items, next_after_id=after)

    @translate_stream_errors
    def WatchWorkflowStatus(self, request, context):
        sub, statuses = self.engine.watch_status(request.workflow_id, request.min_interval_seconds,
                                                 current_owner())
        with attached(sub, context):
            for status in statuses:
                yield convert.workflow_status_to_pb(status)

    @translate_errors
    def GetWorkflowGraph(self, request, context):
        picture = self.engine.workflow_picture(request.workflow_id, request.grouping, request.max_nodes)
        answer = convert.picture_to_pb(picture)
        if answer.ByteSize() > self.boundary.answer_bytes:
            raise InvalidTransition(f"the picture of {len(answer.nodes):,} nodes and {len(answer.edges):,} edges "
                                    f"is over {self.boundary.answer_bytes:,} bytes; ask for fewer (max_nodes)",
                                    workflow_id=request.workflow_id)
        return answer

    @translate_errors
    def DeleteWorkflow(self, request, context):
        self.engine.delete_workflow(request.workflow_id)
        return pb.DeleteWorkflowResponse()

    @translate_errors
    def InitializeJobs(self, request, context):
        outcome = self.engine.initialize_jobs(request.workflow_id, request.only_uninitialized)
        return convert.initialize_outcome_to_pb(outcome)

    @translate_errors
    def StartWorkflow(self, request, context):
        outcome = self.engine.start_workflow(request.workflow_id, request.rerun_all)
        return convert.start_outcome_to_pb(outcome)

    @translate_errors
    def GetWorkflowStatus(self, request, context):
        return convert.workflow_status_to_pb(self.engine.get_workflow_status(request.workflow_id))

    @translate_errors
    def CancelWorkflow(self, request, context):
        return pb.CancelWorkflowResponse(num_canceled=self.engine.cancel_workflow(request.workflow_id))

    @translate_errors
    def ResetJobStatus(self, request, context):
        count = self.engine.reset_job_status(request.workflow_id, request.failed_only, request.force)
        return pb.ResetJobStatusResponse(updated_count=count)
