"""The consistency owner: transactions, the write lock, in-memory graphs.

Concurrency contract:
* Every write runs under one process-wide write lock, inside one
  ``BEGIN IMMEDIATE`` transaction on the writer connection; a state change is
  all or nothing. SQLite allows one writer anyway; taking the lock in Python
  first means no writer ever spins on SQLITE_BUSY inside this process.
* Reads use one connection per thread and see the last committed state
  (WAL snapshots); they never wait for the write lock.
* Per workflow the engine keeps a Graph (torc_core.kernels) that mirrors the
  job statuses and dependency counters. It is derived from the database,
  built lazily under the write lock, changed only under it and after the
  matching commit, and dropped whenever the jobs of a workflow change shape.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Iterable, Iterator, Optional, Sequence

import apsw

from . import store
from .db import close_connection, migrate, open_connection, transaction
from .define import (
    DEFAULT_RESOURCES,
    NameMaps,
    Written,
    check_sort_method,
    write_jobs,
    write_named_items,
)
from .errors import Conflict, InvalidArgument, NotFound, Unavailable
from .execution import ExecutionMixin
from .lifecycle import LeaseKeeper, LifecycleMixin
from .kernels import Graph
from .notifier import End, EventSubscription, Notifier, ReadySubscription, Shape
from .state import WorkflowState
from .unblocker import Unblocker, interval_from_env
from .models import (
    DONE_STATUSES,
    Event,
    InitializeOutcome,
    Job,
    JobBatch,
    JobStatus,
    Page,
    Severity,
    Workflow,
    WorkflowSpec,
    WorkflowStatus,
)

log = logging.getLogger("torc_core.engine")

MAX_PAGE = 10_000


def now_iso() -> str:
    """UTC now as ISO8601 with milliseconds and Z (torc's format)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: json.dumps(data, sort_keys=True), without building an encoder per call
#: (a third of an event's cost on the completion path).
_encode_event = json.JSONEncoder(sort_keys=True).encode


def now_ms() -> int:
    return int(time.time() * 1000)


def page_limit(limit: int, default: int) -> int:
    """Validate a page size: 0 means the default, at most MAX_PAGE."""
    if limit < 0:
        raise InvalidArgument(f"limit must be >= 0, not {limit}")
    if limit > MAX_PAGE:
        raise InvalidArgument(f"limit must be <= {MAX_PAGE}, not {limit}")
    return limit or default


class Engine(ExecutionMixin, LifecycleMixin):
    """Owns the database and every state change of torc-grpc.

    Args:
        path: SQLite database file (created and migrated when needed). It must
            be on a local disk: WAL needs shared memory on one host.
        lease_seconds: How long a compute node's registration lasts without
            a heartbeat (0 = leases never expire). On start every active
            node gets a fresh lease: nobody could heartbeat while the server
            was down.
        unblock_interval: Deliberate batching delay of the unblocker (default:
            TORC_UNBLOCK_INTERVAL, 0 = event-driven).
        recover: Re-process completions whose unblocking was not committed
            before the last stop (always, except in tests of that very path).
    """

    _now_iso = staticmethod(now_iso)
    _page_limit = staticmethod(page_limit)

    def __init__(
        self,
        path: str,
        *,
        lease_seconds: float = 120.0,
        unblock_interval: Optional[float] = None,
        recover: bool = True,
    ) -> None:
        self.path = path
        self._write_lock = threading.Lock()
        self._writer = open_connection(path)
        self.schema_version = migrate(self._writer)
        self._local = threading.local()
        self._readers: list[apsw.Connection] = []
        self._readers_lock = threading.Lock()
        self._states: dict[int, WorkflowState] = {}
        self._defining: set[int] = set()
        self._closed = False
        self.lease_seconds = lease_seconds
        #: Stream subscribers; the server sets its limits (ServerConfig).
        self.notifier = Notifier()
        self._tx_events: list[Event] = []
        #: complete_jobs calls waiting for the group commit (execution.py).
        self._queue_lock = threading.Lock()
        self._queued: list = []
        interval = interval_from_env() if unblock_interval is None else unblock_interval
        self.unblocker = Unblocker(self._unblock, interval)
        if recover:
            self.recover_pending_unblocking()
        self._leases: Optional[LeaseKeeper] = None
        if lease_seconds > 0:
            with self._write_lock, self._tx() as c:
                store.extend_active_leases(c, time.time() + lease_seconds)
            self._leases = LeaseKeeper(self.expire_leases, min(1.0, max(0.05, lease_seconds / 10)))

    # ------------------------------------------------------------ plumbing
    def _reader(self) -> apsw.Connection:
        if self._closed:
            raise Unavailable("the server is shutting down")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_connection(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection (after the server stopped calling in)."""
        if self._closed:
            return
        if self._leases is not None:
            self._leases.stop()
        self.unblocker.stop()  # flushes what is pending first
        self._closed = True
        with self._write_lock:
            with self._readers_lock:
                for conn in self._readers:
                    close_connection(conn)
                self._readers.clear()
            close_connection(self._writer, checkpoint=True)

    def _workflow(self, conn: apsw.Connection, workflow_id: int) -> Workflow:
        wf = store.get_workflow(conn, workflow_id)
        if wf is None:
            raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
        return wf

    def _state_locked(self, workflow_id: int) -> WorkflowState:
        """The workflow's in-memory state, built from the database if needed (write lock held)."""
        state = self._states.get(workflow_id)
        if state is None:
            state = WorkflowState.load(self._writer, workflow_id)
            self._states[workflow_id] = state
        return state

    def _install_state_locked(self, workflow_id: int, state: Optional[WorkflowState]) -> None:
        """Replace (or drop) a workflow's state; waiters on the old one wake up."""
        old = self._states.pop(workflow_id, None)
        if state is not None:
            self._states[workflow_id] = state
        if old is not None:
            old.notify()

    def _drop_state_locked(self, workflow_id: int) -> None:
        """Forget a workflow's state (rebuilt from the database on next use)."""
        self._install_state_locked(workflow_id, None)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[apsw.Connection]:
        """A write transaction on the writer connection (the caller holds the
        write lock). Events it records reach their watchers after the commit,
        and never when it rolls back."""
        self._tx_events = []
        try:
            with transaction(self._writer) as c:
                yield c
        except BaseException:
            self._tx_events = []
            raise
        events, self._tx_events = self._tx_events, []
        if events:
            self.notifier.publish_events(events)

    def _event(
        self, conn: apsw.Connection, workflow_id: int, event_type: str, severity: Severity, **data
    ) -> int:
        """Persist an event inside the current transaction (see _tx)."""
        text = _encode_event(data)
        timestamp = now_ms()
        event_id = store.insert_event(conn, workflow_id, timestamp, event_type, severity, text)
        if self.notifier.watching_events(workflow_id):
            self._tx_events.append(Event(event_id, workflow_id, timestamp, event_type, severity, text))
        return event_id

    def _announce_locked(self, workflow_id: int, rows: Sequence[tuple], complete: bool) -> None:
        """Tell WatchReadyJobs subscribers about newly ready jobs (class rows),
        then, when the workflow is complete, end their streams."""
        self.notifier.publish_ready(workflow_id, rows)
        if complete:
            self.notifier.end_workflow(workflow_id, End.COMPLETE)

    def _complete_event(self, c: apsw.Connection, workflow_id: int, run_id: int, graph: Graph) -> None:
        counts = graph.counts()
        self._event(
            c, workflow_id, "workflow_complete", Severity.INFO, run_id=run_id,
            completed=counts[JobStatus.COMPLETED], failed=counts[JobStatus.FAILED],
            canceled=counts[JobStatus.CANCELED], terminated=counts[JobStatus.TERMINATED],
        )

    # ------------------------------------------------------------ definitions
    def create_workflow(self, spec: WorkflowSpec) -> tuple[Workflow, dict[str, int]]:
        """Create a workflow and all of its items in one transaction.

        Returns:
            The workflow and a map of job name -> job id.

        Raises:
            InvalidArgument: A bad item (named in the message); nothing is written.
        """
        if not spec.name.strip():
            raise InvalidArgument("workflow name is empty")
        sort_method = check_sort_method(spec.jobs_sort_method)
        with self._write_lock, self._tx() as c:
            wf_id = store.insert_workflow(
                c, spec.name, spec.user, spec.description, now_iso(), sort_method, dict(spec.env)
            )
            names, written = NameMaps(), Written()
            resources = list(spec.resource_requirements)
            if not any(r.name == "default" for r in resources):
                resources.insert(0, DEFAULT_RESOURCES)
            write_named_items(
                c,
                wf_id,
                names,
                written,
                resource_requirements=resources,
                files=spec.files,
                user_data=spec.user_data,
                failure_handlers=spec.failure_handlers,
            )
            ids = write_jobs(c, wf_id, spec.jobs, names, written)
            self._event(
                c, wf_id, "workflow_created", Severity.INFO, name=spec.name, user=spec.user,
                num_jobs=len(ids),
            )
            wf = self._workflow(c, wf_id)
        log.info("workflow %d created: %r, %d jobs", wf_id, spec.name, len(ids))
        return wf, dict(zip((j.name for j in spec.jobs), ids))

    def add_jobs(self, batches: Iterable[JobBatch]) -> int:
        """Add jobs to an existing workflow, batch by batch, all or nothing.

        Each batch commits on its own (the write lock is never held while the
        caller produces the next one); if any batch fails, or the caller stops
        with an exception, everything the earlier batches wrote is deleted
        again. One stream per workflow at a time.

        Returns:
            The number of jobs added.

        Raises:
            NotFound: Unknown workflow.
            InvalidArgument: A bad item, or batches naming different workflows.
            Conflict: Another AddJobs stream is adding to the same workflow.
        """
        workflow_id: Optional[int] = None
        names: Optional[NameMaps] = None
        written = Written()
        try:
            for batch in batches:
                if workflow_id is None:
                    workflow_id = batch.workflow_id
                    self._claim_definer(workflow_id)
                elif batch.workflow_id != workflow_id:
                    raise InvalidArgument(
                        f"AddJobs: every message must name workflow {workflow_id}, "
                        f"not {batch.workflow_id}"
                    )
                step = Written()
                with self._write_lock, self._tx() as c:
                    self._workflow(c, workflow_id)
                    if names is None:
                        names = NameMaps.load(c, workflow_id)
                    write_named_items(
                        c,
                        workflow_id,
                        names,
                        step,
                        resource_requirements=batch.resource_requirements,
                        files=batch.files,
                        user_data=batch.user_data,
                        failure_handlers=batch.failure_handlers,
                    )
                    write_jobs(c, workflow_id, batch.jobs, names, step)
                    self._drop_state_locked(workflow_id)
                for kind, ids in step.ids.items():  # only ids that were committed
                    written.add(kind, ids)
            if workflow_id is not None and written.jobs:
                with self._write_lock, self._tx() as c:
                    self._event(c, workflow_id, "jobs_added", Severity.INFO, count=written.jobs)
        except BaseException:
            if written.ids:
                self._undo(written)
            raise
        finally:
            if workflow_id is not None:
                with self._write_lock:
                    self._defining.discard(workflow_id)
        if workflow_id is not None:
            log.info("workflow %d: %d jobs added", workflow_id, written.jobs)
        return written.jobs

    def _claim_definer(self, workflow_id: int) -> None:
        with self._write_lock:
            if workflow_id in self._defining:
                raise Conflict(f"another AddJobs stream is adding jobs to workflow {workflow_id}")
            self._defining.add(workflow_id)

    def _undo(self, written: Written) -> None:
        with self._write_lock, self._tx() as c:
            for kind in ("job", "file", "user_data", "resource_requirements", "failure_handler"):
                store.delete_items(c, kind, written.ids.get(kind, ()))
            for wf_id in list(self._states):
                self._drop_state_locked(wf_id)
        log.warning("AddJobs stream failed: undid %d jobs", written.jobs)

    def get_workflow(self, workflow_id: int) -> Workflow:
        return self._workflow(self._reader(), workflow_id)

    def list_workflows(self, user: str = "", after_id: int = 0, limit: int = 0) -> Page:
        limit = page_limit(limit, 100)
        items = store.list_workflows(self._reader(), user, after_id, limit)
        return Page.of(items, limit)

    def delete_workflow(self, workflow_id: int) -> None:
        """Delete a workflow and everything in it (foreign-key cascade)."""
        with self._write_lock, self._tx() as c:
            if not store.delete_workflow(c, workflow_id):
                raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
            self._drop_state_locked(workflow_id)
            self.notifier.end_workflow(workflow_id, End.DELETED)
        log.info("workflow %d deleted", workflow_id)

    # ------------------------------------------------------------ initialize / start
    def initialize_jobs(self, workflow_id: int, only_uninitialized: bool = False) -> InitializeOutcome:
        """Torc's initialize_jobs: implicit edges, cycle check, blocked vs ready.

        Raises:
            NotFound: Unknown workflow.
            InvalidArgument: A dependency cycle (through any kind of edge),
                naming jobs on it; nothing is changed.
        """
        with self._write_lock:
            with self._tx() as c:
                wf = self._workflow(c, workflow_id)
                state, rows = self._initialize_locked(c, workflow_id, only_uninitialized)
                self._event(
                    c, workflow_id, "workflow_initialized", Severity.INFO,
                    run_id=wf.run_id, only_uninitialized=only_uninitialized,
                )
                complete = state.is_complete()
                if complete:
                    self._complete_event(c, workflow_id, wf.run_id, state.graph)
            self._install_state_locked(workflow_id, state)
            self._announce_locked(workflow_id, rows, complete)
        return self._outcome(wf.run_id, state.graph)

    def start_workflow(self, workflow_id: int, rerun_all: bool = False) -> InitializeOutcome:
        """Clear a cancel, bump run_id and initialize, in one transaction.

        Completed jobs stay completed and only uninitialized jobs (and what
        depends on them) run again; rerun_all first returns every job that is
        not disabled to uninitialized.
        """
        with self._write_lock:
            with self._tx() as c:
                self._workflow(c, workflow_id)
                if rerun_all:
                    store.reset_all_jobs(c, workflow_id)
                run_id = store.start_run(c, workflow_id)
                state, rows = self._initialize_locked(c, workflow_id, True)
                self._event(
                    c, workflow_id, "workflow_started", Severity.INFO, run_id=run_id,
                    rerun_all=rerun_all,
                )
                complete = state.is_complete()
                if complete:
                    self._complete_event(c, workflow_id, run_id, state.graph)
            self._install_state_locked(workflow_id, state)
            self._announce_locked(workflow_id, rows, complete)
        outcome = self._outcome(run_id, state.graph)
        log.info(
            "workflow %d started: run %d, %d ready, %d blocked",
            workflow_id, run_id, outcome.num_ready, outcome.num_blocked,
        )
        return outcome

    def _initialize_locked(
        self, c: apsw.Connection, workflow_id: int, only_uninitialized: bool
    ) -> tuple[WorkflowState, list[tuple]]:
        """Initialize inside transaction `c`; returns the new state and the
        class rows of every ready job (to announce after the commit)."""
        t0 = time.perf_counter()
        store.materialize_implicit_edges(c, workflow_id)
        graph = Graph(*store.load_graph_arrays(c, workflow_id))
        cycle = graph.find_cycle()
        if cycle:
            names = store.job_names(c, cycle[:20])
            path = " -> ".join(repr(names[j]) for j in cycle[:20])
            more = " -> ..." if len(cycle) > 20 else f" -> {names[cycle[0]]!r}"
            raise InvalidArgument(
                f"dependency cycle: {path}{more} (each waits for the next)",
                job_ids=cycle,
            )
        ids, statuses = graph.initialize(only_uninitialized)
        store.set_initialized_statuses(c, ids, statuses)
        store.clear_unblocking(c, workflow_id)
        state = WorkflowState(graph)
        rows = store.ready_class_rows(c, workflow_id)
        state.add_ready_rows(rows)
        log.info(
            "workflow %d: initialized %d jobs, %d edges, %d changed in %.1f ms",
            workflow_id, graph.num_jobs, graph.num_edges, len(ids),
            (time.perf_counter() - t0) * 1000,
        )
        return state, rows

    @staticmethod
    def _outcome(run_id: int, graph: Graph) -> InitializeOutcome:
        counts = graph.counts()
        return InitializeOutcome(
            run_id=run_id,
            num_ready=counts[JobStatus.READY],
            num_blocked=counts[JobStatus.BLOCKED],
            num_canceled=counts[JobStatus.CANCELED],
        )

    # ------------------------------------------------------------ status and reads
    def get_workflow_status(self, workflow_id: int) -> WorkflowStatus:
        """Run id, flags, job counts by status (from the in-memory graph) and
        the newest event id (read before the counts, so a watcher that replays
        from it sees every later change)."""
        reader = self._reader()
        wf = self._workflow(reader, workflow_id)
        last_event = store.last_event_id(reader, workflow_id)
        state = self._states.get(workflow_id)
        if state is None:
            with self._write_lock:
                self._workflow(self._writer, workflow_id)
                state = self._state_locked(workflow_id)
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
        job = store.get_job(self._reader(), job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return job

    def job_brief(self, job_id: int) -> Job:
        """A job without its relationship id lists: one query (the answer of
        StartJob, CompleteJob and RetryJob; GetJob gives the lists)."""
        job = store.jobs_by_ids(self._reader(), [job_id]).get(job_id)
        if job is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return job

    def list_jobs(
        self, workflow_id: int, statuses: Sequence[int] = (), after_id: int = 0, limit: int = 0
    ) -> Page:
        limit = page_limit(limit, 1000)
        conn = self._reader()
        self._workflow(conn, workflow_id)
        jobs = store.list_jobs(conn, workflow_id, sorted(set(statuses)), after_id, limit)
        return Page.of(jobs, limit)

    def list_events(
        self, workflow_id: int, after: int = 0, limit: int = 0, min_severity: int = 0
    ) -> Page:
        limit = page_limit(limit, 1000)
        conn = self._reader()
        self._workflow(conn, workflow_id)
        events: list[Event] = store.list_events(conn, workflow_id, after, min_severity, limit)
        return Page.of(events, limit)

    # ------------------------------------------------------------ cancel
    def cancel_workflow(self, workflow_id: int) -> int:
        """Torc's cancel: flag the workflow, cancel its claimed and running jobs
        (no results), end its ready streams with workflow_canceled. Claims
        return nothing afterwards; StartWorkflow clears the flag. Idempotent.

        Returns:
            How many claimed or running jobs were canceled.
        """
        with self._write_lock:
            with self._tx() as c:
                wf = self._workflow(c, workflow_id)
                if wf.is_canceled:
                    return 0
                ids = store.cancel_workflow(c, workflow_id)
                self._event(c, workflow_id, "workflow_canceled", Severity.WARNING,
                            run_id=wf.run_id, num_canceled=len(ids))
            state = self._states.get(workflow_id)
            if state is not None:
                state.graph.set_statuses(ids, [JobStatus.CANCELED] * len(ids))
                state.notify()  # long polls return "workflow is canceled"
            self.notifier.end_workflow(workflow_id, End.CANCELED)
        log.info("workflow %d canceled: %d claimed or running jobs canceled", workflow_id, len(ids))
        return len(ids)

    # ------------------------------------------------------------ streams
    def watch_ready(self, workflow_id: int, compute_node_id: int = 0) -> ReadySubscription:
        """Subscribe to a workflow's newly ready jobs (see torc_core.notifier).

        An observer's first message carries the jobs ready now; a worker's
        first message is empty, and the node counts as waiting for work with
        its registered resources until its first claim says otherwise.

        Raises:
            NotFound: Unknown workflow or compute node.
            InvalidArgument: The node belongs to another workflow.
            InvalidTransition: The node's lease expired.
            ResourceExhausted: The stream limit is reached.
        """
        with self._write_lock:
            wf = self._workflow(self._writer, workflow_id)
            shape = None
            if self._check_node(self._writer, compute_node_id, workflow_id):
                shape = Shape(*store.compute_node_resources(self._writer, compute_node_id)[1:])
            state = self._state_locked(workflow_id)
            end = End.CANCELED if wf.is_canceled else End.COMPLETE if state.is_complete() else None
            snapshot = [] if compute_node_id or end else store.ready_job_ids(self._writer, workflow_id)
            return self.notifier.subscribe_ready(workflow_id, snapshot, compute_node_id, shape, end)

    def watch_events(
        self, workflow_id: int, min_severity: int = Severity.INFO, replay_after: Optional[int] = None
    ) -> tuple[EventSubscription, Iterator[Event]]:
        """Follow a workflow's events: stored ones with id > replay_after first
        (when given), then live ones as they commit, each exactly once, in id
        order. Returns the subscription (close it when done) and the events.

        Raises:
            NotFound: Unknown workflow.
            ResourceExhausted: The stream limit is reached.
        """
        if replay_after is not None and replay_after < 0:
            raise InvalidArgument(f"replay_after must be >= 0, not {replay_after}")
        min_severity = min_severity or Severity.INFO  # unset means INFO
        with self._write_lock:  # no commit can fall between the replay and the live part
            self._workflow(self._writer, workflow_id)
            sub = self.notifier.subscribe_events(workflow_id, int(min_severity))
        if replay_after is None:
            return sub, sub.events()
        sub.replayed_through = replay_after
        return sub, self._replay_then_live(sub, replay_after)

    def _replay_then_live(self, sub: EventSubscription, after: int) -> Iterator[Event]:
        while True:
            page = store.list_events(self._reader(), sub.workflow_id, after, sub.min_severity, 1000)
            if not page:
                break
            yield from page
            after = sub.replayed_through = page[-1].id
        yield from sub.events()
