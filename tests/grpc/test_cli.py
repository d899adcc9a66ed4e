"""The command line as users type it: `run` on every example, the client
commands against a served workflow, workers sharing resources, end times, and
spec errors."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, spawn_server, spawn_worker, status_of, wait_until

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OUTPUTS = {
    "diamond": ["diamond_out/report.txt"],
    "sweep": ["sweep_out/sum.txt", "sweep_out/result_001.txt", "sweep_out/result_100.txt"],
    "pipeline": ["pipeline_out/report.txt", "pipeline_out/part_7.txt"],
    "failure_handler": ["retry_out/final.txt", "retry_out/recovery.log"],
}


def cli(*args: str, cwd, timeout: float = 300, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torc_grpc.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("example", sorted(OUTPUTS))
def test_every_example_runs_to_completion(example, tmp_path):
    done = cli("run", str(EXAMPLES / f"{example}.yaml"), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "complete" in done.stdout and "worker stopped: complete" in done.stdout
    for path in OUTPUTS[example]:
        assert (tmp_path / path).stat().st_size > 0, path
    if example == "diamond":
        assert (tmp_path / "diamond_out/report.txt").read_text() == "words:\nALPHA\nBETA\nGAMMA\nsum: 10\n"
    if example == "failure_handler":
        assert (tmp_path / "retry_out/attempts.log").read_text() == "attempt 1\nattempt 2\nattempt 3\n"


@pytest.mark.parametrize("spec, message", [
    ("name: w\njobs:\n  - {name: a, command: x, depends_on: [ghost]}\n", "job 'a': depends_on names unknown job 'ghost'"),
    ("name: w\njobs:\n  - {name: 'a_{i}', command: x, parameters: {i: '9:1'}}\n", "range '9:1' is empty"),
    ("name: w\njobs:\n  - {name: 'a_{i}', command: x, parameters: {i: '1:2'}}\n  - {name: a_1, command: y}\n",
     "duplicate job name 'a_1'"),
    ("name: w\nresource_requirements:\n  - {name: r, memory: lots}\njobs:\n  - {name: a, command: x}\n",
     "resource_requirements[0] ('r')"),
])
def test_spec_errors_are_one_line_and_create_nothing(spec, message, tmp_path):
    (tmp_path / "bad.yaml").write_text(spec)
    done = cli("run", "bad.yaml", "--db", "run.db", cwd=tmp_path)
    assert done.returncode == 1 and message in done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("torc-grpc: bad.yaml")
    assert not (tmp_path / "run.db").exists()  # rejected before any database was touched
    with local_server(str(tmp_path / "served.db")) as (running, stubs):
        done = cli("submit", "bad.yaml", "--server", f"127.0.0.1:{running.port}", cwd=tmp_path)
        assert done.returncode == 1 and message in done.stderr
        assert not stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows


def test_missing_input_file_blocks_the_start_unless_forced(tmp_path):
    (tmp_path / "in.yaml").write_text(
        "name: w\nfiles:\n  - {name: data, path: data.txt}\njobs:\n  - {name: a, command: 'cat ${files.input.data}'}\n")
    done = cli("run", "in.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "input files do not exist: data.txt" in done.stderr
    (tmp_path / "data.txt").write_text("here\n")
    assert cli("run", "in.yaml", cwd=tmp_path).returncode == 0


def test_client_commands_against_a_served_workflow(tmp_path):
    server, port = spawn_server(str(tmp_path / "s.db"), tmp_path / "server.log")
    target = f"127.0.0.1:{port}"
    env = {"TORC_SERVER": target}
    try:
        submitted = cli("submit", str(EXAMPLES / "diamond.yaml"), cwd=tmp_path, env=env)
        assert submitted.returncode == 0, submitted.stderr
        wf = submitted.stdout.strip()
        assert cli("status", wf, cwd=tmp_path, env=env).stdout.startswith("[")
        started = cli("start", wf, cwd=tmp_path, env=env)
        assert "run 1, 1 ready, 3 blocked" in started.stdout
        watcher = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "status", wf, "--watch"], cwd=tmp_path,
                                   stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
        worker = spawn_worker(target, int(wf), tmp_path / "w", "--cpus", "2", "--memory", "1g")
        assert worker.wait(120) == 0
        lines = watcher.communicate(timeout=60)[0].splitlines()
        assert lines[-1].startswith("[####") and "4/4 done" in lines[-1] and "complete" in lines[-1]
        jobs = cli("jobs", wf, "--status", "completed", cwd=tmp_path, env=env).stdout.splitlines()
        assert jobs[0].split()[:4] == ["id", "name", "status", "attempt_id"] and len(jobs) == 5
        results = cli("results", wf, cwd=tmp_path, env=env).stdout.splitlines()
        assert len(results) == 5 and results[1].split()[4] == "completed"
        events = cli("events", wf, cwd=tmp_path, env=env).stdout
        assert "workflow_created" in events and "workflow_complete" in events
        reset = cli("reset", wf, cwd=tmp_path, env=env)
        assert "4 jobs reset" in reset.stdout
        assert "run 2, 1 ready" in cli("restart", wf, cwd=tmp_path, env=env).stdout
        assert "canceled" in cli("cancel", wf, cwd=tmp_path, env=env).stdout
        refused = cli("status", "999", cwd=tmp_path, env=env)
        assert refused.returncode == 1 and refused.stderr.strip() == "torc-grpc: NOT_FOUND: workflow 999 not found"
    finally:
        server.terminate()
        server.wait(60)


def usage_over_time(log: Path) -> dict[str, list[tuple[float, int, int]]]:
    """Per node: (time, +/-cpus, +/-memory MiB) from the jobs' start/end lines."""
    events = defaultdict(list)
    for line in log.read_text().split("\n"):
        if line:
            node, what, stamp, cpus, mem = line.split()
            sign = 1 if what == "start" else -1
            events[node].append((int(stamp), sign * int(cpus), sign * int(mem)))
    return events


