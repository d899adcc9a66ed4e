"""The result table: one row per (job, run, attempt) that reported."""

from __future__ import annotations

import json
from typing import Optional, Sequence

import apsw

from ..models import Completion, REPORTED_STATUSES, Result
from ._rows import RESULT_COLUMNS, one, placeholders, result_from_row, statuses_sql

INSERT_RESULT = """
INSERT INTO result (workflow_id, job_id, run_id, attempt_id, compute_node_id, return_code,
    exec_time_seconds, completion_time, status, peak_memory_bytes, avg_memory_bytes,
    peak_cpu_percent, avg_cpu_percent, error, samples)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_R_COLUMNS = ", ".join("r." + c.strip() for c in RESULT_COLUMNS.split(","))
# Current results: the latest result of each job whose status is reported
# (torc's workflow_result); all_runs: every result row.
LIST_RESULTS_CURRENT = f"""
SELECT {_R_COLUMNS}
FROM result r CROSS JOIN job j ON j.id = r.job_id
WHERE r.workflow_id = ? AND r.id > ? AND j.status IN ({statuses_sql(REPORTED_STATUSES)})
  AND r.id = (SELECT max(r2.id) FROM result r2 WHERE r2.job_id = r.job_id)
  {{}}
ORDER BY r.id LIMIT ?
"""
LIST_RESULTS_ALL = f"""
SELECT {RESULT_COLUMNS} FROM result r WHERE r.workflow_id = ? AND r.id > ? {{}} ORDER BY r.id LIMIT ?
"""
LATEST_RETURN_CODE = """
SELECT return_code FROM result WHERE job_id = ? AND run_id = ? ORDER BY attempt_id DESC LIMIT 1
"""


def insert_result(
    conn: apsw.Connection, workflow_id: int, item: Completion, attempt_id: int, completion_time: str
) -> bool:
    """Record a completion's result; False (nothing written) when this
    (job, run, attempt) already has one."""
    try:
        conn.execute(INSERT_RESULT, (
            workflow_id, item.job_id, item.run_id, attempt_id, item.compute_node_id or None,
            item.return_code, item.exec_time_seconds, completion_time, int(item.status),
            item.peak_memory_bytes, item.avg_memory_bytes, item.peak_cpu_percent,
            item.avg_cpu_percent, item.error, json.dumps(item.samples) if item.samples else "",
        ))
    except apsw.ConstraintError:
        return False
    return True


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
    return [result_from_row(r) for r in conn.execute(sql, (workflow_id, after_id, *args, limit))]


def latest_return_code(conn: apsw.Connection, job_id: int, run_id: int) -> Optional[int]:
    row = one(conn, LATEST_RETURN_CODE, (job_id, run_id))
    return row[0] if row else None
