"""Store statements for resets, retries and compute node leases. Part of the
store layer (torc_core.store re-exports everything)."""

from __future__ import annotations

import json
from typing import Optional, Sequence

import apsw

from . import _one

__all__ = [
    "IN_FLIGHT_COUNT",
    "RESETTABLE_FAILED",
    "DOWNSTREAM",
    "RESET_JOB",
    "CLEAR_CANCEL",
    "RETRY_READY",
    "RETRY_UNINITIALIZED",
    "JOB_RULES",
    "LATEST_RETURN_CODE",
    "NODE_LEASE",
    "RENEW_LEASE",
    "EXPIRED_NODES",
    "DEACTIVATE_NODE",
    "NODE_JOBS",
    "REQUEUE_PENDING",
    "EXTEND_ACTIVE_LEASES",
    "in_flight_count",
    "resettable_failed",
    "downstream",
    "reset_jobs",
    "clear_cancel",
    "retry_ready",
    "retry_uninitialized",
    "job_rules",
    "latest_return_code",
    "node_lease",
    "renew_lease",
    "expired_nodes",
    "deactivate_node",
    "node_jobs",
    "requeue_pending",
    "extend_active_leases",
]

IN_FLIGHT_COUNT = "SELECT count(*) FROM job WHERE workflow_id = ? AND status IN (3, 4)"
# failed, canceled, terminated, pending_failed: what reset failed_only returns to 0.
RESETTABLE_FAILED = "SELECT id, status FROM job WHERE workflow_id = ? AND status IN (6, 7, 8, 10) ORDER BY id"
# Every job downstream of the seeds (transitively), seeds excluded. Implicit
# edges are in job_depends_on once the workflow was initialized.
DOWNSTREAM = """
WITH RECURSIVE down(id) AS (
    SELECT d.job_id FROM json_each(?) s
        JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = s.value
    UNION
    SELECT d.job_id FROM down
        JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = down.id
)
SELECT id FROM down ORDER BY id
"""
# Disabled jobs stay disabled: that is the user's decision, not run state.
RESET_JOB = """
UPDATE job SET status = 0, unblocking_processed = 1, active_compute_node_id = NULL
WHERE id = ? AND status NOT IN (0, 9)
"""
CLEAR_CANCEL = "UPDATE workflow SET is_canceled = 0 WHERE id = ?"
RETRY_READY = "UPDATE job SET status = 2, attempt_id = attempt_id + 1, active_compute_node_id = NULL WHERE id = ?"
RETRY_UNINITIALIZED = """
UPDATE job SET status = 0, attempt_id = attempt_id + 1, unblocking_processed = 1,
    active_compute_node_id = NULL
WHERE id = ?
"""
JOB_RULES = """
SELECT fh.rules FROM job j JOIN failure_handler fh ON fh.id = j.failure_handler_id WHERE j.id = ?
"""
LATEST_RETURN_CODE = """
SELECT return_code FROM result WHERE job_id = ? AND run_id = ? ORDER BY attempt_id DESC LIMIT 1
"""
NODE_LEASE = "SELECT workflow_id, is_active, lease_expires_at, hostname FROM compute_node WHERE id = ?"
RENEW_LEASE = "UPDATE compute_node SET lease_expires_at = ? WHERE id = ? AND is_active = 1"
EXPIRED_NODES = """
SELECT id, workflow_id, hostname FROM compute_node INDEXED BY idx_compute_node_lease
WHERE is_active = 1 AND lease_expires_at < ? ORDER BY id
"""
DEACTIVATE_NODE = """
UPDATE compute_node SET is_active = 0,
    duration_seconds = ? - CAST(strftime('%s', start_time) AS REAL)
WHERE id = ?
"""
NODE_JOBS = """
SELECT id, status FROM job INDEXED BY idx_job_active_compute_node
WHERE active_compute_node_id = ? AND status IN (3, 4) ORDER BY id
"""
REQUEUE_PENDING = "UPDATE job SET status = 2, active_compute_node_id = NULL WHERE id = ? AND status = 3"
EXTEND_ACTIVE_LEASES = """
UPDATE compute_node SET lease_expires_at = max(coalesce(lease_expires_at, 0), ?) WHERE is_active = 1
"""


def in_flight_count(conn: apsw.Connection, workflow_id: int) -> int:
    return _one(conn, IN_FLIGHT_COUNT, (workflow_id,))[0]


def resettable_failed(conn: apsw.Connection, workflow_id: int) -> list[tuple[int, int]]:
    return conn.execute(RESETTABLE_FAILED, (workflow_id,)).fetchall()


def downstream(conn: apsw.Connection, job_ids: Sequence[int]) -> list[int]:
    if not job_ids:
        return []
    return [r[0] for r in conn.execute(DOWNSTREAM, (json.dumps(list(job_ids)),))]


def reset_jobs(conn: apsw.Connection, job_ids: Sequence[int]) -> int:
    """Back to uninitialized (disabled and uninitialized jobs untouched); how many changed."""
    before = conn.total_changes()
    conn.executemany(RESET_JOB, ((j,) for j in job_ids))
    return conn.total_changes() - before


def clear_cancel(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(CLEAR_CANCEL, (workflow_id,))


def retry_ready(conn: apsw.Connection, job_id: int) -> None:
    conn.execute(RETRY_READY, (job_id,))


def retry_uninitialized(conn: apsw.Connection, job_id: int) -> None:
    conn.execute(RETRY_UNINITIALIZED, (job_id,))


def job_rules(conn: apsw.Connection, job_id: int) -> list[dict]:
    row = _one(conn, JOB_RULES, (job_id,))
    return json.loads(row[0]) if row else []


def latest_return_code(conn: apsw.Connection, job_id: int, run_id: int) -> Optional[int]:
    row = _one(conn, LATEST_RETURN_CODE, (job_id, run_id))
    return row[0] if row else None


def node_lease(conn: apsw.Connection, node_id: int) -> Optional[tuple]:
    """(workflow_id, is_active, lease_expires_at, hostname) or None."""
    return _one(conn, NODE_LEASE, (node_id,))


def renew_lease(conn: apsw.Connection, node_id: int, expires_at: float) -> None:
    conn.execute(RENEW_LEASE, (expires_at, node_id))


def expired_nodes(conn: apsw.Connection, now: float) -> list[tuple[int, int, str]]:
    return conn.execute(EXPIRED_NODES, (now,)).fetchall()


def deactivate_node(conn: apsw.Connection, node_id: int, now: float) -> None:
    conn.execute(DEACTIVATE_NODE, (now, node_id))


def node_jobs(conn: apsw.Connection, node_id: int) -> list[tuple[int, int]]:
    """(job id, status) of the PENDING and RUNNING jobs a node holds."""
    return conn.execute(NODE_JOBS, (node_id,)).fetchall()


def requeue_pending(conn: apsw.Connection, job_ids: Sequence[int]) -> None:
    conn.executemany(REQUEUE_PENDING, ((j,) for j in job_ids))


def extend_active_leases(conn: apsw.Connection, expires_at: float) -> None:
    conn.execute(EXTEND_ACTIVE_LEASES, (expires_at,))
