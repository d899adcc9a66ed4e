"""Store and connection policy on real SQLite files: migrations, pragmas,
and the query plans of the statements the hot paths run."""

from __future__ import annotations

import apsw
import pytest

from torc_core import store
from torc_core.store import db, events, job_status
from torc_core.store import jobs as job_sql
from torc_core.engine import Engine
from torc_core.models import JobSpec, ResourceRequirementsSpec, WorkflowSpec


def test_connection_policy_applied(tmp_path, monkeypatch):
    path = str(tmp_path / "p.db")
    conn = db.open_connection(path)
    assert conn.execute("PRAGMA journal_mode").fetchall() == [("wal",)]
    assert conn.execute("PRAGMA foreign_keys").fetchall() == [(1,)]
    assert conn.execute("PRAGMA synchronous").fetchall() == [(1,)]  # NORMAL
    assert conn.execute("PRAGMA busy_timeout").fetchall() == [(db.BUSY_TIMEOUT_MS,)]
    with pytest.raises(apsw.SQLError):  # double-quoted strings are identifiers only
        conn.execute('SELECT "no such column"').fetchall()
    conn.close()
    monkeypatch.setenv("TORC_DB_SYNC", "full")
    conn = db.open_connection(path)
    assert conn.execute("PRAGMA synchronous").fetchall() == [(2,)]  # FULL
    conn.close()
    monkeypatch.setenv("TORC_DB_SYNC", "sometimes")
    with pytest.raises(ValueError):
        db.open_connection(path)
    assert [name for name, _ in db.CONNECTION_POLICY][:4] == ["wal", "synchronous", "foreign_keys", "busy_timeout"]


def test_migrations_keyed_by_user_version(tmp_path):
    path = str(tmp_path / "m.db")
    conn = db.open_connection(path)
    assert db.migrate(conn) == db.SCHEMA_VERSION
    assert db.migrate(conn) == db.SCHEMA_VERSION  # idempotent
    assert conn.execute("PRAGMA user_version").fetchall() == [(db.SCHEMA_VERSION,)]
    conn.execute(f"PRAGMA user_version = {db.SCHEMA_VERSION + 1}")
    with pytest.raises(RuntimeError, match="newer"):
        db.migrate(conn)
    conn.close()


def test_transaction_rolls_back_on_error(tmp_path):
    conn = db.open_connection(str(tmp_path / "t.db"))
    db.migrate(conn)
    with pytest.raises(ZeroDivisionError):
        with db.transaction(conn) as c:
            store.insert_workflow(c, "w", "", "", "now", "none", {})
            1 / 0
    assert store.list_workflows(conn, "", 0, 10) == []
    conn.close()


def _plan(conn, sql, args):
    return " | ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args))


def test_hot_queries_use_their_indexes(tmp_path):
    path = str(tmp_path / "plan.db")
    engine = Engine(path)
    jobs = tuple(JobSpec(name=f"j{i}", command="x", depends_on=(f"j{i-1}",) if i else ()) for i in range(200))
    wf, _ = engine.create_workflow(WorkflowSpec(name="p", jobs=jobs))
    many = tuple(ResourceRequirementsSpec(name=f"r{i}", num_cpus=i) for i in range(50))
    engine.create_workflow(WorkflowSpec(name="q", resource_requirements=many, jobs=jobs))
    engine.start_workflow(wf.id)
    engine.close()
    conn = db.open_connection(path)
    conn.execute("ANALYZE")
    checks = {
        "idx_job_workflow_status": (job_sql.LIST_JOBS_BY_STATUS.format("?"), (wf.id, 2, 0, 10)),
        "idx_job_depends_on_workflow": (job_sql.GRAPH_EDGES, (wf.id,)),
        "idx_job_output_file_file": (job_sql.MATERIALIZE_FILE_EDGES, (wf.id,)),
        "idx_job_output_user_data_ud": (job_sql.MATERIALIZE_USER_DATA_EDGES, (wf.id,)),
        "idx_job_unblocking_pending": (job_status.CLEAR_UNBLOCKING, (wf.id,)),
        "idx_event_workflow": (events.LIST_EVENTS, (wf.id, 0, 0, 10)),
    }
    for index, (sql, args) in checks.items():
        plan = _plan(conn, sql, args)
        assert index in plan, f"{index} not used: {plan}"
    assert "SCAN" not in _plan(conn, job_sql.GRAPH_JOBS, (wf.id,))
    assert "SCAN" not in _plan(conn, job_sql.GET_JOB, (1,))
    conn.close()
