"""Definition RPCs through a real server and channel: create, add, read,
initialize, start, delete; every refusal leaves the database unchanged."""

from __future__ import annotations

import grpc
import pytest

from torc_grpc._pb import common_pb2 as c
from torc_grpc._pb import job_pb2 as jpb
from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.testing import assert_refused, db_snapshot, integrity_ok

S = c.JobStatus


def diamond_spec(name="diamond", **kw) -> c.WorkflowSpec:
    """torc's diamond: preprocess -> work1, work2 -> postprocess, through files."""
    return c.WorkflowSpec(
        name=name,
        user="alice",
        files=[c.FileSpec(name=f"f{i}", path=f"/data/f{i}") for i in range(1, 7)],
        resource_requirements=[
            c.ResourceRequirementsSpec(name="small", num_cpus=1, memory="1g", runtime="PT10M"),
            c.ResourceRequirementsSpec(name="large", num_cpus=8, memory="10g", runtime="P0DT1H30M"),
        ],
        jobs=[
            c.JobSpec(name="preprocess", command="pre", input_files=["f1"], output_files=["f2", "f3"],
                      resource_requirements="small"),
            c.JobSpec(name="work1", command="w1", input_files=["f2"], output_files=["f4"],
                      resource_requirements="large"),
            c.JobSpec(name="work2", command="w2", input_files=["f3"], output_files=["f5"],
                      resource_requirements="large"),
            c.JobSpec(name="postprocess", command="post", input_files=["f4", "f5"],
                      output_files=["f6"], resource_requirements="small"),
        ],
        **kw,
    )


def create(stubs, spec):
    return stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=spec))


def statuses(stubs, workflow_id) -> dict[str, int]:
    jobs = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=workflow_id)).jobs
    return {j.name: j.status for j in jobs}


refused = assert_refused


def test_create_workflow_defaults_and_parsing(stubs):
    resp = create(stubs, diamond_spec(jobs_sort_method="gpus_memory_runtime"))
    wf = resp.workflow
    assert wf.id > 0 and wf.run_id == 0 and not wf.is_canceled
    assert wf.jobs_sort_method == "gpus_memory_runtime"
    assert set(resp.job_ids) == {"preprocess", "work1", "work2", "postprocess"}
    work1 = stubs.job.GetJob(jpb.GetJobRequest(job_id=resp.job_ids["work1"])).job
    rr = work1.resource_requirements
    assert (rr.name, rr.memory, rr.runtime) == ("large", "10g", "P0DT1H30M")
    assert rr.resources.memory_bytes == 10 * 1024**3
    assert rr.resources.time_limit_seconds == 5400
    assert rr.resources.num_cpus == 8 and rr.resources.num_nodes == 1
    assert work1.status == S.JOB_STATUS_UNINITIALIZED and work1.attempt_id == 1
    assert work1.cancel_on_blocking_job_failure
    # A job without a resource set gets the workflow's "default" set.
    lone = create(stubs, c.WorkflowSpec(name="lone", jobs=[c.JobSpec(name="a", command="true")]))
    job = stubs.job.GetJob(jpb.GetJobRequest(job_id=lone.job_ids["a"])).job
    rr = job.resource_requirements
    assert (rr.name, rr.memory, rr.runtime) == ("default", "1m", "P0DT1M")
    assert (rr.resources.num_cpus, rr.resources.num_gpus, rr.resources.num_nodes) == (1, 0, 1)
    assert (rr.resources.memory_bytes, rr.resources.time_limit_seconds) == (1024**2, 60)
    status = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=lone.workflow.id))
    assert status.run_id == 0 and not status.is_canceled and not status.is_complete
    assert [(x.status, x.count) for x in status.counts][0] == (S.JOB_STATUS_UNINITIALIZED, 1)
    assert len(status.counts) == 11 and status.num_jobs == 1


