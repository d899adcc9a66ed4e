"""In-memory state of one workflow: the dependency graph, the ready index and
the condition long polls wait on. Derived from the database, rebuilt on start;
changed only under the engine's write lock, after the matching commit."""

from __future__ import annotations

import contextlib
import threading
from typing import Iterator, Optional, Sequence

from .. import store
from ..kernels import Graph, ReadyIndex
from ..models import DONE_STATUSES, NO_SCHEDULER
from ..store import Connection, ReadyRow


class WorkflowState:
    """Graph + ready index + change notification for one workflow."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ready = ReadyIndex(graph.num_jobs)
        #: Claim class key -> the ready index's class id.
        self._classes: dict[tuple, int] = {}
        #: Label -> small int id for the ready index ("" = unlabeled = 0).
        self._labels: dict[str, int] = {"": 0}
        #: Bumped (under `changed`) when jobs become ready or the workflow ends.
        self.version = 0
        self.changed = threading.Condition(threading.Lock())

    @classmethod
    def load(cls, conn: Connection, workflow_id: int) -> "WorkflowState":
        state = cls(Graph(*store.load_graph_arrays(conn, workflow_id)))
        state.add_ready_rows(store.ready_class_rows(conn, workflow_id))
        return state

    def label_id(self, label: str) -> Optional[int]:
        """The label's id, or None when no job of the workflow has that label."""
        return self._labels.get(label)

    def add_ready_rows(self, rows: Sequence[ReadyRow]) -> None:
        """Insert newly ready jobs into the ready index, by claim class."""
        if not rows:
            return
        jobs, classes = [], []
        indices = self.graph.indices_of([r.job_id for r in rows])
        for index, r in zip(indices, rows):
            label_id = self._labels.setdefault(r.label, len(self._labels))
            sched = NO_SCHEDULER if r.scheduler_id is None else r.scheduler_id
            key = (r.priority, label_id, sched, r.num_cpus, r.memory_bytes, r.num_gpus,
                   r.num_nodes, r.runtime_s)
            cl = self._classes.get(key)
            if cl is None:
                cl = self.ready.define_class(*key)
                self._classes[key] = cl
            jobs.append(index)
            classes.append(cl)
        self.ready.add(jobs, classes)

    def is_complete(self) -> bool:
        return self.not_done() == 0

    def not_done(self) -> int:
        """Jobs whose status (in the graph) is not a done one."""
        return sum(n for s, n in enumerate(self.graph.counts()) if s not in DONE_STATUSES)

    def notify(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float, cancel: Optional["Cancel"] = None) -> bool:
        """Wait until version != seen, timeout, or `cancel` is set; True when it changed.
        Costs nothing while it waits (one blocked thread, no polling)."""
        if cancel is None:
            with self.changed:
                return self.changed.wait_for(lambda: self.version != seen, timeout)
        with cancel.watching(self.changed), self.changed:
            self.changed.wait_for(lambda: self.version != seen or cancel.is_set(), timeout)
            return self.version != seen


class Cancel:
    """Set by the caller's side (a client that went away) to end a wait at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._set = False
        #: The condition a waiter blocks on, while it waits.
        self._condition: Optional[threading.Condition] = None

    def set(self) -> None:
        with self._lock:
            self._set = True
            condition = self._condition
        if condition is not None:
            with condition:
                condition.notify_all()

    def is_set(self) -> bool:
        return self._set

    @contextlib.contextmanager
    def watching(self, condition: threading.Condition) -> Iterator[None]:
        with self._lock:
            self._condition = condition
        try:
            yield
        finally:
            with self._lock:
                self._condition = None
