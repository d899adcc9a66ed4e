"""The compute_node table: registrations, their resources and leases."""

from __future__ import annotations

from typing import Optional

import apsw

from ..models import ComputeNode, ComputeNodeSpec, JobStatus, Resources
from ._rows import one
from .records import ExpiredNode, NodeLease, NodeOwner

INSERT_COMPUTE_NODE = """
INSERT INTO compute_node (workflow_id, hostname, pid, start_time, num_cpus, memory_bytes,
    num_gpus, num_nodes, time_limit_seconds, scheduler_config_id, compute_node_type,
    lease_expires_at, output_dir)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
COMPUTE_NODE_WORKFLOW = "SELECT workflow_id, is_active FROM compute_node WHERE id = ?"
COMPUTE_NODE_RESOURCES = """
SELECT num_cpus, memory_bytes, num_gpus, num_nodes, time_limit_seconds
FROM compute_node WHERE id = ?
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
LIST_COMPUTE_NODES = f"""
SELECT n.id, n.workflow_id, n.hostname, n.pid, n.start_time, n.num_cpus, n.memory_bytes, n.num_gpus,
    n.num_nodes, n.time_limit_seconds, n.is_active, n.lease_expires_at, n.compute_node_type,
    n.slurm_job_id, coalesce(n.duration_seconds, 0),
    (SELECT count(*) FROM job j WHERE j.active_compute_node_id = n.id AND j.status = {int(JobStatus.PENDING)}),
    (SELECT count(*) FROM job j WHERE j.active_compute_node_id = n.id AND j.status = {int(JobStatus.RUNNING)}),
    n.output_dir
FROM compute_node n
WHERE n.workflow_id = ? AND n.id > ? AND (n.is_active = 1 OR ? = 0)
ORDER BY n.id LIMIT ?
"""
COUNT_ACTIVE_NODES = "SELECT count(*) FROM compute_node WHERE is_active = 1"
EXTEND_ACTIVE_LEASES = """
UPDATE compute_node SET lease_expires_at = max(coalesce(lease_expires_at, 0), ?) WHERE is_active = 1
"""


def insert_compute_node(
    conn: apsw.Connection, spec: ComputeNodeSpec, start_time: str, lease_expires_at: float
) -> int:
    r = spec.resources
    conn.execute(INSERT_COMPUTE_NODE, (
        spec.workflow_id, spec.hostname, spec.pid, start_time, r.num_cpus, r.memory_bytes,
        r.num_gpus, max(1, r.num_nodes), r.time_limit_seconds, spec.scheduler_config_id,
        spec.compute_node_type or "local", lease_expires_at, spec.output_dir,
    ))
    return conn.last_insert_rowid()


def compute_node_owner(conn: apsw.Connection, node_id: int) -> Optional[NodeOwner]:
    row = one(conn, COMPUTE_NODE_WORKFLOW, (node_id,))
    return NodeOwner._make(row) if row else None


def compute_node_resources(conn: apsw.Connection, node_id: int) -> Optional[Resources]:
    """The resources the node registered with."""
    row = one(conn, COMPUTE_NODE_RESOURCES, (node_id,))
    return Resources(*row) if row else None


def list_compute_nodes(conn: apsw.Connection, workflow_id: int, active_only: bool, after_id: int,
                       limit: int) -> list[ComputeNode]:
    return [ComputeNode(id=r[0], workflow_id=r[1], hostname=r[2], pid=r[3], start_time=r[4],
                        resources=Resources(r[5], r[6], r[7], r[8], r[9]), is_active=bool(r[10]),
                        lease_expires_at=r[11], compute_node_type=r[12], slurm_job_id=r[13],
                        duration_seconds=r[14], pending_jobs=r[15], running_jobs=r[16], output_dir=r[17])
            for r in conn.execute(LIST_COMPUTE_NODES, (workflow_id, after_id, int(active_only), limit))]


def count_active_nodes(conn: apsw.Connection) -> int:
    return one(conn, COUNT_ACTIVE_NODES)[0]


def node_lease(conn: apsw.Connection, node_id: int) -> Optional[NodeLease]:
    row = one(conn, NODE_LEASE, (node_id,))
    return NodeLease._make(row) if row else None


def renew_lease(conn: apsw.Connection, node_id: int, expires_at: float) -> None:
    conn.execute(RENEW_LEASE, (expires_at, node_id))


def expired_nodes(conn: apsw.Connection, now: float) -> list[ExpiredNode]:
    return [ExpiredNode._make(r) for r in conn.execute(EXPIRED_NODES, (now,))]


def deactivate_node(conn: apsw.Connection, node_id: int, now: float) -> None:
    conn.execute(DEACTIVATE_NODE, (now, node_id))


def extend_active_leases(conn: apsw.Connection, expires_at: float) -> None:
    conn.execute(EXTEND_ACTIVE_LEASES, (expires_at,))
