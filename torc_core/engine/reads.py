"""Reads: workflows, jobs, results, events, status counts and server facts.

Every read runs on the calling thread's reader connection (a WAL snapshot of
the last commit) and never waits for the write lock, except the first status
of a workflow whose in-memory state was not built yet.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable, Optional, Sequence

from .. import dag, kernels, store
from ..errors import InvalidArgument, InvalidTransition, NotFound
from ..models import (
    DONE_STATUSES,
    Event,
    Job,
    OperatorStats,
    Page,
    ResourceMonitor,
    StorageFacts,
    Workflow,
    WorkflowStatus,
)
from .core import EngineCore, page_limit


class Reads:
    """Read-only calls."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core
        self._pictures = _PictureCache()

    def get_workflow(self, workflow_id: int) -> Workflow:
        return self._core.workflow(self._core.reader(), workflow_id)

    def list_workflows(self, user: str = "", after_id: int = 0, limit: int = 0,
                       visible_to: Optional[str] = None) -> Page:
        """Workflows by id; `visible_to` keeps those that user owns or shares a group of."""
        limit = page_limit(limit, 100)
        rows = store.list_workflows(self._core.reader(), user, after_id, limit, visible_to)
        return Page.of(rows, limit)

    def get_workflow_status(self, workflow_id: int) -> WorkflowStatus:
        """Run id, flags, job counts by status (from the in-memory graph) and
        the newest event id (read before the counts, so a watcher that replays
        from it sees every later change)."""
        core = self._core
        reader = core.reader()
        wf = core.workflow(reader, workflow_id)
        last_event = store.last_event_id(reader, workflow_id)
        state = core.states.get(workflow_id)
        if state is None:
            with core.write_lock:
                core.workflow(core.writer, workflow_id)
                state = core.state_locked(workflow_id)
        counts = tuple(state.graph.counts())
        not_done = sum(n for s, n in enumerate(counts) if s not in DONE_STATUSES)
        return WorkflowStatus(
            run_id=wf.run_id,
            is_canceled=wf.is_canceled,
            is_complete=wf.is_canceled or not_done == 0,
            counts=counts,
            last_event_id=last_event,
        )

    def get_job(self, job_id: int) -> Job:
        job = store.get_job(self._core.reader(), job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return job

    def job_brief(self, job_id: int) -> Job:
        """A job without its relationship id lists: one query (the answer of
        StartJob and RetryJob; GetJob gives the lists)."""
        job = store.jobs_by_ids(self._core.reader(), [job_id]).get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return job

    def list_jobs(
        self, workflow_id: int, statuses: Sequence[int] = (), after_id: int = 0, limit: int = 0
    ) -> Page:
        limit = page_limit(limit, 1000)
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return Page.of(store.list_jobs(conn, workflow_id, sorted(set(statuses)), after_id, limit), limit)

    def list_events(
        self, workflow_id: int, after: int = 0, limit: int = 0, min_severity: int = 0
    ) -> Page:
        limit = page_limit(limit, 1000)
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        events: list[Event] = store.list_events(conn, workflow_id, after, min_severity, limit)
        return Page.of(events, limit)

    def list_results(self, workflow_id: int, all_runs: bool = False, job_id: int = 0,
                     statuses: Sequence[int] = (), after_id: int = 0, limit: int = 0) -> Page:
        """Results of the current run (latest per reported job) or of every run."""
        limit = page_limit(limit, 1000)
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        rows = store.list_results(conn, workflow_id, all_runs, job_id, sorted(set(statuses)),
                                  after_id, limit)
        return Page.of(rows, limit)

    def list_compute_nodes(self, workflow_id: int, active_only: bool = False, after_id: int = 0,
                           limit: int = 0) -> Page:
        """The workflow's compute nodes by id, with the jobs each holds."""
        limit = page_limit(limit, 1000)
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return Page.of(store.list_compute_nodes(conn, workflow_id, active_only, after_id, limit), limit)

    def workflow_picture(self, workflow_id: int, grouping: int = 0, max_nodes: int = 0) -> dag.Picture:
        """The dependency graph as jobs or groups with counts per status (GetWorkflowGraph)."""
        if not 0 <= max_nodes <= dag.MAX_NODES:
            raise InvalidArgument(f"max_nodes: {max_nodes} is not between 0 and {dag.MAX_NODES}",
                                  field="max_nodes")
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)

        state = self._core.states.get(workflow_id)
        counts = tuple(state.graph.counts()) if state else None
        stamp = (store.last_event_id(conn, workflow_id), counts)

        def draw() -> tuple[dag.Picture, tuple]:
            rows, newest_event = store.picture_rows(conn, workflow_id)
            try:
                picture = dag.picture(rows, dag.Grouping(grouping), max_nodes)
            except dag.TooLarge as exc:
                raise InvalidTransition(str(exc), workflow_id=workflow_id) from None
            # What the drawing shows, from its own snapshot: the unblocker moves the
            # in-memory counts just before it commits, so a stamp read before the
            # drawing could name changes the rows do not have yet.
            if counts is None:
                return picture, (newest_event, None)
            seen = collections.Counter(rows.statuses)
            return picture, (newest_event, tuple(seen.get(s, 0) for s in range(len(counts))))
        return self._pictures.get((workflow_id, grouping, max_nodes), stamp, draw)

    def resource_monitor(self, workflow_id: int) -> ResourceMonitor:
        """What the workflow's workers sample of their jobs (torc's resource_monitor)."""
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return store.resource_monitor(conn, workflow_id)

    def operator_stats(self) -> OperatorStats:
        """What a metrics scrape shows: ready jobs per loaded workflow, open
        streams, active compute nodes, Slurm allocations by state."""
        core = self._core
        conn = core.reader()
        ready = {wf_id: len(state.ready) for wf_id, state in list(core.states.items())}
        return OperatorStats(ready, core.notifier.open_streams, store.count_active_nodes(conn),
                             store.allocation_states(conn))

    def storage_facts(self) -> StorageFacts:
        """Which kernels run and on which SQLite (GetVersion)."""
        return StorageFacts(kernels=kernels.IMPLEMENTATION, sqlite_version=store.sqlite_version(),
                            schema_version=self._core.schema_version)


class _PictureCache:
    """A picture reads every job (about 4 s of server CPU at 1,000,000 jobs), so
    one workflow is drawn by one call at a time, and a call gets the last
    drawing again when nothing changed since (same newest event, same counts)
    or when its drawing started after the call arrived: many callers (dashboards, a
    script in a loop) cost one drawing, not one each."""

    KEPT = 64

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._drawing: dict[int, threading.Lock] = {}
        #: key -> (when its drawing started, the change stamp it shows, picture)
        self._kept: dict[tuple, tuple[float, tuple, dag.Picture]] = {}

    def get(self, key: tuple, stamp: tuple, draw: Callable[[], tuple[dag.Picture, tuple]]) -> dag.Picture:
        """The kept drawing when it shows `stamp` (or was drawn while this call
        waited); else a new one, kept with the stamp draw() says it shows."""
        arrived = time.monotonic()
        with self._lock:
            one = self._drawing.setdefault(key[0], threading.Lock())
        with one:
            with self._lock:
                kept = self._kept.get(key)
            if kept is not None and (kept[1] == stamp or kept[0] >= arrived):
                return kept[2]
            started = time.monotonic()  # its snapshot is taken after this: newer than any call before
            picture, shown = draw()
            with self._lock:
                self._kept.pop(key, None)
                self._kept[key] = (started, shown, picture)
                while len(self._kept) > self.KEPT:
                    self._kept.pop(next(iter(self._kept)))
            return picture
