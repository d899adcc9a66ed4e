"""Private helpers of the store: query helpers, SQL fragments from JobStatus,
and rows -> models. Only modules of this package import it."""

from __future__ import annotations

import json
from typing import Iterable, Iterator, Optional, Sequence

import apsw

from ..models import Job, JobStatus, ResourceRequirements, Result, Workflow

#: Ids per IN (...) list: well under SQLite's variable limit.
CHUNK = 500


def placeholders(n: int) -> str:
    """'?, ?, ?' for an IN list of n values (n >= 1): the one place SQL text is built from a count."""
    if n < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * n)


def statuses_sql(statuses: Iterable[JobStatus]) -> str:
    """'5, 6, 7, 8' for a fixed set of statuses, so SQL constants name JobStatus
    members instead of bare numbers (built once, at import, from the enum)."""
    return ", ".join(str(int(JobStatus(s))) for s in sorted(statuses))


def one(conn: apsw.Connection, sql: str, args: Sequence = ()) -> Optional[tuple]:
    """The first row of a query that returns at most a few rows, or None.

    The statement is run to completion: a cursor left mid-way keeps its
    statement busy, so the next call could not reuse apsw's cached one and
    would prepare it again (measured: 36 vs 15 us for the job lookup).
    """
    rows = conn.execute(sql, args).fetchall()
    return rows[0] if rows else None


def chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for k in range(0, len(values), CHUNK):
        yield values[k : k + CHUNK]


def loads(text: Optional[str]) -> dict:
    return json.loads(text) if text else {}


def insert_rows_with_ids(conn: apsw.Connection, table_sql: str, rows: list[tuple]) -> list[int]:
    """executemany an INSERT and return the new ids, in row order.

    AUTOINCREMENT gives each row max(sequence) + 1 in turn, and inside one
    write transaction nothing interleaves, so the ids are consecutive and end
    at last_insert_rowid().
    """
    if not rows:
        return []
    conn.executemany(table_sql, rows)
    last = conn.last_insert_rowid()
    first = last - len(rows) + 1
    return list(range(first, last + 1))


WORKFLOW_COLUMNS = (
    "id, name, user, description, created_at, jobs_sort_method, env, run_id, is_canceled"
)


def workflow_from_row(row: tuple) -> Workflow:
    return Workflow(
        id=row[0],
        name=row[1],
        user=row[2],
        description=row[3],
        created_at=row[4],
        jobs_sort_method=row[5],
        env=loads(row[6]),
        run_id=row[7],
        is_canceled=bool(row[8]),
    )


# CROSS JOIN pins the join order in SQLite: job drives (by its indexes) and the
# resource set and workflow are primary-key lookups, whatever ANALYZE thinks.
JOB_SELECT = """
SELECT j.id, j.workflow_id, j.name, j.command, j.status, j.attempt_id,
    rr.id, rr.name, rr.memory, rr.runtime, rr.num_cpus, rr.num_gpus, rr.num_nodes,
    rr.memory_bytes, rr.runtime_s,
    j.cancel_on_blocking_job_failure, j.supports_termination, j.priority, j.label, j.env,
    j.scheduler_id, j.invocation_script, j.failure_handler_id, j.active_compute_node_id,
    w.env
FROM job j
CROSS JOIN resource_requirements rr ON rr.id = j.resource_requirements_id
CROSS JOIN workflow w ON w.id = j.workflow_id
"""


def job_from_row(row: tuple, status: Optional[JobStatus] = None, compute_node_id: Optional[int] = None,
                 output_file_paths: tuple[str, ...] = ()) -> Job:
    """A JOB_SELECT row as a Job; the job's env is merged over the workflow's.
    status and compute_node_id, when given, stand for the row's (a claim's
    answer, written in the same transaction)."""
    env = loads(row[24])
    env.update(loads(row[19]))
    return Job(
        id=row[0],
        workflow_id=row[1],
        name=row[2],
        command=row[3],
        status=JobStatus(row[4]) if status is None else status,
        attempt_id=row[5],
        resource_requirements=ResourceRequirements(
            id=row[6],
            name=row[7],
            memory=row[8],
            runtime=row[9],
            num_cpus=row[10],
            num_gpus=row[11],
            num_nodes=row[12],
            memory_bytes=row[13],
            runtime_seconds=row[14],
        ),
        cancel_on_blocking_job_failure=bool(row[15]),
        supports_termination=bool(row[16]),
        priority=row[17],
        label=row[18],
        env=env,
        scheduler_id=row[20],
        invocation_script=row[21],
        failure_handler_id=row[22] or 0,
        compute_node_id=(row[23] or 0) if compute_node_id is None else compute_node_id,
        output_file_paths=output_file_paths,
    )


RESULT_COLUMNS = (
    "id, workflow_id, job_id, run_id, attempt_id, compute_node_id, return_code, "
    "exec_time_seconds, completion_time, status, peak_memory_bytes, avg_memory_bytes, "
    "peak_cpu_percent, avg_cpu_percent, error, samples"
)


def result_from_row(row: tuple) -> Result:
    return Result(
        id=row[0],
        workflow_id=row[1],
        job_id=row[2],
        run_id=row[3],
        attempt_id=row[4],
        compute_node_id=row[5] or 0,
        return_code=row[6],
        exec_time_seconds=row[7],
        completion_time=row[8],
        status=JobStatus(row[9]),
        peak_memory_bytes=row[10],
        avg_memory_bytes=row[11],
        peak_cpu_percent=row[12],
        avg_cpu_percent=row[13],
        error=row[14],
        samples=tuple(tuple(s) for s in json.loads(row[15])) if row[15] else (),
    )
