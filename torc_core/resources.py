"""The one resource rule: when a job fits a node's free capacity, and what a
job takes from it and gives back.

Torc's claim packing (docs/architecture.md, "The resource rule"): a job is taken when the
running totals plus the job stay within the capacity for CPUs, memory and
GPUs, **and** the node check passes, where only multi-node jobs
(num_nodes > 1) consume node capacity; single-node jobs share nodes and never
count against the node limit. So a multi-node job takes its CPUs, memory and
GPUs *and* its nodes. The compiled ready index (_ready.pyx) applies the same
rule in C; tests/core/test_resources.py runs one multi-node mix through every
user of this module and through the kernel, and requires the same answer.

Users: the reference ready index (_reference.py), the engine (what a node can
still take after a claim), the notifier (which waiting node a batch can feed)
and the worker (its free capacity while jobs run).
"""

from __future__ import annotations

from typing import NamedTuple


class Capacity(NamedTuple):
    """Free resources of a node, or the needs of one job (same four numbers)."""

    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int

    def fits(self, need: "Capacity") -> bool:
        """Whether a job needing `need` fits in this free capacity."""
        return (
            need.num_cpus <= self.num_cpus
            and need.memory_bytes <= self.memory_bytes
            and need.num_gpus <= self.num_gpus
            and (need.num_nodes <= 1 or need.num_nodes <= self.num_nodes)
        )

    def minus(self, need: "Capacity", count: int = 1) -> "Capacity":
        """What is left after `count` jobs needing `need` were taken."""
        return Capacity(
            self.num_cpus - count * need.num_cpus,
            self.memory_bytes - count * need.memory_bytes,
            self.num_gpus - count * need.num_gpus,
            self.num_nodes - (count * need.num_nodes if need.num_nodes > 1 else 0),
        )

    def plus(self, need: "Capacity") -> "Capacity":
        """Capacity after a job needing `need` gave its resources back."""
        return Capacity(
            self.num_cpus + need.num_cpus,
            self.memory_bytes + need.memory_bytes,
            self.num_gpus + need.num_gpus,
            self.num_nodes + (need.num_nodes if need.num_nodes > 1 else 0),
        )

    def room_for(self, need: "Capacity", at_most: int) -> int:
        """How many jobs needing `need` fit at once (at most `at_most`)."""
        room = at_most
        pairs = [(self.num_cpus, need.num_cpus), (self.memory_bytes, need.memory_bytes),
                 (self.num_gpus, need.num_gpus)]
        if need.num_nodes > 1:
            pairs.append((self.num_nodes, need.num_nodes))
        for have, per_job in pairs:
            if per_job > 0:
                room = min(room, have // per_job if have > 0 else 0)
        return max(0, room)

    def clamped(self) -> "Capacity":
        """No negative numbers (a node over-committed by hand still offers 0)."""
        return Capacity(*(max(0, v) for v in self))
