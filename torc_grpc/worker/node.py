"""The compute node's session with the server: every call retried while the
server is unreachable, registration, heartbeats, and adopting claims whose
answer was lost.

Calls are made safe to repeat: a completion the server already has comes
back with `already_complete`; a StartJob that already happened is
recognized by the caller; a claim whose answer was lost is recovered from
Heartbeat's list of jobs this node holds but has not started.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Callable, Collection, Optional

import grpc

from .._pb import (
    common_pb2,
    job_pb2,
    job_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from ..client import Backoff
from .config import WorkerConfig

log = logging.getLogger("torc_grpc.worker")

#: Codes that mean "the server is (for now) unreachable": retry with backoff.
RETRY_CODES = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED})


def lease_lost(err: grpc.RpcError) -> bool:
    """The server refused this node: its lease expired (FAILED_PRECONDITION)."""
    return err.code() == grpc.StatusCode.FAILED_PRECONDITION


class NodeSession:
    """One registered compute node (see module docstring)."""

    def __init__(self, config: WorkerConfig, channel: grpc.Channel, stop: threading.Event) -> None:
        self.config = config
        self.channel = channel
        self.worker = worker_pb2_grpc.WorkerServiceStub(channel)
        self.jobs = job_pb2_grpc.JobServiceStub(channel)
        self.workflows = workflow_pb2_grpc.WorkflowServiceStub(channel)
        #: The compute node id, once registered.
        self.node = 0
        #: Set when the worker stops: retries end at once.
        self._stop = stop
        self._backoff = Backoff(initial=0.05, maximum=5.0)
        #: Monotonic time the server became unreachable (None while it answers).
        self._down_since: Optional[float] = None
        self._run_id = 0
        #: While stopping: no call retries past this monotonic time.
        self._retry_until: Optional[float] = None
        #: Unary calls made (the worker's summary reports them per job).
        self.calls = 0
        #: DeregisterComputeNode was called (it is made once).
        self.deregistered = False
        #: The workflow's resource_monitor, from the registration's answer.
        self.resource_monitor = common_pb2.ResourceMonitorSpec()

    def call(self, method: Callable, request, timeout: float = 30.0):
        """A unary call, retried while the server is unreachable (bounded by reconnect_seconds)."""
        deadline = time.monotonic() + self.config.reconnect_seconds
        if self._retry_until is not None:
            deadline = min(deadline, self._retry_until)
            timeout = max(0.1, min(timeout, self._retry_until - time.monotonic()))
        attempt = 0
        while True:
            self.calls += 1
            try:
                answer = method(request, timeout=timeout)
            except grpc.RpcError as err:
                if err.code() not in RETRY_CODES or time.monotonic() > deadline or self._stop.is_set():
                    raise
                attempt += 1
                pause = min(self._backoff.delay(attempt), max(0.0, deadline - time.monotonic()))
                self._unreachable(err, deadline)
                log.debug("%s: %s; retrying in %.2f s", type(request).__name__, err.code().name, pause)
                self._stop.wait(pause)
                continue
            if self._down_since is not None:
                log.warning("server at %s reachable again after %.1f s", self.config.target,
                            time.monotonic() - self._down_since)
                self._down_since = None
            return answer

    def _unreachable(self, err: grpc.RpcError, deadline: float) -> None:
        """Log once when the server becomes unreachable (retries are jittered, backing off)."""
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("server at %s unreachable (%s); retrying with backoff for up to %.0f s",
                        self.config.target, err.code().name, max(0.0, deadline - time.monotonic()))

    def register(self, resources: common_pb2.Resources) -> float:
        """Register this node; returns the lease in seconds."""
        cfg = self.config
        reg = worker_pb2.RegisterComputeNodeRequest(
            workflow_id=cfg.workflow_id, hostname=cfg.hostname, pid=os.getpid(),
            resources=resources, compute_node_type="slurm" if cfg.slurm_job_id else "local",
            slurm_job_id=cfg.slurm_job_id, output_dir=os.path.abspath(cfg.output_dir))
        if cfg.scheduler_config_id is not None:
            reg.scheduler_config_id = cfg.scheduler_config_id
        resp = self.call(self.worker.RegisterComputeNode, reg)
        self.node = resp.compute_node_id
        self.resource_monitor = resp.resource_monitor
        return resp.lease_seconds

    def stopping(self, within: float) -> None:
        """The worker is stopping: calls from now on give up after `within` seconds."""
        self._retry_until = time.monotonic() + within

    def deregister(self) -> None:
        """Say goodbye: claims not started go back to READY at once (best effort, once)."""
        if not self.node or self.deregistered:
            return
        self.deregistered = True
        try:
            resp = self.call(self.worker.DeregisterComputeNode,
                             worker_pb2.DeregisterComputeNodeRequest(compute_node_id=self.node),
                             timeout=10)
        except grpc.RpcError as err:
            log.warning("compute node %d: deregister failed (%s); its lease will expire",
                        self.node, err.code().name)
            return
        log.info("compute node %d deregistered: %d claims given back", self.node,
                 len(resp.requeued_job_ids))

    def heartbeats(self, lease: float, on_lost: Callable[[], None]) -> None:
        """Thread body: heartbeat every lease/3 until stopped; on_lost() when refused."""
        interval = max(0.05, lease / 3) if lease > 0 else 30.0
        while not self._stop.wait(interval):
            try:
                self.call(self.worker.Heartbeat, worker_pb2.HeartbeatRequest(compute_node_id=self.node))
            except grpc.RpcError as err:
                if lease_lost(err):
                    log.error("compute node %d: %s", self.node, err.details())
                    on_lost()
                    return
                log.warning("heartbeat failed: %s", err.code().name)

    def adopt(self, running: Collection[int]) -> list:
        """Jobs this node holds but does not run (a claim whose answer was lost):
        claimed ones, and ones the claim started."""
        resp = self.call(self.worker.Heartbeat, worker_pb2.HeartbeatRequest(compute_node_id=self.node))
        held = [*resp.pending_job_ids, *resp.running_job_ids]
        jobs = [self.get_job(job_id) for job_id in held if job_id not in running]
        if jobs:
            log.info("adopted %d jobs claimed before a lost answer", len(jobs))
        return jobs

    def get_job(self, job_id: int):
        return self.call(self.jobs.GetJob, job_pb2.GetJobRequest(job_id=job_id)).job

    def status(self):
        return self.call(self.workflows.GetWorkflowStatus, workflow_pb2.GetWorkflowStatusRequest(
            workflow_id=self.config.workflow_id))

    def note_run(self, run_id: int) -> None:
        """The run a claim answer named (no status call needed)."""
        if run_id:
            self._run_id = run_id

    def run_id(self) -> int:
        """The workflow's current run (read once)."""
        if not self._run_id:
            self._run_id = self.status().run_id
        return self._run_id

    def ready_count(self) -> int:
        status = self.status()
        return next((n.count for n in status.counts if n.status == common_pb2.JOB_STATUS_READY), 0)
