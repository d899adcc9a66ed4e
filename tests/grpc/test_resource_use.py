"""Resource monitoring, report and recover (issue 17), with real worker
processes: torc's resource_monitor keys, a job that allocates ~200 MB shows
a peak of at least that, a real out-of-memory kill (a memory-capped cgroup)
is recovered with 1.5x the memory, and UpdateJobResources refuses what it
must with the data intact."""

from __future__ import annotations

import json
import os
from pathlib import Path

import grpc
import pytest

from torc_grpc import usage
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server, spawn_worker

from .test_cli import cli

MIB = 2**20
HOG = "import time\nb = b'x' * ({mib} * 1024 * 1024)\nt = time.time()\nwhile time.time() - t < {hold}:\n    pass\n"
CGROUP_V1 = Path("/sys/fs/cgroup/memory")


def test_a_job_that_allocates_200_mb_shows_a_peak_of_at_least_that(tmp_path, db_path):
    (tmp_path / "hog.py").write_text(HOG.format(mib=200, hold=1.5))
    (tmp_path / "mon.yaml").write_text(
        "name: mon\nresource_monitor: {granularity: time_series, sample_interval_seconds: 0.2}\n"
        f"jobs:\n  - {{name: hog, command: 'python3 {tmp_path}/hog.py'}}\n")
    with local_server(db_path) as (running, stubs):
        target = f"127.0.0.1:{running.port}"
        done = cli("submit", "--start", "mon.yaml", "--server", target, cwd=tmp_path)
        assert done.returncode == 0 and "not used" not in done.stderr  # resource_monitor is no longer ignored
        wf = int(done.stdout)
        assert spawn_worker(target, wf, tmp_path / "w", "--cpus", "1").wait(120) == 0
        (result,) = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
        assert result.peak_memory_bytes >= 200 * MIB and 0 < result.avg_memory_bytes <= result.peak_memory_bytes
        assert result.peak_cpu_percent > 50  # it spins
        assert len(result.samples) >= 3 and max(s.memory_bytes for s in result.samples) == result.peak_memory_bytes
        assert all(a.seconds < b.seconds for a, b in zip(result.samples, result.samples[1:]))
        shown = json.loads(cli("results", str(wf), "--json", "--server", target, cwd=tmp_path).stdout)
        assert shown[0]["peak_memory_bytes"] == result.peak_memory_bytes and len(shown[0]["samples"]) >= 3


def test_summary_monitoring_keeps_no_samples_and_disabled_keeps_nothing(tmp_path, db_path):
    (tmp_path / "hog.py").write_text(HOG.format(mib=20, hold=0.8))
    with local_server(db_path) as (running, stubs):
        target = f"127.0.0.1:{running.port}"
        for name, monitor in (("summary", "{sample_interval_seconds: 0.1}"), ("quiet", "{enabled: false}")):
            (tmp_path / f"{name}.yaml").write_text(
                f"name: {name}\nresource_monitor: {monitor}\n"
                f"jobs:\n  - {{name: hog, command: 'python3 {tmp_path}/hog.py'}}\n")
            wf = int(cli("submit", "--start", f"{name}.yaml", "--server", target, cwd=tmp_path).stdout)
            assert spawn_worker(target, wf, tmp_path / name, "--cpus", "1").wait(120) == 0
            (result,) = stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
            assert not result.samples
            assert (result.peak_memory_bytes >= 20 * MIB) if name == "summary" else result.peak_memory_bytes == 0


@pytest.mark.parametrize("monitor, message", [
    ("{granularity: hourly}", "granularity must be summary or time_series"),
    ("{sample_interval_seconds: 0}", "sample_interval_seconds must be > 0"),
    ("{colour: red}", "unknown key 'colour'"),
])
def test_bad_resource_monitor_is_refused_naming_the_key(tmp_path, monitor, message):
    (tmp_path / "bad.yaml").write_text(f"name: w\nresource_monitor: {monitor}\njobs:\n  - {{name: a, command: x}}\n")
    done = cli("run", "bad.yaml", cwd=tmp_path)
    assert done.returncode == 1 and "resource_monitor" in done.stderr and message in done.stderr


def test_api_clients_get_the_same_refusals(db_path):
    with local_server(db_path) as (_running, stubs):
        for monitor in (c.ResourceMonitorSpec(granularity="hourly"),
                        c.ResourceMonitorSpec(sample_interval_seconds=-1)):
            with pytest.raises(grpc.RpcError) as err:
                stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
                    name="w", jobs=[c.JobSpec(name="a", command="x")], resource_monitor=monitor)))
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "sample_interval_seconds" in err.value.details() or "granularity" in err.value.details()
        assert not stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows


