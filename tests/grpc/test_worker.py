"""Real worker processes against a real server: a workflow end to end, and a
worker killed with SIGKILL in the middle of a job."""

from __future__ import annotations

import os
import signal
from collections import Counter

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, spawn_worker, status_of, wait_until

S = c.JobStatus


def create(stubs, jobs, **spec):
    resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="w", jobs=jobs, **spec)))
    stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=resp.workflow.id))
    return resp.workflow.id, dict(resp.job_ids)


def executions(log_path) -> Counter:
    with open(log_path) as f:
        return Counter(int(x) for x in f.read().split())


def finished(proc, timeout=120):
    proc.wait(timeout)
    return proc.returncode


def test_two_workers_run_a_workflow_end_to_end(tmp_path, db_path):
    log = tmp_path / "exec.log"
    jobs = [c.JobSpec(name=f"j{i}", command=f"echo $TORC_JOB_ID >> {log}",
                      depends_on=[f"j{i - 1}"] if i % 10 else []) for i in range(60)]
    jobs.append(c.JobSpec(name="last", command=f"echo $TORC_JOB_ID >> {log}; echo done-$TORC_JOB_NAME",
                          depends_on=[f"j{i}" for i in range(9, 60, 10)]))
    with local_server(db_path) as (running, stubs):
        wf, ids = create(stubs, jobs)
        target = f"127.0.0.1:{running.port}"
        workers = [spawn_worker(target, wf, tmp_path / f"w{k}", "--cpus", "4", "--memory", "4g") for k in range(2)]
        assert [finished(w) for w in workers] == [0, 0]
        assert executions(log) == Counter({j: 1 for j in ids.values()})  # every job ran exactly once
        assert all(status_of(stubs, j) == S.JOB_STATUS_COMPLETED for j in ids.values())
        results = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
        assert sorted(r.job_id for r in results) == sorted(ids.values()) and {r.return_code for r in results} == {0}
        outs = [p for k in range(2) for p in (tmp_path / f"w{k}" / "out").glob(f"job_{ids['last']}_*.o")]
        assert [p.read_text() for p in outs] == ["done-last\n"]
        summaries = [(tmp_path / f"w{k}" / "worker.out").read_text() for k in range(2)]
        assert all("stopped: complete" in s for s in summaries)


def test_worker_killed_mid_job_is_recovered_after_its_lease(tmp_path, db_path):
    pid_file = tmp_path / "long.pid"
    # Attempt 1 hangs (its worker is killed); attempt 2, on another node, succeeds.
    long_cmd = (f'if [ "$TORC_ATTEMPT_ID" = 1 ]; then echo $$ > {pid_file}; exec sleep 120; fi')
    handler = c.FailureHandlerSpec(name="orphans", rules=[c.FailureRule(exit_codes=[-128], max_retries=2)])
    jobs = [c.JobSpec(name="long", command=long_cmd, failure_handler="orphans"),
            c.JobSpec(name="after", command="true", depends_on=["long"])]
    with local_server(db_path, node_lease=1.0) as (running, stubs):
        wf, ids = create(stubs, jobs, failure_handlers=[handler])
        target = f"127.0.0.1:{running.port}"
        doomed = spawn_worker(target, wf, tmp_path / "doomed", "--cpus", "2", "--memory", "1g")
        wait_until(lambda: status_of(stubs, ids["long"]) == S.JOB_STATUS_RUNNING and pid_file.exists()
                   and pid_file.read_text().strip(), timeout=60, what="long job running")
        os.kill(doomed.pid, signal.SIGKILL)  # the node is gone; its job keeps no one informed
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
        doomed.wait(30)
        rescuer = spawn_worker(target, wf, tmp_path / "rescuer", "--cpus", "2", "--memory", "1g")
        assert finished(rescuer) == 0
        assert status_of(stubs, ids["long"]) == S.JOB_STATUS_COMPLETED
        assert status_of(stubs, ids["after"]) == S.JOB_STATUS_COMPLETED
        rows = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf, job_id=ids["long"], all_runs=True)).results
        assert sorted((r.attempt_id, r.return_code) for r in rows) == [(1, -128), (2, 0)]


def test_failure_handler_from_add_jobs_retries_and_runs_the_recovery_script(tmp_path, db_path):
    marker, recovered = tmp_path / "first-failed", tmp_path / "recovered.log"
    # Exits 2 on the first attempt, succeeds on the second.
    flaky = f'if [ "$TORC_ATTEMPT_ID" = 1 ]; then touch {marker}; exit 2; fi'
    with local_server(db_path) as (running, stubs):
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="w"))).workflow.id
        handler = c.FailureHandlerSpec(name="h", rules=[c.FailureRule(
            exit_codes=[2], max_retries=3,
            recovery_script=f"echo $TORC_JOB_NAME $TORC_ATTEMPT_ID $TORC_RETURN_CODE >> {recovered}")])
        added = stubs.workflow.AddJobs(iter([wpb.AddJobsRequest(
            workflow_id=wf, failure_handlers=[handler],
            jobs=[c.JobSpec(name="flaky", command=flaky, failure_handler="h")])]))
        assert added.count == 1
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "1", "--memory", "1g")
        assert finished(worker) == 0
        assert marker.exists() and recovered.read_text() == "flaky 1 2\n"
        rows = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf, all_runs=True)).results
        assert sorted((r.attempt_id, r.return_code) for r in rows) == [(1, 2), (2, 0)]


def test_missing_declared_output_fails_the_job(tmp_path, db_path):
    jobs = [c.JobSpec(name="liar", command="true", output_files=["promised"]),
            c.JobSpec(name="honest", command=f"echo ok > {tmp_path}/kept.txt", output_files=["kept"])]
    files = [c.FileSpec(name="promised", path=str(tmp_path / "never.txt")),
             c.FileSpec(name="kept", path=str(tmp_path / "kept.txt"))]
    with local_server(db_path) as (running, stubs):
        wf, ids = create(stubs, jobs, files=files)
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "2", "--memory", "1g")
        assert finished(worker) == 0
        assert status_of(stubs, ids["liar"]) == S.JOB_STATUS_FAILED
        assert status_of(stubs, ids["honest"]) == S.JOB_STATUS_COMPLETED
        (err,) = (tmp_path / "w" / "out").glob(f"job_{ids['liar']}_*.e")
        assert "missing output files" in err.read_text() and "never.txt" in err.read_text()


def test_cancel_stops_the_worker_and_its_jobs(tmp_path, db_path):
    pid_file = tmp_path / "sleeper.pid"
    jobs = [c.JobSpec(name="sleeper", command=f"echo $$ > {pid_file}; exec sleep 120")]
    with local_server(db_path) as (running, stubs):
        wf, ids = create(stubs, jobs)
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "1", "--memory", "1g")
        wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=60, what="job running")
        sleeper = int(pid_file.read_text())
        stubs.workflow.CancelWorkflow(wpb.CancelWorkflowRequest(workflow_id=wf))
        assert finished(worker) == 2  # told through WatchReadyJobs; exit status says "not complete"
        assert "stopped: canceled" in (tmp_path / "w" / "worker.out").read_text()
        wait_until(lambda: not os.path.exists(f"/proc/{sleeper}") or
                   open(f"/proc/{sleeper}/stat").read().split()[2] == "Z", what="job process killed")
        assert status_of(stubs, ids["sleeper"]) == S.JOB_STATUS_CANCELED
