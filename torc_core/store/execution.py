"""Store statements for running workflows, maintenance, and the SQL reference
unblocking. Part of the store layer (torc_core.store re-exports everything)."""

from __future__ import annotations

from typing import Optional, Sequence

import apsw

from . import (
    CLEAR_UNBLOCKING,
    _JOB_SELECT,
    _RESULT_COLUMNS,
    _job,
    _one,
    _result,
    placeholders,
)
from ..models import Job, Result

__all__ = [
    "TABLE_NAMES",
    "dump_tables",
    "integrity_problems",
    "INSERT_COMPUTE_NODE",
    "COMPUTE_NODE_WORKFLOW",
    "COMPUTE_NODE_RESOURCES",
    "READY_JOB_IDS",
    "CANCEL_WORKFLOW",
    "IN_FLIGHT_JOBS",
    "CANCEL_IN_FLIGHT",
    "compute_node_resources",
    "ready_job_ids",
    "cancel_workflow",
    "READY_CLASS_ROWS",
    "CLASS_ROWS_BY_IDS",
    "JOBS_BY_IDS",
    "JOB_STATE",
    "CLAIM_JOB",
    "START_JOB",
    "INSERT_RESULT",
    "COMPLETE_JOB",
    "SET_READY",
    "SET_CASCADE_CANCELED",
    "MARK_UNBLOCKED",
    "WORKFLOWS_PENDING_UNBLOCK",
    "PENDING_UNBLOCK",
    "LIST_RESULTS_CURRENT",
    "LIST_RESULTS_ALL",
    "CHUNK",
    "insert_compute_node",
    "compute_node_workflow",
    "ready_class_rows",
    "class_rows",
    "jobs_by_ids",
    "OUTPUT_PATHS",
    "output_paths",
    "job_state",
    "claim_jobs",
    "start_job",
    "insert_result",
    "complete_job",
    "write_unblocked",
    "workflows_pending_unblock",
    "pending_unblock",
    "list_results",
    "SQL_CANCEL_ROUND",
    "SQL_READY_ROUND",
    "sql_unblock",
    "sql_unblock_batch",
]


# ---------------------------------------------------------------- maintenance

TABLE_NAMES = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"


def dump_tables(conn: apsw.Connection) -> dict[str, list[tuple]]:
    """Every row of every table (tests compare dumps to prove nothing changed).

    SQLite's own tables are left out: sqlite_sequence advances even when a
    stream is undone, so that ids are never reused.
    """
    tables = [r[0] for r in conn.execute(TABLE_NAMES)]
    # Table names come from sqlite_master itself, not from callers.
    return {
        t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
    }


def integrity_problems(conn: apsw.Connection) -> list[tuple]:
    """Rows of integrity_check and foreign_key_check that are not 'ok' (empty = fine)."""
    problems = [r for r in conn.execute("PRAGMA integrity_check") if r != ("ok",)]
    problems += conn.execute("PRAGMA foreign_key_check").fetchall()
    return problems


# ---------------------------------------------------------------- execution

INSERT_COMPUTE_NODE = """
INSERT INTO compute_node (workflow_id, hostname, pid, start_time, num_cpus, memory_bytes,
    num_gpus, num_nodes, time_limit_seconds, scheduler_config_id, compute_node_type,
    lease_expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
COMPUTE_NODE_WORKFLOW = "SELECT workflow_id, is_active FROM compute_node WHERE id = ?"
COMPUTE_NODE_RESOURCES = """
SELECT workflow_id, num_cpus, memory_bytes, num_gpus, num_nodes, time_limit_seconds
FROM compute_node WHERE id = ?
"""
READY_JOB_IDS = "SELECT id FROM job WHERE workflow_id = ? AND status = 2 ORDER BY id"
CANCEL_WORKFLOW = "UPDATE workflow SET is_canceled = 1 WHERE id = ?"
# Torc's cancel: claimed and running jobs become CANCELED, without results and
# without a cascade (the whole workflow is over); ready and blocked ones stay.
IN_FLIGHT_JOBS = "SELECT id FROM job WHERE workflow_id = ? AND status IN (3, 4) ORDER BY id"
CANCEL_IN_FLIGHT = "UPDATE job SET status = 7, unblocking_processed = 1 WHERE workflow_id = ? AND status IN (3, 4)"
# Class attributes of jobs, for the ready index (CROSS JOIN: job drives).
_CLASS_SELECT = """
SELECT j.id, j.priority, j.label, j.scheduler_id, rr.num_cpus, rr.memory_bytes, rr.num_gpus,
    rr.num_nodes, rr.runtime_s
