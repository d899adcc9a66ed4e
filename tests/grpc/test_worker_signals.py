"""A real worker process under the signals scancel, a walltime end and
preemption send, and jobs that would once have killed it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import grpc

from torc_core.engine import Engine
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, spawn_worker, status_of, wait_until
from torc_grpc.worker import WorkerConfig
from torc_grpc.worker.inbox import Inbox
from torc_grpc.worker.processes import CANNOT_START, Finished, Processes

S = c.JobStatus


def create(stubs, jobs):
    resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="w", jobs=jobs)))
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=resp.workflow.id))
    return resp.workflow.id, dict(resp.job_ids)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie has exited
        return f.read().split(") ", 1)[1][0] != "Z"


def test_sigterm_terminates_jobs_reports_them_and_deregisters(tmp_path, db_path):
    marker = tmp_path / "got-term"
    pids = {name: tmp_path / f"{name}.pid" for name in ("polite", "stubborn", "ignores")}
    jobs = [
        # Supports termination: traps SIGTERM and exits.
        c.JobSpec(name="polite", supports_termination=True,
                  command=f"echo $$ > {pids['polite']}; trap 'echo term > {marker}; exit 0' TERM; "
                          "sleep 120 & wait"),
        # Does not: SIGKILL at once.
        c.JobSpec(name="stubborn", command=f"echo $$ > {pids['stubborn']}; exec sleep 120"),
        # Claims to support it but ignores SIGTERM: SIGKILL after the grace period.
        c.JobSpec(name="ignores", supports_termination=True,
                  command=f"echo $$ > {pids['ignores']}; trap '' TERM; sleep 120 & wait; sleep 120"),
        c.JobSpec(name="later", command="true", depends_on=["polite"]),
    ]
    with local_server(db_path) as (running, stubs):
        wf, ids = create(stubs, jobs)
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "4",
                              "--memory", "4g", "--term-grace", "2")
        running_ids = [ids[n] for n in ("polite", "stubborn", "ignores")]
        wait_until(lambda: all(status_of(stubs, j) == S.JOB_STATUS_RUNNING for j in running_ids)
                   and all(p.exists() and p.read_text().strip() for p in pids.values()),
                   timeout=30, what="three jobs running")
        job_pids = {n: int(p.read_text()) for n, p in pids.items()}
        t0 = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        took = time.monotonic() - t0
        assert took < 15, f"worker took {took:.1f} s to exit"
        log = (tmp_path / "w" / "worker.log").read_text()
        assert worker.returncode == 2, log
        assert "stopped: signaled" in (tmp_path / "w" / "worker.out").read_text()
        for j in running_ids:
            assert status_of(stubs, j) == S.JOB_STATUS_TERMINATED
        assert marker.read_text().strip() == "term"
        assert not any(alive(pid) for pid in job_pids.values())
        results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
        assert sorted(r.job_id for r in results) == sorted(running_ids)
        node = results[0].compute_node_id
        try:  # deregistered: the node is refused from now on
            stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))
            raise AssertionError("the node still holds a lease")
        except grpc.RpcError as err:
            assert err.code() == grpc.StatusCode.FAILED_PRECONDITION
        print(f"SIGTERM -> worker exit: {took:.2f} s (grace 2 s)")


def test_a_job_the_worker_cannot_start_fails_and_the_worker_goes_on(tmp_path, db_path):
    jobs = [c.JobSpec(name="poison", command="true"), c.JobSpec(name="fine", command="true"),
            c.JobSpec(name="after", command="true", depends_on=["fine"])]
    with local_server(db_path) as (running, stubs):
        wf, ids = create(stubs, jobs)
        out = tmp_path / "w" / "out"
        out.mkdir(parents=True)
        (out / f"job_{ids['poison']}_1_1.o").mkdir()  # its stdout file cannot be opened
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "2", "--memory", "1g")
        worker.wait(60)
        assert worker.returncode == 0, (tmp_path / "w" / "worker.log").read_text()
        assert status_of(stubs, ids["poison"]) == S.JOB_STATUS_FAILED
        assert status_of(stubs, ids["fine"]) == status_of(stubs, ids["after"]) == S.JOB_STATUS_COMPLETED
        (result,) = [r for r in stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
                     if r.job_id == ids["poison"]]
        assert result.return_code == CANNOT_START and "could not start" in result.error
        assert "IsADirectoryError" in result.error
        assert "could not start" in (out / f"job_{ids['poison']}_1_1.e").read_text()


def test_bad_env_nul_bytes_and_a_missing_output_dir_never_raise(tmp_path):
    inbox = Inbox()
    config = WorkerConfig(target="", workflow_id=1, output_dir=str(tmp_path), end_time=0.0)
    processes = Processes(config, inbox)
    cases = {
        1: c.Job(id=1, name="eq", command="true", env={"A=B": "x"}),
        2: c.Job(id=2, name="nul-env", command="true", env={"A": "x\x00"}),
        3: c.Job(id=3, name="nul-cmd", command="echo \x00"),
    }
    for job in cases.values():
        processes.spawn(job, job, 1, 7)
    config.output_dir = str(tmp_path / "missing" / "dir")
    job = c.Job(id=4, name="no-dir", command="true")
    processes.spawn(job, job, 1, 7)
    ends = {}
    for _ in range(4):
        item = inbox.get(timeout=10)
        assert isinstance(item, Finished)
        ends[item.job_id] = item
    assert {j: e.return_code for j, e in ends.items()} == {1: CANNOT_START, 2: CANNOT_START,
                                                           3: CANNOT_START, 4: CANNOT_START}
    assert "not valid" in ends[1].error and "NUL" in ends[2].error and "NUL" in ends[3].error
    assert "FileNotFoundError" in ends[4].error


def test_run_on_sigterm_terminates_its_jobs_and_stops_its_server(tmp_path):
    pid_file = tmp_path / "job.pid"
    (tmp_path / "long.yaml").write_text(
        "name: long\njobs:\n"
        f"  - name: sleeper\n    command: echo $$ > {pid_file}; exec sleep 120\n"
        "  - name: next\n    command: 'true'\n    depends_on: [sleeper]\n")
    proc = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "run", "long.yaml"], cwd=tmp_path,
                            stdout=open(tmp_path / "run.out", "w"), stderr=open(tmp_path / "run.log", "w"))
    wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=30, what="job running")
    job_pid = int(pid_file.read_text())
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    took = time.monotonic() - t0
    assert took < 15 and not alive(job_pid), (tmp_path / "run.log").read_text()
    assert "worker stopped: signaled" in (tmp_path / "run.out").read_text()
    engine = Engine(str(tmp_path / "torc.db"), recover=False)
    try:
        (wf,) = engine.list_workflows().items
        statuses = {j.name: j.status for j in engine.list_jobs(wf.id).items}
        assert statuses["sleeper"] == S.JOB_STATUS_TERMINATED
    finally:
        engine.close()


def test_sigterm_with_on_signal_release_gives_running_jobs_back_for_their_handlers(tmp_path, db_path):
    """The allocator's workers (`--on-signal release`): scancel or preemption took
    the node, not the job's own fault: the server fails the job with -128 and its
    failure handler retries it; a job that died by a signal just before stays
    unreported (it went with the allocation), and nothing is left running."""
    pid_file = tmp_path / "job.pid"
    spec = c.WorkflowSpec(name="w", failure_handlers=[c.FailureHandlerSpec(
        name="lost", rules=[c.FailureRule(exit_codes=[-128], max_retries=2)])], jobs=[
        c.JobSpec(name="long", command=f"echo $$ > {pid_file}; exec sleep 120", failure_handler="lost")])
    with local_server(db_path) as (running, stubs):
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))
        wf, job = resp.workflow.id, resp.job_ids["long"]
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "1",
                              "--memory", "1g", "--on-signal", "release", "--term-grace", "1")
        wait_until(lambda: status_of(stubs, job) == S.JOB_STATUS_RUNNING and pid_file.exists()
                   and pid_file.read_text().strip(), timeout=30, what="the job running")
        job_pid = int(pid_file.read_text())
        os.kill(job_pid, signal.SIGTERM)  # as scancel does: the job and the worker at once
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
        assert "given back to the server" in (tmp_path / "w" / "worker.out").read_text()
        got = stubs.job.GetJob(jpb.GetJobRequest(job_id=job)).job
        results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf, all_runs=True)).results
        assert got.status == S.JOB_STATUS_READY and got.attempt_id == 2  # retried by its handler
        assert [r.return_code for r in results] == [-128]
        assert not alive(job_pid)
