"""Access groups, their members and workflows, and worker tokens (stored as digests)."""

from __future__ import annotations

from typing import NamedTuple, Optional, Sequence

import apsw

from ._rows import chunks, one, placeholders


class GroupRow(NamedTuple):
    id: int
    name: str
    created_by: str
    members: tuple[str, ...]
    workflow_ids: tuple[int, ...]


class WorkerTokenRow(NamedTuple):
    id: int
    workflow_id: int
    created_by: str
    created_at: str
    expires_at: float
    revoked: int


INSERT_GROUP = "INSERT INTO access_group (name, created_by, created_at) VALUES (?, ?, ?)"
GROUP_BY_NAME = "SELECT id, name, created_by FROM access_group WHERE name = ?"
LIST_GROUPS = "SELECT id, name, created_by FROM access_group ORDER BY name"
GROUP_MEMBERS = "SELECT user FROM access_group_member WHERE group_id = ? ORDER BY user"
GROUP_WORKFLOWS = "SELECT workflow_id FROM workflow_access_group WHERE group_id = ? ORDER BY workflow_id"
DELETE_GROUP = "DELETE FROM access_group WHERE id = ?"
ADD_MEMBER = "INSERT OR IGNORE INTO access_group_member (group_id, user) VALUES (?, ?)"
REMOVE_MEMBER = "DELETE FROM access_group_member WHERE group_id = ? AND user = ?"
LINK = "INSERT OR IGNORE INTO workflow_access_group (workflow_id, group_id) VALUES (?, ?)"
UNLINK = "DELETE FROM workflow_access_group WHERE workflow_id = ? AND group_id = ?"
WORKFLOW_OWNER = "SELECT user FROM workflow WHERE id = ?"
WORKFLOW_MEMBERS = """
SELECT DISTINCT m.user FROM workflow_access_group w JOIN access_group_member m ON m.group_id = w.group_id
WHERE w.workflow_id = ?
"""
WORKFLOW_GROUP_NAMES = """
SELECT g.name FROM workflow_access_group w JOIN access_group g ON g.id = w.group_id
WHERE w.workflow_id = ? ORDER BY g.name
"""
JOB_WORKFLOW = "SELECT workflow_id FROM job WHERE id = ?"
JOB_WORKFLOWS = "SELECT id, workflow_id FROM job WHERE id IN ({})"
NODE_WORKFLOW = "SELECT workflow_id FROM compute_node WHERE id = ?"
INSERT_WORKER_TOKEN = """
INSERT INTO worker_token (workflow_id, digest, created_by, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
"""
WORKER_TOKEN_BY_DIGEST = """
SELECT id, workflow_id, created_by, created_at, expires_at, revoked FROM worker_token WHERE digest = ?
"""
WORKER_TOKENS_OF = """
SELECT id, workflow_id, created_by, created_at, expires_at, revoked FROM worker_token
WHERE workflow_id = ? ORDER BY id
"""
WORKER_TOKEN_BY_ID = """
SELECT id, workflow_id, created_by, created_at, expires_at, revoked FROM worker_token WHERE id = ?
"""
REVOKE_WORKER_TOKEN = "UPDATE worker_token SET revoked = 1 WHERE id = ?"


def insert_group(conn: apsw.Connection, name: str, created_by: str, created_at: str) -> int:
    """A new group; raises apsw.ConstraintError when the name is taken (callers check first)."""
    conn.execute(INSERT_GROUP, (name, created_by, created_at))
    return conn.last_insert_rowid()


def group_by_name(conn: apsw.Connection, name: str) -> Optional[GroupRow]:
    row = one(conn, GROUP_BY_NAME, (name,))
    if row is None:
        return None
    return _group(conn, row)


def _group(conn: apsw.Connection, row: tuple) -> GroupRow:
    members = tuple(r[0] for r in conn.execute(GROUP_MEMBERS, (row[0],)))
    workflows = tuple(r[0] for r in conn.execute(GROUP_WORKFLOWS, (row[0],)))
    return GroupRow(row[0], row[1], row[2], members, workflows)


def list_groups(conn: apsw.Connection) -> list[GroupRow]:
    return [_group(conn, row) for row in conn.execute(LIST_GROUPS).fetchall()]


def delete_group(conn: apsw.Connection, group_id: int) -> None:
    conn.execute(DELETE_GROUP, (group_id,))


def add_member(conn: apsw.Connection, group_id: int, user: str) -> None:
    conn.execute(ADD_MEMBER, (group_id, user))


def remove_member(conn: apsw.Connection, group_id: int, user: str) -> None:
    conn.execute(REMOVE_MEMBER, (group_id, user))


def link_workflow(conn: apsw.Connection, workflow_id: int, group_id: int) -> None:
    conn.execute(LINK, (workflow_id, group_id))


def unlink_workflow(conn: apsw.Connection, workflow_id: int, group_id: int) -> None:
    conn.execute(UNLINK, (workflow_id, group_id))


def workflow_owner(conn: apsw.Connection, workflow_id: int) -> Optional[str]:
    row = one(conn, WORKFLOW_OWNER, (workflow_id,))
    return row[0] if row else None


def workflow_members(conn: apsw.Connection, workflow_id: int) -> frozenset[str]:
    return frozenset(r[0] for r in conn.execute(WORKFLOW_MEMBERS, (workflow_id,)))


def workflow_group_names(conn: apsw.Connection, workflow_id: int) -> list[str]:
    return [r[0] for r in conn.execute(WORKFLOW_GROUP_NAMES, (workflow_id,))]


def job_workflow(conn: apsw.Connection, job_id: int) -> Optional[int]:
    row = one(conn, JOB_WORKFLOW, (job_id,))
    return row[0] if row else None


def job_workflows(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, int]:
    """job id -> workflow id for the jobs that exist."""
    out: dict[int, int] = {}
    for chunk in chunks(list(job_ids)):
        out.update(conn.execute(JOB_WORKFLOWS.format(placeholders(len(chunk))), tuple(chunk)))
    return out


def node_workflow(conn: apsw.Connection, node_id: int) -> Optional[int]:
    row = one(conn, NODE_WORKFLOW, (node_id,))
    return row[0] if row else None


def insert_worker_token(conn: apsw.Connection, workflow_id: int, digest: str, created_by: str,
                        created_at: str, expires_at: float) -> int:
    conn.execute(INSERT_WORKER_TOKEN, (workflow_id, digest, created_by, created_at, expires_at))
    return conn.last_insert_rowid()


def worker_token_by_digest(conn: apsw.Connection, digest: str) -> Optional[WorkerTokenRow]:
    row = one(conn, WORKER_TOKEN_BY_DIGEST, (digest,))
    return WorkerTokenRow._make(row) if row else None


def worker_token_by_id(conn: apsw.Connection, token_id: int) -> Optional[WorkerTokenRow]:
    row = one(conn, WORKER_TOKEN_BY_ID, (token_id,))
    return WorkerTokenRow._make(row) if row else None


def worker_tokens_of(conn: apsw.Connection, workflow_id: int) -> list[WorkerTokenRow]:
    return [WorkerTokenRow._make(r) for r in conn.execute(WORKER_TOKENS_OF, (workflow_id,))]


def revoke_worker_token(conn: apsw.Connection, token_id: int) -> None:
    conn.execute(REVOKE_WORKER_TOKEN, (token_id,))
