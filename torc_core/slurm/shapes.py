"""Slurm's own strings (time limits, --mem, --gres) and the one rule of
whether a job's needs fit a scheduler's allocation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..errors import InvalidArgument
from .models import SchedulerSpec

_MEM = re.compile(r"^\s*(\d+)\s*([kmgtKMGT]?)[bB]?\s*$")
_MEM_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def walltime_seconds(text: str) -> int:
    """Seconds of a Slurm time limit: "M", "M:S", "H:M:S", "D-H", "D-H:M", "D-H:M:S".

    Raises:
        InvalidArgument: Not one of those forms, or zero.
    """
    value = (text or "").strip()
    days, _, rest = value.partition("-") if "-" in value else ("", "", value)
    if "-" in value and not days.isdigit():
        raise InvalidArgument(f"walltime {text!r} is not a Slurm time (e.g. '01:30:00' or '1-12:00:00')",
                              value=text)
    try:
        parts = [int(p) for p in rest.split(":")]
        d = int(days) if days else 0
    except ValueError:
        raise InvalidArgument(f"walltime {text!r} is not a Slurm time (e.g. '01:30:00' or '1-12:00:00')",
                              value=text) from None
    if days:
        if len(parts) > 3:
            raise InvalidArgument(f"walltime {text!r} has too many fields", value=text)
        h, m, s = (parts + [0, 0])[:3]
    elif len(parts) == 1:
        h, m, s = 0, parts[0], 0
    elif len(parts) == 2:
        h, m, s = 0, parts[0], parts[1]
    elif len(parts) == 3:
        h, m, s = parts
    else:
        raise InvalidArgument(f"walltime {text!r} has too many fields", value=text)
    if min(d, h, m, s) < 0:
        raise InvalidArgument(f"walltime {text!r} is negative", value=text)
    total = ((d * 24 + h) * 60 + m) * 60 + s
    if total <= 0:
        raise InvalidArgument(f"walltime {text!r} is zero", value=text)
    return total


def mem_bytes(text: str) -> int:
    """Bytes of an sbatch --mem value ("16g", "16000", "500M"); no unit = megabytes."""
    match = _MEM.match(text or "")
    if not match:
        raise InvalidArgument(f"mem {text!r} is not an sbatch memory size (e.g. '16g' or '16000M')",
                              value=text)
    number, unit = int(match.group(1)), match.group(2).lower()
    return number * _MEM_UNITS[unit or "m"]


def gres_gpus(text: str) -> int:
    """GPUs per node in an sbatch --gres value ("gpu:2", "gpu:a100:2", "gpu"); 0 without gpu."""
    total = 0
    for item in (text or "").split(","):
        fields = item.strip().split(":")
        if not fields or fields[0] != "gpu":
            continue
        count = fields[-1] if len(fields) > 1 else "1"
        total += int(count) if count.isdigit() else 1
    return total


@dataclass(frozen=True)
class Shape:
    """What one allocation of a scheduler offers (parsed once)."""

    walltime_s: int
    nodes: int
    memory_bytes: int  # per node; 0 = not set (the partition's)
    gpus: int  # per node

    @classmethod
    def of(cls, spec: SchedulerSpec) -> "Shape":
        return cls(walltime_seconds(spec.walltime), max(1, spec.nodes),
                   mem_bytes(spec.mem) if spec.mem else 0, gres_gpus(spec.gres))


@dataclass(frozen=True)
class Needs:
    """What a job asks for (its resource requirements)."""

    runtime_s: int
    num_nodes: int
    memory_bytes: int
    num_gpus: int


def shortfall(needs: Needs, shape: Shape, name: str) -> Optional[str]:
    """Why a job cannot run in an allocation of scheduler `name`, or None when it fits."""
    if needs.runtime_s > shape.walltime_s:
        return (f"runtime {needs.runtime_s} s exceeds scheduler {name!r}'s walltime of "
                f"{shape.walltime_s} s")
    if needs.num_nodes > shape.nodes:
        return f"{needs.num_nodes} nodes exceed scheduler {name!r}'s {shape.nodes}"
    if shape.memory_bytes and needs.memory_bytes > shape.memory_bytes:
        return (f"memory {needs.memory_bytes} bytes exceeds scheduler {name!r}'s mem of "
                f"{shape.memory_bytes} bytes")
    if needs.num_gpus > shape.gpus:
        return f"{needs.num_gpus} GPUs exceed scheduler {name!r}'s {shape.gpus} (gres)"
    return None
