"""Validating and writing the Slurm parts of a workflow definition:
schedulers, jobs routed to them, actions, settings (inside the caller's
transaction, before anything is visible; docs/slurm.md)."""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

from . import store
from .errors import InvalidArgument, InvalidTransition
from .models import JobSpec, ResourceRequirementsSpec, WorkflowSpec
from .resource_sets import DEFAULT_RESOURCES, resolve_resources
from .slurm.models import JOB_TRIGGERS, TRIGGERS, ActionSpec
from .slurm.shapes import Needs, Shape, shortfall
from .store import Connection

MAX_SCHEDULERS = 100
MAX_ACTIONS = 1000


def needs_slurm(spec: WorkflowSpec) -> bool:
    """A workflow that only runs with the allocator: schedule_nodes actions, or jobs routed to a scheduler."""
    return any(a.action_type == "schedule_nodes" for a in spec.actions) or any(j.scheduler for j in spec.jobs)


def check(spec: WorkflowSpec, slurm_enabled: bool) -> None:
    """Everything about schedulers and actions that can be refused before a write."""
    if len(spec.slurm_schedulers) > MAX_SCHEDULERS or len(spec.actions) > MAX_ACTIONS:
        raise InvalidArgument(f"at most {MAX_SCHEDULERS} slurm_schedulers and {MAX_ACTIONS} actions")
    if needs_slurm(spec) and not slurm_enabled:
        raise InvalidTransition(
            "this workflow needs Slurm (schedule_nodes actions or jobs with a scheduler) but the "
            "server runs without its allocator: start it with `torc-grpc serve --slurm`, or remove "
            "the actions and the jobs' scheduler keys to run it with local workers")
    names = [s.name for s in spec.slurm_schedulers]
    if len(set(names)) != len(names):
        raise InvalidArgument("slurm_schedulers: duplicate scheduler name")
    shapes = {}
    for s in spec.slurm_schedulers:
        if not s.name.strip() or len(s.name) > 256:
            raise InvalidArgument("slurm_schedulers: a scheduler needs a name (at most 256 characters)")
        if s.nodes < 1 or s.ntasks_per_node < 0 or (s.backlog or 0) < 0 or (s.max_allocations or 0) < 0:
            raise InvalidArgument(f"scheduler {s.name!r}: nodes must be >= 1, and ntasks_per_node, "
                                  "backlog and max_allocations >= 0", scheduler=s.name)
        text = [s.account, s.partition, s.walltime, s.mem, s.gres, s.qos, s.tmp, s.extra]
        if any("\n" in t or "\r" in t for t in text):
            raise InvalidArgument(f"scheduler {s.name!r}: a value has a line break", scheduler=s.name)
        try:
            shapes[s.name] = Shape.of(s)
        except InvalidArgument as exc:
            raise InvalidArgument(f"scheduler {s.name!r}: {exc.message}", scheduler=s.name) from None
    if any("\n" in f"{k}{v}" or "\r" in f"{k}{v}" for k, v in spec.slurm.defaults.items()):
        raise InvalidArgument("slurm_defaults: a value has a line break")
    if spec.slurm.output_dir and not os.path.isabs(spec.slurm.output_dir):
        raise InvalidArgument(f"output_dir {spec.slurm.output_dir!r} must be an absolute path")
    needs = _needs_by_set(spec.resource_requirements)
    for job in spec.jobs:
        if not job.scheduler:
            continue
        if job.scheduler not in shapes:
            raise InvalidArgument(f"job {job.name!r}: scheduler {job.scheduler!r} is not one of "
                                  "slurm_schedulers", job=job.name)
        need = needs.get(job.resource_requirements or "default")
        why = need and shortfall(need, shapes[job.scheduler], job.scheduler)
        if why:
            raise InvalidArgument(f"job {job.name!r} can never run: its {why}", job=job.name)
    jobs = {j.name for j in spec.jobs}
    for k, a in enumerate(spec.actions):
        _check_action(k, a, set(shapes), jobs)


def _check_action(k: int, a: ActionSpec, schedulers: set[str], jobs: set[str]) -> None:
    where = f"actions[{k}]"
    if a.trigger_type not in TRIGGERS:
        raise InvalidArgument(f"{where}: trigger_type must be one of {', '.join(TRIGGERS)}, "
                              f"not {a.trigger_type!r}")
    if a.action_type == "run_commands":
        if not a.commands or not all(c.strip() for c in a.commands):
            raise InvalidArgument(f"{where}: run_commands needs non-empty commands")
    elif a.action_type == "schedule_nodes":
        if a.scheduler not in schedulers:
            raise InvalidArgument(f"{where}: schedule_nodes names unknown scheduler {a.scheduler!r}")
        if a.scheduler_type not in ("", "slurm"):
            raise InvalidArgument(f"{where}: scheduler_type must be 'slurm', not {a.scheduler_type!r}")
        if not 1 <= a.num_allocations <= 100:
            raise InvalidArgument(f"{where}: num_allocations must be between 1 and 100")
    else:
        raise InvalidArgument(f"{where}: action_type must be run_commands or schedule_nodes, "
                              f"not {a.action_type!r}")
    if (a.trigger_type in JOB_TRIGGERS) != bool(a.jobs):
        raise InvalidArgument(f"{where}: on_jobs_ready and on_jobs_complete need jobs; other "
                              "triggers take none")
    for name in a.jobs:
        if name not in jobs:
            raise InvalidArgument(f"{where}: jobs names unknown job {name!r}")


def _needs_by_set(sets: Sequence[ResourceRequirementsSpec]) -> dict[str, Needs]:
    out = {}
    for rr in (DEFAULT_RESOURCES, *sets):
        try:
            r = resolve_resources(rr)  # the one reading of a resource set, defaults included
        except InvalidArgument:
            continue  # reported with its name by the resource rows
        out[rr.name] = Needs(r.runtime_s, r.num_nodes, r.memory_bytes, r.num_gpus)
    return out


def write_schedulers(conn: Connection, workflow_id: int, spec: WorkflowSpec) -> tuple[JobSpec, ...]:
    """Insert the schedulers and settings; return the jobs with their scheduler ids."""
    ids = store.insert_schedulers(conn, workflow_id, spec.slurm_schedulers)
    store.set_slurm_settings(conn, workflow_id, spec.slurm)
    return tuple(dataclasses.replace(j, scheduler_id=ids[j.scheduler]) if j.scheduler else j
                 for j in spec.jobs)


def write_actions(conn: Connection, workflow_id: int, actions: Sequence[ActionSpec],
                  job_ids: dict[str, int]) -> None:
    for a in actions:
        store.insert_action(conn, workflow_id, a, [job_ids[n] for n in a.jobs])


def route_added_jobs(conn: Connection, workflow_id: int, jobs: Sequence[JobSpec],
                     slurm_enabled: bool) -> tuple[JobSpec, ...]:
    """AddJobs: a job's scheduler name -> the workflow's scheduler id."""
    out = []
    for job in jobs:
        if job.scheduler:
            if not slurm_enabled:
                raise InvalidTransition(f"job {job.name!r} names scheduler {job.scheduler!r}, but the "
                                        "server runs without `--slurm`")
            sched = store.scheduler_by_name(conn, workflow_id, job.scheduler)
            if sched is None:
                raise InvalidArgument(f"job {job.name!r}: scheduler {job.scheduler!r} is not one of "
                                      "the workflow's slurm_schedulers", job=job.name)
            job = dataclasses.replace(job, scheduler_id=sched.id)
        out.append(job)
    return tuple(out)
