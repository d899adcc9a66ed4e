"""The compute_node table: registrations, their resources and leases."""

from __future__ import annotations

from typing import Optional

import apsw

from ..models import ComputeNodeSpec, Resources
from ._rows import one
from .records import ExpiredNode, NodeLease, NodeOwner

INSERT_COMPUTE_NODE = """
INSERT INTO compute_node (workflow_id, hostname, pid, start_time, num_cpus, memory_bytes,
    num_gpus, num_nodes, time_limit_seconds, scheduler_config_id, compute_node_type,
    lease_expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
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
        spec.compute_node_type or "local", lease_expires_at,
    ))
    return conn.last_insert_rowid()


def compute_node_owner(conn: apsw.Connection, node_id: int) -> Optional[NodeOwner]:
    row = one(conn, COMPUTE_NODE_WORKFLOW, (node_id,))
    return NodeOwner._make(row) if row else None


def compute_node_resources(conn: apsw.Connection, node_id: int) -> Optional[Resources]:
    """The resources the node registered with."""
    row = one(conn, COMPUTE_NODE_RESOURCES, (node_id,))
    return Resources(*row) if row else None


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
