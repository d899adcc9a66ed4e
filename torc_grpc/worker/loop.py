"""The worker's loop.

One Worker per compute node (or allocation). It registers, keeps its lease
with Heartbeat, subscribes to WatchReadyJobs for its node, and loops:
report what finished (one CompleteJobs for everything that finished
together), claim what fits the resources left, start it. When a claim comes
back empty it blocks until a child finishes, the server says jobs are ready,
or `wait_seconds` pass (a safety net, not a poll interval). It ends when the
workflow is complete or canceled (children are killed), its lease is lost,
or its allocation's time is up. Outcomes are read from status codes and
response fields, never from message text.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import grpc

from torc_core.resources import Capacity

from .._pb import common_pb2, worker_pb2
from ..auth.credentials import open_channel
from ..client import Backoff, watch_ready_jobs
from .actions import ActionRunner, run_before_exit
from .ahead import ClaimAhead
from .config import StopReason, WorkerConfig, WorkerSummary
from .inbox import Inbox
from .node import RETRY_CODES, NodeSession, lease_lost
from .processes import Finished, Message, News, Processes, Stop
from .reports import Reports

log = logging.getLogger("torc_grpc.worker")

S = common_pb2
#: Release mode: a job killed by a signal is reported this much later, unless the
#: worker's own SIGTERM (scancel, preemption) arrives meanwhile and it is given back.
SIGNAL_HOLD_SECONDS = 2.0


class _Answered:
    """Put in the inbox when a claim's answer arrives (the loop keeps jobs running meanwhile)."""

    __slots__ = ()


class LeaseLost(Exception):
    """The server refused this node (its lease expired): stop at once."""


@dataclass(frozen=True)
class _Claimed:
    """What one claim brought back."""

    jobs: list
    #: COMPLETE or CANCELED when the server said so.
    end: Optional[StopReason] = None
    #: Nothing that is ready fits (the claim ran, and came back empty).
    none_fit: bool = False
    #: Fired run_commands actions wait for a worker.
    actions_pending: bool = False