def test_diamond_initialize_materializes_file_edges(stubs):
    resp = create(stubs, diamond_spec())
    ids = resp.job_ids
    init = stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=resp.workflow.id))
    assert (init.num_ready, init.num_blocked, init.num_canceled) == (1, 3, 0)
    assert statuses(stubs, resp.workflow.id) == {
        "preprocess": S.JOB_STATUS_READY,
        "work1": S.JOB_STATUS_BLOCKED,
        "work2": S.JOB_STATUS_BLOCKED,
        "postprocess": S.JOB_STATUS_BLOCKED,
    }
    post = stubs.job.GetJob(jpb.GetJobRequest(job_id=ids["postprocess"])).job
    assert sorted(post.depends_on_job_ids) == sorted([ids["work1"], ids["work2"]])
    work1 = stubs.job.GetJob(jpb.GetJobRequest(job_id=ids["work1"])).job
    assert list(work1.depends_on_job_ids) == [ids["preprocess"]]
    assert len(post.input_file_ids) == 2 and len(post.output_file_ids) == 1


def test_chain_and_user_data_edges(stubs):
    spec = c.WorkflowSpec(
        name="chain",
        user_data=[c.UserDataSpec(name="params", data='{"n": 3}'), c.UserDataSpec(name="out")],
        jobs=[
            c.JobSpec(name="job1", command="a", output_user_data=["out"]),
            c.JobSpec(name="job2", command="b", input_user_data=["out", "params"]),
            c.JobSpec(name="job3", command="c", depends_on=["job2"]),
        ],
    )
    resp = create(stubs, spec)
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=resp.workflow.id))
    assert statuses(stubs, resp.workflow.id) == {
        "job1": S.JOB_STATUS_READY, "job2": S.JOB_STATUS_BLOCKED, "job3": S.JOB_STATUS_BLOCKED,
    }


def test_disabled_jobs_and_cancel_flag(stubs):
    spec = c.WorkflowSpec(
        name="disabled",
        jobs=[
            c.JobSpec(name="off", command="x", disabled=True),
            c.JobSpec(name="after_off", command="y", depends_on=["off"]),
            c.JobSpec(name="runs_anyway", command="z", depends_on=["off"],
                      cancel_on_blocking_job_failure=False),
        ],
    )
    resp = create(stubs, spec)
    init = stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=resp.workflow.id))
    assert (init.num_ready, init.num_blocked, init.num_canceled) == (1, 0, 1)
    assert statuses(stubs, resp.workflow.id) == {
        "off": S.JOB_STATUS_DISABLED,
        "after_off": S.JOB_STATUS_CANCELED,
        "runs_anyway": S.JOB_STATUS_READY,
    }
    # Everything disabled: complete once initialized, and so is an empty workflow.
    only_off = create(stubs, c.WorkflowSpec(name="all-off", jobs=[c.JobSpec(name="a", command="x", disabled=True)]))
    st = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=only_off.workflow.id))
    assert st.is_complete
    empty = create(stubs, c.WorkflowSpec(name="empty"))
    st = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=empty.workflow.id))
    assert st.is_complete and st.num_jobs == 0


def test_start_workflow_bumps_run_and_initializes(stubs):
    wf_id = create(stubs, diamond_spec()).workflow.id
    first = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf_id))
    assert (first.run_id, first.num_ready, first.num_blocked) == (1, 1, 3)
    second = stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=wf_id, rerun_all=True))
    assert (second.run_id, second.num_ready, second.num_blocked) == (2, 1, 3)
    st = stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf_id))
    assert st.run_id == 2
    counts = {x.status: x.count for x in st.counts}
    assert counts[S.JOB_STATUS_READY] == 1 and counts[S.JOB_STATUS_BLOCKED] == 3
    wf = stubs.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=wf_id)).workflow
    assert wf.run_id == 2 and wf.name == "diamond"


def test_add_jobs_stream_resolves_earlier_batches(stubs, db_path):
    wf_id = create(stubs, c.WorkflowSpec(name="big")).workflow.id

    def batches():
        yield wpb.AddJobsRequest(
            workflow_id=wf_id,
            files=[c.FileSpec(name="shared", path="/x")],
            resource_requirements=[c.ResourceRequirementsSpec(name="gpu", num_gpus=2)],
            jobs=[c.JobSpec(name=f"a{i}", command="a", output_files=["shared"] if i == 0 else [])
                  for i in range(50)],
        )
        yield wpb.AddJobsRequest(
            workflow_id=wf_id,
            jobs=[c.JobSpec(name=f"b{i}", command="b", depends_on=[f"a{i}"], resource_requirements="gpu")
                  for i in range(50)],
        )
        yield wpb.AddJobsRequest(
            workflow_id=wf_id,
            jobs=[c.JobSpec(name="sink", command="s", depends_on=[f"b{i}" for i in range(50)],
                            input_files=["shared"])],
        )

    assert stubs.workflow.AddJobs(batches()).count == 101
    init = stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf_id))
    assert (init.num_ready, init.num_blocked) == (50, 51)
    assert integrity_ok(db_path)


