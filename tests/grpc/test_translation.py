"""Servicer translation and the status table, in process with grpc_testing.

Behaviour is tested through a real server elsewhere; here each core error
class must come out as its table's status code, and an unexpected failure as
INTERNAL with a generic message (never the raw exception text).
"""

from __future__ import annotations

import apsw
import grpc
import grpc_testing
import pytest

from torc_core import errors
from torc_core.engine import Engine
from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.errors import ERROR_TABLE, error_from_rpc, status_for
from torc_grpc.servicers import JobServiceServicer, WorkflowServiceServicer

SERVICE = wpb.DESCRIPTOR.services_by_name["WorkflowService"]
JOB_SERVICE = jpb.DESCRIPTOR.services_by_name["JobService"]


@pytest.fixture
def engine(tmp_path):
    eng = Engine(str(tmp_path / "t.db"))
    yield eng
    eng.close()


def invoke(engine, method, request):
    service = JOB_SERVICE if method == "GetJob" else SERVICE
    server = grpc_testing.server_from_dictionary(
        {SERVICE: WorkflowServiceServicer(engine), JOB_SERVICE: JobServiceServicer(engine)},
        grpc_testing.strict_real_time(),
    )
    rpc = server.invoke_unary_unary(service.methods_by_name[method], (), request, 5)
    return rpc.termination()


def test_ok_and_not_found(engine):
    response, _, code, _ = invoke(
        engine, "CreateWorkflow", wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="w"))
    )
    assert code == grpc.StatusCode.OK and response.workflow.id > 0
    _, _, code, details = invoke(engine, "GetWorkflow", wpb.GetWorkflowRequest(workflow_id=99))
    assert code == grpc.StatusCode.NOT_FOUND and "99" in details


def test_closed_engine_is_unavailable(engine):
    engine.close()
    _, _, code, details = invoke(engine, "GetWorkflow", wpb.GetWorkflowRequest(workflow_id=1))
    assert code == grpc.StatusCode.UNAVAILABLE and "shutting down" in details


def test_unexpected_failure_is_internal_with_generic_message(engine, caplog):
    response, _, _, _ = invoke(engine, "CreateWorkflow", wpb.CreateWorkflowRequest(
        spec=c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x")])))
    # Corrupt a row behind the server's back: status 42 is no JobStatus.
    conn = apsw.Connection(engine.path)
    conn.execute("UPDATE job SET status = 42")
    conn.close()
    _, _, code, details = invoke(engine, "GetJob", jpb.GetJobRequest(job_id=response.job_ids["a"]))
    assert code == grpc.StatusCode.INTERNAL
    assert details == "internal server error (see the server log)"
    assert "internal error in JobServiceServicer.GetJob" in caplog.text


#: The table as the house style states it, written out here so that a change
#: to ERROR_TABLE must be made twice (reading the table would test nothing).
EXPECTED = {
    errors.NotFound: (grpc.StatusCode.NOT_FOUND, False),
    errors.AlreadyExists: (grpc.StatusCode.ALREADY_EXISTS, False),
    errors.InvalidArgument: (grpc.StatusCode.INVALID_ARGUMENT, False),
    errors.InvalidTransition: (grpc.StatusCode.FAILED_PRECONDITION, False),
    errors.PermissionDenied: (grpc.StatusCode.PERMISSION_DENIED, False),
    errors.Unauthenticated: (grpc.StatusCode.UNAUTHENTICATED, False),
    errors.Conflict: (grpc.StatusCode.ABORTED, True),
    errors.StoreBusy: (grpc.StatusCode.UNAVAILABLE, True),
    errors.Unavailable: (grpc.StatusCode.UNAVAILABLE, True),
    errors.ResourceExhausted: (grpc.StatusCode.RESOURCE_EXHAUSTED, True),
}


def test_the_table_is_the_documented_one():
    assert ERROR_TABLE == EXPECTED


@pytest.mark.parametrize("cls", list(EXPECTED), ids=lambda c: c.__name__)
def test_table_round_trips(cls):
    code, _retry = EXPECTED[cls]
    assert status_for(cls("x")) == code

    class FakeRpcError(grpc.RpcError):
        def code(self):
            return code

        def details(self):
            return "boom"

    back = error_from_rpc(FakeRpcError())
    assert isinstance(back, errors.TorcError) and back.message == "boom"
    assert status_for(back) == code
