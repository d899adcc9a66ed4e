"""Slurm tables: a workflow's schedulers (with circuit-breaker state), its
settings, and the allocations the allocator submitted."""

from __future__ import annotations

import dataclasses
import json
from typing import Optional, Sequence

import apsw

from ..slurm.models import (
    Allocation,
    AllocationSource,
    AllocationState,
    Scheduler,
    SchedulerSpec,
    SlurmSettings,
)
from ..models import JobStatus
from ._rows import one, statuses_sql

INSERT_SCHEDULER = "INSERT INTO slurm_scheduler (workflow_id, name, spec) VALUES (?, ?, ?)"
SCHEDULER_COLUMNS = "id, workflow_id, spec, failures, paused, retry_after, message"
SCHEDULERS = f"SELECT {SCHEDULER_COLUMNS} FROM slurm_scheduler WHERE workflow_id = ? ORDER BY id"
SCHEDULER_BY_NAME = f"SELECT {SCHEDULER_COLUMNS} FROM slurm_scheduler WHERE workflow_id = ? AND name = ?"
SCHEDULER_BY_ID = f"SELECT {SCHEDULER_COLUMNS} FROM slurm_scheduler WHERE id = ?"
SET_BREAKER = "UPDATE slurm_scheduler SET failures = ?, paused = ?, retry_after = ?, message = ? WHERE id = ?"
SET_SETTINGS = "UPDATE workflow SET slurm_settings = ? WHERE id = ?"
SETTINGS = "SELECT slurm_settings FROM workflow WHERE id = ?"
WORKFLOWS_WITH_SCHEDULERS = """
SELECT DISTINCT s.workflow_id FROM slurm_scheduler s JOIN workflow w ON w.id = s.workflow_id
WHERE w.run_id > 0 AND w.is_archived = 0 ORDER BY s.workflow_id
"""
ALLOCATION_COLUMNS = """a.id, a.workflow_id, a.scheduler_id, s.name, a.slurm_job_id, a.state, a.source,
    a.num_nodes, a.nodes, a.submitted_at, a.start_time, a.end_time, a.message, a.worker_seen,
    a.worker_token_id"""
INSERT_ALLOCATION = """
INSERT INTO slurm_allocation (workflow_id, scheduler_id, slurm_job_id, state, source, num_nodes,
    submitted_at, message, worker_token_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
ALLOCATIONS = f"""
SELECT {ALLOCATION_COLUMNS} FROM slurm_allocation a JOIN slurm_scheduler s ON s.id = a.scheduler_id
WHERE a.workflow_id = ? ORDER BY a.id
"""
LIVE_ALLOCATIONS = f"""
SELECT {ALLOCATION_COLUMNS} FROM slurm_allocation a INDEXED BY idx_slurm_allocation_live
JOIN slurm_scheduler s ON s.id = a.scheduler_id
WHERE a.state IN ('queued', 'running') ORDER BY a.id
"""
ALLOCATION_BY_ID = f"""
SELECT {ALLOCATION_COLUMNS} FROM slurm_allocation a JOIN slurm_scheduler s ON s.id = a.scheduler_id
WHERE a.id = ?
"""
ALLOCATION_BY_SLURM_JOB = f"""
SELECT {ALLOCATION_COLUMNS} FROM slurm_allocation a JOIN slurm_scheduler s ON s.id = a.scheduler_id
WHERE a.slurm_job_id = ? AND a.workflow_id = ? ORDER BY a.id DESC LIMIT 1
"""
UPDATE_ALLOCATION = """
UPDATE slurm_allocation SET state = ?, nodes = ?, start_time = ?, end_time = ?, message = ?
WHERE id = ?
"""
ALLOCATION_WORKER_SEEN = "UPDATE slurm_allocation SET worker_seen = 1 WHERE id = ?"
NODES_OF_SLURM_JOB = """
SELECT id FROM compute_node INDEXED BY idx_compute_node_slurm_job
WHERE slurm_job_id = ? AND slurm_job_id != '' AND workflow_id = ? AND is_active = 1 ORDER BY id
"""
SET_NODE_SLURM_JOB = "UPDATE compute_node SET slurm_job_id = ? WHERE id = ?"
#: Unfinished jobs of a workflow by claim class: what the allocator's demand reads.
WORK_BY_CLASS = f"""
SELECT j.scheduler_id, rr.num_cpus, rr.memory_bytes, rr.num_gpus, rr.num_nodes, rr.runtime_s,
    j.status, COUNT(*)
