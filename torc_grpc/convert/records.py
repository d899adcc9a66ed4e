"""Models <-> messages. Servicers and the client both use them (through torc_grpc.convert).

*_from_pb functions validate what protobuf cannot (enum values out of range)
and raise InvalidArgument, so bad input never becomes INTERNAL.
"""

from __future__ import annotations

from typing import Iterable, Optional

from torc_core.errors import InvalidArgument
from torc_core.models import (
    ClaimRequest,
    Completion,
    ComputeNode,
    ComputeNodeSpec,
    Event,
    FailureHandlerSpec,
    FailureRule,
    FileSpec,
    InitializeOutcome,
    Job,
    JobBatch,
    JobSpec,
    JobStatus,
    ResourceRequirements,
    ResourceRequirementsSpec,
    ResourceMonitor,
    Resources,
    Result,
    Severity,
    SortMethod,
    UserDataSpec,
    Workflow,
    WorkflowSpec,
    WorkflowStatus,
)

from . import slurm
from .._pb import common_pb2 as c_pb
from .._pb import workflow_pb2 as wf_pb


def _opt(msg, name: str):
    return getattr(msg, name) if msg.HasField(name) else None


def job_status_from_pb(value: int) -> JobStatus:
    try:
        return JobStatus(value)
    except ValueError:
        raise InvalidArgument(f"invalid job status {value}") from None


def statuses_from_pb(values: Iterable[int]) -> tuple[JobStatus, ...]:
    return tuple(job_status_from_pb(v) for v in values)


def severity_from_pb(value: int) -> Severity:
    try:
        return Severity(value)
    except ValueError:
        raise InvalidArgument(f"invalid severity {value}") from None


def resources_from_pb(pb: c_pb.Resources) -> Resources:
    return Resources(pb.num_cpus, pb.memory_bytes, pb.num_gpus, pb.num_nodes, pb.time_limit_seconds)


# ------------------------------------------------------------------ specs


def resource_requirements_spec_from_pb(pb: c_pb.ResourceRequirementsSpec) -> ResourceRequirementsSpec:
    return ResourceRequirementsSpec(
        name=pb.name,
        num_cpus=_opt(pb, "num_cpus"),
        num_gpus=_opt(pb, "num_gpus"),
        num_nodes=_opt(pb, "num_nodes"),
        memory=pb.memory,
        runtime=pb.runtime,
    )


def failure_handler_spec_from_pb(pb: c_pb.FailureHandlerSpec) -> FailureHandlerSpec:
    return FailureHandlerSpec(
        name=pb.name,
        rules=tuple(
            FailureRule(
                exit_codes=tuple(r.exit_codes),
                match_all_exit_codes=r.match_all_exit_codes,
                recovery_script=r.recovery_script,
                max_retries=r.max_retries if r.HasField("max_retries") else 3,
            )
            for r in pb.rules
        ),
    )


def job_spec_from_pb(pb: c_pb.JobSpec) -> JobSpec:
    flag = _opt(pb, "cancel_on_blocking_job_failure")
    return JobSpec(
        name=pb.name,
        command=pb.command,
        depends_on=tuple(dict.fromkeys(pb.depends_on)),
        resource_requirements=pb.resource_requirements,
        input_files=tuple(dict.fromkeys(pb.input_files)),
        output_files=tuple(dict.fromkeys(pb.output_files)),
        input_user_data=tuple(dict.fromkeys(pb.input_user_data)),
        output_user_data=tuple(dict.fromkeys(pb.output_user_data)),
        cancel_on_blocking_job_failure=True if flag is None else flag,
        supports_termination=pb.supports_termination,
        priority=pb.priority,
        label=pb.label,
        env=dict(pb.env),
        scheduler_id=_opt(pb, "scheduler_id"),
        failure_handler=pb.failure_handler,
        invocation_script=pb.invocation_script,
        disabled=pb.disabled,
        scheduler=pb.scheduler,
    )


def workflow_spec_from_pb(pb: c_pb.WorkflowSpec) -> WorkflowSpec:
    return WorkflowSpec(
        name=pb.name,
        user=pb.user,
        description=pb.description,
        resource_requirements=tuple(resource_requirements_spec_from_pb(r) for r in pb.resource_requirements),
        files=tuple(FileSpec(f.name, f.path) for f in pb.files),
        user_data=tuple(UserDataSpec(u.name, u.data, u.is_ephemeral) for u in pb.user_data),
        jobs=tuple(job_spec_from_pb(j) for j in pb.jobs),
        env=dict(pb.env),
        jobs_sort_method=pb.jobs_sort_method,
        failure_handlers=tuple(failure_handler_spec_from_pb(h) for h in pb.failure_handlers),
        access_groups=tuple(pb.access_groups),
        slurm_schedulers=tuple(slurm.scheduler_spec_from_pb(x) for x in pb.slurm_schedulers),
        actions=tuple(slurm.action_spec_from_pb(a) for a in pb.actions),
        slurm=slurm.settings_from_pb(pb),
        resource_monitor=resource_monitor_from_pb(pb.resource_monitor),
    )


