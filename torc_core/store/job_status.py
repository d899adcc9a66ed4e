"""Job status transitions: initialize, claim, start, complete, unblock,
cancel, reset and retry. Each statement states the rule it keeps; statuses
are JobStatus members (their torc integer codes in the SQL)."""

from __future__ import annotations

from typing import Optional, Sequence

import apsw

from ..models import COMPLETE_STATUSES, IN_FLIGHT_STATUSES, JobStatus, RESETTABLE_STATUSES
from ._rows import chunks, one, placeholders, statuses_sql
from .records import JobAndStatus

UNINITIALIZED = int(JobStatus.UNINITIALIZED)
BLOCKED = int(JobStatus.BLOCKED)
READY = int(JobStatus.READY)
PENDING = int(JobStatus.PENDING)
RUNNING = int(JobStatus.RUNNING)
CANCELED = int(JobStatus.CANCELED)
DISABLED = int(JobStatus.DISABLED)
_COMPLETE = statuses_sql(COMPLETE_STATUSES)
_IN_FLIGHT = statuses_sql(IN_FLIGHT_STATUSES)

# Initialize decides blocked/ready/canceled for the whole workflow, so no
# completion of it is left to unblock afterwards.
SET_STATUS_INITIALIZED = "UPDATE job SET status = ?, unblocking_processed = 1 WHERE id = ?"
# Only completions still waiting for the unblocker; the partial index holds
# exactly those rows, however many completed jobs the workflow has.
CLEAR_UNBLOCKING = f"""
UPDATE job INDEXED BY idx_job_unblocking_pending SET unblocking_processed = 1
WHERE workflow_id = ? AND status IN ({_COMPLETE}) AND unblocking_processed = 0
"""
# Claimed jobs are PENDING for one compute node.
CLAIM_JOB = f"UPDATE job SET status = {PENDING}, active_compute_node_id = ? WHERE id = ? AND status = {READY}"
START_JOB = f"UPDATE job SET status = {RUNNING}, active_compute_node_id = ? WHERE id = ?"
# A complete status waits for the unblocker: unblocking_processed = 0 until
# the batch that unblocks its dependents commits (restart safety).
COMPLETE_JOB = """
UPDATE job SET status = ?, unblocking_processed = ?, active_compute_node_id = NULL WHERE id = ?
"""
# The unblocker only moves BLOCKED jobs; the guard keeps a replay idempotent.
SET_READY = f"UPDATE job SET status = {READY} WHERE id = ? AND status = {BLOCKED}"
SET_CASCADE_CANCELED = (
    f"UPDATE job SET status = {CANCELED}, unblocking_processed = 1 WHERE id = ? AND status = {BLOCKED}"
)
MARK_UNBLOCKED = "UPDATE job SET unblocking_processed = 1 WHERE id = ?"
WORKFLOWS_PENDING_UNBLOCK = f"""
SELECT DISTINCT workflow_id FROM job INDEXED BY idx_job_unblocking_pending
WHERE status IN ({_COMPLETE}) AND unblocking_processed = 0
"""
PENDING_UNBLOCK = f"""
SELECT id, status FROM job INDEXED BY idx_job_unblocking_pending
WHERE workflow_id = ? AND status IN ({_COMPLETE}) AND unblocking_processed = 0 ORDER BY id
"""
# Torc's cancel: claimed and running jobs become CANCELED, without results and
# without a cascade (the whole workflow is over); ready and blocked ones stay.
IN_FLIGHT_JOBS = f"SELECT id FROM job WHERE workflow_id = ? AND status IN ({_IN_FLIGHT}) ORDER BY id"
CANCEL_IN_FLIGHT = f"""
UPDATE job SET status = {CANCELED}, unblocking_processed = 1
WHERE workflow_id = ? AND status IN ({_IN_FLIGHT})
"""
IN_FLIGHT_COUNT = f"SELECT count(*) FROM job WHERE workflow_id = ? AND status IN ({_IN_FLIGHT})"
# What reset failed_only returns to uninitialized.
RESETTABLE_FAILED = f"""
SELECT id, status FROM job WHERE workflow_id = ? AND status IN ({statuses_sql(RESETTABLE_STATUSES)})
ORDER BY id
"""
# Disabled jobs stay disabled: that is the user's decision, not run state.
RESET_JOB = f"""
UPDATE job SET status = {UNINITIALIZED}, unblocking_processed = 1, active_compute_node_id = NULL
WHERE id = ? AND status NOT IN ({UNINITIALIZED}, {DISABLED})
"""
RESET_ALL_JOBS = f"""
UPDATE job SET status = {UNINITIALIZED}, unblocking_processed = 1, active_compute_node_id = NULL
WHERE workflow_id = ? AND status NOT IN ({UNINITIALIZED}, {DISABLED})
"""
# A reset must not let a job's next run collide with what its last run of
# this attempt already reported (or with the worker still running it): such
# jobs get the next attempt, so the old claim is fenced and the new result
# has a (run, attempt) of its own.
_NEEDS_NEW_ATTEMPT = f"""status NOT IN ({UNINITIALIZED}, {DISABLED}) AND (status IN ({_IN_FLIGHT})
    OR EXISTS (SELECT 1 FROM result r WHERE r.job_id = job.id AND r.run_id = ?
               AND r.attempt_id = job.attempt_id))"""
