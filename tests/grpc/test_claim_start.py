"""One call per cycle: ClaimJobs carries the completions of what finished and
starts what it claims (issue 16), with the same fencing as StartJob and
CompleteJobs; and the worker's children (posix_spawn, one reaper)."""

from __future__ import annotations

import os
import queue
import signal
import threading

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import event_pb2 as epb
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server
from torc_grpc.worker.children import STATUS_LOST, Reaper, spawn_shell
from torc_grpc.worker.inbox import Inbox

S = c.JobStatus
BIG = c.Resources(num_cpus=2, memory_bytes=2**30, num_nodes=1)


def _workflow(stubs, n=4, name="w"):
    resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
        name=name, jobs=[c.JobSpec(name=f"j{k}", command="true") for k in range(n)])))
    run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=resp.workflow.id)).run_id
    node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
        workflow_id=resp.workflow.id, hostname="h", resources=BIG)).compute_node_id
    return resp.workflow.id, run, node


def test_a_claim_starts_its_jobs_and_commits_the_completions_it_carries(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, run, node = _workflow(stubs)
        first = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                            resources=BIG, start=True))
        assert first.run_id == run and len(first.jobs) == 2
        assert {j.status for j in first.jobs} == {S.JOB_STATUS_RUNNING}
        beat = stubs.worker.Heartbeat(kpb.HeartbeatRequest(compute_node_id=node))
        assert sorted(beat.running_job_ids) == sorted(j.id for j in first.jobs) and not beat.pending_job_ids
        done = [kpb.CompleteJobRequest(job_id=j.id, status=S.JOB_STATUS_COMPLETED, run_id=run) for j in first.jobs]
        second = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                             resources=BIG, start=True, completions=done))
        assert [o.ok for o in second.completed] == [True, True] and len(second.jobs) == 2
        again = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                            resources=c.Resources(num_nodes=1), completions=done))
        assert [o.already_complete for o in again.completed] == [True, True]  # a repeat after a lost answer
        events = [e.event_type for e in stubs.event.ListEvents(epb.ListEventsRequest(workflow_id=wf)).events]
        assert events.count("job_started") == 4 and events.count("job_completed") == 2


def test_a_claim_cannot_complete_jobs_of_another_node_or_workflow(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, run, node = _workflow(stubs)
        other_wf, other_run, other_node = _workflow(stubs, name="other")
        theirs = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=other_wf, compute_node_id=other_node,
                                                             resources=BIG, start=True)).jobs
        mine = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=node,
                                                           resources=BIG, start=True)).jobs
        stranger = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="s", resources=BIG)).compute_node_id
        for target_node, job, run_id in ((node, theirs[0], other_run), (stranger, mine[0], run)):
            resp = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
                workflow_id=wf, compute_node_id=target_node, resources=c.Resources(num_nodes=1),
                completions=[kpb.CompleteJobRequest(job_id=job.id, status=S.JOB_STATUS_COMPLETED, run_id=run_id)]))
            (outcome,) = resp.completed
            assert not outcome.ok and outcome.code in (grpc.StatusCode.INVALID_ARGUMENT.value[0],
                                                       grpc.StatusCode.FAILED_PRECONDITION.value[0])
        listed = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=other_wf)).jobs
        assert {j.id: j.status for j in listed}[theirs[0].id] == S.JOB_STATUS_RUNNING  # untouched


def test_start_needs_a_node_and_completions_are_bounded(db_path):
    with local_server(db_path) as (_running, stubs):
        wf, run, _node = _workflow(stubs)
        with pytest.raises(grpc.RpcError) as err:
            stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG, start=True))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "compute_node_id" in err.value.details()
        one = [kpb.CompleteJobRequest(job_id=1, status=S.JOB_STATUS_COMPLETED, run_id=run)]
        with pytest.raises(grpc.RpcError) as err:  # completions name the node that ran them
            stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, resources=BIG, completions=one))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "compute_node_id" in err.value.details()
        nan = [kpb.CompleteJobRequest(job_id=1, status=S.JOB_STATUS_COMPLETED, run_id=run,
                                      result=c.JobResult(exec_time_seconds=float("nan")))]
        with pytest.raises(grpc.RpcError) as err:  # the validator reaches inside a claim's completions
            stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=_node, resources=BIG,
                                                        completions=nan))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "completions[0]" in err.value.details()
        many = one * 10_001
        with pytest.raises(grpc.RpcError) as err:
            stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(workflow_id=wf, compute_node_id=_node, resources=BIG,
                                                        completions=many))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "CompleteJobs" in err.value.details()


