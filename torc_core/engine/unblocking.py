"""Unblocking: the batch step the unblocker thread runs, and crash recovery.

For one workflow's batch of committed completions the graph kernel
(_graph.pyx) computes the newly ready and the cascade-canceled jobs; one
transaction writes them and marks the completions processed; then the ready
index takes the new jobs, long polls wake, and subscribers are told. A
completion whose unblocking was not committed (unblocking_processed = 0)
is found again on start and processed again; the step is idempotent.
"""

from __future__ import annotations

import logging
import time

from .. import store
from .actions import ActionTriggers
from .core import EngineCore
from .unblocker import Handoff

log = logging.getLogger("torc_core.engine")


class Unblocking:
    """The unblocker's step (see module docstring)."""

    def __init__(self, core: EngineCore, triggers: ActionTriggers) -> None:
        self._core = core
        self._triggers = triggers

    def process(self, workflow_id: int, items: list[tuple[int, int]]) -> None:
        """One batch of one workflow: items are (job_id, status) (unblocker thread)."""
        core = self._core
        t0 = time.perf_counter()
        with core.write_lock:
            wf = store.workflow_brief(core.writer, workflow_id)
            if wf is None:
                return  # deleted meanwhile
            state = core.state_locked(workflow_id)
            ids = [j for j, _s in items]
            try:
                was_complete = state.is_complete()
                ready, canceled = state.graph.complete(ids, [s for _j, s in items])
                complete = state.is_complete()
                with core.transaction() as tx:
                    store.write_unblocked(tx.conn, ids, ready, canceled)
                    if complete and not was_complete:
                        core.complete_event(tx, workflow_id, wf.run_id, state)
                    self._triggers.jobs_changed(tx, workflow_id, ready, [*ids, *canceled],
                                                complete and not was_complete)
                rows = store.class_rows(core.writer, ready)
                state.add_ready_rows(rows)
            except BaseException:
                core.drop_state_locked(workflow_id)  # rebuilt from the database
                raise
            state.notify()
            core.announce_locked(workflow_id, rows, complete)
        observer = core.unblock_observer
        if observer is not None:
            observer(len(items), time.perf_counter() - t0)
        log.debug(
            "workflow %d: %d completions processed, %d jobs ready, %d canceled, %.1f ms",
            workflow_id, len(items), len(ready), len(canceled), (time.perf_counter() - t0) * 1000,
        )

    def recover_pending(self) -> int:
        """Re-submit completions whose unblocking was never committed (idempotent)."""
        core = self._core
        items: list[Handoff] = []
        with core.write_lock:
            for wf_id in store.workflows_pending_unblock(core.writer):
                items += [Handoff(wf_id, p.job_id, p.status)
                          for p in store.pending_unblock(core.writer, wf_id)]
        core.unblocker.submit(items)
        if items:
            log.info("recovering %d completions whose unblocking was not committed", len(items))
        return len(items)
