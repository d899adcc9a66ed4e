"""Workflow actions: their definitions, the jobs they wait for, and who ran them."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional, Sequence

import apsw

from ..slurm.models import ActionSpec, StoredAction
from ._rows import chunks, one, placeholders, statuses_sql

statuses_for = statuses_sql

INSERT_ACTION = """
INSERT INTO workflow_action (workflow_id, trigger_type, action_type, spec, required_triggers)
VALUES (?, ?, ?, ?, ?)
"""
INSERT_ACTION_JOB = "INSERT OR IGNORE INTO workflow_action_job (action_id, job_id, workflow_id) VALUES (?, ?, ?)"
ACTION_COLUMNS = "id, workflow_id, spec, required_triggers, trigger_count, fired_at IS NOT NULL, executed"
ACTIONS = f"SELECT {ACTION_COLUMNS} FROM workflow_action WHERE workflow_id = ? ORDER BY id"
ACTION_BY_ID = f"SELECT {ACTION_COLUMNS} FROM workflow_action WHERE id = ?"
HAS_ACTIONS = "SELECT 1 FROM workflow_action WHERE workflow_id = ? LIMIT 1"
RESET_ACTIONS = "UPDATE workflow_action SET trigger_count = 0, fired_at = NULL, executed = 0 WHERE workflow_id = ?"
RESET_ACTION_JOBS = "UPDATE workflow_action_job SET counted = 0 WHERE workflow_id = ?"
RESET_ACTION_NODES = """
DELETE FROM workflow_action_node WHERE action_id IN (SELECT id FROM workflow_action WHERE workflow_id = ?)
"""
#: Mark members of a trigger type's actions counted; RETURNING says which actions gained.
COUNT_JOBS = """
UPDATE workflow_action_job SET counted = 1
WHERE job_id IN ({ids}) AND counted = 0
  AND action_id IN (SELECT id FROM workflow_action WHERE workflow_id = ? AND trigger_type = ?)
RETURNING action_id
"""
COUNT_BY_STATUS = """
UPDATE workflow_action_job SET counted = 1
WHERE workflow_id = ? AND counted = 0
  AND action_id IN (SELECT id FROM workflow_action WHERE workflow_id = ? AND trigger_type = ?)
  AND job_id IN (SELECT id FROM job WHERE workflow_id = ? AND status IN ({statuses}))
RETURNING action_id
"""
ADD_TRIGGERS = "UPDATE workflow_action SET trigger_count = trigger_count + ? WHERE id = ?"
FIRE_DUE = """
UPDATE workflow_action SET fired_at = ?
WHERE workflow_id = ? AND fired_at IS NULL AND trigger_count >= required_triggers
RETURNING id, action_type
"""
TRIGGER_WORKFLOW = """
UPDATE workflow_action SET trigger_count = required_triggers
WHERE workflow_id = ? AND trigger_type = ? AND fired_at IS NULL
"""
FIRED_UNCLAIMED = f"""
SELECT {ACTION_COLUMNS} FROM workflow_action
WHERE workflow_id = ? AND action_type = ? AND fired_at IS NOT NULL AND executed = 0 ORDER BY id
"""
CLAIM_ACTION = "UPDATE workflow_action SET executed = 1 WHERE id = ? AND executed = 0"
NODE_RAN = "INSERT OR IGNORE INTO workflow_action_node (action_id, compute_node_id) VALUES (?, ?)"
def _action(row: tuple) -> StoredAction:
    raw = json.loads(row[2])
    raw["jobs"] = tuple(raw.get("jobs") or ())
    raw["commands"] = tuple(raw.get("commands") or ())
    return StoredAction(row[0], row[1], ActionSpec(**raw), row[3], row[4], bool(row[5]), bool(row[6]))


def insert_action(conn: apsw.Connection, workflow_id: int, spec: ActionSpec, job_ids: Sequence[int]) -> int:
    text = json.dumps({**dataclasses.asdict(spec), "jobs": []}, sort_keys=True)
    conn.execute(INSERT_ACTION, (workflow_id, spec.trigger_type, spec.action_type, text, max(1, len(job_ids))))
    action_id = conn.last_insert_rowid()
    conn.executemany(INSERT_ACTION_JOB, [(action_id, j, workflow_id) for j in job_ids])
    return action_id


def actions(conn: apsw.Connection, workflow_id: int) -> list[StoredAction]:
    return [_action(r) for r in conn.execute(ACTIONS, (workflow_id,))]


def action_by_id(conn: apsw.Connection, action_id: int) -> Optional[StoredAction]:
    row = one(conn, ACTION_BY_ID, (action_id,))
    return _action(row) if row else None


def has_actions(conn: apsw.Connection, workflow_id: int) -> bool:
    return one(conn, HAS_ACTIONS, (workflow_id,)) is not None


def reset_actions(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(RESET_ACTIONS, (workflow_id,))
    conn.execute(RESET_ACTION_JOBS, (workflow_id,))
    conn.execute(RESET_ACTION_NODES, (workflow_id,))


def _add(conn: apsw.Connection, gained: list[int]) -> None:
    counts: dict[int, int] = {}
    for action_id in gained:
        counts[action_id] = counts.get(action_id, 0) + 1
    conn.executemany(ADD_TRIGGERS, [(n, a) for a, n in counts.items()])


def count_jobs(conn: apsw.Connection, workflow_id: int, trigger_type: str, job_ids: Sequence[int]) -> None:
    """Count each job toward `trigger_type` actions that wait for it (once per run)."""
    gained: list[int] = []
    for part in chunks(list(job_ids)):
        sql = COUNT_JOBS.format(ids=placeholders(len(part)))
        gained.extend(r[0] for r in conn.execute(sql, (*part, workflow_id, trigger_type)))
    _add(conn, gained)


def count_by_status(conn: apsw.Connection, workflow_id: int, trigger_type: str, statuses_sql: str) -> None:
    """Count every member whose job has one of the statuses now (after a reset)."""
    sql = COUNT_BY_STATUS.format(statuses=statuses_sql)
    _add(conn, [r[0] for r in conn.execute(sql, (workflow_id, workflow_id, trigger_type, workflow_id))])


def trigger_workflow(conn: apsw.Connection, workflow_id: int, trigger_type: str) -> None:
    conn.execute(TRIGGER_WORKFLOW, (workflow_id, trigger_type))


def fire_due(conn: apsw.Connection, workflow_id: int, now: str) -> list[tuple[int, str]]:
    """Mark fired every action whose count is complete; (id, action_type) of each."""
    return [(r[0], r[1]) for r in conn.execute(FIRE_DUE, (now, workflow_id))]


def fired_unclaimed(conn: apsw.Connection, workflow_id: int, action_type: str) -> list[StoredAction]:
    return [_action(r) for r in conn.execute(FIRED_UNCLAIMED, (workflow_id, action_type))]


def claim_action(conn: apsw.Connection, action_id: int) -> bool:
    conn.execute(CLAIM_ACTION, (action_id,))
    return conn.changes() == 1


def node_ran(conn: apsw.Connection, action_id: int, node_id: int) -> bool:
    """Record that a node ran a persistent action; False when it already had."""
    conn.execute(NODE_RAN, (action_id, node_id))
    return conn.changes() == 1

