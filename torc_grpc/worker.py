"""The job runner: claims ready jobs that fit this node, runs them, reports back.

One Worker per compute node (or allocation). It registers, keeps its lease
with Heartbeat, subscribes to WatchReadyJobs for its node, and loops:
report what finished (one CompleteJobs for everything that finished
together), claim what fits the resources left, start it. When a claim comes
back empty it blocks until a child finishes, the server says jobs are ready,
or `wait_seconds` pass (a safety net, not a poll interval). It ends when the
workflow is complete or canceled (children are killed), its lease is lost,
or its allocation's time is up.

Server restarts: every call is retried on UNAVAILABLE with jittered backoff
for up to `reconnect_seconds`. Calls are made safe to repeat: a completion
the server already has is "already complete"; a StartJob that already
happened is recognized; a claim whose answer was lost is recovered from
Heartbeat's list of jobs this node holds but has not started.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import grpc

from ._pb import (
    common_pb2,
    job_pb2,
    job_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from .client import Backoff, watch_ready_jobs

log = logging.getLogger("torc_grpc.worker")

RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})
S = common_pb2


def detect_gpus() -> int:
    """NVIDIA GPUs visible here (`nvidia-smi -L`); 0 without the tool."""
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(1 for line in out.stdout.splitlines() if line.startswith("GPU ")) if out.returncode == 0 else 0


def slurm_end_time() -> float:
    """Unix end time of the Slurm allocation this runs in; 0 outside one."""
    if os.environ.get("SLURM_JOB_END_TIME", "").isdigit():
        return float(os.environ["SLURM_JOB_END_TIME"])
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return 0.0
    try:
        out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%e"], capture_output=True, text=True, timeout=30)
        return time.mktime(time.strptime(out.stdout.strip(), "%Y-%m-%dT%H:%M:%S"))
    except (OSError, subprocess.TimeoutExpired, ValueError):
        log.warning("inside Slurm job %s but its end time is unknown; pass --end-time", job)
        return 0.0


def total_memory_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


@dataclass
class WorkerConfig:
    """What the worker offers and how it behaves.

    Attributes:
        target: Server address, host:port.
        workflow_id: The workflow to work on.
        num_cpus, memory_bytes, num_gpus, num_nodes: The node's resources
            (default: this machine's CPUs, memory and NVIDIA GPUs).
        end_time: Unix time the allocation ends (default: the Slurm
            allocation's end, else 0 = never). Claims only take jobs whose
            runtime fits the time left; near the end, running jobs are
            terminated and reported TERMINATED.
        idle_timeout: Stop after this long with nothing to run (0 = never).
        stop_when_stuck: Stop when nothing runs and ready jobs exist that
            this node can never fit (for the only worker of `torc-grpc run`).
        label: Only jobs with this label are claimed ("" = unlabeled jobs).
        output_dir: Where each job's stdout/stderr go.
        wait_seconds: Longest wait for news before claiming again.
        reconnect_seconds: How long to keep retrying an unreachable server.
    """

    target: str
    workflow_id: int
    num_cpus: int = field(default_factory=lambda: os.cpu_count() or 1)
    memory_bytes: int = field(default_factory=total_memory_bytes)
    num_gpus: int = field(default_factory=detect_gpus)
    num_nodes: int = 1
    end_time: float = field(default_factory=slurm_end_time)
    termination_margin: float = 30.0
    idle_timeout: float = 0.0
    stop_when_stuck: bool = False
    label: str = ""
    output_dir: str = "torc_output"
    wait_seconds: float = 60.0
    reconnect_seconds: float = 300.0
    hostname: str = field(default_factory=socket.gethostname)
    scheduler_config_id: Optional[int] = None


@dataclass
class WorkerSummary:
    compute_node_id: int = 0
    jobs_run: int = 0
    completed: int = 0
    failed: int = 0
    #: Why the worker stopped: "complete", "canceled", "lease lost", "time up", "idle".
    reason: str = ""


class LeaseLost(Exception):
    pass


@dataclass
class _Running:
    job: common_pb2.Job
    proc: subprocess.Popen
    started: float
    stderr_path: str


class Worker:
    def __init__(self, config: WorkerConfig, channel: Optional[grpc.Channel] = None) -> None:
        self.config = config
        self.channel = channel or grpc.insecure_channel(config.target)
        self.worker = worker_pb2_grpc.WorkerServiceStub(self.channel)
        self.jobs = job_pb2_grpc.JobServiceStub(self.channel)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(self.channel)
        self.node = 0
        self.run_id = 0
        self.summary = WorkerSummary()
        self._inbox: "queue.SimpleQueue[tuple]" = queue.SimpleQueue()
        self._running: dict[int, _Running] = {}
        self._stop = threading.Event()
        self._terminating: set[int] = set()
        self._last_busy = time.monotonic()
        self._started = time.time()
        #: "complete", "canceled" or "lease lost" once the stream or heartbeat said so.
        self._final = ""
        self._backoff = Backoff(initial=0.05, maximum=2.0)

    # ------------------------------------------------------------ calls
    def _call(self, method: Callable, request, timeout: float = 30.0):
        """A unary call, retried while the server is unreachable (bounded by reconnect_seconds)."""
        deadline = time.monotonic() + self.config.reconnect_seconds
        attempt = 0
        while True:
            try:
                return method(request, timeout=timeout)
            except grpc.RpcError as err:
                if err.code() not in RETRY_CODES or time.monotonic() > deadline or self._stop.is_set():
                    raise
                attempt += 1
                pause = min(self._backoff.delay(attempt), max(0.0, deadline - time.monotonic()))
                log.info("%s: %s; retrying in %.2f s", type(request).__name__, err.code().name, pause)
                time.sleep(pause)

    # ------------------------------------------------------------ main loop
    def run(self) -> WorkerSummary:
        cfg = self.config
        Path(cfg.output_dir).mkdir(parents=True, exist_ok=True)
        reg = worker_pb2.RegisterComputeNodeRequest(
            workflow_id=cfg.workflow_id, hostname=cfg.hostname, pid=os.getpid(),
            resources=self._resources(cfg.num_cpus, cfg.memory_bytes, cfg.num_gpus, cfg.num_nodes),
            compute_node_type="local")
        if cfg.scheduler_config_id is not None:
            reg.scheduler_config_id = cfg.scheduler_config_id
        resp = self._call(self.worker.RegisterComputeNode, reg)
        self.node = self.summary.compute_node_id = resp.compute_node_id
        threads = [threading.Thread(target=self._heartbeats, args=(resp.lease_seconds,), daemon=True,
                                    name="torc-worker-heartbeat"),
                   threading.Thread(target=self._watch, daemon=True, name="torc-worker-watch")]
        for t in threads:
            t.start()
        log.info("compute node %d working on workflow %d", self.node, cfg.workflow_id)
        try:
            self.summary.reason = self._loop()
        except LeaseLost:
            self.summary.reason = "lease lost"
        finally:
            self._stop.set()
            self._kill_all()
        log.info("compute node %d stops (%s): %d jobs run", self.node, self.summary.reason, self.summary.jobs_run)
        return self.summary

    def _loop(self) -> str:
        ended = ""
        while True:
            self._report(self._drain())
            if self._final == "lease lost":
                raise LeaseLost()
            if self._final == "canceled":
                return "canceled"
            if self._final == "complete":
                ended = "complete"
            claimed, reason = self._claim()
            if "canceled" in reason:
                return "canceled"
            if "complete" in reason:
                ended = "complete"
            for job in claimed:
                self._start(job)
            if ended and not self._running:
                return ended
            deadline = self._deadline()
            if deadline and time.time() >= deadline:
                self._terminate_running()
                return "time up"
            if claimed or self._running:
                self._last_busy = time.monotonic()
                if claimed:
                    continue  # there may be more that fits
            elif self.config.stop_when_stuck and reason == "no ready job fits" and self._ready_count():
                return "stuck: the ready jobs need more than this node offers"
            idle_left = self.config.idle_timeout - (time.monotonic() - self._last_busy)
            if self.config.idle_timeout and idle_left <= 0:
                return "idle"
            wait = self.config.wait_seconds
            if deadline:
                wait = min(wait, max(0.0, deadline - time.time()))
            if self.config.idle_timeout:
                wait = min(wait, idle_left)
            self._wait(wait)

    def _ready_count(self) -> int:
        status = self._call(self.workflows.GetWorkflowStatus, workflow_pb2.GetWorkflowStatusRequest(
            workflow_id=self.config.workflow_id))
        return next((n.count for n in status.counts if n.status == S.JOB_STATUS_READY), 0)

    def _deadline(self) -> float:
        """When running jobs must be terminated (0 = never): termination_margin
        before the end time, or a tenth of the time there was if that is less."""
        cfg = self.config
        if not cfg.end_time:
            return 0.0
        return cfg.end_time - min(cfg.termination_margin, 0.1 * max(0.0, cfg.end_time - self._started))

    def _terminate_running(self) -> None:
        """End time: SIGTERM the jobs that support it, SIGKILL the others,
        and report them all TERMINATED."""
        if not self._running:
            return
        grace = max(0.0, min(10.0, self.config.end_time - time.time()))
        for job_id, r in self._running.items():
            self._terminating.add(job_id)
            self._signal(r.proc, signal.SIGTERM if r.job.supports_termination else signal.SIGKILL)
        end = time.monotonic() + grace
        for r in list(self._running.values()):
            try:
                r.proc.wait(max(0.0, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._signal(r.proc, signal.SIGKILL)
        done = []
        while len(done) < len(self._running):
            item = self._inbox.get(timeout=30)
            if item[0] == "done":
                done.append(item)
        self._report(done)
        log.info("end time: %d running jobs terminated", len(self._terminating))

    @staticmethod
    def _signal(proc: subprocess.Popen, sig: int) -> None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass

    def _resources(self, cpus: int, mem: int, gpus: int, nodes: int) -> common_pb2.Resources:
        left = 0.0
        if self.config.end_time:
            left = max(1.0, self._deadline() - time.time())
        return common_pb2.Resources(num_cpus=cpus, memory_bytes=mem, num_gpus=gpus, num_nodes=nodes,
                                    time_limit_seconds=left)

    def _free(self) -> common_pb2.Resources:
        cpus, mem, gpus, nodes = (self.config.num_cpus, self.config.memory_bytes, self.config.num_gpus,
                                  self.config.num_nodes)
        for r in self._running.values():
            rr = r.job.resource_requirements.resources
            if rr.num_nodes > 1:
                nodes -= rr.num_nodes
            else:
                cpus, mem, gpus = cpus - rr.num_cpus, mem - rr.memory_bytes, gpus - rr.num_gpus
        return self._resources(max(0, cpus), max(0, mem), max(0, gpus), max(0, nodes))

    def _claim(self) -> tuple[list, str]:
        free = self._free()
        if free.num_cpus <= 0 and free.num_gpus <= 0:
            return [], "full"
        request = worker_pb2.ClaimJobsRequest(workflow_id=self.config.workflow_id, compute_node_id=self.node,
                                              resources=free, label=self.config.label)
        try:
            resp = self.worker.ClaimJobs(request, timeout=30)
        except grpc.RpcError as err:
            if err.code() not in RETRY_CODES:
                if err.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    raise LeaseLost() from err
                raise
            # The answer may be lost after the claim committed: adopt what we hold.
            return self._adopt(), "reconnected"
        return list(resp.jobs), resp.reason

    def _adopt(self) -> list:
        resp = self._call(self.worker.Heartbeat, worker_pb2.HeartbeatRequest(compute_node_id=self.node))
        jobs = []
        for job_id in resp.pending_job_ids:
            if job_id not in self._running:
                jobs.append(self._call(self.jobs.GetJob, job_pb2.GetJobRequest(job_id=job_id)).job)
        if jobs:
            log.info("adopted %d jobs claimed before a lost answer", len(jobs))
        return jobs

    def _start(self, job) -> None:
        run_id = self._run_id()
        try:
            started = self._call(self.worker.StartJob, worker_pb2.StartJobRequest(
                job_id=job.id, run_id=run_id, compute_node_id=self.node)).job
        except grpc.RpcError as err:
            if err.code() != grpc.StatusCode.FAILED_PRECONDITION:
                raise
            started = self._call(self.jobs.GetJob, job_pb2.GetJobRequest(job_id=job.id)).job
            if not (started.status == S.JOB_STATUS_RUNNING and started.compute_node_id == self.node):
                log.warning("job %d not started: %s", job.id, err.details())
                return  # taken away (reset, canceled, lease)
        if job.output_file_paths and not started.output_file_paths:
            started.output_file_paths.extend(job.output_file_paths)
        out = Path(self.config.output_dir)
        stem = f"job_{job.id}_{run_id}_{started.attempt_id}"
        env = {**os.environ, **dict(job.env), "TORC_WORKFLOW_ID": str(self.config.workflow_id),
               "TORC_JOB_ID": str(job.id), "TORC_JOB_NAME": job.name, "TORC_RUN_ID": str(run_id),
               "TORC_ATTEMPT_ID": str(started.attempt_id), "TORC_COMPUTE_NODE_ID": str(self.node),
               "TORC_OUTPUT_DIR": str(out)}
        command = f"{job.invocation_script} {job.command}".strip()
        with open(out / f"{stem}.o", "wb") as stdout, open(out / f"{stem}.e", "wb") as stderr:
            proc = subprocess.Popen(command, shell=True, stdout=stdout, stderr=stderr, env=env,
                                    start_new_session=True)
        self._running[job.id] = _Running(started, proc, time.time(), str(out / f"{stem}.e"))
        self.summary.jobs_run += 1
        threading.Thread(target=self._reap, args=(job.id, proc), daemon=True).start()

    def _reap(self, job_id: int, proc: subprocess.Popen) -> None:
        self._inbox.put(("done", job_id, proc.wait()))

    def _run_id(self) -> int:
        if not self.run_id:
            status = self._call(self.workflows.GetWorkflowStatus, workflow_pb2.GetWorkflowStatusRequest(
                workflow_id=self.config.workflow_id))
            self.run_id = status.run_id
        return self.run_id

    # ------------------------------------------------------------ news
    def _drain(self) -> list[tuple]:
        items = []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                return items

    def _wait(self, timeout: float) -> None:
        try:
            item = self._inbox.get(timeout=timeout)
        except queue.Empty:
            return
        self._inbox.put(item)  # handled by the loop

    def _report(self, items: list[tuple]) -> None:
        completions, finished = [], {}
        for item in items:
            if item[0] == "done":
                _kind, job_id, rc = item
                r = self._running.pop(job_id)
                finished[job_id] = (r.job, rc)
                if job_id in self._terminating:
                    status = S.JOB_STATUS_TERMINATED
                elif rc == 0 and self._missing_outputs(r):
                    status = S.JOB_STATUS_FAILED
                else:
                    status = S.JOB_STATUS_COMPLETED if rc == 0 else S.JOB_STATUS_FAILED
                completions.append(worker_pb2.CompleteJobRequest(
                    job_id=job_id, status=status, run_id=self._run_id(),
                    result=common_pb2.JobResult(return_code=rc, exec_time_seconds=time.time() - r.started,
                                                compute_node_id=self.node, attempt_id=r.job.attempt_id)))
                if status == S.JOB_STATUS_COMPLETED:
                    self.summary.completed += 1
                else:
                    self.summary.failed += 1
            elif item[0] == "end":
                self._final = item[1]
        if completions:
            resp = self._call(self.worker.CompleteJobs, worker_pb2.CompleteJobsRequest(completions=completions))
            for outcome in resp.results:
                if not outcome.ok and "already complete" not in outcome.message:
                    log.warning("job %d: completion refused: %s", outcome.job_id, outcome.message)
                if outcome.retried:
                    job, rc = finished[outcome.job_id]
                    log.info("job %d failed with %d and will be retried", job.id, rc)
                    if outcome.recovery_script:
                        self._recover(job, rc, outcome.recovery_script)

    def _recover(self, job, rc: int, script: str) -> None:
        """Run a failure handler's recovery script (torc: a failure is only logged)."""
        env = {**os.environ, **dict(job.env), "TORC_WORKFLOW_ID": str(self.config.workflow_id),
               "TORC_JOB_ID": str(job.id), "TORC_JOB_NAME": job.name, "TORC_API_URL": self.config.target,
               "TORC_OUTPUT_DIR": self.config.output_dir, "TORC_ATTEMPT_ID": str(job.attempt_id),
               "TORC_RETURN_CODE": str(rc)}
        try:
            done = subprocess.run(script, shell=True, env=env, capture_output=True, timeout=300)
        except subprocess.TimeoutExpired:
            log.warning("job %d: recovery script timed out after 300 s", job.id)
            return
        if done.returncode != 0:
            log.warning("job %d: recovery script exited %d: %s", job.id, done.returncode,
                        done.stderr.decode(errors="replace")[-500:])

    def _missing_outputs(self, r: _Running) -> list[str]:
        """Declared output files the job did not write (logged to its stderr file)."""
        missing = [p for p in r.job.output_file_paths if not os.path.exists(p)]
        if missing:
            log.warning("job %d (%s) exited 0 but did not write %s: reported FAILED", r.job.id, r.job.name,
                        ", ".join(missing))
            with open(r.stderr_path, "a") as err:
                err.write(f"torc-grpc worker: missing output files: {', '.join(missing)}\n")
        return missing

    def _heartbeats(self, lease: float) -> None:
        interval = max(0.05, lease / 3) if lease > 0 else 30.0
        while not self._stop.wait(interval):
            try:
                self._call(self.worker.Heartbeat, worker_pb2.HeartbeatRequest(compute_node_id=self.node))
            except grpc.RpcError as err:
                if err.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    log.error("compute node %d: %s", self.node, err.details())
                    self._inbox.put(("end", "lease lost"))
                    return
                log.warning("heartbeat failed: %s", err.code().name)

    def _watch(self) -> None:
        backoff = Backoff(initial=0.05, maximum=2.0, max_attempts=10_000)
        try:
            for msg in watch_ready_jobs(self.channel, self.config.workflow_id, self.node, backoff=backoff):
                if self._stop.is_set():
                    return
                if msg.workflow_canceled:
                    self._inbox.put(("end", "canceled"))
                elif msg.workflow_complete:
                    self._inbox.put(("end", "complete"))
                else:  # new jobs, or a (re)subscription: things may have changed meanwhile
                    self._inbox.put(("ready",))
        except grpc.RpcError as err:  # replaced, or the workflow was deleted: claims will tell
            if not self._stop.is_set():
                log.info("ready stream ended: %s", err.code().name)
        except ValueError:  # channel closed while stopping
            return

    def _kill_all(self) -> None:
        for r in self._running.values():
            self._signal(r.proc, signal.SIGKILL)

