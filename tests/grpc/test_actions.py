"""Actions and SlurmService on a server without Slurm: run_commands run by
workers, what needs Slurm is refused at submit, bad calls get clear codes."""

from __future__ import annotations

import json
import subprocess
import sys

import grpc
import pytest
import yaml

from torc_core.engine import Engine
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import slurm_pb2 as slpb
from torc_grpc._pb import worker_pb2 as kpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server


def test_run_commands_actions_run_with_torc_grpc_run(tmp_path):
    spec = {"name": "actions", "jobs": [{"name": "a", "command": "echo a > a.txt"},
                                        {"name": "b", "command": "true", "depends_on": ["a"]}],
            "actions": [
                {"trigger_type": "on_workflow_start", "action_type": "run_commands",
                 "commands": ["echo start >> log.txt"]},
                {"trigger_type": "on_jobs_complete", "action_type": "run_commands", "jobs": ["a"],
                 "commands": ["echo a-done >> log.txt", "false", "echo never >> log.txt"]},
                {"trigger_type": "on_workflow_complete", "action_type": "run_commands",
                 "commands": ["echo complete >> log.txt"]}]}
    (tmp_path / "w.yaml").write_text(yaml.safe_dump(spec))
    out = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "run", "w.yaml", "--output-dir", "out"],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "out" / "log.txt").read_text().split()
    # Each ran once; the second action stopped at its failing command.
    assert lines[0] == "start" and sorted(lines) == ["a-done", "complete", "start"]
    engine = Engine(str(tmp_path / "torc.db"))
    try:
        kinds = [(e.event_type, json.loads(e.data)) for e in engine.list_events(1, limit=1000).items]
    finally:
        engine.close()
    assert sum(k == "action_completed" for k, _d in kinds) == 2
    (failed,) = [d for k, d in kinds if k == "action_failed"]
    assert failed["return_code"] == 1 and "'false' exited 1" in failed["message"]


def _actions_spec(kind: str) -> c.WorkflowSpec:
    spec = c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="true")],
                          slurm_schedulers=[c.SlurmSchedulerSpec(name="s", walltime="00:10:00")])
    if kind == "action":
        spec.actions.append(c.WorkflowActionSpec(trigger_type="on_workflow_start", action_type="schedule_nodes",
                                                 scheduler="s", scheduler_type="slurm"))
    else:
        spec.jobs[0].scheduler = "s"
    return spec


def test_without_slurm_what_needs_it_is_refused_and_slurm_rpcs_say_why(db_path):
    with local_server(db_path) as (_running, stubs):
        for kind in ("action", "routed job"):
            with pytest.raises(grpc.RpcError) as err:
                stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=_actions_spec(kind)))
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION, kind
            assert "serve --slurm" in err.value.details()
        plain = c.WorkflowSpec(name="p", jobs=[c.JobSpec(name="a", command="true")],
                               slurm_schedulers=[c.SlurmSchedulerSpec(name="s", walltime="00:10:00")])
        wf = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=plain)).workflow.id
        listed = stubs.slurm.ListAllocations(slpb.ListAllocationsRequest(workflow_id=wf))
        assert not listed.allocations and listed.schedulers[0].name == "s"
        for call, request in ((stubs.slurm.ScheduleNodes, slpb.ScheduleNodesRequest(workflow_id=wf, scheduler="s")),
                              (stubs.slurm.CancelAllocations, slpb.CancelAllocationsRequest(workflow_id=wf))):
            with pytest.raises(grpc.RpcError) as err:
                call(request)
            assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as err:
            stubs.slurm.ListAllocations(slpb.ListAllocationsRequest(workflow_id=wf + 100))
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        for request, code in ((kpb.ClaimActionsRequest(workflow_id=wf), grpc.StatusCode.INVALID_ARGUMENT),
                              (kpb.CompleteActionRequest(action_id=99, compute_node_id=1), grpc.StatusCode.NOT_FOUND)):
            call = stubs.worker.ClaimActions if isinstance(request, kpb.ClaimActionsRequest) else stubs.worker.CompleteAction
            with pytest.raises(grpc.RpcError) as err:
                call(request)
            assert err.value.code() == code, request


def test_an_action_is_completed_only_by_a_node_of_its_workflow(db_path):
    spec = c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="true")], actions=[c.WorkflowActionSpec(
        trigger_type="on_workflow_start", action_type="run_commands", commands=["true"])])
    with local_server(db_path) as (_running, stubs):
        mine = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec)).workflow.id
        other = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec)).workflow.id
        for wf in (mine, other):
            stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf))
        nodes = {wf: stubs.worker.RegisterComputeNode(kpb.RegisterComputeNodeRequest(
            workflow_id=wf, hostname="h")).compute_node_id for wf in (mine, other)}
        (action,) = stubs.worker.ClaimActions(kpb.ClaimActionsRequest(workflow_id=mine,
                                                                      compute_node_id=nodes[mine])).actions
        with pytest.raises(grpc.RpcError) as err:  # another workflow's node cannot claim it either
            stubs.worker.ClaimActions(kpb.ClaimActionsRequest(workflow_id=mine, compute_node_id=nodes[other]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as err:
            stubs.worker.CompleteAction(kpb.CompleteActionRequest(action_id=action.id,
                                                                  compute_node_id=nodes[other]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        stubs.worker.CompleteAction(kpb.CompleteActionRequest(action_id=action.id, compute_node_id=nodes[mine]))
        assert not stubs.worker.ClaimActions(kpb.ClaimActionsRequest(workflow_id=mine,
                                                                     compute_node_id=nodes[mine])).actions


@pytest.mark.parametrize("field,value", [("walltime", "soon"), ("extra", "--x\nrm -rf ~"), ("mem", "lots")])
def test_bad_scheduler_fields_are_invalid_arguments_naming_them(db_path, field, value):
    with local_server(db_path) as (_running, stubs):
        spec = c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="true")],
                              slurm_schedulers=[c.SlurmSchedulerSpec(name="s", **{field: value})])
        with pytest.raises(grpc.RpcError) as err:
            stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field in err.value.details()


@pytest.mark.parametrize("field", ["compute_node_expiration_buffer_seconds", "compute_node_wait_for_new_jobs_seconds"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0, 1e9])
def test_bad_worker_settings_of_a_slurm_workflow_are_refused(db_path, field, value):
    with local_server(db_path) as (_running, stubs):
        spec = c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="true")], **{field: value})
        with pytest.raises(grpc.RpcError) as err:
            stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in err.value.details()
        assert not stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest()).workflows
