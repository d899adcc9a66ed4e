"""Every SQL statement of torc-grpc, grouped by table.

Functions take an apsw connection and plain values and return models or
plain rows; they never commit (the engine owns transactions, db.transaction).
Statements are parameterized constants; the one place that builds SQL text is
placeholders() for IN lists.
"""

from __future__ import annotations

import json
from array import array
from typing import Iterable, Optional, Sequence

import apsw

from ..models import (
    Event,
    Job,
    JobStatus,
    ResourceRequirements,
    Result,
    Severity,
    Workflow,
)

# ---------------------------------------------------------------- helpers


def placeholders(n: int) -> str:
    """'?, ?, ?' for an IN list of n values (n >= 1)."""
    if n < 1:
        raise ValueError("an IN list needs at least one value")
    return ", ".join("?" * n)


def _one(conn: apsw.Connection, sql: str, args: Sequence = ()) -> Optional[tuple]:
    """The first row of a query that returns at most a few rows, or None.

    The statement is run to completion: a cursor left mid-way keeps its
    statement busy, so the next call could not reuse apsw's cached one and
    would prepare it again (measured: 36 vs 15 us for the job lookup).
    """
    rows = conn.execute(sql, args).fetchall()
    return rows[0] if rows else None


def _loads(text: Optional[str]) -> dict:
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


# ---------------------------------------------------------------- workflow

INSERT_WORKFLOW = """
INSERT INTO workflow (name, user, description, created_at, jobs_sort_method, env)
VALUES (?, ?, ?, ?, ?, ?)
"""
_WORKFLOW_COLUMNS = (
    "id, name, user, description, created_at, jobs_sort_method, env, run_id, is_canceled"
)
GET_WORKFLOW = f"SELECT {_WORKFLOW_COLUMNS} FROM workflow WHERE id = ?"
LIST_WORKFLOWS = f"""
SELECT {_WORKFLOW_COLUMNS} FROM workflow WHERE id > ? ORDER BY id LIMIT ?
"""
LIST_WORKFLOWS_BY_USER = f"""
SELECT {_WORKFLOW_COLUMNS} FROM workflow WHERE user = ? AND id > ? ORDER BY id LIMIT ?
"""
DELETE_WORKFLOW = "DELETE FROM workflow WHERE id = ?"
START_RUN = "UPDATE workflow SET run_id = run_id + 1, is_canceled = 0 WHERE id = ?"


def _workflow(row: tuple) -> Workflow:
    return Workflow(
        id=row[0],
        name=row[1],
        user=row[2],
        description=row[3],
        created_at=row[4],
        jobs_sort_method=row[5],
        env=_loads(row[6]),
        run_id=row[7],
        is_canceled=bool(row[8]),
    )


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
    row = _one(conn, GET_WORKFLOW, (workflow_id,))
    return _workflow(row) if row else None


def list_workflows(
    conn: apsw.Connection, user: str, after_id: int, limit: int
) -> list[Workflow]:
    if user:
        rows = conn.execute(LIST_WORKFLOWS_BY_USER, (user, after_id, limit))
    else:
        rows = conn.execute(LIST_WORKFLOWS, (after_id, limit))
    return [_workflow(r) for r in rows]


def delete_workflow(conn: apsw.Connection, workflow_id: int) -> bool:
    conn.execute(DELETE_WORKFLOW, (workflow_id,))
    return conn.changes() > 0


def start_run(conn: apsw.Connection, workflow_id: int) -> int:
    """Bump run_id and clear the cancel flag; return the new run_id."""
    conn.execute(START_RUN, (workflow_id,))
    return _one(conn, "SELECT run_id FROM workflow WHERE id = ?", (workflow_id,))[0]



# ---------------------------------------------------------------- named items