FENCE_RESET_JOB = f"UPDATE job SET attempt_id = attempt_id + 1 WHERE id = ? AND {_NEEDS_NEW_ATTEMPT}"
FENCE_RESET_ALL = (
    f"UPDATE job SET attempt_id = attempt_id + 1 WHERE workflow_id = ? AND {_NEEDS_NEW_ATTEMPT}"
)
# Claims InitializeJobs leaves alone: held by a compute node that still holds its lease.
LIVE_CLAIMS = f"""
SELECT j.id, j.status FROM job j JOIN compute_node n ON n.id = j.active_compute_node_id
WHERE j.workflow_id = ? AND j.status IN ({_IN_FLIGHT}) AND n.is_active = 1 ORDER BY j.id
"""
RETRY_READY = f"""
UPDATE job SET status = {READY}, attempt_id = attempt_id + 1, active_compute_node_id = NULL
WHERE id = ?
"""
RETRY_UNINITIALIZED = f"""
UPDATE job SET status = {UNINITIALIZED}, attempt_id = attempt_id + 1, unblocking_processed = 1,
    active_compute_node_id = NULL
WHERE id = ?
"""
NODE_JOBS = f"""
SELECT id, status FROM job INDEXED BY idx_job_active_compute_node
WHERE active_compute_node_id = ? AND status IN ({_IN_FLIGHT}) ORDER BY id
"""
# A claim given back (its node's lease expired): READY again for anyone.
REQUEUE_PENDING = f"""
UPDATE job SET status = {READY}, active_compute_node_id = NULL WHERE id = ? AND status = {PENDING}
"""


def set_initialized_statuses(
    conn: apsw.Connection, job_ids: Sequence[int], statuses: Sequence[int]
) -> None:
    conn.executemany(SET_STATUS_INITIALIZED, zip(statuses, job_ids))


def clear_unblocking(conn: apsw.Connection, workflow_id: int) -> None:
    conn.execute(CLEAR_UNBLOCKING, (workflow_id,))


def claim_jobs(conn: apsw.Connection, job_ids: Sequence[int], node_id: Optional[int]) -> int:
    """READY -> PENDING for the node; returns how many rows changed."""
    before = conn.total_changes()
    conn.executemany(CLAIM_JOB, ((node_id, j) for j in job_ids))
    return conn.total_changes() - before


def start_job(conn: apsw.Connection, job_id: int, node_id: Optional[int]) -> None:
    conn.execute(START_JOB, (node_id, job_id))


def complete_job(conn: apsw.Connection, job_id: int, status: int, needs_unblock: bool) -> None:
    conn.execute(COMPLETE_JOB, (int(status), 0 if needs_unblock else 1, job_id))


SET_RESOURCES = "UPDATE job SET resource_requirements_id = ? WHERE id = ? AND workflow_id = ?"
JOB_STATUSES = "SELECT id, status FROM job WHERE workflow_id = ? AND id IN ({})"


