"""CompleteJob(s) group commit: concurrent calls share transactions, and each
call still gets exactly its own outcomes."""

from __future__ import annotations

import threading

from torc_core import store
from torc_core.engine import Engine
from torc_core.errors import InvalidTransition, NotFound
from torc_core.models import Completion, FailureHandlerSpec, FailureRule, JobSpec, JobStatus, WorkflowSpec


def test_concurrent_calls_get_their_own_outcomes(tmp_path):
    engine = Engine(str(tmp_path / "g.db"))
    try:
        wf, ids = engine.create_workflow(WorkflowSpec(name="g", jobs=tuple(
            JobSpec(name=f"j{i}", command="x") for i in range(800))))
        run = engine.start_workflow(wf.id).run_id
        engine.claim_next_jobs(wf.id, limit=800)
        jobs = sorted(ids.values())
        results: dict[int, list] = {}
        start = threading.Barrier(8)

        def call(k: int) -> None:
            start.wait()
            mine = jobs[k * 100:(k + 1) * 100]
            got = []
            for n in range(0, 100, 5):  # every call: 4 good items and 1 refusal per batch
                batch = [Completion(j, JobStatus.COMPLETED, run) for j in mine[n:n + 4]]
                batch.append(Completion(mine[n + 4], JobStatus.COMPLETED, run + 1) if k % 2
                             else Completion(10_000 + k, JobStatus.COMPLETED, run))
                got.append(engine.complete_jobs(batch))
            results[k] = got

        threads = [threading.Thread(target=call, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        for k, calls in results.items():
            for outcomes in calls:
                assert outcomes[:4] == [None] * 4
                assert isinstance(outcomes[4], InvalidTransition if k % 2 else NotFound)
        assert len(results) == 8
        assert engine.unblocker.flush(30)
        rows = store.list_results(engine._core.reader(), wf.id, True, 0, [], 0, 10_000)
        refused = {jobs[k * 100 + n + 4] for k in range(1, 8, 2) for n in range(0, 100, 5)}
        assert sorted(r.job_id for r in rows) == sorted(set(jobs[:800]) - refused
                                                        - {jobs[k * 100 + n + 4] for k in range(0, 8, 2)
                                                           for n in range(0, 100, 5)})
    finally:
        engine.close()


def test_complete_job_answers_with_the_job_as_committed(tmp_path):
    """CompleteJob's answer is read on the writer inside the group commit:
    it must equal what a fresh read shows after the call, also for a job a
    failure handler put back to READY, and each concurrent call gets its own job."""
    engine = Engine(str(tmp_path / "a.db"))
    try:
        handler = FailureHandlerSpec(name="h", rules=(FailureRule(exit_codes=(3,), max_retries=2),))
        wf, ids = engine.create_workflow(WorkflowSpec(name="a", failure_handlers=(handler,), jobs=(
            JobSpec(name="ok", command="x"), JobSpec(name="flaky", command="x", failure_handler="h"),
            *(JobSpec(name=f"p{i}", command="x") for i in range(40)))))
        run = engine.start_workflow(wf.id).run_id
        engine.claim_next_jobs(wf.id, limit=100)
        done = engine.complete_job(Completion(ids["ok"], JobStatus.COMPLETED, run))
        assert (done.id, done.status, done.compute_node_id) == (ids["ok"], JobStatus.COMPLETED, 0)
        assert done == engine.job_brief(ids["ok"])
        retried = engine.complete_job(Completion(ids["flaky"], JobStatus.FAILED, run, return_code=3))
        assert (retried.status, retried.attempt_id) == (JobStatus.READY, 2)
        assert retried == engine.job_brief(ids["flaky"])

        answers: dict[int, object] = {}
        start = threading.Barrier(8)

        def call(k: int) -> None:
            start.wait()
            for i in range(k, 40, 8):
                job = ids[f"p{i}"]
                answers[job] = engine.complete_job(Completion(job, JobStatus.COMPLETED, run))

        threads = [threading.Thread(target=call, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(answers) == sorted(ids[f"p{i}"] for i in range(40))
        assert all(job.id == job_id and job.status == JobStatus.COMPLETED for job_id, job in answers.items())
    finally:
        engine.close()
