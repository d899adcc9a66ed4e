"""Client helpers: the two streams as plain iterators that reconnect.

Both retry UNAVAILABLE (server restarting or shutting down), RESOURCE_EXHAUSTED
(stream limit reached, or this subscriber fell behind) and CANCELLED (a burst
of subscribes can overflow gRPC core's backlog) with jittered exponential
backoff, so that 2,000 workers reconnecting after a restart do not arrive in
the same millisecond. The attempt count starts again after each message
received; after `max_attempts` failures in a row the last error is raised.

* watch_ready_jobs: a reconnect subscribes again; an observer's first message
  then carries every job ready at that moment, so nothing ready is missed.
  Ends after the message with workflow_complete or workflow_canceled.
* watch_status: a reconnect subscribes again, and its first message is the
  status at that moment. Ends after the message that says complete or canceled.
* watch_events: a reconnect replays from the last event received, so every
  event arrives exactly once, in order. Events committed while the first
  connection was being made are covered only if replay_after was given
  (0 = the whole history).
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import grpc

from ._pb import (
    access_pb2_grpc,
    common_pb2,
    event_pb2,
    event_pb2_grpc,
    job_pb2_grpc,
    server_pb2_grpc,
    slurm_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
    workflow_pb2,
    workflow_pb2_grpc,
)
from .auth.credentials import ClientAuth, open_channel

log = logging.getLogger("torc_grpc.client")


@dataclass
class Stubs:
    """One stub per torc service on one channel."""

    channel: grpc.Channel
    workflow: workflow_pb2_grpc.WorkflowServiceStub
    job: job_pb2_grpc.JobServiceStub
    worker: worker_pb2_grpc.WorkerServiceStub
    event: event_pb2_grpc.EventServiceStub
    server: server_pb2_grpc.ServerServiceStub
    access: access_pb2_grpc.AccessServiceStub
    slurm: slurm_pb2_grpc.SlurmServiceStub

    @classmethod
    def connect(cls, target: str, options: Optional[list] = None,
                auth: Optional["ClientAuth"] = None) -> "Stubs":
        """Stubs on one channel; TLS and the token come from `auth`, else from
        TORC_TOKEN / TORC_TLS_CA / TORC_TLS_CERT / TORC_TLS_KEY."""
        channel = open_channel(target, auth, options)
        return cls(
            channel,
            workflow_pb2_grpc.WorkflowServiceStub(channel),
            job_pb2_grpc.JobServiceStub(channel),
            worker_pb2_grpc.WorkerServiceStub(channel),
            event_pb2_grpc.EventServiceStub(channel),
            server_pb2_grpc.ServerServiceStub(channel),
            access_pb2_grpc.AccessServiceStub(channel),
            slurm_pb2_grpc.SlurmServiceStub(channel),
        )



RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.CANCELLED}
)


@dataclass(frozen=True)
class Backoff:
    """Jittered exponential backoff ("full jitter": uniform in [0, cap])."""

    initial: float = 0.1
    maximum: float = 10.0
    multiplier: float = 2.0
    max_attempts: int = 10

    def delay(self, attempt: int) -> float:
        cap = min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1))
        return random.uniform(0, cap)


def _reconnecting(
    open_stream: Callable[[], grpc.Call], backoff: Backoff, what: str,
    on_message: Callable[[object], bool],
) -> Iterator:
    """Yield messages of open_stream(), reopening it on retryable errors.

    on_message(msg) returns True when msg is the last one wanted.
    """
    failures = 0
    while True:
        call = open_stream()
        try:
            for msg in call:
                failures = 0
                yield msg
                if on_message(msg):
                    return
            return  # the server ended the stream normally
        except grpc.RpcError as err:
            code = err.code()
            if code not in RETRYABLE or failures >= backoff.max_attempts:
                raise
            failures += 1
            pause = backoff.delay(failures)
            # One line when the stream breaks; the retries after it only at DEBUG.
            log.log(logging.INFO if failures == 1 else logging.DEBUG,
                    "%s: %s (%s); reconnecting with backoff (attempt %d of %d, next in %.2f s)",
                    what, code.name, err.details(), failures, backoff.max_attempts, pause)
            time.sleep(pause)
        finally:
            call.cancel()


def watch_ready_jobs(
    channel: grpc.Channel, workflow_id: int, compute_node_id: int = 0, *,
    backoff: Backoff = Backoff(),
) -> Iterator[worker_pb2.WatchReadyJobsResponse]:
    """WatchReadyJobs as an iterator that reconnects (see the module docstring)."""
    stub = worker_pb2_grpc.WorkerServiceStub(channel)
    request = worker_pb2.WatchReadyJobsRequest(workflow_id=workflow_id, compute_node_id=compute_node_id)
    return _reconnecting(
        lambda: stub.WatchReadyJobs(request), backoff, f"WatchReadyJobs({workflow_id})",
        lambda msg: msg.workflow_complete or msg.workflow_canceled,
    )


def watch_events(
    channel: grpc.Channel, workflow_id: int, *,
    min_severity: int = common_pb2.SEVERITY_UNSPECIFIED,
    replay_after: Optional[int] = None, backoff: Backoff = Backoff(),
) -> Iterator[common_pb2.Event]:
    """WatchEvents as an iterator that reconnects without losing or repeating events."""
    stub = event_pb2_grpc.EventServiceStub(channel)
    last = [replay_after]

    def open_stream():
        request = event_pb2.WatchEventsRequest(workflow_id=workflow_id, min_severity=min_severity)
        if last[0] is not None:
            request.replay_after = last[0]
        return stub.WatchEvents(request)

    def seen(event) -> bool:
        last[0] = event.id
        return False

    return _reconnecting(open_stream, backoff, f"WatchEvents({workflow_id})", seen)


def watch_status(
    channel: grpc.Channel, workflow_id: int, *, min_interval: float = 0.0, backoff: Backoff = Backoff(),
) -> Iterator[workflow_pb2.GetWorkflowStatusResponse]:
    """WatchWorkflowStatus as an iterator that reconnects (see the module docstring)."""
    stub = workflow_pb2_grpc.WorkflowServiceStub(channel)
    request = workflow_pb2.WatchWorkflowStatusRequest(workflow_id=workflow_id, min_interval_seconds=min_interval)
    return _reconnecting(lambda: stub.WatchWorkflowStatus(request), backoff, f"WatchWorkflowStatus({workflow_id})",
                         lambda msg: msg.is_complete)
