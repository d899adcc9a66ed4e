"""Why jobs cannot run: their needs against what a node offers, named.

`run` checks a spec against its own worker before it starts (and names the
stuck jobs if the run cannot go on); `submit` checks against a node larger
than any there is (SANE_NODE), since it does not know the workers. Each
shortfall says which resource, how much is needed and offered, and which
jobs. The fit rule is resources.py's (multi-node jobs need the nodes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, NamedTuple

from .errors import InvalidArgument
from .models import ResourceRequirementsSpec, WorkflowSpec
from .resource_sets import DEFAULT_RESOURCES, resolve_resources
from .resources import Capacity
from .slurm.shapes import Needs, Shape, shortfall
from .units import format_bytes, format_runtime

#: Hardly any single node has more (a need beyond it is likely a typo: "5000g" for "5g"); warnings only.
SANE_NODE = Capacity(num_cpus=1024, memory_bytes=4 * 1024**4, num_gpus=16, num_nodes=100_000)
#: Job names a message lists before "and N more".
SHOWN = 5


class JobNeed(NamedTuple):
    name: str
    resource_set: str
    need: Capacity
    runtime_s: float


@dataclass(frozen=True)
class Shortfall:
    """Jobs of one resource set that one resource of the offer cannot hold."""

    resource: str
    need: float
    offer: float
    resource_set: str
    jobs: tuple[str, ...]

    def describe(self, offered_by: str = "the node") -> str:
        names = ", ".join(self.jobs[:SHOWN]) + (f" and {len(self.jobs) - SHOWN} more"
                                                 if len(self.jobs) > SHOWN else "")
        one = len(self.jobs) == 1
        count = f"{len(self.jobs)} job{'' if one else 's'}"
        return (f"{count} ({names}) need{'s' if one else ''} {_amount(self.resource, self.need)} "
                f"(resource set {self.resource_set!r}); {offered_by} offers "
                f"{_amount(self.resource, self.offer, offered=True)}")


def shortfalls(jobs: Iterable[JobNeed], offer: Capacity, time_limit: float = 0.0) -> list[Shortfall]:
    """What in `offer` (and `time_limit` seconds, 0 = unbounded) each job lacks, grouped."""
    groups: dict[tuple[str, str], list[JobNeed]] = {}
    for job in jobs:
        for resource in _short(job, offer, time_limit):
            groups.setdefault((job.resource_set, resource), []).append(job)
    out = []
    for (resource_set, resource), members in groups.items():
        first = members[0]
        need = {"CPUs": first.need.num_cpus, "memory": first.need.memory_bytes, "GPUs": first.need.num_gpus,
                "nodes": first.need.num_nodes, "runtime": first.runtime_s}[resource]
        have = {"CPUs": offer.num_cpus, "memory": offer.memory_bytes, "GPUs": offer.num_gpus,
                "nodes": offer.num_nodes, "runtime": time_limit}[resource]
        out.append(Shortfall(resource, need, have, resource_set, tuple(j.name for j in members)))
    return out


def spec_needs(spec: WorkflowSpec) -> list[JobNeed]:
    """Every job of a spec with its resource set's needs (torc's defaults filled in)."""
    sets: dict[str, ResourceRequirementsSpec] = {"default": DEFAULT_RESOURCES}
    sets.update({rr.name: rr for rr in spec.resource_requirements})
    resolved = {}
    for name, rr in sets.items():
        try:
            resolved[name] = resolve_resources(rr)
        except InvalidArgument:
            continue  # the server refuses it with the field's name; nothing to diagnose here
    needs = []
    for job in spec.jobs:
        name = job.resource_requirements or "default"
        r = resolved.get(name)
        if r is not None:
            needs.append(JobNeed(job.name, name, Capacity(r.num_cpus, r.memory_bytes, r.num_gpus, r.num_nodes),
                                 float(r.runtime_s)))
    return needs


def beyond_schedulers(spec: WorkflowSpec) -> list[str]:
    """With slurm_schedulers declared: the jobs routed to none that no scheduler
    could hold (the allocator never starts an allocation for them), one line per
    resource set with the first scheduler's reason. Jobs routed to a scheduler
    are checked by the server, which refuses a misfit."""
    if not spec.slurm_schedulers:
        return []
    try:
        shapes = {s.name: Shape.of(s) for s in spec.slurm_schedulers}
    except InvalidArgument:
        return []  # the server refuses the scheduler, naming it
    unrouted = {j.name for j in spec.jobs if not j.scheduler}
    groups: dict[str, list[JobNeed]] = {}
    for job in spec_needs(spec):
        if job.name in unrouted:
            groups.setdefault(job.resource_set, []).append(job)
    lines = []
    for resource_set, members in groups.items():
        first = members[0]
        needs = Needs(int(first.runtime_s), first.need.num_nodes, first.need.memory_bytes, first.need.num_gpus)
        reasons = [shortfall(needs, shape, name) for name, shape in shapes.items()]
        if all(reasons):
            names = ", ".join(j.name for j in members[:SHOWN]) + (
                f" and {len(members) - SHOWN} more" if len(members) > SHOWN else "")
            lines.append(f"{len(members)} job{'s' if len(members) != 1 else ''} ({names}) of resource set "
                         f"{resource_set!r} fit none of the slurm_schedulers ({reasons[0]}): only workers "
                         "started by hand can run them")
    return lines


def _short(job: JobNeed, offer: Capacity, time_limit: float) -> list[str]:
    need, short = job.need, []
    if need.num_cpus > offer.num_cpus:
        short.append("CPUs")
    if need.memory_bytes > offer.memory_bytes:
        short.append("memory")
    if need.num_gpus > offer.num_gpus:
        short.append("GPUs")
    if not offer.fits(Capacity(0, 0, 0, need.num_nodes)):
        short.append("nodes")
    if time_limit and job.runtime_s > time_limit:
        short.append("runtime")
    return short


def _amount(resource: str, value: float, offered: bool = False) -> str:
    if resource == "memory":
        return format_bytes(int(value)) + " of memory"
    if resource == "runtime":
        return f"{format_runtime(value)} of time left" if offered else f"a runtime of {format_runtime(value)}"
    n = int(value)
    return f"{n} {resource if n != 1 else resource.removesuffix('s')}"
