"""Named items of a workflow: resource sets, files, user data, failure
handlers (and the name -> id maps definitions resolve references with)."""

from __future__ import annotations

import json
from typing import Iterable, Optional

import apsw

from ._rows import insert_rows_with_ids, one

INSERT_RESOURCE_REQUIREMENTS = """
INSERT INTO resource_requirements
    (workflow_id, name, num_cpus, num_gpus, num_nodes, memory, runtime, memory_bytes, runtime_s)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_FILE = "INSERT INTO file (workflow_id, name, path) VALUES (?, ?, ?)"
INSERT_USER_DATA = (
    "INSERT INTO user_data (workflow_id, name, data, is_ephemeral) VALUES (?, ?, ?, ?)"
)
INSERT_FAILURE_HANDLER = "INSERT INTO failure_handler (workflow_id, name, rules) VALUES (?, ?, ?)"
NAME_MAPS = {
    "resource_requirements": "SELECT name, id FROM resource_requirements WHERE workflow_id = ?",
    "file": "SELECT name, id FROM file WHERE workflow_id = ?",
    "user_data": "SELECT name, id FROM user_data WHERE workflow_id = ?",
    "failure_handler": "SELECT name, id FROM failure_handler WHERE workflow_id = ?",
    "job": "SELECT name, id FROM job WHERE workflow_id = ?",
}
DELETE_BY_ID = {
    "job": "DELETE FROM job WHERE id = ?",
    "file": "DELETE FROM file WHERE id = ?",
    "user_data": "DELETE FROM user_data WHERE id = ?",
    "resource_requirements": "DELETE FROM resource_requirements WHERE id = ?",
    "failure_handler": "DELETE FROM failure_handler WHERE id = ?",
}
JOB_RULES = """
SELECT fh.rules FROM job j JOIN failure_handler fh ON fh.id = j.failure_handler_id WHERE j.id = ?
"""


def insert_resource_requirements(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_RESOURCE_REQUIREMENTS, rows)


def insert_files(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_FILE, rows)


def insert_user_data(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_USER_DATA, rows)


def insert_failure_handlers(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_FAILURE_HANDLER, rows)


def name_map(conn: apsw.Connection, kind: str, workflow_id: int) -> dict[str, int]:
    """name -> id for one kind of named item of a workflow (jobs included)."""
    return dict(conn.execute(NAME_MAPS[kind], (workflow_id,)))


def delete_items(conn: apsw.Connection, kind: str, ids: Iterable[int]) -> None:
    """Delete rows by id (cascading to their relations); used to undo a stream."""
    conn.executemany(DELETE_BY_ID[kind], ((i,) for i in ids))


def job_rules(conn: apsw.Connection, job_id: int) -> list[dict]:
    """The rules of the job's failure handler ([] without one)."""
    row: Optional[tuple] = one(conn, JOB_RULES, (job_id,))
    return json.loads(row[0]) if row else []
