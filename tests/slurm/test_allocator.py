"""The allocator against a real Slurm (cluster.py): actions, its own
submissions, scancel, walltime ends, a bad partition; nothing left queued."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import grpc
import pytest

from torc_core.models import JobStatus
from torc_core.spec import parse_spec
from torc_grpc._pb import event_pb2 as epb
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import slurm_pb2 as slpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Stubs
from torc_grpc.server_slurm import SlurmOptions
from torc_grpc.testing import local_server, spawn_server, wait_until


def start(engine, tmp_path, spec: dict) -> int:
    loaded = parse_spec(spec, "test")
    out = str(tmp_path / "out")
    s = dataclasses.replace(loaded.spec, slurm=dataclasses.replace(loaded.spec.slurm, output_dir=out))
    wf, _ids = engine.create_workflow(s)
    engine.start_workflow(wf.id)
    return wf.id


def events(engine, wf: int) -> list:
    return [(e.event_type, json.loads(e.data), e.timestamp_ms) for e in engine.list_events(wf, limit=10_000).items]


def statuses(engine, wf: int) -> dict[str, int]:
    return {j.name: j.status for j in engine.list_jobs(wf, limit=10_000).items}


def complete(engine, wf: int, timeout: float) -> None:
    wait_until(lambda: engine.get_workflow_status(wf).is_complete, timeout, 0.2, f"workflow {wf} complete")


def nothing_left(slurm, timeout: float = 40.0) -> None:
    wait_until(lambda: not slurm.live_jobs(), timeout, 0.2, "no Slurm job left queued or running")


def options(tmp_path, **kw) -> SlurmOptions:
    return SlurmOptions(output_dir=str(tmp_path / "slurm"), poll_seconds=0.5, **kw)


def timings(evs) -> dict[str, float]:
    """Seconds from each allocation's sbatch to its first worker registered."""
    sub = {d["slurm_job_id"]: t for kind, d, t in evs if kind == "allocation_submitted"}
    reg = {d["slurm_job_id"]: t for kind, d, t in evs if kind == "allocation_worker_registered"}
    return {j: (reg[j] - sub[j]) / 1000 for j in sub if j in reg}


STAGED = """
name: staged
description: upstream's workflow_actions_simple_slurm.yaml, scaled to the test node
compute_node_wait_for_new_jobs_seconds: 3
jobs:
  - {name: setup, command: "echo setup && sleep 1", resource_requirements: small}
  - {name: process1, command: "sleep 1", depends_on: [setup], resource_requirements: medium}
  - {name: process2, command: "sleep 1", depends_on: [setup], resource_requirements: medium}
  - {name: process3, command: "sleep 1", depends_on: [setup], resource_requirements: medium}
  - {name: finalize, command: "sleep 1", depends_on: [process1, process2, process3], resource_requirements: small}
resource_requirements:
  - {name: small, num_cpus: 1, memory: 100m, runtime: PT1M}
  - {name: medium, num_cpus: 1, memory: 200m, runtime: PT2M}
slurm_schedulers:
  - {name: setup_scheduler, account: demo_project, nodes: 1, walltime: "00:10:00"}
  - {name: process_scheduler, account: demo_project, nodes: 1, walltime: "00:20:00"}
  - {name: finalize_scheduler, account: demo_project, nodes: 1, walltime: "00:10:00"}
actions:
  - {trigger_type: on_workflow_start, action_type: schedule_nodes, scheduler: setup_scheduler,
     scheduler_type: slurm, num_allocations: 1}
  - {trigger_type: on_jobs_ready, action_type: schedule_nodes, jobs: [process1, process2, process3],
     scheduler: process_scheduler, scheduler_type: slurm, num_allocations: 3}
  - {trigger_type: on_jobs_ready, action_type: schedule_nodes, jobs: [finalize],
     scheduler: finalize_scheduler, scheduler_type: slurm, num_allocations: 1}
  - {trigger_type: on_workflow_start, action_type: run_commands, commands: ["echo started > started.txt"]}
  - {trigger_type: on_jobs_complete, action_type: run_commands, jobs: [process1, process2, process3],
     commands: ["echo processed > processed.txt"]}
  - {trigger_type: on_workflow_complete, action_type: run_commands, commands: ["echo done > done.txt"]}
"""


