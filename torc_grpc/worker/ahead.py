"""Claim-ahead: while jobs are short, the worker claims more than fits now, so
that a slot that frees up is refilled at once instead of after a call.

The server packs each extra round against the node's whole registered
capacity (a job claimed ahead always fits the node) and leaves those jobs
PENDING for this node. The worker keeps them here in claim order, starts each
as soon as it fits, and its next call reports the start (`started`: RUNNING,
job_started), so statuses stay true.

How much: about HORIZON_SECONDS of work at the recent jobs' average length
(at most `rounds` node-fulls). Jobs longer than that on average are not
claimed ahead at all: a call's round trip (milliseconds) is then noise, and a
job waiting here would hold work another node could run. So a job claimed
ahead waits about HORIZON_SECONDS at most.

Measured on 2 cores with 5,000 `sh -c true` jobs (A/B in one run): 535 -> 980-1,100
jobs/s, the claims in flight while the queue feeds the slots.
"""

from __future__ import annotations

from collections import deque
from typing import Sequence

from torc_core.resources import Capacity

from .processes import job_need

#: Claim ahead about this many seconds of work (and nothing for longer jobs).
HORIZON_SECONDS = 0.1
#: How many recent jobs the average is over (half of them must have ended).
RECENT = 16


class ClaimAhead:
    """The jobs claimed ahead and the policy for claiming more."""

    def __init__(self, rounds: int, capacity: Capacity) -> None:
        #: Most node-fulls claimed ahead (0 = never claim ahead).
        self.rounds = rounds
        self.capacity = capacity
        #: Claimed PENDING for this node, not started yet, in claim order.
        self.queue: list = []
        self._recent: deque[float] = deque(maxlen=RECENT)

    def ended(self, seconds: float) -> None:
        """A job ran this long."""
        self._recent.append(seconds)

    def depth(self) -> int:
        """Node-fulls worth holding: HORIZON_SECONDS of work at the recent average
        (0 while too few jobs have ended to tell)."""
        recent = self._recent
        if not self.rounds or len(recent) < RECENT // 2:
            return 0
        mean = sum(recent) / len(recent)
        return self.rounds if mean <= 0 else min(self.rounds, int(HORIZON_SECONDS / mean + 1e-9))

    def wanted(self) -> int:
        """Rounds to ask the next claim for (0 = only what fits now)."""
        slots = max(1, self.capacity.num_cpus)
        room = self.depth() * slots - len(self.queue)
        return max(0, -(-room // slots))

    def add(self, jobs: Sequence) -> None:
        self.queue.extend(jobs)

    def take_fitting(self, free: Capacity, most: int = 0) -> list:
        """Remove and return the queued jobs that fit `free`, first fit in claim
        order (at most `most` of them; 0 = no limit)."""
        taken, kept = [], []
        for job in self.queue:
            need = job_need(job)
            if free.fits(need) and not (most and len(taken) >= most):
                free = free.minus(need)
                taken.append(job)
            else:
                kept.append(job)
        self.queue = kept
        return taken

    def ids(self) -> set[int]:
        return {job.id for job in self.queue}
