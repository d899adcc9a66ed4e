"""The validation layer: every field of every request message has a rule,
and sites can move the caps."""

from __future__ import annotations

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import local_server
from torc_grpc.validation import Limits, Validator, fields_without_rules, request_descriptors


def test_every_request_field_has_a_rule():
    assert fields_without_rules() == []
    assert len(request_descriptors()) >= 27  # every RPC of every torc.v1 service
    Validator()  # compiles: a field without a rule would stop the server here


def test_a_site_can_raise_a_cap(db_path):
    spec = c.WorkflowSpec(name="big", jobs=[c.JobSpec(name="a", command="true #" + "x" * 200_000)])
    with local_server(db_path) as (_running, stubs):
        with pytest.raises(grpc.RpcError) as err:
            stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spec.jobs[0].command: is longer than 131071 bytes" in err.value.details()
    with local_server(db_path, limits=Limits().with_overrides({"command_bytes": 300_000})) as (_r, stubs):
        assert stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec)).workflow.id


def test_unknown_or_bad_limits_are_refused():
    with pytest.raises(ValueError, match="unknown limit"):
        Limits().with_overrides({"nope": 3})
    with pytest.raises(ValueError, match=">= 1"):
        Limits().with_overrides({"name_bytes": 0})
