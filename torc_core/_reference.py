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

from bisect import bisect_left
from collections import deque
from typing import Iterable, Sequence

from .models import BAD_BLOCKER_STATUSES, DONE_STATUSES, JobStatus

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


# The ready index twin lives in its own module (one twin per kernel).
from ._reference_ready import ReadyIndex  # noqa: E402

__all__ = ["Graph", "ReadyIndex"]
