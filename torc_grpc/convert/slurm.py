"""Slurm parts of a spec, actions and allocations <-> messages."""

from __future__ import annotations

import dataclasses

from torc_core.slurm.models import (
    ActionSpec,
    Allocation,
    Scheduler,
    SchedulerSpec,
    SlurmSettings,
    StoredAction,
)

from .._pb import common_pb2 as c_pb
from .._pb import slurm_pb2 as sl_pb
from .._pb import worker_pb2 as wk_pb

_SCHEDULER_TEXT = ("name", "account", "partition", "walltime", "mem", "gres", "qos", "tmp", "extra")


def scheduler_spec_from_pb(pb: c_pb.SlurmSchedulerSpec) -> SchedulerSpec:
    return SchedulerSpec(
        **{k: getattr(pb, k) for k in _SCHEDULER_TEXT if k != "walltime"},
        walltime=pb.walltime or "01:00:00",
        nodes=pb.nodes if pb.HasField("nodes") else 1, ntasks_per_node=pb.ntasks_per_node,
        backlog=pb.backlog if pb.HasField("backlog") else None,
        max_allocations=pb.max_allocations if pb.HasField("max_allocations") else None,
    )


def scheduler_spec_to_pb(s: SchedulerSpec) -> c_pb.SlurmSchedulerSpec:
    pb = c_pb.SlurmSchedulerSpec(**{k: getattr(s, k) for k in _SCHEDULER_TEXT},
                                 nodes=s.nodes, ntasks_per_node=s.ntasks_per_node)
    if s.backlog is not None:
        pb.backlog = s.backlog
    if s.max_allocations is not None:
        pb.max_allocations = s.max_allocations
    return pb


def action_spec_from_pb(pb: c_pb.WorkflowActionSpec) -> ActionSpec:
    return ActionSpec(
        trigger_type=pb.trigger_type, action_type=pb.action_type, jobs=tuple(dict.fromkeys(pb.jobs)),
        commands=tuple(pb.commands), scheduler=pb.scheduler, scheduler_type=pb.scheduler_type,
        num_allocations=pb.num_allocations if pb.HasField("num_allocations") else 1,
        start_one_worker_per_node=pb.start_one_worker_per_node, max_parallel_jobs=pb.max_parallel_jobs,
        persistent=pb.persistent,
    )


def action_spec_to_pb(a: ActionSpec) -> c_pb.WorkflowActionSpec:
    return c_pb.WorkflowActionSpec(
        trigger_type=a.trigger_type, action_type=a.action_type, jobs=a.jobs, commands=a.commands,
        scheduler=a.scheduler, scheduler_type=a.scheduler_type, num_allocations=a.num_allocations,
        start_one_worker_per_node=a.start_one_worker_per_node, max_parallel_jobs=a.max_parallel_jobs,
        persistent=a.persistent,
    )


def settings_from_pb(pb: c_pb.WorkflowSpec) -> SlurmSettings:
    base = SlurmSettings()
    return dataclasses.replace(
        base, defaults=dict(pb.slurm_defaults), output_dir=pb.output_dir,
        expiration_buffer_seconds=(pb.compute_node_expiration_buffer_seconds
                                   if pb.HasField("compute_node_expiration_buffer_seconds")
                                   else base.expiration_buffer_seconds),
        wait_for_new_jobs_seconds=(pb.compute_node_wait_for_new_jobs_seconds
                                   if pb.HasField("compute_node_wait_for_new_jobs_seconds")
                                   else base.wait_for_new_jobs_seconds),
    )


def settings_into_pb(s: SlurmSettings, pb: c_pb.WorkflowSpec) -> None:
    pb.slurm_defaults.update(s.defaults)
    pb.output_dir = s.output_dir
    pb.compute_node_expiration_buffer_seconds = s.expiration_buffer_seconds
    pb.compute_node_wait_for_new_jobs_seconds = s.wait_for_new_jobs_seconds


def allocation_to_pb(a: Allocation) -> sl_pb.Allocation:
    return sl_pb.Allocation(
        id=a.id, workflow_id=a.workflow_id, slurm_job_id=a.slurm_job_id, scheduler=a.scheduler,
        state=a.state.value, source=a.source.value, num_nodes=a.num_nodes, nodes=a.nodes,
        submitted_at=a.submitted_at, start_time=a.start_time, end_time=a.end_time, message=a.message,
    )


def scheduler_state_to_pb(s: Scheduler) -> sl_pb.SchedulerState:
    return sl_pb.SchedulerState(id=s.id, name=s.spec.name, walltime=s.spec.walltime, nodes=s.spec.nodes,
                                paused=s.paused, consecutive_failures=s.failures, message=s.message)


def action_to_pb(a: StoredAction) -> wk_pb.WorkflowAction:
    return wk_pb.WorkflowAction(id=a.id, trigger_type=a.spec.trigger_type, commands=a.spec.commands)
