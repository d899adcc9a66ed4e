"""GetWorkflowGraph's refusals through a real server: each a clear status
naming what to change, the database untouched."""

from __future__ import annotations

import grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import assert_refused, setup


def graph(stubs, wf, **kw):
    return stubs.workflow.GetWorkflowGraph(wpb.GetWorkflowGraphRequest(workflow_id=wf, **kw), timeout=60)


def test_an_answer_over_the_budget_is_refused(stubs, db_path):
    wf, _ids, _run, _node = setup(stubs, [])
    names = [f"{'x' * 1000}_{i}" for i in range(5000)]  # ~5 MB of labels (AddJobs: CreateWorkflow answers their ids)
    stubs.workflow.AddJobs(iter([wpb.AddJobsRequest(workflow_id=wf, jobs=[c.JobSpec(name=n, command="x")
                                                                          for n in names[k:k + 1000]])
                                 for k in range(0, 5000, 1000)]), timeout=120)
    assert graph(stubs, wf, max_nodes=10).grouping == wpb.GRAPH_GROUPING_NAME  # grouped, it fits
    details = assert_refused(lambda: graph(stubs, wf, grouping=wpb.GRAPH_GROUPING_JOBS, max_nodes=10_000),
                             grpc.StatusCode.FAILED_PRECONDITION, db_path, stubs)
    assert "max_nodes" in details and "bytes" in details


def test_bad_requests(stubs, db_path):
    wf, _ids, _run, _node = setup(stubs, [c.JobSpec(name="a", command="x")])
    assert "grouping" in assert_refused(lambda: graph(stubs, wf, grouping=7), grpc.StatusCode.INVALID_ARGUMENT,
                                        db_path, stubs)
    assert "max_nodes" in assert_refused(lambda: graph(stubs, wf, max_nodes=-1), grpc.StatusCode.INVALID_ARGUMENT,
                                         db_path, stubs)
    assert_refused(lambda: graph(stubs, 12345), grpc.StatusCode.NOT_FOUND, db_path, stubs)
    one = graph(stubs, wf)
    assert [(n.label, n.job_id, [(x.status, x.count) for x in n.counts]) for n in one.nodes] == [
        ("a", 1, [(c.JOB_STATUS_READY, 1)])]
