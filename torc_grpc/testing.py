"""Helpers for tests and benchmarks: a real server on a real port, waiting on
conditions with deadlines, and database snapshots. No mocks here."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, TypeVar

import apsw
import grpc

from torc_core import store
from torc_core.engine import Engine

from ._pb import (
    event_pb2_grpc,
    server_pb2,
    job_pb2_grpc,
    server_pb2_grpc,
    worker_pb2_grpc,
    workflow_pb2_grpc,
)
from .server import RunningServer, ServerConfig, build_server

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.005, what: str = ""
) -> T:
    """Return predicate()'s first truthy value; AssertionError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Stubs:
    """One stub per torc service on one channel."""

    channel: grpc.Channel
    workflow: workflow_pb2_grpc.WorkflowServiceStub
    job: job_pb2_grpc.JobServiceStub
    worker: worker_pb2_grpc.WorkerServiceStub
    event: event_pb2_grpc.EventServiceStub
    server: server_pb2_grpc.ServerServiceStub

    @classmethod
    def connect(cls, target: str, options: Optional[list] = None) -> "Stubs":
        channel = grpc.insecure_channel(target, options=options or [])
        return cls(
            channel,
            workflow_pb2_grpc.WorkflowServiceStub(channel),
            job_pb2_grpc.JobServiceStub(channel),
            worker_pb2_grpc.WorkerServiceStub(channel),
            event_pb2_grpc.EventServiceStub(channel),
            server_pb2_grpc.ServerServiceStub(channel),
        )


@contextlib.contextmanager
def local_server(db_path: str, **config) -> Iterator[tuple[RunningServer, Stubs]]:
    """A real server on 127.0.0.1 (port 0) over a real database file."""
    engine = Engine(db_path)
    running = build_server(ServerConfig(db=db_path, host="127.0.0.1", port=0, **config), engine)
    stubs = Stubs.connect(f"127.0.0.1:{running.port}")
    try:
        yield running, stubs
    finally:
        stubs.channel.close()
        running.stop(grace=2.0)


def db_snapshot(path: str) -> dict[str, list[tuple]]:
    """Every row of every table, for "the database is unchanged" checks."""
    conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return store.dump_tables(conn)
    finally:
        conn.close()


def integrity_ok(path: str) -> bool:
    """PRAGMA integrity_check and foreign_key_check both clean."""
    conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return not store.integrity_problems(conn)
    finally:
        conn.close()


def assert_refused(call: Callable[[], object], code: grpc.StatusCode, db_path: str,
                   stubs: Stubs, contains: str = "") -> str:
    """Run `call`, expect status `code`, and prove the refusal changed nothing.

    The database must be identical before and after and pass its integrity
    checks, and the server must still answer. Returns the status details.
    """
    before = db_snapshot(db_path)
    try:
        call()
    except grpc.RpcError as err:
        details = err.details()
        assert err.code() == code, f"{err.code()} instead of {code}: {details}"
    else:
        raise AssertionError(f"expected {code}, the call succeeded")
    assert contains in details, details
    assert db_snapshot(db_path) == before
    assert integrity_ok(db_path)
    stubs.server.Ping(server_pb2.PingRequest(), timeout=5)
    return details
