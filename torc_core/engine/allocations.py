"""What the Slurm allocator reads and records: schedulers, demand, fired
schedule_nodes actions, allocations and their changes, the circuit breaker,
and the release of nodes whose allocation ended without a goodbye (orphans).

The allocator (torc_core/slurm/allocator.py) decides; this service keeps the
records consistent under the engine's write lock, and writes an event for
every allocation change.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

from .. import store
from ..errors import InvalidArgument, NotFound
from ..models import JobStatus, Severity
from ..slurm.models import (
    Allocation,
    AllocationSource,
    AllocationState,
    Scheduler,
    SlurmSettings,
    StoredAction,
)
from ..slurm.shapes import Needs
from .core import EngineCore, Tx, now_iso

if TYPE_CHECKING:  # (leases -> completion -> claims -> this module)
    from .leases import Leases
    from .reads import Reads

log = logging.getLogger("torc_core.engine")

#: Consecutive failures (sbatch refusals, allocations dead at start) that pause a scheduler.
BREAKER_FAILURES = 3
#: Wait before the next try after a failure: 5 s, 10 s, 20 s ... at most this.
BREAKER_MAX_BACKOFF = 300.0


@dataclass(frozen=True)
class WorkClass:
    """Blocked or ready jobs of one claim class."""

    scheduler_id: Optional[int]
    needs: Needs
    num_cpus: int
    status: JobStatus
    count: int


@dataclass(frozen=True)
class Work:
    """A workflow as the allocator sees it at one moment."""

    workflow_id: int
    run_id: int
    canceled: bool
    complete: bool
    classes: tuple[WorkClass, ...]


class Allocations:
    def __init__(self, core: EngineCore, leases: "Leases", reads: "Reads") -> None:
        self._core = core
        self._leases = leases
        self._reads = reads

    # ------------------------------------------------------------ reads (reader connection)
    def workflows(self) -> list[int]:
        """Started workflows that have schedulers."""
        return store.workflows_with_schedulers(self._core.reader())

    def schedulers(self, workflow_id: int) -> list[Scheduler]:
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return store.schedulers(conn, workflow_id)

    def scheduler(self, workflow_id: int, name: str) -> Scheduler:
        sched = store.scheduler_by_name(self._core.reader(), workflow_id, name)
        if sched is None:
            raise NotFound(f"workflow {workflow_id} has no scheduler {name!r}", scheduler=name)
        return sched

    def settings(self, workflow_id: int) -> SlurmSettings:
        return store.slurm_settings(self._core.reader(), workflow_id)

    def list(self, workflow_id: int) -> list[Allocation]:
        conn = self._core.reader()
        self._core.workflow(conn, workflow_id)
        return store.allocations(conn, workflow_id)

    def live(self) -> list[Allocation]:
        return store.live_allocations(self._core.reader())

    def work(self, workflow_id: int) -> Work:
        """Blocked and ready jobs by class (one grouped scan, skipped when the
        in-memory counts say there are none)."""
        status = self._reads.get_workflow_status(workflow_id)
        classes: tuple[WorkClass, ...] = ()
        if status.counts[JobStatus.READY] or status.counts[JobStatus.BLOCKED]:
            classes = tuple(
                WorkClass(sched, Needs(runtime, nodes, memory, gpus), cpus, JobStatus(st), count)
                for sched, cpus, memory, gpus, nodes, runtime, st, count
                in store.work_by_class(self._core.reader(), workflow_id)
            )
        return Work(workflow_id, status.run_id, status.is_canceled, status.is_complete, classes)

    # ------------------------------------------------------------ writes
    def take_fired_actions(self, workflow_id: int) -> list[StoredAction]:
        """Claim the fired schedule_nodes actions of a workflow (each once)."""
        core = self._core
        with core.write_lock, core.transaction() as tx:
            taken = [a for a in store.fired_unclaimed(tx.conn, workflow_id, "schedule_nodes")
                     if store.claim_action(tx.conn, a.id)]
            for a in taken:
                tx.event(workflow_id, "action_claimed", Severity.INFO, action_id=a.id, by="allocator",
                         trigger_type=a.spec.trigger_type)
        return taken

    def submitted(self, sched: Scheduler, slurm_job_id: str, source: AllocationSource,
                  token_id: int = 0) -> Allocation:
        core = self._core
        with core.write_lock, core.transaction() as tx:
            alloc_id = store.insert_allocation(tx.conn, sched.workflow_id, sched.id, slurm_job_id,
                                               AllocationState.QUEUED, source, sched.spec.nodes,
                                               now_iso(), worker_token_id=token_id)
            tx.event(sched.workflow_id, "allocation_submitted", Severity.INFO, allocation_id=alloc_id,
                     slurm_job_id=slurm_job_id, scheduler=sched.spec.name, source=source.value)
            if sched.paused or sched.failures:
                store.set_breaker(tx.conn, sched.id, sched.failures, False, 0.0, sched.message)
            return store.allocation_by_id(tx.conn, alloc_id)

    def submit_failed(self, sched: Scheduler, message: str) -> Scheduler:
        """sbatch refused: count it toward the breaker; the event carries sbatch's words."""
        core = self._core
        with core.write_lock, core.transaction() as tx:
            tx.event(sched.workflow_id, "allocation_failed", Severity.ERROR, scheduler=sched.spec.name,
                     stage="sbatch", message=message[:2000])
            return self._failure_locked(tx, sched.id, message)

    def changed(self, alloc: Allocation, state: AllocationState, nodes: str, start: str, end: str,
                message: str = "") -> Allocation:
        """What squeue (or scancel) says of a live allocation. An event per
        change; an end releases the nodes still registered from it (orphans:
        claims back to READY, running jobs failed with -128, handlers apply)."""
        new = dataclasses.replace(alloc, state=state, nodes=nodes or alloc.nodes,
                                  start_time=start or alloc.start_time, end_time=end or alloc.end_time,
                                  message=message or alloc.message)
        if new == alloc:
            return alloc
        core = self._core
        with core.write_lock, core.transaction() as tx:
            store.update_allocation(tx.conn, new)
            if state is not alloc.state:
                kind = {AllocationState.RUNNING: "allocation_started", AllocationState.DONE: "allocation_ended",
                        AllocationState.FAILED: "allocation_failed",
                        AllocationState.CANCELED: "allocation_canceled"}.get(state, "allocation_changed")
                severity = Severity.ERROR if state is AllocationState.FAILED else Severity.INFO
                tx.event(alloc.workflow_id, kind, severity, allocation_id=alloc.id,
                         slurm_job_id=alloc.slurm_job_id, scheduler=alloc.scheduler, state=state.value,
                         nodes=new.nodes, message=new.message)
            if not state.live:
                self._ended_locked(tx, new)
        return new

    def ending(self, alloc: Allocation) -> int:
        """Slurm is ending the allocation (COMPLETING: its processes are being
        killed): release its nodes now rather than when Slurm is done; how many."""
        core = self._core
        with core.write_lock, core.transaction() as tx:
            return self._release_nodes_locked(tx, alloc)

    def _release_nodes_locked(self, tx: Tx, alloc: Allocation) -> int:
        nodes = store.active_nodes_of_slurm_job(tx.conn, alloc.workflow_id, alloc.slurm_job_id)
        now = time.time()
        for node_id in nodes:
            lease = store.node_lease(tx.conn, node_id)
            self._leases.release_locked(tx, node_id, alloc.workflow_id, lease.hostname, now,
                                        "compute_node_lost")
        return len(nodes)

    def _ended_locked(self, tx: Tx, alloc: Allocation) -> None:
        self._release_nodes_locked(tx, alloc)
        if alloc.worker_token_id:
            store.revoke_worker_token(tx.conn, alloc.worker_token_id)
        if not alloc.worker_seen and alloc.state is not AllocationState.CANCELED:
            # Died before any worker registered: a bad script, account, node or image.
            self._failure_locked(tx, alloc.scheduler_id, alloc.message or
                                 f"allocation {alloc.slurm_job_id} ended ({alloc.state.value}) before "
                                 "its worker registered")

    def _failure_locked(self, tx: Tx, scheduler_id: int, message: str) -> Scheduler:
        sched = store.scheduler_by_id(tx.conn, scheduler_id)
        failures = sched.failures + 1
        paused = failures >= BREAKER_FAILURES
        retry_after = time.time() + min(BREAKER_MAX_BACKOFF, 5.0 * 2 ** (failures - 1))
        store.set_breaker(tx.conn, sched.id, failures, paused, retry_after, message[:2000])
        if paused and not sched.paused:
            tx.event(sched.workflow_id, "scheduler_paused", Severity.ERROR, scheduler=sched.spec.name,
                     failures=failures, message=message[:2000])
            log.warning("workflow %d: scheduler %r paused after %d failures: %s", sched.workflow_id,
                        sched.spec.name, failures, message)
        return store.scheduler_by_id(tx.conn, scheduler_id)

    def resume(self, sched: Scheduler) -> None:
        """ScheduleNodes by hand: the breaker forgets (the user fixed it, or wants to see)."""
        if not (sched.paused or sched.failures):
            return
        core = self._core
        with core.write_lock, core.transaction() as tx:
            store.set_breaker(tx.conn, sched.id, 0, False, 0.0, "")
            tx.event(sched.workflow_id, "scheduler_resumed", Severity.INFO, scheduler=sched.spec.name)


def link_node_locked(tx: Tx, workflow_id: int, node_id: int, slurm_job_id: str) -> None:
    """A worker registered from inside an allocation: remember which, so that
    the allocation's end releases the node; its scheduler works again."""
    store.set_node_slurm_job(tx.conn, node_id, slurm_job_id)
    alloc = store.allocation_of_slurm_job(tx.conn, workflow_id, slurm_job_id)
    if alloc is None:
        return  # a hand-written sbatch script: still released through its lease
    if not alloc.worker_seen:
        store.mark_worker_seen(tx.conn, alloc.id)
        tx.event(workflow_id, "allocation_worker_registered", Severity.INFO, allocation_id=alloc.id,
                 slurm_job_id=slurm_job_id, compute_node_id=node_id)
    sched = store.scheduler_by_id(tx.conn, alloc.scheduler_id)
    if sched is not None and (sched.failures or sched.paused):
        store.set_breaker(tx.conn, sched.id, 0, False, 0.0, "")


def check_schedule_request(num_allocations: int) -> int:
    if num_allocations < 0 or num_allocations > 100:
        raise InvalidArgument(f"num_allocations must be between 0 (= 1) and 100, not {num_allocations}")
    return num_allocations or 1