def test_add_jobs_failure_undoes_the_whole_stream(stubs, db_path):
    wf_id = create(stubs, c.WorkflowSpec(name="undo", jobs=[c.JobSpec(name="root", command="r")])).workflow.id

    def batches():
        yield wpb.AddJobsRequest(workflow_id=wf_id, files=[c.FileSpec(name="f")],
                                 jobs=[c.JobSpec(name="x1", command="x", depends_on=["root"])])
        yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[c.JobSpec(name="x2", command="x", depends_on=["x1"])])
        yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[c.JobSpec(name="x3", command="x", depends_on=["nope"])])

    msg = refused(lambda: stubs.workflow.AddJobs(batches()), grpc.StatusCode.INVALID_ARGUMENT,
                  db_path, stubs)
    assert "'x3'" in msg and "'nope'" in msg

    def mixed():
        yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[c.JobSpec(name="y1", command="y")])
        yield wpb.AddJobsRequest(workflow_id=wf_id + 1000, jobs=[c.JobSpec(name="y2", command="y")])

    refused(lambda: stubs.workflow.AddJobs(mixed()), grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs,
            contains=f"workflow {wf_id}")
    refused(lambda: stubs.workflow.AddJobs(iter([wpb.AddJobsRequest(
        workflow_id=wf_id, jobs=[c.JobSpec(name="root", command="again")])])),
        grpc.StatusCode.ALREADY_EXISTS, db_path, stubs, contains="'root'")
    refused(lambda: stubs.workflow.AddJobs(iter([wpb.AddJobsRequest(workflow_id=999_999)])),
            grpc.StatusCode.NOT_FOUND, db_path, stubs)
    assert stubs.workflow.AddJobs(iter([])).count == 0


BAD_SPECS = {
    "duplicate job name": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x"), c.JobSpec(name="a", command="y")]),
        "duplicate job name 'a'",
    ),
    "unknown dependency": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", depends_on=["ghost"])]),
        "job 'a': depends_on names unknown job 'ghost'",
    ),
    "unknown resource set": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", resource_requirements="huge")]),
        "job 'a': resource_requirements names unknown set 'huge'",
    ),
    "unknown file": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", input_files=["nofile"])]),
        "job 'a': input_files names unknown file 'nofile'",
    ),
    "unknown user data": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", output_user_data=["nud"])]),
        "job 'a': output_user_data names unknown user_data 'nud'",
    ),
    "unknown failure handler": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", failure_handler="fh")]),
        "unknown handler 'fh'",
    ),
    "bad memory": (
        c.WorkflowSpec(name="w", resource_requirements=[c.ResourceRequirementsSpec(name="r", memory="10 GB")]),
        "resource_requirements 'r': invalid memory string '10 GB'",
    ),
    "bad runtime": (
        c.WorkflowSpec(name="w", resource_requirements=[c.ResourceRequirementsSpec(name="r", runtime="1 hour")]),
        "resource_requirements 'r': invalid runtime '1 hour'",
    ),
    "negative cpus": (
        c.WorkflowSpec(name="w", resource_requirements=[c.ResourceRequirementsSpec(name="r", num_cpus=-1)]),
        "spec.resource_requirements[0].num_cpus: must be between 0 and",
    ),
    "zero nodes": (
        c.WorkflowSpec(name="w", resource_requirements=[c.ResourceRequirementsSpec(name="r", num_nodes=0)]),
        "num_nodes must be >= 1",
    ),
    "duplicate file": (
        c.WorkflowSpec(name="w", files=[c.FileSpec(name="f"), c.FileSpec(name="f")]),
        "duplicate file name 'f'",
    ),
    "bad user data json": (
        c.WorkflowSpec(name="w", user_data=[c.UserDataSpec(name="u", data="{not json")]),
        "spec.user_data[0].data: is not valid JSON",
    ),
    "empty workflow name": (c.WorkflowSpec(name=" "), "workflow name is empty"),
    "empty job name": (c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="", command="x")]), "empty name"),
    "empty command": (c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command=" ")]), "job 'a': command is empty"),
    "self dependency": (
        c.WorkflowSpec(name="w", jobs=[c.JobSpec(name="a", command="x", depends_on=["a"])]),
        "job 'a': depends on itself",
    ),
    "bad sort method": (c.WorkflowSpec(name="w", jobs_sort_method="fastest"), "jobs_sort_method 'fastest'"),
    "bad failure rule": (
        c.WorkflowSpec(name="w", failure_handlers=[c.FailureHandlerSpec(name="h", rules=[c.FailureRule()])]),
        "failure_handler 'h': rule 0",
    ),
}


