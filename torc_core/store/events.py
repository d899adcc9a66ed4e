"""The event table: the workflow's history, in id order."""

from __future__ import annotations

import apsw

from ..models import Event, Severity
from ._rows import one

INSERT_EVENT = """
INSERT INTO event (workflow_id, timestamp_ms, event_type, severity, data) VALUES (?, ?, ?, ?, ?)
"""
LAST_EVENT_ID = "SELECT max(id) FROM event WHERE workflow_id = ?"
LIST_EVENTS = """
SELECT id, workflow_id, timestamp_ms, event_type, severity, data FROM event
WHERE workflow_id = ? AND id > ? AND severity >= ? ORDER BY id LIMIT ?
"""


def insert_event(
    conn: apsw.Connection,
    workflow_id: int,
    timestamp_ms: int,
    event_type: str,
    severity: Severity,
    data: str,
) -> int:
    """Insert one event; `data` is its JSON text."""
    conn.execute(INSERT_EVENT, (workflow_id, timestamp_ms, event_type, int(severity), data))
    return conn.last_insert_rowid()


def last_event_id(conn: apsw.Connection, workflow_id: int) -> int:
    return one(conn, LAST_EVENT_ID, (workflow_id,))[0] or 0


def list_events(
    conn: apsw.Connection, workflow_id: int, after: int, min_severity: int, limit: int
) -> list[Event]:
    return [
        Event(r[0], r[1], r[2], r[3], Severity(r[4]), r[5])
        for r in conn.execute(LIST_EVENTS, (workflow_id, after, min_severity, limit))
    ]