def statuses_of(conn: apsw.Connection, workflow_id: int, job_ids: Sequence[int]) -> dict[int, int]:
    """job id -> status, for the workflow's jobs among job_ids."""
    out: dict[int, int] = {}
    for chunk in chunks(list(job_ids)):
        out.update(conn.execute(JOB_STATUSES.format(placeholders(len(chunk))), (workflow_id, *chunk)).fetchall())
    return out


def set_resources(conn: apsw.Connection, workflow_id: int, job_ids: Sequence[int], rr_id: int) -> None:
    conn.executemany(SET_RESOURCES, ((rr_id, j, workflow_id) for j in job_ids))


def write_unblocked(
    conn: apsw.Connection, processed: Sequence[int], ready: Sequence[int], canceled: Sequence[int]
) -> None:
    conn.executemany(SET_READY, ((j,) for j in ready))
    conn.executemany(SET_CASCADE_CANCELED, ((j,) for j in canceled))
    conn.executemany(MARK_UNBLOCKED, ((j,) for j in processed))


def workflows_pending_unblock(conn: apsw.Connection) -> list[int]:
    return [r[0] for r in conn.execute(WORKFLOWS_PENDING_UNBLOCK)]


def pending_unblock(conn: apsw.Connection, workflow_id: int) -> list[JobAndStatus]:
    return [JobAndStatus._make(r) for r in conn.execute(PENDING_UNBLOCK, (workflow_id,))]


def cancel_in_flight(conn: apsw.Connection, workflow_id: int) -> list[int]:
    """Cancel the claimed and running jobs; returns their ids."""
    ids = [r[0] for r in conn.execute(IN_FLIGHT_JOBS, (workflow_id,))]
    if ids:
        conn.execute(CANCEL_IN_FLIGHT, (workflow_id,))
    return ids


def in_flight_count(conn: apsw.Connection, workflow_id: int) -> int:
    return one(conn, IN_FLIGHT_COUNT, (workflow_id,))[0]


def resettable_failed(conn: apsw.Connection, workflow_id: int) -> list[JobAndStatus]:
    return [JobAndStatus._make(r) for r in conn.execute(RESETTABLE_FAILED, (workflow_id,))]


def reset_jobs(conn: apsw.Connection, job_ids: Sequence[int]) -> int:
    """Back to uninitialized (disabled and uninitialized jobs untouched); how many changed."""
    before = conn.total_changes()
    conn.executemany(RESET_JOB, ((j,) for j in job_ids))
    return conn.total_changes() - before


def fence_reset(conn: apsw.Connection, job_ids: Sequence[int], run_id: int) -> None:
    """Before a reset: the next attempt for jobs in flight or already reported in this run."""
    conn.executemany(FENCE_RESET_JOB, ((j, run_id) for j in job_ids))


def fence_reset_all(conn: apsw.Connection, workflow_id: int, run_id: int) -> None:
    conn.execute(FENCE_RESET_ALL, (workflow_id, run_id))


def live_claims(conn: apsw.Connection, workflow_id: int) -> list[JobAndStatus]:
    """Pending and running jobs whose compute node still holds its lease."""
    return [JobAndStatus._make(r) for r in conn.execute(LIVE_CLAIMS, (workflow_id,))]


def reset_all_jobs(conn: apsw.Connection, workflow_id: int) -> int:
    """Every job that is not disabled back to uninitialized; return how many changed."""
    conn.execute(RESET_ALL_JOBS, (workflow_id,))
    return conn.changes()


def retry_ready(conn: apsw.Connection, job_id: int) -> None:
    conn.execute(RETRY_READY, (job_id,))


def retry_uninitialized(conn: apsw.Connection, job_id: int) -> None:
    conn.execute(RETRY_UNINITIALIZED, (job_id,))


def node_jobs(conn: apsw.Connection, node_id: int) -> list[JobAndStatus]:
    """The PENDING and RUNNING jobs a node holds."""
    return [JobAndStatus._make(r) for r in conn.execute(NODE_JOBS, (node_id,))]


def requeue_pending(conn: apsw.Connection, job_ids: Sequence[int]) -> None:
    conn.executemany(REQUEUE_PENDING, ((j,) for j in job_ids))
