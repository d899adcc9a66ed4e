"""Specs -> messages: what clients send (submit, run, the dashboard's
restart): a WorkflowSpec read from a file, as CreateWorkflow and AddJobs
take it. The server's direction, messages -> specs, is in records.py."""

from __future__ import annotations

from torc_core.models import FailureHandlerSpec, JobSpec, ResourceRequirementsSpec, WorkflowSpec

from .._pb import common_pb2 as c_pb
from . import slurm
from .records import resource_monitor_to_pb


def resource_requirements_spec_to_pb(r: ResourceRequirementsSpec) -> c_pb.ResourceRequirementsSpec:
    pb = c_pb.ResourceRequirementsSpec(name=r.name, memory=r.memory, runtime=r.runtime)
    for key in ("num_cpus", "num_gpus", "num_nodes"):
        if getattr(r, key) is not None:
            setattr(pb, key, getattr(r, key))
    return pb


def failure_handler_spec_to_pb(h: FailureHandlerSpec) -> c_pb.FailureHandlerSpec:
    return c_pb.FailureHandlerSpec(name=h.name, rules=[
        c_pb.FailureRule(exit_codes=list(r.exit_codes), match_all_exit_codes=r.match_all_exit_codes,
                         recovery_script=r.recovery_script, max_retries=r.max_retries)
        for r in h.rules])


def job_spec_to_pb(j: JobSpec) -> c_pb.JobSpec:
    pb = c_pb.JobSpec(
        name=j.name, command=j.command, depends_on=j.depends_on,
        resource_requirements=j.resource_requirements, input_files=j.input_files,
        output_files=j.output_files, input_user_data=j.input_user_data,
        output_user_data=j.output_user_data,
        cancel_on_blocking_job_failure=j.cancel_on_blocking_job_failure,
        supports_termination=j.supports_termination, priority=j.priority, label=j.label,
        env=j.env, failure_handler=j.failure_handler, invocation_script=j.invocation_script,
        disabled=j.disabled, scheduler=j.scheduler,
    )
    if j.scheduler_id is not None:
        pb.scheduler_id = j.scheduler_id
    return pb


def workflow_spec_to_pb(s: WorkflowSpec, with_jobs: bool = True) -> c_pb.WorkflowSpec:
    """A WorkflowSpec for CreateWorkflow; with_jobs=False leaves the jobs to AddJobs."""
    pb = c_pb.WorkflowSpec(
        name=s.name, user=s.user, description=s.description,
        resource_requirements=[resource_requirements_spec_to_pb(r) for r in s.resource_requirements],
        files=[c_pb.FileSpec(name=f.name, path=f.path) for f in s.files],
        user_data=[c_pb.UserDataSpec(name=u.name, data=u.data, is_ephemeral=u.is_ephemeral) for u in s.user_data],
        jobs=[job_spec_to_pb(j) for j in s.jobs] if with_jobs else [],
        env=s.env, jobs_sort_method=s.jobs_sort_method,
        failure_handlers=[failure_handler_spec_to_pb(h) for h in s.failure_handlers],
        access_groups=list(s.access_groups),
        slurm_schedulers=[slurm.scheduler_spec_to_pb(x) for x in s.slurm_schedulers],
        actions=[slurm.action_spec_to_pb(a) for a in s.actions],
    )
    slurm.settings_into_pb(s.slurm, pb)
    pb.resource_monitor.CopyFrom(resource_monitor_to_pb(s.resource_monitor))
    return pb
