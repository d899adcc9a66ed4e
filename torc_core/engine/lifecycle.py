"""Lifecycle: CancelWorkflow, ResetJobStatus and RetryJob.

* Cancel (torc 7.7): flag the workflow, cancel its claimed and running jobs
  (no results), end its ready streams; StartWorkflow or a reset clears it.
* Reset returns jobs to uninitialized (torc's `workflows reset-status`);
  StartWorkflow then bumps run_id and reinitializes.
* RetryJob: torc's retry_job with its guards; from FAILED or TERMINATED what
  the failure canceled downstream goes back to uninitialized and is
  reinitialized, so the dependents wait for the new attempt.
"""

from __future__ import annotations

import logging
from typing import Sequence

from .. import store
from ..define import resource_rows
from ..errors import InvalidArgument, InvalidTransition, NotFound
from ..models import COMPLETE_STATUSES, IN_FLIGHT_STATUSES, Job, JobStatus, ResourceRequirementsSpec, Severity
from ..notifier import End
from .claims import check_run
from .core import EngineCore, Requeued
from .reads import Reads
from .retries import retry_limit
from .runs import Runs

log = logging.getLogger("torc_core.engine")

#: Statuses RetryJob accepts.
RETRYABLE_STATUSES = (JobStatus.RUNNING, JobStatus.FAILED, JobStatus.TERMINATED)


