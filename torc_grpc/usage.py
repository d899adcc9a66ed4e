"""Requested against used (`torc-grpc report`) and torc's recovery
(`torc-grpc recover`): jobs joined with their current results, the flags a
job earns (over memory, over CPUs, near or over its runtime), and the plan
that raises memory x1.5 after an out-of-memory kill and runtime x1.5 after a
timeout. Pure functions of ListJobs and ListResults answers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Optional

from torc_core.units import format_bytes, format_runtime

from . import views
from ._pb import common_pb2 as c

#: An out-of-memory kill: SIGKILL seen by the worker (-9) or by a shell (128 + 9).
OOM_CODES = (-9, 137)
#: A job that used this share of its runtime is "near" it.
NEAR_RUNTIME = 0.9
#: Peak CPU above the request by more than this share is "over".
CPU_SLACK = 1.05
#: torc's factor for both recoveries.
FACTOR = 1.5


@dataclass(frozen=True)
class JobUse:
    job_id: int
    name: str
    resource_set: str
    status: str
    return_code: Optional[int]
    num_cpus: int
    memory_bytes: int
    runtime_s: float
    peak_memory_bytes: int
    peak_cpu_percent: float
    exec_time_seconds: float
    #: A result was reported in the current run.
    ran: bool


def job_uses(jobs: Iterable, results: Iterable) -> list[JobUse]:
    """Each job with its current result (ListJobs, ListResults of the run)."""
    latest = {r.job_id: r for r in results}
    out = []
    for job in jobs:
        rr, r = job.resource_requirements, latest.get(job.id)
        out.append(JobUse(
            job.id, job.name, rr.name or "default", views.status_name(job.status),
            r.return_code if r else None, rr.resources.num_cpus, rr.resources.memory_bytes,
            rr.resources.time_limit_seconds, r.peak_memory_bytes if r else 0, r.peak_cpu_percent if r else 0.0,
            r.exec_time_seconds if r else 0.0, r is not None))
    return out


def flags(use: JobUse) -> list[str]:
    """What a job's result says against its request."""
    out = []
    if use.memory_bytes and use.peak_memory_bytes > use.memory_bytes:
        out.append(f"over memory: peak {format_bytes(use.peak_memory_bytes)} of "
                   f"{format_bytes(use.memory_bytes)} (+{_over(use.peak_memory_bytes, use.memory_bytes)}%)")
    if use.num_cpus and use.peak_cpu_percent > 100 * use.num_cpus * CPU_SLACK:
        out.append(f"over CPUs: peak {use.peak_cpu_percent:.0f}% for {use.num_cpus} CPU"
                   f"{'s' if use.num_cpus != 1 else ''}")
    if use.runtime_s and use.ran:
        share = use.exec_time_seconds / use.runtime_s
        if share > 1:
            out.append(f"over runtime: {use.exec_time_seconds:.1f} s of {format_runtime(use.runtime_s)}")
        elif share >= NEAR_RUNTIME:
            out.append(f"near runtime: {share:.0%} of {format_runtime(use.runtime_s)}")
    if use.return_code in OOM_CODES and use.status == "failed":
        out.append(f"killed (return code {use.return_code}): out of memory?")
    return out


def by_resource_set(uses: list[JobUse]) -> list[dict]:
    """Per resource set: what was asked, the most any job used, and how many were flagged."""
    sets: dict[str, list[JobUse]] = {}
    for use in uses:
        sets.setdefault(use.resource_set, []).append(use)
    rows = []
    for name, members in sets.items():
        first, ran = members[0], [m for m in members if m.ran]
        rows.append({
            "resource_set": name, "jobs": len(members), "reported": len(ran),
            "num_cpus": first.num_cpus, "memory_bytes": first.memory_bytes, "runtime_seconds": first.runtime_s,
            "peak_memory_bytes": max((m.peak_memory_bytes for m in ran), default=0),
            "peak_cpu_percent": round(max((m.peak_cpu_percent for m in ran), default=0.0), 1),
            "max_exec_time_seconds": round(max((m.exec_time_seconds for m in ran), default=0.0), 3),
            "flagged": sum(1 for m in members if flags(m)),
        })
    return rows


@dataclass(frozen=True)
class Fix:
    """One recovery: jobs of one resource set get a new set with more of one resource."""

    reason: str
    resource_set: str
    new_set: str
    job_ids: tuple[int, ...]
    job_names: tuple[str, ...]
    resource: str
    old: str
    new: str


def recovery_plan(uses: list[JobUse], sets: dict, taken: set[str], run_id: int) -> list[Fix]:
    """torc's recovery for what failed: memory x1.5 after an out-of-memory kill,
    runtime x1.5 after a timeout (terminated, or ran past its runtime).
    `sets`: resource set name -> ResourceRequirements (for the old strings);
    `taken`: names the new sets must avoid."""
    groups: dict[tuple[str, str], list[JobUse]] = {}
    for use in uses:
        if use.status == "failed" and use.return_code in OOM_CODES:
            groups.setdefault((use.resource_set, "memory"), []).append(use)
        elif use.status == "terminated" or (use.status == "failed" and use.runtime_s
                                             and use.exec_time_seconds >= use.runtime_s):
            groups.setdefault((use.resource_set, "runtime"), []).append(use)
    plan = []
    for (name, resource), members in sorted(groups.items()):
        rr = sets[name]
        if resource == "memory":
            old, new = rr.memory or "1m", f"{math.ceil(rr.resources.memory_bytes * FACTOR / 2**20)}m"
            reason = "out of memory (killed)"
        else:
            old = rr.runtime or format_runtime(rr.resources.time_limit_seconds)
            new = format_runtime(math.ceil(rr.resources.time_limit_seconds * FACTOR))
            reason = "timeout"
        new_set = _fresh(f"{name}_run{run_id}_{resource}", taken)
        taken.add(new_set)
        plan.append(Fix(reason, name, new_set, tuple(m.job_id for m in members), tuple(m.name for m in members),
                        resource, old, new))
    return plan


def new_resources(fix: Fix, old: c.ResourceRequirements) -> c.ResourceRequirementsSpec:
    """The new set: the old one with the fix's resource raised."""
    r = old.resources
    return c.ResourceRequirementsSpec(
        name=fix.new_set, num_cpus=r.num_cpus, num_gpus=r.num_gpus, num_nodes=max(1, r.num_nodes),
        memory=fix.new if fix.resource == "memory" else (old.memory or "1m"),
        runtime=fix.new if fix.resource == "runtime" else (old.runtime or format_runtime(r.time_limit_seconds)))


def _fresh(name: str, taken: set[str]) -> str:
    if name not in taken:
        return name
    k = 2
    while f"{name}_{k}" in taken:
        k += 1
    return f"{name}_{k}"


def _over(used: float, asked: float) -> int:
    return round((used / asked - 1) * 100)