FROM job j JOIN resource_requirements rr ON rr.id = j.resource_requirements_id
WHERE j.workflow_id = ? AND j.status IN ({statuses_sql((JobStatus.BLOCKED, JobStatus.READY))})
GROUP BY j.scheduler_id, j.resource_requirements_id, j.status
"""


def _spec_json(spec) -> str:
    return json.dumps(dataclasses.asdict(spec), sort_keys=True)


def _scheduler(row: tuple) -> Scheduler:
    raw = json.loads(row[2])
    return Scheduler(row[0], row[1], SchedulerSpec(**raw), row[3], bool(row[4]), row[5], row[6])


def _allocation(row: tuple) -> Allocation:
    return Allocation(row[0], row[1], row[2], row[3], row[4], AllocationState(row[5]),
                      AllocationSource(row[6]), row[7], row[8], row[9], row[10], row[11], row[12],
                      bool(row[13]), row[14])


def insert_schedulers(conn: apsw.Connection, workflow_id: int, specs: Sequence[SchedulerSpec]) -> dict[str, int]:
    ids = {}
    for spec in specs:
        conn.execute(INSERT_SCHEDULER, (workflow_id, spec.name, _spec_json(spec)))
        ids[spec.name] = conn.last_insert_rowid()
    return ids


def schedulers(conn: apsw.Connection, workflow_id: int) -> list[Scheduler]:
    return [_scheduler(r) for r in conn.execute(SCHEDULERS, (workflow_id,))]


def scheduler_by_name(conn: apsw.Connection, workflow_id: int, name: str) -> Optional[Scheduler]:
    row = one(conn, SCHEDULER_BY_NAME, (workflow_id, name))
    return _scheduler(row) if row else None


def scheduler_by_id(conn: apsw.Connection, scheduler_id: int) -> Optional[Scheduler]:
    row = one(conn, SCHEDULER_BY_ID, (scheduler_id,))
    return _scheduler(row) if row else None


def set_breaker(conn: apsw.Connection, scheduler_id: int, failures: int, paused: bool,
                retry_after: float, message: str) -> None:
    conn.execute(SET_BREAKER, (failures, int(paused), retry_after, message, scheduler_id))


def set_slurm_settings(conn: apsw.Connection, workflow_id: int, settings: SlurmSettings) -> None:
    conn.execute(SET_SETTINGS, (_spec_json(settings), workflow_id))


def slurm_settings(conn: apsw.Connection, workflow_id: int) -> SlurmSettings:
    row = one(conn, SETTINGS, (workflow_id,))
    raw = json.loads(row[0]) if row and row[0] else {}
    return SlurmSettings(**raw)


def workflows_with_schedulers(conn: apsw.Connection) -> list[int]:
    return [r[0] for r in conn.execute(WORKFLOWS_WITH_SCHEDULERS)]


def insert_allocation(conn: apsw.Connection, workflow_id: int, scheduler_id: int, slurm_job_id: str,
                      state: AllocationState, source: AllocationSource, num_nodes: int,
                      submitted_at: str, message: str = "", worker_token_id: int = 0) -> int:
    conn.execute(INSERT_ALLOCATION, (workflow_id, scheduler_id, slurm_job_id, state.value, source.value,
                                     num_nodes, submitted_at, message, worker_token_id))
    return conn.last_insert_rowid()


def allocations(conn: apsw.Connection, workflow_id: int) -> list[Allocation]:
    return [_allocation(r) for r in conn.execute(ALLOCATIONS, (workflow_id,))]


def allocation_states(conn: apsw.Connection) -> dict[str, int]:
    """Allocations by state, over every workflow (operators' metrics)."""
    return dict(conn.execute("SELECT state, count(*) FROM slurm_allocation GROUP BY state").fetchall())


def live_allocations(conn: apsw.Connection) -> list[Allocation]:
    return [_allocation(r) for r in conn.execute(LIVE_ALLOCATIONS)]


def allocation_by_id(conn: apsw.Connection, allocation_id: int) -> Optional[Allocation]:
    row = one(conn, ALLOCATION_BY_ID, (allocation_id,))
    return _allocation(row) if row else None


def allocation_of_slurm_job(conn: apsw.Connection, workflow_id: int, slurm_job_id: str) -> Optional[Allocation]:
    row = one(conn, ALLOCATION_BY_SLURM_JOB, (slurm_job_id, workflow_id))
    return _allocation(row) if row else None


def update_allocation(conn: apsw.Connection, a: Allocation) -> None:
    conn.execute(UPDATE_ALLOCATION, (a.state.value, a.nodes, a.start_time, a.end_time, a.message, a.id))


def mark_worker_seen(conn: apsw.Connection, allocation_id: int) -> None:
    conn.execute(ALLOCATION_WORKER_SEEN, (allocation_id,))


def set_node_slurm_job(conn: apsw.Connection, node_id: int, slurm_job_id: str) -> None:
    conn.execute(SET_NODE_SLURM_JOB, (slurm_job_id, node_id))


def active_nodes_of_slurm_job(conn: apsw.Connection, workflow_id: int, slurm_job_id: str) -> list[int]:
    return [r[0] for r in conn.execute(NODES_OF_SLURM_JOB, (slurm_job_id, workflow_id))]


def work_by_class(conn: apsw.Connection, workflow_id: int) -> list[tuple]:
    """(scheduler_id, cpus, memory, gpus, nodes, runtime_s, status, count) of blocked and ready jobs."""
    return conn.execute(WORK_BY_CLASS, (workflow_id,)).fetchall()
