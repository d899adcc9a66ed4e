"""Set-based unblocking, torc's approach (the upstream batch_unblock, made
result-agnostic): the third oracle of the kernel tests and the anchor of the
kernel's benchmark (bench figure 4). Never used by the server."""

from __future__ import annotations

from typing import Sequence

import apsw

from ..models import BAD_BLOCKER_STATUSES, DONE_STATUSES, JobStatus
from .job_status import CLEAR_UNBLOCKING, MARK_UNBLOCKED
from ._rows import statuses_sql

_BLOCKED, _READY, _CANCELED = int(JobStatus.BLOCKED), int(JobStatus.READY), int(JobStatus.CANCELED)
# A blocked job is resolved when every blocker is done; canceled first when a
# blocker is bad and the job cancels on a blocking failure.
_ALL_BLOCKERS_DONE = f"""NOT EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
                  WHERE d.job_id = job.id AND b.status NOT IN ({statuses_sql(DONE_STATUSES)}))"""
_A_BLOCKER_BAD = f"""EXISTS (SELECT 1 FROM job_depends_on d JOIN job b ON b.id = d.depends_on_job_id
              WHERE d.job_id = job.id AND b.status IN ({statuses_sql(BAD_BLOCKER_STATUSES)}))"""
SQL_CANCEL_ROUND = f"""
UPDATE job SET status = {_CANCELED}, unblocking_processed = 1
WHERE workflow_id = ?1 AND status = {_BLOCKED} AND cancel_on_blocking_job_failure = 1
  AND {_ALL_BLOCKERS_DONE} AND {_A_BLOCKER_BAD}
"""
SQL_READY_ROUND = f"""
UPDATE job SET status = {_READY} WHERE workflow_id = ?1 AND status = {_BLOCKED} AND {_ALL_BLOCKERS_DONE}
"""
_SEED_DEPENDENTS = """SELECT d.job_id FROM unblock_seed s
    JOIN job_depends_on d INDEXED BY idx_job_depends_on_blocker ON d.depends_on_job_id = s.id"""
_CANCEL_SEED_DEPENDENTS = f"""
UPDATE job SET status = {_CANCELED}, unblocking_processed = 1 WHERE id IN ({_SEED_DEPENDENTS})
  AND status = {_BLOCKED} AND cancel_on_blocking_job_failure = 1 AND {_ALL_BLOCKERS_DONE}
  AND {_A_BLOCKER_BAD} RETURNING id
"""
_READY_SEED_DEPENDENTS = f"""
UPDATE job SET status = {_READY} WHERE id IN ({_SEED_DEPENDENTS}) AND status = {_BLOCKED}
  AND {_ALL_BLOCKERS_DONE}
"""


def sql_unblock_batch(conn: apsw.Connection, job_ids: Sequence[int]) -> None:
    """The set-based reference for one batch, torc's way: only the dependents
    of the completed jobs (and of what their failures cancel) are examined."""
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS unblock_seed (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM unblock_seed")
    conn.executemany("INSERT OR IGNORE INTO unblock_seed VALUES (?)", ((j,) for j in job_ids))
    while True:
        canceled = conn.execute(_CANCEL_SEED_DEPENDENTS).fetchall()
        if not canceled:
            break
        conn.executemany("INSERT OR IGNORE INTO unblock_seed VALUES (?)", canceled)
    conn.execute(_READY_SEED_DEPENDENTS)
    conn.executemany(MARK_UNBLOCKED, ((j,) for j in job_ids))


def sql_unblock(conn: apsw.Connection, workflow_id: int) -> None:
    """Resolve every blocked job whose blockers are done, until nothing changes."""
    while True:
        conn.execute(SQL_CANCEL_ROUND, (workflow_id,))
        if conn.changes() == 0:
            break
    conn.execute(SQL_READY_ROUND, (workflow_id,))
    conn.execute(CLEAR_UNBLOCKING, (workflow_id,))
