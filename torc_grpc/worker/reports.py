"""What the worker tells the server about started and finished jobs.

Jobs that finished become CompleteJobRequests in an outbox; the next claim
carries them, with the jobs claimed ahead that have started since (claim-ahead,
ahead.py) (ClaimJobs commits them first: one call for "these finished,
give me more"), and whatever no claim takes (the node is full, the worker
stops, a claim's answer was lost) goes with CompleteJobs, retried while the
server is unreachable. A repeat of a completion the server already has comes
back `already_complete`, so sending twice after a lost answer is safe.
"""

from __future__ import annotations

import logging
import time
from typing import Iterable, Optional

import grpc

from .._pb import common_pb2, worker_pb2
from .ahead import ClaimAhead
from .config import StopReason, WorkerConfig, WorkerSummary
from .node import NodeSession
from .processes import Finished, Processes, Stop

log = logging.getLogger("torc_grpc.worker")

S = common_pb2
_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class Reports:
    def __init__(self, config: WorkerConfig, session: NodeSession, processes: Processes,
                 summary: WorkerSummary, held: list, ahead: ClaimAhead) -> None:
        self.config = config
        self.session = session
        self.processes = processes
        self.summary = summary
        #: (when, Finished) held back in release mode (the loop's list).
        self.held = held
        self.ahead = ahead
        #: Claimed-ahead jobs started since the last call (and those a lost answer left unsure).
        self._starts: list[int] = []
        self._starts_sent: list[int] = []
        self._pending: list = []
        self._sent: list = []
        #: job id -> (job, return code) of every completion not yet answered.
        self._finished: dict[int, tuple] = {}

    def take(self, items: Iterable) -> Optional[StopReason]:
        """Turn finished jobs into completions (queued); returns a Stop's reason if one came."""
        items = list(items)
        stop: Optional[StopReason] = None
        release_mode = self.config.on_signal == "release"
        releasing = release_mode and any(isinstance(i, Stop) and i.reason is StopReason.SIGNALED for i in items)
        if releasing:  # killed with the allocation after all: given back, not reported
            for _when, item in self.held:
                self.processes.running.pop(item.job_id, None)
            self.held.clear()
        for item in items:
            if isinstance(item, Stop):
                stop = item.reason
                continue
            if not isinstance(item, Finished):
                continue
            if item.job_id in self.processes.abandoned:  # the server took it away: not reported
                self.processes.abandoned.discard(item.job_id)
                self.processes.running.pop(item.job_id, None)
                continue
            if releasing and item.return_code < 0:
                self.processes.running.pop(item.job_id, None)
                continue  # killed with the allocation: given back by the release, not reported
            if (release_mode and item.return_code < 0 and not item.held
                    and item.job_id not in self.processes.terminating):
                # scancel signals the jobs and the worker at once: wait a moment for our own signal.
                self.held.append((time.monotonic(), item))
                continue
            self._pending.append(self._completion(item))
        return stop

    def _completion(self, item: Finished) -> worker_pb2.CompleteJobRequest:
        r = self.processes.running.pop(item.job_id)
        rc = item.return_code
        ran = time.time() - r.started
        self.ahead.ended(ran)
        usage = self.processes.monitor.stop(item.job_id)
        self._finished[item.job_id] = (r.job, rc)
        if item.error:
            status = S.JOB_STATUS_FAILED
        elif item.job_id in self.processes.terminating:
            status = S.JOB_STATUS_TERMINATED
        elif rc == 0 and self.processes.missing_outputs(r):
            status = S.JOB_STATUS_FAILED
        else:
            status = S.JOB_STATUS_COMPLETED if rc == 0 else S.JOB_STATUS_FAILED
        log.debug("job %d (%s) ended: %s, return code %d, %.3f s", item.job_id, r.job.name,
                  S.JobStatus.Name(status).removeprefix("JOB_STATUS_").lower(), rc, ran)
        if status == S.JOB_STATUS_COMPLETED:
            self.summary.completed += 1
        else:
            self.summary.failed += 1
        result = common_pb2.JobResult(return_code=rc, exec_time_seconds=ran, compute_node_id=self.session.node,
                                      attempt_id=r.job.attempt_id, error=item.error)
        if usage is not None:
            result.peak_memory_bytes, result.avg_memory_bytes = usage.peak_memory_bytes, usage.avg_memory_bytes
            result.peak_cpu_percent, result.avg_cpu_percent = usage.peak_cpu_percent, usage.avg_cpu_percent
            result.samples.extend(common_pb2.ResourceSample(seconds=s, cpu_percent=cpu, memory_bytes=mem)
                                  for s, cpu, mem in usage.samples)
        return worker_pb2.CompleteJobRequest(job_id=item.job_id, status=status,
                                             run_id=r.run_id or self.session.run_id(), result=result)

    @property
    def queued(self) -> int:
        return len(self._pending)

    def outbox(self) -> list:
        """The queued completions, for a claim to carry (answered() or flush() follows)."""
        self._sent, self._pending = self._sent + self._pending, []
        return self._sent

    def started(self, job_id: int) -> None:
        """A job claimed ahead (PENDING) was started: the next claim says so."""
        self._starts.append(job_id)

    @property
    def starts_queued(self) -> int:
        return len(self._starts) + len(self._starts_sent)

    def starts_outbox(self) -> list[int]:
        """The starts to report, for a claim to carry; after a lost answer they go again
        (a repeat is harmless)."""
        self._starts_sent, self._starts = self._starts_sent + self._starts, []
        return self._starts_sent

    def answered(self, results, not_started=()) -> None:
        """The claim's outcomes for what outbox() and starts_outbox() gave it.
        Jobs the server no longer gives this node (not_started) are stopped."""
        self._sent, self._starts_sent = [], []
        for job_id in not_started:
            log.warning("job %d was taken away before its start was told (reset, canceled or given "
                        "back): stopped", job_id)
            self.processes.abandon(job_id)
        self._outcomes(results)

    def flush(self) -> None:
        """Send what no claim took (or whose answer was lost) with CompleteJobs."""
        items, self._sent, self._pending = self._sent + self._pending, [], []
        if not items:
            return
        resp = self.session.call(self.session.worker.CompleteJobs,
                                 worker_pb2.CompleteJobsRequest(completions=items))
        self._outcomes(resp.results)

    def _outcomes(self, results) -> None:
        for outcome in results:
            job, rc = self._finished.pop(outcome.job_id, (None, 0))
            if not outcome.ok and not outcome.already_complete:
                log.warning("job %d: completion refused (%s): %s", outcome.job_id,
                            _CODE_NAMES.get(outcome.code, outcome.code), outcome.message)
            if outcome.retried and job is not None:
                log.info("job %d failed with %d and will be retried", job.id, rc)
                if outcome.recovery_script:
                    self.processes.recover(job, rc, outcome.recovery_script)