def _memory_cgroup(tmp_path) -> Path:
    """A cgroup (v1 memory controller) capped at 120 MiB, for a real OOM kill."""
    if os.geteuid() != 0 or not CGROUP_V1.is_dir():
        pytest.fail("needs root and the cgroup v1 memory controller (/sys/fs/cgroup/memory), as CI has")
    group = CGROUP_V1 / f"torc-test-{os.getpid()}-{tmp_path.name}"
    group.mkdir()
    (group / "memory.limit_in_bytes").write_text(str(120 * MIB))
    return group


def test_recover_raises_memory_after_a_real_out_of_memory_kill(tmp_path, db_path):
    group = _memory_cgroup(tmp_path)
    try:
        (tmp_path / "hog.py").write_text(HOG.format(mib=200, hold=0.5))
        # Run 1 puts itself in the capped cgroup (the kernel kills it); the recovered run does not.
        (tmp_path / "oom.yaml").write_text(
            "name: oom\nresource_monitor: {sample_interval_seconds: 0.1}\n"
            "resource_requirements:\n  - {name: small, memory: 100m, runtime: PT1M}\n"
            f"jobs:\n  - name: hog\n    command: 'if [ \"$TORC_RUN_ID\" = 1 ]; then echo $$ > {group}/cgroup.procs; "
            f"fi; exec python3 {tmp_path}/hog.py'\n    resource_requirements: small\n"
            "  - {name: fine, command: 'true', resource_requirements: small}\n")
        with local_server(db_path) as (running, stubs):
            target = f"127.0.0.1:{running.port}"
            env = {"TORC_SERVER": target}
            wf = cli("submit", "--start", "oom.yaml", cwd=tmp_path, env=env).stdout.strip()
            assert spawn_worker(target, int(wf), tmp_path / "w1", "--cpus", "2").wait(120) == 0
            jobs = {j.name: j for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=int(wf))).jobs}
            assert jobs["hog"].status == c.JOB_STATUS_FAILED and jobs["fine"].status == c.JOB_STATUS_COMPLETED
            report = json.loads(cli("report", wf, "--json", cwd=tmp_path, env=env).stdout)
            (flagged,) = report["flagged"]
            assert flagged["job_name"] == "hog" and any("killed (return code -9)" in f for f in flagged["flags"])
            dry = cli("recover", wf, "--dry-run", cwd=tmp_path, env=env)
            assert "memory 100m -> 150m" in dry.stdout and "nothing changed" in dry.stdout
            assert stubs.job.GetJob(jpb.GetJobRequest(job_id=jobs["hog"].id)).job.resource_requirements.name == "small"
            done = cli("recover", wf, cwd=tmp_path, env=env)
            assert done.returncode == 0, done.stderr
            assert "out of memory (killed): 1 job (hog): memory 100m -> 150m" in done.stdout
            assert "run 2 started" in done.stdout
            hog = stubs.job.GetJob(jpb.GetJobRequest(job_id=jobs["hog"].id)).job
            assert hog.resource_requirements.resources.memory_bytes == 150 * MIB
            assert spawn_worker(target, int(wf), tmp_path / "w2", "--cpus", "2").wait(120) == 0
            assert stubs.job.GetJob(jpb.GetJobRequest(job_id=hog.id)).job.status == c.JOB_STATUS_COMPLETED
            again = cli("recover", wf, cwd=tmp_path, env=env)
            assert "nothing to recover" in again.stdout
    finally:
        group.rmdir()


