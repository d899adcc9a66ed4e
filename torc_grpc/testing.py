"""Helpers for tests and benchmarks: a real server on a real port, waiting on
conditions with deadlines, and database snapshots. No mocks here."""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Callable, Iterator, Optional, TypeVar

import grpc

from torc_core import store
from torc_core.engine import Engine

from ._pb import (
    common_pb2,
    job_pb2,
    server_pb2,
    worker_pb2,
    workflow_pb2,
)
from .client import Stubs
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


@contextlib.contextmanager
def local_server(db_path: str, **config) -> Iterator[tuple[RunningServer, Stubs]]:
    """A real server on 127.0.0.1 (port 0) over a real database file."""
    config.setdefault("port", 0)
    cfg = ServerConfig(db=db_path, host="127.0.0.1", **config)
    engine = Engine(db_path, lease_seconds=cfg.node_lease)
    running = build_server(cfg, engine)
    stubs = Stubs.connect(f"127.0.0.1:{running.port}")
    try:
        yield running, stubs
    finally:
        stubs.channel.close()
        running.stop(grace=2.0)


def db_snapshot(path: str) -> dict[str, list[tuple]]:
    """Every row of every table, for "the database is unchanged" checks."""
    return store.dump_file(path)


def integrity_ok(path: str) -> bool:
    """PRAGMA integrity_check and foreign_key_check both clean."""
    return not store.file_integrity_problems(path)


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


GiB = 1024**3
#: A node that fits every job the tests define.
BIG = common_pb2.Resources(num_cpus=64, memory_bytes=512 * GiB, num_gpus=8, num_nodes=1)


def setup(stubs: Stubs, jobs: list, **spec) -> tuple[int, dict, int, int]:
    """Create and start a workflow and register one BIG node: (workflow, job ids by name, run, node)."""
    resp = stubs.workflow.CreateWorkflow(workflow_pb2.CreateWorkflowRequest(
        spec=common_pb2.WorkflowSpec(name="w", jobs=jobs, **spec)))
    wf = resp.workflow.id
    run = stubs.workflow.StartWorkflow(workflow_pb2.StartWorkflowRequest(workflow_id=wf)).run_id
    node = stubs.worker.RegisterComputeNode(worker_pb2.RegisterComputeNodeRequest(
        workflow_id=wf, hostname="h", resources=BIG))
    return wf, dict(resp.job_ids), run, node.compute_node_id


def status_of(stubs: Stubs, job_id: int) -> int:
    return stubs.job.GetJob(job_pb2.GetJobRequest(job_id=job_id)).job.status


def run_job(stubs: Stubs, job_id: int, run: int, node: int,
            status: int = common_pb2.JOB_STATUS_COMPLETED, rc: int = 0):
    """StartJob then CompleteJob; returns the CompleteJob response."""
    stubs.worker.StartJob(worker_pb2.StartJobRequest(job_id=job_id, run_id=run, compute_node_id=node))
    return stubs.worker.CompleteJob(worker_pb2.CompleteJobRequest(
        job_id=job_id, status=status, run_id=run,
        result=common_pb2.JobResult(return_code=rc, compute_node_id=node)))


def spawn_server(db_path: str, log_path, *args: str, env: Optional[dict] = None,
                 ready_timeout: float = 30.0) -> tuple[subprocess.Popen, int]:
    """`torc-grpc serve --port 0` as a real process; returns it and its port.

    Runs from the database's directory so that the installed package is
    imported, never the source tree. stderr goes to log_path.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "torc_grpc.cli", "serve", "--db", db_path, "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=open(log_path, "w"),
        text=True,
        env={**os.environ, **(env or {})},
        cwd=os.path.dirname(os.path.abspath(db_path)),
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if line.startswith("TORC_SERVER_PORT="):
            return proc, int(line.strip().split("=", 1)[1])
    proc.kill()
    raise AssertionError(f"server did not print its port; log:\n{open(log_path).read()}")


@contextlib.contextmanager
def served_process(folder) -> Iterator[str]:
    """`torc-grpc serve` as a real process on a database in `folder`; yields its address."""
    server, port = spawn_server(os.path.join(str(folder), "s.db"), os.path.join(str(folder), "server.log"))
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(60)


def spawn_worker(target: str, workflow_id: int, workdir, *args: str) -> subprocess.Popen:
    """`torc-grpc worker` as a real process in `workdir` (its own session, so
    a test can kill it like a lost node); stdout and stderr to files there."""
    workdir = str(workdir)
    os.makedirs(workdir, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "torc_grpc.cli", "worker", "--server", target, "--workflow",
         str(workflow_id), "--output-dir", os.path.join(workdir, "out"), *args],
        stdout=open(os.path.join(workdir, "worker.out"), "w"),
        stderr=open(os.path.join(workdir, "worker.log"), "w"),
        cwd=workdir,
        start_new_session=True,
    )


def make_test_pki(folder: str) -> dict[str, str]:
    """Real certificates for tests and benchmarks, as PEM files in `folder`:
    a CA (ca.pem), a server certificate for 127.0.0.1 and localhost
    (server.pem, server.key), a client certificate for the user alice
    (alice.pem, alice.key) and an unrelated CA (rogue-ca.pem). Needs the
    `cryptography` package (the test extra)."""
    import datetime  # noqa: PLC0415
    import ipaddress  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives import hashes, serialization  # noqa: PLC0415
    from cryptography.hazmat.primitives.asymmetric import ec  # noqa: PLC0415
    from cryptography.x509.oid import NameOID  # noqa: PLC0415

    now = datetime.datetime.now(datetime.timezone.utc)
    paths: dict[str, str] = {}

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    def cert(subject: str, key, issuer: str, issuer_key, ca: bool = False) -> x509.Certificate:
        builder = (x509.CertificateBuilder().subject_name(name(subject)).issuer_name(name(issuer))
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - datetime.timedelta(minutes=5))
                   .not_valid_after(now + datetime.timedelta(days=2))
                   .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
        if not ca:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(file: str, data: bytes) -> None:
        path = os.path.join(folder, file)
        with open(path, "wb") as f:
            f.write(data)
        paths[file] = path

    def pem_key(key) -> bytes:
        return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())

    for prefix in ("rogue-", ""):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = cert(f"{prefix}torc test CA", ca_key, f"{prefix}torc test CA", ca_key, ca=True)
        write(f"{prefix}ca.pem", ca.public_bytes(serialization.Encoding.PEM))
    for who, common in (("server", "localhost"), ("alice", "alice")):
        key = ec.generate_private_key(ec.SECP256R1())
        write(f"{who}.pem", cert(common, key, "torc test CA", ca_key).public_bytes(serialization.Encoding.PEM))
        write(f"{who}.key", pem_key(key))
    return paths

