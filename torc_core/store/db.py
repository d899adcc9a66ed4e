"""Connections, transactions and migrations: one policy, as a named list, for every connection.

Only the PyPI apsw (with its private SQLite) touches the database in the
server process; never the stdlib sqlite3 module (two SQLite copies in one
process break file locking). One connection per thread.
"""

from __future__ import annotations

import contextlib
import functools
import os
from importlib import resources
from typing import Callable, Iterator, TypeVar

import apsw

from ..errors import StoreBusy

T = TypeVar("T")

#: The connection type the rest of the core passes around (only the store talks to apsw).
Connection = apsw.Connection

#: Milliseconds a statement waits on a locked database before BusyError.
BUSY_TIMEOUT_MS = 30_000


def _sync_mode() -> str:
    mode = os.environ.get("TORC_DB_SYNC", "normal").strip().lower()
    if mode not in ("normal", "full"):
        raise ValueError(f"TORC_DB_SYNC must be 'normal' or 'full', not {mode!r}")
    return mode.upper()


def _wal(c: apsw.Connection) -> None:
    # WAL: readers never block the writer; needs a local disk (no NFS/Lustre).
    c.execute("PRAGMA journal_mode = WAL")


def _synchronous(c: apsw.Connection) -> None:
    # NORMAL in WAL survives a killed process; FULL also survives power loss.
    c.execute(f"PRAGMA synchronous = {_sync_mode()}")


def _foreign_keys(c: apsw.Connection) -> None:
    c.execute("PRAGMA foreign_keys = ON")


def _busy_timeout(c: apsw.Connection) -> None:
    c.set_busy_timeout(BUSY_TIMEOUT_MS)


def _no_double_quoted_strings(c: apsw.Connection) -> None:
    # A misspelled column in double quotes must be an error, not a string.
    c.config(apsw.SQLITE_DBCONFIG_DQS_DML, 0)
    c.config(apsw.SQLITE_DBCONFIG_DQS_DDL, 0)


def _cache(c: apsw.Connection) -> None:
    # 64 MiB page cache per connection: initialize reads millions of edges.
    c.execute("PRAGMA cache_size = -65536")
    c.execute("PRAGMA temp_store = MEMORY")


#: The connection policy, applied in order to every connection.
CONNECTION_POLICY: list[tuple[str, Callable[[apsw.Connection], None]]] = [
    ("wal", _wal),
    ("synchronous", _synchronous),
    ("foreign_keys", _foreign_keys),
    ("busy_timeout", _busy_timeout),
    ("no_double_quoted_strings", _no_double_quoted_strings),
    ("cache", _cache),
]


def _migration_v1(c: apsw.Connection) -> None:
    c.execute(resources.files("torc_core").joinpath("schema.sql").read_text())


def _migration_v2(c: apsw.Connection) -> None:
    # Lease expiry looks for active nodes whose lease ran out.
    c.execute("CREATE INDEX idx_compute_node_lease ON compute_node(lease_expires_at) WHERE is_active = 1")


def _migration_v3(c: apsw.Connection) -> None:
    # Why a job did not run (the worker could not start it).
    c.execute("ALTER TABLE result ADD COLUMN error TEXT NOT NULL DEFAULT ''")


def _migration_v4(c: apsw.Connection) -> None:
    # Access groups (torc's), their members and workflows; workflow-scoped worker tokens.
    c.execute("""
CREATE TABLE access_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE access_group_member (
    group_id INTEGER NOT NULL REFERENCES access_group(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    PRIMARY KEY (group_id, user)
);
CREATE INDEX idx_access_group_member_user ON access_group_member(user);
CREATE TABLE workflow_access_group (
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    group_id INTEGER NOT NULL REFERENCES access_group(id) ON DELETE CASCADE,
    PRIMARY KEY (workflow_id, group_id)
);
CREATE INDEX idx_workflow_access_group_group ON workflow_access_group(group_id);
CREATE TABLE worker_token (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    digest TEXT NOT NULL UNIQUE,          -- sha256 of the token; the token itself is never stored
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at REAL NOT NULL,             -- unix seconds
    revoked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_worker_token_workflow ON worker_token(workflow_id);
""")