def test_two_workers_never_exceed_their_declared_resources(tmp_path, db_path):
    log = tmp_path / "usage.log"
    record = ("echo \"$TORC_COMPUTE_NODE_ID start $(date +%s%N) {c} {m}\" >> {log}; sleep 0.2; "
              "echo \"$TORC_COMPUTE_NODE_ID end $(date +%s%N) {c} {m}\" >> {log}")
    rr = [c.ResourceRequirementsSpec(name="one", num_cpus=1, memory="256m", runtime="PT1M"),
          c.ResourceRequirementsSpec(name="two", num_cpus=2, memory="512m", runtime="PT1M")]
    jobs = [c.JobSpec(name=f"s{i}", command=record.format(c=1, m=256, log=log), resource_requirements="one")
            for i in range(12)]
    jobs += [c.JobSpec(name=f"b{i}", command=record.format(c=2, m=512, log=log), resource_requirements="two")
             for i in range(8)]
    with local_server(db_path) as (running, stubs):
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
            name="mix", jobs=jobs, resource_requirements=rr))).workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        target = f"127.0.0.1:{running.port}"
        declared = {"a": (3, 1024), "b": (2, 768)}
        workers = {k: spawn_worker(target, wf, tmp_path / k, "--cpus", str(cpus), "--memory", f"{mem}m")
                   for k, (cpus, mem) in declared.items()}
        assert all(w.wait(120) == 0 for w in workers.values())
        nodes = {}
        for k in declared:
            text = (tmp_path / k / "worker.out").read_text()
            nodes[text.split()[2].rstrip(":")] = declared[k]
    usage = usage_over_time(log)
    assert set(usage) == set(nodes) and sum(len(v) for v in usage.values()) == 2 * len(jobs)
    for node, events in usage.items():
        cpus = mem = peak_cpus = peak_mem = 0
        for _t, dc, dm in sorted(events, key=lambda e: (e[0], e[1])):  # ends before starts at a tie
            cpus, mem = cpus + dc, mem + dm
            peak_cpus, peak_mem = max(peak_cpus, cpus), max(peak_mem, mem)
        assert peak_cpus <= nodes[node][0] and peak_mem <= nodes[node][1], (node, peak_cpus, peak_mem)
        assert peak_cpus >= 2  # the nodes did run jobs side by side


