"""When things go wrong: resets, retries, failure handlers, compute node leases.

Mixed into Engine (engine.py documents the concurrency contract).
* ResetJobStatus returns jobs to uninitialized (torc-behaviour.md 7.2);
  StartWorkflow then bumps run_id and reinitializes.
* Failure handlers are enforced by the server: a FAILED completion whose
  return code matches a rule of the job's handler, with attempts left, is
  recorded (its result row stays) and the job goes back to READY with the
  next attempt_id, without a cascade. RetryJob does the same on request,
  with torc's guards.
* Leases: a compute node must Heartbeat within its lease. The lease thread
  expires nodes that did not: PENDING jobs go back to READY, RUNNING jobs
  fail with return code -128 (so retries and cascades apply), and the node
  is refused from then on (FAILED_PRECONDITION), so its worker stops.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Optional

import apsw

from . import store
from .errors import InvalidArgument, InvalidTransition, NotFound
from .execution import AfterCommit, check_run, job_row
from .models import COMPLETE_STATUSES, Completion, JobStatus, Severity

log = logging.getLogger("torc_core.lifecycle")

#: Attempts allowed when neither the request nor a failure handler says.
DEFAULT_MAX_RETRIES = 3
#: Return code recorded for a job whose compute node vanished (torc's orphans).
ORPHAN_RETURN_CODE = -128
RETRYABLE_STATUSES = (JobStatus.RUNNING, JobStatus.FAILED, JobStatus.TERMINATED)


def match_rule(rules: list[dict], return_code: Optional[int]) -> Optional[dict]:
    """Torc's choice: a rule listing the code, else the first match-all rule."""
    if return_code is not None:
        for rule in rules:
            if return_code in rule.get("exit_codes", ()):
                return rule
    for rule in rules:
        if rule.get("match_all_exit_codes"):
            return rule
    return None


