"""The job table and its relations: inserts, reads, the dependency graph and
the claim classes of ready jobs. Status transitions are in job_status.py."""

from __future__ import annotations

import json
from array import array
from typing import Iterable, Optional, Sequence

import apsw

from ..dag import GraphRows
from ..models import Job, JobStatus
from ._rows import JOB_SELECT, chunks, insert_rows_with_ids, job_from_row, one, placeholders
from .events import last_event_id
from .records import JobState, ReadyRow

READY = int(JobStatus.READY)

INSERT_JOB = """
INSERT INTO job (workflow_id, name, command, status, resource_requirements_id,
    cancel_on_blocking_job_failure, supports_termination, priority, label, env,
    scheduler_id, invocation_script, failure_handler_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
INSERT_EDGE = (
    "INSERT OR IGNORE INTO job_depends_on (job_id, depends_on_job_id, workflow_id) VALUES (?, ?, ?)"
)
INSERT_RELATION = {
    "input_files": "INSERT OR IGNORE INTO job_input_file (job_id, file_id, workflow_id) VALUES (?, ?, ?)",
    "output_files": "INSERT OR IGNORE INTO job_output_file (job_id, file_id, workflow_id) VALUES (?, ?, ?)",
    "input_user_data": "INSERT OR IGNORE INTO job_input_user_data (job_id, user_data_id, workflow_id) VALUES (?, ?, ?)",
    "output_user_data": "INSERT OR IGNORE INTO job_output_user_data (job_id, user_data_id, workflow_id) VALUES (?, ?, ?)",
}

# One job by id through the joins: written `IN (?)`, which measured 5-6x
# faster than `= ?` here (7 vs 40 us a call with apsw's SQLite 3.54, the plan
# being rowid seeks either way); JOB_STATE does the same.
GET_JOB = JOB_SELECT + "WHERE j.id IN (?)"
JOBS_BY_IDS = JOB_SELECT + "WHERE j.id IN ({}) ORDER BY j.id"
LIST_JOBS = JOB_SELECT + "WHERE j.workflow_id = ? AND j.id > ? ORDER BY j.id LIMIT ?"
# A status filter must walk (workflow_id, status, id): a few ready jobs among a
# million must not become a scan of the id range, whatever the statistics say.
LIST_JOBS_BY_STATUS = (
    JOB_SELECT.replace("FROM job j", "FROM job j INDEXED BY idx_job_workflow_status")
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
JOB_STATE = """
SELECT j.id, j.workflow_id, j.status, j.attempt_id, j.name, w.run_id, w.is_canceled,
    j.active_compute_node_id
FROM job j CROSS JOIN workflow w ON w.id = j.workflow_id WHERE j.id IN (?)
"""
OUTPUT_PATHS = """
SELECT o.job_id, f.path FROM job_output_file o JOIN file f ON f.id = o.file_id
WHERE o.job_id IN ({}) ORDER BY o.job_id, f.id
"""
READY_JOB_IDS = f"SELECT id FROM job WHERE workflow_id = ? AND status = {READY} ORDER BY id"

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
PICTURE_JOBS = "SELECT id, name, status FROM job WHERE workflow_id = ? ORDER BY id"
# Every job downstream of the seeds (transitively), seeds excluded. Implicit
# edges are in job_depends_on once the workflow was initialized.
DOWNSTREAM = """
WITH RECURSIVE down(id) AS (
    SELECT d.job_id FROM json_each(?) s
        JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = s.value
    UNION
    SELECT d.job_id FROM down
        JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = down.id
)
SELECT id FROM down ORDER BY id
"""
# Class attributes of jobs, for the ready index (CROSS JOIN: job drives).
_CLASS_SELECT = """
SELECT j.id, j.priority, j.label, j.scheduler_id, rr.num_cpus, rr.memory_bytes, rr.num_gpus,
    rr.num_nodes, rr.runtime_s
