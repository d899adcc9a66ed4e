"""The workflow table."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional

import apsw

from ..models import ResourceMonitor, Workflow
from ._rows import WORKFLOW_COLUMNS, one, workflow_from_row
from .records import WorkflowBrief

INSERT_WORKFLOW = """
INSERT INTO workflow (name, user, description, created_at, jobs_sort_method, env)
VALUES (?, ?, ?, ?, ?, ?)
"""
GET_WORKFLOW = f"SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE id = ?"
WORKFLOW_BRIEF = "SELECT run_id, is_canceled, jobs_sort_method FROM workflow WHERE id = ?"
LIST_WORKFLOWS = f"SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE id > ? ORDER BY id LIMIT ?"
LIST_WORKFLOWS_BY_USER = (
    f"SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE user = ? AND id > ? ORDER BY id LIMIT ?"
)
# What a user may see: workflows they own, or linked to a group they are in.
_VISIBLE = """(user = ?2 OR EXISTS (SELECT 1 FROM workflow_access_group a
    JOIN access_group_member m ON m.group_id = a.group_id
    WHERE a.workflow_id = workflow.id AND m.user = ?2))"""
LIST_WORKFLOWS_VISIBLE = (
    f"SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE id > ?1 AND {_VISIBLE} ORDER BY id LIMIT ?3"
)
LIST_WORKFLOWS_BY_USER_VISIBLE = (
    f"SELECT {WORKFLOW_COLUMNS} FROM workflow WHERE id > ?1 AND user = ?4 AND {_VISIBLE} "
    "ORDER BY id LIMIT ?3"
)
DELETE_WORKFLOW = "DELETE FROM workflow WHERE id = ?"
START_RUN = "UPDATE workflow SET run_id = run_id + 1, is_canceled = 0 WHERE id = ?"
RUN_ID = "SELECT run_id FROM workflow WHERE id = ?"
SET_RESOURCE_MONITOR = "UPDATE workflow SET resource_monitor = ? WHERE id = ?"
RESOURCE_MONITOR = "SELECT resource_monitor FROM workflow WHERE id = ?"
SET_CANCELED = "UPDATE workflow SET is_canceled = 1 WHERE id = ?"
CLEAR_CANCEL = "UPDATE workflow SET is_canceled = 0 WHERE id = ?"


def insert_workflow(
    conn: apsw.Connection,
    name: str,
    user: str,
    description: str,
    created_at: str,
    jobs_sort_method: str,
    env: dict,
) -> int:
    conn.execute(
        INSERT_WORKFLOW,
        (name, user, description, created_at, jobs_sort_method, json.dumps(env, sort_keys=True)),
    )
    return conn.last_insert_rowid()


def get_workflow(conn: apsw.Connection, workflow_id: int) -> Optional[Workflow]:
    row = one(conn, GET_WORKFLOW, (workflow_id,))
    return workflow_from_row(row) if row else None


def workflow_brief(conn: apsw.Connection, workflow_id: int) -> Optional[WorkflowBrief]:
    """A workflow's run, cancel flag and sort method (the hot paths' read)."""
    row = one(conn, WORKFLOW_BRIEF, (workflow_id,))
    return WorkflowBrief._make(row) if row else None


def set_resource_monitor(conn: apsw.Connection, workflow_id: int, monitor: ResourceMonitor) -> None:
    conn.execute(SET_RESOURCE_MONITOR, (json.dumps(dataclasses.asdict(monitor), sort_keys=True), workflow_id))


def resource_monitor(conn: apsw.Connection, workflow_id: int) -> ResourceMonitor:
    row = one(conn, RESOURCE_MONITOR, (workflow_id,))
    return ResourceMonitor(**json.loads(row[0])) if row and row[0] else ResourceMonitor()


def list_workflows(conn: apsw.Connection, user: str, after_id: int, limit: int,
                   visible_to: Optional[str] = None) -> list[Workflow]:
    """Workflows by id; `user` filters by owner; `visible_to` keeps only
    those that user may see (None: every workflow)."""
    if visible_to is not None:
        if user:
            rows = conn.execute(LIST_WORKFLOWS_BY_USER_VISIBLE, (after_id, visible_to, limit, user))
        else:
            rows = conn.execute(LIST_WORKFLOWS_VISIBLE, (after_id, visible_to, limit))
        return [workflow_from_row(r) for r in rows]
    if user:
        rows = conn.execute(LIST_WORKFLOWS_BY_USER, (user, after_id, limit))
    else:
        rows = conn.execute(LIST_WORKFLOWS, (after_id, limit))
    return [workflow_from_row(r) for r in rows]


def delete_workflow(conn: apsw.Connection, workflow_id: int) -> bool:
    """Delete a workflow and, by foreign-key cascade, everything in it."""
    conn.execute(DELETE_WORKFLOW, (workflow_id,))
    return conn.changes() > 0


def start_run(conn: apsw.Connection, workflow_id: int) -> int:
    """Bump run_id and clear the cancel flag; return the new run_id."""
    conn.execute(START_RUN, (workflow_id,))
    return one(conn, RUN_ID, (workflow_id,))[0]


def set_canceled(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(SET_CANCELED, (workflow_id,))


def clear_cancel(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(CLEAR_CANCEL, (workflow_id,))
