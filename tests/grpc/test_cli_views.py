"""What a user reads (issue 17), through real CLI processes against a real
server: --version, list, delete, nodes, --json on every read command (one
document, or one object a line with --watch/--follow), names instead of
numbers, a workflow that never started, and an unreachable server."""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Stubs
from torc_grpc.testing import served_process, spawn_worker, wait_until
from torc_grpc.worker.config import WorkerConfig
from torc_grpc.worker.node import NodeSession

from .test_cli import EXAMPLES, cli


@pytest.fixture
def served(tmp_path):
    with served_process(tmp_path) as address:
        yield address


def read_json(*args, cwd, env):
    done = cli(*args, "--json", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_version(tmp_path):
    done = cli("--version", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("torc-grpc ") and "API torc.v1" in done.stdout


def test_every_read_command_as_a_table_and_as_json(tmp_path, served):
    env = {"TORC_SERVER": served}
    wf = cli("submit", str(EXAMPLES / "diamond.yaml"), cwd=tmp_path, env=env).stdout.strip()
    listed = read_json("list", cwd=tmp_path, env=env)
    assert [(w["id"], w["name"], w["state"], w["num_jobs"]) for w in listed] == [(int(wf), "diamond", "not started", 4)]
    assert "not started" in cli("status", wf, cwd=tmp_path, env=env).stdout
    assert read_json("status", wf, cwd=tmp_path, env=env)["state"] == "not started"

    cli("start", wf, cwd=tmp_path, env=env)
    watcher = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "status", wf, "--watch", "--json"],
                               cwd=tmp_path, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    worker = spawn_worker(served, int(wf), tmp_path / "w", "--cpus", "2", "--memory", "1g")
    assert worker.wait(120) == 0
    watched = [json.loads(line) for line in watcher.communicate(timeout=60)[0].splitlines()]
    assert watched[-1]["state"] == "complete" and watched[-1]["counts"] == {"completed": 4}

    assert read_json("list", cwd=tmp_path, env=env)[0]["counts"] == {"completed": 4}
    jobs = read_json("jobs", wf, cwd=tmp_path, env=env)
    assert {j["name"]: j["status"] for j in jobs} == {
        "preprocess": "completed", "upper": "completed", "total": "completed", "postprocess": "completed"}
    results = read_json("results", wf, cwd=tmp_path, env=env)
    assert sorted(r["job_name"] for r in results) == ["postprocess", "preprocess", "total", "upper"]
    assert {r["status"] for r in results} == {"completed"} and {r["return_code"] for r in results} == {0}
    table = cli("results", wf, cwd=tmp_path, env=env).stdout.splitlines()
    assert table[0].split()[:2] == ["job_id", "job_name"] and len(table) == 5
    events = read_json("events", wf, cwd=tmp_path, env=env)
    done = [e for e in events if e["event_type"] == "job_completed"]
    assert len(done) == 4 and {e["data"]["status"] for e in done} == {"completed"}  # a name, not 5
    text = cli("events", wf, cwd=tmp_path, env=env).stdout
    assert "status=completed" in text and "job_name=postprocess" in text
    nodes = read_json("nodes", wf, cwd=tmp_path, env=env)
    assert len(nodes) == 1 and nodes[0]["num_cpus"] == 2 and nodes[0]["memory_bytes"] == 2**30
    assert nodes[0]["hostname"] and nodes[0]["active"] is False  # the worker said goodbye
    assert read_json("nodes", wf, "--active", cwd=tmp_path, env=env) == []
    assert "hostname" in cli("nodes", wf, cwd=tmp_path, env=env).stdout.splitlines()[0]

    follow = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "events", wf, "--follow", "--json"],
                              cwd=tmp_path, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in follow.stdout], daemon=True).start()
    try:
        got = [json.loads(lines.get(timeout=30)) for _ in range(len(events))]  # every line is JSON
        assert [e["id"] for e in got] == [e["id"] for e in events]
    finally:
        follow.kill()
        follow.wait(30)

    deleted = cli("delete", wf, cwd=tmp_path, env=env)
    assert deleted.returncode == 0 and "deleted" in deleted.stdout
    assert read_json("list", cwd=tmp_path, env=env) == []


def test_an_unreachable_server_gets_one_line_with_the_address_and_the_hint(tmp_path):
    port = _closed_port()
    done = cli("list", "--server", f"127.0.0.1:{port}", cwd=tmp_path)
    assert done.returncode == 1 and done.stderr.count("\n") == 1
    assert f"cannot reach a torc-grpc server at 127.0.0.1:{port}" in done.stderr
    assert "torc-grpc serve" in done.stderr and "TORC_SERVER" in done.stderr


def test_a_worker_says_once_that_the_server_is_unreachable(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="torc_grpc.worker")
    config = WorkerConfig(target=f"127.0.0.1:{_closed_port()}", workflow_id=1, reconnect_seconds=2.0)
    session = NodeSession(config, grpc.insecure_channel(config.target), threading.Event())
    t0 = time.monotonic()
    with pytest.raises(grpc.RpcError):
        session.register(None)
    assert time.monotonic() - t0 >= 2.0 and session.calls >= 3  # it retried, backing off
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "unreachable" in warnings[0].getMessage()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _workflow(served, tmp_path, jobs, **spec):
    stubs = Stubs.connect(served)
    wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
        name="logs", jobs=jobs, **spec))).workflow
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf.id))
    return stubs, wf.id