def test_children_are_reaped_by_the_inbox_reader_with_their_codes_and_no_inherited_fds(tmp_path):
    ended = Inbox()
    kids = {}
    inherited = os.open(os.devnull, os.O_RDONLY)
    os.set_inheritable(inherited, True)  # as a descriptor from the worker's own parent would be
    reaper = Reaper(ended.put, ended)
    threads = threading.active_count()
    for k, command in enumerate(["exit 3", "true", "kill -9 $$", "exec ls /proc/self/fd",
                                 "sleep 0.2; exit 7"] * 4):
        child = spawn_shell(command, dict(os.environ), str(tmp_path / f"{k}.o"), str(tmp_path / f"{k}.e"))
        reaper.watch(child)
        kids[child.pid] = (child, command)
    codes = {}
    for _ in kids:
        child = ended.get(timeout=30)
        codes[child.pid] = child.returncode
    assert threading.active_count() == threads  # reaped on this thread: none started per child
    assert os.listdir("/proc/self/fd") and not ended._ready  # every pidfd closed and unwatched
    want = {"exit 3": 3, "true": 0, "kill -9 $$": -signal.SIGKILL, "sleep 0.2; exit 7": 7}
    for pid, (child, command) in kids.items():
        assert codes[pid] == want.get(command, 0) and child.wait(0) == codes[pid], command
    fds = sorted(int(x) for x in (tmp_path / "3.o").read_text().split())
    assert fds == [0, 1, 2, 3], fds  # ls's own listing handle; nothing of the worker's
    os.close(inherited)
    with pytest.raises(OSError):
        spawn_shell("true", dict(os.environ), str(tmp_path / "no" / "such.o"), str(tmp_path / "e"))
    with pytest.raises(ValueError):
        spawn_shell("true\x00", dict(os.environ), str(tmp_path / "n.o"), str(tmp_path / "n.e"))


def test_the_inbox_wakes_for_other_threads_and_for_children_and_times_out(tmp_path):
    inbox = Inbox()
    with pytest.raises(queue.Empty):
        inbox.get(timeout=0.05)
    assert inbox.wait(0) is False
    threading.Timer(0.05, inbox.put, args=("from another thread",)).start()
    assert inbox.get(timeout=30) == "from another thread"  # woken by the put, not by the timeout
    reaper = Reaper(inbox.put, inbox)
    child = spawn_shell("exit 5", dict(os.environ), str(tmp_path / "c.o"), str(tmp_path / "c.e"))
    reaper.watch(child)
    for k in range(70_000):  # more wake bytes than the pipe holds: put never blocks
        inbox.put(k)
    got = [inbox.get(timeout=30) for _ in range(70_001)]
    assert got[-1] is child or child in got, "the child's end arrives among the messages"
    assert [g for g in got if g is not child] == list(range(70_000)) and child.returncode == 5
    assert inbox.wait(0.01) is False and not inbox._ready


def test_without_an_inbox_each_child_is_reaped_by_a_thread_of_its_own(tmp_path):
    # The path where pidfd_open is missing (Linux < 5.3, some containers).
    ended: "queue.SimpleQueue" = queue.SimpleQueue()
    reaper = Reaper(ended.put)
    kids = [spawn_shell(f"exit {k}", dict(os.environ), str(tmp_path / f"{k}.o"), str(tmp_path / f"{k}.e"))
            for k in range(4)]
    for child in kids:
        reaper.watch(child)
    codes = {ended.get(timeout=30).pid for _ in kids}
    assert codes == {c.pid for c in kids} and [c.wait(10) for c in kids] == [0, 1, 2, 3]


def test_a_child_reaped_elsewhere_never_stops_the_reader(tmp_path):
    inbox = Inbox()
    reaper = Reaper(inbox.put, inbox)
    child = spawn_shell("exit 3", dict(os.environ), str(tmp_path / "x.o"), str(tmp_path / "x.e"))
    reaper.watch(child)
    os.waitpid(child.pid, 0)  # someone else got its status first
    assert inbox.get(timeout=30) is child and child.returncode == STATUS_LOST and not inbox._ready


def test_an_inherited_ignored_sigchld_never_loses_exit_statuses(tmp_path):
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # as a careless launcher leaves it
    try:
        inbox = Inbox()
        reaper = Reaper(inbox.put, inbox)
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
        child = spawn_shell("exit 3", dict(os.environ), str(tmp_path / "y.o"), str(tmp_path / "y.e"))
        reaper.watch(child)
        assert inbox.get(timeout=30) is child and child.returncode == 3
    finally:
        signal.signal(signal.SIGCHLD, previous)
