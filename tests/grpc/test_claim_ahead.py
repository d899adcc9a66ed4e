"""Claim-ahead (issue 16): a claim may take more rounds of jobs than fit now,
each packed against the node's registered resources and left PENDING; the
node reports their starts with its next claim (`started`), and is told which
of them it no longer holds (`not_started`), which it then stops unreported."""

from __future__ import annotations

import json
import os
import signal
import threading

import grpc
import pytest

from torc_core.resources import Capacity
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import event_pb2 as epb
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, spawn_worker, wait_until
from torc_grpc.worker.ahead import HORIZON_SECONDS, RECENT, ClaimAhead
from torc_grpc.worker.config import WorkerConfig, WorkerSummary
from torc_grpc.worker.inbox import Inbox
from torc_grpc.worker.node import NodeSession
from torc_grpc.worker.processes import Finished, Processes
from torc_grpc.worker.reports import Reports

S = c.JobStatus
NODE = c.Resources(num_cpus=2, memory_bytes=2**30, num_nodes=1)
NOTHING = c.Resources(num_nodes=1)


def _workflow(stubs, small=10, big=0, name="w", command="true"):
    jobs = [c.JobSpec(name=f"s{k}", command=command, resource_requirements="one") for k in range(small)]
    jobs += [c.JobSpec(name=f"b{k}", command=command, resource_requirements="three") for k in range(big)]
    spec = c.WorkflowSpec(name=name, jobs=jobs, resource_requirements=[
        c.ResourceRequirementsSpec(name="one", num_cpus=1, memory="1m"),
        c.ResourceRequirementsSpec(name="three", num_cpus=3, memory="1m")])
    wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec)).workflow.id
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
    node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=wf, hostname="h", resources=NODE)).compute_node_id
    return wf, run, node


def _claim(stubs, wf, node, resources=NODE, **fields):
    return stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                       resources=resources, start=True, **fields))


def _events(stubs, wf, kind):
    """(event id, job id) of the workflow's events of one kind, in order."""
    return [(e.id, json.loads(e.data)["job_id"])
            for e in stubs.event.ListEvents(epb.ListEventsRequest(workflow_id=wf, limit=10_000)).events
            if e.event_type == kind]


def test_rounds_ahead_fit_the_registered_node_and_stay_pending(db_path):
    with local_server(db_path) as (_running, stubs):
        # The request offers 4 CPUs now; the node registered 2: rounds ahead pack against 2.
        wf, _run, node = _workflow(stubs, small=20, big=3)
        got = _claim(stubs, wf, node, resources=c.Resources(num_cpus=4, memory_bytes=2**30, num_nodes=1),
                     claim_ahead=3)
        now = [j for j in got.jobs if j.status == S.JOB_STATUS_RUNNING]
        ahead = [j for j in got.jobs if j.status == S.JOB_STATUS_PENDING]
        assert sum(j.resource_requirements.resources.num_cpus for j in now) <= 4
        assert len(ahead) == 6 and all(j.resource_requirements.resources.num_cpus == 1 for j in ahead)
        assert all(j.compute_node_id == node for j in got.jobs)
        beat = stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))
        assert sorted(beat.pending_job_ids) == sorted(j.id for j in ahead)
        assert len(_events(stubs, wf, "job_started")) == len(now)  # nothing ahead is "started"


def test_reported_starts_go_running_once_and_a_repeat_is_harmless(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, _run, node = _workflow(stubs, small=8)
        ahead = [j.id for j in _claim(stubs, wf, node, claim_ahead=2).jobs if j.status == S.JOB_STATUS_PENDING]
        assert len(ahead) == 4
        for _ in range(2):  # the second is a repeat after a lost answer
            resp = _claim(stubs, wf, node, resources=NOTHING, started=ahead[:3])
            assert list(resp.not_started) == []
        jobs = {j.id: j for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
        assert [jobs[j].status for j in ahead] == [S.JOB_STATUS_RUNNING] * 3 + [S.JOB_STATUS_PENDING]
        started = [job for _id, job in _events(stubs, wf, "job_started")]
        assert all(started.count(j) == 1 for j in ahead[:3]) and ahead[3] not in started


def test_a_start_the_node_no_longer_holds_is_refused_and_nothing_changes(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, run, node = _workflow(stubs, small=8)
        other_wf, _other_run, other_node = _workflow(stubs, small=4, name="other")
        theirs = [j.id for j in _claim(stubs, other_wf, other_node, claim_ahead=1).jobs
                  if j.status == S.JOB_STATUS_PENDING]
        mine = _claim(stubs, wf, node, claim_ahead=1).jobs
        running = [j.id for j in mine if j.status == S.JOB_STATUS_RUNNING]
        pending = [j.id for j in mine if j.status == S.JOB_STATUS_PENDING]
        stranger = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="s", resources=NODE)).compute_node_id
        # Completed since, of another workflow, of another node, unknown.
        done = [kpb.CompleteJobRequest(job_id=running[0], status=S.JOB_STATUS_COMPLETED, run_id=run)]
        assert _claim(stubs, wf, node, resources=NOTHING, completions=done).completed[0].ok
        resp = _claim(stubs, wf, node, resources=NOTHING, started=[running[0], theirs[0], 10**9])
        assert sorted(resp.not_started) == sorted([running[0], theirs[0], 10**9])
        resp = _claim(stubs, wf, stranger, resources=NOTHING, started=[pending[0]])
        assert list(resp.not_started) == [pending[0]]
        jobs = {j.id: j.status for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
        assert jobs[running[0]] == S.JOB_STATUS_COMPLETED and jobs[pending[0]] == S.JOB_STATUS_PENDING
        other = {j.id: j.status for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=other_wf)).jobs}
        assert other[theirs[0]] == S.JOB_STATUS_PENDING


