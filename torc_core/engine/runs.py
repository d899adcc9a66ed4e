"""Runs: InitializeJobs and StartWorkflow (torc's initialize and start).

Initializing materializes the implicit edges (files, user data), refuses a
dependency cycle of any kind, and decides blocked / ready / canceled for the
whole workflow in the graph kernel; the new in-memory state replaces the old
one after the commit and the ready jobs are announced.
"""

from __future__ import annotations

import logging
import time
from typing import Callable

from .. import store
from ..errors import InvalidArgument
from ..kernels import Graph
from ..models import InitializeOutcome, JobStatus, Severity
from ..store import ReadyRow
from .actions import ActionTriggers
from .core import EngineCore, Tx
from .state import WorkflowState

log = logging.getLogger("torc_core.engine")

#: Jobs of a cycle named in its error message.
_CYCLE_NAMES = 20


class Runs:
    """Initializing and starting workflows."""

    def __init__(self, core: EngineCore, triggers: ActionTriggers) -> None:
        self._core = core
        self._triggers = triggers

    def initialize_jobs(self, workflow_id: int, only_uninitialized: bool = False) -> InitializeOutcome:
        """Torc's initialize_jobs: implicit edges, cycle check, blocked vs ready.

        Raises:
            NotFound: Unknown workflow.
            InvalidArgument: A dependency cycle (through any kind of edge),
                naming jobs on it; nothing is changed.
        """
        def same_run(tx: Tx) -> int:
            return self._core.workflow(tx.conn, workflow_id).run_id

        run_id, state = self._initialize(workflow_id, same_run, only_uninitialized, True,
                                         "workflow_initialized", {"only_uninitialized": only_uninitialized})
        return outcome(run_id, state)

    def start_workflow(self, workflow_id: int, rerun_all: bool = False) -> InitializeOutcome:
        """Clear a cancel, bump run_id and initialize, in one transaction.

        Completed jobs stay completed and only uninitialized jobs (and what
        depends on them) run again; rerun_all first returns every job that is
        not disabled to uninitialized.
        """
        def next_run(tx: Tx) -> int:
            self._core.workflow(tx.conn, workflow_id)
            if rerun_all:
                store.reset_all_jobs(tx.conn, workflow_id)
            return store.start_run(tx.conn, workflow_id)

        run_id, state = self._initialize(workflow_id, next_run, True, False, "workflow_started",
                                         {"rerun_all": rerun_all})
        result = outcome(run_id, state)
        log.info(
            "workflow %d started: run %d, %d ready, %d blocked",
            workflow_id, run_id, result.num_ready, result.num_blocked,
        )
        return result

    def _initialize(self, workflow_id: int, prepare: Callable[[Tx], int], only_uninitialized: bool,
                    keep_live_claims: bool, event_type: str, event: dict) -> tuple[int, WorkflowState]:
        """One transaction: prepare (returns the run id), initialize, the
        event (and workflow_complete when nothing is left); then the new state
        is installed and its ready jobs announced."""
        core = self._core
        with core.write_lock:
            with core.transaction() as tx:
                run_id = prepare(tx)
                state, rows = self.initialize_locked(tx, workflow_id, only_uninitialized,
                                                     keep_live_claims=keep_live_claims)
                tx.event(workflow_id, event_type, Severity.INFO, run_id=run_id, **event)
                complete = state.is_complete()
                if complete:
                    core.complete_event(tx, workflow_id, run_id, state)
                self._triggers.arm(tx, workflow_id, complete)
            core.install_state_locked(workflow_id, state)
            core.announce_locked(workflow_id, rows, complete)
        return run_id, state

    @staticmethod
    def initialize_locked(
        tx: Tx, workflow_id: int, only_uninitialized: bool, keep_live_claims: bool = False
    ) -> tuple[WorkflowState, list[ReadyRow]]:
        """Initialize inside `tx`; returns the new state and the rows of every
        ready job (to install and announce after the commit).

        keep_live_claims (InitializeJobs, same run): a pending or running job
        held by a compute node that still holds its lease keeps its claim, so
        the same job never runs twice at once; torc would make it ready again.
        StartWorkflow starts a new run instead, whose run_id fences old claims.
        """
        t0 = time.perf_counter()
        c = tx.conn
        graph = acyclic_graph(tx, workflow_id)
        ids, statuses = graph.initialize(only_uninitialized)
        if keep_live_claims:
            live = store.live_claims(c, workflow_id)
            if live:
                held = {claim.job_id for claim in live}
                changed = [(j, s) for j, s in zip(ids, statuses) if j not in held]
                ids, statuses = [j for j, _s in changed], [s for _j, s in changed]
                graph.set_statuses([x.job_id for x in live], [x.status for x in live])
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


def acyclic_graph(tx: Tx, workflow_id: int) -> Graph:
    """The workflow's dependency graph with its implicit edges (files, user
    data) materialized; InvalidArgument naming jobs on a cycle of any kind.
    Definitions call it too, so a cycle is refused when it is created."""
    c = tx.conn
    store.materialize_implicit_edges(c, workflow_id)
    graph = Graph(*store.load_graph_arrays(c, workflow_id))
    cycle = graph.find_cycle()
    if cycle:
        names = store.job_names(c, cycle[:_CYCLE_NAMES])
        path = " -> ".join(repr(names[j]) for j in cycle[:_CYCLE_NAMES])
        more = " -> ..." if len(cycle) > _CYCLE_NAMES else f" -> {names[cycle[0]]!r}"
        raise InvalidArgument(
            f"dependency cycle: {path}{more} (each waits for the next)", job_ids=cycle
        )
    return graph


def outcome(run_id: int, state: WorkflowState) -> InitializeOutcome:
    counts = state.graph.counts()
    return InitializeOutcome(
        run_id=run_id,
        num_ready=counts[JobStatus.READY],
        num_blocked=counts[JobStatus.BLOCKED],
        num_canceled=counts[JobStatus.CANCELED],
    )
