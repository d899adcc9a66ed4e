"""Streams: WatchReadyJobs and WatchEvents subscriptions (torc_core.notifier
does the fan-out; this module registers subscribers consistently with the
committed state, under the write lock)."""

from __future__ import annotations

import time
from typing import Callable, Iterator, Optional

from .. import store
from ..errors import InvalidArgument
from ..models import Event, Severity, WorkflowStatus
from ..notifier import End, EventSubscription, ReadySubscription, Shape
from ..subscriptions import STATUS_INTERVALS, WAIT_SECONDS
from .core import EngineCore

#: Stored events read per page while replaying.
_REPLAY_PAGE = 1000


class Streams:
    """Subscriptions (see module docstring)."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core

    def watch_ready(self, workflow_id: int, compute_node_id: int = 0, owner: str = "") -> ReadySubscription:
        """Subscribe to a workflow's newly ready jobs.

        An observer's first message carries the jobs ready now; a worker's
        first message is empty, and the node counts as waiting for work with
        its registered resources until its first claim says otherwise.

        Raises:
            NotFound: Unknown workflow or compute node.
            InvalidArgument: The node belongs to another workflow.
            InvalidTransition: The node's lease expired.
            ResourceExhausted: The stream limit (or `owner`'s share of it) is reached.
        """
        core = self._core
        with core.write_lock:
            wf = core.workflow(core.writer, workflow_id)
            shape = None
            if core.active_node(core.writer, compute_node_id, workflow_id):
                r = store.compute_node_resources(core.writer, compute_node_id)
                if r is not None:
                    shape = Shape(r.num_cpus, r.memory_bytes, r.num_gpus, r.num_nodes,
                                  r.time_limit_seconds)
            state = core.state_locked(workflow_id)
            end = End.CANCELED if wf.is_canceled else End.COMPLETE if state.is_complete() else None
            snapshot = [] if compute_node_id or end else store.ready_job_ids(core.writer, workflow_id)
            return core.notifier.subscribe_ready(workflow_id, snapshot, compute_node_id, shape, end,
                                                 owner=owner)

    def watch_events(
        self, workflow_id: int, min_severity: int = Severity.INFO, replay_after: Optional[int] = None,
        owner: str = "",
    ) -> tuple[EventSubscription, Iterator[Event]]:
        """Follow a workflow's events: stored ones with id > replay_after first
        (when given), then live ones as they commit, each exactly once, in id
        order. Returns the subscription (close it when done) and the events.
        An unset severity means INFO.

        Raises:
            NotFound: Unknown workflow.
            ResourceExhausted: The stream limit is reached.
        """
        core = self._core
        if replay_after is not None and replay_after < 0:
            raise InvalidArgument(f"replay_after must be >= 0, not {replay_after}")
        min_severity = min_severity or Severity.INFO
        with core.write_lock:  # no commit can fall between the replay and the live part
            core.workflow(core.writer, workflow_id)
            sub = core.notifier.subscribe_events(workflow_id, int(min_severity), owner=owner)
        if replay_after is None:
            return sub, sub.events()
        sub.replayed_through = replay_after
        return sub, self._replay_then_live(sub, replay_after)

    @store.busy_as_store_busy
    def _replay_page(self, workflow_id: int, after: int, min_severity: int) -> list[Event]:
        return store.list_events(self._core.reader(), workflow_id, after, min_severity, _REPLAY_PAGE)

    def _replay_then_live(self, sub: EventSubscription, after: int) -> Iterator[Event]:
        while True:
            page = self._replay_page(sub.workflow_id, after, sub.min_severity)
            if not page:
                break
            yield from page
            after = sub.replayed_through = page[-1].id
        yield from sub.events()

    def watch_status(self, workflow_id: int, status: Callable[[int], WorkflowStatus], interval: float = 0.0,
                     owner: str = "") -> tuple[EventSubscription, Iterator[WorkflowStatus]]:
        """The workflow's status now, then again each time it changes, at most
        once per `interval` seconds (0 = the default), until it is complete or
        canceled. Driven by its events (any severity): after one, the counts
        are read every interval until they stop changing (the unblocker's
        batches and claims carry no event of their own), then the stream sleeps
        until the next event. Returns the subscription (close it) and the statuses.

        Raises:
            NotFound: Unknown workflow.
            InvalidArgument: interval out of range.
            ResourceExhausted: The stream limit is reached.
        """
        least, default, most = STATUS_INTERVALS
        if interval and not least <= interval <= most:
            raise InvalidArgument(f"min_interval_seconds: {interval} is not between {least} and {most}",
                                  field="min_interval_seconds")
        core = self._core
        with core.write_lock:
            core.workflow(core.writer, workflow_id)
            sub = core.notifier.subscribe_events(workflow_id, int(Severity.DEBUG), owner=owner)
        return sub, self._statuses(sub, lambda: status(workflow_id), interval or default)

    @staticmethod
    def _statuses(sub: EventSubscription, read: Callable[[], WorkflowStatus],
                  interval: float) -> Iterator[WorkflowStatus]:
        def shown(s: WorkflowStatus) -> tuple:
            return s.run_id, s.is_canceled, s.is_complete, s.counts

        current = read()
        yield current
        sent_at, following = time.monotonic(), False
        while not current.is_complete:
            events, end = sub.take(interval if following else WAIT_SECONDS)
            if end is not None:
                return
            if not events and not following:
                continue  # a quiet minute: nothing changed
            pause = sent_at + interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # the rate limit (at most `interval`, then the next read)
            latest = read()
            following = shown(latest) != shown(current)
            if following:
                current, sent_at = latest, time.monotonic()
                yield current