def test_logs_prints_each_attempts_stdout_and_stderr(tmp_path, served):
    env = {"TORC_SERVER": served}
    handler = c.FailureHandlerSpec(name="again", rules=[c.FailureRule(exit_codes=[3], max_retries=2)])
    jobs = [c.JobSpec(name="talk", command='echo "out $TORC_ATTEMPT_ID"; echo "err $TORC_ATTEMPT_ID" >&2; '
                      '[ "$TORC_ATTEMPT_ID" = 2 ] || exit 3', failure_handler="again"),
            c.JobSpec(name="later", command="true", depends_on=["talk"], cancel_on_blocking_job_failure=False)]
    stubs, wf = _workflow(served, tmp_path, jobs, failure_handlers=[handler])
    ids = {j.name: j.id for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
    missing = cli("logs", str(ids["talk"]), cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "has no reported attempt yet" in missing.stderr
    assert spawn_worker(served, wf, tmp_path / "w", "--cpus", "1").wait(120) == 0
    assert cli("logs", str(ids["talk"]), cwd=tmp_path, env=env).stdout == "out 2\n"
    assert cli("logs", str(ids["talk"]), "--stderr", cwd=tmp_path, env=env).stdout == "err 2\n"
    assert cli("logs", str(ids["talk"]), "--attempt", "1", cwd=tmp_path, env=env).stdout == "out 1\n"
    nope = cli("logs", str(ids["talk"]), "--attempt", "7", cwd=tmp_path, env=env)
    assert nope.returncode == 1 and "no reported attempt 7" in nope.stderr


def test_logs_follow_prints_while_the_job_runs_and_ends_with_it(tmp_path, served):
    env = {"TORC_SERVER": served}
    go = tmp_path / "go"
    # The job itself waits for the test's signal (a file), bounded: it never hangs the suite.
    jobs = [c.JobSpec(name="slow", command=f"echo first; for i in $(seq 600); do [ -e {go} ] && break; "
                      "sleep 0.1; done; echo second")]
    stubs, wf = _workflow(served, tmp_path, jobs)
    job = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs[0].id
    worker = spawn_worker(served, wf, tmp_path / "w", "--cpus", "1")
    wait_until(lambda: stubs.job.GetJob(jpb.GetJobRequest(job_id=job)).job.status == c.JOB_STATUS_RUNNING, 60)
    follow = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "logs", str(job), "--follow"],
                              cwd=tmp_path, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in follow.stdout], daemon=True).start()
    assert lines.get(timeout=60) == "first\n"
    go.write_text("")
    assert lines.get(timeout=60) == "second\n"
    assert follow.wait(60) == 0 and worker.wait(120) == 0


def test_logs_of_a_node_elsewhere_says_where_the_file_is(tmp_path, served):
    env = {"TORC_SERVER": served}
    stubs, wf = _workflow(served, tmp_path, [c.JobSpec(name="far", command="true")])
    node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, hostname="node42", resources=c.Resources(num_cpus=1, memory_bytes=2**30, num_nodes=1),
        output_dir="/scratch/elsewhere/out")).compute_node_id
    (job,) = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
        workflow_id=wf, compute_node_id=node, start=True,
        resources=c.Resources(num_cpus=1, memory_bytes=2**30, num_nodes=1))).jobs
    done = cli("logs", str(job.id), "--stderr", cwd=tmp_path, env=env)
    assert done.returncode == 1
    assert f"on node42 at /scratch/elsewhere/out/job_{job.id}_1_1.e (not reachable from here)" in done.stderr


def test_run_names_the_stderr_file_of_what_failed(tmp_path):
    (tmp_path / "bad.yaml").write_text("name: w\njobs:\n  - {name: boom, command: 'echo kaput >&2; exit 4'}\n")
    done = cli("run", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 1
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("boom:"))
    path = line.split("stderr: ", 1)[1].rstrip(")")
    assert (tmp_path / path).read_text() == "kaput\n"


def test_a_worker_logs_a_line_per_job_start_and_end_at_debug(tmp_path, served):
    stubs, wf = _workflow(served, tmp_path, [c.JobSpec(name="one", command="exit 3"),
                                             c.JobSpec(name="two", command="true")])
    worker = spawn_worker(served, wf, tmp_path / "w", "--cpus", "1")
    assert worker.wait(120) == 0
    quiet = (tmp_path / "w" / "worker.log").read_text()
    assert "started: pid" not in quiet  # not at the default level
    stubs.workflow.ResetJobStatus(wpb.ResetJobStatusRequest(workflow_id=wf))
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
    done = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "--log-level", "DEBUG", "worker", "--server",
                           served, "--workflow", str(wf), "--output-dir", str(tmp_path / "d")],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "(one) attempt 2 started: pid" in done.stderr  # the reset gave it the next attempt
    assert "(one) ended: failed, return code 3" in done.stderr and "(two) ended: completed, return code 0" in done.stderr
