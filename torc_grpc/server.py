"""Building and running the gRPC server.

build_server() returns the started-ready server and its bound port, so tests
bind port 0 with a real channel. serve() runs it until SIGTERM/SIGINT and
then drains: health NOT_SERVING, no new calls, in-flight calls finish (up to
the grace period), then the database is closed cleanly.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import Optional

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from torc_core.engine import Engine

from . import profiling
from .boundary import DEFAULT_ANSWER_BYTES, Boundary
from .pool import ElasticThreadPool
from .validation import Limits, Validator
from ._pb import (
    event_pb2,
    event_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    server_pb2,
    server_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from .servicers import (
    EventServiceServicer,
    JobServiceServicer,
    ServerServiceServicer,
    WorkerServiceServicer,
    WorkflowServiceServicer,
)

log = logging.getLogger("torc_grpc.server")

#: Full names of the torc services, as reflection and health report them.
TORC_SERVICES = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (workflow_pb2, "WorkflowService"),
        (job_pb2, "JobService"),
        (worker_pb2, "WorkerService"),
        (event_pb2, "EventService"),
        (server_pb2, "ServerService"),
    )
)


@dataclass
class ServerConfig:
    """Settings of one server process.

    Attributes:
        db: SQLite database file (local disk).
        host: Address to bind (127.0.0.1 for local use and tests).
        port: Port to bind; 0 picks a free one.
        max_workers: Threads serving unary calls.
        max_streams: Open WatchReadyJobs/WatchEvents subscriptions allowed;
            each pins a thread, so the pool holds max_streams + max_workers.
        stream_backlog: Undelivered messages a subscriber may hold before it
            is ended with RESOURCE_EXHAUSTED.
        thread_idle_seconds: An idle pool thread exits after this long.
        node_lease: Seconds a compute node stays registered without a
            Heartbeat (0 = forever).
        max_message_bytes: Largest request/response message accepted.
        answer_bytes: Budget of one answer: list pages and claims stop adding
            items at this size (one item is always sent), so that any client,
            with gRPC's default 4 MiB receive limit, can read every answer.
        grace_seconds: How long in-flight calls may run on shutdown.
        limits: Caps of request fields (torc_grpc.validation, docs/limits.md).
    """

    db: str = "torc.db"
    host: str = "127.0.0.1"
    port: int = 0
    max_workers: int = 32
    max_streams: int = 2000
    stream_backlog: int = 50_000
    thread_idle_seconds: float = 60.0
    node_lease: float = 120.0
    max_message_bytes: int = 64 * 1024 * 1024
    answer_bytes: int = DEFAULT_ANSWER_BYTES
    grace_seconds: float = 30.0
    limits: Limits = field(default_factory=Limits)


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    engine: Engine

    pool: ElasticThreadPool

    def stop(self, grace: Optional[float] = 5.0) -> None:
        """Drain: NOT_SERVING, end the streams (clients reconnect elsewhere or
        later), refuse new calls, wait for in-flight ones, close."""
        self.health.enter_graceful_shutdown()
        self.engine.notifier.close()
        self.server.stop(grace).wait()
        self.pool.shutdown(wait=False)
        self.engine.close()


def build_server(config: ServerConfig, engine: Engine) -> RunningServer:
    """Create, bind and start a server for `engine`; returns it with its port."""
    options = [
        ("grpc.max_receive_message_length", config.max_message_bytes),
        ("grpc.max_send_message_length", config.max_message_bytes),
        ("grpc.so_reuseport", 0),
        # A burst of subscribes overflows core's pending-request backlog with
        # the defaults (docs/architecture.md: 1,834 of 2,000 registered).
        ("grpc.max_concurrent_streams", 100_000),
        ("grpc.server.max_pending_requests", 100_000),
        ("grpc.server.max_pending_requests_hard_limit", 100_000),
    ]
    engine.notifier.configure(config.max_streams, config.stream_backlog)
    pool = ElasticThreadPool(
        config.max_workers + config.max_streams, idle_seconds=config.thread_idle_seconds
    )
    server = grpc.server(pool, options=options)
    boundary = Boundary(Validator(config.limits), min(config.answer_bytes, config.max_message_bytes))
    workflow_pb2_grpc.add_WorkflowServiceServicer_to_server(
        WorkflowServiceServicer(engine, boundary), server)
    job_pb2_grpc.add_JobServiceServicer_to_server(JobServiceServicer(engine, boundary), server)
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(WorkerServiceServicer(engine, boundary), server)
    event_pb2_grpc.add_EventServiceServicer_to_server(EventServiceServicer(engine, boundary), server)
    server_pb2_grpc.add_ServerServiceServicer_to_server(ServerServiceServicer(engine), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*TORC_SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    port = server.add_insecure_port(f"{config.host}:{config.port}")
    if port == 0:
        raise OSError(f"could not bind {config.host}:{config.port}")
    server.start()
    for name in ("", *TORC_SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving on %s:%d (database %s)", config.host, port, config.db)
    return RunningServer(server, port, health_servicer, engine, pool)


def serve(config: ServerConfig, ready_line: bool = True) -> int:
    """Run a server until SIGTERM or SIGINT; return the process exit code."""
    profile = profiling.start()  # TORC_PROFILE=FILE.json: where the CPU goes (diagnostic)
    engine = Engine(config.db, lease_seconds=config.node_lease)
    running = build_server(config, engine)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("signal %d: draining", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if ready_line:
        print(f"TORC_SERVER_PORT={running.port}", flush=True)
    stop.wait()
    running.stop(config.grace_seconds)
    profiling.stop(profile)
    log.info("stopped")
    sys.stdout.flush()
    return 0
