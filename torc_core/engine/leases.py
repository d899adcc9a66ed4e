"""Leases: Heartbeat, and the thread that expires compute nodes that stopped
heartbeating.

On expiry the node becomes inactive, its PENDING jobs go back to READY, and
its RUNNING jobs fail with return code -128 through the normal completion
write (so failure handlers and cascades apply); the node is refused from
then on (FAILED_PRECONDITION), so its worker stops.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional

from .. import store
from ..errors import InvalidTransition, NotFound
from ..models import Completion, JobStatus, Severity
from ..store import NodeLease
from .completion import Completer
from .core import EngineCore, Requeued, Tx

log = logging.getLogger("torc_core.engine")

#: Return code recorded for a job whose compute node vanished (torc's orphans).
ORPHAN_RETURN_CODE = -128


class Leases:
    """Compute-node leases (see module docstring)."""

    def __init__(self, core: EngineCore, completer: Completer) -> None:
        self._core = core
        self._completer = completer
        #: The expiry thread, while leases are on.
        self._keeper: Optional[LeaseKeeper] = None

    def start(self) -> None:
        """Give every active node a fresh lease (nobody could heartbeat while
        the server was down) and start the expiry thread; no-op when leases are off."""
        core = self._core
        if core.lease_seconds <= 0:
            return
        with core.write_lock, core.transaction() as tx:
            store.extend_active_leases(tx.conn, time.time() + core.lease_seconds)
        self._keeper = LeaseKeeper(self.expire_leases, min(1.0, max(0.05, core.lease_seconds / 10)))

    def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.stop()

    def heartbeat(self, compute_node_id: int) -> tuple[float, list[int], list[int]]:
        """Extend a node's lease; returns the lease length in seconds, the
        jobs the node claimed but has not started, and the jobs it holds RUNNING.

        Raises:
            NotFound: Unknown node.
            InvalidTransition: The lease already expired (the worker must stop).
        """
        core = self._core
        with core.write_lock, core.transaction() as tx:
            lease = _lease(tx, compute_node_id)
            if not lease.is_active:
                raise InvalidTransition(
                    f"compute node {compute_node_id}'s lease expired and its jobs were given back; "
                    "stop, and register again to continue"
                )
            store.renew_lease(tx.conn, compute_node_id, time.time() + core.lease_seconds)
            held = store.node_jobs(tx.conn, compute_node_id)
        pending = [j.job_id for j in held if j.status == JobStatus.PENDING]
        return core.lease_seconds, pending, [j.job_id for j in held if j.status == JobStatus.RUNNING]

    def expire_leases(self, now: Optional[float] = None) -> int:
        """Expire every active node whose lease ran out; returns how many."""
        core = self._core
        now = time.time() if now is None else now
        with core.write_lock, core.transaction() as tx:
            expired = store.expired_nodes(tx.conn, now)
            for node in expired:
                self.release_locked(tx, node.id, node.workflow_id, node.hostname, now,
                                     "compute_node_expired")
        for node in expired:
            log.warning("workflow %d: compute node %d missed its lease: jobs given back",
                        node.workflow_id, node.id)
        return len(expired)

    def deregister(self, compute_node_id: int) -> tuple[list[int], list[int]]:
        """A worker that stops says goodbye: as a lease expiry, at once. Its
        claimed jobs go back to READY and jobs it still runs fail with -128.
        Repeating it is a no-op.

        Returns:
            (requeued job ids, failed job ids).

        Raises:
            NotFound: Unknown node.
        """
        core = self._core
        with core.write_lock, core.transaction() as tx:
            lease = _lease(tx, compute_node_id)
            if not lease.is_active:
                return [], []
            released = self.release_locked(tx, compute_node_id, lease.workflow_id, lease.hostname,
                                            time.time(), "compute_node_deregistered")
        log.info("workflow %d: compute node %d deregistered (%d claims given back, %d running "
                 "jobs failed)", lease.workflow_id, compute_node_id, len(released[0]),
                 len(released[1]))
        return released

    def release_locked(self, tx: Tx, node_id: int, workflow_id: int, hostname: str, now: float,
                        event_type: str) -> tuple[list[int], list[int]]:
        """Deactivate a node: its pending jobs back to READY, its running jobs
        failed with ORPHAN_RETURN_CODE through the normal completion write."""
        store.deactivate_node(tx.conn, node_id, now)
        held = store.node_jobs(tx.conn, node_id)
        pending = [j.job_id for j in held if j.status == JobStatus.PENDING]
        running = [j.job_id for j in held if j.status == JobStatus.RUNNING]
        store.requeue_pending(tx.conn, pending)
        tx.requeued += [Requeued(workflow_id, j) for j in pending]
        run_id = self._core.workflow(tx.conn, workflow_id).run_id
        for job_id in running:
            self._completer.complete_one(tx, Completion(
                job_id=job_id, status=JobStatus.FAILED, run_id=run_id,
                return_code=ORPHAN_RETURN_CODE, error=f"compute node {node_id} went away"))
        tx.event(workflow_id, event_type, Severity.WARNING, compute_node_id=node_id,
                 hostname=hostname, requeued=pending, failed=running,
                 return_code=ORPHAN_RETURN_CODE)
        return pending, running


def _lease(tx: Tx, node_id: int) -> NodeLease:
    lease = store.node_lease(tx.conn, node_id)
    if lease is None:
        raise NotFound(f"compute node {node_id} not found", compute_node_id=node_id)
    return lease


class LeaseKeeper:
    """The thread that expires leases, every `interval` seconds."""

    def __init__(self, expire: Callable[[], int], interval: float) -> None:
        self._expire = expire
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="torc-leases", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._expire()
            except Exception:  # keep the thread alive; the next tick retries
                log.exception("lease expiry failed")
