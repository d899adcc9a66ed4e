"""Resource sets as torc reads them: the default set and the one reading of
a set (torc's defaults filled in, memory and runtime parsed). No storage
here, so that clients (the CLI's diagnostics) can use it without the store."""

from __future__ import annotations

from typing import NamedTuple

from .errors import InvalidArgument
from .models import ResourceRequirementsSpec
from .units import parse_memory, parse_runtime

DEFAULT_RESOURCES = ResourceRequirementsSpec(
    name="default", num_cpus=1, num_gpus=0, num_nodes=1, memory="1m", runtime="P0DT1M"
)


def _count(item: str, field_name: str, value, default: int, minimum: int) -> int:
    value = default if value is None else value
    if value < minimum:
        raise InvalidArgument(f"{item}: {field_name} must be >= {minimum}, not {value}")
    return int(value)


class Resolved(NamedTuple):
    """A resource set with torc's defaults filled in and its sizes parsed."""

    num_cpus: int
    num_gpus: int
    num_nodes: int
    memory: str
    runtime: str
    memory_bytes: int
    runtime_s: int


def resolve_resources(rr: ResourceRequirementsSpec) -> Resolved:
    """The one reading of a resource set (defaults: 1 CPU, 0 GPUs, 1 node, 1m, one minute)."""
    item = f"resource_requirements {rr.name!r}"
    memory = rr.memory or "1m"
    runtime = rr.runtime or "P0DT1M"
    try:
        memory_bytes = parse_memory(memory)
        runtime_s = parse_runtime(runtime)
    except InvalidArgument as exc:
        raise InvalidArgument(f"{item}: {exc.message}", name=rr.name) from None
    return Resolved(_count(item, "num_cpus", rr.num_cpus, 1, 0), _count(item, "num_gpus", rr.num_gpus, 0, 0),
                    _count(item, "num_nodes", rr.num_nodes, 1, 1), memory, runtime, memory_bytes, runtime_s)
