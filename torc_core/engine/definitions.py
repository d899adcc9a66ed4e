"""Definitions: CreateWorkflow, AddJobs (all or nothing) and DeleteWorkflow.

Validation and the writing of items live in torc_core.define; this module
owns the transactions and the in-memory state around them.
"""

from __future__ import annotations

import logging
from typing import Iterable, Optional

from .. import define_slurm, store
from ..define import (
    NameMaps,
    Written,
    check_resource_monitor,
    check_sort_method,
    write_jobs,
    write_named_items,
)
from ..errors import Conflict, InvalidArgument, NotFound
from ..models import JobBatch, Severity, Workflow, WorkflowSpec
from ..notifier import End
from ..resource_sets import DEFAULT_RESOURCES
from .core import EngineCore, now_iso
from .runs import acyclic_graph

log = logging.getLogger("torc_core.engine")

#: Kinds of items an AddJobs stream may have written, in the order to undo them.
_UNDO_ORDER = ("job", "file", "user_data", "resource_requirements", "failure_handler")


class Definitions:
    """Creating, extending and deleting workflows."""

    def __init__(self, core: EngineCore) -> None:
        self._core = core
        #: Workflows an AddJobs stream is adding to right now (one stream each).
        self._defining: set[int] = set()

    def create_workflow(self, spec: WorkflowSpec) -> tuple[Workflow, dict[str, int]]:
        """Create a workflow and all of its items in one transaction.

        Returns:
            The workflow and a map of job name -> job id.

        Raises:
            InvalidArgument: A bad item (named in the message), or a dependency
                cycle of any kind (explicit, through files or user data);
                nothing is written.
        """
        core = self._core
        if not spec.name.strip():
            raise InvalidArgument("workflow name is empty")
        sort_method = check_sort_method(spec.jobs_sort_method)
        define_slurm.check(spec, core.slurm_enabled)
        with core.write_lock, core.transaction() as tx:
            wf_id = store.insert_workflow(
                tx.conn, spec.name, spec.user, spec.description, now_iso(), sort_method, dict(spec.env)
            )
            names, written = NameMaps(), Written()
            resources = list(spec.resource_requirements)
            if not any(r.name == "default" for r in resources):
                resources.insert(0, DEFAULT_RESOURCES)
            write_named_items(
                tx.conn, wf_id, names, written,
                resource_requirements=resources, files=spec.files, user_data=spec.user_data,
                failure_handlers=spec.failure_handlers,
            )
            jobs = define_slurm.write_schedulers(tx.conn, wf_id, spec)
            store.set_resource_monitor(tx.conn, wf_id, check_resource_monitor(spec.resource_monitor))
            ids = write_jobs(tx.conn, wf_id, jobs, names, written)
            define_slurm.write_actions(tx.conn, wf_id, spec.actions, dict(zip((j.name for j in jobs), ids)))
            core.has_actions[wf_id] = bool(spec.actions)
            for group_name in spec.access_groups:
                group = store.group_by_name(tx.conn, group_name)
                if group is None:
                    raise InvalidArgument(f"access_groups names unknown group {group_name!r}",
                                          name=group_name)
                store.link_workflow(tx.conn, wf_id, group.id)
            acyclic_graph(tx, wf_id)  # a cycle of any kind is refused now, not at start
            tx.event(wf_id, "workflow_created", Severity.INFO, name=spec.name, user=spec.user,
                     num_jobs=len(ids))
            wf = core.workflow(tx.conn, wf_id)
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
        core = self._core
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
                with core.write_lock, core.transaction() as tx:
                    core.workflow(tx.conn, workflow_id)
                    if names is None:
                        names = NameMaps.load(tx.conn, workflow_id)
                    write_named_items(
                        tx.conn, workflow_id, names, step,
                        resource_requirements=batch.resource_requirements, files=batch.files,
                        user_data=batch.user_data, failure_handlers=batch.failure_handlers,
                    )
                    jobs = define_slurm.route_added_jobs(tx.conn, workflow_id, batch.jobs,
                                                         core.slurm_enabled)
                    write_jobs(tx.conn, workflow_id, jobs, names, step)
                    core.drop_state_locked(workflow_id)
                for kind, ids in step.ids.items():  # only ids that were committed
                    written.add(kind, ids)
            if workflow_id is not None and written.jobs:
                with core.write_lock, core.transaction() as tx:
                    acyclic_graph(tx, workflow_id)  # else everything the stream wrote is undone
                    tx.event(workflow_id, "jobs_added", Severity.INFO, count=written.jobs)
        except BaseException:
            if written.ids:
                self._undo(written)
            raise
        finally:
            if workflow_id is not None:
                with core.write_lock:
                    self._defining.discard(workflow_id)
        if workflow_id is not None:
            log.info("workflow %d: %d jobs added", workflow_id, written.jobs)
        return written.jobs

    def _claim_definer(self, workflow_id: int) -> None:
        with self._core.write_lock:
            if workflow_id in self._defining:
                raise Conflict(f"another AddJobs stream is adding jobs to workflow {workflow_id}")
            self._defining.add(workflow_id)

    def _undo(self, written: Written) -> None:
        core = self._core
        with core.write_lock, core.transaction() as tx:
            for kind in _UNDO_ORDER:
                store.delete_items(tx.conn, kind, written.ids.get(kind, ()))
            for wf_id in list(core.states):
                core.drop_state_locked(wf_id)
        log.warning("AddJobs stream failed: undid %d jobs", written.jobs)

    def delete_workflow(self, workflow_id: int) -> None:
        """Delete a workflow and everything in it (foreign-key cascade); its
        streams end with End.DELETED."""
        core = self._core
        with core.write_lock, core.transaction() as tx:
            if not store.delete_workflow(tx.conn, workflow_id):
                raise NotFound(f"workflow {workflow_id} not found", workflow_id=workflow_id)
            core.drop_state_locked(workflow_id)
            core.notifier.end_workflow(workflow_id, End.DELETED)
        log.info("workflow %d deleted", workflow_id)
