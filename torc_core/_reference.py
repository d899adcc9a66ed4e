"""Pure-Python twins of the Cython kernels: the executable spec and the test
oracle. Production never runs these unless TORC_NO_EXTENSIONS=1 (kernels.py).

Graph semantics (shared with _graph.pyx; the twin tests hold them equal):

* Jobs are identified by int64 ids, given sorted ascending; an edge (j, b)
  means job j waits for blocker b.
* A blocker is *done* when its status is COMPLETED, FAILED, CANCELED,
  TERMINATED or DISABLED; it is *bad* when done but not COMPLETED.
* Per job the graph keeps ``remaining`` (blockers not done) and ``bad``
  (blockers done but bad). A BLOCKED job whose remaining reaches 0 is
  *resolved*: CANCELED when bad > 0 and its cancel flag is set, otherwise
  READY. A job canceled this way is itself a bad done blocker, so the
  cascade is transitive (docs/lifecycle.md: cancellation cascades).
"""

from __future__ import annotations

import heapq
from bisect import bisect_left
from collections import deque
from typing import Iterable, Sequence

from .models import BAD_BLOCKER_STATUSES, DONE_STATUSES, NO_SCHEDULER, JobStatus
from .resources import Capacity

# Plain ints of JobStatus members: the twin stores statuses in int lists, as
# the kernels store them in int64 arrays.
UNINITIALIZED, BLOCKED, READY, PENDING, RUNNING = (
    int(JobStatus.UNINITIALIZED), int(JobStatus.BLOCKED), int(JobStatus.READY),
    int(JobStatus.PENDING), int(JobStatus.RUNNING),
)
COMPLETED, FAILED, CANCELED, TERMINATED, DISABLED, PENDING_FAILED = (
    int(JobStatus.COMPLETED), int(JobStatus.FAILED), int(JobStatus.CANCELED),
    int(JobStatus.TERMINATED), int(JobStatus.DISABLED), int(JobStatus.PENDING_FAILED),
)
NUM_STATUSES = len(JobStatus)

_DONE = frozenset(int(s) for s in DONE_STATUSES)
_BAD = frozenset(int(s) for s in BAD_BLOCKER_STATUSES)
# Statuses that initialize re-evaluates (torc readies 0, 3, 4, 8 and 10).
_REEVALUATED = frozenset({UNINITIALIZED, BLOCKED, PENDING, RUNNING, TERMINATED, PENDING_FAILED})


