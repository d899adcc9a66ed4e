"""Building and running the gRPC server.

build_server() returns the started-ready server and its bound port, so tests
bind port 0 with a real channel. serve() runs it until SIGTERM/SIGINT and
then drains: health NOT_SERVING, no new calls, in-flight calls finish (up to
the grace period), then the database is closed cleanly.
"""

from __future__ import annotations

import ipaddress
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
from torc_core.slurm.allocator import Allocator

from . import profiling
from ._pb import (
    access_pb2,
    access_pb2_grpc,
    event_pb2,
    event_pb2_grpc,
    job_pb2,
    job_pb2_grpc,
    server_pb2,
    server_pb2_grpc,
    slurm_pb2,
    slurm_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from .auth import AuthInterceptor, Authorizer
from .boundary import DEFAULT_ANSWER_BYTES, Boundary
from .metrics import Metrics
from .pool import ElasticThreadPool
from .server_slurm import SlurmOptions, build_allocator, check_slurm
from .servicers import (
    AccessServiceServicer,
    EventServiceServicer,
    JobServiceServicer,
    ServerServiceServicer,
    SlurmServiceServicer,
    WorkerServiceServicer,
    WorkflowServiceServicer,
)
from .validation import Limits, Validator

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
        (access_pb2, "AccessService"),
        (slurm_pb2, "SlurmService"),
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
        auth_file: Users and token digests (torc_grpc.auth.users); with it,
            every call needs credentials and is authorized (docs/security.md).
        tls_cert, tls_key: PEM files: serve TLS. tls_client_ca: require client
            certificates signed by this CA (mTLS).
        max_streams_per_user: Streams one user may hold (0 = half of max_streams).
        insecure: Allow a non-loopback address without auth and TLS (trusted networks only).
        slurm: Run the Slurm allocator (`serve --slurm`; None = off).
        metrics_port: Serve Prometheus metrics on this port (0 = any free one;
            None = off), on metrics_host (loopback unless asked otherwise).
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
    auth_file: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    tls_client_ca: str = ""
    max_streams_per_user: int = 0
    insecure: bool = False
    slurm: Optional[SlurmOptions] = None
    metrics_port: Optional[int] = None
    metrics_host: str = "127.0.0.1"


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer
    engine: Engine

    pool: ElasticThreadPool
    #: Set when the server authenticates (reload() on SIGHUP).
    authorizer: Optional[Authorizer] = None
    #: Set with --slurm.
    allocator: Optional[Allocator] = None
    #: Set with --metrics-port, and the port its endpoint bound.
    metrics: Optional[Metrics] = None
    metrics_port: int = 0

    def stop(self, grace: Optional[float] = 5.0) -> None:
        """Drain: NOT_SERVING, end the streams (clients reconnect elsewhere or
        later), refuse new calls, wait for in-flight ones, close."""
        self.health.enter_graceful_shutdown()
        if self.allocator is not None:
            self.allocator.stop()
        self.engine.notifier.close()
        self.server.stop(grace).wait()
        if self.metrics is not None:
            self.metrics.close()
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
    per_user = config.max_streams_per_user or max(1, config.max_streams // 2)
    engine.notifier.configure(config.max_streams, config.stream_backlog, per_user)
    authorizer = Authorizer(engine, config.auth_file) if config.auth_file else None
    pool = ElasticThreadPool(
        config.max_workers + config.max_streams, idle_seconds=config.thread_idle_seconds
    )
    interceptors = [AuthInterceptor(authorizer)] if authorizer is not None else []
    metrics = Metrics(engine) if config.metrics_port is not None else None
    if metrics is not None:
        interceptors.insert(0, metrics.interceptor())  # outermost: refusals are counted too
    server = grpc.server(pool, options=options, interceptors=interceptors)
    boundary = Boundary(Validator(config.limits), min(config.answer_bytes, config.max_message_bytes))
    workflow_pb2_grpc.add_WorkflowServiceServicer_to_server(
        WorkflowServiceServicer(engine, boundary), server)
    job_pb2_grpc.add_JobServiceServicer_to_server(JobServiceServicer(engine, boundary), server)
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(WorkerServiceServicer(engine, boundary), server)
    event_pb2_grpc.add_EventServiceServicer_to_server(EventServiceServicer(engine, boundary), server)
    server_pb2_grpc.add_ServerServiceServicer_to_server(ServerServiceServicer(engine), server)
    access_pb2_grpc.add_AccessServiceServicer_to_server(AccessServiceServicer(engine, boundary), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*TORC_SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )
    address = f"{config.host}:{config.port}"
    if config.tls_cert or config.tls_key:
        port = server.add_secure_port(address, _tls(config))
    else:
        port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"could not bind {config.host}:{config.port}")
    allocator = None
    if config.slurm is not None:
        allocator = build_allocator(config.slurm, engine, config.host, port, authorizer is not None)
    slurm_pb2_grpc.add_SlurmServiceServicer_to_server(SlurmServiceServicer(engine, allocator, boundary),
                                                      server)
    server.start()
    if allocator is not None:
        allocator.start()
    for name in ("", *TORC_SERVICES):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    metrics_port = metrics.serve(config.metrics_host, config.metrics_port) if metrics is not None else 0
    if metrics is not None:
        log.info("Prometheus metrics on %s:%d/metrics", config.metrics_host, metrics_port)
    log.info("serving on %s:%d (database %s)", config.host, port, config.db)
    return RunningServer(server, port, health_servicer, engine, pool, authorizer, allocator, metrics, metrics_port)


def _tls(config: ServerConfig) -> grpc.ServerCredentials:
    def read(path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    if not (config.tls_cert and config.tls_key):
        raise ValueError("TLS needs both --tls-cert and --tls-key")
    ca = read(config.tls_client_ca) if config.tls_client_ca else None
    return grpc.ssl_server_credentials([(read(config.tls_key), read(config.tls_cert))],
                                       root_certificates=ca, require_client_auth=ca is not None)


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"


def check_secure_default(config: ServerConfig) -> None:
    """A server reachable from other hosts needs --auth-file and TLS (workers
    run the jobs' shell commands: an open API is remote code execution),
    unless --insecure says the network is trusted.

    Raises:
        ValueError: It is not, with what to do.
    """
    if _loopback(config.host) or config.insecure:
        return
    missing = [what for what, ok in (("--auth-file", config.auth_file),
                                     ("--tls-cert/--tls-key", config.tls_cert and config.tls_key)) if not ok]
    if missing:
        raise ValueError(
            f"refusing to serve on {config.host} without {' and '.join(missing)}: anyone who can "
            "reach the port could run shell commands as the workflows' owners. Add them "
            "(docs/security.md), or pass --insecure on a trusted network only."
        )


def serve(config: ServerConfig, ready_line: bool = True) -> int:
    """Run a server until SIGTERM or SIGINT; return the process exit code."""
    try:
        check_secure_default(config)
    except ValueError as exc:
        print(f"torc-grpc serve: {exc}", file=sys.stderr, flush=True)
        return 2
    why = check_slurm(config.slurm)
    if why:
        print(f"torc-grpc serve: {why}", file=sys.stderr, flush=True)
        return 2
    profile = profiling.start()  # TORC_PROFILE=FILE.json: where the CPU goes (diagnostic)
    engine = Engine(config.db, lease_seconds=config.node_lease)
    running = build_server(config, engine)
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("signal %d: draining", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if running.authorizer is not None:
        authorizer = running.authorizer

        def on_hup(_signum, _frame):  # users added or removed take effect at once
            try:
                authorizer.reload()
            except ValueError as exc:  # keep the users we have; say why
                log.error("SIGHUP: %s; keeping the previous users", exc)

        signal.signal(signal.SIGHUP, on_hup)
    if ready_line:
        if running.metrics is not None:
            print(f"TORC_METRICS_PORT={running.metrics_port}", flush=True)
        print(f"TORC_SERVER_PORT={running.port}", flush=True)
    stop.wait()
    running.stop(config.grace_seconds)
    profiling.stop(profile)
    log.info("stopped")
    sys.stdout.flush()
    return 0