INSERT_RESOURCE_REQUIREMENTS = """
INSERT INTO resource_requirements
    (workflow_id, name, num_cpus, num_gpus, num_nodes, memory, runtime, memory_bytes, runtime_s)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
RESOURCE_REQUIREMENT_NAMES = "SELECT name, id FROM resource_requirements WHERE workflow_id = ?"
INSERT_FILE = "INSERT INTO file (workflow_id, name, path) VALUES (?, ?, ?)"
FILE_NAMES = "SELECT name, id FROM file WHERE workflow_id = ?"
INSERT_USER_DATA = (
    "INSERT INTO user_data (workflow_id, name, data, is_ephemeral) VALUES (?, ?, ?, ?)"
)
USER_DATA_NAMES = "SELECT name, id FROM user_data WHERE workflow_id = ?"
INSERT_FAILURE_HANDLER = "INSERT INTO failure_handler (workflow_id, name, rules) VALUES (?, ?, ?)"
FAILURE_HANDLER_NAMES = "SELECT name, id FROM failure_handler WHERE workflow_id = ?"
JOB_NAMES = "SELECT name, id FROM job WHERE workflow_id = ?"


def insert_resource_requirements(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_RESOURCE_REQUIREMENTS, rows)


def insert_files(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_FILE, rows)


def insert_user_data(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_USER_DATA, rows)


def insert_failure_handlers(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_FAILURE_HANDLER, rows)


def name_map(conn: apsw.Connection, kind: str, workflow_id: int) -> dict[str, int]:
    """name -> id for one kind of named item of a workflow."""
    sql = {
        "resource_requirements": RESOURCE_REQUIREMENT_NAMES,
        "file": FILE_NAMES,
        "user_data": USER_DATA_NAMES,
        "failure_handler": FAILURE_HANDLER_NAMES,
        "job": JOB_NAMES,
    }[kind]
    return dict(conn.execute(sql, (workflow_id,)))


DELETE_BY_ID = {
    "job": "DELETE FROM job WHERE id = ?",
    "file": "DELETE FROM file WHERE id = ?",
    "user_data": "DELETE FROM user_data WHERE id = ?",
    "resource_requirements": "DELETE FROM resource_requirements WHERE id = ?",
    "failure_handler": "DELETE FROM failure_handler WHERE id = ?",
}


def delete_items(conn: apsw.Connection, kind: str, ids: Iterable[int]) -> None:
    """Delete rows by id (cascading to their relations); used to undo a stream."""
    conn.executemany(DELETE_BY_ID[kind], ((i,) for i in ids))


# ---------------------------------------------------------------- job

INSERT_JOB = """
INSERT INTO job (workflow_id, name, command, status, resource_requirements_id,
    cancel_on_blocking_job_failure, supports_termination, priority, label, env,
    scheduler_id, invocation_script, failure_handler_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_EDGE = "INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id) VALUES (?, ?, ?)"
INSERT_RELATION = {
    "input_files": "INSERT OR IGNORE INTO job_input_file (job_id, file_id, workflow_id) VALUES (?, ?, ?)",
    "output_files": "INSERT OR IGNORE INTO job_output_file (job_id, file_id, workflow_id) VALUES (?, ?, ?)",
    "input_user_data": "INSERT OR IGNORE INTO job_input_user_data (job_id, user_data_id, workflow_id) VALUES (?, ?, ?)",
    "output_user_data": "INSERT OR IGNORE INTO job_output_user_data (job_id, user_data_id, workflow_id) VALUES (?, ?, ?)",
}

_JOB_SELECT = """
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
# CROSS JOIN pins the join order in SQLite: job drives (by its indexes) and the
# resource set and workflow are primary-key lookups, whatever ANALYZE thinks.
# One job by id through the joins: written `IN (?)`, which measured 5-6x
# faster than `= ?` here (7 vs 40 us a call with apsw's SQLite 3.54, the plan
# being rowid seeks either way); JOB_STATE does the same.
GET_JOB = _JOB_SELECT + "WHERE j.id IN (?)"
LIST_JOBS = _JOB_SELECT + "WHERE j.workflow_id = ? AND j.id > ? ORDER BY j.id LIMIT ?"
# A status filter must walk (workflow_id, status, id): a few ready jobs among a
# million must not become a scan of the id range, whatever the statistics say.
LIST_JOBS_BY_STATUS = (
    _JOB_SELECT.replace("FROM job j", "FROM job j INDEXED BY idx_job_workflow_status")
    + "WHERE j.workflow_id = ? AND j.status IN ({}) AND j.id > ? ORDER BY j.id LIMIT ?"
)
JOB_BLOCKERS = "SELECT depends_on_job_id FROM job_depends_on WHERE job_id = ? ORDER BY depends_on_job_id"
JOB_RELATION_IDS = {
    "input_file_ids": "SELECT file_id FROM job_input_file WHERE job_id = ? ORDER BY file_id",
    "output_file_ids": "SELECT file_id FROM job_output_file WHERE job_id = ? ORDER BY file_id",
    "input_user_data_ids": "SELECT user_data_id FROM job_input_user_data WHERE job_id = ? ORDER BY user_data_id",
    "output_user_data_ids": "SELECT user_data_id FROM job_output_user_data WHERE job_id = ? ORDER BY user_data_id",
}
JOB_NAMES_BY_ID = "SELECT id, name FROM job WHERE id IN ({})"

# Implicit edges: a reader of a file (user data) waits for its writers. A job
# that reads what it writes does not wait for itself.
MATERIALIZE_FILE_EDGES = """
INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT i.job_id, o.job_id, i.workflow_id
FROM job_input_file i JOIN job_output_file o ON o.file_id = i.file_id
WHERE i.workflow_id = ? AND i.job_id != o.job_id
"""
MATERIALIZE_USER_DATA_EDGES = """
INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id)
SELECT i.job_id, o.job_id, i.workflow_id
FROM job_input_user_data i JOIN job_output_user_data o ON o.user_data_id = i.user_data_id
WHERE i.workflow_id = ? AND i.job_id != o.job_id
"""
GRAPH_JOBS = (
    "SELECT id, status, cancel_on_blocking_job_failure FROM job WHERE workflow_id = ? ORDER BY id"
)
GRAPH_EDGES = "SELECT job_id, depends_on_job_id FROM job_depends_on WHERE workflow_id = ?"
# Initialize decides blocked/ready/canceled for the whole workflow, so no
# completion of it is left to unblock afterwards.
SET_STATUS_INITIALIZED = "UPDATE job SET status = ?, unblocking_processed = 1 WHERE id = ?"
# Only completions still waiting for the unblocker; the partial index holds
# exactly those rows, however many completed jobs the workflow has.
CLEAR_UNBLOCKING = """
UPDATE job INDEXED BY idx_job_unblocking_pending SET unblocking_processed = 1
WHERE workflow_id = ? AND status IN (5, 6, 7, 8) AND unblocking_processed = 0
"""
RESET_ALL_JOBS = """
UPDATE job SET status = 0, unblocking_processed = 1, active_compute_node_id = NULL
WHERE workflow_id = ? AND status NOT IN (0, 9)
"""


def _job(row: tuple) -> Job:
    env = _loads(row[24])
    env.update(_loads(row[19]))
    return Job(
        id=row[0],
        workflow_id=row[1],
        name=row[2],
        command=row[3],
        status=JobStatus(row[4]),
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
        compute_node_id=row[23] or 0,
    )


def insert_jobs(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_JOB, rows)


def insert_edges(conn: apsw.Connection, rows: Iterable[tuple[int, int, int]]) -> None:
    conn.executemany(INSERT_EDGE, rows)


def insert_relations(conn: apsw.Connection, kind: str, rows: Iterable[tuple[int, int, int]]) -> None:
    conn.executemany(INSERT_RELATION[kind], rows)


def get_job(conn: apsw.Connection, job_id: int, with_relations: bool = True) -> Optional[Job]:
    row = _one(conn, GET_JOB, (job_id,))
    if row is None:
        return None
    job = _job(row)
    if not with_relations:
        return job
    extra = {
        key: tuple(r[0] for r in conn.execute(sql, (job_id,)))
        for key, sql in JOB_RELATION_IDS.items()
    }
    extra["depends_on_job_ids"] = tuple(r[0] for r in conn.execute(JOB_BLOCKERS, (job_id,)))
    return Job(**{**job.__dict__, **extra})


def list_jobs(
    conn: apsw.Connection,
    workflow_id: int,
    statuses: Sequence[int],
    after_id: int,
    limit: int,
) -> list[Job]:
    if statuses:
        sql = LIST_JOBS_BY_STATUS.format(placeholders(len(statuses)))
        rows = conn.execute(sql, (workflow_id, *statuses, after_id, limit))
    else:
        rows = conn.execute(LIST_JOBS, (workflow_id, after_id, limit))
    return [_job(r) for r in rows]


def job_names(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, str]:
    if not job_ids:
        return {}
    return dict(conn.execute(JOB_NAMES_BY_ID.format(placeholders(len(job_ids))), tuple(job_ids)))


def materialize_implicit_edges(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(MATERIALIZE_FILE_EDGES, (workflow_id,))
    conn.execute(MATERIALIZE_USER_DATA_EDGES, (workflow_id,))


def load_graph_arrays(
    conn: apsw.Connection, workflow_id: int
) -> tuple[array, array, array, array, array]:
    """(job ids ascending, statuses, cancel flags, edge jobs, edge blockers)."""
    ids, statuses, flags = array("q"), array("q"), array("q")
    for job_id, status, flag in conn.execute(GRAPH_JOBS, (workflow_id,)):
        ids.append(job_id)
        statuses.append(status)
        flags.append(flag)
    ej, eb = array("q"), array("q")
    for job_id, blocker in conn.execute(GRAPH_EDGES, (workflow_id,)):
        ej.append(job_id)
        eb.append(blocker)
    return ids, statuses, flags, ej, eb


def set_initialized_statuses(
    conn: apsw.Connection, job_ids: Sequence[int], statuses: Sequence[int]
) -> None:
    conn.executemany(SET_STATUS_INITIALIZED, zip(statuses, job_ids))
    

def clear_unblocking(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(CLEAR_UNBLOCKING, (workflow_id,))


def reset_all_jobs(conn: apsw.Connection, workflow_id: int) -> int:
    """Every job that is not disabled back to uninitialized; return how many changed."""
    conn.execute(RESET_ALL_JOBS, (workflow_id,))
    return conn.changes()



# ---------------------------------------------------------------- result

_RESULT_COLUMNS = """id, workflow_id, job_id, run_id, attempt_id, compute_node_id, return_code,
    exec_time_seconds, completion_time, status, peak_memory_bytes, avg_memory_bytes,
    peak_cpu_percent, avg_cpu_percent"""


def _result(row: tuple) -> Result:
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
    )


# ---------------------------------------------------------------- event

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
    return _one(conn, LAST_EVENT_ID, (workflow_id,))[0] or 0


def list_events(
    conn: apsw.Connection, workflow_id: int, after: int, min_severity: int, limit: int
) -> list[Event]:
    return [
        Event(r[0], r[1], r[2], r[3], Severity(r[4]), r[5])
        for r in conn.execute(LIST_EVENTS, (workflow_id, after, min_severity, limit))
    ]



from .execution import *  # noqa: E402,F401,F403  (execution statements, same layer)
from .lifecycle import *  # noqa: E402,F401,F403  (resets, retries, leases; same layer)
