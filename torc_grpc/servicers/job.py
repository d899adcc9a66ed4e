"""JobService: read jobs and results."""

from __future__ import annotations

from torc_core.engine import Engine

from .. import convert
from .._pb import job_pb2 as pb
from .._pb import job_pb2_grpc as pb_grpc
from ..boundary import DEFAULT, Boundary
from ..errors import translate_errors


class JobServiceServicer(pb_grpc.JobServiceServicer):
    def __init__(self, engine: Engine, boundary: Boundary = DEFAULT) -> None:
        self.engine = engine
        self.boundary = boundary

    @translate_errors
    def GetJob(self, request, context):
        return pb.GetJobResponse(job=convert.job_to_pb(self.engine.get_job(request.job_id)))

    @translate_errors
    def ListJobs(self, request, context):
        page = self.engine.list_jobs(
            request.workflow_id,
            convert.statuses_from_pb(request.statuses),
            request.after_id,
            request.limit,
        )
        items, after = convert.sized_page(page, convert.job_to_pb, self.boundary.answer_bytes)
        return pb.ListJobsResponse(jobs=items, next_after_id=after)

    @translate_errors
    def ListResults(self, request, context):
        page = self.engine.list_results(
            request.workflow_id,
            request.all_runs,
            request.job_id,
            convert.statuses_from_pb(request.statuses),
            request.after_id,
            request.limit,
        )
        items, after = convert.sized_page(page, convert.result_to_pb, self.boundary.answer_bytes)
        return pb.ListResultsResponse(results=items, next_after_id=after)

    @translate_errors
    def RetryJob(self, request, context):
        job = self.engine.retry_job(request.job_id, request.run_id, request.max_retries)
        return pb.RetryJobResponse(job=convert.job_to_pb(job))

    @translate_errors
    def UpdateJobResources(self, request, context):
        rr_id = self.engine.update_job_resources(
            request.workflow_id, list(request.job_ids),
            convert.resource_requirements_spec_from_pb(request.resource_requirements))
        return pb.UpdateJobResourcesResponse(resource_requirements_id=rr_id)
