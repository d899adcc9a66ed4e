"""In-memory state of one workflow: the dependency graph, the ready index and
the condition long polls wait on. Derived from the database, rebuilt on start;
changed only under the engine's write lock, after the matching commit."""

from __future__ import annotations

import threading
from typing import Optional, Sequence

import apsw

from . import store
from .kernels import Graph, ReadyIndex
from .models import DONE_STATUSES, NO_SCHEDULER


class WorkflowState:
    """Graph + ready index + change notification for one workflow."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.ready = ReadyIndex(graph.num_jobs)
        self._classes: dict[tuple, int] = {}
        self._labels: dict[str, int] = {"": 0}
        #: Bumped (under `changed`) when jobs become ready or the workflow ends.
        self.version = 0
        self.changed = threading.Condition(threading.Lock())

    @classmethod
    def load(cls, conn: apsw.Connection, workflow_id: int) -> "WorkflowState":
        state = cls(Graph(*store.load_graph_arrays(conn, workflow_id)))
        state.add_ready_rows(store.ready_class_rows(conn, workflow_id))
        return state

    def label_id(self, label: str) -> Optional[int]:
        """The label's id, or None when no job of the workflow has that label."""
        return self._labels.get(label)

    def add_ready_rows(self, rows: Sequence[tuple]) -> None:
        """Insert ready jobs given (id, priority, label, scheduler, cpus, mem, gpus, nodes, runtime)."""
        if not rows:
            return
        jobs, classes = [], []
        indices = self.graph.indices_of([r[0] for r in rows])
        for index, (_id, prio, label, sched, cpus, mem, gpus, nodes, runtime) in zip(indices, rows):
            label_id = self._labels.setdefault(label, len(self._labels))
            key = (prio, label_id, NO_SCHEDULER if sched is None else sched, cpus, mem, gpus, nodes, runtime)
            cl = self._classes.get(key)
            if cl is None:
                cl = self.ready.define_class(*key)
                self._classes[key] = cl
            jobs.append(index)
            classes.append(cl)
        self.ready.add(jobs, classes)

    def is_complete(self) -> bool:
        counts = self.graph.counts()
        return all(n == 0 for s, n in enumerate(counts) if s not in DONE_STATUSES)

    def notify(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def wait_for_change(self, seen: int, timeout: float) -> bool:
        """Wait until version != seen or timeout; True when it changed."""
        with self.changed:
            return self.changed.wait_for(lambda: self.version != seen, timeout)