def test_end_time_terminates_running_jobs_and_skips_long_ones(tmp_path, db_path):
    rr = [c.ResourceRequirementsSpec(name="short", num_cpus=1, memory="64m", runtime="PT2S"),
          c.ResourceRequirementsSpec(name="long", num_cpus=1, memory="64m", runtime="PT1H")]
    jobs = [c.JobSpec(name="overruns", command="sleep 60", resource_requirements="short", supports_termination=True),
            c.JobSpec(name="too_long", command="true", resource_requirements="long")]
    with local_server(db_path) as (running, stubs):
        resp = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
            name="end", jobs=jobs, resource_requirements=rr)))
        wf, ids = resp.workflow.id, resp.job_ids
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        t0 = time.monotonic()
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--cpus", "2", "--memory", "1g",
                              "--time-limit", "4")
        assert worker.wait(60) == 0
        assert time.monotonic() - t0 < 15  # did not sit out the 60 s job
        assert "stopped: time up" in (tmp_path / "w" / "worker.out").read_text()
        wait_until(lambda: status_of(stubs, ids["overruns"]) == c.JOB_STATUS_TERMINATED, what="terminated")
        assert status_of(stubs, ids["too_long"]) == c.JOB_STATUS_READY  # never claimed: 1 h > 4 s


def test_worker_leaves_after_its_idle_timeout(tmp_path, db_path):
    jobs = [c.JobSpec(name="gate", command="x"), c.JobSpec(name="after", command="true", depends_on=["gate"])]
    with local_server(db_path) as (running, stubs):
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="idle", jobs=jobs)))
        wf = wf.workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        # The jobs have no label and the worker only takes "elsewhere": it never gets anything to run.
        worker = spawn_worker(f"127.0.0.1:{running.port}", wf, tmp_path / "w", "--label", "elsewhere",
                              "--idle-timeout", "1")
        assert worker.wait(60) == 0
        assert "stopped: idle" in (tmp_path / "w" / "worker.out").read_text()


def test_container_health_check_and_dockerfile(tmp_path, db_path):
    with local_server(db_path) as (running, _stubs):
        ok = subprocess.run([sys.executable, "-m", "torc_grpc.healthcheck", f"127.0.0.1:{running.port}"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert ok.returncode == 0 and "SERVING" in ok.stdout
    down = subprocess.run([sys.executable, "-m", "torc_grpc.healthcheck", f"127.0.0.1:{running.port}"],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert down.returncode == 1
    # No container engine here: check that what the Dockerfile copies and runs exists.
    root = EXAMPLES.parent
    lines = (root / "Dockerfile").read_text().splitlines()
    for line in lines:
        if line.startswith("COPY ") and "--from" not in line:
            for src in line.split()[1:-1]:
                assert (root / src).exists(), src
    assert any("torc_grpc.healthcheck" in line for line in lines)
    assert any(line.startswith("USER torc") for line in lines)


def test_large_spec_goes_through_add_jobs_batches(tmp_path, db_path):
    (tmp_path / "big.yaml").write_text(
        "name: big\njobs:\n  - name: 'j_{i}'\n    command: 'true'\n    parameters: {i: '1:12000'}\n"
        "  - name: last\n    command: 'true'\n    depends_on_regexes: ['^j_1200']\n")
    with local_server(db_path) as (running, stubs):
        done = cli("submit", "big.yaml", "--server", f"127.0.0.1:{running.port}", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        wf = int(done.stdout)
        events = {e.event_type: e.data for e in running.engine.list_events(wf).items}
        assert '"num_jobs": 0' in events["workflow_created"] and '"count": 12001' in events["jobs_added"]
        assert stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).num_ready == 12000


def test_run_stops_when_no_job_can_ever_fit_this_machine(tmp_path):
    (tmp_path / "huge.yaml").write_text(
        "name: huge\nresource_requirements:\n  - {name: big, num_cpus: 4096, memory: 1g, runtime: PT1M}\n"
        "jobs:\n  - {name: small, command: 'true'}\n  - {name: giant, command: 'true', resource_requirements: big}\n")
    done = cli("run", "huge.yaml", cwd=tmp_path, timeout=120)
    assert done.returncode == 1
    assert "giant: ready" in done.stdout and "stuck: the ready jobs need more than this node offers" in done.stdout
