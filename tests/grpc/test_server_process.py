"""`torc-grpc serve` as a real process: ready line, health, reflection,
graceful SIGTERM with an in-flight stream, and the kernels guard."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

import apsw

from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import server_pb2 as spb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.server import TORC_SERVICES
from torc_grpc.testing import Stubs, integrity_ok, spawn_server, status_of

def start_server(db_path, log_path, env=None):
    return spawn_server(db_path, log_path, "--grace", "20", env=env)


def test_serve_health_reflection_and_graceful_sigterm(tmp_path):
    db = str(tmp_path / "proc.db")
    proc, port = start_server(db, tmp_path / "server.log")
    try:
        stubs = Stubs.connect(f"127.0.0.1:{port}")
        health = health_pb2_grpc.HealthStub(stubs.channel)
        for service in ("", *TORC_SERVICES):
            resp = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert resp.status == health_pb2.HealthCheckResponse.SERVING

        refl = reflection_pb2_grpc.ServerReflectionStub(stubs.channel)
        answer = next(iter(refl.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5)))
        listed = {s.name for s in answer.list_services_response.service}
        assert set(TORC_SERVICES) <= listed
        assert {"grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection"} <= listed

        version = stubs.server.GetVersion(spb.GetVersionRequest(), timeout=5)
        assert version.api == "torc.v1" and version.kernels == "compiled"

        wf_id = stubs.workflow.CreateWorkflow(
            wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="drain")), timeout=5).workflow.id

        # An AddJobs stream is in flight when SIGTERM arrives: it must finish.
        watch = health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=30)
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        sent = queue.Queue()
        release = threading.Event()

        def batches():
            for k in range(3):
                if k == 1:
                    sent.put("first batch sent")
                    assert release.wait(20), "test never released the stream"
                yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[c.JobSpec(name=f"j{k}", command="x")])

        future = stubs.workflow.AddJobs.future(batches(), timeout=30)
        assert sent.get(timeout=10)
        proc.send_signal(signal.SIGTERM)
        # Health turns NOT_SERVING for watchers as the drain starts.
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        watch.cancel()  # an open watch would hold the drain for the whole grace period
        release.set()
        assert future.result(timeout=20).count == 3
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert integrity_ok(db)


def test_sigterm_flushes_pending_unblocking_and_checkpoints(tmp_path):
    db = str(tmp_path / "flush.db")
    # A 30 s deliberate unblocking interval: the completion below is still pending at SIGTERM.
    proc, port = spawn_server(db, tmp_path / "flush.log", "--grace", "20", env={"TORC_UNBLOCK_INTERVAL": "30"})
    try:
        stubs = Stubs.connect(f"127.0.0.1:{port}")
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="f", jobs=[
            c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])])), timeout=5)
        wf, ids = resp.workflow.id, resp.job_ids
        run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf), timeout=5).run_id
        stubs.worker.ClaimNextJobs(kpb.ClaimNextJobsRequest(workflow_id=wf), timeout=5)
        stubs.worker.CompleteJob(kpb.CompleteJobRequest(job_id=ids["a"], status=c.JOB_STATUS_COMPLETED,
                                                        run_id=run), timeout=5)
        assert status_of(stubs, ids["b"]) == c.JOB_STATUS_BLOCKED  # unblocking still pending
        stubs.channel.close()
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 15  # the drain does not wait out the interval
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    conn = apsw.Connection(db, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        assert conn.execute("SELECT status FROM job WHERE id = ?", (ids["b"],)).fetchall() == [(2,)]
        assert conn.execute("SELECT count(*) FROM job WHERE unblocking_processed = 0").fetchall() == [(0,)]
    finally:
        conn.close()
    wal = db + "-wal"
    assert not os.path.exists(wal) or os.path.getsize(wal) == 0  # checkpointed on the way out
    assert integrity_ok(db)


def test_refuses_reference_kernels_unless_asked(tmp_path):
    hide_compiled = (
        "import sys; sys.modules['torc_core._graph'] = None\n"
        "import torc_core.kernels\n"
    )
    run = subprocess.run([sys.executable, "-c", hide_compiled], capture_output=True, text=True,
                         env={k: v for k, v in os.environ.items() if k != "TORC_NO_EXTENSIONS"},
                         cwd=tmp_path)
    assert run.returncode != 0
    assert "TORC_NO_EXTENSIONS=1" in run.stderr
    allowed = subprocess.run(
        [sys.executable, "-c", hide_compiled + "print(torc_core.kernels.IMPLEMENTATION)"],
        capture_output=True, text=True, env={**os.environ, "TORC_NO_EXTENSIONS": "1"}, cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "reference"


def test_server_on_reference_kernels_when_asked(tmp_path):
    proc, port = start_server(str(tmp_path / "ref.db"), tmp_path / "ref.log",
                              env={"TORC_NO_EXTENSIONS": "1"})
    try:
        stubs = Stubs.connect(f"127.0.0.1:{port}")
        assert stubs.server.GetVersion(spb.GetVersionRequest(), timeout=5).kernels == "reference"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_bad_database_path_is_one_line_error(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "torc_grpc.cli", "serve", "--db", str(tmp_path / "no" / "dir" / "x.db"),
         "--port", "0"],
        capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines()[-1].startswith("torc-grpc:")