def _migration_v5(c: apsw.Connection) -> None:
    # Slurm schedulers, workflow actions and allocations (docs/slurm.md).
    c.execute("""
ALTER TABLE workflow ADD COLUMN slurm_settings TEXT NOT NULL DEFAULT '{}';  -- JSON: SlurmSettings
ALTER TABLE compute_node ADD COLUMN slurm_job_id TEXT NOT NULL DEFAULT '';
CREATE INDEX idx_compute_node_slurm_job ON compute_node(slurm_job_id) WHERE slurm_job_id != '';
CREATE TABLE slurm_scheduler (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,                   -- JSON: SchedulerSpec
    failures INTEGER NOT NULL DEFAULT 0,  -- consecutive (the circuit breaker)
    paused INTEGER NOT NULL DEFAULT 0,
    retry_after REAL NOT NULL DEFAULT 0,  -- unix seconds
    message TEXT NOT NULL DEFAULT '',
    UNIQUE (workflow_id, name)
);
CREATE TABLE workflow_action (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    trigger_type TEXT NOT NULL,
    action_type TEXT NOT NULL,
    spec TEXT NOT NULL,                   -- JSON: ActionSpec without its jobs
    required_triggers INTEGER NOT NULL DEFAULT 1,
    trigger_count INTEGER NOT NULL DEFAULT 0,
    fired_at TEXT,                        -- NULL until it fires (again NULL after a rerun)
    executed INTEGER NOT NULL DEFAULT 0   -- claimed by the allocator or a worker
);
CREATE INDEX idx_workflow_action_workflow ON workflow_action(workflow_id, trigger_type);
-- The jobs an on_jobs_* action waits for; counted once each (per run).
CREATE TABLE workflow_action_job (
    action_id INTEGER NOT NULL REFERENCES workflow_action(id) ON DELETE CASCADE,
    job_id INTEGER NOT NULL REFERENCES job(id) ON DELETE CASCADE,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    counted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (action_id, job_id)
) WITHOUT ROWID;
CREATE INDEX idx_workflow_action_job_job ON workflow_action_job(job_id);
-- Persistent actions: which nodes ran them.
CREATE TABLE workflow_action_node (
    action_id INTEGER NOT NULL REFERENCES workflow_action(id) ON DELETE CASCADE,
    compute_node_id INTEGER NOT NULL,
    PRIMARY KEY (action_id, compute_node_id)
) WITHOUT ROWID;
CREATE TABLE slurm_allocation (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    workflow_id INTEGER NOT NULL REFERENCES workflow(id) ON DELETE CASCADE,
    scheduler_id INTEGER NOT NULL REFERENCES slurm_scheduler(id) ON DELETE CASCADE,
    slurm_job_id TEXT NOT NULL,
    state TEXT NOT NULL,                  -- queued, running, done, failed, canceled
    source TEXT NOT NULL,                 -- action, allocator, manual
    num_nodes INTEGER NOT NULL DEFAULT 1,
    nodes TEXT NOT NULL DEFAULT '',
    submitted_at TEXT NOT NULL,
    start_time TEXT NOT NULL DEFAULT '',
    end_time TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    worker_seen INTEGER NOT NULL DEFAULT 0,
    worker_token_id INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX idx_slurm_allocation_workflow ON slurm_allocation(workflow_id, id);
CREATE INDEX idx_slurm_allocation_live ON slurm_allocation(state) WHERE state IN ('queued', 'running');
CREATE INDEX idx_slurm_allocation_job ON slurm_allocation(slurm_job_id);
""")


def _migration_v6(c: apsw.Connection) -> None:
    # Where each node writes its jobs' stdout/stderr (`torc-grpc logs`, docs/cli.md), and
    # torc's resource_monitor with the time series it records (docs/cli.md, `report`).
    c.execute("""
ALTER TABLE compute_node ADD COLUMN output_dir TEXT NOT NULL DEFAULT '';
ALTER TABLE workflow ADD COLUMN resource_monitor TEXT NOT NULL DEFAULT '{}';  -- JSON: ResourceMonitor
ALTER TABLE result ADD COLUMN samples TEXT NOT NULL DEFAULT '';  -- JSON [[s, cpu %, bytes], ...]
""")


#: Migrations keyed by the user_version they produce, applied in order.
MIGRATIONS: list[tuple[int, Callable[[apsw.Connection], None]]] = [
    (1, _migration_v1),
    (2, _migration_v2),
    (3, _migration_v3),
    (4, _migration_v4),
    (5, _migration_v5),
    (6, _migration_v6),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def sqlite_version() -> str:
    """The version of the SQLite library inside apsw (the only one in the process)."""
    return apsw.sqlite_lib_version()


def open_connection(path: str) -> apsw.Connection:
    """Open a connection to `path` with the connection policy applied.

    Raises:
        OSError: The file cannot be opened or created (missing folder, rights).
    """
    try:
        conn = apsw.Connection(path)
        conn.execute("PRAGMA schema_version").fetchall()  # touch the file now
    except (apsw.CantOpenError, apsw.NotADBError) as exc:
        raise OSError(f"cannot open database {path!r}: {exc}") from exc
    for _name, apply in CONNECTION_POLICY:
        apply(conn)
    return conn


def migrate(conn: apsw.Connection) -> int:
    """Bring the schema up to date; return the version it is at.

    Raises:
        RuntimeError: The database was written by a newer torc-grpc.
    """
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchall()[0][0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"database schema version {version} is newer than this server's "
                f"({SCHEMA_VERSION}); upgrade torc-grpc"
            )
        for target, step in MIGRATIONS:
            if version < target:
                step(conn)
                conn.execute(f"PRAGMA user_version = {int(target)}")
                version = target
    return version


def close_connection(conn: apsw.Connection, checkpoint: bool = False) -> None:
    """Close a connection; the writer also optimizes and checkpoints the WAL."""
    if checkpoint:
        try:
            conn.execute("PRAGMA optimize")
            conn.wal_checkpoint(mode=apsw.SQLITE_CHECKPOINT_TRUNCATE)
        except apsw.BusyError:  # another process reads; the next open checkpoints
            pass
    conn.close()


@contextlib.contextmanager
def transaction(conn: apsw.Connection) -> Iterator[apsw.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception.

    IMMEDIATE takes the write lock up front, so a read-then-write never fails
    halfway on a lock upgrade. apsw.BusyError becomes StoreBusy.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except apsw.BusyError as exc:
        raise StoreBusy("the database is busy; retry") from exc
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except apsw.BusyError as exc:
            conn.execute("ROLLBACK")
            raise StoreBusy("the database is busy; retry") from exc


def busy_as_store_busy(fn: Callable[..., T]) -> Callable[..., T]:
    """Decorate a core entry point so that a database that stayed locked past
    the busy timeout surfaces as the core's retryable StoreBusy, never as an
    apsw exception (the transport maps core errors only)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except apsw.BusyError as exc:
            raise StoreBusy("the database is busy; retry") from exc

    return wrapper