class Lifecycle:
    """Cancel, reset and retry (see module docstring)."""

    def __init__(self, core: EngineCore, runs: Runs, reads: Reads) -> None:
        self._core = core
        self._runs = runs
        self._reads = reads

    def cancel_workflow(self, workflow_id: int) -> int:
        """Torc's cancel; idempotent. Claims return nothing afterwards.

        Returns:
            How many claimed or running jobs were canceled.
        """
        core = self._core
        with core.write_lock:
            with core.transaction() as tx:
                wf = core.workflow(tx.conn, workflow_id)
                if wf.is_canceled:
                    return 0
                store.set_canceled(tx.conn, workflow_id)
                ids = store.cancel_in_flight(tx.conn, workflow_id)
                tx.event(workflow_id, "workflow_canceled", Severity.WARNING, run_id=wf.run_id,
                         num_canceled=len(ids))
            state = core.states.get(workflow_id)
            if state is not None:
                state.graph.set_statuses(ids, [JobStatus.CANCELED] * len(ids))
                state.notify()  # long polls return "workflow is canceled"
            core.notifier.end_workflow(workflow_id, End.CANCELED)
        log.info("workflow %d canceled: %d claimed or running jobs canceled", workflow_id, len(ids))
        return len(ids)

    def reset_job_status(self, workflow_id: int, failed_only: bool = False, force: bool = False) -> int:
        """Clear a cancel and return jobs to uninitialized; StartWorkflow then runs them again.

        failed_only: only failed, canceled, terminated and pending_failed
        jobs, plus everything downstream of the complete ones (6/7/8),
        whatever its status. Otherwise every job. Disabled jobs stay disabled.
        A reset job that is in flight, or already reported a result in this
        run, gets the next attempt: the old claim is fenced (its worker can no
        longer start or complete it) and a rerun in the same run (InitializeJobs
        without StartWorkflow) records a result of its own.

        Raises:
            NotFound: Unknown workflow.
            InvalidTransition: Jobs are pending or running and force is not set.

        Returns:
            How many jobs changed.
        """
        core = self._core
        with core.write_lock:
            with core.transaction() as tx:
                c = tx.conn
                wf = core.workflow(c, workflow_id)
                busy = store.in_flight_count(c, workflow_id)
                if busy and not force:
                    raise InvalidTransition(
                        f"workflow {workflow_id} has {busy} pending or running jobs; "
                        "wait for them, cancel the workflow, or reset with force"
                    )
                if failed_only:
                    failed = store.resettable_failed(c, workflow_id)
                    seeds = [f.job_id for f in failed if f.status in COMPLETE_STATUSES]
                    ids = sorted({f.job_id for f in failed} | set(store.downstream(c, seeds)))
                    store.fence_reset(c, ids, wf.run_id)
                    count = store.reset_jobs(c, ids)
                else:
                    store.fence_reset_all(c, workflow_id, wf.run_id)
                    count = store.reset_all_jobs(c, workflow_id)
                store.clear_cancel(c, workflow_id)
                tx.event(workflow_id, "user_action", Severity.INFO, action="reset_job_status",
                         failed_only=failed_only, force=force, updated_count=count)
            core.drop_state_locked(workflow_id)
        log.info("workflow %d: reset %d jobs (failed_only=%s)", workflow_id, count, failed_only)
        return count

    def update_job_resources(self, workflow_id: int, job_ids: Sequence[int],
                             resources: ResourceRequirementsSpec) -> int:
        """Give jobs a new resource set (`torc-grpc recover`: memory or runtime x1.5).
        The set is created under its own name, so the jobs' old set and the results
        that ran under it stay as they were. Jobs must not be ready, claimed or
        running (reset them first or after; StartWorkflow then runs them with it).

        Raises:
            NotFound: Unknown workflow or a job not of it.
            InvalidArgument: No jobs, a bad set, or its name is taken.
            InvalidTransition: A job is ready, pending or running.

        Returns:
            The new resource set's id.
        """
        ids = list(dict.fromkeys(job_ids))
        if not ids:
            raise InvalidArgument("job_ids: name at least one job")
        core = self._core
        with core.write_lock:
            with core.transaction() as tx:
                c = tx.conn
                core.workflow(c, workflow_id)
                statuses = store.statuses_of(c, workflow_id, ids)
                missing = [j for j in ids if j not in statuses]
                if missing:
                    raise NotFound(f"job {missing[0]} is not a job of workflow {workflow_id}", job_id=missing[0])
                live = [j for j in ids if statuses[j] in (JobStatus.READY, *IN_FLIGHT_STATUSES)]
                if live:
                    raise InvalidTransition(f"job {live[0]} is {JobStatus(statuses[live[0]]).name}: its resources "
                                            "change only while it is not ready or running")
                if resources.name in store.name_map(c, "resource_requirements", workflow_id):
                    raise InvalidArgument(f"resource_requirements.name {resources.name!r} is taken in workflow "
                                          f"{workflow_id}", field="resource_requirements.name")
                (rr_id,) = store.insert_resource_requirements(c, resource_rows(workflow_id, [resources]))
                store.set_resources(c, workflow_id, ids, rr_id)
                tx.event(workflow_id, "job_resources_changed", Severity.INFO, resource_requirements=resources.name,
                         job_ids=ids[:100], count=len(ids))
            core.drop_state_locked(workflow_id)
        log.info("workflow %d: %d jobs now use resource set %r", workflow_id, len(ids), resources.name)
        return rr_id

    def retry_job(self, job_id: int, run_id: int, max_retries: int = 0) -> Job:
        """Torc's retry_job: RUNNING, FAILED or TERMINATED -> READY with the next attempt.

        The limit is max_retries, else the job's failure handler (the rule
        matching its last return code), else 3; with both, the smaller.

        Raises:
            NotFound: Unknown job.
            InvalidTransition: Stale run_id, wrong status, attempts used up,
                or a downstream job is pending or running.
        """
        core = self._core
        if max_retries < 0:
            raise InvalidArgument(f"max_retries must be >= 0, not {max_retries}")
        if core.job_state(core.reader(), job_id).status in COMPLETE_STATUSES:
            core.unblocker.flush()  # the failure's cascade is committed before it is undone
        with core.write_lock:
            with core.transaction() as tx:
                job = core.job_state(tx.conn, job_id)
                check_run(job_id, job.workflow_id, run_id, job.run_id)
                if job.status not in RETRYABLE_STATUSES:
                    raise InvalidTransition(
                        f"job {job_id} is {JobStatus(job.status).name}; only RUNNING, FAILED or "
                        "TERMINATED jobs can be retried"
                    )
                limit = retry_limit(tx.conn, job_id, run_id, max_retries)
                if job.attempt_id >= limit:
                    raise InvalidTransition(
                        f"job {job_id} has used its {limit} attempts (attempt {job.attempt_id})"
                    )
                rerun = job.status != JobStatus.RUNNING
                if rerun:
                    below = store.downstream(tx.conn, [job_id])
                    states = store.jobs_by_ids(tx.conn, below)
                    busy = [j for j in below if states[j].status in IN_FLIGHT_STATUSES]
                    if busy:
                        raise InvalidTransition(
                            f"job {job_id}: downstream job {busy[0]} is "
                            f"{states[busy[0]].status.name}; retry after it finished"
                        )
                    store.retry_uninitialized(tx.conn, job_id)
                    store.reset_jobs(tx.conn, below)
                    state, rows = self._runs.initialize_locked(tx, job.workflow_id, True)
                else:
                    store.retry_ready(tx.conn, job_id)
                    tx.requeued.append(Requeued(job.workflow_id, job_id))
                tx.event(job.workflow_id, "job_retried", Severity.WARNING, job_id=job_id,
                         job_name=job.name, previous_attempt=job.attempt_id,
                         new_attempt=job.attempt_id + 1, run_id=run_id, automatic=False)
            if rerun:
                core.install_state_locked(job.workflow_id, state)
                core.announce_locked(job.workflow_id, rows, False)
        log.info("job %d retried: attempt %d", job_id, job.attempt_id + 1)
        return self._reads.job_brief(job_id)
