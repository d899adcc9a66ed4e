"""GetWorkflowGraph's refusals through a real server: each a clear status
naming what to change, the database untouched."""

from __future__ import annotations

import concurrent.futures

import grpc

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import assert_refused, run_job, setup, wait_until

from .test_streams import claim


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


def test_a_picture_is_never_stale(stubs):
    """The server reuses a drawing only while nothing changed: each change shows at once."""
    chain = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]
    wf, ids, run, node = setup(stubs, chain)

    def statuses():
        return [[(x.status, x.count) for x in n.counts] for n in graph(stubs, wf).nodes]

    assert statuses() == statuses() == [[(c.JOB_STATUS_READY, 1)], [(c.JOB_STATUS_BLOCKED, 1)]]
    claim(stubs, wf, node)  # a claim writes no event: the counts tell
    assert statuses() == [[(c.JOB_STATUS_PENDING, 1)], [(c.JOB_STATUS_BLOCKED, 1)]]
    run_job(stubs, ids["a"], run, node)
    wait_until(lambda: statuses() == [[(c.JOB_STATUS_COMPLETED, 1)], [(c.JOB_STATUS_READY, 1)]], 10,
               what="the unblocker's commit in the picture")


def test_a_picture_drawn_while_the_unblocker_commits_is_not_kept_as_current(served):
    """The unblocker moves the in-memory counts just before its commit: a drawing
    made in that window shows the rows before the commit and must not be reused
    once the commit lands (it was, forever: the counts matched, no event came)."""
    from torc_core import store  # noqa: PLC0415

    running, stubs = served
    chain = [c.JobSpec(name="a", command="x"), c.JobSpec(name="b", command="x", depends_on=["a"])]
    wf, ids, _run, _node = setup(stubs, chain)

    def b_status():
        return [n.counts[0].status for n in graph(stubs, wf).nodes if n.job_id == ids["b"]][0]

    assert b_status() == c.JOB_STATUS_BLOCKED
    core = running.engine._core
    with core.write_lock:  # as the unblocker holds it
        core.states[wf].graph.set_statuses([ids["b"]], [c.JOB_STATUS_READY])  # counts first
        assert b_status() == c.JOB_STATUS_BLOCKED  # drawn before the commit: the rows say blocked
        with store.transaction(core.writer):
            store.write_unblocked(core.writer, [], [ids["b"]], [])  # the commit
    assert b_status() == c.JOB_STATUS_READY


def test_many_callers_at_once_get_the_same_picture(stubs):
    jobs = [c.JobSpec(name=f"w_{i}", command="x") for i in range(2000)]
    wf, _ids, _run, _node = setup(stubs, jobs)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: graph(stubs, wf, max_nodes=10).SerializeToString(), range(16)))
    assert len(set(answers)) == 1
    one = wpb.GetWorkflowGraphResponse.FromString(answers[0])
    assert [(n.label, n.num_jobs) for n in one.nodes] == [("w_*", 2000)]
