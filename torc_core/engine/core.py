"""What every engine service shares: the write lock, the connections, the
in-memory state of each workflow, and one transaction object.

Concurrency contract (the engine's, documented once here):
* Every write runs under one process-wide write lock (`EngineCore.write_lock`),
  inside one ``BEGIN IMMEDIATE`` transaction on the writer connection
  (`EngineCore.transaction`); a state change is all or nothing. SQLite allows
  one writer anyway; taking the lock in Python first means no writer ever
  spins on SQLITE_BUSY inside this process.
* Reads use one connection per thread (`EngineCore.reader`) and see the last
  committed state (WAL snapshots); they never wait for the write lock.
* Per workflow the core keeps a WorkflowState (dependency graph, ready index,
  change condition) that mirrors the job statuses. It is derived from the
  database, built lazily under the write lock, changed only under it and
  after the matching commit, and dropped whenever the jobs of a workflow
  change shape.
* A transaction (`Tx`) collects what must happen only once it committed:
  events for WatchEvents subscribers, job status changes to mirror in
  memory, jobs back to READY, and completions for the unblocker. The core
  applies them after COMMIT, still under the write lock, and drops them when
  the transaction rolls back.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from datetime import datetime, timezone
from typing import Callable, Iterator, NamedTuple, Optional, Sequence

from .. import store
from ..errors import InvalidArgument, InvalidTransition, NotFound, Unavailable
from ..models import Event, JobStatus, Severity, Workflow
from ..notifier import End, Notifier
from ..store import Connection, JobState, ReadyRow
from .state import WorkflowState
from .unblocker import Handoff, Unblocker

log = logging.getLogger("torc_core.engine")

#: Largest page any list call returns.
MAX_PAGE = 10_000

#: json.dumps(data, sort_keys=True), without building an encoder per call
#: (a third of an event's cost on the completion path).
_encode_event = json.JSONEncoder(sort_keys=True).encode


def now_iso() -> str:
    """UTC now as ISO8601 with milliseconds and Z (torc's format)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now_ms() -> int:
    return int(time.time() * 1000)


def page_limit(limit: int, default: int) -> int:
    """Validate a page size: 0 means the default, at most MAX_PAGE."""
    if limit < 0:
        raise InvalidArgument(f"limit must be >= 0, not {limit}")
    if limit > MAX_PAGE:
        raise InvalidArgument(f"limit must be <= {MAX_PAGE}, not {limit}")
    return limit or default


class StatusChange(NamedTuple):
    """A job whose new status only changes the job itself (no unblocking)."""

    workflow_id: int
    job_id: int
    status: int


class Requeued(NamedTuple):
    """A job back to READY inside a transaction (retried, or a claim given back)."""

    workflow_id: int
    job_id: int


class Tx:
    """One write transaction and what must follow its commit (see module docstring).

    Attributes:
        conn: The writer connection, inside BEGIN IMMEDIATE.
        received: The transaction's time of receipt (ISO8601): the time of
            results that name none.
        events: Events recorded, published to subscribers after the commit.
        status_changes: Statuses to mirror in the in-memory graphs.
        requeued: Jobs back to READY: into the ready index, announced.
        handoff: Complete jobs for the unblocker.
        retried: Job id -> recovery script of the failure-handler rule that
            retried it ("" for none).
        callbacks: Called after the commit (e.g. waking the Slurm allocator).
    """

    def __init__(self, conn: Connection, notifier: Notifier) -> None:
        self.conn = conn
        self._notifier = notifier
        self._received = ""
        self.events: list[Event] = []
        self.status_changes: list[StatusChange] = []
        self.requeued: list[Requeued] = []
        self.handoff: list[Handoff] = []
        self.retried: dict[int, str] = {}
        self.callbacks: list[Callable[[], None]] = []
        #: Workflow id -> completions written as unblocked already (Completer).
        self.skipped_unblock: dict[int, int] = {}

    @property
    def received(self) -> str:
        """When the transaction first asked (one timestamp for all its results;
        computed on first use: claims never need it)."""
        if not self._received:
            self._received = now_iso()
        return self._received

    def event(self, workflow_id: int, event_type: str, severity: Severity, **data) -> int:
        """Persist an event in this transaction; watchers get it after the commit."""
        text = _encode_event(data)
        timestamp = now_ms()
        event_id = store.insert_event(self.conn, workflow_id, timestamp, event_type, severity, text)
        if self._notifier.watching_events(workflow_id):
            self.events.append(Event(event_id, workflow_id, timestamp, event_type, severity, text))
        return event_id


class EngineCore:
    """The shared room of the engine services (see module docstring).

    Args:
        path: SQLite database file (created and migrated when needed). It must
            be on a local disk: WAL needs shared memory on one host.
        lease_seconds: How long a compute node's registration lasts without a
            heartbeat (0 = leases never expire).
        unblock_interval: Deliberate batching delay of the unblocker (0 =
            event-driven).
    """

    def __init__(self, path: str, lease_seconds: float, unblock_interval: float) -> None:
        self.path = path
        self.lease_seconds = lease_seconds
        #: Held for every write and for every change of the in-memory state.
        self.write_lock = threading.Lock()
        #: The one connection that writes (only under write_lock).
        self.writer = store.open_connection(path)
        self.schema_version = store.migrate(self.writer)
        #: Per-thread reader connections, and all of them for close().
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._readers_lock = threading.Lock()
        #: workflow id -> in-memory state (built on first use, under write_lock).
        self.states: dict[int, WorkflowState] = {}
        #: Set by close(): readers refuse, the server is going away.
        self.closed = False
        #: Stream subscribers; the server sets their limits.
        self.notifier = Notifier()
        #: Turns completions into ready jobs off the request path; its thread
        #: is started by Engine with the unblocking step.
        self.unblocker = Unblocker(unblock_interval)
        #: `serve --slurm`: workflows may need Slurm (schedule_nodes actions,
        #: jobs routed to a scheduler); otherwise they are refused at submit.
        self.slurm_enabled = False
        #: Called (after the commit) with a workflow id when one of its
        #: schedule_nodes actions fired, or its work ended: the allocator's wake-up.
        self.slurm_listener: Optional[Callable[[int], None]] = None
        #: workflow id -> whether it has actions (looked up once).
        self.has_actions: dict[int, bool] = {}
        #: Workflows with fired run_commands actions a worker should claim.
        self.pending_actions: set[int] = set()
        #: Called after each unblocker batch with (completions, seconds): operators' metrics.
        self.unblock_observer: Optional[Callable[[int, float], None]] = None

    # ------------------------------------------------------------ connections
    def reader(self) -> Connection:
        """This thread's read connection (opened on first use)."""
        if self.closed:
            raise Unavailable("the server is shutting down")
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.open_connection(self.path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def close_connections(self) -> None:
        """Close every connection; the writer checkpoints the WAL."""
        self.closed = True
        with self.write_lock:
            with self._readers_lock:
                for conn in self._readers:
                    store.close_connection(conn)
                self._readers.clear()
            store.close_connection(self.writer, checkpoint=True)

    # ------------------------------------------------------------ lookups
    @staticmethod
    def workflow(conn: Connection, workflow_id: int) -> Workflow:
        wf = store.get_workflow(conn, workflow_id)
        if wf is None:
            raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
        return wf

    @staticmethod
    def workflow_brief(conn: Connection, workflow_id: int) -> store.WorkflowBrief:
        """The hot paths' read of a workflow: run, cancel flag, sort method."""
        wf = store.workflow_brief(conn, workflow_id)
        if wf is None:
            raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
        return wf

    @staticmethod
    def job_state(conn: Connection, job_id: int) -> JobState:
        state = store.job_state(conn, job_id)
        if state is None:
            raise NotFound(f"job {job_id} not found", job_id=job_id)
        return state

    @staticmethod
    def active_node(conn: Connection, node_id: int, workflow_id: int) -> Optional[int]:
        """The node id (None for 0) after checking it exists, belongs to the
        workflow and still holds its lease."""
        if not node_id:
            return None
        owner = store.compute_node_owner(conn, node_id)
        if owner is None:
            raise NotFound(f"compute node {node_id} not found", compute_node_id=node_id)
        if owner.workflow_id != workflow_id:
            raise InvalidArgument(
                f"compute node {node_id} belongs to workflow {owner.workflow_id}, not {workflow_id}"
            )
        if not owner.is_active:
            raise InvalidTransition(
                f"compute node {node_id} is no longer active (its lease expired and its jobs were "
                "given back); stop, and register again to continue"
            )
        return node_id

    # ------------------------------------------------------------ in-memory state
    def state_locked(self, workflow_id: int) -> WorkflowState:
        """The workflow's in-memory state, built from the database if needed (write lock held)."""
        state = self.states.get(workflow_id)
        if state is None:
            state = WorkflowState.load(self.writer, workflow_id)
            self.states[workflow_id] = state
        return state

    def install_state_locked(self, workflow_id: int, state: Optional[WorkflowState]) -> None:
        """Replace (or drop) a workflow's state; waiters on the old one wake up."""
        old = self.states.pop(workflow_id, None)
        if state is not None:
            self.states[workflow_id] = state
        if old is not None:
            old.notify()

    def drop_state_locked(self, workflow_id: int) -> None:
        """Forget a workflow's state (rebuilt from the database on next use)."""
        self.install_state_locked(workflow_id, None)

    # ------------------------------------------------------------ transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        """A write transaction (the caller holds write_lock); what it collected
        is applied after the commit and dropped on rollback."""
        tx = Tx(self.writer, self.notifier)
        with store.transaction(self.writer):
            yield tx
        self._after_commit(tx)

    def _after_commit(self, tx: Tx) -> None:
        if tx.events:
            self.notifier.publish_events(tx.events)
        for change in tx.status_changes:
            state = self.states.get(change.workflow_id)
            if state is not None:
                state.graph.set_statuses([change.job_id], [change.status])
        by_wf: dict[int, list[int]] = {}
        for item in tx.requeued:
            by_wf.setdefault(item.workflow_id, []).append(item.job_id)
        for wf_id, ids in by_wf.items():
            state = self.states.get(wf_id)
            if state is None:
                continue  # built from the database on next use
            state.graph.set_statuses(ids, [JobStatus.READY] * len(ids))
            rows = store.class_rows(self.writer, ids)
            state.add_ready_rows(rows)
            state.notify()
            self.announce_locked(wf_id, rows, False)
        self.unblocker.submit(tx.handoff)
        for callback in tx.callbacks:
            callback()

    # ------------------------------------------------------------ news
    def announce_locked(self, workflow_id: int, rows: Sequence[ReadyRow], complete: bool) -> None:
        """Tell WatchReadyJobs subscribers about newly ready jobs, then, when
        the workflow is complete, end their streams."""
        self.notifier.publish_ready(workflow_id, rows)
        if complete:
            self.notifier.end_workflow(workflow_id, End.COMPLETE)

    @staticmethod
    def complete_event(tx: Tx, workflow_id: int, run_id: int, state: WorkflowState) -> None:
        counts = state.graph.counts()
        tx.event(
            workflow_id, "workflow_complete", Severity.INFO, run_id=run_id,
            completed=counts[JobStatus.COMPLETED], failed=counts[JobStatus.FAILED],
            canceled=counts[JobStatus.CANCELED], terminated=counts[JobStatus.TERMINATED],
        )
