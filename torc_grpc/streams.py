"""Tying an engine subscription to a server-streaming call.

* A disconnect (context callback) closes the subscription at once: its
  registration and queue are freed and the serving thread wakes and returns
  to the pool.
* An end decided elsewhere (subscriber too slow, workflow deleted, server
  shutting down) cancels the call with its status from the publishing thread,
  because the serving thread may be blocked in a send to a client that
  stopped reading: grpc's public API can only abort from the serving thread.
* When the serving thread itself sees such an end, it aborts with the same
  status (the normal path for a subscriber that is behind but still reading).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

import grpc

from torc_core.notifier import End, Subscription

log = logging.getLogger("torc_grpc.streams")

#: Ends that are errors for the subscriber, and their status codes.
END_STATUS = {
    End.OVERFLOW: grpc.StatusCode.RESOURCE_EXHAUSTED,
    End.REPLACED: grpc.StatusCode.ABORTED,
    End.DELETED: grpc.StatusCode.NOT_FOUND,
    End.SHUTDOWN: grpc.StatusCode.UNAVAILABLE,
}


def cancel_call(context: grpc.ServicerContext, code: grpc.StatusCode, details: str) -> None:
    """End a call with `code` from any thread.

    Uses the call object under grpc's servicer context (grpcio 1.85: the
    status reaches the client even while a send is blocked on flow control,
    tests/grpc/test_streams.py proves it). If that object is not there, the
    call is cancelled plainly (the client sees CANCELLED).
    """
    call = getattr(getattr(context, "_rpc_event", None), "call", None)
    try:
        call.cancel(code.value[0], details)
    except Exception:  # noqa: BLE001 (any grpc without that path: fall back)
        log.warning("could not end a stream with %s; cancelling it", code.name)
        context.cancel()


@contextlib.contextmanager
def attached(sub: Subscription, context: grpc.ServicerContext) -> Iterator[Subscription]:
    """Bind `sub` to the call for the duration of the handler."""

    def on_abort(s: Subscription) -> None:
        cancel_call(context, END_STATUS.get(s.end, grpc.StatusCode.CANCELLED), s.end_message)

    sub.on_abort = on_abort
    if not context.add_callback(sub.close):  # the call already ended
        sub.close()
    try:
        yield sub
    finally:
        sub.close()
    code = END_STATUS.get(sub.end)
    if code is not None:
        context.abort(code, sub.end_message)