class Graph:
    """In-memory dependency graph of one workflow with blocker counters."""

    def __init__(
        self,
        job_ids: Sequence[int],
        statuses: Sequence[int],
        cancel_flags: Sequence[int],
        edge_jobs: Sequence[int],
        edge_blockers: Sequence[int],
    ) -> None:
        n = len(job_ids)
        if len(statuses) != n or len(cancel_flags) != n:
            raise ValueError("job_ids, statuses and cancel_flags differ in length")
        if len(edge_jobs) != len(edge_blockers):
            raise ValueError("edge_jobs and edge_blockers differ in length")
        self._ids = list(job_ids)
        for k in range(1, n):
            if self._ids[k] <= self._ids[k - 1]:
                raise ValueError("job_ids must be strictly ascending")
        self._status = [int(s) for s in statuses]
        for s in self._status:
            if not 0 <= s < NUM_STATUSES:
                raise ValueError(f"invalid status {s}")
        self._cancel = [1 if c else 0 for c in cancel_flags]
        jobs = [self.index(j) for j in edge_jobs]
        blockers = [self.index(b) for b in edge_blockers]
        # Dependents CSR (blocker -> jobs), counting sort stable in edge order.
        self._dep_off = _offsets(n, blockers)
        self._dep = _scatter(self._dep_off, blockers, jobs)
        self._edge_jobs, self._edge_blockers = jobs, blockers
        self._counts = [0] * NUM_STATUSES
        for s in self._status:
            self._counts[s] += 1
        self._remaining = [0] * n
        self._bad = [0] * n
        for j, b in zip(jobs, blockers):
            sb = self._status[b]
            if sb not in _DONE:
                self._remaining[j] += 1
            elif sb in _BAD:
                self._bad[j] += 1

    # -- lookups ---------------------------------------------------------
    @property
    def num_jobs(self) -> int:
        return len(self._ids)

    @property
    def num_edges(self) -> int:
        return len(self._dep)

    def index(self, job_id: int) -> int:
        """Dense index of a job id; ValueError when unknown."""
        k = bisect_left(self._ids, job_id)
        if k == len(self._ids) or self._ids[k] != job_id:
            raise ValueError(f"unknown job id {job_id}")
        return k

    def status_of(self, job_id: int) -> int:
        return self._status[self.index(job_id)]

    def ids_at(self, indices: Iterable[int]) -> list[int]:
        """Job ids of dense indices."""
        return [self._ids[i] for i in indices]

    def indices_of(self, job_ids: Iterable[int]) -> list[int]:
        """Dense indices of job ids; ValueError when one is unknown."""
        return [self.index(j) for j in job_ids]

    def counts(self) -> list[int]:
        """Jobs per status code (index = status)."""
        return list(self._counts)

    def statuses(self) -> list[int]:
        return list(self._status)

    def dependents_of(self, job_id: int) -> list[int]:
        i = self.index(job_id)
        return [self._ids[d] for d in self._dep[self._dep_off[i] : self._dep_off[i + 1]]]

    # -- cycles and order --------------------------------------------------
    def find_cycle(self) -> list[int]:
        """Job ids on one dependency cycle, each waiting for the next; [] if none."""
        n = len(self._ids)
        left = self._kahn_leftover()
        if not left:
            return []
        alive = [False] * n
        for i in left:
            alive[i] = True
        blk_off = _offsets(n, self._edge_jobs)
        blk = _scatter(blk_off, self._edge_jobs, self._edge_blockers)
        seen = [-1] * n
        path: list[int] = []
        u = min(left)
        while seen[u] < 0:
            seen[u] = len(path)
            path.append(u)
            nxt = -1
            for b in blk[blk_off[u] : blk_off[u + 1]]:
                if alive[b] and (nxt < 0 or b < nxt):
                    nxt = b
            u = nxt
        return [self._ids[i] for i in path[seen[u] :]]

    def _kahn_leftover(self) -> list[int]:
        order = self._topo_order()
        if len(order) == len(self._ids):
            return []
        done = [False] * len(self._ids)
        for i in order:
            done[i] = True
        return [i for i in range(len(self._ids)) if not done[i]]

    def _topo_order(self) -> list[int]:
        n = len(self._ids)
        indeg = [0] * n
        for j in self._edge_jobs:
            indeg[j] += 1
        queue = deque(i for i in range(n) if indeg[i] == 0)
        order = []
        while queue:
            u = queue.popleft()
            order.append(u)
            for d in self._dep[self._dep_off[u] : self._dep_off[u + 1]]:
                indeg[d] -= 1
                if indeg[d] == 0:
                    queue.append(d)
        return order

    # -- state changes -------------------------------------------------------
    def _set(self, i: int, new: int) -> None:
        old = self._status[i]
        if old == new:
            return
        self._counts[old] -= 1
        self._counts[new] += 1
        self._status[i] = new
        d_rem = (old in _DONE) - (new in _DONE)
        d_bad = (new in _BAD) - (old in _BAD)
        if d_rem or d_bad:
            for d in self._dep[self._dep_off[i] : self._dep_off[i + 1]]:
                self._remaining[d] += d_rem
                self._bad[d] += d_bad

    def _resolve(self, i: int) -> int:
        return CANCELED if self._bad[i] > 0 and self._cancel[i] else READY

    def set_statuses(self, job_ids: Iterable[int], statuses: Iterable[int]) -> None:
        """Record status changes made elsewhere (claims, starts, resets); no cascade."""
        for job_id, s in zip(job_ids, statuses):
            if not 0 <= s < NUM_STATUSES:
                raise ValueError(f"invalid status {s}")
            self._set(self.index(job_id), int(s))

    def initialize(self, only_uninitialized: bool) -> tuple[list[int], list[int]]:
        """Torc's initialize_jobs over the graph; returns (changed ids, new statuses).

        With only_uninitialized, every job downstream of an uninitialized job is
        first returned to uninitialized (disabled jobs excepted). Then, in
        topological order, each re-evaluated job with a blocker not done
        becomes BLOCKED and one with every blocker done is resolved (READY, or
        CANCELED when a blocker is bad and its cancel flag is set). Without
        only_uninitialized, a completed job behind an unfinished blocker also
        becomes BLOCKED, as in torc. Raises ValueError on a cycle.
        """
        order = self._topo_order()
        n = len(self._ids)
        if len(order) != n:
            raise ValueError("dependency cycle")
        before = list(self._status)
        if only_uninitialized:
            seen = [False] * n
            stack = [i for i in range(n) if self._status[i] == UNINITIALIZED]
            for i in stack:
                seen[i] = True
            while stack:
                u = stack.pop()
                for d in self._dep[self._dep_off[u] : self._dep_off[u + 1]]:
                    if not seen[d]:
                        seen[d] = True
                        stack.append(d)
            for i in range(n):
                if seen[i] and self._status[i] != DISABLED:
                    self._set(i, UNINITIALIZED)
        for i in order:
            s = self._status[i]
            if s == DISABLED:
                continue
            if self._remaining[i] > 0:
                if s in _REEVALUATED or s == READY or not only_uninitialized:
                    self._set(i, BLOCKED)
            elif s in _REEVALUATED:
                self._set(i, self._resolve(i))
        ids, new = [], []
        for i in range(n):
            if self._status[i] != before[i]:
                ids.append(self._ids[i])
                new.append(self._status[i])
        return ids, new

    def complete(self, job_ids: Iterable[int], statuses: Iterable[int]) -> tuple[list[int], list[int]]:
        """Apply a batch of completions and cascade; returns (ready ids, canceled ids).

        Every completion of the batch is applied first, then blocked dependents
        whose blockers are all done are resolved, transitively through jobs the
        cascade cancels. Both lists are ascending.
        """
        stack = []
        for job_id, s in zip(job_ids, statuses):
            if s not in _DONE:
                raise ValueError(f"status {s} is not a completion")
            i = self.index(job_id)
            self._set(i, int(s))
            stack.append(i)
        ready, canceled = [], []
        while stack:
            u = stack.pop()
            for d in self._dep[self._dep_off[u] : self._dep_off[u + 1]]:
                if self._status[d] == BLOCKED and self._remaining[d] == 0:
                    new = self._resolve(d)
                    self._set(d, new)
                    if new == CANCELED:
                        canceled.append(d)
                        stack.append(d)
                    else:
                        ready.append(d)
        return sorted(self._ids[i] for i in ready), sorted(self._ids[i] for i in canceled)


def _offsets(n: int, keys: Sequence[int]) -> list[int]:
    off = [0] * (n + 1)
    for k in keys:
        off[k + 1] += 1
    for i in range(n):
        off[i + 1] += off[i]
    return off


def _scatter(off: Sequence[int], keys: Sequence[int], values: Sequence[int]) -> list[int]:
    pos = list(off[:-1])
    out = [0] * len(keys)
    for k, v in zip(keys, values):
        out[pos[k]] = v
        pos[k] += 1
    return out


# ======================================================================= ready index

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
