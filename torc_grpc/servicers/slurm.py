"""SlurmService: a workflow's allocations, and schedule-nodes / cancel by hand."""

from __future__ import annotations

from typing import Optional

from torc_core.engine import Engine
from torc_core.errors import InvalidTransition
from torc_core.slurm.allocator import Allocator

from .._pb import slurm_pb2 as pb
from .._pb import slurm_pb2_grpc as pb_grpc
from ..boundary import DEFAULT, Boundary
from ..convert.slurm import allocation_to_pb, scheduler_state_to_pb
from ..errors import translate_errors


class SlurmServiceServicer(pb_grpc.SlurmServiceServicer):
    def __init__(self, engine: Engine, allocator: Optional[Allocator], boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.allocator = allocator
        self.boundary = boundary

    def _allocator(self) -> Allocator:
        if self.allocator is None:
            raise InvalidTransition("this server runs without its Slurm allocator (start it with "
                                    "`torc-grpc serve --slurm`)")
        return self.allocator

    @translate_errors
    def ListAllocations(self, request, context):
        slurm = self.engine.slurm
        return pb.ListAllocationsResponse(
            allocations=[allocation_to_pb(a) for a in slurm.list(request.workflow_id)],
            schedulers=[scheduler_state_to_pb(s) for s in slurm.schedulers(request.workflow_id)])

    @translate_errors
    def ScheduleNodes(self, request, context):
        done = self._allocator().schedule(request.workflow_id, request.scheduler, request.num_allocations,
                                          request.start_one_worker_per_node, request.max_parallel_jobs)
        return pb.ScheduleNodesResponse(allocations=[allocation_to_pb(a) for a in done])

    @translate_errors
    def CancelAllocations(self, request, context):
        done = self._allocator().cancel(request.workflow_id)
        return pb.CancelAllocationsResponse(canceled=[allocation_to_pb(a) for a in done])
