"""The committed torc_grpc/_pb must equal a fresh generation from protos/."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_generated_code_is_fresh(tmp_path):
    spec = importlib.util.spec_from_file_location("generate", ROOT / "protos" / "generate.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    fresh = {p.relative_to(tmp_path) for p in gen.generate(tmp_path)}
    committed_dir = ROOT / "torc_grpc" / "_pb"
    committed = {
        p.relative_to(committed_dir)
        for p in committed_dir.rglob("*")
        if p.is_file() and p.suffix in (".py", ".pyi") and p.parent != committed_dir
    }
    assert fresh == committed, "run: python protos/generate.py"
    stale = [str(p) for p in sorted(fresh) if (tmp_path / p).read_text() != (committed_dir / p).read_text()]
    assert not stale, f"stale generated files {stale}; run: python protos/generate.py"


def test_fixed_api_names_exist():
    """The fixed API names (protos/, docs/architecture.md): names that clients outside this repository rely on."""
    from torc_grpc._pb import common_pb2, event_pb2, server_pb2, worker_pb2, workflow_pb2, job_pb2

    services = {
        workflow_pb2: ("WorkflowService", ["CreateWorkflow", "AddJobs", "GetWorkflow", "ListWorkflows",
                       "DeleteWorkflow", "InitializeJobs", "StartWorkflow", "GetWorkflowStatus",
                       "CancelWorkflow", "ResetJobStatus"]),
        job_pb2: ("JobService", ["GetJob", "ListJobs", "ListResults"]),
        worker_pb2: ("WorkerService", ["RegisterComputeNode", "ClaimJobs", "ClaimNextJobs", "StartJob",
                     "CompleteJob", "CompleteJobs", "Heartbeat", "WatchReadyJobs"]),
        event_pb2: ("EventService", ["ListEvents", "WatchEvents"]),
        server_pb2: ("ServerService", ["Ping", "GetVersion"]),
    }
    for module, (service, methods) in services.items():
        desc = module.DESCRIPTOR.services_by_name[service]
        assert desc.full_name == f"torc.v1.{service}"
        assert set(methods) <= {m.name for m in desc.methods}
    fields = {
        common_pb2.Resources: ["num_cpus", "memory_bytes", "num_gpus", "num_nodes", "time_limit_seconds"],
        common_pb2.JobSpec: ["name", "command", "depends_on", "resource_requirements", "input_files",
                             "output_files", "input_user_data", "output_user_data",
                             "cancel_on_blocking_job_failure", "supports_termination", "priority", "label", "env"],
        common_pb2.WorkflowSpec: ["name", "user", "description", "resource_requirements", "files",
                                  "user_data", "jobs", "env"],
        common_pb2.ResourceRequirementsSpec: ["name", "num_cpus", "num_gpus", "num_nodes", "memory", "runtime"],
        common_pb2.Job: ["id", "workflow_id", "name", "command", "status", "attempt_id", "resource_requirements"],
        workflow_pb2.CreateWorkflowResponse: ["workflow", "job_ids"],
        workflow_pb2.InitializeJobsRequest: ["workflow_id", "only_uninitialized"],
        workflow_pb2.InitializeJobsResponse: ["num_ready", "num_blocked"],
        workflow_pb2.StartWorkflowRequest: ["workflow_id", "rerun_all"],
        workflow_pb2.GetWorkflowStatusResponse: ["run_id", "is_canceled", "is_complete"],
        workflow_pb2.ResetJobStatusRequest: ["workflow_id", "failed_only"],
        workflow_pb2.AddJobsRequest: ["workflow_id", "jobs"],
        workflow_pb2.AddJobsResponse: ["count"],
        worker_pb2.ClaimJobsRequest: ["workflow_id", "compute_node_id", "resources", "limit", "sort_method",
                                      "scheduler_config_id", "label", "wait_seconds"],
        worker_pb2.CompleteJobRequest: ["job_id", "status", "run_id", "result"],
        worker_pb2.CompleteJobsRequest: ["completions"],
        worker_pb2.CompleteJobOutcome: ["job_id", "ok", "code", "message"],
        worker_pb2.WatchReadyJobsRequest: ["workflow_id", "compute_node_id"],
        worker_pb2.WatchReadyJobsResponse: ["job_ids", "workflow_complete", "workflow_canceled"],
        common_pb2.JobResult: ["return_code", "exec_time_seconds", "compute_node_id"],
    }
    for message, names in fields.items():
        assert set(names) <= set(message.DESCRIPTOR.fields_by_name), message.DESCRIPTOR.full_name
    codes = {v.name: v.number for v in common_pb2.DESCRIPTOR.enum_types_by_name["JobStatus"].values}
    assert codes == {
        "JOB_STATUS_UNINITIALIZED": 0, "JOB_STATUS_BLOCKED": 1, "JOB_STATUS_READY": 2,
        "JOB_STATUS_PENDING": 3, "JOB_STATUS_RUNNING": 4, "JOB_STATUS_COMPLETED": 5,
        "JOB_STATUS_FAILED": 6, "JOB_STATUS_CANCELED": 7, "JOB_STATUS_TERMINATED": 8,
        "JOB_STATUS_DISABLED": 9, "JOB_STATUS_PENDING_FAILED": 10,
    }