def test_update_job_resources_refuses_live_unknown_and_taken_and_changes_nothing(db_path):
    with local_server(db_path) as (_running, stubs):
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
            name="w", jobs=[c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])],
            resource_requirements=[c.ResourceRequirementsSpec(name="r", memory="1g")]))).workflow.id
        ids = {j.name: j.id for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
        new = c.ResourceRequirementsSpec(name="bigger", memory="2g")
        ok = stubs.job.UpdateJobResources(jpb.UpdateJobResourcesRequest(workflow_id=wf, job_ids=[ids["b"]],
                                                                       resource_requirements=new))
        assert ok.resource_requirements_id > 0
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))  # a is READY now
        cases = [
            ([ids["a"]], c.ResourceRequirementsSpec(name="x", memory="2g"), grpc.StatusCode.FAILED_PRECONDITION),
            ([10**9], c.ResourceRequirementsSpec(name="y", memory="2g"), grpc.StatusCode.NOT_FOUND),
            ([ids["b"]], c.ResourceRequirementsSpec(name="r", memory="2g"), grpc.StatusCode.INVALID_ARGUMENT),
            ([], c.ResourceRequirementsSpec(name="z", memory="2g"), grpc.StatusCode.INVALID_ARGUMENT),
            ([ids["b"]], c.ResourceRequirementsSpec(name="w", memory="lots"), grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for job_ids, rr, code in cases:
            with pytest.raises(grpc.RpcError) as err:
                stubs.job.UpdateJobResources(jpb.UpdateJobResourcesRequest(workflow_id=wf, job_ids=job_ids,
                                                                           resource_requirements=rr))
            assert err.value.code() == code, (job_ids, rr.name, err.value.details())
        jobs = {j.name: j for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}
        assert jobs["a"].resource_requirements.name == "default" and jobs["b"].resource_requirements.name == "bigger"


def _use(**fields) -> usage.JobUse:
    base = dict(job_id=1, name="j", resource_set="r", status="completed", return_code=0, num_cpus=1,
                memory_bytes=100 * MIB, runtime_s=60.0, peak_memory_bytes=0, peak_cpu_percent=0.0,
                exec_time_seconds=1.0, ran=True)
    return usage.JobUse(**{**base, **fields})


def test_flags_and_the_timeout_recovery():
    assert usage.flags(_use(exec_time_seconds=55.0)) == ["near runtime: 92% of PT1M"]
    assert usage.flags(_use(peak_cpu_percent=250.0)) == ["over CPUs: peak 250% for 1 CPU"]
    assert usage.flags(_use()) == []
    rr = c.ResourceRequirements(name="r", memory="100m", runtime="PT1M",
                                resources=c.Resources(num_cpus=1, memory_bytes=100 * MIB, time_limit_seconds=60))
    plan = usage.recovery_plan([_use(status="terminated", exec_time_seconds=60.0, job_id=7, name="t")],
                               {"r": rr}, {"r", "r_run1_runtime"}, run_id=1)
    (fix,) = plan
    assert (fix.reason, fix.resource, fix.old, fix.new, fix.new_set, fix.job_ids) == (
        "timeout", "runtime", "PT1M", "PT1M30S", "r_run1_runtime_2", (7,))
    spec = usage.new_resources(fix, rr)
    assert spec.runtime == "PT1M30S" and spec.memory == "100m" and spec.num_cpus == 1


def test_hostile_samples_and_intervals_are_refused_with_the_data_intact(db_path):
    from torc_grpc._pb import worker_pb2 as kpb

    with local_server(db_path) as (_running, stubs):
        with pytest.raises(grpc.RpcError) as err:
            stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
                name="w", jobs=[c.JobSpec(name="a", command="x")],
                resource_monitor=c.ResourceMonitorSpec(sample_interval_seconds=float("nan")))))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "sample_interval_seconds" in err.value.details()
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
            name="w", jobs=[c.JobSpec(name="a", command="x")]))).workflow.id
        run = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf)).run_id
        node = stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="h", resources=c.Resources(num_cpus=1, memory_bytes=2**30, num_nodes=1)))
        assert node.resource_monitor.granularity == "summary" and node.resource_monitor.sample_interval_seconds == 5
        (job,) = stubs.worker.ClaimJobs(kpb.ClaimJobsRequest(
            workflow_id=wf, compute_node_id=node.compute_node_id, start=True,
            resources=c.Resources(num_cpus=1, memory_bytes=2**30, num_nodes=1))).jobs
        for sample in (c.ResourceSample(seconds=1, cpu_percent=float("nan"), memory_bytes=1),
                       c.ResourceSample(seconds=float("inf"), cpu_percent=1, memory_bytes=1),
                       c.ResourceSample(seconds=1, cpu_percent=1, memory_bytes=-5)):
            done = kpb.CompleteJobRequest(job_id=job.id, status=c.JOB_STATUS_COMPLETED, run_id=run,
                                          result=c.JobResult(samples=[sample]))
            with pytest.raises(grpc.RpcError) as err:
                stubs.worker.CompleteJob(done)
            assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "samples" in err.value.details()
        too_many = kpb.CompleteJobRequest(job_id=job.id, status=c.JOB_STATUS_COMPLETED, run_id=run,
                                          result=c.JobResult(samples=[c.ResourceSample(seconds=1)] * 10_001))
        with pytest.raises(grpc.RpcError) as err:
            stubs.worker.CompleteJob(too_many)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert stubs.job.GetJob(jpb.GetJobRequest(job_id=job.id)).job.status == c.JOB_STATUS_RUNNING
        assert not stubs.job.ListResults(jpb.ListResultsRequest(workflow_id=wf)).results
