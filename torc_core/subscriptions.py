"""Stream subscriptions: what a serving thread blocks on, and the shape of a
worker waiting for work. The Notifier (notifier.py) registers them and
publishes into them; the serving layer turns End values into status codes.

Coalescing: a subscription keeps a list of pending items and a queue of wake
tokens; a token is put only when the list goes from empty to not empty, so a
subscriber that is behind takes everything pending in one wake-up, and ids go
out in chunks of CHUNK per message. Bounded backlog: a subscription holding
more than `backlog` undelivered messages ends with End.OVERFLOW.
"""

from __future__ import annotations

import enum
import math
import queue
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator, Optional, Sequence

from .models import Event
from .resources import Capacity

if TYPE_CHECKING:
    from .notifier import Notifier

#: Job ids per WatchReadyJobs message.
CHUNK = 4096
#: How long a serving thread blocks per wait; a wake-up costs nothing else.
WAIT_SECONDS = 60.0
#: WatchWorkflowStatus: least and default seconds between two answers, and the most.
STATUS_INTERVALS = (0.05, 0.25, 60.0)


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
        #: Whose credentials opened it ("" without authentication): per-user quotas.
        self.owner = ""

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