def resource_monitor_from_pb(pb: c_pb.ResourceMonitorSpec) -> ResourceMonitor:
    base = ResourceMonitor()
    return ResourceMonitor(
        enabled=pb.enabled if pb.HasField("enabled") else base.enabled,
        granularity=pb.granularity or base.granularity,
        sample_interval_seconds=(pb.sample_interval_seconds if pb.HasField("sample_interval_seconds")
                                 else base.sample_interval_seconds))


def resource_monitor_to_pb(m: ResourceMonitor) -> c_pb.ResourceMonitorSpec:
    return c_pb.ResourceMonitorSpec(enabled=m.enabled, granularity=m.granularity,
                                    sample_interval_seconds=m.sample_interval_seconds)


def _samples_to_pb(samples) -> list:
    return [c_pb.ResourceSample(seconds=s, cpu_percent=cpu, memory_bytes=mem) for s, cpu, mem in samples]


def job_batch_from_pb(pb: wf_pb.AddJobsRequest) -> JobBatch:
    return JobBatch(
        workflow_id=pb.workflow_id,
        jobs=tuple(job_spec_from_pb(j) for j in pb.jobs),
        resource_requirements=tuple(resource_requirements_spec_from_pb(r) for r in pb.resource_requirements),
        files=tuple(FileSpec(f.name, f.path) for f in pb.files),
        user_data=tuple(UserDataSpec(u.name, u.data, u.is_ephemeral) for u in pb.user_data),
        failure_handlers=tuple(failure_handler_spec_from_pb(h) for h in pb.failure_handlers),
    )


# ------------------------------------------------------------------ records


def workflow_to_pb(w: Workflow) -> c_pb.Workflow:
    return c_pb.Workflow(
        id=w.id,
        name=w.name,
        user=w.user,
        description=w.description,
        created_at=w.created_at,
        jobs_sort_method=w.jobs_sort_method,
        env=w.env,
        run_id=w.run_id,
        is_canceled=w.is_canceled,
    )


def resource_requirements_to_pb(rr: ResourceRequirements) -> c_pb.ResourceRequirements:
    return c_pb.ResourceRequirements(
        id=rr.id,
        name=rr.name,
        memory=rr.memory,
        runtime=rr.runtime,
        resources=c_pb.Resources(
            num_cpus=rr.num_cpus,
            memory_bytes=rr.memory_bytes,
            num_gpus=rr.num_gpus,
            num_nodes=rr.num_nodes,
            time_limit_seconds=float(rr.runtime_seconds),
        ),
    )


def compute_node_to_pb(n: ComputeNode, now: float) -> wf_pb.ComputeNode:
    r = n.resources
    left = (n.lease_expires_at - now) if n.is_active and n.lease_expires_at else 0.0
    return wf_pb.ComputeNode(
        id=n.id, workflow_id=n.workflow_id, hostname=n.hostname, pid=n.pid, start_time=n.start_time,
        resources=c_pb.Resources(num_cpus=r.num_cpus, memory_bytes=r.memory_bytes, num_gpus=r.num_gpus,
                                 num_nodes=r.num_nodes, time_limit_seconds=r.time_limit_seconds),
        is_active=n.is_active, lease_left_seconds=left, pending_jobs=n.pending_jobs,
        running_jobs=n.running_jobs, compute_node_type=n.compute_node_type, slurm_job_id=n.slurm_job_id,
        duration_seconds=n.duration_seconds, output_dir=n.output_dir)


#: ResourceRequirements -> its message: a workflow's jobs share a few sets, and
#: building the nested message was a third of job_to_pb (claims convert every job).
_RR_PB: dict[ResourceRequirements, c_pb.ResourceRequirements] = {}
_RR_PB_MAX = 4096

#: Repeated fields of Job, set only when not empty (an empty one costs as much as a full one).
_JOB_LISTS = ("depends_on_job_ids", "input_file_ids", "output_file_ids", "output_file_paths",
              "input_user_data_ids", "output_user_data_ids")


def _rr_pb(rr: ResourceRequirements) -> c_pb.ResourceRequirements:
    pb = _RR_PB.get(rr)
    if pb is None:
        if len(_RR_PB) >= _RR_PB_MAX:
            _RR_PB.clear()
        pb = _RR_PB[rr] = resource_requirements_to_pb(rr)  # copied into each Job, never changed
    return pb


def job_to_pb(j: Job) -> c_pb.Job:
    pb = c_pb.Job(
        id=j.id,
        workflow_id=j.workflow_id,
        name=j.name,
        command=j.command,
        status=int(j.status),
        attempt_id=j.attempt_id,
        resource_requirements=_rr_pb(j.resource_requirements),
        cancel_on_blocking_job_failure=j.cancel_on_blocking_job_failure,
        supports_termination=j.supports_termination,
        priority=j.priority,
        label=j.label,
        invocation_script=j.invocation_script,
        failure_handler_id=j.failure_handler_id,
        compute_node_id=j.compute_node_id,
    )
    if j.env:
        pb.env.update(j.env)
    for name in _JOB_LISTS:
        values = getattr(j, name)
        if values:
            getattr(pb, name).extend(values)
    if j.scheduler_id is not None:
        pb.scheduler_id = j.scheduler_id
    return pb