class Worker:
    def __init__(self, config: WorkerConfig, channel: Optional[grpc.Channel] = None) -> None:
        self.config = config
        self.channel = channel or open_channel(config.target, config.auth)
        self.summary = WorkerSummary()
        self._stop = threading.Event()
        self._inbox = Inbox()
        #: (when, Finished) of jobs killed by a signal, held back in release mode.
        self._held: list[tuple[float, Finished]] = []
        self.session = NodeSession(config, self.channel, self._stop)
        self.processes = Processes(config, self._inbox)
        self.actions = ActionRunner(config, self.session)
        self.ahead = ClaimAhead(0 if config.max_parallel_jobs else config.claim_ahead,
                                Capacity(config.num_cpus, config.memory_bytes, config.num_gpus,
                                         config.num_nodes))
        self.reports = Reports(config, self.session, self.processes, self.summary, self._held, self.ahead)
        #: What arrived while a claim was in flight, for the loop's next turn.
        self._later: list[Message] = []
        self._last_busy = time.monotonic()
        self._started = time.time()
        #: Set from the stream or the heartbeat: complete, canceled or lease lost.
        self._final: Optional[StopReason] = None


    @property
    def node(self) -> int:
        return self.session.node

    def request_stop(self, reason: StopReason = StopReason.SIGNALED) -> None:
        """Stop soon: terminate running jobs, report them, give back claims,
        deregister (safe to call from a signal handler: one queue put)."""
        self._inbox.put(Stop(reason))

    # ------------------------------------------------------------ main loop
    def run(self) -> WorkerSummary:
        Path(self.config.output_dir).mkdir(parents=True, exist_ok=True)
        cfg = self.config
        lease = self.session.register(self._resources(cfg.num_cpus, cfg.memory_bytes, cfg.num_gpus,
                                                      cfg.num_nodes))
        self.summary.compute_node_id = self.node
        rm = self.session.resource_monitor
        self.processes.monitor.configure(rm.enabled if rm.HasField("enabled") else True,
                                         rm.granularity or "summary",
                                         rm.sample_interval_seconds if rm.HasField("sample_interval_seconds") else 5.0)
        threads = [
            threading.Thread(target=self.session.heartbeats,
                             args=(lease, lambda: self._inbox.put(Stop(StopReason.LEASE_LOST))),
                             daemon=True, name="torc-worker-heartbeat"),
            threading.Thread(target=self._watch, daemon=True, name="torc-worker-watch"),
        ]
        for t in threads:
            t.start()
        log.info("compute node %d working on workflow %d", self.node, cfg.workflow_id)
        try:
            self.actions.claim_and_run(force=True)  # on_workflow_start, and whatever fired before
            self.summary.reason = self._loop()
            if self.summary.reason is StopReason.COMPLETE:
                run_before_exit(self.actions)
        except LeaseLost:
            self.summary.reason = StopReason.LEASE_LOST
        finally:
            if self.summary.reason is not StopReason.LEASE_LOST:
                # Goodbye, so `nodes` shows it gone and what it claimed ahead is READY at once.
                self.session.stopping(10.0)
                self.session.deregister()
            self._stop.set()
            self.processes.monitor.close()
            self.processes.kill_all()
        self.summary.rpcs = self.session.calls
        log.info("compute node %d stops (%s): %d jobs run", self.node, self.summary.reason,
                 self.summary.jobs_run)
        return self.summary

    def _loop(self) -> StopReason:
        ended: Optional[StopReason] = None
        suspect_stuck = False
        while True:
            stop = self.reports.take(self._drain() + self._due_held())
            self._start_queued()
            window = self.config.report_window
            if window and self.reports.queued and self.processes.running and stop is None:
                self._wait(window)  # another job may end within the window: one call for both
                stop = self.reports.take(self._drain())
                self._start_queued()
            if stop is not None:
                self._final = stop
            if self._final is StopReason.LEASE_LOST:
                raise LeaseLost()
            if self._final is StopReason.SIGNALED:
                if self.config.on_signal == "release":
                    self._release()
                    return StopReason.RELEASED
                self._shutdown()
                return StopReason.SIGNALED
            if self._final is StopReason.CANCELED:
                return StopReason.CANCELED
            if self._final is StopReason.COMPLETE:
                ended = StopReason.COMPLETE
            claimed = self._claim()
            if claimed.end is StopReason.CANCELED:
                return StopReason.CANCELED
            if claimed.end is StopReason.COMPLETE:
                ended = StopReason.COMPLETE
            if claimed.actions_pending and not ended:
                self.actions.claim_and_run()
            for job in claimed.jobs:
                self._start(job)
            self._start_queued()
            if ended and not self.processes.running and not self.ahead.queue:
                return ended
            deadline = self._deadline()
            if deadline and time.time() >= deadline:
                self._terminate_running()
                return StopReason.TIME_UP
            if claimed.jobs:
                suspect_stuck = False
            if self._later or self.reports.queued or self.reports.starts_queued:
                continue  # arrived while a claim was in flight: handled and told now
            if claimed.jobs or self.processes.running or self.ahead.queue:
                self._last_busy = time.monotonic()
                if claimed.jobs:
                    continue  # there may be more that fits
            elif self.config.stop_when_stuck and claimed.none_fit and self.session.ready_count():
                # Ready jobs, and the claim found none that fit. The claim may have looked
                # before the unblocker readied them: stuck only when a claim made after the
                # count saw them finds nothing either.
                if suspect_stuck:
                    return StopReason.STUCK
                suspect_stuck = True
                continue
            idle_left = self.config.idle_timeout - (time.monotonic() - self._last_busy)
            if self.config.idle_timeout and idle_left <= 0:
                return StopReason.IDLE
            wait = self.config.wait_seconds
            if deadline:
                wait = min(wait, max(0.0, deadline - time.time()))
            if self.config.idle_timeout:
                wait = min(wait, idle_left)
            if self._held:
                wait = min(wait, max(0.0, self._held[0][0] + SIGNAL_HOLD_SECONDS - time.monotonic()))
            self._wait(wait)

    def _deadline(self) -> float:
        """When running jobs must be terminated (0 = never): termination_margin
        before the end time, or a tenth of the time there was if that is less."""
        cfg = self.config
        if not cfg.end_time:
            return 0.0
        return cfg.end_time - min(cfg.termination_margin, 0.1 * max(0.0, cfg.end_time - self._started))

    def _shutdown(self) -> None:
        """SIGTERM/SIGINT: stop claiming, terminate running jobs (SIGTERM to
        those that support it, SIGKILL to the rest and to stragglers after
        term_grace), report them TERMINATED, deregister; every call bounded."""
        grace = max(0.0, self.config.term_grace)
        self.session.stopping(grace + 15.0)
        running = len(self.processes.running)
        self.reports.take(self.processes.terminate_all(grace))
        self.reports.flush()
        self.session.deregister()
        log.info("stopping on a signal: %d running jobs terminated and reported", running)

    def _release(self) -> None:
        """SIGTERM/SIGINT with on_signal "release" (the allocation is being
        taken away): stop the jobs as _shutdown does, but give them back
        instead of reporting them: Deregister fails them with -128 on the
        server (failure handlers apply) and puts claims back to READY."""
        grace = max(0.0, self.config.term_grace)
        self.session.stopping(grace + 15.0)
        running = len(self.processes.running)
        self.processes.terminate_all(grace)
        self.session.deregister()
        log.info("stopping on a signal: %d running jobs given back to the server", running)

    def _terminate_running(self) -> None:
        """End time: terminate every running job and report it TERMINATED."""
        if not self.processes.running:
            return
        grace = max(0.0, min(10.0, self.config.end_time - time.time()))
        self.reports.take(self.processes.terminate_all(grace))
        self.reports.flush()
        log.info("end time: %d running jobs terminated", len(self.processes.terminating))

    def _resources(self, cpus: int, mem: int, gpus: int, nodes: int) -> common_pb2.Resources:
        left = 0.0
        if self.config.end_time:
            left = max(1.0, self._deadline() - time.time())
        return common_pb2.Resources(num_cpus=cpus, memory_bytes=mem, num_gpus=gpus, num_nodes=nodes,
                                    time_limit_seconds=left)

    # ------------------------------------------------------------ claims and starts
    def _claim(self) -> _Claimed:
        free = self.processes.free()
        limit = 0
        if self.config.max_parallel_jobs:
            limit = self.config.max_parallel_jobs - len(self.processes.running)
        room = (free.num_cpus > 0 or free.num_gpus > 0) and not (self.config.max_parallel_jobs and limit <= 0)
        rounds = self.ahead.wanted()
        if not room and not rounds and not self.reports.starts_queued:
            self.reports.flush()  # full: nothing to claim, but what finished is told now
            return _Claimed([])
        # One call: what started and finished (committed first), the claim, and its starts.
        request = worker_pb2.ClaimJobsRequest(
            workflow_id=self.config.workflow_id, compute_node_id=self.node,
            resources=self._resources(*free), label=self.config.label, limit=limit, start=True,
            completions=self.reports.outbox(), started=self.reports.starts_outbox(), claim_ahead=rounds)
        if self.config.scheduler_config_id is not None:
            request.scheduler_config_id = self.config.scheduler_config_id
            request.strict_scheduler_match = self.config.strict_scheduler_match
        self.session.calls += 1
        try:
            resp = self._in_flight(self.session.worker.ClaimJobs.future(request, timeout=30))
        except grpc.RpcError as err:
            if err.code() not in RETRY_CODES:
                if lease_lost(err):
                    raise LeaseLost() from err
                raise
            # The answer may be lost after the call committed: completions again (a repeat
            # is recognized as already complete), and adopt the jobs the server says we hold.
            self.reports.flush()
            return _Claimed(self.session.adopt(set(self.processes.running) | self.ahead.ids()))
        self.reports.answered(resp.completed, resp.not_started)
        self.session.note_run(resp.run_id)
        if resp.workflow_canceled:
            return _Claimed([], StopReason.CANCELED)
        if resp.workflow_complete:
            return _Claimed([], StopReason.COMPLETE)
        return _Claimed(list(resp.jobs), none_fit=room and not resp.jobs,
                        actions_pending=resp.actions_pending)

    def _in_flight(self, future):
        """Wait for a claim's answer, keeping the slots busy meanwhile: jobs that
        end are turned into reports (their resources free up) and jobs claimed
        ahead start in their place; anything else waits for the loop."""
        answered = _Answered()
        future.add_done_callback(lambda _f: self._inbox.put(answered))
        while not future.done():
            item = self._inbox.get()
            if item is answered:
                break
            if isinstance(item, _Answered):
                continue  # an earlier call's, read after its answer
            if isinstance(item, Finished):
                self.reports.take([item])
                self._start_queued()
            else:
                self._later.append(item)
        return future.result()

    def _start_queued(self) -> None:
        """Start the jobs claimed ahead that fit now (the next claim reports them)."""
        if not self.ahead.queue:
            return
        run_id = self.session.run_id()
        most = 0
        if self.config.max_parallel_jobs:
            most = max(0, self.config.max_parallel_jobs - len(self.processes.running))
            if not most:
                return
        for job in self.ahead.take_fitting(self.processes.free(), most):
            self._spawn(job, job, run_id)
            self.reports.started(job.id)

    def _start(self, job) -> None:
        session = self.session
        run_id = session.run_id()
        if job.status == S.JOB_STATUS_RUNNING and job.compute_node_id == self.node:
            self._spawn(job, job, run_id)  # started by the claim
            return
        if job.status == S.JOB_STATUS_PENDING and job.compute_node_id == self.node:
            self.ahead.add([job])  # claimed ahead (or adopted): started when it fits, then told
            return
        try:
            started = session.call(session.worker.StartJob, worker_pb2.StartJobRequest(
                job_id=job.id, run_id=run_id, compute_node_id=self.node)).job
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            started = session.get_job(job.id)  # a repeat after a lost answer, or taken away
            if not (started.status == S.JOB_STATUS_RUNNING and started.compute_node_id == self.node):
                log.warning("job %d not started: %s", job.id, err.details())
                return  # taken away (reset, canceled, lease)
        self._spawn(job, started, run_id)

    def _spawn(self, job, started, run_id: int) -> None:
        if job.output_file_paths and not started.output_file_paths:
            started.output_file_paths.extend(job.output_file_paths)
        self.processes.spawn(job, started, run_id, self.node)
        self.summary.jobs_run += 1

    # ------------------------------------------------------------ news
    def _drain(self) -> list[Message]:
        items, self._later = self._later, []
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return items
            if not isinstance(item, _Answered):
                items.append(item)

    def _wait(self, timeout: float) -> None:
        self._inbox.wait(timeout)  # what arrives is handled by the loop

    def _due_held(self) -> list:
        """Jobs killed by a signal, held SIGNAL_HOLD_SECONDS (release mode), now reported."""
        now, due = time.monotonic(), []
        while self._held and now - self._held[0][0] >= SIGNAL_HOLD_SECONDS:
            due.append(dataclasses.replace(self._held.pop(0)[1], held=True))
        return due

    def _watch(self) -> None:
        backoff = Backoff(initial=0.05, maximum=2.0, max_attempts=10_000)
        try:
            for msg in watch_ready_jobs(self.channel, self.config.workflow_id, self.node, backoff=backoff):
                if self._stop.is_set():
                    return
                self.summary.stream_messages += 1
                if msg.workflow_canceled:
                    self._inbox.put(Stop(StopReason.CANCELED))
                elif msg.workflow_complete:
                    self._inbox.put(Stop(StopReason.COMPLETE))
                else:  # new jobs, or a (re)subscription: things may have changed meanwhile
                    self._inbox.put(News())
        except grpc.RpcError as err:  # replaced, or the workflow was deleted: claims will tell
            if not self._stop.is_set():
                log.info("ready stream ended: %s", err.code().name)
        except ValueError:  # channel closed while stopping
            return
