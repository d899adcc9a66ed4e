"""Workflow actions: counting their triggers, firing them, and handing
run_commands actions to workers (torc's workflow-actions design).

An on_jobs_ready action fires once when every job it names is ready or done;
an on_jobs_complete action once when every one is done (completed, failed,
canceled or terminated: a cascade-canceled job counts, so that an action
can never wait for ever); on_workflow_start when a run starts;
on_workflow_complete when the workflow completes. Each job counts once per
run (workflow_action_job.counted); starting a run again re-arms every
action. Fired schedule_nodes actions go to the Slurm allocator, fired
run_commands actions to the first worker that claims them (every worker,
for a persistent one).
"""

from __future__ import annotations

import logging
from typing import Sequence

from .. import store
from ..errors import InvalidArgument, NotFound
from ..models import COMPLETE_STATUSES, JobStatus, Severity
from ..slurm.models import StoredAction
from ..store.actions import statuses_for
from .core import EngineCore, Tx, now_iso

log = logging.getLogger("torc_core.engine")

_READY_OR_DONE = statuses_for(COMPLETE_STATUSES | {JobStatus.READY})
_DONE = statuses_for(COMPLETE_STATUSES)


class ActionTriggers:
    """Counting and firing, inside the transactions that change job statuses."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core

    def _has(self, tx: Tx, workflow_id: int) -> bool:
        known = self._core.has_actions.get(workflow_id)
        if known is None:
            known = self._core.has_actions[workflow_id] = store.has_actions(tx.conn, workflow_id)
        return known

    def arm(self, tx: Tx, workflow_id: int, complete: bool) -> None:
        """A run starts (or the workflow is initialized again): re-arm, count
        what already holds, fire on_workflow_start."""
        if not self._has(tx, workflow_id):
            return
        c = tx.conn
        store.reset_actions(c, workflow_id)
        self._core.pending_actions.discard(workflow_id)
        store.count_by_status(c, workflow_id, "on_jobs_ready", _READY_OR_DONE)
        store.count_by_status(c, workflow_id, "on_jobs_complete", _DONE)
        store.trigger_workflow(c, workflow_id, "on_workflow_start")
        if complete:
            store.trigger_workflow(c, workflow_id, "on_workflow_complete")
        self._fire(tx, workflow_id)

    def jobs_changed(self, tx: Tx, workflow_id: int, ready: Sequence[int], done: Sequence[int],
                     complete: bool) -> None:
        """The unblocker's batch: jobs became ready, jobs are done (completed
        or cascade-canceled), and maybe the workflow completed."""
        if not self._has(tx, workflow_id):
            return
        c = tx.conn
        if ready or done:
            store.count_jobs(c, workflow_id, "on_jobs_ready", [*ready, *done])
        if done:
            store.count_jobs(c, workflow_id, "on_jobs_complete", done)
        if complete:
            store.trigger_workflow(c, workflow_id, "on_workflow_complete")
        self._fire(tx, workflow_id)

    def _fire(self, tx: Tx, workflow_id: int) -> None:
        fired = store.fire_due(tx.conn, workflow_id, now_iso())
        core = self._core
        for action_id, action_type in fired:
            tx.event(workflow_id, "action_fired", Severity.INFO, action_id=action_id,
                     action_type=action_type)
            if action_type == "run_commands":
                core.pending_actions.add(workflow_id)
        if any(kind == "schedule_nodes" for _a, kind in fired) and core.slurm_listener is not None:
            listener = core.slurm_listener
            tx.callbacks.append(lambda: listener(workflow_id))


class ActionRuns:
    """What workers call: claim fired run_commands actions, report them."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core

    def claim(self, workflow_id: int, node_id: int, triggers: Sequence[str]) -> list[StoredAction]:
        core = self._core
        if node_id <= 0:
            raise InvalidArgument("compute_node_id must name the claiming node")
        with core.write_lock, core.transaction() as tx:
            core.workflow(tx.conn, workflow_id)
            core.active_node(tx.conn, node_id, workflow_id)
            taken = []
            for action in store.fired_unclaimed(tx.conn, workflow_id, "run_commands"):
                if triggers and action.spec.trigger_type not in triggers:
                    continue
                if action.spec.persistent:
                    if store.node_ran(tx.conn, action.id, node_id):
                        taken.append(action)
                elif store.claim_action(tx.conn, action.id):
                    taken.append(action)
            for action in taken:
                tx.event(workflow_id, "action_claimed", Severity.INFO, action_id=action.id,
                         compute_node_id=node_id, trigger_type=action.spec.trigger_type)
            if not store.fired_unclaimed(tx.conn, workflow_id, "run_commands"):
                core.pending_actions.discard(workflow_id)  # (persistent ones stay pending)
        return taken

    def complete(self, action_id: int, node_id: int, return_code: int, message: str) -> None:
        core = self._core
        with core.write_lock, core.transaction() as tx:
            action = store.action_by_id(tx.conn, action_id)
            if action is None:
                raise NotFound(f"action {action_id} not found", action_id=action_id)
            if node_id <= 0:
                raise InvalidArgument("compute_node_id must name the node that ran the action")
            core.active_node(tx.conn, node_id, action.workflow_id)
            if not action.executed and not action.spec.persistent:
                raise InvalidArgument(f"action {action_id} was not claimed", action_id=action_id)
            severity = Severity.INFO if return_code == 0 else Severity.ERROR
            tx.event(action.workflow_id, "action_completed" if return_code == 0 else "action_failed",
                     severity, action_id=action_id, compute_node_id=node_id,
                     return_code=return_code, message=message[:2000])