def test_staged_workflow_runs_with_serve_slurm_and_submit_start(clean_slurm, tmp_path):
    spec = tmp_path / "staged.yaml"
    spec.write_text(STAGED)
    db = str(tmp_path / "torc.db")
    proc, port = spawn_server(db, tmp_path / "server.log", "--slurm", "--slurm-poll-seconds", "0.5",
                              env=clean_slurm.env)
    try:
        out = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "submit", "--start", str(spec),
                              "--server", f"127.0.0.1:{port}", "--output-dir", str(tmp_path / "out")],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert out.returncode == 0, out.stderr
        wf = int(out.stdout.strip())
        stubs = Stubs.connect(f"127.0.0.1:{port}")
        t0 = time.monotonic()
        wait_until(lambda: stubs.workflow.GetWorkflowStatus(
            wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_complete, 240, 0.2, "staged workflow complete")
        took = time.monotonic() - t0
        listed = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "slurm", "list", str(wf), "--server",
                                 f"127.0.0.1:{port}"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        nothing_left(clean_slurm)
        jobs = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs
        assert {j.name: j.status for j in jobs} == {n: JobStatus.COMPLETED for n in
                                                   ("setup", "process1", "process2", "process3", "finalize")}
        outdir = tmp_path / "out"
        for name in ("started.txt", "processed.txt", "done.txt"):  # run_commands ran, in the output dir
            wait_until(lambda: (outdir / name).exists(), 30, 0.1, name)
        evs = [(e.event_type, json.loads(e.data), e.timestamp_ms) for e in stubs.event.ListEvents(
            epb.ListEventsRequest(workflow_id=wf, limit=10000)).events]
        submitted = [d for k, d, _t in evs if k == "allocation_submitted"]
        by_sched = {}
        for d in submitted:
            by_sched[d["scheduler"]] = by_sched.get(d["scheduler"], 0) + 1
        assert by_sched.get("setup_scheduler") == 1 and by_sched.get("process_scheduler", 0) >= 3
        assert by_sched.get("finalize_scheduler") == 1
        assert sum(k == "action_completed" for k, _d, _t in evs) == 3
        t = timings(evs)
        print(f"\nstaged: complete in {took:.1f} s; sbatch -> worker registered: "
              f"{min(t.values()):.1f}-{max(t.values()):.1f} s over {len(t)} allocations; listing:\n{listed.stdout}")
        stubs.channel.close()
    finally:
        proc.terminate()
        proc.wait(30)


def test_the_allocator_submits_by_itself_within_backlog_and_cap(clean_slurm, tmp_path):
    spec = {"name": "auto", "compute_node_wait_for_new_jobs_seconds": 2,
            "jobs": [{"name": f"j{k}", "command": "sleep 2", "resource_requirements": "one"} for k in range(6)],
            "resource_requirements": [{"name": "one", "num_cpus": 1, "memory": "100m", "runtime": "PT1M"}],
            "slurm_schedulers": [{"name": "s", "walltime": "00:10:00", "max_allocations": 2}]}
    with local_server(str(tmp_path / "torc.db"), slurm=options(tmp_path)) as (running, _stubs):
        engine = running.engine
        wf = start(engine, tmp_path, spec)
        complete(engine, wf, 180)
        nothing_left(clean_slurm)
        evs = events(engine, wf)
        final = set(statuses(engine, wf).values())
    queued = live = most_queued = most_live = submitted = 0
    for kind, _d, _t in evs:
        if kind == "allocation_submitted":
            submitted, queued, live = submitted + 1, queued + 1, live + 1
        elif kind == "allocation_started":
            queued -= 1
        elif kind in ("allocation_ended", "allocation_failed", "allocation_canceled"):
            live -= 1
        most_queued, most_live = max(most_queued, queued), max(most_live, live)
    assert final == {JobStatus.COMPLETED}
    assert submitted >= 2 and most_queued <= 1 and most_live <= 2, (submitted, most_queued, most_live)
    print(f"\nauto: {submitted} allocations, at most {most_queued} queued and {most_live} live; "
          f"sbatch -> worker registered: {timings(evs)}")


@pytest.mark.parametrize("how", ["scancel", "kill -9"],
                         ids=["scancel (the worker gives its jobs back)", "kill -9 the worker (an orphan, seen in squeue)"])
def test_scancel_of_a_running_allocation_recovers_its_jobs(clean_slurm, tmp_path, how):
    marker = tmp_path / "second_time"
    spec = {"name": "scancel",
            "jobs": [{"name": "long", "failure_handler": "lost", "resource_requirements": "one",
                      "command": f"if [ -e {marker} ]; then true; else touch {marker}; sleep 120; fi"}],
            "resource_requirements": [{"name": "one", "num_cpus": 1, "memory": "100m", "runtime": "PT5M"}],
            "failure_handlers": [{"name": "lost", "rules": [{"exit_codes": [-128], "max_retries": 2}]}],
            "slurm_schedulers": [{"name": "s", "walltime": "00:10:00", "max_allocations": 1}]}
    with local_server(str(tmp_path / "torc.db"), slurm=options(tmp_path)) as (running, _stubs):
        engine = running.engine
        wf = start(engine, tmp_path, spec)
        wait_until(lambda: statuses(engine, wf)["long"] == JobStatus.RUNNING and marker.exists(), 90, 0.1,
                   "the job running")
        first = wait_until(lambda: next((a for a in engine.slurm.list(wf) if a.state.value == "running"), None),
                           30, 0.1, "the allocation seen running")
        t0, evs0 = time.monotonic(), time.time() * 1000
        if how == "scancel":
            clean_slurm.run("scancel", first.slurm_job_id)
        else:  # the worker dies without a goodbye, as on a node failure: only squeue can tell
            registered = [d for k, d, _t in events(engine, wf) if k == "compute_node_registered"]
            os.kill(registered[0]["pid"], signal.SIGKILL)
        wait_until(lambda: statuses(engine, wf)["long"] in (JobStatus.READY, JobStatus.PENDING, JobStatus.RUNNING)
                   and engine.get_job(engine.list_jobs(wf).items[0].id).attempt_id == 2, 60, 0.05,
                   "the job back to ready for a second attempt")
        back = time.monotonic() - t0
        complete(engine, wf, 120)
        took = time.monotonic() - t0
        nothing_left(clean_slurm)
        results = engine.list_results(wf, all_runs=True).items
        allocations = engine.slurm.list(wf)
        final = statuses(engine, wf)["long"]
        released = [(k, round((t - evs0) / 1000, 2)) for k, _d, t in events(engine, wf)
                    if k in ("compute_node_lost", "compute_node_deregistered", "allocation_canceled",
                             "allocation_ended", "allocation_failed")]
    assert final == JobStatus.COMPLETED
    assert sorted(r.return_code for r in results) == [-128, 0]
    assert len(allocations) >= 2
    assert allocations[0].state.value == ("canceled" if how == "scancel" else "failed")  # (Slurm's words)
    print(f"\n{how} -> job back to ready: {back:.2f} s; -> workflow complete: {took:.1f} s; "
          f"{released}")


def test_a_walltime_end_stops_claims_terminates_jobs_and_another_allocation_finishes(clean_slurm, tmp_path):
    spec = {"name": "walltime", "compute_node_expiration_buffer_seconds": 10,
            "jobs": [{"name": "overrun", "command": "sleep 600", "resource_requirements": "short"},
                     {"name": "after", "command": "true", "resource_requirements": "long",
                      "depends_on": ["overrun"], "cancel_on_blocking_job_failure": False}],
            "resource_requirements": [{"name": "short", "num_cpus": 1, "memory": "100m", "runtime": "PT10S"},
                                      {"name": "long", "num_cpus": 1, "memory": "100m", "runtime": "PT50S"}],
            "slurm_schedulers": [{"name": "s", "walltime": "1", "max_allocations": 1}]}
    with local_server(str(tmp_path / "torc.db"), slurm=options(tmp_path)) as (running, _stubs):
        engine = running.engine
        wf = start(engine, tmp_path, spec)
        wait_until(lambda: statuses(engine, wf)["overrun"] == JobStatus.RUNNING, 90, 0.1, "overrun running")
        t0 = time.monotonic()
        wait_until(lambda: statuses(engine, wf)["overrun"] == JobStatus.TERMINATED, 90, 0.1, "overrun terminated")
        terminated_after = time.monotonic() - t0
        complete(engine, wf, 150)
        nothing_left(clean_slurm)
        jobs = {j.name: j for j in engine.list_jobs(wf).items}
        results = {r.job_id: r for r in engine.list_results(wf).items}
        allocations = engine.slurm.list(wf)
    assert jobs["after"].status == JobStatus.COMPLETED
    assert results[jobs["after"].id].compute_node_id != results[jobs["overrun"].id].compute_node_id
    assert len(allocations) == 2
    print(f"\nwalltime 1 min: the overrunning job terminated {terminated_after:.1f} s after it started; "
          f"the next job ran on a second allocation")


def test_a_bad_partition_trips_the_circuit_breaker_without_a_loop(clean_slurm, tmp_path):
    spec = {"name": "bad", "jobs": [{"name": "j", "command": "true"}],
            "slurm_schedulers": [{"name": "s", "partition": "no_such_partition", "walltime": "00:05:00"}]}
    with local_server(str(tmp_path / "torc.db"), slurm=options(tmp_path)) as (running, stubs):
        engine = running.engine
        wf = start(engine, tmp_path, spec)
        wait_until(lambda: any(k == "scheduler_paused" for k, _d, _t in events(engine, wf)), 60, 0.2,
                   "the scheduler paused")
        failed = [d for k, d, _t in events(engine, wf) if k == "allocation_failed"]
        running.allocator.tick()
        running.allocator.tick()
        again = [d for k, d, _t in events(engine, wf) if k == "allocation_failed"]
        sched = engine.slurm.schedulers(wf)[0]
        listed = stubs.slurm.ListAllocations(slpb.ListAllocationsRequest(workflow_id=wf))
        with pytest.raises(grpc.RpcError) as by_hand:  # schedule-nodes by hand says why, at once
            stubs.slurm.ScheduleNodes(slpb.ScheduleNodesRequest(workflow_id=wf, scheduler="s"))
    assert by_hand.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "partition" in by_hand.value.details().lower()
    assert listed.schedulers[0].paused and listed.schedulers[0].consecutive_failures == 3
    assert len(failed) == 3 and len(again) == 3, (failed, again)
    assert "partition" in failed[0]["message"].lower()
    assert sched.paused and not clean_slurm.live_jobs()


def test_queued_allocations_go_when_the_workflow_is_canceled_or_deleted(clean_slurm, tmp_path):
    spec = {"name": "later", "jobs": [{"name": "j", "command": "true"}],
            "slurm_schedulers": [{"name": "s", "walltime": "00:05:00", "extra": "--begin=now+1hour"}]}
    with local_server(str(tmp_path / "torc.db"), slurm=options(tmp_path)) as (running, _stubs):
        engine = running.engine
        took = {}
        for how in ("cancel", "delete"):
            wf = start(engine, tmp_path, spec)
            queued = wait_until(lambda: next(iter(engine.slurm.list(wf)), None), 30, 0.1, "an allocation")
            assert clean_slurm.jobs()[queued.slurm_job_id] == "PENDING"
            t0 = time.monotonic()
            if how == "cancel":
                engine.cancel_workflow(wf)
            else:
                engine.delete_workflow(wf)
            wait_until(lambda: clean_slurm.jobs()[queued.slurm_job_id] == "CANCELLED", 30, 0.1,
                       f"scancel after {how}")
            took[how] = time.monotonic() - t0
        assert engine.slurm.list(1)[0].state.value == "canceled"
    print(f"\nqueued allocation canceled {took['cancel']:.2f} s after the workflow was canceled, "
          f"{took['delete']:.2f} s after it was deleted")


def test_with_auth_each_allocation_has_its_own_worker_token(clean_slurm, tmp_path):
    from torc_grpc.auth import ClientAuth
    from torc_grpc.auth import users as user_file
    from torc_grpc.convert import workflow_spec_to_pb

    path = str(tmp_path / "users.json")
    token = user_file.add(path, "alice")
    spec = parse_spec({"name": "mine", "user": "alice", "jobs": [{"name": "j", "command": "true"}],
                       "slurm_schedulers": [{"name": "s", "walltime": "00:05:00"}]}, "t").spec
    spec = dataclasses.replace(spec, slurm=dataclasses.replace(spec.slurm, output_dir=str(tmp_path / "out")))
    with local_server(str(tmp_path / "torc.db"), auth_file=path, slurm=options(tmp_path)) as (running, _):
        alice = Stubs.connect(f"127.0.0.1:{running.port}", auth=ClientAuth(token=token))
        wf = alice.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=workflow_spec_to_pb(spec))).workflow.id
        alice.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        wait_until(lambda: alice.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf))
                   .is_complete, 120, 0.2, "complete")
        (alloc,) = running.engine.slurm.list(wf)
        script = clean_slurm.run("scontrol", "write", "batch_script", alloc.slurm_job_id, "-")
        nothing_left(clean_slurm)
        wait_until(lambda: all(t.revoked for t in running.engine.access.worker_tokens(wf)), 30, 0.1,
                   "the allocation's token revoked once it ended")
        tokens = running.engine.access.worker_tokens(wf)
        alice.channel.close()
    assert "torc_w_" not in script and "TORC_TOKEN" not in script  # the token never is in the script
    assert len(tokens) == 1 and alloc.worker_token_id == tokens[0].id