@pytest.mark.parametrize("case", BAD_SPECS)
def test_bad_specs_are_invalid_argument_and_write_nothing(stubs, db_path, case):
    create(stubs, diamond_spec())  # something in the database to keep intact
    spec, message = BAD_SPECS[case]
    details = refused(lambda: create(stubs, spec), grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs)
    assert message in details


@pytest.mark.parametrize("through", ["explicit", "files", "user_data"])
def test_cycles_are_invalid_argument_naming_jobs(stubs, db_path, through):
    if through == "explicit":
        jobs = [c.JobSpec(name="a", command="x", depends_on=["c"]),
                c.JobSpec(name="b", command="x", depends_on=["a"]),
                c.JobSpec(name="c", command="x", depends_on=["b"]),
                c.JobSpec(name="free", command="x")]
        spec = c.WorkflowSpec(name="cyc", jobs=jobs)
    elif through == "files":
        spec = c.WorkflowSpec(
            name="cyc", files=[c.FileSpec(name="p"), c.FileSpec(name="q")],
            jobs=[c.JobSpec(name="a", command="x", input_files=["p"], output_files=["q"]),
                  c.JobSpec(name="b", command="x", input_files=["q"], output_files=["p"]),
                  c.JobSpec(name="free", command="x")])
    else:
        spec = c.WorkflowSpec(
            name="cyc", user_data=[c.UserDataSpec(name="p"), c.UserDataSpec(name="q")],
            jobs=[c.JobSpec(name="a", command="x", input_user_data=["p"], output_user_data=["q"]),
                  c.JobSpec(name="b", command="x", input_user_data=["q"], output_user_data=["p"]),
                  c.JobSpec(name="free", command="x")])
    create(stubs, diamond_spec())  # something in the database to keep intact
    # Refused when created (not only at start): nothing is written.
    details = refused(lambda: create(stubs, spec), grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs,
                      contains="dependency cycle")
    assert "'a'" in details and "'b'" in details and "'free'" not in details


def test_a_cycle_closed_by_add_jobs_undoes_the_whole_stream(stubs, db_path):
    wf_id = create(stubs, c.WorkflowSpec(name="grow", files=[c.FileSpec(name="p"), c.FileSpec(name="q")],
                                         jobs=[c.JobSpec(name="a", command="x", input_files=["p"],
                                                         output_files=["q"])])).workflow.id

    def batches():
        yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[c.JobSpec(name="ok", command="x")])
        yield wpb.AddJobsRequest(workflow_id=wf_id, jobs=[  # b writes p, which a reads: a cycle
            c.JobSpec(name="b", command="x", input_files=["q"], output_files=["p"])])

    details = refused(lambda: stubs.workflow.AddJobs(batches()), grpc.StatusCode.INVALID_ARGUMENT,
                      db_path, stubs, contains="dependency cycle")
    assert "'a'" in details and "'b'" in details
    assert set(statuses(stubs, wf_id)) == {"a"}


def test_unknown_ids_are_not_found(stubs, db_path):
    create(stubs, diamond_spec())
    missing = 424242
    calls = [
        lambda: stubs.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=missing)),
        lambda: stubs.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=missing)),
        lambda: stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=missing)),
        lambda: stubs.workflow.StartWorkflow(wpb.StartWorkflowRequest(workflow_id=missing)),
        lambda: stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=missing)),
        lambda: stubs.job.GetJob(jpb.GetJobRequest(job_id=missing)),
        lambda: stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=missing)),
    ]
    for call in calls:
        refused(call, grpc.StatusCode.NOT_FOUND, db_path, stubs, contains=str(missing))