FROM job j CROSS JOIN resource_requirements rr ON rr.id = j.resource_requirements_id
"""
READY_CLASS_ROWS = _CLASS_SELECT + "WHERE j.workflow_id = ? AND j.status = 2 ORDER BY j.id"
CLASS_ROWS_BY_IDS = _CLASS_SELECT + "WHERE j.id IN ({}) ORDER BY j.id"
JOBS_BY_IDS = _JOB_SELECT + "WHERE j.id IN ({}) ORDER BY j.id"
OUTPUT_PATHS = """
SELECT o.job_id, f.path FROM job_output_file o JOIN file f ON f.id = o.file_id
WHERE o.job_id IN ({}) ORDER BY o.job_id, f.id
"""
JOB_STATE = """
SELECT j.id, j.workflow_id, j.status, j.attempt_id, j.name, w.run_id, w.is_canceled,
    j.active_compute_node_id
FROM job j CROSS JOIN workflow w ON w.id = j.workflow_id WHERE j.id IN (?)
"""
# Claimed jobs are PENDING for one compute node.
CLAIM_JOB = "UPDATE job SET status = 3, active_compute_node_id = ? WHERE id = ? AND status = 2"
START_JOB = "UPDATE job SET status = 4, active_compute_node_id = ? WHERE id = ?"
INSERT_RESULT = """
INSERT INTO result (workflow_id, job_id, run_id, attempt_id, compute_node_id, return_code,
    exec_time_seconds, completion_time, status, peak_memory_bytes, avg_memory_bytes,
    peak_cpu_percent, avg_cpu_percent)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# A complete status (5-8) waits for the unblocker: unblocking_processed = 0
# until the batch that unblocks its dependents commits (restart safety).
COMPLETE_JOB = """
UPDATE job SET status = ?, unblocking_processed = ?, active_compute_node_id = NULL WHERE id = ?
"""
# The unblocker only moves BLOCKED jobs; the guard keeps a replay idempotent.
SET_READY = "UPDATE job SET status = 2 WHERE id = ? AND status = 1"
SET_CASCADE_CANCELED = "UPDATE job SET status = 7, unblocking_processed = 1 WHERE id = ? AND status = 1"
MARK_UNBLOCKED = "UPDATE job SET unblocking_processed = 1 WHERE id = ?"
WORKFLOWS_PENDING_UNBLOCK = """
SELECT DISTINCT workflow_id FROM job INDEXED BY idx_job_unblocking_pending
WHERE status IN (5, 6, 7, 8) AND unblocking_processed = 0
"""
PENDING_UNBLOCK = """
SELECT id, status FROM job INDEXED BY idx_job_unblocking_pending
WHERE workflow_id = ? AND status IN (5, 6, 7, 8) AND unblocking_processed = 0 ORDER BY id
"""
# Current results: the latest result of each job whose status is terminal
# (torc's workflow_result); all_runs: every result row.
LIST_RESULTS_CURRENT = f"""
SELECT {', '.join('r.' + c.strip() for c in _RESULT_COLUMNS.split(','))}
FROM result r CROSS JOIN job j ON j.id = r.job_id
WHERE r.workflow_id = ? AND r.id > ? AND j.status IN (5, 6, 7, 8, 10)
  AND r.id = (SELECT max(r2.id) FROM result r2 WHERE r2.job_id = r.job_id)
  {{}}
ORDER BY r.id LIMIT ?
"""
LIST_RESULTS_ALL = f"""
SELECT {_RESULT_COLUMNS} FROM result r WHERE r.workflow_id = ? AND r.id > ? {{}} ORDER BY r.id LIMIT ?
"""