@pytest.mark.parametrize("fields, word", [
    (dict(claim_ahead=17), "claim_ahead"), (dict(claim_ahead=-1), "claim_ahead"),
    (dict(claim_ahead=2, compute_node_id=0), "compute_node_id"),
    (dict(started=[1], compute_node_id=0), "compute_node_id"),
])
def test_claim_ahead_and_started_are_checked(db_path, fields, word):
    with local_server(db_path) as (_running, stubs):
        wf, _run, node = _workflow(stubs, small=4)
        request = {"workflow_id": wf, "compute_node_id": node, "resources": NODE, **fields}
        with pytest.raises(grpc.RpcError) as err:
            stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(**request))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and word in err.value.details()
        listed = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs
        assert {j.status for j in listed} == {S.JOB_STATUS_READY}  # nothing claimed


def test_the_limit_holds_across_rounds(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, _run, node = _workflow(stubs, small=20)
        assert len(_claim(stubs, wf, node, claim_ahead=5, limit=3).jobs) == 3


def test_how_much_the_worker_claims_ahead_follows_the_recent_job_lengths():
    ahead = ClaimAhead(8, Capacity(4, 2**30, 0, 1))
    assert ahead.wanted() == 0  # too few jobs ended to tell
    for _ in range(RECENT):
        ahead.ended(0.001)
    assert ahead.depth() == 8 and ahead.wanted() == 8
    for _ in range(RECENT):
        ahead.ended(HORIZON_SECONDS / 2)
    assert ahead.depth() == 2
    for _ in range(RECENT):
        ahead.ended(HORIZON_SECONDS * 2)
    assert ahead.depth() == 0 and ahead.wanted() == 0
    assert ClaimAhead(0, Capacity(4, 2**30, 0, 1)).depth() == 0


@pytest.mark.parametrize("ahead", ["8", "0"])
def test_a_worker_claims_ahead_and_every_job_shows_started_before_it_completed(tmp_path, db_path, ahead):
    n = 400
    with local_server(db_path) as (running, stubs):
        jobs = [c.JobSpec(name=f"j{k}", command="true") for k in range(n)]
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(
            spec=c.WorkflowSpec(name="w", jobs=jobs))).workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "2",
                              "--claim-ahead", ahead)
        assert worker.wait(120) == 0
        summary = (tmp_path / "w" / "worker.out").read_text()
        assert f"{n} completed" in summary and "stopped: complete" in summary
        calls = int(summary.split(" calls")[0].rsplit(" ", 1)[1])
        # A 2-CPU node claims at most 2 jobs a call unless it claims ahead.
        assert (calls < n / 3) if ahead != "0" else (calls >= n / 2), summary
        order: dict = {}
        for kind in ("job_started", "job_completed"):
            for event_id, job in _events(stubs, wf, kind):
                order.setdefault(job, []).append((event_id, kind))
        assert len(order) == n
        assert all([kind for _id, kind in sorted(seen)] == ["job_started", "job_completed"]
                   for seen in order.values())


def test_a_job_taken_away_before_its_start_was_told_is_stopped_and_not_reported(tmp_path, db_path):
    with local_server(db_path) as (running, stubs):
        wf, _run, node = _workflow(stubs, small=2, command="sleep 60")
        job = next(j for j in _claim(stubs, wf, node, resources=NOTHING, claim_ahead=1).jobs)
        assert job.status == S.JOB_STATUS_PENDING
        config = WorkerConfig(target=f"127.0.0.1:{running.port}", workflow_id=wf, num_cpus=2,
                              output_dir=str(tmp_path / "out"))
        os.makedirs(config.output_dir)
        inbox = Inbox()
        processes = Processes(config, inbox)
        session = NodeSession(config, grpc.insecure_channel(config.target), threading.Event())
        session.node = node
        reports = Reports(config, session, processes, WorkerSummary(), [], ClaimAhead(0, Capacity(2, 0, 0, 1)))
        processes.spawn(job, job, session.run_id(), node)
        pid = processes.running[job.id].proc.pid
        reports.started(job.id)
        assert reports.starts_outbox() == [job.id]  # what the next claim carries
        reports.answered([], [job.id])  # its answer: no longer yours
        ended = inbox.get(timeout=30)
        assert isinstance(ended, Finished) and ended.job_id == job.id and ended.return_code == -signal.SIGKILL
        reports.take([ended])
        assert reports.queued == 0 and job.id not in processes.running and not processes.abandoned
        assert wait_until(lambda: not os.path.exists(f"/proc/{pid}") or _zombie(pid), 10)
        assert reports.starts_queued == 0


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True