def test_bad_paging_and_enum_values(stubs, db_path):
    wf_id = create(stubs, diamond_spec()).workflow.id
    refused(lambda: stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf_id, limit=10_001)),
            grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs, contains="limit")
    refused(lambda: stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf_id, statuses=[42])),
            grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs, contains="statuses[0]: 42 is not a JobStatus value")
    refused(lambda: stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest(limit=-1)),
            grpc.StatusCode.INVALID_ARGUMENT, db_path, stubs, contains="limit")


def test_message_over_size_limit(tmp_path):
    from torc_grpc.testing import local_server

    db = str(tmp_path / "small.db")
    with local_server(db, max_message_bytes=64 * 1024) as (_running, stubs):
        wf_id = create(stubs, diamond_spec()).workflow.id
        huge = c.WorkflowSpec(name="huge", jobs=[c.JobSpec(name="a", command="x" * 100_000)])
        refused(lambda: create(stubs, huge), grpc.StatusCode.RESOURCE_EXHAUSTED, db, stubs)
        assert stubs.workflow.GetWorkflow(wpb.GetWorkflowRequest(workflow_id=wf_id)).workflow.name == "diamond"


def test_list_jobs_filters_and_pages(stubs):
    jobs = [c.JobSpec(name=f"j{i:03d}", command="x", depends_on=["j000"] if i else [])
            for i in range(25)]
    wf_id = create(stubs, c.WorkflowSpec(name="paged", jobs=jobs)).workflow.id
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=wf_id))
    seen, after = [], 0
    while True:
        page = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf_id, limit=10, after_id=after))
        seen += [j.name for j in page.jobs]
        if not page.next_after_id:
            break
        after = page.next_after_id
    assert seen == [f"j{i:03d}" for i in range(25)]
    blocked = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf_id, statuses=[S.JOB_STATUS_BLOCKED]))
    assert len(blocked.jobs) == 24
    ready = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=wf_id, statuses=[S.JOB_STATUS_READY]))
    assert [j.name for j in ready.jobs] == ["j000"]


def test_list_workflows_and_delete_cascades(stubs, db_path):
    ids = [create(stubs, diamond_spec(name=f"w{i}")).workflow.id for i in range(5)]
    create(stubs, c.WorkflowSpec(name="bob's", user="bob"))
    page = stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest(user="alice", limit=3))
    assert [w.id for w in page.workflows] == ids[:3] and page.next_after_id == ids[2]
    rest = stubs.workflow.ListWorkflows(wpb.ListWorkflowsRequest(user="alice", after_id=page.next_after_id))
    assert [w.id for w in rest.workflows] == ids[3:] and rest.next_after_id == 0
    stubs.workflow.InitializeJobs(wpb.InitializeJobsRequest(workflow_id=ids[0]))
    stubs.workflow.DeleteWorkflow(wpb.DeleteWorkflowRequest(workflow_id=ids[0]))
    snap = db_snapshot(db_path)
    for table, rows in snap.items():
        if table.startswith("sqlite_"):
            continue
        assert all(ids[0] not in (r[1],) for r in rows if table != "workflow"), table
    assert ids[0] not in [r[0] for r in snap["workflow"]]
    assert len(snap["job"]) == 4 * 4
    assert integrity_ok(db_path)


def test_an_answer_too_large_for_its_job_ids_still_reaches_the_caller(stubs):
    """5,000 jobs with 1,000-byte names: the name -> id map alone is ~5 MB, over the
    answer budget. The workflow is created, and a default client (4 MiB receive
    limit) still gets its id, told the map was left out (it used to get
    RESOURCE_EXHAUSTED for a workflow that existed: a retry made a second one)."""
    jobs = [c.JobSpec(name=f"{'n' * 1000}_{i}", command="true") for i in range(5000)]
    answer = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(name="big", jobs=jobs)),
                                           timeout=120)
    assert answer.job_ids_left_out and not answer.job_ids and answer.workflow.id
    listed, after = 0, 0
    while True:
        page = stubs.job.ListJobs(jpb.ListJobsRequest(workflow_id=answer.workflow.id, after_id=after, limit=1000))
        listed += len(page.jobs)
        after = page.next_after_id
        if not after:
            break
    assert listed == 5000
    small = stubs.workflow.CreateWorkflow(wpb.CreateWorkflowRequest(spec=c.WorkflowSpec(
        name="small", jobs=[c.JobSpec(name="a", command="true")])))
    assert not small.job_ids_left_out and list(small.job_ids) == ["a"]