CHUNK = 500


def _chunks(values: Sequence[int]):
    for k in range(0, len(values), CHUNK):
        yield values[k : k + CHUNK]


def insert_compute_node(conn: apsw.Connection, row: tuple) -> int:
    conn.execute(INSERT_COMPUTE_NODE, row)
    return conn.last_insert_rowid()


def compute_node_workflow(conn: apsw.Connection, node_id: int) -> Optional[tuple[int, int]]:
    """(workflow_id, is_active) or None."""
    return _one(conn, COMPUTE_NODE_WORKFLOW, (node_id,))


def compute_node_resources(conn: apsw.Connection, node_id: int) -> Optional[tuple]:
    """(workflow_id, num_cpus, memory_bytes, num_gpus, num_nodes, time_limit_seconds) or None."""
    return _one(conn, COMPUTE_NODE_RESOURCES, (node_id,))


def ready_job_ids(conn: apsw.Connection, workflow_id: int) -> list[int]:
    return [r[0] for r in conn.execute(READY_JOB_IDS, (workflow_id,))]


def cancel_workflow(conn: apsw.Connection, workflow_id: int) -> list[int]:
    """Set the cancel flag; returns the claimed/running jobs it canceled."""
    conn.execute(CANCEL_WORKFLOW, (workflow_id,))
    ids = [r[0] for r in conn.execute(IN_FLIGHT_JOBS, (workflow_id,))]
    if ids:
        conn.execute(CANCEL_IN_FLIGHT, (workflow_id,))
    return ids


def ready_class_rows(conn: apsw.Connection, workflow_id: int) -> list[tuple]:
    return conn.execute(READY_CLASS_ROWS, (workflow_id,)).fetchall()


def class_rows(conn: apsw.Connection, job_ids: Sequence[int]) -> list[tuple]:
    rows: list[tuple] = []
    for chunk in _chunks(list(job_ids)):
        rows += conn.execute(CLASS_ROWS_BY_IDS.format(placeholders(len(chunk))), tuple(chunk)).fetchall()
    return rows


def jobs_by_ids(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, Job]:
    out: dict[int, Job] = {}
    for chunk in _chunks(list(job_ids)):
        for row in conn.execute(JOBS_BY_IDS.format(placeholders(len(chunk))), tuple(chunk)):
            out[row[0]] = _job(row)
    return out


def output_paths(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, list[str]]:
    """Output file paths of the given jobs (jobs without outputs are absent)."""
    out: dict[int, list[str]] = {}
    for chunk in _chunks(list(job_ids)):
        for job_id, path in conn.execute(OUTPUT_PATHS.format(placeholders(len(chunk))), tuple(chunk)):
            out.setdefault(job_id, []).append(path)
    return out


def job_state(conn: apsw.Connection, job_id: int) -> Optional[tuple]:
    """(id, workflow_id, status, attempt_id, name, run_id, is_canceled, active node) or None."""
    return _one(conn, JOB_STATE, (job_id,))


def claim_jobs(conn: apsw.Connection, job_ids: Sequence[int], node_id: Optional[int]) -> int:
    before = conn.total_changes()
    conn.executemany(CLAIM_JOB, ((node_id, j) for j in job_ids))
    return conn.total_changes() - before


def start_job(conn: apsw.Connection, job_id: int, node_id: Optional[int]) -> None:
    conn.execute(START_JOB, (node_id, job_id))


def insert_result(conn: apsw.Connection, row: tuple) -> int:
    conn.execute(INSERT_RESULT, row)
    return conn.last_insert_rowid()


def complete_job(conn: apsw.Connection, job_id: int, status: int, needs_unblock: bool) -> None:
    conn.execute(COMPLETE_JOB, (status, 0 if needs_unblock else 1, job_id))


def write_unblocked(
    conn: apsw.Connection, processed: Sequence[int], ready: Sequence[int], canceled: Sequence[int]
) -> None:
    conn.executemany(SET_READY, ((j,) for j in ready))
    conn.executemany(SET_CASCADE_CANCELED, ((j,) for j in canceled))
    conn.executemany(MARK_UNBLOCKED, ((j,) for j in processed))


