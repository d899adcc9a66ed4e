"""Pure-Python twin of the ready index kernel (_ready.pyx): the executable
spec and the test oracle (tests/core/test_ready_twins.py). The resource rule
is torc_core.resources, the one both share."""

from __future__ import annotations

import heapq
from typing import Sequence

from .models import NO_SCHEDULER
from .resources import Capacity

SORT_GPUS_RUNTIME_MEMORY, SORT_GPUS_MEMORY_RUNTIME, SORT_NONE = 0, 1, 2
SCHED_MATCH, SCHED_STRICT, SCHED_IGNORE = 0, 1, 2


class ReadyIndex:
    """Ready jobs of one workflow, bucketed by resource class, in claim order.

    Jobs are dense indices (Graph.index), so id order is index order. A class
    is (priority, label, scheduler, cpus, memory, gpus, nodes, runtime); each
    class keeps a min-heap of its ready jobs. A claim walks classes in claim
    order (priority desc, then the sort method's keys desc) and, among classes
    with equal keys, takes the lowest job index first; so the cost is the
    number of classes plus O(log n) per job returned, independent of how many
    jobs are ready. Removal is lazy (a membership flag).
    """

    def __init__(self, num_jobs: int) -> None:
        self._member = bytearray(num_jobs)
        self._job_class = [-1] * num_jobs
        self._classes: list[tuple] = []  # (prio, label, sched, cpus, mem, gpus, nodes, runtime)
        self._heaps: list[list[int]] = []
        self._size = 0
        self._orders: dict[int, list[list[int]]] = {}

    def __len__(self) -> int:
        return self._size

    def define_class(self, priority, label, scheduler, cpus, memory, gpus, nodes, runtime) -> int:
        """Register a resource class; returns its id (classes are never removed)."""
        self._classes.append((priority, label, scheduler, cpus, memory, gpus, nodes, runtime))
        self._heaps.append([])
        self._orders.clear()
        return len(self._classes) - 1

    def add(self, jobs: Sequence[int], classes: Sequence[int]) -> None:
        for j, cl in zip(jobs, classes):
            if not 0 <= cl < len(self._classes):
                raise ValueError(f"unknown class {cl}")
            if self._member[j]:
                if self._job_class[j] == cl:
                    continue
                raise ValueError(f"job {j} is already ready in another class")
            self._member[j] = 1
            self._job_class[j] = cl
            heapq.heappush(self._heaps[cl], j)
            self._size += 1

    def remove(self, jobs: Sequence[int]) -> None:
        for j in jobs:
            if self._member[j]:
                self._member[j] = 0
                self._size -= 1

    def contains(self, job: int) -> bool:
        return bool(self._member[job])

    def _tiers(self, sort_method: int) -> list[list[int]]:
        tiers = self._orders.get(sort_method)
        if tiers is None:
            def key(cl: int):
                p, _l, _s, _c, mem, gpus, _n, rt = self._classes[cl]
                if sort_method == SORT_GPUS_RUNTIME_MEMORY:
                    return (-p, -gpus, -rt, -mem)
                if sort_method == SORT_GPUS_MEMORY_RUNTIME:
                    return (-p, -gpus, -mem, -rt)
                return (-p,)
            ordered = sorted(range(len(self._classes)), key=lambda cl: (key(cl), cl))
            tiers = []
            for cl in ordered:
                if tiers and key(tiers[-1][0]) == key(cl):
                    tiers[-1].append(cl)
                else:
                    tiers.append([cl])
            self._orders[sort_method] = tiers
        return tiers

    def _need(self, cl: int) -> Capacity:
        _p, _l, _s, c, m, g, n, _rt = self._classes[cl]
        return Capacity(c, m, g, n)

    def _top(self, cl: int) -> int:
        heap = self._heaps[cl]
        while heap and not (self._member[heap[0]] and self._job_class[heap[0]] == cl):
            heapq.heappop(heap)
        return heap[0] if heap else -1

    def claim(self, cpus, memory, gpus, nodes, time_limit, limit, sort_method, label, scheduler, sched_mode) -> list[int]:
        """Claim jobs that fit (cpus, memory, gpus, nodes, time_limit); return them in claim order.

        Each job must fit the whole node (time_limit 0 = unbounded); then jobs
        are packed first-fit against the capacity, multi-node jobs alone
        consuming nodes; `limit` (0 = none) applies after packing. Labels match
        exactly. Scheduler (SCHED_MATCH): jobs without one or with the node's;
        when no ready job passes that filter and fits the node, any scheduler.
        """
        tiers = self._tiers(sort_method)

        node = Capacity(cpus, memory, gpus, nodes)

        def fits_node(cl: int, use_sched: bool) -> bool:
            _p, lab, sch, _c, _m, _g, n, rt = self._classes[cl]
            # The whole node: every job, multi-node or not, needs its nodes.
            if lab != label or n > nodes or not node.fits(self._need(cl)):
                return False
            if time_limit > 0 and rt > time_limit:
                return False
            if use_sched and sch != NO_SCHEDULER and sch != scheduler:
                return False
            return True

        use_sched = sched_mode != SCHED_IGNORE
        if sched_mode == SCHED_MATCH:
            candidates = any(
                fits_node(cl, True) and self._top(cl) >= 0 for cl in range(len(self._classes))
            )
            use_sched = candidates
        left = Capacity(cpus, memory, gpus, nodes)
        out: list[int] = []
        for tier in tiers:
            eligible = [cl for cl in tier if fits_node(cl, use_sched)]
            while eligible and (limit == 0 or len(out) < limit):
                best, best_job = -1, -1
                for cl in eligible:
                    if not left.fits(self._need(cl)):
                        continue
                    j = self._top(cl)
                    if j >= 0 and (best_job < 0 or j < best_job):
                        best, best_job = cl, j
                if best < 0:
                    break
                heapq.heappop(self._heaps[best])
                self._member[best_job] = 0
                self._size -= 1
                left = left.minus(self._need(best))
                out.append(best_job)
            if limit and len(out) >= limit:
                break
        return out