class LifecycleMixin:
    """Resets, retries and leases (see module docstring)."""

    # ------------------------------------------------------------ reset
    def reset_job_status(self, workflow_id: int, failed_only: bool = False, force: bool = False) -> int:
        """Torc's `workflows reset-status`: clear a cancel and return jobs to
        uninitialized; StartWorkflow then runs them again.

        failed_only: only failed, canceled, terminated and pending_failed
        jobs, plus everything downstream of the complete ones (6/7/8),
        whatever its status. Otherwise every job. Disabled jobs stay disabled.

        Raises:
            NotFound: Unknown workflow.
            InvalidTransition: Jobs are pending or running and force is not set.

        Returns:
            How many jobs changed.
        """
        with self._write_lock:
            with self._tx() as c:
                self._workflow(c, workflow_id)
                busy = store.in_flight_count(c, workflow_id)
                if busy and not force:
                    raise InvalidTransition(
                        f"workflow {workflow_id} has {busy} pending or running jobs; "
                        "wait for them, cancel the workflow, or reset with force"
                    )
                if failed_only:
                    failed = store.resettable_failed(c, workflow_id)
                    seeds = [j for j, s in failed if s in COMPLETE_STATUSES]
                    ids = sorted({j for j, _s in failed} | set(store.downstream(c, seeds)))
                    count = store.reset_jobs(c, ids)
                else:
                    count = store.reset_all_jobs(c, workflow_id)
                store.clear_cancel(c, workflow_id)
                self._event(c, workflow_id, "user_action", Severity.INFO, action="reset_job_status",
                            failed_only=failed_only, force=force, updated_count=count)
            self._drop_state_locked(workflow_id)
        log.info("workflow %d: reset %d jobs (failed_only=%s)", workflow_id, count, failed_only)
        return count

    # ------------------------------------------------------------ retries
    def _retry_limit(self, c: apsw.Connection, job_id: int, run_id: int, requested: int,
                     return_code: Optional[int]) -> int:
        rules = store.job_rules(c, job_id)
        if not rules:
            return requested or DEFAULT_MAX_RETRIES
        if return_code is None:
            return_code = store.latest_return_code(c, job_id, run_id)
        rule = match_rule(rules, return_code)
        handler = rule["max_retries"] if rule else 1  # a handler without a matching rule: no retry
        return min(requested, handler) if requested else handler

    def _auto_retry(
        self, c: apsw.Connection, wf_id: int, item: Completion, name: str, attempt: int
    ) -> Optional[str]:
        """Inside a completion: retry a FAILED job its handler covers (see
        module docstring). Returns the rule's recovery script ("" for none),
        or None when the job is not retried."""
        rules = store.job_rules(c, item.job_id)
        rule = match_rule(rules, item.return_code) if rules else None
        if rule is None or attempt >= rule["max_retries"]:
            return None
        store.retry_ready(c, item.job_id)
        self._event(c, wf_id, "job_retried", Severity.WARNING, job_id=item.job_id, job_name=name,
                    previous_attempt=attempt, new_attempt=attempt + 1, run_id=item.run_id,
                    return_code=item.return_code, recovery_script=rule.get("recovery_script", ""),
                    automatic=True)
        return rule.get("recovery_script", "")

    def retry_job(self, job_id: int, run_id: int, max_retries: int = 0):
        """Torc's retry_job: RUNNING, FAILED or TERMINATED -> READY with the next attempt.

        The limit is max_retries, else the job's failure handler (the rule
        matching its last return code), else 3; with both, the smaller. A
        FAILED or TERMINATED job was already unblocked: what its failure
        canceled downstream returns to uninitialized and is reinitialized.

        Raises:
            NotFound: Unknown job.
            InvalidTransition: Stale run_id, wrong status, attempts used up,
                or a downstream job is pending or running.
        """
        if max_retries < 0:
            raise InvalidArgument(f"max_retries must be >= 0, not {max_retries}")
        if job_row(self._reader(), job_id)[2] in COMPLETE_STATUSES:
            self.unblocker.flush()  # the failure's cascade is committed before it is undone
        with self._write_lock:
            with self._tx() as c:
                _id, wf_id, status, attempt, name, current_run, _canceled, _holder = job_row(c, job_id)
                check_run(job_id, wf_id, run_id, current_run)
                if status not in RETRYABLE_STATUSES:
                    raise InvalidTransition(
                        f"job {job_id} is {JobStatus(status).name}; only RUNNING, FAILED or "
                        "TERMINATED jobs can be retried"
                    )
                limit = self._retry_limit(c, job_id, run_id, max_retries, None)
                if attempt >= limit:
                    raise InvalidTransition(
                        f"job {job_id} has used its {limit} attempts (attempt {attempt})"
                    )
                rerun = status != JobStatus.RUNNING
                if rerun:
                    below = store.downstream(c, [job_id])
                    states = store.jobs_by_ids(c, below)
                    busy = [j for j in below if states[j].status in (JobStatus.PENDING, JobStatus.RUNNING)]
                    if busy:
                        raise InvalidTransition(
                            f"job {job_id}: downstream job {busy[0]} is {states[busy[0]].status.name}; "
                            "retry after it finished"
                        )
                    store.retry_uninitialized(c, job_id)
                    store.reset_jobs(c, below)
                    state, rows = self._initialize_locked(c, wf_id, True)
                else:
                    store.retry_ready(c, job_id)
                self._event(c, wf_id, "job_retried", Severity.WARNING, job_id=job_id, job_name=name,
                            previous_attempt=attempt, new_attempt=attempt + 1, run_id=run_id,
                            automatic=False)
            if rerun:
                self._install_state_locked(wf_id, state)
                self._announce_locked(wf_id, rows, False)
            else:
                done = AfterCommit(self._now_iso())
                done.ready.append((wf_id, job_id))
                self._after_completions_locked(done)
        log.info("job %d retried: attempt %d", job_id, attempt + 1)
        return self.job_brief(job_id)

    # ------------------------------------------------------------ leases
    def heartbeat(self, compute_node_id: int) -> tuple[float, list[int]]:
        """Extend a node's lease; returns the lease length in seconds and the
        jobs the node claimed but has not started.

        Raises:
            NotFound: Unknown node.
            InvalidTransition: The lease already expired (the worker must stop).
        """
        with self._write_lock, self._tx() as c:
            row = store.node_lease(c, compute_node_id)
            if row is None:
                raise NotFound(f"compute node {compute_node_id} not found", compute_node_id=compute_node_id)
            if not row[1]:
                raise InvalidTransition(
                    f"compute node {compute_node_id}'s lease expired and its jobs were given back; "
                    "stop, and register again to continue"
                )
            store.renew_lease(c, compute_node_id, time.time() + self.lease_seconds)
            pending = [j for j, s in store.node_jobs(c, compute_node_id) if s == JobStatus.PENDING]
        return self.lease_seconds, pending

    def expire_leases(self, now: Optional[float] = None) -> int:
        """Expire every active node whose lease ran out; returns how many."""
        now = time.time() if now is None else now
        done = AfterCommit(self._now_iso())
        with self._write_lock:
            with self._tx() as c:
                expired = store.expired_nodes(c, now)
                for node_id, wf_id, hostname in expired:
                    store.deactivate_node(c, node_id, now)
                    held = store.node_jobs(c, node_id)
                    pending = [j for j, s in held if s == JobStatus.PENDING]
                    running = [j for j, s in held if s == JobStatus.RUNNING]
                    store.requeue_pending(c, pending)
                    done.ready += [(wf_id, j) for j in pending]
                    run_id = store.get_workflow(c, wf_id).run_id
                    for job_id in running:
                        self._complete_one(c, Completion(
                            job_id=job_id, status=JobStatus.FAILED, run_id=run_id,
                            return_code=ORPHAN_RETURN_CODE), done)
                    self._event(c, wf_id, "compute_node_expired", Severity.WARNING,
                                compute_node_id=node_id, hostname=hostname, requeued=pending,
                                failed=running, return_code=ORPHAN_RETURN_CODE)
            if expired:
                self._after_completions_locked(done)
        self.unblocker.submit(done.handoff)
        for node_id, wf_id, _host in expired:
            log.warning("workflow %d: compute node %d missed its lease: jobs given back", wf_id, node_id)
        return len(expired)


class LeaseKeeper:
    """The thread that expires leases, every `interval` seconds."""

    def __init__(self, expire, interval: float) -> None:
        self._expire = expire
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="torc-leases", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._expire()
            except Exception:  # keep the thread alive; the next tick retries
                log.exception("lease expiry failed")
