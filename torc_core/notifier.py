"""Fan-out to stream subscribers: "jobs became ready" and committed events.

The engine publishes here after each commit, under its write lock; serving
threads block on their own subscription. Publishing never blocks on a
subscriber and never wakes more threads than it must (docs/streams.md:
waking a thread costs ~0.17 ms of GIL at 2,000 streams):

* Coalescing (subscriptions.py): a subscriber that is behind takes
  everything pending in one wake-up.
* Targeting: a worker subscription (a compute node) is told only while its
  node waits for work (it just subscribed, or its last claim came back
  short). Each batch of newly ready jobs is offered, in the order the nodes
  started waiting, to as many waiting nodes as its jobs can feed, judged by
  the free resources each node claimed with; a node that is told leaves the
  waiting set until its next short claim. The scan per batch is bounded by
  the batch size, so its cost follows the ready jobs, not the workers.
* Bounded backlog: a subscription holding more than `backlog` undelivered
  messages ends with End.OVERFLOW; its abort hook runs at once, so a stream
  whose client stopped reading is ended even while its thread is blocked in
  a send.

No grpc here: the serving layer turns End values into status codes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Optional, Sequence

from .errors import ResourceExhausted
from .models import Event
from .store import ReadyRow
from .subscriptions import (
    CHUNK,
    End,
    EventSubscription,
    ReadyMessage,
    ReadySubscription,
    Shape,
    Subscription,
)

__all__ = [
    "CHUNK", "End", "EventSubscription", "Notifier", "ReadyMessage", "ReadySubscription", "Shape",
    "Subscription",
]


@dataclass
class _Workflow:
    observers: set = field(default_factory=set)
    workers: dict = field(default_factory=dict)  # node id -> ReadySubscription
    waiting: "OrderedDict[int, ReadySubscription]" = field(default_factory=OrderedDict)
    events: set = field(default_factory=set)

    def empty(self) -> bool:
        return not (self.observers or self.workers or self.events)


class Notifier:
    """Registry of stream subscriptions and the publishing side.

    Args:
        max_streams: Open subscriptions allowed at once; one more is refused
            with ResourceExhausted.
        backlog: Undelivered messages a subscriber may hold before it is ended.
    """

    def __init__(self, max_streams: int = 2000, backlog: int = 50_000) -> None:
        self.configure(max_streams, backlog)
        self._lock = threading.Lock()
        self._workflows: dict[int, _Workflow] = {}
        self._count = 0
        #: Open subscriptions per owner (the user whose credentials opened them).
        self._by_owner: dict[str, int] = {}
        self._closed = False
        #: Worker streams told about new jobs (for tests and metrics).
        self.worker_wakeups = 0

    def configure(self, max_streams: int, backlog: int, per_owner: int = 0) -> None:
        """Set the limits (for subscriptions made from now on); per_owner
        caps one owner's open subscriptions (0 = max_streams)."""
        if max_streams < 1 or backlog < 1 or per_owner < 0:
            raise ValueError("max_streams and stream backlog must be >= 1")
        self.max_streams = max_streams
        self.backlog = backlog
        self.per_owner = per_owner or max_streams

    # ------------------------------------------------------------ registry
    @property
    def open_streams(self) -> int:
        return self._count

    def _admit_locked(self, workflow_id: int, owner: str) -> _Workflow:
        if self._closed:
            raise ResourceExhausted("the server is shutting down")
        if self._count >= self.max_streams:
            raise ResourceExhausted(
                f"stream limit reached: {self.max_streams} subscriptions are open "
                "(server option --max-streams); retry later"
            )
        if owner and self._by_owner.get(owner, 0) >= self.per_owner:
            raise ResourceExhausted(
                f"{owner} holds {self.per_owner} streams, the most one user may hold "
                "(server option --max-streams-per-user); close some and retry"
            )
        if owner:
            self._by_owner[owner] = self._by_owner.get(owner, 0) + 1
        self._count += 1
        return self._workflows.setdefault(workflow_id, _Workflow())

    def subscribe_ready(
        self, workflow_id: int, snapshot: Sequence[int], compute_node_id: int = 0,
        shape: Optional[Shape] = None, end: Optional[End] = None, owner: str = "",
    ) -> ReadySubscription:
        """Register a WatchReadyJobs subscriber (caller holds the engine's write lock).

        The first message carries `snapshot` (may be empty); a worker starts
        out waiting with `shape`. `end` set: the workflow already ended.
        """
        sub = ReadySubscription(self, workflow_id, self.backlog, compute_node_id)
        sub.owner = owner
        replaced = None
        with self._lock:
            wf = self._admit_locked(workflow_id, owner)
            sub._pending = list(snapshot)
            sub._signal_locked()
            if end is not None:
                sub._finish(end)
            elif compute_node_id:
                replaced = wf.workers.pop(compute_node_id, None)
                if replaced is not None:
                    wf.waiting.pop(compute_node_id, None)
                wf.workers[compute_node_id] = sub
                if shape is not None:
                    sub.shape = shape
                    wf.waiting[compute_node_id] = sub
            else:
                wf.observers.add(sub)
        if replaced is not None and replaced._finish(End.REPLACED):
            replaced._abort_hook()
        return sub

    def subscribe_events(self, workflow_id: int, min_severity: int, owner: str = "") -> EventSubscription:
        sub = EventSubscription(self, workflow_id, self.backlog, min_severity)
        sub.owner = owner
        with self._lock:
            self._admit_locked(workflow_id, owner).events.add(sub)
        return sub

    def _unregister(self, sub: Subscription) -> None:
        with self._lock:
            if not sub._registered:
                return
            sub._registered = False
            self._count -= 1
            if sub.owner:
                left = self._by_owner.get(sub.owner, 1) - 1
                if left > 0:
                    self._by_owner[sub.owner] = left
                else:
                    self._by_owner.pop(sub.owner, None)
            wf = self._workflows.get(sub.workflow_id)
            if wf is None:
                return
            if isinstance(sub, EventSubscription):
                wf.events.discard(sub)
            elif not sub.compute_node_id:
                wf.observers.discard(sub)
            elif wf.workers.get(sub.compute_node_id) is sub:
                del wf.workers[sub.compute_node_id]
                wf.waiting.pop(sub.compute_node_id, None)
            if wf.empty():
                del self._workflows[sub.workflow_id]

    def watching_events(self, workflow_id: int) -> bool:
        wf = self._workflows.get(workflow_id)
        return wf is not None and bool(wf.events)

    # ------------------------------------------------------------ publishing
    def node_claimed(self, workflow_id: int, node_id: int, shape: Optional[Shape]) -> None:
        """A node's claim: `shape` = what it can still take when it came back short, else None."""
        if not node_id:
            return
        with self._lock:
            wf = self._workflows.get(workflow_id)
            sub = wf.workers.get(node_id) if wf is not None else None
            if sub is None:
                return
            sub.shape = shape
            wf.waiting.pop(node_id, None)
            if shape is not None:
                wf.waiting[node_id] = sub  # to the back: waits the shortest

    def publish_ready(self, workflow_id: int, rows: Sequence[ReadyRow]) -> None:
        """Jobs became ready (their claim classes)."""
        if not rows:
            return
        overflowed = []
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is None:
                return
            if wf.observers:
                ids = [r.job_id for r in rows]
                overflowed += [s for s in wf.observers if not s._offer(ids)]
            if wf.waiting:
                overflowed += self._offer_to_waiting_locked(wf, rows)
        for sub in overflowed:
            sub._abort_hook()

    def _offer_to_waiting_locked(self, wf: _Workflow, rows: Sequence[ReadyRow]) -> list:
        demand: dict[tuple, list[int]] = {}
        for r in rows:
            key = (r.label, r.num_cpus, r.memory_bytes, r.num_gpus, r.num_nodes, r.runtime_s)
            demand.setdefault(key, []).append(r.job_id)
        left = len(rows)
        budget = max(64, 4 * left)  # nodes examined per batch: follows the batch, not the workers
        told, passed = [], []
        for node_id, sub in list(wf.waiting.items()):
            if left == 0 or budget == 0:
                break
            budget -= 1
            taken = sub.shape.absorb(demand) if sub.shape is not None else []
            if taken:
                told.append((node_id, sub, taken))
                left -= len(taken)
            else:
                passed.append(node_id)
        overflowed = []
        for node_id, sub, taken in told:
            del wf.waiting[node_id]
            sub.shape = None
            self.worker_wakeups += 1
            if not sub._offer(taken):
                overflowed.append(sub)
        for node_id in passed:  # examined and could not help: let others be examined first next time
            wf.waiting.move_to_end(node_id)
        return overflowed

    def publish_events(self, events: Sequence[Event]) -> None:
        """Committed events, in id order."""
        overflowed = []
        with self._lock:
            by_wf: dict[int, list[Event]] = {}
            for event in events:
                by_wf.setdefault(event.workflow_id, []).append(event)
            for workflow_id, items in by_wf.items():
                wf = self._workflows.get(workflow_id)
                if wf is None:
                    continue
                for sub in wf.events:
                    mine = [e for e in items if e.severity >= sub.min_severity]
                    if mine and not sub._offer(mine):
                        overflowed.append(sub)
        for sub in overflowed:
            sub._abort_hook()

    def end_workflow(self, workflow_id: int, end: End) -> None:
        """The workflow completed, was canceled or deleted: end its ready streams
        (and, when deleted, its event streams too)."""
        ended = []
        with self._lock:
            wf = self._workflows.get(workflow_id)
            if wf is None:
                return
            subs = list(wf.observers) + list(wf.workers.values())
            if end is End.DELETED:
                subs += list(wf.events)
            for sub in subs:
                if sub._finish(end):
                    ended.append(sub)
            wf.waiting.clear()
        if end is End.DELETED:
            for sub in ended:
                sub._abort_hook()

    def close(self) -> None:
        """Shutdown: end every subscription and refuse new ones."""
        with self._lock:
            self._closed = True
            subs = [s for wf in self._workflows.values()
                    for s in (*wf.observers, *wf.workers.values(), *wf.events)]
        for sub in subs:
            if sub._finish(End.SHUTDOWN):
                sub._abort_hook()
