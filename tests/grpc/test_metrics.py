"""Operators' metrics (issue 18, part): `serve --metrics-port` as a real
process, scraped while a real worker runs a real workflow, parsed with
prometheus-client's own parser."""

from __future__ import annotations

import re
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.client import Stubs
from torc_grpc.testing import spawn_server, spawn_worker, wait_until


def _scrape(port: int) -> dict:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(families: dict, name: str, sample: str, **labels) -> float:
    return sum(s.value for s in families[name].samples
               if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def test_metrics_during_a_run(tmp_path):
    go = tmp_path / "go"
    server, port = spawn_server(str(tmp_path / "m.db"), tmp_path / "server.log", "--metrics-port", "0")
    try:
        log = (tmp_path / "server.log")
        target = f"127.0.0.1:{port}"
        stubs = Stubs.connect(target)
        # A first layer finishes at once; the held job waits for the test's file (bounded).
        jobs = [c.JobSpec(name=f"a{i}", command="true") for i in range(20)]
        jobs += [c.JobSpec(name="held", command=f"for i in $(seq 600); do [ -e {go} ] && exit 0; sleep 0.1; done",
                           depends_on=["a0"])]
        jobs += [c.JobSpec(name=f"b{i}", command="true", depends_on=["held"]) for i in range(5)]
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="m", jobs=jobs))).workflow.id
        stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        worker = spawn_worker(target, wf, tmp_path / "w", "--cpus", "2")
        held = {j.name: j.id for j in stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf)).jobs}["held"]
        wait_until(lambda: stubs.job.GetJob(jpb.GetJobRequest(job_id=held)).job.status == c.JOB_STATUS_RUNNING, 60)
        metrics_port = int(re.search(r"metrics on 127.0.0.1:(\d+)", log.read_text()).group(1))
        during = _scrape(metrics_port)
        assert _value(during, "torc_rpc_calls", "torc_rpc_calls_total", method="ClaimJobs", code="OK") >= 1
        assert _value(during, "torc_rpc_latency_seconds", "torc_rpc_latency_seconds_count", method="ClaimJobs") >= 1
        assert _value(during, "torc_rpc_calls", "torc_rpc_calls_total", method="RegisterComputeNode") == 1
        assert _value(during, "torc_compute_nodes_active", "torc_compute_nodes_active") == 1
        assert _value(during, "torc_open_streams", "torc_open_streams") >= 1  # the worker's WatchReadyJobs
        assert _value(during, "torc_ready_jobs", "torc_ready_jobs", workflow_id=str(wf)) == 0  # held blocks b*
        assert _value(during, "torc_unblocker_batch_completions", "torc_unblocker_batch_completions_count") >= 1
        go.write_text("")
        assert worker.wait(120) == 0
        after = _scrape(metrics_port)
        assert _value(after, "torc_compute_nodes_active", "torc_compute_nodes_active") == 0  # said goodbye
        refused = stubs.workflow.GetWorkflowStatus  # a refusal is counted with its code
        try:
            refused(wpb.GetWorkflowStatusRequest(workflow_id=999))
        except Exception:  # noqa: BLE001
            pass
        final = _scrape(metrics_port)
        assert _value(final, "torc_rpc_calls", "torc_rpc_calls_total", method="GetWorkflowStatus",
                      code="NOT_FOUND") == 1
    finally:
        server.terminate()
        server.wait(60)
