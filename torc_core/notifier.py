"""Fan-out to stream subscribers: "jobs became ready" and committed events.

The engine publishes here after each commit, under its write lock; serving
threads block on their own subscription. Publishing never blocks on a
subscriber and never wakes more threads than it must (docs/streams.md:
waking a thread costs ~0.17 ms of GIL at 2,000 streams):

* Coalescing: a subscription keeps a list of pending items and a queue of
  wake tokens; a token is put only when the list goes from empty to not
  empty, so a subscriber that is behind takes everything pending in one
  wake-up, and ids go out in chunks of CHUNK per message.
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

import enum
import math
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional, Sequence

from .errors import ResourceExhausted
from .models import Event
from .resources import Capacity
from .store import ReadyRow

#: Job ids per WatchReadyJobs message.
CHUNK = 4096
#: How long a serving thread blocks per wait; a wake-up costs nothing else.
WAIT_SECONDS = 60.0


class End(enum.Enum):
    """Why a subscription ended."""

    COMPLETE = "workflow complete"
    CANCELED = "workflow canceled"
    DELETED = "workflow deleted"
    OVERFLOW = "subscriber too slow"
    REPLACED = "replaced by a newer subscription of the same compute node"
    SHUTDOWN = "server shutting down"
    DISCONNECTED = "subscriber disconnected"


@dataclass(frozen=True)
class ReadyMessage:
    job_ids: tuple[int, ...] = ()
    workflow_complete: bool = False
    workflow_canceled: bool = False


@dataclass
class Shape:
    """What a waiting node can still take: free resources and claim limit."""

    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    #: Seconds left; 0 = unbounded.
    time_limit_seconds: float
    label: str = ""
    #: Jobs per claim; 0 = no limit.
    limit: int = 0

    def absorb(self, demand: dict[tuple, list[int]]) -> list[int]:
        """Take the ids of `demand` this node could run (removed from demand).

        demand maps (label, cpus, memory, gpus, nodes, runtime) to job ids.
        A heuristic of the claim's packing with the same resource rule
        (torc_core.resources); the claim itself decides.
        """
        free = Capacity(self.num_cpus, self.memory_bytes, self.num_gpus, max(1, self.num_nodes))
        taken: list[int] = []
        for key, ids in demand.items():
            label, cpus, mem, gpus, nodes, runtime = key
            if not ids or label != self.label:
                continue
            if self.time_limit_seconds > 0 and runtime > self.time_limit_seconds:
                continue
            need = Capacity(cpus, mem, gpus, nodes)
            at_most = min(len(ids), self.limit - len(taken)) if self.limit else len(ids)
            room = free.room_for(need, at_most)
            if room <= 0:
                continue
            taken += ids[-room:]
            del ids[-room:]
            free = free.minus(need, room)
            if self.limit and len(taken) >= self.limit:
                break
        return taken


class Subscription:
    """One subscriber: pending items, wake tokens, and how it ended.

    The serving thread iterates `batches()`; publishers call `_offer` and
    `_finish`. `on_abort` (set by the serving layer) is called, outside every
    lock, when the subscription is ended from outside (overflow, replaced,
    deleted, shutdown) so that a thread blocked in a send is released too.
    """

    def __init__(self, notifier: "Notifier", workflow_id: int, backlog: int) -> None:
        self.notifier = notifier
        self.workflow_id = workflow_id
        self.backlog = backlog
        self.end: Optional[End] = None
        self.end_message = ""
        self.on_abort: Optional[Callable[["Subscription"], None]] = None
        self._wake: "queue.SimpleQueue[None]" = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: list = []
        self._signaled = False
        self._aborted = False
        #: Counted in the notifier's open streams until close().
        self._registered = True

    def _size(self, pending: list) -> int:
        return len(pending)

    def _signal_locked(self) -> None:
        if not self._signaled:
            self._signaled = True
            self._wake.put(None)

    def _offer(self, items: Sequence) -> bool:
        """Queue items; False when this overflowed the backlog (then ended)."""
        with self._lock:
            if self.end is not None:
                return True
            self._pending.extend(items)
            if self._size(self._pending) > self.backlog:
                self._pending = []
                self.end = End.OVERFLOW
                self.end_message = (
                    f"subscriber fell more than {self.backlog} messages behind "
                    f"(workflow {self.workflow_id}); reconnect and read faster"
                )
            self._signal_locked()
            return self.end is not End.OVERFLOW

    def _finish(self, end: End, message: str = "") -> bool:
        """End the subscription (pending items are still delivered); False if already ended."""
        with self._lock:
            if self.end is not None:
                return False
            self.end = end
            self.end_message = message or end.value
            self._signal_locked()
            return True

    def _abort_hook(self) -> None:
        hook = self.on_abort
        if hook is not None and not self._aborted:
            self._aborted = True
            hook(self)

    def take(self, timeout: float = WAIT_SECONDS) -> tuple[list, Optional[End]]:
        """Block until something is pending or the subscription ended."""
        try:
            self._wake.get(timeout=timeout)
        except queue.Empty:
            return [], None
        with self._lock:
            items, self._pending = self._pending, []
            self._signaled = False
            return items, self.end

    def close(self) -> None:
        """The subscriber is gone (disconnect or normal end): free everything."""
        self._finish(End.DISCONNECTED)
        self.notifier._unregister(self)


class ReadySubscription(Subscription):
    """WatchReadyJobs: pending job ids, then a final complete/canceled flag."""

    def __init__(self, notifier, workflow_id, backlog, compute_node_id: int = 0) -> None:
        super().__init__(notifier, workflow_id, backlog)
        self.compute_node_id = compute_node_id
        #: Free resources while the node waits for work; None while it is busy.
        self.shape: Optional[Shape] = None

    def _size(self, pending: list) -> int:
        return math.ceil(len(pending) / CHUNK)

    def messages(self, wait: float = WAIT_SECONDS) -> Iterator[ReadyMessage]:
        """Messages until the stream should end; then `end` says why.

        The first message acknowledges the subscription: it carries the
        snapshot (observers), or is empty, or is already the final one.
        """
        first = True
        while True:
            ids, end = self.take(wait)
            if first and not ids and end is None:
                yield ReadyMessage()
            first = False
            for start in range(0, len(ids), CHUNK):
                yield ReadyMessage(tuple(ids[start:start + CHUNK]))
            if end is End.COMPLETE:
                yield ReadyMessage(workflow_complete=True)
            elif end is End.CANCELED:
                yield ReadyMessage(workflow_canceled=True)
            if end is not None:
                return


class EventSubscription(Subscription):
    """WatchEvents: committed events at or above a severity, in id order."""

    def __init__(self, notifier, workflow_id, backlog, min_severity: int) -> None:
        super().__init__(notifier, workflow_id, backlog)
        self.min_severity = min_severity
        #: Events with id <= this were replayed from the database already.
        self.replayed_through = 0

    def events(self, wait: float = WAIT_SECONDS) -> Iterator[Event]:
        while True:
            events, end = self.take(wait)
            for event in events:
                if event.id > self.replayed_through:
                    yield event
            if end is not None:
                return


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
        self._closed = False
        #: Worker streams told about new jobs (for tests and metrics).
        self.worker_wakeups = 0

    def configure(self, max_streams: int, backlog: int) -> None:
        """Set the limits (for subscriptions made from now on)."""
        if max_streams < 1 or backlog < 1:
            raise ValueError("max_streams and stream backlog must be >= 1")
        self.max_streams = max_streams
        self.backlog = backlog

    # ------------------------------------------------------------ registry
    @property
    def open_streams(self) -> int:
        return self._count

    def _admit_locked(self, workflow_id: int) -> _Workflow:
        if self._closed:
            raise ResourceExhausted("the server is shutting down")
        if self._count >= self.max_streams:
            raise ResourceExhausted(
                f"stream limit reached: {self.max_streams} subscriptions are open "
                "(server option --max-streams); retry later"
            )
        self._count += 1
        return self._workflows.setdefault(workflow_id, _Workflow())

    def subscribe_ready(
        self, workflow_id: int, snapshot: Sequence[int], compute_node_id: int = 0,
        shape: Optional[Shape] = None, end: Optional[End] = None,
    ) -> ReadySubscription:
        """Register a WatchReadyJobs subscriber (caller holds the engine's write lock).

        The first message carries `snapshot` (may be empty); a worker starts
        out waiting with `shape`. `end` set: the workflow already ended.
        """
        sub = ReadySubscription(self, workflow_id, self.backlog, compute_node_id)
        replaced = None
        with self._lock:
            wf = self._admit_locked(workflow_id)
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

    def subscribe_events(self, workflow_id: int, min_severity: int) -> EventSubscription:
        sub = EventSubscription(self, workflow_id, self.backlog, min_severity)
        with self._lock:
            self._admit_locked(workflow_id).events.add(sub)
        return sub

    def _unregister(self, sub: Subscription) -> None:
        with self._lock:
            if not sub._registered:
                return
            sub._registered = False
            self._count -= 1
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