FROM job j CROSS JOIN resource_requirements rr ON rr.id = j.resource_requirements_id
"""
READY_CLASS_ROWS = _CLASS_SELECT + f"WHERE j.workflow_id = ? AND j.status = {READY} ORDER BY j.id"
CLASS_ROWS_BY_IDS = _CLASS_SELECT + "WHERE j.id IN ({}) ORDER BY j.id"


def insert_jobs(conn: apsw.Connection, rows: list[tuple]) -> list[int]:
    return insert_rows_with_ids(conn, INSERT_JOB, rows)


def insert_edges(conn: apsw.Connection, rows: Iterable[tuple[int, int, int]]) -> None:
    conn.executemany(INSERT_EDGE, rows)


def insert_relations(conn: apsw.Connection, kind: str, rows: Iterable[tuple[int, int, int]]) -> None:
    conn.executemany(INSERT_RELATION[kind], rows)


def get_job(conn: apsw.Connection, job_id: int, with_relations: bool = True) -> Optional[Job]:
    row = one(conn, GET_JOB, (job_id,))
    if row is None:
        return None
    job = job_from_row(row)
    if not with_relations:
        return job
    extra = {
        key: tuple(r[0] for r in conn.execute(sql, (job_id,)))
        for key, sql in JOB_RELATION_IDS.items()
    }
    extra["depends_on_job_ids"] = tuple(r[0] for r in conn.execute(JOB_BLOCKERS, (job_id,)))
    return Job(**{**job.__dict__, **extra})


def jobs_by_ids(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, Job]:
    out: dict[int, Job] = {}
    for chunk in chunks(list(job_ids)):
        for row in conn.execute(JOBS_BY_IDS.format(placeholders(len(chunk))), tuple(chunk)):
            out[row[0]] = job_from_row(row)
    return out


def list_jobs(
    conn: apsw.Connection, workflow_id: int, statuses: Sequence[int], after_id: int, limit: int
) -> list[Job]:
    if statuses:
        sql = LIST_JOBS_BY_STATUS.format(placeholders(len(statuses)))
        rows = conn.execute(sql, (workflow_id, *statuses, after_id, limit))
    else:
        rows = conn.execute(LIST_JOBS, (workflow_id, after_id, limit))
    return [job_from_row(r) for r in rows]


def job_names(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, str]:
    if not job_ids:
        return {}
    return dict(conn.execute(JOB_NAMES_BY_ID.format(placeholders(len(job_ids))), tuple(job_ids)))


def job_state(conn: apsw.Connection, job_id: int) -> Optional[JobState]:
    row = one(conn, JOB_STATE, (job_id,))
    return JobState._make(row) if row else None


def claimed_jobs(conn: apsw.Connection, job_ids: Sequence[int], statuses: Sequence[JobStatus],
                 node: int) -> list[Job]:
    """The jobs of a claim as its answer shows them, in `job_ids` order: each
    with its status from `statuses`, held by `node`, with its output paths
    (read before the claim's own writes, in the same transaction)."""
    rows: dict[int, tuple] = {}
    for chunk in chunks(list(job_ids)):
        for row in conn.execute(JOBS_BY_IDS.format(placeholders(len(chunk))), tuple(chunk)):
            rows[row[0]] = row
    paths = output_paths(conn, job_ids)
    return [job_from_row(rows[j], status, node, tuple(paths.get(j, ()))) for j, status in zip(job_ids, statuses)]


def output_paths(conn: apsw.Connection, job_ids: Sequence[int]) -> dict[int, list[str]]:
    """Output file paths of the given jobs (jobs without outputs are absent)."""
    out: dict[int, list[str]] = {}
    for chunk in chunks(list(job_ids)):
        for job_id, path in conn.execute(OUTPUT_PATHS.format(placeholders(len(chunk))), tuple(chunk)):
            out.setdefault(job_id, []).append(path)
    return out


def ready_job_ids(conn: apsw.Connection, workflow_id: int) -> list[int]:
    return [r[0] for r in conn.execute(READY_JOB_IDS, (workflow_id,))]


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
    return (ids, statuses, flags, *_edges(conn, workflow_id))


def _edges(conn: apsw.Connection, workflow_id: int) -> tuple[array, array]:
    """(edge jobs, edge blockers) of the workflow."""
    ej, eb = array("q"), array("q")
    for job_id, blocker in conn.execute(GRAPH_EDGES, (workflow_id,)):
        ej.append(job_id)
        eb.append(blocker)
    return ej, eb


def picture_rows(conn: apsw.Connection, workflow_id: int) -> tuple[GraphRows, int]:
    """Jobs (ids ascending, names, statuses) and edges, for a picture of the graph,
    and the newest event id, from one read snapshot (an AddJobs between the two
    reads would leave edges to jobs the first did not see; the event id says
    which changes the rows show)."""
    ids, names, statuses = array("q"), [], array("q")
    conn.execute("BEGIN DEFERRED")
    try:
        for job_id, name, status in conn.execute(PICTURE_JOBS, (workflow_id,)):
            ids.append(job_id)
            names.append(name)
            statuses.append(status)
        edges = _edges(conn, workflow_id)
        newest_event = last_event_id(conn, workflow_id)
    finally:
        conn.execute("COMMIT")
    return GraphRows(ids, names, statuses, *edges), newest_event


def downstream(conn: apsw.Connection, job_ids: Sequence[int]) -> list[int]:
    """Every job that transitively waits for one of job_ids (they excluded)."""
    if not job_ids:
        return []
    return [r[0] for r in conn.execute(DOWNSTREAM, (json.dumps(list(job_ids)),))]


def ready_class_rows(conn: apsw.Connection, workflow_id: int) -> list[ReadyRow]:
    return [ReadyRow._make(r) for r in conn.execute(READY_CLASS_ROWS, (workflow_id,))]


def class_rows(conn: apsw.Connection, job_ids: Sequence[int]) -> list[ReadyRow]:
    rows: list[ReadyRow] = []
    for chunk in chunks(list(job_ids)):
        sql = CLASS_ROWS_BY_IDS.format(placeholders(len(chunk)))
        rows += [ReadyRow._make(r) for r in conn.execute(sql, tuple(chunk))]
    return rows
