"""Streams: WatchReadyJobs and WatchEvents subscriptions (torc_core.notifier
does the fan-out; this module registers subscribers consistently with the
committed state, under the write lock)."""

from __future__ import annotations

from typing import Iterator, Optional

from .. import store
from ..errors import InvalidArgument
from ..models import Event, Severity
from ..notifier import End, EventSubscription, ReadySubscription, Shape
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