def result_to_pb(r: Result) -> c_pb.Result:
    return c_pb.Result(
        id=r.id,
        workflow_id=r.workflow_id,
        job_id=r.job_id,
        run_id=r.run_id,
        attempt_id=r.attempt_id,
        compute_node_id=r.compute_node_id,
        return_code=r.return_code,
        exec_time_seconds=r.exec_time_seconds,
        completion_time=r.completion_time,
        status=int(r.status),
        peak_memory_bytes=r.peak_memory_bytes,
        avg_memory_bytes=r.avg_memory_bytes,
        peak_cpu_percent=r.peak_cpu_percent,
        avg_cpu_percent=r.avg_cpu_percent,
        error=r.error,
        samples=_samples_to_pb(r.samples),
    )


def event_to_pb(e: Event) -> c_pb.Event:
    return c_pb.Event(
        id=e.id,
        workflow_id=e.workflow_id,
        timestamp_ms=e.timestamp_ms,
        event_type=e.event_type,
        severity=int(e.severity),
        data=e.data,
    )


def workflow_status_to_pb(s: WorkflowStatus) -> wf_pb.GetWorkflowStatusResponse:
    return wf_pb.GetWorkflowStatusResponse(
        run_id=s.run_id,
        is_canceled=s.is_canceled,
        is_complete=s.is_complete,
        counts=[wf_pb.JobStatusCount(status=st, count=n) for st, n in enumerate(s.counts)],
        num_jobs=s.num_jobs,
        last_event_id=s.last_event_id,
    )


def initialize_outcome_to_pb(o: InitializeOutcome) -> wf_pb.InitializeJobsResponse:
    return wf_pb.InitializeJobsResponse(
        num_ready=o.num_ready, num_blocked=o.num_blocked, num_canceled=o.num_canceled
    )


def start_outcome_to_pb(o: InitializeOutcome) -> wf_pb.StartWorkflowResponse:
    return wf_pb.StartWorkflowResponse(
        run_id=o.run_id, num_ready=o.num_ready, num_blocked=o.num_blocked, num_canceled=o.num_canceled
    )


# ------------------------------------------------------------------ worker

#: Wire SortMethod -> the core's (UNSPECIFIED = the workflow's own).
_SORT_METHODS = {
    c_pb.SORT_METHOD_UNSPECIFIED: None,
    c_pb.SORT_METHOD_GPUS_RUNTIME_MEMORY: SortMethod.GPUS_RUNTIME_MEMORY,
    c_pb.SORT_METHOD_GPUS_MEMORY_RUNTIME: SortMethod.GPUS_MEMORY_RUNTIME,
    c_pb.SORT_METHOD_NONE: SortMethod.NONE,
}


def claim_request_from_pb(pb) -> ClaimRequest:
    if pb.sort_method not in _SORT_METHODS:
        raise InvalidArgument(f"invalid sort_method {pb.sort_method}")
    return ClaimRequest(
        workflow_id=pb.workflow_id,
        compute_node_id=pb.compute_node_id,
        resources=resources_from_pb(pb.resources),
        limit=pb.limit,
        sort_method=_SORT_METHODS[pb.sort_method],
        scheduler_config_id=_opt(pb, "scheduler_config_id"),
        label=pb.label,
        wait_seconds=pb.wait_seconds,
        strict_scheduler_match=pb.strict_scheduler_match,
        start=pb.start,
        started=tuple(pb.started),
        claim_ahead=pb.claim_ahead,
    )


def compute_node_spec_from_pb(pb) -> ComputeNodeSpec:
    return ComputeNodeSpec(
        workflow_id=pb.workflow_id,
        hostname=pb.hostname,
        pid=pb.pid,
        resources=resources_from_pb(pb.resources),
        scheduler_config_id=_opt(pb, "scheduler_config_id"),
        compute_node_type=pb.compute_node_type,
        slurm_job_id=pb.slurm_job_id,
        output_dir=pb.output_dir,
    )


def completion_from_pb(pb, workflow_id: int = 0, compute_node_id: Optional[int] = None) -> Completion:
    """With workflow_id and compute_node_id: as fenced to a claim's (ClaimJobs'
    completions; the engine fences what comes otherwise, at a cost a completion)."""
    r = pb.result
    return Completion(
        job_id=pb.job_id,
        status=int(pb.status),
        run_id=pb.run_id,
        return_code=r.return_code,
        exec_time_seconds=r.exec_time_seconds,
        compute_node_id=r.compute_node_id if compute_node_id is None else compute_node_id,
        attempt_id=r.attempt_id,
        completion_time=r.completion_time,
        peak_memory_bytes=r.peak_memory_bytes,
        avg_memory_bytes=r.avg_memory_bytes,
        peak_cpu_percent=r.peak_cpu_percent,
        avg_cpu_percent=r.avg_cpu_percent,
        error=r.error,
        samples=tuple((s.seconds, s.cpu_percent, s.memory_bytes) for s in r.samples),
        workflow_id=workflow_id,
    )