def workflows_pending_unblock(conn: apsw.Connection) -> list[int]:
    return [r[0] for r in conn.execute(WORKFLOWS_PENDING_UNBLOCK)]


def pending_unblock(conn: apsw.Connection, workflow_id: int) -> list[tuple[int, int]]:
    return conn.execute(PENDING_UNBLOCK, (workflow_id,)).fetchall()


def list_results(
    conn: apsw.Connection,
    workflow_id: int,
    all_runs: bool,
    job_id: int,
    statuses: Sequence[int],
    after_id: int,
    limit: int,
) -> list[Result]:
    where, args = "", []
    if job_id:
        where += " AND r.job_id = ?"
        args.append(job_id)
    if statuses:
        where += f" AND r.status IN ({placeholders(len(statuses))})"
        args += list(statuses)
    sql = (LIST_RESULTS_ALL if all_runs else LIST_RESULTS_CURRENT).format(where)
    return [_result(r) for r in conn.execute(sql, (workflow_id, after_id, *args, limit))]


# ---------------------------------------------------------------- SQL reference
# Set-based unblocking, torc's approach (the upstream batch_unblock, made
# result-agnostic): the third oracle in the tests and the baseline in bench/.

SQL_CANCEL_ROUND = """
UPDATE job SET status = 7, unblocking_processed = 1
WHERE workflow_id = ?1 AND status = 1 AND cancel_on_blocking_job_failure = 1
  AND NOT EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
                  WHERE d.job_id = job.id AND b.status NOT IN (5, 6, 7, 8, 9))
  AND EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
              WHERE d.job_id = job.id AND b.status IN (6, 7, 8, 9))
"""
SQL_READY_ROUND = """
UPDATE job SET status = 2
WHERE workflow_id = ?1 AND status = 1
  AND NOT EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
                  WHERE d.job_id = job.id AND b.status NOT IN (5, 6, 7, 8, 9))
"""


_ALL_BLOCKERS_DONE = """NOT EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
                  WHERE d.job_id = job.id AND b.status NOT IN (5, 6, 7, 8, 9))"""
_A_BLOCKER_BAD = """EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
              WHERE d.job_id = job.id AND b.status IN (6, 7, 8, 9))"""
_SEED_DEPENDENTS = """SELECT d.job_id FROM unblock_seed s
    JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = s.id"""


def sql_unblock_batch(conn: apsw.Connection, job_ids: Sequence[int]) -> None:
    """The set-based reference for one batch, torc's way: only the dependents
    of the completed jobs (and of what their failures cancel) are examined.
    The benchmark's anchor for the kernel (bench/figures.py, f4)."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS unblock_seed (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM unblock_seed")
    conn.executemany("INSERT OR IGNORE INTO unblock_seed VALUES (?)", ((j,) for j in job_ids))
    while True:
        canceled = conn.execute(
            f"UPDATE job SET status = 7, unblocking_processed = 1 WHERE id IN ({_SEED_DEPENDENTS}) "
            f"AND status = 1 AND cancel_on_blocking_job_failure = 1 AND {_ALL_BLOCKERS_DONE} "
            f"AND {_A_BLOCKER_BAD} RETURNING id").fetchall()
        if not canceled:
            break
        conn.executemany("INSERT OR IGNORE INTO unblock_seed VALUES (?)", canceled)
    conn.execute(f"UPDATE job SET status = 2 WHERE id IN ({_SEED_DEPENDENTS}) AND status = 1 AND {_ALL_BLOCKERS_DONE}")
    conn.executemany(MARK_UNBLOCKED, ((j,) for j in job_ids))


def sql_unblock(conn: apsw.Connection, workflow_id: int) -> None:
    """Resolve every blocked job whose blockers are done, until nothing changes."""
    while True:
        conn.execute(SQL_CANCEL_ROUND, (workflow_id,))
        canceled = conn.changes()
        if canceled == 0:
            break
    conn.execute(SQL_READY_ROUND, (workflow_id,))
    conn.execute(CLEAR_UNBLOCKING, (workflow_id,))
